// IMPORT FOREIGN SCHEMA inter: one CREATE FOREIGN TABLE per endpoint of the catalogue.
#include "pg/fdw.hpp"

namespace pix::pg {

namespace {

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
