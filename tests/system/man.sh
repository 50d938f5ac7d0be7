#!/bin/bash
# man: the man pages list exactly the options dnsd and dnsd-api print in --help,
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

for page in "$BUILD"/man/*.[0-9]; do
	warn=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null)
	expect "$(basename "$page") renders without warnings" "$warn" ""
	lines=$(MANWIDTH=80 man -l "$page" 2>/dev/null | wc -l)
	check "$(basename "$page") renders text" [ "$lines" -gt 10 ]
done
finish
