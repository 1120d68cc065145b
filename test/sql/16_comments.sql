-- IMPORT FOREIGN SCHEMA comments every table and column it creates: what it is and the API
-- field it comes from, so \d+ and BI tools (JDBC REMARKS) show them.
-- Every imported table and column has one.
SELECT c.relname AS table_without_comment
FROM pg_class c JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
WHERE c.relnamespace = 'inter'::regnamespace AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT c.relname, a.attname AS column_without_comment
FROM pg_class c JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'inter'::regnamespace AND col_description(c.oid, a.attnum) IS NULL;
SELECT count(DISTINCT c.relname) AS tables, count(*) AS commented_columns
FROM pg_class c JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'inter'::regnamespace AND col_description(c.oid, a.attnum) IS NOT NULL;
-- The texts.
SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment
FROM pg_class c JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
WHERE c.relnamespace = 'inter'::regnamespace ORDER BY 1;
SELECT c.relname, a.attname, col_description(c.oid, a.attnum) AS comment
FROM pg_class c JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'inter'::regnamespace ORDER BY 1, a.attnum;
\d+ inter.saldo
-- LIMIT TO keeps them: the same texts on the one table imported.
CREATE SCHEMA cmt_a;
IMPORT FOREIGN SCHEMA inter LIMIT TO (pix) FROM SERVER inter INTO cmt_a;
SELECT obj_description('cmt_a.pix'::regclass, 'pg_class') = obj_description('inter.pix'::regclass, 'pg_class')
  AS same_table_comment;
SELECT count(*) AS columns, count(*) FILTER (
         WHERE col_description('cmt_a.pix'::regclass, a.attnum) = col_description('inter.pix'::regclass, a.attnum))
       AS same_comment
FROM pg_attribute a WHERE a.attrelid = 'cmt_a.pix'::regclass AND a.attnum > 0;
-- A table created by hand gets none: only IMPORT FOREIGN SCHEMA comments.
CREATE FOREIGN TABLE cmt_a.saldo_hand (disponivel numeric) SERVER inter OPTIONS (endpoint 'saldo');
SELECT obj_description('cmt_a.saldo_hand'::regclass, 'pg_class') AS hand_table,
       col_description('cmt_a.saldo_hand'::regclass, 1) AS hand_column;
DROP SCHEMA cmt_a CASCADE;
