/* traffic.c — normal payments, merged with the plan, slightly shuffled.
 *
 * Normal traffic: event k of n is at start + (k + u) * span / n, u uniform
 * in [0, 1): evenly spread, never out of order by itself. Its card is drawn
 * uniformly and kept with the card's activity (64..256 out of 256), so some
 * cards are three times as busy as others; a card a scenario owns is
 * skipped while the scenario runs. Its merchant is one of the home city's
 * most of the time, any merchant otherwise.
 *
 * Disorder: 3% of events are held back for 1 ms to 2 s before they are
 * written, as a network would. A held event is written once the stream has
 * reached its arrival time, so no line is more than 2 s behind any line
 * before it: within every stream's `lateness 5s`, so nothing is late. */
#include "traffic.h"

#include <stdlib.h>

enum {
    HOME_PERMILLE = 850,    /* share of a card's payments in its home city */
    HELD_PERMILLE = 30,     /* share of events that arrive late */
    MAX_HOLD_MS = 2000,     /* and by how much at most */
};

typedef struct held {
    int64_t arrival;
    uint64_t seq; /* order among equal arrivals: the order they were held in */
    gen_event event;
} held;

/* A min-heap of held events by (arrival, seq). */
typedef struct held_heap {
    held *items;
    size_t n, cap;
} held_heap;

static int held_before(const held *a, const held *b)
{
    return a->arrival != b->arrival ? a->arrival < b->arrival : a->seq < b->seq;
}

static int heap_push(held_heap *h, held item)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        held *items = realloc(h->items, cap * sizeof *items);
        if (!items)
            return -1;
        h->items = items;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0 && held_before(&item, &h->items[(i - 1) / 2])) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = item;
    return 0;
}

static held heap_pop(held_heap *h)
{
    held top = h->items[0], last = h->items[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && held_before(&h->items[c + 1], &h->items[c]))
            c++;
        if (!held_before(&h->items[c], &last))
            break;
        h->items[i] = h->items[c];
        i = c;
    }
    if (h->n)
        h->items[i] = last;
    return top;
}

typedef struct writer {
    gen_out *out;
    gen_traffic_stats *stats;
    int64_t max_ts; /* largest ts written so far */
} writer;

static void write_event(writer *wr, const gen_event *e)
{
    gen_traffic_stats *st = wr->stats;
    if (st->written == 0) {
        wr->max_ts = e->ts;
    } else if (e->ts < wr->max_ts) {
        st->out_of_order++;
        if (wr->max_ts - e->ts > st->max_behind)
            st->max_behind = wr->max_ts - e->ts;
    } else {
        wr->max_ts = e->ts;
    }
    if (st->written == 0 || e->ts < st->first_ts)
        st->first_ts = e->ts;
    if (st->written == 0 || e->ts > st->last_ts)
        st->last_ts = e->ts;
    st->written++;
    gen_out_event(wr->out, e);
}

static gen_event normal_event(const gen_world *w, const gen_plan *plan, gen_rng *r, int64_t ts)
{
    uint32_t card;
    for (;;) {
        card = gen_rng_below(r, w->n_cards);
        if (gen_rng_below(r, 256) < gen_card_activity(w, card) && !gen_plan_blocks(plan, card, ts))
            break;
    }
    bool home = gen_rng_below(r, 1000) < HOME_PERMILLE;
    uint32_t merchant = home ? gen_pick_in_city(w, r, gen_card_home(w, card))
                             : gen_pick_anywhere(w, r);
    /* Payments away from home are online (card not present): no position,
     * so impossible_travel, which reads lat/lon, sees only the card's
     * physical payments, all in its home city. */
    return (gen_event){ts, gen_price(w, r, merchant), card, merchant, !home};
}

int gen_traffic_write(const gen_traffic_params *tp, const gen_world *w, const gen_plan *plan,
                      gen_out *o, gen_traffic_stats *stats)
{
    *stats = (gen_traffic_stats){0};
    gen_rng traffic, disorder;
    gen_rng_seed(&traffic, tp->seed, 4);
    gen_rng_seed(&disorder, tp->seed, 5);
    held_heap heap = {0};
    writer wr = {o, stats, 0};

    uint64_t n_planted = plan->n_events < tp->n_events ? plan->n_events : tp->n_events;
    uint64_t n_normal = tp->n_events - n_planted;
    double slot = n_normal ? (double)tp->span / (double)n_normal : 0;
    uint64_t next_normal = 0, next_planted = 0, seq = 0;
    int64_t normal_ts = 0;
    int have_normal = 0;

    while (next_normal < n_normal || next_planted < n_planted || have_normal) {
        if (!have_normal && next_normal < n_normal) {
            double at = ((double)next_normal + gen_rng_unit(&traffic)) * slot;
            normal_ts = tp->start + (int64_t)at;
            have_normal = 1;
        }
        gen_event e;
        if (next_planted < n_planted &&
            (!have_normal || plan->events[next_planted].ts < normal_ts)) {
            e = plan->events[next_planted++];
            stats->planted++;
        } else {
            /* the card and the rest are drawn only now, in stream order */
            e = normal_event(w, plan, &traffic, normal_ts);
            have_normal = 0;
            next_normal++;
            stats->normal++;
        }

        if (gen_rng_below(&disorder, 1000) < HELD_PERMILLE) {
            held h = {e.ts + gen_rng_range(&disorder, 1, MAX_HOLD_MS), seq++, e};
            if (heap_push(&heap, h) != 0) {
                free(heap.items);
                return -1;
            }
            continue;
        }
        while (heap.n && heap.items[0].arrival <= e.ts) {
            held h = heap_pop(&heap);
            write_event(&wr, &h.event);
        }
        write_event(&wr, &e);
    }
    while (heap.n) {
        held h = heap_pop(&heap);
        write_event(&wr, &h.event);
    }
    free(heap.items);
    return 0;
}
