#!/bin/bash
# firsthour: what a newcomer meets in the first hour. `make run` brings the dig its printed
# lines use; `init` then `domain add` with no policy set warns, on stderr after the records,
# about each name the customer is told to CNAME that dnsd answers with nothing (checked with
# dig against the real dnsd), `status` counts them, and `init --spf --mx --dmarc` sets the
# platform's policies at once, all or nothing.
. "$(dirname "$0")/lib"

# make run installs what its printed lines use.
out=$(make -s -n -C "$ROOT" run 2>/dev/null)
expect_match "make run installs bind9-dnsutils (dig)" "$out" 'install-deps .*bind9-dnsutils'
used=$(sed -n 's/^  \([a-z]*\) @127.*/\1/p' "$ROOT/tools/demo-run" | sort -u | tr '\n' ' ')
expect "the demo's printed lines use dig only" "$used" "dig "

# ---- no policy yet ----
ctl init --zone "$ZONE" --zone-file "$ZONEFILE" --selector-prefix esp >/dev/null
ctl tenant add acme >/dev/null
ctl domain add example.com --tenant acme >"$T/add.out" 2>"$T/add.err"
expect "domain add: exit 0" "$?" 0
TOK=$(token example.com)
expect "domain add: three warnings on stderr" "$(grep -c '^dnsdctl: warning: ' "$T/add.err")" 3
expect_match "... the Return-Path answers no SPF: run spf set" "$(cat "$T/add.err")" \
	"bounce\.example\.com\. -> $TOK\.rp\.$ZONE\. answers no SPF record yet: .*run 'dnsdctl spf set'"
expect_match "... nor MX: run mx set" "$(cat "$T/add.err")" "answers no MX record yet: .*run 'dnsdctl mx set'"
expect_match "... _dmarc answers no DMARC: run dmarc set" "$(cat "$T/add.err")" \
	"_dmarc\.example\.com\. -> $TOK\.dmarc\.$ZONE\. answers no DMARC record yet"
expect "the records are still printed on stdout" "$(grep -c ' CNAME\|^CNAME' "$T/add.out")" 5
check "stdout does not claim the policies are managed" sh -c "! grep -q 'SPF, MX and DMARC policies behind them' '$T/add.out'"
expect_match "stdout says not every name answers yet" "$(cat "$T/add.out")" "Not every name answers yet"

start_dnsd || finish
expect "what the warning says is true: the Return-Path has no TXT (NODATA)" \
	"$(status "$TOK.rp.$ZONE" TXT)/$(q "$TOK.rp.$ZONE" TXT)" "NOERROR/"
expect "... and no MX" "$(q "$TOK.rp.$ZONE" MX)" ""
expect "... _dmarc's target no TXT" "$(status "$TOK.dmarc.$ZONE" TXT)/$(q "$TOK.dmarc.$ZONE" TXT)" "NOERROR/"
expect_match "the DKIM key answers (no warning for it)" "$(q "esp1.$TOK.dkim.$ZONE" TXT)" '^"v=DKIM1; k=rsa; p=MII'

j=$(ctl domain records example.com --json 2>"$T/rec.err")
expect "records --json: the warnings in the JSON, not on stderr" "$(cat "$T/rec.err")" ""
expect "records --json: warnings by what is missing" \
	"$(echo "$j" | "$PY" -c 'import json,sys; print(" ".join(w["missing"] for w in json.load(sys.stdin)["warnings"]))')" "spf mx dmarc"
ctl domain add example.org --tenant acme >/dev/null 2>&1
s=$(ctl status)
expect_match "status: no SPF touches both domains" "$s" "warning: no SPF policy in force: 2 domain\(s\)' Return-Path answers no SPF \(example\.com, example\.org\); run 'dnsdctl spf set'"
expect "status: three warning lines" "$(echo "$s" | grep -c '^warning: ')" 3
expect "status --json: the warnings" \
	"$(ctl status --json | "$PY" -c 'import json,sys; print([(w["missing"], w["domains"], w["first"]) for w in json.load(sys.stdin)["warnings"]])')" \
	"[('spf', 2, ['example.com', 'example.org']), ('mx', 2, ['example.com', 'example.org']), ('dmarc', 2, ['example.com', 'example.org'])]"

# ---- the platform sets its policies: every name answers ----
ctl spf set "v=spf1 include:_spf.$ZONE -all" >/dev/null
ctl mx set "10 bounce.$ZONE." >/dev/null
expect "SPF and MX set: only the DMARC warning is left" \
	"$(ctl domain records example.com 2>&1 >/dev/null | grep -c 'warning')" 1
ctl dmarc set "v=DMARC1; p=none" >/dev/null
ctl domain records example.com >"$T/rec.out" 2>"$T/rec.err"
expect "all set: no warning" "$(cat "$T/rec.err")" ""
expect_match "all set: the policies are said to be managed" "$(cat "$T/rec.out")" "SPF, MX and DMARC policies behind them"
expect "status --json: no warning" "$(ctl status --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["warnings"])')" "[]"
wait_for "the Return-Path answers the SPF now" 5 sh -c "dig @127.0.0.1 -p $PORT +short $TOK.rp.$ZONE TXT | grep -q spf1"
expect "... and the MX" "$(q "$TOK.rp.$ZONE" MX)" "10 bounce.$ZONE."
# A domain whose key role has no active key (its key retired by SQL past dnsdctl): its
# selectors answer no key, and the text says only that.
sqlite3 "$DB" "UPDATE keys SET state = 'retired' WHERE state = 'active' AND slot_id IN (SELECT s.id FROM slots s JOIN domains d ON d.id = s.domain_id WHERE d.name = 'example.org')"
ctl domain records example.org >"$T/k.out" 2>"$T/k.err"
expect "no active key: a warning per selector of the role" "$(grep -c 'answers no DKIM key yet: its role has no active key' "$T/k.err")" 3
expect_match "... and the text says the keys, not the policies" "$(cat "$T/k.out")" "Some DKIM"
expect_match "status: the key role counted" "$(ctl status)" "warning: a key role with no active key: 1 domain\(s\)' DKIM selectors answer no key \(example\.org\)"
stop_dnsd

# ---- init --spf --mx --dmarc: at once, all or nothing ----
DB="$T/two.db"
ctl init --zone "$ZONE" --zone-file "$ZONEFILE" --spf "v=spf1 -all" --mx "10 bounce.$ZONE." \
	--dmarc "v=DMARC1; p=bogus" >"$T/i.out" 2>"$T/i.err"
expect "init with a bad --dmarc: exit 1" "$?" 1
expect_match "... names the DMARC" "$(cat "$T/i.err")" "DMARC|dmarc"
expect "... nothing set: no policy" "$(sqlite3 "$DB" 'SELECT count(*) FROM policies')" 0
check_fails "... and the store is not initialised" ctl status
out=$(ctl init --zone "$ZONE" --zone-file "$ZONEFILE" --spf "v=spf1 include:_spf.$ZONE -all" \
	--mx "10 bounce.$ZONE." --dmarc "v=DMARC1; p=none")
expect "init with all three: exit 0" "$?" 0
expect_match "... says what it set" "$out" "global dmarc set: v=DMARC1; p=none"
expect "... the three global policies" "$(sqlite3 "$DB" "SELECT group_concat(kind, ' ') FROM (SELECT kind FROM policies WHERE tenant_id IS NULL AND domain_id IS NULL ORDER BY kind)")" "dmarc mx spf"
ctl tenant add acme >/dev/null
ctl domain add example.net --tenant acme >/dev/null 2>"$T/add2.err"
expect "then domain add warns about nothing" "$(cat "$T/add2.err")" ""
finish
