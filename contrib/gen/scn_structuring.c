/* scn_structuring.c — cash deposits split under the reporting line, for
 * rules/fraud/structuring.weir (early+ greedy cash deposits of $5000 to
 * under $10000 while the sum stays at or under $10000, then the one that
 * takes it over, within 24h, skip past last).
 *
 * The fraud: two deposits in the band that are over $10000 only together,
 * or three where the first two are $5000.00 each (exactly $10000, not
 * over) and the third takes the sum over; within 20 hours. Every match
 * ends at the last deposit, so `skip past last` keeps one: one alert.
 * Near-misses: two deposits of $5000.00 (exactly $10000); two over $10000
 * together but 24h05m or more apart; two by transfer instead of cash.
 * Normal traffic's cash deposits are all under $5000, out of the band. */
#include "scn_ledger.h"

enum { BAND_LO = 500000, BAND_HI = 999999, LINE = 1000000 }; /* cents */

static void cash_deposit(gen_shaper *s, int64_t cents)
{
    gen_add_booking(s, GEN_TX_DEPOSIT, GEN_CH_CASH, cents, 0);
}

/* Two amounts in the band whose sum is over the line. */
static void pair_over(gen_shaper *s, int64_t *a, int64_t *b)
{
    *a = gen_rng_range(s->rng, BAND_LO, BAND_HI);
    int64_t lo = LINE + 1 - *a;
    *b = gen_rng_range(s->rng, lo > BAND_LO ? lo : BAND_LO, BAND_HI);
}

void gen_shape_structuring(gen_shaper *s)
{
    if (gen_rng_chance(s->rng, 300)) {
        cash_deposit(s, BAND_LO);
        gen_pause(s, 30 * GEN_MIN, 6 * GEN_HOUR);
        cash_deposit(s, BAND_LO);
        gen_pause(s, 30 * GEN_MIN, 6 * GEN_HOUR);
        cash_deposit(s, gen_rng_range(s->rng, BAND_LO + 1, BAND_HI));
        return;
    }
    int64_t a, b;
    pair_over(s, &a, &b);
    cash_deposit(s, a);
    gen_pause(s, 1 * GEN_HOUR, 20 * GEN_HOUR);
    cash_deposit(s, b);
}

void gen_shape_miss_structuring_10000(gen_shaper *s)
{
    cash_deposit(s, BAND_LO);
    gen_pause(s, 1 * GEN_HOUR, 20 * GEN_HOUR);
    cash_deposit(s, BAND_LO);
}

void gen_shape_miss_structuring_slow(gen_shaper *s)
{
    int64_t a, b;
    pair_over(s, &a, &b);
    cash_deposit(s, a);
    gen_pause(s, 24 * GEN_HOUR + 5 * GEN_MIN, 26 * GEN_HOUR);
    cash_deposit(s, b);
}

void gen_shape_miss_structuring_transfer(gen_shaper *s)
{
    int64_t a, b;
    pair_over(s, &a, &b);
    gen_add_booking(s, GEN_TX_DEPOSIT, GEN_CH_TRANSFER, a, 0);
    gen_pause(s, 1 * GEN_HOUR, 20 * GEN_HOUR);
    gen_add_booking(s, GEN_TX_DEPOSIT, GEN_CH_TRANSFER, b, 0);
}
