#!/bin/bash
# instance: a second dnsd on an address and port a running one holds refuses to start
# (issue 12, point 7). Before, SO_REUSEPORT let it bind beside the first and take a
# share of its queries, answering them from its own store: NXDOMAIN for the names the
# first serves. A restart on the same port still works.
. "$(dirname "$0")/lib"
# spread PORT NAME [HOST]: 100 UDP and 100 TCP queries for NAME's TXT, each from a port
# of its own (the kernel spreads them over every socket on the port), in key=value.
spread() {
	"$PY" - "$@" <<'EOF'
import sys, dns.message, dns.query, dns.rcode
port, name = int(sys.argv[1]), sys.argv[2]
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
out = {}
for how, ask in (("udp", dns.query.udp), ("tcp", dns.query.tcp)):
    got = {}
    for _ in range(100):
        try:
            r = ask(dns.message.make_query(name, "TXT"), host, port=port, timeout=2)
            k = dns.rcode.to_text(r.rcode()) + ("/answer" if r.answer else "")
        except Exception as e:
            k = type(e).__name__
        got[k] = got.get(k, 0) + 1
    out[how] = ",".join("%s:%d" % kv for kv in sorted(got.items()))
print("udp=%s tcp=%s" % (out["udp"], out["tcp"]))
EOF
}
# second ADDR: runs another dnsd, with a store of its own that serves none of the
# first's names, on ADDR; sets SECOND_RC (the exit code, or "running" once it is
# up, when it is left running as SECOND_PID) and SECOND_OUT (what it printed).
SECOND_PID=""
second() {
	rm -f "$T/ready2"
	"$DNSD" --db "$T/other.db" --zone "$ZONEFILE" --listen "$1" --ready-file "$T/ready2" \
		--rrl-rate 0 >"$T/second.out" 2>&1 &
	SECOND_PID=$! SECOND_RC=""
	for _ in $(seq 1 200); do
		[ -s "$T/ready2" ] && { SECOND_RC=running; break; }
		kill -0 "$SECOND_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ "$SECOND_RC" != running ]; then
		wait "$SECOND_PID"
		SECOND_RC=$? SECOND_PID=""
	fi
	SECOND_OUT=$(cat "$T/second.out")
}
# ere_quote TEXT: TEXT as an extended regular expression that matches it.
ere_quote() { printf '%s' "$1" | sed 's/[].[]/\\&/g'; }
stop_second() {
	if [ -n "$SECOND_PID" ]; then kill "$SECOND_PID"; wait "$SECOND_PID"; SECOND_PID=""; fi
}
HOLDER=""
trap 'stop_second; [ -z "$HOLDER" ] || kill "$HOLDER"; stop_dnsd; rm -rf "$T"' EXIT

new_store
ctl domain add example.com --tenant acme >/dev/null
KEY="esp1.$(token example.com).dkim.$ZONE"
"$DNSDCTL" --db "$T/other.db" --keys "$T/keys2" init --zone "$ZONE" --zone-file "$ZONEFILE" >/dev/null
start_dnsd || finish
ALL="udp=NOERROR/answer:100 tcp=NOERROR/answer:100"
expect "reference: the first dnsd answers 100 of 100 over UDP and TCP" "$(spread "$PORT" "$KEY")" "$ALL"

# The same address and port, on IPv4 and IPv6, and the wildcard over the first's.
# The first is asked while the second runs, if it does.
for a in "127.0.0.1:$PORT" "[::1]:$PORT6" "0.0.0.0:$PORT"; do
	second "$a"
	check "a second dnsd on $a exits non-zero ($SECOND_RC)" test "$SECOND_RC" != running -a "$SECOND_RC" != 0
	expect_match "it says why" "$SECOND_OUT" "$(ere_quote "$a") is already in use over udp \(another dnsd\?\)"
	case $a in \[*) p=$PORT6 h=::1 ;; *) p=$PORT h=127.0.0.1 ;; esac
	expect "the first still answers 100 of 100 on $h over UDP and TCP" "$(spread "$p" "$KEY" "$h")" "$ALL"
	stop_second
done

# A port held over TCP only, by a listener that also set SO_REUSEPORT (as a dnsd
# whose UDP socket is elsewhere, or any server of the same user, would).
"$PY" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(60)' >"$T/holder.port" &
HOLDER=$!
for _ in $(seq 1 100); do [ -s "$T/holder.port" ] && break; sleep 0.05; done
HP=$(cat "$T/holder.port")
second "127.0.0.1:$HP"
check "a dnsd on a port another program holds over TCP exits non-zero ($SECOND_RC)" \
	test "$SECOND_RC" != running -a "$SECOND_RC" != 0
expect_match "it says why" "$SECOND_OUT" "127\.0\.0\.1:$HP is already in use over tcp \(another dnsd\?\)"
stop_second
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
HOLDER=""

# A restart on the port the first held starts, though the first closed a connection
# itself (its side of it lingers in TIME-WAIT on that port).
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
stop_dnsd
exec 3<&-
check "the first's connection lingers in TIME-WAIT on 127.0.0.1:$PORT" \
	test -n "$(ss -tn state time-wait "( sport = :$PORT )" | tail -n +2)"
second "127.0.0.1:$PORT"
expect "then a dnsd on 127.0.0.1:$PORT starts" "$SECOND_RC" running
expect "and it is the one that answers" "$(dig @127.0.0.1 -p "$PORT" +tries=1 +time=2 "$KEY" TXT |
	sed -n 's/.*status: \([A-Z]*\),.*/\1/p')" NXDOMAIN
stop_second

# One dnsd given the same port twice (the same address, or a wildcard and an address
# under it) says so, instead of blaming another dnsd.
for pair in "127.0.0.1:$PORT 0.0.0.0:$PORT" "[::1]:$PORT [::1]:$PORT"; do
	set -- $pair
	out=$("$DNSD" --db "$DB" --zone "$ZONEFILE" --listen "$1" --listen "$2" 2>&1); rc=$?
	expect "--listen $1 --listen $2: exit 2" "$rc" 2
	expect_match "... naming both" "$out" "take the same port twice"
done
finish
