/* diag.h — reporting errors and warnings about rule files.
 *
 * The lexer, parser, loader and checker call weir_diag_error() and friends
 * with a byte-range location; this module is the one place that turns it
 * into "path:line:col: error: message", the source line and a caret, and
 * hands the result to the caller's weir_diag_cb. Nothing stops at the first
 * error: callers report and go on, and look at n_errors at the end. */
#ifndef WEIR_DSL_DIAG_H
#define WEIR_DSL_DIAG_H

#include "dsl/source.h"
#include "weir/diag.h"

typedef struct weir_diags {
    const weir_sources *sources; /* borrowed */
    weir_diag_cb cb;             /* may be NULL: diagnostics are counted only */
    void *user;
    unsigned n_errors;
    unsigned n_warnings;
} weir_diags;

void weir_diags_init(weir_diags *d, const weir_sources *sources,
                     weir_diag_cb cb, void *user);

void weir_diag_error(weir_diags *d, weir_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void weir_diag_warning(weir_diags *d, weir_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A note belongs to the error or warning reported just before it. */
void weir_diag_note(weir_diags *d, weir_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error about a whole file (or none: path NULL), with no line. */
void weir_diag_error_file(weir_diags *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Renders one diagnostic; the common path of the functions above, exposed
 * for tests. Returns a malloc'd string the caller frees. */
char *weir_diag_render(const weir_sources *s, weir_diag_severity sev,
                       weir_loc loc, const char *message);

#endif
