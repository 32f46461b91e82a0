/* check_expr.c — names and types inside expressions.
 *
 * One recursive walk resolves every name against the scope it stands in
 * (check-internal.h: a step condition, a pattern's emit body, a window's
 * `where`, or a window's `when` / emit body), gives every node a type, and
 * checks builtin calls against a small signature table kept next to the
 * X-macro list in builtins.h.
 *
 * Errors do not cascade: a node that is wrong gets WEIR_T_ERROR once, with
 * one diagnostic, and every node above it that sees an WEIR_T_ERROR operand
 * quietly becomes WEIR_T_ERROR too. The same goes for names whose stream
 * or step could not be resolved: that was reported where it was written.
 *
 * Nodes that name events rather than values (the step in `count(probe)` or
 * as the base of `big.amount`, and `probe[-1]` as the base of
 * `probe[-1].amount`) get ref kind AST_REF_STEP_EVENTS and type
 * WEIR_T_LIST ("a collection"): the compiler reads the ref of the node
 * above them, which carries the step, the stream, the field and the index.
 *
 * A small constant folder at the end finds conditions that can never be
 * true (`where amount > 5 and false`, `1 > 2`, `x in []`) for a warning. */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "dsl/check-internal.h"

/* Where the walk is: the scope, and the window aggregate whose argument it
 * is inside (bare names there are fields of the window's events). */
typedef struct ectx {
    weir_checker *c;
    const weir_scope *s;
    const ast_expr *agg;
} ectx;

static weir_type check(const ectx *x, ast_expr *e);

static weir_type typed(ast_expr *e, weir_type t)
{
    e->type = t;
    return t;
}

static const char *tname(weir_type t)
{
    return weir_type_name(t);
}

/* ------------------------------------------------------------------ */
/* Builtin signatures: which argument types each builtin accepts.       */

#define TBIT(t) (1u << (t))
#define T_NUMBER (TBIT(WEIR_T_INT) | TBIT(WEIR_T_DECIMAL) | TBIT(WEIR_T_FLOAT))
#define T_VALUE (T_NUMBER | TBIT(WEIR_T_STRING) | TBIT(WEIR_T_BOOL) | \
                 TBIT(WEIR_T_TIME) | TBIT(WEIR_T_DURATION))

static const struct builtin_sig {
    unsigned accepts; /* TBIT mask, for every argument */
    const char *what; /* the same, for "needs <what>, not int" */
} builtin_sigs[WEIR_BUILTIN__COUNT] = {
    [WEIR_BUILTIN_COUNT] = {T_VALUE, "a value"},
    [WEIR_BUILTIN_SUM] = {T_NUMBER | TBIT(WEIR_T_DURATION), "a number or a duration"},
    [WEIR_BUILTIN_AVG] = {T_NUMBER, "a number"},
    [WEIR_BUILTIN_MIN] = {T_NUMBER | TBIT(WEIR_T_STRING) | TBIT(WEIR_T_TIME) |
                          TBIT(WEIR_T_DURATION), "a number, a string, a time or a duration"},
    [WEIR_BUILTIN_MAX] = {T_NUMBER | TBIT(WEIR_T_STRING) | TBIT(WEIR_T_TIME) |
                          TBIT(WEIR_T_DURATION), "a number, a string, a time or a duration"},
    [WEIR_BUILTIN_FIRST] = {T_VALUE, "a value"},
    [WEIR_BUILTIN_LAST] = {T_VALUE, "a value"},
    [WEIR_BUILTIN_ABS] = {T_NUMBER | TBIT(WEIR_T_DURATION), "a number or a duration"},
    [WEIR_BUILTIN_LOWER] = {TBIT(WEIR_T_STRING), "a string"},
    [WEIR_BUILTIN_UPPER] = {TBIT(WEIR_T_STRING), "a string"},
    [WEIR_BUILTIN_LENGTH] = {TBIT(WEIR_T_STRING), "a string"},
    [WEIR_BUILTIN_CONTAINS] = {TBIT(WEIR_T_STRING), "a string"},
    [WEIR_BUILTIN_STARTS_WITH] = {TBIT(WEIR_T_STRING), "a string"},
    [WEIR_BUILTIN_ENDS_WITH] = {TBIT(WEIR_T_STRING), "a string"},
    [WEIR_BUILTIN_GEO_DISTANCE] = {T_NUMBER, "a number"},
    [WEIR_BUILTIN_HOURS] = {TBIT(WEIR_T_DURATION), "a duration"},
    [WEIR_BUILTIN_HOUR_OF_DAY] = {TBIT(WEIR_T_TIME), "a time"},
    [WEIR_BUILTIN_DAY_OF_WEEK] = {TBIT(WEIR_T_TIME), "a time"},
    [WEIR_BUILTIN_WINDOW_START] = {0, "nothing"},
    [WEIR_BUILTIN_WINDOW_END] = {0, "nothing"},
    [WEIR_BUILTIN_ENV] = {TBIT(WEIR_T_STRING), "a string"},
};

static weir_type widen(weir_type a, weir_type b)
{
    if (a == WEIR_T_FLOAT || b == WEIR_T_FLOAT)
        return WEIR_T_FLOAT;
    if (a == WEIR_T_DECIMAL || b == WEIR_T_DECIMAL)
        return WEIR_T_DECIMAL;
    return WEIR_T_INT;
}

static bool in_pattern(const weir_scope *s)
{
    return s->kind == WEIR_SCOPE_STEP || s->kind == WEIR_SCOPE_PATTERN_EMIT;
}

/* ------------------------------------------------------------------ */
/* Steps                                                                */

static bool alternatives(const weir_step_info *a, const weir_step_info *b)
{
    for (unsigned i = 0; i < a->alt_depth; i++)
        for (unsigned j = 0; j < b->alt_depth; j++)
            if (a->alt_elem[i] == b->alt_elem[j] && a->alt_branch[i] != b->alt_branch[j])
                return true;
    return false;
}

/* The step a name in `name.field`, `name[i]` or an aggregate refers to;
 * NULL after reporting that there is none. */
static const ast_step *resolve_step(const ectx *x, const ast_ident *name)
{
    const weir_scope *s = x->s;
    if (s->kind == WEIR_SCOPE_KEEP) {
        weir_diag_error(x->c->diags, name->loc,
                        "'keep' sees only the fields of the event it keeps, not step '%s'",
                        name->name);
        return NULL;
    }
    if (!in_pattern(s)) {
        weir_diag_error(x->c->diags, name->loc, "unknown step '%s': window rules have no steps",
                        name->name);
        return NULL;
    }
    const ast_step *st = weir_check_find_step(s->rule, name->name);
    if (st)
        return st;
    const ast_rule *r = s->rule;
    const char **names = WEIR_ARENA_ARRAY(x->c->prog->arena, const char *,
                                          r->n_steps ? r->n_steps : 1);
    for (unsigned i = 0; i < r->n_steps; i++)
        names[i] = r->steps[i]->name.name;
    weir_diag_error(x->c->diags, name->loc, "unknown step '%s' in rule '%s'%s", name->name,
                    r->name.name, weir_check_hint(x->c, name->name, names, r->n_steps, ""));
    return NULL;
}

/* Whether a condition at this spot may look at step `st`: it must be
 * matched before (or be the condition's own repeated step), must not be
 * negated, and must not be an alternative to the step being tested. */
static bool step_usable(const ectx *x, const ast_step *st, weir_loc loc)
{
    const weir_scope *s = x->s;
    const char *n = st->name.name;
    if (s->kind == WEIR_SCOPE_STEP) {
        bool own = st->index >= s->self_lo && st->index < s->self_hi;
        if (st->index >= s->self_hi || (own && !st->repeated)) {
            weir_diag_error(x->c->diags, loc,
                            "step '%s' is not matched yet here: a condition can only refer to steps before it",
                            n);
            return false;
        }
    }
    const weir_step_info *info = &s->steps[st->index];
    if (info->negated) {
        weir_diag_error(x->c->diags, loc, "step '%s' is negated: it never matches an event", n);
        return false;
    }
    if (s->kind == WEIR_SCOPE_STEP && s->self && st != s->self &&
        alternatives(info, &s->steps[s->self->index])) {
        weir_diag_error(x->c->diags, loc,
                        "step '%s' is an alternative to step '%s': they never match together",
                        n, s->self->name.name);
        return false;
    }
    return true;
}

/* A field name to show in an example: the stream's first, or "field". */
static const char *example_field(const ast_stream *s)
{
    return s && s->fields ? s->fields->name.name : "field";
}

static void mark_step_node(ast_expr *e, const ast_step *st)
{
    e->ref.kind = AST_REF_STEP_EVENTS;
    e->ref.step = st;
    e->ref.stream = st->stream;
    if (e->kind == AST_EXPR_INDEX) {
        e->ref.has_index = true;
        e->ref.index = e->u.index.index;
        e->u.index.base->ref = e->ref;
        e->u.index.base->ref.has_index = false;
        e->u.index.base->ref.index = 0;
        e->u.index.base->type = WEIR_T_LIST;
    }
    e->type = WEIR_T_LIST;
}

/* `e` is a FIELD whose base is step `st`: resolves the field in the step's
 * stream and fills the ref. */
static weir_type step_field(const ectx *x, ast_expr *e, const ast_step *st,
                            ast_ref_kind kind, bool has_index, int64_t index)
{
    if (!st->stream)
        return WEIR_T_ERROR; /* the step's stream was reported */
    const ast_field *f = weir_check_find_field(st->stream, e->u.field.field.name);
    if (!f) {
        weir_check_unknown_field(x->c, st->stream, e->u.field.field);
        return WEIR_T_ERROR;
    }
    e->ref.kind = kind;
    e->ref.stream = st->stream;
    e->ref.field = f;
    e->ref.step = st;
    e->ref.has_index = has_index;
    e->ref.index = index;
    return typed(e, f->type);
}

static void step_not_a_value(const ectx *x, const ast_step *st, weir_loc loc)
{
    const char *n = st->name.name;
    if (st->repeated)
        weir_diag_error(x->c->diags, loc,
                        "step '%s' is not a value: use a field of one of its events, as in %s[-1].%s, or an aggregate such as count(%s)",
                        n, n, example_field(st->stream), n);
    else
        weir_diag_error(x->c->diags, loc,
                        "step '%s' is not a value: use one of its fields, as in %s.%s", n, n,
                        example_field(st->stream));
}

/* ------------------------------------------------------------------ */
/* Names                                                                */

/* A memory of the keep read inside the keep itself: its `where` and
 * items are about the event being kept, and the memory is only updated
 * after them. Reports it and returns true; false when `n` is no memory or
 * the name is not inside a keep. */
static bool memory_in_keep(const ectx *x, const char *n, weir_loc loc)
{
    if (x->s->kind != WEIR_SCOPE_KEEP || !weir_check_find_memory(x->s->rule, n))
        return false;
    weir_diag_error(x->c->diags, loc,
                    "memory '%s' cannot be read inside 'keep': its 'where' and items see only the event's fields",
                    n);
    return true;
}

/* A name that is a memory of the rule, read as a value (`usual`). */
static weir_type memory_value(const ectx *x, ast_expr *e, const ast_keep_item *m)
{
    if (m->type == WEIR_T_ERROR)
        return WEIR_T_ERROR; /* the item was reported */
    if (m->set) {
        weir_diag_error(x->c->diags, e->loc,
                        "memory '%s' is a set of values: use it right of 'in', as in %s in %s",
                        m->name.name, weir_check_loc_text(x->c, m->value->loc), m->name.name);
        return WEIR_T_ERROR;
    }
    e->ref.kind = AST_REF_MEMORY;
    e->ref.memory = m;
    return typed(e, m->type);
}

/* A bare name that is not a field here: a step or list used as a value,
 * or an unknown field. */
static weir_type name_not_field(const ectx *x, ast_expr *e)
{
    const weir_scope *s = x->s;
    const char *n = e->u.name.name;
    if (memory_in_keep(x, n, e->loc))
        return WEIR_T_ERROR;
    if (in_pattern(s)) {
        const ast_step *st = weir_check_find_step(s->rule, n);
        if (st) {
            step_not_a_value(x, st, e->loc);
            return WEIR_T_ERROR;
        }
    }
    if (weir_check_find_list(x->c->prog, n)) {
        weir_diag_error(x->c->diags, e->loc,
                        "list '%s' can only be used right of 'in', as in x in %s", n, n);
        return WEIR_T_ERROR;
    }
    if (s->stream && in_pattern(s) && s->rule->keep.n_items) {
        /* the name may be a misspelt memory as well as a misspelt field */
        size_t nf;
        const char *const *fields = weir_check_field_names(x->c, s->stream, &nf);
        const ast_keep *k = &s->rule->keep;
        const char **names = WEIR_ARENA_ARRAY(x->c->prog->arena, const char *, nf + k->n_items);
        memcpy(names, fields, nf * sizeof *names);
        size_t total = nf;
        for (const ast_keep_item *m = k->items; m; m = m->next)
            names[total++] = m->name.name;
        weir_diag_error(x->c->diags, e->loc,
                        "unknown name '%s': not a field of stream '%s' nor a memory of rule '%s'%s",
                        n, s->stream->name.name, s->rule->name.name,
                        weir_check_hint(x->c, n, names, total, ""));
        return WEIR_T_ERROR;
    }
    if (s->stream)
        weir_check_unknown_field(x->c, s->stream, e->u.name);
    return WEIR_T_ERROR;
}

/* A bare name in the emit body of a pattern rule with several inputs:
 * the completing event may come from any of them, so the field must be in
 * every input stream, with one type. */
static weir_type name_in_every_input(const ectx *x, ast_expr *e)
{
    const weir_scope *s = x->s;
    const ast_rule *r = s->rule;
    const char *n = e->u.name.name;
    const ast_field *first = NULL;
    bool missing = false, mixed = false;
    size_t n_fields = 0;
    for (const ast_input *in = r->inputs; in; in = in->next) {
        if (!in->stream)
            return WEIR_T_ERROR; /* reported with the input */
        n_fields += in->stream->n_fields;
        const ast_field *f = weir_check_find_field(in->stream, n);
        if (!f)
            missing = true;
        else if (!first)
            first = f;
        else if (f->type != first->type)
            mixed = true;
    }
    if (first && !missing && !mixed) {
        /* Which stream depends on the event; the compiler finds the field
         * by name in the completing event's stream. */
        e->ref.kind = AST_REF_EVENT_FIELD;
        e->ref.stream = NULL;
        e->ref.field = first;
        return typed(e, first->type);
    }
    if (!first) {
        const ast_step *st = weir_check_find_step(r, n);
        if (st || weir_check_find_list(x->c->prog, n))
            return name_not_field(x, e);
        const char **names = WEIR_ARENA_ARRAY(x->c->prog->arena, const char *,
                                              n_fields ? n_fields : 1);
        size_t k = 0;
        for (const ast_input *in = r->inputs; in; in = in->next)
            for (const ast_field *f = in->stream->fields; f && k < n_fields; f = f->next)
                names[k++] = f->name.name;
        weir_diag_error(x->c->diags, e->loc, "unknown field '%s' in the inputs of rule '%s'%s",
                        n, r->name.name, weir_check_hint(x->c, n, names, k, ""));
        return WEIR_T_ERROR;
    }
    /* Suggest the last step that can supply the field. */
    const ast_step *ex = NULL;
    for (unsigned i = 0; i < r->n_steps; i++)
        if (!s->steps[i].negated && weir_check_find_field(r->steps[i]->stream, n))
            ex = r->steps[i];
    const char *as_in = "";
    if (ex)
        as_in = weir_arena_printf(x->c->prog->arena, ", as in %s%s.%s", ex->name.name,
                                  ex->repeated ? "[-1]" : "", n);
    if (missing)
        weir_diag_error(x->c->diags, e->loc,
                        "field '%s' is not in every input of rule '%s': say which step it comes from%s",
                        n, r->name.name, as_in);
    else
        weir_diag_error(x->c->diags, e->loc,
                        "field '%s' has a different type in each input of rule '%s': say which step it comes from%s",
                        n, r->name.name, as_in);
    return WEIR_T_ERROR;
}

static weir_type check_name(const ectx *x, ast_expr *e)
{
    const weir_scope *s = x->s;
    const char *n = e->u.name.name;
    /* A memory's name differs from every field of the rule's inputs (the
     * keep's check says so), so looking it up first shadows nothing. */
    const ast_keep_item *m = in_pattern(s) ? weir_check_find_memory(s->rule, n) : NULL;
    if (m)
        return memory_value(x, e, m);
    if (s->kind == WEIR_SCOPE_PATTERN_EMIT && s->several_inputs)
        return name_in_every_input(x, e);

    const ast_field *f = weir_check_find_field(s->stream, n);
    if (!f)
        return name_not_field(x, e);

    e->ref.stream = s->stream;
    e->ref.field = f;
    if (s->kind == WEIR_SCOPE_WINDOW_RESULT && !x->agg) {
        /* Outside an aggregate only the key has one value per window. */
        if (strcmp(n, s->rule->inputs->key_field.name) == 0) {
            if (!s->key)
                return WEIR_T_ERROR; /* the key was reported */
            e->ref.kind = AST_REF_KEY;
            return typed(e, f->type);
        }
        bool summable = weir_type_is_numeric(f->type) || f->type == WEIR_T_DURATION;
        weir_diag_error(x->c->diags, e->loc,
                        "field '%s' is not the key: aggregate it, e.g. %s(%s%s)", n,
                        summable ? "sum" : "count", summable ? "" : "distinct ", n);
        return WEIR_T_ERROR;
    }
    e->ref.kind = x->agg ? AST_REF_WINDOW_FIELD : AST_REF_EVENT_FIELD;
    return typed(e, f->type);
}

/* ------------------------------------------------------------------ */
/* Fields and indexes of steps                                          */

static bool index_in_range(const ectx *x, const ast_expr *index_expr, const ast_step *st)
{
    int64_t max = x->s->steps[st->index].max_events;
    int64_t i = index_expr->u.index.index;
    if (max < 0 || (i >= 0 && i < max) || (i < 0 && -i <= max))
        return true;
    weir_diag_error(x->c->diags, index_expr->u.index.index_loc,
                    "index %" PRId64 " is out of range: step '%s' matches at most %" PRId64 " events",
                    i, st->name.name, max);
    return false;
}

static weir_type check_field(const ectx *x, ast_expr *e)
{
    ast_expr *base = e->u.field.base;
    const char *fname = e->u.field.field.name;
    ast_expr *name_expr = base;
    if (base->kind == AST_EXPR_INDEX)
        name_expr = base->u.index.base;
    if (name_expr->kind != AST_EXPR_NAME) {
        if (base->kind == AST_EXPR_INDEX) {
            weir_diag_error(x->c->diags, base->loc,
                            "only a repeated step can be indexed, as in probe[-1]");
            return WEIR_T_ERROR;
        }
        weir_type t = check(x, base);
        if (t != WEIR_T_ERROR)
            weir_diag_error(x->c->diags, e->u.field.field.loc,
                            "cannot take field '%s' of a %s", fname, tname(t));
        return WEIR_T_ERROR;
    }

    const ast_step *st = resolve_step(x, &name_expr->u.name);
    if (!st || !step_usable(x, st, name_expr->loc))
        return WEIR_T_ERROR;
    const char *sn = st->name.name;
    if (base->kind == AST_EXPR_INDEX) {
        if (!st->repeated) {
            weir_diag_error(x->c->diags, base->loc,
                            "step '%s' matches one event: use %s.%s, not %s[%" PRId64 "].%s",
                            sn, sn, fname, sn, base->u.index.index, fname);
            return WEIR_T_ERROR;
        }
        if (!index_in_range(x, base, st))
            return WEIR_T_ERROR;
        mark_step_node(base, st);
        return step_field(x, e, st, AST_REF_STEP_FIELD, true, base->u.index.index);
    }
    if (st->repeated) {
        weir_diag_error(x->c->diags, e->loc,
                        "step '%s' can match several events: use %s[0].%s, %s[-1].%s or an aggregate such as sum(%s.%s)",
                        sn, sn, fname, sn, fname, sn, fname);
        return WEIR_T_ERROR;
    }
    mark_step_node(base, st);
    return step_field(x, e, st, AST_REF_STEP_FIELD, false, 0);
}

/* `probe[-1]` on its own: an event, not a value. */
static weir_type check_index(const ectx *x, ast_expr *e)
{
    ast_expr *b = e->u.index.base;
    if (b->kind != AST_EXPR_NAME) {
        weir_diag_error(x->c->diags, e->loc, "only a repeated step can be indexed, as in probe[-1]");
        return WEIR_T_ERROR;
    }
    const ast_step *st = resolve_step(x, &b->u.name);
    if (!st)
        return WEIR_T_ERROR;
    const char *text = weir_check_loc_text(x->c, e->loc);
    weir_diag_error(x->c->diags, e->loc,
                    "'%s' is an event, not a value: use one of its fields, as in %s.%s", text,
                    text, example_field(st->stream));
    return WEIR_T_ERROR;
}

/* ------------------------------------------------------------------ */
/* Calls                                                                */

static bool check_arg_types(const ectx *x, const ast_expr *call, weir_builtin b)
{
    const struct builtin_sig *sig = &builtin_sigs[b];
    const char *fn = weir_builtin_get(b)->name;
    bool ok = true;
    unsigned i = 1;
    for (const ast_expr *a = call->u.call.args; a; a = a->next, i++) {
        if (a->type == WEIR_T_ERROR) {
            ok = false;
            continue;
        }
        if (sig->accepts & TBIT(a->type))
            continue;
        ok = false;
        if (call->u.call.n_args == 1)
            weir_diag_error(x->c->diags, a->loc, "%s() needs %s, not %s", fn, sig->what,
                            tname(a->type));
        else
            weir_diag_error(x->c->diags, a->loc, "argument %u of %s() must be %s, not %s", i,
                            fn, sig->what, tname(a->type));
    }
    return ok;
}

static weir_type builtin_result(weir_builtin b, const ast_expr *args)
{
    const weir_builtin_info *info = weir_builtin_get(b);
    switch (info->result_rule) {
    case WEIR_RES_FIXED:
        return info->result;
    case WEIR_RES_ARG:
    case WEIR_RES_SUM:
        return args->type;
    case WEIR_RES_AVG:
        return args->type == WEIR_T_FLOAT ? WEIR_T_FLOAT : WEIR_T_DECIMAL;
    }
    return WEIR_T_ERROR;
}

/* sum(amount), count(), count(distinct merchant) in a window's when/emit:
 * the argument is any expression over the window's events. */
static weir_type window_aggregate(const ectx *x, ast_expr *e, weir_builtin b)
{
    if (e->u.call.n_args == 0)
        return typed(e, WEIR_T_INT); /* count() */
    ectx inner = *x;
    inner.agg = e;
    if (check(&inner, e->u.call.args) == WEIR_T_ERROR)
        return WEIR_T_ERROR;
    if (!check_arg_types(x, e, b))
        return WEIR_T_ERROR;
    return typed(e, builtin_result(b, e->u.call.args));
}

/* The name of a repeated step for an example: the first of the rule. */
static const char *example_step(const weir_scope *s)
{
    for (unsigned i = 0; i < s->rule->n_steps; i++)
        if (s->rule->steps[i]->repeated && !s->steps[i].negated)
            return s->rule->steps[i]->name.name;
    return "probe";
}

/* count(probe), sum(probe.amount), count(distinct probe.merchant) in a
 * pattern rule: over the events a repeated step matched. */
static weir_type pattern_aggregate(const ectx *x, ast_expr *e, weir_builtin b)
{
    const char *fn = e->u.call.func.name;
    bool distinct = e->u.call.distinct;
    if (e->u.call.n_args == 0) {
        weir_diag_error(x->c->diags, e->loc,
                        "count() in a pattern rule needs a repeated step, as in count(%s)",
                        example_step(x->s));
        return WEIR_T_ERROR;
    }
    ast_expr *arg = e->u.call.args;
    const ast_expr *arg_name = arg->kind == AST_EXPR_FIELD ? arg->u.field.base : arg;
    const ast_keep_item *m = arg_name->kind == AST_EXPR_NAME
                                 ? weir_check_find_memory(x->s->rule, arg_name->u.name.name)
                                 : NULL;
    if (m && !weir_check_find_step(x->s->rule, m->name.name)) {
        weir_diag_error(x->c->diags, arg_name->loc,
                        "'%s' is a memory, not a step: a memory is already an aggregate, so read it by name%s",
                        m->name.name,
                        m->set ? " (to count its values, keep count(distinct ...) as well)" : "");
        return WEIR_T_ERROR;
    }

    if (arg->kind == AST_EXPR_NAME && b == WEIR_BUILTIN_COUNT && !distinct) {
        const ast_step *st = weir_check_find_step(x->s->rule, arg->u.name.name);
        if (!st && weir_check_find_field(x->s->stream, arg->u.name.name)) {
            weir_diag_error(x->c->diags, arg->loc,
                            "count() in a pattern rule counts the events of a repeated step, as in count(%s)",
                            example_step(x->s));
            return WEIR_T_ERROR;
        }
        if (!st)
            st = resolve_step(x, &arg->u.name);
        if (!st || !step_usable(x, st, arg->loc))
            return WEIR_T_ERROR;
        if (!st->repeated) {
            weir_diag_error(x->c->diags, arg->loc,
                            "step '%s' matches one event: count(%s) is always 1",
                            st->name.name, st->name.name);
            return WEIR_T_ERROR;
        }
        mark_step_node(arg, st);
        return typed(e, WEIR_T_INT);
    }

    if (arg->kind != AST_EXPR_FIELD || arg->u.field.base->kind != AST_EXPR_NAME) {
        /* Build the example from what was written: a step gets one of
         * its fields, a field gets a repeated step. */
        const char *step = example_step(x->s), *field = "amount";
        if (arg->kind == AST_EXPR_NAME) {
            const ast_step *st = weir_check_find_step(x->s->rule, arg->u.name.name);
            if (st) {
                step = st->name.name;
                field = example_field(st->stream);
            } else {
                field = arg->u.name.name;
            }
        }
        weir_diag_error(x->c->diags, arg->loc,
                        "%s() in a pattern rule needs a field of a repeated step, as in %s(%s%s.%s)",
                        fn, fn, distinct ? "distinct " : "", step, field);
        return WEIR_T_ERROR;
    }

    ast_expr *base = arg->u.field.base;
    const ast_step *st = resolve_step(x, &base->u.name);
    if (!st || !step_usable(x, st, base->loc))
        return WEIR_T_ERROR;
    if (!st->repeated) {
        weir_diag_error(x->c->diags, arg->loc,
                        "step '%s' matches one event: use %s.%s, not %s(%s%s.%s)",
                        st->name.name, st->name.name, arg->u.field.field.name, fn,
                        distinct ? "distinct " : "", st->name.name, arg->u.field.field.name);
        return WEIR_T_ERROR;
    }
    mark_step_node(base, st);
    if (step_field(x, arg, st, AST_REF_STEP_FIELD_ALL, false, 0) == WEIR_T_ERROR)
        return WEIR_T_ERROR;
    if (!check_arg_types(x, e, b))
        return WEIR_T_ERROR;
    return typed(e, builtin_result(b, arg));
}

static weir_type check_call(const ectx *x, ast_expr *e)
{
    const weir_scope *s = x->s;
    const char *fn = e->u.call.func.name;
    weir_builtin b = weir_builtin_lookup(fn);
    e->u.call.builtin = b;
    if (b == WEIR_BUILTIN_NONE) {
        const char *names[WEIR_BUILTIN__COUNT];
        for (int i = 0; i < WEIR_BUILTIN__COUNT; i++)
            names[i] = weir_builtin_get((weir_builtin)i)->name;
        weir_diag_error(x->c->diags, e->u.call.func.loc, "unknown function '%s'%s", fn,
                        weir_check_hint(x->c, fn, names, WEIR_BUILTIN__COUNT, ""));
        return WEIR_T_ERROR; /* its arguments mean nothing without it */
    }
    const weir_builtin_info *info = weir_builtin_get(b);
    if (e->u.call.distinct && b != WEIR_BUILTIN_COUNT) {
        weir_diag_error(x->c->diags, e->u.call.func.loc,
                        "only count() takes 'distinct', as in count(distinct merchant)");
        return WEIR_T_ERROR;
    }
    unsigned n = e->u.call.n_args;
    if (n < info->min_args || n > info->max_args) {
        if (info->max_args == 0)
            weir_diag_error(x->c->diags, e->loc, "%s() takes no arguments", fn);
        else if (info->min_args == info->max_args)
            weir_diag_error(x->c->diags, e->loc, "%s() takes %u argument%s, not %u", fn,
                            info->max_args, info->max_args == 1 ? "" : "s", n);
        else
            weir_diag_error(x->c->diags, e->loc, "%s() takes at most %u argument%s, not %u",
                            fn, info->max_args, info->max_args == 1 ? "" : "s", n);
        return WEIR_T_ERROR;
    }

    if (b == WEIR_BUILTIN_ENV) {
        weir_diag_error(x->c->diags, e->loc, "env() can only be used in sink options");
        return WEIR_T_ERROR;
    }
    if (b == WEIR_BUILTIN_WINDOW_START || b == WEIR_BUILTIN_WINDOW_END) {
        if (s->kind != WEIR_SCOPE_WINDOW_RESULT || x->agg) {
            weir_diag_error(x->c->diags, e->loc,
                            "%s() can only be used in the 'when' and the emit of a window rule",
                            fn);
            return WEIR_T_ERROR;
        }
        e->ref.kind = AST_REF_WINDOW_META;
        e->ref.window_meta = b == WEIR_BUILTIN_WINDOW_START ? 0 : 1;
        return typed(e, WEIR_T_TIME);
    }

    if (info->aggregate) {
        if (x->agg) {
            weir_diag_error(x->c->diags, e->loc, "aggregates cannot be nested: %s() inside %s()",
                            fn, x->agg->u.call.func.name);
            return WEIR_T_ERROR;
        }
        switch (s->kind) {
        case WEIR_SCOPE_WINDOW_FILTER:
            weir_diag_error(x->c->diags, e->loc,
                            "%s() cannot be used in a window's 'where', which filters events before they are aggregated: use 'when'",
                            fn);
            return WEIR_T_ERROR;
        case WEIR_SCOPE_WINDOW_RESULT:
            return window_aggregate(x, e, b);
        case WEIR_SCOPE_KEEP:
            weir_diag_error(x->c->diags, e->loc,
                            "%s() cannot be used in a keep's 'where', which tests one event: aggregates are the keep's items",
                            fn);
            return WEIR_T_ERROR;
        case WEIR_SCOPE_STEP:
        case WEIR_SCOPE_PATTERN_EMIT:
            return pattern_aggregate(x, e, b);
        }
        return WEIR_T_ERROR;
    }

    bool ok = true;
    for (ast_expr *a = e->u.call.args; a; a = a->next)
        if (check(x, a) == WEIR_T_ERROR)
            ok = false;
    if (!ok || !check_arg_types(x, e, b))
        return WEIR_T_ERROR;
    return typed(e, builtin_result(b, e->u.call.args));
}

/* ------------------------------------------------------------------ */
/* Operators                                                            */

static bool comparable(weir_type a, weir_type b)
{
    if (weir_type_is_numeric(a) && weir_type_is_numeric(b))
        return true;
    return a == b && a != WEIR_T_LIST;
}

static bool is_ordering(ast_binary_op op)
{
    return op == AST_BIN_LT || op == AST_BIN_LE || op == AST_BIN_GT || op == AST_BIN_GE;
}

/* The type of `a op b` for arithmetic, or WEIR_T_ERROR. */
static weir_type arith(ast_binary_op op, weir_type a, weir_type b)
{
    if (weir_type_is_numeric(a) && weir_type_is_numeric(b))
        return widen(a, b);
    const weir_type T = WEIR_T_TIME, D = WEIR_T_DURATION, I = WEIR_T_INT;
    switch (op) {
    case AST_BIN_ADD:
        if ((a == T && b == D) || (a == D && b == T))
            return T;
        if (a == D && b == D)
            return D;
        break;
    case AST_BIN_SUB:
        if (a == T && b == T)
            return D;
        if (a == T && b == D)
            return T;
        if (a == D && b == D)
            return D;
        break;
    case AST_BIN_MUL:
        if ((a == D && b == I) || (a == I && b == D))
            return D;
        break;
    case AST_BIN_DIV:
        if (a == D && b == I)
            return D;
        break;
    default:
        break;
    }
    return WEIR_T_ERROR;
}

static weir_type check_binary(const ectx *x, ast_expr *e)
{
    ast_binary_op op = e->u.binary.op;
    ast_expr *l = e->u.binary.left, *r = e->u.binary.right;
    weir_type lt = check(x, l), rt = check(x, r);
    const char *optext = weir_ast_binary_op_text(op);

    if (op == AST_BIN_AND || op == AST_BIN_OR) {
        bool ok = lt != WEIR_T_ERROR && rt != WEIR_T_ERROR;
        const ast_expr *sides[2] = {l, r};
        for (int i = 0; i < 2; i++) {
            weir_type t = sides[i]->type;
            if (t != WEIR_T_ERROR && t != WEIR_T_BOOL) {
                weir_diag_error(x->c->diags, sides[i]->loc, "'%s' needs bool operands, not %s",
                                optext, tname(t));
                ok = false;
            }
        }
        return ok ? typed(e, WEIR_T_BOOL) : WEIR_T_ERROR;
    }
    if (lt == WEIR_T_ERROR || rt == WEIR_T_ERROR)
        return WEIR_T_ERROR;

    switch (op) {
    case AST_BIN_EQ: case AST_BIN_NE: case AST_BIN_LT:
    case AST_BIN_LE: case AST_BIN_GT: case AST_BIN_GE:
        if (!comparable(lt, rt)) {
            /* `b.ts - a.ts > 5`: the number most likely lacks its unit */
            const ast_expr *bare = lt == WEIR_T_DURATION ? r : rt == WEIR_T_DURATION ? l : NULL;
            if (bare && bare->kind == AST_EXPR_INT && bare->u.int_value >= 0)
                weir_diag_error(x->c->diags, e->loc,
                                "cannot compare %s with %s: give the number a unit, as in %" PRId64 "s",
                                tname(lt), tname(rt), bare->u.int_value);
            else
                weir_diag_error(x->c->diags, e->loc, "cannot compare %s with %s", tname(lt),
                                tname(rt));
            return WEIR_T_ERROR;
        }
        if (lt == WEIR_T_BOOL && is_ordering(op)) {
            weir_diag_error(x->c->diags, e->loc,
                            "cannot use '%s' on bool values: only == and != compare them", optext);
            return WEIR_T_ERROR;
        }
        return typed(e, WEIR_T_BOOL);
    default: {
        weir_type t = arith(op, lt, rt);
        if (t == WEIR_T_ERROR)
            weir_diag_error(x->c->diags, e->loc, "cannot apply '%s' to %s and %s", optext,
                            tname(lt), tname(rt));
        return typed(e, t);
    }
    }
}

static weir_type check_unary(const ectx *x, ast_expr *e)
{
    ast_expr *o = e->u.unary.operand;
    weir_type t = check(x, o);
    if (t == WEIR_T_ERROR)
        return WEIR_T_ERROR;
    if (e->u.unary.op == AST_UNARY_NOT) {
        if (t != WEIR_T_BOOL) {
            weir_diag_error(x->c->diags, o->loc, "'not' needs a bool, not %s", tname(t));
            return WEIR_T_ERROR;
        }
        return typed(e, WEIR_T_BOOL);
    }
    if (!weir_type_is_numeric(t) && t != WEIR_T_DURATION) {
        weir_diag_error(x->c->diags, o->loc, "'-' needs a number or a duration, not %s",
                        tname(t));
        return WEIR_T_ERROR;
    }
    return typed(e, t);
}

/* The type of a literal list item, or WEIR_T_ERROR if it is not one. A
 * negative number is a literal too, though the parser sees `-` and `1`. */
static weir_type literal_type(ast_expr *e)
{
    switch (e->kind) {
    case AST_EXPR_INT: return typed(e, WEIR_T_INT);
    case AST_EXPR_DECIMAL: return typed(e, WEIR_T_DECIMAL);
    case AST_EXPR_FLOAT: return typed(e, WEIR_T_FLOAT);
    case AST_EXPR_STRING: return typed(e, WEIR_T_STRING);
    case AST_EXPR_BOOL: return typed(e, WEIR_T_BOOL);
    case AST_EXPR_DURATION: return typed(e, WEIR_T_DURATION);
    case AST_EXPR_UNARY: {
        ast_expr *o = e->u.unary.operand;
        if (e->u.unary.op != AST_UNARY_NEG)
            return WEIR_T_ERROR;
        if (o->kind != AST_EXPR_INT && o->kind != AST_EXPR_DECIMAL &&
            o->kind != AST_EXPR_FLOAT && o->kind != AST_EXPR_DURATION)
            return WEIR_T_ERROR;
        return typed(e, literal_type(o));
    }
    default:
        return WEIR_T_ERROR;
    }
}

/* Whether an item of type t may be stored in a list of type d. */
static bool fits(weir_type t, weir_type d)
{
    return t == d || (weir_type_is_numeric(t) && weir_type_is_numeric(d) && widen(t, d) == d);
}

weir_type weir_check_list_items(weir_checker *c, ast_expr *list, weir_type declared,
                                const char *name)
{
    list->type = WEIR_T_LIST;
    weir_type acc = WEIR_T_ERROR;
    bool bad = false;
    for (ast_expr *item = list->u.list.items; item; item = item->next) {
        weir_type t = literal_type(item);
        if (t == WEIR_T_ERROR) {
            weir_diag_error(c->diags, item->loc, "list items must be literals");
            bad = true;
            continue;
        }
        if (declared != WEIR_T_ERROR) {
            if (!fits(t, declared)) {
                weir_diag_error(c->diags, item->loc, "list '%s' holds %s, not %s", name,
                                tname(declared), tname(t));
                bad = true;
            }
            continue;
        }
        if (acc == WEIR_T_ERROR)
            acc = t;
        else if (weir_type_is_numeric(acc) && weir_type_is_numeric(t))
            acc = widen(acc, t);
        else if (t != acc) {
            weir_diag_error(c->diags, item->loc,
                            "list items must all have one type: found %s after %s", tname(t),
                            tname(acc));
            bad = true;
        }
    }
    if (bad)
        return WEIR_T_ERROR;
    return declared != WEIR_T_ERROR ? declared : acc;
}

static weir_type check_in(const ectx *x, ast_expr *e)
{
    ast_expr *set = e->u.in.set;
    weir_type vt = check(x, e->u.in.value);
    weir_type et;
    const char *what;
    const ast_keep_item *m = NULL;
    if (set->kind == AST_EXPR_NAME && in_pattern(x->s))
        m = weir_check_find_memory(x->s->rule, set->u.name.name);
    if (set->kind == AST_EXPR_NAME && memory_in_keep(x, set->u.name.name, set->loc))
        return WEIR_T_ERROR;
    if (m) {
        if (m->type == WEIR_T_ERROR)
            return WEIR_T_ERROR; /* the item was reported */
        if (!m->set) {
            weir_diag_error(x->c->diags, set->loc,
                            "memory '%s' is one value, not a set: 'in' needs a memory kept with distinct(x), a list, or literals in [ ]",
                            m->name.name);
            return WEIR_T_ERROR;
        }
        set->ref.kind = AST_REF_MEMORY;
        set->ref.memory = m;
        set->type = WEIR_T_LIST;
        if (vt == WEIR_T_ERROR)
            return WEIR_T_ERROR;
        /* The set holds values of its own type: the value may widen to
         * it (an int looked up among decimals), never the other way. */
        if (!fits(vt, m->type)) {
            weir_diag_error(x->c->diags, e->loc, "cannot look up %s in memory '%s', which holds %s",
                            tname(vt), m->name.name, tname(m->type));
            return WEIR_T_ERROR;
        }
        return typed(e, WEIR_T_BOOL);
    }
    if (set->kind == AST_EXPR_NAME) {
        const char *n = set->u.name.name;
        const ast_list_decl *l = weir_check_find_list(x->c->prog, n);
        if (!l) {
            const ast_keep *keep = in_pattern(x->s) ? &x->s->rule->keep : NULL;
            size_t k = keep ? keep->n_items : 0;
            for (const ast_list_decl *d = x->c->prog->lists; d; d = d->next)
                k++;
            const char **names = WEIR_ARENA_ARRAY(x->c->prog->arena, const char *, k ? k : 1);
            k = 0;
            for (const ast_list_decl *d = x->c->prog->lists; d; d = d->next)
                names[k++] = d->name.name;
            bool sets = false;
            for (const ast_keep_item *it = keep ? keep->items : NULL; it; it = it->next)
                if (it->set) {
                    names[k++] = it->name.name;
                    sets = true;
                }
            weir_diag_error(x->c->diags, set->loc, "unknown %s '%s'%s",
                            sets ? "list or memory" : "list", n,
                            weir_check_hint(x->c, n, names, k, ""));
            return WEIR_T_ERROR;
        }
        set->ref.kind = AST_REF_LIST;
        set->ref.list = l;
        set->type = WEIR_T_LIST;
        et = l->elem_type;
        what = weir_arena_printf(x->c->prog->arena, "list '%s'", n);
    } else if (set->kind == AST_EXPR_LIST) {
        et = weir_check_list_items(x->c, set, WEIR_T_ERROR, NULL);
        if (set->u.list.n_items == 0)
            et = vt; /* `x in []`: nothing to disagree with */
        what = "the list";
    } else {
        weir_diag_error(x->c->diags, set->loc,
                        "'in' needs a list: the name of a list, or literals in [ ]");
        return WEIR_T_ERROR;
    }
    if (vt == WEIR_T_ERROR || et == WEIR_T_ERROR)
        return WEIR_T_ERROR;
    if (!comparable(vt, et)) {
        weir_diag_error(x->c->diags, e->loc, "cannot look up %s in %s, which holds %s",
                        tname(vt), what, tname(et));
        return WEIR_T_ERROR;
    }
    return typed(e, WEIR_T_BOOL);
}

/* ------------------------------------------------------------------ */
/* The walk                                                             */

static weir_type check(const ectx *x, ast_expr *e)
{
    e->type = WEIR_T_ERROR;
    switch (e->kind) {
    case AST_EXPR_INT:
    case AST_EXPR_DECIMAL:
    case AST_EXPR_FLOAT:
    case AST_EXPR_STRING:
    case AST_EXPR_BOOL:
    case AST_EXPR_DURATION:
        return literal_type(e);
    case AST_EXPR_NAME:
        return check_name(x, e);
    case AST_EXPR_FIELD:
        return check_field(x, e);
    case AST_EXPR_INDEX:
        return check_index(x, e);
    case AST_EXPR_UNARY:
        return check_unary(x, e);
    case AST_EXPR_BINARY:
        return check_binary(x, e);
    case AST_EXPR_IN:
        return check_in(x, e);
    case AST_EXPR_LIST:
        weir_diag_error(x->c->diags, e->loc,
                        "a list in [ ] can only be used right of 'in', as in country in [\"KP\", \"IR\"]");
        return WEIR_T_ERROR;
    case AST_EXPR_CALL:
        return check_call(x, e);
    }
    return WEIR_T_ERROR;
}

weir_type weir_check_expr(weir_checker *c, const weir_scope *s, ast_expr *e)
{
    ectx x = {.c = c, .s = s, .agg = NULL};
    return check(&x, e);
}

/* ------------------------------------------------------------------ */
/* Items of a keep                                                      */

static void not_a_keep_item(const ectx *x, const ast_keep_item *item)
{
    weir_diag_error(x->c->diags, item->value->loc,
                    "memory '%s' must be one of count(), count(x), count(distinct x), sum(x), avg(x), min(x), max(x) or distinct(x)",
                    item->name.name);
}

weir_type weir_check_keep_item(weir_checker *c, const weir_scope *s, ast_keep_item *item)
{
    ectx x = {.c = c, .s = s, .agg = NULL};
    ast_expr *e = item->value;
    item->type = WEIR_T_ERROR;
    if (item->set) {
        /* distinct(x): any value can be a member; its type is the set's */
        weir_type t = check(&x, e);
        if (t == WEIR_T_LIST) {
            weir_diag_error(c->diags, e->loc, "distinct() needs a value, not a list");
            return WEIR_T_ERROR;
        }
        item->type = t;
        return t;
    }
    if (e->kind != AST_EXPR_CALL) {
        not_a_keep_item(&x, item);
        return WEIR_T_ERROR;
    }
    weir_builtin b = weir_builtin_lookup(e->u.call.func.name);
    e->u.call.builtin = b;
    switch (b) {
    case WEIR_BUILTIN_COUNT: case WEIR_BUILTIN_SUM: case WEIR_BUILTIN_AVG:
    case WEIR_BUILTIN_MIN: case WEIR_BUILTIN_MAX:
        break;
    case WEIR_BUILTIN_FIRST: case WEIR_BUILTIN_LAST:
        /* A bucket keeps folded numbers, not the events: first and last
         * would need the strings of events long gone. */
        weir_diag_error(c->diags, e->u.call.func.loc,
                        "%s() cannot be kept: a keep holds count, sum, avg, min, max and distinct values",
                        e->u.call.func.name);
        return WEIR_T_ERROR;
    default:
        not_a_keep_item(&x, item);
        return WEIR_T_ERROR;
    }
    const weir_builtin_info *info = weir_builtin_get(b);
    if (e->u.call.distinct && b != WEIR_BUILTIN_COUNT) {
        weir_diag_error(c->diags, e->u.call.func.loc,
                        "only count() takes 'distinct', as in count(distinct merchant)");
        return WEIR_T_ERROR;
    }
    unsigned n = e->u.call.n_args;
    if (n < info->min_args || n > info->max_args) {
        weir_diag_error(c->diags, e->loc, "%s() takes %s1 argument, not %u", info->name,
                        info->min_args == 0 ? "at most " : "", n);
        return WEIR_T_ERROR;
    }
    weir_type t = window_aggregate(&x, e, b);
    if (t == WEIR_T_ERROR)
        return WEIR_T_ERROR;
    const ast_expr *arg = e->u.call.args;
    if ((b == WEIR_BUILTIN_MIN || b == WEIR_BUILTIN_MAX) && arg->type == WEIR_T_STRING) {
        /* Buckets hold numbers only: a string would borrow an event's
         * bytes long after the event is gone. */
        weir_diag_error(c->diags, arg->loc,
                        "%s() in 'keep' needs a number, a time or a duration, not string",
                        info->name);
        return WEIR_T_ERROR;
    }
    item->type = t;
    return t;
}

/* ------------------------------------------------------------------ */
/* Constant folding, for "condition is always false"                    */

/* The value of a constant (sub)expression; known false when it depends on
 * an event or cannot be folded (overflow, arithmetic, calls). */
typedef struct cval {
    bool known;
    weir_type type;
    int64_t i; /* int, decimal (scaled), duration, time */
    double f;
    const char *s;
    bool b;
} cval;

static cval fold(const ast_expr *e);

/* Compares two constants of comparable types; false if it cannot. */
static bool fold_compare(const cval *l, const cval *r, int *ord)
{
    if (l->type == WEIR_T_STRING) {
        int c = strcmp(l->s, r->s);
        *ord = (c > 0) - (c < 0);
        return true;
    }
    if (l->type == WEIR_T_BOOL) {
        *ord = (int)l->b - (int)r->b;
        return true;
    }
    if (weir_type_is_numeric(l->type)) {
        weir_type w = widen(l->type, r->type);
        if (w == WEIR_T_FLOAT) {
            double a = l->type == WEIR_T_FLOAT ? l->f
                     : l->type == WEIR_T_DECIMAL ? (double)l->i / WEIR_DECIMAL_SCALE
                                                 : (double)l->i;
            double b = r->type == WEIR_T_FLOAT ? r->f
                     : r->type == WEIR_T_DECIMAL ? (double)r->i / WEIR_DECIMAL_SCALE
                                                 : (double)r->i;
            *ord = (a > b) - (a < b);
            return true;
        }
        int64_t a = l->i, b = r->i;
        if (w == WEIR_T_DECIMAL) {
            if (l->type == WEIR_T_INT && __builtin_mul_overflow(a, WEIR_DECIMAL_SCALE, &a))
                return false;
            if (r->type == WEIR_T_INT && __builtin_mul_overflow(b, WEIR_DECIMAL_SCALE, &b))
                return false;
        }
        *ord = (a > b) - (a < b);
        return true;
    }
    *ord = (l->i > r->i) - (l->i < r->i);
    return true;
}

static cval fold(const ast_expr *e)
{
    cval v = {0};
    if (e->type == WEIR_T_ERROR)
        return v;
    v.type = e->type;
    switch (e->kind) {
    case AST_EXPR_INT: v.known = true; v.i = e->u.int_value; break;
    case AST_EXPR_DECIMAL: v.known = true; v.i = e->u.decimal_value; break;
    case AST_EXPR_FLOAT: v.known = true; v.f = e->u.float_value; break;
    case AST_EXPR_STRING: v.known = true; v.s = e->u.string_value; break;
    case AST_EXPR_BOOL: v.known = true; v.b = e->u.bool_value; break;
    case AST_EXPR_DURATION: v.known = true; v.i = e->u.duration_ms; break;
    case AST_EXPR_UNARY: {
        cval o = fold(e->u.unary.operand);
        if (!o.known)
            break;
        v = o;
        v.type = e->type;
        if (e->u.unary.op == AST_UNARY_NOT)
            v.b = !o.b;
        else if (o.type == WEIR_T_FLOAT)
            v.f = -o.f;
        else if (o.i == INT64_MIN)
            v.known = false;
        else
            v.i = -o.i;
        break;
    }
    case AST_EXPR_BINARY: {
        cval l = fold(e->u.binary.left), r = fold(e->u.binary.right);
        ast_binary_op op = e->u.binary.op;
        if (op == AST_BIN_AND || op == AST_BIN_OR) {
            /* one decisive side is enough: `x and false` is false */
            bool decisive = op == AST_BIN_OR;
            if ((l.known && l.b == decisive) || (r.known && r.b == decisive)) {
                v.known = true;
                v.b = decisive;
            } else if (l.known && r.known) {
                v.known = true;
                v.b = !decisive;
            }
            break;
        }
        int ord;
        if (!l.known || !r.known || e->type != WEIR_T_BOOL || !fold_compare(&l, &r, &ord))
            break;
        v.known = true;
        switch (op) {
        case AST_BIN_EQ: v.b = ord == 0; break;
        case AST_BIN_NE: v.b = ord != 0; break;
        case AST_BIN_LT: v.b = ord < 0; break;
        case AST_BIN_LE: v.b = ord <= 0; break;
        case AST_BIN_GT: v.b = ord > 0; break;
        case AST_BIN_GE: v.b = ord >= 0; break;
        default: v.known = false; break;
        }
        break;
    }
    case AST_EXPR_IN:
        if (e->u.in.set->kind == AST_EXPR_LIST && e->u.in.set->u.list.n_items == 0) {
            v.known = true;
            v.b = e->u.in.negated;
        }
        break;
    default:
        break;
    }
    return v;
}

void weir_check_condition(weir_checker *c, const weir_scope *s, ast_expr *e)
{
    weir_type t = weir_check_expr(c, s, e);
    if (t == WEIR_T_ERROR)
        return;
    if (t != WEIR_T_BOOL) {
        weir_diag_error(c->diags, e->loc, "condition must be bool, not %s", tname(t));
        return;
    }
    cval v = fold(e);
    if (v.known && !v.b)
        weir_diag_warning(c->diags, e->loc, "condition is always false");
}

/* ------------------------------------------------------------------ */
/* Sink option values                                                   */

weir_type weir_check_option_value(weir_checker *c, ast_expr *e)
{
    switch (e->kind) {
    case AST_EXPR_NAME:
        return typed(e, WEIR_T_STRING); /* a word such as `hmac` */
    case AST_EXPR_CALL: {
        weir_builtin b = weir_builtin_lookup(e->u.call.func.name);
        e->u.call.builtin = b;
        if (b != WEIR_BUILTIN_ENV) {
            weir_diag_error(c->diags, e->u.call.func.loc,
                            "only env() can be used in a sink option, not %s()",
                            e->u.call.func.name);
            return WEIR_T_ERROR;
        }
        ast_expr *a = e->u.call.args;
        if (e->u.call.n_args != 1 || a->kind != AST_EXPR_STRING) {
            weir_diag_error(c->diags, e->loc,
                            "env() needs the name of an environment variable in quotes, as in env(\"SECRET\")");
            return WEIR_T_ERROR;
        }
        typed(a, WEIR_T_STRING);
        return typed(e, WEIR_T_STRING);
    }
    default: {
        weir_type t = literal_type(e);
        if (t == WEIR_T_ERROR)
            weir_diag_error(c->diags, e->loc, "a sink option takes literals, words or env(\"X\")");
        return t;
    }
    }
}
