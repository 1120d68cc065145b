-- Issue 6 ("Trust"), shared set-up of the tests 52-58: a local copy of the whole account
-- history, read with one explicit range (a form that pushes today), and helpers that
-- compare the foreign table with that copy, read which windows were sent, and catch errors.
-- The copy is checked against the mock's own /summary, so later files can trust it.
SET DateStyle = 'ISO, YMD';
SELECT test.reset();

-- Every day from the mock's first day (2023-01-01) to today in Brasília. current_date + 2
-- covers Brasília's today whatever the session zone; the bank has nothing after today.
CREATE TABLE test.t6_hist AS
SELECT id_transacao, data_inclusao, data_transacao, tipo_transacao, tipo_operacao, valor, end_to_end_id
FROM inter.extrato WHERE data_transacao BETWEEN '2023-01-01' AND current_date + 2;
CREATE INDEX ON test.t6_hist (data_transacao);
ANALYZE test.t6_hist;

-- Brasília's today (the bank's calendar day).
CREATE FUNCTION test.t6_today() RETURNS date LANGUAGE sql STABLE AS
  $$ SELECT (now() AT TIME ZONE 'America/Sao_Paulo')::date $$;

-- The mock's own answer for a range: count, credits, debits.
CREATE FUNCTION test.t6_summary(lo date, hi date, OUT n int, OUT sum_c numeric, OUT sum_d numeric)
LANGUAGE sql AS $$
  SELECT (s ->> 'count')::int, (s ->> 'sum_c')::numeric, (s ->> 'sum_d')::numeric
  FROM test.mock('GET', format('/summary?dataInicio=%s&dataFim=%s',
                               to_char(lo, 'YYYY-MM-DD'), to_char(hi, 'YYYY-MM-DD'))) s
$$;

-- The local copy is the bank's whole history: same count and sums, one row per id.
SELECT count(*) = s.n AS count_ok,
       sum(valor) FILTER (WHERE tipo_operacao = 'C') = s.sum_c AS credits_ok,
       sum(valor) FILTER (WHERE tipo_operacao = 'D') = s.sum_d AS debits_ok,
       count(DISTINCT id_transacao) = count(*) AS ids_unique,
       min(data_transacao) AS first_day, max(data_transacao) = test.t6_today() AS up_to_today
FROM test.t6_hist, test.t6_summary('2023-01-01', test.t6_today()) s GROUP BY s.n, s.sum_c, s.sum_d;

-- The statement windows the scans since the last reset asked for (scroll continuations,
-- which carry no dates, are left out), with the parameters that are not about pages.
CREATE FUNCTION test.t6_windows(OUT inicio date, OUT fim date, OUT params text) RETURNS SETOF record
LANGUAGE sql AS $$
  SELECT DISTINCT substring(q FROM 'dataInicio=([0-9-]+)')::date, substring(q FROM 'dataFim=([0-9-]+)')::date,
         coalesce(nullif(regexp_replace(q, '(^|&)(dataInicio|dataFim|pagina|tamanhoPagina|scrollEnabled)=[^&]*', '', 'g'), ''), '-')
  FROM test.requests('extrato') q WHERE q LIKE '%dataInicio=%'
  ORDER BY 1, 2, 3
$$;

-- Runs a query; reports whether it failed and with what (so expected files do not depend
-- on the exact wording of a message).
CREATE FUNCTION test.t6_try(query text, OUT failed boolean, OUT state text, OUT msg text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  failed := false;
EXCEPTION WHEN OTHERS THEN
  failed := true;
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
END $$;

-- "Same answer as a local table": runs WHERE cond over inter.extrato and over test.t6_hist in
-- the caller's session (time zone included) and compares the rows both ways.
--   n      rows from the foreign table
--   same   the same multiset of (id, date, amount) as PostgreSQL gives over the local copy
--   calls  statement calls the scan made
--   tight  the requested windows span the rows' dates, give or take two days at each end
--          (a condition that bounds the date was pushed, not read over a wider range)
CREATE FUNCTION test.t6_check(cond text, OUT n bigint, OUT same boolean, OUT calls int, OUT tight boolean)
LANGUAGE plpgsql AS $$
DECLARE lo date; hi date; wlo date; whi date;
BEGIN
  PERFORM test.reset();
  EXECUTE format($q$
    WITH f AS MATERIALIZED (SELECT id_transacao, data_transacao, valor FROM inter.extrato WHERE %1$s),
         l AS MATERIALIZED (SELECT id_transacao, data_transacao, valor FROM test.t6_hist WHERE %1$s)
    SELECT (SELECT count(*) FROM f),
           NOT EXISTS (SELECT * FROM f EXCEPT ALL SELECT * FROM l)
             AND NOT EXISTS (SELECT * FROM l EXCEPT ALL SELECT * FROM f),
           (SELECT min(data_transacao) FROM l), (SELECT max(data_transacao) FROM l)
  $q$, cond) INTO n, same, lo, hi;
  calls := test.calls('extrato');
  SELECT min(w.inicio), max(w.fim) INTO wlo, whi FROM test.t6_windows() w;
  tight := CASE WHEN lo IS NULL THEN calls = 0 OR (wlo IS NOT NULL AND whi - wlo <= 4)
                ELSE wlo BETWEEN lo - 2 AND lo AND whi BETWEEN hi AND hi + 2 END;
END $$;

-- Orders to reconcile against the statement, on days months apart: four Pix received
-- (end-to-end ids from the mock's data) and one that was never paid.
CREATE TABLE test.orders6 (id int PRIMARY KEY, e2e text NOT NULL, valor numeric NOT NULL, dia date NOT NULL);
INSERT INTO test.orders6 VALUES
  (1, 'E00000000202303160036KozyFtKKLXr', 30.00, '2023-03-15'),
  (2, 'E00416968202406201436ghzKRVgnb7A', 24.90, '2024-06-20'),
  (3, 'E00360305202511031035Em6gA1VXToe', 357.54, '2025-11-03'),
  (4, 'E00000000000000000000notpaid0000', 99.00, '2024-01-10'),
  (5, 'E607469482023031602189Gxgd3Syyvm', 4.21, '2023-03-15');
ANALYZE test.orders6;
