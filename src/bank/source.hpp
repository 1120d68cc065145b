// A scan's request plan (windows and parameters, computed once per execution) and the row
// source that walks it page by page, holding at most one page in memory.
#pragma once
#include "bank/cpp_only.hpp"

#include "bank/catalog.hpp"
#include "bank/client.hpp"
#include "bank/dates.hpp"
#include "bank/json.hpp"

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

struct RequestPlan {
	const EndpointDef *endpoint = nullptr;
	bool empty = false;                                       // contradictory quals: no call at all
	std::vector<Window> windows;                              // dated endpoints
	std::vector<std::pair<std::string, std::string>> params;  // equality parameters
	// Fields added to each row without being sent (saldo without dataSaldo is today's).
	std::vector<std::pair<std::string, std::string>> echo;
	int page_size = 0;

	// The query string of each first request, in order (EXPLAIN shows these).
	std::vector<std::string> FirstQueries() const;
	bool
	operator==(const RequestPlan &o) const
	{
		return endpoint == o.endpoint && empty == o.empty && windows == o.windows && params == o.params &&
		       echo == o.echo && page_size == o.page_size;
	}
};

// Streams the rows of a plan. Next() returns the next row object (valid until the
// following call) or nullptr at the end.
class RowSource {
public:
	RowSource(BankClient &client, RequestPlan plan, CallStats &stats);
	const rapidjson::Value *Next(Waiter &waiter);
	// The page the last row came from (tells its numbers from its strings).
	const json::Page &
	CurrentPage() const
	{
		return answer_;
	}

private:
	bool FetchPage(Waiter &waiter);
	std::string Query(bool scroll) const;
	void Parse(std::string &&body);

	BankClient &client_;
	RequestPlan plan_;
	CallStats &stats_;
	size_t window_ = 0;       // index of the current window
	bool window_open_ = false;
	bool window_done_ = false;
	int page_ = 0;
	bool scroll_ = false;
	std::string scroll_id_;
	json::Page answer_;        // the current page (parsed in situ, numbers exact)
	const rapidjson::Value *rows_ = nullptr;
	rapidjson::SizeType next_row_ = 0;
	bool single_done_ = false;
};

struct Cell {
	const char *data = nullptr;  // NUL-terminated UTF-8 as the bank sent it (unvalidated),
	                             // valid until the next Extract
	size_t len = 0;
	bool null = true;
};

struct ColumnSpec {
	std::vector<std::string> path;  // empty: column not needed by the query
	bool json = false;              // wants JSON text (jsonb columns)
};

// Turns a row object of a page into one text cell per column. A JSON number is its own
// text as the bank wrote it (every digit); in JSON cells it stays an unquoted number.
class RowExtractor {
public:
	explicit RowExtractor(std::vector<ColumnSpec> columns);
	void Extract(const rapidjson::Value &row, const json::Page &page, std::vector<Cell> &out);
	static std::vector<std::string> SplitPath(const std::string &path);

private:
	std::vector<ColumnSpec> columns_;
	std::vector<std::string> scratch_;
};

}  // namespace pix
