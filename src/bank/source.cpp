// Statement paging (traditional pages, scroll past 10 000 rows), single-object endpoints,
// and the JSON-to-text cell extraction.
#include "bank/source.hpp"

#include "bank/error.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <string_view>

namespace pix {

namespace {

constexpr long long kTraditionalLimit = 10000;  // rows reachable with pagina/tamanhoPagina
constexpr int kMaxEmptyScrollPages = 5;         // scroll pages in a row with hasMore but no rows

using Clock = std::chrono::steady_clock;

// A count in the bank's answer: a non-negative integer (a JSON number, or digits in a
// string). -1 when missing or anything else: not a number to trust.
long long
Count(const rapidjson::Value &doc, const char *key)
{
	const rapidjson::Value *v = json::Find(doc, key);
	if (!v)
		return -1;
	if (v->IsInt64())
		return v->GetInt64() >= 0 ? v->GetInt64() : -1;
	if (v->IsString()) {
		std::string_view s(v->GetString(), v->GetStringLength());
		long long out = -1;
		if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos)
			return -1;
		std::from_chars(s.data(), s.data() + s.size(), out);
		return out;
	}
	return -1;
}

bool
HasMore(const rapidjson::Value &doc, bool has_id)
{
	const rapidjson::Value *v = json::Find(doc, "hasMore");
	if (v && (v->IsBool() || v->IsString()))
		return json::GetBool(doc, "hasMore", false);
	return has_id;  // undocumented absence: the id (null when finished) decides
}

std::string
WindowText(const Window &w)
{
	return "dataInicio=" + dates::Iso(w.first) + " dataFim=" + dates::Iso(w.last);
}

// Reads this backend's abandoned scroll of `account` to its end (the bank frees it only
// then); forgets it when done, when it already expired, or when the bank no longer knows it.
void
DrainScroll(BankClient &client, const std::string &account, Waiter &waiter, CallStats &stats)
{
	int empty = 0;
	for (;;) {
		HeldScroll *h = FindHeldScroll(account);
		if (!h)
			return;
		if (h->scroll_id.empty() || Clock::now() - h->last_used >= std::chrono::seconds(kScrollIdleSeconds)) {
			DropHeldScroll(account);
			return;
		}
		HttpResponse r = client.GetAny(h->prefix + UrlEncode(h->scroll_id) + h->suffix, h->scope, waiter, stats, Retry::kRead);
		rapidjson::Document doc;
		bool parsed = !doc.Parse(r.body.c_str(), r.body.size()).HasParseError() && doc.IsObject();
		if (r.status < 200 || r.status >= 300) {
			if (parsed && json::GetString(doc, "typeError") == "SCROLL_EXPIRED") {
				DropHeldScroll(account);  // closed already
				return;
			}
			throw HttpError(r, "GET " + h->prefix.substr(0, h->prefix.find('?')), h->scope);
		}
		if (!parsed)
			throw Error(sqlstate::kReplyHandle, "the bank's answer is not a JSON object");
		std::string next = json::GetString(doc, "scrollId");
		if (!HasMore(doc, !next.empty()) || next.empty()) {
			DropHeldScroll(account);
			return;
		}
		const rapidjson::Value *rows = json::Find(doc, h->rows_key);
		empty = rows && rows->IsArray() && rows->Size() > 0 ? 0 : empty + 1;
		if (empty >= kMaxEmptyScrollPages)
			throw Error(sqlstate::kReplyHandle, "the bank's statement scroll keeps answering empty pages with hasMore");
		h->scroll_id = std::move(next);
		h->last_used = Clock::now();
	}
}

}  // namespace

std::vector<Window>
SplitForTotal(const Window &w, long long total, long long limit)
{
	long long days = w.last - w.first + 1;
	if (days <= 1 || total <= limit)
		return {w};
	// Aim at 80 % of the limit per part, so that uneven days rarely need a second split.
	long long k = total / (limit - limit / 5) + 1;
	k = std::clamp<long long>(k, 2, days);
	std::vector<Window> out;
	dates::Day start = w.first;
	for (long long i = 0; i < k; i++) {
		long long len = days / k + (i < days % k ? 1 : 0);
		out.push_back(Window{start, static_cast<dates::Day>(start + len - 1)});
		start += len;
	}
	return out;
}

std::vector<Window>
SplitWindow(dates::Day first, dates::Day last, int max_days)
{
	std::vector<Window> out;
	for (dates::Day start = first; start <= last; start += max_days)
		out.push_back(Window{start, std::min<dates::Day>(last, start + max_days - 1)});
	return out;
}

namespace {

// RFC 3339 instant starting Brasília day d. Brasília has kept UTC-3 since daylight saving
// ended in 2019 (the API Pix began in 2020); before that, midnight was at -02:00 in summer,
// an hour earlier, so -02:00 is written for those days: a window never starts late.
std::string
DayStartRfc3339(dates::Day d)
{
	constexpr dates::Day kNoDstSince = dates::FromCivil(2019, 2, 17);
	return dates::Iso(d) + (d < kNoDstSince ? "T00:00:00-02:00" : "T00:00:00-03:00");
}

}  // namespace

std::string
RequestPlan::PageQuery(const Window &w, int page, bool scroll, const std::string &scroll_id) const
{
	std::string q;
	auto add = [&q](const std::string &k, const std::string &v) {
		q += (q.empty() ? "" : "&") + k + "=" + UrlEncode(v);
	};
	if (endpoint->paging == Paging::kStatement) {
		add(endpoint->window_from, dates::Iso(w.first));
		add(endpoint->window_to, dates::Iso(w.last));
		if (scroll)
			q += scroll_id.empty() ? "&scrollEnabled=true" : "&scrollId=" + UrlEncode(scroll_id);
		else
			add("pagina", std::to_string(page));
		add("tamanhoPagina", std::to_string(page_size));
	} else if (endpoint->paging == Paging::kPaginacao) {
		// fim: the first instant of the day after (a bound the bank may count as included:
		// one instant more, never one less; every row is rechecked locally).
		add(endpoint->window_from, DayStartRfc3339(w.first));
		add(endpoint->window_to, DayStartRfc3339(w.last + 1));
		add(endpoint->page_param, std::to_string(page));
		add(endpoint->page_size_param, std::to_string(page_size));
	} else if (!date_param.empty()) {
		add(date_param, dates::Iso(w.first));
	}
	for (const auto &[k, v] : params)
		add(k, v);
	return q;
}

std::string
RequestPlan::ItemPath(const std::string &key) const
{
	std::string path = endpoint->item_path;
	size_t at = path.find("{}");
	return path.substr(0, at) + UrlEncode(key) + path.substr(at + 2);
}

std::vector<std::string>
RequestPlan::FirstQueries() const
{
	std::vector<std::string> out;
	if (empty)
		return out;
	if (by_key) {
		for (const std::string &k : keys)
			out.push_back(ItemPath(k));
	} else if (endpoint->paging == Paging::kStatement || endpoint->paging == Paging::kPaginacao ||
	           !date_param.empty()) {
		for (const Window &w : windows)
			out.push_back(PageQuery(w, 0));
	} else {
		out.push_back(PageQuery(Window{0, 0}, 0));
	}
	return out;
}

std::string
RequestPlan::Key() const
{
	std::string key = std::string(endpoint->name) + (empty ? " empty" : "");
	for (const std::string &q : FirstQueries())
		key += "\n" + q;
	for (const auto &[k, v] : echo)
		key += "\necho " + k + "=" + v;
	return key;
}

RowSource::RowSource(BankClient &client, RequestPlan plan, CallStats &stats,
                     std::shared_ptr<const json::Projection> projection)
    : client_(client), plan_(std::move(plan)), stats_(stats), windows_(plan_.windows),
      projection_(std::move(projection))
{
}

const std::shared_ptr<const json::Projection> &
RowSource::RowProjection() const
{
	static const std::shared_ptr<const json::Projection> none;
	const EndpointDef &ep = *plan_.endpoint;
	bool rows = !plan_.by_key && (ep.paging == Paging::kStatement || ep.paging == Paging::kPaginacao);
	return rows ? projection_ : none;
}

RowSource::~RowSource()
{
	client_.ReturnPrefetch(std::move(ahead_));  // stops a request in flight: no call here
	client_.ReturnPrefetch(std::move(spare_));
	// No request here (it would need the Waiter, and this may run during an abort): an
	// unfinished scroll is left abandoned, for this backend's next scroll to read to its end.
	if (!account_.empty()) {
		HeldScroll *h = FindHeldScroll(account_);
		if (h && h->reader == this)
			h->reader = nullptr;
	}
}

void
RowSource::Finish(Waiter &waiter)
{
	finished_ = true;
	rows_ = nullptr;
	for (auto *pf : {&ahead_, &spare_})
		if (*pf)
			client_.DropAhead(**pf);
	AbandonRun();  // nothing once the run was read to its end
	if (account_.empty())
		return;
	std::string account = std::move(account_);
	account_.clear();
	HeldScroll *h = FindHeldScroll(account);
	if (!h || h->reader != this)
		return;
	h->reader = nullptr;
	try {
		DrainScroll(client_, account, waiter, stats_);
	} catch (const Error &) {
		// Left abandoned: freed by this backend's next scroll, or expired by the bank.
	}
}

void
RowSource::AcquireScroll(Waiter &waiter, long long total)
{
	const std::string &account = client_.AccountKey();
	HeldScroll *held = FindHeldScroll(account);
	if (held && held->reader)
		throw Error(sqlstate::kFeatureNotSupported,
		            "a second statement scroll of this bank account is needed while this session still reads one",
		            "The window " + WindowText(windows_[window_]) + " has " +
		                (total >= 0 ? std::to_string(total) : std::string("an uncounted number of")) +
		                " transactions, more than pages reach, and the bank allows one scroll per account; "
		                "another scan of this session (in this query or an open cursor) has not finished "
		                "reading its scroll.",
		            "Read one of the two scans into a temporary table first (CREATE TEMP TABLE ... AS "
		            "SELECT ...) and use that table in the query.");
	if (held) {
		// Left open by a scan of this backend that failed: read it to its end first.
		try {
			DrainScroll(client_, account, waiter, stats_);
		} catch (const Error &e) {
			throw Error(e.State(),
			            std::string("could not free the statement scroll an earlier query of this session left "
			                        "open: ") + e.what(),
			            e.Detail(),
			            "The bank frees it at the latest 6 minutes after its last request; run the query "
			            "again then.");
		}
	}
	scroll_id_.clear();
	scroll_total_ = -1;
	scroll_rows_ = 0;
	empty_pages_ = 0;
}

void
RowSource::ScrollPage(rapidjson::SizeType n)
{
	const rapidjson::Value *id = json::Find(answer_.Doc(), "scrollId");
	std::string next = id && id->IsString() ? std::string(id->GetString(), id->GetStringLength()) : "";
	bool more = HasMore(answer_.Doc(), !next.empty());
	if (scroll_id_.empty())
		scroll_total_ = Count(answer_.Doc(), "totalElementos");  // the scroll's first page
	scroll_rows_ += n;
	if (!more) {
		// Closed by the bank with this page.
		if (!account_.empty()) {
			DropHeldScroll(account_);
			account_.clear();
		}
		window_done_ = true;
		if (scroll_total_ >= 0 && scroll_rows_ < scroll_total_)
			throw Error(sqlstate::kReplyHandle,
			            "the bank's statement scroll ended after " + std::to_string(scroll_rows_) + " of the " +
			                std::to_string(scroll_total_) + " transactions it counted",
			            "Window " + WindowText(windows_[window_]) + ".");
		return;
	}
	if (next.empty())
		throw Error(sqlstate::kReplyHandle, "the bank's statement scroll has more rows but gave no scrollId",
		            "Window " + WindowText(windows_[window_]) + ".");
	empty_pages_ = n == 0 ? empty_pages_ + 1 : 0;
	if (account_.empty())
		account_ = client_.AccountKey();
	HeldScroll *h = FindHeldScroll(account_);
	if (!h) {
		h = &AddHeldScroll(account_);
		// The continuation request, as Query(true) writes it once the id is known: the one
		// builder's text around a marker id.
		const std::string marker = "\x01";
		std::string q = "?" + plan_.PageQuery(windows_[window_], 0, true, marker);
		size_t at = q.find(UrlEncode(marker));
		h->prefix = plan_.endpoint->http_path + q.substr(0, at);
		h->suffix = q.substr(at + UrlEncode(marker).size());
		h->scope = plan_.endpoint->scope;
		h->rows_key = plan_.endpoint->rows_key;
	}
	h->reader = this;
	h->scroll_id = next;
	h->last_used = Clock::now();
	scroll_id_ = std::move(next);
	if (empty_pages_ >= kMaxEmptyScrollPages)
		throw Error(sqlstate::kReplyHandle, "the bank's statement scroll keeps answering empty pages with hasMore",
		            "Window " + WindowText(windows_[window_]) + ".");
}

std::string
RowSource::Query(bool scroll) const
{
	return "?" + plan_.PageQuery(windows_[window_], page_, scroll, scroll_id_);
}

void
RowSource::CheckBudget(const std::string &next) const
{
	long long api_calls = stats_.calls - stats_.tokens;
	// The call sent ahead is counted already: when it is the next one, it is not one more.
	if (!next.empty() && (Holds(ahead_, next) || Holds(spare_, next)))
		api_calls--;
	if (plan_.max_calls > 0 && api_calls >= plan_.max_calls)
		throw Error(sqlstate::kTooManyRequests,
		            "the scan of endpoint \"" + std::string(plan_.endpoint->name) + "\" reached max_calls (" +
		                std::to_string(plan_.max_calls) + " calls to the bank) before its answer was complete",
		            std::to_string(api_calls) + " calls were made; no partial answer is returned.",
		            "Narrow the date range, or raise the server option max_calls.");
}

void
RowSource::Parse(std::string &&body)
{
	rows_ = nullptr;
	next_row_ = 0;
	// A row page is parsed on the thread that received it (while the rows before it were
	// converted, when it was sent ahead).
	if (!ahead_ || ahead_->TakePage(answer_) != Prefetch::Taken::kPage)
		answer_.Parse(std::move(body), RowProjection().get());
	if (!answer_.Doc().IsObject())
		throw Error(sqlstate::kReplyHandle, "the bank's answer is not a JSON object");
}

bool
RowSource::FetchPage(Waiter &waiter)
{
	const EndpointDef &ep = *plan_.endpoint;
	if (plan_.empty)
		return false;
	if (plan_.by_key)
		return FetchKey(waiter);
	if (ep.paging == Paging::kPaginacao)
		return FetchListPage(waiter);
	if (ep.paging == Paging::kNone)
		return false;  // the planner never makes such a plan
	if (ep.paging == Paging::kSingle) {
		// Undated: one call. Dated (saldo per dataSaldo): one call per window, a single day each.
		bool dated = !plan_.date_param.empty();
		if (dated ? window_ >= plan_.windows.size() : single_done_)
			return false;
		single_done_ = true;
		std::string q = plan_.PageQuery(dated ? plan_.windows[window_] : Window{0, 0}, 0);
		CheckBudget();
		rows_ = nullptr;
		answer_.Release();  // the previous page's rows are used up
		HttpResponse r = GetPage(ep.http_path + (q.empty() ? "" : "?" + q), true, false, waiter);
		Parse(std::move(r.body));
		stats_.pages++;
		client_.CountPage(ep.http_path);
		CompleteRun();  // one call, one answer
		// Echo the asked-for parameters (and the echo-only fields) into the row when the
		// answer lacks them (saldo's dataSaldo), so quals on them recheck true.
		rapidjson::Document &doc = answer_.Doc();
		auto echo = [&doc](const std::string &k, const std::string &v) {
			if (!json::Find(doc, k))
				doc.AddMember(rapidjson::Value(k.c_str(), doc.GetAllocator()),
				              rapidjson::Value(v.c_str(), doc.GetAllocator()), doc.GetAllocator());
		};
		if (dated)
			echo(plan_.date_param, dates::Iso(plan_.windows[window_].first));
		for (const auto *fields : {&plan_.params, &plan_.echo})
			for (const auto &[k, v] : *fields)
				echo(k, v);
		window_++;
		rows_ = nullptr;
		return true;
	}

	// Statement: move to the next window when the current one is exhausted.
	bool opened;
	if (!NextWindow(&opened))
		return false;
	if (opened) {
		scroll_ = false;
		scroll_id_.clear();
	}

	for (;;) {
		// Scroll pages are not retried: the bank's cursor may already have moved.
		const std::string path = ep.http_path + Query(scroll_);
		CheckBudget(path);
		rows_ = nullptr;
		answer_.Release();  // the previous page's rows are used up
		if (!scroll_)
			SendAfter(path, waiter);
		HttpResponse r = scroll_ ? client_.Get(path, ep.scope, waiter, stats_, Retry::kOnce)
		                         : GetPage(path, page_ == 0, windows_[window_].last < plan_.closed_before, waiter);
		Parse(std::move(r.body));
		stats_.pages++;
		client_.CountPage(ep.http_path);
		const rapidjson::Document &doc = answer_.Doc();
		const rapidjson::Value *rows = json::Find(doc, ep.rows_key);
		if (rows && rows->IsNull())
			rows = nullptr;
		if (rows && !rows->IsArray())
			throw Error(sqlstate::kReplyHandle, std::string("the bank's answer has a non-array \"") + ep.rows_key + "\"");
		rapidjson::SizeType n = rows ? rows->Size() : 0;
		if (!scroll_) {
			long long total = Count(answer_.Doc(), "totalElementos");
			long long pages = Count(answer_.Doc(), "totalPaginas");
			bool last = json::GetBool(answer_.Doc(), "ultimaPagina", false);
			if (page_ == 0) {
				if (total >= 0 && total < n)
					total = -1;  // fewer than this very page: not a count to trust
				// Can pages reach the whole window? Without a usable total only when this page
				// is all there is, or totalPaginas bounds the window within the limit.
				bool reachable = total >= 0 ? total <= kTraditionalLimit
				                            : last || n < static_cast<rapidjson::SizeType>(plan_.page_size) ||
				                                  (pages >= 1 && pages <= kTraditionalLimit / plan_.page_size);
				if (!reachable) {
					std::vector<Window> parts = SplitForTotal(windows_[window_], total, kTraditionalLimit);
					AbandonRun();
					if (parts.size() > 1) {
						// Read it again as smaller windows, from the first one's first page.
						windows_.erase(windows_.begin() + window_);
						windows_.insert(windows_.begin() + window_, parts.begin(), parts.end());
						continue;
					}
					// A single day over the limit, or a window the bank does not count: only a
					// scroll reads it whole.
					AcquireScroll(waiter, total);
					scroll_ = true;
					continue;
				}
				window_total_ = total;
				window_rows_ = 0;
			} else if (total >= 0 && window_total_ >= 0 && total != window_total_) {
				throw Error(sqlstate::kReplyHandle,
				            "the bank's statement counted " + std::to_string(window_total_) + " transactions on its first page but " +
				                std::to_string(total) + " on page " + std::to_string(page_),
				            "Window " + WindowText(windows_[window_]) +
				                "; the statement changed while it was read. No partial answer is returned.",
				            "Run the query again.");
			}
			page_++;
			window_rows_ += n;
			window_done_ = last || n == 0 || (pages >= 0 && page_ >= pages);
			if (!window_done_ && static_cast<long long>(page_) * plan_.page_size >= kTraditionalLimit)
				throw Error(sqlstate::kReplyHandle,
				            "the bank's statement pages stop at 10 000 transactions, but this window has more",
				            "Window " + WindowText(windows_[window_]) + "; its first page counted " +
				                (total >= 0 ? std::to_string(total) : std::string("no")) + " transactions.");
			if (window_done_) {
				CheckWindowCount("statement", "Window " + WindowText(windows_[window_]));
				CompleteRun();
			}
		} else {
			ScrollPage(n);
		}
		rows_ = rows;
		return true;
	}
}

// A window read to its end must have given every row its first page counted.
void
RowSource::CheckWindowCount(const char *what, const std::string &where) const
{
	if (window_total_ < 0 || window_rows_ == window_total_)
		return;
	throw Error(sqlstate::kReplyHandle,
	            std::string("the bank's ") + what + " gave " + std::to_string(window_rows_) + " rows but counted " +
	                std::to_string(window_total_),
	            where + "; it may have changed while it was read. No partial answer is returned.",
	            "Run the query again.");
}

// One row by key per call; a key the bank does not know (404 with its error body) is no row.
bool
RowSource::FetchKey(Waiter &waiter)
{
	const EndpointDef &ep = *plan_.endpoint;
	while (!finished_ && key_ < plan_.keys.size()) {
		const std::string path = plan_.ItemPath(plan_.keys[key_++]);
		CheckBudget();
		CachedGet cached;
		HttpResponse r = client_.GetCached(path, ep.scope, waiter, stats_, Retry::kRead, cached);
		if (r.status == 404) {
			rapidjson::Document doc;
			if (!doc.Parse(r.body.c_str(), r.body.size()).HasParseError() && doc.IsObject())
				continue;  // the bank's "not found": no such row
		}
		if (r.status < 200 || r.status >= 300)
			throw HttpError(r, std::string("GET ") + ep.item_path_shown, ep.scope);
		Parse(std::move(r.body));
		stats_.pages++;
		client_.CountPage(path);
		client_.CompleteRun(path, ep.scope, cached.run);
		Rename(answer_.Doc());
		rows_ = nullptr;
		return true;
	}
	return false;
}

void
RowSource::Rename(rapidjson::Value &row) const
{
	for (const RenameDef &rn : plan_.endpoint->renames) {
		rapidjson::Value *obj = &row;
		if (rn.object) {
			auto it = row.FindMember(rn.object);
			if (it == row.MemberEnd() || !it->value.IsObject())
				continue;
			obj = &it->value;
		}
		if (obj->FindMember(rn.to) != obj->MemberEnd())
			continue;
		for (const char *from : rn.from) {
			auto it = obj->FindMember(from);
			if (it != obj->MemberEnd()) {
				it->name.SetString(rapidjson::StringRef(rn.to));  // the name only: the value stays the bank's
				break;
			}
		}
	}
}

// Moves on to the next window once the current one is done: false when there is none, and
// *opened when a window starts (its first page is next; the caller resets its own state).
bool
RowSource::NextWindow(bool *opened)
{
	*opened = false;
	if (finished_)
		return false;
	if (window_open_ && !window_done_)
		return true;
	if (window_open_)
		window_++;
	if (window_ >= windows_.size())
		return false;
	window_open_ = true;
	window_done_ = false;
	page_ = 0;
	window_total_ = -1;
	window_rows_ = 0;
	*opened = true;
	return true;
}

// API Pix lists: the pages of each window until quantidadeDePaginas, and every row the
// first page counted, or an error.
bool
RowSource::FetchListPage(Waiter &waiter)
{
	const EndpointDef &ep = *plan_.endpoint;
	bool opened;
	if (!NextWindow(&opened))
		return false;
	const std::string path = ep.http_path + Query(false);
	CheckBudget(path);
	HttpResponse r = GetPage(path, page_ == 0, false, waiter);
	Parse(std::move(r.body));
	stats_.pages++;
	client_.CountPage(ep.http_path);
	rapidjson::Document &doc = answer_.Doc();
	rapidjson::Value *rows = nullptr;
	auto it = doc.FindMember(ep.rows_key);
	if (it != doc.MemberEnd() && !it->value.IsNull()) {
		if (!it->value.IsArray())
			throw Error(sqlstate::kReplyHandle, std::string("the bank's answer has a non-array \"") + ep.rows_key + "\"");
		rows = &it->value;
	}
	rapidjson::SizeType n = rows ? rows->Size() : 0;
	const rapidjson::Value *params = json::Find(doc, "parametros");
	const rapidjson::Value *pag = params && params->IsObject() ? json::Find(*params, "paginacao") : nullptr;
	if (pag && !pag->IsObject())
		pag = nullptr;
	long long pages = pag ? Count(*pag, "quantidadeDePaginas") : -1;
	long long total = pag ? Count(*pag, "quantidadeTotalDeItens") : -1;
	if (page_ == 0)
		window_total_ = total;
	page_++;
	window_rows_ += n;
	const std::string where = std::string(ep.window_from) + "=" + dates::Iso(windows_[window_].first) + " " +
	                          ep.window_to + "=" + dates::Iso(windows_[window_].last + 1);
	// Without a page count, a short page is the last.
	window_done_ = n == 0 || (pages >= 0 ? page_ >= pages : n < static_cast<rapidjson::SizeType>(plan_.page_size));
	if (n == 0 && pages >= 0 && page_ < pages)
		throw Error(sqlstate::kReplyHandle,
		            "the bank's page " + std::to_string(page_ - 1) + " of " + std::to_string(pages) + " is empty",
		            "Window " + where + ".");
	if (window_done_)
		CheckWindowCount("list", "Window " + where);
	if (window_done_)
		CompleteRun();
	if (rows)
		for (auto &row : rows->GetArray())
			if (row.IsObject())
				Rename(row);
	rows_ = rows;
	return true;
}

HttpResponse
RowSource::GetPage(const std::string &path_and_query, bool first, bool closed, Waiter &waiter)
{
	const EndpointDef &ep = *plan_.endpoint;
	CachedGet cached;
	cached.closed = closed;
	cached.run = first ? 0 : run_;
	UseHeld(path_and_query);
	cached.ahead = Prepare(ahead_);
	HttpResponse r = client_.GetCached(path_and_query, ep.scope, waiter, stats_, Retry::kRead, cached);
	if (ahead_)
		client_.DropAhead(*ahead_);  // sent ahead for another request (which this one was not)
	if (r.status < 200 || r.status >= 300)
		throw HttpError(r, "GET " + std::string(ep.http_path), ep.scope);
	if (first)
		run_first_ = path_and_query;
	run_ = cached.run;
	return r;
}

void
RowSource::AbandonRun()
{
	if (run_ != 0 && !run_first_.empty())
		client_.AbandonRun(run_first_, plan_.endpoint->scope);
	run_ = 0;
}

void
RowSource::CompleteRun()
{
	client_.CompleteRun(run_first_, plan_.endpoint->scope, run_);
	run_ = 0;
}

bool
RowSource::Buffered() const
{
	if (plan_.empty || finished_)
		return true;
	if (plan_.by_key)
		return key_ >= plan_.keys.size();
	if (plan_.endpoint->paging == Paging::kPaginacao)
		return window_open_ && window_done_ && window_ + 1 >= windows_.size();
	if (plan_.endpoint->paging == Paging::kSingle)
		return plan_.date_param.empty() ? single_done_ : window_ >= plan_.windows.size();
	// The current page's rows may remain; after them, only a finished last window ends
	// without a call.
	return window_open_ && window_done_ && window_ + 1 >= windows_.size();
}

const rapidjson::Value *
RowSource::Next(Waiter &waiter)
{
	if (plan_.by_key || plan_.endpoint->paging == Paging::kSingle) {
		// One call, one row: the answer object itself.
		if (!FetchPage(waiter))
			return nullptr;
		return &answer_.Doc();
	}
	for (;;) {
		if (rows_ && next_row_ < rows_->Size()) {
			if (next_row_ == ahead_at_)
				SendAhead();
			return &(*rows_)[next_row_++];
		}
		// A scan that read a page to its end reads on: from then on the next request goes
		// ahead as soon as a page arrives; before, once half of the first page is read (a
		// LIMIT that stops early in it makes no call it does not use).
		streaming_ = streaming_ || (rows_ && rows_->Size() > 0);
		if (!FetchPage(waiter))
			return nullptr;
		ahead_at_ = rows_ && !streaming_ ? rows_->Size() / 2 : 0;
	}
}

// The request FetchPage will make next, sent ahead: the next page of this window or the
// first of the next window, for statement pages and API Pix lists. Nothing for scrolls
// (their next request is told by this page's scrollId, and is never repeated), lookups by
// key, single objects, or when max_calls leaves no call to spare.
void
RowSource::SendAhead()
{
	const EndpointDef &ep = *plan_.endpoint;
	if (finished_ || scroll_ || plan_.by_key || !window_open_ ||
	    (ep.paging != Paging::kStatement && ep.paging != Paging::kPaginacao))
		return;
	if (plan_.max_calls > 0 && stats_.calls - stats_.tokens >= plan_.max_calls)
		return;
	size_t w = window_;
	int page = page_;
	if (window_done_) {
		if (window_ + 1 >= windows_.size())
			return;
		w = window_ + 1;
		page = 0;
	}
	if (ep.paging == Paging::kStatement && page > 0 && static_cast<long long>(page) * plan_.page_size >= kTraditionalLimit)
		return;  // FetchPage refuses it
	const std::string path = std::string(ep.http_path) + "?" + plan_.PageQuery(windows_[w], page);
	if (Holds(spare_, path))
		return;  // sent already, after the page before it
	// (A request ahead_ holds already is kept for when it comes up: BankClient::SendAhead
	// sends nothing then.)
	if (Prepare(ahead_))
		client_.SendAhead(*ahead_, path, ep.scope, stats_, page == 0 ? 0 : run_);
}

Prefetch *
RowSource::Prepare(std::unique_ptr<Prefetch> &pf)
{
	if (!pf)
		pf = client_.BorrowPrefetch();
	if (!pf)
		return nullptr;
	const EndpointDef &ep = *plan_.endpoint;
	pf->projection = RowProjection();
	pf->head_stop = ep.paging == Paging::kStatement ? ep.rows_key : "";
	return pf.get();
}

bool
RowSource::Holds(const std::unique_ptr<Prefetch> &pf, const std::string &path) const
{
	return pf && pf->Held() && pf->Url() == client_.Config().base_url + path;
}

void
RowSource::UseHeld(const std::string &path)
{
	if (!Holds(ahead_, path) && Holds(spare_, path))
		std::swap(ahead_, spare_);
}

void
RowSource::SendAfter(const std::string &path, Waiter &waiter)
{
	UseHeld(path);
	// Only while the scan would wait for the page: when it is parsed already, the request
	// after it goes once it is read (SendAhead), as without this.
	if (finished_ || !Holds(ahead_, path) || ahead_->Ready() || (spare_ && spare_->Held()))
		return;
	// A third page in memory only when pages are mostly text: their trees keep a few columns
	// (Projection). Whole rows' trees are as big as their text, and the scan then converts
	// rows more slowly than pages come: there is no wait to fill.
	if (answer_.TreeBytes() > answer_.TextBytes() / 4)
		return;
	if (plan_.max_calls > 0 && stats_.calls - stats_.tokens >= plan_.max_calls)
		return;
	const rapidjson::Document *head = nullptr;
	try {
		head = ahead_->WaitReceived(waiter);
	} catch (...) {
		client_.DropAhead(*ahead_);  // stopped, and its fetch claim released
		throw;
	}
	std::string next = head ? NextAfter(*head) : std::string();
	if (next.empty())
		return;
	if (Prepare(spare_))
		client_.SendAhead(*spare_, next, plan_.endpoint->scope, stats_, 0);
}

std::string
RowSource::NextAfter(const rapidjson::Document &head) const
{
	if (!json::Find(head, "totalElementos") || !json::Find(head, "totalPaginas") || !json::Find(head, "ultimaPagina"))
		return {};
	long long total = Count(head, "totalElementos");
	long long pages = Count(head, "totalPaginas");
	bool last = json::GetBool(head, "ultimaPagina", false);
	if (total < 0 || pages < 0)
		return {};
	const std::string path = std::string(plan_.endpoint->http_path) + "?";
	if (page_ == 0 && total > kTraditionalLimit) {
		// FetchPage splits the window and reads its first part next.
		std::vector<Window> parts = SplitForTotal(windows_[window_], total, kTraditionalLimit);
		return parts.size() > 1 ? path + plan_.PageQuery(parts[0], 0) : std::string();
	}
	// Done with this page (as FetchPage tells it with a consistent count): the next window's
	// first page. Another page of this window is sent once this one is read.
	if (!(last || page_ + 1 >= pages) || window_ + 1 >= windows_.size())
		return {};
	return path + plan_.PageQuery(windows_[window_ + 1], 0);
}

RowExtractor::RowExtractor(std::vector<ColumnSpec> columns)
    : columns_(std::move(columns)), scratch_(columns_.size()), nodes_(1), found_(columns_.size())
{
	for (size_t i = 0; i < columns_.size(); i++) {
		const std::vector<std::string> &path = columns_[i].path;
		int node = 0;
		for (size_t k = 0; k < path.size(); k++) {
			Node *n = &nodes_[node];
			size_t j = std::find(n->keys.begin(), n->keys.end(), path[k]) - n->keys.begin();
			if (j == n->keys.size()) {
				n->keys.push_back(path[k]);
				n->child.push_back(-1);
				n->ends.emplace_back();
				n->seen.push_back(0);
			}
			if (k + 1 == path.size()) {
				n->ends[j].push_back(i);
				break;
			}
			if (n->child[j] < 0) {
				n->child[j] = static_cast<int>(nodes_.size());
				nodes_.emplace_back();  // invalidates n
			}
			node = nodes_[node].child[j];
		}
	}
}

json::Projection
RowExtractor::MakeProjection(const char *rows_key, const std::vector<RenameDef> &renames) const
{
	json::Projection p;
	if (!rows_key)
		return p;  // no rows: nothing to leave out
	p.rows_key = rows_key;
	p.nodes.resize(nodes_.size());
	for (size_t i = 0; i < nodes_.size(); i++) {
		const Node &n = nodes_[i];
		p.nodes[i].keys = n.keys;
		for (size_t j = 0; j < n.keys.size(); j++)  // a column's own value is kept whole
			p.nodes[i].child.push_back(n.ends[j].empty() ? n.child[j] : json::Projection::kWhole);
	}
	// A member renamed into a kept name (Rename, after the parse) is kept under its own names.
	for (const RenameDef &rn : renames) {
		int node = 0;
		if (rn.object) {
			const Node &row = nodes_[0];
			auto it = std::find(row.keys.begin(), row.keys.end(), rn.object);
			size_t j = it - row.keys.begin();
			if (it == row.keys.end() || p.nodes[0].child[j] < 0)
				continue;  // not kept, or kept whole
			node = p.nodes[0].child[j];
		}
		json::Projection::Node &n = p.nodes[node];
		auto it = std::find(n.keys.begin(), n.keys.end(), rn.to);
		if (it == n.keys.end())
			continue;
		int child = n.child[it - n.keys.begin()];
		for (const char *from : rn.from) {
			n.keys.push_back(from);
			n.child.push_back(child);
		}
	}
	return p;
}

namespace {
const char *
KindOf(const rapidjson::Value &v, const json::Page &page)
{
	return v.IsObject() ? "an object" : v.IsArray() ? "an array" : v.IsNull() ? "null" : v.IsBool() ? "a boolean"
	       : page.IsNumber(v)                    ? "a number"
	                                             : "a string";
}
}  // namespace

// Walks an object along the columns' paths. A field on the way to a column that is there but
// is neither an object nor null is an error: reading its columns as NULL would be a wrong answer.
void
RowExtractor::Walk(int index, const rapidjson::Value &v, const json::Page &page)
{
	if (!v.IsObject())
		return;
	Node &node = nodes_[index];
	size_t left = node.keys.size();
	std::fill(node.seen.begin(), node.seen.end(), 0);
	for (auto m = v.MemberBegin(); m != v.MemberEnd() && left > 0; ++m) {
		size_t j = json::FindKey(node.keys, m->name.GetString(), m->name.GetStringLength());
		if (j == node.keys.size() || node.seen[j])
			continue;  // not a column's, or not the first member of its name
		node.seen[j] = 1;
		left--;
		for (size_t c : node.ends[j])
			found_[c] = &m->value;
		if (node.child[j] >= 0) {
			if (!m->value.IsObject() && !m->value.IsNull())
				throw Error(sqlstate::kReplyHandle,
				            "the bank's answer has a field \"" + node.keys[j] + "\" that is not a JSON object",
				            std::string("Found ") + KindOf(m->value, page) + " where an object with fields is expected.");
			Walk(node.child[j], m->value, page);  // `node` stays valid: nodes_ is fixed after construction
		}
	}
}

std::vector<std::string>
RowExtractor::SplitPath(const std::string &path)
{
	std::vector<std::string> parts;
	size_t start = 0;
	while (start <= path.size()) {
		size_t dot = path.find('.', start);
		if (dot == std::string::npos)
			dot = path.size();
		parts.push_back(path.substr(start, dot - start));
		start = dot + 1;
	}
	return parts;
}

void
RowExtractor::Extract(const rapidjson::Value &row, const json::Page &page, std::vector<Cell> &out)
{
	if (!row.IsObject())
		throw Error(sqlstate::kReplyHandle, "the bank's answer has a row that is not a JSON object",
		            std::string("Found ") + KindOf(row, page) + " where a row is expected.");
	out.resize(columns_.size());
	std::fill(found_.begin(), found_.end(), nullptr);
	Walk(0, row, page);
	for (size_t i = 0; i < columns_.size(); i++) {
		Cell &cell = out[i];
		cell = Cell{};
		const ColumnSpec &spec = columns_[i];
		if (spec.path.empty())
			continue;
		const rapidjson::Value *v = found_[i];
		if (!v || v->IsNull())
			continue;
		if (spec.tree) {
			cell.value = v;
			cell.null = false;
			continue;
		}
		std::string &s = scratch_[i];
		if (spec.json || v->IsObject() || v->IsArray()) {
			page.Serialize(*v, s);
		} else if (v->IsString()) {
			if (page.IsNumber(*v)) {
				// The bank's digits, copied: in the page they are not NUL-terminated.
				s.assign(v->GetString(), v->GetStringLength());
			} else {
				cell.data = v->GetString();
				cell.len = v->GetStringLength();
				cell.null = false;
				continue;
			}
		} else if (v->IsBool()) {
			s = v->GetBool() ? "true" : "false";
		} else {
			page.Serialize(*v, s);  // a number added after parsing (none today)
		}
		cell.data = s.c_str();
		cell.len = s.size();
		cell.null = false;
	}
}

}  // namespace pix
