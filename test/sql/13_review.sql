-- Cases found by review of the date analysis and the rescans; each compared with the same
-- query over a local copy of the rows.
CREATE TEMP TABLE wk AS SELECT * FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-17' AND '2024-06-23';

-- A rescan that fetches nothing (LIMIT 0 for one outer row), then a new parameter: the new
-- date is asked for, not the old one replayed.
CREATE TEMP TABLE dias (dia date);
INSERT INTO dias VALUES ('2024-06-20'), ('2024-06-21');
CREATE TEMP TABLE ks (n int);
INSERT INTO ks VALUES (5), (0);
SELECT d.dia, count(*) AS n FROM dias d CROSS JOIN LATERAL (
  SELECT s.valor FROM ks k CROSS JOIN LATERAL
    (SELECT e.valor FROM inter.extrato e WHERE e.data_transacao = d.dia LIMIT k.n) s
  OFFSET 0) x GROUP BY 1 ORDER BY 1;
SELECT d.dia, count(*) AS n FROM dias d CROSS JOIN LATERAL (
  SELECT s.valor FROM ks k CROSS JOIN LATERAL
    (SELECT e.valor FROM wk e WHERE e.data_transacao = d.dia LIMIT k.n) s
  OFFSET 0) x GROUP BY 1 ORDER BY 1;

-- EXTRACT(julian ...) of a timestamptz carries the time of day: not a whole-day condition.
SET TimeZone = 'UTC';
SELECT (SELECT count(*) FROM inter.extrato WHERE data_inclusao >= '2024-06-17' AND data_inclusao < '2024-06-24'
          AND EXTRACT(julian FROM data_inclusao) % 1 BETWEEN 0.55 AND 0.75) =
       (SELECT count(*) FROM wk WHERE data_inclusao >= '2024-06-17' AND data_inclusao < '2024-06-24'
          AND EXTRACT(julian FROM data_inclusao) % 1 BETWEEN 0.55 AND 0.75) AS julian_same;
-- A condition comparing two zones' dates is true between the instants sampled per day.
SELECT (SELECT count(*) FROM inter.extrato WHERE data_inclusao >= '2024-06-17' AND data_inclusao < '2024-06-24'
          AND (data_inclusao AT TIME ZONE 'UTC')::date <> (data_inclusao AT TIME ZONE 'Asia/Kolkata')::date) =
       (SELECT count(*) FROM wk WHERE data_inclusao >= '2024-06-17' AND data_inclusao < '2024-06-24'
          AND (data_inclusao AT TIME ZONE 'UTC')::date <> (data_inclusao AT TIME ZONE 'Asia/Kolkata')::date)
  AS two_zones_same;
RESET TimeZone;

-- A per-day condition that fails on one of the days probed (the Sunday: dow 0) does not make
-- plain EXPLAIN fail: the days are then bounded by the range alone.
SELECT count(*) FILTER (WHERE l LIKE '%Pix Requests: dataInicio=2024-06-17&dataFim=2024-06-23%') AS explained
FROM test.explain($$SELECT * FROM inter.extrato WHERE data_transacao BETWEEN '2024-06-17' AND '2024-06-23'
    AND 10 / EXTRACT(dow FROM data_transacao)::int > 0$$) l;

-- A date condition that reads an initplan (a list or a bound from a subquery): the subquery
-- runs before the days are worked out, in the query's own resource owner.
CREATE TEMP TABLE od (dia date);
INSERT INTO od VALUES ('2024-06-18'), ('2024-06-19'), ('2024-06-22');
SELECT test.reset();
SELECT (SELECT count(*) FROM inter.extrato WHERE data_transacao = ANY (ARRAY(SELECT dia FROM od))) =
       (SELECT count(*) FROM wk WHERE data_transacao = ANY (ARRAY(SELECT dia FROM od))) AS array_subquery_same;
SELECT (SELECT count(*) FROM inter.extrato WHERE data_transacao >= (SELECT min(dia) FROM od)
          AND data_transacao <= (SELECT max(dia) FROM od) AND EXTRACT(dow FROM data_transacao) <> 0) =
       (SELECT count(*) FROM wk WHERE data_transacao >= (SELECT min(dia) FROM od)
          AND data_transacao <= (SELECT max(dia) FROM od) AND EXTRACT(dow FROM data_transacao) <> 0)
  AS scalar_subquery_same;
SELECT * FROM test.requests('extrato');

-- A whole-row reference sees the date: it is a date condition, so a table's default window
-- does not apply to it (it is the no-lower-bound error instead).
CREATE FOREIGN TABLE test.windowed (data_transacao date, valor numeric) SERVER inter
  OPTIONS (endpoint 'extrato', default_window '3 days');
SELECT count(*) FROM test.windowed w WHERE (to_jsonb(w) ->> 'data_transacao')::date = '2024-06-20';
DROP FOREIGN TABLE test.windowed;
