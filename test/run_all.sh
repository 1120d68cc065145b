#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine as root: installs the dependencies,
# builds and installs pix_fdw, starts a throwaway PostgreSQL and the mock bank, runs the
# mock's self-test, the pg_regress suite (make installcheck) and the integration scripts,
# and ends with "N passed, M failed".
# While developing, a subset: PIX_PARTS="unit selftest regress integration" (default all),
# PIX_REGRESS="00_setup 81_pay" (pg_regress files), PIX_INTEGRATION="zz_secrets cache" (scripts).
. "$(dirname "$0")/lib.sh"
set +e
trap cleanup EXIT

install_deps || exit 1
build_install || exit 1
start_postgres || exit 1
start_mock || exit 1
export PIX_SERVER_LOG=$WORK/postgres.log
# What test/integration/zz_secrets.sh searches besides that log: the other clusters' logs
# and every integration script's output.
export PIX_CLUSTER_LOGS=$WORK/cluster-logs PIX_OUTPUTS=$WORK/outputs
mkdir -p "$PIX_CLUSTER_LOGS" "$PIX_OUTPUTS"
[ "$(id -u)" = 0 ] && chown postgres: "$PIX_CLUSTER_LOGS"

passed=0
failed=0
tally() { # tally PASSED FAILED LABEL
	passed=$((passed + $1))
	failed=$((failed + $2))
	log "$3: $1 passed, $2 failed"
}

part() { [[ " ${PIX_PARTS:-unit selftest regress integration} " == *" $1 "* ]]; }

if part unit; then
log "unit tests of the bank layer (no PostgreSQL, no network)"
if g++ -std=c++17 -Wall -Wextra -Werror -I"$ROOT/src" -DPIX_BANK_ONLY -o "$WORK/bank_test" \
	"$ROOT/test/unit/bank_test.cpp" "$ROOT"/src/bank/*.cpp $(curl-config --libs) -lssl -lcrypto -pthread >"$WORK/unit.out" 2>&1; then
	"$WORK/bank_test" >"$WORK/unit.out" 2>&1
fi
grep -E '^(not )?ok - ' "$WORK/unit.out" | grep '^not ok' >&2
up=$(grep -c '^ok - ' "$WORK/unit.out")
uf=$(grep -c '^not ok - ' "$WORK/unit.out")
[ "$up" -eq 0 ] && [ "$uf" -eq 0 ] && { cat "$WORK/unit.out" >&2; uf=1; }
tally "$up" "$uf" "unit tests"
fi

if part selftest; then
log "mock bank self-test"
bash "$ROOT/test/mock/selftest.sh" >"$WORK/selftest.out" 2>&1
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/selftest.out" | tail -1)
if [ -n "$line" ]; then
	tally "$(cut -d' ' -f1 <<<"$line")" "$(cut -d' ' -f3 <<<"$line")" "mock self-test"
else
	tail -20 "$WORK/selftest.out"
	tally 0 1 "mock self-test (no result line)"
fi
fi

if part regress; then
regress_set=()
[ -n "${PIX_REGRESS:-}" ] && regress_set=(REGRESS="$PIX_REGRESS")

log "regression tests (make installcheck)"
make -C "$ROOT" -s installcheck PG_CONFIG="$PGBIN/pg_config" "${regress_set[@]}" >"$WORK/regress.out" 2>&1
cat "$WORK/regress.out" | grep -E '^(test|ok|not ok| )' >&2
rp=$(grep -cE '\.\.\. ok|^ok ' "$WORK/regress.out")
rf=$(grep -cE '\.\.\. FAILED|^not ok |\.\.\. failed' "$WORK/regress.out")
if [ "$rp" -eq 0 ] && [ "$rf" -eq 0 ]; then rf=1; cat "$WORK/regress.out" >&2; fi
[ -f "$ROOT/test/regression.diffs" ] && [ "$rf" -gt 0 ] && head -200 "$ROOT/test/regression.diffs" >&2
tally "$rp" "$rf" "regression tests"
fi

for t in "$ROOT"/test/integration/*.sh; do
	[ "$(basename "$t")" = common.sh ] && continue
	part integration || break
	[ -n "${PIX_INTEGRATION:-}" ] && [[ " $PIX_INTEGRATION " != *" $(basename "$t" .sh) "* ]] && continue
	log "integration: $(basename "$t")"
	bash "$t" >"$WORK/it.out" 2>&1
	cp "$WORK/it.out" "$PIX_OUTPUTS/$(basename "$t" .sh).out"
	cat "$WORK/it.out" >&2
	ip=$(grep -c '^ok - ' "$WORK/it.out")
	if_=$(grep -c '^not ok - ' "$WORK/it.out")
	[ "$ip" -eq 0 ] && [ "$if_" -eq 0 ] && if_=1
	tally "$ip" "$if_" "$(basename "$t")"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
