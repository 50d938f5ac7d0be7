#!/bin/bash
# faults: dnsd under faults of its surroundings (issue 3, item 5). It drops to an
# unprivileged user after binding (a port below 1024 too) and still sees the
# store; the store deleted, locked by a writer, locked against readers, corrupted,
# or on a full disk: dnsd answers from the last good data, says so once, and picks
# the store up again when it is back; dnsdctl on a full disk fails clearly and
# changes nothing; SIGTERM finishes the answers already asked for and exits 0;
# SIGHUP refuses a broken zone file and keeps the old data. (dnsdctl writing in a
# loop while a resolver asks is live.sh's churn; a reload that puts a name under a
# dynamic subtree is live.sh's too.)
. "$(dirname "$0")/lib"
HQ="$ROOT/tests/system/hostile.py"
hq() { "$PY" "$HQ" 127.0.0.1 "$PORT" "$@"; }
MNT="$T/full"
LOCK_PID=""
trap 'stop_dnsd; [ -n "$LOCK_PID" ] && kill "$LOCK_PID" 2>/dev/null; umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null; rm -rf "$T"' EXIT

f() { local w; for w in $2; do case $w in "$1="*) printf '%s' "${w#*=}"; return ;; esac; done; }
fields() { local l=$1 k o=""; shift; for k in "$@"; do o="$o${o:+ }$(f "$k" "$l")"; done; echo "$o"; }
answers() { [ "$(q "$1" "$2" | paste -sd'|')" = "$3" ]; }
rcode_is() { [ "$(status "$1" "$2")" = "$3" ]; }
served_serial() { dig @127.0.0.1 -p "$PORT" +short +tries=1 +time=2 "$ZONE" SOA | awk '{print $3}'; }
# log_mark: the log's length now; problems_since MARK: the error and warning lines after it.
log_mark() { wc -l <"$T/dnsd.log"; }
problems_since() { tail -n +$(($1 + 1)) "$T/dnsd.log" | grep -E ' dnsd (error|warning): '; }
nlines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }
# answered_throughout DESC LOOP: every query of an `hq loop` answered, the same
# answer, each within 1 s (a stall behind the store would take its 5 to 10 s busy timeouts).
answered_throughout() {
	local ms
	ms=$(f maxms "$2")
	expect "$1: every query answered, the same answer, each within 1 s" \
		"$(f answered "$2")/$(f distinct "$2")/$(if [ "${ms:-9999}" -lt 1000 ]; then echo fast; else echo "$ms ms"; fi)" \
		"$(f asked "$2")/1/fast"
}
# stop_ok DESC: SIGTERM; dnsd exits 0 within 10 s, with no sanitizer report.
stop_ok() {
	local rc
	kill "$DNSD_PID" 2>/dev/null
	timeout 10 tail -s 0.05 --pid="$DNSD_PID" -f /dev/null
	wait "$DNSD_PID"
	rc=$?
	DNSD_PID=""
	expect "$1: dnsd exits 0 on SIGTERM" "$rc" 0
	check "$1: no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' "$T/dnsd.log")"
	grep -E -A30 'Sanitizer|runtime error' "$T/dnsd.log" | head -40 | sed 's/^/    /'
}
# checkpoint_copy FILE: the store, checkpointed, copied to FILE (the "backup").
checkpoint_copy() { sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null && cp "$DB" "$1"; }
# lock_readers SECONDS: holds every WAL lock of the store (the -shm lock bytes), so
# that no connection can start a read, for SECONDS; prints "locked" once it holds them.
lock_readers() {
	"$PY" -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
end = time.time() + 3
while True:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 8, 120)  # WAL_WRITE_LOCK .. WAL_READ_LOCK(4)
        break
    except OSError:
        if time.time() > end:
            print("could not lock"); sys.exit(1)
        time.sleep(0.005)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))' "$DB" "$1"
}

new_store
ctl domain add example.com --tenant acme >/dev/null
ctl domain add big.example --tenant acme --algorithm rsa-4096 >/dev/null
TOK=$(token example.com) BIG=$(token big.example)
KEY="esp1.$TOK.dkim.$ZONE" BIGN="esp1.$BIG.dkim.$ZONE" RPN="$TOK.rp.$ZONE"
START=$(date +%s)

# ---- 1. --user: bind as root (a port below 1024 too), then run as dnsdtest ----
check "dnsd --help lists --user" grep -q -- '^ *--user ' <("$DNSD" --help)
id dnsdtest >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin dnsdtest
UIDN=$(id -u dnsdtest) GIDN=$(id -g dnsdtest)
# dnsd only reads the store, so dnsdtest needs no more than to read it and to write
# its ready file: a sticky directory every user may write, as /tmp is (the writers,
# root here, still accept the store in it).
chmod 1777 "$T"
LOW=$("$PY" -c '
import socket
for p in range(900, 1000):
    try:
        for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, t); s.bind(("127.0.0.1", p)); s.close()
        print(p); break
    except OSError:
        pass')
if start_dnsd --user dnsdtest --listen "127.0.0.1:$LOW"; then ok "--user dnsdtest: dnsd starts"; else not_ok "--user dnsdtest: dnsd starts"; fi
P=${DNSD_PID:-0}
expect "--user: real, effective, saved and file-system uid are dnsdtest's" \
	"$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$P/status" 2>/dev/null)" "$UIDN $UIDN $UIDN $UIDN"
expect "--user: every gid is dnsdtest's group" \
	"$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$P/status" 2>/dev/null)" "$GIDN $GIDN $GIDN $GIDN"
check "--user: root is not among the supplementary groups" \
	test -e "/proc/$P/status" -a -z "$(awk '/^Groups:/ {for (i = 2; i <= NF; i++) if ($i == 0) print}' "/proc/$P/status")"
roots=$(for t in /proc/"$P"/task/*; do awk '/^Uid:/ && ($2 == 0 || $3 == 0 || $4 == 0) {print FILENAME}' "$t/status"; done 2>/dev/null)
check "--user: no thread runs as root" test -d "/proc/$P/task" -a -z "$roots"
REF=$(q "$KEY" TXT)
check "--user: answers over UDP" test -n "$REF"
expect "--user: answers over TCP" "$(q +tcp "$KEY" TXT)" "$REF"
expect "--user: answers on ::1" "$(dig @::1 -p "$PORT6" +short +tries=1 +time=2 "$KEY" TXT)" "$REF"
expect "--user: answers on port $LOW, bound before dropping root" \
	"$(dig @127.0.0.1 -p "$LOW" +short +tries=1 +time=2 "$KEY" TXT)" "$REF"
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.11 -all" >/dev/null
wait_for "--user: a store change is served within 2 s" 2 answers "$RPN" TXT '"v=spf1 ip4:192.0.2.11 -all"'
ctl domain add user.example --tenant acme --algorithm ed25519 >/dev/null
wait_for "--user: a domain added is served within 2 s" 2 answers "user.example._report._dmarc.$ZONE" TXT '"v=DMARC1"'
stop_ok "--user"
rm -f "$T/nouser.ready"
timeout 10 "$DNSD" --db "$DB" --zone "$ZONEFILE" --listen 127.0.0.1:0 --user no-such-dnsd-user \
	--ready-file "$T/nouser.ready" >"$T/nouser.out" 2>&1
rc=$?
check "--user no-such-dnsd-user: dnsd exits non-zero by itself ($rc)" test "$rc" -ne 0 -a "$rc" -ne 124
expect_match "--user no-such-dnsd-user: the message names the user" "$(cat "$T/nouser.out")" 'no-such-dnsd-user'
check "--user no-such-dnsd-user: never ready" test ! -s "$T/nouser.ready"
: >"$T/dnsd.log"

# ---- 2. Another process checkpoints the store (as a backup does): dnsd still
# sees every later change ----
start_dnsd || finish
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.20 -all" >/dev/null
wait_for "before a checkpoint: a change is served within 2 s" 2 answers "$RPN" TXT '"v=spf1 ip4:192.0.2.20 -all"'
sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
sleep 0.5
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.21 -all" >/dev/null
wait_for "after a checkpoint: a change is served within 2 s" 2 answers "$RPN" TXT '"v=spf1 ip4:192.0.2.21 -all"'
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.22 -all" >/dev/null
wait_for "after a checkpoint: the next change too" 2 answers "$RPN" TXT '"v=spf1 ip4:192.0.2.22 -all"'
check "after a checkpoint and two changes: the WAL files are still there (dnsd holds the store open)" \
	test -e "$DB-wal" -a -e "$DB-shm"

# ---- 3. The store deleted, then restored from a copy ----
REF=$(q "$KEY" TXT)
S0=$(served_serial)
checkpoint_copy "$T/good.db"
m=$(log_mark)
rm -f "$DB" "$DB-wal" "$DB-shm"
l=$(hq loop "$KEY" TXT 3)
answered_throughout "store deleted" "$l"
p=$(problems_since "$m")
expect "store deleted: said once in 3 s of polls every 100 ms" "$(nlines "$p")" 1
expect_match "store deleted: the line says the store is gone" "$p" "(store|$DB).*(gone|deleted|[Nn]o such file|missing)"
cp "$T/good.db" "$DB"
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.12 -all" >/dev/null
wait_for "store restored: a change after it is served within 2 s" 2 answers "$RPN" TXT '"v=spf1 ip4:192.0.2.12 -all"'
s=$(served_serial)
check "store restored: the serial did not go back ($S0 -> $s)" test "${s:-0}" -gt "$S0"
expect "store restored: the key still answered" "$(q "$KEY" TXT)" "$REF"

# ---- 4. A writer holding the write lock for 6 s (BEGIN IMMEDIATE, as dnsdctl does) ----
m=$(log_mark)
(echo 'BEGIN IMMEDIATE;'; sleep 6; echo 'COMMIT;') | sqlite3 "$DB" >"$T/lock.out" 2>&1 &
LOCK_PID=$!
sleep 0.3
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.13 -all" >"$T/ctl.out" 2>&1 &
CTL_PID=$!
l=$(hq loop "$KEY" TXT 4)
answered_throughout "a writer holds the lock" "$l"
wait "$LOCK_PID"
LOCK_PID=""
expect "a writer holds the lock: the writer got it (sqlite3 said nothing)" "$(cat "$T/lock.out")" ""
wait "$CTL_PID"
rc=$?
if [ "$rc" -eq 0 ]; then
	wait_for "dnsdctl during the lock: waited, then its change is served within 2 s" 2 \
		answers "$RPN" TXT '"v=spf1 ip4:192.0.2.13 -all"'
else
	expect_match "dnsdctl during the lock: failed, saying the store is locked" "$(cat "$T/ctl.out")" '[Ll]ocked|busy'
fi
check "a writer holds the lock: at most one line in the log" test "$(nlines "$(problems_since "$m")")" -le 1
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.14 -all" >/dev/null
wait_for "lock released: a change is served within 2 s" 2 answers "$RPN" TXT '"v=spf1 ip4:192.0.2.14 -all"'

# ---- 5. Locked against readers for 13 s: every WAL read lock held (SQLite itself
# waits up to about 10 s for those before it gives up) ----
checkpoint_copy "$T/good.db"
REF=$(q "$KEY" TXT)
m=$(log_mark)
lock_readers 13 >"$T/shmlock.out" 2>&1 &
LOCK_PID=$!
sleep 0.3
expect "readers locked out: the lock is held" "$(cat "$T/shmlock.out")" locked
l=$(hq loop "$KEY" TXT 12.5)
answered_throughout "readers locked out for 13 s" "$l"
wait "$LOCK_PID"
LOCK_PID=""
p=$(problems_since "$m")
expect "readers locked out for 13 s: said once" "$(nlines "$p")" 1
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.15 -all" >/dev/null
wait_for "readers' lock released: a change is served within 2 s" 2 answers "$RPN" TXT '"v=spf1 ip4:192.0.2.15 -all"'

# ---- 6. SIGTERM while readers are locked out: the control loop must not be stuck
# in the store (a fresh dnsd, so that the store's WAL files are surely there) ----
stop_dnsd
start_dnsd || finish
lock_readers 8 >"$T/shmlock.out" 2>&1 &
LOCK_PID=$!
sleep 0.5
t0=$(date +%s%N)
kill "$DNSD_PID"
timeout 10 tail -s 0.05 --pid="$DNSD_PID" -f /dev/null
wait "$DNSD_PID"
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
DNSD_PID=""
expect "SIGTERM while readers are locked out: the lock is held" "$(cat "$T/shmlock.out")" locked
expect "SIGTERM while readers are locked out: dnsd exits 0" "$rc" 0
check "SIGTERM while readers are locked out: dnsd is gone within 3 s ($ms ms)" test "$ms" -lt 3000
wait "$LOCK_PID"
LOCK_PID=""
start_dnsd || finish

# ---- 7. The store corrupted in place (random bytes over the whole file) ----
checkpoint_copy "$T/good.db"
REF=$(q "$KEY" TXT)
m=$(log_mark)
head -c "$(stat -c %s "$DB")" /dev/urandom | dd of="$DB" conv=notrunc status=none
l=$(hq loop "$KEY" TXT 3)
answered_throughout "store corrupted" "$l"
expect "store corrupted: the last good answer is served" "$(q "$KEY" TXT)" "$REF"
p=$(problems_since "$m")
expect "store corrupted: said once in 3 s of polls every 100 ms" "$(nlines "$p")" 1
expect_match "store corrupted: the line says the store is corrupt" "$p" "(store|$DB).*([Cc]orrupt|not a database|[Mm]alformed)"
ctl domain list >"$T/ctl.out" 2>&1
rc=$?
check "store corrupted: dnsdctl fails" test "$rc" -ne 0
expect_match "store corrupted: dnsdctl says why" "$(cat "$T/ctl.out")" '[Nn]ot a database|[Cc]orrupt|[Mm]alformed'
cp "$T/good.db" "$DB"
ctl spf set --domain example.com "v=spf1 ip4:192.0.2.16 -all" >/dev/null
wait_for "store restored over the corrupt one: a change is served within 2 s" 2 \
	answers "$RPN" TXT '"v=spf1 ip4:192.0.2.16 -all"'
stop_ok "after the store faults"

# ---- 8. The store on a full disk (a 2 MB tmpfs) ----
mkdir -p "$MNT"
if mount -t tmpfs -o size=2m tmpfs "$MNT"; then ok "a 2 MB tmpfs for the store"; else not_ok "a 2 MB tmpfs for the store"; fi
MAINDB=$DB
DB="$MNT/store.db"
new_store
ctl domain add full.example --tenant acme --algorithm ed25519 >/dev/null
FT=$(token full.example)
: >"$T/dnsd.log"
start_dnsd || finish
SPF0=$(q "$FT.rp.$ZONE" TXT)
S0=$(served_serial)
dd if=/dev/zero of="$MNT/fill" bs=16k 2>/dev/null
expect "the disk is full" "$(df --output=avail -B1 "$MNT" | tail -n 1 | tr -d ' ')" 0
m=$(log_mark)
nkeys=$(find "$KEYS" -type f | wc -l)
ctl domain add new.example --tenant acme --algorithm ed25519 >"$T/ctl.out" 2>&1
rc=$?
check "disk full: dnsdctl domain add fails" test "$rc" -ne 0
expect_match "disk full: dnsdctl says the disk is full" "$(cat "$T/ctl.out")" '[Ff]ull|[Nn]o space'
check "disk full: the domain is not in the store" test -z "$(ctl domain list 2>/dev/null | grep new.example)"
expect "disk full: no key file left behind" "$(find "$KEYS" -type f | wc -l)" "$nkeys"
ctl spf set "v=spf1 ip4:203.0.113.99 -all" >"$T/ctl.out" 2>&1
rc=$?
check "disk full: dnsdctl spf set fails" test "$rc" -ne 0
expect_match "disk full: spf set says the disk is full" "$(cat "$T/ctl.out")" '[Ff]ull|[Nn]o space'
l=$(hq loop "$FT.rp.$ZONE" TXT 2)
answered_throughout "disk full" "$l"
expect "disk full: the SPF served is the one before" "$(q "$FT.rp.$ZONE" TXT)" "$SPF0"
expect "disk full: the serial did not move" "$(served_serial)" "$S0"
check "disk full: new.example is not served" rcode_is "new.example._report._dmarc.$ZONE" TXT NXDOMAIN
check "disk full: at most one line in the log" test "$(nlines "$(problems_since "$m")")" -le 1
rm -f "$MNT/fill"
ctl domain add new.example --tenant acme --algorithm ed25519 >"$T/ctl.out" 2>&1
expect "space again: dnsdctl domain add succeeds" "$?" 0
wait_for "space again: the new domain is served within 2 s" 2 answers "new.example._report._dmarc.$ZONE" TXT '"v=DMARC1"'
stop_ok "full disk"
umount "$MNT" 2>/dev/null || umount -l "$MNT"
DB=$MAINDB

# ---- 9. SIGTERM with pipelined queries in flight ----
: >"$T/dnsd.log"
start_dnsd || finish
N=400
hq sigterm "$BIGN" "$N" "$DNSD_PID" >"$T/sigterm.out" &
HQ_PID=$!
timeout 10 tail -s 0.05 --pid="$DNSD_PID" -f /dev/null
gone=$(date +%s.%N)
wait "$DNSD_PID"
rc=$?
DNSD_PID=""
wait "$HQ_PID"
s=$(cat "$T/sigterm.out")
ms=$(awk -v k="$(f killed_at "$s")" -v now="$gone" 'BEGIN { printf "%d", (now - k) * 1000 }')
echo "    SIGTERM: $s"
expect "SIGTERM: all $N pipelined answers asked for before it arrive" "$(fields "$s" asked answered)" "$N $N"
expect "SIGTERM: dnsd exits 0" "$rc" 0
check "SIGTERM: dnsd is gone within 3 s, beside a stalled and an idle connection ($ms ms)" test "$ms" -lt 3000
check "SIGTERM: no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' "$T/dnsd.log")"

# ---- 10. SIGHUP with a broken zone file ----
cp "$ZONEFILE" "$T/demo.zone"
ZONEFILE="$T/demo.zone"
: >"$T/dnsd.log"
start_dnsd || finish
printf 'hup1 IN TXT "one"\n' >>"$ZONEFILE"
kill -HUP "$DNSD_PID"
wait_for "SIGHUP: a record added to the zone file is served within 1 s" 1 answers "hup1.$ZONE" TXT '"one"'
cp "$ZONEFILE" "$T/good.zone"
S1=$(served_serial)
BADLINE=$(($(wc -l <"$ZONEFILE") + 2))
printf 'hup2 IN TXT "two"\nbad IN A not-an-address\n' >>"$ZONEFILE"
m=$(log_mark)
kill -HUP "$DNSD_PID"
wait_for "broken zone file: an error line naming the file within 1 s" 1 \
	bash -c "tail -n +$((m + 1)) '$T/dnsd.log' | grep -E ' dnsd error: ' | grep -qF '$ZONEFILE'"
expect_match "broken zone file: the log gives the line ($BADLINE) or the bad text" \
	"$(problems_since "$m" | grep -F "$ZONEFILE")" "(line ${BADLINE}|:${BADLINE}[^0-9]|not-an-address)"
check "broken zone file: nothing of it is served" rcode_is "hup2.$ZONE" TXT NXDOMAIN
check "broken zone file: the previous zone data still served" answers "hup1.$ZONE" TXT '"one"'
check "broken zone file: the store's names still served" answers "$RPN" TXT '"v=spf1 ip4:192.0.2.16 -all"'
expect "broken zone file: the serial did not move" "$(served_serial)" "$S1"
mv "$ZONEFILE" "$T/moved.zone"
m=$(log_mark)
kill -HUP "$DNSD_PID"
wait_for "zone file gone: an error line naming the file within 1 s" 1 \
	bash -c "tail -n +$((m + 1)) '$T/dnsd.log' | grep -E ' dnsd error: ' | grep -qF '$ZONEFILE'"
check "zone file gone: the previous zone data still served" answers "hup1.$ZONE" TXT '"one"'
cp "$T/good.zone" "$ZONEFILE"
printf 'hup3 IN TXT "three"\n' >>"$ZONEFILE"
kill -HUP "$DNSD_PID"
wait_for "zone file fixed: SIGHUP serves it within 1 s" 1 answers "hup3.$ZONE" TXT '"three"'
stop_ok "after the reloads"

echo "    took $(($(date +%s) - START)) s"
finish
