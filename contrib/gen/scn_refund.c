/* scn_refund.c — refund abuse for rules/fraud/refund_abuse.weir (sliding
 * 24h every 1h: 3 or more distinct orders, more than half refunded;
 * throttle 1d).
 *
 * A window's count() minus its distinct orders is the number of orders
 * whose purchase and refund are both in it, so a window over the line
 * holds a purchase and a refund. The fraud buys 3 to 6 orders within 3
 * hours and refunds more than half of them, every refund after the last
 * purchase, the last within 15 hours of the first purchase. The first
 * window over the line ends after the first refund, hence after the last
 * purchase; the last one starts at or before a purchase, so ends at most
 * 24h after the last purchase: less than 24h apart, and `throttle 1d`
 * keeps the first. One window holds the whole burst, so there is one
 * alert. Near-misses: exactly half refunded (the first orders bought:
 * then no window, whichever purchases it leaves out, has more than half);
 * two orders, both refunded; most refunded 25 to 30 hours after the last
 * purchase, so no window holds a purchase and its refund. Normal refunds
 * are of orders bought before the stream began. */
#include "scenario-internal.h"

static void order(gen_shaper *s, int kind, uint32_t i, int64_t cents)
{
    gen_shaper_add(s, (gen_event){.stream = GEN_S_customer_orders, .kind = (uint8_t)kind,
                                  .ref = GEN_ORDER_PLANTED + 16 * (uint64_t)s->owner + i,
                                  .cents = cents});
}

/* n purchases 5-35 min apart, then refunds of orders first..first+r-1
 * (in a shuffled order), the first `delay_lo`-`delay_hi` after the last
 * purchase and the others 1-60 min apart. */
static void burst(gen_shaper *s, uint32_t n, uint32_t r, int64_t delay_lo, int64_t delay_hi)
{
    int64_t cents[8];
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 5 * GEN_MIN, 35 * GEN_MIN);
        cents[i] = gen_rng_range(s->rng, 3000, 40000);
        order(s, GEN_ORDER_PURCHASE, i, cents[i]);
    }
    uint32_t which[8];
    for (uint32_t i = 0; i < r; i++)
        which[i] = i;
    for (uint32_t i = r; i > 1; i--) {
        uint32_t j = gen_rng_below(s->rng, i), t = which[i - 1];
        which[i - 1] = which[j];
        which[j] = t;
    }
    gen_pause(s, delay_lo, delay_hi);
    for (uint32_t i = 0; i < r; i++) {
        if (i > 0)
            gen_pause(s, 1 * GEN_MIN, 60 * GEN_MIN);
        order(s, GEN_ORDER_REFUND, which[i], cents[which[i]]);
    }
}

void gen_shape_refund_abuse(gen_shaper *s)
{
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 3, 6);
    burst(s, n, (uint32_t)gen_rng_range(s->rng, n / 2 + 1, n), 1 * GEN_HOUR, 6 * GEN_HOUR);
}

void gen_shape_miss_refund_half(gen_shaper *s)
{
    uint32_t n = gen_rng_chance(s->rng, 500) ? 4 : 6;
    burst(s, n, n / 2, 1 * GEN_HOUR, 6 * GEN_HOUR);
}

void gen_shape_miss_refund_two(gen_shaper *s)
{
    burst(s, 2, 2, 1 * GEN_HOUR, 6 * GEN_HOUR);
}

void gen_shape_miss_refund_late(gen_shaper *s)
{
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 3, 5);
    burst(s, n, (uint32_t)gen_rng_range(s->rng, n / 2 + 1, n), 25 * GEN_HOUR, 28 * GEN_HOUR);
}
