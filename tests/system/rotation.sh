#!/bin/bash
# rotation: the DKIM key lifecycle (issue 4) end to end, with the real dnsd and
# dnsdctl, time walked with the test clock (DNSD_NOW for dnsdctl; dnsd reads the
# store live), and independent verifiers: dkimpy through dnsd (mailauth.py), and
# OpenDKIM's own tools on the exports dnsdctl writes for the signer:
#   opendkim-testkey -x CONF, CONF = "KeyTable file:<exports>/KeyTable" and
#     "Nameservers 127.0.0.1@PORT" (its libunbound then forwards to dnsd only and
#     follows the customer's CNAME itself): each key of the KeyTable is compared
#     with the key dnsd serves (OpenDKIM 2.11's testkey compares RSA keys only);
#   opendkim-testmsg -C -d D -s S -k PATH signs with the key the KeyTable names;
#   opendkim-testmsg (no options) verifies. libopendkim then asks the resolver of
#     /etc/resolv.conf on port 53: the test runs it in a private mount namespace
#     (unshare -m) where /etc/resolv.conf names recursor.py, a tiny recursive
#     resolver on a 127.x.y.53 loopback address that asks dnsd and follows CNAMEs.
# All DNS traffic goes to loopback. Each part has its own store (and dnsd):
#   p1  rotation end to end (RSA main key and the Ed25519 pair), exports, OpenDKIM
#   p2  rotation by age, a stopped job catching up one step per run, --export-dir,
#       export_command and exit status 3
#   p2s rotation by age spread over rotation_spread_hours
#   p3  two jobs at once; maintain --max-keys
#   p4  emergency revoke (a new key; the key waiting; no free slot: p4b); domain remove
#   p5  ineligible slots
#   p6  key import (PKCS#8, PKCS#1, Ed25519; refusals change nothing)
#   p7  bulk rotation spread over a window
#   p8  name servers gate activation (serving, lagging, dead)
. "$(dirname "$0")/lib"
MA="$ROOT/tests/system/mailauth.py"
RES="$ROOT/tests/system/resolve.py"
REC="$ROOT/tests/system/recursor.py"
TESTKEY=/usr/sbin/opendkim-testkey
TESTMSG=/usr/sbin/opendkim-testmsg
REC_PID=""
trap 'stop_recursor; cleanup' EXIT

DAY=86400
HOLD=300 # --ttl-dkim 300; the demo zone's negative TTL (SOA minimum) is 300 too

# ---- helpers ----
PYDEF='import json, sys, calendar, time
def ts(v):
    if v is None or isinstance(v, (int, float)): return v
    return calendar.timegm(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
def K(sel):
    m = [x for x in k if x["selector"] == sel]
    return max(m, key=lambda x: x["id"]) if m else {}
def st(sel): return K(sel).get("state")
def states(): return " ".join("%s:%s" % (x["selector"], x["state"]) for x in sorted(k, key=lambda x: x["id"]))
'
# kj DOMAIN EXPR: EXPR over the domain's key list (k: the keys; K(sel): the newest
# key of a slot; st(sel): its state; states(): "sel:state ..." by id; ts(): epoch).
kj() { ctl key list "$1" --json | "$PY" -c "$PYDEF
k = json.load(sys.stdin)
print($2)"; }
# jx EXPR: EXPR over the JSON on stdin (d).
jx() { "$PY" -c "$PYDEF
d = json.load(sys.stdin)
print($1)"; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# ctlat TIME ARGS...: dnsdctl with its clock at TIME.
ctlat() { local t=$1; shift; DNSD_NOW=$t ctl "$@"; }
vfy() { "$PY" "$MA" verify "$PORT" "$@" 2>&1; }
# msg DOMAIN OUT: mailauth.py's test message from DOMAIN (made once per domain).
msg() { [ -s "$T/msg.$1" ] || "$PY" "$MA" message "$1" "$T/msg.$1"; cp "$T/msg.$1" "$2"; }
sign() { "$PY" "$MA" sign "$@"; }
txt() { "$PY" "$RES" "$PORT" "$1" TXT 2>&1; }
# serves_key NAME: dnsd serves a non-empty p= at NAME (after the customer's CNAME).
serves_key() { txt "$1" | grep -Eq '^v=DKIM1; k=[a-z0-9]+; p=.+'; }
serves_revoked() { txt "$1" | grep -Eq '^v=DKIM1;( k=[a-z0-9]+;)? p=$'; }
ino() { stat -c %i "$1"; }
# kt_sels FILE DOMAIN: the selectors a KeyTable file names for DOMAIN.
kt_sels() { awk -v d="$2" '$1 !~ /^#/ { split($2, a, ":"); if (a[1] == d) print a[2] }' "$1" | tr '\n' ' ' | sed 's/ $//'; }
# keytable_sels DIR DOMAIN: the selectors both KeyTables (RSA, then Ed25519) name for DOMAIN.
keytable_sels() { cat "$1/KeyTable" "$1/KeyTable.ed25519" 2>/dev/null | kt_sels /dev/stdin "$2"; }
# snapshot FILE: the store's content and the key directory (nothing-changed checks).
snapshot() { { sqlite3 "$DB" .dump; ls -RA "$KEYS"; find "$KEYS" -type f -exec sha256sum {} + | sort; } >"$1" 2>&1; }
pubkey() { openssl pkey -in "$1" -pubout 2>/dev/null; }

# exports_match DIR DOMAIN...: every export file says exactly what the key lists
# (ctl key list --json) say: the active keys, sorted by domain, then role (main
# first); KeyTable and SigningTable the RSA keys, KeyTable.ed25519 and
# SigningTable.ed25519 the Ed25519 ones (OpenDKIM 2.11 signs with one algorithm per
# instance), the Rspamd maps the main RSA key, keys.json all; every file but
# keys.json starts with a '#' comment.
exports_match() {
	local dir=$1 d; shift
	for d in "$@"; do ctl key list "$d" --json >"$T/kl.$d.json" || return 1; done
	"$PY" - "$dir" "$T" "$@" <<'EOF'
import json, os, sys
dir, t, doms = sys.argv[1], sys.argv[2], sorted(sys.argv[3:])
act = []
for d in doms:
    ks = [k for k in json.load(open(os.path.join(t, "kl.%s.json" % d))) if k["state"] == "active"]
    ks.sort(key=lambda k: (k["role"] != "main", k["role"]))
    act += [(d, k) for k in ks]
rsa = [(d, k) for d, k in act if k["algorithm"].startswith("rsa-")]
ed = [(d, k) for d, k in act if k["algorithm"] == "ed25519"]
kt = lambda l: ["%s._domainkey.%s %s:%s:%s" % (k["selector"], d, d, k["selector"], k["private_key"]) for d, k in l]
sg = lambda l: ["*@%s %s._domainkey.%s" % (d, k["selector"], d) for d, k in l]
want = {
    "KeyTable": kt(rsa), "SigningTable": sg(rsa),
    "KeyTable.ed25519": kt(ed), "SigningTable.ed25519": sg(ed),
    "rspamd-selectors.map": ["%s %s" % (d, k["selector"]) for d, k in rsa if k["role"] == "main"],
    "rspamd-paths.map": ["%s %s" % (d, k["private_key"]) for d, k in rsa if k["role"] == "main"],
}
bad = []
for f, lines in want.items():
    try:
        got = open(os.path.join(dir, f)).read().splitlines()
    except OSError as e:
        bad.append("%s: %s" % (f, e)); continue
    if not got or not got[0].startswith("#"):
        bad.append("%s: no '#' comment first" % f)
    got = [l for l in got if l.strip() and not l.startswith("#")]
    if got != lines:
        bad.append("%s:\n  got  %s\n  want %s" % (f, got, lines))
try:
    j = json.load(open(os.path.join(dir, "keys.json")))["keys"]
    jw = [{"domain": d, "selector": k["selector"], "role": k["role"], "algorithm": k["algorithm"],
           "private_key": k["private_key"], "activated": k["activated"]} for d, k in act]
    if j != jw:
        bad.append("keys.json:\n  got  %s\n  want %s" % (j, jw))
except (OSError, ValueError, KeyError) as e:
    bad.append("keys.json: %s" % e)
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

# ---- OpenDKIM ----
# odk_testkey KEYTABLE: opendkim-testkey over every key of the KeyTable, asking dnsd.
odk_testkey() {
	printf 'KeyTable file:%s\nNameservers 127.0.0.1@%s\n' "$1" "$PORT" >"$T/opendkim.conf"
	timeout 30 "$TESTKEY" -vvv -x "$T/opendkim.conf" 2>&1
}
# odk_sign DOMAIN SELECTOR KEY IN OUT: OpenDKIM signs (CRLFs kept: -C).
odk_sign() { timeout 10 "$TESTMSG" -C -d "$1" -s "$2" -k "$3" <"$4" >"$5"; }
# odk_verify FILE: OpenDKIM verifies; its resolver (resolv.conf) is recursor.py.
odk_verify() {
	timeout 20 unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2"' odk "$T/resolv.conf" "$TESTMSG" <"$1" 2>&1
}
start_recursor() {
	local a
	for _ in 1 2 3 4 5; do
		a=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).53
		rm -f "$T/rready"
		"$PY" "$REC" "$a" 53 "$PORT" "$T/rready" 2>>"$T/recursor.log" &
		REC_PID=$!
		for _ in $(seq 1 100); do
			[ -s "$T/rready" ] && break
			kill -0 "$REC_PID" 2>/dev/null || break
			sleep 0.05
		done
		if [ -s "$T/rready" ]; then
			printf 'nameserver %s\noptions edns0 attempts:1 timeout:2\n' "$a" >"$T/resolv.conf"
			return 0
		fi
		kill "$REC_PID" 2>/dev/null; wait "$REC_PID" 2>/dev/null; REC_PID=""
	done
	echo "recursor.py did not start:"; tail -5 "$T/recursor.log"
	return 1
}
stop_recursor() { if [ -n "$REC_PID" ]; then kill "$REC_PID" 2>/dev/null; wait "$REC_PID" 2>/dev/null; REC_PID=""; fi; }

# odk_exports DIR WHEN: the OpenDKIM proof over the exports in DIR: opendkim-testkey
# compares every key of KeyTable (RSA) with the key dnsd serves (all must pass; it
# cannot compare Ed25519 keys); for each line of KeyTable a message is signed by
# OpenDKIM with the key file it names, and for each line of KeyTable.ed25519 by
# dkimpy (opendkim-testmsg signs rsa-sha1 only); OpenDKIM and dkimpy then verify
# each, fetching the key from dnsd through the customer's CNAME.
odk_exports() {
	local dir=$1 when=$2 out n name spec d s p alg tok tbl
	out=$(odk_testkey "$dir/KeyTable")
	n=$(grep -vc '^#' "$dir/KeyTable")
	expect "$when: opendkim-testkey checks each KeyTable key against dnsd: $n pass" \
		"$(echo "$out" | grep 'keys checked')" "opendkim-testkey: $n keys checked; $n pass, 0 fail"
	expect "$when: testkey: no key file with unsafe permissions" "$(echo "$out" | grep -c 'unsafe permissions')" 0
	for tbl in KeyTable KeyTable.ed25519; do
		check "$when: $tbl has keys" grep -qv '^#' "$dir/$tbl"
		while read -r name spec; do
			case $name in '#'* | '') continue ;; esac
			IFS=: read -r d s p <<<"$spec"
			expect "$when: $tbl key name is the selector's DNS name" "$name" "$s._domainkey.$d"
			alg=$("$PY" -c 'import json,sys; print([k["algorithm"] for k in json.load(open(sys.argv[1]))["keys"] if k["private_key"] == sys.argv[2]][0])' "$dir/keys.json" "$p")
			tok=$(token "$d")
			msg "$d" "$T/odk.in"
			if [ $tbl = KeyTable ]; then
				expect_match "$when: testkey: $name OK" "$(echo "$out" | grep "key $name:")" ": OK$"
				check "$when: OpenDKIM signs with $d's KeyTable key ($s)" odk_sign "$d" "$s" "$p" "$T/odk.in" "$T/odk.$d.$s.signed"
				expect "$when: dkimpy verifies OpenDKIM's signature ($d $s) through dnsd" \
					"$(vfy "$T/odk.$d.$s.signed")" "True rsa ${alg#rsa-} via $s.$tok.dkim.$ZONE."
			else
				expect "$when: KeyTable.ed25519 names an Ed25519 key ($d $s)" "$alg" ed25519
				check "$when: dkimpy signs with $d's KeyTable.ed25519 key ($s)" sign "$alg" "$d" "$s" "$p" "$T/odk.in" "$T/odk.$d.$s.signed"
			fi
			check "$when: OpenDKIM verifies the $d $s signature, key from dnsd via the CNAME" odk_verify "$T/odk.$d.$s.signed"
			cp "$T/odk.$d.$s.signed" "$T/odk.$d.$s.$when.signed"
		done <"$dir/$tbl"
	done
}

# part NAME INIT-ARGS...: a fresh store (and no dnsd) for a part of the test.
part() {
	local name=$1; shift
	stop_recursor
	stop_dnsd
	echo "# $name (at ${SECONDS} s)"
	mkdir -p "$T/$name"
	DB="$T/$name/store.db" KEYS="$T/$name/keys"
	new_store "$@" || not_ok "$name: new store (init $*)"
}

for p in "$TESTKEY" "$TESTMSG"; do check "$p is installed (opendkim-tools)" test -x "$p"; done

# =====================================================================
part p1 --ttl-dkim $HOLD --key-retention-days 7 --rotation-days 0
N=$(date +%s)
R=r1.example E=e1.example
check "domain add $R (rsa-2048)" ctlat $N domain add $R --tenant acme --algorithm rsa-2048
check "domain add $E (rsa-2048 and the Ed25519 pair)" ctlat $N domain add $E --tenant acme --algorithm rsa-2048 --ed25519 yes
customer_zone $R; customer_zone $E
RT=$(token $R) ET=$(token $E)
expect "$E: domain records list the pair's CNAMEs" \
	"$(grep -c -- "-ed[12]\._domainkey" "$T/$E.zone")" 2
start_dnsd --zone "$T/$R.zone" --zone "$T/$E.zone" || finish
start_recursor || not_ok "recursor.py started"
EXP="$T/p1/exports"
expect "$R: one key, esp1, active" "$(kj $R 'states()')" "esp1:active"
expect "$E: esp1 (main) and esp-ed1 (ed25519) active" "$(kj $E '" ".join(x["selector"]+":"+x["role"]+":"+x["algorithm"]+":"+x["state"] for x in k)')" \
	"esp1:main:rsa-2048:active esp-ed1:ed25519:ed25519:active"
check "exports written at domain add, in the default exports/ beside the store" test -s "$EXP/KeyTable"
check "exports name the first keys" exports_match "$EXP" $R $E

# OpenDKIM, on the first exports.
odk_exports "$EXP" initial
"$PY" "$MA" mutate body "$T/odk.$R.esp1.signed" "$T/odk.altered"
out=$(odk_verify "$T/odk.altered"); rc=$?
check "OpenDKIM rejects an altered message" test "$rc" -ne 0
expect_match "OpenDKIM says why" "$out" "Bad signature"
sed "s|^esp1._domainkey.$R $R:esp1:.*|esp1._domainkey.$R $R:esp1:$(kj $E 'K("esp1")["private_key"]')|" "$EXP/KeyTable" >"$T/KeyTable.wrong"
expect_match "opendkim-testkey fails a KeyTable key that is not the one dnsd serves" \
	"$(odk_testkey "$T/KeyTable.wrong" | tee "$T/testkey.wrong" | grep "key esp1._domainkey.$R:")" "key esp1._domainkey.$R: keys do not match"
grep "key esp1._domainkey.$R:" "$T/testkey.wrong" | sed 's/^/    | /'

# M1: signed with the first keys.
R1=$(kj $R 'K("esp1")["private_key"]') E1=$(kj $E 'K("esp1")["private_key"]') D1=$(kj $E 'K("esp-ed1")["private_key"]')
msg $R "$T/r.msg"; msg $E "$T/e.msg"
sign rsa-2048 $R esp1 "$R1" "$T/r.msg" "$T/M1"
sign rsa-2048 $E esp1 "$E1" "$T/e.msg" "$T/M1e"
sign ed25519 $E esp-ed1 "$D1" "$T/e.msg" "$T/M1d"
expect "M1 ($R esp1) verifies" "$(vfy "$T/M1")" "True rsa 2048 via esp1.$RT.dkim.$ZONE."
expect "M1e ($E esp1) verifies" "$(vfy "$T/M1e")" "True rsa 2048 via esp1.$ET.dkim.$ZONE."
expect "M1d ($E esp-ed1) verifies" "$(vfy "$T/M1d")" "True ed25519 256 via esp-ed1.$ET.dkim.$ZONE."
cp -a "$EXP" "$T/exports.v1"
KTI=$(ino "$EXP/KeyTable")

# key rotate: key 2 published in another slot.
T1=$((N + 60))
out=$(ctlat $T1 key rotate $R); rc=$?
expect "key rotate $R: exit 0" "$rc" 0
expect_match "key rotate $R: says where and from when" "$out" "published in esp2.*$(iso $((T1 + HOLD)))"
check "key rotate $E (main)" ctlat $T1 key rotate $E
check "key rotate $E --role ed25519" ctlat $T1 key rotate $E --role ed25519
out=$(ctlat $T1 key rotate $R 2>&1); rc=$?
check "a second key rotate $R fails (a key is waiting)" test "$rc" -ne 0
expect_match "it says a key is already published, waiting" "$out" "already has key [0-9]+ published in esp2"
expect "$R: esp1 active, esp2 published" "$(kj $R 'states()')" "esp1:active esp2:published"
expect "$E: key 2 of each role published" "$(kj $E 'states()')" "esp1:active esp-ed1:active esp2:published esp-ed2:published"
expect "$R key 2: published at the rotate time" "$(kj $R 'ts(K("esp2")["published"])')" "$T1"
expect "$R key 2: active_after = published + hold ($HOLD s: ttl_dkim, no other hold)" \
	"$(kj $R 'ts(K("esp2")["active_after"]) - ts(K("esp2")["published"])')" "$HOLD"
expect_match "$R key 2: published_serial set" "$(kj $R 'K("esp2")["published_serial"]')" '^[0-9]+$'
expect "$R key 2: not activated" "$(kj $R 'K("esp2")["activated"]')" None
wait_for "dnsd serves $R key 2 (esp2, via the customer CNAME) within 2 s" 2 serves_key esp2._domainkey.$R
wait_for "dnsd serves $E esp-ed2 within 2 s" 2 serves_key esp-ed2._domainkey.$E
R2=$(kj $R 'K("esp2")["private_key"]') E2=$(kj $E 'K("esp2")["private_key"]') D2=$(kj $E 'K("esp-ed2")["private_key"]')
sign rsa-2048 $R esp2 "$R2" "$T/r.msg" "$T/M2"
sign rsa-2048 $E esp2 "$E2" "$T/e.msg" "$T/M2e"
sign ed25519 $E esp-ed2 "$D2" "$T/e.msg" "$T/M2d"
expect "M1 still verifies while key 2 is published" "$(vfy "$T/M1")" "True rsa 2048 via esp1.$RT.dkim.$ZONE."
expect "M2 (key 2, published, not yet active) already verifies: the key is in DNS before use" \
	"$(vfy "$T/M2")" "True rsa 2048 via esp2.$RT.dkim.$ZONE."
check "exports unchanged by key rotate (same content)" diff -r -x ".*" "$T/exports.v1" "$EXP"
expect "exports not rewritten by key rotate (same KeyTable inode)" "$(ino "$EXP/KeyTable")" "$KTI"

# The job before active_after: nothing moves.
AA=$(kj $R 'ts(K("esp2")["active_after"])')
out=$(ctlat $((AA - 1)) maintain); rc=$?
expect "maintain 1 s before active_after: exit 0" "$rc" 0
expect_match "maintain before active_after: says key 2 waits until active_after" "$out" "$R esp2: key [0-9]+ waits until $(iso $AA)"
expect_match "maintain with no name servers listed: says only time counts" "$out" "no name servers listed"
expect "$R: key 2 still published before active_after" "$(kj $R 'states()')" "esp1:active esp2:published"
expect "$E: keys 2 still published before active_after" "$(kj $E 'states()')" "esp1:active esp-ed1:active esp2:published esp-ed2:published"
check "exports unchanged before active_after" diff -r -x ".*" "$T/exports.v1" "$EXP"
expect "exports not rewritten before active_after" "$(ino "$EXP/KeyTable")" "$KTI"

# The job at active_after: key 2 active, key 1 retired, the exports switch.
out=$(ctlat $AA maintain); rc=$?
expect "maintain at active_after: exit 0" "$rc" 0
echo "$out" | sed 's/^/    | /'
expect_match "maintain reports $R esp2 activated" "$out" "$R esp2.*activated"
expect "$R: key 2 active, key 1 retired" "$(kj $R 'states()')" "esp1:retired esp2:active"
expect "$E: both roles switched" "$(kj $E 'states()')" "esp1:retired esp-ed1:retired esp2:active esp-ed2:active"
expect "$R: key 2 activated and key 1 retired at that run" "$(kj $R '[ts(K("esp2")["activated"]), ts(K("esp1")["retired"])]')" "[$AA, $AA]"
expect "$R: key 1 not revoked yet" "$(kj $R 'K("esp1")["revoked"]')" None
check "exports name the keys 2 at once" exports_match "$EXP" $R $E
expect "KeyTable: $R signs with esp2" "$(keytable_sels "$EXP" $R)" "esp2"
expect "KeyTable (RSA): $E signs with esp2" "$(kt_sels "$EXP/KeyTable" $E)" "esp2"
expect "KeyTable.ed25519: $E signs with esp-ed2" "$(kt_sels "$EXP/KeyTable.ed25519" $E)" "esp-ed2"
expect "rspamd-selectors.map: $R esp2" "$(grep "^$R " "$EXP/rspamd-selectors.map")" "$R esp2"
expect "rspamd-paths.map: $R key 2's file" "$(grep "^$R " "$EXP/rspamd-paths.map")" "$R $R2"
expect "SigningTables: $E signs with both (one line each)" "$(grep -c "^\*@$E " "$EXP/SigningTable") $(grep -c "^\*@$E " "$EXP/SigningTable.ed25519")" "1 1"
j=$(ctlat $AA maintain --json); rc=$?
expect "maintain --json again at once: nothing to do, exports unchanged" \
	"$(echo "$j" | jx '[d["revoked"], d["activated"], d["published"], d["exports"]]' 2>&1) rc=$rc" "[0, 0, 0, 'unchanged'] rc=0"
expect "M1 (old key, retired, still published) still verifies" "$(vfy "$T/M1")" "True rsa 2048 via esp1.$RT.dkim.$ZONE."
expect "M1d (old Ed25519 key, retired) still verifies" "$(vfy "$T/M1d")" "True ed25519 256 via esp-ed1.$ET.dkim.$ZONE."
expect "M2 (key 2, active) verifies" "$(vfy "$T/M2")" "True rsa 2048 via esp2.$RT.dkim.$ZONE."
expect "M2e verifies" "$(vfy "$T/M2e")" "True rsa 2048 via esp2.$ET.dkim.$ZONE."
expect "M2d (Ed25519 key 2) verifies" "$(vfy "$T/M2d")" "True ed25519 256 via esp-ed2.$ET.dkim.$ZONE."
odk_exports "$EXP" rotated

# Retention: key 1 is revoked key_retention_days (7) after it retired.
RR=$(( $(kj $R 'ts(K("esp1")["retired"])') + 7 * DAY ))
ctlat $((RR - 1)) maintain >/dev/null
expect "1 s before the retention ends: key 1 still retired" "$(kj $R 'st("esp1")')" retired
out=$(ctlat $RR maintain); rc=$?
expect "maintain at retired + 7 days: exit 0" "$rc" 0
expect_match "maintain reports $R esp1 revoked" "$out" "$R esp1.*revoked"
expect "$R: key 1 revoked, key 2 active" "$(kj $R 'states()')" "esp1:revoked esp2:active"
expect "$E: keys 1 of both roles revoked" "$(kj $E 'states()')" "esp1:revoked esp-ed1:revoked esp2:active esp-ed2:active"
expect "$R: key 1 revoked at that run" "$(kj $R 'ts(K("esp1")["revoked"])')" "$RR"
out=$(vfy "$T/M1" --until False --within 1.5)
expect_match "M1 (key 1 revoked) FAILS within ~1 s" "$out" "^False: .*(revoked|missing public key|public key \\(b''\\))"
expect_match "dnsd serves key 1 as revoked: p= empty" "$(txt esp1._domainkey.$R)" '^v=DKIM1;( k=[a-z0-9]+;)? p=$'
expect_match "M1d (Ed25519 key 1 revoked) fails" "$(vfy "$T/M1d" --until False --within 1.5)" "^False: "
expect "M2 still verifies" "$(vfy "$T/M2")" "True rsa 2048 via esp2.$RT.dkim.$ZONE."
expect "M2d still verifies" "$(vfy "$T/M2d")" "True ed25519 256 via esp-ed2.$ET.dkim.$ZONE."
out=$(odk_verify "$T/odk.$R.esp1.initial.signed"); rc=$?
check "OpenDKIM: a message signed with the revoked key fails" test "$rc" -ne 0
expect_match "OpenDKIM: because the key is revoked" "$out" "Revoked key"
expect "OpenDKIM: a message signed with key 2 (rotated exports) still verifies" \
	"$(odk_verify "$T/odk.$R.esp2.rotated.signed"; echo "rc=$?")" "rc=0"
out=$(odk_testkey "$T/exports.v1/KeyTable")
expect_match "opendkim-testkey on the old KeyTable: $R esp1 fails now" "$(echo "$out" | grep "key esp1._domainkey.$R:")" "key esp1._domainkey.$R: .+"
expect_match "opendkim-testkey on the old KeyTable: no key passes" "$(echo "$out" | grep 'keys checked')" "; 0 pass"
check "exports unchanged by the revocation of retired keys" exports_match "$EXP" $R $E

# The audit trail.
h=$(ctl domain history $R --json)
expect "history $R: key 1 generated, published, activated, retired, revoked" \
	"$(echo "$h" | jx '",".join(e["event"] for e in d["events"] if e["selector"] == "esp1")')" "generated,published,activated,retired,revoked"
expect "history $R: key 2 generated, published, activated" \
	"$(echo "$h" | jx '",".join(e["event"] for e in d["events"] if e["selector"] == "esp2")')" "generated,published,activated"
expect "history $R: every event has a cause" "$(echo "$h" | jx 'all(e["cause"] for e in d["events"])')" True
expect_match "history $R: key 2 published by key rotate" \
	"$(echo "$h" | jx '[e["cause"] for e in d["events"] if e["selector"] == "esp2" and e["event"] == "published"][0]')" "key rotate"
expect_match "history $R: key 2 activated by rotation" \
	"$(echo "$h" | jx '[e["cause"] for e in d["events"] if e["selector"] == "esp2" and e["event"] == "activated"][0]')" "rotation"
expect_match "history $R: key 1 retired, replaced by key 2" \
	"$(echo "$h" | jx '[e["cause"] for e in d["events"] if e["event"] == "retired"][0]')" "replaced by key $(kj $R 'K("esp2")["id"]')"
expect_match "history $R: key 1 revoked as its retention ended" \
	"$(echo "$h" | jx '[e["cause"] for e in d["events"] if e["event"] == "revoked"][0]')" "retention ended"
expect "history $R: event times = key list dates" \
	"$(echo "$h" | jx '[ts(e["time"]) for e in d["events"] if e["event"] in ("activated", "retired", "revoked")]')" "[$N, $AA, $AA, $RR]"

# =====================================================================
# The export directory and command come from dnsdctl's config file, never the store.
CTLCONF="$T/p2.conf"
printf 'zone-file %s\nexport-dir %s\nexport-command %s\n' "$ZONEFILE" "$T/p2-out" \
	"echo \"\$DNSD_EXPORT_DIR\" >>$T/p2-cmd.log" >"$CTLCONF"
part p2 --rotation-days 30 --rotation-spread-hours 0 --ttl-dkim $HOLD --key-retention-days 7
N=$(date +%s) A=a2.example
check "domain add $A" ctlat $N domain add $A --tenant acme --algorithm ed25519
check "exports go to --export-dir" test -s "$T/p2-out/KeyTable"
check "nothing in the default exports/ when --export-dir is set" test ! -e "$T/p2/exports"
expect "$A: rotate_due = activated + 30 days" "$(kj $A 'ts(K("esp1")["rotate_due"]) - ts(K("esp1")["activated"])')" $((30 * DAY))
D30=$((N + 30 * DAY))
ctlat $((D30 - 1)) maintain >/dev/null
expect "1 s before 30 days: no new key" "$(kj $A 'states()')" "esp1:active"
out=$(ctlat $D30 maintain)
expect_match "at 30 days the job publishes a new key by itself" "$out" "$A esp2.*published"
expect "$A: esp2 published by the job" "$(kj $A 'states()')" "esp1:active esp2:published"
expect_match "history: published by rotation by age" \
	"$(ctl domain history $A --json | jx '[e["cause"] for e in d["events"] if e["selector"] == "esp2" and e["event"] == "published"][0]')" "rotation by age"
ctlat $((D30 + HOLD - 1)) maintain >/dev/null
expect "not activated before the hold" "$(kj $A 'states()')" "esp1:active esp2:published"
ctlat $((D30 + HOLD)) maintain >/dev/null
expect "a later run activates it" "$(kj $A 'states()')" "esp1:retired esp2:active"
check "exports in --export-dir name esp2" exports_match "$T/p2-out" $A
# A job stopped for 200 days: one step per run.
J=$((D30 + HOLD + 200 * DAY))
j=$(ctlat $J maintain --json)
expect "stopped 200 days, run 1: key 1 revoked, key 3 published, nothing activated" \
	"$(echo "$j" | jx '[d["revoked"], d["published"], d["activated"]]' 2>&1)" "[1, 1, 0]"
K3=$(kj $A 'max(x["id"] for x in k)')
expect "key 3 published at the run, waits the hold" "$(kj $A "[(x['state'], ts(x['published']), ts(x['active_after'])) for x in k if x['id'] == $K3][0]")" "('published', $J, $((J + HOLD)))"
j=$(ctlat $J maintain --json)
expect "run 2 at the same time: key 3 not activated (not published for the hold), no other key" \
	"$(echo "$j" | jx '[d["revoked"], d["published"], d["activated"], d["waiting"]]' 2>&1)" "[0, 0, 0, 1]"
j=$(ctlat $((J + HOLD - 1)) maintain --json)
expect "run 3, 1 s before the hold: still waiting" "$(echo "$j" | jx '[d["activated"], d["waiting"]]' 2>&1)" "[0, 1]"
j=$(ctlat $((J + HOLD)) maintain --json)
expect "run 4, after the hold: key 3 activated" "$(echo "$j" | jx '[d["activated"], d["published"]]' 2>&1)" "[1, 0]"
expect "$A: key 3 active, key 2 retired, key 1 revoked" \
	"$(kj $A "[x['state'] for x in sorted(k, key=lambda x: x['id'])]")" "['revoked', 'retired', 'active']"
j=$(ctlat $((J + HOLD)) maintain --json)
expect "run 5: caught up, nothing to do" "$(echo "$j" | jx '[d["revoked"], d["published"], d["activated"], d["waiting"]]' 2>&1)" "[0, 0, 0, 0]"
check "exports in --export-dir name key 3" exports_match "$T/p2-out" $A
# export_command: run after each rewrite (domain add, two activations), not otherwise.
expect "the export command ran once per rewrite (3), with DNSD_EXPORT_DIR" "$(sort "$T/p2-cmd.log" | uniq -c | awk '{print $1, $2}')" "3 $T/p2-out"
KTI=$(ino "$T/p2-out/KeyTable")
check "dnsdctl export" ctlat $((J + HOLD + 5)) export
expect "dnsdctl export runs the export command even when nothing changed" "$(wc -l <"$T/p2-cmd.log")" 4
expect "... and does not rewrite unchanged files" "$(ino "$T/p2-out/KeyTable")" "$KTI"
sed -i 's/^export-command .*/export-command exit 7/' "$CTLCONF"
out=$(ctlat $((J + HOLD + 10)) domain add a3.example --tenant acme --algorithm ed25519 2>&1); rc=$?
expect "export command fails: exit 3" "$rc" 3
expect_match "exit 3: says the export command failed" "$out" "export command"
check "exit 3: the store change is committed (domain exists)" ctl domain show a3.example
check "exit 3: the files were written all the same" exports_match "$T/p2-out" $A a3.example
printf 'zone-file %s\nexport-dir %s\n' "$ZONEFILE" "$T/p2-cmd.log/sub" >"$CTLCONF" # cannot be created
out=$(ctlat $((J + HOLD + 20)) key revoke a3.example esp1 --reason x 2>&1); rc=$?
expect "exports cannot be written: exit 3" "$rc" 3
expect "exit 3: the revoke is committed" "$(kj a3.example 'st("esp1")')" revoked

# =====================================================================
unset CTLCONF
part p2s --rotation-days 30 --rotation-spread-hours 24 --ttl-dkim $HOLD
N=$(date +%s)
for d in f1.example f2.example f3.example f4.example; do ctlat $N domain add $d --tenant acme --algorithm ed25519 >/dev/null; done
for d in f1.example f2.example f3.example f4.example; do echo "$d $(kj $d 'ts(K("esp1")["rotate_due"]) - ts(K("esp1")["activated"])')"; done >"$T/spread"
expect "spread 24 h: each rotate_due is 30 days minus at most 24 h after activation" \
	"$(awk -v hi=$((30 * DAY)) -v lo=$((30 * DAY - 24 * 3600)) '$2 >= lo && $2 <= hi' "$T/spread" | wc -l)" 4
expect "spread 24 h: keys activated together do not all rotate at once" "$(awk '{print $2}' "$T/spread" | sort -u | wc -l | awk '{print ($1 > 1)}')" 1
read -r fd foff < <(sort -k2n "$T/spread" | head -1)
ctlat $((N + foff - 1)) maintain >/dev/null
expect "1 s before the earliest rotate_due: nothing published" "$(for d in f1.example f2.example f3.example f4.example; do kj $d 'len(k)'; done | tr '\n' ' ')" "1 1 1 1 "
ctlat $((N + foff)) maintain >/dev/null
expect "at the earliest rotate_due: that domain ($fd), and only those due, published" \
	"$(for d in f1.example f2.example f3.example f4.example; do kj $d 'len(k)'; done | tr '\n' ' ')" \
	"$(awk -v o=$foff '{printf "%d ", ($2 <= o) ? 2 : 1}' "$T/spread")"

# =====================================================================
part p3 --rotation-days 30 --rotation-spread-hours 0 --ttl-dkim $HOLD
N=$(date +%s)
for d in c1.example c2.example c3.example; do ctlat $N domain add $d --tenant acme --algorithm rsa-2048 --ed25519 yes >/dev/null; done
# two jobs at once: one due to publish (keys generated before the transaction), then one due to activate
for round in publish activate; do
	case $round in publish) AT=$((N + 31 * DAY)) ;; activate) AT=$((N + 31 * DAY + HOLD)) ;; esac
	DNSD_NOW=$AT ctl maintain --json >"$T/m1.json" 2>"$T/m1.err" & p1=$!
	DNSD_NOW=$AT ctl maintain --json >"$T/m2.json" 2>"$T/m2.err" & p2=$!
	wait $p1; r1=$?; wait $p2; r2=$?
	expect "two jobs at once ($round): both exit 0" "$r1 $r2" "0 0"
	[ "$r1$r2" = 00 ] || cat "$T/m1.err" "$T/m2.err"
	key=$([ $round = publish ] && echo published || echo activated)
	sum=$(cat "$T/m1.json" "$T/m2.json" | "$PY" -c 'import json,sys; j=[json.loads(l) for l in sys.stdin if l.strip()]; print(sum(x[sys.argv[1]] for x in j))' $key 2>&1)
	expect "two jobs at once ($round): 6 keys ${round}ed in all (2 roles x 3 domains), none twice" "$sum" 6
done
for d in c1.example c2.example c3.example; do
	expect "$d: one new key per role, active; the old ones retired" "$(kj $d 'states()')" \
		"esp1:retired esp-ed1:retired esp2:active esp-ed2:active"
	expect "$d: one generated, published, activated event per new key" \
		"$(ctl domain history $d --json | jx '" ".join(sorted("%s:%s" % (e["selector"], e["event"]) for e in d["events"] if e["selector"] in ("esp2", "esp-ed2")))')" \
		"esp-ed2:activated esp-ed2:generated esp-ed2:published esp2:activated esp2:generated esp2:published"
	expect "$d: no stray key files (the losing job's keys discarded)" \
		"$(find "$KEYS/$d" -type f -name '*.pem' | sort | tr '\n' ' ')" "$(kj $d '" ".join(sorted(x["private_key"] for x in k))') "
done
res=""
for _ in 1 2 3 4; do res="$res $(ctlat $((N + 62 * DAY)) maintain --max-keys 2 --json | jx '"%d/%s" % (d["published"], d["more_due"])' 2>&1)"; done
expect "maintain --max-keys 2: six due keys take three runs; more_due true only while keys remain due" "$res" " 2/True 2/True 2/False 0/False"

# =====================================================================
part p4 --ttl-dkim $HOLD --rotation-days 0
N=$(date +%s) V=v4.example S=s5.example
ctlat $N domain add $V --tenant acme --algorithm rsa-2048 >/dev/null
ctlat $N domain add $S --tenant acme --algorithm ed25519 >/dev/null
W=w4.example
ctlat $N domain add $W --tenant acme --algorithm ed25519 --slots 2 >/dev/null
customer_zone $V; customer_zone $S; customer_zone $W
VT=$(token $V)
start_dnsd --zone "$T/$V.zone" --zone "$T/$S.zone" --zone "$T/$W.zone" || finish
msg $V "$T/v.msg"
sign rsa-2048 $V esp1 "$(kj $V 'K("esp1")["private_key"]')" "$T/v.msg" "$T/V1"
expect "$V: M1 verifies" "$(vfy "$T/V1")" "True rsa 2048 via esp1.$VT.dkim.$ZONE."
EXP="$T/p4/exports"
T4=$((N + 100))
out=$(ctlat $T4 key revoke $V esp1 --reason test); rc=$?
expect "key revoke $V esp1 --reason test: exit 0" "$rc" 0
echo "$out" | sed 's/^/    | /'
expect_match "key revoke prints the window (until published + hold)" "$out" "until $(iso $((T4 + HOLD)))"
expect "$V: key 1 revoked, a new key active at once in esp2" "$(kj $V 'states()')" "esp1:revoked esp2:active"
expect "$V: the replacement activated at the revoke" "$(kj $V 'ts(K("esp2")["activated"])')" "$T4"
expect "exports name the replacement at once" "$(keytable_sels "$EXP" $V)" esp2
check "exports match the key list" exports_match "$EXP" $V $S $W
out=$(vfy "$T/V1" --until False --within 1.5)
expect_match "M1 (revoked key) fails within ~1 s" "$out" "^False: .*(revoked|missing public key|public key \\(b''\\))"
expect_match "dnsd serves esp1 as p=" "$(txt esp1._domainkey.$V)" '^v=DKIM1;( k=[a-z0-9]+;)? p=$'
sign rsa-2048 $V esp2 "$(kj $V 'K("esp2")["private_key"]')" "$T/v.msg" "$T/V2"
expect "mail signed with the replacement verifies (within 1.5 s)" \
	"$(vfy "$T/V2" --until True --within 1.5 | head -1)" "True rsa 2048 via esp2.$VT.dkim.$ZONE."
h=$(ctl domain history $V --json)
expect "history: revoked, cause emergency revoke: test" \
	"$(echo "$h" | jx '[e["cause"] for e in d["events"] if e["event"] == "revoked"][0]')" "emergency revoke: test"
expect_match "history: the replacement activated, replacing key 1 (emergency)" \
	"$(echo "$h" | jx '[e["cause"] for e in d["events"] if e["event"] == "activated" and e["selector"] == "esp2"][0]')" "replaces key $(kj $V 'K("esp1")["id"]').*emergency"
# With a key published and waiting, that key is the replacement (no new key).
check "key rotate $V: key 3 published" ctlat $((T4 + 10)) key rotate $V
K3=$(kj $V '[x["id"] for x in k if x["state"] == "published"]')
S3=$(kj $V '[x["selector"] for x in k if x["state"] == "published"][0]')
out=$(ctlat $((T4 + 20)) key revoke $V esp2 --reason test2); rc=$?
expect "key revoke of the active key with a key waiting: exit 0" "$rc" 0
expect_match "the window runs from the waiting key's publication" "$out" "until $(iso $((T4 + 10 + HOLD)))"
expect "the waiting key became the active one, no new key" "$(kj $V '[x["id"] for x in k if x["state"] == "active"]') $(kj $V 'len(k)')" "$K3 3"
expect "exports name it at once" "$(keytable_sels "$EXP" $V)" "$S3"
check "domain add gone.example, then domain remove it" sh -c "DNSD_NOW=$((T4 + 30)) $DNSDCTL --db $DB --keys $KEYS domain add gone.example --tenant acme --algorithm ed25519 >/dev/null && DNSD_NOW=$((T4 + 31)) $DNSDCTL --db $DB --keys $KEYS domain remove gone.example >/dev/null"
expect "a removed domain leaves the exports at once" "$(keytable_sels "$EXP" gone.example)" ""
check "exports match the remaining domains" exports_match "$EXP" $V $S $W

# =====================================================================
echo "# p5 (ineligible slots, in p4's store)"
T5=$((N + 1000))
check "key rotate $S: esp2 published" ctlat $T5 key rotate $S
check "slot set $S esp2 --eligible no" ctlat $T5 slot set $S esp2 --eligible no
out=$(ctlat $((T5 + HOLD)) maintain); rc=$?
expect "maintain after the hold: exit 0" "$rc" 0
expect "a published key in an ineligible slot is not activated" "$(kj $S 'states()')" "esp1:active esp2:published"
expect_match "maintain says why" "$out" "$S esp2.*(eligible)"
check "slot set $S esp2 --eligible yes" ctlat $((T5 + HOLD)) slot set $S esp2 --eligible yes
ctlat $((T5 + HOLD + 1)) maintain >/dev/null
expect "eligible again: the job activates it" "$(kj $S 'states()')" "esp1:retired esp2:active"
check "slot set $S esp3 (the only free slot) --eligible no" ctlat $((T5 + HOLD + 2)) slot set $S esp3 --eligible no
snapshot "$T/snap.before"
out=$(ctlat $((T5 + HOLD + 3)) key rotate $S 2>&1); rc=$?
snapshot "$T/snap.after"
check "key rotate with no free eligible slot fails" test "$rc" -ne 0
expect_match "it says why (no free eligible slot)" "$out" "eligible"
check "and changes nothing (store, key directory)" cmp -s "$T/snap.before" "$T/snap.after"
out=$(ctlat $((T5 + HOLD + 4)) key revoke $S esp2 --reason test3); rc=$?
expect "key revoke of $S's active key, the free slot ineligible: exit 0" "$rc" 0
echo "$out" | sed 's/^/    | /'
expect "the replacement goes to the retired key's slot, never the ineligible free one" "$(kj $S 'states()')" "esp1:revoked esp2:revoked esp1:active"

echo "# p4b (emergency revoke with no free slot, in p4's store)"
WT=$(token $W)
TW=$((N + 3000))
check "key rotate $W (2 slots)" ctlat $TW key rotate $W
ctlat $((TW + HOLD)) maintain >/dev/null
expect "$W: esp1 retired, esp2 active: no free slot" "$(kj $W 'states()')" "esp1:retired esp2:active"
out=$(ctlat $((TW + HOLD + 10)) key revoke $W esp2 --reason full); rc=$?
expect "key revoke $W esp2 with no free slot: exit 0" "$rc" 0
echo "$out" | sed 's/^/    | /'
expect "the replacement takes the retired key's slot (esp1), which is revoked too" "$(kj $W 'states()')" "esp1:revoked esp2:revoked esp1:active"
expect_match "the window: until now + hold (esp1 served the retired key until now)" "$out" "until $(iso $((TW + HOLD + 10 + HOLD)))"
expect_match "history: the retired key's revocation says why" \
	"$(ctl domain history $W --json | jx '[e["cause"] for e in d["events"] if e["event"] == "revoked" and e["selector"] == "esp1"][0]')" "slot"
expect "exports name esp1 at once" "$(keytable_sels "$EXP" $W)" esp1
WP=$(kj $W '[x["private_key"] for x in k if x["state"] == "active"][0]')
expect "the replacement's key file is named after its slot (esp1-...), like every other key file" "$(basename "$WP" | cut -d- -f1)" esp1
msg $W "$T/w.msg"
sign ed25519 $W esp1 "$WP" "$T/w.msg" "$T/W3"
expect "mail signed with the replacement verifies" "$(vfy "$T/W3" --until True --within 1.5 | head -1)" "True ed25519 256 via esp1.$WT.dkim.$ZONE."

# =====================================================================
part p6 --ttl-dkim $HOLD --rotation-days 0
N=$(date +%s) I=i6.example J6=j6.example
ctlat $N domain add $I --tenant acme --algorithm rsa-2048 --ed25519 yes >/dev/null
ctlat $N domain add $J6 --tenant acme --algorithm rsa-2048 >/dev/null
customer_zone $I; customer_zone $J6
IT=$(token $I) JT=$(token $J6)
start_dnsd --zone "$T/$I.zone" --zone "$T/$J6.zone" || finish
EXP="$T/p6/exports"
openssl genrsa -out "$T/rsa8.pem" 2048 2>/dev/null                 # PKCS#8 (OpenSSL 3)
openssl genrsa -traditional -out "$T/rsa1.pem" 2048 2>/dev/null    # PKCS#1
openssl genrsa -out "$T/rsa768.pem" 768 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
head -c 600 /dev/urandom | base64 | sed '1i -----BEGIN PRIVATE KEY-----' | sed '$a -----END PRIVATE KEY-----' >"$T/garbage.pem"
expect "test keys: PKCS#8 and PKCS#1 RSA" "$(head -1 "$T/rsa8.pem") / $(head -1 "$T/rsa1.pem")" \
	"-----BEGIN PRIVATE KEY----- / -----BEGIN RSA PRIVATE KEY-----"
TI=$((N + 50))
out=$(ctlat $TI key import $I --file "$T/rsa8.pem"); rc=$?
expect "key import $I (openssl genrsa 2048): exit 0" "$rc" 0
expect "imported key published in the first free slot, rsa-2048" "$(kj $I '[st("esp2"), K("esp2")["algorithm"]]')" "['published', 'rsa-2048']"
IP=$(kj $I 'K("esp2")["private_key"]')
check "the key was copied into the key directory" test "${IP#"$KEYS"/}" != "$IP"
expect "the copy is mode 0600" "$(stat -c %a "$IP")" 600
check "the copy is the same key" test "$(pubkey "$IP")" = "$(pubkey "$T/rsa8.pem")"
expect "history: imported, published (key import)" \
	"$(ctl domain history $I --json | jx '",".join(e["event"] + ":" + e["cause"] for e in d["events"] if e["selector"] == "esp2")')" \
	"imported:key import,published:key import"
msg $I "$T/i.msg"
sign rsa-2048 $I esp2 "$T/rsa8.pem" "$T/i.msg" "$T/I2"
expect "mail signed with the ORIGINAL file verifies through dnsd" "$(vfy "$T/I2" --until True --within 1.5 | head -1)" "True rsa 2048 via esp2.$IT.dkim.$ZONE."
ctlat $((TI + HOLD - 1)) maintain >/dev/null
expect "not active before the hold" "$(kj $I 'st("esp2")')" published
ctlat $((TI + HOLD)) maintain >/dev/null
expect "the job activates the imported key after the hold" "$(kj $I '[st("esp1"), st("esp2")]')" "['retired', 'active']"
check "exports name the imported key's copy" exports_match "$EXP" $I $J6
expect "KeyTable: $I esp2 -> the copy" "$(grep "^esp2._domainkey.$I " "$EXP/KeyTable")" "esp2._domainkey.$I $I:esp2:$IP"
out=$(ctlat $((TI + HOLD + 10)) key import $I --file "$T/ed.pem" --active yes); rc=$?
expect "key import $I (openssl genpkey ed25519) --active yes: exit 0" "$rc" 0
expect "the Ed25519 key goes to the pair, active at once; the old one retires" "$(kj $I '[st("esp-ed1"), st("esp-ed2"), K("esp-ed2")["algorithm"]]')" \
	"['retired', 'active', 'ed25519']"
expect "exports name it at once" "$(keytable_sels "$EXP" $I)" "esp2 esp-ed2"
sign ed25519 $I esp-ed2 "$T/ed.pem" "$T/i.msg" "$T/I3"
expect "mail signed with the ORIGINAL Ed25519 file verifies" "$(vfy "$T/I3" --until True --within 1.5 | head -1)" "True ed25519 256 via esp-ed2.$IT.dkim.$ZONE."
out=$(ctlat $((TI + HOLD + 20)) key import $J6 --file "$T/rsa1.pem" --selector esp3 --active yes); rc=$?
expect "key import $J6 (PKCS#1) --selector esp3 --active yes: exit 0" "$rc" 0
expect "$J6: esp3 active at once, esp1 retired" "$(kj $J6 'states()')" "esp1:retired esp3:active"
msg $J6 "$T/j.msg"
sign rsa-2048 $J6 esp3 "$T/rsa1.pem" "$T/j.msg" "$T/J3"
expect "mail signed with the original PKCS#1 file verifies" "$(vfy "$T/J3" --until True --within 1.5 | head -1)" "True rsa 2048 via esp3.$JT.dkim.$ZONE."
# refusals: nothing changes
for c in "rsa768.pem:768-bit.*at least 1024 bits" "garbage.pem:not hold an unencrypted PEM private key" "rsa8.pem --selector esp3:esp3 already holds key"; do
	f=${c%%:*} phrase=${c#*:}
	snapshot "$T/snap.before"; cp -a "$EXP" "$T/exp.before"
	# shellcheck disable=SC2086
	out=$(ctlat $((TI + HOLD + 30)) key import $J6 --file "$T/"$f 2>&1); rc=$?
	snapshot "$T/snap.after"
	check "key import $J6 $f is refused" test "$rc" -ne 0
	expect_match "key import $f: says why" "$out" "$phrase"
	echo "$out" | sed 's/^/    | /'
	check "key import $f: nothing changed (store, key directory)" cmp -s "$T/snap.before" "$T/snap.after"
	check "key import $f: exports unchanged" diff -r -x ".*" "$T/exp.before" "$EXP"
	rm -rf "$T/exp.before"
done
expect "$J6: key list unchanged by the refusals" "$(kj $J6 'states()')" "esp1:retired esp3:active"
openssl genpkey -algorithm ed25519 -out "$T/ed2.pem" 2>/dev/null
check "key import $J6 (Ed25519, domain without the pair)" ctlat $((TI + HOLD + 40)) key import $J6 --file "$T/ed2.pem"
expect "without the pair, an Ed25519 key goes to a free main slot" "$(kj $J6 '[(x["selector"], x["role"], x["algorithm"], x["state"]) for x in k if x["state"] == "published"]')" \
	"[('esp2', 'main', 'ed25519', 'published')]"
openssl genrsa -out "$T/rsa1024.pem" 1024 2>/dev/null
check "key import $I of a 1024-bit RSA key (the minimum) is accepted" ctlat $((TI + HOLD + 40)) key import $I --file "$T/rsa1024.pem"
expect "it is published as rsa-1024" "$(kj $I '[x["algorithm"] for x in k if x["state"] == "published"]')" "['rsa-1024']"

# =====================================================================
part p7 --ttl-dkim $HOLD --rotation-days 0
N=$(date +%s)
BS="b1.example b2.example b3.example b4.example b5.example b6.example"
for d in $BS; do ctlat $N domain add $d --tenant acme --algorithm ed25519 >/dev/null; done
expect "rotation-days 0: no key is due by age (rotate_due null)" \
	"$(for d in $BS; do kj $d 'K("esp1")["rotate_due"]'; done | sort -u)" None
out=$(ctlat $N key rotate --all --older-than 1 --over 2); rc=$?
expect "key rotate --all --older-than 1: keys 0 days old are not scheduled" \
	"$(for d in $BS; do kj $d 'K("esp1")["rotate_due"]'; done | sort -u) rc=$rc" "None rc=0"
out=$(ctlat $N key rotate --all --over 2); rc=$?
expect "key rotate --all --over 2: exit 0" "$rc" 0
expect_match "it says how many and over which window" "$out" "^6 key.*$(iso $N).*$(iso $((N + 7200)))"
declare -A DUE
for d in $BS; do DUE[$d]=$(kj $d 'ts(K("esp1")["rotate_due"])'); echo "${DUE[$d]}"; done >"$T/due"
expect "each key got a rotate_due within the 2 hours" "$(awk -v a=$N -v b=$((N + 7200)) '$1 >= a && $1 <= b' "$T/due" | wc -l)" 6
expect "the rotate_due times are all different" "$(sort -u "$T/due" | wc -l)" 6
expect "they spread over the window (last - first >= 1 h)" "$(sort -n "$T/due" | awk 'NR==1{a=$1} {b=$1} END {print (b - a >= 3600)}')" 1
prog=""
for s in 0 1800 3600 5400 7200; do
	ctlat $((N + s)) maintain >/dev/null
	prog="$prog $(for d in $BS; do kj $d 'len(k) - 1'; done | awk '{n += $1} END {print n}')"
done
echo "    new keys after each run (every 30 min):$prog"
expect "all six published by the end of the window" "${prog##* }" 6
expect "published progressively (at least 3 distinct counts over the walk)" "$(echo $prog | tr ' ' '\n' | sort -u | wc -l | awk '{print ($1 >= 3)}')" 1
for d in $BS; do
	expect "$d: the new key was published at or after its rotate_due, within one run" \
		"$(kj $d '[ts(x["published"]) for x in k if x["id"] == max(y["id"] for y in k)][0]' | awk -v due="${DUE[$d]}" '{print ($1 >= due && $1 < due + 1800)}')" 1
done
expect_match "history: scheduled rotation" \
	"$(ctl domain history b1.example --json | jx '[e["cause"] for e in d["events"] if e["selector"] == "esp2" and e["event"] == "published"][0]')" "scheduled rotation"

# =====================================================================
part p8 --ttl-dkim $HOLD --rotation-days 0
N=$(date +%s) NS8=n8.example
ctlat $N domain add $NS8 --tenant acme --algorithm ed25519 >/dev/null
start_dnsd || finish
CLOSED=$("$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
check "ns add primary 127.0.0.1:$PORT (dnsd)" ctl ns add primary 127.0.0.1:$PORT
check "ns add secondary [::1]:$PORT6 (dnsd over IPv6)" ctl ns add secondary "[::1]:$PORT6"
check "key rotate $NS8" ctlat $((N + 10)) key rotate $NS8
PS=$(kj $NS8 'K("esp2")["published_serial"]')
soa_serial() { q $ZONE SOA | awk '{print $3}'; }
serves_serial() { [ "$(soa_serial)" -ge "$PS" ] 2>/dev/null; }
wait_for "dnsd serves the serial the key was published at ($PS)" 2 serves_serial
out=$(ctlat $((N + 10 + HOLD)) maintain); rc=$?
expect "maintain with both name servers serving it: exit 0" "$rc" 0
expect "activated once every name server serves the serial" "$(kj $NS8 'states()')" "esp1:retired esp2:active"
nl=$(ctl ns list --json)
expect "ns list: both report a serial >= the key's, no error" \
	"$(echo "$nl" | jx '[(n["name"], n["serial"] >= '"$PS"', n["error"]) for n in sorted(d, key=lambda n: n["name"])]' 2>&1)" \
	"[('primary', True, None), ('secondary', True, None)]"
# A lagging secondary: a second dnsd serving a copy of the store as it is now.
sqlite3 "$DB" ".backup '$T/lag.db'"
"$DNSD" --db "$T/lag.db" --zone "$ZONEFILE" --listen 127.0.0.1:0 --ready-file "$T/lag.ready" --poll 100 --rrl-rate 0 2>>"$T/dnsd.log" &
LAG_PID=$!
for _ in $(seq 1 100); do [ -s "$T/lag.ready" ] && break; sleep 0.05; done
LAG_PORT=$(sed -n 1p "$T/lag.ready" | sed 's/.*://')
check "ns add lagging 127.0.0.1:$LAG_PORT (a dnsd on a copy of the store)" ctl ns add lagging 127.0.0.1:$LAG_PORT
T8=$((N + 1000))
check "key rotate $NS8 (key 3)" ctlat $T8 key rotate $NS8
PS=$(kj $NS8 'K("esp3")["published_serial"]')
wait_for "dnsd serves key 3's serial" 2 serves_serial
out=$(ctlat $((T8 + HOLD)) maintain); rc=$?
expect "maintain with a lagging name server: exit 0" "$rc" 0
echo "$out" | sed 's/^/    | /'
expect "a due key is NOT activated while a name server serves an older serial" "$(kj $NS8 'st("esp3")')" published
expect_match "maintain says why (names the lagging server)" "$out" "lagging"
expect "ns list: lagging reports its (older) serial, no error" \
	"$(ctl ns list --json | jx '[(n["serial"] is not None and n["serial"] < '"$PS"', n["error"]) for n in d if n["name"] == "lagging"][0]' 2>&1)" "(True, None)"
expect "ns list: lagging has a lag, primary none" \
	"$(ctl ns list --json | jx '[(n["name"], n["lag_seconds"] > 0) for n in sorted(d, key=lambda n: n["name"])]' 2>&1)" \
	"[('lagging', True), ('primary', False), ('secondary', False)]"
expect_match "ns list: the table says how far behind" "$(ctl ns list | grep '^lagging')" ' [0-9]+s behind '
expect_match "status: how many name servers serve the store's serial" "$(ctl status)" \
	"name servers: 3, 2 serving the store's serial"
check "ns check: asks them all again" ctl ns check
expect_match "ns check: primary current" "$(ctl ns list | grep '^primary')" ' current '
check "ns remove lagging" ctl ns remove lagging
kill "$LAG_PID"; wait "$LAG_PID"
expect "the second dnsd stopped cleanly" "$?" 0
check "ns add dead 127.0.0.1:$CLOSED (nothing listens)" ctl ns add dead 127.0.0.1:$CLOSED
out=$(ctlat $((T8 + HOLD + 1)) maintain); rc=$?
expect "maintain with a dead name server: exit 0" "$rc" 0
echo "$out" | sed 's/^/    | /'
expect "a due key is NOT activated while a name server does not answer" "$(kj $NS8 'st("esp3")')" published
expect_match "maintain says why (names the dead server)" "$out" "dead"
expect_match "ns list: dead has an error" "$(ctl ns list --json | jx '[n["error"] for n in d if n["name"] == "dead"][0]')" '.+'
check "ns remove dead" ctl ns remove dead
ctlat $((T8 + HOLD + 2)) maintain >/dev/null
expect "after ns remove dead, the job activates it" "$(kj $NS8 'states()')" "esp1:retired esp2:retired esp3:active"

finish
