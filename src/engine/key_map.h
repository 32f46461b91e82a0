/* key_map.h — one rule's per-key state, found by the key's value.
 *
 * An open-addressing hash table (linear probing, deletion by backward
 * shift, so no tombstones pile up) of slot numbers into a slab of entries.
 * Slot numbers stay valid while the entry lives, so timers can refer to an
 * entry by (slot, generation) and notice when it was freed and reused.
 * String keys are copied into the entry: short ones inline, longer ones
 * into their own allocation. Keys are read back with weir_key_entry_key. */
#ifndef WEIR_ENGINE_KEY_MAP_H
#define WEIR_ENGINE_KEY_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compile/expr.h"
#include "engine/pool.h"

/* One entry per live key of a key type: 48 bytes, with a string key of up
 * to WEIR_KEY_INLINE bytes inside it (card tokens, account ids). */
#define WEIR_KEY_INLINE 20

typedef struct weir_key_entry {
    void *state;             /* the engine's per-key block (states of
                                every rule keyed on this value) */
    int64_t timer_at;        /* deadline registered with the timers, or
                                INT64_MAX */
    uint32_t hash;           /* the key's hash, low half: tables have fewer
                                than 2^32 cells */
    uint32_t generation;     /* bumped each time the slot is reused */
    uint32_t key_len : 29;   /* a string key's length */
    uint32_t key_missing : 1;
    uint32_t live : 1;
    /* the engine's: whether the key was swept of the states of rules a
     * swap dropped (it matches its map's sweep_bit when it was) */
    uint32_t swept : 1;
    /* The key (read it with weir_key_entry_key): a string of up to
     * WEIR_KEY_INLINE bytes itself; a longer one's own allocation (owned),
     * or a value of another type, in the first 8 bytes. */
    unsigned char key_bytes[WEIR_KEY_INLINE];
} weir_key_entry;

_Static_assert(sizeof(weir_key_entry) == 48, "a key entry is 48 bytes");

/* String keys are at most this long (2^29 - 1 bytes). */
#define WEIR_KEY_MAX_LEN ((1u << 29) - 1)

/* The entry's key, a value of the map's key type; a string points into
 * the entry (or its own allocation), valid while the entry is not moved
 * (by an upsert) or removed. */
static inline weir_value weir_key_entry_key(weir_type key_type, const weir_key_entry *e)
{
    if (e->key_missing)
        return weir_value_missing();
    weir_value v = {.len = 0, .missing = false};
    if (key_type != WEIR_T_STRING) {
        memcpy(&v.u, e->key_bytes, sizeof v.u);
        return v;
    }
    v.len = e->key_len;
    if (e->key_len > WEIR_KEY_INLINE)
        memcpy(&v.u.s, e->key_bytes, sizeof v.u.s);
    else
        v.u.s = (const char *)e->key_bytes;
    return v;
}

/* Blocks of up to this many bytes (multiples of 8) that the map's owner
 * keeps per key come from the map's pools (weir_key_map_block_get). */
#define WEIR_KEY_MAP_POOLED 256

typedef struct weir_key_map {
    uint32_t *table;        /* slot + 1, 0 = empty */
    size_t table_cap;       /* power of two */
    weir_key_entry *slots;  /* slab; owned */
    size_t n_slots, cap_slots;
    uint32_t free_head;     /* free slot list through .timer_at's storage;
                               UINT32_MAX: none */
    size_t live;
    weir_type key_type;
    /* Per-key blocks of the owner (the engine's key blocks: 24 bytes for a
     * map of one rule, which malloc would round to 32). They live with
     * the map, not its owner, because a swap can hand a map over whole,
     * blocks and all, to another owner. */
    weir_pool blocks[WEIR_KEY_MAP_POOLED / 8];
} weir_key_map;

void weir_key_map_init(weir_key_map *m, weir_type key_type);
/* Frees the table and the entries' key copies (not their state). */
void weir_key_map_clear(weir_key_map *m);

uint64_t weir_key_hash(weir_type t, const weir_value *key);

/* The entry for key, or NULL. */
weir_key_entry *weir_key_map_find(weir_key_map *m, const weir_value *key, uint64_t hash);
/* The entry for key, created (state NULL) if absent; *slot is its slot.
 * NULL when out of memory. */
weir_key_entry *weir_key_map_upsert(weir_key_map *m, const weir_value *key, uint64_t hash,
                                    uint32_t *slot);
/* The live entry in `slot` with this generation, or NULL. */
weir_key_entry *weir_key_map_slot(weir_key_map *m, uint32_t slot, uint32_t generation);
/* Removes a live entry (its state must already be freed). */
void weir_key_map_remove(weir_key_map *m, weir_key_entry *e);

/* A block of `bytes` for the owner's per-key state, NULL when out of
 * memory; back with weir_key_map_block_put and the same size. Blocks die
 * with the map (weir_key_map_clear). */
void *weir_key_map_block_get(weir_key_map *m, size_t bytes);
void weir_key_map_block_put(weir_key_map *m, void *block, size_t bytes);

/* Bytes used by the table and slab, key copies included. */
size_t weir_key_map_bytes(const weir_key_map *m);

#endif
