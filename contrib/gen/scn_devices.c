/* scn_devices.c — one device working through a list of stolen cards, for
 * rules/fraud/many_cards_one_device.weir (sliding 1h every 5m, more than 3
 * distinct cards, throttle 1h).
 *
 * The fraud: 4 to 6 cards, one after the other 1 to 6 minutes apart, each
 * paid once and now and then retried 5 to 30 s later, all within 40
 * minutes. Let f4 be the first payment of the 4th card and l(m-3) the
 * last payment of the 4th card from the end (m cards): a window over the
 * line holds 4 cards, so the first one ends after f4 and the last one
 * starts at or before l(m-3). With m <= 6 and retries before the next
 * card, l(m-3) < f4: the windows over the line end less than an hour
 * apart and `throttle 1h` keeps one. Near-misses: 3 cards with many
 * retries; 4 to 6 cards 21 to 30 minutes apart, so any 4 span over an
 * hour; 4 to 6 cards within 40 minutes, split over the scenario's two
 * devices, at most 3 on either. Normal devices use the 1 to 3 cards of
 * their household only. */
#include "scenario-internal.h"

/* A stolen card: numbers past the world's cards, one block per scenario. */
static uint64_t stolen_card(const gen_shaper *s, uint32_t i)
{
    return (uint64_t)s->world->n_cards + 8 * (uint64_t)s->owner + i;
}

static void pay(gen_shaper *s, uint32_t card)
{
    gen_shaper_add(s, (gen_event){.stream = GEN_S_device_payments, .ref = stolen_card(s, card),
                                  .cents = gen_rng_range(s->rng, 500, 30000)});
}

void gen_shape_many_cards(gen_shaper *s)
{
    uint32_t m = (uint32_t)gen_rng_range(s->rng, 4, 6);
    for (uint32_t i = 0; i < m; i++) {
        if (i > 0)
            gen_pause(s, 1 * GEN_MIN, 6 * GEN_MIN);
        pay(s, i);
        if (gen_rng_chance(s->rng, 250)) {
            gen_pause(s, 5 * GEN_SEC, 30 * GEN_SEC);
            pay(s, i);
        }
    }
}

void gen_shape_miss_cards_three(gen_shaper *s)
{
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 6, 12);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 30 * GEN_SEC, 150 * GEN_SEC);
        pay(s, i < 3 ? i : gen_rng_below(s->rng, 3));
    }
}

void gen_shape_miss_cards_spread(gen_shaper *s)
{
    uint32_t m = (uint32_t)gen_rng_range(s->rng, 4, 6);
    for (uint32_t i = 0; i < m; i++) {
        if (i > 0)
            gen_pause(s, 21 * GEN_MIN, 30 * GEN_MIN);
        pay(s, i);
    }
}

void gen_shape_miss_cards_two_devices(gen_shaper *s)
{
    uint32_t m = (uint32_t)gen_rng_range(s->rng, 4, 6), on_first = m / 2 + gen_rng_below(s->rng, 2);
    if (on_first > 3)
        on_first = 3;
    for (uint32_t i = 0; i < m; i++) {
        if (i > 0)
            gen_pause(s, 1 * GEN_MIN, 6 * GEN_MIN);
        pay(s, i);
        if (i >= on_first && !s->failed) /* the rest go through the second device */
            s->plan->events[s->plan->n_events - 1].key =
                (uint32_t)gen_twin_device(s->world->n_cards, s->owner);
    }
}
