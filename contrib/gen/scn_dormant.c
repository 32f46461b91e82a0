/* scn_dormant.c — dormant accounts woken by a large withdrawal, for
 * rules/fraud/dormant_account.weir (quiet, next a withdrawal of $5000 or
 * more at least 90 days later).
 *
 * Ninety days of silence do not fit in a stream of a few hours, so the
 * account's last transaction before the silence is written as history:
 * 85 to 150 days before the scenario, hence before the stream's --start
 * (weir reads it first, as if replayed from the ledger). The fraud: a
 * withdrawal of $5000 to $20000 as the next transaction, 91 days or more
 * later: one alert. Near-misses: 85 to 89 days of silence; $4000 to
 * $4999.99 out; a small deposit first, then the large withdrawal (the
 * withdrawal's previous transaction is then minutes old). Normal traffic
 * withdraws under $5000. */
#include "scn_ledger.h"

static void history(gen_shaper *s, int64_t days_lo, int64_t days_hi)
{
    s->t = -gen_rng_range(s->rng, days_lo * 24 * 60, days_hi * 24 * 60) * GEN_MIN;
    if (gen_rng_chance(s->rng, 500))
        gen_add_booking(s, GEN_TX_DEPOSIT, GEN_CH_TRANSFER, gen_rng_range(s->rng, 2000, 300000), 0);
    else
        gen_add_booking(s, GEN_TX_PAYMENT, GEN_CH_CARD, gen_rng_range(s->rng, 500, 20000), 0);
    s->t = 0;
}

static void withdraw(gen_shaper *s, int64_t lo, int64_t hi)
{
    int channel = gen_rng_chance(s->rng, 500) ? GEN_CH_CASH : GEN_CH_TRANSFER;
    gen_add_booking(s, GEN_TX_WITHDRAWAL, channel, gen_rng_range(s->rng, lo, hi), 0);
}

void gen_shape_dormant(gen_shaper *s)
{
    history(s, 91, 150);
    withdraw(s, 500000, 2000000);
}

void gen_shape_miss_dormant_89d(gen_shaper *s)
{
    history(s, 85, 89);
    withdraw(s, 500000, 2000000);
}

void gen_shape_miss_dormant_small(gen_shaper *s)
{
    history(s, 100, 150);
    withdraw(s, 400000, 499999);
}

void gen_shape_miss_dormant_woken(gen_shaper *s)
{
    history(s, 100, 150);
    gen_add_booking(s, GEN_TX_DEPOSIT, GEN_CH_TRANSFER, gen_rng_range(s->rng, 2000, 50000), 0);
    gen_pause(s, 10 * GEN_MIN, 2 * GEN_HOUR);
    withdraw(s, 500000, 2000000);
}
