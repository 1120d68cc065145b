// The executor callbacks: the request of each (re)scan, rows streamed page by page and kept
// per request for replays within a statement, the scroll released at the end.
#include "pg/scan.hpp"

#include "pg/guard.hpp"

#include <set>

namespace pix::pg {

void
DestroyScanCpp(void *arg)
{
	ScanState *s = static_cast<ScanState *>(arg);
	delete s->cpp;  // no PostgreSQL calls in destructors: nothing here can raise
	s->cpp = nullptr;
}

void
ConversionErrorContext(void *arg)
{
	ScanState *s = static_cast<ScanState *>(arg);
	if (s->current_att >= 0)
		errcontext("column %d (JSON field \"%s\") of foreign table \"%s\"", s->current_att + 1,
		           s->paths[s->current_att], s->relname);
}

// The value given for name in an alternating name, value list, or nullptr.
const char *
ParamValue(List *params, const char *name)
{
	for (ListCell *lc = list_head(params); lc; lc = lnext(params, lnext(params, lc)))
		if (strcmp(static_cast<char *>(lfirst(lc)), name) == 0)
			return static_cast<char *>(lfirst(lnext(params, lc)));
	return nullptr;
}

// Evaluates the pushed quals into s->runs and s->cpp->plan. False when the values are not
// known (plain EXPLAIN of a statement with execution-time parameters).
bool
ComputeRequest(ForeignScanState *node, ScanState *s, bool for_explain)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	ForeignScan *fsplan = reinterpret_cast<ForeignScan *>(node->ss.ps.plan);
	// Plain EXPLAIN: evaluate only what needs no execution (no subplans, known params).
	if (for_explain && !KnownBeforeExecution(reinterpret_cast<Node *>(fsplan->fdw_exprs),
	                                         node->ss.ps.state->es_param_list_info != NULL))
		return false;
	MemoryContextReset(s->pass_cxt);
	MemoryContext old = MemoryContextSwitchTo(s->pass_cxt);
	List *params = NIL;
	bool empty = false;
	for (int i = 0; i < list_length(s->quals); i++) {
		List *desc = static_cast<List *>(list_nth(s->quals, i));
		if (static_cast<QualKind>(intVal(linitial(desc))) != QualKind::kParam)
			continue;
		const PushdownDef &def = s->endpoint->pushdown[intVal(lsecond(desc))];
		bool isnull;
		Datum v = ExecEvalExpr(static_cast<ExprState *>(list_nth(s->qual_states, i)), econtext, &isnull);
		if (isnull) {
			empty = true;  // col = NULL is never true
			continue;
		}
		char *value = TextDatumGetCString(v);
		if (!def.Accepts(value))
			continue;  // the bank would refuse it: the local recheck filters instead
		if (const char *given = ParamValue(params, def.param)) {
			if (strcmp(given, value) != 0)
				empty = true;  // col = 'C' AND col = 'D'
			continue;
		}
		params = lappend(lappend(params, pstrdup(def.param)), value);
	}
	// Path keys: the values of each key item (text), intersected across items.
	List *key_sets = NIL;  // one List of C strings per key item
	for (int i = 0; i < list_length(s->quals); i++) {
		List *desc = static_cast<List *>(list_nth(s->quals, i));
		QualKind kind = static_cast<QualKind>(intVal(linitial(desc)));
		if (kind != QualKind::kKey && kind != QualKind::kKeyAny)
			continue;
		const PushdownDef &def = s->endpoint->pushdown[intVal(lsecond(desc))];
		bool isnull;
		Datum v = ExecEvalExpr(static_cast<ExprState *>(list_nth(s->qual_states, i)), econtext, &isnull);
		Oid type = list_nth_oid(s->qual_types, i);
		List *values = NIL;
		auto add = [&](Datum d, Oid t) {
			Oid out;
			bool varlena;
			getTypeOutputInfo(t, &out, &varlena);
			char *text = OidOutputFunctionCall(out, d);
			if (def.Accepts(text))  // another value cannot be a key the bank has: no row
				values = lappend(values, text);
		};
		if (!isnull && kind == QualKind::kKey) {
			add(v, type);
		} else if (!isnull) {
			ArrayType *arr = DatumGetArrayTypeP(v);
			Oid elem = ARR_ELEMTYPE(arr);
			int16 len;
			bool byval;
			char align;
			get_typlenbyvalalign(elem, &len, &byval, &align);
			Datum *elems;
			bool *nulls;
			int n;
			deconstruct_array(arr, elem, len, byval, align, &elems, &nulls, &n);
			for (int j = 0; j < n; j++)
				if (!nulls[j])
					add(elems[j], elem);
		}
		key_sets = lappend(key_sets, values);
	}
	// An initplan a date item reads (data_transacao >= (SELECT min(dia) FROM orders)) runs
	// here, not inside the subtransaction of the day analysis, whose resource owner would not
	// outlive its scans.
	int paramid = -1;
	while ((paramid = bms_next_member(s->exec_params, paramid)) >= 0) {
		ParamExecData *prm = &s->probes.econtext->ecxt_param_exec_vals[paramid];
		if (prm->execPlan != NULL)
			ExecSetParamPlan(static_cast<SubPlanState *>(prm->execPlan), s->probes.econtext);
	}
	s->runs = AnalyzeDaysSafely(s->probes, s->opts, s->has_date_condition);
	MemoryContextSwitchTo(old);
	const DayRuns &runs = s->runs;
	const EndpointDef *ep = s->endpoint;
	int page_size = s->opts.page_size;
	int max_calls = s->opts.max_calls;
	bool by_key = key_sets != NIL;
	bool none = by_key ? empty || runs.empty : empty || runs.empty || runs.error;
	if (by_key)
		s->runs.error = nullptr;  // rows by key need no date bound
	const char *date_param = nullptr;
	for (const PushdownDef &def : ep->pushdown)
		if (def.kind == ParamKind::kEqualDate)
			date_param = def.param;
	char *today = runs.undated ? IsoDate(BankToday()) : nullptr;  // only the undated call needs it
	DateADT closed_before = ep->paging == Paging::kStatement ? BankToday() : PG_INT32_MIN;  // result cache
	CppGuard([&] {
		RequestPlan plan;
		plan.endpoint = ep;
		plan.closed_before = closed_before;
		plan.empty = none;
		plan.page_size = page_size;
		plan.max_calls = max_calls;
		if (by_key) {
			// Distinct keys in every item, in order: one lookup each.
			std::set<std::string> keys;
			bool first = true;
			for (ListCell *lc = list_head(key_sets); lc; lc = lnext(key_sets, lc)) {
				List *values = static_cast<List *>(lfirst(lc));
				std::set<std::string> these;
				for (ListCell *vc = list_head(values); vc; vc = lnext(values, vc))
					these.insert(static_cast<char *>(lfirst(vc)));
				if (first) {
					keys = std::move(these);
				} else {
					std::set<std::string> both;
					for (const std::string &k : keys)
						if (these.count(k))
							both.insert(k);
					keys = std::move(both);
				}
				first = false;
			}
			plan.by_key = true;
			plan.keys.assign(keys.begin(), keys.end());
			plan.empty = none || plan.keys.empty();
			s->cpp->queries = plan.FirstQueries();
			s->cpp->plan = std::move(plan);
			return;
		}
		if (!none && !runs.undated) {
			for (int i = 0; i < runs.n; i++) {
				if (ep->paging == Paging::kSingle) {
					for (DateADT d = runs.lo[i]; d <= runs.hi[i]; d++)
						plan.windows.push_back(Window{d, d});
				} else {
					for (const Window &w : SplitWindow(runs.lo[i], runs.hi[i], ep->max_window_days))
						plan.windows.push_back(w);
				}
			}
			if (ep->paging == Paging::kSingle && date_param)
				plan.date_param = date_param;
		}
		if (!none && runs.undated && date_param)
			plan.echo.emplace_back(date_param, today);  // an undated call answers for today
		for (ListCell *lc = list_head(params); lc; lc = lnext(params, lnext(params, lc)))
			plan.params.emplace_back(static_cast<char *>(lfirst(lc)), static_cast<char *>(lfirst(lnext(params, lc))));
		s->cpp->queries = plan.FirstQueries();
		s->cpp->plan = std::move(plan);
	});
	return true;
}

// Raises what makes the request impossible: no lower bound, or more calls than allowed.
void
CheckRequest(ScanState *s)
{
	if (s->runs.error)
		ereport(ERROR, (errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED), errmsg("%s", s->runs.error),
		                errdetail("%s", s->runs.detail), errhint("%s", s->runs.hint)));
	int n = CppGuard([&] { return static_cast<int>(s->cpp->queries.size()); });
	if (n > s->opts.max_calls)
		ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
		                errmsg("the scan of foreign table \"%s\" would need at least %d calls to the bank, more "
		                       "than max_calls (%d)",
		                       s->relname, n, s->opts.max_calls),
		                errdetail("No call was made."),
		                errhint("Narrow the date range, or raise the server option max_calls.")));
}

// The next row of the bank pass into slot (stored when the scan keeps rows); false at its end.
bool
FetchRow(ScanState *s, TupleTableSlot *slot)
{
	ExecClearTuple(slot);
	MemoryContextReset(s->row_cxt);
	ScanCpp *cpp = s->cpp;
	const json::Page *page = nullptr;
	bool got = CppGuard([&] {
		const rapidjson::Value *row = cpp->source->Next(cpp->waiter);
		if (!row) {
			if (cpp->current)
				cpp->current->complete = true;
			return false;
		}
		page = &cpp->source->CurrentPage();
		cpp->extractor->Extract(*row, *page, cpp->cells);
		return true;
	});
	if (!got)
		return false;
	const Cell *cells = cpp->cells.data();
	const bool plain = page->Plain();
	MemoryContext old = MemoryContextSwitchTo(s->row_cxt);
	ErrorContextCallback errcb;
	errcb.callback = ConversionErrorContext;
	errcb.arg = s;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	for (int i = 0; i < s->natts; i++) {
		slot->tts_isnull[i] = true;
		slot->tts_values[i] = (Datum) 0;
		if (!s->paths[i] || cells[i].null)
			continue;
		s->current_att = i;
		if (cells[i].value)
			slot->tts_values[i] = JsonbFromValue(*cells[i].value, *page);
		else
			slot->tts_values[i] = ConvertCell(&s->conv[i], cells[i].data, cells[i].len, s->tz, plain);
		slot->tts_isnull[i] = false;
	}
	s->current_att = -1;
	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);
	if (s->store) {
		tuplestore_puttupleslot(s->store, slot);
		cpp->stored_rows++;
		if (cpp->current)
			cpp->current->count++;
	}
	return true;
}

bool
ExecParamWalker(Node *node, void *context)
{
	if (!node)
		return false;
	if (IsA(node, Param) && reinterpret_cast<Param *>(node)->paramkind == PARAM_EXEC)
		*static_cast<Bitmapset **>(context) =
		    bms_add_member(*static_cast<Bitmapset **>(context), reinterpret_cast<Param *>(node)->paramid);
	return WalkChildren(node, ExecParamWalker, context);
}

// The PARAM_EXEC ids an expression reads.
Bitmapset *
ExecParams(Node *node)
{
	Bitmapset *ids = NULL;
	ExecParamWalker(node, &ids);
	return ids;
}

// Ends the bank pass in progress: reads an open statement scroll to its end (the bank's only
// way to free it) and forgets rows of a request read half-way (they cannot be replayed).
void
DropSource(ScanCpp &c)
{
	if (c.source)
		c.source->Finish(c.waiter);
	if (c.current && !c.current->complete)
		c.stored.erase(c.key);
	c.current = nullptr;
	c.source.reset();
}

// Computes the request and decides between replaying stored rows and calling the bank.
void
StartScan(ForeignScanState *node, ScanState *s)
{
	if (!s->same_request) {
		ComputeRequest(node, s, false);
		CheckRequest(s);
	}
	s->same_request = false;
	s->planned = true;
	s->replaying = false;
	s->eof = false;
	bool has_store = s->store != nullptr;
	int64 start = 0, count = 0;
	bool replay = false, complete = false;
	// Leaving a request read half-way (a semi-join found its match, a LIMIT): when the rest
	// of it is already in memory, store it too, so that coming back to it makes no call.
	bool keep_rest = has_store && CppGuard([&] {
		ScanCpp &c = *s->cpp;
		return c.source && c.current && !c.current->complete && c.plan.Key() != c.key && c.source->Buffered();
	});
	if (keep_rest) {
		TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
		while (FetchRow(s, slot))
			;
		ExecClearTuple(slot);
	}
	CppGuard([&] {
		ScanCpp &c = *s->cpp;
		std::string key = c.plan.Key();
		bool continuing = c.source && key == c.key;
		auto it = has_store ? c.stored.find(key) : c.stored.end();
		// A finished request, or the one still being read: replay what is stored.
		if (it != c.stored.end() && (it->second.complete || continuing)) {
			replay = true;
			start = it->second.start;
			count = it->second.count;
			complete = it->second.complete;
			if (!continuing)
				DropSource(c);
			c.key = key;
			return;
		}
		DropSource(c);
		c.key = key;
		c.source = std::make_unique<RowSource>(*c.client, c.plan, c.stats, c.projection);
		if (has_store) {
			c.current = &c.stored[key];
			c.current->start = c.stored_rows;
		}
	});
	if (replay) {
		tuplestore_rescan(s->store);
		if (start > 0 && !tuplestore_skiptuples(s->store, start, true))
			elog(ERROR, "pix_fdw: stored rows are missing");
		s->replaying = true;
		s->replay_left = count;
		s->eof = complete;
	}
}

// Whether `target` can be rescanned: it lies in a subplan, or on the inner side of a nested
// loop (directly or below), or somewhere this walk does not know. Such scans keep their rows.
int
FindPlan(Plan *p, Plan *target, bool rescanned)
{
	if (!p)
		return -1;
	if (p == target)
		return rescanned ? 1 : 0;
	ListCell *lc;
	List *children = NIL;
	switch (nodeTag(p)) {
	case T_NestLoop: {
		int r = FindPlan(p->lefttree, target, rescanned);
		return r >= 0 ? r : FindPlan(p->righttree, target, true);
	}
	case T_SubqueryScan:
		return FindPlan(reinterpret_cast<SubqueryScan *>(p)->subplan, target, rescanned);
	case T_Append:
		children = reinterpret_cast<Append *>(p)->appendplans;
		break;
	case T_MergeAppend:
		children = reinterpret_cast<MergeAppend *>(p)->mergeplans;
		break;
	case T_CustomScan:
		foreach (lc, reinterpret_cast<CustomScan *>(p)->custom_plans)
			if (FindPlan(static_cast<Plan *>(lfirst(lc)), target, true) >= 0)
				return 1;
		break;
	case T_RecursiveUnion:
		rescanned = true;
		break;
	default:
		break;
	}
	foreach (lc, children) {
		int r = FindPlan(static_cast<Plan *>(lfirst(lc)), target, rescanned);
		if (r >= 0)
			return r;
	}
	int r = FindPlan(p->lefttree, target, rescanned);
	return r >= 0 ? r : FindPlan(p->righttree, target, rescanned);
}

bool
MayBeRescanned(ForeignScanState *node, int eflags)
{
	if (eflags & EXEC_FLAG_REWIND)
		return true;
	PlannedStmt *stmt = node->ss.ps.state->es_plannedstmt;
	int r = stmt ? FindPlan(stmt->planTree, node->ss.ps.plan, false) : -1;
	return r != 0;  // in a subplan, under a nested loop's inner side, or not found: keep rows
}

void
BeginScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = reinterpret_cast<ForeignScan *>(node->ss.ps.plan);
	EState *estate = node->ss.ps.state;
	ScanState *s = static_cast<ScanState *>(palloc0(sizeof(ScanState)));
	node->fdw_state = s;
	s->current_att = -1;

	List *priv = fsplan->fdw_private;
	if (list_length(priv) != kPrivCount)
		elog(ERROR, "pix_fdw: unexpected plan private data");
	s->endpoint = FindEndpoint(strVal(list_nth(priv, kPrivEndpoint)));
	if (!s->endpoint)
		elog(ERROR, "pix_fdw: unknown endpoint in plan");
	s->opts.endpoint = s->endpoint;
	s->opts.page_size = intVal(list_nth(priv, kPrivPageSize));
	const char *window = strVal(list_nth(priv, kPrivDefaultWindow));
	s->opts.default_window = window[0] ? window : nullptr;
	s->opts.history_start = intVal(list_nth(priv, kPrivHistoryStart));
	s->opts.has_history_start = intVal(list_nth(priv, kPrivHasHistory)) != 0;
	s->opts.max_calls = intVal(list_nth(priv, kPrivMaxCalls));
	s->has_date_condition = intVal(list_nth(priv, kPrivHasDateCond)) != 0;
	s->quals = static_cast<List *>(list_nth(priv, kPrivQuals));
	// Parameter values run in the scan's context; date items run on a virtual probe slot,
	// so they are built without a parent (which would fix the slot type, and JIT them).
	ListCell *lc;
	int qi = 0;
	foreach (lc, fsplan->fdw_exprs) {
		Expr *e = static_cast<Expr *>(lfirst(lc));
		List *desc = static_cast<List *>(list_nth(s->quals, qi++));
		bool param = IsValueItem(static_cast<QualKind>(intVal(linitial(desc))));
		s->qual_states = lappend(s->qual_states, ExecInitExpr(e, param ? reinterpret_cast<PlanState *>(node) : NULL));
		s->qual_types = lappend_oid(s->qual_types, exprType(reinterpret_cast<Node *>(e)));
	}
	s->tz = BankTimeZone();

	Relation rel = node->ss.ss_currentRelation;
	TupleDesc tupdesc = RelationGetDescr(rel);
	s->relname = pstrdup(RelationGetRelationName(rel));
	s->natts = tupdesc->natts;
	List *paths = static_cast<List *>(list_nth(priv, kPrivPaths));
	s->paths = static_cast<char **>(palloc0(sizeof(char *) * Max(s->natts, 1)));
	s->conv = static_cast<ColumnConv *>(palloc0(sizeof(ColumnConv) * Max(s->natts, 1)));
	for (int i = 0; i < s->natts && i < list_length(paths); i++) {
		char *p = strVal(list_nth(paths, i));
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		if (p[0] == '\0' || att->attisdropped)
			continue;
		s->paths[i] = p;
		InitColumnConv(&s->conv[i], att->atttypid, att->atttypmod);
	}

	// The date items, evaluated on a probe slot in their own expression context.
	ProbeSet &ps = s->probes;
	ps.probes = static_cast<Probe *>(palloc0(sizeof(Probe) * Max(list_length(s->quals), 1)));
	ps.slot = ExecInitExtraTupleSlot(estate, tupdesc, &TTSOpsVirtual);
	for (int i = 0; i < tupdesc->natts; i++)
		ps.slot->tts_isnull[i] = true;
	ExecStoreVirtualTuple(ps.slot);
	ps.econtext = CreateExprContext(estate);
	ps.econtext->ecxt_scantuple = ps.slot;
	for (int i = 0; i < list_length(s->quals); i++) {
		List *desc = static_cast<List *>(list_nth(s->quals, i));
		QualKind kind = static_cast<QualKind>(intVal(linitial(desc)));
		if (IsValueItem(kind)) {
			s->has_keys |= kind != QualKind::kParam;
			continue;
		}
		s->exec_params = bms_join(s->exec_params, ExecParams(static_cast<Node *>(list_nth(fsplan->fdw_exprs, i))));
		Probe &p = ps.probes[ps.n++];
		p.state = static_cast<ExprState *>(list_nth(s->qual_states, i));
		p.kind = kind;
		p.attno = static_cast<AttrNumber>(intVal(lsecond(desc)));
		p.tstz = TupleDescAttr(tupdesc, p.attno - 1)->atttypid == TIMESTAMPTZOID;
		p.text = strVal(lthird(desc));
	}

	// The C++ state is owned by this context: its reset callback is registered before
	// anything that can fail creates it.
	s->scan_cxt = AllocSetContextCreate(estate->es_query_cxt, "pix_fdw scan", ALLOCSET_DEFAULT_SIZES);
	s->pass_cxt = AllocSetContextCreate(s->scan_cxt, "pix_fdw pass", ALLOCSET_SMALL_SIZES);
	s->row_cxt = AllocSetContextCreate(s->scan_cxt, "pix_fdw row", ALLOCSET_DEFAULT_SIZES);
	MemoryContextCallback *cb =
	    static_cast<MemoryContextCallback *>(MemoryContextAllocZero(s->scan_cxt, sizeof(MemoryContextCallback)));
	cb->func = DestroyScanCpp;
	cb->arg = s;
	MemoryContextRegisterResetCallback(s->scan_cxt, cb);

	Oid umid = InvalidOid;
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY)) {
		ResumePayments();
#if PG_VERSION_NUM >= 160000
		Oid userid = OidIsValid(fsplan->checkAsUser) ? fsplan->checkAsUser : GetUserId();
#else
		RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, estate);
		Oid userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
#endif
		ForeignTable *table = GetForeignTable(RelationGetRelid(rel));
		ForeignServer *server = GetForeignServer(table->serverid);
		UserMapping *um = GetUserMapping(userid, server->serverid);
		PrepareBankClient(server, um);
		umid = um->umid;
		if (MayBeRescanned(node, eflags)) {
			// Kept in the scan context, spilling to disk past work_mem; ended at EndScan.
			MemoryContext old = MemoryContextSwitchTo(s->scan_cxt);
			s->store = tuplestore_begin_heap(false, false, work_mem);
			MemoryContextSwitchTo(old);
			s->replay_slot = ExecInitExtraTupleSlot(estate, tupdesc, &TTSOpsMinimalTuple);
		}
	}
	int natts = s->natts;
	char **col_paths = s->paths;
	ColumnConv *conv = s->conv;
	const EndpointDef *endpoint = s->endpoint;
	s->cpp = CppGuard([&] {
		auto c = std::make_unique<ScanCpp>();
		if (OidIsValid(umid))
			c->client = CachedBankClient(umid);
		std::vector<ColumnSpec> specs(natts);
		for (int i = 0; i < natts; i++) {
			if (!col_paths[i])
				continue;
			specs[i].path = RowExtractor::SplitPath(col_paths[i]);
			specs[i].json = WantsJson(conv[i].type);
			specs[i].tree = conv[i].type == JSONBOID;
		}
		c->extractor = std::make_unique<RowExtractor>(std::move(specs));
		c->projection = std::make_shared<const json::Projection>(
		    c->extractor->MakeProjection(endpoint->rows_key, endpoint->renames));
		return c.release();
	});
}

TupleTableSlot *
IterateScan(ForeignScanState *node)
{
	ScanState *s = static_cast<ScanState *>(node->fdw_state);
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	if (!s->planned)
		StartScan(node, s);
	if (s->replaying) {
		if (s->replay_left > 0) {
			// A tuple read back from disk is allocated in the current context and owned by
			// the slot: not the per-tuple context, which the executor resets under it.
			MemoryContext old = MemoryContextSwitchTo(s->scan_cxt);
			bool got = tuplestore_gettupleslot(s->store, true, false, s->replay_slot);
			MemoryContextSwitchTo(old);
			if (got) {
				s->replay_left--;
				return ExecCopySlot(slot, s->replay_slot);
			}
		}
		s->replaying = false;  // stored rows done; go on with the bank if it had more
	}
	ExecClearTuple(slot);
	if (s->eof)
		return slot;
	if (!FetchRow(s, slot))
		s->eof = true;
	return slot;
}

void
ReScan(ForeignScanState *node)
{
	ScanState *s = static_cast<ScanState *>(node->fdw_state);
	if (!s->planned) {
		// Rescanned again before any row was fetched: a parameter change since the last
		// pass still counts.
		s->same_request &= node->ss.ps.chgParam == NULL;
		return;
	}
	// Unchanged parameters: the same request again, replayed from the store when there is one.
	s->same_request = node->ss.ps.chgParam == NULL && s->store != nullptr;
	s->planned = false;
	s->replaying = false;
}

void
EndScan(ForeignScanState *node)
{
	// A scan stopped early reads its open statement scroll to the end (the bank's only way
	// to free it); the scan context's reset callback releases the C++ state.
	ScanState *s = static_cast<ScanState *>(node->fdw_state);
	if (s && s->cpp && s->cpp->source)
		CppGuard([&] { s->cpp->source->Finish(s->cpp->waiter); });
	if (s && s->store) {
		tuplestore_end(s->store);  // its temporary file, if it spilled
		s->store = nullptr;
	}
}


pg_tz *
BankTimeZone()
{
	static pg_tz *tz = nullptr;
	if (!tz) {
		tz = pg_tzset("America/Sao_Paulo");
		if (!tz)
			ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
			                errmsg("time zone \"America/Sao_Paulo\" is not available")));
	}
	return tz;
}

DateADT
BankToday()
{
	DateADT d;
	// Now, not the transaction's start: a transaction begun before midnight still sees the
	// new day's rows.
	if (!LocalDate(GetCurrentTimestamp(), BankTimeZone(), &d))
		elog(ERROR, "pix_fdw: current time out of range");
	return d;
}

void
InitFdwRoutine(FdwRoutine *r)
{
	r->GetForeignRelSize = GetRelSize;
	r->GetForeignPaths = GetPaths;
	r->GetForeignPlan = GetPlan;
	r->BeginForeignScan = BeginScan;
	r->IterateForeignScan = IterateScan;
	r->ReScanForeignScan = ReScan;
	r->EndForeignScan = EndScan;
	r->ExplainForeignScan = Explain;
	r->ImportForeignSchema = ImportForeignSchema;
}

}  // namespace pix::pg
