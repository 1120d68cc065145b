// Which conditions become request parameters, and the days they admit: the part of the FDW
// that postgres_fdw keeps in deparse.c. Planning (plan.cpp) classifies the conditions into
// items carried by the plan; execution (scan.cpp) and EXPLAIN evaluate them into requests.
// What each endpoint takes comes from the catalogue (src/bank/catalog.*), not from code here.
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
#include "pg/scan.hpp"

#include "pg/guard.hpp"

#include <cmath>

namespace pix::pg {

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

struct GranularCheck {
	Index relid;
	AttrNumber attno;
	bool ok = true;
	bool used = false;         // the column was seen through a granular function
	Node *zone = nullptr;      // the zone of those uses (nullptr: the session's)
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
			// julian is not here: of a timestamp it carries the time of day as a fraction.
			static const char *const coarse[] = {"day",  "dow",     "isodow", "doy",     "week",      "month",
			                                      "quarter", "year", "isoyear", "decade", "century", "millennium"};
			bool granular = false;
			Node *time = nullptr;
			Node *zone = nullptr;
			if (nargs == 1 && strcmp(name, "date") == 0 && f->funcresulttype == DATEOID) {
				granular = true;
				time = static_cast<Node *>(linitial(f->args));
			} else if (field && (strcmp(name, "date_part") == 0 || strcmp(name, "extract") == 0 ||
			                     (strcmp(name, "date_trunc") == 0 &&
			                      (nargs == 2 || !MentionsRel(static_cast<Node *>(lthird(f->args)), g->relid))))) {
				time = static_cast<Node *>(lsecond(f->args));
				if (nargs == 3)
					zone = static_cast<Node *>(lthird(f->args));
				bool trunc = strcmp(name, "date_trunc") == 0;
				for (const char *c : coarse)
					granular |= pg_strcasecmp(field, c) == 0 &&
					            !(trunc && (strcmp(c, "dow") == 0 || strcmp(c, "isodow") == 0 || strcmp(c, "doy") == 0 ||
					                        strcmp(c, "isoyear") == 0));
			}
			// Only of the instant itself, or of it in a fixed zone (pg_catalog's AT TIME ZONE):
			// anything else could stretch or squeeze the days.
			if (granular && time && IsA(time, FuncExpr)) {
				FuncExpr *tz = reinterpret_cast<FuncExpr *>(time);
				if (get_func_namespace(tz->funcid) == PG_CATALOG_NAMESPACE &&
				    strcmp(get_func_name(tz->funcid), "timezone") == 0 && list_length(tz->args) == 2 &&
				    !MentionsRel(static_cast<Node *>(linitial(tz->args)), g->relid) && !zone) {
					zone = static_cast<Node *>(linitial(tz->args));
					time = static_cast<Node *>(lsecond(tz->args));
				}
			}
			Var *tv = time ? PlainVar(time, g->relid) : nullptr;
			if (granular && tv && tv->varattno == g->attno) {
				// Days of one partition only: two zones (or a zone and the session's) can be
				// true between the instants sampled.
				if (g->used && !equal(g->zone, zone))
					g->ok = false;
				g->used = true;
				g->zone = zone;
				return false;  // constant over a local day of that zone
			}
		}
	}
	return WalkChildren(node, GranularWalker, context);
}

Granularity
DayGranular(Node *clause, Index relid, AttrNumber attno)
{
	GranularCheck g{relid, attno};
	GranularWalker(clause, &g);
	return !g.ok ? Granularity::kNone : g.zone ? Granularity::kZoned : Granularity::kSession;
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

// "key column = value" or "key column = ANY(array)", the value free of this relation (it may
// be of other relations: a join clause). The bank compares keys exactly: only the type's own
// equality under a deterministic collation is pushed.
bool
KeyClause(RelOptInfo *baserel, RelInfo *ri, TupleDesc tupdesc, Expr *clause, Expr **value, bool *any)
{
	Index relid = baserel->relid;
	if (ri->key_attno == 0)
		return false;
	Node *l, *r;
	Oid opno, collid;
	if (IsA(clause, OpExpr) && list_length(reinterpret_cast<OpExpr *>(clause)->args) == 2) {
		OpExpr *op = reinterpret_cast<OpExpr *>(clause);
		l = static_cast<Node *>(linitial(op->args));
		r = static_cast<Node *>(lsecond(op->args));
		opno = op->opno;
		collid = op->inputcollid;
		*any = false;
		if (!PlainVar(l, relid))
			std::swap(l, r);
	} else if (IsA(clause, ScalarArrayOpExpr) && reinterpret_cast<ScalarArrayOpExpr *>(clause)->useOr) {
		ScalarArrayOpExpr *sa = reinterpret_cast<ScalarArrayOpExpr *>(clause);
		l = static_cast<Node *>(linitial(sa->args));
		r = static_cast<Node *>(lsecond(sa->args));
		opno = sa->opno;
		collid = sa->inputcollid;
		*any = true;
	} else {
		return false;
	}
	Var *var = PlainVar(l, relid);
	if (!var || var->varattno != ri->key_attno || MentionsRel(r, relid))
		return false;
	Oid type = TupleDescAttr(tupdesc, var->varattno - 1)->atttypid;
	if (type != TEXTOID && type != UUIDOID)
		return false;
	Oid other = exprType(r);
	if ((*any ? get_element_type(other) : other) != type)
		return false;
	if (opno >= FirstNormalObjectId || strcmp(get_opname(opno), "=") != 0)
		return false;
	if (OidIsValid(collid) && !get_collation_isdeterministic(collid))
		return false;
	*value = reinterpret_cast<Expr *>(r);
	return true;
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
		// A whole-row reference sees the date too.
		if (attno == 0 || (attno > 0 && ri->is_window[attno - 1]))
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

	// The endpoint's path key: key = value, key = ANY(array), or key = outer column (a join).
	Expr *key_value;
	bool key_any;
	if (safe && KeyClause(baserel, ri, tupdesc, clause, &key_value, &key_any)) {
		AddItem(items, key_any ? QualKind::kKeyAny : QualKind::kKey,
		        static_cast<int>(KeyPushdown(*ri->opts.endpoint) - ri->opts.endpoint->pushdown.data()), key_value, "");
		return mentions_window;
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

// The instant `which` (0: first, 1: noon, 2: last) of Brasília day d.
TimestampTz
DayInstant(DateADT d, int which)
{
	return which == 0 ? DayStart(d) : which == 1 ? DayStart(d) + 12 * USECS_PER_HOUR : DayStart(d + 1) - 1;
}

// A probe's clause with its column set to value.
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

// A bound probe on day d: on a timestamptz column at its first (or last) instant.
bool
ProbeAt(const ProbeSet &ps, const Probe &p, DateADT d, bool end_of_day)
{
	if (p.tstz)
		return EvalAt(ps, p, TimestampTzGetDatum(DayInstant(d, end_of_day ? 2 : 0)));
	return EvalAt(ps, p, DateADTGetDatum(d));
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
	const EndpointDef &ep = *opts.endpoint;
	if (ep.paging == Paging::kNone) {
		const PushdownDef *key = KeyPushdown(ep);
		const char *col = "?";
		for (const ColumnDef &c : ep.columns)
			if (key && strcmp(c.path, key->path) == 0)
				col = c.name;
		out.error = psprintf("a query on endpoint \"%s\" needs %s", ep.name, col);
		out.detail = psprintf("The bank answers %s only by %s: GET %s.", ep.name, col, ep.item_path_shown);
		out.hint = psprintf("Ask for %s = '...', %s = ANY('{...}'), or join on it: ... JOIN %s p ON p.%s = "
		                    "t.col (one call per distinct value).",
		                    col, col, ep.name, col);
		return out;
	}
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
			const char *col = ep.date_column ? ep.date_column : "the date";
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

// AnalyzeDays, with per-day filters that may fail on a day without rows (10 / EXTRACT(dow ...)
// on a Sunday) where PostgreSQL alone would never evaluate them: a data exception there drops
// the filters (a superset of the days, still rechecked) instead of failing the query or
// EXPLAIN. Other errors (a cancel) are raised. Evaluated in a subtransaction, as PL/pgSQL's
// exception blocks are.
DayRuns
AnalyzeDaysSafely(const ProbeSet &ps, const TableOptions &opts, bool has_date_condition)
{
	bool filters = false;
	for (int i = 0; i < ps.n; i++)
		filters |= ps.probes[i].kind == QualKind::kFilter || ps.probes[i].kind == QualKind::kFilterZoned;
	if (!filters || IsInParallelMode())
		return AnalyzeDays(ps, opts, has_date_condition);
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	DayRuns out;
	bool failed = false;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		out = AnalyzeDays(ps, opts, has_date_condition);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		ErrorData *edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		FreeErrorData(edata);
		failed = true;
	}
	PG_END_TRY();
	if (!failed)
		return out;
	ResetExprContext(ps.econtext);
	ProbeSet bounds = ps;
	bounds.probes = static_cast<Probe *>(palloc(sizeof(Probe) * Max(ps.n, 1)));
	bounds.n = 0;
	for (int i = 0; i < ps.n; i++)
		if (ps.probes[i].kind == QualKind::kLower || ps.probes[i].kind == QualKind::kUpper)
			bounds.probes[bounds.n++] = ps.probes[i];
	return AnalyzeDays(bounds, opts, has_date_condition);
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

}  // namespace pix::pg
