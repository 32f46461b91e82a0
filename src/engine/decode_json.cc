// decode_json.cc — the only C++ in weir: simdjson's On-Demand API walking
// one event object, behind the C functions of decode-internal.h.
//
// On-Demand indexes the whole line with SIMD (stage 1, dispatched at run
// time to the best kernel for the CPU), then parses only what is asked for:
// keys are read one after the other, the value of a key the stream does not
// use is skipped without being parsed, and numbers are handed to decode.c
// as their token text so decimals can be read exactly. The parser lives in
// the reader object and keeps its buffers between events, so steady-state
// decoding allocates nothing.
//
// No exception may cross into C: only the error-code API (`.get(x)`) is
// used, nothing here allocates with a throwing new, and the entry points are
// noexcept (a throw would end the process, not unwind through C frames).
#include <simdjson.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "engine/decode-internal.h"

using simdjson::error_code;
using simdjson::SUCCESS;
namespace ondemand = simdjson::ondemand;

static_assert(WEIR_DECODE_PADDING == simdjson::SIMDJSON_PADDING,
              "decode.h's padding must be simdjson's");

struct weir_json_reader {
    // A line never exceeds WEIR_DECODE_MAX_LINE (decode.c checks first).
    ondemand::parser parser{WEIR_DECODE_MAX_LINE};
    // Stage 1 alone, for the flat fast path (decode_flat.c): the same
    // run-time dispatched kernel On-Demand uses, through simdjson's
    // implementation interface, which hands out the token positions.
    std::unique_ptr<simdjson::internal::dom_parser_implementation> tokens;
    bool use_flat = true; // off only in tests comparing the two paths
};

extern "C" void weir_json_reader_use_flat(weir_json_reader *r, bool on) noexcept
{
    r->use_flat = on;
}

// Flat objects need no depth; stage 1 does not look at it.
static constexpr size_t TOKENS_MAX_DEPTH = 2;

extern "C" weir_json_reader *weir_json_reader_new(void) noexcept
{
    weir_json_reader *r = new (std::nothrow) weir_json_reader;
    if (!r)
        return nullptr;
    // The parser makes its string buffer at its first document: make it
    // now, so the first event that needs On-Demand, perhaps long after the
    // start, allocates nothing either.
    static const char empty[2 + simdjson::SIMDJSON_PADDING] = "{}";
    ondemand::document doc;
    if (r->parser.allocate(4096) != SUCCESS ||
        r->parser.iterate(empty, 2, sizeof empty).get(doc) != SUCCESS ||
        simdjson::get_active_implementation()->create_dom_parser_implementation(
            4096, TOKENS_MAX_DEPTH, r->tokens) != SUCCESS) {
        delete r;
        return nullptr;
    }
    return r;
}

extern "C" void weir_json_reader_free(weir_json_reader *r) noexcept
{
    delete r;
}

namespace {

// Where a reason goes, and the result of writing one.
struct failure {
    char *reason;
    size_t size;

    weir_decode_status say(weir_decode_status st, const char *fmt, ...) const noexcept
        __attribute__((format(printf, 3, 4)))
    {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, size, fmt, ap);
        va_end(ap);
        return st;
    }

    // A simdjson error while reading the document or the value of `field`.
    weir_decode_status json(error_code err, const char *field = nullptr) const noexcept
    {
        if (err == simdjson::MEMALLOC)
            return say(WEIR_DECODE_NO_MEMORY, "out of memory while parsing");
        if (err == simdjson::CAPACITY)
            return say(WEIR_DECODE_TOO_LARGE, "event is over the parser's capacity");
        if (field)
            return say(WEIR_DECODE_NOT_JSON, "field '%.64s': invalid JSON: %s", field,
                       simdjson::error_message(err));
        return say(WEIR_DECODE_NOT_JSON, "invalid JSON: %s", simdjson::error_message(err));
    }

    // The line is not one closed object. Starting the root object catches
    // a line that does not end in '}' ("{...} x", "{"a":1"), the check
    // after the last key the rest ("{...}{}"); both say the same, since
    // from the outside they are one mistake.
    weir_decode_status unclosed_or_trailing() const noexcept
    {
        return say(WEIR_DECODE_NOT_JSON, "invalid JSON: unclosed object, or text after it");
    }

    weir_decode_status root(error_code err) const noexcept
    {
        if (err == simdjson::INCOMPLETE_ARRAY_OR_OBJECT)
            return unclosed_or_trailing();
        return json(err);
    }
};

const char *json_type_name(ondemand::json_type t) noexcept
{
    switch (t) {
    case ondemand::json_type::array: return "array";
    case ondemand::json_type::object: return "object";
    case ondemand::json_type::number: return "number";
    case ondemand::json_type::string: return "string";
    case ondemand::json_type::boolean: return "bool";
    case ondemand::json_type::null: return "null";
    }
    return "?";
}

bool equal(std::string_view a, const char *b, size_t b_len) noexcept
{
    return a.size() == b_len && (b_len == 0 || std::memcmp(a.data(), b, b_len) == 0);
}

// The used field a key names, or nullptr. Keys are matched as written, in
// the input; only one with an escape in it ("\u0061mount", which never
// matches as written) is unescaped first, and only when it matched nothing.
error_code find_key(ondemand::field &field, const weir_json_stream &s, bool plain,
                    const weir_json_key *&found) noexcept
{
    const char *raw = field.key().raw();
    unsigned char c = (unsigned char)raw[0];
    for (unsigned i = s.first[c]; i < s.first[c + 1]; i++) {
        if (weir_json_key_is(raw, &s.keys[i])) {
            found = &s.keys[i];
            return SUCCESS;
        }
    }
    found = nullptr;
    if (plain)
        return SUCCESS; // a line without a backslash has no escaped key
    const char *end = raw;
    while (*end != '"' && *end != '\\')
        end++;
    if (*end == '"')
        return SUCCESS; // no escape: truly not a used field
    std::string_view key;
    error_code err = field.unescaped_key().get(key);
    if (err)
        return err;
    for (unsigned i = 0; i < s.n_keys; i++) {
        if (equal(key, s.keys[i].name, s.keys[i].len)) {
            found = &s.keys[i];
            break;
        }
    }
    return SUCCESS;
}

// The token with the whitespace before the next structural character cut.
std::string_view trimmed_token(ondemand::value &v) noexcept
{
    std::string_view token = v.raw_json_token();
    size_t len = token.size();
    while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t' ||
                       token[len - 1] == '\n' || token[len - 1] == '\r'))
        len--;
    return token.substr(0, len);
}

// Notes what the value holds in the slot. Only the value's own syntax is
// checked here; whether it suits the field's type is decode.c's business.
// In a plain line (no backslash anywhere) a string is its raw token between
// the quotes: stage 1 has already checked its UTF-8 and control bytes, and
// there is nothing to unescape, so it is used in place instead of copied.
error_code read_value(ondemand::value &v, const weir_json_key &key, bool plain,
                      weir_json_slot &slot) noexcept
{
    ondemand::json_type type;
    error_code err = v.type().get(type);
    if (err)
        return err;
    switch (type) {
    case ondemand::json_type::null: {
        // type() saw an 'n'; anything but "null" is a broken atom.
        bool is_null = false;
        if (v.is_null().get(is_null) != SUCCESS || !is_null)
            return simdjson::N_ATOM_ERROR;
        slot.kind = WEIR_JSON_NULL;
        return SUCCESS;
    }
    case ondemand::json_type::number: {
        // The token runs to the next structural character: cut the spaces.
        std::string_view token = trimmed_token(v);
        slot.text = token.data();
        slot.len = token.size();
        slot.f_ok = false;
        if (key.want_double)
            slot.f_ok = v.get_double().get(slot.f) == SUCCESS;
        slot.kind = WEIR_JSON_NUMBER;
        return SUCCESS;
    }
    case ondemand::json_type::string: {
        if (plain) {
            std::string_view token = trimmed_token(v);
            if (token.size() >= 2 && token.back() == '"') {
                slot.text = token.data() + 1;
                slot.len = token.size() - 2;
                slot.kind = WEIR_JSON_STRING;
                return SUCCESS;
            }
        }
        std::string_view s;
        err = v.get_string().get(s);
        if (err)
            return err;
        slot.text = s.data();
        slot.len = s.size();
        slot.kind = WEIR_JSON_STRING;
        return SUCCESS;
    }
    case ondemand::json_type::boolean:
        if (v.get_bool().get(slot.b) != SUCCESS)
            return v.raw_json_token().substr(0, 1) == "t" ? simdjson::T_ATOM_ERROR
                                                          : simdjson::F_ATOM_ERROR;
        slot.kind = WEIR_JSON_BOOL;
        return SUCCESS;
    case ondemand::json_type::object:
        slot.kind = WEIR_JSON_OBJECT; // skipped by the next key's read
        return SUCCESS;
    case ondemand::json_type::array:
        slot.kind = WEIR_JSON_ARRAY;
        return SUCCESS;
    }
    return simdjson::INCORRECT_TYPE;
}

// Anything but whitespace after the root object is an error. On-Demand
// reports it only when asked: its position is then still in bounds.
bool has_trailing_content(ondemand::document &doc) noexcept
{
    const char *where = nullptr;
    return doc.current_location().get(where) == SUCCESS;
}

// Finds the selector's value, names the stream, rewinds the document.
weir_decode_status select_stream(ondemand::document &doc, const weir_json_stream *streams,
                                 size_t n_streams, std::string_view selector,
                                 unsigned *stream, const failure &fail) noexcept
{
    ondemand::object obj;
    error_code err = doc.get_object().get(obj);
    if (err)
        return fail.root(err);
    for (auto field_result : obj) {
        ondemand::field field;
        std::string_view key;
        if ((err = std::move(field_result).get(field)) || (err = field.unescaped_key().get(key)))
            return fail.json(err);
        if (key != selector)
            continue;
        ondemand::value v = field.value();
        ondemand::json_type type;
        if ((err = v.type().get(type)))
            return fail.json(err, selector.data());
        if (type == ondemand::json_type::null) {
            bool is_null = false;
            if (v.is_null().get(is_null) != SUCCESS || !is_null)
                return fail.json(simdjson::N_ATOM_ERROR, selector.data());
            return fail.say(WEIR_DECODE_NO_STREAM, "stream selector '%.64s' is null",
                            selector.data());
        }
        if (type != ondemand::json_type::string)
            return fail.say(WEIR_DECODE_WRONG_TYPE,
                            "stream selector '%.64s': expected string, got %s",
                            selector.data(), json_type_name(type));
        std::string_view name;
        if ((err = v.get_string().get(name)))
            return fail.json(err, selector.data());
        for (size_t s = 0; s < n_streams; s++) {
            if (equal(name, streams[s].name, streams[s].name_len)) {
                *stream = (unsigned)s;
                doc.rewind();
                return WEIR_DECODE_OK;
            }
        }
        char quoted[96];
        return fail.say(WEIR_DECODE_UNKNOWN_STREAM, "unknown stream %s",
                        weir_decode_quote(quoted, sizeof quoted, name.data(), name.size(), 64));
    }
    if (has_trailing_content(doc))
        return fail.unclosed_or_trailing();
    if (*stream < n_streams) {
        // no selector: the stream the caller named as the default
        doc.rewind();
        return WEIR_DECODE_OK;
    }
    return fail.say(WEIR_DECODE_NO_STREAM, "no stream selector '%.64s'", selector.data());
}

// Stage 1 into r->tokens (as large as the parser), then decode_flat.c's
// walk over its tokens; false
// when either declines (the caller then takes the On-Demand path, which
// repeats stage 1 and finds any error itself).
bool flat_read(weir_json_reader *r, const char *buf, size_t len,
               const weir_json_stream *streams, size_t n_streams, const char *selector,
               size_t selector_len, weir_json_slot *slots, unsigned *stream) noexcept
{
    simdjson::internal::dom_parser_implementation &t = *r->tokens;
    if (t.stage1(reinterpret_cast<const uint8_t *>(buf), len, simdjson::stage1_mode::regular) !=
        SUCCESS)
        return false;
    return weir_json_flat_read(buf, t.structural_indexes.get(), t.n_structural_indexes, streams,
                               n_streams, selector, selector_len, slots, stream);
}

} // namespace

extern "C" weir_decode_status
weir_json_reader_read(weir_json_reader *r, const char *buf, size_t len, size_t capacity,
                      const weir_json_stream *streams, size_t n_streams, const char *selector,
                      size_t selector_len, weir_json_slot *slots, unsigned *stream,
                      char *reason, size_t reason_size) noexcept
{
    const failure fail{reason, reason_size};
    // One scan of the line spares every key and string its own search for
    // escapes: nearly every event has none, and only those take the fast
    // path.
    const bool plain = std::memchr(buf, '\\', len) == nullptr;
    ondemand::parser &parser = r->parser;
    if (len > parser.capacity()) {
        // Grow by doubling, as the input buffer does, not to each new length;
        // both halves at once, so neither allocates later for a line of a
        // length already seen, whichever path that line takes.
        size_t want = parser.capacity() * 2;
        if (want < len)
            want = len;
        if (want > parser.max_capacity())
            want = parser.max_capacity();
        error_code err = parser.allocate(want);
        if (!err)
            err = r->tokens->allocate(want, TOKENS_MAX_DEPTH);
        if (err)
            return fail.json(err);
    }
    if (plain && r->use_flat && flat_read(r, buf, len, streams, n_streams, selector, selector_len, slots,
                           stream))
        return WEIR_DECODE_OK;
    ondemand::document doc;
    error_code err = parser.iterate(buf, len, capacity).get(doc);
    if (err)
        return fail.json(err);
    ondemand::json_type type;
    if ((err = doc.type().get(type)))
        return fail.json(err);
    if (type != ondemand::json_type::object) {
        // doc.type() looks at the first byte only: "nonsense" types as null.
        // Reading the scalar tells valid JSON from text that merely starts
        // like it, so the status says which of the two the line was.
        bool valid = true;
        if (type == ondemand::json_type::null) {
            bool is_null = false;
            valid = !doc.is_null().get(is_null) && is_null;
        } else if (type == ondemand::json_type::boolean) {
            bool b;
            valid = !doc.get_bool().get(b);
        } else if (type == ondemand::json_type::number) {
            double d;
            valid = !doc.get_double().get(d);
        } else if (type == ondemand::json_type::string) {
            std::string_view sv;
            valid = !doc.get_string().get(sv);
        }
        if (!valid)
            return fail.say(WEIR_DECODE_NOT_JSON, "invalid JSON: not a JSON value");
        return fail.say(WEIR_DECODE_NOT_OBJECT, "expected a JSON object, got %s",
                        json_type_name(type));
    }

    unsigned s = 0;
    if (n_streams > 1) {
        weir_decode_status st = select_stream(doc, streams, n_streams,
                                              std::string_view(selector, selector_len),
                                              stream, fail);
        if (st != WEIR_DECODE_OK)
            return st;
        s = *stream;
    }
    *stream = s;
    const weir_json_stream &plan = streams[s];
    for (unsigned i = 0; i < plan.n_slots; i++)
        slots[i].kind = WEIR_JSON_ABSENT;

    ondemand::object obj;
    if ((err = doc.get_object().get(obj)))
        return fail.root(err);
    for (auto field_result : obj) {
        ondemand::field field;
        const weir_json_key *k = nullptr;
        if ((err = std::move(field_result).get(field)) ||
            (err = find_key(field, plan, plain, k)))
            return fail.json(err);
        // Unused or undeclared, or a repeated key (the first one won).
        if (!k || slots[k->slot].kind != WEIR_JSON_ABSENT)
            continue;
        if ((err = read_value(field.value(), *k, plain, slots[k->slot])))
            return fail.json(err, k->name);
    }
    if (has_trailing_content(doc))
        return fail.unclosed_or_trailing();
    return WEIR_DECODE_OK;
}
