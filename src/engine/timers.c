/* timers.c — the deadline heap; see timers.h. */
#include <stdlib.h>

#include "engine/timers.h"

void weir_timers_init(weir_timers *t)
{
    t->heap = NULL;
    t->n = t->cap = 0;
}

void weir_timers_clear(weir_timers *t)
{
    free(t->heap);
    weir_timers_init(t);
}

int weir_timers_push(weir_timers *t, weir_timer timer)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        weir_timer *heap = realloc(t->heap, cap * sizeof *heap);
        if (!heap)
            return -1;
        t->heap = heap;
        t->cap = cap;
    }
    size_t i = t->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (t->heap[parent].at <= timer.at)
            break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = timer;
    return 0;
}

const weir_timer *weir_timers_peek(const weir_timers *t)
{
    return t->n ? &t->heap[0] : NULL;
}

void weir_timers_pop(weir_timers *t)
{
    if (!t->n)
        return;
    weir_timer last = t->heap[--t->n];
    size_t i = 0, n = t->n;
    if (!n)
        return;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && t->heap[child + 1].at < t->heap[child].at)
            child++;
        if (t->heap[child].at >= last.at)
            break;
        t->heap[i] = t->heap[child];
        i = child;
    }
    t->heap[i] = last;
}
