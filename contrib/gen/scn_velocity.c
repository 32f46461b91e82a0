/* scn_velocity.c — bursts for rules/fraud/velocity.weir (card_velocity:
 * sliding 1h every 5m, count() > 20 or sum(amount) > 5000, throttle 1h).
 *
 * In a burst of n <= 40 payments within less than an hour, the windows
 * holding more than 20 of them are those that hold the 21st and the
 * (n-20)th; their starts, hence their ends, lie within less than an hour,
 * so the throttle lets exactly one through. The amount fraud is over $5000
 * only all together (the total minus its smallest purchase is at most
 * $5000): the same argument. No payment is under $2 (no probe for
 * card_testing) and none is over $1000 at a high-risk merchant (the big
 * purchases are at GEN_ROLE_BIG shops, none in high_risk_mcc). */
#include "scenario-internal.h"

enum {
    PROBE_LIMIT = 200,  /* card_testing: a probe is under 200 cents */
    SUM_LIMIT = 500000, /* card_velocity: more than 500000 cents in an hour */
};

static void everyday_payment(gen_shaper *s)
{
    uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_EVERYDAY);
    int64_t cents = gen_price(s->world, s->rng, m);
    gen_add_payment(s, m, cents < PROBE_LIMIT ? PROBE_LIMIT : cents > 12000 ? 12000 : cents, 0);
}

/* n payments spread over `span` ms, one in each of n equal slots. */
static void burst(gen_shaper *s, uint32_t n, int64_t span)
{
    int64_t slot = span / n, base = s->t;
    for (uint32_t i = 0; i < n; i++) {
        s->t = base + (int64_t)i * slot + gen_rng_range(s->rng, 0, slot - 1);
        everyday_payment(s);
    }
}

void gen_shape_velocity_count(gen_shaper *s)
{
    /* n <= 40 keeps it to one alert (see the top of this file) */
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 21, 40);
    burst(s, n, gen_rng_range(s->rng, 10 * GEN_MIN, 40 * GEN_MIN));
}

void gen_shape_miss_count_20(gen_shaper *s)
{
    burst(s, 20, gen_rng_range(s->rng, 15 * GEN_MIN, 50 * GEN_MIN));
}

void gen_shape_miss_count_spread(gen_shaper *s)
{
    /* 4 minutes apart: at most 15 in any hour */
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 25, 40);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 4 * GEN_MIN, 5 * GEN_MIN + 30 * GEN_SEC);
        everyday_payment(s);
    }
}

/* k purchases 2-15 minutes apart (within 45 minutes) at big-ticket shops. */
static void big_purchases(gen_shaper *s, const int64_t *cents, uint32_t k, int64_t gap_lo,
                          int64_t gap_hi)
{
    for (uint32_t i = 0; i < k; i++) {
        if (i > 0)
            gen_pause(s, gap_lo, gap_hi);
        gen_add_payment(s, gen_pick_role(s->world, s->rng, GEN_ROLE_BIG), cents[i], 0);
    }
}

void gen_shape_velocity_amount(gen_shaper *s)
{
    uint32_t k = (uint32_t)gen_rng_range(s->rng, 2, 4);
    int64_t lo = SUM_LIMIT / k * 85 / 100, hi = SUM_LIMIT / (k - 1);
    int64_t cents[4], total, least;
    do {
        total = 0;
        least = hi;
        for (uint32_t i = 0; i < k; i++) {
            cents[i] = gen_rng_range(s->rng, lo, hi);
            total += cents[i];
            least = cents[i] < least ? cents[i] : least;
        }
    } while (total <= SUM_LIMIT || total - least > SUM_LIMIT);
    big_purchases(s, cents, k, 2 * GEN_MIN, 15 * GEN_MIN);
}

void gen_shape_miss_amount_5000(gen_shaper *s)
{
    uint32_t k = (uint32_t)gen_rng_range(s->rng, 2, 4);
    int64_t total = gen_rng_chance(s->rng, 500) ? SUM_LIMIT : gen_rng_range(s->rng, 450000, SUM_LIMIT - 1);
    int64_t cents[4], rest = total;
    for (uint32_t i = 0; i + 1 < k; i++) {
        /* around an even share, leaving at least $300 for each one after */
        int64_t share = rest / (k - i);
        int64_t c = gen_rng_range(s->rng, share * 70 / 100, share * 130 / 100);
        int64_t room = rest - (int64_t)(k - i - 1) * 30000;
        cents[i] = c < room ? c : room;
        rest -= cents[i];
    }
    cents[k - 1] = rest;
    big_purchases(s, cents, k, 2 * GEN_MIN, 15 * GEN_MIN);
}

void gen_shape_miss_amount_spread(gen_shaper *s)
{
    /* over an hour apart: never two in one window */
    uint32_t k = (uint32_t)gen_rng_range(s->rng, 2, 3);
    int64_t cents[3];
    for (uint32_t i = 0; i < k; i++)
        cents[i] = gen_rng_range(s->rng, 260000, 490000);
    big_purchases(s, cents, k, 65 * GEN_MIN, 120 * GEN_MIN);
}

