// Module entry points: the magic block, the FDW handler and module initialisation.
#include "pg/fdw.hpp"

#include "pg/guard.hpp"

// Entry points PostgreSQL looks up by name: default visibility (the rest is hidden).
#pragma GCC visibility push(default)
extern "C" {

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(pix_fdw_handler);

// The FDW handler: a FdwRoutine with pix_fdw's callbacks.
Datum
pix_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);
	pix::pg::InitFdwRoutine(routine);
	PG_RETURN_POINTER(routine);
}

void _PG_init(void);

// Builds the endpoint catalogue once, so later lookups never allocate; installs the hook
// that guards where servers send credentials, and (when preloaded) the shared memory.
void
_PG_init(void)
{
	pix::pg::CppGuard([] { (void) pix::Endpoints(); });
	pix::pg::InstallServerPolicy();
	pix::pg::InstallSharedState();
	pix::pg::InstallCounters();
	pix::pg::InstallResultCache();
	pix::pg::InstallPaymentLauncher();
	pix::pg::InstallImportComments();
	pix::pg::InstallSharedMemory();  // after every region is registered
}

}  // extern "C"
#pragma GCC visibility pop
