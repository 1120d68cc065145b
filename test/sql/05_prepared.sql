-- Plans are cache-safe: prepared statements and generic plans get their own parameters.
CREATE TEMP TABLE got (d date, n bigint, total numeric);
PREPARE q(date) AS INSERT INTO got
  SELECT $1, count(*), coalesce(sum(valor), 0) FROM inter.extrato WHERE data_transacao = $1;
SELECT test.reset();
EXECUTE q('2024-06-01');
EXECUTE q('2024-06-02');
EXECUTE q('2024-06-03');
EXECUTE q('2024-06-04');
EXECUTE q('2024-06-05');
EXECUTE q('2024-06-06');
EXECUTE q('2024-06-07');
EXECUTE q('2024-06-08');
EXECUTE q('2024-06-09');
EXECUTE q('2024-06-20');
SELECT test.calls('extrato') AS calls, test.calls('token') AS tokens;
-- Each execution asked for its own day and got the bank's rows for it.
SELECT count(*) AS days,
       count(*) FILTER (WHERE g.n = (s ->> 'count')::int
                          AND g.total = (s ->> 'sum_c')::numeric + (s ->> 'sum_d')::numeric) AS matching
FROM got g, LATERAL test.mock('GET', format('/summary?dataInicio=%s&dataFim=%s',
                                            to_char(g.d, 'YYYY-MM-DD'), to_char(g.d, 'YYYY-MM-DD'))) s;
SELECT DISTINCT substr(q, 1, 40) AS request FROM test.requests('extrato') q ORDER BY 1;

-- Forced generic plan: the same, and EXPLAIN EXECUTE shows the request for these values.
SET plan_cache_mode = force_generic_plan;
PREPARE r(date, date) AS SELECT count(*) FROM inter.extrato WHERE data_transacao BETWEEN $1 AND $2;
EXECUTE r('2024-06-20', '2024-06-20');
EXECUTE r('2024-06-19', '2024-06-20');
EXPLAIN (COSTS OFF) EXECUTE r('2024-01-01', '2024-06-30');
RESET plan_cache_mode;

-- PL/pgSQL caches plans too.
CREATE FUNCTION test.day_total(d date) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT coalesce(sum(valor), 0) FROM inter.extrato WHERE data_transacao = d);
END $$;
SELECT count(*) FILTER (WHERE test.day_total(d::date) =
         (SELECT (s ->> 'sum_c')::numeric + (s ->> 'sum_d')::numeric
          FROM test.mock('GET', format('/summary?dataInicio=%s&dataFim=%s', to_char(d, 'YYYY-MM-DD'),
                                       to_char(d, 'YYYY-MM-DD'))) s)) AS matching_days
FROM generate_series('2024-07-01'::date, '2024-07-10', '1 day') d;
