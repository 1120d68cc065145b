// libFuzzer target: the bank's answer bodies -> rows -> text cells, in the bank layer
// (src/bank: json::Page, RowSource, RowExtractor). The README's "Fuzzing" section says what
// is and is not covered (not the cell -> Datum conversion of src/pg, nor the scroll).
//
// Input: two configuration bytes, then one or more answer bodies separated by the byte 0x1E.
//   byte 0: low 3 bits (mod 7) the table and access path: 0 extrato (statement pages),
//           1 saldo, 2 saldo per dataSaldo, 3 pix list, 4 cobrancas list, 5 pix by key,
//           6 cobrancas by key; bit 4: every column wants JSON text; bit 5: jsonb columns
//           take the value itself (tree).
//   byte 1: bits 0-1 number of windows or keys (1 + n % 3); bits 2-4 page size
//           (1, 2, 3, 5, 100, 1000, 5000, 10000); bits 5-7 statement window length in days.
// Each body is the answer to the next GET the scan makes, in order (served through the
// result cache interface, so no request reaches the network); when the bodies run out the
// scan ends inconclusively. A scroll (not cacheable) goes to a refused local port and fails.
//
// Invariants (a violation aborts with a message, so libFuzzer reports the input):
//  * json::Page::Parse accepts a body exactly when a plain RapidJSON parse does, it holds no
//    NUL byte and nests at most 64 levels; an accepted page equals the plain parse value for
//    value; its numbers are, in order, exactly the number tokens of the body's text (the
//    bank's own digits, each a valid JSON number literal); a string is never taken for a
//    number; Serialize() writes a text that parses back to the same page, numbers included.
//  * Every refusal is a pix::Error with a SQLSTATE and NUL-free texts; no other exception
//    (a RapidJSON assertion, std::out_of_range, ...) escapes.
//  * Every cell is exactly the value at its column's path (the first member of a name), found
//    independently with json::Find: strings byte for byte with their length (an embedded
//    \u0000 is not a terminator), numbers as the bank's digits, booleans as true/false,
//    objects and arrays as JSON text that parses back to the same value; a tree cell is that
//    very value.
//  * A scan that ends without error returned every row: the API Pix lists give, per window,
//    the rows the window's first page counted (quantidadeTotalDeItens) and the sum of their
//    pages' rows; single-day statement windows the sum of their pages' rows and the
//    totalElementos of their first page (unless fewer than that page holds: not a count);
//    saldo one row per call with dataSaldo echoed; lookups by key one row per key.
#include "bank/client.hpp"
#include "bank/json.hpp"
#include "bank/source.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

using pix::json::Page;

[[noreturn]] void
Fail(const std::string &what)
{
	std::fprintf(stderr, "INVARIANT FAILED: %s\n", what.c_str());
	std::fflush(stderr);
	std::abort();
}

void
Require(bool cond, const std::string &what)
{
	if (!cond)
		Fail(what);
}

// ---- an independent look at the body's text -------------------------------------------

// Number tokens outside strings, in order, and the deepest nesting; meaningful for text that
// is valid JSON.
struct TextScan {
	std::vector<std::string> numbers;
	int max_depth = 0;
};

TextScan
Scan(const std::string &s)
{
	TextScan out;
	int depth = 0;
	for (size_t i = 0; i < s.size(); i++) {
		char c = s[i];
		if (c == '"') {
			for (i++; i < s.size() && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
		} else if (c == '[' || c == '{') {
			out.max_depth = std::max(out.max_depth, ++depth);
		} else if (c == ']' || c == '}') {
			depth--;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			size_t j = i;
			while (j < s.size() && std::strchr("+-0123456789.eE", s[j]) && s[j] != '\0')
				j++;
			out.numbers.push_back(s.substr(i, j - i));
			i = j - 1;
		}
	}
	return out;
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool
NumberLiteral(const std::string &t)
{
	size_t i = 0, n = t.size();
	auto digits = [&] {
		size_t start = i;
		while (i < n && t[i] >= '0' && t[i] <= '9')
			i++;
		return i > start;
	};
	if (i < n && t[i] == '-')
		i++;
	if (i < n && t[i] == '0')
		i++;
	else if (!digits())
		return false;
	if (i < n && t[i] == '.') {
		i++;
		if (!digits())
			return false;
	}
	if (i < n && (t[i] == 'e' || t[i] == 'E')) {
		i++;
		if (i < n && (t[i] == '+' || t[i] == '-'))
			i++;
		if (!digits())
			return false;
	}
	return i == n;
}

std::string
Str(const rapidjson::Value &v)
{
	return std::string(v.GetString(), v.GetStringLength());
}

// The page's numbers in document order (DOM order is document order).
void
PageNumbers(const Page &page, const rapidjson::Value &v, std::vector<std::string> &out)
{
	if (v.IsObject()) {
		for (const auto &m : v.GetObject()) {
			Require(!page.IsNumber(m.name), "a member name is taken for a number");
			PageNumbers(page, m.value, out);
		}
	} else if (v.IsArray()) {
		for (const auto &e : v.GetArray())
			PageNumbers(page, e, out);
	} else if (v.IsString() && page.IsNumber(v)) {
		out.push_back(Str(v));
	}
}

// a (of page pa, or plain when pa is null: numbers are strings there) equals b (of page pb).
bool
Same(const rapidjson::Value &a, const Page *pa, const rapidjson::Value &b, const Page *pb)
{
	if (a.GetType() != b.GetType())
		return false;
	switch (a.GetType()) {
	case rapidjson::kObjectType: {
		if (a.MemberCount() != b.MemberCount())
			return false;
		auto i = a.MemberBegin();
		auto j = b.MemberBegin();
		for (; i != a.MemberEnd(); ++i, ++j)
			if (Str(i->name) != Str(j->name) || !Same(i->value, pa, j->value, pb))
				return false;
		return true;
	}
	case rapidjson::kArrayType:
		if (a.Size() != b.Size())
			return false;
		for (rapidjson::SizeType k = 0; k < a.Size(); k++)
			if (!Same(a[k], pa, b[k], pb))
				return false;
		return true;
	case rapidjson::kStringType:
		if (pa && pb && pa->IsNumber(a) != pb->IsNumber(b))
			return false;
		return Str(a) == Str(b);
	case rapidjson::kTrueType:
	case rapidjson::kFalseType:
	case rapidjson::kNullType:
		return true;
	default:
		return false;  // a page has no binary numbers
	}
}

void
CheckError(const pix::Error &e, const char *where)
{
	std::string state = e.State();
	bool state_ok = state.size() == 5;
	for (char c : state)
		state_ok &= (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
	Require(state_ok, std::string(where) + ": an error without a SQLSTATE: " + e.what());
	Require(std::strlen(e.what()) > 0, std::string(where) + ": an error without a message");
	for (const std::string &t : {std::string(e.what()), e.Detail(), e.Hint()})
		Require(t.find('\0') == std::string::npos, std::string(where) + ": an error text with a NUL byte");
}

// ---- part 1: one body through json::Page -----------------------------------------------

void
CheckPage(const std::string &body)
{
	const bool has_nul = body.find('\0') != std::string::npos;
	// The reference: RapidJSON's ordinary parse of the NUL-terminated text (its
	// (text, length) overload takes "\xBB2" for 2: a byte-order-mark quirk of 1.1.0).
	rapidjson::Document plain;
	if (!has_nul)
		plain.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(body.c_str());
	const bool plain_ok = !has_nul && !plain.HasParseError();
	const TextScan scan = plain_ok ? Scan(body) : TextScan{};

	Page page;
	bool accepted = false;
	std::string refusal;
	try {
		page.Parse(std::string(body));
		accepted = true;
	} catch (const pix::Error &e) {
		CheckError(e, "json::Page::Parse");
		Require(std::string(e.State()) == "HV00K", "json::Page::Parse refuses with " + std::string(e.State()));
		refusal = e.what();
	}
	if (has_nul) {
		Require(!accepted, "a body with a raw NUL byte is accepted");
		return;
	}
	if (accepted) {
		Require(plain_ok, "json::Page accepts what RapidJSON refuses");
		Require(scan.max_depth <= pix::json::kMaxDepth,
		        "json::Page accepts nesting " + std::to_string(scan.max_depth) + " levels deep");
		Require(Same(page.Doc(), nullptr, plain, nullptr), "json::Page's value differs from RapidJSON's");
		std::vector<std::string> numbers;
		PageNumbers(page, page.Doc(), numbers);
		Require(numbers == scan.numbers, "json::Page's numbers are not the body's number tokens (" +
		                                     std::to_string(numbers.size()) + " vs " +
		                                     std::to_string(scan.numbers.size()) + ")");
		for (const std::string &n : numbers)
			Require(NumberLiteral(n), "json::Page keeps a number that is not a JSON number literal: " + n);
		// Serialize, parse again: the same value, numbers still numbers with the same digits.
		std::string text;
		page.Serialize(page.Doc(), text);
		Page again;
		try {
			again.Parse(std::string(text));
		} catch (const pix::Error &e) {
			Fail(std::string("Serialize() wrote text json::Page refuses: ") + e.what());
		}
		Require(Same(page.Doc(), &page, again.Doc(), &again), "Serialize() does not round-trip");
		std::string text2;
		again.Serialize(again.Doc(), text2);
		Require(text == text2, "Serialize() is not stable");
	} else if (plain_ok) {
		Require(scan.max_depth > pix::json::kMaxDepth, "json::Page refuses valid JSON: " + refusal);
		Require(refusal.find("deeper than") != std::string::npos, "a deep page is refused for another reason: " + refusal);
	}
}

// ---- part 2: the bodies as a scan's answers --------------------------------------------

struct FeedEnd {};  // the bodies ran out: the scan ends without a verdict

// The result cache interface, serving the fuzz input's bodies in order.
class FeedCache final : public pix::ResponseCache {
public:
	std::vector<std::string> bodies;
	size_t next = 0;
	bool
	Find(const pix::Digest &, long long, long, long, long long run, std::string &body,
	     pix::CacheMeta &meta) override
	{
		if (next >= bodies.size())
			throw FeedEnd{};
		body = bodies[next++];
		meta = pix::CacheMeta{};
		meta.run = run != 0 ? run : 1;
		meta.complete = true;
		return true;
	}
	// Every request is answered from the feed (none is sent ahead to a bank).
	bool
	Has(const pix::Digest &, long long, long, long, long long) override
	{
		return true;
	}
	void Store(const pix::Digest &, const std::string &, const pix::CacheMeta &) override {}
	void Complete(const pix::Digest &, long long) override {}
	long long Clear() override { return 0; }
};

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

class PollWaiter final : public pix::Waiter {
public:
	std::vector<pix::SocketReady>
	Wait(const std::vector<pix::SocketInterest> &sockets, long timeout_ms) override
	{
		std::vector<pollfd> fds;
		for (const auto &s : sockets)
			fds.push_back(pollfd{s.fd, static_cast<short>((s.read ? POLLIN : 0) | (s.write ? POLLOUT : 0)), 0});
		poll(fds.data(), fds.size(), static_cast<int>(timeout_ms < 0 || timeout_ms > 1000 ? 1000 : timeout_ms));
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

struct World {
	FeedCache cache;
	FixedTokens tokens;
	PollWaiter waiter;
	std::unique_ptr<pix::BankClient> client;
	int refusing_fd = -1;

	World()
	{
		// A local port that refuses connections (bound, never listening): a scroll's GET,
		// the one request that does not go through the cache, fails at once.
		refusing_fd = socket(AF_INET, SOCK_STREAM, 0);
		sockaddr_in addr{};
		addr.sin_family = AF_INET;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof addr;
		if (refusing_fd < 0 || bind(refusing_fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
		    getsockname(refusing_fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
			Fail("no local port to refuse connections");
		pix::ServerConfig cfg;
		cfg.base_url = "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
		cfg.rate_limits = pix::ParseRateLimits("off");
		cfg.timeouts.connect_ms = 2000;
		cfg.shared_tokens = &tokens;
		cfg.server_name = "fuzz";
		cfg.cache = &cache;
		cfg.cache_ttl_ms = 1000000;
		cfg.cache_ttl_closed_ms = 1000000;
		client = std::make_unique<pix::BankClient>(cfg);
	}
};

World &
TheWorld()
{
	static World *w = new World();  // never destroyed: libFuzzer exits from anywhere
	return *w;
}

const rapidjson::Value *
Lookup(const rapidjson::Value &row, const std::vector<std::string> &path)
{
	const rapidjson::Value *v = &row;
	for (const std::string &k : path) {
		v = pix::json::Find(*v, k);
		if (!v)
			return nullptr;
	}
	return v;
}

void
CheckCells(const rapidjson::Value &row, const Page &page, const std::vector<pix::ColumnSpec> &specs,
           const std::vector<pix::Cell> &cells)
{
	Require(cells.size() == specs.size(), "a cell per column");
	for (size_t i = 0; i < specs.size(); i++) {
		const pix::Cell &c = cells[i];
		const std::string col = "column " + std::to_string(i) + ": ";
		if (specs[i].path.empty()) {
			Require(c.null && !c.value, col + "a column the query does not need is not NULL");
			continue;
		}
		const rapidjson::Value *v = Lookup(row, specs[i].path);
		if (!v || v->IsNull()) {
			Require(c.null && !c.value, col + "a missing or null value is not NULL");
			continue;
		}
		Require(!c.null, col + "a present value is NULL");
		if (specs[i].tree) {
			Require(c.value == v, col + "a tree cell is not the row's own value");
			continue;
		}
		Require(c.data != nullptr && c.data[c.len] == '\0', col + "a cell is not NUL-terminated at its length");
		const std::string got(c.data, c.len);
		if (specs[i].json || v->IsObject() || v->IsArray()) {
			Page back;
			try {
				back.Parse(std::string(got));
			} catch (const pix::Error &e) {
				Fail(col + "a JSON cell is not JSON: " + e.what());
			}
			Require(Same(*v, &page, back.Doc(), &back), col + "a JSON cell is not its value");
		} else if (v->IsString()) {
			Require(got == Str(*v), col + "a text cell is not its string, byte for byte");
			if (page.IsNumber(*v))
				Require(NumberLiteral(got), col + "a number cell is not a number literal: " + got);
		} else if (v->IsBool()) {
			Require(got == (v->GetBool() ? "true" : "false"), col + "a boolean cell is not true/false");
		} else {
			Fail(col + "a value of an unexpected type");
		}
	}
}

// A count as the code reads it (a non-negative integer, a JSON number or digits), else -1.
long long
CountOf(const rapidjson::Value *v)
{
	if (!v || !v->IsString())
		return -1;
	std::string s = Str(*v);
	if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
		return -1;
	return std::stoll(s);
}

struct Served {
	long long rows = -1;   // size of the rows array, -1 when none or not an array
	long long count = -1;  // quantidadeTotalDeItens (API Pix), totalElementos (statement)
	long long pages = -1;  // quantidadeDePaginas (API Pix), totalPaginas (statement)
	bool last = false;     // statement: ultimaPagina
};

// The page as the code must read it: the statement's fields for a statement endpoint, the
// API Pix paginacao for a list (whatever the body looks like).
Served
Describe(const std::string &body, const char *rows_key, bool statement)
{
	Served s;
	Page p;
	try {
		p.Parse(std::string(body));
	} catch (const pix::Error &) {
		return s;
	}
	const rapidjson::Value *rows = rows_key ? pix::json::Find(p.Doc(), rows_key) : nullptr;
	if (rows && rows->IsArray())
		s.rows = rows->Size();
	else if (!rows || rows->IsNull())
		s.rows = 0;
	if (statement) {
		s.count = CountOf(pix::json::Find(p.Doc(), "totalElementos"));
		s.pages = CountOf(pix::json::Find(p.Doc(), "totalPaginas"));
		s.last = pix::json::GetBool(p.Doc(), "ultimaPagina", false);
		return s;
	}
	const rapidjson::Value *par = pix::json::Find(p.Doc(), "parametros");
	const rapidjson::Value *pag = par ? pix::json::Find(*par, "paginacao") : nullptr;
	if (pag && pag->IsObject()) {
		s.count = CountOf(pix::json::Find(*pag, "quantidadeTotalDeItens"));
		s.pages = CountOf(pix::json::Find(*pag, "quantidadeDePaginas"));
	}
	return s;
}

void
RunScan(uint8_t c0, uint8_t c1, std::vector<std::string> bodies)
{
	static const char *const kTables[] = {"extrato", "saldo", "saldo", "pix", "cobrancas", "pix", "cobrancas"};
	static const int kPageSizes[] = {1, 2, 3, 5, 100, 1000, 5000, 10000};
	const int mode = (c0 & 7) % 7;
	const bool all_json = c0 & 0x10, trees = c0 & 0x20;
	const int n = 1 + (c1 & 3) % 3;
	const int page_size = kPageSizes[(c1 >> 2) & 7];
	const int span = 1 + (c1 >> 5) * 3;

	const pix::EndpointDef *ep = pix::FindEndpoint(kTables[mode]);
	Require(ep != nullptr, "catalogue endpoint");
	pix::RequestPlan plan;
	plan.endpoint = ep;
	plan.page_size = std::min(page_size, ep->max_page_size > 0 ? ep->max_page_size : page_size);
	const pix::dates::Day first = pix::dates::FromCivil(2024, 6, 20);
	const bool by_key = mode >= 5;
	if (by_key) {
		plan.by_key = true;
		for (int k = 0; k < n; k++)
			plan.keys.push_back("key" + std::to_string(k) + (k == 1 ? "/?&%" : ""));
	} else if (mode == 1) {
		// undated saldo: one call
	} else {
		for (int k = 0; k < n; k++) {
			pix::dates::Day d = first + k * 40;
			plan.windows.push_back(pix::Window{d, mode == 0 ? d + span - 1 : d});
		}
		if (mode == 2)
			plan.date_param = "dataSaldo";
	}

	std::vector<pix::ColumnSpec> specs;
	for (const pix::ColumnDef &col : ep->columns) {
		pix::ColumnSpec s;
		s.path = pix::RowExtractor::SplitPath(col.path);
		bool jsonish = std::strcmp(col.type, "jsonb") == 0 || std::strcmp(col.type, "json") == 0;
		s.tree = trees && std::strcmp(col.type, "jsonb") == 0;
		s.json = !s.tree && (all_json || jsonish);
		specs.push_back(s);
	}
	for (const char *more : ep->more) {
		pix::ColumnSpec s;
		s.path = pix::RowExtractor::SplitPath(more);
		s.json = all_json;
		specs.push_back(s);
	}
	specs.push_back(pix::ColumnSpec{});  // a column the query does not need

	World &w = TheWorld();
	w.cache.bodies = bodies;
	w.cache.next = 0;
	pix::CallStats stats;
	pix::RowExtractor ex(specs);
	std::vector<pix::Cell> cells;
	long long rows = 0;
	bool complete = false;
	try {
		pix::RowSource src(*w.client, plan, stats);
		while (const rapidjson::Value *row = src.Next(w.waiter)) {
			rows++;
			ex.Extract(*row, src.CurrentPage(), cells);
			CheckCells(*row, src.CurrentPage(), specs, cells);
			if (mode == 2)
				Require(pix::json::Find(*row, "dataSaldo") != nullptr, "a saldo row per date has no dataSaldo");
		}
		complete = true;
	} catch (const FeedEnd &) {
		return;
	} catch (const pix::Error &e) {
		CheckError(e, "scan");
		return;
	}
	(void)complete;
	const size_t served = w.cache.next;
	if (by_key) {
		Require(rows == n && served == static_cast<size_t>(n), "a lookup by key gives one row per key");
		return;
	}
	if (mode <= 2 && ep->paging == pix::Paging::kSingle) {
		Require(rows == (mode == 1 ? 1 : n) && served == static_cast<size_t>(rows), "saldo gives one row per call");
		return;
	}
	// Lists and statements: every served page's rows, none twice, none skipped.
	const bool statement = ep->paging == pix::Paging::kStatement;
	std::vector<Served> pages;
	long long sum = 0;
	for (size_t k = 0; k < served; k++) {
		pages.push_back(Describe(bodies[k], ep->rows_key, statement));
		Require(pages.back().rows >= 0, "a served page without a rows array ended a scan without error");
		sum += pages.back().rows;
	}
	if (statement && span > 1) {  // windows may be split and read again: no page model here
		Require(rows <= sum, "more statement rows than its pages hold");
		return;
	}
	Require(rows == sum, "rows " + std::to_string(rows) + " != rows of the pages " + std::to_string(sum));
	// Windows by the paging rules. API Pix: a window ends on an empty page, at its page count
	// (of each page), or, without one, on a short page; its first page counts its rows.
	// Statement (single days, never split): on ultimaPagina, an empty page or totalPaginas;
	// its first page's totalElementos counts its rows unless it is fewer than that page holds.
	size_t k = 0;
	int windows = 0;
	while (k < served) {
		long long counted = pages[k].count, got = 0;
		if (statement && counted < pages[k].rows)
			counted = -1;
		int page = 0;
		for (;;) {
			const Served &p = pages[k++];
			page++;
			got += p.rows;
			bool done = statement ? p.last || p.rows == 0 || (p.pages >= 0 && page >= p.pages)
			                      : p.rows == 0 || (p.pages >= 0 ? page >= p.pages : p.rows < plan.page_size);
			if (done || k >= served)
				break;
		}
		windows++;
		if (counted >= 0)
			Require(got == counted, "window " + std::to_string(windows) + " gave " + std::to_string(got) +
			                            " rows but its first page counted " + std::to_string(counted));
	}
	Require(windows == n, "the list's pages end " + std::to_string(windows) + " windows, not " + std::to_string(n));
}

}  // namespace

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const uint8_t c0 = data[0], c1 = data[1];
	std::vector<std::string> bodies;
	std::string cur;
	for (size_t i = 2; i < size; i++) {
		if (data[i] == 0x1E) {
			bodies.push_back(cur);
			cur.clear();
		} else {
			cur.push_back(static_cast<char>(data[i]));
		}
	}
	bodies.push_back(cur);
	if (bodies.size() > 64)
		return 0;
	try {
		for (const std::string &b : bodies)
			CheckPage(b);
		RunScan(c0, c1, std::move(bodies));
	} catch (const std::exception &e) {
		Fail(std::string("an exception other than pix::Error escaped: ") + e.what());
	}
	return 0;
}
