/* test_decode_paths.c — the decoder's flat fast path (decode_flat.c) and
 * its On-Demand path (decode_json.cc) must give the same result for every
 * line: same status, same reason, same stream, same values.
 *
 * Two decoders over the same streams, one with the fast path turned off,
 * read the same lines: hand-picked ones at the edges of what the fast path
 * accepts, then a few hundred thousand deterministic mutations of valid
 * events (bytes deleted, replaced, inserted from a set of JSON-significant
 * characters, lines cut short). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/expr.h"
#include "compile/plan.h"
#include "dsl/ast.h"
#include "engine/decode.h"
#include "weir/ruleset.h"

#define STREAMS                                                                     \
    "stream pay event time ts { card string, amount decimal, n int, lat float,\n"  \
    "  ok bool, at time, ts time }\n"                                               \
    "stream login { user string, ok bool, lat float }\n"

static weir_ruleset *rs;
static weir_decoder *fast, *slow;

static void fail_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    cr_log_error("%s", d->rendered);
}

static void setup(void)
{
    weir_compile_options opt = {.diag = fail_diag};
    cr_assert_eq(weir_ruleset_compile_text("t.weir", STREAMS, strlen(STREAMS), &opt, &rs),
                 WEIR_COMPILE_OK);
    fast = weir_decoder_new(rs->streams, rs->n_streams, NULL, "stream");
    slow = weir_decoder_new(rs->streams, rs->n_streams, NULL, "stream");
    cr_assert(fast && slow);
    weir_decoder_use_fast_path(slow, false);
}

static void teardown(void)
{
    weir_decoder_free(fast);
    weir_decoder_free(slow);
    weir_ruleset_free(rs);
}

TestSuite(decode_paths, .init = setup, .fini = teardown);

static size_t n_fields_of(unsigned stream)
{
    return rs->streams[stream]->n_fields;
}

static weir_type type_of(unsigned stream, size_t index)
{
    for (const ast_field *f = rs->streams[stream]->fields; f; f = f->next)
        if (f->index == index)
            return f->type;
    cr_assert_fail("no field %zu", index);
    return WEIR_T_ERROR;
}

/* Strings by their bytes (where they live may differ), the rest by bits. */
static bool same_value(weir_type type, const weir_value *a, const weir_value *b)
{
    if (a->missing != b->missing || a->len != b->len)
        return false;
    if (a->missing)
        return true;
    if (type == WEIR_T_STRING)
        return a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0;
    return memcmp(&a->u, &b->u, sizeof a->u) == 0;
}

/* Decodes line[0, len) with both; fails the test, naming the line, when
 * they differ. Counts the lines the fast decoder accepted. */
static void both(const char *line, size_t len, size_t *accepted)
{
    weir_decoded a, b;
    weir_decode_status sa = weir_decoder_decode(fast, line, len, &a);
    weir_decode_status sb = weir_decoder_decode(slow, line, len, &b);
    cr_assert_eq(sa, sb, "status differs for %.*s: %s / %s", (int)len, line, a.reason,
                 b.reason);
    cr_assert_str_eq(a.reason, b.reason, "reason differs for %.*s", (int)len, line);
    cr_assert_eq(a.stream, b.stream, "stream differs for %.*s", (int)len, line);
    if (sa != WEIR_DECODE_OK)
        return;
    (*accepted)++;
    cr_assert_eq(a.ts, b.ts, "ts differs for %.*s", (int)len, line);
    for (size_t i = 0; i < n_fields_of(a.stream); i++)
        cr_assert(same_value(type_of(a.stream, i), &a.fields[i], &b.fields[i]),
                  "field %zu differs for %.*s", i, (int)len, line);
}

static void both_str(const char *line, size_t *accepted)
{
    both(line, strlen(line), accepted);
}

static const char *const valid[] = {
    "{\"stream\":\"pay\",\"card\":\"4100394006846735\",\"amount\":41.95,\"n\":12,"
    "\"lat\":53.4347,\"ok\":true,\"at\":\"2023-11-14T22:13:20Z\",\"ts\":1700000000000}",
    "{\"card\":\"c1\",\"amount\":\"0.99\",\"n\":-5,\"lat\":null,\"ok\":false,\"at\":17,"
    "\"ts\":1700000000052,\"stream\":\"pay\"}",
    "{\"stream\":\"login\",\"user\":\"u\",\"ok\":false,\"lat\":-0.5e-3,\"x\":[1,{\"y\":2}]}",
    "{\"stream\":\"login\",\"user\":\"\",\"ok\":true,\"lat\":1E22,\"extra\":{}}",
    " {\"stream\" : \"pay\" , \"card\" : \"a b\" , \"amount\" : 1 , \"n\" : 0 ,\"lat\":7,"
    "\"ok\":true,\"at\":0,\"ts\":5 } \r",
};

Test(decode_paths, edges)
{
    static const char *const lines[] = {
        "{}", "{\"stream\":\"pay\"}", "{\"stream\":null}", "{\"stream\":1}",
        "{\"stream\":\"nope\"}", "{\"stream\":\"pay\",\"stream\":\"login\",\"card\":\"c\"}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":tru,\"lat\":1}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1.5,\"lat\":\"x\"}",
        "{\"stream\":\"login\",\"user\":\"u\"x,\"ok\":true,\"lat\":1}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":123456789012345678901}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1e23}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":01}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":-}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1.}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":9007199254740993}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":0.1}",
        /* found by the fuzzer: a long exponent of zeros */
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":3e-0000000000000000000000}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":3e-0022}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":3E+022}",
        /* an exponent whose digits would overflow an int if all were read */
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1e5555555555555}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1}{}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1} x",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1,}",
        "{\"stream\":\"login\",,\"user\":\"u\",\"ok\":true,\"lat\":1}",
        "{\"stream\":\"login\" \"user\":\"u\",\"ok\":true,\"lat\":1}",
        "{\"stream\":\"login\",\"user\":\"u\",\"ok\":true,\"lat\":1",
        "[{\"stream\":\"login\"}]", "\"x\"", "nul", "  ", "",
        "{\"stream\":\"login\",\"user\":\"\\u0075\",\"ok\":true,\"lat\":1}",
        "{\"stream\":\"login\",\"us\\u0065r\":\"v\",\"user\":\"u\",\"ok\":true,\"lat\":1}",
    };
    size_t accepted = 0;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        both_str(lines[i], &accepted);
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        both_str(valid[i], &accepted);
    cr_assert_geq(accepted, sizeof valid / sizeof valid[0]);
}

Test(decode_paths, mutations)
{
    static const char inserts[] = "\"{}[],: \\ntfe.-+0123456789\x01\x80\xc3";
    char buf[512];
    unsigned long seed = 42;
    size_t accepted = 0, tried = 0;
    for (size_t v = 0; v < sizeof valid / sizeof valid[0]; v++) {
        size_t base = strlen(valid[v]);
        for (int round = 0; round < 40000; round++) {
            memcpy(buf, valid[v], base);
            size_t len = base;
            int edits = 1 + round % 3;
            for (int e = 0; e < edits; e++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                size_t at = (size_t)(seed >> 33) % (len + 1);
                unsigned what = (unsigned)(seed >> 20) % 4;
                char c = inserts[(seed >> 8) % (sizeof inserts - 1)];
                if (what == 0 && at < len) { /* delete */
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                } else if (what == 1 && at < len) { /* replace */
                    buf[at] = c;
                } else if (what == 2 && len + 1 < sizeof buf) { /* insert */
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = c;
                    len++;
                } else { /* cut */
                    len = at;
                }
            }
            both(buf, len, &accepted);
            tried++;
        }
    }
    /* Most single edits break the line; enough must still decode for the
     * comparison of values to mean something. */
    cr_log_info("%zu lines, %zu decoded", tried, accepted);
    cr_assert_gt(accepted, tried / 50);
}
