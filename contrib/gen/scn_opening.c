/* scn_opening.c — accounts opened and never verified, for
 * rules/fraud/account_opened_unverified.weir (opened, not then verified,
 * within 24h: the alert fires at the deadline, or at the end of the
 * input, whichever comes first).
 *
 * The fraud: an account opened and never verified, or verified 24h10m to
 * 30h later (a deadline at t fires before the events at t, and a late
 * verification does not take the alert back): one alert. Near-miss:
 * verified 23h to 23h50m after the opening. Normal openings are verified
 * 2 minutes to 6 hours later, and every one of them is written with its
 * verification (background.c), so the end of the input never cuts one
 * short. */
#include "scenario-internal.h"

static void account_event(gen_shaper *s, int kind)
{
    gen_shaper_add(s, (gen_event){.stream = GEN_S_account_events, .kind = (uint8_t)kind});
}

void gen_shape_unverified(gen_shaper *s)
{
    account_event(s, GEN_ACCOUNT_OPENED);
    if (gen_rng_chance(s->rng, 500)) {
        gen_pause(s, 24 * GEN_HOUR + 10 * GEN_MIN, 30 * GEN_HOUR);
        account_event(s, GEN_ACCOUNT_VERIFIED);
    }
}

void gen_shape_miss_unverified_23h(gen_shaper *s)
{
    account_event(s, GEN_ACCOUNT_OPENED);
    gen_pause(s, 23 * GEN_HOUR, 23 * GEN_HOUR + 50 * GEN_MIN);
    account_event(s, GEN_ACCOUNT_VERIFIED);
}
