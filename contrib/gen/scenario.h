/* scenario.h — the fraud weir-gen plants, and the near-misses beside it.
 *
 * Each kind is shaped after one rule of rules/fraud/ and says how many
 * alerts of that rule one instance must raise: frauds raise exactly one,
 * near-misses none (they come as close to the rule as real life does, on
 * the side that must stay quiet). One scenario owns one card, and normal
 * traffic keeps off that card from an hour and five minutes before the
 * scenario's first event to as long after its last, so that no window or
 * `within` of the rules sees anything but the scenario.
 *
 * A new rule in rules/fraud/ needs its kinds here: one fraud, and one
 * near-miss per threshold of the rule. */
#ifndef WEIR_GEN_SCENARIO_H
#define WEIR_GEN_SCENARIO_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "rng.h"
#include "world.h"

/* X(name, rule it is about, alerts of that rule per instance, description) */
#define GEN_SCENARIO_KINDS(X)                                                                   \
    X(card_testing, "card_testing", 1,                                                          \
      "3-10 probes under $2, then $500-$3000 at another merchant, within 8 min")                \
    X(velocity_count, "card_velocity", 1, "21-40 payments of $2-$120 within 10-40 min")         \
    X(velocity_amount, "card_velocity", 1,                                                      \
      "2-4 purchases within 45 min totalling over $5000 (all of them needed)")                  \
    X(miss_two_probes, "card_testing", 0, "2 probes under $2, then $500+ elsewhere")            \
    X(miss_same_merchant, "card_testing", 0,                                                    \
      "3-4 small holds, then $500+ at the same hotel or car rental")                            \
    X(miss_too_slow, "card_testing", 0, "3-5 probes, then $500+ elsewhere 11-20 min later")     \
    X(miss_small_purchase, "card_testing", 0, "3-6 probes, then $400.00-$499.99 elsewhere")     \
    X(miss_probe_at_2, "card_testing", 0,                                                       \
      "2 probes under $2 and 1-3 charges of exactly $2.00, then $500+")                         \
    X(miss_count_20, "card_velocity", 0, "exactly 20 payments within 15-50 min")                \
    X(miss_amount_5000, "card_velocity", 0, "2-4 purchases within 45 min totalling $4500-$5000.00") \
    X(miss_count_spread, "card_velocity", 0, "25-40 payments at least 4 min apart")             \
    X(miss_amount_spread, "card_velocity", 0, "2-3 purchases of $2600-$4900 over an hour apart")

typedef enum gen_kind {
#define GEN_KIND_ENUM(name, rule, alerts, what) GEN_KIND_##name,
    GEN_SCENARIO_KINDS(GEN_KIND_ENUM)
#undef GEN_KIND_ENUM
        GEN_N_KINDS
} gen_kind;

typedef struct gen_kind_info {
    const char *name;
    const char *rule;
    uint32_t alerts;
    const char *what;
} gen_kind_info;

extern const gen_kind_info gen_kinds[GEN_N_KINDS];

/* One payment. Normal traffic makes these on the fly; scenarios keep theirs. */
typedef struct gen_event {
    int64_t ts;       /* ms since the epoch (relative to the scenario's start until placed) */
    int64_t cents;
    uint32_t card;
    uint32_t merchant;
    bool online;      /* card not present: written with null lat/lon */
} gen_event;

typedef struct gen_scenario {
    gen_kind kind;
    uint32_t card;
    size_t first;    /* its events are plan.events[first .. first + count) before sorting */
    size_t count;
    int64_t start;   /* ts of its first and last events */
    int64_t end;
} gen_scenario;

typedef struct gen_plan {
    gen_scenario *scenarios; /* owned; scenario i owns card i */
    size_t n_scenarios;
    size_t wanted;           /* scenarios asked for, before the event budget */
    gen_event *events;       /* owned; sorted by ts once placed */
    size_t n_events, cap_events;
    uint64_t per_kind[GEN_N_KINDS];
} gen_plan;

/* Shapes up to `wanted` scenarios, alternating frauds and near-misses and
 * cycling through the kinds of each, and stops before their events would
 * exceed `max_events`. Times are relative until gen_plan_place().
 * Returns 0, or -1 when out of memory. */
int gen_plan_shape(gen_plan *p, const gen_world *w, uint64_t seed, size_t wanted,
                   uint64_t max_events);

/* The shortest stream the plan fits in, in ms. */
int64_t gen_plan_min_span(const gen_plan *p);

/* Places each scenario at a random time in [start, start + span) with room
 * around it (span >= gen_plan_min_span()), then sorts all events by time. */
void gen_plan_place(gen_plan *p, uint64_t seed, int64_t start, int64_t span);

/* Whether normal traffic must keep off `card` at time ts. */
static inline int gen_plan_blocks(const gen_plan *p, uint32_t card, int64_t ts)
{
    enum { GUARD_MS = 65 * 60 * 1000 };
    if (card >= p->n_scenarios)
        return 0;
    const gen_scenario *s = &p->scenarios[card];
    return ts >= s->start - GUARD_MS && ts <= s->end + GUARD_MS;
}

void gen_plan_free(gen_plan *p);

#endif
