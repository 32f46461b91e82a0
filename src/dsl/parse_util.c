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

bool weir_parse_duration(const char *text, int64_t *ms)
{
    int64_t total = 0;
    const char *p = text;
    while (*p) {
        int64_t n = 0;
        while (*p >= '0' && *p <= '9')
            if (!mul_add(&n, 10, *p++ - '0'))
                return false;
        int64_t unit;
        if (p[0] == 'm' && p[1] == 's') {
            unit = 1;
            p += 2;
        } else {
            switch (*p) {
            case 's': unit = 1000; break;
            case 'm': unit = 60 * 1000; break;
            case 'h': unit = 3600 * 1000; break;
            case 'd': unit = 24 * 3600 * 1000LL; break;
            case 'w': unit = 7 * 24 * 3600 * 1000LL; break;
            default: return false;
            }
            p++;
        }
        int64_t part;
        if (__builtin_mul_overflow(n, unit, &part) ||
            __builtin_add_overflow(total, part, &total))
            return false;
    }
    *ms = total;
    return true;
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
