/* alert_ring.c — see alert_ring.h. Slot seq % capacity holds alert seq;
 * adding frees the alert it overwrites, so memory is capacity alerts. */
#include <stdlib.h>
#include <string.h>

#include "server/alert_ring.h"

typedef struct slot {
    char *json; /* owned */
    size_t len;
} slot;

struct weir_alert_ring {
    slot *slots;
    size_t cap;
    uint64_t last;  /* newest sequence number */
    uint64_t first; /* oldest held */
};

weir_alert_ring *weir_alert_ring_new(size_t capacity)
{
    weir_alert_ring *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = capacity;
    r->first = 1;
    if (capacity && !(r->slots = calloc(capacity, sizeof *r->slots))) {
        free(r);
        return NULL;
    }
    return r;
}

void weir_alert_ring_free(weir_alert_ring *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->cap; i++)
        free(r->slots[i].json);
    free(r->slots);
    free(r);
}

uint64_t weir_alert_ring_add(weir_alert_ring *r, const char *json, size_t len)
{
    uint64_t seq = ++r->last;
    if (r->cap == 0) {
        r->first = seq + 1;
        return seq;
    }
    slot *s = &r->slots[seq % r->cap];
    free(s->json);
    s->json = malloc(len + 1);
    s->len = len;
    if (s->json) {
        memcpy(s->json, json, len);
        s->json[len] = '\0';
    }
    if (seq - r->first >= r->cap)
        r->first = seq - r->cap + 1;
    return s->json ? seq : 0;
}

uint64_t weir_alert_ring_last(const weir_alert_ring *r) { return r->last; }
uint64_t weir_alert_ring_first(const weir_alert_ring *r) { return r->first; }

const char *weir_alert_ring_get(const weir_alert_ring *r, uint64_t seq, size_t *len)
{
    if (seq < r->first || seq > r->last || r->cap == 0)
        return NULL;
    const slot *s = &r->slots[seq % r->cap];
    *len = s->len;
    return s->json;
}
