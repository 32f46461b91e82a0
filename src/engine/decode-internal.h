/* decode-internal.h — the seam between the two halves of the event decoder.
 *
 * decode.c (C) knows weir: streams, field types, values, the reasons given
 * for a rejected event. decode_json.cc (C++) knows simdjson: it walks one
 * JSON object and, for each key the selected stream uses, notes what the
 * first occurrence holds (a number's token, a string's unescaped bytes, a
 * bool) in a weir_json_slot. decode.c then converts the slots to typed
 * values. Keeping the conversions in C keeps the C++ file small and lets
 * the exact number and time parsers (decode_text.c) be tested on their own.
 *
 * Everything here is plain data both languages can include; nothing here
 * allocates except weir_json_reader_new(). */
#ifndef WEIR_ENGINE_DECODE_INTERNAL_H
#define WEIR_ENGINE_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/decode.h"

#ifdef __cplusplus
extern "C" {
/* In C++17 noexcept is part of a function's type: the declarations here
 * must say it for the definitions in decode_json.cc to match. */
#define WEIR_NOEXCEPT noexcept
#else
#define WEIR_NOEXCEPT
#endif

/* The JSON type the reader found for a key. */
typedef enum weir_json_kind {
    WEIR_JSON_ABSENT = 0, /* the key did not occur */
    WEIR_JSON_NULL,
    WEIR_JSON_NUMBER,
    WEIR_JSON_STRING,
    WEIR_JSON_BOOL,
    WEIR_JSON_OBJECT,
    WEIR_JSON_ARRAY,
} weir_json_kind;

/* What the first occurrence of a used key holds. */
typedef struct weir_json_slot {
    const char *text; /* NUMBER: its token, trailing spaces cut, in the input
                         buffer; STRING: its bytes, in the input when
                         it has no escape, else unescaped in the parser */
    size_t len;       /* bytes at text */
    double f;         /* NUMBER of a float field: simdjson's value... */
    bool f_ok;        /* ...if it could read one */
    bool b;           /* BOOL */
    uint8_t kind;     /* a weir_json_kind */
} weir_json_slot;

/* One used field of a stream, as the reader matches keys against it. */
typedef struct weir_json_key {
    const char *name; /* borrowed from the AST: an identifier, so it holds
                         no quote or backslash */
    uint32_t len;
    uint32_t slot;    /* the field's ast_field.index */
    bool want_double; /* float field: let simdjson parse the number */
    /* Names under 16 bytes: the 16 bytes a matching key starts with (the
     * name, its closing quote) and which of them count, as two words in
     * memory order, so a key is matched with two loads and compares. */
    uint64_t word[2], mask[2];
} weir_json_key;

/* The longest name matched by words (its quote makes 16 bytes). */
#define WEIR_JSON_WORD_KEY_MAX 15

/* What the reader needs to know about one stream. Keys are found by their
 * first byte: keys[first[c], first[c + 1]) are the used fields whose name
 * starts with byte c, so a key is compared with one name or two, in place
 * in the input, without hashing or copying it first. */
typedef struct weir_json_stream {
    const char *name; /* ast_stream name, for the selector */
    size_t name_len;
    const weir_json_key *keys; /* used fields, ordered by first byte */
    uint16_t first[257];
    unsigned n_keys;
    unsigned n_slots; /* the stream's field count: slots reset per event */
} weir_json_stream;

/* Whether the key whose text starts at `raw` (just past its opening quote)
 * is `key`. A short name is compared as two words: the 16 bytes read may
 * run past the key, but not past the line's padding, since every key is
 * followed by at least `:v}` and WEIR_DECODE_PADDING is 64. A long one is
 * compared bytewise; names hold no quote, so that loop stops at the key's
 * closing quote at the latest. */
static inline bool weir_json_key_is(const char *raw, const weir_json_key *key)
{
    if (key->len <= WEIR_JSON_WORD_KEY_MAX) {
        uint64_t w[2];
        memcpy(w, raw, sizeof w);
        return ((w[0] & key->mask[0]) == key->word[0]) & ((w[1] & key->mask[1]) == key->word[1]);
    }
    for (uint32_t i = 0; i < key->len; i++)
        if (raw[i] != key->name[i])
            return false;
    return raw[key->len] == '"';
}

/* The fast path (decode_flat.c): fills the slots from one flat object of
 * scalars in buf, a line with no backslash, given the positions of its n
 * tokens (simdjson's structural indexes). Same inputs and outputs as
 * weir_json_reader_read, but it returns false, with nothing decided,
 * whenever the line is anything else or anything is wrong with it. */
bool weir_json_flat_read(const char *buf, const uint32_t *ix, uint32_t n,
                         const weir_json_stream *streams, size_t n_streams,
                         const char *selector, size_t selector_len, weir_json_slot *slots,
                         unsigned *stream) WEIR_NOEXCEPT;

/* The simdjson side: a parser whose buffers persist between events. */
typedef struct weir_json_reader weir_json_reader;

/* NULL on out-of-memory. Free with weir_json_reader_free (accepts NULL). */
weir_json_reader *weir_json_reader_new(void) WEIR_NOEXCEPT;
void weir_json_reader_free(weir_json_reader *r) WEIR_NOEXCEPT;
/* Whether lines may take the flat fast path (the default); tests turn it
 * off to compare both paths on the same lines. */
void weir_json_reader_use_flat(weir_json_reader *r, bool on) WEIR_NOEXCEPT;

/* Reads the object in buf[0, len), where capacity - len >= WEIR_DECODE_PADDING
 * bytes are readable. With n_streams > 1 the selector's value picks the
 * stream; *stream is set as soon as it is known. The chosen stream's
 * n_slots slots are reset to ABSENT and filled for each used key. Returns
 * OK, or NOT_JSON, NOT_OBJECT, NO_STREAM, UNKNOWN_STREAM, WRONG_TYPE (a
 * selector that is not a string), TOO_LARGE or NO_MEMORY with the reason
 * written (NUL-terminated, truncated to reason_size). */
weir_decode_status weir_json_reader_read(weir_json_reader *r, const char *buf, size_t len,
                                         size_t capacity, const weir_json_stream *streams,
                                         size_t n_streams, const char *selector,
                                         size_t selector_len, weir_json_slot *slots,
                                         unsigned *stream, char *reason,
                                         size_t reason_size) WEIR_NOEXCEPT;

/* ------------------------------------------------------------------ */
/* Text parsers (decode_text.c)                                         */

typedef enum weir_num_result {
    WEIR_NUM_OK,
    WEIR_NUM_SYNTAX,      /* not a number at all */
    WEIR_NUM_NOT_INTEGER, /* a valid number with a fraction or exponent */
    WEIR_NUM_RANGE,       /* does not fit */
} weir_num_result;

/* True when s[0, len) is exactly a JSON number. */
bool weir_decode_is_json_number(const char *s, size_t len);
/* A JSON integer token into *out. */
weir_num_result weir_decode_parse_int(const char *s, size_t len, int64_t *out);
/* A number into 1/WEIR_DECIMAL_SCALE units, exactly, rounding half away
 * from zero past 4 fraction digits. `lenient` (numbers inside strings) also
 * allows a leading '+' and leading zeros. */
weir_num_result weir_decode_parse_decimal(const char *s, size_t len, bool lenient,
                                          int64_t *out);
/* The shapes nearly every event's numbers have, read from a token in the
 * input line, where at least 16 bytes are readable from s whatever len is
 * (the line's padding): -?[0-9]{1,16} for an int, -?[0-9]{1,14}(.[0-9]{1,4})?
 * for a decimal, into *out as weir_decode_parse_int/_decimal would. False,
 * with *out untouched, for anything else: the caller then asks those. */
bool weir_decode_int_padded(const char *s, size_t len, int64_t *out);
bool weir_decode_decimal_padded(const char *s, size_t len, int64_t *out);
/* An RFC 3339 date-time into ms since the epoch (see decode.h). */
bool weir_decode_parse_rfc3339(const char *s, size_t len, int64_t *out_ms);

/* Writes s[0, len) as a double-quoted excerpt for a reason text: quotes,
 * backslashes and control bytes escaped (\", \\, \xNN), UTF-8 kept, cut
 * after at most `max` input bytes (on a character boundary) with "..."
 * appended. Always NUL-terminates dst (cap > 0). Returns dst. */
char *weir_decode_quote(char *dst, size_t cap, const char *s, size_t len,
                        size_t max) WEIR_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
