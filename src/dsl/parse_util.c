/* parse_util.c — literal conversions for the lexer: durations, decimals and
 * string escapes. Kept out of lexer.l so they are plain, testable C. */
#include "dsl/parse-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool mul_add(int64_t *acc, int64_t mul, int64_t add)
{
    if (__builtin_mul_overflow(*acc, mul, acc))
        return false;
    if (__builtin_add_overflow(*acc, add, acc))
        return false;
    return true;
}

/* The units from largest to smallest; a duration must use them in this
 * order. "ms" comes before "m" so the longer spelling is tried first. */
static const struct {
    const char *name;
    int64_t ms;
    int rank; /* larger units have smaller ranks */
} duration_units[] = {
    {"w", 7 * 24 * 3600 * 1000LL, 0},
    {"d", 24 * 3600 * 1000LL, 1},
    {"h", 3600 * 1000LL, 2},
    {"ms", 1, 5},
    {"m", 60 * 1000LL, 3},
    {"s", 1000LL, 4},
};

weir_duration_status weir_parse_duration_status(const char *text, int64_t *ms)
{
    int64_t total = 0;
    int last_rank = -1;
    bool overflow = false;
    const char *p = text;
    if (!*p)
        return WEIR_DURATION_MALFORMED;
    while (*p) {
        if (*p < '0' || *p > '9')
            return WEIR_DURATION_MALFORMED;
        int64_t n = 0;
        while (*p >= '0' && *p <= '9')
            if (!mul_add(&n, 10, *p++ - '0'))
                overflow = true;
        size_t u = 0, n_units = sizeof duration_units / sizeof duration_units[0];
        while (u < n_units &&
               strncmp(p, duration_units[u].name, strlen(duration_units[u].name)) != 0)
            u++;
        if (u == n_units)
            return WEIR_DURATION_MALFORMED;
        p += strlen(duration_units[u].name);
        if (duration_units[u].rank <= last_rank)
            return WEIR_DURATION_UNIT_ORDER;
        last_rank = duration_units[u].rank;
        int64_t part;
        if (__builtin_mul_overflow(n, duration_units[u].ms, &part) ||
            __builtin_add_overflow(total, part, &total))
            overflow = true;
    }
    /* the form is checked to the end before overflow is reported, so that
     * "99999999999h1d" says what is wrong with its spelling first */
    if (overflow)
        return WEIR_DURATION_OVERFLOW;
    *ms = total;
    return WEIR_DURATION_OK;
}

bool weir_parse_duration(const char *text, int64_t *ms)
{
    return weir_parse_duration_status(text, ms) == WEIR_DURATION_OK;
}

int weir_parse_decimal(const char *text, int64_t *scaled)
{
    int64_t whole = 0, frac = 0;
    const char *p = text;
    while (*p >= '0' && *p <= '9')
        if (!mul_add(&whole, 10, *p++ - '0'))
            return 2;
    int digits = 0;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits == 4) {
                /* trailing zeros beyond the 4th decimal lose nothing */
                if (*p != '0')
                    return 1;
                p++;
                continue;
            }
            frac = frac * 10 + (*p++ - '0');
            digits++;
        }
    }
    while (digits < 4) {
        frac *= 10;
        digits++;
    }
    if (!mul_add(&whole, 10000, frac))
        return 2;
    *scaled = whole;
    return 0;
}

void weir_parse_string_append(struct weir_parse_ctx *ctx, const char *s, size_t n)
{
    if (ctx->string_len + n + 1 > ctx->string_cap) {
        size_t cap = ctx->string_cap ? ctx->string_cap : 64;
        while (cap < ctx->string_len + n + 1)
            cap *= 2;
        char *b = realloc(ctx->string_buf, cap);
        if (!b) {
            fputs("weir: out of memory\n", stderr);
            abort();
        }
        ctx->string_buf = b;
        ctx->string_cap = cap;
    }
    memcpy(ctx->string_buf + ctx->string_len, s, n);
    ctx->string_len += n;
    ctx->string_buf[ctx->string_len] = '\0';
}

void weir_parse_string_append_codepoint(struct weir_parse_ctx *ctx, unsigned cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    }
    weir_parse_string_append(ctx, out, n);
}
