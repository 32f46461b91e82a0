/* check.c — the checker's entry point and its declaration-level checks.
 *
 * weir_check_program() looks at the rule set in four passes, one per kind
 * of declaration: streams (field types, time field, lateness), sinks (kinds,
 * targets and options, driven by one table), lists (item types) and rules
 * (inputs and keys, the window part, emit clauses). Patterns and
 * expressions have their own files; this one also holds the lookups and
 * message helpers all three share (check-internal.h).
 *
 * Names are global to the rule set and declarations may come in any order,
 * so every lookup searches the whole program; lists are short (a rule set
 * has tens to hundreds of declarations), so a linear search is plenty. The
 * first of two declarations with one name is the one every use resolves
 * to; the second is reported.
 *
 * Nothing stops at the first error: every declaration is checked, and a
 * name that did not resolve leaves a NULL annotation that later checks
 * treat as "already reported" rather than as a new problem. */
#include "dsl/check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dsl/check-internal.h"
#include "dsl/suggest.h"

/* ------------------------------------------------------------------ */
/* Lookups and message helpers (check-internal.h)                        */

const ast_stream *weir_check_find_stream(const ast_program *p, const char *name)
{
    for (const ast_stream *s = p->streams; s; s = s->next)
        if (s->name.name && strcmp(s->name.name, name) == 0)
            return s;
    return NULL;
}

const ast_field *weir_check_find_field(const ast_stream *s, const char *name)
{
    if (!s)
        return NULL;
    for (const ast_field *f = s->fields; f; f = f->next)
        if (f->name.name && strcmp(f->name.name, name) == 0)
            return f;
    return NULL;
}

const ast_list_decl *weir_check_find_list(const ast_program *p, const char *name)
{
    for (const ast_list_decl *l = p->lists; l; l = l->next)
        if (l->name.name && strcmp(l->name.name, name) == 0)
            return l;
    return NULL;
}

const ast_step *weir_check_find_step(const ast_rule *r, const char *name)
{
    for (unsigned i = 0; i < r->n_steps; i++)
        if (r->steps[i]->name.name && strcmp(r->steps[i]->name.name, name) == 0)
            return r->steps[i];
    return NULL;
}

const ast_keep_item *weir_check_find_memory(const ast_rule *r, const char *name)
{
    for (const ast_keep_item *m = r->keep.present ? r->keep.items : NULL; m; m = m->next)
        if (m->name.name && strcmp(m->name.name, name) == 0)
            return m;
    return NULL;
}

static const ast_sink *find_sink(const ast_program *p, const char *name)
{
    for (const ast_sink *s = p->sinks; s; s = s->next)
        if (s->name.name && strcmp(s->name.name, name) == 0)
            return s;
    return NULL;
}

const char *weir_check_hint(weir_checker *c, const char *name,
                            const char *const *candidates, size_t n,
                            const char *otherwise)
{
    const char *best = weir_suggest(name, candidates, n);
    if (!best)
        return otherwise;
    return weir_arena_printf(c->prog->arena, " (did you mean '%s'?)", best);
}

const char *const *weir_check_field_names(weir_checker *c, const ast_stream *s,
                                          size_t *n)
{
    const char **names = WEIR_ARENA_ARRAY(c->prog->arena, const char *,
                                          s->n_fields ? s->n_fields : 1);
    size_t i = 0;
    for (const ast_field *f = s->fields; f && i < s->n_fields; f = f->next)
        names[i++] = f->name.name;
    *n = i;
    return names;
}

void weir_check_unknown_field(weir_checker *c, const ast_stream *s, ast_ident name)
{
    size_t n;
    const char *const *names = weir_check_field_names(c, s, &n);
    weir_diag_error(c->diags, name.loc, "unknown field '%s' in stream '%s'%s",
                    name.name, s->name.name,
                    weir_check_hint(c, name.name, names, n, ""));
}

const char *weir_check_duration_text(weir_checker *c, weir_millis ms)
{
    static const struct {
        const char *unit;
        weir_millis ms;
    } units[] = {
        {"w", 7 * 24 * 3600 * 1000LL}, {"d", 24 * 3600 * 1000LL},
        {"h", 3600 * 1000LL}, {"m", 60 * 1000LL}, {"s", 1000}, {"ms", 1},
    };
    if (ms <= 0)
        return weir_arena_printf(c->prog->arena, "%" PRId64 "ms", ms);
    char buf[128];
    size_t len = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ms < units[i].ms)
            continue;
        int w = snprintf(buf + len, sizeof buf - len, "%" PRId64 "%s",
                         ms / units[i].ms, units[i].unit);
        if (w > 0 && (size_t)w < sizeof buf - len)
            len += (size_t)w;
        ms %= units[i].ms;
    }
    return weir_arena_strndup(c->prog->arena, buf, len);
}

const char *weir_check_loc_text(weir_checker *c, weir_loc loc)
{
    const weir_source_file *f = &c->diags->sources->files[loc.file];
    uint32_t end = loc.end < f->len ? loc.end : (uint32_t)f->len;
    uint32_t begin = loc.begin < end ? loc.begin : end;
    return weir_arena_strndup(c->prog->arena, f->text + begin, end - begin);
}

void weir_check_duplicate(weir_checker *c, const char *what, ast_ident dup,
                          ast_ident first)
{
    weir_diag_error(c->diags, dup.loc, "%s '%s' is declared twice", what, dup.name);
    weir_diag_note(c->diags, first.loc, "first declared here");
}

/* ------------------------------------------------------------------ */
/* Duplicate declarations                                               */

static void check_duplicates(weir_checker *c)
{
    const ast_program *p = c->prog;
    for (const ast_stream *s = p->streams; s; s = s->next) {
        const ast_stream *first = weir_check_find_stream(p, s->name.name);
        if (first != s)
            weir_check_duplicate(c, "stream", s->name, first->name);
    }
    for (const ast_sink *s = p->sinks; s; s = s->next) {
        const ast_sink *first = find_sink(p, s->name.name);
        if (first != s)
            weir_check_duplicate(c, "sink", s->name, first->name);
    }
    for (const ast_list_decl *l = p->lists; l; l = l->next) {
        const ast_list_decl *first = weir_check_find_list(p, l->name.name);
        if (first != l)
            weir_check_duplicate(c, "list", l->name, first->name);
    }
    for (const ast_rule *r = p->rules; r; r = r->next) {
        for (const ast_rule *q = p->rules; q != r; q = q->next)
            if (strcmp(q->name.name, r->name.name) == 0) {
                weir_check_duplicate(c, "rule", r->name, q->name);
                break;
            }
    }
}

/* ------------------------------------------------------------------ */
/* Streams                                                              */

/* Spellings of the field types, for did-you-mean; NULL for the internal
 * types, which weir_suggest() skips. */
static const char *const field_type_names[] = {
#define WEIR_FIELD_TYPE_NAME(e, text, field) (field) ? (text) : NULL,
    WEIR_TYPE_LIST(WEIR_FIELD_TYPE_NAME)
#undef WEIR_FIELD_TYPE_NAME
};

static void unknown_type(weir_checker *c, const char *name, weir_loc loc)
{
    weir_diag_error(c->diags, loc, "unknown type '%s'%s", name,
                    weir_check_hint(c, name, field_type_names,
                                    sizeof field_type_names / sizeof field_type_names[0],
                                    " (use int, float, decimal, string, bool, time or duration)"));
}

static void check_stream(weir_checker *c, ast_stream *s)
{
    for (ast_field *f = s->fields; f; f = f->next) {
        if (f->type == WEIR_T_ERROR)
            unknown_type(c, f->type_name, f->type_loc);
        const ast_field *first = weir_check_find_field(s, f->name.name);
        if (first != f) {
            weir_diag_error(c->diags, f->name.loc,
                            "field '%s' is declared twice in stream '%s'",
                            f->name.name, s->name.name);
            weir_diag_note(c->diags, first->name.loc, "first declared here");
        }
    }

    /* The parser keeps the last of `event time` / `processing time`;
     * writing both is a contradiction worth pointing at. */
    bool wrote_processing = s->processing_time_loc.end > s->processing_time_loc.begin;
    if (wrote_processing && s->time_field.name)
        weir_diag_error(c->diags, s->processing_time_loc,
                        "a stream uses 'event time' or 'processing time', not both");

    if (s->event_time && s->time_field.name) {
        const ast_field *tf = weir_check_find_field(s, s->time_field.name);
        if (!tf)
            weir_check_unknown_field(c, s, s->time_field);
        else if (tf->type != WEIR_T_TIME && tf->type != WEIR_T_ERROR)
            weir_diag_error(c->diags, s->time_field.loc,
                            "time field '%s' must be of type time, not %s",
                            tf->name.name, weir_type_name(tf->type));
        else if (tf->type == WEIR_T_TIME)
            s->time_field_ref = tf;
    }

    if (s->has_lateness && !s->event_time)
        weir_diag_error(c->diags, s->lateness_loc,
                        "'lateness' needs 'event time <field>': on processing time no event is late");
}

/* ------------------------------------------------------------------ */
/* Sinks: one table of kinds and one of options drive every check.      */

enum sink_kind_bit { SK_WEBHOOK = 1, SK_KAFKA = 2, SK_FILE = 4, SK_STDOUT = 8 };

static const struct sink_kind {
    const char *name;
    unsigned bit;
    const char *target;  /* what the quoted target is; NULL: none allowed */
    const char *example; /* an example target, for the message */
    const char *options; /* for "unknown option" when nothing is close */
} sink_kinds[] = {
    {"webhook", SK_WEBHOOK, "URL", "https://example.com/hook",
     " (use timeout, retries, sign or header)"},
    {"kafka", SK_KAFKA, "topic", "alerts", " (use transactional or brokers)"},
    {"file", SK_FILE, "path", "alerts.jsonl", " (use rotate)"},
    {"stdout", SK_STDOUT, NULL, NULL, ""},
};

/* The shape of an option's values. */
typedef enum opt_shape {
    OPT_DURATION, /* one duration > 0 */
    OPT_COUNT,    /* one int >= 0 */
    OPT_SIGN,     /* the word hmac, then a string or env() */
    OPT_HEADER,   /* two strings */
    OPT_FLAG,     /* no value */
    OPT_STRING,   /* one string or env() */
} opt_shape;

static const struct sink_option {
    const char *name;
    unsigned kinds;     /* sink_kind_bit mask */
    opt_shape shape;
    bool repeatable;
    const char *usage;  /* "needs <usage>" */
} sink_options[] = {
    {"timeout", SK_WEBHOOK, OPT_DURATION, false, "a duration, as in timeout 2s"},
    {"retries", SK_WEBHOOK, OPT_COUNT, false, "a whole number, as in retries 8"},
    {"sign", SK_WEBHOOK, OPT_SIGN, false,
     "'hmac' and a secret, as in sign hmac env(\"WEBHOOK_SECRET\")"},
    {"header", SK_WEBHOOK, OPT_HEADER, true,
     "a name and a value, as in header \"X-Team\" \"fraud\""},
    {"transactional", SK_KAFKA, OPT_FLAG, false, NULL},
    {"brokers", SK_KAFKA, OPT_STRING, false,
     "the brokers in quotes, as in brokers \"localhost:9092\""},
    {"rotate", SK_FILE, OPT_FLAG, false, NULL},
};

#define N_SINK_OPTIONS (sizeof sink_options / sizeof sink_options[0])

static const struct sink_option *find_option(const char *name, unsigned kind)
{
    for (size_t i = 0; i < N_SINK_OPTIONS; i++)
        if ((sink_options[i].kinds & kind) && strcmp(sink_options[i].name, name) == 0)
            return &sink_options[i];
    return NULL;
}

static bool is_string_value(const ast_expr *v)
{
    return v->type == WEIR_T_STRING && v->kind != AST_EXPR_NAME;
}

/* Checks one option's values against its shape. Each value is typed first
 * so that a bad env() is reported on its own. */
static void check_option_values(weir_checker *c, const struct sink_option *spec,
                                ast_option *o)
{
    bool bad_value = false;
    for (ast_expr *v = o->values; v; v = v->next)
        if (weir_check_option_value(c, v) == WEIR_T_ERROR)
            bad_value = true;
    if (bad_value)
        return;

    if (spec->shape == OPT_FLAG) {
        if (o->n_values)
            weir_diag_error(c->diags, o->values->loc, "option '%s' takes no value",
                            spec->name);
        return;
    }
    unsigned want = spec->shape == OPT_SIGN || spec->shape == OPT_HEADER ? 2 : 1;
    if (o->n_values != want) {
        weir_diag_error(c->diags, o->loc, "option '%s' needs %s", spec->name, spec->usage);
        return;
    }
    const ast_expr *v1 = o->values, *v2 = o->values->next;
    const ast_expr *bad = NULL;
    switch (spec->shape) {
    case OPT_DURATION:
        if (v1->kind != AST_EXPR_DURATION)
            bad = v1;
        else if (v1->u.duration_ms <= 0) {
            weir_diag_error(c->diags, v1->loc, "option '%s' must be greater than zero",
                            spec->name);
            return;
        }
        break;
    case OPT_COUNT:
        if (v1->kind != AST_EXPR_INT)
            bad = v1;
        break;
    case OPT_SIGN:
        if (v1->kind != AST_EXPR_NAME)
            bad = v1;
        else if (strcmp(v1->u.name.name, "hmac") != 0) {
            weir_diag_error(c->diags, v1->loc, "unknown signature '%s' (use hmac)",
                            v1->u.name.name);
            return;
        } else if (!is_string_value(v2))
            bad = v2;
        break;
    case OPT_HEADER:
        if (!is_string_value(v1))
            bad = v1;
        else if (!is_string_value(v2))
            bad = v2;
        break;
    case OPT_STRING:
        if (!is_string_value(v1))
            bad = v1;
        break;
    case OPT_FLAG:
        break;
    }
    if (bad)
        weir_diag_error(c->diags, bad->loc, "option '%s' needs %s", spec->name, spec->usage);
}

static void check_sink(weir_checker *c, ast_sink *s)
{
    const struct sink_kind *kind = NULL;
    const char *kind_names[sizeof sink_kinds / sizeof sink_kinds[0]];
    for (size_t i = 0; i < sizeof sink_kinds / sizeof sink_kinds[0]; i++) {
        kind_names[i] = sink_kinds[i].name;
        if (strcmp(sink_kinds[i].name, s->kind.name) == 0)
            kind = &sink_kinds[i];
    }
    if (!kind) {
        weir_diag_error(c->diags, s->kind.loc, "unknown sink kind '%s'%s", s->kind.name,
                        weir_check_hint(c, s->kind.name, kind_names,
                                        sizeof kind_names / sizeof kind_names[0],
                                        " (use webhook, kafka, file or stdout)"));
        return; /* its options cannot be judged without a kind */
    }

    if (!kind->target) {
        if (s->target)
            weir_diag_error(c->diags, s->target_loc, "a %s sink takes no target",
                            kind->name);
    } else if (!s->target) {
        weir_diag_error(c->diags, s->kind.loc, "a %s sink needs a %s, as in sink %s %s \"%s\"",
                        kind->name, kind->target, s->name.name, kind->name, kind->example);
    } else if (s->target[0] == '\0') {
        weir_diag_error(c->diags, s->target_loc, "the %s of a %s sink cannot be empty",
                        kind->target, kind->name);
    } else if (kind->bit == SK_WEBHOOK && strncmp(s->target, "http://", 7) != 0 &&
               strncmp(s->target, "https://", 8) != 0) {
        weir_diag_error(c->diags, s->target_loc,
                        "a webhook URL must start with http:// or https://");
    }

    if (kind->bit == SK_STDOUT && s->options) {
        weir_diag_error(c->diags, s->options->name.loc, "a stdout sink takes no options");
        return;
    }

    const char *option_names[N_SINK_OPTIONS];
    size_t n_names = 0;
    for (size_t i = 0; i < N_SINK_OPTIONS; i++)
        if (sink_options[i].kinds & kind->bit)
            option_names[n_names++] = sink_options[i].name;

    for (ast_option *o = s->options; o; o = o->next) {
        const struct sink_option *spec = find_option(o->name.name, kind->bit);
        if (!spec) {
            weir_diag_error(c->diags, o->name.loc, "unknown option '%s' for a %s sink%s",
                            o->name.name, kind->name,
                            weir_check_hint(c, o->name.name, option_names, n_names,
                                            kind->options));
            continue;
        }
        if (!spec->repeatable) {
            const ast_option *first = s->options;
            while (first != o && strcmp(first->name.name, o->name.name) != 0)
                first = first->next;
            if (first != o) {
                weir_diag_error(c->diags, o->name.loc, "option '%s' is given twice",
                                o->name.name);
                weir_diag_note(c->diags, first->name.loc, "first given here");
                continue;
            }
        }
        check_option_values(c, spec, o);
    }
}

/* ------------------------------------------------------------------ */
/* Lists                                                                */

static void check_list(weir_checker *c, ast_list_decl *l)
{
    weir_type declared = WEIR_T_ERROR;
    if (l->type_declared) {
        declared = weir_type_from_name(l->type_name);
        if (declared == WEIR_T_ERROR) {
            unknown_type(c, l->type_name, l->type_loc);
            l->elem_type = WEIR_T_ERROR;
            return;
        }
    }

    if (l->from_file) {
        /* The compiler reads the file; here only the type matters. */
        if (!l->type_declared)
            declared = WEIR_T_STRING;
        else if (!weir_type_is_numeric(declared) && declared != WEIR_T_STRING)
            weir_diag_error(c->diags, l->type_loc,
                            "a list read from a file holds int, decimal, float or string, not %s",
                            weir_type_name(declared));
        l->elem_type = declared;
        return;
    }

    weir_type elem = l->items ? weir_check_list_items(c, l->items, declared, l->name.name)
                              : declared;
    if (elem == WEIR_T_ERROR && !l->type_declared && l->items &&
        l->items->u.list.n_items == 0)
        weir_diag_error(c->diags, l->name.loc,
                        "cannot tell the type of the empty list '%s': declare it, as in list %s string = []",
                        l->name.name, l->name.name);
    l->elem_type = l->type_declared ? declared : elem;
}

/* ------------------------------------------------------------------ */
/* Rules                                                                */

static void check_inputs(weir_checker *c, ast_rule *r)
{
    const ast_program *p = c->prog;
    for (ast_input *in = r->inputs; in; in = in->next) {
        const ast_stream *s = weir_check_find_stream(p, in->stream_name.name);
        if (!s) {
            size_t n = 0;
            for (const ast_stream *t = p->streams; t; t = t->next)
                n++;
            const char **names = WEIR_ARENA_ARRAY(p->arena, const char *, n ? n : 1);
            n = 0;
            for (const ast_stream *t = p->streams; t; t = t->next)
                names[n++] = t->name.name;
            weir_diag_error(c->diags, in->stream_name.loc, "unknown stream '%s'%s",
                            in->stream_name.name,
                            weir_check_hint(c, in->stream_name.name, names, n, ""));
            continue;
        }
        in->stream = s;

        const ast_input *first = r->inputs;
        while (first != in && strcmp(first->stream_name.name, in->stream_name.name) != 0)
            first = first->next;
        if (first != in) {
            weir_diag_error(c->diags, in->stream_name.loc,
                            "stream '%s' is listed twice in 'on'", in->stream_name.name);
            weir_diag_note(c->diags, first->stream_name.loc, "first listed here");
        }

        const ast_field *key = weir_check_find_field(s, in->key_field.name);
        if (!key) {
            weir_check_unknown_field(c, s, in->key_field);
            continue;
        }
        if (key->type != WEIR_T_STRING && key->type != WEIR_T_INT) {
            if (key->type != WEIR_T_ERROR)
                weir_diag_error(c->diags, in->key_field.loc,
                                "key field '%s' must be string or int, not %s",
                                key->name.name, weir_type_name(key->type));
            continue;
        }
        in->key = key;
    }

    /* Events of several streams meet in one keyed state: their keys must
     * compare equal, so they must have one type. */
    const ast_input *typed = NULL;
    for (const ast_input *in = r->inputs; in; in = in->next) {
        if (!in->key)
            continue;
        if (!typed) {
            typed = in;
        } else if (in->key->type != typed->key->type) {
            weir_diag_error(c->diags, in->key_field.loc,
                            "the keys of rule '%s' must have one type: '%s.%s' is %s but '%s.%s' is %s",
                            r->name.name, in->stream_name.name, in->key->name.name,
                            weir_type_name(in->key->type), typed->stream_name.name,
                            typed->key->name.name, weir_type_name(typed->key->type));
        }
    }
}

static void check_window_spec(weir_checker *c, const ast_rule *r)
{
    const ast_window *w = &r->window;
    switch (w->kind) {
    case AST_WINDOW_TUMBLING:
    case AST_WINDOW_SLIDING:
        if (w->size_ms <= 0) {
            weir_diag_error(c->diags, w->loc, "window size must be greater than zero");
            break;
        }
        if (w->kind == AST_WINDOW_TUMBLING)
            break;
        if (w->slide_ms <= 0)
            weir_diag_error(c->diags, w->loc, "window slide must be greater than zero");
        else if (w->slide_ms > w->size_ms)
            weir_diag_error(c->diags, w->loc,
                            "window slide %s is longer than the window size %s",
                            weir_check_duration_text(c, w->slide_ms),
                            weir_check_duration_text(c, w->size_ms));
        else if (w->size_ms % w->slide_ms != 0)
            weir_diag_warning(c->diags, w->loc,
                              "window slide %s does not divide the window size %s: events fall into an uneven number of windows",
                              weir_check_duration_text(c, w->slide_ms),
                              weir_check_duration_text(c, w->size_ms));
        break;
    case AST_WINDOW_SESSION:
        if (w->gap_ms <= 0)
            weir_diag_error(c->diags, w->loc, "session gap must be greater than zero");
        break;
    case AST_WINDOW_COUNT:
        if (w->count <= 0) {
            weir_diag_error(c->diags, w->loc, "window size must be greater than zero");
            break;
        }
        if (w->count_slide > w->count)
            weir_diag_error(c->diags, w->loc,
                            "window slide of %" PRId64 " events is more than the window size of %" PRId64 " events",
                            w->count_slide, w->count);
        else if (w->count_slide > 0 && w->count % w->count_slide != 0)
            weir_diag_warning(c->diags, w->loc,
                              "window slide of %" PRId64 " events does not divide the window size of %" PRId64 " events: events fall into an uneven number of windows",
                              w->count_slide, w->count);
        break;
    }
}

static void check_emit(weir_checker *c, const weir_scope *scope, ast_emit *emit)
{
    if (!emit->present)
        return;
    const ast_program *p = c->prog;
    if (emit->n_sinks) {
        emit->sink_refs = WEIR_ARENA_ARRAY(p->arena, const ast_sink *, emit->n_sinks);
        size_t n = 0;
        for (const ast_sink *s = p->sinks; s; s = s->next)
            n++;
        const char **names = WEIR_ARENA_ARRAY(p->arena, const char *, n ? n : 1);
        n = 0;
        for (const ast_sink *s = p->sinks; s; s = s->next)
            names[n++] = s->name.name;
        for (unsigned i = 0; i < emit->n_sinks; i++) {
            const ast_ident *id = &emit->sinks[i];
            unsigned j = 0;
            while (j < i && strcmp(emit->sinks[j].name, id->name) != 0)
                j++;
            if (j < i) {
                weir_diag_error(c->diags, id->loc, "sink '%s' is listed twice", id->name);
                weir_diag_note(c->diags, emit->sinks[j].loc, "first listed here");
            }
            emit->sink_refs[i] = find_sink(p, id->name);
            if (!emit->sink_refs[i])
                weir_diag_error(c->diags, id->loc, "unknown sink '%s'%s", id->name,
                                weir_check_hint(c, id->name, names, n, ""));
        }
    }
    for (ast_emit_field *f = emit->fields; f; f = f->next) {
        const ast_emit_field *first = emit->fields;
        while (first != f && strcmp(first->name.name, f->name.name) != 0)
            first = first->next;
        if (first != f) {
            weir_diag_error(c->diags, f->name.loc, "alert field '%s' is declared twice",
                            f->name.name);
            weir_diag_note(c->diags, first->name.loc, "first declared here");
        }
        weir_check_expr(c, scope, f->value);
    }
}

static void check_window_rule(weir_checker *c, ast_rule *r)
{
    if (r->n_inputs > 1)
        weir_diag_error(c->diags, r->inputs->next->stream_name.loc,
                        "a window rule reads one stream, but rule '%s' lists %u",
                        r->name.name, r->n_inputs);
    if (r->has_within)
        weir_diag_error(c->diags, r->within_loc,
                        "'within' applies to pattern rules: a window has its own size");
    if (r->skip != AST_SKIP_DEFAULT)
        weir_diag_error(c->diags, r->skip_loc, "'%s' applies to pattern rules only",
                        weir_ast_skip_text(r->skip));
    if (r->on_timeout.present)
        weir_diag_error(c->diags, r->on_timeout.loc,
                        "'on timeout emit' applies to pattern rules only");
    check_window_spec(c, r);

    weir_scope s = {
        .kind = WEIR_SCOPE_WINDOW_FILTER,
        .rule = r,
        .stream = r->inputs->stream,
        .key = r->inputs->key,
    };
    if (r->filter)
        weir_check_condition(c, &s, r->filter);
    s.kind = WEIR_SCOPE_WINDOW_RESULT;
    if (r->when)
        weir_check_condition(c, &s, r->when);
    check_emit(c, &s, &r->emit);
}

/* ------------------------------------------------------------------ */
/* Per-key memory: keep                                                 */

/* Most buckets one key's memory may hold (for / every): the bound on its
 * size, whatever the traffic. */
#define KEEP_MAX_BUCKETS 1000
/* Buckets when `every` is not written: a 90th of `for`, so `for 90d`
 * keeps days. */
#define KEEP_DEFAULT_BUCKETS 90

/* Where the memory's stream comes from: `from S`, or the only input. */
static void keep_stream(weir_checker *c, ast_rule *r)
{
    ast_keep *k = &r->keep;
    if (!k->stream_name.name) {
        if (r->n_inputs > 1)
            weir_diag_error(c->diags, k->keyword_loc,
                            "rule '%s' reads several streams: say whose events the memory keeps, as in keep from %s for 90d",
                            r->name.name, r->inputs->stream_name.name);
        else
            k->stream = r->inputs->stream; /* NULL if unknown: reported */
        return;
    }
    const char *names[64];
    size_t n = 0;
    for (const ast_input *in = r->inputs; in; in = in->next) {
        if (strcmp(in->stream_name.name, k->stream_name.name) == 0) {
            k->stream = in->stream;
            return;
        }
        if (n < sizeof names / sizeof names[0])
            names[n++] = in->stream_name.name;
    }
    weir_diag_error(c->diags, k->stream_name.loc,
                    "'keep from %s': stream '%s' is not an input of rule '%s'%s",
                    k->stream_name.name, k->stream_name.name, r->name.name,
                    weir_check_hint(c, k->stream_name.name, names, n, ""));
}

/* `for` and `every`: how long, and at what granularity. */
static void keep_span(weir_checker *c, ast_keep *k)
{
    if (!k->has_for) {
        weir_diag_error(c->diags, k->keyword_loc,
                        "'keep' needs 'for <duration>': how long each event is remembered, as in keep for 90d");
        return;
    }
    if (k->for_ms <= 0) {
        weir_diag_error(c->diags, k->for_loc, "'for' in 'keep' must be greater than zero");
        return;
    }
    if (!k->has_every) {
        k->bucket_ms = k->for_ms / KEEP_DEFAULT_BUCKETS > 0 ? k->for_ms / KEEP_DEFAULT_BUCKETS : 1;
        return;
    }
    if (k->every_ms <= 0) {
        weir_diag_error(c->diags, k->every_loc, "'every' in 'keep' must be greater than zero");
        return;
    }
    if (k->every_ms > k->for_ms) {
        weir_diag_error(c->diags, k->every_loc,
                        "'%s' is longer than '%s': a bucket cannot outlast the memory",
                        weir_check_loc_text(c, k->every_loc), weir_check_loc_text(c, k->for_loc));
        return;
    }
    if (k->for_ms / k->every_ms > KEEP_MAX_BUCKETS) {
        weir_diag_error(c->diags, k->every_loc,
                        "'keep %s %s' would hold %" PRId64 " buckets per key, more than %d: use a larger 'every'",
                        weir_check_loc_text(c, k->for_loc), weir_check_loc_text(c, k->every_loc),
                        k->for_ms / k->every_ms, KEEP_MAX_BUCKETS);
        return;
    }
    k->bucket_ms = k->every_ms;
}

/* A memory's name must say one thing wherever it is read: not also a
 * field of an input, a step or a list. */
static void keep_names(weir_checker *c, const ast_rule *r)
{
    const ast_keep *k = &r->keep;
    for (const ast_keep_item *m = k->items; m; m = m->next) {
        const char *n = m->name.name;
        const ast_keep_item *first = k->items;
        while (first != m && strcmp(first->name.name, n) != 0)
            first = first->next;
        if (first != m) {
            weir_check_duplicate(c, "memory", m->name, first->name);
            continue;
        }
        for (const ast_input *in = r->inputs; in; in = in->next) {
            const ast_field *f = weir_check_find_field(in->stream, n);
            if (f) {
                weir_diag_error(c->diags, m->name.loc,
                                "memory '%s' has the name of a field of stream '%s': give it another name",
                                n, in->stream->name.name);
                weir_diag_note(c->diags, f->name.loc, "field declared here");
                break;
            }
        }
        const ast_step *st = weir_check_find_step(r, n);
        if (st) {
            weir_diag_error(c->diags, m->name.loc,
                            "memory '%s' has the name of a step of rule '%s': give it another name",
                            n, r->name.name);
            weir_diag_note(c->diags, st->name.loc, "step declared here");
        }
        const ast_list_decl *l = weir_check_find_list(c->prog, n);
        if (l) {
            weir_diag_error(c->diags, m->name.loc,
                            "memory '%s' has the name of a list: give it another name", n);
            weir_diag_note(c->diags, l->name.loc, "list declared here");
        }
    }
}

/* `keep ... { ... }`: before the pattern is checked, so that conditions
 * reading a memory find its type. Items that fail get WEIR_T_ERROR, and
 * reads of them are not reported again. */
static void check_keep(weir_checker *c, ast_rule *r)
{
    ast_keep *k = &r->keep;
    if (!k->present)
        return;
    for (ast_keep_item *m = k->items; m; m = m->next)
        m->type = WEIR_T_ERROR;
    if (r->kind == AST_RULE_WINDOW) {
        weir_diag_error(c->diags, k->keyword_loc,
                        "'keep' applies to pattern rules: a window rule aggregates its own window (to test each event against a memory, use a one-step pattern: match p where ...)");
        return;
    }
    keep_stream(c, r);
    keep_span(c, k);
    if (!k->n_items)
        weir_diag_error(c->diags, k->loc,
                        "'keep' keeps nothing: give it at least one item, as in { seen: count() }");
    keep_names(c, r);
    if (!k->stream)
        return; /* reported: names in the keep mean nothing without it */
    weir_scope s = {
        .kind = WEIR_SCOPE_KEEP,
        .rule = r,
        .stream = k->stream,
    };
    if (k->where)
        weir_check_condition(c, &s, k->where);
    for (ast_keep_item *m = k->items; m; m = m->next)
        weir_check_keep_item(c, &s, m);
}

static void check_rule(weir_checker *c, ast_rule *r)
{
    weir_ast_rule_collect_steps(c->prog, r);
    check_inputs(c, r);

    if (r->has_throttle && r->throttle_ms <= 0)
        weir_diag_error(c->diags, r->throttle_loc, "'throttle' must be greater than zero");
    check_keep(c, r);

    if (r->kind == AST_RULE_WINDOW) {
        check_window_rule(c, r);
        return;
    }

    weir_scope emit_scope;
    weir_check_pattern(c, r, &emit_scope);
    if (r->on_timeout.present && !r->has_within)
        weir_diag_error(c->diags, r->on_timeout.loc,
                        "'on timeout emit' needs 'within': a match only times out at a deadline");
    check_emit(c, &emit_scope, &r->emit);
    check_emit(c, &emit_scope, &r->on_timeout);
}

bool weir_check_program(ast_program *prog, weir_diags *diags)
{
    weir_checker c = {.prog = prog, .diags = diags};
    unsigned errors_before = diags->n_errors;

    check_duplicates(&c);
    for (ast_stream *s = prog->streams; s; s = s->next)
        check_stream(&c, s);
    for (ast_sink *s = prog->sinks; s; s = s->next)
        check_sink(&c, s);
    for (ast_list_decl *l = prog->lists; l; l = l->next)
        check_list(&c, l);
    for (ast_rule *r = prog->rules; r; r = r->next)
        check_rule(&c, r);

    return diags->n_errors == errors_before;
}
