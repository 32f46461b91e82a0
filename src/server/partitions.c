/* partitions.c — state per Kafka partition; see partitions.h. */
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/kafka_source.h"
#include "server/partitions.h"
#include "server/shard_pool.h"
#include "state/store.h"
#include "util/grow_bytes.h"

/* How often a unit whose state the store could not give is tried again. */
#define RESTORE_RETRY_MS 1000
/* The offset part of a sequence number (weir_kafka_seq: offset + 1). */
#define SEQ_OFFSET_MASK (((uint64_t)1 << 40) - 1)

/* Where one topic's partition of a unit stands: the offset after the last
 * message the unit took (or the restored checkpoint's), -1: unknown. */
typedef struct unit_pos {
    char *topic; /* owned */
    int64_t next;
} unit_pos;

typedef enum unit_state {
    UNIT_UNRESTORED, /* assigned, but its state could not be read from the
                        store yet: its messages wait, a restore is retried
                        every RESTORE_RETRY_MS */
    UNIT_OWNED,     /* some of its partitions are assigned here */
    UNIT_RELEASING, /* none is: its final checkpoint, then freed */
    UNIT_STOPPING,  /* shutdown: its final checkpoint */
    UNIT_STOPPED,   /* shutdown: done */
} unit_state;

typedef struct unit {
    weir_partitions *owner;
    int32_t partition;
    char job[WEIR_STORE_NAME_MAX + 1];
    char scope[48];              /* "partition N", before its log lines */
    weir_log log;                /* the server's, with scope */
    struct weir_shard_pool *pool; /* owned */
    weir_store *store;           /* owned */
    weir_checkpointer *ckpt;     /* owned */
    unit_pos *pos;               /* owned */
    size_t n_pos;
    unsigned open_splits;
    unit_state state;
    bool final_running;          /* a final checkpoint was started */
    bool final_done;
    bool refused;                /* a message waits for its restore */
    bool late;                   /* restored after its assignment: its
                                    first message is checked against the
                                    restored positions */
    unsigned restore_failures;
    struct event *ev;            /* owned: starts the final checkpoint (one
                                    may be in flight), frees a released unit */
} unit;

/* An open split: which unit and which of its positions. */
typedef struct split_ref {
    uint32_t split;
    unit *u;
    size_t pos;
} split_ref;

struct weir_partitions {
    weir_partitions_options opt;
    weir_checkpoint_hooks checkpoint; /* the server's rules and flush */
    const weir_ruleset *rs;
    struct weir_kafka_source *kafka;  /* borrowed */
    unit **units;                     /* owned */
    size_t n_units, cap_units;
    split_ref *splits;                /* owned */
    size_t n_splits, cap_splits;
    size_t last;                      /* the split found last */
    bool stopping;
    uint64_t restored, released;
    /* counters of units already freed, so the totals do not go back */
    uint64_t gone_completed, gone_failed;
};

static void unit_free(unit *u)
{
    if (!u)
        return;
    weir_checkpointer_free(u->ckpt);
    weir_store_free(u->store);
    weir_shard_pool_free(u->pool);
    for (size_t i = 0; i < u->n_pos; i++)
        free(u->pos[i].topic);
    free(u->pos);
    if (u->ev)
        event_free(u->ev);
    free(u);
}

/* The unit's position for topic, made when missing; SIZE_MAX when out of
 * memory. */
static size_t unit_pos_of(unit *u, const char *topic, size_t len)
{
    for (size_t i = 0; i < u->n_pos; i++)
        if (strlen(u->pos[i].topic) == len && memcmp(u->pos[i].topic, topic, len) == 0)
            return i;
    unit_pos *v = realloc(u->pos, (u->n_pos + 1) * sizeof *v);
    if (!v)
        return SIZE_MAX;
    u->pos = v;
    char *t = strndup(topic, len);
    if (!t)
        return SIZE_MAX;
    u->pos[u->n_pos] = (unit_pos){t, -1};
    return u->n_pos++;
}

/* A checkpoint's offsets part ("topic<TAB>partition<TAB>offset" lines):
 * the unit's partitions resume there. */
static void unit_load_positions(unit *u, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        const char *t1 = memchr(p, '\t', (size_t)(eol - p));
        const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(eol - t1 - 1)) : NULL;
        if (t2 && strtol(t1 + 1, NULL, 10) == u->partition) {
            size_t i = unit_pos_of(u, p, (size_t)(t1 - p));
            if (i != SIZE_MAX)
                u->pos[i].next = strtoll(t2 + 1, NULL, 10);
        }
        p = eol + 1;
    }
}

/* ---- checkpoint hooks ---------------------------------------------- */

static int unit_offsets(void *user, void **data, size_t *len)
{
    unit *u = user;
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (size_t i = 0; i < u->n_pos; i++) {
        if (u->pos[i].next < 0)
            continue;
        size_t need = strlen(u->pos[i].topic) + 48;
        if (!weir_grow_bytes(&buf, &cap, used + need)) {
            free(buf);
            return -1;
        }
        used += (size_t)snprintf(buf + used, cap - used, "%s\t%" PRId32 "\t%" PRId64 "\n",
                                 u->pos[i].topic, u->partition, u->pos[i].next);
    }
    *data = buf;
    *len = used;
    return 0;
}

static int unit_rules(void *user, void **data, size_t *len)
{
    unit *u = user;
    const weir_checkpoint_hooks *h = &u->owner->checkpoint;
    if (!h->rules) {
        *data = NULL;
        *len = 0;
        return 0;
    }
    return h->rules(h->user, data, len);
}

static int unit_flush(void *user, char *err, size_t errlen)
{
    unit *u = user;
    const weir_checkpoint_hooks *h = &u->owner->checkpoint;
    return h->flush ? h->flush(h->user, err, errlen) : 0;
}

static void unit_durable(void *user, uint64_t id, const void *offsets, size_t len)
{
    (void)id;
    unit *u = user;
    /* a partition revoked meanwhile: its new owner commits from now on */
    if (u->owner->kafka && len && u->state != UNIT_RELEASING)
        weir_kafka_source_commit(u->owner->kafka, offsets, len);
}

/* ---- units ---------------------------------------------------------- */

static void unit_ev_cb(evutil_socket_t fd, short what, void *arg);

static unit *find_unit(weir_partitions *p, int32_t partition, size_t *at)
{
    for (size_t i = 0; i < p->n_units; i++)
        if (p->units[i]->partition == partition) {
            if (at)
                *at = i;
            return p->units[i];
        }
    return NULL;
}

static int unit_restore(unit *u);

/* Makes the unit of partition N and restores its newest checkpoint. When
 * the store cannot give it, the unit waits (UNIT_UNRESTORED): taking the
 * partition without its state would lose what the state holds. NULL
 * (logged) when out of memory. */
static unit *unit_new(weir_partitions *p, int32_t partition)
{
    const weir_partitions_options *o = &p->opt;
    if (p->n_units == p->cap_units) {
        size_t cap = p->cap_units ? p->cap_units * 2 : 8;
        unit **v = realloc(p->units, cap * sizeof *v);
        if (!v)
            return NULL;
        p->units = v;
        p->cap_units = cap;
    }
    unit *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->owner = p;
    u->partition = partition;
    u->log = *o->log;
    snprintf(u->scope, sizeof u->scope, "partition %" PRId32, partition);
    u->log.scope = u->scope;
    char err[512];
    int n = snprintf(u->job, sizeof u->job, "%s.p%" PRId32, o->job, partition);
    if (n < 0 || (size_t)n >= sizeof u->job) {
        weir_log_write(&u->log, WEIR_LOG_ERROR, "partition_failed",
                       "job name %s.p%" PRId32 " is too long for the store", o->job, partition);
        free(u);
        return NULL;
    }
    u->pool = weir_shard_pool_new(o->base, 1, p->rs, o->eopt, o->queue_bytes, o->hooks, err,
                                  sizeof err);
    weir_store_options so = {.job = u->job,
                             .keep = o->keep,
                             .base = o->base,
                             .timeout_ms = o->store_timeout_ms};
    if (u->pool)
        u->store = weir_store_open(o->store, &so, err, sizeof err);
    u->ev = event_new(o->base, -1, 0, unit_ev_cb, u);
    if (!u->pool || !u->store || !u->ev) {
        weir_log_write(&u->log, WEIR_LOG_ERROR, "partition_failed", "cannot take it: %s",
                       u->pool && !u->store ? err : "out of memory");
        unit_free(u);
        return NULL;
    }
    p->units[p->n_units++] = u;
    if (unit_restore(u) != 0) {
        u->state = UNIT_UNRESTORED;
        struct timeval tv = {RESTORE_RETRY_MS / 1000, (RESTORE_RETRY_MS % 1000) * 1000};
        event_add(u->ev, &tv);
    }
    return u;
}

/* Restores the unit's newest checkpoint into its pool and starts its
 * checkpoints: 0, or -1 (logged) when the store cannot give it now. */
static int unit_restore(unit *u)
{
    weir_partitions *p = u->owner;
    const weir_partitions_options *o = &p->opt;
    char err[512];
    weir_restored r;
    int rc = weir_checkpoint_restore(u->store, u->pool, p->rs, NULL, NULL, &r, &u->log, err,
                                     sizeof err);
    if (rc < 0) {
        if (u->restore_failures++ % 30 == 0)
            weir_log_write(&u->log, WEIR_LOG_ERROR, "partition_failed",
                           "cannot restore job %s: %s; its messages wait, tried again every "
                           "%d ms",
                           u->job, err, RESTORE_RETRY_MS);
        free(r.offsets);
        free(r.extra);
        return -1;
    }
    if (rc == 0)
        unit_load_positions(u, r.offsets, r.offsets_len);
    free(r.offsets);
    free(r.extra);
    weir_checkpoint_hooks h = {.offsets = unit_offsets,
                               .flush = unit_flush,
                               .rules = unit_rules,
                               .durable = unit_durable,
                               .user = u};
    u->ckpt = weir_checkpointer_new(o->base, u->store, u->pool, p->rs, o->interval_ms,
                                    r.next_checkpoint_id, &h, &u->log);
    if (!u->ckpt) {
        weir_log_write(&u->log, WEIR_LOG_ERROR, "partition_failed", "out of memory");
        return -1;
    }
    /* one partition's keys: written at the barrier, no fork per unit */
    weir_checkpointer_set_fork(u->ckpt, false);
    char where[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < u->n_pos && used < sizeof where; i++) {
        int w = snprintf(where + used, sizeof where - used, "%s%s@%" PRId64, i ? ", " : "",
                         u->pos[i].topic, u->pos[i].next);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (rc == 0) {
        p->restored++;
        weir_log_write(&u->log, WEIR_LOG_INFO, "partition_assigned",
                       "restored checkpoint %s of job %s: %" PRIu64 " keys, %" PRIu64
                       " held events; resuming at %s",
                       r.id, u->job, r.report.keys, r.report.held_events,
                       used ? where : "the group's offsets");
    } else {
        weir_log_write(&u->log, WEIR_LOG_INFO, "partition_assigned",
                       "no checkpoint of job %s: starting empty at the group's offsets", u->job);
    }
    if (u->restore_failures)
        weir_log_write(&u->log, WEIR_LOG_INFO, "partition_recovered",
                       "restored after %u failed tries: its messages go on", u->restore_failures);
    u->late = u->state == UNIT_UNRESTORED;
    u->state = UNIT_OWNED;
    /* the splits assigned while it waited open now, in the restored engine */
    for (size_t i = 0; i < p->n_splits; i++)
        if (p->splits[i].u == u)
            weir_shard_pool_split_open(u->pool, p->splits[i].split, u->pos[p->splits[i].pos].topic);
    if (u->refused && o->hooks->on_room) {
        u->refused = false;
        o->hooks->on_room(o->hooks->user);
    }
    return 0;
}

/* Starts the unit's final checkpoint, or tries again shortly when one is
 * in flight. */
static void final_done(void *user, int ok, const char *error);

static void start_final(unit *u)
{
    weir_checkpoint_stats st;
    weir_checkpointer_get_stats(u->ckpt, &st);
    if (st.in_flight) {
        struct timeval tv = {0, 20 * 1000};
        event_add(u->ev, &tv);
        return;
    }
    u->final_running = true; /* the callback may run at once */
    if (weir_checkpointer_checkpoint_now(u->ckpt, final_done, u) != 0)
        final_done(u, -1, "it could not start");
}

static void final_done(void *user, int ok, const char *error)
{
    unit *u = user;
    u->final_running = false;
    if (u->state == UNIT_STOPPING) {
        u->state = UNIT_STOPPED;
        u->final_done = true;
        if (ok != 0)
            weir_log_write(&u->log, WEIR_LOG_ERROR, "checkpoint_failed",
                           "the final checkpoint failed (%s): the next owner resumes from the "
                           "one before", error ? error : "?");
        else
            weir_log_write(&u->log, WEIR_LOG_INFO, "partition_stopped",
                           "its state is in the store");
        return;
    }
    if (u->state != UNIT_RELEASING)
        return; /* assigned again meanwhile: it goes on */
    weir_log_write(&u->log, ok == 0 ? WEIR_LOG_INFO : WEIR_LOG_WARN, "partition_released",
                   "revoked: %s%s", ok == 0 ? "its state is in the store" :
                   "its final checkpoint failed, the next owner resumes from the one before: ",
                   ok == 0 ? "" : (error ? error : "?"));
    u->final_done = true;
    /* freed from the loop, not from inside the checkpointer's callback */
    event_active(u->ev, EV_TIMEOUT, 0);
}

static void unit_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    unit *u = arg;
    weir_partitions *p = u->owner;
    if (u->state == UNIT_UNRESTORED) {
        if (unit_restore(u) != 0) {
            struct timeval tv = {RESTORE_RETRY_MS / 1000, (RESTORE_RETRY_MS % 1000) * 1000};
            event_add(u->ev, &tv);
        }
        return;
    }
    if (u->state == UNIT_RELEASING && u->final_done) {
        size_t at;
        if (find_unit(p, u->partition, &at) == u) {
            weir_checkpoint_stats st;
            weir_checkpointer_get_stats(u->ckpt, &st);
            p->gone_completed += st.completed;
            p->gone_failed += st.failed;
            p->units[at] = p->units[--p->n_units];
            p->released++;
            unit_free(u);
        }
        return;
    }
    if ((u->state == UNIT_RELEASING || u->state == UNIT_STOPPING) && !u->final_running &&
        !u->final_done)
        start_final(u);
}

/* ---- the source's callbacks ---------------------------------------- */

int64_t weir_partitions_resume_at(weir_partitions *p, const char *topic, int32_t partition)
{
    unit *u = find_unit(p, partition, NULL);
    if (!u && !p->stopping)
        u = unit_new(p, partition);
    if (!u)
        return -1;
    for (size_t i = 0; i < u->n_pos; i++)
        if (strcmp(u->pos[i].topic, topic) == 0)
            return u->pos[i].next;
    return -1;
}

void weir_partitions_split_open(weir_partitions *p, uint32_t split, const char *topic,
                                int32_t partition)
{
    unit *u = find_unit(p, partition, NULL);
    if (!u && !p->stopping)
        u = unit_new(p, partition);
    if (!u)
        return;
    if (p->n_splits == p->cap_splits) {
        size_t cap = p->cap_splits ? p->cap_splits * 2 : 16;
        split_ref *v = realloc(p->splits, cap * sizeof *v);
        if (!v)
            return;
        p->splits = v;
        p->cap_splits = cap;
    }
    size_t pos = unit_pos_of(u, topic, strlen(topic));
    if (pos == SIZE_MAX)
        return;
    p->splits[p->n_splits++] = (split_ref){split, u, pos};
    u->open_splits++;
    if (u->state == UNIT_RELEASING) {
        /* back before its final checkpoint was stored: it goes on */
        u->state = UNIT_OWNED;
        u->final_done = false;
        weir_log_write(&u->log, WEIR_LOG_INFO, "partition_assigned",
                       "assigned again: it goes on with its state");
    }
    if (u->state != UNIT_UNRESTORED)
        weir_shard_pool_split_open(u->pool, split, topic);
}

static split_ref *find_split(weir_partitions *p, uint32_t split)
{
    if (p->last < p->n_splits && p->splits[p->last].split == split)
        return &p->splits[p->last];
    for (size_t i = 0; i < p->n_splits; i++)
        if (p->splits[i].split == split) {
            p->last = i;
            return &p->splits[i];
        }
    return NULL;
}

void weir_partitions_split_close(weir_partitions *p, uint32_t split)
{
    split_ref *r = find_split(p, split);
    if (!r)
        return;
    unit *u = r->u;
    if (u->state != UNIT_UNRESTORED)
        weir_shard_pool_split_close(u->pool, split);
    *r = p->splits[--p->n_splits];
    p->last = 0;
    if (--u->open_splits == 0 && u->state == UNIT_UNRESTORED) {
        /* revoked before its state could be read: nothing of it is here */
        size_t at;
        if (find_unit(p, u->partition, &at) == u) {
            p->units[at] = p->units[--p->n_units];
            weir_log_write(&u->log, WEIR_LOG_WARN, "partition_released",
                           "revoked before its state could be restored");
            unit_free(u);
        }
        return;
    }
    if (u->open_splits == 0 && u->state == UNIT_OWNED && !p->stopping) {
        u->state = UNIT_RELEASING;
        if (!u->final_running)
            start_final(u);
    }
}

int weir_partitions_submit(weir_partitions *p, uint32_t split, uint64_t seq, const char *line,
                           size_t len, uint32_t tag)
{
    split_ref *r = find_split(p, split);
    if (!r)
        return -1;
    unit *u = r->u;
    if (u->state == UNIT_UNRESTORED) {
        u->refused = true;
        return 0;
    }
    /* a message before the restored position is in the state already (the
     * partition was read from an older committed offset, when the restore
     * came after the assignment) */
    int64_t offset = (int64_t)(seq & SEQ_OFFSET_MASK) - 1;
    if (offset < u->pos[r->pos].next)
        return 1;
    if (u->late) {
        u->late = false;
        /* the group's committed offset is past the newest checkpoint the
         * store could give (a newer one damaged): say so */
        if (u->pos[r->pos].next >= 0 && offset > u->pos[r->pos].next)
            weir_log_write(&u->log, WEIR_LOG_WARN, "partition_gap",
                           "%s: read from offset %" PRId64 ", its state holds up to %" PRId64
                           ": the messages between (unless they are transaction markers) are "
                           "not in its state",
                           u->pos[r->pos].topic, offset, u->pos[r->pos].next);
    }
    if (!weir_shard_pool_submit_seq(u->pool, line, len, tag, split, seq))
        return 0;
    u->pos[r->pos].next = offset + 1;
    return 1;
}

size_t weir_partitions_max_line(const weir_partitions *p)
{
    /* every unit's pool is made alike */
    return p->n_units ? weir_shard_pool_max_line(p->units[0]->pool) : SIZE_MAX;
}

/* ---- the whole ------------------------------------------------------ */

weir_partitions *weir_partitions_new(const weir_partitions_options *opt, const weir_ruleset *rs)
{
    weir_partitions *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->opt = *opt;
    p->checkpoint = *opt->checkpoint;
    p->opt.checkpoint = &p->checkpoint;
    p->rs = rs;
    return p;
}

void weir_partitions_free(weir_partitions *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_units; i++)
        unit_free(p->units[i]);
    free(p->units);
    free(p->splits);
    free(p);
}

void weir_partitions_set_source(weir_partitions *p, struct weir_kafka_source *k)
{
    p->kafka = k;
}

int weir_partitions_swap_rules(weir_partitions *p, const weir_ruleset *rs,
                               weir_restore_report *rep)
{
    int rc = 0;
    for (size_t i = 0; i < p->n_units; i++) {
        weir_restore_report r;
        if (weir_shard_pool_swap_rules(p->units[i]->pool, rs, &r) < 0) {
            rc = -1;
            continue;
        }
        if (p->units[i]->ckpt)
            weir_checkpointer_set_rules(p->units[i]->ckpt, rs);
        if (rep) {
            rep->keys += r.keys;
            rep->held_events += r.held_events;
        }
    }
    p->rs = rs;
    return rc;
}

void weir_partitions_stop(weir_partitions *p, bool checkpoint)
{
    p->stopping = true;
    for (size_t i = 0; i < p->n_units; i++) {
        unit *u = p->units[i];
        if (u->state == UNIT_UNRESTORED) { /* nothing of it is here */
            u->state = UNIT_STOPPED;
            continue;
        }
        if (!checkpoint) {
            weir_shard_pool_finish(u->pool);
            u->state = UNIT_STOPPED;
            continue;
        }
        /* a releasing one finishes its final checkpoint as it was */
        if (u->state == UNIT_RELEASING && (u->final_running || u->final_done))
            continue;
        u->state = UNIT_STOPPING;
        u->final_done = false;
        if (!u->final_running)
            start_final(u);
    }
}

bool weir_partitions_stopped(const weir_partitions *p)
{
    for (size_t i = 0; i < p->n_units; i++) {
        const unit *u = p->units[i];
        if (u->state == UNIT_STOPPING || (u->state == UNIT_RELEASING && !u->final_done))
            return false;
    }
    return true;
}

size_t weir_partitions_count(const weir_partitions *p) { return p->n_units; }

size_t weir_partitions_unrestored(const weir_partitions *p)
{
    size_t n = 0;
    for (size_t i = 0; p && i < p->n_units; i++)
        n += p->units[i]->state == UNIT_UNRESTORED;
    return n;
}

struct weir_shard_pool *weir_partitions_pool(weir_partitions *p, size_t i)
{
    return i < p->n_units ? p->units[i]->pool : NULL;
}

void weir_partitions_checkpoint_stats(const weir_partitions *p, weir_checkpoint_stats *sum)
{
    memset(sum, 0, sizeof *sum);
    sum->completed = p->gone_completed;
    sum->failed = p->gone_failed;
    for (size_t i = 0; i < p->n_units; i++) {
        if (!p->units[i]->ckpt)
            continue;
        weir_checkpoint_stats st;
        weir_checkpointer_get_stats(p->units[i]->ckpt, &st);
        sum->completed += st.completed;
        sum->failed += st.failed;
        sum->consecutive_failures += st.consecutive_failures;
        sum->in_flight |= st.in_flight;
        if (st.last_completed_ms > sum->last_completed_ms)
            sum->last_completed_ms = st.last_completed_ms;
        if (st.last_barrier_seconds > sum->last_barrier_seconds)
            sum->last_barrier_seconds = st.last_barrier_seconds;
        if (st.last_duration_seconds > sum->last_duration_seconds)
            sum->last_duration_seconds = st.last_duration_seconds;
        sum->last_bytes += st.last_bytes;
        if (st.last_error[0])
            snprintf(sum->last_error, sizeof sum->last_error, "%.40s: %.200s",
                     p->units[i]->scope, st.last_error);
    }
}

void weir_partitions_moves(const weir_partitions *p, uint64_t *restored, uint64_t *released)
{
    *restored = p->restored;
    *released = p->released;
}

/* ---- counters, added to the main shards' ----------------------------- */

void weir_partitions_add_stats(weir_partitions *p, weir_engine_stats *out)
{
    for (size_t i = 0; p && i < p->n_units; i++) {
        weir_engine_stats st;
        weir_shard_pool_stats(p->units[i]->pool, &st);
        weir_shard_stats_add(out, &st);
    }
}

int weir_partitions_add_detail(weir_partitions *p, weir_rule_stats *rules, size_t n_rules,
                               weir_stream_stats *streams, size_t n_streams)
{
    if (!p || !p->n_units)
        return 0;
    weir_rule_stats *r = calloc(n_rules ? n_rules : 1, sizeof *r);
    weir_stream_stats *s = calloc(n_streams ? n_streams : 1, sizeof *s);
    if (!r || !s) {
        free(r);
        free(s);
        return -1;
    }
    for (size_t i = 0; i < p->n_units; i++) {
        weir_shard_pool_detail(p->units[i]->pool, r, n_rules, s, n_streams);
        weir_shard_detail_add(rules, r, n_rules, streams, streams ? s : NULL,
                              streams ? n_streams : 0);
    }
    free(r);
    free(s);
    return 0;
}

void weir_partitions_add_splits(weir_partitions *p, uint64_t *active, uint64_t *idle)
{
    for (size_t i = 0; p && i < p->n_units; i++) {
        uint64_t a, d;
        weir_shard_pool_splits(p->units[i]->pool, &a, &d);
        *active += a;
        *idle += d;
    }
}

int weir_partitions_add_state_bytes(weir_partitions *p, uint64_t *out, size_t n_rules)
{
    if (!p || !p->n_units)
        return 0;
    uint64_t *b = calloc(n_rules ? n_rules : 1, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < p->n_units; i++) {
        weir_shard_pool_state_bytes(p->units[i]->pool, b, n_rules);
        for (size_t k = 0; k < n_rules; k++)
            out[k] += b[k];
    }
    free(b);
    return 0;
}

void weir_partitions_add_queue(const weir_partitions *p, size_t *used, size_t *capacity)
{
    for (size_t i = 0; p && i < p->n_units; i++) {
        *used += weir_shard_pool_queue_used(p->units[i]->pool);
        *capacity += weir_shard_pool_queue_capacity(p->units[i]->pool);
    }
}
