/* heap.c — the binary min-heap of heap.h. */
#include "heap.h"

#include <stdlib.h>

static int before(const gen_held *a, const gen_held *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

int gen_heap_push(gen_heap *h, int64_t at, const gen_event *e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        gen_held *items = realloc(h->items, cap * sizeof *items);
        if (!items)
            return -1;
        h->items = items;
        h->cap = cap;
    }
    gen_held item = {at, h->next_seq++, *e};
    size_t i = h->n++;
    while (i > 0 && before(&item, &h->items[(i - 1) / 2])) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = item;
    return 0;
}

gen_held gen_heap_pop(gen_heap *h)
{
    gen_held top = h->items[0], last = h->items[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->items[c + 1], &h->items[c]))
            c++;
        if (!before(&h->items[c], &last))
            break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (h->n)
        h->items[i] = last;
    return top;
}

void gen_heap_free(gen_heap *h)
{
    free(h->items);
    *h = (gen_heap){0};
}
