#!/bin/bash
# axfr: dnsd as a primary, seen by dig, kdig and a slow reader of its own (issue 13,
# points 1 and 3). Transfers only for --allow-transfer addresses, REFUSED (not
# NOTIMP) otherwise, over UDP and TCP; an allowed IXFR over UDP gets the SOA alone;
# an AXFR of a zone of thousands of domains is one consistent serial while dnsdctl
# changes the store under it (ASan checks that nothing it reads is freed); a client
# that stops reading holds its connection only until the idle timeout, and queries
# on the same worker keep being answered meanwhile.
. "$(dirname "$0")/lib"

# xstatus HOST PORT NAME TYPE udp|tcp [SERIAL]: the rcode of the first answer to a
# transfer request (dig prints none for a failed transfer).
xstatus() {
	"$PY" - "$@" <<'EOF'
import sys, dns.message, dns.name, dns.query, dns.rcode, dns.rrset
host, port, name, typ, how = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
q = dns.message.make_query(name, typ)
if typ == "IXFR":
    q.authority.append(dns.rrset.from_text(dns.name.from_text(name), 0, "IN", "SOA", "a. b. %s 0 0 0 0" % sys.argv[6]))
try:
    r = (dns.query.udp if how == "udp" else dns.query.tcp)(q, host, port=port, timeout=3)
    print(dns.rcode.to_text(r.rcode()))
except Exception as e:
    print(type(e).__name__)
EOF
}

new_store
ctl domain add example.com --tenant acme >/dev/null
ctl domain add example.org --tenant acme >/dev/null

# No --allow-transfer: nobody.
start_dnsd --threads 1 || finish
expect "AXFR over TCP without allow-transfer: REFUSED" "$(xstatus 127.0.0.1 "$PORT" "$ZONE" AXFR tcp)" REFUSED
expect "IXFR over TCP without allow-transfer: REFUSED" "$(xstatus 127.0.0.1 "$PORT" "$ZONE" IXFR tcp 1)" REFUSED
expect "IXFR over UDP without allow-transfer: REFUSED" "$(xstatus 127.0.0.1 "$PORT" "$ZONE" IXFR udp 1)" REFUSED
expect "AXFR over UDP without allow-transfer: REFUSED" "$(xstatus 127.0.0.1 "$PORT" "$ZONE" AXFR udp)" REFUSED
stop_dnsd

# Allowed from 127.0.0.1 only; ::1 is not.
start_dnsd --threads 1 --allow-transfer 127.0.0.1 --tcp-idle 1500 || finish
serial=$(q "$ZONE" SOA | awk '{print $3}')
axfr=$(kdig @127.0.0.1 -p "$PORT" "$ZONE" AXFR +nostat 2>&1)
expect "AXFR from 127.0.0.1: SOA first and last" \
	"$(printf '%s\n' "$axfr" | grep -c "SOA.* $serial ")" 2
expect_match "AXFR holds the selectors" "$(printf '%s\n' "$axfr" | grep -c 'dkim\..*TXT')" '^[1-9]'
expect "AXFR from ::1: REFUSED" "$(xstatus ::1 "$PORT6" "$ZONE" AXFR tcp)" REFUSED
expect "IXFR from ::1: REFUSED" "$(xstatus ::1 "$PORT6" "$ZONE" IXFR tcp 1)" REFUSED
expect "IXFR over UDP from ::1: REFUSED" "$(xstatus ::1 "$PORT6" "$ZONE" IXFR udp 1)" REFUSED
expect "AXFR over UDP from 127.0.0.1 (no such thing): REFUSED" "$(xstatus 127.0.0.1 "$PORT" "$ZONE" AXFR udp)" REFUSED
expect "AXFR of a name that is not an apex: REFUSED" "$(xstatus 127.0.0.1 "$PORT" "ns1.$ZONE" AXFR tcp)" REFUSED
udp=$(dig @127.0.0.1 -p "$PORT" +tries=1 +time=2 +notcp "$ZONE" IXFR=1 +noall +answer)
expect "IXFR over UDP: the SOA alone" "$(printf '%s\n' "$udp" | awk '{print $4}' | tr '\n' ' ')" "SOA "
expect "IXFR at the current serial: the SOA alone" \
	"$(kdig @127.0.0.1 -p "$PORT" "$ZONE" IXFR="$serial" +nostat 2>&1 | grep -c SOA)" 1

# A zone of 3,000 domains, changed while it is transferred.
pub=$(openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -outform DER 2>/dev/null | base64 -w0)
{
	echo "domain,tenant,public_key"
	for i in $(seq 1 3000); do echo "d$i.example,acme,$pub"; done
} >"$T/big.csv"
ctl import "$T/big.csv" >/dev/null || not_ok "import of 3,000 domains"
wait_for "dnsd serves the imported domains" 5 \
	bash -c "[ \"\$(dig @127.0.0.1 -p $PORT +short d3000.example._report._dmarc.$ZONE TXT)\" = '\"v=DMARC1\"' ]"
(for i in $(seq 1 20); do ctl domain add "late$i.example" --tenant acme >/dev/null; done) &
changer=$!
for n in 1 2 3; do
	kdig @127.0.0.1 -p "$PORT" "$ZONE" AXFR +nostat >"$T/axfr$n" 2>&1
done
wait "$changer"
for n in 1 2 3; do
	s=$(grep -E "^$ZONE\.?\s.*SOA" "$T/axfr$n" | awk '{print $7}' | sort -u)
	expect "AXFR $n during changes: one serial, first and last" \
		"$(grep -cE "^$ZONE\.?\s.*SOA" "$T/axfr$n")/$(printf '%s\n' "$s" | wc -l)" "2/1"
	expect "AXFR $n during changes: every imported domain" \
		"$(grep -c '_report\._dmarc.*TXT.*v=DMARC1' "$T/axfr$n" | awk '{print ($1 >= 3002)}')" 1
done
# The last one, after the changes, holds them all.
kdig @127.0.0.1 -p "$PORT" "$ZONE" AXFR +nostat >"$T/axfr4" 2>&1
expect "AXFR after the changes: every late domain" "$(grep -c '^late[0-9]*\.example\._report' "$T/axfr4")" 20

# A client that asks and never reads: the worker (the only one) answers queries
# meanwhile, and the connection goes at the idle timeout.
"$PY" - "$PORT" "$ZONE" >"$T/slow" 2>&1 <<'EOF' &
import socket, struct, sys, time, dns.message
port, zone = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
w = dns.message.make_query(zone, "AXFR").to_wire()
s.sendall(struct.pack("!H", len(w)) + w)
time.sleep(4)
# by now dnsd has closed it: reading drains what was sent, then EOF
s.settimeout(5)
got = 0
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    print("closed after", got)
except Exception as e:
    print("not closed:", type(e).__name__, got)
EOF
slow=$!
sleep 0.5
t0=$(date +%s%N)
ok_q=0
for i in $(seq 1 20); do
	[ "$(q "d$i.example._report._dmarc.$ZONE" TXT)" = '"v=DMARC1"' ] && ok_q=$((ok_q + 1))
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect "queries answered while a transfer waits on its reader" "$ok_q" 20
expect_match "... promptly (20 queries in ${ms} ms)" "$ms" '^[0-9]{1,4}$'
wait "$slow"
expect_match "the stalled transfer closed at the idle timeout" "$(cat "$T/slow")" '^closed after [0-9]+$'
expect_match "and logged as cut short" "$(grep -c 'AXFR to .* cut short' "$T/dnsd.log")" '^[1-9]'
stop_dnsd

# TSIG: transfers only with the key; every message of a long AXFR signed, in a
# chain kdig verifies (RFC 8945 5.3.1).
SECRET=$(openssl rand -base64 32)
printf 'xfr-key. hmac-sha256 %s\n' "$SECRET" >"$T/tsig.keys"
chmod 600 "$T/tsig.keys"
start_dnsd --tsig-keys "$T/tsig.keys" --allow-transfer "127.0.0.1 key xfr-key" || finish
kdig @127.0.0.1 -p "$PORT" -y "hmac-sha256:xfr-key:$SECRET" "$ZONE" AXFR >"$T/signed" 2>&1
expect_match "signed AXFR of 3,000 domains: many messages, every one verified" \
	"$(grep -E '^;; Received' "$T/signed")" 'Received [0-9]+ B \(([2-9]|[1-9][0-9]+) messages'
expect "signed AXFR: no error" "$(grep -c ';; ERROR\|failed' "$T/signed")" 0
expect "unsigned AXFR where a key is required: REFUSED" "$(xstatus 127.0.0.1 "$PORT" "$ZONE" AXFR tcp)" REFUSED
kdig @127.0.0.1 -p "$PORT" -y "hmac-sha256:xfr-key:$(openssl rand -base64 32)" "$ZONE" AXFR >"$T/bad" 2>&1
expect_match "AXFR signed with the wrong secret: nothing transferred" "$(grep -E '^;; Received' "$T/bad")" 'Received 0 B'
expect_match "... logged as BADSIG" "$(grep -c 'refused: TSIG BADSIG' "$T/dnsd.log")" '^[1-9]'
expect "a signed SOA query gets a signed answer" \
	"$(kdig @127.0.0.1 -p "$PORT" -y "hmac-sha256:xfr-key:$SECRET" "$ZONE" SOA | grep -c 'TSIG.*NOERROR')" 1
finish
