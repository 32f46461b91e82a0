/* test_store_redis.c — the Redis store against a real redis-server started
 * per test on a free loopback port, with the writes running on a libevent
 * loop: round trips with multi-chunk parts, pruning, savepoints, damage
 * refused, jobs kept apart, and a server that is killed, stopped or
 * restarted under the store. */
#include <criterion/criterion.h>

#include <event2/event.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_server.h"
#include "state/store.h"

static weir_test_redis srv;
static struct event_base *base;

static void setup(void)
{
    /* hiredis writes with write(2): a server dying mid-write must not kill
     * the test (weir serve ignores SIGPIPE the same way). */
    signal(SIGPIPE, SIG_IGN);
    weir_test_redis_start(&srv, 0);
    base = event_base_new();
}

static void teardown(void)
{
    weir_test_redis_stop(&srv);
    if (base)
        event_base_free(base);
}

TestSuite(store_redis, .init = setup, .fini = teardown, .timeout = 60);

/* ---- helpers */

typedef struct put_result {
    int calls;
    int ok;
    char error[512];
} put_result;

static void on_put(void *user, int ok, const char *error)
{
    put_result *r = user;
    r->calls++;
    r->ok = ok;
    snprintf(r->error, sizeof r->error, "%s", error ? error : "");
}

static weir_store *open_redis(const char *job, unsigned keep, int timeout_ms, size_t chunk)
{
    char url[64], err[256];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", srv.port);
    weir_store_options opt = {.job = job, .keep = keep, .base = base, .timeout_ms = timeout_ms,
                              .chunk_size = chunk};
    weir_store *s = weir_store_open(url, &opt, err, sizeof err);
    cr_assert(s, "open: %s", err);
    cr_assert_str_eq(weir_store_backend(s), "redis");
    return s;
}

static void wait_for(put_result *r)
{
    for (long spins = 0; r->calls == 0 && spins < 1000000; spins++)
        event_base_loop(base, EVLOOP_ONCE);
    cr_assert_eq(r->calls, 1, "the put never reported");
}

static put_result put(weir_store *s, weir_store_kind kind, const char *id,
                      const weir_store_part *parts, size_t n)
{
    put_result r = {0};
    char err[256];
    cr_assert_eq(weir_store_put(s, kind, id, parts, n, on_put, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.calls, 0, "reported inside put");
    wait_for(&r);
    return r;
}

static void put_ok(weir_store *s, weir_store_kind kind, const char *id,
                   const weir_store_part *parts, size_t n)
{
    put_result r = put(s, kind, id, parts, n);
    cr_assert_eq(r.ok, 0, "put %s: %s", id, r.error);
}

static void put_small(weir_store *s, weir_store_kind kind, const char *id)
{
    weir_store_part part = {"meta", id, strlen(id)};
    put_ok(s, kind, id, &part, 1);
}

static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *p = malloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    /* The bytes the protocol cares about, so binary safety is tested. */
    if (len > 8)
        memcpy(p, "\r\n\0$*\r\n", 7);
    return p;
}

static void check_read(weir_store *s, weir_store_kind kind, const char *id,
                       const weir_store_part *parts, size_t n)
{
    weir_store_read rd;
    char err[512];
    cr_assert_eq(weir_store_get(s, kind, id, &rd, err, sizeof err), 0, "get %s: %s", id, err);
    cr_assert_str_eq(rd.id, id);
    cr_assert_eq(rd.n_parts, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(rd.parts[i].name, parts[i].name);
        cr_assert_eq(rd.parts[i].len, parts[i].len, "part %s", parts[i].name);
        cr_assert(parts[i].len == 0 || memcmp(rd.parts[i].data, parts[i].data, parts[i].len) == 0,
                  "part %s differs", parts[i].name);
    }
    weir_store_read_free(&rd);
}

static void expect_refused(weir_store *s, weir_store_kind kind, const char *id, const char *n1,
                           const char *n2)
{
    weir_store_read rd;
    char err[512];
    int rc = weir_store_get(s, kind, id, &rd, err, sizeof err);
    cr_assert_eq(rc, -1, "get %s returned %d", id, rc);
    cr_assert(strstr(err, n1), "'%s' not in: %s", n1, err);
    if (n2)
        cr_assert(strstr(err, n2), "'%s' not in: %s", n2, err);
    weir_store_read_free(&rd);
}

/* Runs a Redis command on a separate connection; returns the reply. */
static redisReply *cmd(const char *fmt, ...)
{
    redisContext *c = weir_test_redis_connect(&srv);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    cr_assert(r, "command failed: %s", c->errstr);
    redisFree(c);
    return r;
}

static long long count_keys(const char *pattern_)
{
    redisReply *r = cmd("KEYS %s", pattern_);
    long long n = (long long)r->elements;
    freeReplyObject(r);
    return n;
}

/* The key of chunk n of a part, read from the manifest's token. */
static void chunk_key(const char *job, const char *kind, const char *id, const char *part, int n,
                      char *buf, size_t cap)
{
    redisReply *r = cmd("GET weir:{%s}:%s:%s:manifest", job, kind, id);
    cr_assert_eq(r->type, REDIS_REPLY_STRING);
    const char *t = strstr(r->str, "\ntoken ");
    cr_assert(t);
    snprintf(buf, cap, "weir:{%s}:%s:%s:part:%s:%.16s:%d", job, kind, id, part, t + 7, n);
    freeReplyObject(r);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- round trips */

Test(store_redis, round_trip_with_a_part_of_many_chunks)
{
    weir_store *s = open_redis("payments", 0, 0, 1 << 20);
    size_t big = 10 * 1000 * 1000 + 3; /* 10 chunks of 1 MiB, the last one short */
    unsigned char *shard0 = pattern(big, 1), *shard1 = pattern(1 << 20, 2);
    weir_store_part parts[] = {
        {"meta", "{\"rules\":3}", 11},
        {"shard-0", shard0, big},
        {"shard-1", shard1, 1 << 20}, /* exactly one chunk */
        {"offsets", NULL, 0},         /* no chunk at all */
    };
    char id[80], err[256];
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 1, "%s", err);
    put_ok(s, WEIR_STORE_CHECKPOINT, "1", parts, 4);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(id, "1");
    check_read(s, WEIR_STORE_CHECKPOINT, "1", parts, 4);

    /* Chunks are PERSISTed by the commit: no expiry left on them. */
    char key[256];
    chunk_key("payments", "checkpoint", "1", "shard-0", 9, key, sizeof key);
    redisReply *r = cmd("PTTL %s", key);
    cr_assert_eq(r->integer, -1, "chunk %s still expires (%lld)", key, r->integer);
    freeReplyObject(r);
    r = cmd("STRLEN %s", key);
    cr_assert_eq(r->integer, (long long)(big - 9 * (1 << 20)));
    freeReplyObject(r);
    /* 10 + 1 + 1 chunks, the manifest, the index and latest. */
    cr_assert_eq(count_keys("weir:{payments}:*"), 15);

    weir_store_entry *e;
    size_t n;
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 1);
    cr_assert_eq(e[0].total_bytes, 11 + big + (1 << 20));
    cr_assert_eq(e[0].n_parts, 4);
    free(e);
    weir_store_free(s);
    free(shard0);
    free(shard1);
}

Test(store_redis, default_chunks_of_4_mib)
{
    weir_store *s = open_redis("job", 0, 0, 0);
    size_t big = 10 << 20;
    unsigned char *data = pattern(big, 9);
    weir_store_part parts[] = {{"shard-0", data, big}};
    put_ok(s, WEIR_STORE_SAVEPOINT, "big", parts, 1);
    check_read(s, WEIR_STORE_SAVEPOINT, "big", parts, 1);
    cr_assert_eq(count_keys("weir:{job}:savepoint:big:part:*"), 3);
    weir_store_free(s);
    free(data);
}

Test(store_redis, keeps_the_newest_n_checkpoints_and_deletes_their_keys)
{
    weir_store *s = open_redis("job", 3, 0, 1024);
    unsigned char *data = pattern(5000, 4); /* 5 chunks each */
    for (int i = 1; i <= 6; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i * 5);
        weir_store_part parts[] = {{"meta", id, strlen(id)}, {"shard-0", data, 5000}};
        put_ok(s, WEIR_STORE_CHECKPOINT, id, parts, 2);
    }
    weir_store_entry *e;
    size_t n;
    char err[256], id[80];
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(e[0].id, "20");
    cr_assert_str_eq(e[2].id, "30");
    free(e);
    cr_assert_eq(count_keys("weir:{job}:checkpoint:5:*"), 0);
    cr_assert_eq(count_keys("weir:{job}:checkpoint:15:*"), 0);
    cr_assert_eq(count_keys("weir:{job}:checkpoint:20:*"), 7);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0);
    cr_assert_str_eq(id, "30");
    redisReply *r = cmd("ZCARD weir:{job}:checkpoints");
    cr_assert_eq(r->integer, 3);
    freeReplyObject(r);
    weir_store_free(s);
    free(data);
}

Test(store_redis, savepoints_are_never_pruned_and_can_be_deleted)
{
    weir_store *s = open_redis("job", 1, 0, 0);
    put_small(s, WEIR_STORE_SAVEPOINT, "before-swap");
    char gen[32];
    weir_store_savepoint_id(1732900000000, gen, sizeof gen);
    put_small(s, WEIR_STORE_SAVEPOINT, gen);
    for (int i = 1; i <= 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        put_small(s, WEIR_STORE_CHECKPOINT, id);
    }
    weir_store_entry *e;
    size_t n;
    char err[256];
    cr_assert_eq(weir_store_list(s, WEIR_STORE_SAVEPOINT, &e, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(e[0].id, "before-swap");
    cr_assert_str_eq(e[1].id, gen);
    free(e);
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    free(e);

    cr_assert_eq(weir_store_delete(s, WEIR_STORE_SAVEPOINT, "before-swap", err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(count_keys("weir:{job}:savepoint:before-swap:*"), 0);
    cr_assert_eq(weir_store_delete(s, WEIR_STORE_SAVEPOINT, "before-swap", err, sizeof err), 1);
    cr_assert(strstr(err, "no savepoint before-swap"), "%s", err);
    cr_assert_eq(weir_store_list(s, WEIR_STORE_SAVEPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    free(e);

    /* Deleting the latest checkpoint removes `latest` with it. */
    char id[80];
    cr_assert_eq(weir_store_delete(s, WEIR_STORE_CHECKPOINT, "3", err, sizeof err), 0, "%s", err);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 1);
    weir_store_free(s);
}

Test(store_redis, replacing_an_id_leaves_no_old_chunks)
{
    weir_store *s = open_redis("job", 0, 0, 1000);
    unsigned char *a = pattern(3500, 1), *b = pattern(2500, 2);
    weir_store_part first[] = {{"shard-0", a, 3500}};
    weir_store_part second[] = {{"shard-0", b, 2500}};
    put_ok(s, WEIR_STORE_SAVEPOINT, "x", first, 1);
    cr_assert_eq(count_keys("weir:{job}:savepoint:x:part:*"), 4);
    put_ok(s, WEIR_STORE_SAVEPOINT, "x", second, 1);
    check_read(s, WEIR_STORE_SAVEPOINT, "x", second, 1);
    cr_assert_eq(count_keys("weir:{job}:savepoint:x:part:*"), 3);
    weir_store_free(s);
    free(a);
    free(b);
}

Test(store_redis, two_jobs_on_one_redis_do_not_see_each_other)
{
    weir_store *a = open_redis("alpha", 0, 0, 0), *b = open_redis("beta", 0, 0, 0);
    put_small(a, WEIR_STORE_CHECKPOINT, "5");
    put_small(b, WEIR_STORE_CHECKPOINT, "6");
    char id[80], err[256];
    cr_assert_eq(weir_store_latest(a, id, sizeof id, err, sizeof err), 0);
    cr_assert_str_eq(id, "5");
    cr_assert_eq(weir_store_latest(b, id, sizeof id, err, sizeof err), 0);
    cr_assert_str_eq(id, "6");
    weir_store_read rd;
    cr_assert_eq(weir_store_get(b, WEIR_STORE_CHECKPOINT, "5", &rd, err, sizeof err), 1);
    weir_store_entry *e;
    size_t n;
    cr_assert_eq(weir_store_list(a, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(e[0].id, "5");
    free(e);
    /* A manifest copied under another job is refused as foreign. */
    redisReply *r = cmd("COPY %s %s", "weir:{alpha}:checkpoint:5:manifest",
                        "weir:{beta}:checkpoint:5:manifest");
    freeReplyObject(r);
    expect_refused(b, WEIR_STORE_CHECKPOINT, "5", "job 'alpha'", "foreign");
    weir_store_free(a);
    weir_store_free(b);
}

/* ---- damage */

static weir_store *store_with_checkpoint(unsigned char **data)
{
    weir_store *s = open_redis("job", 0, 0, 1000);
    *data = pattern(4500, 3);
    weir_store_part parts[] = {{"meta", "m", 1}, {"shard-0", *data, 4500}};
    put_ok(s, WEIR_STORE_CHECKPOINT, "9", parts, 2);
    return s;
}

Test(store_redis, flipped_byte_is_refused)
{
    unsigned char *data;
    weir_store *s = store_with_checkpoint(&data);
    char key[256];
    chunk_key("job", "checkpoint", "9", "shard-0", 2, key, sizeof key);
    redisReply *r = cmd("SETRANGE %s 500 %b", key, "\x7f", (size_t)1);
    freeReplyObject(r);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "part 'shard-0' is damaged", "checksum");
    weir_store_free(s);
    free(data);
}

Test(store_redis, missing_or_short_chunk_is_refused)
{
    unsigned char *data;
    weir_store *s = store_with_checkpoint(&data);
    char key[256];
    chunk_key("job", "checkpoint", "9", "shard-0", 4, key, sizeof key);
    redisReply *r = cmd("SET %s short", key);
    freeReplyObject(r);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "chunk 4 has 5 bytes, expected 500", key);
    chunk_key("job", "checkpoint", "9", "shard-0", 1, key, sizeof key);
    r = cmd("DEL %s", key);
    freeReplyObject(r);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "part 'shard-0' chunk 1 of 5 is missing", key);
    /* The connection stays usable after a refusal mid-pipeline. */
    char id[80], err[256];
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0, "%s", err);
    weir_store_free(s);
    free(data);
}

Test(store_redis, garbage_or_missing_manifest_is_refused)
{
    unsigned char *data;
    weir_store *s = store_with_checkpoint(&data);
    redisReply *r = cmd("SET weir:{job}:checkpoint:9:manifest %s", "GIF89a...");
    freeReplyObject(r);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "not a weir manifest", "checkpoint 9");
    weir_store_entry *e;
    size_t n;
    char err[256], id[80];
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    cr_assert(e[0].damaged);
    free(e);
    r = cmd("DEL weir:{job}:checkpoint:9:manifest");
    freeReplyObject(r);
    weir_store_read rd;
    cr_assert_eq(weir_store_get(s, WEIR_STORE_CHECKPOINT, "9", &rd, err, sizeof err), 1);
    /* Wrong type under a store key. */
    r = cmd("RPUSH weir:{job}:checkpoint:9:manifest x");
    freeReplyObject(r);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "WRONGTYPE", NULL);
    r = cmd("SET weir:{job}:latest nonsense");
    freeReplyObject(r);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), -1);
    cr_assert(strstr(err, "latest is damaged"), "%s", err);
    weir_store_free(s);
    free(data);
}

/* ---- a server that goes away */

Test(store_redis, killed_server_fails_the_put_through_the_callback)
{
    weir_store *s = open_redis("job", 0, 2000, 0);
    put_small(s, WEIR_STORE_CHECKPOINT, "1");
    weir_test_redis_stop(&srv);
    put_result r = put(s, WEIR_STORE_CHECKPOINT, "2", &(weir_store_part){"meta", "x", 1}, 1);
    cr_assert_eq(r.ok, -1);
    cr_assert(strstr(r.error, "checkpoint 2: cannot connect to Redis 127.0.0.1:"), "%s", r.error);
    /* Reads fail with a message too, and do not hang. */
    char id[80], err[256];
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), -1);
    cr_assert(strstr(err, "cannot connect to Redis"), "%s", err);
    weir_store_free(s);
}

/* Kills the server 2 ms into a large put. */
static void kill_server(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    weir_test_redis_stop(&srv);
}

Test(store_redis, connection_lost_mid_write_fails_the_put)
{
    weir_store *s = open_redis("job", 0, 2000, 0);
    size_t len = 64 << 20;
    unsigned char *data = pattern(len, 8);
    weir_store_part parts[] = {{"shard-0", data, len}};
    struct event *t = evtimer_new(base, kill_server, NULL);
    struct timeval tv = {0, 2000};
    evtimer_add(t, &tv);
    put_result r = put(s, WEIR_STORE_CHECKPOINT, "1", parts, 1);
    cr_assert_eq(r.ok, -1);
    cr_assert(strstr(r.error, "checkpoint 1: "), "%s", r.error);
    cr_assert(strstr(r.error, "Redis"), "%s", r.error);
    event_free(t);
    weir_store_free(s);
    free(data);
}

Test(store_redis, stopped_server_fails_the_put_by_timeout)
{
    weir_store *s = open_redis("job", 0, 300, 0);
    put_small(s, WEIR_STORE_CHECKPOINT, "1");
    kill(srv.pid, SIGSTOP);
    double t0 = now_s();
    put_result r = put(s, WEIR_STORE_CHECKPOINT, "2", &(weir_store_part){"meta", "x", 1}, 1);
    double took = now_s() - t0;
    cr_assert_eq(r.ok, -1);
    cr_assert(strstr(r.error, "no reply from Redis 127.0.0.1:"), "%s", r.error);
    cr_assert(strstr(r.error, "in 300 ms"), "%s", r.error);
    cr_assert_geq(took, 0.29, "failed after %.3f s, before the timeout", took);
    /* A second put on a fresh connection to the stopped server times out
     * as well (the connect itself succeeds: the kernel accepts for it). */
    r = put(s, WEIR_STORE_CHECKPOINT, "3", &(weir_store_part){"meta", "x", 1}, 1);
    cr_assert_eq(r.ok, -1);
    cr_assert(strstr(r.error, "no reply"), "%s", r.error);
    weir_store_free(s);
    /* teardown sends SIGCONT before SIGKILL */
}

Test(store_redis, restarted_server_takes_the_next_put)
{
    weir_store *s = open_redis("job", 0, 2000, 0);
    put_small(s, WEIR_STORE_CHECKPOINT, "1");
    int port = srv.port;
    weir_test_redis_stop(&srv);
    put_result r = put(s, WEIR_STORE_CHECKPOINT, "2", &(weir_store_part){"meta", "x", 1}, 1);
    cr_assert_eq(r.ok, -1);
    weir_test_redis_start(&srv, port);
    put_small(s, WEIR_STORE_CHECKPOINT, "3");
    char id[80], err[256];
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(id, "3");
    weir_store_free(s);
}

Test(store_redis, restart_while_idle_costs_no_failed_put)
{
    /* The store's connection goes stale while nobody writes; the next put
     * finds out on its first command and retries once on a new one. */
    weir_store *s = open_redis("job", 0, 2000, 0);
    put_small(s, WEIR_STORE_CHECKPOINT, "1");
    int port = srv.port;
    weir_test_redis_stop(&srv);
    weir_test_redis_start(&srv, port);
    put_small(s, WEIR_STORE_CHECKPOINT, "2");
    weir_store_free(s);
}

Test(store_redis, free_reports_puts_in_flight_and_queued)
{
    weir_store *s = open_redis("job", 0, 2000, 0);
    size_t len = 16 << 20;
    unsigned char *data = pattern(len, 6);
    weir_store_part parts[] = {{"shard-0", data, len}};
    put_result r[3] = {{0}};
    char err[256];
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i + 1);
        cr_assert_eq(weir_store_put(s, WEIR_STORE_CHECKPOINT, id, parts, 1, on_put, &r[i], err,
                                    sizeof err), 0);
    }
    event_base_loop(base, EVLOOP_ONCE);
    weir_store_free(s);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(r[i].calls, 1, "put %d reported %d times", i + 1, r[i].calls);
        cr_assert_eq(r[i].ok, -1);
        cr_assert(strstr(r[i].error, "store closed"), "%s", r[i].error);
    }
    /* Nothing was committed, and what was written expires by itself. */
    cr_assert_eq(count_keys("weir:{job}:checkpoint:*:manifest"), 0);
    redisReply *keys = cmd("KEYS weir:{job}:checkpoint:*");
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *t = cmd("PTTL %s", keys->element[i]->str);
        cr_assert(t->integer > 0 && t->integer <= 3600 * 1000, "%s: PTTL %lld",
                  keys->element[i]->str, t->integer);
        freeReplyObject(t);
    }
    freeReplyObject(keys);
    free(data);
}

Test(store_redis, queued_puts_run_in_order)
{
    weir_store *s = open_redis("job", 2, 0, 1000);
    unsigned char *data = pattern(3000, 5);
    weir_store_part parts[] = {{"shard-0", data, 3000}};
    put_result r[4] = {{0}};
    char err[256];
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i + 1);
        cr_assert_eq(weir_store_put(s, WEIR_STORE_CHECKPOINT, id, parts, 1, on_put, &r[i], err,
                                    sizeof err), 0);
    }
    wait_for(&r[3]);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(r[i].ok, 0, "put %d: %s", i + 1, r[i].error);
    char id[80];
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0);
    cr_assert_str_eq(id, "4");
    cr_assert_eq(count_keys("weir:{job}:checkpoint:*:manifest"), 2);
    check_read(s, WEIR_STORE_CHECKPOINT, "3", parts, 1);
    weir_store_free(s);
    free(data);
}

Test(store_redis, redis_errors_fail_the_put_with_their_text)
{
    weir_store *s = open_redis("job", 0, 0, 1 << 20);
    /* A write Redis refuses mid-way (out of memory, no eviction). */
    redisReply *r = cmd("CONFIG SET maxmemory 2mb");
    freeReplyObject(r);
    size_t len = 8 << 20;
    unsigned char *data = pattern(len, 2);
    weir_store_part parts[] = {{"shard-0", data, len}};
    put_result res = put(s, WEIR_STORE_CHECKPOINT, "1", parts, 1);
    cr_assert_eq(res.ok, -1);
    cr_assert(strstr(res.error, "checkpoint 1: Redis error: OOM"), "%s", res.error);
    r = cmd("CONFIG SET maxmemory 0");
    freeReplyObject(r);
    /* A command that fails inside EXEC: the index is not a sorted set. */
    r = cmd("SET weir:{job}:savepoints not-a-zset");
    freeReplyObject(r);
    res = put(s, WEIR_STORE_SAVEPOINT, "sp", &(weir_store_part){"meta", "x", 1}, 1);
    cr_assert_eq(res.ok, -1);
    cr_assert(strstr(res.error, "savepoint sp: EXEC: command"), "%s", res.error);
    cr_assert(strstr(res.error, "WRONGTYPE"), "%s", res.error);
    /* The store goes on working. */
    put_small(s, WEIR_STORE_CHECKPOINT, "2");
    weir_store_free(s);
    free(data);
}

Test(store_redis, reads_from_a_stopped_server_time_out)
{
    weir_store *s = open_redis("job", 0, 300, 0);
    put_small(s, WEIR_STORE_CHECKPOINT, "1");
    kill(srv.pid, SIGSTOP);
    char id[80], err[256];
    double t0 = now_s();
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), -1);
    weir_store_read rd;
    cr_assert_eq(weir_store_get(s, WEIR_STORE_CHECKPOINT, "1", &rd, err, sizeof err), -1);
    cr_assert(strstr(err, "Redis 127.0.0.1:"), "%s", err);
    double took = now_s() - t0;
    cr_assert_lt(took, 3.0, "reads took %.2f s with a 300 ms timeout", took);
    weir_store_free(s);
}

/* Puts the next checkpoint from the callback of the previous one. */
typedef struct chain {
    weir_store *s;
    int done;
    int failed;
    weir_store_part part;
} chain;

static void on_chain(void *user, int ok, const char *error)
{
    chain *c = user;
    cr_assert_eq(ok, 0, "%s", error ? error : "");
    if (++c->done < 5) {
        char id[16], err[256];
        snprintf(id, sizeof id, "%d", c->done + 1);
        cr_assert_eq(weir_store_put(c->s, WEIR_STORE_CHECKPOINT, id, &c->part, 1, on_chain, c, err,
                                    sizeof err), 0, "%s", err);
    } else {
        weir_store_free(c->s); /* allowed inside a callback */
    }
}

Test(store_redis, callbacks_may_put_again_or_free)
{
    chain c = {.s = open_redis("job", 2, 0, 0), .part = {"meta", "x", 1}};
    char err[256];
    cr_assert_eq(weir_store_put(c.s, WEIR_STORE_CHECKPOINT, "1", &c.part, 1, on_chain, &c, err,
                                sizeof err), 0);
    for (long spins = 0; c.done < 5 && spins < 1000000; spins++)
        event_base_loop(base, EVLOOP_ONCE);
    cr_assert_eq(c.done, 5);
    redisReply *r = cmd("ZRANGE weir:{job}:checkpoints 0 -1");
    cr_assert_eq(r->elements, 2);
    cr_assert_str_eq(r->element[1]->str, "5");
    freeReplyObject(r);
}
