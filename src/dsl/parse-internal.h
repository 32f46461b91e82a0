/* parse-internal.h — state shared by the lexer and the parser of one file,
 * and the small literal-conversion helpers they both use. */
#ifndef WEIR_DSL_PARSE_INTERNAL_H
#define WEIR_DSL_PARSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dsl/ast.h"
#include "dsl/diag.h"
#include "dsl/parse.h"
#include "dsl/source.h"

struct weir_parse_ctx {
    ast_program *prog;            /* where declarations go; borrowed */
    const weir_sources *sources;  /* borrowed */
    weir_diags *diags;            /* borrowed */
    uint32_t file;                /* index of the file being parsed */
    uint32_t offset;              /* lexer position, bytes from the start */
    bool lex_error_reported;      /* the lexer already said what is wrong */
    ast_stream *stream;           /* declaration being parsed, if a stream */
    ast_rule *rule;               /* declaration being parsed, if a rule */
    ast_keep *keep;               /* `keep` clause being parsed: the rule's,
                                     or a throwaway one for a misplaced keep */
    /* string literal being scanned */
    char *string_buf;             /* malloc'd, freed by weir_parse_file */
    size_t string_len, string_cap;
    uint32_t string_begin;
    bool string_bad;              /* an error in it was reported already */
};

/* Durations are digits-and-unit pairs, each unit (w, d, h, m, s, ms) at
 * most once and largest first: "1h30m", "2d12h", "250ms". "30s1h" and
 * "1h1h" are refused rather than summed, because a unit out of place is
 * far more often a typo than a wish. */
typedef enum weir_duration_status {
    WEIR_DURATION_OK,
    WEIR_DURATION_MALFORMED,  /* not digits+unit pairs, or empty */
    WEIR_DURATION_UNIT_ORDER, /* a unit repeated or after a smaller one */
    WEIR_DURATION_OVERFLOW,   /* more than an int64 of milliseconds */
} weir_duration_status;

/* "1h30m" → milliseconds; *ms is set only when the result is OK. */
weir_duration_status weir_parse_duration_status(const char *text, int64_t *ms);
/* The same, true when OK. */
bool weir_parse_duration(const char *text, int64_t *ms);
/* "12.34" → 123400; 0 ok, 1 too many decimals, 2 overflow. */
int weir_parse_decimal(const char *text, int64_t *scaled);
void weir_parse_string_append(struct weir_parse_ctx *ctx, const char *s, size_t n);
void weir_parse_string_append_codepoint(struct weir_parse_ctx *ctx, unsigned cp);

#endif
