/* scn_brute_force.c — password guessing from one address, for
 * rules/fraud/brute_force.weir (failed{10,} greedy consecutive, next a
 * success, within 10m, skip past last).
 *
 * The fraud: 10 to 30 failures 2 to 18 s apart, then a success, all within
 * 9 minutes; the user names are one guessed account or a list of them.
 * Every run of 10 or more failures ends at the success, so `skip past
 * last` keeps one: one alert. Near-misses: 9 failures; 10 to 12 failures
 * 70 to 90 s apart (any 10 of them and the success span over 10 minutes);
 * two runs of 6 to 9 split by a success; 15 to 25 failures and no
 * success; the failures from one address and the success from another.
 * Normal addresses fail at most twice before a success (background.c). */
#include "scenario-internal.h"

static void attempt(gen_shaper *s, uint32_t user, int success)
{
    gen_shaper_add(s, (gen_event){.stream = GEN_S_login_attempts, .ref2 = user,
                                  .flag = (uint8_t)success});
}

/* n failures `lo`-`hi` ms apart; the user names tried are one account's or
 * many; returns the last user tried. */
static uint32_t failures(gen_shaper *s, uint32_t n, int64_t lo, int64_t hi)
{
    int stuffing = gen_rng_chance(s->rng, 500);
    uint32_t user = gen_rng_below(s->rng, s->world->n_cards);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, lo, hi);
        if (stuffing)
            user = gen_rng_below(s->rng, s->world->n_cards);
        attempt(s, user, 0);
    }
    return user;
}

static void then_success(gen_shaper *s, uint32_t user, int64_t lo, int64_t hi)
{
    gen_pause(s, lo, hi);
    attempt(s, user, 1);
}

void gen_shape_brute_force(gen_shaper *s)
{
    uint32_t user = failures(s, (uint32_t)gen_rng_range(s->rng, 10, 30), 2 * GEN_SEC, 18 * GEN_SEC);
    then_success(s, user, 2 * GEN_SEC, 18 * GEN_SEC);
}

void gen_shape_miss_brute_nine(gen_shaper *s)
{
    uint32_t user = failures(s, 9, 2 * GEN_SEC, 18 * GEN_SEC);
    then_success(s, user, 2 * GEN_SEC, 18 * GEN_SEC);
}

void gen_shape_miss_brute_slow(gen_shaper *s)
{
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 10, 12);
    uint32_t user = failures(s, n, 70 * GEN_SEC, 90 * GEN_SEC);
    then_success(s, user, 10 * GEN_SEC, 30 * GEN_SEC);
}

void gen_shape_miss_brute_broken(gen_shaper *s)
{
    for (int run = 0; run < 2; run++) {
        if (run > 0)
            gen_pause(s, 2 * GEN_SEC, 18 * GEN_SEC);
        uint32_t n = (uint32_t)gen_rng_range(s->rng, 6, 9);
        uint32_t user = failures(s, n, 2 * GEN_SEC, 18 * GEN_SEC);
        then_success(s, user, 2 * GEN_SEC, 18 * GEN_SEC);
    }
}

void gen_shape_miss_brute_no_success(gen_shaper *s)
{
    failures(s, (uint32_t)gen_rng_range(s->rng, 15, 25), 2 * GEN_SEC, 18 * GEN_SEC);
}

void gen_shape_miss_brute_other_address(gen_shaper *s)
{
    uint32_t user = failures(s, (uint32_t)gen_rng_range(s->rng, 10, 30), 2 * GEN_SEC, 18 * GEN_SEC);
    then_success(s, user, 2 * GEN_SEC, 18 * GEN_SEC);
    if (!s->failed)
        s->plan->events[s->plan->n_events - 1].key = gen_twin_ip(s->world->n_cards, s->owner);
}
