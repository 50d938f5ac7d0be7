#!/bin/bash
# apimetrics: dnsd-api --metrics. A known mix of requests (curl) over every kind of answer, 200
# more from 8 clients at once over 4 workers, one cut off with no reply, and a write refused while another writer holds
# the store; the scrape must count each (route, method, status) exactly, by the route's pattern
# and never the raw path, with latency histograms whose counts equal the request counts.
. "$(dirname "$0")/lib"
APICHECK="$ROOT/tests/system/apicheck.py"
API_PID=""
trap '[ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null; cleanup' EXIT

new_store
ROOTTOK=$(ctl api-token add root 2>/dev/null)
"$BUILD/dnsd-api" --config "$T/dnsdctl.conf" --db "$DB" --ready-file "$T/api.ready" --threads 4 \
	--lock-timeout 300 --timeout 1 --listen 127.0.0.1:0 --metrics 127.0.0.1:0 2>>"$T/api.log" &
API_PID=$!
wait_for "dnsd-api is ready" 10 test -s "$T/api.ready"
API="http://$(sed -n 1p "$T/api.ready")"
MADDR=$(sed -n 's/^metrics //p' "$T/api.ready")
expect_match "the ready file's second line: the metrics listener" "$MADDR" '^127\.0\.0\.1:[0-9]+$'
M="http://$MADDR/metrics"

# req METHOD PATH [TOKEN] [CURL ARGS...]: the status only.
req() {
	local m=$1 p=$2 tok=${3:-}
	shift; shift; [ $# -gt 0 ] && shift
	curl -s -o /dev/null -w '%{http_code}' -X "$m" ${tok:+-H "Authorization: Bearer $tok"} "$@" "$API$p"
}
# scrape: the metrics page into $T/scrape.txt.
scrape() { curl -s -f -o "$T/scrape.txt" "$M"; }

check "a scrape before any request" scrape
expect "no request counted yet" "$(grep -c '^dnsd_api_requests_total{' "$T/scrape.txt")" 0
expect "in flight: 0" "$(awk '$1 == "dnsd_api_requests_in_flight" {print $2}' "$T/scrape.txt")" 0

# The mix, each status checked as it is sent.
for _ in 1 2 3; do expect "GET /v1/status: 200" "$(req GET /v1/status "$ROOTTOK")" 200; done
for _ in 1 2; do expect "GET /v1/status without a token: 401" "$(req GET /v1/status)" 401; done
expect "GET /v1/tokens: 200" "$(req GET /v1/tokens "$ROOTTOK")" 200
J=(-H 'Content-Type: application/json' --data-binary '{"name":"app1","tenant":"acme"}')
expect "POST /v1/tokens: 201" "$(req POST /v1/tokens "$ROOTTOK" "${J[@]}")" 201
expect "POST /v1/tokens again: 409" "$(req POST /v1/tokens "$ROOTTOK" "${J[@]}")" 409
expect "DELETE /v1/tokens/app1: 204" "$(req DELETE /v1/tokens/app1 "$ROOTTOK")" 204
expect "DELETE /v1/tokens/nobody: 404" "$(req DELETE /v1/tokens/nobody "$ROOTTOK")" 404
expect "PUT /v1/status: 405" "$(req PUT /v1/status "$ROOTTOK")" 405
expect "GET /no/such/path: 404" "$(req GET /no/such/path "$ROOTTOK")" 404
expect "GET /v1/x%22y: 404" "$(req GET '/v1/x%22y' "$ROOTTOK")" 404

# The store locked by another writer: a write gets 503 store_busy.
"$PY" "$APICHECK" lockhold "$DB" "$T/release" >"$T/lock.out" 2>&1 &
LOCK_PID=$!
wait_for "another writer holds the store's lock" 10 grep -q locked "$T/lock.out"
J2=(-H 'Content-Type: application/json' --data-binary '{"name":"late","tenant":"acme"}')
expect "POST /v1/tokens while locked: 503" "$(req POST /v1/tokens "$ROOTTOK" "${J2[@]}")" 503
touch "$T/release"
wait "$LOCK_PID"

# A client that sends its headers and never its body: cut off after --timeout 1, no reply.
"$PY" - "${API#http://}" <<'PYEOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
s.sendall(b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: 100\r\n\r\n{")
s.settimeout(5)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
PYEOF
wait_for "the stalled request is logged as a timeout" 5 grep -q 'POST /v1/tokens timeout' "$T/api.log"

# 200 reads from 8 clients at once, over the 4 workers.
seq 1 200 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' \
	-H "Authorization: Bearer $ROOTTOK" "$API/v1/status" >"$T/par.out"
n200=$(grep -c '^200$' "$T/par.out")
expect "200 reads at once: all 200" "$n200" 200
[ "$n200" = 200 ] || { sort "$T/par.out" | uniq -c; grep -v ' 200 ' "$T/api.log" | tail -5; }

check "the scrape" scrape
# Every sample against what was sent: exactly these series and no other.
out=$("$PY" - "$T/scrape.txt" <<'PYEOF'
import re, sys
want = {
    ("/v1/status", "GET", "200"): 203, ("/v1/status", "GET", "401"): 2,
    ("/v1/tokens", "GET", "200"): 1, ("/v1/tokens", "POST", "201"): 1,
    ("/v1/tokens", "POST", "409"): 1, ("/v1/tokens", "POST", "503"): 1,
    ("/v1/tokens/{name}", "DELETE", "204"): 1, ("/v1/tokens/{name}", "DELETE", "404"): 1,
    ("/v1/status", "PUT", "405"): 1, ("none", "GET", "404"): 2,
    ("/v1/tokens", "POST", "none"): 1,
}
got, hist, other = {}, {}, {}
pat = re.compile(r'^([a-z_]+)\{(.*)\} (\S+)$')
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("#"):
        continue
    m = pat.match(line)
    if not m:
        other[line.split()[0]] = float(line.split()[1])
        continue
    name, labels, v = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))
    if name == "dnsd_api_requests_total":
        got[(labels["route"], labels["method"], labels["status"])] = v
    elif name.startswith("dnsd_api_request_duration_seconds"):
        hist.setdefault((labels["route"], labels["method"]), []).append((name, labels.get("le"), v))
def ok(d, c, detail=""):
    print(("ok - " if c else "not ok - ") + d + ("" if c else ": " + str(detail)))
ok("requests by route, method and status: exactly what was sent", got == want,
   {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)})
ok("no raw path in a route label", all("{" in r or r in ("/v1/status", "/v1/tokens", "none") for r, _, _ in got))
per = {}
for (r, m, s), v in want.items():
    per[(r, m)] = per.get((r, m), 0) + v
counts = {k: [v for n, _, v in h if n.endswith("_count")][0] for k, h in hist.items()}
ok("a histogram per route and method, its count the requests'", counts == per, (counts, per))
good = True
for k, h in hist.items():
    b = [(le, v) for n, le, v in h if n.endswith("_bucket")]
    les = [le for le, _ in b]
    vals = [v for _, v in b]
    good &= les == ["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"]
    good &= vals == sorted(vals) and vals[-1] == counts[k]
    s = [v for n, _, v in h if n.endswith("_sum")][0]
    good &= 0 < s < 60 * counts[k]
ok("buckets .001 to 5 and +Inf, cumulative, +Inf the count, a sum of seconds", good, hist)
ok("store_busy: the one locked write", other.get("dnsd_api_store_busy_total") == 1, other)
ok("in flight: none while scraping", other.get("dnsd_api_requests_in_flight") == 0, other)
PYEOF
)
while IFS= read -r line; do
	case "$line" in
	"ok - "*) ok "${line#ok - }" ;;
	*) not_ok "${line#not ok - }" ;;
	esac
done <<<"$out"

out=$("$PY" "$ROOT/tests/system/distmetrics.py" api "$T/scrape.txt")
expect_match "dashboard and alerts: every API metric they use is served" "$out" "^[1-9][0-9]* used, missing: none$"
if command -v promtool >/dev/null; then
	check "promtool: the scrape is valid exposition text" sh -c 'promtool check metrics <"$1"' - "$T/scrape.txt"
else
	not_ok "promtool is installed (make test-deps: package prometheus)"
fi

expect "the metrics listener takes no POST" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$M")" 405
expect "... and has nothing but /metrics" "$(curl -s -o /dev/null -w '%{http_code}' "http://$MADDR/")" 404
expect "the API's own port does not serve /metrics" "$(req GET /metrics "$ROOTTOK")" 404

kill "$API_PID"; wait "$API_PID"; rc=$?; API_PID=""
expect "dnsd-api stopped cleanly" "$rc" 0
check "no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' "$T/api.log")"
finish
