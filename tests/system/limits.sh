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

finish
