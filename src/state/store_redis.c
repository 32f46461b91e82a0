/* store_redis.c — the Redis store's writer: puts through hiredis's async
 * API on the caller's libevent loop (layout and protocol in store.h).
 *
 * A put is a small state machine, one put running at a time:
 *   PREPARE  GET the manifest it replaces and (checkpoints) ZRANGE the
 *            index; then GET the manifests of the checkpoints it will prune
 *   CHUNKS   SET every chunk with an expiry, at most WINDOW in flight, so a
 *            part of hundreds of MB never sits whole in hiredis's buffer
 *   COMMIT   MULTI, PERSIST the chunks, SET the manifest, ZADD, SET latest,
 *            DEL the replaced and pruned versions, EXEC
 *
 * hiredis 0.14 has no command timeout, so the running put owns a libevent
 * timer re-armed by every reply: when timeout_ms passes with no reply (a
 * stopped server, a dead network) the put fails. Any failure drops the
 * connection; hiredis then calls every pending callback with a NULL reply,
 * and the put is finished only when the last of them has run, from
 * done_ev, never from inside a hiredis callback: so the user's callback may
 * put again or free the store. The next put reconnects. A put whose reused
 * connection turns out dead before any reply (Redis restarted while idle)
 * is tried once more on a new connection.
 *
 * hiredis facts this relies on (0.14.1, see DEPENDENCIES.md 4): the
 * context is freed by hiredis after a failed connect and after the
 * disconnect callback; redisAsyncFree inside a reply callback is deferred
 * until the callback returns; on a failed connect the connect callback
 * runs, then the pending callbacks with NULL, and no disconnect callback. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>

#include "state/store_redis-internal.h"
#include "state/xxh64.h"

/* Chunks in flight: enough to keep the socket busy, little enough that
 * hiredis's output buffer (which it memmoves after each partial write)
 * stays small. */
#define WINDOW 2
#define ERR_CAP 512

typedef enum put_state { PUT_WAITING, PUT_PREPARE, PUT_CHUNKS, PUT_COMMIT, PUT_DONE } put_state;

struct redis_put {
    redis_put *next;
    redis_store *s;
    weir_store_kind kind;
    char id[WEIR_STORE_NAME_MAX + 1];
    const weir_store_part *parts; /* the caller's, valid until cb */
    size_t n;
    weir_store_done_cb cb;
    void *user;

    weir_manifest m;          /* what the commit writes; hashes filled as chunks go */
    put_state state;
    unsigned pending;         /* commands sent whose callback has not run */
    unsigned replies;         /* replies received in this attempt */
    bool fresh_conn;          /* this attempt opened the connection */
    int attempts;             /* attempts before this one */
    struct timespec started;  /* of this attempt, CLOCK_MONOTONIC */
    bool failed, retry;
    char error[ERR_CAP];

    /* PREPARE */
    weir_manifest old;        /* the version this put replaces, if any */
    bool have_old;
    char (*index)[WEIR_STORE_NAME_MAX + 1]; /* checkpoint ids in the index */
    size_t n_index;
    bool *prune;              /* per index entry */
    weir_manifest *pruned;    /* per index entry, parsed when prune[i] */
    bool *pruned_ok;
    size_t prune_wait;        /* manifests of pruned ids still to arrive */
    size_t prune_next;        /* the index entry the next reply belongs to */

    /* CHUNKS */
    size_t part;              /* part being sent */
    uint64_t off;             /* bytes of it sent */
    uint64_t chunk;           /* its next chunk number */
    unsigned in_flight;
    weir_xxh64_state hash;    /* of the part being sent */
    bool all_sent;

    /* COMMIT */
    size_t queued;            /* commands inside MULTI */
    size_t n_persist;         /* the first n_persist of them are PERSISTs */
};

static void drop_conn(redis_store *s);
static void put_begin(redis_put *p);

/* ---- keys */

void weir_redis_key_manifest(const redis_store *s, weir_store_kind kind, const char *id,
                             char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s:%s:manifest", s->prefix, weir_store_kind_word(kind), id);
}

void weir_redis_key_chunk(const redis_store *s, weir_store_kind kind, const char *id,
                          const char *part, const char *token, uint64_t n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s:%s:part:%s:%s:%" PRIu64, s->prefix, weir_store_kind_word(kind), id,
             part, token, n);
}

void weir_redis_key_index(const redis_store *s, weir_store_kind kind, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%ss", s->prefix, weir_store_kind_word(kind));
}

void weir_redis_key_latest(const redis_store *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%slatest", s->prefix);
}

void weir_redis_free_keys(char **keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
}

int weir_redis_push_key(char ***keys, size_t *n, const char *key)
{
    char **grown = realloc(*keys, (*n + 1) * sizeof **keys);
    if (!grown)
        return -1;
    *keys = grown;
    if (!(grown[*n] = strdup(key)))
        return -1;
    (*n)++;
    return 0;
}

int weir_redis_manifest_keys(const redis_store *s, const weir_manifest *m, bool with_manifest,
                             char ***keys, size_t *n)
{
    char key[WEIR_REDIS_KEY_CAP];
    for (size_t i = 0; i < m->n_parts; i++)
        for (uint64_t c = 0; c < m->parts[i].chunks; c++) {
            weir_redis_key_chunk(s, m->kind, m->id, m->parts[i].name, m->token, c, key,
                                 sizeof key);
            if (weir_redis_push_key(keys, n, key) < 0)
                return -1;
        }
    if (with_manifest) {
        weir_redis_key_manifest(s, m->kind, m->id, key, sizeof key);
        if (weir_redis_push_key(keys, n, key) < 0)
            return -1;
    }
    return 0;
}

/* ---- the put's life */

static int64_t elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void arm_timer(redis_store *s)
{
    struct timeval tv = {s->head.timeout_ms / 1000, (s->head.timeout_ms % 1000) * 1000};
    evtimer_add(s->timer_ev, &tv);
}

/* Schedules on_done once nothing of p is outstanding any more. */
static void check_done(redis_put *p)
{
    if (p->pending == 0 && (p->failed || p->retry || p->state == PUT_DONE)) {
        evtimer_del(p->s->timer_ev);
        event_active(p->s->done_ev, EV_TIMEOUT, 0);
    }
}

/* The first failure wins; the connection is dropped, which flushes every
 * pending callback. retryable: a connection error that may only mean the
 * reused connection had gone stale. */
static void put_fail(redis_put *p, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put_fail(redis_put *p, bool retryable, const char *fmt, ...)
{
    if (p->failed || p->retry)
        return;
    if (retryable && !p->fresh_conn && p->replies == 0 && p->attempts == 0) {
        p->retry = true;
    } else {
        p->failed = true;
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(p->error, sizeof p->error, "%s %s: ", weir_store_kind_word(p->kind),
                         p->id);
        vsnprintf(p->error + n, sizeof p->error - (size_t)n, fmt, ap);
        va_end(ap);
    }
    drop_conn(p->s);
    check_done(p);
}

/* Common head of every reply callback: false when the put is no longer
 * going (the caller returns at once). */
static bool take_reply(redis_put *p, redisAsyncContext *ac, redisReply *r)
{
    p->pending--;
    if (p->failed || p->retry) {
        check_done(p);
        return false;
    }
    if (!r) {
        put_fail(p, true, "connection to Redis %s:%d lost: %s", p->s->host, p->s->port,
                 ac && ac->c.err ? ac->c.errstr : "closed");
        return false;
    }
    p->replies++;
    arm_timer(p->s);
    if (r->type == REDIS_REPLY_ERROR) {
        put_fail(p, false, "Redis error: %.*s", (int)r->len, r->str);
        return false;
    }
    return true;
}

static bool send_cmd(redis_put *p, redisCallbackFn *fn, const char *fmt, ...)
{
    redis_store *s = p->s;
    if (!s->ac) {
        put_fail(p, false, "not connected to Redis");
        return false;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(s->ac, fn, p, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        put_fail(p, true, "cannot send to Redis: %s", s->ac && s->ac->c.err ? s->ac->c.errstr
                                                                            : "out of memory");
        return false;
    }
    p->pending++;
    return true;
}

static bool send_argv(redis_put *p, redisCallbackFn *fn, int argc, const char **argv)
{
    redis_store *s = p->s;
    if (!s->ac) {
        put_fail(p, false, "not connected to Redis");
        return false;
    }
    if (redisAsyncCommandArgv(s->ac, fn, p, argc, argv, NULL) != REDIS_OK) {
        put_fail(p, true, "cannot send to Redis: %s", s->ac->c.err ? s->ac->c.errstr
                                                                   : "out of memory");
        return false;
    }
    p->pending++;
    return true;
}

/* ---- COMMIT */

static void on_exec(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_put *p = priv;
    redisReply *r = reply;
    if (!take_reply(p, ac, r))
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != p->queued) {
        put_fail(p, false, "EXEC: the transaction was not run (reply type %d, %zu results)",
                 r->type, r->type == REDIS_REPLY_ARRAY ? (size_t)r->elements : (size_t)0);
        return;
    }
    for (size_t i = 0; i < p->n_persist; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_INTEGER || e->integer != 1) {
            /* Only an eviction or a hand-made DEL gets here: the manifest is
             * in, but a chunk it lists is gone, and reads will say so. */
            put_fail(p, false, "chunk %zu of the commit was gone before it (evicted?)", i);
            return;
        }
    }
    for (size_t i = p->n_persist; i < p->queued; i++)
        if (r->element[i]->type == REDIS_REPLY_ERROR) {
            put_fail(p, false, "EXEC: command %zu failed: %.*s", i, (int)r->element[i]->len,
                     r->element[i]->str);
            return;
        }
    p->state = PUT_DONE;
    check_done(p);
}

static void on_queued(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_put *p = priv;
    redisReply *r = reply;
    if (!take_reply(p, ac, r))
        return;
    if (r->type != REDIS_REPLY_STATUS)
        put_fail(p, false, "MULTI: unexpected reply type %d", r->type);
}

/* DEL argv[0..] in one command, when there is anything to delete. */
static bool send_del(redis_put *p, char **keys, size_t n)
{
    if (n == 0)
        return true;
    const char **argv = malloc((n + 1) * sizeof *argv);
    if (!argv) {
        put_fail(p, false, "out of memory");
        return false;
    }
    argv[0] = "DEL";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = keys[i];
    bool ok = send_argv(p, on_queued, (int)(n + 1), argv);
    free(argv);
    if (ok)
        p->queued++;
    return ok;
}

static void commit(redis_put *p)
{
    redis_store *s = p->s;
    if (elapsed_ms(&p->started) > WEIR_REDIS_CHUNK_TTL_MS - WEIR_REDIS_TTL_MARGIN_MS) {
        put_fail(p, false, "writing took longer than the chunks' expiry allows; not committed");
        return;
    }
    p->state = PUT_COMMIT;
    size_t mlen;
    char *text = weir_manifest_encode(&p->m, &mlen);
    char **stale = NULL;
    size_t n_stale = 0;
    bool oom = !text;
    /* The version this put replaces: its chunks go (its manifest is
     * overwritten). A token equal to ours is impossible in practice and
     * would delete our own chunks, so it is skipped. */
    if (!oom && p->have_old && strcmp(p->old.token, p->m.token) != 0)
        oom = weir_redis_manifest_keys(s, &p->old, false, &stale, &n_stale) < 0;
    /* The pruned checkpoints: all their keys, manifest included. */
    size_t n_zrem = 0;
    for (size_t i = 0; !oom && i < p->n_index; i++) {
        if (!p->prune[i])
            continue;
        n_zrem++;
        if (p->pruned_ok[i]) {
            oom = weir_redis_manifest_keys(s, &p->pruned[i], true, &stale, &n_stale) < 0;
        } else {
            char key[WEIR_REDIS_KEY_CAP];
            weir_redis_key_manifest(s, WEIR_STORE_CHECKPOINT, p->index[i], key, sizeof key);
            oom = weir_redis_push_key(&stale, &n_stale, key) < 0;
        }
    }
    if (oom) {
        free(text);
        weir_redis_free_keys(stale, n_stale);
        put_fail(p, false, "out of memory");
        return;
    }

    char key[WEIR_REDIS_KEY_CAP], index[WEIR_REDIS_KEY_CAP];
    weir_redis_key_index(s, p->kind, index, sizeof index);
    p->queued = 0;
    p->n_persist = 0;
    bool ok = send_cmd(p, on_queued, "MULTI");
    for (size_t i = 0; ok && i < p->m.n_parts; i++)
        for (uint64_t c = 0; ok && c < p->m.parts[i].chunks; c++) {
            weir_redis_key_chunk(s, p->kind, p->id, p->m.parts[i].name, p->m.token, c, key,
                                 sizeof key);
            ok = send_cmd(p, on_queued, "PERSIST %s", key);
            p->queued += ok, p->n_persist += ok;
        }
    if (ok) {
        weir_redis_key_manifest(s, p->kind, p->id, key, sizeof key);
        ok = send_cmd(p, on_queued, "SET %s %b", key, text, mlen);
        p->queued += ok;
    }
    if (ok) {
        char score[32];
        snprintf(score, sizeof score, "%" PRId64,
                 p->kind == WEIR_STORE_SAVEPOINT ? p->m.created_ms : 0);
        /* A checkpoint's score is its id (Redis reads it as a double, exact
         * below 2^53); readers sort the ids exactly themselves. */
        ok = send_cmd(p, on_queued, "ZADD %s %s %s", index,
                      p->kind == WEIR_STORE_SAVEPOINT ? score : p->id, p->id);
        p->queued += ok;
    }
    if (ok && p->kind == WEIR_STORE_CHECKPOINT) {
        weir_redis_key_latest(s, key, sizeof key);
        ok = send_cmd(p, on_queued, "SET %s %s", key, p->id);
        p->queued += ok;
    }
    if (ok)
        ok = send_del(p, stale, n_stale);
    if (ok && n_zrem) {
        const char **argv = malloc((n_zrem + 2) * sizeof *argv);
        if (!argv) {
            put_fail(p, false, "out of memory");
            ok = false;
        } else {
            int argc = 0;
            argv[argc++] = "ZREM";
            argv[argc++] = index;
            for (size_t i = 0; i < p->n_index; i++)
                if (p->prune[i])
                    argv[argc++] = p->index[i];
            ok = send_argv(p, on_queued, argc, argv);
            p->queued += ok;
            free(argv);
        }
    }
    if (ok)
        send_cmd(p, on_exec, "EXEC");
    free(text);
    weir_redis_free_keys(stale, n_stale);
}

/* ---- CHUNKS */

static void pump(redis_put *p);

static void on_chunk(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_put *p = priv;
    redisReply *r = reply;
    if (!take_reply(p, ac, r))
        return;
    if (r->type != REDIS_REPLY_STATUS) {
        put_fail(p, false, "SET of a chunk: unexpected reply type %d", r->type);
        return;
    }
    p->in_flight--;
    pump(p);
}

/* Sends chunks until WINDOW are in flight; commits after the last reply. */
static void pump(redis_put *p)
{
    redis_store *s = p->s;
    while (!p->all_sent && p->in_flight < WINDOW) {
        if (p->part == p->n) {
            p->all_sent = true;
            break;
        }
        const weir_store_part *part = &p->parts[p->part];
        if (p->off == part->len) {
            /* Part complete (or empty): its checksum is known. */
            p->m.parts[p->part].hash = weir_xxh64_digest(&p->hash);
            weir_xxh64_init(&p->hash, 0);
            p->part++;
            p->off = 0;
            p->chunk = 0;
            continue;
        }
        size_t len = part->len - p->off < s->head.chunk_size ? (size_t)(part->len - p->off)
                                                              : s->head.chunk_size;
        const char *data = (const char *)part->data + p->off;
        char key[WEIR_REDIS_KEY_CAP];
        weir_redis_key_chunk(s, p->kind, p->id, part->name, p->m.token, p->chunk, key,
                             sizeof key);
        weir_xxh64_update(&p->hash, data, len);
        if (!send_cmd(p, on_chunk, "SET %s %b PX %d", key, data, len,
                      (int)WEIR_REDIS_CHUNK_TTL_MS))
            return;
        p->in_flight++;
        p->off += len;
        p->chunk++;
    }
    if (p->all_sent && p->in_flight == 0)
        commit(p);
}

static void start_chunks(redis_put *p)
{
    p->state = PUT_CHUNKS;
    p->part = 0;
    p->off = 0;
    p->chunk = 0;
    p->in_flight = 0;
    p->all_sent = false;
    weir_xxh64_init(&p->hash, 0);
    pump(p);
}

/* ---- PREPARE */

static void on_pruned_manifest(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_put *p = priv;
    redisReply *r = reply;
    if (!take_reply(p, ac, r))
        return;
    while (p->prune_next < p->n_index && !p->prune[p->prune_next])
        p->prune_next++;
    size_t i = p->prune_next++;
    if (i < p->n_index && r->type == REDIS_REPLY_STRING &&
        weir_manifest_parse(r->str, r->len, &p->pruned[i], NULL, 0) == 0 &&
        weir_store_manifest_matches(&p->pruned[i], p->s->head.job, WEIR_STORE_CHECKPOINT,
                                    p->index[i], "redis", NULL, 0) == 0)
        p->pruned_ok[i] = true;
    if (--p->prune_wait == 0)
        start_chunks(p);
}

static void on_index(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_put *p = priv;
    redisReply *r = reply;
    if (!take_reply(p, ac, r))
        return;
    if (r->type != REDIS_REPLY_ARRAY) {
        put_fail(p, false, "ZRANGE of the index: unexpected reply type %d", r->type);
        return;
    }
    size_t n = r->elements;
    p->index = calloc(n + 1, sizeof *p->index);
    p->prune = calloc(n + 1, sizeof *p->prune);
    p->pruned = calloc(n + 1, sizeof *p->pruned);
    p->pruned_ok = calloc(n + 1, sizeof *p->pruned_ok);
    if (!p->index || !p->prune || !p->pruned || !p->pruned_ok) {
        put_fail(p, false, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *e = r->element[i];
        /* Entries that are not ids are somebody else's: left alone. */
        if (e->type == REDIS_REPLY_STRING && e->len <= WEIR_STORE_NAME_MAX &&
            weir_store_checkpoint_id_value(e->str, NULL))
            strcpy(p->index[p->n_index++], e->str);
    }
    p->prune_wait = weir_store_pick_prune(p->index, p->n_index, p->id, p->s->head.keep, p->prune);
    if (p->prune_wait == 0) {
        start_chunks(p);
        return;
    }
    char key[WEIR_REDIS_KEY_CAP];
    for (size_t i = 0; i < p->n_index; i++) {
        if (!p->prune[i])
            continue;
        weir_redis_key_manifest(p->s, WEIR_STORE_CHECKPOINT, p->index[i], key, sizeof key);
        if (!send_cmd(p, on_pruned_manifest, "GET %s", key))
            return;
    }
}

static void on_old_manifest(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_put *p = priv;
    redisReply *r = reply;
    if (!take_reply(p, ac, r))
        return;
    if (r->type == REDIS_REPLY_STRING &&
        weir_manifest_parse(r->str, r->len, &p->old, NULL, 0) == 0 &&
        weir_store_manifest_matches(&p->old, p->s->head.job, p->kind, p->id, "redis", NULL,
                                    0) == 0)
        p->have_old = true;
    /* Checkpoints wait for the index reply, sent right after this one. */
    if (p->kind == WEIR_STORE_SAVEPOINT)
        start_chunks(p);
}

/* ---- the connection */

static void on_connect(const redisAsyncContext *cac, int status)
{
    redis_store *s = cac->data;
    if (status == REDIS_OK) {
        if (s->ac == cac)
            redisEnableKeepAlive(&s->ac->c);
        return;
    }
    /* hiredis frees the context right after this returns. */
    if (s->ac == cac)
        s->ac = NULL;
    if (s->queue && s->queue->state != PUT_WAITING)
        put_fail(s->queue, false, "cannot connect to Redis %s:%d: %s", s->host, s->port,
                 cac->c.errstr[0] ? cac->c.errstr : "connection failed");
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    (void)status;
    redis_store *s = cac->data;
    if (s->ac == cac)
        s->ac = NULL; /* freed by hiredis after this returns */
}

/* Closes the connection, if any. Pending callbacks run with NULL: now,
 * or (inside a hiredis callback) as soon as it returns. */
static void drop_conn(redis_store *s)
{
    redisAsyncContext *ac = s->ac;
    s->ac = NULL;
    if (ac)
        redisAsyncFree(ac);
}

static int connect_redis(redis_store *s, char *err, size_t errlen)
{
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);
    if (!ac) {
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    if (ac->err) {
        weir_store_errf(err, errlen, "cannot connect to Redis %s:%d: %s", s->host, s->port,
                        ac->errstr);
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = s;
    if (redisLibeventAttach(ac, s->head.base) != REDIS_OK) {
        weir_store_errf(err, errlen, "cannot attach Redis to the loop");
        redisAsyncFree(ac);
        return -1;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    s->ac = ac;
    return 0;
}

static void reset_attempt(redis_put *p)
{
    weir_manifest_clear(&p->old);
    p->have_old = false;
    for (size_t i = 0; p->pruned && i < p->n_index; i++)
        weir_manifest_clear(&p->pruned[i]);
    free(p->index);
    free(p->prune);
    free(p->pruned);
    free(p->pruned_ok);
    p->index = NULL;
    p->prune = NULL;
    p->pruned = NULL;
    p->pruned_ok = NULL;
    p->n_index = p->prune_wait = p->prune_next = 0;
    p->replies = 0;
    p->failed = p->retry = false;
}

static void put_begin(redis_put *p)
{
    redis_store *s = p->s;
    p->state = PUT_PREPARE;
    clock_gettime(CLOCK_MONOTONIC, &p->started);
    arm_timer(s);
    p->fresh_conn = !s->ac;
    if (!s->ac) {
        char why[ERR_CAP];
        if (connect_redis(s, why, sizeof why) < 0) {
            put_fail(p, false, "%s", why);
            return;
        }
    }
    char key[WEIR_REDIS_KEY_CAP];
    weir_redis_key_manifest(s, p->kind, p->id, key, sizeof key);
    if (!send_cmd(p, on_old_manifest, "GET %s", key))
        return;
    if (p->kind == WEIR_STORE_CHECKPOINT) {
        weir_redis_key_index(s, WEIR_STORE_CHECKPOINT, key, sizeof key);
        send_cmd(p, on_index, "ZRANGE %s 0 -1", key);
    }
}

static void put_free(redis_put *p)
{
    reset_attempt(p);
    weir_manifest_clear(&p->m);
    free(p);
}

/* Takes the finished head off the queue, starts the next put, and calls
 * the callback last, so nothing of the store is touched after it. An
 * override_error fails a put that was not finished. */
static void finish_head(redis_store *s, const char *override_error)
{
    redis_put *p = s->queue;
    s->queue = p->next;
    if (!s->queue)
        s->queue_tail = NULL;
    weir_store_done_cb cb = p->cb;
    void *user = p->user;
    int ok = p->state == PUT_DONE && !p->failed && !p->retry ? 0 : -1;
    char error[ERR_CAP];
    if (p->failed)
        snprintf(error, sizeof error, "%s", p->error);
    else
        snprintf(error, sizeof error, "%s %s: %s", weir_store_kind_word(p->kind), p->id,
                 override_error ? override_error : "not finished");
    put_free(p);
    if (s->queue && !s->head.closing)
        put_begin(s->queue);
    cb(user, ok, ok == 0 ? NULL : error);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    redis_store *s = arg;
    redis_put *p = s->queue;
    if (!p || p->pending || !(p->failed || p->retry || p->state == PUT_DONE))
        return;
    if (p->retry) {
        p->attempts++;
        reset_attempt(p);
        put_begin(p);
        return;
    }
    finish_head(s, NULL);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    redis_store *s = arg;
    if (s->queue && s->queue->state != PUT_WAITING)
        put_fail(s->queue, false, "no reply from Redis %s:%d in %d ms (stopped or unreachable)",
                 s->host, s->port, s->head.timeout_ms);
}

static int redis_put_start(weir_store *st, weir_store_kind kind, const char *id,
                           const weir_store_part *parts, size_t n, weir_store_done_cb cb,
                           void *user, char *err, size_t errlen)
{
    redis_store *s = (redis_store *)st;
    redis_put *p = calloc(1, sizeof *p);
    if (!p) {
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    p->s = s;
    p->kind = kind;
    strcpy(p->id, id);
    p->parts = parts;
    p->n = n;
    p->cb = cb;
    p->user = user;
    p->m.kind = kind;
    p->m.created_ms = weir_store_now_ms();
    p->m.chunk_size = s->head.chunk_size;
    strcpy(p->m.job, s->head.job);
    strcpy(p->m.id, id);
    strcpy(p->m.store, "redis");
    snprintf(p->m.token, sizeof p->m.token, "%016" PRIx64, weir_store_random64(p));
    if (weir_store_manifest_from_parts(&p->m, parts, n) < 0) {
        put_free(p);
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    if (s->queue_tail)
        s->queue_tail->next = p;
    else
        s->queue = p;
    s->queue_tail = p;
    if (s->queue == p)
        put_begin(p);
    return 0;
}

/* ---- open and free */

static void redis_free(weir_store *st)
{
    redis_store *s = (redis_store *)st;
    redis_put *run = s->queue;
    if (run && run->state != PUT_WAITING && run->state != PUT_DONE && !run->failed) {
        run->failed = true;
        run->retry = false;
        snprintf(run->error, sizeof run->error, "%s %s: store closed before the write finished",
                 weir_store_kind_word(run->kind), run->id);
    }
    /* Dropping the connection flushes the running put's callbacks (with
     * NULL replies), so every put is now finished, failed or waiting. */
    drop_conn(s);
    while (s->queue)
        finish_head(s, s->queue->state == PUT_WAITING ? "store closed before it was written"
                                                      : "store closed before the write finished");
    if (s->timer_ev)
        event_free(s->timer_ev);
    if (s->done_ev)
        event_free(s->done_ev);
    weir_redis_sync_close(s);
    free(s->host);
    free(s);
}

static const weir_store_ops redis_ops = {
    .name = "redis",
    .put = redis_put_start,
    .latest = weir_redis_latest,
    .get = weir_redis_get,
    .list = weir_redis_list,
    .del = weir_redis_del,
    .free = redis_free,
};

weir_store *weir_store_open_redis(const char *host, int port, const weir_store_options *opt,
                                  char *err, size_t errlen)
{
    redis_store *s = calloc(1, sizeof *s);
    if (!s) {
        weir_store_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (weir_store_init_head(&s->head, &redis_ops, opt, err, errlen) < 0)
        goto fail;
    if (!s->head.base) {
        weir_store_errf(err, errlen, "the Redis store needs an event base");
        goto fail;
    }
    if (!host || !*host || port < 1 || port > 65535) {
        weir_store_errf(err, errlen, "bad Redis address %s:%d", host ? host : "(null)", port);
        goto fail;
    }
    if (s->head.chunk_size > ((size_t)512 << 20)) {
        weir_store_errf(err, errlen, "chunk size %zu is over Redis's 512 MB value limit",
                        s->head.chunk_size);
        goto fail;
    }
    if (!(s->host = strdup(host))) {
        weir_store_errf(err, errlen, "out of memory");
        goto fail;
    }
    s->port = port;
    snprintf(s->prefix, sizeof s->prefix, "weir:{%s}:", s->head.job);
    s->timer_ev = evtimer_new(s->head.base, on_timeout, s);
    s->done_ev = event_new(s->head.base, -1, 0, on_done, s);
    if (!s->timer_ev || !s->done_ev) {
        weir_store_errf(err, errlen, "out of memory");
        goto fail;
    }
    return &s->head;
fail:
    redis_free(&s->head);
    return NULL;
}
