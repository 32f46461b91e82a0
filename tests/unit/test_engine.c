/* test_engine.c — the engine as a user of include/weir/engine.h sees it:
 * JSON events in, alerts out; dead letters, late events, watermarks and
 * out-of-order input, throttling, alert ids, idle keys. Rules compile from
 * text; events are JSON lines. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/engine.h"
#include "weir/ruleset.h"

typedef struct captured {
    char *alerts[64];
    char *rules[64];
    size_t n_alerts;
    char *rejected[64];
    size_t n_rejected;
    char *late[64];
    size_t n_late;
} captured;

static void on_alert(void *user, const weir_alert *a)
{
    captured *c = user;
    cr_assert_lt(c->n_alerts, 64);
    cr_assert_eq(strlen(a->json), a->json_len);
    c->rules[c->n_alerts] = strdup(a->rule);
    c->alerts[c->n_alerts++] = strdup(a->json);
}

static void on_dead(void *user, const weir_rejected *r)
{
    captured *c = user;
    char buf[512];
    snprintf(buf, sizeof buf, "%llu %s: %s", (unsigned long long)r->line, r->status, r->reason);
    c->rejected[c->n_rejected++] = strdup(buf);
}

static void on_late(void *user, const weir_rejected *r)
{
    captured *c = user;
    char buf[512];
    snprintf(buf, sizeof buf, "%llu %s", (unsigned long long)r->line, r->status);
    c->late[c->n_late++] = strdup(buf);
}

static void captured_free(captured *c)
{
    for (size_t i = 0; i < c->n_alerts; i++) {
        free(c->alerts[i]);
        free(c->rules[i]);
    }
    for (size_t i = 0; i < c->n_rejected; i++)
        free(c->rejected[i]);
    for (size_t i = 0; i < c->n_late; i++)
        free(c->late[i]);
}

typedef struct fixture {
    weir_ruleset *rs;
    weir_engine *e;
    captured got;
    uint64_t line;
} fixture;

static void start_with(fixture *f, const char *rules, bool all_fields)
{
    memset(f, 0, sizeof *f);
    weir_compile_status st = weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, &f->rs);
    cr_assert_eq(st, WEIR_COMPILE_OK, "rules do not compile");
    weir_engine_options opt = {
        .on_alert = on_alert,
        .alert_user = &f->got,
        .on_dead_letter = on_dead,
        .dead_letter_user = &f->got,
        .on_late = on_late,
        .late_user = &f->got,
        .decode_all_fields = all_fields,
    };
    f->e = weir_engine_new(f->rs, &opt);
    cr_assert_not_null(f->e);
}

static void start(fixture *f, const char *rules)
{
    start_with(f, rules, false);
}

static int push(fixture *f, const char *json)
{
    return weir_engine_push(f->e, json, strlen(json), ++f->line);
}

static void stop(fixture *f)
{
    weir_engine_free(f->e);
    weir_ruleset_free(f->rs);
    captured_free(&f->got);
}

#define PAYMENTS                                                                        \
    "stream payments event time ts, lateness 5s\n"                                     \
    "  { card string, amount decimal, merchant string, ts time }\n"

#define TESTING_RULE                                                                    \
    "rule testing on payments by card\n"                                               \
    "  match probe{3,} greedy where amount < 2 then big where amount >= 500\n"         \
    "  within 10m skip past last severity high\n"                                       \
    "  emit { card, probes: count(probe), spent: big.amount }\n"

#define TOTAL_RULE                                                                      \
    "rule total on payments by card window tumbling 1h\n"                              \
    "  when sum(amount) > 100 emit { card, total: sum(amount), n: count() }\n"

static void probes_then_big(fixture *f, const char *card, int minute0)
{
    char buf[256];
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf,
                 "{\"card\":\"%s\",\"amount\":1.5,\"merchant\":\"m%d\",\"ts\":\"2026-01-05T10:%02d:00Z\"}",
                 card, i, minute0 + i);
        cr_assert_eq(push(f, buf), 0);
    }
    snprintf(buf, sizeof buf,
             "{\"card\":\"%s\",\"amount\":600,\"merchant\":\"m9\",\"ts\":\"2026-01-05T10:%02d:00Z\"}",
             card, minute0 + 5);
    cr_assert_eq(push(f, buf), 0);
}

Test(engine, pattern_alert_has_body_events_and_metadata)
{
    fixture f;
    start_with(&f, PAYMENTS TESTING_RULE, true);
    probes_then_big(&f, "c1", 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    const char *a = f.got.alerts[0];
    cr_assert(strstr(a, "\"rule\":\"testing\""), "%s", a);
    cr_assert(strstr(a, "\"severity\":\"high\""), "%s", a);
    cr_assert(strstr(a, "\"key\":\"c1\""), "%s", a);
    cr_assert(strstr(a, "\"time\":\"2026-01-05T10:05:00.000Z\""), "%s", a);
    cr_assert(strstr(a, "\"body\":{\"card\":\"c1\",\"probes\":3,\"spent\":600}"), "%s", a);
    cr_assert(strstr(a, "\"events\":{\"probe\":[{\"card\":\"c1\",\"amount\":1.5,\"merchant\":\"m0\""),
              "%s", a);
    cr_assert(strstr(a, "\"big\":[{\"card\":\"c1\",\"amount\":600,\"merchant\":\"m9\""), "%s", a);
    stop(&f);
}

Test(engine, alerts_show_the_fields_the_rules_read_by_default)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE);
    probes_then_big(&f, "c1", 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert(strstr(f.got.alerts[0], "\"big\":[{\"card\":\"c1\",\"amount\":600,\"ts\":"), "%s",
              f.got.alerts[0]);
    stop(&f);
}

Test(engine, same_input_same_ids_different_detections_different_ids)
{
    char first[64] = "", second[64] = "";
    for (int run = 0; run < 2; run++) {
        fixture f;
        start(&f, PAYMENTS TESTING_RULE);
        probes_then_big(&f, "c1", 0);
        probes_then_big(&f, "c2", 10);
        weir_engine_finish(f.e);
        cr_assert_eq(f.got.n_alerts, 2);
        const char *id0 = strstr(f.got.alerts[0], "\"id\":\"");
        const char *id1 = strstr(f.got.alerts[1], "\"id\":\"");
        cr_assert(id0 && id1);
        cr_assert(strncmp(id0, id1, 22) != 0, "two detections share an id");
        if (run == 0)
            snprintf(first, sizeof first, "%.22s", id0);
        else
            snprintf(second, sizeof second, "%.22s", id0);
        stop(&f);
    }
    cr_assert_str_eq(first, second);
}

Test(engine, malformed_events_are_dead_lettered_with_line_and_reason)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE);
    cr_assert_eq(push(&f, "not json"), 1);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":\"x\",\"merchant\":\"m\",\"ts\":1}"), 1);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"merchant\":\"m\",\"ts\":1}"), 1);
    cr_assert_eq(push(&f, "[1,2]"), 1);
    cr_assert_eq(f.got.n_rejected, 4);
    cr_assert(strstr(f.got.rejected[0], "1 not_json"), "%s", f.got.rejected[0]);
    cr_assert(strstr(f.got.rejected[1], "2 "), "%s", f.got.rejected[1]);
    cr_assert(strstr(f.got.rejected[1], "amount"), "%s", f.got.rejected[1]);
    cr_assert(strstr(f.got.rejected[2], "3 missing_field"), "%s", f.got.rejected[2]);
    cr_assert(strstr(f.got.rejected[3], "4 not_object"), "%s", f.got.rejected[3]);
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.events, 4);
    cr_assert_eq(s.dead_letters, 4);
    cr_assert_eq(s.processed, 0);
    stop(&f);
}

Test(engine, out_of_order_within_lateness_is_reordered)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE);
    /* the big purchase arrives before the third probe, 2 s earlier in time:
     * within the 5 s lateness, so the probe is put back in its place */
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"b\",\"ts\":\"2026-01-05T10:00:01Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":900,\"merchant\":\"z\",\"ts\":\"2026-01-05T10:00:04Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"c\",\"ts\":\"2026-01-05T10:00:02Z\"}"), 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert(strstr(f.got.alerts[0], "\"probes\":3"), "%s", f.got.alerts[0]);
    cr_assert_eq(f.got.n_late, 0);
    stop(&f);
}

Test(engine, events_behind_the_watermark_go_to_the_late_output)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:01:00Z\"}"), 0);
    /* watermark is now 10:00:55: an event at 10:00:10 is late */
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:10Z\"}"), 1);
    /* 10:00:58 is still within the lateness */
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:58Z\"}"), 0);
    cr_assert_eq(f.got.n_late, 1);
    cr_assert_str_eq(f.got.late[0], "3 late");
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.late, 1);
    stop(&f);
}

Test(engine, events_wait_for_the_watermark)
{
    fixture f;
    start(&f, PAYMENTS TOTAL_RULE);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":150,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.held_events, 1, "an event waits until the watermark passes it");
    cr_assert_eq(s.processed, 0);
    cr_assert_eq(push(&f, "{\"card\":\"c2\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:06Z\"}"), 0);
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.processed, 1);
    cr_assert_eq(s.held_events, 1);
    cr_assert_eq(f.got.n_alerts, 0, "the window is not over yet");
    /* an event an hour later moves the watermark past the window's end */
    cr_assert_eq(push(&f, "{\"card\":\"c3\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T11:00:10Z\"}"), 0);
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert(strstr(f.got.alerts[0], "\"body\":{\"card\":\"c1\",\"total\":150,\"n\":1}"), "%s",
              f.got.alerts[0]);
    cr_assert(strstr(f.got.alerts[0], "\"window\":{\"start\":\"2026-01-05T10:00:00.000Z\","
                                      "\"end\":\"2026-01-05T11:00:00.000Z\",\"events\":1}"),
              "%s", f.got.alerts[0]);
    stop(&f);
}

Test(engine, finish_fires_every_pending_window)
{
    fixture f;
    start(&f, PAYMENTS TOTAL_RULE);
    push(&f, "{\"card\":\"c1\",\"amount\":60,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}");
    push(&f, "{\"card\":\"c1\",\"amount\":60,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:10:00Z\"}");
    push(&f, "{\"card\":\"c2\",\"amount\":60,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:20:00Z\"}");
    cr_assert_eq(f.got.n_alerts, 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert(strstr(f.got.alerts[0], "\"total\":120,\"n\":2"), "%s", f.got.alerts[0]);
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.keys, 0, "every key is idle once its windows fired");
    cr_assert_eq(s.peak_keys, 2);
    stop(&f);
}

Test(engine, throttle_keeps_one_alert_per_key_per_period)
{
    fixture f;
    start(&f, PAYMENTS
          "rule big on payments by card match b where amount > 100 throttle 1h\n"
          "  emit { card, amount }\n");
    push(&f, "{\"card\":\"c1\",\"amount\":200,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}");
    push(&f, "{\"card\":\"c1\",\"amount\":300,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:30:00Z\"}");
    push(&f, "{\"card\":\"c2\",\"amount\":300,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:31:00Z\"}");
    push(&f, "{\"card\":\"c1\",\"amount\":400,\"merchant\":\"a\",\"ts\":\"2026-01-05T11:00:00Z\"}");
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 3);
    cr_assert(strstr(f.got.alerts[0], "\"amount\":200"), "%s", f.got.alerts[0]);
    cr_assert(strstr(f.got.alerts[1], "\"card\":\"c2\""), "%s", f.got.alerts[1]);
    cr_assert(strstr(f.got.alerts[2], "\"amount\":400"), "%s", f.got.alerts[2]);
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.throttled, 1);
    cr_assert_eq(weir_engine_rule_alerts(f.e, 0), 3);
    stop(&f);
}

/* What the server's /metrics reads: per rule, events, detections,
 * throttled ones, keys and partial matches alive; per stream, events,
 * largest time and watermark. */
Test(engine, rule_and_stream_stats)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE
          "rule big on payments by card match b where amount > 100 throttle 1h\n"
          "  emit { card, amount }\n");
    weir_stream_stats ss;
    weir_engine_get_stream_stats(f.e, 0, &ss);
    cr_assert_eq(ss.events, 0);
    cr_assert_eq(ss.max_time, INT64_MIN);
    cr_assert_eq(ss.watermark, INT64_MIN);
    /* two probes of c1, one of c2: testing holds 2 keys, 3 partial matches
     * (c1's probes each start one) */
    push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}");
    push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"b\",\"ts\":\"2026-01-05T10:01:00Z\"}");
    push(&f, "{\"card\":\"c2\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:02:00Z\"}");
    /* c3 pays big twice within the hour: one alert, one throttled */
    push(&f, "{\"card\":\"c3\",\"amount\":200,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:03:00Z\"}");
    push(&f, "{\"card\":\"c3\",\"amount\":300,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:05:00Z\"}");
    /* moves the watermark to 10:07:55: all the above are fed, none timed out */
    push(&f, "{\"card\":\"c9\",\"amount\":5,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:08:00Z\"}");
    weir_rule_stats rs;
    weir_engine_get_rule_stats(f.e, 0, &rs); /* testing: only events up to the watermark */
    cr_assert_eq(rs.events, 5, "events fed: %llu", (unsigned long long)rs.events);
    cr_assert_eq(rs.keys, 2, "%llu", (unsigned long long)rs.keys);
    cr_assert_eq(rs.partial_matches, 3, "%llu", (unsigned long long)rs.partial_matches);
    cr_assert_eq(rs.alerts, 0);
    weir_engine_get_rule_stats(f.e, 1, &rs); /* big */
    cr_assert_eq(rs.events, 5);
    cr_assert_eq(rs.matches, 2);
    cr_assert_eq(rs.alerts, 1);
    cr_assert_eq(rs.throttled, 1);
    cr_assert_eq(rs.keys, 0, "a throttle is not a state");
    weir_engine_get_stream_stats(f.e, 0, &ss);
    cr_assert_eq(ss.events, 6);
    cr_assert_eq(ss.max_time, 1767607680000); /* 2026-01-05T10:08:00Z */
    cr_assert_eq(ss.watermark, 1767607680000 - 5000);
    weir_engine_get_rule_stats(f.e, 7, &rs);
    cr_assert_eq(rs.events, 0);
    weir_engine_finish(f.e);
    weir_engine_get_rule_stats(f.e, 0, &rs);
    cr_assert_eq(rs.keys, 0, "every partial match timed out at the end");
    cr_assert_eq(rs.partial_matches, 0);
    stop(&f);
}

Test(engine, keys_without_partial_matches_are_freed)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE);
    char buf[160];
    for (int i = 0; i < 1000; i++) {
        snprintf(buf, sizeof buf,
                 "{\"card\":\"k%d\",\"amount\":50,\"merchant\":\"a\",\"ts\":%lld}", i,
                 1767607200000LL + i * 1000LL);
        cr_assert_eq(push(&f, buf), 0);
    }
    weir_engine_finish(f.e);
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.processed, 1000);
    cr_assert_eq(s.keys, 0, "no event started a partial match: no key is kept");
    cr_assert_eq(s.partial_matches, 0);
    stop(&f);
}

Test(engine, partial_matches_time_out_and_free_their_key)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE);
    push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}");
    push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:01:00Z\"}");
    push(&f, "{\"card\":\"c2\",\"amount\":50,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:02:00Z\"}");
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.keys, 1);
    cr_assert_gt(s.partial_matches, 0);
    /* 20 minutes later, the probes of c1 are past `within 10m` */
    push(&f, "{\"card\":\"c3\",\"amount\":50,\"merchant\":\"a\",\"ts\":\"2026-01-05T10:20:00Z\"}");
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.keys, 0);
    cr_assert_eq(s.partial_matches, 0);
    cr_assert_eq(f.got.n_alerts, 0);
    stop(&f);
}

Test(engine, several_streams_are_told_apart_by_a_field)
{
    fixture f;
    start(&f,
          "stream logins event time ts { user string, country string, ts time }\n"
          "stream payments event time ts { user string, amount decimal, ts time }\n"
          "rule r on logins by user, payments by user\n"
          "  match l from logins where country != \"FR\" then p from payments where amount > 100\n"
          "  within 1h emit { user, country: l.country, amount: p.amount }\n");
    cr_assert_eq(push(&f, "{\"stream\":\"logins\",\"user\":\"u1\",\"country\":\"BR\",\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"stream\":\"payments\",\"user\":\"u1\",\"amount\":500,\"ts\":\"2026-01-05T10:05:00Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"stream\":\"refunds\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:05:00Z\"}"), 1);
    cr_assert_eq(push(&f, "{\"user\":\"u1\",\"ts\":\"2026-01-05T10:05:00Z\"}"), 1);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert(strstr(f.got.alerts[0], "\"body\":{\"user\":\"u1\",\"country\":\"BR\",\"amount\":500}"),
              "%s", f.got.alerts[0]);
    cr_assert(strstr(f.got.rejected[0], "unknown_stream"), "%s", f.got.rejected[0]);
    cr_assert(strstr(f.got.rejected[1], "no_stream"), "%s", f.got.rejected[1]);
    stop(&f);
}

static int64_t fake_clock(void *user)
{
    return *(int64_t *)user;
}

Test(engine, processing_time_streams_use_the_clock)
{
    weir_ruleset *rs = NULL;
    const char *rules = "stream clicks processing time { user string }\n"
                        "rule r on clicks by user window tumbling 1m when count() >= 2\n"
                        "  emit { user, n: count() }\n";
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, &rs),
                 WEIR_COMPILE_OK);
    captured got = {0};
    int64_t now = 1767607200000LL;
    weir_engine_options opt = {.on_alert = on_alert, .alert_user = &got,
                               .clock = fake_clock, .clock_user = &now};
    weir_engine *e = weir_engine_new(rs, &opt);
    cr_assert_not_null(e);
    weir_engine_push(e, "{\"user\":\"u\"}", 12, 1);
    now += 10000;
    weir_engine_push(e, "{\"user\":\"u\"}", 12, 2);
    cr_assert_eq(got.n_alerts, 0);
    now += 60000;
    weir_engine_push(e, "{\"user\":\"v\"}", 12, 3);
    cr_assert_eq(got.n_alerts, 1);
    cr_assert(strstr(got.alerts[0], "\"n\":2"), "%s", got.alerts[0]);
    weir_engine_free(e);
    weir_ruleset_free(rs);
    captured_free(&got);
}

Test(engine, emit_reads_a_bare_field_from_whichever_stream_completed_the_match)
{
    fixture f;
    /* `user` and `dev` sit at different positions in the two streams */
    start(&f,
          "stream logins event time ts { dev string, user string, ts time }\n"
          "stream payments event time ts { amount decimal, note string, user string, ts time }\n"
          "rule r on logins by user, payments by user\n"
          "  match l from logins where dev != \"known\" then p from payments where amount > 100\n"
          "  within 1h emit { user, dev: l.dev }\n");
    cr_assert_eq(push(&f, "{\"stream\":\"logins\",\"dev\":\"d9\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    /* `note` is read by no rule: an event without it is fine */
    cr_assert_eq(push(&f, "{\"stream\":\"payments\",\"amount\":500,\"user\":\"u1\",\"ts\":\"2026-01-05T10:05:00Z\"}"), 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_rejected, 0, "%s", f.got.n_rejected ? f.got.rejected[0] : "");
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert(strstr(f.got.alerts[0], "\"body\":{\"user\":\"u1\",\"dev\":\"d9\"}"), "%s",
              f.got.alerts[0]);
    stop(&f);
}

Test(engine, full_events_decode_unread_fields_without_requiring_them)
{
    fixture f;
    start_with(&f, PAYMENTS "rule big on payments by card match b where amount > 100\n", true);
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":200,\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"card\":\"c2\",\"amount\":300,\"merchant\":\"m7\",\"ts\":\"2026-01-05T10:00:01Z\"}"), 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_rejected, 0);
    cr_assert_eq(f.got.n_alerts, 2);
    cr_assert(strstr(f.got.alerts[1], "\"merchant\":\"m7\""), "%s", f.got.alerts[1]);
    stop(&f);
}

Test(engine, count_windows_give_each_alert_its_own_id)
{
    fixture f;
    start(&f, PAYMENTS "rule pairs on payments by card window count 2 every 1\n"
                       "  emit { card, n: count() }\n");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"m\",\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    weir_engine_finish(f.e);
    cr_assert_geq(f.got.n_alerts, 2);
    for (size_t i = 0; i < f.got.n_alerts; i++)
        for (size_t k = i + 1; k < f.got.n_alerts; k++)
            cr_assert(strncmp(f.got.alerts[i], f.got.alerts[k], 26) != 0, "same id: %s / %s",
                      f.got.alerts[i], f.got.alerts[k]);
    stop(&f);
}

Test(engine, a_default_stream_takes_events_without_a_selector)
{
    const char *rules =
        "stream logins event time ts { user string, ts time }\n"
        "stream payments event time ts { user string, amount decimal, ts time }\n"
        "rule big on payments by user match p where amount > 100 emit { user, amount }\n";
    weir_ruleset *rs = NULL;
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, &rs),
                 WEIR_COMPILE_OK);
    captured got = {0};
    weir_engine_options opt = {.on_alert = on_alert, .alert_user = &got,
                               .on_dead_letter = on_dead, .dead_letter_user = &got,
                               .default_stream = "payments"};
    weir_engine *e = weir_engine_new(rs, &opt);
    cr_assert_not_null(e);
    const char *ev = "{\"user\":\"u1\",\"amount\":500,\"ts\":\"2026-01-05T10:00:00Z\"}";
    cr_assert_eq(weir_engine_push(e, ev, strlen(ev), 1), 0);
    const char *login = "{\"stream\":\"logins\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:00:01Z\"}";
    cr_assert_eq(weir_engine_push(e, login, strlen(login), 2), 0);
    weir_engine_finish(e);
    cr_assert_eq(got.n_rejected, 0);
    cr_assert_eq(got.n_alerts, 1);
    weir_engine_free(e);
    opt.default_stream = "nonesuch";
    cr_assert_null(weir_engine_new(rs, &opt), "an unknown default stream is refused");
    weir_ruleset_free(rs);
    captured_free(&got);
}

Test(engine, a_filtered_event_leaves_no_trace_for_the_next_key)
{
    fixture f;
    /* c1's payment is filtered out by `where`; then c2 starts a window: its
     * alert must carry c2, not the key of the event seen before */
    start(&f, PAYMENTS "rule big_total on payments by card window tumbling 1h where amount > 10\n"
                       "  when sum(amount) > 100 emit { card, total: sum(amount) }\n");
    cr_assert_eq(push(&f, "{\"card\":\"c1\",\"amount\":5,\"merchant\":\"m\",\"ts\":\"2026-01-05T10:00:00Z\"}"), 0);
    cr_assert_eq(push(&f, "{\"card\":\"c2\",\"amount\":500,\"merchant\":\"m\",\"ts\":\"2026-01-05T10:01:00Z\"}"), 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert(strstr(f.got.alerts[0], "\"key\":\"c2\""), "%s", f.got.alerts[0]);
    cr_assert(strstr(f.got.alerts[0], "\"body\":{\"card\":\"c2\",\"total\":500}"), "%s", f.got.alerts[0]);
    weir_engine_stats s;
    weir_engine_get_stats(f.e, &s);
    cr_assert_eq(s.peak_keys, 1, "the filtered payment made no key");
    stop(&f);
}

/* ---- splits: one watermark per partition ------------------------------ */

#define BIG_RULE                                                                        \
    "rule big on payments by card match b where amount > 100 emit { card, amount }\n"

/* An engine whose splits go idle after idle_ms of the fake clock *now. */
static void start_splits(fixture *f, const char *rules, int64_t idle_ms, int64_t *now)
{
    memset(f, 0, sizeof *f);
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, &f->rs),
                 WEIR_COMPILE_OK, "rules do not compile");
    weir_engine_options opt = {
        .on_alert = on_alert,
        .alert_user = &f->got,
        .on_dead_letter = on_dead,
        .dead_letter_user = &f->got,
        .on_late = on_late,
        .late_user = &f->got,
        .clock = fake_clock,
        .clock_user = now,
        .split_idle_ms = idle_ms,
    };
    f->e = weir_engine_new(f->rs, &opt);
    cr_assert_not_null(f->e);
}

/* A payment of card at 10:MM:SS on split (WEIR_NO_SPLIT: none). */
static int pay(fixture *f, uint64_t split, const char *card, int amount, int minute, int second)
{
    char buf[256];
    snprintf(buf, sizeof buf,
             "{\"card\":\"%s\",\"amount\":%d,\"merchant\":\"m\",\"ts\":\"2026-01-05T10:%02d:%02dZ\"}",
             card, amount, minute, second);
    return weir_engine_push_split(f->e, buf, strlen(buf), ++f->line, split);
}

/* 2026-01-05T10:MM:SS in ms since the epoch. */
static int64_t at(int minute, int second)
{
    return 1767607200000LL + (int64_t)minute * 60000 + (int64_t)second * 1000;
}

static int64_t stream_wm(fixture *f, size_t stream)
{
    weir_stream_stats s;
    weir_engine_get_stream_stats(f->e, stream, &s);
    return s.watermark;
}

Test(engine_splits, an_open_split_holds_the_watermark_before_its_first_event)
{
    int64_t now = 0;
    fixture f;
    start_splits(&f, PAYMENTS BIG_RULE, 0, &now);
    cr_assert_eq(weir_engine_split_open(f.e, 1, 0, INT64_MIN), 0);
    cr_assert_eq(weir_engine_split_open(f.e, 2, 0, INT64_MIN), 0);
    /* partition 1 is read first, far ahead */
    for (int m = 0; m <= 30; m++)
        cr_assert_eq(pay(&f, 1, "a", 200, m, 0), 0);
    cr_assert_eq(f.got.n_alerts, 0, "split 2 has no event yet: nothing is final");
    cr_assert_eq(stream_wm(&f, 0), INT64_MIN);
    /* then partition 2, half an hour behind: on time */
    cr_assert_eq(pay(&f, 2, "b", 500, 1, 0), 0);
    cr_assert_eq(pay(&f, 2, "b", 1, 2, 0), 0);
    cr_assert_eq(f.got.n_late, 0);
    cr_assert_eq(stream_wm(&f, 0), at(1, 55), "lowest split (10:02) less 5 s");
    /* a's 10:00 and 10:01 and b's 10:01 are final */
    cr_assert_eq(f.got.n_alerts, 3);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 32);
    cr_assert_eq(f.got.n_late, 0);
    stop(&f);
}

Test(engine_splits, without_splits_the_same_input_is_late)
{
    /* the behaviour splits fix, and the one a source without splits keeps */
    fixture f;
    start(&f, PAYMENTS BIG_RULE);
    for (int m = 0; m <= 30; m++)
        cr_assert_eq(pay(&f, WEIR_NO_SPLIT, "a", 200, m, 0), 0);
    cr_assert_eq(pay(&f, WEIR_NO_SPLIT, "b", 500, 1, 0), 1);
    cr_assert_eq(pay(&f, WEIR_NO_SPLIT, "b", 1, 2, 0), 1);
    cr_assert_eq(f.got.n_late, 2);
    cr_assert_eq(stream_wm(&f, 0), at(29, 55));
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 31);
    stop(&f);
}

Test(engine_splits, unknown_split_ids_are_no_split)
{
    /* the same input through push and through push_split with ids that
     * are not open gives the same alerts, ids and late events */
    char *alerts[2][64];
    size_t n_alerts[2], n_late[2];
    for (int run = 0; run < 2; run++) {
        fixture f;
        start(&f, PAYMENTS BIG_RULE TESTING_RULE);
        uint64_t split = run == 0 ? WEIR_NO_SPLIT : 77;
        for (int m = 0; m < 20; m += 3)
            cr_assert_geq(pay(&f, split, "a", m % 2 ? 1 : 600, m, 0), 0);
        pay(&f, split, "b", 900, 2, 0); /* late */
        weir_engine_finish(f.e);
        n_alerts[run] = f.got.n_alerts;
        n_late[run] = f.got.n_late;
        for (size_t i = 0; i < f.got.n_alerts; i++)
            alerts[run][i] = strdup(f.got.alerts[i]);
        cr_assert_eq(weir_engine_split_count(f.e), 0);
        stop(&f);
    }
    cr_assert_eq(n_alerts[0], n_alerts[1]);
    cr_assert_eq(n_late[0], 1);
    cr_assert_eq(n_late[1], 1);
    for (size_t i = 0; i < n_alerts[0]; i++) {
        cr_assert_str_eq(alerts[0][i], alerts[1][i]);
        free(alerts[0][i]);
        free(alerts[1][i]);
    }
}

Test(engine_splits, stream_watermark_is_the_lowest_split_less_lateness)
{
    int64_t now = 0;
    fixture f;
    start_splits(&f, PAYMENTS BIG_RULE, 0, &now);
    cr_assert_eq(weir_engine_split_open(f.e, 10, 0, INT64_MIN), 0);
    cr_assert_eq(weir_engine_split_open(f.e, 11, 0, INT64_MIN), 0);
    cr_assert_eq(weir_engine_split_open(f.e, 12, 0, at(3, 0)), 0);
    pay(&f, 10, "a", 1, 10, 0);
    pay(&f, 11, "a", 1, 7, 0);
    cr_assert_eq(stream_wm(&f, 0), at(2, 55), "split 12 starts at 10:03");
    pay(&f, 12, "a", 1, 8, 0);
    cr_assert_eq(stream_wm(&f, 0), at(6, 55), "split 11 at 10:07 is now the lowest");
    pay(&f, 11, "a", 1, 12, 0);
    cr_assert_eq(stream_wm(&f, 0), at(7, 55));
    weir_engine_stats st;
    weir_engine_get_stats(f.e, &st);
    cr_assert_eq(st.watermark, at(7, 55));
    /* reopening keeps the larger time; a smaller start does not lower it */
    cr_assert_eq(weir_engine_split_open(f.e, 12, 0, at(1, 0)), 0);
    cr_assert_eq(stream_wm(&f, 0), at(7, 55));
    cr_assert_eq(weir_engine_split_count(f.e), 3);
    bool seen[3] = {false};
    for (size_t i = 0; i < 3; i++) {
        weir_split_stats s;
        cr_assert(weir_engine_get_split(f.e, i, &s));
        cr_assert(s.id >= 10 && s.id <= 12);
        seen[s.id - 10] = true;
        cr_assert_eq(s.stream, 0);
        cr_assert_not(s.idle);
        cr_assert_eq(s.max_time, s.id == 10 ? at(10, 0) : s.id == 11 ? at(12, 0) : at(8, 0));
        cr_assert_eq(s.events, s.id == 11 ? 2 : 1);
    }
    cr_assert(seen[0] && seen[1] && seen[2]);
    weir_split_stats none;
    cr_assert_not(weir_engine_get_split(f.e, 3, &none));
    cr_assert_eq(weir_engine_split_open(f.e, 13, 5, INT64_MIN), -1, "no stream 5");
    cr_assert_eq(weir_engine_split_count(f.e), 3);
    stop(&f);
}

Test(engine_splits, closing_a_split_releases_what_it_held)
{
    int64_t now = 0;
    fixture f;
    start_splits(&f, PAYMENTS BIG_RULE, 0, &now);
    weir_engine_split_open(f.e, 1, 0, INT64_MIN);
    weir_engine_split_open(f.e, 2, 0, INT64_MIN);
    for (int m = 0; m < 10; m++)
        pay(&f, 1, "a", 200, m, 0);
    cr_assert_eq(f.got.n_alerts, 0);
    cr_assert_eq(weir_engine_split_close(f.e, 2), 0);
    cr_assert_eq(stream_wm(&f, 0), at(8, 55));
    cr_assert_eq(f.got.n_alerts, 9, "all but 10:09 are final");
    cr_assert_eq(weir_engine_split_close(f.e, 2), 0, "closing twice is harmless");
    cr_assert_eq(weir_engine_split_close(f.e, 1), 0);
    cr_assert_eq(weir_engine_split_count(f.e), 0);
    /* no split left: the largest time seen, as without splits */
    cr_assert_eq(stream_wm(&f, 0), at(8, 55));
    stop(&f);
}

Test(engine_splits, an_idle_split_stops_holding_until_its_next_event)
{
    int64_t now = 1000000;
    fixture f;
    start_splits(&f, PAYMENTS BIG_RULE, 2000, &now);
    weir_engine_split_open(f.e, 1, 0, INT64_MIN);
    weir_engine_split_open(f.e, 2, 0, INT64_MIN); /* an empty partition */
    for (int m = 0; m < 10; m++)
        pay(&f, 1, "a", 200, m, 0);
    now += 1500;
    cr_assert_eq(weir_engine_tick(f.e), 0);
    cr_assert_eq(f.got.n_alerts, 0, "1.5 s without events is not idle yet");
    now += 600;
    cr_assert_eq(weir_engine_tick(f.e), 0);
    cr_assert_eq(f.got.n_alerts, 9, "split 2 went idle: split 1 alone decides");
    cr_assert_eq(stream_wm(&f, 0), at(8, 55));
    weir_split_stats s;
    for (size_t i = 0; weir_engine_get_split(f.e, i, &s); i++)
        cr_assert_eq(s.idle, s.id == 2, "split %llu", (unsigned long long)s.id);
    /* split 1 was active in that tick period: still not idle */
    cr_assert_eq(f.got.n_late, 0);
    /* the idle split's event behind the watermark is late (the watermark
     * never moves back), one ahead of it holds the stream again */
    cr_assert_eq(pay(&f, 2, "b", 500, 3, 0), 1);
    cr_assert_eq(f.got.n_late, 1);
    cr_assert_eq(pay(&f, 2, "b", 500, 9, 30), 0);
    for (int m = 10; m < 20; m++)
        pay(&f, 1, "a", 200, m, 0);
    cr_assert_eq(stream_wm(&f, 0), at(9, 25), "split 2 (10:09:30) holds the stream again");
    /* split 1 quiet too: once both are idle the largest time seen decides */
    now += 2100;
    weir_engine_tick(f.e); /* notes the activity since the last tick */
    now += 2100;
    weir_engine_tick(f.e);
    for (size_t i = 0; weir_engine_get_split(f.e, i, &s); i++)
        cr_assert(s.idle);
    cr_assert_eq(stream_wm(&f, 0), at(18, 55));
    stop(&f);
}

Test(engine_splits, activity_or_a_negative_timeout_keeps_a_split_from_idling)
{
    for (int run = 0; run < 2; run++) {
        int64_t now = 0;
        fixture f;
        start_splits(&f, PAYMENTS BIG_RULE, run == 0 ? -1 : 1000, &now);
        weir_engine_split_open(f.e, 1, 0, INT64_MIN);
        weir_engine_split_open(f.e, 2, 0, INT64_MIN);
        pay(&f, 2, "b", 1, 0, 0);
        for (int i = 0; i < 10; i++) {
            pay(&f, 1, "a", 200, i, 0);
            if (run == 1)
                cr_assert_eq(weir_engine_split_advance(f.e, 2, at(0, 0)), 0);
            now += 900;
            weir_engine_tick(f.e);
        }
        now += 100000;
        if (run == 0)
            weir_engine_tick(f.e); /* -1: never idle */
        cr_assert_eq(f.got.n_alerts, 0, "split 2 still holds at 10:00");
        stop(&f);
    }
}

Test(engine_splits, advance_moves_a_split_whose_events_another_engine_saw)
{
    int64_t now = 0;
    fixture f;
    start_splits(&f, PAYMENTS BIG_RULE, 0, &now);
    weir_engine_split_open(f.e, 1, 0, INT64_MIN);
    weir_engine_split_open(f.e, 2, 0, INT64_MIN);
    for (int m = 0; m < 10; m++)
        pay(&f, 1, "a", 200, m, 0);
    /* this engine sees none of split 2's keys; another shard saw 10:06 */
    cr_assert_eq(weir_engine_split_advance(f.e, 2, at(6, 0)), 0);
    cr_assert_eq(stream_wm(&f, 0), at(5, 55));
    cr_assert_eq(f.got.n_alerts, 6);
    cr_assert_eq(weir_engine_split_advance(f.e, 2, at(4, 0)), 0, "never backwards");
    cr_assert_eq(stream_wm(&f, 0), at(5, 55));
    cr_assert_eq(weir_engine_split_advance(f.e, 99, at(50, 0)), 0, "unknown: ignored");
    cr_assert_eq(stream_wm(&f, 0), at(5, 55));
    stop(&f);
}

#define TWO_STREAMS                                                                     \
    "stream logins event time ts, lateness 1s { user string, ts time }\n"             \
    "stream payments event time ts, lateness 5s { user string, amount decimal, ts time }\n" \
    "rule r on logins by user, payments by user\n"                                      \
    "  match l from logins then p from payments where amount > 100\n"                  \
    "  within 1h emit { user, amount: p.amount }\n"

Test(engine_splits, a_split_of_one_stream_gives_its_events_their_stream)
{
    int64_t now = 0;
    fixture f;
    start_splits(&f, TWO_STREAMS, 0, &now);
    const char *pay_u1 = "{\"user\":\"u1\",\"amount\":500,\"ts\":\"2026-01-05T10:05:00Z\"}";
    const char *login_u1 = "{\"stream\":\"logins\",\"user\":\"u1\",\"ts\":\"2026-01-05T10:00:00Z\"}";
    /* no stream named and no split: a dead letter */
    cr_assert_eq(weir_engine_push(f.e, pay_u1, strlen(pay_u1), 1), 1);
    cr_assert(strstr(f.got.rejected[0], "no_stream"), "%s", f.got.rejected[0]);
    /* the payments topic's partition: payments; a named stream still wins */
    cr_assert_eq(weir_engine_split_open(f.e, 5, 1, INT64_MIN), 0);
    cr_assert_eq(weir_engine_push_split(f.e, login_u1, strlen(login_u1), 2, 5), 0);
    cr_assert_eq(weir_engine_push_split(f.e, pay_u1, strlen(pay_u1), 3, 5), 0);
    cr_assert_eq(f.got.n_rejected, 1);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    /* the decoder's default is back: no split, no stream named */
    cr_assert_eq(weir_engine_push(f.e, pay_u1, strlen(pay_u1), 4), 1);
    stop(&f);
}

Test(engine_splits, a_split_holds_only_its_stream_or_all_of_them)
{
    int64_t now = 0;
    fixture f;
    start_splits(&f, TWO_STREAMS, 0, &now);
    const char *login = "{\"stream\":\"logins\",\"user\":\"u\",\"ts\":\"2026-01-05T10:10:00Z\"}";
    cr_assert_eq(weir_engine_split_open(f.e, 1, 1, INT64_MIN), 0); /* payments */
    cr_assert_eq(weir_engine_push(f.e, login, strlen(login), 1), 0);
    cr_assert_eq(stream_wm(&f, 0), at(9, 59), "logins is not held by a payments split");
    cr_assert_eq(stream_wm(&f, 1), INT64_MIN, "payments is, before its first event");
    weir_engine_stats st;
    weir_engine_get_stats(f.e, &st);
    cr_assert_eq(st.watermark, INT64_MIN, "and the engine runs on the lowest stream");
    weir_engine_split_close(f.e, 1);
    /* a split of a topic no stream declares: it holds every stream, each
     * less its own lateness */
    cr_assert_eq(weir_engine_split_open(f.e, 2, WEIR_SPLIT_ALL_STREAMS, INT64_MIN), 0);
    cr_assert_eq(stream_wm(&f, 0), INT64_MIN);
    const char *pay = "{\"stream\":\"payments\",\"user\":\"u\",\"amount\":5,\"ts\":\"2026-01-05T10:20:00Z\"}";
    cr_assert_eq(weir_engine_push_split(f.e, pay, strlen(pay), 2, 2), 0);
    cr_assert_eq(stream_wm(&f, 0), at(19, 59));
    cr_assert_eq(stream_wm(&f, 1), at(19, 55));
    weir_split_stats s;
    cr_assert(weir_engine_get_split(f.e, 0, &s));
    cr_assert_eq(s.stream, WEIR_SPLIT_ALL_STREAMS);
    stop(&f);
}

Test(engine_splits, processing_time_streams_are_never_held)
{
    int64_t now = 1767607200000LL;
    fixture f;
    start_splits(&f,
                 "stream clicks processing time { user string }\n"
                 "rule r on clicks by user window tumbling 1m when count() >= 2\n"
                 "  emit { user, n: count() }\n",
                 0, &now);
    weir_engine_split_open(f.e, 1, 0, INT64_MIN);
    weir_engine_split_open(f.e, 2, WEIR_SPLIT_ALL_STREAMS, INT64_MIN);
    weir_engine_push_split(f.e, "{\"user\":\"u\"}", 12, 1, 1);
    now += 10000;
    weir_engine_push_split(f.e, "{\"user\":\"u\"}", 12, 2, 1);
    now += 60000;
    weir_engine_push_split(f.e, "{\"user\":\"v\"}", 12, 3, 1);
    cr_assert_eq(f.got.n_alerts, 1, "split 2 has no event, yet the window fired");
    stop(&f);
}

Test(engine, rule_state_bytes_follow_the_keys_a_rule_holds)
{
    fixture f;
    start(&f, PAYMENTS TESTING_RULE TOTAL_RULE);
    cr_assert_eq(weir_engine_rule_state_bytes(f.e, 2), 0, "no rule 2");
    uint64_t empty = weir_engine_rule_state_bytes(f.e, 0);
    char card[16];
    for (int i = 0; i < 50; i++) {
        snprintf(card, sizeof card, "c%d", i);
        char buf[256];
        snprintf(buf, sizeof buf,
                 "{\"card\":\"%s\",\"amount\":1.5,\"merchant\":\"m\",\"ts\":\"2026-01-05T10:00:%02dZ\"}",
                 card, i);
        cr_assert_eq(push(&f, buf), 0);
    }
    weir_engine_advance_to(f.e, at(1, 0));
    uint64_t testing = weir_engine_rule_state_bytes(f.e, 0);
    uint64_t total = weir_engine_rule_state_bytes(f.e, 1);
    cr_assert_gt(testing, empty + 50 * 64, "50 keys with a partial match each");
    cr_assert_gt(total, 50 * 32, "50 open windows");
    weir_engine_finish(f.e);
    cr_assert_lt(weir_engine_rule_state_bytes(f.e, 0), testing, "keys freed");
    stop(&f);
}

Test(engine_splits, stream_advance_moves_a_stream_another_engine_saw)
{
    int64_t now = 0;
    fixture f;
    start_splits(&f, TWO_STREAMS, 0, &now);
    const char *login = "{\"stream\":\"logins\",\"user\":\"u\",\"ts\":\"2026-01-05T10:00:00Z\"}";
    const char *pay = "{\"stream\":\"payments\",\"user\":\"u\",\"amount\":500,\"ts\":\"2026-01-05T10:01:00Z\"}";
    cr_assert_eq(weir_engine_push(f.e, login, strlen(login), 1), 0);
    cr_assert_eq(weir_engine_push(f.e, pay, strlen(pay), 2), 0);
    cr_assert_eq(f.got.n_alerts, 0);
    /* another shard saw both streams at 10:30: the match is final */
    cr_assert_eq(weir_engine_stream_advance(f.e, 0, at(30, 0)), 0);
    cr_assert_eq(f.got.n_alerts, 0, "payments still at 10:01");
    cr_assert_eq(weir_engine_stream_advance(f.e, 1, at(30, 0)), 0);
    cr_assert_eq(f.got.n_alerts, 1);
    cr_assert_eq(stream_wm(&f, 1), at(29, 55));
    cr_assert_eq(weir_engine_stream_advance(f.e, 1, at(20, 0)), 0, "never backwards");
    cr_assert_eq(stream_wm(&f, 1), at(29, 55));
    cr_assert_eq(weir_engine_stream_advance(f.e, 2, at(40, 0)), -1, "no stream 2");
    weir_engine_stats st;
    weir_engine_get_stats(f.e, &st);
    cr_assert_eq(st.events, 2, "an advance is no event");
    stop(&f);
}

/* A partial match keeps a copy of its events: the copy holds the stream's
 * fields up to the last one a rule reads, and the event time as the
 * event's own time, so nine unread fields after `amount` cost nothing,
 * and alerts still list the time. */
#define WIDE                                                                            \
    "stream wide event time ts, lateness 0s\n"                                         \
    "  { card string, amount decimal, f1 int, f2 int, f3 int, f4 int, f5 int,\n"      \
    "    f6 int, f7 int, f8 int, f9 int, ts time }\n"                                   \
    "rule probes on wide by card\n"                                                    \
    "  match p where amount < 2 then big where amount > 100 within 1h\n"               \
    "  emit { card }\n"

static uint64_t wide_state_bytes(bool all_fields, char *alert, size_t alert_len)
{
    fixture f;
    start_with(&f, WIDE, all_fields);
    uint64_t empty = weir_engine_rule_state_bytes(f.e, 0);
    char buf[256];
    for (int i = 0; i < 50; i++) {
        snprintf(buf, sizeof buf,
                 "{\"card\":\"c%d\",\"amount\":1,\"f1\":1,\"f9\":9,\"ts\":\"2026-01-05T10:00:%02dZ\"}",
                 i, i);
        cr_assert_eq(push(&f, buf), 0);
    }
    weir_engine_advance_to(f.e, at(1, 0));
    uint64_t bytes = weir_engine_rule_state_bytes(f.e, 0) - empty;
    cr_assert_eq(push(&f, "{\"card\":\"c7\",\"amount\":500,\"ts\":\"2026-01-05T10:02:00Z\"}"), 0);
    weir_engine_finish(f.e);
    cr_assert_eq(f.got.n_alerts, 1);
    snprintf(alert, alert_len, "%s", f.got.alerts[0]);
    stop(&f);
    return bytes;
}

Test(engine, stored_events_keep_the_fields_up_to_the_last_one_read)
{
    char narrow_alert[1024], full_alert[1024];
    uint64_t narrow = wide_state_bytes(false, narrow_alert, sizeof narrow_alert);
    uint64_t full = wide_state_bytes(true, full_alert, sizeof full_alert);
    /* 9 fields of 16 bytes, 50 keys: the event blocks come in classes, so
     * allow for rounding */
    cr_assert_lt(narrow + 50 * 100, full, "narrow %llu, full %llu", (unsigned long long)narrow,
                 (unsigned long long)full);
    cr_assert(strstr(narrow_alert,
                     "\"p\":[{\"card\":\"c7\",\"amount\":1,\"ts\":\"2026-01-05T10:00:07.000Z\"}]"),
              "%s", narrow_alert);
    cr_assert(strstr(full_alert, "\"p\":[{\"card\":\"c7\",\"amount\":1,\"f1\":1,\"f9\":9,"
                                 "\"ts\":\"2026-01-05T10:00:07.000Z\"}]"),
              "%s", full_alert);
}
