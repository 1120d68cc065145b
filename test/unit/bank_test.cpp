// Unit tests of the bank layer (plain C++, no PostgreSQL, no network): calendar arithmetic,
// window splitting, request strings, the bank's error bodies, and JSON cell extraction.
// Prints "ok - ..." / "not ok - ..." lines; test/run_all.sh counts them.
#include "bank/cache.hpp"
#include "bank/check.hpp"
#include "bank/client.hpp"
#include "bank/counters.hpp"
#include "bank/dates.hpp"
#include "bank/limits.hpp"
#include "bank/payment.hpp"
#include "bank/prefetch.hpp"
#include "bank/source.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
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

// A Waiter on poll(2), for the few tests that let the client try a (refused) connection.
class PollWaiter final : public pix::Waiter {
public:
	std::vector<pix::SocketReady>
	Wait(const std::vector<pix::SocketInterest> &sockets, long timeout_ms) override
	{
		std::vector<pollfd> fds;
		for (const auto &s : sockets)
			fds.push_back(pollfd{s.fd, static_cast<short>((s.read ? POLLIN : 0) | (s.write ? POLLOUT : 0)), 0});
		poll(fds.data(), fds.size(), static_cast<int>(timeout_ms < 0 ? 1000 : timeout_ms));
		std::vector<pix::SocketReady> ready;
		for (const auto &f : fds)
			if (f.revents)
				ready.push_back(pix::SocketReady{f.fd, (f.revents & (POLLIN | POLLERR | POLLHUP)) != 0,
				                                 (f.revents & (POLLOUT | POLLERR | POLLHUP)) != 0});
		return ready;
	}
	bool
	Interrupted() override
	{
		return false;
	}
};

// A loopback TCP port of this process: bound (refusing connections) or listening (taking
// them and never answering). Sets fd and port; false when the socket could not be set up.
bool
LocalPort(bool listening, int *fd, int *port)
{
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in addr{};
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof addr;
	bool ok = *fd >= 0 && bind(*fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
	          (!listening || listen(*fd, 4) == 0) && getsockname(*fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0;
	*port = ntohs(addr.sin_port);
	return ok;
}

// A token store that always has a token, so that a client's first call is the API call.
class FixedTokens final : public pix::TokenStore {
public:
	Claim
	Take(const pix::Digest &, long long, std::string &token) override
	{
		token = "tok";
		return Claim::kHit;
	}
	void Publish(const pix::Digest &, const std::string &, long long) override {}
	void Abandon(const pix::Digest &) override {}
	void Forget(const pix::Digest &, const std::string &) override {}
};

// The SQLSTATE and message of the pix::Error f throws ("" when it throws none).
template <typename F>
std::pair<std::string, std::string>
Thrown(F f)
{
	try {
		f();
	} catch (const pix::Error &e) {
		return {e.State(), e.what()};
	}
	return {"", ""};
}

// The full error f throws, for its hint and detail.
template <typename F>
pix::Error
ErrorOf(F f)
{
	try {
		f();
	} catch (const pix::Error &e) {
		return e;
	}
	return pix::Error("", "");
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
	std::string notobj;
	try {
		ExtractOne(R"({"detalhes":"INCOMPLETE"})", {Col("detalhes.endToEndId")});
	} catch (const Error &err) {
		notobj = std::string(err.State()) + ": " + err.what();
	}
	Equal(notobj, std::string("HV00K: the bank's answer has a field \"detalhes\" that is not a JSON object"),
	      "a path through a non-object is an error, not NULL and not an assertion");
	auto unneeded = ExtractOne(R"({"detalhes":"INCOMPLETE","valor":"1"})", {Col("valor")});
	Equal(std::string(unneeded[0].data), std::string("1"), "a non-object no column reads through is no error");

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
	// Every imported table and column is commented (COMMENT ON at IMPORT FOREIGN SCHEMA).
	{
		std::string bare;
		for (const EndpointDef &ep : Endpoints()) {
			if (!ep.comment || !*ep.comment)
				bare += std::string(" ") + ep.name;
			for (const auto &c : ep.columns)
				if (!c.comment || !*c.comment)
					bare += std::string(" ") + ep.name + "." + c.name;
		}
		Check(bare.empty(), "every catalogue table and column has a description (missing:" + bare + ")");
	}

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
				spaced &= t - prev == 1250;
				prev = t;
			}
			Check(spaced, "the payment budget spaces calls 1.25 s apart (a 250 ms margin), never two in a second");
		}

		// The sliding log: 3 calls per 1000 ms (plus the 250 ms margin of short windows: 1250 ms).
		long long ring[3];
		int head = 0, count = 0;
		std::vector<long long> at;
		for (int i = 0; i < 7; i++)
			at.push_back(ReserveInLog(ring, 3, head, count, 1000, 100, 1000000));
		Check(at[0] == 100 && at[1] == 100 && at[2] == 100 && at[3] == 1350 && at[5] == 1350 && at[6] == 2600,
		      "a burst over the budget is spread over windows (" + std::to_string(at[3]) + ", " + std::to_string(at[6]) + ")");
		Check(ReserveInLog(ring, 3, head, count, 1000, 200, 2000) == 2600 && ReserveInLog(ring, 3, head, count, 1000, 200, 2000) == 2600,
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

	// Pix payments (issue 8): the keys, amounts and descriptions checked before queueing.
	{
		auto kind = [](const std::string &c) {
			try {
				switch (ValidateChave(c)) {
				case ChaveKind::kEmail: return std::string("email");
				case ChaveKind::kCpf: return std::string("cpf");
				case ChaveKind::kCnpj: return std::string("cnpj");
				case ChaveKind::kPhone: return std::string("phone");
				case ChaveKind::kEvp: return std::string("evp");
				}
			} catch (const Error &e) {
				bool named = std::string(e.State()) == "22023" && std::string(e.what()).rfind("invalid chave: ", 0) == 0;
				return std::string(named ? "refused" : "refused without naming chave");
			}
			return std::string("?");
		};
		struct Case {
			const char *chave, *want, *why;
		};
		const std::string e77 = std::string(64, 'a') + "@examples.com";  // 64 + 13 = 77
		const Case cases[] = {
		    {"52998224725", "cpf", "a CPF with valid check digits"},
		    {"52998224724", "refused", "a CPF with a wrong last check digit"},
		    {"52998224715", "refused", "a CPF with a wrong first check digit"},
		    {"11111111111", "refused", "a CPF of equal digits (check digits match, still invalid)"},
		    {"00000000000", "refused", "a CPF of zeros"},
		    {"11222333000181", "cnpj", "a CNPJ with valid check digits"},
		    {"00038166000105", "cnpj", "the CNPJ of the reference's example"},
		    {"11222333000182", "refused", "a CNPJ with a wrong check digit"},
		    {"01123456000123", "refused", "a made-up CNPJ (the status example's chave)"},
		    {"11111111111111", "refused", "a CNPJ of equal digits"},
		    {"529.982.247-25", "refused", "a punctuated CPF"},
		    {"11.222.333/0001-81", "refused", "a punctuated CNPJ"},
		    {"5299822472", "refused", "10 digits"},
		    {"529982247250", "refused", "12 digits"},
		    {"+5511987654321", "phone", "a mobile phone: +55, DDD 11, 9 digits"},
		    {"+551133334444", "phone", "a landline: +55, DDD 11, 8 digits"},
		    {"+5599987654321", "phone", "DDD 99"},
		    {"+5510987654321", "refused", "DDD 10"},
		    {"+5501987654321", "refused", "DDD 01"},
		    {"+55119876543", "refused", "7 digits after the DDD"},
		    {"+551198765432100", "refused", "10 digits after the DDD"},
		    {"+15551234567", "refused", "a phone outside Brazil"},
		    {"+55 11 98765-4321", "refused", "a phone with spaces and a dash"},
		    {"(11) 98765-4321", "refused", "a phone as printed, without +55"},
		    {"fornecedor@example.com", "email", "an e-mail"},
		    {"chavepix@teste.com", "email", "the reference's e-mail example"},
		    {"Nome.Sobrenome+nf@sub.example.com.br", "email", "dots, plus and subdomains"},
		    {"a@b", "refused", "an e-mail without a dotted domain"},
		    {"a@b.c", "refused", "a one-letter top-level domain"},
		    {"a@@b.com", "refused", "two @"},
		    {"a@b@c.com", "refused", "two @ apart"},
		    {"@example.com", "refused", "an empty local part"},
		    {".a@example.com", "refused", "a leading dot"},
		    {"a.@example.com", "refused", "a trailing dot before @"},
		    {"a..b@example.com", "refused", "a doubled dot"},
		    {"a b@example.com", "refused", "a space"},
		    {"a@-b.com", "refused", "a label starting with a hyphen"},
		    {"a@b..com", "refused", "an empty label"},
		    {"a@192.168.0.1", "refused", "an IP address as the domain"},
		    {"jo\xc3\xa3o@example.com", "refused", "a non-ASCII local part"},
		    {"123e4567-e89b-12d3-a456-426614174000", "evp", "a random key"},
		    {"123E4567-E89B-12D3-A456-426614174000", "refused", "a random key in uppercase"},
		    {"123e4567-e89b-12d3-a456-42661417400g", "refused", "a random key with a non-hex digit"},
		    {"123e4567e89b12d3a456426614174000", "refused", "a UUID without dashes"},
		    {"", "refused", "an empty key"},
		    {"hello", "refused", "a word"},
		};
		for (const Case &c : cases)
			Equal(kind(c.chave), std::string(c.want), std::string("chave: ") + c.why);
		Equal(kind(e77), std::string("email"), "chave: an e-mail of 77 characters");
		Equal(kind(e77 + "x"), std::string("refused"), "chave: an e-mail of 78 characters");
		Equal(kind(std::string(65, 'a') + "@b.com"), std::string("refused"), "chave: a local part of 65 characters");

		Error cpf = ErrorOf([] { ValidateChave("529.982.247-25"); });
		Check(cpf.Hint() == "Write it as 52998224725." && std::string(cpf.what()).find("CPF") != std::string::npos,
		      "a punctuated CPF: the hint shows the digits (" + cpf.Hint() + ")");
		Error cnpj = ErrorOf([] { ValidateChave("11.222.333/0001-81"); });
		Check(cnpj.Hint() == "Write it as 11222333000181.", "a punctuated CNPJ: the hint shows the digits");
		Error badp = ErrorOf([] { ValidateChave("529.982.247-24"); });
		Check(badp.Hint().find("not a valid CPF") != std::string::npos, "a punctuated invalid CPF is not offered as digits");
		Error phone = ErrorOf([] { ValidateChave("+55 11 98765-4321"); });
		Check(phone.Hint() == "Write it as +5511987654321.", "a spaced phone: the hint shows +55 and digits");
		Error printed = ErrorOf([] { ValidateChave("(11) 98765-4321"); });
		Check(printed.Hint() == "Write it as +5511987654321.", "a printed phone: the hint shows +55 and digits");
		Error upper = ErrorOf([] { ValidateChave("123E4567-E89B-12D3-A456-426614174000"); });
		Check(upper.Hint() == "Write it as 123e4567-e89b-12d3-a456-426614174000.", "an uppercase EVP: the hint shows it lowercase");
		Error bad_cpf = ErrorOf([] { ValidateChave("52998224724"); });
		Equal(std::string(bad_cpf.what()), std::string("invalid chave: 52998224724 is not a valid CPF (its check digits do not match)"),
		      "an invalid CPF's message");
		Check(ErrorOf([] { ValidateChave("11987654321"); }).Hint().find("+5511987654321") != std::string::npos,
		      "11 digits that fail as a CPF but read as a mobile number: the hint offers +55");
		Check(ErrorOf([] { ValidateChave("5511987654321"); }).Hint() == "If it is a phone number, write it as +5511987654321.",
		      "a phone without +: the hint offers the + form");

		auto valor = [](const std::string &v) {
			try {
				return ValidateValor(v);
			} catch (const Error &e) {
				bool named = std::string(e.State()) == "22023" && std::string(e.what()).rfind("invalid valor: ", 0) == 0;
				return std::string(named ? "refused" : "refused without naming valor");
			}
		};
		const std::pair<const char *, const char *> valores[] = {
		    {"150", "150.00"},       {"150.5", "150.50"},   {"150.000", "150.00"}, {"150.500", "150.50"},
		    {"150.505", "refused"},  {"0.01", "0.01"},      {"0.010", "0.01"},     {"0.001", "refused"},
		    {"0", "refused"},        {"0.00", "refused"},   {"0.000", "refused"},  {"-3", "refused"},
		    {"-0.01", "refused"},    {"NaN", "refused"},    {"Infinity", "refused"}, {"-Infinity", "refused"},
		    {"9999999999999.99", "9999999999999.99"}, {"10000000000000", "refused"}, {"0000150.5", "150.50"},
		    {"1e5", "refused"},      {"", "refused"},       {"150.", "refused"},   {".5", "refused"},
		    {"1,50", "refused"},     {" 150", "refused"},   {"+150", "refused"},
		    {"1234567890123.45000000000000000000", "1234567890123.45"},
		};
		for (const auto &v : valores)
			Equal(valor(v.first), std::string(v.second), std::string("valor \"") + v.first + "\"");
		Equal(std::string(ErrorOf([] { ValidateValor("150.505"); }).what()),
		      std::string("invalid valor: at most two decimals (centavos), 150.505 has 3"), "the decimals message");

		auto descricao = [](const std::string &d) {
			try {
				ValidateDescricao(d);
				return std::string("ok");
			} catch (const Error &e) {
				bool named = std::string(e.State()) == "22023" && std::string(e.what()).rfind("invalid descricao: ", 0) == 0;
				return std::string(named ? "refused" : "refused without naming descricao");
			}
		};
		auto times = [](const std::string &c, int n) {
			std::string s;
			for (int i = 0; i < n; i++)
				s += c;
			return s;
		};
		Equal(descricao(times("\xc3\xa9", 140)), std::string("ok"), "descricao: 140 two-byte characters (280 bytes)");
		Equal(descricao(times("\xc3\xa9", 141)), std::string("refused"), "descricao: 141 two-byte characters");
		Equal(descricao(times("\xe2\x82\xac", 140)), std::string("ok"), "descricao: 140 euro signs (420 bytes)");
		Equal(descricao(times("\xf0\x9f\x92\xb8", 140)), std::string("ok"), "descricao: 140 emoji (560 bytes)");
		Equal(descricao(times("\xf0\x9f\x92\xb8", 141)), std::string("refused"), "descricao: 141 emoji");
		Equal(descricao(times("a", 140)), std::string("ok"), "descricao: 140 ASCII characters");
		Equal(descricao(times("a", 141)), std::string("refused"), "descricao: 141 ASCII characters");
		Equal(descricao(""), std::string("ok"), "descricao: empty");
		Equal(descricao("NF \xc3"), std::string("refused"), "descricao: a truncated UTF-8 sequence");
		Equal(descricao("\xc0\xaf"), std::string("refused"), "descricao: an overlong form");
		Equal(descricao("\xed\xa0\x80"), std::string("refused"), "descricao: a UTF-16 surrogate");
		Equal(descricao("\xf4\x90\x80\x80"), std::string("refused"), "descricao: beyond U+10FFFF");
		// Found by test/fuzz/fuzz_chave: a NUL is valid UTF-8 but no text (the body would carry \u0000).
		Equal(descricao(std::string("NF\0 12", 6)), std::string("refused"), "descricao: a NUL byte");
		Equal(std::string(ErrorOf([&] { ValidateDescricao(times("\xc3\xa9", 141)); }).what()),
		      std::string("invalid descricao: at most 140 characters, this one has 141"), "the descricao message counts characters");

		// The body of POST /banking/v2/pix.
		const std::string nf = "NF 1234", day = "2025-03-17";
		Equal(PaymentBody("150.50", "fornecedor@example.com", &nf, &day),
		      std::string(R"({"valor":150.50,"dataPagamento":"2025-03-17","descricao":"NF 1234",)"
		                  R"("destinatario":{"tipo":"CHAVE","chave":"fornecedor@example.com"}})"),
		      "payment body: every field, valor a JSON number with its two decimals");
		Equal(PaymentBody("0.01", "52998224725", nullptr, nullptr),
		      std::string(R"({"valor":0.01,"destinatario":{"tipo":"CHAVE","chave":"52998224725"}})"),
		      "payment body: no date, no description");
		Equal(PaymentBody("9999999999999.99", "52998224725", nullptr, nullptr),
		      std::string(R"({"valor":9999999999999.99,"destinatario":{"tipo":"CHAVE","chave":"52998224725"}})"),
		      "payment body: 15 significant digits written as given (a double would not)");
		const std::string tricky = "NF \"12\" \\ a/b\nS\xc3\xa3o Paulo\t\x01";
		std::string tb = PaymentBody("1.00", "a@b.com", &tricky, nullptr);
		Equal(tb, std::string(R"({"valor":1.00,"descricao":"NF \"12\" \\ a/b\nS)") + "\xc3\xa3" +
		              R"(o Paulo\t\u0001","destinatario":{"tipo":"CHAVE","chave":"a@b.com"}})",
		      "payment body: quotes, backslash and control characters escaped, UTF-8 as is");
		rapidjson::Document back;
		back.Parse(tb.c_str(), tb.size());
		Check(!back.HasParseError() && back.IsObject() && json::GetString(back, "descricao") == tricky,
		      "payment body: the description reads back exactly");
		for (const char *bad : {"150.5", "150", "1e5", "0150.00", "-1.00", "", "1.00,"})
			Equal(Thrown([&] { PaymentBody(bad, "a@b.com", nullptr, nullptr); }).first, std::string("XX000"),
			      std::string("payment body refuses non-canonical valor \"") + bad + "\"");
		const std::string bad_day = "2025-3-17";
		Equal(Thrown([&] { PaymentBody("1.00", "a@b.com", nullptr, &bad_day); }).first, std::string("XX000"),
		      "payment body refuses a date not YYYY-MM-DD");

		// The answer of POST /banking/v2/pix.
		PaymentAnswer a = ParsePaymentAnswer(R"({"tipoRetorno":"PROCESSADO","codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1",
		                                        "dataPagamento":"2022-03-15","dataOperacao":"2022-03-14"})");
		Check(a.tipo_retorno == "PROCESSADO" && a.codigo_solicitacao == "c42f0787-02cb-4b31-827e-459ec9d7ece1" &&
		          a.data_pagamento == "2022-03-15" && a.data_operacao == "2022-03-14" && a.end_to_end.empty(),
		      "payment answer: the reference's PROCESSADO example");
		a = ParsePaymentAnswer(R"({"tipoRetorno":"APROVACAO","codigoSolicitacao":"C42F0787-02CB-4B31-827E-459EC9D7ECE1",
		                          "endToEndId":"E00416968202309302034aqtneKsYCqs"})");
		Check(a.tipo_retorno == "APROVACAO" && a.codigo_solicitacao == "C42F0787-02CB-4B31-827E-459EC9D7ECE1" &&
		          a.end_to_end == "E00416968202309302034aqtneKsYCqs" && a.data_pagamento.empty(),
		      "payment answer: APROVACAO, legacy endToEndId kept, no dates");
		a = ParsePaymentAnswer(R"({"tipoRetorno":"NOVIDADE","codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1",
		                          "dataPagamento":20220315,"dataOperacao":"15/03/2022","endToEndId":7})");
		Check(a.tipo_retorno == "NOVIDADE" && a.data_pagamento.empty() && a.data_operacao.empty() && a.end_to_end.empty(),
		      "payment answer: an unknown tipoRetorno is kept; ill-typed informational fields are left empty");
		int unusable = 0;
		const char *answers[] = {
		    R"({"codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1"})",
		    R"({"tipoRetorno":"","codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1"})",
		    R"({"tipoRetorno":1,"codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1"})",
		    R"({"tipoRetorno":"PROCESSADO"})",
		    R"({"tipoRetorno":"PROCESSADO","codigoSolicitacao":null})",
		    R"({"tipoRetorno":"PROCESSADO","codigoSolicitacao":12345})",
		    R"({"tipoRetorno":"PROCESSADO","codigoSolicitacao":"c42f0787"})",
		    R"({"tipoRetorno":"PROCESSADO","codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ecez"})",
		    R"([{"tipoRetorno":"PROCESSADO","codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1"}])",
		    R"({"tipoRetorno":"PROCESSADO","codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1")",
		    "",
		    "<html>bad gateway</html>",
		};
		for (const char *b : answers)
			unusable += Thrown([&] { ParsePaymentAnswer(b); }).first == "HV00K";
		Check(unusable == 12, "payment answers without a usable codigoSolicitacao or tipoRetorno are HV00K errors (" +
		                          std::to_string(unusable) + " of 12)");
		Check(ErrorOf([] { ParsePaymentAnswer(R"({"tipoRetorno":"PROCESSADO"})"); }).Detail().find("PROCESSADO") !=
		          std::string::npos,
		      "an unusable payment answer is shown in DETAIL");

		// The answer of GET /banking/v2/pix/{codigoSolicitacao}.
		PaymentStatus st = ParsePaymentStatus(R"({"transacaoPix":{"contaCorrente":"12345678","erros":[],
		    "endToEnd":"E00416968202309302034aqtneKsYCqs","valor":0.01,"status":"PAGO",
		    "codigoSolicitacao":"c42f0787-02cb-4b31-827e-459ec9d7ece1"},
		    "historico":[{"status":"CRIADO"},{"status":"PAGO"}]})");
		Check(st.status == "PAGO" && st.end_to_end == "E00416968202309302034aqtneKsYCqs" && st.errors.empty(),
		      "payment status: the reference's PAGO example");
		st = ParsePaymentStatus(R"({"transacaoPix":{"status":"FALHA","erros":[
		    {"codigoErro":"SALDO","descricaoErro":"Saldo insuficiente","codigoErroComplementar":"X"},
		    {"codigoErro":42,"descricaoErro":"Outro"},{"descricaoErro":"Sem codigo"},{"codigoErro":null},"junk"]}})");
		Equal(st.errors, std::string("SALDO: Saldo insuficiente; 42: Outro; Sem codigo"), "payment status: erros joined");
		Check(st.end_to_end.empty(), "payment status: no endToEnd yet is empty");
		st = ParsePaymentStatus(R"({"transacaoPix":{"status":"AGUARDANDO_APROVACAO","erros":"none","endToEnd":null}})");
		Check(st.status == "AGUARDANDO_APROVACAO" && st.errors.empty() && st.end_to_end.empty(),
		      "payment status: ill-typed erros and endToEnd are empty");
		int no_status = 0;
		for (const char *b : {R"({})", R"({"transacaoPix":null})", R"({"transacaoPix":"PAGO"})",
		                      R"({"transacaoPix":{"status":""}})", R"({"transacaoPix":{"status":1}})",
		                      R"({"status":"PAGO"})", "[]", "not json"})
			no_status += Thrown([&] { ParsePaymentStatus(b); }).first == "HV00K";
		Check(no_status == 8, "payment statuses without transacaoPix.status are HV00K errors (" + std::to_string(no_status) +
		                          " of 8)");

		Check(OutcomeOf("PAGO") == Outcome::kPaid, "PAGO is paid");
		int failed = 0;
		for (const char *f : {"REPROVADO", "EXPIRADO", "CANCELADO", "FALHA", "CANCELADO_SEM_SALDO", "NAO_DEBITADO",
		                      "AGENDAMENTO_CANCELADO"})
			failed += OutcomeOf(f) == Outcome::kFailed;
		Check(failed == 7, "the seven failure statuses are failed");
		int pending = 0;
		for (const char *f : {"CRIADO", "AGUARDANDO_APROVACAO", "APROVADO", "AGENDADO", "ENVIADO", "DEBITADO",
		                      "PARCIALMENTE_DEBITADO", "PARCIALMENTE_PAGO", "PIX_PAGO", "pago", "", "NOVO"})
			pending += OutcomeOf(f) == Outcome::kPending;
		Check(pending == 12, "every other status, unknown ones included, is pending (" + std::to_string(pending) + " of 12)");
	}

	// The retry policy is the caller's explicit choice (issue 8).
	{
		Check(MaxAttempts(Retry::kRead, "GET") == 3 && MaxAttempts(Retry::kTokenGrant, "POST") == 3 &&
		          MaxAttempts(Retry::kOnce, "GET") == 1 && MaxAttempts(Retry::kOnce, "POST") == 1,
		      "attempts: reads and the token grant up to 3, kOnce exactly 1");
		auto thrown = Thrown([] { MaxAttempts(Retry::kRead, "POST"); });
		Check(thrown.first == "XX000" && thrown.second == "a POST is never repeated by the HTTP client",
		      "a POST asked with kRead is an internal error");

		// A port that refuses connections: bound, never listening.
		int fd, port;
		Check(LocalPort(false, &fd, &port), "a refusing local port for the retry tests");
		FixedTokens tokens;
		ServerConfig cfg;
		cfg.base_url = "https://127.0.0.1:" + std::to_string(port);
		cfg.rate_limits = ParseRateLimits("off");
		cfg.timeouts.connect_ms = 5000;
		cfg.shared_tokens = &tokens;
		cfg.server_name = "unit";  // the counters' server
		BankClient client(cfg);
		PollWaiter waiter;
		const std::vector<std::string> key = {"x-id-idempotente: 6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"};
		const std::string body = PaymentBody("1.00", "a@b.com", nullptr, nullptr);
		auto post = [&](Retry retry, CallStats &stats, const std::vector<std::string> &headers) {
			return Thrown([&] { client.PostAny(kPaymentPath, body, headers, kPaymentWriteScope, waiter, stats, retry); });
		};
		CallStats s1;
		thrown = post(Retry::kRead, s1, key);
		Check(thrown.first == "XX000" && thrown.second == "a POST is never repeated by the HTTP client" && s1.calls == 0,
		      "PostAny with kRead throws before sending (" + std::to_string(s1.calls) + " calls)");
		{
			ServerConfig own = cfg;
			own.shared_tokens = nullptr;  // no token yet: a send would first ask for one
			BankClient fresh(own);
			CallStats s;
			thrown = Thrown([&] { fresh.PostAny(kPaymentPath, body, key, kPaymentWriteScope, waiter, s, Retry::kRead); });
			Check(thrown.first == "XX000" && s.calls == 0 && s.tokens == 0,
			      "PostAny with kRead throws before even a token is asked for (" + std::to_string(s.calls) + " calls)");
		}
		CallStats s2;
		thrown = post(Retry::kOnce, s2, key);
		Check(thrown.first == "HV00N" && s2.calls == 1 && s2.retries == 0,
		      "PostAny with kOnce: a refused connection is tried once, then thrown (" + std::to_string(s2.calls) + " calls, " +
		          thrown.first + ")");
		CallStats s3;
		thrown = post(Retry::kOnce, s3, {"x-id-idempotente: a\r\nx-evil: 1"});
		Check(thrown.first == "XX000" && s3.calls == 0, "PostAny refuses a header with a line break, before sending");
		CallStats s4;
		auto t0 = std::chrono::steady_clock::now();
		thrown = Thrown([&] { client.GetAny("/banking/v2/saldo", "extrato.read", waiter, s4, Retry::kRead); });
		long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
		Check(thrown.first == "HV00N" && s4.calls == 3 && s4.retries == 2,
		      "GetAny with kRead: a refused connection is tried 3 times (" + std::to_string(s4.calls) + " calls, " +
		          std::to_string(ms) + " ms)");
		CallStats s5;
		thrown = Thrown([&] { client.GetAny("/banking/v2/saldo", "extrato.read", waiter, s5, Retry::kOnce); });
		Check(thrown.first == "HV00N" && s5.calls == 1 && s5.retries == 0, "GetAny with kOnce: tried once");
		if (fd >= 0)
			close(fd);
		// pix_fdw.counters saw the same sends, by endpoint: the payment POST (once) and the
		// balance GETs (3 + 1, 2 of them retries); no status (there was no answer).
		const CounterRow *pay = nullptr, *saldo = nullptr;
		std::vector<CounterRow> rows = Counters().Snapshot();
		for (const CounterRow &r : rows) {
			if (r.server == "unit" && r.endpoint == "pix_pagamento")
				pay = &r;
			if (r.server == "unit" && r.endpoint == "saldo")
				saldo = &r;
		}
		Check(pay && pay->values[kCountCalls] == 1 && pay->values[kCountRetries] == 0 &&
		          pay->values[kCountStatus2xx] + pay->values[kCountStatus4xx] + pay->values[kCountStatus5xx] == 0,
		      "counters: the payment POST counts one call of endpoint pix_pagamento, no retry, no status");
		Check(saldo && saldo->values[kCountCalls] == 4 && saldo->values[kCountRetries] == 2 &&
		          saldo->values[kCountPages] == 0 && saldo->values[kCountBytes] == 0,
		      "counters: the refused balance GETs count 4 calls and 2 retries of endpoint saldo");
	}

	// Hostile pages: deep nesting is refused before it can exhaust the stack (the recursive
	// parser crashed on a million '['), a raw NUL byte is not the end of the text, a row must
	// be an object.
	{
		json::Page page;
		auto deep = Thrown([&] { page.Parse(std::string(1000000, '[') + std::string(1000000, ']')); });
		Check(deep.first == "HV00K" && deep.second.find("deeper than 64 levels") != std::string::npos,
		      "a page nesting a million arrays is an error, not a crash (" + deep.second + ")");
		auto ok64 = Thrown([&] { page.Parse(std::string(64, '[') + std::string(64, ']')); });
		auto no65 = Thrown([&] { page.Parse(std::string(65, '[') + std::string(65, ']')); });
		Check(ok64.first.empty() && no65.first == "HV00K", "64 levels are read, 65 are refused");
		auto nul = Thrown([&] { page.Parse(std::string("{}\0{\"a\":", 7)); });
		Check(nul.first == "HV00K", "a raw NUL byte after a document is an error");
		page.Parse(R"({"rows":[1]})");
		RowExtractor ex({Col("valor")});
		std::vector<Cell> out;
		auto row = Thrown([&] { ex.Extract(page.Doc()["rows"][0], page, out); });
		Check(row.first == "HV00K" && row.second == "the bank's answer has a row that is not a JSON object",
		      "a row that is a number is an error, not a row of NULLs");
		rapidjson::Document deep_error;
		std::string text = std::string(1000000, '[') + std::string(1000000, ']');
		Check(!deep_error.Parse(text.c_str(), text.size()).HasParseError() && deep_error.IsArray(),
		      "Document::Parse is iterative: a million levels in an error body parse without recursion");
	}

	// UTF-8 checked once per page: ValidUtf8 is pg_verify_mbstr's rule (Unicode Table 3-7),
	// and a page is Plain only when its text is such UTF-8 and has no \u escape (the one way
	// a NUL or a lone surrogate reaches a string), so the cells can skip the check.
	{
		auto valid = [](const std::string &s) { return json::ValidUtf8(s.data(), s.size()); };
		Check(valid("") && valid("abcdefghijklmnopqrstuvwxyz0123456789") && valid("Jo\xC3\xA3o") &&
		          valid("\xE2\x82\xAC 12,50") && valid("\xF0\x9F\x98\x80") && valid("\xED\x9F\xBF") &&
		          valid("\xF4\x8F\xBF\xBF") && valid("\xEF\xBF\xBF") && valid("12345678\xC3\xA9" "12345678"),
		      "ValidUtf8 accepts ASCII and 2-, 3- and 4-byte characters up to U+10FFFF");
		const char *bad[] = {"\xED\xA0\x80",      "\xED\xBF\xBF",  "\xC0\x80",         "\xC1\xBF", "\xE0\x80\x80",
		                     "\xE0\x9F\xBF",      "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
		                     "\xFF",              "\x80",          "abc\xC3",          "\xE2\x82", "\xF0\x9F\x98",
		                     "\xC3\x28",          "\xE2\x28\xAC",  "\xF0\x9F\x28\x80"};
		int refused = 0;
		for (const char *b : bad)
			refused += !valid(std::string("abcdefgh") + b + "ijklmnop") && !valid(b);
		Check(refused == static_cast<int>(sizeof bad / sizeof bad[0]),
		      "ValidUtf8 refuses surrogates, overlong forms, code points past U+10FFFF, stray and missing "
		      "continuation bytes (" + std::to_string(refused) + " of " + std::to_string(sizeof bad / sizeof bad[0]) + ")");
		Check(!valid(std::string("abcdefghij\0klmnop", 17)) && !valid(std::string("abc\0", 4)),
		      "ValidUtf8 refuses a NUL byte, in the eight-byte fast path and outside it");
		json::Page page;
		page.Parse("{\"nome\":\"Jo\xC3\xA3o \\\"Z\\\" \\\\u00e9\\n\",\"v\":[1,2.5]}");
		bool raw = page.Plain();
		page.Parse(R"({"nome":"Jos\u00e9"})");
		bool escaped = page.Plain();
		page.Parse(R"({"nome":"a\u0000b"})");
		bool nul = page.Plain();
		page.Parse("{\"nome\":\"Jo\xC3\x28o\"}");
		bool invalid = page.Plain();
		page.Parse("{\"n\xED\xA0\x80me\":\"x\"}");
		bool surrogate_key = page.Plain();
		page.Parse(R"({"ok":true})");
		page.Release();
		bool released = page.Plain();
		Check(raw && !escaped && !nul && !invalid && !surrogate_key && !released,
		      "a page is plain when its text is valid UTF-8 without \\u escapes (an escaped backslash "
		      "before u is not one), not when it has a \\u escape, invalid UTF-8 in a value or a key, "
		      "or has been released");
		auto broken = Thrown([&] { page.Parse(R"({"ok":tru})"); });
		Check(!broken.first.empty() && !page.Plain(), "a page that is not JSON is not plain");
	}

	// Projection: a page's tree keeps of its rows what the columns read; every cell is the
	// same as from the whole page, and errors stay errors.
	{
		const std::string text =
		    R"({"totalPaginas":3,"transacoes":[)"
		    R"({"valor":12.50,"tipo":"PIX","detalhes":{"endToEndId":"E1","nome":"A","x":{"y":[1,2]},"txId":"T1"},)"
		    R"("extra":{"a":[1E+2,{"b":"2"}]},"valor":99,"z":[[[]]]},)"
		    R"(7,["r"],)"
		    R"({"detalhes":"solto","valor":"1.0"},)"
		    R"({"outro":{"detalhes":1},"detalhes":null}],"ultimaPagina":false,"transacoes2":[{"q":1}]})";
		std::vector<ColumnSpec> cols = {Col("valor"), Col("detalhes.endToEndId"), Col("detalhes.txId"), Col("extra")};
		cols[3].tree = true;
		RowExtractor ex(cols);
		json::Projection proj = ex.MakeProjection("transacoes", {});
		json::Page whole, part;
		whole.Parse(std::string(text));
		part.Parse(std::string(text), &proj);
		std::string got;
		part.Serialize(part.Doc(), got);
		Equal(got,
		      std::string(R"({"totalPaginas":3,"transacoes":[{"valor":12.50,"detalhes":{"endToEndId":"E1","txId":"T1"},)"
		                  R"("extra":{"a":[1E+2,{"b":"2"}]},"valor":99},7,["r"],{"detalhes":"solto","valor":"1.0"},)"
		                  R"({"detalhes":null}],"ultimaPagina":false,"transacoes2":[{"q":1}]})"),
		      "projection: the rows keep the columns' members (a column's value whole, numbers as written), "
		      "everything outside the rows stays");
		Check(json::GetInt(part.Doc(), "totalPaginas", -1) == 3 && part.Doc()["transacoes"].Size() == 5,
		      "projection: the page's counts and every row are kept");
		auto cells = [&](json::Page &page, rapidjson::SizeType i) {
			std::vector<Cell> out;
			std::string all;
			auto err = Thrown([&] {
				ex.Extract(page.Doc()["transacoes"][i], page, out);
				for (const Cell &c : out)
					all += (c.value ? "tree:" + [&] { std::string t; page.Serialize(*c.value, t); return t; }() : Text(c)) + "|";
			});
			return err.first.empty() ? all : err.first + " " + err.second;
		};
		bool same = true;
		for (rapidjson::SizeType i = 0; i < 5; i++)
			same = same && cells(whole, i) == cells(part, i);
		Check(same, "projection: every row's cells (or error) are those of the whole page");
		Equal(cells(part, 0), std::string("12.50|E1|T1|tree:{\"a\":[1E+2,{\"b\":\"2\"}]}|"),
		      "projection: the first member of a name is the column's, as in the whole page");
		Check(cells(part, 1).rfind("HV00K the bank's answer has a row that is not", 0) == 0 &&
		          cells(part, 3).find("\"detalhes\" that is not a JSON object") != std::string::npos,
		      "projection: a row that is not an object and a field that should be one are still errors");
		Check(part.IsNumber(part.Doc()["transacoes"][0]["valor"]) && !part.IsNumber(part.Doc()["transacoes"][3]["valor"]),
		      "projection: a kept number is a number, a kept string a string");

		RowExtractor none(std::vector<ColumnSpec>(2));  // count(*): no column read
		json::Projection empty = none.MakeProjection("transacoes", {});
		part.Parse(std::string(text), &empty);
		part.Serialize(part.Doc()["transacoes"], got);
		Equal(got, std::string(R"([{},7,["r"],{},{}])"),
		      "projection without columns: each row an empty object, the others as they are");
		auto deep = Thrown([&] {
			part.Parse(R"({"transacoes":[{"skip":)" + std::string(70, '[') + std::string(70, ']') + "}]}", &empty);
		});
		Check(deep.first == "HV00K" && deep.second.find("deeper than 64") != std::string::npos,
		      "projection: a skipped member nesting too deep is still refused");
		auto bad = Thrown([&] { part.Parse(R"({"transacoes":[{"skip":[1,}]})", &empty); });
		Check(bad.first == "HV00K", "projection: a skipped member that is not valid JSON is still an error");

		RowExtractor dev({Col("devedor.cpfCnpj"), Col("devedor.nome")});
		std::vector<RenameDef> renames = {{"devedor", {"cpf", "cnpj"}, "cpfCnpj"}};
		json::Projection dp = dev.MakeProjection("cobs", renames);
		part.Parse(R"({"cobs":[{"devedor":{"cnpj":"12","x":1,"nome":"N"},"y":2}]})", &dp);
		part.Serialize(part.Doc(), got);
		Equal(got, std::string(R"({"cobs":[{"devedor":{"cnpj":"12","nome":"N"}}]})"),
		      "projection: a member renamed into a column's name later is kept under its own name");
		Check(RowExtractor({Col("a")}).MakeProjection(nullptr, {}).nodes.empty(),
		      "projection: none for an endpoint without rows");
	}

	// ReadHead: the root object's scalar members before the rows, read without the rest.
	{
		rapidjson::Document head;
		bool got = json::ReadHead(R"({"totalPaginas":3,"totalElementos":"25","x":{"transacoes":1,"a":[1]},)"
		                          R"("ultimaPagina":false,"totalPaginas":4,"n":null,"transacoes":[{"broken":)",
		                          "transacoes", head);
		std::string text;
		json::Serialize(head, text);
		Equal(text, std::string(R"({"totalPaginas":"3","totalElementos":"25","ultimaPagina":false,"totalPaginas":"4","n":null})"),
		      "head: the scalar members before the rows (numbers as their text), not what follows them");
		Check(got && json::GetInt(head, "totalPaginas", -1) == 3 && !json::GetBool(head, "ultimaPagina", true),
		      "head: the first member of a name, as in the whole page");
		Check(!json::ReadHead(R"({"a":{"transacoes":[]},"b":1})", "transacoes", head),
		      "head: a member of that name inside another is not the rows");
		Check(!json::ReadHead(R"({"a":1,"b":})", "transacoes", head) && !json::ReadHead(R"([{"transacoes":1}])", "transacoes", head) &&
		          !json::ReadHead(R"({"a":1})", "transacoes", head) && !json::ReadHead("", "transacoes", head),
		      "head: none from invalid JSON, a root array, or an answer without the rows");
		Check(!json::ReadHead(R"({"a":)" + std::string(100, '[') + "1" + std::string(100, ']') + R"(,"transacoes":[]})",
		                      "transacoes", head),
		      "head: none past 64 levels of nesting");
	}

	// Counters in one process: rows by server and endpoint, reset per server, a bounded table.
	{
		LocalCounterStore store;
		store.Add("a", "extrato", kCountCalls, 2);
		store.Add("a", "extrato", kCountBytes, 1000);
		store.Add("a", "token", kCountTokens, 1);
		store.Add("b", "extrato", kCountCalls, 5);
		std::vector<CounterRow> rows = store.Snapshot();
		Check(rows.size() == 3 && rows[0].values[kCountCalls] == 2 && rows[0].values[kCountBytes] == 1000 &&
		          rows[2].values[kCountCalls] == 5 && rows[0].since_us > 1600000000000000LL,
		      "counters: one row per server and endpoint, with its own counts and a start time");
		const std::string a = "a";
		Check(store.Reset(&a) == 2 && store.Snapshot().size() == 1 && store.Snapshot()[0].server == "b",
		      "counters: resetting server a forgets its 2 rows, b keeps its own");
		for (int i = 0; i < 2 * kMaxCounterRows; i++)
			store.Add("s" + std::to_string(i), "pix", kCountCalls, 1);
		rows = store.Snapshot();
		long long total = 0, overflow = 0;
		for (const CounterRow &r : rows) {
			total += r.values[kCountCalls];
			if (r.server == kOverflow && r.endpoint == kOverflow)
				overflow = r.values[kCountCalls];
		}
		Check(rows.size() == static_cast<size_t>(kMaxCounterRows) && total == 2 * kMaxCounterRows + 5 &&
		          overflow == 2 * kMaxCounterRows - (kMaxCounterRows - 2),
		      "counters: at most " + std::to_string(kMaxCounterRows) + " rows; the rest count into one \"(other)\" row (" +
		          std::to_string(rows.size()) + " rows, " + std::to_string(overflow) + " in it), nothing is lost");
		Check(store.Reset(nullptr) == kMaxCounterRows && store.Snapshot().empty(), "counters: a full reset forgets every row");
		Check(std::string(CounterName(kCountStatus429)) == "status_429" && std::string(CounterName(kCountCacheHits)) == "cache_hits",
		      "counters: column names");
	}

	// The result cache (issue 9, item 4): freshness, runs, LRU eviction within the capacity.
	{
		LocalResponseCache c;
		c.SetCapacity(64 * 1024);
		auto key = [](int i) { return Sha256("k" + std::to_string(i)); };
		CacheMeta m;
		m.fetched_ms = 1000;
		m.run = 7;
		std::string body;
		CacheMeta got;
		c.Store(key(0), "page0", m);
		Check(!c.Find(key(0), 1500, 60000, 60000, 0, body, got),
		      "a first page is not served before its run is complete");
		Check(c.Find(key(0), 1500, 60000, 60000, 7, body, got) && body == "page0",
		      "a page is served to its own run");
		Check(!c.Find(key(0), 1500, 60000, 60000, 8, body, got), "... and not to another run");
		c.Complete(key(0), 8);
		Check(!c.Find(key(0), 1500, 60000, 60000, 0, body, got), "completing another run completes nothing");
		Check(c.Has(key(0), 1500, 60000, 60000, 7) && !c.Has(key(0), 1500, 60000, 60000, 0) &&
		          !c.Has(key(0), 1500, 60000, 60000, 8) && !c.Has(key(9), 1500, 60000, 60000, 0),
		      "Has says what Find would serve (its run's page only, nothing for a missing key)");
		c.Complete(key(0), 7);
		Check(c.Has(key(0), 1500, 60000, 60000, 0) && !c.Has(key(0), 1000 + 60000, 60000, 60000, 0),
		      "... a complete run's first page while it is fresh");
		Check(c.Find(key(0), 1500, 60000, 60000, 0, body, got) && got.run == 7, "a complete run's first page is served");
		Check(!c.Find(key(0), 1000 + 60000, 60000, 3600000, 0, body, got) && c.Entries() == 0,
		      "an answer as old as cache_ttl is stale and dropped");
		m.closed = true;
		m.complete = true;
		c.Store(key(1), "closed", m);
		Check(c.Find(key(1), 1000 + 120000, 60000, 3600000, 0, body, got),
		      "an answer of closed days lives for cache_ttl_closed");
		Check(!c.Find(key(1), 1000 + 120000, 0, 0, 0, body, got), "ttl 0 serves nothing");
		c.Clear();
		m.closed = false;
		std::string big(10 * 1024, 'x');
		for (int i = 0; i < 40; i++)
			c.Store(key(i), big, m);
		Check(c.Used() <= 64 * 1024 && c.Entries() == 6,
		      "40 answers of 10 kB in a 64 kB cache: bounded (" + std::to_string(c.Used()) + " bytes, " +
		          std::to_string(c.Entries()) + " entries)");
		Check(c.Find(key(39), 2000, 60000, 60000, 0, body, got) && body == big && !c.Find(key(0), 2000, 60000, 60000, 0, body, got),
		      "the newest answers are kept, the oldest evicted");
		Check(c.Find(key(35), 2000, 60000, 60000, 0, body, got), "a used answer becomes the newest ...");
		c.Store(key(40), big, m);
		Check(!c.Find(key(34), 2000, 60000, 60000, 0, body, got) && c.Find(key(35), 2000, 60000, 60000, 0, body, got) &&
		          c.Find(key(36), 2000, 60000, 60000, 0, body, got),
		      "... and the least recently used one is evicted instead");
		c.Store(key(41), std::string(17 * 1024, 'y'), m);
		Check(!c.Find(key(41), 2000, 60000, 60000, 0, body, got), "an answer over a quarter of the capacity is not kept");

		ServerConfig cfg;
		cfg.base_url = "https://127.0.0.1:1";
		cfg.cache = &c;
		cfg.cache_ttl_ms = 60000;
		BankClient client(cfg);
		Check(client.Cacheable("/banking/v2/extrato/completo?dataInicio=2024-01-01&dataFim=2024-01-01", Retry::kRead) &&
		          client.Cacheable("/pix/v2/cob/abc", Retry::kRead),
		      "statement pages and Pix lookups are cacheable");
		Check(!client.Cacheable("/banking/v2/pix/6f1c2d3e", Retry::kRead) && !client.Cacheable("/banking/v2/pix", Retry::kRead),
		      "payments and their status never are");
		Check(!client.Cacheable("/banking/v2/extrato/completo?dataInicio=2024-01-01&scrollEnabled=true", Retry::kRead) &&
		          !client.Cacheable("/banking/v2/extrato/completo?scrollId=abc", Retry::kRead) &&
		          !client.Cacheable("/banking/v2/saldo", Retry::kOnce),
		      "nor scroll pages, nor requests sent once");
		ServerConfig off = cfg;
		off.cache_ttl_ms = 0;
		BankClient none(off);
		Check(!none.Cacheable("/banking/v2/saldo", Retry::kRead), "cache_ttl 0: nothing is cacheable");
	}

	// The set-up check's helpers (pix_fdw.check).
	{
		const std::string refused = "{\"title\":\"Acesso Negado\",\"detail\":\"A integração não possui permissão "
		                            "para o(s) escopo(s) solicitado(s): extrato.read pagamento-pix.read.\"}";
		Check(NamesScope(refused, "extrato.read") && NamesScope(refused, "pagamento-pix.read"),
		      "check: the scopes a refusal names are found (a final period is not part of the name)");
		Check(!NamesScope(refused, "pix.read") && !NamesScope(refused, "cob.read") &&
		          !NamesScope("pagamento-pix.reader", "pagamento-pix.read"),
		      "check: pix.read is not named by pagamento-pix.read, nor a scope by a longer word");
		Check(DaysLeft(1000 + 10 * 86400, 1000) == 10 && DaysLeft(1000 + 10 * 86400 - 1, 1000) == 9 &&
		          DaysLeft(999, 1000) == -1 && DaysLeft(1000 - 86400, 1000) == -1 && DaysLeft(1000 - 86401, 1000) == -2,
		      "check: days left round down, negative once expired");
		std::string names;
		for (const ScopeUse &u : NeededScopes())
			names += u.scope + "=" + u.used_by + ";";
		Equal(names,
		      std::string("extrato.read=tables extrato, saldo;pix.read=table pix;cob.read=table cobrancas;"
		                  "pagamento-pix.read=table pix_enviados, pix_fdw.pay;pagamento-pix.write=pix_fdw.pay;"),
		      "check: the scopes the tables and pix_fdw.pay need, each with its users");
	}

	{
		// A request sent ahead on its own thread (bank/prefetch): a port that accepts the
		// connection and never answers (a hung bank), and one that refuses it.
		int silent, port;
		Check(LocalPort(true, &silent, &port), "prefetch: a silent local port");
		HttpRequest req;
		req.url = "https://127.0.0.1:" + std::to_string(port) + "/banking/v2/extrato/completo?pagina=1";
		req.headers = {"x-conta-corrente: 1", "Authorization: Bearer a"};
		Prefetch pf(TlsConfig{}, Timeouts{}, kDefaultMaxResponseBytes);
		Check(!pf.Held() && !pf.Matches(req), "prefetch: nothing held at first");
		Check(pf.Start(req) && pf.Held(), "prefetch: a request starts on its thread");
		Check(!pf.Start(req), "prefetch: one request at a time");
		HttpRequest other = req;
		other.headers[1] = "Authorization: Bearer b";
		Check(pf.Matches(other), "prefetch: the same request with another token matches");
		other.headers[0] = "x-conta-corrente: 2";
		Check(!pf.Matches(other), "prefetch: another header does not");
		other = req;
		other.url += "0";
		Check(!pf.Matches(other), "prefetch: nor another URL");
		// A waiter interrupted while the request hangs: Take throws Interrupted at once, and the
		// thread is stopped and joined.
		struct Interrupting final : public Waiter {
			int waits = 0;
			std::vector<SocketReady>
			Wait(const std::vector<SocketInterest> &, long) override
			{
				waits++;
				usleep(20000);
				return {};
			}
			bool
			Interrupted() override
			{
				return waits >= 5;
			}
		} interrupting;
		auto t0 = std::chrono::steady_clock::now();
		bool interrupted = false;
		TransportFailure failure = TransportFailure::kNone;
		try {
			pf.Take(interrupting, &failure);
		} catch (const Interrupted &) {
			interrupted = true;
		}
		long ms = static_cast<long>(
		    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
		Check(interrupted && !pf.Held() && ms < 1000,
		      "prefetch: an interrupt stops the wait and the hung request (" + std::to_string(ms) + " ms)");
		// ... and the wait for the answer's head likewise.
		pf.head_stop = "transacoes";
		Check(pf.Start(req) && !pf.Ready(), "prefetch: a hung request is not ready");
		interrupting.waits = 0;
		interrupted = false;
		t0 = std::chrono::steady_clock::now();
		try {
			pf.WaitReceived(interrupting);
		} catch (const Interrupted &) {
			interrupted = true;
		}
		ms = static_cast<long>(
		    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
		bool held = pf.Held();
		pf.Cancel();
		Check(interrupted && held && !pf.Held() && ms < 1000,
		      "prefetch: an interrupt stops the wait for the head, the request held for its sender to drop (" +
		          std::to_string(ms) + " ms)");
		// Cancel alone stops a hung request promptly.
		Check(pf.Start(req), "prefetch: it starts again after an interrupt");
		usleep(50000);
		t0 = std::chrono::steady_clock::now();
		pf.Cancel();
		ms = static_cast<long>(
		    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
		Check(!pf.Held() && ms < 500, "prefetch: Cancel stops a hung request (" + std::to_string(ms) + " ms)");
		close(silent);
		// A refused connection: the transport error is rethrown by Take with its class.
		rapidjson::Document page_head_sentinel;
		int refusing;
		bool bound = LocalPort(false, &refusing, &port);
		req.url = "https://127.0.0.1:" + std::to_string(port) + "/banking/v2/saldo";
		PollWaiter waiter;
		const rapidjson::Document *no_head = &page_head_sentinel;
		auto thrown = Thrown([&] {
			pf.Start(req);
			no_head = pf.WaitReceived(waiter);
			pf.Take(waiter, &failure);
		});
		json::Page page;
		Check(no_head == nullptr, "prefetch: a refused connection has no head (Take tells why)");
		Check(bound && thrown.first == "HV00N" && failure == TransportFailure::kConnect && !pf.Held() &&
		          pf.TakePage(page) == Prefetch::Taken::kNo,
		      "prefetch: a refused connection is rethrown by Take, as a connection failure, with no page (" +
		          thrown.first + ", class " + std::to_string(static_cast<int>(failure)) + ")");
		close(refusing);
	}

	std::printf("# unit tests: %d failed\n", failures);
	return failures == 0 ? 0 : 1;
}
