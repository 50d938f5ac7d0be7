#!/bin/bash
# apikeys: dnsd-api's key resources on loopback, with curl and the real dnsd answering dig: the key
# list with public values, rotate, revoke by id (the selector answers p=, the replacement signs),
# key put (never an empty answer in between; the same key twice changes nothing), import, the bulk
# rotate and the emergency bulk revoke; a tenant's token reaching only its own domains; every
# response checked against docs/openapi.yaml.
. "$(dirname "$0")/lib"
DNSDAPI="$BUILD/dnsd-api"
APICHECK="$ROOT/tests/system/apicheck.py"
API_PID="" API=""

# start_api: dnsd-api on a port the OS picks; waits for its ready file.
start_api() {
	rm -f "$T/api.ready"
	"$DNSDAPI" --config "$T/dnsdctl.conf" --db "$DB" --ready-file "$T/api.ready" --timeout 5 \
		--listen 127.0.0.1:0 2>>"$T/api.log" &
	API_PID=$!
	for _ in $(seq 1 200); do
		[ -s "$T/api.ready" ] && break
		kill -0 "$API_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$T/api.ready" ]; then
		not_ok "dnsd-api started"; cat "$T/api.log"; API_PID=""; return 1
	fi
	API="http://$(cat "$T/api.ready")"
}
# stop_api: SIGTERM; it must exit 0, with no sanitizer report in its log.
stop_api() {
	[ -n "$API_PID" ] || return 0
	local rc
	kill "$API_PID" 2>/dev/null
	wait "$API_PID" 2>/dev/null
	rc=$?
	API_PID=""
	if [ "$rc" -ne 0 ] || grep -Eq 'Sanitizer|runtime error' "$T/api.log"; then
		not_ok "dnsd-api stopped cleanly (exit $rc)"
		grep -E -A20 'Sanitizer|runtime error' "$T/api.log" | head -40
	else
		ok "dnsd-api stopped cleanly on SIGTERM"
	fi
}
trap 'stop_api; cleanup' EXIT

# call METHOD PATTERN PATH TOKEN [JSON [CURL ARGS...]]: prints "STATUS BODY", and records the
# response for the check against openapi.yaml (PATTERN: its path there).
call() {
	local m=$1 pat=$2 p=$3 tok=$4 body=${5-} st f
	shift 4
	[ $# -gt 0 ] && shift
	st=$(curl -s -S -o "$T/body" -D "$T/h" -w '%{http_code}' -X "$m" \
		${tok:+-H "Authorization: Bearer $tok"} ${body:+-H 'Content-Type: application/json'} \
		${body:+--data-binary "$body"} "$@" "$API$p")
	f=$(mktemp "$T/resp.XXXXXX") # call runs in $(...): no counter survives it
	cp "$T/body" "$f"
	echo "$m $pat $st $f" >>"$T/manifest"
	printf '%s %s' "$st" "$(cat "$T/body")"
}
# json EXPR: a value of the last body, by a python expression over d.
json() { "$PY" -c "import json,sys; d=json.load(open('$T/body')); print(($1))"; }
KP=/v1/domains/{domain}/keys
# keys DOMAIN TOKEN: GET its keys (the body in $T/body).
keys() { call GET "$KP" "/v1/domains/$1/keys" "$2" >/dev/null; }
# live DOMAIN FIELD: FIELD of each live key, by selector ("sel=value ...").
live() {
	call GET "$KP" "/v1/domains/$1/keys" "$ROOTTOK" >/dev/null
	json "' '.join(sorted(k['selector'] + '=' + str(k['$2']) for k in d['keys'] if k['state'] != 'revoked'))"
}
# field DOMAIN ID FIELD: FIELD of key ID in the list.
field() {
	call GET "$KP" "/v1/domains/$1/keys" "$ROOTTOK" >/dev/null
	json "[k['$3'] for k in d['keys'] if k['id'] == $2][0]"
}
declare -A TOK
# raw DOMAIN SEL: the TXT dnsd answers for the selector's DKIM name, quotes and spaces removed.
raw() {
	[ -n "${TOK[$1]:-}" ] || TOK[$1]=$(token "$1")
	q "$2.${TOK[$1]}.dkim.$ZONE" TXT | tr -d '" '
}
# served DOMAIN SEL: the p= value dnsd serves for the selector ("" for p=).
served() { raw "$1" "$2" | sed -n 's/.*p=\(.*\)$/\1/p'; }
serves() { [ "$(served "$1" "$2")" = "$3" ]; }
answers_empty() { raw "$1" "$2" | grep -q 'p=$'; }
serial() { sqlite3 "$DB" 'SELECT value FROM serial'; }
# signs DOMAIN: the selectors the signer's exports (keys.json, beside the store) sign DOMAIN with.
signs() {
	"$PY" -c "import json,sys; print(' '.join(k['selector'] for k in json.load(open(sys.argv[1]))['keys'] if k['domain'] == sys.argv[2]))" \
		"$T/exports/keys.json" "$1"
}
nlive() { sqlite3 "$DB" "SELECT count(*) FROM keys WHERE state != 'revoked'"; }
# pem FILE [ALG]: a new private key in PEM; its text as a JSON string in $T/FILE.json.
pem() {
	case "${2:-ed25519}" in
	ed25519) openssl genpkey -algorithm ed25519 -out "$T/$1" 2>/dev/null ;;
	rsa-*) openssl genpkey -algorithm rsa -pkeyopt "rsa_keygen_bits:${2#rsa-}" -out "$T/$1" 2>/dev/null ;;
	esac
	"$PY" -c "import json,sys; print(json.dumps(open(sys.argv[1]).read()))" "$T/$1" >"$T/$1.json"
}

new_store
ctl tenant add beta >/dev/null
ctl domain add a.example --tenant acme --algorithm ed25519 >/dev/null
ctl domain add b.example --tenant acme --algorithm ed25519 >/dev/null
ctl domain add c.example --tenant beta --algorithm ed25519 >/dev/null
ctl domain add d.example --tenant beta --algorithm ed25519 >/dev/null
ctl domain add e.example --tenant acme --algorithm ed25519 >/dev/null
ROOTTOK=$(ctl api-token add root 2>/dev/null)
ACME=$(ctl api-token add acme-app --tenant acme 2>/dev/null)
BETA=$(ctl api-token add beta-app --tenant beta 2>/dev/null)
start_dnsd || finish
start_api || finish

# ---- list ----
r=$(call GET "$KP" /v1/domains/a.example/keys "$ACME")
expect_match "list: 200" "$r" '^200 \{"keys":\['
expect "list: one key, active in esp1, its times" \
	"$(json '[(k["selector"], k["role"], k["algorithm"], k["state"], k["revoked_at"]) for k in d["keys"]]')" \
	"[('esp1', 'main', 'ed25519', 'active', None)]"
A1=$(json 'd["keys"][0]["id"]')
expect "list: a key's members, in order (dnsdctl's JSON names them otherwise)" "$(json '" ".join(d["keys"][0])')" \
	"id selector role algorithm state public_key created_at published_at activated_at retired_at revoked_at active_after rotate_due"
expect_match "list: ISO 8601 times" "$(json 'd["keys"][0]["activated_at"], d["keys"][0]["rotate_due"]')" \
	"^\('20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z', '20[0-9-]{8}T[0-9:]{8}Z'\)$"
P1=$(json 'd["keys"][0]["public_key"]')
expect_match "list: the public value (base64 DER as stored)" "$P1" '^[A-Za-z0-9+/]{43}=$'
expect "... the one dnsd serves" "$(served a.example esp1)" "$P1"
expect "... and the one dnsdctl key list prints" "$(ctl key list a.example | awk '$2 == "esp1" { print $NF }')" "$P1"
call GET "$KP" /v1/domains/a.example/keys "$ROOTTOK" >/dev/null
expect "list, the platform token: the same keys" "$(json '[k["id"] for k in d["keys"]]')" "[$A1]"

# ---- scope: another tenant's domain is 404, word for word as a missing one ----
other=$(call GET "$KP" /v1/domains/a.example/keys "$BETA")
missing=$(call GET "$KP" /v1/domains/zz.example/keys "$BETA")
expect_match "list, another tenant's domain: 404 not_found" "$other" '^404 \{"error":\{"code":"not_found"'
expect "... the same reply as for a domain that is not there" "${other//a.example/X}" "${missing//zz.example/X}"
expect_match "list, not a domain name: 400 field domain" \
	"$(call GET "$KP" /v1/domains/-bad-/keys "$ROOTTOK")" '^400 .*"field":"domain"'
expect_match "rotate, another tenant's domain: 404" \
	"$(call POST $KP/rotate /v1/domains/a.example/keys/rotate "$BETA" '{}')" '^404 .*not_found'
expect_match "revoke, another tenant's domain: 404" \
	"$(call POST $KP/{id}/revoke /v1/domains/a.example/keys/$A1/revoke "$BETA" '{}')" '^404 .*not_found'
expect_match "import, another tenant's domain: 404" \
	"$(call POST "$KP" /v1/domains/a.example/keys "$BETA" '{"key":"x"}')" '^404 .*not_found'
expect_match "put, another tenant's domain: 404" \
	"$(call PUT /v1/domains/{domain}/selectors/{selector}/key /v1/domains/a.example/selectors/esp1/key "$BETA" '{"key":"x"}')" \
	'^404 .*not_found'
# same DESC METHOD PATTERN PATH JSON: beta's token on PATH with JSON (naming a.example) gets the
# very reply it gets for a domain that is not there (zz.example).
same() {
	local other missing
	other=$(call "$2" "$3" "$4" "$BETA" "$5")
	missing=$(call "$2" "$3" "${4//a.example/zz.example}" "$BETA" "${5//a.example/zz.example}")
	expect "$1, another tenant's domain: the reply of a missing one" "${other//a.example/X}" \
		"${missing//zz.example/X}"
}
same rotate POST $KP/rotate /v1/domains/a.example/keys/rotate '{}'
same revoke POST $KP/{id}/revoke /v1/domains/a.example/keys/$A1/revoke '{}'
same import POST "$KP" /v1/domains/a.example/keys '{"key":"x"}'
same put PUT /v1/domains/{domain}/selectors/{selector}/key /v1/domains/a.example/selectors/esp1/key \
	'{"key":"x"}'
same "bulk revoke" POST /v1/keys/revoke /v1/keys/revoke '{"domains":["a.example"],"reason":"x"}'
expect "the refusals changed nothing" "$(live a.example state)" "esp1=active"

# ---- rotate ----
S0=$(serial)
r=$(call POST $KP/rotate /v1/domains/a.example/keys/rotate "$ACME" '{}')
expect_match "rotate: 201, the new key" "$r" '^201 \{"id":[0-9]+,"selector":"esp2","role":"main","algorithm":"ed25519","state":"published"'
P2=$(json 'd["public_key"]')
A2=$(json 'd["id"]')
expect_match "... with its public value and the time it may sign from" "$P2 $(json 'd["active_after"]')" \
	'^[A-Za-z0-9+/]{43}= 20[0-9-]{8}T'
expect "rotate then list: the published key, with its public value" "$(live a.example public_key)" \
	"esp1=$P1 esp2=$P2"
expect "... the store's serial moved" "$([ "$(serial)" -gt "$S0" ] && echo yes)" yes
wait_for "dnsd serves the rotated key's p= in esp2" 3 serves a.example esp2 "$P2"
r=$(call POST $KP/rotate /v1/domains/a.example/keys/rotate "$ACME" '{}')
expect_match "rotate again while a key waits: 409 exists" "$r" '^409 .*"code":"exists"'
expect "... naming no field (none is at fault)" "$(json '"field" in d["error"]')" False
expect_match "rotate, a role that is none: 400 field role" \
	"$(call POST $KP/rotate /v1/domains/b.example/keys/rotate "$ACME" '{"role":"backup"}')" '^400 .*"field":"role"'
expect_match "rotate, an unknown algorithm: 400 field algorithm" \
	"$(call POST $KP/rotate /v1/domains/b.example/keys/rotate "$ACME" '{"algorithm":"rsa-512"}')" \
	'^400 .*"field":"algorithm"'
expect_match "rotate, a role of the wrong type: 400 field role" \
	"$(call POST $KP/rotate /v1/domains/b.example/keys/rotate "$ACME" '{"role":1}')" '^400 .*"invalid_field".*"field":"role"'
expect_match "rotate, an unknown member: 400 naming it" \
	"$(call POST $KP/rotate /v1/domains/b.example/keys/rotate "$ACME" '{"rol":"main"}')" '^400 .*"unknown_field".*"field":"rol"'
expect_match "rotate, no body: 415" "$(call POST $KP/rotate /v1/domains/b.example/keys/rotate "$ACME")" '^415 '
expect_match "rotate, a missing domain: 404" \
	"$(call POST $KP/rotate /v1/domains/zz.example/keys/rotate "$ROOTTOK" '{}')" '^404 '
# Idempotency-Key: the retry gets the same reply, and one key was made.
K1=$(call POST $KP/rotate /v1/domains/b.example/keys/rotate "$ACME" '{}' -H "Idempotency-Key: rot-b-1")
K2=$(call POST $KP/rotate /v1/domains/b.example/keys/rotate "$ACME" '{}' -H "Idempotency-Key: rot-b-1")
expect_match "rotate with an Idempotency-Key: 201" "$K1" '^201 '
expect "... its retry: the same reply" "$K2" "$K1"
expect "... one key made" "$(sqlite3 "$DB" "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = 'b.example'")" 2

# ---- revoke by id ----
expect "the signer's exports sign a.example with esp1" "$(signs a.example)" "esp1"
C1=$(sqlite3 "$DB" "SELECT k.id FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = 'c.example' AND k.state = 'active'")
r=$(call POST $KP/{id}/revoke /v1/domains/a.example/keys/$A1/revoke "$ACME" '{"reason":"leaked"}')
expect_match "revoke esp1's key by its id: 200" "$r" "^200 \\{\"revoked\":\\{\"id\":$A1,\"selector\":\"esp1\""
expect "... revoked; the key published in esp2 replaces it, active now" \
	"$(json 'd["revoked"]["state"], d["replacement"]["id"], d["replacement"]["selector"], d["replacement"]["state"], d["how"]')" \
	"('revoked', $A2, 'esp2', 'active', 'the key already published there')"
expect "list: esp2's key active, esp1 has none" "$(live a.example state)" "esp2=active"
expect "the signer's exports sign a.example with esp2 now, before the reply came" "$(signs a.example)" "esp2"
wait_for "dnsd: the revoked selector esp1 answers p=" 3 answers_empty a.example esp1
expect "dnsd: the replacement's p= in esp2" "$(served a.example esp2)" "$P2"
expect "the event names the reason" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM key_events WHERE key_id = $A1 AND cause LIKE '%leaked%'" 2>/dev/null)" 1
expect_match "revoke it again: 409" \
	"$(call POST $KP/{id}/revoke /v1/domains/a.example/keys/$A1/revoke "$ACME" '{}')" '^409 .*"code":"exists".*already revoked'
expect_match "revoke a key that is not there: 404" \
	"$(call POST $KP/{id}/revoke /v1/domains/a.example/keys/999/revoke "$ACME" '{}')" '^404 .*not_found'
expect_match "revoke another domain's key id: 404" \
	"$(call POST $KP/{id}/revoke /v1/domains/a.example/keys/$C1/revoke "$ROOTTOK" '{}')" '^404 .*not_found'
expect_match "revoke key 'x': 404" \
	"$(call POST $KP/{id}/revoke /v1/domains/a.example/keys/x/revoke "$ACME" '{}')" '^404 '
expect_match "revoke, a reason that is no string: 400 field reason" \
	"$(call POST $KP/{id}/revoke /v1/domains/a.example/keys/$A2/revoke "$ACME" '{"reason":5}')" '^400 .*"field":"reason"'
# The active key with nothing published: a new key, active at once, in another slot.
r=$(call POST $KP/{id}/revoke "/v1/domains/c.example/keys/$C1/revoke" "$BETA" '{}')
expect "revoke c.example's only key: a new key replaces it, active now" \
	"$(json 'd["replacement"]["state"], d["how"], d["replacement"]["selector"] != d["revoked"]["selector"]')" \
	"('active', 'a new key', True)"
CR=$(json 'd["replacement"]["selector"]')
CP=$(json 'd["replacement"]["public_key"]')
wait_for "dnsd serves the new key in $CR" 3 serves c.example "$CR" "$CP"

# ---- put at a selector ----
pem new.pem
PUTP="/v1/domains/{domain}/selectors/{selector}/key"
# A resolver asking all along never sees p= nor nothing between the two keys.
(while [ ! -e "$T/stop" ]; do printf '%s\n' "$(raw a.example esp2 2>&1)"; done >"$T/watch") &
WATCH=$!
wait_for "the watcher sees the old key" 3 grep -q "p=$P2" "$T/watch"
S0=$(serial)
r=$(call PUT "$PUTP" /v1/domains/a.example/selectors/esp2/key "$ACME" "{\"key\": $(cat "$T/new.pem.json")}")
expect_match "put: 200" "$r" '^200 \{"key":\{'
expect "put: one batch (one serial in the journal)" \
	"$(sqlite3 "$DB" "SELECT count(DISTINCT serial) FROM journal WHERE serial > $S0")" 1
expect "... the new key in esp2, active as the one it replaced, changed" \
	"$(json 'd["key"]["selector"], d["key"]["state"], d["replaced"], d["unchanged"]')" "('esp2', 'active', $A2, False)"
PN=$(json 'd["key"]["public_key"]')
PNID=$(json 'd["key"]["id"]')
wait_for "dnsd serves the put key's p= in esp2" 3 serves a.example esp2 "$PN"
touch "$T/stop"
wait "$WATCH"
expect "the watcher saw only the old key, then the new one (never p=, never nothing)" \
	"$(sed "s|.*p=$P2\$|old|; s|.*p=$PN\$|new|" "$T/watch" | uniq | tr '\n' ' ')" "old new "
expect "list: esp2 holds the new key; the one it replaced revoked" "$(live a.example public_key) $(field a.example $A2 state)" \
	"esp2=$PN revoked"
S1=$(serial)
r=$(call PUT "$PUTP" /v1/domains/a.example/selectors/esp2/key "$ACME" "{\"key\": $(cat "$T/new.pem.json")}")
expect "put the same key again: 200, unchanged, nothing revoked" \
	"$(echo "${r%% *}") $(json 'd["key"]["id"], d["key"]["state"], d["replaced"], d["unchanged"]')" \
	"200 ($PNID, 'active', None, True)"
expect "... the store did not change" "$(serial) $(live a.example state)" "$S1 esp2=active"
expect_match "put, a PEM that is no key: 400 field key" \
	"$(call PUT "$PUTP" /v1/domains/a.example/selectors/esp2/key "$ACME" '{"key":"-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n"}')" \
	'^400 .*"field":"key"'
pem weak.pem rsa-512
expect_match "put, a 512-bit RSA key: 400 field key" \
	"$(call PUT "$PUTP" /v1/domains/a.example/selectors/esp2/key "$ACME" "{\"key\": $(cat "$T/weak.pem.json")}")" \
	'^400 .*1024.*"field":"key"'
expect_match "put, no key: 400 missing_field key" \
	"$(call PUT "$PUTP" /v1/domains/a.example/selectors/esp2/key "$ACME" '{}')" '^400 .*"missing_field".*"field":"key"'
expect_match "put, active not a boolean: 400 field active" \
	"$(call PUT "$PUTP" /v1/domains/a.example/selectors/esp2/key "$ACME" "{\"key\": $(cat "$T/new.pem.json"), \"active\": 1}")" \
	'^400 .*"field":"active"'
expect_match "put at a selector that is none: 404" \
	"$(call PUT "$PUTP" /v1/domains/a.example/selectors/esp9/key "$ACME" "{\"key\": $(cat "$T/new.pem.json")}")" '^404 '
expect_match "put beside a waiting key (b.example's esp2): 409" \
	"$(call PUT "$PUTP" /v1/domains/b.example/selectors/esp3/key "$ACME" "{\"key\": $(cat "$T/new.pem.json")}")" \
	'^409 .*waiting'
expect "the refusals changed nothing" "$(serial)" "$S1"

# ---- import ----
pem imp.pem
E1=$(live e.example selector)
r=$(call POST "$KP" /v1/domains/e.example/keys "$ACME" "{\"key\": $(cat "$T/imp.pem.json"), \"active\": true}")
expect_match "import, active: 201, active now in a free slot" "$r" '^201 \{"id":[0-9]+,"selector":"esp2","role":"main","algorithm":"ed25519","state":"active"'
IP=$(json 'd["public_key"]')
expect "... the key it took over from retired" "$(live e.example state)" "${E1%%=*}=retired esp2=active"
expect "... the signer's exports sign e.example with it" "$(signs e.example)" "esp2"
wait_for "dnsd serves the imported key in esp2" 3 serves e.example esp2 "$IP"
expect_match "import the same key again: 409" \
	"$(call POST "$KP" /v1/domains/e.example/keys "$ACME" "{\"key\": $(cat "$T/imp.pem.json")}")" '^409 .*exists'
expect_match "import beside a waiting key: 409" \
	"$(call POST "$KP" /v1/domains/b.example/keys "$ACME" "{\"key\": $(cat "$T/imp.pem.json"), \"selector\": \"esp3\"}")" '^409 .*waiting'
expect_match "import a PEM that is no key: 400 field key" \
	"$(call POST "$KP" /v1/domains/e.example/keys "$ACME" '{"key":"hello"}')" '^400 .*"field":"key"'
expect_match "import, a selector of the wrong type: 400 field selector" \
	"$(call POST "$KP" /v1/domains/e.example/keys "$ACME" '{"key":"x","selector":3}')" '^400 .*"field":"selector"'

# ---- bulk rotate ----
r=$(call POST /v1/keys/rotate /v1/keys/rotate "$BETA" '{"over_hours": 2}')
expect_match "bulk rotate, beta's token: 200" "$r" '^200 '
NB=$(sqlite3 "$DB" "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id JOIN tenants t ON t.id = d.tenant_id WHERE t.name = 'beta' AND k.state = 'active' AND k.rotate_at IS NOT NULL")
expect "... schedules beta's N active keys, and only those" "$(json 'd["scheduled"]') $NB" "2 2"
expect_match "... between first and last" "$(json 'd["first"], d["last"]')" "^\('20[0-9-]{8}T[0-9:]{8}Z', '20"
expect "... none of acme's" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.tenant_id = (SELECT id FROM tenants WHERE name = 'acme') AND k.rotate_at IS NOT NULL")" 0
expect_match "bulk rotate naming another tenant, a tenant's token: 404" \
	"$(call POST /v1/keys/rotate /v1/keys/rotate "$BETA" '{"tenant":"acme"}')" '^404 .*not_found'
r=$(call POST /v1/keys/rotate /v1/keys/rotate "$ROOTTOK" '{"tenant":"acme","older_than_days":0}')
expect "bulk rotate of acme, the platform token: 200, acme's active keys not mid-rotation (a, e)" \
	"$(echo "${r%% *}") $(json 'd["scheduled"]')" "200 2"
expect "... older than 30 days: none" \
	"$(call POST /v1/keys/rotate /v1/keys/rotate "$ROOTTOK" '{"older_than_days":30}' | cut -c1-3) $(json 'd["scheduled"], d["first"]')" \
	"200 (0, None)"
expect_match "bulk rotate, older_than_days -1: 400 field older_than_days" \
	"$(call POST /v1/keys/rotate /v1/keys/rotate "$ROOTTOK" '{"older_than_days":-1}')" '^400 .*"field":"older_than_days"'
expect_match "bulk rotate, over_hours past a year: 400 field over_hours" \
	"$(call POST /v1/keys/rotate /v1/keys/rotate "$ROOTTOK" '{"over_hours":9000}')" '^400 .*"field":"over_hours"'
expect_match "bulk rotate, a tenant that is none: 404" \
	"$(call POST /v1/keys/rotate /v1/keys/rotate "$ROOTTOK" '{"tenant":"nobody"}')" '^404 '

# ---- the emergency bulk revoke ----
L0=$(nlive)
expect_match "bulk revoke, a domains list with another tenant's: 404 naming it" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$BETA" '{"domains":["c.example","a.example"],"reason":"x"}')" \
	"^404 .*not_found.*a\.example"
expect_match "bulk revoke, a domain that is not there: 404 naming it" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"domains":["c.example","zz.example"],"reason":"x"}')" \
	"^404 .*zz\.example"
expect_match "bulk revoke, no reason: 400 field reason" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"tenant":"beta"}')" '^400 .*"field":"reason"'
expect_match "bulk revoke, an empty reason: 400 field reason" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"tenant":"beta","reason":""}')" '^400 .*"field":"reason"'
expect_match "bulk revoke, the platform naming neither: 400" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"reason":"x"}')" '^400 .*"field":"tenant"'
expect_match "bulk revoke, both: 400" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"tenant":"beta","domains":["c.example"],"reason":"x"}')" \
	'^400 .*"field":"domains"'
expect_match "bulk revoke, an empty list: 400 field domains" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"domains":[],"reason":"x"}')" '^400 .*"field":"domains"'
expect_match "bulk revoke, a list of numbers: 400 field domains" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"domains":[1],"reason":"x"}')" '^400 .*"field":"domains"'
expect_match "bulk revoke, replace not a boolean: 400 field replace" \
	"$(call POST /v1/keys/revoke /v1/keys/revoke "$ROOTTOK" '{"tenant":"beta","reason":"x","replace":"no"}')" \
	'^400 .*"field":"replace"'
expect "the refusals revoked nothing" "$(nlive)" "$L0"
OLD_C=$(live c.example selector) OLD_D=$(live d.example selector)
NBL=$(sqlite3 "$DB" "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.tenant_id = (SELECT id FROM tenants WHERE name = 'beta') AND k.state != 'revoked'")
r=$(call POST /v1/keys/revoke /v1/keys/revoke "$BETA" '{"reason":"beta leaked its key store"}')
expect "bulk revoke, beta's token (its own tenant): its 2 domains, every live key, a new key for each" \
	"$(echo "${r%% *}") $(json 'd["domains"], d["revoked"], d["replaced"], d["unreplaced"]')" "200 (2, $NBL, 2, 0)"
expect "the signer's exports: beta's domains with their new keys, in other selectors" \
	"$([ "$(signs c.example)" != "${OLD_C%%=*}" ] && [ -n "$(signs c.example)" ] && echo yes)" yes
for dn in c.example d.example; do
	[ $dn = c.example ] && old=${OLD_C%%=*} || old=${OLD_D%%=*}
	wait_for "dnsd: $dn's revoked selector $old answers p=" 3 answers_empty $dn "$old"
	new=$(live $dn public_key)
	wait_for "dnsd serves $dn's new key (${new%%=*})" 3 serves $dn "${new%%=*}" "${new#*=}"
done
expect "acme's keys untouched" "$(live a.example state) $(live b.example state)" \
	"esp2=active esp1=active esp2=published"
r=$(call POST /v1/keys/revoke /v1/keys/revoke "$ACME" '{"domains":["B.example."],"reason":"drill","replace":false}')
expect "bulk revoke of one domain by acme, no replacement: 200, none replaced, its role without a key" \
	"$(echo "${r%% *}") $(json 'd["domains"], d["revoked"], d["replaced"], d["unreplaced"]')" "200 (1, 2, 0, 1)"
expect "b.example has no live key" "$(live b.example state)" ""
expect "... and the signer's exports sign b.example with none" "$(signs b.example)" ""
wait_for "dnsd: b.example's esp1 answers p=" 3 answers_empty b.example esp1
expect "the events say why" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM key_events WHERE cause LIKE '%beta leaked its key store%'" 2>/dev/null)" "$NBL"

# ---- no token, a reused Idempotency-Key ----
for op in "GET $KP /v1/domains/a.example/keys" "POST $KP /v1/domains/a.example/keys" \
	"POST $KP/rotate /v1/domains/a.example/keys/rotate" \
	"POST $KP/{id}/revoke /v1/domains/a.example/keys/1/revoke" \
	"PUT $PUTP /v1/domains/a.example/selectors/esp1/key" \
	"POST /v1/keys/rotate /v1/keys/rotate" "POST /v1/keys/revoke /v1/keys/revoke"; do
	set -- $op
	[ "$1" = GET ] && b="" || b='{}'
	expect_match "$1 $3 without a token: 401" "$(call "$1" "$2" "$3" "" "$b")" '^401 '
done
# The bodies: not JSON (415), too large (413), for each operation that takes one.
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/big"
S3=$(serial)
for op in "POST $KP /v1/domains/a.example/keys" "POST $KP/rotate /v1/domains/a.example/keys/rotate" \
	"POST $KP/{id}/revoke /v1/domains/a.example/keys/1/revoke" \
	"PUT $PUTP /v1/domains/a.example/selectors/esp1/key" \
	"POST /v1/keys/rotate /v1/keys/rotate" "POST /v1/keys/revoke /v1/keys/revoke"; do
	set -- $op
	expect_match "$1 $3, text/plain: 415" "$(call "$1" "$2" "$3" "$ROOTTOK" "" -H 'Content-Type: text/plain' -d '{}')" '^415 '
	expect_match "$1 $3, a body over 1 MiB: 413" \
		"$(call "$1" "$2" "$3" "$ROOTTOK" "" -H 'Content-Type: application/json' --data-binary @"$T/big")" '^413 '
done
expect "those changed nothing" "$(serial)" "$S3"
expect_match "rotate, the Idempotency-Key of another request: 422" \
	"$(call POST $KP/rotate /v1/domains/a.example/keys/rotate "$ACME" '{"role":"main"}' -H "Idempotency-Key: rot-b-1")" \
	'^422 .*idempotency_key_reused'

# ---- methods ----
expect_match "DELETE on the key list: 405" "$(call DELETE - /v1/domains/a.example/keys "$ROOTTOK")" '^405 '
expect "... Allow" "$(sed -n 's/^Allow: *//Ip' "$T/h" | tr -d '\r')" "GET, POST"

# ---- the responses against docs/openapi.yaml ----
"$PY" "$APICHECK" responses "$ROOT/docs/openapi.yaml" "$T/manifest" '/keys(/|$)|/selectors/' >"$T/py.out" 2>&1
rc=$?
bad=0
while IFS= read -r line; do
	case "$line" in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }"; bad=1 ;;
	*) echo "    $line" ;;
	esac
done <"$T/py.out"
[ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && not_ok "apicheck.py responses ran to its end (exit $rc)"
stop_api
finish
