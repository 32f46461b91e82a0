/* ruleset_info.c — what a server needs to know about a rule set beyond
 * running it: the sinks it declares (weir_ruleset_sink), the fields rules
 * key by (weir_ruleset_rule_key, weir_ruleset_stream_key), the Kafka topic
 * each stream reads, and a fingerprint of each rule; all read off the
 * checked tree and the source text. The checker has already verified every
 * option's shape, so this only picks the values out. */
#include <ctype.h>
#include <stdint.h>
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
        if (strcmp(o->name.name, "transactional") == 0)
            out->transactional = true; /* a flag: no value */
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

const char *weir_ruleset_stream_key(const weir_ruleset *rs, size_t i, size_t *conflict)
{
    if (conflict)
        *conflict = SIZE_MAX;
    if (i >= rs->n_streams)
        return NULL;
    const char *key = NULL;
    for (size_t r = 0; r < rs->n_rules; r++) {
        for (const ast_input *in = rs->rules[r].ast->inputs; in; in = in->next) {
            if (in->stream != rs->streams[i])
                continue;
            if (key && strcmp(key, in->key_field.name) != 0) {
                if (conflict)
                    *conflict = r;
                return NULL;
            }
            key = in->key_field.name;
        }
    }
    return key;
}

const char *weir_ruleset_stream_topic(const weir_ruleset *rs, size_t i)
{
    if (i >= rs->n_streams || rs->streams[i]->source != AST_SOURCE_KAFKA)
        return NULL;
    return rs->streams[i]->source_arg;
}

size_t weir_ruleset_topic_stream(const weir_ruleset *rs, const char *topic)
{
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < rs->n_streams; i++) {
        const char *t = weir_ruleset_stream_topic(rs, i);
        if (!t || strcmp(t, topic) != 0)
            continue;
        if (found != SIZE_MAX)
            return SIZE_MAX; /* two streams on one topic: the events tell */
        found = i;
    }
    return found;
}

/* ---- fingerprints --------------------------------------------------- */

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t fnv_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * FNV_PRIME;
}

static bool word_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* Hashes the declaration at loc in its canonical form: comments out,
 * strings byte for byte, and of white space only one blank between two
 * word bytes (where it keeps two words apart). */
static uint64_t hash_decl(uint64_t h, const weir_ruleset *rs, weir_loc loc)
{
    if (loc.file >= rs->sources.n_files)
        return h;
    const weir_source_file *f = &rs->sources.files[loc.file];
    const unsigned char *p = (const unsigned char *)f->text;
    size_t end = loc.end < f->len ? loc.end : f->len;
    unsigned char last = 0; /* last byte hashed */
    bool blank = false;     /* white space or a comment since then */
    for (size_t i = loc.begin; i < end; i++) {
        unsigned char c = p[i];
        if (c == '#') {
            while (i + 1 < end && p[i + 1] != '\n')
                i++;
            blank = true;
            continue;
        }
        if (isspace(c)) {
            blank = true;
            continue;
        }
        if (blank && word_byte(last) && word_byte(c))
            h = fnv_byte(h, ' ');
        blank = false;
        h = fnv_byte(h, c);
        last = c;
        if (c == '"') {
            /* a string as written, escapes and all, up to its closing quote */
            for (i++; i < end; i++) {
                h = fnv_byte(h, p[i]);
                if (p[i] == '\\' && i + 1 < end)
                    h = fnv_byte(h, p[++i]);
                else if (p[i] == '"')
                    break;
            }
            last = '"';
        }
    }
    /* a separator, so two declarations never hash as one longer one */
    return fnv_byte(h, 0);
}

uint64_t weir_ruleset_rule_fingerprint(const weir_ruleset *rs, size_t i)
{
    if (i >= rs->n_rules)
        return 0;
    const ast_rule *r = rs->rules[i].ast;
    uint64_t h = hash_decl(FNV_OFFSET, rs, r->loc);
    for (const ast_input *in = r->inputs; in; in = in->next)
        if (in->stream)
            h = hash_decl(h, rs, in->stream->loc);
    return h;
}
