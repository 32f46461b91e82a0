/* config.c — defaults, then the config file, then the flags; see config.h.
 *
 * The file format: one `key = value` per line, the keys being the long
 * flag names; `#` starts a comment; blank lines are ignored; values may
 * be written in double quotes. `rules = PATH` may appear several times. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

enum kind { K_STR, K_SIZE, K_UINT, K_BOOL };

static const struct opt_spec {
    const char *name;
    enum kind kind;
    const char *def;
    const char *help;
    size_t offset;
} specs[] = {
#define X(name, field, kind, def, help) {name, K_##kind, def, help, offsetof(weir_config, field)},
    WEIR_CONFIG_OPTIONS(X)
#undef X
};
#define N_SPECS (sizeof specs / sizeof specs[0])

static const struct opt_spec *find_spec(const char *name)
{
    for (size_t i = 0; i < N_SPECS; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

static int parse_size(const char *s, uint64_t *out, bool suffixes)
{
    errno = 0;
    char *end;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    uint64_t mult = 1;
    if (suffixes && *end) {
        switch (*end++) {
        case 'k': case 'K': mult = 1024; break;
        case 'm': case 'M': mult = 1024 * 1024; break;
        case 'g': case 'G': mult = 1024 * 1024 * 1024; break;
        default: return -1;
        }
    }
    if (*end || (v > 0 && UINT64_MAX / mult < v))
        return -1;
    *out = (uint64_t)v * mult;
    return 0;
}

static int set_value(weir_config *c, const struct opt_spec *s, const char *value,
                     const char *where, FILE *err)
{
    void *field = (char *)c + s->offset;
    switch (s->kind) {
    case K_STR: {
        char *copy = strdup(value);
        if (!copy) {
            fprintf(err, "weir serve: out of memory\n");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case K_SIZE:
    case K_UINT:
        if (parse_size(value, field, s->kind == K_SIZE) == 0)
            return 0;
        fprintf(err, "weir serve: %s%s: '%s' is not a %s\n", where, s->name, value,
                s->kind == K_SIZE ? "size (as in 64k, 16M)" : "whole number");
        return -1;
    case K_BOOL:
        if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0) {
            *(bool *)field = true;
            return 0;
        }
        if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0) {
            *(bool *)field = false;
            return 0;
        }
        fprintf(err, "weir serve: %s%s: '%s' is not yes or no\n", where, s->name, value);
        return -1;
    }
    return -1;
}

static int add_rule_path(weir_config *c, const char *path, FILE *err)
{
    char **grown = realloc(c->rules, (c->n_rules + 1) * sizeof *grown);
    if (!grown || !(grown[c->n_rules] = strdup(path))) {
        if (grown)
            c->rules = grown;
        fprintf(err, "weir serve: out of memory\n");
        return -1;
    }
    c->rules = grown;
    c->n_rules++;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int load_file(weir_config *c, const char *path, FILE *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(err, "weir serve: cannot read config '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char buf[4096];
    unsigned line_no = 0;
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        line_no++;
        if (!strchr(buf, '\n') && !feof(f)) {
            fprintf(err, "weir serve: %s:%u: line too long\n", path, line_no);
            rc = -1;
            break;
        }
        /* a '#' starts a comment unless it is inside quotes */
        bool quoted = false;
        for (char *p = buf; *p; p++) {
            if (*p == '"')
                quoted = !quoted;
            else if (*p == '#' && !quoted) {
                *p = '\0';
                break;
            }
        }
        char *line = trim(buf);
        if (!*line)
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            fprintf(err, "weir serve: %s:%u: expected 'key = value'\n", path, line_no);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        char where[512];
        snprintf(where, sizeof where, "%s:%u: ", path, line_no);
        if (strcmp(key, "rules") == 0) {
            rc = add_rule_path(c, value, err);
            continue;
        }
        const struct opt_spec *s = find_spec(key);
        if (!s) {
            fprintf(err, "weir serve: %sunknown option '%s'\n", where, key);
            rc = -1;
            break;
        }
        rc = set_value(c, s, value, where, err);
    }
    if (rc == 0 && ferror(f)) {
        fprintf(err, "weir serve: reading '%s': %s\n", path, strerror(errno));
        rc = -1;
    }
    fclose(f);
    return rc;
}

static void usage(FILE *out)
{
    fputs("usage: weir serve [-c FILE] [--OPTION VALUE...] [RULES...]\n"
          "  RULES are .weir files or directories, compiled as one rule set (they\n"
          "  replace the config file's `rules =` lines)\n"
          "  -c, --config FILE    read options from FILE (key = value lines)\n",
          out);
    for (size_t i = 0; i < N_SPECS; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s%s", specs[i].name,
                 specs[i].kind == K_BOOL ? "" : " V");
        fprintf(out, "  %-22s %s", flag, specs[i].help);
        if (specs[i].def && specs[i].kind != K_BOOL)
            fprintf(out, " [%s]", specs[i].def);
        fputc('\n', out);
    }
    fputs("signals: TERM/INT drain and exit 0; HUP reloads the rules and reopens files\n"
          "see weir(1) and doc/http-api.md\n",
          out);
}

void weir_config_free(weir_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < N_SPECS; i++)
        if (specs[i].kind == K_STR)
            free(*(char **)((char *)c + specs[i].offset));
    for (size_t i = 0; i < c->n_rules; i++)
        free(c->rules[i]);
    free(c->rules);
    free(c->config_path);
    memset(c, 0, sizeof *c);
}

int weir_config_load(weir_config *c, int argc, char **argv, FILE *out, FILE *err)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_SPECS; i++)
        if (specs[i].def && set_value(c, &specs[i], specs[i].def, "default ", err) < 0)
            return -1;

    /* The config file comes first so that flags override it, wherever -c
     * stands on the command line. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *path = NULL;
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(a, "--config=", 9) == 0)
            path = a + 9;
        else if (strcmp(a, "--") == 0)
            break;
        if (path) {
            free(c->config_path);
            if (!(c->config_path = strdup(path)))
                return -1;
        }
    }
    if (c->config_path && load_file(c, c->config_path, err) < 0)
        return -1;

    struct option longopts[N_SPECS + 3];
    for (size_t i = 0; i < N_SPECS; i++)
        longopts[i] = (struct option){specs[i].name,
                                      specs[i].kind == K_BOOL ? no_argument : required_argument,
                                      NULL, 256 + (int)i};
    longopts[N_SPECS] = (struct option){"config", required_argument, NULL, 'c'};
    longopts[N_SPECS + 1] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[N_SPECS + 2] = (struct option){NULL, 0, NULL, 0};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        if (ch == 'c')
            continue;
        if (ch == 'h') {
            usage(out);
            return 1;
        }
        if (ch < 256 || ch >= 256 + (int)N_SPECS) {
            usage(err);
            return -1;
        }
        const struct opt_spec *s = &specs[ch - 256];
        if (set_value(c, s, s->kind == K_BOOL ? "yes" : optarg, "--", err) < 0)
            return -1;
    }
    if (optind < argc) {
        for (size_t i = 0; i < c->n_rules; i++)
            free(c->rules[i]);
        c->n_rules = 0;
        for (int i = optind; i < argc; i++)
            if (add_rule_path(c, argv[i], err) < 0)
                return -1;
    }
    if (c->n_rules == 0) {
        fputs("weir serve: no rule files given (on the command line or as `rules =`)\n", err);
        usage(err);
        return -1;
    }
    if (strcmp(c->log_format, "plain") != 0 && strcmp(c->log_format, "json") != 0) {
        fprintf(err, "weir serve: --log-format must be plain or json, not '%s'\n", c->log_format);
        return -1;
    }
    if (c->max_line < 64 || c->queue_bytes < 2 * c->max_line + 1024) {
        fputs("weir serve: --queue must be over twice --max-line, and --max-line at least 64\n",
              err);
        return -1;
    }
    if (c->shards > 64) {
        fputs("weir serve: --shards must be 0 (one per core) to 64\n", err);
        return -1;
    }
    return 0;
}

int weir_config_split_addr(const char *addr, char *host, size_t host_cap, uint16_t *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return -1;
    const char *h = addr;
    size_t hlen = (size_t)(colon - addr);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= host_cap)
        return -1;
    uint64_t p;
    if (parse_size(colon + 1, &p, false) < 0 || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return 0;
}
