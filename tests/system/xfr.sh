#!/bin/bash
# xfr: dnsd as hidden primary (issue 13) for real secondaries from Debian's
# packages, NSD and Knot, each run as the user the test runs as, on 127.0.0.1, on a port the
# test picks, with its own config, state and log in $T, in the foreground (no
# systemd), stopped at the end. dnsd NOTIFYs them (TSIG-signed), they transfer with
# TSIG (AXFR first, then IXFR), and their answers are compared with dnsd's
# (xfrq.py same: rcode, AA, the answer RRsets with TTLs, the SOA of negatives).
#   1  initial AXFR to both
#   2  a domain add and a key rotate reach both, by NOTIFY and IXFR
#   3  identical answers for every kind of name
#   4  TSIG and address checks: no key, a wrong key, an address not allowed
#   5  a key rotation that waits for a stopped (lagging) secondary
#   6  secondaries behind the history dnsd keeps (dnsd restarted): a full transfer
#   7  dnsd stopped and started again in the middle of an AXFR of a big zone
# The docs/deployment.md configs are these ones.
. "$(dirname "$0")/lib"
XQ="$ROOT/tests/system/xfrq.py"
xq() { "$PY" "$XQ" "$@"; }
trap 'stop_secondaries; cleanup' EXIT

# One TSIG key per secondary, as docs/deployment.md advises.
KEY=xfr-knot KEY_NSD=xfr-nsd
SECRET=$(openssl rand -base64 32) SECRET_NSD=$(openssl rand -base64 32)
WRONG=$(openssl rand -base64 32)
HOLD=300
SECS="" # the secondaries started: NAME:PID ...

# ---- the secondaries ----
# nsd_conf NAME PORT PRIMARY_PORT KEY SECRET: NSD 4 as secondary of dnsd for the zone.
nsd_conf() {
	local d="$T/$1"
	cat <<EOF
server:
	ip-address: 127.0.0.1@$2
	port: $2
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$d"
	database: ""
	zonelistfile: "$d/zone.list"
	xfrdfile: "$d/xfrd.state"
	xfrdir: "$d"
	pidfile: "$d/nsd.pid"
	logfile: "$d/log"
	verbosity: 2
remote-control:
	control-enable: no
key:
	name: $4
	algorithm: hmac-sha256
	secret: "$5"
zone:
	name: $ZONE
	zonefile: "$d/$ZONE.zone"
	request-xfr: 127.0.0.1@$3 $4
	allow-notify: 127.0.0.1 $4
EOF
}
# knot_conf NAME PORT PRIMARY_PORT KEY SECRET: Knot 3 as secondary of dnsd for the zone.
knot_conf() {
	local d="$T/$1"
	cat <<EOF
server:
    rundir: "$d"
    pidfile: "$d/knot.pid"
    listen: 127.0.0.1@$2
log:
  - target: "$d/log"
    any: info
database:
    storage: "$d/db"
key:
  - id: $4
    algorithm: hmac-sha256
    secret: $5
remote:
  - id: primary
    address: 127.0.0.1@$3
    key: $4
acl:
  - id: notify-from-primary
    address: 127.0.0.1
    key: $4
    action: notify
zone:
  - domain: $ZONE
    storage: "$d"
    file: "$d/$ZONE.zone"
    master: primary
    acl: notify-from-primary
    zonefile-sync: -1
EOF
}
# start_secondary nsd|knot NAME PORT KEY SECRET: writes its config and starts it in
# the foreground against dnsd (PORT of dnsd: $PORT). Its pid is in $T/NAME.pid before
# it runs (the subshell writes its own and becomes the server), for a watcher that
# must know it by its first connection.
start_secondary() {
	local kind=$1 name=$2 port=$3 key=$4 secret=$5 pid
	mkdir -p "$T/$name/db"
	if [ "$kind" = nsd ]; then
		nsd_conf "$name" "$port" "$PORT" "$key" "$secret" >"$T/$name/nsd.conf"
		(echo "$BASHPID" >"$T/$name.pid" && exec nsd -d -c "$T/$name/nsd.conf") >>"$T/$name/out" 2>&1 &
	else
		knot_conf "$name" "$port" "$PORT" "$key" "$secret" >"$T/$name/knot.conf"
		(echo "$BASHPID" >"$T/$name.pid" && exec knotd -c "$T/$name/knot.conf") >>"$T/$name/out" 2>&1 &
	fi
	pid=$!
	eval "PID_$name=$pid PORT_$name=$port"
	SECS="$SECS $name:$pid"
}
# stop_secondary NAME: SIGCONT (it may be stopped), SIGTERM, wait.
stop_secondary() {
	local p=PID_$1
	[ -n "${!p:-}" ] || return 0
	kill -CONT "${!p}" 2>/dev/null
	kill "${!p}" 2>/dev/null
	wait "${!p}" 2>/dev/null
	eval "PID_$1="
}
stop_secondaries() {
	local s
	for s in $SECS; do stop_secondary "${s%%:*}"; done
}
sport() { local p=PORT_$1; echo "${!p}"; }
spid() { local p=PID_$1; echo "${!p}"; }
# serial_of NAME|dnsd: the SOA serial it answers (NOERROR, AA set), or "none".
serial_of() {
	local p=$PORT
	[ "$1" = dnsd ] || p=$(sport "$1")
	dig @127.0.0.1 -p "$p" +norec +tries=1 +time=1 +noall +comments +answer $ZONE SOA 2>/dev/null |
		awk '/status: NOERROR/ { ok = 1 } /^;; flags:.* aa[ ;]/ { aa = 1 } $4 == "SOA" { s = $7 }
			END { print (ok && aa && s != "") ? s : "none" }'
}
# store_serial: the serial of the store, which dnsd must come to serve.
store_serial() { ctl status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["serial"])'; }
# serves_serial NAME|dnsd SERIAL: it answers with that serial.
serves_serial() { [ "$(serial_of "$1")" = "$2" ]; }
# synced SECONDS NAME...: dnsd serves the store's serial, then each secondary NAME does,
# each within SECONDS (checks). Comparing a secondary with dnsd alone passes while dnsd
# still reads a big change: its refresh thread runs at nice 19, and a loaded machine
# left it more than 10 s behind an 8,000-domain import.
synced() {
	local s=$1 n want; shift
	want=$(store_serial)
	wait_for "dnsd: serves the store's serial ($want) within $s s" "$s" serves_serial dnsd "$want" ||
		echo "    dnsd serves $(serial_of dnsd)"
	for n in "$@"; do
		wait_for "$n: serves serial $want within $s s" "$s" serves_serial "$n" "$want" && continue
		# What a run that no one can repeat needs: where each side stopped.
		echo "    $n serves $(serial_of "$n"); the end of its log, then dnsd's:"
		tail -n 12 "$T/$n/log" | sed 's/^/    | /'
		tail -n 12 "$T/dnsd.log" | sed 's/^/    | /'
	done
}
# at_least NAME SERIAL: NAME serves SERIAL or a later one.
at_least() { local s; s=$(serial_of "$1"); [ "$s" != none ] && [ "$s" -ge "$2" ]; }
# same NAME FILE: NAME and dnsd answer every name of FILE alike.
same() { xq same "$PORT" "$(sport "$1")" "$2"; }
# serves NAME QNAME TYPE: NAME answers QNAME TYPE as dnsd does, with an answer.
serves() {
	local a b
	a=$(dig @127.0.0.1 -p "$PORT" +short +tries=1 +time=1 "$2" "$3")
	b=$(dig @127.0.0.1 -p "$(sport "$1")" +short +tries=1 +time=1 "$2" "$3")
	[ -n "$a" ] && [ "$a" = "$b" ]
}
# complaints NAME: the lines of secondary NAME's log that say dnsd sent it something
# wrong: a transfer or NOTIFY refused or failing its TSIG, a malformed message or record,
# changes that would not apply. Each peer's own words, matched narrowly: what a stopped
# primary or an overtaken NOTIFY makes them log (a refused connection, a refresh without
# a primary, NSD's restarted transfer) is no complaint, and what dnsd serves is checked
# by asking the secondaries themselves after each step.
NSD_BAD='received error code|malformed tsig|tsig error|bad tsig|without TSIG|no tsig in first packet|has no TSIG'
NSD_BAD="$NSD_BAD|bad RR in question|bad transfer|reverted transfer|bad xfr|bad ixfr|bad SOA RR|bad query id|notify for .* refused"
KNOT_BAD='TSIG, .*verification failed|ACL, denied|failed \((failed to verify TSIG|TSIG [^)]*|expected a TSIG[^)]*|malformed data'
KNOT_BAD="$KNOT_BAD|trailing data|not enough data to parse|semantic check|name does not belong to the zone)\)"
KNOT_BAD="$KNOT_BAD|server responded with error|bad record in answer section|malformed (message|response SOA)"
KNOT_BAD="$KNOT_BAD|inconsistent history|failed to apply|failed to store changes|fallback to AXFR \("
complaints() {
	local p=$KNOT_BAD
	[ -f "$T/$1/nsd.conf" ] && p=$NSD_BAD
	grep -E -- "$p" "$T/$1/log"
}
# loglines NAME: the number of lines in NAME's log now (to look only at what comes after).
loglines() { wc -l <"$T/$1/log" 2>/dev/null || echo 0; }
# logsince NAME LINES: NAME's log after its first LINES lines.
logsince() { tail -n +"$(($2 + 1))" "$T/$1/log" 2>/dev/null; }

# names FILE DOMAIN...: a sample of every kind of name: the apex records, for each
# domain its DKIM selectors, the Return-Path TXT and MX, the DMARC target and the
# _report._dmarc name, and negatives (NXDOMAIN, NODATA, empty non-terminals).
names() {
	local f=$1 d t; shift
	{
		printf '%s SOA\n%s NS\n%s A\n_spf.%s TXT\nbounce.%s A\nns1.%s A\n_dmarc.%s TXT\n' \
			$ZONE $ZONE $ZONE $ZONE $ZONE $ZONE $ZONE
		printf 'nosuch.%s A\ndkim.%s TXT\nrp.%s MX\n_report._dmarc.%s TXT\n' $ZONE $ZONE $ZONE $ZONE
		for d in "$@"; do
			t=$(token "$d")
			printf 'esp1.%s.dkim.%s TXT\nesp2.%s.dkim.%s TXT\nesp3.%s.dkim.%s TXT\n' $t $ZONE $t $ZONE $t $ZONE
			printf 'esp-ed1.%s.dkim.%s TXT\nesp-ed2.%s.dkim.%s TXT\n' $t $ZONE $t $ZONE
			printf '%s.rp.%s TXT\n%s.rp.%s MX\n%s.rp.%s AAAA\n%s.dmarc.%s TXT\n' $t $ZONE $t $ZONE $t $ZONE $t $ZONE
			printf '%s._report._dmarc.%s TXT\n%s._report._dmarc.%s A\n' $d $ZONE $d $ZONE
			printf 'nosuch.%s.dkim.%s TXT\n%s.dkim.%s TXT\nesp1.%s.dkim.%s AAAA\n' $t $ZONE $t $ZONE $t $ZONE
			printf 'x.%s.rp.%s MX\nnosuch-%s._report._dmarc.%s TXT\n' $t $ZONE $d $ZONE
		done
	} >"$f"
}

# ---- the primary ----
new_store --ttl-dkim $HOLD --rotation-days 0 --key-retention-days 7 || not_ok "new store"
ctl domain add a.example --tenant acme >/dev/null
ctl domain add b.example --tenant acme --algorithm ed25519 >/dev/null
ctl domain add c.example --tenant acme --ed25519 yes >/dev/null
ctl domain add d.example --tenant acme --return-path mail >/dev/null
DOMS="a.example b.example c.example d.example"
printf '%s hmac-sha256 %s\n' "$KEY_NSD" "$SECRET_NSD" "$KEY" "$SECRET" >"$T/tsig.keys"
chmod 0600 "$T/tsig.keys"
P_nsd=$(free_port) P_knot=$(free_port) P_wrong=$(free_port) P_late=$(free_port)
# dnsd's options as docs/deployment.md gives them.
xfr_args() {
	XFR_ARGS=(--tsig-keys "$T/tsig.keys" --allow-transfer "127.0.0.1 key $KEY_NSD"
		--allow-transfer "127.0.0.1 key $KEY"
		--notify "127.0.0.1:$P_nsd key $KEY_NSD" --notify "127.0.0.1:$P_knot key $KEY"
		--notify "127.0.0.1:$P_late key $KEY")
}
xfr_args
start_dnsd "${XFR_ARGS[@]}" || finish
DNSD_PORT=$PORT DNSD_PORT6=$PORT6 # every restart: the same ports, which the secondaries know

# =====================================================================
echo "# 1 initial AXFR (at $SECONDS s)"
start_secondary nsd nsd "$P_nsd" "$KEY_NSD" "$SECRET_NSD"
start_secondary knot knot "$P_knot" "$KEY" "$SECRET"
start_secondary knot wrong "$P_wrong" "$KEY" "$WRONG"
S0=$(serial_of dnsd)
expect_match "dnsd serves a serial" "$S0" '^[0-9]+$'
synced 10 nsd knot
expect_match "knot: it was an AXFR (its log)" "$(grep 'AXFR, incoming' "$T/knot/log" | tail -1)" 'finished'

# =====================================================================
echo "# 2 NOTIFY and IXFR (at $SECONDS s)"
names "$T/names" $DOMS
check "nsd: same answers as dnsd (before the changes)" same nsd "$T/names"
Lk=$(loglines knot) Ld=$(wc -l <"$T/dnsd.log")
ctl domain add e.example --tenant acme >/dev/null
ET=$(token e.example)
wait_for "nsd: serves the new domain's DKIM key within 10 s" 10 serves nsd esp1.$ET.dkim.$ZONE TXT
wait_for "knot: serves the new domain's DKIM key within 10 s" 10 serves knot esp1.$ET.dkim.$ZONE TXT
expect_match "knot: by IXFR (its log)" "$(logsince knot "$Lk" | grep -E 'XFR, incoming.*finished' | tr '\n' ' ')" \
	'^[^A]*IXFR, incoming[^A]*finished[^A]*$'
ctl key rotate a.example >/dev/null
AT=$(token a.example)
wait_for "nsd: serves a.example's new key (esp2) within 10 s" 10 serves nsd esp2.$AT.dkim.$ZONE TXT
wait_for "knot: serves a.example's new key (esp2) within 10 s" 10 serves knot esp2.$AT.dkim.$ZONE TXT
expect "knot: no AXFR since the first" "$(logsince knot "$Lk" | grep -c 'AXFR, incoming')" 0
# dnsd logs "IXFR of ZONE from serial S to PEER" and "IXFR to PEER done: ... (the whole
# zone)" when it answered with the whole zone.
ixfrs_done() { [ "$(tail -n +"$((Ld + 1))" "$T/dnsd.log" | grep -c 'IXFR to .* done')" -ge "$1" ]; }
wait_for "dnsd: at least 4 IXFRs after the 2 changes (its log)" 10 ixfrs_done 4
# (Whether to ask AXFR is the secondary's choice: NSD does after an overtaken transfer.)
expect "dnsd: no IXFR answered with the whole zone (its log)" \
	"$(tail -n +"$((Ld + 1))" "$T/dnsd.log" | grep -E 'IXFR to .*whole zone')" ""

# =====================================================================
echo "# 3 identical answers (at $SECONDS s)"
names "$T/names" $DOMS e.example
synced 10 nsd knot
check "nsd: same answers as dnsd ($(wc -l <"$T/names") names)" same nsd "$T/names"
check "knot: same answers as dnsd" same knot "$T/names"
# The comparison must be able to fail: knot frozen (it answers, but transfers
# nothing), a change only dnsd has.
check "knotc zone-freeze" knotc -s "$T/knot/knot.sock" zone-freeze $ZONE
ctl key rotate b.example >/dev/null
synced 10 nsd
check_fails "the comparison sees the change knot has not transferred" same knot "$T/names"
expect_match "... and says what differs" "$(cat "$T/.check.out")" "$ZONE SOA differs"
check "knotc zone-thaw" knotc -s "$T/knot/knot.sock" zone-thaw $ZONE
synced 10 knot
check "knot: same answers as dnsd again" same knot "$T/names"

# =====================================================================
echo "# 4 access control (at $SECONDS s)"
# Every probe in one run of xfrq.py: "WHAT|ARGUMENTS|EXPECTED REGEX" a line.
probes() {
	local k p
	for k in axfr ixfr; do
		for p in udp tcp; do
			echo "$k over $p, no TSIG: REFUSED or NOTAUTH|$PORT $ZONE $k $p|^(REFUSED|NOTAUTH) "
			echo "$k over $p, wrong TSIG secret: NOTAUTH, BADSIG|$PORT $ZONE $k $p --key $KEY:$WRONG|^NOTAUTH tsig=BADSIG"
			echo "$k over $p, unknown TSIG key: NOTAUTH, BADKEY|$PORT $ZONE $k $p --key other-key:$SECRET|^NOTAUTH tsig=BADKEY"
			echo "$k over $p, right key but from 127.0.0.2 (not allowed): REFUSED|$PORT $ZONE $k $p --key $KEY:$SECRET --src 127.0.0.2|^REFUSED "
			echo "$k over $p, right key but from ::1 (not allowed): REFUSED|$PORT6 $ZONE $k $p --v6 --key $KEY:$SECRET|^REFUSED "
		done
		echo "$k over tcp with knot's key from 127.0.0.1: NOERROR, signed|$PORT $ZONE $k tcp --key $KEY:$SECRET|^NOERROR tsig=ok an=[1-9]"
		echo "$k over tcp with nsd's key from 127.0.0.1: NOERROR, signed|$PORT $ZONE $k tcp --key $KEY_NSD:$SECRET_NSD|^NOERROR tsig=ok an=[1-9]"
		echo "$k over tcp, knot's key name with nsd's secret: NOTAUTH, BADSIG|$PORT $ZONE $k tcp --key $KEY:$SECRET_NSD|^NOTAUTH tsig=BADSIG"
	done
}
probes >"$T/probes"
cut -d'|' -f2 "$T/probes" | xq batch >"$T/probes.out"
while IFS='|' read -r what args want; do
	read -r got <&3
	expect_match "$what" "$got" "$want"
done <"$T/probes" 3<"$T/probes.out"
expect_match "dig AXFR from 127.0.0.2 (no key): transfer failed" \
	"$(dig @127.0.0.1 -p "$PORT" -b 127.0.0.2 +tries=1 +time=2 $ZONE AXFR | grep -v '^;; ')" 'Transfer failed'
expect_match "kdig AXFR with the key: the whole zone" \
	"$(kdig @127.0.0.1 -p "$PORT" -y "hmac-sha256:$KEY:$SECRET" $ZONE AXFR 2>&1 | grep -E '^;; Received')" \
	'^;; Received [0-9]+ B \([0-9]+ messages?, [0-9]+ records\)'
expect_match "kdig IXFR over UDP from ::1: REFUSED" \
	"$(kdig @::1 -p "$PORT6" +notcp $ZONE IXFR=1 2>&1 | grep -E 'status|ERROR' | head -1)" 'REFUSED'
expect "wrong: the secondary with the wrong key has no zone" "$(serial_of wrong)" none

# =====================================================================
echo "# 5 a rotation waits for a lagging secondary (at $SECONDS s)"
check "ns add nsd" ctl ns add nsd 127.0.0.1:"$P_nsd"
check "ns add knot" ctl ns add knot 127.0.0.1:"$P_knot"
kj() { ctl key list "$1" --json | "$PY" -c "import json,sys
k = json.load(sys.stdin)
def K(s): return max([x for x in k if x['selector'] == s], key=lambda x: x['id'])
print($2)"; }
ctlat() { local t=$1; shift; DNSD_NOW=$t ctl "$@"; }
N=$(date +%s)
kill -STOP "$(spid knot)"
check "key rotate c.example while knot is stopped" ctlat $N key rotate c.example
PS=$(kj c.example 'K("esp2")["published_serial"]')
wait_for "nsd: serves the key's serial ($PS)" 10 at_least nsd "$PS"
out=$(DNSD_NOW=$((N + HOLD + 1)) ctl maintain 2>&1)
expect "maintain after the hold, knot stopped: the new key stays published" "$(kj c.example 'K("esp2")["state"]')" published
expect_match "maintain says knot is why" "$out" 'knot'
kill -CONT "$(spid knot)"
wait_for "knot: serves the key's serial once running again (NOTIFY retried)" 20 at_least knot "$PS"
out=$(DNSD_NOW=$((N + HOLD + 2)) ctl maintain 2>&1)
expect "maintain with both secondaries current: the key is active" "$(kj c.example 'K("esp2")["state"]')" active
expect_match "ns list: both at the key's serial or later" \
	"$(ctl ns list --json | "$PY" -c 'import json,sys; print(sorted((n["name"], n["serial"] >= int(sys.argv[1]), n["error"]) for n in json.load(sys.stdin)))' "$PS")" \
	"^\[\('knot', True, None\), \('nsd', True, None\)\]$"
synced 10 nsd knot
check "nsd: same answers as dnsd" same nsd "$T/names"
check "knot: same answers as dnsd" same knot "$T/names"

# =====================================================================
echo "# 6 secondaries behind dnsd's history get a full transfer (at $SECONDS s)"
kill -STOP "$(spid nsd)" "$(spid knot)"
SB=$(serial_of dnsd)
ctl domain add f.example --tenant acme >/dev/null
stop_dnsd
start_dnsd "${XFR_ARGS[@]}" || finish
ctl domain add g.example --tenant acme >/dev/null
ctl key rotate d.example >/dev/null
Lk=$(loglines knot) Ld=$(wc -l <"$T/dnsd.log")
kill -CONT "$(spid nsd)" "$(spid knot)"
echo "# (from serial $SB)"
synced 20 nsd knot
expect_match "knot: a full transfer (its log)" "$(logsince knot "$Lk" | grep -E 'XFR' | tr '\n' ' ')" 'AXFR'
fulls_done() { [ "$(tail -n +"$((Ld + 1))" "$T/dnsd.log" | grep -c 'IXFR to .*(the whole zone)')" -ge 2 ]; }
wait_for "dnsd: answered both with the whole zone (its log)" 10 fulls_done
check "dnsd: both had asked IXFR from serial $SB (its log)" \
	test "$(tail -n +"$((Ld + 1))" "$T/dnsd.log" | grep -c "IXFR of $ZONE. from serial $SB ")" -ge 2
names "$T/names" $DOMS e.example f.example g.example
check "nsd: same answers as dnsd" same nsd "$T/names"
check "knot: same answers as dnsd" same knot "$T/names"

# =====================================================================
echo "# 7 dnsd restarted in the middle of an AXFR (at $SECONDS s)"
openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -outform DER 2>/dev/null | base64 -w0 >"$T/pub"
"$PY" - "$T/big.csv" "$(cat "$T/pub")" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("domain,tenant,public_key,private_key,token,return_path\n")
    for i in range(8000):
        f.write("big%05d.example,acme,%s,,,\n" % (i, sys.argv[2]))
EOF
Ld=$(wc -l <"$T/dnsd.log")
check "import 8000 domains" ctl import "$T/big.csv"
synced 60 nsd knot
# (dnsd logs "done" once its last message is written: maybe after a secondary serves it)
wait_for "dnsd: ... both by IXFR (its log)" 10 ixfrs_done 2
expect "dnsd: ... no IXFR answered with the whole zone (its log)" "$(tail -n +"$((Ld + 1))" "$T/dnsd.log" | grep -E 'IXFR to .*whole zone')" ""
# A port picked minutes ago may be some client's by now (a full run saw 'address already
# in use' and no late secondary): a fresh one, which the restarted dnsd notifies.
P_late=$(free_port)
xfr_args
# The watcher is ready before the secondary starts: the transfer takes a fraction of a second.
xq stop-mid-transfer "$PORT" "$T/late.pid" "$T/late.ready" 20 >"$T/late.stop" 2>&1 &
W=$!
for _ in $(seq 1 100); do [ -s "$T/late.ready" ] && break; sleep 0.05; done
start_secondary knot late "$P_late" "$KEY" "$SECRET"
wait "$W"
expect_match "late: stopped in its first transfer, dnsd blocked sending" "$(cat "$T/late.stop")" '^stopped with [0-9]+ bytes unsent'
t0=$(date +%s%N)
kill "$DNSD_PID"; wait "$DNSD_PID"; rc=$?; DNSD_PID=""
expect "dnsd stops (SIGTERM) with a transfer stalled: exit 0" "$rc" 0
check "... within 5 s" test $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000
start_dnsd "${XFR_ARGS[@]}" || finish
kill -CONT "$(spid late)"
wait_for "late: the whole zone from the restarted dnsd within 15 s" 15 serves_serial late "$(store_serial)"
expect_match "late: its first AXFR failed (cut by the restart)" "$(grep -E 'refresh.*failed|AXFR.*failed' "$T/late/log" | head -1)" 'failed'
names "$T/names" $DOMS e.example big00000.example big04321.example big07999.example
synced 10 nsd knot late
for s in nsd knot late; do
	check "$s: same answers as dnsd" same $s "$T/names"
done
expect "wrong: still no zone at the end" "$(serial_of wrong)" none
# The complaints a peer would log are seen: the secondary with the wrong key has them.
expect_match "wrong: its log says its transfers failed their TSIG" "$(complaints wrong | head -1)" 'failed to verify TSIG'
for s in nsd knot late; do
	expect "$s: no complaint about what dnsd sent in its log" "$(complaints $s)" ""
done
finish
