/* diag.c — renders diagnostics in the one format weir uses everywhere:
 *
 *     path:line:col: error: message
 *         the source line
 *              ^~~~~
 *
 * The caret line copies tabs from the source so the caret stays under the
 * spot whatever the tab width; the ~ run covers the rest of the location's
 * range on that line. */
#include "dsl/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *weir_diag_severity_name(weir_diag_severity severity)
{
    switch (severity) {
    case WEIR_DIAG_ERROR: return "error";
    case WEIR_DIAG_WARNING: return "warning";
    case WEIR_DIAG_NOTE: return "note";
    }
    return "error";
}

void weir_diags_init(weir_diags *d, const weir_sources *sources,
                     weir_diag_cb cb, void *user)
{
    memset(d, 0, sizeof *d);
    d->sources = sources;
    d->cb = cb;
    d->user = user;
}

/* A growable string for building the rendered text. */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            fputs("weir: out of memory\n", stderr);
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static int is_utf8_lead(unsigned char c)
{
    return (c & 0xC0) != 0x80;
}

char *weir_diag_render(const weir_sources *s, weir_diag_severity sev,
                       weir_loc loc, const char *message)
{
    struct buf b = {0};
    const weir_source_file *f = &s->files[loc.file];
    unsigned line, col;
    weir_sources_position(s, loc.file, loc.begin, &line, &col);
    char head[64];
    snprintf(head, sizeof head, ":%u:%u: %s: ", line, col,
             weir_diag_severity_name(sev));
    buf_puts(&b, f->path);
    buf_puts(&b, head);
    buf_puts(&b, message);
    buf_puts(&b, "\n");

    size_t line_len;
    const char *text = weir_sources_line(s, loc.file, line, &line_len);
    buf_puts(&b, "    ");
    buf_put(&b, text, line_len);
    buf_puts(&b, "\n    ");
    size_t at = loc.begin - f->line_starts[line - 1];
    if (at > line_len)
        at = line_len;
    for (size_t i = 0; i < at; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\t')
            buf_put(&b, "\t", 1);
        else if (is_utf8_lead(c))
            buf_put(&b, " ", 1);
    }
    buf_put(&b, "^", 1);
    size_t end = loc.end > loc.begin ? loc.end - f->line_starts[line - 1] : at + 1;
    if (end > line_len)
        end = line_len;
    for (size_t i = at + 1; i < end; i++)
        if (is_utf8_lead((unsigned char)text[i]))
            buf_put(&b, "~", 1);
    buf_puts(&b, "\n");
    return b.p;
}

static void report(weir_diags *d, weir_diag_severity sev, const weir_loc *loc,
                   const char *path, const char *fmt, va_list ap)
{
    char *message = NULL;
    if (vasprintf(&message, fmt, ap) < 0) {
        fputs("weir: out of memory\n", stderr);
        abort();
    }
    if (sev == WEIR_DIAG_ERROR)
        d->n_errors++;
    else if (sev == WEIR_DIAG_WARNING)
        d->n_warnings++;
    if (!d->cb) {
        free(message);
        return;
    }
    weir_diagnostic diag = {.severity = sev, .message = message, .path = path};
    char *rendered = NULL;
    if (loc) {
        diag.path = d->sources->files[loc->file].path;
        weir_sources_position(d->sources, loc->file, loc->begin, &diag.line,
                              &diag.column);
        weir_sources_position(d->sources, loc->file, loc->end, &diag.end_line,
                              &diag.end_column);
        rendered = weir_diag_render(d->sources, sev, *loc, message);
    } else {
        if (asprintf(&rendered, "%s: %s: %s\n", path ? path : "weir",
                     weir_diag_severity_name(sev), message) < 0) {
            fputs("weir: out of memory\n", stderr);
            abort();
        }
    }
    diag.rendered = rendered;
    d->cb(d->user, &diag);
    free(rendered);
    free(message);
}

#define DEFINE_REPORTER(fn, sev)                                         \
    void fn(weir_diags *d, weir_loc loc, const char *fmt, ...)           \
    {                                                                    \
        va_list ap;                                                      \
        va_start(ap, fmt);                                               \
        report(d, sev, &loc, NULL, fmt, ap);                             \
        va_end(ap);                                                      \
    }

DEFINE_REPORTER(weir_diag_error, WEIR_DIAG_ERROR)
DEFINE_REPORTER(weir_diag_warning, WEIR_DIAG_WARNING)
DEFINE_REPORTER(weir_diag_note, WEIR_DIAG_NOTE)

void weir_diag_error_file(weir_diags *d, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, WEIR_DIAG_ERROR, NULL, path, fmt, ap);
    va_end(ap);
}
