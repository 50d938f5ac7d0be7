#!/bin/bash
# staging: key files are staged and moved into place only once the store names
# them (issue 12, point 8): an import that fails leaves no key file and no
# directory behind; one that is killed leaves only its staging directory, which the
# next dnsdctl run finishes (files the store names go to their place, the rest
# go), so that every key file is named by the store and every name has its file.
. "$(dirname "$0")/lib"
new_store
for i in 1 2 3; do openssl genpkey -algorithm ed25519 -out "$T/k$i.pem" 2>/dev/null; done
# consistent: every file under the key directory (outside staging) is a key the
# store names, and every key the store names is there.
consistent() {
	local files named
	files=$(find "$KEYS" -path "$KEYS/.stage-*" -prune -o -type f -print 2>/dev/null | sort)
	named=$(sqlite3 "$DB" "SELECT private_ref FROM keys WHERE private_ref IS NOT NULL ORDER BY 1" | sort)
	[ "$files" = "$named" ] && return 0
	diff <(echo "$files") <(echo "$named") | head -5
	find "$KEYS" -path "$KEYS/.stage-*" | head -5
	return 1
}

# 1. A failing import: the third row repeats a domain, found after the keys were read.
printf 'domain,tenant,private_key\na.example,acme,%s\nb.example,acme,%s\na.example,acme,%s\n' \
	"$T/k1.pem" "$T/k2.pem" "$T/k3.pem" >"$T/bad.csv"
check_fails "an import with a repeated domain fails" ctl import "$T/bad.csv"
expect "... leaving no key file and no directory behind" "$(find "$KEYS" -mindepth 1 2>/dev/null)" ""
check_fails "... and no domain" ctl domain show b.example

# 2. The same without the repeat: the keys are in place, no staging left.
printf 'domain,tenant,private_key\na.example,acme,%s\nb.example,acme,%s\n' "$T/k1.pem" "$T/k2.pem" >"$T/good.csv"
check "the import succeeds" ctl import "$T/good.csv"
expect "no staging directory left" "$(find "$KEYS" -maxdepth 1 -name '.stage-*')" ""
check "every key file is named by the store and every name has its file" consistent

# 3. A run killed before its commit: only its staging directory, which the next
# run removes. (A dead pid's directory, as a killed run leaves it.)
DEAD=$(sh -c 'echo $$')
mkdir -p "$KEYS/.stage-$DEAD/c.example"
cp "$T/k3.pem" "$KEYS/.stage-$DEAD/c.example/esp1-x-1-imported.pem"
# 4. A run killed after its commit, before the move: the store names a file still staged.
B=$(sqlite3 "$DB" "SELECT private_ref FROM keys k JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id WHERE d.name = 'b.example'")
mkdir -p "$KEYS/.stage-$DEAD/b.example"
mv "$B" "$KEYS/.stage-$DEAD/b.example/"
rmdir "$(dirname "$B")"
out=$(ctl domain list 2>&1)
expect_match "the next run finishes the killed run's staging, saying so" "$out" "interrupted run \(pid $DEAD\): 1 moved into place, 1 removed"
check "the committed key is in its place" test -s "$B"
expect "the uncommitted one is gone with the staging directory" "$(find "$KEYS" -name '.stage-*')" ""
check "every key file is named by the store and every name has its file" consistent

# 5. A real import killed at random moments: whatever happened, after the next run
# the key directory and the store agree.
for i in $(seq 1 40); do openssl genpkey -algorithm ed25519 -out "$T/m$i.pem" 2>/dev/null; done
{ echo domain,tenant,private_key; for i in $(seq 1 40); do echo "m$i.example,acme,$T/m$i.pem"; done; } >"$T/many.csv"
killed=0
for delay in 0.02 0.05 0.1 0.2; do
	timeout -s KILL "$delay" "$DNSDCTL" --config "$T/dnsdctl.conf" --db "$DB" --keys "$KEYS" import "$T/many.csv" >/dev/null 2>&1
	[ $? -eq 137 ] && killed=$((killed + 1))
	# The next run finishes the killed one's staging once the kernel has ended it
	# (a run still exiting counts as running: its staging is left for a later run).
	for _ in $(seq 1 40); do
		ctl domain list >/dev/null 2>&1
		consistent && [ -z "$(find "$KEYS" -maxdepth 1 -name '.stage-*')" ] && break
		sleep 0.05
	done
	consistent || break
done
check "imports killed at random moments ($killed killed): key directory and store agree" consistent
expect "... and no staging directory is left" "$(find "$KEYS" -name '.stage-*')" ""
finish
