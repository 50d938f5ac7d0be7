#!/bin/bash
# spf: end to end, as a receiver sees it. pyspf checks the envelope sender
# bounce@<rp>.example.com, whose name is the customer's CNAME to T.rp.Z; every DNS
# lookup goes to dnsd through the stub resolver (resolve.py), which follows the
# CNAME out of the customer's zone into the hosted zone, then the include: into
# the static _spf record of the zone file. A per-domain SPF flips the results
# within a second; the Return-Path name's MX is the platform's bounce host.
. "$(dirname "$0")/lib"
MA="$ROOT/tests/system/mailauth.py"
RES="$ROOT/tests/system/resolve.py"

new_store || { echo "new_store failed"; finish; }
expect "global SPF is the platform include" "$(ctl spf show --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["value"])')" \
	"v=spf1 include:_spf.$ZONE -all"


for d in example.com example.org; do
	check "domain add $d" ctl domain add "$d" --tenant acme
	customer_zone "$d"
done
TOK=$(token example.com)
RP=$(ctl domain show example.com --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["return_path"])')
RPSET=$(sqlite3 "$DB" "SELECT value FROM settings WHERE name = 'return_path'")
expect "return-path label is the store's setting" "$RP" "$RPSET"
check "customer zone has the Return-Path CNAME" grep -Eq "^$RP\.example\.com\. [0-9]+ IN CNAME $TOK\.rp\.$ZONE\.\$" "$T/example.com.zone"
RPNAME=$RP.example.com
SENDER=bounce@$RPNAME

start_dnsd --zone "$T/example.com.zone" --zone "$T/example.org.zone" || finish

spf() { "$PY" "$MA" spf "$PORT" "$1" "$2" mail.example.com 2>&1; }

expect "the Return-Path name is a CNAME in the customer's zone" "$(q "$RPNAME" CNAME)" "$TOK.rp.$ZONE."
expect "stub resolver follows it to the SPF" "$("$PY" "$RES" "$PORT" "$RPNAME" TXT 2>&1)" "v=spf1 include:_spf.$ZONE -all"
expect_match "192.0.2.10 (platform IPv4): pass" "$(spf 192.0.2.10 "$SENDER")" '^pass: '
expect_match "2001:db8::5 (platform IPv6): pass" "$(spf 2001:db8::5 "$SENDER")" '^pass: '
expect_match "198.51.100.7 (not the platform): fail" "$(spf 198.51.100.7 "$SENDER")" '^fail: '
expect_match "192.0.3.1 (just outside the /24): fail" "$(spf 192.0.3.1 "$SENDER")" '^fail: '
# The customer's own domain is not the envelope sender and has no SPF of ours.
expect_match "bare customer domain: none" "$(spf 192.0.2.10 bounce@example.com)" '^none: '

# The Return-Path name's MX: the platform's bounce host, through the CNAME.
expect "MX of $RPNAME is the bounce host" "$("$PY" "$RES" "$PORT" "$RPNAME" MX 2>&1)" "10 bounce.$ZONE."
expect "the bounce host has an address" "$("$PY" "$RES" "$PORT" "bounce.$ZONE" A 2>&1)" "192.0.2.25"

# A per-domain SPF: served within a second, without a restart.
check "spf set --domain example.com" ctl spf set --domain example.com "v=spf1 ip4:198.51.100.7 -all"
expect_match "198.51.100.7 now passes (within 1 s)" \
	"$("$PY" "$MA" spf "$PORT" 198.51.100.7 "$SENDER" mail.example.com --until pass --within 1.0 2>&1)" '^pass: '
expect_match "192.0.2.10 now fails" "$(spf 192.0.2.10 "$SENDER")" '^fail: '
expect_match "2001:db8::5 now fails" "$(spf 2001:db8::5 "$SENDER")" '^fail: '
expect "served SPF is the domain's" "$("$PY" "$RES" "$PORT" "$RPNAME" TXT 2>&1)" "v=spf1 ip4:198.51.100.7 -all"
expect "MX unchanged by the SPF change" "$("$PY" "$RES" "$PORT" "$RPNAME" MX 2>&1)" "10 bounce.$ZONE."
# Another domain of the same tenant keeps the global policy.
expect_match "example.org unaffected: 192.0.2.10 still passes" "$(spf 192.0.2.10 "bounce@$RP.example.org")" '^pass: '
expect_match "example.org unaffected: 198.51.100.7 still fails" "$(spf 198.51.100.7 "bounce@$RP.example.org")" '^fail: '

# Unset: back to the global policy within a second.
check "spf unset --domain example.com" ctl spf unset --domain example.com
expect_match "after unset, 192.0.2.10 passes again (within 1 s)" \
	"$("$PY" "$MA" spf "$PORT" 192.0.2.10 "$SENDER" mail.example.com --until pass --within 1.0 2>&1)" '^pass: '
expect_match "after unset, 198.51.100.7 fails again" "$(spf 198.51.100.7 "$SENDER")" '^fail: '

# dnsd down: the receiver gets a temporary error, never a pass.
stop_dnsd
expect_match "with dnsd stopped: temperror" "$(spf 192.0.2.10 "$SENDER")" '^temperror: '

finish
