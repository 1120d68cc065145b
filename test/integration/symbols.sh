#!/usr/bin/env bash
# The installed shared library exports only its entry points: the magic block, _PG_init and
# every C function that the extension's SQL scripts declare, with its pg_finfo_ record, and the
# background workers' main functions.
# Anything else (RapidJSON or libstdc++ template instances, internal helpers) would be
# visible to other libraries that PostgreSQL loads with RTLD_GLOBAL.
set -u
. "$(dirname "$0")/common.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
libdir=$(q "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'")
so=$libdir/pix_fdw.so
check "the installed library is $so" test -f "$so"
expected=$({
	echo Pg_magic_func
	echo _PG_init
	grep -ohE "'MODULE_PATHNAME', *'[A-Za-z_0-9]+'" "$ROOT"/sql/pix_fdw--*.sql |
		sed -E "s/.*, *'([A-Za-z_0-9]+)'/\1/" | while read -r f; do echo "$f"; echo "pg_finfo_$f"; done
	# background worker entry points, looked up by bgw_function_name (no pg_finfo_ record)
	grep -ohE 'bgw_function_name, BGW_MAXLEN, "[A-Za-z_0-9]+"' "$ROOT"/src/pg/*.cpp | sed -E 's/.*"([A-Za-z_0-9]+)"/\1/'
} | sort -u)
actual=$(nm -D --defined-only "$so" | awk '{print $NF}' | sort -u)
check "the SQL scripts declare C functions (pix_fdw_handler among them)" grep -qx pix_fdw_handler <<<"$expected"
extra=$(comm -13 <(echo "$expected") <(echo "$actual"))
missing=$(comm -23 <(echo "$expected") <(echo "$actual"))
[ -n "$extra" ] && echo "# exported but not an entry point: $(echo "$extra" | head -20 | tr '\n' ' ')($(echo "$extra" | wc -l) in all)"
[ -n "$missing" ] && echo "# entry points not exported: $(echo "$missing" | tr '\n' ' ')"
check "nm -D lists no defined symbol besides the entry points" test -z "$extra"
check "every entry point is exported ($(echo "$expected" | wc -l) symbols)" test -z "$missing"
