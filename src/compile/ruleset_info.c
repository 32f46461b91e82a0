/* ruleset_info.c — what a server needs to know about a rule set beyond
 * running it: the sinks it declares (weir_ruleset_sink) and the field each
 * rule keys by (weir_ruleset_rule_key), read off the checked tree. The
 * checker has already verified every option's shape, so this only picks
 * the values out. */
#include <string.h>

#include "compile/plan.h"
#include "dsl/builtins.h"
#include "weir/ruleset.h"

static const ast_sink *nth_sink(const weir_ruleset *rs, size_t i)
{
    const ast_sink *s = rs->prog->sinks;
    while (s && i--)
        s = s->next;
    return s;
}

size_t weir_ruleset_sink_count(const weir_ruleset *rs)
{
    size_t n = 0;
    for (const ast_sink *s = rs->prog->sinks; s; s = s->next)
        n++;
    return n;
}

void weir_ruleset_sink(const weir_ruleset *rs, size_t i, weir_sink_info *out)
{
    memset(out, 0, sizeof *out);
    out->retries = -1;
    const ast_sink *s = nth_sink(rs, i);
    if (!s)
        return;
    out->name = s->name.name;
    out->kind = s->kind.name;
    out->target = s->target;
    for (const ast_option *o = s->options; o; o = o->next) {
        const ast_expr *v = o->values;
        if (!v)
            continue;
        if (strcmp(o->name.name, "timeout") == 0 && v->kind == AST_EXPR_DURATION) {
            out->timeout_ms = v->u.duration_ms;
        } else if (strcmp(o->name.name, "retries") == 0 && v->kind == AST_EXPR_INT) {
            out->retries = v->u.int_value;
        } else if (strcmp(o->name.name, "brokers") == 0) {
            if (v->kind == AST_EXPR_STRING)
                out->brokers = v->u.string_value;
            else if (v->kind == AST_EXPR_CALL && v->u.call.args &&
                     v->u.call.args->kind == AST_EXPR_STRING)
                out->brokers_env = v->u.call.args->u.string_value;
        } else if (strcmp(o->name.name, "sign") == 0 && v->next) {
            const ast_expr *secret = v->next; /* after the word hmac */
            if (secret->kind == AST_EXPR_STRING)
                out->hmac_secret = secret->u.string_value;
            else if (secret->kind == AST_EXPR_CALL && secret->u.call.args &&
                     secret->u.call.args->kind == AST_EXPR_STRING)
                out->hmac_env = secret->u.call.args->u.string_value;
        }
    }
}

const char *weir_ruleset_rule_key(const weir_ruleset *rs, size_t i)
{
    if (i >= rs->n_rules)
        return NULL;
    const ast_rule *r = rs->rules[i].ast;
    const char *key = NULL;
    for (const ast_input *in = r->inputs; in; in = in->next) {
        if (key && strcmp(key, in->key_field.name) != 0)
            return NULL;
        key = in->key_field.name;
    }
    return key;
}
