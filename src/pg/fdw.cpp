// The foreign-scan callbacks: which quals become request parameters (planner), the request
// plan computed once per (re)scan from those quals, and rows streamed page by page.
//
// How dates are pushed. A restriction that mentions no column but one date column (in any
// form: a cross-type comparison, date_trunc, EXTRACT, a cast, IN, a join parameter) is
// shipped whole in fdw_exprs, and PostgreSQL itself evaluates it at execution on probe
// values of that column:
//   - "bound probes", derived at plan time from comparisons of a monotone function of the
//     column (col, col::timestamptz, date_trunc(..., col), EXTRACT(year FROM col), ...) with
//     a value, are searched by bisection for the first and last day they admit;
//   - on a date column, the clause itself is then evaluated on every day of that range, so
//     the days asked for are exactly the days the clause admits (IN lists become one window
//     per run of days).
// Every clause is also rechecked locally on every row, so pushing never changes the answer.
// Without a lower bound the scan starts at history_start, or at the table's default_window
// when the query has no date condition at all; otherwise it is an error, never a guess.
//
// fdw_private holds only copyable nodes (rule 1 of the architecture).
#include "pg/fdw.hpp"

#include "pg/convert.hpp"
#include "pg/guard.hpp"

#include "bank/source.hpp"

#include <cmath>
#include <map>

namespace pix::pg {

namespace {

constexpr double kCallCost = 1000.0;  // one HTTPS round trip, in planner cost units
constexpr double kRowCost = 0.05;     // parsing and converting one row of JSON
constexpr double kNoLowerBoundCost = 1.0e9;  // a plan that can only fail: any other is better
constexpr double kEstimateDays = 30;  // planning estimate when the range is not known yet

// The span probed for bounds: nothing the bank holds is outside it.
constexpr DateADT kDayMin = dates::FromCivil(1900, 1, 1);

enum FdwPrivate {
	kPrivEndpoint,
	kPrivQuals,
	kPrivPaths,
	kPrivPageSize,
	kPrivDefaultWindow,
	kPrivHistoryStart,   // Integer date, or absent value -1 flag in kPrivHasHistory
	kPrivHasHistory,
	kPrivMaxCalls,
	kPrivHasDateCond,
	kPrivCount
};

// What one entry of fdw_exprs is for.
enum class QualKind {
	kParam = 0,  // the value of "text column = value" (arg: pushdown index)
	kFilter,     // a clause on one date column alone, evaluated per day (arg: attno); on a
	             // timestamptz column, one constant over the session's local days
	kFilterZoned,  // a timestamptz clause constant over the local days of its own zone
	kLower,      // true on and after the first admitted day (arg: attno)
	kUpper,      // true up to the last admitted day (arg: attno)
};

struct Item {
	QualKind kind;
	int arg;
	Expr *expr;
	const char *text;  // the clause as written, for messages ("" when not printable)
};

// Planner state in baserel->fdw_private.
struct RelInfo {
	TableOptions opts;
	List *paths;        // String per attribute; "" when the query does not need it
	char **all_paths;   // path of every attribute (index attno - 1), nullptr for dropped
	int natts;
	bool *is_window;    // per attribute: a column that bounds the date (index attno - 1)
	double rows_total;  // rows the bank will send (unparameterized)
	double calls;       // HTTP calls expected (unparameterized)
	bool unbounded;     // the unparameterized scan has no lower bound: it can only fail
	double eq_selectivity;
	double local_sel;   // of the clauses that are not pushed
	bool joined_on_date;  // a join clause or equivalence class mentions a date column
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

// Midnight at the start of day d in Brasília.
TimestampTz
DayStart(DateADT d)
{
	struct pg_tm tm;
	memset(&tm, 0, sizeof tm);
	j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	int offset = DetermineTimeZoneOffset(&tm, BankTimeZone());
	TimestampTz ts;
	if (tm2timestamp(&tm, 0, &offset, &ts) != 0)
		elog(ERROR, "pix_fdw: date out of range");
	return ts;
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

Relids
VarRels(PlannerInfo *root, Node *node)
{
#if PG_VERSION_NUM >= 140000
	return pull_varnos(root, node);
#else
	(void) root;
	return pull_varnos(node);
#endif
}

Bitmapset *
RelAttrs(Node *node, Index relid)
{
	Bitmapset *attrs = NULL;
	pull_varattnos(node, relid, &attrs);
	return attrs;
}

bool
MentionsRel(Node *node, Index relid)
{
	return !bms_is_empty(RelAttrs(node, relid));
}

// True when node is a non-decreasing function of column attno of relid alone: the column,
// casts between date, timestamp and timestamptz, date_trunc, and EXTRACT/date_part of the
// fields that only grow with time.
bool
Monotone(Node *node, Index relid, AttrNumber attno)
{
	while (node && IsA(node, RelabelType))
		node = reinterpret_cast<Node *>(reinterpret_cast<RelabelType *>(node)->arg);
	if (!node)
		return false;
	if (Var *v = PlainVar(node, relid))
		return v->varattno == attno;
	if (!IsA(node, FuncExpr))
		return false;
	FuncExpr *f = reinterpret_cast<FuncExpr *>(node);
	if (get_func_namespace(f->funcid) != PG_CATALOG_NAMESPACE)
		return false;
	char *name = get_func_name(f->funcid);
	int nargs = list_length(f->args);
	auto datetime = [](Oid t) { return t == DATEOID || t == TIMESTAMPOID || t == TIMESTAMPTZOID; };
	if (nargs == 1 && (strcmp(name, "date") == 0 || strcmp(name, "timestamp") == 0 ||
	                   strcmp(name, "timestamptz") == 0)) {
		Node *arg = static_cast<Node *>(linitial(f->args));
		return datetime(f->funcresulttype) && datetime(exprType(arg)) && Monotone(arg, relid, attno);
	}
	if (strcmp(name, "date_trunc") == 0 && (nargs == 2 || nargs == 3)) {
		Node *arg = static_cast<Node *>(lsecond(f->args));
		if (MentionsRel(static_cast<Node *>(linitial(f->args)), relid) ||
		    (nargs == 3 && MentionsRel(static_cast<Node *>(lthird(f->args)), relid)))
			return false;
		return datetime(exprType(arg)) && Monotone(arg, relid, attno);
	}
	if ((strcmp(name, "date_part") == 0 || strcmp(name, "extract") == 0) && nargs == 2) {
		Node *field = static_cast<Node *>(linitial(f->args));
		Node *arg = static_cast<Node *>(lsecond(f->args));
		if (!IsA(field, Const) || reinterpret_cast<Const *>(field)->constisnull ||
		    reinterpret_cast<Const *>(field)->consttype != TEXTOID)
			return false;
		char *unit = TextDatumGetCString(reinterpret_cast<Const *>(field)->constvalue);
		static const char *const growing[] = {"year", "isoyear", "decade", "century", "millennium", "epoch", "julian"};
		bool ok = false;
		for (const char *g : growing)
			ok |= pg_strcasecmp(unit, g) == 0;
		return ok && datetime(exprType(arg)) && Monotone(arg, relid, attno);
	}
	return false;
}

// Whether a clause sees timestamptz column attno only through values constant over a day
// or coarser (a cast to date, EXTRACT of day, month, year..., date_trunc to a day or more):
// then evaluating it at three instants of a Brasília day tells whether any row of that day
// can match, whatever the session time zone.
enum class Granularity { kNone, kSession, kZoned };

struct GranularCheck {
	Index relid;
	AttrNumber attno;
	bool ok = true;
	bool zoned = false;  // through AT TIME ZONE: constant over another zone's days
};

bool
GranularWalker(Node *node, void *context)
{
	GranularCheck *g = static_cast<GranularCheck *>(context);
	if (!node || !g->ok)
		return false;
	if (Var *v = PlainVar(node, g->relid)) {
		if (v->varattno == g->attno)
			g->ok = false;  // the instant itself
		return false;
	}
	if (IsA(node, FuncExpr)) {
		FuncExpr *f = reinterpret_cast<FuncExpr *>(node);
		if (get_func_namespace(f->funcid) == PG_CATALOG_NAMESPACE) {
			char *name = get_func_name(f->funcid);
			int nargs = list_length(f->args);
			Node *unit = nargs >= 2 ? static_cast<Node *>(linitial(f->args)) : nullptr;
			const char *field = unit && IsA(unit, Const) && !reinterpret_cast<Const *>(unit)->constisnull &&
			                            reinterpret_cast<Const *>(unit)->consttype == TEXTOID
			                        ? TextDatumGetCString(reinterpret_cast<Const *>(unit)->constvalue)
			                        : nullptr;
			static const char *const coarse[] = {"day",   "dow",    "isodow",  "doy",    "week",       "month", "quarter",
			                                      "year", "isoyear", "decade", "century", "millennium", "julian"};
			bool granular = false;
			Node *time = nullptr;
			if (nargs == 1 && strcmp(name, "date") == 0 && f->funcresulttype == DATEOID) {
				granular = true;
				time = static_cast<Node *>(linitial(f->args));
			} else if (field && (strcmp(name, "date_part") == 0 || strcmp(name, "extract") == 0 ||
			                     (strcmp(name, "date_trunc") == 0 &&
			                      (nargs == 2 || !MentionsRel(static_cast<Node *>(lthird(f->args)), g->relid))))) {
				time = static_cast<Node *>(lsecond(f->args));
				for (const char *c : coarse)
					granular |= pg_strcasecmp(field, c) == 0 && !(strcmp(name, "date_trunc") == 0 &&
					                                             (strcmp(c, "dow") == 0 || strcmp(c, "isodow") == 0 ||
					                                              strcmp(c, "doy") == 0 || strcmp(c, "julian") == 0 ||
					                                              strcmp(c, "isoyear") == 0));
			}
			// Only of the instant itself, or of it in a fixed zone (AT TIME ZONE): anything
			// else could stretch or squeeze the days.
			if (granular && time && IsA(time, FuncExpr) &&
			    strcmp(get_func_name(reinterpret_cast<FuncExpr *>(time)->funcid), "timezone") == 0 &&
			    list_length(reinterpret_cast<FuncExpr *>(time)->args) == 2 &&
			    IsA(linitial(reinterpret_cast<FuncExpr *>(time)->args), Const)) {
				time = static_cast<Node *>(lsecond(reinterpret_cast<FuncExpr *>(time)->args));
				g->zoned = true;
			}
			if (strcmp(name, "date_trunc") == 0 && nargs == 3)
				g->zoned = true;
			Var *tv = time ? PlainVar(time, g->relid) : nullptr;
			if (granular && tv && tv->varattno == g->attno)
				return false;  // constant over a local day
		}
	}
#if PG_VERSION_NUM >= 160000
	return expression_tree_walker(node, GranularWalker, context);
#else
	return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(GranularWalker)),
	                              context);
#endif
}

Granularity
DayGranular(Node *clause, Index relid, AttrNumber attno)
{
	GranularCheck g{relid, attno};
	GranularWalker(clause, &g);
	return !g.ok ? Granularity::kNone : g.zoned ? Granularity::kZoned : Granularity::kSession;
}

// The btree family and strategy of a comparison operator, when it has one.
bool
BtreeStrategy(Oid opno, Oid *family, int *strategy, Oid *ltype, Oid *rtype)
{
	List *interps = get_op_btree_interpretation(opno);
	ListCell *lc;
	foreach (lc, interps) {
		OpBtreeInterpretation *bi = static_cast<OpBtreeInterpretation *>(lfirst(lc));
		if (bi->strategy >= BTLessStrategyNumber && bi->strategy <= BTGreaterStrategyNumber) {
			*family = bi->opfamily_id;
			*strategy = bi->strategy;
			*ltype = bi->oplefttype;
			*rtype = bi->oprighttype;
			return true;
		}
	}
	return false;
}

struct Probes {
	Expr *lower = nullptr;  // true from the first admitted value on
	Expr *upper = nullptr;  // true up to the last admitted value
};

// Bound probes of a comparison "lhs op rhs" (or "lhs op ANY(rhs)"), lhs monotone in the column.
Probes
ComparisonProbes(Oid opno, Node *lhs, Node *rhs, bool any, Oid inputcollid)
{
	Probes p;
	Oid family, ltype, rtype;
	int strategy;
	if (!BtreeStrategy(opno, &family, &strategy, &ltype, &rtype))
		return p;
	auto make = [&](Oid op) -> Expr * {
		if (!OidIsValid(op))
			return nullptr;
		if (!any)
			return make_opclause(op, BOOLOID, false, static_cast<Expr *>(copyObjectImpl(lhs)),
			                     static_cast<Expr *>(copyObjectImpl(rhs)), InvalidOid, inputcollid);
		ScalarArrayOpExpr *sa = makeNode(ScalarArrayOpExpr);
		sa->opno = op;
		sa->useOr = true;
		sa->inputcollid = inputcollid;
		sa->args = list_make2(copyObjectImpl(lhs), copyObjectImpl(rhs));
		sa->location = -1;
		return reinterpret_cast<Expr *>(sa);
	};
	switch (strategy) {
	case BTLessStrategyNumber:
	case BTLessEqualStrategyNumber:
		p.upper = make(opno);
		break;
	case BTGreaterStrategyNumber:
	case BTGreaterEqualStrategyNumber:
		p.lower = make(opno);
		break;
	case BTEqualStrategyNumber:
		p.lower = make(get_opfamily_member(family, ltype, rtype, BTGreaterEqualStrategyNumber));
		p.upper = make(get_opfamily_member(family, ltype, rtype, BTLessEqualStrategyNumber));
		break;
	}
	return p;
}

// Bound probes implied by a clause on column attno alone (either may be missing).
Probes
DeriveProbes(Node *node, Index relid, AttrNumber attno)
{
	Probes none;
	if (IsA(node, OpExpr)) {
		OpExpr *op = reinterpret_cast<OpExpr *>(node);
		if (list_length(op->args) != 2)
			return none;
		Node *l = static_cast<Node *>(linitial(op->args));
		Node *r = static_cast<Node *>(lsecond(op->args));
		Oid opno = op->opno;
		if (!MentionsRel(l, relid)) {
			std::swap(l, r);
			opno = get_commutator(opno);
		}
		if (!OidIsValid(opno) || MentionsRel(r, relid) || !Monotone(l, relid, attno))
			return none;
		return ComparisonProbes(opno, l, r, false, op->inputcollid);
	}
	if (IsA(node, ScalarArrayOpExpr)) {
		ScalarArrayOpExpr *sa = reinterpret_cast<ScalarArrayOpExpr *>(node);
		Node *l = static_cast<Node *>(linitial(sa->args));
		Node *r = static_cast<Node *>(lsecond(sa->args));
		if (!sa->useOr || MentionsRel(r, relid) || !Monotone(l, relid, attno))
			return none;
		return ComparisonProbes(sa->opno, l, r, true, sa->inputcollid);
	}
	if (IsA(node, BoolExpr)) {
		BoolExpr *b = reinterpret_cast<BoolExpr *>(node);
		if (b->boolop == NOT_EXPR)
			return none;
		bool is_and = b->boolop == AND_EXPR;
		List *lowers = NIL, *uppers = NIL;
		bool all_lower = true, all_upper = true;
		ListCell *lc;
		foreach (lc, b->args) {
			Probes p = DeriveProbes(static_cast<Node *>(lfirst(lc)), relid, attno);
			if (p.lower)
				lowers = lappend(lowers, p.lower);
			else
				all_lower = false;
			if (p.upper)
				uppers = lappend(uppers, p.upper);
			else
				all_upper = false;
		}
		// AND: any arm bounds the whole; OR: only when every arm is bounded.
		Probes p;
		if (lowers && (is_and || all_lower))
			p.lower = list_length(lowers) == 1 ? static_cast<Expr *>(linitial(lowers))
			                                   : makeBoolExpr(b->boolop, lowers, -1);
		if (uppers && (is_and || all_upper))
			p.upper = list_length(uppers) == 1 ? static_cast<Expr *>(linitial(uppers))
			                                   : makeBoolExpr(b->boolop, uppers, -1);
		return p;
	}
	return none;
}


const char *
ClauseText(Node *clause, Index relid, Oid relid_oid)
{
	// Only clauses on this relation alone can be printed with its context.
	Relids rels = VarRels(NULL, clause);
	if (!bms_is_empty(rels) && !(bms_num_members(rels) == 1 && bms_is_member(static_cast<int>(relid), rels)))
		return "";
	// deparse_context_for describes the relation as range table entry 1.
	Node *copy = static_cast<Node *>(copyObjectImpl(clause));
	ChangeVarNodes(copy, static_cast<int>(relid), 1, 0);
	List *ctx = deparse_context_for(get_rel_name(relid_oid), relid_oid);
	return deparse_expression(copy, ctx, false, false);
}

void
AddItem(List **items, QualKind kind, int arg, Expr *expr, const char *text)
{
	Item *it = static_cast<Item *>(palloc(sizeof(Item)));
	*it = Item{kind, arg, expr, text};
	*items = lappend(*items, it);
}

// Classifies one clause into items to push. Returns true when the clause mentions a column
// that bounds the date (pushed or not).
bool
ClassifyClause(RelOptInfo *baserel, RelInfo *ri, TupleDesc tupdesc, Oid relid_oid, Expr *clause, List **items)
{
	Index relid = baserel->relid;
	Bitmapset *attrs = RelAttrs(reinterpret_cast<Node *>(clause), relid);
	bool mentions_window = false;
	int k = -1;
	while ((k = bms_next_member(attrs, k)) >= 0) {
		AttrNumber attno = k + FirstLowInvalidHeapAttributeNumber;
		if (attno > 0 && ri->is_window[attno - 1])
			mentions_window = true;
	}
	bool safe = !contain_volatile_functions(reinterpret_cast<Node *>(clause)) &&
	            !contain_subplans(reinterpret_cast<Node *>(clause));

	// A clause on one date column alone.
	if (bms_num_members(attrs) == 1 && safe) {
		AttrNumber attno = bms_singleton_member(attrs) + FirstLowInvalidHeapAttributeNumber;
		if (attno > 0 && ri->is_window[attno - 1]) {
			bool is_date = TupleDescAttr(tupdesc, attno - 1)->atttypid == DATEOID;
			const char *text = ClauseText(reinterpret_cast<Node *>(clause), relid, relid_oid);
			Granularity g = is_date ? Granularity::kSession : DayGranular(reinterpret_cast<Node *>(clause), relid, attno);
			if (g != Granularity::kNone)
				AddItem(items, g == Granularity::kSession ? QualKind::kFilter : QualKind::kFilterZoned, attno, clause,
				        text);
			Probes p = DeriveProbes(reinterpret_cast<Node *>(clause), relid, attno);
			if (p.lower)
				AddItem(items, QualKind::kLower, attno, p.lower, text);
			if (p.upper)
				AddItem(items, QualKind::kUpper, attno, p.upper, text);
			return true;
		}
	}

	// text column = value, pushed as a parameter.
	if (safe && IsA(clause, OpExpr) && list_length(reinterpret_cast<OpExpr *>(clause)->args) == 2) {
		OpExpr *op = reinterpret_cast<OpExpr *>(clause);
		Node *left = static_cast<Node *>(linitial(op->args));
		Node *right = static_cast<Node *>(lsecond(op->args));
		Var *var = PlainVar(left, relid);
		Node *other = right;
		if (!var) {
			var = PlainVar(right, relid);
			other = left;
		}
		const char *path = var ? ri->all_paths[var->varattno - 1] : nullptr;
		const PushdownDef *def = path ? FindPushdown(*ri->opts.endpoint, path) : nullptr;
		// The bank compares bytes: push only under a deterministic collation.
		bool collation_ok = !OidIsValid(op->inputcollid) || get_collation_isdeterministic(op->inputcollid);
		if (def && def->kind == ParamKind::kEqual && !MentionsRel(other, relid) && collation_ok &&
		    op->opno < FirstNormalObjectId && strcmp(get_opname(op->opno), "=") == 0 &&
		    TupleDescAttr(tupdesc, var->varattno - 1)->atttypid == TEXTOID && exprType(other) == TEXTOID) {
			AddItem(items, QualKind::kParam, static_cast<int>(def - ri->opts.endpoint->pushdown.data()),
			        reinterpret_cast<Expr *>(other), "");
		}
	}
	return mentions_window;
}

// ---- the day analysis, shared by planning (estimates) and execution --------------------

struct Probe {
	ExprState *state;
	QualKind kind;
	AttrNumber attno;
	bool tstz;
	const char *text;
};

struct ProbeSet {
	Probe *probes;
	int n;
	TupleTableSlot *slot;    // virtual slot of the relation; only the probed column is set
	ExprContext *econtext;   // ecxt_scantuple = slot
	bool skipped_lower;      // planning: a lower bound exists but its value is not known yet
	bool skipped_upper;      // planning: likewise an upper bound
};

struct DayRuns {
	bool empty = false;
	bool undated = false;          // no date condition at all: the undated call (saldo today)
	bool default_window = false;   // the table's default_window was applied
	const char *error = nullptr;   // why the scan cannot run (raised at execution, shown by EXPLAIN)
	const char *detail = nullptr;
	const char *hint = nullptr;
	int n = 0;
	DateADT *lo = nullptr, *hi = nullptr;
};

bool EvalAt(const ProbeSet &ps, const Probe &p, Datum value);

bool
ProbeAt(const ProbeSet &ps, const Probe &p, DateADT d, bool end_of_day)
{
	if (p.tstz)
		return EvalAt(ps, p, TimestampTzGetDatum(end_of_day ? DayStart(d + 1) - 1 : DayStart(d)));
	return EvalAt(ps, p, DateADTGetDatum(d));
}

// The instant `which` (0: first, 1: noon, 2: last) of Brasília day d.
TimestampTz
DayInstant(DateADT d, int which)
{
	return which == 0 ? DayStart(d) : which == 1 ? DayStart(d) + 12 * USECS_PER_HOUR : DayStart(d + 1) - 1;
}

bool
EvalAt(const ProbeSet &ps, const Probe &p, Datum value)
{
	ps.slot->tts_values[p.attno - 1] = value;
	ps.slot->tts_isnull[p.attno - 1] = false;
	bool isnull;
	Datum r = ExecEvalExprSwitchContext(p.state, ps.econtext, &isnull);
	bool result = !isnull && DatumGetBool(r);
	ResetExprContext(ps.econtext);
	return result;
}

// Whether the per-day filters admit day d. A date column's are exact. A timestamptz filter
// is constant over each local day of its zone, and a Brasília day (23 to 25 hours) touches at
// most three of them, which its first instant, its noon and its last instant all see: the
// session-zone filters must hold together at one of those instants; a filter in another
// zone (AT TIME ZONE) at one of them on its own.
bool
DayAdmitted(const ProbeSet &ps, DateADT d)
{
	bool session_tstz = false;
	for (int i = 0; i < ps.n; i++) {
		const Probe &p = ps.probes[i];
		if (p.kind == QualKind::kFilter && !p.tstz && !EvalAt(ps, p, DateADTGetDatum(d)))
			return false;
		if (p.kind == QualKind::kFilter && p.tstz)
			session_tstz = true;
		if (p.kind == QualKind::kFilterZoned) {
			bool any = false;
			for (int w = 0; w < 3 && !any; w++)
				any = EvalAt(ps, p, TimestampTzGetDatum(DayInstant(d, w)));
			if (!any)
				return false;
		}
	}
	if (!session_tstz)
		return true;
	for (int w = 0; w < 3; w++) {
		bool all = true;
		for (int i = 0; i < ps.n && all; i++) {
			const Probe &p = ps.probes[i];
			if (p.kind == QualKind::kFilter && p.tstz)
				all = EvalAt(ps, p, TimestampTzGetDatum(DayInstant(d, w)));
		}
		if (all)
			return true;
	}
	return false;
}

// Days [lo, hi] admitted by the probes, then by the per-day filters, as runs of days.
DayRuns
AnalyzeDays(const ProbeSet &ps, const TableOptions &opts, bool has_date_condition)
{
	DayRuns out;
	DateADT today = BankToday();
	DateADT lo = kDayMin, hi = today;  // the bank has no rows after today
	bool has_lower = false;
	const char *unbounded_text = nullptr;
	for (int i = 0; i < ps.n && !out.empty; i++) {
		const Probe &p = ps.probes[i];
		if (p.kind == QualKind::kLower) {
			// First day whose last instant satisfies the probe.
			if (!ProbeAt(ps, p, hi, true)) {
				out.empty = true;
				break;
			}
			DateADT a = kDayMin, b = hi;
			while (a < b) {
				DateADT mid = a + (b - a) / 2;
				if (ProbeAt(ps, p, mid, true))
					b = mid;
				else
					a = mid + 1;
			}
			lo = Max(lo, a);
			has_lower = true;
		} else if (p.kind == QualKind::kUpper) {
			// Last day whose first instant satisfies the probe.
			if (!ProbeAt(ps, p, kDayMin, false)) {
				out.empty = true;
				break;
			}
			DateADT a = kDayMin, b = hi;
			while (a < b) {
				DateADT mid = a + (b - a + 1) / 2;
				if (ProbeAt(ps, p, mid, false))
					a = mid;
				else
					b = mid - 1;
			}
			hi = Min(hi, a);
		} else if ((p.kind == QualKind::kFilter || p.kind == QualKind::kFilterZoned) && !unbounded_text && p.text[0]) {
			unbounded_text = p.text;
		}
	}
	if (out.empty || lo > hi) {
		out.empty = true;
		return out;
	}
	if (!has_date_condition && opts.endpoint->paging == Paging::kSingle) {
		out.undated = true;  // saldo without a date: today's balance, one undated call
		return out;
	}
	if (opts.has_history_start && lo < opts.history_start)
		lo = opts.history_start;  // the account has nothing before its history begins
	if (!has_lower && !opts.has_history_start) {
		if (ps.skipped_lower) {
			// Planning only: the bound is a parameter; one day when it is an equality.
			lo = hi - (ps.skipped_upper ? 0 : static_cast<DateADT>(kEstimateDays) - 1);
		} else if (!has_date_condition && opts.default_window) {
			Interval *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(opts.default_window),
			                                                     ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
			Timestamp start = DatumGetTimestamp(
			    DirectFunctionCall2(date_mi_interval, DateADTGetDatum(hi), IntervalPGetDatum(iv)));
			lo = DatumGetDateADT(DirectFunctionCall1(timestamp_date, TimestampGetDatum(start)));
			out.default_window = true;
		} else {
			const char *col = opts.endpoint->paging == Paging::kSingle ? "data_saldo" : "data_transacao";
			out.error = psprintf("a query on endpoint \"%s\" needs a lower bound on its date", opts.endpoint->name);
			out.detail = unbounded_text ? psprintf("The condition %s gives no lower bound.", unbounded_text)
			                            : has_date_condition ? "No condition gives a lower bound on the date."
			                                                 : "The query has no condition on the date.";
			out.hint = psprintf("Add a lower bound such as %s >= '2024-01-01' (or BETWEEN, =, IN), or set the "
			                    "server option history_start to the date the account's history begins: "
			                    "ALTER SERVER ... OPTIONS (ADD history_start '2020-01-01').",
			                    col);
			return out;
		}
	}
	if (lo > hi) {
		out.empty = true;
		return out;
	}
	// Per-day filters: the exact set of days the clauses admit.
	bool filters = false;
	for (int i = 0; i < ps.n; i++)
		filters |= ps.probes[i].kind == QualKind::kFilter || ps.probes[i].kind == QualKind::kFilterZoned;
	int cap = hi - lo + 1;
	out.lo = static_cast<DateADT *>(palloc(sizeof(DateADT) * (filters ? cap : 1)));
	out.hi = static_cast<DateADT *>(palloc(sizeof(DateADT) * (filters ? cap : 1)));
	if (!filters) {
		out.lo[0] = lo;
		out.hi[0] = hi;
		out.n = 1;
		return out;
	}
	for (DateADT d = lo; d <= hi; d++) {
		if (!DayAdmitted(ps, d))
			continue;
		if (out.n > 0 && out.hi[out.n - 1] == d - 1) {
			out.hi[out.n - 1] = d;
		} else {
			out.lo[out.n] = out.hi[out.n] = d;
			out.n++;
		}
	}
	out.empty = out.n == 0;
	return out;
}

// Calls a plan of these runs needs at least.
double
PlannedCalls(const DayRuns &r, const EndpointDef &ep)
{
	if (r.empty)
		return 0;
	if (r.undated)
		return 1;
	double calls = 0;
	for (int i = 0; i < r.n; i++) {
		double days = r.hi[i] - r.lo[i] + 1;
		calls += ep.max_window_days > 0 ? std::ceil(days / ep.max_window_days) : days;
	}
	return calls;
}

double
RunDays(const DayRuns &r)
{
	double days = 0;
	for (int i = 0; i < r.n; i++)
		days += r.hi[i] - r.lo[i] + 1;
	return days;
}

// ---- planner callbacks -------------------------------------------------------------------

bool
ParamWalker(Node *node, void *context)
{
	bool *found = static_cast<bool *>(context);
	if (!node)
		return false;
	if (IsA(node, Param) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan)) {
		*found = true;
		return false;
	}
#if PG_VERSION_NUM >= 160000
	return expression_tree_walker(node, ParamWalker, context);
#else
	return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(ParamWalker)),
	                              context);
#endif
}

bool
HasParams(Node *node)
{
	bool found = false;
	ParamWalker(node, &found);
	return found;
}

struct KnownCheck {
	bool extern_known;  // the statement's parameters have values (EXPLAIN EXECUTE)
	bool unknown = false;
};

bool
KnownWalker(Node *node, void *context)
{
	KnownCheck *check = static_cast<KnownCheck *>(context);
	if (!node)
		return false;
	if (IsA(node, Param)) {
		if (reinterpret_cast<Param *>(node)->paramkind != PARAM_EXTERN || !check->extern_known)
			check->unknown = true;
		return false;
	}
	if (IsA(node, SubPlan) || IsA(node, AlternativeSubPlan)) {
		check->unknown = true;
		return false;
	}
#if PG_VERSION_NUM >= 160000
	return expression_tree_walker(node, KnownWalker, context);
#else
	return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(KnownWalker)),
	                              context);
#endif
}

// True when the expressions can be evaluated before execution starts.
bool
KnownBeforeExecution(Node *node, bool extern_known)
{
	KnownCheck check{extern_known};
	KnownWalker(node, &check);
	return !check.unknown;
}

// Estimates the unparameterized scan from the date items whose values are known now.
void
EstimateScan(PlannerInfo *root, RelOptInfo *baserel, RelInfo *ri, TupleDesc tupdesc, List *items,
             bool has_date_condition)
{
	const EndpointDef &ep = *ri->opts.endpoint;
	ProbeSet ps{};
	ps.probes = static_cast<Probe *>(palloc0(sizeof(Probe) * Max(list_length(items), 1)));
	ps.slot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsVirtual);
	ExecClearTuple(ps.slot);
	for (int i = 0; i < tupdesc->natts; i++)
		ps.slot->tts_isnull[i] = true;
	ExecStoreVirtualTuple(ps.slot);
	ps.econtext = CreateStandaloneExprContext();
	ps.econtext->ecxt_scantuple = ps.slot;
	ListCell *lc;
	foreach (lc, items) {
		Item *it = static_cast<Item *>(lfirst(lc));
		if (it->kind == QualKind::kParam)
			continue;
		Node *e = estimate_expression_value(root, static_cast<Node *>(copyObjectImpl(it->expr)));
		bool other_rels = !bms_is_subset(VarRels(root, e), bms_make_singleton(static_cast<int>(baserel->relid)));
		if (HasParams(e) || other_rels) {
			ps.skipped_lower |= it->kind == QualKind::kLower;
			ps.skipped_upper |= it->kind == QualKind::kUpper;
			continue;
		}
		fix_opfuncids(e);
		Probe &p = ps.probes[ps.n++];
		p.state = ExecInitExpr(reinterpret_cast<Expr *>(e), NULL);
		p.kind = it->kind;
		p.attno = static_cast<AttrNumber>(it->arg);
		p.tstz = TupleDescAttr(tupdesc, it->arg - 1)->atttypid == TIMESTAMPTZOID;
		p.text = it->text;
	}
	DayRuns runs = AnalyzeDays(ps, ri->opts, has_date_condition);
	FreeExprContext(ps.econtext, true);
	ExecDropSingleTupleTableSlot(ps.slot);

	ri->unbounded = runs.error != nullptr;
	double days = runs.error ? kEstimateDays : RunDays(runs);
	if (runs.empty) {
		ri->rows_total = 0;
		ri->calls = 0;
	} else if (ep.paging == Paging::kSingle) {
		ri->rows_total = runs.undated ? 1 : days;
		ri->calls = ri->rows_total;
	} else {
		double windows = runs.error ? 1 : PlannedCalls(runs, ep);
		ri->rows_total = days * ep.rows_per_day * ri->eq_selectivity;
		ri->calls = windows * Max(1.0, std::ceil(ri->rows_total / windows / ri->opts.page_size));
	}
}

struct EcMatch {
	AttrNumber attno;
};

bool
EcMemberMatches(PlannerInfo *, RelOptInfo *rel, EquivalenceClass *, EquivalenceMember *em, void *arg)
{
	Var *v = PlainVar(reinterpret_cast<Node *>(em->em_expr), rel->relid);
	return v && v->varattno == static_cast<EcMatch *>(arg)->attno;
}

// Join clauses (in joininfo, or implied by an equivalence class) on date column attno.
List *
DateJoinClauses(PlannerInfo *root, RelOptInfo *baserel, AttrNumber attno)
{
	List *out = NIL;
	ListCell *lc;
	foreach (lc, baserel->joininfo) {
		RestrictInfo *rinfo = static_cast<RestrictInfo *>(lfirst(lc));
		if (bms_is_member(attno - FirstLowInvalidHeapAttributeNumber,
		                  RelAttrs(reinterpret_cast<Node *>(rinfo->clause), baserel->relid)))
			out = lappend(out, rinfo);
	}
	if (baserel->has_eclass_joins) {
		EcMatch match{attno};
		out = list_concat(out, generate_implied_equalities_for_column(root, baserel, EcMemberMatches, &match,
		                                                              baserel->lateral_referencers));
	}
	return out;
}

bool
JoinedOnDate(PlannerInfo *root, RelOptInfo *baserel, RelInfo *ri)
{
	for (int i = 0; i < ri->natts; i++)
		if (ri->is_window[i] && DateJoinClauses(root, baserel, static_cast<AttrNumber>(i + 1)) != NIL)
			return true;
	return false;
}

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
	ri->natts = natts;

	Bitmapset *attrs = NULL;
	pull_varattnos(reinterpret_cast<Node *>(baserel->reltarget->exprs), baserel->relid, &attrs);
	ListCell *lc;
	foreach (lc, baserel->baserestrictinfo)
		pull_varattnos(reinterpret_cast<Node *>(static_cast<RestrictInfo *>(lfirst(lc))->clause), baserel->relid,
		               &attrs);
	// Join clauses that may become parameters need their columns too.
	foreach (lc, baserel->joininfo)
		pull_varattnos(reinterpret_cast<Node *>(static_cast<RestrictInfo *>(lfirst(lc))->clause), baserel->relid,
		               &attrs);
	bool whole_row = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs);

	// Every column must map to a field, used by this query or not.
	ri->all_paths = static_cast<char **>(palloc0(sizeof(char *) * Max(natts, 1)));
	ri->is_window = static_cast<bool *>(palloc0(sizeof(bool) * Max(natts, 1)));
	for (int i = 0; i < natts; i++) {
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		bool needed = whole_row || bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, attrs);
		if (!att->attisdropped) {
			ri->all_paths[i] = ColumnPath(foreigntableid, i + 1, ri->opts);
			const PushdownDef *def = FindPushdown(ep, ri->all_paths[i]);
			if (def && (def->kind == ParamKind::kDateWindow || def->kind == ParamKind::kEqualDate))
				ri->is_window[i] = att->atttypid == DATEOID;
			else if (def && def->kind == ParamKind::kTimestampWindow)
				ri->is_window[i] = att->atttypid == TIMESTAMPTZOID;
		}
		ri->paths = lappend(ri->paths, makeString(needed && ri->all_paths[i] ? ri->all_paths[i] : pstrdup("")));
	}

	List *items = NIL;
	List *local = NIL;  // clauses whose selectivity the day analysis does not account for
	bool has_date_condition = false;
	ri->eq_selectivity = 1.0;
	foreach (lc, baserel->baserestrictinfo) {
		RestrictInfo *rinfo = static_cast<RestrictInfo *>(lfirst(lc));
		int before = list_length(items);
		has_date_condition |= ClassifyClause(baserel, ri, tupdesc, foreigntableid, rinfo->clause, &items);
		for (int i = before; i < list_length(items); i++)
			if (static_cast<Item *>(list_nth(items, i))->kind == QualKind::kParam)
				ri->eq_selectivity *= 0.3;
		if (list_length(items) == before)
			local = lappend(local, rinfo);
	}
	// A join on the date restricts it too: without its own bound, the plain scan of such a
	// query must not read a default (saldo: today's balance only) and join that.
	ri->joined_on_date = JoinedOnDate(root, baserel, ri);
	has_date_condition |= ri->joined_on_date;
	EstimateScan(root, baserel, ri, tupdesc, items, has_date_condition);
	table_close(rel, NoLock);

	Selectivity local_sel = clauselist_selectivity(root, local, baserel->relid, JOIN_INNER, NULL);
	ri->local_sel = local_sel;
	baserel->tuples = ri->rows_total;
	baserel->rows = clamp_row_est(ri->rows_total * local_sel);
}

// Costs of a scan of `calls` calls and `rows_total` rows, every clause rechecked locally.
void
ScanCost(PlannerInfo *root, double calls, double rows_total, double rows, List *clauses, Cost *startup, Cost *total)
{
	QualCost qc;
	cost_qual_eval(&qc, clauses, root);
	// The first page must arrive before the first row; every further call costs as much.
	*startup = (calls > 0 ? kCallCost : 0) + qc.startup;
	*total = calls * kCallCost + rows_total * (kRowCost + qc.per_tuple) + qc.startup + rows * cpu_tuple_cost;
}

// A join clause "date column = expression of other relations" for a parameterized path.
bool
IsDateJoinClause(RelOptInfo *baserel, RelInfo *ri, RestrictInfo *rinfo)
{
	Expr *clause = rinfo->clause;
	if (!IsA(clause, OpExpr) || list_length(reinterpret_cast<OpExpr *>(clause)->args) != 2)
		return false;
	OpExpr *op = reinterpret_cast<OpExpr *>(clause);
	Var *var = PlainVar(static_cast<Node *>(linitial(op->args)), baserel->relid);
	Node *other = static_cast<Node *>(lsecond(op->args));
	if (!var) {
		var = PlainVar(other, baserel->relid);
		other = static_cast<Node *>(linitial(op->args));
	}
	if (!var || !ri->is_window[var->varattno - 1] || MentionsRel(other, baserel->relid) ||
	    contain_volatile_functions(reinterpret_cast<Node *>(clause)))
		return false;
	Oid family, ltype, rtype;
	int strategy;
	return BtreeStrategy(op->opno, &family, &strategy, &ltype, &rtype) && strategy == BTEqualStrategyNumber;
}

void
AddParamPath(PlannerInfo *root, RelOptInfo *baserel, RelInfo *ri, RestrictInfo *rinfo, List **seen)
{
	Relids required = bms_union(rinfo->clause_relids, baserel->lateral_relids);
	required = bms_del_members(required, baserel->relids);
	if (bms_is_empty(required))
		return;
	ListCell *lc;
	foreach (lc, *seen)
		if (bms_equal(static_cast<Relids>(lfirst(lc)), required))
			return;
	*seen = lappend(*seen, required);
	ParamPathInfo *ppi = get_baserel_parampathinfo(root, baserel, required);
	// One call per distinct outer value, each for one day.
	const EndpointDef &ep = *ri->opts.endpoint;
	double rows_total = ep.paging == Paging::kSingle ? 1 : ep.rows_per_day * ri->eq_selectivity;
	double rows = clamp_row_est(rows_total * ri->local_sel);
	Cost startup, total;
	ScanCost(root, 1, rows_total, rows, list_concat(list_copy(baserel->baserestrictinfo), ppi->ppi_clauses), &startup,
	         &total);
	ForeignPath *path = create_foreignscan_path(root, baserel, NULL, rows,
#if PG_VERSION_NUM >= 180000
	                                            0,
#endif
	                                            startup, total, NIL, required, NULL,
#if PG_VERSION_NUM >= 170000
	                                            NIL,
#endif
	                                            NIL);
	add_path(baserel, reinterpret_cast<Path *>(path));
}

void
GetPaths(PlannerInfo *root, RelOptInfo *baserel, Oid)
{
	RelInfo *ri = static_cast<RelInfo *>(baserel->fdw_private);
	Cost startup, total;
	ScanCost(root, ri->calls, ri->rows_total, baserel->rows, baserel->baserestrictinfo, &startup, &total);
	if (ri->unbounded)
		total += kNoLowerBoundCost;  // it would fail at execution: prefer any parameterized path
	ForeignPath *path = create_foreignscan_path(root, baserel, NULL, baserel->rows,
#if PG_VERSION_NUM >= 180000
	                                            0,
#endif
	                                            startup, total, NIL, baserel->lateral_relids, NULL,
#if PG_VERSION_NUM >= 170000
	                                            NIL,
#endif
	                                            NIL);
	add_path(baserel, reinterpret_cast<Path *>(path));

	// Joins on the date: one request per outer value instead of the whole range.
	List *seen = NIL;
	for (int i = 0; i < ri->natts; i++) {
		if (!ri->is_window[i])
			continue;
		ListCell *lc;
		foreach (lc, DateJoinClauses(root, baserel, static_cast<AttrNumber>(i + 1))) {
			RestrictInfo *rinfo = static_cast<RestrictInfo *>(lfirst(lc));
			if (join_clause_is_movable_to(rinfo, baserel) && IsDateJoinClause(baserel, ri, rinfo))
				AddParamPath(root, baserel, ri, rinfo, &seen);
		}
	}
}

ForeignScan *
GetPlan(PlannerInfo *, RelOptInfo *baserel, Oid foreigntableid, ForeignPath *, List *tlist, List *scan_clauses,
        Plan *outer_plan)
{
	RelInfo *ri = static_cast<RelInfo *>(baserel->fdw_private);
	// Every qual stays as a local filter: pushed ones are rechecked. scan_clauses holds the
	// join clauses of a parameterized path too.
	Relation rel = table_open(foreigntableid, NoLock);
	TupleDesc tupdesc = RelationGetDescr(rel);
	List *items = NIL;
	bool has_date_condition = false;
	ListCell *lc;
	foreach (lc, scan_clauses) {
		RestrictInfo *rinfo = static_cast<RestrictInfo *>(lfirst(lc));
		has_date_condition |= ClassifyClause(baserel, ri, tupdesc, foreigntableid, rinfo->clause, &items);
	}
	table_close(rel, NoLock);
	has_date_condition |= ri->joined_on_date;
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	List *exprs = NIL, *quals = NIL;
	foreach (lc, items) {
		Item *it = static_cast<Item *>(lfirst(lc));
		exprs = lappend(exprs, it->expr);
		quals = lappend(quals, list_make3(makeInteger(static_cast<int>(it->kind)), makeInteger(it->arg),
		                                  makeString(pstrdup(it->text))));
	}
	// In FdwPrivate order.
	List *priv = NIL;
	priv = lappend(priv, makeString(pstrdup(ri->opts.endpoint->name)));
	priv = lappend(priv, quals);
	priv = lappend(priv, ri->paths);
	priv = lappend(priv, makeInteger(ri->opts.page_size));
	priv = lappend(priv, makeString(pstrdup(ri->opts.default_window ? ri->opts.default_window : "")));
	priv = lappend(priv, makeInteger(ri->opts.history_start));
	priv = lappend(priv, makeInteger(ri->opts.has_history_start ? 1 : 0));  // Boolean nodes are PG15+
	priv = lappend(priv, makeInteger(ri->opts.max_calls));
	priv = lappend(priv, makeInteger(has_date_condition ? 1 : 0));
	return make_foreignscan(tlist, scan_clauses, baserel->relid, exprs, priv, NIL, NIL, outer_plan);
}

// ---- executor ----------------------------------------------------------------------------

// Rows of one request kept in the scan's store, for replays within the statement.
struct StoredRequest {
	int64 start = 0;
	int64 count = 0;
	bool complete = false;
};

// C++ state of a running scan, owned by the scan memory context's reset callback.
struct ScanCpp {
	std::shared_ptr<BankClient> client;
	RequestPlan plan;
	std::string key;                     // plan.Key() of the current pass
	std::vector<std::string> queries;    // first query of each request, for EXPLAIN
	std::unique_ptr<RowSource> source;   // the bank pass for `key`, while it is read
	std::unique_ptr<RowExtractor> extractor;
	std::vector<Cell> cells;
	std::map<std::string, StoredRequest> stored;  // requests whose rows are in the store
	StoredRequest *current = nullptr;    // the entry `source` appends to
	int64 stored_rows = 0;
	CallStats stats;
	PgWaiter waiter;
};

struct ScanState {
	const EndpointDef *endpoint;
	TableOptions opts;
	bool has_date_condition;
	List *quals;        // per fdw_exprs entry: (kind, arg, text)
	List *qual_states;  // ExprState per fdw_exprs entry
	List *qual_types;   // OIDs of the fdw_exprs entries
	ProbeSet probes;    // the date items, evaluated on probe values
	int natts;
	char **paths;       // JSON path per attribute, nullptr when not needed
	ColumnConv *conv;
	const char *relname;
	pg_tz *tz;
	MemoryContext scan_cxt;
	MemoryContext pass_cxt;  // what one (re)scan computes; reset at the next
	MemoryContext row_cxt;
	ScanCpp *cpp;
	bool planned;       // request computed for this (re)scan
	bool same_request;  // a rescan whose parameters did not change
	bool eof;
	DayRuns runs;       // of the current pass (in pass_cxt)
	Tuplestorestate *store;       // rows seen, when the scan may be rescanned
	TupleTableSlot *replay_slot;  // minimal-tuple slot to read the store back
	bool replaying;
	int64 replay_left;
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
		bool accepted = def.values.empty();
		for (std::string_view allowed : def.values)
			accepted |= allowed == value;
		if (!accepted)
			continue;  // the bank would refuse it: the local recheck filters instead
		if (const char *given = ParamValue(params, def.param)) {
			if (strcmp(given, value) != 0)
				empty = true;  // col = 'C' AND col = 'D'
			continue;
		}
		params = lappend(lappend(params, pstrdup(def.param)), value);
	}
	s->runs = AnalyzeDays(s->probes, s->opts, s->has_date_condition);
	MemoryContextSwitchTo(old);
	const DayRuns &runs = s->runs;
	const EndpointDef *ep = s->endpoint;
	int page_size = s->opts.page_size;
	int max_calls = s->opts.max_calls;
	bool none = empty || runs.empty || runs.error;
	const char *date_param = nullptr;
	for (const PushdownDef &def : ep->pushdown)
		if (def.kind == ParamKind::kEqualDate)
			date_param = def.param;
	char *today = IsoDate(BankToday());
	CppGuard([&] {
		RequestPlan plan;
		plan.endpoint = ep;
		plan.empty = none;
		plan.page_size = page_size;
		plan.max_calls = max_calls;
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
			slot->tts_values[i] = ConvertCell(&s->conv[i], cells[i].data, cells[i].len, s->tz);
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
		c.source = std::make_unique<RowSource>(*c.client, c.plan, c.stats);
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
	s->endpoint = FindEndpoint(strVal(list_nth(priv, kPrivEndpoint)));
	if (!s->endpoint || list_length(priv) != kPrivCount)
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
		bool param = static_cast<QualKind>(intVal(linitial(desc))) == QualKind::kParam;
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
		if (kind == QualKind::kParam)
			continue;
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
	if (!s->planned)
		return;
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

void
Explain(ForeignScanState *node, ExplainState *es)
{
	ScanState *s = static_cast<ScanState *>(node->fdw_state);
	ExplainPropertyText("Pix Endpoint", psprintf("GET %s", s->endpoint->http_path), es);
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
		if (s->runs.default_window)
			ExplainPropertyText("Pix Default Window", psprintf("%s (the query has no date condition)",
			                                                    s->opts.default_window),
			                    es);
	}
	if (es->verbose || s->opts.max_calls != kDefaultMaxCalls)
		ExplainPropertyInteger("Pix Call Budget", NULL, s->opts.max_calls, es);
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
