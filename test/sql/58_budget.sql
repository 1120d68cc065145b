-- Issue 6, point 8: a call budget instead of a surprise. A scan that would need more than
-- max_calls bank calls (server option, default 100) fails before its first call when the
-- windows already say so (plan time), or when it reaches the budget while paging; the
-- message gives the count. Never a partial answer.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';

-- Default budget 100: 2000-01-01 .. 2024-12-31 is 9 132 days, 102 windows of <= 90 days.
SELECT test.reset();
SELECT failed, msg ~ '\m102\M' AS message_has_the_count, msg ~ '\m100\M' AS message_has_the_budget,
       coalesce(msg, '') || coalesce(hint, '') ~ 'max_calls' AS names_max_calls
FROM test.t6_try($$SELECT count(*) FROM inter.extrato WHERE data_transacao BETWEEN '2000-01-01' AND '2024-12-31'$$);
SELECT test.calls('extrato') AS calls;
-- 100 windows exactly (2000-07-02 .. 2024-12-31, 8 949 days) is within the budget.
SELECT test.reset();
SELECT count(*) = s.n AS count_ok FROM inter.extrato, test.t6_summary('2000-07-02', '2024-12-31') s
WHERE data_transacao BETWEEN '2000-07-02' AND '2024-12-31' GROUP BY s.n;
SELECT test.calls('extrato') AS calls;

-- A smaller budget: 2024-01-01 .. 2025-03-31 (456 days) needs 6 windows.
ALTER SERVER inter OPTIONS (ADD max_calls '5');
SELECT test.reset();
SELECT failed, msg ~ '\m6\M' AS message_has_the_count, msg ~ '\m5\M' AS message_has_the_budget
FROM test.t6_try($$SELECT count(*) FROM inter.extrato WHERE data_transacao BETWEEN '2024-01-01' AND '2025-03-31'$$);
SELECT test.calls('extrato') AS calls;
-- 2024 alone (366 days, 5 windows) is within it.
SELECT test.reset();
SELECT count(*) = s.n AS count_ok FROM inter.extrato, test.t6_summary('2024-01-01', '2024-12-31') s
WHERE data_transacao BETWEEN '2024-01-01' AND '2024-12-31' GROUP BY s.n;
SELECT test.calls('extrato') AS calls;
-- IN lists count one window per date: 6 dates far apart are 6 calls, over the budget.
SELECT test.reset();
SELECT failed FROM test.t6_try($$SELECT count(*) FROM inter.extrato
  WHERE data_transacao IN ('2023-01-10', '2023-05-10', '2023-09-10', '2024-01-10', '2024-05-10', '2024-09-10')$$);
SELECT test.calls('extrato') AS calls;
-- saldo: 6 dates are 6 calls.
SELECT failed, msg ~ '\m6\M' AS message_has_the_count
FROM test.t6_try($$SELECT * FROM inter.saldo WHERE data_saldo BETWEEN '2024-06-17' AND '2024-06-22'$$);
SELECT test.calls('saldo') AS calls;
ALTER SERVER inter OPTIONS (DROP max_calls);

-- Pages as they come: a busy day (2 600 rows) read 500 rows a page takes 6 calls; with a
-- budget of 3 the scan fails when it reaches the budget, after at most 3 calls.
CREATE SCHEMA b58;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO b58 OPTIONS (page_size '500');
ALTER SERVER inter OPTIONS (ADD max_calls '3');
SELECT test.reset();
SELECT failed, msg ~ '\m3\M' AS message_has_the_budget
FROM test.t6_try($$SELECT id_transacao FROM b58.extrato WHERE data_transacao = '2025-03-10'$$);
SELECT test.calls('extrato') BETWEEN 1 AND 3 AS stopped_at_the_budget;
ALTER SERVER inter OPTIONS (SET max_calls '6');
SELECT test.reset();
SELECT count(*) AS n FROM b58.extrato WHERE data_transacao = '2025-03-10';
SELECT test.calls('extrato') AS calls;
ALTER SERVER inter OPTIONS (DROP max_calls);
DROP SCHEMA b58 CASCADE;

-- max_calls is a positive integer.
SELECT failed FROM test.t6_try($$ALTER SERVER inter OPTIONS (ADD max_calls '0')$$);
SELECT failed FROM test.t6_try($$ALTER SERVER inter OPTIONS (ADD max_calls 'many')$$);
