#!/bin/bash
# restore: the one safe way to put a backup back (issue 12, point 7). dnsdctl backup
# takes a consistent copy; dnsdctl restore puts it back in one SQLite transaction
# while dnsd runs: dnsd serves exactly the backup's data (nothing of what came after
# it, nothing of the old WAL), the serial never goes back, and a file that is not a
# backup of this store's zone changes nothing.
. "$(dirname "$0")/lib"
new_store
ctl domain add kept.example --tenant acme >/dev/null
KT=$(token kept.example)
check "backup to a file" ctl backup "$T/b.db"
check_fails "backup never replaces a file" ctl backup "$T/b.db"
ctl domain add later.example --tenant acme >/dev/null
ctl spf set --domain kept.example 'v=spf1 ip4:192.0.2.9 -all' >/dev/null
LT=$(token later.example)
start_dnsd || finish
expect_match "before: the later domain is served" "$(q "esp1.$LT.dkim.$ZONE" TXT)" DKIM1
expect "before: the later SPF is served" "$(q "$KT.rp.$ZONE" TXT)" '"v=spf1 ip4:192.0.2.9 -all"'
S0=$(q "$ZONE" SOA | awk '{print $3}')

# Refused: nothing changes.
printf 'not a database' >"$T/junk.db"
check_fails "restore of a file that is not a store is refused" ctl restore "$T/junk.db"
"$DNSDCTL" --db "$T/other.db" --keys "$T/okeys" init --zone other.example >/dev/null
check_fails "restore of another zone's store is refused" ctl restore "$T/other.db"
expect_match "after a refused restore: still served" "$(q "esp1.$LT.dkim.$ZONE" TXT)" DKIM1

out=$(ctl restore "$T/b.db")
expect_match "restore says what it did" "$out" "restored .* from .*b.db: serial"
served() { [ "$(status "esp1.$LT.dkim.$ZONE" TXT)" = NXDOMAIN ]; }
wait_for "after restore: the later domain is gone from DNS within 2 s" 2 served
expect_match "after restore: the kept domain still served" "$(q "esp1.$KT.dkim.$ZONE" TXT)" DKIM1
expect "after restore: its SPF is the backup's (the global one)" "$(q "$KT.rp.$ZONE" TXT)" "\"v=spf1 include:_spf.$ZONE -all\""
S1=$(q "$ZONE" SOA | awk '{print $3}')
check "after restore: the served serial went up ($S0 -> $S1)" test "$S1" -gt "$S0"
expect "the store is whole" "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok
expect "the store lists the backup's domains" "$(ctl domain list --json | "$PY" -c 'import json,sys; print(sorted(d["domain"] for d in json.load(sys.stdin)))')" "['kept.example']"
check "dnsd logged no error" test -z "$(grep -E ' dnsd error: ' "$T/dnsd.log")"
finish
