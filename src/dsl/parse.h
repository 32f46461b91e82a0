/* parse.h — the entry point of the flex/bison front end.
 *
 * Parses one file of a weir_sources and appends its declarations to an
 * ast_program. Syntax errors are reported through the diags and parsing
 * resumes at the next declaration, so one run reports every error. */
#ifndef WEIR_DSL_PARSE_H
#define WEIR_DSL_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "dsl/ast.h"
#include "dsl/diag.h"
#include "dsl/source.h"

/* Returns true when the file parsed without a syntax error. Declarations
 * that did parse are in the program either way. */
bool weir_parse_file(ast_program *prog, const weir_sources *sources,
                     uint32_t file, weir_diags *diags);

#endif
