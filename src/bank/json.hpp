// The one place RapidJSON is included. Its default assert() would abort the backend on
// misuse, so it throws instead; callers still check types before every access.
#pragma once
#include "bank/cpp_only.hpp"

#include <stdexcept>

#ifndef RAPIDJSON_ASSERT
#define RAPIDJSON_ASSERT(x)                                                                  \
	do {                                                                                     \
		if (!(x))                                                                            \
			throw std::logic_error("RapidJSON assertion failed: " #x);                       \
	} while (0)
#endif
#define RAPIDJSON_HAS_STDSTRING 1

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

namespace pix::json {

// Member lookup that never asserts: nullptr when v is not an object or lacks the key.
inline const rapidjson::Value *
Find(const rapidjson::Value &v, std::string_view key)
{
	if (!v.IsObject())
		return nullptr;
	auto it = v.FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
	return it == v.MemberEnd() ? nullptr : &it->value;
}

// String member or empty.
inline std::string
GetString(const rapidjson::Value &v, std::string_view key)
{
	const rapidjson::Value *m = Find(v, key);
	if (m && m->IsString())
		return std::string(m->GetString(), m->GetStringLength());
	return {};
}

// Integer member (accepting a number or a numeric string); fallback when absent/bad.
inline long long
GetInt(const rapidjson::Value &v, std::string_view key, long long fallback)
{
	const rapidjson::Value *m = Find(v, key);
	if (!m)
		return fallback;
	if (m->IsInt64())
		return m->GetInt64();
	if (m->IsUint64())
		return static_cast<long long>(m->GetUint64());
	if (m->IsDouble())
		return static_cast<long long>(m->GetDouble());
	if (m->IsString()) {
		try {
			return std::stoll(m->GetString());
		} catch (const std::exception &) {
			return fallback;
		}
	}
	return fallback;
}

// Boolean member (accepting true/false or "true"/"false"); fallback when absent/bad.
inline bool
GetBool(const rapidjson::Value &v, std::string_view key, bool fallback)
{
	const rapidjson::Value *m = Find(v, key);
	if (!m)
		return fallback;
	if (m->IsBool())
		return m->GetBool();
	if (m->IsString())
		return std::string_view(m->GetString()) == "true";
	return fallback;
}

// Compact JSON text of a value.
inline void
Serialize(const rapidjson::Value &v, std::string &out)
{
	rapidjson::StringBuffer buf;
	rapidjson::Writer<rapidjson::StringBuffer> w(buf);
	v.Accept(w);
	out.assign(buf.GetString(), buf.GetSize());
}

}  // namespace pix::json
