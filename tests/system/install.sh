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
for u in dnsd.service dnsd-maintain.service dnsd-maintain.timer dnsd-check.service dnsd-check.timer dnsd-api.service; do
	check "unit installed: $u" test -f "$E/units/$u"
done
check "settings installed: default/dnsd" test -f "$E/default/dnsd"
check "settings installed: dnsd/dnsd.conf" test -f "$E/dnsd/dnsd.conf"
check "settings installed: dnsd/dnsdctl.conf" test -f "$E/dnsd/dnsdctl.conf"
check "users installed: sysusers.d" test -f "$P/lib/sysusers.d/dnsd.conf"
check "directories installed: tmpfiles.d" test -f "$P/lib/tmpfiles.d/dnsd.conf"
# The least each process needs (docs/security.md).
S="$E/units/dnsd.service" M="$E/units/dnsd-maintain.service"
expect "dnsd runs as its own user" "$(grep -E '^(User|Group)=' "$S" | tr '\n' ' ')" "User=dnsd Group=dnsd "
expect "dnsd keeps CAP_NET_BIND_SERVICE alone" "$(grep -E '^(CapabilityBoundingSet|AmbientCapabilities)=' "$S" | sort | tr '\n' ' ')" \
	"AmbientCapabilities=CAP_NET_BIND_SERVICE CapabilityBoundingSet=CAP_NET_BIND_SERVICE "
check "dnsd drops to no other user (no --user)" test -z "$(grep -e '--user' "$S")"
check "dnsd writes nothing but its own directories" grep -q '^ProtectSystem=strict' "$S"
check "the store is not among them" test -z "$(grep -E '^ReadWritePaths=' "$S")"
expect "the job runs as the signer's user" "$(grep -E '^User=' "$M")" "User=dnsd-signer"
expect "the job has no capability" "$(grep -E '^CapabilityBoundingSet=' "$M")" "CapabilityBoundingSet="
check "the job has a system-call filter" grep -q '^SystemCallFilter=@system-service' "$M"
expect_match "the job reads dnsdctl's config, not paths from the store" "$(grep '^ExecStart=' "$M")" \
	"--config $E/dnsd/dnsdctl.conf maintain"
# The users and directories as systemd would make them, in a scratch root.
if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
	R="$T/root"
	mkdir -p "$R/etc"
	check "systemd-sysusers accepts the users" systemd-sysusers --root="$R" "$P/lib/sysusers.d/dnsd.conf"
	check "... making dnsd and dnsd-signer" grep -q '^dnsd-signer:' "$R/etc/passwd"
	check "systemd-tmpfiles makes the directories" systemd-tmpfiles --root="$R" --create "$P/lib/tmpfiles.d/dnsd.conf"
	su=$(awk -F: '$1 == "dnsd-signer" {print $3}' "$R/etc/passwd") dg=$(awk -F: '$1 == "dnsd" {print $3}' "$R/etc/group")
	expect "the store's directory: the signer's, group dnsd, 2750" "$(stat -c '%u:%g %a' "$R/var/lib/dnsd")" "$su:$dg 2750"
	expect "the keys: the signer's alone" "$(stat -c '%u %a' "$R/var/lib/dnsd/keys")" "$su 700"
fi
check "docs installed" test -f "$P/share/doc/dnsd/operator-guide.md"
expect_match "the job's unit runs the installed dnsdctl" "$(grep '^ExecStart=' "$E/units/dnsd-maintain.service")" \
	"^ExecStart=$P/bin/dnsdctl .* maintain"
expect_match "the server's unit runs the installed dnsd" "$(grep '^ExecStart=' "$E/units/dnsd.service")" "^ExecStart=$P/sbin/dnsd "
expect_match "the API's unit runs the installed dnsd-api with dnsdctl's config" \
	"$(grep '^ExecStart=' "$E/units/dnsd-api.service")" "^ExecStart=$P/sbin/dnsd-api --config $E/dnsd/dnsdctl.conf "
expect "the API server runs as the store's writer, with no capability" \
	"$(grep -E '^(User|CapabilityBoundingSet)=' "$E/units/dnsd-api.service" | tr '\n' ' ')" "User=dnsd-signer CapabilityBoundingSet= "
expect_match "the units read the installed settings" "$(grep -h '^EnvironmentFile=' "$E/units/"*.service | sort -u)" \
	"^EnvironmentFile=$E/default/dnsd$"
C="$E/units/dnsd-check.service"
expect "the check runs as the store's writer" "$(grep -E '^User=' "$C")" "User=dnsd-signer"
expect "the check has no capability" "$(grep -E '^CapabilityBoundingSet=' "$C")" "CapabilityBoundingSet="
expect_match "the check runs the installed dnsdctl's check --all" "$(grep '^ExecStart=' "$C")" \
	"^ExecStart=$P/bin/dnsdctl --config $E/dnsd/dnsdctl.conf check --all "
expect_match "its timer every ten minutes" \
	"$(grep -E '^(OnCalendar|Persistent)=' "$E/units/dnsd-check.timer" | tr '\n' ' ')" "OnCalendar=\*:0/10 Persistent=true"
expect_match "the timer starts the job every five minutes and catches up" \
	"$(grep -E '^(OnCalendar|Persistent)=' "$E/units/dnsd-maintain.timer" | tr '\n' ' ')" "OnCalendar=\*:0/5 Persistent=true"
if command -v systemd-analyze >/dev/null; then
	# Without a running systemd, verify still parses every directive and checks
	# the commands exist; "sysinit.target not found" is about the missing system.
	out=$(systemd-analyze verify "$E/units/dnsd-maintain.timer" "$E/units/dnsd-maintain.service" "$E/units/dnsd.service" \
		"$E/units/dnsd-check.timer" "$E/units/dnsd-check.service" "$E/units/dnsd-api.service" 2>&1 |
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
printf 'db %s\nkeys %s\nzone-file %s\n' "$DB" "$KEYS" "$ZONEFILE" >"$E/dnsd/dnsdctl.conf"
out=$(env -i PATH=/usr/bin:/bin $envs sh -c "exec $cmdline" 2>&1)
rc=$?
expect "the job's command line runs (exit 0)" "$rc" 0
expect_match "and does the job" "$out" "0 revoked, 0 activated, 0 published"
# Before it, the check of that config file, as each unit reading it runs it.
for u in dnsd-maintain dnsd-check dnsd-api; do
	pre=$(sed -n 's/^ExecStartPre=//p' "$E/units/$u.service")
	out=$(env -i PATH=/usr/bin:/bin $envs sh -c "exec $pre" 2>&1)
	expect "$u checks dnsdctl's config first: ok" "$?:$out" "0:dnsdctl: $E/dnsd/dnsdctl.conf: ok"
done
printf 'keys %s\nbogus 1\n' "$KEYS" >>"$E/dnsd/dnsdctl.conf"
out=$(env -i PATH=/usr/bin:/bin $envs sh -c "exec $pre" 2>&1)
expect "a broken config stops the start, both errors named" "$?:$(echo "$out" | sed 's/ (known: [^)]*)$//')" \
	"1:dnsdctl: $E/dnsd/dnsdctl.conf:4: keys is set twice
dnsdctl: $E/dnsd/dnsdctl.conf:5: unknown setting 'bogus'"
finish
