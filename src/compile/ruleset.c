/* ruleset.c — the compiler's front door: load, check, compile.
 *
 * weir_ruleset_compile() runs the three stages in order and stops after the
 * first stage that reported an error, so a user sees the errors of the
 * earliest stage (syntax before names before plans) and never a cascade. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/keep_plan.h"
#include "compile/list_files.h"
#include "compile/nfa.h"
#include "compile/plan.h"
#include "compile/window_plan.h"
#include "dsl/check.h"
#include "dsl/diag.h"
#include "dsl/load.h"

/* Passes diagnostics on to the user's callback, dropping warnings (and the
 * notes attached to them) when the options ask for errors only. */
struct diag_filter {
    const weir_compile_options *opt;
    bool dropping_notes;
};

static void filter_diag(void *user, const weir_diagnostic *d)
{
    struct diag_filter *f = user;
    if (d->severity == WEIR_DIAG_WARNING)
        f->dropping_notes = f->opt->no_warnings;
    else if (d->severity == WEIR_DIAG_ERROR)
        f->dropping_notes = false;
    if (f->dropping_notes)
        return;
    if (f->opt->diag)
        f->opt->diag(f->opt->diag_user, d);
}

static void emit_plan_free(weir_emit_plan *e)
{
    for (unsigned i = 0; i < e->n_fields; i++)
        weir_expr_program_free(e->fields[i].value);
    free(e->fields);
}

static void rule_plan_free(weir_rule_plan *plan)
{
    if (plan->nfa) {
        for (uint32_t i = 0; i < plan->nfa->n_steps && plan->steps; i++) {
            weir_expr_program_free(plan->steps[i].where);
            weir_expr_program_free(plan->steps[i].until);
        }
        for (uint32_t g = 0; g < plan->nfa->n_groups && plan->group_until; g++)
            weir_expr_program_free(plan->group_until[g]);
    }
    free(plan->steps);
    free(plan->group_until);
    emit_plan_free(&plan->emit);
    emit_plan_free(&plan->timeout_emit);
    weir_nfa_free(plan->nfa);
    weir_window_plan_free(plan->window);
    weir_keep_plan_free(plan->keep);
}

weir_ruleset *weir_ruleset_retain(const weir_ruleset *rs)
{
    weir_ruleset *w = (weir_ruleset *)rs; /* the count is not the rules */
    atomic_fetch_add(&w->extra_refs, 1);
    return w;
}

void weir_ruleset_free(weir_ruleset *rs)
{
    if (!rs)
        return;
    unsigned refs = atomic_load(&rs->extra_refs);
    while (refs > 0)
        if (atomic_compare_exchange_weak(&rs->extra_refs, &refs, refs - 1))
            return; /* another owner still has it */
    for (size_t i = 0; i < rs->n_rules; i++)
        rule_plan_free(&rs->rules[i]);
    free(rs->rules);
    free(rs->streams);
    weir_list_files_free(rs->lists);
    weir_ast_program_free(rs->prog);
    weir_sources_clear(&rs->sources);
    free(rs);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

/* Compiles an optional expression; false when it was there and failed. */
static bool compile_opt(const ast_expr *e, const weir_expr_options *opt,
                        weir_expr_program **out)
{
    *out = e ? weir_expr_compile(e, opt) : NULL;
    return !e || *out;
}

static bool compile_emit(const ast_emit *emit, const weir_expr_options *opt,
                         weir_emit_plan *out)
{
    bool ok = true;
    out->fields = xcalloc(emit->n_fields, sizeof *out->fields);
    for (const ast_emit_field *f = emit->fields; f; f = f->next) {
        weir_emit_plan_field *pf = &out->fields[out->n_fields++];
        pf->name = f->name.name;
        ok &= compile_opt(f->value, opt, &pf->value);
    }
    return ok;
}

static unsigned stream_index(const weir_ruleset *rs, const ast_stream *s)
{
    for (size_t i = 0; i < rs->n_streams; i++)
        if (rs->streams[i] == s)
            return (unsigned)i;
    return 0;
}

static bool compile_pattern(weir_ruleset *rs, weir_rule_plan *plan, ast_rule *rule,
                            const weir_expr_options *opt, weir_diags *diags)
{
    const char *why = NULL;
    plan->nfa = weir_nfa_compile_why(rs->prog, rule, &why);
    if (!plan->nfa) {
        weir_diag_error(diags, rule->body_loc, "this pattern cannot be compiled: %s",
                        why ? why : "unsupported construct");
        return false;
    }
    bool ok = true;
    plan->steps = xcalloc(plan->nfa->n_steps, sizeof *plan->steps);
    for (uint32_t i = 0; i < plan->nfa->n_steps; i++) {
        const ast_step *step = rule->steps[i];
        weir_step_plan *sp = &plan->steps[i];
        sp->stream = stream_index(rs, step->stream);
        ok &= compile_opt(step->where, opt, &sp->where);
        if (step->elem && step->elem->kind == AST_ELEM_STEP)
            ok &= compile_opt(step->elem->quant.until, opt, &sp->until);
    }
    plan->group_until = xcalloc(plan->nfa->n_groups, sizeof *plan->group_until);
    for (uint32_t g = 0; g < plan->nfa->n_groups; g++)
        ok &= compile_opt(plan->nfa->groups[g].elem->quant.until, opt, &plan->group_until[g]);
    ok &= compile_emit(&rule->emit, opt, &plan->emit);
    ok &= compile_emit(&rule->on_timeout, opt, &plan->timeout_emit);
    if (rule->keep.present) {
        unsigned errors = diags->n_errors;
        plan->keep = weir_keep_plan_new(&rule->keep, stream_index(rs, rule->keep.stream), opt);
        if (!plan->keep) {
            ok = false;
            if (diags->n_errors == errors) /* out of memory: nothing said yet */
                weir_diag_error(diags, rule->keep.keyword_loc, "this 'keep' cannot be compiled");
        }
    }
    return ok;
}

/* Turns every checked rule into its plan. Reports every failure, not only
 * the first; returns false if any rule failed. */
static bool compile_rules(weir_ruleset *rs, weir_diags *diags)
{
    for (ast_stream *s = rs->prog->streams; s; s = s->next)
        rs->n_streams++;
    rs->streams = xcalloc(rs->n_streams, sizeof *rs->streams);
    size_t k = 0;
    for (ast_stream *s = rs->prog->streams; s; s = s->next)
        rs->streams[k++] = s;

    size_t n = 0;
    for (ast_rule *r = rs->prog->rules; r; r = r->next)
        n++;
    rs->rules = xcalloc(n, sizeof *rs->rules);
    rs->lists = weir_list_files_new(&rs->sources, diags);
    weir_expr_options opt = {
        .diags = diags,
        .list = weir_list_files_resolve,
        .list_user = rs->lists,
    };
    bool ok = true;
    for (ast_rule *r = rs->prog->rules; r; r = r->next) {
        weir_rule_plan *plan = &rs->rules[rs->n_rules++];
        plan->ast = r;
        if (r->kind == AST_RULE_PATTERN) {
            ok &= compile_pattern(rs, plan, r, &opt, diags);
        } else {
            plan->window = weir_window_plan_new(r, &opt);
            ok &= plan->window != NULL;
        }
    }
    return ok;
}

typedef weir_load_status (*load_fn)(weir_ruleset *rs, weir_diags *diags, const void *arg);

static weir_compile_status compile_with(load_fn load, const void *arg,
                                        const weir_compile_options *opt,
                                        weir_ruleset **out)
{
    static const weir_compile_options no_options;
    if (!opt)
        opt = &no_options;
    *out = NULL;
    weir_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        abort();
    weir_sources_init(&rs->sources);
    rs->prog = weir_ast_program_new();
    struct diag_filter filter = {.opt = opt};
    weir_diags diags;
    weir_diags_init(&diags, &rs->sources, filter_diag, &filter);

    weir_load_status ls = load(rs, &diags, arg);
    weir_compile_status status = WEIR_COMPILE_OK;
    if (ls == WEIR_LOAD_IO_ERROR)
        status = WEIR_COMPILE_IO_ERROR;
    else if (ls != WEIR_LOAD_OK)
        status = WEIR_COMPILE_RULE_ERRORS;
    else if (!weir_check_program(rs->prog, &diags))
        status = WEIR_COMPILE_RULE_ERRORS;
    else if (!compile_rules(rs, &diags) || diags.n_errors)
        status = WEIR_COMPILE_RULE_ERRORS;
    if (status != WEIR_COMPILE_OK) {
        weir_ruleset_free(rs);
        return status;
    }
    *out = rs;
    return WEIR_COMPILE_OK;
}

struct paths_arg {
    const char *const *paths;
    size_t n;
};

static weir_load_status load_paths(weir_ruleset *rs, weir_diags *diags, const void *arg)
{
    const struct paths_arg *p = arg;
    return weir_load_paths(rs->prog, &rs->sources, p->paths, p->n, diags);
}

weir_compile_status weir_ruleset_compile(const char *const *paths, size_t n_paths,
                                         const weir_compile_options *opt,
                                         weir_ruleset **out)
{
    struct paths_arg arg = {paths, n_paths};
    return compile_with(load_paths, &arg, opt, out);
}

struct text_arg {
    const char *name, *text;
    size_t len;
};

static weir_load_status load_text(weir_ruleset *rs, weir_diags *diags, const void *arg)
{
    const struct text_arg *t = arg;
    return weir_load_text(rs->prog, &rs->sources, t->name, t->text, t->len, diags);
}

weir_compile_status weir_ruleset_compile_text(const char *name, const char *text,
                                              size_t len,
                                              const weir_compile_options *opt,
                                              weir_ruleset **out)
{
    struct text_arg arg = {name, text, len};
    return compile_with(load_text, &arg, opt, out);
}

size_t weir_ruleset_rule_count(const weir_ruleset *rs)
{
    return rs->n_rules;
}

const char *weir_ruleset_rule_name(const weir_ruleset *rs, size_t i)
{
    return i < rs->n_rules ? rs->rules[i].ast->name.name : NULL;
}

size_t weir_ruleset_stream_count(const weir_ruleset *rs)
{
    return rs->n_streams;
}

const char *weir_ruleset_stream_name(const weir_ruleset *rs, size_t i)
{
    return i < rs->n_streams ? rs->streams[i]->name.name : NULL;
}

const char *weir_ruleset_rule_single_stream(const weir_ruleset *rs, size_t i)
{
    if (i >= rs->n_rules)
        return NULL;
    const ast_input *in = rs->rules[i].ast->inputs;
    return in && !in->next && in->stream ? in->stream->name.name : NULL;
}

const char *weir_ruleset_rule_file(const weir_ruleset *rs, size_t i)
{
    if (i >= rs->n_rules)
        return NULL;
    uint32_t file = rs->rules[i].ast->loc.file;
    return file < rs->sources.n_files ? rs->sources.files[file].path : NULL;
}

static void dump_program(const char *label, const weir_expr_program *p, FILE *out)
{
    if (!p)
        return;
    fprintf(out, "  %s:\n", label);
    weir_expr_dump(p, out);
}

static void dump_pattern(const weir_rule_plan *plan, FILE *out)
{
    const ast_rule *r = plan->ast;
    weir_nfa_dump_text(plan->nfa, r, out);
    char label[160];
    for (uint32_t i = 0; i < plan->nfa->n_steps; i++) {
        const char *name = r->steps[i]->name.name;
        snprintf(label, sizeof label, "%s.where", name);
        dump_program(label, plan->steps[i].where, out);
        snprintf(label, sizeof label, "%s.until", name);
        dump_program(label, plan->steps[i].until, out);
    }
    for (uint32_t g = 0; g < plan->nfa->n_groups; g++) {
        snprintf(label, sizeof label, "group%u.until", (unsigned)g);
        dump_program(label, plan->group_until[g], out);
    }
    for (unsigned i = 0; i < plan->emit.n_fields; i++) {
        snprintf(label, sizeof label, "emit %s", plan->emit.fields[i].name);
        dump_program(label, plan->emit.fields[i].value, out);
    }
    for (unsigned i = 0; i < plan->timeout_emit.n_fields; i++) {
        snprintf(label, sizeof label, "on timeout emit %s", plan->timeout_emit.fields[i].name);
        dump_program(label, plan->timeout_emit.fields[i].value, out);
    }
    if (plan->keep)
        weir_keep_plan_dump(plan->keep, out);
}

int weir_ruleset_dump(const weir_ruleset *rs, weir_dump_format format, FILE *out)
{
    for (size_t i = 0; i < rs->n_rules; i++) {
        const weir_rule_plan *plan = &rs->rules[i];
        if (format == WEIR_DUMP_DOT) {
            if (plan->nfa)
                weir_nfa_dump_dot(plan->nfa, plan->ast, out);
            continue;
        }
        if (i > 0)
            fputc('\n', out);
        if (plan->nfa)
            dump_pattern(plan, out);
        else if (plan->window)
            weir_window_plan_dump(plan->window, out);
    }
    return ferror(out) ? -1 : 0;
}
