/* nfa_dump.c — print a compiled NFA for people: text and Graphviz.
 *
 * The text dump is what `weir` shows a rule author asking "what automaton
 * did my pattern become?", and what the unit tests compare: one header
 * line (rule, number of states, `within`, skip strategy), then every state
 * in the NFA's order (start first, breadth first) with its kind and flags,
 * then its edges in the order Flink adds them. Conditions are printed
 * infix from their postfix programs: `probe.where`, `probe.until`,
 * `group0.until` (a group's until, groups numbered from 0 depth first),
 * `login.stream` (the event comes from login's stream), `true`, joined
 * by `!`, `&&` and `||`.
 *
 * The dot dump draws the same graph; node ids are s0, s1, ... so that state
 * names never need escaping outside labels. */
#include "compile/nfa.h"

#include <string.h>

/* Output to a FILE or into a fixed buffer (always NUL-terminated). */
typedef struct out {
    FILE *f;
    char *buf;
    size_t size, len;
    bool dot; /* escape for a Graphviz quoted string */
} out;

static void put(out *o, const char *s)
{
    for (; *s; s++) {
        if (o->dot && (*s == '"' || *s == '\\')) {
            char esc[3] = {'\\', *s, 0};
            o->dot = false;
            put(o, esc);
            o->dot = true;
            continue;
        }
        if (o->f) {
            fputc(*s, o->f);
        } else if (o->buf && o->len + 1 < o->size) {
            o->buf[o->len++] = *s;
            o->buf[o->len] = 0;
        }
    }
}

static const char *step_name(const ast_rule *rule, uint32_t step)
{
    if (rule && rule->steps && step < rule->n_steps && rule->steps[step]->name.name)
        return rule->steps[step]->name.name;
    return "?";
}

/* Index of the first instruction of the subexpression ending at `end`. */
static uint32_t span_start(const weir_nfa_cond *code, uint32_t end)
{
    switch (code[end].op) {
    case WEIR_COND_NOT:
        return span_start(code, end - 1);
    case WEIR_COND_AND:
    case WEIR_COND_OR: {
        uint32_t right = span_start(code, end - 1);
        return span_start(code, right - 1);
    }
    default:
        return end;
    }
}

static int precedence(uint16_t op)
{
    switch (op) {
    case WEIR_COND_OR: return 1;
    case WEIR_COND_AND: return 2;
    case WEIR_COND_NOT: return 3;
    default: return 4;
    }
}

static void put_cond(out *o, const weir_nfa *nfa, const ast_rule *rule,
                     const weir_nfa_cond *code, uint32_t end, int min_prec)
{
    const weir_nfa_cond *c = &code[end];
    bool paren = precedence(c->op) < min_prec;
    char num[32];
    if (paren)
        put(o, "(");
    switch (c->op) {
    case WEIR_COND_TRUE:
        put(o, "true");
        break;
    case WEIR_COND_WHERE:
    case WEIR_COND_UNTIL:
    case WEIR_COND_STREAM:
        put(o, step_name(rule, c->arg));
        put(o, c->op == WEIR_COND_WHERE ? ".where"
               : c->op == WEIR_COND_UNTIL ? ".until" : ".stream");
        break;
    case WEIR_COND_GROUP_UNTIL:
        snprintf(num, sizeof num, "group%u.until", (unsigned)c->arg);
        put(o, num);
        break;
    case WEIR_COND_NOT:
        put(o, "!");
        put_cond(o, nfa, rule, code, end - 1, 3);
        break;
    case WEIR_COND_AND:
    case WEIR_COND_OR: {
        int prec = precedence(c->op);
        uint32_t right = span_start(code, end - 1);
        put_cond(o, nfa, rule, code, right - 1, prec);
        put(o, c->op == WEIR_COND_AND ? " && " : " || ");
        put_cond(o, nfa, rule, code, end - 1, prec + 1);
        break;
    }
    default:
        put(o, "?");
        break;
    }
    if (paren)
        put(o, ")");
}

static void put_edge_cond(out *o, const weir_nfa *nfa, const ast_rule *rule,
                          const weir_nfa_edge *e)
{
    if (e->cond_len == 0) {
        put(o, "true");
        return;
    }
    put_cond(o, nfa, rule, nfa->conds + e->cond, e->cond_len - 1, 0);
}

char *weir_nfa_cond_text(const weir_nfa *nfa, const ast_rule *rule,
                         const weir_nfa_edge *edge, char *buf, size_t size)
{
    out o = {NULL, buf, size, 0, false};
    if (size)
        buf[0] = 0;
    put_edge_cond(&o, nfa, rule, edge);
    return buf;
}

/* 600000 -> "10m", 5400000 -> "1h30m": the rule language's own spelling. */
static void put_duration(out *o, weir_millis ms)
{
    static const struct { weir_millis ms; const char *unit; } units[] = {
        {604800000, "w"}, {86400000, "d"}, {3600000, "h"},
        {60000, "m"}, {1000, "s"}, {1, "ms"},
    };
    char num[32];
    if (ms <= 0) {
        put(o, "0ms");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms >= units[i].ms) {
            snprintf(num, sizeof num, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            put(o, num);
            ms %= units[i].ms;
        }
    }
}

static void put_summary(out *o, const weir_nfa *nfa, const ast_rule *rule)
{
    if (nfa->has_within) {
        put(o, "within ");
        put_duration(o, nfa->within_ms);
    } else {
        put(o, "no within");
    }
    put(o, ", ");
    put(o, weir_ast_skip_text(nfa->skip));
    if (nfa->skip_step >= 0) {
        put(o, " ");
        put(o, step_name(rule, (uint32_t)nfa->skip_step));
    }
    if (nfa->handle_timeout)
        put(o, ", on timeout");
}

void weir_nfa_dump_text(const weir_nfa *nfa, const ast_rule *rule, FILE *f)
{
    out o = {f, NULL, 0, 0, false};
    char num[32];
    put(&o, "rule ");
    put(&o, rule && rule->name.name ? rule->name.name : "?");
    snprintf(num, sizeof num, ": %u states, ", (unsigned)nfa->n_states);
    put(&o, num);
    put_summary(&o, nfa, rule);
    put(&o, "\n");
    for (uint32_t i = 0; i < nfa->n_states; i++) {
        const weir_nfa_state *s = &nfa->states[i];
        put(&o, "  ");
        put(&o, s->name);
        put(&o, " (");
        put(&o, weir_nfa_state_kind_name(s->kind));
        if (s->looping)
            put(&o, ", looping");
        if (s->greedy)
            put(&o, ", greedy");
        if (s->reluctant)
            put(&o, ", reluctant");
        put(&o, ")\n");
        for (uint32_t k = 0; k < s->n_edges; k++) {
            const weir_nfa_edge *e = &nfa->edges[s->first_edge + k];
            put(&o, "    ");
            put(&o, weir_nfa_action_name(e->action));
            if (e->target != i) {
                put(&o, " -> ");
                put(&o, nfa->states[e->target].name);
            }
            put(&o, " [");
            put_edge_cond(&o, nfa, rule, e);
            put(&o, "]");
            if (e->action == WEIR_NFA_TAKE && e->step != s->step) {
                put(&o, " as ");
                put(&o, e->step >= 0 ? step_name(rule, (uint32_t)e->step) : "?");
            }
            put(&o, "\n");
        }
    }
}

void weir_nfa_dump_dot(const weir_nfa *nfa, const ast_rule *rule, FILE *f)
{
    out o = {f, NULL, 0, 0, false};
    char num[64];
    put(&o, "digraph \"");
    o.dot = true;
    put(&o, rule && rule->name.name ? rule->name.name : "nfa");
    o.dot = false;
    put(&o, "\" {\n  rankdir=LR;\n  label=\"");
    o.dot = true;
    put_summary(&o, nfa, rule);
    o.dot = false;
    put(&o, "\";\n  node [shape=circle];\n  entry [shape=point];\n");
    snprintf(num, sizeof num, "  entry -> s%u;\n", (unsigned)nfa->start);
    put(&o, num);
    for (uint32_t i = 0; i < nfa->n_states; i++) {
        const weir_nfa_state *s = &nfa->states[i];
        snprintf(num, sizeof num, "  s%u [label=\"", (unsigned)i);
        put(&o, num);
        o.dot = true;
        put(&o, s->name);
        if (s->looping) {
            o.dot = false;
            put(&o, "\\n(looping)");
            o.dot = true;
        }
        o.dot = false;
        put(&o, "\"");
        switch (s->kind) {
        case WEIR_NFA_FINAL: put(&o, ", shape=doublecircle"); break;
        case WEIR_NFA_STOP: put(&o, ", shape=octagon"); break;
        case WEIR_NFA_PENDING: put(&o, ", shape=diamond"); break;
        case WEIR_NFA_START: put(&o, ", penwidth=2"); break;
        case WEIR_NFA_NORMAL: break;
        }
        put(&o, "];\n");
    }
    for (uint32_t i = 0; i < nfa->n_states; i++) {
        const weir_nfa_state *s = &nfa->states[i];
        for (uint32_t k = 0; k < s->n_edges; k++) {
            const weir_nfa_edge *e = &nfa->edges[s->first_edge + k];
            snprintf(num, sizeof num, "  s%u -> s%u [label=\"", (unsigned)i,
                     (unsigned)e->target);
            put(&o, num);
            o.dot = true;
            put(&o, weir_nfa_action_name(e->action));
            if (e->action == WEIR_NFA_TAKE && e->step >= 0 && e->step != s->step) {
                put(&o, " as ");
                put(&o, step_name(rule, (uint32_t)e->step));
            }
            o.dot = false;
            put(&o, "\\n");
            o.dot = true;
            put_edge_cond(&o, nfa, rule, e);
            o.dot = false;
            put(&o, "\"");
            if (e->action == WEIR_NFA_IGNORE)
                put(&o, ", style=dashed");
            else if (e->action == WEIR_NFA_PROCEED)
                put(&o, ", style=dotted");
            put(&o, "];\n");
        }
    }
    put(&o, "}\n");
}
