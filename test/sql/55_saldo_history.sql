-- Issue 6, point 4: saldo history. data_saldo ranges, BETWEEN, IN and join-driven dates make
-- one dataSaldo call per date; a future date makes no call and gives no row; a range
-- without a lower bound is point 1's error (or starts at history_start).
-- Balances: the mock's end-of-day balance is 1 300 000 000.00 plus the net of every
-- statement row since 2023-01-01 (on weekends, that of the Friday before), so each row is
-- also checked against the bank's own /summary.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';
CREATE FUNCTION test.t6_balance(d date) RETURNS numeric LANGUAGE sql AS $$
  SELECT 1300000000.00 + s.sum_c - s.sum_d
  FROM test.t6_summary('2023-01-01', CASE WHEN extract(isodow FROM d) > 5 THEN d - (extract(isodow FROM d)::int - 5) ELSE d END) s
$$;

-- BETWEEN over three past days (Wednesday to Friday): three rows, three calls.
SELECT test.reset();
SELECT data_saldo, disponivel, data_referencia, disponivel = test.t6_balance(data_saldo) AS bank_balance
FROM inter.saldo WHERE data_saldo BETWEEN '2024-06-19' AND '2024-06-21' ORDER BY data_saldo;
SELECT test.calls('saldo') AS calls;
SELECT * FROM test.requests('saldo') ORDER BY 1;

-- Ranges (> and <=), and a range over a weekend: Saturday and Sunday report Friday's.
SELECT test.reset();
SELECT data_saldo, disponivel, data_referencia, disponivel = test.t6_balance(data_saldo) AS bank_balance
FROM inter.saldo WHERE data_saldo > '2024-06-20' AND data_saldo <= '2024-06-24' ORDER BY data_saldo;
SELECT test.calls('saldo') AS calls;

-- IN: one call per listed date, in any order, duplicates once.
SELECT test.reset();
SELECT data_saldo, disponivel, data_referencia FROM inter.saldo
WHERE data_saldo IN ('2025-01-15', '2024-06-22', '2024-06-20', '2025-01-15') ORDER BY data_saldo;
SELECT test.calls('saldo') AS calls;
SELECT test.reset();
SELECT count(*) AS n FROM inter.saldo WHERE data_saldo = ANY (ARRAY['2023-03-15', '2023-03-16']::date[]);
SELECT test.calls('saldo') AS calls;

-- Join-driven dates: LATERAL and a join with a local table, one call per distinct date.
SELECT test.reset();
SELECT d.dia, s.disponivel, s.disponivel = test.t6_balance(d.dia) AS bank_balance
FROM (VALUES ('2024-06-20'::date), ('2023-03-15'), ('2024-06-20')) d(dia),
     LATERAL (SELECT disponivel FROM inter.saldo WHERE data_saldo = d.dia) s
ORDER BY d.dia;
SELECT test.calls('saldo') AS calls;
SELECT test.reset();
SELECT o.id, s.disponivel FROM test.orders6 o JOIN inter.saldo s ON s.data_saldo = o.dia ORDER BY o.id;
SELECT test.calls('saldo') AS calls;

-- A future date: no call, no row (not the bank's 400). A range reaching into the future:
-- one call per past day only.
SELECT test.reset();
SELECT count(*) AS n FROM inter.saldo WHERE data_saldo = '2099-01-01';
SELECT count(*) AS n FROM inter.saldo WHERE data_saldo = current_date + 1;
SELECT test.calls('saldo') AS calls;
SELECT test.reset();
SELECT count(*) AS n, bool_and(disponivel = test.t6_balance(data_saldo)) AS bank_balances
FROM inter.saldo WHERE data_saldo BETWEEN current_date - 1 AND current_date + 3;
SELECT test.calls('saldo') AS calls;

-- No lower bound: the ERROR of point 1, before any call.
SELECT test.reset();
SELECT failed, hint ~ 'history_start' AS hint_names_history_start
FROM test.t6_try($$SELECT * FROM inter.saldo WHERE data_saldo <= '2024-06-20'$$);
SELECT test.calls('saldo') AS calls;
-- With history_start, the same range starts there: 2024-06-18 .. 2024-06-20.
ALTER SERVER inter OPTIONS (ADD history_start '2024-06-18');
SELECT test.reset();
SELECT data_saldo, disponivel, disponivel = test.t6_balance(data_saldo) AS bank_balance
FROM inter.saldo WHERE data_saldo <= '2024-06-20' ORDER BY data_saldo;
SELECT test.calls('saldo') AS calls;
ALTER SERVER inter OPTIONS (DROP history_start);

-- Still: no condition at all is the current balance, one row, one call.
SELECT test.reset();
SELECT count(*) AS n, bool_and(data_saldo = test.t6_today()) AS today FROM inter.saldo;
SELECT test.calls('saldo') AS calls;
DROP FUNCTION test.t6_balance(date);
