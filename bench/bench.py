#!/usr/bin/python3
"""The benchmark proper, run by bench/run.sh (which builds, starts PostgreSQL and sets PGHOST,
PGPORT, PGUSER, BENCH_WORK, BENCH_CERTS, BENCH_DATA). Prints the table and writes it as
Markdown to $BENCH_WORK/results.md (bench/run.sh copies it to bench/results.md)."""
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ["BENCH_WORK"]
CERTS = os.environ["BENCH_CERTS"]
DATA = os.environ["BENCH_DATA"]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000 100000 1000000").split()]
ROWS_PER_DAY = 2500                   # a busy account: 1 000 000 rows are 400 days
LAST_DAY = dt.date(2025, 6, 30)
CALLS_ROWS, CALLS_DAYS = 10000, 400   # the history of the "Calls" part: 25 rows a day

COLUMNS = ("id_transacao text, data_inclusao timestamptz, data_transacao date, tipo_transacao text, "
           "tipo_operacao text, valor numeric, titulo text, descricao text, numero_documento text, "
           "detalhes jsonb, end_to_end_id text, txid text, codigo_solicitacao text, nome_pagador text, "
           "cpf_cnpj_pagador text, descricao_pix text, chave_pix_recebedor text, nome_recebedor text, "
           "cpf_cnpj_recebedor text")

# What a user would write instead of pix_fdw: the same mTLS calls with Python's standard library.
PLPY = r"""
CREATE OR REPLACE FUNCTION bench.py_extrato(base text, certs text, windows text[])
RETURNS TABLE (%s) LANGUAGE plpython3u SET TimeZone = 'America/Sao_Paulo' AS $py$
import http.client, json, ssl, urllib.parse
ctx = ssl.create_default_context(cafile=certs + '/ca.crt')
ctx.load_cert_chain(certs + '/client.crt', certs + '/client.key')
host = urllib.parse.urlsplit(base)
conn = http.client.HTTPSConnection(host.hostname, host.port, context=ctx)
form = urllib.parse.urlencode({'client_id': 'bench', 'client_secret': 'bench',
                               'grant_type': 'client_credentials', 'scope': 'extrato.read'})
conn.request('POST', '/oauth/v2/token', form, {'Content-Type': 'application/x-www-form-urlencoded'})
r = conn.getresponse()
token = json.loads(r.read())['access_token']
auth = {'Authorization': 'Bearer ' + token}
for w in windows:
    ini, fim = w.split('/')
    page = 0
    while True:
        conn.request('GET', '/banking/v2/extrato/completo?dataInicio=%%s&dataFim=%%s&pagina=%%d&tamanhoPagina=10000'
                     %% (ini, fim, page), headers=auth)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            plpy.error('bank answered %%d' %% r.status)
        doc = json.loads(body)
        for t in doc['transacoes']:
            d = t.get('detalhes')
            g = d.get if isinstance(d, dict) else (lambda k: None)
            yield (t['idTransacao'], t['dataInclusao'], t['dataTransacao'], t['tipoTransacao'],
                   t['tipoOperacao'], t['valor'].replace(',', '.'), t.get('titulo'), t.get('descricao'),
                   t.get('numeroDocumento'), None if d is None else json.dumps(d, ensure_ascii=False),
                   g('endToEndId'), g('txId'), g('codigoSolicitacao'), g('nomePagador'), g('cpfCnpjPagador'),
                   g('descricaoPix'), g('chavePixRecebedor'), g('nomeRecebedor'), g('cpfCnpjRecebedor'))
        page += 1
        if doc.get('ultimaPagina', True) or page >= doc.get('totalPaginas', 0):
            break
conn.close()
$py$;
""" % COLUMNS

SETUP = r"""
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pix_fdw;
CREATE EXTENSION IF NOT EXISTS plpython3u;
CREATE SCHEMA IF NOT EXISTS bench;
-- Seconds a statement takes, measured in the backend (no client in between).
CREATE OR REPLACE FUNCTION bench.t(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN EXECUTE q; RETURN extract(epoch FROM clock_timestamp() - t0); END $$;
CREATE OR REPLACE FUNCTION bench.hwm_kb() RETURNS bigint LANGUAGE sql AS $$
  SELECT substring(line FROM '[0-9]+')::bigint
  FROM regexp_split_to_table(pg_read_file('/proc/' || pg_backend_pid() || '/status'), E'\n') line
  WHERE line LIKE 'VmHWM%' $$;
"""


def psql(*cmds, db="postgres"):
    args = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db]
    for c in cmds:
        args += ["-c", c]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("psql failed: %s\n%s" % (cmds, r.stderr))
    return r.stdout.strip().splitlines()


def data_file(rows, days):
    path = os.path.join(DATA, "extrato-%d-%d.jsonl" % (rows, days))
    if not os.path.exists(path):
        print("# generating %d rows over %d days (once; cached in %s)" % (rows, days, DATA), flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), str(rows), str(days), LAST_DAY.isoformat(),
                        path], check=True)
    return path


class Mock:
    def __init__(self, data):
        for f in ("mock.port", "control.port"):
            if os.path.exists(os.path.join(WORK, f)):
                os.remove(os.path.join(WORK, f))
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "mock.py"), "--certs", CERTS, "--data", data,
                                      "--port-file", os.path.join(WORK, "mock.port"),
                                      "--control-port-file", os.path.join(WORK, "control.port")])
        for _ in range(1200):
            if os.path.exists(os.path.join(WORK, "mock.port")):
                break
            if self.proc.poll() is not None:
                sys.exit("the bench mock did not start")
            time.sleep(0.1)
        self.url = "https://127.0.0.1:" + open(os.path.join(WORK, "mock.port")).read()
        self.control = "http://127.0.0.1:" + open(os.path.join(WORK, "control.port")).read()

    def stats(self):
        return json.load(urllib.request.urlopen(self.control + "/stats"))

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(self.control + "/reset", data=b"", method="POST")).read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def make_server(mock, schema, history_start=None, cache=False):
    # cache_ttl '0' (unless cache): each timed run reads the bank, not the result cache;
    # rate_limits 'off': the bench mock has no limits, and the bank's 10 statement calls a minute
    # would time the limiter.
    opts = "url %s, ca_file %s, max_calls '100000', rate_limits 'off'" % (lit(mock.url), lit(CERTS + "/ca.crt"))
    if not cache:
        opts += ", cache_ttl '0'"
    if history_start:
        opts += ", history_start %s" % lit(history_start.isoformat())
    psql("DROP SERVER IF EXISTS %s CASCADE" % schema,
         "CREATE SERVER %s FOREIGN DATA WRAPPER pix_fdw OPTIONS (%s)" % (schema, opts),
         "CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (client_id 'bench', client_secret 'bench', "
         "cert_file %s, key_file %s)" % (schema, lit(CERTS + "/client.crt"), lit(CERTS + "/client.key")),
         "DROP SCHEMA IF EXISTS %s CASCADE" % schema, "CREATE SCHEMA %s" % schema,
         "IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER %s INTO %s" % (schema, schema))


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def timed(q):
    """(seconds measured in a fresh backend, its VmHWM in kB after the statement)."""
    out = psql("SELECT bench.t(%s)" % lit(q), "SELECT bench.hwm_kb()")
    return float(out[0]), int(out[1])


def median(xs):
    return statistics.median(xs)


def windows_of(queries):
    """The statement windows pix_fdw finally read: each dataInicio/dataFim asked for that contains
    no other one asked for (a window whose first page counted too many rows was split)."""
    ws = []
    for q in queries:
        p = dict(kv.split("=", 1) for kv in q.split("&"))
        w = (p["dataInicio"], p["dataFim"])
        if w not in ws:
            ws.append(w)
    return ["%s/%s" % w for w in ws if not any(o != w and w[0] <= o[0] and o[1] <= w[1] for o in ws)]


def curl_pages(mock, queries, outdir):
    """Seconds curl (one process, mTLS, keep-alive) takes to fetch the token and these pages."""
    os.makedirs(outdir, exist_ok=True)
    cfg = os.path.join(outdir, "curl.cfg")
    files = []
    with open(cfg, "w") as f:
        for i, q in enumerate(queries):
            path = os.path.join(outdir, "p%05d.json" % i)
            files.append(path)
            f.write('url = "%s/banking/v2/extrato/completo?%s"\noutput = "%s"\n' % (mock.url, q, path))
    base = ["curl", "-sS", "--fail", "--cert", CERTS + "/client.crt", "--key", CERTS + "/client.key",
            "--cacert", CERTS + "/ca.crt"]
    t0 = time.perf_counter()
    tok = json.loads(subprocess.run(base + ["-d", "client_id=bench&client_secret=bench&grant_type=client_credentials"
                                            "&scope=extrato.read", mock.url + "/oauth/v2/token"],
                                    capture_output=True, check=True).stdout)["access_token"]
    subprocess.run(base + ["-H", "Authorization: Bearer " + tok, "--config", cfg], check=True)
    return time.perf_counter() - t0, files


def parse_pages(files):
    out = subprocess.run([os.path.join(WORK, "parse")] + files, capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1])


def bench_size(n):
    days = n // ROWS_PER_DAY
    first = LAST_DAY - dt.timedelta(days=days - 1)
    mock = Mock(data_file(n, days))
    try:
        s = "b%d" % n
        make_server(mock, s)
        where = "data_transacao BETWEEN '%s' AND '%s'" % (first, LAST_DAY)
        fdw_all = "COPY (SELECT * FROM %s.extrato WHERE %s) TO '/dev/null'" % (s, where)
        fdw_count = "SELECT count(*) FROM %s.extrato WHERE %s" % (s, where)
        # The rows and the calls pix_fdw makes for them (checked once, outside the timings).
        mock.reset()
        got = int(psql(fdw_count)[0])
        if got != n:
            sys.exit("pix_fdw counted %d rows, expected %d" % (got, n))
        queries = mock.stats()["queries"]
        windows = windows_of(queries)
        arr = "ARRAY[%s]::text[]" % ",".join(lit(w) for w in windows)
        py_call = "bench.py_extrato(%s, %s, %s)" % (lit(mock.url), lit(CERTS), arr)
        py_all = "COPY (SELECT * FROM %s) TO '/dev/null'" % py_call
        py_count = "SELECT count(*) FROM %s" % py_call
        got = int(psql(py_count)[0])
        if got != n:
            sys.exit("the PL/Python function returned %d rows, expected %d" % (got, n))
        # The same rows, the same types, the same values (one compare, outside the timings).
        diff = "0" if n > 100000 else psql("SELECT count(*) FROM ((SELECT * FROM %s.extrato WHERE %s EXCEPT ALL SELECT * FROM %s) UNION ALL "
                    "(SELECT * FROM %s EXCEPT ALL SELECT * FROM %s.extrato WHERE %s)) d"
                    % (s, where, py_call, py_call, s, where))[0]
        if diff != "0":
            sys.exit("pix_fdw and the PL/Python function differ in %s rows" % diff)
        psql("DROP TABLE IF EXISTS bench.local_%d" % n,
             "CREATE TABLE bench.local_%d AS SELECT * FROM %s.extrato WHERE %s" % (n, s, where),
             "VACUUM (FREEZE, ANALYZE) bench.local_%d" % n)
        local_all = "COPY (SELECT * FROM bench.local_%d) TO '/dev/null'" % n
        local_count = "SELECT count(*) FROM bench.local_%d" % n
        r = {k: [] for k in ("fdw_all", "fdw_count", "py_all", "py_count", "curl", "parse", "local_all",
                             "local_count", "mock", "hwm_all", "hwm_count")}
        for run in range(RUNS):
            mock.reset()
            t, hwm = timed(fdw_all)
            r["fdw_all"].append(t)
            r["hwm_all"].append(hwm)
            r["mock"].append(mock.stats()["serve_seconds"])
            t, hwm = timed(fdw_count)
            r["fdw_count"].append(t)
            r["hwm_count"].append(hwm)
            r["py_all"].append(timed(py_all)[0])
            r["py_count"].append(timed(py_count)[0])
            t, files = curl_pages(mock, queries, os.path.join(WORK, "pages"))
            r["curl"].append(t)
            rows, t = parse_pages(files)
            r["parse"].append(t)
            r["local_all"].append(timed(local_all)[0])
            r["local_count"].append(timed(local_count)[0])
            print("# %d rows, run %d: %s" % (n, run + 1, " ".join("%s=%.3f" % (k, v[-1]) for k, v in r.items())),
                  flush=True)
        m = {k: median(v) for k, v in r.items()}
        m["runs"] = r
        m["calls"] = len(queries)
        m["bytes"] = sum(os.path.getsize(f) for f in files)
        psql("DROP TABLE bench.local_%d" % n)
        return m
    finally:
        mock.stop()


def bench_calls():
    first = LAST_DAY - dt.timedelta(days=CALLS_DAYS - 1)
    path = data_file(CALLS_ROWS, CALLS_DAYS)
    mock = Mock(path)
    try:
        make_server(mock, "c", history_start=first, cache=True)  # the default result cache
        day = LAST_DAY - dt.timedelta(days=200)
        week = (day, day + dt.timedelta(days=6))
        e2e = []
        with open(path) as f:
            for line in f:
                t = json.loads(line)
                d = t.get("detalhes")
                if week[0].isoformat() <= t["dataTransacao"] <= week[1].isoformat() and isinstance(d, dict) \
                        and d.get("endToEndId"):
                    e2e.append(d["endToEndId"])
        orders = e2e[:1000] + ["E0000000%024d" % i for i in range(1000 - len(e2e[:1000]))]
        psql("DROP TABLE IF EXISTS bench.orders", "CREATE TABLE bench.orders (id int, e2e text)",
             "INSERT INTO bench.orders SELECT i, e FROM unnest(ARRAY[%s]) WITH ORDINALITY AS u(e, i)"
             % ",".join(lit(e) for e in orders), "ANALYZE bench.orders")
        one_day = "SELECT count(*) FROM c.extrato WHERE data_transacao = '%s'" % day
        cases = [
            ("1 day, history of %d days" % CALLS_DAYS, [one_day], "that day's calls (1)"),
            ("91 days", ["SELECT count(*) FROM c.extrato WHERE data_transacao BETWEEN '%s' AND '%s'"
                         % (day, day + dt.timedelta(days=90))], "two windows (2)"),
            ("all history (to today), no date condition", ["SELECT count(*) FROM c.extrato"],
             "one per 90 days (%d)" % -(-((dt.date.today() - first).days + 1) // 90)),
            ("join of 1 000 local orders, one week", [
                "SELECT count(*) FROM bench.orders o JOIN c.extrato e ON e.end_to_end_id = o.e2e "
                "WHERE e.data_transacao BETWEEN '%s' AND '%s'" % week], "no call per order (1)"),
            # Another day than the first case's, whose answer the cache holds already.
            ("another 1-day query 20 times, one session",
             ["SELECT count(*) FROM c.extrato WHERE data_transacao = '%s'" % (day - dt.timedelta(days=1))] * 20,
             "one token, one call (19 answers from the result cache)"),
        ]
        out = []
        for name, qs, target in cases:
            mock.reset()
            psql(*qs)
            c = mock.stats()["calls"]
            out.append((name, c["extrato"], c["token"], target, len(e2e)))
        return out
    finally:
        mock.stop()


def fmt_s(x):
    return "%.3f s" % x


def main():
    psql(SETUP)
    psql(PLPY)
    results = {}
    for n in SIZES:
        results[n] = bench_size(n)
    calls = bench_calls()
    lines = []
    lines.append("| rows | query | pix_fdw | rows/s | PL/Python | pix_fdw / PL/Python | limit | pix_fdw / limit "
                 "| local table | pix_fdw / local | peak memory |")
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, m in results.items():
        r = m["runs"]
        limits = [c + p for c, p in zip(r["curl"], r["parse"])]
        limit = median(limits)

        def ratio(k, others):
            """The median of the runs' own ratios: each run's pair is measured minutes apart at
            most, so a slower stretch of a shared machine moves both sides of it."""
            return median([a / b for a, b in zip(r[k], others)])

        for q, k, py, loc, hwm in (("`SELECT *`", "fdw_all", "py_all", "local_all", "hwm_all"),
                                   ("`count(*)`", "fdw_count", "py_count", "local_count", "hwm_count")):
            lines.append("| %s | %s | %s | %s | %s | %.2f× | %s | %.2f× | %s | %.2f× | %.1f MB |" % (
                format(n, ",").replace(",", " "), q, fmt_s(m[k]), format(int(n / m[k]), ",").replace(",", " "),
                fmt_s(m[py]), ratio(k, r[py]), fmt_s(limit), ratio(k, limits), fmt_s(m[loc]), ratio(k, r[loc]),
                m[hwm] / 1024))
    lines.append("")
    lines.append("| rows | bank calls | bytes of JSON | curl download | RapidJSON parse | mock's own time (serving "
                 "the `SELECT *`) |")
    lines.append("|---:|---:|---:|---:|---:|---:|")
    for n, m in results.items():
        lines.append("| %s | %d | %.0f MB | %s | %s | %s |" % (format(n, ",").replace(",", " "), m["calls"],
                                                                m["bytes"] / 1e6, fmt_s(m["curl"]),
                                                                fmt_s(m["parse"]), fmt_s(m["mock"])))
    lines.append("")
    lines.append("| calls (history of %d rows over %d days) | statement calls | token mints | target |"
                 % (CALLS_ROWS, CALLS_DAYS))
    lines.append("|---|---:|---:|---|")
    for name, e, t, target, _ in calls:
        lines.append("| %s | %d | %d | %s |" % (name, e, t, target))
    md = "\n".join(lines) + "\n"
    note = ("\nMedians of %d runs, one run of `bash bench/run.sh` (%s, %d cores, load average %s). `SELECT *` is "
            "`COPY (SELECT * ...) TO '/dev/null'` (every column through its output function, no client); "
            "times are measured in the backend; ratios are of times (0.25× is 4 times faster), each the "
            "median of the runs' own ratios; "
            "limit = curl + RapidJSON parse of the same pages; "
            "peak memory is the backend's VmHWM.\n" % (RUNS, time.strftime("%Y-%m-%d"), os.cpu_count(),
                                                      open("/proc/loadavg").read().split()[0]))
    with open(os.path.join(WORK, "results.md"), "w") as f:
        f.write(md + note)
    print(md + note)


if __name__ == "__main__":
    main()
