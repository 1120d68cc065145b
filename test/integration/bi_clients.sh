#!/usr/bin/env bash
# BI clients with real drivers: pgjdbc (Debian's libpostgresql-jdbc-java, java single-file
# launch of test/bi/JdbcCheck.java) through DatabaseMetaData and a sampling query, and
# psycopg 3 (Debian's python3-psycopg, test/bi/psycopg_check.py) through information_schema,
# a server-side cursor over several bank pages and date/datetime parameters.
# The cluster listens on a unix socket only: JDBC goes through a TCP forwarder on 127.0.0.1.
set -u
. "$(dirname "$0")/common.sh"
BI=$(cd "$(dirname "$0")/../bi" && pwd)
JAR=/usr/share/java/postgresql.jar
SYS_PYTHON=/usr/bin/python3  # Debian's python3-psycopg is installed for it
OUT=$(mktemp -d)
PROXY_PID=
trap '[ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null; q "DROP SCHEMA IF EXISTS bi CASCADE; DROP SCHEMA IF EXISTS bi_paged CASCADE" >/dev/null 2>&1; rm -rf "$OUT"' EXIT
DAY=2024-06-20
mock POST /reset >/dev/null

# The remedy for tools that ask only for TABLE and VIEW: views over the foreign tables in a
# schema the tool reads, with the comments copied (the README's "BI tools" recipe).
q "CREATE SCHEMA bi" >/dev/null
q "DO \$\$
DECLARE t record; col record;
BEGIN
	FOR t IN SELECT c.oid, c.relname FROM pg_class c
	         WHERE c.relnamespace = 'inter'::regnamespace AND c.relkind = 'f' LOOP
		EXECUTE format('CREATE VIEW bi.%I AS SELECT * FROM inter.%I', t.relname, t.relname);
		EXECUTE format('COMMENT ON VIEW bi.%I IS %L', t.relname, obj_description(t.oid, 'pg_class'));
		FOR col IN SELECT a.attname, col_description(t.oid, a.attnum) AS d FROM pg_attribute a
		         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped LOOP
			EXECUTE format('COMMENT ON COLUMN bi.%I.%I IS %L', t.relname, col.attname, col.d);
		END LOOP;
	END LOOP;
END \$\$" >/dev/null
# A small page size, so that a few days are several bank pages.
q "CREATE SCHEMA bi_paged; IMPORT FOREIGN SCHEMA inter LIMIT TO (extrato) FROM SERVER inter INTO bi_paged OPTIONS (page_size '50')" >/dev/null

# ---- JDBC
if [ -r "$JAR" ] && command -v java >/dev/null; then
	python3 "$BI/tcp_to_unix.py" "$PGHOST/.s.PGSQL.$PGPORT" "$OUT/port" &
	PROXY_PID=$!
	for _ in $(seq 100); do [ -s "$OUT/port" ] && break; sleep 0.1; done
	values=$(q "SELECT string_agg(valor::text, ',' ORDER BY valor) FROM inter.extrato WHERE data_transacao = '$DAY'")
	url="jdbc:postgresql://127.0.0.1:$(cat "$OUT/port" 2>/dev/null)/$PGDATABASE?user=$PGUSER"
	if java -cp "$JAR" "$BI/JdbcCheck.java" "$url" "$DAY" "$values" >"$OUT/jdbc" 2>&1; then rc=0; else rc=$?; fi
	cat "$OUT/jdbc"
	check "jdbc: the program ran every check (exit $rc)" test "$rc" = 0 -a "$(grep -c '^ok - jdbc' "$OUT/jdbc")" -ge 10
else
	not_ok "jdbc: needs $JAR and java (apt-get install libpostgresql-jdbc-java default-jdk-headless)"
fi

# ---- psycopg 3
if "$SYS_PYTHON" -c 'import psycopg' 2>/dev/null; then
	# Days with enough statement rows for several pages of 50.
	FROM=2024-06-01 TO=2024-06-19
	if "$SYS_PYTHON" "$BI/psycopg_check.py" bi_paged.extrato "$FROM" "$TO" "$DAY" >"$OUT/psycopg" 2>&1; then rc=0; else rc=$?; fi
	cat "$OUT/psycopg"
	check "psycopg: the program ran every check (exit $rc)" test "$rc" = 0 -a "$(grep -c '^ok - psycopg' "$OUT/psycopg")" -ge 9
else
	not_ok "psycopg: needs psycopg 3 for $SYS_PYTHON (apt-get install python3-psycopg)"
fi
