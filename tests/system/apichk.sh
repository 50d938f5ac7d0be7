#!/bin/bash
# apichk: the check over the API (GET and POST /v1/domains/{domain}/check) against a real
# resolver: dnsd on loopback as the authority of the hosted zone, NSD as the customers' DNS
# host, unbound as the resolver that dnsd-api --resolver names (tests/system/localdns). A
# domain with nothing in place is pending; once the customer's CNAMEs are in place a POST finds
# them, verified, and a GET shows it; the slots' eligibility follows; a tenant's token reaches
# its own domains only; an unknown domain is 404; the replies match docs/openapi.yaml.
. "$(dirname "$0")/lib"
. "$(dirname "$0")/apilib"
. "$(dirname "$0")/localdns"

new_store --ttl-dkim 60 || { echo "new_store failed"; finish; }
ctl tenant add beta >/dev/null
DOMAINS="good.example beta.example"
ctl domain add good.example --tenant acme >/dev/null || not_ok "domain add good.example"
ctl domain add beta.example --tenant beta >/dev/null || not_ok "domain add beta.example"
# The customers' zones: nothing in place yet.
czone() { # DOMAIN: the SOA and NS of a customer zone
	printf '$ORIGIN %s.\n$TTL 60\n@ IN SOA ns1.%s. hostmaster.%s. 1 3600 600 1209600 60\n' "$1" "$1" "$1"
	printf '@ IN NS ns1.%s.\nns1 IN A 127.0.0.1\n' "$1"
}
czone good.example >"$T/good.example.zone"
# beta.example's own DMARC record holds bytes that are not UTF-8 (\255): JSON takes only UTF-8.
{ czone beta.example; echo '_dmarc IN TXT "v=DMARC1; p=none; x=\255\195"'; } >"$T/beta.example.zone"

start_dnsd || finish
localdns_conf
trap 'stop_api; stop_unbound; stop_nsd; cleanup' EXIT
start_nsd || finish
start_unbound || finish

ROOTTOK=$(ctl api-token add root 2>/dev/null)
ACME=$(ctl api-token add acme-app --tenant acme 2>/dev/null)
BETA=$(ctl api-token add beta-app --tenant beta 2>/dev/null)
expect "--resolver that is no address: exit 2" \
	"$("$DNSDAPI" --db "$DB" --config "$T/dnsdctl.conf" --resolver resolver.example 2>/dev/null; echo $?)" 2
start_api --resolver "$RES" || finish

# Before any check: no state, every record unchecked.
expect_match "GET before any check: 200" "$(call GET /v1/domains/good.example/check "$ACME")" '^200 '
expect "before any check: no state" "$(json 'd["state"]')" None
expect "before any check: 5 records, unchecked" "$(json 'len(d["records"]), d["summary"]["unchecked"]')" "(5, 5)"
expect "the records' names are in the stored form" "$(json 'd["records"][0]["name"]')" \
	esp1._domainkey.good.example

# Nothing in place: pending, the slots not eligible.
expect_match "POST with nothing in place: 200" "$(call POST /v1/domains/Good.Example./check "$ACME")" '^200 '
expect "nothing in place: pending" "$(json 'd["state"], d["ok"]')" "('pending', False)"
expect "nothing in place: each record missing" \
	"$(json '",".join(sorted(set(r["outcome"] for r in d["records"])))')" missing
expect "nothing in place: hints say what to add" "$(json 'd["records"][0]["hint"].startswith("add the CNAME")')" True
expect "nothing in place: the changes listed" "$(json 'len(d["changes"]) > 0')" True
expect "the slots are not eligible" "$(ctl domain show good.example --json | "$PY" -c 'import json,sys
print(",".join(str(s["eligible"]) for s in json.load(sys.stdin)["slots"]))')" "0,0,0"
expect_match "GET after it: pending" "$(call GET /v1/domains/good.example/check "$ROOTTOK")" '"state":"pending"'
expect "GET after it: 4 required records pending, the optional one too" \
	"$(json 'd["summary"]["pending"], d["summary"]["unchecked"]')" "(5, 0)"
expect "GET keeps no run's findings" "$(json '"hint" in d["records"][0] or "ok" in d')" False

# nsd_says NAME TYPE WANT: NSD (the new one, not one still stopping) answers WANT there.
nsd_says() { [ "$(dig @127.0.0.1 -p "$NSDPORT" +short "$2" "$1")" = "$3" ]; }
# res_says NAME TYPE WANT: the resolver answers WANT (its cache, capped at a TTL of 0, still
# answers within the second an answer came: a test on an idle machine gets there first).
res_says() { [ "$(dig @127.0.0.1 -p "$UBPORT" +short "$2" "$1")" = "$3" ]; }
# The customer puts the CNAMEs in place, as 'domain records --format zone' prints them.
{ czone good.example; ctl domain records good.example --format zone | grep -v '^;'; } >"$T/good.example.zone"
stop_nsd
start_nsd || finish
wait_for "NSD serves the CNAMEs" 10 nsd_says esp1._domainkey.good.example CNAME \
	"$(ctl domain records good.example --format zone | sed -n 's/^esp1.* CNAME //p')"
wait_for "... and the resolver sees them" 10 res_says esp1._domainkey.good.example CNAME \
	"$(ctl domain records good.example --format zone | sed -n 's/^esp1.* CNAME //p')"
expect_match "POST with the CNAMEs in place: 200" "$(call POST /v1/domains/good.example/check "$ACME")" '^200 '
expect "in place: verified, ok" "$(json 'd["state"], d["ok"], d["way"]')" "('verified', True, 'fully-aligned')"
expect "in place: each record in place" \
	"$(json '",".join(sorted(set(r["outcome"] for r in d["records"] if not r["optional"])))')" in-place
expect "in place: the chain followed" "$(json 'd["records"][0]["chain"][0] == d["records"][0]["expected"]')" True
expect_match "GET: verified" "$(call GET /v1/domains/good.example/check "$ACME")" '"state":"verified"'
expect "GET: the required records verified, with their time" \
	"$(json 'd["summary"]["in_place"] >= 4 and d["records"][0]["verified_at"] is not None')" True
expect "GET: the next check is due" "$(json 'd["next_check"] is not None and d["checked_at"] is not None')" True
expect "the slots are eligible again" "$(ctl domain show good.example --json | "$PY" -c 'import json,sys
print(",".join(str(s["eligible"]) for s in json.load(sys.stdin)["slots"]))')" "1,1,1"
expect_match "dnsdctl sees the API's check" "$(ctl domain history good.example)" 'verified +\(the domain\)'
# Repeating it is safe: the same state, no new change.
expect_match "POST again: 200" "$(call POST /v1/domains/good.example/check "$ROOTTOK")" '^200 '
expect "POST again: verified, nothing changed" "$(json 'd["state"], d["changes"]')" "('verified', [])"

# A CNAME removed: drifted.
czone good.example >"$T/good.example.zone"
ctl domain records good.example --format zone | grep -v '^;' | grep -v esp2 >>"$T/good.example.zone"
stop_nsd
start_nsd || finish
wait_for "NSD serves the zone without esp2's CNAME" 10 nsd_says esp2._domainkey.good.example CNAME ""
wait_for "... and the resolver has forgotten it" 10 res_says esp2._domainkey.good.example CNAME ""
call POST /v1/domains/good.example/check "$ACME" >/dev/null
expect "a CNAME removed: drifted" "$(json 'd["state"], [r["state"] for r in d["records"]][1]')" \
	"('drifted', 'drifted')"

# Scope and errors.
expect_match "another tenant's domain, GET: 404" "$(call GET /v1/domains/good.example/check "$BETA")" \
	'^404 .*"not_found"'
expect_match "another tenant's domain, POST: 404" "$(call POST /v1/domains/good.example/check "$BETA")" \
	'^404 .*"not_found"'
# The very reply a domain that is not there gets: the 404 tells nothing of other tenants.
for m in GET POST; do
	other=$(call $m /v1/domains/good.example/check "$BETA")
	missing=$(call $m /v1/domains/none.example/check "$BETA")
	expect "another tenant's domain, $m: the reply of a missing one" \
		"${other//good.example/X}" "${missing//none.example/X}"
done
expect "... and the check did not run" "$(sqlite3 "$DB" "SELECT count(*) FROM domain_checks k JOIN domains d
	ON d.id = k.domain_id WHERE d.name = 'beta.example'")" 0
expect_match "its own tenant's domain: 200" "$(call GET /v1/domains/beta.example/check "$BETA")" '^200 '
expect_match "a TXT of bytes that are not UTF-8: 200" "$(call POST /v1/domains/beta.example/check "$BETA")" '^200 '
expect "... each such byte is U+FFFD in the JSON" "$(json 'd["records"][-1]["found"]')" \
	"v=DMARC1; p=none; x=$(printf '\357\277\275\357\277\275')"
expect_match "... and the stored detail reads back" "$(call GET /v1/domains/beta.example/check "$BETA")" \
	'^200 .*"own-dmarc"'
expect_match "an unknown domain: 404" "$(call POST /v1/domains/none.example/check "$ROOTTOK")" '^404 '
expect_match "not a domain name: 400" "$(call GET /v1/domains/a..b/check "$ROOTTOK")" '^400 .*"domain"'
expect_match "DELETE: 405" "$(call DELETE /v1/domains/good.example/check "$ROOTTOK")" '^405 '

pycheck check "$API" "$ROOTTOK" "$ACME" "$BETA" "$ROOT/docs/openapi.yaml" good.example

# A resolver that does not answer: the lookups fail, the state stays as it was.
stop_api
start_api --resolver "127.0.0.1:$(free_port)" || finish
expect_match "POST with a dead resolver: 200" "$(call POST /v1/domains/good.example/check "$ROOTTOK")" '^200 '
expect "a dead resolver: lookups failed, the state kept" "$(json 'd["lookups_failed"] > 0, d["state"]')" \
	"(True, 'drifted')"
stop_api
finish
