// A scan's request plan (windows and parameters, computed once per execution) and the row
// source that walks it page by page, holding at most one page in memory.
#pragma once
#include "bank/cpp_only.hpp"

#include "bank/catalog.hpp"
#include "bank/client.hpp"
#include "bank/dates.hpp"
#include "bank/json.hpp"

#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pix {

struct Window {
	dates::Day first;
	dates::Day last;
	bool
	operator==(const Window &o) const
	{
		return first == o.first && last == o.last;
	}
};

// Splits [first, last] into consecutive windows of at most max_days days (both ends counted).
std::vector<Window> SplitWindow(dates::Day first, dates::Day last, int max_days);

// The parts a multi-day window with `total` transactions is read as when that is more than
// `limit` (what pages reach): about total / (0.8 limit) windows of near-equal days, at least
// two and at most one per day. A single day is returned whole (it needs a scroll).
std::vector<Window> SplitForTotal(const Window &w, long long total, long long limit);

struct RequestPlan {
	const EndpointDef *endpoint = nullptr;
	bool empty = false;                                       // contradictory quals: no call at all
	std::vector<Window> windows;                              // dated endpoints
	std::vector<std::pair<std::string, std::string>> params;  // equality parameters
	// Fields added to each row without being sent (saldo without dataSaldo is today's).
	std::vector<std::pair<std::string, std::string>> echo;
	int page_size = 0;
	// Single-object endpoints asked per date (saldo's dataSaldo): one call per window, each a
	// single day, with this parameter set to it. Empty: the endpoint is not dated that way.
	std::string date_param;
	long long max_calls = 0;  // API calls the scan may make in all (0: no limit)
	// Rows by key (the endpoint's kPathKey): one GET of item_path per key, in this order;
	// a key the bank does not know (404) is no row. Windows are then not used.
	bool by_key = false;
	std::vector<std::string> keys;
	// Days before this one are closed (before today in Brasília): a statement window of only
	// such days is kept in the result cache for cache_ttl_closed. Not part of the request.
	dates::Day closed_before = std::numeric_limits<dates::Day>::min();

	// The path of the lookup of `key` (by_key plans).
	std::string ItemPath(const std::string &key) const;

	// The query string (without '?') of page `page` of window `w`, or of the scroll
	// continuing `scroll_id` (scroll: first scroll page when scroll_id is empty). The one
	// builder of requests: RowSource sends these and EXPLAIN shows them.
	std::string PageQuery(const Window &w, int page, bool scroll = false, const std::string &scroll_id = {}) const;
	// The query string of each first request, in order (EXPLAIN shows these).
	std::vector<std::string> FirstQueries() const;
	// Identifies the request for replays within a statement.
	std::string Key() const;
	bool
	operator==(const RequestPlan &o) const
	{
		return endpoint == o.endpoint && empty == o.empty && windows == o.windows && params == o.params &&
		       echo == o.echo && page_size == o.page_size && date_param == o.date_param && by_key == o.by_key &&
		       keys == o.keys;
	}
};

// Streams the rows of a plan. Next() returns the next row object (valid until the
// following call) or nullptr at the end.
//
// A statement window whose first page counts more than the 10 000 rows pages reach is read
// again as smaller windows; only a single such day is read with the bank's scroll, of which
// there is one per account (see HeldScroll). A scan that stops early must call Finish().
class RowSource {
public:
	// projection (may be null): what the trees of row pages keep (RowExtractor::MakeProjection).
	RowSource(BankClient &client, RequestPlan plan, CallStats &stats,
	          std::shared_ptr<const json::Projection> projection = nullptr);
	~RowSource();
	RowSource(const RowSource &) = delete;
	RowSource &operator=(const RowSource &) = delete;
	const rapidjson::Value *Next(Waiter &waiter);
	// Ends the scan early (LIMIT, a rescan that discards it, the end of the statement):
	// reads an unfinished scroll to its end, as that is the only way to free the account's
	// scroll for everyone else. Next() returns nullptr afterwards. Errors other than an
	// interrupt are not raised: the scroll is then freed by this backend's next scroll, or
	// expires 6 minutes after its last request.
	void Finish(Waiter &waiter);
	// True when the rest of this pass is already in memory: reading it to its end makes no
	// further call to the bank.
	bool Buffered() const;
	// The page the last row came from (tells its numbers from its strings).
	const json::Page &
	CurrentPage() const
	{
		return answer_;
	}

private:
	bool FetchPage(Waiter &waiter);
	std::string Query(bool scroll) const;
	// Throws when the plan's max_calls is used up before the call of path_and_query `next`
	// (empty: not a call that can have been sent ahead).
	void CheckBudget(const std::string &next = {}) const;
	void Parse(std::string &&body);
	// The projection for this plan's pages, or nullptr when they are single objects.
	const std::shared_ptr<const json::Projection> &RowProjection() const;
	void AcquireScroll(Waiter &waiter, long long total);
	void ScrollPage(rapidjson::SizeType n);
	bool FetchKey(Waiter &waiter);
	bool FetchListPage(Waiter &waiter);
	bool NextWindow(bool *opened);
	void Rename(rapidjson::Value &row) const;
	// A GET of a row page through the result cache; non-2xx answers are thrown (Get's).
	HttpResponse GetPage(const std::string &path_and_query, bool first, bool closed, Waiter &waiter);
	void CompleteRun();
	void AbandonRun();  // the current window's run will not be completed
	void CheckWindowCount(const char *what, const std::string &where) const;
	// Sends the request the next FetchPage will make ahead, when there is one that can be told now.
	void SendAhead();
	// The page of `path` is awaited from the thread: once its answer is received, and before
	// its page is parsed, sends the request after it when the answer's counts tell it.
	void SendAfter(const std::string &path, Waiter &waiter);
	// The request FetchPage makes after the statement page of window_, page_ whose answer
	// begins with `head` (json::ReadHead), when that is the first page of a window; empty when
	// it is another page, a scroll, the end, or the counts are not all there.
	std::string NextAfter(const rapidjson::Document &head) const;
	// Makes ahead_ the prefetch that holds base URL + path, when spare_ does.
	void UseHeld(const std::string &path);
	// pf (borrowed when it is null) set up to receive this plan's pages; nullptr when no
	// prefetch can be had (the caller then sends its request itself).
	Prefetch *Prepare(std::unique_ptr<Prefetch> &pf);
	// A prefetch holds base URL + path.
	bool Holds(const std::unique_ptr<Prefetch> &pf, const std::string &path) const;

	BankClient &client_;
	RequestPlan plan_;
	CallStats &stats_;
	std::vector<Window> windows_;  // plan_.windows, with those over 10 000 rows split
	size_t window_ = 0;       // index of the current window
	bool window_open_ = false;
	bool window_done_ = false;
	int page_ = 0;
	bool scroll_ = false;
	std::string scroll_id_;
	std::string account_;     // set while this source holds the account's scroll
	long long scroll_total_ = -1;  // totalElementos of the scroll's first page, -1 unknown
	long long scroll_rows_ = 0;    // rows the scroll gave so far
	int empty_pages_ = 0;     // consecutive scroll pages without rows
	bool finished_ = false;
	json::Page answer_;        // the current page (parsed in situ, numbers exact)
	const rapidjson::Value *rows_ = nullptr;
	rapidjson::SizeType next_row_ = 0;
	bool single_done_ = false;
	size_t key_ = 0;                // by_key: the next key to look up
	long long window_total_ = -1;   // the rows the window's first page counted (totalElementos,
	                                // quantidadeTotalDeItens), -1 unknown
	long long window_rows_ = 0;     // rows the window's pages gave so far
	std::string run_first_;         // the current window's first page (result cache)
	long long run_ = 0;             // the cache run of the current window's pages, 0 none
	std::shared_ptr<const json::Projection> projection_;  // for pages of rows (not single objects)
	std::unique_ptr<Prefetch> ahead_;  // the thread that receives and parses the row pages
	// A second one, for the request after the one ahead_ holds (SendAfter). A request it holds
	// that turns out not to be the next one is kept for when it comes up: never sent twice.
	std::unique_ptr<Prefetch> spare_;
	rapidjson::SizeType ahead_at_ = 0;  // the row of the current page at which to send it
	bool streaming_ = false;            // a page was read to its end
};

struct Cell {
	const char *data = nullptr;  // NUL-terminated UTF-8 as the bank sent it (unvalidated),
	                             // valid until the next Extract
	size_t len = 0;
	bool null = true;
	// Set instead of data/len for a tree column: the value itself, in the current page
	// (valid until the next Extract).
	const rapidjson::Value *value = nullptr;
};

struct ColumnSpec {
	std::vector<std::string> path;  // empty: column not needed by the query
	bool json = false;              // wants JSON text (json columns)
	bool tree = false;              // wants the value itself (jsonb columns build from it)
};

// Turns a row object of a page into one text cell per column. A JSON number is its own
// text as the bank wrote it (every digit); in JSON cells it stays an unquoted number.
class RowExtractor {
public:
	explicit RowExtractor(std::vector<ColumnSpec> columns);
	void Extract(const rapidjson::Value &row, const json::Page &page, std::vector<Cell> &out);
	static std::vector<std::string> SplitPath(const std::string &path);
	// What a page's tree must keep of the rows under rows_key for Extract to find what it
	// would find in the whole page: the columns' paths (a column's value whole), and the
	// names `renames` turn into a kept one.
	json::Projection MakeProjection(const char *rows_key, const std::vector<RenameDef> &renames) const;

private:
	// The columns' paths as a tree: one pass over each object's members finds them all (the
	// first member of a name counts, as json::Find's).
	struct Node {
		std::vector<std::string> keys;
		std::vector<int> child;                   // per key: the node below it, -1 none
		std::vector<std::vector<size_t>> ends;    // per key: the columns whose path ends there
		std::vector<char> seen;                   // per key, during one object
	};
	void Walk(int node, const rapidjson::Value &v, const json::Page &page);

	std::vector<ColumnSpec> columns_;
	std::vector<std::string> scratch_;
	std::vector<Node> nodes_;                     // nodes_[0] is the row object
	std::vector<const rapidjson::Value *> found_;  // per column, in the current row
};

}  // namespace pix
