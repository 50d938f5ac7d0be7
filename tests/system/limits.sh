#!/bin/bash
# limits: one limit for each key size and each policy value, in every path a
# value comes in by (dnsdctl's commands, the CSV import, rows written by SQL),
# so that nothing is shown as set while DNS cannot serve it (issue 12, point 6).
. "$(dirname "$0")/lib"

# spki BITS: base64 of an RSA SubjectPublicKeyInfo with a modulus of BITS bits:
# a p= value of that size (its private half is never needed here).
spki() {
	"$PY" - "$1" <<'EOF'
import base64, os, sys
bits = int(sys.argv[1])
def tlv(tag, body):
    n = len(body)
    ln = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + ln + body
def integer(v):
    return tlv(2, v.to_bytes(v.bit_length() // 8 + 1, "big"))
n = (1 << (bits - 1)) | (int.from_bytes(os.urandom(bits // 8), "big") % (1 << (bits - 1))) | 1
alg = bytes.fromhex("300d06092a864886f70d0101010500")
print(base64.b64encode(tlv(0x30, alg + tlv(3, b"\0" + tlv(0x30, integer(n) + integer(65537))))).decode())
EOF
}
keys_rows() { sqlite3 "$DB" "SELECT count(*) FROM keys"; }
key_files() { find "$KEYS" -name '*.pem' | wc -l; }

new_store
ctl domain add example.com --tenant acme >/dev/null
TOK=$(token example.com)

# ---- key sizes: RSA 1024..4096 bits, Ed25519 32 bytes, in every path ----
# A 4608-bit key: four primes make it in well under a second.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4608 -pkeyopt rsa_keygen_primes:4 \
	-out "$T/big.pem" 2>/dev/null
k0=$(keys_rows) f0=$(key_files)
out=$(ctl key import example.com --file "$T/big.pem" 2>&1); rc=$?
expect "key import of a 4608-bit RSA key: refused (exit 1)" "$rc" 1
expect_match "key import of a 4608-bit RSA key: says the limit" "$out" "4608-bit RSA key; .*at most 4096 bits"
expect "key import refused: no key row, no key file" "$(keys_rows) $(key_files)" "$k0 $f0"

printf 'domain,tenant,private_key\nbig.example,acme,%s\n' "$T/big.pem" >"$T/priv.csv"
out=$(ctl import "$T/priv.csv" 2>&1); rc=$?
expect "CSV import of a 4608-bit private key: refused (exit 1)" "$rc" 1
expect_match "CSV import of a 4608-bit private key: says the limit" "$out" "line 2: .*4608-bit RSA key; .*at most 4096"

# The key that was found: 12288 bits, shown active while DNS answered p= (its
# p= is over the 2,048 characters dnsd serves).
HUGE=$(spki 12288)
printf 'domain,tenant,public_key\nhuge.example,acme,%s\n' "$HUGE" >"$T/huge.csv"
out=$(ctl import "$T/huge.csv" 2>&1); rc=$?
expect "CSV import of a 12288-bit public key (${#HUGE} characters): refused (exit 1)" "$rc" 1
expect_match "CSV import of a 12288-bit public key: says the limit" "$out" "12288-bit RSA key; .*at most 4096"
expect "CSV imports refused: no domain, no key row, no key file" \
	"$(sqlite3 "$DB" "SELECT count(*) FROM domains") $(keys_rows) $(key_files)" "1 $k0 $f0"

# The limits themselves are allowed, on both sides.
printf 'domain,tenant,public_key\nr4096.example,acme,%s\nr1024.example,acme,%s\n' "$(spki 4096)" "$(spki 1024)" \
	>"$T/edge.csv"
check "CSV import of 4096- and 1024-bit public keys: accepted" ctl import "$T/edge.csv"
expect "and stored under their sizes" \
	"$(sqlite3 "$DB" "SELECT group_concat(a, ' ') FROM (SELECT k.algorithm AS a FROM keys k
	                  JOIN slots s ON s.id = k.slot_id JOIN domains d ON d.id = s.domain_id
	                  WHERE d.name LIKE 'r%.example' ORDER BY d.name)")" \
	"rsa-1024 rsa-4096"
check_fails "generating a key over the limit is refused" ctl key rotate example.com --algorithm rsa-8192

# ---- policy values: at most 2,048 characters (SPF, MX, DMARC; every level) ----
pol_rows() { sqlite3 "$DB" "SELECT count(*), ifnull(sum(length(value)), 0) FROM policies"; }
p0=$(pol_rows)
# Like the value that was found: 76,411 characters of DMARC, set on a tenant.
BIGDMARC=$("$PY" -c 'print("v=DMARC1; p=none; rua=" + ",".join("mailto:r%04d@reports.example.net" % i for i in range(2370)))')
for level in "" "--tenant acme" "--domain example.com"; do
	out=$(ctl dmarc set $level "$BIGDMARC" 2>&1); rc=$?
	expect "dmarc set ${level:-(global)} of ${#BIGDMARC} characters: refused (exit 1)" "$rc" 1
	expect_match "dmarc set ${level:-(global)}: says the limit" "$out" "${#BIGDMARC} characters, over the limit of 2048"
done
MXPAD="10 bounce.$ZONE.$(printf '%2100s' '')"
out=$(ctl mx set --tenant acme "$MXPAD" 2>&1); rc=$?
expect "mx set of 2,100 characters (mostly blanks): refused (exit 1)" "$rc" 1
expect_match "mx set: says the limit" "$out" "over the limit of 2048"
expect "refused values: nothing written" "$(pol_rows)" "$p0"

# ---- SPF terms that point into the hosted zone are checked as include: is ----
spf_refused() {
	local d=$1 v=$2 want=$3 out rc
	out=$(ctl spf set --domain example.com "$v" 2>&1); rc=$?
	expect "spf set '$v': refused (exit 1), $d" "$rc" 1
	expect_match "spf set '$v': says why" "$out" "$want"
}
spf_refused "the name comes from macros" "v=spf1 exists:%{i}._spf.$ZONE -all" "from macros"
spf_refused "the name comes from macros" "v=spf1 a:%{d}.$ZONE -all" "from macros"
spf_refused "the name comes from macros" "v=spf1 redirect=%{d}.$ZONE" "from macros"
spf_refused "no A or AAAA there" "v=spf1 a:nohost.$ZONE -all" "no A or AAAA record at 'nohost.$ZONE.'"
spf_refused "no MX there" "v=spf1 mx:_spf.$ZONE -all" "no MX record at '_spf.$ZONE.'"
spf_refused "no A there" "v=spf1 exists:_spf.$ZONE -all" "no A record"
spf_refused "ptr into the zone" "v=spf1 ptr:$ZONE -all" "ptr"
expect "refused SPF values: nothing written" "$(pol_rows)" "$p0"
check "a: naming a host the zone file has is accepted" \
	ctl spf set --domain example.com "v=spf1 a:bounce.$ZONE include:_spf.$ZONE -all"
check "mx: naming a Return-Path name (its MX is the bounce MX) is accepted" \
	ctl spf set --domain example.com "v=spf1 mx:$TOK.rp.$ZONE include:_spf.$ZONE -all"
check "exists: with macros outside the zone is accepted" \
	ctl spf set --domain example.com "v=spf1 exists:%{i}._spf.%{d} include:_spf.$ZONE -all"

# ---- rows written by SQL: one bad row never takes the others down ----
# foreign_sql SQL: one batch as the platform's own code writes it (schema.md),
# past the schema's checks as any writer can go (PRAGMA ignore_check_constraints).
foreign_sql() {
	sqlite3 "$DB" "PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = ON; BEGIN IMMEDIATE; $1;
		UPDATE journal SET serial = max((SELECT value FROM serial WHERE id = 1) + 1, unixepoch())
		 WHERE serial > (SELECT value FROM serial WHERE id = 1);
		UPDATE serial SET value = (SELECT max(serial) FROM journal)
		 WHERE id = 1 AND (SELECT max(serial) FROM journal) > value;
		COMMIT;"
}
served() { [ "$(q "$@")" != "" ]; }
ctl tenant add beta >/dev/null
ctl domain add beta.example --tenant beta --algorithm ed25519 >/dev/null
BTOK=$(token beta.example)
# A global MX with a tab, which the MX check allows (dnsd could not build it).
check "mx set with a tab between preference and host: accepted" ctl mx set "$(printf '10\tbounce.%s.' "$ZONE")"
if start_dnsd; then ok "dnsd starts with the MX set with a tab"; else not_ok "dnsd starts with the MX set with a tab"; finish; fi
expect "dnsd serves the MX set with a tab" "$(q MX "$TOK.rp.$ZONE")" "10 bounce.$ZONE."
expect "beta.example's DMARC is the global one" "$(q TXT "$BTOK.dmarc.$ZONE")" '"v=DMARC1; p=none; rua=mailto:dmarc@'"$ZONE"'"'

foreign_sql "INSERT INTO policies(tenant_id, kind, value, updated_at)
	SELECT id, 'dmarc', '$BIGDMARC', unixepoch() FROM tenants WHERE name = 'beta'"
expect "the DMARC row of ${#BIGDMARC} characters is in the store" \
	"$(sqlite3 "$DB" "SELECT length(value) FROM policies p JOIN tenants t ON t.id = p.tenant_id WHERE t.name = 'beta'")" \
	"${#BIGDMARC}"
foreign_sql "UPDATE keys SET public_key = '$HUGE', algorithm = 'rsa-12288'
	WHERE slot_id = (SELECT s.id FROM slots s JOIN domains d ON d.id = s.domain_id
	                 WHERE d.name = 'example.com' AND s.selector = 'esp1')"
ctl spf set --domain beta.example "v=spf1 ip4:198.51.100.7 -all" >/dev/null
wait_for "a later change (beta.example's SPF) is served: dnsd still applies changes" 5 \
	served TXT "$BTOK.rp.$ZONE" +short
expect "beta.example's SPF is the new one" "$(q TXT "$BTOK.rp.$ZONE")" '"v=spf1 ip4:198.51.100.7 -all"'
expect "beta.example's DMARC name: NODATA (its tenant's value is not served)" \
	"$(status TXT "$BTOK.dmarc.$ZONE")/$(q TXT "$BTOK.dmarc.$ZONE")" "NOERROR/"
expect "example.com (tenant acme) keeps the global DMARC" "$(q TXT "$TOK.dmarc.$ZONE")" \
	'"v=DMARC1; p=none; rua=mailto:dmarc@'"$ZONE"'"'
expect "the 12288-bit key's selector: NODATA, not a key and not p=" \
	"$(status TXT "esp1.$TOK.dkim.$ZONE")/$(q TXT "esp1.$TOK.dkim.$ZONE")" "NOERROR/"
expect_match "example.com's other slots still answer" "$(q TXT "esp2.$TOK.dkim.$ZONE")" '^"v=DKIM1; p="$'
ctl domain add later.example --tenant acme >/dev/null
wait_for "a domain added after the bad rows is served" 5 served TXT "esp1.$(token later.example).dkim.$ZONE"
expect "the DMARC row is logged once" "$(grep -c 'policy row .* (tenant [0-9]* dmarc) not served' "$T/dnsd.log")" 1
expect_match "the log names the limit" "$(grep 'dmarc) not served' "$T/dnsd.log")" \
	"${#BIGDMARC} characters, over the limit of 2048"
expect "the key row is logged once" "$(grep -c 'example.com selector esp1: key [0-9]* not served' "$T/dnsd.log")" 1
expect_match "the log says why the key is refused" "$(grep 'selector esp1: key' "$T/dnsd.log")" "12288-bit RSA key"
stop_dnsd
: >"$T/dnsd.log"
check "a fresh dnsd starts on the store with the bad rows" start_dnsd
expect "and serves the valid rows" "$(q TXT "$BTOK.rp.$ZONE")" '"v=spf1 ip4:198.51.100.7 -all"'
expect "and answers NODATA for the bad row's names" "$(status TXT "$BTOK.dmarc.$ZONE")/$(q TXT "$BTOK.dmarc.$ZONE")" "NOERROR/"
expect "and logs each bad row once" \
	"$(grep -c 'not served' "$T/dnsd.log")" 2

finish
