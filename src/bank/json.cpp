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

// ExactHandler's events, with the members of rows that the projection does not keep left
// out: a skipped member's name and value are parsed and dropped, and each object ends with
// the count of members kept (Document::EndObject pops that many pairs).
struct ProjectingHandler {
	ExactHandler exact;
	const Projection &projection;
	// An open container: an object filtered by nodes[node], kWhole (kept whole), the root
	// object (where the rows are found) or the rows' array.
	static constexpr int kRoot = -2;
	static constexpr int kRows = -3;
	struct Frame {
		int node;
		rapidjson::SizeType kept;
	};
	std::vector<Frame> frames;
	int skip = 0;            // depth inside a skipped value
	bool skip_next = false;  // the next value is a skipped member's
	int next_node = Projection::kWhole;  // for the next value, as its member's key said

	// True when a scalar value is kept.
	bool
	Scalar()
	{
		if (skip > 0)
			return false;
		if (skip_next) {
			skip_next = false;
			return false;
		}
		return true;
	}
	// True when a container starting now is kept; its frame is then pushed.
	bool
	Start(bool object)
	{
		if (skip > 0) {
			skip++;
			return false;
		}
		if (skip_next) {
			skip_next = false;
			skip = 1;
			return false;
		}
		int node = Projection::kWhole;
		if (frames.empty())
			node = object ? kRoot : Projection::kWhole;
		else if (frames.back().node == kRows)
			node = object ? 0 : Projection::kWhole;  // a row, or a non-object row kept as it is
		else if (next_node == kRows)
			node = object ? Projection::kWhole : kRows;
		else if (object)
			node = next_node;
		next_node = Projection::kWhole;
		frames.push_back(Frame{node, 0});
		return true;
	}
	// True when the container ending now was kept (its frame is then popped into *f).
	bool
	End(Frame *f)
	{
		if (skip > 0) {
			skip--;
			return false;
		}
		*f = frames.back();
		frames.pop_back();
		return true;
	}

	bool Null() { return !Scalar() || exact.Null(); }
	bool Bool(bool b) { return !Scalar() || exact.Bool(b); }
	bool Int(int i) { return !Scalar() || exact.Int(i); }
	bool Uint(unsigned i) { return !Scalar() || exact.Uint(i); }
	bool Int64(int64_t i) { return !Scalar() || exact.Int64(i); }
	bool Uint64(uint64_t i) { return !Scalar() || exact.Uint64(i); }
	bool Double(double d) { return !Scalar() || exact.Double(d); }
	bool RawNumber(const char *s, rapidjson::SizeType len, bool copy) { return !Scalar() || exact.RawNumber(s, len, copy); }
	bool String(const char *s, rapidjson::SizeType len, bool copy) { return !Scalar() || exact.String(s, len, copy); }
	bool
	StartObject()
	{
		if (!exact.Open())
			return false;
		return !Start(true) || exact.doc.StartObject();
	}
	bool
	StartArray()
	{
		if (!exact.Open())
			return false;
		return !Start(false) || exact.doc.StartArray();
	}
	bool
	EndObject(rapidjson::SizeType)
	{
		--exact.depth;
		Frame f;
		return !End(&f) || exact.doc.EndObject(f.kept);
	}
	bool
	EndArray(rapidjson::SizeType n)
	{
		--exact.depth;
		Frame f;
		return !End(&f) || exact.doc.EndArray(n);  // arrays keep every element
	}
	bool
	Key(const char *s, rapidjson::SizeType len, bool copy)
	{
		if (skip > 0)
			return true;
		Frame &f = frames.back();
		next_node = Projection::kWhole;
		if (f.node >= 0) {
			const Projection::Node &n = projection.nodes[f.node];
			size_t j = FindKey(n.keys, s, len);
			if (j == n.keys.size()) {
				skip_next = true;
				return true;
			}
			next_node = n.child[j];
		} else if (f.node == kRoot && projection.rows_key.size() == len &&
		           std::memcmp(projection.rows_key.data(), s, len) == 0) {
			next_node = kRows;
		}
		f.kept++;
		return exact.Key(s, len, copy);
	}
};

// The root object's scalar members into an object, until the member `stop`.
struct HeadHandler {
	rapidjson::Document &head;
	const std::string &stop;
	int depth = 0;
	bool reached = false;
	rapidjson::Value key;

	bool
	Put(rapidjson::Value v)
	{
		if (depth == 1)
			head.AddMember(key, v, head.GetAllocator());
		return true;
	}
	bool Null() { return Put(rapidjson::Value()); }
	bool Bool(bool b) { return Put(rapidjson::Value(b)); }
	bool Int(int) { return true; }  // numbers come as RawNumber (kParseNumbersAsStringsFlag)
	bool Uint(unsigned) { return true; }
	bool Int64(int64_t) { return true; }
	bool Uint64(uint64_t) { return true; }
	bool Double(double) { return true; }
	bool
	RawNumber(const char *s, rapidjson::SizeType len, bool)
	{
		return depth != 1 || Put(rapidjson::Value(s, len, head.GetAllocator()));
	}
	bool
	String(const char *s, rapidjson::SizeType len, bool)
	{
		return depth != 1 || Put(rapidjson::Value(s, len, head.GetAllocator()));
	}
	bool StartObject() { return ++depth <= kMaxDepth; }
	bool
	Key(const char *s, rapidjson::SizeType len, bool)
	{
		if (depth != 1)
			return true;
		if (stop.size() == len && std::memcmp(stop.data(), s, len) == 0) {
			reached = true;
			return false;  // stops the parse here
		}
		key.SetString(s, len, head.GetAllocator());
		return true;
	}
	bool EndObject(rapidjson::SizeType) { return --depth, true; }
	bool StartArray() { return depth >= 1 && ++depth <= kMaxDepth; }  // a root array: no head
	bool EndArray(rapidjson::SizeType) { return --depth, true; }
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
Page::Parse(std::string &&body, const Projection *projection)
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
	plain_ = false;
	bool escapes = false;  // a \u escape; each backslash found skips the character it escapes
	for (size_t i = 0, n = body_.size(); i + 1 < n; i += 2) {
		const void *b = std::memchr(body_.data() + i, '\\', n - 1 - i);  // not the last byte: it escapes nothing
		if (!b)
			break;
		i = static_cast<size_t>(static_cast<const char *>(b) - body_.data());
		if (body_[i + 1] == 'u') {
			escapes = true;
			break;
		}
	}
	const bool plain = !escapes && ValidUtf8(body_.data(), body_.size());
	rapidjson::ParseResult result;
	bool too_deep = false;
	auto generate = [&](rapidjson::Document &d) {
		ExactHandler handler{d, numbers_};
		rapidjson::InsituStringStream in(body_.data());
		rapidjson::Reader reader;
		if (projection && !projection->nodes.empty()) {
			ProjectingHandler filter{handler, *projection, {}};
			filter.frames.reserve(16);
			result = reader.Parse<kFlags>(in, filter);
			too_deep = filter.exact.too_deep;
		} else {
			result = reader.Parse<kFlags>(in, handler);
			too_deep = handler.too_deep;
		}
		return !result.IsError();
	};
	doc_->Populate(generate);
	last_tree_ = doc_->GetAllocator().Size();
	plain_ = plain && !result.IsError();
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
	plain_ = false;
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
	std::swap(plain_, other.plain_);
}

bool
ReadHead(const std::string &text, const std::string &stop, rapidjson::Document &head)
{
	head.SetObject();
	HeadHandler handler{head, stop, 0, false, {}};
	rapidjson::StringStream in(text.c_str());  // read only; a NUL byte ends it (no stop: false)
	rapidjson::Reader reader;
	reader.Parse<rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag>(in, handler);
	return handler.reached;
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

bool
ValidUtf8(const char *text, size_t n)
{
	const auto *s = reinterpret_cast<const unsigned char *>(text);
	size_t i = 0;
	while ((i += AsciiRun(text + i, n - i)) < n) {
		unsigned char c = s[i];  // NUL or the first byte of a multi-byte character
		size_t len;
		unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range (Unicode Table 3-7)
		if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;  // not a surrogate
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;  // not past U+10FFFF
		} else
			return false;  // NUL, a continuation byte, C0/C1 (overlong) or F5..FF
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += len;
	}
	return true;
}

}  // namespace pix::json
