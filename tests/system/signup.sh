#!/bin/bash
# signup: docs/api.md's worked example ("signing a customer up"), step by step, with curl
# against the real dnsd-api on loopback, dnsd serving the hosted zone, NSD as the customer's DNS
# host and unbound as the resolver (tests/system/localdns): a tenant and its token, the domain
# (with a keyed retry), its records, the check before and after the customer pastes the CNAMEs,
# its own DMARC policy, a rotation, and leaving. A message signed with the active key verifies
# through the resolver, following the customer's CNAME to the key dnsd serves.
. "$(dirname "$0")/lib"
. "$(dirname "$0")/apilib"
. "$(dirname "$0")/localdns"
D=shop.example

# The platform's store: the hosted zone and its global policies, no tenant yet.
ctl init --zone "$ZONE" --zone-file "$ZONEFILE" --selector-prefix esp >/dev/null &&
	ctl spf set "v=spf1 include:_spf.$ZONE -all" >/dev/null &&
	ctl dmarc set "v=DMARC1; p=none; rua=mailto:dmarc@$ZONE" >/dev/null || { not_ok "the store"; finish; }
DOMAINS=$D
czone() { # the customer's zone before the sign-up: its SOA, NS and MX
	printf '$ORIGIN %s.\n$TTL 60\n@ IN SOA ns1 hostmaster 1 3600 600 1209600 60\n' "$D"
	printf '@ IN NS ns1\nns1 IN A 127.0.0.1\n@ IN MX 10 mx\nmx IN A 192.0.2.80\n'
}
czone >"$T/$D.zone"
start_dnsd || finish
localdns_conf
trap 'stop_api; stop_unbound; stop_nsd; cleanup' EXIT
start_nsd || finish
start_unbound || finish
TOKEN=$(ctl api-token add ops 2>/dev/null)
expect_match "a platform token (dnsdctl api-token add)" "$TOKEN" '^dnsd_[0-9a-f]{64}$'
start_api --resolver "$RES" || finish
# res METHOD PATTERN: prints the last response's body, as the docs show it, and keeps it for the
# check against openapi.yaml at the end.
N=0
res() {
	N=$((N + 1))
	cp "$T/body" "$T/res.$N"
	echo "$1 $2 $(sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p' "$T/h") $T/res.$N" >>"$T/manifest"
	printf '    # %s %s: %s\n' "$1" "$2" "$(cat "$T/body")"
}
# ub NAME TYPE: what unbound answers (the CNAME chain, then the data).
ub() { dig @127.0.0.1 -p "$UBPORT" +short +tries=1 +time=2 "$2" "$1"; }

# 1. The tenant, and its token.
expect_match "1. POST /v1/tenants acme: 201" "$(post /v1/tenants "$TOKEN" '{"name": "acme"}')" '^201 '
res POST /v1/tenants
expect "... the tenant, with no domain yet" "$(json 'd["name"], d["domains"]')" "('acme', 0)"
expect "... at its Location" "$(header Location)" /v1/tenants/acme
expect_match "1. POST /v1/tokens acme-app: 201" \
	"$(post /v1/tokens "$TOKEN" '{"name": "acme-app", "tenant": "acme"}')" '^201 '
res POST /v1/tokens
expect "... a tenant's token of acme" "$(json 'd["scope"], d["tenant"]')" "('tenant', 'acme')"
ACME=$(json 'd["token"]')
expect_match "... its text, shown there" "$ACME" '^dnsd_[0-9a-f]{64}$'

# 2. The domain, under an Idempotency-Key, and its retry: one domain.
keyed_retry "/v1/domains $D" /v1/domains "$ACME" "{\"domain\": \"$D\"}" signup-shop-1
res POST /v1/domains
expect "... the domain, active, in acme" "$(json 'd["domain"], d["tenant"], d["state"]')" \
	"('$D', 'acme', 'active')"
DTOK=$(json 'd["token"]')
expect_match "... its token" "$DTOK" '^[a-z0-9]{16}$'
expect "... its records in the reply" "$(json 'len(d["records"]) > 0 and "ttl" in d')" True
expect_match "GET /v1/domains?q=$D" "$(call GET "/v1/domains?q=$D" "$ACME")" '^200 '
expect "... one domain made" "$(json 'len(d["domains"])')" 1
expect "... the key is active at once" "$(ctl domain show "$D" --json | "$PY" -c 'import json,sys
print(json.load(sys.stdin)["slots"][0]["state"])')" active

# 3. The records to show the customer.
expect_match "3. GET .../records: 200" "$(call GET "/v1/domains/$D/records" "$ACME")" '^200 '
res GET /v1/domains/{domain}/records
cp "$T/body" "$T/records.json"
expect "... each one a CNAME to the domain's names in the hosted zone" "$(json 'all(r["type"] == "CNAME"
	and r["value"].endswith(".'"$ZONE"'.") and ".'"$DTOK"'." in "." + r["value"] for r in d["records"])')" True
expect "... the DKIM selectors first, esp1's to its token" "$(json 'd["records"][0]["name"], d["records"][0]["value"]')" \
	"('esp1._domainkey.$D.', 'esp1.$DTOK.dkim.$ZONE.')"
expect "... and the optional _dmarc" "$(json '[r["name"] for r in d["records"] if r["optional"]]')" \
	"['_dmarc.$D.']"

# 4. The check with nothing in place: pending.
expect_match "4. POST .../check, nothing in place: 200" "$(call POST "/v1/domains/$D/check" "$ACME")" '^200 '
res POST /v1/domains/{domain}/check
expect "... pending, not ok" "$(json 'd["state"], d["ok"], d["lookups_failed"]')" "('pending', False, 0)"
expect "... every record missing" "$(json '",".join(sorted(set(r["outcome"] for r in d["records"])))')" missing

# The customer pastes the records at its DNS host (NSD), as the API gave them.
{
	czone
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for r in d["records"]: print(r["name"], d["ttl"], "IN", r["type"], r["value"])' "$T/records.json"
} >"$T/$D.zone"
stop_nsd
start_nsd || finish
ESP1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"][0]["value"])' "$T/records.json")
nsd_says() { [ "$(dig @127.0.0.1 -p "$NSDPORT" +short "$2" "$1")" = "$3" ]; }
wait_for "NSD serves the customer's CNAMEs" 10 nsd_says "esp1._domainkey.$D" CNAME "$ESP1"
# The resolver's cache (TTLs capped at 0) still answers within the second an answer came; the
# pending check above asked all the names just now.
wait_for "... and the resolver sees them" 10 \
	sh -c '[ "$(dig @127.0.0.1 -p "$1" +short CNAME "$2")" = "$3" ]' sh "$UBPORT" "esp1._domainkey.$D" "$ESP1"

expect_match "4. POST .../check, the CNAMEs in place: 200" "$(call POST "/v1/domains/$D/check" "$ACME")" '^200 '
res POST /v1/domains/{domain}/check
expect "... verified, ok, fully aligned" "$(json 'd["state"], d["ok"], d["way"]')" "('verified', True, 'fully-aligned')"
expect "... every record in place" "$(json '",".join(sorted(set(r["outcome"] for r in d["records"])))')" in-place
expect_match "4. GET .../check: 200" "$(call GET "/v1/domains/$D/check" "$ACME")" '^200 '
res GET /v1/domains/{domain}/check
expect "... verified, each record with its time" \
	"$(json 'd["state"], all(r["state"] == "verified" and r["verified_at"] for r in d["records"])')" "('verified', True)"
expect "... nothing pending" "$(json 'd["summary"]["pending"], d["summary"]["unchecked"]')" "(0, 0)"

# Through the resolver, the selector at the customer's domain answers the active key.
expect_match "GET .../keys: 200" "$(call GET "/v1/domains/$D/keys" "$ACME")" '^200 '
PUB=$(json '[k["public_key"] for k in d["keys"] if k["state"] == "active"][0]')
expect "unbound: esp1._domainkey.$D is the CNAME, then the key's TXT" \
	"$(ub "esp1._domainkey.$D" TXT | tr -d '" \n' | sed 's/k=rsa;//')" "${ESP1}v=DKIM1;p=$PUB"

# A message signed with the active key's file verifies through the resolver (dkimpy).
MA="$ROOT/tests/system/mailauth.py"
KEY=$(ctl domain show "$D" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["slots"][0]["private_key"])')
check "the active key's file is in the keys directory beside the store" test -f "$KEY" -a "${KEY#"$KEYS"/}" != "$KEY"
"$PY" "$MA" message "$D" "$T/msg"
check "a message signed with it (rsa-2048, esp1)" "$PY" "$MA" sign rsa-2048 "$D" esp1 "$KEY" "$T/msg" "$T/signed"
# verify: dkimpy, its every lookup a recursive one at unbound.
verify() {
	"$PY" - "$UBPORT" "$T/signed" <<-'EOF'
		import sys, dkim, dns.resolver
		r = dns.resolver.Resolver(configure=False)
		r.nameservers, r.port, r.lifetime = ["127.0.0.1"], int(sys.argv[1]), 3
		def txt(name, timeout=5):
		    try:
		        return b"".join(r.resolve(name.decode().rstrip("."), "TXT")[0].strings)
		    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
		        return None
		try:
		    print(dkim.verify(open(sys.argv[2], "rb").read(), dnsfunc=txt, minkey=1024))
		except dkim.DKIMException as e:
		    print("False:", e)
	EOF
}
expect "... verifies through unbound, the key found via the customer's CNAME" "$(verify 2>&1)" True

# 5. Its own DMARC policy.
expect "unbound: _dmarc.$D answers the platform's policy" "$(ub "_dmarc.$D" TXT | tail -n 1)" \
	"\"v=DMARC1; p=none; rua=mailto:dmarc@$ZONE\""
expect_match "5. PUT .../policy dmarc: 200" "$(call PUT "/v1/domains/$D/policy" "$ACME" \
	-H 'Content-Type: application/json' --data-binary '{"dmarc": "v=DMARC1; p=reject"}')" '^200 '
res PUT /v1/domains/{domain}/policy
expect "... its own, in force" "$(json 'd["level"], d["own"]["dmarc"], d["effective"]["dmarc"]')" \
	"('domain', 'v=DMARC1; p=reject', 'v=DMARC1; p=reject')"
ub_dmarc() { [ "$(ub "_dmarc.$D" TXT | tail -n 1)" = '"v=DMARC1; p=reject"' ]; }
wait_for "unbound: _dmarc.$D answers it (via its CNAME)" 5 ub_dmarc

# 6. A new key, then leaving.
expect_match "6. POST .../keys/rotate: 201" "$(post "/v1/domains/$D/keys/rotate" "$ACME" '{}')" '^201 '
res POST /v1/domains/{domain}/keys/rotate
expect "... a published key in esp2" "$(json 'd["state"], d["selector"], d["activated_at"]')" \
	"('published', 'esp2', None)"
NEW=$(json 'd["id"]')
expect_match "GET .../keys: 200" "$(call GET "/v1/domains/$D/keys" "$ACME")" '^200 '
res GET /v1/domains/{domain}/keys
expect "... lists it beside the active one" "$(json '[(k["id"] == '"$NEW"', k["state"]) for k in d["keys"]]')" \
	"[(False, 'active'), (True, 'published')]"
expect_match "6. DELETE /v1/domains/$D: 204" "$(call DELETE "/v1/domains/$D" "$ACME")" '^204 $'
res DELETE /v1/domains/{domain}
expect_match "... removed" "$(call GET "/v1/domains/$D" "$ACME")" '^200 .*"state":"removed"'
ub_revoked() { ub "esp1._domainkey.$D" TXT | tail -n 1 | grep -Eq '"v=DKIM1;( k=rsa;)? p="$'; }
wait_for "unbound: its selector answers a revoked key" 5 ub_revoked
expect_match "... and the message no longer verifies" "$(verify 2>&1)" '^False'

# Each response shown above, against docs/openapi.yaml (no path's coverage asked: '^$').
pycheck responses "$ROOT/docs/openapi.yaml" "$T/manifest" '^$'
stop_api
finish
