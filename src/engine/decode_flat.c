/* decode_flat.c — the event decoder's fast path: one flat JSON object of
 * scalars, walked over the token positions simdjson's stage 1 found.
 *
 * Nearly every event is such an object, and for it simdjson's On-Demand
 * front end spends more on its own bookkeeping than stage 1 spends finding
 * the tokens. Here each key and value is one or two array reads away, so a
 * field costs a key comparison and little else.
 *
 * This path never decides that an event is bad. Whatever it does not
 * handle in the plainest way — a backslash in the line (checked by the
 * caller), a nested value, a token out of place, an atom that is not quite
 * true/false/null, a float it cannot read exactly with one IEEE operation,
 * a selector that names no stream — makes it give up, and the caller
 * decodes the line again with On-Demand, which finds the same values on
 * good lines and gives the reason on bad ones. So for every line it
 * accepts it must fill the slots exactly as decode_json.cc would: first
 * occurrence of a key wins, values of unused keys are skipped unread,
 * numbers are handed on as their token text. */
#include "engine/decode-internal.h"

#include <string.h>

/* The token starting at `from` up to the next token at `to`, less the
 * whitespace before it. */
static size_t token_len(const char *buf, uint32_t from, uint32_t to)
{
    size_t len = to - from;
    while (len > 0) {
        char c = buf[from + len - 1];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        len--;
    }
    return len;
}

/* 10^0 .. 10^22 are exact doubles. */
static const double exact_powers_of_ten[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* A JSON number as a double when one multiplication or division of two
 * exact doubles gives it (at most 2^53 for the digits, a power of ten up to
 * 10^22): then it is correctly rounded, as simdjson's result is. False for
 * anything else, including text that is not a JSON number. */
static bool exact_double(const char *s, size_t len, double *out)
{
    size_t i = 0;
    bool negative = len > 0 && s[0] == '-';
    i += negative;
    size_t int_start = i;
    uint64_t mantissa = 0;
    int digits = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
        mantissa = mantissa * 10 + (unsigned)(s[i] - '0');
    if (i == int_start || (i - int_start > 1 && s[int_start] == '0'))
        return false;
    int exp10 = 0;
    if (i < len && s[i] == '.') {
        size_t frac_start = ++i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
            mantissa = mantissa * 10 + (unsigned)(s[i] - '0');
        if (i == frac_start)
            return false;
        exp10 = -(int)(i - frac_start);
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool exp_negative = i < len && s[i] == '-';
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        /* Up to 3 digits: |exponent| <= 22 needs no more, and simdjson
         * has its own say on long ones ("3e-000...0" is not 3 there). */
        size_t exp_start = i;
        int e = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (i - exp_start == 3)
                return false;
            e = e * 10 + (s[i] - '0');
        }
        if (i == exp_start || i != len)
            return false;
        exp10 += exp_negative ? -e : e;
    }
    if (i != len || digits > 19 || mantissa > ((uint64_t)1 << 53) || exp10 < -22 || exp10 > 22)
        return false;
    double m = (double)mantissa;
    m = exp10 < 0 ? m / exact_powers_of_ten[-exp10] : m * exact_powers_of_ten[exp10];
    *out = negative ? -m : m;
    return true;
}

/* The value token at buf[v, end) into the slot; false to give up. */
static bool read_value(const char *buf, uint32_t v, uint32_t end, const weir_json_key *key,
                       weir_json_slot *slot)
{
    const char *t = buf + v;
    size_t len = token_len(buf, v, end);
    switch (t[0]) {
    case '"':
        /* One string: stage 1 starts a new token at whatever follows a
         * string's closing quote (test_decode_paths checks it), so a token
         * that opens with a quote and ends with one is exactly a string. */
        if (len < 2 || t[len - 1] != '"')
            return false;
        slot->text = t + 1;
        slot->len = len - 2;
        slot->kind = WEIR_JSON_STRING;
        return true;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        slot->text = t;
        slot->len = len;
        slot->f_ok = false;
        if (key->want_double && !(slot->f_ok = exact_double(t, len, &slot->f)))
            return false;
        slot->kind = WEIR_JSON_NUMBER;
        return true;
    case 't':
    case 'f':
        if (len == 4 && memcmp(t, "true", 4) == 0)
            slot->b = true;
        else if (len == 5 && memcmp(t, "false", 5) == 0)
            slot->b = false;
        else
            return false;
        slot->kind = WEIR_JSON_BOOL;
        return true;
    case 'n':
        if (len != 4 || memcmp(t, "null", 4) != 0)
            return false;
        slot->kind = WEIR_JSON_NULL;
        return true;
    default:
        return false; /* nested, or not a value at all */
    }
}

/* Bytes that cannot start a member's value token: they open, close or
 * separate instead. */
static const bool not_a_value_start[256] = {
    ['{'] = true, ['['] = true, [']'] = true, ['}'] = true, [','] = true, [':'] = true,
};

/* Whether tokens i (key), i+1, i+2 (value), i+3 have the shape of one
 * member: a key string, a colon, a value that opens nothing, then a comma,
 * or the closing brace for the last member. The caller has checked that
 * the token count fits {} or {k:v(,k:v)*}, so i + 3 < n, and that the last
 * token is the brace. The four tests are combined without branching: a
 * line's members nearly always pass them all. */
static inline __attribute__((always_inline)) bool member_shape(const char *buf,
                                                               const uint32_t *ix, uint32_t n,
                                                               uint32_t i)
{
    unsigned char key = (unsigned char)buf[ix[i]], colon = (unsigned char)buf[ix[i + 1]];
    unsigned char value = (unsigned char)buf[ix[i + 2]], after = (unsigned char)buf[ix[i + 3]];
    return (key == '"') & (colon == ':') & !not_a_value_start[value] &
           ((after == ',') | (i + 3 == n - 1));
}

/* The key at token i, exactly as a used field names it, or NULL. */
static const weir_json_key *used_key(const char *buf, const uint32_t *ix, uint32_t i,
                                     const weir_json_stream *s)
{
    const char *raw = buf + ix[i] + 1;
    unsigned char c = (unsigned char)raw[0];
    for (unsigned k = s->first[c]; k < s->first[c + 1]; k++)
        if (weir_json_key_is(raw, &s->keys[k]))
            return &s->keys[k];
    return NULL;
}

/* The stream the selector names: like decode_json.cc's select_stream, the
 * first occurrence counts; a null, non-string or unknown one gives up. */
static bool select_stream(const char *buf, const uint32_t *ix, uint32_t n,
                          const weir_json_stream *streams, size_t n_streams,
                          const char *selector, size_t selector_len, unsigned *stream)
{
    for (uint32_t i = 1; i < n - 1; i += 4) {
        if (!member_shape(buf, ix, n, i))
            return false;
        const char *key = buf + ix[i] + 1;
        if (token_len(buf, ix[i], ix[i + 1]) != selector_len + 2 ||
            memcmp(key, selector, selector_len) != 0)
            continue;
        const char *v = buf + ix[i + 2];
        size_t len = token_len(buf, ix[i + 2], ix[i + 3]);
        if (v[0] != '"' || len < 2 || v[len - 1] != '"' || memchr(v + 1, '"', len - 2))
            return false;
        for (size_t s = 0; s < n_streams; s++) {
            if (streams[s].name_len == len - 2 && memcmp(streams[s].name, v + 1, len - 2) == 0) {
                *stream = (unsigned)s;
                return true;
            }
        }
        return false;
    }
    return *stream < n_streams; /* no selector: the default, if any */
}

bool weir_json_flat_read(const char *buf, const uint32_t *ix, uint32_t n,
                         const weir_json_stream *streams, size_t n_streams,
                         const char *selector, size_t selector_len, weir_json_slot *slots,
                         unsigned *stream)
{
    if (n < 2 || buf[ix[0]] != '{' || buf[ix[n - 1]] != '}')
        return false;
    if (n > 2 && (n - 2) % 4 != 3)
        return false; /* not {} and not k:v (,k:v)* */
    unsigned s = 0;
    if (n_streams > 1) {
        unsigned chosen = *stream;
        if (!select_stream(buf, ix, n, streams, n_streams, selector, selector_len, &chosen))
            return false;
        s = chosen;
    }
    const weir_json_stream *plan = &streams[s];
    for (unsigned i = 0; i < plan->n_slots; i++)
        slots[i].kind = WEIR_JSON_ABSENT;
    for (uint32_t i = 1; i < n - 1; i += 4) {
        if (!member_shape(buf, ix, n, i))
            return false;
        const weir_json_key *k = used_key(buf, ix, i, plan);
        if (!k || slots[k->slot].kind != WEIR_JSON_ABSENT)
            continue;
        if (!read_value(buf, ix[i + 2], ix[i + 3], k, &slots[k->slot]))
            return false;
    }
    *stream = s;
    return true;
}
