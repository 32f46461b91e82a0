/* commands.h — the subcommands of the `weir` program. Each takes the
 * arguments after its name and returns the process exit status. */
#ifndef WEIR_SERVER_COMMANDS_H
#define WEIR_SERVER_COMMANDS_H

#include <stddef.h>

#include "weir/ruleset.h"

/* weir check [--dump[=text|dot]] [--no-warnings] [--quiet] PATH... */
int weir_cmd_check(int argc, char **argv);

/* weir run [--events FILE] [--out FILE] [--dead-letter FILE] RULES... */
int weir_cmd_run(int argc, char **argv);

/* weir test [--verbose] RULES... */
int weir_cmd_test(int argc, char **argv);

/* weir serve [-c FILE] [--OPTION VALUE...] [RULES...] (serve.c) */
int weir_cmd_serve(int argc, char **argv);

/* `weir savepoint create|list|delete`: a running server's savepoints.
 * 0 done, 1 the server refused (message printed), 2 usage or no server. */
int weir_cmd_savepoint(int argc, char **argv);

/* Exit statuses shared by every command. */
enum {
    WEIR_EXIT_OK = 0,
    WEIR_EXIT_RULE_ERRORS = 1,
    WEIR_EXIT_USAGE = 2,
};

/* Compiles the rule files of a command that runs them, printing errors
 * (not warnings) on stderr. Returns WEIR_EXIT_OK with *out set, or the
 * exit status to end with (*out NULL). */
int weir_cli_load_rules(char *const *paths, size_t n_paths, weir_ruleset **out);

#endif
