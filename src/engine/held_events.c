/* held_events.c — the watermark wait queue; see held_events.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/held_events.h"

/* Blocks are rounded up to multiples of 64 bytes; blocks up to
 * 64 * N_CLASSES bytes are recycled, larger ones go back to malloc. */
#define CLASS_BYTES 64
#define N_CLASSES 32

typedef union free_block {
    union free_block *next;
    weir_held_event ev;
} free_block;

/* Most events arrive in order: those that sort after the last queued one
 * go to a FIFO ring (O(1)); only the out-of-order rest pay for the heap.
 * The earliest event is the earlier of the two heads. */
struct weir_held_queue {
    weir_held_event **heap;
    size_t n, cap;
    weir_held_event **ring;
    size_t ring_head, ring_n, ring_cap; /* ring_cap is a power of two */
    free_block *free_lists[N_CLASSES + 1];
    size_t bytes;
};

weir_held_queue *weir_held_queue_new(void)
{
    return calloc(1, sizeof(weir_held_queue));
}

void weir_held_queue_free(weir_held_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        free(q->heap[i]);
    free(q->heap);
    for (size_t i = 0; i < q->ring_n; i++)
        free(q->ring[(q->ring_head + i) & (q->ring_cap - 1)]);
    free(q->ring);
    for (size_t c = 0; c <= N_CLASSES; c++) {
        free_block *b = q->free_lists[c];
        while (b) {
            free_block *next = b->next;
            free(b);
            b = next;
        }
    }
    free(q);
}

static bool earlier(const weir_held_event *a, const weir_held_event *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static int grow_ring(weir_held_queue *q)
{
    size_t cap = q->ring_cap ? q->ring_cap * 2 : 1024;
    weir_held_event **ring = malloc(cap * sizeof *ring);
    if (!ring)
        return -1;
    for (size_t i = 0; i < q->ring_n; i++)
        ring[i] = q->ring[(q->ring_head + i) & (q->ring_cap - 1)];
    free(q->ring);
    q->ring = ring;
    q->ring_cap = cap;
    q->ring_head = 0;
    return 0;
}

static weir_held_event *alloc_block(weir_held_queue *q, size_t size, uint32_t *cls)
{
    size_t c = (size + CLASS_BYTES - 1) / CLASS_BYTES;
    if (c <= N_CLASSES && q->free_lists[c]) {
        free_block *b = q->free_lists[c];
        q->free_lists[c] = b->next;
        *cls = (uint32_t)c;
        return &b->ev;
    }
    *cls = c <= N_CLASSES ? (uint32_t)c : 0;
    size_t bytes = c <= N_CLASSES ? c * CLASS_BYTES : size;
    if (bytes < sizeof(free_block))
        bytes = sizeof(free_block);
    free_block *b = malloc(bytes);
    if (!b)
        return NULL;
    q->bytes += bytes;
    return &b->ev;
}

static void release_block(weir_held_queue *q, weir_held_event *ev)
{
    free_block *b = (free_block *)ev;
    if (ev->size_class == 0) {
        free(b);
        return;
    }
    uint32_t c = ev->size_class;
    b->next = q->free_lists[c];
    q->free_lists[c] = b;
}

int weir_held_queue_push(weir_held_queue *q, const weir_value *fields, uint32_t n_fields,
                         unsigned stream, int64_t ts, uint64_t seq)
{
    size_t strings = 0;
    for (uint32_t i = 0; i < n_fields; i++)
        if (!fields[i].missing)
            strings += fields[i].len;
    size_t size = sizeof(weir_held_event) + n_fields * sizeof(weir_value) + strings;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        weir_held_event **heap = realloc(q->heap, cap * sizeof *heap);
        if (!heap)
            return -1;
        q->heap = heap;
        q->cap = cap;
    }
    if (q->ring_n == q->ring_cap && grow_ring(q) != 0)
        return -1;
    uint32_t cls;
    weir_held_event *ev = alloc_block(q, size, &cls);
    if (!ev)
        return -1;
    ev->ts = ts;
    ev->seq = seq;
    ev->stream = stream;
    ev->n_fields = n_fields;
    ev->size_class = cls;
    char *bytes = (char *)(ev->fields + n_fields);
    for (uint32_t i = 0; i < n_fields; i++) {
        ev->fields[i] = fields[i];
        /* only strings have a length; other values are copied whole */
        if (!fields[i].missing && fields[i].len) {
            memcpy(bytes, fields[i].u.s, fields[i].len);
            ev->fields[i].u.s = bytes;
            bytes += fields[i].len;
        }
    }
    if (q->ring_n == 0 || !earlier(ev, q->ring[(q->ring_head + q->ring_n - 1) & (q->ring_cap - 1)])) {
        q->ring[(q->ring_head + q->ring_n) & (q->ring_cap - 1)] = ev;
        q->ring_n++;
        return 0;
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!earlier(ev, q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = ev;
    return 0;
}

/* true when the earliest event is the ring's head */
static bool ring_first(const weir_held_queue *q)
{
    if (!q->ring_n)
        return false;
    return !q->n || earlier(q->ring[q->ring_head], q->heap[0]);
}

const weir_held_event *weir_held_queue_peek(const weir_held_queue *q)
{
    if (ring_first(q))
        return q->ring[q->ring_head];
    return q->n ? q->heap[0] : NULL;
}

void weir_held_queue_pop(weir_held_queue *q)
{
    if (ring_first(q)) {
        release_block(q, q->ring[q->ring_head]);
        q->ring_head = (q->ring_head + 1) & (q->ring_cap - 1);
        q->ring_n--;
        return;
    }
    if (!q->n)
        return;
    release_block(q, q->heap[0]);
    weir_held_event *last = q->heap[--q->n];
    size_t i = 0, n = q->n;
    if (!n)
        return;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && earlier(q->heap[child + 1], q->heap[child]))
            child++;
        if (!earlier(q->heap[child], last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    q->heap[i] = last;
}

size_t weir_held_queue_size(const weir_held_queue *q)
{
    return q->n + q->ring_n;
}

size_t weir_held_queue_bytes(const weir_held_queue *q)
{
    return q->bytes + (q->cap + q->ring_cap) * sizeof(weir_held_event *);
}

const weir_held_event *weir_held_queue_at(const weir_held_queue *q, size_t i)
{
    if (i < q->n)
        return q->heap[i];
    i -= q->n;
    if (i < q->ring_n)
        return q->ring[(q->ring_head + i) & (q->ring_cap - 1)];
    return NULL;
}
