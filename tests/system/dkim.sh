#!/bin/bash
# dkim: end to end, as a receiver sees it. For each algorithm a customer domain is
# added, a message is signed (dkimpy) with the private key dnsdctl wrote, and a
# verifier whose every lookup goes to dnsd through a stub resolver (resolve.py)
# follows the customer's CNAME <sel>._domainkey.D (served from the customer's zone
# file) to the key dnsd serves in the hosted zone. Negatives: dnsd down, a message
# altered after signing, and a removed domain (its key revoked within a second).
. "$(dirname "$0")/lib"
MA="$ROOT/tests/system/mailauth.py"
RES="$ROOT/tests/system/resolve.py"

new_store || { echo "new_store failed"; finish; }

# alg domain pairs
ALGS="rsa-2048 rsa-4096 ed25519"
declare -A DOM=([rsa-2048]=d1.example [rsa-4096]=d2.example [ed25519]=d3.example)
declare -A KTAG=([rsa-2048]="rsa 2048" [rsa-4096]="rsa 4096" [ed25519]="ed25519 256")


ZARGS=()
for alg in $ALGS; do
	d=${DOM[$alg]}
	check "domain add $d --algorithm $alg" ctl domain add "$d" --tenant acme --algorithm "$alg"
	customer_zone "$d"
	ZARGS+=(--zone "$T/$d.zone")
	ctl domain show "$d" --json >"$T/$d.json"
	read -r sel key kalg < <("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["slots"][0]; print(s["selector"], s["private_key"], s["algorithm"])' "$T/$d.json")
	expect "$d: slot 1 holds the $alg key" "$kalg" "$alg"
	check "$d: private key file exists, mode 0600" test "$(stat -c %a "$key" 2>/dev/null)" = 600
	"$PY" "$MA" message "$d" "$T/$d.msg"
	check "$d: message signed ($alg)" "$PY" "$MA" sign "$alg" "$d" "$sel" "$key" "$T/$d.msg" "$T/$d.signed"
	"$PY" "$MA" mutate body "$T/$d.signed" "$T/$d.body-altered"
	"$PY" "$MA" mutate subject "$T/$d.signed" "$T/$d.subject-altered"
	echo "$sel" >"$T/$d.sel"
	token "$d" >"$T/$d.tok"
done

start_dnsd "${ZARGS[@]}" || finish

for alg in $ALGS; do
	d=${DOM[$alg]}
	sel=$(cat "$T/$d.sel") tok=$(cat "$T/$d.tok")
	# The customer's name is a CNAME in its own zone; dnsd does not chase it.
	expect "$d: customer zone answers the CNAME" "$(q "$sel._domainkey.$d" CNAME)" "$sel.$tok.dkim.$ZONE."
	expect "$d: verifies ($alg, key found via the CNAME)" "$("$PY" "$MA" verify "$PORT" "$T/$d.signed" 2>&1)" \
		"True ${KTAG[$alg]} via $sel.$tok.dkim.$ZONE."
	expect_match "$d: altered body fails" "$("$PY" "$MA" verify "$PORT" "$T/$d.body-altered" 2>&1)" \
		'^False: .*body hash mismatch'
	expect_match "$d: altered Subject fails" "$("$PY" "$MA" verify "$PORT" "$T/$d.subject-altered" 2>&1)" \
		"^False: signature does not match the ${KTAG[$alg]} key via $sel\\.$tok\\.dkim\\."
done

# A message signed for one domain with its key does not verify as another's:
# rewrite d= to d2.example (same selector): the key found there is a different one.
d1=${DOM[rsa-2048]} d2=${DOM[rsa-4096]}
sed "s/d=$d1;/d=$d2;/" "$T/$d1.signed" | sed "s/@$d1>/@$d2>/" >"$T/cross.msg"
check "cross-domain message prepared" grep -q "d=$d2;" "$T/cross.msg"
expect_match "signature with another domain's d= fails" "$("$PY" "$MA" verify "$PORT" "$T/cross.msg" 2>&1)" '^False: '

# dnsd down: the key cannot be fetched, so nothing verifies.
stop_dnsd
for alg in $ALGS; do
	d=${DOM[$alg]}
	expect_match "$d: with dnsd stopped, fails (key fetch fails)" \
		"$("$PY" "$MA" verify "$PORT" "$T/$d.signed" 2>&1)" '^False: .*no answer from 127\.0\.0\.1'
done

# Back up; then removing each domain revokes its key (p= empty) within a second.
start_dnsd "${ZARGS[@]}" || finish
for alg in $ALGS; do
	d=${DOM[$alg]}
	sel=$(cat "$T/$d.sel")
	expect_match "$d: verifies again after restart" "$("$PY" "$MA" verify "$PORT" "$T/$d.signed" 2>&1)" '^True '
	check "domain remove $d" ctl domain remove "$d"
	out=$("$PY" "$MA" verify "$PORT" "$T/$d.signed" --until False --within 1.0 2>&1)
	expect_match "$d: after remove, verification fails within 1 s (key revoked)" "$out" \
		"^False: .*(revoked|missing public key|public key \\(b''\\))"
	expect_match "$d: served key is revoked: p= empty" "$("$PY" "$RES" "$PORT" "$sel._domainkey.$d" TXT 2>&1)" \
		'^v=DKIM1;( k=[a-z0-9]+;)? p=$'
done

finish
