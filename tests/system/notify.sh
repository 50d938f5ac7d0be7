#!/bin/bash
# notify: dnsd's NOTIFY to its secondaries (--notify), received by a stand-in
# secondary (notifyrecv.py, dnspython) on loopback: at start, after a dnsdctl
# change with the new serial, signed with TSIG when the target has a key,
# retried until answered, and for a static zone whose serial a SIGHUP reload
# changed.
. "$(dirname "$0")/lib"
RECV="$ROOT/tests/system/notifyrecv.py"
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; cleanup' EXIT

# recv NAME [ARGS]: starts a stand-in secondary; its port in the variable NAME.
recv() {
	local n=$1; shift
	"$PY" "$RECV" "$T/$n.port" "$T/$n.log" "$@" 2>>"$T/$n.err" &
	PIDS="$PIDS $!"
	for _ in $(seq 1 100); do [ -s "$T/$n.port" ] && break; sleep 0.05; done
	printf -v "$n" '%s' "$(cat "$T/$n.port")"
	touch "$T/$n.log"
}
serial() { q "$ZONE" SOA | awk '{print $3}'; }
# has LOG LINE: the log has that line.
has() { grep -qxF -- "$2" "$1"; }

new_store
SECRET=$(openssl rand -base64 32)
printf 'xfr-key. hmac-sha256 %s\n' "$SECRET" >"$T/tsig.keys"
chmod 0600 "$T/tsig.keys"
recv plain
recv signed --key "xfr-key.:$SECRET"
recv late --silent 2
# A static zone beside the store's.
cat >"$T/other.zone" <<Z
\$ORIGIN other.example.
\$TTL 3600
@ IN SOA ns1.other.example. hostmaster.other.example. 7 3600 600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
Z
start_dnsd --zone "$T/other.zone" --tsig-keys "$T/tsig.keys" \
	--notify "127.0.0.1:$plain" --notify "127.0.0.1:$signed key xfr-key." \
	--notify "127.0.0.1:$late" || finish
S0=$(serial)
expect_match "a serial" "$S0" '^[0-9]+$'

wait_for "at start: NOTIFY of the store's zone" 5 has "$T/plain.log" "notify zone=$ZONE. serial=$S0 tsig=none aa=1"
wait_for "at start: NOTIFY of the static zone" 5 has "$T/plain.log" "notify zone=other.example. serial=7 tsig=none aa=1"
wait_for "signed with the target's key, valid for dnspython" 5 has "$T/signed.log" "notify zone=$ZONE. serial=$S0 tsig=valid aa=1"
wait_for "dnsd logs the answer" 5 grep -q "NOTIFY of $ZONE. serial $S0 answered by 127.0.0.1:$signed" "$T/dnsd.log"
expect "nothing bad reached the signed secondary" "$(grep -c '^bad' "$T/signed.log")" 0

# A change: the new serial goes out.
ctl domain add example.com --tenant acme >/dev/null
wait_for "the change is served" 5 bash -c "[ \"\$(dig @127.0.0.1 -p $PORT +short $ZONE SOA | awk '{print \$3}')\" != $S0 ]"
S1=$(serial)
wait_for "after a change: NOTIFY with the new serial" 3 has "$T/plain.log" "notify zone=$ZONE. serial=$S1 tsig=none aa=1"
wait_for "after a change: signed too" 3 has "$T/signed.log" "notify zone=$ZONE. serial=$S1 tsig=valid aa=1"

# The secondary that did not answer its first two NOTIFYs (one per zone, at
# start) got each again a second later; the change above may have come
# meanwhile, and then went with the retry.
wait_for "unanswered: sent again until answered" 8 grep -q "NOTIFY of $ZONE. serial [0-9]* answered by 127.0.0.1:$late" "$T/dnsd.log"
wait_for "unanswered: the static zone's too" 8 grep -q "NOTIFY of other.example. serial 7 answered by 127.0.0.1:$late" "$T/dnsd.log"
expect "each zone twice at least: four NOTIFYs" "$(grep -c "^notify " "$T/late.log" | awk '{print ($1 >= 4)}')" 1
expect "the store's zone last with the new serial" "$(grep "^notify zone=$ZONE. " "$T/late.log" | tail -1)" "notify zone=$ZONE. serial=$S1 tsig=none aa=1"

# A static zone reloaded with a new serial.
sed -i 's/ 7 3600 / 8 3600 /' "$T/other.zone"
kill -HUP "$DNSD_PID"
wait_for "after SIGHUP: NOTIFY of the static zone's new serial" 5 has "$T/plain.log" "notify zone=other.example. serial=8 tsig=none aa=1"
sleep 0.5
expect "one NOTIFY per serial at the answering secondary" \
	"$(sort "$T/plain.log" | uniq -d | wc -l)" 0
finish
