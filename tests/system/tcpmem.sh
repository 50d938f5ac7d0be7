#!/bin/bash
# tcpmem: TCP clients that pipeline queries and never read the answers cannot grow
# dnsd's memory (issue 12, point 4). Before, 4 such connections grew dnsd by hundreds
# of MB in seconds: every answer waited in a heap buffer. dnsd now stops reading a
# connection whose unsent answers pass --tcp-max-unsent, and a worker's connections
# whose unsent answers together pass its share of --tcp-max-unsent-total, and reads
# again as they drain. Meanwhile other clients are answered over UDP and TCP, the
# attacker gets every answer once it reads, and the idle timeout (or a SIGTERM)
# closes what never drains.
. "$(dirname "$0")/lib"
TM="$ROOT/tests/system/tcpmem.py"
# f KEY LINE: the value of KEY=... in tcpmem.py's line.
f() {
	local w
	for w in $2; do case $w in "$1="*) printf '%s' "${w#*=}"; return ;; esac; done
}
# bounded WHAT MB LINE: what every attack must show: dnsd grew by less than MB, and a
# client on 127.0.0.1 was answered meanwhile over UDP and fresh TCP connections.
bounded() {
	local g
	g=$(f growth "$3")
	check "$1: dnsd grew by less than $2 MB ($((${g:-0} / 1024)) MB)" \
		test -n "$g" -a "${g:-0}" -lt $(($2 * 1024))
	expect "$1: meanwhile another client is answered over UDP and TCP" \
		"$(f probe_udp "$3") $(f probe_tcp "$3")" "10/10 10/10"
	check "$1: each of its queries within 1 s ($(f probe_maxms "$3") ms)" \
		test "$(f probe_maxms "$3")" -lt 1000
	# The kernel's send buffer of each connection is bounded too (SO_SNDBUF 256 KiB,
	# doubled by the kernel): autotuning let it reach 2.8 MB.
	check "$1: the kernel holds at most 512 KiB of answers per connection ($(f sendq_max "$3") octets)" \
		test -n "$(f sendq_max "$3")" -a "$(f sendq_max "$3")" -le 524288
}
START=$(date +%s)

new_store
ctl domain add example.com --tenant acme >/dev/null
ctl domain add big.example --tenant acme --algorithm rsa-4096 >/dev/null
KEY="esp1.$(token example.com).dkim.$ZONE" BIGN="esp1.$(token big.example).dkim.$ZONE"

for o in --tcp-max-unsent --tcp-max-unsent-total; do
	check "dnsd --help lists $o" grep -q -- "^ *$o " <("$DNSD" --help)
done

# ---- 1. The defaults: 4 connections pipeline 50,000 queries each for a 4096-bit key ----
# (an answer of about 800 octets: 160 MB of answers in all). The idle timeout is long
# here so that the attacker can still read at the end.
start_dnsd --threads 2 --tcp-idle 30000 || finish
check "reference: the 4096-bit key over TCP" test -n "$(q +tcp "$BIGN" TXT)"
s=$("$PY" "$TM" 127.0.0.1 "$PORT" attack "$DNSD_PID" "$BIGN" 4 50000 8 "$KEY" --read)
echo "    defaults: $s"
bounded "4 connections that never read" 8 "$s"
sent=$(f sent "$s")
check "the attacker wrote thousands of queries ($sent)" test "${sent:-0}" -ge 4000
expect "once it reads, every query written is answered, in order (sent $sent)" \
	"$(f read "$s") $(f inorder "$s")" "$sent $sent"
expect "dnsd still answers" "$(status "$KEY" TXT)" NOERROR

# ---- 2. The total: 32 connections with room for 1 MiB each, 4 MiB in all, one worker ----
# Without the total they would hold 32 MiB; with it, 4 MiB and an answer per connection.
# A fresh connection still gets its answer: the total never refuses a connection's
# first answer. What never drains is closed by the idle timeout (2 s here).
stop_dnsd
start_dnsd --threads 1 --tcp-max-unsent 1048576 --tcp-max-unsent-total 4194304 --tcp-idle 2000 ||
	finish
s=$("$PY" "$TM" 127.0.0.1 "$PORT" attack "$DNSD_PID" "$BIGN" 32 20000 8 "$KEY" --closed 8)
echo "    total: $s"
bounded "32 connections, 4 MiB in all, one worker" 16 "$s"
expect "the idle timeout closes every connection that never drains" "$(f closed "$s")" "32/32"
check "within 2 s of idleness and some slack ($(f closed_secs "$s") s)" \
	awk -v s="$(f closed_secs "$s")" 'BEGIN { exit !(s != "" && s + 0 < 6) }'
expect "dnsd still answers over TCP" "$(status +tcp "$KEY" TXT)" NOERROR

# ---- 3. SIGTERM while 4 connections wait for their clients to read ----
# and one client asks and reads on and on. Each gets a moment to finish, then is
# closed: none can hold dnsd up (before, the busy one held it as long as it asked).
stop_dnsd
start_dnsd --threads 2 || finish
"$PY" "$TM" 127.0.0.1 "$PORT" chat "$KEY" 12 >"$T/chat.out" &
CHAT=$!
s=$("$PY" "$TM" 127.0.0.1 "$PORT" attack "$DNSD_PID" "$BIGN" 4 50000 8 "$KEY" --term)
echo "    SIGTERM: $s"
wait "$DNSD_PID"
rc=$? DNSD_PID=""
wait "$CHAT"
c=$(cat "$T/chat.out")
echo "    chat: $c"
expect "SIGTERM beside connections that never read: dnsd exits 0" "$rc" 0
expect "and closes them" "$(f closed "$s")" "4/4"
check "within 3 s ($(f closed_secs "$s") s)" awk -v s="$(f closed_secs "$s")" 'BEGIN { exit !(s != "" && s + 0 < 3) }'
check "a client that asks on and on was answered, then closed within 3 s of the SIGTERM" \
	awk -v a="$(f answered "$c")" -v c="$(f closed_at "$c")" -v t="$(f term_at "$s")" \
	'BEGIN { exit !(a > 10 && c ~ /^[0-9.]+$/ && t != "" && c - t < 3) }'
check "no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' "$T/dnsd.log")"

echo "    took $(($(date +%s) - START)) s"
finish
