/* plan.h — what a compiled rule set holds (private to libweir).
 *
 * weir_ruleset (include/weir/ruleset.h) keeps the checked syntax tree, the
 * text of every source file (so the engine and the API can point at rule
 * text later) and one plan per rule: an NFA plus compiled conditions for
 * pattern rules, an aggregation plan for window rules. The ruleset owns all
 * of it; plans are read-only once compiled, so engines on several threads
 * may share one ruleset. */
#ifndef WEIR_COMPILE_PLAN_H
#define WEIR_COMPILE_PLAN_H

#include <stdatomic.h>
#include <stddef.h>

#include "compile/expr.h"
#include "dsl/ast.h"
#include "dsl/source.h"
#include "weir/ruleset.h"

struct weir_nfa;
struct weir_window_plan;
struct weir_keep_plan;
struct weir_list_files;

/* The compiled conditions of one pattern step (rule->steps[i]). */
typedef struct weir_step_plan {
    weir_expr_program *where; /* owned; NULL: every event of the stream */
    weir_expr_program *until; /* owned; NULL: no `until` on the step */
    unsigned stream;          /* index of the step's stream in the ruleset's
                                 stream order (weir_ruleset.streams) */
} weir_step_plan;

/* One field of an `emit` body. */
typedef struct weir_emit_plan_field {
    const char *name;          /* borrowed from the AST */
    weir_expr_program *value;  /* owned */
} weir_emit_plan_field;

typedef struct weir_emit_plan {
    weir_emit_plan_field *fields; /* owned array */
    unsigned n_fields;
} weir_emit_plan;

typedef struct weir_rule_plan {
    const ast_rule *ast;             /* borrowed from the ruleset's program */
    /* pattern rules */
    struct weir_nfa *nfa;            /* owned */
    weir_step_plan *steps;           /* owned, nfa->n_steps of them */
    weir_expr_program **group_until; /* owned, nfa->n_groups; NULL entries
                                        for groups without `until` */
    weir_emit_plan emit;             /* the alert body */
    weir_emit_plan timeout_emit;     /* `on timeout emit`; empty if none */
    struct weir_keep_plan *keep;     /* owned: per-key memory (`keep`);
                                        NULL for rules without one */
    /* window rules */
    struct weir_window_plan *window; /* owned; has its own emit */
} weir_rule_plan;

struct weir_ruleset {
    weir_sources sources;  /* owned: the text of every file */
    ast_program *prog;     /* owned: the checked tree */
    const ast_stream **streams; /* owned array of borrowed streams, in
                                   declaration order */
    size_t n_streams;
    weir_rule_plan *rules; /* owned array, one per rule, in declaration order */
    size_t n_rules;
    struct weir_list_files *lists; /* owned: sets of `from file` lists */
    /* Owners besides the first (weir_ruleset_retain): an engine that took
     * over another engine's rule runtimes keeps their rule set alive. */
    atomic_uint extra_refs;
};

#endif
