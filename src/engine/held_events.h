/* held_events.h — events waiting for the watermark, in timestamp order.
 *
 * The decoder's output lives only until the next line is decoded, so an
 * event that must wait (its timestamp is above the watermark) is copied
 * here: its field array and the bytes of its strings in one block. Blocks
 * come from size-class free lists owned by the queue, so in steady state
 * holding an event allocates nothing. Events come out in (timestamp,
 * sequence) order: equal timestamps keep their arrival order. In-order
 * arrivals queue in a FIFO ring, the others in a binary min-heap. */
#ifndef WEIR_ENGINE_HELD_EVENTS_H
#define WEIR_ENGINE_HELD_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "compile/expr.h"

typedef struct weir_held_event {
    int64_t ts;
    uint64_t seq;
    unsigned stream;
    uint32_t n_fields;
    uint32_t size_class;  /* which free list the block returns to */
    weir_value fields[];  /* then the string bytes */
} weir_held_event;

typedef struct weir_held_queue weir_held_queue;

weir_held_queue *weir_held_queue_new(void);
/* Frees the queue, every event still in it and every cached block. */
void weir_held_queue_free(weir_held_queue *q);

/* Copies the event in; returns -1 when out of memory. */
int weir_held_queue_push(weir_held_queue *q, const weir_value *fields, uint32_t n_fields,
                         unsigned stream, int64_t ts, uint64_t seq);
/* The earliest event, or NULL when empty. */
const weir_held_event *weir_held_queue_peek(const weir_held_queue *q);
/* Removes the earliest event and returns its block to the free lists. */
void weir_held_queue_pop(weir_held_queue *q);
size_t weir_held_queue_size(const weir_held_queue *q);
/* The i-th queued event in no particular order (i < size), for snapshots:
 * pushing them back in any order gives the same queue. */
const weir_held_event *weir_held_queue_at(const weir_held_queue *q, size_t i);
/* Bytes held by queued events and cached blocks. */
size_t weir_held_queue_bytes(const weir_held_queue *q);

#endif
