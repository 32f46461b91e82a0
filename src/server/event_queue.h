/* event_queue.h — a bounded single-producer single-consumer queue of event
 * lines, the hand-off between a source and a shard.
 *
 * Lines are copied into one preallocated byte ring, so pushing allocates
 * nothing and the memory a queue can hold is fixed at creation: a full
 * queue is the signal for the source to stop reading (backpressure). The
 * head and tail are C11 atomics so producer and consumer may run on
 * different threads; with one shard both run on the main loop. Every line
 * popped is followed by at least WEIR_QUEUE_PADDING readable bytes, as the
 * engine's padded push wants. */
#ifndef WEIR_SERVER_EVENT_QUEUE_H
#define WEIR_SERVER_EVENT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEIR_QUEUE_PADDING 64

typedef struct weir_event_queue weir_event_queue;

/* A queue of `bytes` bytes (rounded up to 8). Lines longer than
 * weir_event_queue_max_line() can never be pushed. NULL when out of memory. */
weir_event_queue *weir_event_queue_new(size_t bytes);
void weir_event_queue_free(weir_event_queue *q);
size_t weir_event_queue_max_line(const weir_event_queue *q);

/* Producer side: copies the line in. false when there is no room now. */
bool weir_event_queue_push(weir_event_queue *q, const char *line, size_t len, uint32_t tag);
/* The same with `head` (head_len bytes) put before the line, as one
 * record of head_len + len bytes. */
bool weir_event_queue_push_parts(weir_event_queue *q, const void *head, size_t head_len,
                                 const char *line, size_t len, uint32_t tag);

/* Consumer side: the oldest line, valid until weir_event_queue_pop. false
 * when empty. */
bool weir_event_queue_peek(weir_event_queue *q, const char **line, size_t *len, uint32_t *tag);
void weir_event_queue_pop(weir_event_queue *q);

/* Bytes in use now (either side; a snapshot). */
size_t weir_event_queue_used(const weir_event_queue *q);
size_t weir_event_queue_capacity(const weir_event_queue *q);

#endif
