/* snap_codec.h — the primitives of weir's snapshot format: a growing
 * output buffer and a bounds-checked input cursor, with LEB128 varints,
 * zigzag signed varints, fixed 64-bit words and length-prefixed bytes.
 *
 * Every writer appends and remembers only whether it ran out of memory, so
 * a serializer writes straight through and checks once at the end. Every
 * reader checks the bytes left before it reads and, on the first problem,
 * records why (with the offset) and from then on returns zeroes: parsing
 * code reads straight through too and checks snap_in_ok() where a wrong
 * value could do harm (a count that sizes an allocation, an index). Nothing
 * here trusts the input: a truncated or corrupted snapshot is an error
 * message, never a crash. See doc/state-format.md for the layout. */
#ifndef WEIR_ENGINE_SNAP_CODEC_H
#define WEIR_ENGINE_SNAP_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compile/expr.h"

typedef struct snap_out {
    unsigned char *buf; /* owned until taken by the caller */
    size_t len, cap;
    bool failed;        /* out of memory at some point */
} snap_out;

void snap_out_init(snap_out *o);
void snap_out_free(snap_out *o);
/* Makes room for n more bytes (the slow path of the writers below);
 * false, and o->failed set, when memory runs out. */
bool snap_out_grow(snap_out *o, size_t n);

/* The writers are inline: a snapshot of a million keys calls them about a
 * hundred million times, and as calls they cost more than the bytes. */
static inline bool snap_out_room(snap_out *o, size_t n)
{
    return (o->len + n <= o->cap && !o->failed) || snap_out_grow(o, n);
}

static inline void snap_put_bytes(snap_out *o, const void *p, size_t n)
{
    if (n && snap_out_room(o, n)) {
        memcpy(o->buf + o->len, p, n);
        o->len += n;
    }
}

static inline void snap_put_u8(snap_out *o, uint8_t v)
{
    if (snap_out_room(o, 1))
        o->buf[o->len++] = v;
}

/* LEB128: 7 bits a byte, low first; at most 10 bytes. */
static inline void snap_put_uvar(snap_out *o, uint64_t v)
{
    if (!snap_out_room(o, 10))
        return;
    unsigned char *b = o->buf + o->len;
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (unsigned char)v;
    o->len += n;
}

static inline void snap_put_svar(snap_out *o, int64_t v)
{
    snap_put_uvar(o, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* 8 bytes, little endian. */
static inline void snap_put_u64(snap_out *o, uint64_t v)
{
    if (!snap_out_room(o, 8))
        return;
    unsigned char *b = o->buf + o->len;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    o->len += 8;
}
void snap_put_str(snap_out *o, const char *s, size_t n); /* uvar length, bytes */
/* A length-prefixed section: begin returns a mark, end fills the length
 * in (a fixed 8-byte field, so sections nest without moving bytes). */
size_t snap_begin_section(snap_out *o);
void snap_end_section(snap_out *o, size_t mark);

/* A value of static type t: a tag byte (0 missing, 1 present), then a
 * zigzag varint (int, decimal, time, duration, bool), 8 bytes (float) or a
 * string. */
void snap_put_value(snap_out *o, weir_type t, const weir_value *v);

typedef struct snap_in {
    const unsigned char *p, *end;
    const unsigned char *start;
    char error[160];    /* empty while ok */
} snap_in;

void snap_in_init(snap_in *in, const void *data, size_t len);
static inline bool snap_in_ok(const snap_in *in)
{
    return in->error[0] == '\0';
}
/* Records the first error, with the offset it was found at. */
void snap_fail(snap_in *in, const char *what);
size_t snap_in_left(const snap_in *in);
uint8_t snap_get_u8_slow(snap_in *in);
uint64_t snap_get_uvar_slow(snap_in *in);

static inline uint8_t snap_get_u8(snap_in *in)
{
    if (in->p < in->end)
        return *in->p++;
    return snap_get_u8_slow(in);
}

/* The common case inline: a varint of one or two bytes with room after it.
 * Everything else (longer, near the end, malformed) takes the checked path. */
static inline uint64_t snap_get_uvar(snap_in *in)
{
    if (in->end - in->p >= 2) {
        unsigned char b0 = in->p[0];
        if (!(b0 & 0x80)) {
            in->p++;
            return b0;
        }
        unsigned char b1 = in->p[1];
        if (!(b1 & 0x80)) {
            in->p += 2;
            return (uint64_t)(b0 & 0x7f) | (uint64_t)b1 << 7;
        }
    }
    return snap_get_uvar_slow(in);
}

static inline int64_t snap_get_svar(snap_in *in)
{
    uint64_t u = snap_get_uvar(in);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}
uint64_t snap_get_u64(snap_in *in);
/* A count of items each taking at least min_bytes: refused (0, error) when
 * the bytes left cannot hold that many, so a corrupted count never sizes
 * a huge allocation. */
size_t snap_get_count(snap_in *in, size_t min_bytes);
/* Points at n bytes in the input (not copied); NULL on error. */
const unsigned char *snap_get_raw(snap_in *in, size_t n);
/* A string: *len set, bytes not copied; NULL (and *len 0) on error. */
const char *snap_get_str(snap_in *in, size_t *len);
/* A section written with snap_begin_section: `sub` reads its payload and
 * `in` moves past it. */
void snap_get_section(snap_in *in, snap_in *sub);
/* A value of type t; strings point into the input. */
void snap_get_value(snap_in *in, weir_type t, weir_value *v);

/* A 64-bit checksum of the bytes (FNV-style over 8-byte words), for the
 * snapshot's trailer. */
uint64_t snap_checksum(const void *data, size_t len);

/* Numbers for pointers while a graph is written: the n-th distinct
 * pointer put gets id n. Open addressing; a few per key. */
typedef struct snap_ids {
    const void **keys;
    uint32_t *vals;
    size_t cap, n;
} snap_ids;

void snap_ids_init(snap_ids *m);
void snap_ids_free(snap_ids *m);
/* Empties the table, keeping its memory for the next use. */
void snap_ids_clear(snap_ids *m);
/* p's id, given the next one when new (*added true). UINT32_MAX when out
 * of memory. */
uint32_t snap_ids_put(snap_ids *m, const void *p, bool *added);
/* p's id, or UINT32_MAX when it has none. */
uint32_t snap_ids_get(const snap_ids *m, const void *p);

#endif
