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
    int64_t time_base;  /* times are written as their distance from it
                           (format 2; 0 gives format 1's plain svar) */
    /* NULL: buf is malloc'd and grows with realloc. Else it makes cap at
     * least `need`, keeping buf[0 .. len), and may move buf. */
    bool (*grow)(void *user, unsigned char **buf, size_t *cap, size_t need);
    void *grow_user;
    /* The string key whose state is being written, or NULL: a string value
     * equal to it is written as a reference (tag 2, format 2), since a
     * key's events nearly always hold their own key (a card's payments,
     * the card). */
    const weir_value *key;
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

/* Unchecked writing, for a record whose worst-case size is known: reserve
 * that once (NULL: out of memory, nothing to write), write through the
 * returned cursor with the snap_raw_* writers, then commit the cursor. A
 * snapshot writes about a hundred values per key, and one room check per
 * record instead of one per value is a fifth of its instructions. */
static inline unsigned char *snap_out_reserve(snap_out *o, size_t n)
{
    return snap_out_room(o, n) ? o->buf + o->len : NULL;
}

static inline void snap_out_commit(snap_out *o, unsigned char *end)
{
    o->len = (size_t)(end - o->buf);
}

/* Worst cases, for snap_out_reserve. */
#define SNAP_MAX_UVAR 10
#define SNAP_MAX_VALUE(len) (2 + SNAP_MAX_UVAR + (len)) /* tag, then the largest encoding */

static inline unsigned char *snap_raw_u8(unsigned char *b, uint8_t v)
{
    *b = v;
    return b + 1;
}

/* LEB128: 7 bits a byte, low first; at most 10 bytes. */
static inline unsigned char *snap_raw_uvar(unsigned char *b, uint64_t v)
{
    while (v >= 0x80) {
        *b++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *b++ = (unsigned char)v;
    return b;
}

static inline unsigned char *snap_raw_svar(unsigned char *b, int64_t v)
{
    return snap_raw_uvar(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* A time (ms): svar of its distance from base, wrapping, so that every
 * int64 round-trips (sentinels like INT64_MIN included) while the times of
 * a live state, hours from the base, take 3 or 4 bytes instead of 6. */
static inline int64_t snap_time_delta(int64_t ts, int64_t base)
{
    uint64_t d = (uint64_t)ts - (uint64_t)base;
    int64_t s;
    memcpy(&s, &d, sizeof s); /* two's complement, no implementation-defined cast */
    return s;
}

static inline int64_t snap_time_from_delta(int64_t delta, int64_t base)
{
    uint64_t t = (uint64_t)delta + (uint64_t)base;
    int64_t s;
    memcpy(&s, &t, sizeof s);
    return s;
}

static inline unsigned char *snap_raw_time(unsigned char *b, int64_t ts, int64_t base)
{
    return snap_raw_svar(b, snap_time_delta(ts, base));
}

/* 8 bytes, little endian. */
static inline unsigned char *snap_raw_u64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    return b + 8;
}

/* Value tags */
#define SNAP_VALUE_MISSING 0
#define SNAP_VALUE_PRESENT 1
#define SNAP_VALUE_THE_KEY 2 /* format 2: a string equal to the key being saved */

/* A value of static type t (see snap_put_value) for output o; the cursor
 * must have SNAP_MAX_VALUE(v->len) bytes of room when t is a string, else
 * SNAP_MAX_VALUE(0). */
static inline unsigned char *snap_raw_value(unsigned char *b, weir_type t, const weir_value *v,
                                            const snap_out *o)
{
    if (v->missing)
        return snap_raw_u8(b, SNAP_VALUE_MISSING);
    if (t == WEIR_T_STRING && o->key && o->key->len == v->len &&
        (v->len == 0 || memcmp(o->key->u.s, v->u.s, v->len) == 0))
        return snap_raw_u8(b, SNAP_VALUE_THE_KEY);
    *b++ = SNAP_VALUE_PRESENT;
    switch (t) {
    case WEIR_T_STRING:
        b = snap_raw_uvar(b, v->len);
        if (v->len)
            memcpy(b, v->u.s, v->len);
        return b + v->len;
    case WEIR_T_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &v->u.f, sizeof bits);
        return snap_raw_u64(b, bits);
    }
    case WEIR_T_BOOL:
        return snap_raw_u8(b, v->u.b ? 1 : 0); /* the uvar 0 or 1 */
    case WEIR_T_TIME:
        return snap_raw_time(b, v->u.ms, o->time_base);
    default: /* int, decimal, time, duration: int64-backed */
        return snap_raw_svar(b, v->u.i);
    }
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

static inline void snap_put_uvar(snap_out *o, uint64_t v)
{
    unsigned char *b = snap_out_reserve(o, SNAP_MAX_UVAR);
    if (b)
        snap_out_commit(o, snap_raw_uvar(b, v));
}

static inline void snap_put_svar(snap_out *o, int64_t v)
{
    snap_put_uvar(o, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline void snap_put_time(snap_out *o, int64_t ts)
{
    snap_put_svar(o, snap_time_delta(ts, o->time_base));
}

static inline void snap_put_u64(snap_out *o, uint64_t v)
{
    unsigned char *b = snap_out_reserve(o, 8);
    if (b)
        snap_out_commit(o, snap_raw_u64(b, v));
}
void snap_put_str(snap_out *o, const char *s, size_t n); /* uvar length, bytes */
/* A length-prefixed section: begin returns a mark, end fills the length
 * in (a fixed 8-byte field, so sections nest without moving bytes). */
static inline size_t snap_begin_section(snap_out *o)
{
    size_t mark = o->len;
    snap_put_u64(o, 0);
    return mark;
}

static inline void snap_end_section(snap_out *o, size_t mark)
{
    if (!o->failed)
        snap_raw_u64(o->buf + mark, o->len - mark - 8);
}

/* A short section (format 2: a key's rule state): begun the same way, but
 * ended with a uvar length, the payload moved down over the unused bytes
 * (a key's state is about a hundred bytes, its u64 length 8 of them). */
void snap_end_short_section(snap_out *o, size_t mark);

/* A value of static type t: a tag byte (0 missing, 1 present), then a
 * zigzag varint (int, decimal, duration, bool; time as snap_put_time), 8
 * bytes (float) or a string. */
static inline void snap_put_value(snap_out *o, weir_type t, const weir_value *v)
{
    unsigned char *b =
        snap_out_reserve(o, SNAP_MAX_VALUE(t == WEIR_T_STRING && !v->missing ? v->len : 0));
    if (b)
        snap_out_commit(o, snap_raw_value(b, t, v, o));
}

typedef struct snap_in {
    const unsigned char *p, *end;
    const unsigned char *start;
    int64_t time_base;  /* see snap_out; sections inherit it */
    const weir_value *key; /* see snap_out (a string key); sections inherit it */
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
/* A time written with snap_put_time. */
static inline int64_t snap_get_time(snap_in *in)
{
    return snap_time_from_delta(snap_get_svar(in), in->time_base);
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
/* The same for a section ended with snap_end_short_section. */
void snap_get_short_section(snap_in *in, snap_in *sub);
/* A value of type t; strings point into the input. */
void snap_get_value(snap_in *in, weir_type t, weir_value *v);

/* A 64-bit checksum of the bytes (FNV-style over 8-byte words), for the
 * snapshot's trailer. */
uint64_t snap_checksum(const void *data, size_t len);

/* Numbers for pointers while a graph is written: the n-th distinct
 * pointer put gets id n. A key's graph has a handful of each kind, so the
 * first SNAP_IDS_SMALL live in a plain array that is scanned; past that
 * they move to an open-addressing table. */
#define SNAP_IDS_SMALL 8
typedef struct snap_ids {
    const void *small[SNAP_IDS_SMALL]; /* ids 0 .. n-1 while n <= SMALL */
    const void **keys;                 /* the table, once n > SMALL */
    uint32_t *vals;
    size_t cap, n;
} snap_ids;

void snap_ids_init(snap_ids *m);
void snap_ids_free(snap_ids *m);
/* Empties the table, keeping its memory for the next use. */
static inline void snap_ids_clear(snap_ids *m)
{
    if (m->n > SNAP_IDS_SMALL)
        memset(m->keys, 0, m->cap * sizeof *m->keys);
    m->n = 0;
}
uint32_t snap_ids_put_slow(snap_ids *m, const void *p, bool *added);
uint32_t snap_ids_get_slow(const snap_ids *m, const void *p);
/* p's id, given the next one when new (*added true). UINT32_MAX when out
 * of memory. */
static inline uint32_t snap_ids_put(snap_ids *m, const void *p, bool *added)
{
    if (m->n < SNAP_IDS_SMALL) {
        for (size_t i = 0; i < m->n; i++)
            if (m->small[i] == p) {
                *added = false;
                return (uint32_t)i;
            }
        m->small[m->n] = p;
        *added = true;
        return (uint32_t)m->n++;
    }
    return snap_ids_put_slow(m, p, added);
}
/* p's id, or UINT32_MAX when it has none. */
static inline uint32_t snap_ids_get(const snap_ids *m, const void *p)
{
    if (m->n <= SNAP_IDS_SMALL) {
        for (size_t i = 0; i < m->n; i++)
            if (m->small[i] == p)
                return (uint32_t)i;
        return UINT32_MAX;
    }
    return snap_ids_get_slow(m, p);
}

#endif
