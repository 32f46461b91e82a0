/* timers.c — deadline buckets; see timers.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/timers.h"
#include "util/probe_table.h"

void weir_timers_init(weir_timers *t)
{
    memset(t, 0, sizeof *t);
}

void weir_timers_clear(weir_timers *t)
{
    for (size_t i = 0; i < t->n_buckets; i++)
        if (t->buckets[i].cap > WEIR_TIMER_INLINE)
            free(t->buckets[i].u.items);
    free(t->buckets);
    free(t->free);
    free(t->heap);
    free(t->table);
    weir_timers_init(t);
}

static size_t slot_of(int64_t at, size_t mask)
{
    uint64_t h = (uint64_t)at * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) & mask;
}

/* The table cell for `at`: its bucket, or the empty cell where it goes. */
static uint32_t *cell(const weir_timers *t, int64_t at)
{
    size_t mask = t->table_cap - 1;
    for (size_t i = slot_of(at, mask);; i = (i + 1) & mask) {
        uint32_t b = t->table[i];
        if (!b || t->buckets[b - 1].at == at)
            return &t->table[i];
    }
}

static int grow_table(weir_timers *t)
{
    size_t cap = t->table_cap ? t->table_cap * 2 : 256;
    uint32_t *table = calloc(cap, sizeof *table);
    if (!table)
        return -1;
    for (size_t i = 0; i < t->table_cap; i++) {
        uint32_t b = t->table[i];
        if (!b)
            continue;
        size_t j = slot_of(t->buckets[b - 1].at, cap - 1);
        while (table[j])
            j = (j + 1) & (cap - 1);
        table[j] = b;
    }
    free(t->table);
    t->table = table;
    t->table_cap = cap;
    return 0;
}

static size_t bucket_home(const void *owner, uint32_t cell)
{
    const weir_timers *t = owner;
    return slot_of(t->buckets[cell - 1].at, t->table_cap - 1);
}

static void table_remove(weir_timers *t, int64_t at)
{
    uint32_t *c = cell(t, at);
    weir_probe_remove(t->table, t->table_cap - 1, (size_t)(c - t->table), bucket_home, t);
}

static bool before(const weir_timers *t, uint32_t a, uint32_t b)
{
    return t->buckets[a].at < t->buckets[b].at;
}

static int heap_push(weir_timers *t, uint32_t b)
{
    if (t->n_heap == t->cap_heap) {
        size_t cap = t->cap_heap ? t->cap_heap * 2 : 64;
        uint32_t *heap = realloc(t->heap, cap * sizeof *heap);
        if (!heap)
            return -1;
        t->heap = heap;
        t->cap_heap = cap;
    }
    size_t i = t->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(t, b, t->heap[parent]))
            break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = b;
    return 0;
}

static void heap_pop(weir_timers *t)
{
    uint32_t last = t->heap[--t->n_heap];
    size_t i = 0, n = t->n_heap;
    if (!n)
        return;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before(t, t->heap[child + 1], t->heap[child]))
            child++;
        if (!before(t, t->heap[child], last))
            break;
        t->heap[i] = t->heap[child];
        i = child;
    }
    t->heap[i] = last;
}

/* A new, empty bucket for `at`, in the table and the heap. */
static int new_bucket(weir_timers *t, int64_t at, uint32_t *out)
{
    /* up to 3/4 full, as the key maps: linear probing stays short, and a
     * table per deadline of 1M keys is 2 MB instead of 4 */
    if ((t->live + 1) * 4 > t->table_cap * 3 && grow_table(t) != 0)
        return -1;
    uint32_t b;
    if (t->n_free) {
        b = t->free[--t->n_free];
    } else {
        if (t->n_buckets == t->cap_buckets) {
            size_t cap = t->cap_buckets ? t->cap_buckets * 2 : 64;
            weir_timer_bucket *buckets = realloc(t->buckets, cap * sizeof *buckets);
            if (!buckets)
                return -1;
            t->buckets = buckets;
            t->cap_buckets = cap;
        }
        b = (uint32_t)t->n_buckets++;
        memset(&t->buckets[b], 0, sizeof t->buckets[b]);
        t->buckets[b].cap = WEIR_TIMER_INLINE;
    }
    weir_timer_bucket *bk = &t->buckets[b];
    bk->at = at;
    bk->head = bk->n = 0;
    if (heap_push(t, b) != 0) {
        t->free[t->n_free++] = b; /* room: it came from there or is new */
        return -1;
    }
    *cell(t, at) = b + 1;
    t->live++;
    *out = b;
    return 0;
}

int weir_timers_push(weir_timers *t, weir_timer timer)
{
    if (t->cap_free < t->n_buckets + 1) {
        /* keep room to recycle every bucket, even a new one, without
         * allocating: pop cannot fail */
        size_t cap = t->cap_free ? t->cap_free * 2 : 64;
        if (cap < t->n_buckets + 1)
            cap = t->n_buckets + 1;
        uint32_t *free_list = realloc(t->free, cap * sizeof *free_list);
        if (!free_list)
            return -1;
        t->free = free_list;
        t->cap_free = cap;
    }
    uint32_t b;
    uint32_t c = t->table_cap ? *cell(t, timer.at) : 0;
    if (c) {
        b = c - 1;
    } else if (new_bucket(t, timer.at, &b) != 0) {
        return -1;
    }
    weir_timer_bucket *bk = &t->buckets[b];
    if (bk->n == bk->cap) {
        if (bk->cap >= UINT32_MAX / 2)
            return -1;
        uint32_t cap = bk->cap * 2;
        bool inl = bk->cap == WEIR_TIMER_INLINE;
        weir_timer_ref *items = realloc(inl ? NULL : bk->u.items, cap * sizeof *items);
        if (!items)
            return -1;
        if (inl)
            memcpy(items, bk->u.inl, bk->n * sizeof *items);
        bk->u.items = items;
        bk->cap = cap;
    }
    weir_timer_bucket_items(bk)[bk->n++] =
        (weir_timer_ref){timer.map, timer.slot, timer.generation};
    return 0;
}

bool weir_timers_peek(const weir_timers *t, weir_timer *out)
{
    if (!t->n_heap)
        return false;
    weir_timer_bucket *bk = &t->buckets[t->heap[0]];
    const weir_timer_ref *r = &weir_timer_bucket_items(bk)[bk->head];
    *out = (weir_timer){.at = bk->at, .map = r->map, .slot = r->slot,
                        .generation = r->generation};
    return true;
}

void weir_timers_pop(weir_timers *t)
{
    if (!t->n_heap)
        return;
    uint32_t b = t->heap[0];
    weir_timer_bucket *bk = &t->buckets[b];
    if (++bk->head < bk->n)
        return;
    /* the bucket is done: recycle it, keeping a small array (a large one
     * would stay allocated for every distinct deadline ever seen) */
    if (bk->cap > 256) {
        free(bk->u.items);
        bk->cap = WEIR_TIMER_INLINE;
    }
    table_remove(t, bk->at);
    heap_pop(t);
    t->live--;
    t->free[t->n_free++] = b;
}

const weir_timer_ref *weir_timers_ahead(const weir_timers *t, size_t k)
{
    if (!t->n_heap)
        return NULL;
    weir_timer_bucket *bk = &t->buckets[t->heap[0]];
    return bk->head + k < bk->n ? &weir_timer_bucket_items(bk)[bk->head + k] : NULL;
}

static int cmp_bucket(const void *a, const void *b)
{
    const weir_timer_bucket *x = *(const weir_timer_bucket *const *)a;
    const weir_timer_bucket *y = *(const weir_timer_bucket *const *)b;
    return x->at < y->at ? -1 : x->at > y->at;
}

const weir_timer_bucket **weir_timers_in_order(const weir_timers *t, size_t *n)
{
    const weir_timer_bucket **live = malloc((t->n_heap ? t->n_heap : 1) * sizeof *live);
    if (!live)
        return NULL;
    for (size_t i = 0; i < t->n_heap; i++)
        live[i] = &t->buckets[t->heap[i]];
    qsort(live, t->n_heap, sizeof *live, cmp_bucket);
    *n = t->n_heap;
    return live;
}
