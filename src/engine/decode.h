/* decode.h — the event decoder: one JSON object per line in, one typed
 * record (an array of weir_value, one per field of its stream) out.
 *
 * This is the first step of the hot path, run once per event, so:
 *   - everything that can be is decided when the decoder is made: each
 *     stream's used field names are grouped by first byte and pre-packed
 *     into words, so a key is matched in place with a load and a compare,
 *     and each stream has its own value array in which unused fields stay
 *     missing;
 *   - a decode allocates nothing in steady state: the input is copied into
 *     one padded buffer that only grows, and simdjson's parser (On-Demand
 *     API, in decode_json.cc, the only C++ in weir) lives in the decoder and
 *     keeps its buffers from one event to the next;
 *   - fields the rules do not use are skipped, never converted.
 *
 * The JSON an event may carry, for a field of each type:
 *   int       a JSON integer; a number with a fraction or an exponent is
 *             WRONG_TYPE, one outside int64 BAD_VALUE;
 *   float     any JSON number (correctly rounded to the nearest double);
 *   decimal   any JSON number, or a string holding one ("12.50"), read
 *             exactly from its text (no double in between) into 1/10000ths
 *             (WEIR_DECIMAL_SCALE); beyond 4 fraction digits rounded half
 *             away from zero; outside int64 BAD_VALUE. A string may also
 *             carry a leading '+' and leading zeros ("+007.50");
 *   string    a JSON string, unescaped (it may contain NUL bytes: use len);
 *   bool      true or false;
 *   time      an integer of milliseconds since the Unix epoch, or an RFC 3339
 *             string: "2026-11-29T12:00:00Z", "2026-11-29t12:00:00.123+02:00"
 *             ('T', 't' or ' ' between date and time; 'Z', 'z' or ±hh:mm;
 *             fraction digits past the millisecond are truncated; a leap
 *             second :60 counts as :00 of the next minute);
 *   duration  an integer of milliseconds.
 * null is accepted for every field: the value is then missing (SQL NULL),
 * except for the event-time field, where null is MISSING_FIELD like an
 * absent key. A used field whose key is absent is MISSING_FIELD. Keys the
 * stream does not declare, and declared fields the rules do not use, are
 * skipped. If a key occurs twice the FIRST occurrence wins (later ones are
 * skipped like unknown keys). The object must be the whole line: anything
 * but JSON whitespace after it (a trailing "\r" is whitespace) is NOT_JSON.
 * Like any On-Demand parser, the decoder checks the syntax of what it
 * reads, but a value it skips (an unused or undeclared field) is only
 * counted through, not checked: `"unused": tru` or `"unused": [1,2}` may
 * pass. The whole line is checked to be UTF-8 and to have its strings
 * closed.
 *
 * Several streams: the string value of the selector field (e.g.
 * "stream": "payments") names the stream (ast_stream.name). Absent or null
 * is NO_STREAM, a non-string WRONG_TYPE, an undeclared name UNKNOWN_STREAM.
 * With one stream the selector is not looked at.
 *
 * Ownership: weir_decoder_new() borrows the streams (they, and the
 * ruleset's arena their names live in, must outlive the decoder) and copies
 * the used masks. A decoder is not thread-safe: give each thread its own.
 * What a decode returns (the fields array, the strings in it) belongs to
 * the decoder and is valid until its next decode call or its free. */
#ifndef WEIR_ENGINE_DECODE_H
#define WEIR_ENGINE_DECODE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value and stream types (compile/expr.h, dsl/ast.h), declared here
 * without their headers so the C++ shim can include this one. */
typedef struct weir_value weir_value;
typedef struct ast_stream ast_stream;

/* X(ENUM_SUFFIX, "counter name"): the outcomes of one decode. */
#define WEIR_DECODE_STATUS_LIST(X)                                            \
    X(OK, "ok")                                                               \
    X(NOT_JSON, "not_json")             /* invalid JSON, or text after it */   \
    X(NOT_OBJECT, "not_object")         /* valid JSON but not an object */     \
    X(NO_STREAM, "no_stream")           /* selector absent or null */          \
    X(UNKNOWN_STREAM, "unknown_stream") /* selector names no stream */         \
    X(MISSING_FIELD, "missing_field")   /* a used field is absent */           \
    X(WRONG_TYPE, "wrong_type")         /* JSON type does not fit the field */ \
    X(BAD_VALUE, "bad_value")           /* right type, unusable value */       \
    X(TOO_LARGE, "too_large")           /* line over WEIR_DECODE_MAX_LINE */   \
    X(NO_MEMORY, "no_memory")           /* a buffer could not grow */

typedef enum weir_decode_status {
#define WEIR_DECODE_STATUS_ENUM(name, text) WEIR_DECODE_##name,
    WEIR_DECODE_STATUS_LIST(WEIR_DECODE_STATUS_ENUM)
#undef WEIR_DECODE_STATUS_ENUM
    WEIR_DECODE__COUNT
} weir_decode_status;

/* The longest line accepted, in bytes (after which TOO_LARGE). */
#define WEIR_DECODE_MAX_LINE ((size_t)1 << 20)
/* Readable bytes simdjson needs after the input for the zero-copy call
 * (SIMDJSON_PADDING; decode_json.cc checks that they agree). */
#define WEIR_DECODE_PADDING 64
/* weir_decoded.stream when the stream could not be told. */
#define WEIR_DECODE_STREAM_UNKNOWN UINT_MAX

typedef struct weir_decoder weir_decoder;

typedef struct weir_decoded {
    unsigned stream;          /* index into the streams given to
                                 weir_decoder_new(); on failure, the stream
                                 if it was told (always, with one stream),
                                 else WEIR_DECODE_STREAM_UNKNOWN */
    int64_t ts;               /* event time, ms since the epoch; 0 for a
                                 processing-time stream or on failure */
    const weir_value *fields; /* on OK: one per field of the stream
                                 (ast_field.index), owned by the decoder;
                                 unused fields are missing; NULL on failure */
    char reason[192];         /* on failure, why, for logs and the API:
                                 "field 'amount': expected decimal, got bool";
                                 "" on OK */
} weir_decoded;

/* A decoder for events of `streams` (n_streams >= 1). used[s][i] says
 * whether field i of stream s is read; used == NULL or used[s] == NULL
 * means every field of stream s. The event-time field is always read.
 * selector names the JSON field that tells the stream apart; it is
 * required when n_streams > 1 and ignored otherwise. Returns NULL on
 * out-of-memory or bad arguments (no streams, no selector for several, an
 * event-time stream whose time field is unresolved or not of type time). */
weir_decoder *weir_decoder_new(const ast_stream *const *streams, size_t n_streams,
                               const bool *const *used, const char *selector);
/* The same, but fields not in `used` are decoded too when present (an
 * absent one is missing, not an error): for alerts that list whole events
 * while only the fields the rules read are required. */
weir_decoder *weir_decoder_new_full(const ast_stream *const *streams, size_t n_streams,
                                    const bool *const *used, const char *selector);
/* Frees the decoder and everything a decode returned. Accepts NULL. */
void weir_decoder_free(weir_decoder *d);
/* Plain flat objects take a fast path (decode_flat.c) unless this turns it
 * off; results are the same either way. For tests that compare the two. */
void weir_decoder_use_fast_path(weir_decoder *d, bool on);

/* With several streams: events without the selector field belong to
 * `stream` (instead of being NO_STREAM). WEIR_DECODE_STREAM_UNKNOWN turns
 * that off again. Returns 0, or -1 for an index out of range. */
int weir_decoder_set_default_stream(weir_decoder *d, unsigned stream);

/* Decodes one line (without its '\n'; need not be NUL-terminated; may
 * contain NUL bytes). The line is copied into the decoder's padded buffer,
 * so it may be freed or reused as soon as the call returns. Fills *out in
 * every case. */
weir_decode_status weir_decoder_decode(weir_decoder *d, const char *line, size_t len,
                                       weir_decoded *out);

/* The same without the copy, for callers that own their read buffer: the
 * `capacity` bytes from `buf` must be readable and capacity >= len +
 * WEIR_DECODE_PADDING (their content past len does not matter); otherwise
 * it falls back to copying. Returned strings point into buf when the line
 * holds no backslash (else into the decoder): keep buf unchanged for as
 * long as the result is used. */
weir_decode_status weir_decoder_decode_padded(weir_decoder *d, const char *buf, size_t len,
                                              size_t capacity, weir_decoded *out);

/* "ok", "not_json", ...: stable names for counters and logs. */
const char *weir_decode_status_name(weir_decode_status status);

#ifdef __cplusplus
}
#endif

#endif
