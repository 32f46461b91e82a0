/* decode.c — the event decoder's C half: the per-stream plan made once from
 * the AST, the padded input buffer, and the conversion of what the JSON
 * reader (decode_json.cc) found into typed values, with a reason for every
 * rejected event. See decode.h for the accepted JSON and decode-internal.h
 * for how the work is split.
 *
 * Plan: each stream keeps its own value array. Unused fields are set to
 * missing once, here, and never touched again; used fields are listed in
 * declaration order (so the first missing or bad one is the one reported)
 * and their names, grouped by first byte, are what the reader matches each
 * key of the event against. */
#include "engine/decode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/expr.h"
#include "dsl/ast.h"
#include "engine/decode-internal.h"

/* One field the rules read. */
typedef struct used_field {
    const char *name;
    unsigned index; /* ast_field.index: slot and value position */
    weir_type type;
    bool optional;  /* decoded when present, missing when absent */
} used_field;

typedef struct stream_plan {
    weir_value *values;  /* owned, n_fields; unused entries stay missing */
    used_field *used;    /* owned, in declaration order */
    unsigned n_used;
    weir_json_key *keys; /* owned, n_used, by first byte (weir_json_stream) */
    int time_index;      /* ast_field.index of the event-time field, or -1 */
} stream_plan;

struct weir_decoder {
    weir_json_reader *reader;      /* owned */
    stream_plan *plans;            /* owned, n_streams */
    weir_json_stream *json;        /* owned, n_streams: the reader's view */
    size_t n_streams;
    char *selector;                /* owned copy; NULL with one stream */
    unsigned default_stream;       /* for events without a selector, or
                                      WEIR_DECODE_STREAM_UNKNOWN */
    size_t selector_len;
    weir_json_slot *slots;         /* owned, max_fields */
    char *buf;                     /* owned padded input copy; only grows */
    size_t buf_cap;
};

/* ------------------------------------------------------------------ */
/* Construction                                                         */

static const ast_field *field_at(const ast_stream *s, unsigned index)
{
    for (const ast_field *f = s->fields; f; f = f->next)
        if (f->index == index)
            return f;
    return NULL;
}

static int plan_stream(stream_plan *plan, weir_json_stream *json, const ast_stream *s,
                       const bool *used, bool others_optional)
{
    unsigned n = s->n_fields;
    plan->time_index = -1;
    if (s->event_time) {
        const ast_field *tf = s->time_field_ref;
        if (!tf || tf->type != WEIR_T_TIME || field_at(s, tf->index) != tf)
            return -1;
        plan->time_index = (int)tf->index;
    }
    plan->values = calloc(n ? n : 1, sizeof *plan->values);
    plan->used = calloc(n ? n : 1, sizeof *plan->used);
    if (!plan->values || !plan->used)
        return -1;
    for (unsigned i = 0; i < n; i++)
        plan->values[i] = weir_value_missing();
    for (unsigned i = 0; i < n; i++) {
        const ast_field *f = field_at(s, i);
        if (!f || !f->name.name)
            return -1;
        bool optional = false;
        if (used && !used[i] && (int)i != plan->time_index) {
            if (!others_optional)
                continue;
            optional = true;
        }
        plan->used[plan->n_used++] = (used_field){f->name.name, i, f->type, optional};
    }
    /* The keys, grouped by first byte (a counting sort): the reader looks
     * at keys[first[c], first[c + 1]) for a key starting with byte c. */
    if (plan->n_used > UINT16_MAX)
        return -1;
    plan->keys = calloc(plan->n_used ? plan->n_used : 1, sizeof *plan->keys);
    if (!plan->keys)
        return -1;
    *json = (weir_json_stream){.name = s->name.name, .name_len = strlen(s->name.name),
                               .keys = plan->keys, .n_keys = plan->n_used, .n_slots = n};
    for (unsigned u = 0; u < plan->n_used; u++)
        json->first[(unsigned char)plan->used[u].name[0] + 1]++;
    for (unsigned c = 1; c <= 256; c++)
        json->first[c] += json->first[c - 1];
    uint16_t next[256];
    memcpy(next, json->first, sizeof next);
    for (unsigned u = 0; u < plan->n_used; u++) {
        const used_field *f = &plan->used[u];
        weir_json_key *k = &plan->keys[next[(unsigned char)f->name[0]]++];
        *k = (weir_json_key){f->name, (uint32_t)strlen(f->name), f->index,
                             f->type == WEIR_T_FLOAT, {0, 0}, {0, 0}};
        if (k->len <= WEIR_JSON_WORD_KEY_MAX) {
            unsigned char bytes[16] = {0}, mask[16] = {0};
            memcpy(bytes, k->name, k->len);
            bytes[k->len] = '"';
            memset(mask, 0xFF, k->len + 1);
            memcpy(k->word, bytes, sizeof bytes);
            memcpy(k->mask, mask, sizeof mask);
        }
    }
    return 0;
}

static weir_decoder *decoder_new(const ast_stream *const *streams, size_t n_streams,
                                 const bool *const *used, bool others_optional,
                                 const char *selector)
{
    if (!streams || n_streams == 0 || n_streams > UINT_MAX - 1 ||
        (n_streams > 1 && (!selector || !*selector)))
        return NULL;
    weir_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->n_streams = n_streams;
    d->default_stream = WEIR_DECODE_STREAM_UNKNOWN;
    d->plans = calloc(n_streams, sizeof *d->plans);
    d->json = calloc(n_streams, sizeof *d->json);
    d->reader = weir_json_reader_new();
    if (!d->plans || !d->json || !d->reader)
        goto fail;
    unsigned max_fields = 1;
    for (size_t s = 0; s < n_streams; s++) {
        if (!streams[s] || !streams[s]->name.name)
            goto fail;
        if (plan_stream(&d->plans[s], &d->json[s], streams[s], used ? used[s] : NULL,
                        others_optional) < 0)
            goto fail;
        if (streams[s]->n_fields > max_fields)
            max_fields = streams[s]->n_fields;
    }
    d->slots = calloc(max_fields, sizeof *d->slots);
    if (!d->slots)
        goto fail;
    if (n_streams > 1) {
        d->selector_len = strlen(selector);
        d->selector = malloc(d->selector_len + 1);
        if (!d->selector)
            goto fail;
        memcpy(d->selector, selector, d->selector_len + 1);
    }
    return d;
fail:
    weir_decoder_free(d);
    return NULL;
}

weir_decoder *weir_decoder_new(const ast_stream *const *streams, size_t n_streams,
                               const bool *const *used, const char *selector)
{
    return decoder_new(streams, n_streams, used, false, selector);
}

weir_decoder *weir_decoder_new_full(const ast_stream *const *streams, size_t n_streams,
                                    const bool *const *used, const char *selector)
{
    return decoder_new(streams, n_streams, used, true, selector);
}

int weir_decoder_set_default_stream(weir_decoder *d, unsigned stream)
{
    if (stream >= d->n_streams && stream != WEIR_DECODE_STREAM_UNKNOWN)
        return -1;
    d->default_stream = stream;
    return 0;
}

void weir_decoder_use_fast_path(weir_decoder *d, bool on)
{
    weir_json_reader_use_flat(d->reader, on);
}

void weir_decoder_free(weir_decoder *d)
{
    if (!d)
        return;
    if (d->plans) {
        for (size_t s = 0; s < d->n_streams; s++) {
            free(d->plans[s].values);
            free(d->plans[s].used);
            free(d->plans[s].keys);
        }
    }
    free(d->plans);
    free(d->json);
    weir_json_reader_free(d->reader);
    free(d->selector);
    free(d->slots);
    free(d->buf);
    free(d);
}

/* ------------------------------------------------------------------ */
/* Conversion                                                           */

static const char *const status_names[WEIR_DECODE__COUNT] = {
#define WEIR_DECODE_STATUS_NAME(name, text) text,
    WEIR_DECODE_STATUS_LIST(WEIR_DECODE_STATUS_NAME)
#undef WEIR_DECODE_STATUS_NAME
};

const char *weir_decode_status_name(weir_decode_status status)
{
    return (unsigned)status < WEIR_DECODE__COUNT ? status_names[status] : "unknown";
}

/* Writes "field 'NAME': " + the formatted rest; returns status. */
static weir_decode_status fail_field(weir_decoded *out, weir_decode_status status,
                                     const used_field *f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static weir_decode_status fail_field(weir_decoded *out, weir_decode_status status,
                                     const used_field *f, const char *fmt, ...)
{
    int n = snprintf(out->reason, sizeof out->reason, "field '%.64s': ", f->name);
    if (n > 0 && (size_t)n < sizeof out->reason) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out->reason + n, sizeof out->reason - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* "string", "number", ...: what a JSON value was, for "got ...". */
static const char *json_kind_name(uint8_t kind)
{
    switch ((weir_json_kind)kind) {
    case WEIR_JSON_ABSENT: return "nothing";
    case WEIR_JSON_NULL: return "null";
    case WEIR_JSON_NUMBER: return "number";
    case WEIR_JSON_STRING: return "string";
    case WEIR_JSON_BOOL: return "bool";
    case WEIR_JSON_OBJECT: return "object";
    case WEIR_JSON_ARRAY: return "array";
    }
    return "?";
}

/* How each type is described in "expected ...". */
static const char *expected_text(weir_type t)
{
    switch (t) {
    case WEIR_T_TIME: return "time (integer ms or RFC 3339 string)";
    case WEIR_T_DURATION: return "duration (integer ms)";
    default: return weir_type_name(t);
    }
}

static weir_decode_status wrong_type(weir_decoded *out, const used_field *f, const char *got)
{
    return fail_field(out, WEIR_DECODE_WRONG_TYPE, f, "expected %s, got %s",
                      expected_text(f->type), got);
}

/* "value X is not a TYPE" / "... out of range for TYPE". */
static weir_decode_status bad_value(weir_decoded *out, const used_field *f,
                                    const weir_json_slot *slot, const char *what)
{
    char quoted[64];
    if (slot->kind == WEIR_JSON_STRING)
        weir_decode_quote(quoted, sizeof quoted, slot->text, slot->len, 40);
    else
        snprintf(quoted, sizeof quoted, "%.*s%s", (int)(slot->len > 40 ? 40 : slot->len),
                 slot->text, slot->len > 40 ? "..." : "");
    return fail_field(out, WEIR_DECODE_BAD_VALUE, f, "%s %s", quoted, what);
}

/* A number token that must be an integer (int, time, duration). */
static weir_decode_status convert_integer(weir_decoded *out, const used_field *f,
                                          const weir_json_slot *slot, int64_t *v)
{
    /* a NUMBER's text is its token in the padded input line */
    if (weir_decode_int_padded(slot->text, slot->len, v))
        return WEIR_DECODE_OK;
    switch (weir_decode_parse_int(slot->text, slot->len, v)) {
    case WEIR_NUM_OK:
        return WEIR_DECODE_OK;
    case WEIR_NUM_NOT_INTEGER:
        return wrong_type(out, f, "a number with a fraction or exponent");
    case WEIR_NUM_RANGE:
        return bad_value(out, f, slot, "is out of range (64-bit integer)");
    case WEIR_NUM_SYNTAX:
        break;
    }
    return fail_field(out, WEIR_DECODE_NOT_JSON, f, "invalid JSON number");
}

static weir_decode_status convert(weir_decoded *out, const used_field *f,
                                  const weir_json_slot *slot, weir_value *v)
{
    int64_t i;
    weir_decode_status st;
    switch (f->type) {
    case WEIR_T_INT:
    case WEIR_T_DURATION:
        if (slot->kind != WEIR_JSON_NUMBER)
            return wrong_type(out, f, json_kind_name(slot->kind));
        if ((st = convert_integer(out, f, slot, &i)) != WEIR_DECODE_OK)
            return st;
        *v = f->type == WEIR_T_INT ? weir_value_int(i) : weir_value_millis(i);
        return WEIR_DECODE_OK;
    case WEIR_T_TIME:
        if (slot->kind == WEIR_JSON_STRING) {
            if (!weir_decode_parse_rfc3339(slot->text, slot->len, &i))
                return bad_value(out, f, slot, "is not an RFC 3339 time");
        } else if (slot->kind == WEIR_JSON_NUMBER) {
            if ((st = convert_integer(out, f, slot, &i)) != WEIR_DECODE_OK)
                return st;
        } else {
            return wrong_type(out, f, json_kind_name(slot->kind));
        }
        *v = weir_value_millis(i);
        return WEIR_DECODE_OK;
    case WEIR_T_FLOAT:
        if (slot->kind != WEIR_JSON_NUMBER)
            return wrong_type(out, f, json_kind_name(slot->kind));
        if (!slot->f_ok) {
            if (weir_decode_is_json_number(slot->text, slot->len))
                return bad_value(out, f, slot, "is out of range for float");
            return fail_field(out, WEIR_DECODE_NOT_JSON, f, "invalid JSON number");
        }
        *v = weir_value_float(slot->f);
        return WEIR_DECODE_OK;
    case WEIR_T_DECIMAL: {
        bool in_string = slot->kind == WEIR_JSON_STRING;
        if (slot->kind != WEIR_JSON_NUMBER && !in_string)
            return wrong_type(out, f, json_kind_name(slot->kind));
        /* a NUMBER's text is its token in the padded input line; a
         * string's may be an unescaped copy, without padding */
        if (!in_string && weir_decode_decimal_padded(slot->text, slot->len, &i)) {
            *v = weir_value_decimal(i);
            return WEIR_DECODE_OK;
        }
        switch (weir_decode_parse_decimal(slot->text, slot->len, in_string, &i)) {
        case WEIR_NUM_OK:
        case WEIR_NUM_NOT_INTEGER:
            *v = weir_value_decimal(i);
            return WEIR_DECODE_OK;
        case WEIR_NUM_RANGE:
            return bad_value(out, f, slot, "is out of range for decimal");
        case WEIR_NUM_SYNTAX:
            break;
        }
        if (in_string)
            return bad_value(out, f, slot, "is not a decimal");
        return fail_field(out, WEIR_DECODE_NOT_JSON, f, "invalid JSON number");
    }
    case WEIR_T_STRING:
        if (slot->kind != WEIR_JSON_STRING)
            return wrong_type(out, f, json_kind_name(slot->kind));
        *v = weir_value_string(slot->text, slot->len);
        return WEIR_DECODE_OK;
    case WEIR_T_BOOL:
        if (slot->kind != WEIR_JSON_BOOL)
            return wrong_type(out, f, json_kind_name(slot->kind));
        *v = weir_value_bool(slot->b);
        return WEIR_DECODE_OK;
    case WEIR_T_ERROR:
    case WEIR_T_LIST:
    case WEIR_T__COUNT:
        break;
    }
    return fail_field(out, WEIR_DECODE_WRONG_TYPE, f, "field of type %s cannot be decoded",
                      weir_type_name(f->type));
}

/* Turns the reader's slots for stream s into values; reports the first
 * problem in field declaration order. */
static weir_decode_status convert_stream(weir_decoder *d, unsigned s, weir_decoded *out)
{
    stream_plan *plan = &d->plans[s];
    for (unsigned u = 0; u < plan->n_used; u++) {
        const used_field *f = &plan->used[u];
        const weir_json_slot *slot = &d->slots[f->index];
        weir_value *v = &plan->values[f->index];
        if (slot->kind == WEIR_JSON_ABSENT) {
            if (!f->optional)
                return fail_field(out, WEIR_DECODE_MISSING_FIELD, f, "missing");
            *v = weir_value_missing();
            continue;
        }
        if (slot->kind == WEIR_JSON_NULL) {
            if ((int)f->index == plan->time_index)
                return fail_field(out, WEIR_DECODE_MISSING_FIELD, f,
                                  "null, but it is the stream's event time");
            *v = weir_value_missing();
            continue;
        }
        weir_decode_status st = convert(out, f, slot, v);
        if (st != WEIR_DECODE_OK)
            return st;
    }
    out->fields = plan->values;
    out->ts = plan->time_index >= 0 ? plan->values[plan->time_index].u.ms : 0;
    return WEIR_DECODE_OK;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                             */

static weir_decode_status start(const weir_decoder *d, weir_decoded *out, size_t len)
{
    /* With one stream every event is of it, even one that fails. */
    out->stream = d->n_streams == 1 ? 0 : WEIR_DECODE_STREAM_UNKNOWN;
    out->ts = 0;
    out->fields = NULL;
    out->reason[0] = '\0';
    if (len > WEIR_DECODE_MAX_LINE) {
        snprintf(out->reason, sizeof out->reason,
                 "event of %zu bytes is over the limit of %zu bytes", len,
                 WEIR_DECODE_MAX_LINE);
        return WEIR_DECODE_TOO_LARGE;
    }
    return WEIR_DECODE_OK;
}

/* buf has the padding simdjson needs after len. Fills all of *out (it may
 * be a retry: nothing from the first attempt may remain). */
static weir_decode_status decode_in_place(weir_decoder *d, const char *buf, size_t len,
                                          size_t capacity, weir_decoded *out)
{
    out->reason[0] = '\0';
    out->fields = NULL;
    out->ts = 0;
    unsigned stream = d->n_streams == 1 ? 0 : d->default_stream;
    weir_decode_status st = weir_json_reader_read(
        d->reader, buf, len, capacity, d->json, d->n_streams, d->selector, d->selector_len,
        d->slots, &stream, out->reason, sizeof out->reason);
    out->stream = stream;
    if (st == WEIR_DECODE_OK)
        st = convert_stream(d, stream, out);
    if (st != WEIR_DECODE_OK) {
        out->fields = NULL;
        out->ts = 0;
    }
    return st;
}

static weir_decode_status decode_copy(weir_decoder *d, const char *line, size_t len,
                                      weir_decoded *out)
{
    if (len + WEIR_DECODE_PADDING > d->buf_cap) {
        /* Doubling from 4 KiB: a few growths, then never again. */
        size_t cap = d->buf_cap ? d->buf_cap : 4096;
        while (cap < len + WEIR_DECODE_PADDING)
            cap *= 2;
        char *grown = malloc(cap);
        if (!grown) {
            snprintf(out->reason, sizeof out->reason,
                     "out of memory for an event of %zu bytes", len);
            return WEIR_DECODE_NO_MEMORY;
        }
        free(d->buf);
        d->buf = grown;
        d->buf_cap = cap;
    }
    if (len)
        memcpy(d->buf, line, len);
    /* What a longer line left there must not be read as this one's tail. */
    memset(d->buf + len, ' ', WEIR_DECODE_PADDING);
    return decode_in_place(d, d->buf, len, d->buf_cap, out);
}

weir_decode_status weir_decoder_decode(weir_decoder *d, const char *line, size_t len,
                                       weir_decoded *out)
{
    weir_decode_status st = start(d, out, len);
    return st != WEIR_DECODE_OK ? st : decode_copy(d, line, len, out);
}

weir_decode_status weir_decoder_decode_padded(weir_decoder *d, const char *buf, size_t len,
                                              size_t capacity, weir_decoded *out)
{
    weir_decode_status st = start(d, out, len);
    if (st != WEIR_DECODE_OK)
        return st;
    if (capacity < len || capacity - len < WEIR_DECODE_PADDING)
        return decode_copy(d, buf, len, out);
    st = decode_in_place(d, buf, len, capacity, out);
    /* simdjson checks the balance of a line that ends in '}' when the byte
     * after it is '}' too (simdjson issue 1834), so on bad JSON the caller's
     * padding can change which error is seen first. Bad lines are rare:
     * redo them on the space-padded copy, so the reason never depends on
     * bytes past len. */
    if (st == WEIR_DECODE_NOT_JSON && buf[len] == '}')
        st = decode_copy(d, buf, len, out);
    return st;
}
