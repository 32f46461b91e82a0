/* helpers.c — see helpers.h. */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>

#include "dsl/check.h"
#include "dsl/parse.h"

static void collect(void *user, const weir_diagnostic *d)
{
    test_parse *t = user;
    size_t n = strlen(d->rendered);
    t->output = realloc(t->output, t->output_len + n + 1);
    memcpy(t->output + t->output_len, d->rendered, n + 1);
    t->output_len += n;
}

test_parse *test_parse_text(const char *text)
{
    test_parse *t = calloc(1, sizeof *t);
    t->output = calloc(1, 1);
    weir_sources_init(&t->sources);
    uint32_t file = weir_sources_add_text(&t->sources, "test.weir", text, strlen(text));
    weir_diags_init(&t->diags, &t->sources, collect, t);
    t->prog = weir_ast_program_new();
    t->parsed_ok = weir_parse_file(t->prog, &t->sources, file, &t->diags);
    return t;
}

test_parse *test_check_text(const char *text)
{
    test_parse *t = test_parse_text(text);
    if (t->parsed_ok)
        t->checked_ok = weir_check_program(t->prog, &t->diags);
    return t;
}

void test_parse_free(test_parse *t)
{
    if (!t)
        return;
    weir_ast_program_free(t->prog);
    weir_sources_clear(&t->sources);
    free(t->output);
    free(t);
}
