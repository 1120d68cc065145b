// Statement paging (traditional pages, scroll past 10 000 rows), single-object endpoints,
// and the JSON-to-text cell extraction.
#include "bank/source.hpp"

#include "bank/error.hpp"

#include <algorithm>
#include <charconv>

namespace pix {

namespace {

constexpr long long kTraditionalLimit = 10000;  // rows reachable with pagina/tamanhoPagina

}  // namespace

std::vector<Window>
SplitWindow(dates::Day first, dates::Day last, int max_days)
{
	std::vector<Window> out;
	for (dates::Day start = first; start <= last; start += max_days)
		out.push_back(Window{start, std::min<dates::Day>(last, start + max_days - 1)});
	return out;
}

std::string
RequestPlan::PageQuery(size_t window, int page, bool scroll, const std::string &scroll_id) const
{
	std::string q;
	auto add = [&q](const std::string &k, const std::string &v) {
		q += (q.empty() ? "" : "&") + k + "=" + UrlEncode(v);
	};
	if (endpoint->paging == Paging::kStatement) {
		const Window &w = windows.at(window);
		add("dataInicio", dates::Iso(w.first));
		add("dataFim", dates::Iso(w.last));
		if (scroll)
			q += scroll_id.empty() ? "&scrollEnabled=true" : "&scrollId=" + UrlEncode(scroll_id);
		else
			add("pagina", std::to_string(page));
		add("tamanhoPagina", std::to_string(page_size));
	} else if (!date_param.empty() && window < windows.size()) {
		add(date_param, dates::Iso(windows[window].first));
	}
	for (const auto &[k, v] : params)
		add(k, v);
	return q;
}

std::vector<std::string>
RequestPlan::FirstQueries() const
{
	std::vector<std::string> out;
	if (empty)
		return out;
	if (endpoint->paging == Paging::kStatement || !date_param.empty()) {
		for (size_t i = 0; i < windows.size(); i++)
			out.push_back(PageQuery(i, 0));
	} else {
		out.push_back(PageQuery(0, 0));
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

RowSource::RowSource(BankClient &client, RequestPlan plan, CallStats &stats)
    : client_(client), plan_(std::move(plan)), stats_(stats)
{
}

std::string
RowSource::Query(bool scroll) const
{
	return "?" + plan_.PageQuery(window_, page_, scroll, scroll_id_);
}

void
RowSource::CheckBudget() const
{
	long long api_calls = stats_.calls - stats_.tokens;
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
	body_ = std::move(body);
	doc_.SetNull();
	doc_.GetAllocator().Clear();
	if (doc_.ParseInsitu(body_.data()).HasParseError())
		throw Error(sqlstate::kReplyHandle, "the bank's answer is not valid JSON",
		            std::string(rapidjson::GetParseError_En(doc_.GetParseError())) + " at offset " +
		                std::to_string(doc_.GetErrorOffset()));
	if (!doc_.IsObject())
		throw Error(sqlstate::kReplyHandle, "the bank's answer is not a JSON object");
}

bool
RowSource::FetchPage(Waiter &waiter)
{
	const EndpointDef &ep = *plan_.endpoint;
	if (plan_.empty)
		return false;
	if (ep.paging == Paging::kSingle) {
		// Undated: one call. Dated (saldo per dataSaldo): one call per window, a single day each.
		bool dated = !plan_.date_param.empty();
		if (dated ? window_ >= plan_.windows.size() : single_done_)
			return false;
		single_done_ = true;
		std::string q = plan_.PageQuery(window_, 0);
		CheckBudget();
		HttpResponse r = client_.Get(ep.http_path + (q.empty() ? "" : "?" + q), ep.scope, waiter, stats_);
		Parse(std::move(r.body));
		stats_.pages++;
		// Echo the asked-for parameters (and the echo-only fields) into the row when the
		// answer lacks them (saldo's dataSaldo), so quals on them recheck true.
		auto echo = [this](const std::string &k, const std::string &v) {
			if (!json::Find(doc_, k))
				doc_.AddMember(rapidjson::Value(k.c_str(), doc_.GetAllocator()),
				               rapidjson::Value(v.c_str(), doc_.GetAllocator()), doc_.GetAllocator());
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
	for (;;) {
		if (window_open_ && !window_done_)
			break;
		if (window_open_)
			window_++;
		if (window_ >= plan_.windows.size())
			return false;
		window_open_ = true;
		window_done_ = false;
		page_ = 0;
		scroll_ = false;
		scroll_id_.clear();
	}

	for (;;) {
		// Scroll pages are not retried: the bank's cursor may already have moved.
		CheckBudget();
		HttpResponse r = client_.Get(ep.http_path + Query(scroll_), ep.scope, waiter, stats_,
		                             scroll_ ? Retry::kNever : Retry::kIdempotent);
		Parse(std::move(r.body));
		stats_.pages++;
		const rapidjson::Value *rows = json::Find(doc_, ep.rows_key);
		if (rows && rows->IsNull())
			rows = nullptr;
		if (rows && !rows->IsArray())
			throw Error(sqlstate::kReplyHandle, std::string("the bank's answer has a non-array \"") + ep.rows_key + "\"");
		rapidjson::SizeType n = rows ? rows->Size() : 0;
		if (!scroll_) {
			long long total = json::GetInt(doc_, "totalElementos", -1);
			if (page_ == 0 && total > kTraditionalLimit) {
				// More than the pages can reach: read this window again in scroll mode.
				scroll_ = true;
				continue;
			}
			long long pages = json::GetInt(doc_, "totalPaginas", -1);
			bool last = json::GetBool(doc_, "ultimaPagina", false);
			page_++;
			window_done_ = last || n == 0 || (pages >= 0 && page_ >= pages) ||
			               static_cast<long long>(page_) * plan_.page_size >= kTraditionalLimit;
		} else {
			const rapidjson::Value *id = json::Find(doc_, "scrollId");
			scroll_id_ = id && id->IsString() ? id->GetString() : "";
			bool more = json::GetBool(doc_, "hasMore", false);
			window_done_ = !more || scroll_id_.empty() || n == 0;
		}
		rows_ = rows;
		return true;
	}
}

const rapidjson::Value *
RowSource::Next(Waiter &waiter)
{
	if (plan_.endpoint->paging == Paging::kSingle) {
		// One call, one row: the answer object itself.
		if (!FetchPage(waiter))
			return nullptr;
		return &doc_;
	}
	for (;;) {
		if (rows_ && next_row_ < rows_->Size())
			return &(*rows_)[next_row_++];
		if (!FetchPage(waiter))
			return nullptr;
	}
}

RowExtractor::RowExtractor(std::vector<ColumnSpec> columns)
    : columns_(std::move(columns)), scratch_(columns_.size())
{
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
RowExtractor::Extract(const rapidjson::Value &row, std::vector<Cell> &out)
{
	out.resize(columns_.size());
	for (size_t i = 0; i < columns_.size(); i++) {
		Cell &cell = out[i];
		cell = Cell{};
		const ColumnSpec &spec = columns_[i];
		if (spec.path.empty())
			continue;
		const rapidjson::Value *v = &row;
		for (const std::string &key : spec.path) {
			v = json::Find(*v, key);
			if (!v)
				break;
		}
		if (!v || v->IsNull())
			continue;
		std::string &s = scratch_[i];
		if (spec.json || v->IsObject() || v->IsArray()) {
			json::Serialize(*v, s);
		} else if (v->IsString()) {
			cell.data = v->GetString();
			cell.len = v->GetStringLength();
			cell.null = false;
			continue;
		} else if (v->IsBool()) {
			s = v->GetBool() ? "true" : "false";
		} else if (v->IsInt64()) {
			s = std::to_string(v->GetInt64());
		} else if (v->IsUint64()) {
			s = std::to_string(v->GetUint64());
		} else {
			// Shortest text that reads back as the same double: for amounts with up to 15
			// significant digits this is exactly the decimal the bank wrote.
			json::Serialize(*v, s);
		}
		cell.data = s.c_str();
		cell.len = s.size();
		cell.null = false;
	}
}

}  // namespace pix
