#!/bin/bash
# ops: what dnsd gives the service manager and the operator: --check-config
# listing every error with its file and line, journald's priorities when stderr
# is the journal, syslog when asked, and readiness by sd_notify.
. "$(dirname "$0")/lib"
new_store

# ---- --check-config ----
cat >"$T/bad.conf" <<CONF
listen 127.0.0.1:99999
bogus-option 1
log-level loud
zone $T/missing.zone
CONF
out=$("$DNSD" --config "$T/bad.conf" --db "$DB" --zone "$ZONEFILE" --tsig-keys "$T/nokeys" --check-config 2>&1)
rc=$?
expect "check-config: a bad config exits 1" "$rc" 1
expect_match "check-config: the bad listen, with file and line" "$out" "bad.conf, line 1: bad --listen '127.0.0.1:99999'"
expect_match "check-config: the unknown option, with file and line" "$out" "bad.conf, line 2: unknown option --bogus-option"
expect_match "check-config: the bad log level, with file and line" "$out" "bad.conf, line 3: bad value 'loud' for --log-level"
expect_match "check-config: the missing TSIG key file" "$out" "cannot read TSIG key file $T/nokeys"
expect_match "check-config: the missing zone file" "$out" "cannot open zone file $T/missing.zone"
expect_match "check-config: counts them" "$out" "5 errors in the configuration"
out=$("$DNSD" --check-config --db "$T/none.db" --zone "$ZONEFILE" 2>&1)
expect "check-config: a missing store exits 1" "$?" 1
expect_match "check-config: names the missing store" "$out" "no store at $T/none.db"
out=$("$DNSD" --db "$DB" --zone "$ZONEFILE" --listen 127.0.0.1:0 --check-config 2>&1)
expect "check-config: a good config exits 0" "$?" 0
expect_match "check-config: says what it would serve" "$out" "configuration is good: zone $ZONE. from $DB, 1 zone file"
check_fails "check-config: nothing listens after it" test -s "$T/ready"
grep -q -- "--check-config" "$ROOT/dist/systemd/dnsd.service"
expect "the unit checks the config before each start (ExecStartPre)" "$?" 0

# ---- journald: "<N>" priorities when stderr is the journal's stream ----
: >"$T/journal.log"
exec 3>>"$T/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.log") "$DNSD" --db "$T/none.db" --zone "$ZONEFILE" 2>&3
exec 3>&-
expect_match "journal: an error line carries priority 3, no timestamp" "$(head -1 "$T/journal.log")" "^<3>no store at "
"$DNSD" --db "$T/none.db" --zone "$ZONEFILE" 2>"$T/plain.log"
expect_match "not the journal: a timestamped line" "$(head -1 "$T/plain.log")" \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z dnsd error: no store at "
JOURNAL_STREAM=1:1 "$DNSD" --db "$T/none.db" --zone "$ZONEFILE" 2>"$T/other.log"
expect_match "another stream named: still timestamped" "$(head -1 "$T/other.log")" "^[0-9]{4}-.*Z dnsd error: "

# ---- sd_notify: READY=1 once answering, STOPPING=1 on SIGTERM ----
notify_listen() { # PATH-OR-@NAME OUTFILE: prints datagrams, one a line, until killed
	"$PY" -u -c 'import socket, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + name[1:] if name.startswith("@") else name)
print("bound", flush=True)
while True:
    print(s.recv(4096).decode().replace("\n", "|"), flush=True)' "$1" >"$2" &
	NPID=$!
	for _ in $(seq 1 100); do grep -q bound "$2" 2>/dev/null && break; sleep 0.05; done
}
notified() { grep -q "$1" "$T/notify.out"; }
for sock in "$T/notify.sock" "@dnsd-test-$$"; do
	notify_listen "$sock" "$T/notify.out"
	NOTIFY_SOCKET=$sock start_dnsd || finish
	wait_for "sd_notify ($sock): READY=1 with the serial once answering" 3 notified "READY=1|STATUS=serving $ZONE., serial [0-9]"
	expect_match "sd_notify ($sock): dnsd answers by then" "$(q "_dmarc.$ZONE" TXT)" "v=DMARC1"
	stop_dnsd
	wait_for "sd_notify ($sock): STOPPING=1 on SIGTERM" 3 notified "STOPPING=1"
	kill "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	rm -f "$T/notify.out"
done

# ---- syslog, where the test may put its own /dev/log (root, a mount namespace) ----
if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
	notify_listen "$T/devlog" "$T/syslog.out"
	# A private /dev (this machine may have no /dev/log, and the real one must
	# not change): a tmpfs with the devices dnsd may open, and log -> the test's socket.
	mkdir -p "$T/olddev"
	unshare --mount sh -c 'mount --make-rprivate / && mount --bind /dev "$1/olddev" &&
		mount -t tmpfs none /dev && for f in null zero urandom random; do
			touch /dev/$f && mount --bind "$1/olddev/$f" /dev/$f || exit 1; done &&
		ln -s "$1/devlog" /dev/log &&
		exec "$2" --db "$3" --zone "$4" --listen 127.0.0.1:0 --log-target syslog --ready-file "$1/sready"' \
		sh "$T" "$DNSD" "$DB" "$ZONEFILE" 2>"$T/syslog.err" &
	SPID=$!
	wait_for "syslog: dnsd started" 5 test -s "$T/sready"
	kill "$SPID"
	wait "$SPID"
	expect "syslog: dnsd stopped cleanly" "$?" 0
	kill "$NPID" 2>/dev/null
	wait "$NPID" 2>/dev/null
	expect_match "syslog: lines at daemon.info (<30>) with the program and pid" "$(cat "$T/syslog.out")" \
		"<30>.*dnsd\[[0-9]+\]: .*serving $ZONE"
	expect "syslog: nothing on stderr" "$(cat "$T/syslog.err")" ""
else
	ok "syslog: skipped (needs root for a private /dev/log)"
fi
finish
