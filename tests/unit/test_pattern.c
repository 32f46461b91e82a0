/* test_pattern.c — the pattern runtime (engine/nfa_run.h): FlinkCEP's
 * matches, in FlinkCEP's order.
 *
 * Each test compiles a real rule with weir_ruleset_compile_text(), runs it
 * for one key over a list of events and compares every match with the
 * expected one, in order. Notation:
 *
 *   events    "a1 x1 b1:7 c1@2500 ^l1 ~12000 ~end"
 *             a token is an event id; its kind is the letters it starts
 *             with ("a1" has kind "a"); ":7" sets its int field v, "@2500"
 *             its timestamp (default: 1000 × its position); "^" sends it
 *             on the second stream t; "~T" advances time (the watermark)
 *             to T, "~end" to the end of time.
 *   matches   "[a:a1 b:b1,b2 c:c1] T[a:a2]"
 *             each match lists its steps in pattern order with the events
 *             each took, in time order; "T" marks a timed-out partial
 *             match (rules with `on timeout emit`), "A" an absence match
 *             (`not then` last, fired by the deadline).
 *
 * Expected matches were worked out from FlinkCEP's documentation (its
 * examples are quoted where used) and its NFA (1.17): contiguity, the
 * quantifiers, greedy, until, negation, groups, within, the five skip
 * strategies. Where several matches complete on the same event and share
 * their first event, their order comes from Java's PriorityQueue, which
 * the runtime reproduces; one such order is derived by hand in the
 * comment of order_ties_follow_java_heap. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/nfa.h"
#include "compile/plan.h"
#include "engine/eval.h"
#include "engine/nfa_run.h"
#include "weir/ruleset.h"

#include "alloc_count.h"

/* ------------------------------------------------------------------ */
/* Fixture                                                              */

/* Stream s: k, kind, id, v, ts. Stream t lays out its fields differently,
 * so a condition read against the wrong stream would read garbage. */
#define STREAMS                                                          \
    "stream s { k int, kind string, id string, v int, ts time }\n"       \
    "stream t { k int, v int, ts time, id string, kind string }\n"

enum { S_K, S_KIND, S_ID, S_V, S_TS, S_N };
enum { T_K, T_V, T_TS, T_ID, T_KIND, T_N };

typedef struct fixture {
    weir_ruleset *rs;
    const weir_rule_plan *plan;
    weir_pattern_runtime *rt;
    weir_pattern_key *key;
    char out[8192];
    size_t out_len;
    unsigned n_matches;
    /* the last match's extras, for the tests that look at them */
    int64_t last_time;
    uint64_t last_first_seq, last_last_seq;
    bool last_absence;
    char last_emit[512];
} fixture;

static fixture fx;

static void print_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    fprintf(stderr, "%s\n", d->message);
}

static void append(const char *a, size_t alen)
{
    if (fx.out_len + alen + 1 > sizeof fx.out)
        return;
    memcpy(fx.out + fx.out_len, a, alen);
    fx.out_len += alen;
    fx.out[fx.out_len] = 0;
}

static void append_s(const char *a)
{
    append(a, strlen(a));
}

/* The id of an event, whatever its stream. */
static const weir_value *event_id(const weir_pattern_event *e)
{
    return &e->fields[e->stream == 0 ? S_ID : T_ID];
}

static void on_match(void *user, const weir_pattern_match *m)
{
    (void)user;
    fx.n_matches++;
    if (fx.out_len)
        append_s(" ");
    if (m->timed_out)
        append_s("T");
    if (m->absence)
        append_s("A");
    append_s("[");
    bool first_step = true;
    for (unsigned s = 0; s < m->n_steps; s++) {
        if (m->step_first[s] == m->step_first[s + 1])
            continue;
        const char *name = fx.plan->ast->steps[s]->name.name;
        if (!first_step)
            append_s(" ");
        first_step = false;
        append_s(name);
        append_s(":");
        for (uint32_t i = m->step_first[s]; i < m->step_first[s + 1]; i++) {
            const weir_value *id = event_id(&m->events[i]);
            if (i > m->step_first[s])
                append_s(",");
            append(id->u.s, id->len);
        }
    }
    append_s("]");
    fx.last_time = m->time;
    fx.last_first_seq = m->first->seq;
    fx.last_last_seq = m->last->seq;
    fx.last_absence = m->absence;

    /* evaluate the rule's emit body over the match, as the engine does */
    const weir_emit_plan *emit = m->timed_out ? &fx.plan->timeout_emit : &fx.plan->emit;
    size_t len = 0;
    fx.last_emit[0] = 0;
    for (unsigned i = 0; i < emit->n_fields; i++) {
        weir_eval_ctx ctx = {.event = m->last->fields, .match = m->view};
        weir_value v;
        weir_eval_run(emit->fields[i].value, &ctx, &v);
        int n;
        if (v.missing)
            n = snprintf(fx.last_emit + len, sizeof fx.last_emit - len, "%s%s=null",
                         i ? " " : "", emit->fields[i].name);
        else if (emit->fields[i].value->type == WEIR_T_STRING)
            n = snprintf(fx.last_emit + len, sizeof fx.last_emit - len, "%s%s=%.*s",
                         i ? " " : "", emit->fields[i].name, (int)v.len, v.u.s);
        else
            n = snprintf(fx.last_emit + len, sizeof fx.last_emit - len, "%s%s=%lld",
                         i ? " " : "", emit->fields[i].name, (long long)v.u.i);
        if (n > 0 && len + (size_t)n < sizeof fx.last_emit)
            len += (size_t)n;
    }
}

/* Compiles STREAMS + `rule r on <inputs> match <body>`. */
static void setup_rule(const char *inputs, const char *body)
{
    memset(&fx, 0, sizeof fx);
    char text[4096];
    snprintf(text, sizeof text, "%srule r on %s match %s\n", STREAMS, inputs, body);
    weir_compile_options opt = {.diag = print_diag, .no_warnings = true};
    weir_compile_status st =
        weir_ruleset_compile_text("test.weir", text, strlen(text), &opt, &fx.rs);
    cr_assert_eq(st, WEIR_COMPILE_OK, "rule does not compile:\n%s", text);
    cr_assert_eq(fx.rs->n_rules, 1);
    fx.plan = &fx.rs->rules[0];
    cr_assert_not_null(fx.plan->nfa);
    fx.rt = weir_pattern_runtime_new(fx.plan);
    cr_assert_not_null(fx.rt);
    fx.key = weir_pattern_key_new(fx.rt);
    cr_assert_not_null(fx.key);
}

static void teardown_rule(void)
{
    weir_pattern_key_free(fx.rt, fx.key);
    weir_pattern_runtime_free(fx.rt);
    weir_ruleset_free(fx.rs);
    fx.rs = NULL;
}

/* Feeds the events of the notation above. */
static void feed(const char *events)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", events);
    uint64_t seq = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        seq++;
        if (tok[0] == '~') {
            int64_t t = strcmp(tok, "~end") == 0 ? INT64_MAX : atoll(tok + 1);
            cr_assert_eq(weir_pattern_advance(fx.rt, fx.key, t, on_match, NULL), 0);
            continue;
        }
        unsigned stream = 0;
        if (tok[0] == '^') {
            stream = 1;
            tok++;
        }
        int64_t ts = (int64_t)seq * 1000, v = 0;
        char *at = strchr(tok, '@');
        if (at) {
            ts = atoll(at + 1);
            *at = 0;
        }
        char *colon = strchr(tok, ':');
        if (colon) {
            v = atoll(colon + 1);
            *colon = 0;
        }
        size_t kl = 0;
        while (isalpha((unsigned char)tok[kl]))
            kl++;
        weir_value f[S_N];
        if (stream == 0) {
            f[S_K] = weir_value_int(1);
            f[S_KIND] = weir_value_string(tok, kl);
            f[S_ID] = weir_value_string(tok, strlen(tok));
            f[S_V] = weir_value_int(v);
            f[S_TS] = weir_value_millis(ts);
        } else {
            f[T_K] = weir_value_int(1);
            f[T_V] = weir_value_int(v);
            f[T_TS] = weir_value_millis(ts);
            f[T_ID] = weir_value_string(tok, strlen(tok));
            f[T_KIND] = weir_value_string(tok, kl);
        }
        /* the runtime must copy what it keeps: scribble over the strings
         * once the call returns */
        int rc = weir_pattern_process(fx.rt, fx.key, f, stream, ts, seq, on_match, NULL);
        cr_assert_eq(rc, 0);
        memset(tok, '#', strlen(tok));
    }
}

/* Runs `body` (single stream s) over `events`; expects `matches`. */
static void expect_on(const char *inputs, const char *body, const char *events,
                      const char *matches)
{
    setup_rule(inputs, body);
    feed(events);
    cr_expect_str_eq(fx.out, matches, "\n  rule:   %s\n  events: %s\n  got:    %s\n  want:   %s",
                     body, events, fx.out, matches);
}

static void expect(const char *body, const char *events, const char *matches)
{
    expect_on("s by k", body, events, matches);
    teardown_rule();
}

/* The same, and the key must then be idle with nothing stored. */
static void expect_idle(const char *body, const char *events, const char *matches)
{
    expect_on("s by k", body, events, matches);
    cr_expect(weir_pattern_key_idle(fx.key), "key not idle: %zu partial matches",
              weir_pattern_key_partials(fx.key));
    cr_expect_eq(weir_pattern_key_events(fx.key), 0);
    cr_expect_eq(weir_pattern_key_partials(fx.key), 0);
    teardown_rule();
}

/* Conditions shared by most tests. */
#define A "a where kind == \"a\""
#define B "b where kind == \"b\""
#define C "c where kind == \"c\""

/* ------------------------------------------------- contiguity, one each */

/* dsl.md: abroad then big over e1 FR, e2 GB 15, e3 GB 900, e4 GB 700. */
#define ABROAD "abroad where kind == \"f\""
#define BIG "big where kind == \"g\" and v >= 500"

Test(contiguity, next_needs_the_very_next_event)
{
    expect(ABROAD " next " BIG, "f1:20 g2:15 g3:900 g4:700", "");
}

Test(contiguity, next_adjacent)
{
    expect(ABROAD " next " BIG, "f1:20 g3:900 g4:700", "[abroad:f1 big:g3]");
}

Test(contiguity, then_takes_the_first_match)
{
    expect(ABROAD " then " BIG, "f1:20 g2:15 g3:900 g4:700", "[abroad:f1 big:g3]");
}

Test(contiguity, then_any_takes_every_later_match)
{
    expect(ABROAD " then any " BIG, "f1:20 g2:15 g3:900 g4:700",
           "[abroad:f1 big:g3] [abroad:f1 big:g4]");
}

Test(contiguity, every_accepted_first_event_starts_a_match)
{
    expect(ABROAD " then " BIG, "f1 f2 g3:900", "[abroad:f1 big:g3] [abroad:f2 big:g3]");
}

/* ------------------------------------ contiguity × quantifier, one table
 *
 * `c <connector> a<quantifier> then b` over c1 a1 x1 a2 a3 b1: the
 * connector decides where a's first event may be, the quantifier how many
 * a's (inner contiguity relaxed: x1 is skipped between a's, but an a that
 * comes must be taken). */
#define CAB_EVENTS "c1 a1 x1 a2 a3 b1"

Test(contiguity_quant, next_single)
{
    expect(C " next " A " then " B, CAB_EVENTS, "[c:c1 a:a1 b:b1]");
}

Test(contiguity_quant, next_single_broken)
{
    expect(C " next " A " then " B, "c1 x1 a1 b1", "");
}

Test(contiguity_quant, then_single)
{
    expect(C " then " A " then " B, "c1 x1 a1 a2 b1", "[c:c1 a:a1 b:b1]");
}

/* The three matches complete on b1 and share c1, so Java's heap orders
 * them: the runs waiting in b's state sit in the partial-match heap as
 * [a1, a2, a3] (equal keys never move), so the completed heap is
 * [m1, m2, m3]; poll() takes m1 and moves m3 to the root (equal keys do
 * not sift down): m1, m3, m2. */
Test(contiguity_quant, then_any_single)
{
    expect(C " then any " A " then " B, CAB_EVENTS,
           "[c:c1 a:a1 b:b1] [c:c1 a:a3 b:b1] [c:c1 a:a2 b:b1]");
}

Test(contiguity_quant, next_optional)
{
    expect(C " next a? where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1 b:b1] [c:c1 b:b1]");
}

Test(contiguity_quant, then_optional)
{
    expect(C " then a? where kind == \"a\" then " B, "c1 x1 a1 b1",
           "[c:c1 a:a1 b:b1] [c:c1 b:b1]");
}

Test(contiguity_quant, then_any_optional)
{
    expect(C " then any a? where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1 b:b1] [c:c1 b:b1] [c:c1 a:a3 b:b1] [c:c1 a:a2 b:b1]");
}

Test(contiguity_quant, next_one_or_more)
{
    expect(C " next a+ where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1,a2,a3 b:b1] [c:c1 a:a1 b:b1] [c:c1 a:a1,a2 b:b1]");
}

Test(contiguity_quant, then_one_or_more)
{
    expect(C " then a+ where kind == \"a\" then " B, "c1 x0 a1 x1 a2 a3 b1",
           "[c:c1 a:a1,a2,a3 b:b1] [c:c1 a:a1 b:b1] [c:c1 a:a1,a2 b:b1]");
}

Test(contiguity_quant, then_any_one_or_more)
{
    expect(C " then any a+ where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1,a2,a3 b:b1] [c:c1 a:a3 b:b1] [c:c1 a:a2 b:b1] [c:c1 a:a2,a3 b:b1] "
           "[c:c1 a:a1 b:b1] [c:c1 a:a1,a2 b:b1]");
}

Test(contiguity_quant, next_zero_or_more)
{
    expect(C " next a* where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1,a2,a3 b:b1] [c:c1 b:b1] [c:c1 a:a1 b:b1] [c:c1 a:a1,a2 b:b1]");
}

Test(contiguity_quant, next_times)
{
    expect(C " next a{2} where kind == \"a\" then " B, CAB_EVENTS, "[c:c1 a:a1,a2 b:b1]");
}

Test(contiguity_quant, then_any_times)
{
    /* starts at a1 or a2; between a's relaxed, so no {a1 a3} */
    expect(C " then any a{2} where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1,a2 b:b1] [c:c1 a:a2,a3 b:b1]");
}

Test(contiguity_quant, next_times_range)
{
    expect(C " next a{2,3} where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1,a2,a3 b:b1] [c:c1 a:a1,a2 b:b1]");
}

Test(contiguity_quant, next_times_or_more)
{
    expect(C " next a{2,} where kind == \"a\" then " B, "c1 a1 x1 a2 a3 a4 b1",
           "[c:c1 a:a1,a2,a3,a4 b:b1] [c:c1 a:a1,a2 b:b1] [c:c1 a:a1,a2,a3 b:b1]");
}

Test(contiguity_quant, then_times_consecutive_broken)
{
    /* `then` pins the first a to a1, and x1 breaks a1's run */
    expect(C " then a{2} consecutive where kind == \"a\" then " B, CAB_EVENTS, "");
}

Test(contiguity_quant, then_any_times_consecutive)
{
    expect(C " then any a{2} consecutive where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a2,a3 b:b1]");
}

Test(contiguity_quant, then_times_any)
{
    expect(C " then a{2} any where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1,a2 b:b1] [c:c1 a:a1,a3 b:b1]");
}

Test(contiguity_quant, next_after_loop_strict)
{
    /* `next` after the loop: b must follow the last a directly */
    expect(C " then a+ where kind == \"a\" next " B, "c1 a1 a2 x1 a3 b1",
           "[c:c1 a:a1,a2,a3 b:b1]");
}

Test(contiguity_quant, then_any_after_loop)
{
    expect(C " then a{2} where kind == \"a\" then any " B, "c1 a1 a2 b1 b2",
           "[c:c1 a:a1,a2 b:b1] [c:c1 a:a1,a2 b:b2]");
}

/* ---------------------------------- FlinkCEP's documented loop examples */

/* Flink docs, consecutive(): begin c, followedBy a oneOrMore consecutive,
 * followedBy b, over C D A1 A2 A3 D A4 B: {C A1 B}, {C A1 A2 B},
 * {C A1 A2 A3 B}. */
Test(flink_docs, consecutive)
{
    expect_idle(C " then a+ consecutive where kind == \"a\" then " B,
                "c1 d1 a1 a2 a3 d2 a4 b1",
                "[c:c1 a:a1,a2,a3 b:b1] [c:c1 a:a1 b:b1] [c:c1 a:a1,a2 b:b1]");
}

/* Without consecutive(): {C A1 B}, {C A1 A2 B}, {C A1 A2 A3 B},
 * {C A1 A2 A3 A4 B}. */
Test(flink_docs, relaxed_loop)
{
    expect(C " then a+ where kind == \"a\" then " B, "c1 d1 a1 a2 a3 d2 a4 b1",
           "[c:c1 a:a1,a2,a3,a4 b:b1] [c:c1 a:a1 b:b1] [c:c1 a:a1,a2 b:b1] "
           "[c:c1 a:a1,a2,a3 b:b1]");
}

/* allowCombinations(): {C A1 B}, {C A1 A2 B}, {C A1 A3 B}, {C A1 A4 B},
 * {C A1 A2 A3 B}, {C A1 A2 A4 B}, {C A1 A3 A4 B}, {C A1 A2 A3 A4 B}. */
Test(flink_docs, allow_combinations)
{
    expect(C " then a+ any where kind == \"a\" then " B, "c1 d1 a1 a2 a3 d2 a4 b1",
           "[c:c1 a:a1,a2,a3,a4 b:b1] [c:c1 a:a1 b:b1] [c:c1 a:a1,a4 b:b1] "
           "[c:c1 a:a1,a3 b:b1] [c:c1 a:a1,a3,a4 b:b1] [c:c1 a:a1,a2 b:b1] "
           "[c:c1 a:a1,a2,a4 b:b1] [c:c1 a:a1,a2,a3 b:b1]");
}

/* "Contiguity within looping patterns", relaxed: a b+ c over
 * a b1 d1 b2 d2 b3 c: {a b1 c}, {a b1 b2 c}, {a b1 b2 b3 c} (b follows a
 * with `then`, so b1 is the first b). */
Test(flink_docs, loop_skips_other_events)
{
    expect(A " then b+ where kind == \"b\" then " C, "a1 b1 d1 b2 d2 b3 c1",
           "[a:a1 b:b1,b2,b3 c:c1] [a:a1 b:b1 c:c1] [a:a1 b:b1,b2 c:c1]");
}

/* Order of matches that share their first event and complete together:
 * Flink keeps them in a java.util.PriorityQueue keyed by the first event,
 * so among equals the order is the heap's. For the test above, c1 makes
 * three completed runs, added in the order [b1b2b3], [b1b2], [b1] (the
 * order of their parents in the partial-match heap): the heap array is
 * [m123, m12, m1]; poll() returns m123 and moves the last element, m1, to
 * the root, where it stays (equal keys do not sift down); then m1, then
 * m12. */
Test(order, ties_follow_java_heap)
{
    expect(A " then b+ where kind == \"b\" then " C, "a1 b1 b2 b3 c1",
           "[a:a1 b:b1,b2,b3 c:c1] [a:a1 b:b1 c:c1] [a:a1 b:b1,b2 c:c1]");
}

Test(order, earlier_first_event_first)
{
    /* three starts completing on one event come out by their first event */
    expect("p where kind == \"p\" then any " B, "p1 p2 p3 b1",
           "[p:p1 b:b1] [p:p2 b:b1] [p:p3 b:b1]");
}

Test(order, equal_timestamps_keep_arrival_order)
{
    expect("p where kind == \"p\" then any " B, "p1@5000 p2@5000 p3@5000 b1@5000",
           "[p:p1 b:b1] [p:p2 b:b1] [p:p3 b:b1]");
}

/* ------------------------------------------- dsl.md quantifier tables */

#define PROBE "p where kind == \"p\""
#define BIGB "big where kind == \"B\""
#define PPPB "p1 p2 p3 B1"

Test(quantifiers, single)
{
    expect(PROBE " then " BIGB, PPPB, "[p:p1 big:B1] [p:p2 big:B1] [p:p3 big:B1]");
}

Test(quantifiers, optional)
{
    expect("p? where kind == \"p\" then " BIGB, PPPB,
           "[p:p1 big:B1] [p:p2 big:B1] [p:p3 big:B1] [big:B1]");
}

Test(quantifiers, one_or_more)
{
    expect("p+ where kind == \"p\" then " BIGB, PPPB,
           "[p:p1,p2,p3 big:B1] [p:p1,p2 big:B1] [p:p1 big:B1] [p:p2,p3 big:B1] "
           "[p:p2 big:B1] [p:p3 big:B1]");
}

Test(quantifiers, zero_or_more)
{
    expect("p* where kind == \"p\" then " BIGB, PPPB,
           "[p:p1,p2,p3 big:B1] [p:p1,p2 big:B1] [p:p1 big:B1] [p:p2 big:B1] "
           "[p:p2,p3 big:B1] [p:p3 big:B1] [big:B1]");
}

Test(quantifiers, times)
{
    expect("p{2} where kind == \"p\" then " BIGB, PPPB, "[p:p1,p2 big:B1] [p:p2,p3 big:B1]");
}

Test(quantifiers, times_range)
{
    expect("p{2,3} where kind == \"p\" then " BIGB, PPPB,
           "[p:p1,p2,p3 big:B1] [p:p1,p2 big:B1] [p:p2,p3 big:B1]");
}

Test(quantifiers, times_exact_three)
{
    expect("p{3} where kind == \"p\" then " BIGB, PPPB, "[p:p1,p2,p3 big:B1]");
}

Test(quantifiers, times_or_more)
{
    expect("p{2,} where kind == \"p\" then " BIGB, PPPB,
           "[p:p1,p2,p3 big:B1] [p:p1,p2 big:B1] [p:p2,p3 big:B1]");
}

Test(quantifiers, zero_to_m)
{
    /* {0,2} is times(1,2).optional() */
    expect("p{0,2} where kind == \"p\" then " BIGB, "p1 p2 B1",
           "[p:p1,p2 big:B1] [p:p1 big:B1] [p:p2 big:B1] [big:B1]");
}

Test(quantifiers, relaxed_inside_loop)
{
    /* dsl.md: p1 x p2 p3 B, x is skipped between probes */
    expect("p+ where kind == \"p\" then " BIGB, "p1 x1 p2 p3 B1",
           "[p:p1,p2,p3 big:B1] [p:p1,p2 big:B1] [p:p1 big:B1] [p:p2,p3 big:B1] "
           "[p:p2 big:B1] [p:p3 big:B1]");
}

Test(quantifiers, consecutive_inside_loop)
{
    /* dsl.md: {p1 B} {p2 B} {p2 p3 B} {p3 B}: x breaks p1's run */
    expect("p+ consecutive where kind == \"p\" then " BIGB, "p1 x1 p2 p3 B1",
           "[p:p1 big:B1] [p:p2,p3 big:B1] [p:p2 big:B1] [p:p3 big:B1]");
}

Test(quantifiers, any_inside_loop)
{
    /* dsl.md: also {p1 p3 B}, which skips p2 */
    expect("p+ any where kind == \"p\" then " BIGB, "p1 x1 p2 p3 B1",
           "[p:p1,p2,p3 big:B1] [p:p1,p2 big:B1] [p:p1 big:B1] [p:p1,p3 big:B1] "
           "[p:p2 big:B1] [p:p2,p3 big:B1] [p:p3 big:B1]");
}

/* ---------------------------------------------------------------- greedy */

Test(greedy, longest_run_per_start)
{
    /* dsl.md: {p1 p2 p3 B} {p2 p3 B} {p3 B} */
    expect("p+ greedy where kind == \"p\" then " BIGB, PPPB,
           "[p:p1,p2,p3 big:B1] [p:p2,p3 big:B1] [p:p3 big:B1]");
}

Test(greedy, after_a_first_step)
{
    expect(C " then a+ greedy where kind == \"a\" then " B, CAB_EVENTS,
           "[c:c1 a:a1,a2,a3 b:b1]");
}

Test(greedy, times_range)
{
    expect("p{1,2} greedy where kind == \"p\" then " BIGB, PPPB,
           "[p:p2,p3 big:B1] [p:p3 big:B1]");
}

Test(greedy, next_step_may_not_take_what_the_loop_takes)
{
    /* the next step also accepts p's, but greedy keeps them in the loop */
    expect("p+ greedy where kind == \"p\" then q where kind == \"p\" or kind == \"q\"",
           "p1 p2 q1", "[p:p1,p2 q:q1] [p:p2 q:q1]");
}

/* ------------------------------------------------------------- reluctant */

Test(reluctant, one_or_more)
{
    /* dsl.md: {p1 B} {p2 B} {p3 B} */
    expect_idle("p+? where kind == \"p\" then " BIGB, PPPB,
                "[p:p1 big:B1] [p:p2 big:B1] [p:p3 big:B1]");
}

Test(reluctant, keyword_form)
{
    expect("p+ reluctant where kind == \"p\" then " BIGB, PPPB,
           "[p:p1 big:B1] [p:p2 big:B1] [p:p3 big:B1]");
}

Test(reluctant, times_or_more)
{
    expect("p{2,}? where kind == \"p\" then " BIGB, PPPB, "[p:p1,p2 big:B1] [p:p2,p3 big:B1]");
}

Test(reluctant, strict_next_still_needs_adjacency)
{
    /* with `next`, only the run ending right before B can finish */
    expect("p+? where kind == \"p\" next " BIGB, PPPB,
           "[p:p1,p2,p3 big:B1] [p:p2,p3 big:B1] [p:p3 big:B1]");
}

Test(reluctant, last_step)
{
    expect(A " then b+? where kind == \"b\"", "a1 b1 b2 b3", "[a:a1 b:b1]");
}

Test(reluctant, optional_prefers_skipping)
{
    expect(A " then b?? where kind == \"b\" then " C, "a1 b1 c1", "[a:a1 c:c1]");
}

Test(reluctant, group)
{
    expect("(a where kind == \"a\" then h where kind == \"h\")+? then " C,
           "a1 h1 a2 h2 c1", "[a:a1 h:h1 c:c1] [a:a2 h:h2 c:c1]");
}

/* ------------------------------------------------------------------ until */

Test(until, closes_the_loop)
{
    /* dsl.md: s1 s2 atm s3 B: {s1 B} {s1 s2 B} {s2 B} {s3 B} */
    expect("s+ where kind == \"s\" until v == 1 then " BIGB, "s1 s2 atm1:1 s3 B1",
           "[s:s1,s2 big:B1] [s:s1 big:B1] [s:s2 big:B1] [s:s3 big:B1]");
}

Test(until, without_it)
{
    expect("s+ where kind == \"s\" then " BIGB, "s1 s2 atm1:1 s3 B1",
           "[s:s1,s2,s3 big:B1] [s:s1,s2 big:B1] [s:s1 big:B1] [s:s2,s3 big:B1] "
           "[s:s2 big:B1] [s:s3 big:B1]");
}

Test(until, greedy)
{
    expect("s+ greedy where kind == \"s\" until v == 1 then " BIGB, "s1 s2 atm1:1 s3 B1",
           "[s:s1,s2 big:B1] [s:s2 big:B1] [s:s3 big:B1]");
}

Test(until, on_a_group)
{
    expect("(a where kind == \"a\" then h where kind == \"h\")+ until v == 9 then " C,
           "a1 h1 a2 h2 stop:9 a3 h3 c1",
           "[a:a1,a2 h:h1,h2 c:c1] [a:a1 h:h1 c:c1] [a:a2 h:h2 c:c1] [a:a3 h:h3 c:c1]");
}

/* ------------------------------------------------------------- negation */

#define NN_PAT ABROAD " not next home where kind == \"h\" then " BIG

Test(negation, not_next_blocks)
{
    /* dsl.md: e1 FR, e2 GB 15, e3 GB 900: no match */
    expect(NN_PAT, "f1 h2:15 g3:900", "");
}

Test(negation, not_next_lets_other_events_through)
{
    /* dsl.md: e1 FR, e2 DE, e3 GB 900: {e1 e3}; e2 starts its own match,
     * which dies because the event right after it is at home */
    expect(NN_PAT, "f1 f2 h3 g4:900", "[abroad:f1 big:g4]");
}

Test(negation, not_next_only_looks_at_the_next_event)
{
    expect(NN_PAT, "f1 x1 h1 g1:900", "[abroad:f1 big:g1]");
}

#define NT_PAT ABROAD " not then cash where kind == \"m\" then " BIG

Test(negation, not_then_blocks)
{
    expect_idle(NT_PAT, "f1 m2 g3:900", "");
}

Test(negation, not_then_passes)
{
    expect_idle(NT_PAT, "f1 x1 g3:900", "[abroad:f1 big:g3]");
}

Test(negation, not_then_kills_only_runs_it_follows)
{
    expect(NT_PAT, "f1 x1 f2 m1 f3 g1:900", "[abroad:f3 big:g1]");
}

Test(negation, not_then_after_a_loop)
{
    /* an m between the p's and B kills the runs that reached it */
    expect("p+ where kind == \"p\" not then m where kind == \"m\" then " BIGB,
           "p1 p2 m1 p3 B1", "[p:p3 big:B1]");
}

Test(negation, not_then_before_optional)
{
    /* `not then x` before an optional step holds until the step after */
    expect(A " not then x where kind == \"x\" then b? where kind == \"b\" then " C,
           "a1 b1 x1 c1", "[a:a1 b:b1 c:c1]");
}

/* ---------------------------------------------------------------- within */

#define AB_WITHIN A " then " B " within 10s"

Test(within, inside_the_window)
{
    expect_idle(AB_WITHIN, "a1@0 b1@9999", "[a:a1 b:b1]");
}

Test(within, at_the_deadline_is_too_late)
{
    /* Flink: timed out when ts - start >= within */
    expect_idle(AB_WITHIN, "a1@0 b1@10000", "");
}

Test(within, partial_matches_pruned_by_the_watermark)
{
    setup_rule("s by k", AB_WITHIN);
    feed("a1@0 a2@4000");
    cr_expect_eq(weir_pattern_key_partials(fx.key), 2);
    cr_expect_eq(weir_pattern_key_next_deadline(fx.rt, fx.key), 10000);
    feed("~9999");
    cr_expect_eq(weir_pattern_key_partials(fx.key), 2);
    feed("~10000");
    cr_expect_eq(weir_pattern_key_partials(fx.key), 1);
    cr_expect_eq(weir_pattern_key_next_deadline(fx.rt, fx.key), 14000);
    feed("~14000");
    cr_expect(weir_pattern_key_idle(fx.key));
    cr_expect_eq(weir_pattern_key_events(fx.key), 0);
    cr_expect_eq(weir_pattern_key_next_deadline(fx.rt, fx.key), INT64_MAX);
    cr_expect_str_eq(fx.out, "");
    teardown_rule();
}

Test(within, no_deadline_without_within)
{
    setup_rule("s by k", A " then " B);
    feed("a1");
    cr_expect_eq(weir_pattern_key_next_deadline(fx.rt, fx.key), INT64_MAX);
    teardown_rule();
}

Test(within, loop_bounded)
{
    expect("p+ where kind == \"p\" then " BIGB " within 3s", "p1@0 p2@1000 p3@2000 B1@3000",
           "[p:p2,p3 big:B1] [p:p2 big:B1] [p:p3 big:B1]");
}

/* --------------------------------------------------------------- timeouts */

#define AB_TIMEOUT AB_WITHIN " on timeout emit { first: a.id }"

Test(timeout, reported_with_on_timeout)
{
    expect_idle(AB_TIMEOUT, "a1@0 a2@5000 b1@12000 ~40000", "T[a:a1] [a:a2 b:b1]");
}

Test(timeout, not_reported_without_on_timeout)
{
    expect_idle(AB_WITHIN, "a1@0 a2@5000 b1@12000 ~40000", "[a:a2 b:b1]");
}

Test(timeout, fired_by_the_watermark)
{
    setup_rule("s by k", AB_TIMEOUT);
    feed("a1@0 ~9999");
    cr_expect_str_eq(fx.out, "");
    feed("~10000");
    cr_expect_str_eq(fx.out, "T[a:a1]");
    cr_expect_eq(fx.last_time, 10000); /* start + within, as Flink */
    cr_expect_str_eq(fx.last_emit, "first=a1");
    cr_expect(weir_pattern_key_idle(fx.key));
    teardown_rule();
}

Test(timeout, partial_with_several_steps)
{
    expect(A " then b+ where kind == \"b\" then " C " within 10s on timeout emit { }",
           "a1@0 b1@1000 b2@2000 ~10000",
           "T[a:a1 b:b1,b2] T[a:a1 b:b1]");
}

Test(timeout, several_in_heap_order)
{
    expect(AB_TIMEOUT, "a1@0 a2@1000 a3@2000 ~end", "T[a:a1] T[a:a2] T[a:a3]");
}

Test(timeout, matches_before_timeouts)
{
    /* due at the same advance: a1's partial match (its b needs v == 1)
     * times out, a2 b1's absence fires. Flink's CepOperator emits the
     * matches, then the timeouts, although a1 comes first in the heap */
    setup_rule("s by k", A " then b where kind == \"b\" and v == a.v "
                        "not then x where kind == \"x\" within 10s on timeout emit { }");
    feed("a1:1@0 a2:2@1000 b1:2@2000 ~20000");
    cr_expect_str_eq(fx.out, "A[a:a2 b:b1] T[a:a1]");
    cr_expect(weir_pattern_key_idle(fx.key));
    teardown_rule();
}

/* ---------------------------------------------------------------- absence */

#define ABSENT "o where kind == \"o\" not then v where kind == \"v\" within 10s"

Test(absence, fires_at_the_deadline)
{
    setup_rule("s by k", ABSENT);
    feed("o1@0 ~9999");
    cr_expect_str_eq(fx.out, "");
    feed("~10000");
    cr_expect_str_eq(fx.out, "A[o:o1]");
    cr_expect_eq(fx.last_time, 10000);
    cr_expect(fx.last_absence);
    cr_expect(weir_pattern_key_idle(fx.key));
    cr_expect_eq(weir_pattern_key_events(fx.key), 0);
    teardown_rule();
}

Test(absence, prevented_by_the_event)
{
    expect_idle(ABSENT, "o1@0 v1@5000 ~end", "");
}

Test(absence, event_at_the_deadline_is_too_late)
{
    /* dsl.md: "verified Tue 10:00" after "opened Mon 09:00" with 24h */
    expect_idle(ABSENT, "o1@0 v1@10000", "A[o:o1]");
}

Test(absence, other_events_do_not_matter)
{
    expect_idle(ABSENT, "o1@0 x1@3000 x2@6000 ~end", "A[o:o1]");
}

Test(absence, each_opening_has_its_deadline)
{
    expect_idle(ABSENT, "o1@0 o2@3000 v1@11000 ~end", "A[o:o1]");
}

Test(absence, after_two_steps)
{
    expect_idle(A " then " B " not then x where kind == \"x\" within 5s",
                "a1@0 b1@1000 ~4999 ~5000", "A[a:a1 b:b1]");
}

Test(absence, two_fire_together_in_order)
{
    expect_idle(ABSENT, "o1@0 o2@0 ~end", "A[o:o1] A[o:o2]");
}

/* ---------------------------------------------------------- skip strategies
 *
 * dsl.md's table: `p+ next big` over p1 p2 p3 B. With a skip strategy a
 * match is held while a partial match that started earlier is alive (here
 * the runs still looping from p1, which wait for more p's), so the held
 * ones come out when those time out: the tests add `within` and advance
 * to the end. */
#define SKIP_PAT "p+ where kind == \"p\" next " BIGB " within 10s "

Test(skip, no_skip)
{
    expect(SKIP_PAT, PPPB, "[p:p1,p2,p3 big:B1] [p:p2,p3 big:B1] [p:p3 big:B1]");
}

Test(skip, to_next)
{
    expect_idle(SKIP_PAT "skip to next", PPPB,
                "[p:p1,p2,p3 big:B1] [p:p2,p3 big:B1] [p:p3 big:B1]");
}

Test(skip, past_last)
{
    expect_idle(SKIP_PAT "skip past last", PPPB, "[p:p1,p2,p3 big:B1]");
}

Test(skip, to_first_holds_later_matches_back)
{
    /* pruning nothing (nothing started before p1), the matches from p2
     * and p3 wait for p1's partial matches to end */
    setup_rule("s by k", SKIP_PAT "skip to first p");
    feed(PPPB);
    cr_expect_str_eq(fx.out, "[p:p1,p2,p3 big:B1]");
    cr_expect_eq(weir_pattern_key_partials(fx.key), 5); /* 3 loops + 2 held */
    feed("~end");
    cr_expect_str_eq(fx.out, "[p:p1,p2,p3 big:B1] [p:p2,p3 big:B1] [p:p3 big:B1]");
    cr_expect(weir_pattern_key_idle(fx.key));
    teardown_rule();
}

Test(skip, to_last)
{
    expect_idle(SKIP_PAT "skip to last p", PPPB " ~end", "[p:p1,p2,p3 big:B1] [p:p3 big:B1]");
}

/* dsl.md: `abroad then any big`, a1 FR, a2 DE, b1, b2 */
#define ANY_PAT ABROAD " then any " BIG " "

Test(skip, then_any_no_skip)
{
    expect(ANY_PAT, "f1 f2 g1:900 g2:700",
           "[abroad:f1 big:g1] [abroad:f2 big:g1] [abroad:f1 big:g2] [abroad:f2 big:g2]");
}

Test(skip, then_any_to_next)
{
    expect_idle(ANY_PAT "skip to next", "f1 f2 g1:900 g2:700",
                "[abroad:f1 big:g1] [abroad:f2 big:g1]");
}

Test(skip, then_any_past_last)
{
    expect_idle(ANY_PAT "skip past last", "f1 f2 g1:900 g2:700", "[abroad:f1 big:g1]");
}

/* dsl.md: small then probe+ next big over s1 s2 p1 p2 B (a probe is small
 * too, so it can start a match) */
#define SP_PAT "s where kind == \"s\" or kind == \"p\" then p+ where kind == \"p\" next " BIGB " "
#define SP_EVENTS "s1 s2 p1 p2 B1"

Test(skip, to_first_step_not_first)
{
    expect(SP_PAT, SP_EVENTS, "[s:s1 p:p1,p2 big:B1] [s:s2 p:p1,p2 big:B1] [s:p1 p:p2 big:B1]");
}

Test(skip, to_first_prunes_before_the_step)
{
    expect(SP_PAT "skip to first p", SP_EVENTS, "[s:s1 p:p1,p2 big:B1] [s:p1 p:p2 big:B1]");
}

Test(skip, to_last_prunes_before_its_last_event)
{
    expect(SP_PAT "skip to last p", SP_EVENTS, "[s:s1 p:p1,p2 big:B1]");
}

Test(skip, past_last_after_step)
{
    expect(SP_PAT "skip past last", SP_EVENTS, "[s:s1 p:p1,p2 big:B1]");
}

Test(skip, to_first_missing_step_prunes_nothing)
{
    /* the named step took nothing: Flink's default prunes nothing */
    expect(A " then b? where kind == \"b\" then any " C " skip to first b", "a1 c1 c2",
           "[a:a1 c:c1] [a:a1 c:c2]");
}

Test(skip, past_last_drops_overlapping_starts)
{
    expect("p{2} where kind == \"p\" skip past last", "p1 p2 p3 p4 p5",
                "[p:p1,p2] [p:p3,p4]");
}

Test(skip, no_skip_overlapping)
{
    expect("p{2} where kind == \"p\"", "p1 p2 p3 p4", "[p:p1,p2] [p:p2,p3] [p:p3,p4]");
}

/* ---------------------------------------------------------------- groups */

#define GROUP2 "(a where kind == \"a\" then h where kind == \"h\"){2}"

Test(groups, twice)
{
    /* dsl.md: f1 g1 f2 g2: one match with abroad = f1 f2, home = g1 g2 */
    expect(GROUP2, "a1 h1 a2 h2", "[a:a1,a2 h:h1,h2]");
}

Test(groups, second_round_missing)
{
    expect(GROUP2, "a1 h1 a2 a3 h2 h3", "[a:a1,a2 h:h1,h2]");
}

Test(groups, one_or_more_then_step)
{
    expect("(a where kind == \"a\" then h where kind == \"h\")+ then " C, "a1 h1 a2 h2 c1",
           "[a:a1,a2 h:h1,h2 c:c1] [a:a1 h:h1 c:c1] [a:a2 h:h2 c:c1]");
}

Test(groups, optional_group)
{
    expect(C " then (a where kind == \"a\" next h where kind == \"h\")? then " B,
           "c1 a1 h1 b1", "[c:c1 a:a1 h:h1 b:b1] [c:c1 b:b1]");
}

Test(groups, counts_in_emit)
{
    setup_rule("s by k", GROUP2 " emit { trips: count(a), first: a[0].id, last: h[-1].id }");
    feed("a1 h1 a2 h2");
    cr_expect_str_eq(fx.out, "[a:a1,a2 h:h1,h2]");
    cr_expect_str_eq(fx.last_emit, "trips=2 first=a1 last=h2");
    teardown_rule();
}

/* ----------------------------------------------------------- alternation */

#define ALT_PAT "l where kind == \"l\" then x where kind == \"x\" | y where kind == \"y\""

Test(alternation, first_branch)
{
    expect_idle(ALT_PAT, "l1 d1 x1 y1", "[l:l1 x:x1]");
}

Test(alternation, second_branch)
{
    expect_idle(ALT_PAT, "l1 d1 y1 x1", "[l:l1 y:y1]");
}

Test(alternation, then_any_takes_both)
{
    expect("l where kind == \"l\" then any x where kind == \"x\" | y where kind == \"y\"",
           "l1 y1 x1", "[l:l1 y:y1] [l:l1 x:x1]");
}

Test(alternation, missing_branch_in_emit)
{
    setup_rule("s by k", ALT_PAT " emit { x: x.id, y: y.id }");
    feed("l1 y1");
    cr_expect_str_eq(fx.out, "[l:l1 y:y1]");
    cr_expect_str_eq(fx.last_emit, "x=null y=y1");
    teardown_rule();
}

Test(alternation, in_the_middle)
{
    expect(A " then x where kind == \"x\" | y where kind == \"y\" then " C, "a1 y1 x1 c1",
           "[a:a1 y:y1 c:c1]");
}

/* ---------------------------------------------------- iterative conditions */

Test(iterative, sum_of_earlier_events)
{
    /* dsl.md: a probe joins while the probes so far plus it stay <= 5 */
    expect("p+ where kind == \"p\" and sum(p.v) + v <= 5 then big where kind == \"B\" and "
           "count(p) >= 2",
           "p1:2 p2:2 p3:2 B1", "[p:p1,p2 big:B1] [p:p2,p3 big:B1]");
}

Test(iterative, previous_event)
{
    /* increasing values: p[-1] is the last probe taken so far; one that
     * does not increase is skipped (relaxed inside the loop) */
    expect("p+ where kind == \"p\" and (count(p) == 0 or v > p[-1].v) next " BIGB,
           "p1:1 p2:3 p3:2 p4:5 B1",
           "[p:p1,p2,p4 big:B1] [p:p2,p4 big:B1] [p:p3,p4 big:B1] [p:p4 big:B1]");
}

Test(iterative, earlier_step_field)
{
    expect(A " then b where kind == \"b\" and v == a.v", "a1:7 b1:3 b2:7", "[a:a1 b:b2]");
}

Test(iterative, count_distinct)
{
    expect("p{3} where kind == \"p\" then big where kind == \"B\" and count(distinct p.v) >= 2",
           "p1:1 p2:1 p3:1 B1 p4:1 p5:2 p6:1 B2",
           "[p:p3,p4,p5 big:B2] [p:p4,p5,p6 big:B2]");
}

Test(iterative, card_testing_rule)
{
    /* rules/fraud/card_testing.weir's pattern, greedy with skip past last */
    setup_rule("s by k",
               "probe{3,} greedy where kind == \"p\" then big where kind == \"B\" and "
               "v != probe[-1].v within 10m skip past last "
               "emit { probes: count(probe), spent: big.id }");
    feed("p1:1 p2:1 p3:2 p4:2 B1:3");
    cr_expect_str_eq(fx.out, "[probe:p1,p2,p3,p4 big:B1]");
    cr_expect_str_eq(fx.last_emit, "probes=4 spent=B1");
    teardown_rule();
}

/* ------------------------------------------------------ several streams */

#define TWO "s by k, t by k"
#define LOGIN_SPEND \
    "login from t where kind == \"l\" then spend from s where kind == \"p\" and v >= 1000"

Test(streams, across_two_streams)
{
    expect_on(TWO, LOGIN_SPEND, "^l1 p1:50 ^l2 p2:2000", "[login:l1 spend:p2] [login:l2 spend:p2]");
    teardown_rule();
}

Test(streams, step_ignores_other_stream)
{
    /* an s event never matches a step reading t, even with the same kind */
    expect_on(TWO, LOGIN_SPEND, "l1 p1:2000", "");
    teardown_rule();
}

Test(streams, next_counts_every_stream)
{
    expect_on(TWO,
              "login from t where kind == \"l\" next spend from s where kind == \"p\"",
              "^l1 ^x1 p1 ^l2 p2", "[login:l2 spend:p2]");
    teardown_rule();
}

Test(streams, until_on_other_stream_is_false)
{
    /* the until reads s fields: a t event (laid out differently) neither
     * satisfies it nor is read as an s event */
    expect_on(TWO,
              "p+ from s where kind == \"p\" until kind == \"z\" then b from t where kind == \"b\"",
              "p1 ^z1 p2 ^b1", "[p:p1,p2 b:b1] [p:p1 b:b1] [p:p2 b:b1]");
    teardown_rule();
}

Test(streams, earlier_step_from_other_stream)
{
    expect_on(TWO,
              "login from t where kind == \"l\" then spend from s where kind == \"p\" and "
              "v != login.v",
              "^l1:5 p1:5 p2:6", "[login:l1 spend:p2]");
    teardown_rule();
}

/* -------------------------------------------------- the match and its data */

Test(match_data, first_last_and_time)
{
    setup_rule("s by k", A " then " B);
    feed("a1@100 x1@200 b1@300");
    cr_expect_str_eq(fx.out, "[a:a1 b:b1]");
    cr_expect_eq(fx.last_first_seq, 1);
    cr_expect_eq(fx.last_last_seq, 3);
    cr_expect_eq(fx.last_time, 300);
    teardown_rule();
}

Test(match_data, emit_over_the_view)
{
    setup_rule("s by k",
               "p+ where kind == \"p\" next big where kind == \"B\" "
               "emit { n: count(p), total: sum(p.v), last: p[-1].id, first: p[0].id, id }");
    feed("p1:1 p2:2 B1");
    cr_expect_str_eq(fx.out, "[p:p1,p2 big:B1] [p:p2 big:B1]");
    cr_expect_str_eq(fx.last_emit, "n=1 total=2 last=p2 first=p2 id=B1");
    teardown_rule();
}

Test(match_data, strings_copied_from_the_caller)
{
    /* feed() scribbles over each event's strings after the call; the
     * match still reads the original ids */
    expect("p+ where kind == \"p\" then " BIGB, "p1 p2 B1",
           "[p:p1,p2 big:B1] [p:p1 big:B1] [p:p2 big:B1]");
}

/* ------------------------------------------------------ state and memory */

Test(state, idle_after_a_match_completes)
{
    expect_idle(A " next " B, "a1 b1", "[a:a1 b:b1]");
}

Test(state, idle_when_nothing_matches)
{
    expect_idle(A " next " B, "x1 x2 x3", "");
}

Test(state, broken_runs_free_their_events)
{
    expect_idle(A " next " B, "a1 x1 a2 x2", "");
}

Test(state, events_shared_between_runs)
{
    /* p+ over 4 probes: 10 runs, but each probe is stored once */
    setup_rule("s by k", "p+ where kind == \"p\" then " BIGB);
    feed("p1 p2 p3 p4");
    cr_expect_eq(weir_pattern_key_events(fx.key), 4);
    cr_expect_gt(weir_pattern_key_partials(fx.key), 4);
    teardown_rule();
}

Test(state, events_not_taken_are_not_stored)
{
    setup_rule("s by k", A " then " B);
    feed("x1 x2 a1 x3");
    cr_expect_eq(weir_pattern_key_events(fx.key), 1);
    teardown_rule();
}

Test(state, bytes_return_when_idle)
{
    setup_rule("s by k", A " then b+ where kind == \"b\" then " C " within 10s");
    size_t fresh = weir_pattern_key_bytes(fx.key);
    feed("a1@0 b1@1000 b2@2000");
    cr_expect_gt(weir_pattern_key_bytes(fx.key), fresh);
    feed("~end");
    cr_expect(weir_pattern_key_idle(fx.key));
    cr_expect_eq(weir_pattern_key_events(fx.key), 0);
    teardown_rule();
}

Test(state, events_of_another_stream_are_ignored)
{
    setup_rule("s by k", A " then " B);
    weir_value f[T_N] = {weir_value_int(1)};
    cr_expect_eq(weir_pattern_process(fx.rt, fx.key, f, 7, 1000, 1, on_match, NULL), 0);
    cr_expect(weir_pattern_key_idle(fx.key));
    teardown_rule();
}

Test(state, steady_state_does_not_allocate)
{
    setup_rule("s by k", "p+ where kind == \"p\" then big where kind == \"B\" within 5s");
    /* warm up: a few rounds of probes, a purchase, timeouts */
    char ev[64];
    int64_t t = 0;
    uint64_t seq = 0;
    for (int round = 0; round < 40; round++) {
        if (round == 20) {
            alloc_count = 0;
            alloc_counting = 1;
        }
        for (int i = 0; i < 5; i++) {
            snprintf(ev, sizeof ev, "p%d", i);
            weir_value f[S_N] = {weir_value_int(1), weir_value_string("p", 1),
                                 weir_value_string(ev, strlen(ev)), weir_value_int(i),
                                 weir_value_millis(t)};
            cr_assert_eq(weir_pattern_process(fx.rt, fx.key, f, 0, t, ++seq, NULL, NULL), 0);
            t += 100;
        }
        weir_value f[S_N] = {weir_value_int(1), weir_value_string("B", 1),
                             weir_value_string("B", 1), weir_value_int(0), weir_value_millis(t)};
        cr_assert_eq(weir_pattern_process(fx.rt, fx.key, f, 0, t, ++seq, on_match, NULL), 0);
        t += 10000;
        cr_assert_eq(weir_pattern_advance(fx.rt, fx.key, t, NULL, NULL), 0);
    }
    alloc_counting = 0;
    if (WEIR_TEST_COUNT_ALLOCS)
        cr_expect_eq(alloc_count, 0, "%ld allocations in steady state", alloc_count);
    cr_expect_eq(fx.n_matches, 40 * 15);
    cr_expect(weir_pattern_key_idle(fx.key));
    teardown_rule();
}

Test(state, many_keys_share_a_runtime)
{
    setup_rule("s by k", A " then " B " within 10s");
    weir_pattern_key *keys[50];
    for (int i = 0; i < 50; i++) {
        keys[i] = weir_pattern_key_new(fx.rt);
        cr_assert_not_null(keys[i]);
        weir_value f[S_N] = {weir_value_int(i), weir_value_string("a", 1),
                             weir_value_string("a1", 2), weir_value_int(0),
                             weir_value_millis(0)};
        cr_assert_eq(weir_pattern_process(fx.rt, keys[i], f, 0, 0, 1, on_match, NULL), 0);
    }
    for (int i = 0; i < 50; i += 2) {
        weir_value f[S_N] = {weir_value_int(i), weir_value_string("b", 1),
                             weir_value_string("b1", 2), weir_value_int(0),
                             weir_value_millis(5)};
        cr_assert_eq(weir_pattern_process(fx.rt, keys[i], f, 0, 5, 2, on_match, NULL), 0);
        cr_expect(weir_pattern_key_idle(keys[i]));
    }
    cr_expect_eq(fx.n_matches, 25);
    for (int i = 0; i < 50; i++) {
        cr_expect_eq(weir_pattern_key_idle(keys[i]), i % 2 == 0);
        weir_pattern_key_free(fx.rt, keys[i]);
    }
    teardown_rule();
}

Test(state, free_with_live_partial_matches)
{
    /* freeing a busy key releases everything (ASan / valgrind check it) */
    setup_rule("s by k", "p+ any where kind == \"p\" then any " BIGB " skip to first p");
    feed("p1 p2 p3 B1 p4 B2");
    cr_expect_gt(weir_pattern_key_partials(fx.key), 0);
    teardown_rule();
}

/* ------------------------------------ FlinkCEP's AfterMatchSkipITCase
 *
 * The cases of Flink's own test of the skip strategies, with its expected
 * matches (which it compares as sets; here in FlinkCEP's order). Names
 * are tested with contains(), as there. */
#define HAS(x) "contains(id, \"" x "\")"

Test(flink_skip, no_skip_times)
{
    expect("start{3} where " HAS("a"), "a1 a2 a3 a4 a5 a6",
           "[start:a1,a2,a3] [start:a2,a3,a4] [start:a3,a4,a5] [start:a4,a5,a6]");
}

Test(flink_skip, skip_past_last_times)
{
    expect("start{3} where " HAS("a") " skip past last", "a1 a2 a3 a4 a5 a6",
           "[start:a1,a2,a3] [start:a4,a5,a6]");
}

Test(flink_skip, no_skip_followed_by_any)
{
    expect("start where " HAS("a") " then any end where " HAS("b"), "a1 b1 a2 b2",
           "[start:a1 end:b1] [start:a1 end:b2] [start:a2 end:b2]");
}

Test(flink_skip, skip_to_next_followed_by_any)
{
    expect("start where " HAS("a") " then any end where " HAS("b") " skip to next", "a1 b1 a2 b2",
           "[start:a1 end:b1] [start:a2 end:b2]");
}

Test(flink_skip, no_skip_quantifier_at_the_end)
{
    expect("start where " HAS("a") " next end+ where " HAS("b"), "a1 b1 b2 b3",
           "[start:a1 end:b1] [start:a1 end:b1,b2] [start:a1 end:b1,b2,b3]");
}

Test(flink_skip, skip_to_next_quantifier_at_the_end)
{
    expect("start where " HAS("a") " next end+ where " HAS("b") " skip to next", "a1 b1 b2 b3",
           "[start:a1 end:b1]");
}

Test(flink_skip, skip_to_first)
{
    expect("start{2} where " HAS("a") " next end{2} where " HAS("b") " skip to first end",
           "ab1 ab2 ab3 ab4 ab5 ab6",
           "[start:ab1,ab2 end:ab3,ab4] [start:ab3,ab4 end:ab5,ab6]");
}

Test(flink_skip, skip_to_last)
{
    expect("start{2} where " HAS("a") " next end{2} where " HAS("b") " skip to last end",
           "ab1 ab2 ab3 ab4 ab5 ab6 ab7",
           "[start:ab1,ab2 end:ab3,ab4] [start:ab4,ab5 end:ab6,ab7]");
}

Test(flink_skip, skip_past_last_followed_by_any)
{
    /* d1 and d2 share a timestamp */
    expect("a where " HAS("a") " then any b where " HAS("b") " then any c where " HAS("c")
           " then d where " HAS("d") " skip past last",
           "a1 a2 b1 b2 c1 c2 d1@7000 d2@7000", "[a:a1 b:b1 c:c1 d:d1]");
}

Test(flink_skip, skip_past_last_next)
{
    expect("a where " HAS("a") " next b where " HAS("b") " skip past last", "a1 c1 a2 b2",
           "[a:a2 b:b2]");
}

Test(flink_skip, skip_to_first_with_optional_match)
{
    expect("x* consecutive where " HAS("x") " next b where " HAS("b") " next c where " HAS("c")
           " skip to first b",
           "ab1 c1 ab2 c2", "[b:ab1 c:c1] [b:ab2 c:c2]");
}

Test(flink_skip, skip_to_first_at_start_position)
{
    expect("b where " HAS("b") " next c where " HAS("c") " skip to first b", "ab1 c1 ab2 c2",
           "[b:ab1 c:c1] [b:ab2 c:c2]");
}

Test(flink_skip, skip_to_first_with_one_or_more)
{
    expect("a where " HAS("a") " next b+ consecutive where " HAS("b") " skip to first b",
           "a1 b1 a2 b2 b3 a3 b4", "[a:a1 b:b1] [a:a2 b:b2] [a:a3 b:b4]");
}

Test(flink_skip, skip_to_last_with_one_or_more)
{
    expect("a where " HAS("a") " next b+ consecutive where " HAS("b") " skip to last b",
           "a1 b1 a2 b2 b3 a3 b4", "[a:a1 b:b1] [a:a2 b:b2] [a:a3 b:b4]");
}

Test(flink_skip, skip_to_missing_step)
{
    expect("a where " HAS("a") " next b* consecutive where " HAS("b") " next c where " HAS("c")
           " skip to first b",
           "a1 c1", "[a:a1 c:c1]");
}

/* Flink's documentation table: a+ consecutive greedy, then next b, over
 * a1 a2 a3 b1, with each strategy. */
#define DOC_SKIP "a+ consecutive greedy where " HAS("a") " next b where " HAS("b") " "

Test(flink_skip, docs_no_skip)
{
    expect_idle(DOC_SKIP, "a1 a2 a3 b1",
                "[a:a1,a2,a3 b:b1] [a:a2,a3 b:b1] [a:a3 b:b1]");
}

Test(flink_skip, docs_skip_past_last)
{
    expect_idle(DOC_SKIP "skip past last", "a1 a2 a3 b1", "[a:a1,a2,a3 b:b1]");
}

Test(flink_skip, docs_skip_to_last)
{
    expect_idle(DOC_SKIP "skip to last a", "a1 a2 a3 b1", "[a:a1,a2,a3 b:b1] [a:a3 b:b1]");
}

Test(flink_skip, docs_skip_to_first)
{
    expect_idle(DOC_SKIP "skip to first a", "a1 a2 a3 b1",
                "[a:a1,a2,a3 b:b1] [a:a2,a3 b:b1] [a:a3 b:b1]");
}

Test(flink_skip, docs_skip_to_next)
{
    expect_idle(DOC_SKIP "skip to next", "a1 a2 a3 b1",
                "[a:a1,a2,a3 b:b1] [a:a2,a3 b:b1] [a:a3 b:b1]");
}

Test(flink_skip, skip_to_first_discarding)
{
    expect("ac where " HAS("a") " or " HAS("c") " then bc where " HAS("b") " or " HAS("c")
           " then cs+ greedy where " HAS("c") " then d where " HAS("d") " skip to first cs",
           "a1 b1 c1 c2 c3 d1",
           "[ac:a1 bc:b1 cs:c1,c2,c3 d:d1] [ac:c1 bc:c2 cs:c3 d:d1]");
}

Test(flink_skip, held_until_earlier_completes)
{
    /* {a2 c2 b1} completes first but waits for a1's partial match, which
     * completes on b2; then both come out, earliest start first */
    expect("a where " HAS("a") " then c where " HAS("c") " then b where " HAS("b")
           " and a.v == v skip to first c",
           "a1:0 c1:0 a2:1 c2:0 b1:1 b2:0", "[a:a1 c:c1 b:b2] [a:a2 c:c2 b:b1]");
}

Test(flink_skip, shared_buffer_cleared)
{
    expect_idle("start{2} skip past last", "a1 a2 a3 a4", "[start:a1,a2] [start:a3,a4]");
}

/* ----------------------------------------- FlinkCEP's NotPatternITCase */

#define IS(x) "kind == \"" x "\""

Test(flink_not, not_next)
{
    expect("start where " IS("a") " not next np where " IS("b") " then any middle where " IS("c")
           " then end where " IS("d"),
           "a1 c1 b1 c2 d1", "[start:a1 middle:c1 end:d1] [start:a1 middle:c2 end:d1]");
}

Test(flink_not, not_next_no_matches)
{
    expect("start where " IS("a") " not next np where " IS("b") " then middle where " IS("c")
           " then end where " IS("d"),
           "a1 b1 c1 c2 d1", "");
}

Test(flink_not, not_followed_by)
{
    expect("start where " IS("a") " not then np where " IS("b") " then any middle where " IS("c")
           " then end where " IS("d"),
           "a1 c1 b1 c2 d1", "[start:a1 middle:c1 end:d1]");
}

Test(flink_not, not_followed_by_before_optional)
{
    expect("start where " IS("a") " not then np where " IS("b") " then any middle? where " IS("c")
           " then end where " IS("d"),
           "a1 c1 b1 c2 d1", "[start:a1 middle:c1 end:d1]");
}

Test(flink_not, times_with_not_followed_by)
{
    expect("start where " IS("a") " then any middle{2} where " IS("b") " not then np where " IS("c")
           " then end where " IS("d"),
           "a1 b1 c1 b2 d1", "");
}

/* Flink has times(2).optional(); weir spells optional runs {0,2}, which is
 * times(1,2).optional(): the same match here */
Test(flink_not, ignore_state_of_times_with_not_followed_by)
{
    expect("start where " IS("a") " not then np where " IS("b") " then any middle{0,2} where " IS("c")
           " then end where " IS("d"),
           "a1 d1 e1 b1 c1 c2 d2", "[start:a1 end:d1]");
}

Test(flink_not, times_with_not_followed_by_after)
{
    expect("start where " IS("a") " then any middle{2} where " IS("b") " not then np where " IS("c")
           " then end where " IS("d"),
           "a1 d1 e1 b1 b2 c1 d2", "");
}

Test(streams, input_without_steps_still_breaks_next)
{
    /* t is an input of the rule but no step reads it: its events are
     * never taken, yet they are events of the rule, so `next` sees them */
    expect_on(TWO, "a from s where " IS("a") " next b from s where " IS("b"), "a1 ^x1 b1 a2 b2",
              "[a:a2 b:b2]");
    teardown_rule();
}

/* ------------------------------------------------ a live key's memory */

/* One event of stream s, kind from its id's letters, v 0. */
static void push_s(const char *id, int64_t ts, uint64_t seq)
{
    size_t kl = 0;
    while (isalpha((unsigned char)id[kl]))
        kl++;
    weir_value f[S_N] = {weir_value_int(1), weir_value_string(id, kl),
                         weir_value_string(id, strlen(id)), weir_value_int(0),
                         weir_value_millis(ts)};
    cr_assert_eq(weir_pattern_process(fx.rt, fx.key, f, 0, ts, seq, on_match, NULL), 0);
}

/* Between events, a key keeps its start run as a tag in its heap, and a
 * partial match that has taken one event packed (32 bytes for a run, a
 * buffer node and an edge). Each is made whole again for the next event
 * or deadline, and the matches are the same. */
Test(memory, a_key_with_one_partial_match_of_one_event_is_packed)
{
    setup_rule("s by k", A " then " B " within 10s");
    size_t empty = weir_pattern_key_bytes(fx.key);
    /* the key, its heap's array; no 48-byte run for the start state */
    cr_assert_lt(empty, 128, "an empty key takes %zu bytes", empty);
    push_s("a1", 1000, 1);
    size_t one = weir_pattern_key_bytes(fx.key);
    cr_assert_eq(weir_pattern_key_partials(fx.key), 1);
    cr_assert_eq(weir_pattern_key_events(fx.key), 1);
    /* the event's copy (a 32-byte header, 5 fields of 16 bytes, "a" and
     * "a1": a 120-byte block) and the packed run; unpacked, the run, node
     * and edge would take 128 bytes */
    cr_assert_leq(one - empty, 120 + 32, "one partial match takes %zu bytes", one - empty);
    /* and between calls the key lets its buffer's header go: the key's
     * state, the event's copy and the packed run are all */
    cr_assert_lt(one, 200, "the key takes %zu bytes", one);
    cr_assert_eq(weir_pattern_key_next_deadline(fx.rt, fx.key), 11000);
    push_s("x1", 2000, 2); /* taken by no step: the key stays as it was */
    cr_assert_eq(weir_pattern_key_bytes(fx.key), one);
    cr_assert_eq(weir_pattern_advance(fx.rt, fx.key, 5000, on_match, NULL), 0);
    cr_assert_eq(weir_pattern_key_bytes(fx.key), one, "nothing timed out");
    push_s("b1", 6000, 3);
    cr_assert_str_eq(fx.out, "[a:a1 b:b1]");
    cr_assert(weir_pattern_key_idle(fx.key));
    cr_assert_eq(weir_pattern_key_events(fx.key), 0);
    cr_assert_eq(weir_pattern_key_bytes(fx.key), empty);

    /* a packed partial match times out like any other */
    push_s("a2", 7000, 4);
    cr_assert_eq(weir_pattern_key_bytes(fx.key), one);
    cr_assert_eq(weir_pattern_advance(fx.rt, fx.key, 17000, on_match, NULL), 0);
    cr_assert(weir_pattern_key_idle(fx.key));
    cr_assert_eq(weir_pattern_key_events(fx.key), 0);
    cr_assert_str_eq(fx.out, "[a:a1 b:b1]");
    teardown_rule();
}

/* A second partial match, or a second event, and the key is not packed:
 * what it holds is whole until it is down to one run of one event again. */
Test(memory, a_key_packs_again_when_it_is_down_to_one_partial_match)
{
    setup_rule("s by k", "a+ where kind == \"a\" then " B " within 10s");
    push_s("a1", 1000, 1);
    size_t one = weir_pattern_key_bytes(fx.key);
    push_s("a2", 2000, 2); /* a1 a2 and a2: two runs, two events */
    cr_assert_eq(weir_pattern_key_partials(fx.key), 3);
    cr_assert_gt(weir_pattern_key_bytes(fx.key), one + 128);
    /* a1's runs time out at 11000; a2's run alone is left, and packed */
    cr_assert_eq(weir_pattern_advance(fx.rt, fx.key, 11500, on_match, NULL), 0);
    cr_assert_eq(weir_pattern_key_partials(fx.key), 1);
    /* packed again; the heap keeps the array of 4 it grew to instead of
     * the 2 slots in place */
    cr_assert_leq(weir_pattern_key_bytes(fx.key), one + 4 * sizeof(void *), "%zu bytes, %zu",
                  weir_pattern_key_bytes(fx.key), one);
    push_s("b1", 11800, 3);
    cr_assert_str_eq(fx.out, "[a:a2 b:b1]");
    teardown_rule();
}
