// Declarations shared by the src/pg files.
#pragma once

#include "pg/pg.hpp"

#include "bank/catalog.hpp"
#include "bank/client.hpp"
#include "bank/http.hpp"

#include <memory>

namespace pix::pg {

// ---- options.cpp -------------------------------------------------------------------------

// Table-level settings, read at plan time and carried in fdw_private.
struct TableOptions {
	const EndpointDef *endpoint;
	int page_size;               // tamanhoPagina
	const char *default_window;  // an interval applied when the query has no date condition, or nullptr
	bool has_history_start;      // history_start (table option, else server option) is set
	DateADT history_start;       // when the account's history begins
	int max_calls;               // bank calls one scan may make (server option)
};

constexpr int kDefaultMaxCalls = 100;
// The result cache's default lifetimes: a minute, the bank's budget window (a dashboard's
// repeated queries cost one call a minute), and an hour for statement days already closed.
constexpr long kDefaultCacheTtlMs = 60 * 1000;
constexpr long kDefaultCacheTtlClosedMs = 60 * 60 * 1000;

// "YYYY-MM-DD" -> DateADT; false when malformed or not a real date.
bool ParseIsoDate(const char *s, DateADT *out);

TableOptions GetTableOptions(Oid relid);
// JSON path of a column: option field, else the catalogue column of that name; errors
// naming the valid columns otherwise.
char *ColumnPath(Oid relid, AttrNumber attnum, const TableOptions &opts);
// Server and user mapping options as C strings (read with PostgreSQL calls; may ereport).
struct ServerOptions {
	const char *url, *conta, *ca_file, *connect_timeout, *request_timeout, *max_retry_wait;
	const char *client_id, *client_secret, *cert_file, *key_file, *cert_pem, *key_pem;
	const char *max_response_size;
	const char *rate_limits;
	const char *cache_ttl, *cache_ttl_closed;
	const char *prefetch;
	Oid serverid;
	Oid umid;
	const char *servername;
};
ServerOptions ReadServerOptions(ForeignServer *server, UserMapping *um);
// The value of option `name` in a catalog options list, or nullptr.
const char *Opt(List *options, const char *name);
// The bank layer's configuration from those strings (C++ only; call inside CppGuard).
ServerConfig MakeServerConfig(const ServerOptions &o);
// Checks an IMPORT FOREIGN SCHEMA / table option value; ereports when invalid.
void ValidateTableOption(const char *name, const char *value);

// ---- connection.cpp ----------------------------------------------------------------------

// Makes sure a current bank client exists for the user mapping (one keep-alive connection
// and its tokens); may ereport. Then CachedBankClient (C++ only) hands it out.
void PrepareBankClient(ForeignServer *server, UserMapping *um);
std::shared_ptr<BankClient> CachedBankClient(Oid umid);

// Waits on the process latch plus curl's sockets; services interrupts other than cancel and
// terminate after each wake-up (may throw PgError); reports cancel/terminate requests.
class PgWaiter final : public Waiter {
public:
	std::vector<SocketReady> Wait(const std::vector<SocketInterest> &sockets, long timeout_ms) override;
	bool Interrupted() override;
	long RemainingMs() override;  // until statement_timeout
};

// ---- shared.cpp --------------------------------------------------------------------------

// One shared-memory region of pix_fdw (preloaded only): registered from _PG_init, reserved in
// the shmem request hook and attached in the startup hook, both chained once in shared.cpp.
struct SharedRegion {
	const char *name;  // ShmemInitStruct name and the LWLock tranche's
	int nlocks;        // LWLocks in its tranche
	Size (*size)();    // bytes; 0: nothing is reserved and attach is not called
	// Lays the region out (every process) and, when !found, initialises it. Called under
	// AddinShmemInitLock: plain stores only, nothing that can raise or throw.
	void (*attach)(void *base, bool found, LWLockPadded *locks);
};
// From _PG_init while shared_preload_libraries is in progress (ignored otherwise).
void RegisterSharedRegion(const SharedRegion &region);
// From _PG_init, after every RegisterSharedRegion: installs the hooks that reserve and attach them.
void InstallSharedMemory();

// From _PG_init: when loaded by shared_preload_libraries, reserves shared memory for tokens
// and rate-limit logs shared by every backend. Otherwise nothing.
void InstallSharedState();
// The shared stores, or nullptr when pix_fdw was not preloaded (C++ only).
TokenStore *SharedTokens();
RateLimiter *SharedLimiter();
FetchClaims *SharedFetchClaims();

// ---- counters.cpp ------------------------------------------------------------------------

// From _PG_init: when loaded by shared_preload_libraries, reserves shared memory for the call
// counters (pix_fdw.counters) of every backend. Otherwise each backend counts its own.
void InstallCounters();
// ---- cache.cpp ---------------------------------------------------------------------------

// From _PG_init: the GUC pix_fdw.cache_size and, when preloaded, the shared result cache.
void InstallResultCache();
// The result cache for this backend's clients: shared when preloaded, else this process's
// (C++ only); nullptr when pix_fdw.cache_size is 0.
ResponseCache *ResultCache();

// ---- server_policy.cpp -------------------------------------------------------------------

// True for https://<a host of the bank>[:443] with no path (nullptr, the default, is too).
bool IsBankUrl(const char *url);
// Installs the object access hook that keeps non-superusers from sending credentials
// elsewhere: servers at other hosts, and url changes on servers with user mappings.
void InstallServerPolicy();

// ---- payments.cpp ------------------------------------------------------------------------

// Once per backend: when committed payments are pending and no sender runs in this
// database (after a restart, or when no worker slot was free at commit), starts one.
void ResumePayments();
// From _PG_init when preloaded: a launcher that starts each database's sender at start-up.
void InstallPaymentLauncher();

// ---- import.cpp --------------------------------------------------------------------------

List *ImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid server_oid);
// From _PG_init: the hook that comments every table and column IMPORT FOREIGN SCHEMA creates
// (what it is, the API field it comes from), from the catalogue.
void InstallImportComments();

// ---- scan.cpp (the FDW callbacks: quals.cpp, plan.cpp, scan.cpp, explain.cpp; see scan.hpp)

void InitFdwRoutine(FdwRoutine *routine);

// The Brasília time zone, in which the bank writes local timestamps and counts days.
pg_tz *BankTimeZone();
// Today's date in Brasília (PostgreSQL DateADT).
DateADT BankToday();

}  // namespace pix::pg
