/* nfa.h — a pattern rule compiled into an NFA in FlinkCEP's model.
 *
 * weir must give the same matches as FlinkCEP, so the automaton is the one
 * Flink's NFACompiler builds (see nfa.c for the construction): a set of
 * states of five kinds, each with an ordered list of edges, each edge an
 * action (TAKE, IGNORE, PROCEED) guarded by a condition.
 *
 *   TAKE     consume the event, bind it to a step, move to `target` (which
 *            is the state itself for a looping state);
 *   IGNORE   skip the event without binding it, move to `target`;
 *   PROCEED  an epsilon move: when its condition holds for the current
 *            event, the engine also tries the edges of `target` for that
 *            same event (Flink: NFA.createDecisionGraph).
 *
 * Conditions are not evaluated here. Each edge points at a short postfix
 * program over a handful of leaves (a step's `where`, a step's `until`, a
 * group's `until`, "the event comes from the step's stream", `true`) joined
 * by NOT / AND / OR. The engine evaluates leaves with the compiled
 * expressions of the AST (compile/expr.h) and combines them with a small
 * stack of booleans, at most `cond_max_depth` deep, allocated once.
 *
 * Ownership: weir_nfa_compile() returns a new NFA that owns every array
 * and string in it; weir_nfa_free() frees it all. The NFA borrows nothing
 * from the AST except weir_nfa_group.elem, which points into the program's
 * arena and is valid only while that program lives. Steps are identified
 * by ast_step.index as numbered by weir_ast_rule_collect_steps() (the
 * compiler calls it), i.e. by rule->steps[i].
 *
 * Nothing in here allocates or changes after compilation: an NFA may be
 * shared read-only by every shard thread. */
#ifndef WEIR_COMPILE_NFA_H
#define WEIR_COMPILE_NFA_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dsl/ast.h"

/* ---------------------------------------------------------------- lists */

/* State kinds, as Flink's State.StateType.
 * X(ENUM_SUFFIX, "name in dumps") */
#define WEIR_NFA_STATE_KIND_LIST(X)                                          \
    X(START, "start")     /* where every partial match begins */             \
    X(NORMAL, "normal")   /* an intermediate state */                        \
    X(FINAL, "final")     /* reaching it completes a match */                \
    X(STOP, "stop")       /* reaching it discards the partial match (a     \
                             negated step was seen) */                       \
    X(PENDING, "pending") /* absence: `not then x` last with `within`; a   \
                             partial match here that times out is a match */

typedef enum weir_nfa_state_kind {
#define WEIR_NFA_KIND_ENUM(name, text) WEIR_NFA_##name,
    WEIR_NFA_STATE_KIND_LIST(WEIR_NFA_KIND_ENUM)
#undef WEIR_NFA_KIND_ENUM
} weir_nfa_state_kind;

/* Edge actions, as Flink's StateTransitionAction. */
#define WEIR_NFA_ACTION_LIST(X) \
    X(TAKE, "take")             \
    X(IGNORE, "ignore")         \
    X(PROCEED, "proceed")

typedef enum weir_nfa_action {
#define WEIR_NFA_ACTION_ENUM(name, text) WEIR_NFA_##name,
    WEIR_NFA_ACTION_LIST(WEIR_NFA_ACTION_ENUM)
#undef WEIR_NFA_ACTION_ENUM
} weir_nfa_action;

/* Condition opcodes. Leaves push one boolean; NOT pops one and pushes one;
 * AND and OR pop two and push one.
 * X(ENUM_SUFFIX, "name", operands popped, is_leaf) */
#define WEIR_NFA_COND_LIST(X)                                                  \
    X(TRUE, "true", 0, true)       /* always true */                           \
    X(WHERE, "where", 0, true)     /* rule->steps[arg]->where holds for the    \
                                      event (never emitted for a step without \
                                      `where`: that is TRUE) */                \
    X(UNTIL, "until", 0, true)     /* rule->steps[arg]->elem->quant.until      \
                                      holds for the event */                   \
    X(GROUP_UNTIL, "group until", 0, true) /* nfa->groups[arg].elem->quant.    \
                                      until holds for the event */             \
    X(STREAM, "stream", 0, true)   /* the event comes from the stream that     \
                                      rule->steps[arg] reads (only emitted in \
                                      rules with several inputs, like Flink's \
                                      subtype() condition) */                  \
    X(NOT, "not", 1, false)                                                    \
    X(AND, "and", 2, false)                                                    \
    X(OR, "or", 2, false)

typedef enum weir_nfa_cond_op {
#define WEIR_NFA_COND_ENUM(name, text, pops, leaf) WEIR_COND_##name,
    WEIR_NFA_COND_LIST(WEIR_NFA_COND_ENUM)
#undef WEIR_NFA_COND_ENUM
} weir_nfa_cond_op;

/* ---------------------------------------------------------------- types */

/* One instruction of a postfix condition program. */
typedef struct weir_nfa_cond {
    uint16_t op;  /* a weir_nfa_cond_op */
    uint16_t pad;
    uint32_t arg; /* step index (WHERE, UNTIL, STREAM), group index
                     (GROUP_UNTIL); 0 for the others */
} weir_nfa_cond;

typedef struct weir_nfa_edge {
    weir_nfa_action action;
    uint32_t target;   /* index into nfa->states; for a self-loop, the
                          state the edge belongs to */
    int32_t step;      /* TAKE: the step index the taken event binds to
                          (for an alternation, the alternative's step);
                          -1 for IGNORE and PROCEED */
    uint32_t cond;     /* first instruction in nfa->conds */
    uint32_t cond_len; /* number of instructions, >= 1 */
} weir_nfa_edge;

typedef struct weir_nfa_state {
    const char *name;  /* unique, Flink's internal state name: the step
                          name, then "name:0", "name:1" ... for further
                          states of the same step (NFAStateNameHandler);
                          "$endState$" for the final state; "a|b" for an
                          alternation; "(group)" for a group's loop state */
    weir_nfa_state_kind kind;
    int32_t step;      /* the step whose state this is (for STOP and
                          PENDING and a `not next` state: the negated
                          step); -1 for the final state, an alternation
                          state and a group's loop state */
    int32_t group;     /* innermost group the state was built for, index
                          into nfa->groups; -1 outside any group */
    bool looping;      /* the state of a Kleene loop: it TAKEs into itself
                          (Flink's createLooping), or it is the loop-back
                          state of a repeated group */
    bool greedy;       /* built for a `greedy` step */
    bool reluctant;    /* built for a `reluctant` (or `+?`) step: weir's
                          extension. Flink has no such thing; the engine
                          honours it by keeping, among the runs that leave
                          this step's states from the same start, only the
                          one that leaves first (the shortest match). The
                          edges are exactly those of the non-reluctant
                          quantifier. */
    uint32_t first_edge; /* edges are nfa->edges[first_edge ..+ n_edges), */
    uint32_t n_edges;    /* in the order Flink adds them */
} weir_nfa_state;

/* A parenthesised group of the pattern, depth first in source order. */
typedef struct weir_nfa_group {
    const ast_elem *elem; /* borrowed from the program's arena */
    uint32_t first_step;  /* the group's steps are consecutive: */
    uint32_t n_steps;     /* rule->steps[first_step ..+ n_steps) */
} weir_nfa_group;

typedef struct weir_nfa {
    weir_nfa_state *states; /* start first, then breadth first along the */
    uint32_t n_states;      /* edges; states Flink would create but that no
                               edge reaches are left out */
    weir_nfa_edge *edges;
    uint32_t n_edges;
    weir_nfa_cond *conds;   /* every edge's condition program */
    uint32_t n_conds;
    uint32_t cond_max_depth; /* deepest evaluation stack any program needs */
    weir_nfa_group *groups;
    uint32_t n_groups;

    uint32_t start;        /* index of the START state (always 0) */
    uint32_t final_state;  /* index of the FINAL state */
    uint32_t n_steps;      /* rule->n_steps */

    bool has_within;       /* `within` given (Flink's windowTime > 0) */
    weir_millis within_ms; /* the deadline from a match's first event */
    bool handle_timeout;   /* `on timeout emit`: report timed-out partial
                              matches (Flink's timeoutHandling) */
    ast_skip_kind skip;    /* after-match skip; AST_SKIP_DEFAULT is folded
                              into AST_SKIP_NO_SKIP, as Flink's default */
    int32_t skip_step;     /* skip to first/last: the step index; else -1 */

    char *names;           /* storage of every state name (owned) */
} weir_nfa;

/* -------------------------------------------------------------- functions */

/* Compiles the pattern of `rule` (a rule of `prog`) into a new NFA. Calls
 * weir_ast_rule_collect_steps(prog, rule), which allocates in prog's arena
 * the first time. Works on a parsed rule whether or not it was checked.
 * Returns NULL when the pattern cannot be compiled: a window rule, or a
 * construct FlinkCEP rejects and the checker should have (see nfa.c), or
 * one weir does not support (alternatives that are not single steps, a
 * group ending in `not then`, a repeated group that can match no event,
 * quantifier bounds above WEIR_NFA_MAX_TIMES). Out of memory aborts, as
 * the arena does. The result is freed with weir_nfa_free(). */
weir_nfa *weir_nfa_compile(ast_program *prog, ast_rule *rule);

/* The same, and on failure sets *why (when why is not NULL) to a static
 * English sentence saying what is not supported. */
weir_nfa *weir_nfa_compile_why(ast_program *prog, ast_rule *rule,
                               const char **why);

/* Frees the NFA and everything it owns. Accepts NULL. */
void weir_nfa_free(weir_nfa *nfa);

/* Largest n or m accepted in {n}, {n,m}, {n,}: each unit of a bound is a
 * state (or two), as in Flink's createTimesState. */
#define WEIR_NFA_MAX_TIMES 1000

/* Names for dumps: "start", "take", "where". */
const char *weir_nfa_state_kind_name(weir_nfa_state_kind kind);
const char *weir_nfa_action_name(weir_nfa_action action);
const char *weir_nfa_cond_op_name(weir_nfa_cond_op op);

/* Dumps (nfa_dump.c). `rule` is the rule the NFA was compiled from; it
 * gives the rule's and the steps' names. */

/* For a rule author: a header line with the rule name, the number of
 * states, the `within` and the skip strategy; then each state in order,
 * with its kind and flags, and its edges:
 *     take -> big [big.where]        ignore [!probe.where]
 *     proceed -> big [true]          take -> x [a.where] as a
 * (a self-loop prints no target; `as` names the bound step when it is not
 * the state's own). */
void weir_nfa_dump_text(const weir_nfa *nfa, const ast_rule *rule, FILE *out);

/* A Graphviz digraph: one node per state (final: doublecircle, stop:
 * octagon, pending: diamond), one edge per transition labelled with its
 * action and condition (take: solid, ignore: dashed, proceed: dotted). */
void weir_nfa_dump_dot(const weir_nfa *nfa, const ast_rule *rule, FILE *out);

/* Writes the condition of `edge` in the text dump's notation into buf
 * (always NUL-terminated, truncated to size). Returns buf. */
char *weir_nfa_cond_text(const weir_nfa *nfa, const ast_rule *rule,
                         const weir_nfa_edge *edge, char *buf, size_t size);

#endif
