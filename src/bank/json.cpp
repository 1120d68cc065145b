// json::Page: in-situ parsing with exact numbers, and serialization that keeps them.
#include "bank/json.hpp"

#include "bank/error.hpp"

#include <algorithm>
#include <cstring>

namespace pix::json {

namespace {

// SAX events into the document; number texts are also recorded by address.
struct ExactHandler {
	rapidjson::Document &doc;
	std::vector<const char *> &numbers;
	int depth = 0;
	bool too_deep = false;

	bool Null() { return doc.Null(); }
	bool Bool(bool b) { return doc.Bool(b); }
	// With kParseNumbersAsStringsFlag only RawNumber is called for numbers; these stay for
	// the handler concept.
	bool Int(int i) { return doc.Int(i); }
	bool Uint(unsigned i) { return doc.Uint(i); }
	bool Int64(int64_t i) { return doc.Int64(i); }
	bool Uint64(uint64_t i) { return doc.Uint64(i); }
	bool Double(double d) { return doc.Double(d); }
	bool
	RawNumber(const char *s, rapidjson::SizeType len, bool copy)
	{
		numbers.push_back(s);  // in situ: copy is false and the value keeps this address
		return doc.String(s, len, copy);
	}
	bool String(const char *s, rapidjson::SizeType len, bool copy) { return doc.String(s, len, copy); }
	bool
	Open()
	{
		too_deep = ++depth > kMaxDepth;
		return !too_deep;  // false stops the parse
	}
	bool StartObject() { return Open() && doc.StartObject(); }
	bool Key(const char *s, rapidjson::SizeType len, bool copy) { return doc.Key(s, len, copy); }
	bool EndObject(rapidjson::SizeType n) { return --depth, doc.EndObject(n); }
	bool StartArray() { return Open() && doc.StartArray(); }
	bool EndArray(rapidjson::SizeType n) { return --depth, doc.EndArray(n); }
};

constexpr unsigned kFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag;

}  // namespace

namespace {
constexpr size_t kArenaStep = 1 << 20;
constexpr size_t kMaxArena = 64u << 20;  // a bigger tree takes malloc's chunks beyond it
}  // namespace

void
Page::Reserve(size_t bytes)
{
	size_t size = (bytes + kArenaStep - 1) / kArenaStep * kArenaStep;
	auto arena = std::unique_ptr<char[]>(new char[size]);  // untouched: resident once used
	auto pool = std::make_unique<rapidjson::MemoryPoolAllocator<>>(arena.get(), size);
	auto doc = std::make_unique<rapidjson::Document>(pool.get());
	doc_ = std::move(doc);  // the old tree (empty) goes before its pool
	pool_ = std::move(pool);
	arena_ = std::move(arena);
	arena_size_ = size;
}

void
Page::Parse(std::string &&body)
{
	Release();
	// Room for a tree as big as the last one, and at least the text's size (a tree of this
	// bank's pages is about as big as their text).
	size_t want = std::max(body.size() + body.size() / 8, last_tree_);
	if (want > arena_size_ && want <= kMaxArena && want > kArenaStep)
		Reserve(want);
	body_ = std::move(body);
	// In situ, a raw NUL byte would end the text early (and what follows it go unread).
	if (const void *nul = std::memchr(body_.data(), '\0', body_.size()))
		throw Error(sqlstate::kReplyHandle, "the bank's answer is not valid JSON",
		            "A NUL byte at offset " +
		                std::to_string(static_cast<const char *>(nul) - body_.data()) + ".");
	rapidjson::ParseResult result;
	bool too_deep = false;
	auto generate = [&](rapidjson::Document &d) {
		ExactHandler handler{d, numbers_};
		rapidjson::InsituStringStream in(body_.data());
		rapidjson::Reader reader;
		result = reader.Parse<kFlags>(in, handler);
		too_deep = handler.too_deep;
		return !result.IsError();
	};
	doc_->Populate(generate);
	last_tree_ = doc_->GetAllocator().Size();
	if (result.IsError()) {
		doc_->SetNull();
		numbers_.clear();
		if (too_deep)
			throw Error(sqlstate::kReplyHandle,
			            "the bank's answer nests objects and arrays deeper than " + std::to_string(kMaxDepth) + " levels",
			            "At offset " + std::to_string(result.Offset()) + ".");
		throw Error(sqlstate::kReplyHandle, "the bank's answer is not valid JSON",
		            std::string(rapidjson::GetParseError_En(result.Code())) + " at offset " +
		                std::to_string(result.Offset()));
	}
}

void
Page::Release() noexcept
{
	// The tree only: its arena stays for the next tree, and the chunks beyond it go back to
	// malloc. The text stays until Parse replaces it; freeing it here returns it to the
	// system, and the next answer's pages then fault in again (a third more time for
	// count(*), measured).
	numbers_.clear();
	doc_->SetNull();
	doc_->GetAllocator().Clear();
}

void
Page::Clear() noexcept
{
	Release();
	std::string().swap(body_);
	std::vector<const char *>().swap(numbers_);
	last_tree_ = 0;
	try {
		doc_ = std::make_unique<rapidjson::Document>();  // before the pool it used
		pool_.reset();
		arena_.reset();
		arena_size_ = 0;
	} catch (...) {
		// out of memory for an empty document: the arena stays
	}
}

std::string
Page::TakeText() noexcept
{
	Release();
	return std::move(body_);
}

void
Page::Swap(Page &other) noexcept
{
	body_.swap(other.body_);
	arena_.swap(other.arena_);
	std::swap(arena_size_, other.arena_size_);
	std::swap(last_tree_, other.last_tree_);
	pool_.swap(other.pool_);
	doc_.swap(other.doc_);
	numbers_.swap(other.numbers_);
}

namespace {

void
Write(const Page &page, const rapidjson::Value &v, rapidjson::Writer<rapidjson::StringBuffer> &w)
{
	switch (v.GetType()) {
	case rapidjson::kObjectType:
		w.StartObject();
		for (const auto &m : v.GetObject()) {
			w.Key(m.name.GetString(), m.name.GetStringLength());
			Write(page, m.value, w);
		}
		w.EndObject();
		break;
	case rapidjson::kArrayType:
		w.StartArray();
		for (const auto &e : v.GetArray())
			Write(page, e, w);
		w.EndArray();
		break;
	case rapidjson::kStringType:
		if (page.IsNumber(v))
			w.RawValue(v.GetString(), v.GetStringLength(), rapidjson::kNumberType);
		else
			w.String(v.GetString(), v.GetStringLength());
		break;
	default:  // null, booleans, and numbers added after parsing
		v.Accept(w);
		break;
	}
}

}  // namespace

void
Page::Serialize(const rapidjson::Value &v, std::string &out) const
{
	rapidjson::StringBuffer buf;
	rapidjson::Writer<rapidjson::StringBuffer> w(buf);
	Write(*this, v, w);
	out.assign(buf.GetString(), buf.GetSize());
}

}  // namespace pix::json
