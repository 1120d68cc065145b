#!/usr/bin/env bash
# Fuzzing (issue 9): builds the libFuzzer targets of test/fuzz (Debian's clang, ASan + UBSan),
# replays each committed seed corpus (the inputs of every bug found so far), then fuzzes each
# target for FUZZ_SECONDS (default 30) from a copy of its corpus. A crash, leak, timeout or
# broken invariant is "not ok", with the input in hex. Needs no PostgreSQL and no mock.
# fuzz_chave also runs under a Latin-1 LC_CTYPE (pt_BR.ISO-8859-1, generated here with
# localedef), as a backend of a LATIN1 database would.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FUZZ=$ROOT/test/fuzz
OUT=${FUZZ_OUT:-$FUZZ/build}
SECONDS_EACH=${FUZZ_SECONDS:-30}

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }

if ! command -v clang++ >/dev/null; then
	not_ok "clang++ is installed (packages clang and libclang-rt-dev)"
	exit 0
fi
mkdir -p "$OUT"
if bash "$FUZZ/build.sh" "$OUT" >"$OUT/build.log" 2>&1 && ! grep -q 'warning:' "$OUT/build.log"; then
	ok "the fuzz targets build without warnings (clang $(clang++ -dumpversion))"
else
	tail -30 "$OUT/build.log"
	not_ok "the fuzz targets build without warnings"
	exit 0
fi

# A Latin-1 locale for fuzz_chave (std::isalnum(0xE9) is true there).
LATIN1=
if [ -d "$OUT/locale/pt_BR.ISO-8859-1" ] ||
	{ mkdir -p "$OUT/locale" && localedef -i pt_BR -f ISO-8859-1 "$OUT/locale/pt_BR.ISO-8859-1" >/dev/null 2>&1; }; then
	LATIN1=pt_BR.ISO-8859-1
fi

# Shows a failed run: the invariant or sanitizer report, and the crashing input in hex.
show_failure() { # LOG ARTIFACT_PREFIX
	grep -a -m1 -E 'INVARIANT FAILED|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$1" | sed 's/^/#   /'
	for f in "$2"*; do
		[ -f "$f" ] || continue
		echo "#   input $(basename "$f") ($(wc -c <"$f") bytes), hex:"
		od -An -v -tx1 "$f" | head -40 | sed 's/^/#  /'
	done
}

# run NAME TARGET LOCALE ARGS...: a libFuzzer run; ok when it exits 0 with no report.
run() {
	local name=$1 target=$2 locale=$3
	shift 3
	local log="$OUT/$target.$name.log" art="$OUT/artifacts/$target.$name-"
	mkdir -p "$OUT/artifacts"
	rm -f "$art"*
	local env=()
	[ -n "$locale" ] && env=(LOCPATH="$OUT/locale" PIX_FUZZ_LOCALE="$locale")
	env LSAN_OPTIONS="suppressions=$FUZZ/lsan_suppress.txt" "${env[@]}" timeout $((SECONDS_EACH + 120)) "$OUT/$target" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$art" "$@" >"$log" 2>&1
	local rc=$?
	if [ "$rc" -eq 0 ] && ! grep -aqE 'INVARIANT FAILED|ERROR: |runtime error' "$log"; then
		local stats
		stats=$(grep -a -E '^(#[0-9]+\s+DONE|Done [0-9]+ runs)' "$log" | tail -1)
		ok "$target $name${locale:+ (LC_CTYPE $locale)}: no crash, leak or broken invariant ($stats)"
	else
		show_failure "$log" "$art"
		not_ok "$target $name${locale:+ (LC_CTYPE $locale)} (exit $rc, log $log)"
	fi
}

for target in fuzz_page fuzz_chave; do
	corpus=$FUZZ/corpus/$target
	dict=()
	[ -f "$FUZZ/$target.dict" ] && dict=(-dict="$FUZZ/$target.dict")
	n=$(find "$corpus" -type f | wc -l)
	# The committed corpus, every input once (its crash inputs are the regressions).
	run "replays its $n seeds" "$target" "" -runs=0 "$corpus"
	[ "$target" = fuzz_chave ] && [ -n "$LATIN1" ] && run "replays its $n seeds" "$target" "$LATIN1" -runs=0 "$corpus"
	# New inputs for a bounded time, from a scratch copy (the committed corpus stays as is).
	work=$(mktemp -d "${TMPDIR:-/tmp}/pix_fuzz.XXXXXX")
	cp "$corpus"/* "$work"/
	locale=
	[ "$target" = fuzz_chave ] && locale=$LATIN1
	run "for ${SECONDS_EACH}s" "$target" "$locale" -max_total_time="$SECONDS_EACH" -max_len=65536 \
		-print_final_stats=1 "${dict[@]}" "$work"
	rm -rf "$work"
done
[ -n "$LATIN1" ] || not_ok "a Latin-1 locale for fuzz_chave (localedef -i pt_BR -f ISO-8859-1; package locales)"
