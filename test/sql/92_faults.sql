-- Faults that never end by themselves: endless pagination stops at max_calls with an error,
-- a redirect is never followed (nor the token sent anywhere), a slow-drip body is bounded by
-- request_timeout. Each is a clear error and the next query of the session works. (Uses the
-- helpers of 91_hostile.)
\getenv certs PIX_CERTS
\getenv mock_url PIX_MOCK_URL
SET client_min_messages = warning;
SET TimeZone = 'America/Sao_Paulo';
SELECT test.reset();
ALTER SERVER inter OPTIONS (ADD max_calls '5');

-- Pages that always say there is another (the same answer, every time).
SELECT test.fault_bytes('extrato', convert_to((test.answer_with('extrato', '[{"idTransacao":"a","dataTransacao":"2024-06-20","valor":"1.00"}]')
                                              || '{"totalPaginas":1000,"totalElementos":1000,"ultimaPagina":false}')::text, 'UTF8'), -1);
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
-- With pages of one row, 1 000 pages are within reach: they are read up to max_calls.
CREATE FOREIGN TABLE public.extrato_one (id_transacao text, data_transacao date)
SERVER inter OPTIONS (endpoint 'extrato', page_size '1');
SELECT count(*) FROM public.extrato_one WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
SELECT test.mock('DELETE', '/fault');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
DROP FOREIGN TABLE public.extrato_one;
SELECT test.reset();
SELECT test.fault_bytes('pix_recebidos', convert_to(jsonb_set(test.answer_with('pix', '[{"endToEndId":"E1","horario":"2024-06-20T17:36:12.000Z","valor":"1.00"}]'),
                                                    '{parametros,paginacao}', '{"paginaAtual":0,"itensPorPagina":1,"quantidadeDePaginas":1000,"quantidadeTotalDeItens":1000}')::text, 'UTF8'), -1);
SELECT count(*) FROM inter.pix WHERE horario >= '2024-06-20' AND horario < '2024-06-21';
SELECT test.calls('pix_recebidos') AS pix_calls;
SELECT test.mock('DELETE', '/fault');
SELECT count(*) FROM inter.pix WHERE horario >= '2024-06-20' AND horario < '2024-06-21';
SELECT test.reset();
SELECT test.fault_bytes('cob', convert_to(jsonb_set(test.answer_with('cobrancas', '[{"txid":"t1","calendario":{"criacao":"2024-06-20T03:00:00.000Z"}}]'),
                                          '{parametros,paginacao}', '{"paginaAtual":0,"itensPorPagina":1,"quantidadeDePaginas":1000,"quantidadeTotalDeItens":1000}')::text, 'UTF8'), -1);
SELECT count(*) FROM inter.cobrancas WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21';
SELECT test.calls('cob') AS cob_calls;
SELECT test.mock('DELETE', '/fault');
SELECT count(*) FROM inter.cobrancas WHERE criacao >= '2024-06-20' AND criacao < '2024-06-21';
-- A day counted past the 10 000 transactions that pages reach, read by a scroll whose id
-- the bank then does not know: an error; the next query frees what is left and works.
SELECT test.reset();
SELECT test.fault_bytes('extrato', convert_to((test.answer_with('extrato', '[{"idTransacao":"a","dataTransacao":"2024-06-20","valor":"1.00"}]')
                                              || '{"totalElementos":20000,"ultimaPagina":false,"hasMore":true,"scrollId":"endless"}')::text, 'UTF8'), -1);
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
SELECT test.mock('DELETE', '/fault');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-21';
ALTER SERVER inter OPTIONS (DROP max_calls);

-- A redirect, from the API and from the token endpoint, to the bank's own host (where a
-- followed request would show): an error; nothing is sent to the Location.
SELECT test.reset();
SELECT test.fault(format('{"endpoint":"extrato","kind":"redirect","status":302,"location":"%s/captura"}', :'mock_url'));
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.fault('{"endpoint":"saldo","kind":"redirect","status":307,"location":"/captura"}');
SELECT count(*) FROM inter.saldo;
SELECT test.calls('extrato') AS extrato_calls, test.calls('saldo') AS saldo_calls, test.calls('unknown') AS elsewhere;
SELECT test.reset();
SELECT pix_fdw.disconnect();
SELECT test.fault(format('{"endpoint":"token","kind":"redirect","status":301,"location":"%s/captura"}', :'mock_url'));
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('token') AS token_calls, test.calls('total') AS all_calls, test.calls('unknown') AS elsewhere;
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';

-- A slow-drip answer (1 byte every 200 ms) on a server with request_timeout 1 s: the whole
-- call is bounded, not each byte's wait; a timeout is not repeated.
SELECT test.reset();
\set ECHO none
SELECT format('CREATE SERVER drip FOREIGN DATA WRAPPER pix_fdw OPTIONS (url %L, ca_file %L, request_timeout %L, rate_limits %L, cache_ttl ''0'')',
              :'mock_url', :'certs' || '/ca.crt', '1 s', 'off') \gexec
SELECT format('CREATE USER MAPPING FOR CURRENT_USER SERVER drip OPTIONS (client_id %L, client_secret %L, cert_file %L, key_file %L)',
              'pix-test-client', 'pix-test-secret', :'certs' || '/client.crt', :'certs' || '/client.key') \gexec
\set ECHO all
CREATE FOREIGN TABLE public.drip_saldo (disponivel numeric) SERVER drip OPTIONS (endpoint 'saldo');
SELECT count(*) FROM public.drip_saldo;
SELECT test.fault('{"endpoint":"saldo","kind":"drip","ms":200,"chunk":1}');
SELECT clock_timestamp() AS t0 \gset
\set VERBOSITY terse
SELECT count(*) FROM public.drip_saldo;
\set VERBOSITY default
SELECT clock_timestamp() - :'t0'::timestamptz < interval '4 s' AS bounded, test.calls('saldo') AS saldo_calls;
SELECT test.mock('DELETE', '/fault');
SELECT count(*) FROM public.drip_saldo;
DROP SERVER drip CASCADE;
SELECT test.reset();

-- TLS handshakes cut by the bank's side (no alert, before the handshake completes): a network
-- fault, retried like a lost connection. One cut: the query is answered, from a new connection.
SELECT pix_fdw.disconnect();
SELECT test.fault('{"endpoint":"connection","kind":"tls_abort","count":1}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT (test.mock('GET', '/calls') ->> 'tls_fail')::int AS cut_handshakes, test.calls('extrato') AS extrato_calls;
-- Every handshake cut: a clear error after the bounded retries (3 attempts), and the next
-- query works once the bank is reachable again.
SELECT test.reset();
SELECT pix_fdw.disconnect();
SELECT test.fault('{"endpoint":"connection","kind":"tls_abort","count":-1}');
\set VERBOSITY terse
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
\set VERBOSITY default
SELECT (test.mock('GET', '/calls') ->> 'tls_fail')::int AS cut_handshakes, test.calls('total') AS requests;
SELECT test.reset();
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.reset();
