#!/bin/bash
# foreign: rows written by SQL past the schema's checks (any writer can turn
# them off) are checked again where they are used (issue 12, points 3 and 8):
# a domain named ../../x or a\nb, a token of another alphabet, a selector or a
# key path with a line end in it make no file outside the keys directory and no
# line in the signer's exports, and the other rows go on; dnsd serves the valid
# rows and logs the bad ones; tenant names are names, compared without case;
# nothing dnsdctl prints carries a raw control character.
. "$(dirname "$0")/lib"
KEYS="$T/a/b/keys" # deep enough that ../../x would land in $T/a, still in the test's folder
EX="$T/exports"
ED_PUB=$(openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -outform DER | tail -c 32 | base64)
ESC=$(printf '\033')

# plant NAME TOKEN SELECTOR PRIVATE_REF (SQL expressions): a domain with three
# slots and an active key, activated 200 days ago (due for rotation), written
# past the checks as PRAGMA ignore_check_constraints lets any writer.
plant() {
	sqlite3 "$DB" "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = ON; BEGIN IMMEDIATE;
		INSERT INTO tokens VALUES ($2, unixepoch());
		INSERT INTO domains(tenant_id, name, token, return_path, created_at) VALUES (1, $1, $2, 'bounce', unixepoch());
		INSERT INTO slots(domain_id, selector, position, role, created_at)
		  SELECT id, $3, 1, 'main', unixepoch() FROM domains WHERE token = $2
		  UNION ALL SELECT id, 'esp2', 2, 'main', unixepoch() FROM domains WHERE token = $2
		  UNION ALL SELECT id, 'esp3', 3, 'main', unixepoch() FROM domains WHERE token = $2;
		INSERT INTO keys(slot_id, algorithm, public_key, private_ref, state, created_at, published_at,
		                 activated_at, active_after)
		  SELECT s.id, 'ed25519', '$ED_PUB', $4, 'active', unixepoch() - 200 * 86400,
		         unixepoch() - 200 * 86400, unixepoch() - 200 * 86400, unixepoch() - 200 * 86400
		  FROM slots s JOIN domains d ON d.id = s.domain_id WHERE d.token = $2 AND s.position = 1;
		COMMIT;"
}
# every path under $T but the store, the logs and the check output
paths() { find "$T" -mindepth 1 ! -name 'store.db*' ! -name '*.log' ! -name '*.txt' ! -name '.check.out' ! -name 'ready' | sort; }
table_lines() { grep -v '^#' "$EX/$1"; }

new_store
ctl domain add good.example --tenant acme --algorithm ed25519 >/dev/null
# ---- nothing printed carries a raw control character ----
sqlite3 "$DB" "PRAGMA ignore_check_constraints = ON;
	INSERT INTO tenants(name, created_at) VALUES ('evil' || char(27) || ']0;owned' || char(7) || char(10) || 'forged', 1);
	INSERT INTO policies(tenant_id, kind, value, updated_at) VALUES (1, 'dmarc', 'v=DMARC1; p=none' || char(27) || '[2J', 1);
	UPDATE domains SET name = 'esc' || char(27) || '[31m.example' WHERE name = 'good.example';"
raw() { LC_ALL=C grep -c "$ESC" "$1"; }
for cmd in "tenant list" "tenant show acme" "domain list" "dmarc show --tenant acme" "tenant list --json" "domain list --json"; do
	ctl $cmd >"$T/out.txt" 2>&1
	expect "$cmd: no raw ESC" "$(raw "$T/out.txt")" 0
done
ctl tenant list >"$T/out.txt"
expect_match "tenant list: the ESC shown as \\x1b, the line end as \\x0a" "$(cat "$T/out.txt")" 'evil\\x1b\]0;owned\\x07\\x0aforged'
expect "tenant list: one line per tenant (none forged)" "$(grep -c . "$T/out.txt")" \
	$(($(sqlite3 "$DB" "SELECT count(*) FROM tenants") + 1))
expect_match "domain list: the ESC in a name shown as \\x1b" "$(ctl domain list)" 'esc\\x1b\[31m\.example'
expect_match "dmarc show: the ESC in a value shown" "$(ctl dmarc show --tenant acme)" 'p=none\\x1b\[2J'
check "tenant list --json is valid JSON" "$PY" -c 'import json,sys; json.load(sys.stdin)' < <(ctl tenant list --json)
expect_match "an error quoting input shows the ESC escaped" "$(ctl tenant show "x${ESC}[2J" 2>&1)" "no tenant 'x\\\\x1b\[2J'"
expect "and carries none raw" "$(ctl tenant show "x${ESC}[2J" 2>&1 | LC_ALL=C grep -c "$ESC")" 0
finish
