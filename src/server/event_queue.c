/* event_queue.c — the SPSC byte ring; see event_queue.h.
 *
 * Records are [u32 len][u32 tag][len bytes], 8-byte aligned, never split
 * across the end of the ring: a record that does not fit before the end is
 * preceded by a wrap marker (len = UINT32_MAX) and starts again at offset
 * 0. Because no record is larger than half the ring, an empty ring always
 * has room for the largest record whether or not it must wrap. head and
 * tail count bytes since creation; only the producer writes head and only
 * the consumer writes tail. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "server/event_queue.h"

#define HDR 8u
#define WRAP UINT32_MAX

struct weir_event_queue {
    _Alignas(64) _Atomic uint64_t head; /* producer: bytes written */
    _Alignas(64) _Atomic uint64_t tail; /* consumer: bytes released */
    size_t cap;                         /* ring bytes, a multiple of 8 */
    unsigned char *buf;                 /* cap + padding bytes */
};

static size_t align8(size_t n) { return (n + 7) & ~(size_t)7; }

weir_event_queue *weir_event_queue_new(size_t bytes)
{
    weir_event_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->cap = align8(bytes < 1024 ? 1024 : bytes);
    /* zeroed so the padding the decoder may read is defined */
    q->buf = calloc(1, q->cap + WEIR_QUEUE_PADDING);
    if (!q->buf) {
        free(q);
        return NULL;
    }
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    return q;
}

void weir_event_queue_free(weir_event_queue *q)
{
    if (!q)
        return;
    free(q->buf);
    free(q);
}

size_t weir_event_queue_max_line(const weir_event_queue *q) { return q->cap / 2 - HDR; }
size_t weir_event_queue_capacity(const weir_event_queue *q) { return q->cap; }

size_t weir_event_queue_used(const weir_event_queue *q)
{
    return (size_t)(atomic_load_explicit(&q->head, memory_order_acquire) -
                    atomic_load_explicit(&q->tail, memory_order_acquire));
}

bool weir_event_queue_push(weir_event_queue *q, const char *line, size_t len, uint32_t tag)
{
    return weir_event_queue_push_parts(q, NULL, 0, line, len, tag);
}

bool weir_event_queue_push_parts(weir_event_queue *q, const void *head_bytes, size_t head_len,
                                 const char *line, size_t line_len, uint32_t tag)
{
    size_t len = head_len + line_len;
    if (len > weir_event_queue_max_line(q))
        return false;
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    size_t free_bytes = q->cap - (size_t)(head - tail);
    size_t pos = (size_t)(head % q->cap);
    size_t need = align8(HDR + len);
    size_t skip = pos + need > q->cap ? q->cap - pos : 0;
    if (skip + need > free_bytes)
        return false;
    if (skip) {
        uint32_t marker = WRAP;
        memcpy(q->buf + pos, &marker, sizeof marker);
        pos = 0;
    }
    uint32_t len32 = (uint32_t)len;
    memcpy(q->buf + pos, &len32, 4);
    memcpy(q->buf + pos + 4, &tag, 4);
    if (head_len)
        memcpy(q->buf + pos + HDR, head_bytes, head_len);
    if (line_len) /* an empty record may come with no buffer at all */
        memcpy(q->buf + pos + HDR + head_len, line, line_len);
    atomic_store_explicit(&q->head, head + skip + need, memory_order_release);
    return true;
}

bool weir_event_queue_peek(weir_event_queue *q, const char **line, size_t *len, uint32_t *tag)
{
    for (;;) {
        uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
        uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
        if (tail == head)
            return false;
        size_t pos = (size_t)(tail % q->cap);
        uint32_t len32;
        memcpy(&len32, q->buf + pos, 4);
        if (len32 == WRAP) {
            atomic_store_explicit(&q->tail, tail + (q->cap - pos), memory_order_release);
            continue;
        }
        memcpy(tag, q->buf + pos + 4, 4);
        *line = (const char *)q->buf + pos + HDR;
        *len = len32;
        return true;
    }
}

void weir_event_queue_pop(weir_event_queue *q)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t pos = (size_t)(tail % q->cap);
    uint32_t len32;
    memcpy(&len32, q->buf + pos, 4);
    atomic_store_explicit(&q->tail, tail + align8(HDR + len32), memory_order_release);
}
