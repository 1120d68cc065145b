#!/usr/bin/env bash
# The bank's one statement scroll per account (2025-03-17 alone has 12 000 transactions, so
# only a scroll reads it): a LIMIT frees it for the next session at once; a scroll held by
# another system (a raw curl with the same client) gives an error that says so; a self-join
# of the big day never sends a second scroll request.
set -u
. "$(dirname "$0")/common.sh"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
DAY=2025-03-17
COUNT="SELECT count(*) || ' ' || sum(valor) FROM inter.extrato WHERE data_transacao = '$DAY'"
expect=$(mock GET "/summary?dataInicio=$DAY&dataFim=$DAY" |
	python3 -c "import json,sys; from decimal import Decimal as D; s=json.load(sys.stdin); print(s['count'], D(s['sum_c'])+D(s['sum_d']))")
scrolls() { mock GET /scrolls | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }
starts() { mock GET '/requests?endpoint=extrato' | python3 -c "import json,sys; print(sum('scrollEnabled=true' in r['query'] for r in json.load(sys.stdin)))"; }

# 1. A LIMIT over the scrolled day, then at once another session reads the whole day.
mock POST /reset >/dev/null
first=$(q "SELECT count(*) FROM (SELECT * FROM inter.extrato WHERE data_transacao = '$DAY' LIMIT 3) s" 2>&1)
left=$(scrolls)
second=$(q "$COUNT" 2>&1)
check "a LIMIT 3 over the scrolled day returns 3 rows (got '$first')" test "$first" = 3
check "the LIMIT leaves no scroll open at the bank (open: $left)" test "$left" = 0
check "a second session at once reads the whole day: '$second' = '$expect'" test "$second" = "$expect"

# 2. Another system holds the account's scroll (same client, started with curl).
mock POST /reset >/dev/null
CERT=(--cacert "$PIX_CERTS/ca.crt" --cert "$PIX_CERTS/client.crt" --key "$PIX_CERTS/client.key")
token=$(curl -sS "${CERT[@]}" "$PIX_MOCK_URL/oauth/v2/token" -d client_id=pix-test-client -d client_secret=pix-test-secret \
	-d grant_type=client_credentials -d scope=extrato.read | python3 -c "import json,sys; print(json.load(sys.stdin)['access_token'])")
sid=$(curl -sS "${CERT[@]}" -H "Authorization: Bearer $token" \
	"$PIX_MOCK_URL/banking/v2/extrato/completo?dataInicio=$DAY&dataFim=$DAY&scrollEnabled=true&tamanhoPagina=10000" |
	python3 -c "import json,sys; print(json.load(sys.stdin)['scrollId'])")
started=$(starts)
before=$(date -u +%s)
psql -X -q -At -v VERBOSITY=verbose -c "$COUNT" >"$OUT/out" 2>"$OUT/err"
after=$(date -u +%s)
sed 's/^/# /' "$OUT/err"
check "curl's scroll is open at the bank" test -n "$sid"
check "the query fails with 55P03 (lock_not_available)" grep -q '^ERROR:  55P03:' "$OUT/err"
check "the error says another session or system holds the account's scroll" \
	grep -q 'another session or system holds the bank.s statement scroll for this account' "$OUT/err"
check "the detail carries the bank's own words" grep -q 'Já existe um scroll ativo para esta conta corrente.' "$OUT/err"
by=$(sed -n 's/.*at the latest by \([0-9:]*\) UTC.*/\1/p' "$OUT/err")
in_range=$(python3 - "$by" "$before" "$after" <<'PY'
import sys, datetime as dt
by, before, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    h, m, s = map(int, by.split(":"))
except ValueError:
    print("no"); sys.exit()
ok = False
for t in (before, after):  # the stated time of day is 6 minutes after the query ran
    base = dt.datetime.fromtimestamp(t + 360, dt.timezone.utc)
    cand = base.replace(hour=h, minute=m, second=s)
    for d in (-1, 0, 1):
        c = cand + dt.timedelta(days=d)
        if abs((c - base).total_seconds()) <= 2:
            ok = True
print("yes" if ok else "no")
PY
)
check "the hint says when it expires at the latest: 6 minutes from now ($by UTC)" test "$in_range" = yes
check "pix_fdw sent one scroll request and gave up (no retry)" test "$(($(starts) - started))" = 1
# curl reads its scroll to the end: the account is free and the query works.
curl -sS -o /dev/null "${CERT[@]}" -H "Authorization: Bearer $token" "$PIX_MOCK_URL/banking/v2/extrato/completo?scrollId=$sid"
got=$(q "$COUNT" 2>&1)
check "once curl's scroll is read to its end, the query reads the whole day" test "$got" = "$expect"

# 3. A self-join of the big day: both sides need the scroll. Whatever join the planner
# picks, the answer is exact or a clear error, the bank never sees a second scroll request
# while one is open, and the session's next query works.
mock POST /reset >/dev/null
psql -X -q -At -v VERBOSITY=verbose >"$OUT/out" 2>"$OUT/err" <<SQL
SELECT count(*) FROM inter.extrato a JOIN inter.extrato b ON a.id_transacao = b.id_transacao
WHERE a.data_transacao = '$DAY' AND b.data_transacao = '$DAY';
$COUNT;
SQL
sed 's/^/# /' "$OUT/err"
joined=$(head -1 "$OUT/out")
if [ "$joined" = 12000 ]; then
	ok "the self-join returns the exact 12000"
else
	check "the self-join fails with 0A000: a second scroll while this session reads one" \
		grep -q '^ERROR:  0A000: a second statement scroll of this bank account is needed' "$OUT/err"
fi
check "no SCROLL_ALREADY_ACTIVE from the bank" test "$(grep -c SCROLL_ALREADY_ACTIVE "$OUT/err")" = 0
check "the next query of that session reads the whole day: '$(tail -1 "$OUT/out")'" test "$(tail -1 "$OUT/out")" = "$expect"
check "no scroll left open at the end" test "$(scrolls)" = 0
mock POST /reset >/dev/null
