/* fuzz_decoder.c — libFuzzer target for the event decoder: any bytes are
 * decoded as an event line by four decoders (one stream with a field of
 * every type; the same stream with only some fields used, required or, with
 * weir_decoder_new_full, optional; two streams told apart by a selector).
 * The decoder must never crash, leak or read out of bounds, and it checks
 * itself on every input:
 *   - the same line decoded from the decoder's own padded copy and in place
 *     (from an exactly sized buffer whose padding is all '}', so ASan sees
 *     any read past the padding) gives the same status, reason and values;
 *   - so does a third decoder with the flat fast path turned off (only
 *     simdjson On-Demand), so the two paths never disagree;
 *   - on OK every used field is filled and every string's bytes readable,
 *     ts is the event-time field; on failure there is a reason and no fields.
 * Build with `make fuzz`; run as
 *   tests/fuzz/fuzz_decoder -max_len=4096 tests/fuzz/corpus-decoder */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/expr.h"
#include "compile/plan.h"
#include "engine/decode.h"
#include "weir/ruleset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char rules[] =
    "stream ev event time ts\n"
    "  { i int, f float, d decimal, s string, b bool, t time, du duration, ts time }\n"
    "stream logins processing time { user string, ok bool, at time }\n";

enum { N_DECODERS = 4 };

/* The fuzzer's fixture: made once, read by every input. */
static weir_ruleset *ruleset;
static weir_decoder *decoders[N_DECODERS];
static weir_decoder *in_place[N_DECODERS]; /* twins for the zero-copy path */
static weir_decoder *on_demand[N_DECODERS]; /* twins without the fast path */

static weir_decoder *make_decoder(int which)
{
    static const bool some[8] = {false, false, true, true, false, true, false, false};
    const bool *used[2] = {some, NULL};
    switch (which) {
    case 0: return weir_decoder_new(ruleset->streams, 1, NULL, NULL);
    case 1: return weir_decoder_new(ruleset->streams, 1, used, NULL);
    case 2: return weir_decoder_new_full(ruleset->streams, 1, used, NULL);
    default: return weir_decoder_new(ruleset->streams, 2, NULL, "stream");
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    weir_compile_options opt = {0};
    if (weir_ruleset_compile_text("fuzz.weir", rules, sizeof rules - 1, &opt, &ruleset) !=
        WEIR_COMPILE_OK)
        abort();
    for (int i = 0; i < N_DECODERS; i++) {
        decoders[i] = make_decoder(i);
        in_place[i] = make_decoder(i);
        on_demand[i] = make_decoder(i);
        if (!decoders[i] || !in_place[i] || !on_demand[i])
            abort();
        weir_decoder_use_fast_path(on_demand[i], false);
    }
    return 0;
}

static const ast_field *field_at(const ast_stream *s, unsigned index)
{
    for (const ast_field *f = s->fields; f; f = f->next)
        if (f->index == index)
            return f;
    abort();
}

/* Every byte of every present string is read, so ASan checks them. */
static unsigned touch(const ast_stream *s, const weir_value *fields)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < s->n_fields; i++) {
        const weir_value *v = &fields[i];
        if (!v->missing && field_at(s, i)->type == WEIR_T_STRING)
            for (uint32_t k = 0; k < v->len; k++)
                sum += (unsigned char)v->u.s[k];
    }
    return sum;
}

static void check_one(weir_decode_status st, const weir_decoded *out)
{
    if ((unsigned)st >= WEIR_DECODE__COUNT || !weir_decode_status_name(st))
        abort();
    if (!memchr(out->reason, '\0', sizeof out->reason))
        abort();
    if (st == WEIR_DECODE_OK) {
        if (!out->fields || out->reason[0] || out->stream >= ruleset->n_streams)
            abort();
        const ast_stream *s = ruleset->streams[out->stream];
        touch(s, out->fields);
        if (s->event_time && out->ts != out->fields[s->time_field_ref->index].u.ms)
            abort();
        if (!s->event_time && out->ts != 0)
            abort();
    } else if (out->fields || !out->reason[0]) {
        abort();
    }
}

static bool same_values(const ast_stream *s, const weir_value *a, const weir_value *b)
{
    for (unsigned i = 0; i < s->n_fields; i++) {
        weir_type t = field_at(s, i)->type;
        /* NaN cannot come from JSON, so == on floats is exact here. */
        if (!weir_value_equal(t, &a[i], &b[i]))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *padded = malloc(size + WEIR_DECODE_PADDING);
    if (!padded)
        return 0;
    if (size)
        memcpy(padded, data, size);
    memset(padded + size, '}', WEIR_DECODE_PADDING);
    for (int i = 0; i < N_DECODERS; i++) {
        weir_decoded a, b;
        weir_decode_status sa = weir_decoder_decode(decoders[i], (const char *)data, size, &a);
        weir_decode_status sb = weir_decoder_decode_padded(in_place[i], padded, size,
                                                           size + WEIR_DECODE_PADDING, &b);
        check_one(sa, &a);
        check_one(sb, &b);
        if (sa != sb || strcmp(a.reason, b.reason) != 0 || a.stream != b.stream ||
            a.ts != b.ts) {
            fprintf(stderr, "decoder %d: copied: %s (%s), in place: %s (%s)\n", i,
                    weir_decode_status_name(sa), a.reason, weir_decode_status_name(sb),
                    b.reason);
            abort();
        }
        if (sa == WEIR_DECODE_OK &&
            !same_values(ruleset->streams[a.stream], a.fields, b.fields))
            abort();
        weir_decoded c;
        weir_decode_status sc = weir_decoder_decode(on_demand[i], (const char *)data, size, &c);
        check_one(sc, &c);
        if (sa != sc || strcmp(a.reason, c.reason) != 0 || a.stream != c.stream ||
            a.ts != c.ts) {
            fprintf(stderr, "decoder %d: fast path: %s (%s), On-Demand: %s (%s)\n", i,
                    weir_decode_status_name(sa), a.reason, weir_decode_status_name(sc),
                    c.reason);
            abort();
        }
        if (sa == WEIR_DECODE_OK &&
            !same_values(ruleset->streams[a.stream], a.fields, c.fields))
            abort();
    }
    free(padded);
    return 0;
}
