/* test_decode.c — the event decoder: JSON lines to typed records.
 *
 * Streams come from real rule text compiled by weir_ruleset_compile_text,
 * so the decoder sees exactly the AST the engine will give it. Most tests
 * use one stream with a field of every type and vary one field: the helper
 * `with()` puts that field FIRST in an otherwise complete event, and since
 * the first of duplicate keys wins, the base event's own value for it is
 * ignored (the duplicate rule has its own test). */
#include <criterion/criterion.h>

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/expr.h"
#include "compile/plan.h"
#include "engine/decode.h"
#include "engine/decode-internal.h"
#include "weir/ruleset.h"

#define ALL_TYPES                                                                  \
    "stream ev event time ts\n"                                                    \
    "  { i int, f float, d decimal, s string, b bool, t time, du duration, ts time }\n"
enum { F_I, F_F, F_D, F_S, F_B, F_T, F_DU, F_TS, N_FIELDS };

#define BASE_BODY                                                              \
    "\"i\":7,\"f\":2.5,\"d\":12.34,\"s\":\"x\",\"b\":true,\"t\":1700000000000," \
    "\"du\":90000,\"ts\":1700000000123"

/* Per test (Criterion runs each in its own process). */
static weir_ruleset *rs;
static weir_decoder *dec;
static weir_decoded out;
static char line[4096];

static void fail_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    cr_log_error("%s", d->rendered);
}

static void setup_with(const char *rules, const bool *const *used, const char *selector)
{
    weir_compile_options opt = {.diag = fail_diag};
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), &opt, &rs),
                 WEIR_COMPILE_OK);
    dec = weir_decoder_new(rs->streams, rs->n_streams, used, selector);
    cr_assert_not_null(dec);
}

static void teardown(void)
{
    weir_decoder_free(dec);
    weir_ruleset_free(rs);
}

static void setup_all_types(void)
{
    setup_with(ALL_TYPES, NULL, NULL);
}

static weir_decode_status decode(const char *json)
{
    return weir_decoder_decode(dec, json, strlen(json), &out);
}

/* The base event with `first` ("\"d\": 1") in front. */
static weir_decode_status with(const char *first)
{
    snprintf(line, sizeof line, "{%s," BASE_BODY "}", first);
    return decode(line);
}

static const weir_value *field(int i)
{
    cr_assert_not_null(out.fields);
    return &out.fields[i];
}

static void assert_status(weir_decode_status got, weir_decode_status want, const char *reason)
{
    cr_assert_eq(got, want, "status %s, want %s (%s)", weir_decode_status_name(got),
                 weir_decode_status_name(want), out.reason);
    if (reason)
        cr_assert_str_eq(out.reason, reason);
    if (want == WEIR_DECODE_OK) {
        cr_assert_str_eq(out.reason, "");
        cr_assert_not_null(out.fields);
    } else {
        cr_assert_null(out.fields);
        cr_assert_neq(out.reason[0], '\0');
    }
}

static void assert_ok(weir_decode_status got)
{
    assert_status(got, WEIR_DECODE_OK, NULL);
}

static int64_t decimal_of(const char *json_value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "\"d\":%s", json_value);
    weir_decode_status st = with(buf);
    cr_assert_eq(st, WEIR_DECODE_OK, "%s: %s", json_value, out.reason);
    return field(F_D)->u.dec;
}

static int64_t time_of(const char *json_value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "\"t\":%s", json_value);
    weir_decode_status st = with(buf);
    cr_assert_eq(st, WEIR_DECODE_OK, "%s: %s", json_value, out.reason);
    return field(F_T)->u.ms;
}

static bool string_is(int i, const char *bytes, size_t len)
{
    const weir_value *v = field(i);
    return !v->missing && v->len == len && memcmp(v->u.s, bytes, len) == 0;
}

TestSuite(decode, .init = setup_all_types, .fini = teardown);
/* Tests that declare their own streams call setup_with() themselves. */
TestSuite(decode_own, .fini = teardown);

/* ------------------------------------------------------------------ */
/* Every type                                                           */

Test(decode, every_type)
{
    assert_ok(decode("{" BASE_BODY "}"));
    cr_assert_eq(out.stream, 0);
    cr_assert_eq(field(F_I)->u.i, 7);
    cr_assert_eq(field(F_F)->u.f, 2.5);
    cr_assert_eq(field(F_D)->u.dec, 123400);
    cr_assert(string_is(F_S, "x", 1));
    cr_assert_eq(field(F_B)->u.b, true);
    cr_assert_eq(field(F_T)->u.ms, 1700000000000);
    cr_assert_eq(field(F_DU)->u.ms, 90000);
    cr_assert_eq(out.ts, 1700000000123);
    for (int i = 0; i < N_FIELDS; i++)
        cr_assert_not(field(i)->missing, "field %d", i);
}

Test(decode, int_limits)
{
    assert_ok(with("\"i\":-9223372036854775808"));
    cr_assert_eq(field(F_I)->u.i, INT64_MIN);
    assert_ok(with("\"i\":9223372036854775807"));
    cr_assert_eq(field(F_I)->u.i, INT64_MAX);
    assert_ok(with("\"i\":-0"));
    cr_assert_eq(field(F_I)->u.i, 0);
    assert_ok(with("\"i\":999999999999999999"));
    cr_assert_eq(field(F_I)->u.i, 999999999999999999);
    assert_ok(with("\"i\":-1000000000000000000"));
    cr_assert_eq(field(F_I)->u.i, -1000000000000000000);
}

/* Digits are read 8 at a time where 8 follow: every length, a non-digit
 * at every place of such a group, and bytes just outside '0'..'9'. */
Test(decode, int_digit_groups)
{
    char digits[24], buf[64];
    unsigned seed = 12345;
    for (int len = 1; len <= 18; len++) {
        for (int round = 0; round < 20; round++) {
            for (int k = 0; k < len; k++) {
                seed = seed * 1103515245u + 12345u;
                digits[k] = (char)('0' + (seed >> 16) % 10);
            }
            if (len > 1 && digits[0] == '0')
                digits[0] = '7';
            digits[len] = '\0';
            snprintf(buf, sizeof buf, "\"i\":%s", digits);
            assert_ok(with(buf));
            cr_assert_eq(field(F_I)->u.i, strtoll(digits, NULL, 10), "%s", digits);
            snprintf(buf, sizeof buf, "\"i\":-%s", digits);
            assert_ok(with(buf));
            cr_assert_eq(field(F_I)->u.i, -strtoll(digits, NULL, 10), "-%s", digits);
        }
    }
    static const char odd[] = {'/', ':', 'a', ' ', '.', 'e', '\x80', '\x06'};
    for (int at = 0; at < 8; at++) {
        for (size_t o = 0; o < sizeof odd; o++) {
            char text[] = "\"123456789012\"";
            text[1 + at] = odd[o];
            /* in a string, as a decimal: anything but digits is refused */
            snprintf(buf, sizeof buf, "\"d\":%s", text);
            weir_decode_status st = with(buf);
            if (odd[o] == '.' || (odd[o] == 'e' && at > 0))
                continue; /* 1234.6789012 and 12e45... are numbers */
            cr_assert_neq(st, WEIR_DECODE_OK, "%s", text);
        }
    }
}

Test(decode, int_out_of_range)
{
    assert_status(with("\"i\":9223372036854775808"), WEIR_DECODE_BAD_VALUE,
                  "field 'i': 9223372036854775808 is out of range (64-bit integer)");
    assert_status(with("\"i\":-9223372036854775809"), WEIR_DECODE_BAD_VALUE, NULL);
}

Test(decode, int_with_fraction_or_exponent)
{
    assert_status(with("\"i\":1.0"), WEIR_DECODE_WRONG_TYPE,
                  "field 'i': expected int, got a number with a fraction or exponent");
    assert_status(with("\"i\":1e3"), WEIR_DECODE_WRONG_TYPE, NULL);
}

Test(decode, int_wrong_json_type)
{
    assert_status(with("\"i\":\"12\""), WEIR_DECODE_WRONG_TYPE,
                  "field 'i': expected int, got string");
    assert_status(with("\"i\":[1]"), WEIR_DECODE_WRONG_TYPE,
                  "field 'i': expected int, got array");
    assert_status(with("\"i\":{\"v\":1}"), WEIR_DECODE_WRONG_TYPE,
                  "field 'i': expected int, got object");
}

Test(decode, float_takes_any_number)
{
    assert_ok(with("\"f\":3"));
    cr_assert_eq(field(F_F)->u.f, 3.0);
    assert_ok(with("\"f\":-1.5e3"));
    cr_assert_eq(field(F_F)->u.f, -1500.0);
    assert_ok(with("\"f\":51.5072"));
    cr_assert_eq(field(F_F)->u.f, 51.5072);
}

Test(decode, float_errors)
{
    assert_status(with("\"f\":1e400"), WEIR_DECODE_BAD_VALUE,
                  "field 'f': 1e400 is out of range for float");
    assert_status(with("\"f\":true"), WEIR_DECODE_WRONG_TYPE,
                  "field 'f': expected float, got bool");
    assert_status(with("\"f\":1.5x"), WEIR_DECODE_NOT_JSON, NULL);
}

/* ------------------------------------------------------------------ */
/* Decimals                                                             */

Test(decode, decimal_exact)
{
    cr_assert_eq(decimal_of("0.1"), 1000);
    cr_assert_eq(decimal_of("0.3"), 3000);
    cr_assert_eq(decimal_of("12.34"), 123400);
    cr_assert_eq(decimal_of("1999.9999"), 19999999);
    cr_assert_eq(decimal_of("100"), 1000000);
    cr_assert_eq(decimal_of("-0.5"), -5000);
    cr_assert_eq(decimal_of("-0"), 0);
    cr_assert_eq(decimal_of("1.5e2"), 1500000);
    cr_assert_eq(decimal_of("125E-2"), 12500);
    cr_assert_eq(decimal_of("0.0012e2"), 1200);
    cr_assert_eq(decimal_of("1200e-4"), 1200);
    /* 18 digits take the unchecked path, 19 the checked one. */
    cr_assert_eq(decimal_of("99999999999999.9999"), 999999999999999999);
    cr_assert_eq(decimal_of("100000000000000.0000"), 1000000000000000000);
    cr_assert_eq(decimal_of("\"0000000000000000000000.5\""), 5000);
}

Test(decode, decimal_rounds_half_away_from_zero)
{
    cr_assert_eq(decimal_of("0.00005"), 1);
    cr_assert_eq(decimal_of("0.00004999"), 0);
    cr_assert_eq(decimal_of("-0.00005"), -1);
    cr_assert_eq(decimal_of("1.23456"), 12346);
    cr_assert_eq(decimal_of("1.234549"), 12345);
    cr_assert_eq(decimal_of("2.99995"), 30000);
    cr_assert_eq(decimal_of("-2.99995"), -30000);
    cr_assert_eq(decimal_of("5e-5"), 1);
    cr_assert_eq(decimal_of("5e-6"), 0);
}

Test(decode, decimal_in_a_string)
{
    cr_assert_eq(decimal_of("\"12.50\""), 125000);
    cr_assert_eq(decimal_of("\"+007.50\""), 75000);
    cr_assert_eq(decimal_of("\"-3\""), -30000);
    cr_assert_eq(decimal_of("\"1e2\""), 1000000);
    assert_status(with("\"d\":\"12,50\""), WEIR_DECODE_BAD_VALUE,
                  "field 'd': \"12,50\" is not a decimal");
    assert_status(with("\"d\":\"\""), WEIR_DECODE_BAD_VALUE,
                  "field 'd': \"\" is not a decimal");
    assert_status(with("\"d\":\" 1\""), WEIR_DECODE_BAD_VALUE, NULL);
    assert_status(with("\"d\":\"1.\""), WEIR_DECODE_BAD_VALUE, NULL);
}

Test(decode, decimal_overflow)
{
    cr_assert_eq(decimal_of("922337203685477.5807"), INT64_MAX);
    cr_assert_eq(decimal_of("-922337203685477.5808"), INT64_MIN);
    assert_status(with("\"d\":922337203685477.5808"), WEIR_DECODE_BAD_VALUE,
                  "field 'd': 922337203685477.5808 is out of range for decimal");
    /* Rounding up past the limit overflows too. */
    assert_status(with("\"d\":922337203685477.58075"), WEIR_DECODE_BAD_VALUE, NULL);
    assert_status(with("\"d\":1e20"), WEIR_DECODE_BAD_VALUE, NULL);
    assert_status(with("\"d\":\"1e15\""), WEIR_DECODE_BAD_VALUE,
                  "field 'd': \"1e15\" is out of range for decimal");
}

Test(decode, decimal_extreme_exponents)
{
    cr_assert_eq(decimal_of("0e999999999999"), 0);
    cr_assert_eq(decimal_of("1e-999999999999"), 0);
    assert_status(with("\"d\":1e999999999999"), WEIR_DECODE_BAD_VALUE, NULL);
}

Test(decode, decimal_wrong_type)
{
    assert_status(with("\"d\":true"), WEIR_DECODE_WRONG_TYPE,
                  "field 'd': expected decimal, got bool");
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */

Test(decode, string_escapes)
{
    assert_ok(with("\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\""));
    cr_assert(string_is(F_S, "a\"b\\c/d\n\t\r\b\f", 12));
}

/* The one escape of a line is found wherever it is, near its start or its
 * end (the scan for backslashes reads the line in blocks), decoded in
 * place with padding full of backslashes. */
Test(decode, an_escape_anywhere_in_the_line_is_seen)
{
    for (size_t len = 0; len < 48; len++) {
        for (size_t at = 0; at < len; at++) {
            char value[64];
            memset(value, 'x', len);
            value[at] = '"';
            char text[64 * 2 + 8];
            size_t n = 0;
            for (size_t i = 0; i < len; i++) {
                if (value[i] == '"')
                    text[n++] = '\\';
                text[n++] = value[i];
            }
            char body[256];
            /* "s" last, so the escape is in the line's last block or the
             * one before, as len and at vary */
            snprintf(body, sizeof body,
                     "{\"i\":7,\"f\":2.5,\"d\":12.34,\"b\":true,\"t\":1700000000000,"
                     "\"du\":90000,\"ts\":1700000000123,\"s\":\"%.*s\"}",
                     (int)n, text);
            size_t body_len = strlen(body);
            char *buf = malloc(body_len + WEIR_DECODE_PADDING);
            memcpy(buf, body, body_len);
            memset(buf + body_len, '\\', WEIR_DECODE_PADDING);
            weir_decode_status st = weir_decoder_decode_padded(
                dec, buf, body_len, body_len + WEIR_DECODE_PADDING, &out);
            cr_assert_eq(st, WEIR_DECODE_OK, "%s: %s", body, out.reason);
            cr_assert(string_is(F_S, value, len), "%s", body);
            free(buf);
        }
    }
}

Test(decode, string_unicode)
{
    assert_ok(with("\"s\":\"\\u00e9t\\u00E9 caf\xc3\xa9\""));
    cr_assert(string_is(F_S, "\xc3\xa9t\xc3\xa9 caf\xc3\xa9", 11));
    /* A surrogate pair is one 4-byte character. */
    assert_ok(with("\"s\":\"\\ud83d\\ude00\""));
    cr_assert(string_is(F_S, "\xf0\x9f\x98\x80", 4));
    assert_ok(with("\"s\":\"\""));
    cr_assert(string_is(F_S, "", 0));
}

Test(decode, string_with_escaped_nul)
{
    assert_ok(with("\"s\":\"a\\u0000b\""));
    cr_assert(string_is(F_S, "a\0b", 3));
}

Test(decode, string_bad_escape_or_utf8)
{
    assert_status(with("\"s\":\"a\\qb\""), WEIR_DECODE_NOT_JSON, NULL);
    cr_assert(strncmp(out.reason, "field 's': invalid JSON: ", 25) == 0, "%s", out.reason);
    assert_status(with("\"s\":\"\xff\xfe\""), WEIR_DECODE_NOT_JSON, NULL);
    assert_status(with("\"s\":\"\\ud83d\""), WEIR_DECODE_NOT_JSON, NULL);
}

Test(decode, string_wrong_type)
{
    assert_status(with("\"s\":12"), WEIR_DECODE_WRONG_TYPE,
                  "field 's': expected string, got number");
}

/* Strings live in the decoder, not in the caller's line. */
Test(decode, strings_outlive_the_input)
{
    char buf[256];
    snprintf(buf, sizeof buf, "{\"s\":\"hello\"," BASE_BODY "}");
    assert_ok(weir_decoder_decode(dec, buf, strlen(buf), &out));
    memset(buf, 'z', sizeof buf);
    cr_assert(string_is(F_S, "hello", 5));
}

/* ------------------------------------------------------------------ */
/* bool, time, duration                                                 */

Test(decode, bools)
{
    assert_ok(with("\"b\":false"));
    cr_assert_eq(field(F_B)->u.b, false);
    assert_ok(with("\"b\":true"));
    cr_assert_eq(field(F_B)->u.b, true);
    assert_status(with("\"b\":1"), WEIR_DECODE_WRONG_TYPE, "field 'b': expected bool, got number");
    assert_status(with("\"b\":\"true\""), WEIR_DECODE_WRONG_TYPE, NULL);
    assert_status(with("\"b\":tru"), WEIR_DECODE_NOT_JSON, NULL);
}

Test(decode, time_as_integer_ms)
{
    cr_assert_eq(time_of("1795953600000"), 1795953600000);
    cr_assert_eq(time_of("-1"), -1);
    assert_status(with("\"t\":1.5"), WEIR_DECODE_WRONG_TYPE,
                  "field 't': expected time (integer ms or RFC 3339 string), "
                  "got a number with a fraction or exponent");
    assert_status(with("\"t\":false"), WEIR_DECODE_WRONG_TYPE,
                  "field 't': expected time (integer ms or RFC 3339 string), got bool");
}

Test(decode, time_rfc3339)
{
    cr_assert_eq(time_of("\"2026-11-29T12:00:00Z\""), 1795953600000);
    cr_assert_eq(time_of("\"2026-11-29T12:00:00.123+02:00\""), 1795946400123);
    cr_assert_eq(time_of("\"2026-11-29T12:00:00.5-05:30\""), 1795973400500);
    cr_assert_eq(time_of("\"2026-11-29t12:00:00z\""), 1795953600000);
    cr_assert_eq(time_of("\"2026-11-29 12:00:00Z\""), 1795953600000);
    /* Digits past the millisecond are cut, not rounded. */
    cr_assert_eq(time_of("\"2026-11-29T12:00:00.123999999Z\""), 1795953600123);
    cr_assert_eq(time_of("\"1969-12-31T23:59:59.999Z\""), -1);
    cr_assert_eq(time_of("\"2024-02-29T00:00:00Z\""), 1709164800000);
    cr_assert_eq(time_of("\"0001-01-01T00:00:00Z\""), -62135596800000);
    cr_assert_eq(time_of("\"9999-12-31T23:59:59.999Z\""), 253402300799999);
    /* A leap second is the next minute's :00. */
    cr_assert_eq(time_of("\"2016-12-31T23:59:60Z\""), time_of("\"2017-01-01T00:00:00Z\""));
}

Test(decode, time_rfc3339_rejects)
{
    assert_status(with("\"t\":\"2026-13-01T00:00:00Z\""), WEIR_DECODE_BAD_VALUE,
                  "field 't': \"2026-13-01T00:00:00Z\" is not an RFC 3339 time");
    static const char *const bad[] = {
        "\"2026-02-29T00:00:00Z\"",     /* not a leap year */
        "\"2026-11-29T12:00:00\"",      /* no offset */
        "\"2026-11-29T24:00:00Z\"",     "\"2026-11-29T12:60:00Z\"",
        "\"2026-11-29T12:00:00.Z\"",    "\"2026-11-29T12:00:00+2:00\"",
        "\"2026-11-29T12:00:00+02:00x\"", "\"2026-11-29\"", "\"\"",
        "\"2026-11-29T12:00:00+24:00\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "\"t\":%s", bad[i]);
        cr_assert_eq(with(buf), WEIR_DECODE_BAD_VALUE, "%s gave %s", bad[i],
                     weir_decode_status_name(with(buf)));
    }
}

Test(decode, durations)
{
    assert_ok(with("\"du\":600000"));
    cr_assert_eq(field(F_DU)->u.ms, 600000);
    assert_status(with("\"du\":\"10m\""), WEIR_DECODE_WRONG_TYPE,
                  "field 'du': expected duration (integer ms), got string");
}

/* ------------------------------------------------------------------ */
/* Missing, null, unused, unknown, duplicate                            */

Test(decode, null_is_a_missing_value)
{
    assert_ok(with("\"s\":null,\"d\":null,\"i\":null"));
    cr_assert(field(F_S)->missing);
    cr_assert(field(F_D)->missing);
    cr_assert(field(F_I)->missing);
    cr_assert_not(field(F_F)->missing);
    /* A later event's value replaces the missing one. */
    assert_ok(decode("{" BASE_BODY "}"));
    cr_assert_not(field(F_S)->missing);
}

Test(decode, null_event_time_is_missing_field)
{
    assert_status(with("\"ts\":null"), WEIR_DECODE_MISSING_FIELD,
                  "field 'ts': null, but it is the stream's event time");
}

Test(decode, absent_used_field)
{
    assert_status(decode("{\"i\":1,\"f\":1,\"s\":\"\",\"b\":true,\"t\":1,\"du\":1,\"ts\":1}"),
                  WEIR_DECODE_MISSING_FIELD, "field 'd': missing");
    /* The first one in declaration order is reported. */
    assert_status(decode("{\"ts\":1}"), WEIR_DECODE_MISSING_FIELD, "field 'i': missing");
    assert_status(decode("{}"), WEIR_DECODE_MISSING_FIELD, "field 'i': missing");
}

Test(decode_own, unused_fields_are_not_read)
{
    /* Only s and d are used (and ts, the event time, always). */
    static const bool mask[N_FIELDS] = {[F_S] = true, [F_D] = true};
    const bool *used[] = {mask};
    setup_with(ALL_TYPES, used, NULL);
    /* i absent, f of the wrong type, b malformed-looking but skipped. */
    assert_ok(decode("{\"f\":\"no\",\"b\":{\"x\":[1,2,{}]},\"s\":\"v\",\"d\":\"1.5\",\"ts\":5}"));
    cr_assert(string_is(F_S, "v", 1));
    cr_assert_eq(field(F_D)->u.dec, 15000);
    cr_assert_eq(out.ts, 5);
    cr_assert(field(F_I)->missing);
    cr_assert(field(F_F)->missing);
    cr_assert(field(F_B)->missing);
    /* The event time is read even when the mask leaves it out. */
    assert_status(decode("{\"s\":\"v\",\"d\":1}"), WEIR_DECODE_MISSING_FIELD,
                  "field 'ts': missing");
}

/* weir_decoder_new_full: the unused fields are decoded when present and
 * missing when absent; the used ones stay required. */
Test(decode_own, full_decoder_reads_unused_fields_when_present)
{
    static const bool mask[N_FIELDS] = {[F_S] = true};
    const bool *used[] = {mask};
    weir_compile_options opt = {.diag = fail_diag};
    cr_assert_eq(weir_ruleset_compile_text("t.weir", ALL_TYPES, strlen(ALL_TYPES), &opt, &rs),
                 WEIR_COMPILE_OK);
    dec = weir_decoder_new_full(rs->streams, 1, used, NULL);
    cr_assert_not_null(dec);
    assert_ok(decode("{\"s\":\"v\",\"i\":4,\"ts\":9}"));
    cr_assert_eq(field(F_I)->u.i, 4);
    cr_assert(field(F_D)->missing);
    cr_assert(string_is(F_S, "v", 1));
    assert_status(decode("{\"i\":4,\"ts\":9}"), WEIR_DECODE_MISSING_FIELD, "field 's': missing");
    assert_status(decode("{\"s\":\"v\",\"i\":\"4\",\"ts\":9}"), WEIR_DECODE_WRONG_TYPE,
                  "field 'i': expected int, got string");
}

Test(decode, unknown_keys_are_skipped)
{
    assert_ok(decode("{\"zz\":{\"a\":[1,{\"b\":null}],\"c\":\"d\"},\"deep\":[[[[[[1]]]]]],"
                     BASE_BODY ",\"\":0,\"tail\":false}"));
    cr_assert_eq(field(F_I)->u.i, 7);
}

Test(decode, duplicate_keys_first_wins)
{
    assert_ok(decode("{\"i\":1,\"i\":2,\"s\":\"first\"," BASE_BODY ",\"s\":\"last\"}"));
    cr_assert_eq(field(F_I)->u.i, 1);
    cr_assert(string_is(F_S, "first", 5));
    /* A bad later duplicate is skipped too. */
    assert_ok(decode("{\"i\":1,\"i\":\"bad\"," BASE_BODY "}"));
}

Test(decode, escaped_key_matches_its_field)
{
    assert_ok(decode("{\"\\u0069\":99," BASE_BODY "}"));
    cr_assert_eq(field(F_I)->u.i, 99);
    assert_ok(decode("{\"d\\u0075\":5,\"\\u0074s\":6,\"x\\ny\":1," BASE_BODY "}"));
    cr_assert_eq(field(F_DU)->u.ms, 5);
    cr_assert_eq(out.ts, 6);
    /* A key that only starts like a field is another key. */
    assert_ok(decode("{\"ix\":1,\"i\\u0078\":2,\"\":3,\"t\\\"\":4," BASE_BODY "}"));
    cr_assert_eq(field(F_I)->u.i, 7);
}

/* Names up to 15 bytes are matched as two words, longer ones bytewise:
 * both, and keys that differ from them only past a word, must match right. */
Test(decode_own, long_and_short_field_names)
{
    setup_with("stream s { abcdefghijklmno int, abcdefghijklmnop int,\n"
               "  merchant_category_code_of_the_acquirer int, a int }\n",
               NULL, NULL);
    assert_ok(decode("{\"abcdefghijklmnoX\":9,\"abcdefghijklmno\":15,\"abcdefghijklmnopq\":9,"
                     "\"abcdefghijklmnop\":16,\"merchant_category_code_of_the_acquirerX\":9,"
                     "\"merchant_category_code_of_the_acquire\":9,"
                     "\"merchant_category_code_of_the_acquirer\":38,\"ab\":9,\"a\":1}"));
    cr_assert_eq(field(0)->u.i, 15);
    cr_assert_eq(field(1)->u.i, 16);
    cr_assert_eq(field(2)->u.i, 38);
    cr_assert_eq(field(3)->u.i, 1);
    /* A one-byte key at the very end of the line. */
    assert_ok(decode("{\"abcdefghijklmno\":1,\"abcdefghijklmnop\":2,"
                     "\"merchant_category_code_of_the_acquirer\":3,\"a\":4}"));
    cr_assert_eq(field(3)->u.i, 4);
}

Test(decode_own, processing_time_has_ts_zero)
{
    setup_with("stream clicks processing time { user string, n int }\n", NULL, NULL);
    assert_ok(decode("{\"user\":\"u\",\"n\":3}"));
    cr_assert_eq(out.ts, 0);
    cr_assert(string_is(0, "u", 1));
    cr_assert_eq(field(1)->u.i, 3);
}

/* ------------------------------------------------------------------ */
/* Whole-line errors                                                    */

Test(decode, not_json)
{
    static const char *const bad[] = {"{", "", "   ", "hello", "{\"i\":}", "{\"i\" 1}",
                                      "{\"i\":1,}", "{'i':1}", "{\"i\":1", "nonsense",
                                      "tru", "-", "\"open", "1.2.3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weir_decode_status st = decode(bad[i]);
        cr_assert_eq(st, WEIR_DECODE_NOT_JSON, "'%s' gave %s", bad[i],
                     weir_decode_status_name(st));
        cr_assert_null(out.fields);
        cr_assert(strstr(out.reason, "invalid JSON: ") != NULL, "%s", out.reason);
    }
    cr_assert_eq(out.stream, 0);
}

Test(decode, not_an_object)
{
    assert_status(decode("[1,2]"), WEIR_DECODE_NOT_OBJECT, "expected a JSON object, got array");
    assert_status(decode("42"), WEIR_DECODE_NOT_OBJECT, "expected a JSON object, got number");
    assert_status(decode("\"s\""), WEIR_DECODE_NOT_OBJECT, "expected a JSON object, got string");
    assert_status(decode("null"), WEIR_DECODE_NOT_OBJECT, "expected a JSON object, got null");
    assert_status(decode("true"), WEIR_DECODE_NOT_OBJECT, "expected a JSON object, got bool");
}

Test(decode, trailing_garbage)
{
    assert_status(decode("{" BASE_BODY "}{}"), WEIR_DECODE_NOT_JSON,
                  "invalid JSON: unclosed object, or text after it");
    assert_status(decode("{" BASE_BODY "} x"), WEIR_DECODE_NOT_JSON,
                  "invalid JSON: unclosed object, or text after it");
    assert_status(decode("{" BASE_BODY "}}"), WEIR_DECODE_NOT_JSON, NULL);
    assert_status(decode("{" BASE_BODY "},"), WEIR_DECODE_NOT_JSON, NULL);
    assert_status(decode("{" BASE_BODY "}1"), WEIR_DECODE_NOT_JSON, NULL);
}

Test(decode, trailing_whitespace_and_cr)
{
    assert_ok(decode("{" BASE_BODY "}\r"));
    assert_ok(decode("  {" BASE_BODY "} \t\r"));
    assert_ok(decode("{" BASE_BODY "}\r\n"));
}

Test(decode, embedded_nul_bytes)
{
    /* A raw NUL inside a string is an unescaped control character. */
    static const char in_string[] = "{\"s\":\"a\0b\"," BASE_BODY "}";
    assert_status(weir_decoder_decode(dec, in_string, sizeof in_string - 1, &out),
                  WEIR_DECODE_NOT_JSON, NULL);
    /* After the object it is text after the object. */
    static const char after[] = "{" BASE_BODY "}\0";
    assert_status(weir_decoder_decode(dec, after, sizeof after - 1, &out), WEIR_DECODE_NOT_JSON,
                  NULL);
    /* Between tokens it is not whitespace. */
    static const char between[] = "{\"i\":\0 1," BASE_BODY "}";
    assert_status(weir_decoder_decode(dec, between, sizeof between - 1, &out),
                  WEIR_DECODE_NOT_JSON, NULL);
}

Test(decode, used_value_must_be_valid_json)
{
    assert_status(with("\"i\":0x10"), WEIR_DECODE_NOT_JSON, NULL);
    assert_status(with("\"i\":01"), WEIR_DECODE_NOT_JSON, NULL);
    assert_status(with("\"s\":nul"), WEIR_DECODE_NOT_JSON, NULL);
    assert_status(with("\"d\":1.e5"), WEIR_DECODE_NOT_JSON, NULL);
    cr_assert_str_eq(out.reason, "field 'd': invalid JSON number");
}

/* ------------------------------------------------------------------ */
/* Line length and buffer reuse                                         */

static char *long_event(size_t total, const char *prefix)
{
    /* prefix + "aaaa...a" + "\"}" is exactly total bytes. */
    size_t plen = strlen(prefix);
    char *buf = malloc(total + 1);
    cr_assert_not_null(buf);
    memcpy(buf, prefix, plen);
    memset(buf + plen, 'a', total - plen - 2);
    memcpy(buf + total - 2, "\"}", 3);
    return buf;
}

Test(decode_own, longest_line)
{
    setup_with("stream big { s string, n int }\n", NULL, NULL);
    char *buf = long_event(WEIR_DECODE_MAX_LINE, "{\"n\":1,\"s\":\"");
    assert_ok(weir_decoder_decode(dec, buf, WEIR_DECODE_MAX_LINE, &out));
    cr_assert_eq(field(0)->len, WEIR_DECODE_MAX_LINE - 14);
    cr_assert_eq(field(0)->u.s[0], 'a');
    cr_assert_eq(field(0)->u.s[field(0)->len - 1], 'a');
    free(buf);

    buf = long_event(WEIR_DECODE_MAX_LINE + 1, "{\"n\":1,\"s\":\"");
    assert_status(weir_decoder_decode(dec, buf, WEIR_DECODE_MAX_LINE + 1, &out),
                  WEIR_DECODE_TOO_LARGE,
                  "event of 1048577 bytes is over the limit of 1048576 bytes");
    free(buf);
    /* The decoder still works afterwards. */
    assert_ok(decode("{\"n\":2,\"s\":\"ok\"}"));
    cr_assert_eq(field(1)->u.i, 2);
}

/* A long line then short ones: what the long one left in the buffer must
 * never show through, and the same line decodes the same twice. */
Test(decode_own, buffer_reused)
{
    setup_with("stream big { s string, n int }\n", NULL, NULL);
    char *big = long_event(100000, "{\"n\":1,\"s\":\"");
    assert_ok(weir_decoder_decode(dec, big, 100000, &out));
    free(big);
    const char *short_line = "{\"n\":2,\"s\":\"xy\"}";
    for (int round = 0; round < 2; round++) {
        assert_ok(decode(short_line));
        cr_assert_eq(field(1)->u.i, 2);
        cr_assert(string_is(0, "xy", 2));
    }
    /* Truncated copies of a longer line stay truncated. */
    const char *line2 = "{\"n\":3,\"s\":\"abc\"}   {\"n\":4}";
    assert_ok(weir_decoder_decode(dec, line2, 17, &out));
    cr_assert_eq(field(1)->u.i, 3);
    cr_assert_eq(decode("{\"n\":5"), WEIR_DECODE_NOT_JSON);
}

Test(decode, no_allocation_in_steady_state)
{
    char *big = long_event(50000, "{" BASE_BODY ",\"pad\":\"");
    assert_ok(weir_decoder_decode(dec, big, 50000, &out));
    assert_ok(decode("{" BASE_BODY "}"));
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 1000; i++) {
        weir_decoder_decode(dec, big, 50000 - (size_t)i * 7 % 100, &out);
        with("\"s\":\"\\u00e9\\n\"");
        with("\"d\":\"1.23456\"");
    }
    struct mallinfo2 after = mallinfo2();
    free(big);
    cr_assert_eq(after.uordblks, before.uordblks);
    cr_assert_eq(after.hblkhd, before.hblkhd);
}

Test(decode, zero_copy_with_padding)
{
    const char *ev = "{" BASE_BODY "}";
    size_t len = strlen(ev);
    char *buf = malloc(len + WEIR_DECODE_PADDING);
    memcpy(buf, ev, len);
    memset(buf + len, '}', WEIR_DECODE_PADDING); /* content past len is ignored */
    assert_ok(weir_decoder_decode_padded(dec, buf, len, len + WEIR_DECODE_PADDING, &out));
    cr_assert_eq(field(F_I)->u.i, 7);
    cr_assert_eq(out.ts, 1700000000123);
    /* Too little padding: copied instead, same result. */
    assert_ok(weir_decoder_decode_padded(dec, buf, len, len + 1, &out));
    cr_assert_eq(field(F_D)->u.dec, 123400);
    free(buf);
}

/* Without a backslash in the line a string is used where it lies; with
 * one anywhere, strings are unescaped into the decoder as before. */
Test(decode, zero_copy_strings)
{
    const char *lines[] = {
        "{\"s\":\"hello\"  ," BASE_BODY "}",
        "{\"s\":\"hello\"," BASE_BODY ",\"x\":\"a\\nb\"}",
        "{\"s\":\"\"," BASE_BODY "}",
    };
    const char *want[] = {"hello", "hello", ""};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        size_t len = strlen(lines[i]);
        char *buf = malloc(len + WEIR_DECODE_PADDING);
        memcpy(buf, lines[i], len);
        memset(buf + len, ' ', WEIR_DECODE_PADDING);
        assert_ok(weir_decoder_decode_padded(dec, buf, len, len + WEIR_DECODE_PADDING, &out));
        cr_assert(string_is(F_S, want[i], strlen(want[i])), "%s", lines[i]);
        bool in_buf = field(F_S)->u.s >= buf && field(F_S)->u.s < buf + len;
        cr_assert_eq(in_buf, i != 1, "%s", lines[i]);
        free(buf);
    }
}

/* simdjson looks at the padding of a line that ends in '}' (its issue
 * 1834): a line must get the same status and reason as from a copy. The
 * last one is a fuzzer find: a skipped value unbalances the braces, which
 * the '}' padding exposes and the copy does not. */
Test(decode, zero_copy_result_ignores_padding)
{
    static const char *const lines[] = {
        "{\"i\"z1}}", "{\"i\":1}}", "{}}", "{\"i\":[}",
        "{\"i\":1,\"i\":2,\"\\u0069\":,{\"b\":nul}M},\"deep\":[[[[1]]]],\"f\":1,\"d\":1,"
        "\"s\":\"s\",\"b\":true,\"t\":1,\"du\":1,\"ts\":1}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        size_t len = strlen(lines[i]);
        char copied[192];
        weir_decode_status want = decode(lines[i]);
        memcpy(copied, out.reason, sizeof copied);
        char *buf = malloc(len + WEIR_DECODE_PADDING);
        memcpy(buf, lines[i], len);
        memset(buf + len, '}', WEIR_DECODE_PADDING);
        weir_decode_status st =
            weir_decoder_decode_padded(dec, buf, len, len + WEIR_DECODE_PADDING, &out);
        free(buf);
        cr_assert_eq(st, want, "%s", lines[i]);
        cr_assert_str_eq(out.reason, copied, "%s", lines[i]);
        cr_assert_eq(out.fields != NULL, st == WEIR_DECODE_OK);
    }
}

/* The padded number parsers (decode_text.c) read whole words past the
 * token: with the padding full of digits and points, whatever they accept
 * must be what the general parsers give, and the shapes events carry must
 * be accepted. */
static void padded_agrees(const char *text, size_t len, bool int_taken, bool decimal_taken)
{
    char buf[32 + WEIR_DECODE_PADDING];
    cr_assert(len <= 32);
    memcpy(buf, text, len);
    for (size_t i = len; i < sizeof buf; i++)
        buf[i] = "9.1"[i % 3];
    int64_t fast = 0, slow = 0;
    if (weir_decode_int_padded(buf, len, &fast)) {
        cr_assert_eq(weir_decode_parse_int(buf, len, &slow), WEIR_NUM_OK, "int %.*s", (int)len, text);
        cr_assert_eq(fast, slow, "int %.*s", (int)len, text);
    } else {
        cr_assert(!int_taken, "int %.*s not taken", (int)len, text);
    }
    if (weir_decode_decimal_padded(buf, len, &fast)) {
        weir_num_result r = weir_decode_parse_decimal(buf, len, false, &slow);
        cr_assert(r == WEIR_NUM_OK || r == WEIR_NUM_NOT_INTEGER, "decimal %.*s", (int)len, text);
        cr_assert_eq(fast, slow, "decimal %.*s", (int)len, text);
    } else {
        cr_assert(!decimal_taken, "decimal %.*s not taken", (int)len, text);
    }
}

Test(decode_numbers, padded_parsers_take_the_usual_shapes)
{
    static const char *const usual[] = {
        "0", "7", "-3", "109.45", "0.10", "-0.5", "5000", "1.5", "1700000000004",
        "12345678", "123456789", "-12345678901234", "99999999999.9999",
        "-9999999999.9999", "0.0001", "42.1",
    };
    for (size_t i = 0; i < sizeof usual / sizeof usual[0]; i++)
        padded_agrees(usual[i], strlen(usual[i]), !strchr(usual[i], '.'), true);
    /* ints of up to 16 digits; decimals of up to 14 before the point */
    padded_agrees("1234567890123456", 16, true, false);
    padded_agrees("-1234567890123456", 17, true, false);
    static const char *const others[] = {
        "", "-", ".", "1.", ".5", "01", "-01", "00.5", "1.23456", "1e5", "1.5e2", "+1",
        "12345678901234567", "123456789012345.5", "12345678901234.5678", "1..2", "1.2.3", "1-2", "- 1", "1 ",
        "0x10", "9223372036854775807", "-9223372036854775808", "1.-5", "1.+5",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        padded_agrees(others[i], strlen(others[i]), false, false);
}

Test(decode_numbers, padded_parsers_agree_on_random_tokens)
{
    static const char alphabet[] = "0123456789012345678901234567890123456789.-eE+ ";
    uint64_t state = 42;
    char text[32];
    for (int n = 0; n < 300000; n++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        size_t len = (size_t)(state >> 59); /* 0..31 */
        for (size_t i = 0; i < len; i++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            text[i] = alphabet[(state >> 33) % (sizeof alphabet - 1)];
        }
        padded_agrees(text, len, false, false);
    }
}

/* ------------------------------------------------------------------ */
/* Several streams                                                      */

#define TWO_STREAMS                                                   \
    "stream payments event time ts { card string, amount decimal, ts time }\n" \
    "stream logins processing time { user string, ok bool }\n"

Test(decode_own, selector_picks_the_stream)
{
    setup_with(TWO_STREAMS, NULL, "stream");
    assert_ok(decode("{\"stream\":\"logins\",\"user\":\"u1\",\"ok\":false}"));
    cr_assert_eq(out.stream, 1);
    cr_assert(string_is(0, "u1", 2));
    cr_assert_eq(field(1)->u.b, false);
    cr_assert_eq(out.ts, 0);
    /* The selector may come anywhere, even last. */
    assert_ok(decode("{\"card\":\"c\",\"amount\":\"9.99\",\"ts\":42,\"stream\":\"payments\"}"));
    cr_assert_eq(out.stream, 0);
    cr_assert_eq(field(1)->u.dec, 99900);
    cr_assert_eq(out.ts, 42);
}

Test(decode_own, selector_missing_or_null)
{
    setup_with(TWO_STREAMS, NULL, "stream");
    assert_status(decode("{\"user\":\"u1\",\"ok\":false}"), WEIR_DECODE_NO_STREAM,
                  "no stream selector 'stream'");
    cr_assert_eq(out.stream, WEIR_DECODE_STREAM_UNKNOWN);
    assert_status(decode("{\"stream\":null,\"user\":\"u1\"}"), WEIR_DECODE_NO_STREAM,
                  "stream selector 'stream' is null");
    /* Broken JSON is NOT_JSON even without a selector. */
    assert_status(decode("{\"user\":\"u1\"} x"), WEIR_DECODE_NOT_JSON, NULL);
}

Test(decode_own, selector_names_no_stream)
{
    setup_with(TWO_STREAMS, NULL, "stream");
    assert_status(decode("{\"stream\":\"refunds\"}"), WEIR_DECODE_UNKNOWN_STREAM,
                  "unknown stream \"refunds\"");
    assert_status(decode("{\"stream\":\"a\\nb\"}"), WEIR_DECODE_UNKNOWN_STREAM,
                  "unknown stream \"a\\x0ab\"");
    assert_status(decode("{\"stream\":3}"), WEIR_DECODE_WRONG_TYPE,
                  "stream selector 'stream': expected string, got number");
}

Test(decode_own, errors_after_selection_name_the_stream)
{
    setup_with(TWO_STREAMS, NULL, "stream");
    assert_status(decode("{\"stream\":\"logins\",\"user\":\"u1\"}"), WEIR_DECODE_MISSING_FIELD,
                  "field 'ok': missing");
    cr_assert_eq(out.stream, 1);
}

Test(decode_own, one_stream_ignores_the_selector)
{
    setup_with("stream logins { user string }\n", NULL, "stream");
    assert_ok(decode("{\"stream\":\"something else\",\"user\":\"u\"}"));
    cr_assert_eq(out.stream, 0);
}

/* ------------------------------------------------------------------ */
/* API                                                                  */

Test(decode, status_names)
{
    static const char *const names[] = {"ok", "not_json", "not_object", "no_stream",
                                        "unknown_stream", "missing_field", "wrong_type",
                                        "bad_value", "too_large", "no_memory"};
    cr_assert_eq(sizeof names / sizeof names[0], WEIR_DECODE__COUNT);
    for (int i = 0; i < WEIR_DECODE__COUNT; i++)
        cr_assert_str_eq(weir_decode_status_name((weir_decode_status)i), names[i]);
    cr_assert_str_eq(weir_decode_status_name(WEIR_DECODE__COUNT), "unknown");
}

Test(decode_own, bad_arguments)
{
    setup_with(TWO_STREAMS, NULL, "stream");
    cr_assert_null(weir_decoder_new(NULL, 1, NULL, NULL));
    cr_assert_null(weir_decoder_new(rs->streams, 0, NULL, NULL));
    cr_assert_null(weir_decoder_new(rs->streams, 2, NULL, NULL));
    cr_assert_null(weir_decoder_new(rs->streams, 2, NULL, ""));
    weir_decoder_free(NULL);
}

Test(decode, long_values_are_cut_in_reasons)
{
    char buf[512], want[256];
    char value[201];
    memset(value, '9', 200);
    value[200] = '\0';
    snprintf(buf, sizeof buf, "\"i\":%s", value);
    snprintf(want, sizeof want, "field 'i': %.40s... is out of range (64-bit integer)", value);
    assert_status(with(buf), WEIR_DECODE_BAD_VALUE, want);
    snprintf(buf, sizeof buf, "\"t\":\"%s\"", value);
    snprintf(want, sizeof want, "field 't': \"%.40s\"... is not an RFC 3339 time", value);
    assert_status(with(buf), WEIR_DECODE_BAD_VALUE, want);
}
