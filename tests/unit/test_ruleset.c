/* test_ruleset.c — the compiler's front door: weir_ruleset_compile_text()
 * turns checked rules into plans (NFA and compiled conditions for pattern
 * rules, aggregation plans for window rules), `from file` lists are loaded
 * relative to the rule file, and the dumps show what was compiled. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile/nfa.h"
#include "compile/plan.h"
#include "compile/window_plan.h"
#include "engine/eval.h"
#include "weir/ruleset.h"

/* Diagnostics collected into one string. */
typedef struct collected {
    char text[4096];
    size_t len;
} collected;

static void collect(void *user, const weir_diagnostic *d)
{
    collected *c = user;
    int n = snprintf(c->text + c->len, sizeof c->text - c->len, "%s", d->rendered);
    if (n > 0)
        c->len += (size_t)n < sizeof c->text - c->len ? (size_t)n : sizeof c->text - c->len - 1;
}

static weir_compile_status compile(const char *name, const char *text, collected *diags,
                                   weir_ruleset **out)
{
    weir_compile_options opt = {.diag = collect, .diag_user = diags};
    return weir_ruleset_compile_text(name, text, strlen(text), &opt, out);
}

#define PAYMENTS "stream payments event time ts { card string, amount decimal, merchant string, country string, ts time }\n"

Test(ruleset, pattern_rule_gets_nfa_and_conditions)
{
    collected d = {0};
    weir_ruleset *rs = NULL;
    const char *text = PAYMENTS
        "rule r on payments by card\n"
        "  match probe{3,} where amount < 2 then big where amount >= 500\n"
        "  within 10m\n"
        "  emit { card, n: count(probe) }\n";
    cr_assert_eq(compile("t.weir", text, &d, &rs), WEIR_COMPILE_OK, "%s", d.text);
    cr_assert_eq(weir_ruleset_rule_count(rs), 1);
    cr_assert_str_eq(weir_ruleset_rule_name(rs, 0), "r");
    const weir_rule_plan *p = &rs->rules[0];
    cr_assert_not_null(p->nfa);
    cr_assert_null(p->window);
    cr_assert_eq(p->nfa->n_steps, 2);
    cr_assert_not_null(p->steps[0].where);
    cr_assert_not_null(p->steps[1].where);
    cr_assert_null(p->steps[0].until);
    cr_assert_eq(p->emit.n_fields, 2);
    cr_assert_str_eq(p->emit.fields[1].name, "n");
    cr_assert_eq(p->emit.fields[1].value->type, WEIR_T_INT);
    weir_ruleset_free(rs);
}

Test(ruleset, window_rule_gets_plan)
{
    collected d = {0};
    weir_ruleset *rs = NULL;
    const char *text = PAYMENTS
        "rule v on payments by card\n"
        "  window sliding 1h every 5m\n"
        "  when count() > 20\n"
        "  emit { card, n: count() }\n";
    cr_assert_eq(compile("t.weir", text, &d, &rs), WEIR_COMPILE_OK, "%s", d.text);
    cr_assert_null(rs->rules[0].nfa);
    cr_assert_not_null(rs->rules[0].window);
    cr_assert_eq(rs->rules[0].window->size_ms, 3600000);
    weir_ruleset_free(rs);
}

Test(ruleset, steps_know_their_stream)
{
    collected d = {0};
    weir_ruleset *rs = NULL;
    const char *text =
        "stream logins event time ts { user string, ts time }\n"
        "stream payments event time ts { user string, amount decimal, ts time }\n"
        "rule r on logins by user, payments by user\n"
        "  match l from logins then p from payments where amount > 100 within 1h\n";
    cr_assert_eq(compile("t.weir", text, &d, &rs), WEIR_COMPILE_OK, "%s", d.text);
    cr_assert_eq(rs->n_streams, 2);
    cr_assert_eq(rs->rules[0].steps[0].stream, 0);
    cr_assert_eq(rs->rules[0].steps[1].stream, 1);
    weir_ruleset_free(rs);
}

static char *dump_of(const weir_ruleset *rs, weir_dump_format format)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(weir_ruleset_dump(rs, format, f), 0);
    fclose(f);
    return buf;
}

Test(ruleset, text_dump_shows_automaton_and_code)
{
    collected d = {0};
    weir_ruleset *rs = NULL;
    const char *text = PAYMENTS
        "rule r on payments by card match a where amount > 1 next b within 1m emit { card }\n"
        "rule w on payments by card window tumbling 1h when sum(amount) > 10 emit { card }\n";
    cr_assert_eq(compile("t.weir", text, &d, &rs), WEIR_COMPILE_OK, "%s", d.text);
    char *dump = dump_of(rs, WEIR_DUMP_TEXT);
    cr_assert(strstr(dump, "rule r: "), "%s", dump);
    cr_assert(strstr(dump, "  a.where:\n"), "%s", dump);
    cr_assert(strstr(dump, "  emit card:\n"), "%s", dump);
    cr_assert(strstr(dump, "window rule w: tumbling 3600000ms"), "%s", dump);
    free(dump);
    dump = dump_of(rs, WEIR_DUMP_DOT);
    cr_assert(strncmp(dump, "digraph \"r\"", 11) == 0, "%s", dump);
    cr_assert_null(strstr(dump, "digraph \"w\""), "window rules have no graph");
    free(dump);
    weir_ruleset_free(rs);
}

/* Writes `content` to a fresh temporary directory as `name`; returns the
 * directory (malloc'd). */
static char *temp_dir_with(const char *name, const char *content)
{
    char tmpl[] = "/tmp/weir-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    cr_assert_not_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(content, f);
    fclose(f);
    return strdup(dir);
}

static void remove_temp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    rmdir(dir);
}

static bool rule_where_holds(const weir_ruleset *rs, const weir_value *event)
{
    weir_eval_ctx ctx = {.event = event};
    return weir_eval_condition(rs->rules[0].steps[0].where, &ctx);
}

Test(ruleset, list_from_file_is_loaded_next_to_the_rule_file)
{
    char *dir = temp_dir_with("countries.txt", "# risky\nKP\n  IR  \n\nSY\n");
    char name[600];
    snprintf(name, sizeof name, "%s/rules.weir", dir);
    collected d = {0};
    weir_ruleset *rs = NULL;
    const char *text = PAYMENTS
        "list risky from file \"countries.txt\"\n"
        "rule r on payments by card match a where country in risky then b within 1m\n";
    cr_assert_eq(compile(name, text, &d, &rs), WEIR_COMPILE_OK, "%s", d.text);
    weir_value ev[5] = {0};
    ev[3] = weir_value_string("IR", 2);
    cr_assert(rule_where_holds(rs, ev));
    ev[3] = weir_value_string("FR", 2);
    cr_assert_not(rule_where_holds(rs, ev));
    ev[3] = weir_value_string("# risky", 7);
    cr_assert_not(rule_where_holds(rs, ev), "comment lines are not items");
    weir_ruleset_free(rs);
    remove_temp(dir, "countries.txt");
    free(dir);
}

Test(ruleset, typed_list_file_with_a_bad_line_is_an_error)
{
    char *dir = temp_dir_with("bins.txt", "411111\nabc\n422222\n");
    char name[600];
    snprintf(name, sizeof name, "%s/rules.weir", dir);
    collected d = {0};
    weir_ruleset *rs = NULL;
    const char *text =
        "stream s event time ts { card string, bin int, ts time }\n"
        "list bins int from file \"bins.txt\"\n"
        "rule r on s by card match a where bin in bins then b within 1m\n";
    cr_assert_eq(compile(name, text, &d, &rs), WEIR_COMPILE_RULE_ERRORS);
    cr_assert_null(rs);
    cr_assert(strstr(d.text, "bins.txt:2: 'abc' is not a valid int item of list 'bins'"), "%s",
              d.text);
    remove_temp(dir, "bins.txt");
    free(dir);
}

Test(ruleset, missing_list_file_is_an_error)
{
    collected d = {0};
    weir_ruleset *rs = NULL;
    const char *text = PAYMENTS
        "list risky from file \"/nonexistent/weir/countries.txt\"\n"
        "rule r on payments by card match a where country in risky then b within 1m\n";
    cr_assert_eq(compile("t.weir", text, &d, &rs), WEIR_COMPILE_RULE_ERRORS);
    cr_assert(strstr(d.text, "t.weir:2:"), "%s", d.text);
    cr_assert(strstr(d.text, "cannot read list file '/nonexistent/weir/countries.txt'"), "%s",
              d.text);
}

/* ---- what a server reads off a rule set --------------------------------- */

#define KAFKA_STREAMS                                                                  \
    "stream payments from kafka \"payments\" event time ts\n"                          \
    "  { card string, user string, amount decimal, ts time }\n"                        \
    "stream logins from kafka \"logins\" event time ts { user string, ts time }\n"    \
    "stream clicks from kafka \"shared\" { user string }\n"                            \
    "stream views from kafka \"shared\" { user string }\n"                             \
    "stream files from file \"x.jsonl\" { user string }\n"

Test(ruleset, topics_map_to_the_one_stream_that_declares_them)
{
    collected diags = {0};
    weir_ruleset *rs = NULL;
    cr_assert_eq(compile("t.weir", KAFKA_STREAMS, &diags, &rs), WEIR_COMPILE_OK, "%s", diags.text);
    cr_assert_eq(weir_ruleset_topic_stream(rs, "payments"), 0);
    cr_assert_eq(weir_ruleset_topic_stream(rs, "logins"), 1);
    cr_assert_eq(weir_ruleset_topic_stream(rs, "shared"), SIZE_MAX, "two streams: the events tell");
    cr_assert_eq(weir_ruleset_topic_stream(rs, "events"), SIZE_MAX);
    cr_assert_eq(weir_ruleset_topic_stream(rs, "x.jsonl"), SIZE_MAX, "a file is no topic");
    cr_assert_str_eq(weir_ruleset_stream_topic(rs, 1), "logins");
    cr_assert_null(weir_ruleset_stream_topic(rs, 4));
    cr_assert_null(weir_ruleset_stream_topic(rs, 5));
    weir_ruleset_free(rs);
}

Test(ruleset, stream_keys_for_sharding)
{
    collected diags = {0};
    weir_ruleset *rs = NULL;
    cr_assert_eq(compile("t.weir",
                         KAFKA_STREAMS
                         "rule a on payments by card match x where amount > 1 emit { card }\n"
                         "rule b on payments by card, logins by user\n"
                         "  match l from logins then p from payments emit { user }\n",
                         &diags, &rs),
                 WEIR_COMPILE_OK, "%s", diags.text);
    size_t conflict = 7;
    cr_assert_str_eq(weir_ruleset_stream_key(rs, 0, &conflict), "card");
    cr_assert_eq(conflict, SIZE_MAX);
    cr_assert_str_eq(weir_ruleset_stream_key(rs, 1, NULL), "user");
    cr_assert_null(weir_ruleset_stream_key(rs, 2, &conflict), "no rule reads clicks");
    cr_assert_eq(conflict, SIZE_MAX);
    cr_assert_null(weir_ruleset_rule_key(rs, 1), "rule b keys by two names");
    weir_ruleset_free(rs);
    cr_assert_eq(compile("t.weir",
                         KAFKA_STREAMS
                         "rule a on payments by card match x where amount > 1 emit { card }\n"
                         "rule b on payments by user match x where amount > 1 emit { user }\n",
                         &diags, &rs),
                 WEIR_COMPILE_OK, "%s", diags.text);
    cr_assert_null(weir_ruleset_stream_key(rs, 0, &conflict));
    cr_assert_eq(conflict, 1, "rule b keys payments by user, rule a by card");
    weir_ruleset_free(rs);
}

static uint64_t fingerprint_of(const char *text, size_t rule)
{
    collected diags = {0};
    weir_ruleset *rs = NULL;
    cr_assert_eq(compile("t.weir", text, &diags, &rs), WEIR_COMPILE_OK, "%s", diags.text);
    uint64_t h = weir_ruleset_rule_fingerprint(rs, rule);
    cr_assert_eq(weir_ruleset_rule_fingerprint(rs, weir_ruleset_rule_count(rs)), 0);
    weir_ruleset_free(rs);
    return h;
}

Test(ruleset, fingerprints_ignore_layout_and_comments_only)
{
    const char *base = PAYMENTS "rule r on payments by card\n"
                                "  match x where amount > 100 and merchant != \"a  #b\"\n"
                                "  emit { card }\n";
    uint64_t h = fingerprint_of(base, 0);
    cr_assert_neq(h, 0);
    cr_assert_eq(fingerprint_of(PAYMENTS "# a comment\nrule   r on payments by card # why\n"
                                         "match x where amount>100 and merchant!=\"a  #b\" emit{card}\n",
                                0),
                 h);
    /* a rule before it changes its index, not its fingerprint */
    cr_assert_eq(fingerprint_of(PAYMENTS "rule q on payments by card match y emit { card }\n"
                                         "rule r on payments by card\n"
                                         "  match x where amount > 100 and merchant != \"a  #b\"\n"
                                         "  emit { card }\n",
                                1),
                 h);
    /* the string's inner spaces count */
    cr_assert_neq(fingerprint_of(PAYMENTS "rule r on payments by card\n"
                                          "  match x where amount > 100 and merchant != \"a #b\"\n"
                                          "  emit { card }\n",
                                 0),
                  h);
    cr_assert_neq(fingerprint_of(PAYMENTS "rule r on payments by card\n"
                                          "  match x where amount > 101 and merchant != \"a  #b\"\n"
                                          "  emit { card }\n",
                                 0),
                  h);
    /* so does the stream it reads: a field's type or the lateness */
    cr_assert_neq(fingerprint_of("stream payments event time ts, lateness 1s { card string, "
                                 "amount decimal, merchant string, country string, ts time }\n"
                                 "rule r on payments by card\n"
                                 "  match x where amount > 100 and merchant != \"a  #b\"\n"
                                 "  emit { card }\n",
                                 0),
                  h);
}
