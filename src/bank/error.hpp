// Errors raised by the bank layer. They carry a SQLSTATE so the PostgreSQL boundary
// (src/pg/guard.hpp) can turn them into a proper ereport without guessing.
#pragma once
#include "bank/cpp_only.hpp"

#include <stdexcept>
#include <string>

namespace pix {

namespace sqlstate {
constexpr const char *kFdwError = "HV000";             // fdw_error
constexpr const char *kUnableToConnect = "HV00N";      // fdw_unable_to_establish_connection
constexpr const char *kOptionNameNotFound = "HV00J";   // fdw_option_name_not_found
constexpr const char *kInvalidOptionName = "HV00D";    // fdw_invalid_option_name
constexpr const char *kInvalidAttributeValue = "HV00A";// fdw_invalid_string_format (option values)
constexpr const char *kReplyHandle = "HV00K";          // fdw_reply_handle (bad reply from the bank)
constexpr const char *kInvalidParameterValue = "22023";
constexpr const char *kFeatureNotSupported = "0A000";
constexpr const char *kLockNotAvailable = "55P03";      // the account's statement scroll is taken
constexpr const char *kInvalidAuthorization = "28000";
constexpr const char *kInsufficientPrivilege = "42501";
constexpr const char *kTooManyRequests = "53400";      // configuration_limit_exceeded
constexpr const char *kOutOfMemory = "53200";
constexpr const char *kProgramLimitExceeded = "54000";
constexpr const char *kInternal = "XX000";
}  // namespace sqlstate

// An error with everything ereport needs. Never put secrets in any field.
class Error : public std::runtime_error {
public:
	Error(const char *state, std::string message, std::string detail = {}, std::string hint = {})
	    : std::runtime_error(message), state_(state), detail_(std::move(detail)), hint_(std::move(hint))
	{
	}
	const char *
	State() const
	{
		return state_;
	}
	const std::string &
	Detail() const
	{
		return detail_;
	}
	const std::string &
	Hint() const
	{
		return hint_;
	}

private:
	const char *state_;
	std::string detail_;
	std::string hint_;
};

// Thrown when the backend has a pending cancel/terminate request. The boundary then lets
// PostgreSQL process the interrupt itself (right SQLSTATE and message, FATAL on terminate).
class Interrupted : public std::exception {
public:
	const char *
	what() const noexcept override
	{
		return "interrupted";
	}
};

}  // namespace pix
