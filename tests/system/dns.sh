#!/bin/bash
# dns: what resolvers must get from dnsd (DESIGN.md "What resolvers must get"):
# AA/RA/RD, REFUSED, NXDOMAIN and NODATA with the SOA at the negative TTL, empty
# non-terminals, case echo, EDNS0, truncation and TCP, long TXT records, both
# transports on both families, TCP pipelining, _report._dmarc, minimal ANY, zone
# files and stores dnsd must refuse, malformed messages. The data path (changes
# committed by dnsdctl while dnsd runs) is in live.sh.
. "$(dirname "$0")/lib"
DQ="$ROOT/tests/system/dnsq.py"
dq() { "$PY" "$DQ" "$PORT" "$@"; }
dq6() { "$PY" "$DQ" "$PORT6" "$@" --v6; }
# f KEY LINE: the value of KEY=... in a dnsq.py summary line.
f() {
	local w
	for w in $2; do case $w in "$1="*) printf '%s' "${w#*=}"; return ;; esac; done
}
# rfn LINE: rcode, flags and answer/authority counts of a summary line.
rfn() { echo "$(f rcode "$1") $(f flags "$1") an=$(f an "$1") ns=$(f ns "$1")"; }

new_store
ctl domain add example.com --tenant acme >/dev/null
ctl domain add big.example --tenant acme --algorithm rsa-4096 >/dev/null
ctl domain add ed.example --tenant acme --algorithm ed25519 >/dev/null
LONGSPF="v=spf1 $(for i in $(seq 1 80); do printf 'ip4:198.51.100.%d ' "$i"; done)-all"
ctl spf set --domain ed.example "$LONGSPF" >/dev/null
TOK=$(token example.com) BIG=$(token big.example) ED=$(token ed.example)
start_dnsd || finish

# The negative TTL (RFC 2308 §5): the smaller of the SOA's TTL and its MINIMUM.
read -r SOATTL SOAMIN <<<"$(dig @127.0.0.1 -p "$PORT" +noall +answer "$ZONE" SOA | awk '{print $2, $11}')"
NEG=$((SOATTL < SOAMIN ? SOATTL : SOAMIN))
expect "the apex SOA has the zone file's TTL and MINIMUM" "$SOATTL $SOAMIN" "$("$PY" -c '
import sys, dns.zone, dns.rdatatype
z = dns.zone.from_file(sys.argv[1], sys.argv[2], relativize=False)
rds = z.find_rdataset(sys.argv[2] + ".", dns.rdatatype.SOA)
print(rds.ttl, rds[0].minimum)' "$ZONEFILE" "$ZONE")"
NEGNS="ns=SOA/$ZONE./$NEG"

# 1. AA on zone answers, RA never, RD copied from the query.
s=$(dq sum "esp1.$TOK.dkim.$ZONE" TXT --norec)
expect "AA, no RD when the query has none (dynamic name)" "$(rfn "$s")" "NOERROR qr,aa an=TXT/1 ns=0"
s=$(dq sum "esp1.$TOK.dkim.$ZONE" TXT)
expect "AA, RD copied, no RA (dynamic name)" "$(rfn "$s")" "NOERROR qr,aa,rd an=TXT/1 ns=0"
s=$(dq sum "_spf.$ZONE" TXT --norec)
expect "AA, no RD (static name)" "$(rfn "$s")" "NOERROR qr,aa an=TXT/1 ns=0"
s=$(dq sum "_spf.$ZONE" TXT)
expect "AA, RD copied (static name)" "$(rfn "$s")" "NOERROR qr,aa,rd an=TXT/1 ns=0"
expect "dig +norec sees flags qr aa" \
	"$(dig @127.0.0.1 -p "$PORT" +norec "$TOK.rp.$ZONE" TXT | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p')" "qr aa"
expect "dig +rec sees flags qr aa rd" \
	"$(dig @127.0.0.1 -p "$PORT" +rec "$TOK.rp.$ZONE" TXT | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p')" "qr aa rd"

# 2. REFUSED outside the hosted zones, without AA.
for n in example.org demo.example "xauth.demo.example" .; do
	s=$(dq sum "$n" A)
	expect "REFUSED, no AA, for $n" "$(rfn "$s")" "REFUSED qr,rd an=0 ns=0"
done
expect "dig sees REFUSED for example.org" "$(status example.org TXT)" REFUSED

# 3. NXDOMAIN with the SOA at the negative TTL.
for n in "nope.dkim.$ZONE" "zzzzzzzzzzzzzzzz.rp.$ZONE" "zzzzzzzzzzzzzzzz.dkim.$ZONE" \
	"zzzzzzzzzzzzzzzz.dmarc.$ZONE" "esp9.$TOK.dkim.$ZONE" "x.esp1.$TOK.dkim.$ZONE" \
	"x.$TOK.rp.$ZONE" "unregistered.example._report._dmarc.$ZONE" "nope.$ZONE"; do
	s=$(dq sum "$n" TXT)
	expect "NXDOMAIN with SOA TTL $NEG for $n" "$(rfn "$s")" "NXDOMAIN qr,aa,rd an=0 $NEGNS"
done
expect "dig sees NXDOMAIN for an unknown selector" "$(status "esp9.$TOK.dkim.$ZONE" TXT)" NXDOMAIN

# 4. NODATA: an existing name with another type, and empty non-terminals (RFC 8020).
for nt in "$TOK.rp.$ZONE AAAA" "esp1.$TOK.dkim.$ZONE A" "esp2.$TOK.dkim.$ZONE MX" \
	"$TOK.dmarc.$ZONE A" "$TOK.dkim.$ZONE TXT" "dkim.$ZONE TXT" "rp.$ZONE TXT" \
	"dmarc.$ZONE TXT" "_report._dmarc.$ZONE TXT" "example.com._report._dmarc.$ZONE MX" \
	"com._report._dmarc.$ZONE TXT" "_spf.$ZONE AAAA" "$ZONE TXT"; do
	# shellcheck disable=SC2086
	s=$(dq sum $nt)
	expect "NODATA with SOA TTL $NEG for $nt" "$(rfn "$s")" "NOERROR qr,aa,rd an=0 $NEGNS"
done

# 5. Case-insensitive, echoing the question's case (RFC 4343).
MIXED="EsP1.${TOK^^}.DkIm.${ZONE^^}."
s=$(dq sum "$MIXED" TXT)
expect "mixed case: answered" "$(rfn "$s")" "NOERROR qr,aa,rd an=TXT/1 ns=0"
expect "mixed case: the question comes back as sent" "$(f q "$s")" "$MIXED"
expect "mixed case: the owner comes back as sent" "$(f owner "$s")" "$MIXED"
expect "mixed case: the same record as lowercase" "$(dq txt "$MIXED")" "$(dq txt "esp1.$TOK.dkim.$ZONE")"
s=$(dq sum "Example.COM._Report._DMARC.$ZONE" TXT)
expect "mixed case _report name: answered as sent" "$(rfn "$s") $(f owner "$s")" \
	"NOERROR qr,aa,rd an=TXT/1 ns=0 Example.COM._Report._DMARC.$ZONE."
s=$(dq sum "NoPe.DKIM.$ZONE" TXT)
expect "mixed case NXDOMAIN: the question as sent" "$(f rcode "$s") $(f q "$s")" "NXDOMAIN NoPe.DKIM.$ZONE."

# 6. EDNS0 (RFC 6891): OPT echoed with version 0 and the server's size, absent
# without one, DO copied, BADVERS for an unknown version.
s=$(dq sum "esp1.$TOK.dkim.$ZONE" TXT)
expect "EDNS query: OPT version 0, UDP size 1232" "$(f opt "$s")" "0/1232/-"
s=$(dq sum "esp1.$TOK.dkim.$ZONE" TXT --bufsize 4096)
expect "EDNS 4096 query: the server still says 1232" "$(f opt "$s")" "0/1232/-"
s=$(dq sum "nope.dkim.$ZONE" TXT)
expect "EDNS on a negative answer too" "$(f opt "$s")" "0/1232/-"
s=$(dq sum "esp1.$TOK.dkim.$ZONE" TXT --noedns)
expect "no EDNS in the query, no OPT in the answer" "$(f opt "$s")" "none"
s=$(dq sum "esp1.$TOK.dkim.$ZONE" TXT --do)
expect "DO bit copied" "$(f opt "$s")" "0/1232/do"
s=$(dq sum "example.org" TXT --do)
expect "DO bit copied on REFUSED" "$(f rcode "$s") $(f opt "$s")" "REFUSED 0/1232/do"
expect "dig +dnssec: do in the OPT flags" \
	"$(dig @127.0.0.1 -p "$PORT" +dnssec "esp1.$TOK.dkim.$ZONE" TXT | grep -c '^; EDNS: version: 0, flags: do; udp: 1232$')" 1
expect "dig +noedns: no OPT pseudosection" \
	"$(dig @127.0.0.1 -p "$PORT" +noedns "esp1.$TOK.dkim.$ZONE" TXT | grep -c 'OPT PSEUDOSECTION')" 0
s=$(dq sum "esp1.$TOK.dkim.$ZONE" TXT --edns-version 1)
expect "EDNS version 1: BADVERS, OPT version 0, no answer" "$(f rcode "$s") $(f an "$s") $(f opt "$s")" "BADVERS 0 0/1232/-"

# 7. Truncation. The whole answer over TCP is the reference for what fits.
BIGN="esp1.$BIG.dkim.$ZONE" SPFN="$ED.rp.$ZONE"
s=$(dq sum "$BIGN" TXT --noedns)
expect "RSA-4096 over UDP without EDNS: TC, no answer" "$(rfn "$s")" "NOERROR qr,aa,tc,rd an=0 ns=0"
check "RSA-4096 over UDP without EDNS: at most 512 bytes" test "$(f size "$s")" -le 512
expect "dig +noedns +ignore sees tc" \
	"$(dig @127.0.0.1 -p "$PORT" +noedns +ignore "$BIGN" TXT | sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p')" "qr aa tc rd"
for what in "RSA-4096 key:$BIGN" "${#LONGSPF}-octet SPF:$SPFN"; do
	n=${what#*:} what=${what%%:*}
	t=$(dq sum "$n" TXT --tcp)
	expect "$what over TCP: whole" "$(rfn "$t")" "NOERROR qr,aa,rd an=TXT/1 ns=0"
	full=$(f size "$t")
	for b in noedns 100 512 700 $((full - 1)) "$full" 1232 1233 4096; do
		if [ "$b" = noedns ]; then
			s=$(dq sum "$n" TXT --noedns) lim=512 need=$((full - 11)) # no OPT record
		else
			s=$(dq sum "$n" TXT --bufsize "$b") need=$full lim=$b
			[ "$lim" -lt 512 ] && lim=512
			[ "$lim" -gt 1232 ] && lim=1232
		fi
		check "$what over UDP ($b): never above $lim bytes" test "$(f size "$s")" -le "$lim"
		if [ "$need" -le "$lim" ]; then want="NOERROR qr,aa,rd an=TXT/1 ns=0"
		else want="NOERROR qr,aa,tc,rd an=0 ns=0"; fi
		expect "$what over UDP ($b): whole when its $need bytes fit in $lim, else TC and no answer" \
			"$(rfn "$s")" "$want"
	done
done
KEYFILE=$(ctl domain show big.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["slots"][0]["private_key"])')
PUB=$(openssl pkey -in "$KEYFILE" -pubout -outform DER | base64 -w0)
tx=$(dq txt "$BIGN" --tcp)
expect "RSA-4096 over TCP: p= is the public key of the private key file" "${tx#*value=}" "v=DKIM1; k=rsa; p=$PUB"
tx=$(dq6 txt "$BIGN" --tcp)
check "RSA-4096 over TCP on ::1: the same record" test "${tx#*value=}" = "v=DKIM1; k=rsa; p=$PUB"
KEYFILE=$(ctl domain show ed.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["slots"][0]["private_key"])')
EDPUB=$(openssl pkey -in "$KEYFILE" -pubout -outform DER | tail -c 32 | base64 -w0)
v="v=DKIM1; k=ed25519; p=$EDPUB"
expect "Ed25519: p= is the raw 32-byte public key" "$(dq txt "esp1.$ED.dkim.$ZONE")" "n=1 lens=${#v} value=$v"

# 8. Long TXT values: one record of 255-octet character-strings, the last shorter.
# txt_shape N: "n=1" and whether all strings but the last are 255 long, from dq txt.
txt_shape() {
	local ok=yes i L
	IFS=, read -ra L <<<"$(f lens "$1")"
	for ((i = 0; i < ${#L[@]} - 1; i++)); do [ "${L[i]}" = 255 ] || ok=no; done
	[ "${L[-1]}" -ge 1 ] && [ "${L[-1]}" -le 255 ] || ok=no
	echo "$(f n "$1") strings=${#L[@]} split255=$ok"
}
tx=$(dq txt "esp1.$TOK.dkim.$ZONE")
expect "RSA-2048 TXT: one record, 255-octet strings" "$(txt_shape "$tx")" "1 strings=2 split255=yes"
tx=$(dq txt "$BIGN" --tcp)
expect "RSA-4096 TXT: one record, 255-octet strings" "$(txt_shape "$tx")" "1 strings=$(((${#PUB} + 18 + 254) / 255)) split255=yes"
tx=$(dq txt "$SPFN" --tcp)
expect "${#LONGSPF}-octet SPF: one record, 255-octet strings" "$(txt_shape "$tx")" "1 strings=$(((${#LONGSPF} + 254) / 255)) split255=yes"
expect "${#LONGSPF}-octet SPF: the strings join to the value set" "${tx#*value=}" "$LONGSPF"

# 9. UDP and TCP on 127.0.0.1 and on ::1.
ref=$(dq txt "esp1.$TOK.dkim.$ZONE")
expect_match "reference answer" "$ref" '^n=1 lens=255,[0-9]+ value=v=DKIM1; k=rsa; p=MII'
expect "UDP on 127.0.0.1" "$(dq txt "esp1.$TOK.dkim.$ZONE")" "$ref"
expect "TCP on 127.0.0.1" "$(dq txt "esp1.$TOK.dkim.$ZONE" --tcp)" "$ref"
expect "UDP on ::1" "$(dq6 txt "esp1.$TOK.dkim.$ZONE")" "$ref"
expect "TCP on ::1" "$(dq6 txt "esp1.$TOK.dkim.$ZONE" --tcp)" "$ref"
s=$(dq6 sum "nope.dkim.$ZONE" TXT --tcp)
expect "NXDOMAIN over TCP on ::1" "$(rfn "$s")" "NXDOMAIN qr,aa,rd an=0 $NEGNS"
expect "dig over TCP on ::1" "$(dig @::1 -p "$PORT6" +tcp +short "$TOK.rp.$ZONE" TXT)" "\"v=spf1 include:_spf.$ZONE -all\""

# 10. TCP pipelining (RFC 7766 §6.2.1.1): queries written back-to-back on one
# connection are all answered, each matched by ID to its query.
NAMES=("esp1.$TOK.dkim.$ZONE" "$TOK.rp.$ZONE" "nope.$ZONE" "_spf.$ZONE" "$BIGN" "$SPFN"
	"esp2.$TOK.dkim.$ZONE" "example.com._report._dmarc.$ZONE" "dkim.$ZONE" "$TOK.dmarc.$ZONE"
	"esp1.$ED.dkim.$ZONE" "esp3.$BIG.dkim.$ZONE")
want=$(for n in "${NAMES[@]}"; do dq line "$n"; done)
got=$(dq pipeline "${NAMES[@]}")
expect "pipelined: ${#NAMES[@]} queries on one connection answered as one by one" "$got" "$want"
expect "pipelined: ${#NAMES[@]} answers" "$(printf '%s\n' "$got" | grep -c ' NOERROR \| NXDOMAIN ')" "${#NAMES[@]}"

# 11. _report._dmarc (RFC 7489 §7.1).
expect "_report._dmarc for a registered domain" "$(dq txt "example.com._report._dmarc.$ZONE")" "n=1 lens=8 value=v=DMARC1"
expect "_report._dmarc for each registered domain" "$(q big.example._report._dmarc."$ZONE" TXT)" '"v=DMARC1"'
s=$(dq sum "example.net._report._dmarc.$ZONE" TXT)
expect "_report._dmarc for an unregistered domain: NXDOMAIN" "$(rfn "$s")" "NXDOMAIN qr,aa,rd an=0 $NEGNS"

# 12. ANY (RFC 8482): answered, with at most one RRset, not all of them.
for n in "$TOK.rp.$ZONE" "$ZONE" "esp1.$TOK.dkim.$ZONE"; do
	s=$(dq sum "$n" ANY --tcp)
	expect_match "ANY at $n: NOERROR, AA, one RRset" "$(rfn "$s")" '^NOERROR qr,aa,rd an=[A-Z0-9]+/[0-9]+ ns=0$'
done
s=$(dq sum "$TOK.rp.$ZONE" ANY --tcp)
check "ANY at the rp name: not both TXT and MX" test "$(f an "$s")" != "TXT/1,MX/1" -a "$(f an "$s")" != "MX/1,TXT/1"
s=$(dq sum "nope.dkim.$ZONE" ANY)
expect "ANY at a missing name: NXDOMAIN" "$(rfn "$s")" "NXDOMAIN qr,aa,rd an=0 $NEGNS"

# 17. Garbage: dropped or FORMERR, QR always dropped, nothing stalls or crashes dnsd.
g=$(dq garbage)
expect "a message with QR set gets no reply" "$(printf '%s\n' "$g" | grep '^udp qr-set ')" "udp qr-set none"
expect "an empty datagram gets no reply" "$(printf '%s\n' "$g" | grep '^udp empty ')" "udp empty none"
expect "a short header gets no reply" "$(printf '%s\n' "$g" | grep '^udp short-header ')" "udp short-header none"
bad=$(printf '%s\n' "$g" | grep '^udp ' | grep -Ev ' (none|FORMERR qr)$')
expect "malformed questions: dropped or FORMERR" "$bad" ""
expect "a TCP query beside a stalled connection is answered" "$(printf '%s\n' "$g" | grep '^tcp-beside')" "tcp-beside-stalled NOERROR"
check "dnsd still runs after garbage" kill -0 "$DNSD_PID"
expect "UDP still answers after garbage" "$(dq txt "esp1.$TOK.dkim.$ZONE")" "$ref"
expect "TCP still answers after garbage" "$(dq txt "esp1.$TOK.dkim.$ZONE" --tcp)" "$ref"

expect "dnsd logged no error or warning" "$(grep -E ' dnsd (error|warning): ' "$T/dnsd.log")" ""
stop_dnsd

# 15. A zone file with names under the dynamic subtrees is refused, naming the name.
for name in foo.dkim dkim bar.rp x.dmarc example.com._report._dmarc Foo.DKim; do
	cp "$ZONEFILE" "$T/bad.zone"
	printf '%s IN TXT "x"\n' "$name" >>"$T/bad.zone"
	rm -f "$T/bad.ready"
	timeout 10 "$DNSD" --db "$DB" --zone "$T/bad.zone" --listen 127.0.0.1:0 --ready-file "$T/bad.ready" \
		>"$T/bad.out" 2>&1
	rc=$?
	check "zone file with $name.$ZONE: dnsd exits non-zero by itself" test "$rc" -ne 0 -a "$rc" -ne 124
	expect_match "zone file with $name.$ZONE: the message names it" "$(tr '[:upper:]' '[:lower:]' <"$T/bad.out")" \
		"$(printf '%s' "${name,,}" | sed 's/\./\\./g')\\.$ZONE"
	check "zone file with $name.$ZONE: never ready" test ! -s "$T/bad.ready"
done

# 16. A store with a newer schema is refused by dnsd and dnsdctl, saying so.
NEWER="$T/newer.db"
"$DNSDCTL" --db "$NEWER" --keys "$KEYS" init --zone "$ZONE" --zone-file "$ZONEFILE" >/dev/null
sqlite3 "$NEWER" 'PRAGMA user_version=99'
rm -f "$T/newer.ready"
timeout 10 "$DNSD" --db "$NEWER" --zone "$ZONEFILE" --listen 127.0.0.1:0 --ready-file "$T/newer.ready" >"$T/newer.out" 2>&1
rc=$?
check "schema 99: dnsd exits non-zero by itself" test "$rc" -ne 0 -a "$rc" -ne 124
expect_match "schema 99: dnsd says which version" "$(cat "$T/newer.out")" 'version 99'
for cmd in status "tenant add other" "domain list"; do
	# shellcheck disable=SC2086
	"$DNSDCTL" --db "$NEWER" --keys "$KEYS" $cmd >"$T/newer.out" 2>&1
	rc=$?
	check "schema 99: dnsdctl $cmd fails" test "$rc" -ne 0
	expect_match "schema 99: dnsdctl $cmd says which version" "$(cat "$T/newer.out")" 'version 99'
done
expect "schema 99: the store is left at version 99" "$(sqlite3 "$NEWER" 'PRAGMA user_version')" 99
finish
