#!/bin/bash
# live: the data path (DESIGN.md "The data path"). What dnsdctl commits is answered
# within one second by the running dnsd, with a SOA serial that moves with each change
# and never goes back; SPF/MX/DMARC precedence (domain over tenant over global);
# removal, then purge after the retention period; and no half-applied change seen by
# a resolver while dnsdctl writes in a loop.
. "$(dirname "$0")/lib"

RETENTION=7
cp "$ZONEFILE" "$T/demo.zone"
ZONEFILE="$T/demo.zone" # a copy, changed below for the SIGHUP reload
printf 'zone-file %s\n' "$ZONEFILE" >"$T/dnsdctl.conf" # the writers read the same file
new_store --retention-days "$RETENTION"
ctl tenant add beta >/dev/null
ctl domain add example.com --tenant acme >/dev/null
ctl domain add other.example --tenant beta --algorithm ed25519 >/dev/null
TOK=$(token example.com) OTOK=$(token other.example)
mkdir -p "$T/state"
start_dnsd --state-dir "$T/state" || finish
START_PID=$DNSD_PID

# answers NAME TYPE WANT: dnsd's answer (dig +short, lines joined by "|") is WANT.
answers() { [ "$(q "$1" "$2" | paste -sd'|')" = "$3" ]; }
# answers_match NAME TYPE REGEX
answers_match() { q "$1" "$2" | paste -sd'|' | grep -Eq -- "$3"; }
# rcode_is NAME TYPE RCODE
rcode_is() { [ "$(status "$1" "$2")" = "$3" ]; }
# The served serial; asked again when no answer came (a sanitizer build on a loaded machine can
# miss dig's timeout once), so a comparison never reads an empty string as a serial.
served_serial() {
	local i s
	for i in 1 2 3 4 5; do
		s=$(dig @127.0.0.1 -p "$PORT" +short +tries=1 +time=2 "$ZONE" SOA | awk '{print $3}')
		case $s in '' | *[!0-9]*) sleep 0.2 ;; *) break ;; esac
	done
	echo "$s"
}
store_serial() { ctl status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["serial"])'; }

# serial_moved WHAT [AHEAD]: the served serial went up since the last change, and is
# the store's (AHEAD 1: one above it, while dnsd serves a zone file that no writer
# has recorded in the store yet).
LAST_SERIAL=$(served_serial)
expect_match "a serial is served" "$LAST_SERIAL" '^[0-9]+$'
expect "at start the served serial is the store's" "$LAST_SERIAL" "$(store_serial)"
serial_moved() {
	local s st
	s=$(served_serial) st=$(store_serial)
	expect "$1: the SOA serial went up" "$(if [ "$s" -gt "$LAST_SERIAL" ]; then echo up; else echo "$LAST_SERIAL -> $s"; fi)" up
	expect "$1: the served serial is the store's${2:+ + $2}" "$s" "$((st + ${2:-0}))"
	LAST_SERIAL=$s
}

G0="v=spf1 include:_spf.$ZONE -all"
expect "before: global SPF at example.com" "$(q "$TOK.rp.$ZONE" TXT)" "\"$G0\""

# domain add
ctl domain add new.example --tenant acme >/dev/null
NTOK=$(token new.example)
wait_for "domain add: its DKIM key answered within 1 s" 1 \
	answers_match "esp1.$NTOK.dkim.$ZONE" TXT '^"v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+" "[A-Za-z0-9+/=]+"$'
check "domain add: its SPF answered" answers "$NTOK.rp.$ZONE" TXT "\"$G0\""
check "domain add: its _report._dmarc answered" answers "new.example._report._dmarc.$ZONE" TXT '"v=DMARC1"'
serial_moved "domain add"

# global SPF
G1="v=spf1 include:_spf.$ZONE ip4:198.51.100.7 -all"
ctl spf set "$G1" >/dev/null
wait_for "global spf set: answered within 1 s" 1 answers "$TOK.rp.$ZONE" TXT "\"$G1\""
check "global spf set: other tenants' domains too" answers "$OTOK.rp.$ZONE" TXT "\"$G1\""
serial_moved "global spf set"

# tenant SPF overrides global
TB="v=spf1 ip4:203.0.113.1 -all"
ctl spf set --tenant beta "$TB" >/dev/null
wait_for "tenant spf set: the tenant's domain answers it within 1 s" 1 answers "$OTOK.rp.$ZONE" TXT "\"$TB\""
check "tenant spf set: another tenant's domain keeps the global one" answers "$TOK.rp.$ZONE" TXT "\"$G1\""
serial_moved "tenant spf set"

# domain SPF overrides tenant
DO="v=spf1 ip4:203.0.113.99 -all"
ctl spf set --domain other.example "$DO" >/dev/null
wait_for "domain spf set: overrides the tenant's within 1 s" 1 answers "$OTOK.rp.$ZONE" TXT "\"$DO\""
serial_moved "domain spf set"

# a global change does not reach a domain with a tenant policy
G2="v=spf1 include:_spf.$ZONE ip4:198.51.100.8 -all"
ctl spf set "$G2" >/dev/null
wait_for "global spf set again: answered within 1 s" 1 answers "$TOK.rp.$ZONE" TXT "\"$G2\""
check "global spf set again: the domain-level SPF still wins" answers "$OTOK.rp.$ZONE" TXT "\"$DO\""
serial_moved "global spf set again"

# unset --domain falls back to the tenant's
ctl spf unset --domain other.example >/dev/null
wait_for "spf unset --domain: falls back to the tenant's within 1 s" 1 answers "$OTOK.rp.$ZONE" TXT "\"$TB\""
serial_moved "spf unset --domain"
ctl spf unset --tenant beta >/dev/null
wait_for "spf unset --tenant: falls back to the global within 1 s" 1 answers "$OTOK.rp.$ZONE" TXT "\"$G2\""
serial_moved "spf unset --tenant"

# DMARC
D1="v=DMARC1; p=quarantine; rua=mailto:dmarc@$ZONE"
ctl dmarc set --domain example.com "$D1" >/dev/null
wait_for "dmarc set --domain: answered within 1 s" 1 answers "$TOK.dmarc.$ZONE" TXT "\"$D1\""
check "dmarc set --domain: other domains keep the global" \
	answers "$NTOK.dmarc.$ZONE" TXT "\"v=DMARC1; p=none; rua=mailto:dmarc@$ZONE\""
serial_moved "dmarc set --domain"
D2="v=DMARC1; p=reject; rua=mailto:dmarc@$ZONE"
ctl dmarc set "$D2" >/dev/null
wait_for "dmarc set (global): answered within 1 s" 1 answers "$NTOK.dmarc.$ZONE" TXT "\"$D2\""
check "dmarc set (global): the domain-level one still wins" answers "$TOK.dmarc.$ZONE" TXT "\"$D1\""
serial_moved "dmarc set (global)"

# MX
ctl mx set --domain example.com "10 mx1.$ZONE., 20 mx2.$ZONE." >/dev/null
wait_for "mx set --domain: both MX answered within 1 s" 1 \
	answers "$TOK.rp.$ZONE" MX "10 mx1.$ZONE.|20 mx2.$ZONE."
check "mx set --domain: other domains keep the global MX" answers "$NTOK.rp.$ZONE" MX "10 bounce.$ZONE."
serial_moved "mx set --domain"
ctl mx set --tenant beta "5 mxb.$ZONE." >/dev/null
wait_for "mx set --tenant: answered within 1 s" 1 answers "$OTOK.rp.$ZONE" MX "5 mxb.$ZONE."
serial_moved "mx set --tenant"

# domain remove: DKIM names answer the revoked key, then NXDOMAIN after the retention
ctl domain remove example.com >/dev/null
wait_for "domain remove: esp1 answers v=DKIM1; p= within 1 s" 1 answers "esp1.$TOK.dkim.$ZONE" TXT '"v=DKIM1; p="'
for sel in esp2 esp3; do
	check "domain remove: $sel answers v=DKIM1; p=" answers "$sel.$TOK.dkim.$ZONE" TXT '"v=DKIM1; p="'
done
check "domain remove: its token's dkim node is still an empty non-terminal" rcode_is "$TOK.dkim.$ZONE" TXT NOERROR
serial_moved "domain remove"
ctl maintain >/dev/null
check "maintain now: the removed domain still answers p=" answers "esp1.$TOK.dkim.$ZONE" TXT '"v=DKIM1; p="'
LATER=$(($(date +%s) + (RETENTION + 1) * 86400))
DNSD_NOW=$LATER ctl maintain >/dev/null
wait_for "maintain after the retention: esp1 NXDOMAIN within 1 s" 1 rcode_is "esp1.$TOK.dkim.$ZONE" TXT NXDOMAIN
check "maintain after the retention: the token's dkim node NXDOMAIN" rcode_is "$TOK.dkim.$ZONE" TXT NXDOMAIN
check "maintain after the retention: other domains unchanged" answers_match "esp1.$NTOK.dkim.$ZONE" TXT '^"v=DKIM1; k=rsa; p=MII'
serial_moved "maintain after the retention"
# the token is never reused: the same domain added again gets a new one
ctl domain add example.com --tenant beta --algorithm ed25519 >/dev/null
TOK2=$(token example.com)
check "domain re-added: a new token" test "$TOK2" != "$TOK"
wait_for "domain re-added: answered within 1 s" 1 answers_match "esp1.$TOK2.dkim.$ZONE" TXT '^"v=DKIM1; k=ed25519; p='
check "domain re-added: the old token's names stay NXDOMAIN" rcode_is "esp1.$TOK.dkim.$ZONE" TXT NXDOMAIN
serial_moved "domain re-added"

# No half change: dnsdctl writes in two loops while a resolver asks in a third.
X=other.example
ctl spf set --domain "$X" "v=spf1 ip4:192.0.2.0 -all" >/dev/null
wait_for "churn: the starting SPF answered" 1 answers "$OTOK.rp.$ZONE" TXT '"v=spf1 ip4:192.0.2.0 -all"'
: >"$T/churn.tokens"
rm -f "$T/spf.done" "$T/dom.done"
(
	rc=0
	for n in $(seq 1 40); do
		ctl spf set --domain "$X" "v=spf1 ip4:192.0.2.$n -all" >/dev/null || rc=1
		sleep 0.03 # pacing, so that dnsd's polls fall between writes
	done
	echo "$rc" >"$T/spf.done"
) &
SPF_PID=$!
(
	rc=0
	for n in $(seq 1 10); do
		ctl domain add "churn$n.example" --tenant acme --algorithm ed25519 >/dev/null || rc=1
		token "churn$n.example" >>"$T/churn.tokens" || rc=1
		sleep 0.05
		ctl domain remove "churn$n.example" >/dev/null || rc=1
		sleep 0.05
	done
	echo "$rc" >"$T/dom.done"
) &
DOM_PID=$!
cat >"$T/watch.py" <<'EOF'
# The resolver's view while dnsdctl writes: every answer must be one of the valid
# states, negative answers carry the SOA, the serial and each name's state never go
# back. Prints one line per problem, then a summary line "queries=N".
import base64, os, re, sys, time
import dns.flags, dns.message, dns.query, dns.rcode, dns.rdatatype
port, zone, spfname, tokfile, stopfiles = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
SPF = re.compile(r"^v=spf1 ip4:192\.0\.2\.([0-9]+) -all$")
ED = re.compile(r"^v=DKIM1; k=ed25519; p=([A-Za-z0-9+/]{43}=)$")
problems, n, last_serial, last_spf, state = [], 0, 0, -1, {}

def ask(name, rdtype, tcp=False):
    global n
    n += 1
    q = dns.message.make_query(name, rdtype, use_edns=True, payload=1232)
    try:
        f = dns.query.tcp if tcp else dns.query.udp
        return f(q, "127.0.0.1", port=port, timeout=1.0)
    except Exception as e:
        problems.append("%s %s: %s" % (name, rdtype, e.__class__.__name__))
        return None

def check_common(name, r):
    """Returns the TXT strings (joined) or None for a negative answer."""
    if not r.flags & dns.flags.AA:
        problems.append("%s: no AA" % name)
    rc = r.rcode()
    if rc not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        problems.append("%s: %s" % (name, dns.rcode.to_text(rc)))
        return "bad"
    if not r.answer:
        soa = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
        if len(soa) != 1 or len(soa[0]) != 1:
            problems.append("%s: negative answer without the SOA" % name)
        else:
            see_serial(name, soa[0][0].serial)
        return "NXDOMAIN" if rc == dns.rcode.NXDOMAIN else "NODATA"
    if rc != dns.rcode.NOERROR:
        problems.append("%s: NXDOMAIN with an answer" % name)
    if len(r.answer) != 1 or len(r.answer[0]) != 1:
        problems.append("%s: %d RRsets, %s records" % (name, len(r.answer), [len(a) for a in r.answer]))
        return "bad"
    return b"".join(r.answer[0][0].strings).decode()

def see_serial(name, s):
    global last_serial
    if s < last_serial:
        problems.append("%s: serial went back %d -> %d" % (name, last_serial, s))
    last_serial = max(last_serial, s)

ORDER = {"NXDOMAIN": 0, "key": 1, "revoked": 2}
deadline = time.time() + 15
while time.time() < deadline:
    done = all(os.path.exists(f) for f in stopfiles)
    r = ask(zone, "SOA", tcp=(n % 7 == 0))
    if r and r.answer:
        see_serial(zone, r.answer[0][0].serial)
    r = ask(spfname, "TXT", tcp=(n % 5 == 0))
    if r:
        v = check_common(spfname, r)
        m = SPF.match(v) if v not in ("bad", "NXDOMAIN", "NODATA") else None
        if not m:
            problems.append("%s: not a valid SPF: %r" % (spfname, v))
        else:
            k = int(m.group(1))
            if k < last_spf:
                problems.append("%s: SPF went back from .%d to .%d" % (spfname, last_spf, k))
            last_spf = max(last_spf, k)
    toks = [t for t in open(tokfile).read().split() if t]
    for t in toks[-2:]:
        for sel in ("esp1", "esp2"):
            name = "%s.%s.dkim.%s" % (sel, t, zone)
            r = ask(name, "TXT")
            if not r:
                continue
            v = check_common(name, r)
            if v == "NXDOMAIN":
                st = "NXDOMAIN"
            elif v == "v=DKIM1; p=":
                st = "revoked" if sel == "esp1" else "key"  # esp2 is an empty slot: p= from the start
            elif sel == "esp1" and ED.match(v) and len(base64.b64decode(ED.match(v).group(1))) == 32:
                st = "key"
            else:
                problems.append("%s: not a valid state: %r" % (name, v))
                continue
            if ORDER[st] < ORDER.get(state.get(name), -1):
                problems.append("%s: went back from %s to %s" % (name, state[name], st))
            state[name] = st if ORDER[st] >= ORDER.get(state.get(name), -1) else state[name]
    if done:
        break
seen = {}
for p in problems:
    seen[p] = seen.get(p, 0) + 1
print("\n".join("%s (x%d)" % (p, c) for p, c in list(seen.items())[:15]))
print("queries=%d problems=%d spf_last=%d names=%d" % (n, len(problems), last_spf, len(state)))
EOF
START=$(date +%s)
watch=$("$PY" "$T/watch.py" "$PORT" "$ZONE" "$OTOK.rp.$ZONE" "$T/churn.tokens" "$T/spf.done" "$T/dom.done")
wait "$SPF_PID" "$DOM_PID"
echo "    churn took $(($(date +%s) - START)) s: $(printf '%s\n' "$watch" | tail -n 1)"
expect "churn: the spf loop's 40 writes all committed" "$(cat "$T/spf.done" 2>/dev/null)" 0
expect "churn: the domain add/remove loop's writes all committed" "$(cat "$T/dom.done" 2>/dev/null)" 0
expect "churn: no invalid, half-applied or backward answer" "$(printf '%s\n' "$watch" | sed '$d')" ""
n=$(printf '%s\n' "$watch" | tail -n 1 | sed -n 's/^queries=\([0-9]*\) .*/\1/p')
check "churn: the resolver asked at least 300 questions ($n)" test "${n:-0}" -ge 300
wait_for "churn: the last SPF written is answered within 1 s" 1 answers "$OTOK.rp.$ZONE" TXT '"v=spf1 ip4:192.0.2.40 -all"'
bad=""
while read -r t; do answers "esp1.$t.dkim.$ZONE" TXT '"v=DKIM1; p="' || bad="$bad $t"; done <"$T/churn.tokens"
expect "churn: every removed domain's key answers p=" "$bad" ""
serial_moved "churn"

check "dnsd was never restarted" test "$DNSD_PID" = "$START_PID"
check "dnsd still runs" kill -0 "$DNSD_PID"

# A zone-file reload (SIGHUP) that changes content moves the serial too.
printf 'reloaded IN TXT "yes"\n' >>"$ZONEFILE"
ST0=$(store_serial)
kill -HUP "$DNSD_PID"
wait_for "SIGHUP: the zone file's new record answered within 1 s" 1 answers "reloaded.$ZONE" TXT '"yes"'
serial_moved "SIGHUP reload with new content" 1
expect "SIGHUP: dnsd wrote nothing to the store (its serial stayed)" "$(store_serial)" "$ST0"
# The writers' next batch records the edited file: the store's serial takes the one
# dnsd served, and what comes after is the store's own.
ctl spf set --domain other.example "v=spf1 ip4:192.0.2.41 -all" >/dev/null
wait_for "after the next batch: its change is served within 1 s" 1 answers "$OTOK.rp.$ZONE" TXT '"v=spf1 ip4:192.0.2.41 -all"'
serial_moved "the next batch, which records the zone file"
check "the store's serial moved past the one served for the zone file" test "$(store_serial)" -gt "$((ST0 + 1))"
expect "dnsd's state holds no offset" "$(sed -n 's/^offset //p' "$T/state/serial")" 0
check "SIGHUP: the store's names still answered" answers "$OTOK.rp.$ZONE" TXT '"v=spf1 ip4:192.0.2.41 -all"'
expect "dnsd logged no error or warning" "$(grep -E ' dnsd (error|warning): ' "$T/dnsd.log")" ""

# A reload with a name under a dynamic subtree is refused; the old data stays served.
cp "$ZONEFILE" "$T/good.zone"
printf 'foo.dkim IN TXT "x"\nalso IN TXT "x"\n' >>"$ZONEFILE"
: >"$T/dnsd.log"
kill -HUP "$DNSD_PID"
wait_for "bad SIGHUP reload: refused in the log, naming the name" 1 grep -q "foo\.dkim\.$ZONE" "$T/dnsd.log"
check "bad SIGHUP reload: nothing of it is served" rcode_is "also.$ZONE" TXT NXDOMAIN
check "bad SIGHUP reload: the previous zone data still served" answers "reloaded.$ZONE" TXT '"yes"'
expect "bad SIGHUP reload: the serial did not move" "$(served_serial)" "$LAST_SERIAL"
cp "$T/good.zone" "$ZONEFILE"

# The serial never goes back: not across a restart, not across a rebuilt store.
stop_dnsd
start_dnsd --state-dir "$T/state" || finish
s=$(served_serial)
expect "restart: the serial did not go back" "$(if [ "$s" -ge "$LAST_SERIAL" ]; then echo ok; else echo "$LAST_SERIAL -> $s"; fi)" ok
LAST_SERIAL=$s
# A store restored from an older copy: dnsd serves above the last serial all the same.
stop_dnsd
sqlite3 "$DB" "UPDATE serial SET value = value - 100"
start_dnsd --state-dir "$T/state" || finish
s=$(served_serial)
expect "store serial moved back by 100: the served serial did not go back" \
	"$(if [ "$s" -gt "$LAST_SERIAL" ]; then echo up; else echo "$LAST_SERIAL -> $s"; fi)" up
LAST_SERIAL=$s
# The store's serial never falls below the clock, so a store rebuilt later starts
# above the old one. This file's maintain ran with the test clock days ahead, so the
# rebuild happens on that clock too (a minute later).
stop_dnsd
rm -rf "$DB" "$DB-wal" "$DB-shm" "$KEYS"
DNSD_NOW=$((LAST_SERIAL + 60)) new_store --retention-days "$RETENTION"
start_dnsd --state-dir "$T/state" || finish
s=$(served_serial)
expect "rebuilt store: the serial went up, above the old store's" \
	"$(if [ "$s" -gt "$LAST_SERIAL" ]; then echo up; else echo "$LAST_SERIAL -> $s"; fi)" up
LAST_SERIAL=$s
# A store rebuilt at once (the clock not yet past the old serial) takes --serial.
stop_dnsd
rm -rf "$DB" "$DB-wal" "$DB-shm" "$KEYS"
new_store --retention-days "$RETENTION" --serial $((LAST_SERIAL + 1))
start_dnsd --state-dir "$T/state" || finish
s=$(served_serial)
expect "rebuilt store with init --serial: the serial went up" \
	"$(if [ "$s" -gt "$LAST_SERIAL" ]; then echo up; else echo "$LAST_SERIAL -> $s"; fi)" up
finish
