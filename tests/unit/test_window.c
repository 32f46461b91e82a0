/* test_window.c — the window runtime (engine/window_run.h).
 *
 * Each test compiles a real rule with weir_ruleset_compile_text(), runs its
 * window plan for one key over hand-made events in timestamp order, steps
 * the watermark by hand and records every fired window (copying its
 * strings, since they only live during the callback). Expected windows are
 * worked out from Flink's definitions: tumbling and sliding windows aligned
 * to the epoch, sessions closed by the gap, count windows every M events
 * over the last N. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/plan.h"
#include "compile/window_plan.h"
#include "engine/snap_codec.h"
#include "engine/window_run.h"
#include "weir/ruleset.h"

#include "alloc_count.h"

/* ------------------------------------------------------------------ */
/* Fixture                                                              */

enum { F_CARD, F_AMOUNT, F_MERCHANT, F_MCC, F_TS, F_SCORE, F_QTY, N_FIELDS };

#define STREAM                                                                     \
    "stream payments event time ts {\n"                                            \
    "  card string, amount decimal, merchant string, mcc int, ts time,\n"          \
    "  score float, qty int }\n"

#define SECONDS(x) ((weir_millis)(x) * 1000)
#define MINUTES(x) ((weir_millis)(x) * 60000)
#define D(x) ((int64_t)(x) * 10000) /* a whole decimal */

#define MAX_RECS 64
#define MAX_EMIT 12

/* One fired window, with its strings copied. */
typedef struct rec {
    weir_millis start, end;
    int64_t n_events;
    uint64_t first_seq, last_seq;
    weir_value key;
    weir_value emit[MAX_EMIT];
    unsigned n_emit;
    unsigned n_aggs;
    char strings[512];
    size_t strings_used;
} rec;

static struct {
    weir_ruleset *rs;
    const weir_window_plan *plan;
    weir_window_runtime *rt;
    weir_window_key *key;
    rec recs[MAX_RECS];
    size_t n_recs;
    uint64_t seq;
    weir_value ev[N_FIELDS];
} fx;

static void print_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    fputs(d->rendered, stderr);
}

static weir_value copy_string(rec *r, weir_value v)
{
    cr_assert_leq(r->strings_used + v.len, sizeof r->strings);
    if (v.len)
        memcpy(r->strings + r->strings_used, v.u.s, v.len);
    v.u.s = r->strings + r->strings_used;
    r->strings_used += v.len;
    return v;
}

static void record(const weir_window_fired *w, void *user)
{
    (void)user;
    cr_assert_lt(fx.n_recs, MAX_RECS);
    rec *r = &fx.recs[fx.n_recs++];
    memset(r, 0, sizeof *r);
    r->start = w->start;
    r->end = w->end;
    r->n_events = w->n_events;
    r->first_seq = w->first_seq;
    r->last_seq = w->last_seq;
    r->n_aggs = w->n_aggs;
    r->key = w->key.missing ? w->key : copy_string(r, w->key);
    cr_assert_eq(w->n_aggs, fx.plan->n_aggs);
    cr_assert_eq(w->n_emit, fx.plan->n_emit);
    cr_assert_leq(w->n_emit, MAX_EMIT);
    r->n_emit = w->n_emit;
    for (unsigned i = 0; i < w->n_emit; i++) {
        weir_value v = w->emit[i];
        if (fx.plan->emit[i].value->type == WEIR_T_STRING && !v.missing)
            v = copy_string(r, v);
        r->emit[i] = v;
    }
}

/* The key's value, as the engine would pass it when time passes: "c1"
 * unless a test says otherwise (a key keeps no copy of it). */
static const char *fx_card = "c1";

static weir_value str(const char *s)
{
    return weir_value_string(s, strlen(s));
}

/* Compiles STREAM + `rule r on payments by card window <rest>` and makes a
 * runtime and one key for it. */
static void setup(const char *rest)
{
    char text[2048];
    snprintf(text, sizeof text, "%srule r on payments by card\n  window %s\n", STREAM, rest);
    weir_compile_options opt = {.diag = print_diag, .no_warnings = true};
    weir_compile_status st =
        weir_ruleset_compile_text("test.weir", text, strlen(text), &opt, &fx.rs);
    cr_assert_eq(st, WEIR_COMPILE_OK, "rule does not compile:\n%s", text);
    cr_assert_eq(fx.rs->n_rules, 1);
    fx.plan = fx.rs->rules[0].window;
    cr_assert_not_null(fx.plan);
    fx.rt = weir_window_runtime_new(fx.plan);
    cr_assert_not_null(fx.rt);
    fx.key = weir_window_key_new(fx.rt);
    cr_assert_not_null(fx.key);
    fx.n_recs = 0;
    fx.seq = 0;
    fx_card = "c1";
}

static void teardown(void)
{
    weir_window_key_free(fx.rt, fx.key);
    weir_window_runtime_free(fx.rt);
    weir_ruleset_free(fx.rs);
    memset(&fx, 0, sizeof fx);
}

/* A default event for card c1; tests change fields before push(). */
static weir_value *event(weir_millis ts, int64_t amount)
{
    fx.ev[F_CARD] = str("c1");
    fx.ev[F_AMOUNT] = weir_value_decimal(amount);
    fx.ev[F_MERCHANT] = str("m1");
    fx.ev[F_MCC] = weir_value_int(5411);
    fx.ev[F_TS] = weir_value_millis(ts);
    fx.ev[F_SCORE] = weir_value_float(0.5);
    fx.ev[F_QTY] = weir_value_int(1);
    return fx.ev;
}

static weir_window_status push(void)
{
    return weir_window_add(fx.rt, fx.key, fx.ev, fx.ev[F_TS].u.ms, ++fx.seq, record, NULL);
}

/* Adds an event with `amount` (whole units) at ts; asserts it was taken. */
static void add(weir_millis ts, int64_t amount)
{
    event(ts, D(amount));
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
}

static void add_m(weir_millis ts, int64_t amount, const char *merchant)
{
    event(ts, D(amount));
    fx.ev[F_MERCHANT] = str(merchant);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
}

static size_t advance(weir_millis wm)
{
    weir_value card = str(fx_card);
    return weir_window_advance(fx.rt, fx.key, &card, wm, record, NULL);
}

static void expect_window(size_t i, weir_millis start, weir_millis end, int64_t n)
{
    cr_assert_lt(i, fx.n_recs, "window %zu did not fire (%zu fired)", i, fx.n_recs);
    cr_expect_eq(fx.recs[i].start, start, "window %zu start %lld, expected %lld", i,
                 (long long)fx.recs[i].start, (long long)start);
    cr_expect_eq(fx.recs[i].end, end, "window %zu end %lld, expected %lld", i,
                 (long long)fx.recs[i].end, (long long)end);
    cr_expect_eq(fx.recs[i].n_events, n, "window %zu has %lld events, expected %lld", i,
                 (long long)fx.recs[i].n_events, (long long)n);
}

static int64_t emit_i(size_t i, unsigned f)
{
    cr_assert_lt(i, fx.n_recs);
    cr_assert_not(fx.recs[i].emit[f].missing, "window %zu field %u is missing", i, f);
    return fx.recs[i].emit[f].u.i;
}

static void expect_str(size_t i, unsigned f, const char *s)
{
    cr_assert_lt(i, fx.n_recs);
    weir_value v = fx.recs[i].emit[f];
    cr_assert_not(v.missing, "window %zu field %u is missing", i, f);
    cr_expect(v.len == strlen(s) && memcmp(v.u.s, s, v.len) == 0,
              "window %zu field %u is \"%.*s\", expected \"%s\"", i, f, (int)v.len, v.u.s, s);
}

TestSuite(window, .fini = teardown);

/* ------------------------------------------------------------------ */
/* Tumbling                                                             */

Test(window, tumbling_count_and_sum)
{
    setup("tumbling 1m emit { n: count(), total: sum(amount) }");
    add(SECONDS(1), 10);
    add(SECONDS(30), 20);
    add(SECONDS(59), 5);
    add(SECONDS(61), 7);
    cr_assert_eq(advance(MINUTES(2)), 2);
    expect_window(0, 0, MINUTES(1), 3);
    cr_expect_eq(emit_i(0, 0), 3);
    cr_expect_eq(emit_i(0, 1), D(35));
    expect_window(1, MINUTES(1), MINUTES(2), 1);
    cr_expect_eq(emit_i(1, 1), D(7));
    cr_expect_eq(fx.recs[0].first_seq, 1);
    cr_expect_eq(fx.recs[0].last_seq, 3);
    cr_expect_eq(fx.recs[1].first_seq, 4);
    cr_expect_eq(fx.recs[1].last_seq, 4);
}

Test(window, tumbling_fires_when_watermark_reaches_end)
{
    setup("tumbling 1m emit { n: count() }");
    add(SECONDS(10), 1);
    cr_expect_eq(weir_window_key_next_deadline(fx.key), MINUTES(1));
    cr_expect_eq(advance(MINUTES(1) - 1), 0);
    cr_expect_eq(fx.n_recs, 0);
    cr_expect_eq(advance(MINUTES(1)), 1);
    expect_window(0, 0, MINUTES(1), 1);
    /* a window fires once */
    cr_expect_eq(advance(MINUTES(5)), 0);
    cr_expect_eq(fx.n_recs, 1);
}

Test(window, tumbling_empty_windows_never_fire)
{
    setup("tumbling 1m emit { n: count() }");
    add(SECONDS(10), 1);
    add(MINUTES(4) + SECONDS(5), 1);
    cr_expect_eq(advance(MINUTES(10)), 2);
    expect_window(0, 0, MINUTES(1), 1);
    expect_window(1, MINUTES(4), MINUTES(5), 1);
}

Test(window, tumbling_aligned_to_epoch_before_1970)
{
    setup("tumbling 1m emit { n: count(), s: window_start(), e: window_end() }");
    add(-1, 1);
    add(0, 1);
    cr_expect_eq(weir_window_key_next_deadline(fx.key), 0);
    advance(MINUTES(1));
    expect_window(0, -MINUTES(1), 0, 1);
    expect_window(1, 0, MINUTES(1), 1);
    cr_expect_eq(emit_i(0, 1), -MINUTES(1));
    cr_expect_eq(emit_i(0, 2), 0);
}

Test(window, tumbling_avg_min_max_first_last)
{
    setup("tumbling 1h emit { a: avg(amount), lo: min(amount), hi: max(amount),"
          " f: first(amount), l: last(amount), q: avg(qty) }");
    add(MINUTES(1), 30);
    add(MINUTES(2), 10);
    add(MINUTES(3), 50);
    add(MINUTES(4), 20);
    fx.ev[F_QTY] = weir_value_int(2);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN); /* a fifth event: 20, qty 2 */
    advance(MINUTES(60));
    expect_window(0, 0, MINUTES(60), 5);
    cr_expect_eq(emit_i(0, 0), D(26));      /* 130 / 5 */
    cr_expect_eq(emit_i(0, 1), D(10));
    cr_expect_eq(emit_i(0, 2), D(50));
    cr_expect_eq(emit_i(0, 3), D(30));
    cr_expect_eq(emit_i(0, 4), D(20));
    cr_expect_eq(emit_i(0, 5), 12000);     /* avg(int) is a decimal: 1.2 */
}

Test(window, tumbling_count_distinct)
{
    setup("tumbling 1m emit { m: count(distinct merchant), c: count(distinct mcc) }");
    add_m(SECONDS(1), 1, "a");
    add_m(SECONDS(2), 1, "b");
    add_m(SECONDS(3), 1, "a");
    add_m(SECONDS(61), 1, "c");
    advance(MINUTES(2));
    cr_expect_eq(emit_i(0, 0), 2);
    cr_expect_eq(emit_i(0, 1), 1);
    cr_expect_eq(emit_i(1, 0), 1);
}

/* ------------------------------------------------------------------ */
/* Sliding                                                              */

Test(window, sliding_count_and_sum_every_window)
{
    setup("sliding 10m every 5m emit { n: count(), total: sum(amount) }");
    add(MINUTES(1), 1);
    add(MINUTES(6), 10);
    add(MINUTES(11), 100);
    cr_expect_eq(weir_window_key_next_deadline(fx.key), MINUTES(5)); /* [-5m, 5m) */
    cr_expect_eq(advance(MINUTES(30)), 4);
    expect_window(0, -MINUTES(5), MINUTES(5), 1);
    expect_window(1, 0, MINUTES(10), 2);
    expect_window(2, MINUTES(5), MINUTES(15), 2);
    expect_window(3, MINUTES(10), MINUTES(20), 1);
    cr_expect_eq(emit_i(0, 1), D(1));
    cr_expect_eq(emit_i(1, 1), D(11));
    cr_expect_eq(emit_i(2, 1), D(110));
    cr_expect_eq(emit_i(3, 1), D(100));
}

Test(window, sliding_fires_step_by_step)
{
    setup("sliding 10m every 5m emit { n: count() }");
    add(MINUTES(7), 1);
    cr_expect_eq(weir_window_key_next_deadline(fx.key), MINUTES(10));
    cr_expect_eq(advance(MINUTES(10)), 1);
    expect_window(0, 0, MINUTES(10), 1);
    cr_expect_eq(weir_window_key_next_deadline(fx.key), MINUTES(15));
    add(MINUTES(12), 1);
    cr_expect_eq(advance(MINUTES(15)), 1);
    expect_window(1, MINUTES(5), MINUTES(15), 2);
    cr_expect_eq(advance(MINUTES(20)), 1);
    expect_window(2, MINUTES(10), MINUTES(20), 1);
    cr_expect(weir_window_key_idle(fx.key));
}

/* min and max leave the window with the pane that held them: the window
 * is recomputed from the panes still in it, never "subtracted". */
Test(window, sliding_min_max_distinct_over_overlap)
{
    setup("sliding 3m every 1m emit { lo: min(amount), hi: max(amount),"
          " m: count(distinct merchant), n: count() }");
    add_m(SECONDS(10), 100, "a");
    add_m(MINUTES(1) + SECONDS(10), 5, "b");
    add_m(MINUTES(2) + SECONDS(10), 50, "a");
    cr_expect_eq(advance(MINUTES(10)), 5);
    /* [-2,1) [-1,2) [0,3) [1,4) [2,5) */
    expect_window(0, -MINUTES(2), MINUTES(1), 1);
    cr_expect_eq(emit_i(0, 0), D(100));
    cr_expect_eq(emit_i(0, 2), 1);
    expect_window(1, -MINUTES(1), MINUTES(2), 2);
    cr_expect_eq(emit_i(1, 0), D(5));
    cr_expect_eq(emit_i(1, 1), D(100));
    cr_expect_eq(emit_i(1, 2), 2);
    expect_window(2, 0, MINUTES(3), 3);
    cr_expect_eq(emit_i(2, 0), D(5));
    cr_expect_eq(emit_i(2, 1), D(100));
    cr_expect_eq(emit_i(2, 2), 2);
    expect_window(3, MINUTES(1), MINUTES(4), 2);
    cr_expect_eq(emit_i(3, 0), D(5));
    cr_expect_eq(emit_i(3, 1), D(50)); /* 100 left with its pane */
    cr_expect_eq(emit_i(3, 2), 2);
    expect_window(4, MINUTES(2), MINUTES(5), 1);
    cr_expect_eq(emit_i(4, 0), D(50));
    cr_expect_eq(emit_i(4, 1), D(50));
    cr_expect_eq(emit_i(4, 2), 1);
}

/* A slide that does not divide the size (a warning, not an error): panes
 * of gcd(10m, 4m) = 2m still put each event in every window it belongs
 * to. */
Test(window, sliding_slide_not_dividing_size)
{
    setup("sliding 10m every 4m emit { n: count() }");
    add(MINUTES(9), 1);
    cr_expect_eq(advance(MINUTES(30)), 3);
    expect_window(0, 0, MINUTES(10), 1);
    expect_window(1, MINUTES(4), MINUTES(14), 1);
    expect_window(2, MINUTES(8), MINUTES(18), 1);
}

Test(window, sliding_first_last_across_panes)
{
    setup("sliding 2m every 1m emit { f: first(merchant), l: last(merchant) }");
    add_m(SECONDS(10), 1, "one");
    add_m(SECONDS(50), 1, "two");
    add_m(MINUTES(1) + SECONDS(20), 1, "three");
    advance(MINUTES(5));
    cr_assert_eq(fx.n_recs, 3);
    expect_str(0, 0, "one");
    expect_str(0, 1, "two");
    expect_str(1, 0, "one");
    expect_str(1, 1, "three");
    expect_str(2, 0, "three");
    expect_str(2, 1, "three");
}

/* ------------------------------------------------------------------ */
/* Sessions                                                             */

Test(window, session_closes_after_gap)
{
    setup("session gap 5m emit { n: count(), s: window_start(), e: window_end() }");
    add(MINUTES(0), 1);
    add(MINUTES(2), 1);
    add(MINUTES(4), 1);
    cr_expect_eq(weir_window_key_next_deadline(fx.key), MINUTES(9));
    cr_expect_eq(advance(MINUTES(9) - 1), 0);
    cr_expect_eq(advance(MINUTES(9)), 1);
    expect_window(0, 0, MINUTES(9), 3);
    cr_expect_eq(emit_i(0, 1), 0);
    cr_expect_eq(emit_i(0, 2), MINUTES(9));
    cr_expect(weir_window_key_idle(fx.key));
}

/* Each event less than the gap after the previous one keeps the session
 * open, bridging it far beyond one gap; an event exactly one gap after the
 * last starts a new session. */
Test(window, session_merges_chain_and_splits_at_gap)
{
    setup("session gap 5m emit { n: count(), total: sum(amount) }");
    for (int i = 0; i < 6; i++)
        add(MINUTES(4 * i), 1); /* 0, 4, ..., 20 min */
    add(MINUTES(25), 100);     /* exactly 20m + gap: a new session */
    cr_expect_eq(weir_window_key_next_deadline(fx.key), MINUTES(25));
    cr_expect_eq(advance(MINUTES(25)), 1);
    expect_window(0, 0, MINUTES(25), 6);
    cr_expect_eq(emit_i(0, 1), D(6));
    cr_expect_eq(weir_window_key_next_deadline(fx.key), MINUTES(30));
    cr_expect_eq(advance(MINUTES(30)), 1);
    expect_window(1, MINUTES(25), MINUTES(30), 1);
    cr_expect_eq(emit_i(1, 1), D(100));
}

Test(window, session_two_pending_fire_in_order)
{
    setup("session gap 1m emit { n: count() }");
    add(SECONDS(0), 1);
    add(SECONDS(30), 1);
    add(MINUTES(10), 1);
    cr_expect_eq(advance(INT64_MAX), 2);
    expect_window(0, 0, SECONDS(90), 2);
    expect_window(1, MINUTES(10), MINUTES(11), 1);
}

Test(window, session_string_aggregates)
{
    setup("session gap 1m emit { lo: min(merchant), hi: max(merchant),"
          " f: first(merchant), l: last(merchant), m: count(distinct merchant) }");
    add_m(SECONDS(1), 1, "kiwi");
    add_m(SECONDS(2), 1, "apple");
    add_m(SECONDS(3), 1, "zucchini");
    add_m(SECONDS(4), 1, "melon");
    advance(MINUTES(5));
    cr_assert_eq(fx.n_recs, 1);
    expect_str(0, 0, "apple");
    expect_str(0, 1, "zucchini");
    expect_str(0, 2, "kiwi");
    expect_str(0, 3, "melon");
    cr_expect_eq(emit_i(0, 4), 4);
}

/* ------------------------------------------------------------------ */
/* Count windows                                                        */

Test(window, count_window_without_every)
{
    setup("count 3 emit { n: count(), total: sum(amount), s: window_start(), e: window_end() }");
    for (int i = 1; i <= 8; i++)
        add(SECONDS(i), i);
    cr_assert_eq(fx.n_recs, 2); /* at the 3rd and 6th event */
    cr_expect_eq(emit_i(0, 1), D(1 + 2 + 3));
    cr_expect_eq(emit_i(1, 1), D(4 + 5 + 6));
    cr_expect_eq(fx.recs[1].first_seq, 4);
    cr_expect_eq(fx.recs[1].last_seq, 6);
    expect_window(1, SECONDS(4), SECONDS(6) + 1, 3);
    /* two events wait for the third; time does not fire count windows */
    cr_expect_eq(advance(INT64_MAX), 0);
    cr_expect_not(weir_window_key_idle(fx.key));
    cr_expect_eq(weir_window_key_next_deadline(fx.key), INT64_MAX);
    add(SECONDS(9), 9);
    cr_assert_eq(fx.n_recs, 3);
    cr_expect_eq(emit_i(2, 1), D(7 + 8 + 9));
    cr_expect(weir_window_key_idle(fx.key));
}

Test(window, count_window_with_every)
{
    setup("count 4 every 2 emit { n: count(), total: sum(amount), lo: min(amount) }");
    for (int i = 1; i <= 7; i++)
        add(SECONDS(i), i);
    /* fires at events 2, 4, 6 over the last up to 4 */
    cr_assert_eq(fx.n_recs, 3);
    cr_expect_eq(emit_i(0, 0), 2);
    cr_expect_eq(emit_i(0, 1), D(1 + 2));
    cr_expect_eq(emit_i(1, 0), 4);
    cr_expect_eq(emit_i(1, 1), D(1 + 2 + 3 + 4));
    cr_expect_eq(emit_i(2, 0), 4);
    cr_expect_eq(emit_i(2, 1), D(3 + 4 + 5 + 6));
    cr_expect_eq(emit_i(2, 2), D(3));
    cr_expect_eq(fx.recs[2].first_seq, 3);
    cr_expect_eq(fx.recs[2].last_seq, 6);
}

/* every that does not divide the size: panes of one event. */
Test(window, count_window_every_not_dividing)
{
    setup("count 5 every 2 emit { total: sum(amount) }");
    for (int i = 1; i <= 8; i++)
        add(SECONDS(i), i);
    cr_assert_eq(fx.n_recs, 4); /* events 2, 4, 6, 8 */
    cr_expect_eq(emit_i(0, 0), D(1 + 2));
    cr_expect_eq(emit_i(1, 0), D(1 + 2 + 3 + 4));
    cr_expect_eq(emit_i(2, 0), D(2 + 3 + 4 + 5 + 6));
    cr_expect_eq(emit_i(3, 0), D(4 + 5 + 6 + 7 + 8));
}

/* Panes of one event in a ring that wraps around many times, with the
 * string copies travelling in their slots. */
Test(window, count_window_ring_wraps)
{
    setup("count 5 every 1 emit { t: sum(amount), f: first(merchant), l: last(merchant) }");
    char name[16], expect[16];
    for (int i = 1; i <= 40; i++) {
        snprintf(name, sizeof name, "m%d", i);
        add_m(SECONDS(i), i, name);
        memset(name, '?', sizeof name);
    }
    cr_assert_eq(fx.n_recs, 40);
    for (int i = 5; i <= 40; i++) {
        size_t r = (size_t)i - 1;
        cr_expect_eq(emit_i(r, 0), D(5 * i - 10), "window at event %d", i);
        snprintf(expect, sizeof expect, "m%d", i - 4);
        expect_str(r, 1, expect);
        snprintf(expect, sizeof expect, "m%d", i);
        expect_str(r, 2, expect);
    }
}

/* ------------------------------------------------------------------ */
/* Every aggregate in every kind of window                              */

#define ALL_AGGS                                                                   \
    " emit { n: count(), c: count(qty), s: sum(amount), a: avg(amount),"          \
    " lo: min(amount), hi: max(amount), f: first(merchant), l: last(merchant),"   \
    " d: count(distinct merchant), q: avg(score) }"

/* Three events in one window: 30 at x, 10 at y, 20 at x. */
static void add_three(void)
{
    add_m(MINUTES(1), 30, "x");
    add_m(MINUTES(2), 10, "y");
    add_m(MINUTES(3), 20, "x");
}

static void expect_all_aggs(size_t r)
{
    expect_window(r, fx.recs[r].start, fx.recs[r].end, 3);
    cr_expect_eq(emit_i(r, 0), 3);
    cr_expect_eq(emit_i(r, 1), 3);
    cr_expect_eq(emit_i(r, 2), D(60));
    cr_expect_eq(emit_i(r, 3), D(20));
    cr_expect_eq(emit_i(r, 4), D(10));
    cr_expect_eq(emit_i(r, 5), D(30));
    expect_str(r, 6, "x");
    expect_str(r, 7, "x");
    cr_expect_eq(emit_i(r, 8), 2);
    cr_expect(!fx.recs[r].emit[9].missing && fx.recs[r].emit[9].u.f == 0.5);
}

Test(window, all_aggregates_tumbling)
{
    setup("tumbling 1h" ALL_AGGS);
    add_three();
    cr_assert_eq(advance(MINUTES(60)), 1);
    expect_window(0, 0, MINUTES(60), 3);
    expect_all_aggs(0);
}

Test(window, all_aggregates_sliding)
{
    setup("sliding 1h every 30m" ALL_AGGS);
    add_m(MINUTES(1), 30, "x");
    add_m(MINUTES(2), 10, "y");
    add_m(MINUTES(31), 20, "x");
    cr_assert_eq(advance(MINUTES(60)), 2);
    expect_window(0, -MINUTES(30), MINUTES(30), 2);
    expect_window(1, 0, MINUTES(60), 3);
    expect_all_aggs(1); /* merged from the panes [0,30m) and [30m,60m) */
    cr_assert_eq(advance(MINUTES(90)), 1);
    expect_window(2, MINUTES(30), MINUTES(90), 1);
}

Test(window, all_aggregates_session)
{
    setup("session gap 10m" ALL_AGGS);
    add_three();
    cr_assert_eq(advance(MINUTES(13)), 1);
    expect_window(0, MINUTES(1), MINUTES(13), 3);
    expect_all_aggs(0);
}

Test(window, all_aggregates_count)
{
    setup("count 3" ALL_AGGS);
    add_three();
    cr_assert_eq(fx.n_recs, 1);
    expect_window(0, MINUTES(1), MINUTES(3) + 1, 3);
    expect_all_aggs(0);
}

/* ------------------------------------------------------------------ */
/* where, when, emit                                                    */

Test(window, when_filters_windows)
{
    setup("tumbling 1m when count() >= 2 and sum(amount) > 10 emit { n: count() }");
    add(SECONDS(1), 100); /* [0,1m): one event */
    add(MINUTES(1), 3);   /* [1m,2m): two small ones */
    add(MINUTES(1) + 1, 3);
    add(MINUTES(2), 8);   /* [2m,3m): passes */
    add(MINUTES(2) + 1, 8);
    cr_expect_eq(advance(MINUTES(3)), 1);
    cr_assert_eq(fx.n_recs, 1);
    expect_window(0, MINUTES(2), MINUTES(3), 2);
    cr_expect(weir_window_key_idle(fx.key));
}

Test(window, where_filters_events_before_aggregation)
{
    setup("tumbling 1m where amount >= 10 and merchant != \"test\""
          " emit { n: count(), t: sum(amount) }");
    add(SECONDS(1), 50);
    event(SECONDS(2), D(5));
    cr_expect_eq(push(), WEIR_WINDOW_FILTERED);
    event(SECONDS(3), D(500));
    fx.ev[F_MERCHANT] = str("test");
    cr_expect_eq(push(), WEIR_WINDOW_FILTERED);
    /* a window whose events were all filtered out does not exist */
    event(MINUTES(1) + SECONDS(1), D(1));
    cr_expect_eq(push(), WEIR_WINDOW_FILTERED);
    cr_expect_eq(advance(MINUTES(5)), 1);
    expect_window(0, 0, MINUTES(1), 1);
    cr_expect_eq(emit_i(0, 1), D(50));
}

Test(window, filtered_only_key_is_idle)
{
    setup("tumbling 1m where amount > 1000 emit { n: count() }");
    event(SECONDS(1), D(5));
    cr_expect_eq(push(), WEIR_WINDOW_FILTERED);
    cr_expect(weir_window_key_idle(fx.key));
    cr_expect_eq(weir_window_key_next_deadline(fx.key), INT64_MAX);
    cr_expect_eq(advance(INT64_MAX), 0);
}

Test(window, emit_key_and_bounds)
{
    setup("tumbling 10m when count() > 0 emit { card, n: count(), big: max(amount) > 100,"
          " start: window_start(), end: window_end(), u: upper(card) }");
    add(MINUTES(12), 200);
    advance(MINUTES(20));
    cr_assert_eq(fx.n_recs, 1);
    expect_str(0, 0, "c1");
    cr_expect_eq(emit_i(0, 1), 1);
    cr_expect(fx.recs[0].emit[2].u.b);
    cr_expect_eq(emit_i(0, 3), MINUTES(10));
    cr_expect_eq(emit_i(0, 4), MINUTES(20));
    expect_str(0, 5, "C1");
    cr_expect_eq(fx.recs[0].key.len, 2);
    cr_expect_eq(memcmp(fx.recs[0].key.u.s, "c1", 2), 0);
}

Test(window, no_emit_body_reports_aggs_only)
{
    setup("tumbling 1m when sum(amount) > 1");
    add(SECONDS(1), 5);
    advance(MINUTES(1));
    cr_assert_eq(fx.n_recs, 1);
    cr_expect_eq(fx.recs[0].n_emit, 0);
    cr_expect_eq(fx.recs[0].n_aggs, 1);
}

/* ------------------------------------------------------------------ */
/* Missing values                                                       */

Test(window, aggregates_of_nothing)
{
    setup("tumbling 1m emit { a: avg(score), lo: min(score), f: first(merchant),"
          " c: count(score), s: sum(score), n: count(), d: count(distinct score) }");
    event(SECONDS(1), D(1));
    fx.ev[F_SCORE] = weir_value_missing();
    fx.ev[F_MERCHANT] = weir_value_missing();
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
    advance(MINUTES(1));
    cr_assert_eq(fx.n_recs, 1);
    cr_expect(fx.recs[0].emit[0].missing, "avg of nothing is missing");
    cr_expect(fx.recs[0].emit[1].missing, "min of nothing is missing");
    cr_expect(fx.recs[0].emit[2].missing, "first of nothing is missing");
    cr_expect_eq(emit_i(0, 3), 0);
    cr_expect(!fx.recs[0].emit[4].missing && fx.recs[0].emit[4].u.f == 0.0);
    cr_expect_eq(emit_i(0, 5), 1);
    cr_expect_eq(emit_i(0, 6), 0);
}

Test(window, sum_overflow_is_missing)
{
    setup("sliding 2m every 1m emit { s: sum(qty), a: avg(qty), n: count() }");
    event(SECONDS(1), D(1));
    fx.ev[F_QTY] = weir_value_int(INT64_MAX);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
    event(MINUTES(1) + SECONDS(1), D(1));
    fx.ev[F_QTY] = weir_value_int(1);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
    advance(MINUTES(4));
    cr_assert_eq(fx.n_recs, 3);
    cr_expect_eq(emit_i(0, 0), INT64_MAX);
    cr_expect(fx.recs[1].emit[0].missing, "overflowing sum over two panes is missing");
    cr_expect(fx.recs[1].emit[1].missing);
    cr_expect_eq(emit_i(1, 2), 2);
    cr_expect_eq(emit_i(2, 0), 1);
}

/* ------------------------------------------------------------------ */
/* Memory                                                               */

/* min/max/first/last keep strings and the key beyond the event buffer. */
Test(window, strings_outlive_the_input_buffer)
{
    setup("sliding 2m every 1m emit { card, lo: min(merchant), hi: max(merchant),"
          " f: first(merchant), l: last(merchant), n: count(distinct merchant) }");
    static const char *const names[] = {"mango", "banana", "cherry", "pear"};
    char card[16], merchant[32];
    fx_card = "card-7";
    for (int i = 0; i < 4; i++) {
        snprintf(card, sizeof card, "card-7");
        snprintf(merchant, sizeof merchant, "%s", names[i]);
        event(SECONDS(10 + 20 * i), D(1));
        fx.ev[F_CARD] = str(card);
        fx.ev[F_MERCHANT] = str(merchant);
        cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
        memset(card, 'X', sizeof card);
        memset(merchant, 'Y', sizeof merchant);
    }
    /* events at 10s, 30s, 50s, 70s: [-1m,1m) [0,2m) [1m,3m) */
    advance(MINUTES(10));
    cr_assert_eq(fx.n_recs, 3);
    expect_str(0, 0, "card-7");
    expect_str(0, 1, "banana");
    expect_str(0, 2, "mango");
    expect_str(0, 3, "mango");
    expect_str(0, 4, "cherry");
    cr_expect_eq(emit_i(0, 5), 3);
    expect_str(1, 1, "banana");
    expect_str(1, 2, "pear");
    expect_str(1, 4, "pear");
    expect_str(2, 1, "pear");
    expect_str(2, 3, "pear");
}

Test(window, idle_after_all_windows_fired)
{
    setup("sliding 1h every 5m emit { n: count(), t: sum(amount) }");
    size_t empty = weir_window_key_bytes(fx.key);
    cr_expect(weir_window_key_idle(fx.key));
    for (int i = 0; i < 30; i++)
        add(MINUTES(2 * i), i);
    cr_expect_not(weir_window_key_idle(fx.key));
    cr_expect_gt(weir_window_key_bytes(fx.key), empty);
    /* the last event (58m) is in windows up to [55m, 115m) */
    advance(MINUTES(115) - 1);
    cr_expect_not(weir_window_key_idle(fx.key));
    advance(MINUTES(115));
    cr_expect(weir_window_key_idle(fx.key));
    cr_expect_eq(weir_window_key_next_deadline(fx.key), INT64_MAX);
    /* 12 windows per event, from [-55m, 5m) to [55m, 115m) */
    cr_expect_eq(fx.n_recs, 23);
    cr_expect_eq(emit_i(11, 0), 30);
    /* the key keeps its ring of panes for reuse: the same burst again
     * takes no more memory */
    size_t after_one = weir_window_key_bytes(fx.key);
    for (int i = 0; i < 30; i++)
        add(MINUTES(200 + 2 * i), i);
    advance(INT64_MAX);
    cr_expect(weir_window_key_idle(fx.key));
    cr_expect_eq(weir_window_key_bytes(fx.key), after_one);
}

Test(window, key_bytes_follow_distinct_sets)
{
    setup("tumbling 1m emit { m: count(distinct merchant) }");
    char name[16];
    add_m(SECONDS(1), 1, "m0");
    size_t one = weir_window_key_bytes(fx.key);
    for (int i = 1; i < 50; i++) {
        snprintf(name, sizeof name, "m%d", i);
        add_m(SECONDS(1), 1, name);
    }
    size_t many = weir_window_key_bytes(fx.key);
    cr_expect_gt(many, one);
    advance(MINUTES(1));
    cr_expect_eq(emit_i(0, 0), 50);
    cr_expect_lt(weir_window_key_bytes(fx.key), many);
}

Test(window, late_events_are_refused)
{
    setup("tumbling 1m emit { n: count() }");
    add(MINUTES(3), 1);
    event(MINUTES(2), D(1));
    cr_expect_eq(push(), WEIR_WINDOW_LATE, "older than an event already taken");
    advance(MINUTES(5));
    event(MINUTES(4) + SECONDS(59), D(1));
    cr_expect_eq(push(), WEIR_WINDOW_LATE, "behind the watermark");
    add(MINUTES(5), 1); /* at the watermark: on time */
    cr_expect_eq(advance(MINUTES(6)), 1);
    expect_window(1, MINUTES(5), MINUTES(6), 1);
    /* a lower watermark is ignored */
    cr_expect_eq(advance(MINUTES(1)), 0);
    event(MINUTES(5) + 1, D(1));
    cr_expect_eq(push(), WEIR_WINDOW_LATE);
}

Test(window, flush_at_int64_max_fires_everything)
{
    setup("sliding 10m every 5m emit { n: count() }");
    add(MINUTES(1), 1);
    add(MINUTES(100), 1);
    cr_expect_eq(advance(INT64_MAX), 4);
    cr_expect(weir_window_key_idle(fx.key));
}

Test(window, keys_share_a_runtime_and_stay_apart)
{
    setup("tumbling 1m emit { card, t: sum(amount) }");
    weir_window_key *k2 = weir_window_key_new(fx.rt);
    cr_assert_not_null(k2);
    add(SECONDS(1), 5);
    event(SECONDS(2), D(7));
    fx.ev[F_CARD] = str("c2");
    cr_assert_eq(weir_window_add(fx.rt, k2, fx.ev, SECONDS(2), 99, record, NULL),
                 WEIR_WINDOW_TAKEN);
    add(SECONDS(3), 5);
    weir_value c2 = str("c2");
    cr_expect_eq(weir_window_advance(fx.rt, k2, &c2, MINUTES(1), record, NULL), 1);
    cr_expect_eq(advance(MINUTES(1)), 1);
    expect_str(0, 0, "c2");
    cr_expect_eq(emit_i(0, 1), D(7));
    expect_str(1, 0, "c1");
    cr_expect_eq(emit_i(1, 1), D(10));
    /* a key freed with windows pending gives its panes back */
    cr_assert_eq(weir_window_add(fx.rt, k2, fx.ev, MINUTES(2), 100, record, NULL),
                 WEIR_WINDOW_TAKEN);
    cr_expect_not(weir_window_key_idle(k2));
    weir_window_key_free(fx.rt, k2);
    add(MINUTES(2), 1);
    cr_expect_eq(advance(MINUTES(3)), 1);
    cr_expect_eq(emit_i(2, 1), D(1));
}

/* Once panes circulate through the free list, events and firings do not
 * allocate. The loop uses no Criterion assertion (which may allocate) and
 * a callback that only counts. */
static void count_fired(const weir_window_fired *w, void *user)
{
    (void)w;
    ++*(size_t *)user;
}

Test(window, steady_state_does_not_allocate)
{
    setup("sliding 10m every 5m when count() > 0 emit { card, n: count(), t: sum(amount),"
          " lo: min(merchant), l: last(merchant), u: upper(card) }");
    weir_millis t = 0;
    size_t fired = 0, refused = 0;
    for (int i = 0; i < 2200; i++, t += SECONDS(30)) {
        if (i == 200) { /* warmed up: panes recycle, string copies are grown */
            alloc_counting = 1;
            alloc_count = 0;
            fired = 0;
        }
        event(t, D(i));
        fx.ev[F_MERCHANT] = str(i % 2 ? "merchant-a" : "merchant-bb");
        refused += weir_window_add(fx.rt, fx.key, fx.ev, t, ++fx.seq, count_fired, &fired) !=
                   WEIR_WINDOW_TAKEN;
        weir_window_advance(fx.rt, fx.key, NULL, t, count_fired, &fired);
    }
    alloc_counting = 0;
    cr_expect_eq(refused, 0);
    cr_expect_eq(fired, 2000 / 10, "%zu fired", fired); /* one window per 5 minutes */
#if WEIR_TEST_COUNT_ALLOCS
    cr_expect_eq(alloc_count, 0, "%ld allocations in steady state", alloc_count);
#endif
}

/* ------------------------------------------------------------------ */
/* Layout: packed panes, the inline first slot, ring growth            */

/* The byte counts window_run.c's layout is made of, for exact
 * weir_window_key_bytes() figures. A key's fields: next_k (or count
 * windows' since_fire), deadline, last_ts, watermark, bytes, three ring
 * positions and has_key, padded to 8; its first pane follows in the same
 * allocation. A pane: index, n_events, min_ts, max_ts, first_seq, last_seq,
 * then each aggregate's state packed to its kind (a word holding n and the
 * overflow flag, then what the kind keeps), then one string copy (pointer,
 * capacity) per min/max/first/last over strings. */
#define ROUND8(x) (((x) + 7) / 8 * 8)
#define KEY_FIELDS \
    ROUND8(sizeof(__int128) + 3 * sizeof(int64_t) + sizeof(size_t) + 3 * sizeof(uint32_t) + \
           sizeof(bool))
#define PANE_HEADER (6 * sizeof(int64_t))
#define PACKED_COUNT sizeof(uint64_t)
#define PACKED_SUM (sizeof(uint64_t) + sizeof(int64_t))
#define PACKED_VALUE (sizeof(uint64_t) + sizeof(weir_value))
#define STR_COPY (sizeof(char *) + sizeof(size_t))
/* a string copy's first buffer */
#define STR_BUF_MIN 16

/* card_velocity's shape: one malloc of 136 bytes (a 144-byte chunk) per
 * key with one pane, which is what a million active cards hold. */
Test(window, count_and_sum_key_with_one_pane_is_one_136_byte_block)
{
    setup("sliding 1h every 5m emit { n: count(), t: sum(amount) }");
    size_t one_block = KEY_FIELDS + PANE_HEADER + PACKED_COUNT + PACKED_SUM;
    cr_assert_eq(one_block, 136);
    cr_expect_eq(weir_window_key_bytes(fx.key), one_block);
    add(MINUTES(1), 5);
    cr_expect_eq(weir_window_key_bytes(fx.key), one_block, "%zu bytes",
                 weir_window_key_bytes(fx.key));
    cr_expect_eq(advance(INT64_MAX), 12);
    cr_expect_eq(emit_i(11, 1), D(5));
    cr_expect(weir_window_key_idle(fx.key));
    cr_expect_eq(weir_window_key_bytes(fx.key), one_block);

    /* a new key and its first pane: one allocation */
    alloc_counting = 1;
    alloc_count = 0;
    weir_window_key *k2 = weir_window_key_new(fx.rt);
    weir_window_status st = k2 ? weir_window_add(fx.rt, k2, event(MINUTES(1), D(1)),
                                                 MINUTES(1), 1, NULL, NULL)
                               : WEIR_WINDOW_ERROR;
    alloc_counting = 0;
    cr_assert_eq(st, WEIR_WINDOW_TAKEN);
#if WEIR_TEST_COUNT_ALLOCS
    cr_expect_eq(alloc_count, 1, "%ld allocations", alloc_count);
#endif
    weir_window_key_free(fx.rt, k2);
}

/* count 8 bytes, sum and avg 16, min/max/first/last 24, count distinct
 * 16, string copies 16 each. */
Test(window, every_aggregate_kind_is_packed_to_its_size)
{
    setup("tumbling 1m emit { n: count(), c: count(qty), s: sum(score), a: avg(qty),"
          " lo: min(mcc), hi: max(merchant), f: first(card), l: last(score),"
          " d: count(distinct merchant) }");
    size_t pane = PANE_HEADER + 2 * PACKED_COUNT + 2 * PACKED_SUM + 4 * PACKED_VALUE +
                  (sizeof(uint64_t) + sizeof(void *)) + 2 * STR_COPY;
    cr_expect_eq(weir_window_key_bytes(fx.key), KEY_FIELDS + pane);
    add_m(SECONDS(1), 1, "m");
    /* max(merchant) and first(card) copied their strings; one set member */
    cr_expect_eq(weir_window_key_bytes(fx.key), KEY_FIELDS + pane + 2 * STR_BUF_MIN + 32);
    advance(MINUTES(1));
    cr_expect_eq(weir_window_key_bytes(fx.key), KEY_FIELDS + pane + 2 * STR_BUF_MIN);
}

/* Strings of ten events, one per 5-minute pane, each a pane's only event. */
static const char *const ring_names[10] = {"kiwi",   "apple", "plum",  "fig",    "quince",
                                           "banana", "date",  "melon", "cherry", "lime"};

#define RING_RULE                                                                        \
    "sliding 20m every 5m emit { n: count(), t: sum(amount), lo: min(merchant),"        \
    " hi: max(merchant), f: first(merchant), l: last(merchant) }"
#define RING_PANE (PANE_HEADER + PACKED_COUNT + PACKED_SUM + 4 * PACKED_VALUE + 4 * STR_COPY)

/* Adds ring_names[i] at 30m + 5m*i + 1s (pane 6 + i) with amount i + 1,
 * from a buffer overwritten afterwards. */
static void add_ring_event(int i)
{
    char merchant[32];
    snprintf(merchant, sizeof merchant, "%s", ring_names[i]);
    event(MINUTES(30 + 5 * i) + SECONDS(1), D(i + 1));
    fx.ev[F_MERCHANT] = str(merchant);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
    memset(merchant, 'Y', sizeof merchant);
}

/* The window [5k, 5k+20) minutes, over ring_names[lo..hi], is record r. */
static void expect_ring_window(size_t r, int k)
{
    int lo = k - 6 < 0 ? 0 : k - 6, hi = k - 3 > 9 ? 9 : k - 3;
    expect_window(r, MINUTES(5 * k), MINUTES(5 * k + 20), hi - lo + 1);
    int64_t sum = 0;
    const char *min = ring_names[lo], *max = ring_names[lo];
    for (int i = lo; i <= hi; i++) {
        sum += D(i + 1);
        min = strcmp(ring_names[i], min) < 0 ? ring_names[i] : min;
        max = strcmp(ring_names[i], max) > 0 ? ring_names[i] : max;
    }
    cr_expect_eq(emit_i(r, 0), hi - lo + 1, "window %d", k);
    cr_expect_eq(emit_i(r, 1), sum, "window %d", k);
    expect_str(r, 2, min);
    expect_str(r, 3, max);
    expect_str(r, 4, ring_names[lo]);
    expect_str(r, 5, ring_names[hi]);
}

/* Saves key, restores it, checks the restored key saves the same bytes,
 * frees key and returns the restored one. */
static weir_window_key *round_trip(weir_window_key *key)
{
    weir_value card = str(fx_card);
    snap_out o, again;
    snap_out_init(&o);
    snap_out_init(&again);
    cr_assert_eq(weir_window_key_save(fx.rt, key, &card, &o), 0);
    snap_in in;
    snap_in_init(&in, o.buf, o.len);
    weir_window_key *back = weir_window_key_load(fx.rt, &in);
    cr_assert_not_null(back, "restore failed: %s", in.error);
    cr_assert_eq(snap_in_left(&in), 0);
    cr_assert_eq(weir_window_key_save(fx.rt, back, &card, &again), 0);
    cr_expect(again.len == o.len && memcmp(again.buf, o.buf, o.len) == 0,
              "the restored key saves other bytes");
    cr_expect_eq(weir_window_key_next_deadline(back), weir_window_key_next_deadline(key));
    cr_expect_eq(weir_window_key_idle(back), weir_window_key_idle(key));
    snap_out_free(&o);
    snap_out_free(&again);
    weir_window_key_free(fx.rt, key);
    return back;
}

/* One pane in the inline slot, then ten at once: the ring grows to 16
 * slots in a block of its own (keeping the inline slot, whose string
 * copies move with its pane), windows fire over panes that crossed the
 * move, and once it drains the ring and its copies are reused. With
 * `restore`, the key is saved and restored halfway through firing. */
static void ring_scenario(bool restore)
{
    setup(RING_RULE);
    add_m(MINUTES(2), 1, "kiwi");
    size_t one = KEY_FIELDS + RING_PANE + 4 * STR_BUF_MIN;
    cr_expect_eq(weir_window_key_bytes(fx.key), one);
    cr_expect_eq(advance(MINUTES(25)), 4);
    cr_expect(weir_window_key_idle(fx.key));
    for (int i = 0; i < 10; i++)
        add_ring_event(i);
    /* 1 -> 2 -> 4 -> 8 -> 16 slots; the first pane reused the inline
     * slot's copies, the other nine have four each */
    cr_expect_eq(weir_window_key_bytes(fx.key), one + 16 * RING_PANE + 9 * 4 * STR_BUF_MIN,
                 "%zu bytes", weir_window_key_bytes(fx.key));
    size_t grown = weir_window_key_bytes(fx.key);
    weir_millis wm = MINUTES(30);
    for (; wm <= MINUTES(50); wm += MINUTES(5))
        advance(wm);
    if (restore) {
        fx.key = round_trip(fx.key);
        /* panes 7..15 are left: the ring grows as they are appended,
         * each with its four string copies */
        cr_expect_eq(weir_window_key_bytes(fx.key), one + 16 * RING_PANE + 8 * 4 * STR_BUF_MIN,
                     "%zu bytes", weir_window_key_bytes(fx.key));
    }
    for (; wm <= MINUTES(95); wm += MINUTES(5))
        advance(wm);
    cr_assert_eq(fx.n_recs, 4 + 13);
    for (int k = 3; k <= 15; k++)
        expect_ring_window(4 + (size_t)(k - 3), k);
    cr_expect(weir_window_key_idle(fx.key));

    /* drained: a pane at a time again, in the same ring (the next slot
     * never held a pane, so it gets its string copies) */
    size_t before = weir_window_key_bytes(fx.key);
    if (!restore)
        cr_expect_eq(before, grown);
    add_m(MINUTES(100), 3, "zebra");
    add_m(MINUTES(101), 4, "ant");
    cr_expect_eq(advance(MINUTES(120)), 4);
    cr_expect_eq(emit_i(4 + 13 + 3, 1), D(7));
    expect_str(4 + 13 + 3, 2, "ant");
    expect_str(4 + 13 + 3, 3, "zebra");
    expect_str(4 + 13 + 3, 4, "zebra");
    expect_str(4 + 13 + 3, 5, "ant");
    cr_expect_eq(weir_window_key_bytes(fx.key), before + 4 * STR_BUF_MIN);
}

Test(window, ring_grows_past_the_inline_slot_and_drains)
{
    ring_scenario(false);
}

Test(window, ring_grown_key_with_strings_survives_a_snapshot)
{
    ring_scenario(true);
}

Test(window, one_pane_key_with_strings_survives_a_snapshot)
{
    setup(RING_RULE);
    char merchant[16] = "pear";
    event(MINUTES(2), D(3));
    fx.ev[F_MERCHANT] = str(merchant);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
    size_t bytes = weir_window_key_bytes(fx.key);
    fx.key = round_trip(fx.key);
    memset(merchant, 'Y', sizeof merchant);
    cr_expect_eq(weir_window_key_bytes(fx.key), bytes);
    cr_expect_eq(advance(MINUTES(20)), 4);
    for (size_t r = 0; r < 4; r++) {
        cr_expect_eq(emit_i(r, 1), D(3));
        for (unsigned f = 2; f < 6; f++)
            expect_str(r, f, "pear");
    }
}

/* A count window keeps its position between firings in the room time
 * windows use for the next window: it must survive a snapshot. */
Test(window, count_window_position_survives_a_snapshot)
{
    setup("count 4 every 2 emit { n: count(), t: sum(amount) }");
    add(SECONDS(1), 1);
    add(SECONDS(2), 2); /* fires [1, 2] */
    add(SECONDS(3), 3);
    cr_assert_eq(fx.n_recs, 1);
    fx.key = round_trip(fx.key);
    add(SECONDS(4), 4); /* the second since the last firing: fires [1..4] */
    cr_assert_eq(fx.n_recs, 2);
    cr_expect_eq(emit_i(1, 0), 4);
    cr_expect_eq(emit_i(1, 1), D(10));
    add(SECONDS(5), 5);
    cr_expect_eq(fx.n_recs, 2);
}

Test(window, count_distinct_sets_survive_a_snapshot_with_their_bytes)
{
    setup("tumbling 1m emit { m: count(distinct merchant), n: count() }");
    char name[16];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "m%d", i % 40);
        add_m(SECONDS(1), 1, name);
    }
    size_t bytes = weir_window_key_bytes(fx.key);
    fx.key = round_trip(fx.key);
    cr_expect_eq(weir_window_key_bytes(fx.key), bytes);
    cr_expect_eq(advance(MINUTES(1)), 1);
    cr_expect_eq(emit_i(0, 0), 40);
    cr_expect_eq(emit_i(0, 1), 50);
    cr_expect_eq(weir_window_key_bytes(fx.key), bytes - 40 * 32);
}

/* The overflow flag shares a word with n in a pane: a sum that overflows
 * within one pane stays missing, through a snapshot too. */
Test(window, sum_overflow_within_a_pane_is_kept)
{
    setup("tumbling 1m emit { s: sum(qty), n: count(qty) }");
    event(SECONDS(1), D(1));
    fx.ev[F_QTY] = weir_value_int(INT64_MAX);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
    event(SECONDS(2), D(1));
    fx.ev[F_QTY] = weir_value_int(1);
    cr_assert_eq(push(), WEIR_WINDOW_TAKEN);
    fx.key = round_trip(fx.key);
    cr_assert_eq(advance(MINUTES(1)), 1);
    cr_expect(fx.recs[0].emit[0].missing, "an overflowing sum is missing");
    cr_expect_eq(emit_i(0, 1), 2);
}

/* A pane packs n without a sign (it counts events): a snapshot with a
 * negative one is refused, not restored as something else. */
Test(window, negative_count_in_a_snapshot_is_refused)
{
    setup("tumbling 1m emit { n: count() }");
    snap_out o;
    snap_out_init(&o);
    snap_put_u8(&o, 0);                             /* no key */
    snap_put_u64(&o, (uint64_t)(INT64_MIN * 4ull)); /* next window: none fired */
    snap_put_u64(&o, UINT64_MAX);
    snap_put_time(&o, SECONDS(1)); /* last_ts */
    snap_put_time(&o, INT64_MIN);  /* watermark */
    snap_put_svar(&o, 0);          /* since_fire */
    snap_put_uvar(&o, 1);          /* one pane */
    snap_put_svar(&o, 0);          /* index */
    snap_put_svar(&o, 1);          /* n_events */
    snap_put_time(&o, SECONDS(1));
    snap_put_time(&o, SECONDS(1));
    snap_put_uvar(&o, 1);
    snap_put_uvar(&o, 1);
    size_t state = o.len;
    snap_put_svar(&o, 1); /* count: n, overflow */
    snap_put_u8(&o, 0);
    cr_assert_not(o.failed);
    snap_in in;
    snap_in_init(&in, o.buf, o.len);
    weir_window_key *k = weir_window_key_load(fx.rt, &in);
    cr_assert_not_null(k, "the well-formed snapshot is refused: %s", in.error);
    weir_window_key_free(fx.rt, k);
    o.len = state;
    snap_put_svar(&o, -1);
    snap_put_u8(&o, 0);
    snap_in_init(&in, o.buf, o.len);
    cr_expect_null(weir_window_key_load(fx.rt, &in));
    cr_expect(strstr(in.error, "bad aggregate state"), "error: %s", in.error);
    snap_out_free(&o);
}
