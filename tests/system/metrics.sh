#!/bin/bash
# metrics: dnsd's Prometheus listener, scraped with curl, its counts checked
# against the traffic this test sends (dig, kdig and raw packets).
. "$(dirname "$0")/lib"
new_store
ctl domain add example.com --tenant acme >/dev/null
TOK=$(token example.com)
start_dnsd --metrics 127.0.0.1:0 || finish
M=$(sed -n 's/^metrics //p' "$T/ready")
check "the ready file names the metrics address" test -n "$M"
scrape() { curl -s --max-time 5 "http://$M/metrics"; }
# metric NAME{LABELS}: its value in a fresh scrape (nothing when absent).
metric() { scrape | awk -v k="$1" '$1 == k { print $2 }'; }
# For wait_for, which runs a command again and again: the scrape must be in it.
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_not() { [ "$(metric "$1")" != "$2" ]; }

before=$(scrape)
expect_match "a scrape is Prometheus text" "$before" '# TYPE dnsd_queries_total counter'
expect "nothing counted yet" "$(metric 'dnsd_queries_total{transport="udp"}')" 0

for i in 1 2 3 4 5; do q "esp1.$TOK.dkim.$ZONE" TXT >/dev/null; done
q "_dmarc.$ZONE" A >/dev/null
q "_dmarc.$ZONE" A >/dev/null
q "nosuch.$ZONE" TXT >/dev/null   # NXDOMAIN
for i in 1 2 3; do dig @127.0.0.1 -p "$PORT" +tcp +short +tries=1 "$ZONE" SOA >/dev/null; done
# Two messages that are not queries: a header claiming two questions (FORMERR),
# and 5 bytes (no answer at all).
"$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(bytes.fromhex("abcd0100000200000000000000"), ("127.0.0.1", int(sys.argv[1])))
try: s.recv(512)
except OSError: pass
s.sendto(b"\x00\x01\x02\x03\x04", ("127.0.0.1", int(sys.argv[1])))' "$PORT"

wait_for "udp queries counted: 5 TXT + 2 A + 1 NXDOMAIN + 2 bad = 10" 3 \
	metric_is 'dnsd_queries_total{transport="udp"}' 10
expect "tcp queries counted" "$(metric 'dnsd_queries_total{transport="tcp"}')" 3
expect "TXT questions" "$(metric 'dnsd_query_types_total{type="TXT"}')" 6
expect "A questions" "$(metric 'dnsd_query_types_total{type="A"}')" 2
expect "SOA questions" "$(metric 'dnsd_query_types_total{type="SOA"}')" 3
expect "udp answers: all but the 5-byte message" "$(metric 'dnsd_answers_total{transport="udp"}')" 9
expect "NXDOMAIN answers" "$(metric 'dnsd_answer_rcodes_total{rcode="NXDOMAIN"}')" 1
expect "FORMERR answers" "$(metric 'dnsd_answer_rcodes_total{rcode="FORMERR"}')" 1
expect "NOERROR answers: 5 TXT + 2 A (NODATA) + 3 SOA" "$(metric 'dnsd_answer_rcodes_total{rcode="NOERROR"}')" 10
expect "malformed: the FORMERR and the unanswered one" "$(metric dnsd_malformed_total)" 2
expect "tcp connections accepted" "$(metric 'dnsd_tcp_connections_total{result="accepted"}')" 3

# An open connection is a gauge; it goes back to 0 once closed. (dnsd sees a
# connection once it sends something: half a message, here.)
"$PY" -c 'import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"\x00\x20abc")
time.sleep(3)' "$PORT" &
HOLD=$!
wait_for "a held TCP connection shows as open" 3 metric_is dnsd_tcp_connections_open 1
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null
wait_for "and is gone once closed" 3 metric_is dnsd_tcp_connections_open 0

# A change: the serial moves, its age starts again, the lag is observed once.
s0=$(metric dnsd_serial)
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.9 -all" >/dev/null
wait_for "a commit: the served serial moves" 3 metric_not dnsd_serial "$s0"
check "the serial's age is small" test "$(metric dnsd_serial_age_seconds)" -le 2
expect "the refresh lag counted once" "$(metric dnsd_refresh_lag_seconds_count)" 1
expect "within 10 s" "$(metric 'dnsd_refresh_lag_seconds_bucket{le="10"}')" 1
expect "the domain count" "$(metric dnsd_domains)" 1
case "$BUILD" in
*asan*) # AddressSanitizer's allocator is not malloc's: mallinfo2 knows nothing of it
	expect_match "heap bytes are reported (a number)" "$(metric dnsd_heap_bytes)" '^[0-9]+$' ;;
*) check "heap bytes are reported" test "$(metric dnsd_heap_bytes)" -gt 100000 ;;
esac
check "resident memory is reported" test "$(metric process_resident_memory_bytes)" -gt 1000000
expect "no refresh failures" "$(metric dnsd_refresh_failures_total)" 0

# The shipped dashboard and alert rules use only metrics dnsd serves.
scrape >"$T/scrape.txt"
out=$("$PY" "$ROOT/tests/system/distmetrics.py" dnsd "$T/scrape.txt")
expect_match "dashboard and alerts: every dnsd metric they use is served" "$out" "^[0-9]+ used, missing: none$"

expect "another path: 404" "$(curl -s -o /dev/null -w '%{http_code}' "http://$M/nope")" 404
expect "POST: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "http://$M/metrics")" 405
stop_dnsd

# RRL: every answer past the rate is dropped or slipped, each counted.
start_dnsd --metrics 127.0.0.1:0 --rrl-rate 2 --rrl-slip 2 || finish
M=$(sed -n 's/^metrics //p' "$T/ready")
"$PY" -c 'import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.05)
name = b"".join(bytes([len(l)]) + l.encode() for l in ("_dmarc." + sys.argv[2]).split(".")) + b"\0"
for i in range(40):
    s.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 16, 1), ("127.0.0.1", int(sys.argv[1])))
    try: s.recv(512)
    except OSError: pass' "$PORT" "$ZONE"
wait_for "rrl: 40 queries counted" 3 metric_is 'dnsd_queries_total{transport="udp"}' 40
d=$(metric 'dnsd_rrl_actions_total{action="dropped"}')
sl=$(metric 'dnsd_rrl_actions_total{action="slipped"}')
a=$(metric 'dnsd_answers_total{transport="udp"}')
check "rrl: some answers were dropped ($d) and slipped ($sl)" test "$d" -gt 0 -a "$sl" -gt 0
expect "rrl: answered + dropped = received" "$((a + d))" 40
expect "rrl: every slip is a truncated answer" "$(metric dnsd_truncated_total)" "$sl"
stop_dnsd

out=$("$DNSD" --db "$DB" --zone "$ZONEFILE" --metrics nowhere --check-config 2>&1)
expect_match "check-config: a bad --metrics address" "$out" "bad --metrics 'nowhere'"
finish
