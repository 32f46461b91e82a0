/* test_diag.c — the rendering of diagnostics and the source position map. */
#include <criterion/criterion.h>
#include <string.h>

#include "dsl/diag.h"
#include "helpers.h"

static weir_sources src;

static void setup(void)
{
    weir_sources_init(&src);
    weir_sources_add_text(&src, "x.weir", "line one\n\tline two\r\nlast", 24);
}

static void teardown(void)
{
    weir_sources_clear(&src);
}

TestSuite(diag, .init = setup, .fini = teardown);

Test(diag, positions)
{
    unsigned line, col;
    weir_sources_position(&src, 0, 0, &line, &col);
    cr_assert_eq(line, 1);
    cr_assert_eq(col, 1);
    weir_sources_position(&src, 0, 5, &line, &col);
    cr_assert_eq(line, 1);
    cr_assert_eq(col, 6);
    weir_sources_position(&src, 0, 9, &line, &col);
    cr_assert_eq(line, 2);
    cr_assert_eq(col, 1);
    weir_sources_position(&src, 0, 20, &line, &col);
    cr_assert_eq(line, 3);
    cr_assert_eq(col, 1);
}

Test(diag, line_text_strips_cr)
{
    size_t len;
    const char *l = weir_sources_line(&src, 0, 2, &len);
    cr_assert_eq(len, 9);
    cr_assert(strncmp(l, "\tline two", 9) == 0);
}

Test(diag, render_with_tab)
{
    weir_loc loc = {0, 15, 18};
    char *r = weir_diag_render(&src, WEIR_DIAG_ERROR, loc, "bad 'two'");
    cr_assert_str_eq(r, "x.weir:2:7: error: bad 'two'\n"
                        "    \tline two\n"
                        "    \t     ^~~\n");
    free(r);
}

Test(diag, render_warning_and_note)
{
    weir_loc loc = {0, 0, 4};
    char *r = weir_diag_render(&src, WEIR_DIAG_WARNING, loc, "w");
    cr_assert_str_eq(r, "x.weir:1:1: warning: w\n    line one\n    ^~~~\n");
    free(r);
    r = weir_diag_render(&src, WEIR_DIAG_NOTE, loc, "n");
    cr_assert_str_eq(r, "x.weir:1:1: note: n\n    line one\n    ^~~~\n");
    free(r);
}

Test(diag, range_across_lines_underlines_first_line_only)
{
    weir_loc loc = {0, 5, 20};
    char *r = weir_diag_render(&src, WEIR_DIAG_ERROR, loc, "m");
    cr_assert_str_eq(r, "x.weir:1:6: error: m\n    line one\n         ^~~\n");
    free(r);
}

static void count_cb(void *user, const weir_diagnostic *d)
{
    weir_diagnostic *last = user;
    *last = *d;
    last->rendered = NULL;
    last->message = NULL;
}

Test(diag, callback_fields_and_counts)
{
    weir_diags d;
    weir_diagnostic last;
    weir_diags_init(&d, &src, count_cb, &last);
    weir_loc loc = {0, 10, 14};
    weir_diag_error(&d, loc, "e %d", 1);
    cr_assert_eq(last.severity, WEIR_DIAG_ERROR);
    cr_assert_str_eq(last.path, "x.weir");
    cr_assert_eq(last.line, 2);
    cr_assert_eq(last.column, 2);
    cr_assert_eq(last.end_column, 6);
    weir_diag_warning(&d, loc, "w");
    weir_diag_note(&d, loc, "n");
    cr_assert_eq(d.n_errors, 1);
    cr_assert_eq(d.n_warnings, 1);
    cr_assert_eq(last.severity, WEIR_DIAG_NOTE);
}

Test(diag, file_level_error)
{
    weir_diags d;
    weir_diags_init(&d, &src, NULL, NULL);
    weir_diag_error_file(&d, "missing.weir", "cannot read: %s", "No such file or directory");
    cr_assert_eq(d.n_errors, 1);
}

Test(diag, severity_names)
{
    cr_assert_str_eq(weir_diag_severity_name(WEIR_DIAG_ERROR), "error");
    cr_assert_str_eq(weir_diag_severity_name(WEIR_DIAG_WARNING), "warning");
    cr_assert_str_eq(weir_diag_severity_name(WEIR_DIAG_NOTE), "note");
}
