#!/bin/bash
# ctl_table: dnsdctl's commands come from one table. help and --help print the
# overview and each command's usage from it; an option a command does not take
# is refused (exit 2) naming it; --version; --json errors are one JSON object on
# stdout with a stable code; --check-config names every error with its line.
. "$(dirname "$0")/lib"

new_store || { echo "new_store failed"; finish; }
ctl domain add example.com --tenant acme >/dev/null || { echo "domain add failed"; finish; }

# ---- help and version ----
out=$("$DNSDCTL" --version)
expect "--version" "$?:$out" "0:dnsdctl $(sed -n 's/^#define DNSD_VERSION "\(.*\)"/\1/p' "$ROOT/dnsd/version.h")"
expect "version (the command) says the same" "$("$DNSDCTL" version)" "$out"
out=$("$DNSDCTL" help)
expect "help exits 0" "$?" 0
expect "--help prints the same overview" "$("$DNSDCTL" --help)" "$out"
# Every command of the table is in the overview, and each has its own usage.
cmds=$(printf '%s\n' "$out" | sed -n '/^commands/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\( [a-z][a-z-]*\)\?\)  .*/\1/p' | sed 's/ *$//')
expect "the overview lists every command of help --all" "$(echo "$cmds" | grep -c .)" \
	"$("$DNSDCTL" help --all | grep -c '^usage: ')"
bad=""
for c in $(echo "$cmds" | tr ' ' '+'); do
	c=${c//+/ }
	# shellcheck disable=SC2086
	u1=$("$DNSDCTL" help $c) && u2=$("$DNSDCTL" $c --help) || bad="$bad [$c: exit]"
	[ "$u1" = "$u2" ] || bad="$bad [$c: help differs from --help]"
	case "$u1" in "usage: dnsdctl $c"*) ;; *) bad="$bad [$c: no usage line]" ;; esac
done
expect "help CMD = CMD --help = its usage, for every command" "$bad" ""
out=$("$DNSDCTL" help domain add)
expect_match "domain add's usage names --tenant and --algorithm" "$out" \
	'^usage: dnsdctl domain add DOMAIN --tenant NAME \[--algorithm '
# --help after the arguments too, for a one-word command as for two.
expect "check DOMAIN --help: check's usage" "$("$DNSDCTL" check example.com --help 2>&1)" "$("$DNSDCTL" help check)"
expect "key list DOMAIN --help: its usage" "$("$DNSDCTL" key list example.com --help 2>&1)" "$("$DNSDCTL" help key list)"
expect_match "help of a group: each of its commands" "$("$DNSDCTL" help ns | grep -c '^usage:')" '^4$'
out=$("$DNSDCTL" help frobnicate 2>&1)
expect "help of no such command: exit 2" "$?" 2

# ---- options each command takes ----
out=$(ctl domain list --algorithm rsa-2048 2>&1)
expect "domain list --algorithm: exit 2" "$?" 2
expect "the refusal names the command, the option and its help" "$out" \
	"dnsdctl domain list: unknown option --algorithm (see dnsdctl help domain list)"
out=$(ctl tenant add beta --json 2>&1)
expect "tenant add takes no --json: exit 2" "$?:$(ctl tenant list | grep -c beta)" "2:0"
out=$(ctl status --tenant acme 2>&1)
expect_match "status --tenant refused" "$?:$out" "^2:dnsdctl status: unknown option --tenant"
out=$(ctl domain add x.example --tenant acme --eligible yes 2>&1)
expect_match "domain add --eligible refused before any change" "$?:$out:$(ctl domain list | grep -c x.example)" \
	"^2:.*unknown option --eligible.*:0$"
out=$(ctl domain list --tenant acme 2>&1)
expect_match "an option the command takes still works" "$?:$(echo "$out" | tr '\n' ' ')" "^0:.* example.com "
out=$(ctl import /dev/null --batch 10 --no-progress 2>&1)
expect_match "import takes --batch and --no-progress" "$out" "empty"

# ---- --json errors ----
jerr() { "$PY" -c 'import json,sys; d=json.load(sys.stdin)["error"]; print(d["code"], sorted(d))'; }
out=$(ctl domain show nowhere.example --json 2>/dev/null)
expect "not found: exit 1" "$?" 1
expect "not found: {error: {code, message, field}}" "$(echo "$out" | jerr)" "not_found ['code', 'field', 'message']"
out=$(ctl domain add example.com --tenant acme --json 2>/dev/null)
expect "exists: exit 1, code exists" "$?:$(echo "$out" | jerr)" "1:exists ['code', 'field', 'message']"
out=$(ctl domain list --json --algorithm x 2>/dev/null)
expect "usage: exit 2, code usage" "$?:$(echo "$out" | jerr)" "2:usage ['code', 'message']"
out=$(ctl domain show --json 2>/dev/null)
expect "a missing argument: code usage" "$?:$(echo "$out" | jerr)" "2:usage ['code', 'message']"
out=$(ctl tenant show nobody --json 2>/dev/null)
expect "no tenant: one JSON object and nothing else on stdout" "$(echo "$out" | wc -l):$(echo "$out" | jerr)" \
	"1:not_found ['code', 'field', 'message']"
out=$(ctl domain show nowhere.example 2>/dev/null)
expect "without --json an error prints nothing on stdout" "$?:$out" "1:"

# ---- --check-config ----
C="$T/check.conf"
printf 'db %s\n# a comment\nfrob 1\nkeys %s\ndb %s\n' "$DB" "$KEYS" "$DB" >"$C"
out=$("$DNSDCTL" --check-config --config "$C" 2>&1)
expect "two errors: exit 1" "$?" 1
# (the list of known settings grows with the options; it is not what is checked)
expect "both reported, each with file:line" "$(echo "$out" | sed 's/ (known: [^)]*)$//')" \
	"dnsdctl: $C:3: unknown setting 'frob'
dnsdctl: $C:5: db is set twice"
printf 'db %s\nkeys %s\nzone-file %s\n' "$DB" "$KEYS" "$T/no-such.zone" >"$C"
out=$("$DNSDCTL" --check-config --config "$C" 2>&1)
expect_match "a zone file that is not there" "$?:$out" "^1:dnsdctl: $C:3: zone-file $T/no-such.zone: No such file"
printf 'db %s\nkeys %s\n' "$DB" "$KEYS" >"$C"
out=$("$DNSDCTL" --check-config --config "$C" 2>&1)
expect "a clean file: exit 0, ok" "$?:$out" "0:dnsdctl: $C: ok"
chmod 666 "$C"
out=$("$DNSDCTL" --check-config --config "$C" 2>&1)
expect_match "a file others could write" "$?:$out" "^1:dnsdctl: config file: .*writable"
chmod 600 "$C"
mkdir -m 777 "$T/open"
printf 'db %s\nkeys %s\n' "$DB" "$T/open/keys" >"$C"
out=$("$DNSDCTL" --check-config --config "$C" 2>&1)
expect_match "a key directory under one anyone could write" "$?:$out" "^1:dnsdctl: $C:2: keys: "

finish
