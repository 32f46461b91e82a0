/* decode_text.c — the exact text parsers behind the event decoder: JSON
 * integers, decimals straight from their digits, RFC 3339 times, and the
 * quoting of bad values in reason texts.
 *
 * Decimals never pass through a double: 0.1 has no exact binary form, and
 * money read as 12.299999999 and rounded back is how cents go missing. The
 * digits are accumulated into an integer of 1/10000ths with overflow checks;
 * digits past the fourth decimal decide the rounding (half away from zero,
 * like the language's decimal arithmetic) and are otherwise dropped, and an
 * exponent only moves the decimal point. Every parser takes (pointer,
 * length): tokens are not NUL-terminated. */
#include "engine/decode-internal.h"

#include <stdio.h>
#include <string.h>

#include "dsl/ast.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The parts of a number: [sign] int-digits [. frac-digits] [e exp]. */
typedef struct num_parts {
    bool negative;
    const char *int_digits;
    size_t n_int;
    const char *frac_digits;
    size_t n_frac;
    bool has_exp;
    int64_t exp; /* saturated at +-EXP_LIMIT */
} num_parts;

/* Beyond any digit count a line can hold, so saturating never changes a
 * result: |exp| this large gives 0 or out of range either way. */
#define EXP_LIMIT ((int64_t)1 << 40)

/* Splits s into parts. JSON grammar (strict) or, lenient, a leading '+'
 * and leading zeros too. False when s is not such a number. */
static bool split_number(const char *s, size_t len, bool lenient, num_parts *p)
{
    size_t i = 0;
    memset(p, 0, sizeof *p);
    if (i < len && (s[i] == '-' || (lenient && s[i] == '+'))) {
        p->negative = s[i] == '-';
        i++;
    }
    p->int_digits = s + i;
    while (i < len && is_digit(s[i]))
        i++;
    p->n_int = (size_t)(s + i - p->int_digits);
    if (p->n_int == 0 || (!lenient && p->n_int > 1 && p->int_digits[0] == '0'))
        return false;
    if (i < len && s[i] == '.') {
        i++;
        p->frac_digits = s + i;
        while (i < len && is_digit(s[i]))
            i++;
        p->n_frac = (size_t)(s + i - p->frac_digits);
        if (p->n_frac == 0)
            return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        bool exp_negative = false;
        p->has_exp = true;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            exp_negative = s[i] == '-';
            i++;
        }
        if (i == len || !is_digit(s[i]))
            return false;
        for (; i < len && is_digit(s[i]); i++)
            if (p->exp < EXP_LIMIT)
                p->exp = p->exp * 10 + (s[i] - '0');
        if (p->exp > EXP_LIMIT)
            p->exp = EXP_LIMIT;
        if (exp_negative)
            p->exp = -p->exp;
    }
    return i == len;
}

bool weir_decode_is_json_number(const char *s, size_t len)
{
    num_parts p;
    return split_number(s, len, false, &p);
}

/* mag * 10 + digit, unless that passes limit (<= 2^63). */
static bool push_digit(uint64_t *mag, unsigned digit, uint64_t limit)
{
    uint64_t next;
    if (__builtin_mul_overflow(*mag, 10, &next) || __builtin_add_overflow(next, digit, &next) ||
        next > limit)
        return false;
    *mag = next;
    return true;
}

/* Up to 18 digits cannot pass 2^63 (10^18 - 1 < 2^63): those skip the
 * overflow checks. (An event's numbers of the usual shapes do not come
 * here at all: weir_decode_int_padded and _decimal_padded read them.) */
#define SAFE_DIGITS 18

/* The largest magnitude of an int64 of that sign. */
static uint64_t magnitude_limit(bool negative)
{
    return negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
}

static int64_t apply_sign(uint64_t mag, bool negative)
{
    if (!negative)
        return (int64_t)mag;
    /* -(2^63) is representable although +(2^63) is not. */
    return mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
}

/* The n digits at s (1 <= n <= 8) as a number, reading 8 bytes: moved to
 * the top of the word, the bytes below filled with '0', then checked and
 * combined in three multiplications (1-digit pairs, then 2-digit, then
 * 4-digit groups), a fraction of a multiply-add per digit. False when one
 * of the n is not a digit. Little-endian only, like the rest of the
 * decoder. */
static inline bool up_to_eight_digits(const char *s, unsigned n, uint64_t *value)
{
    uint64_t w;
    memcpy(&w, s, sizeof w);
    unsigned shift = (8 - n) * 8; /* 0..56 */
    w = (w << shift) | (0x3030303030303030u & (((uint64_t)1 << shift) - 1));
    /* '0'..'9' are 0x30..0x39: high nibble 3, and adding 6 keeps it 3. */
    if (((w & 0xF0F0F0F0F0F0F0F0u) | (((w + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) >> 4)) !=
        0x3333333333333333u)
        return false;
    w -= 0x3030303030303030u;
    /* byte k holds digit k (most significant first, lowest address) */
    w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFu;      /* 4 values of 2 digits */
    w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFu;    /* 2 values of 4 digits */
    w = (w * 10000 + (w >> 32)) & 0x00000000FFFFFFFFu;  /* 1 value of 8 digits */
    *value = w;
    return true;
}

/* 1 to 16 digits, none leading zero unless alone. */
static inline bool digits_padded(const char *s, size_t n, uint64_t *value)
{
    /* one branch: whether n > 1 varies from number to number */
    if ((n - 1 >= 16) | ((n > 1) & (s[0] == '0')))
        return false;
    if (n <= 8)
        return up_to_eight_digits(s, (unsigned)n, value);
    uint64_t high, low;
    if (!up_to_eight_digits(s, (unsigned)(n - 8), &high) ||
        !up_to_eight_digits(s + n - 8, 8, &low))
        return false;
    *value = high * 100000000u + low;
    return true;
}

bool weir_decode_int_padded(const char *s, size_t len, int64_t *out)
{
    bool negative = len > 0 && s[0] == '-';
    uint64_t mag;
    if (!digits_padded(s + negative, len - negative, &mag))
        return false;
    *out = negative ? -(int64_t)mag : (int64_t)mag;
    return true;
}

bool weir_decode_decimal_padded(const char *s, size_t len, int64_t *out)
{
    static const uint64_t scale_for_frac[5] = {10000, 1000, 100, 10, 1};
    if (len > 16)
        return false;
    bool negative = len > 0 && s[0] == '-';
    const char *digits = s + negative;
    size_t n = len - negative;
    if (n - 3 <= 5) {
        /* Up to 8 bytes with a point inside, as most amounts are ("109.45"):
         * the point taken out of one word, the digits read in one go. */
        uint64_t w;
        memcpy(&w, digits, sizeof w);
        uint64_t x = w ^ 0x2E2E2E2E2E2E2E2Eu;
        uint64_t z = (x - 0x0101010101010101u) & ~x & 0x8080808080808080u;
        size_t dot = z ? (size_t)__builtin_ctzll(z) / 8 : 8;
        size_t n_frac = n - dot - 1;
        /* dot >= 1, 1 to 4 decimals (n_frac wraps when dot >= n), no
         * leading zero before more digits */
        if ((dot - 1 < n - 2) & (n_frac - 1 < 4) & !((dot > 1) & (digits[0] == '0'))) {
            uint64_t below = ((uint64_t)1 << (8 * dot)) - 1; /* dot <= 6 */
            uint64_t joined = (w & below) | ((w >> 8) & ~below);
            uint64_t mag;
            if (!up_to_eight_digits((const char *)&joined, (unsigned)(n - 1), &mag))
                return false;
            mag *= scale_for_frac[n_frac];
            *out = negative ? -(int64_t)mag : (int64_t)mag;
            return true;
        }
    }
    /* the first '.' among the n bytes, by the zero-byte test on the 16
     * bytes read XOR '.' (exact for the lowest match) */
    uint64_t w[2];
    memcpy(w, digits, sizeof w);
    uint64_t x0 = w[0] ^ 0x2E2E2E2E2E2E2E2Eu, x1 = w[1] ^ 0x2E2E2E2E2E2E2E2Eu;
    uint64_t z0 = (x0 - 0x0101010101010101u) & ~x0 & 0x8080808080808080u;
    uint64_t z1 = (x1 - 0x0101010101010101u) & ~x1 & 0x8080808080808080u;
    size_t dot = z0 ? (size_t)__builtin_ctzll(z0) / 8 : z1 ? 8 + (size_t)__builtin_ctzll(z1) / 8 : 16;
    uint64_t int_part, frac = 0;
    if (dot >= n) {
        dot = n; /* no point */
    } else {
        size_t n_frac = n - dot - 1;
        if (n_frac - 1 >= 4 || !up_to_eight_digits(digits + dot + 1, (unsigned)n_frac, &frac))
            return false;
        frac *= scale_for_frac[n_frac];
    }
    if (dot > SAFE_DIGITS - 4 || !digits_padded(digits, dot, &int_part))
        return false;
    uint64_t mag = int_part * 10000u + frac;
    *out = negative ? -(int64_t)mag : (int64_t)mag;
    return true;
}

weir_num_result weir_decode_parse_int(const char *s, size_t len, int64_t *out)
{
    num_parts p;
    if (!split_number(s, len, false, &p))
        return WEIR_NUM_SYNTAX;
    if (p.n_frac > 0 || p.has_exp)
        return WEIR_NUM_NOT_INTEGER;
    uint64_t mag = 0, limit = magnitude_limit(p.negative);
    if (p.n_int <= SAFE_DIGITS) {
        for (size_t i = 0; i < p.n_int; i++)
            mag = mag * 10 + (unsigned)(p.int_digits[i] - '0');
    } else {
        for (size_t i = 0; i < p.n_int; i++)
            if (!push_digit(&mag, (unsigned)(p.int_digits[i] - '0'), limit))
                return WEIR_NUM_RANGE;
    }
    *out = apply_sign(mag, p.negative);
    return WEIR_NUM_OK;
}

/* Digit i of the number's digits, integer part then fraction. */
static unsigned digit_at(const num_parts *p, size_t i)
{
    char c = i < p->n_int ? p->int_digits[i] : p->frac_digits[i - p->n_int];
    return (unsigned)(c - '0');
}

weir_num_result weir_decode_parse_decimal(const char *s, size_t len, bool lenient,
                                          int64_t *out)
{
    num_parts p;
    if (!split_number(s, len, lenient, &p))
        return WEIR_NUM_SYNTAX;
    /* value = digits * 10^(exp - n_frac); scaled = digits * 10^shift. */
    const int64_t scale_digits = 4; /* log10(WEIR_DECIMAL_SCALE) */
    _Static_assert(WEIR_DECIMAL_SCALE == 10000, "scale_digits follows the scale");
    size_t n_digits = p.n_int + p.n_frac;
    int64_t shift = p.exp - (int64_t)p.n_frac + scale_digits;
    /* Digits kept before the point of the scaled value; the rest round. */
    int64_t kept = (int64_t)n_digits + (shift < 0 ? shift : 0);
    uint64_t mag = 0, limit = magnitude_limit(p.negative);
    if (kept <= SAFE_DIGITS) {
        for (int64_t i = 0; i < kept; i++)
            mag = mag * 10 + digit_at(&p, (size_t)i);
    } else {
        for (int64_t i = 0; i < kept; i++)
            if (!push_digit(&mag, digit_at(&p, (size_t)i), limit))
                return WEIR_NUM_RANGE;
    }
    if (shift > 0 && mag != 0) {
        for (int64_t i = 0; i < shift; i++)
            if (!push_digit(&mag, 0, limit))
                return WEIR_NUM_RANGE;
    }
    /* The first dropped digit decides: >= 5 rounds the magnitude up. */
    if (kept >= 0 && (size_t)kept < n_digits && digit_at(&p, (size_t)kept) >= 5) {
        if (mag == limit)
            return WEIR_NUM_RANGE;
        mag++;
    }
    *out = apply_sign(mag, p.negative);
    return WEIR_NUM_OK;
}

/* ------------------------------------------------------------------ */
/* RFC 3339                                                             */

/* n digits at s as a number, or -1. */
static int fixed_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: the
 * well-known era arithmetic (400-year cycles of 146097 days, years counted
 * from March so the leap day comes last). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;                                    /* [0, 399] */
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;   /* [0, 365] */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
    return (int64_t)era * 146097 + doe - 719468;
}

bool weir_decode_parse_rfc3339(const char *s, size_t len, int64_t *out_ms)
{
    /* yyyy-mm-ddThh:mm:ss is 19 bytes; then [.frac] and Z or +hh:mm. */
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
        return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return false;
    int year = fixed_digits(s, 4), month = fixed_digits(s + 5, 2), day = fixed_digits(s + 8, 2);
    int hour = fixed_digits(s + 11, 2), minute = fixed_digits(s + 14, 2);
    int second = fixed_digits(s + 17, 2);
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return false;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
        return false;
    size_t i = 19;
    int millis = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        for (; i < len && is_digit(s[i]); i++)
            if (i - start < 3)
                millis = millis * 10 + (s[i] - '0');
        if (i == start)
            return false;
        for (size_t n = i - start; n < 3; n++)
            millis *= 10;
    }
    int offset_min = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (len - i < 6 || s[i + 3] != ':')
            return false;
        int oh = fixed_digits(s + i + 1, 2), om = fixed_digits(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return false;
    }
    if (i != len)
        return false;
    int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                   second - (int64_t)offset_min * 60;
    *out_ms = secs * 1000 + millis;
    return true;
}

/* ------------------------------------------------------------------ */
/* Quoting                                                              */

char *weir_decode_quote(char *dst, size_t cap, const char *s, size_t len, size_t max)
{
    size_t o = 0;
    bool cut = len > max;
    if (cut) {
        len = max;
        /* Do not end inside a UTF-8 character: back off continuation bytes
         * and the lead byte they follow. */
        size_t end = len;
        while (end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80)
            end--;
        len = end;
    }
    /* Each input byte takes at most 4 output bytes ("\xNN"); stop while the
     * closing quote, "..." and the NUL still fit. */
    const size_t tail = 1 + 3 + 1;
    if (cap < 2 + tail) {
        dst[0] = '\0';
        return dst;
    }
    dst[o++] = '"';
    for (size_t i = 0; i < len && o + 4 + tail <= cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            snprintf(dst + o, cap - o, "\\x%02x", c);
            o += 4;
        } else {
            dst[o++] = (char)c;
        }
        if (i + 1 < len && o + 4 + tail > cap)
            cut = true;
    }
    dst[o++] = '"';
    if (cut) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}
