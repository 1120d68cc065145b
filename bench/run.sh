#!/usr/bin/env bash
# The benchmark, one command on a fresh Debian 12 machine as root:  bash bench/run.sh
# Installs what it needs (the test suite's dependencies plus postgresql-plpython3-15), builds and
# installs pix_fdw, starts a throwaway PostgreSQL, generates statement data once (cached in
# bench/data), serves it from a pre-rendered mTLS mock (bench/mock.py) and measures pix_fdw
# against a PL/Python function, curl + RapidJSON and a local heap table (bench/bench.py).
# Prints the table and writes it to bench/results.md.
# BENCH_SIZES="10000 100000 1000000" and BENCH_RUNS=3 are the defaults.
. "$(dirname "$0")/../test/lib.sh"
set +e
trap cleanup EXIT

install_deps || exit 1
if [ "$(id -u)" = 0 ]; then
	log "installing the benchmark's dependencies (apt-get)"
	apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "postgresql-plpython3-$PGVER" >/dev/null || exit 1
fi
build_install || exit 1
if [ -n "${PIX_PGROOT:-}" ]; then  # a private copy made before plpython3 was installed
	cp -n /usr/lib/postgresql/$PGVER/lib/plpython3.so "$PIX_PGROOT/usr/lib/postgresql/$PGVER/lib/"
	cp -n /usr/share/postgresql/$PGVER/extension/plpython3u* "$PIX_PGROOT/usr/share/postgresql/$PGVER/extension/"
fi
start_postgres || exit 1
bash "$ROOT/test/mock/gen_certs.sh" "$WORK/certs" >/dev/null || exit 1
chmod -R a+rX "$WORK/certs"
g++ -O2 -std=c++17 -o "$WORK/parse" "$ROOT/bench/parse.cpp" || exit 1
mkdir -p "$ROOT/bench/data"
BENCH_WORK=$WORK BENCH_CERTS=$WORK/certs BENCH_DATA=${BENCH_DATA:-$ROOT/bench/data} \
	"$PYTHON" "$ROOT/bench/bench.py" || exit 1
cp "$WORK/results.md" "$ROOT/bench/results.md"
log "written to bench/results.md"
