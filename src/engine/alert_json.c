/* alert_json.c — weir values as JSON; see alert_json.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/alert_json.h"

void weir_json_key(yajl_gen g, const char *key)
{
    yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

int weir_format_decimal(int64_t scaled, char *buf)
{
    uint64_t mag = scaled < 0 ? (uint64_t)0 - (uint64_t)scaled : (uint64_t)scaled;
    uint64_t whole = mag / WEIR_DECIMAL_SCALE, frac = mag % WEIR_DECIMAL_SCALE;
    int n = snprintf(buf, 32, "%s%" PRIu64, scaled < 0 ? "-" : "", whole);
    if (frac) {
        char digits[8];
        snprintf(digits, sizeof digits, "%04" PRIu64, frac);
        size_t len = 4;
        while (len > 0 && digits[len - 1] == '0')
            len--;
        digits[len] = '\0';
        n += snprintf(buf + n, (size_t)(32 - n), ".%s", digits);
    }
    return n;
}

char *weir_format_time(int64_t ms, char *buf)
{
    int64_t secs = ms / 1000, millis = ms % 1000;
    if (millis < 0) {
        millis += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, 64, "%" PRId64, ms);
        return buf;
    }
    snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)millis);
    return buf;
}

void weir_json_value(yajl_gen g, weir_type t, const weir_value *v)
{
    char buf[64];
    if (v->missing) {
        yajl_gen_null(g);
        return;
    }
    switch (t) {
    case WEIR_T_INT:
    case WEIR_T_DURATION:
        yajl_gen_integer(g, (long long)v->u.i);
        break;
    case WEIR_T_DECIMAL: {
        int n = weir_format_decimal(v->u.dec, buf);
        yajl_gen_number(g, buf, (size_t)n);
        break;
    }
    case WEIR_T_FLOAT:
        if (isfinite(v->u.f)) {
            /* the shortest form that reads back as the same double:
             * 51.5072, not yajl's %.20g 51.507199999999997431 */
            int n = snprintf(buf, sizeof buf, "%.15g", v->u.f);
            if (strtod(buf, NULL) != v->u.f)
                n = snprintf(buf, sizeof buf, "%.17g", v->u.f);
            yajl_gen_number(g, buf, (size_t)n);
        } else {
            yajl_gen_null(g);
        }
        break;
    case WEIR_T_STRING:
        yajl_gen_string(g, (const unsigned char *)v->u.s, v->len);
        break;
    case WEIR_T_BOOL:
        yajl_gen_bool(g, v->u.b);
        break;
    case WEIR_T_TIME:
        weir_format_time(v->u.ms, buf);
        yajl_gen_string(g, (const unsigned char *)buf, strlen(buf));
        break;
    default:
        yajl_gen_null(g);
        break;
    }
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void weir_json_string_lossy(yajl_gen g, const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        size_t k = utf8_sequence(p + i, len - i);
        if (k == 0)
            break;
        i += k;
    }
    if (i == len) {
        yajl_gen_string(g, p, len);
        return;
    }
    /* rare: rebuild with U+FFFD for every invalid byte */
    unsigned char *copy = malloc(len * 3 + 1);
    if (!copy) {
        yajl_gen_null(g);
        return;
    }
    size_t out = 0;
    for (i = 0; i < len;) {
        size_t k = utf8_sequence(p + i, len - i);
        if (k == 0) {
            memcpy(copy + out, "\xef\xbf\xbd", 3);
            out += 3;
            i++;
        } else {
            memcpy(copy + out, p + i, k);
            out += k;
            i += k;
        }
    }
    yajl_gen_string(g, copy, out);
    free(copy);
}
