/* test_keep.c — per-key memory (`keep`): the key_memory module on its own
 * (buckets, expiry at bucket boundaries, aggregates, distinct tables,
 * bytes), then through the engine's public API (update after the match,
 * out-of-order input, keys freed once their memory empties, several
 * streams, timeouts reading the memory of their deadline). */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/keep_plan.h"
#include "compile/plan.h"
#include "engine/key_memory.h"
#include "weir/engine.h"
#include "weir/ruleset.h"

#define DAY ((int64_t)24 * 3600 * 1000)
#define HOUR ((int64_t)3600 * 1000)
/* 2026-03-01T00:00:00Z: a day boundary, as buckets of a day are aligned */
#define T0 ((int64_t)1772323200000)

/* ------------------------------------------------------------ module */

/* Fields of stream tx, in order. */
enum { F_ACCOUNT, F_KIND, F_DEVICE, F_AMOUNT, F_SCORE, F_TS, N_FIELDS };

#define TX "stream tx event time ts { account string, kind string, device string, " \
           "amount decimal, score float, ts time }\n"

typedef struct kfx {
    weir_ruleset *rs;
    const weir_keep_plan *plan;
    weir_key_memory m;
    char buf[256];
    weir_eval_scratch scratch;
} kfx;

static void print_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    fputs(d->rendered, stderr);
}

/* A memory for `keep ...` (the clause as written) on stream tx. */
static void kstart(kfx *f, const char *keep)
{
    memset(f, 0, sizeof *f);
    char text[1024];
    snprintf(text, sizeof text, TX "rule r on tx by account\n  %s\n  match p where amount > 0\n",
             keep);
    weir_compile_options opt = {.diag = print_diag};
    cr_assert_eq(weir_ruleset_compile_text("t.weir", text, strlen(text), &opt, &f->rs),
                 WEIR_COMPILE_OK, "rules do not compile:\n%s", text);
    f->plan = f->rs->rules[0].keep;
    cr_assert_not_null(f->plan);
    weir_key_memory_init(&f->m, f->plan);
    f->scratch.buf = f->buf;
    f->scratch.cap = sizeof f->buf;
}

static void kstop(kfx *f)
{
    weir_key_memory_clear(&f->m);
    cr_expect_eq(weir_key_memory_bytes(&f->m), 0, "a cleared memory holds nothing");
    weir_ruleset_free(f->rs);
}

/* amount in cents, to stay exact */
static int kadd(kfx *f, const char *kind, const char *device, int64_t cents, int64_t ts)
{
    weir_value ev[N_FIELDS];
    ev[F_ACCOUNT] = weir_value_string("a1", 2);
    ev[F_KIND] = weir_value_string(kind, strlen(kind));
    ev[F_DEVICE] = device ? weir_value_string(device, strlen(device)) : weir_value_missing();
    ev[F_AMOUNT] = weir_value_decimal(cents * (WEIR_DECIMAL_SCALE / 100));
    ev[F_SCORE] = weir_value_float((double)cents / 10.0);
    ev[F_TS] = weir_value_millis(ts);
    return weir_key_memory_add(&f->m, ev, ts, &f->scratch);
}

static weir_value kread(const kfx *f, unsigned item)
{
    weir_value v;
    weir_key_memory_read(&f->m, item, &v);
    return v;
}

static bool kknows(const kfx *f, unsigned item, const char *device)
{
    weir_value v = weir_value_string(device, strlen(device));
    return weir_key_memory_contains(&f->m, item, &v);
}

Test(key_memory, empty_memory_reads_zero_counts_and_missing_averages)
{
    kfx f;
    kstart(&f, "keep for 10d { n: count(), total: sum(amount), usual: avg(amount), "
               "low: min(amount), devices: distinct(device), k: count(distinct device) }");
    cr_expect(weir_key_memory_empty(&f.m));
    cr_expect_eq(weir_key_memory_next_expiry(&f.m), INT64_MAX);
    cr_expect_eq(weir_key_memory_bytes(&f.m), 0, "an empty memory allocates nothing");
    weir_value v = kread(&f, 0);
    cr_expect(!v.missing && v.u.i == 0, "count() over nothing is 0");
    v = kread(&f, 1);
    cr_expect(!v.missing && v.u.dec == 0, "sum() over nothing is 0");
    cr_expect(kread(&f, 2).missing, "avg() over nothing is missing");
    cr_expect(kread(&f, 3).missing, "min() over nothing is missing");
    cr_expect(!kknows(&f, 4, "phone"));
    v = kread(&f, 5);
    cr_expect(!v.missing && v.u.i == 0);
    kstop(&f);
}

Test(key_memory, counts_sums_and_averages_the_kept_events)
{
    kfx f;
    kstart(&f, "keep for 10d where kind == \"payment\" { n: count(), usual: avg(amount), "
               "high: max(amount), spread: sum(score) }");
    cr_expect_eq(kadd(&f, "payment", "p", 4000, T0 + 1 * HOUR), 1);
    cr_expect_eq(kadd(&f, "payment", "p", 6000, T0 + 2 * DAY), 1);
    cr_expect_eq(kadd(&f, "refund", "p", 99900, T0 + 3 * DAY), 0, "`where` refuses a refund");
    cr_expect_eq(kadd(&f, "payment", "p", 5000, T0 + 3 * DAY), 1);
    cr_expect_eq(kread(&f, 0).u.i, 3);
    cr_expect_eq(kread(&f, 1).u.dec, 50 * WEIR_DECIMAL_SCALE, "avg of 40, 60 and 50");
    cr_expect_eq(kread(&f, 2).u.dec, 60 * WEIR_DECIMAL_SCALE);
    cr_expect_float_eq(kread(&f, 3).u.f, 1500.0, 1e-9);
    cr_expect_eq(f.m.n_buckets, 3, "one bucket per day that had an event");
    kstop(&f);
}

Test(key_memory, a_bucket_is_dropped_at_its_end_plus_for)
{
    kfx f;
    kstart(&f, "keep for 10d every 1d { n: count(), high: max(amount) }");
    kadd(&f, "payment", "p", 10000, T0 + 10 * HOUR); /* bucket [T0, T0 + 1d) */
    kadd(&f, "payment", "p", 5000, T0 + 2 * DAY);    /* bucket [T0 + 2d, T0 + 3d) */
    int64_t first_out = T0 + 1 * DAY + 10 * DAY;
    cr_expect_eq(weir_key_memory_next_expiry(&f.m), first_out);
    weir_key_memory_expire(&f.m, first_out - 1);
    cr_expect_eq(kread(&f, 0).u.i, 2, "one millisecond before, both are remembered");
    cr_expect_eq(kread(&f, 1).u.dec, 100 * WEIR_DECIMAL_SCALE);
    weir_key_memory_expire(&f.m, first_out);
    cr_expect_eq(kread(&f, 0).u.i, 1, "at the bucket's end plus `for`, its event is gone");
    cr_expect_eq(kread(&f, 1).u.dec, 50 * WEIR_DECIMAL_SCALE,
                 "max is recomputed from the buckets left, not subtracted");
    cr_expect_eq(weir_key_memory_next_expiry(&f.m), T0 + 3 * DAY + 10 * DAY);
    weir_key_memory_expire(&f.m, T0 + 13 * DAY);
    cr_expect(weir_key_memory_empty(&f.m));
    cr_expect_eq(weir_key_memory_bytes(&f.m), 0, "an emptied memory gives its arrays back");
    cr_expect_eq(kread(&f, 0).u.i, 0);
    cr_expect(kread(&f, 1).missing);
    kstop(&f);
}

Test(key_memory, events_of_one_bucket_share_it_and_the_default_bucket_is_a_90th)
{
    kfx f;
    kstart(&f, "keep for 90d { n: count() }");
    cr_expect_eq(f.plan->bucket_ms, DAY, "for 90d keeps days");
    cr_expect_eq(f.plan->max_buckets, 92);
    kadd(&f, "payment", "p", 100, T0);
    kadd(&f, "payment", "p", 100, T0 + DAY - 1);
    kadd(&f, "payment", "p", 100, T0 + DAY);
    cr_expect_eq(f.m.n_buckets, 2);
    cr_expect_eq(f.m.starts[0], T0);
    cr_expect_eq(f.m.starts[1], T0 + DAY);
    kstop(&f);
}

Test(key_memory, buckets_before_1970_are_aligned_too)
{
    kfx f;
    kstart(&f, "keep for 10d every 1d { n: count() }");
    kadd(&f, "payment", "p", 100, -1);
    cr_expect_eq(f.m.starts[0], -DAY, "floor, not truncation toward zero");
    kstop(&f);
}

Test(key_memory, a_distinct_value_lives_as_long_as_its_newest_bucket)
{
    kfx f;
    kstart(&f, "keep for 10d every 1d { devices: distinct(device), k: count(distinct device) }");
    kadd(&f, "payment", "phone", 100, T0);
    kadd(&f, "payment", "laptop", 100, T0 + 5 * DAY);
    kadd(&f, "payment", "phone", 100, T0 + 8 * DAY);
    kadd(&f, "payment", NULL, 100, T0 + 8 * DAY); /* no device: not a value */
    cr_expect(kknows(&f, 0, "phone") && kknows(&f, 0, "laptop") && !kknows(&f, 0, "tablet"));
    cr_expect_eq(kread(&f, 1).u.i, 2);
    weir_key_memory_expire(&f.m, T0 + 11 * DAY);
    cr_expect(kknows(&f, 0, "phone"), "seen again on day 8: still remembered");
    weir_key_memory_expire(&f.m, T0 + 16 * DAY);
    cr_expect(!kknows(&f, 0, "laptop"), "last seen on day 5: forgotten on day 16");
    cr_expect(kknows(&f, 0, "phone"));
    cr_expect_eq(kread(&f, 1).u.i, 1);
    weir_key_memory_expire(&f.m, T0 + 19 * DAY);
    cr_expect(!kknows(&f, 0, "phone"));
    cr_expect(weir_key_memory_empty(&f.m));
    kstop(&f);
}

/* Many values over many buckets, forgotten a bucket at a time: the table
 * (linear probing with removal by backward shift) must agree with a plain
 * record of when each value was last seen, after every step. */
Test(key_memory, distinct_tables_stay_exact_through_growth_and_removal)
{
    kfx f;
    kstart(&f, "keep for 20d every 1d { devices: distinct(device) }");
    enum { N = 600, DAYS = 40 };
    int64_t last[N];
    char name[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof name[i], "d%d", i);
        last[i] = INT64_MIN;
    }
    uint64_t x = 12345;
    for (int day = 0; day < DAYS; day++) {
        int64_t now = T0 + day * DAY;
        weir_key_memory_expire(&f.m, now);
        for (int k = 0; k < 30; k++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            int i = (int)((x >> 33) % N);
            kadd(&f, "payment", name[i], 100, now + k);
            last[i] = T0 + day * DAY;
        }
        /* check what a reader at the start of the next day sees */
        int64_t next = now + DAY;
        weir_key_memory_expire(&f.m, next);
        size_t expected = 0;
        for (int i = 0; i < N; i++) {
            bool live = last[i] != INT64_MIN && last[i] + DAY + 20 * DAY > next;
            expected += live;
            cr_assert_eq(kknows(&f, 0, name[i]), live, "day %d value %s", day, name[i]);
        }
        cr_assert_eq(weir_key_memory_values(&f.m, 0), expected);
    }
    kstop(&f);
}

Test(key_memory, float_sums_do_not_drift_when_buckets_leave)
{
    kfx f;
    kstart(&f, "keep for 2d every 1d { s: sum(score) }");
    kadd(&f, "payment", "p", 1000000000, T0);  /* score 1e8 */
    kadd(&f, "payment", "p", 1, T0 + DAY);     /* score 0.1 */
    weir_key_memory_expire(&f.m, T0 + 3 * DAY);
    cr_expect_eq(kread(&f, 0).u.f, 0.1, "rebuilt from the bucket left, not 1e8 + 0.1 - 1e8");
    kstop(&f);
}

Test(key_memory, bytes_follow_buckets_and_strings)
{
    kfx f;
    kstart(&f, "keep for 10d every 1d { n: count(), devices: distinct(device) }");
    kadd(&f, "payment", "phone", 100, T0);
    size_t one = weir_key_memory_bytes(&f.m);
    cr_expect_gt(one, 0);
    kadd(&f, "payment", "phone", 100, T0 + 1);
    cr_expect_eq(weir_key_memory_bytes(&f.m), one, "an event in a known bucket and value costs nothing");
    kadd(&f, "payment", "a-much-longer-device-name", 100, T0 + 2);
    cr_expect_gt(weir_key_memory_bytes(&f.m), one, "a new string is copied");
    for (int d = 1; d < 10; d++)
        kadd(&f, "payment", "phone", 100, T0 + d * DAY);
    cr_expect_leq(f.m.cap_buckets, f.plan->max_buckets);
    kstop(&f);
}

/* ------------------------------------------------------------ language */

static weir_compile_status compile_quiet(const char *text, weir_ruleset **out)
{
    return weir_ruleset_compile_text("t.weir", text, strlen(text), NULL, out);
}

Test(keep_language, keep_is_still_a_name_where_a_name_is_expected)
{
    weir_ruleset *rs = NULL;
    const char *text = "stream s event time ts { keep string, k string, ts time }\n"
                       "rule r on s by k\n"
                       "  keep for 1d { kept: distinct(keep) }\n"
                       "  match keep where keep not in kept\n"
                       "  emit { keep }\n";
    cr_expect_eq(compile_quiet(text, &rs), WEIR_COMPILE_OK,
                 "a field and a step called keep, as time and event can be");
    weir_ruleset_free(rs);
}

Test(keep_language, items_take_the_types_of_their_aggregates)
{
    kfx f;
    kstart(&f, "keep for 30d { n: count(), a: avg(amount), f: avg(score), s: sum(score), "
               "hi: max(ts), d: distinct(amount), k: count(distinct device) }");
    const weir_keep_item *it = f.plan->items;
    cr_expect_eq(f.plan->n_items, 7);
    cr_expect_eq(it[0].type, WEIR_T_INT);
    cr_expect_eq(it[1].type, WEIR_T_DECIMAL);
    cr_expect_eq(it[2].type, WEIR_T_FLOAT);
    cr_expect_eq(it[3].type, WEIR_T_FLOAT);
    cr_expect_eq(it[4].type, WEIR_T_TIME);
    cr_expect_eq(it[5].kind, WEIR_KEEP_SET);
    cr_expect_eq(it[5].type, WEIR_T_DECIMAL);
    cr_expect_eq(it[6].kind, WEIR_KEEP_COUNT_DISTINCT);
    cr_expect_eq(f.plan->n_aggs, 5, "every aggregate has its slot in a bucket");
    cr_expect_eq(f.plan->n_tables, 2, "distinct and count distinct have their tables");
    kstop(&f);
}

Test(keep_language, an_int_is_looked_up_among_decimals)
{
    weir_ruleset *rs = NULL;
    const char *text = TX "rule r on tx by account\n"
                          "  keep for 1d { amounts: distinct(amount) }\n"
                          "  match p where 5 in amounts\n";
    cr_expect_eq(compile_quiet(text, &rs), WEIR_COMPILE_OK);
    weir_ruleset_free(rs);
}

/* ------------------------------------------------------------ engine */

typedef struct captured {
    char *alerts[32];
    size_t n;
} captured;

static void on_alert(void *user, const weir_alert *a)
{
    captured *c = user;
    cr_assert_lt(c->n, 32);
    c->alerts[c->n++] = strdup(a->json);
}

typedef struct efx {
    weir_ruleset *rs;
    weir_engine *e;
    captured got;
    uint64_t line;
} efx;

static void estart(efx *f, const char *rules)
{
    memset(f, 0, sizeof *f);
    weir_compile_options copt = {.diag = print_diag};
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), &copt, &f->rs),
                 WEIR_COMPILE_OK, "rules do not compile");
    weir_engine_options opt = {.on_alert = on_alert, .alert_user = &f->got};
    f->e = weir_engine_new(f->rs, &opt);
    cr_assert_not_null(f->e);
}

static void epush(efx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void epush(efx *f, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cr_assert_eq(weir_engine_push(f->e, line, strlen(line), ++f->line), 0, "%s", line);
}

static void estop(efx *f)
{
    weir_engine_free(f->e);
    weir_ruleset_free(f->rs);
    for (size_t i = 0; i < f->got.n; i++)
        free(f->got.alerts[i]);
}

static bool has(const char *json, const char *part)
{
    return strstr(json, part) != NULL;
}

static uint64_t live_keys(const efx *f)
{
    weir_engine_stats s;
    weir_engine_get_stats(f->e, &s);
    return s.keys;
}

#define PAY "{\"stream\":\"tx\",\"account\":\"%s\",\"kind\":\"payment\",\"device\":\"%s\"," \
            "\"amount\":%s,\"score\":0.5,\"ts\":%" PRId64 "}"

#define NEW_DEVICE_RULE                                                                 \
    "stream tx event time ts, lateness 1h { account string, kind string, device string, " \
    "amount decimal, score float, ts time }\n"                                         \
    "rule new_device on tx by account\n"                                               \
    "  keep for 10d every 1d where kind == \"payment\" {\n"                            \
    "      devices: distinct(device), usual: avg(amount), seen: count() }\n"           \
    "  match p where kind == \"payment\" and seen >= 2 and device not in devices\n"   \
    "              and amount > 3 * usual\n"                                           \
    "  emit { account, device, amount, usual, seen }\n"

Test(keep_engine, the_memory_is_updated_after_the_event_is_matched)
{
    efx f;
    estart(&f, "stream tx event time ts { account string, device string, ts time }\n"
               "rule first_sight on tx by account\n"
               "  keep for 10d { devices: distinct(device), seen: count() }\n"
               "  match p where device not in devices\n"
               "  emit { device, before: seen }\n");
    epush(&f, "{\"stream\":\"tx\",\"account\":\"a\",\"device\":\"d1\",\"ts\":%" PRId64 "}", T0);
    epush(&f, "{\"stream\":\"tx\",\"account\":\"a\",\"device\":\"d1\",\"ts\":%" PRId64 "}", T0 + 1);
    epush(&f, "{\"stream\":\"tx\",\"account\":\"a\",\"device\":\"d2\",\"ts\":%" PRId64 "}", T0 + 2);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n, 2, "the first sight of d1 and of d2, not d1 again");
    cr_expect(has(f.got.alerts[0], "\"body\":{\"device\":\"d1\",\"before\":0}"),
              "the first event is matched against an empty memory: %s", f.got.alerts[0]);
    cr_expect(has(f.got.alerts[1], "\"body\":{\"device\":\"d2\",\"before\":2}"), "%s",
              f.got.alerts[1]);
    estop(&f);
}

Test(keep_engine, new_device_above_the_usual_amount)
{
    efx f;
    estart(&f, NEW_DEVICE_RULE);
    epush(&f, PAY, "a1", "phone", "40.00", T0);
    epush(&f, PAY, "a1", "phone", "60.00", T0 + DAY);
    epush(&f, PAY, "a2", "pc", "900.00", T0 + DAY + 1);   /* another account */
    epush(&f, PAY, "a1", "phone", "200.00", T0 + 2 * DAY); /* usual device */
    epush(&f, PAY, "a1", "pc", "300.00", T0 + 3 * DAY);    /* 3x avg(40, 60, 200): not more */
    epush(&f, PAY, "a1", "tablet", "450.01", T0 + 3 * DAY + 1);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n, 1);
    cr_expect(has(f.got.alerts[0], "\"body\":{\"account\":\"a1\",\"device\":\"tablet\","
                                   "\"amount\":450.01,\"usual\":150,\"seen\":4}"),
              "%s", f.got.alerts[0]);
    estop(&f);
}

Test(keep_engine, events_are_remembered_in_time_order_not_arrival_order)
{
    efx f;
    estart(&f, NEW_DEVICE_RULE);
    epush(&f, PAY, "a1", "phone", "40.00", T0);
    epush(&f, PAY, "a1", "phone", "60.00", T0 + DAY);
    /* arrives first, happened 20 minutes after the phone payment below */
    epush(&f, PAY, "a1", "pc", "500.00", T0 + 2 * DAY + 20 * 60000);
    epush(&f, PAY, "a1", "phone", "50.00", T0 + 2 * DAY);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n, 1);
    cr_expect(has(f.got.alerts[0], "\"usual\":50,\"seen\":3"),
              "the late-arriving earlier payment is in the memory: %s", f.got.alerts[0]);
    estop(&f);
}

Test(keep_engine, a_device_seen_only_before_the_memory_span_is_new_again)
{
    efx f;
    estart(&f, NEW_DEVICE_RULE);
    /* the same history for two accounts; pc is forgotten at T0 + 11d */
    const char *accounts[] = {"a1", "a2"};
    for (int i = 0; i < 2; i++)
        epush(&f, PAY, accounts[i], "pc", "40.00", T0 + i);
    for (int i = 0; i < 2; i++)
        epush(&f, PAY, accounts[i], "phone", "60.00", T0 + 5 * DAY + i);
    for (int i = 0; i < 2; i++)
        epush(&f, PAY, accounts[i], "phone", "50.00", T0 + 6 * DAY + i);
    epush(&f, PAY, "a1", "pc", "500.00", T0 + 11 * DAY - 1);
    epush(&f, PAY, "a2", "pc", "500.00", T0 + 11 * DAY);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n, 1, "pc is known until its bucket's end plus 10 days, new after");
    cr_expect(has(f.got.alerts[0], "\"account\":\"a2\",\"device\":\"pc\",\"amount\":500,"
                                   "\"usual\":55,\"seen\":2"),
              "%s", f.got.alerts[0]);
    estop(&f);
}

Test(keep_engine, a_key_lives_while_its_memory_holds_something)
{
    efx f;
    estart(&f, NEW_DEVICE_RULE);
    epush(&f, PAY, "a1", "phone", "40.00", T0);
    epush(&f, PAY, "a2", "phone", "40.00", T0 + DAY);
    weir_engine_advance_to(f.e, T0 + DAY); /* both released (lateness 1h) */
    cr_expect_eq(live_keys(&f), 2, "no partial match, but a memory each");
    weir_engine_advance_to(f.e, T0 + 11 * DAY);
    cr_expect_eq(live_keys(&f), 1, "a1's only bucket is over: the key is freed");
    weir_engine_advance_to(f.e, T0 + 12 * DAY);
    cr_expect_eq(live_keys(&f), 0);
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_expect_geq(s.timers_fired, 2, "the memory's expiry is a timer of the key");
    estop(&f);
}

Test(keep_engine, only_the_kept_stream_updates_the_memory)
{
    efx f;
    estart(&f, "stream tx event time ts { account string, device string, ts time }\n"
               "stream logins event time ts { account string, device string, ts time }\n"
               "rule strange_login on tx by account, logins by account\n"
               "  keep from tx for 10d { devices: distinct(device) }\n"
               "  match l from logins where device not in devices\n"
               "  emit { device: l.device }\n");
    epush(&f, "{\"stream\":\"tx\",\"account\":\"a\",\"device\":\"d1\",\"ts\":%" PRId64 "}", T0);
    epush(&f, "{\"stream\":\"logins\",\"account\":\"a\",\"device\":\"d1\",\"ts\":%" PRId64 "}",
          T0 + 1);
    epush(&f, "{\"stream\":\"logins\",\"account\":\"a\",\"device\":\"d2\",\"ts\":%" PRId64 "}",
          T0 + 2);
    epush(&f, "{\"stream\":\"logins\",\"account\":\"a\",\"device\":\"d2\",\"ts\":%" PRId64 "}",
          T0 + 3);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n, 2, "d2 logs in twice from a device never paid with: both alert");
    cr_expect(has(f.got.alerts[0], "\"device\":\"d2\""));
    estop(&f);
}

/* A timeout alert is raised at its deadline, and reads the memory as it
 * was then, even when the watermark jumps far past it in one step. */
Test(keep_engine, a_timeout_reads_the_memory_of_its_deadline)
{
    efx f;
    estart(&f, "stream tx event time ts { account string, kind string, ts time }\n"
               "rule unanswered on tx by account\n"
               "  keep for 2d every 1d where kind == \"call\" { calls: count() }\n"
               "  match q where kind == \"question\" then a where kind == \"answer\"\n"
               "  within 1d\n"
               "  on timeout emit { calls }\n");
    /* the calls' buckets are over at T0 + 3d; a's question times out at
     * T0 + 2d + 1h, before; b's at T0 + 3d + 12h, after */
    epush(&f, "{\"stream\":\"tx\",\"account\":\"a\",\"kind\":\"call\",\"ts\":%" PRId64 "}", T0);
    epush(&f, "{\"stream\":\"tx\",\"account\":\"b\",\"kind\":\"call\",\"ts\":%" PRId64 "}", T0);
    epush(&f, "{\"stream\":\"tx\",\"account\":\"a\",\"kind\":\"question\",\"ts\":%" PRId64 "}",
          T0 + DAY + HOUR);
    epush(&f, "{\"stream\":\"tx\",\"account\":\"b\",\"kind\":\"question\",\"ts\":%" PRId64 "}",
          T0 + 2 * DAY + 12 * HOUR);
    weir_engine_advance_to(f.e, T0 + 10 * DAY);
    cr_assert_eq(f.got.n, 2);
    cr_expect(has(f.got.alerts[0], "\"key\":\"a\"") && has(f.got.alerts[0], "\"body\":{\"calls\":1}"),
              "%s", f.got.alerts[0]);
    cr_expect(has(f.got.alerts[1], "\"key\":\"b\"") && has(f.got.alerts[1], "\"body\":{\"calls\":0}"),
              "%s", f.got.alerts[1]);
    cr_expect_eq(live_keys(&f), 0);
    estop(&f);
}
