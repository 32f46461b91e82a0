/* cmd_check.c — `weir check`: compile rule files, print every diagnostic,
 * optionally dump each rule's compiled form.
 *
 * Exit status: 0 when the rules compile (warnings allowed), 1 when any rule
 * error was reported, 2 on a usage error or an unreadable path. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "server/commands.h"
#include "weir/ruleset.h"

struct check_counts {
    unsigned errors, warnings;
};

static void print_diag(void *user, const weir_diagnostic *d)
{
    struct check_counts *c = user;
    if (d->severity == WEIR_DIAG_ERROR)
        c->errors++;
    else if (d->severity == WEIR_DIAG_WARNING)
        c->warnings++;
    fputs(d->rendered, stderr);
}

static void check_usage(FILE *out)
{
    fputs("usage: weir check [--dump[=text|dot]] [--no-warnings] [--quiet] PATH...\n"
          "  PATH is a .weir file or a directory (all .weir files below it, as one rule set)\n"
          "  --dump, --dump=text  print each rule's automaton or window plan\n"
          "  --dump=dot           print each pattern rule's automaton as Graphviz\n"
          "  --no-warnings        report errors only\n"
          "  --quiet              print nothing when all is well\n"
          "exit status: 0 ok, 1 rule errors, 2 usage or I/O error\n",
          out);
}

int weir_cmd_check(int argc, char **argv)
{
    static const struct option options[] = {
        {"dump", optional_argument, NULL, 'd'},
        {"no-warnings", no_argument, NULL, 'w'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool dump = false, quiet = false;
    weir_dump_format format = WEIR_DUMP_TEXT;
    weir_compile_options opt = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hqw", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            dump = true;
            if (!optarg || strcmp(optarg, "text") == 0)
                format = WEIR_DUMP_TEXT;
            else if (strcmp(optarg, "dot") == 0)
                format = WEIR_DUMP_DOT;
            else {
                fprintf(stderr, "weir check: unknown dump format '%s' (use text or dot)\n", optarg);
                return WEIR_EXIT_USAGE;
            }
            break;
        case 'w':
            opt.no_warnings = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            check_usage(stdout);
            return WEIR_EXIT_OK;
        default:
            check_usage(stderr);
            return WEIR_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("weir check: no rule files given\n", stderr);
        check_usage(stderr);
        return WEIR_EXIT_USAGE;
    }

    struct check_counts counts = {0};
    opt.diag = print_diag;
    opt.diag_user = &counts;
    weir_ruleset *rs = NULL;
    weir_compile_status st = weir_ruleset_compile((const char *const *)argv + optind,
                                                  (size_t)(argc - optind), &opt, &rs);
    if (st == WEIR_COMPILE_IO_ERROR)
        return WEIR_EXIT_USAGE;
    if (st != WEIR_COMPILE_OK) {
        fprintf(stderr, "%u error%s, %u warning%s\n", counts.errors,
                counts.errors == 1 ? "" : "s", counts.warnings,
                counts.warnings == 1 ? "" : "s");
        return WEIR_EXIT_RULE_ERRORS;
    }
    int status = WEIR_EXIT_OK;
    if (dump && weir_ruleset_dump(rs, format, stdout) != 0) {
        perror("weir check: writing the dump");
        status = WEIR_EXIT_USAGE;
    }
    if (!quiet && !dump) {
        size_t n = weir_ruleset_rule_count(rs);
        printf("ok: %zu rule%s", n, n == 1 ? "" : "s");
        if (counts.warnings)
            printf(", %u warning%s", counts.warnings, counts.warnings == 1 ? "" : "s");
        printf("\n");
    }
    weir_ruleset_free(rs);
    return status;
}
