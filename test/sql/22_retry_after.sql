-- Retry-After given as an HTTP-date (RFC 9110) is seconds from now, not its first digits.
SELECT test.reset();
-- 100 s ahead and no time to wait: the error's hint reports the bank's 99-100 s (the day of
-- the month, what the first digits of the date give, is at most 31).
ALTER SERVER inter OPTIONS (ADD max_retry_wait '0');
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1,"retry_after_date":100}');
SELECT test.try($$SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'$$) AS error \gset
SELECT regexp_replace(:'error', 'after \d+ s', 'after N s') AS error,
       substring(:'error' FROM 'after (\d+) s')::int BETWEEN 99 AND 100 AS hint_has_100_s;
-- ... and with a max_retry_wait shorter than that, pix_fdw does not wait: one call.
ALTER SERVER inter OPTIONS (SET max_retry_wait '60 s');
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1,"retry_after_date":100}');
SELECT clock_timestamp() AS t0 \gset
SELECT test.try($$SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'$$) ~ '^53400: ' AS refused;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '20 s' AS did_not_wait, test.calls('extrato') AS calls;
-- 3 s ahead: waited for (at least 1.5 s: the date has whole seconds), then the query goes on.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1,"retry_after_date":3}');
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '1.5 s' AS waited, test.calls('extrato') AS calls;
-- A date in the past: retry at once.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1,"retry_after_date":-3600}');
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT clock_timestamp() - :'t0'::timestamptz < interval '20 s' AS no_long_wait, test.calls('extrato') AS calls;
ALTER SERVER inter OPTIONS (DROP max_retry_wait);
SELECT test.reset();
