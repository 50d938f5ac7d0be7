#!/bin/bash
# import: `dnsdctl import FILE.csv` adds many domains with the keys they already
# have, in one batch (one serial move). Rows with a private key (RSA PEM, Ed25519
# PEM) are copied into the key directory and named in the signer's exports; rows
# with only a public key are served as given. One bad row and nothing changes.
# dnsd serves what was imported.
. "$(dirname "$0")/lib"

new_store
openssl genrsa -out "$T/r.pem" 2048 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/e.pem" 2>/dev/null
RSA_PUB=$(openssl rsa -in "$T/r.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
OTHER_PUB=$(openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -outform DER 2>/dev/null | base64 -w0)
cat >"$T/a.csv" <<EOF
# migrated from the old system
domain,tenant,public_key,private_key,token,return_path
real.example,acme,,$T/r.pem,aaaaaaaaaaaaaaaa,
Ed.Example.,acme,,$T/e.pem,bbbbbbbbbbbbbbbb,mail
pub.example,acme,$OTHER_PUB,,cccccccccccccccc,
both.example,acme,$RSA_PUB,$T/r.pem,dddddddddddddddd,
EOF
s0=$(sqlite3 "$DB" "SELECT value FROM serial")
out=$(ctl import "$T/a.csv")
expect "import: four domains" "$out" "4 domain(s) imported in one batch; serial $(sqlite3 "$DB" "SELECT value FROM serial")"
s1=$(sqlite3 "$DB" "SELECT value FROM serial")
expect "import: one batch, one serial move" "$(sqlite3 "$DB" "SELECT count(DISTINCT serial) FROM journal WHERE serial > $s0")" 1
expect "names normalised, return path kept" "$(sqlite3 "$DB" "SELECT name || '/' || return_path FROM domains WHERE token = 'bbbbbbbbbbbbbbbb'")" "ed.example/mail"
expect "algorithms found from the keys" \
	"$(sqlite3 "$DB" "SELECT group_concat(algorithm, ' ') FROM (SELECT k.algorithm FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id ORDER BY d.token)")" \
	"rsa-2048 ed25519 rsa-2048 rsa-2048"
priv=$(ctl key list real.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["private_key"])')
expect_match "a private key is copied into the key directory" "$priv" "^$KEYS/real.example/"
check "the copy is mode 0600" test "$(stat -c %a "$priv")" = 600
check "the copy is the same key" cmp <(openssl pkey -in "$priv" -pubout 2>/dev/null) <(openssl pkey -in "$T/r.pem" -pubout 2>/dev/null)
expect "history: imported, published, activated" \
	"$(ctl domain history pub.example --json | "$PY" -c 'import json,sys; print(",".join(e["event"] for e in json.load(sys.stdin)["events"]))')" \
	"imported,published,activated"
EX="$(dirname "$DB")/exports"
expect "the RSA table names the RSA keys with a private key, not the public-only one" \
	"$(grep -v '^#' "$EX/KeyTable" | cut -d' ' -f1 | sort | tr '\n' ' ')" "esp1._domainkey.both.example esp1._domainkey.real.example "
expect "the Ed25519 table names the Ed25519 key" \
	"$(grep -v '^#' "$EX/KeyTable.ed25519" | cut -d' ' -f1 | tr '\n' ' ')" "esp1._domainkey.ed.example "

start_dnsd || finish
expect "dnsd serves the imported RSA key" "$(q esp1.aaaaaaaaaaaaaaaa.dkim.$ZONE TXT | tr -d '" ')" "v=DKIM1;k=rsa;p=$RSA_PUB"
expect "dnsd serves the public-only key as given" "$(q esp1.cccccccccccccccc.dkim.$ZONE TXT | tr -d '" ')" "v=DKIM1;k=rsa;p=$OTHER_PUB"
expect_match "dnsd serves the Ed25519 key" "$(q esp1.bbbbbbbbbbbbbbbb.dkim.$ZONE TXT)" '^"v=DKIM1; k=ed25519; p='
expect_match "and the imported domains' policies" "$(q cccccccccccccccc.rp.$ZONE TXT)" '^"v=spf1 '

# All or nothing.
snap() { sqlite3 "$DB" .dump; ls -R "$KEYS"; }
snap >"$T/before"
cat >"$T/b.csv" <<EOF
domain,tenant,public_key,private_key
fine.example,acme,$OTHER_PUB,
bad..example,acme,$OTHER_PUB,
short.example,acme,AAAA,
real.example,acme,$OTHER_PUB,
other.example,nobody,$OTHER_PUB,
fine2.example,acme,,$T/nowhere.pem
mismatch.example,acme,$OTHER_PUB,$T/r.pem
EOF
openssl genrsa -out "$T/weak.pem" 768 2>/dev/null
echo "weak.example,acme,,$T/weak.pem" >>"$T/b.csv"
echo "twice.example,acme,$OTHER_PUB," >>"$T/b.csv"
echo "twice.example,acme,$OTHER_PUB," >>"$T/b.csv"
err=$(ctl import "$T/b.csv" 2>&1 >/dev/null)
rc=$?
expect "a file with bad rows: exit 1" "$rc" 1
for want in "line 3: bad domain 'bad..example'" "line 4: short.example: public key" "line 5: domain real.example already exists" \
	"line 6: no tenant 'nobody'" "line 7: .*nowhere.pem" "line 8: public_key is not the public half" \
	"line 9: .*768-bit RSA key" "line 11: domain twice.example" "bad row\\(s\\) in .*nothing was imported"; do
	expect_match "says: $want" "$err" "$want"
done
snap >"$T/after"
check "nothing changed (store and key directory)" cmp "$T/before" "$T/after"
printf 'name,tenant\nx.example,acme\n' >"$T/c.csv"
expect_match "an unknown column is named" "$(ctl import "$T/c.csv" 2>&1)" "unknown column 'name'"
printf 'domain,tenant\nx.example,acme\n' >"$T/d.csv"
expect_match "a file without keys is refused" "$(ctl import "$T/d.csv" 2>&1)" "public_key' or 'private_key' column"
: >"$T/e.csv"
expect_match "an empty file is refused" "$(ctl import "$T/e.csv" 2>&1)" "is empty"
expect_match "a missing file is refused" "$(ctl import "$T/none.csv" 2>&1)" "cannot open"
printf 'domain,public_key\nstdin.example,%s\n' "$OTHER_PUB" | ctl import - --tenant acme >/dev/null
expect "standard input with --tenant" "$(sqlite3 "$DB" "SELECT count(*) FROM domains WHERE name = 'stdin.example'")" 1
printf 'domain,public_key\nstdin2.example,%s\n' "$OTHER_PUB" >"$T/stdin.csv"
ctl import - --tenant acme <"$T/stdin.csv" >/dev/null
expect "standard input from a file (read twice in place)" "$(sqlite3 "$DB" "SELECT count(*) FROM domains WHERE name = 'stdin2.example'")" 1
# One path with domain add: the same slot rules and the same first keys.
layout() { # DOMAIN: each slot's selector and its key's algorithm, in order
	sqlite3 "$DB" "SELECT group_concat(x, ' ') FROM (SELECT s.selector || '=' || ifnull(k.algorithm, '-') AS x
		FROM slots s JOIN domains d ON d.id = s.domain_id LEFT JOIN keys k ON k.slot_id = s.id
		WHERE d.name = '$1' ORDER BY s.position)"
}
ctl tenant add pairs --ed25519 yes >/dev/null
printf 'domain,tenant,public_key,private_key\npaired.example,pairs,%s,\nedmain.example,pairs,,%s\n' \
	"$OTHER_PUB" "$T/e.pem" >"$T/p.csv"
ctl import "$T/p.csv" >/dev/null
ctl domain add added.example --tenant pairs >/dev/null
ctl domain add edadded.example --tenant pairs --algorithm ed25519 >/dev/null
expect "domain add: a tenant's pair gets its first Ed25519 key" "$(layout added.example)" \
	"esp1=rsa-2048 esp2=- esp3=- esp-ed1=ed25519 esp-ed2=-"
expect "import: the same layout and the same first keys" "$(layout paired.example)" "$(layout added.example)"
expect "import: no pair beside an Ed25519 key, as domain add" "$(layout edmain.example)" "$(layout edadded.example)"
expect "the pair's key is in the exports" "$(grep -c 'esp-ed1._domainkey.paired.example' "$EX/KeyTable.ed25519")" 1
ctl tenant add wide --slots 7 --ed25519 yes >/dev/null
printf 'domain,tenant,public_key\nwide.example,wide,%s\n' "$OTHER_PUB" >"$T/w.csv"
snap >"$T/before"
expect_match "import: 7 slots and the pair are refused" "$(ctl import "$T/w.csv" 2>&1)" \
	"line 2: 7 slots plus the Ed25519 pair pass the 8 slots"
expect_match "domain add: refused with the same words" "$(ctl domain add wide2.example --tenant wide 2>&1)" \
	"7 slots plus the Ed25519 pair pass the 8 slots"
snap >"$T/after"
check "and nothing changed" cmp "$T/before" "$T/after"

# domain add --key: an existing private key, checked as import checks it.
out=$(ctl domain add keyed.example --tenant acme --key "$T/r.pem" --json)
expect "domain add --key: the key's public half is served" \
	"$(sqlite3 "$DB" "SELECT k.public_key FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = 'keyed.example'")" "$RSA_PUB"
priv=$(ctl key list keyed.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["private_key"])')
expect_match "its copy is in the key directory" "$priv" "^$KEYS/keyed.example/esp1-.*-imported.pem$"
check "the copy is the same key" cmp <(openssl pkey -in "$priv" -pubout 2>/dev/null) <(openssl pkey -in "$T/r.pem" -pubout 2>/dev/null)
expect "history: imported, published, activated" \
	"$(ctl domain history keyed.example --json | "$PY" -c 'import json,sys; print(",".join(e["event"] for e in json.load(sys.stdin)["events"]))')" \
	"imported,published,activated"
snap >"$T/before"
expect_match "domain add --key: a 768-bit key is refused" "$(ctl domain add weak.example --tenant acme --key "$T/weak.pem" 2>&1)" "768-bit RSA key"
expect_match "domain add --key: a missing file is named" "$(ctl domain add none.example --tenant acme --key "$T/nowhere.pem" 2>&1)" "nowhere.pem"
expect_match "domain add --key: the algorithm must agree" \
	"$(ctl domain add alg.example --tenant acme --key "$T/r.pem" --algorithm ed25519 2>&1)" "the key is rsa-2048, not"
ctl domain add dup.example --tenant acme --key "$T/r.pem" --token "$(sqlite3 "$DB" "SELECT token FROM domains WHERE name = 'keyed.example'")" >/dev/null 2>&1
expect "a refused domain add --key: exit 1" "$?" 1
snap >"$T/after"
check "and nothing changed (store and key directory)" cmp "$T/before" "$T/after"
openssl genrsa -out "$T/r1024.pem" 1024 2>/dev/null
err=$(ctl domain add old.example --tenant acme --key "$T/r1024.pem" 2>&1 >/dev/null)
expect "domain add --key: a 1024-bit key is taken" "$(sqlite3 "$DB" "SELECT count(*) FROM domains WHERE name = 'old.example'")" 1
expect_match "... with a warning to rotate it" "$err" "1024-bit RSA key is weak .*key rotate old.example"

# Batches: every row is checked first, then the rows go in batches of --batch
# N, each its own transaction; other writers take their turns between them.
ctl tenant add bulk >/dev/null
gen() { # N FILE [BAD]: N rows of public keys (every 1000th a private key), BAD: a bad last row
	"$PY" - "$@" "$T/r.pem" <<'PYEOF'
import base64, os, sys
n, path, bad = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "bad"
pem = sys.argv[-1]
head = bytes.fromhex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100")
with open(path, "w") as f:
    f.write("domain,tenant,public_key,private_key\n")
    for i in range(n):
        m = bytearray(os.urandom(256)); m[0] |= 0x80; m[-1] |= 1
        pub = base64.b64encode(head + bytes(m) + bytes.fromhex("0203010001")).decode()
        if i % 1000 == 999:
            f.write(f"bulk{i}.example,bulk,,{pem}\n")
        else:
            f.write(f"bulk{i}.example,bulk,{pub},\n")
    if bad:
        f.write("bad..example,bulk,AAAA,\n")
PYEOF
}
gen 2000 "$T/bad.csv" bad
snap >"$T/before"
err=$(ctl import "$T/bad.csv" --batch 100 2>&1 >/dev/null)
expect "a bad last row: exit 1" "$?" 1
expect_match "it is named" "$err" "line 2002: bad domain 'bad..example'"
snap >"$T/after"
check "and nothing changed, though 2000 rows came before it" cmp "$T/before" "$T/after"
expect "no progress line when stderr is not a terminal" "$(grep -c 'domains in' <<<"$err")" 0

count() { sqlite3 "$DB" "SELECT count(*) FROM domains WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'bulk')"; }
gen 20000 "$T/big.csv"
ctl import "$T/big.csv" --batch 100 >"$T/big.out" 2>&1 &
imp=$!
some() { test "$(count)" -gt 0; }
wait_for "the import's first batches are in" 60 some
ctl --lock-timeout 10000 domain add during.example --tenant acme >/dev/null 2>"$T/during.err"
expect "a second writer gets its turn during the import" "$?" 0
wait $imp
expect "the import ends well" "$?" 0
between=$(sqlite3 "$DB" "SELECT (SELECT min(id) FROM domains WHERE name LIKE 'bulk%') < id AND id < (SELECT max(id) FROM domains WHERE name LIKE 'bulk%') FROM domains WHERE name = 'during.example'")
expect "its domain went in between two of the import's batches" "$between" 1
expect "every row is in" "$(count)" 20000
# 200 batches of 100 rows, or more: a batch also ends after 500 ms holding the lock.
nb=$(sed -n 's/^20000 domain(s) imported in \([0-9]*\) batch(es), 0 already there.*/\1/p' "$T/big.out")
check "in 200 batches or more ($nb)" test "${nb:-0}" -ge 200

# Stopped midway (kill -9): the batches committed stay; the same import run
# again skips them and writes the rest; every row is in once.
ctl tenant add bulk2 >/dev/null
sed 's/,bulk,/,bulk2,/; s/^bulk/b2/' "$T/big.csv" >"$T/big2.csv"
count2() { sqlite3 "$DB" "SELECT count(*) FROM domains WHERE tenant_id = (SELECT id FROM tenants WHERE name = 'bulk2')"; }
"$DNSDCTL" --config "$T/dnsdctl.conf" --db "$DB" --keys "$KEYS" import "$T/big2.csv" --batch 100 >/dev/null 2>&1 &
imp=$! # dnsdctl itself, not a shell around it
some2() { test "$(count2)" -gt 1000; }
wait_for "the second import's first batches are in" 60 some2
kill -9 $imp
wait $imp 2>/dev/null
part=$(count2)
check "killed midway: part of the rows are in" test "$part" -gt 0 -a "$part" -lt 20000
out=$(ctl import "$T/big2.csv" --batch 5000 2>&1)
expect "run again: it ends well" "$?" 0
expect_match "it says how many were there already" "$out" "^$((20000 - part)) domain\\(s\\) imported in [0-9]+ batch\\(es\\), $part already there"
expect "every row is in once" "$(sqlite3 "$DB" "SELECT count(*) || '/' || count(DISTINCT name) FROM domains WHERE name LIKE 'b2%'")" "20000/20000"
check "the killed run's staging directory is gone" test -z "$(ls -A "$KEYS" | grep '^\.stage-')"
expect "the private keys' copies are in place" "$(ls "$KEYS"/b2*.example/*.pem | wc -l)" 20
out=$(ctl import "$T/big2.csv" 2>&1)
expect_match "a third run: nothing to do" "$out" "^0 domain\\(s\\) imported in 0 batch\\(es\\), 20000 already there"
printf 'domain,tenant,public_key\nb21.example,bulk,%s\n' "$OTHER_PUB" >"$T/other.csv"
expect_match "a row there with another tenant or key is still bad" "$(ctl import "$T/other.csv" 2>&1)" \
	"line 2: domain b21.example already exists"

# Progress: asked for (--progress), a line rewritten in place, and the last one.
gen 300 "$T/p.csv"
sed -i 's/bulk\([0-9]\)/prog\1/; s/,bulk,/,acme,/' "$T/p.csv"
err=$(ctl import "$T/p.csv" --progress --batch 100 2>&1 >/dev/null)
expect_match "--progress: the final line" "$err" "imported 300 domains in [0-9.]+ s \\([0-9]+/s\\)"
check "--progress: rewritten in place" grep -q $'\r' <<<"$err"

# A writer that waits past --lock-timeout: busy, exit 5, nothing changed.
"$PY" - "$DB" "$DNSDCTL" "$T/dnsdctl.conf" "$KEYS" >"$T/busy.out" 2>&1 <<'PYEOF'
import sqlite3, subprocess, sys
db, ctl, conf, keys = sys.argv[1:5]
c = sqlite3.connect(db, isolation_level=None)
c.execute("BEGIN IMMEDIATE")
p = subprocess.run([ctl, "--config", conf, "--db", db, "--keys", keys, "--lock-timeout", "200",
                    "tenant", "add", "late"], capture_output=True, text=True)
c.execute("ROLLBACK")
print(p.returncode, p.stderr.strip())
PYEOF
expect_match "--lock-timeout: busy, try again, exit 5" "$(cat "$T/busy.out")" "^5 dnsdctl: .*locked by another writer.*busy: try again"
expect "and the tenant was not added" "$(sqlite3 "$DB" "SELECT count(*) FROM tenants WHERE name = 'late'")" 0
finish
