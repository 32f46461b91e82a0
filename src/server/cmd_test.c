/* cmd_test.c — `weir test`: run the examples that come with rule files.
 *
 * Beside a rule file X.weir, a file X.examples holds examples: events, and
 * the alerts those events must raise — no more, no fewer:
 *
 *     example "three probes, then a big purchase elsewhere"
 *     {"card":"c1","amount":1.00,"merchant":"m1","ts":"2026-01-05T10:00:00Z"}
 *     ...
 *     expect card_testing {"card":"c1","probes":3,"spent":600}
 *
 *     example "two probes are not enough"
 *     ...
 *     expect nothing
 *
 * Each example runs on a fresh engine over the whole rule set, to the end
 * of its input (so deadlines and windows fire). Only alerts of the rules
 * declared in X.weir count. `expect RULE BODY` matches an alert of RULE
 * whose body equals BODY (numbers compare by value); `expect RULE` alone
 * matches any alert of RULE. Alerts are matched regardless of order. An
 * event the engine rejects fails the example. The last line printed is
 * "N passed, N failed"; the exit status is 1 when any example failed. */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

#include "server/commands.h"
#include "weir/engine.h"
#include "weir/ruleset.h"

typedef struct expected_alert {
    char *rule;
    char *body;       /* JSON text, NULL: any body */
    unsigned line;
} expected_alert;

typedef struct example {
    char *name;
    unsigned line;
    char **events;
    unsigned *event_lines;
    size_t n_events;
    expected_alert *expect;
    size_t n_expect;
    bool expect_nothing;
} example;

typedef struct actual_alert {
    char *rule;
    char *json;
} actual_alert;

typedef struct run_state {
    const char *const *rules; /* names that count; NULL: all */
    size_t n_rules;
    actual_alert *alerts;
    size_t n_alerts;
    char **problems;
    size_t n_problems;
} run_state;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fputs("weir test: out of memory\n", stderr);
        exit(WEIR_EXIT_USAGE);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fputs("weir test: out of memory\n", stderr);
        exit(WEIR_EXIT_USAGE);
    }
    return d;
}

static void example_free(example *ex)
{
    free(ex->name);
    for (size_t i = 0; i < ex->n_events; i++)
        free(ex->events[i]);
    free(ex->events);
    free(ex->event_lines);
    for (size_t i = 0; i < ex->n_expect; i++) {
        free(ex->expect[i].rule);
        free(ex->expect[i].body);
    }
    free(ex->expect);
    memset(ex, 0, sizeof *ex);
}

static bool counted_rule(const run_state *st, const char *rule)
{
    if (!st->rules)
        return true;
    for (size_t i = 0; i < st->n_rules; i++)
        if (strcmp(st->rules[i], rule) == 0)
            return true;
    return false;
}

static void on_alert(void *user, const weir_alert *a)
{
    run_state *st = user;
    if (!counted_rule(st, a->rule))
        return;
    st->alerts = xrealloc(st->alerts, (st->n_alerts + 1) * sizeof *st->alerts);
    st->alerts[st->n_alerts].rule = xstrdup(a->rule);
    st->alerts[st->n_alerts].json = xstrdup(a->json);
    st->n_alerts++;
}

static void add_problem(run_state *st, const char *text)
{
    st->problems = xrealloc(st->problems, (st->n_problems + 1) * sizeof *st->problems);
    st->problems[st->n_problems++] = xstrdup(text);
}

static void on_rejected(void *user, const weir_rejected *r)
{
    char buf[512];
    snprintf(buf, sizeof buf, "event %llu was set aside (%s): %s", (unsigned long long)r->line,
             r->status, r->reason);
    add_problem(user, buf);
}

/* ------------------------------------------------------------ JSON equality */

static bool json_equal(yajl_val a, yajl_val b)
{
    if (!a || !b)
        return a == b;
    if (YAJL_IS_NUMBER(a) && YAJL_IS_NUMBER(b))
        return strtod(YAJL_GET_NUMBER(a), NULL) == strtod(YAJL_GET_NUMBER(b), NULL);
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case yajl_t_string:
        return strcmp(a->u.string, b->u.string) == 0;
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len)
            return false;
        for (size_t i = 0; i < a->u.object.len; i++) {
            const char *path[2] = {a->u.object.keys[i], NULL};
            yajl_val other = yajl_tree_get(b, path, yajl_t_any);
            if (!other || !json_equal(a->u.object.values[i], other))
                return false;
        }
        return true;
    case yajl_t_array:
        if (a->u.array.len != b->u.array.len)
            return false;
        for (size_t i = 0; i < a->u.array.len; i++)
            if (!json_equal(a->u.array.values[i], b->u.array.values[i]))
                return false;
        return true;
    default:
        return true; /* true, false, null: the type says it all */
    }
}

static bool alert_matches(const expected_alert *x, const actual_alert *a)
{
    if (strcmp(x->rule, a->rule) != 0)
        return false;
    if (!x->body)
        return true;
    yajl_val want = yajl_tree_parse(x->body, NULL, 0);
    yajl_val got = yajl_tree_parse(a->json, NULL, 0);
    const char *path[] = {"body", NULL};
    bool eq = want && got && json_equal(want, yajl_tree_get(got, path, yajl_t_object));
    yajl_tree_free(want);
    yajl_tree_free(got);
    return eq;
}

/* The body of an actual alert, as text, for the report. */
static void print_actual(FILE *out, const actual_alert *a, char mark)
{
    const char *body = strstr(a->json, "\"body\":");
    fprintf(out, "  %c %s ", mark, a->rule);
    if (!body) {
        fprintf(out, "%s\n", a->json);
        return;
    }
    body += 7;
    int depth = 0;
    bool in_string = false;
    for (const char *p = body; *p; p++) {
        fputc(*p, out);
        if (in_string) {
            if (*p == '\\' && p[1])
                fputc(*++p, out);
            else if (*p == '"')
                in_string = false;
        } else if (*p == '"') {
            in_string = true;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            break;
        }
    }
    fputc('\n', out);
}

/* ------------------------------------------------------------ examples files */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

typedef struct suite {
    const weir_ruleset *rs;
    unsigned passed, failed;
    bool verbose;
} suite;

static void run_example(suite *s, const char *path, example *ex, const char *const *rules,
                        size_t n_rules, const char *default_stream)
{
    run_state st = {.rules = rules, .n_rules = n_rules};
    weir_engine_options opt = {
        .default_stream = default_stream,
        .on_alert = on_alert,
        .alert_user = &st,
        .on_dead_letter = on_rejected,
        .dead_letter_user = &st,
        .on_late = on_rejected,
        .late_user = &st,
    };
    weir_engine *e = weir_engine_new(s->rs, &opt);
    if (!e) {
        fputs("weir test: out of memory\n", stderr);
        exit(WEIR_EXIT_USAGE);
    }
    for (size_t i = 0; i < ex->n_events; i++)
        weir_engine_push(e, ex->events[i], strlen(ex->events[i]), ex->event_lines[i]);
    weir_engine_finish(e);
    weir_engine_free(e);

    bool *used = calloc(st.n_alerts + 1, sizeof *used);
    bool *found = calloc(ex->n_expect + 1, sizeof *found);
    if (!used || !found)
        exit(WEIR_EXIT_USAGE);
    bool ok = st.n_problems == 0;
    /* expectations with a body first: a bare `expect RULE` must not take
     * the alert a more precise expectation needs */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < ex->n_expect; i++) {
            if ((pass == 0) != (ex->expect[i].body != NULL))
                continue;
            for (size_t k = 0; k < st.n_alerts && !found[i]; k++)
                if (!used[k] && alert_matches(&ex->expect[i], &st.alerts[k]))
                    used[k] = found[i] = true;
        }
    for (size_t i = 0; i < ex->n_expect; i++)
        ok &= found[i];
    for (size_t k = 0; k < st.n_alerts; k++)
        ok &= used[k];

    if (ok) {
        s->passed++;
        if (s->verbose)
            printf("ok   %s:%u %s\n", path, ex->line, ex->name);
    } else {
        s->failed++;
        printf("FAIL %s:%u %s\n", path, ex->line, ex->name);
        for (size_t i = 0; i < st.n_problems; i++)
            printf("  %s\n", st.problems[i]);
        printf("  expected:\n");
        if (!ex->n_expect)
            printf("    (no alert)\n");
        for (size_t i = 0; i < ex->n_expect; i++)
            printf("  %c %s %s   (line %u)\n", found[i] ? ' ' : '-', ex->expect[i].rule,
                   ex->expect[i].body ? ex->expect[i].body : "(any body)", ex->expect[i].line);
        printf("  actual:\n");
        if (!st.n_alerts)
            printf("    (no alert)\n");
        for (size_t k = 0; k < st.n_alerts; k++)
            print_actual(stdout, &st.alerts[k], used[k] ? ' ' : '+');
    }
    free(used);
    free(found);
    for (size_t k = 0; k < st.n_alerts; k++) {
        free(st.alerts[k].rule);
        free(st.alerts[k].json);
    }
    free(st.alerts);
    for (size_t i = 0; i < st.n_problems; i++)
        free(st.problems[i]);
    free(st.problems);
}

/* Names of the rules declared in rule_path (which is part of the set). */
static size_t rules_of_file(const weir_ruleset *rs, const char *rule_path, const char ***out)
{
    size_t n = 0;
    const char **names = NULL;
    char want[PATH_MAX], have[PATH_MAX];
    if (!realpath(rule_path, want)) {
        *out = NULL;
        return 0;
    }
    for (size_t i = 0; i < weir_ruleset_rule_count(rs); i++) {
        const char *file = weir_ruleset_rule_file(rs, i);
        if (file && realpath(file, have) && strcmp(have, want) == 0) {
            names = xrealloc(names, (n + 1) * sizeof *names);
            names[n++] = weir_ruleset_rule_name(rs, i);
        }
    }
    *out = names;
    return n;
}

/* Runs every example of one file. Returns false when the file is malformed
 * (reported on stderr). */
static bool run_file(suite *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "weir test: cannot read '%s': %s\n", path, strerror(errno));
        return false;
    }
    /* the companion rule file: X.examples -> X.weir */
    char rule_path[4096];
    snprintf(rule_path, sizeof rule_path, "%s", path);
    char *dot = strrchr(rule_path, '.');
    if (dot)
        snprintf(dot, sizeof rule_path - (size_t)(dot - rule_path), ".weir");
    const char **rules = NULL;
    size_t n_rules = rules_of_file(s->rs, rule_path, &rules);
    const char *const *counted = n_rules ? rules : NULL;
    /* when the file's rules all read one stream, its events need not say
     * which stream they belong to */
    const char *default_stream = NULL;
    for (size_t i = 0; i < weir_ruleset_rule_count(s->rs); i++) {
        bool mine = false;
        for (size_t k = 0; k < n_rules; k++)
            mine |= strcmp(rules[k], weir_ruleset_rule_name(s->rs, i)) == 0;
        if (!mine)
            continue;
        const char *one = weir_ruleset_rule_single_stream(s->rs, i);
        if (!one || (default_stream && strcmp(one, default_stream) != 0)) {
            default_stream = NULL;
            break;
        }
        default_stream = one;
    }

    example ex = {0};
    bool have = false, good = true;
    char *buf = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    while (getline(&buf, &cap, f) >= 0) {
        lineno++;
        char *line = trim(buf);
        if (!*line || *line == '#')
            continue;
        if (strncmp(line, "example", 7) == 0 && (line[7] == ' ' || line[7] == '\0')) {
            if (have)
                run_example(s, path, &ex, counted, n_rules, default_stream);
            example_free(&ex);
            char *name = trim(line + 7);
            size_t n = strlen(name);
            if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
                name[n - 1] = '\0';
                name++;
            }
            ex.name = xstrdup(name);
            ex.line = lineno;
            have = true;
        } else if (!have) {
            fprintf(stderr, "%s:%u: error: expected 'example \"name\"' first\n", path, lineno);
            good = false;
            break;
        } else if (*line == '{') {
            ex.events = xrealloc(ex.events, (ex.n_events + 1) * sizeof *ex.events);
            ex.event_lines = xrealloc(ex.event_lines, (ex.n_events + 1) * sizeof *ex.event_lines);
            ex.events[ex.n_events] = xstrdup(line);
            ex.event_lines[ex.n_events++] = lineno;
        } else if (strncmp(line, "expect", 6) == 0 && line[6] == ' ') {
            char *rest = trim(line + 6);
            if (strcmp(rest, "nothing") == 0) {
                ex.expect_nothing = true;
                continue;
            }
            size_t name_len = strcspn(rest, " \t{");
            char *name = strndup(rest, name_len);
            char *body = trim(rest + name_len);
            if (!name)
                exit(WEIR_EXIT_USAGE);
            if (*body) {
                yajl_val v = yajl_tree_parse(body, NULL, 0);
                bool is_obj = YAJL_IS_OBJECT(v);
                yajl_tree_free(v);
                if (!is_obj) {
                    fprintf(stderr, "%s:%u: error: the expected body is not a JSON object\n",
                            path, lineno);
                    good = false;
                }
            }
            bool known = false;
            for (size_t i = 0; i < weir_ruleset_rule_count(s->rs); i++)
                known |= strcmp(weir_ruleset_rule_name(s->rs, i), name) == 0;
            if (!known) {
                fprintf(stderr, "%s:%u: error: no rule named '%s'\n", path, lineno, name);
                good = false;
            }
            ex.expect = xrealloc(ex.expect, (ex.n_expect + 1) * sizeof *ex.expect);
            expected_alert *x = &ex.expect[ex.n_expect++];
            x->rule = name;
            x->body = *body ? xstrdup(body) : NULL;
            x->line = lineno;
        } else {
            fprintf(stderr,
                    "%s:%u: error: expected an event ({...}), 'expect RULE {...}', "
                    "'expect nothing' or 'example \"name\"'\n",
                    path, lineno);
            good = false;
        }
    }
    if (good && have)
        run_example(s, path, &ex, counted, n_rules, default_stream);
    example_free(&ex);
    free(buf);
    free(rules);
    fclose(f);
    return good;
}

/* ------------------------------------------------------------ the command */

typedef struct path_list {
    char **paths;
    size_t n;
} path_list;

static void add_path(path_list *l, const char *p)
{
    l->paths = xrealloc(l->paths, (l->n + 1) * sizeof *l->paths);
    l->paths[l->n++] = xstrdup(p);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Every .examples file below dir, recursively. */
static void find_examples(const char *dir, path_list *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue;
        char path[4096];
        size_t dl = strlen(dir);
        snprintf(path, sizeof path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/",
                 ent->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            find_examples(path, out);
        else if (has_suffix(ent->d_name, ".examples"))
            add_path(out, path);
    }
    closedir(d);
}

static void test_usage(FILE *out)
{
    fputs("usage: weir test [--verbose] RULES...\n"
          "  RULES are .weir files or directories, compiled as one rule set; the examples\n"
          "  are the X.examples beside each X.weir (every .examples file in a directory)\n"
          "  --verbose   list passing examples too\n"
          "the last line is 'N passed, N failed'; exit status 1 when any example fails\n",
          out);
}

int weir_cmd_test(int argc, char **argv)
{
    static const struct option options[] = {
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    suite s = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
        switch (c) {
        case 'v': s.verbose = true; break;
        case 'h': test_usage(stdout); return WEIR_EXIT_OK;
        default: test_usage(stderr); return WEIR_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("weir test: no rule files given\n", stderr);
        test_usage(stderr);
        return WEIR_EXIT_USAGE;
    }
    weir_ruleset *rs = NULL;
    int loaded = weir_cli_load_rules(argv + optind, (size_t)(argc - optind), &rs);
    if (loaded != WEIR_EXIT_OK)
        return loaded;
    s.rs = rs;

    path_list files = {0};
    for (int i = optind; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            find_examples(argv[i], &files);
        } else if (has_suffix(argv[i], ".weir")) {
            char path[4096];
            snprintf(path, sizeof path, "%.*s.examples", (int)(strlen(argv[i]) - 5), argv[i]);
            if (stat(path, &sb) == 0)
                add_path(&files, path);
        }
    }
    qsort(files.paths, files.n, sizeof *files.paths, cmp_str);
    bool good = true;
    for (size_t i = 0; i < files.n; i++) {
        good &= run_file(&s, files.paths[i]);
        free(files.paths[i]);
    }
    free(files.paths);
    weir_ruleset_free(rs);
    if (!files.n)
        fputs("weir test: no .examples files found\n", stderr);
    printf("%u passed, %u failed\n", s.passed, s.failed);
    if (!good)
        return WEIR_EXIT_USAGE;
    return s.failed ? WEIR_EXIT_RULE_ERRORS : WEIR_EXIT_OK;
}
