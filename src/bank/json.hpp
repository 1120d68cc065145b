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
// Every Document::Parse is iterative: RapidJSON's default parser recurses once per nesting
// level, and an answer of a million '[' overflows the stack (SIGSEGV, a crashed backend).
// The iterative one keeps its stack on the heap. Pages (json::Page) also cap the depth.
#ifndef RAPIDJSON_PARSE_DEFAULT_FLAGS
#define RAPIDJSON_PARSE_DEFAULT_FLAGS kParseIterativeFlag
#endif

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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

// Integer member (accepting a number or a numeric string); fallback when absent/bad. In a
// json::Page numbers are strings without a NUL terminator: only the length is used.
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
		const char *p = m->GetString();
		const char *end = p + m->GetStringLength();
		long long out = 0;
		auto [next, ec] = std::from_chars(p, end, out);
		if (ec != std::errc() || next == p)
			return fallback;
		// "10.0" or "1E+2" (a count written as a decimal): only an integral value is taken.
		if (next != end) {
			std::string copy(p, end);
			char *stop = nullptr;
			double d = std::strtod(copy.c_str(), &stop);
			if (*stop != '\0' || d != static_cast<double>(static_cast<long long>(d)))
				return fallback;
			return static_cast<long long>(d);
		}
		return out;
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
		return std::string_view(m->GetString(), m->GetStringLength()) == "true";
	return fallback;
}

// The deepest nesting of objects and arrays a page may have (the bank's answers have under
// 10 levels); the tree is walked recursively (serialization, jsonb), so it is bounded.
constexpr int kMaxDepth = 64;

// Reads the scalar members of text's root object that come before its member `stop`, without
// parsing the rest, into head (an object; numbers as their text, as in a Page; the members
// that are objects or arrays are left out). True when `stop` was reached with valid JSON before
// it: head then holds every scalar member the whole text has before it.
bool ReadHead(const std::string &text, const std::string &stop, rapidjson::Document &head);

// Compact JSON text of a value.
inline void
Serialize(const rapidjson::Value &v, std::string &out)
{
	rapidjson::StringBuffer buf;
	rapidjson::Writer<rapidjson::StringBuffer> w(buf);
	v.Accept(w);
	out.assign(buf.GetString(), buf.GetSize());
}

// The index in `keys` of the name s[0, len), or keys.size() when none is that name.
inline size_t
FindKey(const std::vector<std::string> &keys, const char *s, size_t len)
{
	size_t j = 0;
	while (j < keys.size() && (keys[j].size() != len || std::memcmp(keys[j].data(), s, len) != 0))
		j++;
	return j;
}

// What a page's tree keeps of its rows: the members a scan's columns read, the rest of each
// row being parsed (so checked as JSON) but not built. Everything outside the rows stays.
struct Projection {
	static constexpr int kWhole = -1;
	struct Node {
		std::vector<std::string> keys;  // the members kept (every member of such a name)
		std::vector<int> child;         // per key: the node its value is kept by when it is an
		                                // object, or kWhole
	};
	std::string rows_key;     // the top-level member whose array holds the rows
	std::vector<Node> nodes;  // nodes[0] is a row object
};

// One answer of the bank, parsed in situ with every number kept exactly as the bank wrote
// it (never through a double). RapidJSON's kParseNumbersAsStringsFlag hands over each
// number's own text; in the DOM it becomes a string value pointing at that text inside the
// body (not NUL-terminated: the byte after it is the next comma or brace). The page records
// the address of every such text, in parse order (ascending), so IsNumber() tells a number
// from a string that merely looks like one ("24.90"), and Serialize() writes numbers
// unquoted with all their digits. Values added to Doc() after parsing are never numbers.
class Page {
public:
	// Replaces the page. Throws pix::Error (HV00K) when the body is not valid JSON or nests
	// deeper than kMaxDepth. With a projection, the rows' other members are left out of the
	// tree (each row stays an object, a row that is not one stays as it is).
	void Parse(std::string &&body, const Projection *projection = nullptr);
	// Frees the page's tree before the next page is downloaded (so that a scan holds one
	// tree, not two). Values taken from it are invalid afterwards. The tree's memory is kept
	// for the next page's tree.
	void Release() noexcept;
	// Frees the tree, its memory and the text.
	void Clear() noexcept;
	// Frees the tree and hands over the text's storage (to receive another answer into).
	std::string TakeText() noexcept;
	void Swap(Page &other) noexcept;
	rapidjson::Document &
	Doc()
	{
		return *doc_;
	}
	const rapidjson::Document &
	Doc() const
	{
		return *doc_;
	}
	// True when v is a string value that was a JSON number in the body.
	bool
	IsNumber(const rapidjson::Value &v) const
	{
		if (numbers_.empty() || !v.IsString())
			return false;
		const char *p = v.GetString();
		if (p < numbers_.front() || p > numbers_.back())
			return false;
		auto it = std::lower_bound(numbers_.begin(), numbers_.end(), p);
		return it != numbers_.end() && *it == p;
	}
	// Compact JSON text of v; numbers as the bank's digits, unquoted.
	void Serialize(const rapidjson::Value &v, std::string &out) const;
	// True when every string the parse gave (keys and values) is valid UTF-8 without a NUL:
	// the text was, and it has no \u escape (the only way to write a NUL or a lone surrogate).
	// Values added to Doc() after parsing must be such text too.
	bool
	Plain() const
	{
		return plain_;
	}
	// Bytes of the text, and of the last tree parsed from it.
	size_t
	TextBytes() const
	{
		return body_.size();
	}
	size_t
	TreeBytes() const
	{
		return last_tree_;
	}

private:
	void Reserve(size_t bytes);

	std::string body_;  // the parsed text (strings decoded in place)
	// The tree's first chunk, kept from page to page: fresh memory faults in page by page,
	// which for a 7 MB tree costs more than parsing it. Beyond it the pool mallocs chunks.
	std::unique_ptr<char[]> arena_;
	size_t arena_size_ = 0;
	size_t last_tree_ = 0;  // bytes the last tree took
	std::unique_ptr<rapidjson::MemoryPoolAllocator<>> pool_;  // on arena_
	std::unique_ptr<rapidjson::Document> doc_ = std::make_unique<rapidjson::Document>();
	std::vector<const char *> numbers_;  // number texts in body_, ascending
	bool plain_ = false;
};

// How many bytes s[0, n) begins with that are 0x01-0x7F (ASCII without NUL: the same text in
// UTF-8 and in every server encoding), read eight at a time.
inline size_t
AsciiRun(const char *s, size_t n)
{
	constexpr uint64_t kHigh = 0x8080808080808080ULL, kOnes = 0x0101010101010101ULL;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		std::memcpy(&x, s + i, 8);
		if ((x & kHigh) != 0 || ((x - kOnes) & ~x & kHigh) != 0)  // a high bit, or a zero byte
			break;
	}
	while (i < n && static_cast<unsigned char>(s[i]) - 1u < 0x7Fu)
		i++;
	return i;
}

// s[0, n) is well-formed UTF-8 (the Unicode standard's table: no overlong forms, surrogates or
// code points past U+10FFFF; what PostgreSQL's pg_verify_mbstr accepts) without a NUL byte.
bool ValidUtf8(const char *s, size_t n);

}  // namespace pix::json
