#!/bin/bash
# dconnect: the Domain Connect template (issue 14, point 1). For each slot layout
# (the store's, a tenant's with four slots and the Ed25519 pair, a domain's own
# Return-Path label), the template dnsdctl writes, applied as a DNS host applies
# it (dcapply.py) with the variables 'domain-connect apply' names, gives exactly
# the records of 'domain records'; the dkim and return-path groups alone leave
# out the optional _dmarc CNAME. A domain whose layout another template serves
# is sent to that one.
. "$(dirname "$0")/lib"
DCA="$ROOT/tests/system/dcapply.py"
P=esp.example

new_store || { echo "new_store failed"; finish; }
check "tenant big: 4 slots and the pair" ctl tenant add big --slots 4 --ed25519 yes
ctl domain add a.example --tenant acme >/dev/null
ctl domain add b.example --tenant big >/dev/null
ctl domain add c.example --tenant acme --return-path mail >/dev/null

# records DOMAIN: 'domain records' as sorted zone-file lines, the way dcapply prints them.
records() {
	ctl domain records "$1" --json | "$PY" -c 'import json,sys
d = json.load(sys.stdin)
print("\n".join(sorted("%s %d IN CNAME %s" % (r["name"], int(sys.argv[1]), r["value"]) for r in d["records"]
      if sys.argv[2] == "all" or not r["optional"])))' 3600 "${2:-all}"
}
# apply DOMAIN [DCA ARGS]: the template 'domain-connect apply' names, applied with its variables.
apply() {
	local d=$1; shift
	local a sid tok
	a=$(ctl domain-connect apply "$d" --provider-id "$P" --json) || return 1
	sid=$(echo "$a" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["serviceId"])')
	tok=$(echo "$a" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["variables"]["token"])')
	"$PY" "$DCA" "$T/$sid.json" "$d" "$@" "token=$tok"
}

check "template of the store's layout" sh -c "$(printf '%q ' "$DNSDCTL" --config "$T/dnsdctl.conf" --db "$DB" \
	domain-connect template --provider-id "$P" --provider-name 'Example ESP') >$T/esp-3.json"
check "template of big's layout" sh -c "$(printf '%q ' "$DNSDCTL" --config "$T/dnsdctl.conf" --db "$DB" \
	domain-connect template --provider-id "$P" --tenant big) >$T/esp-4-ed.json"
check "template with the Return-Path label mail" sh -c "$(printf '%q ' "$DNSDCTL" --config "$T/dnsdctl.conf" \
	--db "$DB" domain-connect template --provider-id "$P" --return-path mail) >$T/esp-3-rp-mail.json"
expect "the template names its provider and service" "$("$PY" -c 'import json,sys
t = json.load(open(sys.argv[1])); print(t["providerId"], t["providerName"], t["serviceId"], len(t["records"]))' \
	"$T/esp-3.json")" "esp.example Example ESP esp-3 5"
expect "its only variable is the code" "$(grep -o '%[a-z]*%' "$T/esp-3.json" | sort -u)" "%token%"

for d in a.example b.example c.example; do
	expect "$d: the applied template is exactly its records" "$(apply "$d")" "$(records "$d")"
	expect "$d: dkim and return-path alone leave the optional _dmarc out" \
		"$(apply "$d" --groups dkim,return-path)" "$(records "$d" required)"
done
expect "b.example has its own service (the pair)" \
	"$(ctl domain-connect apply b.example --provider-id "$P" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["serviceId"])')" \
	esp-4-ed
other=$("$PY" "$DCA" "$T/esp-4-ed.json" a.example "token=$(token a.example)")
check "a template of another layout does not give a.example's records" test "$other" != "$(records a.example)"
check_fails "a variable without a value is refused" "$PY" "$DCA" "$T/esp-3.json" a.example
expect_match "the apply path names the provider, service, domain and code" \
	"$(ctl domain-connect apply a.example --provider-id "$P")" \
	"/v2/domainTemplates/providers/esp\\.example/services/esp-3/apply\\?domain=a\\.example&token=$(token a.example)"
check_fails "--provider-id is needed" ctl domain-connect template
check_fails "--provider-id is a domain name" ctl domain-connect template --provider-id 'a b'
finish
