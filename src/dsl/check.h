/* check.h — name resolution and type checking of a whole rule set.
 *
 * weir_check_program() walks every declaration, resolves every name
 * (streams, fields, steps, sinks, lists, functions), gives every expression
 * a type, rejects what cannot run and warns about what is probably a
 * mistake. It reports every problem it finds, not only the first.
 *
 * On success the annotations listed in ast.h as "checker" are filled in and
 * the compiler may rely on them: every expression has a type other than
 * WEIR_T_ERROR, every NAME/FIELD/INDEX has its ref, every call its builtin,
 * every rule its steps[] and every input its stream and key. */
#ifndef WEIR_DSL_CHECK_H
#define WEIR_DSL_CHECK_H

#include <stdbool.h>

#include "dsl/ast.h"
#include "dsl/diag.h"

/* Returns true when no error was reported. */
bool weir_check_program(ast_program *prog, weir_diags *diags);

#endif
