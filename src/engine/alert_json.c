/* alert_json.c — weir values as JSON; see alert_json.h. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
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
        if (isfinite(v->u.f))
            yajl_gen_double(g, v->u.f);
        else
            yajl_gen_null(g);
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
