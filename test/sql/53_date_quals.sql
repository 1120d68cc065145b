-- Issue 6, point 2: every date condition that bounds the date is pushed, the way PostgreSQL
-- itself evaluates it, and rechecked locally. No history_start here: a condition that was
-- not pushed would be an ERROR, one pushed wrongly gives other rows than the local copy.
-- test.t6_check(cond) (51_trust_setup) prints: n rows, same = the same rows as PostgreSQL
-- over the local copy test.t6_hist, calls to the statement, tight = the windows sent span
-- the answer's dates (give or take two days).
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';

-- Cross-type comparisons with timestamp: constants (exact range, one call).
SELECT * FROM test.t6_check($$data_transacao >= '2024-04-01'::timestamp AND data_transacao < '2024-04-02'::timestamp$$);
SELECT * FROM test.t6_check($$data_transacao > '2024-04-01 12:00'::timestamp AND data_transacao <= '2024-04-03 00:00'::timestamp$$);
SELECT DISTINCT data_transacao FROM inter.extrato
WHERE data_transacao > '2024-04-01 12:00'::timestamp AND data_transacao <= '2024-04-03 00:00'::timestamp ORDER BY 1;
-- A lower bound alone, up to today (counts change daily: only the comparison is printed).
SELECT same, tight, n > 0 AS has_rows FROM test.t6_check($$data_transacao >= '2024-04-01'::timestamp$$);
SELECT same, tight, n > 0 AS has_rows FROM test.t6_check($$data_transacao >= now() - interval '60 days'$$);
SELECT same, tight, n > 0 AS has_rows FROM test.t6_check($$data_transacao > localtimestamp - interval '10 days'$$);

-- timestamptz: a date compared with a timestamptz is midnight in the session's zone, so
-- the same instants select other days in Tokyo (+9) and Kiritimati (+14) than in UTC.
SET TimeZone = 'UTC';
SELECT * FROM test.t6_check($$data_transacao >= '2024-06-20 00:00+00'::timestamptz AND data_transacao < '2024-06-23 00:00+00'::timestamptz$$);
SELECT DISTINCT data_transacao FROM inter.extrato
WHERE data_transacao >= '2024-06-20 00:00+00'::timestamptz AND data_transacao < '2024-06-23 00:00+00'::timestamptz ORDER BY 1;
SET TimeZone = 'Asia/Tokyo';
SELECT * FROM test.t6_check($$data_transacao >= '2024-06-20 00:00+00'::timestamptz AND data_transacao < '2024-06-23 00:00+00'::timestamptz$$);
SELECT DISTINCT data_transacao FROM inter.extrato
WHERE data_transacao >= '2024-06-20 00:00+00'::timestamptz AND data_transacao < '2024-06-23 00:00+00'::timestamptz ORDER BY 1;
SELECT same, tight, n > 0 AS has_rows FROM test.t6_check($$data_transacao >= now() - interval '60 days'$$);
SET TimeZone = 'Pacific/Kiritimati';
SELECT * FROM test.t6_check($$data_transacao >= '2024-06-20 00:00+00'::timestamptz AND data_transacao < '2024-06-23 00:00+00'::timestamptz$$);
SELECT * FROM test.t6_check($$data_transacao BETWEEN '2024-06-20 12:00-03'::timestamptz AND '2024-06-21 12:00-03'::timestamptz$$);
SET TimeZone = 'Pacific/Pago_Pago';
SELECT * FROM test.t6_check($$data_transacao > '2024-06-20 00:00+00'::timestamptz AND data_transacao <= '2024-06-22 12:00+00'::timestamptz$$);

-- Casts of the column to timestamp / timestamptz.
SET TimeZone = 'Asia/Tokyo';
SELECT * FROM test.t6_check($$data_transacao::timestamptz >= '2024-06-20 00:00+00' AND data_transacao::timestamptz < '2024-06-21 00:00+00'$$);
SELECT DISTINCT data_transacao FROM inter.extrato
WHERE data_transacao::timestamptz >= '2024-06-20 00:00+00' AND data_transacao::timestamptz < '2024-06-21 00:00+00';
SELECT * FROM test.t6_check($$data_transacao::timestamp BETWEEN '2024-06-20' AND '2024-06-20 23:59'$$);
SELECT * FROM test.t6_check($$CAST(data_transacao AS timestamp with time zone) = '2024-06-20 00:00+09'$$);

-- date_trunc compared with a constant: day, week, month, quarter, year (and the same for
-- the column cast to timestamp). May 2024 is exactly the bank's rows for May.
SET TimeZone = 'America/Sao_Paulo';
SELECT * FROM test.t6_check($$date_trunc('month', data_transacao) = '2024-05-01'$$);
SELECT count(*) AS n, sum(valor) AS total FROM inter.extrato WHERE date_trunc('month', data_transacao) = '2024-05-01';
SELECT n, sum_c + sum_d AS total FROM test.t6_summary('2024-05-01', '2024-05-31');
SELECT * FROM test.t6_check($$date_trunc('day', data_transacao) = '2024-06-20'$$);
SELECT * FROM test.t6_check($$date_trunc('week', data_transacao) = '2024-06-17'$$);
SELECT * FROM test.t6_check($$date_trunc('quarter', data_transacao) = '2024-04-01'$$);
SELECT * FROM test.t6_check($$date_trunc('year', data_transacao) = '2023-01-01'$$);
SELECT * FROM test.t6_check($$date_trunc('month', data_transacao::timestamp) = '2024-02-01'::timestamp$$);
SELECT * FROM test.t6_check($$date_trunc('month', data_transacao) BETWEEN '2024-05-01' AND '2024-06-01'$$);
SET TimeZone = 'Asia/Tokyo';
SELECT * FROM test.t6_check($$date_trunc('month', data_transacao) = '2024-05-01'$$);
-- An instant no truncated date equals: no rows (and no error).
SELECT n, same FROM test.t6_check($$date_trunc('month', data_transacao) = '2024-05-01 00:00+00'::timestamptz$$);

-- EXTRACT / date_part of year, month and day with =, IN and ranges. 2025 is the bank's
-- whole year (busy March days included). Calls are not printed: how many pages the busy
-- days take, and whether two months are one window or two, is the implementation's.
SET TimeZone = 'America/Sao_Paulo';
SELECT n, same, tight FROM test.t6_check($$EXTRACT(year FROM data_transacao) = 2025$$);
SELECT count(*) AS n, sum(valor) AS total FROM inter.extrato WHERE EXTRACT(year FROM data_transacao) = 2025;
SELECT n, sum_c + sum_d AS total FROM test.t6_summary('2025-01-01', '2025-12-31');
SELECT n, same, tight FROM test.t6_check($$EXTRACT(year FROM data_transacao) = 2024 AND EXTRACT(month FROM data_transacao) = 5$$);
SELECT n, same, tight FROM test.t6_check($$EXTRACT(year FROM data_transacao) = 2024 AND EXTRACT(month FROM data_transacao) IN (2, 3)$$);
SELECT n, same, tight FROM test.t6_check($$date_part('year', data_transacao) BETWEEN 2023 AND 2023
                          AND date_part('month', data_transacao) = 12 AND date_part('day', data_transacao) = 25$$);
SELECT n, same FROM test.t6_check($$EXTRACT(year FROM data_transacao) IN (2023, 2024) AND EXTRACT(month FROM data_transacao) = 2
                          AND EXTRACT(day FROM data_transacao) = 29$$);
SELECT n, same, tight FROM test.t6_check($$EXTRACT(year FROM data_transacao) >= 2024 AND EXTRACT(year FROM data_transacao) < 2025
                          AND EXTRACT(month FROM data_transacao) = 6 AND EXTRACT(day FROM data_transacao) BETWEEN 20 AND 21$$);

-- IN / = ANY: one window per date, adjacent dates merged. Two dates almost four years
-- apart are two calls (not the 16 windows of their hull).
SELECT * FROM test.t6_check($$data_transacao IN ('2023-01-05', '2026-11-05')$$);
SELECT * FROM test.t6_windows();
SELECT count(*) AS n, sum(valor) AS total FROM inter.extrato WHERE data_transacao IN ('2023-01-05', '2026-11-05');
SELECT sum(n) AS n, sum(sum_c + sum_d) AS total
FROM (SELECT * FROM test.t6_summary('2023-01-05', '2023-01-05') UNION ALL SELECT * FROM test.t6_summary('2026-11-05', '2026-11-05')) s;
SELECT * FROM test.t6_check($$data_transacao IN ('2024-06-21', '2024-09-15', '2024-06-20', '2024-06-22')$$);
SELECT * FROM test.t6_windows();
SELECT * FROM test.t6_check($$data_transacao = ANY (ARRAY['2024-06-20', '2025-01-02']::date[])$$);
SELECT * FROM test.t6_windows();
SELECT * FROM test.t6_check($$data_transacao = ANY (ARRAY['2024-06-20 00:00', '2025-01-02 00:00']::timestamp[])$$);
SELECT n, same FROM test.t6_check($$data_transacao = ANY (ARRAY['2024-06-20 10:00']::timestamp[])$$);

-- data_inclusao (timestamptz): dates, timestamps and timestamptz, in the session's zone,
-- widened to whole Brasília days for the request and rechecked exactly.
SET TimeZone = 'Asia/Tokyo';
SELECT * FROM test.t6_check($$data_inclusao >= '2024-06-20'::date AND data_inclusao < '2024-06-21'::date$$);
SELECT * FROM test.t6_check($$date_trunc('day', data_inclusao) = '2024-06-20'$$);
SET TimeZone = 'UTC';
SELECT * FROM test.t6_check($$data_inclusao BETWEEN '2024-06-20 00:00'::timestamp AND '2024-06-20 12:00'::timestamp$$);
SELECT * FROM test.t6_check($$data_inclusao::timestamp >= '2024-06-21' AND data_inclusao::timestamp < '2024-06-22'$$);
SELECT same, tight, n > 0 AS has_rows FROM test.t6_check($$data_inclusao >= now() - interval '20 days'$$);
SELECT * FROM test.t6_check($$EXTRACT(year FROM data_inclusao) = 2024 AND EXTRACT(month FROM data_inclusao) = 1
                          AND EXTRACT(day FROM data_inclusao) = 1$$);

-- Parameters of either type, as ORMs, JDBC and psycopg send them; 7 executions each, so
-- the generic plan runs too. Each execution reads its own day, with one call.
SET TimeZone = 'America/Sao_Paulo';
CREATE TEMP TABLE got (lo timestamptz, hi timestamptz, n bigint, total numeric);
PREPARE ptz(timestamptz, timestamptz) AS INSERT INTO got
  SELECT $1, $2, count(*), sum(valor) FROM inter.extrato WHERE data_transacao >= $1 AND data_transacao < $2;
SELECT test.reset();
EXECUTE ptz('2024-06-20 00:00-03', '2024-06-21 00:00-03');
EXECUTE ptz('2023-02-01 00:00-03', '2023-02-02 00:00-03');
EXECUTE ptz('2024-01-10 00:00-03', '2024-01-11 00:00-03');
EXECUTE ptz('2024-03-01 00:00-03', '2024-03-03 00:00-03');
EXECUTE ptz('2025-08-15 00:00-03', '2025-08-16 00:00-03');
EXECUTE ptz('2025-12-24 00:00-03', '2025-12-25 00:00-03');
EXECUTE ptz('2026-01-05 00:00-03', '2026-01-06 00:00-03');
SELECT test.calls('extrato') AS calls;
SELECT count(*) AS executions,
       count(*) FILTER (WHERE g.n = l.n AND g.total IS NOT DISTINCT FROM l.total) AS same_as_local
FROM got g, LATERAL (SELECT count(*) AS n, sum(valor) AS total FROM test.t6_hist
                     WHERE data_transacao >= g.lo AND data_transacao < g.hi) l;
SELECT n, total FROM got WHERE lo = '2024-06-20 00:00-03';
TRUNCATE got;
-- psycopg sends a naive datetime as timestamp; the day of $1.
PREPARE pts(timestamp) AS INSERT INTO got
  SELECT $1, $1 + interval '1 day', count(*), sum(valor) FROM inter.extrato
  WHERE data_transacao >= $1 AND data_transacao < $1 + interval '1 day';
SELECT test.reset();
EXECUTE pts('2024-06-20');
EXECUTE pts('2023-02-01');
EXECUTE pts('2024-01-10');
EXECUTE pts('2024-03-01');
EXECUTE pts('2025-08-15');
EXECUTE pts('2025-12-24');
EXECUTE pts('2026-01-05');
SELECT test.calls('extrato') AS calls;
SELECT count(*) AS executions,
       count(*) FILTER (WHERE g.n = l.n AND g.total IS NOT DISTINCT FROM l.total) AS same_as_local
FROM got g, LATERAL (SELECT count(*) AS n, sum(valor) AS total FROM test.t6_hist
                     WHERE data_transacao >= g.lo::timestamp AND data_transacao < g.hi::timestamp) l;
TRUNCATE got;
-- A generic plan in Tokyo with timestamptz parameters on data_inclusao.
SET TimeZone = 'Asia/Tokyo';
SET plan_cache_mode = force_generic_plan;
PREPARE pinc(timestamptz, timestamptz) AS INSERT INTO got
  SELECT $1, $2, count(*), sum(valor) FROM inter.extrato WHERE data_inclusao >= $1 AND data_inclusao < $2;
SELECT test.reset();
EXECUTE pinc('2024-06-20 00:00', '2024-06-21 00:00');
EXECUTE pinc('2024-06-20 12:00-03', '2024-06-20 23:30-03');
EXECUTE pinc('2023-12-31 00:00', '2024-01-01 00:00');
SELECT count(*) AS executions,
       count(*) FILTER (WHERE g.n = l.n AND g.total IS NOT DISTINCT FROM l.total) AS same_as_local
FROM got g, LATERAL (SELECT count(*) AS n, sum(valor) AS total FROM test.t6_hist
                     WHERE data_inclusao >= g.lo AND data_inclusao < g.hi) l;
SELECT n, total FROM got WHERE lo = '2024-06-20 12:00-03';
RESET plan_cache_mode;
DEALLOCATE ALL;
