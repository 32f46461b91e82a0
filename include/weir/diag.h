/* weir/diag.h — diagnostics: how weir tells a person what is wrong with a
 * rule file.
 *
 * Every error and warning, whether it comes from `weir check`, the HTTP API or
 * a test, goes through one callback as a weir_diagnostic. The `rendered`
 * field holds the finished text in the one format weir uses everywhere:
 *
 *     rules/x.weir:9:24: error: unknown field 'amout' in stream 'payments' (did you mean 'amount'?)
 *         then big where amout >= 500
 *                        ^~~~~
 *
 * All pointers in a weir_diagnostic are owned by weir and valid only during
 * the callback: copy what you keep. */
#ifndef WEIR_DIAG_H
#define WEIR_DIAG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum weir_diag_severity {
    WEIR_DIAG_ERROR,
    WEIR_DIAG_WARNING,
    WEIR_DIAG_NOTE, /* more about the diagnostic just before it */
} weir_diag_severity;

typedef struct weir_diagnostic {
    weir_diag_severity severity;
    const char *path;     /* file the diagnostic is about; NULL when none */
    unsigned line;        /* 1-based; 0 when the diagnostic has no location */
    unsigned column;      /* 1-based, in characters (UTF-8 code points) */
    unsigned end_line;    /* position just past the range it points at */
    unsigned end_column;
    const char *message;  /* the message alone, no location or severity */
    const char *rendered; /* "path:line:col: severity: message\n" + line + caret */
} weir_diagnostic;

typedef void (*weir_diag_cb)(void *user, const weir_diagnostic *diag);

/* "error", "warning" or "note". */
const char *weir_diag_severity_name(weir_diag_severity severity);

#ifdef __cplusplus
}
#endif

#endif
