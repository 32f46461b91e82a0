/* pool.c — fixed-size block pools; see pool.h. */
#include "engine/pool.h"

#include <stdlib.h>
#include <string.h>

void weir_pool_init(weir_pool *p, size_t block, size_t per_slab)
{
    memset(p, 0, sizeof *p);
    /* Blocks are aligned to WEIR_POOL_ALIGN, not to max_align_t: its
     * size is 32 bytes here, and rounding to it made a 48-byte run or node
     * take 64 bytes and a 104-byte event copy 128 (a sixth of a live key) */
    p->block = (block + WEIR_POOL_ALIGN - 1) / WEIR_POOL_ALIGN * WEIR_POOL_ALIGN;
    if (p->block < sizeof(void *))
        p->block = sizeof(void *);
    p->per_slab = per_slab ? per_slab : 1;
}

void weir_pool_fini(weir_pool *p)
{
    void *s = p->slabs;
    while (s) {
        void *next = *(void **)s;
        free(s);
        s = next;
    }
    p->slabs = NULL;
    p->free_list = NULL;
    p->n_free = 0;
    p->slab_bytes = 0;
}

/* One more slab; its blocks go on the free list. */
static int pool_add_slab(weir_pool *p)
{
    size_t head = _Alignof(max_align_t); /* the slab's link, padded */
    size_t bytes = head + p->block * p->per_slab;
    char *s = malloc(bytes);
    if (!s)
        return -1;
    *(void **)s = p->slabs;
    p->slabs = s;
    p->slab_bytes += bytes;
    for (size_t i = p->per_slab; i-- > 0;) {
        void *b = s + head + i * p->block;
        *(void **)b = p->free_list;
        p->free_list = b;
    }
    p->n_free += p->per_slab;
    return 0;
}

int weir_pool_reserve_slow(weir_pool *p, size_t n)
{
    while (p->n_free < n)
        if (pool_add_slab(p) != 0)
            return -1;
    return 0;
}

void *weir_pool_get(weir_pool *p)
{
    if (!p->free_list && pool_add_slab(p) != 0)
        return NULL;
    void *b = p->free_list;
    p->free_list = *(void **)b;
    p->n_free--;
    return b;
}

void weir_pool_put(weir_pool *p, void *block)
{
    *(void **)block = p->free_list;
    p->free_list = block;
    p->n_free++;
}
