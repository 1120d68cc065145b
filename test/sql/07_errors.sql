-- Errors are errors, never empty rows: bank 4xx/5xx with the bank's title/detail/violations,
-- bounded retries of idempotent reads, TLS failures with hints, and secrets kept out.
\getenv certs PIX_CERTS
\getenv mock_url PIX_MOCK_URL
SELECT test.reset();
-- test.try prints sqlstate, message and hint of an error (details vary with OpenSSL and
-- timing), and checks that no secret is in any of them.
CREATE FUNCTION test.try(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hint text; detail text;
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN others THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT, detail = PG_EXCEPTION_DETAIL;
  IF msg || hint || detail LIKE '%pix-test-secret%' OR msg || hint || detail LIKE '%BEGIN PRIVATE%' THEN
    RETURN 'SECRET LEAKED';
  END IF;
  RETURN st || ': ' || msg || E'\nHINT: ' || coalesce(hint, '');
END $$;

-- A short 5xx burst is retried; the query succeeds and EXPLAIN ANALYZE counts the retries.
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":503,"count":2}');
SELECT * FROM test.explain_analyze($$SELECT * FROM inter.extrato WHERE data_transacao = '2024-06-20'$$);
-- A longer one is an error with the bank's message.
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":503,"count":5}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.reset();
-- 400 carries the bank's title, detail and violations, and is not retried.
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":400,"count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS calls;
-- An empty 500 body still says what happened.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"empty_body","status":500,"count":3}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
-- 429 with Retry-After is waited for once, then the query goes on.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS calls;
-- ... unless the wait is longer than max_retry_wait allows.
ALTER SERVER inter OPTIONS (ADD max_retry_wait '0');
SELECT test.fault('{"endpoint":"extrato","kind":"status","status":429,"count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
ALTER SERVER inter OPTIONS (DROP max_retry_wait);
-- The bank's own per-minute limit (here 2 statement calls a minute) answers 429; with no
-- time to wait for, that is an error with the bank's Retry-After in the hint.
SELECT test.reset();
SELECT test.mock('POST', '/config', '{"rate_limits":true,"limits":{"extrato":2,"token":0}}') IS NOT NULL AS limits_on;
ALTER SERVER inter OPTIONS (ADD max_retry_wait '0');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-21';
SELECT test.try($$SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-22'$$) ~ '^53400: the bank answered HTTP 429' AS rate_limited;
-- The token endpoint's own limit (5 a minute; here 1): changing the server drops the token,
-- the first new one is granted, the second is refused with a clear error.
SELECT test.mock('POST', '/config', '{"limits":{"extrato":0,"token":1}}') IS NOT NULL AS token_limit_on;
ALTER SERVER inter OPTIONS (SET max_retry_wait '0 s');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-22';
ALTER SERVER inter OPTIONS (SET max_retry_wait '0');
SELECT test.try($$SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-22'$$);
SELECT test.mock('POST', '/config', '{"rate_limits":false,"limits":{"extrato":10,"token":5}}') IS NOT NULL AS limits_off;
ALTER SERVER inter OPTIONS (DROP max_retry_wait);
-- A value the bank would refuse (HTTP 400) is never sent: the local recheck filters it, and
-- the answer is the right one (no row has tipo_operacao 'X'), not an error.
SELECT test.reset();
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20' AND tipo_operacao = 'X';
SELECT * FROM test.requests('extrato');
-- A connection dropped mid-body is retried for pages; every row arrives once.
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"drop","count":1}');
SELECT count(*), count(DISTINCT id_transacao) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS calls;
SELECT test.fault('{"endpoint":"extrato","kind":"drop","count":-1}');
SELECT test.try($$SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.calls('extrato') AS calls_with_two_retries;
SELECT test.reset();

-- A request that takes longer than request_timeout.
CREATE SERVER slow FOREIGN DATA WRAPPER pix_fdw
  OPTIONS (url :'mock_url', request_timeout '300 ms', cache_ttl '0');
\set ECHO none
SELECT format('ALTER SERVER slow OPTIONS (ADD ca_file %L)', :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER slow OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
CREATE FOREIGN TABLE slow_extrato (valor numeric, data_transacao date) SERVER slow OPTIONS (endpoint 'extrato');
SELECT count(*) FROM slow_extrato WHERE data_transacao = '2024-06-20';
SELECT test.fault('{"endpoint":"extrato","kind":"delay","ms":2000,"count":3}');
SELECT test.try($$SELECT count(*) FROM slow_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.reset();

-- statement_timeout stops a call the bank never answers, and the next query works.
SELECT test.fault('{"endpoint":"extrato","kind":"hang","count":1}');
SET statement_timeout = '500ms';
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
RESET statement_timeout;
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.reset();

-- No date bound with default_window 'none' is an error with a hint.
CREATE FOREIGN TABLE strict_extrato (valor numeric, data_transacao date, tipo_operacao text)
  SERVER inter OPTIONS (endpoint 'extrato', default_window 'none');
SELECT count(*) FROM strict_extrato WHERE tipo_operacao = 'C';
SELECT count(*) FROM strict_extrato WHERE data_transacao <= '2024-06-20';
SELECT count(*) FROM strict_extrato WHERE data_transacao >= '2024-06-20' AND data_transacao < '2024-06-21';
SELECT test.calls('total') AS calls;

-- Credentials and certificates: each failure has its own SQLSTATE and hint; the secret
-- never appears.
CREATE FUNCTION test.make_server(name text, ca text, client_id text, secret text, cert text, key text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE certs text := (SELECT v FROM test.settings WHERE k = 'certs');
BEGIN
  EXECUTE format('CREATE SERVER %I FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L)',
                 name, (SELECT v FROM test.settings WHERE k = 'url'), certs || '/' || ca);
  EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (client_id %L, client_secret %L%s)',
                 name, client_id, secret,
                 CASE WHEN cert IS NULL THEN ''
                      ELSE format(', cert_file %L, key_file %L', certs || '/' || cert, certs || '/' || key) END);
  EXECUTE format('CREATE FOREIGN TABLE %I (valor numeric, data_transacao date) SERVER %I OPTIONS (endpoint ''extrato'')',
                 name || '_extrato', name);
END $$;
SELECT test.make_server('wrong_secret', 'ca.crt', 'pix-test-client', 'not-the-secret', 'client.crt', 'client.key');
SELECT test.try($$SELECT * FROM wrong_secret_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.make_server('no_scope', 'ca.crt', 'pix-limited-client', 'pix-limited-secret', 'client.crt', 'client.key');
SELECT test.try($$SELECT * FROM no_scope_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.make_server('wrong_ca', 'other_ca.crt', 'pix-test-client', 'pix-test-secret', 'client.crt', 'client.key');
SELECT test.try($$SELECT * FROM wrong_ca_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.make_server('no_cert', 'ca.crt', 'pix-test-client', 'pix-test-secret', NULL, NULL);
SELECT test.try($$SELECT * FROM no_cert_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.make_server('other_cert', 'ca.crt', 'pix-test-client', 'pix-test-secret', 'other_client.crt', 'other_client.key');
SELECT test.try($$SELECT * FROM other_cert_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.make_server('expired', 'ca.crt', 'pix-test-client', 'pix-test-secret', 'expired_client.crt', 'expired_client.key');
SELECT test.try($$SELECT * FROM expired_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.make_server('mismatch', 'ca.crt', 'pix-test-client', 'pix-test-secret', 'client.crt', 'other_client.key');
SELECT test.try($$SELECT * FROM mismatch_extrato WHERE data_transacao = '2024-06-20'$$);
SELECT test.make_server('missing', 'ca.crt', 'pix-test-client', 'pix-test-secret', 'nonexistent.crt', 'client.key');
SELECT test.try($$SELECT * FROM missing_extrato WHERE data_transacao = '2024-06-20'$$);
-- The handshake failures reached the bank's TLS layer and no further.
SELECT test.calls('tls_fail') >= 2 AS handshakes_refused, test.calls('extrato') AS extrato_calls;
-- A working query after all of that.
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
