#!/bin/bash
# xfrkeys: dnsd's TSIG key file (--tsig-keys) at start and on SIGHUP: a file
# others can read, or one that lacks a key an option names, stops dnsd; a
# SIGHUP reads it again, and a bad file then keeps the keys loaded before.
. "$(dirname "$0")/lib"
new_store
K="$T/tsig.keys"
S1=$(openssl rand -base64 32) S2=$(openssl rand -base64 32)
printf '# keys\nxfr-key. hmac-sha256 %s\n' "$S1" >"$K"
chmod 0644 "$K"

run_dnsd() { timeout 10 "$DNSD" --db "$DB" --zone "$ZONEFILE" --listen 127.0.0.1:0 "$@" 2>&1; }

out=$(run_dnsd --tsig-keys "$K"); rc=$?
expect "world-readable key file: exit 1" "$rc" 1
expect_match "world-readable key file: says so" "$out" "TSIG key file $K is readable by every user \(mode 0644\)"
chmod 0600 "$K"
ln -s "$K" "$T/link.keys"
out=$(run_dnsd --tsig-keys "$T/link.keys"); rc=$?
expect_match "a link: refused" "$rc $out" "^1 .*is a symbolic link"
out=$(run_dnsd --tsig-keys "$K" --allow-transfer "127.0.0.1 key other-key"); rc=$?
expect "a key not in the file: exit 2" "$rc" 2
expect_match "a key not in the file: named" "$out" "--allow-transfer names TSIG key other-key., which is not in $K"
out=$(run_dnsd --notify "127.0.0.1:5300 key xfr-key."); rc=$?
expect_match "a key without --tsig-keys: exit 2, named" "$rc $out" "^2 .*--notify names TSIG key xfr-key., which needs --tsig-keys"
out=$(run_dnsd --allow-transfer "127.0.0.1 key"); rc=$?
expect_match "--allow-transfer without a key name: exit 2" "$rc $out" "^2 .*bad --allow-transfer '127.0.0.1 key'"
for s in "$S1" "$S2"; do
	case "$out" in *"$s"*) not_ok "a secret in the output" ;; esac
done

start_dnsd --tsig-keys "$K" --allow-transfer "127.0.0.1 key xfr-key." || finish
expect_match "keys loaded" "$(cat "$T/dnsd.log")" "1 TSIG keys from $K"
printf 'xfr-key. hmac-sha256 %s\nnew-key. hmac-sha512 %s\n' "$S1" "$S2" >"$K"
kill -HUP "$DNSD_PID"
wait_for "SIGHUP: two keys" 5 grep -q "SIGHUP: 2 TSIG keys from $K" "$T/dnsd.log"
printf 'new-key. hmac-sha512 %s\n' "$S2" >"$K"
kill -HUP "$DNSD_PID"
wait_for "SIGHUP: a set without xfr-key. is not used" 5 grep -q "TSIG keys of $K not used; still using those loaded before" "$T/dnsd.log"
printf 'xfr-key. hmac-sha256 %s\n' "$S1" >"$K"
chmod 0604 "$K"
kill -HUP "$DNSD_PID"
wait_for "SIGHUP: a readable file is not used" 5 grep -q "readable by every user (mode 0604).*still using the TSIG keys loaded before" "$T/dnsd.log"
expect "dnsd still answers" "$(status $ZONE SOA)" NOERROR
if grep -qF -e "$S1" -e "$S2" "$T/dnsd.log"; then not_ok "a secret in the log"; else ok "no secret in the log"; fi
finish
