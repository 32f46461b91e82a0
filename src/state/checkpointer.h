/* checkpointer.h — periodic checkpoints and on-demand savepoints of a
 * running `weir serve`, and the restore at start.
 *
 * A checkpoint is a barrier through every shard (weir_shard_pool_snapshot:
 * each shard processes every line handed in so far, then writes its
 * state), taken on the main loop between two lines, so the shards' states
 * and the sources' positions read at the same moment form one consistent
 * cut. Its parts, written to a weir_store:
 *
 *   meta      text, one `key value` per line: format, job, id, created_ms,
 *             shards, then `rule NAME FINGERPRINT` per rule
 *   shard-N   shard N's state (weir_shard_snapshot)
 *   offsets   the sources' positions (opaque here; the server's hook
 *             writes and reads them), absent when no source has any
 *   rules     the rules put over HTTP (the server's hook), for a roll-back
 *   (extra)   one more part the server names and fills (the `extra` hook):
 *             the alerts a transactional Kafka sink has not committed yet
 *
 * Ingestion pauses only for the barrier: by default the shards stop, the
 * sources' positions are read and the process forks; a child writes the
 * shards' states from its copy-on-write image while they go on
 * (state/snapshot_fork.h). Without the fork the shards write their states
 * at the barrier. The store writes in the background (Redis on the loop, a directory on a
 * worker thread). Only when the store says the checkpoint is complete are
 * its offsets handed to the `durable` hook (which commits them to Kafka):
 * a restart then restores that checkpoint and resumes the sources from
 * those offsets, so nothing is lost and nothing is counted twice in the
 * state. A store that fails does not stop processing: the checkpoint is
 * counted as failed and retried with backoff (1 s doubling up to the
 * interval), and checkpoints resume when the store is back.
 *
 * Everything here runs on the main loop's thread. */
#ifndef WEIR_STATE_CHECKPOINTER_H
#define WEIR_STATE_CHECKPOINTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/store.h"
#include "weir/engine.h"

struct event_base;
struct weir_shard_pool;
struct weir_log;

typedef struct weir_checkpointer weir_checkpointer;

typedef struct weir_checkpoint_hooks {
    /* The sources' positions now, as bytes the caller can read back
     * (malloc'd; *len 0 and *data NULL when there are none). 0, or -1 when
     * out of memory. */
    int (*offsets)(void *user, void **data, size_t *len);
    /* After the barrier, before the state is handed to the store: every
     * alert the shards raised before the cut must be safe in its sink (a
     * restored state will not raise it again). 0, or -1 with a message:
     * the checkpoint fails. May be NULL. */
    int (*flush)(void *user, char *err, size_t errlen);
    /* The rule set's text to keep with the state (for a roll-back):
     * malloc'd bytes, or NULL and 0. 0, or -1 when out of memory. May be
     * NULL. */
    int (*rules)(void *user, void **data, size_t *len);
    /* One more part to keep with the cut, named extra_part, taken after
     * flush: malloc'd bytes, or NULL and 0 (no part). 0, or -1 when out of
     * memory. May be NULL. */
    const char *extra_part;
    int (*extra)(void *user, void **data, size_t *len);
    /* Checkpoint `id`, holding these offsets, is complete in the store (not
     * called for savepoints). */
    void (*durable)(void *user, uint64_t id, const void *offsets, size_t len);
    void *user;
} weir_checkpoint_hooks;

typedef struct weir_checkpoint_stats {
    uint64_t completed, failed;     /* checkpoints */
    uint64_t savepoints, savepoints_failed;
    uint64_t last_id;               /* last completed checkpoint, 0: none */
    int64_t last_completed_ms;      /* wall clock; 0: none */
    double last_barrier_seconds;    /* ingestion paused for the snapshot */
    double last_duration_seconds;   /* barrier to durable in the store */
    uint64_t last_bytes;
    unsigned consecutive_failures;
    bool in_flight;
    char last_error[256];           /* of the last failure; "" after a success */
} weir_checkpoint_stats;

/* interval_ms 0: no periodic checkpoints (savepoints and the final one
 * still work). first_id: the id the next checkpoint gets (one past the
 * latest in the store). The store, pool and log are borrowed. NULL when
 * out of memory. */
weir_checkpointer *weir_checkpointer_new(struct event_base *base, weir_store *store,
                                         struct weir_shard_pool *pool,
                                         const weir_ruleset *rs, uint64_t interval_ms,
                                         uint64_t first_id, const weir_checkpoint_hooks *hooks,
                                         const struct weir_log *log);
/* Frees; a checkpoint in flight is abandoned (the store reports it
 * failed). Accepts NULL. */
void weir_checkpointer_free(weir_checkpointer *c);
/* The rule set the next checkpoints describe (after a swap). */
void weir_checkpointer_set_rules(weir_checkpointer *c, const weir_ruleset *rs);
/* Whether a forked child writes the shards' states (the default: the
 * barrier then lasts a fork, not the writing; state/snapshot_fork.h) or
 * the shards write them at the barrier. */
void weir_checkpointer_set_fork(weir_checkpointer *c, bool fork);

/* A checkpoint now (the final one at shutdown): barrier, then the store
 * write. done(user, ok, error) runs once it is durable or failed (maybe
 * before this returns). -1 when one is already in flight or out of
 * memory (done is not called). */
typedef void (*weir_checkpoint_done_cb)(void *user, int ok, const char *error);
int weir_checkpointer_checkpoint_now(weir_checkpointer *c, weir_checkpoint_done_cb done,
                                     void *user);
/* A savepoint: the same cut, kept until deleted. id NULL: one is made
 * (weir_store_savepoint_id). The id used is written to id_out (cap >=
 * WEIR_STORE_NAME_MAX + 1). -1 with a message in err when the id is
 * invalid or memory runs out (done is not called). */
int weir_checkpointer_savepoint(weir_checkpointer *c, const char *id, char *id_out,
                                size_t id_cap, weir_checkpoint_done_cb done, void *user,
                                char *err, size_t errlen);

void weir_checkpointer_get_stats(const weir_checkpointer *c, weir_checkpoint_stats *out);

/* ---- restore --------------------------------------------------------- */

typedef struct weir_restored {
    char id[WEIR_STORE_NAME_MAX + 1];
    weir_store_kind kind;
    uint64_t next_checkpoint_id;   /* one past the newest checkpoint */
    weir_restore_report report;    /* keys and held events over shards */
    void *offsets;                 /* owned by the caller: the offsets part */
    size_t offsets_len;
    void *extra;                   /* owned by the caller: the extra part */
    size_t extra_len;
} weir_restored;

/* Restores the pool from a savepoint (savepoint != NULL: it must exist
 * and load) or else from the newest checkpoint that loads (a damaged one
 * is logged and the one before it tried). 0 restored, 1 nothing to
 * restore (a fresh start; next_checkpoint_id still set), -1 error with a
 * message in err. extra_part: the name of the hooks' extra part, read into
 * out->extra when present (NULL: none). */
int weir_checkpoint_restore(weir_store *store, struct weir_shard_pool *pool,
                            const weir_ruleset *rs, const char *savepoint,
                            const char *extra_part, weir_restored *out,
                            const struct weir_log *log, char *err, size_t errlen);

#endif
