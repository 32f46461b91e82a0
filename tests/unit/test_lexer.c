/* test_lexer.c — tokens, literals and lexical errors, seen through the
 * parser (the lexer has no other public face) and the literal helpers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dsl/parse-internal.h"
#include "helpers.h"

static const char *STREAM = "stream s { a int, s string, d decimal, f float, t time, u duration }\n";

/* Parses `rule r on s by a match x where <cond>` and returns the where. */
static ast_expr *where_of(test_parse **out, const char *cond)
{
    char text[1024];
    snprintf(text, sizeof text, "%srule r on s by a match x where %s\n", STREAM, cond);
    *out = test_parse_text(text);
    cr_assert((*out)->parsed_ok, "did not parse: %s\n%s", cond, (*out)->output);
    return (*out)->prog->rules->pattern->step.where;
}

Test(lexer, durations)
{
    int64_t ms;
    cr_assert(weir_parse_duration("250ms", &ms));
    cr_assert_eq(ms, 250);
    cr_assert(weir_parse_duration("10m", &ms));
    cr_assert_eq(ms, 600000);
    cr_assert(weir_parse_duration("1h30m", &ms));
    cr_assert_eq(ms, 5400000);
    cr_assert(weir_parse_duration("24h", &ms));
    cr_assert_eq(ms, 86400000);
    cr_assert(weir_parse_duration("90d", &ms));
    cr_assert_eq(ms, 90LL * 86400000);
    cr_assert(weir_parse_duration("2w", &ms));
    cr_assert_eq(ms, 14LL * 86400000);
    cr_assert_not(weir_parse_duration("99999999999999999999d", &ms));
    cr_assert(weir_parse_duration("1m30ms", &ms)); /* m, then the smaller ms */
    cr_assert_eq(ms, 60030);
    cr_assert(weir_parse_duration("2w3d4h5m6s7ms", &ms));
    cr_assert_eq(ms, ((((17LL * 24 + 4) * 60 + 5) * 60 + 6) * 1000) + 7);
    cr_assert(weir_parse_duration("0s", &ms));
    cr_assert_eq(ms, 0);
}

Test(lexer, durations_are_strict)
{
    int64_t ms = 42;
    cr_assert_eq(weir_parse_duration_status("30s1h", &ms), WEIR_DURATION_UNIT_ORDER);
    cr_assert_eq(weir_parse_duration_status("1h1h", &ms), WEIR_DURATION_UNIT_ORDER);
    cr_assert_eq(weir_parse_duration_status("10ms5s", &ms), WEIR_DURATION_UNIT_ORDER);
    cr_assert_eq(weir_parse_duration_status("1s1ms1s", &ms), WEIR_DURATION_UNIT_ORDER);
    cr_assert_eq(weir_parse_duration_status("", &ms), WEIR_DURATION_MALFORMED);
    cr_assert_eq(weir_parse_duration_status("5", &ms), WEIR_DURATION_MALFORMED);
    cr_assert_eq(weir_parse_duration_status("5x", &ms), WEIR_DURATION_MALFORMED);
    cr_assert_eq(weir_parse_duration_status("h", &ms), WEIR_DURATION_MALFORMED);
    cr_assert_eq(weir_parse_duration_status("1h30", &ms), WEIR_DURATION_MALFORMED);
    cr_assert_eq(weir_parse_duration_status("99999999999999999999d", &ms), WEIR_DURATION_OVERFLOW);
    cr_assert_eq(weir_parse_duration_status("15250284453w", &ms), WEIR_DURATION_OVERFLOW);
    cr_assert_eq(weir_parse_duration_status("15250284452w", &ms), WEIR_DURATION_OK);
    cr_assert_eq(weir_parse_duration_status("15250284452w1w", &ms), WEIR_DURATION_UNIT_ORDER);
    cr_assert_eq(weir_parse_duration_status("15250284452w4d", &ms), WEIR_DURATION_OVERFLOW);
    ms = 42;
    /* the spelling is judged before the size */
    cr_assert_eq(weir_parse_duration_status("99999999999999999999d1w", &ms), WEIR_DURATION_UNIT_ORDER);
    cr_assert_eq(ms, 42, "a failed parse leaves *ms alone");
    cr_assert_not(weir_parse_duration("30s1h", &ms));
}

Test(lexer, duration_units_out_of_order)
{
    test_parse *t = test_parse_text("rule r on s by a match x within 30s1h\n");
    cr_assert_not(t->parsed_ok);
    cr_assert_str_eq(t->output,
                     "test.weir:1:33: error: invalid duration '30s1h': write each unit once, largest first, as in 1h30m\n"
                     "    rule r on s by a match x within 30s1h\n"
                     "                                    ^~~~~\n");
    test_parse_free(t);
    t = test_parse_text("rule r on s by a match x within 1h1h\n");
    cr_assert(strstr(t->output, "error: invalid duration '1h1h'") != NULL, "%s", t->output);
    test_parse_free(t);
}

Test(lexer, duration_too_large)
{
    test_parse *t = test_parse_text("rule r on s by a match x within 99999999999999999999d\n");
    cr_assert(strstr(t->output, "test.weir:1:33: error: duration '99999999999999999999d' is too large\n") != NULL,
              "%s", t->output);
    test_parse_free(t);
}

Test(lexer, decimals)
{
    int64_t v;
    cr_assert_eq(weir_parse_decimal("2.00", &v), 0);
    cr_assert_eq(v, 20000);
    cr_assert_eq(weir_parse_decimal("0.0001", &v), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(weir_parse_decimal("12.3400000", &v), 0);
    cr_assert_eq(v, 123400);
    cr_assert_eq(weir_parse_decimal("1.23456", &v), 1);
    cr_assert_eq(weir_parse_decimal("9999999999999999.0", &v), 2);
}

Test(lexer, literal_kinds)
{
    test_parse *t;
    ast_expr *e = where_of(&t, "a == 42 or d == 2.50 or f == 1.5e3 or s == \"x\" or u == 10m or true");
    /* left-assoc or: (((((a==42) or ...) or ...) */
    cr_assert_eq(e->kind, AST_EXPR_BINARY);
    cr_assert_eq(e->u.binary.right->kind, AST_EXPR_BOOL);
    ast_expr *l = e->u.binary.left;
    cr_assert_eq(l->u.binary.right->u.binary.right->kind, AST_EXPR_DURATION);
    cr_assert_eq(l->u.binary.right->u.binary.right->u.duration_ms, 600000);
    l = l->u.binary.left;
    cr_assert_str_eq(l->u.binary.right->u.binary.right->u.string_value, "x");
    l = l->u.binary.left;
    cr_assert_eq(l->u.binary.right->u.binary.right->kind, AST_EXPR_FLOAT);
    cr_assert_float_eq(l->u.binary.right->u.binary.right->u.float_value, 1500.0, 1e-9);
    l = l->u.binary.left;
    cr_assert_eq(l->u.binary.right->u.binary.right->kind, AST_EXPR_DECIMAL);
    cr_assert_eq(l->u.binary.right->u.binary.right->u.decimal_value, 25000);
    cr_assert_eq(l->u.binary.left->u.binary.right->u.int_value, 42);
    test_parse_free(t);
}

Test(lexer, string_escapes)
{
    test_parse *t;
    ast_expr *e = where_of(&t, "s == \"a\\\"b\\\\c\\n\\t\\u00e9\"");
    cr_assert_str_eq(e->u.binary.right->u.string_value, "a\"b\\c\n\t\xc3\xa9");
    test_parse_free(t);
}

Test(lexer, comments_and_newlines)
{
    test_parse *t = test_parse_text("# header\nstream s # trailing\n{ a int } # end\n");
    cr_assert(t->parsed_ok, "%s", t->output);
    cr_assert_str_eq(t->prog->streams->name.name, "s");
    test_parse_free(t);
}

Test(lexer, not_in_is_one_operator)
{
    test_parse *t;
    ast_expr *e = where_of(&t, "a not in [1, 2]");
    cr_assert_eq(e->kind, AST_EXPR_IN);
    cr_assert(e->u.in.negated);
    cr_assert_eq(e->u.in.set->u.list.n_items, 2);
    test_parse_free(t);
}

Test(lexer, not_followed_by_name_is_not)
{
    /* `not index` must stay `not` + name, not `not in` + "dex" */
    test_parse *t = test_parse_text("stream s { index bool }\nrule r on s by index match x where not index\n");
    cr_assert(t->parsed_ok, "%s", t->output);
    ast_expr *e = t->prog->rules->pattern->step.where;
    cr_assert_eq(e->kind, AST_EXPR_UNARY);
    cr_assert_str_eq(e->u.unary.operand->u.name.name, "index");
    test_parse_free(t);
}

Test(lexer, soft_keywords_are_names)
{
    test_parse *t = test_parse_text("stream s event time time { time time, event string, timeout int }\n");
    cr_assert(t->parsed_ok, "%s", t->output);
    cr_assert_str_eq(t->prog->streams->time_field.name, "time");
    cr_assert_str_eq(t->prog->streams->fields->name.name, "time");
    cr_assert_str_eq(t->prog->streams->fields->type_name, "time");
    test_parse_free(t);
}

Test(lexer, bad_character)
{
    test_parse *t = test_parse_text("stream s { a int } @\n");
    cr_assert_not(t->parsed_ok);
    cr_assert_str_eq(t->output,
                     "test.weir:1:20: error: unexpected character '@'\n"
                     "    stream s { a int } @\n"
                     "                       ^\n");
    test_parse_free(t);
}

Test(lexer, control_byte)
{
    test_parse *t = test_parse_text("stream s { a int }\x01\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:19: error: unexpected byte 0x01\n"
                     "    stream s { a int }\x01\n"
                     "                      ^\n");
    test_parse_free(t);
}

Test(lexer, unterminated_string)
{
    test_parse *t = test_parse_text("include \"abc\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:9: error: unterminated string\n"
                     "    include \"abc\n"
                     "            ^\n");
    test_parse_free(t);
}

Test(lexer, unterminated_string_at_eof)
{
    test_parse *t = test_parse_text("include \"abc");
    cr_assert_str_eq(t->output,
                     "test.weir:1:9: error: unterminated string\n"
                     "    include \"abc\n"
                     "            ^\n");
    test_parse_free(t);
}

Test(lexer, empty_string_first)
{
    /* the string buffer is still NULL here; under UBSan this once was a
     * memcpy from NULL */
    test_parse *t = test_parse_text("include \"\"\n");
    cr_assert(t->parsed_ok, "%s", t->output);
    cr_assert_str_eq(t->prog->includes->path, "");
    test_parse_free(t);
}

Test(lexer, empty_string_after_others)
{
    test_parse *t = test_parse_text("include \"abc\"\ninclude \"\"\ninclude \"d\"\n");
    cr_assert(t->parsed_ok, "%s", t->output);
    cr_assert_str_eq(t->prog->includes->path, "abc");
    cr_assert_str_eq(t->prog->includes->next->path, "");
    cr_assert_str_eq(t->prog->includes->next->next->path, "d");
    test_parse_free(t);
}

Test(lexer, bad_escape)
{
    /* one error, at the escape; the rest of the string is still a string,
     * so no "unterminated string" follows */
    test_parse *t = test_parse_text("include \"a\\qb\"\nstream s { a int }\n");
    cr_assert_not(t->parsed_ok);
    cr_assert_str_eq(t->output,
                     "test.weir:1:11: error: unknown escape '\\q' in string (use \\\", \\\\, \\n, \\t, \\r or \\uXXXX)\n"
                     "    include \"a\\qb\"\n"
                     "              ^~\n");
    cr_assert_str_eq(t->prog->streams->name.name, "s");
    test_parse_free(t);
}

Test(lexer, bad_escapes_reported_once_per_string)
{
    test_parse *t = test_parse_text("list l = [\"\\q\\z\\u12\", \"\\w\"]\n");
    int errors = 0;
    for (const char *p = t->output; (p = strstr(p, ": error: ")); p++)
        errors++;
    cr_assert_eq(errors, 2, "%s", t->output);
    cr_assert(strstr(t->output, "test.weir:1:12: error: unknown escape '\\q'") != NULL, "%s", t->output);
    cr_assert(strstr(t->output, "test.weir:1:24: error: unknown escape '\\w'") != NULL, "%s", t->output);
    test_parse_free(t);
}

Test(lexer, bad_unicode_escapes)
{
    test_parse *t = test_parse_text("include \"\\u12\"\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:10: error: '\\u' needs 4 hexadecimal digits, as in \\u00e9\n"
                     "    include \"\\u12\"\n"
                     "             ^~\n");
    test_parse_free(t);
    t = test_parse_text("include \"a\\u0000b\"\n");
    cr_assert(strstr(t->output, "test.weir:1:11: error: '\\u0000' is not allowed in a string\n") != NULL,
              "%s", t->output);
    test_parse_free(t);
    t = test_parse_text("include \"\\ud83d\"\n");
    cr_assert(strstr(t->output, "test.weir:1:10: error: '\\ud83d' is half of a UTF-16 surrogate pair") != NULL,
              "%s", t->output);
    test_parse_free(t);
}

Test(lexer, escape_of_a_non_ascii_byte)
{
    test_parse *t = test_parse_text("include \"\\\xc3\xa9\"\n");
    cr_assert(strstr(t->output, "test.weir:1:10: error: unknown escape in string: '\\' followed by byte 0xc3") != NULL,
              "%s", t->output);
    test_parse_free(t);
}

Test(lexer, backslash_newline_is_unterminated)
{
    test_parse *t = test_parse_text("include \"abc\\\n\"\n");
    cr_assert(strstr(t->output, "test.weir:1:9: error: unterminated string\n") != NULL, "%s", t->output);
    test_parse_free(t);
}

Test(lexer, backslash_at_end_of_file)
{
    test_parse *t = test_parse_text("include \"abc\\");
    cr_assert_str_eq(t->output,
                     "test.weir:1:9: error: unterminated string\n"
                     "    include \"abc\\\n"
                     "            ^\n");
    test_parse_free(t);
}

Test(lexer, bad_duration_unit)
{
    test_parse *t = test_parse_text("rule r on s by a match x within 10min\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:33: error: invalid number or duration '10min' (durations use ms, s, m, h, d or w, as in 10m)\n"
                     "    rule r on s by a match x within 10min\n"
                     "                                    ^~~~~\n");
    test_parse_free(t);
}

Test(lexer, too_many_decimals)
{
    test_parse *t;
    t = test_parse_text("rule r on s by a match x where a < 1.23456\n");
    cr_assert(strstr(t->output, "error: decimal literal '1.23456' has more than 4 digits after the point") != NULL,
              "%s", t->output);
    test_parse_free(t);
}

Test(lexer, integer_overflow)
{
    test_parse *t = test_parse_text("rule r on s by a match x where a < 99999999999999999999\n");
    cr_assert(strstr(t->output, "error: integer literal '99999999999999999999' is too large") != NULL,
              "%s", t->output);
    test_parse_free(t);
}

Test(lexer, utf8_columns)
{
    /* the column counts characters, the caret lines up under them */
    test_parse *t = test_parse_text("rule r \"caf\xc3\xa9\" on s by a @\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:25: error: unexpected character '@'\n"
                     "    rule r \"caf\xc3\xa9\" on s by a @\n"
                     "                            ^\n");
    test_parse_free(t);
}
