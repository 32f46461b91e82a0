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

static uint64_t fnv_mix(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t weir_ruleset_rule_fingerprint(const weir_ruleset *rs, size_t i)
{
    if (i >= rs->n_rules)
        return 0;
    const ast_rule *r = rs->rules[i].ast;
    uint64_t h = 0xcbf29ce484222325ULL;
    const weir_source_file *f = &rs->sources.files[r->loc.file];
    if (r->loc.end <= f->len && r->loc.begin <= r->loc.end)
        h = fnv_mix(h, f->text + r->loc.begin, r->loc.end - r->loc.begin);
    /* the layout of what it reads: its state stores events by field index */
    for (const ast_input *in = r->inputs; in; in = in->next) {
        const ast_stream *s = in->stream;
        h = fnv_mix(h, "\0stream", 7);
        h = fnv_mix(h, s->name.name, strlen(s->name.name));
        for (const ast_field *fd = s->fields; fd; fd = fd->next) {
            unsigned char t = (unsigned char)fd->type;
            h = fnv_mix(h, "\0", 1);
            h = fnv_mix(h, fd->name.name, strlen(fd->name.name));
            h = fnv_mix(h, &t, 1);
        }
    }
    return h;
}
