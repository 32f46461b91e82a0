/* scenario-internal.h — what the scn_*.c files share: the shaper that
 * collects a scenario's events, and one shape function per kind.
 *
 * A shape writes its events with times relative to the scenario's start
 * (0 is its first live event; history before it is negative) and keys set
 * to the scenario's own numbers. Every event of a scenario gets its own
 * millisecond, so its order in weir never depends on a tie. Random draws
 * are sequenced (one per statement, or one per call's arguments): C does
 * not fix the order in which arguments or initializers are evaluated. */
#ifndef WEIR_GEN_SCENARIO_INTERNAL_H
#define WEIR_GEN_SCENARIO_INTERNAL_H

#include "scenario.h"

enum {
    GEN_SEC = 1000,
    GEN_MIN = 60 * GEN_SEC,
    GEN_HOUR = 60 * GEN_MIN,
};
#define GEN_DAY ((int64_t)24 * GEN_HOUR)

typedef struct gen_shaper {
    gen_plan *plan;
    const gen_world *world;
    gen_rng *rng;
    uint32_t owner; /* the scenario's number in every key space */
    int64_t t;      /* ms since the scenario's start */
    int failed;     /* out of memory */
} gen_shaper;

/* Appends e at the shaper's time, keyed by the scenario's own number. */
void gen_shaper_add(gen_shaper *s, gen_event e);

/* Moves the shaper's time on by lo to hi ms (lo >= 1). */
static inline void gen_pause(gen_shaper *s, int64_t lo, int64_t hi)
{
    s->t += gen_rng_range(s->rng, lo, hi);
}

/* A payment of the scenario's card at a merchant; online unless `present`. */
static inline void gen_add_payment(gen_shaper *s, uint32_t merchant, int64_t cents, int present)
{
    gen_shaper_add(s, (gen_event){.stream = GEN_S_payments, .ref = merchant, .cents = cents,
                                  .flag = (uint8_t)!present});
}

#define GEN_SHAPE_DECL(name, streams, rule, alerts, what) void gen_shape_##name(gen_shaper *s);
GEN_SCENARIO_KINDS(GEN_SHAPE_DECL)
#undef GEN_SHAPE_DECL

#endif
