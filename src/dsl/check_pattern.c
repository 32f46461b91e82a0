/* check_pattern.c — the `match` part of a pattern rule.
 *
 * One walk over the pattern, in the order it is written (which is also the
 * order of weir_ast_rule_collect_steps(), so step indexes agree), checks
 * each element as it comes: its connector (negation rules), its quantifier
 * and modifiers, and for a step its stream and its conditions. Walking in
 * order means that when a condition is checked, every step before it has
 * its annotations (repeated, negated, alternatives) filled in, which is all
 * the expression checker needs to tell "earlier step" from "not matched
 * yet".
 *
 * The rules follow FlinkCEP where it has one: a pattern cannot start with
 * a negation nor end with `not next`; `not then` at the end is an absence
 * and needs `within`; a negated element is a single step with no
 * quantifier; `until` needs a looping quantifier; `consecutive` and
 * `allowCombinations` (`any`) need a quantifier that matches several events.
 * After the walk come the rule-level checks: `within`, `skip to first/last
 * X`, a pattern that can match nothing, and the "no within" warning. */
#include <inttypes.h>
#include <string.h>

#include "dsl/check-internal.h"

/* The alternations around the element being walked, innermost first, as a
 * chain on the C stack. */
typedef struct alt_frame {
    const ast_elem *alt;
    unsigned branch;
    const struct alt_frame *up;
    unsigned depth; /* frames in the chain, this one included */
} alt_frame;

typedef struct pwalk {
    weir_checker *c;
    ast_rule *r;
    weir_step_info *info; /* per step, see check-internal.h */
    unsigned next_step;   /* index of the next step the walk will meet */
} pwalk;

static bool is_negation(ast_connector conn)
{
    return conn == AST_CONN_NOT_NEXT || conn == AST_CONN_NOT_THEN;
}

/* `a * b` for event counts, where -1 means unbounded. */
static int64_t mul_max(int64_t a, int64_t b)
{
    int64_t p;
    if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &p))
        return -1;
    return p;
}

/* "payments, logins": the rule's inputs, for messages. */
static const char *input_names(weir_checker *c, const ast_rule *r)
{
    const char *text = "";
    for (const ast_input *in = r->inputs; in; in = in->next)
        text = weir_arena_printf(c->prog->arena, "%s%s%s", text, in == r->inputs ? "" : ", ",
                                 in->stream_name.name);
    return text;
}

static void check_connector(pwalk *w, const ast_elem *e, bool first, bool last, bool top)
{
    if (!is_negation(e->conn))
        return;
    weir_diags *d = w->c->diags;
    const char *ct = weir_ast_connector_text(e->conn);
    if (first) {
        /* The grammar cannot produce this; a tree built by hand can. */
        weir_diag_error(d, e->conn_loc, "a %s cannot start with '%s'", top ? "pattern" : "group",
                        ct);
        return;
    }
    if (e->kind == AST_ELEM_GROUP)
        weir_diag_error(d, e->loc, "'%s' applies to a single step, not to a group", ct);
    else if (e->kind == AST_ELEM_ALT)
        weir_diag_error(d, e->loc, "'%s' applies to a single step, not to alternatives", ct);
    else if (e->quant.present)
        weir_diag_error(d, e->quant.loc, "a negated step cannot have a quantifier");
    if (!last)
        return;
    if (!top)
        weir_diag_error(d, e->conn_loc, "a group cannot end with '%s'", ct);
    else if (e->conn == AST_CONN_NOT_NEXT)
        weir_diag_error(d, e->conn_loc,
                        "a pattern cannot end with 'not next': use 'not then' and 'within' to wait for an absence");
    else if (!w->r->has_within)
        weir_diag_error(d, e->conn_loc,
                        "an absence needs a deadline: add 'within <duration>' to the rule");
}

static void check_quant(pwalk *w, const ast_elem *e)
{
    const ast_quant *q = &e->quant;
    weir_diags *d = w->c->diags;
    const char *what = e->kind == AST_ELEM_STEP
        ? weir_arena_printf(w->c->prog->arena, "step '%s'", e->step.name.name)
        : "a group";
    if (q->present) {
        if (q->max != AST_QUANT_INFINITE && q->max < q->min)
            weir_diag_error(d, q->loc,
                            "invalid quantifier %s: the upper bound is smaller than the lower bound",
                            weir_check_loc_text(w->c, q->loc));
        else if (q->max == 0)
            weir_diag_error(d, q->loc, "quantifier %s matches no event: remove %s",
                            weir_check_loc_text(w->c, q->loc), what);
    }
    bool looping = q->present && q->max == AST_QUANT_INFINITE;
    bool several = q->present && (looping || q->max > 1);
    if (q->until && !looping)
        weir_diag_error(d, q->until->loc,
                        "'until' needs a looping quantifier (+, * or {n,}) on %s", what);
    if (q->inner_conflict)
        weir_diag_error(d, q->inner_loc, "'consecutive' and 'any' cannot be used together");
    else if (q->inner != AST_INNER_RELAXED && !several)
        weir_diag_error(d, q->inner_loc,
                        "'%s' needs a quantifier that matches several events, such as + or {3}",
                        q->inner == AST_INNER_CONSECUTIVE ? "consecutive" : "any");
    weir_loc mods = q->mods_loc.end > q->mods_loc.begin ? q->mods_loc : q->loc;
    if (q->greedy && q->reluctant)
        weir_diag_error(d, mods, "'greedy' and 'reluctant' cannot be used together");
    else if ((q->greedy || q->reluctant) && !(q->present && q->min != q->max))
        weir_diag_error(d, mods,
                        "'%s' needs a quantifier with a range, such as +, * or {2,5}",
                        q->greedy ? "greedy" : "reluctant");
}

/* Which stream a step reads: its `from`, or the rule's one input. */
static void resolve_step_stream(pwalk *w, ast_step *st)
{
    const ast_rule *r = w->r;
    if (st->stream_name.name) {
        const char **names = WEIR_ARENA_ARRAY(w->c->prog->arena, const char *, r->n_inputs);
        unsigned n = 0;
        for (const ast_input *in = r->inputs; in; in = in->next) {
            if (strcmp(in->stream_name.name, st->stream_name.name) == 0) {
                st->stream = in->stream; /* NULL if unknown: reported */
                return;
            }
            names[n++] = in->stream_name.name;
        }
        weir_diag_error(w->c->diags, st->stream_name.loc,
                        "stream '%s' is not an input of rule '%s'%s", st->stream_name.name,
                        r->name.name,
                        weir_check_hint(w->c, st->stream_name.name, names, n,
                                        weir_arena_printf(w->c->prog->arena, " (it reads %s)",
                                                          input_names(w->c, r))));
        return;
    }
    if (r->n_inputs == 1) {
        st->stream = r->inputs->stream;
        return;
    }
    weir_diag_error(w->c->diags, st->name.loc,
                    "step '%s' needs 'from STREAM': rule '%s' reads several streams (%s)",
                    st->name.name, r->name.name, input_names(w->c, r));
}

static void visit_step(pwalk *w, ast_elem *e, bool repeated, int64_t max_events,
                       const alt_frame *alts)
{
    ast_step *st = &e->step;
    ast_rule *r = w->r;
    unsigned idx = st->index;
    w->next_step = idx + 1;
    weir_step_info *info = &w->info[idx];
    st->repeated = repeated;
    info->negated = is_negation(e->conn);
    info->max_events = max_events;
    info->alt_depth = alts ? alts->depth : 0;
    if (info->alt_depth) {
        info->alt_elem = WEIR_ARENA_ARRAY(w->c->prog->arena, const ast_elem *, info->alt_depth);
        info->alt_branch = WEIR_ARENA_ARRAY(w->c->prog->arena, unsigned, info->alt_depth);
        for (const alt_frame *f = alts; f; f = f->up) {
            info->alt_elem[f->depth - 1] = f->alt;
            info->alt_branch[f->depth - 1] = f->branch;
        }
    }

    for (unsigned i = 0; i < idx; i++)
        if (strcmp(r->steps[i]->name.name, st->name.name) == 0) {
            weir_diag_error(w->c->diags, st->name.loc, "step '%s' is declared twice in rule '%s'",
                            st->name.name, r->name.name);
            weir_diag_note(w->c->diags, r->steps[i]->name.loc, "first declared here");
            break;
        }

    resolve_step_stream(w, st);

    weir_scope s = {
        .kind = WEIR_SCOPE_STEP,
        .rule = r,
        .steps = w->info,
        .stream = st->stream,
        .self_lo = idx,
        .self_hi = idx + 1,
        .self = st,
    };
    if (st->where)
        weir_check_condition(w->c, &s, st->where);
    if (e->quant.until)
        weir_check_condition(w->c, &s, e->quant.until);
}

/* The `until` of a group: tested on every event while the group loops, so
 * it may look at the group's own (repeated) steps and at earlier ones. */
static void check_group_until(pwalk *w, const ast_elem *e, unsigned lo, unsigned hi)
{
    const ast_rule *r = w->r;
    const ast_stream *stream = NULL;
    bool unresolved = false;
    for (unsigned i = lo; i < hi; i++) {
        const ast_stream *s = r->steps[i]->stream;
        if (!s)
            unresolved = true;
        else if (!stream)
            stream = s;
        else if (s != stream) {
            weir_diag_error(w->c->diags, e->quant.until->loc,
                            "the steps of this group read several streams, so its 'until' cannot tell whose field a name is: put 'until' on a step");
            return;
        }
    }
    weir_scope s = {
        .kind = WEIR_SCOPE_STEP,
        .rule = r,
        .steps = w->info,
        .stream = unresolved ? NULL : stream,
        .self_lo = lo,
        .self_hi = hi,
        .self = NULL,
    };
    weir_check_condition(w->c, &s, e->quant.until);
}

static void walk_seq(pwalk *w, ast_elem *first, bool top, bool repeated, int64_t mult,
                     const alt_frame *alts);

static void walk_elem(pwalk *w, ast_elem *e, bool repeated, int64_t mult,
                      const alt_frame *alts)
{
    const ast_quant *q = &e->quant;
    check_quant(w, e);
    bool several = q->present && (q->max == AST_QUANT_INFINITE || q->max > 1);
    int64_t own = !q->present ? 1 : q->max == AST_QUANT_INFINITE ? -1 : q->max;
    int64_t max_events = mul_max(mult, own);

    switch (e->kind) {
    case AST_ELEM_STEP:
        visit_step(w, e, repeated || several, max_events, alts);
        break;
    case AST_ELEM_GROUP: {
        /* Steps are numbered in walk order, so the group's steps are the
         * run the walk of the group numbers: [next_step before, after). */
        unsigned lo = w->next_step;
        walk_seq(w, e->group, false, repeated || several, max_events, alts);
        if (q->until)
            check_group_until(w, e, lo, w->next_step);
        break;
    }
    case AST_ELEM_ALT: {
        unsigned branch = 0;
        for (ast_elem *a = e->alts; a; a = a->next, branch++) {
            alt_frame frame = {e, branch, alts, alts ? alts->depth + 1 : 1};
            walk_elem(w, a, repeated, max_events, &frame);
        }
        break;
    }
    }
}

static void walk_seq(pwalk *w, ast_elem *first, bool top, bool repeated, int64_t mult,
                     const alt_frame *alts)
{
    for (ast_elem *e = first; e; e = e->next) {
        check_connector(w, e, e == first, e->next == NULL, top);
        walk_elem(w, e, repeated, mult, alts);
    }
}

/* ------------------------------------------------------------------ */
/* Whole-pattern properties                                             */

static bool elem_can_be_empty(const ast_elem *e);

static bool seq_can_be_empty(const ast_elem *first)
{
    for (const ast_elem *e = first; e; e = e->next)
        if (!is_negation(e->conn) && !elem_can_be_empty(e))
            return false;
    return true;
}

static bool elem_can_be_empty(const ast_elem *e)
{
    /* {0} was reported on its own; do not pile a second error on it */
    if (e->quant.present && e->quant.max == 0)
        return false;
    if (e->quant.present && e->quant.min == 0)
        return true;
    switch (e->kind) {
    case AST_ELEM_STEP:
        return false;
    case AST_ELEM_GROUP:
        return seq_can_be_empty(e->group);
    case AST_ELEM_ALT:
        for (const ast_elem *a = e->alts; a; a = a->next)
            if (elem_can_be_empty(a))
                return true;
        return false;
    }
    return false;
}

/* Whether a partial match can wait for ever without `within`: any relaxed
 * connector, or any quantifier whose events need not be contiguous. */
static bool elem_unbounded(const ast_elem *e);

static bool seq_unbounded(const ast_elem *first)
{
    for (const ast_elem *e = first; e; e = e->next) {
        if (e->conn == AST_CONN_THEN || e->conn == AST_CONN_THEN_ANY ||
            e->conn == AST_CONN_NOT_THEN)
            return true;
        if (elem_unbounded(e))
            return true;
    }
    return false;
}

static bool elem_unbounded(const ast_elem *e)
{
    const ast_quant *q = &e->quant;
    if (q->present && (q->max == AST_QUANT_INFINITE ||
                       (q->max > 1 && q->inner != AST_INNER_CONSECUTIVE)))
        return true;
    switch (e->kind) {
    case AST_ELEM_STEP:
        return false;
    case AST_ELEM_GROUP:
        return seq_unbounded(e->group);
    case AST_ELEM_ALT:
        for (const ast_elem *a = e->alts; a; a = a->next)
            if (elem_unbounded(a))
                return true;
        return false;
    }
    return false;
}

static void check_skip(pwalk *w)
{
    ast_rule *r = w->r;
    if (r->skip != AST_SKIP_TO_FIRST && r->skip != AST_SKIP_TO_LAST)
        return;
    const char *n = r->skip_step.name;
    if (!n)
        return; /* the parser reported the spelling */
    const ast_step *st = weir_check_find_step(r, n);
    if (!st) {
        const char **names = WEIR_ARENA_ARRAY(w->c->prog->arena, const char *,
                                              r->n_steps ? r->n_steps : 1);
        for (unsigned i = 0; i < r->n_steps; i++)
            names[i] = r->steps[i]->name.name;
        weir_diag_error(w->c->diags, r->skip_step.loc, "unknown step '%s' in rule '%s'%s", n,
                        r->name.name, weir_check_hint(w->c, n, names, r->n_steps, ""));
        return;
    }
    if (w->info[st->index].negated)
        weir_diag_error(w->c->diags, r->skip_step.loc,
                        "cannot skip to step '%s': it is negated and never matches an event", n);
}

void weir_check_pattern(weir_checker *c, ast_rule *r, weir_scope *emit_scope)
{
    weir_ast_rule_collect_steps(c->prog, r);
    pwalk w = {
        .c = c,
        .r = r,
        .info = WEIR_ARENA_ARRAY(c->prog->arena, weir_step_info, r->n_steps ? r->n_steps : 1),
    };

    walk_seq(&w, r->pattern, true, false, 1, NULL);

    if (r->has_within && r->within_ms <= 0)
        weir_diag_error(c->diags, r->within_loc, "'within' must be greater than zero");
    check_skip(&w);

    /* (a pattern that starts with a negation was reported above) */
    if (r->pattern && !is_negation(r->pattern->conn) && seq_can_be_empty(r->pattern))
        weir_diag_error(c->diags, r->body_loc,
                        "this pattern can match no event at all: make at least one step required");

    const ast_elem *last = r->pattern;
    while (last && last->next)
        last = last->next;
    bool absence_without_within = last && last->conn == AST_CONN_NOT_THEN && !r->has_within;
    if (!r->has_within && !absence_without_within && seq_unbounded(r->pattern))
        weir_diag_warning(c->diags, r->name.loc,
                          "pattern has no 'within': its partial matches can live forever");

    *emit_scope = (weir_scope){
        .kind = WEIR_SCOPE_PATTERN_EMIT,
        .rule = r,
        .steps = w.info,
        .stream = r->n_inputs == 1 ? r->inputs->stream : NULL,
        .several_inputs = r->n_inputs > 1,
    };
}
