/* store.h — where checkpoints and savepoints are kept: a local directory
 * (the default) or Redis. The store knows nothing of the engine: a
 * checkpoint is an id and a set of named parts, opaque byte blobs made by
 * the snapshot serializer ("meta", "shard-0", "offsets", ...).
 *
 * Guarantees, for both stores:
 *  - A checkpoint is visible only once complete: a reader sees the whole of
 *    it or none of it, whatever crash or outage happened while writing.
 *  - Every part is read back with its size and its 64-bit xxHash checked
 *    against the manifest; a missing, partial, corrupt or foreign checkpoint
 *    is refused with a message naming the part and the fault, never returned.
 *  - The `keep` newest checkpoints are kept; older ones are deleted in the
 *    same step that makes a newer one visible. Savepoints are never pruned.
 *  - A store that is down never blocks the caller's loop for longer than a
 *    timeout: a put reports failure through its callback and the next put
 *    reconnects. Retrying (with backoff) is the caller's business.
 *
 * Ids. A checkpoint id is a 64-bit number chosen by the caller and
 * increasing from one checkpoint to the next, written in decimal without
 * leading zeros ("42"). A savepoint id is [A-Za-z0-9._-]{1,64} not starting
 * with '.' (the store's own temporary names start with a dot), given by the
 * user or made by weir_store_savepoint_id. Part names follow the savepoint
 * rule too. Putting an id that exists replaces it atomically.
 *
 * Layout in a directory DIR (job names follow the savepoint-id rule):
 *
 *     DIR/<job>/latest                       "<id>\n" of the newest checkpoint
 *     DIR/<job>/checkpoints/<id>/MANIFEST    text, see manifest.h
 *     DIR/<job>/checkpoints/<id>/<part>.part one file per part
 *     DIR/<job>/savepoints/<id>/...          the same, for savepoints
 *     DIR/<job>/<kind>s/.tmp-*               a write or delete in progress
 *
 *   A put writes every part and the MANIFEST into a .tmp- directory, fsyncs
 *   the files and the directory, renames it to <id> (an exchange when <id>
 *   exists), fsyncs the parent, then replaces `latest` by writing
 *   .tmp-latest-* and renaming it. Leftover .tmp- entries of a crash are
 *   never read and are removed when the store is opened. Files are 0600 and
 *   directories 0700: checkpoints hold card numbers.
 *
 * Layout in Redis (<job> in braces is a Redis Cluster hash tag, so all keys
 * of one job share a slot and MULTI/EXEC over them stays legal there):
 *
 *     weir:{<job>}:latest                            string, newest checkpoint id
 *     weir:{<job>}:checkpoints                       ZSET of ids, score = id
 *     weir:{<job>}:checkpoint:<id>:manifest          string, see manifest.h
 *     weir:{<job>}:checkpoint:<id>:part:<part>:<token>:<n>
 *                                                    chunk n (from 0) of a part
 *     weir:{<job>}:savepoints                        ZSET of ids, score = ms
 *     weir:{<job>}:savepoint:<id>:...                the same, for savepoints
 *
 *   <token> is 16 hex digits, new for every put, so a put that replaces an
 *   id never touches the chunks of the version readers still see. A put
 *   writes the chunks first (SET ... PX, chunk_size bytes each, a few in
 *   flight) with a one-hour expiry, so the chunks of a put that dies are
 *   removed by Redis itself. Then one MULTI/EXEC PERSISTs the chunks, writes
 *   the manifest, adds the id to the index, moves `latest` (checkpoints),
 *   and deletes the chunks of the replaced version and every pruned
 *   checkpoint. A put that cannot reach EXEC within the expiry (minus a
 *   margin) fails rather than commit chunks that may be gone.
 *
 * Threads. A store is used from one thread: the one running its event
 * base, when it has one. The directory store with a base writes on a
 * worker thread of its own and reports on the base's thread.
 *
 * The Redis store writes through hiredis on a libevent loop, which writes
 * to sockets with write(2): the process must ignore SIGPIPE (weir serve
 * does). Reads, list, latest and delete use a blocking connection with the
 * same timeout: they are for start-up and for the HTTP API. */
#ifndef WEIR_STATE_STORE_H
#define WEIR_STATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

typedef struct weir_store weir_store;

typedef enum weir_store_kind { WEIR_STORE_CHECKPOINT, WEIR_STORE_SAVEPOINT } weir_store_kind;

/* Longest id, job or part name, without the NUL. */
#define WEIR_STORE_NAME_MAX 64
/* Most parts in one checkpoint. */
#define WEIR_STORE_MAX_PARTS 1024

typedef struct weir_store_options {
    const char *job;          /* required; names every key and path */
    unsigned keep;            /* checkpoints kept; 0: 3 */
    /* Redis: required, the loop that runs the writes. Directory: NULL
     * writes inside weir_store_put (which then calls cb before returning);
     * a base moves the writes to a worker thread and the callback to the
     * base's thread. */
    struct event_base *base;
    int timeout_ms;           /* Redis: longest wait for any reply; 0: 5000 */
    size_t chunk_size;        /* Redis: bytes per chunk key; 0: 4 MiB */
} weir_store_options;

/* Each returns NULL with a message in err when the options are invalid or
 * the directory cannot be created. Opening Redis does not connect: the
 * first put or read does. */
weir_store *weir_store_open_dir(const char *dir, const weir_store_options *opt, char *err,
                                size_t errlen);
weir_store *weir_store_open_redis(const char *host, int port, const weir_store_options *opt,
                                  char *err, size_t errlen);
/* "redis://host[:port]" (port 6379 by default; [v6] addresses in
 * brackets), "dir:PATH", "file://PATH" or a plain PATH. */
weir_store *weir_store_open(const char *url, const weir_store_options *opt, char *err,
                            size_t errlen);

/* Reports every put not yet reported, now (a write in progress fails with
 * "store closed"; a directory write already running on the worker is
 * finished first), then frees. May be called from a put's callback.
 * Accepts NULL. */
void weir_store_free(weir_store *s);

/* "dir" or "redis". */
const char *weir_store_backend(const weir_store *s);

typedef struct weir_store_part {
    const char *name;  /* see the naming rule above */
    const void *data;  /* len bytes; NULL allowed when len is 0 */
    size_t len;
} weir_store_part;

/* ok is 0 on success, -1 on failure; error is NULL on success, else a
 * message valid only during the call. */
typedef void (*weir_store_done_cb)(void *user, int ok, const char *error);

/* Starts writing a checkpoint or savepoint. Nothing is copied: the parts
 * array, the names and the data must stay valid and unchanged until cb
 * runs. Returns 0 when accepted: cb then runs exactly once (later, on the
 * loop, except for a directory store without a base, which calls it
 * before returning). Returns -1 with a message in err, and never calls
 * cb, when an argument is invalid (bad id or part name, duplicate names,
 * no parts) or the store is closing. Puts are written one after another
 * in the order given; the queue has no bound, so a caller that takes
 * checkpoints faster than the store writes them should wait for each
 * callback (a checkpoint coordinator does anyway). */
int weir_store_put(weir_store *s, weir_store_kind kind, const char *id,
                   const weir_store_part *parts, size_t n, weir_store_done_cb cb, void *user,
                   char *err, size_t errlen);

/* The newest checkpoint's id into id[cap] (cap > WEIR_STORE_NAME_MAX is
 * always enough). 0 found, 1 none yet, -1 error (message in err). */
int weir_store_latest(weir_store *s, char *id, size_t cap, char *err, size_t errlen);

typedef struct weir_store_read_part {
    char name[WEIR_STORE_NAME_MAX + 1];
    void *data;        /* owned by the read; len bytes plus a NUL after them */
    size_t len;
} weir_store_read_part;

typedef struct weir_store_read {
    weir_store_kind kind;
    char id[WEIR_STORE_NAME_MAX + 1];
    int64_t created_ms;           /* Unix time of the put, in ms */
    size_t n_parts;
    weir_store_read_part *parts;  /* owned; in the order they were put */
} weir_store_read;

/* Reads and checks one checkpoint or savepoint into *out (which the
 * caller frees with weir_store_read_free, also after a failure).
 * 0 read, 1 no such id, -1 refused or failed (message in err). */
int weir_store_get(weir_store *s, weir_store_kind kind, const char *id, weir_store_read *out,
                   char *err, size_t errlen);
void weir_store_read_free(weir_store_read *r);
/* The part called name, or NULL. */
const weir_store_read_part *weir_store_read_part_named(const weir_store_read *r,
                                                       const char *name);

typedef struct weir_store_entry {
    char id[WEIR_STORE_NAME_MAX + 1];
    int64_t created_ms;    /* -1 when damaged */
    uint64_t total_bytes;  /* sum of the part sizes; 0 when damaged */
    size_t n_parts;
    bool damaged;          /* listed, but its manifest cannot be read */
} weir_store_entry;

/* Every checkpoint (ascending id) or savepoint (ascending creation time)
 * into a malloc'd array *out of *n entries, which the caller frees with
 * free(). Only the manifests are read, not the parts. 0, or -1 with a
 * message (then *out is NULL). */
int weir_store_list(weir_store *s, weir_store_kind kind, weir_store_entry **out, size_t *n,
                    char *err, size_t errlen);

/* Deletes one checkpoint or savepoint, atomically for readers. Deleting
 * the latest checkpoint moves `latest` to the newest one left (or removes
 * it). 0 deleted, 1 no such id, -1 error (message in err). */
int weir_store_delete(weir_store *s, weir_store_kind kind, const char *id, char *err,
                      size_t errlen);

/* Checks an id of the kind; false with a message in err. */
bool weir_store_id_valid(weir_store_kind kind, const char *id, char *err, size_t errlen);

/* Writes a new savepoint id "sp-YYYYMMDDTHHMMSSZ-xxxxxxxx" (UTC time of
 * now_ms and 32 random bits) into buf; cap must be at least 29. */
void weir_store_savepoint_id(int64_t now_ms, char *buf, size_t cap);

#endif
