// Calendar arithmetic on day numbers counted from 2000-01-01 (PostgreSQL's DateADT epoch),
// so the planner's dates pass to the bank layer unchanged.
#pragma once
#include "bank/cpp_only.hpp"

#include <cstdint>
#include <cstdio>
#include <string>

namespace pix::dates {

using Day = int32_t;

struct Civil {
	int year;
	unsigned month;
	unsigned day;
};

// Day number of a proleptic Gregorian date (Howard Hinnant's days_from_civil, shifted).
constexpr Day
FromCivil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = static_cast<unsigned>(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return static_cast<Day>(era * 146097 + static_cast<int>(doe) - 719468 - 10957);
}

// Inverse of FromCivil.
constexpr Civil
ToCivil(Day day)
{
	const int z = day + 10957 + 719468;
	const int era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = static_cast<unsigned>(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int y = static_cast<int>(yoe) + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned d = doy - (153 * mp + 2) / 5 + 1;
	const unsigned m = mp < 10 ? mp + 3 : mp - 9;
	return Civil{y + (m <= 2), m, d};
}

// "YYYY-MM-DD", the format of every Banking API date parameter.
inline std::string
Iso(Day day)
{
	const Civil c = ToCivil(day);
	char buf[32];
	std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
	return buf;
}

static_assert(FromCivil(2000, 1, 1) == 0);
static_assert(ToCivil(FromCivil(2024, 2, 29)).day == 29);

}  // namespace pix::dates
