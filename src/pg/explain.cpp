// EXPLAIN: the endpoint, the requests exactly as they are sent, the calls planned, and with
// ANALYZE the calls, pages and bytes.
#include "pg/scan.hpp"

#include "pg/guard.hpp"

namespace pix::pg {

void
Explain(ForeignScanState *node, ExplainState *es)
{
	ScanState *s = static_cast<ScanState *>(node->fdw_state);
	ExplainPropertyText("Pix Endpoint",
	                    psprintf("GET %s", s->has_keys ? s->endpoint->item_path_shown : s->endpoint->http_path), es);
	bool known = s->planned || ComputeRequest(node, s, true);
	if (!known) {
		ExplainPropertyText("Pix Requests", "computed at execution", es);
	} else if (s->runs.error) {
		// What execution would report; EXPLAIN itself never fails for it.
		ExplainPropertyText("Pix Requests", psprintf("none: %s", s->runs.error), es);
	} else {
		constexpr int kShown = 20;
		int n = CppGuard([&] { return static_cast<int>(s->cpp->queries.size()); });
		List *items = NIL;
		for (int i = 0; i < n && i < kShown; i++) {
			const char *q = CppGuard([&] { return s->cpp->queries[i].c_str(); });
			items = lappend(items, pstrdup(q[0] ? q : "(no parameters)"));
		}
		if (n > kShown)
			items = lappend(items, psprintf("... %d requests in all", n));
		if (items == NIL)
			ExplainPropertyText("Pix Requests", "none (the conditions admit no rows)", es);
		else
			ExplainPropertyList("Pix Requests", items, es);
		// The budget: windows (or dates) are known now; pages only as they come.
		ExplainPropertyText("Pix Calls Planned", psprintf("%d (max_calls %d)", n, s->opts.max_calls), es);
		if (s->runs.default_window)
			ExplainPropertyText("Pix Default Window", psprintf("%s (the query has no date condition)",
			                                                    s->opts.default_window),
			                    es);
	}
	if (es->analyze) {
		CallStats st = CppGuard([&] { return s->cpp->stats; });
		ExplainPropertyInteger("HTTP Calls", NULL, st.calls, es);
		ExplainPropertyInteger("Pages", NULL, st.pages, es);
		ExplainPropertyInteger("Bytes", NULL, st.bytes, es);
		if (st.cache_hits > 0 || es->verbose)
			ExplainPropertyInteger("Cache Hits", NULL, st.cache_hits, es);
		if (st.retries > 0 || es->verbose)
			ExplainPropertyInteger("Retries", NULL, st.retries, es);
		if (st.tokens > 0 || es->verbose)
			ExplainPropertyInteger("Tokens Minted", NULL, st.tokens, es);
	}
}

}  // namespace pix::pg
