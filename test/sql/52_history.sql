-- Issue 6, point 1: the foreign table is the whole account history; nothing narrows it
-- silently. No lower date bound: read from the server option history_start up to the upper
-- bound (or today); without history_start that is an ERROR whose hint names the way out.
-- default_window is an explicit table option only, and EXPLAIN says when it applies.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';

-- Without history_start: an upper bound alone, no date condition at all, and a date
-- condition that cannot be sent are ERRORs (never a guessed window), before any call.
SELECT test.reset();
SELECT failed, hint ~ 'history_start' AS hint_names_history_start, hint ~* 'bound' AS hint_says_add_a_bound
FROM test.t6_try($$SELECT count(*) FROM inter.extrato WHERE data_transacao <= '2026-06-30'$$);
SELECT failed, hint ~ 'history_start' AS hint_names_history_start, hint ~* 'bound' AS hint_says_add_a_bound
FROM test.t6_try($$SELECT count(*) FROM inter.extrato$$);
SELECT failed, hint ~ 'history_start' AS hint_names_history_start
FROM test.t6_try($$SELECT count(*) FROM inter.extrato WHERE to_char(data_transacao, 'YYYY-MM') = '2024-06'$$);
SELECT failed, hint ~ 'history_start' AS hint_names_history_start
FROM test.t6_try($$SELECT count(*) FROM inter.extrato WHERE data_inclusao < '2024-06-20 12:00-03'$$);
SELECT test.calls('extrato') AS calls;

-- history_start is a date; anything else is refused.
SELECT failed FROM test.t6_try($$ALTER SERVER inter OPTIONS (ADD history_start 'yesterday-ish')$$);
ALTER SERVER inter OPTIONS (ADD history_start '2023-01-01');

-- An upper bound alone: the history from history_start up to the bound, exactly the bank's
-- rows for 2023-01-01 .. 2026-06-30.
SELECT test.reset();
SELECT count(*) AS n, sum(valor) FILTER (WHERE tipo_operacao = 'C') AS credits,
       sum(valor) FILTER (WHERE tipo_operacao = 'D') AS debits
FROM inter.extrato WHERE data_transacao <= '2026-06-30';
SELECT * FROM test.t6_summary('2023-01-01', '2026-06-30');
SELECT min(inicio) AS first_asked, max(fim) AS last_asked FROM test.t6_windows();

-- No date condition at all: the whole history up to today (compared with the bank's own
-- count and sums for the same range, so the output does not change from day to day).
SELECT test.reset();
SELECT count(*) = s.n AS count_ok,
       sum(valor) FILTER (WHERE tipo_operacao = 'C') = s.sum_c AS credits_ok,
       sum(valor) FILTER (WHERE tipo_operacao = 'D') = s.sum_d AS debits_ok
FROM inter.extrato, test.t6_summary('2023-01-01', test.t6_today()) s GROUP BY s.n, s.sum_c, s.sum_d;
SELECT min(inicio) AS first_asked, max(fim) = test.t6_today() AS last_asked_is_today FROM test.t6_windows();

-- A date condition that still cannot be pushed is evaluated over that history: June 2024.
SELECT n, same FROM test.t6_check($$to_char(data_transacao, 'YYYY-MM') = '2024-06'$$);
SELECT count(*), sum(valor) FROM inter.extrato WHERE to_char(data_transacao, 'YYYY-MM') = '2024-06';
SELECT n, sum_c + sum_d AS total FROM test.t6_summary('2024-06-01', '2024-06-30');

-- An upper bound on data_inclusao (timestamptz) alone: the history up to that instant.
SELECT * FROM test.t6_check($$data_inclusao < '2023-01-03 12:00-03'$$);
SELECT min(inicio) AS first_asked, max(fim) AS last_asked FROM test.t6_windows();
SELECT id_transacao, data_inclusao, valor FROM inter.extrato
WHERE data_inclusao < '2023-01-01 12:00-03' ORDER BY data_inclusao;

ALTER SERVER inter OPTIONS (DROP history_start);

-- IMPORT FOREIGN SCHEMA accepts history_start and gives it to the tables it creates: here the
-- history starts on the fixture day, so "up to 2024-06-20" is that day's five rows.
CREATE SCHEMA h52;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO h52 OPTIONS (history_start '2024-06-20');
SELECT test.reset();
SELECT count(*) AS n, sum(valor) AS total FROM h52.extrato WHERE data_transacao <= '2024-06-20';
SELECT * FROM test.t6_windows();
DROP SCHEMA h52 CASCADE;

-- default_window: only when the user sets it, only for queries with no date condition at
-- all, and EXPLAIN says it applies. Here: a table reading the last 3 days by default.
CREATE FOREIGN TABLE test.t6_recent (id_transacao text, data_transacao date, valor numeric, tipo_operacao text)
  SERVER inter OPTIONS (endpoint 'extrato', default_window '3 days');
SELECT test.reset();
SELECT count(*) AS n INTO TEMP recent_n FROM test.t6_recent;
SELECT w.hi = test.t6_today() AS ends_today, test.t6_today() - w.lo BETWEEN 2 AND 3 AS three_days,
       r.n = s.n AS rows_of_that_window
FROM (SELECT min(inicio) AS lo, max(fim) AS hi FROM test.t6_windows()) w, recent_n r, test.t6_summary(w.lo, w.hi) s;
SELECT count(*) > 0 AS explain_says_default_window
FROM test.explain($$SELECT * FROM test.t6_recent$$) l WHERE l ~* 'default_window|3 days';
-- With a date condition, default_window does not apply: an upper bound alone is still the
-- ERROR of point 1 (no history_start), and a real bound reads exactly that range.
SELECT failed, hint ~ 'history_start' AS hint_names_history_start
FROM test.t6_try($$SELECT count(*) FROM test.t6_recent WHERE data_transacao <= '2026-06-30'$$);
SELECT test.reset();
SELECT count(*) AS n, sum(valor) AS total FROM test.t6_recent WHERE data_transacao = '2024-06-20';
SELECT * FROM test.t6_windows();
SELECT count(*) AS explain_lines_naming_default_window
FROM test.explain($$SELECT * FROM test.t6_recent WHERE data_transacao = '2024-06-20'$$) l WHERE l ~* 'default_window';
DROP FOREIGN TABLE test.t6_recent;

-- The tables IMPORT creates have no default_window: no condition is the ERROR of point 1.
SELECT failed FROM test.t6_try($$SELECT count(*) FROM inter.extrato$$);
