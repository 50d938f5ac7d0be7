#!/bin/bash
# apiwriters: writers never starve. 16 clients add domains through dnsd-api at once (each
# generating its key in parallel, each write taking its turn at the store's lock), alone and
# while `dnsdctl import` writes 20,000 domains in batches of 500: every POST gets 201, or 503
# with Retry-After and then 201 when tried again; never anything else (a 500 was a worker
# removing the staging directory another was writing its key into). Then every domain is in
# the store once, with its key file in place.
. "$(dirname "$0")/lib"
. "$(dirname "$0")/apilib"

new_store
ctl tenant add bulk >/dev/null
ROOTTOK=$(ctl api-token add root 2>/dev/null)
start_api --listen 127.0.0.1:0 --threads 16 --lock-timeout 5000 --timeout 120 || finish

# clients TAG N: 16 threads, N domains each; prints "201:<n> 503:<n> other:<codes>".
clients() {
	"$PY" - "$API" "$ROOTTOK" "$1" "$2" <<'PYEOF'
import http.client, json, sys, threading, time, urllib.parse
api, tok, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlsplit(api)
codes, lock = {}, threading.Lock()
def one(i):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    for k in range(n):
        body = json.dumps({"domain": f"{tag}-{i}-{k}.example", "tenant": "acme"})
        while True:
            try:
                c.request("POST", "/v1/domains", body, {"Authorization": f"Bearer {tok}",
                                                       "Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    codes[type(e).__name__] = codes.get(type(e).__name__, 0) + 1
                c.close()
                break
            with lock:
                codes[r.status] = codes.get(r.status, 0) + 1
            if r.status == 503 and r.getheader("Retry-After"):
                time.sleep(float(r.getheader("Retry-After")))
                continue
            break
ts = [threading.Thread(target=one, args=(i,)) for i in range(16)]
[t.start() for t in ts]
[t.join() for t in ts]
other = sorted(f"{k}x{v}" for k, v in codes.items() if k not in (201, 503))
print(f"201:{codes.get(201, 0)} 503:{codes.get(503, 0)} other:{','.join(other) or 'none'}")
PYEOF
}
out=$(clients alone 4)
expect_match "16 clients at once, alone: 64 domains added, nothing but 201 and 503" "$out" '^201:64 503:[0-9]+ other:none$'

"$PY" - "$T/big.csv" <<'PYEOF'
import base64, os, sys
head = bytes.fromhex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100")
with open(sys.argv[1], "w") as f:
    f.write("domain,tenant,public_key\n")
    for i in range(20000):
        m = bytearray(os.urandom(256)); m[0] |= 0x80; m[-1] |= 1
        f.write(f"bulk{i}.example,bulk,{base64.b64encode(head + bytes(m) + bytes.fromhex('0203010001')).decode()}\n")
PYEOF
ctl import "$T/big.csv" --batch 500 >"$T/import.out" 2>&1 &
imp=$!
some() { test "$(sqlite3 "$DB" "SELECT count(*) FROM domains WHERE name LIKE 'bulk%'")" -gt 0; }
wait_for "the import's first batch is in" 60 some
out=$(clients during 4)
expect_match "16 clients during the import: 64 domains added, nothing but 201 and 503" "$out" '^201:64 503:[0-9]+ other:none$'
wait $imp
expect "the import ends well" "$?" 0
expect "every domain once" \
	"$(sqlite3 "$DB" "SELECT count(*) || '/' || count(DISTINCT name) FROM domains WHERE name LIKE 'alone-%' OR name LIKE 'during-%' OR name LIKE 'bulk%'")" \
	"20128/20128"
expect "each client's domain has its key file" "$(ls "$KEYS" | grep -c '^\(alone\|during\)-')" 128
expect "no staging directory left" "$(ls -A "$KEYS" | grep -c '^\.stage-')" 0
expect "dnsd-api logged no error" "$(grep -c 'dnsd-api error' "$T/api.log")" 0
stop_api
finish
