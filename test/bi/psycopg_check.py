"""What a Python BI client sees of pix_fdw through psycopg 3 (Debian's python3-psycopg): the
catalog as BI tools read it (information_schema, pg_catalog), a server-side cursor fetching in
batches over a window of several bank pages, date and datetime parameters, exact Decimals.
Prints one "ok - ..." / "not ok - ..." line per check (test/integration/bi_clients.sh).

    /usr/bin/python3 psycopg_check.py PAGED_TABLE FROM TO DAY
PAGED_TABLE is an imported extrato with a small page_size; FROM..TO spans several of its pages.
Connects with the libpq environment (PGHOST, PGPORT, ...); PIX_MOCK_CONTROL is the mock's
control API (the bank's own totals and call counts).
"""
import datetime
import json
import os
import sys
import urllib.request
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg

failed = 0


def check(name, ok):
    global failed
    print(("ok - " if ok else "not ok - ") + "psycopg: " + name)
    if not ok:
        failed += 1


def mock(path, method="GET"):
    req = urllib.request.Request(os.environ["PIX_MOCK_CONTROL"] + path, method=method)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


BATCH = 40  # rows per fetch, less than a bank page (50)
TABLES = ["cobrancas", "extrato", "pix", "pix_enviados", "saldo"]


def main():
    paged, first, last, day = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    first, last, day = (datetime.date.fromisoformat(x) for x in (first, last, day))
    with psycopg.connect(dbname=os.environ.get("PGDATABASE", "contrib_regression")) as conn:
        print("# psycopg %s, libpq %s, server %s" % (psycopg.__version__, psycopg.pq.version(), conn.info.server_version))
        # The catalog as BI tools read it.
        rows = conn.execute(
            "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'inter' ORDER BY 1"
        ).fetchall()
        check("information_schema.tables: the five tables, type FOREIGN %s" % rows, rows == [(t, "FOREIGN") for t in TABLES])
        cols = conn.execute(
            """SELECT c.table_name, c.column_name, c.data_type,
                      col_description(format('%I.%I', c.table_schema, c.table_name)::regclass, c.ordinal_position)
               FROM information_schema.columns c WHERE c.table_schema = 'inter' ORDER BY 1, c.ordinal_position"""
        ).fetchall()
        types = {(t, c): d for t, c, d, _ in cols}
        want = {("extrato", "valor"): "numeric", ("extrato", "data_inclusao"): "timestamp with time zone",
                ("extrato", "data_transacao"): "date", ("extrato", "detalhes"): "jsonb",
                ("pix_enviados", "codigo_solicitacao"): "uuid", ("cobrancas", "revisao"): "integer",
                ("saldo", "disponivel"): "numeric", ("pix", "horario"): "timestamp with time zone"}
        check("information_schema.columns: %d columns, SQL types %s" % (len(cols), sorted(set(types.values()))),
              len(cols) == 61 and all(types.get(k) == v for k, v in want.items()))
        missing = [(t, c) for t, c, _, d in cols if not d]
        check("col_description: every column has the import's comment (missing: %s)" % missing,
              cols and not missing and all("API:" in d for *_, d in cols))
        tables = conn.execute(
            """SELECT c.relname, obj_description(c.oid, 'pg_class') IS NOT NULL FROM pg_class c
               WHERE c.relnamespace = 'inter'::regnamespace AND c.relkind = 'f' ORDER BY 1"""
        ).fetchall()
        check("pg_class relkind 'f' with obj_description: %s" % tables, tables == [(t, True) for t in TABLES])

        # A date parameter, and a datetime window over the same Brasília day: the same rows,
        # Decimals with the digits PostgreSQL prints.
        q = "SELECT id_transacao, valor, valor::text FROM inter.extrato WHERE {} ORDER BY id_transacao"
        by_date = conn.execute(q.format("data_transacao = %s"), [day]).fetchall()
        sp = ZoneInfo("America/Sao_Paulo")
        start = datetime.datetime.combine(day, datetime.time(0), sp)
        end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0), sp)
        cur = conn.execute(q.format("data_inclusao >= %s AND data_inclusao < %s"), [start, end])
        by_time = cur.fetchall()
        check("valor's type in the result is numeric (oid %s)" % cur.description[1].type_code,
              cur.description[1].type_code == 1700)
        check("date parameter %s: %d rows; datetime window [%s, %s): the same rows" % (day, len(by_date), start, end),
              len(by_date) > 0 and by_date == by_time)
        check("Decimals exact: %s" % [str(v) for _, v, _ in by_date],
              all(isinstance(v, Decimal) and str(v) == text for _, v, text in by_date))
        conn.commit()

        # A server-side (named) cursor fetching in batches over a window of several bank pages.
        expect = mock("/summary?dataInicio=%s&dataFim=%s" % (first, last))
        mock("/reset", "POST")
        batches, n, sums = 0, 0, {"C": Decimal(0), "D": Decimal(0)}
        with conn.transaction():
            with conn.cursor(name="bi_sample") as cur:
                cur.itersize = BATCH
                cur.execute("SELECT id_transacao, tipo_operacao, valor FROM " + paged +
                            " WHERE data_transacao BETWEEN %s AND %s", [first, last])
                held = conn.execute("SELECT count(*) FROM pg_cursors WHERE name = 'bi_sample'").fetchone()[0]
                while True:
                    rows = cur.fetchmany(BATCH)
                    if not rows:
                        break
                    batches += 1
                    n += len(rows)
                    for _, op, v in rows:
                        sums[op] += v
        pages = mock("/calls").get("extrato", 0)
        check("the named cursor is a server-side cursor (pg_cursors: %d)" % held, held == 1)
        check("named cursor over %s..%s: %d rows in %d batches of %d, from %d bank pages; the bank has %s rows"
              % (first, last, n, batches, BATCH, pages, expect["count"]),
              n == expect["count"] and batches == -(-n // BATCH) and batches > 1 and pages > 1)
        check("its Decimals add up exactly to the bank's totals: C %s = %s, D %s = %s"
              % (sums["C"], expect["sum_c"], sums["D"], expect["sum_d"]),
              sums["C"] == Decimal(expect["sum_c"]) and sums["D"] == Decimal(expect["sum_d"]))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
