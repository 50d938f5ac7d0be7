#!/bin/bash
# rrl: response rate limiting that cannot be bypassed (issue 12, point 5). The real
# dnsd with --rrl-rate 20 --rrl-slip 2, and the floods that got round the limit
# before: two answers whose buckets collided in the unkeyed table, alternated so
# that each reset the other's bucket (all 2000 answered, 10x the bytes sent);
# NODATA for one name with the query type rotated (all answered); and BADVERS
# (EDNS version 1) for random names, each of which got a bucket of its own (all
# answered). Each flood is 2000 queries in about 1 s from 127.0.0.1, while a
# client in another /24 (127.0.1.1) asks the flooded name and must get every
# answer. Then the three at once, with the workers' allocations counted.
. "$(dirname "$0")/lib"
RP="$ROOT/tests/system/rrl.py"
rp() { "$PY" "$RP" "$@"; }
RATE=20 AMP=amp.example

# f KEY LINE: the value of KEY=... in a summary line.
f() {
	local w
	for w in $2; do case $w in "$1="*) printf '%s' "${w#*=}"; return ;; esac; done
}
# bounded BUCKETS LINE: the full answers are at most what BUCKETS buckets give in
# the flood's time (rate a second, a burst of rate), with half a second to spare,
# and at least half their bursts (limited, not blocked).
bounded() {
	awk -v b="$1" -v full="$(f full "$2")" -v secs="$(f secs "$2")" -v r=$RATE \
		'BEGIN { exit !(full ~ /^[0-9]+$/ && full <= b * (r * (secs + 0.5) + r) && full >= b * r / 2) }'
}
# between V LO HI: V is a number within [LO, HI].
between() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v ~ /^[0-9.]+$/ && v + 0 >= lo && v + 0 <= hi) }'; }
# limited DESC BUCKETS LINE: the checks every flood gets.
limited() {
	local d=$1 b=$2 s=$3 g
	check "$d: at most $b bucket(s) of full answers ($(f full "$s") of $(f sent "$s") in $(f secs "$s") s)" bounded "$b" "$s"
	expect "$d: every reply is a full answer or a TC with the question and no records" "$(f other "$s")" 0
	check "$d: slip 2, about half of the limited come back as TC ($(f tc_of_dropped "$s"))" \
		between "$(f tc_of_dropped "$s")" 0.3 0.7
	check "$d: the rest get nothing ($(f none "$s") unanswered)" \
		test "$(f none "$s")" -ge $(($(f sent "$s") / 4))
	g=$(f good "$s")
	check "$d: a client in another /24 (127.0.1.1) gets every answer meanwhile ($g)" \
		test -n "$g" -a "${g%/*}" = "${g#*/}" -a "${g#*/}" -ge 5
}

new_store
rp zone "$AMP" 1000 "$T/amp.zone"
read -r A B <<<"$(rp collide "$AMP" 1000)"
check "two names whose buckets collided in the unkeyed table ($A $B)" test -n "$B"
start_dnsd --zone "$T/amp.zone" --rrl-rate $RATE --rrl-slip 2 || finish
expect "$A has its 400-octet TXT answer" "$(q "$A" TXT | wc -c)" 406

# 1. The two colliding answers alternated.
s=$(rp 127.0.0.1 "$PORT" flood 1.0 127.0.0.1 "$A/TXT" "$B/TXT" --good 127.0.1.1 "$A")
echo "    alternating: $s"
limited "alternating two answers" 2 "$s"
check "alternating two answers: no amplification, bytes out <= 2x bytes in ($(f bytes_out "$s") / $(f bytes_in "$s"))" \
	test "$(f bytes_out "$s")" -le $((2 * $(f bytes_in "$s")))

# 2. NODATA for one name, the query type rotated over 1000 types without data (the
# name holds only TXT; 128-255 are meta and query types).
C="t7.$AMP"
s=$(rp 127.0.0.1 "$PORT" flood 1.0 127.0.0.1 "$C/1-15" "$C/17-40" "$C/42-127" "$C/256-1130" --good 127.0.1.1 "$C")
echo "    rotating types: $s"
limited "NODATA with rotating types" 1 "$s"

# 3. BADVERS for random names: an error, counted against the prefix alone.
specs=()
for i in $(seq 1 200); do specs+=("r$i-$RANDOM.$AMP/TXT/badvers"); done
s=$(rp 127.0.0.1 "$PORT" flood 1.0 127.0.0.1 "${specs[@]}" --good 127.0.1.1 "t9.$AMP")
echo "    BADVERS for random names: $s"
limited "BADVERS for random names" 1 "$s"

# The limit is a rate, not a ban: a second later the flooding source is answered.
sleep 1.2
expect "a second after the floods, 127.0.0.1 gets its answer again" "$(q "$A" TXT | wc -c)" 406

# Limiting allocates nothing: the plain dnsd with alloc.sh's counting shim, through
# the three floods at once (ASan replaces the allocator, so always the plain build).
stop_dnsd
printf '\0\0\0\0\0\0\0\0' >"$T/counter"
DNSD="$ROOT/build/dnsd" ALLOC_COUNTER="$T/counter" LD_PRELOAD="$ROOT/build/tests/alloccount.so" \
	start_dnsd --zone "$T/amp.zone" --rrl-rate $RATE --rrl-slip 2 || finish
count() { od -An -tu8 "$T/counter" | tr -d ' '; }
rp 127.0.0.1 "$PORT" flood 0.2 127.0.0.1 "$A/TXT" "$C/1-3" "${specs[0]}" >/dev/null
c0=$(count)
s=$(rp 127.0.0.1 "$PORT" flood 1.0 127.0.0.1 "$A/TXT" "$B/TXT" "$C/1-15" "${specs[@]:0:20}")
echo "    all three, counted: $s; worker allocations $c0, then $(count)"
check "all three at once are limited ($(f full "$s") full of 2000)" test "$(f full "$s")" -lt 500
expect "limiting 2000 queries allocated nothing in the workers" "$(count)" "$c0"
q "$A" TXT +tcp >/dev/null
check "the counter counts: a TCP connection allocates ($c0, then $(count))" test "$(count)" -gt "$c0"
finish
