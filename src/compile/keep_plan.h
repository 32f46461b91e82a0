/* keep_plan.h — a rule's `keep` (per-key memory) compiled into a plan.
 *
 *   rule new_device_high_amount
 *     on account_transactions by account
 *     keep for 90d where kind == "payment" {
 *         devices: distinct(device),
 *         usual:   avg(amount),
 *         seen:    count()
 *     }
 *     match p where seen >= 3 and device not in devices and amount > 3 * usual
 *
 * becomes: which stream's events are kept, `for` and the bucket width
 * (`every`), a filter program over each event (`where`), and one entry per
 * item. The engine (engine/key_memory.h) keeps, per key, one bucket per
 * `every` of event time holding one aggregate state per numeric item,
 * and one table of values per distinct item; conditions read the items
 * with the MEM_VALUE and MEM_IN opcodes, by item index.
 *
 * Items come in three kinds:
 *   - an aggregate (count(), count(x), sum, avg, min, max): a weir_agg_ops
 *     vtable of window_plan.h, one state per bucket (its `slot`), merged
 *     over the live buckets;
 *   - distinct(x): a set of values, each with the newest bucket it was
 *     seen in; read with `in`;
 *   - count(distinct x): the same table, read as its size.
 * Both table kinds use `slot` to name their table.
 *
 * Ownership: weir_keep_plan_new() returns a plan the caller frees with
 * weir_keep_plan_free(); it owns its programs and its copies of the item
 * names, and does not reference the AST afterwards. */
#ifndef WEIR_COMPILE_KEEP_PLAN_H
#define WEIR_COMPILE_KEEP_PLAN_H

#include <stdint.h>
#include <stdio.h>

#include "compile/expr.h"
#include "compile/window_plan.h"
#include "dsl/ast.h"

typedef enum weir_keep_item_kind {
    WEIR_KEEP_AGG,            /* count(), sum(x), avg(x), min(x), max(x) */
    WEIR_KEEP_SET,            /* distinct(x): membership with `in` */
    WEIR_KEEP_COUNT_DISTINCT, /* count(distinct x): the size of a set */
} weir_keep_item_kind;

typedef struct weir_keep_item {
    char *name;               /* owned copy, for dumps and messages */
    weir_keep_item_kind kind;
    weir_agg_fn fn;           /* WEIR_KEEP_AGG */
    const weir_agg_ops *ops;  /* WEIR_KEEP_AGG: static vtable */
    weir_expr_program *arg;   /* owned; over the kept event; NULL for count() */
    weir_type arg_type;       /* WEIR_T_ERROR for count() */
    weir_type type;           /* what reading it gives: the aggregate's
                                 result type; for a set, its values' type */
    unsigned slot;            /* WEIR_KEEP_AGG: the state's index in a
                                 bucket; otherwise the index of its table */
} weir_keep_item;

typedef struct weir_keep_plan {
    unsigned stream;          /* the kept stream's index in the rule set's
                                 streams (weir_ruleset.streams) */
    weir_millis for_ms;       /* an event is kept at least this long */
    weir_millis bucket_ms;    /* bucket width (`every`, or for_ms / 90) */
    uint32_t max_buckets;     /* the most buckets a key can hold at once:
                                 for_ms / bucket_ms + 2 */
    weir_expr_program *where; /* owned; NULL: every event of the stream */
    weir_keep_item *items;    /* owned array, in the order written (the
                                 item index of MEM_VALUE / MEM_IN) */
    unsigned n_items;
    unsigned n_aggs;          /* aggregate states per bucket */
    unsigned n_tables;        /* value tables (distinct, count distinct) */
} weir_keep_plan;

/* Compiles a checked `keep` whose events come from stream number `stream`.
 * `opt` supplies the diagnostics and the list resolver (agg_slot is not
 * used). Returns NULL after reporting an error, or on out-of-memory. */
weir_keep_plan *weir_keep_plan_new(const ast_keep *keep, unsigned stream,
                                   const weir_expr_options *opt);
/* Frees the plan and everything it owns. Accepts NULL and half-built
 * plans. */
void weir_keep_plan_free(weir_keep_plan *plan);
/* Writes the plan as text for `weir check --dump`. Returns 0 or -1. */
int weir_keep_plan_dump(const weir_keep_plan *plan, FILE *out);

#endif
