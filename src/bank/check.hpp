// The set-up check (pix_fdw.check): walks the chain a new user gets wrong, step by step,
// with as few calls to the bank as it can.
#pragma once
#include "bank/cpp_only.hpp"

#include "bank/client.hpp"

#include <string>
#include <vector>

namespace pix {

// One step's outcome. status: "ok", "warning", "error", or "skipped" (not checked because an
// earlier step failed, or because there is nothing to check). Never a secret in any field.
struct CheckRow {
	std::string step;
	std::string status;
	std::string detail;
	std::string hint;
};

// A scope the tables or the payments need, and what needs it (for messages).
struct ScopeUse {
	std::string scope;
	std::string used_by;  // e.g. "tables extrato, saldo"
};

// The scopes of every endpoint of the catalogue and of pix_fdw.pay, in a stable order.
std::vector<ScopeUse> NeededScopes();

// Steps, in order: url, tls, certificate, token, scopes, conta_corrente, clock, and a last
// row "calls" with the number of calls made (detail "N": the HTTP requests sent,
// repetitions included). `now` returns the local clock (seconds since the Unix epoch).
// Throws only pix::Interrupted (and std::bad_alloc); every bank failure becomes a row.
std::vector<CheckRow> RunCheck(const ServerConfig &cfg, const std::vector<ScopeUse> &scopes, Waiter &waiter,
                               long long (*now)());

// Days from `now` to a certificate's not_after, rounded down (negative once expired).
long DaysLeft(long long not_after, long long now);

// True when `text` names `scope` as a whole word ("pix.read" is not named by
// "pagamento-pix.read"; a sentence's final period does not count as part of the name).
bool NamesScope(const std::string &text, const std::string &scope);

}  // namespace pix
