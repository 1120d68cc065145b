-- Option names and values are validated where they are set; hints list what is valid;
-- secret values are never echoed; file options are superuser-only.
\getenv certs PIX_CERTS
\getenv mock_url PIX_MOCK_URL

-- Unknown options, per catalog, with the valid names in the hint.
CREATE SERVER bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (uri 'https://example.com');
CREATE SERVER bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (endpoint 'extrato');
CREATE FOREIGN TABLE bad (a text) SERVER inter OPTIONS (url 'https://example.com');
CREATE FOREIGN TABLE bad (a text OPTIONS (column_name 'x')) SERVER inter OPTIONS (endpoint 'extrato');
CREATE USER MAPPING FOR public SERVER inter OPTIONS (client_id 'x', password 'y');

-- Bad values.
CREATE SERVER bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'http://cdpj.partners.bancointer.com.br');
CREATE SERVER bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (conta_corrente '0123');
CREATE SERVER bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (connect_timeout 'soon');
CREATE SERVER bad FOREIGN DATA WRAPPER pix_fdw OPTIONS (request_timeout '0');
CREATE FOREIGN TABLE bad (a text) SERVER inter OPTIONS (endpoint 'boletos');
CREATE FOREIGN TABLE bad (a text) SERVER inter OPTIONS (endpoint 'extrato', page_size '20000');
CREATE FOREIGN TABLE bad (a text) SERVER inter OPTIONS (endpoint 'extrato', default_window 'forever');
CREATE FOREIGN TABLE bad (a text) SERVER inter OPTIONS (endpoint 'extrato', default_window '-3 days');
CREATE FOREIGN TABLE bad (a text OPTIONS (field 'detalhes..txId')) SERVER inter OPTIONS (endpoint 'extrato');

-- Secret values are not repeated in errors.
CREATE SERVER ok_server FOREIGN DATA WRAPPER pix_fdw OPTIONS (url 'https://cdpj.partners.bancointer.com.br',
  conta_corrente '12345678', connect_timeout '500 ms', request_timeout '30 s', max_retry_wait '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER ok_server
  OPTIONS (client_id 'x', client_secret 'hunter2', key_pem 'hunter2-not-a-key');
CREATE USER MAPPING FOR CURRENT_USER SERVER ok_server
  OPTIONS (client_id 'x', client_secret 'hunter2', cert_file '/a.crt', cert_pem '-----BEGIN CERTIFICATE-----');
CREATE USER MAPPING FOR CURRENT_USER SERVER ok_server OPTIONS (client_id 'x', client_secret '');

-- A column that maps to no field is an error at plan time, naming the valid columns.
CREATE FOREIGN TABLE public.extrato_typo (id_transacao text, valr numeric) SERVER inter OPTIONS (endpoint 'extrato');
SELECT * FROM public.extrato_typo WHERE id_transacao = 'x';
-- A table without endpoint.
CREATE FOREIGN TABLE public.no_endpoint (id_transacao text) SERVER inter;
SELECT * FROM public.no_endpoint;

-- The column option field maps any JSON path; names and order are free; pushdown follows
-- the field, not the column name.
CREATE FOREIGN TABLE public.extrato_custom (
  quando date OPTIONS (field 'dataTransacao'),
  empresa_pagador text OPTIONS (field 'detalhes.nomeEmpresaPagador'),
  valor numeric,
  tipo text OPTIONS (field 'detalhes.tipoDetalhe'),
  id text OPTIONS (field 'idTransacao')
) SERVER inter OPTIONS (endpoint 'extrato');
SELECT test.reset();
SELECT quando, valor, tipo FROM public.extrato_custom WHERE quando = '2024-06-20' ORDER BY valor;
SELECT * FROM test.requests('extrato');
-- Documented fields beyond the imported columns match by their snake_case name.
CREATE FOREIGN TABLE public.extrato_more (data_transacao date, valor numeric, tipo_detalhe text,
  nome_empresa_pagador text, origem_movimentacao text) SERVER inter OPTIONS (endpoint 'extrato');
SELECT valor, tipo_detalhe, nome_empresa_pagador, origem_movimentacao FROM public.extrato_more
WHERE data_transacao = '2024-06-20' ORDER BY valor;

-- File options are superuser-only; PEM text is for everyone.
CREATE ROLE pix_user;
GRANT USAGE ON FOREIGN SERVER inter TO pix_user;
GRANT USAGE ON SCHEMA inter TO pix_user;
GRANT SELECT ON inter.extrato TO pix_user;
SELECT pg_read_file(:'certs' || '/client.crt') AS cert_pem, pg_read_file(:'certs' || '/client.key') AS key_pem \gset
SELECT test.reset();
SET ROLE pix_user;
CREATE USER MAPPING FOR pix_user SERVER inter
  OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_file '/etc/ssl/private/x.crt', key_file '/x.key');
ALTER SERVER inter OPTIONS (ADD ca_file '/etc/passwd');
RESET ROLE;
GRANT USAGE ON FOREIGN DATA WRAPPER pix_fdw TO pix_user;
SET ROLE pix_user;
CREATE SERVER own_server FOREIGN DATA WRAPPER pix_fdw OPTIONS (ca_file '/etc/ssl/certs/ca-certificates.crt');
CREATE SERVER own_server FOREIGN DATA WRAPPER pix_fdw OPTIONS (conta_corrente '12345678');
ALTER SERVER own_server OPTIONS (ADD ca_file '/etc/passwd');
DROP SERVER own_server;
RESET ROLE;
REVOKE USAGE ON FOREIGN DATA WRAPPER pix_fdw FROM pix_user;
SET ROLE pix_user;
\set ECHO none
CREATE USER MAPPING FOR pix_user SERVER inter
  OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret', cert_pem :'cert_pem', key_pem :'key_pem');
\set ECHO all
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
RESET ROLE;
SELECT test.calls('token') AS tokens;
-- The PEM options are visible only to the mapped user and superusers, like postgres_fdw's.
SELECT srvname, usename, array_length(umoptions, 1) AS n_options FROM pg_user_mappings WHERE usename = 'pix_user';
DROP USER MAPPING FOR pix_user SERVER inter;
REVOKE ALL ON inter.extrato FROM pix_user;
REVOKE ALL ON SCHEMA inter FROM pix_user;
REVOKE ALL ON FOREIGN SERVER inter FROM pix_user;
DROP ROLE pix_user;
DROP SERVER ok_server CASCADE;
