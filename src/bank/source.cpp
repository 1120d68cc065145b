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

std::vector<std::string>
RequestPlan::FirstQueries() const
{
	std::vector<std::string> out;
	if (empty)
		return out;
	std::string tail;
	if (endpoint->paging == Paging::kStatement)
		tail += "&tamanhoPagina=" + std::to_string(page_size);
	for (const auto &[k, v] : params)
		tail += "&" + k + "=" + UrlEncode(v);
	if (endpoint->max_window_days > 0) {
		for (const Window &w : windows)
			out.push_back("dataInicio=" + dates::Iso(w.first) + "&dataFim=" + dates::Iso(w.last) + tail);
	} else {
		out.push_back(tail.empty() ? std::string() : tail.substr(1));
	}
	return out;
}

RowSource::RowSource(BankClient &client, RequestPlan plan, CallStats &stats)
    : client_(client), plan_(std::move(plan)), stats_(stats)
{
}

std::string
RowSource::Query(bool scroll) const
{
	const Window &w = plan_.windows[window_];
	std::string q = "?dataInicio=" + dates::Iso(w.first) + "&dataFim=" + dates::Iso(w.last);
	if (scroll)
		q += scroll_id_.empty() ? "&scrollEnabled=true" : "&scrollId=" + UrlEncode(scroll_id_);
	else
		q += "&pagina=" + std::to_string(page_);
	q += "&tamanhoPagina=" + std::to_string(plan_.page_size);
	for (const auto &[k, v] : plan_.params)
		q += "&" + k + "=" + UrlEncode(v);
	return q;
}

void
RowSource::Parse(std::string &&body)
{
	rows_ = nullptr;
	next_row_ = 0;
	answer_.Parse(std::move(body));
	if (!answer_.Doc().IsObject())
		throw Error(sqlstate::kReplyHandle, "the bank's answer is not a JSON object");
}

bool
RowSource::FetchPage(Waiter &waiter)
{
	const EndpointDef &ep = *plan_.endpoint;
	if (plan_.empty)
		return false;
	if (ep.paging == Paging::kSingle) {
		single_done_ = true;
		std::string q;
		for (const auto &[k, v] : plan_.params)
			q += (q.empty() ? "?" : "&") + k + "=" + UrlEncode(v);
		HttpResponse r = client_.Get(ep.http_path + q, ep.scope, waiter, stats_);
		Parse(std::move(r.body));
		stats_.pages++;
		rapidjson::Document &doc = answer_.Doc();
		// Echo the asked-for parameters (and the echo-only fields) into the row when the
		// answer lacks them (saldo's dataSaldo), so quals on them recheck true.
		for (const auto *fields : {&plan_.params, &plan_.echo}) {
			for (const auto &[k, v] : *fields) {
				if (!json::Find(doc, k))
					doc.AddMember(rapidjson::Value(k.c_str(), doc.GetAllocator()),
					               rapidjson::Value(v.c_str(), doc.GetAllocator()), doc.GetAllocator());
			}
		}
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
		HttpResponse r = client_.Get(ep.http_path + Query(scroll_), ep.scope, waiter, stats_,
		                             scroll_ ? Retry::kNever : Retry::kIdempotent);
		Parse(std::move(r.body));
		stats_.pages++;
		const rapidjson::Document &doc = answer_.Doc();
		const rapidjson::Value *rows = json::Find(doc, ep.rows_key);
		if (rows && rows->IsNull())
			rows = nullptr;
		if (rows && !rows->IsArray())
			throw Error(sqlstate::kReplyHandle, std::string("the bank's answer has a non-array \"") + ep.rows_key + "\"");
		rapidjson::SizeType n = rows ? rows->Size() : 0;
		if (!scroll_) {
			long long total = json::GetInt(doc, "totalElementos", -1);
			if (page_ == 0 && total > kTraditionalLimit) {
				// More than the pages can reach: read this window again in scroll mode.
				scroll_ = true;
				continue;
			}
			long long pages = json::GetInt(doc, "totalPaginas", -1);
			bool last = json::GetBool(doc, "ultimaPagina", false);
			page_++;
			window_done_ = last || n == 0 || (pages >= 0 && page_ >= pages) ||
			               static_cast<long long>(page_) * plan_.page_size >= kTraditionalLimit;
		} else {
			const rapidjson::Value *id = json::Find(doc, "scrollId");
			scroll_id_ = id && id->IsString() ? std::string(id->GetString(), id->GetStringLength()) : "";
			bool more = json::GetBool(doc, "hasMore", false);
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
		if (single_done_ || !FetchPage(waiter))
			return nullptr;
		return &answer_.Doc();
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
RowExtractor::Extract(const rapidjson::Value &row, const json::Page &page, std::vector<Cell> &out)
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
