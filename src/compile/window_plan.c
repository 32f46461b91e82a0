/* window_plan.c — window rules compiled into aggregation plans, and the
 * aggregate vtables (see window_plan.h).
 *
 * Building a plan compiles `where` as a program over the event, then
 * `when` and each emit field with an aggregate-slot callback: every
 * aggregate call met there is looked up among those already collected
 * (same kind, structurally equal argument) and gets that slot, or is
 * appended with its argument compiled as a program over the event. So the
 * engine computes sum(amount) once however often the rule writes it.
 *
 * The aggregate implementations are specialised by argument type class,
 * like the opcodes, so add() never tests a type. Each ignores missing
 * argument values (as SQL aggregates ignore NULL); count() counts events. */
#include "compile/window_plan.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/builtins.h"

/* ------------------------------------------------------------------ */
/* Aggregate implementations                                            */

/* Zero counts and sums, a NULL set, and v missing: v overlaps the others,
 * and missing is its only byte outside the 8 they share, which are 0. */
static void st_init(weir_agg_state *st)
{
    memset(st, 0, sizeof *st);
    st->v = weir_value_missing();
}

static bool present(const weir_value *v)
{
    return v && !v->missing;
}

/* count(): every event */
static void count_all_add(weir_agg_state *st, const weir_value *v)
{
    (void)v;
    st->n++;
}
static void count_all_remove(weir_agg_state *st, const weir_value *v)
{
    (void)v;
    st->n--;
}
/* count(x): present values */
static void count_add(weir_agg_state *st, const weir_value *v)
{
    if (present(v))
        st->n++;
}
static void count_remove(weir_agg_state *st, const weir_value *v)
{
    if (present(v))
        st->n--;
}
static int count_merge(weir_agg_state *dst, const weir_agg_state *src)
{
    dst->n += src->n;
    return 0;
}
static void count_result(const weir_agg_state *st, weir_value *out)
{
    *out = weir_value_int(st->n);
}

/* sums over int64-backed values: int, decimal (scaled), duration */
static void sum_i_add(weir_agg_state *st, const weir_value *v)
{
    if (!present(v))
        return;
    st->n++;
    if (__builtin_add_overflow(st->sum_i, v->u.i, &st->sum_i))
        st->overflow = true;
}
static void sum_i_remove(weir_agg_state *st, const weir_value *v)
{
    if (!present(v))
        return;
    st->n--;
    if (__builtin_sub_overflow(st->sum_i, v->u.i, &st->sum_i))
        st->overflow = true;
}
static int sum_i_merge(weir_agg_state *dst, const weir_agg_state *src)
{
    dst->n += src->n;
    dst->overflow |= src->overflow;
    if (__builtin_add_overflow(dst->sum_i, src->sum_i, &dst->sum_i))
        dst->overflow = true;
    return 0;
}
static void sum_i_result(const weir_agg_state *st, weir_value *out)
{
    *out = st->overflow ? weir_value_missing() : weir_value_int(st->sum_i);
}

static void sum_f_add(weir_agg_state *st, const weir_value *v)
{
    if (!present(v))
        return;
    st->n++;
    st->sum_f += v->u.f;
}
static void sum_f_remove(weir_agg_state *st, const weir_value *v)
{
    if (!present(v))
        return;
    st->n--;
    st->sum_f -= v->u.f;
}
static int sum_f_merge(weir_agg_state *dst, const weir_agg_state *src)
{
    dst->n += src->n;
    dst->sum_f += src->sum_f;
    return 0;
}
static void sum_f_result(const weir_agg_state *st, weir_value *out)
{
    *out = weir_value_float(st->sum_f);
}

/* round(num / den) half away from zero, den > 0 */
static bool div_round(__int128 num, __int128 den, int64_t *out)
{
    __int128 q = num / den, r = num % den;
    if (r < 0)
        r = -r;
    if (2 * r >= den)
        q += num < 0 ? -1 : 1;
    if (q > INT64_MAX || q < INT64_MIN)
        return false;
    *out = (int64_t)q;
    return true;
}

/* avg(int) is a decimal: the sum scaled, divided by n, rounded. */
static void avg_int_result(const weir_agg_state *st, weir_value *out)
{
    int64_t d;
    if (st->n == 0 || st->overflow ||
        !div_round((__int128)st->sum_i * WEIR_DECIMAL_SCALE, st->n, &d))
        *out = weir_value_missing();
    else
        *out = weir_value_decimal(d);
}
static void avg_dec_result(const weir_agg_state *st, weir_value *out)
{
    int64_t d;
    if (st->n == 0 || st->overflow || !div_round(st->sum_i, st->n, &d))
        *out = weir_value_missing();
    else
        *out = weir_value_decimal(d);
}
static void avg_f_result(const weir_agg_state *st, weir_value *out)
{
    *out = st->n == 0 ? weir_value_missing() : weir_value_float(st->sum_f / (double)st->n);
}

/* min / max: keep the best value so far; merge = add the other's best. */
#define MINMAX(NAME, BETTER)                                                  \
    static void NAME##_add(weir_agg_state *st, const weir_value *v)           \
    {                                                                         \
        if (!present(v))                                                      \
            return;                                                           \
        st->n++;                                                              \
        if (st->v.missing || (BETTER)) {                                      \
            st->v = *v;                                                       \
        }                                                                     \
    }                                                                         \
    static int NAME##_merge(weir_agg_state *dst, const weir_agg_state *src)   \
    {                                                                         \
        int64_t n = dst->n + src->n;                                          \
        NAME##_add(dst, &src->v);                                             \
        dst->n = n;                                                           \
        return 0;                                                             \
    }

static int str_cmp(const weir_value *a, const weir_value *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->u.s, b->u.s, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

MINMAX(min_i, v->u.i < st->v.u.i)
MINMAX(max_i, v->u.i > st->v.u.i)
MINMAX(min_f, v->u.f < st->v.u.f)
MINMAX(max_f, v->u.f > st->v.u.f)
MINMAX(min_s, str_cmp(v, &st->v) < 0)
MINMAX(max_s, str_cmp(v, &st->v) > 0)
MINMAX(min_b, !v->u.b && st->v.u.b)
MINMAX(max_b, v->u.b && !st->v.u.b)
#undef MINMAX

static void value_result(const weir_agg_state *st, weir_value *out)
{
    *out = st->v; /* missing when nothing was seen */
}

/* first / last present value, in event order */
static void first_add(weir_agg_state *st, const weir_value *v)
{
    if (!present(v))
        return;
    if (st->n++ == 0)
        st->v = *v;
}
static int first_merge(weir_agg_state *dst, const weir_agg_state *src)
{
    if (dst->n == 0)
        dst->v = src->v;
    dst->n += src->n;
    return 0;
}
static void last_add(weir_agg_state *st, const weir_value *v)
{
    if (!present(v))
        return;
    st->n++;
    st->v = *v;
}
static int last_merge(weir_agg_state *dst, const weir_agg_state *src)
{
    if (src->n > 0)
        dst->v = src->v;
    dst->n += src->n;
    return 0;
}

/* count distinct: a value set per state, created on the first value. The
 * set's element type only selects hashing and equality, so one
 * representative type per class is enough. */
static void distinct_add_typed(weir_agg_state *st, const weir_value *v, weir_type t)
{
    if (!present(v))
        return;
    if (!st->set && !(st->set = weir_value_set_new(t))) {
        st->overflow = true;
        return;
    }
    if (weir_value_set_add(st->set, v) != 0)
        st->overflow = true;
}
static int distinct_merge_typed(weir_agg_state *dst, const weir_agg_state *src, weir_type t)
{
    dst->overflow |= src->overflow;
    if (!src->set)
        return 0;
    size_t pos = 0;
    const weir_value *v;
    while ((v = weir_value_set_next(src->set, &pos))) {
        distinct_add_typed(dst, v, t);
        if (dst->overflow)
            return -1;
    }
    return 0;
}
#define DISTINCT(NAME, TYPE)                                                    \
    static void NAME##_add(weir_agg_state *st, const weir_value *v)             \
    {                                                                           \
        distinct_add_typed(st, v, TYPE);                                        \
    }                                                                           \
    static int NAME##_merge(weir_agg_state *dst, const weir_agg_state *src)     \
    {                                                                           \
        return distinct_merge_typed(dst, src, TYPE);                            \
    }
DISTINCT(distinct_i, WEIR_T_INT)
DISTINCT(distinct_f, WEIR_T_FLOAT)
DISTINCT(distinct_s, WEIR_T_STRING)
DISTINCT(distinct_b, WEIR_T_BOOL)
#undef DISTINCT
static void distinct_result(const weir_agg_state *st, weir_value *out)
{
    if (st->overflow)
        *out = weir_value_missing();
    else
        *out = weir_value_int(st->set ? (int64_t)weir_value_set_size(st->set) : 0);
}
static void distinct_fini(weir_agg_state *st)
{
    weir_value_set_free(st->set);
    st->set = NULL;
}

/* Indexed by weir_agg_fn; the order must follow WEIR_AGG_FN_LIST, which the
 * static assertion below and the name check in the tests guard. */
static const weir_agg_ops agg_ops[] = {
    {"count", WEIR_AGG_COUNT, st_init, count_all_add, count_all_remove, count_merge,
     count_result, NULL},
    {"count", WEIR_AGG_COUNT, st_init, count_add, count_remove, count_merge, count_result,
     NULL},
    {"sum.i64", WEIR_AGG_SUM, st_init, sum_i_add, sum_i_remove, sum_i_merge, sum_i_result,
     NULL},
    {"sum.f64", WEIR_AGG_SUM, st_init, sum_f_add, sum_f_remove, sum_f_merge, sum_f_result,
     NULL},
    {"avg.int", WEIR_AGG_AVG, st_init, sum_i_add, sum_i_remove, sum_i_merge, avg_int_result,
     NULL},
    {"avg.dec", WEIR_AGG_AVG, st_init, sum_i_add, sum_i_remove, sum_i_merge, avg_dec_result,
     NULL},
    {"avg.f64", WEIR_AGG_AVG, st_init, sum_f_add, sum_f_remove, sum_f_merge, avg_f_result,
     NULL},
    {"min.i64", WEIR_AGG_MIN, st_init, min_i_add, NULL, min_i_merge, value_result, NULL},
    {"min.f64", WEIR_AGG_MIN, st_init, min_f_add, NULL, min_f_merge, value_result, NULL},
    {"min.str", WEIR_AGG_MIN, st_init, min_s_add, NULL, min_s_merge, value_result, NULL},
    {"min.bool", WEIR_AGG_MIN, st_init, min_b_add, NULL, min_b_merge, value_result, NULL},
    {"max.i64", WEIR_AGG_MAX, st_init, max_i_add, NULL, max_i_merge, value_result, NULL},
    {"max.f64", WEIR_AGG_MAX, st_init, max_f_add, NULL, max_f_merge, value_result, NULL},
    {"max.str", WEIR_AGG_MAX, st_init, max_s_add, NULL, max_s_merge, value_result, NULL},
    {"max.bool", WEIR_AGG_MAX, st_init, max_b_add, NULL, max_b_merge, value_result, NULL},
    {"first", WEIR_AGG_FIRST, st_init, first_add, NULL, first_merge, value_result, NULL},
    {"last", WEIR_AGG_LAST, st_init, last_add, NULL, last_merge, value_result, NULL},
    {"count_distinct.i64", WEIR_AGG_COUNT_DISTINCT, st_init, distinct_i_add, NULL,
     distinct_i_merge, distinct_result, distinct_fini},
    {"count_distinct.f64", WEIR_AGG_COUNT_DISTINCT, st_init, distinct_f_add, NULL,
     distinct_f_merge, distinct_result, distinct_fini},
    {"count_distinct.str", WEIR_AGG_COUNT_DISTINCT, st_init, distinct_s_add, NULL,
     distinct_s_merge, distinct_result, distinct_fini},
    {"count_distinct.bool", WEIR_AGG_COUNT_DISTINCT, st_init, distinct_b_add, NULL,
     distinct_b_merge, distinct_result, distinct_fini},
};
_Static_assert(sizeof agg_ops / sizeof agg_ops[0] == WEIR_AGG_FN__COUNT,
               "agg_ops must have one entry per weir_agg_fn");

/* The kind of each fn, straight from the X-macro list (the tests check it
 * against agg_ops[].kind, which guards the table's order). */
static const weir_agg_kind fn_kind[] = {
#define WEIR_AGG_FN_KIND(e, kind, name) WEIR_AGG_##kind,
    WEIR_AGG_FN_LIST(WEIR_AGG_FN_KIND)
#undef WEIR_AGG_FN_KIND
};

const weir_agg_ops *weir_agg_ops_get(weir_agg_fn fn)
{
    return &agg_ops[fn];
}

static const char *const agg_kind_names[] = {
#define WEIR_AGG_KIND_NAME(e, name) name,
    WEIR_AGG_KIND_LIST(WEIR_AGG_KIND_NAME)
#undef WEIR_AGG_KIND_NAME
};

const char *weir_agg_kind_name(weir_agg_kind kind)
{
    return kind < WEIR_AGG__COUNT ? agg_kind_names[kind] : "?";
}

weir_agg_fn weir_agg_fn_for(weir_agg_kind kind, weir_type t, bool has_arg)
{
    bool i64 = t == WEIR_T_INT || t == WEIR_T_DECIMAL || t == WEIR_T_TIME ||
               t == WEIR_T_DURATION;
    bool f64 = t == WEIR_T_FLOAT, str = t == WEIR_T_STRING, bl = t == WEIR_T_BOOL;
    switch (kind) {
    case WEIR_AGG_COUNT:
        return has_arg ? WEIR_AGG_FN_COUNT : WEIR_AGG_FN_COUNT_ALL;
    case WEIR_AGG_SUM:
        if (t == WEIR_T_INT || t == WEIR_T_DECIMAL || t == WEIR_T_DURATION)
            return WEIR_AGG_FN_SUM_I64;
        return f64 ? WEIR_AGG_FN_SUM_F64 : WEIR_AGG_FN__COUNT;
    case WEIR_AGG_AVG:
        return t == WEIR_T_INT       ? WEIR_AGG_FN_AVG_INT
               : t == WEIR_T_DECIMAL ? WEIR_AGG_FN_AVG_DEC
               : f64                 ? WEIR_AGG_FN_AVG_F64
                                     : WEIR_AGG_FN__COUNT;
    case WEIR_AGG_MIN:
        return i64 ? WEIR_AGG_FN_MIN_I64 : f64 ? WEIR_AGG_FN_MIN_F64
               : str ? WEIR_AGG_FN_MIN_STR : bl ? WEIR_AGG_FN_MIN_BOOL : WEIR_AGG_FN__COUNT;
    case WEIR_AGG_MAX:
        return i64 ? WEIR_AGG_FN_MAX_I64 : f64 ? WEIR_AGG_FN_MAX_F64
               : str ? WEIR_AGG_FN_MAX_STR : bl ? WEIR_AGG_FN_MAX_BOOL : WEIR_AGG_FN__COUNT;
    case WEIR_AGG_FIRST:
        return has_arg && (i64 || f64 || str || bl) ? WEIR_AGG_FN_FIRST : WEIR_AGG_FN__COUNT;
    case WEIR_AGG_LAST:
        return has_arg && (i64 || f64 || str || bl) ? WEIR_AGG_FN_LAST : WEIR_AGG_FN__COUNT;
    case WEIR_AGG_COUNT_DISTINCT:
        return i64 ? WEIR_AGG_FN_DISTINCT_I64 : f64 ? WEIR_AGG_FN_DISTINCT_F64
               : str ? WEIR_AGG_FN_DISTINCT_STR : bl ? WEIR_AGG_FN_DISTINCT_BOOL
                     : WEIR_AGG_FN__COUNT;
    case WEIR_AGG__COUNT:
        break;
    }
    return WEIR_AGG_FN__COUNT;
}

weir_type weir_agg_result_type(weir_agg_kind kind, weir_type t)
{
    switch (kind) {
    case WEIR_AGG_COUNT:
    case WEIR_AGG_COUNT_DISTINCT:
        return WEIR_T_INT;
    case WEIR_AGG_AVG:
        return t == WEIR_T_FLOAT ? WEIR_T_FLOAT : WEIR_T_DECIMAL;
    default:
        return t;
    }
}

/* ------------------------------------------------------------------ */
/* Plans                                                                */

/* Structural equality of two checked expressions: same shape, same
 * literals, same resolved names. Used to share aggregates. */
static bool expr_equal(const ast_expr *a, const ast_expr *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->type != b->type)
        return false;
    switch (a->kind) {
    case AST_EXPR_INT:
        return a->u.int_value == b->u.int_value;
    case AST_EXPR_DECIMAL:
        return a->u.decimal_value == b->u.decimal_value;
    case AST_EXPR_FLOAT:
        return a->u.float_value == b->u.float_value;
    case AST_EXPR_STRING:
        return strcmp(a->u.string_value, b->u.string_value) == 0;
    case AST_EXPR_BOOL:
        return a->u.bool_value == b->u.bool_value;
    case AST_EXPR_DURATION:
        return a->u.duration_ms == b->u.duration_ms;
    case AST_EXPR_NAME:
    case AST_EXPR_FIELD:
    case AST_EXPR_INDEX:
        return a->ref.kind == b->ref.kind && a->ref.field == b->ref.field &&
               a->ref.step == b->ref.step && a->ref.has_index == b->ref.has_index &&
               a->ref.index == b->ref.index && a->ref.list == b->ref.list &&
               a->ref.window_meta == b->ref.window_meta && a->ref.kind != AST_REF_UNRESOLVED;
    case AST_EXPR_UNARY:
        return a->u.unary.op == b->u.unary.op && expr_equal(a->u.unary.operand, b->u.unary.operand);
    case AST_EXPR_BINARY:
        return a->u.binary.op == b->u.binary.op && expr_equal(a->u.binary.left, b->u.binary.left) &&
               expr_equal(a->u.binary.right, b->u.binary.right);
    case AST_EXPR_IN:
        return a->u.in.negated == b->u.in.negated && expr_equal(a->u.in.value, b->u.in.value) &&
               expr_equal(a->u.in.set, b->u.in.set);
    case AST_EXPR_LIST: {
        const ast_expr *x = a->u.list.items, *y = b->u.list.items;
        for (; x && y; x = x->next, y = y->next)
            if (!expr_equal(x, y))
                return false;
        return !x && !y;
    }
    case AST_EXPR_CALL: {
        if (a->u.call.builtin != b->u.call.builtin || a->u.call.distinct != b->u.call.distinct ||
            a->u.call.n_args != b->u.call.n_args)
            return false;
        const ast_expr *x = a->u.call.args, *y = b->u.call.args;
        for (; x && y; x = x->next, y = y->next)
            if (!expr_equal(x, y))
                return false;
        return !x && !y;
    }
    }
    return false;
}

typedef struct builder {
    weir_window_plan *plan;
    const weir_expr_options *opt; /* diagnostics and lists */
    const ast_expr **agg_args;    /* per slot: the argument's AST, to dedupe */
    weir_agg_kind *agg_kinds;
    unsigned cap;
} builder;


static weir_agg_kind call_kind(const ast_expr *call)
{
    switch ((weir_builtin)call->u.call.builtin) {
    case WEIR_BUILTIN_SUM: return WEIR_AGG_SUM;
    case WEIR_BUILTIN_AVG: return WEIR_AGG_AVG;
    case WEIR_BUILTIN_MIN: return WEIR_AGG_MIN;
    case WEIR_BUILTIN_MAX: return WEIR_AGG_MAX;
    case WEIR_BUILTIN_FIRST: return WEIR_AGG_FIRST;
    case WEIR_BUILTIN_LAST: return WEIR_AGG_LAST;
    default:
        return call->u.call.distinct ? WEIR_AGG_COUNT_DISTINCT : WEIR_AGG_COUNT;
    }
}

/* weir_expr_agg_slot_cb: the slot of an aggregate, shared or new. */
static int agg_slot(const ast_expr *call, void *user)
{
    builder *b = user;
    weir_window_plan *plan = b->plan;
    weir_agg_kind kind = call_kind(call);
    const ast_expr *arg = call->u.call.args;

    for (unsigned i = 0; i < plan->n_aggs; i++)
        if (b->agg_kinds[i] == kind && expr_equal(b->agg_args[i], arg))
            return (int)i;

    weir_type at = arg ? arg->type : WEIR_T_ERROR;
    weir_agg_fn fn = weir_agg_fn_for(kind, at, arg != NULL);
    if (fn == WEIR_AGG_FN__COUNT) {
        if (b->opt->diags)
            weir_diag_error(b->opt->diags, call->loc, "%s() over %s values is not supported",
                            weir_agg_kind_name(kind), weir_type_name(at));
        return -1;
    }
    if (plan->n_aggs == b->cap) {
        unsigned ncap = b->cap ? b->cap * 2 : 4;
        weir_window_agg *na = realloc(plan->aggs, ncap * sizeof *na);
        if (!na)
            return -1;
        plan->aggs = na;
        const ast_expr **nargs = realloc(b->agg_args, ncap * sizeof *nargs);
        if (!nargs)
            return -1;
        b->agg_args = nargs;
        weir_agg_kind *nk = realloc(b->agg_kinds, ncap * sizeof *nk);
        if (!nk)
            return -1;
        b->agg_kinds = nk;
        b->cap = ncap;
    }
    weir_expr_program *argp = NULL;
    if (arg) {
        /* The argument reads the event being added: no aggregates there. */
        weir_expr_options o = *b->opt;
        o.agg_slot = NULL;
        o.agg_user = NULL;
        argp = weir_expr_compile(arg, &o);
        if (!argp)
            return -1;
    }
    weir_window_agg *ag = &plan->aggs[plan->n_aggs];
    ag->kind = kind;
    ag->fn = fn;
    ag->ops = weir_agg_ops_get(fn);
    ag->arg = argp;
    ag->arg_type = at;
    ag->result_type = weir_agg_result_type(kind, at);
    b->agg_args[plan->n_aggs] = arg;
    b->agg_kinds[plan->n_aggs] = kind;
    return (int)plan->n_aggs++;
}

static char *dup_str(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

weir_window_plan *weir_window_plan_new(const ast_rule *rule, const weir_expr_options *opt)
{
    static const weir_expr_options no_opt = {0};
    if (!opt)
        opt = &no_opt;
    if (rule->kind != AST_RULE_WINDOW)
        return NULL;
    weir_window_plan *plan = calloc(1, sizeof *plan);
    if (!plan)
        return NULL;
    builder b = {.plan = plan, .opt = opt};
    weir_expr_options plain = *opt;
    plain.agg_slot = NULL;
    plain.agg_user = NULL;
    weir_expr_options with_aggs = plain;
    with_aggs.agg_slot = agg_slot;
    with_aggs.agg_user = &b;

    if (!(plan->rule_name = dup_str(rule->name.name)))
        goto fail;
    plan->kind = rule->window.kind;
    plan->size_ms = rule->window.size_ms;
    plan->slide_ms = rule->window.slide_ms;
    plan->gap_ms = rule->window.gap_ms;
    plan->count = rule->window.count;
    plan->count_slide = rule->window.count_slide ? rule->window.count_slide : rule->window.count;
    if (rule->inputs && rule->inputs->key) {
        plan->key_field = rule->inputs->key->index;
        plan->key_type = rule->inputs->key->type;
    }
    if (rule->filter && !(plan->filter = weir_expr_compile(rule->filter, &plain)))
        goto fail;
    if (rule->when && !(plan->when = weir_expr_compile(rule->when, &with_aggs)))
        goto fail;
    if (rule->emit.n_fields) {
        plan->emit = calloc(rule->emit.n_fields, sizeof *plan->emit);
        if (!plan->emit)
            goto fail;
        for (const ast_emit_field *f = rule->emit.fields; f; f = f->next) {
            weir_window_emit_field *ef = &plan->emit[plan->n_emit++];
            if (!(ef->name = dup_str(f->name.name)))
                goto fail;
            if (!(ef->value = weir_expr_compile(f->value, &with_aggs)))
                goto fail;
        }
    }
    free(b.agg_args);
    free(b.agg_kinds);
    return plan;
fail:
    free(b.agg_args);
    free(b.agg_kinds);
    weir_window_plan_free(plan);
    return NULL;
}

void weir_window_plan_free(weir_window_plan *plan)
{
    if (!plan)
        return;
    free(plan->rule_name);
    weir_expr_program_free(plan->filter);
    weir_expr_program_free(plan->when);
    for (unsigned i = 0; i < plan->n_aggs; i++)
        weir_expr_program_free(plan->aggs[i].arg);
    free(plan->aggs);
    for (unsigned i = 0; i < plan->n_emit; i++) {
        free(plan->emit[i].name);
        weir_expr_program_free(plan->emit[i].value);
    }
    free(plan->emit);
    free(plan);
}

int weir_window_plan_dump(const weir_window_plan *plan, FILE *out)
{
    fprintf(out, "window rule %s: %s", plan->rule_name, weir_ast_window_kind_text(plan->kind));
    switch (plan->kind) {
    case AST_WINDOW_TUMBLING:
        fprintf(out, " %" PRId64 "ms", plan->size_ms);
        break;
    case AST_WINDOW_SLIDING:
        fprintf(out, " %" PRId64 "ms every %" PRId64 "ms", plan->size_ms, plan->slide_ms);
        break;
    case AST_WINDOW_SESSION:
        fprintf(out, " gap %" PRId64 "ms", plan->gap_ms);
        break;
    case AST_WINDOW_COUNT:
        fprintf(out, " %" PRId64 " every %" PRId64, plan->count, plan->count_slide);
        break;
    }
    fprintf(out, ", key field %u (%s)\n", plan->key_field, weir_type_name(plan->key_type));
    if (plan->filter) {
        fputs("  where:\n", out);
        weir_expr_dump(plan->filter, out);
    }
    fprintf(out, "  aggregates: %u\n", plan->n_aggs);
    for (unsigned i = 0; i < plan->n_aggs; i++) {
        const weir_window_agg *a = &plan->aggs[i];
        fprintf(out, "    slot %u: %s", i, a->ops->name);
        if (a->arg)
            fprintf(out, "(%s)", weir_type_name(a->arg_type));
        fprintf(out, " -> %s%s\n", weir_type_name(a->result_type),
                a->ops->remove ? "" : ", not invertible");
        if (a->arg)
            weir_expr_dump(a->arg, out);
    }
    if (plan->when) {
        fputs("  when:\n", out);
        weir_expr_dump(plan->when, out);
    }
    for (unsigned i = 0; i < plan->n_emit; i++) {
        fprintf(out, "  emit %s:\n", plan->emit[i].name);
        weir_expr_dump(plan->emit[i].value, out);
    }
    return ferror(out) ? -1 : 0;
}

weir_agg_kind weir_agg_fn_kind(weir_agg_fn fn)
{
    return fn_kind[fn];
}
