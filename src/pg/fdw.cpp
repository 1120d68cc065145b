// The foreign-scan callbacks: which quals become request parameters (planner), the request
// plan computed once per execution from those quals, and rows streamed page by page.
//
// fdw_private holds only copyable nodes (rule 1 of the architecture): the endpoint name, a
// descriptor per pushed qual, the JSON path per column, the page size and the default
// window. The values of pushed quals travel as fdw_exprs and are evaluated at execution, so
// prepared statements and generic plans see their own parameters. Every qual is also
// rechecked locally.
#include "pg/fdw.hpp"

#include "pg/convert.hpp"
#include "pg/guard.hpp"

#include "bank/source.hpp"

#include <cmath>

namespace pix::pg {

namespace {

constexpr double kCallCost = 1000.0;  // one HTTPS round trip, in planner cost units
constexpr double kRowCost = 0.05;     // parsing and converting one row of JSON

enum class Op { kEq = 0, kLt, kLe, kGt, kGe, kIn };

enum FdwPrivate { kPrivEndpoint, kPrivQuals, kPrivPaths, kPrivPageSize, kPrivDefaultWindow, kPrivDateKeptLocal };

struct PushedQual {
	int def_index;  // into EndpointDef::pushdown
	Op op;
	Expr *value;    // the side that is not our column
};

// Planner state in baserel->fdw_private.
struct RelInfo {
	TableOptions opts;
	List *pushed;       // PushedQual *
	List *local;        // RestrictInfo * that stay local only
	List *paths;        // String per attribute; "" when the query does not need it
	char **all_paths;   // path of every attribute (index attno - 1), nullptr for dropped
	double rows_total;  // rows the bank will send
	double calls;       // HTTP calls expected
	bool date_kept_local;  // a condition on a window column could not be sent
};

// What the pushed quals say, once their values are known.
struct Bounds {
	bool empty = false;
	bool has_lo = false, has_hi = false;
	DateADT lo = 0, hi = 0;
	List *params = NIL;  // alternating name, value (char *)
};

// ---- time --------------------------------------------------------------------------------

bool
LocalDate(TimestampTz ts, pg_tz *tz, DateADT *out)
{
	struct pg_tm tm;
	fsec_t fsec;
	int offset;
	if (TIMESTAMP_NOT_FINITE(ts) || timestamp2tm(ts, &offset, &tm, &fsec, NULL, tz) != 0)
		return false;
	*out = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
	return true;
}

char *
IsoDate(DateADT d)
{
	int y, m, day;
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return psprintf("%04d-%02d-%02d", y, m, day);
}

// ---- qual classification ----------------------------------------------------------------

Var *
PlainVar(Node *node, Index relid)
{
	while (node && IsA(node, RelabelType))
		node = reinterpret_cast<Node *>(reinterpret_cast<RelabelType *>(node)->arg);
	if (node && IsA(node, Var)) {
		Var *v = reinterpret_cast<Var *>(node);
		if (static_cast<Index>(v->varno) == relid && v->varlevelsup == 0 && v->varattno > 0)
			return v;
	}
	return nullptr;
}

bool
OpFromName(const char *name, Op *op)
{
	static const struct {
		const char *name;
		Op op;
	} ops[] = {{"=", Op::kEq}, {"<", Op::kLt}, {"<=", Op::kLe}, {">", Op::kGt}, {">=", Op::kGe}};
	for (const auto &o : ops)
		if (strcmp(name, o.name) == 0) {
			*op = o.op;
			return true;
		}
	return false;
}

// A qual "col op expr" (or "expr op col") that the bank can apply; false keeps it local.
bool
ClassifyQual(RelOptInfo *baserel, TupleDesc tupdesc, RelInfo *ri, RestrictInfo *rinfo, PushedQual *out)
{
	Expr *clause = rinfo->clause;
	List *args;
	Oid opno;
	bool in_list = false;
	if (IsA(clause, OpExpr)) {
		args = reinterpret_cast<OpExpr *>(clause)->args;
		opno = reinterpret_cast<OpExpr *>(clause)->opno;
	} else if (IsA(clause, ScalarArrayOpExpr) && reinterpret_cast<ScalarArrayOpExpr *>(clause)->useOr) {
		// col IN (...) / col = ANY(array): the column must be on the left.
		args = reinterpret_cast<ScalarArrayOpExpr *>(clause)->args;
		opno = reinterpret_cast<ScalarArrayOpExpr *>(clause)->opno;
		in_list = true;
	} else {
		return false;
	}
	if (list_length(args) != 2)
		return false;
	Node *left = static_cast<Node *>(linitial(args));
	Node *right = static_cast<Node *>(lsecond(args));
	Var *var = PlainVar(left, baserel->relid);
	Node *other = right;
	if (!var && in_list)
		return false;
	if (!var) {
		var = PlainVar(right, baserel->relid);
		other = left;
		opno = var ? get_commutator(opno) : InvalidOid;
	}
	if (!var || !OidIsValid(opno) || opno >= FirstNormalObjectId)
		return false;
	if (contain_var_clause(other) || contain_volatile_functions(other))
		return false;
	const char *path = ri->all_paths[var->varattno - 1];
	const EndpointDef &ep = *ri->opts.endpoint;
	const PushdownDef *def = path ? FindPushdown(ep, path) : nullptr;
	if (!def)
		return false;
	Op op;
	if (!OpFromName(get_opname(opno), &op) || (in_list && op != Op::kEq))
		return false;
	Oid coltype = TupleDescAttr(tupdesc, var->varattno - 1)->atttypid;
	Oid ltype, rtype;
	op_input_types(opno, &ltype, &rtype);
	if (ltype != coltype || rtype != coltype)
		return false;
	if (in_list) {
		// A list of dates bounds the window by its smallest and largest element.
		if (!IsWindow(def->kind))
			return false;
		op = Op::kIn;
	}
	switch (def->kind) {
	case ParamKind::kDateWindow:
		if (coltype != DATEOID)
			return false;
		break;
	case ParamKind::kTimestampWindow:
		if (coltype != TIMESTAMPTZOID)
			return false;
		break;
	case ParamKind::kEqual:
		if (coltype != TEXTOID || op != Op::kEq)
			return false;
		break;
	case ParamKind::kEqualDate:
		if (coltype != DATEOID || op != Op::kEq)
			return false;
		break;
	}
	out->def_index = static_cast<int>(def - ep.pushdown.data());
	out->op = op;
	out->value = reinterpret_cast<Expr *>(other);
	return true;
}

// ---- from qual values to bounds and parameters ------------------------------------------

// The value given for name in an alternating name, value list, or nullptr.
const char *
ParamValue(List *params, const char *name)
{
	for (ListCell *lc = list_head(params); lc; lc = lnext(params, lnext(params, lc)))
		if (strcmp(static_cast<char *>(lfirst(lc)), name) == 0)
			return static_cast<char *>(lfirst(lnext(params, lc)));
	return nullptr;
}

void
AddParam(Bounds *b, const char *name, const char *value)
{
	if (const char *given = ParamValue(b->params, name)) {
		if (strcmp(given, value) != 0)
			b->empty = true;  // col = 'C' AND col = 'D'
		return;
	}
	b->params = lappend(lappend(b->params, pstrdup(name)), pstrdup(value));
}

void
Tighten(Bounds *b, const PushdownDef &def, Op op, Datum value, bool isnull, Oid type, pg_tz *tz)
{
	if (isnull) {
		b->empty = true;  // a comparison with NULL is never true
		return;
	}
	if (def.kind == ParamKind::kEqual) {
		Oid out;
		bool varlena;
		getTypeOutputInfo(type, &out, &varlena);
		AddParam(b, def.param, OidOutputFunctionCall(out, value));
		return;
	}
	if (op == Op::kIn) {
		// The hull of the listed values: Tighten with the smallest and the largest.
		ArrayType *array = DatumGetArrayTypeP(value);
		Oid elem = ARR_ELEMTYPE(array);
		int16 typlen;
		bool byval;
		char align;
		get_typlenbyvalalign(elem, &typlen, &byval, &align);
		Datum *elems;
		bool *nulls;
		int n;
		deconstruct_array(array, elem, typlen, byval, align, &elems, &nulls, &n);
		auto key = [&](int i) -> int64 {
			return elem == DATEOID ? static_cast<int64>(DatumGetDateADT(elems[i])) : DatumGetTimestampTz(elems[i]);
		};
		int lo = -1, hi = -1;
		for (int i = 0; i < n; i++) {
			if (nulls[i])
				continue;
			if (lo < 0 || key(i) < key(lo))
				lo = i;
			if (hi < 0 || key(i) > key(hi))
				hi = i;
		}
		if (lo < 0) {
			b->empty = true;  // only NULLs (or nothing): no row can match
			return;
		}
		Tighten(b, def, Op::kGe, elems[lo], false, elem, tz);
		Tighten(b, def, Op::kLe, elems[hi], false, elem, tz);
		return;
	}
	DateADT d;
	bool lower = op == Op::kGt || op == Op::kGe || op == Op::kEq;
	bool upper = op == Op::kLt || op == Op::kLe || op == Op::kEq;
	if (def.kind == ParamKind::kTimestampWindow) {
		TimestampTz ts = DatumGetTimestampTz(value);
		if (TIMESTAMP_IS_NOBEGIN(ts) || TIMESTAMP_IS_NOEND(ts)) {
			// col > -infinity bounds nothing; col < -infinity matches nothing.
			if ((TIMESTAMP_IS_NOBEGIN(ts) && upper) || (TIMESTAMP_IS_NOEND(ts) && lower))
				b->empty = true;
			return;
		}
		if (!LocalDate(ts, tz, &d))
			return;  // out of range: leave the bound to the local recheck
	} else {
		d = DatumGetDateADT(value);
		if (DATE_NOT_FINITE(d)) {
			if ((DATE_IS_NOBEGIN(d) && upper) || (DATE_IS_NOEND(d) && lower))
				b->empty = true;
			return;
		}
		if (op == Op::kGt)
			d += 1;
		else if (op == Op::kLt)
			d -= 1;
	}
	if (def.kind == ParamKind::kEqualDate) {
		AddParam(b, def.param, IsoDate(d));
		return;
	}
	if (lower && (!b->has_lo || d > b->lo)) {
		b->lo = d;
		b->has_lo = true;
	}
	if (upper && (!b->has_hi || d < b->hi)) {
		b->hi = d;
		b->has_hi = true;
	}
}

// Closes an open window with the default window and today's date; may empty it.
void
CloseWindow(Bounds *b, const TableOptions &opts, bool at_execution, bool date_kept_local)
{
	if (opts.endpoint->max_window_days <= 0 || b->empty)
		return;
	DateADT today = BankToday();
	if (!b->has_hi || b->hi > today)
		b->hi = today;  // the bank has no transactions after today
	if (!b->has_lo) {
		if (strcmp(opts.default_window, "none") == 0) {
			if (at_execution)
				ereport(ERROR, (errcode(ERRCODE_FDW_DYNAMIC_PARAMETER_VALUE_NEEDED),
				                errmsg("a query on endpoint \"%s\" needs a lower bound on its date",
				                       opts.endpoint->name),
				                errhint("Add a condition such as data_transacao >= '2024-01-01', or set the table "
				                        "option default_window (e.g. '30 days').")));
			b->lo = b->hi - 30;  // planning only: estimate as if 30 days
		} else {
			Interval *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(opts.default_window),
			                                                     ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
			Timestamp start = DatumGetTimestamp(
			    DirectFunctionCall2(date_mi_interval, DateADTGetDatum(b->hi), IntervalPGetDatum(iv)));
			b->lo = DatumGetDateADT(DirectFunctionCall1(timestamp_date, TimestampGetDatum(start)));
			// The query does restrict the date, in a form the bank cannot take (an OR, a
			// function): rows outside the default window would silently be missing.
			if (at_execution && date_kept_local)
				ereport(NOTICE, (errmsg("reading the default window of endpoint \"%s\" (%s up to %s): a condition "
				                        "on its date could not be sent to the bank",
				                        opts.endpoint->name, opts.default_window,
				                        b->hi == today ? "today" : IsoDate(b->hi)),
				                 errhint("Rows outside that window are not returned. Write the date condition as "
				                         "a range, BETWEEN or IN, or set the table option default_window 'none' "
				                         "to make this an error.")));
		}
		b->has_lo = true;
	}
	b->has_hi = true;
	if (b->lo > b->hi)
		b->empty = true;
}

// ---- planner callbacks -------------------------------------------------------------------

void
GetRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	RelInfo *ri = static_cast<RelInfo *>(palloc0(sizeof(RelInfo)));
	baserel->fdw_private = ri;
	ri->opts = GetTableOptions(foreigntableid);
	const EndpointDef &ep = *ri->opts.endpoint;

	Relation rel = table_open(foreigntableid, NoLock);
	TupleDesc tupdesc = RelationGetDescr(rel);
	int natts = tupdesc->natts;

	Bitmapset *attrs = NULL;
	pull_varattnos(reinterpret_cast<Node *>(baserel->reltarget->exprs), baserel->relid, &attrs);
	ListCell *lc;
	foreach (lc, baserel->baserestrictinfo)
		pull_varattnos(reinterpret_cast<Node *>(static_cast<RestrictInfo *>(lfirst(lc))->clause), baserel->relid,
		               &attrs);
	bool whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs);

	// Every column must map to a field, used by this query or not.
	ri->all_paths = static_cast<char **>(palloc0(sizeof(char *) * Max(natts, 1)));
	for (int i = 0; i < natts; i++) {
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		bool needed = whole_row || bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, attrs);
		if (!att->attisdropped)
			ri->all_paths[i] = ColumnPath(foreigntableid, i + 1, ri->opts);
		ri->paths = lappend(ri->paths, makeString(needed && ri->all_paths[i] ? ri->all_paths[i] : pstrdup("")));
	}

	Bounds bounds;
	double eq_selectivity = 1.0;
	foreach (lc, baserel->baserestrictinfo) {
		RestrictInfo *rinfo = static_cast<RestrictInfo *>(lfirst(lc));
		PushedQual q;
		if (!ClassifyQual(baserel, tupdesc, ri, rinfo, &q)) {
			ri->local = lappend(ri->local, rinfo);
			Bitmapset *cols = NULL;
			pull_varattnos(reinterpret_cast<Node *>(rinfo->clause), baserel->relid, &cols);
			int k = -1;
			while ((k = bms_next_member(cols, k)) >= 0) {
				AttrNumber attno = k + FirstLowInvalidHeapAttributeNumber;
				const PushdownDef *def = attno > 0 && ri->all_paths[attno - 1]
				                             ? FindPushdown(ep, ri->all_paths[attno - 1])
				                             : nullptr;
				if (def && IsWindow(def->kind))
					ri->date_kept_local = true;
			}
			continue;
		}
		PushedQual *pq = static_cast<PushedQual *>(palloc(sizeof(PushedQual)));
		*pq = q;
		ri->pushed = lappend(ri->pushed, pq);
		const PushdownDef &def = ep.pushdown[q.def_index];
		if (def.kind == ParamKind::kEqual)
			eq_selectivity *= 0.3;
		// For the estimate, use values known now (constants, folded stable expressions).
		Node *v = estimate_expression_value(root, reinterpret_cast<Node *>(q.value));
		if (IsA(v, Const)) {
			Const *c = reinterpret_cast<Const *>(v);
			Tighten(&bounds, def, q.op, c->constvalue, c->constisnull, c->consttype, BankTimeZone());
		}
	}
	table_close(rel, NoLock);

	CloseWindow(&bounds, ri->opts, false, false);
	if (bounds.empty) {
		ri->rows_total = 0;
		ri->calls = 0;
	} else if (ep.max_window_days > 0) {
		double days = bounds.hi - bounds.lo + 1;
		double windows = std::ceil(days / ep.max_window_days);
		ri->rows_total = days * ep.rows_per_day * eq_selectivity;
		ri->calls = windows * Max(1.0, std::ceil(ri->rows_total / windows / ri->opts.page_size));
	} else {
		ri->rows_total = ep.rows_per_call;
		ri->calls = 1;
	}
	Selectivity local_sel = clauselist_selectivity(root, ri->local, baserel->relid, JOIN_INNER, NULL);
	baserel->tuples = ri->rows_total;
	baserel->rows = clamp_row_est(ri->rows_total * local_sel);
}

void
GetPaths(PlannerInfo *root, RelOptInfo *baserel, Oid)
{
	RelInfo *ri = static_cast<RelInfo *>(baserel->fdw_private);
	// The first page must arrive before the first row; every further call costs as much.
	Cost startup = ri->calls > 0 ? kCallCost : 0;
	Cost total = ri->calls * kCallCost + ri->rows_total * kRowCost + baserel->rows * cpu_tuple_cost;
	ForeignPath *path = create_foreignscan_path(root, baserel, NULL, baserel->rows,
#if PG_VERSION_NUM >= 180000
	                                            0,
#endif
	                                            startup, total, NIL, NULL, NULL,
#if PG_VERSION_NUM >= 170000
	                                            NIL,
#endif
	                                            NIL);
	add_path(baserel, reinterpret_cast<Path *>(path));
}

ForeignScan *
GetPlan(PlannerInfo *, RelOptInfo *baserel, Oid, ForeignPath *, List *tlist, List *scan_clauses, Plan *outer_plan)
{
	RelInfo *ri = static_cast<RelInfo *>(baserel->fdw_private);
	// Every qual stays as a local filter: pushed ones are rechecked.
	scan_clauses = extract_actual_clauses(scan_clauses, false);
	List *exprs = NIL, *quals = NIL;
	ListCell *lc;
	foreach (lc, ri->pushed) {
		PushedQual *q = static_cast<PushedQual *>(lfirst(lc));
		exprs = lappend(exprs, q->value);
		quals = lappend(quals, list_make2(makeInteger(q->def_index), makeInteger(static_cast<int>(q->op))));
	}
	// In FdwPrivate order (list_make5 is missing before PostgreSQL 14).
	List *priv = list_make4(makeString(pstrdup(ri->opts.endpoint->name)), quals, ri->paths,
	                        makeInteger(ri->opts.page_size));
	priv = lappend(priv, makeString(pstrdup(ri->opts.default_window)));
	priv = lappend(priv, makeInteger(ri->date_kept_local ? 1 : 0));  // Boolean nodes are PG15+
	return make_foreignscan(tlist, scan_clauses, baserel->relid, exprs, priv, NIL, NIL, outer_plan);
}

// ---- executor ----------------------------------------------------------------------------

// C++ state of a running scan, owned by the scan memory context's reset callback.
struct ScanCpp {
	std::shared_ptr<BankClient> client;
	RequestPlan plan;
	RequestPlan previous;  // the request of the pass before a rescan
	bool has_previous = false;
	std::vector<std::string> queries;  // first query of each request, for EXPLAIN
	std::unique_ptr<RowSource> source;
	std::unique_ptr<RowExtractor> extractor;
	std::vector<Cell> cells;
	CallStats stats;
	PgWaiter waiter;
};

struct ScanState {
	const EndpointDef *endpoint;
	TableOptions opts;
	bool date_kept_local;  // see RelInfo
	List *quals;        // per pushed qual: (def index, op)
	List *qual_states;  // ExprState per pushed qual
	List *qual_types;   // OIDs of the value expressions
	int natts;
	char **paths;       // JSON path per attribute, nullptr when not needed
	ColumnConv *conv;
	const char *relname;
	pg_tz *tz;
	MemoryContext scan_cxt;
	MemoryContext row_cxt;
	ScanCpp *cpp;
	bool planned;       // request plan computed for this (re)scan
	bool eof;
	Tuplestorestate *store;  // rows seen, when the executor may rewind (EXEC_FLAG_REWIND)
	TupleTableSlot *replay_slot;  // minimal-tuple slot to read the store back
	bool replaying;
	int current_att;    // for the error context
};

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

struct ParamCheck {
	bool has_exec = false;
	bool has_extern = false;
};

bool
ParamWalker(Node *node, void *context)
{
	ParamCheck *check = static_cast<ParamCheck *>(context);
	if (!node)
		return false;
	if (IsA(node, Param)) {
		Param *p = reinterpret_cast<Param *>(node);
		if (p->paramkind == PARAM_EXTERN)
			check->has_extern = true;
		else
			check->has_exec = true;
		return false;
	}
	if (IsA(node, SubPlan) || IsA(node, AlternativeSubPlan)) {
		check->has_exec = true;
		return false;
	}
#if PG_VERSION_NUM >= 160000
	return expression_tree_walker(node, ParamWalker, context);
#else
	return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(ParamWalker)), context);
#endif
}

void
expression_tree_walker_compat(Node *node, ParamCheck *check)
{
	ParamWalker(node, check);
}

// Evaluates the pushed quals and fills s->cpp->plan. True when it could be computed
// (false only for EXPLAIN without the values of execution-time parameters).
bool
ComputeRequest(ForeignScanState *node, ScanState *s, bool for_explain)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	if (for_explain) {
		// Plain EXPLAIN: evaluate only what needs no execution (no subplans, known params).
		ParamCheck check;
		expression_tree_walker_compat(reinterpret_cast<Node *>(reinterpret_cast<ForeignScan *>(node->ss.ps.plan)->fdw_exprs),
		                              &check);
		if (check.has_exec || (check.has_extern && node->ss.ps.state->es_param_list_info == NULL))
			return false;
	}
	MemoryContext old = MemoryContextSwitchTo(s->scan_cxt);
	Bounds b;
	for (int i = 0; i < list_length(s->quals); i++) {
		List *desc = static_cast<List *>(list_nth(s->quals, i));
		const PushdownDef &def = s->endpoint->pushdown[intVal(linitial(desc))];
		Op op = static_cast<Op>(intVal(lsecond(desc)));
		bool isnull;
		Datum v = ExecEvalExpr(static_cast<ExprState *>(list_nth(s->qual_states, i)), econtext, &isnull);
		Tighten(&b, def, op, v, isnull, list_nth_oid(s->qual_types, i), s->tz);
	}
	CloseWindow(&b, s->opts, true, s->date_kept_local);
	MemoryContextSwitchTo(old);
	const EndpointDef *ep = s->endpoint;
	int page_size = s->opts.page_size;
	List *params = b.params;
	// An undated call (saldo without dataSaldo) answers for today: say so in the row.
	List *echo = NIL;
	if (ep->max_window_days == 0) {
		for (const PushdownDef &def : ep->pushdown)
			if (def.kind == ParamKind::kEqualDate && !ParamValue(params, def.param))
				echo = lappend(lappend(echo, const_cast<char *>(def.param)), IsoDate(BankToday()));
	}
	CppGuard([&] {
		RequestPlan plan;
		plan.endpoint = ep;
		plan.empty = b.empty;
		plan.page_size = page_size;
		if (!b.empty && ep->max_window_days > 0)
			plan.windows = SplitWindow(b.lo, b.hi, ep->max_window_days);
		auto pairs = [](List *list, std::vector<std::pair<std::string, std::string>> &out) {
			for (ListCell *lc = list_head(list); lc; lc = lnext(list, lnext(list, lc)))
				out.emplace_back(static_cast<char *>(lfirst(lc)), static_cast<char *>(lfirst(lnext(list, lc))));
		};
		pairs(params, plan.params);
		pairs(echo, plan.echo);
		s->cpp->queries = plan.FirstQueries();
		s->cpp->plan = std::move(plan);
	});
	return true;
}

// Computes the request and decides between replaying stored rows and calling the bank.
void
StartScan(ForeignScanState *node, ScanState *s)
{
	// Keep the previous pass's request, to tell a real rescan from a replay.
	CppGuard([&] {
		ScanCpp &c = *s->cpp;
		c.has_previous = c.source != nullptr;
		if (c.has_previous)
			c.previous = c.plan;
	});
	ComputeRequest(node, s, false);
	bool same = CppGuard([&] { return s->cpp->has_previous && s->cpp->previous == s->cpp->plan; });
	s->planned = true;
	if (same && s->store) {
		// Same request as before: replay what we have, continue from the bank if unfinished.
		tuplestore_rescan(s->store);
		s->replaying = true;
		return;
	}
	if (s->store)
		tuplestore_clear(s->store);
	s->eof = false;
	s->replaying = false;
	CppGuard([&] {
		ScanCpp &c = *s->cpp;
		c.source = std::make_unique<RowSource>(*c.client, c.plan, c.stats);
	});
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
	s->endpoint = FindEndpoint(strVal(list_nth(priv, kPrivEndpoint)));
	if (!s->endpoint)
		elog(ERROR, "pix_fdw: unknown endpoint in plan");
	s->opts.endpoint = s->endpoint;
	s->opts.page_size = intVal(list_nth(priv, kPrivPageSize));
	s->opts.default_window = strVal(list_nth(priv, kPrivDefaultWindow));
	s->date_kept_local = intVal(list_nth(priv, kPrivDateKeptLocal)) != 0;
	s->quals = static_cast<List *>(list_nth(priv, kPrivQuals));
	s->qual_states = ExecInitExprList(fsplan->fdw_exprs, reinterpret_cast<PlanState *>(node));
	ListCell *lc;
	foreach (lc, fsplan->fdw_exprs)
		s->qual_types = lappend_oid(s->qual_types, exprType(static_cast<Node *>(lfirst(lc))));
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

	// The C++ state is owned by this context: its reset callback is registered before
	// anything that can fail creates it.
	s->scan_cxt = AllocSetContextCreate(estate->es_query_cxt, "pix_fdw scan", ALLOCSET_DEFAULT_SIZES);
	s->row_cxt = AllocSetContextCreate(s->scan_cxt, "pix_fdw row", ALLOCSET_DEFAULT_SIZES);
	MemoryContextCallback *cb =
	    static_cast<MemoryContextCallback *>(MemoryContextAllocZero(s->scan_cxt, sizeof(MemoryContextCallback)));
	cb->func = DestroyScanCpp;
	cb->arg = s;
	MemoryContextRegisterResetCallback(s->scan_cxt, cb);

	Oid umid = InvalidOid;
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY)) {
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
		if (eflags & EXEC_FLAG_REWIND) {
			MemoryContext old = MemoryContextSwitchTo(s->scan_cxt);
			s->store = tuplestore_begin_heap(false, false, work_mem);
			MemoryContextSwitchTo(old);
			s->replay_slot = ExecInitExtraTupleSlot(estate, tupdesc, &TTSOpsMinimalTuple);
		}
	}
	int natts = s->natts;
	char **col_paths = s->paths;
	ColumnConv *conv = s->conv;
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
		}
		c->extractor = std::make_unique<RowExtractor>(std::move(specs));
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
		if (tuplestore_gettupleslot(s->store, true, false, s->replay_slot))
			return ExecCopySlot(slot, s->replay_slot);
		s->replaying = false;  // stored rows done; go on with the bank if it had more
	}
	ExecClearTuple(slot);
	if (s->eof)
		return slot;

	MemoryContextReset(s->row_cxt);
	ScanCpp *cpp = s->cpp;
	bool got = CppGuard([&] {
		const rapidjson::Value *row = cpp->source->Next(cpp->waiter);
		if (!row)
			return false;
		cpp->extractor->Extract(*row, cpp->source->CurrentPage(), cpp->cells);
		return true;
	});
	if (!got) {
		s->eof = true;
		return slot;
	}
	const Cell *cells = cpp->cells.data();
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
		slot->tts_values[i] = ConvertCell(&s->conv[i], cells[i].data, cells[i].len, s->tz);
		slot->tts_isnull[i] = false;
	}
	s->current_att = -1;
	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);
	if (s->store)
		tuplestore_puttupleslot(s->store, slot);
	return slot;
}

void
ReScan(ForeignScanState *node)
{
	ScanState *s = static_cast<ScanState *>(node->fdw_state);
	if (!s->planned)
		return;
	if (node->ss.ps.chgParam == NULL && s->store) {
		tuplestore_rescan(s->store);
		s->replaying = true;
		return;
	}
	s->planned = false;  // recompute; StartScan replays if the request is unchanged
	s->replaying = false;
}

void
EndScan(ForeignScanState *)
{
	// The scan context's reset callback releases the C++ state.
}

void
Explain(ForeignScanState *node, ExplainState *es)
{
	ScanState *s = static_cast<ScanState *>(node->fdw_state);
	ExplainPropertyText("Pix Endpoint", psprintf("GET %s", s->endpoint->http_path), es);
	bool known = s->planned || ComputeRequest(node, s, true);
	if (!known) {
		ExplainPropertyText("Pix Requests", "computed at execution", es);
	} else {
		int n = CppGuard([&] { return static_cast<int>(s->cpp->queries.size()); });
		List *items = NIL;
		for (int i = 0; i < n; i++) {
			const char *q = CppGuard([&] { return s->cpp->queries[i].c_str(); });
			items = lappend(items, pstrdup(q[0] ? q : "(no parameters)"));
		}
		if (items == NIL)
			ExplainPropertyText("Pix Requests", "none (the conditions admit no rows)", es);
		else
			ExplainPropertyList("Pix Requests", items, es);
	}
	if (es->analyze) {
		CallStats st = CppGuard([&] { return s->cpp->stats; });
		ExplainPropertyInteger("HTTP Calls", NULL, st.calls, es);
		ExplainPropertyInteger("Pages", NULL, st.pages, es);
		ExplainPropertyInteger("Bytes", NULL, st.bytes, es);
		if (st.retries > 0 || es->verbose)
			ExplainPropertyInteger("Retries", NULL, st.retries, es);
		if (st.tokens > 0 || es->verbose)
			ExplainPropertyInteger("Tokens Minted", NULL, st.tokens, es);
	}
}

}  // namespace

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
	if (!LocalDate(GetCurrentTransactionStartTimestamp(), BankTimeZone(), &d))
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
