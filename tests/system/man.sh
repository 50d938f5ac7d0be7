#!/bin/bash
# man: the man pages list exactly the options dnsd and dnsd-api print in --help
# (dnsdctl: its command table knows),
# and every page renders without a warning.
. "$(dirname "$0")/lib"
make -s -C "$ROOT" BUILD="$BUILD" man >"$T/make.out" 2>&1 || not_ok "make man: $(cat "$T/make.out")"

# The long options a text names: '--word' not inside a longer word.
opts() { grep -oE -- '(^|[^a-z-])--[a-z][a-z0-9-]*' | sed 's/^[^-]*//' | sort -u; }
# In a page, the options are the bold words of its tagged paragraphs and synopsis.
page_opts() { sed -n 's/\\-/-/g; s/\\fB\(--[a-z][a-z0-9-]*\)\\fR/\n\1\n/gp' "$1" | grep -E '^--' | sort -u; }

for prog in dnsd dnsd-api; do
	page="$BUILD/man/$prog.8"
	"$BUILD/$prog" --help 2>&1 | opts >"$T/$prog.help"
	page_opts "$page" >"$T/$prog.page"
	[ -s "$T/$prog.help" ] || not_ok "$prog --help names no option"
	missing=$(comm -23 "$T/$prog.help" "$T/$prog.page" | tr '\n' ' ')
	extra=$(comm -13 "$T/$prog.help" "$T/$prog.page" | tr '\n' ' ')
	expect "$prog.8 lists every option of $prog --help" "$missing" ""
	expect "$prog.8 lists no option $prog --help lacks" "$extra" ""
done

# dnsdctl: its options come from its command table (the overview's global
# options, each command's usage), and each command's usage names only options
# that command takes (its "options:" list, or a global one).
"$BUILD/dnsdctl" help --all >"$T/ctl.all" 2>&1 || not_ok "dnsdctl help --all"
"$BUILD/dnsdctl" help >"$T/ctl.help" 2>&1 || not_ok "dnsdctl help"
cat "$T/ctl.all" "$T/ctl.help" | opts >"$T/dnsdctl.help"
page_opts "$BUILD/man/dnsdctl.8" >"$T/dnsdctl.page"
expect "dnsdctl.8 lists every option dnsdctl's table knows" "$(comm -23 "$T/dnsdctl.help" "$T/dnsdctl.page" | tr '\n' ' ')" ""
expect "dnsdctl.8 lists no option the table lacks" "$(comm -13 "$T/dnsdctl.help" "$T/dnsdctl.page" | tr '\n' ' ')" ""
globals=$(sed -n '/^global options:/,/^$/p' "$T/ctl.help" | opts)
bad="" n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	u=$("$BUILD/dnsdctl" help $cmd)
	used=$(printf '%s\n' "$u" | sed -n '/^usage:/,/^$/p' | opts)
	takes=$( (printf '%s\n' "$u" | sed -n '/^options:/,/^$/p' | opts; echo "$globals") | sort -u)
	extra=$(comm -23 <(echo "$used" | grep .) <(echo "$takes") | tr '\n' ' ')
	[ -z "$extra" ] || bad="$bad [$cmd: $extra]"
	# The page's entry: the command in bold at the start of its line, with the
	# options of its usage, no more, no fewer.
	entry=$(P="\\fB$cmd\\fR" awk 'index($0, ENVIRON["P"]) == 1' "$BUILD/man/dnsdctl.8" | head -n 1)
	if [ -z "$entry" ]; then
		bad="$bad [$cmd: not in dnsdctl.8]"
	else
		inpage=$(printf '%s\n' "$entry" | sed 's/\\-/-/g; s/\\fB\(--[a-z][a-z0-9-]*\)\\fR/\n\1\n/g' | grep -E '^--' | sort -u)
		[ "$inpage" = "$used" ] || bad="$bad [$cmd: dnsdctl.8 has $(echo $inpage), the table $(echo $used)]"
	fi
done < <(sed -n 's/^usage: dnsdctl \([a-z][a-z-]*\( [a-z][a-z-]*\)\?\)\( .*\)\?$/\1/p' "$T/ctl.all")
check "the table has its commands ($n)" [ "$n" -gt 40 ]
expect "each command's usage names only options it takes, and dnsdctl.8 the same" "$bad" ""

for page in "$BUILD"/man/*.[0-9]; do
	warn=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null)
	expect "$(basename "$page") renders without warnings" "$warn" ""
	lines=$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)
	check "$(basename "$page") renders text" [ "$lines" -gt 10 ]
done
finish
