#!/usr/bin/env bash
# Rows stream page by page: a scan of 13 000 rows in 13 pages does not grow the backend's
# peak memory by more than a few pages' worth, compared with a 5-row scan.
set -u
. "$(dirname "$0")/common.sh"
peak_kb() { # peak resident memory of a fresh backend after running $1
	psql -X -At -c "$1" -c "SELECT (SELECT line FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/status'), E'\n') line WHERE line LIKE 'VmHWM%')" |
		tail -1 | tr -dc 0-9
}
q "CREATE SCHEMA IF NOT EXISTS mem; DROP FOREIGN TABLE IF EXISTS mem.extrato; IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO mem OPTIONS (page_size '1000')" >/dev/null
mock POST /reset >/dev/null
small=$(peak_kb "SELECT count(*), sum(valor), max(detalhes::text) FROM mem.extrato WHERE data_transacao = '2024-06-20'")
big=$(peak_kb "SELECT count(*), sum(valor), max(detalhes::text) FROM mem.extrato WHERE data_transacao BETWEEN '2025-03-10' AND '2025-03-14'")
delta=$((big - small))
echo "# peak RSS: 5 rows ${small} kB, 13 000 rows ${big} kB, difference ${delta} kB"
check "a 13 000-row scan peaks within 8 MB of a 5-row scan (difference ${delta} kB)" test "$delta" -lt 8192
