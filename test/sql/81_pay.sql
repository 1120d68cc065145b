-- pix_fdw.pay(): what is checked before anything is queued (every error names its field),
-- who may call it, and the ledger's guard. Nothing here reaches the ledger, so nothing is
-- sent (the integration script payments.sh covers sending, faults and limits).
SET client_min_messages = warning;

-- The ledger and the functions, as the contract names them.
\d pix_fdw.payments
SELECT p.oid::regprocedure AS function, p.prorettype::regtype AS returns
FROM pg_proc p WHERE p.pronamespace = 'pix_fdw'::regnamespace AND p.proname IN ('pay', 'wait') ORDER BY 1;
SELECT has_function_privilege('public', 'pix_fdw.pay(name, text, numeric, text, date, uuid)', 'EXECUTE') AS public_may_pay,
       has_table_privilege('public', 'pix_fdw.payments', 'SELECT') AS public_may_read;

-- Required arguments.
SELECT pix_fdw.pay(NULL, 'a@example.com', 1);
SELECT pix_fdw.pay('inter', NULL, 1);
SELECT pix_fdw.pay('inter', 'a@example.com', NULL);
-- The server: it must exist and be a pix_fdw server.
SELECT pix_fdw.pay('nope', 'a@example.com', 1);
CREATE FOREIGN DATA WRAPPER not_pix;
CREATE SERVER not_pix FOREIGN DATA WRAPPER not_pix;
SELECT pix_fdw.pay('not_pix', 'a@example.com', 1);
DROP SERVER not_pix;
DROP FOREIGN DATA WRAPPER not_pix;

-- chave: e-mail, CPF / CNPJ with their check digits, +55 phone, random key (UUID).
SELECT pix_fdw.pay('inter', 'not a key', 1);
SELECT pix_fdw.pay('inter', 'fulano@', 1);
SELECT pix_fdw.pay('inter', '@example.com', 1);
SELECT pix_fdw.pay('inter', 'fulano@example', 1);
SELECT pix_fdw.pay('inter', repeat('a', 70) || '@example.com', 1);
SELECT pix_fdw.pay('inter', '52998224724', 1);          -- CPF, wrong check digit
SELECT pix_fdw.pay('inter', '11111111111', 1);          -- CPF, all digits equal
SELECT pix_fdw.pay('inter', '529.982.247-25', 1);       -- CPF with punctuation
SELECT pix_fdw.pay('inter', '11222333000182', 1);       -- CNPJ, wrong check digit
SELECT pix_fdw.pay('inter', '+5511987654', 1);          -- phone, too short
SELECT pix_fdw.pay('inter', '+14155550100', 1);         -- phone, not Brazilian
SELECT pix_fdw.pay('inter', '123e4567-e89b-12d3-a456-42661417400', 1);  -- UUID, one digit short

-- valor: positive, at most two decimals, never through a double.
SELECT pix_fdw.pay('inter', 'a@example.com', 0);
SELECT pix_fdw.pay('inter', 'a@example.com', -5.00);
SELECT pix_fdw.pay('inter', 'a@example.com', 10.005);
SELECT pix_fdw.pay('inter', 'a@example.com', 'NaN');
SELECT pix_fdw.pay('inter', 'a@example.com', 12345678901234.00);

-- descricao: at most 140 characters (characters, not bytes).
SELECT pix_fdw.pay('inter', 'a@example.com', 1, repeat('ç', 141));

-- data_pagamento: today or later in Brasília.
-- (The message names the dates; they are checked against today's here, so that the expected
-- output does not depend on the day the suite runs.)
DO $$
DECLARE today date := (now() AT TIME ZONE 'America/Sao_Paulo')::date;
BEGIN
	PERFORM pix_fdw.pay('inter', 'a@example.com', 1, data_pagamento => today - 1);
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING '% %', SQLSTATE, replace(replace(SQLERRM, to_char(today - 1, 'YYYY-MM-DD'), 'YESTERDAY'), to_char(today, 'YYYY-MM-DD'), 'TODAY');
END $$;

-- The server options max_valor and max_valor_diario take positive amounts with two decimals.
ALTER SERVER inter OPTIONS (ADD max_valor 'abc');
ALTER SERVER inter OPTIONS (ADD max_valor '0');
ALTER SERVER inter OPTIONS (ADD max_valor '10.001');
ALTER SERVER inter OPTIONS (ADD max_valor_diario '-1');
ALTER SERVER inter OPTIONS (ADD max_valor '100.00', ADD max_valor_diario '250');
SELECT pix_fdw.pay('inter', 'a@example.com', 100.01);
ALTER SERVER inter OPTIONS (DROP max_valor, DROP max_valor_diario);

-- Nothing above reached the ledger.
SELECT count(*) AS ledger_rows FROM pix_fdw.payments;

-- The ledger is written only by pix_fdw, even by a superuser.
INSERT INTO pix_fdw.payments (idempotency_key, server, chave, valor, requested_by, counted_on, seal)
VALUES (gen_random_uuid(), 'inter', 'a@example.com', 1, current_user::regrole, current_date, '\x00');
UPDATE pix_fdw.payments SET valor = 2;
DELETE FROM pix_fdw.payments;
TRUNCATE pix_fdw.payments;
DELETE FROM pix_fdw.ledger_key;

-- wait(): an unknown key.
SELECT pix_fdw.wait('00000000-0000-4000-8000-000000000000');
SELECT pix_fdw.wait('00000000-0000-4000-8000-000000000000', '-1 s');
