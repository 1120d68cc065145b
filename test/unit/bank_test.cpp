// Unit tests of the bank layer (plain C++, no PostgreSQL, no network): calendar arithmetic,
// window splitting, request strings, the bank's error bodies, and JSON cell extraction.
// Prints "ok - ..." / "not ok - ..." lines; test/run_all.sh counts them.
#include "bank/client.hpp"
#include "bank/dates.hpp"
#include "bank/limits.hpp"
#include "bank/source.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>

namespace {

int failures = 0;

void
Check(bool cond, const std::string &name)
{
	std::printf("%s - %s\n", cond ? "ok" : "not ok", name.c_str());
	if (!cond)
		failures++;
}

template <typename A, typename B>
void
Equal(const A &got, const B &want, const std::string &name)
{
	bool same = got == want;
	Check(same, name);
	if (!same)
		std::printf("#   got: %s\n#   want: %s\n", std::string(got).c_str(), std::string(want).c_str());
}

std::vector<pix::Cell>
ExtractOne(const char *json, std::vector<pix::ColumnSpec> specs)
{
	static pix::json::Page page;  // cells point into it
	page.Parse(json);
	pix::RowExtractor ex(std::move(specs));
	static std::vector<pix::Cell> cells;
	ex.Extract(page.Doc(), page, cells);
	static std::deque<std::string> keep;  // the extractor's scratch dies with it
	std::vector<pix::Cell> copy;
	for (const auto &c : cells) {
		pix::Cell k = c;
		if (!c.null) {
			keep.emplace_back(c.data, c.len);
			k.data = keep.back().c_str();
		}
		copy.push_back(k);
	}
	return copy;
}

std::string
Text(const pix::Cell &c)
{
	return c.null ? std::string("<NULL>") : std::string(c.data, c.len);
}

pix::ColumnSpec
Col(const char *path, bool json = false)
{
	pix::ColumnSpec s;
	s.path = pix::RowExtractor::SplitPath(path);
	s.json = json;
	return s;
}

}  // namespace

int
main()
{
	using namespace pix;

	// Calendar.
	Equal(dates::Iso(0), std::string("2000-01-01"), "day 0 is 2000-01-01 (PostgreSQL's epoch)");
	Equal(dates::Iso(dates::FromCivil(2024, 2, 29)), std::string("2024-02-29"), "leap day round-trips");
	Equal(dates::Iso(dates::FromCivil(2024, 12, 31) + 1), std::string("2025-01-01"), "year boundary");
	Equal(dates::Iso(dates::FromCivil(1999, 12, 31)), std::string("1999-12-31"), "before the epoch");
	bool all = true;
	for (dates::Day d = -40000; d < 40000; d += 7) {
		dates::Civil c = dates::ToCivil(d);
		all &= dates::FromCivil(c.year, c.month, c.day) == d;
	}
	Check(all, "FromCivil(ToCivil(d)) == d over 200 years");

	// Windows: at most 90 days counting both ends.
	dates::Day jan1 = dates::FromCivil(2024, 1, 1);
	auto w = SplitWindow(jan1, dates::FromCivil(2024, 3, 31), 90);  // 91 days
	Check(w.size() == 2, "a 91-day range is two windows");
	Equal(dates::Iso(w[0].last), std::string("2024-03-30"), "the first window ends after 90 days");
	Equal(dates::Iso(w[1].first), std::string("2024-03-31"), "the second window starts the next day");
	Check(SplitWindow(jan1, jan1 + 89, 90).size() == 1, "exactly 90 days is one window");
	Check(SplitWindow(jan1, jan1, 90).size() == 1, "one day is one window");
	Check(SplitWindow(jan1, jan1 + 365, 90).size() == 5, "366 days are five windows");
	Check(SplitWindow(jan1 + 1, jan1, 90).empty(), "an inverted range is no window");

	// Windows over the 10 000 rows pages reach: near-equal parts, one day at the least.
	auto contiguous = [](const std::vector<Window> &parts, const Window &whole) {
		bool ok = !parts.empty() && parts.front().first == whole.first && parts.back().last == whole.last;
		for (size_t i = 0; ok && i < parts.size(); i++)
			ok = parts[i].first <= parts[i].last && (i == 0 || parts[i].first == parts[i - 1].last + 1);
		return ok;
	};
	Window five{jan1, jan1 + 4};
	auto p2 = SplitForTotal(five, 13000, 10000);
	Check(p2.size() == 2 && p2[0].last == jan1 + 2 && contiguous(p2, five), "13 000 rows in 5 days: 3 + 2 days");
	Window ninety{jan1, jan1 + 89};
	auto p13 = SplitForTotal(ninety, 100000, 10000);
	Check(p13.size() == 13 && contiguous(p13, ninety), "100 000 rows in 90 days: 13 parts of 6-7 days");
	auto pd = SplitForTotal(five, 1000000000000LL, 10000);
	Check(pd.size() == 5 && contiguous(pd, five), "a huge count: one part per day, no more");
	Check(SplitForTotal(Window{jan1, jan1}, 50000, 10000).size() == 1, "a single day is not split (it scrolls)");
	Check(SplitForTotal(five, 10000, 10000).size() == 1, "10 000 rows need no split");
	Check(SplitForTotal(five, -1, 10000).size() == 1, "an unknown count is not split");

	// Request strings.
	Equal(UrlEncode("a b&c=d/é"), std::string("a%20b%26c%3Dd%2F%C3%A9"), "URL encoding");
	RequestPlan plan;
	plan.endpoint = FindEndpoint("extrato");
	plan.windows = {Window{jan1, jan1 + 1}};
	plan.params = {{"tipoOperacao", "C"}};
	plan.page_size = 500;
	Equal(plan.FirstQueries().at(0),
	      std::string("dataInicio=2024-01-01&dataFim=2024-01-02&pagina=0&tamanhoPagina=500&tipoOperacao=C"),
	      "first query of a statement window (what EXPLAIN shows is what is sent)");
	Equal(plan.PageQuery(plan.windows[0], 3), std::string("dataInicio=2024-01-01&dataFim=2024-01-02&pagina=3&tamanhoPagina=500&tipoOperacao=C"),
	      "a later page of the same window");
	Equal(plan.PageQuery(plan.windows[0], 0, true), std::string("dataInicio=2024-01-01&dataFim=2024-01-02&scrollEnabled=true&tamanhoPagina=500&tipoOperacao=C"),
	      "the first scroll page");
	RequestPlan saldo;
	saldo.endpoint = FindEndpoint("saldo");
	saldo.windows = {Window{jan1, jan1}, Window{jan1 + 2, jan1 + 2}};
	saldo.date_param = "dataSaldo";
	Check(saldo.FirstQueries() == std::vector<std::string>{"dataSaldo=2024-01-01", "dataSaldo=2024-01-03"},
	      "saldo history: one call per date");
	Check(saldo.Key() != plan.Key(), "requests are told apart for replays");
	plan.empty = true;
	Check(plan.FirstQueries().empty(), "an empty plan sends nothing");

	// The bank's error bodies.
	HttpResponse r;
	r.status = 400;
	r.body = R"({"title":"Dados inválidos.","detail":"Verifique.","timestamp":"2023-01-01T00:00:00.000000000-03:00",
	             "violacoes":[{"razao":"O valor não pode ser nulo.","propriedade":"dataInicio"}]})";
	Error e = HttpError(r, "GET /banking/v2/extrato/completo", "extrato.read");
	Equal(std::string(e.State()), std::string("22023"), "400 is invalid_parameter_value");
	Check(e.Detail().find("dataInicio: O valor não pode ser nulo.") != std::string::npos, "violations in DETAIL");
	r.status = 404;
	r.body = R"({"type":"https://pix.bcb.gov.br/api/v2/error/NaoEncontrado","title":"Não Encontrado","status":404,"detail":"Entidade não encontrada."})";
	e = HttpError(r, "GET /pix/v2/pix/x", "pix.read");
	Check(e.Detail().find("Não Encontrado Entidade não encontrada.") != std::string::npos, "RFC 7807 Pix body read");
	r.status = 403;
	r.body = R"({"erro":{"mensagem":"Acesso negado","mensagemDetalhe":"Escopo ausente"}})";
	e = HttpError(r, "GET /banking/v2/saldo", "extrato.read");
	Check(e.Detail().find("Acesso negado Escopo ausente") != std::string::npos, "legacy {erro:{...}} body read");
	Check(e.Hint().find("extrato.read") != std::string::npos, "403 hint names the scope");
	Equal(std::string(e.State()), std::string("42501"), "403 is insufficient_privilege");
	r.status = 503;
	r.body = "<html>not json</html>";
	e = HttpError(r, "GET /banking/v2/saldo", "extrato.read");
	Equal(std::string(e.what()), std::string("the bank answered HTTP 503 to GET /banking/v2/saldo"), "a non-JSON body still gives a message");
	r.status = 429;
	r.body.clear();
	r.retry_after = 7;
	e = HttpError(r, "GET /banking/v2/saldo", "extrato.read");
	Check(std::string(e.State()) == "53400" && e.Hint().find("7 s") != std::string::npos, "429 carries Retry-After");

	// Cells.
	const char *row = R"({"valor":"24.9","n":1400.0,"i":42,"b":true,"z":null,
	                     "detalhes":{"endToEndId":"E1","vazio":{}},"lista":[1,"x"]})";
	auto cells = ExtractOne(row, {Col("valor"), Col("n"), Col("i"), Col("b"), Col("z"), Col("detalhes.endToEndId"),
	                              Col("detalhes.nada"), Col("detalhes", true), Col("lista"), Col("x.y.z"), Col("valor", true)});
	Equal(std::string(cells[0].data), std::string("24.9"), "string amount kept as written");
	Equal(std::string(cells[1].data), std::string("1400.0"), "number amount as the bank wrote it");
	Equal(std::string(cells[2].data), std::string("42"), "integer");
	Equal(std::string(cells[3].data), std::string("true"), "boolean");
	Check(cells[4].null, "JSON null is NULL");
	Equal(std::string(cells[5].data), std::string("E1"), "nested path");
	Check(cells[6].null, "missing nested key is NULL");
	Equal(std::string(cells[7].data), std::string(R"({"endToEndId":"E1","vazio":{}})"), "object as JSON text");
	Equal(std::string(cells[8].data), std::string(R"([1,"x"])"), "array in a text column is JSON text");
	Check(cells[9].null, "path through a missing object is NULL");
	Equal(std::string(cells[10].data), std::string(R"("24.9")"), "a string for a jsonb column is a JSON string");
	auto none = ExtractOne(R"({"detalhes":null})", {Col("detalhes.endToEndId"), Col("detalhes", true)});
	Check(none[0].null && none[1].null, "detalhes null: flattened and raw are NULL");
	auto notobj = ExtractOne(R"({"detalhes":"INCOMPLETE"})", {Col("detalhes.endToEndId")});
	Check(notobj[0].null, "a path through a non-object is NULL, not an assertion");

	// Numbers exactly as the bank wrote them, never through a double.
	auto num = ExtractOne(R"({"saldo":90072023107594.7576,"big":123456789012345678901234567890,
	                          "dec":0.12345678901234567890123,"exp":1E+2,"neg":-0.000000000000000000001,
	                          "zero":-0,"look":"90072023107594.7576","frac":24.90,
	                          "det":{"v":90072023107594.7576,"l":[1E+2,-12.50,"7",{"n":1e-7}],"s":"1.0"}})",
	                      {Col("saldo"), Col("big"), Col("dec"), Col("exp"), Col("neg"), Col("zero"), Col("look"),
	                       Col("frac"), Col("det", true), Col("det.l"), Col("saldo", true), Col("look", true),
	                       Col("det.l", true)});
	Equal(Text(num[0]), std::string("90072023107594.7576"), "an 18-digit balance keeps every digit");
	Equal(Text(num[1]), std::string("123456789012345678901234567890"), "a 30-digit integer is exact");
	Equal(Text(num[2]), std::string("0.12345678901234567890123"), "a 23-digit decimal is exact");
	Equal(Text(num[3]), std::string("1E+2"), "an exponent stays as written");
	Equal(Text(num[4]), std::string("-0.000000000000000000001"), "a tiny negative decimal is exact");
	Equal(Text(num[5]), std::string("-0"), "minus zero as written");
	Equal(Text(num[6]), std::string("90072023107594.7576"), "a string that looks like a number is its text");
	Equal(Text(num[7]), std::string("24.90"), "trailing zeros of a number are kept");
	Equal(Text(num[8]), std::string(R"({"v":90072023107594.7576,"l":[1E+2,-12.50,"7",{"n":1e-7}],"s":"1.0"})"),
	      "numbers inside a JSON column: unquoted, every digit; strings stay strings");
	Equal(Text(num[9]), std::string(R"([1E+2,-12.50,"7",{"n":1e-7}])"), "an array in a text column keeps its numbers");
	Equal(Text(num[10]), std::string("90072023107594.7576"), "a number for a jsonb column is a bare JSON number");
	Equal(Text(num[11]), std::string(R"("90072023107594.7576")"), "a numeric string for a jsonb column stays quoted");
	Equal(Text(num[12]), std::string(R"([1E+2,-12.50,"7",{"n":1e-7}])"), "an array for a jsonb column");
	json::Page page;
	page.Parse(R"({"totalElementos":10001,"totalPaginas":2.0,"ultimaPagina":false,"n":"12"})");
	Check(json::GetInt(page.Doc(), "totalElementos", -1) == 10001, "integer counts read from number text");
	Check(json::GetInt(page.Doc(), "totalPaginas", -1) == 2, "an integral decimal count is read");
	Check(json::GetInt(page.Doc(), "n", -1) == 12, "a numeric string count is read");
	Check(!json::GetBool(page.Doc(), "ultimaPagina", true), "booleans unaffected");
	bool threw = false;
	try {
		page.Parse("{\"a\":1,");
	} catch (const Error &err) {
		threw = std::string(err.State()) == "HV00K";
	}
	Check(threw, "a truncated page is an HV00K error");

	// Retry-After: delay-seconds or an HTTP-date.
	auto retry = [](const std::string &v) { return ParseRetryAfter(v.data(), v.size()); };
	Check(retry(" 120\r\n") == 120, "Retry-After seconds");
	Check(retry(" 0\r\n") == 0, "Retry-After zero");
	Check(retry(" 12abc\r\n") == -1, "Retry-After with junk is ignored");
	Check(retry(" \r\n") == -1, "an empty Retry-After is ignored");
	auto http_date = [](time_t t) {
		char buf[64];
		struct tm g;
		gmtime_r(&t, &g);
		std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &g);
		return std::string(" ") + buf + "\r\n";
	};
	long in100 = retry(http_date(std::time(nullptr) + 100));
	Check(in100 >= 99 && in100 <= 100, "an HTTP-date 100 s ahead is 99-100 s (got " + std::to_string(in100) + ")");
	Check(retry(http_date(std::time(nullptr) - 3600)) == 0, "an HTTP-date in the past is 0 s");
	Check(retry(" Wed, 99 Foo 2015 07:28:00 GMT\r\n") == -1, "a malformed date is ignored");

	// Catalogue.
	Check(FindEndpoint("extrato") && FindEndpoint("saldo") && !FindEndpoint("boletos"), "endpoint lookup");
	const EndpointDef *ex = FindEndpoint("extrato");
	Check(FindColumn(*ex, "end_to_end_id") && std::strcmp(FindColumn(*ex, "end_to_end_id")->path, "detalhes.endToEndId") == 0,
	      "end_to_end_id maps to detalhes.endToEndId");
	Check(FindPushdown(*ex, "dataTransacao") && !FindPushdown(*ex, "valor"), "pushdown is by JSON path");

	Equal(SnakeCase("nomeEmpresaPagador"), std::string("nome_empresa_pagador"), "snake_case of a camelCase field");
	Equal(std::string(ColumnToPath(*ex, "tipo_detalhe")), std::string("detalhes.tipoDetalhe"), "documented detalhes field by name");
	Equal(std::string(ColumnToPath(*ex, "data_transacao")), std::string("dataTransacao"), "catalogue column wins");
	Check(ColumnToPath(*ex, "banana") == nullptr, "an unknown name maps to nothing");

	// The API Pix tables (issue 7): RFC 3339 windows with paginacao, rows by key.
	{
		const EndpointDef *pix = FindEndpoint("pix");
		Check(pix && FindEndpoint("cobrancas") && FindEndpoint("pix_enviados"), "the three Pix endpoints exist");
		RequestPlan p;
		p.endpoint = pix;
		p.page_size = 1000;
		const dates::Day d = dates::FromCivil(2025, 3, 17);
		p.windows = {Window{d, d + 1}};
		p.params = {{"txId", "abc"}};
		Equal(p.PageQuery(p.windows[0], 2),
		      std::string("inicio=2025-03-17T00%3A00%3A00-03%3A00&fim=2025-03-19T00%3A00%3A00-03%3A00"
		                  "&paginacao.paginaAtual=2&paginacao.itensPorPagina=1000&txId=abc"),
		      "a Pix window: Brasília day starts, fim the day after, then paginacao");
		const dates::Day old = dates::FromCivil(2018, 12, 1);
		Check(p.PageQuery(Window{old, old}, 0).find("inicio=2018-12-01T00%3A00%3A00-02%3A00") == 0,
		      "a day of the daylight-saving years starts at -02:00 (never late)");
		RequestPlan k;
		k.endpoint = FindEndpoint("cobrancas");
		k.by_key = true;
		k.keys = {"a/b", "c"};
		Check(k.FirstQueries() == std::vector<std::string>{"/pix/v2/cob/a%2Fb", "/pix/v2/cob/c"},
		      "one lookup per key, the key encoded as a path segment");
		RequestPlan k2 = k;
		k2.keys = {"c"};
		Check(k.Key() != k2.Key(), "lookups of other keys are other requests");
		const PushdownDef *e2e = KeyPushdown(*pix);
		Check(e2e && e2e->Accepts("E12345678202009091221abcdef12345") && !e2e->Accepts("E1234") &&
		          !e2e->Accepts("E12345678202009091221abcdef1234/"),
		      "an end-to-end id is 32 letters and digits; others are no key the bank has");
		const PushdownDef *status = FindPushdown(*FindEndpoint("cobrancas"), "status");
		Check(status && status->Accepts("ATIVA") && !status->Accepts("ativa"), "only the statuses the API knows are sent");
	}

	// Client-side rate limits (bank/limits.hpp).
	{
		RateLimits on = ParseRateLimits("on");
		Check(on.Find("extrato") && on.Find("extrato")->calls == 10 && on.Find("extrato")->window_ms == 60000 &&
		          on.Find("token")->calls == 5 && on.Find("pix")->calls == 120,
		      "rate_limits 'on' are the bank's published per-minute budgets");
		Check(!ParseRateLimits("off").Find("extrato") && !ParseRateLimits("off").Find("token"), "rate_limits 'off' limits nothing");
		RateLimits mine = ParseRateLimits("extrato=2/s, token=off, saldo=5/30s");
		Check(mine.Find("extrato")->calls == 2 && mine.Find("extrato")->window_ms == 1000 && !mine.Find("token") &&
		          mine.Find("saldo")->window_ms == 30000 && mine.Find("pix")->calls == 120,
		      "per-endpoint budgets replace only the endpoints they name");
		int refused = 0;
		for (const char *bad : {"", "sometimes", "extrato=10", "extrato=0/min", "extrato=1001/min", "x=1/min",
		                        "extrato=1/fortnight", "extrato=1/2h", "extrato=1/0s"}) {
			try {
				ParseRateLimits(bad);
			} catch (const Error &) {
				refused++;
			}
		}
		Check(refused == 9, "malformed rate_limits are refused (" + std::to_string(refused) + " of 9)");
		Equal(std::string(RateClassOf("/banking/v2/extrato/completo?dataInicio=2024-01-01")), std::string("extrato"),
		      "statement calls are the extrato class");
		Equal(std::string(RateClassOf("/banking/v2/extrato?x=1")), std::string("extrato_simples"), "the simple statement is its own class");
		Equal(std::string(RateClassOf("/oauth/v2/token")), std::string("token"), "the token call is the token class");
		Equal(std::string(RateClassOf("/pix/v2/cob/abc")), std::string("cobrancas"), "a charge by txid is the cobrancas class");
		Equal(std::string(RateClassOf("/pix/v2/cobv/abc")), std::string(""), "cobv is not cob");
		Equal(std::string(RateClassOf("/banking/v2/pix")), std::string("pix_pagamento"),
		      "a payment (POST /banking/v2/pix) is the pix_pagamento class");
		Equal(std::string(RateClassOf("/banking/v2/pix/c42f0787-02cb-4b31-827e-459ec9d7ece1")), std::string("pix_enviados"),
		      "a payment's status (GET /banking/v2/pix/{id}) stays pix_enviados");
		Equal(std::string(RateClassOf("/banking/v2/pixels")), std::string(""), "a path that merely starts alike is no class");
		Check(on.Find("pix_pagamento") && on.Find("pix_pagamento")->calls == 1 && on.Find("pix_pagamento")->window_ms == 1000,
		      "rate_limits 'on': a payment per second (ref 5.1), not 60 a minute in one burst");
		Check(on.Find("pix_enviados")->calls == 20 && on.Find("pix_enviados")->window_ms == 60000,
		      "the per-class window leaves the per-minute classes as they were");
		Check(!ParseRateLimits("pix_pagamento=off").Find("pix_pagamento") &&
		          ParseRateLimits("pix_pagamento=off").Find("pix_enviados"),
		      "'pix_pagamento=off' turns off only the payment budget");
		RateLimits two = ParseRateLimits("pix_pagamento=2/1s");
		Check(two.Find("pix_pagamento")->calls == 2 && two.Find("pix_pagamento")->window_ms == 1000,
		      "'pix_pagamento=2/1s' parses");
		Check(ParseRateLimits("pix_pagamento=60/min").Find("pix_pagamento")->window_ms == 60000,
		      "a payment budget per minute can be chosen");
		Check(RateClassNames().find("pix_pagamento") != std::string::npos, "the hint lists pix_pagamento");
		{
			// 1 call per 1000 ms: five payments queued at once go a second (plus margin) apart.
			long long ring1[1];
			int h1 = 0, c1 = 0;
			long long prev = ReserveInLog(ring1, 1, h1, c1, 1000, 0, 1000000);
			bool spaced = prev == 0;
			for (int i = 0; i < 4; i++) {
				long long t = ReserveInLog(ring1, 1, h1, c1, 1000, 0, 1000000);
				spaced &= t - prev == 1020;
				prev = t;
			}
			Check(spaced, "the payment budget spaces calls 1.02 s apart, never two in a second");
		}

		// The sliding log: 3 calls per 1000 ms (plus the 2% margin: 1020 ms).
		long long ring[3];
		int head = 0, count = 0;
		std::vector<long long> at;
		for (int i = 0; i < 7; i++)
			at.push_back(ReserveInLog(ring, 3, head, count, 1000, 100, 1000000));
		Check(at[0] == 100 && at[1] == 100 && at[2] == 100 && at[3] == 1120 && at[5] == 1120 && at[6] == 2140,
		      "a burst over the budget is spread over windows (" + std::to_string(at[3]) + ", " + std::to_string(at[6]) + ")");
		Check(ReserveInLog(ring, 3, head, count, 1000, 200, 2000) == 2140 && ReserveInLog(ring, 3, head, count, 1000, 200, 2000) == 2140,
		      "a call that would go after the caller's deadline is refused and not counted");
		Check(ReserveInLog(ring, 3, head, count, 1000, 5000, 1000000) == 5000, "after a quiet window a call goes at once");

		LocalTokenStore store;
		Digest k1 = Sha256("a"), k2 = Sha256("b");
		std::string t;
		Check(store.Take(k1, 0, t) == TokenStore::Claim::kMint, "no token yet: mint");
		store.Publish(k1, "tok1", 1000);
		Check(store.Take(k1, 999, t) == TokenStore::Claim::kHit && t == "tok1", "a published token is handed out until renewal");
		Check(store.Take(k2, 999, t) == TokenStore::Claim::kMint, "tokens are per credential and scope set");
		store.Forget(k1, "other");
		Check(store.Take(k1, 999, t) == TokenStore::Claim::kHit, "forgetting another token keeps this one");
		store.Forget(k1, "tok1");
		Check(store.Take(k1, 999, t) == TokenStore::Claim::kMint, "a refused token is forgotten");
		store.Publish(k1, "tok2", 1000);
		Check(store.Take(k1, 1000, t) == TokenStore::Claim::kMint, "a token due for renewal is minted again");
	}

	std::printf("# unit tests: %d failed\n", failures);
	return failures == 0 ? 0 : 1;
}
