#!/bin/bash
# check: dnsdctl check against a real resolver (issue 14). unbound runs on
# loopback as this user, with the hosted zone stubbed to dnsd and the customers'
# zones stubbed to NSD (a second authoritative server, as a customer's DNS host);
# dnsdctl check asks unbound. One customer domain per way of getting the records
# wrong, and the full chain: a message signed with the domain's key verifies
# (dkimpy) with the key found through the customer's CNAME, unbound and dnsd.
# The DKIM marker test tells a TXT copied by hand (flat.example: NSD serves a
# static copy) from a host that flattens the CNAMEs (flatter.example: the test
# rewrites its zone from what dnsd serves whenever that changes, as such a host
# does); the store's DKIM TTL is 60 s and the test clock steps past the wait.
. "$(dirname "$0")/lib"
. "$(dirname "$0")/localdns"

new_store --ttl-dkim 60 || { echo "new_store failed"; finish; }
DOMAINS="good.example missing.example wrong.example append.example flat.example stale.example own.example
dkimonly.example other.example hostile.example flatter.example"
for d in $DOMAINS; do
	ctl domain add "$d" --tenant acme >/dev/null || not_ok "domain add $d"
	eval "TOK_${d%%.*}=$(token "$d")"
done

# wrong.example's code with a typo: its sixth character changed.
c6=${TOK_wrong:5:1}; [ "$c6" = a ] && c6=b || c6=a
TYPO="${TOK_wrong:0:5}$c6${TOK_wrong:6}"
# The customers' zones, each written as a DNS host would serve it.
czone() { # DOMAIN: the SOA and NS of a customer zone
	printf '$ORIGIN %s.\n$TTL 60\n@ IN SOA ns1.%s. hostmaster.%s. 1 3600 600 1209600 60\n' "$1" "$1" "$1"
	printf '@ IN NS ns1.%s.\nns1 IN A 127.0.0.1\n' "$1"
}
dkim_txt() { # SELECTOR TOKEN: the TXT dnsd serves there now, as zone-file strings
	dig @127.0.0.1 -p "$PORT" +short TXT "$1.$2.dkim.$ZONE"
}
{ czone good.example; ctl domain records good.example --format zone | sed 's/^; optional.*//'
  echo '@ IN TXT "v=spf1 mx -all"'; } >"$T/good.example.zone"
czone missing.example >"$T/missing.example.zone"
czone other.example >"$T/other.example.zone"
# A DNS host that appends the zone to a target without a final dot; a selector
# pointed at another slot; a typo in the code; another domain's code.
{ czone wrong.example
  echo "esp1._domainkey IN CNAME esp1.$TOK_wrong.dkim.$ZONE"
  echo "esp2._domainkey IN CNAME esp1.$TOK_wrong.dkim.$ZONE."
  echo "esp3._domainkey IN CNAME esp3.$TYPO.dkim.$ZONE."
  echo "bounce IN CNAME $TOK_other.rp.$ZONE."; } >"$T/wrong.example.zone"
# A DNS host that appends the zone to the names.
{ czone append.example
  ctl domain records append.example --format zone | grep -v '^;' |
	sed 's/^\([^ ]*\)\.append\.example\. /\1.append.example /'; } >"$T/append.example.zone"
# own.example: its own DMARC, strict and enforcing, and two SPF records at the apex.
{ czone own.example
  echo '@ IN TXT "v=spf1 include:_spf.google.com ~all"'
  echo '@ IN TXT "v=spf1 mx -all"'
  echo '_dmarc IN TXT "v=DMARC1; p=reject; aspf=s; adkim=s"'; } >"$T/own.example.zone"
{ czone dkimonly.example
  ctl domain records dkimonly.example --format zone | grep '_domainkey'
  echo '_dmarc IN TXT "v=DMARC1; p=quarantine"'
  echo '_dmarc IN TXT "v=DMARC1; p=none"'; } >"$T/dkimonly.example.zone"

# hostile.example: what a customer's DNS may hold: control characters (a terminal
# escape), a TXT of 5,000 octets (TCP), a DMARC record of junk, a CNAME loop.
{ czone hostile.example
  echo 'esp2._domainkey IN CNAME esp3._domainkey'
  echo 'esp3._domainkey IN CNAME esp2._domainkey'
  echo 'esp1._domainkey IN TXT "v=DKIM1; p=abc\027[2J\027]0;owned\007def"'
  printf 'bounce IN TXT'; for _ in $(seq 1 20); do printf ' "%s"' "$(printf 'v%.0s' $(seq 1 250))"; done; echo
  echo '_dmarc IN TXT "v=DMARC1; p=reject; aspf=s;;;=;p;\000\255"'; } >"$T/hostile.example.zone"

# dnsd first: the copied records are what it serves.
start_dnsd || finish
served() { # TYPE NAME: what dnsd serves there, as zone-file text
	dig @127.0.0.1 -p "$PORT" +short "$1" "$2" | tr '\n' ' '
}
flat_zone() { # DOMAIN TOKEN: what dnsd serves now at the CNAMEs' targets, served at the names
	czone "$1"
	for s in esp1 esp2 esp3; do echo "$s._domainkey IN TXT $(dkim_txt $s "$2" | tr '\n' ' ')"; done
	echo "bounce IN TXT $(served TXT "$2.rp.$ZONE")"
	echo "bounce IN MX $(served MX "$2.rp.$ZONE")"
	echo "_dmarc IN TXT $(served TXT "$2.dmarc.$ZONE")"
}
flat_zone flat.example "$TOK_flat" >"$T/flat.example.zone"
flat_zone flatter.example "$TOK_flatter" >"$T/flatter.example.zone"
# stale.example: the key of esp1 copied, then revoked (a replacement signs in esp2).
OLDKEY=$(dkim_txt esp1 "$TOK_stale" | tr '\n' ' ')
check "key revoke stale.example esp1" ctl key revoke stale.example esp1 --reason test
{ czone stale.example
  ctl domain records stale.example --format zone | grep -v '^;' | grep -v esp1
  echo "esp1._domainkey IN TXT $OLDKEY"; } >"$T/stale.example.zone"

localdns_conf
trap 'stop_unbound; stop_nsd; cleanup' EXIT
start_nsd || finish
start_unbound || finish

chk() { ctl check "$@" --resolver "$RES"; }
# outcome DOMAIN NAME: the outcome check --json gives the record at NAME (and its hint).
outcome() {
	"$PY" -c 'import json,sys
d = json.load(open(sys.argv[1]))
for r in d["records"]:
    if r["name"] == sys.argv[2]:
        print(r["outcome"], r.get("hint", ""))' "$T/$1.json" "$2"
}
for d in $DOMAINS; do
	chk "$d" --json >"$T/$d.json" 2>"$T/$d.err"
	echo $? >"$T/$d.rc"
done
way() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["way"])' "$T/$1.json"; }

# good: everything in place.
expect "good: exit 0" "$(cat "$T/good.example.rc")" 0
expect "good: every record in place" "$("$PY" -c 'import json,sys
print(" ".join(sorted(set(r["outcome"] for r in json.load(open(sys.argv[1]))["records"]))))' "$T/good.example.json")" \
	"in-place"
expect "good: fully aligned" "$(way good.example)" fully-aligned
expect_match "good: the text says so" "$(chk good.example)" \
	"every required record is in place.*|fully aligned: send From good.example"
expect_match "good: the chain is shown" "$(chk good.example)" "-> CNAME esp1\\.$TOK_good\\.dkim\\.$ZONE\\."

# missing: nothing at all.
expect "missing: exit 4" "$(cat "$T/missing.example.rc")" 4
expect_match "missing: esp1 missing" "$(outcome missing.example "esp1._domainkey.missing.example.")" \
	"^missing add the CNAME esp1\\._domainkey\\.missing\\.example\\. -> esp1\\.$TOK_missing\\."
expect "missing: the platform's own domain" "$(way missing.example)" platform-domain
expect_match "missing: the verdict names the From name way" "$(chk missing.example)" \
	"send From the platform's own domain, with missing.example as the From name only"

# wrong: each near miss with its hint.
expect "wrong: exit 4" "$(cat "$T/wrong.example.rc")" 4
expect_match "wrong: target with the domain appended" "$(outcome wrong.example "esp1._domainkey.wrong.example.")" \
	"^wrong-target the DNS host appended wrong.example to the target"
expect_match "wrong: selector to another slot" "$(outcome wrong.example "esp2._domainkey.wrong.example.")" \
	"^wrong-target the selector esp2 points to another slot \\(esp1\\)"
expect_match "wrong: a typo in the code" "$(outcome wrong.example "esp3._domainkey.wrong.example.")" \
	"^wrong-target the code in the target has a typo: $TYPO where it should be $TOK_wrong"
expect_match "wrong: another domain's code" "$(outcome wrong.example "bounce.wrong.example.")" \
	"^wrong-target $TOK_other is the code of another domain \\(other.example\\)"

# append: the host appended the domain to the names.
expect_match "append: name with the domain appended" "$(outcome append.example "esp2._domainkey.append.example.")" \
	"^missing there is a CNAME at esp2\\._domainkey\\.append\\.example\\.append\\.example\\. instead"

# flat, flatter: TXT records with what dnsd serves now, not CNAMEs. A copy by
# hand or a flattening host? The marker test starts: dnsd's DKIM TXT gets a new
# n= marker, and both wait, pending, for the TTLs.
for d in flat flatter; do
	expect "$d: exit 4 while the marker test waits" "$(cat "$T/$d.example.rc")" 4
	expect_match "$d: esp1 served directly, the test said" "$(outcome $d.example "esp1._domainkey.$d.example.")" \
		"^served-directly nothing to do but wait"
	expect_match "$d: so is the slot without a key (esp2)" \
		"$(outcome $d.example "esp2._domainkey.$d.example.")" "^served-directly "
	expect_match "$d: the return path: fine for now, the host not known yet" \
		"$(outcome $d.example "bounce.$d.example.")" "^flattened if they were copied by hand"
	expect "$d: fully aligned for now (the key is what dnsd serves)" "$(way $d.example)" fully-aligned
done
expect_match "flat: the text says when to look again" "$(cat "$T/flat.example.json")" \
	"dnsd changed a marker in it at [0-9]{2}:[0-9]{2} UTC; a check after [0-9]{2}:[0-9]{2} UTC tells"
MARK_flat=$(sqlite3 "$DB" "SELECT mark FROM domains WHERE name = 'flat.example'")
MARK_flatter=$(sqlite3 "$DB" "SELECT mark FROM domains WHERE name = 'flatter.example'")
expect_match "the markers are six characters of base32" "$MARK_flat $MARK_flatter" "^[a-z2-7]{6} [a-z2-7]{6}$"
expect "they differ" "$([ "$MARK_flat" != "$MARK_flatter" ] && echo yes)" yes
# (unbound keeps nothing here, cache-max-ttl 0: the customer's TTL it answers is 0.)
expect "the test waits dnsd's DKIM TTL, the customer's TXT TTL as the resolver has it, and a minute" \
	"$(sqlite3 "$DB" "SELECT c.probe_until - c.mark_at, c.next_at = c.probe_until FROM domain_checks c
		JOIN domains d ON d.id = c.domain_id WHERE d.name = 'flat.example'")" "120|1"
# dnsd serves the marker (its journal: that domain only); verifiers ignore n=.
for _ in $(seq 1 100); do
	dkim_txt esp1 "$TOK_flatter" | grep -q "n=$MARK_flatter;" && break
	sleep 0.05
done
expect_match "dnsd serves the marker in the key's TXT" "$(dkim_txt esp1 "$TOK_flatter")" \
	"^\"v=DKIM1; k=rsa; n=$MARK_flatter; p=MII"
expect "and in the slots without a key" "$(dkim_txt esp2 "$TOK_flatter")" "\"v=DKIM1; n=$MARK_flatter; p=\""
expect "not in the other domains' TXT" "$(dkim_txt esp2 "$TOK_good")" '"v=DKIM1; p="'
# The flattening host follows; the copy made by hand does not.
flat_zone flatter.example "$TOK_flatter" >"$T/flatter.example.zone"
stop_nsd
start_nsd || finish
NOW=$(date +%s)
out=$(DNSD_NOW=$((NOW + 60)) chk flat.example --json)
expect_match "flat: before the TTLs ran out, still waiting" \
	"$(echo "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["records"][0]["outcome"])')" "^served-directly"
out=$(DNSD_NOW=$((NOW + 240)) chk flatter.example)
expect "flatter: exit 0 once its TXT shows the new marker" "$?" 0
expect_match "flatter: esp1 flattened" "$out" "flattened +esp1\._domainkey\.flatter\.example\."
expect_match "flatter: and said why" "$out" \
	"it shows the marker dnsd changed at [0-9:]+ UTC \(n=$MARK_flatter\), so the DNS host flattens the CNAME"
expect_match "flatter: the return path takes the host's answer" "$out" \
	"the SPF and MX dnsd serves now, not a CNAME: the DNS host flattens the CNAME \(dnsd's DKIM marker showed it\)"
expect_match "flatter: the host is named" "$out" "DNS host: flattens the CNAMEs"
expect "flatter: verified, the test over" "$(sqlite3 "$DB" "SELECT c.state, c.host, c.mark_at IS NULL FROM domain_checks c
	JOIN domains d ON d.id = c.domain_id WHERE d.name = 'flatter.example'")" "verified|flattens|1"
out=$(DNSD_NOW=$((NOW + 240)) chk flat.example)
expect "flat: exit 4 after the TTLs" "$?" 4
expect_match "flat: esp1 copied by hand" "$out" "copied-stale +esp1\._domainkey\.flat\.example\."
expect_match "flat: and said why" "$out" \
	"a TXT copied by hand, not a CNAME: dnsd changed its marker \(n=\) at [0-9:]+ UTC and this TXT still shows no marker after the TTLs ran out"
expect_match "flat: fix: the CNAME" "$out" "fix: replace the TXT with the CNAME to esp1\.$TOK_flat\.dkim\.$ZONE\."
expect_match "flat: the return path takes the host's answer" "$out" "copied-stale +bounce\.flat\.example\."
expect_match "flat: and says so" "$out" "copied by hand, not a CNAME \(dnsd's DKIM marker found"
expect_match "flat: the DMARC copy is the domain's own" "$out" "own-dmarc +_dmarc\.flat\.example\."
expect_match "flat: made by hand" "$out" "a copy of the platform's DMARC record made by hand"
expect_match "flat: the host is named" "$out" "DNS host: the records served directly were copied by hand"
expect "flat: its slots are not eligible: no key goes behind a copy" "$(sqlite3 "$DB" "SELECT group_concat(s.eligible, '')
	FROM slots s JOIN domains d ON d.id = s.domain_id WHERE d.name = 'flat.example'")" "000"
out=$(DNSD_NOW=$((NOW + 300)) chk flat.example --json)
expect "flat: judged once: no new marker for a copy that stays as it was" \
	"$(sqlite3 "$DB" "SELECT mark FROM domains WHERE name = 'flat.example'")" "$MARK_flat"

# stale: the key copied by hand before it was revoked.
expect "stale: exit 4" "$(cat "$T/stale.example.rc")" 4
expect_match "stale: esp1 is an old copy" "$(outcome stale.example "esp1._domainkey.stale.example.")" \
	"^copied-stale delete the TXT and add the CNAME"
expect_match "stale: the text names the revoked key" "$(chk stale.example)" \
	"a key this domain had before \\(revoked in slot esp1"
expect "stale: fully aligned (esp2 signs now, in place)" "$(way stale.example)" fully-aligned

# own: the customer's own DMARC, strict and enforcing, with two SPF records.
out=$(chk own.example)
expect_match "own: conflicting SPF records" "$out" "conflict: own.example has 2 SPF records"
expect_match "own: aspf=s warned" "$out" "DMARC aspf=s: SPF aligns only when"
expect_match "own: adkim=s warned" "$out" "DMARC adkim=s"
expect_match "own: p=reject without DKIM loses mail" "$out" "DMARC p=reject while DKIM is not in place"
expect "own: _dmarc is the customer's" "$(outcome own.example "_dmarc.own.example." | cut -d' ' -f1)" own-dmarc

# dkimonly: DKIM in place, no Return-Path; two DMARC records.
expect "dkimonly: DKIM-aligned only" "$(way dkimonly.example)" dkim-aligned
expect "dkimonly: exit 4 (the Return-Path is required)" "$(cat "$T/dkimonly.example.rc")" 4
expect_match "dkimonly: two DMARC records" "$(chk dkimonly.example)" "conflict: _dmarc.dkimonly.example has 2 DMARC"

# hostile.example: judged, never a crash; every control character shown escaped.
out=$(chk hostile.example 2>&1)
expect "hostile: exit 4" "$?" 4
expect_match "hostile: the escape is shown as text" "$out" 'p=abc\\x1b\[2J\\x1b\]0;owned\\x07def'
expect "hostile: no control character reaches the terminal" "$(printf '%s' "$out" | tr -d '\n\t' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
expect_match "hostile: the 5,000-octet TXT is read (over TCP) and judged" \
	"$(outcome hostile.example "bounce.hostile.example.")" "^copied-stale "
expect_match "hostile: the junk DMARC is read as the customer's" "$out" "DMARC p=reject while DKIM is not in place"
expect "hostile: a CNAME loop is a wrong target, followed 8 steps" \
	"$(outcome hostile.example "esp2._domainkey.hostile.example." | cut -d' ' -f1) $(echo "$out" |
		grep -c -- '-> CNAME esp[23]._domainkey.hostile.example.')" "wrong-target 16"

# A resolver that does not answer: a failed lookup, exit 1, not "missing".
DEAD=$(free_port)
out=$(ctl check good.example --resolver "127.0.0.1:$DEAD" 2>&1)
expect "no resolver: exit 1" "$?" 1
expect_match "no resolver: lookup-failed" "$out" "lookup-failed"
check_fails "a bad --resolver is refused" ctl check good.example --resolver 'not-an-address'

# The full chain: a message signed with good.example's key verifies with the key
# found through its CNAME, unbound and dnsd.
ctl domain show good.example --json >"$T/good.show"
read -r sel key < <("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["slots"][0]; print(s["selector"], s["private_key"])' "$T/good.show")
"$PY" "$ROOT/tests/system/mailauth.py" message good.example "$T/good.msg"
check "good: message signed" "$PY" "$ROOT/tests/system/mailauth.py" sign rsa-2048 good.example "$sel" "$key" \
	"$T/good.msg" "$T/good.signed"
verify() { # MSG: dkimpy, every lookup through unbound
	"$PY" - "$UBPORT" "$1" <<'EOF'
import sys, dkim, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers, r.port = ["127.0.0.1"], int(sys.argv[1])
def txt(name, timeout=5):
    try:
        a = r.resolve(name.decode(), "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    return b"".join(a.rrset[0].strings)
print(dkim.verify(open(sys.argv[2], "rb").read(), dnsfunc=txt))
EOF
}
expect "full chain: the signature verifies through unbound" "$(verify "$T/good.signed")" True
sed 's/shipped\./shipped!/' "$T/good.signed" >"$T/good.altered"
expect "full chain: an altered message does not" "$(verify "$T/good.altered")" False
sed "s/d=good.example;/d=missing.example;/" "$T/good.signed" >"$T/missing.signed"
expect "full chain: nor one claiming a domain without the CNAME" "$(verify "$T/missing.signed")" False
# The marker is a note verifiers ignore: flatter.example's TXT, with n=, as its
# flattening host serves it, verifies a signature.
expect_match "flatter: its TXT carries the marker" "$(dig @127.0.0.1 -p "$UBPORT" +short TXT \
	esp1._domainkey.flatter.example)" "n=[a-z2-7]{6}; p=MII"
ctl domain show flatter.example --json >"$T/flatter.show"
read -r sel key < <("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1]))["slots"][0]; print(s["selector"], s["private_key"])' "$T/flatter.show")
"$PY" "$ROOT/tests/system/mailauth.py" message flatter.example "$T/flatter.msg"
check "flatter: message signed" "$PY" "$ROOT/tests/system/mailauth.py" sign rsa-2048 flatter.example "$sel" "$key" \
	"$T/flatter.msg" "$T/flatter.signed"
expect "flatter: the signature verifies with the marked TXT" "$(verify "$T/flatter.signed")" True

# ---- state and drift ----
sq() { sqlite3 "$DB" "$@"; }
dstate() { sq "SELECT c.state FROM domain_checks c JOIN domains d ON d.id = c.domain_id WHERE d.name = '$1'"; }
rstate() { sq "SELECT r.state || ' ' || r.outcome FROM record_checks r JOIN domains d ON d.id = r.domain_id
	WHERE d.name = '$1' AND r.name = '$2'"; }
elig() { sq "SELECT group_concat(s.selector || '=' || s.eligible, ' ') FROM slots s JOIN domains d
	ON d.id = s.domain_id WHERE d.name = '$1' ORDER BY s.position"; }
expect "state: good.example verified" "$(dstate good.example)" verified
expect "state: missing.example pending" "$(dstate missing.example)" pending
expect "state: a missing record is pending" "$(rstate missing.example esp1._domainkey.missing.example.)" \
	"pending missing"
expect "state: the slots of good.example are eligible" "$(elig good.example)" "esp1=1 esp2=1 esp3=1"
expect "state: those of missing.example are not" "$(elig missing.example)" "esp1=0 esp2=0 esp3=0"
expect "state: wrong.example's slots are not either" "$(elig wrong.example)" "esp1=0 esp2=0 esp3=0"
out=$(ctl key rotate missing.example 2>&1)
expect_match "so no new key goes behind a selector the customer never delegated" "$out" \
	"no free eligible main slot"
out=$(ctl check --all --resolver "$RES")
expect_match "check --all: nothing is due right after" "$out" "^checked 0 domain"

# The customer deletes good.example's esp2 CNAME after it was verified.
grep -v '^esp2\._domainkey' "$T/good.example.zone" >"$T/good.zone.new" && mv "$T/good.zone.new" "$T/good.example.zone"
stop_nsd
start_nsd || finish
NOW=$(date +%s)
out=$(DNSD_NOW=$((NOW + 2 * 86400)) ctl check --all --resolver "$RES" --concurrency 4 --rate 50)
expect "check --all: exit 0" "$?" 0
expect_match "check --all: checks every domain due a day later" "$out" "^checked 11 domain"
expect_match "drift: the record is listed as drifted" "$out" \
	"good.example: esp2._domainkey.good.example. verified -> drifted \\(missing\\)"
expect_match "drift: the domain too" "$out" "good.example: verified -> drifted"
expect_match "drift: and its slot is no longer eligible" "$out" "good.example: slot esp2 not eligible"
expect "drift: only good.example changed" "$(echo "$out" | grep -vc '^good.example: \|^checked')" 0
# A day after its test, flatter.example's host is tested again (a new marker),
# and stays verified meanwhile; it follows, as such a host does.
expect "flatter: a new marker a day later" "$(sqlite3 "$DB" "SELECT mark != '$MARK_flatter' FROM domains
	WHERE name = 'flatter.example'")" 1
flat_zone flatter.example "$TOK_flatter" >"$T/flatter.example.zone"
expect "drift: the store says so" "$(dstate good.example) $(rstate good.example esp2._domainkey.good.example.)" \
	"drifted drifted missing"
expect "drift: esp2 ineligible, the others not" "$(elig good.example)" "esp1=1 esp2=0 esp3=1"
expect "drift: checked again within the hour" \
	"$(sq "SELECT next_at - checked_at FROM domain_checks c JOIN domains d ON d.id = c.domain_id
		WHERE d.name = 'good.example'")" 3600
expect_match "drift: the text check says it" "$(DNSD_NOW=$((NOW + 2 * 86400 + 60)) chk good.example)" \
	"state: drifted since"

# Put back, it is verified again, and the slot eligible.
ctl domain records good.example --format zone | grep '^esp2\._domainkey' >>"$T/good.example.zone"
stop_nsd
start_nsd || finish
out=$(DNSD_NOW=$((NOW + 3 * 86400)) ctl check --all --resolver "$RES" --json)
expect_match "back: listed as verified again" "$out" "good.example: drifted -> verified"
expect_match "back: its slot eligible again" "$out" "good.example: slot esp2 eligible again"
expect "back: JSON counts" "$(echo "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin)
print(d["checked"], d["verified"], d["drifted"])')" "11 2 0"
expect "flatter: verified again by its second test" "$(sqlite3 "$DB" "SELECT c.state, c.host, c.mark_at IS NULL
	FROM domain_checks c JOIN domains d ON d.id = c.domain_id WHERE d.name = 'flatter.example'")" "verified|flattens|1"
h=$(ctl domain history good.example --json)
expect "history: every check event of esp2, audited" "$(echo "$h" | "$PY" -c 'import json,sys
print(",".join(e["event"] for e in json.load(sys.stdin)["checks"] if e["record"] == "esp2._domainkey.good.example."))')" \
	"verified,drifted,ineligible,verified,eligible"
expect_match "history: the text lists them with their cause" "$(ctl domain history good.example)" \
	"drifted +esp2._domainkey.good.example. +check: missing: no record"

# flat.example's copies were found before any rotation: no key is published
# behind them. An eligible slot made so by hand (the operator's override) takes
# the key; the copy at esp2 then shows ("p=", no longer what dnsd serves), and the
# slot is not eligible again before the key may activate.
out=$(ctl key rotate flat.example 2>&1)
expect_match "flat: no key is published behind a copy" "$out" "no free eligible main slot"
check "slot esp2 of flat.example made eligible by hand" ctl slot set flat.example esp2 --eligible yes
check "key rotate flat.example publishes into esp2" ctl key rotate flat.example
expect "flat: esp2 holds the published key" "$(sq "SELECT s.selector || ' ' || k.state FROM keys k
	JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id
	WHERE d.name = 'flat.example' AND k.state = 'published'")" "esp2 published"
out=$(DNSD_NOW=$((NOW + 3 * 86400 + 60)) ctl check flat.example --resolver "$RES")
expect "flat: check exits 4 now" "$?" 4
expect_match "flat: the copy at esp2 is no longer what dnsd serves" "$out" \
	"other-content +esp2\\._domainkey\\.flat\\.example\\."
expect_match "flat: so esp2 is not eligible, and its key waits" "$out" "slot esp2 not eligible"
expect_match "flat: the job says the key waits" "$(DNSD_NOW=$((NOW + 4 * 86400)) ctl maintain 2>&1)" \
	"flat.example esp2: key [0-9]+ waits: the slot is not eligible"

stop_unbound
stop_nsd
finish
