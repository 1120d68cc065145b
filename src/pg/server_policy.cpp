// Where credentials may go. A query sends the user mapping's client secret (and uses its
// certificate) at the server's url, so only a superuser may point a pix_fdw server at a host
// other than the bank's own, and only a superuser may change the url of a server that user
// mappings already hang off. The validator sees only an option list, not which server it
// belongs to or what it was before, so this is an object access hook on pg_foreign_server.
#include "pg/fdw.hpp"

extern "C" {
#include "access/genam.h"
#include "catalog/objectaccess.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"

extern PGDLLEXPORT Datum pix_fdw_handler(PG_FUNCTION_ARGS);
extern PGDLLEXPORT Datum pix_fdw_validator(PG_FUNCTION_ARGS);
}

#include <cstring>

namespace pix::pg {

namespace {

// The bank's hosts (reference: inter-api.md §1.1): production and sandbox.
const char *const kBankHosts[] = {"cdpj.partners.bancointer.com.br", "cdpj-sandbox.partners.uatinter.co"};
constexpr const char *kDefaultUrl = "https://cdpj.partners.bancointer.com.br";

object_access_hook_type previous_hook = nullptr;

struct ServerRow {
	bool found = false;
	bool ours = false;          // a server of pix_fdw (its handler or validator is ours)
	const char *name = nullptr;
	char *url = nullptr;        // the url option, or the default when absent
};

// A pg_foreign_server row as seen by `snapshot`: nullptr is the catalog snapshot, i.e. before
// the current command's changes; SnapshotSelf includes them (objectaccess.h says so for
// OAT_POST_ALTER, which runs before the command counter is incremented).
ServerRow
ReadServerRow(Oid server_oid, Snapshot snapshot)
{
	ServerRow row;
	char *url = pstrdup(kDefaultUrl);
	Relation rel = table_open(ForeignServerRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_foreign_server_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(server_oid));
	SysScanDesc scan = systable_beginscan(rel, ForeignServerOidIndexId, true, snapshot, 1, &key);
	HeapTuple tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple)) {
		row.found = true;
		Form_pg_foreign_server form = reinterpret_cast<Form_pg_foreign_server>(GETSTRUCT(tuple));
		row.name = pstrdup(NameStr(form->srvname));
		ForeignDataWrapper *fdw = GetForeignDataWrapper(form->srvfdw);
		FmgrInfo handler, validator;
		if (OidIsValid(fdw->fdwhandler)) {
			fmgr_info(fdw->fdwhandler, &handler);
			row.ours = handler.fn_addr == pix_fdw_handler;
		}
		if (!row.ours && OidIsValid(fdw->fdwvalidator)) {
			fmgr_info(fdw->fdwvalidator, &validator);
			row.ours = validator.fn_addr == pix_fdw_validator;
		}
		bool isnull;
		Datum options = heap_getattr(tuple, Anum_pg_foreign_server_srvoptions, RelationGetDescr(rel), &isnull);
		if (!isnull) {
			ListCell *lc;
			foreach (lc, untransformRelOptions(options)) {
				DefElem *def = static_cast<DefElem *>(lfirst(lc));
				if (strcmp(def->defname, "url") == 0)
					url = pstrdup(defGetString(def));
			}
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	// Trailing slashes are dropped when the url is used: they make no difference.
	for (size_t n = strlen(url); n > 0 && url[n - 1] == '/'; n--)
		url[n - 1] = '\0';
	row.url = url;
	return row;
}

bool
HasUserMappings(Oid server_oid)
{
	Relation rel = table_open(UserMappingRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_user_mapping_umserver, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(server_oid));
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 1, &key);
	bool any = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return any;
}

void
CheckServer(ObjectAccessType access, Oid server_oid)
{
	ServerRow now = ReadServerRow(server_oid, SnapshotSelf);
	if (!now.found || !now.ours)
		return;
	bool changed = false;
	if (access == OAT_POST_ALTER) {
		ServerRow before = ReadServerRow(server_oid, nullptr);
		if (before.found && strcmp(before.url, now.url) == 0)
			return;  // url unchanged (another option, OWNER TO, RENAME, ...)
		changed = true;
	}
	const char *name = now.name;
	if (!IsBankUrl(now.url))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("only a superuser may point server \"%s\" at a host other than the bank's", name),
		                errdetail("Queries send the user mapping's client_id and client_secret to the server's url."),
		                errhint("Use https://cdpj.partners.bancointer.com.br (production) or "
		                        "https://cdpj-sandbox.partners.uatinter.co (sandbox), or ask a superuser.")));
	if (changed && HasUserMappings(server_oid))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("only a superuser may change option \"url\" of server \"%s\", which has user mappings",
		                       name),
		                errdetail("The user mappings' credentials would go to the new url."),
		                errhint("Ask a superuser, or drop the server's user mappings first.")));
}

void
ObjectAccessHook(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void *arg)
{
	if (previous_hook)
		previous_hook(access, class_id, object_id, sub_id, arg);
	if (class_id == ForeignServerRelationId && (access == OAT_POST_CREATE || access == OAT_POST_ALTER) &&
	    !superuser())
		CheckServer(access, object_id);
}

}  // namespace

bool
IsBankUrl(const char *url)
{
	if (!url || strncmp(url, "https://", 8) != 0)
		return !url;
	const char *host = url + 8;
	size_t len = strcspn(host, "/");
	if (strspn(host + len, "/") != strlen(host + len))
		return false;  // a path
	if (len > 4 && strncmp(host + len - 4, ":443", 4) == 0)
		len -= 4;
	for (const char *bank : kBankHosts)
		if (strlen(bank) == len && pg_strncasecmp(host, bank, len) == 0)
			return true;
	return false;
}

void
InstallServerPolicy()
{
	previous_hook = object_access_hook;
	object_access_hook = ObjectAccessHook;
}

}  // namespace pix::pg
