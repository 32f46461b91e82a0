/* parser.y — the grammar of the weir rule language.
 *
 * A pure, reentrant LALR(1) parser with byte-range locations and no
 * conflicts (%expect 0). Actions only build the syntax tree (ast.h): names
 * are resolved and types checked later, by check.c, so the grammar stays
 * about shape. A few checks that are purely about spelling (a window kind,
 * `skip past last`, `from file`, a rule clause written twice) are done here
 * because only the parser knows which words the user wrote.
 *
 * Error recovery: a syntax error skips to the next top-level declaration
 * (`rule`, `stream`, `sink`, `list`, `include`), so one run reports an error
 * in every broken declaration and keeps every good one.
 *
 * Memory: every semantic value is either a scalar or a pointer into the
 * program's arena (ast.h), which owns it whether or not the parse succeeds;
 * this is why no %destructor is needed. */

%define api.pure full
%define api.prefix {weir_yy}
%define api.location.type {weir_loc}
%define parse.error custom
/* Lookahead correction: without it, default reductions run before an
 * error is noticed and the "expected ..." list describes a later state
 * (after `[` at end of file it would offer only `]`). */
%define parse.lac full
%locations
%expect 0

%param { void *scanner }
%parse-param { struct weir_parse_ctx *ctx }

%code requires {
#include "dsl/parse-internal.h"

/* Lists under construction: head, tail and length. */
struct pexpr_list { ast_expr *head, *tail; unsigned n; };
struct pfield_list { ast_field *head, *tail; unsigned n; };
struct poption_list { ast_option *head, *tail; };
struct pemit_field_list { ast_emit_field *head, *tail; unsigned n; };
struct pident_list { ast_ident *items; unsigned n, cap; };
struct pinput_list { ast_input *head, *tail; unsigned n; };
struct pkeep_item_list { ast_keep_item *head, *tail; unsigned n; };

/* Modifiers written after a quantifier, as bits. */
enum { QMOD_GREEDY = 1, QMOD_RELUCTANT = 2, QMOD_CONSECUTIVE = 4, QMOD_ANY = 8 };

#define YYLLOC_DEFAULT(Cur, Rhs, N)                              \
    do {                                                         \
        if (N) {                                                 \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                  \
            (Cur).begin = YYRHSLOC(Rhs, 1).begin;                \
            (Cur).end = YYRHSLOC(Rhs, N).end;                    \
        } else {                                                 \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                  \
            (Cur).begin = (Cur).end = YYRHSLOC(Rhs, 0).end;      \
        }                                                        \
    } while (0)
}

%code provides {
int weir_yylex(WEIR_YYSTYPE *lval, WEIR_YYLTYPE *lloc, void *scanner);
}

%code {
#include <stdio.h>
#include <string.h>

static void weir_yyerror(WEIR_YYLTYPE *loc, void *scanner,
                         struct weir_parse_ctx *ctx, const char *msg);

#define A (ctx->prog->arena)

static ast_ident ident(const char *name, weir_loc loc)
{
    ast_ident id = {name, loc};
    return id;
}

static ast_expr *lit(struct weir_parse_ctx *ctx, ast_expr_kind kind, weir_loc loc)
{
    return weir_ast_expr(ctx->prog, kind, loc);
}

static void expr_list_add(struct weir_parse_ctx *ctx, struct pexpr_list **l, ast_expr *e)
{
    if (!*l)
        *l = WEIR_ARENA_NEW(A, struct pexpr_list);
    if ((*l)->tail)
        (*l)->tail->next = e;
    else
        (*l)->head = e;
    (*l)->tail = e;
    (*l)->n++;
}

static ast_expr *binary(struct weir_parse_ctx *ctx, ast_binary_op op, ast_expr *l,
                        ast_expr *r, weir_loc loc)
{
    ast_expr *e = weir_ast_expr(ctx->prog, AST_EXPR_BINARY, loc);
    e->u.binary.op = op;
    e->u.binary.left = l;
    e->u.binary.right = r;
    return e;
}

static void ident_list_add(struct weir_parse_ctx *ctx, struct pident_list **l, ast_ident id)
{
    if (!*l)
        *l = WEIR_ARENA_NEW(A, struct pident_list);
    if ((*l)->n == (*l)->cap) {
        unsigned cap = (*l)->cap ? (*l)->cap * 2 : 4;
        ast_ident *items = WEIR_ARENA_ARRAY(A, ast_ident, cap);
        if ((*l)->n)
            memcpy(items, (*l)->items, sizeof *items * (*l)->n);
        (*l)->items = items;
        (*l)->cap = cap;
    }
    (*l)->items[(*l)->n++] = id;
}

/* Appends `e` to the sequence whose first element is `first`. The parser
 * keeps the last element of each sequence in `quant.loc`-free storage: we
 * walk from the tail kept in the context map below. Sequences are short
 * (a handful of steps), so a walk is fine and keeps the AST simple. */
static ast_elem *seq_append(ast_elem *first, ast_elem *e)
{
    ast_elem *last = first;
    unsigned guard = 0;
    while (last->next && guard++ < 100000)
        last = last->next;
    last->next = e;
    return first;
}

static void apply_quant(ast_elem *e, ast_quant *q, int mods, weir_loc mods_loc,
                        ast_expr *until)
{
    if (q)
        e->quant = *q;
    if (mods & QMOD_GREEDY)
        e->quant.greedy = true;
    if (mods & QMOD_RELUCTANT)
        e->quant.reluctant = true;
    if (mods & (QMOD_CONSECUTIVE | QMOD_ANY)) {
        /* both written: keep both visible to the checker via inner_loc */
        e->quant.inner = (mods & QMOD_CONSECUTIVE) ? AST_INNER_CONSECUTIVE : AST_INNER_ANY;
        if ((mods & QMOD_CONSECUTIVE) && (mods & QMOD_ANY))
            e->quant.inner_conflict = true;
        e->quant.inner_loc = mods_loc;
    }
    e->quant.mods_loc = mods_loc;
    e->quant.until = until;
}

/* The text a location covers, as an arena string, for quoting it back. */
static const char *loc_text(struct weir_parse_ctx *ctx, weir_loc loc)
{
    return weir_arena_strndup(A, ctx->sources->files[loc.file].text + loc.begin,
                              loc.end - loc.begin);
}

/* The kind a window word names, or -1 after reporting an unknown word;
 * `next` is the token after it, quoted in the message as the user wrote it. */
static int window_word(struct weir_parse_ctx *ctx, const char *word, weir_loc loc,
                       weir_loc next)
{
    static const struct { const char *word; ast_window_kind kind; } kinds[] = {
        {"tumbling", AST_WINDOW_TUMBLING}, {"sliding", AST_WINDOW_SLIDING},
        {"session", AST_WINDOW_SESSION}, {"count", AST_WINDOW_COUNT},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(word, kinds[i].word) == 0)
            return (int)kinds[i].kind;
    weir_diag_error(ctx->diags, loc, "unknown window '%s %s' (use tumbling, sliding, session or count)",
                    word, loc_text(ctx, next));
    return -1;
}

/* A rule clause may be written once. `first` is where the clause was
 * already seen (an empty range when it was not): if it was, reports the
 * second one at `loc` with a note at the first, and returns true so the
 * caller keeps the first. A clause always has a non-empty range, which is
 * what tells "written" apart from "absent" for every kind of clause. */
static bool duplicate_clause(struct weir_parse_ctx *ctx, const char *what, weir_loc first,
                             weir_loc loc)
{
    if (first.end <= first.begin)
        return false;
    weir_diag_error(ctx->diags, loc, "duplicate %s clause", what);
    weir_diag_note(ctx->diags, first, "first given here");
    return true;
}

static void set_skip(struct weir_parse_ctx *ctx, ast_skip_kind kind, ast_ident step,
                     weir_loc loc)
{
    ast_rule *r = ctx->rule;
    if (duplicate_clause(ctx, "skip", r->skip_loc, loc))
        return;
    r->skip = kind;
    r->skip_step = step;
    r->skip_loc = loc;
}

static void emit_set(struct weir_parse_ctx *ctx, ast_emit *emit, const char *what,
                     weir_loc loc, struct pident_list *to, struct pemit_field_list *body)
{
    if (duplicate_clause(ctx, what, emit->loc, loc))
        return;
    emit->present = true;
    emit->loc = loc;
    if (to) {
        emit->sinks = to->items;
        emit->n_sinks = to->n;
    }
    if (body) {
        emit->fields = body->head;
        emit->n_fields = body->n;
    }
}
}

%initial-action {
    @$.file = ctx->file;
    @$.begin = @$.end = 0;
}

%union {
    int64_t integer;
    double real;
    bool boolean;
    char *str;
    ast_expr *expr;
    ast_elem *elem;
    ast_quant *quant;
    ast_connector conn;
    struct pexpr_list *exprs;
    struct pfield_list *fields;
    ast_field *field;
    struct poption_list *options;
    ast_option *option;
    struct pemit_field_list *emit_fields;
    ast_emit_field *emit_field;
    struct pident_list *idents;
    struct pinput_list *inputs;
    ast_input *input;
    ast_ident ident;
    ast_keep_item *keep_item;
    struct pkeep_item_list *keep_items;
}

%token AND "and" OR "or" NOT "not" IN "in" NOT_IN "not in"
%token INCLUDE "include" STREAM "stream" SINK "sink" LIST "list" RULE "rule"
%token FROM "from" ON "on" BY "by" MATCH "match"
%token NEXT "next" THEN "then" ANY "any" NOT_NEXT "not next" NOT_THEN "not then"
%token WHERE "where" UNTIL "until" WITHIN "within"
%token SKIP "skip" TO "to" PAST "past" NO "no"
%token SEVERITY "severity" THROTTLE "throttle" EMIT "emit" TIMEOUT "timeout"
%token WINDOW "window" EVERY "every" WHEN "when"
%token EVENT "event" TIME "time" PROCESSING "processing" LATENESS "lateness"
%token GREEDY "greedy" RELUCTANT "reluctant" CONSECUTIVE "consecutive"
%token DISTINCT "distinct"
%token KEEP "keep"
%token EQ "==" NE "!=" LE "<=" GE ">="
%token <boolean> BOOL_LIT "true or false"
%token <integer> INT_LIT "integer" DECIMAL_LIT "decimal number" DURATION "duration"
%token <real> FLOAT_LIT "number"
%token <str> IDENT "name" STRING_LIT "string"

%type <str> name
%type <expr> expr postfix primary literal opt_value list_literal where_opt until_opt
%type <exprs> args_opt args expr_list_opt expr_list opt_values
%type <field> field
%type <fields> fields fields_opt
%type <option> option
%type <options> options options_opt
%type <emit_field> emit_field
%type <emit_fields> emit_fields emit_fields_opt emit_body_opt
%type <idents> sink_names emit_to_opt
%type <input> input
%type <inputs> inputs
%type <elem> pattern element alternatives unit step
%type <conn> connector
%type <quant> quant quant_opt
%type <integer> qmods_opt qmod reluctant_mark_opt
%type <str> sink_target_opt description_opt list_type_opt
%type <ident> from_opt
%type <keep_item> keep_item
%type <keep_items> keep_items keep_items_opt

%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE IN NOT_IN
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY_MINUS

%%

program
    : %empty
    | program decl
    | program error
    ;

decl
    : include_decl
    | stream_decl
    | sink_decl
    | list_decl
    | rule_decl
    ;

/* Identifiers, and the soft keywords that are common field names in JSON. */
name
    : IDENT       { $$ = $1; }
    | TIME        { $$ = "time"; }
    | EVENT       { $$ = "event"; }
    | TIMEOUT     { $$ = "timeout"; }
    | KEEP        { $$ = "keep"; }
    ;

/* ---------------------------------------------------------------- include */

include_decl
    : INCLUDE STRING_LIT
        {
            ast_include *inc = WEIR_ARENA_NEW(A, ast_include);
            inc->loc = @$;
            inc->path = $2;
            *ctx->prog->includes_tail = inc;
            ctx->prog->includes_tail = &inc->next;
        }
    ;

/* ----------------------------------------------------------------- stream */

stream_decl
    : STREAM name
        {
            ast_stream *s = WEIR_ARENA_NEW(A, ast_stream);
            s->name = ident($2, @2);
            ctx->stream = s;
        }
      stream_clauses '{' fields_opt '}'
        {
            ast_stream *s = ctx->stream;
            s->loc = @$;
            if ($6) {
                s->fields = $6->head;
                s->n_fields = $6->n;
            }
            *ctx->prog->streams_tail = s;
            ctx->prog->streams_tail = &s->next;
            ctx->stream = NULL;
        }
    ;

stream_clauses
    : %empty
    | stream_clauses stream_clause
    | stream_clauses ','
    ;

stream_clause
    : FROM name sink_target_opt
        {
            ast_stream *s = ctx->stream;
            static const struct { const char *word; ast_source_kind kind; bool arg; } kinds[] = {
                {"kafka", AST_SOURCE_KAFKA, true}, {"tcp", AST_SOURCE_TCP, false},
                {"http", AST_SOURCE_HTTP, false}, {"file", AST_SOURCE_FILE, true},
                {"stdin", AST_SOURCE_STDIN, false},
            };
            bool known = false;
            for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
                if (strcmp($2, kinds[i].word) != 0)
                    continue;
                known = true;
                s->source = kinds[i].kind;
                if (kinds[i].arg && !$3)
                    weir_diag_error(ctx->diags, @2, "'from %s' needs a %s in quotes, as in from %s \"%s\"",
                                    $2, kinds[i].kind == AST_SOURCE_KAFKA ? "topic" : "path",
                                    $2, kinds[i].kind == AST_SOURCE_KAFKA ? "payments" : "events.jsonl");
                if (!kinds[i].arg && $3)
                    weir_diag_error(ctx->diags, @3, "'from %s' takes no argument", $2);
            }
            if (!known)
                weir_diag_error(ctx->diags, @2,
                                "unknown source '%s' (use kafka, tcp, http, file or stdin)", $2);
            s->source_arg = $3;
            s->source_loc = @$;
        }
    | EVENT TIME name
        {
            ctx->stream->event_time = true;
            ctx->stream->time_field = ident($3, @3);
        }
    | PROCESSING TIME
        {
            ctx->stream->event_time = false;
            ctx->stream->processing_time_loc = @$;
        }
    | LATENESS DURATION
        {
            ctx->stream->lateness_ms = $2;
            ctx->stream->lateness_loc = @$;
            ctx->stream->has_lateness = true;
        }
    ;

fields_opt
    : %empty          { $$ = NULL; }
    | fields          { $$ = $1; }
    | fields ','      { $$ = $1; }
    ;

fields
    : field
        {
            $$ = WEIR_ARENA_NEW(A, struct pfield_list);
            $$->head = $$->tail = $1;
            $1->index = 0;
            $$->n = 1;
        }
    | fields ',' field
        {
            $$ = $1;
            $3->index = $$->n++;
            $$->tail->next = $3;
            $$->tail = $3;
        }
    ;

field
    : name name
        {
            $$ = WEIR_ARENA_NEW(A, ast_field);
            $$->name = ident($1, @1);
            $$->type = weir_type_from_name($2);
            $$->type_loc = @2;
            $$->type_name = $2;
        }
    ;

/* ------------------------------------------------------------------- sink */

sink_decl
    : SINK name name sink_target_opt options_opt
        {
            ast_sink *s = WEIR_ARENA_NEW(A, ast_sink);
            s->loc = @$;
            s->name = ident($2, @2);
            s->kind = ident($3, @3);
            s->target = $4;
            s->target_loc = @4;
            s->options = $5 ? $5->head : NULL;
            *ctx->prog->sinks_tail = s;
            ctx->prog->sinks_tail = &s->next;
        }
    ;

sink_target_opt
    : %empty       { $$ = NULL; }
    | STRING_LIT   { $$ = $1; }
    ;

options_opt
    : %empty       { $$ = NULL; }
    | options      { $$ = $1; }
    ;

options
    : option
        {
            $$ = WEIR_ARENA_NEW(A, struct poption_list);
            $$->head = $$->tail = $1;
        }
    | options ',' option
        {
            $$ = $1;
            $$->tail->next = $3;
            $$->tail = $3;
        }
    ;

option
    : name opt_values
        {
            $$ = WEIR_ARENA_NEW(A, ast_option);
            $$->name = ident($1, @1);
            $$->loc = @$;
            if ($2) {
                $$->values = $2->head;
                $$->n_values = $2->n;
            }
        }
    ;

opt_values
    : %empty                  { $$ = NULL; }
    | opt_values opt_value    { $$ = $1; expr_list_add(ctx, &$$, $2); }
    ;

opt_value
    : literal                 { $$ = $1; }
    | name
        {
            $$ = lit(ctx, AST_EXPR_NAME, @$);
            $$->u.name = ident($1, @1);
        }
    | name '(' args_opt ')'
        {
            $$ = lit(ctx, AST_EXPR_CALL, @$);
            $$->u.call.func = ident($1, @1);
            if ($3) {
                $$->u.call.args = $3->head;
                $$->u.call.n_args = $3->n;
            }
        }
    ;

/* ------------------------------------------------------------------- list */

list_decl
    : LIST name list_type_opt '=' list_literal
        {
            ast_list_decl *l = WEIR_ARENA_NEW(A, ast_list_decl);
            l->loc = @$;
            l->name = ident($2, @2);
            l->type_name = $3;
            l->type_declared = $3 != NULL;
            l->type_loc = @3;
            l->items = $5;
            *ctx->prog->lists_tail = l;
            ctx->prog->lists_tail = &l->next;
        }
    | LIST name list_type_opt FROM name STRING_LIT
        {
            ast_list_decl *l = WEIR_ARENA_NEW(A, ast_list_decl);
            l->loc = @$;
            l->name = ident($2, @2);
            l->type_name = $3;
            l->type_declared = $3 != NULL;
            l->type_loc = @3;
            if (strcmp($5, "file") != 0)
                weir_diag_error(ctx->diags, @5, "a list is read 'from file \"path\"', not from '%s'", $5);
            l->from_file = $6;
            l->from_loc = @6;
            *ctx->prog->lists_tail = l;
            ctx->prog->lists_tail = &l->next;
        }
    ;

list_type_opt
    : %empty       { $$ = NULL; }
    | name         { $$ = $1; }
    ;

list_literal
    : '[' expr_list_opt ']'
        {
            $$ = lit(ctx, AST_EXPR_LIST, @$);
            if ($2) {
                $$->u.list.items = $2->head;
                $$->u.list.n_items = $2->n;
            }
        }
    ;

expr_list_opt
    : %empty              { $$ = NULL; }
    | expr_list           { $$ = $1; }
    | expr_list ','       { $$ = $1; }
    ;

expr_list
    : expr                { $$ = NULL; expr_list_add(ctx, &$$, $1); }
    | expr_list ',' expr  { $$ = $1; expr_list_add(ctx, &$$, $3); }
    ;

/* ------------------------------------------------------------------- rule */

rule_decl
    : RULE name
        {
            ast_rule *r = WEIR_ARENA_NEW(A, ast_rule);
            r->name = ident($2, @2);
            ctx->rule = r;
            ctx->keep = NULL;
        }
      description_opt ON inputs keep_opt rule_body rule_clauses
        {
            ast_rule *r = ctx->rule;
            r->loc = @$;
            r->description = $4;
            r->inputs = $6->head;
            r->n_inputs = $6->n;
            *ctx->prog->rules_tail = r;
            ctx->prog->rules_tail = &r->next;
            ctx->rule = NULL;
        }
    ;

description_opt
    : %empty        { $$ = NULL; }
    | STRING_LIT    { $$ = $1; }
    ;

inputs
    : input
        {
            $$ = WEIR_ARENA_NEW(A, struct pinput_list);
            $$->head = $$->tail = $1;
            $$->n = 1;
        }
    | inputs ',' input
        {
            $$ = $1;
            $$->tail->next = $3;
            $$->tail = $3;
            $$->n++;
        }
    ;

input
    : name BY name
        {
            $$ = WEIR_ARENA_NEW(A, ast_input);
            $$->stream_name = ident($1, @1);
            $$->key_field = ident($3, @3);
        }
    ;

/* Per-key memory: `keep [from S] for D [every D] [where C] { name: agg, ... }`.
 * It stands before the body, so the names it declares come before the
 * conditions that read them. `for` is checked by spelling, as `skip past
 * last` is, so it stays free as a name. */
keep_opt
    : %empty
    | KEEP
        {
            ctx->keep = &ctx->rule->keep;
            ctx->keep->present = true;
            ctx->keep->keyword_loc = @1;
        }
      keep_specs '{' keep_items_opt '}'
        {
            ast_keep *k = ctx->keep;
            k->loc = @$;
            if ($5) {
                k->items = $5->head;
                k->n_items = $5->n;
            }
            ctx->keep = NULL;
        }
    ;

keep_specs
    : %empty
    | keep_specs keep_spec
    ;

keep_spec
    : FROM name
        {
            ast_keep *k = ctx->keep;
            if (k && !duplicate_clause(ctx, "'from' in 'keep'", k->stream_name.loc, @$))
                k->stream_name = ident($2, @2);
        }
    | name DURATION
        {
            ast_keep *k = ctx->keep;
            if (strcmp($1, "for") != 0)
                weir_diag_error(ctx->diags, @1,
                                "unexpected name '%s' in 'keep': write how long the memory lasts as 'for <duration>', as in keep for 90d",
                                $1);
            else if (k && !duplicate_clause(ctx, "'for' in 'keep'", k->for_loc, @$)) {
                k->has_for = true;
                k->for_ms = $2;
                k->for_loc = @$;
            }
        }
    | EVERY DURATION
        {
            ast_keep *k = ctx->keep;
            if (k && !duplicate_clause(ctx, "'every' in 'keep'", k->every_loc, @$)) {
                k->has_every = true;
                k->every_ms = $2;
                k->every_loc = @$;
            }
        }
    | WHERE expr
        {
            ast_keep *k = ctx->keep;
            if (!k) {
                /* a syntax error left no keep to fill */
            } else if (k->where) {
                weir_diag_error(ctx->diags, @$, "duplicate 'where' in 'keep': join the conditions with 'and'");
                weir_diag_note(ctx->diags, k->where->loc, "first given here");
            } else {
                k->where = $2;
            }
        }
    ;

keep_items_opt
    : %empty               { $$ = NULL; }
    | keep_items           { $$ = $1; }
    | keep_items ','       { $$ = $1; }
    ;

keep_items
    : keep_item
        {
            $$ = WEIR_ARENA_NEW(A, struct pkeep_item_list);
            $$->head = $$->tail = $1;
            $$->n = 1;
        }
    | keep_items ',' keep_item
        {
            $$ = $1;
            $3->index = $$->n++;
            $$->tail->next = $3;
            $$->tail = $3;
        }
    ;

keep_item
    : name ':' expr
        {
            $$ = WEIR_ARENA_NEW(A, ast_keep_item);
            $$->name = ident($1, @1);
            $$->loc = @$;
            $$->value = $3;
        }
    | name ':' DISTINCT '(' expr ')'
        {
            $$ = WEIR_ARENA_NEW(A, ast_keep_item);
            $$->name = ident($1, @1);
            $$->loc = @$;
            $$->set = true;
            $$->set_loc = weir_loc_span(@3, @6);
            $$->value = $5;
        }
    ;

rule_body
    : MATCH pattern
        {
            ctx->rule->kind = AST_RULE_PATTERN;
            ctx->rule->pattern = $2;
            ctx->rule->body_loc = @$;
        }
    | WINDOW window_spec where_opt when_opt
        {
            ctx->rule->kind = AST_RULE_WINDOW;
            ctx->rule->filter = $3;
            ctx->rule->body_loc = @$;
        }
    ;

rule_clauses
    : %empty
    | rule_clauses rule_clause
    ;

rule_clause
    : WITHIN DURATION
        {
            if (!duplicate_clause(ctx, "'within'", ctx->rule->within_loc, @$)) {
                ctx->rule->has_within = true;
                ctx->rule->within_ms = $2;
                ctx->rule->within_loc = @$;
            }
        }
    | skip_clause
    | SEVERITY name
        {
            static const char *levels[] = {"low", "medium", "high", "critical"};
            static const ast_severity values[] = {AST_SEVERITY_LOW, AST_SEVERITY_MEDIUM,
                                                  AST_SEVERITY_HIGH, AST_SEVERITY_CRITICAL};
            if (!duplicate_clause(ctx, "'severity'", ctx->rule->severity_loc, @$)) {
                ctx->rule->severity_loc = @$;
                bool ok = false;
                for (int i = 0; i < 4; i++)
                    if (strcmp($2, levels[i]) == 0) {
                        ctx->rule->severity = values[i];
                        ok = true;
                    }
                if (!ok)
                    weir_diag_error(ctx->diags, @2,
                                    "unknown severity '%s' (use low, medium, high or critical)", $2);
            }
        }
    | THROTTLE DURATION
        {
            if (!duplicate_clause(ctx, "'throttle'", ctx->rule->throttle_loc, @$)) {
                ctx->rule->has_throttle = true;
                ctx->rule->throttle_ms = $2;
                ctx->rule->throttle_loc = @$;
            }
        }
    | EMIT emit_to_opt emit_body_opt
        { emit_set(ctx, &ctx->rule->emit, "'emit'", @$, $2, $3); }
    | ON TIMEOUT EMIT emit_to_opt emit_body_opt
        { emit_set(ctx, &ctx->rule->on_timeout, "'on timeout emit'", @$, $4, $5); }
    /* A keep after the body: parsed into a throwaway clause, so the
     * message says where it goes rather than "unexpected 'keep'". */
    | KEEP
        {
            weir_diag_error(ctx->diags, @1,
                            "'keep' goes right after 'on ...', before '%s': declare the memory before the conditions that read it",
                            ctx->rule->kind == AST_RULE_WINDOW ? "window" : "match");
            ctx->keep = WEIR_ARENA_NEW(A, ast_keep);
        }
      keep_specs '{' keep_items_opt '}'
        { ctx->keep = NULL; }
    ;

skip_clause
    : NO SKIP
        { set_skip(ctx, AST_SKIP_NO_SKIP, ident(NULL, @$), @$); }
    | SKIP TO NEXT
        { set_skip(ctx, AST_SKIP_TO_NEXT, ident(NULL, @$), @$); }
    | SKIP PAST name
        {
            if (strcmp($3, "last") != 0)
                weir_diag_error(ctx->diags, @3, "expected 'skip past last'");
            set_skip(ctx, AST_SKIP_PAST_LAST, ident(NULL, @$), @$);
        }
    | SKIP TO name name
        {
            ast_skip_kind kind = AST_SKIP_DEFAULT;
            if (strcmp($3, "first") == 0)
                kind = AST_SKIP_TO_FIRST;
            else if (strcmp($3, "last") == 0)
                kind = AST_SKIP_TO_LAST;
            else
                weir_diag_error(ctx->diags, @3,
                                "expected 'skip to next', 'skip to first STEP' or 'skip to last STEP'");
            set_skip(ctx, kind, ident($4, @4), @$);
        }
    ;

emit_to_opt
    : %empty           { $$ = NULL; }
    | TO sink_names    { $$ = $2; }
    ;

sink_names
    : name                  { $$ = NULL; ident_list_add(ctx, &$$, ident($1, @1)); }
    | sink_names ',' name   { $$ = $1; ident_list_add(ctx, &$$, ident($3, @3)); }
    ;

emit_body_opt
    : %empty                    { $$ = NULL; }
    | '{' emit_fields_opt '}'   { $$ = $2 ? $2 : WEIR_ARENA_NEW(A, struct pemit_field_list); }
    ;

emit_fields_opt
    : %empty               { $$ = NULL; }
    | emit_fields          { $$ = $1; }
    | emit_fields ','      { $$ = $1; }
    ;

emit_fields
    : emit_field
        {
            $$ = WEIR_ARENA_NEW(A, struct pemit_field_list);
            $$->head = $$->tail = $1;
            $$->n = 1;
        }
    | emit_fields ',' emit_field
        {
            $$ = $1;
            $$->tail->next = $3;
            $$->tail = $3;
            $$->n++;
        }
    ;

emit_field
    : name
        {
            $$ = WEIR_ARENA_NEW(A, ast_emit_field);
            $$->name = ident($1, @1);
            $$->value = lit(ctx, AST_EXPR_NAME, @1);
            $$->value->u.name = ident($1, @1);
        }
    | name ':' expr
        {
            $$ = WEIR_ARENA_NEW(A, ast_emit_field);
            $$->name = ident($1, @1);
            $$->value = $3;
        }
    ;

/* ----------------------------------------------------------------- window */

/* Each shape below is one kind of window; a known kind word in the wrong
 * shape (`window session 30m`, `window tumbling 100`) gets the spelling of
 * its own kind, not an "unknown window" it would not believe. */
window_spec
    : name DURATION
        {
            ast_window *w = &ctx->rule->window;
            w->loc = @$;
            w->size_ms = $2;
            switch (window_word(ctx, $1, @1, @2)) {
            case AST_WINDOW_TUMBLING:
                w->kind = AST_WINDOW_TUMBLING;
                break;
            case AST_WINDOW_SLIDING:
                w->kind = AST_WINDOW_SLIDING;
                weir_diag_error(ctx->diags, @$, "a sliding window needs a slide: window sliding %s every <duration>",
                                loc_text(ctx, @2));
                break;
            case AST_WINDOW_SESSION:
                w->kind = AST_WINDOW_SESSION;
                w->gap_ms = $2;
                weir_diag_error(ctx->diags, @$, "a session window is written with 'gap': window session gap %s",
                                loc_text(ctx, @2));
                break;
            case AST_WINDOW_COUNT:
                w->kind = AST_WINDOW_COUNT;
                weir_diag_error(ctx->diags, @2, "a count window counts events, not time: window count <number of events>");
                break;
            default:
                break;
            }
        }
    | name DURATION EVERY DURATION
        {
            ast_window *w = &ctx->rule->window;
            w->loc = @$;
            w->kind = AST_WINDOW_SLIDING;
            w->size_ms = $2;
            w->slide_ms = $4;
            int kind = window_word(ctx, $1, @1, @2);
            if (kind >= 0 && kind != AST_WINDOW_SLIDING)
                weir_diag_error(ctx->diags, @1, "'every' needs a sliding window: window sliding <size> every <slide>");
        }
    | name name DURATION
        {
            ast_window *w = &ctx->rule->window;
            w->loc = @$;
            w->kind = AST_WINDOW_SESSION;
            w->gap_ms = $3;
            int kind = window_word(ctx, $1, @1, @2);
            if (kind >= 0 && (kind != AST_WINDOW_SESSION || strcmp($2, "gap") != 0))
                weir_diag_error(ctx->diags, @1, "expected 'window session gap <duration>'");
        }
    | name INT_LIT
        {
            ast_window *w = &ctx->rule->window;
            w->loc = @$;
            w->kind = AST_WINDOW_COUNT;
            w->count = $2;
            int kind = window_word(ctx, $1, @1, @2);
            if (kind >= 0 && kind != AST_WINDOW_COUNT)
                weir_diag_error(ctx->diags, @2, "a %s window is measured in time: write a duration such as 10m or 1h",
                                $1);
        }
    | name INT_LIT EVERY INT_LIT
        {
            ast_window *w = &ctx->rule->window;
            w->loc = @$;
            w->kind = AST_WINDOW_COUNT;
            w->count = $2;
            w->count_slide = $4;
            int kind = window_word(ctx, $1, @1, @2);
            if (kind >= 0 && kind != AST_WINDOW_COUNT)
                weir_diag_error(ctx->diags, @2, "a %s window is measured in time: write a duration such as 10m or 1h",
                                $1);
        }
    ;

when_opt
    : %empty
    | WHEN expr   { ctx->rule->when = $2; }
    ;

/* ---------------------------------------------------------------- pattern */

pattern
    : element                      { $$ = $1; }
    | pattern connector element
        {
            $3->conn = $2;
            $3->conn_loc = @2;
            $$ = seq_append($1, $3);
        }
    ;

connector
    : NEXT          { $$ = AST_CONN_NEXT; }
    | THEN          { $$ = AST_CONN_THEN; }
    | THEN ANY      { $$ = AST_CONN_THEN_ANY; }
    | NOT_NEXT      { $$ = AST_CONN_NOT_NEXT; }
    | NOT_THEN      { $$ = AST_CONN_NOT_THEN; }
    ;

element
    : unit                  { $$ = $1; }
    | alternatives
        {
            $$ = weir_ast_elem(ctx->prog, AST_ELEM_ALT, @$);
            $$->alts = $1;
        }
    ;

alternatives
    : unit '|' unit         { $1->next = $3; $$ = $1; }
    | alternatives '|' unit { $$ = seq_append($1, $3); }
    ;

unit
    : step                  { $$ = $1; }
    | '(' pattern ')' quant_opt qmods_opt until_opt
        {
            $$ = weir_ast_elem(ctx->prog, AST_ELEM_GROUP, @$);
            $$->group = $2;
            apply_quant($$, $4, (int)$5, @5, $6);
        }
    ;

step
    : name quant_opt qmods_opt from_opt where_opt until_opt
        {
            $$ = weir_ast_elem(ctx->prog, AST_ELEM_STEP, @$);
            $$->step.name = ident($1, @1);
            $$->step.stream_name = $4;
            $$->step.where = $5;
            $$->step.elem = $$;
            apply_quant($$, $2, (int)$3, @3, $6);
        }
    ;

quant_opt
    : %empty                    { $$ = NULL; }
    | quant reluctant_mark_opt  { $$ = $1; $$->loc = @$; if ($2) $$->reluctant = true; }
    ;

reluctant_mark_opt
    : %empty   { $$ = 0; }
    | '?'      { $$ = 1; }
    ;

quant
    : '?'
        { $$ = WEIR_ARENA_NEW(A, ast_quant); $$->present = true; $$->min = 0; $$->max = 1; }
    | '*'
        { $$ = WEIR_ARENA_NEW(A, ast_quant); $$->present = true; $$->min = 0; $$->max = AST_QUANT_INFINITE; }
    | '+'
        { $$ = WEIR_ARENA_NEW(A, ast_quant); $$->present = true; $$->min = 1; $$->max = AST_QUANT_INFINITE; }
    | '{' INT_LIT '}'
        { $$ = WEIR_ARENA_NEW(A, ast_quant); $$->present = true; $$->min = $2; $$->max = $2; }
    | '{' INT_LIT ',' INT_LIT '}'
        { $$ = WEIR_ARENA_NEW(A, ast_quant); $$->present = true; $$->min = $2; $$->max = $4; }
    | '{' INT_LIT ',' '}'
        { $$ = WEIR_ARENA_NEW(A, ast_quant); $$->present = true; $$->min = $2; $$->max = AST_QUANT_INFINITE; }
    ;

qmods_opt
    : %empty             { $$ = 0; }
    | qmods_opt qmod     { $$ = $1 | $2; }
    ;

qmod
    : GREEDY        { $$ = QMOD_GREEDY; }
    | RELUCTANT     { $$ = QMOD_RELUCTANT; }
    | CONSECUTIVE   { $$ = QMOD_CONSECUTIVE; }
    | ANY           { $$ = QMOD_ANY; }
    ;

/* The location is the stream's name alone, not `from`: that is what an
 * "unknown stream" error should underline. */
from_opt
    : %empty       { $$ = ident(NULL, @$); }
    | FROM name    { $$ = ident($2, @2); }
    ;

where_opt
    : %empty       { $$ = NULL; }
    | WHERE expr   { $$ = $2; }
    ;

until_opt
    : %empty       { $$ = NULL; }
    | UNTIL expr   { $$ = $2; }
    ;

/* ------------------------------------------------------------ expressions */

expr
    : expr OR expr        { $$ = binary(ctx, AST_BIN_OR, $1, $3, @$); }
    | expr AND expr       { $$ = binary(ctx, AST_BIN_AND, $1, $3, @$); }
    | NOT expr
        {
            $$ = lit(ctx, AST_EXPR_UNARY, @$);
            $$->u.unary.op = AST_UNARY_NOT;
            $$->u.unary.operand = $2;
        }
    | expr EQ expr        { $$ = binary(ctx, AST_BIN_EQ, $1, $3, @$); }
    | expr NE expr        { $$ = binary(ctx, AST_BIN_NE, $1, $3, @$); }
    | expr '<' expr       { $$ = binary(ctx, AST_BIN_LT, $1, $3, @$); }
    | expr LE expr        { $$ = binary(ctx, AST_BIN_LE, $1, $3, @$); }
    | expr '>' expr       { $$ = binary(ctx, AST_BIN_GT, $1, $3, @$); }
    | expr GE expr        { $$ = binary(ctx, AST_BIN_GE, $1, $3, @$); }
    | expr IN expr
        {
            $$ = lit(ctx, AST_EXPR_IN, @$);
            $$->u.in.value = $1;
            $$->u.in.set = $3;
        }
    | expr NOT_IN expr
        {
            $$ = lit(ctx, AST_EXPR_IN, @$);
            $$->u.in.value = $1;
            $$->u.in.set = $3;
            $$->u.in.negated = true;
        }
    | expr '+' expr       { $$ = binary(ctx, AST_BIN_ADD, $1, $3, @$); }
    | expr '-' expr       { $$ = binary(ctx, AST_BIN_SUB, $1, $3, @$); }
    | expr '*' expr       { $$ = binary(ctx, AST_BIN_MUL, $1, $3, @$); }
    | expr '/' expr       { $$ = binary(ctx, AST_BIN_DIV, $1, $3, @$); }
    | expr '%' expr       { $$ = binary(ctx, AST_BIN_MOD, $1, $3, @$); }
    | '-' expr %prec UNARY_MINUS
        {
            $$ = lit(ctx, AST_EXPR_UNARY, @$);
            $$->u.unary.op = AST_UNARY_NEG;
            $$->u.unary.operand = $2;
        }
    | postfix             { $$ = $1; }
    ;

postfix
    : primary             { $$ = $1; }
    | postfix '.' name
        {
            $$ = lit(ctx, AST_EXPR_FIELD, @$);
            $$->u.field.base = $1;
            $$->u.field.field = ident($3, @3);
        }
    | postfix '[' INT_LIT ']'
        {
            $$ = lit(ctx, AST_EXPR_INDEX, @$);
            $$->u.index.base = $1;
            $$->u.index.index = $3;
            $$->u.index.index_loc = @3;
        }
    | postfix '[' '-' INT_LIT ']'
        {
            $$ = lit(ctx, AST_EXPR_INDEX, @$);
            $$->u.index.base = $1;
            $$->u.index.index = -$4;
            $$->u.index.index_loc = weir_loc_span(@3, @4);
        }
    ;

primary
    : literal             { $$ = $1; }
    | name
        {
            $$ = lit(ctx, AST_EXPR_NAME, @$);
            $$->u.name = ident($1, @1);
        }
    | name '(' args_opt ')'
        {
            $$ = lit(ctx, AST_EXPR_CALL, @$);
            $$->u.call.func = ident($1, @1);
            $$->u.call.builtin = -1;
            if ($3) {
                $$->u.call.args = $3->head;
                $$->u.call.n_args = $3->n;
            }
        }
    | name '(' DISTINCT expr ')'
        {
            $$ = lit(ctx, AST_EXPR_CALL, @$);
            $$->u.call.func = ident($1, @1);
            $$->u.call.builtin = -1;
            $$->u.call.args = $4;
            $$->u.call.n_args = 1;
            $$->u.call.distinct = true;
        }
    | '(' expr ')'
        {
            $$ = $2;
            $$->loc = @$;
        }
    | list_literal        { $$ = $1; }
    ;

args_opt
    : %empty              { $$ = NULL; }
    | args                { $$ = $1; }
    ;

args
    : expr                { $$ = NULL; expr_list_add(ctx, &$$, $1); }
    | args ',' expr       { $$ = $1; expr_list_add(ctx, &$$, $3); }
    ;

literal
    : INT_LIT
        { $$ = lit(ctx, AST_EXPR_INT, @$); $$->u.int_value = $1; }
    | DECIMAL_LIT
        { $$ = lit(ctx, AST_EXPR_DECIMAL, @$); $$->u.decimal_value = $1; }
    | FLOAT_LIT
        { $$ = lit(ctx, AST_EXPR_FLOAT, @$); $$->u.float_value = $1; }
    | STRING_LIT
        { $$ = lit(ctx, AST_EXPR_STRING, @$); $$->u.string_value = $1; }
    | BOOL_LIT
        { $$ = lit(ctx, AST_EXPR_BOOL, @$); $$->u.bool_value = $1; }
    | DURATION
        { $$ = lit(ctx, AST_EXPR_DURATION, @$); $$->u.duration_ms = $1; }
    ;

%%

static void weir_yyerror(WEIR_YYLTYPE *loc, void *scanner,
                         struct weir_parse_ctx *ctx, const char *msg)
{
    (void)scanner;
    weir_diag_error(ctx->diags, *loc, "%s", msg);
}

/* The spelling of a token for a message: 'then', a name 'foo', "a string". */
static void describe_token(struct weir_parse_ctx *ctx, yysymbol_kind_t sym,
                           const weir_loc *loc, char *out, size_t size)
{
    const weir_source_file *f = &ctx->sources->files[ctx->file];
    int len = (int)(loc->end - loc->begin);
    if (len > 40)
        len = 40;
    switch (sym) {
    case YYSYMBOL_YYEOF:
        snprintf(out, size, "end of file");
        return;
    case YYSYMBOL_IDENT:
        snprintf(out, size, "name '%.*s'", len, f->text + loc->begin);
        return;
    case YYSYMBOL_STRING_LIT:
        snprintf(out, size, "string %.*s", len, f->text + loc->begin);
        return;
    case YYSYMBOL_INT_LIT:
    case YYSYMBOL_DECIMAL_LIT:
    case YYSYMBOL_FLOAT_LIT:
    case YYSYMBOL_DURATION:
    case YYSYMBOL_BOOL_LIT:
        snprintf(out, size, "'%.*s'", len, f->text + loc->begin);
        return;
    default:
        break;
    }
    const char *name = yysymbol_name(sym);
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '"' && name[n - 1] == '"')
        snprintf(out, size, "'%.*s'", (int)(n - 2), name + 1);
    else if (n >= 1 && name[0] == '\'')
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "'%s'", name);
}

static void expected_name(yysymbol_kind_t sym, char *out, size_t size)
{
    switch (sym) {
    case YYSYMBOL_IDENT: snprintf(out, size, "a name"); return;
    case YYSYMBOL_STRING_LIT: snprintf(out, size, "a string"); return;
    case YYSYMBOL_INT_LIT: snprintf(out, size, "an integer"); return;
    case YYSYMBOL_DURATION: snprintf(out, size, "a duration"); return;
    case YYSYMBOL_YYEOF: snprintf(out, size, "end of file"); return;
    default: break;
    }
    const char *name = yysymbol_name(sym);
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '"' && name[n - 1] == '"')
        snprintf(out, size, "'%.*s'", (int)(n - 2), name + 1);
    else if (n >= 1 && name[0] == '\'')
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "'%s'", name);
}

/* Tokens that can begin an expression. Where an expression may stand,
 * the message says "an expression" instead of listing a dozen of them. */
static bool starts_expression(yysymbol_kind_t sym)
{
    switch (sym) {
    case YYSYMBOL_NOT: case YYSYMBOL_INT_LIT: case YYSYMBOL_DECIMAL_LIT:
    case YYSYMBOL_FLOAT_LIT: case YYSYMBOL_STRING_LIT: case YYSYMBOL_BOOL_LIT:
    case YYSYMBOL_DURATION: case YYSYMBOL_IDENT: case YYSYMBOL_TIME:
    case YYSYMBOL_EVENT: case YYSYMBOL_TIMEOUT: case YYSYMBOL_KEEP:
        return true;
    default: {
        const char *name = yysymbol_name(sym);
        return strcmp(name, "'-'") == 0 || strcmp(name, "'('") == 0 || strcmp(name, "'['") == 0;
    }
    }
}

static int yyreport_syntax_error(const yypcontext_t *yyctx, void *scanner,
                                 struct weir_parse_ctx *ctx)
{
    (void)scanner;
    yysymbol_kind_t lookahead = yypcontext_token(yyctx);
    const weir_loc *loc = yypcontext_location(yyctx);
    if (lookahead == YYSYMBOL_YYUNDEF && ctx->lex_error_reported) {
        ctx->lex_error_reported = false; /* the lexer said it better */
        return 0;
    }
    yysymbol_kind_t all[YYNTOKENS];
    int n_all = yypcontext_expected_tokens(yyctx, all, YYNTOKENS);
    bool name_expected = false, int_expected = false, not_expected = false;
    for (int i = 0; i < n_all; i++) {
        name_expected |= all[i] == YYSYMBOL_IDENT;
        int_expected |= all[i] == YYSYMBOL_INT_LIT;
        not_expected |= all[i] == YYSYMBOL_NOT;
    }
    /* `not` stands only at the start of an expression */
    bool expr_expected = int_expected && not_expected;
    /* What to list: "an expression" stands for its first tokens, and
     * where a name may stand, the soft keywords that double as names are
     * noise: "a name" says it. */
    const char *items[6];
    char item_text[6][64];
    int n = 0;
    if (expr_expected)
        items[n++] = "an expression";
    bool too_many = false;
    for (int i = 0; i < n_all; i++) {
        if (expr_expected && starts_expression(all[i]))
            continue;
        if (name_expected && (all[i] == YYSYMBOL_TIME || all[i] == YYSYMBOL_EVENT ||
                              all[i] == YYSYMBOL_TIMEOUT || all[i] == YYSYMBOL_KEEP))
            continue;
        if (n == 5) {
            too_many = true;
            break;
        }
        expected_name(all[i], item_text[n], sizeof item_text[n]);
        items[n] = item_text[n];
        n++;
    }

    char got[96];
    describe_token(ctx, lookahead, loc, got, sizeof got);
    char msg[512];
    size_t len = (size_t)snprintf(msg, sizeof msg, "unexpected %s", got);
    if (n > 0 && !too_many) {
        len += (size_t)snprintf(msg + len, sizeof msg - len, ", expected ");
        for (int i = 0; i < n && len < sizeof msg; i++) {
            const char *sep = i == 0 ? "" : (i == n - 1 ? " or " : ", ");
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", sep, items[i]);
        }
    }
    /* Too many to list, but one of them closes a bracket: often the
     * bracket is what was forgotten. */
    const char *closer = NULL;
    for (int i = 0; i < n_all && too_many; i++) {
        const char *name = yysymbol_name(all[i]);
        if (strcmp(name, "')'") == 0 || strcmp(name, "']'") == 0 || strcmp(name, "'}'") == 0)
            closer = name;
    }
    if (closer && len < sizeof msg)
        len += (size_t)snprintf(msg + len, sizeof msg - len, " (is a %s missing?)", closer);
    /* The grammar has no place for a negation before the first step of a
     * pattern or a group; say why rather than only what. */
    bool negation = lookahead == YYSYMBOL_NOT_THEN || lookahead == YYSYMBOL_NOT_NEXT;
    if (negation && name_expected && !expr_expected && len < sizeof msg)
        snprintf(msg + len, sizeof msg - len, " ('%s' goes between two steps, as in 'a %s b')",
                 weir_ast_connector_text(lookahead == YYSYMBOL_NOT_THEN ? AST_CONN_NOT_THEN
                                                                       : AST_CONN_NOT_NEXT),
                 weir_ast_connector_text(lookahead == YYSYMBOL_NOT_THEN ? AST_CONN_NOT_THEN
                                                                       : AST_CONN_NOT_NEXT));
    weir_diag_error(ctx->diags, *loc, "%s", msg);
    return 0;
}
