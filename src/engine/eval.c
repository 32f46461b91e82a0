/* eval.c — the expression evaluator (see eval.h, compile/expr.h).
 *
 * One loop over a switch on the opcode, a stack of weir_value in a fixed
 * array (the compiler bounded its depth by WEIR_EXPR_MAX_STACK), no malloc,
 * no recursion, no type tests: the opcode says what the operands are. Every
 * operation propagates "missing" by OR-ing the operands' flags; undefined
 * results (division by zero, overflow, an absent step event, an aggregate
 * over nothing) are missing rather than a crash or a made-up number.
 *
 * Integer arithmetic uses the checked __builtin_*_overflow so an overflow is
 * missing, never undefined behaviour. Decimal * and / go through __int128
 * and round half away from zero, like money. */
#include "engine/eval.h"

#include <math.h>
#include <string.h>

#include "compile/window_plan.h"
#include "engine/key_memory.h"

/* ------------------------------------------------------------------ */
/* Match views over plain arrays                                        */

static size_t array_count(const void *self, unsigned step)
{
    const weir_eval_match_array *a = self;
    return step < a->n_steps ? a->n_events[step] : 0;
}

static const weir_value *array_event(const void *self, unsigned step, size_t i)
{
    const weir_eval_match_array *a = self;
    return a->events[step][i];
}

static const weir_eval_match_ops array_ops = {array_count, array_event};

weir_eval_match weir_eval_match_array_view(const weir_eval_match_array *arr)
{
    weir_eval_match m = {&array_ops, arr};
    return m;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                              */

/* round(num / den) half away from zero; den != 0. False on overflow of
 * the int64 result. */
static bool div_round(__int128 num, __int128 den, int64_t *out)
{
    if (den < 0) {
        num = -num;
        den = -den;
    }
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

static int str_cmp(const weir_value *a, const weir_value *b)
{
    uint32_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->u.s, b->u.s, n) : 0;
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static bool str_find(const weir_value *hay, const weir_value *needle)
{
    if (needle->len == 0)
        return true;
    if (needle->len > hay->len)
        return false;
    const char *p = hay->u.s, *end = hay->u.s + (hay->len - needle->len);
    char first = needle->u.s[0];
    while (p <= end) {
        p = memchr(p, first, (size_t)(end - p) + 1);
        if (!p)
            return false;
        if (memcmp(p, needle->u.s, needle->len) == 0)
            return true;
        p++;
    }
    return false;
}

static double haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = 3.14159265358979323846 / 180.0, earth_km = 6371.0088; /* IUGG mean radius */
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
    double h = s1 * s1 + cos(lat1 * rad) * cos(lat2 * rad) * s2 * s2;
    if (h > 1.0) /* rounding near antipodes */
        h = 1.0;
    return 2.0 * earth_km * asin(sqrt(h));
}

/* Floor division and modulo for times before 1970. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

#define MS_PER_HOUR INT64_C(3600000)
#define MS_PER_DAY INT64_C(86400000)

/* Resolves index `idx` (negative from the end) of `step`; NULL if absent. */
static const weir_value *step_event(const weir_eval_match *m, unsigned step, int32_t idx)
{
    if (!m)
        return NULL;
    size_t n = m->ops->count(m->self, step);
    size_t i;
    if (idx >= 0) {
        i = (size_t)idx;
        if (i >= n)
            return NULL;
    } else {
        size_t back = (size_t)(-(int64_t)idx);
        if (back > n)
            return NULL;
        i = n - back;
    }
    return m->ops->event(m->self, step, i);
}

/* count(distinct step.field) without allocating: for each event, is its
 * value new among the ones before it? O(n²), which is fine for the short
 * runs a pattern step holds; window rules use a hash set instead. */
static int64_t step_count_distinct(const weir_eval_match *m, unsigned step, uint32_t field,
                                   weir_type t)
{
    if (!m)
        return 0;
    size_t n = m->ops->count(m->self, step);
    int64_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        const weir_value *vi = &m->ops->event(m->self, step, i)[field];
        if (vi->missing)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            const weir_value *vj = &m->ops->event(m->self, step, j)[field];
            seen = !vj->missing && weir_value_equal(t, vi, vj);
        }
        if (!seen)
            distinct++;
    }
    return distinct;
}

static weir_value step_fold(const weir_eval_match *m, unsigned step, uint32_t field,
                            weir_agg_fn fn)
{
    const weir_agg_ops *ops = weir_agg_ops_get(fn);
    weir_agg_state st;
    ops->init(&st);
    size_t n = m ? m->ops->count(m->self, step) : 0;
    for (size_t i = 0; i < n; i++)
        ops->add(&st, &m->ops->event(m->self, step, i)[field]);
    weir_value out;
    ops->result(&st, &out);
    return out;
}

/* Writes the ASCII case mapping of s into the scratch area. */
static weir_value map_case(const weir_value *s, weir_eval_scratch *sc, bool upper)
{
    if (s->missing || !sc || sc->cap - sc->used < s->len)
        return weir_value_missing();
    char *dst = sc->buf + sc->used;
    for (uint32_t i = 0; i < s->len; i++) {
        char ch = s->u.s[i];
        if (upper && ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        else if (!upper && ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        dst[i] = ch;
    }
    sc->used += s->len;
    return weir_value_string(dst, s->len);
}

/* ------------------------------------------------------------------ */
/* The loop                                                             */

void weir_eval_run(const weir_expr_program *p, const weir_eval_ctx *ctx, weir_value *out)
{
    weir_value stack[WEIR_EXPR_MAX_STACK];
    weir_value *sp = stack; /* next free slot; top is sp[-1] */
    const weir_instr *code = p->code;
    uint32_t pc = 0, n = p->n_code;

/* The two operands of a binary op: a = sp[-2], b = sp[-1]; the result goes
 * to a, whose missing flag already holds a's. */
#define BIN                               \
    weir_value *a = &sp[-2], *b = &sp[-1]; \
    sp--;                                  \
    a->missing |= b->missing;
#define RESULT_BOOL(expr)           \
    do {                            \
        bool r_ = (expr);           \
        a->u.i = 0;                 \
        a->u.b = r_;                \
        a->len = 0;                 \
    } while (0)

    while (pc < n) {
        const weir_instr *in = &code[pc++];
        switch ((weir_opcode)in->op) {
        case WEIR_OP_CONST:
            *sp++ = p->consts[in->c];
            break;
        case WEIR_OP_FIELD:
            *sp++ = ctx->event ? ctx->event[in->c] : weir_value_missing();
            break;
        case WEIR_OP_STEP_FIELD: {
            const weir_value *ev = step_event(ctx->match, in->a, in->b);
            *sp++ = ev ? ev[in->c] : weir_value_missing();
            break;
        }
        case WEIR_OP_STEP_COUNT:
            *sp++ = weir_value_int(
                ctx->match ? (int64_t)ctx->match->ops->count(ctx->match->self, in->a) : 0);
            break;
        case WEIR_OP_STEP_AGG:
            *sp++ = step_fold(ctx->match, in->a, in->c, (weir_agg_fn)in->d);
            break;
        case WEIR_OP_STEP_CDIST_I64:
            *sp++ = weir_value_int(step_count_distinct(ctx->match, in->a, in->c, WEIR_T_INT));
            break;
        case WEIR_OP_STEP_CDIST_F64:
            *sp++ = weir_value_int(step_count_distinct(ctx->match, in->a, in->c, WEIR_T_FLOAT));
            break;
        case WEIR_OP_STEP_CDIST_STR:
            *sp++ = weir_value_int(step_count_distinct(ctx->match, in->a, in->c, WEIR_T_STRING));
            break;
        case WEIR_OP_STEP_CDIST_BOOL:
            *sp++ = weir_value_int(step_count_distinct(ctx->match, in->a, in->c, WEIR_T_BOOL));
            break;
        case WEIR_OP_AGG:
            *sp++ = ctx->aggs ? ctx->aggs[in->c] : weir_value_missing();
            break;
        case WEIR_OP_KEY:
            *sp++ = ctx->key;
            break;
        case WEIR_OP_WINDOW_START:
            *sp++ = weir_value_millis(ctx->window_start);
            break;
        case WEIR_OP_WINDOW_END:
            *sp++ = weir_value_millis(ctx->window_end);
            break;
        case WEIR_OP_MEM_VALUE:
            if (ctx->memory)
                weir_key_memory_read(ctx->memory, in->c, sp);
            else
                *sp = weir_value_missing();
            sp++;
            break;

        case WEIR_OP_I2D:
            if (__builtin_mul_overflow(sp[-1].u.i, (int64_t)WEIR_DECIMAL_SCALE, &sp[-1].u.dec))
                sp[-1].missing = true;
            break;
        case WEIR_OP_I2F:
            sp[-1].u.f = (double)sp[-1].u.i;
            break;
        case WEIR_OP_D2F:
            sp[-1].u.f = (double)sp[-1].u.dec / WEIR_DECIMAL_SCALE;
            break;

        case WEIR_OP_ADD_I64: {
            BIN;
            if (__builtin_add_overflow(a->u.i, b->u.i, &a->u.i))
                a->missing = true;
            break;
        }
        case WEIR_OP_SUB_I64: {
            BIN;
            if (__builtin_sub_overflow(a->u.i, b->u.i, &a->u.i))
                a->missing = true;
            break;
        }
        case WEIR_OP_MUL_I64: {
            BIN;
            if (__builtin_mul_overflow(a->u.i, b->u.i, &a->u.i))
                a->missing = true;
            break;
        }
        case WEIR_OP_DIV_I64: {
            BIN;
            if (b->u.i == 0 || (a->u.i == INT64_MIN && b->u.i == -1))
                a->missing = true;
            else
                a->u.i /= b->u.i;
            break;
        }
        case WEIR_OP_MOD_I64: {
            BIN;
            if (b->u.i == 0)
                a->missing = true;
            else if (b->u.i == -1)
                a->u.i = 0; /* INT64_MIN % -1 traps on x86 */
            else
                a->u.i %= b->u.i;
            break;
        }
        case WEIR_OP_NEG_I64:
            if (sp[-1].u.i == INT64_MIN)
                sp[-1].missing = true;
            else
                sp[-1].u.i = -sp[-1].u.i;
            break;
        case WEIR_OP_ABS_I64:
            if (sp[-1].u.i == INT64_MIN)
                sp[-1].missing = true;
            else if (sp[-1].u.i < 0)
                sp[-1].u.i = -sp[-1].u.i;
            break;
        case WEIR_OP_MUL_DEC: {
            BIN;
            if (!div_round((__int128)a->u.dec * b->u.dec, WEIR_DECIMAL_SCALE, &a->u.dec))
                a->missing = true;
            break;
        }
        case WEIR_OP_DIV_DEC: {
            BIN;
            if (b->u.dec == 0 ||
                !div_round((__int128)a->u.dec * WEIR_DECIMAL_SCALE, b->u.dec, &a->u.dec))
                a->missing = true;
            break;
        }
        case WEIR_OP_MUL_DEC_I64: {
            BIN;
            if (!div_round((__int128)a->u.i * b->u.dec, WEIR_DECIMAL_SCALE, &a->u.i))
                a->missing = true;
            break;
        }
        case WEIR_OP_ADD_F64: {
            BIN;
            a->u.f += b->u.f;
            break;
        }
        case WEIR_OP_SUB_F64: {
            BIN;
            a->u.f -= b->u.f;
            break;
        }
        case WEIR_OP_MUL_F64: {
            BIN;
            a->u.f *= b->u.f;
            break;
        }
        case WEIR_OP_DIV_F64: {
            BIN;
            /* Missing rather than ±inf / NaN: the same rule as integers. */
            if (b->u.f == 0.0)
                a->missing = true;
            else
                a->u.f /= b->u.f;
            break;
        }
        case WEIR_OP_MOD_F64: {
            BIN;
            if (b->u.f == 0.0)
                a->missing = true;
            else
                a->u.f = fmod(a->u.f, b->u.f);
            break;
        }
        case WEIR_OP_NEG_F64:
            sp[-1].u.f = -sp[-1].u.f;
            break;
        case WEIR_OP_ABS_F64:
            sp[-1].u.f = fabs(sp[-1].u.f);
            break;

        case WEIR_OP_EQ_I64: { BIN; RESULT_BOOL(a->u.i == b->u.i); break; }
        case WEIR_OP_NE_I64: { BIN; RESULT_BOOL(a->u.i != b->u.i); break; }
        case WEIR_OP_LT_I64: { BIN; RESULT_BOOL(a->u.i < b->u.i); break; }
        case WEIR_OP_LE_I64: { BIN; RESULT_BOOL(a->u.i <= b->u.i); break; }
        case WEIR_OP_GT_I64: { BIN; RESULT_BOOL(a->u.i > b->u.i); break; }
        case WEIR_OP_GE_I64: { BIN; RESULT_BOOL(a->u.i >= b->u.i); break; }
        case WEIR_OP_EQ_F64: { BIN; RESULT_BOOL(a->u.f == b->u.f); break; }
        case WEIR_OP_NE_F64: { BIN; RESULT_BOOL(a->u.f != b->u.f); break; }
        case WEIR_OP_LT_F64: { BIN; RESULT_BOOL(a->u.f < b->u.f); break; }
        case WEIR_OP_LE_F64: { BIN; RESULT_BOOL(a->u.f <= b->u.f); break; }
        case WEIR_OP_GT_F64: { BIN; RESULT_BOOL(a->u.f > b->u.f); break; }
        case WEIR_OP_GE_F64: { BIN; RESULT_BOOL(a->u.f >= b->u.f); break; }
        case WEIR_OP_EQ_STR: { BIN; RESULT_BOOL(!a->missing && str_cmp(a, b) == 0); break; }
        case WEIR_OP_NE_STR: { BIN; RESULT_BOOL(!a->missing && str_cmp(a, b) != 0); break; }
        case WEIR_OP_LT_STR: { BIN; RESULT_BOOL(!a->missing && str_cmp(a, b) < 0); break; }
        case WEIR_OP_LE_STR: { BIN; RESULT_BOOL(!a->missing && str_cmp(a, b) <= 0); break; }
        case WEIR_OP_GT_STR: { BIN; RESULT_BOOL(!a->missing && str_cmp(a, b) > 0); break; }
        case WEIR_OP_GE_STR: { BIN; RESULT_BOOL(!a->missing && str_cmp(a, b) >= 0); break; }
        case WEIR_OP_EQ_BOOL: { BIN; RESULT_BOOL(a->u.b == b->u.b); break; }
        case WEIR_OP_NE_BOOL: { BIN; RESULT_BOOL(a->u.b != b->u.b); break; }

        case WEIR_OP_NOT:
            sp[-1].u.b = !sp[-1].u.b;
            break;
        case WEIR_OP_AND_JUMP:
            if (!sp[-1].missing && !sp[-1].u.b)
                pc = (uint32_t)in->b;
            break;
        case WEIR_OP_OR_JUMP:
            if (!sp[-1].missing && sp[-1].u.b)
                pc = (uint32_t)in->b;
            break;
        case WEIR_OP_AND: {
            /* a is true or missing (else AND_JUMP jumped). */
            weir_value *a = &sp[-2], *b = &sp[-1];
            sp--;
            if (!b->missing && !b->u.b)
                *a = weir_value_bool(false);
            else
                a->missing |= b->missing;
            break;
        }
        case WEIR_OP_OR: {
            /* a is false or missing (else OR_JUMP jumped). */
            weir_value *a = &sp[-2], *b = &sp[-1];
            sp--;
            if (!b->missing && b->u.b)
                *a = weir_value_bool(true);
            else
                a->missing |= b->missing;
            break;
        }
        case WEIR_OP_IN_SET: {
            bool m = sp[-1].missing;
            bool r = !m && weir_value_set_contains(p->sets[in->c], &sp[-1]);
            sp[-1] = weir_value_bool(r);
            sp[-1].missing = m;
            break;
        }
        case WEIR_OP_MEM_IN: {
            /* missing in, missing out, as with a list; no memory at all
             * (a program run outside its rule) is missing too */
            bool m = sp[-1].missing || !ctx->memory;
            bool r = !m && weir_key_memory_contains(ctx->memory, in->c, &sp[-1]);
            sp[-1] = weir_value_bool(r);
            sp[-1].missing = m;
            break;
        }

        case WEIR_OP_LOWER:
        case WEIR_OP_UPPER:
            sp[-1] = map_case(&sp[-1], ctx->scratch, in->op == WEIR_OP_UPPER);
            break;
        case WEIR_OP_LENGTH: {
            bool m = sp[-1].missing;
            sp[-1] = weir_value_int(sp[-1].len);
            sp[-1].missing = m;
            break;
        }
        case WEIR_OP_CONTAINS: {
            BIN;
            RESULT_BOOL(!a->missing && str_find(a, b));
            break;
        }
        case WEIR_OP_STARTS_WITH: {
            BIN;
            RESULT_BOOL(!a->missing && b->len <= a->len &&
                        (b->len == 0 || memcmp(a->u.s, b->u.s, b->len) == 0));
            break;
        }
        case WEIR_OP_ENDS_WITH: {
            BIN;
            RESULT_BOOL(!a->missing && b->len <= a->len &&
                        (b->len == 0 ||
                         memcmp(a->u.s + (a->len - b->len), b->u.s, b->len) == 0));
            break;
        }
        case WEIR_OP_GEO_DISTANCE: {
            weir_value *v = &sp[-4];
            bool m = v[0].missing | v[1].missing | v[2].missing | v[3].missing;
            double d = m ? 0.0 : haversine_km(v[0].u.f, v[1].u.f, v[2].u.f, v[3].u.f);
            sp -= 3;
            sp[-1] = weir_value_float(d);
            sp[-1].missing = m;
            break;
        }
        case WEIR_OP_HOURS:
            sp[-1].u.f = (double)sp[-1].u.ms / (double)MS_PER_HOUR;
            break;
        case WEIR_OP_HOUR_OF_DAY: {
            int64_t ms = sp[-1].u.ms;
            sp[-1].u.i = floor_div(ms - floor_div(ms, MS_PER_DAY) * MS_PER_DAY, MS_PER_HOUR);
            break;
        }
        case WEIR_OP_DAY_OF_WEEK: {
            /* 1970-01-01 was a Thursday (ISO day 4). */
            int64_t days = floor_div(sp[-1].u.ms, MS_PER_DAY);
            int64_t dow = (days + 3) % 7; /* 0 = Monday */
            if (dow < 0)
                dow += 7;
            sp[-1].u.i = dow + 1;
            break;
        }
        case WEIR_OP__COUNT:
            break;
        }
    }
#undef BIN
#undef RESULT_BOOL
    *out = sp > stack ? sp[-1] : weir_value_missing();
}

bool weir_eval_condition(const weir_expr_program *p, const weir_eval_ctx *ctx)
{
    if (p->field_cmp && ctx->event)
        return weir_eval_field_cmp(p, ctx->event);
    weir_value v;
    weir_eval_run(p, ctx, &v);
    return !v.missing && v.u.b;
}
