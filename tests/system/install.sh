#!/bin/bash
# install: `make install` puts the programs, the systemd units (the server, the key
# lifecycle job and its timer) and the example settings where the units expect
# them, with PREFIX written into the units; systemd-analyze accepts the units; and
# the job's command line, as the unit runs it with its environment file, works.
. "$(dirname "$0")/lib"
# Always the plain build: `make install` builds what it installs, and with the
# sanitizer build's directory it would rebuild that without its flags.
BUILD="$ROOT/build"

P="$T/prefix" E="$T/etc"
check "make install into a scratch prefix" \
	make -C "$ROOT" --no-print-directory install BUILD="$BUILD" DESTDIR=/ PREFIX="$P" SYSCONFDIR="$E" UNITDIR="$E/units"
for f in "$P/sbin/dnsd" "$P/bin/dnsdctl"; do
	check "installed and executable: ${f#"$T"/}" test -x "$f"
done
for u in dnsd.service dnsd-maintain.service dnsd-maintain.timer; do
	check "unit installed: $u" test -f "$E/units/$u"
done
check "settings installed: default/dnsd" test -f "$E/default/dnsd"
check "settings installed: dnsd/dnsd.conf" test -f "$E/dnsd/dnsd.conf"
check "docs installed" test -f "$P/share/doc/dnsd/operator-guide.md"
expect_match "the job's unit runs the installed dnsdctl" "$(grep '^ExecStart=' "$E/units/dnsd-maintain.service")" \
	"^ExecStart=$P/bin/dnsdctl .* maintain"
expect_match "the server's unit runs the installed dnsd" "$(grep '^ExecStart=' "$E/units/dnsd.service")" "^ExecStart=$P/sbin/dnsd "
expect_match "the units read the installed settings" "$(grep -h '^EnvironmentFile=' "$E/units/"*.service | sort -u)" \
	"^EnvironmentFile=$E/default/dnsd$"
expect_match "the timer starts the job every five minutes and catches up" \
	"$(grep -E '^(OnCalendar|Persistent)=' "$E/units/dnsd-maintain.timer" | tr '\n' ' ')" "OnCalendar=\*:0/5 Persistent=true"
if command -v systemd-analyze >/dev/null; then
	# Without a running systemd, verify still parses every directive and checks
	# the commands exist; "sysinit.target not found" is about the missing system.
	out=$(systemd-analyze verify "$E/units/dnsd-maintain.timer" "$E/units/dnsd-maintain.service" "$E/units/dnsd.service" 2>&1 |
		grep -v 'sysinit.target not found' | grep -v '^$')
	expect "systemd-analyze verify: no complaint" "$out" ""
fi
echo "sentinel" >"$E/default/dnsd"
make -C "$ROOT" --no-print-directory install BUILD="$BUILD" DESTDIR=/ PREFIX="$P" SYSCONFDIR="$E" UNITDIR="$E/units" >/dev/null 2>&1
expect "a second install keeps the operator's settings" "$(cat "$E/default/dnsd")" sentinel

# The job as the unit starts it: its ExecStart with the variables of the
# installed environment file (DNSD_DB pointed at a test store).
make -C "$ROOT" --no-print-directory install BUILD="$BUILD" DESTDIR=/ PREFIX="$P" SYSCONFDIR="$E" UNITDIR="$E/units" >/dev/null 2>&1
new_store
ctl domain add example.com --tenant acme >/dev/null
cmdline=$(sed -n 's/^ExecStart=//p' "$E/units/dnsd-maintain.service")
rm -f "$E/default/dnsd"
make -C "$ROOT" --no-print-directory install BUILD="$BUILD" DESTDIR=/ PREFIX="$P" SYSCONFDIR="$E" UNITDIR="$E/units" >/dev/null 2>&1
envs=$(grep -E '^[A-Z_]+=' "$E/default/dnsd" | sed "s|^DNSD_DB=.*|DNSD_DB=$DB|")
out=$(env -i PATH=/usr/bin:/bin $envs sh -c "exec $cmdline" 2>&1)
rc=$?
expect "the job's command line runs (exit 0)" "$rc" 0
expect_match "and does the job" "$out" "0 revoked, 0 activated, 0 published"
finish
