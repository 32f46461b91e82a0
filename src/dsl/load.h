/* load.h — reads rule files and directories into one ast_program.
 *
 * A directory contributes every *.weir file below it, in name order. Each
 * `include "x"` is resolved relative to the including file and read once,
 * however many files include it; include cycles are harmless for the same
 * reason. Unreadable paths are I/O errors (weir check exits 2), as opposed
 * to rule errors (exit 1). */
#ifndef WEIR_DSL_LOAD_H
#define WEIR_DSL_LOAD_H

#include <stddef.h>

#include "dsl/ast.h"
#include "dsl/diag.h"
#include "dsl/source.h"

typedef enum weir_load_status {
    WEIR_LOAD_OK = 0,
    WEIR_LOAD_RULE_ERRORS = 1,
    WEIR_LOAD_IO_ERROR = 2,
} weir_load_status;

weir_load_status weir_load_paths(ast_program *prog, weir_sources *sources,
                                 const char *const *paths, size_t n_paths,
                                 weir_diags *diags);

weir_load_status weir_load_text(ast_program *prog, weir_sources *sources,
                                const char *name, const char *text, size_t len,
                                weir_diags *diags);

#endif
