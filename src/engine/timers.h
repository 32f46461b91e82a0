/* timers.h — event-time deadlines of keys (within, absence, window ends,
 * throttle expiry).
 *
 * A key has at most one live timer: its earliest deadline. When the
 * deadline moves, the engine pushes a new timer and the old one goes
 * stale; a popped timer counts only if it still matches the key entry's
 * timer_at and generation (lazy deletion, cheaper than a decrease-key).
 *
 * Many keys share deadlines (every sliding window of every key ends on the
 * same 5-minute boundaries), so timers are kept in buckets, one per
 * distinct deadline, and only the buckets are ordered, in a small min-heap.
 * Firing walks a bucket's array in push order, instead of sifting a heap
 * of one entry per key: far fewer cache misses per timer. */
#ifndef WEIR_ENGINE_TIMERS_H
#define WEIR_ENGINE_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weir_timer {
    int64_t at;
    uint32_t map;        /* which key map */
    uint32_t slot;       /* entry slot in that map */
    uint32_t generation; /* the entry's generation when pushed */
} weir_timer;

/* A timer as a bucket keeps it: the deadline is the bucket's. Every live
 * key has one, so 12 bytes instead of 24 count. */
typedef struct weir_timer_ref {
    uint32_t map;
    uint32_t slot;
    uint32_t generation;
} weir_timer_ref;

/* Timers a bucket holds in place, before it needs an array of its own.
 * Deadlines of pattern rules (first event + within) are nearly all
 * distinct, so most buckets hold one to a few timers: an array each (and
 * its malloc header) cost more than the timers themselves. */
#define WEIR_TIMER_INLINE 4

typedef struct weir_timer_bucket {
    int64_t at;
    union {
        weir_timer_ref *items;  /* cap > WEIR_TIMER_INLINE: owned; kept
                                   when the bucket is recycled, unless
                                   large */
        weir_timer_ref inl[WEIR_TIMER_INLINE]; /* cap == WEIR_TIMER_INLINE */
    } u;
    uint32_t head, n, cap;
} weir_timer_bucket;

/* The bucket's timers: [head, n) are pending. (Like strchr, a const
 * bucket gives a plain pointer.) */
static inline weir_timer_ref *weir_timer_bucket_items(const weir_timer_bucket *bk)
{
    return bk->cap > WEIR_TIMER_INLINE ? bk->u.items : (weir_timer_ref *)bk->u.inl;
}

typedef struct weir_timers {
    weir_timer_bucket *buckets; /* owned slab */
    size_t n_buckets, cap_buckets;
    uint32_t *free;             /* recycled bucket indexes */
    size_t n_free, cap_free;
    uint32_t *heap;             /* bucket indexes ordered by `at` */
    size_t n_heap, cap_heap;
    uint32_t *table;            /* at -> bucket index + 1; 0 = empty */
    size_t table_cap;           /* power of two */
    size_t live;                /* buckets in use */
} weir_timers;

void weir_timers_init(weir_timers *t);
void weir_timers_clear(weir_timers *t);
/* Returns 0, or -1 when out of memory. */
int weir_timers_push(weir_timers *t, weir_timer timer);
/* The earliest timer (among equal deadlines, the first pushed) into *out;
 * false when there is none. */
bool weir_timers_peek(const weir_timers *t, weir_timer *out);
void weir_timers_pop(weir_timers *t);
/* The earliest deadline, INT64_MAX when there is none: the engine asks
 * twice per event whether a timer is due, and nearly always none is. */
static inline int64_t weir_timers_next_at(const weir_timers *t)
{
    return t->n_heap ? t->buckets[t->heap[0]].at : INT64_MAX;
}
/* The buckets with timers, in firing order (deadlines ascending), as a
 * malloc'd array of *n; NULL when out of memory. For snapshots and
 * take-overs, which walk every pending timer in the order it would fire. */
const weir_timer_bucket **weir_timers_in_order(const weir_timers *t, size_t *n);
/* The timer `k` places after the earliest one when it has the same
 * deadline, else NULL: lets the caller prefetch what it will touch. */
const weir_timer_ref *weir_timers_ahead(const weir_timers *t, size_t k);

#endif
