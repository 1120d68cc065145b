// pix_fdw.check(server text): the set-up check, one row per step (src/bank/check.cpp does
// the work), with the caller's user mapping and the server's own options (url, ca_file,
// conta_corrente, timeouts, rate_limits).
#include "pg/fdw.hpp"

#include "pg/guard.hpp"

#include "bank/check.hpp"

#include <ctime>

namespace pix::pg {

namespace {

long long
WallClock()
{
	return static_cast<long long>(std::time(nullptr));
}

struct OutRow {
	char *step, *status, *detail, *hint;  // palloc'd; hint nullptr when empty
};

}  // namespace

}  // namespace pix::pg

using namespace pix::pg;

// Entry points PostgreSQL looks up by name: default visibility (the rest is hidden).
#pragma GCC visibility push(default)
extern "C" {

PG_FUNCTION_INFO_V1(pix_fdw_check);

// pix_fdw.check(server text): url, tls, certificate, token, scopes, conta_corrente, clock and
// the number of calls made, one row each, in that order. Needs USAGE on the server and a
// user mapping, as a query does; never shows a secret.
Datum
pix_fdw_check(PG_FUNCTION_ARGS)
{
	ResumePayments();
	ForeignServer *server = GetForeignServerByName(text_to_cstring(PG_GETARG_TEXT_PP(0)), false);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	if (strcmp(fdw->fdwname, "pix_fdw") != 0)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
		                errmsg("server \"%s\" is not a pix_fdw server", server->servername)));
#if PG_VERSION_NUM >= 160000
	AclResult acl = object_aclcheck(ForeignServerRelationId, server->serverid, GetUserId(), ACL_USAGE);
#else
	AclResult acl = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
#endif
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_FOREIGN_SERVER, server->servername);
	UserMapping *um = GetUserMapping(GetUserId(), server->serverid);  // errors when there is none
	ServerOptions opts = ReadServerOptions(server, um);

	ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	InitMaterializedSRF(fcinfo, 0);

	OutRow *out = nullptr;
	int n = CppGuard([&] {
		PgWaiter waiter;
		std::vector<pix::CheckRow> rows = pix::RunCheck(MakeServerConfig(opts), pix::NeededScopes(), waiter, &WallClock);
		size_t count = rows.size();
		out = PgGuard([&] { return static_cast<OutRow *>(palloc0(sizeof(OutRow) * (count + 1))); });
		for (size_t i = 0; i < count; i++) {
			const pix::CheckRow &r = rows[i];
			OutRow *o = &out[i];
			PgGuard([&] {
				o->step = pstrdup(r.step.c_str());
				o->status = pstrdup(r.status.c_str());
				o->detail = pstrdup(r.detail.c_str());
				o->hint = r.hint.empty() ? nullptr : pstrdup(r.hint.c_str());
			});
		}
		return static_cast<int>(count);
	});
	for (int i = 0; i < n; i++) {
		Datum values[5];
		bool nulls[5] = {false, false, false, false, false};
		values[0] = Int32GetDatum(i + 1);
		values[1] = CStringGetTextDatum(out[i].step);
		values[2] = CStringGetTextDatum(out[i].status);
		values[3] = CStringGetTextDatum(out[i].detail);
		if (out[i].hint)
			values[4] = CStringGetTextDatum(out[i].hint);
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

}  // extern "C"
#pragma GCC visibility pop
