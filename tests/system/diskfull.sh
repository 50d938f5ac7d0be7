#!/bin/bash
# diskfull: a full disk gets "disk full" and loses nothing (issue 12, point 8): the
# store on a small tmpfs the test mounts (as root), filled up.
. "$(dirname "$0")/lib"
F="$T/full"
mkdir -p "$F"
if ! mount -t tmpfs -o size=4m tmpfs "$F"; then
	not_ok "mount a 4 MB tmpfs for the full disk (needs root)"
	finish
fi
trap 'stop_dnsd; umount "$F" 2>/dev/null; rm -rf "$T"' EXIT
DB="$F/store.db" KEYS="$F/keys"
new_store
ctl domain add before.example --tenant acme >/dev/null
mkdir -p "$F/state"
start_dnsd --state-dir "$F/state" || { not_ok "dnsd starts"; finish; }
BT=$(token before.example)
dd if=/dev/zero of="$F/fill" bs=4k status=none 2>/dev/null
out=$(ctl tenant add late 2>&1); rc=$?
expect "a write on a full disk fails: exit 1" "$rc" 1
expect_match "... saying disk full" "$out" "disk full"
check_fails "... and changes nothing" ctl tenant show late
expect_match "dnsd still answers from the store" "$(q "esp1.$BT.dkim.$ZONE" TXT)" DKIM1
# A SIGHUP that changes the zone file's content moves dnsd's serial, whose state
# file cannot be written now: said in the log, and dnsd answers on. (The writers
# read the same zone file, and record it first.)
cp "$ZONEFILE" "$T/zone"
printf 'late IN TXT "x"\n' >>"$T/zone"
stop_dnsd
rm -f "$F/fill"
ZONEFILE="$T/zone"
printf 'zone-file %s\n' "$ZONEFILE" >"$T/dnsdctl.conf"
ctl tenant add recorder >/dev/null
start_dnsd --state-dir "$F/state" || { not_ok "dnsd starts on the new zone file"; finish; }
: >"$T/dnsd.log"
printf 'later IN TXT "y"\n' >>"$T/zone"
dd if=/dev/zero of="$F/fill" bs=4k status=none 2>/dev/null
kill -HUP "$DNSD_PID"
wait_for "dnsd serves the reloaded zone with the disk full" 2 bash -c "dig @127.0.0.1 -p $PORT +short later.$ZONE TXT | grep -q y"
wait_for "... and says once that it cannot keep its state: disk full" 2 grep -q "disk full" "$T/dnsd.log"
rm -f "$F/fill" "$DB-shm" "$DB-wal"
stop_dnsd
dd if=/dev/zero of="$F/fill" bs=4k status=none 2>/dev/null
out=$(ctl tenant list 2>&1); rc=$?
expect_match "opening a store whose -shm cannot be made: disk full, not 'not a store'" "$out" "disk full"
rm -f "$F/fill"
check "with space again all is there" ctl domain show before.example
finish
