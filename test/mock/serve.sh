#!/usr/bin/env bash
# Starts the mock bank on its own, for your own PostgreSQL:
#
#   bash test/mock/serve.sh [DIR]
#
# makes a throwaway CA, server and client certificates in DIR (default /tmp/pix_fdw_mock; kept
# and reused while valid), starts test/mock/mock_bank.py (real HTTPS that requires the client
# certificate) and prints the SQL that points a server named "inter" at it. It runs in the
# foreground until Ctrl-C. Needs python3 and openssl; the PostgreSQL server must be able to read
# DIR (it is made mode 755, its files 644: do not put real keys there).
# Environment: PIX_MOCK_PORT (HTTPS port, default: any free one), PIX_MOCK_CONTROL_PORT,
# PIX_MOCK_RATE_LIMITS (on, the default: the bank's per-minute limits, answered with 429; or off).
# PYTHON: the interpreter (default python3).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${1:-/tmp/pix_fdw_mock}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
chmod 755 "$DIR"
bash "$HERE/gen_certs.sh" "$DIR/certs" >/dev/null
rm -f "$DIR/mock.port" "$DIR/control.port"
"${PYTHON:-python3}" "$HERE/mock_bank.py" --certs "$DIR/certs" --port "${PIX_MOCK_PORT:-0}" --port-file "$DIR/mock.port" \
	--control-port "${PIX_MOCK_CONTROL_PORT:-0}" --control-port-file "$DIR/control.port" \
	--rate-limits "${PIX_MOCK_RATE_LIMITS:-on}" --log "$DIR/mock.log" &
MOCK_PID=$!
trap 'kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null; exit 0' INT TERM
trap 'kill "$MOCK_PID" 2>/dev/null' EXIT
for _ in $(seq 600); do
	[ -s "$DIR/mock.port" ] && [ -s "$DIR/control.port" ] && break
	kill -0 "$MOCK_PID" 2>/dev/null || break
	sleep 0.1
done
if ! [ -s "$DIR/mock.port" ]; then
	echo "the mock bank did not start; its log:" >&2
	cat "$DIR/mock.log" >&2
	exit 1
fi
PORT=$(cat "$DIR/mock.port")
CONTROL=$(cat "$DIR/control.port")
cat <<SQL
-- The mock bank answers at https://127.0.0.1:$PORT (log: $DIR/mock.log).
-- Its control API (faults, the clock, call counts) is at http://127.0.0.1:$CONTROL (see test/mock/mock_bank.py).
-- Run this as a superuser (cert_file, key_file and ca_file read server files) in your database:
CREATE EXTENSION IF NOT EXISTS pix_fdw;
CREATE SERVER inter FOREIGN DATA WRAPPER pix_fdw
  OPTIONS (url 'https://127.0.0.1:$PORT', ca_file '$DIR/certs/ca.crt');
CREATE USER MAPPING FOR CURRENT_USER SERVER inter
  OPTIONS (client_id 'pix-test-client', client_secret 'pix-test-secret',
           cert_file '$DIR/certs/client.crt', key_file '$DIR/certs/client.key');
CREATE SCHEMA inter;
IMPORT FOREIGN SCHEMA inter FROM SERVER inter INTO inter;
SELECT * FROM inter.saldo;
SELECT data_transacao, tipo_operacao, valor, titulo FROM inter.extrato WHERE data_transacao = '2024-06-20';
-- Press Ctrl-C here to stop the mock bank.
SQL
wait "$MOCK_PID"
