/* check-internal.h — what check.c, check_expr.c and check_pattern.c share.
 *
 * The checker is split by what it looks at: declarations (check.c),
 * expressions (check_expr.c) and patterns (check_pattern.c). They share one
 * weir_checker (the program and where to report) and describe to the
 * expression checker, with a weir_scope, what the names in an expression
 * may refer to at that spot of a rule. */
#ifndef WEIR_DSL_CHECK_INTERNAL_H
#define WEIR_DSL_CHECK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsl/ast.h"
#include "dsl/builtins.h"
#include "dsl/diag.h"

typedef struct weir_checker {
    ast_program *prog; /* the rule set being checked; its arena holds
                          every string and array the checker makes */
    weir_diags *diags; /* where problems go (borrowed) */
} weir_checker;

/* Where an expression stands, which decides what its names mean. */
typedef enum weir_scope_kind {
    WEIR_SCOPE_STEP,          /* a step's `where` / `until`, a group's `until` */
    WEIR_SCOPE_PATTERN_EMIT,  /* emit body of a pattern rule (also on timeout) */
    WEIR_SCOPE_WINDOW_FILTER, /* `where` of a window rule: one event */
    WEIR_SCOPE_WINDOW_RESULT, /* `when` and emit body of a window rule */
    WEIR_SCOPE_KEEP,          /* a `keep`'s `where` and its items: one event
                                 of the keep's stream, no step, no memory */
} weir_scope_kind;

/* Facts about one step of a rule that the expression checker needs and
 * ast_step does not hold; indexed like rule->steps. */
typedef struct weir_step_info {
    bool negated;              /* the element of `not next` / `not then` */
    int64_t max_events;        /* most events it matches in one match;
                                  -1 when unbounded */
    unsigned alt_depth;        /* enclosing alternations, outermost first */
    const ast_elem **alt_elem; /* the AST_ELEM_ALT nodes */
    unsigned *alt_branch;      /* which alternative of each holds the step */
} weir_step_info;

typedef struct weir_scope {
    weir_scope_kind kind;
    const ast_rule *rule;
    const weir_step_info *steps; /* per step; NULL outside pattern rules */
    /* Whose fields bare names are. NULL with `several_inputs` false means
     * the stream could not be resolved (already reported): names then get
     * WEIR_T_ERROR silently. */
    const ast_stream *stream;
    /* Emit body of a pattern rule with several inputs: a bare name must be
     * a field of every input stream. */
    bool several_inputs;
    /* In a step condition: steps [self_lo, self_hi) are the condition's
     * own (the step itself, or every step of a group for a group's
     * `until`). Steps before self_lo are matched; own steps may only be
     * used when repeated (they then mean the events already accepted). */
    unsigned self_lo, self_hi;
    const ast_step *self; /* the step whose condition it is; NULL for a group */
    const ast_field *key; /* window rules: the key field, bare in when/emit */
} weir_scope;

/* ---- check.c: lookups and message helpers shared by the three files */

const ast_stream *weir_check_find_stream(const ast_program *p, const char *name);
const ast_field *weir_check_find_field(const ast_stream *s, const char *name);
const ast_list_decl *weir_check_find_list(const ast_program *p, const char *name);
const ast_step *weir_check_find_step(const ast_rule *r, const char *name);
/* The item of the rule's `keep` called `name`; NULL when the rule has no
 * keep or no such item. */
const ast_keep_item *weir_check_find_memory(const ast_rule *r, const char *name);

/* " (did you mean 'x'?)" when a candidate is close to `name`, else `otherwise`
 * (which may be ""). The result lives in the arena. */
const char *weir_check_hint(weir_checker *c, const char *name,
                            const char *const *candidates, size_t n,
                            const char *otherwise);
/* Field names of a stream, as a candidate array in the arena. */
const char *const *weir_check_field_names(weir_checker *c, const ast_stream *s,
                                          size_t *n);
/* Reports `unknown field 'x' in stream 's' (did you mean 'y'?)` at `name`. */
void weir_check_unknown_field(weir_checker *c, const ast_stream *s, ast_ident name);
/* "1h30m", "250ms", "0ms": a duration as a person would write it. */
const char *weir_check_duration_text(weir_checker *c, weir_millis ms);
/* The source text of a location, copied into the arena. */
const char *weir_check_loc_text(weir_checker *c, weir_loc loc);
/* Reports `<what> '<name>' is declared twice` at `dup` with the note
 * `first declared here` at `first`. */
void weir_check_duplicate(weir_checker *c, const char *what, ast_ident dup,
                          ast_ident first);

/* ---- check_expr.c */

/* Resolves names in `e` and gives it and every node below it a type; returns
 * e->type (WEIR_T_ERROR after an error, which is never reported twice). */
weir_type weir_check_expr(weir_checker *c, const weir_scope *s, ast_expr *e);
/* A `where`, `until` or `when`: checks `e`, requires bool and warns when it
 * is constant false. */
void weir_check_condition(weir_checker *c, const weir_scope *s, ast_expr *e);
/* A sink option value: a literal, a bare word such as `hmac`, or env("X").
 * Returns its type (a bare word is a string); reports anything else. */
weir_type weir_check_option_value(weir_checker *c, ast_expr *e);

/* The items of a list literal (`list x = [..]`, or right of `in`): each must
 * be a literal, and all of one type (ints may join decimals and floats).
 * With `declared` other than WEIR_T_ERROR, each must fit that type; `name`
 * is the declared list's, NULL for a literal right of `in`. Returns the
 * element type; WEIR_T_ERROR after an error, or for an empty list with no
 * declared type (which is not reported here). */
weir_type weir_check_list_items(weir_checker *c, ast_expr *list, weir_type declared,
                                const char *name);

/* An item of a `keep` (s is its WEIR_SCOPE_KEEP scope): one of count(),
 * count(x), count(distinct x), sum(x), avg(x), min(x), max(x) or
 * distinct(x), with x over one event. Sets item->type (WEIR_T_ERROR after
 * an error) and returns it. */
weir_type weir_check_keep_item(weir_checker *c, const weir_scope *s, ast_keep_item *item);

/* ---- check_pattern.c */

/* Everything about a pattern rule's `match`: steps and their streams,
 * quantifiers, connectors, negation, conditions, `within`, `skip`. Fills
 * rule->steps and each step's stream and `repeated`, and `emit_scope` with
 * the scope of the rule's emit bodies. Inputs must be resolved first. */
void weir_check_pattern(weir_checker *c, ast_rule *r, weir_scope *emit_scope);

#endif
