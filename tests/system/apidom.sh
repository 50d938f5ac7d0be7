#!/bin/bash
# apidom: dnsd-api's tenants, domains and policies on loopback with real clients (curl,
# python3): every endpoint, a tenant's token kept to its tenant (another's objects are 404, as
# missing ones), each malformed field named, 409s, an idempotent retry of POST /v1/domains,
# paging through 250 domains, a domain added over the API answering its DKIM key through the
# real dnsd, its removal, and the responses against docs/openapi.yaml.
. "$(dirname "$0")/lib"
. "$(dirname "$0")/apilib"

new_store
ctl tenant add beta >/dev/null
ctl domain add beta.example --tenant beta --algorithm ed25519 >/dev/null
ROOTTOK=$(ctl api-token add root 2>/dev/null)
ACME=$(ctl api-token add acme-app --tenant acme 2>/dev/null)
BETA=$(ctl api-token add beta-app --tenant beta 2>/dev/null)
start_api --listen 127.0.0.1:0 || finish
# put PATH TOKEN JSON
put() {
	local p=$1 tok=$2 body=$3
	shift 3
	call PUT "$p" "$tok" -H 'Content-Type: application/json' --data-binary "$body" "$@"
}
# count SQL: one number from the store.
count() { sqlite3 "$DB" "$1"; }

# ---- tenants ----
r=$(post /v1/tenants "$ROOTTOK" '{"name":"gamma","slots":4,"ed25519":true}')
expect_match "POST /v1/tenants: 201" "$r" '^201 '
expect "... with Location" "$(header Location)" "/v1/tenants/gamma"
expect "... the tenant as dnsdctl keeps it" \
	"$(json 'd["name"], d["domains"], d["slots"], d["ed25519"], d["policy"]')" \
	"('gamma', 0, 4, True, {'spf': None, 'mx': None, 'dmarc': None})"
expect "dnsdctl sees it" "$(ctl tenant show gamma --json | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["slots"], d["ed25519"])')" "4 yes"
expect_match "the same name again, in another case: 409" "$(post /v1/tenants "$ROOTTOK" '{"name":"GAMMA"}')" \
	'^409 \{"error":\{"code":"exists",.*"field":"name"'
expect_match "a bad name: 400 naming it" "$(post /v1/tenants "$ROOTTOK" '{"name":"a b"}')" '^400 .*"field":"name"'
expect_match "no name: 400" "$(post /v1/tenants "$ROOTTOK" '{}')" '^400 .*"code":"missing_field".*"field":"name"'
expect_match "slots 9: 400 naming it" "$(post /v1/tenants "$ROOTTOK" '{"name":"d","slots":9}')" \
	'^400 .*"field":"slots"'
expect_match "slots \"3\": 400" "$(post /v1/tenants "$ROOTTOK" '{"name":"d","slots":"3"}')" '^400 .*"field":"slots"'
expect_match "ed25519 \"yes\": 400" "$(post /v1/tenants "$ROOTTOK" '{"name":"d","ed25519":"yes"}')" \
	'^400 .*"field":"ed25519"'
expect_match "an unknown member: 400" "$(post /v1/tenants "$ROOTTOK" '{"name":"d","owner":"x"}')" \
	'^400 .*"code":"unknown_field".*"field":"owner"'
expect "none of those made a tenant" "$(count "SELECT count(*) FROM tenants WHERE name = 'd'")" 0
expect_match "a tenant's token may not make tenants: 403" "$(post /v1/tenants "$ACME" '{"name":"d"}')" '^403 '
call GET /v1/tenants "$ROOTTOK" >/dev/null
expect "GET /v1/tenants: every tenant, by name" "$(json '[(t["name"], t["domains"]) for t in d["tenants"]]')" \
	"[('acme', 0), ('beta', 1), ('gamma', 0)]"
expect "... with the policy each sets (none)" "$(json 'd["tenants"][0]["policy"]["spf"]')" "None"
call GET /v1/tenants "$ACME" >/dev/null
expect "a tenant's token lists its own only" "$(json '[t["name"] for t in d["tenants"]]')" "['acme']"
expect_match "GET /v1/tenants/acme with acme's token: 200" "$(call GET /v1/tenants/acme "$ACME")" '^200 .*"name":"acme"'
expect_match "GET /v1/tenants/beta with acme's token: 404" "$(call GET /v1/tenants/beta "$ACME")" \
	'^404 \{"error":\{"code":"not_found","message":"no tenant .beta.'
expect "... the same answer as for a tenant nobody has" \
	"$(call GET /v1/tenants/nobody "$ACME" | sed 's/nobody/beta/')" "$(call GET /v1/tenants/beta "$ACME")"
expect_match "GET /v1/tenants/nobody with the platform token: 404" "$(call GET /v1/tenants/nobody "$ROOTTOK")" '^404 '
expect_match "DELETE a tenant that has domains: 409" "$(call DELETE /v1/tenants/beta "$ROOTTOK")" \
	'^409 \{"error":\{"code":"exists"'
expect_match "DELETE with a tenant's token: 403" "$(call DELETE /v1/tenants/gamma "$ACME")" '^403 '
expect_match "DELETE /v1/tenants/gamma: 204" "$(call DELETE /v1/tenants/gamma "$ROOTTOK")" '^204 $'
expect_match "... then 404" "$(call GET /v1/tenants/gamma "$ROOTTOK")" '^404 '
expect_match "... and DELETE again: 404" "$(call DELETE /v1/tenants/gamma "$ROOTTOK")" '^404 '

# ---- domains: add, show, records ----
# exported DOMAIN: the signer's exports (keys.json, beside the store) sign DOMAIN with a key.
exported() {
	"$PY" -c "import json,sys; sys.exit(0 if any(k['domain'] == sys.argv[2] for k in json.load(open(sys.argv[1]))['keys']) else 1)" \
		"$T/exports/keys.json" "$1" 2>/dev/null
}
not_exported() { ! exported "$1"; }
r=$(post /v1/domains "$ACME" '{"domain":"Shop.Example."}')
expect_match "POST /v1/domains with acme's token: 201" "$r" '^201 '
wait_for "... and the signer's exports sign it soon after (the exporter thread)" 10 exported shop.example
expect "... Location in the stored form" "$(header Location)" "/v1/domains/shop.example"
expect "... acme's, active, with the CNAMEs to publish and the TTL" \
	"$(json 'd["domain"], d["tenant"], d["state"], [(x["type"], x["purpose"], x["optional"]) for x in d["records"]], d["ttl"]')" \
	"('shop.example', 'acme', 'active', [('CNAME', 'dkim', False), ('CNAME', 'dkim', False), ('CNAME', 'dkim', False), ('CNAME', 'return-path', False), ('CNAME', 'dmarc', True)], 3600)"
TOK=$(json 'd["token"]')
expect "the records are dnsdctl's" "$(json '[[x["name"], x["value"]] for x in d["records"]]')" \
	"$(ctl domain records shop.example --json | "$PY" -c 'import json,sys; print([[x["name"], x["value"]] for x in json.load(sys.stdin)["records"]])')"
expect "one domain, with its first key's events, in the store" \
	"$(count "SELECT count(*) FROM domains WHERE name = 'shop.example'") $(count "SELECT count(*) FROM key_events e JOIN domains d ON d.id = e.domain_id WHERE d.name = 'shop.example' AND e.cause LIKE 'domain add (API)%'")" "1 3"
expect_match "again: 409 naming the domain" "$(post /v1/domains "$ROOTTOK" '{"domain":"shop.example","tenant":"beta"}')" \
	'^409 \{"error":\{"code":"exists","message":"domain shop.example already exists","field":"domain"'
expect_match "... which tells beta's token neither acme nor the token" \
	"$(post /v1/domains "$BETA" '{"domain":"shop.example"}')" '^409 [^,]*,"message":"domain shop.example already exists"'
call GET /v1/domains/shop.example "$ACME" >/dev/null
expect "GET /v1/domains/shop.example: the domain, the policy in force, its slots" \
	"$(json 'd["domain"], d["token"] == "'"$TOK"'", d["policy"]["mx"], [(s["selector"], s["role"], s["state"], s["algorithm"]) for s in d["slots"]]')" \
	"('shop.example', True, '10 bounce.auth.demo.example.', [('esp1', 'main', 'active', 'rsa-2048'), ('esp2', 'main', 'empty', None), ('esp3', 'main', 'empty', None)])"
expect_match "beta's token: 404" "$(call GET /v1/domains/shop.example "$BETA")" \
	'^404 \{"error":\{"code":"not_found","message":"no domain .shop.example.'
expect "... the same answer as for a domain nobody has" \
	"$(call GET /v1/domains/none.example "$BETA" | sed 's/none/shop/')" "$(call GET /v1/domains/shop.example "$BETA")"
expect_match "... nor its records" "$(call GET /v1/domains/shop.example/records "$BETA")" '^404 '
# same_404 DESC METHOD PATH [CURL ARGS...]: beta's token on PATH (of shop.example) gets the very
# reply it gets for a domain nobody has (none.example).
same_404() {
	local d=$1 m=$2 p=$3 other missing
	shift 3
	other=$(call "$m" "$p" "$BETA" "$@")
	missing=$(call "$m" "${p//shop.example/none.example}" "$BETA" "$@")
	expect "$d: 404, the reply of a domain nobody has" "${other//shop.example/X}" \
		"${missing//none.example/X}"
}
same_404 "GET .../records" GET /v1/domains/shop.example/records
same_404 "GET .../policy" GET /v1/domains/shop.example/policy
same_404 "PUT .../policy" PUT /v1/domains/shop.example/policy -H 'Content-Type: application/json' \
	--data-binary '{"spf":null}'
same_404 "DELETE" DELETE /v1/domains/shop.example
expect_match "a bad name in the path: 400" "$(call GET /v1/domains/bad..example "$ACME")" '^400 .*"field":"domain"'
call GET /v1/domains/shop.example/records "$ACME" >/dev/null
expect "GET .../records: the records and the TTL" "$(json 'len(d["records"]), d["ttl"], sorted(d)')" \
	"(5, 3600, ['records', 'ttl'])"

# A platform token names the tenant; a tenant's token may name only its own.
expect_match "the platform token without a tenant: 400" "$(post /v1/domains "$ROOTTOK" '{"domain":"p.example"}')" \
	'^400 .*"code":"missing_field".*"field":"tenant"'
expect_match "an unknown tenant: 400 naming it" \
	"$(post /v1/domains "$ROOTTOK" '{"domain":"p.example","tenant":"nobody"}')" '^400 .*"field":"tenant"'
expect_match "acme's token naming beta: 404" "$(post /v1/domains "$ACME" '{"domain":"p.example","tenant":"beta"}')" \
	'^404 \{"error":\{"code":"not_found"'
expect_match "... and naming a tenant nobody has: the same" \
	"$(post /v1/domains "$ACME" '{"domain":"p.example","tenant":"nobody"}')" '^404 \{"error":\{"code":"not_found"'
expect_match "acme's token naming acme: 201" \
	"$(post /v1/domains "$ACME" '{"domain":"named.example","tenant":"ACME","algorithm":"ed25519","slots":2,"ed25519":false,"return_path":"rp"}')" \
	'^201 '
expect "... with what the body asked" \
	"$(json '[x["name"] for x in d["records"]]')" \
	"['esp1._domainkey.named.example.', 'esp2._domainkey.named.example.', 'rp.named.example.', '_dmarc.named.example.']"
# Each malformed member is named.
for c in 'domain|{"domain":"a..b","tenant":"acme"}' 'domain|{"domain":5,"tenant":"acme"}' \
	'domain|{"tenant":"acme"}' 'tenant|{"domain":"x.example","tenant":7}' \
	'algorithm|{"domain":"x.example","tenant":"acme","algorithm":"rsa-1024"}' \
	'algorithm|{"domain":"x.example","tenant":"acme","algorithm":"dsa"}' \
	'slots|{"domain":"x.example","tenant":"acme","slots":1}' \
	'ed25519|{"domain":"x.example","tenant":"acme","ed25519":1}' \
	'return_path|{"domain":"x.example","tenant":"acme","return_path":"a b"}' \
	'key|{"domain":"x.example","tenant":"acme","key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}' \
	'key|{"domain":"x.example","tenant":"acme","key":42}' \
	'domain|{"domain":"x.auth.demo.example","tenant":"acme"}' \
	'color|{"domain":"x.example","tenant":"acme","color":"red"}'; do
	f=${c%%|*} b=${c#*|}
	expect_match "POST /v1/domains $b: 400 naming $f" "$(post /v1/domains "$ROOTTOK" "$b")" "^400 .*\"field\":\"$f\""
done
expect "none of those made a domain" "$(count "SELECT count(*) FROM domains WHERE name = 'x.example'")" 0

# The migration case: the customer's existing private key, as PEM text.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/old.pem" 2>/dev/null
body=$("$PY" -c 'import json,sys; print(json.dumps({"domain":"moved.example","tenant":"beta","key":open(sys.argv[1]).read()}))' "$T/old.pem")
expect_match "POST /v1/domains with a PEM key: 201" "$(post /v1/domains "$ROOTTOK" "$body")" '^201 '
want=$(openssl pkey -in "$T/old.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
expect "... its first key is the one given" \
	"$(count "SELECT k.public_key FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = 'moved.example' AND s.position = 1")" "$want"
expect "... imported, with the key file's copy beside the others" \
	"$(count "SELECT e.event FROM key_events e JOIN domains d ON d.id = e.domain_id WHERE d.name = 'moved.example' ORDER BY e.id LIMIT 1") $(ls "$KEYS/moved.example" | grep -c imported)" "imported 1"

# ---- an idempotent retry ----
KEY="dom-$$"
keyed_retry /v1/domains /v1/domains "$ROOTTOK" '{"domain":"retry.example","tenant":"acme","algorithm":"ed25519"}' "$KEY"
expect "... one domain, one key file" \
	"$(count "SELECT count(*) FROM domains WHERE name = 'retry.example'") $(ls "$KEYS/retry.example" | wc -l)" "1 1"
expect_match "the same domain under another key: 409" \
	"$(post /v1/domains "$ROOTTOK" '{"domain":"retry.example","tenant":"acme"}' -H "Idempotency-Key: $KEY-2")" '^409 '

# ---- the list, and paging ----
call GET /v1/domains "$ACME" >/dev/null
expect "GET /v1/domains with acme's token: acme's, by name" \
	"$(json '[x["domain"] for x in d["domains"]], d["next"]')" \
	"(['named.example', 'retry.example', 'shop.example'], None)"
call GET "/v1/domains?tenant=beta" "$ACME" >/dev/null
expect_match "... naming beta in the filter: 404" "$(call GET "/v1/domains?tenant=beta" "$ACME")" '^404 '
call GET "/v1/domains?tenant=acme" "$ACME" >/dev/null
expect "... naming its own: the same list" "$(json 'len(d["domains"])')" 3
call GET "/v1/domains?tenant=beta" "$ROOTTOK" >/dev/null
expect "the platform token filters by tenant" "$(json '[x["domain"] for x in d["domains"]]')" "['beta.example', 'moved.example']"
call GET "/v1/domains?q=EXAMPLE&limit=2" "$ROOTTOK" >/dev/null
expect "q and limit: the first 2 whose name holds the text, and a next" \
	"$(json '[x["domain"] for x in d["domains"]], d["next"] is not None')" "(['beta.example', 'moved.example'], True)"
call GET "/v1/domains?q=ret" "$ROOTTOK" >/dev/null
expect "q=ret" "$(json '[x["domain"] for x in d["domains"]]')" "['retry.example']"
call GET "/v1/domains?check=pending&tenant=acme" "$ROOTTOK" >/dev/null
expect "check=pending: the domains never checked" "$(json 'len(d["domains"])')" 3
call GET "/v1/domains?check=verified" "$ROOTTOK" >/dev/null
expect "check=verified: none yet" "$(json 'd["domains"]')" "[]"
for c in 'limit|limit=0' 'limit|limit=1001' 'limit|limit=x' 'limit|limit=' 'after|after=nocolon' \
	'after|after=a.example:0' 'state|state=gone' 'check|check=ok' 'tenant|tenant=nobody'; do
	f=${c%%|*} qs=${c#*|}
	expect_match "GET /v1/domains?$qs: 400 naming $f" "$(call GET "/v1/domains?$qs" "$ROOTTOK")" "^400 .*\"field\":\"$f\""
done
"$PY" - "$API" "$ROOTTOK" <<'EOF' >"$T/bulk.out" 2>&1
import http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
h = {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"}
for i in range(250):
    c.request("POST", "/v1/domains", json.dumps({"domain": "p%03d.bulk.example" % i, "tenant": "beta",
                                                 "algorithm": "ed25519"}), h)
    r = c.getresponse(); r.read()
    if r.status != 201:
        print("failed", i, r.status); sys.exit(1)
print("added 250")
EOF
expect "250 domains added over one connection" "$(cat "$T/bulk.out")" "added 250"
"$PY" - "$API" "$ROOTTOK" <<'EOF' >"$T/pages.out" 2>&1
import http.client, json, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
h = {"Authorization": "Bearer " + sys.argv[2]}
seen, sizes, after = [], [], None
while True:
    p = "/v1/domains?q=.bulk.&limit=100" + ("&after=" + urllib.parse.quote(after) if after else "")
    c.request("GET", p, headers=h)
    r = c.getresponse(); d = json.loads(r.read())
    sizes.append(len(d["domains"]))
    seen += [x["domain"] for x in d["domains"]]
    after = d["next"]
    if not after or len(sizes) > 10:
        break
want = ["p%03d.bulk.example" % i for i in range(250)]
print(sizes, "in order, no duplicates, no gaps" if seen == want else "wrong: %r" % seen[:5])
EOF
expect "paging 250 domains with limit=100: 3 pages, each domain once" "$(cat "$T/pages.out")" \
	"[100, 100, 50] in order, no duplicates, no gaps"
call GET "/v1/domains?limit=1000&tenant=beta" "$ROOTTOK" >/dev/null
expect "limit=1000: all 252 of beta's in one page" "$(json 'len(d["domains"]), d["next"]')" "(252, None)"

# ---- policies ----
call GET /v1/policy "$ACME" >/dev/null
expect "GET /v1/policy: the global ones (any token)" "$(json 'd["level"], d["own"]["mx"], d["effective"]["mx"]')" \
	"('global', '10 bounce.auth.demo.example.', '10 bounce.auth.demo.example.')"
expect_match "PUT /v1/policy with a tenant's token: 403" "$(put /v1/policy "$ACME" '{"mx":"10 a.example."}')" '^403 '
r=$(put /v1/tenants/acme/policy "$ACME" '{"spf":"v=spf1 ip4:192.0.2.7 -all","mx":"20 mx.acme.example."}')
expect_match "PUT /v1/tenants/acme/policy with acme's token: 200" "$r" '^200 '
expect "... own and in force" "$(json 'd["level"], d["own"], d["effective"]["dmarc"] is not None')" \
	"('tenant', {'spf': 'v=spf1 ip4:192.0.2.7 -all', 'mx': '20 mx.acme.example.', 'dmarc': None}, True)"
expect "dnsdctl sees it" "$(ctl spf show --tenant acme)" "spf (tenant acme): v=spf1 ip4:192.0.2.7 -all
effective: v=spf1 ip4:192.0.2.7 -all"
r2=$(put /v1/tenants/acme/policy "$ACME" '{"spf":"v=spf1 ip4:192.0.2.7 -all","mx":"20 mx.acme.example."}')
expect "PUT again: the same answer (idempotent)" "$r2" "$r"
expect_match "beta's token on acme's policy: 404" "$(put /v1/tenants/acme/policy "$BETA" '{"mx":null}')" '^404 '
expect_match "... reading it too" "$(call GET /v1/tenants/acme/policy "$BETA")" '^404 '
before=$(count "SELECT group_concat(kind || value) FROM policies")
expect_match "a bad DMARC beside a good SPF: 400 naming dmarc" \
	"$(put /v1/tenants/acme/policy "$ROOTTOK" '{"spf":"v=spf1 -all","dmarc":"p=none"}')" '^400 .*"field":"dmarc"'
expect_match "a bad SPF: 400 naming spf" "$(put /v1/tenants/acme/policy "$ROOTTOK" '{"spf":"v=spf1 bogus"}')" \
	'^400 .*"field":"spf"'
expect_match "a number: 400 naming mx" "$(put /v1/tenants/acme/policy "$ROOTTOK" '{"mx":10}')" \
	'^400 .*"code":"invalid_field".*"field":"mx"'
expect_match "an unknown member: 400" "$(put /v1/tenants/acme/policy "$ROOTTOK" '{"txt":"x"}')" \
	'^400 .*"code":"unknown_field".*"field":"txt"'
expect "nothing of them was applied" "$(count "SELECT group_concat(kind || value) FROM policies")" "$before"
r=$(put /v1/domains/shop.example/policy "$ACME" '{"dmarc":"v=DMARC1; p=reject"}')
expect_match "PUT /v1/domains/shop.example/policy: 200" "$r" '^200 '
expect "... the domain's own, and what it inherits" "$(json 'd["level"], d["own"]["dmarc"], d["own"]["spf"], d["effective"]["spf"]')" \
	"('domain', 'v=DMARC1; p=reject', None, 'v=spf1 ip4:192.0.2.7 -all')"
r=$(put /v1/tenants/acme/policy "$ACME" '{"mx":null}')
expect "null clears, absent leaves" "$(json 'd["own"]["mx"], d["own"]["spf"], d["effective"]["mx"]')" \
	"(None, 'v=spf1 ip4:192.0.2.7 -all', '10 bounce.auth.demo.example.')"
call GET /v1/domains/shop.example/policy "$ACME" >/dev/null
expect "GET /v1/domains/shop.example/policy" "$(json 'd["own"]["dmarc"], d["effective"]["mx"]')" \
	"('v=DMARC1; p=reject', '10 bounce.auth.demo.example.')"
expect_match "beta's token on shop.example's policy: 404" "$(call GET /v1/domains/shop.example/policy "$BETA")" '^404 '
expect_match "PUT /v1/policy (platform)" "$(put /v1/policy "$ROOTTOK" '{"dmarc":"v=DMARC1; p=quarantine"}')" \
	'^200 .*"level":"global"'
expect "dnsdctl sees the global DMARC" "$(ctl dmarc show)" "dmarc (global): v=DMARC1; p=quarantine"

# ---- through the real dnsd ----
start_dnsd || finish
key=$(count "SELECT k.public_key FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = 'shop.example' AND s.position = 1")
wait_for "dnsd answers the DKIM key of a domain added over the API" 5 \
	sh -c "dig @127.0.0.1 -p $PORT +short +tries=1 +time=1 TXT esp1.$TOK.dkim.$ZONE | tr -d '\" \n' | grep -qF 'p=$key'"
expect "... and its Return-Path's MX" "$(q MX "$TOK.rp.$ZONE")" "10 bounce.auth.demo.example."

# ---- removal ----
expect_match "beta's token cannot remove acme's domain: 404" "$(call DELETE /v1/domains/shop.example "$BETA")" '^404 '
expect "... which is still active" "$(count "SELECT state FROM domains WHERE name = 'shop.example'")" "active"
expect_match "DELETE /v1/domains/shop.example: 204" "$(call DELETE /v1/domains/shop.example "$ACME")" '^204 $'
expect "... its keys revoked as dnsdctl domain remove does" \
	"$(count "SELECT d.state, count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = 'shop.example' AND k.state = 'revoked' AND k.revoked_at > 0")" "removed|1"
wait_for "... and dnsd answers its DKIM name with a revoked key (p=)" 5 \
	sh -c "dig @127.0.0.1 -p $PORT +short +tries=1 +time=1 TXT esp1.$TOK.dkim.$ZONE | tr -d '\" \n' | grep -Eq 'p=(;|$)'"
wait_for "... and the signer's exports stop signing it soon after" 10 not_exported shop.example
expect_match "again: 404" "$(call DELETE /v1/domains/shop.example "$ACME")" '^404 '
call GET /v1/domains/shop.example "$ACME" >/dev/null
expect "GET shows it removed, with no policy in force" "$(json 'd["state"], d["removed_at"] is not None, d["policy"]["spf"]')" \
	"('removed', True, None)"
expect_match "... its records are no more" "$(call GET /v1/domains/shop.example/records "$ACME")" '^404 '
call GET "/v1/domains?state=removed" "$ACME" >/dev/null
expect "state=removed lists it" "$(json '[x["domain"] for x in d["domains"]]')" "['shop.example']"

# ---- the responses against docs/openapi.yaml ----
APICHECK="$ROOT/tests/system/apidomcheck.py" pycheck openapi "$API" "$ROOTTOK" "$ACME" "$BETA" "$ROOT/docs/openapi.yaml"

stop_api
finish
