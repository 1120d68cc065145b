// The planner callbacks: relation size and the estimate of calls, paths (plain, and
// parameterized by a date or a key from a join), and the plan with its fdw_private items.
#include "pg/scan.hpp"

#include "pg/guard.hpp"

#include <cmath>

namespace pix::pg {

// ---- planner callbacks -------------------------------------------------------------------

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
	return WalkChildren(node, KnownWalker, context);
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
		if (IsValueItem(it->kind))
			continue;
		Node *e = estimate_expression_value(root, static_cast<Node *>(copyObjectImpl(it->expr)));
		bool other_rels = !bms_is_subset(VarRels(root, e), bms_make_singleton(static_cast<int>(baserel->relid)));
		if (!KnownBeforeExecution(e, false) || other_rels) {
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
	DayRuns runs = AnalyzeDaysSafely(ps, ri->opts, has_date_condition);
	FreeExprContext(ps.econtext, true);
	ExecDropSingleTupleTableSlot(ps.slot);

	ri->unbounded = runs.error != nullptr;
	double days = runs.error ? kEstimateDays : RunDays(runs);
	// Rows by key: one call and at most one row per key, whatever the dates.
	double keys = -1;
	foreach (lc, items) {
		Item *it = static_cast<Item *>(lfirst(lc));
		double n = 1;
		if (it->kind == QualKind::kKeyAny) {
			Node *e = estimate_expression_value(root, static_cast<Node *>(copyObjectImpl(it->expr)));
			n = IsA(e, Const) && !reinterpret_cast<Const *>(e)->constisnull
			        ? ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(reinterpret_cast<Const *>(e)->constvalue)),
			                         ARR_DIMS(DatumGetArrayTypeP(reinterpret_cast<Const *>(e)->constvalue)))
			        : 10;
		} else if (it->kind != QualKind::kKey) {
			continue;
		}
		keys = keys < 0 ? n : Min(keys, n);
	}
	if (keys >= 0) {
		ri->unbounded = false;
		ri->rows_total = runs.empty ? 0 : keys;
		ri->calls = ri->rows_total;
		return;
	}
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
			if (def && def->kind == ParamKind::kPathKey && ri->key_attno == 0)
				ri->key_attno = static_cast<AttrNumber>(i + 1);
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
AddParamPath(PlannerInfo *root, RelOptInfo *baserel, RelInfo *ri, RestrictInfo *rinfo, List **seen, bool by_key)
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
	double rows_total = by_key || ep.paging == Paging::kSingle ? 1 : ep.rows_per_day * ri->eq_selectivity;
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
GetPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
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

	// Joins on the path key: one lookup per outer value (replayed when a value repeats).
	List *seen = NIL;
	if (ri->key_attno > 0) {
		Relation rel = table_open(foreigntableid, NoLock);
		TupleDesc tupdesc = RelationGetDescr(rel);
		ListCell *lc;
		foreach (lc, DateJoinClauses(root, baserel, ri->key_attno)) {
			RestrictInfo *rinfo = static_cast<RestrictInfo *>(lfirst(lc));
			Expr *value;
			bool any;
			if (join_clause_is_movable_to(rinfo, baserel) && !contain_volatile_functions(reinterpret_cast<Node *>(rinfo->clause)) &&
			    KeyClause(baserel, ri, tupdesc, rinfo->clause, &value, &any) && !any)
				AddParamPath(root, baserel, ri, rinfo, &seen, true);
		}
		table_close(rel, NoLock);
	}
	// Joins on the date: one request per outer value instead of the whole range.
	for (int i = 0; i < ri->natts; i++) {
		if (!ri->is_window[i])
			continue;
		ListCell *lc;
		foreach (lc, DateJoinClauses(root, baserel, static_cast<AttrNumber>(i + 1))) {
			RestrictInfo *rinfo = static_cast<RestrictInfo *>(lfirst(lc));
			if (join_clause_is_movable_to(rinfo, baserel) && IsDateJoinClause(baserel, ri, rinfo))
				AddParamPath(root, baserel, ri, rinfo, &seen, false);
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

}  // namespace pix::pg
