#!/bin/bash
# jobmetrics: dnsdctl maintain --metrics-file (and metrics-file in the config
# file) leaves node_exporter's textfile: the keys by state agree with what
# 'key list --json' says, the rotation figures with the test clock, a secondary's
# lag appears, and a run that fails (the store locked by another writer) still
# writes the file, with dnsd_job_last_run_success 0.
. "$(dirname "$0")/lib"

# metric FILE 'NAME{LABELS}': the value of that exact series ('' when absent).
metric() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
jq_py() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

new_store
for d in a.example b.example c.example; do
	ctl domain add "$d" --tenant acme --algorithm ed25519 >/dev/null
done
ctl domain add gone.example --tenant acme --algorithm ed25519 >/dev/null
ctl domain remove gone.example >/dev/null
# A rotation begun: b.example gets a published key beside its active one.
ctl key rotate b.example >/dev/null
# A name server that answers nothing: the job notes no serial for it.
ctl ns add ns9.example 127.0.0.1:"$(free_port)" >/dev/null

M="$T/dnsd.prom"
ctl maintain --metrics-file "$M" >"$T/m1.out" 2>&1
expect "maintain --metrics-file: exit 0" "$?" 0
check "the file was written" test -s "$M"
check "no temporary file left beside it" test -z "$(ls "$T" | grep 'dnsd.prom.tmp')"

# What 'key list --json' says, summed over the active domains.
for s in published active retired; do
	want=0
	for d in a.example b.example c.example; do
		n=$(ctl key list "$d" --json | jq_py "sum(1 for k in d if k['state'] == '$s')")
		want=$((want + n))
	done
	expect "dnsd_keys{state=\"$s\"} equals key list's count" "$(metric "$M" "dnsd_keys{state=\"$s\"}")" "$want"
done
expect "three active keys, one published (b.example's rotation)" \
	"$(metric "$M" 'dnsd_keys{state="active"}') $(metric "$M" 'dnsd_keys{state="published"}')" "3 1"
expect "the removed domain's key is not counted" "$(metric "$M" 'dnsd_keys{state="retired"}')" 0
expect "the run succeeded" "$(metric "$M" dnsd_job_last_run_success)" 1
expect "the exports were written" "$(metric "$M" dnsd_job_exports_success)" 1
now=$(metric "$M" dnsd_job_last_run_timestamp_seconds)
check "the run's time is now (within a minute)" test $(( $(date +%s) - now )) -lt 60 -a "$now" -gt 0
next=$(metric "$M" dnsd_keys_next_rotation_timestamp_seconds)
check "the next rotation is in the future (rotation_days away)" test "$next" -gt "$now"
expect "no key is overdue" "$(metric "$M" dnsd_keys_rotation_due) $(metric "$M" dnsd_keys_rotation_overdue_seconds)" "0 0"
expect "the secondary answered no serial" "$(metric "$M" 'dnsd_secondary_serial{name="ns9.example"}')" -1
expect "the store's serial" "$(metric "$M" dnsd_store_serial)" "$(sqlite3 "$DB" 'SELECT value FROM serial')"
expect "three domains never checked" "$(metric "$M" dnsd_check_domains_unchecked)" 3
check "every sample line is NAME{labels} VALUE" \
	test -z "$(grep -v '^#' "$M" | grep -Ev '^[a-z_]+(\{[a-z_]+="[^"]*"\})? -?[0-9]+$')"

# The shipped dashboard and alert rules use only job metrics the file has, and promtool
# (Debian's prometheus, from make test-deps) reads the rules and the file as Prometheus would.
out=$("$PY" "$ROOT/tests/system/distmetrics.py" job "$M")
expect_match "dashboard and alerts: every job metric they use is in the file" "$out" "^[1-9][0-9]* used, missing: none$"
if command -v promtool >/dev/null; then
	check "promtool: the alert rules are valid" promtool check rules "$ROOT/dist/prometheus/dnsd-alerts.yml"
	check "promtool: the file is valid exposition text" sh -c 'promtool check metrics <"$1"' - "$M"
else
	not_ok "promtool is installed (make test-deps: package prometheus)"
fi

# 200 days on (DNSD_NOW): the active keys are due; the job begins 2 rotations at most.
later=$((now + 200 * 86400))
DNSD_NOW=$later ctl maintain --max-keys 1 --metrics-file "$M" >/dev/null 2>&1
expect "200 days on: the run's clock" "$(metric "$M" dnsd_job_last_run_timestamp_seconds)" "$later"
expect "200 days on: one successor published (--max-keys 1)" "$(metric "$M" 'dnsd_job_run_steps{step="published"}')" 1
due=$(metric "$M" dnsd_keys_rotation_due)
check "200 days on: keys still due ($due)" test "$due" -ge 1
check "200 days on: the most overdue key is days late" test "$(metric "$M" dnsd_keys_rotation_overdue_seconds)" -gt 86400

# The config file's metrics-file, when the command line names none.
printf 'zone-file %s\nmetrics-file %s\n' "$ZONEFILE" "$T/conf.prom" >"$T/m.conf"
CTLCONF="$T/m.conf" ctl maintain >/dev/null 2>&1
expect "metrics-file from the config file: written" "$(metric "$T/conf.prom" dnsd_job_last_run_success)" 1

# A failed run: another writer holds the store's lock past the 5 s wait (the
# silent name server goes first: asking it takes seconds before the lock).
ctl ns remove ns9.example >/dev/null
rm -f "$T/locked"
(echo 'BEGIN IMMEDIATE;'; echo ".shell touch $T/locked"; sleep 7; echo 'COMMIT;') | sqlite3 "$DB" >/dev/null 2>&1 &
LP=$!
for _ in $(seq 1 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
check "another writer holds the lock" test -e "$T/locked"
ctl maintain --metrics-file "$M" >"$T/m2.out" 2>"$T/m2.err"
rc=$?
wait "$LP"
expect "locked store: maintain exits 5 (busy: try again)" "$rc" 5
expect_match "locked store: says so" "$(cat "$T/m2.err")" "locked"
expect "locked store: the file says the run failed" "$(metric "$M" dnsd_job_last_run_success)" 0
expect "locked store: the keys are still counted" "$(metric "$M" 'dnsd_keys{state="active"}')" 3

# A file that cannot be written: said on stderr, the run's status unchanged.
ctl maintain --metrics-file "$T/nodir/dnsd.prom" >/dev/null 2>"$T/m3.err"
expect "unwritable metrics file: the run still exits 0" "$?" 0
expect_match "unwritable metrics file: said on stderr" "$(cat "$T/m3.err")" "cannot write"
finish
