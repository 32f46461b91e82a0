/* expr.c — compiling checked expressions into stack programs (see expr.h),
 * the constant value sets behind `in`, and the disassembler.
 *
 * The compiler is one recursive walk over the (small, checked) AST at load
 * time; recursion here is fine, only the evaluator must not recurse. It
 * emits into growable arrays, tracks the stack depth as it emits (each
 * opcode's stack effect comes from opcodes.h) and, at the end, points the
 * string constants into one owned byte pool. Whatever the checker typed is
 * trusted: the opcode is chosen from the node's operand types and explicit
 * conversions are inserted where an operand is narrower than the operation.
 * Constructs the evaluator does not support are reported as errors at the
 * node, never silently miscompiled. */
#include "compile/expr.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compile/window_plan.h"
#include "dsl/builtins.h"

static const weir_opcode_info opcode_info[WEIR_OP__COUNT] = {
#define WEIR_OPCODE_INFO(name, pops, pushes, fmt, doc) \
    {#name, pops, pushes, WEIR_OPS_##fmt, doc},
    WEIR_OPCODE_LIST(WEIR_OPCODE_INFO)
#undef WEIR_OPCODE_INFO
};

const weir_opcode_info *weir_opcode_get(weir_opcode op)
{
    return &opcode_info[op];
}

/* ------------------------------------------------------------------ */
/* Values                                                               */

/* The representation class of a type: what the opcodes specialise on. */
typedef enum tclass { TC_NONE, TC_I64, TC_F64, TC_STR, TC_BOOL } tclass;

static tclass type_class(weir_type t)
{
    switch (t) {
    case WEIR_T_INT:
    case WEIR_T_DECIMAL:
    case WEIR_T_TIME:
    case WEIR_T_DURATION:
        return TC_I64;
    case WEIR_T_FLOAT:
        return TC_F64;
    case WEIR_T_STRING:
        return TC_STR;
    case WEIR_T_BOOL:
        return TC_BOOL;
    default:
        return TC_NONE;
    }
}

bool weir_value_equal(weir_type t, const weir_value *a, const weir_value *b)
{
    if (a->missing || b->missing)
        return a->missing && b->missing;
    switch (type_class(t)) {
    case TC_I64:
        return a->u.i == b->u.i;
    case TC_F64:
        return a->u.f == b->u.f;
    case TC_STR:
        return a->len == b->len && (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
    case TC_BOOL:
        return a->u.b == b->u.b;
    case TC_NONE:
        break;
    }
    return false;
}

static void print_decimal(int64_t d, FILE *out)
{
    /* |INT64_MIN| does not fit an int64: go through unsigned. */
    uint64_t mag = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
    fprintf(out, "%s%" PRIu64 ".%04" PRIu64, d < 0 ? "-" : "", mag / WEIR_DECIMAL_SCALE,
            mag % WEIR_DECIMAL_SCALE);
}

void weir_value_print(weir_type t, const weir_value *v, FILE *out)
{
    if (v->missing) {
        fputs("missing", out);
        return;
    }
    switch (t) {
    case WEIR_T_INT:
        fprintf(out, "%" PRId64, v->u.i);
        break;
    case WEIR_T_DECIMAL:
        print_decimal(v->u.dec, out);
        break;
    case WEIR_T_FLOAT:
        fprintf(out, "%.17g", v->u.f);
        break;
    case WEIR_T_STRING:
        fputc('"', out);
        for (uint32_t i = 0; i < v->len; i++) {
            unsigned char c = (unsigned char)v->u.s[i];
            if (c == '"' || c == '\\')
                fprintf(out, "\\%c", c);
            else if (c < 0x20 || c == 0x7f)
                fprintf(out, "\\u%04x", c);
            else
                fputc(c, out);
        }
        fputc('"', out);
        break;
    case WEIR_T_BOOL:
        fputs(v->u.b ? "true" : "false", out);
        break;
    case WEIR_T_TIME:
        fprintf(out, "time(%" PRId64 "ms)", v->u.ms);
        break;
    case WEIR_T_DURATION:
        fprintf(out, "%" PRId64 "ms", v->u.ms);
        break;
    default:
        fputs("?", out);
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Value sets                                                           */

/* Open addressing with linear probing, capacity a power of two, at most half
 * full. An empty slot is a missing value: members are never missing. */
struct weir_value_set {
    weir_type elem;
    tclass cls;
    weir_value *slots;
    size_t cap;
    size_t n;
};

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser: every input bit reaches every output bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t value_hash(tclass cls, const weir_value *v)
{
    switch (cls) {
    case TC_I64:
        return mix64((uint64_t)v->u.i);
    case TC_F64: {
        double f = v->u.f == 0.0 ? 0.0 : v->u.f; /* -0.0 == 0.0 */
        uint64_t bits;
        memcpy(&bits, &f, sizeof bits);
        return mix64(bits);
    }
    case TC_STR: {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (uint32_t i = 0; i < v->len; i++) {
            h ^= (unsigned char)v->u.s[i];
            h *= 1099511628211ULL;
        }
        return mix64(h);
    }
    case TC_BOOL:
        return v->u.b ? 1 : 0;
    case TC_NONE:
        break;
    }
    return 0;
}

uint64_t weir_value_hash(weir_type t, const weir_value *v)
{
    return value_hash(type_class(t), v);
}

weir_value_set *weir_value_set_new(weir_type elem_type)
{
    tclass cls = type_class(elem_type);
    if (cls == TC_NONE)
        return NULL;
    weir_value_set *set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    set->elem = elem_type;
    set->cls = cls;
    set->cap = 8;
    set->slots = malloc(set->cap * sizeof *set->slots);
    if (!set->slots) {
        weir_value_set_free(set);
        return NULL;
    }
    for (size_t i = 0; i < set->cap; i++)
        set->slots[i] = weir_value_missing();
    return set;
}

void weir_value_set_free(weir_value_set *set)
{
    if (!set)
        return;
    if (set->slots && set->cls == TC_STR) {
        for (size_t i = 0; i < set->cap; i++)
            if (!set->slots[i].missing)
                free((char *)set->slots[i].u.s);
    }
    free(set->slots);
    free(set);
}

static weir_value *set_find(const weir_value_set *set, const weir_value *v)
{
    size_t mask = set->cap - 1;
    size_t i = (size_t)value_hash(set->cls, v) & mask;
    for (;;) {
        weir_value *slot = &set->slots[i];
        if (slot->missing || weir_value_equal(set->elem, slot, v))
            return slot;
        i = (i + 1) & mask;
    }
}

static int set_grow(weir_value_set *set)
{
    size_t old_cap = set->cap;
    weir_value *old = set->slots;
    weir_value *slots = malloc(old_cap * 2 * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < old_cap * 2; i++)
        slots[i] = weir_value_missing();
    set->slots = slots;
    set->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (!old[i].missing)
            *set_find(set, &old[i]) = old[i];
    free(old);
    return 0;
}

int weir_value_set_add(weir_value_set *set, const weir_value *v)
{
    if (v->missing)
        return -1;
    if ((set->n + 1) * 2 > set->cap && set_grow(set) != 0)
        return -1;
    weir_value *slot = set_find(set, v);
    if (!slot->missing)
        return 0;
    weir_value copy = *v;
    if (set->cls == TC_STR) {
        /* +1 so a zero-length string still owns a distinct allocation. */
        char *s = malloc((size_t)v->len + 1);
        if (!s)
            return -1;
        if (v->len)
            memcpy(s, v->u.s, v->len);
        s[v->len] = '\0';
        copy.u.s = s;
    } else if (set->cls == TC_F64 && copy.u.f == 0.0) {
        copy.u.f = 0.0;
    }
    copy.missing = false;
    *slot = copy;
    set->n++;
    return 0;
}

bool weir_value_set_contains(const weir_value_set *set, const weir_value *v)
{
    if (v->missing)
        return false;
    return !set_find(set, v)->missing;
}

size_t weir_value_set_size(const weir_value_set *set)
{
    return set->n;
}

const weir_value *weir_value_set_next(const weir_value_set *set, size_t *pos)
{
    while (*pos < set->cap) {
        const weir_value *v = &set->slots[(*pos)++];
        if (!v->missing)
            return v;
    }
    return NULL;
}

weir_type weir_value_set_elem_type(const weir_value_set *set)
{
    return set->elem;
}

/* ------------------------------------------------------------------ */
/* The compiler                                                         */

typedef struct compiler {
    weir_expr_program *p;
    const weir_expr_options *opt;
    size_t cap_code, cap_consts, cap_strings, cap_sets;
    int depth;
    bool failed;
} compiler;

static void fail(compiler *c, weir_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(compiler *c, weir_loc loc, const char *fmt, ...)
{
    c->failed = true;
    if (!c->opt->diags)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    weir_diag_error(c->opt->diags, loc, "%s", msg);
}

/* Grows *arr (of *cap elements of size sz) to hold n + 1. */
static bool reserve(compiler *c, void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, ncap * sz);
    if (!na) {
        c->failed = true;
        return false;
    }
    *arr = na;
    *cap = ncap;
    return true;
}

/* Appends an instruction; returns its index (or 0 after an OOM, with
 * c->failed set). */
static uint32_t emit(compiler *c, weir_opcode op, unsigned a, int32_t b, uint32_t cc,
                     uint32_t d)
{
    weir_expr_program *p = c->p;
    if (!reserve(c, (void **)&p->code, &c->cap_code, p->n_code, sizeof *p->code))
        return 0;
    weir_instr in = {.op = (uint16_t)op, .a = (uint16_t)a, .b = b, .c = cc, .d = d};
    p->code[p->n_code] = in;
    c->depth += opcode_info[op].pushes - opcode_info[op].pops;
    if (c->depth > (int)p->max_stack)
        p->max_stack = (uint32_t)c->depth;
    return p->n_code++;
}

static void emit0(compiler *c, weir_opcode op)
{
    emit(c, op, 0, 0, 0, 0);
}

/* A string constant is recorded with its offset in the pool in u.i and
 * pointed at the pool once it stops moving (finish()). */
static void emit_const(compiler *c, weir_type t, weir_value v)
{
    weir_expr_program *p = c->p;
    if (t == WEIR_T_STRING) {
        size_t len = v.len;
        while (c->cap_strings < p->strings_len + len + 1) {
            size_t ncap = c->cap_strings ? c->cap_strings * 2 : 64;
            char *ns = realloc(p->strings, ncap);
            if (!ns) {
                c->failed = true;
                return;
            }
            p->strings = ns;
            c->cap_strings = ncap;
        }
        if (len)
            memcpy(p->strings + p->strings_len, v.u.s, len);
        p->strings[p->strings_len + len] = '\0';
        v.u.i = (int64_t)p->strings_len;
        p->strings_len += len + 1;
    }
    if (!reserve(c, (void **)&p->consts, &c->cap_consts, p->n_consts, sizeof *p->consts))
        return;
    p->consts[p->n_consts] = v;
    emit(c, WEIR_OP_CONST, 0, 0, p->n_consts, (uint32_t)t);
    p->n_consts++;
}

/* The int64 comparison with its operands swapped (a < b is b > a), or 0
 * for an opcode that is none. */
static uint16_t mirrored_i64_comparison(uint16_t op)
{
    switch ((weir_opcode)op) {
    case WEIR_OP_EQ_I64: return WEIR_OP_EQ_I64;
    case WEIR_OP_NE_I64: return WEIR_OP_NE_I64;
    case WEIR_OP_LT_I64: return WEIR_OP_GT_I64;
    case WEIR_OP_LE_I64: return WEIR_OP_GE_I64;
    case WEIR_OP_GT_I64: return WEIR_OP_LT_I64;
    case WEIR_OP_GE_I64: return WEIR_OP_LE_I64;
    default: return 0;
    }
}

static void finish(compiler *c)
{
    weir_expr_program *p = c->p;
    for (uint32_t i = 0; i < p->n_code; i++)
        if (p->code[i].op == WEIR_OP_CONST && p->code[i].d == WEIR_T_STRING) {
            weir_value *v = &p->consts[p->code[i].c];
            v->u.s = p->strings + v->u.i;
        }
    const weir_instr *in = p->code;
    if (p->n_code == 3 && mirrored_i64_comparison(in[2].op)) {
        bool const_first = in[0].op == WEIR_OP_CONST && in[1].op == WEIR_OP_FIELD;
        bool field_first = in[0].op == WEIR_OP_FIELD && in[1].op == WEIR_OP_CONST;
        const weir_value *k = &p->consts[in[const_first ? 0 : 1].c];
        if ((const_first || field_first) && !k->missing) {
            p->field_cmp = const_first ? mirrored_i64_comparison(in[2].op) : in[2].op;
            p->field_cmp_field = in[const_first ? 1 : 0].c;
            p->field_cmp_const = *k;
        }
    }
}

static uint32_t add_set(compiler *c, const weir_value_set *set, bool owned)
{
    weir_expr_program *p = c->p;
    if (!reserve(c, (void **)&p->sets, &c->cap_sets, p->n_sets, sizeof *p->sets)) {
        if (owned)
            weir_value_set_free((weir_value_set *)set);
        return 0;
    }
    size_t cap = c->cap_sets;
    bool *no = realloc(p->owns_set, cap * sizeof *no);
    if (!no) {
        c->failed = true;
        if (owned)
            weir_value_set_free((weir_value_set *)set);
        return 0;
    }
    p->owns_set = no;
    p->sets[p->n_sets] = set;
    p->owns_set[p->n_sets] = owned;
    return p->n_sets++;
}

static bool is_number(weir_type t)
{
    return t == WEIR_T_INT || t == WEIR_T_DECIMAL || t == WEIR_T_FLOAT;
}

static int num_rank(weir_type t)
{
    return t == WEIR_T_INT ? 0 : t == WEIR_T_DECIMAL ? 1 : 2;
}

/* The type two operands are compared / combined in, or WEIR_T_ERROR. */
static weir_type common_type(weir_type a, weir_type b)
{
    if (a == b)
        return a;
    if (is_number(a) && is_number(b))
        return num_rank(a) > num_rank(b) ? a : b;
    return WEIR_T_ERROR;
}

/* Widens a literal at compile time: `amount >= 500` loads the constant
 * 500.0000 instead of 500 and an I2D. Only the instruction just emitted is
 * looked at, and it is changed in place, so no jump target moves. */
static bool fold_convert(compiler *c, weir_type from, weir_type to)
{
    weir_expr_program *p = c->p;
    if (c->failed || p->n_code == 0 || p->code[p->n_code - 1].op != WEIR_OP_CONST)
        return false;
    weir_instr *in = &p->code[p->n_code - 1];
    weir_value *v = &p->consts[in->c];
    if ((weir_type)in->d != from)
        return false;
    if (from == WEIR_T_INT && to == WEIR_T_DECIMAL) {
        if (__builtin_mul_overflow(v->u.i, (int64_t)WEIR_DECIMAL_SCALE, &v->u.dec))
            return false; /* leave it to I2D, which makes it missing */
    } else if (from == WEIR_T_INT && to == WEIR_T_FLOAT) {
        v->u.f = (double)v->u.i;
    } else if (from == WEIR_T_DECIMAL && to == WEIR_T_FLOAT) {
        v->u.f = (double)v->u.dec / WEIR_DECIMAL_SCALE;
    } else {
        return false;
    }
    in->d = (uint32_t)to;
    return true;
}

/* Emits the widening from `from` to `to`. Durations widen like ints
 * (milliseconds), so that duration / duration typed as a number works. */
static void convert(compiler *c, weir_type from, weir_type to, weir_loc loc)
{
    if (from == to)
        return;
    if (from == WEIR_T_DURATION)
        from = WEIR_T_INT;
    if (from == to)
        return;
    if (fold_convert(c, from, to))
        return;
    if (from == WEIR_T_INT && to == WEIR_T_DECIMAL)
        emit0(c, WEIR_OP_I2D);
    else if (from == WEIR_T_INT && to == WEIR_T_FLOAT)
        emit0(c, WEIR_OP_I2F);
    else if (from == WEIR_T_DECIMAL && to == WEIR_T_FLOAT)
        emit0(c, WEIR_OP_D2F);
    else
        fail(c, loc, "cannot convert %s to %s", weir_type_name(from), weir_type_name(to));
}

static void compile(compiler *c, const ast_expr *e);

/* A literal list item (or a negated numeric literal) as a value of type
 * `to`. Returns false if the item is not a constant. */
static bool const_value(const ast_expr *e, weir_type to, weir_value *out)
{
    weir_value v = {0};
    weir_type from;
    switch (e->kind) {
    case AST_EXPR_INT:
        v.u.i = e->u.int_value;
        from = WEIR_T_INT;
        break;
    case AST_EXPR_DECIMAL:
        v.u.dec = e->u.decimal_value;
        from = WEIR_T_DECIMAL;
        break;
    case AST_EXPR_FLOAT:
        v.u.f = e->u.float_value;
        from = WEIR_T_FLOAT;
        break;
    case AST_EXPR_STRING:
        v.u.s = e->u.string_value;
        v.len = (uint32_t)strlen(e->u.string_value);
        from = WEIR_T_STRING;
        break;
    case AST_EXPR_BOOL:
        v.u.b = e->u.bool_value;
        from = WEIR_T_BOOL;
        break;
    case AST_EXPR_DURATION:
        v.u.ms = e->u.duration_ms;
        from = WEIR_T_DURATION;
        break;
    case AST_EXPR_UNARY:
        if (e->u.unary.op != AST_UNARY_NEG || !const_value(e->u.unary.operand, to, &v))
            return false;
        if (to == WEIR_T_FLOAT)
            v.u.f = -v.u.f;
        else if (type_class(to) == TC_I64 && v.u.i != INT64_MIN)
            v.u.i = -v.u.i;
        else
            return false;
        *out = v;
        return true;
    default:
        return false;
    }
    if (from == to || (from == WEIR_T_INT && (to == WEIR_T_TIME || to == WEIR_T_DURATION))) {
        *out = v;
        return true;
    }
    if (from == WEIR_T_INT && to == WEIR_T_DECIMAL) {
        if (__builtin_mul_overflow(v.u.i, (int64_t)WEIR_DECIMAL_SCALE, &v.u.dec))
            return false;
    } else if (from == WEIR_T_INT && to == WEIR_T_FLOAT) {
        v.u.f = (double)v.u.i;
    } else if (from == WEIR_T_DECIMAL && to == WEIR_T_FLOAT) {
        v.u.f = (double)v.u.dec / WEIR_DECIMAL_SCALE;
    } else {
        return false;
    }
    *out = v;
    return true;
}

/* The element type of a set expression (list literal or list name). */
static weir_type set_elem_type(const ast_expr *set)
{
    if (set->kind == AST_EXPR_LIST) {
        weir_type t = WEIR_T_ERROR;
        for (const ast_expr *it = set->u.list.items; it; it = it->next) {
            weir_type it_t = it->type;
            if (it_t == WEIR_T_ERROR) /* an unchecked literal */
                continue;
            t = t == WEIR_T_ERROR ? it_t : common_type(t, it_t);
        }
        return t;
    }
    if (set->ref.kind == AST_REF_LIST && set->ref.list)
        return set->ref.list->elem_type;
    return WEIR_T_ERROR;
}

/* Builds an owned set of type `t` from literal items. */
static weir_value_set *set_from_items(compiler *c, const ast_expr *items, weir_type t)
{
    weir_value_set *set = weir_value_set_new(t);
    if (!set) {
        c->failed = true;
        return NULL;
    }
    for (const ast_expr *it = items; it; it = it->next) {
        weir_value v;
        if (!const_value(it, t, &v)) {
            fail(c, it->loc, "list item is not a constant of type %s", weir_type_name(t));
            weir_value_set_free(set);
            return NULL;
        }
        if (weir_value_set_add(set, &v) != 0) {
            c->failed = true;
            weir_value_set_free(set);
            return NULL;
        }
    }
    return set;
}

/* A copy of `src` widened to type t (int → decimal / float, decimal →
 * float). */
static weir_value_set *set_widen(compiler *c, const weir_value_set *src, weir_type t)
{
    weir_value_set *set = weir_value_set_new(t);
    if (!set) {
        c->failed = true;
        return NULL;
    }
    for (size_t i = 0; i < src->cap; i++) {
        if (src->slots[i].missing)
            continue;
        weir_value v = src->slots[i];
        if (src->elem == WEIR_T_INT && t == WEIR_T_DECIMAL) {
            if (__builtin_mul_overflow(v.u.i, (int64_t)WEIR_DECIMAL_SCALE, &v.u.dec))
                continue; /* cannot equal any decimal value */
        } else if (src->elem == WEIR_T_INT && t == WEIR_T_FLOAT) {
            v.u.f = (double)v.u.i;
        } else if (src->elem == WEIR_T_DECIMAL && t == WEIR_T_FLOAT) {
            v.u.f = (double)v.u.dec / WEIR_DECIMAL_SCALE;
        }
        if (weir_value_set_add(set, &v) != 0) {
            c->failed = true;
            weir_value_set_free(set);
            return NULL;
        }
    }
    return set;
}

static void compile_in(compiler *c, const ast_expr *e)
{
    const ast_expr *val = e->u.in.value, *sx = e->u.in.set;
    if (sx->ref.kind == AST_REF_MEMORY && sx->ref.memory) {
        /* a memory kept with distinct(): looked up in the key's memory at
         * run time, among values of the memory's own type */
        const ast_keep_item *m = sx->ref.memory;
        if (!m->set || type_class(m->type) == TC_NONE) {
            fail(c, sx->loc, "memory '%s' is not a set of values", m->name.name);
            return;
        }
        compile(c, val);
        convert(c, val->type, m->type, val->loc);
        emit(c, WEIR_OP_MEM_IN, 0, 0, m->index, 0);
        if (e->u.in.negated)
            emit0(c, WEIR_OP_NOT);
        return;
    }
    weir_type et = set_elem_type(sx);
    weir_type t = et == WEIR_T_ERROR ? val->type : common_type(val->type, et);
    if (t == WEIR_T_ERROR || type_class(t) == TC_NONE) {
        fail(c, e->loc, "cannot test a %s against a list of %s", weir_type_name(val->type),
             weir_type_name(et));
        return;
    }
    compile(c, val);
    convert(c, val->type, t, val->loc);

    const weir_value_set *set = NULL;
    bool owned = true;
    if (sx->kind == AST_EXPR_LIST) {
        set = set_from_items(c, sx->u.list.items, t);
    } else if (sx->ref.kind == AST_REF_LIST && sx->ref.list) {
        const ast_list_decl *l = sx->ref.list;
        if (l->items) {
            set = set_from_items(c, l->items->u.list.items, t);
        } else {
            const weir_value_set *ext =
                c->opt->list ? c->opt->list(l, c->opt->list_user) : NULL;
            if (!ext) {
                fail(c, sx->loc, "list '%s' has no items loaded", l->name.name);
                return;
            }
            if (ext->elem == t) {
                set = ext;
                owned = false;
            } else if (common_type(ext->elem, t) == t) {
                set = set_widen(c, ext, t);
            } else {
                fail(c, sx->loc, "list '%s' holds %s values, not %s", l->name.name,
                     weir_type_name(ext->elem), weir_type_name(t));
                return;
            }
        }
    } else {
        fail(c, sx->loc, "right of 'in' must be a list");
        return;
    }
    if (!set)
        return;
    uint32_t idx = add_set(c, set, owned);
    if (c->failed)
        return;
    emit(c, WEIR_OP_IN_SET, 0, 0, idx, 0);
    if (e->u.in.negated)
        emit0(c, WEIR_OP_NOT);
}

/* Loads of names, fields and indexed steps, by what the checker resolved
 * them to. */
static void compile_ref(compiler *c, const ast_expr *e)
{
    const ast_ref *r = &e->ref;
    switch (r->kind) {
    case AST_REF_EVENT_FIELD:
    case AST_REF_WINDOW_FIELD:
        if (!r->field)
            break;
        emit(c, WEIR_OP_FIELD, 0, 0, r->field->index, 0);
        return;
    case AST_REF_STEP_FIELD:
        if (!r->field || !r->step)
            break;
        if (r->has_index && (r->index > INT32_MAX || r->index < INT32_MIN)) {
            fail(c, e->loc, "step index out of range");
            return;
        }
        /* A single step without index has exactly one event: the first. */
        emit(c, WEIR_OP_STEP_FIELD, r->step->index, r->has_index ? (int32_t)r->index : 0,
             r->field->index, 0);
        return;
    case AST_REF_KEY:
        emit0(c, WEIR_OP_KEY);
        return;
    case AST_REF_WINDOW_META:
        emit0(c, r->window_meta ? WEIR_OP_WINDOW_END : WEIR_OP_WINDOW_START);
        return;
    case AST_REF_STEP_EVENTS:
    case AST_REF_STEP_FIELD_ALL:
        fail(c, e->loc, "a step's events can only be used inside an aggregate");
        return;
    case AST_REF_LIST:
        fail(c, e->loc, "a list can only be used right of 'in'");
        return;
    case AST_REF_MEMORY:
        if (!r->memory || r->memory->set)
            break;
        emit(c, WEIR_OP_MEM_VALUE, 0, 0, r->memory->index, 0);
        return;
    case AST_REF_UNRESOLVED:
        break;
    }
    fail(c, e->loc, "internal error: expression was not resolved by the checker");
}

static void compile_binary(compiler *c, const ast_expr *e)
{
    const ast_expr *l = e->u.binary.left, *r = e->u.binary.right;
    ast_binary_op op = e->u.binary.op;

    if (op == AST_BIN_AND || op == AST_BIN_OR) {
        /* left; X_JUMP end; right; X; end:  — the jump keeps the deciding
         * left value as the result. */
        compile(c, l);
        uint32_t j = emit(c, op == AST_BIN_AND ? WEIR_OP_AND_JUMP : WEIR_OP_OR_JUMP, 0, 0, 0, 0);
        compile(c, r);
        emit0(c, op == AST_BIN_AND ? WEIR_OP_AND : WEIR_OP_OR);
        if (!c->failed)
            c->p->code[j].b = (int32_t)c->p->n_code;
        return;
    }

    if (op >= AST_BIN_EQ && op <= AST_BIN_GE) {
        weir_type t = common_type(l->type, r->type);
        tclass cls = type_class(t);
        if (cls == TC_NONE || (cls == TC_BOOL && op != AST_BIN_EQ && op != AST_BIN_NE)) {
            fail(c, e->loc, "cannot compare %s with %s", weir_type_name(l->type),
                 weir_type_name(r->type));
            return;
        }
        compile(c, l);
        convert(c, l->type, t, l->loc);
        compile(c, r);
        convert(c, r->type, t, r->loc);
        unsigned k = (unsigned)(op - AST_BIN_EQ); /* EQ NE LT LE GT GE */
        static const weir_opcode base[] = {
            [TC_I64] = WEIR_OP_EQ_I64,
            [TC_F64] = WEIR_OP_EQ_F64,
            [TC_STR] = WEIR_OP_EQ_STR,
            [TC_BOOL] = WEIR_OP_EQ_BOOL,
        };
        emit0(c, (weir_opcode)(base[cls] + k));
        return;
    }

    weir_type rt = e->type;
    if (is_number(rt)) {
        compile(c, l);
        convert(c, l->type, rt, l->loc);
        compile(c, r);
        convert(c, r->type, rt, r->loc);
        weir_opcode o;
        static const weir_opcode by_int[] = {WEIR_OP_ADD_I64, WEIR_OP_SUB_I64, WEIR_OP_MUL_I64,
                                             WEIR_OP_DIV_I64, WEIR_OP_MOD_I64};
        static const weir_opcode by_dec[] = {WEIR_OP_ADD_I64, WEIR_OP_SUB_I64, WEIR_OP_MUL_DEC,
                                             WEIR_OP_DIV_DEC, WEIR_OP_MOD_I64};
        static const weir_opcode by_f64[] = {WEIR_OP_ADD_F64, WEIR_OP_SUB_F64, WEIR_OP_MUL_F64,
                                             WEIR_OP_DIV_F64, WEIR_OP_MOD_F64};
        unsigned k = (unsigned)(op - AST_BIN_ADD);
        o = rt == WEIR_T_INT ? by_int[k] : rt == WEIR_T_DECIMAL ? by_dec[k] : by_f64[k];
        emit0(c, o);
        return;
    }

    if (rt == WEIR_T_TIME || rt == WEIR_T_DURATION) {
        /* time ± duration, time - time, duration ± duration: plain int64
         * milliseconds. duration * int, duration / int, duration % duration
         * likewise; duration * decimal is rounded fixed point. */
        tclass lc = type_class(l->type), rc = type_class(r->type);
        if (op == AST_BIN_MUL && (l->type == WEIR_T_DECIMAL || r->type == WEIR_T_DECIMAL)) {
            const ast_expr *dur = l->type == WEIR_T_DECIMAL ? r : l;
            const ast_expr *dec = dur == l ? r : l;
            if (type_class(dur->type) != TC_I64 || dur->type == WEIR_T_DECIMAL)
                goto unsupported;
            compile(c, dur); /* multiplication commutes: order freely */
            compile(c, dec);
            emit0(c, WEIR_OP_MUL_DEC_I64);
            return;
        }
        if (lc != TC_I64 || rc != TC_I64 || l->type == WEIR_T_DECIMAL ||
            r->type == WEIR_T_DECIMAL)
            goto unsupported;
        compile(c, l);
        compile(c, r);
        static const weir_opcode ops[] = {WEIR_OP_ADD_I64, WEIR_OP_SUB_I64, WEIR_OP_MUL_I64,
                                          WEIR_OP_DIV_I64, WEIR_OP_MOD_I64};
        emit0(c, ops[op - AST_BIN_ADD]);
        return;
    }
unsupported:
    fail(c, e->loc, "operator '%s' on %s and %s is not supported", weir_ast_binary_op_text(op),
         weir_type_name(l->type), weir_type_name(r->type));
}

static bool is_step_arg(const ast_expr *a)
{
    return a && (a->ref.kind == AST_REF_STEP_EVENTS || a->ref.kind == AST_REF_STEP_FIELD_ALL);
}

static weir_agg_kind agg_kind_of(weir_builtin b, bool distinct)
{
    switch (b) {
    case WEIR_BUILTIN_SUM: return WEIR_AGG_SUM;
    case WEIR_BUILTIN_AVG: return WEIR_AGG_AVG;
    case WEIR_BUILTIN_MIN: return WEIR_AGG_MIN;
    case WEIR_BUILTIN_MAX: return WEIR_AGG_MAX;
    case WEIR_BUILTIN_FIRST: return WEIR_AGG_FIRST;
    case WEIR_BUILTIN_LAST: return WEIR_AGG_LAST;
    default: return distinct ? WEIR_AGG_COUNT_DISTINCT : WEIR_AGG_COUNT;
    }
}

/* An aggregate over a pattern step's events: count(probe),
 * sum(probe.amount), count(distinct probe.merchant). */
static void compile_step_agg(compiler *c, const ast_expr *e, weir_agg_kind kind)
{
    const ast_expr *a = e->u.call.args;
    const ast_ref *r = &a->ref;
    if (!r->step) {
        fail(c, a->loc, "internal error: aggregate over an unresolved step");
        return;
    }
    unsigned step = r->step->index;
    if (r->kind == AST_REF_STEP_EVENTS) {
        if (kind != WEIR_AGG_COUNT) {
            fail(c, a->loc, "%s() needs a field of the step, not the whole step",
                 weir_agg_kind_name(kind));
            return;
        }
        emit(c, WEIR_OP_STEP_COUNT, step, 0, 0, 0);
        convert(c, WEIR_T_INT, e->type, e->loc);
        return;
    }
    if (!r->field) {
        fail(c, a->loc, "internal error: aggregate over an unresolved field");
        return;
    }
    unsigned field = r->field->index;
    weir_type at = a->type;
    if (kind == WEIR_AGG_COUNT_DISTINCT) {
        static const weir_opcode by_class[] = {
            [TC_I64] = WEIR_OP_STEP_CDIST_I64,
            [TC_F64] = WEIR_OP_STEP_CDIST_F64,
            [TC_STR] = WEIR_OP_STEP_CDIST_STR,
            [TC_BOOL] = WEIR_OP_STEP_CDIST_BOOL,
        };
        tclass cls = type_class(at);
        if (cls == TC_NONE) {
            fail(c, a->loc, "cannot count distinct values of type %s", weir_type_name(at));
            return;
        }
        emit(c, by_class[cls], step, 0, field, 0);
        convert(c, WEIR_T_INT, e->type, e->loc);
        return;
    }
    weir_agg_fn fn = weir_agg_fn_for(kind, at, true);
    if (fn == WEIR_AGG_FN__COUNT) {
        fail(c, e->loc, "%s() over %s values is not supported", weir_agg_kind_name(kind),
             weir_type_name(at));
        return;
    }
    emit(c, WEIR_OP_STEP_AGG, step, 0, field, (uint32_t)fn);
    convert(c, weir_agg_result_type(kind, at), e->type, e->loc);
}

static void compile_call(compiler *c, const ast_expr *e)
{
    weir_builtin b = (weir_builtin)e->u.call.builtin;
    const ast_expr *a0 = e->u.call.args;
    const weir_builtin_info *info =
        b > WEIR_BUILTIN_NONE && b < WEIR_BUILTIN__COUNT ? weir_builtin_get(b) : NULL;
    if (!info) {
        fail(c, e->u.call.func.loc, "internal error: call to '%s' was not resolved",
             e->u.call.func.name ? e->u.call.func.name : "?");
        return;
    }
    if (e->u.call.n_args < info->min_args || e->u.call.n_args > info->max_args) {
        fail(c, e->loc, "wrong number of arguments to %s()", info->name);
        return;
    }
    if (info->aggregate) {
        weir_agg_kind kind = agg_kind_of(b, e->u.call.distinct);
        if (is_step_arg(a0)) {
            compile_step_agg(c, e, kind);
            return;
        }
        if (!c->opt->agg_slot) {
            fail(c, e->loc, "%s() over a window can only be used in 'when' and 'emit'",
                 info->name);
            return;
        }
        int slot = c->opt->agg_slot(e, c->opt->agg_user);
        if (slot < 0) {
            c->failed = true;
            return;
        }
        emit(c, WEIR_OP_AGG, 0, 0, (uint32_t)slot, 0);
        weir_type at = a0 ? a0->type : WEIR_T_ERROR;
        convert(c, weir_agg_result_type(kind, at), e->type, e->loc);
        return;
    }

    switch (b) {
    case WEIR_BUILTIN_ABS:
        compile(c, a0);
        emit0(c, type_class(a0->type) == TC_F64 ? WEIR_OP_ABS_F64 : WEIR_OP_ABS_I64);
        return;
    case WEIR_BUILTIN_LOWER:
    case WEIR_BUILTIN_UPPER:
    case WEIR_BUILTIN_LENGTH:
        compile(c, a0);
        emit0(c, b == WEIR_BUILTIN_LOWER   ? WEIR_OP_LOWER
                 : b == WEIR_BUILTIN_UPPER ? WEIR_OP_UPPER
                                           : WEIR_OP_LENGTH);
        return;
    case WEIR_BUILTIN_CONTAINS:
    case WEIR_BUILTIN_STARTS_WITH:
    case WEIR_BUILTIN_ENDS_WITH:
        compile(c, a0);
        compile(c, a0->next);
        emit0(c, b == WEIR_BUILTIN_CONTAINS      ? WEIR_OP_CONTAINS
                 : b == WEIR_BUILTIN_STARTS_WITH ? WEIR_OP_STARTS_WITH
                                                 : WEIR_OP_ENDS_WITH);
        return;
    case WEIR_BUILTIN_GEO_DISTANCE:
        for (const ast_expr *a = a0; a; a = a->next) {
            compile(c, a);
            convert(c, a->type, WEIR_T_FLOAT, a->loc);
        }
        emit0(c, WEIR_OP_GEO_DISTANCE);
        return;
    case WEIR_BUILTIN_HOURS:
        compile(c, a0);
        emit0(c, WEIR_OP_HOURS);
        return;
    case WEIR_BUILTIN_HOUR_OF_DAY:
    case WEIR_BUILTIN_DAY_OF_WEEK:
        compile(c, a0);
        emit0(c, b == WEIR_BUILTIN_HOUR_OF_DAY ? WEIR_OP_HOUR_OF_DAY : WEIR_OP_DAY_OF_WEEK);
        return;
    case WEIR_BUILTIN_WINDOW_START:
        emit0(c, WEIR_OP_WINDOW_START);
        return;
    case WEIR_BUILTIN_WINDOW_END:
        emit0(c, WEIR_OP_WINDOW_END);
        return;
    case WEIR_BUILTIN_ENV:
        fail(c, e->loc, "env() can only be used in sink options");
        return;
    default:
        break;
    }
    fail(c, e->loc, "%s() cannot be used here", info->name);
}

static void compile(compiler *c, const ast_expr *e)
{
    if (c->failed)
        return;
    weir_value v = {0};
    switch (e->kind) {
    case AST_EXPR_INT:
        v.u.i = e->u.int_value;
        emit_const(c, WEIR_T_INT, v);
        break;
    case AST_EXPR_DECIMAL:
        v.u.dec = e->u.decimal_value;
        emit_const(c, WEIR_T_DECIMAL, v);
        break;
    case AST_EXPR_FLOAT:
        v.u.f = e->u.float_value;
        emit_const(c, WEIR_T_FLOAT, v);
        break;
    case AST_EXPR_STRING:
        v.u.s = e->u.string_value;
        v.len = (uint32_t)strlen(e->u.string_value);
        emit_const(c, WEIR_T_STRING, v);
        break;
    case AST_EXPR_BOOL:
        v.u.b = e->u.bool_value;
        emit_const(c, WEIR_T_BOOL, v);
        break;
    case AST_EXPR_DURATION:
        v.u.ms = e->u.duration_ms;
        emit_const(c, WEIR_T_DURATION, v);
        break;
    case AST_EXPR_NAME:
    case AST_EXPR_FIELD:
    case AST_EXPR_INDEX:
        compile_ref(c, e);
        break;
    case AST_EXPR_UNARY:
        compile(c, e->u.unary.operand);
        if (e->u.unary.op == AST_UNARY_NOT)
            emit0(c, WEIR_OP_NOT);
        else
            emit0(c, type_class(e->type) == TC_F64 ? WEIR_OP_NEG_F64 : WEIR_OP_NEG_I64);
        break;
    case AST_EXPR_BINARY:
        compile_binary(c, e);
        break;
    case AST_EXPR_IN:
        compile_in(c, e);
        break;
    case AST_EXPR_LIST:
        fail(c, e->loc, "a list literal can only be used right of 'in'");
        break;
    case AST_EXPR_CALL:
        compile_call(c, e);
        break;
    }
    if (!c->failed && c->p->max_stack > WEIR_EXPR_MAX_STACK)
        fail(c, e->loc, "expression too complex (nested deeper than %d)",
             WEIR_EXPR_MAX_STACK);
}

weir_expr_program *weir_expr_compile(const ast_expr *e, const weir_expr_options *opt)
{
    static const weir_expr_options no_opt = {0};
    compiler c = {.opt = opt ? opt : &no_opt};
    c.p = calloc(1, sizeof *c.p);
    if (!c.p)
        return NULL;
    c.p->type = e->type;
    if (e->type == WEIR_T_ERROR)
        fail(&c, e->loc, "internal error: expression was not checked");
    compile(&c, e);
    if (!c.failed && c.depth != 1)
        fail(&c, e->loc, "internal error: unbalanced expression program");
    if (c.failed) {
        weir_expr_program_free(c.p);
        return NULL;
    }
    finish(&c);
    return c.p;
}

void weir_expr_program_free(weir_expr_program *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n_sets; i++)
        if (p->owns_set && p->owns_set[i])
            weir_value_set_free((weir_value_set *)p->sets[i]);
    free(p->sets);
    free(p->owns_set);
    free(p->code);
    free(p->consts);
    free(p->strings);
    free(p);
}

/* ------------------------------------------------------------------ */
/* Disassembler                                                         */

int weir_expr_dump(const weir_expr_program *p, FILE *out)
{
    fprintf(out, "    ; %s, stack %u\n", weir_type_name(p->type), p->max_stack);
    for (uint32_t i = 0; i < p->n_code; i++) {
        const weir_instr *in = &p->code[i];
        const weir_opcode_info *info = &opcode_info[in->op];
        if (info->operands == WEIR_OPS_NONE)
            fprintf(out, "    %3u  %s", i, info->name);
        else
            fprintf(out, "    %3u  %-16s", i, info->name);
        switch (info->operands) {
        case WEIR_OPS_NONE:
            break;
        case WEIR_OPS_CONST:
            weir_value_print((weir_type)in->d, &p->consts[in->c], out);
            break;
        case WEIR_OPS_FIELD:
            fprintf(out, "field %u", in->c);
            break;
        case WEIR_OPS_STEP:
            fprintf(out, "step %u", in->a);
            break;
        case WEIR_OPS_STEPF:
            fprintf(out, "step %u [%d] field %u", in->a, in->b, in->c);
            break;
        case WEIR_OPS_STEPAGG:
            fprintf(out, "step %u field %u %s", in->a, in->c,
                    weir_agg_ops_get((weir_agg_fn)in->d)->name);
            break;
        case WEIR_OPS_STEPCOL:
            fprintf(out, "step %u field %u", in->a, in->c);
            break;
        case WEIR_OPS_SLOT:
            fprintf(out, "slot %u", in->c);
            break;
        case WEIR_OPS_JUMP:
            fprintf(out, "-> %d", in->b);
            break;
        case WEIR_OPS_SET:
            fprintf(out, "set %u (%zu %s)", in->c, weir_value_set_size(p->sets[in->c]),
                    weir_type_name(weir_value_set_elem_type(p->sets[in->c])));
            break;
        case WEIR_OPS_MEMORY:
            fprintf(out, "memory %u", in->c);
            break;
        }
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}
