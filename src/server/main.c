/* main.c — the `weir` program: dispatches to a subcommand. Everything else
 * lives in libweir and the command files beside this one. */
#include <stdio.h>
#include <string.h>

#include "server/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"check", weir_cmd_check, "compile rule files and report every error"},
    {"run", weir_cmd_run, "run rules over a file of JSON events, write alerts"},
    {"test", weir_cmd_test, "run the examples that come with rule files"},
    {"serve", weir_cmd_serve, "the server: TCP, HTTP and file sources, sinks, HTTP API"},
    {"savepoint", weir_cmd_savepoint, "create, list or delete a running server's savepoints"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: weir COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'weir COMMAND --help' describes a command; see weir(1) and weir-rules(5).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return WEIR_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return WEIR_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("weir %s\n", PACKAGE_VERSION);
        return WEIR_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "weir: unknown command '%s'\n", cmd);
    usage(stderr);
    return WEIR_EXIT_USAGE;
}
