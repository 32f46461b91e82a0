/* scenario.c — shapes, places and counts the planted scenarios.
 *
 * The shapes themselves live in the scn_*.c files, one per fraud family;
 * this file picks the kinds (alternating frauds and near-misses, cycling
 * through the kinds of each among those whose streams are written), gives
 * each scenario its own keys, places it in time, and adds up the alerts the
 * plan must raise. */
#include "scenario-internal.h"

#include <stdlib.h>
#include <string.h>

const gen_kind_info gen_kinds[GEN_N_KINDS] = {
#define GEN_KIND_INFO(name, streams, rule, alerts, what) {#name, streams, GEN_R_##rule, alerts, what},
    GEN_SCENARIO_KINDS(GEN_KIND_INFO)
#undef GEN_KIND_INFO
};

enum {
    PLACE_BEFORE = 10 * GEN_MIN, /* no scenario starts in the stream's first 10 minutes */
    PLACE_AFTER = 70 * GEN_MIN,  /* nor ends in its last 70: every window closes on data */
    MIN_SPAN = 6 * GEN_HOUR,
};

void gen_shaper_add(gen_shaper *s, gen_event e)
{
    gen_plan *p = s->plan;
    if (p->n_events == p->cap_events) {
        size_t cap = p->cap_events ? 2 * p->cap_events : 256;
        gen_event *grown = realloc(p->events, cap * sizeof *grown);
        if (!grown) {
            s->failed = 1;
            return;
        }
        p->events = grown;
        p->cap_events = cap;
    }
    e.ts = s->t;
    e.key = s->owner;
    p->events[p->n_events++] = e;
}

static void (*const shapers[GEN_N_KINDS])(gen_shaper *) = {
#define GEN_KIND_SHAPER(name, streams, rule, alerts, what) gen_shape_##name,
    GEN_SCENARIO_KINDS(GEN_KIND_SHAPER)
#undef GEN_KIND_SHAPER
};

int gen_plan_shape(gen_plan *p, const gen_world *w, uint64_t seed, uint32_t streams,
                   size_t wanted, uint64_t max_events)
{
    memset(p, 0, sizeof *p);
    p->wanted = wanted;
    gen_kind frauds[GEN_N_KINDS], misses[GEN_N_KINDS];
    size_t n_frauds = 0, n_misses = 0;
    for (int k = 0; k < GEN_N_KINDS; k++) {
        if ((gen_kinds[k].streams & ~streams) != 0)
            continue;
        if (gen_kinds[k].alerts)
            frauds[n_frauds++] = (gen_kind)k;
        else
            misses[n_misses++] = (gen_kind)k;
    }
    if (wanted == 0 || n_frauds == 0 || n_misses == 0)
        return 0;
    p->scenarios = calloc(wanted, sizeof *p->scenarios);
    if (!p->scenarios)
        return -1;

    gen_rng r;
    gen_rng_seed(&r, seed, 2);
    for (size_t i = 0; i < wanted; i++) {
        gen_kind kind = i % 2 == 0 ? frauds[i / 2 % n_frauds] : misses[i / 2 % n_misses];
        size_t first = p->n_events;
        gen_shaper s = {p, w, &r, (uint32_t)i, 0, 0};
        shapers[kind](&s);
        if (s.failed)
            return -1;
        if (p->n_events > max_events) {
            p->n_events = first; /* out of budget: stop here */
            break;
        }
        p->scenarios[i] = (gen_scenario){kind, (uint32_t)i, first, p->n_events - first, 0,
                                         p->events[p->n_events - 1].ts};
        p->per_kind[kind]++;
        p->n_scenarios++;
    }
    return 0;
}

int64_t gen_plan_min_span(const gen_plan *p)
{
    int64_t longest = 0;
    for (size_t i = 0; i < p->n_scenarios; i++)
        if (p->scenarios[i].end > longest)
            longest = p->scenarios[i].end;
    int64_t need = PLACE_BEFORE + longest + PLACE_AFTER + 1;
    return need > MIN_SPAN ? need : MIN_SPAN;
}

static int by_time(const void *a, const void *b)
{
    const gen_event *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    /* one owner per scenario and one ms per event: (ts, key) is unique */
    return x->key < y->key ? -1 : x->key > y->key;
}

void gen_plan_place(gen_plan *p, uint64_t seed, int64_t start, int64_t span)
{
    gen_rng r;
    gen_rng_seed(&r, seed, 3);
    for (size_t i = 0; i < p->n_scenarios; i++) {
        gen_scenario *s = &p->scenarios[i];
        uint64_t room = (uint64_t)(span - PLACE_BEFORE - PLACE_AFTER - s->end);
        int64_t at = start + PLACE_BEFORE + (int64_t)gen_rng_below64(&r, room);
        for (size_t e = s->first; e < s->first + s->count; e++)
            p->events[e].ts += at;
        s->start = at;
        s->end += at;
    }
    if (p->n_events)
        qsort(p->events, p->n_events, sizeof *p->events, by_time);
}

void gen_plan_expected(const gen_plan *p, uint64_t out[GEN_N_RULES])
{
    memset(out, 0, GEN_N_RULES * sizeof *out);
    for (int k = 0; k < GEN_N_KINDS; k++)
        out[gen_kinds[k].rule] += p->per_kind[k] * gen_kinds[k].alerts;
}

void gen_plan_free(gen_plan *p)
{
    free(p->scenarios);
    free(p->events);
    memset(p, 0, sizeof *p);
}
