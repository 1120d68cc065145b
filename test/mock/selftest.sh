#!/usr/bin/env bash
# selftest.sh — quick end-to-end check of the Banco Inter mock (mock_bank.py) and its
# certificates (gen_certs.sh). Needs bash, curl, openssl and /usr/bin/python3 (used only
# to read JSON). Prints "N passed, M failed" and exits non-zero on any failure.
#
#   test/mock/selftest.sh            (KEEP=1 keeps the temp dir with certs and mock log)
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/mock_selftest.XXXXXX)
CERTS=$TMP/certs
PASS=0
FAIL=0
MOCK_PID=

cleanup() {
    if [ -n "$MOCK_PID" ] && kill -0 "$MOCK_PID" 2>/dev/null; then
        kill -TERM "$MOCK_PID" 2>/dev/null
        wait "$MOCK_PID" 2>/dev/null
    fi
    if [ "${KEEP:-0}" = 1 ] || [ "$FAIL" -ne 0 ]; then
        echo "(kept $TMP)"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

ok()  { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && echo "       $2"; return 0; }
# eq NAME EXPECTED ACTUAL
eq() { if [ "$2" == "$3" ]; then ok "$1"; else bad "$1" "expected [$2] got [$3]"; fi; }
# truthy NAME VALUE ("True" from a python expression)
truthy() { if [ "$2" == "True" ]; then ok "$1"; else bad "$1" "got [$2]"; fi; }

# req [curl args] URL — HTTPS request with the valid client certificate.
# Sets CODE (http code, 000 on failure), RC (curl exit code), TIME (seconds);
# the body is in $TMP/body, the headers in $TMP/hdr.
CERT_ARGS=(--cacert "$CERTS/ca.crt" --cert "$CERTS/client.crt" --key "$CERTS/client.key")
req() {
    local out
    out=$(curl -sS -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code} %{time_total}' "${CERT_ARGS[@]}" "$@" 2>"$TMP/err")
    RC=$?
    CODE=${out% *}
    TIME=${out#* }
}
# raw_req: like req but with caller-chosen TLS arguments
raw_req() {
    local out
    out=$(curl -sS -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code} %{time_total}' "$@" 2>"$TMP/err")
    RC=$?
    CODE=${out% *}
    TIME=${out#* }
}
# j EXPR [FILE] — evaluate a python expression over the JSON document d (default: last body)
j() {
    "$PY" -c '
import json, sys
with open(sys.argv[2], encoding="utf-8") as fh:
    d = json.load(fh)
r = eval(sys.argv[1])
print(json.dumps(r, ensure_ascii=False, separators=(",", ":")) if isinstance(r, (list, dict)) else r)
' "$1" "${2:-$TMP/body}" 2>&1
}
header() { grep -i "^$1:" "$TMP/hdr" | head -1 | cut -d: -f2- | tr -d ' \r'; }
ctl() { curl -s -X "$1" "http://127.0.0.1:$CPORT$2" ${3:+-H 'Content-Type: application/json' -d "$3"}; }

B() { echo "https://localhost:$PORT$1"; }
get_token() {  # get_token CLIENT_ID SECRET SCOPE -> prints access_token
    curl -s "${CERT_ARGS[@]}" "$(B /oauth/v2/token)" -d "client_id=$1" -d "client_secret=$2" \
        -d grant_type=client_credentials --data-urlencode "scope=$3" |
        "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("access_token",""))'
}
auth() { echo "Authorization: Bearer $TOKEN"; }
extrato() { req -H "$(auth)" "$(B "/banking/v2/extrato/completo?$1")"; }

# ------------------------------------------------------------------------------------------
echo "# certificates"
t0=$(date +%s.%N)
if "$HERE/gen_certs.sh" "$CERTS"; then ok "gen_certs.sh runs"; else bad "gen_certs.sh runs"; exit 1; fi
t1=$(date +%s.%N)
"$HERE/gen_certs.sh" "$CERTS" && ok "gen_certs.sh is idempotent (second run)" || bad "gen_certs.sh second run"
for f in ca server client other_ca other_client expired_client; do
    [ -s "$CERTS/$f.crt" ] && [ -s "$CERTS/$f.key" ] || bad "file $f.crt/.key exists"
done
eq "all files mode 644, dir 755" "755 644" "$(stat -c %a "$CERTS") $(stat -c %a "$CERTS"/*.crt "$CERTS"/*.key | sort -u | tr '\n' ' ' | sed 's/ $//')"
eq "client key is unencrypted PKCS#8" "-----BEGIN PRIVATE KEY-----" "$(head -1 "$CERTS/client.key")"
eq "client cert CN" "pix-test-client" "$(openssl x509 -in "$CERTS/client.crt" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')"
openssl verify -CAfile "$CERTS/ca.crt" "$CERTS/server.crt" "$CERTS/client.crt" >/dev/null 2>&1 && ok "server/client chain to ca" || bad "server/client chain to ca"
openssl verify -CAfile "$CERTS/ca.crt" "$CERTS/other_client.crt" >/dev/null 2>&1 && bad "other_client must not chain to ca" || ok "other_client does not chain to ca"
openssl verify -CAfile "$CERTS/other_ca.crt" "$CERTS/other_client.crt" >/dev/null 2>&1 && ok "other_client chains to other_ca" || bad "other_client chains to other_ca"
openssl x509 -in "$CERTS/expired_client.crt" -noout -checkend 0 >/dev/null 2>&1 && bad "expired_client is expired" || ok "expired_client is expired"
san=$(openssl x509 -in "$CERTS/server.crt" -noout -ext subjectAltName 2>/dev/null | tail -1 | tr -d ' ')
eq "server SAN" "DNS:localhost,IPAddress:127.0.0.1" "$san"

# ------------------------------------------------------------------------------------------
echo "# start"
"$PY" "$HERE/mock_bank.py" --certs "$CERTS" --port-file "$TMP/port" --control-port-file "$TMP/cport" \
    --log "$TMP/mock.log" &
MOCK_PID=$!
for _ in $(seq 150); do [ -s "$TMP/port" ] && [ -s "$TMP/cport" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port" 2>/dev/null)
CPORT=$(cat "$TMP/cport" 2>/dev/null)
if [ -z "$PORT" ] || [ -z "$CPORT" ]; then bad "mock started (port files written)"; exit 1; fi
ok "mock started (https $PORT, control $CPORT)"
eq "control /health" '{"ok":true}' "$(ctl GET /health)"

# ------------------------------------------------------------------------------------------
echo "# token"
ALL="extrato.read pagamento-pix.write pagamento-pix.read pix.read cob.read"
req "$(B /oauth/v2/token)" -d client_id=pix-test-client -d client_secret=pix-test-secret \
    -d grant_type=client_credentials --data-urlencode "scope=$ALL"
eq "token 200" 200 "$CODE"
eq "token body" "Bearer 3600 $ALL" "$(j 'd["token_type"]') $(j 'd["expires_in"]') $(j 'd["scope"]')"
TOKEN=$(j 'd["access_token"]')
[ -n "$TOKEN" ] && ok "access_token present" || bad "access_token present"
req "$(B /oauth/v2/token)" -d client_id=pix-test-client -d client_secret=pix-test-secret -d grant_type=client_credentials
eq "token without scope -> 400" "400 scope" "$CODE $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
req "$(B /oauth/v2/token)" -d client_id=pix-test-client -d client_secret=pix-test-secret -d grant_type=password -d scope=extrato.read
eq "token bad grant_type -> 400" "400 grant_type" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
req "$(B /oauth/v2/token)" -d client_id=pix-test-client -d client_secret=wrong -d grant_type=client_credentials -d scope=extrato.read
eq "token wrong secret -> 401" '401 Acesso negado|401|Login/senha inválido.' "$CODE $(j 'd["title"]+"|"+d["status"]+"|"+d["detail"]')"
req "$(B /oauth/v2/token)" -d client_id=pix-limited-client -d client_secret=pix-limited-secret -d grant_type=client_credentials --data-urlencode "scope=pix.read extrato.read"
eq "limited client asking extrato.read -> 403" "403 True" "$CODE $(j '"extrato.read" in d["detail"] and d["status"]=="403"')"
LIMITED=$(get_token pix-limited-client pix-limited-secret pix.read)
[ -n "$LIMITED" ] && ok "limited client gets pix.read token" || bad "limited client gets pix.read token"
eq "control /secrets: every token issued and the client secrets" "True True True" \
    "$(ctl GET /secrets | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(sys.argv[1] in d["tokens"], sys.argv[2] in d["tokens"], sorted(d["client_secrets"]) == ["pix-limited-secret", "pix-test-secret"])' "$TOKEN" "$LIMITED")"
req -H "Authorization: Bearer $LIMITED" "$(B /banking/v2/saldo)"
eq "token without extrato.read on saldo -> 403" "403 Acesso Negado True" "$CODE $(j 'd["title"]') $(j '"extrato.read" in d["detail"]')"
req "$(B /banking/v2/saldo)"
eq "no Authorization -> 401" "401 401" "$CODE $(j 'd["status"]')"
req -H "Authorization: Bearer nope" "$(B /banking/v2/saldo)"
eq "unknown token -> 401" 401 "$CODE"
eq "error Content-Type" "application/json" "$(header Content-Type)"
req -H "$(auth)" "$(B /banking/v2/nada)"
eq "unknown path -> 404 body" '404 {"title":"Não Encontrado.","status":"404","detail":"Entidade não encontrada."}' "$CODE $(cat "$TMP/body")"
ctl POST /reset >/dev/null

# ------------------------------------------------------------------------------------------
echo "# saldo"
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "saldo 200" 200 "$CODE"
eq "saldo full keys" "bloqueadoAdministrativo,bloqueadoCheque,bloqueadoJudicialmente,disponivel,limite" "$(j '",".join(sorted(d))')"
grep -Eq '^\{"disponivel":-?[0-9]+\.[0-9]{2},"bloqueadoCheque":[0-9]+\.[0-9]{2},.*"limite":[0-9]+\.[0-9]{2}\}$' "$TMP/body" \
    && ok "saldo raw JSON numbers with 2 decimals" || bad "saldo raw JSON numbers" "$(cat "$TMP/body")"
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=2024-06-21')"
FRI=$(j 'd["disponivel"]')
eq "saldo weekday: only disponivel" "disponivel" "$(j '",".join(d)')"
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=2024-06-22')"
eq "saldo Saturday -> Friday + dataReferencia" "$FRI 21/06/2024" "$(j 'd["disponivel"]') $(j 'd["dataReferencia"]')"
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=2024-06-23')"
eq "saldo Sunday -> Friday" "21/06/2024" "$(j 'd["dataReferencia"]')"
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=2024-13-01')"
eq "saldo malformed date -> 400 violacao" '400 [{"razao":"Não foi possível converter o valor.","propriedade":"dataSaldo"}]' "$CODE $(j 'd["violacoes"]')"
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=2999-01-01')"
eq "saldo future date -> 400" "400 dataSaldo" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=2024-06-19')"; D19=$(j 'd["disponivel"]')
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=2024-06-20')"; D20=$(j 'd["disponivel"]')
SUM=$(ctl GET '/summary?dataInicio=2024-06-20&dataFim=2024-06-20')
eq "/summary of the fixture day" '{"count":5,"sum_c":"1424.90","sum_d":"1234568020.13"}' "$SUM"
eq "saldo(20) - saldo(19) = credits - debits of the 20th" "True" \
    "$("$PY" -c "from decimal import Decimal as D; print(D('$D20')-D('$D19')==D('1424.90')-D('1234568020.13'))")"

# ------------------------------------------------------------------------------------------
echo "# extrato/completo: fixture day 2024-06-20"
ctl POST /config '{"rate_limits":false}' >/dev/null
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "fixture 200, 5 rows" "200 5 5" "$CODE $(j 'd["totalElementos"]') $(j 'len(d["transacoes"])')"
eq "fixture order (newest first)" '["2024-06-20 23:30:00.123","2024-06-20 14:36:12","2024-06-20 12:00:00.5","2024-06-20 09:00:01","2024-06-20 00:00:00"]' "$(j '[t["dataInclusao"] for t in d["transacoes"]]')"
eq "fixture valores" '["1400.0","24.9","1234567890.12","130.00","0.01"]' "$(j '[t["valor"] for t in d["transacoes"]]')"
eq "fixture tipos" '["PIX C","PIX C","PIX D","PAGAMENTO D","TARIFA D"]' "$(j '[t["tipoTransacao"]+" "+t["tipoOperacao"] for t in d["transacoes"]]')"
eq "fixture (a) detalhes" 'COMPLETE E00416968202406201436ghzKRVgnb7A Rv1pt4pjd2jtjdzx5nafhtjks7 Nome Pagador 90105709247' \
    "$(j '" ".join(d["transacoes"][1]["detalhes"][k] for k in ("tipoDetalhe","endToEndId","txId","nomePagador","cpfCnpjPagador"))')"
eq "fixture (b) INCOMPLETE without payer" 'INCOMPLETE False False' \
    "$(j 'd["transacoes"][0]["detalhes"]["tipoDetalhe"]') $(j '"nomePagador" in d["transacoes"][0]["detalhes"]') $(j '"cpfCnpjPagador" in d["transacoes"][0]["detalhes"]')"
eq "fixture (c) detalhes absent" 'False' "$(j '"detalhes" in d["transacoes"][3]')"
eq "fixture (d) detalhes null" 'True None' "$(j '"detalhes" in d["transacoes"][4]') $(j 'repr(d["transacoes"][4]["detalhes"])')"
eq "fixture (e) codigoSolicitacao, chave" 'c42f0787-02cb-4b31-827e-459ec9d7ece1 fornecedor@example.com' \
    "$(j 'd["transacoes"][2]["detalhes"]["codigoSolicitacao"]') $(j 'd["transacoes"][2]["detalhes"]["chavePixRecebedor"]')"
eq "fixture dataTransacao" '2024-06-20' "$(j '",".join(sorted({t["dataTransacao"] for t in d["transacoes"]}))')"
eq "fixture (a) idTransacao is stable" '9b496f28-f07d-57ef-8239-6443c65d99c1' "$(j 'd["transacoes"][1]["idTransacao"]')"
grep -q '"nomePagador":"Nome Pagador"' "$TMP/body" && ok "UTF-8 body, compact separators" || bad "compact JSON"

# ------------------------------------------------------------------------------------------
echo "# extrato/completo: validation, paging, filters"
extrato "dataInicio=2024-01-01&dataFim=2024-03-31"
eq "91-day window -> 400" "400 dataFim" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
extrato "dataInicio=2024-01-01&dataFim=2024-03-30&tamanhoPagina=10000"
eq "90-day window -> 200" 200 "$CODE"
cp "$TMP/body" "$TMP/w90"
SUM90=$(ctl GET '/summary?dataInicio=2024-01-01&dataFim=2024-03-30')
eq "90-day totalElementos = /summary count" "$(echo "$SUM90" | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["count"])')" "$(j 'd["totalElementos"]')"
eq "90-day sums = /summary (Decimal)" "$SUM90" "$(j '(lambda D: json.dumps({"count":len(d["transacoes"]),"sum_c":str(sum((D(t["valor"]) for t in d["transacoes"] if t["tipoOperacao"]=="C"),D(0)).quantize(D("0.01"))),"sum_d":str(sum((D(t["valor"]) for t in d["transacoes"] if t["tipoOperacao"]=="D"),D(0)).quantize(D("0.01")))},separators=(",",":")))(__import__("decimal").Decimal)')"
truthy "rows newest first" "$(j 'all(a["dataInclusao"] >= b["dataInclusao"] for a, b in zip(d["transacoes"], d["transacoes"][1:]))')"
truthy "idTransacao unique" "$(j 'len({t["idTransacao"] for t in d["transacoes"]}) == len(d["transacoes"])')"
truthy "dataInclusao format, a share with fraction" "$(j '(lambda re: all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,3})?", t["dataInclusao"]) and t["dataInclusao"][:10]==t["dataTransacao"] for t in d["transacoes"]) and 0.2 < sum("." in t["dataInclusao"] for t in d["transacoes"])/len(d["transacoes"]) < 0.5)(__import__("re"))')"
truthy "valor strings with varied scale" "$(j 'all(isinstance(t["valor"], str) for t in d["transacoes"]) and {len(t["valor"].split(".")[1]) for t in d["transacoes"]} == {1, 2}')"
truthy "PIX about 60 %, both C and D" "$(j '(lambda p: 0.5 < len(p)/len(d["transacoes"]) < 0.7 and {t["tipoOperacao"] for t in p} == {"C","D"})([t for t in d["transacoes"] if t["tipoTransacao"]=="PIX"])')"
truthy "PIX detalhes flat, E2E format, INCOMPLETE share" "$(j '(lambda re, p: all(re.fullmatch(r"E\d{8}\d{12}[A-Za-z0-9]{11}", t["detalhes"]["endToEndId"]) for t in p) and 0.03 < sum(t["detalhes"]["tipoDetalhe"]=="INCOMPLETE" for t in p)/len(p) < 0.2 and all("codigoSolicitacao" in t["detalhes"] for t in p if t["tipoOperacao"]=="D"))(__import__("re"), [t for t in d["transacoes"] if t["tipoTransacao"]=="PIX"])')"
truthy "some detalhes absent, some null" "$(j 'any("detalhes" not in t for t in d["transacoes"]) and any("detalhes" in t and t["detalhes"] is None for t in d["transacoes"])')"
eq "types present" 'BOLETO_COBRANCA,PAGAMENTO,PIX,TARIFA,TRANSFERENCIA' "$(j '",".join(sorted({t["tipoTransacao"] for t in d["transacoes"]}))')"
eq "90-day page under 1 s" True "$("$PY" -c "print($TIME < 1.0)")"

extrato "dataInicio=2024-01-01&dataFim=2024-01-31&tamanhoPagina=3&pagina=0"; cp "$TMP/body" "$TMP/p0"
eq "page 0 flags" "True False 3 3" "$(j 'd["primeiraPagina"]') $(j 'd["ultimaPagina"]') $(j 'd["tamanhoPagina"]') $(j 'd["numeroDeElementos"]')"
truthy "totalPaginas = ceil(total/3)" "$(j 'd["totalPaginas"] == -(-d["totalElementos"] // 3)')"
extrato "dataInicio=2024-01-01&dataFim=2024-01-31&tamanhoPagina=3&pagina=1"; cp "$TMP/body" "$TMP/p1"
extrato "dataInicio=2024-01-01&dataFim=2024-01-31&tamanhoPagina=6"; cp "$TMP/body" "$TMP/p01"
ids0=$(j '[t["idTransacao"] for t in d["transacoes"]]' "$TMP/p0")
ids1=$(j '[t["idTransacao"] for t in d["transacoes"]]' "$TMP/p1")
ids01=$(j '[t["idTransacao"] for t in d["transacoes"]]' "$TMP/p01")
[ "$ids0" != "$ids1" ] && ok "pages 0 and 1 differ" || bad "pages 0 and 1 differ"
eq "page0 + page1 (size 3) = page0 (size 6)" "$ids01" "$("$PY" -c "import json,sys; print(json.dumps(json.loads(sys.argv[1])+json.loads(sys.argv[2]),separators=(',',':')))" "$ids0" "$ids1")"
extrato "dataInicio=2024-01-01&dataFim=2024-01-31&tamanhoPagina=3&pagina=1000"
eq "page past the end: empty, ultimaPagina" "200 0 True" "$CODE $(j 'd["numeroDeElementos"]') $(j 'd["ultimaPagina"]')"
extrato "dataInicio=2024-01-01&dataFim=2024-03-30&tipoOperacao=C&tipoTransacao=PIX&tamanhoPagina=10000"
eq "filters tipoOperacao=C tipoTransacao=PIX" "$(ctl GET '/summary?dataInicio=2024-01-01&dataFim=2024-03-30&tipoOperacao=C&tipoTransacao=PIX' | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["count"])') True" \
    "$(j 'd["totalElementos"]') $(j 'all(t["tipoOperacao"]=="C" and t["tipoTransacao"]=="PIX" for t in d["transacoes"])')"
extrato "dataFim=2024-01-31"
eq "missing dataInicio -> 400" '400 [{"razao":"O valor não pode ser nulo.","propriedade":"dataInicio"}]' "$CODE $(j 'd["violacoes"]')"
extrato "dataInicio=2024-02-01&dataFim=2024-01-31"
eq "dataInicio > dataFim -> 400" "400 dataInicio" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
extrato "dataInicio=2024-01-01&dataFim=20240131"
eq "malformed dataFim -> 400" "400 dataFim" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
extrato "dataInicio=2024-01-01&dataFim=2024-01-31&tamanhoPagina=10001"
eq "tamanhoPagina 10001 -> 400" "400 tamanhoPagina" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
extrato "dataInicio=2024-01-01&dataFim=2024-01-31&tamanhoPagina=0"
eq "tamanhoPagina 0 -> 400" 400 "$CODE"
extrato "dataInicio=2024-01-01&dataFim=2024-01-31&tipoOperacao=X"
eq "tipoOperacao X -> 400" "400 tipoOperacao" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
extrato "dataInicio=2024-01-01&dataFim=2024-01-31&pagina=-1"
eq "pagina -1 -> 400" 400 "$CODE"

req -H "$(auth)" -H "x-conta-corrente: 0123" "$(B '/banking/v2/extrato/completo?dataInicio=2024-01-01&dataFim=2024-01-02')"
eq "x-conta-corrente with leading zero -> 400" "400 x-conta-corrente" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
req -H "$(auth)" -H "x-conta-corrente: 12345678" "$(B '/banking/v2/extrato/completo?dataInicio=2024-01-01&dataFim=2024-01-02')"
eq "x-conta-corrente 12345678 -> 200" 200 "$CODE"
eq "request log records conta" '"12345678"' "$(ctl GET '/requests?endpoint=extrato' | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[-1]["conta"]))')"
# POST /config {"contas": [...]}: an account the integration may not use -> 403 (pix_fdw.check)
ctl POST /config '{"contas":["12345678"]}' >/dev/null
req -H "$(auth)" -H "x-conta-corrente: 87654321" "$(B '/banking/v2/saldo')"
eq "contas set: another account -> 403" 403 "$CODE"
req -H "$(auth)" -H "x-conta-corrente: 12345678" "$(B '/banking/v2/saldo')"
eq "contas set: its account -> 200" 200 "$CODE"
ctl POST /config '{"contas":null}' >/dev/null
req -H "$(auth)" -H "x-conta-corrente: 87654321" "$(B '/banking/v2/saldo')"
eq "contas null: any well-formed account -> 200" 200 "$CODE"
# POST /config {"clock_skew": N}: the Date header is N seconds off
ctl POST /config '{"clock_skew":7200}' >/dev/null
req -H "$(auth)" "$(B '/banking/v2/saldo')"
skew=$("$PY" -c 'import email.utils,sys,time; print(round((email.utils.parsedate_to_datetime(sys.argv[1]).timestamp() - time.time()) / 60))' "$(grep -i '^date:' "$TMP/hdr" | head -1 | cut -d: -f2- | tr -d '\r')")
eq "clock_skew 7200: Date header two hours ahead (minutes)" 120 "$skew"
ctl POST /config '{"clock_skew":0}' >/dev/null

req -H "$(auth)" "$(B '/banking/v2/extrato?dataInicio=2024-06-20&dataFim=2024-06-20')"
eq "simple /extrato" '200 5 ["1400.0","24.9","1234567890.12","130.00","0.01"]' "$CODE $(j 'len(d["transacoes"])') $(j '[t["valor"] for t in d["transacoes"]]')"

# ------------------------------------------------------------------------------------------
echo "# 10 000-row limit and scroll over 2025-03-10..2025-03-14"
BUSY="dataInicio=2025-03-10&dataFim=2025-03-14"
extrato "$BUSY&tamanhoPagina=10000"
eq "traditional page 0 of 10000" "200 13000 2 10000" "$CODE $(j 'd["totalElementos"]') $(j 'd["totalPaginas"]') $(j 'd["numeroDeElementos"]')"
eq "10000-row page under 1 s" True "$("$PY" -c "print($TIME < 1.0)")"
extrato "$BUSY&tamanhoPagina=10000&pagina=1"
eq "traditional offset 10000 -> 400" "400 pagina" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
extrato "$BUSY&tamanhoPagina=50&pagina=200"
eq "traditional page 200 x 50 -> 400" 400 "$CODE"

extrato "$BUSY&scrollEnabled=true&tamanhoPagina=10000"; cp "$TMP/body" "$TMP/s1"
SID=$(j 'd["scrollId"]' "$TMP/s1")
eq "scroll page 1" "200 13000 10000 True" "$CODE $(j 'd["totalElementos"]') $(j 'd["numeroDeElementos"]') $(j 'd["hasMore"]')"
[[ $SID =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] && ok "scrollId is a uuid" || bad "scrollId is a uuid" "$SID"
extrato "dataInicio=2024-01-01&dataFim=2024-01-05&scrollEnabled=true"
eq "second scroll -> SCROLL_ALREADY_ACTIVE" '400 SCROLL_ALREADY_ACTIVE Já existe um scroll ativo para esta conta corrente. detail,timestamp,title,typeError' \
    "$CODE $(j 'd["typeError"]') $(j 'd["title"]') $(j '",".join(sorted(d))')"
extrato "scrollId=$SID"; cp "$TMP/body" "$TMP/s2"
eq "scroll page 2 (last)" "200 13000 3000 False None" "$CODE $(j 'd["totalElementos"]') $(j 'd["numeroDeElementos"]') $(j 'd["hasMore"]') $(j 'repr(d["scrollId"])')"
eq "scroll: 13000 distinct ids in 2 calls" 13000 "$("$PY" -c '
import json, sys
ids = set()
for f in sys.argv[1:]:
    with open(f, encoding="utf-8") as fh:
        ids.update(t["idTransacao"] for t in json.load(fh)["transacoes"])
print(len(ids))' "$TMP/s1" "$TMP/s2")"
extrato "scrollId=$SID"
eq "closed scroll -> SCROLL_EXPIRED" "400 SCROLL_EXPIRED" "$CODE $(j 'd["typeError"]')"
extrato "scrollId=00000000-0000-4000-8000-000000000000&$BUSY"
eq "unknown scrollId -> SCROLL_EXPIRED" "400 SCROLL_EXPIRED" "$CODE $(j 'd["typeError"]')"
ctl POST /config '{"scroll_ttl":1}' >/dev/null
extrato "$BUSY&scrollEnabled=true&tamanhoPagina=100"; SID=$(j 'd["scrollId"]')
sleep 1.3
extrato "scrollId=$SID&$BUSY&scrollEnabled=true"
eq "idle scroll expires (scroll_ttl=1)" "400 SCROLL_EXPIRED" "$CODE $(j 'd["typeError"]')"
extrato "$BUSY&scrollEnabled=true&tamanhoPagina=100"
eq "new scroll after expiry" "200 True" "$CODE $(j 'd["hasMore"]')"
ctl POST /config '{"scroll_ttl":360}' >/dev/null
ctl POST /reset >/dev/null
extrato "$BUSY&scrollEnabled=true&tamanhoPagina=100"
eq "reset clears active scrolls" 200 "$CODE"
extrato "dataInicio=2024-06-20&dataFim=2024-06-20&scrollEnabled=true"
eq "(scroll still active until it finishes)" "400 SCROLL_ALREADY_ACTIVE" "$CODE $(j 'd["typeError"]')"
ctl POST /reset >/dev/null
extrato "dataInicio=2024-06-20&dataFim=2024-06-20&scrollEnabled=true"
eq "one-page scroll: hasMore false, scrollId null, closed" "200 5 False None" "$CODE $(j 'd["numeroDeElementos"]') $(j 'd["hasMore"]') $(j 'repr(d["scrollId"])')"
extrato "dataInicio=2024-06-20&dataFim=2024-06-20&scrollEnabled=true"
eq "...so another scroll may start" 200 "$CODE"
ctl POST /reset >/dev/null
extrato "dataInicio=2025-03-17&dataFim=2025-03-17&tamanhoPagina=10000"
eq "2025-03-17 alone has 12000 (one day over the page limit)" "200 12000" "$CODE $(j 'd["totalElementos"]')"
extrato "dataInicio=2025-03-17&dataFim=2025-03-17&scrollEnabled=true&tamanhoPagina=10000"
eq "GET /scrolls lists the active scroll" '[{"client_id":"pix-test-client","conta":null,"size":10000,"pos":10000,"total":12000}]' \
    "$(ctl GET /scrolls | "$PY" -c 'import json,sys; l=json.load(sys.stdin); [s.pop("idle_s") for s in l]; print(json.dumps(l,separators=(",",":")))')"
req -H "$(auth)" -H "x-conta-corrente: 87654321" "$(B '/banking/v2/extrato/completo?dataInicio=2024-06-20&dataFim=2024-06-21&scrollEnabled=true&tamanhoPagina=2')"
eq "one scroll per account: another conta of the integration may scroll" "200 True" "$CODE $(j 'd["hasMore"]')"
extrato "dataInicio=2024-06-20&dataFim=2024-06-20&scrollEnabled=true"
eq "...while the same account may not" "400 SCROLL_ALREADY_ACTIVE" "$CODE $(j 'd["typeError"]')"
ctl POST /reset >/dev/null
eq "reset: no active scroll" "[]" "$(ctl GET /scrolls)"
ctl POST /fault '{"endpoint":"extrato","kind":"total","count":1}' >/dev/null
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "fault total (absent): totalElementos left out, rows kept" "200 False 5" "$CODE $(j '"totalElementos" in d') $(j 'len(d["transacoes"])')"
ctl POST /fault '{"endpoint":"extrato","kind":"total","total":"x","count":1}' >/dev/null
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "fault total (value): totalElementos replaced" "200 x" "$CODE $(j 'd["totalElementos"]')"
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "...once" "200 5" "$CODE $(j 'd["totalElementos"]')"

# ------------------------------------------------------------------------------------------
echo "# API Pix: received Pix (GET /pix/v2/pix), charges (GET /pix/v2/cob), Pix sent"
ctl POST /reset >/dev/null
pix() { req -H "$(auth)" "$(B "/pix/v2/pix$1")"; }
cob() { req -H "$(auth)" "$(B "/pix/v2/cob$1")"; }
sent() { req -H "$(auth)" "$(B "/banking/v2/pix/$1")"; }
FIX="inicio=2024-06-20T00:00:00-03:00&fim=2024-06-20T23:59:59.999-03:00"
pix "?$FIX"
eq "fixture day: one QR-code Pix (fixture (a)), JSON" "200 application/json 1 E00416968202406201436ghzKRVgnb7A Rv1pt4pjd2jtjdzx5nafhtjks7 24.90" \
    "$CODE $(header Content-Type) $(j 'd["parametros"]["paginacao"]["quantidadeTotalDeItens"]') $(j 'd["pix"][0]["endToEndId"]') $(j 'd["pix"][0]["txid"]') $(j 'd["pix"][0]["valor"]')"
eq "...horario in UTC, pagador with masked CPF, one refund DEVOLVIDO" '2024-06-20T17:36:12.000Z {"nome":"Nome Pagador","cpfCnpj":"***057092**"} DEVOLVIDO 4.90' \
    "$(j 'd["pix"][0]["horario"]') $(j 'd["pix"][0]["pagador"]') $(j 'd["pix"][0]["devolucoes"][0]["status"]') $(j 'd["pix"][0]["devolucoes"][0]["valor"]')"
eq "...parametros echo inicio/fim, paginacao defaults" '{"inicio":"2024-06-20T00:00:00-03:00","fim":"2024-06-20T23:59:59.999-03:00","paginacao":{"paginaAtual":0,"itensPorPagina":100,"quantidadeDePaginas":1,"quantidadeTotalDeItens":1}}' \
    "$(j 'd["parametros"]')"
pix "?inicio=2024-06-20T14:36:12-03:00&fim=2024-06-20T14:36:12-03:00"; a=$(j 'len(d["pix"])')
pix "?inicio=2024-06-20T17:36:12.001Z&fim=2024-06-20T23:00:00Z"; b=$(j 'len(d["pix"])')
pix "?inicio=2024-06-20T20:36:12%2B03:00&fim=2024-06-21T05:36:12%2B12:00"; c=$(j 'len(d["pix"])')
eq "time zones: bounds inclusive to the millisecond, -03:00, Z and %2B offsets" "1 0 1" "$a $b $c"
pix "?inicio=2024-06-20T20:36:12+03:00&fim=2024-06-21T05:36:12Z"
eq "unencoded + in an offset (a space) -> 400 naming inicio" "400 inicio 2024-06-20T20:36:12 03:00" "$CODE $(j 'd["violacoes"][0]["propriedade"]') $(j 'd["violacoes"][0]["valor"]')"
pix "?fim=2024-06-20T23:59:59Z"
eq "inicio missing -> 400 problem+json PixConsultaInvalida, integer status, violacoes" \
    "400 application/problem+json https://pix.bcb.gov.br/api/v2/error/PixConsultaInvalida 400 True inicio" \
    "$CODE $(header Content-Type) $(j 'd["type"]') $(j 'd["status"]') $(j 'isinstance(d["status"], int) and bool(d["title"]) and bool(d["detail"])') $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
pix ""
eq "inicio and fim missing -> both named" "400 inicio,fim" "$CODE $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
pix "?inicio=2024-06-20&fim=2024-06-20T23:59:59"
eq "a date, or a time without zone -> 400" "400 inicio,fim" "$CODE $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
pix "?inicio=2024-06-21T00:00:00Z&fim=2024-06-20T00:00:00Z"
eq "fim before inicio -> 400 fim" "400 fim" "$CODE $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
pix "?$FIX&paginacao.itensPorPagina=1001&paginacao.paginaAtual=-1"
eq "itensPorPagina 1001, paginaAtual -1 -> 400" "400 paginacao.paginaAtual,paginacao.itensPorPagina" "$CODE $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
pix "?$FIX&cpf=90105709247&cnpj=45723174000110"
eq "cpf and cnpj together -> 400" "400 cnpj" "$CODE $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
pix "?$FIX&cpf=90105709247"; a=$(j 'len(d["pix"])')
pix "?$FIX&cpf=11144477735"; b=$(j 'len(d["pix"])')
eq "cpf filters by the payer's document" "1 0" "$a $b"
pix "?inicio=2023-01-01T00:00:00Z&fim=2026-12-31T00:00:00Z&txId=Rv1pt4pjd2jtjdzx5nafhtjks7"
eq "txId filter over years, echoed as parametros.txid" "200 1 Rv1pt4pjd2jtjdzx5nafhtjks7" "$CODE $(j 'len(d["pix"])') $(j 'd["parametros"]["txid"]')"
pix "?$FIX&txId=short"
eq "malformed txId -> 400" "400 txId" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"

HUGE="inicio=2025-03-17T00:00:00-03:00&fim=2025-03-17T23:59:59.999-03:00"
pix "?$HUGE&paginacao.itensPorPagina=1000"; cp "$TMP/body" "$TMP/x0"
pix "?$HUGE&paginacao.itensPorPagina=1000&paginacao.paginaAtual=1"; cp "$TMP/body" "$TMP/x1"
pix "?$HUGE&paginacao.itensPorPagina=1000&paginacao.paginaAtual=2"; cp "$TMP/body" "$TMP/x2"
PSUM=$(ctl GET "/pix_summary?$(echo "$HUGE" | sed 's/-03:00/%2D03:00/g')")
echo "$PSUM" >"$TMP/psum"
eq "paging: 2 pages of up to 1000, page 2 empty, union = total = /pix_summary, oldest first" "True" "$("$PY" -c '
import json, sys
from decimal import Decimal as D
p = [json.load(open(f)) for f in sys.argv[1:4]]
s = json.load(open(sys.argv[4]))["pix"]
g = [p[0]["parametros"]["paginacao"][k] for k in ("quantidadeDePaginas", "quantidadeTotalDeItens")]
items = p[0]["pix"] + p[1]["pix"]
ok = (g == [2, s["count"]] and len(p[0]["pix"]) == 1000 and 0 < len(p[1]["pix"]) < 1000 and p[2]["pix"] == []
      and p[2]["parametros"]["paginacao"]["paginaAtual"] == 2
      and len({i["endToEndId"] for i in items}) == s["count"]
      and str(sum(D(i["valor"]) for i in items)) == s["sum"]
      and [i["horario"] for i in items] == sorted(i["horario"] for i in items)
      and sum(1 for i in items if "pagador" not in i) == s["without_pagador"]
      and sum(1 for i in items if i.get("devolucoes")) == s["with_devolucoes"])
print(ok if ok else (g, s, len(p[0]["pix"]), len(p[1]["pix"])))' "$TMP/x0" "$TMP/x1" "$TMP/x2" "$TMP/psum")"
truthy "some Pix without pagador, some with refunds (DEVOLVIDO and NAO_REALIZADO)" "$(j '(lambda s: s["without_pagador"] > 0 and s["with_devolucoes"] > 0)(d["pix"])' "$TMP/psum")"
extrato "dataInicio=2025-03-17&dataFim=2025-03-17&tamanhoPagina=10000&tipoTransacao=PIX&tipoOperacao=C"; cp "$TMP/body" "$TMP/e0"
eq "every QR-code Pix is in extrato (PIX, C, same endToEndId, txId, amount, day) and vice versa" "True" "$("$PY" -c '
import json, sys, datetime as dt
from decimal import Decimal as D
pix = json.load(open(sys.argv[1]))["pix"] + json.load(open(sys.argv[2]))["pix"]
e = json.load(open(sys.argv[3]))
rows = e["transacoes"]
assert e["totalElementos"] == len(rows)
qr = {t["detalhes"]["endToEndId"]: t for t in rows if t["detalhes"].get("txId")}
def day(h):
    u = dt.datetime.fromisoformat(h.replace("Z", "+00:00"))
    return (u - dt.timedelta(hours=3)).date().isoformat()
ok = len(qr) == len(pix) and all(
    p["endToEndId"] in qr and qr[p["endToEndId"]]["detalhes"]["txId"] == p["txid"]
    and D(qr[p["endToEndId"]]["valor"]) == D(p["valor"]) and qr[p["endToEndId"]]["dataTransacao"] == day(p["horario"])
    and ("pagador" in p) == ("cpfCnpjPagador" in qr[p["endToEndId"]]["detalhes"])
    for p in pix)
print(ok)' "$TMP/x0" "$TMP/x1" "$TMP/e0")"

req -H "$(auth)" "$(B /pix/v2/pix/E00416968202406201436ghzKRVgnb7A)"
eq "GET /pix/{e2eId}" "200 Rv1pt4pjd2jtjdzx5nafhtjks7 24.90" "$CODE $(j 'd["txid"]') $(j 'd["valor"]')"
req -H "$(auth)" "$(B /pix/v2/pix/E18236120202406210230Xq7LmN2pR4s)"
eq "GET /pix/{e2eId} of a Pix not paid by QR code -> 404 problem+json" "404 application/problem+json https://pix.bcb.gov.br/api/v2/error/NaoEncontrado 404" \
    "$CODE $(header Content-Type) $(j 'd["type"]') $(j 'd["status"]')"
req -H "$(auth)" "$(B /pix/v2/pix/E0000000000000000000000000000000)"
eq "unknown e2eId -> 404" 404 "$CODE"

cob "?$FIX"
eq "fixture day: one charge in each status, oldest first" \
    '["REMOVIDA_PELO_PSP","ATIVA","REMOVIDA_PELO_USUARIO_RECEBEDOR","CONCLUIDA","ATIVA"]' "$(j '[c["status"] for c in d["cobs"]]')"
eq "CONCLUIDA charge carries its pix (with its refund)" "E00416968202406201436ghzKRVgnb7A 4.90 24.90" \
    "$(j '[c for c in d["cobs"] if c["status"]=="CONCLUIDA"][0]["pix"][0]["endToEndId"]') $(j '[c for c in d["cobs"] if c["status"]=="CONCLUIDA"][0]["pix"][0]["devolucoes"][0]["valor"]') $(j '[c for c in d["cobs"] if c["status"]=="CONCLUIDA"][0]["valor"]["original"]')"
truthy "charges: devedor cpf or cnpj, pixCopiaECola with a valid CRC" "$(j '(lambda b: {k for c in d["cobs"] for k in c.get("devedor", {}) if k != "nome"} == {"cpf","cnpj"} and all(c["pixCopiaECola"][-4:] == "%04X" % b.crc_hqx(c["pixCopiaECola"][:-4].encode(), 0xFFFF) for c in d["cobs"]))(__import__("binascii"))')"
cob "?inicio=2024-06-20T00:00:00.001-03:00&fim=2024-06-20T23:59:59.999-03:00"; a=$(j 'len(d["cobs"])')
cob "?inicio=2024-06-20T12:00:00%2B09:00&fim=2024-06-20T03:00:00Z"; b=$(j '[c["txid"] for c in d["cobs"]]')
cob "?inicio=2024-06-21T02:45:30.999Z&fim=2024-06-21T02:45:30.999Z"; c=$(j '[c["txid"] for c in d["cobs"]]')
eq "cob criacao bounds in +09:00 and Z (00:00 and 23:45:30.999 Brasília)" '4 ["fixtureCobRemovidaPsp2024062000003"] ["fixtureCobAtivaCnpj2024062000002"]' "$a $b $c"
cob "?$FIX&status=ATIVA"
eq "status filter" '200 ["ATIVA","ATIVA"] ATIVA' "$CODE $(j '[c["status"] for c in d["cobs"]]') $(j 'd["parametros"]["status"]')"
cob "?$FIX&status=EXPIRADA"
eq "unknown status -> 400 CobConsultaInvalida" "400 https://pix.bcb.gov.br/api/v2/error/CobConsultaInvalida status" "$CODE $(j 'd["type"]') $(j 'd["violacoes"][0]["propriedade"]')"
cob "?$FIX&cnpj=45723174000110"
eq "cnpj filters by devedor" '["fixtureCobAtivaCnpj2024062000002"]' "$(j '[c["txid"] for c in d["cobs"]]')"
cob "?inicio=2024-06-20T00:00:00Z"
eq "cob: fim required" "400 fim" "$CODE $(j '",".join(v["propriedade"] for v in d["violacoes"])')"
BUSYW="inicio=2025-03-10T00:00:00-03:00&fim=2025-03-17T23:59:59.999-03:00"
PS=$(ctl GET "/pix_summary?$(echo "$BUSYW" | sed 's/-03:00/%2D03:00/g')")
counts=""
for st in ATIVA CONCLUIDA REMOVIDA_PELO_USUARIO_RECEBEDOR REMOVIDA_PELO_PSP; do
    cob "?$BUSYW&status=$st&paginacao.itensPorPagina=1000"
    counts="$counts$(j "d['parametros']['paginacao']['quantidadeTotalDeItens'] == $(echo "$PS" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['cob']['by_status']['$st'])") > 0 and all(c['status'] == '$st' for c in d['cobs'])") "
done
eq "each charge status present, counts = /pix_summary" "True True True True " "$counts"
req -H "$(auth)" "$(B /pix/v2/cob/fixtureCobAtiva20240620000001)"
eq "GET /cob/{txid}" "200 ATIVA 150.00 52998224725" "$CODE $(j 'd["status"]') $(j 'd["valor"]["original"]') $(j 'd["devedor"]["cpf"]')"
req -H "$(auth)" "$(B /pix/v2/cob/fixtureCobAtivaCnpj2024062000002?revisao=2)"
eq "revisao above the charge's -> 400" "400 revisao" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
req -H "$(auth)" "$(B /pix/v2/cob/doesNotExist0000000000000000)"
eq "unknown txid -> 404 problem+json" "404 application/problem+json 404" "$CODE $(header Content-Type) $(j 'd["status"]')"

sent c42f0787-02cb-4b31-827e-459ec9d7ece1
eq "Pix sent older than 90 days -> 404 (Banking format)" '404 {"title":"Não Encontrado.","status":"404","detail":"Entidade não encontrada."}' "$CODE $(cat "$TMP/body")"
ctl POST /config '{"pix_lookback_days":0}' >/dev/null
sent c42f0787-02cb-4b31-827e-459ec9d7ece1
eq "fixture (e) PAGO (lookback off): exact valor number, e2e, history" '200 PAGO E00416968202406201500Fx9Kd3LmQ2w CRIADO,AGUARDANDO_APROVACAO,APROVADO,PAGO' \
    "$CODE $(j 'd["transacaoPix"]["status"]') $(j 'd["transacaoPix"]["endToEnd"]') $(j '",".join(h["status"] for h in d["historico"])')"
grep -q '"valor":1234567890.12,' "$TMP/body" && ok "valor is the JSON number 1234567890.12" || bad "valor JSON number" "$(cat "$TMP/body")"
sent 0b7e6a52-9f1d-4c3e-8a27-5d4c3b2a1f10
eq "REPROVADO with erros, no endToEnd" "200 REPROVADO REPROVADO PAG-REPROVADO False" \
    "$CODE $(j 'd["transacaoPix"]["status"]') $(j 'd["historico"][-1]["status"]') $(j 'd["transacaoPix"]["erros"][0]["codigoErro"]') $(j '"endToEnd" in d["transacaoPix"]')"
sent 3f9c2d1e-7b6a-4e5d-9c8b-a1b2c3d4e5f6
eq "FALHA with erros, masked CPF" '200 FALHA CRIADO,ENVIADO,FALHA AC03 ***.456.789-**' \
    "$CODE $(j 'd["transacaoPix"]["status"]') $(j '",".join(h["status"] for h in d["historico"])') $(j 'd["transacaoPix"]["erros"][0]["codigoErro"]') $(j 'd["transacaoPix"]["recebedor"]["cpfCnpj"]')"
ctl POST /config '{"pix_lookback_days":90}' >/dev/null
sent e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f; a="$CODE $(j 'd["transacaoPix"]["status"]') $(j 'd["transacaoPix"]["dataHoraSolicitacao"][:10]')"
sent f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f; b="$CODE $(j 'd["transacaoPix"]["status"]')"
eq "yesterday's fixtures inside the 90 days" "200 FALHA $(TZ=America/Sao_Paulo date -d yesterday +%F) 200 REPROVADO" "$a $b"
sent 00000000-0000-4000-8000-000000000000
eq "unknown codigoSolicitacao -> 404" 404 "$CODE"
sent not-a-uuid
eq "malformed codigoSolicitacao -> 400" "400 codigoSolicitacao" "$CODE $(j 'd["violacoes"][0]["propriedade"]')"
D10=$(TZ=America/Sao_Paulo date -d '10 days ago' +%F); D1=$(TZ=America/Sao_Paulo date -d yesterday +%F)
extrato "dataInicio=$D10&dataFim=$D1&tipoTransacao=PIX&tipoOperacao=D&tamanhoPagina=10000"; cp "$TMP/body" "$TMP/ed"
ok_all=True; n=0
for k in $(j '" ".join(t["detalhes"]["codigoSolicitacao"]+"/"+t["detalhes"]["endToEndId"]+"/"+t["valor"] for t in d["transacoes"][:8])' "$TMP/ed"); do
    sent "${k%%/*}"; n=$((n + 1))
    r=$(j "d['transacaoPix']['status'] == 'PAGO' and d['transacaoPix']['endToEnd'] == '$(echo "$k" | cut -d/ -f2)' and __import__('decimal').Decimal(str(d['transacaoPix']['valor'])) == __import__('decimal').Decimal('${k##*/}')")
    [ "$r" = True ] || ok_all=$r
done
eq "every Pix sent in extrato (last 10 days, first $n) is PAGO with its endToEnd and amount" "True" "$ok_all"
PSW="inicio=2023-01-01T00:00:00Z&fim=$(date -u +%Y-%m-%dT23:59:59Z)"
truthy "REPROVADO, FALHA and EXPIRADO payments generated" "$(ctl GET "/pix_ids?kind=pix_enviados&$PSW&status=FALHA" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)) > 10)')"

req -H "Authorization: Bearer $LIMITED" "$(B "/pix/v2/pix?$FIX")"; a=$CODE
req -H "Authorization: Bearer $LIMITED" "$(B "/pix/v2/cob?$FIX")"
eq "scopes: pix.read token lists Pix; cob.read missing -> 403 problem+json naming it" "200 403 application/problem+json https://pix.bcb.gov.br/api/v2/error/AcessoNegado True" \
    "$a $CODE $(header Content-Type) $(j 'd["type"]') $(j '"cob.read" in d["detail"]')"
req -H "Authorization: Bearer $LIMITED" "$(B /banking/v2/pix/c42f0787-02cb-4b31-827e-459ec9d7ece1)"
eq "pagamento-pix.read missing -> 403 (Banking format)" '403 403 True' "$CODE $(j 'd["status"]') $(j '"pagamento-pix.read" in d["detail"]')"
req "$(B "/pix/v2/pix?$FIX")"
eq "no token on the API Pix -> 401 problem+json" "401 application/problem+json 401" "$CODE $(header Content-Type) $(j 'd["status"]')"
ctl POST /fault '{"endpoint":"cob","kind":"status","status":503}' >/dev/null
cob "?$FIX"
eq "injected 503 on the API Pix is problem+json" "503 application/problem+json https://pix.bcb.gov.br/api/v2/error/ServicoIndisponivel" "$CODE $(header Content-Type) $(j 'd["type"]')"
ctl POST /reset >/dev/null
pix "?$FIX"; pix "?$FIX"; cob "?$FIX"; req -H "$(auth)" "$(B /pix/v2/cob/fixtureCobAtiva20240620000001)"; sent c42f0787-02cb-4b31-827e-459ec9d7ece1
req -H "$(auth)" "$(B /pix/v2/pix/E00416968202406201436ghzKRVgnb7A)"
eq "/calls per API Pix endpoint" "2 1 1 1 1" "$(ctl GET /calls | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["pix_recebidos"], d["pix_recebido"], d["cob"], d["cob_txid"], d["pix_consulta"])')"
ctl POST /config '{"rate_limits":true,"limits":{"cob":2}}' >/dev/null
cob "?$FIX"; c1=$CODE; cob "?$FIX"; c2=$CODE; cob "?$FIX"; c3="$CODE $(header Retry-After | grep -cE '^[0-9]+$')"
eq "API Pix rate limit per endpoint (cob: 2/min) -> 429 with Retry-After" "200 200 429 1" "$c1 $c2 $c3"
ctl POST /config '{"rate_limits":false,"limits":{"cob":120}}' >/dev/null
eq "/pix_fixtures" "Rv1pt4pjd2jtjdzx5nafhtjks7 3f9c2d1e-7b6a-4e5d-9c8b-a1b2c3d4e5f6" "$(ctl GET /pix_fixtures | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["cob"]["CONCLUIDA"], d["pix_enviados"]["FALHA"])')"
eq "/pix_ids kind=cob on the fixture day" '["fixtureCobAtiva20240620000001","fixtureCobAtivaCnpj2024062000002"]' "$(ctl GET "/pix_ids?kind=cob&status=ATIVA&$(echo "$FIX" | sed 's/-03:00/%2D03:00/g')")"
ctl POST /reset >/dev/null

# ------------------------------------------------------------------------------------------
echo "# TLS client authentication"
ctl POST /reset >/dev/null
raw_req --cacert "$CERTS/ca.crt" "$(B /banking/v2/saldo)"
[ "$RC" -ne 0 ] && ok "no client cert: curl fails (rc $RC)" || bad "no client cert rejected" "code $CODE"
raw_req --cacert "$CERTS/ca.crt" --cert "$CERTS/other_client.crt" --key "$CERTS/other_client.key" "$(B /banking/v2/saldo)"
[ "$RC" -ne 0 ] && ok "other-CA client cert: curl fails (rc $RC)" || bad "other-CA cert rejected" "code $CODE"
raw_req --cacert "$CERTS/ca.crt" --cert "$CERTS/expired_client.crt" --key "$CERTS/expired_client.key" "$(B /banking/v2/saldo)"
[ "$RC" -ne 0 ] && ok "expired client cert: curl fails (rc $RC)" || bad "expired cert rejected" "code $CODE"
raw_req --cacert "$CERTS/ca.crt" --cert "$CERTS/client.crt" --key "$CERTS/client.key" -H "$(auth)" "https://127.0.0.1:$PORT/banking/v2/saldo"
eq "valid cert via 127.0.0.1 (IP SAN)" 200 "$CODE"
eq "counts: 3 tls_fail, 1 request" "3 1" "$(ctl GET /calls | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["tls_fail"], d["total"])')"
[ "$(grep -c 'TLS handshake failed' "$TMP/mock.log")" -ge 3 ] && ok "handshake failures logged" || bad "handshake failures logged"

# ------------------------------------------------------------------------------------------
echo "# keep-alive"
curl -sv -o /dev/null -o /dev/null "${CERT_ARGS[@]}" -H "$(auth)" "$(B /banking/v2/saldo)" "$(B /banking/v2/saldo)" 2>"$TMP/err"
grep -qi 're-using existing connection' "$TMP/err" && ok "HTTP/1.1 keep-alive reuses the connection" || bad "keep-alive"
req -H "$(auth)" -H "Connection: close" "$(B /banking/v2/saldo)"
eq "Connection: close honoured" "close" "$(header Connection)"

# ------------------------------------------------------------------------------------------
echo "# rate limits"
ctl POST /reset >/dev/null
eq "enable rate limits" true "$(ctl POST /config '{"rate_limits":true}' | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["rate_limits"]))')"
codes=""
for _ in $(seq 10); do extrato "dataInicio=2024-06-20&dataFim=2024-06-20"; codes="$codes$CODE "; done
eq "10 extrato calls within the limit" "200 200 200 200 200 200 200 200 200 200 " "$codes"
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
RA=$(header Retry-After)
eq "11th extrato call -> 429 Banking body" "429 Too Many Requests 429" "$CODE $(j 'd["title"]') $(j 'd["status"]')"
[[ $RA =~ ^[0-9]+$ ]] && [ "$RA" -ge 1 ] && [ "$RA" -le 60 ] && ok "Retry-After $RA" || bad "Retry-After" "[$RA]"
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "saldo has its own budget" 200 "$CODE"
codes=""
for _ in $(seq 6); do
    req "$(B /oauth/v2/token)" -d client_id=pix-test-client -d client_secret=pix-test-secret -d grant_type=client_credentials -d scope=extrato.read
    codes="$codes$CODE "
done
eq "token endpoint: 5 per minute" "200 200 200 200 200 429 " "$codes"
ctl POST /config '{"limits":{"saldo":2}}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"; c1=$CODE
req -H "$(auth)" "$(B /banking/v2/saldo)"; c2=$CODE
eq "configurable limit (saldo: 2/min, 1 already used)" "200 429" "$c1 $c2"
ctl POST /config '{"limits":{"saldo":10},"rate_limits":false}' >/dev/null
ctl POST /reset >/dev/null

# ------------------------------------------------------------------------------------------
echo "# faults"
ctl POST /fault '{"endpoint":"saldo","kind":"delay","ms":700}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "delay 700 ms" "200 True" "$CODE $("$PY" -c "print($TIME >= 0.7)")"
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "delay applies once" "200 True" "$CODE $("$PY" -c "print($TIME < 0.5)")"

ctl POST /fault '{"endpoint":"saldo","kind":"status","status":503,"count":2}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"; c1="$CODE $(j 'd["title"]')"
req -H "$(auth)" "$(B /banking/v2/saldo)"; c2=$CODE
req -H "$(auth)" "$(B /banking/v2/saldo)"; c3=$CODE
eq "status 503 x2 then normal" "503 Serviço Indisponível 503 200" "$c1 $c2 $c3"
ctl POST /fault '{"endpoint":"extrato","kind":"status","status":500}' >/dev/null
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "status 500 body" "500 Ocorreu um erro! 500" "$CODE $(j 'd["title"]') $(j 'd["status"]')"
ctl POST /fault '{"endpoint":"extrato","kind":"status","status":429}' >/dev/null
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "status 429 with Retry-After: 1" "429 1" "$CODE $(header Retry-After)"
ctl POST /fault '{"endpoint":"extrato","kind":"status","status":504}' >/dev/null
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "status 504" "504 504" "$CODE $(j 'd["status"]')"
ctl POST /fault '{"endpoint":"saldo","kind":"empty_body","status":502}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "empty_body 502" "502 0 0" "$CODE $(header Content-Length) $(stat -c %s "$TMP/body")"
ctl POST /fault '{"endpoint":"extrato","kind":"drop"}' >/dev/null
extrato "dataInicio=2024-01-01&dataFim=2024-03-30&tamanhoPagina=1000"
eq "drop: curl sees a partial body (rc 18)" "18 200" "$RC $CODE"
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "after drop: normal" 200 "$CODE"
ctl POST /fault '{"endpoint":"*","kind":"status","status":503}' >/dev/null
req "$(B /oauth/v2/token)" -d client_id=pix-test-client -d client_secret=pix-test-secret -d grant_type=client_credentials -d scope=extrato.read
eq "endpoint * matches the token endpoint" 503 "$CODE"

ctl POST /fault '{"endpoint":"saldo","kind":"hang"}' >/dev/null
( curl -s -o /dev/null --max-time 2 "${CERT_ARGS[@]}" -H "$(auth)" "$(B /banking/v2/saldo)"; echo $? >"$TMP/hang_rc" ) &
HANG_PID=$!
sleep 0.5
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
eq "other connections served while one hangs" "200 True" "$CODE $("$PY" -c "print($TIME < 0.5)")"
wait "$HANG_PID"
eq "hang: client times out (rc 28)" 28 "$(cat "$TMP/hang_rc")"
sleep 0.5
grep -q 'fault=hang' "$TMP/mock.log" && ok "hung handler ends when the client disconnects" || bad "hung handler ends"
eq "hung request logged with status null" "null" "$(ctl GET '/requests?endpoint=saldo' | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[-1]["status"]))')"
ctl POST /fault '{"endpoint":"saldo","kind":"hang","count":-1}' >/dev/null
( curl -s -o /dev/null --max-time 20 "${CERT_ARGS[@]}" -H "$(auth)" "$(B /banking/v2/saldo)"; echo $? >"$TMP/hang2" ) &
HANG_PID=$!
sleep 0.7
ctl POST /reset >/dev/null
wait "$HANG_PID"
hrc=$(cat "$TMP/hang2")
[ "$hrc" != 0 ] && [ "$hrc" != 28 ] && ok "hang (count -1) released by /reset: connection closed without answer (rc $hrc)" || bad "hang released by reset" "rc $hrc"
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "after reset: normal" 200 "$CODE"
ctl POST /fault '{"endpoint":"saldo","kind":"status","status":500,"count":-1}' >/dev/null
ctl DELETE /fault >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "DELETE /fault clears faults" 200 "$CODE"
eq "bad fault kind -> 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/fault" -d '{"kind":"explode"}')"
ctl POST /fault '{"endpoint":"saldo","kind":"big_gzip","bytes":2000000}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
truthy "big_gzip: gzip on the wire, under 64 kB, inflating to a JSON answer of >= 2 000 000 bytes" "$("$PY" -c '
import gzip, json, sys
raw = open(sys.argv[1], "rb").read(); hdr = open(sys.argv[2]).read().lower()
d = gzip.decompress(raw); o = json.loads(d)
print("content-encoding: gzip" in hdr and len(raw) < 65536 and len(d) >= 2000000 and "disponivel" in o)' "$TMP/body" "$TMP/hdr")"
ctl POST /fault '{"endpoint":"saldo","kind":"big","bytes":300000}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
truthy "big: a plain JSON answer of >= 300 000 bytes" "$("$PY" -c '
import json, sys
raw = open(sys.argv[1], "rb").read(); o = json.loads(raw)
print(len(raw) >= 300000 and "disponivel" in o and "content-encoding" not in open(sys.argv[2]).read().lower())' "$TMP/body" "$TMP/hdr")"
ctl POST /fault '{"endpoint":"saldo","kind":"redirect","location":"https://elsewhere.example/x"}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "redirect: 302 with Location, empty body" "302 https://elsewhere.example/x 0" "$CODE $(header Location) $(stat -c %s "$TMP/body")"
ctl POST /fault '{"endpoint":"saldo","kind":"drip","ms":100,"chunk":8}' >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
truthy "drip: the whole JSON answer, 8 bytes every 100 ms (over a second)" "$("$PY" -c '
import json, sys
o = json.load(open(sys.argv[1])); print("disponivel" in o and float(sys.argv[2]) >= 1.0)' "$TMP/body" "$TIME")"
ctl POST /fault '{"endpoint":"saldo","kind":"drip","ms":200,"chunk":1}' >/dev/null
req --max-time 1 -H "$(auth)" "$(B /banking/v2/saldo)"
eq "drip: a client that gives up times out (rc 28)" 28 "$RC"
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "after drip: normal" 200 "$CODE"

# ------------------------------------------------------------------------------------------
echo "# Pix payment: POST /banking/v2/pix (ref §5.1), its record and its faults"
ctl POST /reset >/dev/null
ctl DELETE /payments >/dev/null
PTOKEN=$(get_token pix-test-client pix-test-secret "extrato.read pagamento-pix.write pagamento-pix.read")
[ -n "$PTOKEN" ] && ok "token with pagamento-pix.write" || bad "token with pagamento-pix.write"
# pay [curl args] BODY — POST /banking/v2/pix with PTOKEN (add -H "x-id-idempotente: K")
pay() {
    local body=${*: -1}
    req -X POST -H "Authorization: Bearer $PTOKEN" -H 'Content-Type: application/json' "${@:1:$#-1}" \
        --data-binary "$body" "$(B /banking/v2/pix)"
}
newkey() { "$PY" -c 'import uuid; print(uuid.uuid4())'; }
npay() { ctl GET /payments | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# payrec KEY EXPR — evaluate EXPR over the /payments entries p with that key (list)
payrec() { ctl GET /payments | "$PY" -c '
import json, sys
p = [x for x in json.load(sys.stdin) if x["key"] == sys.argv[1]]
r = eval(sys.argv[2])
print(" ".join(map(str, r)) if isinstance(r, tuple) else r)' "$1" "$2"; }
sentp() { req -H "Authorization: Bearer $PTOKEN" "$(B "/banking/v2/pix/$1")"; }
viols() { j '" ".join(v["propriedade"] for v in d["violacoes"])'; }
TODAY=$(TZ=America/Sao_Paulo date +%F)
OKB='{"valor":150.00,"descricao":"NF 1234","destinatario":{"tipo":"CHAVE","chave":"fornecedor@example.com"}}'

req -H "Authorization: Bearer $LIMITED" -X POST -d "$OKB" "$(B /banking/v2/pix)"
eq "token without pagamento-pix.write -> 403 naming the scope" "403 True" "$CODE $(j '"pagamento-pix.write" in d["detail"]')"
req "$(B /oauth/v2/token)" -d client_id=pix-limited-client -d client_secret=pix-limited-secret -d grant_type=client_credentials -d scope=pagamento-pix.write
eq "the limited integration lacks pagamento-pix.write (token call 403)" 403 "$CODE"
eq "nothing created so far" 0 "$(npay)"

echo "#   validation (400 violacoes name the field, 422 for unknown key / bad QR code)"
pay '{"descricao":"x","destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "valor missing" "400 valor" "$CODE $(viols)"
pay '{"valor":"150.00","destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "valor as a string" "400 valor" "$CODE $(viols)"
pay '{"valor":true,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "valor true" "400 valor" "$CODE $(viols)"
pay '{"valor":0,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "valor 0" "400 valor" "$CODE $(viols)"
pay '{"valor":-5.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "valor negative" "400 valor" "$CODE $(viols)"
pay '{"valor":10.001,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "valor with 3 decimals" "400 valor" "$CODE $(viols)"
D141=$(printf 'd%.0s' $(seq 141)); D140=${D141:1}
pay "{\"valor\":1.00,\"descricao\":\"$D141\",\"destinatario\":{\"tipo\":\"CHAVE\",\"chave\":\"a@example.com\"}}"
eq "descricao of 141 characters" "400 descricao" "$CODE $(viols)"
pay "{\"valor\":1.00,\"dataPagamento\":\"$(TZ=America/Sao_Paulo date -d yesterday +%F)\",\"destinatario\":{\"tipo\":\"CHAVE\",\"chave\":\"a@example.com\"}}"
eq "dataPagamento yesterday (Brasília)" "400 dataPagamento" "$CODE $(viols)"
pay '{"valor":1.00,"dataPagamento":"01/12/2030","destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "dataPagamento not YYYY-MM-DD" "400 dataPagamento" "$CODE $(viols)"
pay '{"valor":1.00}'
eq "destinatario missing" "400 destinatario" "$CODE $(viols)"
pay '{"valor":1.00,"destinatario":{"tipo":"BANK_DETAILS"}}'
eq "destinatario.tipo unknown" "400 destinatario.tipo" "$CODE $(viols)"
codes=""
for k in 'a@b' 'a b@example.com' '12345678900' '11222333000180' '+5511987654321x' '+551187654321' '5511987654321' \
         '7d9f0335-8dcc-4054-9bf9-0c8a8b1e9d4' 'qualquer'; do
    pay "{\"valor\":1.00,\"destinatario\":{\"tipo\":\"CHAVE\",\"chave\":\"$k\"}}"; codes="$codes$CODE:$(viols) "
done
eq "malformed keys (e-mail, CPF/CNPJ check digits, phone, EVP, other) -> 400 destinatario.chave" \
    "$(for _ in $(seq 9); do printf '400:destinatario.chave '; done)" "$codes"
pay '{"valor":1.00,"destinatario":{"tipo":"CHAVE"}}'
eq "chave missing" "400 destinatario.chave" "$CODE $(viols)"
pay '{"valor":1.00,"destinatario":{"tipo":"DADOS_BANCARIOS","instituicaoFinanceira":{}}}'
eq "DADOS_BANCARIOS: every missing field named" "400 destinatario.contaCorrente destinatario.tipoConta destinatario.cpfCnpj destinatario.agencia destinatario.nome destinatario.instituicaoFinanceira.ispb" "$CODE $(viols)"
pay '{"valor":1.00,"destinatario":{"tipo":"DADOS_BANCARIOS","nome":"X","contaCorrente":"12a","tipoConta":"CORRENTE","cpfCnpj":"12345678900","agencia":"00019","instituicaoFinanceira":{"ispb":"416968"}}}'
eq "DADOS_BANCARIOS: malformed fields named" "400 destinatario.contaCorrente destinatario.tipoConta destinatario.cpfCnpj destinatario.agencia destinatario.instituicaoFinanceira.ispb" "$CODE $(viols)"
pay '{"valor":1.00,"destinatario":{"tipo":"PIX_COPIA_E_COLA"}}'
eq "pixCopiaECola missing" "400 destinatario.pixCopiaECola" "$CODE $(viols)"
pay '{"valor":1.00,"destinatario":{"tipo":"PIX_COPIA_E_COLA","pixCopiaECola":"00020126330014br.gov.bcb.pix0111123456789095204000053039865802BR5913FULANO6008BRASILIA62070503***63041234"}}'
eq "pixCopiaECola with a wrong CRC -> 422 (the portal's QR Code example)" "422 Não foi possível processar o QR Code False" "$CODE $(j 'd["title"]') $(j '"violacoes" in d')"
pay '{"valor":1.00,"destinatario":{"tipo":"CHAVE","chave":"Fulano@NaoExiste.example"}}'
eq "well-formed key the bank does not know (@naoexiste.example) -> 422" "422 Chave não encontrada." "$CODE $(j 'd["title"]')"
pay 'valor=1'
eq "body not JSON -> 400" "400 body" "$CODE $(viols)"
pay -H 'x-id-idempotente: nao-e-uuid' '{"valor":1.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "x-id-idempotente not a UUID -> 400" "400 x-id-idempotente" "$CODE $(viols)"
eq "no refused POST created a payment" 0 "$(npay)"

echo "#   valid payees and amounts"
QR=$("$PY" -c '
import binascii
def f(t, v): return "%s%02d%s" % (t, len(v), v)
s = f("00","01") + f("26", f("00","br.gov.bcb.pix") + f("01","45723174000110")) + f("52","0000") + f("53","986") \
    + f("54","10.00") + f("58","BR") + f("59","FORNECEDOR EXEMPLO") + f("60","SAO PAULO") + f("62", f("05","***")) + "6304"
print(s + "%04X" % binascii.crc_hqx(s.encode(), 0xFFFF))')
codes=""
for dest in '{"tipo":"CHAVE","chave":"fornecedor@example.com"}' '{"tipo":"CHAVE","chave":"52998224725"}' \
            '{"tipo":"CHAVE","chave":"45723174000110"}' '{"tipo":"CHAVE","chave":"+5511987654321"}' \
            '{"tipo":"CHAVE","chave":"7d9f0335-8dcc-4054-9bf9-0c8a8b1e9d4a"}' \
            "{\"tipo\":\"PIX_COPIA_E_COLA\",\"pixCopiaECola\":\"$QR\"}"; do
    pay "{\"valor\":10.00,\"descricao\":\"$D140\",\"dataPagamento\":\"$TODAY\",\"destinatario\":$dest}"; codes="$codes$CODE "
done
eq "valid: e-mail, CPF, CNPJ, phone, EVP keys, Copia e Cola; descricao of 140" "200 200 200 200 200 200 " "$codes"
eq "six payments created" 6 "$(npay)"
pay '{"valor":0.01,"destinatario":{"tipo":"DADOS_BANCARIOS","nome":"Teste dados bancários","contaCorrente":"0000000","tipoConta":"CONTA_CORRENTE","cpfCnpj":"52998224725","agencia":"0019","instituicaoFinanceira":{"ispb":"00416968"}}}'
eq "DADOS_BANCARIOS (the portal's example) -> 200 PROCESSADO" "200 PROCESSADO" "$CODE $(j 'd["tipoRetorno"]')"
sentp "$(j 'd["codigoSolicitacao"]')"
eq "its consulta has the payee's account (codIspb, codAgencia, nroConta, masked CPF, tipoConta)" \
    '{"codIspb":"00416968","codAgencia":"0019","nroConta":"0000000","cpfCnpj":"***.982.247-**","nome":"Teste dados bancários","tipoConta":"CAC"}' \
    "$(j 'd["transacaoPix"]["recebedor"]')"
pay '{"valor":12345678901.99,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
C_BIG=$(j 'd["codigoSolicitacao"]')
eq "exact amounts: the record's valor and the consulta's JSON number keep every digit" '12345678901.99 "valor":12345678901.99,' \
    "$(ctl GET /payments | "$PY" -c 'import json,sys; print([p["valor"] for p in json.load(sys.stdin) if p["codigo"]=="'"$C_BIG"'"][0])') $(sentp "$C_BIG"; grep -o '"valor":[0-9.]*,' "$TMP/body")"
ctl DELETE /payments >/dev/null
eq "DELETE /payments forgets them" 0 "$(npay)"

echo "#   idempotency (x-id-idempotente)"
K1=$(newkey)
pay -H "x-id-idempotente: $K1" "$OKB"; cp "$TMP/body" "$TMP/k1a"
eq "first POST with a key: 200 PROCESSADO, today" "200 PROCESSADO $TODAY $TODAY" "$CODE $(j 'd["tipoRetorno"]') $(j 'd["dataPagamento"]') $(j 'd["dataOperacao"]')"
[[ $(j 'd["codigoSolicitacao"]') =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] && ok "codigoSolicitacao is a UUID" || bad "codigoSolicitacao is a UUID"
eq "answer fields" "codigoSolicitacao,dataOperacao,dataPagamento,tipoRetorno" "$(j '",".join(sorted(d))')"
C1=$(j 'd["codigoSolicitacao"]')
pay -H "x-id-idempotente: $(tr a-f A-F <<<"$K1")" '{"valor":999.99,"destinatario":{"tipo":"CHAVE","chave":"outro@example.com"}}'
eq "replay (same key in upper case, another body): the first answer byte for byte" "200 same" "$CODE $(cmp -s "$TMP/body" "$TMP/k1a" && echo same || echo differs)"
eq "one payment for the key, posts 2, first body kept" "1 2 $OKB 150.00 fornecedor@example.com PROCESSADO PAGO $C1" \
    "$(payrec "$K1" 'len(p), p[0]["posts"], p[0]["body"], p[0]["valor"], p[0]["chave"], p[0]["tipoRetorno"], p[0]["status"], p[0]["codigo"]')"
truthy "created is an epoch float" "$(payrec "$K1" 'isinstance(p[0]["created"], float) and abs(p[0]["created"] - __import__("time").time()) < 60')"
pay '{"valor":1.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'; a=$(j 'd["codigoSolicitacao"]')
pay '{"valor":1.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'; b=$(j 'd["codigoSolicitacao"]')
eq "without the header every POST creates a payment (the danger)" "3 True 2" \
    "$(npay) $([ "$a" != "$b" ] && echo True) $(ctl GET /payments | "$PY" -c 'import json,sys; print(sum(1 for x in json.load(sys.stdin) if x["key"] is None))')"
K2=$(newkey)
pay -H "x-id-idempotente: $K2" '{"valor":1.00,"destinatario":{"tipo":"CHAVE","chave":"a@naoexiste.example"}}'; a=$CODE
pay -H "x-id-idempotente: $K2" '{"valor":2.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "a refused POST binds no key: the same key then creates" "422 200 1 1" "$a $CODE $(payrec "$K2" 'len(p), p[0]["posts"]')"
K3=$(newkey)
ctl POST /fault '{"endpoint":"pix_pagamento","kind":"delay","ms":800,"count":8}' >/dev/null
for i in $(seq 8); do
    curl -s -o "$TMP/conc$i" "${CERT_ARGS[@]}" -X POST -H "Authorization: Bearer $PTOKEN" -H "x-id-idempotente: $K3" \
        --data-binary "{\"valor\":$i.00,\"destinatario\":{\"tipo\":\"CHAVE\",\"chave\":\"a@example.com\"}}" "$(B /banking/v2/pix)" &
    CONC_PIDS="${CONC_PIDS:-} $!"
done
wait $CONC_PIDS
ctl DELETE /fault >/dev/null
eq "8 concurrent POSTs with one key: one payment, posts 8, 8 identical answers" "1 8 1" \
    "$(payrec "$K3" 'len(p), p[0]["posts"]') $(cat "$TMP"/conc[1-8] | sort -u | grep -c codigoSolicitacao)"
truthy "request log: idempotency_key and epoch t on each POST" "$(ctl GET '/requests?endpoint=pix_pagamento' | "$PY" -c '
import json, sys, time
r = json.load(sys.stdin)
k = [x for x in r if x["idempotency_key"] == sys.argv[1]]
print(len(k) == 8 and all(isinstance(x["t"], float) and abs(x["t"] - time.time()) < 120 for x in r)
      and any(x["idempotency_key"] is None for x in r))' "$K3")"
n=$(npay)
ctl POST /reset >/dev/null
eq "POST /reset keeps the payments (a bank does not forget)" "$n" "$(npay)"

echo "#   tipoRetorno, consulta, approval, statement and balance"
sentp "$C1"; cp "$TMP/body" "$TMP/c1"
eq "PROCESSADO -> consulta PAGO, historico CRIADO,PAGO, valor a number" "200 PAGO CRIADO,PAGO 150.00 fornecedor@example.com $C1" \
    "$CODE $(j 'd["transacaoPix"]["status"]') $(j '",".join(h["status"] for h in d["historico"])') $(grep -o '"valor":[0-9.]*' "$TMP/c1" | cut -d: -f2) $(j 'd["transacaoPix"]["chave"]') $(j 'd["transacaoPix"]["codigoSolicitacao"]')"
truthy "PAGO has endToEnd (E00416968...) and dataHoraMovimento" "$(j '__import__("re").fullmatch(r"E00416968\d{12}[A-Za-z0-9]{11}", d["transacaoPix"]["endToEnd"]) is not None and d["transacaoPix"]["dataHoraMovimento"][:10] == "'"$TODAY"'"')"
TOMORROW=$(TZ=America/Sao_Paulo date -d tomorrow +%F)
pay -H "x-id-idempotente: $(newkey)" "{\"valor\":50.00,\"dataPagamento\":\"$TOMORROW\",\"destinatario\":{\"tipo\":\"CHAVE\",\"chave\":\"a@example.com\"}}"
C_AG=$(j 'd["codigoSolicitacao"]')
eq "future dataPagamento -> AGENDADO" "200 AGENDADO $TOMORROW $TODAY" "$CODE $(j 'd["tipoRetorno"]') $(j 'd["dataPagamento"]') $(j 'd["dataOperacao"]')"
sentp "$C_AG"
eq "AGENDADO consulta" "AGENDADO CRIADO,AGENDADO False" "$(j 'd["transacaoPix"]["status"]') $(j '",".join(h["status"] for h in d["historico"])') $(j '"endToEnd" in d["transacaoPix"]')"
eq "approval_above configurable (default null)" 'null "1000.00"' \
    "$(ctl GET /config | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["approval_above"]))') $(ctl POST /config '{"approval_above":"1000.00"}' | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["approval_above"]))')"
eq "approval_above 1000.5 (a float) refused" 400 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/config" -d '{"approval_above":1000.5}')"
pay '{"valor":999.99,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'; a=$(j 'd["tipoRetorno"]')
KA=$(newkey)
pay -H "x-id-idempotente: $KA" '{"valor":1000.00,"descricao":"Aprovar","destinatario":{"tipo":"CHAVE","chave":"52998224725"}}'
C_AP=$(j 'd["codigoSolicitacao"]')
eq "under the threshold PROCESSADO, at it APROVACAO" "PROCESSADO APROVACAO" "$a $(j 'd["tipoRetorno"]')"
KR=$(newkey)
pay -H "x-id-idempotente: $KR" '{"valor":2500.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
C_RE=$(j 'd["codigoSolicitacao"]')
ctl POST /config '{"approval_above":null}' >/dev/null
sentp "$C_AP"
eq "APROVACAO -> AGUARDANDO_APROVACAO, no endToEnd" "AGUARDANDO_APROVACAO CRIADO,AGUARDANDO_APROVACAO False" \
    "$(j 'd["transacaoPix"]["status"]') $(j '",".join(h["status"] for h in d["historico"])') $(j '"endToEnd" in d["transacaoPix"]')"
stmt() {  # stmt -> "rows_today sum_d_today" of the simple /extrato and the saldo
    req -H "Authorization: Bearer $PTOKEN" "$(B "/banking/v2/extrato?dataInicio=$TODAY&dataFim=$TODAY")"
    local n; n=$(j 'len(d["transacoes"])')
    req -H "Authorization: Bearer $PTOKEN" "$(B /banking/v2/saldo)"
    echo "$n $(j 'd["disponivel"]')"
}
read -r N0 S0 <<<"$(stmt)"
SD0=$(ctl GET "/summary?dataInicio=$TODAY&dataFim=$TODAY" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["sum_d"])')
extrato "dataInicio=$TODAY&dataFim=$TODAY&tipoOperacao=D&tamanhoPagina=10000"
eq "not yet approved: no debit in the statement" "0" "$(j 'sum(1 for t in d["transacoes"] if (t.get("detalhes") or {}).get("codigoSolicitacao") == "'"$C_AP"'")')"
eq "/payment_status PAGO" "200 PAGO" "$(curl -s -o "$TMP/ps" -w '%{http_code}' "http://127.0.0.1:$CPORT/payment_status" -d "{\"codigo\":\"$C_AP\",\"status\":\"PAGO\"}") $(j 'd["status"]' "$TMP/ps")"
sentp "$C_AP"
eq "approved: PAGO, historico CRIADO,AGUARDANDO_APROVACAO,PAGO, endToEnd, dataHoraMovimento" "PAGO CRIADO,AGUARDANDO_APROVACAO,PAGO True True" \
    "$(j 'd["transacaoPix"]["status"]') $(j '",".join(h["status"] for h in d["historico"])') $(j 'd["transacaoPix"]["endToEnd"].startswith("E00416968")') $(j '"dataHoraMovimento" in d["transacaoPix"]')"
E2E_AP=$(j 'd["transacaoPix"]["endToEnd"]')
extrato "dataInicio=$TODAY&dataFim=$TODAY&tipoOperacao=D&tamanhoPagina=10000"
eq "extrato/completo: one PIX D row with codigoSolicitacao, endToEndId, valor string 1000.0" "1 PIX D 1000.0 $E2E_AP 52998224725 Aprovar $TODAY" \
    "$(j '(lambda r: " ".join([str(len(r)), r[0]["tipoTransacao"], r[0]["tipoOperacao"], r[0]["valor"], r[0]["detalhes"]["endToEndId"], r[0]["detalhes"]["cpfCnpjRecebedor"], r[0]["detalhes"]["descricaoPix"], r[0]["dataTransacao"]]))([t for t in d["transacoes"] if (t.get("detalhes") or {}).get("codigoSolicitacao") == "'"$C_AP"'"])')"
truthy "extrato/completo still newest first" "$(j 'all(a["dataInclusao"] >= b["dataInclusao"] for a, b in zip(d["transacoes"], d["transacoes"][1:]))')"
read -r N1 S1 <<<"$(stmt)"
SD1=$(ctl GET "/summary?dataInicio=$TODAY&dataFim=$TODAY" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["sum_d"])')
eq "simple /extrato one row more, saldo and /summary sum_d move by exactly 1000.00" "1 True True" \
    "$((N1 - N0)) $("$PY" -c "from decimal import Decimal as D; print(D('$S0') - D('$S1') == D('1000.00'))") $("$PY" -c "from decimal import Decimal as D; print(D('$SD1') - D('$SD0') == D('1000.00'))")"
req -H "Authorization: Bearer $PTOKEN" "$(B "/banking/v2/saldo?dataSaldo=$TODAY")"
eq "saldo of dataSaldo=today includes it" "$S1" "$(j 'd["disponivel"]')"
eq "PAGO is final: /payment_status -> 409" 409 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/payment_status" -d "{\"codigo\":\"$C_AP\",\"status\":\"FALHA\"}")"
ctl POST /payment_status "{\"codigo\":\"$C_RE\",\"status\":\"REPROVADO\"}" >/dev/null
sentp "$C_RE"
eq "REPROVADO fills erros, no debit" "REPROVADO CRIADO,AGUARDANDO_APROVACAO,REPROVADO PAG-REPROVADO $N1 $S1" \
    "$(j 'd["transacaoPix"]["status"]') $(j '",".join(h["status"] for h in d["historico"])') $(j 'd["transacaoPix"]["erros"][0]["codigoErro"]') $(stmt)"
eq "record follows (status REPROVADO, tipoRetorno APROVACAO)" "REPROVADO APROVACAO" "$(payrec "$KR" 'p[0]["status"] + " " + p[0]["tipoRetorno"]')"
eq "/payment_status: unknown codigo 404, unknown status 400" "404 400" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/payment_status" -d '{"codigo":"00000000-0000-4000-8000-000000000000","status":"PAGO"}') $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/payment_status" -d "{\"codigo\":\"$C_RE\",\"status\":\"PAGOU\"}")"

echo "#   faults on pix_pagamento"
fault_case() {  # fault_case KIND EXTRA_JSON -> sets FK (key) and runs one POST with --max-time 2
    FK=$(newkey)
    ctl POST /fault "{\"endpoint\":\"pix_pagamento\",\"kind\":\"$1\"$2}" >/dev/null
    pay --max-time 2 -H "x-id-idempotente: $FK" '{"valor":7.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
}
n0=$(npay)
fault_case status ',"status":503'
eq "status 503 (before): 503, nothing created" "503 $n0 0" "$CODE $(npay) $(payrec "$FK" 'len(p)')"
pay -H "x-id-idempotente: $FK" '{"valor":7.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "  the retry with the key creates it (posts 1)" "200 1 1" "$CODE $(payrec "$FK" 'len(p), p[0]["posts"]')"
FK=$(newkey)
ctl POST /fault '{"endpoint":"pix_pagamento","kind":"hang"}' >/dev/null
( pay --max-time 3 -H "x-id-idempotente: $FK" '{"valor":7.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'; echo "$RC" >"$TMP/hang_pay" ) &
BG=$!
sleep 1.5
eq "hang (before): nothing recorded while it lasts" 0 "$(payrec "$FK" 'len(p)')"
wait "$BG"
eq "  client times out, still nothing" "28 0" "$(cat "$TMP/hang_pay") $(payrec "$FK" 'len(p)')"
fault_case drop ''
eq "drop (after): the answer is cut (rc 18) but the payment is recorded" "18 1" "$RC $(payrec "$FK" 'len(p)')"
C_DROP=$(payrec "$FK" 'p[0]["codigo"]')
pay -H "x-id-idempotente: $FK" '{"valor":7.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "  the retry with the key gets the payment's answer (same codigo, posts 2)" "200 $C_DROP 1 2" "$CODE $(j 'd["codigoSolicitacao"]') $(payrec "$FK" 'len(p), p[0]["posts"]')"
FK=$(newkey)
ctl POST /fault '{"endpoint":"pix_pagamento","kind":"hang_after"}' >/dev/null
( pay --max-time 3 -H "x-id-idempotente: $FK" '{"valor":7.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'; echo "$RC" >"$TMP/hang_pay" ) &
BG=$!
sleep 1.5
eq "hang_after: recorded while the answer never comes" "1 PAGO" "$(payrec "$FK" 'len(p), p[0]["status"]')"
wait "$BG"
eq "  client times out" 28 "$(cat "$TMP/hang_pay")"
pay -H "x-id-idempotente: $FK" '{"valor":7.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "  the retry gets the recorded payment (posts 2)" "200 $(payrec "$FK" 'p[0]["codigo"]') 2" "$CODE $(j 'd["codigoSolicitacao"]') $(payrec "$FK" 'p[0]["posts"]')"
eq "  the hung POST is logged with status null" "null" "$(ctl GET '/requests?endpoint=pix_pagamento' | "$PY" -c 'import json,sys; print(json.dumps([r["status"] for r in json.load(sys.stdin) if r["idempotency_key"] == sys.argv[1]][0]))' "$FK")"
fault_case status_after ',"status":500'
eq "status_after 500: answers 500 but the payment is recorded" "500 Ocorreu um erro! 1" "$CODE $(j 'd["title"]') $(payrec "$FK" 'len(p)')"
pay -H "x-id-idempotente: $FK" '{"valor":7.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "  the retry gets the recorded payment (posts 2)" "200 $(payrec "$FK" 'p[0]["codigo"]') 2" "$CODE $(j 'd["codigoSolicitacao"]') $(payrec "$FK" 'p[0]["posts"]')"
fault_case delay ',"ms":600'
eq "delay (before): answered after the delay, created" "200 True 1" "$CODE $("$PY" -c "print($TIME >= 0.6)") $(payrec "$FK" 'len(p)')"
ctl DELETE /fault >/dev/null

echo "#   rate limits: 60/min and 1 call per second"
eq "default limit pix_pagamento 60/min" 60 "$(ctl GET /config | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["limits"]["pix_pagamento"])')"
ctl POST /reset >/dev/null
ctl POST /config '{"rate_limits":true}' >/dev/null
n0=$(npay)
# two POSTs on one keep-alive connection, the second right after the first
out=$(curl -s -o /dev/null -o /dev/null -w '%{http_code}:%header{retry-after} ' "${CERT_ARGS[@]}" -X POST \
    -H "Authorization: Bearer $PTOKEN" --data-binary '{"valor":3.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}' \
    "$(B /banking/v2/pix)" "$(B /banking/v2/pix)")
eq "second POST within 1 s -> 429 Retry-After 1, nothing created by it" "200: 429:1 $((n0 + 1))" "$out$(npay)"
sleep 1.1
pay '{"valor":3.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
eq "after 1 s the next POST passes" "200 $((n0 + 2))" "$CODE $(npay)"
sentp "$C1"; a=$CODE; sentp "$C1"
eq "the 1/s rule is POST-only (GET consulta twice at once)" "200 200" "$a $CODE"
ctl POST /config '{"limits":{"pix_pagamento":3}}' >/dev/null
sleep 1.1
pay '{"valor":3.00,"destinatario":{"tipo":"CHAVE","chave":"a@example.com"}}'
RA=$(header Retry-After)
eq "refused calls count: 4th call in the minute over a limit of 3 -> 429 with Retry-After > 1" "429 True" "$CODE $([ "${RA:-0}" -gt 1 ] && [ "$RA" -le 60 ] && echo True || echo "False($RA)")"
ctl POST /config '{"rate_limits":false,"limits":{"pix_pagamento":60}}' >/dev/null
ctl POST /reset >/dev/null
ctl DELETE /payments >/dev/null

# ------------------------------------------------------------------------------------------
echo "# counts, request log, revoke, token expiry"
ctl POST /reset >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
req -H "$(auth)" "$(B '/banking/v2/saldo?dataSaldo=x')"
extrato "dataInicio=2024-06-20&dataFim=2024-06-20"
req -H "$(auth)" "$(B /banking/v2/zzz)"
eq "/calls" "2 1 1 0 4" "$(ctl GET /calls | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["saldo"], d["extrato"], d["unknown"], d["token"], d["total"])')"
eq "/requests?endpoint=saldo (t: arrival, epoch float)" '[{"method":"GET","path":"/banking/v2/saldo","query":"","status":200,"conta":null,"idempotency_key":null},{"method":"GET","path":"/banking/v2/saldo","query":"dataSaldo=x","status":400,"conta":null,"idempotency_key":null}] True' \
    "$(ctl GET '/requests?endpoint=saldo' | "$PY" -c 'import json,sys,time; r=json.load(sys.stdin); t=[x.pop("t") for x in r]; print(json.dumps(r, separators=(",",":")), all(isinstance(v, float) and abs(v - time.time()) < 60 for v in t))')"
eq "/requests (all)" 4 "$(ctl GET /requests | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')"
ctl POST /revoke >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "revoked token -> 401" 401 "$CODE"
ctl POST /reset >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "reset lifts revocations" 200 "$CODE"
ctl POST /reset?tokens=1 >/dev/null
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "reset?tokens=1 forgets tokens" 401 "$CODE"
ctl POST /config '{"token_ttl":1}' >/dev/null
req "$(B /oauth/v2/token)" -d client_id=pix-test-client -d client_secret=pix-test-secret -d grant_type=client_credentials -d scope=extrato.read
eq "token_ttl 1 -> expires_in 1" 1 "$(j 'd["expires_in"]')"
TOKEN=$(j 'd["access_token"]')
sleep 1.2
req -H "$(auth)" "$(B /banking/v2/saldo)"
eq "expired token -> 401" 401 "$CODE"
eq "GET /config" '{"rate_limits":false,"token_ttl":1,"scroll_ttl":360,"limits":{"token":5,"saldo":10,"extrato":10,"extrato_simples":10,"pix_recebidos":120,"pix_recebido":120,"cob":120,"cob_txid":120,"pix_consulta":20,"pix_pagamento":60},"pix_lookback_days":90,"approval_above":null,"contas":null,"clock_skew":0}' "$(ctl GET /config)"
eq "bad config -> 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/config" -d '{"token_ttl":-1}')"

# ------------------------------------------------------------------------------------------
echo "# shutdown"
kill -TERM "$MOCK_PID"
for _ in $(seq 30); do kill -0 "$MOCK_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$MOCK_PID" 2>/dev/null; then
    bad "exits on SIGTERM"
else
    wait "$MOCK_PID"; rc=$?
    eq "exits 0 on SIGTERM" 0 "$rc"
    MOCK_PID=
fi
[ ! -e "$TMP/port" ] && ok "port file removed on exit" || bad "port file removed on exit"

echo
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
