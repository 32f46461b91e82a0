/* plan.h — what a compiled rule set holds (private to libweir).
 *
 * weir_ruleset (include/weir/ruleset.h) keeps the checked syntax tree, the
 * text of every source file (so the engine and the API can point at rule
 * text later) and one plan per rule: an NFA for pattern rules, an
 * aggregation plan for window rules, plus the compiled expression programs
 * both need. The ruleset owns all of it. */
#ifndef WEIR_COMPILE_PLAN_H
#define WEIR_COMPILE_PLAN_H

#include <stddef.h>

#include "dsl/ast.h"
#include "dsl/source.h"
#include "weir/ruleset.h"

struct weir_nfa;
struct weir_window_plan;

typedef struct weir_rule_plan {
    const ast_rule *ast;            /* borrowed from the ruleset's program */
    struct weir_nfa *nfa;           /* pattern rules; owned */
    struct weir_window_plan *window;/* window rules; owned */
} weir_rule_plan;

struct weir_ruleset {
    weir_sources sources;  /* owned: the text of every file */
    ast_program *prog;     /* owned: the checked tree */
    weir_rule_plan *rules; /* owned array, one per rule, in declaration order */
    size_t n_rules;
};

#endif
