/* scn_new_device.c — a large payment from a strange device, for
 * rules/fraud/new_device_high_amount.weir (usual{3,} greedy online
 * payments from the device of the first, then an online payment from
 * another device over 3 times their average, within 30d, skip past last).
 *
 * The fraud: 3 to 6 online payments of $20 to $150 from the account's own
 * device, then one from a fraudster's device for over 3 times the largest
 * of them. Whatever runs weir forms from the usual payments (any subset
 * of 3 or more), the last payment is over 3 times their average, and they
 * all end at it: `skip past last` keeps one, one alert. Near-misses: the
 * strange device's payment under 3 times the smallest usual one (so under
 * 3 times any average); only 2 usual payments; 10 times the average from
 * the account's own device. Normal traffic pays online from the account's
 * own device only, so `device != usual[0].device` never holds in it. */
#include "scn_ledger.h"

/* n usual payments 10 min to 3 h apart; their smallest and largest. */
static void usual(gen_shaper *s, uint32_t n, int64_t *least, int64_t *most)
{
    uint64_t device = gen_own_device(s->world->n_cards, s->owner);
    *least = INT64_MAX;
    *most = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 10 * GEN_MIN, 3 * GEN_HOUR);
        int64_t c = gen_rng_range(s->rng, 2000, 15000);
        *least = c < *least ? c : *least;
        *most = c > *most ? c : *most;
        gen_add_booking(s, GEN_TX_PAYMENT, GEN_CH_ONLINE, c, device);
    }
    gen_pause(s, 10 * GEN_MIN, 3 * GEN_HOUR);
}

static void pay(gen_shaper *s, uint64_t device, int64_t cents)
{
    gen_add_booking(s, GEN_TX_PAYMENT, GEN_CH_ONLINE, cents, device);
}

void gen_shape_new_device(gen_shaper *s)
{
    int64_t least, most;
    usual(s, (uint32_t)gen_rng_range(s->rng, 3, 6), &least, &most);
    uint64_t other = gen_fraud_device(s->world->n_cards, s->owner);
    pay(s, other, gen_rng_range(s->rng, 3 * most + 1, 8 * most));
}

void gen_shape_miss_new_device_small(gen_shaper *s)
{
    int64_t least, most;
    usual(s, (uint32_t)gen_rng_range(s->rng, 3, 6), &least, &most);
    uint64_t other = gen_fraud_device(s->world->n_cards, s->owner);
    pay(s, other, gen_rng_range(s->rng, 2 * least, 3 * least - 1));
}

void gen_shape_miss_new_device_two(gen_shaper *s)
{
    int64_t least, most;
    usual(s, 2, &least, &most);
    pay(s, gen_fraud_device(s->world->n_cards, s->owner), 10 * most);
}

void gen_shape_miss_new_device_same(gen_shaper *s)
{
    int64_t least, most;
    usual(s, (uint32_t)gen_rng_range(s->rng, 3, 6), &least, &most);
    pay(s, gen_own_device(s->world->n_cards, s->owner), 10 * most);
}
