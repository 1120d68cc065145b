-- pix_fdw.counters: calls to the bank per server and endpoint, in memory (here this
-- session's own: pix_fdw is not preloaded; test/integration/preload.sh checks the shared
-- ones). Exact deltas after known queries; the mock's own counts agree.
\getenv certs PIX_CERTS
SET client_min_messages = warning;
SELECT test.reset();
SELECT pix_fdw.counters_reset();
-- The counters of one server, without the start time and bytes (they vary).
CREATE FUNCTION test.counters(srv text DEFAULT 'inter')
RETURNS TABLE (endpoint text, calls bigint, pages bigint, s2xx bigint, s4xx bigint, s5xx bigint, s429 bigint,
               retries bigint, rate_waits bigint, tokens bigint, cache_hits bigint)
LANGUAGE sql AS $$
  SELECT endpoint, calls, pages, status_2xx, status_4xx, status_5xx, status_429, retries, rate_waits, tokens, cache_hits
  FROM pix_fdw.counters WHERE server = srv ORDER BY endpoint
$$;
\d pix_fdw.counters
SELECT * FROM pix_fdw.counters;

-- One statement query on a fresh connection: a token (one call, one mint) and one page.
SELECT pix_fdw.disconnect();
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT * FROM test.counters();
SELECT bytes > 0 AS has_bytes, since <= now() AND since > now() - interval '1 hour' AS since_ok
FROM pix_fdw.counters WHERE endpoint = 'extrato';
-- The token is kept: a second query is one more call and page, no mint.
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-21';
SELECT * FROM test.counters();

-- A multi-page statement: as many calls and pages as the mock answered.
SELECT pix_fdw.counters_reset();
SELECT test.reset();
CREATE FOREIGN TABLE public.extrato_small (id_transacao text, data_transacao date)
SERVER inter OPTIONS (endpoint 'extrato', page_size '50');
SELECT count(*) > 100 AS many_rows FROM public.extrato_small
WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30';
SELECT calls = test.calls('extrato') AS calls_as_mock, pages = calls AS one_page_per_call, calls > 2 AS several
FROM pix_fdw.counters WHERE server = 'inter' AND endpoint = 'extrato';
DROP FOREIGN TABLE public.extrato_small;

-- A 5xx burst retried: 3 calls, 2 answers 503 and 2 retries, then the page.
SELECT pix_fdw.counters_reset('inter');
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":503,"count":2}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT * FROM test.counters();
-- A 429 (Retry-After: 1) waited out: status_429 is also a 4xx.
SELECT pix_fdw.counters_reset('inter');
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT * FROM test.counters();
-- A 400 is not retried and gives no page.
SELECT pix_fdw.counters_reset('inter');
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":400,"count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT * FROM test.counters();
-- A connection dropped mid-body: two calls, one answer, one retry.
SELECT pix_fdw.counters_reset('inter');
SELECT test.fault('{"endpoint":"extrato","kind":"drop","count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT * FROM test.counters();
SELECT test.reset();

-- Every table counts under its endpoint; each scope set is a token of its own.
SELECT pix_fdw.counters_reset();
SELECT pix_fdw.disconnect();
SELECT count(*) AS saldo FROM inter.saldo;
SELECT count(*) AS pix FROM inter.pix WHERE horario >= '2024-06-20' AND horario < '2024-06-21';
SELECT count(*) AS cobrancas FROM inter.cobrancas WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21';
SELECT count(*) AS pix_enviados FROM inter.pix_enviados
WHERE codigo_solicitacao IN ('e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f', '00000000-0000-4000-8000-000000000000');
SELECT * FROM test.counters();
SELECT test.calls('token') AS mock_tokens, test.calls('pix_consulta') AS mock_pix_consulta;

-- Client-side rate-limit waits: 1 statement call per 3 s; the second query waits its turn.
\set ECHO none
SELECT format('CREATE SERVER rl_counted FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L, rate_limits %L)',
              (SELECT v FROM test.settings WHERE k = 'url'), :'certs' || '/ca.crt', 'extrato=1/3s') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER rl_counted OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
CREATE FOREIGN TABLE public.rl_counted_extrato (valor numeric, data_transacao date)
SERVER rl_counted OPTIONS (endpoint 'extrato');
SELECT count(*) FROM public.rl_counted_extrato WHERE data_transacao = '2024-06-20';
SELECT count(*) FROM public.rl_counted_extrato WHERE data_transacao = '2024-06-21';
SELECT * FROM test.counters('rl_counted');
-- Resetting one server leaves the others.
SELECT pix_fdw.counters_reset('rl_counted');
SELECT DISTINCT server FROM pix_fdw.counters ORDER BY 1;
DROP SERVER rl_counted CASCADE;

-- Nothing is written to a table: the extension owns no table besides the ledger, its keys and the database's id.
SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND d.classid = 'pg_class'::regclass
WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pix_fdw')
  AND c.relkind = 'r' ORDER BY 1;

-- Reading needs pg_read_all_stats (or a grant); resetting is the owner's (or a grant).
CREATE ROLE counters_reader;
CREATE ROLE counters_stranger;
GRANT pg_read_all_stats TO counters_reader;
GRANT USAGE ON SCHEMA pix_fdw TO counters_reader, counters_stranger;
SET ROLE counters_reader;
SELECT count(*) > 0 AS reader_sees FROM pix_fdw.counters;
SELECT pix_fdw.counters_reset();
SET ROLE counters_stranger;
SELECT count(*) FROM pix_fdw.counters;
SELECT * FROM pix_fdw.counters_snapshot();
RESET ROLE;
REVOKE USAGE ON SCHEMA pix_fdw FROM counters_reader, counters_stranger;
DROP ROLE counters_reader;
DROP ROLE counters_stranger;
SELECT pix_fdw.counters_reset();
SELECT count(*) AS rows_after_reset FROM pix_fdw.counters;
