/* test_serve_parts.c — unit tests for the pieces of `weir serve` that have
 * no socket: the event queue, the alert ring, the JSON array splitter, the
 * config loader, and how a restart tells from the group's committed
 * offsets that a transactional sink's transaction went through. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/kafka_conf.h"
#include "io/kafka_sink.h"
#include "server/alert_ring.h"
#include "server/config.h"
#include "server/event_queue.h"
#include "server/http_json.h"

/* ---- event queue */

Test(event_queue, fifo_order_and_tags)
{
    weir_event_queue *q = weir_event_queue_new(4096);
    cr_assert(q);
    cr_assert(weir_event_queue_push(q, "one", 3, 7));
    cr_assert(weir_event_queue_push(q, "two!", 4, 8));
    const char *line;
    size_t len;
    uint32_t tag;
    cr_assert(weir_event_queue_peek(q, &line, &len, &tag));
    cr_assert_eq(len, 3);
    cr_assert_eq(tag, 7);
    cr_assert(memcmp(line, "one", 3) == 0);
    weir_event_queue_pop(q);
    cr_assert(weir_event_queue_peek(q, &line, &len, &tag));
    cr_assert_eq(len, 4);
    cr_assert_eq(tag, 8);
    weir_event_queue_pop(q);
    cr_assert_not(weir_event_queue_peek(q, &line, &len, &tag));
    cr_assert_eq(weir_event_queue_used(q), 0);
    weir_event_queue_free(q);
}

Test(event_queue, refuses_when_full_and_takes_again_after_pop)
{
    weir_event_queue *q = weir_event_queue_new(1024);
    char line[100];
    memset(line, 'x', sizeof line);
    int pushed = 0;
    while (weir_event_queue_push(q, line, sizeof line, 0))
        pushed++;
    cr_assert_gt(pushed, 5);
    cr_assert_leq(weir_event_queue_used(q), weir_event_queue_capacity(q));
    const char *l;
    size_t len;
    uint32_t tag;
    cr_assert(weir_event_queue_peek(q, &l, &len, &tag));
    weir_event_queue_pop(q);
    cr_assert(weir_event_queue_push(q, line, sizeof line, 0));
    weir_event_queue_free(q);
}

Test(event_queue, wraps_around_many_times_without_corruption)
{
    weir_event_queue *q = weir_event_queue_new(1024);
    char buf[400];
    unsigned next_in = 0, next_out = 0;
    for (int round = 0; round < 10000; round++) {
        /* lengths that never divide the ring evenly, so records wrap */
        size_t n = 1 + (next_in * 37) % 300;
        memset(buf, 'a' + (int)(next_in % 26), n);
        if (weir_event_queue_push(q, buf, n, next_in)) {
            next_in++;
            continue;
        }
        const char *l;
        size_t len;
        uint32_t tag;
        cr_assert(weir_event_queue_peek(q, &l, &len, &tag));
        cr_assert_eq(tag, next_out);
        cr_assert_eq(len, 1 + (next_out * 37) % 300);
        for (size_t i = 0; i < len; i++)
            cr_assert_eq(l[i], 'a' + (int)(next_out % 26));
        /* the padding after every line is readable (ASan would object) */
        volatile char pad = l[len + WEIR_QUEUE_PADDING - 1];
        (void)pad;
        weir_event_queue_pop(q);
        next_out++;
    }
    cr_assert_gt(next_out, 1000);
    weir_event_queue_free(q);
}

Test(event_queue, a_line_over_half_the_ring_never_fits)
{
    weir_event_queue *q = weir_event_queue_new(1024);
    size_t max = weir_event_queue_max_line(q);
    char *big = calloc(1, max + 1);
    cr_assert_not(weir_event_queue_push(q, big, max + 1, 0));
    cr_assert(weir_event_queue_push(q, big, max, 0));
    free(big);
    weir_event_queue_free(q);
}

/* ---- alert ring */

Test(alert_ring, keeps_the_newest_and_numbers_them)
{
    weir_alert_ring *r = weir_alert_ring_new(3);
    for (int i = 1; i <= 5; i++) {
        char a[16];
        int n = snprintf(a, sizeof a, "{\"n\":%d}", i);
        cr_assert_eq(weir_alert_ring_add(r, a, (size_t)n), (uint64_t)i);
    }
    cr_assert_eq(weir_alert_ring_first(r), 3);
    cr_assert_eq(weir_alert_ring_last(r), 5);
    size_t len;
    cr_assert_null(weir_alert_ring_get(r, 2, &len));
    cr_assert_str_eq(weir_alert_ring_get(r, 4, &len), "{\"n\":4}");
    weir_alert_ring_free(r);
}

/* ---- JSON array splitter */

typedef struct collected {
    char items[8][64];
    int n;
} collected;

static bool collect(void *user, const char *elem, size_t n)
{
    collected *c = user;
    if (c->n < 8) {
        snprintf(c->items[c->n], sizeof c->items[0], "%.*s", (int)n, elem);
        c->n++;
    }
    return true;
}

Test(http_json, splits_an_array_at_top_level_commas)
{
    const char *t = " [ {\"a\":[1,2]}, {\"s\":\"x],\\\"y\"} ,3 ] \n";
    collected c = {0};
    cr_assert_eq(weir_json_array_each(t, strlen(t), collect, &c), 3);
    cr_assert_str_eq(c.items[0], "{\"a\":[1,2]}");
    cr_assert_str_eq(c.items[1], "{\"s\":\"x],\\\"y\"}");
    cr_assert_str_eq(c.items[2], "3");
}

Test(http_json, rejects_what_is_not_a_whole_array)
{
    const char *bad[] = {"", "{}", "[", "[{\"a\":1}", "[1]x", "[\"unterminated]", "[}]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        collected c = {0};
        cr_assert_eq(weir_json_array_each(bad[i], strlen(bad[i]), collect, &c), -1, "%s",
                     bad[i]);
    }
    collected c = {0};
    cr_assert_eq(weir_json_array_each(" [ ] ", 5, collect, &c), 0);
}

/* ---- config */

static char *write_conf(const char *text)
{
    char *path = strdup("/tmp/weir-conf-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

Test(config, defaults_need_nothing_but_rules)
{
    weir_config c;
    char *argv[] = {"serve", "rules/", NULL};
    FILE *devnull = fopen("/dev/null", "w");
    cr_assert_eq(weir_config_load(&c, 2, argv, devnull, devnull), 0);
    cr_assert_str_eq(c.http, "127.0.0.1:8081");
    cr_assert_str_eq(c.tcp, "127.0.0.1:8082");
    cr_assert_eq(c.max_line, 1024 * 1024);
    cr_assert_eq(c.n_rules, 1);
    weir_config_free(&c);
    fclose(devnull);
}

Test(config, file_then_flags)
{
    char *path = write_conf("# comment\n http = 127.0.0.1:9000 # trailing\n"
                            "api-token = \"a#b\"\nmax-line = 64k\nfull-events = yes\n"
                            "rules = a.weir\nrules = b.weir\n");
    char *argv[] = {"serve", "--tcp", "off", "-c", path, "--http", "127.0.0.1:9001", NULL};
    weir_config c;
    FILE *devnull = fopen("/dev/null", "w");
    cr_assert_eq(weir_config_load(&c, 7, argv, devnull, devnull), 0);
    cr_assert_str_eq(c.http, "127.0.0.1:9001", "a flag wins over the file");
    cr_assert_str_eq(c.tcp, "off");
    cr_assert_str_eq(c.api_token, "a#b", "a # in quotes is not a comment");
    cr_assert_eq(c.max_line, 64 * 1024);
    cr_assert(c.full_events);
    cr_assert_eq(c.n_rules, 2);
    cr_assert_str_eq(c.rules[1], "b.weir");
    weir_config_free(&c);
    fclose(devnull);
    unlink(path);
    free(path);
}

Test(config, errors_name_the_line)
{
    char *path = write_conf("http = 127.0.0.1:1\nbogus = 1\n");
    char *argv[] = {"serve", "-c", path, NULL};
    weir_config c;
    char *msg = NULL;
    size_t len = 0;
    FILE *err = open_memstream(&msg, &len);
    FILE *devnull = fopen("/dev/null", "w");
    cr_assert_eq(weir_config_load(&c, 3, argv, devnull, err), -1);
    fclose(err);
    cr_assert(strstr(msg, ":2: unknown option 'bogus'"), "%s", msg);
    weir_config_free(&c);
    free(msg);
    fclose(devnull);
    unlink(path);
    free(path);
}

Test(config, split_addr)
{
    char host[64];
    uint16_t port;
    cr_assert_eq(weir_config_split_addr("127.0.0.1:8081", host, sizeof host, &port), 0);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 8081);
    cr_assert_eq(weir_config_split_addr("[::1]:0", host, sizeof host, &port), 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(weir_config_split_addr("nohost", host, sizeof host, &port), -1);
    cr_assert_eq(weir_config_split_addr("h:99999", host, sizeof host, &port), -1);
}

/* ---- shard routing */

#include "server/shard_pool.h"

static bool key_of(const char *line, const char *key, char *out, size_t cap)
{
    const char *v;
    size_t n;
    if (!weir_shard_pool_find_key(line, strlen(line), key, strlen(key), &v, &n))
        return false;
    snprintf(out, cap, "%.*s", (int)n, v);
    return true;
}

Test(shard_pool, finds_the_key_at_the_top_level_only)
{
    char v[64];
    cr_assert(key_of("{\"a\":{\"card\":\"inner\"},\"card\":\"c1\"}", "card", v, sizeof v));
    cr_assert_str_eq(v, "c1");
    cr_assert(key_of(" { \"x\" : [1,{\"card\":2}] , \"card\" : 42 }", "card", v, sizeof v));
    cr_assert_str_eq(v, "42");
    cr_assert(key_of("{\"s\":\"a\\\"card\\\":\",\"card\":\"\"}", "card", v, sizeof v));
    cr_assert_str_eq(v, "");
    cr_assert_not(key_of("{\"cards\":\"x\"}", "card", v, sizeof v));
    cr_assert_not(key_of("[{\"card\":\"x\"}]", "card", v, sizeof v));
    cr_assert_not(key_of("{\"card\":\"unterminated", "card", v, sizeof v));
    cr_assert_not(key_of("garbage", "card", v, sizeof v));
}

Test(shard_pool, a_rule_set_shards_when_each_stream_has_one_key_field)
{
    static const char *const cases[][2] = {
        /* rules, the field of every stream when they agree ("-": none) */
        {"stream p { card string }\n"
         "rule a on p by card match x emit { card }\n"
         "rule b on p by card match y emit { card }\n",
         "card"},
        {"stream p { card string, user string }\nstream l { user string }\n"
         "rule a on p by card, l by user match x from l then y from p emit { user }\n"
         "rule b on l by user match x emit { user }\n",
         "-"},
        {"stream p { card string, user string }\n"
         "rule a on p by card match x emit { card }\n"
         "rule b on p by user match y emit { user }\n",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        weir_ruleset *rs = NULL;
        cr_assert_eq(weir_ruleset_compile_text("t.weir", cases[i][0], strlen(cases[i][0]), NULL,
                                               &rs),
                     WEIR_COMPILE_OK);
        const char *key = "?";
        char why[256] = "";
        bool ok = weir_shard_pool_shardable(rs, &key, why, sizeof why);
        cr_assert_eq(ok, cases[i][1] != NULL, "case %zu: %s", i, why);
        if (cases[i][1] && strcmp(cases[i][1], "-") == 0)
            cr_assert_null(key, "case %zu", i);
        else if (cases[i][1])
            cr_assert_str_eq(key, cases[i][1]);
        else
            cr_assert(strstr(why, "rule b keys stream p by another field"), "%s", why);
        weir_ruleset_free(rs);
    }
}

#include <event2/event.h>

static void count_alert(void *user, const weir_alert *a)
{
    (void)a;
    ++*(int *)user;
}

Test(shard_pool, each_stream_is_routed_by_its_own_key_field)
{
    /* logins keyed by user and payments by card: a login and a payment of
     * the same value must meet in one shard, whichever field holds it */
    const char *rules =
        "stream logins event time ts { user string, ts time }\n"
        "stream payments event time ts { card string, amount decimal, ts time }\n"
        "rule r on logins by user, payments by card\n"
        "  match l from logins then p from payments where amount > 100 within 1h\n"
        "  emit { amount: p.amount }\n";
    weir_ruleset *rs = NULL;
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, &rs),
                 WEIR_COMPILE_OK);
    struct event_base *base = event_base_new();
    int alerts = 0;
    weir_shard_hooks hooks = {.on_alert = count_alert, .user = &alerts};
    weir_engine_options eopt = {0};
    char err[256];
    weir_shard_pool *p = weir_shard_pool_new(base, 4, rs, &eopt, 1 << 20, &hooks, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    char line[256];
    for (int i = 0; i < 40; i++) {
        snprintf(line, sizeof line,
                 "{\"stream\":\"logins\",\"user\":\"k%d\",\"ts\":\"2026-01-05T10:%02d:00Z\"}", i, i);
        cr_assert(weir_shard_pool_submit(p, line, strlen(line), 0, WEIR_SHARD_NO_SPLIT));
        /* the payment names its stream after the key: the lookup does not
         * depend on the order of members */
        snprintf(line, sizeof line,
                 "{\"card\":\"k%d\",\"amount\":500,\"ts\":\"2026-01-05T10:%02d:30Z\",\"stream\":\"payments\"}",
                 i, i);
        cr_assert(weir_shard_pool_submit(p, line, strlen(line), 0, WEIR_SHARD_NO_SPLIT));
    }
    weir_shard_pool_finish(p);
    cr_assert_eq(alerts, 40);
    weir_shard_pool_free(p);
    event_base_free(base);
    weir_ruleset_free(rs);
}

/* ---- a shard's split records */

#include "server/shard.h"

Test(shard, split_records_wait_for_room_and_keep_their_order)
{
    const char *rules = "stream payments from kafka \"payments\" event time ts, lateness 5s\n"
                        "  { card string, amount decimal, ts time }\n"
                        "rule big on payments by card match b where amount > 100 emit { card }\n";
    weir_ruleset *rs = NULL;
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, &rs),
                 WEIR_COMPILE_OK);
    struct event_base *base = event_base_new();
    int alerts = 0;
    weir_shard_hooks hooks = {.on_alert = count_alert, .user = &alerts};
    weir_engine_options eopt = {0};
    weir_shard *s = weir_shard_new(base, rs, &eopt, 4096, &hooks);
    cr_assert_not_null(s);
    const weir_engine *e = weir_shard_engine(s);
    /* no stream member: a line of the payments topic */
    const char *line = "{\"card\":\"c\",\"amount\":500,\"ts\":\"2026-01-05T10:00:00Z\"}";
    size_t len = strlen(line);
    int queued = 0;
    while (weir_shard_enqueue(s, line, len, 0, WEIR_SHARD_NO_SPLIT))
        queued++;
    cr_assert_gt(queued, 10);
    uint64_t enqueued = weir_shard_enqueued(s);
    weir_shard_split_open(s, 7, "payments"); /* no room: it waits */
    cr_assert_not(weir_shard_flush(s));
    cr_assert_eq(weir_shard_enqueued(s), enqueued);
    cr_assert_not(weir_shard_split_progress(s, 7, 0), "progress is dropped, not kept");
    weir_shard_drain(s);
    cr_assert_eq(weir_engine_split_count(e), 0, "the open waits behind the lines");
    /* a line of the split finds the open still waiting: it goes first */
    const char *later = "{\"card\":\"d\",\"amount\":600,\"ts\":\"2026-01-05T10:05:00Z\"}";
    cr_assert(weir_shard_enqueue(s, later, strlen(later), 0, 7));
    cr_assert_eq(weir_shard_enqueued(s), enqueued + 2);
    weir_shard_drain(s);
    cr_assert_eq(weir_shard_processed(s), enqueued + 2);
    weir_split_stats st;
    cr_assert(weir_engine_get_split(e, 0, &st));
    cr_assert_eq(st.id, 7);
    cr_assert_eq(st.stream, 0, "the topic's stream");
    cr_assert_eq(st.events, 1);
    cr_assert_eq(st.max_time, 1767607500000LL);
    cr_assert_eq(alerts, queued, "split 7 at 10:05 releases 10:00, holds its own 10:05");
    /* the split holds the stream: a progress record moves it */
    cr_assert(weir_shard_split_progress(s, 7, 1767607800000LL));
    weir_shard_drain(s);
    cr_assert_eq(alerts, queued + 1);
    weir_shard_split_close(s, 7);
    weir_shard_drain(s);
    cr_assert_eq(weir_engine_split_count(e), 0);
    weir_shard_free(s);
    event_base_free(base);
    weir_ruleset_free(rs);
}

/* ---- a barrier is a cut: nothing submitted during it is left out */

typedef struct refill {
    weir_shard_pool *pool;
    uint64_t accepted;  /* lines the pool took */
    unsigned calls;
    int next_key;
} refill;

/* "Room again": submit until the pool refuses, as a source resumes. */
static void refill_on_room(void *user)
{
    refill *r = user;
    r->calls++;
    char line[128];
    for (int n = 0; n < 2000; n++) {
        int len = snprintf(line, sizeof line,
                           "{\"card\":\"k%d\",\"amount\":5,\"ts\":\"2026-01-05T10:00:00Z\"}",
                           r->next_key % 97);
        if (!weir_shard_pool_submit(r->pool, line, (size_t)len, 0, WEIR_SHARD_NO_SPLIT))
            break;
        r->next_key++;
        r->accepted++;
    }
}

Test(shard_pool, lines_resumed_during_a_snapshot_wait_for_the_next_turn)
{
    const char *rules = "stream payments event time ts { card string, amount decimal, ts time }\n"
                        "rule big on payments by card match b where amount > 100 emit { card }\n";
    weir_ruleset *rs = NULL;
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, &rs),
                 WEIR_COMPILE_OK);
    struct event_base *base = event_base_new();
    refill r = {0};
    weir_shard_hooks hooks = {.on_room = refill_on_room, .user = &r};
    weir_engine_options eopt = {0};
    char err[256];
    /* small queues: the shards refuse often, and say "room again" often */
    weir_shard_pool *p = weir_shard_pool_new(base, 2, rs, &eopt, 8192, &hooks, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    r.pool = p;
    for (int round = 0; round < 20; round++) {
        refill_on_room(&r); /* full queues, refused: room will be said */
        void *blobs[2];
        size_t lens[2];
        cr_assert_eq(weir_shard_pool_snapshot(p, blobs, lens), 0);
        /* each shard's state starts with the count of lines it went
         * through: together, every line the pool took until now */
        uint64_t lines = 0;
        for (int k = 0; k < 2; k++) {
            cr_assert_geq(lens[k], 16);
            const unsigned char *b = blobs[k];
            uint64_t n = 0;
            for (int j = 0; j < 8; j++)
                n |= (uint64_t)b[8 + j] << (8 * j);
            lines += n;
            free(blobs[k]);
        }
        cr_assert_eq(lines, r.accepted, "round %d: %llu lines in the states, %llu taken", round,
                     (unsigned long long)lines, (unsigned long long)r.accepted);
        event_base_loop(base, EVLOOP_NONBLOCK); /* the held "room again" */
    }
    cr_assert_gt(r.calls, 20, "the shards said room again");
    weir_shard_pool_free(p);
    event_base_free(base);
    weir_ruleset_free(rs);
}

/* ---- states written by a forked child */

#include <signal.h>

#include "state/snapshot_fork.h"

typedef struct fork_result {
    bool called;
    void *blobs[4];
    size_t lens[4];
    unsigned n;
    char error[256];
    int cuts;
} fork_result;

static void fork_done_cb(void *user, void **blobs, const size_t *lens, unsigned n,
                         const char *error)
{
    fork_result *r = user;
    r->called = true;
    r->n = n;
    snprintf(r->error, sizeof r->error, "%s", error ? error : "");
    for (unsigned i = 0; i < n && i < 4; i++) {
        r->blobs[i] = blobs[i];
        r->lens[i] = lens[i];
    }
}

static int count_cut(void *user, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    ((fork_result *)user)->cuts++;
    return 0;
}

static int refuse_cut(void *user, char *err, size_t errlen)
{
    (void)user;
    snprintf(err, errlen, "no offsets today");
    return -1;
}

static weir_shard_pool *payments_pool(struct event_base *base, unsigned shards,
                                      weir_ruleset **rs, int cards)
{
    const char *rules =
        "stream payments event time ts { card string, amount decimal, ts time }\n"
        "rule probe_big on payments by card\n"
        "  match p where amount < 2 then b where amount > 500 within 1h emit { card }\n";
    cr_assert_eq(weir_ruleset_compile_text("t.weir", rules, strlen(rules), NULL, rs),
                 WEIR_COMPILE_OK);
    static const weir_shard_hooks hooks = {0};
    weir_engine_options eopt = {0};
    char err[256];
    weir_shard_pool *p =
        weir_shard_pool_new(base, shards, *rs, &eopt, 1 << 20, &hooks, err, sizeof err);
    cr_assert_not_null(p, "%s", err);
    char line[128];
    for (int i = 0; i < cards; i++) {
        int len = snprintf(line, sizeof line,
                           "{\"card\":\"c%d\",\"amount\":1,\"ts\":\"2026-01-05T10:%02d:00Z\"}", i,
                           i * 60 / cards); /* in order: none is late */
        if (i % 1000 == 999)
            weir_shard_pool_sync(p);
        cr_assert(weir_shard_pool_submit(p, line, (size_t)len, 0, WEIR_SHARD_NO_SPLIT));
    }
    return p;
}

Test(snapshot_fork, the_child_writes_what_the_shards_would_at_the_barrier)
{
    for (unsigned shards = 1; shards <= 2; shards++) {
        struct event_base *base = event_base_new();
        weir_ruleset *rs = NULL;
        /* enough cards that each state outgrows the memfd's first size
         * (WEIR_FORK_FIRST_SIZE) and the mapping has to follow */
        weir_shard_pool *p = payments_pool(base, shards, &rs, 4000);
        fork_result r = {0};
        char err[256];
        weir_snapshot_fork *f =
            weir_snapshot_fork_start(base, p, count_cut, fork_done_cb, &r, err, sizeof err);
        cr_assert_not_null(f, "%s", err);
        cr_assert_eq(r.cuts, 1);
        while (!r.called)
            event_base_loop(base, EVLOOP_ONCE);
        cr_assert_str_eq(r.error, "");
        cr_assert_eq(r.n, shards);
        /* nothing came in since: the shards now write the same bytes */
        void *blobs[2];
        size_t lens[2];
        cr_assert_eq(weir_shard_pool_snapshot(p, blobs, lens), 0);
        for (unsigned i = 0; i < shards; i++) {
            cr_assert_gt(r.lens[i], WEIR_FORK_FIRST_SIZE * 2, "shard %u", i);
            cr_assert_eq(r.lens[i], lens[i], "shard %u", i);
            cr_assert(memcmp(r.blobs[i], blobs[i], lens[i]) == 0, "shard %u", i);
            free(blobs[i]);
            weir_snapshot_fork_release(r.blobs[i], r.lens[i]);
        }
        weir_shard_pool_free(p);
        weir_ruleset_free(rs);
        event_base_free(base);
    }
}

Test(snapshot_fork, the_shards_go_on_while_the_child_writes_the_cut)
{
    struct event_base *base = event_base_new();
    weir_ruleset *rs = NULL;
    weir_shard_pool *p = payments_pool(base, 2, &rs, 500);
    void *before[2];
    size_t before_len[2];
    cr_assert_eq(weir_shard_pool_snapshot(p, before, before_len), 0);
    fork_result r = {0};
    char err[256];
    cr_assert_not_null(
        weir_snapshot_fork_start(base, p, count_cut, fork_done_cb, &r, err, sizeof err));
    /* more events at once, before the child is done: not in its states */
    const char *big = "{\"card\":\"c7\",\"amount\":900,\"ts\":\"2026-01-05T10:30:00Z\"}";
    cr_assert(weir_shard_pool_submit(p, big, strlen(big), 0, WEIR_SHARD_NO_SPLIT));
    weir_shard_pool_sync(p);
    while (!r.called)
        event_base_loop(base, EVLOOP_ONCE);
    cr_assert_str_eq(r.error, "");
    for (unsigned i = 0; i < 2; i++) {
        cr_assert_eq(r.lens[i], before_len[i]);
        cr_assert(memcmp(r.blobs[i], before[i], before_len[i]) == 0);
        free(before[i]);
        weir_snapshot_fork_release(r.blobs[i], r.lens[i]);
    }
    weir_shard_pool_free(p);
    weir_ruleset_free(rs);
    event_base_free(base);
}

Test(snapshot_fork, a_failed_cut_or_a_dead_child_is_reported_and_the_shards_go_on)
{
    struct event_base *base = event_base_new();
    weir_ruleset *rs = NULL;
    /* states of some MB, so the child is still writing them when it is
     * killed (the loop has not read a byte of their lengths yet) */
    weir_shard_pool *p = payments_pool(base, 2, &rs, 40000);
    fork_result r = {0};
    char err[256] = "";
    cr_assert_null(
        weir_snapshot_fork_start(base, p, refuse_cut, fork_done_cb, &r, err, sizeof err));
    cr_assert_str_eq(err, "no offsets today");
    cr_assert_not(r.called);
    /* unparked: they still take lines */
    const char *line = "{\"card\":\"z\",\"amount\":1,\"ts\":\"2026-01-05T10:30:00Z\"}";
    cr_assert(weir_shard_pool_submit(p, line, strlen(line), 0, WEIR_SHARD_NO_SPLIT));
    weir_shard_pool_sync(p);
    /* a child that dies: stopped before it can write a byte */
    weir_snapshot_fork *f =
        weir_snapshot_fork_start(base, p, count_cut, fork_done_cb, &r, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    cr_assert_eq(kill(weir_snapshot_fork_pid(f), SIGKILL), 0);
    while (!r.called)
        event_base_loop(base, EVLOOP_ONCE);
    cr_assert(strstr(r.error, "the state writer died of signal 9"), "%s", r.error);
    weir_shard_pool_free(p);
    weir_ruleset_free(rs);
    event_base_free(base);
}

/* ---- Kafka transactions: the restart's decision */

Test(kafka_txn, offsets_text_becomes_a_list_with_metadata)
{
    const char text[] = "events\t0\t352\nevents\t3\t7\n";
    rd_kafka_topic_partition_list_t *l =
        weir_kafka_offsets_list(text, sizeof text - 1, "weir checkpoint 12");
    cr_assert(l);
    cr_assert_eq(l->cnt, 2);
    cr_assert_str_eq(l->elems[1].topic, "events");
    cr_assert_eq(l->elems[1].partition, 3);
    cr_assert_eq(l->elems[1].offset, 7);
    cr_assert_eq(l->elems[0].metadata_size, strlen("weir checkpoint 12"));
    rd_kafka_topic_partition_list_destroy(l);
    cr_assert_null(weir_kafka_offsets_list("events\t0\n", 9, NULL));
    cr_assert_null(weir_kafka_offsets_list("events\t0\t-4\n", 12, NULL));
}

static rd_kafka_topic_partition_list_t *group(long long off0, long long off3, const char *meta)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_t *a = rd_kafka_topic_partition_list_add(l, "events", 0);
    rd_kafka_topic_partition_t *b = rd_kafka_topic_partition_list_add(l, "events", 3);
    a->offset = off0;
    b->offset = off3;
    if (meta) {
        a->metadata = strdup(meta);
        a->metadata_size = strlen(meta);
        b->metadata = strdup(meta);
        b->metadata_size = strlen(meta);
    }
    return l;
}

Test(kafka_txn, committed_only_when_every_offset_and_the_metadata_are_the_checkpoints)
{
    const char text[] = "events\t0\t352\nevents\t3\t7\n";
    char meta[64];
    weir_kafka_txn_metadata(12, meta, sizeof meta);
    cr_assert_str_eq(meta, "weir checkpoint 12");
    rd_kafka_topic_partition_list_t *want = weir_kafka_offsets_list(text, sizeof text - 1, NULL);
    rd_kafka_topic_partition_list_t *same = group(352, 7, meta);
    rd_kafka_topic_partition_list_t *older = group(352, 5, meta);
    rd_kafka_topic_partition_list_t *none = group(RD_KAFKA_OFFSET_INVALID, 7, meta);
    /* the same offsets committed by the transaction of another checkpoint
     * (no event in between): not this one's */
    rd_kafka_topic_partition_list_t *other = group(352, 7, "weir checkpoint 11");
    rd_kafka_topic_partition_list_t *bare = group(352, 7, NULL);
    cr_assert(weir_kafka_offsets_committed(want, same, meta));
    cr_assert_not(weir_kafka_offsets_committed(want, older, meta));
    cr_assert_not(weir_kafka_offsets_committed(want, none, meta));
    cr_assert_not(weir_kafka_offsets_committed(want, other, meta));
    cr_assert_not(weir_kafka_offsets_committed(want, bare, meta));
    rd_kafka_topic_partition_list_t *empty = weir_kafka_offsets_list("", 0, NULL);
    cr_assert_not(weir_kafka_offsets_committed(empty, same, meta));
    rd_kafka_topic_partition_list_destroy(want);
    rd_kafka_topic_partition_list_destroy(same);
    rd_kafka_topic_partition_list_destroy(older);
    rd_kafka_topic_partition_list_destroy(none);
    rd_kafka_topic_partition_list_destroy(other);
    rd_kafka_topic_partition_list_destroy(bare);
    rd_kafka_topic_partition_list_destroy(empty);
}
