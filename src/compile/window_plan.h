/* window_plan.h — a window rule compiled into an aggregation plan.
 *
 *   rule card_velocity
 *     on payments by card
 *     window sliding 1h every 5m
 *     where country != "GB"
 *     when count() > 20 or sum(amount) > 5000
 *     emit { card, txns: count(), total: sum(amount) }
 *
 * becomes: the window spec; a filter program over each event (`where`); the
 * list of DISTINCT aggregates that `when` and the emit body need (here
 * count() and sum(amount): sum(amount) written twice is computed once); and
 * the `when` program and one program per emit field, evaluated over the
 * finished aggregate results (an aggregate call compiles to AGG slot).
 *
 * Aggregates are small vtables {init, add, remove, merge, result, fini}
 * over a fixed-size state (weir_agg_state), so the engine never allocates
 * per event (count distinct is the exception: its set grows when a new
 * distinct value arrives); a window pane keeps each state packed to what
 * its kind uses and unpacks it for the ops (engine/window_run.c). The same
 * vtables fold a pattern step's events (sum(probe.amount)) in the
 * evaluator.
 *
 * Invertibility: count, sum and avg can `remove` an event, so a sliding
 * window may subtract the pane that leaves it. min, max, first, last and
 * count distinct are NOT invertible (remove is NULL): the engine recomputes
 * them by merging the panes still in the window, it never "subtracts" them.
 *
 * Ownership: weir_window_plan_new() returns a plan the caller frees with
 * weir_window_plan_free(); the plan owns its programs and copies the rule
 * and field names it keeps. It does not reference the AST afterwards. */
#ifndef WEIR_COMPILE_WINDOW_PLAN_H
#define WEIR_COMPILE_WINDOW_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "compile/expr.h"
#include "dsl/ast.h"

/* ------------------------------------------------------------------ */
/* Aggregate functions                                                  */

/* X(ENUM, "name"): the aggregate kinds a rule can ask for. */
#define WEIR_AGG_KIND_LIST(X)   \
    X(COUNT, "count")           \
    X(SUM, "sum")               \
    X(AVG, "avg")               \
    X(MIN, "min")               \
    X(MAX, "max")               \
    X(FIRST, "first")           \
    X(LAST, "last")             \
    X(COUNT_DISTINCT, "count distinct")

typedef enum weir_agg_kind {
#define WEIR_AGG_KIND_ENUM(e, name) WEIR_AGG_##e,
    WEIR_AGG_KIND_LIST(WEIR_AGG_KIND_ENUM)
#undef WEIR_AGG_KIND_ENUM
    WEIR_AGG__COUNT
} weir_agg_kind;

/* The implementations, specialised by argument type class like the
 * opcodes. X(ENUM, kind, "name"). I64 covers int, decimal, time and
 * duration (sums of scaled decimals are exact integer sums). */
#define WEIR_AGG_FN_LIST(X)                                 \
    X(COUNT_ALL, COUNT, "count")        /* count(): events */ \
    X(COUNT, COUNT, "count")            /* count(x): present x */ \
    X(SUM_I64, SUM, "sum.i64")                              \
    X(SUM_F64, SUM, "sum.f64")                              \
    X(AVG_INT, AVG, "avg.int")          /* int → decimal */ \
    X(AVG_DEC, AVG, "avg.dec")                              \
    X(AVG_F64, AVG, "avg.f64")                              \
    X(MIN_I64, MIN, "min.i64")                              \
    X(MIN_F64, MIN, "min.f64")                              \
    X(MIN_STR, MIN, "min.str")                              \
    X(MIN_BOOL, MIN, "min.bool")                            \
    X(MAX_I64, MAX, "max.i64")                              \
    X(MAX_F64, MAX, "max.f64")                              \
    X(MAX_STR, MAX, "max.str")                              \
    X(MAX_BOOL, MAX, "max.bool")                            \
    X(FIRST, FIRST, "first")                                \
    X(LAST, LAST, "last")                                   \
    X(DISTINCT_I64, COUNT_DISTINCT, "count_distinct.i64")  \
    X(DISTINCT_F64, COUNT_DISTINCT, "count_distinct.f64")  \
    X(DISTINCT_STR, COUNT_DISTINCT, "count_distinct.str")  \
    X(DISTINCT_BOOL, COUNT_DISTINCT, "count_distinct.bool")

typedef enum weir_agg_fn {
#define WEIR_AGG_FN_ENUM(e, kind, name) WEIR_AGG_FN_##e,
    WEIR_AGG_FN_LIST(WEIR_AGG_FN_ENUM)
#undef WEIR_AGG_FN_ENUM
    WEIR_AGG_FN__COUNT
} weir_agg_fn;

/* The running state of one aggregate, fixed size.
 * String values held in `v` borrow from the event that supplied them: an
 * engine that frees events before the window fires must keep the bytes
 * (or copy them) — the state never allocates for them.
 *
 * Each aggregate uses one member of the union (sum and avg sum_i or
 * sum_f, min/max/first/last v, count distinct set): every key holds one
 * state per aggregate per pane, so the members cannot each have their own
 * room (56 bytes a state, now 32). */
typedef struct weir_agg_state {
    int64_t n;                /* events (or present values) seen */
    bool overflow;            /* sum_i overflowed, or count distinct ran out
                                 of memory: the result is missing */
    union {
        int64_t sum_i;        /* SUM/AVG over int64-backed values */
        double sum_f;         /* SUM/AVG over floats */
        weir_value v;         /* MIN/MAX/FIRST/LAST: the value so far;
                                 missing while nothing was seen */
        weir_value_set *set;  /* COUNT_DISTINCT: owned, created by the first
                                 add; freed by fini */
    };
} weir_agg_state;

_Static_assert(sizeof(weir_agg_state) == 32, "weir_agg_state: one union member at a time");

typedef struct weir_agg_ops {
    const char *name;     /* "sum.i64" */
    weir_agg_kind kind;
    /* Zeroes the state (no allocation). */
    void (*init)(weir_agg_state *st);
    /* Folds one argument value (ignored when missing, as SQL, except by
     * COUNT_ALL which counts events and gets no value: v may be NULL). */
    void (*add)(weir_agg_state *st, const weir_value *v);
    /* Undoes an add; NULL for the non-invertible aggregates (min, max,
     * first, last, count distinct), which are recomputed from panes. */
    void (*remove)(weir_agg_state *st, const weir_value *v);
    /* dst := dst ∪ src, where src holds events LATER than dst's (first and
     * last depend on it). src is left unchanged. Returns 0, or -1 on
     * out-of-memory (count distinct only). */
    int (*merge)(weir_agg_state *dst, const weir_agg_state *src);
    /* The result; missing for avg/min/max/first/last of zero values. */
    void (*result)(const weir_agg_state *st, weir_value *out);
    /* Frees what the state owns; NULL when it owns nothing. */
    void (*fini)(weir_agg_state *st);
} weir_agg_ops;

const weir_agg_ops *weir_agg_ops_get(weir_agg_fn fn);
/* The kind `fn` implements, from WEIR_AGG_FN_LIST. */
weir_agg_kind weir_agg_fn_kind(weir_agg_fn fn);
/* The implementation of `kind` over arguments of type arg_type (ignored for
 * COUNT without argument: pass WEIR_T_ERROR), or WEIR_AGG_FN__COUNT if that
 * combination is not supported. */
weir_agg_fn weir_agg_fn_for(weir_agg_kind kind, weir_type arg_type, bool has_arg);
/* The result type of `kind` over arg_type (count: int, avg: decimal or
 * float, the others: arg_type). */
weir_type weir_agg_result_type(weir_agg_kind kind, weir_type arg_type);
const char *weir_agg_kind_name(weir_agg_kind kind);

/* ------------------------------------------------------------------ */
/* Plans                                                                */

/* One distinct aggregate the window computes. */
typedef struct weir_window_agg {
    weir_agg_kind kind;
    weir_agg_fn fn;
    const weir_agg_ops *ops;   /* static */
    weir_expr_program *arg;    /* owned; over the window's event; NULL for
                                  count() */
    weir_type arg_type;        /* WEIR_T_ERROR without argument */
    weir_type result_type;
} weir_window_agg;

typedef struct weir_window_emit_field {
    char *name;                /* owned */
    weir_expr_program *value;  /* owned; over the aggregate results */
} weir_window_emit_field;

typedef struct weir_window_plan {
    char *rule_name;           /* owned */
    ast_window_kind kind;
    weir_millis size_ms;       /* tumbling, sliding */
    weir_millis slide_ms;      /* sliding `every` */
    weir_millis gap_ms;        /* session */
    int64_t count;             /* count window size in events */
    int64_t count_slide;       /* count window `every`; = count when absent */
    unsigned key_field;        /* index of the key field in the event */
    weir_type key_type;
    weir_expr_program *filter; /* owned; NULL: every event */
    weir_window_agg *aggs;     /* owned array, slot order */
    unsigned n_aggs;
    weir_expr_program *when;   /* owned; NULL: every window alerts */
    weir_window_emit_field *emit; /* owned array */
    unsigned n_emit;
} weir_window_plan;

/* Compiles a checked AST_RULE_WINDOW rule. `opt` supplies the diagnostics
 * and the list resolver (its agg_slot is ignored: the plan assigns slots).
 * Returns NULL after reporting an error. */
weir_window_plan *weir_window_plan_new(const ast_rule *rule, const weir_expr_options *opt);
/* Frees the plan and everything it owns. Accepts NULL and half-built
 * plans. */
void weir_window_plan_free(weir_window_plan *plan);
/* Writes the plan as text for `weir check --dump`. Returns 0 or -1. */
int weir_window_plan_dump(const weir_window_plan *plan, FILE *out);

#endif
