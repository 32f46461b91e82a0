/* ast.h — the syntax tree of a weir rule set.
 *
 * The parser builds it, the checker annotates it (types and name
 * resolution, in the fields marked "checker"), the compiler reads it. Every
 * node carries a weir_loc (file + byte range) so any stage can point at the
 * exact spot. All nodes, strings and arrays live in the program's arena and
 * are freed together by weir_ast_program_free(); nothing in here is freed on
 * its own.
 *
 * Lists inside the tree are singly linked through `next` in source order.
 *
 * The language itself is described in doc/dsl.md; the grammar is in
 * parser.y. */
#ifndef WEIR_DSL_AST_H
#define WEIR_DSL_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "dsl/source.h"
#include "dsl/types.h"
#include "util/arena.h"

/* Durations and times are integers of milliseconds everywhere in weir. */
typedef int64_t weir_millis;

/* Decimal values are fixed point: an int64 of 1/10000ths (4 decimals). */
#define WEIR_DECIMAL_SCALE 10000

typedef struct ast_ident {
    const char *name; /* NULL when absent */
    weir_loc loc;
} ast_ident;

/* ------------------------------------------------------------------ */
/* Expressions                                                          */

typedef enum ast_expr_kind {
    AST_EXPR_INT,      /* 42               u.int_value */
    AST_EXPR_DECIMAL,  /* 2.00             u.decimal_value (scaled) */
    AST_EXPR_FLOAT,    /* 1.5e3            u.float_value */
    AST_EXPR_STRING,   /* "GB"             u.string_value */
    AST_EXPR_BOOL,     /* true / false     u.bool_value */
    AST_EXPR_DURATION, /* 10m              u.duration_ms */
    AST_EXPR_NAME,     /* amount / probe / high_risk_mcc   u.name */
    AST_EXPR_FIELD,    /* big.amount, probe[-1].merchant  u.field */
    AST_EXPR_INDEX,    /* probe[-1]        u.index */
    AST_EXPR_UNARY,    /* -x, not x        u.unary */
    AST_EXPR_BINARY,   /* a + b, a and b   u.binary */
    AST_EXPR_IN,       /* x in list, x not in [..]  u.in */
    AST_EXPR_LIST,     /* [1, 2, 3]        u.list */
    AST_EXPR_CALL,     /* sum(probe.amount), count(), geo_distance(..)  u.call */
} ast_expr_kind;

typedef enum ast_unary_op {
    AST_UNARY_NEG, /* -x */
    AST_UNARY_NOT, /* not x */
} ast_unary_op;

typedef enum ast_binary_op {
    AST_BIN_OR, AST_BIN_AND,
    AST_BIN_EQ, AST_BIN_NE, AST_BIN_LT, AST_BIN_LE, AST_BIN_GT, AST_BIN_GE,
    AST_BIN_ADD, AST_BIN_SUB, AST_BIN_MUL, AST_BIN_DIV, AST_BIN_MOD,
} ast_binary_op;

/* What a name or field reference turned out to mean (checker). */
typedef enum ast_ref_kind {
    AST_REF_UNRESOLVED = 0,
    AST_REF_EVENT_FIELD, /* field of the event being tested (or, in an emit
                            body, the event that completed the match) */
    AST_REF_STEP_EVENTS, /* a pattern step as a whole: count(probe) */
    AST_REF_STEP_FIELD,  /* field of one event matched by a step:
                            big.amount, probe[0].amount, probe[-1].amount */
    AST_REF_STEP_FIELD_ALL, /* field over every event a step matched, as the
                               argument of an aggregate: sum(probe.amount) */
    AST_REF_LIST,        /* a reference list, right of `in` */
    AST_REF_WINDOW_FIELD,/* field of the window's events, inside an aggregate */
    AST_REF_KEY,         /* the rule's key field in a window rule's when/emit */
    AST_REF_WINDOW_META, /* window.start, window.end */
    AST_REF_MEMORY,      /* an item of the rule's `keep`: `usual`, or
                            `devices` right of `in` */
} ast_ref_kind;

struct ast_step;
struct ast_field;
struct ast_list_decl;
struct ast_stream;
struct ast_keep_item;

/* Resolution of a name / field / index expression, filled by the checker. */
typedef struct ast_ref {
    ast_ref_kind kind;
    const struct ast_stream *stream; /* stream whose field it is */
    const struct ast_field *field;   /* field within that stream */
    const struct ast_step *step;     /* STEP_* kinds */
    bool has_index;                  /* probe[i] rather than big */
    int64_t index;                   /* 0 first, 1 second, -1 last, ... */
    const struct ast_list_decl *list;/* AST_REF_LIST */
    int window_meta;                 /* 0 start, 1 end */
    const struct ast_keep_item *memory; /* AST_REF_MEMORY */
} ast_ref;

typedef struct ast_expr ast_expr;

struct ast_expr {
    ast_expr_kind kind;
    weir_loc loc;
    weir_type type; /* checker: the expression's type, WEIR_T_ERROR if bad */
    union {
        int64_t int_value;
        int64_t decimal_value; /* scaled by WEIR_DECIMAL_SCALE */
        double float_value;
        const char *string_value; /* unescaped, NUL-terminated */
        bool bool_value;
        weir_millis duration_ms;
        ast_ident name;
        struct {
            ast_expr *base; /* NAME or INDEX */
            ast_ident field;
        } field;
        struct {
            ast_expr *base; /* NAME */
            int64_t index;  /* literal: 0, 1, -1, -2 ... */
            weir_loc index_loc;
        } index;
        struct {
            ast_unary_op op;
            ast_expr *operand;
        } unary;
        struct {
            ast_binary_op op;
            ast_expr *left, *right;
        } binary;
        struct {
            ast_expr *value;
            ast_expr *set; /* NAME of a list, or a LIST literal */
            bool negated;  /* `not in` */
        } in;
        struct {
            ast_expr *items; /* linked through next */
            unsigned n_items;
        } list;
        struct {
            ast_ident func;
            ast_expr *args; /* linked through next */
            unsigned n_args;
            bool distinct;  /* count(distinct x) */
            int builtin;    /* checker: a weir_builtin (dsl/builtins.h) */
        } call;
    } u;
    ast_ref ref; /* checker, for NAME / FIELD / INDEX */
    ast_expr *next; /* next argument / list item */
};

/* ------------------------------------------------------------------ */
/* Declarations                                                         */

typedef enum ast_source_kind {
    AST_SOURCE_NONE,  /* given at run time */
    AST_SOURCE_KAFKA, /* from kafka "topic" */
    AST_SOURCE_TCP,   /* from tcp */
    AST_SOURCE_HTTP,  /* from http */
    AST_SOURCE_FILE,  /* from file "path" */
    AST_SOURCE_STDIN, /* from stdin */
} ast_source_kind;

typedef struct ast_field {
    ast_ident name;
    weir_type type;       /* WEIR_T_ERROR when type_name is not a type */
    const char *type_name;/* as written */
    weir_loc type_loc;
    unsigned index; /* position in the stream's field list, from 0 */
    struct ast_field *next;
} ast_field;

typedef struct ast_stream {
    weir_loc loc; /* the whole declaration */
    ast_ident name;
    ast_source_kind source;
    const char *source_arg; /* topic / path; NULL when none */
    weir_loc source_loc;
    bool event_time;         /* false: processing time */
    ast_ident time_field;    /* `event time ts` */
    weir_millis lateness_ms; /* `lateness 5s`; 0 if absent */
    bool has_lateness;
    weir_loc lateness_loc;
    weir_loc processing_time_loc; /* `processing time`, if written */
    ast_field *fields;
    unsigned n_fields;
    const ast_field *time_field_ref; /* checker */
    struct ast_stream *next;
} ast_stream;

/* One option of a sink: `timeout 2s`, `sign hmac env("SECRET")`. */
typedef struct ast_option {
    ast_ident name;
    weir_loc loc;     /* the whole option */
    ast_expr *values; /* linked through next: literals, names, env("X") */
    unsigned n_values;
    struct ast_option *next;
} ast_option;

typedef struct ast_sink {
    weir_loc loc;
    ast_ident name;
    ast_ident kind;     /* webhook, kafka, file, stdout */
    const char *target; /* url / topic / path; NULL for stdout */
    weir_loc target_loc;
    ast_option *options;
    struct ast_sink *next;
} ast_sink;

typedef struct ast_list_decl {
    weir_loc loc;
    ast_ident name;
    weir_type elem_type;  /* checker: declared, or inferred from the items */
    const char *type_name;/* as written; NULL when not declared */
    bool type_declared;
    weir_loc type_loc;
    ast_expr *items;      /* AST_EXPR_LIST of literals, or NULL */
    const char *from_file;/* `from file "x"`: one item per line; NULL if none */
    weir_loc from_loc;
    struct ast_list_decl *next;
} ast_list_decl;

/* ------------------------------------------------------------------ */
/* Patterns                                                             */

/* How an element follows the one before it. */
typedef enum ast_connector {
    AST_CONN_FIRST,    /* the first element of a sequence */
    AST_CONN_NEXT,     /* next      : strict contiguity */
    AST_CONN_THEN,     /* then      : relaxed contiguity */
    AST_CONN_THEN_ANY, /* then any  : non-deterministic relaxed */
    AST_CONN_NOT_NEXT, /* not next  : the next event must not match */
    AST_CONN_NOT_THEN, /* not then  : no matching event before the next
                          element (or, last in the pattern, before the
                          `within` deadline: absence) */
} ast_connector;

/* Contiguity inside a looping quantifier, between its own events. */
typedef enum ast_inner {
    AST_INNER_RELAXED,     /* default, as Flink */
    AST_INNER_CONSECUTIVE, /* `consecutive`: strict */
    AST_INNER_ANY,         /* `any`: allowCombinations() */
} ast_inner;

#define AST_QUANT_INFINITE (-1)

typedef struct ast_quant {
    bool present;     /* false: exactly once */
    weir_loc loc;
    int64_t min;      /* ? → 0,1  * → 0,inf  + → 1,inf  {n} → n,n ... */
    int64_t max;      /* AST_QUANT_INFINITE for no upper bound */
    bool greedy;      /* `greedy` */
    bool reluctant;   /* `reluctant` or a trailing `?` as in `+?` */
    ast_inner inner;
    bool inner_conflict; /* both `consecutive` and `any` written */
    weir_loc inner_loc;
    weir_loc mods_loc;   /* the modifiers (greedy, any, ...) as written */
    ast_expr *until;  /* `until cond`; NULL if absent */
} ast_quant;

typedef enum ast_elem_kind {
    AST_ELEM_STEP,  /* probe where amount < 2 */
    AST_ELEM_GROUP, /* (a then b){2} */
    AST_ELEM_ALT,   /* a where .. | b where .. */
} ast_elem_kind;

typedef struct ast_elem ast_elem;

/* A pattern step: one named event (or a run of them, with a quantifier). */
typedef struct ast_step {
    ast_ident name;
    ast_ident stream_name;            /* `from logins`; NULL name = rule's */
    ast_expr *where;                  /* NULL: any event */
    const ast_stream *stream;         /* checker */
    bool repeated;                    /* checker: may match several events */
    unsigned index;                   /* checker: order of the step in the
                                         rule, from 0 */
    const ast_elem *elem;             /* the element that holds the step */
} ast_step;

struct ast_elem {
    ast_elem_kind kind;
    weir_loc loc;
    ast_connector conn;
    weir_loc conn_loc;
    ast_step step;      /* AST_ELEM_STEP */
    ast_elem *group;    /* AST_ELEM_GROUP: the inner sequence */
    ast_elem *alts;     /* AST_ELEM_ALT: the alternatives (conn = FIRST),
                           linked through next */
    ast_quant quant;
    ast_elem *next;     /* next element of the same sequence / alternative */
};

typedef enum ast_skip_kind {
    AST_SKIP_DEFAULT,      /* not written: no skip, as Flink */
    AST_SKIP_NO_SKIP,      /* no skip */
    AST_SKIP_TO_NEXT,      /* skip to next */
    AST_SKIP_PAST_LAST,    /* skip past last */
    AST_SKIP_TO_FIRST,     /* skip to first X */
    AST_SKIP_TO_LAST,      /* skip to last X */
} ast_skip_kind;

/* ------------------------------------------------------------------ */
/* Windows                                                              */

typedef enum ast_window_kind {
    AST_WINDOW_TUMBLING, /* window tumbling 1h */
    AST_WINDOW_SLIDING,  /* window sliding 1h every 5m */
    AST_WINDOW_SESSION,  /* window session gap 30m */
    AST_WINDOW_COUNT,    /* window count 100 [every 10] */
} ast_window_kind;

typedef struct ast_window {
    ast_window_kind kind;
    weir_loc loc;
    weir_millis size_ms;  /* tumbling / sliding size */
    weir_millis slide_ms; /* sliding `every` */
    weir_millis gap_ms;   /* session gap */
    int64_t count;        /* count window size */
    int64_t count_slide;  /* count window `every`; 0 = same as count */
} ast_window;

/* ------------------------------------------------------------------ */
/* Rules                                                                */

typedef enum ast_severity {
    AST_SEVERITY_DEFAULT, /* not written: medium */
    AST_SEVERITY_LOW,
    AST_SEVERITY_MEDIUM,
    AST_SEVERITY_HIGH,
    AST_SEVERITY_CRITICAL,
} ast_severity;

/* `payments by card` in `on payments by card, logins by user`. */
typedef struct ast_input {
    ast_ident stream_name;
    ast_ident key_field;
    const ast_stream *stream;    /* checker */
    const ast_field *key;        /* checker */
    struct ast_input *next;
} ast_input;

/* `name: expr` in an emit body; `card` alone is `card: card`. */
typedef struct ast_emit_field {
    ast_ident name;
    ast_expr *value;
    struct ast_emit_field *next;
} ast_emit_field;

typedef struct ast_emit {
    bool present;
    weir_loc loc;
    ast_ident *sinks;   /* arena array */
    unsigned n_sinks;
    const ast_sink **sink_refs; /* checker; parallel to sinks */
    ast_emit_field *fields;
    unsigned n_fields;
} ast_emit;

/* ------------------------------------------------------------------ */
/* Per-key memory: `keep for 90d where ... { name: aggregate, ... }`     */

/* One item of a keep: `usual: avg(amount)` or `devices: distinct(device)`. */
typedef struct ast_keep_item {
    ast_ident name;
    weir_loc loc;          /* the whole item */
    bool set;              /* `distinct(x)`: the set of values of x */
    weir_loc set_loc;      /* `distinct(x)` as written, when set */
    ast_expr *value;       /* an aggregate call (count(), avg(amount),
                              count(distinct x)); for a set, x itself */
    /* checker */
    weir_type type;        /* what reading the name gives: the aggregate's
                              type; for a set, the type of its values;
                              WEIR_T_ERROR after an error */
    unsigned index;        /* position in the keep, from 0 */
    struct ast_keep_item *next;
} ast_keep_item;

typedef struct ast_keep {
    bool present;
    weir_loc loc;            /* from `keep` to the closing brace */
    weir_loc keyword_loc;    /* the word `keep` */
    ast_ident stream_name;   /* `from STREAM`; NULL name: not written */
    bool has_for;
    weir_millis for_ms;      /* `for 90d`: how long an event is kept */
    weir_loc for_loc;
    bool has_every;
    weir_millis every_ms;    /* `every 1d`: the bucket width */
    weir_loc every_loc;
    ast_expr *where;         /* which events are kept; NULL: all */
    ast_keep_item *items;
    unsigned n_items;
    /* checker */
    const struct ast_stream *stream; /* the stream whose events are kept */
    weir_millis bucket_ms;   /* every_ms, or the default (for_ms / 90) */
} ast_keep;

typedef enum ast_rule_kind {
    AST_RULE_PATTERN,
    AST_RULE_WINDOW,
} ast_rule_kind;

typedef struct ast_rule {
    weir_loc loc;
    ast_ident name;
    const char *description; /* NULL if none */
    ast_input *inputs;
    unsigned n_inputs;
    ast_rule_kind kind;
    weir_loc body_loc;       /* `match ...` or `window ...` */
    ast_keep keep;           /* per-key memory; keep.present false if none */

    /* AST_RULE_PATTERN */
    ast_elem *pattern;       /* first element of the top sequence */
    bool has_within;
    weir_millis within_ms;
    weir_loc within_loc;
    ast_skip_kind skip;
    ast_ident skip_step;     /* for skip to first/last X */
    weir_loc skip_loc;
    ast_emit on_timeout;     /* `on timeout emit ...` */
    ast_step **steps;        /* checker: every step, in order */
    unsigned n_steps;

    /* AST_RULE_WINDOW */
    ast_window window;
    ast_expr *filter;        /* `where` before aggregation; NULL if none */
    ast_expr *when;          /* `when` on the aggregates; NULL: every window */

    ast_severity severity;
    weir_loc severity_loc;
    bool has_throttle;
    weir_millis throttle_ms; /* `throttle 1h`: one alert per key per hour */
    weir_loc throttle_loc;
    ast_emit emit;
    struct ast_rule *next;
} ast_rule;

/* `include "x.weir"` — resolved by the loader before checking. */
typedef struct ast_include {
    weir_loc loc;
    const char *path;
    struct ast_include *next;
} ast_include;

/* Everything declared by every file of one rule set. Each kind of
 * declaration is kept in its own list, in the order the files were read. */
typedef struct ast_program {
    weir_arena *arena; /* owns every node */
    ast_stream *streams;
    ast_sink *sinks;
    ast_list_decl *lists;
    ast_rule *rules;
    ast_include *includes;
    /* tails, so the parser appends in O(1) */
    ast_stream **streams_tail;
    ast_sink **sinks_tail;
    ast_list_decl **lists_tail;
    ast_rule **rules_tail;
    ast_include **includes_tail;
} ast_program;

/* A new, empty program with its own arena. Never NULL. */
ast_program *weir_ast_program_new(void);
/* Frees the program and every node in it. Accepts NULL. */
void weir_ast_program_free(ast_program *p);

/* Node constructors used by the parser; all allocate from p->arena. */
ast_expr *weir_ast_expr(ast_program *p, ast_expr_kind kind, weir_loc loc);
ast_elem *weir_ast_elem(ast_program *p, ast_elem_kind kind, weir_loc loc);

/* Fills rule->steps / rule->n_steps and each step's `index` and `elem`:
 * every step of the pattern, depth first, left to right (the order they
 * are written in). Idempotent; the checker and the compiler both rely on
 * this one numbering. */
void weir_ast_rule_collect_steps(ast_program *p, ast_rule *rule);

/* Names for diagnostics and dumps. */
const char *weir_ast_binary_op_text(ast_binary_op op);   /* "+", "and" */
const char *weir_ast_connector_text(ast_connector conn); /* "then any" */
const char *weir_ast_skip_text(ast_skip_kind skip);      /* "skip past last" */
const char *weir_ast_severity_text(ast_severity sev);    /* "high" */
const char *weir_ast_window_kind_text(ast_window_kind k);/* "sliding" */

/* Merge two locations into one covering both (same file). */
weir_loc weir_loc_span(weir_loc a, weir_loc b);

#endif
