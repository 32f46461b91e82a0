/* test_expr.c — compiled expressions, the evaluator and window plans.
 *
 * Each test writes real rule text: a stream declaration plus a rule whose
 * emit field (or step condition) is the expression under test. The text is
 * parsed and checked by the real front end (test_check_text), the
 * expression compiled with weir_expr_compile and evaluated over a fixed
 * event (and, for pattern rules, fixed step events) with exact expected
 * results. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/expr.h"
#include "compile/window_plan.h"
#include "dsl/builtins.h"
#include "engine/eval.h"
#include "helpers.h"

#include "alloc_count.h"

/* ------------------------------------------------------------------ */
/* Fixture                                                              */

/* Field indexes of the test stream, in declaration order. */
enum {
    F_CARD, F_AMOUNT, F_MERCHANT, F_MCC, F_COUNTRY, F_LAT, F_LON, F_TS,
    F_QTY, F_SCORE, F_OK, F_WAIT, F_NOTE, N_FIELDS
};

#define STREAM                                                                  \
    "stream payments {\n"                                                       \
    "  card string, amount decimal, merchant string, mcc int, country string,\n" \
    "  lat float, lon float, ts time, qty int, score float, ok bool,\n"         \
    "  wait duration, note string }\n"                                          \
    "list high_risk_mcc = [7995, 5967, 4829]\n"                                 \
    "list blocked string = [\"KP\", \"IR\"]\n"                                  \
    "list prices = [1.5, 2]\n"

/* A pattern rule: step 0 `probe` (repeated), step 1 `big`. */
#define PATTERN(big_where, emit_expr)                                     \
    STREAM "rule r on payments by card\n"                                 \
           "  match probe{1,} where amount < 2.00\n"                      \
           "  then big where " big_where "\n"                             \
           "  within 10m\n"                                               \
           "  emit { x: " emit_expr " }\n"

/* 2024-01-01T13:45:00Z, a Monday. */
#define TS_MONDAY INT64_C(1704116700000)

#define MAX_PROGS 8
#define MAX_PROBES 4

typedef struct fx {
    test_parse *parses[MAX_PROGS];
    weir_expr_program *progs[MAX_PROGS];
    unsigned n_progs;
    weir_value ev[N_FIELDS];
    weir_value probes[MAX_PROBES][N_FIELDS];
    weir_value big[N_FIELDS];
    const weir_value *step0[MAX_PROBES];
    const weir_value *step1[1];
    const weir_value *const *steps[2];
    size_t n_events[2];
    weir_eval_match_array arr;
    weir_eval_match match;
    char scratch_buf[64];
    weir_eval_scratch scratch;
    weir_eval_ctx ctx;
} fx;

static weir_value str(const char *s)
{
    return weir_value_string(s, strlen(s));
}

static void event_default(weir_value *ev)
{
    ev[F_CARD] = str("c1");
    ev[F_AMOUNT] = weir_value_decimal(125000); /* 12.5 */
    ev[F_MERCHANT] = str("Shop A");
    ev[F_MCC] = weir_value_int(7995);
    ev[F_COUNTRY] = str("GB");
    ev[F_LAT] = weir_value_float(51.5074);
    ev[F_LON] = weir_value_float(-0.1278);
    ev[F_TS] = weir_value_millis(TS_MONDAY);
    ev[F_QTY] = weir_value_int(3);
    ev[F_SCORE] = weir_value_float(0.5);
    ev[F_OK] = weir_value_bool(true);
    ev[F_WAIT] = weir_value_millis(90 * 60 * 1000);
    ev[F_NOTE] = str("Hello World");
}

/* Three probes (1.00 m1, 1.50 m2, 0.50 m1; qty 1, 2, 2) and one big (600
 * m9); n_probes of them are visible to the program. */
static void fx_init(fx *f, size_t n_probes)
{
    memset(f, 0, sizeof *f);
    event_default(f->ev);
    static const int64_t amounts[] = {10000, 15000, 5000, 20000};
    static const char *const merchants[] = {"m1", "m2", "m1", "m3"};
    static const int64_t qtys[] = {1, 2, 2, 7};
    for (int i = 0; i < MAX_PROBES; i++) {
        event_default(f->probes[i]);
        f->probes[i][F_AMOUNT] = weir_value_decimal(amounts[i]);
        f->probes[i][F_MERCHANT] = str(merchants[i]);
        f->probes[i][F_QTY] = weir_value_int(qtys[i]);
        f->probes[i][F_SCORE] = weir_value_float(0.25 * (i + 1));
        f->step0[i] = f->probes[i];
    }
    event_default(f->big);
    f->big[F_AMOUNT] = weir_value_decimal(6000000);
    f->big[F_MERCHANT] = str("m9");
    f->step1[0] = f->big;
    f->steps[0] = f->step0;
    f->steps[1] = f->step1;
    f->n_events[0] = n_probes;
    f->n_events[1] = 1;
    f->arr.events = f->steps;
    f->arr.n_events = f->n_events;
    f->arr.n_steps = 2;
    f->match = weir_eval_match_array_view(&f->arr);
    f->scratch.buf = f->scratch_buf;
    f->scratch.cap = sizeof f->scratch_buf;
    f->ctx.event = f->ev;
    f->ctx.match = &f->match;
    f->ctx.scratch = &f->scratch;
}

static void fx_fini(fx *f)
{
    for (unsigned i = 0; i < f->n_progs; i++) {
        weir_expr_program_free(f->progs[i]);
        test_parse_free(f->parses[i]);
    }
    f->n_progs = 0;
}

static test_parse *checked(const char *text)
{
    test_parse *t = test_check_text(text);
    cr_assert(t->parsed_ok && t->checked_ok, "rule text did not check:\n%s\n%s", text,
              t->output);
    return t;
}

static const ast_rule *first_rule(test_parse *t)
{
    cr_assert_not_null(t->prog->rules);
    return t->prog->rules;
}

/* Compiles `e` (from parse t, kept alive by the fixture). */
static weir_expr_program *fx_compile(fx *f, test_parse *t, const ast_expr *e,
                                     const weir_expr_options *opt)
{
    cr_assert_lt(f->n_progs, MAX_PROGS);
    weir_expr_program *p = weir_expr_compile(e, opt);
    f->parses[f->n_progs] = t;
    f->progs[f->n_progs++] = p;
    cr_assert_not_null(p, "expression did not compile:\n%s", t->output);
    return p;
}

/* The program of the first emit field of the first rule of `text`. */
static weir_expr_program *emit_prog(fx *f, const char *text)
{
    test_parse *t = checked(text);
    return fx_compile(f, t, first_rule(t)->emit.fields->value, NULL);
}

/* The condition of step `step` of the first rule of `text`. */
static weir_expr_program *where_prog(fx *f, const char *text, unsigned step)
{
    test_parse *t = checked(text);
    const ast_rule *r = first_rule(t);
    cr_assert_lt(step, r->n_steps);
    return fx_compile(f, t, r->steps[step]->where, NULL);
}

static weir_value run(fx *f, const weir_expr_program *p)
{
    weir_value v;
    weir_eval_run(p, &f->ctx, &v);
    return v;
}

/* Evaluates `expr` as the emit field of the pattern rule. */
static weir_value value_of(fx *f, const char *text)
{
    return run(f, emit_prog(f, text));
}

#define VALUE(expr) value_of(&f, PATTERN("amount >= 500", expr))

static void expect_int(weir_value v, int64_t want)
{
    cr_assert(!v.missing, "missing, want %lld", (long long)want);
    cr_assert_eq(v.u.i, want, "got %lld, want %lld", (long long)v.u.i, (long long)want);
}

/* want: the decimal scaled by 10000 */
static void expect_dec(weir_value v, int64_t want)
{
    cr_assert(!v.missing, "missing, want decimal %lld", (long long)want);
    cr_assert_eq(v.u.dec, want, "got %lld, want %lld (x 1/10000)", (long long)v.u.dec,
                 (long long)want);
}

static void expect_float(weir_value v, double want, double eps)
{
    cr_assert(!v.missing, "missing, want %g", want);
    cr_assert(fabs(v.u.f - want) <= eps, "got %.17g, want %.17g", v.u.f, want);
}

static void expect_bool(weir_value v, bool want)
{
    cr_assert(!v.missing, "missing, want %s", want ? "true" : "false");
    cr_assert_eq(v.u.b, want, "got %s", v.u.b ? "true" : "false");
}

static void expect_str(weir_value v, const char *want)
{
    cr_assert(!v.missing, "missing, want \"%s\"", want);
    cr_assert(v.len == strlen(want) && memcmp(v.u.s, want, v.len) == 0, "got \"%.*s\"",
              (int)v.len, v.u.s);
}

static void expect_missing(weir_value v)
{
    cr_assert(v.missing, "expected missing");
}

/* ------------------------------------------------------------------ */
/* Arithmetic                                                           */

Test(expr_arith, int_add_and_precedence)
{
    fx f;
    fx_init(&f, 3);
    expect_int(VALUE("qty + 4"), 7);
    expect_int(VALUE("2 + 3 * 4"), 14);
    expect_int(VALUE("(2 + 3) * 4"), 20);
    expect_int(VALUE("qty - 10"), -7);
    fx_fini(&f);
}

Test(expr_arith, int_division_truncates_and_modulo_keeps_sign)
{
    fx f;
    fx_init(&f, 3);
    expect_int(VALUE("7 / 2"), 3);
    expect_int(VALUE("-7 / 2"), -3);
    expect_int(VALUE("-7 % 3"), -1);
    expect_int(VALUE("7 % qty"), 1);
    fx_fini(&f);
}

Test(expr_arith, unary_minus_per_type)
{
    fx f;
    fx_init(&f, 3);
    expect_int(VALUE("-qty"), -3);
    expect_dec(VALUE("-amount"), -125000);
    expect_float(VALUE("-score"), -0.5, 0);
    expect_int(VALUE("-(-qty)"), 3);
    fx_fini(&f);
}

Test(expr_arith, decimal_add_sub_exact)
{
    fx f;
    fx_init(&f, 3);
    expect_dec(VALUE("amount + 0.25"), 127500);
    expect_dec(VALUE("amount - 12.4999"), 1);
    expect_dec(VALUE("0.1 + 0.2"), 3000); /* exact, unlike floats */
    fx_fini(&f);
}

Test(expr_arith, decimal_multiply_rounds_half_away_from_zero)
{
    fx f;
    fx_init(&f, 3);
    expect_dec(VALUE("1.0005 * 0.5"), 5003);   /* 0.50025 → 0.5003 */
    expect_dec(VALUE("-1.0005 * 0.5"), -5003); /* -0.50025 → -0.5003 */
    expect_dec(VALUE("1.0004 * 0.5"), 5002);   /* 0.5002 exactly */
    expect_dec(VALUE("amount * 1.1"), 137500);
    fx_fini(&f);
}

Test(expr_arith, decimal_divide_rounds)
{
    fx f;
    fx_init(&f, 3);
    expect_dec(VALUE("10.00 / 3.0"), 33333);  /* 3.33333 → 3.3333 */
    expect_dec(VALUE("2.00 / 3.0"), 6667);    /* 0.66666 → 0.6667 */
    expect_dec(VALUE("-2.00 / 3.0"), -6667);
    expect_dec(VALUE("amount / 0.5"), 250000);
    fx_fini(&f);
}

Test(expr_arith, decimal_large_values_use_wide_intermediates)
{
    fx f;
    fx_init(&f, 3);
    /* 900000000000.0 * 2.0 needs more than 64 bits before rescaling. */
    expect_dec(VALUE("900000000000.0 * 2.0"), INT64_C(18000000000000000));
    expect_dec(VALUE("900000000000.0 / 0.5"), INT64_C(18000000000000000));
    fx_fini(&f);
}

Test(expr_arith, widening_int_to_decimal)
{
    fx f;
    fx_init(&f, 3);
    expect_dec(VALUE("qty * 1.5"), 45000);
    expect_dec(VALUE("amount + qty"), 155000);
    expect_dec(VALUE("amount / 2"), 62500);
    expect_dec(VALUE("1 / 3.0"), 3333);
    fx_fini(&f);
}

Test(expr_arith, widening_to_float)
{
    fx f;
    fx_init(&f, 3);
    expect_float(VALUE("qty + score"), 3.5, 0);
    expect_float(VALUE("amount * 2e0"), 25.0, 0);
    expect_float(VALUE("score / 4"), 0.125, 0);
    expect_float(VALUE("lat - 51"), 0.5074, 1e-12);
    fx_fini(&f);
}

Test(expr_arith, float_modulo_and_abs)
{
    fx f;
    fx_init(&f, 3);
    expect_float(VALUE("7.5e0 % 2"), 1.5, 0);
    expect_float(VALUE("abs(lon)"), 0.1278, 0);
    expect_int(VALUE("abs(0 - qty)"), 3);
    expect_dec(VALUE("abs(1.0 - amount)"), 115000);
    fx_fini(&f);
}

Test(expr_arith, division_by_zero_is_missing)
{
    fx f;
    fx_init(&f, 3);
    expect_missing(VALUE("qty / 0"));
    expect_missing(VALUE("qty % (qty - 3)"));
    expect_missing(VALUE("amount / 0.0"));
    expect_missing(VALUE("score / 0e0"));
    expect_missing(VALUE("score % 0"));
    /* ... and whatever is computed from it */
    expect_missing(VALUE("qty / 0 + 1"));
    fx_fini(&f);
}

Test(expr_arith, overflow_is_missing)
{
    fx f;
    fx_init(&f, 3);
    expect_missing(VALUE("9223372036854775807 + qty"));
    expect_missing(VALUE("9223372036854775807 * 2"));
    expect_missing(VALUE("(0 - 9223372036854775807 - 1) / -1"));
    expect_missing(VALUE("900000000000000.0 * 100000.0"));
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Comparisons                                                          */

Test(expr_compare, ints)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("mcc == 7995"), true);
    expect_bool(VALUE("mcc != 7995"), false);
    expect_bool(VALUE("qty < 4"), true);
    expect_bool(VALUE("qty <= 3"), true);
    expect_bool(VALUE("qty > 3"), false);
    expect_bool(VALUE("qty >= 3"), true);
    fx_fini(&f);
}

Test(expr_compare, decimals_against_ints_and_decimals)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("amount > 12"), true);
    expect_bool(VALUE("amount <= 12.5"), true);
    expect_bool(VALUE("amount == 12.50"), true);
    expect_bool(VALUE("amount < 12.4999"), false);
    expect_bool(VALUE("13 > amount"), true);
    fx_fini(&f);
}

/* A field compared with a constant is also kept as such (field_cmp), and
 * weir_eval_condition tests it without the loop: it must say what the loop
 * says, for every comparison, either order, and a missing field. */
Test(expr_compare, field_against_constant_shortcut_agrees_with_the_loop)
{
    static const char *const conds[] = {
        "amount < 2.00", "amount <= 12.5", "amount > 12", "amount >= 12.50",
        "amount == 12.50", "amount != 12.50", "2 > amount", "13 >= amount",
        "mcc == 7995", "mcc != 7995", "qty < 4", "wait >= 1s", "12.5 == amount",
        "2 < amount", "12.5 <= amount", "7995 != mcc",
    };
    static const int64_t amounts[] = {0, 19999, 20000, 125000, 125001, -5};
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        fx f;
        fx_init(&f, 3);
        char text[512];
        snprintf(text, sizeof text, PATTERN("%s", "1"), conds[i]);
        weir_expr_program *p = where_prog(&f, text, 1);
        cr_assert(p->field_cmp != 0, "%s: not kept as a field comparison", conds[i]);
        for (size_t a = 0; a <= sizeof amounts / sizeof amounts[0]; a++) {
            bool missing = a == sizeof amounts / sizeof amounts[0];
            f.ev[F_AMOUNT] = missing ? weir_value_missing() : weir_value_decimal(amounts[a]);
            f.ev[F_MCC] = missing ? weir_value_missing() : weir_value_int(7995 + (int64_t)a);
            weir_value v = run(&f, p);
            bool loop = !v.missing && v.u.b;
            cr_assert_eq(weir_eval_condition(p, &f.ctx), loop, "%s, case %zu", conds[i], a);
        }
        fx_fini(&f);
    }
    /* anything else takes the loop */
    fx f;
    fx_init(&f, 3);
    cr_assert_eq(where_prog(&f, PATTERN("amount + 1 < 2", "1"), 1)->field_cmp, 0);
    cr_assert_eq(where_prog(&f, PATTERN("merchant == \"m1\"", "1"), 1)->field_cmp, 0);
    cr_assert_eq(where_prog(&f, PATTERN("score < 0.5", "1"), 1)->field_cmp, 0);
    fx_fini(&f);
}

Test(expr_compare, floats_against_other_numbers)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("score < 1"), true);
    expect_bool(VALUE("score == 0.5"), true);
    expect_bool(VALUE("lat > 51.5"), true);
    expect_bool(VALUE("lon >= 0"), false);
    fx_fini(&f);
}

Test(expr_compare, strings_bytewise)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("merchant == \"Shop A\""), true);
    expect_bool(VALUE("country != \"FR\""), true);
    expect_bool(VALUE("\"abc\" < \"abd\""), true);
    expect_bool(VALUE("\"ab\" < \"abc\""), true);
    expect_bool(VALUE("\"b\" > \"abc\""), true);
    expect_bool(VALUE("\"\" >= \"\""), true);
    expect_bool(VALUE("\"Z\" < \"a\""), true);
    fx_fini(&f);
}

Test(expr_compare, bools)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("ok == true"), true);
    expect_bool(VALUE("ok != false"), true);
    expect_bool(VALUE("(qty > 5) == false"), true);
    fx_fini(&f);
}

Test(expr_compare, times_and_durations)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("ts > ts - 1h"), true);
    expect_bool(VALUE("wait > 1h"), true);
    expect_bool(VALUE("wait == 90m"), true);
    expect_bool(VALUE("wait == 1h30m"), true);
    expect_bool(VALUE("wait < 5400001ms"), true);
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Time and duration arithmetic                                         */

Test(expr_time, time_plus_minus_duration)
{
    fx f;
    fx_init(&f, 3);
    expect_int(VALUE("ts + 30m"), TS_MONDAY + 30 * 60000);
    expect_int(VALUE("ts - 1d"), TS_MONDAY - 86400000);
    expect_int(VALUE("(ts + 30m) - ts"), 30 * 60000);
    expect_int(VALUE("wait + 250ms"), 5400250);
    fx_fini(&f);
}

Test(expr_time, duration_times_and_by_int)
{
    fx f;
    fx_init(&f, 3);
    expect_int(VALUE("wait * 2"), 180 * 60000);
    expect_int(VALUE("qty * 10s"), 30000);
    expect_int(VALUE("wait / 4"), 1350000);
    expect_missing(VALUE("wait / 0"));
    expect_int(VALUE("-wait"), -5400000);
    fx_fini(&f);
}

Test(expr_time, hours_hour_of_day_day_of_week)
{
    fx f;
    fx_init(&f, 3);
    expect_float(VALUE("hours(wait)"), 1.5, 0);
    expect_int(VALUE("hour_of_day(ts)"), 13);
    expect_int(VALUE("day_of_week(ts)"), 1);            /* Monday */
    expect_int(VALUE("day_of_week(ts + 6d)"), 7);       /* Sunday */
    expect_int(VALUE("hour_of_day(ts + 11h)"), 0);      /* next midnight */
    fx_fini(&f);
}

Test(expr_time, before_the_epoch)
{
    fx f;
    fx_init(&f, 3);
    f.ev[F_TS] = weir_value_millis(-3600000); /* 1969-12-31T23:00Z, a Wednesday */
    expect_int(VALUE("hour_of_day(ts)"), 23);
    expect_int(VALUE("day_of_week(ts)"), 3);
    f.ev[F_TS] = weir_value_millis(0); /* 1970-01-01, a Thursday */
    expect_int(VALUE("day_of_week(ts)"), 4);
    expect_int(VALUE("hour_of_day(ts)"), 0);
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */

Test(expr_string, lower_upper_length)
{
    fx f;
    fx_init(&f, 3);
    expect_str(VALUE("lower(note)"), "hello world");
    expect_str(VALUE("upper(card)"), "C1");
    expect_int(VALUE("length(note)"), 11);
    expect_int(VALUE("length(\"\")"), 0);
    expect_bool(VALUE("lower(merchant) == \"shop a\""), true);
    fx_fini(&f);
}

Test(expr_string, lower_writes_the_scratch_area_and_needs_room)
{
    fx f;
    fx_init(&f, 3);
    weir_expr_program *p = emit_prog(&f, PATTERN("amount >= 500", "upper(note)"));
    expect_str(run(&f, p), "HELLO WORLD");
    cr_assert_eq(f.scratch.used, 11);
    f.scratch.used = f.scratch.cap - 5; /* full: the result is missing */
    expect_missing(run(&f, p));
    weir_eval_scratch_reset(&f.scratch);
    expect_str(run(&f, p), "HELLO WORLD");
    f.ctx.scratch = NULL;
    expect_missing(run(&f, p));
    fx_fini(&f);
}

Test(expr_string, contains_starts_ends)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("contains(note, \"lo W\")"), true);
    expect_bool(VALUE("contains(note, \"low\")"), false);
    expect_bool(VALUE("contains(note, \"\")"), true);
    expect_bool(VALUE("contains(\"ab\", \"abc\")"), false);
    expect_bool(VALUE("starts_with(note, \"Hell\")"), true);
    expect_bool(VALUE("starts_with(note, \"ell\")"), false);
    expect_bool(VALUE("ends_with(note, \"World\")"), true);
    expect_bool(VALUE("ends_with(note, \"Hello World!\")"), false);
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Logic                                                                */

Test(expr_logic, and_or_not)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("qty > 1 and mcc == 7995"), true);
    expect_bool(VALUE("qty > 5 and mcc == 7995"), false);
    expect_bool(VALUE("qty > 5 or mcc == 7995"), true);
    expect_bool(VALUE("qty > 5 or mcc == 1"), false);
    expect_bool(VALUE("not ok"), false);
    expect_bool(VALUE("not (qty > 5) and ok"), true);
    fx_fini(&f);
}

/* A match view that counts how often the program looked at a step. */
typedef struct counting_match {
    weir_eval_match_array arr;
    int calls;
} counting_match;

static size_t counting_count(const void *self, unsigned step)
{
    counting_match *m = (counting_match *)self;
    m->calls++;
    return step < m->arr.n_steps ? m->arr.n_events[step] : 0;
}

static const weir_value *counting_event(const void *self, unsigned step, size_t i)
{
    counting_match *m = (counting_match *)self;
    m->calls++;
    return m->arr.events[step][i];
}

static const weir_eval_match_ops counting_ops = {counting_count, counting_event};

Test(expr_logic, and_or_short_circuit)
{
    fx f;
    fx_init(&f, 3);
    counting_match cm = {.arr = f.arr};
    weir_eval_match m = {&counting_ops, &cm};
    f.ctx.match = &m;

    weir_expr_program *and_p =
        where_prog(&f, PATTERN("amount >= 500 and merchant != probe[-1].merchant", "1"), 1);
    f.ev[F_AMOUNT] = weir_value_decimal(10000); /* 1.00: the left side is false */
    cr_assert(!weir_eval_condition(and_p, &f.ctx));
    cr_assert_eq(cm.calls, 0, "the right side of 'and' was evaluated");
    f.ev[F_AMOUNT] = weir_value_decimal(6000000);
    cr_assert(weir_eval_condition(and_p, &f.ctx));
    cr_assert_gt(cm.calls, 0);

    cm.calls = 0;
    weir_expr_program *or_p =
        where_prog(&f, PATTERN("amount >= 500 or probe[-1].merchant == \"m1\"", "1"), 1);
    cr_assert(weir_eval_condition(or_p, &f.ctx));
    cr_assert_eq(cm.calls, 0, "the right side of 'or' was evaluated");
    fx_fini(&f);
}

Test(expr_logic, three_valued_with_missing)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("qty / 0 > 1 or true"), true);
    expect_bool(VALUE("true or qty / 0 > 1"), true);
    expect_bool(VALUE("qty / 0 > 1 and false"), false);
    expect_bool(VALUE("false and qty / 0 > 1"), false);
    expect_missing(VALUE("qty / 0 > 1 and true"));
    expect_missing(VALUE("qty / 0 > 1 or false"));
    expect_missing(VALUE("not (qty / 0 > 1)"));
    fx_fini(&f);
}

Test(expr_logic, missing_condition_is_false_both_ways)
{
    fx f;
    fx_init(&f, 3);
    weir_expr_program *p = where_prog(&f, PATTERN("amount / 0 > 1", "1"), 1);
    weir_expr_program *q = where_prog(&f, PATTERN("not (amount / 0 > 1)", "1"), 1);
    cr_assert(!weir_eval_condition(p, &f.ctx));
    cr_assert(!weir_eval_condition(q, &f.ctx));
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* in / not in                                                          */

Test(expr_in, declared_int_list)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("mcc in high_risk_mcc"), true);
    expect_bool(VALUE("mcc not in high_risk_mcc"), false);
    expect_bool(VALUE("qty in high_risk_mcc"), false);
    expect_bool(VALUE("qty not in high_risk_mcc"), true);
    fx_fini(&f);
}

Test(expr_in, string_lists_declared_and_literal)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("country in [\"KP\", \"IR\", \"GB\"]"), true);
    expect_bool(VALUE("country in blocked"), false);
    expect_bool(VALUE("country not in blocked"), true);
    expect_bool(VALUE("\"KP\" in blocked"), true);
    expect_bool(VALUE("country in []"), false);
    fx_fini(&f);
}

Test(expr_in, numeric_widening_between_value_and_list)
{
    fx f;
    fx_init(&f, 3);
    expect_bool(VALUE("qty in [1.5, 3]"), true);      /* int value, decimal list */
    expect_bool(VALUE("amount in [12, 13]"), false);  /* 12.5 */
    expect_bool(VALUE("amount - 10.5 in [1, 2]"), true);
    expect_bool(VALUE("2 in prices"), true);           /* declared [1.5, 2] */
    expect_bool(VALUE("score in [0.5e0, 1]"), true);
    expect_bool(VALUE("qty - 5 in [-2, 4]"), true);   /* negative items */
    fx_fini(&f);
}

Test(expr_in, missing_value_is_missing)
{
    fx f;
    fx_init(&f, 3);
    expect_missing(VALUE("qty / 0 in high_risk_mcc"));
    expect_missing(VALUE("qty / 0 not in high_risk_mcc"));
    fx_fini(&f);
}

static const weir_value_set *resolve_file_list(const ast_list_decl *l, void *user)
{
    cr_assert_str_eq(l->name.name, "bad_merchants");
    return user;
}

Test(expr_in, list_from_file_comes_from_the_resolver)
{
    fx f;
    fx_init(&f, 3);
    test_parse *t = checked(STREAM "list bad_merchants from file \"bad.txt\"\n"
                                   "rule r on payments by card match e where true\n"
                                   "  emit { x: merchant in bad_merchants }\n");
    const ast_expr *e = first_rule(t)->emit.fields->value;

    weir_value_set *set = weir_value_set_new(WEIR_T_STRING);
    weir_value v = str("Shop A");
    cr_assert_eq(weir_value_set_add(set, &v), 0);
    weir_expr_options opt = {.list = resolve_file_list, .list_user = set};
    weir_expr_program *p = fx_compile(&f, t, e, &opt);
    expect_bool(run(&f, p), true);
    f.ev[F_MERCHANT] = str("Shop B");
    expect_bool(run(&f, p), false);
    /* the program borrows the set: freeing the program leaves it alone */
    fx_fini(&f);
    cr_assert_eq(weir_value_set_size(set), 1);
    weir_value_set_free(set);

    /* no resolver: an error, not a crash */
    t = checked(STREAM "list bad_merchants from file \"bad.txt\"\n"
                       "rule r on payments by card match e where true\n"
                       "  emit { x: merchant in bad_merchants }\n");
    weir_expr_options none = {.diags = &t->diags};
    cr_assert_null(weir_expr_compile(first_rule(t)->emit.fields->value, &none));
    cr_assert(strstr(t->output, "list 'bad_merchants' has no items loaded"), "%s", t->output);
    test_parse_free(t);
}

Test(expr_in, value_set_basics)
{
    weir_value_set *s = weir_value_set_new(WEIR_T_INT);
    for (int64_t i = 0; i < 1000; i += 3) {
        weir_value v = weir_value_int(i);
        cr_assert_eq(weir_value_set_add(s, &v), 0);
    }
    weir_value again = weir_value_int(3);
    weir_value_set_add(s, &again);
    cr_assert_eq(weir_value_set_size(s), 334);
    for (int64_t i = 0; i < 1000; i++) {
        weir_value v = weir_value_int(i);
        cr_assert_eq(weir_value_set_contains(s, &v), i % 3 == 0, "%lld", (long long)i);
    }
    weir_value m = weir_value_missing();
    cr_assert(!weir_value_set_contains(s, &m));
    cr_assert_eq(weir_value_set_add(s, &m), -1);
    size_t pos = 0, n = 0;
    while (weir_value_set_next(s, &pos))
        n++;
    cr_assert_eq(n, 334);
    weir_value_set_free(s);

    weir_value_set *fs = weir_value_set_new(WEIR_T_FLOAT);
    weir_value z = weir_value_float(0.0), nz = weir_value_float(-0.0);
    weir_value_set_add(fs, &z);
    cr_assert(weir_value_set_contains(fs, &nz), "-0.0 and 0.0 are one value");
    weir_value_set_free(fs);

    cr_assert_null(weir_value_set_new(WEIR_T_LIST));
    weir_value_set_free(NULL);
}

/* ------------------------------------------------------------------ */
/* geo_distance                                                         */

Test(expr_geo, london_paris)
{
    fx f;
    fx_init(&f, 3);
    /* London (51.5074, -0.1278) to Paris (48.8566, 2.3522): 343.5 km */
    expect_float(VALUE("geo_distance(lat, lon, 48.8566, 2.3522)"), 343.5, 0.5);
    expect_float(VALUE("geo_distance(lat, lon, lat, lon)"), 0.0, 1e-9);
    /* a quarter of the equator */
    expect_float(VALUE("geo_distance(0, 0, 0, 90)"), 6371.0088 * 3.14159265358979 / 2, 1e-6);
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Step references                                                      */

Test(expr_steps, single_step_field)
{
    fx f;
    fx_init(&f, 3);
    expect_dec(VALUE("big.amount"), 6000000);
    expect_str(VALUE("big.merchant"), "m9");
    expect_bool(VALUE("big.amount > 500"), true);
    fx_fini(&f);
}

Test(expr_steps, indexed_events_of_a_repeated_step)
{
    fx f;
    fx_init(&f, 3);
    expect_str(VALUE("probe[-1].merchant"), "m1");
    expect_str(VALUE("probe[0].merchant"), "m1");
    expect_str(VALUE("probe[1].merchant"), "m2");
    expect_dec(VALUE("probe[0].amount"), 10000);
    expect_dec(VALUE("probe[-2].amount"), 15000);
    expect_dec(VALUE("probe[-3].amount"), 10000);
    fx_fini(&f);
}

Test(expr_steps, index_past_the_events_is_missing)
{
    fx f;
    fx_init(&f, 3);
    expect_missing(VALUE("probe[3].amount"));
    expect_missing(VALUE("probe[-4].amount"));
    f.n_events[0] = 0;
    expect_missing(VALUE("probe[-1].merchant"));
    expect_missing(VALUE("probe[0].amount + 1"));
    f.ctx.match = NULL; /* no match view at all */
    expect_missing(VALUE("probe[0].amount"));
    fx_fini(&f);
}

Test(expr_steps, iterative_condition_on_the_previous_probe)
{
    fx f;
    fx_init(&f, 3);
    weir_expr_program *p =
        where_prog(&f, PATTERN("amount >= 500 and merchant != probe[-1].merchant", "1"), 1);
    f.ev[F_AMOUNT] = weir_value_decimal(6000000);
    f.ev[F_MERCHANT] = str("m9");
    cr_assert(weir_eval_condition(p, &f.ctx));
    f.ev[F_MERCHANT] = str("m1"); /* same as the last probe */
    cr_assert(!weir_eval_condition(p, &f.ctx));
    f.n_events[0] = 0; /* no probe yet: missing, so the condition fails */
    f.ev[F_MERCHANT] = str("m9");
    cr_assert(!weir_eval_condition(p, &f.ctx));
    fx_fini(&f);
}

Test(expr_steps, condition_of_a_repeated_step_over_its_own_events)
{
    fx f;
    fx_init(&f, 2);
    /* probe's own condition: probe[-1] is the last probe accepted so far */
    weir_expr_program *p = where_prog(
        &f,
        STREAM "rule r on payments by card\n"
               "  match probe{1,} where amount < 2.00 and qty >= probe[-1].qty\n"
               "  then big where amount >= 500 within 10m\n",
        0);
    f.ev[F_AMOUNT] = weir_value_decimal(10000);
    f.ev[F_QTY] = weir_value_int(2);
    cr_assert(weir_eval_condition(p, &f.ctx));
    f.ev[F_QTY] = weir_value_int(1);
    cr_assert(!weir_eval_condition(p, &f.ctx));
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Aggregates over a step's events                                      */

Test(expr_step_agg, count_sum_avg_min_max)
{
    fx f;
    fx_init(&f, 3);
    expect_int(VALUE("count(probe)"), 3);
    expect_dec(VALUE("sum(probe.amount)"), 30000);
    expect_dec(VALUE("avg(probe.amount)"), 10000);
    expect_dec(VALUE("min(probe.amount)"), 5000);
    expect_dec(VALUE("max(probe.amount)"), 15000);
    expect_float(VALUE("sum(probe.score)"), 1.5, 1e-12);
    expect_float(VALUE("avg(probe.score)"), 0.5, 1e-12);
    fx_fini(&f);
}

Test(expr_step_agg, first_last_and_strings)
{
    fx f;
    fx_init(&f, 3);
    expect_dec(VALUE("first(probe.amount)"), 10000);
    expect_dec(VALUE("last(probe.amount)"), 5000);
    expect_str(VALUE("min(probe.merchant)"), "m1");
    expect_str(VALUE("max(probe.merchant)"), "m2");
    expect_str(VALUE("last(probe.merchant)"), "m1");
    fx_fini(&f);
}

Test(expr_step_agg, avg_of_ints_is_a_rounded_decimal)
{
    fx f;
    fx_init(&f, 3);
    expect_dec(VALUE("avg(probe.qty)"), 16667); /* 5 / 3 */
    expect_int(VALUE("sum(probe.qty)"), 5);
    expect_int(VALUE("max(probe.qty)"), 2);
    fx_fini(&f);
}

Test(expr_step_agg, count_distinct)
{
    fx f;
    fx_init(&f, 4);
    expect_int(VALUE("count(distinct probe.merchant)"), 3); /* m1 m2 m1 m3 */
    expect_int(VALUE("count(distinct probe.qty)"), 3);      /* 1 2 2 7 */
    expect_int(VALUE("count(distinct probe.ok)"), 1);
    expect_int(VALUE("count(distinct probe.country)"), 1);
    f.n_events[0] = 3;
    expect_int(VALUE("count(distinct probe.merchant)"), 2);
    fx_fini(&f);
}

Test(expr_step_agg, over_zero_events)
{
    fx f;
    fx_init(&f, 0);
    expect_int(VALUE("count(probe)"), 0);
    expect_dec(VALUE("sum(probe.amount)"), 0);
    expect_float(VALUE("sum(probe.score)"), 0, 0);
    expect_missing(VALUE("avg(probe.amount)"));
    expect_missing(VALUE("min(probe.amount)"));
    expect_missing(VALUE("max(probe.merchant)"));
    expect_missing(VALUE("first(probe.amount)"));
    expect_int(VALUE("count(distinct probe.merchant)"), 0);
    fx_fini(&f);
}

Test(expr_step_agg, aggregates_in_conditions)
{
    fx f;
    fx_init(&f, 3);
    weir_expr_program *p = where_prog(
        &f, PATTERN("amount >= 500 and amount > 10 * sum(probe.amount) and count(probe) >= 3", "1"),
        1);
    f.ev[F_AMOUNT] = weir_value_decimal(6000000);
    cr_assert(weir_eval_condition(p, &f.ctx));
    f.n_events[0] = 2;
    cr_assert(!weir_eval_condition(p, &f.ctx));
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* No allocation while evaluating                                      */

Test(expr_alloc, typical_condition_does_not_allocate)
{
    fx f;
    fx_init(&f, 3);
    weir_expr_program *p = where_prog(
        &f,
        PATTERN("amount >= 500 and merchant != probe[-1].merchant and "
                "lower(country) == \"gb\" and count(distinct probe.merchant) < 5 and "
                "sum(probe.amount) < 100",
                "1"),
        1);
    f.ev[F_AMOUNT] = weir_value_decimal(6000000);
    f.ev[F_MERCHANT] = str("m9");
    alloc_count = 0;
    alloc_counting = 1;
    bool r = true;
    for (int i = 0; i < 1000; i++) {
        weir_eval_scratch_reset(&f.scratch);
        r = r && weir_eval_condition(p, &f.ctx);
    }
    alloc_counting = 0;
    cr_assert(r);
    cr_assert_eq(alloc_count, 0, "the evaluator allocated %ld times", alloc_count);
#if WEIR_TEST_COUNT_ALLOCS
    /* the counter works: the compiler does allocate */
    alloc_counting = 1;
    weir_expr_program *q = weir_expr_compile(f.parses[0]->prog->rules->steps[1]->where, NULL);
    alloc_counting = 0;
    cr_assert_gt(alloc_count, 0);
    weir_expr_program_free(q);
#endif
    fx_fini(&f);
}

/* ------------------------------------------------------------------ */
/* Compiler details                                                     */

static char *dump_to_string(const weir_expr_program *p)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    cr_assert_eq(weir_expr_dump(p, m), 0);
    fclose(m);
    return buf;
}

Test(expr_compile, disassembly_and_jumps)
{
    fx f;
    fx_init(&f, 3);
    weir_expr_program *p =
        where_prog(&f, PATTERN("amount >= 500 and merchant != probe[-1].merchant", "1"), 1);
    char *d = dump_to_string(p);
    cr_assert(strstr(d, "  0  FIELD           field 1\n"), "%s", d);
    /* the literal was widened at compile time: no I2D */
    cr_assert(strstr(d, "  1  CONST           500.0000\n"), "%s", d);
    cr_assert(strstr(d, "  2  GE_I64\n"), "%s", d);
    cr_assert(strstr(d, "  3  AND_JUMP        -> 8\n"), "%s", d);
    cr_assert(strstr(d, "  5  STEP_FIELD      step 0 [-1] field 2\n"), "%s", d);
    cr_assert(strstr(d, "  6  NE_STR\n"), "%s", d);
    cr_assert(strstr(d, "  7  AND\n"), "%s", d);
    cr_assert_null(strstr(d, "I2D"), "%s", d);
    free(d);

    /* a field is widened at run time */
    d = dump_to_string(emit_prog(&f, PATTERN("amount >= 500", "amount + qty")));
    cr_assert(strstr(d, "  1  FIELD           field 8\n      2  I2D\n      3  ADD_I64\n"), "%s", d);
    free(d);
    d = dump_to_string(emit_prog(&f, PATTERN("amount >= 500", "score * 2")));
    cr_assert(strstr(d, "  1  CONST           2\n      2  MUL_F64\n"), "%s", d);
    free(d);
    fx_fini(&f);
}

Test(expr_compile, stack_depth_is_computed)
{
    fx f;
    fx_init(&f, 3);
    weir_expr_program *flat = emit_prog(&f, PATTERN("amount >= 500", "1 + 2 + 3 + 4"));
    cr_assert_eq(flat->max_stack, 2);
    weir_expr_program *deep = emit_prog(&f, PATTERN("amount >= 500", "1 + (2 + (3 + 4))"));
    cr_assert_eq(deep->max_stack, 4);
    expect_int(run(&f, deep), 10);
    weir_expr_program *geo =
        emit_prog(&f, PATTERN("amount >= 500", "geo_distance(lat, lon, lat, lon)"));
    cr_assert_eq(geo->max_stack, 4);
    fx_fini(&f);
}

Test(expr_compile, too_deep_is_an_error_not_an_overflow)
{
    char text[4096], expr[1024];
    size_t n = 0;
    for (int i = 0; i < WEIR_EXPR_MAX_STACK; i++)
        n += (size_t)snprintf(expr + n, sizeof expr - n, "1 + (");
    n += (size_t)snprintf(expr + n, sizeof expr - n, "1");
    for (int i = 0; i < WEIR_EXPR_MAX_STACK; i++)
        n += (size_t)snprintf(expr + n, sizeof expr - n, ")");
    snprintf(text, sizeof text, PATTERN("amount >= 500", "%s"), expr);
    test_parse *t = checked(text);
    weir_expr_options opt = {.diags = &t->diags};
    cr_assert_null(weir_expr_compile(first_rule(t)->emit.fields->value, &opt));
    cr_assert(strstr(t->output, "expression too complex"), "%s", t->output);
    test_parse_free(t);
}

Test(expr_compile, string_constants_are_copied)
{
    fx f;
    fx_init(&f, 3);
    test_parse *t = checked(PATTERN("amount >= 500", "\"constant\""));
    weir_expr_program *p = weir_expr_compile(first_rule(t)->emit.fields->value, NULL);
    test_parse_free(t); /* the AST is gone; the program still works */
    cr_assert_not_null(p);
    expect_str(run(&f, p), "constant");
    weir_expr_program_free(p);
    weir_expr_program_free(NULL);
    fx_fini(&f);
}

Test(expr_compile, env_is_rejected)
{
    /* The checker rejects env() in expressions too; build the call by hand
     * to see the compiler refuse it on its own. */
    ast_program *prog = weir_ast_program_new();
    weir_loc loc = {0};
    ast_expr *call = weir_ast_expr(prog, AST_EXPR_CALL, loc);
    ast_expr *arg = weir_ast_expr(prog, AST_EXPR_STRING, loc);
    arg->u.string_value = "HOME";
    arg->type = WEIR_T_STRING;
    call->u.call.func.name = "env";
    call->u.call.args = arg;
    call->u.call.n_args = 1;
    call->u.call.builtin = WEIR_BUILTIN_ENV;
    call->type = WEIR_T_STRING;
    cr_assert_null(weir_expr_compile(call, NULL));
    weir_ast_program_free(prog);
}

Test(expr_compile, duration_times_decimal_by_hand)
{
    /* Not allowed by today's checker, supported by the evaluator:
     * 90m * 1.5 = 135m. */
    ast_program *prog = weir_ast_program_new();
    weir_loc loc = {0};
    ast_expr *mul = weir_ast_expr(prog, AST_EXPR_BINARY, loc);
    ast_expr *d = weir_ast_expr(prog, AST_EXPR_DURATION, loc);
    ast_expr *k = weir_ast_expr(prog, AST_EXPR_DECIMAL, loc);
    d->u.duration_ms = 90 * 60000;
    d->type = WEIR_T_DURATION;
    k->u.decimal_value = 15000;
    k->type = WEIR_T_DECIMAL;
    mul->u.binary.op = AST_BIN_MUL;
    mul->u.binary.left = k;
    mul->u.binary.right = d;
    mul->type = WEIR_T_DURATION;
    weir_expr_program *p = weir_expr_compile(mul, NULL);
    cr_assert_not_null(p);
    weir_eval_ctx ctx = {0};
    weir_value v;
    weir_eval_run(p, &ctx, &v);
    expect_int(v, 135 * 60000);
    weir_expr_program_free(p);
    weir_ast_program_free(prog);
}

Test(expr_compile, window_aggregate_outside_a_window_is_an_error)
{
    test_parse *t = checked(STREAM "rule w on payments by card window tumbling 1h\n"
                                   "  when sum(amount) > 10\n");
    weir_expr_options opt = {.diags = &t->diags};
    cr_assert_null(weir_expr_compile(first_rule(t)->when, &opt));
    cr_assert_eq(t->diags.n_errors, 1);
    test_parse_free(t);
}

/* ------------------------------------------------------------------ */
/* Window plans                                                         */

#define WINDOW_RULE                                                            \
    STREAM "rule card_velocity on payments by card\n"                          \
           "  window sliding 1h every 5m\n"                                    \
           "  where country != \"GB\"\n"                                       \
           "  when count() > 2 or sum(amount) > 5000\n"                        \
           "  emit { card, txns: count(), total: sum(amount),\n"               \
           "         avg_amount: avg(amount), biggest: max(amount),\n"         \
           "         shops: count(distinct merchant), again: sum(amount) + 1,\n" \
           "         start: window_start(), end: window_end() }\n"

static weir_window_plan *window_plan(test_parse **tp, const char *text)
{
    test_parse *t = checked(text);
    weir_expr_options opt = {.diags = &t->diags};
    weir_window_plan *plan = weir_window_plan_new(first_rule(t), &opt);
    cr_assert_not_null(plan, "%s", t->output);
    *tp = t;
    return plan;
}

Test(window_plan, spec_and_filter)
{
    test_parse *t;
    weir_window_plan *plan = window_plan(&t, WINDOW_RULE);
    cr_assert_str_eq(plan->rule_name, "card_velocity");
    cr_assert_eq(plan->kind, AST_WINDOW_SLIDING);
    cr_assert_eq(plan->size_ms, 3600000);
    cr_assert_eq(plan->slide_ms, 300000);
    cr_assert_eq(plan->key_field, F_CARD);
    cr_assert_eq(plan->key_type, WEIR_T_STRING);
    cr_assert_not_null(plan->filter);

    weir_value ev[N_FIELDS];
    event_default(ev);
    weir_eval_ctx ctx = {.event = ev};
    cr_assert(!weir_eval_condition(plan->filter, &ctx));
    ev[F_COUNTRY] = str("FR");
    cr_assert(weir_eval_condition(plan->filter, &ctx));
    weir_window_plan_free(plan);
    test_parse_free(t);
}

Test(window_plan, aggregates_are_deduplicated)
{
    test_parse *t;
    weir_window_plan *plan = window_plan(&t, WINDOW_RULE);
    /* count(), sum(amount), avg(amount), max(amount), count(distinct merchant):
     * count() and sum(amount) are each written three times. */
    cr_assert_eq(plan->n_aggs, 5);
    cr_assert_eq(plan->aggs[0].kind, WEIR_AGG_COUNT);
    cr_assert_null(plan->aggs[0].arg);
    cr_assert_eq(plan->aggs[0].fn, WEIR_AGG_FN_COUNT_ALL);
    cr_assert_eq(plan->aggs[1].kind, WEIR_AGG_SUM);
    cr_assert_eq(plan->aggs[1].result_type, WEIR_T_DECIMAL);
    cr_assert_not_null(plan->aggs[1].arg);
    cr_assert_eq(plan->aggs[2].kind, WEIR_AGG_AVG);
    cr_assert_eq(plan->aggs[3].kind, WEIR_AGG_MAX);
    cr_assert_eq(plan->aggs[4].kind, WEIR_AGG_COUNT_DISTINCT);
    cr_assert_eq(plan->aggs[4].fn, WEIR_AGG_FN_DISTINCT_STR);
    cr_assert_not_null(plan->aggs[3].ops);
    cr_assert_null(plan->aggs[3].ops->remove, "max is not invertible");
    cr_assert_not_null(plan->aggs[1].ops->remove);
    cr_assert_eq(plan->n_emit, 9);
    weir_window_plan_free(plan);
    test_parse_free(t);
}

/* Feeds events through the plan's aggregates the way an engine would. */
Test(window_plan, when_and_emit_over_aggregate_results)
{
    test_parse *t;
    weir_window_plan *plan = window_plan(&t, WINDOW_RULE);
    weir_agg_state st[8];
    for (unsigned i = 0; i < plan->n_aggs; i++)
        plan->aggs[i].ops->init(&st[i]);
    static const int64_t amounts[] = {1000000, 25000000, 40000000}; /* 100, 2500, 4000 */
    static const char *const shops[] = {"a", "b", "a"};
    weir_value ev[N_FIELDS];
    event_default(ev);
    ev[F_COUNTRY] = str("FR");
    weir_eval_ctx ectx = {.event = ev};
    for (int e = 0; e < 3; e++) {
        ev[F_AMOUNT] = weir_value_decimal(amounts[e]);
        ev[F_MERCHANT] = str(shops[e]);
        cr_assert(weir_eval_condition(plan->filter, &ectx));
        for (unsigned i = 0; i < plan->n_aggs; i++) {
            weir_value arg;
            if (plan->aggs[i].arg)
                weir_eval_run(plan->aggs[i].arg, &ectx, &arg);
            plan->aggs[i].ops->add(&st[i], plan->aggs[i].arg ? &arg : NULL);
        }
    }
    weir_value res[8];
    for (unsigned i = 0; i < plan->n_aggs; i++)
        plan->aggs[i].ops->result(&st[i], &res[i]);
    weir_eval_ctx rctx = {.aggs = res, .key = str("c1"), .window_start = 1000,
                          .window_end = 3601000};
    cr_assert(weir_eval_condition(plan->when, &rctx)); /* 6600 > 5000 */

    weir_value v;
    const char *names[] = {"card", "txns", "total", "avg_amount", "biggest", "shops",
                           "again", "start", "end"};
    for (unsigned i = 0; i < plan->n_emit; i++)
        cr_assert_str_eq(plan->emit[i].name, names[i]);
    weir_eval_run(plan->emit[0].value, &rctx, &v);
    expect_str(v, "c1");
    weir_eval_run(plan->emit[1].value, &rctx, &v);
    expect_int(v, 3);
    weir_eval_run(plan->emit[2].value, &rctx, &v);
    expect_dec(v, 66000000);
    weir_eval_run(plan->emit[3].value, &rctx, &v);
    expect_dec(v, 22000000);
    weir_eval_run(plan->emit[4].value, &rctx, &v);
    expect_dec(v, 40000000);
    weir_eval_run(plan->emit[5].value, &rctx, &v);
    expect_int(v, 2);
    weir_eval_run(plan->emit[6].value, &rctx, &v);
    expect_dec(v, 66010000);
    weir_eval_run(plan->emit[7].value, &rctx, &v);
    expect_int(v, 1000);
    weir_eval_run(plan->emit[8].value, &rctx, &v);
    expect_int(v, 3601000);

    for (unsigned i = 0; i < plan->n_aggs; i++)
        if (plan->aggs[i].ops->fini)
            plan->aggs[i].ops->fini(&st[i]);
    weir_window_plan_free(plan);
    test_parse_free(t);
}

Test(window_plan, dump)
{
    test_parse *t;
    weir_window_plan *plan = window_plan(&t, WINDOW_RULE);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    cr_assert_eq(weir_window_plan_dump(plan, m), 0);
    fclose(m);
    cr_assert(strstr(buf, "window rule card_velocity: sliding 3600000ms every 300000ms"), "%s",
              buf);
    cr_assert(strstr(buf, "aggregates: 5"), "%s", buf);
    cr_assert(strstr(buf, "slot 3: max.i64(decimal) -> decimal, not invertible"), "%s", buf);
    cr_assert(strstr(buf, "AGG             slot 1"), "%s", buf);
    cr_assert(strstr(buf, "KEY"), "%s", buf);
    free(buf);
    weir_window_plan_free(plan);
    test_parse_free(t);
}

Test(window_plan, other_window_kinds)
{
    test_parse *t;
    weir_window_plan *plan =
        window_plan(&t, STREAM "rule s on payments by card window session gap 30m\n"
                               "  emit { n: count() }\n");
    cr_assert_eq(plan->kind, AST_WINDOW_SESSION);
    cr_assert_eq(plan->gap_ms, 1800000);
    cr_assert_null(plan->filter);
    cr_assert_null(plan->when);
    cr_assert_eq(plan->n_aggs, 1);
    weir_window_plan_free(plan);
    test_parse_free(t);

    plan = window_plan(&t, STREAM "rule c on payments by card window count 100\n"
                                  "  when min(score) < 0.1 and max(score) > 0.9\n");
    cr_assert_eq(plan->kind, AST_WINDOW_COUNT);
    cr_assert_eq(plan->count, 100);
    cr_assert_eq(plan->count_slide, 100);
    cr_assert_eq(plan->n_aggs, 2);
    cr_assert_eq(plan->aggs[0].fn, WEIR_AGG_FN_MIN_F64);
    weir_window_plan_free(plan);
    test_parse_free(t);
    weir_window_plan_free(NULL);
}

Test(window_plan, failure_half_way_frees_what_was_built)
{
    /* The emit body fails after `where`, `when` and two aggregates were
     * compiled: a `from file` list and no resolver. Under ASan this is
     * also the leak check of weir_window_plan_free on a half-built plan. */
    test_parse *t = checked(STREAM "list bad_cards from file \"cards.txt\"\n"
                                   "rule w on payments by card window tumbling 1h\n"
                                   "  where amount > 1\n"
                                   "  when count() > 1 and sum(amount) > 2\n"
                                   "  emit { n: count(), bad: card in bad_cards }\n");
    weir_expr_options opt = {.diags = &t->diags};
    cr_assert_null(weir_window_plan_new(first_rule(t), &opt));
    cr_assert(strstr(t->output, "list 'bad_cards' has no items loaded"), "%s", t->output);
    test_parse_free(t);
}

/* ------------------------------------------------------------------ */
/* Aggregate vtables                                                    */

Test(agg, table_matches_the_list)
{
    for (int fn = 0; fn < WEIR_AGG_FN__COUNT; fn++) {
        const weir_agg_ops *ops = weir_agg_ops_get((weir_agg_fn)fn);
        cr_assert_eq(ops->kind, weir_agg_fn_kind((weir_agg_fn)fn), "%s", ops->name);
        cr_assert_not_null(ops->init);
        cr_assert_not_null(ops->add);
        cr_assert_not_null(ops->merge);
        cr_assert_not_null(ops->result);
        bool invertible = ops->kind == WEIR_AGG_COUNT || ops->kind == WEIR_AGG_SUM ||
                          ops->kind == WEIR_AGG_AVG;
        cr_assert_eq(ops->remove != NULL, invertible, "%s", ops->name);
    }
}

static void fold(weir_agg_fn fn, weir_agg_state *st, const weir_value *vals, int n)
{
    const weir_agg_ops *ops = weir_agg_ops_get(fn);
    ops->init(st);
    for (int i = 0; i < n; i++)
        ops->add(st, &vals[i]);
}

Test(agg, merge_of_panes_equals_one_pass)
{
    weir_value v[6];
    int64_t raw[] = {5, -2, 9, 9, 0, 4};
    for (int i = 0; i < 6; i++)
        v[i] = weir_value_int(raw[i]);
    weir_agg_fn fns[] = {WEIR_AGG_FN_COUNT_ALL, WEIR_AGG_FN_SUM_I64, WEIR_AGG_FN_AVG_INT,
                         WEIR_AGG_FN_MIN_I64, WEIR_AGG_FN_MAX_I64, WEIR_AGG_FN_FIRST,
                         WEIR_AGG_FN_LAST, WEIR_AGG_FN_DISTINCT_I64};
    for (unsigned k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        const weir_agg_ops *ops = weir_agg_ops_get(fns[k]);
        weir_agg_state all, a, b;
        fold(fns[k], &all, v, 6);
        fold(fns[k], &a, v, 2);     /* the earlier pane */
        fold(fns[k], &b, v + 2, 4); /* the later pane */
        cr_assert_eq(ops->merge(&a, &b), 0);
        weir_value r1, r2;
        ops->result(&all, &r1);
        ops->result(&a, &r2);
        cr_assert_eq(r1.missing, r2.missing, "%s", ops->name);
        cr_assert_eq(r1.u.i, r2.u.i, "%s: %lld vs %lld", ops->name, (long long)r1.u.i,
                     (long long)r2.u.i);
        if (ops->fini) {
            ops->fini(&all);
            ops->fini(&a);
            ops->fini(&b);
        }
    }
}

Test(agg, results_and_remove)
{
    weir_value v[3] = {weir_value_int(1), weir_value_int(2), weir_value_int(2)};
    weir_agg_state st;
    weir_value r;
    fold(WEIR_AGG_FN_AVG_INT, &st, v, 3);
    weir_agg_ops_get(WEIR_AGG_FN_AVG_INT)->result(&st, &r);
    expect_dec(r, 16667);
    weir_agg_ops_get(WEIR_AGG_FN_AVG_INT)->remove(&st, &v[0]);
    weir_agg_ops_get(WEIR_AGG_FN_AVG_INT)->result(&st, &r);
    expect_dec(r, 20000);

    fold(WEIR_AGG_FN_SUM_I64, &st, v, 0);
    weir_agg_ops_get(WEIR_AGG_FN_SUM_I64)->result(&st, &r);
    expect_int(r, 0);
    fold(WEIR_AGG_FN_AVG_DEC, &st, v, 0);
    weir_agg_ops_get(WEIR_AGG_FN_AVG_DEC)->result(&st, &r);
    expect_missing(r);

    /* missing values are skipped, count() counts events */
    weir_value w[3] = {weir_value_int(4), weir_value_missing(), weir_value_int(6)};
    fold(WEIR_AGG_FN_COUNT, &st, w, 3);
    weir_agg_ops_get(WEIR_AGG_FN_COUNT)->result(&st, &r);
    expect_int(r, 2);
    fold(WEIR_AGG_FN_COUNT_ALL, &st, w, 3);
    weir_agg_ops_get(WEIR_AGG_FN_COUNT_ALL)->result(&st, &r);
    expect_int(r, 3);
    fold(WEIR_AGG_FN_MIN_I64, &st, w, 3);
    weir_agg_ops_get(WEIR_AGG_FN_MIN_I64)->result(&st, &r);
    expect_int(r, 4);
}

Test(agg, sum_overflow_is_missing)
{
    weir_value v[2] = {weir_value_int(INT64_MAX), weir_value_int(1)};
    weir_agg_state st;
    weir_value r;
    fold(WEIR_AGG_FN_SUM_I64, &st, v, 2);
    weir_agg_ops_get(WEIR_AGG_FN_SUM_I64)->result(&st, &r);
    expect_missing(r);
}

Test(agg, fn_for_kind_and_type)
{
    cr_assert_eq(weir_agg_fn_for(WEIR_AGG_SUM, WEIR_T_DECIMAL, true), WEIR_AGG_FN_SUM_I64);
    cr_assert_eq(weir_agg_fn_for(WEIR_AGG_SUM, WEIR_T_FLOAT, true), WEIR_AGG_FN_SUM_F64);
    cr_assert_eq(weir_agg_fn_for(WEIR_AGG_SUM, WEIR_T_STRING, true), WEIR_AGG_FN__COUNT);
    cr_assert_eq(weir_agg_fn_for(WEIR_AGG_AVG, WEIR_T_INT, true), WEIR_AGG_FN_AVG_INT);
    cr_assert_eq(weir_agg_fn_for(WEIR_AGG_MAX, WEIR_T_STRING, true), WEIR_AGG_FN_MAX_STR);
    cr_assert_eq(weir_agg_fn_for(WEIR_AGG_COUNT, WEIR_T_ERROR, false), WEIR_AGG_FN_COUNT_ALL);
    cr_assert_eq(weir_agg_result_type(WEIR_AGG_AVG, WEIR_T_INT), WEIR_T_DECIMAL);
    cr_assert_eq(weir_agg_result_type(WEIR_AGG_AVG, WEIR_T_FLOAT), WEIR_T_FLOAT);
    cr_assert_eq(weir_agg_result_type(WEIR_AGG_COUNT_DISTINCT, WEIR_T_STRING), WEIR_T_INT);
}
