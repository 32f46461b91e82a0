/* checkpointer.c — barrier checkpoints into a store, savepoints, and the
 * restore at start (see checkpointer.h). */
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "server/shard_pool.h"
#include "state/checkpointer.h"
#include "state/snapshot_fork.h"

#define META_FORMAT 1
/* Whether a forked child writes the states unless told otherwise. Not
 * under AddressSanitizer: the libasan of gcc 12 is not fork-safe in a
 * threaded process (no atfork handlers for its allocator and thread
 * registry), and a fork racing librdkafka's threads can hang the server
 * itself in fork(); CI saw it twice under load. Such builds write the
 * states at the barrier (tests/unit's snapshot_fork cases still fork). */
#if defined(__SANITIZE_ADDRESS__)
#define WEIR_FORK_BY_DEFAULT false
#else
#define WEIR_FORK_BY_DEFAULT true
#endif

/* Backoff after a failed checkpoint: 1 s, doubling, at most the interval. */
#define RETRY_FIRST_MS 1000

/* One cut being written: owns what the store reads until it reports. */
typedef struct cut {
    weir_checkpointer *owner;
    weir_store_kind kind;
    char id[WEIR_STORE_NAME_MAX + 1];
    unsigned n_shards;
    void **blobs;
    size_t *lens;
    bool blobs_mapped;         /* by the forked writer: unmapped, not freed */
    char *meta;
    void *offsets;
    size_t offsets_len;
    void *rules;
    size_t rules_len;
    void *extra;
    size_t extra_len;
    char (*names)[WEIR_STORE_NAME_MAX + 1];
    weir_store_part *parts;
    size_t n_parts;
    uint64_t bytes;
    int64_t started_us;
    int64_t written_us;       /* when the states were written (all parts
                                 in hand, before the store) */
    weir_checkpoint_done_cb done;
    void *done_user;
    struct cut *next;          /* cuts the store has not reported yet */
    weir_snapshot_fork *fork;  /* owned: the child writing the states */
    struct cut *next_fork;     /* cuts whose states are being written */
} cut;

struct weir_checkpointer {
    struct event_base *base;
    weir_store *store;
    struct weir_shard_pool *pool;
    const weir_ruleset *rs;
    uint64_t interval_ms;
    uint64_t next_id;
    weir_checkpoint_hooks hooks;
    const weir_log *log;
    struct event *timer;
    uint64_t retry_ms;         /* 0: not retrying */
    bool checkpoint_in_flight;
    bool fork;                 /* states written by a forked child */
    cut *pending;              /* owned: reported or abandoned at free */
    cut *forking;              /* owned: waiting for their states */
    weir_checkpoint_stats st;
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cut_free(cut *k)
{
    if (!k)
        return;
    if (k->blobs)
        for (unsigned i = 0; i < k->n_shards; i++) {
            if (k->blobs_mapped)
                weir_snapshot_fork_release(k->blobs[i], k->lens[i]);
            else
                free(k->blobs[i]);
        }
    free(k->blobs);
    free(k->lens);
    free(k->meta);
    free(k->offsets);
    free(k->rules);
    free(k->extra);
    free(k->names);
    free(k->parts);
    free(k);
}

/* The meta part: what a reader checks before it restores anything. */
static char *make_meta(const weir_checkpointer *c, const cut *k)
{
    size_t cap = 256, len = 0;
    for (size_t i = 0; i < weir_ruleset_rule_count(c->rs); i++)
        cap += strlen(weir_ruleset_rule_name(c->rs, i)) + 32;
    char *m = malloc(cap);
    if (!m)
        return NULL;
    len += (size_t)snprintf(m + len, cap - len,
                            "format %d\nkind %s\nid %s\ncreated_ms %" PRId64 "\nshards %u\n",
                            META_FORMAT, k->kind == WEIR_STORE_CHECKPOINT ? "checkpoint"
                                                                          : "savepoint",
                            k->id, wall_ms(), k->n_shards);
    for (size_t i = 0; i < weir_ruleset_rule_count(c->rs); i++)
        len += (size_t)snprintf(m + len, cap - len, "rule %s %016" PRIx64 "\n",
                                weir_ruleset_rule_name(c->rs, i),
                                weir_ruleset_rule_fingerprint(c->rs, i));
    return m;
}

static cut *cut_new(weir_checkpointer *c, weir_store_kind kind, const char *id)
{
    cut *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->owner = c;
    k->kind = kind;
    snprintf(k->id, sizeof k->id, "%s", id);
    k->n_shards = weir_shard_pool_count(c->pool);
    k->blobs = calloc(k->n_shards, sizeof *k->blobs);
    k->lens = calloc(k->n_shards, sizeof *k->lens);
    k->names = calloc(k->n_shards + 4, sizeof *k->names);
    k->parts = calloc(k->n_shards + 4, sizeof *k->parts);
    if (!k->blobs || !k->lens || !k->names || !k->parts) {
        cut_free(k);
        return NULL;
    }
    k->started_us = mono_us();
    return k;
}

/* At the cut, the shards stopped: the sources' positions, the sinks'
 * flush and extra part, and what describes the state (the rules now: a
 * swap may come before the states are written). */
static int at_cut(weir_checkpointer *c, cut *k, char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    if (c->hooks.offsets && c->hooks.offsets(c->hooks.user, &k->offsets, &k->offsets_len) != 0)
        return -1;
    c->st.last_barrier_seconds = (double)(mono_us() - k->started_us) / 1e6;
    if (c->hooks.flush && c->hooks.flush(c->hooks.user, err, errlen) != 0)
        return -1;
    if (c->hooks.rules && c->hooks.rules(c->hooks.user, &k->rules, &k->rules_len) != 0)
        return -1;
    if (c->hooks.extra && c->hooks.extra(c->hooks.user, &k->extra, &k->extra_len) != 0)
        return -1;
    if (!(k->meta = make_meta(c, k)))
        return -1;
    return 0;
}

/* The parts, once the shards' states are in k->blobs. */
static void assemble(weir_checkpointer *c, cut *k)
{
    k->written_us = mono_us();
    k->parts[k->n_parts++] = (weir_store_part){"meta", k->meta, strlen(k->meta)};
    for (unsigned i = 0; i < k->n_shards; i++) {
        snprintf(k->names[i], sizeof k->names[i], "shard-%u", i);
        k->parts[k->n_parts++] = (weir_store_part){k->names[i], k->blobs[i], k->lens[i]};
        k->bytes += k->lens[i];
    }
    if (k->offsets_len)
        k->parts[k->n_parts++] = (weir_store_part){"offsets", k->offsets, k->offsets_len};
    if (c->hooks.rules) /* even empty: "no rules were put" */
        k->parts[k->n_parts++] = (weir_store_part){"rules", k->rules, k->rules_len};
    if (k->extra_len)
        k->parts[k->n_parts++] = (weir_store_part){c->hooks.extra_part, k->extra, k->extra_len};
}

/* The barrier, written in this process: every shard's state and the
 * sources' positions, now. */
static cut *take_cut(weir_checkpointer *c, weir_store_kind kind, const char *id, char *err,
                     size_t errlen)
{
    cut *k = cut_new(c, kind, id);
    snprintf(err, errlen, "out of memory");
    if (!k)
        return NULL;
    if (weir_shard_pool_snapshot(c->pool, k->blobs, k->lens) != 0 ||
        at_cut(c, k, err, errlen) != 0) {
        cut_free(k);
        return NULL;
    }
    assemble(c, k);
    return k;
}

static void unlink_pending(weir_checkpointer *c, cut *k)
{
    for (cut **p = &c->pending; *p; p = &(*p)->next)
        if (*p == k) {
            *p = k->next;
            return;
        }
}

static void arm(weir_checkpointer *c, uint64_t ms)
{
    if (!c->timer || ms == 0)
        return;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

static void put_done(void *user, int ok, const char *error)
{
    cut *k = user;
    weir_checkpointer *c = k->owner;
    if (!c) { /* reported as the store closes, after the checkpointer went */
        cut_free(k);
        return;
    }
    unlink_pending(c, k);
    double secs = (double)(mono_us() - k->started_us) / 1e6;
    if (k->kind == WEIR_STORE_CHECKPOINT) {
        c->checkpoint_in_flight = false;
        if (ok == 0) {
            c->st.completed++;
            c->st.last_id = strtoull(k->id, NULL, 10);
            c->st.last_completed_ms = wall_ms();
            c->st.last_duration_seconds = secs;
            c->st.last_bytes = k->bytes;
            c->st.last_error[0] = '\0';
            if (c->st.consecutive_failures)
                weir_log_write(c->log, WEIR_LOG_INFO, "checkpoint_recovered",
                               "checkpoints resumed after %u failures",
                               c->st.consecutive_failures);
            c->st.consecutive_failures = 0;
            c->retry_ms = 0;
            weir_log_write(c->log, WEIR_LOG_INFO, "checkpoint",
                           "checkpoint %s taken: %" PRIu64 " bytes, barrier %.1f ms, %.1f ms "
                           "in all (states written in %.1f ms, then the store)",
                           k->id, k->bytes, c->st.last_barrier_seconds * 1e3, secs * 1e3,
                           (double)(k->written_us - k->started_us) / 1e3);
            if (c->hooks.durable)
                c->hooks.durable(c->hooks.user, c->st.last_id, k->offsets, k->offsets_len);
            arm(c, c->interval_ms);
        } else {
            c->st.failed++;
            c->st.consecutive_failures++;
            snprintf(c->st.last_error, sizeof c->st.last_error, "%s", error ? error : "?");
            c->retry_ms = c->retry_ms ? c->retry_ms * 2 : RETRY_FIRST_MS;
            if (c->interval_ms && c->retry_ms > c->interval_ms)
                c->retry_ms = c->interval_ms;
            weir_log_write(c->log, WEIR_LOG_WARN, "checkpoint_failed",
                           "checkpoint %s failed: %s; retrying in %.1f s", k->id,
                           c->st.last_error, (double)c->retry_ms / 1e3);
            if (c->interval_ms)
                arm(c, c->retry_ms);
        }
    } else if (ok == 0) {
        c->st.savepoints++;
        weir_log_write(c->log, WEIR_LOG_INFO, "savepoint",
                       "savepoint %s taken: %" PRIu64 " bytes", k->id, k->bytes);
    } else {
        c->st.savepoints_failed++;
        weir_log_write(c->log, WEIR_LOG_WARN, "savepoint_failed", "savepoint %s failed: %s",
                       k->id, error ? error : "?");
    }
    if (k->done)
        k->done(k->done_user, ok, error);
    cut_free(k);
}

/* Hands a cut to the store; it is freed when the store reports. */
static int start_put(weir_checkpointer *c, cut *k, char *err, size_t errlen)
{
    k->next = c->pending;
    c->pending = k;
    if (k->kind == WEIR_STORE_CHECKPOINT)
        c->checkpoint_in_flight = true;
    if (weir_store_put(c->store, k->kind, k->id, k->parts, k->n_parts, put_done, k, err,
                       errlen) != 0) {
        unlink_pending(c, k);
        if (k->kind == WEIR_STORE_CHECKPOINT)
            c->checkpoint_in_flight = false;
        return -1;
    }
    return 0;
}

static void unlink_forking(weir_checkpointer *c, cut *k)
{
    for (cut **p = &c->forking; *p; p = &(*p)->next_fork)
        if (*p == k) {
            *p = k->next_fork;
            return;
        }
}

static int fork_at_cut(void *user, char *err, size_t errlen)
{
    cut *k = user;
    return at_cut(k->owner, k, err, errlen);
}

/* The child wrote the shards' states (or failed): on to the store. */
static void fork_done(void *user, void **blobs, const size_t *lens, unsigned n,
                      const char *error)
{
    cut *k = user;
    weir_checkpointer *c = k->owner;
    k->fork = NULL; /* it frees itself after this call */
    unlink_forking(c, k);
    char err[256];
    if (!error && n != k->n_shards) {
        for (unsigned i = 0; i < n; i++)
            weir_snapshot_fork_release(blobs[i], lens[i]);
        error = "the state writer wrote another shard count";
    }
    if (!error) {
        k->blobs_mapped = true;
        for (unsigned i = 0; i < n; i++) {
            k->blobs[i] = blobs[i];
            k->lens[i] = lens[i];
        }
        assemble(c, k);
        if (start_put(c, k, err, sizeof err) == 0)
            return;
        error = err;
    }
    put_done(k, -1, error); /* counts the failure, reports, frees */
}

/* Takes a cut and hands it to the store: written here at the barrier, or
 * by a forked child after it (the default), the result coming later. */
static int begin_cut(weir_checkpointer *c, weir_store_kind kind, const char *id,
                     weir_checkpoint_done_cb done, void *user, char *err, size_t errlen)
{
    cut *k;
    if (!c->fork) {
        if (!(k = take_cut(c, kind, id, err, errlen)))
            return -1;
        k->done = done;
        k->done_user = user;
        if (start_put(c, k, err, errlen) != 0) {
            cut_free(k);
            return -1;
        }
        return 0;
    }
    if (!(k = cut_new(c, kind, id))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    k->done = done;
    k->done_user = user;
    k->fork = weir_snapshot_fork_start(c->base, c->pool, fork_at_cut, fork_done, k, err, errlen);
    if (!k->fork) {
        cut_free(k);
        return -1;
    }
    /* the shards stopped for the cut and the fork */
    c->st.last_barrier_seconds = (double)(mono_us() - k->started_us) / 1e6;
    k->next_fork = c->forking;
    c->forking = k;
    if (kind == WEIR_STORE_CHECKPOINT)
        c->checkpoint_in_flight = true;
    return 0;
}

int weir_checkpointer_checkpoint_now(weir_checkpointer *c, weir_checkpoint_done_cb done,
                                     void *user)
{
    if (c->checkpoint_in_flight)
        return -1;
    char id[32];
    snprintf(id, sizeof id, "%" PRIu64, c->next_id);
    char err[256];
    if (begin_cut(c, WEIR_STORE_CHECKPOINT, id, done, user, err, sizeof err) != 0) {
        c->st.failed++;
        c->st.consecutive_failures++;
        snprintf(c->st.last_error, sizeof c->st.last_error, "%s", err);
        weir_log_write(c->log, WEIR_LOG_ERROR, "checkpoint_failed", "checkpoint %s: %s", id,
                       err);
        return -1;
    }
    c->next_id++;
    return 0;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_checkpointer *c = arg;
    if (c->checkpoint_in_flight)
        return; /* put_done re-arms */
    if (weir_checkpointer_checkpoint_now(c, NULL, NULL) != 0)
        arm(c, c->retry_ms ? c->retry_ms : c->interval_ms);
}

int weir_checkpointer_savepoint(weir_checkpointer *c, const char *id, char *id_out,
                                size_t id_cap, weir_checkpoint_done_cb done, void *user,
                                char *err, size_t errlen)
{
    char made[WEIR_STORE_NAME_MAX + 1];
    if (!id) {
        weir_store_savepoint_id(wall_ms(), made, sizeof made);
        id = made;
    } else if (!weir_store_id_valid(WEIR_STORE_SAVEPOINT, id, err, errlen)) {
        return -1;
    }
    snprintf(id_out, id_cap, "%s", id);
    return begin_cut(c, WEIR_STORE_SAVEPOINT, id, done, user, err, errlen);
}

weir_checkpointer *weir_checkpointer_new(struct event_base *base, weir_store *store,
                                         struct weir_shard_pool *pool,
                                         const weir_ruleset *rs, uint64_t interval_ms,
                                         uint64_t first_id, const weir_checkpoint_hooks *hooks,
                                         const weir_log *log)
{
    weir_checkpointer *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->store = store;
    c->pool = pool;
    c->rs = rs;
    c->interval_ms = interval_ms;
    c->next_id = first_id ? first_id : 1;
    if (hooks)
        c->hooks = *hooks;
    c->log = log;
    c->fork = WEIR_FORK_BY_DEFAULT;
    c->timer = evtimer_new(base, timer_cb, c);
    if (!c->timer) {
        free(c);
        return NULL;
    }
    arm(c, interval_ms);
    return c;
}

void weir_checkpointer_free(weir_checkpointer *c)
{
    if (!c)
        return;
    if (c->timer)
        event_free(c->timer);
    c->timer = NULL;
    while (c->forking) { /* their children are killed; nothing to report */
        cut *k = c->forking;
        c->forking = k->next_fork;
        weir_snapshot_fork_cancel(k->fork);
        cut_free(k);
    }
    /* the store reports what it still holds when it is freed, which the
     * caller does after this: the cuts must outlive that, so they are
     * only detached from their owner here */
    for (cut *k = c->pending; k; k = k->next)
        k->owner = NULL;
    free(c);
}

void weir_checkpointer_set_rules(weir_checkpointer *c, const weir_ruleset *rs)
{
    c->rs = rs;
}

void weir_checkpointer_set_fork(weir_checkpointer *c, bool fork) { c->fork = fork; }

void weir_checkpointer_get_stats(const weir_checkpointer *c, weir_checkpoint_stats *out)
{
    *out = c->st;
    out->in_flight = c->checkpoint_in_flight;
}

/* ---- restore ----------------------------------------------------------- */

/* The value of `key` in the meta text, or NULL. */
static const char *meta_value(const char *meta, const char *key, char *buf, size_t cap)
{
    size_t klen = strlen(key);
    for (const char *p = meta; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            size_t n = len - klen - 1 < cap - 1 ? len - klen - 1 : cap - 1;
            memcpy(buf, p + klen + 1, n);
            buf[n] = '\0';
            return buf;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

/* Restores the pool from one read checkpoint or savepoint. */
static int restore_from(const weir_store_read *r, struct weir_shard_pool *pool,
                        const weir_ruleset *rs, const char *extra_part, weir_restored *out,
                        char *err, size_t errlen)
{
    const weir_store_read_part *meta = weir_store_read_part_named(r, "meta");
    char v[64];
    if (!meta || !meta_value(meta->data, "format", v, sizeof v)) {
        snprintf(err, errlen, "no meta part: not a weir checkpoint");
        return -1;
    }
    if (atoi(v) != META_FORMAT) {
        snprintf(err, errlen, "checkpoint meta format %s is not one this weir reads", v);
        return -1;
    }
    unsigned shards = meta_value(meta->data, "shards", v, sizeof v) ? (unsigned)atoi(v) : 0;
    if (shards == 0 || shards > 4096) {
        snprintf(err, errlen, "meta: bad shard count");
        return -1;
    }
    const void **blobs = calloc(shards, sizeof *blobs);
    size_t *lens = calloc(shards, sizeof *lens);
    int rc = -1;
    if (!blobs || !lens) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (unsigned i = 0; i < shards; i++) {
        char name[32];
        snprintf(name, sizeof name, "shard-%u", i);
        const weir_store_read_part *p = weir_store_read_part_named(r, name);
        if (!p) {
            snprintf(err, errlen, "part %s is missing", name);
            goto done;
        }
        blobs[i] = p->data;
        lens[i] = p->len;
    }
    if (weir_shard_pool_restore(pool, rs, blobs, lens, shards, &out->report, err, errlen) != 0)
        goto done;
    const weir_store_read_part *off = weir_store_read_part_named(r, "offsets");
    if (off && off->len) {
        out->offsets = malloc(off->len);
        if (!out->offsets) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        memcpy(out->offsets, off->data, off->len);
        out->offsets_len = off->len;
    }
    const weir_store_read_part *extra =
        extra_part ? weir_store_read_part_named(r, extra_part) : NULL;
    if (extra && extra->len) {
        if (!(out->extra = malloc(extra->len))) {
            free(out->offsets);
            out->offsets = NULL;
            out->offsets_len = 0;
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        memcpy(out->extra, extra->data, extra->len);
        out->extra_len = extra->len;
    }
    snprintf(out->id, sizeof out->id, "%s", r->id);
    out->kind = r->kind;
    rc = 0;
done:
    free(blobs);
    free(lens);
    return rc;
}

int weir_checkpoint_restore(weir_store *store, struct weir_shard_pool *pool,
                            const weir_ruleset *rs, const char *savepoint,
                            const char *extra_part, weir_restored *out,
                            const weir_log *log, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->next_checkpoint_id = 1;
    weir_store_entry *list = NULL;
    size_t n = 0;
    if (weir_store_list(store, WEIR_STORE_CHECKPOINT, &list, &n, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = strtoull(list[i].id, NULL, 10);
        if (id >= out->next_checkpoint_id)
            out->next_checkpoint_id = id + 1;
    }
    int rc = 1;
    weir_store_read r;
    if (savepoint) {
        int got = weir_store_get(store, WEIR_STORE_SAVEPOINT, savepoint, &r, err, errlen);
        if (got == 1)
            snprintf(err, errlen, "no savepoint '%s'", savepoint);
        rc = got == 0 ? restore_from(&r, pool, rs, extra_part, out, err, errlen) : -1;
        weir_store_read_free(&r);
        free(list);
        return rc;
    }
    /* newest first; a damaged one is skipped for the one before it */
    for (size_t i = n; i-- > 0;) {
        char why[256];
        int got = weir_store_get(store, WEIR_STORE_CHECKPOINT, list[i].id, &r, why, sizeof why);
        if (got == 0 && restore_from(&r, pool, rs, extra_part, out, why, sizeof why) == 0) {
            weir_store_read_free(&r);
            rc = 0;
            break;
        }
        weir_store_read_free(&r);
        weir_log_write(log, WEIR_LOG_WARN, "checkpoint_refused",
                       "checkpoint %s cannot be restored: %s", list[i].id, why);
        if (i == 0) {
            snprintf(err, errlen, "no checkpoint can be restored (the last one: %s)", why);
            rc = -1;
        }
    }
    free(list);
    return rc;
}
