/* scn_takeover.c — account takeovers for rules/fraud/account_takeover.weir
 * (a password reset, then a login from a new device, then a payout to a
 * new beneficiary, within 1h, skip past last; three streams, one account).
 *
 * The fraud does the three within 50 minutes, once: one alert. Each
 * near-miss breaks one link and keeps the others: the payout 61 to 90
 * minutes after the reset; the login from the account's usual device
 * (new_device false); the payout to one of the account's usual
 * beneficiaries (new_beneficiary false); the reset on one account, the
 * login and payout on another (the rule follows one account). Normal traffic cannot complete
 * the pattern (background.c): it resets passwords only on accounts that
 * never pay a new beneficiary. */
#include "scenario-internal.h"

static void reset(gen_shaper *s)
{
    gen_shaper_add(s, (gen_event){.stream = GEN_S_password_resets,
                                  .channel = (uint8_t)gen_rng_below(s->rng, 2)});
}

static void login(gen_shaper *s, int new_device)
{
    uint32_t n = s->world->n_cards;
    gen_shaper_add(s, (gen_event){
                          .stream = GEN_S_logins,
                          .ref = new_device ? gen_fraud_device(n, s->owner)
                                            : gen_own_device(n, s->owner),
                          .ref2 = new_device ? gen_fraud_ip(n, s->owner) : gen_own_ip(n, s->owner),
                          .flag = (uint8_t)new_device});
}

static void payout(gen_shaper *s, int new_beneficiary)
{
    uint64_t to = new_beneficiary ? GEN_BENEF_PLANTED + s->owner
                                  : gen_usual_beneficiary(s->owner, gen_rng_below(s->rng, 3));
    gen_shaper_add(s, (gen_event){.stream = GEN_S_payouts, .ref = to,
                                  .cents = gen_rng_range(s->rng, 50000, 900000),
                                  .flag = (uint8_t)new_beneficiary});
}

/* reset; 1-10 min later a login; 2-40 min later a payout (at most 50 min) */
static void takeover(gen_shaper *s, int new_device, int new_beneficiary)
{
    reset(s);
    gen_pause(s, 1 * GEN_MIN, 10 * GEN_MIN);
    login(s, new_device);
    gen_pause(s, 2 * GEN_MIN, 40 * GEN_MIN);
    payout(s, new_beneficiary);
}

void gen_shape_takeover(gen_shaper *s)
{
    takeover(s, 1, 1);
}

void gen_shape_miss_takeover_known_device(gen_shaper *s)
{
    takeover(s, 0, 1);
}

void gen_shape_miss_takeover_known_beneficiary(gen_shaper *s)
{
    takeover(s, 1, 0);
}

void gen_shape_miss_takeover_slow(gen_shaper *s)
{
    reset(s);
    gen_pause(s, 1 * GEN_MIN, 10 * GEN_MIN);
    login(s, 1);
    int64_t payout_at = gen_rng_range(s->rng, 61 * GEN_MIN, 90 * GEN_MIN);
    s->t = payout_at; /* measured from the reset, at 0 */
    payout(s, 1);
}

void gen_shape_miss_takeover_other_account(gen_shaper *s)
{
    reset(s);
    gen_pause(s, 1 * GEN_MIN, 10 * GEN_MIN);
    /* the login and the payout are the second account's */
    size_t first = s->plan->n_events;
    login(s, 1);
    gen_pause(s, 2 * GEN_MIN, 40 * GEN_MIN);
    payout(s, 1);
    for (size_t i = first; !s->failed && i < s->plan->n_events; i++)
        s->plan->events[i].key = GEN_TWIN_ACCOUNT + s->owner;
}
