/* ruleset.c — the compiler's front door: load, check, compile.
 *
 * weir_ruleset_compile() runs the three stages in order and stops after the
 * first stage that reported an error, so a user sees the errors of the
 * earliest stage (syntax before names before plans) and never a cascade. */
#include <stdlib.h>
#include <string.h>

#include "compile/plan.h"
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

void weir_ruleset_free(weir_ruleset *rs)
{
    if (!rs)
        return;
    free(rs->rules);
    weir_ast_program_free(rs->prog);
    weir_sources_clear(&rs->sources);
    free(rs);
}

static bool compile_rules(weir_ruleset *rs, weir_diags *diags)
{
    (void)diags;
    size_t n = 0;
    for (ast_rule *r = rs->prog->rules; r; r = r->next)
        n++;
    rs->rules = calloc(n ? n : 1, sizeof *rs->rules);
    if (!rs->rules)
        abort();
    for (ast_rule *r = rs->prog->rules; r; r = r->next) {
        weir_rule_plan *plan = &rs->rules[rs->n_rules++];
        plan->ast = r;
    }
    return true;
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

int weir_ruleset_dump(const weir_ruleset *rs, weir_dump_format format, FILE *out)
{
    for (size_t i = 0; i < rs->n_rules; i++) {
        const ast_rule *r = rs->rules[i].ast;
        if (format == WEIR_DUMP_TEXT)
            fprintf(out, "rule %s (%s)\n", r->name.name,
                    r->kind == AST_RULE_PATTERN ? "pattern" : "window");
    }
    return ferror(out) ? -1 : 0;
}
