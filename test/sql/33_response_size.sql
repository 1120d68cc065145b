-- max_response_size caps each answer of the bank, counted after decompression, so that a
-- hostile or broken server cannot make the backend run out of memory (the mock's big and
-- big_gzip faults pad an answer; big_gzip sends it gzip-compressed to a few kB).
SELECT test.reset();
ALTER SERVER inter OPTIONS (ADD max_response_size '1 MB');
SELECT test.fault('{"endpoint":"extrato","kind":"big_gzip","bytes":2097152}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.fault('{"endpoint":"extrato","kind":"big","bytes":2097152}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
-- Not retried: one call each.
SELECT test.calls('extrato') AS extrato_calls;
-- Under the cap the same kinds of answer are read whole.
SELECT test.fault('{"endpoint":"extrato","kind":"big_gzip","bytes":900000}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.fault('{"endpoint":"extrato","kind":"big","bytes":900000}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
-- The token answer is capped too (changing the option makes a new client, hence a new token).
SELECT test.reset();
ALTER SERVER inter OPTIONS (SET max_response_size '2 kB');
SELECT test.fault('{"endpoint":"token","kind":"big","bytes":4096}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
-- The default (32 MB) takes a 2 MB answer.
ALTER SERVER inter OPTIONS (DROP max_response_size);
SELECT test.reset();
SELECT test.fault('{"endpoint":"extrato","kind":"big_gzip","bytes":2097152}');
SELECT count(*) FROM inter.extrato WHERE data_transacao = '2024-06-20';
SELECT test.calls('extrato') AS extrato_calls;
