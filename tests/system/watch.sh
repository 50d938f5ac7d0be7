#!/bin/bash
# watch: dnsd sees a change the moment a writer commits, from the store's files
# alone (polling every 60 s here, so the file watch is all there is): a commit
# into the -wal file, a checkpoint, the store deleted and restored by a rename.
# Other files in the store's directory never wake it: a log written there line by
# line once cost dnsd 17 % of its CPU under load (make bench's fixed load).
. "$(dirname "$0")/lib"

new_store
ctl domain add example.com --tenant acme >/dev/null
TOK=$(token example.com)
RPN="$TOK.rp.$ZONE"
spf() { printf '"v=spf1 ip4:192.0.2.%s -all"' "$1"; }
answers() { [ "$(q "$1" "$2" | paste -sd'|')" = "$3" ]; }
# wakeups: the voluntary context switches of dnsd's main thread (the control loop
# that the file watch wakes); the workers are other threads.
wakeups() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$DNSD_PID/task/$DNSD_PID/status"; }

start_dnsd --poll 60000

# ---- 1. a commit ----
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.1 -all" >/dev/null
wait_for "a commit is served within 1 s (poll every 60 s)" 1 answers "$RPN" TXT "$(spf 1)"

# ---- 2. a busy neighbour: a log written line by line, then rotated ----
w0=$(wakeups)
"$PY" -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
for i in range(2000):
    os.write(fd, b"a log line, written on its own\n")
    time.sleep(0.0002)
os.close(fd)
mv = sys.argv[1] + ".1"
os.rename(sys.argv[1], mv)  # a rotated log: names come and go beside the store
os.unlink(mv)' "$T/neighbour.log"
sleep 0.3
w1=$(wakeups)
check "2,000 writes to another file beside the store: dnsd's control loop woke $((w1 - w0)) times (< 50)" \
	test $((w1 - w0)) -lt 50
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.2 -all" >/dev/null
wait_for "after the neighbour: a commit is still served within 1 s" 1 answers "$RPN" TXT "$(spf 2)"

# ---- 3. a checkpoint, then a commit ----
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.3 -all" >/dev/null
wait_for "after a checkpoint: a commit is served within 1 s" 1 answers "$RPN" TXT "$(spf 3)"

# ---- 4. the store deleted, then restored by a rename, changed before it ----
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp "$DB" "$T/restore.db"
"$DNSDCTL" --db "$T/restore.db" --keys "$KEYS" spf set --domain example.com "v=spf1 ip4:192.0.2.4 -all" >/dev/null
# The writers keep their -wal and -shm files (dnsd, reading, may not make them): a
# copy that arrives without them is this, checkpointed and closed.
sqlite3 "$T/restore.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
rm -f "$T/restore.db-wal" "$T/restore.db-shm"
check "the restored copy has no -wal file of its own" test ! -e "$T/restore.db-wal"
rm -f "$DB" "$DB-wal" "$DB-shm"
sleep 0.3
expect "store deleted: the last answer still served" "$(q "$RPN" TXT)" "$(spf 3)"
mv "$T/restore.db" "$DB"
wait_for "store restored by a rename: its change is served within 2 s" 2 answers "$RPN" TXT "$(spf 4)"
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.5 -all" >/dev/null
wait_for "restored store: the next commit (a new -wal file) is served within 1 s" 1 answers "$RPN" TXT "$(spf 5)"

finish
