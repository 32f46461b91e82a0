/* heap.h — a min-heap of events by (time, sequence number), for the events
 * held back by the disorder of traffic.c and the normal traffic that
 * background.c makes ahead of the stream. Equal times leave in the order
 * they went in, so the output never depends on the heap's layout. */
#ifndef WEIR_GEN_HEAP_H
#define WEIR_GEN_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct gen_held {
    int64_t at;   /* when it leaves: arrival time, or event time */
    uint64_t seq; /* order among equal times */
    gen_event event;
} gen_held;

typedef struct gen_heap {
    gen_held *items; /* owned */
    size_t n, cap;
    uint64_t next_seq;
} gen_heap;

/* Returns 0, or -1 when out of memory. */
int gen_heap_push(gen_heap *h, int64_t at, const gen_event *e);
/* The earliest; h->n must be > 0. */
gen_held gen_heap_pop(gen_heap *h);
void gen_heap_free(gen_heap *h);

#endif
