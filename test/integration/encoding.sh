#!/usr/bin/env bash
# Text encoding: the bank's UTF-8 becomes server-encoding text in every cell (text, jsonb,
# and the other types), and bank text quoted in error messages too. What the server encoding
# cannot hold, invalid UTF-8 and \u0000 are clear errors; an error carrying such bank text
# still reports (bad bytes escaped).
set -u
. "$(dirname "$0")/common.sh"
LATIN=pix_latin1
mock POST /reset >/dev/null

# fault ENDPOINT STATUS PYTHON-EXPR: the next call of ENDPOINT answers STATUS with the bytes of
# PYTHON-EXPR (page(row...) builds a statement page; the expression may use any byte).
fault() {
	local spec
	spec=$(python3 - "$1" "$2" "$3" <<'PY'
import base64, json, sys
endpoint, status, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def row(descricao=b'"x"', detalhes=b'null', titulo=b'"Pix recebido"'):
    return (b'{"idTransacao":"e1","dataInclusao":"2024-06-20 10:00:00","dataTransacao":"2024-06-20",'
            b'"tipoTransacao":"PIX","tipoOperacao":"C","valor":"1.00","titulo":' + titulo +
            b',"descricao":' + descricao + b',"numeroDocumento":"0","detalhes":' + detalhes + b'}')
def page(*rows):
    return (b'{"totalPaginas":1,"totalElementos":%d,"ultimaPagina":true,"transacoes":[' % len(rows)
            + b','.join(rows) + b']}')
body = eval(expr)
print(json.dumps({"endpoint": endpoint, "kind": "body", "status": status, "count": 1,
                  "body_b64": base64.b64encode(body).decode()}))
PY
)
	mock POST /fault "$spec" >/dev/null
}
# err DB SQL: the error of SQL as "SQLSTATE: message" lines (plus DETAIL), client encoding UTF8.
err() {
	PGCLIENTENCODING=UTF8 psql -X -q -At -d "$1" -v VERBOSITY=verbose -c "$2" 2>&1 >/dev/null |
		grep -E '^(ERROR|DETAIL)' | sed -E 's/^(ERROR|DETAIL): +//'
}
val() { PGCLIENTENCODING=UTF8 psql -X -q -At -d "$1" -v ON_ERROR_STOP=1 -c "$2" 2>&1; }
day="WHERE data_transacao = '2024-06-20'"

# ---- a LATIN1 database ----------------------------------------------------------------
dropdb --if-exists "$LATIN" >/dev/null 2>&1
createdb -E LATIN1 -T template0 --locale=C "$LATIN" || { not_ok "createdb -E LATIN1"; exit 0; }
psql -X -q -d "$LATIN" -v ON_ERROR_STOP=1 >/dev/null <<SQL || not_ok "LATIN1 database set up"
SET client_min_messages = warning;
CREATE EXTENSION pix_fdw;
CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw OPTIONS (url '$PIX_MOCK_URL', ca_file '$PIX_CERTS/ca.crt');
CREATE USER MAPPING FOR CURRENT_USER SERVER inter OPTIONS (client_id 'pix-test-client',
  client_secret 'pix-test-secret', cert_file '$PIX_CERTS/client.crt', key_file '$PIX_CERTS/client.key');
CREATE FOREIGN TABLE extrato (data_transacao date, titulo text, descricao text, detalhes jsonb,
  nome text OPTIONS (field 'detalhes.nomePagador'), tipo varchar(20) OPTIONS (field 'detalhes.tipoDetalhe'))
  SERVER inter OPTIONS (endpoint 'extrato');
SQL
check "LATIN1: the database is LATIN1" test "$(val $LATIN "SHOW server_encoding")" = LATIN1

fault extrato 200 "page(row(descricao='\"Pão\"'.encode(), detalhes='{\"nomePagador\":\"João\",\"tipoDetalhe\":\"AÇÃO\"}'.encode()))"
got=$(val $LATIN "SELECT convert_to(descricao, 'LATIN1'), length(descricao), convert_to(detalhes->>'nomePagador', 'LATIN1'), convert_to(nome, 'LATIN1'), convert_to(tipo, 'LATIN1') FROM extrato $day")
check "LATIN1: \"Pão\" reads back as the 3 LATIN1 bytes P, ã, o in text, jsonb, a nested text and a varchar (got $got)" \
	test "$got" = '\x50e36f|3|\x4a6fe36f|\x4a6fe36f|\x41c7c34f'
got=$(val $LATIN "SELECT count(*) FROM extrato WHERE data_transacao BETWEEN '2024-06-01' AND '2024-06-30' AND descricao || titulo || coalesce(detalhes::text, '') IS NOT NULL")
check "LATIN1: a month of generated rows (accented names) reads in full (got $got)" test "$got" -gt 50

fault extrato 200 "page(row(descricao='\"Preço 10 €\"'.encode()))"
got=$(err $LATIN "SELECT descricao FROM extrato $day")
check "LATIN1: a € in a text cell is an untranslatable-character ERROR (got: $got)" \
	grep -q '^22P05: character with byte sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent in encoding "LATIN1"' <<<"$got"
fault extrato 200 "page(row(detalhes='{\"nomePagador\":\"Ana 😀\"}'.encode()))"
got=$(err $LATIN "SELECT detalhes FROM extrato $day")
check "LATIN1: an emoji in a jsonb cell is an untranslatable-character ERROR (got: $got)" grep -q '^22P05: ' <<<"$got"
fault extrato 200 "page(row(detalhes='{\"tipoDetalhe\":\"€\"}'.encode()))"
got=$(err $LATIN "SELECT tipo FROM extrato $day")
check "LATIN1: a € in a varchar cell is an ERROR too (got: $got)" grep -q '^22P05: ' <<<"$got"

# The bank's error text (title/detail/violacoes) in messages: converted, and what LATIN1
# lacks or what is not UTF-8 at all is escaped instead of failing the report.
fault extrato 400 "'{\"title\":\"Dados inválidos.\",\"status\":\"400\",\"detail\":\"Preço € inválido '.encode() + b'\\xff' + '!\",\"violacoes\":[{\"razao\":\"Não pode ser nulo.\",\"propriedade\":\"dataInício\"}]}'.encode()"
got=$(err $LATIN "SELECT descricao FROM extrato $day")
check "LATIN1: a bank error reads in LATIN1, € and a bad byte escaped (got: $got)" \
	grep -qF 'HTTP 400: Dados inválidos. Preço \u20AC inválido \xFF! Violações: dataInício: Não pode ser nulo.' <<<"$got"
check "LATIN1: ... with its SQLSTATE" grep -q '^22023: the bank answered HTTP 400' <<<"$got"
dropdb "$LATIN"

# ---- the UTF8 test database ---------------------------------------------------------------
DB=$PGDATABASE
fault extrato 200 "page(row(descricao='\"Pão\"'.encode()))"
check "UTF8: \"Pão\" reads back as Pão" test "$(val $DB "SELECT convert_to(descricao, 'UTF8') FROM inter.extrato $day")" = '\x50c3a36f'
fault extrato 200 "page(row(descricao=b'\"P\\xe3o\"'))"
got=$(err $DB "SELECT descricao FROM inter.extrato $day")
check "UTF8: invalid UTF-8 from the bank (LATIN1 bytes) is an ERROR (got: $got)" \
	grep -q '^22021: invalid byte sequence for encoding "UTF8": 0xe3 0x6f' <<<"$got"
fault extrato 200 "page(row(descricao=b'\"P\\xe3o\"'))"
got=$(err $DB "SELECT count(*) FROM inter.extrato $day")
check "UTF8: ... but not when that column is not read (got: ${got:-no error})" test -z "$got"
fault extrato 200 "page(row(detalhes=b'{\"nomePagador\":\"\\xc3\\x28\"}'))"
got=$(err $DB "SELECT detalhes FROM inter.extrato $day")
check "UTF8: invalid UTF-8 inside a jsonb cell is an ERROR (got: $got)" grep -q '^22021: invalid byte sequence for encoding "UTF8"' <<<"$got"
fault extrato 200 "page(row(descricao=b'\"a\\\\u0000b\"'))"
got=$(err $DB "SELECT descricao FROM inter.extrato $day")
check "UTF8: \\u0000 in a text cell is an ERROR (got: $got)" grep -qF '22021: the bank'"'"'s text contains a NUL character (\u0000)' <<<"$got"
fault extrato 200 "page(row(detalhes=b'{\"nomePagador\":\"a\\\\u0000b\"}'))"
got=$(err $DB "SELECT detalhes FROM inter.extrato $day")
check "UTF8: \\u0000 in a jsonb cell is an ERROR (got: $got)" grep -qF '22P05: unsupported Unicode escape sequence' <<<"$got"
fault extrato 200 "page(row(detalhes=b'{\"nomePagador\":\"a\\\\u0000b\"}'))"
got=$(err $DB "SELECT nome_pagador FROM inter.extrato $day")
check "UTF8: \\u0000 in a nested text cell is an ERROR (got: $got)" grep -qF "NUL character" <<<"$got"
fault extrato 400 "b'{\"title\":\"Dados inv\\xe1lidos.\",\"detail\":\"ok \\xe2\\x82\\xac\"}'"
got=$(err $DB "SELECT descricao FROM inter.extrato $day")
check "UTF8: a bank error with invalid UTF-8 still reports, the bad byte escaped (got: $got)" \
	grep -qF 'HTTP 400: Dados inv\xE1lidos. ok €' <<<"$got"
mock POST /reset >/dev/null
