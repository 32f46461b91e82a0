/* test_parser.c — the grammar: every construct parses into the tree it
 * should, every location points at the right bytes, and syntax errors are
 * reported once each with recovery at the next declaration. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

static const char *PAYMENTS =
    "stream payments from kafka \"payments\"\n"
    "  event time ts, lateness 5s\n"
    "  { card string, amount decimal, merchant string, mcc int,\n"
    "    country string, lat float, lon float, ts time }\n";

static test_parse *parse_ok(const char *text)
{
    test_parse *t = test_parse_text(text);
    cr_assert(t->parsed_ok, "expected a clean parse of:\n%s\ngot:\n%s", text, t->output);
    cr_assert_str_eq(t->output, "");
    return t;
}

static ast_rule *rule_ok(test_parse **t, const char *rule_text)
{
    char text[4096];
    snprintf(text, sizeof text, "%s%s", PAYMENTS, rule_text);
    *t = parse_ok(text);
    cr_assert_not_null((*t)->prog->rules);
    return (*t)->prog->rules;
}

static const char *loc_text(test_parse *t, weir_loc loc)
{
    static char buf[256];
    size_t n = loc.end - loc.begin;
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    memcpy(buf, t->sources.files[loc.file].text + loc.begin, n);
    buf[n] = '\0';
    return buf;
}

Test(parser, empty_file)
{
    test_parse *t = parse_ok("");
    cr_assert_null(t->prog->rules);
    test_parse_free(t);
}

Test(parser, stream_declaration)
{
    test_parse *t = parse_ok(PAYMENTS);
    ast_stream *s = t->prog->streams;
    cr_assert_str_eq(s->name.name, "payments");
    cr_assert_eq(s->source, AST_SOURCE_KAFKA);
    cr_assert_str_eq(s->source_arg, "payments");
    cr_assert(s->event_time);
    cr_assert_str_eq(s->time_field.name, "ts");
    cr_assert_eq(s->lateness_ms, 5000);
    cr_assert_eq(s->n_fields, 8);
    ast_field *f = s->fields->next;
    cr_assert_str_eq(f->name.name, "amount");
    cr_assert_eq(f->type, WEIR_T_DECIMAL);
    cr_assert_eq(f->index, 1);
    cr_assert_str_eq(loc_text(t, f->name.loc), "amount");
    cr_assert_str_eq(loc_text(t, f->type_loc), "decimal");
    test_parse_free(t);
}

Test(parser, stream_sources)
{
    test_parse *t = parse_ok("stream a from tcp { x int }\nstream b from http { x int }\n"
                             "stream c from file \"e.jsonl\" { x int }\nstream d from stdin processing time { x int }\n"
                             "stream e { x int, }\n");
    ast_stream *s = t->prog->streams;
    cr_assert_eq(s->source, AST_SOURCE_TCP);
    cr_assert_eq(s->next->source, AST_SOURCE_HTTP);
    cr_assert_eq(s->next->next->source, AST_SOURCE_FILE);
    cr_assert_str_eq(s->next->next->source_arg, "e.jsonl");
    cr_assert_eq(s->next->next->next->source, AST_SOURCE_STDIN);
    cr_assert_not(s->next->next->next->event_time);
    cr_assert_eq(s->next->next->next->next->source, AST_SOURCE_NONE);
    test_parse_free(t);
}

Test(parser, unknown_source)
{
    test_parse *t = test_parse_text("stream a from kafak \"x\" { x int }\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:15: error: unknown source 'kafak' (use kafka, tcp, http, file or stdin)\n"
                     "    stream a from kafak \"x\" { x int }\n"
                     "                  ^~~~~\n");
    test_parse_free(t);
}

Test(parser, sink_with_options)
{
    test_parse *t = parse_ok("sink fraud_team webhook \"https://h.example/f\"\n"
                             "  timeout 2s, retries 8, sign hmac env(\"WEBHOOK_SECRET\")\n"
                             "sink console stdout\n");
    ast_sink *s = t->prog->sinks;
    cr_assert_str_eq(s->name.name, "fraud_team");
    cr_assert_str_eq(s->kind.name, "webhook");
    cr_assert_str_eq(s->target, "https://h.example/f");
    ast_option *o = s->options;
    cr_assert_str_eq(o->name.name, "timeout");
    cr_assert_eq(o->values->u.duration_ms, 2000);
    cr_assert_str_eq(o->next->name.name, "retries");
    cr_assert_eq(o->next->values->u.int_value, 8);
    ast_option *sign = o->next->next;
    cr_assert_str_eq(sign->name.name, "sign");
    cr_assert_eq(sign->n_values, 2);
    cr_assert_str_eq(sign->values->u.name.name, "hmac");
    cr_assert_eq(sign->values->next->kind, AST_EXPR_CALL);
    cr_assert_str_eq(sign->values->next->u.call.func.name, "env");
    cr_assert_str_eq(sign->values->next->u.call.args->u.string_value, "WEBHOOK_SECRET");
    cr_assert_str_eq(s->next->kind.name, "stdout");
    cr_assert_null(s->next->target);
    test_parse_free(t);
}

Test(parser, lists)
{
    test_parse *t = parse_ok("list high_risk_mcc = [7995, 5967, 4829]\n"
                             "list countries string = [\"KP\", \"IR\",]\n"
                             "list bad_ips from file \"bad_ips.txt\"\n"
                             "list empty int = []\n");
    ast_list_decl *l = t->prog->lists;
    cr_assert_str_eq(l->name.name, "high_risk_mcc");
    cr_assert_not(l->type_declared);
    cr_assert_eq(l->items->u.list.n_items, 3);
    cr_assert_str_eq(l->next->type_name, "string");
    cr_assert_eq(l->next->items->u.list.n_items, 2);
    cr_assert_str_eq(l->next->next->from_file, "bad_ips.txt");
    cr_assert_eq(l->next->next->next->items->u.list.n_items, 0);
    test_parse_free(t);
}

Test(parser, include)
{
    test_parse *t = parse_ok("include \"streams.weir\"\ninclude \"lists.weir\"\n");
    cr_assert_str_eq(t->prog->includes->path, "streams.weir");
    cr_assert_str_eq(t->prog->includes->next->path, "lists.weir");
    test_parse_free(t);
}

Test(parser, design_card_testing)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule card_testing\n"
        "  \"Three or more sub-$2 probes, then a purchase of $500 or more, within 10 minutes\"\n"
        "  on payments by card\n"
        "  match probe{3,} where amount < 2.00\n"
        "        then big  where amount >= 500 and merchant != probe[-1].merchant\n"
        "  within 10m\n"
        "  severity high\n"
        "  emit to fraud_team { card, probes: count(probe), spent: big.amount }\n");
    cr_assert_str_eq(r->name.name, "card_testing");
    cr_assert_str_eq(r->description,
                     "Three or more sub-$2 probes, then a purchase of $500 or more, within 10 minutes");
    cr_assert_eq(r->kind, AST_RULE_PATTERN);
    cr_assert_str_eq(r->inputs->stream_name.name, "payments");
    cr_assert_str_eq(r->inputs->key_field.name, "card");
    ast_elem *probe = r->pattern;
    cr_assert_eq(probe->kind, AST_ELEM_STEP);
    cr_assert_eq(probe->conn, AST_CONN_FIRST);
    cr_assert_str_eq(probe->step.name.name, "probe");
    cr_assert(probe->quant.present);
    cr_assert_eq(probe->quant.min, 3);
    cr_assert_eq(probe->quant.max, AST_QUANT_INFINITE);
    cr_assert_str_eq(loc_text(t, probe->step.where->loc), "amount < 2.00");
    ast_elem *big = probe->next;
    cr_assert_eq(big->conn, AST_CONN_THEN);
    cr_assert_str_eq(big->step.name.name, "big");
    ast_expr *w = big->step.where;
    cr_assert_eq(w->u.binary.op, AST_BIN_AND);
    ast_expr *ne = w->u.binary.right;
    cr_assert_eq(ne->u.binary.op, AST_BIN_NE);
    ast_expr *fld = ne->u.binary.right;
    cr_assert_eq(fld->kind, AST_EXPR_FIELD);
    cr_assert_str_eq(fld->u.field.field.name, "merchant");
    cr_assert_eq(fld->u.field.base->kind, AST_EXPR_INDEX);
    cr_assert_eq(fld->u.field.base->u.index.index, -1);
    cr_assert_str_eq(loc_text(t, fld->loc), "probe[-1].merchant");
    cr_assert(r->has_within);
    cr_assert_eq(r->within_ms, 600000);
    cr_assert_eq(r->severity, AST_SEVERITY_HIGH);
    cr_assert(r->emit.present);
    cr_assert_eq(r->emit.n_sinks, 1);
    cr_assert_str_eq(r->emit.sinks[0].name, "fraud_team");
    cr_assert_eq(r->emit.n_fields, 3);
    cr_assert_str_eq(r->emit.fields->name.name, "card");
    cr_assert_eq(r->emit.fields->value->kind, AST_EXPR_NAME);
    ast_emit_field *probes = r->emit.fields->next;
    cr_assert_eq(probes->value->kind, AST_EXPR_CALL);
    cr_assert_str_eq(probes->value->u.call.func.name, "count");
    test_parse_free(t);
}

Test(parser, design_card_velocity)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule card_velocity\n"
        "  on payments by card\n"
        "  window sliding 1h every 5m\n"
        "  when count() > 20 or sum(amount) > 5000\n"
        "  emit to fraud_team { card, txns: count(), total: sum(amount) }\n");
    cr_assert_eq(r->kind, AST_RULE_WINDOW);
    cr_assert_eq(r->window.kind, AST_WINDOW_SLIDING);
    cr_assert_eq(r->window.size_ms, 3600000);
    cr_assert_eq(r->window.slide_ms, 300000);
    cr_assert_not_null(r->when);
    cr_assert_eq(r->when->u.binary.op, AST_BIN_OR);
    cr_assert_eq(r->emit.n_fields, 3);
    test_parse_free(t);
}

Test(parser, window_kinds)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule a on payments by card window tumbling 1h where amount > 0 when count() > 1\n"
        "rule b on payments by card window session gap 30m\n"
        "rule c on payments by card window count 100\n"
        "rule d on payments by card window count 100 every 10\n");
    cr_assert_eq(r->window.kind, AST_WINDOW_TUMBLING);
    cr_assert_not_null(r->filter);
    cr_assert_eq(r->next->window.kind, AST_WINDOW_SESSION);
    cr_assert_eq(r->next->window.gap_ms, 1800000);
    cr_assert_eq(r->next->next->window.kind, AST_WINDOW_COUNT);
    cr_assert_eq(r->next->next->window.count, 100);
    cr_assert_eq(r->next->next->next->window.count_slide, 10);
    test_parse_free(t);
}

Test(parser, window_misspelt)
{
    test_parse *t = test_parse_text("rule a on p by c window tumbing 1h\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:25: error: unknown window 'tumbing 1h' (use tumbling, sliding, session or count)\n"
                     "    rule a on p by c window tumbing 1h\n"
                     "                            ^~~~~~~\n");
    test_parse_free(t);
}

Test(parser, connectors)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card match a next b then c then any d not next e not then f then g within 1m\n");
    ast_connector want[] = {AST_CONN_FIRST, AST_CONN_NEXT, AST_CONN_THEN, AST_CONN_THEN_ANY,
                            AST_CONN_NOT_NEXT, AST_CONN_NOT_THEN, AST_CONN_THEN};
    const char *names[] = {"a", "b", "c", "d", "e", "f", "g"};
    ast_elem *e = r->pattern;
    for (int i = 0; i < 7; i++, e = e->next) {
        cr_assert_not_null(e);
        cr_assert_eq(e->conn, want[i], "element %d", i);
        cr_assert_str_eq(e->step.name.name, names[i]);
    }
    cr_assert_null(e);
    test_parse_free(t);
}

Test(parser, quantifiers)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card match a? then b* then c+ then d{2} then e{2,4} then f{3,} then g+? then h\n");
    struct { int64_t min, max; bool reluctant; } want[] = {
        {0, 1, false}, {0, AST_QUANT_INFINITE, false}, {1, AST_QUANT_INFINITE, false},
        {2, 2, false}, {2, 4, false}, {3, AST_QUANT_INFINITE, false},
        {1, AST_QUANT_INFINITE, true}, {1, 1, false},
    };
    ast_elem *e = r->pattern;
    for (int i = 0; i < 8; i++, e = e->next) {
        cr_assert_eq(e->quant.min, want[i].min, "element %d", i);
        cr_assert_eq(e->quant.max, want[i].max, "element %d", i);
        cr_assert_eq(e->quant.reluctant, want[i].reluctant, "element %d", i);
        cr_assert_eq(e->quant.present, i != 7);
    }
    test_parse_free(t);
}

Test(parser, quantifier_modifiers)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card\n"
        "  match a+ greedy consecutive where amount < 1 until amount > 100\n"
        "  then b{2,} any reluctant then c\n");
    ast_elem *a = r->pattern;
    cr_assert(a->quant.greedy);
    cr_assert_eq(a->quant.inner, AST_INNER_CONSECUTIVE);
    cr_assert_not_null(a->step.where);
    cr_assert_not_null(a->quant.until);
    cr_assert_str_eq(loc_text(t, a->quant.until->loc), "amount > 100");
    ast_elem *b = a->next;
    cr_assert_eq(b->quant.inner, AST_INNER_ANY);
    cr_assert(b->quant.reluctant);
    test_parse_free(t);
}

Test(parser, groups)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card match (a then b){2} then (c next d)+ consecutive then e\n");
    ast_elem *g = r->pattern;
    cr_assert_eq(g->kind, AST_ELEM_GROUP);
    cr_assert_eq(g->quant.min, 2);
    cr_assert_eq(g->quant.max, 2);
    cr_assert_str_eq(g->group->step.name.name, "a");
    cr_assert_eq(g->group->next->conn, AST_CONN_THEN);
    ast_elem *g2 = g->next;
    cr_assert_eq(g2->kind, AST_ELEM_GROUP);
    cr_assert_eq(g2->conn, AST_CONN_THEN);
    cr_assert_eq(g2->quant.max, AST_QUANT_INFINITE);
    cr_assert_eq(g2->quant.inner, AST_INNER_CONSECUTIVE);
    cr_assert_eq(g2->group->next->conn, AST_CONN_NEXT);
    test_parse_free(t);
}

Test(parser, alternation)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card match a then b where amount > 1 | c where amount < 0 | d then e\n");
    ast_elem *alt = r->pattern->next;
    cr_assert_eq(alt->kind, AST_ELEM_ALT);
    cr_assert_eq(alt->conn, AST_CONN_THEN);
    cr_assert_str_eq(alt->alts->step.name.name, "b");
    cr_assert_str_eq(alt->alts->next->step.name.name, "c");
    cr_assert_str_eq(alt->alts->next->next->step.name.name, "d");
    cr_assert_null(alt->alts->next->next->next);
    cr_assert_str_eq(alt->next->step.name.name, "e");
    test_parse_free(t);
}

Test(parser, skip_strategies)
{
    const char *clauses[] = {"no skip", "skip to next", "skip past last", "skip to first a",
                             "skip to last a"};
    ast_skip_kind want[] = {AST_SKIP_NO_SKIP, AST_SKIP_TO_NEXT, AST_SKIP_PAST_LAST,
                            AST_SKIP_TO_FIRST, AST_SKIP_TO_LAST};
    for (int i = 0; i < 5; i++) {
        char text[256];
        snprintf(text, sizeof text, "rule r on payments by card match a+ then b within 1m %s\n",
                 clauses[i]);
        test_parse *t;
        ast_rule *r = rule_ok(&t, text);
        cr_assert_eq(r->skip, want[i], "%s", clauses[i]);
        if (i >= 3)
            cr_assert_str_eq(r->skip_step.name, "a");
        test_parse_free(t);
    }
}

Test(parser, default_skip_and_severity)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t, "rule r on payments by card match a\n");
    cr_assert_eq(r->skip, AST_SKIP_DEFAULT);
    cr_assert_eq(r->severity, AST_SEVERITY_DEFAULT);
    cr_assert_not(r->emit.present);
    test_parse_free(t);
}

Test(parser, multi_stream_steps)
{
    test_parse *t = parse_ok(
        "stream resets { account string, ts time }\n"
        "stream logins { account string, device string, ts time }\n"
        "rule ato on resets by account, logins by account\n"
        "  match r from resets then l from logins where device != \"x\" within 1h\n");
    ast_rule *r = t->prog->rules;
    cr_assert_eq(r->n_inputs, 2);
    cr_assert_str_eq(r->inputs->next->stream_name.name, "logins");
    cr_assert_str_eq(r->pattern->step.stream_name.name, "resets");
    cr_assert_str_eq(r->pattern->next->step.stream_name.name, "logins");
    cr_assert_null(r->pattern->next->next);
    test_parse_free(t);
}

Test(parser, throttle_timeout_emit)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card match a then b within 10m\n"
        "  throttle 1h\n"
        "  on timeout emit to ops { card }\n"
        "  emit { card, total: a.amount + b.amount }\n");
    cr_assert(r->has_throttle);
    cr_assert_eq(r->throttle_ms, 3600000);
    cr_assert(r->on_timeout.present);
    cr_assert_str_eq(r->on_timeout.sinks[0].name, "ops");
    cr_assert(r->emit.present);
    cr_assert_eq(r->emit.n_sinks, 0);
    cr_assert_eq(r->emit.fields->next->value->u.binary.op, AST_BIN_ADD);
    test_parse_free(t);
}

Test(parser, operator_precedence)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card match a where not amount > 1 + 2 * 3 and mcc in [1] or -lat < 0\n");
    ast_expr *e = r->pattern->step.where;
    cr_assert_eq(e->u.binary.op, AST_BIN_OR);
    ast_expr *land = e->u.binary.left;
    cr_assert_eq(land->u.binary.op, AST_BIN_AND);
    ast_expr *lnot = land->u.binary.left;
    cr_assert_eq(lnot->kind, AST_EXPR_UNARY);
    cr_assert_eq(lnot->u.unary.op, AST_UNARY_NOT);
    ast_expr *gt = lnot->u.unary.operand;
    cr_assert_eq(gt->u.binary.op, AST_BIN_GT);
    ast_expr *add = gt->u.binary.right;
    cr_assert_eq(add->u.binary.op, AST_BIN_ADD);
    cr_assert_eq(add->u.binary.right->u.binary.op, AST_BIN_MUL);
    cr_assert_eq(land->u.binary.right->kind, AST_EXPR_IN);
    ast_expr *lt = e->u.binary.right;
    cr_assert_eq(lt->u.binary.left->kind, AST_EXPR_UNARY);
    cr_assert_eq(lt->u.binary.left->u.unary.op, AST_UNARY_NEG);
    test_parse_free(t);
}

Test(parser, count_distinct)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card window tumbling 1h when count(distinct merchant) > 3\n");
    ast_expr *call = r->when->u.binary.left;
    cr_assert_eq(call->kind, AST_EXPR_CALL);
    cr_assert(call->u.call.distinct);
    cr_assert_str_eq(call->u.call.args->u.name.name, "merchant");
    test_parse_free(t);
}

Test(parser, syntax_error_message)
{
    test_parse *t = test_parse_text("rule r on p by c match a where amount < then b\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:41: error: unexpected 'then', expected an expression\n"
                     "    rule r on p by c match a where amount < then b\n"
                     "                                            ^~~~\n");
    test_parse_free(t);
}

Test(parser, syntax_error_expected_list)
{
    test_parse *t = test_parse_text("rule r on p by c match a then\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:30: error: unexpected end of file, expected 'any', a name or '('\n"
                     "    rule r on p by c match a then\n"
                     "                                 ^\n");
    test_parse_free(t);
}

Test(parser, missing_key)
{
    test_parse *t = test_parse_text("rule r on payments match a\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:20: error: unexpected 'match', expected 'by'\n"
                     "    rule r on payments match a\n"
                     "                       ^~~~~\n");
    test_parse_free(t);
}

Test(parser, recovers_at_next_declaration)
{
    test_parse *t = test_parse_text(
        "rule bad1 on p by c match a where amount <\n"
        "stream ok { a int }\n"
        "rule bad2 on p by c match (a then b\n"
        "sink good stdout\n"
        "rule bad3 on p by c window weekly 1h\n");
    cr_assert_not(t->parsed_ok);
    /* three errors, one per broken declaration, and the good ones kept */
    int lines = 0;
    for (const char *p = t->output; (p = strstr(p, ": error: ")); p++)
        lines++;
    cr_assert_eq(lines, 3, "%s", t->output);
    cr_assert_str_eq(t->prog->streams->name.name, "ok");
    cr_assert_str_eq(t->prog->sinks->name.name, "good");
    test_parse_free(t);
}

Test(parser, duplicate_emit)
{
    test_parse *t = test_parse_text("rule r on p by c match a emit { c } emit { c }\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:37: error: duplicate 'emit' clause\n"
                     "    rule r on p by c match a emit { c } emit { c }\n"
                     "                                        ^~~~~~~~~~\n"
                     "test.weir:1:26: note: first given here\n"
                     "    rule r on p by c match a emit { c } emit { c }\n"
                     "                             ^~~~~~~~~~\n");
    test_parse_free(t);
}

Test(parser, duplicate_on_timeout_emit)
{
    test_parse *t = test_parse_text("rule r on p by c match a within 1m on timeout emit on timeout emit\n");
    cr_assert(strstr(t->output, "test.weir:1:52: error: duplicate 'on timeout emit' clause\n") != NULL,
              "%s", t->output);
    cr_assert(strstr(t->output, "test.weir:1:36: note: first given here\n") != NULL, "%s", t->output);
    test_parse_free(t);
}

Test(parser, duplicate_severity)
{
    test_parse *t = test_parse_text("rule r on p by c match a severity high severity low\n");
    cr_assert_not(t->parsed_ok);
    cr_assert_str_eq(t->output,
                     "test.weir:1:40: error: duplicate 'severity' clause\n"
                     "    rule r on p by c match a severity high severity low\n"
                     "                                           ^~~~~~~~~~~~\n"
                     "test.weir:1:26: note: first given here\n"
                     "    rule r on p by c match a severity high severity low\n"
                     "                             ^~~~~~~~~~~~~\n");
    /* the first one stands */
    cr_assert_eq(t->prog->rules->severity, AST_SEVERITY_HIGH);
    test_parse_free(t);
}

Test(parser, duplicate_severity_even_when_the_first_is_bad)
{
    test_parse *t = test_parse_text("rule r on p by c match a severity urgent severity low\n");
    cr_assert(strstr(t->output, "error: unknown severity 'urgent'") != NULL, "%s", t->output);
    cr_assert(strstr(t->output, "test.weir:1:42: error: duplicate 'severity' clause\n") != NULL,
              "%s", t->output);
    test_parse_free(t);
}

Test(parser, duplicate_throttle)
{
    test_parse *t = test_parse_text("rule r on p by c match a throttle 1h\n  throttle 5m\n");
    cr_assert_str_eq(t->output,
                     "test.weir:2:3: error: duplicate 'throttle' clause\n"
                     "      throttle 5m\n"
                     "      ^~~~~~~~~~~\n"
                     "test.weir:1:26: note: first given here\n"
                     "    rule r on p by c match a throttle 1h\n"
                     "                             ^~~~~~~~~~~\n");
    cr_assert_eq(t->prog->rules->throttle_ms, 3600000);
    test_parse_free(t);
}

Test(parser, duplicate_within)
{
    test_parse *t = test_parse_text("rule r on p by c match a then b within 1h severity low within 5m\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:56: error: duplicate 'within' clause\n"
                     "    rule r on p by c match a then b within 1h severity low within 5m\n"
                     "                                                           ^~~~~~~~~\n"
                     "test.weir:1:33: note: first given here\n"
                     "    rule r on p by c match a then b within 1h severity low within 5m\n"
                     "                                    ^~~~~~~~~\n");
    cr_assert_eq(t->prog->rules->within_ms, 3600000);
    test_parse_free(t);
}

Test(parser, duplicate_skip)
{
    /* two different strategies are as much a duplicate as the same one twice */
    test_parse *t = test_parse_text("rule r on p by c match a+ then b no skip skip to first a\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:42: error: duplicate skip clause\n"
                     "    rule r on p by c match a+ then b no skip skip to first a\n"
                     "                                             ^~~~~~~~~~~~~~~\n"
                     "test.weir:1:34: note: first given here\n"
                     "    rule r on p by c match a+ then b no skip skip to first a\n"
                     "                                     ^~~~~~~\n");
    cr_assert_eq(t->prog->rules->skip, AST_SKIP_NO_SKIP);
    cr_assert_null(t->prog->rules->skip_step.name);
    test_parse_free(t);
}

Test(parser, every_clause_once_is_fine)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t,
        "rule r on payments by card match a+ then b\n"
        "  severity low throttle 1h within 10m skip to last a emit { card } on timeout emit\n");
    cr_assert_eq(r->severity, AST_SEVERITY_LOW);
    cr_assert_eq(r->skip, AST_SKIP_TO_LAST);
    cr_assert_str_eq(loc_text(t, r->severity_loc), "severity low");
    cr_assert_str_eq(loc_text(t, r->skip_loc), "skip to last a");
    cr_assert_str_eq(loc_text(t, r->within_loc), "within 10m");
    cr_assert_str_eq(loc_text(t, r->throttle_loc), "throttle 1h");
    test_parse_free(t);
}

Test(parser, step_stream_location_is_the_name)
{
    test_parse *t = parse_ok(
        "rule ato on resets by account, logins by account\n"
        "  match r from resets then l  from   logins where device != \"x\" then m within 1h\n");
    ast_elem *r = t->prog->rules->pattern;
    cr_assert_str_eq(loc_text(t, r->step.stream_name.loc), "resets");
    cr_assert_str_eq(loc_text(t, r->next->step.stream_name.loc), "logins");
    /* no `from`: no name, and the step's own location is unaffected */
    cr_assert_null(r->next->next->step.stream_name.name);
    cr_assert_str_eq(loc_text(t, r->next->next->loc), "m");
    cr_assert_str_eq(loc_text(t, r->next->loc), "l  from   logins where device != \"x\"");
    test_parse_free(t);
}

Test(parser, window_session_without_gap)
{
    test_parse *t = test_parse_text("rule a on p by c window session 30m\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:25: error: a session window is written with 'gap': window session gap 30m\n"
                     "    rule a on p by c window session 30m\n"
                     "                            ^~~~~~~~~~~\n");
    test_parse_free(t);
}

Test(parser, window_kind_in_the_wrong_shape)
{
    test_parse *t = test_parse_text("rule a on p by c window count 1h\n"
                                    "rule b on p by c window tumbling 100\n"
                                    "rule c on p by c window tumbling 1h every 5m\n"
                                    "rule d on p by c window slidng 1h every 5m\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:31: error: a count window counts events, not time: window count <number of events>\n"
                     "    rule a on p by c window count 1h\n"
                     "                                  ^~\n"
                     "test.weir:2:34: error: a tumbling window is measured in time: write a duration such as 10m or 1h\n"
                     "    rule b on p by c window tumbling 100\n"
                     "                                     ^~~\n"
                     "test.weir:3:25: error: 'every' needs a sliding window: window sliding <size> every <slide>\n"
                     "    rule c on p by c window tumbling 1h every 5m\n"
                     "                            ^~~~~~~~\n"
                     "test.weir:4:25: error: unknown window 'slidng 1h' (use tumbling, sliding, session or count)\n"
                     "    rule d on p by c window slidng 1h every 5m\n"
                     "                            ^~~~~~\n");
    test_parse_free(t);
}

Test(parser, pattern_cannot_start_with_negation)
{
    test_parse *t = test_parse_text("rule r on p by c match not then a then b within 1m\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:24: error: unexpected 'not then', expected a name or '(' "
                     "('not then' goes between two steps, as in 'a not then b')\n"
                     "    rule r on p by c match not then a then b within 1m\n"
                     "                           ^~~~~~~~\n");
    test_parse_free(t);
    t = test_parse_text("rule r on p by c match (not next a then b)\n");
    cr_assert(strstr(t->output, "error: unexpected 'not next', expected a name or '(' "
                                "('not next' goes between two steps, as in 'a not next b')\n") != NULL,
              "%s", t->output);
    test_parse_free(t);
}

Test(parser, expected_expression)
{
    test_parse *t = test_parse_text("list l = [\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:11: error: unexpected end of file, expected an expression or ']'\n"
                     "    list l = [\n"
                     "              ^\n");
    test_parse_free(t);
}

Test(parser, missing_closing_bracket)
{
    test_parse *t = test_parse_text("rule r on p by c match (a then b{2} then c\nstream s { a int }\n");
    cr_assert_str_eq(t->output,
                     "test.weir:2:1: error: unexpected 'stream' (is a ')' missing?)\n"
                     "    stream s { a int }\n"
                     "    ^~~~~~\n");
    /* recovery keeps the declaration that follows */
    cr_assert_str_eq(t->prog->streams->name.name, "s");
    test_parse_free(t);
}

Test(parser, bad_severity)
{
    test_parse *t = test_parse_text("rule r on p by c match a severity urgent\n");
    cr_assert_str_eq(t->output,
                     "test.weir:1:35: error: unknown severity 'urgent' (use low, medium, high or critical)\n"
                     "    rule r on p by c match a severity urgent\n"
                     "                                      ^~~~~~\n");
    test_parse_free(t);
}

Test(parser, locations_span_lines)
{
    test_parse *t;
    ast_rule *r = rule_ok(&t, "rule r on payments by card\n  match a where\n    amount > 1\n");
    unsigned line, col;
    weir_sources_position(&t->sources, 0, r->pattern->step.where->loc.begin, &line, &col);
    cr_assert_eq(line, 7);
    cr_assert_eq(col, 5);
    weir_sources_position(&t->sources, 0, r->loc.begin, &line, &col);
    cr_assert_eq(line, 5);
    cr_assert_eq(col, 1);
    test_parse_free(t);
}

Test(parser, deep_nesting_does_not_crash)
{
    /* bison's stack is bounded: very deep nesting is an error, never a crash */
    size_t depth = 20000;
    char *text = malloc(depth * 2 + 128);
    strcpy(text, "rule r on p by c match a where ");
    size_t n = strlen(text);
    for (size_t i = 0; i < depth; i++)
        text[n++] = '(';
    text[n++] = '1';
    for (size_t i = 0; i < depth; i++)
        text[n++] = ')';
    text[n] = '\0';
    test_parse *t = test_parse_text(text);
    cr_assert_not(t->parsed_ok);
    cr_assert(strstr(t->output, "error:") != NULL);
    test_parse_free(t);
    free(text);
}
