#!/bin/bash
# trust: the boundaries of docs/security.md between dnsd, the writers and data.
#  1. Nothing in the store is executed or used as a path: a settings row naming an
#     export command, a keys or export directory, or a zone file changes nothing
#     dnsdctl does; dnsdctl refuses a store, config, key or export directory another
#     user could write, and follows no symbolic link it did not make.
#  2. In the shipped layout (the store's directory the signer's, group dnsd, 2750)
#     dnsd's user reads the store and serves every change, and cannot write the
#     store, its directory, the keys or the exports. Users are numeric ids run with
#     setpriv, so the test makes no accounts.
. "$(dirname "$0")/lib"
chmod 0755 "$T" # other users must reach what is inside

# ---- 1. nothing from the store is run or used as a path ----
new_store
ctl domain add example.com --tenant acme >/dev/null
sqlite3 "$DB" "INSERT INTO settings(name, value) VALUES
	('export_command', 'touch $T/pwned-command'),
	('export_dir', '$T/pwned-exports'),
	('keys_dir', '$T/pwned-keys'),
	('zone_file', '/etc/shadow')"
ctl key rotate example.com >/dev/null 2>&1
ctl export >/dev/null 2>&1
ctl maintain >/dev/null 2>&1
check "a foreign export_command row is never run" test ! -e "$T/pwned-command"
check "a foreign export_dir row is never written" test ! -e "$T/pwned-exports"
check "a foreign keys_dir row never gets a key" test ! -e "$T/pwned-keys"
check "the exports stay beside the store" test -s "$T/exports/KeyTable"
check "the rotated key went to the configured key directory" \
	test "$(find "$KEYS/example.com" -name '*.pem' | wc -l)" -eq 2
out=$(ctl spf set 'v=spf1 include:_spf.auth.demo.example -all' 2>&1)
check "a foreign zone_file row is never read" test -z "$(printf '%s' "$out" | grep -i shadow)"
out=$(ctl init --zone "$ZONE" 2>&1)
expect_match "init removes the old path and command rows, naming them only" "$out" "removed the setting export_command"
check "... never printing the command" test -z "$(printf '%s' "$out" | grep pwned)"
expect "... and they are gone" "$(sqlite3 "$DB" "SELECT count(*) FROM settings WHERE name IN ('export_command', 'export_dir', 'keys_dir', 'zone_file')")" 0

# A key row pointing at a file of its choosing: the signer is never told to read it.
sqlite3 "$DB" "UPDATE keys SET private_ref = '/etc/shadow' WHERE state = 'active'"
out=$(ctl export 2>&1)
check "a key whose file lies outside its domain's key directory is left out of the exports" \
	test -z "$(grep -l /etc/shadow "$T/exports/"* 2>/dev/null)"
expect_match "... and said" "$out" "left out: its private key is not a file of $KEYS/example.com/"
sqlite3 "$DB" "UPDATE keys SET private_ref = (SELECT '$KEYS/example.com/' || 'x.pem') WHERE state = 'active'"
ctl export >/dev/null 2>&1
expect_match "a file in the domain's own directory is exported" "$(cat "$T/exports/KeyTable")" "example.com:esp.:$KEYS/example.com/x.pem"

# The export command comes from the config file, and a failure never shows its text.
printf 'zone-file %s\nexport-command exit 9 # secret-token\n' "$ZONEFILE" >"$T/cmd.conf"
out=$(CTLCONF="$T/cmd.conf" ctl export 2>&1); rc=$?
expect "a failing export command: exit 3" "$rc" 3
check "... and its text (which may hold a secret) is not printed" test -z "$(printf '%s' "$out" | grep secret-token)"

# ---- what dnsdctl refuses ----
refuses() { # DESC PATTERN CMD...: CMD fails, saying PATTERN
	local d=$1 p=$2 out rc; shift 2
	out=$("$@" 2>&1); rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -Eq -- "$p"; then ok "$d"; else not_ok "$d (exit $rc)"; echo "    $out"; fi
}
chmod g+w "$DB"
refuses "a group-writable store is refused" "writable by its group" ctl tenant list
chmod g-w "$DB"
chmod o+w "$T"
refuses "a store in a directory every user may write is refused" "writable by every user" ctl tenant list
chmod o-w "$T"
chmod 0666 "$T/dnsdctl.conf"
refuses "a config file others may write is refused" "config file.*writable" ctl tenant list
chmod 0644 "$T/dnsdctl.conf"
printf 'export-comand x\n' >"$T/typo.conf"
refuses "a config file's unknown setting is refused, with file and line" "typo.conf:1: unknown setting" \
	env CTLCONF="$T/typo.conf" bash -c ". '$ROOT/tests/system/lib' >/dev/null; DB='$DB' KEYS='$KEYS' CTLCONF='$T/typo.conf' ctl tenant list"
chown 64102 "$DB"
refuses "a store of another user is refused, naming whom to run as" "belongs to uid 64102.*run dnsdctl as" ctl tenant list
chown 0 "$DB"
# A symbolic link in place of a domain's key directory: never followed.
mkdir -p "$T/elsewhere"
ln -s "$T/elsewhere" "$KEYS/fresh.example"
refuses "a key directory that is a symbolic link is refused" "symbolic link" ctl domain add fresh.example --tenant acme
expect "... and nothing was written through it" "$(ls -A "$T/elsewhere")" ""
check_fails "... nor the domain added" ctl domain show fresh.example
ln -s "$T/elsewhere" "$T/exports-link"
printf 'zone-file %s\nexport-dir %s\n' "$ZONEFILE" "$T/exports-link" >"$T/link.conf"
out=$(CTLCONF="$T/link.conf" ctl export 2>&1); rc=$?
expect "an export directory that is a symbolic link is refused: exit 3" "$rc" 3
expect "... and nothing was written through it" "$(ls -A "$T/elsewhere")" ""

# ---- 2. the shipped layout: dnsd's user reads, the signer writes ----
# uid 64101 is dnsd, 64102 the signer; the store's directory is the signer's, group
# dnsd, set-group-id so SQLite's -wal and -shm files get group dnsd too.
UD=64101 US=64102
as_dnsd() { setpriv --reuid $UD --regid $UD --clear-groups "$@"; }
as_signer() { setpriv --reuid $US --regid $US --clear-groups "$@"; }
L="$T/lib"
install -d -o $US -g $UD -m 2750 "$L"
install -d -o $UD -g $UD -m 0700 "$T/state"
printf 'db %s\nkeys %s\nzone-file %s\n' "$L/store.db" "$L/keys" "$ZONEFILE" >"$T/signer.conf"
sg() { as_signer env -u DNSD_DB "$DNSDCTL" --config "$T/signer.conf" "$@"; }
(umask 0027 && sg init --zone "$ZONE" --selector-prefix esp >/dev/null && sg tenant add acme >/dev/null &&
	sg spf set "v=spf1 include:_spf.$ZONE -all" >/dev/null && sg domain add layout.example --tenant acme >/dev/null)
check "the signer made the store in the shipped layout" test -s "$L/store.db"
expect "the store, -wal and -shm: the signer's, group dnsd, 0640" \
	"$(stat -c '%u:%g %a' "$L/store.db" "$L/store.db-wal" "$L/store.db-shm" | sort -u)" "$US:$UD 640"
expect_match "the keys are the signer's alone (no group or other bits)" "$(stat -c '%u %a' "$L/keys")" "^$US 2?700$"
LT=$(sg domain show layout.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')

DB="$L/store.db"
rm -f "$T/ready"
setpriv --reuid $UD --regid $UD --clear-groups "$DNSD" --db "$DB" --zone "$ZONEFILE" --listen 127.0.0.1:0 --ready-file "$T/state/ready" \
	--state-dir "$T/state" --poll 100 --rrl-rate 0 2>>"$T/dnsd.log" &
DNSD_PID=$!
for _ in $(seq 1 200); do [ -s "$T/state/ready" ] && break; kill -0 "$DNSD_PID" 2>/dev/null || break; sleep 0.05; done
PORT=$(sed -n 1p "$T/state/ready" 2>/dev/null | sed 's/.*://')
check "dnsd starts as its own user on the read-only store" test -n "$PORT"
[ -n "$PORT" ] || { cat "$T/dnsd.log"; finish; }
expect "dnsd runs as uid $UD" "$(awk '/^Uid:/ {print $2}' /proc/$DNSD_PID/status)" $UD
expect_match "it answers the signer's domain" "$(q "esp1.$LT.dkim.$ZONE" TXT)" '^"v=DKIM1; k=rsa; p='
sg domain add later.example --tenant acme >/dev/null
LT2=$(sg domain show later.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
wait_for "a change the signer commits is served within 2 s" 2 bash -c "dig @127.0.0.1 -p $PORT +short esp1.$LT2.dkim.$ZONE TXT | grep -q DKIM1"
expect "dnsd left its state in its own directory" "$(ls "$T/state" | tr '\n' ' ')" "ready serial "

# What dnsd's user cannot do.
check_fails "as dnsd: writing the store with SQL fails" as_dnsd sqlite3 "$DB" "INSERT INTO settings(name, value) VALUES ('x', 'y')"
check_fails "as dnsd: a file in the store's directory cannot be made" as_dnsd touch "$L/planted"
check_fails "as dnsd: the store cannot be replaced" as_dnsd cp /dev/null "$DB"
check_fails "as dnsd: the -shm file cannot be written" as_dnsd dd if=/dev/zero of="$DB-shm" bs=1 count=1 conv=notrunc status=none
check_fails "as dnsd: the keys cannot be read" as_dnsd ls "$L/keys"
check_fails "as dnsd: a key cannot be written" as_dnsd touch "$L/keys/planted.pem"
check_fails "as dnsd: the exports cannot be written" as_dnsd touch "$L/exports/KeyTable"
check "as dnsd: the exports directory is readable (the signer reads it)" as_dnsd test -r "$L/exports/KeyTable"
check_fails "as dnsd: dnsdctl cannot write the store either" as_dnsd "$DNSDCTL" --config "$T/signer.conf" tenant add evil
expect "nothing dnsd's user tried changed the store" "$(sg tenant list --json | grep -c evil)" 0
finish
