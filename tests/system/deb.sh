#!/bin/bash
# deb: the Debian packages install the layout docs/security.md describes, the
# installed dnsd answers from a store the installed dnsdctl made, and purge
# leaves no files (the users stay, as Debian policy allows). Root only; it
# uses build/deb when 'make deb' built it after the last commit, else builds.
. "$(dirname "$0")/lib"
PKGS="dnsd dnsdctl dnsd-api"
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-buildpackage >/dev/null; then
	ok "skipped: needs root and dpkg-buildpackage"
	finish
fi
# The packages are built from the source whatever BUILD is, and installing them is a
# change to the whole machine: once a suite (the plain run; the sanitizer run goes
# side by side with it and would race it for dpkg's lock).
if [ "$(basename "$BUILD")" != build ]; then
	ok "skipped: the packages are tested by the plain build's run"
	finish
fi
if dpkg-query -W dnsd >/dev/null 2>&1; then
	ok "skipped: a dnsd package is installed already; not touching it"
	finish
fi
debs() { ls "$ROOT"/build/deb/{dnsd,dnsdctl,dnsd-api}_*.deb 2>/dev/null; }
newest=$(cd "$ROOT" && git ls-files -z | xargs -0 stat -c %Y 2>/dev/null | sort -n | tail -1)
if [ "$(debs | wc -l)" -ne 3 ] || [ "$(stat -c %Y $(debs) | sort -n | head -1)" -lt "$newest" ]; then
	make -s -C "$ROOT" deb >"$T/build.log" 2>&1 || { not_ok "make deb"; tail -20 "$T/build.log"; finish; }
fi
purge() { dpkg --purge $PKGS >>"$T/purge.log" 2>&1; }
trap 'purge; cleanup' EXIT

check "dpkg -i" dpkg -i $(debs)
mode() { stat -c '%U:%G %a' "$1"; }
check "users dnsd and dnsd-signer" id dnsd-signer
check "group dnsd" getent group dnsd
expect "store dir: the signer writes, dnsd reads" "$(mode /var/lib/dnsd)" "dnsd-signer:dnsd 2750"
expect "keys: the signer's only" "$(mode /var/lib/dnsd/keys)" "dnsd-signer:dnsd-signer 700"
check_fails "dnsd cannot write the store dir" runuser -u dnsd -- touch /var/lib/dnsd/x
for f in /usr/sbin/dnsd /usr/bin/dnsdctl /usr/sbin/dnsd-api; do
	expect "$f root-owned 755" "$(mode $f)" "root:root 755"
done
for u in dnsd.service dnsd-maintain.timer dnsd-check.timer dnsd-api.service; do
	check "$u in /lib/systemd/system" test -f /lib/systemd/system/$u
done
check_fails "units name no /usr/local path" grep -l /usr/local /lib/systemd/system/dnsd*
check "conffiles in /etc/dnsd" sh -c 'dpkg-query -W -f="\${Conffiles}" dnsd dnsdctl | grep -q /etc/dnsd/dnsd.conf'
check "man pages" test -f /usr/share/man/man8/dnsd.8.gz -a -f /usr/share/man/man5/dnsd.conf.5.gz
if command -v systemd-analyze >/dev/null && systemd-analyze verify /lib/systemd/system/dnsd.service >"$T/verify" 2>&1; then
	check "systemd-analyze verify" systemd-analyze verify /lib/systemd/system/dnsd*.service /lib/systemd/system/dnsd*.timer
else
	ok "systemd-analyze verify skipped: it does not run here ($(head -1 "$T/verify" 2>/dev/null))"
fi

DNSD=/usr/sbin/dnsd DNSDCTL=/usr/bin/dnsdctl
new_store
ctl domain add example.com --tenant acme >/dev/null
TOK=$(token example.com)
chgrp dnsd "$T" "$DB" && chmod 2770 "$T" && chmod 640 "$DB"
start_dnsd --user dnsd || finish
expect_match "installed dnsd answers" "$(q esp1.$TOK.dkim.$ZONE TXT)" '^"v=DKIM1; k=rsa; p=MII'
stop_dnsd

purge
check_fails "packages gone" dpkg-query -W -f='${Status}\n' dnsd
left=$(ls -d /usr/sbin/dnsd* /usr/bin/dnsdctl /lib/systemd/system/dnsd* /etc/dnsd /var/lib/dnsd \
	/var/lib/dnsd-server /usr/lib/sysusers.d/dnsd.conf /usr/lib/tmpfiles.d/dnsd.conf 2>/dev/null)
expect "purge leaves no files" "$left" ""
finish
