/* ast.c — construction of syntax-tree nodes and their names for messages.
 * Every node comes from the program's arena (see ast.h). */
#include "dsl/ast.h"

#include <stdlib.h>

ast_program *weir_ast_program_new(void)
{
    weir_arena *arena = weir_arena_new();
    ast_program *p = WEIR_ARENA_NEW(arena, ast_program);
    p->arena = arena;
    p->streams_tail = &p->streams;
    p->sinks_tail = &p->sinks;
    p->lists_tail = &p->lists;
    p->rules_tail = &p->rules;
    p->includes_tail = &p->includes;
    return p;
}

void weir_ast_program_free(ast_program *p)
{
    if (p)
        weir_arena_free(p->arena); /* p itself lives in the arena */
}

ast_expr *weir_ast_expr(ast_program *p, ast_expr_kind kind, weir_loc loc)
{
    ast_expr *e = WEIR_ARENA_NEW(p->arena, ast_expr);
    e->kind = kind;
    e->loc = loc;
    e->type = WEIR_T_ERROR;
    return e;
}

ast_elem *weir_ast_elem(ast_program *p, ast_elem_kind kind, weir_loc loc)
{
    ast_elem *e = WEIR_ARENA_NEW(p->arena, ast_elem);
    e->kind = kind;
    e->loc = loc;
    e->conn = AST_CONN_FIRST;
    e->quant.min = 1;
    e->quant.max = 1;
    return e;
}

static unsigned count_steps(const ast_elem *e)
{
    unsigned n = 0;
    for (; e; e = e->next) {
        switch (e->kind) {
        case AST_ELEM_STEP: n++; break;
        case AST_ELEM_GROUP: n += count_steps(e->group); break;
        case AST_ELEM_ALT: n += count_steps(e->alts); break;
        }
    }
    return n;
}

static void fill_steps(ast_rule *rule, ast_elem *e)
{
    for (; e; e = e->next) {
        switch (e->kind) {
        case AST_ELEM_STEP:
            e->step.index = rule->n_steps;
            e->step.elem = e;
            rule->steps[rule->n_steps++] = &e->step;
            break;
        case AST_ELEM_GROUP: fill_steps(rule, e->group); break;
        case AST_ELEM_ALT: fill_steps(rule, e->alts); break;
        }
    }
}

void weir_ast_rule_collect_steps(ast_program *p, ast_rule *rule)
{
    if (rule->steps)
        return;
    unsigned n = count_steps(rule->pattern);
    rule->steps = WEIR_ARENA_ARRAY(p->arena, ast_step *, n ? n : 1);
    rule->n_steps = 0;
    fill_steps(rule, rule->pattern);
}

const char *weir_ast_binary_op_text(ast_binary_op op)
{
    switch (op) {
    case AST_BIN_OR: return "or";
    case AST_BIN_AND: return "and";
    case AST_BIN_EQ: return "==";
    case AST_BIN_NE: return "!=";
    case AST_BIN_LT: return "<";
    case AST_BIN_LE: return "<=";
    case AST_BIN_GT: return ">";
    case AST_BIN_GE: return ">=";
    case AST_BIN_ADD: return "+";
    case AST_BIN_SUB: return "-";
    case AST_BIN_MUL: return "*";
    case AST_BIN_DIV: return "/";
    case AST_BIN_MOD: return "%";
    }
    return "?";
}

const char *weir_ast_connector_text(ast_connector conn)
{
    switch (conn) {
    case AST_CONN_FIRST: return "match";
    case AST_CONN_NEXT: return "next";
    case AST_CONN_THEN: return "then";
    case AST_CONN_THEN_ANY: return "then any";
    case AST_CONN_NOT_NEXT: return "not next";
    case AST_CONN_NOT_THEN: return "not then";
    }
    return "?";
}

const char *weir_ast_skip_text(ast_skip_kind skip)
{
    switch (skip) {
    case AST_SKIP_DEFAULT:
    case AST_SKIP_NO_SKIP: return "no skip";
    case AST_SKIP_TO_NEXT: return "skip to next";
    case AST_SKIP_PAST_LAST: return "skip past last";
    case AST_SKIP_TO_FIRST: return "skip to first";
    case AST_SKIP_TO_LAST: return "skip to last";
    }
    return "?";
}

const char *weir_ast_severity_text(ast_severity sev)
{
    switch (sev) {
    case AST_SEVERITY_LOW: return "low";
    case AST_SEVERITY_DEFAULT:
    case AST_SEVERITY_MEDIUM: return "medium";
    case AST_SEVERITY_HIGH: return "high";
    case AST_SEVERITY_CRITICAL: return "critical";
    }
    return "medium";
}

const char *weir_ast_window_kind_text(ast_window_kind k)
{
    switch (k) {
    case AST_WINDOW_TUMBLING: return "tumbling";
    case AST_WINDOW_SLIDING: return "sliding";
    case AST_WINDOW_SESSION: return "session";
    case AST_WINDOW_COUNT: return "count";
    }
    return "?";
}

weir_loc weir_loc_span(weir_loc a, weir_loc b)
{
    weir_loc r = a;
    if (b.file != a.file)
        return a;
    if (b.begin < r.begin)
        r.begin = b.begin;
    if (b.end > r.end)
        r.end = b.end;
    return r;
}
