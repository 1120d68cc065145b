// Shared by the FDW's own files: the items a plan carries (fdw_private / fdw_exprs), the day
// analysis both planning and execution run, and the scan's state (execution, EXPLAIN).
//   quals.cpp    which conditions become request parameters, and the days they admit
//   plan.cpp     the planner callbacks (sizes, paths, the plan)
//   scan.cpp     the executor callbacks (requests, rows, replays)
//   explain.cpp  EXPLAIN
#pragma once

#include "pg/convert.hpp"
#include "pg/fdw.hpp"

#include "bank/source.hpp"

#include <map>

namespace pix::pg {

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
	kPrivHistoryStart,   // Integer date (meaningful when kPrivHasHistory is 1)
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
	kKey,        // the value of "key column = value" (arg: pushdown index): one GET by key
	kKeyAny,     // the array of "key column = ANY(array)" (arg: pushdown index): one GET per element
};

// Items evaluated as values in the scan's context (not on probe days).
constexpr bool
IsValueItem(QualKind kind)
{
	return kind == QualKind::kParam || kind == QualKind::kKey || kind == QualKind::kKeyAny;
}

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
	AttrNumber key_attno;  // the column of the endpoint's path key, 0 when none
};

// Whether a clause sees timestamptz column attno only through values constant over a day
// or coarser (a cast to date, EXTRACT of day, month, year..., date_trunc to a day or more):
// then evaluating it at three instants of a Brasília day tells whether any row of that day
// can match, whatever the session time zone.
enum class Granularity { kNone, kSession, kZoned };

struct Probes {
	Expr *lower = nullptr;  // true from the first admitted value on
	Expr *upper = nullptr;  // true up to the last admitted value
};

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
	std::shared_ptr<const json::Projection> projection;  // what row pages keep for extractor
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
	bool has_keys;      // rows by the endpoint's path key
	Bitmapset *exec_params;  // PARAM_EXEC ids the date items read (initplans run before them)
};

// expression_tree_walker with the walker's own signature, on every supported version.
inline bool
WalkChildren(Node *node, bool (*walker)(Node *, void *), void *context)
{
#if PG_VERSION_NUM >= 160000
	return expression_tree_walker(node, walker, context);
#else
	return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(walker)), context);
#endif
}

// ---- quals.cpp
bool
LocalDate(TimestampTz ts, pg_tz *tz, DateADT *out);
TimestampTz
DayStart(DateADT d);
char *
IsoDate(DateADT d);
Var *
PlainVar(Node *node, Index relid);
Relids
VarRels(PlannerInfo *root, Node *node);
Bitmapset *
RelAttrs(Node *node, Index relid);
bool
MentionsRel(Node *node, Index relid);
bool
Monotone(Node *node, Index relid, AttrNumber attno);
bool
GranularWalker(Node *node, void *context);
Granularity
DayGranular(Node *clause, Index relid, AttrNumber attno);
bool
BtreeStrategy(Oid opno, Oid *family, int *strategy, Oid *ltype, Oid *rtype);
Probes
ComparisonProbes(Oid opno, Node *lhs, Node *rhs, bool any, Oid inputcollid);
Probes
DeriveProbes(Node *node, Index relid, AttrNumber attno);
const char *
ClauseText(Node *clause, Index relid, Oid relid_oid);
void
AddItem(List **items, QualKind kind, int arg, Expr *expr, const char *text);
bool
KeyClause(RelOptInfo *baserel, RelInfo *ri, TupleDesc tupdesc, Expr *clause, Expr **value, bool *any);
bool
ClassifyClause(RelOptInfo *baserel, RelInfo *ri, TupleDesc tupdesc, Oid relid_oid, Expr *clause, List **items);
bool
ProbeAt(const ProbeSet &ps, const Probe &p, DateADT d, bool end_of_day);
TimestampTz
DayInstant(DateADT d, int which);
bool
EvalAt(const ProbeSet &ps, const Probe &p, Datum value);
bool
DayAdmitted(const ProbeSet &ps, DateADT d);
DayRuns
AnalyzeDays(const ProbeSet &ps, const TableOptions &opts, bool has_date_condition);
DayRuns
AnalyzeDaysSafely(const ProbeSet &ps, const TableOptions &opts, bool has_date_condition);
double
PlannedCalls(const DayRuns &r, const EndpointDef &ep);
double
RunDays(const DayRuns &r);

// ---- plan.cpp
bool
KnownWalker(Node *node, void *context);
bool
KnownBeforeExecution(Node *node, bool extern_known);
void
EstimateScan(PlannerInfo *root, RelOptInfo *baserel, RelInfo *ri, TupleDesc tupdesc, List *items, bool has_date_condition);
bool
EcMemberMatches(PlannerInfo *, RelOptInfo *rel, EquivalenceClass *, EquivalenceMember *em, void *arg);
List *
DateJoinClauses(PlannerInfo *root, RelOptInfo *baserel, AttrNumber attno);
bool
JoinedOnDate(PlannerInfo *root, RelOptInfo *baserel, RelInfo *ri);
void
GetRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
void
ScanCost(PlannerInfo *root, double calls, double rows_total, double rows, List *clauses, Cost *startup, Cost *total);
bool
IsDateJoinClause(RelOptInfo *baserel, RelInfo *ri, RestrictInfo *rinfo);
void
AddParamPath(PlannerInfo *root, RelOptInfo *baserel, RelInfo *ri, RestrictInfo *rinfo, List **seen, bool by_key);
void
GetPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid);
ForeignScan *
GetPlan(PlannerInfo *, RelOptInfo *baserel, Oid foreigntableid, ForeignPath *, List *tlist, List *scan_clauses, Plan *outer_plan);

// ---- scan.cpp
void
DestroyScanCpp(void *arg);
void
ConversionErrorContext(void *arg);
const char *
ParamValue(List *params, const char *name);
bool
ComputeRequest(ForeignScanState *node, ScanState *s, bool for_explain);
void
CheckRequest(ScanState *s);
bool
FetchRow(ScanState *s, TupleTableSlot *slot);
void
DropSource(ScanCpp &c);
void
StartScan(ForeignScanState *node, ScanState *s);
int
FindPlan(Plan *p, Plan *target, bool rescanned);
bool
MayBeRescanned(ForeignScanState *node, int eflags);
void
BeginScan(ForeignScanState *node, int eflags);
TupleTableSlot *
IterateScan(ForeignScanState *node);
void
ReScan(ForeignScanState *node);
void
EndScan(ForeignScanState *node);

// ---- explain.cpp
void
Explain(ForeignScanState *node, ExplainState *es);

}  // namespace pix::pg
