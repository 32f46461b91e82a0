/* test_check.c — the checker: one test per diagnostic, exact output.
 *
 * Most tests are data: a rule text and the exact diagnostics it must
 * produce (rendered, with line and caret), so a change of wording or of
 * location shows up here. PRELUDE declares the streams, sink and lists the
 * rule-level tests share; it is five lines long, so their rules start on
 * line 6. After the data come positive tests that look at the annotations
 * the compiler relies on (check.h), the examples of the spec and of
 * DESIGN.md, and weir_suggest() on its own. */
#include <criterion/criterion.h>
#include <string.h>

#include "dsl/builtins.h"
#include "dsl/check.h"
#include "dsl/suggest.h"
#include "helpers.h"

#define PRELUDE                                                                     \
    "stream payments event time ts { card string, amount decimal, merchant string, " \
    "mcc int, country string, lat float, lon float, ts time }\n"                    \
    "stream logins event time ts { user string, card string, ip string, ts time, "   \
    "ok bool, amount int }\n"                                                       \
    "sink fraud_team webhook \"https://x\"\n"                                       \
    "list high_risk_mcc = [7995, 5967, 4829]\n"                                     \
    "list blocked string = [\"KP\", \"IR\"]\n"

/* Checks `text` and compares everything reported with `expected`. */
static void expect_check(const char *text, bool ok, const char *expected)
{
    test_parse *t = test_check_text(text);
    cr_assert(t->parsed_ok, "the test text does not parse:\n%s", t->output);
    cr_expect_str_eq(t->output, expected);
    cr_expect_eq(t->checked_ok, ok, "checked_ok is %d", t->checked_ok);
    test_parse_free(t);
}

/* Parses and checks `text`, which must check clean; the caller frees. */
static test_parse *check_clean(const char *text)
{
    test_parse *t = test_check_text(text);
    cr_assert(t->parsed_ok, "the test text does not parse:\n%s", t->output);
    cr_assert(t->checked_ok, "the test text does not check:\n%s", t->output);
    cr_assert_str_eq(t->output, "");
    return t;
}

static ast_rule *rule_named(ast_program *p, const char *name)
{
    for (ast_rule *r = p->rules; r; r = r->next)
        if (strcmp(r->name.name, name) == 0)
            return r;
    cr_assert_fail("no rule '%s'", name);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The examples of DESIGN.md and of doc/dsl-spec.md check clean.        */

static const char design_rules[] =
    "# rules/fraud/card_testing.weir\n"
    "stream payments from kafka \"payments\"\n"
    "  event time ts, lateness 5s          # watermark = max(ts) - 5s\n"
    "  { card string, amount decimal, merchant string, mcc int,\n"
    "    country string, lat float, lon float, ts time }\n"
    "\n"
    "sink fraud_team webhook \"https://hooks.example.com/fraud\"\n"
    "  timeout 2s, retries 8, sign hmac env(\"WEBHOOK_SECRET\")\n"
    "\n"
    "rule card_testing\n"
    "  \"Three or more sub-$2 probes, then a purchase of $500 or more, within 10 minutes\"\n"
    "  on payments by card\n"
    "  match probe{3,} where amount < 2.00\n"
    "        then big  where amount >= 500 and merchant != probe[-1].merchant\n"
    "  within 10m\n"
    "  severity high\n"
    "  emit to fraud_team { card, probes: count(probe), spent: big.amount }\n"
    "\n"
    "rule card_velocity\n"
    "  on payments by card\n"
    "  window sliding 1h every 5m\n"
    "  when count() > 20 or sum(amount) > 5000\n"
    "  emit to fraud_team { card, txns: count(), total: sum(amount) }\n";

Test(check, design_examples_check_clean)
{
    test_parse *t = check_clean(design_rules);
    test_parse_free(t);
}

Test(check, spec_examples_check_clean)
{
    test_parse *t = check_clean(
        "stream payments\n"
        "  from kafka \"payments\"\n"
        "  event time ts lateness 5s\n"
        "  { card string, amount decimal, merchant string, mcc int,\n"
        "    country string, lat float, lon float, ts time }\n"
        "stream logins from http { user string, card string, ip string, at time, }\n"
        "sink fraud_team webhook \"https://hooks.example.com/fraud\"\n"
        "  timeout 2s, retries 8, sign hmac env(\"WEBHOOK_SECRET\")\n"
        "sink alerts_topic kafka \"alerts\"\n"
        "sink archive file \"/var/log/weir/alerts.jsonl\"\n"
        "sink console stdout\n"
        "list high_risk_mcc = [7995, 5967, 4829]\n"
        "list blocked_countries string = [\"KP\", \"IR\"]\n"
        "list bad_ips string from file \"bad_ips.txt\"\n"
        "rule risky \"A risky merchant, then a login from a bad address\"\n"
        "  on payments by card, logins by card\n"
        "  match p from payments where mcc in high_risk_mcc and country not in blocked_countries\n"
        "    then any l from logins where ip in bad_ips and at - p.ts < 1h\n"
        "  within 1d\n"
        "  skip past last\n"
        "  severity critical\n"
        "  throttle 1h\n"
        "  emit to fraud_team, alerts_topic { card, merchant: p.merchant, ip: l.ip }\n"
        "  on timeout emit to archive\n"
        "rule quiet\n"
        "  on payments by card\n"
        "  match opened where amount > 100.0 not then verified where merchant == opened.merchant\n"
        "  within 24h\n"
        "rule bursts\n"
        "  on payments by card\n"
        "  match (a next b)+ consecutive then c{2,4} greedy where amount > avg(a.amount)\n"
        "    then d? reluctant | e* any until amount > 10\n"
        "  within 1h\n"
        "  skip to first c\n"
        "rule sessions on payments by card window session gap 30m emit to console\n"
        "rule every_100 on payments by card window count 100 every 10\n"
        "  where country in [\"GB\", \"FR\"]\n"
        "  when count(distinct merchant) > 50 and window_end() > window_start()\n"
        "  emit { card, first: min(ts), span: max(ts) - min(ts), km: max(geo_distance(lat, lon, 0.0, 0.0)) }\n");
    test_parse_free(t);
}

/* ------------------------------------------------------------------ */
/* Annotations the compiler relies on                                   */

Test(check, annotations_of_a_pattern_rule)
{
    test_parse *t = check_clean(design_rules);
    ast_program *p = t->prog;
    const ast_stream *payments = p->streams;
    cr_assert_str_eq(payments->time_field_ref->name.name, "ts");

    ast_rule *r = rule_named(p, "card_testing");
    cr_assert_eq(r->inputs->stream, payments);
    cr_assert_str_eq(r->inputs->key->name.name, "card");
    cr_assert_eq(r->n_steps, 2);
    const ast_step *probe = r->steps[0], *big = r->steps[1];
    cr_assert_str_eq(probe->name.name, "probe");
    cr_assert(probe->repeated);
    cr_assert_not(big->repeated);
    cr_assert_eq(probe->stream, payments);
    cr_assert_eq(big->index, 1);

    /* probe: amount < 2.00 — amount is field 1 of the tested event */
    const ast_expr *cmp = probe->where;
    const ast_expr *amount = cmp->u.binary.left;
    cr_assert_eq(cmp->type, WEIR_T_BOOL);
    cr_assert_eq(amount->ref.kind, AST_REF_EVENT_FIELD);
    cr_assert_eq(amount->ref.field->index, 1);
    cr_assert_eq(amount->ref.stream, payments);
    cr_assert_eq(amount->type, WEIR_T_DECIMAL);
    cr_assert_eq(cmp->u.binary.right->type, WEIR_T_DECIMAL);

    /* big: ... and merchant != probe[-1].merchant */
    const ast_expr *ne = big->where->u.binary.right;
    const ast_expr *last = ne->u.binary.right;
    cr_assert_eq(last->kind, AST_EXPR_FIELD);
    cr_assert_eq(last->ref.kind, AST_REF_STEP_FIELD);
    cr_assert_eq(last->ref.step, probe);
    cr_assert(last->ref.has_index);
    cr_assert_eq(last->ref.index, -1);
    cr_assert_eq(last->ref.field->index, 2);
    cr_assert_eq(last->type, WEIR_T_STRING);
    /* amount >= 500: the int literal stays int, the comparison widens */
    const ast_expr *ge = big->where->u.binary.left;
    cr_assert_eq(ge->u.binary.right->type, WEIR_T_INT);

    /* emit to fraud_team { card, probes: count(probe), spent: big.amount } */
    cr_assert_eq(r->emit.n_sinks, 1);
    cr_assert_eq(r->emit.sink_refs[0], p->sinks);
    const ast_emit_field *card = r->emit.fields;
    cr_assert_eq(card->value->ref.kind, AST_REF_EVENT_FIELD);
    cr_assert_eq(card->value->type, WEIR_T_STRING);
    const ast_expr *count = card->next->value;
    cr_assert_eq(count->u.call.builtin, WEIR_BUILTIN_COUNT);
    cr_assert_eq(count->type, WEIR_T_INT);
    cr_assert_eq(count->u.call.args->ref.kind, AST_REF_STEP_EVENTS);
    cr_assert_eq(count->u.call.args->ref.step, probe);
    const ast_expr *spent = card->next->next->value;
    cr_assert_eq(spent->ref.kind, AST_REF_STEP_FIELD);
    cr_assert_eq(spent->ref.step, big);
    cr_assert_not(spent->ref.has_index);
    cr_assert_eq(spent->type, WEIR_T_DECIMAL);
    test_parse_free(t);
}

Test(check, annotations_of_a_window_rule)
{
    test_parse *t = check_clean(design_rules);
    ast_rule *r = rule_named(t->prog, "card_velocity");
    /* when count() > 20 or sum(amount) > 5000 */
    const ast_expr *sum_cmp = r->when->u.binary.right;
    const ast_expr *sum = sum_cmp->u.binary.left;
    cr_assert_eq(sum->u.call.builtin, WEIR_BUILTIN_SUM);
    cr_assert_eq(sum->type, WEIR_T_DECIMAL);
    cr_assert_eq(sum->u.call.args->ref.kind, AST_REF_WINDOW_FIELD);
    cr_assert_eq(sum->u.call.args->ref.field->index, 1);
    const ast_expr *card = r->emit.fields->value;
    cr_assert_eq(card->ref.kind, AST_REF_KEY);
    cr_assert_eq(card->type, WEIR_T_STRING);
    cr_assert_eq(r->emit.fields->next->value->type, WEIR_T_INT);
    test_parse_free(t);
}

Test(check, annotations_of_aggregates_lists_and_window_meta)
{
    test_parse *t = check_clean(
        PRELUDE
        "list ratios = [1, 2.5]\n"
        "list mixed float = [1, 2.5, 1e3]\n"
        "list ips from file \"ips.txt\"\n"
        "rule r on payments by card\n"
        "  match p+ where mcc in high_risk_mcc then b where sum(p.amount) > 1 and avg(p.lat) > 1.0\n"
        "  within 1h\n"
        "rule w on payments by card window tumbling 1h emit { s: window_start(), e: window_end() }\n");
    ast_program *pr = t->prog;
    const ast_list_decl *l = pr->lists;
    cr_assert_eq(l->elem_type, WEIR_T_INT);
    cr_assert_eq(l->next->next->elem_type, WEIR_T_DECIMAL); /* ratios */
    cr_assert_eq(l->next->next->next->elem_type, WEIR_T_FLOAT);
    cr_assert_eq(l->next->next->next->next->elem_type, WEIR_T_STRING); /* from file */

    ast_rule *r = rule_named(pr, "r");
    const ast_expr *in = r->steps[0]->where;
    cr_assert_eq(in->type, WEIR_T_BOOL);
    cr_assert_eq(in->u.in.set->ref.kind, AST_REF_LIST);
    cr_assert_eq(in->u.in.set->ref.list, l);
    const ast_expr *sum = r->steps[1]->where->u.binary.left->u.binary.left;
    cr_assert_eq(sum->type, WEIR_T_DECIMAL);
    cr_assert_eq(sum->u.call.args->ref.kind, AST_REF_STEP_FIELD_ALL);
    cr_assert_eq(sum->u.call.args->ref.step, r->steps[0]);
    const ast_expr *avg = r->steps[1]->where->u.binary.right->u.binary.left;
    cr_assert_eq(avg->u.call.builtin, WEIR_BUILTIN_AVG);
    cr_assert_eq(avg->type, WEIR_T_FLOAT);

    ast_rule *w = rule_named(pr, "w");
    const ast_expr *start = w->emit.fields->value, *end = w->emit.fields->next->value;
    cr_assert_eq(start->u.call.builtin, WEIR_BUILTIN_WINDOW_START);
    cr_assert_eq(start->ref.kind, AST_REF_WINDOW_META);
    cr_assert_eq(start->ref.window_meta, 0);
    cr_assert_eq(end->ref.window_meta, 1);
    cr_assert_eq(end->type, WEIR_T_TIME);
    test_parse_free(t);
}

Test(check, annotations_of_several_inputs)
{
    test_parse *t = check_clean(
        PRELUDE
        "rule r on payments by card, logins by card\n"
        "  match l from logins where not ok then p from payments where l.ip == \"x\"\n"
        "  within 1h\n"
        "  emit { card }\n");
    ast_rule *r = rule_named(t->prog, "r");
    const ast_stream *payments = t->prog->streams, *logins = payments->next;
    cr_assert_eq(r->steps[0]->stream, logins);
    cr_assert_eq(r->steps[1]->stream, payments);
    const ast_expr *lip = r->steps[1]->where->u.binary.left;
    cr_assert_eq(lip->ref.stream, logins);
    cr_assert_eq(lip->ref.field->index, 2);
    /* a bare name in the emit of a rule with several inputs: the field is
     * looked up by name in the completing event's stream */
    const ast_expr *card = r->emit.fields->value;
    cr_assert_eq(card->ref.kind, AST_REF_EVENT_FIELD);
    cr_assert_null(card->ref.stream);
    cr_assert_str_eq(card->ref.field->name.name, "card");
    test_parse_free(t);
}

Test(check, repeated_inside_a_quantified_group)
{
    test_parse *t = check_clean(
        PRELUDE
        "rule r on payments by card\n"
        "  match x then (a then b)+ then c? then (d next e)? within 1h\n");
    ast_rule *r = rule_named(t->prog, "r");
    cr_assert_eq(r->n_steps, 6);
    cr_assert_not(r->steps[0]->repeated);
    cr_assert(r->steps[1]->repeated);
    cr_assert(r->steps[2]->repeated);
    cr_assert_not(r->steps[3]->repeated);
    cr_assert_not(r->steps[4]->repeated); /* (..)? matches once at most */
    test_parse_free(t);
}

Test(check, every_error_is_reported)
{
    test_parse *t = test_check_text(
        PRELUDE
        "rule r on payments by card\n"
        "  match a where amout > 1 then b where merchant == 1 and c.x within 1h\n"
        "  emit to nowhere\n");
    cr_assert_not(t->checked_ok);
    cr_assert_eq(t->diags.n_errors, 4, "%s", t->output);
    test_parse_free(t);
}

/* The grammar cannot write a pattern that starts with a negation; a tree
 * built another way can, and the checker must still refuse it. */
Test(check, pattern_starting_with_a_negation)
{
    test_parse *t = test_parse_text(PRELUDE
                                    "rule r on payments by card match a not then b within 1h\n");
    cr_assert(t->parsed_ok);
    ast_rule *r = t->prog->rules;
    r->pattern = r->pattern->next; /* drop `a`: now starts with `not then b` */
    cr_assert_not(weir_check_program(t->prog, &t->diags));
    cr_assert_str_eq(t->output,
                     "test.weir:6:36: error: a pattern cannot start with 'not then'\n"
                     "    rule r on payments by card match a not then b within 1h\n"
                     "                                       ^~~~~~~~\n");
    test_parse_free(t);
}

/* ------------------------------------------------------------------ */
/* weir_suggest                                                         */

Test(suggest, closest_within_the_limit)
{
    const char *const names[] = {"card", "amount", "merchant", "mcc"};
    cr_assert_str_eq(weir_suggest("amout", names, 4), "amount");
    cr_assert_str_eq(weir_suggest("amuont", names, 4), "amount"); /* a swap is one edit */
    cr_assert_str_eq(weir_suggest("merchnat", names, 4), "merchant");
    cr_assert_str_eq(weir_suggest("merchan", names, 4), "merchant");
    cr_assert_str_eq(weir_suggest("crad", names, 4), "card");
}

Test(suggest, nothing_when_too_far)
{
    const char *const names[] = {"card", "amount", "merchant", "mcc"};
    cr_assert_null(weir_suggest("country", names, 4));
    cr_assert_null(weir_suggest("mc", names, 4));     /* short names get no guess */
    cr_assert_null(weir_suggest("amnt", names, 4));   /* 2 edits on 4 letters */
    cr_assert_null(weir_suggest("x", names, 4));
    cr_assert_null(weir_suggest("", names, 4));
    cr_assert_null(weir_suggest("amount", NULL, 0));
}

Test(suggest, ties_go_to_the_first)
{
    const char *const names[] = {"card", NULL, "cars"};
    cr_assert_str_eq(weir_suggest("cart", names, 3), "card");
    const char *const longer[] = {"payment", "paymint"};
    cr_assert_str_eq(weir_suggest("paymant", longer, 2), "payment");
}

/* ------------------------------------------------------------------ */
/* One test per diagnostic (generated from reviewed output, kept as data) */

Test(check, stream_unknown_type)
{
    expect_check("stream s { a strng }\n",
                 false,
                 "test.weir:1:14: error: unknown type 'strng' (did you mean 'string'?)\n"
                 "    stream s { a strng }\n"
                 "                 ^~~~~\n");
}

Test(check, stream_unknown_type_no_hint)
{
    expect_check("stream s { a blob }\n",
                 false,
                 "test.weir:1:14: error: unknown type 'blob' (use int, float, decimal, string, bool, time or duration)\n"
                 "    stream s { a blob }\n"
                 "                 ^~~~\n");
}

Test(check, stream_duplicate_field)
{
    expect_check("stream s { a int, b int, a string }\n",
                 false,
                 "test.weir:1:26: error: field 'a' is declared twice in stream 's'\n"
                 "    stream s { a int, b int, a string }\n"
                 "                             ^\n"
                 "test.weir:1:12: note: first declared here\n"
                 "    stream s { a int, b int, a string }\n"
                 "               ^\n");
}

Test(check, stream_duplicate)
{
    expect_check("stream s { a int }\n"
                 "stream s { b int }\n",
                 false,
                 "test.weir:2:8: error: stream 's' is declared twice\n"
                 "    stream s { b int }\n"
                 "           ^\n"
                 "test.weir:1:8: note: first declared here\n"
                 "    stream s { a int }\n"
                 "           ^\n");
}

Test(check, stream_time_field_unknown)
{
    expect_check("stream s event time craeted { a int, created time }\n",
                 false,
                 "test.weir:1:21: error: unknown field 'craeted' in stream 's' (did you mean 'created'?)\n"
                 "    stream s event time craeted { a int, created time }\n"
                 "                        ^~~~~~~\n");
}

Test(check, stream_time_field_type)
{
    expect_check("stream s event time ts { a int, ts int }\n",
                 false,
                 "test.weir:1:21: error: time field 'ts' must be of type time, not int\n"
                 "    stream s event time ts { a int, ts int }\n"
                 "                        ^~\n");
}

Test(check, stream_lateness_without_event_time)
{
    expect_check("stream s lateness 5s { a int }\n",
                 false,
                 "test.weir:1:10: error: 'lateness' needs 'event time <field>': on processing time no event is late\n"
                 "    stream s lateness 5s { a int }\n"
                 "             ^~~~~~~~~~~\n");
}

Test(check, stream_event_and_processing_time)
{
    expect_check("stream s event time ts, processing time { ts time }\n",
                 false,
                 "test.weir:1:25: error: a stream uses 'event time' or 'processing time', not both\n"
                 "    stream s event time ts, processing time { ts time }\n"
                 "                            ^~~~~~~~~~~~~~~\n");
}

Test(check, sink_unknown_kind)
{
    expect_check("sink s webhok \"https://x\"\n",
                 false,
                 "test.weir:1:8: error: unknown sink kind 'webhok' (did you mean 'webhook'?)\n"
                 "    sink s webhok \"https://x\"\n"
                 "           ^~~~~~\n");
}

Test(check, sink_unknown_kind_no_hint)
{
    expect_check("sink s pigeon \"x\"\n",
                 false,
                 "test.weir:1:8: error: unknown sink kind 'pigeon' (use webhook, kafka, file or stdout)\n"
                 "    sink s pigeon \"x\"\n"
                 "           ^~~~~~\n");
}

Test(check, sink_needs_target)
{
    expect_check("sink s webhook timeout 2s\n",
                 false,
                 "test.weir:1:8: error: a webhook sink needs a URL, as in sink s webhook \"https://example.com/hook\"\n"
                 "    sink s webhook timeout 2s\n"
                 "           ^~~~~~~\n");
}

Test(check, sink_empty_target)
{
    expect_check("sink a kafka \"x\"\n"
                 "sink s kafka \"\"\n",
                 false,
                 "test.weir:2:14: error: the topic of a kafka sink cannot be empty\n"
                 "    sink s kafka \"\"\n"
                 "                 ^~\n");
}

Test(check, sink_url_scheme)
{
    expect_check("sink s webhook \"ftp://x\"\n",
                 false,
                 "test.weir:1:16: error: a webhook URL must start with http:// or https://\n"
                 "    sink s webhook \"ftp://x\"\n"
                 "                   ^~~~~~~~~\n");
}

Test(check, sink_stdout_target)
{
    expect_check("sink s stdout \"x\"\n",
                 false,
                 "test.weir:1:15: error: a stdout sink takes no target\n"
                 "    sink s stdout \"x\"\n"
                 "                  ^~~\n");
}

Test(check, sink_stdout_options)
{
    expect_check("sink s stdout rotate\n",
                 false,
                 "test.weir:1:15: error: a stdout sink takes no options\n"
                 "    sink s stdout rotate\n"
                 "                  ^~~~~~\n");
}

Test(check, sink_unknown_option)
{
    expect_check("sink s webhook \"https://x\" timout 2s\n",
                 false,
                 "test.weir:1:28: error: unknown option 'timout' for a webhook sink (did you mean 'timeout'?)\n"
                 "    sink s webhook \"https://x\" timout 2s\n"
                 "                               ^~~~~~\n");
}

Test(check, sink_unknown_option_no_hint)
{
    expect_check("sink s file \"a.jsonl\" compress\n",
                 false,
                 "test.weir:1:23: error: unknown option 'compress' for a file sink (use rotate)\n"
                 "    sink s file \"a.jsonl\" compress\n"
                 "                          ^~~~~~~~\n");
}

Test(check, sink_option_twice)
{
    expect_check("sink s webhook \"https://x\" timeout 2s, timeout 3s\n",
                 false,
                 "test.weir:1:40: error: option 'timeout' is given twice\n"
                 "    sink s webhook \"https://x\" timeout 2s, timeout 3s\n"
                 "                                           ^~~~~~~\n"
                 "test.weir:1:28: note: first given here\n"
                 "    sink s webhook \"https://x\" timeout 2s, timeout 3s\n"
                 "                               ^~~~~~~\n");
}

Test(check, sink_option_wrong_type)
{
    expect_check("sink s webhook \"https://x\" timeout \"2s\"\n",
                 false,
                 "test.weir:1:36: error: option 'timeout' needs a duration, as in timeout 2s\n"
                 "    sink s webhook \"https://x\" timeout \"2s\"\n"
                 "                                       ^~~~\n");
}

Test(check, sink_option_count)
{
    expect_check("sink s webhook \"https://x\" header \"X-A\"\n",
                 false,
                 "test.weir:1:28: error: option 'header' needs a name and a value, as in header \"X-Team\" \"fraud\"\n"
                 "    sink s webhook \"https://x\" header \"X-A\"\n"
                 "                               ^~~~~~~~~~~~\n");
}

Test(check, sink_option_zero)
{
    expect_check("sink s webhook \"https://x\" timeout 0s\n",
                 false,
                 "test.weir:1:36: error: option 'timeout' must be greater than zero\n"
                 "    sink s webhook \"https://x\" timeout 0s\n"
                 "                                       ^~\n");
}

Test(check, sink_option_no_value)
{
    expect_check("sink s file \"a\" rotate 5\n",
                 false,
                 "test.weir:1:24: error: option 'rotate' takes no value\n"
                 "    sink s file \"a\" rotate 5\n"
                 "                           ^\n");
}

Test(check, sink_unknown_signature)
{
    expect_check("sink s webhook \"https://x\" sign sha1 \"k\"\n",
                 false,
                 "test.weir:1:33: error: unknown signature 'sha1' (use hmac)\n"
                 "    sink s webhook \"https://x\" sign sha1 \"k\"\n"
                 "                                    ^~~~\n");
}

Test(check, sink_env_bad)
{
    expect_check("sink s webhook \"https://x\" sign hmac env(X)\n",
                 false,
                 "test.weir:1:38: error: env() needs the name of an environment variable in quotes, as in env(\"SECRET\")\n"
                 "    sink s webhook \"https://x\" sign hmac env(X)\n"
                 "                                         ^~~~~~\n");
}

Test(check, sink_option_other_call)
{
    expect_check("sink s webhook \"https://x\" sign hmac secret(\"X\")\n",
                 false,
                 "test.weir:1:38: error: only env() can be used in a sink option, not secret()\n"
                 "    sink s webhook \"https://x\" sign hmac secret(\"X\")\n"
                 "                                         ^~~~~~\n");
}

Test(check, sink_ok)
{
    expect_check("sink a webhook \"https://x\" timeout 2s, retries 0, sign hmac env(\"K\"), header \"A\" \"b\", header \"C\" env(\"D\")\n"
                 "sink b kafka \"t\" transactional, brokers \"h:1\"\n"
                 "sink c file \"p\" rotate\n"
                 "sink d stdout\n",
                 true,
                 "");
}

Test(check, list_mixed)
{
    expect_check("list l = [1, \"a\"]\n",
                 false,
                 "test.weir:1:14: error: list items must all have one type: found string after int\n"
                 "    list l = [1, \"a\"]\n"
                 "                 ^~~\n");
}

Test(check, list_int_decimal_ok)
{
    expect_check("list l = [1, 2.5, -3]\n"
                 "stream s { k string, a decimal }\n"
                 "rule r on s by k match x where a in l\n",
                 true,
                 "");
}

Test(check, list_declared_mismatch)
{
    expect_check("list l string = [\"a\", 1]\n",
                 false,
                 "test.weir:1:23: error: list 'l' holds string, not int\n"
                 "    list l string = [\"a\", 1]\n"
                 "                          ^\n");
}

Test(check, list_not_literal)
{
    expect_check("list l = [1, x]\n",
                 false,
                 "test.weir:1:14: error: list items must be literals\n"
                 "    list l = [1, x]\n"
                 "                 ^\n");
}

Test(check, list_empty)
{
    expect_check("list l = []\n",
                 false,
                 "test.weir:1:6: error: cannot tell the type of the empty list 'l': declare it, as in list l string = []\n"
                 "    list l = []\n"
                 "         ^\n");
}

Test(check, list_file_type)
{
    expect_check("list l bool from file \"x.txt\"\n",
                 false,
                 "test.weir:1:8: error: a list read from a file holds int, decimal, float or string, not bool\n"
                 "    list l bool from file \"x.txt\"\n"
                 "           ^~~~\n");
}

Test(check, list_unknown_type)
{
    expect_check("list l strng = [\"a\"]\n",
                 false,
                 "test.weir:1:8: error: unknown type 'strng' (did you mean 'string'?)\n"
                 "    list l strng = [\"a\"]\n"
                 "           ^~~~~\n");
}

Test(check, list_duplicate)
{
    expect_check("list l = [1]\n"
                 "list l = [2]\n",
                 false,
                 "test.weir:2:6: error: list 'l' is declared twice\n"
                 "    list l = [2]\n"
                 "         ^\n"
                 "test.weir:1:6: note: first declared here\n"
                 "    list l = [1]\n"
                 "         ^\n");
}

Test(check, rule_unknown_stream)
{
    expect_check(PRELUDE
                 "rule r on paymnts by card match a within 1h\n",
                 false,
                 "test.weir:6:11: error: unknown stream 'paymnts' (did you mean 'payments'?)\n"
                 "    rule r on paymnts by card match a within 1h\n"
                 "              ^~~~~~~\n");
}

Test(check, rule_unknown_key)
{
    expect_check(PRELUDE
                 "rule r on payments by crad match a within 1h\n",
                 false,
                 "test.weir:6:23: error: unknown field 'crad' in stream 'payments' (did you mean 'card'?)\n"
                 "    rule r on payments by crad match a within 1h\n"
                 "                          ^~~~\n");
}

Test(check, rule_key_type)
{
    expect_check(PRELUDE
                 "rule r on payments by amount match a within 1h\n",
                 false,
                 "test.weir:6:23: error: key field 'amount' must be string or int, not decimal\n"
                 "    rule r on payments by amount match a within 1h\n"
                 "                          ^~~~~~\n");
}

Test(check, rule_stream_twice)
{
    expect_check(PRELUDE
                 "rule r on payments by card, payments by card match a from payments within 1h\n",
                 false,
                 "test.weir:6:29: error: stream 'payments' is listed twice in 'on'\n"
                 "    rule r on payments by card, payments by card match a from payments within 1h\n"
                 "                                ^~~~~~~~\n"
                 "test.weir:6:11: note: first listed here\n"
                 "    rule r on payments by card, payments by card match a from payments within 1h\n"
                 "              ^~~~~~~~\n");
}

Test(check, rule_key_types_differ)
{
    expect_check(PRELUDE
                 "stream n { k int }\n"
                 "rule r on payments by card, n by k match a from payments then b from n within 1h\n",
                 false,
                 "test.weir:7:34: error: the keys of rule 'r' must have one type: 'n.k' is int but 'payments.card' is string\n"
                 "    rule r on payments by card, n by k match a from payments then b from n within 1h\n"
                 "                                     ^\n");
}

Test(check, rule_throttle_zero)
{
    expect_check(PRELUDE
                 "rule r on payments by card match a within 1h throttle 0s\n",
                 false,
                 "test.weir:6:46: error: 'throttle' must be greater than zero\n"
                 "    rule r on payments by card match a within 1h throttle 0s\n"
                 "                                                 ^~~~~~~~~~~\n");
}

Test(check, rule_unknown_sink)
{
    expect_check(PRELUDE
                 "rule r on payments by card match a within 1h emit to frad_team\n",
                 false,
                 "test.weir:6:54: error: unknown sink 'frad_team' (did you mean 'fraud_team'?)\n"
                 "    rule r on payments by card match a within 1h emit to frad_team\n"
                 "                                                         ^~~~~~~~~\n");
}

Test(check, rule_sink_twice)
{
    expect_check(PRELUDE
                 "rule r on payments by card match a within 1h emit to fraud_team, fraud_team\n",
                 false,
                 "test.weir:6:66: error: sink 'fraud_team' is listed twice\n"
                 "    rule r on payments by card match a within 1h emit to fraud_team, fraud_team\n"
                 "                                                                     ^~~~~~~~~~\n"
                 "test.weir:6:54: note: first listed here\n"
                 "    rule r on payments by card match a within 1h emit to fraud_team, fraud_team\n"
                 "                                                         ^~~~~~~~~~\n");
}

Test(check, rule_emit_field_twice)
{
    expect_check(PRELUDE
                 "rule r on payments by card match a within 1h emit { card, card: a.card }\n",
                 false,
                 "test.weir:6:59: error: alert field 'card' is declared twice\n"
                 "    rule r on payments by card match a within 1h emit { card, card: a.card }\n"
                 "                                                              ^~~~\n"
                 "test.weir:6:53: note: first declared here\n"
                 "    rule r on payments by card match a within 1h emit { card, card: a.card }\n"
                 "                                                        ^~~~\n");
}

Test(check, rule_on_timeout_without_within)
{
    expect_check(PRELUDE
                 "rule r on payments by card match a next b on timeout emit { card }\n",
                 false,
                 "test.weir:6:43: error: 'on timeout emit' needs 'within': a match only times out at a deadline\n"
                 "    rule r on payments by card match a next b on timeout emit { card }\n"
                 "                                              ^~~~~~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, expr_unknown_field)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where amout > 1 within 1h\n",
                 false,
                 "test.weir:7:17: error: unknown field 'amout' in stream 'payments' (did you mean 'amount'?)\n"
                 "      match a where amout > 1 within 1h\n"
                 "                    ^~~~~\n");
}

Test(check, expr_unknown_step)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match probe+ then b where prob[-1].amount > 1 within 1h\n",
                 false,
                 "test.weir:7:29: error: unknown step 'prob' in rule 'r' (did you mean 'probe'?)\n"
                 "      match probe+ then b where prob[-1].amount > 1 within 1h\n"
                 "                                ^~~~\n");
}

Test(check, expr_step_not_matched)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where b.amount > 1 then b within 1h\n",
                 false,
                 "test.weir:7:17: error: step 'b' is not matched yet here: a condition can only refer to steps before it\n"
                 "      match a where b.amount > 1 then b within 1h\n"
                 "                    ^\n");
}

Test(check, expr_self_not_matched)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where a.amount > 1 within 1h\n",
                 false,
                 "test.weir:7:17: error: step 'a' is not matched yet here: a condition can only refer to steps before it\n"
                 "      match a where a.amount > 1 within 1h\n"
                 "                    ^\n");
}

Test(check, expr_self_repeated_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match probe+ where amount > probe[-1].amount and count(probe) < 5 and sum(probe.amount) < 10 within 1h\n",
                 true,
                 "");
}

Test(check, expr_several_events)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match probe+ then b where probe.amount > 1 within 1h\n",
                 false,
                 "test.weir:7:29: error: step 'probe' can match several events: use probe[0].amount, probe[-1].amount or an aggregate such as sum(probe.amount)\n"
                 "      match probe+ then b where probe.amount > 1 within 1h\n"
                 "                                ^~~~~~~~~~~~\n");
}

Test(check, expr_one_event_index)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b where a[0].amount > 1 within 1h\n",
                 false,
                 "test.weir:7:24: error: step 'a' matches one event: use a.amount, not a[0].amount\n"
                 "      match a then b where a[0].amount > 1 within 1h\n"
                 "                           ^~~~\n");
}

Test(check, expr_one_event_aggregate)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b where sum(a.amount) > 1 within 1h\n",
                 false,
                 "test.weir:7:28: error: step 'a' matches one event: use a.amount, not sum(a.amount)\n"
                 "      match a then b where sum(a.amount) > 1 within 1h\n"
                 "                               ^~~~~~~~\n");
}

Test(check, expr_one_event_count)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b where count(a) > 1 within 1h\n",
                 false,
                 "test.weir:7:30: error: step 'a' matches one event: count(a) is always 1\n"
                 "      match a then b where count(a) > 1 within 1h\n"
                 "                                 ^\n");
}

Test(check, expr_negated_step)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a not next x then b where x.amount > 1 within 1h\n",
                 false,
                 "test.weir:7:35: error: step 'x' is negated: it never matches an event\n"
                 "      match a not next x then b where x.amount > 1 within 1h\n"
                 "                                      ^\n");
}

Test(check, expr_alternative)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a | b where a.amount > 1 within 1h\n",
                 false,
                 "test.weir:7:21: error: step 'a' is an alternative to step 'b': they never match together\n"
                 "      match a | b where a.amount > 1 within 1h\n"
                 "                        ^\n");
}

Test(check, expr_step_not_value)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match probe+ then b where probe > 1 within 1h\n",
                 false,
                 "test.weir:7:29: error: step 'probe' is not a value: use a field of one of its events, as in probe[-1].card, or an aggregate such as count(probe)\n"
                 "      match probe+ then b where probe > 1 within 1h\n"
                 "                                ^~~~~\n");
}

Test(check, expr_single_step_not_value)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b where a > 1 within 1h\n",
                 false,
                 "test.weir:7:24: error: step 'a' is not a value: use one of its fields, as in a.card\n"
                 "      match a then b where a > 1 within 1h\n"
                 "                           ^\n");
}

Test(check, expr_list_not_value)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where high_risk_mcc > 1 within 1h\n",
                 false,
                 "test.weir:7:17: error: list 'high_risk_mcc' can only be used right of 'in', as in x in high_risk_mcc\n"
                 "      match a where high_risk_mcc > 1 within 1h\n"
                 "                    ^~~~~~~~~~~~~\n");
}

Test(check, expr_index_out_of_range)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p{2} then b where p[2].amount > 1 within 1h\n",
                 false,
                 "test.weir:7:29: error: index 2 is out of range: step 'p' matches at most 2 events\n"
                 "      match p{2} then b where p[2].amount > 1 within 1h\n"
                 "                                ^\n");
}

Test(check, expr_index_alone)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then b where p[-1] > 1 within 1h\n",
                 false,
                 "test.weir:7:25: error: 'p[-1]' is an event, not a value: use one of its fields, as in p[-1].card\n"
                 "      match p+ then b where p[-1] > 1 within 1h\n"
                 "                            ^~~~~\n");
}

Test(check, expr_index_non_step)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where (amount)[0].x > 1 within 1h\n",
                 false,
                 "test.weir:7:18: error: unknown step 'amount' in rule 'r'\n"
                 "      match a where (amount)[0].x > 1 within 1h\n"
                 "                     ^~~~~~\n");
}

Test(check, expr_field_of_value)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where lower(merchant).x > 1 within 1h\n",
                 false,
                 "test.weir:7:33: error: cannot take field 'x' of a string\n"
                 "      match a where lower(merchant).x > 1 within 1h\n"
                 "                                    ^\n");
}

Test(check, expr_count_no_arg)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where count() > 1 within 1h\n",
                 false,
                 "test.weir:7:17: error: count() in a pattern rule needs a repeated step, as in count(probe)\n"
                 "      match a where count() > 1 within 1h\n"
                 "                    ^~~~~~~\n");
}

Test(check, expr_count_field)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where count(amount) > 1 within 1h\n",
                 false,
                 "test.weir:7:23: error: count() in a pattern rule counts the events of a repeated step, as in count(probe)\n"
                 "      match a where count(amount) > 1 within 1h\n"
                 "                          ^~~~~~\n");
}

Test(check, expr_agg_bad_arg)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then a where sum(amount) > 1 within 1h\n",
                 false,
                 "test.weir:7:29: error: sum() in a pattern rule needs a field of a repeated step, as in sum(p.amount)\n"
                 "      match p+ then a where sum(amount) > 1 within 1h\n"
                 "                                ^~~~~~\n");
}

Test(check, expr_agg_distinct_step)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then a where count(distinct p) > 1 within 1h\n",
                 false,
                 "test.weir:7:40: error: count() in a pattern rule needs a field of a repeated step, as in count(distinct p.card)\n"
                 "      match p+ then a where count(distinct p) > 1 within 1h\n"
                 "                                           ^\n");
}

Test(check, expr_agg_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then a where count(distinct p.merchant) > 1 and avg(p.amount) > 1.5 and max(p.ts) < ts within 1h\n",
                 true,
                 "");
}

Test(check, expr_unknown_function)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where summ(amount) > 1 within 1h\n",
                 false,
                 "test.weir:7:17: error: unknown function 'summ' (did you mean 'sum'?)\n"
                 "      match a where summ(amount) > 1 within 1h\n"
                 "                    ^~~~\n");
}

Test(check, expr_unknown_function_no_hint)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where frobnicate(amount) within 1h\n",
                 false,
                 "test.weir:7:17: error: unknown function 'frobnicate'\n"
                 "      match a where frobnicate(amount) within 1h\n"
                 "                    ^~~~~~~~~~\n");
}

Test(check, expr_distinct_not_count)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then a where sum(distinct p.amount) > 1 within 1h\n",
                 false,
                 "test.weir:7:25: error: only count() takes 'distinct', as in count(distinct merchant)\n"
                 "      match p+ then a where sum(distinct p.amount) > 1 within 1h\n"
                 "                            ^~~\n");
}

Test(check, expr_arity_exact)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where geo_distance(lat, lon, 1.0) > 1 within 1h\n",
                 false,
                 "test.weir:7:17: error: geo_distance() takes 4 arguments, not 3\n"
                 "      match a where geo_distance(lat, lon, 1.0) > 1 within 1h\n"
                 "                    ^~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, expr_arity_at_most)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then a where count(p, p) > 1 within 1h\n",
                 false,
                 "test.weir:7:25: error: count() takes at most 1 argument, not 2\n"
                 "      match p+ then a where count(p, p) > 1 within 1h\n"
                 "                            ^~~~~~~~~~~\n");
}

Test(check, expr_arity_none)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where window_start(ts) > ts within 1h\n",
                 false,
                 "test.weir:7:17: error: window_start() takes no arguments\n"
                 "      match a where window_start(ts) > ts within 1h\n"
                 "                    ^~~~~~~~~~~~~~~~\n");
}

Test(check, expr_arg_type_one)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where lower(amount) == \"x\" within 1h\n",
                 false,
                 "test.weir:7:23: error: lower() needs a string, not decimal\n"
                 "      match a where lower(amount) == \"x\" within 1h\n"
                 "                          ^~~~~~\n");
}

Test(check, expr_arg_type_multi)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where contains(merchant, mcc) within 1h\n",
                 false,
                 "test.weir:7:36: error: argument 2 of contains() must be a string, not int\n"
                 "      match a where contains(merchant, mcc) within 1h\n"
                 "                                       ^~~\n");
}

Test(check, expr_arg_type_agg)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then a where sum(p.merchant) > 1 within 1h\n",
                 false,
                 "test.weir:7:29: error: sum() needs a number or a duration, not string\n"
                 "      match p+ then a where sum(p.merchant) > 1 within 1h\n"
                 "                                ^~~~~~~~~~\n");
}

Test(check, expr_env_outside_options)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where merchant == env(\"X\") within 1h\n",
                 false,
                 "test.weir:7:29: error: env() can only be used in sink options\n"
                 "      match a where merchant == env(\"X\") within 1h\n"
                 "                                ^~~~~~~~\n");
}

Test(check, expr_window_start_in_pattern)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where ts > window_start() within 1h\n",
                 false,
                 "test.weir:7:22: error: window_start() can only be used in the 'when' and the emit of a window rule\n"
                 "      match a where ts > window_start() within 1h\n"
                 "                         ^~~~~~~~~~~~~~\n");
}

Test(check, expr_and_not_bool)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where amount and true within 1h\n",
                 false,
                 "test.weir:7:17: error: 'and' needs bool operands, not decimal\n"
                 "      match a where amount and true within 1h\n"
                 "                    ^~~~~~\n");
}

Test(check, expr_compare_mismatch)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where amount > \"x\" within 1h\n",
                 false,
                 "test.weir:7:17: error: cannot compare decimal with string\n"
                 "      match a where amount > \"x\" within 1h\n"
                 "                    ^~~~~~~~~~~~\n");
}

Test(check, expr_compare_bool_order)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where (amount > 1) < true within 1h\n",
                 false,
                 "test.weir:7:17: error: cannot use '<' on bool values: only == and != compare them\n"
                 "      match a where (amount > 1) < true within 1h\n"
                 "                    ^~~~~~~~~~~~~~~~~~~\n");
}

Test(check, expr_arith_mismatch)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where merchant + 1 > 2 within 1h\n",
                 false,
                 "test.weir:7:17: error: cannot apply '+' to string and int\n"
                 "      match a where merchant + 1 > 2 within 1h\n"
                 "                    ^~~~~~~~~~~~\n");
}

Test(check, expr_not_not_bool)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where not amount within 1h\n",
                 false,
                 "test.weir:7:21: error: 'not' needs a bool, not decimal\n"
                 "      match a where not amount within 1h\n"
                 "                        ^~~~~~\n");
}

Test(check, expr_neg_not_number)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where -merchant == \"x\" within 1h\n",
                 false,
                 "test.weir:7:18: error: '-' needs a number or a duration, not string\n"
                 "      match a where -merchant == \"x\" within 1h\n"
                 "                     ^~~~~~~~\n");
}

Test(check, expr_time_arith_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b where ts - a.ts < 10m and ts + 1m > a.ts and (ts - a.ts) * 2 < 1h and hours(ts - a.ts) < 1.5 within 1h\n",
                 true,
                 "");
}

Test(check, expr_time_plus_int)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b where ts + 1 > a.ts within 1h\n",
                 false,
                 "test.weir:7:24: error: cannot apply '+' to time and int\n"
                 "      match a then b where ts + 1 > a.ts within 1h\n"
                 "                           ^~~~~~\n");
}

Test(check, expr_in_unknown_list)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where mcc in high_risk within 1h\n",
                 false,
                 "test.weir:7:24: error: unknown list 'high_risk'\n"
                 "      match a where mcc in high_risk within 1h\n"
                 "                           ^~~~~~~~~\n");
}

Test(check, expr_in_type_mismatch)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where merchant in high_risk_mcc within 1h\n",
                 false,
                 "test.weir:7:17: error: cannot look up string in list 'high_risk_mcc', which holds int\n"
                 "      match a where merchant in high_risk_mcc within 1h\n"
                 "                    ^~~~~~~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, expr_in_literal_mismatch)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where mcc not in [\"a\", \"b\"] within 1h\n",
                 false,
                 "test.weir:7:17: error: cannot look up int in the list, which holds string\n"
                 "      match a where mcc not in [\"a\", \"b\"] within 1h\n"
                 "                    ^~~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, expr_in_literal_mixed)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where mcc in [1, \"b\"] within 1h\n",
                 false,
                 "test.weir:7:28: error: list items must all have one type: found string after int\n"
                 "      match a where mcc in [1, \"b\"] within 1h\n"
                 "                               ^~~\n");
}

Test(check, expr_in_not_list)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where mcc in mcc within 1h\n",
                 false,
                 "test.weir:7:24: error: unknown list 'mcc'\n"
                 "      match a where mcc in mcc within 1h\n"
                 "                           ^~~\n");
}

Test(check, expr_list_literal_outside_in)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where [1, 2] == mcc within 1h\n",
                 false,
                 "test.weir:7:17: error: a list in [ ] can only be used right of 'in', as in country in [\"KP\", \"IR\"]\n"
                 "      match a where [1, 2] == mcc within 1h\n"
                 "                    ^~~~~~\n");
}

Test(check, expr_condition_not_bool)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where amount within 1h\n",
                 false,
                 "test.weir:7:17: error: condition must be bool, not decimal\n"
                 "      match a where amount within 1h\n"
                 "                    ^~~~~~\n");
}

Test(check, expr_always_false)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where amount > 5 and 2 < 1 within 1h\n",
                 true,
                 "test.weir:7:17: warning: condition is always false\n"
                 "      match a where amount > 5 and 2 < 1 within 1h\n"
                 "                    ^~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, expr_always_false_empty_in)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where mcc in [] within 1h\n",
                 true,
                 "test.weir:7:17: warning: condition is always false\n"
                 "      match a where mcc in [] within 1h\n"
                 "                    ^~~~~~~~~\n");
}

Test(check, expr_no_cascade)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where (amout + 1) * 2 > \"x\" and lower(amout) == 1 within 1h\n",
                 false,
                 "test.weir:7:18: error: unknown field 'amout' in stream 'payments' (did you mean 'amount'?)\n"
                 "      match a where (amout + 1) * 2 > \"x\" and lower(amout) == 1 within 1h\n"
                 "                     ^~~~~\n"
                 "test.weir:7:49: error: unknown field 'amout' in stream 'payments' (did you mean 'amount'?)\n"
                 "      match a where (amout + 1) * 2 > \"x\" and lower(amout) == 1 within 1h\n"
                 "                                                    ^~~~~\n");
}

Test(check, expr_decimal_int_widening)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a where amount * 2 + 1 > 1.5 and lat > amount within 1h\n",
                 true,
                 "");
}

Test(check, emit_pattern_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then big within 1h emit { card, n: count(p), spent: big.amount, last: p[-1].amount, total: sum(p.amount) }\n",
                 true,
                 "");
}

Test(check, emit_several_events)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match p+ then big within 1h emit { x: p.amount }\n",
                 false,
                 "test.weir:7:41: error: step 'p' can match several events: use p[0].amount, p[-1].amount or an aggregate such as sum(p.amount)\n"
                 "      match p+ then big within 1h emit { x: p.amount }\n"
                 "                                            ^~~~~~~~\n");
}

Test(check, emit_multi_not_in_every)
{
    expect_check(PRELUDE
                 "rule r on payments by card, logins by card\n"
                 "  match l from logins then p from payments within 1h\n"
                 "  emit { card, merchant }\n",
                 false,
                 "test.weir:8:16: error: field 'merchant' is not in every input of rule 'r': say which step it comes from, as in p.merchant\n"
                 "      emit { card, merchant }\n"
                 "                   ^~~~~~~~\n");
}

Test(check, emit_multi_type_differs)
{
    expect_check(PRELUDE
                 "rule r on payments by card, logins by card\n"
                 "  match l from logins then p from payments within 1h\n"
                 "  emit { amount }\n",
                 false,
                 "test.weir:8:10: error: field 'amount' has a different type in each input of rule 'r': say which step it comes from, as in p.amount\n"
                 "      emit { amount }\n"
                 "             ^~~~~~\n");
}

Test(check, emit_multi_unknown)
{
    expect_check(PRELUDE
                 "rule r on payments by card, logins by card\n"
                 "  match l from logins then p from payments within 1h\n"
                 "  emit { ipp }\n",
                 false,
                 "test.weir:8:10: error: unknown field 'ipp' in the inputs of rule 'r'\n"
                 "      emit { ipp }\n"
                 "             ^~~\n");
}

Test(check, multi_step_needs_from)
{
    expect_check(PRELUDE
                 "rule r on payments by card, logins by card\n"
                 "  match l then p from payments within 1h\n",
                 false,
                 "test.weir:7:9: error: step 'l' needs 'from STREAM': rule 'r' reads several streams (payments, logins)\n"
                 "      match l then p from payments within 1h\n"
                 "            ^\n");
}

Test(check, multi_from_not_input)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match l from login within 1h\n",
                 false,
                 "test.weir:7:16: error: stream 'login' is not an input of rule 'r' (it reads payments)\n"
                 "      match l from login within 1h\n"
                 "                   ^~~~~\n");
}

Test(check, multi_from_not_input_hint)
{
    expect_check(PRELUDE
                 "rule r on payments by card, logins by card\n"
                 "  match l from login then p from payments within 1h\n",
                 false,
                 "test.weir:7:16: error: stream 'login' is not an input of rule 'r' (did you mean 'logins'?)\n"
                 "      match l from login then p from payments within 1h\n"
                 "                   ^~~~~\n");
}

Test(check, multi_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card, logins by card\n"
                 "  match l from logins where not ok then p from payments where merchant == \"x\" or l.ip == \"y\" within 1h\n"
                 "  emit { card, ip: l.ip }\n",
                 true,
                 "");
}

Test(check, pat_not_on_group)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a not then (b then c) within 1h\n",
                 false,
                 "test.weir:7:20: error: 'not then' applies to a single step, not to a group\n"
                 "      match a not then (b then c) within 1h\n"
                 "                       ^~~~~~~~~~\n");
}

Test(check, pat_not_on_alternatives)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a not then b | c within 1h\n",
                 false,
                 "test.weir:7:20: error: 'not then' applies to a single step, not to alternatives\n"
                 "      match a not then b | c within 1h\n"
                 "                       ^~~~~\n");
}

Test(check, pat_not_quantified)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a not then b+ then c within 1h\n",
                 false,
                 "test.weir:7:21: error: a negated step cannot have a quantifier\n"
                 "      match a not then b+ then c within 1h\n"
                 "                        ^\n");
}

Test(check, pat_group_ends_with_not)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match (a not then b) then c within 1h\n",
                 false,
                 "test.weir:7:12: error: a group cannot end with 'not then'\n"
                 "      match (a not then b) then c within 1h\n"
                 "               ^~~~~~~~\n");
}

Test(check, pat_ends_with_not_next)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a not next b within 1h\n",
                 false,
                 "test.weir:7:11: error: a pattern cannot end with 'not next': use 'not then' and 'within' to wait for an absence\n"
                 "      match a not next b within 1h\n"
                 "              ^~~~~~~~\n");
}

Test(check, pat_absence_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a not then b within 1h\n",
                 true,
                 "");
}

Test(check, pat_quant_upper_lower)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a{5,3} within 1h\n",
                 false,
                 "test.weir:7:10: error: invalid quantifier {5,3}: the upper bound is smaller than the lower bound\n"
                 "      match a{5,3} within 1h\n"
                 "             ^~~~~\n");
}

Test(check, pat_quant_zero)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b{0} within 1h\n",
                 false,
                 "test.weir:7:17: error: quantifier {0} matches no event: remove step 'b'\n"
                 "      match a then b{0} within 1h\n"
                 "                    ^~~\n");
}

Test(check, pat_quant_zero_zero)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b{0,0} within 1h\n",
                 false,
                 "test.weir:7:17: error: quantifier {0,0} matches no event: remove step 'b'\n"
                 "      match a then b{0,0} within 1h\n"
                 "                    ^~~~~\n");
}

Test(check, pat_until_not_looping)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a{2,3} until amount > 5 within 1h\n",
                 false,
                 "test.weir:7:22: error: 'until' needs a looping quantifier (+, * or {n,}) on step 'a'\n"
                 "      match a{2,3} until amount > 5 within 1h\n"
                 "                         ^~~~~~~~~~\n");
}

Test(check, pat_until_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a+ until amount > 5 then b within 1h\n",
                 true,
                 "");
}

Test(check, pat_consecutive_not_looping)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a consecutive within 1h\n",
                 false,
                 "test.weir:7:10: error: 'consecutive' needs a quantifier that matches several events, such as + or {3}\n"
                 "      match a consecutive within 1h\n"
                 "             ^~~~~~~~~~~~\n");
}

Test(check, pat_any_not_looping)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a? any then b within 1h\n",
                 false,
                 "test.weir:7:11: error: 'any' needs a quantifier that matches several events, such as + or {3}\n"
                 "      match a? any then b within 1h\n"
                 "              ^~~~\n");
}

Test(check, pat_consecutive_any)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a+ consecutive any within 1h\n",
                 false,
                 "test.weir:7:11: error: 'consecutive' and 'any' cannot be used together\n"
                 "      match a+ consecutive any within 1h\n"
                 "              ^~~~~~~~~~~~~~~~\n");
}

Test(check, pat_greedy_reluctant)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a+ greedy reluctant then b within 1h\n",
                 false,
                 "test.weir:7:11: error: 'greedy' and 'reluctant' cannot be used together\n"
                 "      match a+ greedy reluctant then b within 1h\n"
                 "              ^~~~~~~~~~~~~~~~~\n");
}

Test(check, pat_greedy_reluctant_mark)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a+? greedy then b within 1h\n",
                 false,
                 "test.weir:7:12: error: 'greedy' and 'reluctant' cannot be used together\n"
                 "      match a+? greedy then b within 1h\n"
                 "               ^~~~~~~\n");
}

Test(check, pat_greedy_no_range)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a greedy then b within 1h\n",
                 false,
                 "test.weir:7:10: error: 'greedy' needs a quantifier with a range, such as +, * or {2,5}\n"
                 "      match a greedy then b within 1h\n"
                 "             ^~~~~~~\n");
}

Test(check, pat_reluctant_exact)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a{3}? then b within 1h\n",
                 false,
                 "test.weir:7:10: error: 'reluctant' needs a quantifier with a range, such as +, * or {2,5}\n"
                 "      match a{3}? then b within 1h\n"
                 "             ^~~~\n");
}

Test(check, pat_duplicate_step)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b then a within 1h\n",
                 false,
                 "test.weir:7:23: error: step 'a' is declared twice in rule 'r'\n"
                 "      match a then b then a within 1h\n"
                 "                          ^\n"
                 "test.weir:7:9: note: first declared here\n"
                 "      match a then b then a within 1h\n"
                 "            ^\n");
}

Test(check, pat_within_zero)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b within 0s\n",
                 false,
                 "test.weir:7:18: error: 'within' must be greater than zero\n"
                 "      match a then b within 0s\n"
                 "                     ^~~~~~~~~\n");
}

Test(check, pat_skip_unknown)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then big within 1h skip to first bigg\n",
                 false,
                 "test.weir:7:44: error: unknown step 'bigg' in rule 'r' (did you mean 'big'?)\n"
                 "      match a then big within 1h skip to first bigg\n"
                 "                                               ^~~~\n");
}

Test(check, pat_skip_negated)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a not then b then c within 1h skip to last b\n",
                 false,
                 "test.weir:7:52: error: cannot skip to step 'b': it is negated and never matches an event\n"
                 "      match a not then b then c within 1h skip to last b\n"
                 "                                                       ^\n");
}

Test(check, pat_skip_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a+ then b within 1h skip to last a\n",
                 true,
                 "");
}

Test(check, pat_empty)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a? then b* within 1h\n",
                 false,
                 "test.weir:7:3: error: this pattern can match no event at all: make at least one step required\n"
                 "      match a? then b* within 1h\n"
                 "      ^~~~~~~~~~~~~~~~\n");
}

Test(check, pat_no_within_loop)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a+ next b\n",
                 true,
                 "test.weir:6:6: warning: pattern has no 'within': its partial matches can live forever\n"
                 "    rule r on payments by card\n"
                 "         ^\n");
}

Test(check, pat_no_within_strict_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a next b next c{2} consecutive\n",
                 true,
                 "");
}

Test(check, pat_group_repeated)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match (a then b where a[-1].amount < amount){2} then c where sum(b.amount) > 1 and b[-1].amount > 1 within 1h\n",
                 true,
                 "");
}

Test(check, pat_group_until)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match (a then b)+ until count(a) > 3 and amount > 1 then c within 1h\n",
                 true,
                 "");
}

Test(check, pat_group_until_streams)
{
    expect_check(PRELUDE
                 "rule r on payments by card, logins by card\n"
                 "  match (a from payments then b from logins)+ until amount > 1 then c from payments within 1h\n",
                 false,
                 "test.weir:7:53: error: the steps of this group read several streams, so its 'until' cannot tell whose field a name is: put 'until' on a step\n"
                 "      match (a from payments then b from logins)+ until amount > 1 then c from payments within 1h\n"
                 "                                                        ^~~~~~~~~~\n");
}

Test(check, pat_group_index_range)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match (a then b){2} then c where a[5].amount > 1 within 1h\n",
                 false,
                 "test.weir:7:38: error: index 5 is out of range: step 'a' matches at most 2 events\n"
                 "      match (a then b){2} then c where a[5].amount > 1 within 1h\n"
                 "                                         ^\n");
}

Test(check, pat_on_timeout_ok)
{
    expect_check(PRELUDE
                 "rule r on payments by card\n"
                 "  match a then b within 1h on timeout emit { card, x: a.amount }\n",
                 true,
                 "");
}

Test(check, win_ok)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h where amount > 1 and mcc in high_risk_mcc when count() > 3 and sum(amount) > 1 and window_end() - window_start() >= 1h emit { card, n: count(), d: count(distinct merchant), m: max(amount * 2), s: window_start() }\n",
                 true,
                 "");
}

Test(check, win_not_key)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h when amount > 1\n",
                 false,
                 "test.weir:7:27: error: field 'amount' is not the key: aggregate it, e.g. sum(amount)\n"
                 "      window tumbling 1h when amount > 1\n"
                 "                              ^~~~~~\n");
}

Test(check, win_not_key_string)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h emit { merchant }\n",
                 false,
                 "test.weir:7:29: error: field 'merchant' is not the key: aggregate it, e.g. count(distinct merchant)\n"
                 "      window tumbling 1h emit { merchant }\n"
                 "                                ^~~~~~~~\n");
}

Test(check, win_aggregate_in_where)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h where sum(amount) > 1\n",
                 false,
                 "test.weir:7:28: error: sum() cannot be used in a window's 'where', which filters events before they are aggregated: use 'when'\n"
                 "      window tumbling 1h where sum(amount) > 1\n"
                 "                               ^~~~~~~~~~~\n");
}

Test(check, win_window_start_in_where)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h where ts > window_start()\n",
                 false,
                 "test.weir:7:33: error: window_start() can only be used in the 'when' and the emit of a window rule\n"
                 "      window tumbling 1h where ts > window_start()\n"
                 "                                    ^~~~~~~~~~~~~~\n");
}

Test(check, win_nested_aggregate)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h when sum(max(amount)) > 1\n",
                 false,
                 "test.weir:7:31: error: aggregates cannot be nested: max() inside sum()\n"
                 "      window tumbling 1h when sum(max(amount)) > 1\n"
                 "                                  ^~~~~~~~~~~\n");
}

Test(check, win_step_ref)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h when a.amount > 1\n",
                 false,
                 "test.weir:7:27: error: unknown step 'a': window rules have no steps\n"
                 "      window tumbling 1h when a.amount > 1\n"
                 "                              ^\n");
}

Test(check, win_slide_larger)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window sliding 5m every 10m\n",
                 false,
                 "test.weir:7:10: error: window slide 10m is longer than the window size 5m\n"
                 "      window sliding 5m every 10m\n"
                 "             ^~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, win_slide_not_divisor)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window sliding 1h every 7m\n",
                 true,
                 "test.weir:7:10: warning: window slide 7m does not divide the window size 1h: events fall into an uneven number of windows\n"
                 "      window sliding 1h every 7m\n"
                 "             ^~~~~~~~~~~~~~~~~~~\n");
}

Test(check, win_zero_size)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 0s\n",
                 false,
                 "test.weir:7:10: error: window size must be greater than zero\n"
                 "      window tumbling 0s\n"
                 "             ^~~~~~~~~~~\n");
}

Test(check, win_zero_gap)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window session gap 0s\n",
                 false,
                 "test.weir:7:10: error: session gap must be greater than zero\n"
                 "      window session gap 0s\n"
                 "             ^~~~~~~~~~~~~~\n");
}

Test(check, win_count_zero)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window count 0\n",
                 false,
                 "test.weir:7:10: error: window size must be greater than zero\n"
                 "      window count 0\n"
                 "             ^~~~~~~\n");
}

Test(check, win_count_slide_larger)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window count 10 every 20\n",
                 false,
                 "test.weir:7:10: error: window slide of 20 events is more than the window size of 10 events\n"
                 "      window count 10 every 20\n"
                 "             ^~~~~~~~~~~~~~~~~\n");
}

Test(check, win_count_slide_not_divisor)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window count 10 every 3\n",
                 true,
                 "test.weir:7:10: warning: window slide of 3 events does not divide the window size of 10 events: events fall into an uneven number of windows\n"
                 "      window count 10 every 3\n"
                 "             ^~~~~~~~~~~~~~~~\n");
}

Test(check, win_when_not_bool)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h when count()\n",
                 false,
                 "test.weir:7:27: error: condition must be bool, not int\n"
                 "      window tumbling 1h when count()\n"
                 "                              ^~~~~~~\n");
}

Test(check, win_when_always_false)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h when count() > 1 and false\n",
                 true,
                 "test.weir:7:27: warning: condition is always false\n"
                 "      window tumbling 1h when count() > 1 and false\n"
                 "                              ^~~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, win_several_inputs)
{
    expect_check(PRELUDE
                 "rule w on payments by card, logins by card window tumbling 1h\n",
                 false,
                 "test.weir:6:29: error: a window rule reads one stream, but rule 'w' lists 2\n"
                 "    rule w on payments by card, logins by card window tumbling 1h\n"
                 "                                ^~~~~~\n");
}

Test(check, win_within)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h within 1h\n",
                 false,
                 "test.weir:7:22: error: 'within' applies to pattern rules: a window has its own size\n"
                 "      window tumbling 1h within 1h\n"
                 "                         ^~~~~~~~~\n");
}

Test(check, win_skip)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h skip past last\n",
                 false,
                 "test.weir:7:22: error: 'skip past last' applies to pattern rules only\n"
                 "      window tumbling 1h skip past last\n"
                 "                         ^~~~~~~~~~~~~~\n");
}

Test(check, win_on_timeout)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h on timeout emit { card }\n",
                 false,
                 "test.weir:7:22: error: 'on timeout emit' applies to pattern rules only\n"
                 "      window tumbling 1h on timeout emit { card }\n"
                 "                         ^~~~~~~~~~~~~~~~~~~~~~~~\n");
}

Test(check, win_ok_key_int)
{
    expect_check(PRELUDE
                 "rule w on payments by card\n"
                 "  window tumbling 1h emit { card, a: avg(amount), l: avg(lat) }\n",
                 true,
                 "");
}
