#!/bin/bash
# keys: the key audit trail: key list, domain history, and the migrations that
# bring version 1 and 2 stores up to date, by dnsdctl and by dnsd.
. "$(dirname "$0")/lib"

jq_py() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

new_store
ctl domain add example.com --tenant acme --algorithm ed25519 >/dev/null
expect "schema version 8" "$(sqlite3 "$DB" 'PRAGMA user_version')" 8

# key list
k=$(ctl key list example.com --json)
expect "key list: one key" "$(echo "$k" | jq_py 'len(d)')" 1
# dnsdctl's names, in this order, are a stable interface (the API's differ: created_at...).
expect "key list --json: its members, in order" "$(echo "$k" | jq_py '" ".join(d[0])')" \
	"id selector role algorithm state created published activated retired revoked active_after rotate_due published_serial private_key public_key"
expect "key list: slot 1, ed25519, active" "$(echo "$k" | jq_py '" ".join([d[0]["selector"], d[0]["algorithm"], d[0]["state"]])')" "esp1 ed25519 active"
expect "key list: activated, not retired or revoked" \
	"$(echo "$k" | jq_py '[d[0]["activated"] is not None, d[0]["retired"], d[0]["revoked"]]')" "[True, None, None]"
expect "key list: the private key file is named" \
	"$(echo "$k" | jq_py 'd[0]["private_key"]' | xargs -I{} test -f {} && echo yes)" yes
expect_match "key list, table: a line for the key" "$(ctl key list example.com)" 'esp1 +main +ed25519 +active'

# domain history: events with time and cause
h=$(ctl domain history example.com --json)
expect "history after add: generated, published, activated" \
	"$(echo "$h" | jq_py '",".join(e["event"] for e in d["events"])')" "generated,published,activated"
expect_match "history: each event has a cause" "$(echo "$h" | jq_py 'all(e["cause"] for e in d["events"])')" True
ctl domain remove example.com >/dev/null
h=$(ctl domain history example.com --json)
expect "history after remove: revoked, caused by domain remove" \
	"$(echo "$h" | jq_py 'd["events"][-1]["event"] + " / " + d["events"][-1]["cause"]')" "revoked / domain remove"
expect "key list after remove: revoked, with its time" \
	"$(ctl key list example.com --json | jq_py 'd[0]["state"] + " " + str(d[0]["revoked"] is not None)')" "revoked True"

# errors
check_fails "key list of an unknown domain fails" ctl key list nowhere.example
expect_match "key list of an unknown domain: says so" "$(ctl key list nowhere.example 2>&1)" "no domain 'nowhere.example'"
ctl key frob example.com >/dev/null 2>&1
expect "key with an unknown subcommand: usage error (exit 2)" "$?" 2

# Stores written by earlier releases (tests/system/fixtures: dumps of what the
# dnsdctl of schema version 1 and 2 wrote) are brought up to date, by dnsdctl
# and by dnsd; the key trail of a version 1 store is filled from the keys' own
# time columns, and the keys take part in the lifecycle afterwards.
FIX="$ROOT/tests/system/fixtures"
for v in 1 2; do
	OLD="$T/v$v.db"
	sqlite3 "$OLD" <"$FIX/store-v$v.sql"
	expect "fixture: a version $v store" "$(sqlite3 "$OLD" 'PRAGMA user_version')" "$v"
	check "dnsdctl opens a version $v store" "$DNSDCTL" --db "$OLD" --keys "$T/keys-v$v" status
	expect "dnsdctl migrated version $v to 8" "$(sqlite3 "$OLD" 'PRAGMA user_version')" 8
	h=$("$DNSDCTL" --db "$OLD" domain history old.example --json)
	expect "v$v: the trail of an old key" \
		"$(echo "$h" | jq_py '",".join(e["event"] for e in d["events"])')" "generated,published,activated"
	h=$("$DNSDCTL" --db "$OLD" domain history gone.example --json)
	expect "v$v: a revoked key has its revoked event" "$(echo "$h" | jq_py 'd["events"][-1]["event"]')" "revoked"
	expect "v$v: old slots are main slots" "$(sqlite3 "$OLD" "SELECT group_concat(DISTINCT role) FROM slots")" "main"
	check "v$v: an old domain's key rotates" "$DNSDCTL" --db "$OLD" --keys "$T/keys-v$v" key rotate old.example
	expect "v$v: the new key is published in esp2" \
		"$("$DNSDCTL" --db "$OLD" key list old.example --json | jq_py 'd[-1]["selector"] + " " + d[-1]["state"]')" "esp2 published"
done
expect_match "migration: v1 events say where they came from" \
	"$("$DNSDCTL" --db "$T/v1.db" domain history old.example --json | jq_py 'd["events"][0]["cause"]')" "before the audit trail"
expect_match "migration: v2 events keep their own causes" \
	"$("$DNSDCTL" --db "$T/v2.db" domain history old.example --json | jq_py 'd["events"][0]["cause"]')" "^domain add"

# dnsd never migrates (it only reads the store): it refuses an old store, naming the
# dnsdctl command that upgrades it, and serves it once that has run.
DB="$T/v1d.db"
sqlite3 "$DB" <"$FIX/store-v1.sql"
out=$("$DNSD" --db "$DB" --zone "$ZONEFILE" --listen 127.0.0.1:0 2>&1); rc=$?
expect "dnsd refuses a version 1 store: exit 1" "$rc" 1
expect_match "... naming the command that upgrades it" "$out" "older than 8: upgrade it with 'dnsdctl --db .* init"
expect "... and leaves it at version 1" "$(sqlite3 "$DB" 'PRAGMA user_version')" 1
ctl init --zone "$ZONE" >/dev/null 2>&1
start_dnsd || { not_ok "dnsd starts on the upgraded store"; finish; }
expect "dnsctl init migrated the version 1 store to version 8" "$(sqlite3 "$DB" 'PRAGMA user_version')" 8
expect_match "dnsd serves the migrated store" "$(q esp1.aaaaaaaaaaaaaaaa.dkim.$ZONE TXT)" '^"v=DKIM1; k=ed25519; p='
expect_match "and the removed domain's key as revoked" "$(q esp1.bbbbbbbbbbbbbbbb.dkim.$ZONE TXT)" '^"v=DKIM1; p="'
finish
expect "dnsd migrated a version 1 store to version 8" "$(sqlite3 "$DB" 'PRAGMA user_version')" 8
expect_match "dnsd serves the migrated store" "$(q esp1.aaaaaaaaaaaaaaaa.dkim.$ZONE TXT)" '^"v=DKIM1; k=ed25519; p='
expect_match "and the removed domain's key as revoked" "$(q esp1.bbbbbbbbbbbbbbbb.dkim.$ZONE TXT)" '^"v=DKIM1; p="'
finish
