/* rng.h — weir-gen's own pseudo-random numbers, so that the same arguments
 * give the same bytes on every machine and libc (rand() promises neither).
 *
 * xoshiro256** for the streams, seeded through splitmix64; each part of the
 * generator (world, scenarios, traffic, disorder) draws from its own stream,
 * so changing how one part draws does not reshuffle the others. Ranges use
 * multiply-shift rather than modulo where the bound fits 32 bits. */
#ifndef WEIR_GEN_RNG_H
#define WEIR_GEN_RNG_H

#include <stdint.h>

typedef struct gen_rng {
    uint64_t s[4];
} gen_rng;

/* splitmix64's output function: a good 64-bit mixer on its own, used to
 * derive per-card attributes from the card number without storing them. */
static inline uint64_t gen_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint64_t gen_splitmix64(uint64_t *state)
{
    *state += UINT64_C(0x9e3779b97f4a7c15);
    return gen_mix64(*state);
}

/* A stream for (seed, stream): distinct streams of one seed are unrelated. */
static inline void gen_rng_seed(gen_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ gen_mix64(stream + UINT64_C(0x51ed270b27b0f1a3));
    for (int i = 0; i < 4; i++)
        r->s[i] = gen_splitmix64(&x);
}

static inline uint64_t gen_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t gen_rng_next(gen_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = gen_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = gen_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n), n < 2^32. */
static inline uint32_t gen_rng_below(gen_rng *r, uint32_t n)
{
    return (uint32_t)(((gen_rng_next(r) >> 32) * n) >> 32);
}

/* Uniform in [0, n) for 64-bit n; the modulo bias is below 2^-20 for the
 * spans weir-gen uses (milliseconds over at most centuries). */
static inline uint64_t gen_rng_below64(gen_rng *r, uint64_t n)
{
    return gen_rng_next(r) % n;
}

/* Uniform in [lo, hi], hi - lo < 2^32. */
static inline int64_t gen_rng_range(gen_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)gen_rng_below(r, (uint32_t)(hi - lo + 1));
}

/* Uniform in [0, 1). */
static inline double gen_rng_unit(gen_rng *r)
{
    return (double)(gen_rng_next(r) >> 11) * 0x1p-53;
}

/* True with probability permille/1000. */
static inline int gen_rng_chance(gen_rng *r, uint32_t permille)
{
    return gen_rng_below(r, 1000) < permille;
}

#endif
