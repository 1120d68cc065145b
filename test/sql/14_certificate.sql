-- pix_fdw.certificate_info(server): the current user's client certificate, read from the user
-- mapping's cert_file or cert_pem, without calling the bank.
\getenv certs PIX_CERTS
SELECT test.reset();
SELECT subject, issuer, length(serial) > 0 AS has_serial, not_before < now() AS started,
       not_after > now() + interval '1 year' AS valid_over_a_year,
       days_left = floor(extract(epoch FROM not_after - now()) / 86400)::int AS days_left_right
FROM pix_fdw.certificate_info('inter');
SELECT test.calls('token') + test.calls('extrato') AS bank_calls;
-- The same certificate given as PEM text.
\set ECHO none
SELECT format('CREATE SERVER cert_pem FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L)',
              (SELECT v FROM test.settings WHERE k = 'url'), :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER cert_pem OPTIONS (client_id %L, client_secret %L, cert_pem %L, key_pem %L)',
              'pix-test-client', 'pix-test-secret', pg_read_file(:'certs' || '/client.crt'),
              pg_read_file(:'certs' || '/client.key')) \gexec
-- An expired one is described (days_left negative), not refused.
SELECT format('CREATE SERVER cert_expired FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L)',
              (SELECT v FROM test.settings WHERE k = 'url'), :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER cert_expired OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/expired_client.crt', :'certs' || '/expired_client.key') \gexec
SELECT format('CREATE SERVER cert_none FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L)',
              (SELECT v FROM test.settings WHERE k = 'url'), :'certs' || '/ca.crt') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER cert_none OPTIONS (client_id %L, client_secret %L)',
              'pix-test-client', 'pix-test-secret') \gexec
\set ECHO all
SELECT (SELECT subject FROM pix_fdw.certificate_info('cert_pem')) = (SELECT subject FROM pix_fdw.certificate_info('inter'))
  AS pem_same_subject;
SELECT subject, not_before, not_after, days_left < -365 AS long_expired FROM pix_fdw.certificate_info('cert_expired');
SELECT * FROM pix_fdw.certificate_info('cert_none');
SELECT * FROM pix_fdw.certificate_info('no_such_server');
SET client_min_messages = warning;
DROP SERVER cert_pem, cert_expired, cert_none CASCADE;
RESET client_min_messages;
