// IMPORT FOREIGN SCHEMA inter: one CREATE FOREIGN TABLE per endpoint of the catalogue, and a
// COMMENT on every table and column it creates.
//
// PostgreSQL runs only CREATE FOREIGN TABLE commands from ImportForeignSchema ("returned
// incorrect statement type" otherwise), one at a time as subcommands through ProcessUtility,
// so the comments are added by a ProcessUtility hook right after each of them runs.
#include "pg/fdw.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "commands/comment.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"

extern PGDLLEXPORT Datum pix_fdw_handler(PG_FUNCTION_ARGS);
}

namespace pix::pg {

namespace {

ProcessUtility_hook_type previous_utility = nullptr;

// A catalogue text plus where it comes from in the API.
char *
TableComment(const EndpointDef &ep)
{
	StringInfoData buf;
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s API: GET %s (scope %s).", ep.comment, ep.http_path, ep.scope);
	return buf.data;
}

char *
ColumnComment(const EndpointDef &ep, const ColumnDef &c)
{
	StringInfoData buf;
	initStringInfo(&buf);
	appendStringInfoString(&buf, c.comment);
	if (!strstr(c.comment, "API:"))
		appendStringInfo(&buf, " API: %s%s%s", ep.rows_key ? ep.rows_key : "", ep.rows_key ? "[]." : "", c.path);
	return buf.data;
}

// A CREATE FOREIGN TABLE that IMPORT FOREIGN SCHEMA just ran: comments from the catalogue when
// it is one of ours (a pix_fdw server, an endpoint the catalogue knows).
void
CommentImported(CreateForeignTableStmt *stmt)
{
	ForeignServer *server = GetForeignServerByName(stmt->servername, true);
	if (!server)
		return;
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	if (!OidIsValid(fdw->fdwhandler))
		return;
	FmgrInfo handler;
	fmgr_info(fdw->fdwhandler, &handler);
	if (handler.fn_addr != pix_fdw_handler)
		return;
	const EndpointDef *ep = nullptr;
	ListCell *lc;
	foreach (lc, stmt->options) {
		DefElem *def = static_cast<DefElem *>(lfirst(lc));
		if (strcmp(def->defname, "endpoint") == 0)
			ep = FindEndpoint(defGetString(def));
	}
	if (!ep)
		return;
	CommandCounterIncrement();  // the new table's catalog rows become visible
	Oid relid = RangeVarGetRelid(stmt->base.relation, NoLock, false);
	if (ep->comment)
		CreateComments(relid, RelationRelationId, 0, TableComment(*ep));
	foreach (lc, stmt->base.tableElts) {
		Node *elt = static_cast<Node *>(lfirst(lc));
		if (!IsA(elt, ColumnDef))
			continue;
		const char *name = reinterpret_cast<::ColumnDef *>(elt)->colname;
		const ColumnDef *c = FindColumn(*ep, name);
		if (c && c->comment)
			CreateComments(relid, RelationRelationId, get_attnum(relid, name), ColumnComment(*ep, *c));
	}
}

void
ImportUtility(PlannedStmt *pstmt, const char *query, bool read_only_tree, ProcessUtilityContext context,
              ParamListInfo params, QueryEnvironment *env, DestReceiver *dest, QueryCompletion *qc)
{
	if (previous_utility)
		previous_utility(pstmt, query, read_only_tree, context, params, env, dest, qc);
	else
		standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
	if (context == PROCESS_UTILITY_SUBCOMMAND && IsA(pstmt->utilityStmt, CreateForeignTableStmt))
		CommentImported(reinterpret_cast<CreateForeignTableStmt *>(pstmt->utilityStmt));
}

bool
Wanted(ImportForeignSchemaStmt *stmt, const char *name)
{
	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	bool listed = false;
	ListCell *lc;
	foreach (lc, stmt->table_list)
		if (strcmp(static_cast<RangeVar *>(lfirst(lc))->relname, name) == 0)
			listed = true;
	return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO ? listed : !listed;
}

}  // namespace

void
InstallImportComments()
{
	previous_utility = ProcessUtility_hook;
	ProcessUtility_hook = ImportUtility;
}

List *
ImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid server_oid)
{
	if (strcmp(stmt->remote_schema, "inter") != 0)
		ereport(ERROR, (errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
		                errmsg("the bank has no schema \"%s\"", stmt->remote_schema),
		                errhint("Use IMPORT FOREIGN SCHEMA inter.")));
	// Import options become table options of every imported table.
	StringInfoData extra;
	initStringInfo(&extra);
	ListCell *lc;
	foreach (lc, stmt->options) {
		DefElem *def = static_cast<DefElem *>(lfirst(lc));
		if (strcmp(def->defname, "default_window") != 0 && strcmp(def->defname, "page_size") != 0 &&
		    strcmp(def->defname, "history_start") != 0)
			ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			                errmsg("invalid IMPORT FOREIGN SCHEMA option \"%s\"", def->defname),
			                errhint("Valid options are: default_window, history_start, page_size (given to every "
			                        "imported table).")));
		ValidateTableOption(def->defname, defGetString(def));
		appendStringInfo(&extra, ", %s %s", quote_identifier(def->defname), quote_literal_cstr(defGetString(def)));
	}
	// LIMIT TO or EXCEPT a table the bank does not offer is a typo, not an empty import.
	foreach (lc, stmt->table_list) {
		const char *name = static_cast<RangeVar *>(lfirst(lc))->relname;
		if (FindEndpoint(name))
			continue;
		StringInfoData offered;
		initStringInfo(&offered);
		for (const EndpointDef &ep : Endpoints())
			appendStringInfo(&offered, "%s%s", offered.len ? ", " : "", ep.name);
		ereport(ERROR, (errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
		                errmsg("schema \"inter\" has no table \"%s\"", name),
		                errhint("IMPORT FOREIGN SCHEMA inter offers: %s.", offered.data)));
	}
	ForeignServer *server = GetForeignServer(server_oid);
	List *commands = NIL;
	for (const EndpointDef &ep : Endpoints()) {
		if (!Wanted(stmt, ep.name))
			continue;
		StringInfoData buf;
		initStringInfo(&buf);
		appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (\n", quote_identifier(ep.name));
		bool first = true;
		for (const ColumnDef &c : ep.columns) {
			appendStringInfo(&buf, "%s  %s %s", first ? "" : ",\n", quote_identifier(c.name), c.type);
			first = false;
		}
		appendStringInfo(&buf, "\n) SERVER %s OPTIONS (endpoint %s%s)", quote_identifier(server->servername),
		                 quote_literal_cstr(ep.name), extra.data);
		commands = lappend(commands, buf.data);
	}
	return commands;
}

}  // namespace pix::pg
