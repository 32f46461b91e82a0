/* expr.h — checked expressions compiled into flat programs.
 *
 * A rule's conditions (`where`, `until`, `when`) and emit fields run once per
 * event, per live partial match: they are the hot path. Walking the AST there
 * would chase pointers through the parse arena, re-dispatch on node kind and
 * types on every step and recurse. So each checked expression is compiled,
 * once, when the rule set loads, into a weir_expr_program:
 *
 *   - a flat array of fixed-size instructions (weir_instr, 16 bytes) and a
 *     constant pool; the opcodes are defined once in opcodes.h;
 *   - a stack machine: operands are pushed, operators pop and push. A stack
 *     machine needs no register allocation, its code is compact and its
 *     maximum depth is known at compile time (each opcode's stack effect is
 *     in opcodes.h), so the evaluator keeps its stack in a fixed array on the
 *     C stack: no malloc and no recursion while evaluating;
 *   - opcodes specialised by type (ADD_I64, MUL_DEC, LT_STR, ...): the
 *     checker typed every node, so the compiler picks the opcode and inserts
 *     explicit widening conversions (int → decimal → float) and the evaluator
 *     never tests a type;
 *   - the evaluator dispatches with a plain switch, not computed goto: it
     is standard C, -Wswitch proves every opcode is handled, and rule
     conditions are a dozen instructions, so dispatch is not where the time
     goes (reading the event and the match buffer is);
   - `and` / `or` short-circuit with forward jumps (AND_JUMP / OR_JUMP), so
 *     `amount >= 500 and merchant != probe[-1].merchant` does not look at the
 *     previous probe when the amount is small;
 *   - `in` against a list compiles to a constant hash set (weir_value_set),
 *     looked up in O(1).
 * The evaluator is engine/eval.c; the disassembler weir_expr_dump() prints a
 * program for `weir check --dump`.
 *
 * Missing values. Some expressions have no value: a division by zero, an
 * integer overflow, `probe[-1].x` before any probe was accepted, avg/min/max/
 * first/last over zero events, a field the event did not carry, lower() when
 * the scratch area is full. Such a result is "missing", like SQL's NULL:
 *   - arithmetic, string functions and comparisons with a missing operand
 *     give missing;
 *   - `and` / `or` / `not` use three-valued logic (false and missing = false,
 *     true or missing = true, otherwise missing);
 *   - `x in list` with x missing is missing;
 *   - a condition (where / until / when) holds only when its value is a
 *     present `true` (weir_eval_condition): a missing condition is false;
 *   - an emit field that is missing is written as JSON null.
 * count() over zero events is 0 and sum() over zero events is 0 (of the sum's
 * type), not missing.
 *
 * Ownership: weir_expr_compile() returns a program the caller frees with
 * weir_expr_program_free(). The program copies every constant it needs
 * (string literals included) and owns the sets built from list literals and
 * from lists declared with items; sets returned by the list resolver
 * (lists `from file`) are borrowed and must outlive the program. The AST is
 * not referenced after compilation. */
#ifndef WEIR_COMPILE_EXPR_H
#define WEIR_COMPILE_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compile/opcodes.h"
#include "dsl/ast.h"
#include "dsl/diag.h"
#include "dsl/types.h"

/* ------------------------------------------------------------------ */
/* Values                                                               */

/* One run-time value, 16 bytes. Which union member is valid follows from
 * the static type, which the program (not the value) knows. */
typedef struct weir_value {
    union {
        int64_t i;     /* int */
        double f;      /* float */
        int64_t dec;   /* decimal, scaled by WEIR_DECIMAL_SCALE */
        bool b;        /* bool */
        int64_t ms;    /* time (ms since the Unix epoch, UTC), duration (ms) */
        const char *s; /* string bytes, NOT NUL-terminated; borrowed from the
                          event's buffer, the program's constants or the
                          evaluation scratch area */
    } u;
    uint32_t len;      /* string length in bytes; 0 for other types */
    bool missing;      /* no value (SQL NULL), see above */
} weir_value;

_Static_assert(sizeof(weir_value) == 16, "weir_value must stay 16 bytes");

/* Constructors, for the engine's decoder and for tests. */
static inline weir_value weir_value_int(int64_t i)
{
    weir_value v = {.u.i = i};
    return v;
}
static inline weir_value weir_value_float(double f)
{
    weir_value v = {.u.f = f};
    return v;
}
static inline weir_value weir_value_decimal(int64_t scaled)
{
    weir_value v = {.u.dec = scaled};
    return v;
}
static inline weir_value weir_value_bool(bool b)
{
    weir_value v = {.u.b = b};
    return v;
}
/* time or duration */
static inline weir_value weir_value_millis(int64_t ms)
{
    weir_value v = {.u.ms = ms};
    return v;
}
static inline weir_value weir_value_string(const char *s, size_t len)
{
    weir_value v = {.u.s = s, .len = (uint32_t)len};
    return v;
}
static inline weir_value weir_value_missing(void)
{
    weir_value v = {.missing = true};
    return v;
}

/* Equality of two present values of type t (strings by bytes; floats by
 * value, so 0.0 == -0.0). Missing values are equal to each other only. */
bool weir_value_equal(weir_type t, const weir_value *a, const weir_value *b);

/* A hash of a present value of type t, consistent with weir_value_equal
 * (0.0 and -0.0 hash alike). The hash `in` sets use; stable within one
 * build only, so never store it. */
uint64_t weir_value_hash(weir_type t, const weir_value *v);

/* Writes v (of type t) in rule syntax: 42, 2.5000, "GB", 90000ms,
 * missing. For dumps and test messages. */
void weir_value_print(weir_type t, const weir_value *v, FILE *out);

/* ------------------------------------------------------------------ */
/* Value sets: the right-hand side of `in`                              */

/* An open-addressing hash set of values of one element type. Strings are
 * copied into the set. Missing values are never members. */
typedef struct weir_value_set weir_value_set;

/* A new empty set, or NULL on out-of-memory or an element type that cannot
 * be a list element (error, list). Free with weir_value_set_free(). */
weir_value_set *weir_value_set_new(weir_type elem_type);
/* Frees the set and its strings. Accepts NULL. */
void weir_value_set_free(weir_value_set *set);
/* Adds *v (of the set's element type; copied). Returns 0, or -1 on
 * out-of-memory or a missing value. Adding a member again is a no-op. */
int weir_value_set_add(weir_value_set *set, const weir_value *v);
bool weir_value_set_contains(const weir_value_set *set, const weir_value *v);
size_t weir_value_set_size(const weir_value_set *set);
/* Iterates the members in no particular order: start with *pos = 0; returns
 * NULL at the end. The set must not change meanwhile. */
const weir_value *weir_value_set_next(const weir_value_set *set, size_t *pos);
weir_type weir_value_set_elem_type(const weir_value_set *set);

/* ------------------------------------------------------------------ */
/* Programs                                                             */

/* One instruction; which operands are used depends on the opcode's
 * operand format (opcodes.h). */
typedef struct weir_instr {
    uint16_t op; /* weir_opcode */
    uint16_t a;  /* step index */
    int32_t b;   /* event index within a step (negative from the end), or
                    jump target */
    uint32_t c;  /* constant / field / slot / set index */
    uint32_t d;  /* weir_agg_fn for STEP_AGG; the constant's weir_type for
                    CONST (read by the disassembler only) */
} weir_instr;

_Static_assert(sizeof(weir_instr) == 16, "weir_instr must stay 16 bytes");

/* The evaluator keeps its stack in a fixed array of this many values;
 * the compiler rejects deeper programs ("expression too complex"). */
#define WEIR_EXPR_MAX_STACK 64

/* A compiled expression. Read-only once built: one program may be
 * evaluated from several threads at once. */
typedef struct weir_expr_program {
    weir_instr *code;        /* owned */
    uint32_t n_code;
    weir_value *consts;      /* owned; string constants point into strings */
    uint32_t n_consts;
    char *strings;           /* owned: the bytes of every string constant */
    size_t strings_len;
    const weir_value_set **sets; /* owned array; see owns_set */
    bool *owns_set;          /* owned; sets[i] is freed with the program iff
                                owns_set[i] */
    uint32_t n_sets;
    uint32_t max_stack;      /* deepest the stack gets, <= WEIR_EXPR_MAX_STACK */
    weir_type type;          /* the expression's type (the result's) */
    /* A condition that is one int64-backed field of the event compared with
     * a constant (`amount < 2.00`, `mcc == 4829`), the commonest one, is
     * also kept in this form for the evaluator to test without its loop:
     * field_cmp is the comparison's opcode (EQ_I64 .. GE_I64), or 0. */
    uint16_t field_cmp;         /* with the field on the left: `2 > amount`
                                   is kept as `amount < 2` */
    uint32_t field_cmp_field;   /* the field's index */
    weir_value field_cmp_const; /* present (a missing one is left to the
                                   loop) */
} weir_expr_program;

/* Supplies the set of a list declared `from file` (lists with items are
 * built by the compiler itself). Returns NULL if it has none: compiling
 * fails with a diagnostic. The set must outlive the program. */
typedef const weir_value_set *(*weir_expr_list_cb)(const ast_list_decl *list,
                                                    void *user);

/* For window rules: maps an aggregate call in `when` / emit (count(),
 * sum(amount), ...) to the slot of its finished result. Returns the slot, or
 * -1 to fail the compile (the callback reports why). */
typedef int (*weir_expr_agg_slot_cb)(const ast_expr *call, void *user);

typedef struct weir_expr_options {
    weir_diags *diags;            /* may be NULL: errors are counted only */
    weir_expr_list_cb list;       /* may be NULL: no `from file` lists */
    void *list_user;
    weir_expr_agg_slot_cb agg_slot; /* NULL outside window when/emit: a
                                       window aggregate is then an error */
    void *agg_user;
} weir_expr_options;

/* Compiles a checked expression (every node typed, every name resolved;
 * see dsl/check.h). Returns NULL after reporting an error to opt->diags
 * (env() in an expression, a `from file` list the resolver does not know,
 * a construct the evaluator does not support, a program too deep).
 * opt may be NULL. */
weir_expr_program *weir_expr_compile(const ast_expr *e, const weir_expr_options *opt);

/* Frees the program and what it owns. Accepts NULL and half-built
 * programs. */
void weir_expr_program_free(weir_expr_program *p);

/* Prints one instruction per line: "  3  STEP_FIELD step 0 [-1] field 2".
 * Returns 0, or -1 on a write error. */
int weir_expr_dump(const weir_expr_program *p, FILE *out);

#endif
