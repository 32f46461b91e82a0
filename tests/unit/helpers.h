/* helpers.h — shared by the unit tests: compile rule text in memory and
 * collect the rendered diagnostics into one string to compare. */
#ifndef WEIR_TESTS_HELPERS_H
#define WEIR_TESTS_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "dsl/ast.h"
#include "dsl/diag.h"
#include "dsl/source.h"

/* A parsed (and optionally checked) rule text plus what was reported. */
typedef struct test_parse {
    weir_sources sources;
    weir_diags diags;
    ast_program *prog;
    char *output;       /* every rendered diagnostic, concatenated; malloc'd */
    size_t output_len;
    bool parsed_ok;
    bool checked_ok;
} test_parse;

/* Parses `text` as file "test.weir"; does not check. */
test_parse *test_parse_text(const char *text);
/* Parses and, when parsing succeeded, runs the checker. */
test_parse *test_check_text(const char *text);
void test_parse_free(test_parse *t);

#endif
