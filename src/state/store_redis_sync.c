/* store_redis_sync.c — the Redis store's blocking half: latest, get, list
 * and delete over a plain hiredis connection with the store's timeout on
 * connect and on every read and write. weir reads its checkpoint before
 * its loops run, and the HTTP API lists and deletes savepoints rarely, so
 * blocking for at most the timeout is simpler than a second state machine.
 *
 * A get trusts only the manifest: every chunk it lists must exist and have
 * exactly its share of the part's bytes, and each part's xxh64 must match,
 * or the checkpoint is refused with the part, chunk and key at fault.
 * Chunks are fetched a few at a time in one pipeline. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "state/store_redis-internal.h"
#include "state/xxh64.h"

/* GETs in one pipeline while reading a part. */
#define READ_AHEAD 4

void weir_redis_sync_close(redis_store *s)
{
    if (s->sync)
        redisFree(s->sync);
    s->sync = NULL;
}

static redisContext *conn(redis_store *s, char *err, size_t errlen)
{
    if (s->sync && !s->sync->err)
        return s->sync;
    weir_redis_sync_close(s);
    struct timeval tv = {s->head.timeout_ms / 1000, (s->head.timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!c || c->err) {
        weir_store_errf(err, errlen, "cannot connect to Redis %s:%d: %s", s->host, s->port,
                        c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        weir_store_errf(err, errlen, "Redis %s:%d: cannot set the timeout", s->host, s->port);
        redisFree(c);
        return NULL;
    }
    redisEnableKeepAlive(c);
    s->sync = c;
    return c;
}

/* After a failed reply: drops the connection on I/O errors (a timed-out
 * connection may still deliver the old reply later). */
static void io_error(redis_store *s, const char *what, char *err, size_t errlen)
{
    weir_store_errf(err, errlen, "%s: Redis %s:%d: %s", what, s->host, s->port,
                    s->sync && s->sync->err ? s->sync->errstr : "no reply");
    weir_redis_sync_close(s);
}

static redisReply *command(redis_store *s, const char *what, char *err, size_t errlen,
                           const char *fmt, ...)
{
    redisContext *c = conn(s, err, errlen);
    if (!c)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) {
        io_error(s, what, err, errlen);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        weir_store_errf(err, errlen, "%s: Redis error: %.*s", what, (int)r->len, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

int weir_redis_latest(weir_store *st, char *id, size_t cap, char *err, size_t errlen)
{
    redis_store *s = (redis_store *)st;
    char key[WEIR_REDIS_KEY_CAP];
    weir_redis_key_latest(s, key, sizeof key);
    redisReply *r = command(s, "read latest", err, errlen, "GET %s", key);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_NIL) {
        rc = 1;
    } else if (r->type != REDIS_REPLY_STRING || r->len > WEIR_STORE_NAME_MAX ||
               !weir_store_checkpoint_id_value(r->str, NULL)) {
        weir_store_errf(err, errlen, "%s is damaged: it does not hold a checkpoint id", key);
        rc = -1;
    } else {
        snprintf(id, cap, "%s", r->str);
    }
    freeReplyObject(r);
    return rc;
}

/* GET the manifest and check it. 0, 1 no such id, -1. */
static int read_manifest(redis_store *s, weir_store_kind kind, const char *id, weir_manifest *m,
                         char *err, size_t errlen)
{
    const char *what = weir_store_kind_word(kind);
    char key[WEIR_REDIS_KEY_CAP];
    weir_redis_key_manifest(s, kind, id, key, sizeof key);
    memset(m, 0, sizeof *m);
    redisReply *r = command(s, "read a manifest", err, errlen, "GET %s", key);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_NIL) {
        weir_store_errf(err, errlen, "no %s %s (no key %s)", what, id, key);
        rc = 1;
    } else if (r->type != REDIS_REPLY_STRING) {
        weir_store_errf(err, errlen, "%s %s: %s is not a string (a foreign key)", what, id, key);
        rc = -1;
    } else {
        char why[256];
        if (weir_manifest_parse(r->str, r->len, m, why, sizeof why) < 0) {
            weir_store_errf(err, errlen, "%s %s: %s: %s", what, id, key, why);
            rc = -1;
        } else {
            rc = weir_store_manifest_matches(m, s->head.job, kind, id, "redis", err, errlen);
        }
    }
    freeReplyObject(r);
    return rc;
}

/* Reads every chunk of part i into rp->data and checks it. */
static int read_part(redis_store *s, const weir_manifest *m, const weir_manifest_part *mp,
                     weir_store_read_part *rp, char *err, size_t errlen)
{
    const char *what = weir_store_kind_word(m->kind);
    if (!(rp->data = malloc((size_t)mp->len + 1))) {
        weir_store_errf(err, errlen, "%s %s: part '%s': out of memory for %" PRIu64 " bytes",
                        what, m->id, mp->name, mp->len);
        return -1;
    }
    redisContext *c = conn(s, err, errlen);
    if (!c)
        return -1;
    char key[WEIR_REDIS_KEY_CAP];
    uint64_t sent = 0, got = 0;
    while (got < mp->chunks) {
        while (sent < mp->chunks && sent - got < READ_AHEAD) {
            weir_redis_key_chunk(s, m->kind, m->id, mp->name, m->token, sent, key, sizeof key);
            if (redisAppendCommand(c, "GET %s", key) != REDIS_OK) {
                io_error(s, "read a chunk", err, errlen);
                return -1;
            }
            sent++;
        }
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
            io_error(s, "read a chunk", err, errlen);
            return -1;
        }
        redisReply *r = reply;
        uint64_t off = got * m->chunk_size;
        uint64_t want = mp->len - off < m->chunk_size ? mp->len - off : m->chunk_size;
        int rc = 0;
        weir_redis_key_chunk(s, m->kind, m->id, mp->name, m->token, got, key, sizeof key);
        if (r->type == REDIS_REPLY_NIL) {
            weir_store_errf(err, errlen, "%s %s: part '%s' chunk %" PRIu64 " of %" PRIu64
                            " is missing (key %s)", what, m->id, mp->name, got, mp->chunks, key);
            rc = -1;
        } else if (r->type != REDIS_REPLY_STRING) {
            weir_store_errf(err, errlen, "%s %s: part '%s' chunk %" PRIu64 ": %s is not a "
                            "string", what, m->id, mp->name, got, key);
            rc = -1;
        } else if ((uint64_t)r->len != want) {
            weir_store_errf(err, errlen, "%s %s: part '%s' chunk %" PRIu64 " has %zu bytes, "
                            "expected %" PRIu64 " (key %s)", what, m->id, mp->name, got,
                            (size_t)r->len, want, key);
            rc = -1;
        } else {
            memcpy((char *)rp->data + off, r->str, r->len);
        }
        freeReplyObject(r);
        got++;
        if (rc < 0) {
            /* The rest of the pipeline would answer a later command. */
            if (sent > got)
                weir_redis_sync_close(s);
            return -1;
        }
    }
    ((char *)rp->data)[mp->len] = '\0';
    uint64_t h = weir_xxh64(rp->data, (size_t)mp->len, 0);
    if (h != mp->hash) {
        weir_store_errf(err, errlen, "%s %s: part '%s' is damaged: checksum %016" PRIx64
                        ", the manifest says %016" PRIx64, what, m->id, mp->name, h, mp->hash);
        return -1;
    }
    return 0;
}

int weir_redis_get(weir_store *st, weir_store_kind kind, const char *id, weir_store_read *out,
                   char *err, size_t errlen)
{
    redis_store *s = (redis_store *)st;
    weir_manifest m = {0};
    int rc = read_manifest(s, kind, id, &m, err, errlen);
    if (rc == 0)
        rc = weir_store_read_init(out, &m, err, errlen);
    for (size_t i = 0; rc == 0 && i < m.n_parts; i++)
        rc = read_part(s, &m, &m.parts[i], &out->parts[i], err, errlen);
    weir_manifest_clear(&m);
    return rc;
}

/* The ids in a kind's index (malloc'd). */
static int index_ids(redis_store *s, weir_store_kind kind, char (**ids)[WEIR_STORE_NAME_MAX + 1],
                     size_t *n, char *err, size_t errlen)
{
    char key[WEIR_REDIS_KEY_CAP];
    weir_redis_key_index(s, kind, key, sizeof key);
    *ids = NULL;
    *n = 0;
    redisReply *r = command(s, "read the index", err, errlen, "ZRANGE %s 0 -1", key);
    if (!r)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY) {
        weir_store_errf(err, errlen, "%s is not a sorted set", key);
        freeReplyObject(r);
        return -1;
    }
    *ids = calloc(r->elements + 1, sizeof **ids);
    if (!*ids) {
        freeReplyObject(r);
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING && e->len <= WEIR_STORE_NAME_MAX &&
            weir_store_id_valid(kind, e->str, NULL, 0))
            strcpy((*ids)[(*n)++], e->str);
    }
    freeReplyObject(r);
    return 0;
}

int weir_redis_list(weir_store *st, weir_store_kind kind, weir_store_entry **out, size_t *n,
                    char *err, size_t errlen)
{
    redis_store *s = (redis_store *)st;
    char(*ids)[WEIR_STORE_NAME_MAX + 1];
    size_t count;
    if (index_ids(s, kind, &ids, &count, err, errlen) < 0)
        return -1;
    weir_store_entry *e = calloc(count ? count : 1, sizeof *e);
    redisContext *c = e ? conn(s, err, errlen) : NULL;
    if (!c) {
        if (!e)
            weir_store_errf(err, errlen, "out of memory");
        free(e);
        free(ids);
        return -1;
    }
    char key[WEIR_REDIS_KEY_CAP];
    for (size_t i = 0; i < count; i++) {
        weir_redis_key_manifest(s, kind, ids[i], key, sizeof key);
        if (redisAppendCommand(c, "GET %s", key) != REDIS_OK)
            goto io;
    }
    for (size_t i = 0; i < count; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || !reply)
            goto io;
        redisReply *r = reply;
        bool text = r->type == REDIS_REPLY_STRING;
        weir_store_entry_from_manifest(&e[i], ids[i], text ? r->str : NULL, text ? r->len : 0,
                                       s->head.job, kind, "redis");
        freeReplyObject(r);
    }
    free(ids);
    *out = e;
    *n = count;
    return 0;
io:
    io_error(s, "list", err, errlen);
    free(e);
    free(ids);
    return -1;
}

int weir_redis_del(weir_store *st, weir_store_kind kind, const char *id, char *err,
                   size_t errlen)
{
    redis_store *s = (redis_store *)st;
    const char *what = weir_store_kind_word(kind);
    char index[WEIR_REDIS_KEY_CAP], latest_key[WEIR_REDIS_KEY_CAP], mkey[WEIR_REDIS_KEY_CAP];
    weir_redis_key_index(s, kind, index, sizeof index);
    weir_redis_key_latest(s, latest_key, sizeof latest_key);
    weir_redis_key_manifest(s, kind, id, mkey, sizeof mkey);

    weir_manifest m = {0};
    char why[256];
    int found = read_manifest(s, kind, id, &m, why, sizeof why);
    if (found < 0 && !s->sync) {
        weir_store_errf(err, errlen, "%s", why); /* Redis unreachable */
        weir_manifest_clear(&m);
        return -1;
    }
    char **keys = NULL;
    size_t n_keys = 0;
    int rc = 0;
    /* A damaged manifest still goes, with the id in the index; its chunks
     * cannot be named, but they expire only if never committed, so a
     * damaged committed version leaks them: rare, and said in the docs. */
    if (found == 0 && weir_redis_manifest_keys(s, &m, false, &keys, &n_keys) < 0)
        rc = -1;
    weir_manifest_clear(&m);
    if (rc == 0 && weir_redis_push_key(&keys, &n_keys, mkey) < 0)
        rc = -1;
    if (rc < 0) {
        weir_redis_free_keys(keys, n_keys);
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }

    /* Where `latest` goes if it names this id. */
    char next[WEIR_STORE_NAME_MAX + 1] = "";
    bool move_latest = false;
    if (kind == WEIR_STORE_CHECKPOINT) {
        char cur[WEIR_STORE_NAME_MAX + 1];
        int lrc = weir_redis_latest(st, cur, sizeof cur, NULL, 0);
        if (lrc != 1 && (lrc < 0 || strcmp(cur, id) == 0)) {
            move_latest = true;
            char(*ids)[WEIR_STORE_NAME_MAX + 1];
            size_t n;
            if (index_ids(s, kind, &ids, &n, err, errlen) < 0) {
                weir_redis_free_keys(keys, n_keys);
                return -1;
            }
            for (size_t i = 0; i < n; i++)
                if (strcmp(ids[i], id) != 0 &&
                    (!next[0] || weir_store_id_cmp(kind, ids[i], next) > 0))
                    strcpy(next, ids[i]);
            free(ids);
        }
    }

    redisContext *c = conn(s, err, errlen);
    if (!c) {
        weir_redis_free_keys(keys, n_keys);
        return -1;
    }
    const char **argv = malloc((n_keys + 1) * sizeof *argv);
    if (!argv) {
        weir_redis_free_keys(keys, n_keys);
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    argv[0] = "DEL";
    for (size_t i = 0; i < n_keys; i++)
        argv[i + 1] = keys[i];
    int replies = 4 + move_latest;
    bool sent = redisAppendCommand(c, "MULTI") == REDIS_OK &&
                redisAppendCommandArgv(c, (int)n_keys + 1, argv, NULL) == REDIS_OK &&
                redisAppendCommand(c, "ZREM %s %s", index, id) == REDIS_OK &&
                (!move_latest || (next[0] ? redisAppendCommand(c, "SET %s %s", latest_key, next)
                                          : redisAppendCommand(c, "DEL %s", latest_key)) ==
                                     REDIS_OK) &&
                redisAppendCommand(c, "EXEC") == REDIS_OK;
    free(argv);
    weir_redis_free_keys(keys, n_keys);
    if (!sent) {
        io_error(s, "delete", err, errlen);
        return -1;
    }
    redisReply *exec = NULL;
    for (int i = 0; i < replies; i++) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
            if (exec)
                freeReplyObject(exec);
            io_error(s, "delete", err, errlen);
            return -1;
        }
        if (i == replies - 1)
            exec = reply;
        else
            freeReplyObject(reply);
    }
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != (size_t)replies - 2) {
        weir_store_errf(err, errlen, "delete %s %s: the transaction failed%s%.*s", what, id,
                        exec->type == REDIS_REPLY_ERROR ? ": " : "",
                        exec->type == REDIS_REPLY_ERROR ? (int)exec->len : 0,
                        exec->type == REDIS_REPLY_ERROR ? exec->str : "");
        freeReplyObject(exec);
        return -1;
    }
    /* Nothing deleted and not in the index: there was no such id. */
    bool gone = exec->element[0]->integer == 0 && exec->element[1]->integer == 0;
    freeReplyObject(exec);
    if (gone) {
        weir_store_errf(err, errlen, "no %s %s", what, id);
        return 1;
    }
    return 0;
}
