/* list_files.h — the items of reference lists declared `from file "x"`.
 *
 * A list such as `list risky_countries string from file "countries.txt"`
 * is loaded when the rule set is compiled, once, however many rules use
 * it: one item per line, blank lines and lines starting with '#' skipped,
 * surrounding blanks trimmed. A relative path is resolved against the
 * directory of the rule file that declares the list, so a rule directory
 * can be moved as a whole. Items are parsed as the list's element type;
 * a line that is not a valid item is an error at that line of the list
 * file, reported against the declaration. */
#ifndef WEIR_COMPILE_LIST_FILES_H
#define WEIR_COMPILE_LIST_FILES_H

#include "compile/expr.h"
#include "dsl/ast.h"
#include "dsl/diag.h"

typedef struct weir_list_files weir_list_files;

/* A new, empty store that reports to diags (borrowed). Never NULL. */
weir_list_files *weir_list_files_new(const weir_sources *sources, weir_diags *diags);
/* Frees the store and every set it loaded. Accepts NULL. */
void weir_list_files_free(weir_list_files *lf);

/* A weir_expr_list_cb: `user` is the store. Loads the list's file on the
 * first call and returns the same set afterwards; NULL after reporting an
 * error (the error is reported once). */
const weir_value_set *weir_list_files_resolve(const ast_list_decl *list, void *user);

#endif
