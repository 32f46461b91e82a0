/* scn_card_testing.c — card testing, and the near-misses that must not look
 * like it to rules/fraud/card_testing.weir.
 *
 * card_testing (probe{3,} greedy, then big at another merchant than the
 * last probe, within 10m, skip past last): a fraud's probes and purchase
 * span at most 8 minutes and the card has nothing else, so the greedy run
 * from the first probe matches and `skip past last` drops the rest: one
 * alert. Near-misses break one condition each, for every run: two probes
 * only; the purchase at the same merchant as every probe; the purchase
 * over 10 minutes after every probe; $499.99 at most; charges of exactly
 * $2.00, which are not under $2. The purchases are at GEN_ROLE_BIG
 * merchants, none of them in high_risk_mcc, and at most $3000 on a card
 * with no other large payment: card_velocity and high_risk_merchant stay
 * quiet. */
#include "scenario-internal.h"

enum {
    PROBE_LIMIT = 200, /* a probe is under 200 cents */
    BIG_LIMIT = 50000, /* a purchase of 50000 cents or more */
};

static int64_t probe_cents(gen_rng *r)
{
    static const int64_t usual[] = {50, 99, 100, 100, 100, 149, 150, 199};
    if (gen_rng_chance(r, 800))
        return usual[gen_rng_below(r, sizeof usual / sizeof usual[0])];
    return gen_rng_range(r, 1, PROBE_LIMIT - 1);
}

/* n probes 5-40 s apart, at one merchant or several; returns the last one's. */
static uint32_t probes(gen_shaper *s, uint32_t n)
{
    int one_merchant = gen_rng_chance(s->rng, 500);
    uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_PROBE);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0) {
            gen_pause(s, 5 * GEN_SEC, 40 * GEN_SEC);
            if (!one_merchant)
                m = gen_pick_role(s->world, s->rng, GEN_ROLE_PROBE);
        }
        gen_add_payment(s, m, probe_cents(s->rng), 0);
    }
    return m;
}

static void big_elsewhere(gen_shaper *s, uint32_t last_probe_merchant, int64_t lo, int64_t hi)
{
    uint32_t m = gen_pick_role_except(s->world, s->rng, GEN_ROLE_BIG, last_probe_merchant);
    gen_add_payment(s, m, gen_rng_range(s->rng, lo, hi), 0);
}

void gen_shape_card_testing(gen_shaper *s)
{
    /* at most 9 * 40 s + 120 s = 8 minutes */
    uint32_t last = probes(s, (uint32_t)gen_rng_range(s->rng, 3, 10));
    gen_pause(s, 20 * GEN_SEC, 120 * GEN_SEC);
    big_elsewhere(s, last, BIG_LIMIT, 300000);
}

void gen_shape_miss_two_probes(gen_shaper *s)
{
    uint32_t last = probes(s, 2);
    gen_pause(s, 20 * GEN_SEC, 120 * GEN_SEC);
    big_elsewhere(s, last, BIG_LIMIT, 300000);
}

void gen_shape_miss_small_purchase(gen_shaper *s)
{
    uint32_t last = probes(s, (uint32_t)gen_rng_range(s->rng, 3, 6));
    gen_pause(s, 20 * GEN_SEC, 120 * GEN_SEC);
    big_elsewhere(s, last, 40000, BIG_LIMIT - 1);
}

void gen_shape_miss_too_slow(gen_shaper *s)
{
    /* 11 minutes after the last probe is over 10 after every probe */
    uint32_t last = probes(s, (uint32_t)gen_rng_range(s->rng, 3, 5));
    gen_pause(s, 11 * GEN_MIN, 20 * GEN_MIN);
    big_elsewhere(s, last, BIG_LIMIT, 300000);
}

void gen_shape_miss_same_merchant(gen_shaper *s)
{
    uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_HOLD);
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 3, 4);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 20 * GEN_SEC, 90 * GEN_SEC);
        gen_add_payment(s, m, gen_rng_chance(s->rng, 700) ? 100 : probe_cents(s->rng), 0);
    }
    gen_pause(s, 60 * GEN_SEC, 240 * GEN_SEC);
    gen_add_payment(s, m, gen_rng_range(s->rng, BIG_LIMIT, 150000), 0);
}

void gen_shape_miss_probe_at_2(gen_shaper *s)
{
    /* two real probes and 1-3 charges of exactly $2.00, shuffled */
    uint32_t n_at_limit = (uint32_t)gen_rng_range(s->rng, 1, 3), n = n_at_limit + 2;
    uint32_t real_a = gen_rng_below(s->rng, n), real_b = gen_rng_below(s->rng, n - 1);
    if (real_b >= real_a)
        real_b++;
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 5 * GEN_SEC, 40 * GEN_SEC);
        m = gen_pick_role(s->world, s->rng, GEN_ROLE_PROBE);
        gen_add_payment(s, m, i == real_a || i == real_b ? probe_cents(s->rng) : PROBE_LIMIT, 0);
    }
    gen_pause(s, 20 * GEN_SEC, 120 * GEN_SEC);
    big_elsewhere(s, m, BIG_LIMIT, 300000);
}

