/* load_rules.c — how the commands that run rules (run, test) compile them:
 * errors on stderr, warnings left to `weir check`, and one mapping from the
 * compiler's result to the exit status. */
#include <stdio.h>

#include "server/commands.h"

static void print_errors(void *user, const weir_diagnostic *d)
{
    (void)user;
    if (d->severity == WEIR_DIAG_ERROR)
        fputs(d->rendered, stderr);
}

int weir_cli_load_rules(char *const *paths, size_t n_paths, weir_ruleset **out)
{
    weir_compile_options opt = {.diag = print_errors, .no_warnings = true};
    weir_compile_status st = weir_ruleset_compile((const char *const *)paths, n_paths, &opt, out);
    if (st == WEIR_COMPILE_OK)
        return WEIR_EXIT_OK;
    return st == WEIR_COMPILE_IO_ERROR ? WEIR_EXIT_USAGE : WEIR_EXIT_RULE_ERRORS;
}
