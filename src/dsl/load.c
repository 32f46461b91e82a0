/* load.c — turns the paths given to weir (files and directories) into one
 * parsed program.
 *
 * Directories are walked recursively and their *.weir files read in byte
 * order of their paths, so every machine loads a rule set the same way. An
 * include is resolved relative to the directory of the file that includes
 * it. Every file is identified by its canonical path (realpath), so a file
 * reached twice — named twice, included by two files, or included in a
 * cycle — is parsed once. */
#include "dsl/load.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dsl/parse.h"

/* Canonical paths of the files already parsed. */
struct seen {
    char **paths;
    size_t n, cap;
};

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
}

/* Returns true when `real` was not seen before, and records it. */
static bool seen_add(struct seen *s, const char *real)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->paths[i], real) == 0)
            return false;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        char **p = realloc(s->paths, s->cap * sizeof *p);
        if (!p)
            abort();
        s->paths = p;
    }
    s->paths[s->n] = strdup(real);
    if (!s->paths[s->n])
        abort();
    s->n++;
    return true;
}

struct loader {
    ast_program *prog;
    weir_sources *sources;
    weir_diags *diags;
    struct seen seen;
    bool io_error;
    unsigned depth; /* include nesting, bounded against runaway includes */
};

enum { MAX_INCLUDE_DEPTH = 64 };

static void load_file(struct loader *l, const char *path, const weir_loc *from);

/* Loads the includes one file declared: from `first` up to and including
 * `last`. Nested loads append their own includes after `last`, and those
 * are resolved by the nested call, relative to their own file. */
static void load_includes(struct loader *l, ast_include *first, ast_include *last,
                          const char *dir)
{
    for (ast_include *inc = first;; inc = inc->next) {
        char *path;
        if (inc->path[0] == '/') {
            path = strdup(inc->path);
        } else {
            size_t n = strlen(dir) + strlen(inc->path) + 2;
            path = malloc(n);
            if (path)
                snprintf(path, n, "%s/%s", dir, inc->path);
        }
        if (!path)
            abort();
        load_file(l, path, &inc->loc);
        free(path);
        if (inc == last)
            break;
    }
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static void parse_loaded(struct loader *l, uint32_t file, const char *path)
{
    ast_include **tail_before = l->prog->includes_tail;
    weir_parse_file(l->prog, l->sources, file, l->diags);
    ast_include *first = *tail_before;
    if (!first)
        return;
    ast_include *last = first;
    while (last->next)
        last = last->next;
    if (l->depth >= MAX_INCLUDE_DEPTH) {
        weir_diag_error(l->diags, first->loc, "includes nested more than %d deep",
                        MAX_INCLUDE_DEPTH);
        return;
    }
    char *dir = dir_of(path);
    if (!dir)
        abort();
    l->depth++;
    load_includes(l, first, last, dir);
    l->depth--;
    free(dir);
}

static void load_file(struct loader *l, const char *path, const weir_loc *from)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        int e = errno;
        if (from)
            weir_diag_error(l->diags, *from, "cannot include '%s': %s", path, strerror(e));
        else
            weir_diag_error_file(l->diags, path, "cannot read: %s", strerror(e));
        if (!from)
            l->io_error = true;
        return;
    }
    if (!seen_add(&l->seen, real))
        return;
    int64_t file = weir_sources_add_file(l->sources, path);
    if (file < 0) {
        int e = errno;
        if (from)
            weir_diag_error(l->diags, *from, "cannot include '%s': %s", path, strerror(e));
        else
            weir_diag_error_file(l->diags, path, "cannot read: %s", strerror(e));
        if (!from)
            l->io_error = true;
        return;
    }
    parse_loaded(l, (uint32_t)file, path);
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_weir_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".weir") == 0;
}

/* Collects every *.weir below `dir` (recursively), sorted. */
static void collect_dir(struct loader *l, const char *dir, char ***out, size_t *n, size_t *cap)
{
    DIR *d = opendir(dir);
    if (!d) {
        weir_diag_error_file(l->diags, dir, "cannot read directory: %s", strerror(errno));
        l->io_error = true;
        return;
    }
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (ent->d_name[0] == '.')
            continue; /* ., .., hidden files and editor droppings */
        size_t len = strlen(dir) + strlen(ent->d_name) + 2;
        char *path = malloc(len);
        if (!path)
            abort();
        snprintf(path, len, "%s%s%s", dir,
                 dir[strlen(dir) - 1] == '/' ? "" : "/", ent->d_name);
        struct stat st;
        if (stat(path, &st) != 0) {
            free(path);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            collect_dir(l, path, out, n, cap);
            free(path);
        } else if (S_ISREG(st.st_mode) && has_weir_suffix(ent->d_name)) {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 16;
                char **p = realloc(*out, *cap * sizeof *p);
                if (!p)
                    abort();
                *out = p;
            }
            (*out)[(*n)++] = path;
        } else {
            free(path);
        }
    }
    closedir(d);
}

static void load_path(struct loader *l, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        weir_diag_error_file(l->diags, path, "cannot read: %s", strerror(errno));
        l->io_error = true;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        load_file(l, path, NULL);
        return;
    }
    char **files = NULL;
    size_t n = 0, cap = 0;
    collect_dir(l, path, &files, &n, &cap);
    qsort(files, n, sizeof *files, compare_strings);
    if (n == 0 && !l->io_error)
        weir_diag_error_file(l->diags, path, "no .weir files in this directory");
    for (size_t i = 0; i < n; i++) {
        load_file(l, files[i], NULL);
        free(files[i]);
    }
    free(files);
}

weir_load_status weir_load_paths(ast_program *prog, weir_sources *sources,
                                 const char *const *paths, size_t n_paths,
                                 weir_diags *diags)
{
    struct loader l = {.prog = prog, .sources = sources, .diags = diags};
    unsigned errors_before = diags->n_errors;
    for (size_t i = 0; i < n_paths; i++)
        load_path(&l, paths[i]);
    seen_free(&l.seen);
    if (l.io_error)
        return WEIR_LOAD_IO_ERROR;
    return diags->n_errors > errors_before ? WEIR_LOAD_RULE_ERRORS : WEIR_LOAD_OK;
}

weir_load_status weir_load_text(ast_program *prog, weir_sources *sources,
                                const char *name, const char *text, size_t len,
                                weir_diags *diags)
{
    struct loader l = {.prog = prog, .sources = sources, .diags = diags};
    unsigned errors_before = diags->n_errors;
    uint32_t file = weir_sources_add_text(sources, name, text, len);
    parse_loaded(&l, file, ".");
    seen_free(&l.seen);
    if (l.io_error)
        return WEIR_LOAD_IO_ERROR;
    return diags->n_errors > errors_before ? WEIR_LOAD_RULE_ERRORS : WEIR_LOAD_OK;
}
