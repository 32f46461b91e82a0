/* scenario.c — shapes and places the planted fraud and near-misses.
 *
 * Every shape keeps a margin from the thresholds it is about, so that the
 * expected alert count holds under the documented semantics (doc/dsl.md)
 * without depending on edge cases:
 *   card_testing (probe{3,} greedy, then big at another merchant than the
 *   last probe, within 10m, skip past last): a fraud's probes and purchase
 *   span at most 8 minutes and the card has nothing else in that time, so
 *   the greedy run from the first probe matches and `skip past last` drops
 *   the rest: one alert. Near-misses break one condition each, for every
 *   run: two probes only; the purchase at the same merchant as every probe;
 *   the purchase over 10 minutes after every probe; $499.99 at most;
 *   charges of exactly $2.00, which are not under $2.
 *   card_velocity (sliding 1h every 5m, count() > 20 or sum(amount) > 5000,
 *   throttle 1h): in a burst of n <= 40 payments within less than an hour,
 *   the windows holding more than 20 of them are those that hold the 21st
 *   and the (n-20)th; their starts, hence their ends, lie within less than
 *   an hour, so the throttle lets exactly one through. The amount fraud is
 *   over $5000 only all together (the total minus its smallest purchase is
 *   at most $5000): the same argument. No probe in any velocity scenario,
 *   and every card_testing scenario stays far below both velocity limits. */
#include "scenario.h"

#include <stdlib.h>
#include <string.h>

const gen_kind_info gen_kinds[GEN_N_KINDS] = {
#define GEN_KIND_INFO(name, rule, alerts, what) {#name, rule, alerts, what},
    GEN_SCENARIO_KINDS(GEN_KIND_INFO)
#undef GEN_KIND_INFO
};

enum {
    SEC = 1000,
    MIN = 60 * SEC,
    PLACE_BEFORE = 10 * MIN, /* no scenario starts in the stream's first 10 minutes */
    PLACE_AFTER = 70 * MIN,  /* nor ends in its last 70: every window closes on data */
    MIN_SPAN = 6 * 60 * MIN,
    PROBE_LIMIT = 200,       /* card_testing: a probe is under 200 cents */
    BIG_LIMIT = 50000,       /* card_testing: a purchase of 50000 cents or more */
    SUM_LIMIT = 500000,      /* card_velocity: more than 500000 cents in an hour */
};

typedef struct shaper {
    gen_plan *plan;
    const gen_world *world;
    gen_rng *rng;
    uint32_t card;
    int64_t t; /* ms since the scenario's start */
    int failed;
} shaper;

static void add(shaper *s, uint32_t merchant, int64_t cents)
{
    gen_plan *p = s->plan;
    if (p->n_events == p->cap_events) {
        size_t cap = p->cap_events ? 2 * p->cap_events : 256;
        gen_event *e = realloc(p->events, cap * sizeof *e);
        if (!e) {
            s->failed = 1;
            return;
        }
        p->events = e;
        p->cap_events = cap;
    }
    /* planted fraud runs on stolen card numbers: card not present */
    p->events[p->n_events++] = (gen_event){s->t, cents, s->card, merchant, true};
}

/* Waits between lo and hi milliseconds; every event of a scenario gets its
 * own millisecond, so its order never depends on a tie. */
static void pause_for(shaper *s, int64_t lo, int64_t hi)
{
    s->t += gen_rng_range(s->rng, lo, hi);
}

static int64_t probe_cents(gen_rng *r)
{
    static const int64_t usual[] = {50, 99, 100, 100, 100, 149, 150, 199};
    if (gen_rng_chance(r, 800))
        return usual[gen_rng_below(r, sizeof usual / sizeof usual[0])];
    return gen_rng_range(r, 1, PROBE_LIMIT - 1);
}

/* n probes 5-40 s apart, at one merchant or several; returns the last one's. */
static uint32_t probes(shaper *s, uint32_t n)
{
    int one_merchant = gen_rng_chance(s->rng, 500);
    uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_PROBE);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0) {
            pause_for(s, 5 * SEC, 40 * SEC);
            if (!one_merchant)
                m = gen_pick_role(s->world, s->rng, GEN_ROLE_PROBE);
        }
        add(s, m, probe_cents(s->rng));
    }
    return m;
}

static void big_elsewhere(shaper *s, uint32_t last_probe_merchant, int64_t lo, int64_t hi)
{
    uint32_t m = gen_pick_role_except(s->world, s->rng, GEN_ROLE_BIG, last_probe_merchant);
    add(s, m, gen_rng_range(s->rng, lo, hi));
}

static void shape_card_testing(shaper *s)
{
    /* at most 9 * 40 s + 120 s = 8 minutes */
    uint32_t last = probes(s, (uint32_t)gen_rng_range(s->rng, 3, 10));
    pause_for(s, 20 * SEC, 120 * SEC);
    big_elsewhere(s, last, BIG_LIMIT, 300000);
}

static void shape_miss_two_probes(shaper *s)
{
    uint32_t last = probes(s, 2);
    pause_for(s, 20 * SEC, 120 * SEC);
    big_elsewhere(s, last, BIG_LIMIT, 300000);
}

static void shape_miss_small_purchase(shaper *s)
{
    uint32_t last = probes(s, (uint32_t)gen_rng_range(s->rng, 3, 6));
    pause_for(s, 20 * SEC, 120 * SEC);
    big_elsewhere(s, last, 40000, BIG_LIMIT - 1);
}

static void shape_miss_too_slow(shaper *s)
{
    /* 11 minutes after the last probe is over 10 after every probe */
    uint32_t last = probes(s, (uint32_t)gen_rng_range(s->rng, 3, 5));
    pause_for(s, 11 * MIN, 20 * MIN);
    big_elsewhere(s, last, BIG_LIMIT, 300000);
}

static void shape_miss_same_merchant(shaper *s)
{
    uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_HOLD);
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 3, 4);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            pause_for(s, 20 * SEC, 90 * SEC);
        add(s, m, gen_rng_chance(s->rng, 700) ? 100 : probe_cents(s->rng));
    }
    pause_for(s, 60 * SEC, 240 * SEC);
    add(s, m, gen_rng_range(s->rng, BIG_LIMIT, 150000));
}

static void shape_miss_probe_at_2(shaper *s)
{
    /* two real probes and 1-3 charges of exactly $2.00, shuffled */
    uint32_t n_at_limit = (uint32_t)gen_rng_range(s->rng, 1, 3), n = n_at_limit + 2;
    uint32_t real_a = gen_rng_below(s->rng, n), real_b = gen_rng_below(s->rng, n - 1);
    if (real_b >= real_a)
        real_b++;
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            pause_for(s, 5 * SEC, 40 * SEC);
        m = gen_pick_role(s->world, s->rng, GEN_ROLE_PROBE);
        add(s, m, i == real_a || i == real_b ? probe_cents(s->rng) : PROBE_LIMIT);
    }
    pause_for(s, 20 * SEC, 120 * SEC);
    big_elsewhere(s, m, BIG_LIMIT, 300000);
}

/* An everyday payment anywhere (a cloned card passed around), $2-$120. */
static void everyday_payment(shaper *s)
{
    uint32_t m = gen_pick_role(s->world, s->rng, GEN_ROLE_EVERYDAY);
    int64_t cents = gen_price(s->world, s->rng, m);
    add(s, m, cents < PROBE_LIMIT ? PROBE_LIMIT : cents > 12000 ? 12000 : cents);
}

/* n payments spread over `span` ms, one in each of n equal slots. */
static void burst(shaper *s, uint32_t n, int64_t span)
{
    int64_t slot = span / n, base = s->t;
    for (uint32_t i = 0; i < n; i++) {
        s->t = base + (int64_t)i * slot + gen_rng_range(s->rng, 0, slot - 1);
        everyday_payment(s);
    }
}

static void shape_velocity_count(shaper *s)
{
    /* n <= 40 keeps it to one alert (see the top of this file) */
    burst(s, (uint32_t)gen_rng_range(s->rng, 21, 40), gen_rng_range(s->rng, 10 * MIN, 40 * MIN));
}

static void shape_miss_count_20(shaper *s)
{
    burst(s, 20, gen_rng_range(s->rng, 15 * MIN, 50 * MIN));
}

static void shape_miss_count_spread(shaper *s)
{
    /* 4 minutes apart: at most 15 in any hour */
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 25, 40);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            pause_for(s, 4 * MIN, 5 * MIN + 30 * SEC);
        everyday_payment(s);
    }
}

/* k purchases 2-15 minutes apart (within 45 minutes) at big-ticket shops. */
static void big_purchases(shaper *s, const int64_t *cents, uint32_t k, int64_t gap_lo,
                          int64_t gap_hi)
{
    for (uint32_t i = 0; i < k; i++) {
        if (i > 0)
            pause_for(s, gap_lo, gap_hi);
        add(s, gen_pick_role(s->world, s->rng, GEN_ROLE_BIG), cents[i]);
    }
}

static void shape_velocity_amount(shaper *s)
{
    uint32_t k = (uint32_t)gen_rng_range(s->rng, 2, 4);
    int64_t lo = SUM_LIMIT / k * 85 / 100, hi = SUM_LIMIT / (k - 1);
    int64_t cents[4], total, least;
    do {
        total = 0;
        least = hi;
        for (uint32_t i = 0; i < k; i++) {
            cents[i] = gen_rng_range(s->rng, lo, hi);
            total += cents[i];
            least = cents[i] < least ? cents[i] : least;
        }
    } while (total <= SUM_LIMIT || total - least > SUM_LIMIT);
    big_purchases(s, cents, k, 2 * MIN, 15 * MIN);
}

static void shape_miss_amount_5000(shaper *s)
{
    uint32_t k = (uint32_t)gen_rng_range(s->rng, 2, 4);
    int64_t total = gen_rng_chance(s->rng, 500) ? SUM_LIMIT : gen_rng_range(s->rng, 450000, SUM_LIMIT - 1);
    int64_t cents[4], rest = total;
    for (uint32_t i = 0; i + 1 < k; i++) {
        /* around an even share, leaving at least $300 for each one after */
        int64_t share = rest / (k - i);
        int64_t c = gen_rng_range(s->rng, share * 70 / 100, share * 130 / 100);
        int64_t room = rest - (int64_t)(k - i - 1) * 30000;
        cents[i] = c < room ? c : room;
        rest -= cents[i];
    }
    cents[k - 1] = rest;
    big_purchases(s, cents, k, 2 * MIN, 15 * MIN);
}

static void shape_miss_amount_spread(shaper *s)
{
    /* over an hour apart: never two in one window */
    uint32_t k = (uint32_t)gen_rng_range(s->rng, 2, 3);
    int64_t cents[3];
    for (uint32_t i = 0; i < k; i++)
        cents[i] = gen_rng_range(s->rng, 260000, 490000);
    big_purchases(s, cents, k, 65 * MIN, 120 * MIN);
}

static void (*const shapers[GEN_N_KINDS])(shaper *) = {
#define GEN_KIND_SHAPER(name, rule, alerts, what) shape_##name,
    GEN_SCENARIO_KINDS(GEN_KIND_SHAPER)
#undef GEN_KIND_SHAPER
};

int gen_plan_shape(gen_plan *p, const gen_world *w, uint64_t seed, size_t wanted,
                   uint64_t max_events)
{
    memset(p, 0, sizeof *p);
    p->wanted = wanted;
    if (wanted == 0)
        return 0;
    p->scenarios = calloc(wanted, sizeof *p->scenarios);
    if (!p->scenarios)
        return -1;

    gen_kind frauds[GEN_N_KINDS], misses[GEN_N_KINDS];
    size_t n_frauds = 0, n_misses = 0;
    for (int k = 0; k < GEN_N_KINDS; k++) {
        if (gen_kinds[k].alerts)
            frauds[n_frauds++] = (gen_kind)k;
        else
            misses[n_misses++] = (gen_kind)k;
    }

    gen_rng r;
    gen_rng_seed(&r, seed, 2);
    for (size_t i = 0; i < wanted; i++) {
        gen_kind kind = i % 2 == 0 ? frauds[i / 2 % n_frauds] : misses[i / 2 % n_misses];
        size_t first = p->n_events;
        shaper s = {p, w, &r, (uint32_t)i, 0, 0};
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
    /* one card per scenario and one ms per event: (ts, card) is unique */
    return x->card < y->card ? -1 : x->card > y->card;
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

void gen_plan_free(gen_plan *p)
{
    free(p->scenarios);
    free(p->events);
    memset(p, 0, sizeof *p);
}
