#!/bin/bash
# keyput: what migrating platforms and emergencies need from the key commands:
# key list shows the public value dnsd serves, key put replaces a selector's key
# in one commit (the selector never answers p= in between), and key revoke --all
# revokes a tenant's keys, or a list of domains', in one commit.
. "$(dirname "$0")/lib"

jq_py() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# served DOMAIN SEL: the p= value dnsd serves for the selector ("" for p=).
declare -A TOK
served() {
	[ -n "${TOK[$1]:-}" ] || TOK[$1]=$(token "$1")
	q "$2.${TOK[$1]}.dkim.$ZONE" TXT | tr -d '"' | sed -n 's/.*p=\(.*\)$/\1/p'
}
# live DOMAIN SEL FIELD: FIELD of the selector's live key in key list --json.
live() {
	ctl key list "$1" --json |
		jq_py "[k['$3'] for k in d if k['selector'] == '$2' and k['state'] != 'revoked'] or ['none']" |
		tr -d "[]' "
}
serial() { sqlite3 "$DB" 'SELECT value FROM serial'; }

new_store
ctl tenant add other >/dev/null
ctl domain add a.example --tenant acme --algorithm ed25519 >/dev/null
ctl domain add b.example --tenant acme --algorithm ed25519 >/dev/null
ctl domain add c.example --tenant other --algorithm ed25519 >/dev/null
start_dnsd || finish
for d in a.example b.example c.example; do TOK[$d]=$(token $d); done

# key list: the public value, as dnsd serves it.
P1=$(live a.example esp1 public_key)
expect_match "key list --json has the public key" "$P1" '^[A-Za-z0-9+/]{43}=$'
expect "... the one dnsd serves" "$(served a.example esp1)" "$P1"
expect "key list, table: the public value ends the line" "$(ctl key list a.example | awk '$2 == "esp1" { print $NF }')" "$P1"

# key put: one commit, the selector goes from the old key to the new one.
openssl genpkey -algorithm ed25519 -out "$T/new.pem" 2>/dev/null
S0=$(serial)
# A resolver asking all along never sees p= (an empty key: revoked).
(for _ in $(seq 1 60); do served a.example esp1; sleep 0.02; done >"$T/seen") &
LOOP=$!
sleep 0.3
out=$(ctl key put a.example --selector esp1 --file "$T/new.pem" 2>&1); rc=$?
wait "$LOOP"
expect "key put: exit 0" "$rc" 0
expect_match "key put: says the old key went in the same commit" "$out" "revoked in the same commit"
expect "key put: one batch (one serial in the journal)" \
	"$(sqlite3 "$DB" "SELECT count(DISTINCT serial) FROM journal WHERE serial > $S0")" 1
P2=$(live a.example esp1 public_key)
expect "key put: esp1 holds one live key, the new one, active" \
	"$(live a.example esp1 state) $([ "$P2" != "$P1" ] && echo new)" "active new"
expect "key put: the old key is revoked" \
	"$(ctl key list a.example --json | jq_py "[k['state'] for k in d if k['public_key'] == '$P1'][0]")" "revoked"
wait_for "dnsd serves the new key at esp1" 5 test "$(served a.example esp1)" = "$P2"
expect "no answer in between was p=" "$(grep -c '^$' "$T/seen")" 0
expect "the loop saw the old key or the new one only" "$(grep -cvxF -e "$P1" -e "$P2" "$T/seen")" 0
check "the exports name the new key's file" grep -q "esp1-.*-imported.pem" "$T/exports/KeyTable.ed25519"

# key put refusals: nothing changed.
S1=$(serial)
refuse() { # DESC EXIT PATTERN CMD...
	local d=$1 want=$2 pat=$3
	shift 3
	out=$("$@" 2>&1); rc=$?
	expect "$d: exit $want" "$rc" "$want"
	expect_match "$d: says why" "$out" "$pat"
}
refuse "key put of the key already there: done before, unchanged" 0 "already holds this key.*unchanged" \
	ctl key put a.example --selector esp1 --file "$T/new.pem"
refuse "key import of a key the domain has: refused" 1 "already has this key" \
	ctl key import a.example --file "$T/new.pem"
refuse "key put at an unknown selector" 1 "has no selector 'esp9'" \
	ctl key put a.example --selector esp9 --file "$T/new.pem"
refuse "key put of a file that is no key" 1 "nothing was changed" \
	ctl key put a.example --selector esp1 --file "$ROOT/README.md"
refuse "key put without --selector" 2 "key put DOMAIN --selector" ctl key put a.example --file "$T/new.pem"
refuse "key put with --active" 2 "unknown option --active" ctl key put a.example --selector esp1 --file "$T/new.pem" --active yes
expect "the refusals changed nothing" "$(serial)" "$S1"

# key revoke --all: a tenant's every live key in one commit, each role with a new
# active key; the other tenant's keys untouched.
PC=$(live c.example esp1 public_key)
refuse "revoke --all with a domain that does not exist" 1 "no domain 'nowhere.example'" \
	ctl key revoke --all a.example nowhere.example
refuse "revoke --all with neither tenant nor domains" 2 "key revoke --all --tenant" ctl key revoke --all
refuse "revoke --all of an unknown tenant" 1 "no tenant 'ghost'" ctl key revoke --all --tenant ghost
expect "those refusals changed nothing" "$(serial)" "$S1"
j=$(ctl key revoke --all --tenant acme --reason "signer breach" --json); rc=$?
expect "revoke --all --tenant acme: exit 0" "$rc" 0
expect "revoke --all: 2 domains, 2 revoked, 2 replaced" \
	"$(echo "$j" | jq_py '"%d %d %d %d" % (d["domains"], d["revoked"], d["replaced"], d["unreplaced"])')" "2 2 2 0"
expect "revoke --all: one batch" \
	"$(sqlite3 "$DB" "SELECT count(DISTINCT serial) FROM journal WHERE serial > $S1")" 1
for d in a.example b.example; do
	expect "$d: esp1 revoked, the new key active in esp2" \
		"$(live $d esp1 state) $(live $d esp2 state)" "none active"
	wait_for "$d: dnsd answers p= at esp1" 5 test -z "$(served $d esp1)"
	expect "$d: dnsd serves the new key at esp2" "$(served $d esp2)" "$(live $d esp2 public_key)"
done
expect "the other tenant's key is untouched" "$(live c.example esp1 public_key)" "$PC"
expect "the events say why" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM key_events WHERE cause = 'emergency revoke (bulk): signer breach'")" 2

# key revoke --all --domains A,B: the list as one argument (more domains than the command line's
# positions hold); --replace no leaves the roles without a key, said.
refuse "revoke --all with --domains and --tenant" 2 "key revoke --all --tenant" \
	ctl key revoke --all --tenant acme --domains a.example
refuse "revoke --all --domains with an empty name" 2 "none empty" ctl key revoke --all --domains a.example,,b.example
refuse "revoke --all --replace maybe" 1 "--replace is yes or no" \
	ctl key revoke --all --domains a.example --replace maybe
S2=$(serial)
expect "those refusals changed nothing" "$(serial)" "$S2"
j=$(ctl key revoke --all --domains A.example.,c.example --reason drill --replace no --json 2>"$T/err"); rc=$?
expect "revoke --all --domains a,c --replace no: exit 0" "$rc" 0
expect "... 2 domains, 2 revoked, none replaced, 2 roles without a key" \
	"$(echo "$j" | jq_py '"%d %d %d %d" % (d["domains"], d["revoked"], d["replaced"], d["unreplaced"])')" "2 2 0 2"
expect_match "... says they sign nothing until a rotate" "$(cat "$T/err")" "sign nothing until 'dnsdctl key rotate'"
expect "... no live key left in a.example, c.example; b.example's untouched" \
	"$(live a.example esp2 state) $(live c.example esp1 state) $(live b.example esp2 state)" "none none active"
wait_for "c.example: dnsd answers p= at esp1" 5 test -z "$(served c.example esp1)"
finish
