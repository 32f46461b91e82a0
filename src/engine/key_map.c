/* key_map.c — per-rule hash table of key states; see key_map.h. */
#include <stdlib.h>
#include <string.h>

#include "engine/key_map.h"
#include "util/probe_table.h"

void weir_key_map_init(weir_key_map *m, weir_type key_type)
{
    memset(m, 0, sizeof *m);
    m->free_head = UINT32_MAX;
    m->key_type = key_type;
    for (size_t k = 0; k < WEIR_KEY_MAP_POOLED / 8; k++)
        weir_pool_init(&m->blocks[k], 8 * (k + 1), 64 * 1024 / (8 * (k + 1)));
}

/* The pool for blocks of `bytes`, or NULL when they are malloc'd. */
static weir_pool *block_pool(weir_key_map *m, size_t bytes)
{
    return bytes && bytes <= WEIR_KEY_MAP_POOLED && bytes % 8 == 0 ? &m->blocks[bytes / 8 - 1]
                                                                   : NULL;
}

void *weir_key_map_block_get(weir_key_map *m, size_t bytes)
{
    weir_pool *p = block_pool(m, bytes);
    return p ? weir_pool_get(p) : malloc(bytes);
}

void weir_key_map_block_put(weir_key_map *m, void *block, size_t bytes)
{
    weir_pool *p = block_pool(m, bytes);
    if (p)
        weir_pool_put(p, block);
    else
        free(block);
}

/* A string key too long for the entry lives in its own allocation. */
static bool is_long(const weir_key_map *m, const weir_key_entry *e)
{
    return m->key_type == WEIR_T_STRING && !e->key_missing && e->key_len > WEIR_KEY_INLINE;
}

static void free_long(const weir_key_map *m, weir_key_entry *e)
{
    if (!is_long(m, e))
        return;
    char *p;
    memcpy(&p, e->key_bytes, sizeof p);
    free(p);
}

void weir_key_map_clear(weir_key_map *m)
{
    for (size_t i = 0; i < m->n_slots; i++)
        if (m->slots[i].live)
            free_long(m, &m->slots[i]);
    free(m->slots);
    free(m->table);
    for (size_t k = 0; k < WEIR_KEY_MAP_POOLED / 8; k++)
        weir_pool_fini(&m->blocks[k]);
    weir_key_map_init(m, m->key_type);
}

/* Eight bytes at a time, each word multiplied in and folded (a
 * multiply-xorshift mix, as in splitmix64's finaliser): card numbers and
 * account ids are short, so this is a handful of multiplies per key. */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

static uint64_t hash_bytes(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (len * 0xff51afd7ed558ccdULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h ^ w);
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = mix64(h ^ w ^ 0x5555555555555555ULL);
    }
    return h;
}

uint64_t weir_key_hash(weir_type t, const weir_value *key)
{
    if (key->missing)
        return 0x9e3779b97f4a7c15ULL;
    if (t == WEIR_T_STRING)
        return hash_bytes(key->u.s, key->len);
    int64_t bits = key->u.i;
    if (t == WEIR_T_FLOAT && key->u.f == 0.0)
        bits = 0; /* -0.0 and 0.0 are one key */
    if (t == WEIR_T_BOOL)
        bits = key->u.b;
    return hash_bytes(&bits, sizeof bits);
}

static bool same_key(weir_type t, const weir_key_entry *e, const weir_value *key)
{
    weir_value k = weir_key_entry_key(t, e);
    return weir_value_equal(t, &k, key);
}

static uint32_t *probe(weir_key_map *m, const weir_value *key, uint64_t hash)
{
    size_t mask = m->table_cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        uint32_t s = m->table[i];
        if (!s)
            return &m->table[i];
        weir_key_entry *e = &m->slots[s - 1];
        if (e->hash == (uint32_t)hash && same_key(m->key_type, e, key))
            return &m->table[i];
    }
}

weir_key_entry *weir_key_map_find(weir_key_map *m, const weir_value *key, uint64_t hash)
{
    if (!m->table_cap)
        return NULL;
    uint32_t s = *probe(m, key, hash);
    return s ? &m->slots[s - 1] : NULL;
}

static int grow_table(weir_key_map *m)
{
    size_t cap = m->table_cap ? m->table_cap * 2 : 1024;
    uint32_t *table = calloc(cap, sizeof *table);
    if (!table)
        return -1;
    uint32_t *old = m->table;
    size_t old_cap = m->table_cap;
    m->table = table;
    m->table_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i])
            continue;
        size_t mask = cap - 1;
        size_t j = m->slots[old[i] - 1].hash & mask;
        while (table[j])
            j = (j + 1) & mask;
        table[j] = old[i];
    }
    free(old);
    return 0;
}

static int take_slot(weir_key_map *m, uint32_t *slot)
{
    if (m->free_head != UINT32_MAX) {
        *slot = m->free_head;
        m->free_head = (uint32_t)m->slots[*slot].timer_at;
        return 0;
    }
    if (m->n_slots == m->cap_slots) {
        size_t cap = m->cap_slots ? m->cap_slots * 2 : 1024;
        weir_key_entry *slots = realloc(m->slots, cap * sizeof *slots);
        if (!slots)
            return -1;
        m->slots = slots;
        m->cap_slots = cap;
    }
    *slot = (uint32_t)m->n_slots++;
    m->slots[*slot].generation = 0;
    return 0;
}

weir_key_entry *weir_key_map_upsert(weir_key_map *m, const weir_value *key, uint64_t hash,
                                    uint32_t *slot)
{
    if (m->key_type == WEIR_T_STRING && !key->missing && key->len > WEIR_KEY_MAX_LEN)
        return NULL;
    if ((m->live + 1) * 4 > m->table_cap * 3 && grow_table(m) != 0)
        return NULL;
    uint32_t *cell = probe(m, key, hash);
    if (*cell) {
        *slot = *cell - 1;
        return &m->slots[*slot];
    }
    if (take_slot(m, slot) != 0)
        return NULL;
    weir_key_entry *e = &m->slots[*slot];
    uint32_t generation = e->generation + 1;
    memset(e, 0, sizeof *e);
    e->generation = generation;
    e->hash = (uint32_t)hash;
    e->key_missing = key->missing;
    if (key->missing) {
        /* nothing to copy */
    } else if (m->key_type != WEIR_T_STRING) {
        memcpy(e->key_bytes, &key->u, sizeof key->u);
    } else if (key->len <= WEIR_KEY_INLINE) {
        e->key_len = key->len;
        if (key->len)
            memcpy(e->key_bytes, key->u.s, key->len);
    } else {
        char *dst = malloc(key->len);
        if (!dst) {
            e->timer_at = m->free_head;
            m->free_head = *slot;
            return NULL;
        }
        memcpy(dst, key->u.s, key->len);
        e->key_len = key->len;
        memcpy(e->key_bytes, &dst, sizeof dst);
    }
    e->timer_at = INT64_MAX;
    e->live = true;
    *cell = *slot + 1;
    m->live++;
    return e;
}

weir_key_entry *weir_key_map_slot(weir_key_map *m, uint32_t slot, uint32_t generation)
{
    if (slot >= m->n_slots)
        return NULL;
    weir_key_entry *e = &m->slots[slot];
    return e->live && e->generation == generation ? e : NULL;
}

static size_t entry_home(const void *owner, uint32_t cell)
{
    const weir_key_map *m = owner;
    return (size_t)m->slots[cell - 1].hash;
}

void weir_key_map_remove(weir_key_map *m, weir_key_entry *e)
{
    uint32_t slot = (uint32_t)(e - m->slots);
    size_t mask = m->table_cap - 1;
    size_t i = e->hash & mask;
    while (m->table[i] != slot + 1)
        i = (i + 1) & mask;
    weir_probe_remove(m->table, mask, i, entry_home, m);
    free_long(m, e);
    e->key_missing = true;
    e->key_len = 0;
    e->live = false;
    e->state = NULL;
    e->timer_at = m->free_head;
    m->free_head = slot;
    m->live--;
}

size_t weir_key_map_bytes(const weir_key_map *m)
{
    size_t bytes = m->table_cap * sizeof(uint32_t) + m->cap_slots * sizeof(weir_key_entry);
    for (size_t i = 0; i < m->n_slots; i++)
        if (m->slots[i].live && is_long(m, &m->slots[i]))
            bytes += m->slots[i].key_len;
    return bytes;
}
