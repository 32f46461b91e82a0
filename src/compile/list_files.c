/* list_files.c — loads `from file` reference lists; see list_files.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/list_files.h"
#include "dsl/parse-internal.h"

typedef struct loaded_list {
    const ast_list_decl *decl;
    weir_value_set *set; /* NULL: loading failed (already reported) */
} loaded_list;

struct weir_list_files {
    const weir_sources *sources;
    weir_diags *diags;
    loaded_list *lists;
    size_t n, cap;
};

weir_list_files *weir_list_files_new(const weir_sources *sources, weir_diags *diags)
{
    weir_list_files *lf = calloc(1, sizeof *lf);
    if (!lf)
        abort();
    lf->sources = sources;
    lf->diags = diags;
    return lf;
}

void weir_list_files_free(weir_list_files *lf)
{
    if (!lf)
        return;
    for (size_t i = 0; i < lf->n; i++)
        weir_value_set_free(lf->lists[i].set);
    free(lf->lists);
    free(lf);
}

/* The path of the list file: as written when absolute, else next to the
 * declaring rule file. Returns a malloc'd string. */
static char *list_path(const weir_list_files *lf, const ast_list_decl *list)
{
    const char *name = list->from_file;
    const char *decl_path = list->loc.file < lf->sources->n_files
                                ? lf->sources->files[list->loc.file].path
                                : NULL;
    const char *slash = decl_path ? strrchr(decl_path, '/') : NULL;
    size_t dir_len = (name[0] != '/' && slash) ? (size_t)(slash - decl_path) + 1 : 0;
    size_t name_len = strlen(name);
    char *path = malloc(dir_len + name_len + 1);
    if (!path)
        abort();
    memcpy(path, decl_path, dir_len);
    memcpy(path + dir_len, name, name_len + 1);
    return path;
}

/* Parses one trimmed, NUL-terminated item as `type`. Returns false when
 * it is not a valid item; string items point into `text`. */
static bool parse_item(weir_type type, const char *text, size_t len, weir_value *out)
{
    char *end = NULL;
    errno = 0;
    switch (type) {
    case WEIR_T_STRING:
        *out = weir_value_string(text, len);
        return true;
    case WEIR_T_INT: {
        long long v = strtoll(text, &end, 10);
        *out = weir_value_int(v);
        return errno == 0 && end == text + len;
    }
    case WEIR_T_FLOAT: {
        double v = strtod(text, &end);
        *out = weir_value_float(v);
        return errno == 0 && end == text + len && isfinite(v);
    }
    case WEIR_T_DECIMAL: {
        int64_t scaled;
        const char *digits = text[0] == '-' ? text + 1 : text;
        size_t n_digits = strspn(digits, "0123456789");
        if (n_digits == 0)
            return false;
        if (digits[n_digits] == '.') {
            size_t n_frac = strspn(digits + n_digits + 1, "0123456789");
            if (n_frac == 0)
                return false;
            n_digits += 1 + n_frac;
        }
        if (digits + n_digits != text + len || weir_parse_decimal(digits, &scaled) != 0)
            return false;
        *out = weir_value_decimal(digits == text ? scaled : -scaled);
        return true;
    }
    case WEIR_T_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
            *out = weir_value_bool(text[0] == 't');
            return true;
        }
        return false;
    case WEIR_T_DURATION: {
        int64_t ms;
        if (!weir_parse_duration(text, &ms))
            return false;
        *out = weir_value_millis(ms);
        return true;
    }
    default:
        return false;
    }
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads the file into a new set, or reports why not and returns NULL. */
static weir_value_set *load_list(weir_list_files *lf, const ast_list_decl *list)
{
    weir_loc at = list->from_loc.end ? list->from_loc : list->loc;
    char *path = list_path(lf, list);
    FILE *f = fopen(path, "r");
    if (!f) {
        weir_diag_error(lf->diags, at, "cannot read list file '%s': %s", path, strerror(errno));
        free(path);
        return NULL;
    }
    weir_value_set *set = weir_value_set_new(list->elem_type);
    if (!set) {
        weir_diag_error(lf->diags, at, "a list of %s cannot be loaded from a file",
                        weir_type_name(list->elem_type));
        fclose(f);
        free(path);
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    unsigned lineno = 0, bad = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *b = line, *e = line + got;
        while (b < e && is_blank(*b))
            b++;
        while (e > b && is_blank(e[-1]))
            e--;
        *e = '\0';
        if (b == e || *b == '#')
            continue;
        weir_value v;
        if (!parse_item(list->elem_type, b, (size_t)(e - b), &v)) {
            if (bad++ == 0)
                weir_diag_error(lf->diags, at, "%s:%u: '%s' is not a valid %s item of list '%s'",
                                path, lineno, b, weir_type_name(list->elem_type),
                                list->name.name);
            continue;
        }
        if (weir_value_set_add(set, &v) != 0)
            abort();
    }
    bool read_error = ferror(f);
    free(line);
    fclose(f);
    if (read_error)
        weir_diag_error(lf->diags, at, "error reading list file '%s'", path);
    free(path);
    if (bad || read_error) {
        weir_value_set_free(set);
        return NULL;
    }
    return set;
}

const weir_value_set *weir_list_files_resolve(const ast_list_decl *list, void *user)
{
    weir_list_files *lf = user;
    for (size_t i = 0; i < lf->n; i++)
        if (lf->lists[i].decl == list)
            return lf->lists[i].set;
    if (!list->from_file)
        return NULL;
    if (lf->n == lf->cap) {
        lf->cap = lf->cap ? lf->cap * 2 : 8;
        lf->lists = realloc(lf->lists, lf->cap * sizeof *lf->lists);
        if (!lf->lists)
            abort();
    }
    loaded_list *l = &lf->lists[lf->n++];
    l->decl = list;
    l->set = load_list(lf, list);
    return l->set;
}
