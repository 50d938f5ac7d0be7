#!/bin/bash
# bench/cgquery.sh BIN [QUERIES]: instructions dnsd executes per UDP query (udp_ready and
# everything it calls), counted by valgrind's callgrind: repeatable whatever else the machine
# does. dnsperf sends the first QUERIES (default 300) lines of the 100,000-domain data set's
# query file one at a time (one outstanding), so that each read handles one query and two
# builds see the same work. The data set is bench/gen.py's (made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1 N=${2:-300}
D=bench/data/100000
[ -f $D/store/store.db ] || /usr/bin/python3 bench/gen.py 100000 >&2
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
head -n "$N" $D/q-uniform.txt >"$W/q.txt"
P=$(/usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
valgrind --tool=callgrind --toggle-collect=udp_ready --callgrind-out-file="$W/cg.out" "$BIN" --db $D/store/store.db \
	--zone zones/demo.zone --listen 127.0.0.1:"$P" --threads 1 --rrl-rate 0 --ready-file "$W/ready" \
	--log-level warning 2>/dev/null &
VP=$!
for _ in $(seq 1 900); do [ -s "$W/ready" ] && break; sleep 0.2; done
dnsperf -s 127.0.0.1 -p "$P" -d "$W/q.txt" -n 1 -c 1 -q 1 >"$W/perf.txt"
kill "$VP"
wait "$VP" || true
done=$(sed -n 's/.*Queries completed:[[:space:]]*\([0-9]*\).*/\1/p' "$W/perf.txt")
tot=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$W/cg.out")
echo "$BIN: $tot instructions for $done queries: $((tot / done)) per query"
