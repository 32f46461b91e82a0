/* eval.h — running compiled expression programs (the "VM").
 *
 * The evaluator is a loop over a switch on the opcodes of opcodes.h, with
 * its operand stack in a fixed array on the C stack (the compiler bounds
 * the depth). It never allocates, never recurses and never tests a type:
 * see compile/expr.h for the design and for what "missing" means.
 *
 * Everything a program reads comes through a weir_eval_ctx the engine fills
 * per evaluation:
 *   - the current event: an array of weir_value indexed by ast_field.index
 *     of its stream;
 *   - pattern rules: the events matched so far per step, through a tiny
 *     interface (weir_eval_match) the engine implements over its shared
 *     match buffer; weir_eval_match_array is a ready-made implementation
 *     over plain arrays (tests, simple engines);
 *   - window rules: the finished aggregate results by slot, the key value and
 *     the window's bounds;
 *   - rules with `keep`: the key's memory, read by item (MEM_VALUE, MEM_IN);
 *   - a scratch area for string results (lower, upper) the engine resets per
 *     event (weir_eval_scratch_reset).
 * Reference lists are bound into the program when it is compiled (see
 * weir_expr_list_cb), so they are not part of the context.
 *
 * Ownership: the context and everything it points to belong to the caller
 * and are only read during the call, except the scratch area, into which
 * string results are written; a string result may point into the scratch
 * area, the event or the program and is valid until the next reset / while
 * those live. */
#ifndef WEIR_ENGINE_EVAL_H
#define WEIR_ENGINE_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/expr.h"

/* The events a pattern match has accepted so far, per step
 * (ast_step.index). The engine implements it over its shared buffer; it
 * must not allocate. Within a step, event 0 is the first accepted. While a
 * step's own condition is evaluated the current event is not yet part of
 * the step, so probe[-1] is the last event accepted before it. */
typedef struct weir_eval_match_ops {
    /* Number of events step `step` has accepted (0 if none, or if the step
     * is not part of this match). */
    size_t (*count)(const void *self, unsigned step);
    /* Event i (0 <= i < count) of the step: its field array. */
    const weir_value *(*event)(const void *self, unsigned step, size_t i);
} weir_eval_match_ops;

typedef struct weir_eval_match {
    const weir_eval_match_ops *ops;
    const void *self;
} weir_eval_match;

/* A weir_eval_match over plain arrays: events[s][i] is event i of step s,
 * n_events[s] how many; steps >= n_steps have none. Set up with
 * weir_eval_match_array_init(). */
typedef struct weir_eval_match_array {
    const weir_value *const *const *events;
    const size_t *n_events;
    unsigned n_steps;
} weir_eval_match_array;

/* Returns a weir_eval_match reading `arr` (which must outlive it). */
weir_eval_match weir_eval_match_array_view(const weir_eval_match_array *arr);

/* Bytes for string results. The engine owns the buffer and resets `used`
 * per event; a result that does not fit is missing. */
typedef struct weir_eval_scratch {
    char *buf;
    size_t cap;
    size_t used;
} weir_eval_scratch;

static inline void weir_eval_scratch_reset(weir_eval_scratch *s)
{
    if (s)
        s->used = 0;
}

typedef struct weir_eval_ctx {
    const weir_value *event;       /* current event; NULL where a program
                                      reads no field (window when/emit) */
    const weir_eval_match *match;  /* pattern rules; NULL: no step has
                                      events */
    const weir_value *aggs;        /* window rules: finished aggregate
                                      results, by slot */
    weir_value key;                /* window rules: the key value */
    weir_millis window_start;      /* window rules: [start, end) */
    weir_millis window_end;
    weir_eval_scratch *scratch;    /* NULL: lower()/upper() give missing */
    const struct weir_key_memory *memory; /* rules with `keep`: the key's
                                      memory (engine/key_memory.h); NULL:
                                      none, every memory reads as missing */
} weir_eval_ctx;

/* Evaluates p over ctx into *out. */
void weir_eval_run(const weir_expr_program *p, const weir_eval_ctx *ctx, weir_value *out);

/* Evaluates a condition (a bool program): true only when the result is a
 * present `true`; missing counts as false. */
bool weir_eval_condition(const weir_expr_program *p, const weir_eval_ctx *ctx);

/* A condition kept as one field compared with a constant (p->field_cmp
 * != 0, see expr.h), tested on the event's fields without the evaluator:
 * what weir_eval_condition gives for it. Inline, for the callers that test
 * conditions once per event and rule. */
static inline bool weir_eval_field_cmp(const weir_expr_program *p, const weir_value *event)
{
    const weir_value *f = &event[p->field_cmp_field];
    if (f->missing)
        return false;
    int64_t a = f->u.i, b = p->field_cmp_const.u.i;
    switch ((weir_opcode)p->field_cmp) {
    case WEIR_OP_EQ_I64: return a == b;
    case WEIR_OP_NE_I64: return a != b;
    case WEIR_OP_LT_I64: return a < b;
    case WEIR_OP_LE_I64: return a <= b;
    case WEIR_OP_GT_I64: return a > b;
    case WEIR_OP_GE_I64: return a >= b;
    default: return false; /* field_cmp holds only the six above */
    }
}

#endif
