/* scn_new_device.c — a large payment from a strange device, for
 * rules/fraud/new_device_high_amount.weir (per account, a memory of 90
 * days of online payments, in day buckets: their devices, average and
 * number; an alert on an online payment from a device not in it, over 3
 * times the average, once there are 3 payments in it).
 *
 * The fraud: 3 to 6 online payments of $20 to $150 from the account's own
 * device, then one from a fraudster's device for over 3 times the largest
 * of them, hence over 3 times their average: one alert, and one only, as
 * the device is then remembered. Its variant for the memory's span: the
 * holder's second device paid once, 92 to 150 days before (history, as in
 * scn_dormant.c: before the stream's --start): forgotten by then (a
 * payment is remembered 90 to 91 days), so the same shape with that device
 * at the end is an alert too. Near-misses: the strange device's payment
 * under 3 times the smallest usual one (so under 3 times their average);
 * only 2 usual payments; 10 times the average from the account's own
 * device; and the second device paid from 1 to 80 days before, then at 10
 * times the largest payment (it is remembered: no alert). Normal traffic
 * pays online from the account's own device only, so once an account has
 * 3 payments in memory its device is among them. */
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

/* One payment from the holder's second device, days_lo to days_hi days
 * before the scenario; returns its amount. */
static int64_t second_device_history(gen_shaper *s, int64_t days_lo, int64_t days_hi)
{
    s->t = -gen_rng_range(s->rng, days_lo * 24 * 60, days_hi * 24 * 60) * GEN_MIN;
    int64_t cents = gen_rng_range(s->rng, 2000, 15000);
    pay(s, gen_twin_device(s->world->n_cards, s->owner), cents);
    s->t = 0;
    return cents;
}

void gen_shape_new_device(gen_shaper *s)
{
    int64_t least, most;
    usual(s, (uint32_t)gen_rng_range(s->rng, 3, 6), &least, &most);
    uint64_t other = gen_fraud_device(s->world->n_cards, s->owner);
    pay(s, other, gen_rng_range(s->rng, 3 * most + 1, 8 * most));
}

void gen_shape_new_device_forgotten(gen_shaper *s)
{
    (void)second_device_history(s, 92, 150);
    int64_t least, most;
    usual(s, (uint32_t)gen_rng_range(s->rng, 3, 6), &least, &most);
    pay(s, gen_twin_device(s->world->n_cards, s->owner),
        gen_rng_range(s->rng, 3 * most + 1, 8 * most));
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

/* Over 3 times the average whatever it is (10 times the largest payment
 * in memory, the second device's included): only the device stops it. */
void gen_shape_miss_new_device_known(gen_shaper *s)
{
    int64_t before = second_device_history(s, 1, 80);
    int64_t least, most;
    usual(s, (uint32_t)gen_rng_range(s->rng, 3, 6), &least, &most);
    pay(s, gen_twin_device(s->world->n_cards, s->owner), 10 * (before > most ? before : most));
}
