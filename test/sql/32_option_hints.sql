-- Hints a new user needs: ca_file is checked where it is set (not at the first query),
-- durations and sizes need a unit, IMPORT FOREIGN SCHEMA names the tables it offers.
\getenv certs PIX_CERTS

-- ca_file must exist, be readable and hold a PEM certificate.
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (ca_file '/nonexistent/ca.pem');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (ca_file '/etc/passwd');
ALTER SERVER inter OPTIONS (SET ca_file '/nonexistent/ca.pem');
\set ECHO none
SELECT format('CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (ca_file %L)', :'certs' || '/ca.crt') \gexec
\set ECHO all
SELECT srvname FROM pg_foreign_server WHERE srvname = 'h';
DROP SERVER h;
-- The server inter kept its good ca_file.
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';

-- A duration with no unit is refused, with the spelling to use; '0' needs none.
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (request_timeout '5');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (connect_timeout '500');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (max_retry_wait '2.5');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (request_timeout '1e3 s');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (request_timeout 'nan');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (request_timeout '0 s');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw
  OPTIONS (request_timeout '5 s', connect_timeout '500ms', max_retry_wait '0', max_response_size '512 kB');
DROP SERVER h;

-- max_response_size: a size with a unit, from 1 kB to 1 GB.
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (max_response_size '10');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (max_response_size '0 MB');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (max_response_size '2 GB');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (max_response_size '1.5 MB');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (max_response_size '10 mb');
CREATE SERVER h FOREIGN DATA WRAPPER pix_fdw OPTIONS (max_response_size '1 GB');
DROP SERVER h;

-- IMPORT FOREIGN SCHEMA ... LIMIT TO / EXCEPT a table the bank does not offer.
CREATE SCHEMA imp_h;
IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato, boletos) FROM SERVER inter INTO imp_h;
IMPORT FOREIGN SCHEMA inter EXCEPT (pix_recebidos) FROM SERVER inter INTO imp_h;
SELECT count(*) FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
WHERE c.relnamespace = 'imp_h'::regnamespace;
IMPORT FOREIGN SCHEMA inter LIMIT TO (saldo) FROM SERVER inter INTO imp_h;
\det imp_h.*
DROP SCHEMA imp_h CASCADE;
