/* traffic.c — normal payments, merged with the other streams' normal
 * traffic and the plan, slightly shuffled.
 *
 * Normal payments: payment k of n is at start + (k + u) * span / n, u
 * uniform in [0, 1): evenly spread, never out of order by itself. Its card
 * is drawn uniformly and kept with the card's activity (64..256 out of
 * 256), so some cards are three times as busy as others; cards that a
 * scenario owns are never drawn. Its merchant is one of the home city's
 * most of the time, any merchant otherwise.
 *
 * Merging: the three sources are each in time order; the earliest goes
 * first, and on equal times the plan, then payments, then the rest.
 *
 * Disorder: 3% of events are held back for 1 ms to 2 s before they are
 * written, as a network would. A held event is written once the stream has
 * reached its arrival time, so no line is more than 2 s behind any line
 * before it: within every stream's lateness (5 s at least), so nothing is
 * late for weir. */
#include "traffic.h"

#include "heap.h"

enum {
    HOME_PERMILLE = 850,    /* share of a card's payments in its home city */
    HELD_PERMILLE = 30,     /* share of events that arrive late */
    MAX_HOLD_MS = 2000,     /* and by how much at most */
};

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
    st->per_stream[e->stream]++;
    gen_out_event(wr->out, e);
}

static gen_event normal_payment(const gen_world *w, const gen_plan *plan, gen_rng *r, int64_t ts)
{
    uint32_t card;
    for (;;) {
        card = gen_rng_below(r, w->n_cards);
        if (gen_rng_below(r, 256) < gen_card_activity(w, card) && card >= plan->n_scenarios)
            break;
    }
    bool home = gen_rng_below(r, 1000) < HOME_PERMILLE;
    uint32_t merchant = home ? gen_pick_in_city(w, r, gen_card_home(w, card))
                             : gen_pick_anywhere(w, r);
    /* Payments away from home are online (card not present): no position,
     * so impossible_travel, which reads lat/lon, sees only the card's
     * physical payments, all in its home city. */
    return (gen_event){.ts = ts, .cents = gen_price(w, r, merchant), .key = card,
                       .ref = merchant, .stream = GEN_S_payments, .flag = !home};
}

int gen_traffic_write(const gen_traffic_params *tp, const gen_world *w, const gen_plan *plan,
                      gen_background *bg, gen_out *o, gen_traffic_stats *stats)
{
    *stats = (gen_traffic_stats){0};
    gen_rng traffic, disorder;
    gen_rng_seed(&traffic, tp->seed, 4);
    gen_rng_seed(&disorder, tp->seed, 5);
    gen_heap held = {0};
    writer wr = {o, stats, 0};

    uint64_t n_normal = tp->n_payments;
    double slot = n_normal ? (double)tp->span / (double)n_normal : 0;
    uint64_t next_normal = 0, next_planted = 0;
    int64_t normal_ts = INT64_MAX, bg_ts;
    int rc = -1;

    for (;;) {
        if (normal_ts == INT64_MAX && next_normal < n_normal) {
            double at = ((double)next_normal + gen_rng_unit(&traffic)) * slot;
            normal_ts = tp->start + (int64_t)at;
        }
        if (gen_background_peek(bg, &bg_ts) != 0)
            goto done;
        int64_t planted_ts = INT64_MAX;
        if (next_planted < plan->n_events)
            planted_ts = plan->events[next_planted].ts;
        if (planted_ts == INT64_MAX && normal_ts == INT64_MAX && bg_ts == INT64_MAX)
            break;

        gen_event e;
        if (planted_ts <= normal_ts && planted_ts <= bg_ts) {
            e = plan->events[next_planted++];
            stats->planted++;
        } else if (normal_ts <= bg_ts) {
            /* the card and the rest are drawn only now, in stream order */
            e = normal_payment(w, plan, &traffic, normal_ts);
            normal_ts = INT64_MAX;
            next_normal++;
            stats->normal++;
        } else {
            e = gen_background_pop(bg);
            stats->normal++;
        }

        if (gen_rng_below(&disorder, 1000) < HELD_PERMILLE) {
            if (gen_heap_push(&held, e.ts + gen_rng_range(&disorder, 1, MAX_HOLD_MS), &e) != 0)
                goto done;
            continue;
        }
        while (held.n && held.items[0].at <= e.ts) {
            gen_held h = gen_heap_pop(&held);
            write_event(&wr, &h.event);
        }
        write_event(&wr, &e);
    }
    while (held.n) {
        gen_held h = gen_heap_pop(&held);
        write_event(&wr, &h.event);
    }
    rc = 0;
done:
    gen_heap_free(&held);
    return rc;
}
