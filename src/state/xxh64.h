/* xxh64.h — the 64-bit xxHash of the checkpoint parts, written from the
 * published xxHash specification (the same checksum zstd puts in its
 * frames). It is here rather than CRC32C because it needs no table and no
 * CPU feature test and still runs at memory speed, so checking a part of
 * hundreds of MB costs little next to reading it.
 *
 * One-shot: weir_xxh64(data, len, 0). Streaming (a Redis put hashes each
 * part chunk by chunk as it sends it): init, update any number of times,
 * digest. The state is a plain struct the caller owns; no allocation. */
#ifndef WEIR_STATE_XXH64_H
#define WEIR_STATE_XXH64_H

#include <stddef.h>
#include <stdint.h>

typedef struct weir_xxh64_state {
    uint64_t total;    /* bytes seen so far */
    uint64_t v[4];     /* the four lane accumulators */
    unsigned char buf[32]; /* a partial stripe carried to the next update */
    unsigned buf_len;  /* bytes used in buf, < 32 */
    uint64_t seed;
} weir_xxh64_state;

uint64_t weir_xxh64(const void *data, size_t len, uint64_t seed);

void weir_xxh64_init(weir_xxh64_state *st, uint64_t seed);
void weir_xxh64_update(weir_xxh64_state *st, const void *data, size_t len);
uint64_t weir_xxh64_digest(const weir_xxh64_state *st);

#endif
