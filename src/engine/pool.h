/* pool.h — fixed-size blocks carved from slabs and kept on a free list.
 *
 * A live key holds a few small blocks (its state, runs, events, its key
 * block); one malloc each would cost a chunk header and rounding per block,
 * and a call on the hot path. A pool hands out blocks of one size from
 * slabs it owns; freed blocks go back on its list, and slabs are freed
 * only with the pool. Not thread-safe: one owner (a runtime, a key map)
 * uses it from one thread, and blocks go back to the pool they came from. */
#ifndef WEIR_ENGINE_POOL_H
#define WEIR_ENGINE_POOL_H

#include <stddef.h>

/* Blocks are aligned to WEIR_POOL_ALIGN bytes: enough for what weir
 * pools (integers, doubles, pointers; each user asserts it), and less than
 * max_align_t. */
#define WEIR_POOL_ALIGN 8

typedef struct weir_pool {
    size_t block;       /* bytes per block (>= sizeof(void *)) */
    size_t per_slab;    /* blocks per slab */
    void *free_list;    /* linked through each block's first word */
    size_t n_free;
    void *slabs;        /* linked through each slab's first word */
    size_t slab_bytes;  /* bytes of all slabs */
} weir_pool;

void weir_pool_init(weir_pool *p, size_t block, size_t per_slab);
/* Frees every slab (blocks still in use become invalid). */
void weir_pool_fini(weir_pool *p);
/* Makes sure at least n blocks are free. Returns 0, or -1 when out of
 * memory (the pool is unchanged but may hold more free blocks). */
int weir_pool_reserve_slow(weir_pool *p, size_t n);
/* Reservations run before every event and nearly always find room: the
 * test is inline, only growing is a call. */
static inline int weir_pool_reserve(weir_pool *p, size_t n)
{
    return p->n_free >= n ? 0 : weir_pool_reserve_slow(p, n);
}
/* A free block; NULL only when none was reserved and a slab cannot be
 * allocated. */
void *weir_pool_get(weir_pool *p);
void weir_pool_put(weir_pool *p, void *block);

#endif
