/* names.c — numbers to identifiers through seeded bijections (names.h).
 *
 * Decimal spaces are modulo 10^9 with a multiplier prime to 10; hex spaces
 * modulo 2^48 and addresses modulo 2^32 with an odd multiplier. Either way
 * the map is a bijection, so distinct numbers give distinct names. */
#include "names.h"

#include <string.h>

#include "rng.h"

enum { DECIMAL_DIGITS = 9 };
#define DECIMAL_MOD UINT64_C(1000000000)
#define HEX_MASK ((UINT64_C(1) << 48) - 1)

typedef enum style { DECIMAL, HEX, IPV4 } style;

static const struct {
    const char *prefix;
    style style;
} spaces[GEN_N_NS] = {
    [GEN_NS_ACCOUNT] = {"AC", DECIMAL},  [GEN_NS_CUSTOMER] = {"CU", DECIMAL},
    [GEN_NS_USER] = {"user", DECIMAL},   [GEN_NS_DEVICE] = {"dv", HEX},
    [GEN_NS_ORDER] = {"ORD-", HEX},      [GEN_NS_BENEFICIARY] = {"BEN", HEX},
    [GEN_NS_IP] = {"", IPV4},
};

void gen_names_init(gen_names *n, uint64_t seed)
{
    gen_rng r;
    gen_rng_seed(&r, seed, 6);
    for (int ns = 0; ns < GEN_N_NS; ns++) {
        uint64_t mul = gen_rng_next(&r), add = gen_rng_next(&r);
        if (spaces[ns].style == DECIMAL) {
            mul = (mul % DECIMAL_MOD) | 1;
            if (mul % 5 == 0)
                mul += 2;
            add %= DECIMAL_MOD;
        }
        n->mul[ns] = mul | 1;
        n->add[ns] = add;
    }
}

static size_t put_uint(char *out, uint64_t v, int digits, int base)
{
    static const char xdigits[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = xdigits[v % (uint64_t)base];
        v /= (uint64_t)base;
    }
    return (size_t)digits;
}

static size_t put_octet(char *out, unsigned v)
{
    size_t n = 0;
    if (v >= 100)
        out[n++] = (char)('0' + v / 100);
    if (v >= 10)
        out[n++] = (char)('0' + v / 10 % 10);
    out[n++] = (char)('0' + v % 10);
    return n;
}

size_t gen_name(const gen_names *n, gen_ns ns, uint64_t i, char *out)
{
    size_t len = strlen(spaces[ns].prefix);
    memcpy(out, spaces[ns].prefix, len);
    switch (spaces[ns].style) {
    case DECIMAL:
        /* both factors are below 10^9: the product fits 64 bits */
        return len + put_uint(out + len,
                              (n->mul[ns] * (i % DECIMAL_MOD) + n->add[ns]) % DECIMAL_MOD,
                              DECIMAL_DIGITS, 10);
    case HEX:
        return len + put_uint(out + len, (n->mul[ns] * i + n->add[ns]) & HEX_MASK, 12, 16);
    case IPV4:
    default: {
        uint32_t a = (uint32_t)(n->mul[ns] * i + n->add[ns]);
        for (int k = 3; k >= 0; k--) {
            len += put_octet(out + len, (a >> (8 * k)) & 255);
            if (k)
                out[len++] = '.';
        }
        return len;
    }
    }
}
