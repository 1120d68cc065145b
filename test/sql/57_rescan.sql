-- Issue 6, point 7: one statement never sends the same request twice. A rescan whose pushed
-- values are unchanged replays the rows it has (bounded by work_mem, spilling to disk),
-- even without EXEC_FLAG_REWIND; a parameterized scan calls once per distinct value.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'America/Sao_Paulo';

-- The issue's case: a LATERAL subquery whose own pushed quals do not change, 5 outer rows.
-- The outer value is only in a local filter, so every rescan asks for the same day.
-- Fixture day amounts: 0.01, 24.9, 130.00, 1400.0, 1234567890.12.
SELECT test.reset();
SELECT t.m, x.n FROM (VALUES (0), (25), (131), (1401), (2000000000)) t(m),
     LATERAL (SELECT count(*) AS n FROM inter.extrato e WHERE e.data_transacao = '2024-06-20' AND e.valor > t.m) x
ORDER BY t.m;
SELECT test.calls('extrato') AS calls;

-- The same with a larger answer (a busy day, 2 600 rows) and a tiny work_mem, so the rows
-- kept for the replay spill to disk; three passes, one call, exact sums every time.
SET work_mem = '64kB';
SELECT test.reset();
SELECT t.k, x.n, x.total = s.sum_c + s.sum_d AS total_ok
FROM (VALUES (1), (2), (3)) t(k),
     LATERAL (SELECT count(*) AS n, sum(valor) AS total FROM inter.extrato e
              WHERE e.data_transacao = '2025-03-10' AND e.valor > t.k - 1000000) x,
     test.t6_summary('2025-03-10', '2025-03-10') s
ORDER BY t.k;
SELECT test.calls('extrato') AS calls;
RESET work_mem;

-- A parameterized scan: outer dates alternate (d1, d2, d1, d2, d1, d2), two distinct values,
-- two calls, and each row equals the bank's count for its day.
SELECT test.reset();
SELECT o.k, o.dia, (SELECT count(*) FROM inter.extrato e WHERE e.data_transacao = o.dia) = s.n AS count_ok
FROM (VALUES (1, '2024-06-20'::date), (2, '2024-01-10'), (3, '2024-06-20'),
             (4, '2024-01-10'), (5, '2024-06-20'), (6, '2024-01-10')) o(k, dia),
     LATERAL test.t6_summary(o.dia, o.dia) s
ORDER BY o.k;
SELECT test.calls('extrato') AS calls;
SELECT * FROM test.t6_windows();

-- Two scans of the same day in one statement: a nested loop without a Material node
-- rescans the inner one for every outer row; still at most one call per scan.
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT test.reset();
SELECT count(*) AS pairs FROM inter.extrato a JOIN inter.extrato b ON a.valor < b.valor
WHERE a.data_transacao = '2024-06-20' AND b.data_transacao = '2024-06-20';
SELECT test.calls('extrato') <= 2 AS at_most_one_call_per_scan;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- saldo: the balance of a day asked for by every outer row is one call.
SELECT test.reset();
SELECT t.k, s.disponivel > 0 AS positive FROM generate_series(1, 4) t(k),
     LATERAL (SELECT disponivel FROM inter.saldo WHERE data_saldo = '2024-06-20' AND t.k > 0) s ORDER BY t.k;
SELECT test.calls('saldo') AS calls;
