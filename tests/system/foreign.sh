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
REF="'$KEYS/planted/key.pem'"
# First the domain ../../x alone, beside a valid row due for rotation too.
plant "'../../x'" "'xxxxxxxxxxxxxxxx'" "'esp1'" "$REF"
plant "'due.example'" "'dddddddddddddddd'" "'esp1'" "'$KEYS/due.example/esp1-dddddddddddddddd-1.pem'"

# ---- the job: no file outside the keys directory, the other keys go on ----
# outside: what appeared under $T since before.txt, outside the keys and exports
outside() { paths >"$T/after.txt"; comm -13 "$T/before.txt" "$T/after.txt" | grep -v -e "^$KEYS/" -e "^$EX\$" -e "^$EX/"; }
paths >"$T/before.txt"
out1=$(ctl maintain 2>&1); rc=$?
expect "maintain with ../../x: exit 0" "$rc" 0
expect "no file or directory made outside the keys directory and the exports (find)" "$(outside)" ""
expect "nothing at all in $T/a but the keys directory's parents" "$(find "$T/a" -mindepth 1 -maxdepth 2 | sort | tr '\n' ' ')" \
	"$T/a/b $T/a/b/keys "
# Then the others: a line end in a name, a selector, a key path; a token of another alphabet.
plant "'a' || char(10) || 'b.example'" "'nnnnnnnnnnnnnnnn'" "'esp1'" "$REF"
plant "'tok.example'" "'../../../../zzzz'" "'esp1'" "'$KEYS/tok.example/key.pem'"
plant "'sel.example'" "'ssssssssssssssss'" "'esp1' || char(10) || '*@victim.example esp1._domainkey.sel.example'" "$REF"
plant "'path.example'" "'pppppppppppppppp'" "'esp1'" \
	"'$KEYS/x.pem' || char(10) || '*@victim.example esp1._domainkey.path.example'"
expect "the rows are in the store" "$(sqlite3 "$DB" "SELECT count(*) FROM domains")" 7
out=$(ctl maintain 2>&1); rc=$?
out="$out1
$out"
expect "maintain with all the bad rows: exit 0" "$rc" 0
expect "still no file or directory made outside the keys directory and the exports" "$(outside)" ""
expect "the key directories made are those of host names" \
	"$(find "$KEYS" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | tr '\n' ' ')" "due.example good.example path.example sel.example "
expect_match "maintain says it skipped ../../x" "$out" "'\.\./\.\./x': key [0-9]+ is due for rotation, but domain '\.\./\.\./x'"
expect_match "maintain says it skipped the name with a line end, escaped" "$out" "'a\\\\x0ab\.example': key"
expect_match "maintain says it skipped the token of another alphabet" "$out" "token '\.\./\.\./\.\./\.\./zzzz' is not 16 characters"
expect_match "and counts them" "$out" "3 key\(s\) due for rotation skipped"
expect "due.example, a valid row due too, got its successor" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id
	                  WHERE d.name = 'due.example' AND k.state = 'published'")" 1
expect "and its file, in the keys directory" "$(find "$KEYS/due.example" -name 'esp2-dddddddddddddddd-*.pem' | wc -l)" 1

# ---- the exports: no line from a row that would not make one ----
err=$(ctl export 2>&1 >/dev/null); rc=$?
expect "export with the bad rows: exit 0" "$rc" 0
for f in KeyTable SigningTable rspamd-selectors.map rspamd-paths.map; do
	expect "$f: no line names victim.example" "$(grep -c victim "$EX/$f")" 0
done
# (tok.example's token is not one, but no line holds it: its key is listed)
expect "SigningTable.ed25519: a line for each row that makes one" \
	"$(table_lines SigningTable.ed25519 | cut -d' ' -f1 | tr '\n' ' ')" "*@due.example *@good.example *@tok.example "
expect "every line of SigningTable.ed25519 is *@DOMAIN SEL._domainkey.DOMAIN" \
	"$(table_lines SigningTable.ed25519 | grep -cvE '^\*@[a-z0-9.-]+ [a-z0-9-]+\._domainkey\.[a-z0-9.-]+$')" 0
expect "every line of KeyTable.ed25519 is three fields" \
	"$(table_lines KeyTable.ed25519 | grep -cvE '^[a-z0-9-]+\._domainkey\.[a-z0-9.-]+ [a-z0-9.-]+:[a-z0-9-]+:/[^ :]+$')" 0
check "keys.json is valid JSON with the same keys" "$PY" -c \
	'import json,sys; k=json.load(open(sys.argv[1]))["keys"]; sys.exit(sorted(x["domain"] for x in k) != ["due.example", "good.example", "tok.example"])' \
	"$EX/keys.json"
expect_match "export says which rows it left out: the selector" "$err" \
	"domain 'sel\.example' left out: selector 'esp1\\\\x0a\*@victim\.example"
expect_match "export says which rows it left out: the path" "$err" "domain 'path\.example' left out: private key"
expect_match "export says which rows it left out: ../../x" "$err" "domain '\.\./\.\./x' left out"

# ---- the records a customer pastes: no line from a selector that is not one ----
out=$(ctl domain records sel.example --format zone 2>"$T/err.txt"); rc=$?
expect "domain records of sel.example: exit 0" "$rc" 0
expect "no line names victim.example" "$(printf '%s\n' "$out" | grep -c victim)" 0
expect "the other slots' CNAMEs are there" "$(printf '%s\n' "$out" | grep -c '_domainkey.sel.example. .* CNAME')" 2
expect_match "the selector left out is said" "$(cat "$T/err.txt")" "sel.example: slot 'esp1\\\\x0a\\*@victim"
check_fails "domain records of a domain whose token is not one: refused" ctl domain records tok.example

# ---- dnsd: serves the valid rows, logs the bad ones ----
if start_dnsd; then ok "dnsd starts on the store with the bad rows"; else not_ok "dnsd starts on the store with the bad rows"; fi
expect_match "dnsd serves good.example's key" "$(q TXT "esp1.$(token good.example).dkim.$ZONE")" '^"v=DKIM1; k=ed25519; p='
expect_match "and due.example's" "$(q TXT esp1.dddddddddddddddd.dkim.$ZONE)" '^"v=DKIM1; k=ed25519; p='
expect "../../x's token answers NXDOMAIN" "$(status TXT esp1.xxxxxxxxxxxxxxxx.dkim.$ZONE)" NXDOMAIN
expect "a\\nb.example's token answers NXDOMAIN" "$(status TXT esp1.nnnnnnnnnnnnnnnn.dkim.$ZONE)" NXDOMAIN
expect "sel.example's other slots are served (esp3 empty)" \
	"$(status TXT esp3.ssssssssssssssss.dkim.$ZONE) $(q TXT esp3.ssssssssssssssss.dkim.$ZONE)" 'NOERROR "v=DKIM1; p="'
expect_match "the log names ../../x" "$(cat "$T/dnsd.log")" "domain row [0-9]+ not served, its names answer NXDOMAIN: domain '\.\./\.\./x'"
expect_match "the log names a\\nb.example, escaped" "$(cat "$T/dnsd.log")" "domain 'a\?b\.example'"
expect_match "the log names the token" "$(cat "$T/dnsd.log")" "token '\.\./\.\./\.\./\.\./zzzz' is not 16 characters"
expect_match "the log names the selector, escaped" "$(cat "$T/dnsd.log")" "slot 'esp1\\\\x0a\*@victim"
expect "the log has no raw control character" "$(tr -d '\n' <"$T/dnsd.log" | LC_ALL=C grep -c '[[:cntrl:]]')" 0
stop_dnsd

# ---- tenant names: names, compared without case ----
for bad in . .. -x _x "a b" "a/b" "x${ESC}[31m"; do
	check_fails "tenant add '$bad' is refused" ctl tenant add "$bad"
done
expect "none of them was added" "$(sqlite3 "$DB" "SELECT count(*) FROM tenants")" 1
expect_match "tenant add '..' says the rule (not only the store's check)" "$(ctl tenant add .. 2>&1)" \
	"invalid tenant name '\.\.': a letter or digit, then up to 63 letters, digits, '\.', '_' or '-'"
out=$(ctl tenant add ACME 2>&1); rc=$?
expect "tenant add ACME beside acme: refused (exit 1)" "$rc" 1
expect_match "it says they are one tenant" "$out" "tenant 'ACME' already exists as 'acme' \(tenant names are compared without case\)"
expect "tenant show ACME finds acme" "$(ctl tenant show ACME --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["name"])')" acme
check "domain add --tenant Acme adds to acme" ctl domain add case.example --tenant Acme --algorithm ed25519
expect "case.example belongs to acme" "$(ctl domain show case.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["tenant"])')" acme
check "tenant add Acme_Corp.eu-2 is fine" ctl tenant add Acme_Corp.eu-2

# ---- key revoke --all: the hostile rows are revoked too, and make no file ----
paths >"$T/before.txt"
j=$(ctl key revoke --all --tenant acme --reason test --json 2>"$T/err.txt"); rc=$?
expect "revoke --all with the planted rows: exit 0" "$rc" 0
expect "revoke --all: no file or directory made outside the keys directory and the exports" "$(outside)" ""
expect "revoke --all: the rows no key file may be named for get no replacement, said" \
	"$(grep -c 'no replacement key' "$T/err.txt")" 3
expect "revoke --all: every live key of acme revoked, the others replaced" \
	"$(echo "$j" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["unreplaced"], d["replaced"] + d["unreplaced"] <= d["revoked"])') $(sqlite3 "$DB" "SELECT count(*) FROM keys WHERE state = 'active'")" \
	"3 True $(echo "$j" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["replaced"])')"

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
