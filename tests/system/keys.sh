#!/bin/bash
# keys: the key audit trail (schema version 2): key list, domain history, and the
# migration that brings a version 1 store up to date, by dnsdctl and by dnsd.
. "$(dirname "$0")/lib"

jq_py() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

new_store
ctl domain add example.com --tenant acme --algorithm ed25519 >/dev/null
expect "schema version 2" "$(sqlite3 "$DB" 'PRAGMA user_version')" 2

# key list
k=$(ctl key list example.com --json)
expect "key list: one key" "$(echo "$k" | jq_py 'len(d)')" 1
expect "key list: slot 1, ed25519, active" "$(echo "$k" | jq_py '" ".join([d[0]["selector"], d[0]["algorithm"], d[0]["state"]])')" "esp1 ed25519 active"
expect "key list: activated, not retired or revoked" \
	"$(echo "$k" | jq_py '[d[0]["activated"] is not None, d[0]["retired"], d[0]["revoked"]]')" "[True, None, None]"
expect "key list: the private key file is named" \
	"$(echo "$k" | jq_py 'd[0]["private_key"]' | xargs -I{} test -f {} && echo yes)" yes
expect_match "key list, table: a line for the key" "$(ctl key list example.com)" 'esp1 +ed25519 +active'

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

# A version 1 store (as the first release wrote it) is brought up to date by
# dnsdctl, and the trail is filled from the keys' own time columns.
ctl domain add old.example --tenant acme --algorithm ed25519 >/dev/null
sqlite3 "$DB" "DROP TABLE key_events; PRAGMA user_version = 1;"
expect "made a version 1 store" "$(sqlite3 "$DB" 'PRAGMA user_version')" 1
check "dnsdctl opens a version 1 store" ctl status
expect "dnsdctl migrated it to version 2" "$(sqlite3 "$DB" 'PRAGMA user_version')" 2
h=$(ctl domain history old.example --json)
expect "migration: the trail of an old key comes from its columns" \
	"$(echo "$h" | jq_py '",".join(e["event"] for e in d["events"])')" "generated,published,activated"
expect_match "migration: such events say where they came from" \
	"$(echo "$h" | jq_py 'd["events"][0]["cause"]')" "before the audit trail"
h=$(ctl domain history example.com --json)
expect "migration: a revoked key gets its revoked event back" \
	"$(echo "$h" | jq_py 'd["events"][-1]["event"]')" "revoked"

# dnsd migrates too.
sqlite3 "$DB" "DROP TABLE key_events; PRAGMA user_version = 1;"
start_dnsd || finish
expect "dnsd migrated a version 1 store to version 2" "$(sqlite3 "$DB" 'PRAGMA user_version')" 2
TOK=$(token old.example)
expect_match "dnsd serves the migrated store" "$(q esp1.$TOK.dkim.$ZONE TXT)" '^"v=DKIM1; k=ed25519; p='
finish
