#!/bin/bash
# api: dnsd-api on loopback with real clients (curl, python3): tokens and their scopes, the
# errors (malformed JSON, oversized bodies, wrong type, path, method), slow clients, 64 clients
# at once, the store locked by another writer, idempotent retries, the UNIX socket, TLS, the
# responses against docs/openapi.yaml, and a clean stop.
. "$(dirname "$0")/lib"
. "$(dirname "$0")/apilib"

new_store
ctl tenant add beta >/dev/null
ctl domain add example.com --tenant acme >/dev/null
ROOTTOK=$(ctl api-token add root 2>/dev/null)
ACME=$(ctl api-token add acme-app --tenant acme 2>/dev/null)
BETA=$(ctl api-token add beta-app --tenant beta 2>/dev/null)
expect_match "dnsdctl api-token add prints the token once" "$ROOTTOK" '^dnsd_[0-9a-f]{64}$'
expect "the store keeps no token's text" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM api_tokens WHERE instr(name || hash, substr('$ROOTTOK', 6))")" 0
expect "... the SHA-256 of its text" \
	"$(sqlite3 "$DB" "SELECT name FROM api_tokens WHERE hash = '$(printf %s "$ROOTTOK" | sha256sum | cut -c1-64)'")" root
start_api --listen 127.0.0.1:0 || finish

# ---- authentication ----
r=$(call GET /v1/status "")
expect_match "no token: 401" "$r" '^401 \{"error":\{"code":"unauthorized"'
expect "... with WWW-Authenticate: Bearer" "$(header WWW-Authenticate)" "Bearer"
expect_match "a wrong token: 401 invalid_token" "$(call GET /v1/status "dnsd_$(printf '0%.0s' $(seq 64))")" \
	'^401 \{"error":\{"code":"invalid_token"'
expect_match "not a Bearer token: 401" "$(call GET /v1/status "" -H "Authorization: Basic $ROOTTOK")" '^401 '
expect_match "the platform token: 200" "$(call GET /v1/status "$ROOTTOK")" '^200 '
SCHEMA=$(sqlite3 "$DB" 'PRAGMA user_version')
expect "status: the store's schema, 2 tenants, 1 domain, the store's serial" \
	"$(json 'd["schema_version"], d["tenants"], d["domains"], d["serial"], d["zone"]')" \
	"($SCHEMA, 2, 1, $(sqlite3 "$DB" 'SELECT value FROM serial'), 'auth.demo.example.')"
expect "the request was logged: method, path, status, ms, token name" \
	"$(grep -c 'dnsd-api info: GET /v1/status 200 [0-9.]* ms root$' "$T/api.log")" 1
expect "last_used_at noted" "$(sqlite3 "$DB" "SELECT last_used_at > 0 FROM api_tokens WHERE name = 'root'")" 1
BYE=$(ctl api-token add bye 2>/dev/null)
expect_match "a token works..." "$(call GET /v1/status "$BYE")" '^200 '
ctl api-token revoke bye >/dev/null
expect_match "... and once revoked, 401" "$(call GET /v1/status "$BYE")" '^401 \{"error":\{"code":"invalid_token"'

# ---- tenant scope ----
call GET /v1/status "$ACME" >/dev/null
expect "acme's token: its tenant's domains only, no tenant count" \
	"$(json 'd["scope"], d["tenant"], d["domains"], "tenants" in d')" "('tenant', 'acme', 1, False)"
call GET /v1/status "$BETA" >/dev/null
expect "beta's token: none of acme's domains" "$(json 'd["tenant"], d["domains"]')" "('beta', 0)"
call GET /v1/tokens "$ACME" >/dev/null
expect "acme's token lists acme's tokens only" "$(json '[t["name"] for t in d["tokens"]]')" "['acme-app']"
call GET /v1/tokens "$ROOTTOK" >/dev/null
expect "the platform token lists every token" "$(json 'sorted(t["name"] for t in d["tokens"])')" \
	"['acme-app', 'beta-app', 'bye', 'root']"
expect_match "acme's token cannot revoke beta's: 404, as if it did not exist" \
	"$(call DELETE /v1/tokens/beta-app "$ACME")" '^404 \{"error":\{"code":"not_found"'
expect_match "... the same answer as for a name nobody has" "$(call DELETE /v1/tokens/nobody "$ACME")" \
	'^404 \{"error":\{"code":"not_found"'
expect_match "... nor the platform's" "$(call DELETE /v1/tokens/root "$ACME")" '^404 '
expect_match "... and beta's token still works" "$(call GET /v1/status "$BETA")" '^200 '
expect_match "a tenant's token may not make tokens: 403" \
	"$(post /v1/tokens "$ACME" '{"name":"more","tenant":"acme"}')" '^403 \{"error":\{"code":"forbidden"'

# ---- the token endpoints ----
r=$(post /v1/tokens "$ROOTTOK" '{"name":"shop","tenant":"acme"}')
expect_match "POST /v1/tokens: 201 with the token's text" "$r" '^201 .*"token":"dnsd_[0-9a-f]{64}"'
expect "... and its Location" "$(header Location)" "/v1/tokens/shop"
SHOP=$(json 'd["token"]')
call GET /v1/status "$SHOP" >/dev/null
expect "the new token is acme's" "$(json 'd["tenant"]')" "acme"
expect_match "the same name again: 409" "$(post /v1/tokens "$ROOTTOK" '{"name":"shop","tenant":"acme"}')" \
	'^409 \{"error":\{"code":"exists","message":"[^"]*","field":"name"'
expect_match "an unknown tenant: 400 naming the field" \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"x","tenant":"nope"}')" '^400 .*"field":"tenant"'
expect_match "a bad name: 400 naming the field" "$(post /v1/tokens "$ROOTTOK" '{"name":"a b","tenant":"acme"}')" \
	'^400 .*"field":"name"'
expect_match "DELETE /v1/tokens/shop: 204" "$(call DELETE /v1/tokens/shop "$ROOTTOK")" '^204 $'
expect_match "... and it no longer authenticates" "$(call GET /v1/status "$SHOP")" '^401 '
expect_match "again: 404" "$(call DELETE /v1/tokens/shop "$ROOTTOK")" '^404 '

# ---- bad requests ----
expect_match "malformed JSON: 400 naming the place" "$(post /v1/tokens "$ROOTTOK" '{"name": "x",')" \
	'^400 \{"error":\{"code":"malformed_json","message":"malformed JSON at line 1, column [0-9]+: '
expect_match "a duplicate member: 400" "$(post /v1/tokens "$ROOTTOK" '{"name":"x","name":"y"}')" \
	'^400 \{"error":\{"code":"malformed_json".*duplicate'
expect_match "not an object: 400" "$(post /v1/tokens "$ROOTTOK" '[1]')" '^400 \{"error":\{"code":"invalid_body"'
expect_match "a missing field: 400 naming it" "$(post /v1/tokens "$ROOTTOK" '{"tenant":"acme"}')" \
	'^400 \{"error":\{"code":"missing_field",.*"field":"name"'
expect_match "a field of the wrong type: 400 naming it" "$(post /v1/tokens "$ROOTTOK" '{"name":5,"tenant":"acme"}')" \
	'^400 \{"error":\{"code":"invalid_field",.*"field":"name"'
expect_match "an unknown field: 400 naming it" \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"x","tenant":"acme","admin":true}')" \
	'^400 \{"error":\{"code":"unknown_field",.*"field":"admin"'
expect_match "invalid UTF-8: 400" "$(post /v1/tokens "$ROOTTOK" "$(printf '{"name":"\xff","tenant":"acme"}')")" \
	'^400 \{"error":\{"code":"malformed_json".*0xff'
expect_match "a NUL in a string: 400" "$(post /v1/tokens "$ROOTTOK" '{"name":"x\u0000y","tenant":"acme"}')" '^400 '
expect_match "text/plain: 415" \
	"$(call POST /v1/tokens "$ROOTTOK" -H 'Content-Type: text/plain' --data-binary '{}')" \
	'^415 \{"error":\{"code":"unsupported_media_type"'
expect_match "no Content-Type: 415" "$(call POST /v1/tokens "$ROOTTOK" -H 'Content-Type:' --data-binary '{}')" '^415 '
expect_match "application/json; charset=utf-8 is JSON" \
	"$(post /v1/tokens "$ROOTTOK" '{}' -H 'Content-Type: application/json; charset=utf-8')" '^400 .*missing_field'
head -c 1048577 /dev/zero | tr '\0' ' ' >"$T/big"
expect_match "a body over 1 MiB: 413" "$(post /v1/tokens "$ROOTTOK" "@$T/big")" \
	'^413 \{"error":\{"code":"body_too_large"'
expect_match "... chunked too: 413" "$(post /v1/tokens "$ROOTTOK" "@$T/big" -H 'Transfer-Encoding: chunked')" \
	'^413 \{"error":\{"code":"body_too_large"'
head -c 1048576 /dev/zero | tr '\0' ' ' >"$T/max"
expect_match "exactly 1 MiB is read (and refused as JSON with no value)" "$(post /v1/tokens "$ROOTTOK" "@$T/max")" \
	'^400 \{"error":\{"code":"malformed_json"'
sent=$(head -c 20000000 /dev/zero | curl -s -o /dev/null -w '%{size_upload}' -H "Authorization: Bearer $ROOTTOK" \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @- "$API/v1/tokens")
expect_match "an endless chunked body is cut off after 4 MiB or so ($sent of 20000000 bytes sent)" \
	"$sent" '^[0-9]{1,7}$'
expect_match "an unknown path: 404" "$(call GET /v1/nothing "$ROOTTOK")" '^404 \{"error":\{"code":"no_such_path"'
expect_match "a path with a trailing slash: 404" "$(call GET /v1/status/ "$ROOTTOK")" '^404 '
expect_match "a wrong method: 405" "$(call PUT /v1/tokens "$ROOTTOK")" '^405 \{"error":\{"code":"method_not_allowed"'
expect "... with Allow" "$(header Allow)" "GET, POST"
expect_match "the server still answers" "$(call GET /v1/status "$ROOTTOK")" '^200 '

# ---- idempotency ----
KEY="k-$$"
keyed_retry /v1/tokens /v1/tokens "$ROOTTOK" '{"name":"idem","tenant":"beta"}' "$KEY"
expect "... and made nothing twice" "$(sqlite3 "$DB" "SELECT count(*) FROM api_tokens WHERE name = 'idem'")" 1
expect_match "the key with another body: 422" \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"idem2","tenant":"beta"}' -H "Idempotency-Key: $KEY")" \
	'^422 \{"error":\{"code":"idempotency_key_reused".*"field":"Idempotency-Key"'
expect "... which made nothing" "$(sqlite3 "$DB" "SELECT count(*) FROM api_tokens WHERE name = 'idem2'")" 0
expect_match "a refusal is not kept: a 409 under a new key..." \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"idem","tenant":"beta"}' -H "Idempotency-Key: $KEY-b")" '^409 '
ctl api-token revoke idem >/dev/null
expect_match "... is tried again on retry, and succeeds once possible" \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"idem","tenant":"beta"}' -H "Idempotency-Key: $KEY-b")" '^201 '
expect_match "a key of control characters: 400" \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"i3","tenant":"beta"}' -H "Idempotency-Key: $(printf 'a\tb')")" \
	'^400 .*"field":"Idempotency-Key"'
expect_match "a key of 256 characters: 400" \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"i3","tenant":"beta"}' -H "Idempotency-Key: $(printf 'k%.0s' $(seq 256))")" \
	'^400 .*"field":"Idempotency-Key"'
expect "kept: one response per key" "$(sqlite3 "$DB" "SELECT count(*) FROM api_idempotency")" 2

# ---- the store locked by another writer ----
rm -f "$T/release" "$T/lock.out"
"$PY" "$APICHECK" lockhold "$DB" "$T/release" >"$T/lock.out" 2>&1 &
LOCK_PID=$!
wait_for "another writer holds the store's lock" 10 grep -q locked "$T/lock.out"
t0=$(date +%s%N)
r=$(post /v1/tokens "$ROOTTOK" '{"name":"late","tenant":"acme"}' -H "Idempotency-Key: late-$$")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_match "a write while it is locked: 503 store_busy" "$r" '^503 \{"error":\{"code":"store_busy"'
expect "... with Retry-After" "$(header Retry-After)" 1
expect_match "... after waiting the --lock-timeout of 500 ms, not more (${ms} ms)" "$ms" '^(4[5-9][0-9]|[5-9][0-9][0-9]|1[0-9][0-9][0-9])$'
expect_match "reads still answer meanwhile" "$(call GET /v1/status "$ROOTTOK")" '^200 '
expect_match "... and tokens are still checked (a revoked one refused)" "$(call GET /v1/status "$BYE")" '^401 '
touch "$T/release"
wait "$LOCK_PID"
expect "nothing was made while locked" "$(sqlite3 "$DB" "SELECT count(*) FROM api_tokens WHERE name = 'late'")" 0
expect_match "once freed, the same request succeeds (the 503 was not kept)" \
	"$(post /v1/tokens "$ROOTTOK" '{"name":"late","tenant":"acme"}' -H "Idempotency-Key: late-$$")" '^201 '

# ---- slow clients, many clients ----
pycheck slow "$API" "$ROOTTOK" 2
pycheck concurrent "$API" "$ROOTTOK" 64

# ---- the responses against docs/openapi.yaml ----
pycheck openapi "$API" "$ROOTTOK" "$ACME" "$BETA" "$ROOT/docs/openapi.yaml"

# ---- a clean stop ----
stop_api
expect "the ready file is gone" "$([ -e "$T/api.ready" ] && echo there || echo gone)" gone
expect "every request got one log line (no lost ones)" \
	"$(grep -c 'dnsd-api info: [A-Z]* /' "$T/api.log" | awk '$1 > 700 {print "many"}')" "many"

# ---- the connection limit ----
start_api --listen 127.0.0.1:0 --max-connections 4 --threads 1 || finish
pycheck limit "$API" "$ROOTTOK" 4
stop_api

# ---- UNIX socket, TLS, refusals ----
start_api --socket "$T/api.sock" || finish
expect "the socket's mode is 0660" "$(stat -c %a "$T/api.sock")" 660
expect_match "a request over the socket" \
	"$(curl -s --unix-socket "$T/api.sock" -H "Authorization: Bearer $ROOTTOK" http://x/v1/status)" "\"schema_version\":$SCHEMA"
check_fails "a second server on the same socket is refused" "$DNSDAPI" --db "$DB" --config "$T/dnsdctl.conf" --socket "$T/api.sock"
stop_api
expect "the socket is removed on stop" "$([ -e "$T/api.sock" ] && echo there || echo gone)" gone

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
	-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
chmod 600 "$T/key.pem"
start_api --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" || finish
HTTPS="https://$(cat "$T/api.ready")"
expect_match "HTTPS with the server's certificate" \
	"$(curl -s --cacert "$T/cert.pem" -H "Authorization: Bearer $ROOTTOK" "$HTTPS/v1/status")" "\"schema_version\":$SCHEMA"
check_fails "plain HTTP on the TLS port gets no answer" curl -s -f --max-time 3 "${HTTPS/https/http}/v1/status"
stop_api
check_fails "--tls-cert without --tls-key is refused" "$DNSDAPI" --db "$DB" --tls-cert "$T/cert.pem"
chmod 666 "$T/key.pem"
check_fails "a key file others may write is refused" "$DNSDAPI" --db "$DB" --config "$T/dnsdctl.conf" \
	--listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
check_fails "a bad --listen is refused" "$DNSDAPI" --db "$DB" --config "$T/dnsdctl.conf" --listen nowhere
expect "an unknown option: exit 2" "$("$DNSDAPI" --db "$DB" --bogus x 2>/dev/null; echo $?)" 2
expect "--timeout 0: exit 2" "$("$DNSDAPI" --db "$DB" --timeout 0 2>/dev/null; echo $?)" 2
check_fails "a missing store is refused" "$DNSDAPI" --db "$T/none.db" --config "$T/dnsdctl.conf"
finish
