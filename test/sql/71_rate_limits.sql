-- Client-side rate limits (server option rate_limits), here in one backend (pix_fdw not
-- preloaded; test/integration/preload.sh checks them across backends), the statement's
-- time limit on every wait, the token endpoint's 429 waited out, and retries.
\getenv certs PIX_CERTS
\getenv mock_url PIX_MOCK_URL
SELECT test.reset();

-- Values: 'on', 'off', or per-endpoint budgets; anything else is refused with a hint.
CREATE SERVER rl_bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (rate_limits 'sometimes');
CREATE SERVER rl_bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (rate_limits 'boletos=10/min');
CREATE SERVER rl_bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (rate_limits 'extrato=10');
CREATE SERVER rl_bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (rate_limits 'extrato=0/min');
CREATE SERVER rl_bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (rate_limits 'extrato=10/fortnight');
CREATE SERVER rl_bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (rate_limits 'extrato=10/2h');
CREATE SERVER rl_ok FOREIGN DATA WRAPPER pix_fdw OPTIONS (rate_limits 'on');
ALTER SERVER rl_ok OPTIONS (SET rate_limits 'off');
ALTER SERVER rl_ok OPTIONS (SET rate_limits ' extrato = 20/min, saldo=5/30s ,token=off, pix=1/s');
DROP SERVER rl_ok;

-- A server at the mock with the given rate_limits ('' = the default), its user mapping and
-- a statement table.
CREATE FUNCTION test.rl_server(name text, limits text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE certs text := (SELECT v FROM test.settings WHERE k = 'certs');
BEGIN
  EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L, cache_ttl ''0''%s)',
                 name, (SELECT v FROM test.settings WHERE k = 'url'), certs || '/ca.crt',
                 CASE WHEN limits = '' THEN '' ELSE format(', rate_limits %L', limits) END);
  EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
                 name, 'pix-test-client', 'pix-test-secret', certs || '/client.crt', certs || '/client.key');
  EXECUTE format('CREATE FOREIGN TABLE %I (valor numeric, data_transacao date) SERVER %I OPTIONS (endpoint ''extrato'')',
                 name || '_extrato', name);
END $$;
-- Runs n one-day statement queries (different days) in one statement; returns the rows.
CREATE FUNCTION test.rl_days(tbl text, n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE total bigint := 0; c bigint;
BEGIN
  FOR i IN 1..n LOOP
    EXECUTE format('SELECT count(*) FROM %I WHERE data_transacao = %L', tbl, '2024-05-01'::date + i) INTO c;
    total := total + c;
  END LOOP;
  RETURN total;
END $$;

-- 2 calls a second: six calls go at 0, 0, 1, 1, 2, 2 s (plus a 2% margin), so the six
-- queries take at least 2 s; without the limit they take a fraction of that.
SELECT test.rl_server('rl_fast', 'extrato=2/s');
SELECT test.reset();
SELECT clock_timestamp() AS t0 \gset
SELECT test.rl_days('rl_fast_extrato', 6) > 0 AS has_rows;
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '2 s' AS waited_its_turn,
       clock_timestamp() - :'t0'::timestamptz < interval '30 s' AS not_stuck,
       test.calls('extrato') AS extrato_calls;

-- 'off': no waiting at all.
ALTER SERVER rl_fast OPTIONS (SET rate_limits 'off');
SELECT test.reset();
SELECT clock_timestamp() AS t0 \gset
SELECT test.rl_days('rl_fast_extrato', 6) > 0 AS has_rows;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS no_wait, test.calls('extrato') AS extrato_calls;

-- The default ('on') keeps to the bank's 10 statement calls a minute. With the mock's own
-- limits on: ten calls go through, the eleventh would have to wait about a minute, longer
-- than statement_timeout allows, so it fails at once, saying which limit and how long; the
-- bank never answered 429.
SELECT test.rl_server('rl_default', '');
SELECT test.reset();
SELECT test.mock('POST', '/config', '{"rate_limits":true}') IS NOT NULL AS bank_limits_on;
SELECT test.rl_days('rl_default_extrato', 10) > 0 AS ten_calls;
SET statement_timeout = '5s';
SELECT clock_timestamp() AS t0 \gset
SELECT regexp_replace(test.try($$SELECT count(*) FROM rl_default_extrato WHERE data_transacao = '2024-06-20'$$),
                      'in \d+\.\d s', 'in N s') AS error;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '2 s' AS failed_at_once;
RESET statement_timeout;
SELECT test.calls('extrato') AS extrato_calls,
       (SELECT count(*) FROM jsonb_array_elements(test.mock('GET', '/requests')) r WHERE r ->> 'status' = '429') AS bank_429s;
SELECT test.mock('POST', '/config', '{"rate_limits":false}') IS NOT NULL AS bank_limits_off;

-- A 429 from the token endpoint is waited out (Retry-After 1 s) and the query goes on.
SELECT test.rl_server('rl_token', 'off');
SELECT test.reset();
SELECT test.fault('{"endpoint":"token","kind":"status","status":429,"count":1}');
SELECT count(*) > 0 AS has_rows FROM rl_token_extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS token_calls;
-- ... but not past statement_timeout: a Retry-After of 30 s in a statement that has 2 s
-- left is reported at once.
SELECT test.rl_server('rl_token2', 'off');
SELECT test.reset();
SELECT test.fault('{"endpoint":"token","kind":"status","status":429,"count":1,"retry_after_date":30}');
SET statement_timeout = '2s';
SELECT clock_timestamp() AS t0 \gset
SELECT regexp_replace(test.try($$SELECT count(*) FROM rl_token2_extrato WHERE data_transacao = '2024-06-20'$$),
                      'after \d+ s', 'after N s') AS error;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS reported_at_once, test.calls('token') AS token_calls;
RESET statement_timeout;
SELECT test.reset();

-- The same for a statement call's 429 (Retry-After 30 s, 2 s left): one call, at once.
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1,"retry_after_date":30}');
SET statement_timeout = '2s';
SELECT clock_timestamp() AS t0 \gset
SELECT test.try($$SELECT count(*) FROM rl_token_extrato WHERE data_transacao = '2024-06-21'$$) ~ '^53400: the bank answered HTTP 429' AS refused;
SELECT clock_timestamp() - :'t0'::timestamptz < interval '1.5 s' AS reported_at_once, test.calls('extrato') AS extrato_calls;
RESET statement_timeout;
SELECT test.reset();

-- Retries of a GET back off (at least 125 ms, then 500 ms, drawn at random) and are bounded:
-- three 502s in a row are three calls and an error (07_errors: two are retried to success).
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":502,"count":3}');
SELECT clock_timestamp() AS t0 \gset
SELECT test.try($$SELECT count(*) FROM rl_token_extrato WHERE data_transacao = '2024-06-22'$$) ~ '^HV000: the bank answered HTTP 502' AS failed;
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '0.6 s' AS backed_off, test.calls('extrato') AS extrato_calls;
SELECT test.reset();
-- A refused connection is retried too (nothing listens on port 1 of this machine).
CREATE SERVER rl_nowhere FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://127.0.0.1:1', rate_limits 'off');
\set ECHO none
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER rl_nowhere OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
CREATE FOREIGN TABLE rl_nowhere_extrato (valor numeric, data_transacao date) SERVER rl_nowhere OPTIONS (endpoint 'extrato');
SELECT clock_timestamp() AS t0 \gset
SELECT test.try($$SELECT count(*) FROM rl_nowhere_extrato WHERE data_transacao = '2024-06-22'$$) AS error;
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '0.6 s' AS retried_with_backoff;

SET client_min_messages = warning;
DROP SERVER rl_fast, rl_default, rl_token, rl_token2, rl_nowhere CASCADE;
RESET client_min_messages;
