#!/bin/bash
# zonefile: zone files that are not what they seem are refused, at start and on
# SIGHUP: a quoted string left open (ldns would end it at the line's end and
# serve it), a parenthesis never closed, an $INCLUDE. dnsd names the file and
# the line; on SIGHUP it keeps serving the data it had.
. "$(dirname "$0")/lib"

answers() { [ "$(q "$1" "$2" | paste -sd'|')" = "$3" ]; }
rcode_is() { [ "$(status "$1" "$2")" = "$3" ]; }
served_serial() { dig @127.0.0.1 -p "$PORT" +short +tries=1 +time=2 "$ZONE" SOA | awk '{print $3}'; }
log_mark() { wc -l <"$T/dnsd.log"; }

new_store || { echo "cannot make the store"; finish; }
GOOD="$T/good.zone"
cp "$ZONEFILE" "$GOOD"
printf 'kept IN TXT "old"\n' >>"$GOOD"

# bad NAME TEXT: $T/NAME.zone, the good file with TEXT appended; BADLINE is the
# number of TEXT's first line.
bad() {
	cp "$GOOD" "$T/$1.zone"
	BADLINE=$(($(wc -l <"$GOOD") + 1))
	printf '%s' "$2" >>"$T/$1.zone"
}

# refused_at_start DESC FILE LINE REGEX: dnsd exits non-zero by itself, never
# ready, and its message names the file, the line and matches REGEX.
refused_at_start() {
	local rc out
	rm -f "$T/bad.ready"
	timeout 10 "$DNSD" --db "$DB" --zone "$2" --listen 127.0.0.1:0 --ready-file "$T/bad.ready" \
		>"$T/bad.out" 2>&1
	rc=$?
	out=$(cat "$T/bad.out")
	check "$1: dnsd exits non-zero by itself (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "$1: never ready" test ! -s "$T/bad.ready"
	expect_match "$1: the message names the file and line $3" "$out" "zone file $2, line $3: "
	expect_match "$1: the message says why" "$out" "$4"
	check "$1: no sanitizer report" test -z "$(grep -E 'Sanitizer|runtime error' "$T/bad.out")"
}

# ---- 1. At start ----
bad quote $'q1 IN TXT "v=spf1 -all\nq2 IN A 192.0.2.1\n'
refused_at_start "unterminated quote" "$T/quote.zone" "$BADLINE" "quote"
bad quote-semi $'q1 IN TXT "v=spf1 ; -all\n'
refused_at_start "unterminated quote holding a ;" "$T/quote-semi.zone" "$BADLINE" "quote"
bad quote-paren $'q1 IN TXT ( "v=spf1\n  -all" )\n'
refused_at_start "quote across lines in parentheses" "$T/quote-paren.zone" "$BADLINE" "quote"
bad quote-eof 'q1 IN TXT "v=spf1 -all'
refused_at_start "unterminated quote at the end of the file" "$T/quote-eof.zone" "$BADLINE" "quote"
bad paren $'q1 IN TXT ( "a"\nq2 IN TXT "b"\n'
refused_at_start "parenthesis never closed" "$T/paren.zone" "$BADLINE" "parenthes"
bad include $'$INCLUDE /etc/passwd\n'
refused_at_start "\$INCLUDE" "$T/include.zone" "$BADLINE" 'INCLUDE'

# What must still load: quotes closed on their line, escaped quotes, a ; and a
# ( inside quotes, a " inside a comment, parentheses across lines.
OKZ="$T/ok.zone"
cp "$GOOD" "$OKZ"
cat >>"$OKZ" <<'EOF'
esc IN TXT "say \"hi\"; (not a comment)" ; a "quote" in a comment
multi IN TXT ( "one"
               "two" ) ; closed on the next line
EOF
ZONEFILE="$OKZ"
start_dnsd || finish
check "escaped quotes, ; and ( inside quotes: served as written" \
	answers "esc.$ZONE" TXT '"say \"hi\"; (not a comment)"'
check "a record in parentheses over two lines: served" answers "multi.$ZONE" TXT '"one" "two"'
stop_dnsd

# ---- 2. On SIGHUP: the old data stays ----
LIVE="$T/live.zone"
cp "$GOOD" "$LIVE"
ZONEFILE="$LIVE"
: >"$T/dnsd.log"
start_dnsd || finish
check "the good zone file is served" answers "kept.$ZONE" TXT '"old"'
S1=$(served_serial)
for kind in quote paren include; do
	cp "$T/$kind.zone" "$LIVE"
	m=$(log_mark)
	kill -HUP "$DNSD_PID"
	wait_for "SIGHUP with a bad file ($kind): an error line within 2 s" 2 \
		bash -c "tail -n +$((m + 1)) '$T/dnsd.log' | grep -q 'zone reload refused'"
	expect_match "SIGHUP ($kind): the log names the file and line $BADLINE" \
		"$(tail -n +$((m + 1)) "$T/dnsd.log" | grep ' dnsd error: ')" "zone file $LIVE, line $BADLINE: "
	check "SIGHUP ($kind): the old records still served" answers "kept.$ZONE" TXT '"old"'
	check "SIGHUP ($kind): nothing of the bad file served" rcode_is "q1.$ZONE" TXT NXDOMAIN
	check "SIGHUP ($kind): nor what follows the bad line" rcode_is "q2.$ZONE" A NXDOMAIN
	expect "SIGHUP ($kind): the serial did not move" "$(served_serial)" "$S1"
done
cp "$GOOD" "$LIVE"
printf 'fixed IN TXT "yes"\n' >>"$LIVE"
kill -HUP "$DNSD_PID"
wait_for "the file fixed: SIGHUP serves it within 2 s" 2 answers "fixed.$ZONE" TXT '"yes"'
check "dnsd still runs" kill -0 "$DNSD_PID"
finish
