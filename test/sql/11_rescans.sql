-- Rescans, stored rows and memory: a nested loop whose inner statement scan is rewound with
-- its rows spilled to disk (once a crash), temporary files released, pushed values that do
-- not accumulate across rescans, collations, and EXPLAIN that never fails.
\getenv server_log PIX_SERVER_LOG

-- The same rows as local tables, to compare with.
CREATE TEMP TABLE day_rows AS SELECT * FROM inter.extrato WHERE data_transacao = '2024-06-20';
CREATE TEMP TABLE quarter_rows AS SELECT * FROM inter.extrato WHERE data_transacao BETWEEN '2024-03-01' AND '2024-05-31';
SELECT count(*) AS quarter_count FROM quarter_rows;

-- 1. A left join forces the one-day scan outside and the three-month scan inside a nested
-- loop; the inner is rewound for every outer row and replays its rows from a store that
-- spills past work_mem = 64kB. Right count, no crash, no second call for the inner.
SELECT test.reset();
SET work_mem = '64kB';
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT * FROM test.explain($$SELECT count(*) FROM inter.extrato a LEFT JOIN inter.extrato b ON b.valor > a.valor
  AND b.data_transacao BETWEEN '2024-03-01' AND '2024-05-31' WHERE a.data_transacao = '2024-06-20'$$) l
WHERE l !~ 'Pix Requests|Filter|Join Filter';
SELECT count(*) AS pairs, count(*) = (SELECT count(*) FROM day_rows a LEFT JOIN quarter_rows b ON b.valor > a.valor)
  AS same_as_local
FROM inter.extrato a LEFT JOIN inter.extrato b ON b.valor > a.valor
  AND b.data_transacao BETWEEN '2024-03-01' AND '2024-05-31'
WHERE a.data_transacao = '2024-06-20';
-- One call for the day, two for the 92 days (two windows): nothing asked twice.
SELECT test.calls('extrato') AS calls;
-- The same with the rows read back as whole rows (every column through the store).
SELECT count(*) = (SELECT count(*) FROM day_rows a LEFT JOIN quarter_rows b ON b.valor > a.valor AND b.detalhes IS NOT NULL)
  AS whole_rows_same
FROM inter.extrato a LEFT JOIN inter.extrato b ON b.valor > a.valor AND b.detalhes IS NOT NULL
  AND b.data_transacao BETWEEN '2024-03-01' AND '2024-05-31'
WHERE a.data_transacao = '2024-06-20';
RESET work_mem;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- 2. The store's temporary file is released at the end of the scan: no "temporary file
-- leak" warning (it would show above) nor in the server log.
SELECT count(*) AS leak_warnings FROM regexp_matches(pg_read_file(:'server_log'), '\] WARNING: {2}temporary file leak', 'g');

-- 9. Values pushed on every rescan live in a per-rescan context: a correlated subplan
-- rescanned 100 000 times (one call, then replays) peaks no higher than one rescanned 1 000
-- times.
CREATE FUNCTION test.peak_kb() RETURNS int LANGUAGE sql AS
  $$ SELECT substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\s*(\d+)')::int $$;
CREATE TEMP TABLE outer_rows AS SELECT g FROM generate_series(1, 100000) g;  -- a plain scan: nothing buffered
SELECT test.reset();
SELECT count(*) FROM outer_rows
WHERE g <= 1000 AND (SELECT count(*) FROM inter.extrato e WHERE e.data_transacao = '2024-06-20'::date + (g * 0)) = 5;
SELECT test.peak_kb() AS peak_1k \gset
SELECT count(*) FROM outer_rows
WHERE (SELECT count(*) FROM inter.extrato e WHERE e.data_transacao = '2024-06-20'::date + (g * 0)) = 5;
SELECT test.peak_kb() - :peak_1k < 1024 AS memory_flat, test.calls('extrato') AS calls;

-- 4. Under a nondeterministic collation 'c' = 'C': the condition is not sent (the bank
-- compares bytes), the local recheck decides.
CREATE COLLATION test.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
SELECT test.reset();
SELECT count(*) = (SELECT count(*) FROM day_rows WHERE tipo_operacao = 'C') AS same_as_local
FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'c' COLLATE test.ci;
SELECT count(*) = (SELECT count(*) FROM day_rows WHERE tipo_operacao = 'C') AS same_as_local
FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'C' COLLATE test.ci;
SELECT * FROM test.requests('extrato');
-- Under a deterministic one it is sent.
SELECT test.reset();
SELECT count(*) > 0 AS some FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'C' COLLATE "C";
SELECT * FROM test.requests('extrato');

-- 10. Plain EXPLAIN never fails for what execution would report; it shows it instead.
SELECT * FROM test.explain($$SELECT * FROM inter.extrato WHERE tipo_operacao = 'C'$$);
SELECT count(*) FROM inter.extrato WHERE tipo_operacao = 'C';
-- EXPLAIN shows exactly the requests that are sent (one builder for both).
SELECT test.reset();
SELECT count(*) FROM small.extrato WHERE data_transacao BETWEEN '2024-06-20' AND '2024-06-21' AND tipo_operacao = 'D';
SELECT (SELECT string_agg(r, ', ') FROM test.requests('extrato') r WHERE r LIKE '%pagina=0%') =
       (SELECT substring(l FROM 'Pix Requests: (.*)$') FROM test.explain(
          $$SELECT * FROM small.extrato WHERE data_transacao BETWEEN '2024-06-20' AND '2024-06-21' AND tipo_operacao = 'D'$$) l
        WHERE l LIKE '%Pix Requests%') AS explain_is_what_is_sent;
-- The path cost counts the local filters: an expensive filter makes the scan dearer.
CREATE FUNCTION test.plan_cost(query text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE j json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO j;
  RETURN (j -> 0 -> 'Plan' ->> 'Total Cost')::numeric;
END $$;
CREATE FUNCTION test.slow_check(numeric) RETURNS bool LANGUAGE plpgsql IMMUTABLE COST 10000 AS $$ BEGIN RETURN $1 > 0; END $$;
SELECT test.plan_cost($$SELECT * FROM inter.extrato WHERE data_transacao = '2024-06-20' AND test.slow_check(valor)$$) >
       test.plan_cost($$SELECT * FROM inter.extrato WHERE data_transacao = '2024-06-20' AND valor > 0$$) + 1000
  AS filter_cost_counted;
