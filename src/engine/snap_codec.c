/* snap_codec.c — the snapshot format's primitives (see snap_codec.h). */
#include "engine/snap_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ output */

void snap_out_init(snap_out *o)
{
    memset(o, 0, sizeof *o);
}

void snap_out_free(snap_out *o)
{
    free(o->buf);
    memset(o, 0, sizeof *o);
}

bool snap_out_grow(snap_out *o, size_t n)
{
    if (o->failed)
        return false;
    if (o->len + n <= o->cap)
        return true;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + n) {
        if (cap > SIZE_MAX / 2) {
            o->failed = true;
            return false;
        }
        cap *= 2;
    }
    if (o->grow) {
        if (!o->grow(o->grow_user, &o->buf, &o->cap, cap))
            o->failed = true;
        return !o->failed;
    }
    unsigned char *b = realloc(o->buf, cap);
    if (!b) {
        o->failed = true;
        return false;
    }
    o->buf = b;
    o->cap = cap;
    return true;
}

void snap_put_str(snap_out *o, const char *s, size_t n)
{
    snap_put_uvar(o, n);
    snap_put_bytes(o, s, n);
}

void snap_end_short_section(snap_out *o, size_t mark)
{
    if (o->failed)
        return;
    uint64_t n = o->len - mark - 8;
    unsigned char len[SNAP_MAX_UVAR];
    size_t w = (size_t)(snap_raw_uvar(len, n) - len); /* at most 10, usually 1 */
    if (w > 8) { /* 2^56 bytes and more: cannot be in memory */
        o->failed = true;
        return;
    }
    memmove(o->buf + mark + w, o->buf + mark + 8, n);
    memcpy(o->buf + mark, len, w);
    o->len = mark + w + n;
}

/* ------------------------------------------------------------ input */

void snap_in_init(snap_in *in, const void *data, size_t len)
{
    in->start = in->p = data;
    in->time_base = 0;
    in->key = NULL;
    in->end = in->p + len;
    in->error[0] = '\0';
}

void snap_fail(snap_in *in, const char *what)
{
    if (!snap_in_ok(in))
        return;
    snprintf(in->error, sizeof in->error, "%.120s (at byte %zu)", what,
             (size_t)(in->p - in->start));
    in->p = in->end;
}

size_t snap_in_left(const snap_in *in)
{
    return (size_t)(in->end - in->p);
}

uint8_t snap_get_u8_slow(snap_in *in)
{
    if (in->p >= in->end) {
        snap_fail(in, "truncated");
        return 0;
    }
    return *in->p++;
}

uint64_t snap_get_uvar_slow(snap_in *in)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (in->p >= in->end) {
            snap_fail(in, "truncated");
            return 0;
        }
        unsigned char b = *in->p++;
        if (shift == 63 && b > 1) {
            snap_fail(in, "number too large");
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    snap_fail(in, "number too large");
    return 0;
}

uint64_t snap_get_u64(snap_in *in)
{
    if (snap_in_left(in) < 8) {
        snap_fail(in, "truncated");
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)in->p[i] << (8 * i);
    in->p += 8;
    return v;
}

size_t snap_get_count(snap_in *in, size_t min_bytes)
{
    uint64_t n = snap_get_uvar(in);
    if (!snap_in_ok(in))
        return 0;
    if (min_bytes == 0)
        min_bytes = 1;
    if (n > snap_in_left(in) / min_bytes) {
        snap_fail(in, "count larger than the data left");
        return 0;
    }
    return (size_t)n;
}

const unsigned char *snap_get_raw(snap_in *in, size_t n)
{
    if (snap_in_left(in) < n) {
        snap_fail(in, "truncated");
        return NULL;
    }
    const unsigned char *p = in->p;
    in->p += n;
    return p;
}

const char *snap_get_str(snap_in *in, size_t *len)
{
    uint64_t n = snap_get_uvar(in);
    *len = 0;
    if (!snap_in_ok(in))
        return NULL;
    if (n > snap_in_left(in)) {
        snap_fail(in, "string longer than the data left");
        return NULL;
    }
    *len = (size_t)n;
    return (const char *)snap_get_raw(in, (size_t)n);
}

/* The section of n bytes at in's cursor, as sub; in moves past it. */
static void open_section(snap_in *in, snap_in *sub, uint64_t n)
{
    if (snap_in_ok(in) && n > snap_in_left(in))
        snap_fail(in, "section longer than the data left");
    if (!snap_in_ok(in)) {
        snap_in_init(sub, in->p, 0);
        memcpy(sub->error, in->error, sizeof sub->error);
        return;
    }
    snap_in_init(sub, in->p, (size_t)n);
    sub->start = in->start; /* offsets in errors stay absolute */
    sub->time_base = in->time_base;
    sub->key = in->key;
    in->p += n;
}

void snap_get_section(snap_in *in, snap_in *sub)
{
    open_section(in, sub, snap_get_u64(in));
}

void snap_get_short_section(snap_in *in, snap_in *sub)
{
    open_section(in, sub, snap_get_uvar(in));
}

void snap_get_value(snap_in *in, weir_type t, weir_value *v)
{
    memset(v, 0, sizeof *v);
    uint8_t tag = snap_get_u8(in);
    if (tag == SNAP_VALUE_MISSING) {
        v->missing = true;
        return;
    }
    if (tag == SNAP_VALUE_THE_KEY && t == WEIR_T_STRING && in->key) {
        *v = *in->key;
        return;
    }
    if (tag != SNAP_VALUE_PRESENT) {
        snap_fail(in, "bad value tag");
        v->missing = true;
        return;
    }
    switch (t) {
    case WEIR_T_STRING: {
        size_t len;
        const char *s = snap_get_str(in, &len);
        if (len > UINT32_MAX) {
            snap_fail(in, "string too long");
            s = NULL;
        }
        v->u.s = s ? s : "";
        v->len = s ? (uint32_t)len : 0;
        break;
    }
    case WEIR_T_FLOAT: {
        uint64_t bits = snap_get_u64(in);
        memcpy(&v->u.f, &bits, sizeof bits);
        break;
    }
    case WEIR_T_BOOL: {
        uint64_t b = snap_get_uvar(in);
        if (b > 1)
            snap_fail(in, "bad bool");
        v->u.b = b == 1;
        break;
    }
    case WEIR_T_TIME:
        v->u.ms = snap_get_time(in);
        break;
    default:
        v->u.i = snap_get_svar(in);
        break;
    }
    if (!snap_in_ok(in))
        v->missing = true;
}

/* ------------------------------------------------------------ checksum */

uint64_t snap_checksum(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)len;
    const uint64_t prime = 0x100000001b3ULL;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w); /* one load: a byte loop cost 8 instructions a byte */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w); /* the words are little endian on every host */
#endif
        h = (h ^ w) * prime;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    while (len--) {
        h = (h ^ *p++) * prime;
    }
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* ------------------------------------------------------------ pointer ids */

void snap_ids_init(snap_ids *m)
{
    memset(m, 0, sizeof *m);
}

void snap_ids_free(snap_ids *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static size_t ptr_slot(const void *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

static int ids_grow(snap_ids *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    const void **keys = calloc(cap, sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = ptr_slot(m->keys[i], cap);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

/* Into the table, which has room; val is p's id. */
static void ids_insert(snap_ids *m, const void *p, uint32_t val)
{
    size_t j = ptr_slot(p, m->cap);
    while (m->keys[j])
        j = (j + 1) & (m->cap - 1);
    m->keys[j] = p;
    m->vals[j] = val;
}

uint32_t snap_ids_put_slow(snap_ids *m, const void *p, bool *added)
{
    *added = false;
    if (m->n == SNAP_IDS_SMALL) {
        /* the array is full: p may be in it; if not, everything moves to
         * the table (empty until now) */
        for (size_t i = 0; i < SNAP_IDS_SMALL; i++)
            if (m->small[i] == p)
                return (uint32_t)i;
        if ((SNAP_IDS_SMALL + 1) * 2 > m->cap && ids_grow(m) != 0)
            return UINT32_MAX;
        for (size_t i = 0; i < SNAP_IDS_SMALL; i++)
            ids_insert(m, m->small[i], (uint32_t)i);
    } else {
        uint32_t id = snap_ids_get_slow(m, p);
        if (id != UINT32_MAX)
            return id;
        if ((m->n + 1) * 2 > m->cap && ids_grow(m) != 0)
            return UINT32_MAX;
    }
    ids_insert(m, p, (uint32_t)m->n);
    *added = true;
    return (uint32_t)m->n++;
}

uint32_t snap_ids_get_slow(const snap_ids *m, const void *p)
{
    size_t j = ptr_slot(p, m->cap);
    while (m->keys[j]) {
        if (m->keys[j] == p)
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return UINT32_MAX;
}
