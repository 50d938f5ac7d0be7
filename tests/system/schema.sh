#!/bin/bash
# schema: schema version 4 refuses, by CHECK constraints, the rows review found
# written by SQL (a domain named ../../x or holding a newline, a token of the
# wrong alphabet, tenant names that are not names), and the migration to it:
# from stores of versions 1, 2 and 3 it keeps every row, index and trigger; a
# store holding rows the checks refuse is not migrated, its rows are named, and
# nothing changes (issue 12, point 3).
. "$(dirname "$0")/lib"
FIX="$ROOT/tests/system/fixtures"

# v3_store PATH [SQL]: a version 3 store from the fixture, with SQL run on it.
v3_store() {
	rm -f "$1" && sqlite3 "$1" <"$FIX/store-v3.sql" && { [ -z "${2:-}" ] || sqlite3 "$1" "$2"; }
}
digest() { sqlite3 "$1" .dump | sha256sum | cut -c1-16; }
# The rows review found: a path in a domain name, a newline, a token of the wrong alphabet.
BAD_ROWS="INSERT INTO tokens VALUES ('AAAAAAAAAAAAAAAA', 1);
	INSERT INTO domains(id, tenant_id, name, token, return_path, created_at)
	  VALUES (41, 1, '../../x', 'AAAAAAAAAAAAAAAA', 'bounce', 1);
	INSERT INTO tokens VALUES ('aaaaaaaaaaaaaaaa', 1);
	INSERT INTO domains(id, tenant_id, name, token, return_path, created_at)
	  VALUES (42, 1, 'a' || char(10) || 'b.example', 'aaaaaaaaaaaaaaaa', 'bounce', 1);"

# ---- migrations from every earlier version ----
for v in 1 2 3; do
	OLD="$T/v$v.db"
	sqlite3 "$OLD" <"$FIX/store-v$v.sql"
	n0=$(sqlite3 "$OLD" "SELECT (SELECT count(*) FROM domains) || '/' || (SELECT count(*) FROM keys) || '/' ||
		(SELECT count(*) FROM policies) || '/' || (SELECT count(*) FROM journal)")
	check "dnsdctl opens a version $v store" "$DNSDCTL" --db "$OLD" status
	expect "version $v migrated to 8" "$(sqlite3 "$OLD" 'PRAGMA user_version')" 8
	expect "version $v: every domain, key, policy and journal row kept" \
		"$(sqlite3 "$OLD" "SELECT (SELECT count(*) FROM domains) || '/' || (SELECT count(*) FROM keys) || '/' ||
			(SELECT count(*) FROM policies) || '/' || (SELECT count(*) FROM journal)")" "$n0"
	expect "version $v: the tables have their checks, nothing is left aside" \
		"$(sqlite3 "$OLD" "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%CONSTRAINT domain_name CHECK%'")/$(
			sqlite3 "$OLD" "SELECT count(*) FROM sqlite_schema WHERE name GLOB '*_v3'")" "1/0"
	expect "version $v: the journal's 17 triggers and the 15 indexes (2 of version 5, 2 of 6, 1 of 8) are there" \
		"$(sqlite3 "$OLD" "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'")/$(
			sqlite3 "$OLD" "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")" "17/15"
	j=$(sqlite3 "$OLD" "SELECT max(seq) FROM journal")
	"$DNSDCTL" --db "$OLD" spf set --domain old.example "v=spf1 ip4:192.0.2.$v -all" >/dev/null
	expect "version $v: a change after the migration is journaled" \
		"$(sqlite3 "$OLD" "SELECT count(*) > 0 FROM journal WHERE seq > $j AND tbl = 'policies'")" 1
done
expect "version 3: tenant Globex is found as globex" \
	"$("$DNSDCTL" --db "$T/v3.db" tenant show globex --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["name"])')" Globex
DB="$T/v3.db"
start_dnsd && ok "dnsd serves a migrated version 3 store" || not_ok "dnsd serves a migrated version 3 store"
expect "dnsd answers the change made after the migration" "$(q TXT "$(sqlite3 "$DB" \
	"SELECT token FROM domains WHERE name = 'old.example'").rp.$ZONE")" '"v=spf1 ip4:192.0.2.3 -all"'
stop_dnsd

# ---- a store with rows the checks refuse is not migrated, and says which ----
DB="$T/bad.db"
v3_store "$DB" "$BAD_ROWS INSERT INTO tenants(id, name, created_at) VALUES (43, 'ACME', 1);"
d0=$(digest "$DB")
out=$("$DNSDCTL" --db "$DB" status 2>&1); rc=$?
expect "dnsdctl on a store with bad rows: exit 1" "$rc" 1
expect_match "it says the store cannot be upgraded and nothing changed" "$out" \
	"cannot be upgraded to schema version 4: .*nothing was changed"
expect_match "it names the domain ../../x" "$out" "domains row 41 \('\.\./\.\./x, token "
expect_match "it names the domain with a newline, escaped" "$out" "domains row 42 \('a\\\\x0ab\.example, token "
expect_match "it names the token of the wrong alphabet" "$out" "tokens row [0-9]+ \('AAAAAAAAAAAAAAAA'\)"
expect_match "it names the tenant that is acme without case" "$out" "tenants row 43 \('ACME \(also acme, without case\)'\)"
expect "the message is one line" "$(printf '%s\n' "$out" | wc -l)" 1
expect "nothing changed: the same version and content" "$(sqlite3 "$DB" 'PRAGMA user_version') $(digest "$DB")" "3 $d0"
rm -f "$T/ready"
# (bounded: a dnsd that starts anyway is stopped after 10 s, and the check fails)
timeout 10 "$DNSD" --db "$DB" --zone "$ZONEFILE" --listen 127.0.0.1:0 --ready-file "$T/ready" 2>"$T/dnsd-bad.log"
rc=$?
expect "dnsd on it: refuses to start (exit 1)" "$rc/$([ -s "$T/ready" ] && echo ready)" "1/"
# (a dnsd that opens the store read-only says it must be upgraded by dnsdctl)
expect_match "dnsd says why" "$(cat "$T/dnsd-bad.log")" \
	"cannot be upgraded to schema version 4: .*domains row 41|older than 8: upgrade it with .dnsdctl"
expect "still nothing changed" "$(sqlite3 "$DB" 'PRAGMA user_version') $(digest "$DB")" "3 $d0"
# Fixed with SQL at version 3 (docs/schema.md), it migrates: names put right, the
# token replaced (its guard dropped and made again around the one delete).
sqlite3 "$DB" "UPDATE domains SET name = 'ab.example', state = 'purged' WHERE id = 42;
	UPDATE tenants SET name = 'acme2' WHERE id = 43;
	UPDATE domains SET name = 'x.example' WHERE id = 41;"
out=$("$DNSDCTL" --db "$DB" status 2>&1)
expect_match "the names fixed, it names what is left: the token" "$out" \
	"rows there hold .*: tokens row [0-9]+ \('AAAAAAAAAAAAAAAA'\); domains row 41 \('x.example, token AAAAAAAAAAAAAAAA, return path bounce'\)$"
sqlite3 "$DB" "PRAGMA foreign_keys = ON; BEGIN;
	INSERT INTO tokens VALUES ('bbbbbbbbbbbbbbbb', unixepoch());
	UPDATE domains SET token = 'bbbbbbbbbbbbbbbb' WHERE token = 'AAAAAAAAAAAAAAAA';
	DROP TRIGGER tokens_never_deleted;
	DELETE FROM tokens WHERE token = 'AAAAAAAAAAAAAAAA';
	CREATE TRIGGER tokens_never_deleted BEFORE DELETE ON tokens BEGIN
	  SELECT RAISE(ABORT, 'tokens are never deleted: they must never be reused');
	END;
	COMMIT;"
check "fixed, the store migrates" "$DNSDCTL" --db "$DB" status
expect "at version 8, with its guard on tokens" "$(sqlite3 "$DB" 'PRAGMA user_version') $(sqlite3 "$DB" \
	"SELECT count(*) FROM sqlite_schema WHERE name = 'tokens_never_deleted'")" "8 1"

# ---- a version 4 store refuses the rows at the INSERT, whoever writes them ----
DB="$T/store.db"
new_store
ctl domain add example.com --tenant acme --algorithm ed25519 >/dev/null
refused() {
	local d=$1 sql=$2 want=$3 out
	out=$(sqlite3 "$DB" "PRAGMA foreign_keys = ON; $sql" 2>&1)
	expect_match "sqlite3 $d: refused by $want" "$out" "CHECK constraint failed: $want|UNIQUE constraint failed: $want"
}
refused "INSERT of the domain ../../x" "INSERT INTO tokens VALUES ('bbbbbbbbbbbbbbbb', 1);
	INSERT INTO domains(tenant_id, name, token, return_path, created_at)
	VALUES (1, '../../x', 'bbbbbbbbbbbbbbbb', 'bounce', 1)" domain_name
refused "UPDATE to a domain name with a newline" \
	"UPDATE domains SET name = 'a' || char(10) || 'b.example' WHERE name = 'example.com'" domain_name
refused "INSERT of a token of the wrong alphabet" "INSERT INTO tokens VALUES ('AAAAAAAAAAAAAAAA', 1)" token_value
refused "UPDATE of a selector to ../x" "UPDATE slots SET selector = '../x' WHERE id = 1" slot_selector
refused "INSERT of a tenant named .." "INSERT INTO tenants(name, created_at) VALUES ('..', 1)" tenant_name
refused "INSERT of the tenant ACME beside acme" "INSERT INTO tenants(name, created_at) VALUES ('ACME', 1)" tenants.name
refused "INSERT of a 12288-bit key's algorithm" \
	"UPDATE keys SET algorithm = 'rsa-12288' WHERE id = 1" key_algorithm
refused "INSERT of a DMARC value of 3000 characters" \
	"UPDATE policies SET value = value || printf('%.3000c', ' ') WHERE kind = 'dmarc'" policy_value
expect "the refused statements changed nothing" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM domains WHERE name = 'example.com'")/$(sqlite3 "$DB" "SELECT count(*) FROM tenants")" "1/1"
finish
