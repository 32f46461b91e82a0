/* xxh64.c — see xxh64.h. Lanes of 8 bytes, stripes of 32, a tail of 8-,
 * 4- and 1-byte steps, then the avalanche. Inputs are read little-endian
 * with memcpy, so any alignment works and the hash is the same on every
 * machine. */
#include <string.h>

#include "state/xxh64.h"

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl(uint64_t x, unsigned r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t read64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
#endif
}

static inline uint32_t read32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t round1(uint64_t acc, uint64_t input)
{
    acc += input * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}

static inline uint64_t merge(uint64_t acc, uint64_t v)
{
    acc ^= round1(0, v);
    return acc * P1 + P4;
}

/* Consumes whole 32-byte stripes; returns the bytes used. */
static size_t stripes(uint64_t v[4], const unsigned char *p, size_t len)
{
    size_t done = 0;
    uint64_t a = v[0], b = v[1], c = v[2], d = v[3];
    while (len - done >= 32) {
        a = round1(a, read64(p + done));
        b = round1(b, read64(p + done + 8));
        c = round1(c, read64(p + done + 16));
        d = round1(d, read64(p + done + 24));
        done += 32;
    }
    v[0] = a, v[1] = b, v[2] = c, v[3] = d;
    return done;
}

/* The tail (< 32 bytes) and the avalanche. */
static uint64_t finish(uint64_t h, const unsigned char *p, size_t len)
{
    while (len >= 8) {
        h ^= round1(0, read64(p));
        h = rotl(h, 27) * P1 + P4;
        p += 8, len -= 8;
    }
    if (len >= 4) {
        h ^= (uint64_t)read32(p) * P1;
        h = rotl(h, 23) * P2 + P3;
        p += 4, len -= 4;
    }
    while (len > 0) {
        h ^= (uint64_t)*p * P5;
        h = rotl(h, 11) * P1;
        p++, len--;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static uint64_t converge(const uint64_t v[4])
{
    uint64_t h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (int i = 0; i < 4; i++)
        h = merge(h, v[i]);
    return h;
}

void weir_xxh64_init(weir_xxh64_state *st, uint64_t seed)
{
    memset(st, 0, sizeof *st);
    st->seed = seed;
    st->v[0] = seed + P1 + P2;
    st->v[1] = seed + P2;
    st->v[2] = seed;
    st->v[3] = seed - P1;
}

void weir_xxh64_update(weir_xxh64_state *st, const void *data, size_t len)
{
    const unsigned char *p = data;
    st->total += len;
    if (st->buf_len + len < 32) {
        if (len)
            memcpy(st->buf + st->buf_len, p, len);
        st->buf_len += (unsigned)len;
        return;
    }
    if (st->buf_len) {
        size_t fill = 32 - st->buf_len;
        memcpy(st->buf + st->buf_len, p, fill);
        stripes(st->v, st->buf, 32);
        p += fill, len -= fill;
        st->buf_len = 0;
    }
    size_t used = stripes(st->v, p, len);
    p += used, len -= used;
    if (len)
        memcpy(st->buf, p, len);
    st->buf_len = (unsigned)len;
}

uint64_t weir_xxh64_digest(const weir_xxh64_state *st)
{
    uint64_t h = st->total >= 32 ? converge(st->v) : st->seed + P5;
    h += st->total;
    return finish(h, st->buf, st->buf_len);
}

uint64_t weir_xxh64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h;
    size_t used = 0;
    if (len >= 32) {
        uint64_t v[4] = {seed + P1 + P2, seed + P2, seed, seed - P1};
        used = stripes(v, p, len);
        h = converge(v);
    } else {
        h = seed + P5;
    }
    h += (uint64_t)len;
    return finish(h, p + used, len - used);
}
