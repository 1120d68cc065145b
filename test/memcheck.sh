#!/usr/bin/env bash
# Memory checks, run now and then (not part of run_all.sh, too slow for CI): the unit
# tests of the bank layer built with AddressSanitizer and UndefinedBehaviorSanitizer and under
# valgrind memcheck, then the regression suite against a server running under valgrind.
# Exits non-zero on any report that involves pix_fdw.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
SRC=("$ROOT/test/unit/bank_test.cpp" "$ROOT"/src/bank/*.cpp)
LIBS="$(curl-config --libs) -lssl -lcrypto"
g++ -std=c++17 -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -I"$ROOT/src" -DPIX_BANK_ONLY \
	-o "$OUT/bank_test_asan" "${SRC[@]}" $LIBS
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$OUT/bank_test_asan" >"$OUT/asan.out" 2>&1
echo "ASan+UBSan: $(grep -c '^ok' "$OUT/asan.out") ok, $(grep -c '^not ok' "$OUT/asan.out") not ok, no sanitizer report"
g++ -std=c++17 -g -O1 -I"$ROOT/src" -DPIX_BANK_ONLY -o "$OUT/bank_test" "${SRC[@]}" $LIBS
valgrind --quiet --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite "$OUT/bank_test" >"$OUT/vg.out" 2>&1
echo "valgrind memcheck: $(grep -c '^ok' "$OUT/vg.out") ok, no errors, no definite leaks"

# The extension inside PostgreSQL: the postmaster runs under valgrind, so every backend it
# forks does too, and the regression suite runs against it. Reports whose stack passes
# through pix_fdw.so are the ones that count (PostgreSQL itself is not built for valgrind).
. "$ROOT/test/lib.sh"
set +e
trap 'cleanup; rm -rf "$OUT"' EXIT
start_postgres
start_mock
export PIX_SERVER_LOG=$WORK/postgres.log
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -w stop >/dev/null
runuser -u postgres -- bash -c "valgrind --quiet --trace-children=no --num-callers=40 --log-file=$WORK/vg.%p.log \
	$PGBIN/postgres -D $PGDATA >$WORK/postgres.log 2>&1 &"
for _ in $(seq 120); do psql -X -q -c 'select 1' >/dev/null 2>&1 && break; sleep 1; done
# MEMCHECK_REGRESS="00_setup 03_pushdown 11_rescans": a subset (the whole suite takes long).
make -C "$ROOT" -s installcheck PG_CONFIG="$PGBIN/pg_config" ${MEMCHECK_REGRESS:+REGRESS="$MEMCHECK_REGRESS"} 2>&1 |
	grep -E 'tests|FAILED|ok'
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 300 stop >/dev/null
ours=$(grep -l "pix_fdw" "$WORK"/vg.*.log 2>/dev/null | wc -l)
echo "valgrind in the server: $(cat "$WORK"/vg.*.log | grep -c '^==[0-9]*== [A-Z]') report lines, $ours log(s) with a pix_fdw frame"
for f in $(grep -l "pix_fdw" "$WORK"/vg.*.log 2>/dev/null); do head -60 "$f"; done
[ "$ours" -eq 0 ]
