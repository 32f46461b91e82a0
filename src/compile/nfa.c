/* nfa.c — compile a pattern rule into an NFA the way FlinkCEP does.
 *
 * weir promises FlinkCEP's matches, so this file re-derives the
 * construction of Flink's NFACompiler.NFAFactoryCompiler (the Flink 1.17+
 * form, with Pending states and greedy-by-guard) over weir's syntax tree.
 * The functions below carry the names of the Flink methods they mirror, so
 * the two can be read side by side.
 *
 * From weir's AST to Flink's Pattern. Each sequence of elements becomes a
 * chain of `pat` records linked backwards through `prev` (Flink's
 * Pattern.getPrevious()); the compiler starts from the LAST element and
 * walks back, building states from the final state towards the start:
 *
 *   connector FIRST / NEXT       begin() / next()      consuming STRICT
 *   THEN / THEN ANY              followedBy / followedByAny
 *                                                      SKIP_TILL_NEXT / _ANY
 *   NOT NEXT / NOT THEN          notNext / notFollowedBy
 *   ?         optional()             +      oneOrMore()
 *   *, {0,}   oneOrMore().optional() {n,}   timesOrMore(n)
 *   {n}       times(n)               {n,m}  times(n,m); {0,m} is
 *                                           times(1,m).optional(), as
 *                                           Pattern.times(0,m) does
 *   greedy    greedy()               consecutive / any  consecutive() /
 *                                           allowCombinations() (the inner
 *                                           consuming strategy: STRICT /
 *                                           SKIP_TILL_ANY; default
 *                                           SKIP_TILL_NEXT)
 *   until c   until(c)               ( ... )  a GroupPattern
 *
 * A step's condition (Flink's Pattern.getCondition()) is WHERE(step), or
 * TRUE without `where`; in a rule with several inputs it is ANDed with
 * STREAM(step), as Flink's subtype() ANDs a SubtypeCondition.
 *
 * Alternation (`a | b`, which Flink lacks) is compiled like a singleton
 * step whose condition is the OR of the alternatives, except that it gets
 * one TAKE edge per alternative, each binding the event to its own step:
 * IGNORE conditions (NOT of the pattern condition) become NOT(a OR b), and
 * everything that uses "the take condition" of the element (stop states,
 * greedy guards) uses the set of alternatives. Alternatives must be single
 * steps without quantifier, group or `until`: an alternation of runs would
 * need per-branch ignore conditions that know about the other branches,
 * which this model does not express soundly, so it is refused.
 *
 * Reluctant quantifiers (weir's extension) build exactly the states of the
 * same quantifier without `reluctant`, flagged `reluctant` for the engine
 * (see nfa.h).
 *
 * Conditions are built as a small tree in a pool while compiling (Flink's
 * AndCondition / OrCondition / NotCondition, with AND(TRUE, x) folded to x
 * and NOT(NOT x) to x), then each edge's tree is flattened into a postfix
 * program. States are kept in growable arrays while building (Flink's
 * greedy handling rewrites the edges of states already built, and copy()
 * duplicates them), then packed: start first, breadth first.
 *
 * Memory: the compiler owns all its scratch arrays and frees them on every
 * path; the NFA is one struct plus five arrays. Allocation failure aborts,
 * as in util/arena.c. */
#include "compile/nfa.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- allocation */

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("weir: out of memory compiling a pattern\n", stderr);
        abort();
    }
    return q;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("weir: out of memory compiling a pattern\n", stderr);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

/* Grows *arr (of *cap elements of `size` bytes) to hold at least `need`. */
static void grow(void **arr, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return;
    uint32_t n = *cap ? *cap * 2 : 8;
    while (n < need)
        n *= 2;
    *arr = xrealloc(*arr, (size_t)n * size);
    *cap = n;
}

/* ---------------------------------------------------------------- names */

const char *weir_nfa_state_kind_name(weir_nfa_state_kind kind)
{
    switch (kind) {
#define WEIR_NFA_KIND_CASE(name, text) case WEIR_NFA_##name: return text;
    WEIR_NFA_STATE_KIND_LIST(WEIR_NFA_KIND_CASE)
#undef WEIR_NFA_KIND_CASE
    }
    return "?";
}

const char *weir_nfa_action_name(weir_nfa_action action)
{
    switch (action) {
#define WEIR_NFA_ACTION_CASE(name, text) case WEIR_NFA_##name: return text;
    WEIR_NFA_ACTION_LIST(WEIR_NFA_ACTION_CASE)
#undef WEIR_NFA_ACTION_CASE
    }
    return "?";
}

const char *weir_nfa_cond_op_name(weir_nfa_cond_op op)
{
    switch (op) {
#define WEIR_NFA_COND_CASE(name, text, pops, leaf) case WEIR_COND_##name: return text;
    WEIR_NFA_COND_LIST(WEIR_NFA_COND_CASE)
#undef WEIR_NFA_COND_CASE
    }
    return "?";
}

/* ------------------------------------------------------- compile-time view */

/* Flink's Quantifier.ConsumingStrategy. */
typedef enum strategy {
    CS_STRICT,
    CS_SKIP_TILL_NEXT,
    CS_SKIP_TILL_ANY,
    CS_NOT_FOLLOW,
    CS_NOT_NEXT,
} strategy;

#define C_NONE (-1) /* Flink's null condition (no IGNORE edge) */
#define C_TRUE 0    /* node 0 of the pool is always TRUE */

/* One condition tree node; a, b are node ids. */
typedef struct cnode {
    uint8_t op;
    uint32_t arg;
    int32_t a, b;
} cnode;

/* (step, condition) pairs: the TAKE edges an element contributes. */
typedef struct tpair {
    int32_t step;
    int32_t cond;
} tpair;

typedef struct tset {
    uint32_t first, n; /* into cc.tp */
} tset;

typedef enum pat_kind { PAT_STEP, PAT_ALT, PAT_GROUP } pat_kind;

/* One element of a sequence as Flink's Pattern sees it. */
typedef struct pat {
    const ast_elem *elem;
    struct pat *prev;   /* Pattern.getPrevious(); NULL at a sequence head */
    pat_kind kind;
    const char *name;   /* state base name */
    int32_t step;       /* PAT_STEP: the step index; else -1 */
    strategy cs;        /* getConsumingStrategy() */
    strategy inner;     /* getInnerConsumingStrategy() */
    bool looping, times, optional, greedy, reluctant;
    int64_t from, to;   /* getTimes() */
    int32_t until;      /* condition node of getUntilCondition(), C_NONE */
    struct pat *raw;    /* PAT_GROUP: GroupPattern.getRawPattern(), the
                           last element of the inner sequence */
    int32_t group;      /* PAT_GROUP: its index in cc.groups */
    bool first_of_loop; /* NFAFactoryCompiler.firstOfLoopMap, default true */
} pat;

typedef struct cedge {
    weir_nfa_action action;
    int32_t target;
    int32_t step;
    int32_t cond;
} cedge;

typedef struct cstate {
    char *name;        /* owned */
    const char *base;  /* NFAStateNameHandler.getOriginalNameFromInternal */
    weir_nfa_state_kind kind;
    int32_t step, group;
    bool looping, greedy, reluctant;
    cedge *e;
    uint32_t n, cap;
} cstate;

typedef struct name_count {
    const char *base;
    uint32_t next; /* next ":k" suffix to hand out */
} name_count;

typedef struct pat_state {
    const void *key;
    int32_t state;
} pat_state;

typedef struct name_state {
    const char *name;
    int32_t state;
} name_state;

/* Flink's NFAFactoryCompiler: everything shared by the methods. */
typedef struct cc {
    const ast_rule *rule;
    bool multi_stream;
    const char *why; /* first error, a static string */

    cnode *nodes;
    uint32_t n_nodes, cap_nodes;
    tpair *tp;
    uint32_t n_tp, cap_tp;
    cstate *st;
    uint32_t n_st, cap_st;
    pat **pats; /* every pat, to free */
    uint32_t n_pats, cap_pats;
    char **strs; /* names built for alternations, to free */
    uint32_t n_strs, cap_strs;
    weir_nfa_group *groups;
    uint32_t n_groups, cap_groups;
    name_count *names;
    uint32_t n_names, cap_names;
    pat_state *stops; /* stopStates, keyed by the negated element */
    uint32_t n_stops, cap_stops;
    name_state *orig; /* originalStateMap, keyed by state name */
    uint32_t n_orig, cap_orig;

    pat *cur;       /* currentPattern */
    pat *following; /* followingPattern */
    pat *group;     /* currentGroupPattern */
    int depth;      /* recursion guard for copyWithoutTransitiveNots */
} cc;

#define MAX_STATES 200000
#define MAX_ESTIMATE 1000000
#define MAX_COPY_DEPTH 256

static void fail(cc *c, const char *why)
{
    if (!c->why)
        c->why = why;
}

/* ------------------------------------------------------------- conditions */

static int32_t cn_new(cc *c, weir_nfa_cond_op op, uint32_t arg, int32_t a, int32_t b)
{
    grow((void **)&c->nodes, &c->cap_nodes, c->n_nodes + 1, sizeof *c->nodes);
    cnode *n = &c->nodes[c->n_nodes];
    n->op = (uint8_t)op;
    n->arg = arg;
    n->a = a;
    n->b = b;
    return (int32_t)c->n_nodes++;
}

static int32_t cn_leaf(cc *c, weir_nfa_cond_op op, uint32_t arg)
{
    return cn_new(c, op, arg, C_NONE, C_NONE);
}

static int32_t cn_not(cc *c, int32_t a)
{
    if (c->nodes[a].op == WEIR_COND_NOT)
        return c->nodes[a].a;
    return cn_new(c, WEIR_COND_NOT, 0, a, C_NONE);
}

static int32_t cn_and(cc *c, int32_t a, int32_t b)
{
    if (c->nodes[a].op == WEIR_COND_TRUE)
        return b;
    if (c->nodes[b].op == WEIR_COND_TRUE)
        return a;
    return cn_new(c, WEIR_COND_AND, 0, a, b);
}

static int32_t cn_or(cc *c, int32_t a, int32_t b)
{
    return cn_new(c, WEIR_COND_OR, 0, a, b);
}

/* The condition of one step: Pattern.getCondition() of a simple pattern. */
static int32_t step_condition(cc *c, uint32_t step)
{
    const ast_step *s = c->rule->steps[step];
    int32_t cond = s->where ? cn_leaf(c, WEIR_COND_WHERE, step) : C_TRUE;
    if (c->multi_stream)
        cond = cn_and(c, cn_leaf(c, WEIR_COND_STREAM, step), cond);
    return cond;
}

/* Pattern.getCondition(): an alternation's is the OR of its steps'; a
 * group's is Flink's default, TRUE. */
static int32_t pat_condition(cc *c, const pat *p)
{
    switch (p->kind) {
    case PAT_STEP:
        return step_condition(c, (uint32_t)p->step);
    case PAT_ALT: {
        int32_t cond = C_NONE;
        for (const ast_elem *a = p->elem->alts; a; a = a->next) {
            int32_t one = step_condition(c, a->step.index);
            cond = cond == C_NONE ? one : cn_or(c, cond, one);
        }
        return cond;
    }
    case PAT_GROUP:
        return C_TRUE;
    }
    return C_TRUE;
}

static tset tset_begin(cc *c)
{
    tset t = {c->n_tp, 0};
    return t;
}

static void tset_add(cc *c, tset *t, int32_t step, int32_t cond)
{
    grow((void **)&c->tp, &c->cap_tp, c->n_tp + 1, sizeof *c->tp);
    c->tp[c->n_tp].step = step;
    c->tp[c->n_tp].cond = cond;
    c->n_tp++;
    t->n++;
}

/* The OR of a take set: the element's condition as one predicate. */
static int32_t tset_any(cc *c, tset t)
{
    int32_t cond = c->tp[t.first].cond;
    for (uint32_t i = 1; i < t.n; i++)
        cond = cn_or(c, cond, c->tp[t.first + i].cond);
    return cond;
}

/* extendWithUntilCondition: AND(NOT until, cond); for a TAKE, a null
 * condition becomes NOT until; an absent IGNORE stays absent. */
static int32_t extend_with_until(cc *c, int32_t cond, int32_t until, bool is_take)
{
    if (until != C_NONE && cond != C_NONE)
        return cn_and(c, cn_not(c, until), cond);
    if (until != C_NONE && is_take)
        return cn_not(c, until);
    return cond;
}

static tset extend_set_with_until(cc *c, tset t, int32_t until)
{
    if (until == C_NONE)
        return t;
    tset out = tset_begin(c);
    for (uint32_t i = 0; i < t.n; i++) {
        tpair pr = c->tp[t.first + i];
        tset_add(c, &out, pr.step, extend_with_until(c, pr.cond, until, true));
    }
    return out;
}

static int32_t group_until(cc *c)
{
    return c->group ? c->group->until : C_NONE;
}

/* getTakeCondition: the pattern's condition(s), extended with the until of
 * the enclosing group. */
static tset get_take_condition(cc *c, const pat *p)
{
    tset t = tset_begin(c);
    int32_t gu = group_until(c);
    if (p->kind == PAT_ALT) {
        for (const ast_elem *a = p->elem->alts; a; a = a->next)
            tset_add(c, &t, (int32_t)a->step.index,
                     extend_with_until(c, step_condition(c, a->step.index), gu, true));
    } else {
        tset_add(c, &t, p->step, extend_with_until(c, pat_condition(c, p), gu, true));
    }
    return t;
}

/* getTrueFunction */
static int32_t get_true_function(cc *c)
{
    return extend_with_until(c, C_TRUE, group_until(c), true);
}

/* headOfGroup */
static bool head_of_group(const cc *c, const pat *p)
{
    return c->group && !p->prev;
}

/* isHeadOfOptionalGroupPattern */
static bool head_of_optional_group(const cc *c, const pat *p)
{
    return head_of_group(c, p) && c->group->first_of_loop && c->group->optional;
}

static int32_t ignore_for(cc *c, const pat *p, strategy s)
{
    int32_t cond = C_NONE;
    switch (s) {
    case CS_STRICT: cond = C_NONE; break;
    case CS_SKIP_TILL_NEXT: cond = cn_not(c, pat_condition(c, p)); break;
    case CS_SKIP_TILL_ANY: cond = C_TRUE; break;
    case CS_NOT_FOLLOW:
    case CS_NOT_NEXT: cond = C_NONE; break;
    }
    return extend_with_until(c, cond, group_until(c), false);
}

/* getIgnoreCondition: by the consuming strategy; the head of a group uses
 * the group's (or, inside a repetition, the group's inner) strategy. */
static int32_t get_ignore_condition(cc *c, const pat *p)
{
    strategy s = p->cs;
    if (head_of_group(c, p))
        s = c->group->first_of_loop ? c->group->cs : c->group->inner;
    return ignore_for(c, p, s);
}

/* getInnerIgnoreCondition: between the events of one repetition. */
static int32_t get_inner_ignore_condition(cc *c, const pat *p)
{
    strategy s = p->inner;
    if (head_of_group(c, p))
        s = c->group->inner;
    return ignore_for(c, p, s);
}

/* ----------------------------------------------------------------- states */

/* NFAStateNameHandler.getUniqueInternalName: "base", then "base:0",
 * "base:1", ... Bases never contain ':', so one counter per base gives
 * exactly Flink's first unused candidate. */
static char *unique_name(cc *c, const char *base)
{
    name_count *nc = NULL;
    for (uint32_t i = 0; i < c->n_names; i++)
        if (strcmp(c->names[i].base, base) == 0)
            nc = &c->names[i];
    if (!nc) {
        grow((void **)&c->names, &c->cap_names, c->n_names + 1, sizeof *c->names);
        nc = &c->names[c->n_names++];
        nc->base = base;
        nc->next = 0;
        return xstrdup(base);
    }
    size_t n = strlen(base) + 16;
    char *s = xrealloc(NULL, n);
    snprintf(s, n, "%s:%u", base, (unsigned)nc->next++);
    return s;
}

/* createState */
static int32_t create_state(cc *c, const char *base, weir_nfa_state_kind kind,
                            const pat *p)
{
    if (c->n_st >= MAX_STATES) {
        fail(c, "the pattern needs too many states");
        return 0;
    }
    grow((void **)&c->st, &c->cap_st, c->n_st + 1, sizeof *c->st);
    cstate *s = &c->st[c->n_st];
    memset(s, 0, sizeof *s);
    s->base = base;
    s->name = unique_name(c, base);
    s->kind = kind;
    s->step = p ? p->step : -1;
    s->group = c->group ? c->group->group : -1;
    s->greedy = p && p->greedy;
    s->reluctant = p && p->reluctant;
    return (int32_t)c->n_st++;
}

static void add_edge(cc *c, int32_t from, weir_nfa_action action, int32_t to,
                     int32_t cond, int32_t step)
{
    cstate *s = &c->st[from];
    grow((void **)&s->e, &s->cap, s->n + 1, sizeof *s->e);
    cedge *e = &s->e[s->n++];
    e->action = action;
    e->target = to;
    e->cond = cond;
    e->step = action == WEIR_NFA_TAKE ? step : -1;
}

static void add_takes(cc *c, int32_t from, int32_t to, tset t)
{
    for (uint32_t i = 0; i < t.n; i++)
        add_edge(c, from, WEIR_NFA_TAKE, to, c->tp[t.first + i].cond,
                 c->tp[t.first + i].step);
}

static void add_proceed(cc *c, int32_t from, int32_t to, int32_t cond)
{
    add_edge(c, from, WEIR_NFA_PROCEED, to, cond, -1);
}

static void add_ignore(cc *c, int32_t from, int32_t to, int32_t cond)
{
    add_edge(c, from, WEIR_NFA_IGNORE, to, cond, -1);
}

/* createStopState: one stop state per negated element, shared by every
 * state that can stop on it; it TAKEs the negated event. */
static int32_t create_stop_state(cc *c, const pat *neg, tset take)
{
    for (uint32_t i = 0; i < c->n_stops; i++)
        if (c->stops[i].key == neg)
            return c->stops[i].state;
    int32_t s = create_state(c, neg->name, WEIR_NFA_STOP, neg);
    add_takes(c, s, s, take);
    grow((void **)&c->stops, &c->cap_stops, c->n_stops + 1, sizeof *c->stops);
    c->stops[c->n_stops].key = neg;
    c->stops[c->n_stops].state = s;
    c->n_stops++;
    return s;
}

static bool is_stop_of(const cc *c, int32_t state, const pat *neg)
{
    for (uint32_t i = 0; i < c->n_stops; i++)
        if (c->stops[i].key == neg)
            return c->stops[i].state == state;
    return false;
}

/* getCurrentNotCondition: the `not then` elements before the current one
 * that are still in force, i.e. reachable backwards through optional
 * elements. Returns how many were written to out (at most max). */
static uint32_t current_nots(const cc *c, const pat **out, uint32_t max)
{
    uint32_t n = 0;
    const pat *q = c->cur;
    while (q->prev && (q->prev->optional || q->prev->cs == CS_NOT_FOLLOW)) {
        q = q->prev;
        if (q->cs == CS_NOT_FOLLOW && n < max)
            out[n++] = q;
    }
    return n;
}

static uint32_t seq_length(const pat *p)
{
    uint32_t n = 0;
    for (; p; p = p->prev)
        n++;
    return n;
}

/* copy(): a duplicate with self-loops pointing at the duplicate. */
static int32_t copy_state(cc *c, int32_t src)
{
    int32_t cp = create_state(c, c->st[src].base, c->st[src].kind, NULL);
    c->st[cp].step = c->st[src].step;
    c->st[cp].group = c->st[src].group;
    c->st[cp].looping = c->st[src].looping;
    c->st[cp].greedy = c->st[src].greedy;
    c->st[cp].reluctant = c->st[src].reluctant;
    for (uint32_t i = 0; i < c->st[src].n; i++) {
        cedge e = c->st[src].e[i];
        add_edge(c, cp, e.action, e.target == src ? cp : e.target, e.cond, e.step);
    }
    return cp;
}

/* copyWithoutTransitiveNots: taking an event in an optional element ends
 * the `not then` elements before it, so the state it TAKEs into must not
 * stop on them: a copy of `sink` without those PROCEEDs to stop states
 * (recursively along PROCEED edges). Only made when needed. */
static int32_t copy_without_transitive_nots(cc *c, int32_t sink)
{
    uint32_t max = seq_length(c->cur);
    const pat **nots = xcalloc(max, sizeof *nots);
    uint32_t n = current_nots(c, nots, max);
    if (n == 0 || !c->cur->optional) {
        free(nots);
        return sink;
    }
    if (++c->depth > MAX_COPY_DEPTH) {
        fail(c, "the pattern's optional elements nest too deeply");
        c->depth--;
        free(nots);
        return sink;
    }
    int32_t cp = create_state(c, c->st[sink].base, c->st[sink].kind, NULL);
    c->st[cp].step = c->st[sink].step;
    c->st[cp].group = c->st[sink].group;
    c->st[cp].looping = c->st[sink].looping;
    c->st[cp].greedy = c->st[sink].greedy;
    c->st[cp].reluctant = c->st[sink].reluctant;
    for (uint32_t i = 0; i < c->st[sink].n; i++) {
        cedge e = c->st[sink].e[i];
        if (e.action == WEIR_NFA_PROCEED) {
            int32_t target = e.target;
            bool remove = false;
            if (c->st[target].kind == WEIR_NFA_STOP) {
                for (uint32_t k = 0; k < n; k++)
                    if (is_stop_of(c, target, nots[k]))
                        remove = true;
            } else {
                target = copy_without_transitive_nots(c, target);
            }
            if (!remove)
                add_edge(c, cp, e.action, target, e.cond, e.step);
        } else {
            add_edge(c, cp, e.action, e.target == sink ? cp : e.target, e.cond, e.step);
        }
    }
    c->depth--;
    free(nots);
    return cp;
}

/* addStopStates: PROCEED to the stop state of every `not then` still in
 * force before the current element. */
static void add_stop_states(cc *c, int32_t state)
{
    uint32_t max = seq_length(c->cur);
    const pat **nots = xcalloc(max, sizeof *nots);
    uint32_t n = current_nots(c, nots, max);
    for (uint32_t i = 0; i < n; i++) {
        tset t = get_take_condition(c, nots[i]);
        int32_t stop = create_stop_state(c, nots[i], t);
        add_proceed(c, state, stop, tset_any(c, t));
    }
    free(nots);
}

/* addStopStateToLooping: the inner states of a repetition followed by
 * `not then x` stop on x. */
static void add_stop_state_to_looping(cc *c, int32_t state)
{
    if (c->following && c->following->cs == CS_NOT_FOLLOW) {
        tset t = get_take_condition(c, c->following);
        int32_t stop = create_stop_state(c, c->following, t);
        add_proceed(c, state, stop, tset_any(c, t));
    }
}

/* updateWithGreedyCondition: a greedy element keeps the events it can
 * take, so the states after it may only act on events it would not take. */
static void update_with_greedy_condition(cc *c, int32_t state, int32_t take)
{
    int32_t not_take = cn_not(c, take);
    for (uint32_t i = 0; i < c->st[state].n; i++)
        c->st[state].e[i].cond = cn_and(c, c->st[state].e[i].cond, not_take);
}

static void orig_put(cc *c, const char *name, int32_t state)
{
    for (uint32_t i = 0; i < c->n_orig; i++)
        if (strcmp(c->orig[i].name, name) == 0) {
            c->orig[i].state = state;
            return;
        }
    grow((void **)&c->orig, &c->cap_orig, c->n_orig + 1, sizeof *c->orig);
    c->orig[c->n_orig].name = name;
    c->orig[c->n_orig].state = state;
    c->n_orig++;
}

static int32_t orig_get(const cc *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_orig; i++)
        if (strcmp(c->orig[i].name, name) == 0)
            return c->orig[i].state;
    return -1;
}

static void set_first_of_loop(cc *c, bool first)
{
    if (c->cur->kind == PAT_GROUP)
        c->cur->first_of_loop = first;
}

static int32_t convert_pattern(cc *c, int32_t sink);
static int32_t create_middle_states(cc *c, int32_t sink);

/* createGroupPatternState: the group's inner sequence, built towards
 * `sink`; an optional group's first state may PROCEED past it. */
static int32_t create_group_pattern_state(cc *c, pat *g, int32_t sink,
                                          int32_t proceed, bool optional)
{
    int32_t pc = get_true_function(c);
    pat *old_cur = c->cur, *old_following = c->following, *old_group = c->group;
    c->group = g;
    c->cur = g->raw;
    int32_t last = create_middle_states(c, sink);
    last = convert_pattern(c, last);
    if (optional)
        add_proceed(c, last, proceed, pc);
    c->cur = old_cur;
    c->following = old_following;
    c->group = old_group;
    return last;
}

/* createLoopingGroupPatternState: the group's inner sequence ending in a
 * loop-back state that PROCEEDs to the group's first state, which may
 * PROCEED out to `sink`. */
static int32_t create_looping_group_pattern_state(cc *c, pat *g, int32_t sink)
{
    int32_t pc = get_true_function(c);
    pat *old_cur = c->cur, *old_following = c->following, *old_group = c->group;
    int32_t dummy = create_state(c, g->name, WEIR_NFA_NORMAL, g);
    c->st[dummy].looping = true;
    c->group = g;
    c->cur = g->raw;
    int32_t last = create_middle_states(c, dummy);
    last = convert_pattern(c, last);
    add_proceed(c, last, sink, pc);
    add_proceed(c, dummy, last, pc);
    c->cur = old_cur;
    c->following = old_following;
    c->group = old_group;
    return last;
}

/* createSingletonState: one state taking one event; an optional one also
 * PROCEEDs past itself, and gets a separate IGNORE state (without the
 * PROCEED) so that each PROCEED branch is created only once. */
static int32_t create_singleton_state(cc *c, int32_t sink, int32_t proceed,
                                      tset take, int32_t ignore, bool optional)
{
    pat *p = c->cur;
    if (p->kind == PAT_GROUP)
        return create_group_pattern_state(c, p, sink, proceed, optional);

    int32_t s = create_state(c, p->name, WEIR_NFA_NORMAL, p);
    int32_t snk = copy_without_transitive_nots(c, sink);
    add_takes(c, s, snk, take);

    int32_t pc = get_true_function(c);
    if (optional) {
        if (p->greedy) {
            if (p->until != C_NONE) {
                int32_t o = orig_get(c, c->st[proceed].name);
                if (o >= 0)
                    add_proceed(c, s, o, cn_and(c, pc, p->until));
            }
            add_proceed(c, s, proceed,
                        p->until != C_NONE ? cn_and(c, pc, cn_not(c, p->until)) : pc);
        } else {
            add_proceed(c, s, proceed, pc);
        }
    }

    if (ignore != C_NONE) {
        int32_t ig;
        if (optional || head_of_optional_group(c, p)) {
            ig = create_state(c, p->name, WEIR_NFA_NORMAL, p);
            add_takes(c, ig, snk, take);
            add_ignore(c, ig, ig, ignore);
            add_stop_states(c, ig);
        } else {
            ig = s;
        }
        add_ignore(c, s, ig, ignore);
    }
    return s;
}

/* createTimesState: from..to repetitions as a chain of states; the last
 * to-from of them optional (they PROCEED to `proceed`). */
static int32_t create_times_state(cc *c, int32_t sink, int32_t proceed,
                                  int64_t from, int64_t to)
{
    pat *p = c->cur;
    int32_t last = sink;
    set_first_of_loop(c, false);
    int32_t until = p->until;
    int32_t inner_ignore = extend_with_until(c, get_inner_ignore_condition(c, p), until, false);
    tset take = extend_set_with_until(c, get_take_condition(c, p), until);

    if (p->greedy && from != to) {
        if (until != C_NONE)
            orig_put(c, c->st[sink].name, copy_state(c, sink));
        update_with_greedy_condition(c, sink, tset_any(c, take));
    }
    for (int64_t i = from; i < to && !c->why; i++) {
        last = create_singleton_state(c, last, proceed, take, inner_ignore, true);
        add_stop_state_to_looping(c, last);
    }
    for (int64_t i = 0; i < from - 1 && !c->why; i++) {
        last = create_singleton_state(c, last, -1, take, inner_ignore, false);
        add_stop_state_to_looping(c, last);
    }
    set_first_of_loop(c, true);
    return create_singleton_state(c, last, proceed, take,
                                  get_ignore_condition(c, p), p->optional);
}

/* createLooping: a state that TAKEs into itself and PROCEEDs to `sink`,
 * plus (unless consecutive) a companion IGNORE state without the PROCEED. */
static int32_t create_looping(cc *c, int32_t sink)
{
    pat *p = c->cur;
    if (p->kind == PAT_GROUP)
        return create_looping_group_pattern_state(c, p, sink);

    int32_t until = p->until;
    int32_t ignore = extend_with_until(c, get_inner_ignore_condition(c, p), until, false);
    tset take = extend_set_with_until(c, get_take_condition(c, p), until);
    int32_t pc = get_true_function(c);

    int32_t looping = create_state(c, p->name, WEIR_NFA_NORMAL, p);
    c->st[looping].looping = true;
    if (p->greedy) {
        if (until != C_NONE) {
            int32_t cp = copy_state(c, sink);
            add_proceed(c, looping, cp, cn_and(c, pc, until));
            orig_put(c, c->st[sink].name, cp);
        }
        add_proceed(c, looping, sink,
                    until != C_NONE ? cn_and(c, pc, cn_not(c, until)) : pc);
        update_with_greedy_condition(c, sink, tset_any(c, get_take_condition(c, p)));
    } else {
        add_proceed(c, looping, sink, pc);
    }
    add_takes(c, looping, looping, take);
    add_stop_state_to_looping(c, looping);

    if (ignore != C_NONE) {
        int32_t ig = create_state(c, p->name, WEIR_NFA_NORMAL, p);
        add_takes(c, ig, looping, take);
        add_ignore(c, ig, ig, ignore);
        add_ignore(c, looping, ig, ignore);
        add_stop_state_to_looping(c, ig);
    }
    return looping;
}

/* convertPattern: one element, by its quantifier. */
static int32_t convert_pattern(cc *c, int32_t sink)
{
    pat *p = c->cur;
    int32_t last;
    if (p->looping) {
        set_first_of_loop(c, false);
        int32_t s = copy_without_transitive_nots(c, sink);
        int32_t looping = create_looping(c, s);
        set_first_of_loop(c, true);
        last = create_times_state(c, looping, sink, p->from, p->to);
    } else if (p->times) {
        last = create_times_state(c, sink, sink, p->from, p->to);
    } else {
        last = create_singleton_state(c, sink, sink, get_take_condition(c, p),
                                      get_ignore_condition(c, p), p->optional);
    }
    add_stop_states(c, last);
    return last;
}

/* createMiddleStates: every element but the head of the sequence, last to
 * first. `not then` becomes conditions on its neighbours (or, last before
 * the final state with a `within`, a Pending state: absence); `not next`
 * becomes a state that PROCEEDs on "not x" and stops on x. */
static int32_t create_middle_states(cc *c, int32_t sink)
{
    int32_t last = sink;
    while (c->cur->prev && !c->why) {
        pat *p = c->cur;
        if (p->cs == CS_NOT_FOLLOW) {
            if (c->rule->has_within && c->st[last].kind == WEIR_NFA_FINAL) {
                int32_t pending = create_state(c, p->name, WEIR_NFA_PENDING, p);
                tset t = get_take_condition(c, p);
                int32_t nc = tset_any(c, t);
                int32_t stop = create_stop_state(c, p, t);
                add_proceed(c, pending, stop, nc);
                add_ignore(c, pending, pending, cn_not(c, nc));
                last = pending;
            }
        } else if (p->cs == CS_NOT_NEXT) {
            int32_t not_next = create_state(c, p->name, WEIR_NFA_NORMAL, p);
            tset t = get_take_condition(c, p);
            int32_t nc = tset_any(c, t);
            int32_t stop = create_stop_state(c, p, t);
            if (c->st[last].kind == WEIR_NFA_FINAL)
                add_ignore(c, not_next, last, cn_not(c, nc)); /* a PROCEED
                    to the final state would fire before the next event */
            else
                add_proceed(c, not_next, last, cn_not(c, nc));
            add_proceed(c, not_next, stop, nc);
            last = not_next;
        } else {
            last = convert_pattern(c, last);
        }
        c->following = c->cur;
        c->cur = c->cur->prev;
    }
    return last;
}

/* ----------------------------------------------------- AST -> Flink view */

static const char *const GROUP_NAME = "(group)";

static pat *new_pat(cc *c)
{
    grow((void **)&c->pats, &c->cap_pats, c->n_pats + 1, sizeof *c->pats);
    pat *p = xcalloc(1, sizeof *p);
    c->pats[c->n_pats++] = p;
    p->step = -1;
    p->group = -1;
    p->until = C_NONE;
    p->first_of_loop = true;
    p->from = p->to = 1;
    return p;
}

static const ast_step *first_step_of(const ast_elem *e)
{
    for (; e; e = e->next) {
        switch (e->kind) {
        case AST_ELEM_STEP: return &e->step;
        case AST_ELEM_GROUP: {
            const ast_step *s = first_step_of(e->group);
            if (s)
                return s;
            break;
        }
        case AST_ELEM_ALT: {
            const ast_step *s = first_step_of(e->alts);
            if (s)
                return s;
            break;
        }
        }
    }
    return NULL;
}

static uint32_t count_steps(const ast_elem *e)
{
    uint32_t n = 0;
    for (; e; e = e->next) {
        switch (e->kind) {
        case AST_ELEM_STEP: n++; break;
        case AST_ELEM_GROUP: n += count_steps(e->group); break;
        case AST_ELEM_ALT: n += count_steps(e->alts); break;
        }
    }
    return n;
}

/* Can this element be passed without taking an event? */
static bool can_be_empty(const pat *p)
{
    if (p->optional || p->cs == CS_NOT_NEXT || p->cs == CS_NOT_FOLLOW)
        return true;
    if (p->kind == PAT_GROUP) {
        for (const pat *q = p->raw; q; q = q->prev)
            if (!can_be_empty(q))
                return false;
        return true;
    }
    return false;
}

/* Maps the quantifier and its modifiers onto Flink's Quantifier, with the
 * checks Pattern and Quantifier make. */
static void map_quantifier(cc *c, pat *p, const ast_quant *q)
{
    switch (q->inner) {
    case AST_INNER_RELAXED: p->inner = CS_SKIP_TILL_NEXT; break;
    case AST_INNER_CONSECUTIVE: p->inner = CS_STRICT; break;
    case AST_INNER_ANY: p->inner = CS_SKIP_TILL_ANY; break;
    }
    if (!q->present) {
        if (q->until)
            fail(c, "'until' applies only to +, * and {n,}");
        if (q->greedy)
            fail(c, "'greedy' does not apply to a single or optional step");
        if (q->inner != AST_INNER_RELAXED)
            fail(c, "'consecutive' and 'any' apply only to a repeated step");
        return;
    }
    int64_t min = q->min, max = q->max;
    if (min < 0 || (max != AST_QUANT_INFINITE && (max < 1 || max < min))) {
        fail(c, "a quantifier {n,m} needs 0 <= n <= m and m >= 1");
        return;
    }
    if (min > WEIR_NFA_MAX_TIMES || max > WEIR_NFA_MAX_TIMES) {
        fail(c, "a quantifier bound is larger than 1000");
        return;
    }
    p->reluctant = q->reluctant;
    p->greedy = q->greedy;
    bool via_optional = false; /* built with Pattern.optional() */
    if (max == AST_QUANT_INFINITE) {
        p->looping = true; /* oneOrMore / timesOrMore */
        p->from = p->to = min ? min : 1;
        p->optional = min == 0;
        via_optional = p->optional;
    } else if (min == 0 && max == 1) {
        p->optional = true; /* a singleton: optional() */
        via_optional = true;
    } else {
        p->times = true; /* times(n,m); times(0,m) is times(1,m) optional */
        p->from = min ? min : 1;
        p->to = max;
        p->optional = min == 0;
    }
    if (q->inner_conflict)
        fail(c, "'consecutive' and 'any' cannot both be given");
    if (q->greedy && q->reluctant)
        fail(c, "'greedy' and 'reluctant' cannot both be given");
    if (q->inner != AST_INNER_RELAXED && !p->looping && !p->times)
        fail(c, "'consecutive' and 'any' apply only to a repeated step");
    if (q->until && !p->looping)
        fail(c, "'until' applies only to +, * and {n,}");
    if (q->greedy && !p->looping && !p->times)
        fail(c, "'greedy' does not apply to a single or optional step");
    if (q->greedy && q->inner == AST_INNER_ANY)
        fail(c, "'greedy' does not apply together with 'any'");
    if (q->greedy && p->kind == PAT_GROUP)
        fail(c, "'greedy' does not apply to a group");
    if (via_optional && p->prev && p->prev->greedy)
        fail(c, "an optional element cannot follow a greedy one");
}

static strategy connector_strategy(ast_connector conn)
{
    switch (conn) {
    case AST_CONN_FIRST: return CS_STRICT;
    case AST_CONN_NEXT: return CS_STRICT;
    case AST_CONN_THEN: return CS_SKIP_TILL_NEXT;
    case AST_CONN_THEN_ANY: return CS_SKIP_TILL_ANY;
    case AST_CONN_NOT_NEXT: return CS_NOT_NEXT;
    case AST_CONN_NOT_THEN: return CS_NOT_FOLLOW;
    }
    return CS_STRICT;
}

/* Rough upper bound of the states an element makes, to refuse patterns
 * like ((a{1000}){1000}){1000} before building them. */
static double estimate(const pat *p)
{
    double inner = 3;
    if (p->kind == PAT_GROUP) {
        inner = 2;
        for (const pat *q = p->raw; q; q = q->prev)
            inner += estimate(q);
    }
    if (p->looping)
        return (double)(p->from + 2) * inner * 2 + 4;
    if (p->times)
        return (double)p->to * inner * 2 + 4;
    return inner * 2 + 2;
}

static pat *build_seq(cc *c, const ast_elem *first, bool in_group);

static pat *build_elem(cc *c, const ast_elem *e, pat *prev)
{
    pat *p = new_pat(c);
    p->elem = e;
    p->prev = prev;
    p->cs = connector_strategy(e->conn);
    bool negated = p->cs == CS_NOT_NEXT || p->cs == CS_NOT_FOLLOW;

    switch (e->kind) {
    case AST_ELEM_STEP:
        p->kind = PAT_STEP;
        p->step = (int32_t)e->step.index;
        p->name = e->step.name.name ? e->step.name.name : "?";
        break;
    case AST_ELEM_ALT: {
        p->kind = PAT_ALT;
        size_t len = 1;
        for (const ast_elem *a = e->alts; a; a = a->next) {
            if (a->kind != AST_ELEM_STEP || a->quant.present || a->quant.until ||
                a->quant.greedy || a->quant.reluctant)
                fail(c, "an alternative must be a single step, without "
                        "quantifier, group or 'until'");
            len += strlen(a->kind == AST_ELEM_STEP && a->step.name.name
                              ? a->step.name.name : "?") + 1;
        }
        char *name = xcalloc(len, 1);
        for (const ast_elem *a = e->alts; a; a = a->next) {
            if (a != e->alts)
                strcat(name, "|");
            strcat(name, a->kind == AST_ELEM_STEP && a->step.name.name
                             ? a->step.name.name : "?");
        }
        grow((void **)&c->strs, &c->cap_strs, c->n_strs + 1, sizeof *c->strs);
        c->strs[c->n_strs++] = name;
        p->name = name;
        break;
    }
    case AST_ELEM_GROUP: {
        p->kind = PAT_GROUP;
        p->name = GROUP_NAME;
        grow((void **)&c->groups, &c->cap_groups, c->n_groups + 1, sizeof *c->groups);
        p->group = (int32_t)c->n_groups;
        weir_nfa_group *g = &c->groups[c->n_groups++];
        const ast_step *fs = first_step_of(e->group);
        g->elem = e;
        g->first_step = fs ? fs->index : 0;
        g->n_steps = count_steps(e->group);
        if (!e->group) {
            fail(c, "a group needs at least one step");
            break;
        }
        p->raw = build_seq(c, e->group, true);
        break;
    }
    }

    map_quantifier(c, p, &e->quant);
    if (e->quant.until) {
        if (p->kind == PAT_GROUP)
            p->until = cn_leaf(c, WEIR_COND_GROUP_UNTIL, (uint32_t)p->group);
        else if (p->kind == PAT_STEP)
            p->until = cn_leaf(c, WEIR_COND_UNTIL, (uint32_t)p->step);
    }

    if (negated) {
        if (!prev)
            fail(c, "a pattern cannot start with 'not next' or 'not then'");
        if (e->quant.present || p->kind == PAT_GROUP)
            fail(c, "a negated element cannot have a quantifier or be a group");
        if (prev && prev->optional)
            fail(c, "a negated element cannot follow an optional one "
                    "(FlinkCEP does not support an optional path to a NOT)");
    }
    if (p->kind == PAT_GROUP && p->looping && p->raw && can_be_empty(p)) {
        /* dummy -> proceed -> ... -> dummy would be an endless epsilon
         * loop (Flink's createDecisionGraph would never return) */
        fail(c, "a repeated group must take at least one event");
    }
    return p;
}

/* Builds a sequence; returns its LAST element (Flink's current pattern). */
static pat *build_seq(cc *c, const ast_elem *first, bool in_group)
{
    pat *prev = NULL;
    for (const ast_elem *e = first; e; e = e->next)
        prev = build_elem(c, e, prev);
    if (in_group && prev && prev->cs == CS_NOT_FOLLOW)
        fail(c, "'not then' cannot end a group (FlinkCEP would drop it)");
    return prev;
}

/* -------------------------------------------------------------- packing */

/* Flattens one condition tree into postfix; returns the stack it needs. */
static uint32_t emit_cond(const cc *c, int32_t node, weir_nfa *nfa, uint32_t *cap)
{
    const cnode *n = &c->nodes[node];
    uint32_t depth = 1;
    if (n->op == WEIR_COND_NOT) {
        depth = emit_cond(c, n->a, nfa, cap);
    } else if (n->op == WEIR_COND_AND || n->op == WEIR_COND_OR) {
        uint32_t da = emit_cond(c, n->a, nfa, cap);
        uint32_t db = emit_cond(c, n->b, nfa, cap) + 1;
        depth = da > db ? da : db;
    }
    grow((void **)&nfa->conds, cap, nfa->n_conds + 1, sizeof *nfa->conds);
    weir_nfa_cond *out = &nfa->conds[nfa->n_conds++];
    out->op = n->op;
    out->pad = 0;
    out->arg = n->arg;
    return depth;
}

static weir_nfa *pack(cc *c, int32_t start, int32_t final_state)
{
    weir_nfa *nfa = xcalloc(1, sizeof *nfa);
    int32_t *order = xcalloc(c->n_st, sizeof *order); /* new index + 1 */
    int32_t *queue = xcalloc(c->n_st, sizeof *queue);
    uint32_t nq = 0;
    queue[nq++] = start;
    order[start] = 1;
    for (uint32_t qi = 0; qi < nq; qi++) {
        const cstate *s = &c->st[queue[qi]];
        for (uint32_t i = 0; i < s->n; i++) {
            int32_t t = s->e[i].target;
            if (!order[t]) {
                queue[nq] = t;
                order[t] = (int32_t)++nq;
            }
        }
    }
    if (!order[final_state]) { /* keep the final state even if unreachable */
        queue[nq] = final_state;
        order[final_state] = (int32_t)++nq;
    }

    nfa->n_states = nq;
    nfa->states = xcalloc(nq, sizeof *nfa->states);
    uint32_t n_edges = 0;
    size_t names_len = 0;
    for (uint32_t i = 0; i < nq; i++) {
        n_edges += c->st[queue[i]].n;
        names_len += strlen(c->st[queue[i]].name) + 1;
    }
    nfa->edges = xcalloc(n_edges, sizeof *nfa->edges);
    nfa->names = xcalloc(names_len, 1);
    uint32_t cap_conds = 0;
    size_t name_at = 0;
    for (uint32_t i = 0; i < nq; i++) {
        const cstate *s = &c->st[queue[i]];
        weir_nfa_state *o = &nfa->states[i];
        size_t len = strlen(s->name) + 1;
        memcpy(nfa->names + name_at, s->name, len);
        o->name = nfa->names + name_at;
        name_at += len;
        o->kind = s->kind;
        o->step = s->step;
        o->group = s->group;
        o->looping = s->looping;
        o->greedy = s->greedy;
        o->reluctant = s->reluctant;
        o->first_edge = nfa->n_edges;
        o->n_edges = s->n;
        for (uint32_t k = 0; k < s->n; k++) {
            weir_nfa_edge *e = &nfa->edges[nfa->n_edges++];
            e->action = s->e[k].action;
            e->target = (uint32_t)(order[s->e[k].target] - 1);
            e->step = s->e[k].step;
            e->cond = nfa->n_conds;
            uint32_t depth = emit_cond(c, s->e[k].cond, nfa, &cap_conds);
            e->cond_len = nfa->n_conds - e->cond;
            if (depth > nfa->cond_max_depth)
                nfa->cond_max_depth = depth;
        }
    }
    nfa->start = 0;
    nfa->final_state = (uint32_t)(order[final_state] - 1);
    free(order);
    free(queue);
    return nfa;
}

/* ---------------------------------------------------------------- compile */

static void cc_free(cc *c)
{
    for (uint32_t i = 0; i < c->n_st; i++) {
        free(c->st[i].name);
        free(c->st[i].e);
    }
    for (uint32_t i = 0; i < c->n_pats; i++)
        free(c->pats[i]);
    for (uint32_t i = 0; i < c->n_strs; i++)
        free(c->strs[i]);
    free(c->st);
    free(c->pats);
    free(c->strs);
    free(c->nodes);
    free(c->tp);
    free(c->groups);
    free(c->names);
    free(c->stops);
    free(c->orig);
}

weir_nfa *weir_nfa_compile_why(ast_program *prog, ast_rule *rule, const char **why)
{
    if (why)
        *why = NULL;
    if (!prog || !rule || rule->kind != AST_RULE_PATTERN || !rule->pattern) {
        if (why)
            *why = "the rule has no pattern";
        return NULL;
    }
    weir_ast_rule_collect_steps(prog, rule);

    cc c;
    memset(&c, 0, sizeof c);
    c.rule = rule;
    c.multi_stream = rule->n_inputs > 1;
    cn_leaf(&c, WEIR_COND_TRUE, 0); /* node 0: C_TRUE */

    /* compileFactory's checks, and weir's own */
    pat *last = build_seq(&c, rule->pattern, false);
    int32_t skip_step = -1;
    if (rule->skip == AST_SKIP_TO_FIRST || rule->skip == AST_SKIP_TO_LAST) {
        for (uint32_t i = 0; i < rule->n_steps; i++)
            if (rule->skip_step.name && rule->steps[i]->name.name &&
                strcmp(rule->steps[i]->name.name, rule->skip_step.name) == 0)
                skip_step = (int32_t)i;
        if (skip_step < 0)
            fail(&c, "the skip strategy names a step the pattern does not have");
    }
    if (last && last->cs == CS_NOT_FOLLOW && !rule->has_within)
        fail(&c, "'not then' at the end of a pattern needs 'within'");
    double est = 0;
    for (const pat *p = last; p; p = p->prev)
        est += estimate(p);
    if (est > MAX_ESTIMATE)
        fail(&c, "the pattern needs too many states");

    weir_nfa *nfa = NULL;
    if (!c.why && last) {
        /* createEndingState, createMiddleStates, createStartState */
        c.cur = last;
        int32_t final_state = create_state(&c, "$endState$", WEIR_NFA_FINAL, NULL);
        int32_t sink = create_middle_states(&c, final_state);
        int32_t start = convert_pattern(&c, sink);
        c.st[start].kind = WEIR_NFA_START; /* makeStart */
        if (!c.why) {
            nfa = pack(&c, start, final_state);
            nfa->groups = c.groups;
            nfa->n_groups = c.n_groups;
            c.groups = NULL;
            nfa->n_steps = rule->n_steps;
            nfa->has_within = rule->has_within;
            nfa->within_ms = rule->has_within ? rule->within_ms : 0;
            nfa->handle_timeout = rule->on_timeout.present;
            nfa->skip = rule->skip == AST_SKIP_DEFAULT ? AST_SKIP_NO_SKIP : rule->skip;
            nfa->skip_step = skip_step;
        }
    }
    if (!nfa && why)
        *why = c.why ? c.why : "the pattern is empty";
    cc_free(&c);
    return nfa;
}

weir_nfa *weir_nfa_compile(ast_program *prog, ast_rule *rule)
{
    return weir_nfa_compile_why(prog, rule, NULL);
}

void weir_nfa_free(weir_nfa *nfa)
{
    if (!nfa)
        return;
    free(nfa->states);
    free(nfa->edges);
    free(nfa->conds);
    free(nfa->groups);
    free(nfa->names);
    free(nfa);
}
