#!/usr/bin/env bash
# Several sessions scan at once: each gets exactly the bank's rows for its window, and each
# backend mints one token for all its queries.
set -u
. "$(dirname "$0")/common.sh"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
mock POST '/reset?tokens=1' >/dev/null
for i in 1 2 3 4; do
	(
		for m in 01 02 03 04 05; do
			psql -X -At -c "SELECT count(*) || ' ' || sum(valor) FROM inter.extrato WHERE data_transacao BETWEEN '2024-$m-0$i' AND '2024-$m-2$i'" 2>&1
		done >"$OUT/s$i"
	) &
done
wait
bad=0
for i in 1 2 3 4; do
	for m in 01 02 03 04 05; do
		expect=$(mock GET "/summary?dataInicio=2024-$m-0$i&dataFim=2024-$m-2$i" |
			python3 -c "import json,sys; from decimal import Decimal as D; s=json.load(sys.stdin); print(s['count'], D(s['sum_c'])+D(s['sum_d']))")
		grep -qx "$expect" "$OUT/s$i" || { bad=$((bad + 1)); echo "# session $i month $m: expected '$expect'"; }
	done
done
check "4 concurrent sessions x 5 windows return the bank's exact count and sum" test "$bad" -eq 0
tokens=$(calls token)
check "each of the 20 backends minted one token (got $tokens)" test "$tokens" -eq 20
