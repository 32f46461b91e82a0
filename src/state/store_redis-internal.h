/* store_redis-internal.h — the Redis store's object and key names, shared
 * by its asynchronous writer (store_redis.c) and its blocking reader
 * (store_redis_sync.c). */
#ifndef WEIR_STATE_STORE_REDIS_INTERNAL_H
#define WEIR_STATE_STORE_REDIS_INTERNAL_H

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "state/store-internal.h"

/* Chunks are written with this expiry and PERSISTed by the commit, so the
 * chunks of a put that dies disappear by themselves. */
#define WEIR_REDIS_CHUNK_TTL_MS (3600 * 1000)
/* A put commits only if it started less than TTL - margin ago. */
#define WEIR_REDIS_TTL_MARGIN_MS (60 * 1000)

/* Longest key: prefix, kind, id, part, token, chunk number. */
#define WEIR_REDIS_KEY_CAP 400

typedef struct redis_put redis_put;

typedef struct redis_store {
    weir_store head;
    char *host;                /* owned */
    int port;
    char prefix[WEIR_STORE_NAME_MAX + 16]; /* "weir:{<job>}:" */

    /* Writing (loop thread). */
    redisAsyncContext *ac;     /* owned by hiredis once attached; NULL when closed */
    redis_put *queue, *queue_tail; /* puts in order; the head is the one running */
    struct event *timer_ev;    /* owned: the running put's reply timeout */
    struct event *done_ev;     /* owned: finishes the head outside hiredis callbacks */

    /* Reading: a blocking connection, made on first use and dropped after
     * any I/O error. */
    redisContext *sync;        /* owned */
} redis_store;

void weir_redis_key_manifest(const redis_store *s, weir_store_kind kind, const char *id,
                             char *buf, size_t cap);
void weir_redis_key_chunk(const redis_store *s, weir_store_kind kind, const char *id,
                          const char *part, const char *token, uint64_t n, char *buf,
                          size_t cap);
void weir_redis_key_index(const redis_store *s, weir_store_kind kind, char *buf, size_t cap);
void weir_redis_key_latest(const redis_store *s, char *buf, size_t cap);

/* Every key of the version a manifest describes (its chunks, then the
 * manifest itself when with_manifest), appended to a malloc'd array of
 * malloc'd strings. -1 when out of memory. */
int weir_redis_manifest_keys(const redis_store *s, const weir_manifest *m, bool with_manifest,
                             char ***keys, size_t *n);
void weir_redis_free_keys(char **keys, size_t n);
/* Appends a copy of key; -1 when out of memory. */
int weir_redis_push_key(char ***keys, size_t *n, const char *key);

/* The blocking half (store_redis_sync.c). */
int weir_redis_latest(weir_store *s, char *id, size_t cap, char *err, size_t errlen);
int weir_redis_get(weir_store *s, weir_store_kind kind, const char *id, weir_store_read *out,
                   char *err, size_t errlen);
int weir_redis_list(weir_store *s, weir_store_kind kind, weir_store_entry **out, size_t *n,
                    char *err, size_t errlen);
int weir_redis_del(weir_store *s, weir_store_kind kind, const char *id, char *err,
                   size_t errlen);
void weir_redis_sync_close(redis_store *s);

#endif
