#!/bin/bash
# alloc: the query path allocates nothing. dnsd (the plain build, whichever
# build the suite runs) is started with tests/alloc/count.c preloaded, which
# counts every malloc, calloc and realloc made by the worker threads that answer
# queries. Over 30,000 UDP queries of every kind (DKIM keys, SPF, MX, DMARC,
# report authorisations, NXDOMAIN, NODATA, referral-free apex data, truncation,
# CHAOS, errors), across a live store change, the count must not move; one TCP
# connection with 200 pipelined queries may allocate its connection only.
. "$(dirname "$0")/lib"
PLAIN="$ROOT/build"
SHIM="$PLAIN/tests/alloccount.so"
DNSD="$PLAIN/dnsd" # the shim stands in for the allocator, which ASan replaces
check "the counting shim is built" test -f "$SHIM"
check "the plain dnsd is built" test -x "$DNSD"

new_store
ctl domain add rsa.example --tenant acme >/dev/null
ctl domain add ed.example --tenant acme --algorithm ed25519 --ed25519 no >/dev/null
ctl domain add pair.example --tenant acme --ed25519 yes >/dev/null
ctl domain add gone.example --tenant acme >/dev/null
ctl domain remove gone.example >/dev/null
R=$(token rsa.example) E=$(token ed.example) G=$(token gone.example)
cat >"$T/names" <<EOF2
esp1.$R.dkim.$ZONE TXT
esp2.$R.dkim.$ZONE TXT
esp1.$E.dkim.$ZONE TXT
esp1.$G.dkim.$ZONE TXT
nope.$R.dkim.$ZONE TXT
$R.rp.$ZONE TXT
$R.rp.$ZONE MX
$R.rp.$ZONE AAAA
$R.rp.$ZONE ANY
$R.dmarc.$ZONE TXT
rsa.example._report._dmarc.$ZONE TXT
example._report._dmarc.$ZONE TXT
zzzzzzzzzzzzzzzz.dkim.$ZONE TXT
$ZONE SOA
$ZONE NS
_spf.$ZONE TXT
bounce.$ZONE A
ESP1.$R.DKIM.Auth.Demo.Example TXT
esp1.$R.dkim.$ZONE TXT noedns
esp1.$R.dkim.$ZONE TXT bufsize=512
nowhere.invalid A
version.bind TXT chaos
EOF2
# raw: a header with QDCOUNT 2 (FORMERR), an UPDATE (NOTIMP)
echo "raw=000100000002000000000000" >>"$T/names"
echo "raw=0001280000010000000000000000060001" >>"$T/names"
printf '\0\0\0\0\0\0\0\0' >"$T/counter"

ALLOC_COUNTER="$T/counter" LD_PRELOAD="$SHIM" start_dnsd || finish
count() { od -An -tu8 "$T/counter" | tr -d ' '; }
# Warm up: every kind of query once.
"$PY" "$ROOT/tests/system/alloc.py" "$PORT" 50 "$T/names" >/dev/null
c0=$(count)
out=$("$PY" "$ROOT/tests/system/alloc.py" "$PORT" 15000 "$T/names")
expect "15,000 UDP queries answered" "$(echo "$out" | grep '^udp')" "udp 15000 15000"
expect "200 pipelined TCP queries answered" "$(echo "$out" | grep '^tcp')" "tcp 200 200"
c1=$(count)
# A live change: the view is rebuilt by the store thread and swapped under the workers.
ctl spf set "v=spf1 include:_spf.$ZONE ip4:198.51.100.9 -all" --tenant acme >/dev/null
wait_for "the change is served" 5 sh -c "dig +short @127.0.0.1 -p $PORT $R.rp.$ZONE TXT | grep -q 198.51.100.9"
c2=$(count)
out=$("$PY" "$ROOT/tests/system/alloc.py" "$PORT" 15000 "$T/names")
expect "15,000 more UDP queries answered" "$(echo "$out" | grep '^udp')" "udp 15000 15000"
c3=$(count)
echo "# worker allocations: start $c0, after UDP+TCP $c1, after the change $c2, end $c3"
expect_match "the workers allocated (TCP connection) at most 4 times over 15,200 queries" "$((c1 - c0))" '^[0-4]$'
expect_match "... and at most 4 times over 15,200 queries after the change" "$((c3 - c2))" '^[0-4]$'
expect_match "the counter counts: the TCP connection was counted" "$((c1 - c0))" "^[1-4]$"
finish
