/* scn_merchant.c — cash-outs for rules/fraud/high_risk_merchant.weir (one
 * payment over $1000 at a category of high_risk_mcc, throttle 1h).
 *
 * The fraud makes 1 to 3 such payments within 40 minutes: the first
 * alerts, the throttle holds the others back (they come less than an hour
 * after it), so one alert. Near-misses: exactly $1000.00, which is not over
 * 1000; and over $1000 at a shop whose category is not in the list. Every
 * shape stays under $5000 and 20 payments (card_velocity) and has no
 * payment under $2 (card_testing). */
#include "scenario-internal.h"

enum { LIMIT = 100000 }; /* cents: high_risk_merchant wants more than this */

void gen_shape_cashout(gen_shaper *s)
{
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 1, 3);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 5 * GEN_MIN, 20 * GEN_MIN);
        uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_CASHOUT);
        /* 3 x $1600 = $4800: under card_velocity's $5000 */
        gen_add_payment(s, m, gen_rng_range(s->rng, LIMIT + 1, 160000), 0);
    }
}

void gen_shape_miss_cashout_1000(gen_shaper *s)
{
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 1, 2);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 5 * GEN_MIN, 30 * GEN_MIN);
        gen_add_payment(s, gen_pick_role(s->world, s->rng, GEN_ROLE_CASHOUT), LIMIT, 0);
    }
}

void gen_shape_miss_big_not_risky(gen_shaper *s)
{
    uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_BIG);
    gen_add_payment(s, m, gen_rng_range(s->rng, LIMIT + 1, 400000), 0);
}
