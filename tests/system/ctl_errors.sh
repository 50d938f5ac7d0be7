#!/bin/bash
# ctl_errors: bad input to dnsdctl. Every refused command must exit non-zero (2 for
# usage errors), say why on stderr (a key phrase is checked), print nothing on
# stdout, and change nothing: the store's full dump and the key directory's
# listing are compared before and after. Then the good paths print what they
# claim, in forms that parse (JSON, master-file lines, the table).
. "$(dirname "$0")/lib"

new_store || { echo "new_store failed"; finish; }
ctl domain add example.com --tenant acme >/dev/null || { echo "domain add failed"; finish; }
ctl domain add gone.example --tenant acme >/dev/null || { echo "domain add failed"; finish; }
TOK=$(token example.com)
GONE_TOK=$(token gone.example)
ctl domain remove gone.example >/dev/null || { echo "domain remove failed"; finish; }

snapshot() { # FILE: the store's content and the key directory's listing
	{
		sqlite3 "$DB" .dump 2>&1
		echo "--- keys:"
		ls -RA "$KEYS" 2>&1
		find "$KEYS" -type f -exec sha256sum {} + 2>&1 | sort
	} >"$1"
}

# refuses DESC RC PHRASE CMD...: CMD must fail with exit RC ("nz": any 1..125),
# a stderr matching PHRASE (extended regex, case-insensitive), an empty stdout,
# and leave the store and the key directory as they were.
refuses() {
	local d=$1 want=$2 phrase=$3 rc why=""
	shift 3
	snapshot "$T/before"
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	snapshot "$T/after"
	if [ "$want" = nz ]; then
		if [ "$rc" -eq 0 ]; then why="$why exit 0 (it succeeded);"
		elif [ "$rc" -gt 125 ]; then why="$why exit $rc (crashed?);"; fi
	elif [ "$rc" -ne "$want" ]; then
		why="$why exit $rc, want $want;"
	fi
	grep -Eiq -- "$phrase" "$T/err" || why="$why stderr lacks /$phrase/;"
	[ -s "$T/out" ] && why="$why stdout not empty;"
	cmp -s "$T/before" "$T/after" || why="$why the store or key directory changed;"
	if [ -z "$why" ]; then
		ok "$d"
	else
		not_ok "$d:$why"
		echo "    command: $*"
		sed 's/^/    stderr: /' "$T/err" | head -5
		sed 's/^/    stdout: /' "$T/out" | head -5
		diff "$T/before" "$T/after" | head -10 | sed 's/^/    diff: /'
	fi
}

L63=$(printf 'a%.0s' $(seq 1 63))
L64=${L63}a
N254="$L63.$L63.$L63.$(printf 'b%.0s' $(seq 1 62))"   # 254 characters

echo "# invalid domain names"
refuses "domain with a space" nz "not a letter, digit or hyphen" ctl domain add "exa mple.com" --tenant acme
refuses "domain with an empty label a..b" nz "empty label" ctl domain add "a..b.example" --tenant acme
refuses "domain with a leading dot" nz "empty label" ctl domain add ".b.example" --tenant acme
refuses "empty domain" nz "empty" ctl domain add "" --tenant acme
refuses "domain with a 64-character label" nz "longer than 63" ctl domain add "$L64.example" --tenant acme
refuses "domain of ${#N254} characters" nz "over the limit of 253|too long" ctl domain add "$N254" --tenant acme
refuses "domain of ${#N254} characters with a trailing dot" nz "over the limit of 253|too long" ctl domain add "$N254." --tenant acme
# The longest name a domain D brings is D._report._dmarc.Z: 33 more characters
# than D here, so D may have 220 (253 in all) and not 221.
D220="$L63.$L63.$L63.$(printf 'c%.0s' $(seq 1 20)).example"
D221="$L63.$L63.$L63.$(printf 'c%.0s' $(seq 1 21)).example"
refuses "domain of ${#D221} characters: D._report._dmarc.Z would pass 253" nz "too long" ctl domain add "$D221" --tenant acme --algorithm ed25519
refuses "single-label domain localhost" nz "two labels" ctl domain add localhost --tenant acme
refuses "domain with a leading hyphen" nz "hyphen" ctl domain add "-foo.example" --tenant acme
refuses "domain with a trailing hyphen in a label" nz "hyphen" ctl domain add "foo-.example" --tenant acme
refuses "domain with an underscore" nz "not a letter, digit or hyphen" ctl domain add "foo_bar.example" --tenant acme
refuses "non-ASCII domain" nz "not a letter, digit or hyphen" ctl domain add "bücher.example" --tenant acme
refuses "all-numeric TLD" nz "all digits" ctl domain add "example.123" --tenant acme
refuses "domain inside the hosted zone" nz "inside the hosted zone" ctl domain add "x.$ZONE" --tenant acme
refuses "the hosted zone itself" nz "inside the hosted zone" ctl domain add "$ZONE" --tenant acme
refuses "inside the hosted zone, other case, trailing dot" nz "inside the hosted zone" ctl domain add "X.AUTH.Demo.Example." --tenant acme

echo "# tenants and duplicates"
refuses "unknown tenant" nz "no tenant 'nobody'" ctl domain add new.example --tenant nobody
refuses "domain list: unknown tenant" nz "no tenant 'nobody'" ctl domain list --tenant nobody
refuses "api-token list: unknown tenant" nz "no tenant 'nobody'" ctl api-token list --tenant nobody
refuses "duplicate tenant" nz "already exists" ctl tenant add acme
refuses "tenant name with a space" nz "invalid tenant name" ctl tenant add "bad name"
refuses "empty tenant name" nz "invalid tenant name" ctl tenant add ""
refuses "tenant name with a slash" nz "invalid tenant name" ctl tenant add "a/b"
refuses "tenant name of 65 characters" nz "invalid tenant name" ctl tenant add "$(printf 't%.0s' $(seq 1 65))"
refuses "duplicate domain" nz "already exists" ctl domain add example.com --tenant acme
refuses "duplicate domain, other case and trailing dot" nz "already exists" ctl domain add EXAMPLE.Com. --tenant acme
refuses "tenant remove while it has domains" nz "still has" ctl tenant remove acme
refuses "domain remove of an unknown domain" nz "no domain" ctl domain remove nowhere.example
refuses "domain remove of a removed domain" nz "no domain" ctl domain remove gone.example

echo "# tokens"
refuses "token of an existing domain" nz "already used" ctl domain add new.example --tenant acme --token "$TOK"
refuses "token of a removed domain" nz "already used" ctl domain add new.example --tenant acme --token "$GONE_TOK"
refuses "removed domain re-added with its old token" nz "already used" ctl domain add gone.example --tenant acme --token "$GONE_TOK"
refuses "token in upper case" nz "invalid token" ctl domain add new.example --tenant acme --token "${TOK^^}"
refuses "token too short" nz "invalid token" ctl domain add new.example --tenant acme --token abcdefg
refuses "token with a digit outside base32" nz "invalid token" ctl domain add new.example --tenant acme --token abcdefghijklmno1
refuses "token too long" nz "invalid token" ctl domain add new.example --tenant acme --token "${TOK}a"

echo "# algorithms"
refuses "unknown algorithm dsa" nz "unknown algorithm 'dsa'" ctl domain add new.example --tenant acme --algorithm dsa
refuses "rsa-1024 (RFC 8301)" nz "rsa-1024 is too weak" ctl domain add new.example --tenant acme --algorithm rsa-1024
refuses "rsa-512" nz "algorithm 'rsa-512'" ctl domain add new.example --tenant acme --algorithm rsa-512

echo "# SPF"
refuses "SPF with a bad version" nz "v=spf1" ctl spf set "v=spf2 -all"
refuses "SPF with an unknown mechanism" nz "unknown mechanism 'ipv4:192.0.2.1'" ctl spf set "v=spf1 ipv4:192.0.2.1 -all"
refuses "SPF with a bad ip4" nz "bad IPv4 address" ctl spf set "v=spf1 ip4:192.0.2.300 -all"
refuses "SPF with a bad ip4 prefix length" nz "CIDR" ctl spf set "v=spf1 ip4:192.0.2.0/33 -all"
refuses "SPF with a bad ip6" nz "bad IPv6 address" ctl spf set --tenant acme "v=spf1 ip6:2001:db8::zz -all"
refuses "SPF include: of a zone name with no SPF" nz "has no SPF record" ctl spf set "v=spf1 include:bounce.$ZONE -all"
refuses "SPF include: of a zone name that does not exist" nz "has no SPF record" ctl spf set --domain example.com "v=spf1 include:nospf.$ZONE -all"
refuses "SPF with 11 a terms" nz "over the limit of 10" ctl spf set "v=spf1 a a a a a a a a a a a -all"
# Nested includes inside the zone: a zone file whose _n1 includes _n2.
sed '/^_dmarc/d' "$ZONEFILE" >"$T/nested.zone"
cat >>"$T/nested.zone" <<EOF
_n1 IN TXT "v=spf1 a a a a a include:_n2.$ZONE. -all"
_n2 IN TXT "v=spf1 a a a a a -all"
EOF
refuses "SPF over 10 lookups via nested includes in the zone file (12)" nz "over the limit of 10" \
	ctl --zone-file "$T/nested.zone" spf set "v=spf1 include:_n1.$ZONE -all"
# Nested through another customer's Return-Path name: its 10 plus this include.
check "a domain SPF of exactly 10 lookups is accepted" ctl spf set --domain example.com "v=spf1 a a a a a a a a a include:_spf.$ZONE -all"
ctl domain add other.example --tenant acme >/dev/null
refuses "SPF over 10 lookups via include: of another domain's T.rp name (11)" nz "over the limit of 10" \
	ctl spf set --domain other.example "v=spf1 include:$TOK.rp.$ZONE -all"
# A tenant or global SPF that includes a domain inheriting it would include itself.
OTOK=$(token other.example)
refuses "tenant SPF including a domain that inherits it (a loop)" nz "include loop" \
	ctl spf set --tenant acme "v=spf1 include:$OTOK.rp.$ZONE -all"
refuses "global SPF including a domain that inherits it (a loop)" nz "include loop" \
	ctl spf set "v=spf1 include:$OTOK.rp.$ZONE -all"
refuses "spf set with --tenant and --domain both" 2 "not both" ctl spf set --tenant acme --domain example.com "v=spf1 -all"
refuses "spf set for an unknown domain" nz "no domain" ctl spf set --domain nowhere.example "v=spf1 -all"
refuses "spf set for an unknown tenant" nz "no tenant" ctl spf set --tenant nobody "v=spf1 -all"

echo "# DMARC and MX"
refuses "DMARC without p=" nz "p= is required" ctl dmarc set "v=DMARC1"
refuses "DMARC with a bad p value" nz "p='maybe'" ctl dmarc set "v=DMARC1; p=maybe"
refuses "DMARC with pct=200" nz "pct" ctl dmarc set "v=DMARC1; p=none; pct=200"
refuses "DMARC with a rua that is not mailto:" nz "mailto" ctl dmarc set "v=DMARC1; p=none; rua=dmarc@example.com"
refuses "DMARC with a rua without an address" nz "rua" ctl dmarc set --tenant acme "v=DMARC1; p=none; rua=mailto:nobody"
refuses "DMARC with a bad version" nz "DMARC1" ctl dmarc set "v=DMARC2; p=none"
refuses "MX without a preference" nz "PREFERENCE HOST" ctl mx set "bounce.example.com"
refuses "MX with preference 70000" nz "65535" ctl mx set "70000 bounce.example.com."
refuses "MX with an underscore host" nz "not a letter, digit or hyphen" ctl mx set --domain example.com "10 bad_host.example.com."
refuses "MX with a host listed twice" nz "listed twice" ctl mx set "10 a.example., 20 a.example."
refuses "empty MX" nz "empty" ctl mx set ""

echo "# the environment"
echo "not a directory" >"$T/file"
refuses "key directory under a regular file" nz "key directory.*not a directory" \
	"$DNSDCTL" --db "$DB" --keys "$T/file/keys" domain add new.example --tenant acme
refuses "key directory that is a regular file" nz "key directory.*not a directory" \
	"$DNSDCTL" --db "$DB" --keys "$T/file" domain add new.example --tenant acme
check "the regular file is untouched" test "$(cat "$T/file")" = "not a directory"
refuses "missing store (--db /nonexistent/x.db)" nz "init" "$DNSDCTL" --db /nonexistent/x.db tenant add foo
refuses "missing store in an existing directory" nz "no store.*init" "$DNSDCTL" --db "$T/absent.db" domain list
check "the missing store was not created" test ! -e "$T/absent.db"
head -c 65536 /dev/urandom >"$T/corrupt.db"
cp "$T/corrupt.db" "$T/corrupt.orig"
refuses "corrupt store (random bytes)" nz "not a (readable dnsd store|database)" "$DNSDCTL" --db "$T/corrupt.db" tenant add foo
refuses "corrupt store, init" nz "not a (readable dnsd store|database)" "$DNSDCTL" --db "$T/corrupt.db" init --zone "$ZONE"
check "the corrupt file is untouched" cmp "$T/corrupt.db" "$T/corrupt.orig"
refuses "init with another zone on this store" nz "already serves zone" ctl init --zone other.example
refuses "init with an invalid zone name" nz "invalid zone name" ctl init --zone "bad zone"
refuses "init with --slots 99" nz "slots" ctl init --zone "$ZONE" --slots 99

echo "# usage errors: exit 2"
refuses "unknown command" 2 "unknown command 'frobnicate'" ctl frobnicate
refuses "unknown option" 2 "unknown option --frob" ctl --frob status
refuses "unknown subcommand" 2 "tenant add" ctl tenant frob
refuses "option without its value" 2 "needs a value" ctl domain add new.example --tenant
refuses "domain add without --tenant" 2 "needs --tenant" ctl domain add new.example
refuses "unknown --format" 2 "format" ctl domain records example.com --format yaml
refuses "no command" 2 "no command" ctl

echo "# a store locked by another writer"
rm -f "$T/locked"
(echo 'BEGIN IMMEDIATE;'; echo ".shell touch $T/locked"; sleep 6.5; echo 'COMMIT;') | sqlite3 "$DB" >/dev/null 2>&1 &
LOCKER=$!
for _ in $(seq 1 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
check "the other writer holds the lock" test -e "$T/locked"
snapshot "$T/lock.before"
t0=$(date +%s%N)
ctl tenant add locked1 >"$T/l1.out" 2>"$T/l1.err" & P1=$!
ctl spf set "v=spf1 -all" >"$T/l2.out" 2>"$T/l2.err" & P2=$!
ctl domain add locked.example --tenant acme --algorithm ed25519 >"$T/l3.out" 2>"$T/l3.err" & P3=$!
RCS=()
for p in $P1 $P2 $P3; do wait "$p"; RCS+=($?); done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait $LOCKER
snapshot "$T/lock.after"
for i in 1 2 3; do
	what=$(case $i in 1) echo "tenant add" ;; 2) echo "spf set" ;; 3) echo "domain add" ;; esac)
	expect "locked store: $what exits 5 (busy: try again)" "${RCS[i - 1]}" 5
	expect_match "locked store: $what says the store is locked, try again" "$(cat "$T/l$i.err")" "locked.*busy: try again"
	expect "locked store: $what prints nothing on stdout" "$(cat "$T/l$i.out")" ""
done
check "locked store: waited about the 5 s busy timeout (${ms} ms), not forever" test "$ms" -ge 4000 -a "$ms" -lt 7500
check "locked store: store unchanged" cmp -s <(sed '/^--- keys:/q' "$T/lock.before") <(sed '/^--- keys:/q' "$T/lock.after")
if ! cmp -s "$T/lock.before" "$T/lock.after"; then
	not_ok "locked store: key directory unchanged"
	diff "$T/lock.before" "$T/lock.after" | head -10 | sed 's/^/    diff: /'
else
	ok "locked store: key directory unchanged"
fi

echo "# good paths print what they claim"
snapshot "$T/g.before"
expect "tenant add prints it" "$(ctl tenant add beta 2>&1)" "tenant beta added"
expect "the tenant is in the store" "$(sqlite3 "$DB" "SELECT count(*) FROM tenants WHERE name = 'beta'")" 1
expect_match "tenant list --json parses and lists it" \
	"$(ctl tenant list --json | "$PY" -c 'import json,sys; print(sorted(t["name"] for t in json.load(sys.stdin)))' 2>&1)" "'beta'"

# table, zone and json: each names the same five CNAMEs as 'domain records --json'.
ctl domain add good-table.example --tenant beta >"$T/table.out" 2>"$T/table.err"
expect "domain add (table) exits 0 with no stderr" "$?:$(cat "$T/table.err")" "0:"
ctl domain add good-zone.example --tenant beta --format zone >"$T/zone.out" 2>"$T/zone.err"
expect "domain add --format zone exits 0 with no stderr" "$?:$(cat "$T/zone.err")" "0:"
ctl domain add good-json.example --tenant beta --algorithm ed25519 --format json >"$T/json.out" 2>"$T/json.err"
expect "domain add --format json exits 0 with no stderr" "$?:$(cat "$T/json.err")" "0:"
ctl domain add good-json2.example --tenant beta --json >"$T/json2.out" 2>&1
for d in good-table good-zone good-json good-json2; do
	ctl domain records "$d.example" --json >"$T/$d.rec.json"
done
check "zone lines parse with ldns-read-zone" ldns-read-zone "$T/zone.out"
expect "ldns-read-zone reads 5 CNAMEs" "$(ldns-read-zone "$T/zone.out" 2>/dev/null | awk '$4 == "CNAME"' | wc -l)" 5

cmp_records() { # FORMAT OUTPUT RECORDS_JSON DOMAIN TENANT: the output's records equal records --json
	"$PY" - "$@" <<'PYEOF'
import json, sys
fmt, out, recf, domain, tenant = sys.argv[1:]
ref = json.load(open(recf))
want = sorted((r["name"], r["value"]) for r in ref["records"])
text = open(out).read()
tok = ref["token"]
assert ref["domain"] == domain and ref["tenant"] == tenant, ref
assert len(tok) == 16 and all(c in "abcdefghijklmnopqrstuvwxyz234567" for c in tok), tok
assert len(want) == 5, want
if fmt == "json":
    j = json.loads(text)
    assert j["domain"] == domain and j["tenant"] == tenant and j["token"] == tok, j
    assert all(r["type"] == "CNAME" for r in j["records"]), j
    got = sorted((r["name"], r["value"]) for r in j["records"])
elif fmt == "zone":
    import dns.zone, dns.rdatatype
    z = dns.zone.from_text(text, origin=".", relativize=False, check_origin=False)
    got = sorted((n.to_text(), rd.target.to_text()) for n, ttl, rd in z.iterate_rdatas(dns.rdatatype.CNAME))
    assert len(list(z.iterate_rdatas())) == 5, "records other than the 5 CNAMEs"
else:
    got = sorted((l.split()[1], l.split()[2]) for l in text.splitlines() if l.startswith("CNAME "))
for name, value in got:
    assert name.endswith("." + domain + "."), name
    assert value.endswith(".auth.demo.example.") and tok in value, value
assert got == want, (got, want)
print("ok")
PYEOF
}
expect "table: the records printed are the domain's" "$(cmp_records table "$T/table.out" "$T/good-table.rec.json" good-table.example beta 2>&1)" ok
expect "zone: the records parse (dnspython) and are the domain's" "$(cmp_records zone "$T/zone.out" "$T/good-zone.rec.json" good-zone.example beta 2>&1)" ok
expect "json: parses and the records are the domain's" "$(cmp_records json "$T/json.out" "$T/good-json.rec.json" good-json.example beta 2>&1)" ok
expect "--json alone: parses and the records are the domain's" "$(cmp_records json "$T/json2.out" "$T/good-json2.rec.json" good-json2.example beta 2>&1)" ok
expect "the domains are in the store" \
	"$(sqlite3 "$DB" "SELECT group_concat(n, ' ') FROM (SELECT d.name AS n FROM domains d JOIN tenants t ON t.id = d.tenant_id WHERE t.name = 'beta' ORDER BY d.name)")" \
	"good-json.example good-json2.example good-table.example good-zone.example"
check "domain of ${#D220} characters (D._report._dmarc.Z exactly 253) is accepted" \
	ctl domain add "$D220" --tenant acme --algorithm ed25519
expect "the ed25519 domain has an ed25519 key" \
	"$(ctl domain show good-json.example --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["slots"][0]["algorithm"])' 2>&1)" ed25519
for cmd in "status" "domain list" "domain show good-table.example" "tenant show beta" "spf show" "mx show --tenant beta" "dmarc show --domain good-zone.example"; do
	# shellcheck disable=SC2086
	check "$cmd --json parses" "$PY" -c 'import json,sys; json.loads(sys.stdin.read())' < <(ctl $cmd --json)
done


# The key lifecycle's commands refuse bad input the same way.
refuses "key rotate: unknown domain" 1 "no domain 'nowhere.example'" ctl key rotate nowhere.example
refuses "key rotate: a removed domain" 1 "no domain 'gone.example'" ctl key rotate gone.example
refuses "key rotate: bad role" 2 "--role is main or ed25519" ctl key rotate example.com --role rsa
refuses "key rotate: role the domain lacks" 1 "no Ed25519 pair slots" ctl key rotate example.com --role ed25519
refuses "key rotate: rsa-1024 is not generated" 1 "too weak" ctl key rotate example.com --algorithm rsa-1024
refuses "key rotate: unknown algorithm" 1 "unknown algorithm" ctl key rotate example.com --algorithm dsa
refuses "key rotate --all with a domain" 2 "takes no domain" ctl key rotate example.com --all
refuses "key rotate --all: bad --over" 1 "--over" ctl key rotate --all --over -3
refuses "key rotate --all: bad --older-than" 1 "--older-than" ctl key rotate --all --older-than soon
refuses "key revoke: no selector given" 2 "key revoke DOMAIN SELECTOR" ctl key revoke example.com
refuses "key revoke: unknown selector" 1 "no selector 'zz9'" ctl key revoke example.com zz9
refuses "key revoke: an empty slot" 1 "holds no key" ctl key revoke example.com esp3
refuses "key import: no --file" 2 "--file PEM" ctl key import example.com
refuses "key import: missing file" 1 "nothing was changed" ctl key import example.com --file "$T/none.pem"
echo "not a key" >"$T/junk.pem"
refuses "key import: not a key" 1 "PEM private key" ctl key import example.com --file "$T/junk.pem"
openssl genrsa -out "$T/weak.pem" 768 2>/dev/null
refuses "key import: RSA under 1024 bits" 1 "at least 1024 bits" ctl key import example.com --file "$T/weak.pem"
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
refuses "key import: a taken selector" 1 "already holds key" ctl key import example.com --file "$T/ed.pem" --selector esp1
refuses "key import: unknown selector" 1 "no selector 'nope'" ctl key import example.com --file "$T/ed.pem" --selector nope
refuses "key import: bad --active" 1 "--active is yes or no" ctl key import example.com --file "$T/ed.pem" --active maybe
refuses "key: unknown subcommand" 2 "key list\\|rotate" ctl key shred example.com
refuses "slot set: no --eligible" 2 "--eligible yes\\|no" ctl slot set example.com esp2
refuses "slot set: bad --eligible" 1 "--eligible is yes or no" ctl slot set example.com esp2 --eligible perhaps
refuses "slot set: unknown selector" 1 "no selector 'zz'" ctl slot set example.com zz --eligible no
refuses "ns add: bad address" 1 "invalid address" ctl ns add sec1 192.0.2.300
refuses "ns add: bad port" 1 "invalid address" ctl ns add sec1 127.0.0.1:70000
refuses "ns add: bad name" 1 "invalid name server name" ctl ns add 'a b' 127.0.0.1
refuses "ns remove: unknown" 1 "no name server 'sec9'" ctl ns remove sec9
refuses "maintain: bad --max-keys" 1 "--max-keys" ctl maintain --max-keys -1
refuses "tenant add: too many slots" 1 "--slots must be" ctl tenant add t9 --slots 9
refuses "tenant add: bad --ed25519" 1 "--ed25519 is yes or no" ctl tenant add t9 --ed25519 sometimes
refuses "tenant set: nothing to set" 2 "tenant set NAME" ctl tenant set acme
refuses "domain add: the pair beside ed25519 keys" 1 "ed25519 already" ctl domain add pair.example --tenant acme --algorithm ed25519 --ed25519 yes
refuses "domain add: 7 slots and the pair pass 8" 1 "pass the 8 slots" ctl domain add pair.example --tenant acme --slots 7 --ed25519 yes
refuses "init: key retention 0" 1 "--key-retention-days" ctl init --zone "$ZONE" --key-retention-days 0
refuses "init: bad --ed25519" 1 "--ed25519 is yes or no" ctl init --zone "$ZONE" --ed25519 maybe

finish
