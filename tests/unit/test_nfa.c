/* test_nfa.c — the shape of the NFA each pattern construct compiles to.
 *
 * Each test compiles one rule and compares the text dump (nfa_dump.c)
 * exactly: states in order, kinds, flags, every edge with its target and
 * condition. Each expected shape was cross-checked by hand against what
 * Flink's NFACompiler (NFAFactoryCompiler) builds for the equivalent
 * Pattern: the same state names (NFAStateNameHandler: "b", "b:0", ...),
 * the same edges in the same order, the same conditions; the comment of
 * each test names the Flink construct it mirrors. Further tests check the
 * NFA's fields directly (condition programs, bindings, within, skip), the
 * patterns the compiler refuses, and the Graphviz output.
 *
 * Rules are parsed, not checked (the checker is not needed to compile). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/nfa.h"
#include "helpers.h"

#define STREAM "stream s { k int, x int } "
#define RULE STREAM "rule r on s by k match "

typedef struct compiled {
    test_parse *t;
    weir_nfa *nfa;
    const char *why;
} compiled;

static compiled compile_text(const char *text)
{
    compiled c = {test_parse_text(text), NULL, NULL};
    cr_assert(c.t->parsed_ok, "parse failed: %s", c.t->output);
    c.nfa = weir_nfa_compile_why(c.t->prog, c.t->prog->rules, &c.why);
    return c;
}

static void compiled_free(compiled *c)
{
    weir_nfa_free(c->nfa);
    test_parse_free(c->t);
}

static char *dump_with(const compiled *c, bool dot)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert(f);
    if (dot)
        weir_nfa_dump_dot(c->nfa, c->t->prog->rules, f);
    else
        weir_nfa_dump_text(c->nfa, c->t->prog->rules, f);
    fclose(f);
    return buf;
}

/* Compiles `text` and compares its text dump with `expected`. */
static void expect_nfa(const char *text, const char *expected)
{
    compiled c = compile_text(text);
    cr_assert(c.nfa, "compile failed: %s", c.why ? c.why : "?");
    char *got = dump_with(&c, false);
    cr_expect_str_eq(got, expected, "\n--- got ---\n%s--- expected ---\n%s", got, expected);
    free(got);
    compiled_free(&c);
}

/* Compiles `text` and expects a refusal whose reason contains `why`. */
static void expect_refused(const char *text, const char *why)
{
    compiled c = compile_text(text);
    cr_expect_null(c.nfa, "compiled, but should be refused: %s", text);
    cr_assert(c.why, "no reason given");
    cr_expect(strstr(c.why, why), "reason '%s' does not contain '%s'", c.why, why);
    compiled_free(&c);
}

/* ------------------------------------------------------- shape, by construct */

/* begin("a").where(c): one Start state TAKEing into $endState$; begin is
 * STRICT so no IGNORE edge. */
Test(nfa_shape, single_step)
{
    expect_nfa(RULE "a where x > 1",
               "rule r: 2 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> $endState$ [a.where]\n"
               "  $endState$ (final)\n");
}

/* begin(a).next(b): b's consuming strategy is STRICT, so b has no IGNORE
 * edge. */
Test(nfa_shape, next_is_strict)
{
    expect_nfa(RULE "a where x > 1 next b where x < 2",
               "rule r: 3 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [a.where]\n"
               "  b (normal)\n"
               "    take -> $endState$ [b.where]\n"
               "  $endState$ (final)\n");
}

/* begin(a).followedBy(b): SKIP_TILL_NEXT, b ignores events that fail its
 * condition (IGNORE !cond, a self-loop). */
Test(nfa_shape, then_is_skip_till_next)
{
    expect_nfa(RULE "a then b where x < 2",
               "rule r: 3 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> $endState$ [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* begin(a).followedByAny(b): SKIP_TILL_ANY, b ignores every event (IGNORE
 * true) so later b's branch off too. */
Test(nfa_shape, then_any_is_skip_till_any)
{
    expect_nfa(RULE "a then any b where x < 2",
               "rule r: 3 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> $endState$ [b.where]\n"
               "    ignore [true]\n"
               "  $endState$ (final)\n");
}

/* Pattern.getCondition() defaults to BooleanConditions.trueFunction();
 * followedBy's IGNORE is NotCondition(true). */
Test(nfa_shape, step_without_where_is_true)
{
    expect_nfa(RULE "a then b then c",
               "rule r: 4 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> c [true]\n"
               "    ignore [!true]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* notNext(b) in the middle (createMiddleStates, NOT_NEXT): a Normal state
 * named b that PROCEEDs to c on !b and to the Stop state b:0 on b. */
Test(nfa_shape, not_next_middle)
{
    expect_nfa(RULE "a where x > 1 not next b where x < 2 then c",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [a.where]\n"
               "  b (normal)\n"
               "    proceed -> c [!b.where]\n"
               "    proceed -> b:0 [b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (stop)\n"
               "    take [b.where]\n"
               "  $endState$ (final)\n");
}

/* notNext(b) last: the PROCEED to the final state becomes an IGNORE, "so
 * that the proceed to final is not fired" before the next event. */
Test(nfa_shape, not_next_last)
{
    expect_nfa(RULE "a not next b where x < 2",
               "rule r: 4 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    ignore -> $endState$ [!b.where]\n"
               "    proceed -> b:0 [b.where]\n"
               "  $endState$ (final)\n"
               "  b:0 (stop)\n"
               "    take [b.where]\n");
}

/* notFollowedBy(b) in the middle: no state of its own; addStopStates gives
 * d a PROCEED to the Stop state b (b's condition) while it waits. */
Test(nfa_shape, not_then_middle)
{
    expect_nfa(RULE "a then c not then b where x < 2 then d where x > 5",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> c [true]\n"
               "  c (normal)\n"
               "    take -> d [true]\n"
               "    ignore [!true]\n"
               "  d (normal)\n"
               "    take -> $endState$ [d.where]\n"
               "    ignore [!d.where]\n"
               "    proceed -> b [b.where]\n"
               "  $endState$ (final)\n"
               "  b (stop)\n"
               "    take [b.where]\n");
}

/* notFollowedBy(b) last with within (newer Flink): a Pending state that
 * IGNOREs !b, PROCEEDs to Stop on b; a partial match timing out there is a
 * match. */
Test(nfa_shape, not_then_last_absence)
{
    expect_nfa(RULE "a not then b where x < 2 within 10m",
               "rule r: 4 states, within 10m, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (pending)\n"
               "    proceed -> b:0 [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (stop)\n"
               "    take [b.where]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore followed by notFollowedBy: addStopStateToLooping gives the
 * looping state and its IGNORE companion a PROCEED to the Stop state; c
 * stops on n too (addStopStates). */
Test(nfa_shape, not_then_after_loop)
{
    expect_nfa(RULE "a then b+ where x < 2 not then n where x > 9 then c",
               "rule r: 7 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    proceed -> n [n.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "    proceed -> n [n.where]\n"
               "  n (stop)\n"
               "    take [n.where]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "    proceed -> n [n.where]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore then notFollowedBy last with within: the loop PROCEEDs into
 * the Pending state and stops on n (addStopStateToLooping). */
Test(nfa_shape, not_then_last_after_loop)
{
    expect_nfa(RULE "a then b+ where x < 2 not then n where x > 9 within 1h30m",
               "rule r: 7 states, within 1h30m, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> n [true]\n"
               "    take [b.where]\n"
               "    proceed -> n:0 [n.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  n (pending)\n"
               "    proceed -> n:0 [n.where]\n"
               "    ignore [!n.where]\n"
               "  n:0 (stop)\n"
               "    take [n.where]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "    proceed -> n:0 [n.where]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore then notNext: the looping state PROCEEDs to the notNext state,
 * which PROCEEDs on !n to c and on n to Stop. */
Test(nfa_shape, not_next_after_loop)
{
    expect_nfa(RULE "a then b+ where x < 2 not next n where x > 3 then c",
               "rule r: 8 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> n [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  n (normal)\n"
               "    proceed -> c [!n.where]\n"
               "    proceed -> n:0 [n.where]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  n:0 (stop)\n"
               "    take [n.where]\n"
               "  $endState$ (final)\n");
}

/* copyWithoutTransitiveNots: a TAKE in optional b ends the earlier
 * notFollowedBy(n), so b TAKEs into c:0, a copy of c without the PROCEED
 * to Stop n; b, its IGNORE state and c still stop on n. */
Test(nfa_shape, not_then_before_optional)
{
    expect_nfa(RULE "a not then n where x < 0 then b? where x < 2 then c",
               "rule r: 7 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> c:0 [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:0 [!b.where]\n"
               "    proceed -> n [n.where]\n"
               "  c:0 (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "    proceed -> n [n.where]\n"
               "  b:0 (normal)\n"
               "    take -> c:0 [b.where]\n"
               "    ignore [!b.where]\n"
               "    proceed -> n [n.where]\n"
               "  n (stop)\n"
               "    take [n.where]\n"
               "  $endState$ (final)\n");
}

/* optional(): b PROCEEDs to c on true and gets a separate IGNORE state b:0
 * without the PROCEED (createSingletonState, isOptional). */
Test(nfa_shape, optional)
{
    expect_nfa(RULE "a where x > 1 then b? where x < 2 then c",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [a.where]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* optional() followed by next(c): c is STRICT, no IGNORE edge; b's own
 * IGNORE (followedBy) stays. */
Test(nfa_shape, optional_then_strict)
{
    expect_nfa(RULE "a then b? where x < 2 next c where x > 1",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [c.where]\n"
               "  b:0 (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* optional() followed by followedBy(c): c IGNOREs !c. */
Test(nfa_shape, optional_then_relaxed)
{
    expect_nfa(RULE "a then b? where x < 2 then c where x > 1",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [c.where]\n"
               "    ignore [!c.where]\n"
               "  b:0 (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* begin(a).optional(): the Start state PROCEEDs to b; STRICT begin so no
 * IGNORE state. */
Test(nfa_shape, optional_first)
{
    expect_nfa(RULE "a? where x > 1 then b",
               "rule r: 3 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [a.where]\n"
               "    proceed -> b [true]\n"
               "  b (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore(): createLooping (looping b: PROCEED c, TAKE self, IGNORE to
 * b:0) then createTimesState(times 1) adds the head b:1. */
Test(nfa_shape, one_or_more)
{
    expect_nfa(RULE "a then b+ where x < 2 then c",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore().optional(): as +, with the head b:1 optional (PROCEED c and
 * an IGNORE state b:2). */
Test(nfa_shape, zero_or_more)
{
    expect_nfa(RULE "a then b* where x < 2 then c",
               "rule r: 7 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:2 [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:2 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* {0,} is oneOrMore().optional() as well. */
Test(nfa_shape, zero_or_more_braces)
{
    expect_nfa(RULE "a then b{0,} where x < 2 then c",
               "rule r: 7 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:2 [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:2 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* times(3): createTimesState builds b, b:0 (from-1 plain states) and the
 * head b:1. */
Test(nfa_shape, times_exact)
{
    expect_nfa(RULE "a then b{3} where x < 2 then c",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b:0 [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* times(2,4): two optional states (b, b:1, with IGNORE states b:0, b:2)
 * PROCEEDing to c, one plain b:3, head b:4. */
Test(nfa_shape, times_range)
{
    expect_nfa(RULE "a then b{2,4} where x < 2 then c",
               "rule r: 9 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:4 [true]\n"
               "  b:4 (normal)\n"
               "    take -> b:3 [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:3 (normal)\n"
               "    take -> b:1 [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:2 [!b.where]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:2 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* timesOrMore(2): the looping state b plus times(2) in front of it (b:1,
 * head b:2). */
Test(nfa_shape, times_or_more)
{
    expect_nfa(RULE "a then b{2,} where x < 2 then c",
               "rule r: 7 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:2 [true]\n"
               "  b:2 (normal)\n"
               "    take -> b:1 [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* Pattern.times(0,2) is times(1,2).optional(): the head b:1 is optional. */
Test(nfa_shape, times_from_zero)
{
    expect_nfa(RULE "a then b{0,2} where x < 2 then c",
               "rule r: 7 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:2 [!b.where]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:2 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* times(1) builds exactly the singleton. */
Test(nfa_shape, times_one)
{
    expect_nfa(RULE "a then b{1} where x < 2 then c",
               "rule r: 4 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore().greedy(): updateWithGreedyCondition guards every edge of the
 * following state with !b (it may act only on events b would not take). */
Test(nfa_shape, greedy_loop)
{
    expect_nfa(RULE "a then b+ greedy where x < 2 then c where x > 3",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal, greedy)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping, greedy)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [c.where && !b.where]\n"
               "    ignore [!c.where && !b.where]\n"
               "  b:0 (normal, greedy)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* times(1,3).greedy(): updateWithGreedyCondition on c since from != to. */
Test(nfa_shape, greedy_times)
{
    expect_nfa(RULE "a then b{1,3} greedy where x < 2 then c where x > 9",
               "rule r: 8 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:3 [true]\n"
               "  b:3 (normal, greedy)\n"
               "    take -> b:1 [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:1 (normal, greedy)\n"
               "    take -> b [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:2 [!b.where]\n"
               "  b (normal, greedy)\n"
               "    take -> c [b.where]\n"
               "    proceed -> c [true]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [c.where && !b.where]\n"
               "    ignore [!c.where && !b.where]\n"
               "  b:2 (normal, greedy)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal, greedy)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore().consecutive(): inner strategy STRICT, createLooping makes no
 * IGNORE companion; the head b:0 keeps followedBy's IGNORE. */
Test(nfa_shape, consecutive)
{
    expect_nfa(RULE "a then b+ consecutive where x < 2 then c",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:0 [true]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore().allowCombinations(): inner strategy SKIP_TILL_ANY, the inner
 * IGNOREs are true. */
Test(nfa_shape, any_combinations)
{
    expect_nfa(RULE "a then b+ any where x < 2 then c",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [true]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [true]\n"
               "  $endState$ (final)\n");
}

/* times(2,3).consecutive(): inner states have no IGNORE; the head keeps
 * followedBy's. */
Test(nfa_shape, times_consecutive)
{
    expect_nfa(RULE "a then b{2,3} consecutive where x < 2 then c",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b:0 [b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    proceed -> c [true]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* times(2).allowCombinations(): the inner state b IGNOREs true. */
Test(nfa_shape, times_any)
{
    expect_nfa(RULE "a then b{2} any where x < 2 then c",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:0 [true]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [true]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* next(b).oneOrMore().allowCombinations(): head STRICT (no IGNORE), inner
 * SKIP_TILL_ANY. */
Test(nfa_shape, next_any_loop)
{
    expect_nfa(RULE "a next b+ any where x < 2 then c",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [true]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (normal)\n"
               "    take -> b [b.where]\n"
               "    ignore [true]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore().until(u): TAKEs become !u && b, inner IGNOREs !u && !b
 * (extendWithUntilCondition); the head's IGNORE is not extended. */
Test(nfa_shape, until)
{
    expect_nfa(RULE "a then b+ where x < 2 until x > 9 then c",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal)\n"
               "    take -> b [!b.until && b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping)\n"
               "    proceed -> c [true]\n"
               "    take [!b.until && b.where]\n"
               "    ignore -> b:0 [!b.until && !b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (normal)\n"
               "    take -> b [!b.until && b.where]\n"
               "    ignore [!b.until && !b.where]\n"
               "  $endState$ (final)\n");
}

/* greedy() with until(): the loop PROCEEDs on u to c:0, a copy of c made
 * before the greedy guard, and on !u to the guarded c. */
Test(nfa_shape, greedy_until)
{
    expect_nfa(RULE "a then b+ greedy where x < 2 until x > 9 then c where x > 3",
               "rule r: 7 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal, greedy)\n"
               "    take -> b [!b.until && b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping, greedy)\n"
               "    proceed -> c:0 [b.until]\n"
               "    proceed -> c [!b.until]\n"
               "    take [!b.until && b.where]\n"
               "    ignore -> b:0 [!b.until && !b.where]\n"
               "  c:0 (normal)\n"
               "    take -> $endState$ [c.where]\n"
               "    ignore [!c.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [c.where && !b.where]\n"
               "    ignore [!c.where && !b.where]\n"
               "  b:0 (normal, greedy)\n"
               "    take -> b [!b.until && b.where]\n"
               "    ignore [!b.until && !b.where]\n"
               "  $endState$ (final)\n");
}

/* oneOrMore().optional().greedy().until(u): the optional head also
 * PROCEEDs on u to the unguarded copy c:0 (originalStateMap) and on !u to
 * the guarded c. */
Test(nfa_shape, zero_or_more_greedy_until)
{
    expect_nfa(RULE "a then b* greedy where x < 2 until x > 9 then c where x > 3",
               "rule r: 8 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal, greedy)\n"
               "    take -> b [!b.until && b.where]\n"
               "    proceed -> c:0 [b.until]\n"
               "    proceed -> c [!b.until]\n"
               "    ignore -> b:2 [!b.where]\n"
               "  b (normal, looping, greedy)\n"
               "    proceed -> c:0 [b.until]\n"
               "    proceed -> c [!b.until]\n"
               "    take [!b.until && b.where]\n"
               "    ignore -> b:0 [!b.until && !b.where]\n"
               "  c:0 (normal)\n"
               "    take -> $endState$ [c.where]\n"
               "    ignore [!c.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [c.where && !b.where]\n"
               "    ignore [!c.where && !b.where]\n"
               "  b:2 (normal, greedy)\n"
               "    take -> b [!b.until && b.where]\n"
               "    ignore [!b.where]\n"
               "  b:0 (normal, greedy)\n"
               "    take -> b [!b.until && b.where]\n"
               "    ignore [!b.until && !b.where]\n"
               "  $endState$ (final)\n");
}

/* weir extension: the same states as oneOrMore(), flagged reluctant for
 * the engine. */
Test(nfa_shape, reluctant)
{
    expect_nfa(RULE "a then b+? where x < 2 then c",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b:1 [true]\n"
               "  b:1 (normal, reluctant)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  b (normal, looping, reluctant)\n"
               "    proceed -> c [true]\n"
               "    take [b.where]\n"
               "    ignore -> b:0 [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b:0 (normal, reluctant)\n"
               "    take -> b [b.where]\n"
               "    ignore [!b.where]\n"
               "  $endState$ (final)\n");
}

/* Pattern.begin(group).times(2): two copies of the group's states; the
 * head copy uses the group's consuming strategy (begin: STRICT), the
 * second its inner one. */
Test(nfa_shape, group_times)
{
    expect_nfa(RULE "(a where x > 1 then b where x < 2){2} then c",
               "rule r: 6 states, no within, no skip\n"
               "  a:0 (start)\n"
               "    take -> b:0 [a.where]\n"
               "  b:0 (normal)\n"
               "    take -> a [b.where]\n"
               "    ignore [!b.where]\n"
               "  a (normal)\n"
               "    take -> b [a.where]\n"
               "    ignore [!a.where]\n"
               "  b (normal)\n"
               "    take -> c [b.where]\n"
               "    ignore [!b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* followedBy(group).oneOrMore(): createLoopingGroupPatternState, b TAKEs
 * into the (group) loop-back state, which PROCEEDs to a; a may PROCEED out
 * to c. */
Test(nfa_shape, group_looping)
{
    expect_nfa(RULE "z then (a where x > 1 next b where x < 2)+ then c",
               "rule r: 8 states, no within, no skip\n"
               "  z (start)\n"
               "    take -> a:0 [true]\n"
               "  a:0 (normal)\n"
               "    take -> b:0 [a.where]\n"
               "    ignore [!a.where]\n"
               "  b:0 (normal)\n"
               "    take -> a [b.where]\n"
               "  a (normal)\n"
               "    take -> b [a.where]\n"
               "    ignore [!a.where]\n"
               "    proceed -> c [true]\n"
               "  b (normal)\n"
               "    take -> (group) [b.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  (group) (normal, looping)\n"
               "    proceed -> a [true]\n"
               "  $endState$ (final)\n");
}

/* followedBy(group).optional(): createGroupPatternState with isOptional,
 * the group's first state PROCEEDs to c and has an IGNORE state
 * (isHeadOfOptionalGroupPattern). */
Test(nfa_shape, group_optional)
{
    expect_nfa(RULE "z then (a where x > 1 then b)? then c",
               "rule r: 6 states, no within, no skip\n"
               "  z (start)\n"
               "    take -> a [true]\n"
               "  a (normal)\n"
               "    take -> b [a.where]\n"
               "    ignore -> a:0 [!a.where]\n"
               "    proceed -> c [true]\n"
               "  b (normal)\n"
               "    take -> c [true]\n"
               "    ignore [!true]\n"
               "  a:0 (normal)\n"
               "    take -> b [a.where]\n"
               "    ignore [!a.where]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* a looping group with until(): every edge inside the group is guarded by
 * the group's until (getTakeCondition/getTrueFunction with
 * currentGroupPattern). */
Test(nfa_shape, group_until)
{
    expect_nfa(RULE "z then (a then b)+ until x > 9 then c",
               "rule r: 8 states, no within, no skip\n"
               "  z (start)\n"
               "    take -> a:0 [true]\n"
               "  a:0 (normal)\n"
               "    take -> b:0 [!group0.until]\n"
               "    ignore [!group0.until && !true]\n"
               "  b:0 (normal)\n"
               "    take -> a [!group0.until]\n"
               "    ignore [!group0.until && !true]\n"
               "  a (normal)\n"
               "    take -> b [!group0.until]\n"
               "    ignore [!group0.until && !true]\n"
               "    proceed -> c [true]\n"
               "  b (normal)\n"
               "    take -> (group) [!group0.until]\n"
               "    ignore [!group0.until && !true]\n"
               "  c (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  (group) (normal, looping)\n"
               "    proceed -> a [true]\n"
               "  $endState$ (final)\n");
}

/* the card_testing rule of DESIGN.md: timesOrMore(3) then followedBy(big),
 * within 10 minutes. */
Test(nfa_shape, design_card_testing)
{
    expect_nfa("stream payments { card string, amount decimal, merchant string, ts time } rule card_testing on payments by card match probe{3,} where amount < 2.00 then big where amount >= 500 and merchant != probe[-1].merchant within 10m",
               "rule card_testing: 7 states, within 10m, no skip\n"
               "  probe:3 (start)\n"
               "    take -> probe:2 [probe.where]\n"
               "  probe:2 (normal)\n"
               "    take -> probe:1 [probe.where]\n"
               "    ignore [!probe.where]\n"
               "  probe:1 (normal)\n"
               "    take -> probe [probe.where]\n"
               "    ignore [!probe.where]\n"
               "  probe (normal, looping)\n"
               "    proceed -> big [true]\n"
               "    take [probe.where]\n"
               "    ignore -> probe:0 [!probe.where]\n"
               "  big (normal)\n"
               "    take -> $endState$ [big.where]\n"
               "    ignore [!big.where]\n"
               "  probe:0 (normal)\n"
               "    take -> probe [probe.where]\n"
               "    ignore [!probe.where]\n"
               "  $endState$ (final)\n");
}

/* a pattern over two streams sharing a key: each step's condition is ANDed
 * with 'the event is from my stream', as Flink's subtype() ANDs a
 * SubtypeCondition; relaxed steps ignore events of the other stream. */
Test(nfa_shape, multi_stream)
{
    expect_nfa("stream p { card int, amount int } stream l { user int, ok bool } rule r on p by card, l by user match pay from p where amount > 1 then login from l where ok then pay2 from p",
               "rule r: 4 states, no within, no skip\n"
               "  pay (start)\n"
               "    take -> login [pay.stream && pay.where]\n"
               "  login (normal)\n"
               "    take -> pay2 [login.stream && login.where]\n"
               "    ignore [!(login.stream && login.where)]\n"
               "  pay2 (normal)\n"
               "    take -> $endState$ [pay2.stream]\n"
               "    ignore [!pay2.stream]\n"
               "  $endState$ (final)\n");
}

/* weir extension: one state, one TAKE per alternative (each binding its
 * own step), IGNORE !(b || c) as followedBy with condition b.or(c). */
Test(nfa_shape, alternation)
{
    expect_nfa(RULE "a then b where x < 2 | c where x > 5 then d",
               "rule r: 4 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b|c [true]\n"
               "  b|c (normal)\n"
               "    take -> d [b.where] as b\n"
               "    take -> d [c.where] as c\n"
               "    ignore [!(b.where || c.where)]\n"
               "  d (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* alternation after next: no IGNORE edge, c without where TAKEs on true. */
Test(nfa_shape, alternation_strict)
{
    expect_nfa(RULE "a next b where x < 2 | c then d",
               "rule r: 4 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b|c [true]\n"
               "  b|c (normal)\n"
               "    take -> d [b.where] as b\n"
               "    take -> d [true] as c\n"
               "  d (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* a looping group whose only element is an alternation. */
Test(nfa_shape, alternation_in_group)
{
    expect_nfa(RULE "a then (b where x < 2 | c)+ then d",
               "rule r: 6 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b|c:0 [true]\n"
               "  b|c:0 (normal)\n"
               "    take -> b|c [b.where] as b\n"
               "    take -> b|c [true] as c\n"
               "    ignore [!(b.where || true)]\n"
               "  b|c (normal)\n"
               "    take -> (group) [b.where] as b\n"
               "    take -> (group) [true] as c\n"
               "    ignore [!(b.where || true)]\n"
               "    proceed -> d [true]\n"
               "  (group) (normal, looping)\n"
               "    proceed -> b|c [true]\n"
               "  d (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
}

/* notNext over an alternation: the Stop state TAKEs either alternative. */
Test(nfa_shape, alternation_negated)
{
    expect_nfa(RULE "a not next b where x < 2 | c where x > 3 then d",
               "rule r: 5 states, no within, no skip\n"
               "  a (start)\n"
               "    take -> b|c [true]\n"
               "  b|c (normal)\n"
               "    proceed -> d [!(b.where || c.where)]\n"
               "    proceed -> b|c:0 [b.where || c.where]\n"
               "  d (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  b|c:0 (stop)\n"
               "    take [b.where] as b\n"
               "    take [c.where] as c\n"
               "  $endState$ (final)\n");
}

/* ------------------------------------------------------- the NFA's fields */

static const weir_nfa_state *state_named(const weir_nfa *nfa, const char *name)
{
    for (uint32_t i = 0; i < nfa->n_states; i++)
        if (strcmp(nfa->states[i].name, name) == 0)
            return &nfa->states[i];
    cr_assert_fail("no state %s", name);
    return NULL;
}

static const weir_nfa_edge *edge_of(const weir_nfa *nfa, const weir_nfa_state *s,
                                    uint32_t k)
{
    cr_assert(k < s->n_edges);
    return &nfa->edges[s->first_edge + k];
}

/* Conditions are postfix programs: the IGNORE of a followedBy step is
 * WHERE(step) NOT; a TAKE records the step the event binds to. */
Test(nfa_fields, condition_programs_are_postfix)
{
    compiled c = compile_text(RULE "a where x > 1 then b where x < 2");
    cr_assert(c.nfa);
    const weir_nfa_state *b = state_named(c.nfa, "b");
    const weir_nfa_edge *take = edge_of(c.nfa, b, 0);
    const weir_nfa_edge *ignore = edge_of(c.nfa, b, 1);
    cr_expect_eq(take->action, WEIR_NFA_TAKE);
    cr_expect_eq(take->step, 1);
    cr_expect_eq(take->cond_len, 1);
    cr_expect_eq(c.nfa->conds[take->cond].op, WEIR_COND_WHERE);
    cr_expect_eq(c.nfa->conds[take->cond].arg, 1);
    cr_expect_eq(ignore->action, WEIR_NFA_IGNORE);
    cr_expect_eq(ignore->step, -1);
    cr_expect_eq(ignore->target, (uint32_t)(b - c.nfa->states));
    cr_expect_eq(ignore->cond_len, 2);
    cr_expect_eq(c.nfa->conds[ignore->cond].op, WEIR_COND_WHERE);
    cr_expect_eq(c.nfa->conds[ignore->cond + 1].op, WEIR_COND_NOT);
    cr_expect_eq(c.nfa->cond_max_depth, 1);
    compiled_free(&c);
}

/* AND / OR push two operands: NOT(b OR c) needs a stack of two. */
Test(nfa_fields, stack_depth_counts_binary_operators)
{
    compiled c = compile_text(RULE "a then b where x < 2 | c where x > 5");
    cr_assert(c.nfa);
    const weir_nfa_state *alt = state_named(c.nfa, "b|c");
    const weir_nfa_edge *ignore = edge_of(c.nfa, alt, 2);
    cr_expect_eq(ignore->cond_len, 4);
    const weir_nfa_cond *p = c.nfa->conds + ignore->cond;
    cr_expect_eq(p[0].op, WEIR_COND_WHERE);
    cr_expect_eq(p[1].op, WEIR_COND_WHERE);
    cr_expect_eq(p[2].op, WEIR_COND_OR);
    cr_expect_eq(p[3].op, WEIR_COND_NOT);
    cr_expect_eq(c.nfa->cond_max_depth, 2);
    char buf[64];
    cr_expect_str_eq(weir_nfa_cond_text(c.nfa, c.t->prog->rules, ignore, buf, sizeof buf),
                     "!(b.where || c.where)");
    cr_expect_str_eq(weir_nfa_cond_text(c.nfa, c.t->prog->rules, ignore, buf, 6), "!(b.w");
    compiled_free(&c);
}

/* Each alternative's TAKE binds the event to that alternative's step. */
Test(nfa_fields, alternation_binds_each_step)
{
    compiled c = compile_text(RULE "a then b where x < 2 | c where x > 5 then d");
    cr_assert(c.nfa);
    const weir_nfa_state *alt = state_named(c.nfa, "b|c");
    cr_expect_eq(alt->step, -1);
    cr_expect_eq(edge_of(c.nfa, alt, 0)->step, 1);
    cr_expect_eq(edge_of(c.nfa, alt, 1)->step, 2);
    cr_expect_eq(edge_of(c.nfa, alt, 0)->target, edge_of(c.nfa, alt, 1)->target);
    cr_expect_str_eq(c.nfa->states[edge_of(c.nfa, alt, 0)->target].name, "d");
    compiled_free(&c);
}

/* Flink's NFA keeps windowTime and the AfterMatchSkipStrategy (with its
 * pattern name); weir keeps the step index. */
Test(nfa_fields, within_skip_and_timeout)
{
    compiled c = compile_text(RULE "a then b+ then c within 10m skip to last b "
                                   "on timeout emit { x }");
    cr_assert(c.nfa, "%s", c.why);
    cr_expect(c.nfa->has_within);
    cr_expect_eq(c.nfa->within_ms, 600000);
    cr_expect_eq(c.nfa->skip, AST_SKIP_TO_LAST);
    cr_expect_eq(c.nfa->skip_step, 1);
    cr_expect(c.nfa->handle_timeout);
    cr_expect_eq(c.nfa->n_steps, 3);
    compiled_free(&c);
}

Test(nfa_fields, defaults)
{
    compiled c = compile_text(RULE "a then b");
    cr_assert(c.nfa);
    cr_expect_not(c.nfa->has_within);
    cr_expect_eq(c.nfa->within_ms, 0);
    cr_expect_eq(c.nfa->skip, AST_SKIP_NO_SKIP); /* AST_SKIP_DEFAULT folded */
    cr_expect_eq(c.nfa->skip_step, -1);
    cr_expect_not(c.nfa->handle_timeout);
    cr_expect_eq(c.nfa->n_groups, 0);
    compiled_free(&c);
}

Test(nfa_fields, skip_strategies_in_header)
{
    expect_nfa(RULE "a then b skip to first a",
               "rule r: 3 states, no within, skip to first a\n"
               "  a (start)\n"
               "    take -> b [true]\n"
               "  b (normal)\n"
               "    take -> $endState$ [true]\n"
               "    ignore [!true]\n"
               "  $endState$ (final)\n");
    compiled c = compile_text(RULE "a then b skip past last within 1h30m");
    cr_assert(c.nfa);
    char *got = dump_with(&c, false);
    cr_expect(strncmp(got, "rule r: 3 states, within 1h30m, skip past last\n", 47) == 0, "%s", got);
    free(got);
    compiled_free(&c);
}

/* Start is state 0; the final state is $endState$; only the state built by
 * createLooping is flagged looping. */
Test(nfa_fields, kinds_and_looping_flags)
{
    compiled c = compile_text(RULE "a then b+ where x < 2 then c");
    cr_assert(c.nfa);
    cr_expect_eq(c.nfa->start, 0);
    cr_expect_eq(c.nfa->states[0].kind, WEIR_NFA_START);
    cr_expect_eq(c.nfa->states[c.nfa->final_state].kind, WEIR_NFA_FINAL);
    cr_expect_str_eq(c.nfa->states[c.nfa->final_state].name, "$endState$");
    cr_expect_eq(c.nfa->states[c.nfa->final_state].n_edges, 0);
    unsigned looping = 0;
    for (uint32_t i = 0; i < c.nfa->n_states; i++)
        if (c.nfa->states[i].looping) {
            looping++;
            cr_expect_str_eq(c.nfa->states[i].name, "b");
        }
    cr_expect_eq(looping, 1);
    cr_expect_eq(state_named(c.nfa, "b:0")->step, 1);
    cr_expect_eq(state_named(c.nfa, "b:1")->step, 1);
    compiled_free(&c);
}

/* State names are unique, as NFAStateNameHandler guarantees. */
Test(nfa_fields, state_names_are_unique)
{
    compiled c = compile_text(RULE "(a then b){3} then a2{2,5} not then n then c+ greedy then d");
    cr_assert(c.nfa, "%s", c.why);
    for (uint32_t i = 0; i < c.nfa->n_states; i++)
        for (uint32_t k = i + 1; k < c.nfa->n_states; k++)
            cr_expect_str_neq(c.nfa->states[i].name, c.nfa->states[k].name);
    compiled_free(&c);
}

/* Stop and pending states carry the negated step. */
Test(nfa_fields, negated_step_states)
{
    compiled c = compile_text(RULE "a then b not then n where x > 1 within 1d");
    cr_assert(c.nfa);
    const weir_nfa_state *pending = state_named(c.nfa, "n");
    const weir_nfa_state *stop = state_named(c.nfa, "n:0");
    cr_expect_eq(pending->kind, WEIR_NFA_PENDING);
    cr_expect_eq(pending->step, 2);
    cr_expect_eq(stop->kind, WEIR_NFA_STOP);
    cr_expect_eq(stop->step, 2);
    cr_expect_eq(edge_of(c.nfa, stop, 0)->step, 2);
    cr_expect_eq(c.nfa->within_ms, 86400000);
    compiled_free(&c);
}

/* Groups are listed depth first; a group's until is a GROUP_UNTIL leaf
 * naming the group, whose elem holds the expression. */
Test(nfa_fields, group_table_and_group_until)
{
    compiled c = compile_text(RULE "z then (a then (b next c){2})+ until x > 9 then d");
    cr_assert(c.nfa, "%s", c.why);
    cr_expect_eq(c.nfa->n_groups, 2);
    cr_expect_eq(c.nfa->groups[0].first_step, 1);
    cr_expect_eq(c.nfa->groups[0].n_steps, 3);
    cr_expect_not_null(c.nfa->groups[0].elem->quant.until);
    cr_expect_eq(c.nfa->groups[1].first_step, 2);
    cr_expect_eq(c.nfa->groups[1].n_steps, 2);
    bool seen = false;
    for (uint32_t i = 0; i < c.nfa->n_conds; i++)
        if (c.nfa->conds[i].op == WEIR_COND_GROUP_UNTIL) {
            cr_expect_eq(c.nfa->conds[i].arg, 0);
            seen = true;
        }
    cr_expect(seen);
    cr_expect_eq(state_named(c.nfa, "c")->group, 1);
    cr_expect_eq(state_named(c.nfa, "d")->group, -1);
    compiled_free(&c);
}

/* The compiler numbers the steps itself (the checker need not run), and
 * compiling twice gives the same automaton. */
Test(nfa_fields, numbers_steps_and_is_repeatable)
{
    test_parse *t = test_parse_text(RULE "a then b+ then c? then d");
    cr_assert(t->parsed_ok);
    ast_rule *rule = t->prog->rules;
    cr_expect_eq(rule->n_steps, 0);
    weir_nfa *one = weir_nfa_compile(t->prog, rule);
    weir_nfa *two = weir_nfa_compile(t->prog, rule);
    cr_assert(one && two);
    cr_expect_eq(rule->n_steps, 4);
    cr_expect_eq(one->n_states, two->n_states);
    cr_expect_eq(one->n_edges, two->n_edges);
    cr_expect_eq(one->n_conds, two->n_conds);
    cr_expect(memcmp(one->conds, two->conds, one->n_conds * sizeof *one->conds) == 0);
    for (uint32_t i = 0; i < one->n_edges; i++) {
        cr_expect_eq(one->edges[i].target, two->edges[i].target);
        cr_expect_eq(one->edges[i].action, two->edges[i].action);
    }
    weir_nfa_free(one);
    weir_nfa_free(two);
    test_parse_free(t);
}

/* Every edge's target is a state and every program is well formed. */
Test(nfa_fields, programs_are_well_formed)
{
    compiled c = compile_text(RULE "a then (b where x < 1 | c)+ then d+ greedy where x > 2 "
                                   "until x > 8 not then n then e? then f within 1m");
    cr_assert(c.nfa, "%s", c.why);
    for (uint32_t i = 0; i < c.nfa->n_edges; i++) {
        const weir_nfa_edge *e = &c.nfa->edges[i];
        cr_assert_lt(e->target, c.nfa->n_states);
        cr_assert_geq(e->cond_len, 1);
        int depth = 0, max = 0;
        for (uint32_t k = 0; k < e->cond_len; k++) {
            switch (c.nfa->conds[e->cond + k].op) {
            case WEIR_COND_NOT: cr_assert_geq(depth, 1); break;
            case WEIR_COND_AND:
            case WEIR_COND_OR: cr_assert_geq(depth, 2); depth--; break;
            default: depth++; break;
            }
            if (depth > max)
                max = depth;
        }
        cr_expect_eq(depth, 1);
        cr_expect_leq((uint32_t)max, c.nfa->cond_max_depth);
        if (e->action == WEIR_NFA_TAKE)
            cr_expect(e->step >= 0 && (uint32_t)e->step < c.nfa->n_steps);
        else
            cr_expect_eq(e->step, -1);
    }
    compiled_free(&c);
}

Test(nfa_fields, free_accepts_null)
{
    weir_nfa_free(NULL);
}

Test(nfa_fields, names_of_lists)
{
    cr_expect_str_eq(weir_nfa_state_kind_name(WEIR_NFA_PENDING), "pending");
    cr_expect_str_eq(weir_nfa_action_name(WEIR_NFA_PROCEED), "proceed");
    cr_expect_str_eq(weir_nfa_cond_op_name(WEIR_COND_UNTIL), "until");
}

/* ---------------------------------------------------------------- refusals */

Test(nfa_refused, window_rule)
{
    expect_refused(STREAM "rule w on s by k window tumbling 1h emit { k }", "no pattern");
}

/* NFACompiler.compileFactory: notFollowedBy last needs a window. */
Test(nfa_refused, absence_without_within)
{
    expect_refused(RULE "a not then b", "needs 'within'");
}

/* Quantifier.greedy(): "Option not applicable to singleton quantifier". */
Test(nfa_refused, greedy_optional_single)
{
    expect_refused(RULE "a then b? greedy", "'greedy' does not apply to a single");
}

/* Pattern.greedy(): checkIfNoGroupPattern. */
Test(nfa_refused, greedy_group)
{
    expect_refused(RULE "a then (b then c)+ greedy then d", "group");
}

/* Quantifier: greedy and allowCombinations exclude each other. */
Test(nfa_refused, greedy_any)
{
    expect_refused(RULE "a then b+ greedy any then c", "'any'");
}

/* Pattern.until(): only on looping quantifiers. */
Test(nfa_refused, until_on_single_and_times)
{
    expect_refused(RULE "a then b until x > 1", "'until' applies only");
    expect_refused(RULE "a then b{2,3} until x > 1 then c", "'until' applies only");
}

/* Quantifier.consecutive() / allowCombinations(): looping or times only. */
Test(nfa_refused, consecutive_on_single)
{
    expect_refused(RULE "a then b consecutive", "repeated step");
    expect_refused(RULE "a then b? any", "repeated step");
}

/* Pattern.checkIfNoNotPattern: no quantifier on a negated element. */
Test(nfa_refused, negated_with_quantifier)
{
    expect_refused(RULE "a not then b+ then c", "negated element");
}

/* Pattern.notFollowedBy / notNext after optional(): "an optional path to
 * NOT condition is not supported yet". */
Test(nfa_refused, negation_after_optional)
{
    expect_refused(RULE "a then b? not then c then d", "optional");
    expect_refused(RULE "a then b* not next c then d", "optional");
}

/* Pattern.optional(): checkIfPreviousPatternGreedy. */
Test(nfa_refused, optional_after_greedy)
{
    expect_refused(RULE "a then b+ greedy then c? then d", "follow a greedy");
}

Test(nfa_refused, bad_bounds)
{
    expect_refused(RULE "a then b{0} then c", "quantifier");
    expect_refused(RULE "a then b{3,2} then c", "quantifier");
    expect_refused(RULE "a then b{1001} then c", "larger than 1000");
}

Test(nfa_refused, too_many_states)
{
    expect_refused(RULE "a then ((b{900}){900}){900} then c", "too many states");
}

/* Weir's restriction: alternatives are single steps. */
Test(nfa_refused, alternation_of_runs)
{
    expect_refused(RULE "a then b | c+ then d", "alternative");
    expect_refused(RULE "a then b | (c then e) then d", "alternative");
}

/* Flink silently drops a notFollowedBy that ends a group; weir refuses. */
Test(nfa_refused, not_then_ending_group)
{
    expect_refused(RULE "a then (b not then c) then d", "cannot end a group");
}

/* A repeated group that can take no event would PROCEED in a circle. */
Test(nfa_refused, empty_repeated_group)
{
    expect_refused(RULE "a then (b? then c?)+ then d", "at least one event");
}

/* AfterMatchSkipStrategy names a pattern that must exist
 * (checkPatternSkipStrategy). */
Test(nfa_refused, skip_to_unknown_step)
{
    expect_refused(RULE "a then b skip to first zz", "skip");
}

/* -------------------------------------------------------------------- dot */

Test(nfa_dot, is_a_digraph)
{
    compiled c = compile_text(RULE "a where x > 1 then b+ where x < 2 not then n "
                                   "where x == 3 within 10m");
    cr_assert(c.nfa);
    char *dot = dump_with(&c, true);
    cr_expect(strncmp(dot, "digraph \"r\" {\n", 14) == 0, "%s", dot);
    cr_expect(strstr(dot, "entry -> s0;"));
    cr_expect(strstr(dot, "s0 [label=\"a\", penwidth=2];"));
    cr_expect(strstr(dot, "shape=diamond"));    /* pending */
    cr_expect(strstr(dot, "shape=octagon"));    /* stop */
    cr_expect(strstr(dot, "shape=doublecircle"));
    cr_expect(strstr(dot, "[label=\"take\\nb.where\"]"), "%s", dot);
    cr_expect(strstr(dot, "[label=\"ignore\\n!b.where\", style=dashed]"));
    cr_expect(strstr(dot, "style=dotted"));
    cr_expect(strstr(dot, "label=\"b\\n(looping)\""));
    int depth = 0, quotes = 0;
    for (const char *p = dot; *p; p++) {
        if (*p == '\\') {
            p++;
            continue;
        }
        if (*p == '"')
            quotes++;
        else if (!(quotes & 1) && *p == '{')
            depth++;
        else if (!(quotes & 1) && *p == '}')
            depth--;
        cr_assert_geq(depth, 0);
    }
    cr_expect_eq(depth, 0);
    cr_expect_eq(quotes % 2, 0);
    cr_expect(strcmp(dot + strlen(dot) - 2, "}\n") == 0);
    free(dot);
    compiled_free(&c);
}

Test(nfa_dot, one_line_per_state_and_edge)
{
    compiled c = compile_text(RULE "a then b | c then d+ then e");
    cr_assert(c.nfa);
    char *dot = dump_with(&c, true);
    unsigned arrows = 0, nodes = 0;
    for (const char *line = dot; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > 3 && strncmp(line, "  s", 3) == 0) {
            if (memmem(line, len, " -> ", 4))
                arrows++;
            else
                nodes++;
        }
    }
    arrows++; /* entry -> s0 */
    cr_expect_eq(arrows, c.nfa->n_edges + 1); /* + entry -> s0 */
    cr_expect_eq(nodes, c.nfa->n_states);
    free(dot);
    compiled_free(&c);
}
