/* shard_pool.c — one shard on the main loop, or N shard threads; see
 * shard_pool.h.
 *
 * Thread hand-offs, all single-producer single-consumer:
 *   main → shard:  the shard's event queue (weir_shard_enqueue), then an
 *                  eventfd write at most once per main-loop turn per shard
 *                  (`wake` batches them), which the shard's loop turns into
 *                  weir_shard_kick;
 *   shard → main:  `out`, an event queue of records (alert, dead letter,
 *                  late, room) and a write to the main eventfd;
 *   commands:      finish, swap, state, stop, park — a sequence number
 *                  and an argument under the worker's mutex, acknowledged
 *                  through `done`; a parked shard then waits on `unpark`
 *                  until the main thread lets it go;
 *   split progress: each shard publishes its splits with its counters
 *                  (under the worker's mutex, every STATS_PERIOD_US); the
 *                  main thread's progress timer sends them on to all.
 * The main thread waits for an acknowledgement only at a barrier (HTTP
 * ingest, SIGHUP, shutdown) and keeps emptying `out` while it waits, so a
 * shard blocked on a full `out` can always go on. */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "server/event_queue.h"
#include "server/shard_pool.h"
#include "util/grow_bytes.h"

enum { REC_ALERT, REC_DEAD, REC_LATE, REC_ROOM };
enum { CMD_NONE, CMD_FINISH, CMD_SWAP, CMD_STATE, CMD_STOP, CMD_SNAPSHOT, CMD_RESTORE, CMD_PARK };

/* Bytes of records a shard may have waiting for the main thread. */
#define OUT_QUEUE_BYTES ((size_t)8 << 20)
/* How often a shard publishes its counters. */
#define STATS_PERIOD_US 100000
/* How often the main thread sends each split's progress to every shard
 * (and queues split records that waited for room). */
#define PROGRESS_PERIOD_MS 100

typedef struct worker {
    struct weir_shard_pool *pool;
    unsigned index;
    pthread_t thread;
    bool started;
    struct event_base *base;   /* owned; the thread's loop */
    weir_shard *shard;         /* owned */
    int wake_fd;               /* owned eventfd: main → shard */
    struct event *wake_ev;     /* owned */
    struct event *stats_ev;    /* owned */
    weir_event_queue *out;     /* owned: shard → main */
    bool wake_due;             /* main: lines enqueued since the last wake */
    char *rec;                 /* shard: scratch for one record */
    size_t rec_cap;

    pthread_mutex_t mu;        /* guards everything below */
    unsigned cmd, cmd_seq, done_seq;
    const weir_ruleset *cmd_rs;
    int cmd_result;
    const void *cmd_data;      /* CMD_RESTORE: the shard's state (borrowed) */
    size_t cmd_data_len;
    void *cmd_blob;            /* CMD_SNAPSHOT: the state written (owned
                                  until the main thread takes it) */
    size_t cmd_blob_len;
    weir_restore_report cmd_rep;
    char cmd_err[256];
    bool parked;               /* CMD_PARK: waiting on `unpark` */
    pthread_cond_t unpark;
    weir_engine_stats stats;
    weir_rule_stats *rule_stats;     /* owned; n_rules of them */
    size_t n_rules;
    weir_stream_stats *stream_stats; /* owned; n_streams of them */
    size_t n_streams;
    weir_split_stats *splits;        /* owned; the engine's open splits */
    size_t n_splits, cap_splits;
    uint64_t *state_bytes;           /* owned; n_state of them (CMD_STATE) */
    size_t n_state;
} worker;

/* An open split, on the main thread: its stream for routing, and what was
 * last sent to the shards about it. */
typedef struct pool_split {
    uint32_t id;
    char *topic;          /* owned */
    size_t stream;        /* the topic's stream under p->rs; SIZE_MAX: none */
    int64_t sent_time;    /* largest time sent; INT64_MIN: none */
    uint64_t sent_events; /* events over all shards when it was sent */
} pool_split;

/* How lines find their shard under one rule set (see shard_pool.h). */
typedef struct route_plan {
    char *uniform;        /* owned: the field every stream is keyed by, when
                             they agree; else NULL */
    char **keys;          /* owned, per stream: its key field (NULL: no rule
                             reads the stream) */
    size_t n_streams;
} route_plan;

struct weir_shard_pool {
    struct event_base *main_base;
    weir_shard_hooks hooks;    /* the server's, called on the main thread */
    unsigned n;
    weir_shard *single;        /* n == 1: on the main loop */
    worker *workers;           /* n > 1 */
    route_plan plan;           /* n > 1 */
    char *selector;            /* owned: the JSON field naming a stream */
    char *default_stream;      /* owned: --stream, or NULL */
    const weir_ruleset *rs;    /* the rules running now */
    pool_split *splits;        /* owned: the open splits */
    size_t n_splits, cap_splits;
    int64_t *sent_stream;      /* owned, per stream of rs: the largest time
                                  sent to the shards (INT64_MIN: none) */
    struct event *progress_ev; /* owned: PROGRESS_PERIOD_MS */
    int main_fd;               /* owned eventfd: shards → main */
    struct event *main_ev;     /* owned */
    struct event *wake_ev;     /* owned: batches the eventfd writes */
    bool wake_scheduled;
    /* A command (barrier) is waiting for the shards. "Room again" from a
     * shard is then held back until the next loop turn: the hook resumes
     * sources, and a line they submitted now could reach a shard that
     * already wrote its state, past the cut whose offsets the caller reads
     * after the barrier: counted in the offsets, missing from the state. */
    bool in_command;
    bool room_held;
    struct event *room_ev;     /* owned: delivers a held "room again" */
};

/* ---- key routing --------------------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Past a JSON string starting at p (on its '"'); NULL if unterminated. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Past one JSON value; NULL when it does not end. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                p = skip_string(p, end);
                if (!p)
                    return NULL;
                p--;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\r' &&
           *p != '\n')
        p++;
    return p;
}

bool weir_shard_pool_find_key(const char *line, size_t len, const char *key, size_t key_len,
                              const char **value, size_t *value_len)
{
    const char *p = line, *end = line + len;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return false;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return false;
        const char *name = p + 1;
        const char *after = skip_string(p, end);
        if (!after)
            return false;
        size_t name_len = (size_t)(after - 1 - name);
        p = skip_ws(after, end);
        if (p >= end || *p != ':')
            return false;
        p = skip_ws(p + 1, end);
        const char *v_end = skip_value(p, end);
        if (!v_end || v_end == p)
            return false;
        if (name_len == key_len && memcmp(name, key, key_len) == 0) {
            if (*p == '"') {
                *value = p + 1;
                *value_len = (size_t)(v_end - 1 - (p + 1));
            } else {
                *value = p;
                *value_len = (size_t)(v_end - p);
            }
            return true;
        }
        p = skip_ws(v_end, end);
        if (p >= end || *p != ',')
            return false;
        p++;
    }
}

static void plan_free(route_plan *rp)
{
    free(rp->uniform);
    for (size_t i = 0; rp->keys && i < rp->n_streams; i++)
        free(rp->keys[i]);
    free(rp->keys);
    memset(rp, 0, sizeof *rp);
}

bool weir_shard_pool_shardable(const weir_ruleset *rs, const char **key, char *why,
                               size_t why_cap)
{
    const char *common = NULL;
    bool uniform = true;
    for (size_t i = 0; i < weir_ruleset_stream_count(rs); i++) {
        size_t conflict;
        const char *k = weir_ruleset_stream_key(rs, i, &conflict);
        if (!k && conflict != SIZE_MAX) {
            snprintf(why, why_cap,
                     "rule %s keys stream %s by another field than a rule before it: "
                     "keys are split over shards by the value of one field per stream",
                     weir_ruleset_rule_name(rs, conflict), weir_ruleset_stream_name(rs, i));
            return false;
        }
        if (k && common && strcmp(k, common) != 0)
            uniform = false;
        if (k && !common)
            common = k;
    }
    if (key)
        *key = uniform ? common : NULL;
    return true;
}

/* The routing plan for rs; -1 when out of memory or rs is not shardable. */
static int plan_routes(route_plan *rp, const weir_ruleset *rs)
{
    memset(rp, 0, sizeof *rp);
    const char *uniform;
    char why[256];
    if (!weir_shard_pool_shardable(rs, &uniform, why, sizeof why))
        return -1;
    rp->n_streams = weir_ruleset_stream_count(rs);
    rp->keys = calloc(rp->n_streams ? rp->n_streams : 1, sizeof *rp->keys);
    if (!rp->keys || (uniform && !(rp->uniform = strdup(uniform)))) {
        plan_free(rp);
        return -1;
    }
    for (size_t i = 0; i < rp->n_streams; i++) {
        const char *k = weir_ruleset_stream_key(rs, i, NULL);
        if (k && !(rp->keys[i] = strdup(k))) {
            plan_free(rp);
            return -1;
        }
    }
    return 0;
}

static pool_split *find_split(weir_shard_pool *p, uint32_t id)
{
    for (size_t i = 0; i < p->n_splits; i++)
        if (p->splits[i].id == id)
            return &p->splits[i];
    return NULL;
}

/* The stream the engine will decode the line as (SIZE_MAX: none, a dead
 * letter): as the engine does, the stream field first, then the split's
 * topic stream, then --stream. */
static size_t line_stream(weir_shard_pool *p, const char *line, size_t len, uint32_t split)
{
    size_t n = weir_ruleset_stream_count(p->rs);
    if (n == 1)
        return 0;
    const char *v;
    size_t vl;
    if (weir_shard_pool_find_key(line, len, p->selector, strlen(p->selector), &v, &vl)) {
        for (size_t i = 0; i < n; i++) {
            const char *name = weir_ruleset_stream_name(p->rs, i);
            if (strlen(name) == vl && memcmp(name, v, vl) == 0)
                return i;
        }
        return SIZE_MAX;
    }
    const pool_split *sp = split == WEIR_SHARD_NO_SPLIT ? NULL : find_split(p, split);
    if (sp && sp->stream != SIZE_MAX)
        return sp->stream;
    for (size_t i = 0; p->default_stream && i < n; i++)
        if (strcmp(weir_ruleset_stream_name(p->rs, i), p->default_stream) == 0)
            return i;
    return SIZE_MAX;
}

static unsigned route(weir_shard_pool *p, const char *line, size_t len, uint32_t split)
{
    const char *key = p->plan.uniform;
    if (!key) {
        size_t st = line_stream(p, line, len, split);
        if (st >= p->plan.n_streams || !(key = p->plan.keys[st]))
            return 0; /* read by no rule, or a dead letter */
    }
    const char *v;
    size_t vl;
    if (!weir_shard_pool_find_key(line, len, key, strlen(key), &v, &vl))
        return 0; /* a dead letter wherever it goes */
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < vl; i++) {
        h ^= (unsigned char)v[i];
        h *= 1099511628211ULL;
    }
    return (unsigned)(h % p->n);
}

/* ---- records, shard side ------------------------------------------- */

static void notify(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w; /* the counter saturating still wakes the reader */
}

static void put_record(worker *w, uint32_t type, size_t len)
{
    if (len > weir_event_queue_max_line(w->out))
        return; /* cannot happen with sane alerts; nothing to do but drop */
    while (!weir_event_queue_push(w->out, w->rec, len, type)) {
        /* the main thread is behind: wake it and wait for room */
        notify(w->pool->main_fd);
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    notify(w->pool->main_fd);
}

static bool rec_reserve(worker *w, size_t n)
{
    return weir_grow_bytes(&w->rec, &w->rec_cap, n);
}

static size_t rec_str(char *at, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(at, s, n);
    return n;
}

/* An alert: [int64 time][u32 n_sinks] rule\0 severity\0 id\0 sinks\0... json\0
 * (the JSON keeps its NUL, as weir_alert promises, so the main thread can
 * hand it on without a copy) */
static void w_alert(void *user, const weir_alert *a)
{
    worker *w = user;
    size_t need =
        12 + strlen(a->rule) + strlen(a->severity) + strlen(a->id) + 3 + a->json_len + 1;
    for (size_t i = 0; i < a->n_sinks; i++)
        need += strlen(a->sinks[i]) + 1;
    if (!rec_reserve(w, need))
        return;
    char *r = w->rec;
    uint32_t ns = (uint32_t)a->n_sinks;
    memcpy(r, &a->time, 8);
    memcpy(r + 8, &ns, 4);
    size_t at = 12;
    at += rec_str(r + at, a->rule);
    at += rec_str(r + at, a->severity);
    at += rec_str(r + at, a->id);
    for (size_t i = 0; i < a->n_sinks; i++)
        at += rec_str(r + at, a->sinks[i]);
    memcpy(r + at, a->json, a->json_len);
    r[at + a->json_len] = '\0';
    put_record(w, REC_ALERT, at + a->json_len + 1);
}

/* A rejection: [u64 line][u32 tag] status\0 reason\0 data */
static void w_rejected(void *user, uint32_t tag, bool late, const weir_rejected *rj)
{
    worker *w = user;
    size_t need = 12 + strlen(rj->status) + strlen(rj->reason) + 2 + rj->len;
    if (!rec_reserve(w, need))
        return;
    char *r = w->rec;
    memcpy(r, &rj->line, 8);
    memcpy(r + 8, &tag, 4);
    size_t at = 12;
    at += rec_str(r + at, rj->status);
    at += rec_str(r + at, rj->reason);
    memcpy(r + at, rj->data, rj->len);
    put_record(w, late ? REC_LATE : REC_DEAD, at + rj->len);
}

static void w_room(void *user)
{
    worker *w = user;
    put_record(w, REC_ROOM, 0);
}

/* ---- records, main side -------------------------------------------- */

static void dispatch(weir_shard_pool *p, uint32_t type, const char *r, size_t len)
{
    if (type == REC_ROOM) {
        if (p->in_command) {
            if (!p->room_held) {
                p->room_held = true;
                event_active(p->room_ev, EV_TIMEOUT, 0);
            }
        } else if (p->hooks.on_room) {
            p->hooks.on_room(p->hooks.user);
        }
        return;
    }
    if (type == REC_ALERT) {
        weir_alert a = {0};
        uint32_t ns;
        memcpy(&a.time, r, 8);
        memcpy(&ns, r + 8, 4);
        const char *at = r + 12;
        a.rule = at;
        at += strlen(at) + 1;
        a.severity = at;
        at += strlen(at) + 1;
        a.id = at;
        at += strlen(at) + 1;
        const char *sinks[64];
        a.n_sinks = ns < 64 ? ns : 64;
        for (uint32_t i = 0; i < ns; i++) {
            if (i < 64)
                sinks[i] = at;
            at += strlen(at) + 1;
        }
        a.sinks = sinks;
        a.json = at;
        a.json_len = len - (size_t)(at - r) - 1; /* its NUL is in the record */
        if (p->hooks.on_alert)
            p->hooks.on_alert(p->hooks.user, &a);
        return;
    }
    weir_rejected rj = {0};
    uint32_t tag;
    memcpy(&rj.line, r, 8);
    memcpy(&tag, r + 8, 4);
    const char *at = r + 12;
    rj.status = at;
    at += strlen(at) + 1;
    rj.reason = at;
    at += strlen(at) + 1;
    rj.data = at;
    rj.len = len - (size_t)(at - r);
    if (p->hooks.on_rejected)
        p->hooks.on_rejected(p->hooks.user, tag, type == REC_LATE, &rj);
}

static void service(weir_shard_pool *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        const char *r;
        size_t len;
        uint32_t type;
        while (weir_event_queue_peek(w->out, &r, &len, &type)) {
            dispatch(p, type, r, len);
            weir_event_queue_pop(w->out);
        }
    }
}

static void main_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    service(arg);
}

static void room_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_shard_pool *p = arg;
    if (!p->room_held)
        return;
    p->room_held = false;
    if (p->hooks.on_room)
        p->hooks.on_room(p->hooks.user);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_shard_pool *p = arg;
    p->wake_scheduled = false;
    for (unsigned i = 0; i < p->n; i++)
        if (p->workers[i].wake_due) {
            p->workers[i].wake_due = false;
            notify(p->workers[i].wake_fd);
        }
}

/* ---- the shard thread ---------------------------------------------- */

static void publish_stats(worker *w)
{
    weir_engine_stats st;
    const weir_engine *e = weir_shard_engine(w->shard);
    weir_engine_get_stats(e, &st);
    pthread_mutex_lock(&w->mu);
    w->stats = st;
    for (size_t i = 0; i < w->n_rules; i++)
        weir_engine_get_rule_stats(e, i, &w->rule_stats[i]);
    for (size_t i = 0; i < w->n_streams; i++)
        weir_engine_get_stream_stats(e, i, &w->stream_stats[i]);
    size_t n = weir_engine_split_count(e);
    if (n > w->cap_splits) {
        weir_split_stats *grown = realloc(w->splits, n * sizeof *grown);
        if (grown) {
            w->splits = grown;
            w->cap_splits = n;
        }
    }
    w->n_splits = 0;
    for (size_t i = 0; i < n && i < w->cap_splits; i++)
        if (weir_engine_get_split(e, i, &w->splits[i]))
            w->n_splits = i + 1;
    pthread_mutex_unlock(&w->mu);
}

/* CMD_STATE: every rule's state bytes in this shard. */
static void publish_state(worker *w)
{
    const weir_engine *e = weir_shard_engine(w->shard);
    size_t n = w->n_rules;
    uint64_t *bytes = calloc(n ? n : 1, sizeof *bytes);
    for (size_t i = 0; bytes && i < n; i++)
        bytes[i] = weir_engine_rule_state_bytes(e, i);
    pthread_mutex_lock(&w->mu);
    free(w->state_bytes);
    w->state_bytes = bytes;
    w->n_state = bytes ? n : 0;
    pthread_mutex_unlock(&w->mu);
}

/* Room for the counters of rule set rs; 0 or -1 (nothing changed). */
static int size_counters(worker *w, const weir_ruleset *rs)
{
    size_t n_rules = weir_ruleset_rule_count(rs);
    size_t n_streams = weir_ruleset_stream_count(rs);
    weir_rule_stats *rules = calloc(n_rules ? n_rules : 1, sizeof *rules);
    weir_stream_stats *streams = calloc(n_streams ? n_streams : 1, sizeof *streams);
    if (!rules || !streams) {
        free(rules);
        free(streams);
        return -1;
    }
    for (size_t i = 0; i < n_streams; i++)
        streams[i].max_time = streams[i].watermark = INT64_MIN;
    pthread_mutex_lock(&w->mu);
    free(w->rule_stats);
    free(w->stream_stats);
    w->rule_stats = rules;
    w->n_rules = n_rules;
    w->stream_stats = streams;
    w->n_streams = n_streams;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

static void stats_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    publish_stats(arg);
}

static void worker_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    worker *w = arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&w->mu);
    unsigned cmd = w->cmd_seq != w->done_seq ? w->cmd : CMD_NONE;
    const weir_ruleset *rs = w->cmd_rs;
    pthread_mutex_unlock(&w->mu);
    int result = 0;
    switch (cmd) {
    case CMD_FINISH:
        weir_shard_finish(w->shard);
        break;
    case CMD_SNAPSHOT:
        result = weir_shard_snapshot(w->shard, &w->cmd_blob, &w->cmd_blob_len);
        if (result != 0)
            snprintf(w->cmd_err, sizeof w->cmd_err, "out of memory");
        break;
    case CMD_RESTORE:
        result = weir_shard_restore(w->shard, rs, w->cmd_data, w->cmd_data_len, &w->cmd_rep,
                                    w->cmd_err, sizeof w->cmd_err);
        if (result == 0 && size_counters(w, rs) != 0) {
            pthread_mutex_lock(&w->mu);
            w->n_rules = w->n_streams = 0;
            pthread_mutex_unlock(&w->mu);
        }
        break;
    case CMD_SWAP:
        result = weir_shard_swap_rules(w->shard, rs, &w->cmd_rep);
        if (result == 0 && size_counters(w, rs) != 0) {
            /* the new rules run, their counters stay at the last figures
               of the old ones until memory allows */
            pthread_mutex_lock(&w->mu);
            w->n_rules = w->n_streams = 0;
            pthread_mutex_unlock(&w->mu);
        }
        break;
    case CMD_STATE:
        publish_state(w);
        break;
    case CMD_STOP:
        event_base_loopbreak(w->base);
        break;
    case CMD_PARK:
        /* everything queued goes through first, as for a snapshot; then
         * the engine stays as it is until the main thread says so */
        weir_shard_drain(w->shard);
        publish_stats(w);
        pthread_mutex_lock(&w->mu);
        w->cmd_result = 0;
        w->done_seq = w->cmd_seq;
        w->parked = true;
        pthread_mutex_unlock(&w->mu);
        notify(w->pool->main_fd);
        pthread_mutex_lock(&w->mu);
        while (w->parked)
            pthread_cond_wait(&w->unpark, &w->mu);
        pthread_mutex_unlock(&w->mu);
        return;
    default:
        weir_shard_kick(w->shard);
        return;
    }
    publish_stats(w);
    pthread_mutex_lock(&w->mu);
    w->cmd_result = result;
    w->done_seq = w->cmd_seq;
    pthread_mutex_unlock(&w->mu);
    notify(w->pool->main_fd);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* Posts a command to every worker and waits for all of them, emptying
 * their output meanwhile. Returns -1 if one reported failure. */
static int command_all(weir_shard_pool *p, unsigned cmd, const weir_ruleset *rs)
{
    p->in_command = true;
    unsigned seqs[p->n];
    for (unsigned i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        pthread_mutex_lock(&w->mu);
        w->cmd = cmd;
        w->cmd_rs = rs;
        seqs[i] = ++w->cmd_seq;
        pthread_mutex_unlock(&w->mu);
        notify(w->wake_fd);
    }
    int rc = 0;
    for (unsigned i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        for (unsigned turn = 1;; turn++) {
            pthread_mutex_lock(&w->mu);
            bool done = w->done_seq == seqs[i];
            int result = w->cmd_result;
            pthread_mutex_unlock(&w->mu);
            if (done) {
                rc |= result;
                break;
            }
            service(p);
            wake_cb(-1, 0, p);
            /* a barrier once waited for ever under load in the tests, the
             * shard idle: as if its wake-up was lost. A spare one costs a
             * look at the command word, so knock again now and then */
            if (turn % 256 == 0)
                notify(w->wake_fd);
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    service(p);
    p->in_command = false;
    return rc;
}

/* ---- life ---------------------------------------------------------- */

static int worker_init(weir_shard_pool *p, worker *w, const weir_ruleset *rs,
                       const weir_engine_options *eopt, size_t queue_bytes)
{
    w->pool = p;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->unpark, NULL);
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    w->base = event_base_new();
    w->out = weir_event_queue_new(OUT_QUEUE_BYTES);
    if (w->wake_fd < 0 || !w->base || !w->out || size_counters(w, rs) != 0)
        return -1;
    weir_shard_hooks h = {w_alert, w_rejected, w_room, w};
    w->shard = weir_shard_new(w->base, rs, eopt, queue_bytes, &h);
    w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, worker_wake_cb, w);
    w->stats_ev = event_new(w->base, -1, EV_PERSIST, stats_cb, w);
    struct timeval period = {0, STATS_PERIOD_US};
    if (!w->shard || !w->wake_ev || !w->stats_ev || event_add(w->wake_ev, NULL) < 0 ||
        event_add(w->stats_ev, &period) < 0)
        return -1;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return -1;
    w->started = true;
    return 0;
}

static void worker_free(worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    if (w->wake_ev)
        event_free(w->wake_ev);
    if (w->stats_ev)
        event_free(w->stats_ev);
    weir_shard_free(w->shard);
    if (w->base)
        event_base_free(w->base);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    weir_event_queue_free(w->out);
    free(w->rule_stats);
    free(w->stream_stats);
    free(w->splits);
    free(w->state_bytes);
    free(w->rec);
    free(w->cmd_blob);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->unpark);
}

/* ---- splits, main side --------------------------------------------- */

/* Marks worker w as having records to read; the wake-up goes out once
 * per loop turn. */
static void want_wake(weir_shard_pool *p, worker *w)
{
    w->wake_due = true;
    if (!p->wake_scheduled) {
        p->wake_scheduled = true;
        event_active(p->wake_ev, EV_TIMEOUT, 0);
    }
}

/* Split records that waited for room go out first. */
static void flush_controls(weir_shard_pool *p)
{
    if (p->single) {
        weir_shard_flush(p->single);
        weir_shard_kick(p->single);
        return;
    }
    for (unsigned i = 0; i < p->n; i++) {
        uint64_t before = weir_shard_enqueued(p->workers[i].shard);
        weir_shard_flush(p->workers[i].shard);
        if (weir_shard_enqueued(p->workers[i].shard) != before)
            want_wake(p, &p->workers[i]);
    }
}

/* Each split's largest time and events over the shards (as they last
 * published them), sent to every shard when either moved. */
static void send_progress(weir_shard_pool *p)
{
    for (size_t k = 0; k < p->n_splits; k++) {
        pool_split *sp = &p->splits[k];
        int64_t time = INT64_MIN;
        uint64_t events = 0;
        for (unsigned i = 0; i < p->n; i++) {
            worker *w = &p->workers[i];
            pthread_mutex_lock(&w->mu);
            for (size_t j = 0; j < w->n_splits; j++) {
                if (w->splits[j].id != sp->id)
                    continue;
                if (w->splits[j].max_time > time)
                    time = w->splits[j].max_time;
                events += w->splits[j].events;
            }
            pthread_mutex_unlock(&w->mu);
        }
        if (time <= sp->sent_time && events == sp->sent_events)
            continue;
        bool all = true;
        for (unsigned i = 0; i < p->n; i++) {
            all &= weir_shard_split_progress(p->workers[i].shard, sp->id, time);
            want_wake(p, &p->workers[i]);
        }
        if (all) { /* else again next period */
            sp->sent_time = time;
            sp->sent_events = events;
        }
    }
}

/* Each stream's largest time over the shards, sent to every shard when
 * it moved: a shard's watermark then follows the whole stream, not only
 * the keys routed to it, as one engine's would (a few periods late). */
static void send_stream_progress(weir_shard_pool *p)
{
    size_t n = weir_ruleset_stream_count(p->rs);
    for (size_t s = 0; s < n && p->sent_stream; s++) {
        int64_t time = INT64_MIN;
        for (unsigned i = 0; i < p->n; i++) {
            worker *w = &p->workers[i];
            pthread_mutex_lock(&w->mu);
            if (s < w->n_streams && w->stream_stats[s].max_time > time)
                time = w->stream_stats[s].max_time;
            pthread_mutex_unlock(&w->mu);
        }
        if (time <= p->sent_stream[s])
            continue;
        bool all = true;
        for (unsigned i = 0; i < p->n; i++) {
            all &= weir_shard_stream_progress(p->workers[i].shard, s, time);
            want_wake(p, &p->workers[i]);
        }
        if (all)
            p->sent_stream[s] = time;
    }
}

/* Room for the per-stream progress of rs; NULL when out of memory (no
 * stream progress is sent then). */
static int64_t *new_sent_stream(const weir_ruleset *rs)
{
    size_t n = weir_ruleset_stream_count(rs);
    int64_t *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = INT64_MIN;
    return v;
}

static void progress_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_shard_pool *p = arg;
    flush_controls(p);
    if (!p->single) {
        send_progress(p);
        send_stream_progress(p);
    }
}

void weir_shard_pool_split_open(weir_shard_pool *p, uint32_t split, const char *topic)
{
    if (split >= WEIR_SHARD_MAX_SPLITS)
        return;
    pool_split *sp = find_split(p, split);
    if (!sp) {
        if (p->n_splits == p->cap_splits) {
            size_t cap = p->cap_splits ? p->cap_splits * 2 : 8;
            pool_split *v = realloc(p->splits, cap * sizeof *v);
            if (!v)
                return; /* out of memory: the partition holds nothing back */
            p->splits = v;
            p->cap_splits = cap;
        }
        sp = &p->splits[p->n_splits];
        memset(sp, 0, sizeof *sp);
    }
    char *t = strdup(topic);
    if (!t)
        return;
    if (sp == &p->splits[p->n_splits])
        p->n_splits++;
    free(sp->topic);
    sp->id = split;
    sp->topic = t;
    sp->stream = weir_ruleset_topic_stream(p->rs, topic);
    sp->sent_time = INT64_MIN;
    sp->sent_events = 0;
    if (p->single) {
        weir_shard_split_open(p->single, split, topic);
        weir_shard_kick(p->single);
        return;
    }
    for (unsigned i = 0; i < p->n; i++) {
        weir_shard_split_open(p->workers[i].shard, split, topic);
        want_wake(p, &p->workers[i]);
    }
}

void weir_shard_pool_split_close(weir_shard_pool *p, uint32_t split)
{
    pool_split *sp = find_split(p, split);
    if (sp) {
        free(sp->topic);
        *sp = p->splits[--p->n_splits];
    }
    if (p->single) {
        weir_shard_split_close(p->single, split);
        weir_shard_kick(p->single);
        return;
    }
    for (unsigned i = 0; i < p->n; i++) {
        weir_shard_split_close(p->workers[i].shard, split);
        want_wake(p, &p->workers[i]);
    }
}

/* ---- life, main side ----------------------------------------------- */

weir_shard_pool *weir_shard_pool_new(struct event_base *main_base, unsigned n,
                                     const weir_ruleset *rs, const weir_engine_options *eopt,
                                     size_t queue_bytes, const weir_shard_hooks *hooks,
                                     char *err, size_t err_cap)
{
    weir_shard_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    p->main_base = main_base;
    p->hooks = *hooks;
    p->n = n ? n : 1;
    p->rs = rs;
    p->main_fd = -1;
    p->selector = strdup(eopt->stream_field ? eopt->stream_field : "stream");
    p->default_stream = eopt->default_stream ? strdup(eopt->default_stream) : NULL;
    p->progress_ev = event_new(main_base, -1, EV_PERSIST, progress_cb, p);
    struct timeval period = {0, PROGRESS_PERIOD_MS * 1000};
    if (!p->selector || (eopt->default_stream && !p->default_stream) || !p->progress_ev ||
        event_add(p->progress_ev, &period) < 0) {
        snprintf(err, err_cap, "out of memory");
        weir_shard_pool_free(p);
        return NULL;
    }
    if (p->n == 1) {
        p->single = weir_shard_new(main_base, rs, eopt, queue_bytes, hooks);
        if (!p->single) {
            snprintf(err, err_cap, "cannot start the engine");
            weir_shard_pool_free(p);
            return NULL;
        }
        return p;
    }
    char why[256];
    if (!weir_shard_pool_shardable(rs, NULL, why, sizeof why)) {
        snprintf(err, err_cap, "%s", why);
        weir_shard_pool_free(p);
        return NULL;
    }
    p->workers = calloc(p->n, sizeof *p->workers);
    p->main_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->main_ev = p->main_fd >= 0
                     ? event_new(main_base, p->main_fd, EV_READ | EV_PERSIST, main_cb, p)
                     : NULL;
    p->wake_ev = event_new(main_base, -1, 0, wake_cb, p);
    p->room_ev = event_new(main_base, -1, 0, room_cb, p);
    p->sent_stream = new_sent_stream(rs);
    if (plan_routes(&p->plan, rs) != 0 || !p->workers || !p->main_ev || !p->wake_ev ||
        !p->room_ev || !p->sent_stream || event_add(p->main_ev, NULL) < 0) {
        snprintf(err, err_cap, "out of memory");
        weir_shard_pool_free(p);
        return NULL;
    }
    for (unsigned i = 0; i < p->n; i++) {
        p->workers[i].index = i;
        p->workers[i].wake_fd = -1;
    }
    for (unsigned i = 0; i < p->n; i++) {
        if (worker_init(p, &p->workers[i], rs, eopt, queue_bytes) < 0) {
            snprintf(err, err_cap, "cannot start shard %u: %s", i, strerror(errno));
            weir_shard_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void weir_shard_pool_free(weir_shard_pool *p)
{
    if (!p)
        return;
    weir_shard_free(p->single);
    if (p->workers) {
        for (unsigned i = 0; i < p->n; i++) {
            worker *w = &p->workers[i];
            if (w->started) {
                pthread_mutex_lock(&w->mu);
                w->parked = false;
                pthread_cond_signal(&w->unpark);
                w->cmd = CMD_STOP;
                w->cmd_seq++;
                pthread_mutex_unlock(&w->mu);
                notify(w->wake_fd);
            }
        }
        for (unsigned i = 0; i < p->n; i++)
            if (p->workers[i].pool)
                worker_free(&p->workers[i]);
        free(p->workers);
    }
    if (p->main_ev)
        event_free(p->main_ev);
    if (p->wake_ev)
        event_free(p->wake_ev);
    if (p->room_ev)
        event_free(p->room_ev);
    if (p->progress_ev)
        event_free(p->progress_ev);
    if (p->main_fd >= 0)
        close(p->main_fd);
    plan_free(&p->plan);
    for (size_t i = 0; i < p->n_splits; i++)
        free(p->splits[i].topic);
    free(p->splits);
    free(p->sent_stream);
    free(p->selector);
    free(p->default_stream);
    free(p);
}

unsigned weir_shard_pool_count(const weir_shard_pool *p) { return p->n; }

bool weir_shard_pool_submit(weir_shard_pool *p, const char *line, size_t len, uint32_t tag,
                            uint32_t split)
{
    return weir_shard_pool_submit_seq(p, line, len, tag, split, 0);
}

bool weir_shard_pool_submit_seq(weir_shard_pool *p, const char *line, size_t len, uint32_t tag,
                                uint32_t split, uint64_t seq)
{
    if (p->single)
        return weir_shard_submit_seq(p->single, line, len, tag, split, seq);
    worker *w = &p->workers[route(p, line, len, split)];
    if (!weir_shard_enqueue_seq(w->shard, line, len, tag, split, seq))
        return false;
    want_wake(p, w);
    return true;
}

size_t weir_shard_pool_max_line(const weir_shard_pool *p)
{
    return weir_shard_max_line(p->single ? p->single : p->workers[0].shard);
}

void weir_shard_pool_sync(weir_shard_pool *p)
{
    if (p->single) {
        weir_shard_drain(p->single);
        return;
    }
    /* Wait for what was submitted before this call only: dispatching
     * records below may resume sources that submit more, and a moving
     * target could keep us here for as long as they send. Those new lines
     * still need their wake-up, so wake on every turn. */
    uint64_t target[p->n];
    for (unsigned i = 0; i < p->n; i++)
        target[i] = weir_shard_enqueued(p->workers[i].shard);
    for (unsigned i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        for (unsigned turn = 1;; turn++) {
            wake_cb(-1, 0, p);
            if (weir_shard_processed(w->shard) >= target[i])
                break;
            if (turn % 256 == 0)
                notify(w->wake_fd); /* see command_all */
            service(p);
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    service(p);
    wake_cb(-1, 0, p);
}

void weir_shard_pool_finish(weir_shard_pool *p)
{
    if (p->single) {
        weir_shard_finish(p->single);
        return;
    }
    wake_cb(-1, 0, p);
    command_all(p, CMD_FINISH, NULL);
}

static void add_report(weir_restore_report *sum, const weir_restore_report *r)
{
    /* rules are the same on every shard: take one shard's figures */
    sum->rules_restored = r->rules_restored;
    sum->rules_fresh = r->rules_fresh;
    sum->rules_dropped = r->rules_dropped;
    sum->keys += r->keys;
    sum->held_events += r->held_events;
}

int weir_shard_pool_swap_rules(weir_shard_pool *p, const weir_ruleset *rs,
                               weir_restore_report *rep)
{
    weir_restore_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (p->single) {
        if (weir_shard_swap_rules(p->single, rs, rep) < 0)
            return -1;
        p->rs = rs;
    } else {
        route_plan plan;
        if (plan_routes(&plan, rs) != 0)
            return -1;
        wake_cb(-1, 0, p);
        weir_shard_pool_sync(p);
        int rc = command_all(p, CMD_SWAP, rs);
        for (unsigned i = 0; i < p->n; i++)
            add_report(rep, &p->workers[i].cmd_rep);
        if (rc != 0) {
            /* one shard could not move (out of memory): the others go back
             * to the rules still running, keeping their state, so that no
             * shard is left on a rule set the caller is about to free */
            command_all(p, CMD_SWAP, p->rs);
            plan_free(&plan);
            return rc;
        }
        /* the new rules route by their own fields from here on. A rule
         * that kept its state reads its streams by the same fields as
         * before (it is unchanged, and every rule reading a stream keys it
         * alike), so its keys stay on their shards */
        plan_free(&p->plan);
        p->plan = plan;
        p->rs = rs;
        free(p->sent_stream);
        p->sent_stream = new_sent_stream(rs);
    }
    for (size_t i = 0; i < p->n_splits; i++)
        p->splits[i].stream = weir_ruleset_topic_stream(rs, p->splits[i].topic);
    return 0;
}

void weir_shard_pool_state_bytes(weir_shard_pool *p, uint64_t *out, size_t n_rules)
{
    memset(out, 0, n_rules * sizeof *out);
    if (p->single) {
        const weir_engine *e = weir_shard_engine(p->single);
        for (size_t i = 0; i < n_rules; i++)
            out[i] = weir_engine_rule_state_bytes(e, i);
        return;
    }
    wake_cb(-1, 0, p);
    command_all(p, CMD_STATE, NULL);
    for (unsigned k = 0; k < p->n; k++) {
        worker *w = &p->workers[k];
        pthread_mutex_lock(&w->mu);
        for (size_t i = 0; i < n_rules && i < w->n_state; i++)
            out[i] += w->state_bytes[i];
        pthread_mutex_unlock(&w->mu);
    }
}

int weir_shard_pool_snapshot(weir_shard_pool *p, void **blobs, size_t *lens)
{
    if (p->single)
        return weir_shard_snapshot(p->single, &blobs[0], &lens[0]);
    wake_cb(-1, 0, p);
    weir_shard_pool_sync(p);
    int rc = command_all(p, CMD_SNAPSHOT, p->rs);
    for (unsigned i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        blobs[i] = w->cmd_blob;
        lens[i] = w->cmd_blob_len;
        w->cmd_blob = NULL;
    }
    if (rc != 0) {
        for (unsigned i = 0; i < p->n; i++) {
            free(blobs[i]);
            blobs[i] = NULL;
        }
        return -1;
    }
    return 0;
}

int weir_shard_pool_park(weir_shard_pool *p)
{
    if (p->single) {
        weir_shard_drain(p->single);
        return 0;
    }
    wake_cb(-1, 0, p);
    weir_shard_pool_sync(p);
    if (command_all(p, CMD_PARK, NULL) != 0) {
        weir_shard_pool_unpark(p);
        return -1;
    }
    return 0;
}

void weir_shard_pool_unpark(weir_shard_pool *p)
{
    for (unsigned i = 0; !p->single && i < p->n; i++) {
        worker *w = &p->workers[i];
        pthread_mutex_lock(&w->mu);
        w->parked = false;
        pthread_cond_signal(&w->unpark);
        pthread_mutex_unlock(&w->mu);
    }
}

weir_shard *weir_shard_pool_shard(weir_shard_pool *p, unsigned i)
{
    return p->single ? p->single : p->workers[i].shard;
}

int weir_shard_pool_restore(weir_shard_pool *p, const weir_ruleset *rs,
                            const void *const *blobs, const size_t *lens, size_t n,
                            weir_restore_report *rep, char *err, size_t errlen)
{
    weir_restore_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (n != p->n) {
        snprintf(err, errlen,
                 "the state was saved by %zu shards and this server runs %u: start it "
                 "with --shards %zu",
                 n, p->n, n);
        return -1;
    }
    if (p->single) {
        int rc = weir_shard_restore(p->single, rs, blobs[0], lens[0], rep, err, errlen);
        if (rc == 0)
            p->rs = rs;
        for (size_t i = 0; rc == 0 && i < p->n_splits; i++)
            p->splits[i].stream = weir_ruleset_topic_stream(rs, p->splits[i].topic);
        return rc;
    }
    /* another rule set (a roll-back) routes by its own fields */
    route_plan plan;
    if (plan_routes(&plan, rs) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    wake_cb(-1, 0, p);
    weir_shard_pool_sync(p);
    for (unsigned i = 0; i < p->n; i++) {
        p->workers[i].cmd_data = blobs[i];
        p->workers[i].cmd_data_len = lens[i];
        p->workers[i].cmd_err[0] = '\0';
    }
    int rc = command_all(p, CMD_RESTORE, rs);
    for (unsigned i = 0; i < p->n; i++) {
        worker *w = &p->workers[i];
        w->cmd_data = NULL;
        add_report(rep, &w->cmd_rep);
        if (w->cmd_err[0] && rc != 0)
            snprintf(err, errlen, "shard %u: %s", i, w->cmd_err);
    }
    if (rc != 0) {
        plan_free(&plan);
        return rc;
    }
    plan_free(&p->plan);
    p->plan = plan;
    if (rs != p->rs) {
        free(p->sent_stream);
        p->sent_stream = new_sent_stream(rs);
    }
    p->rs = rs;
    for (size_t i = 0; i < p->n_splits; i++)
        p->splits[i].stream = weir_ruleset_topic_stream(rs, p->splits[i].topic);
    return 0;
}

void weir_shard_stats_add(weir_engine_stats *out, const weir_engine_stats *s)
{
    out->events += s->events;
    out->processed += s->processed;
    out->dead_letters += s->dead_letters;
    out->late += s->late;
    out->alerts += s->alerts;
    out->throttled += s->throttled;
    out->keys += s->keys;
    out->peak_keys += s->peak_keys;
    out->partial_matches += s->partial_matches;
    out->peak_partial_matches += s->peak_partial_matches;
    out->held_events += s->held_events;
    out->timers_fired += s->timers_fired;
    if (s->watermark != INT64_MIN && (out->watermark == INT64_MIN || s->watermark < out->watermark))
        out->watermark = s->watermark;
}

void weir_shard_pool_stats(weir_shard_pool *p, weir_engine_stats *out)
{
    if (p->single) {
        const weir_engine *e = weir_shard_engine(p->single);
        weir_engine_get_stats(e, out);
        return;
    }
    memset(out, 0, sizeof *out);
    out->watermark = INT64_MIN;
    for (unsigned k = 0; k < p->n; k++) {
        worker *w = &p->workers[k];
        pthread_mutex_lock(&w->mu);
        weir_shard_stats_add(out, &w->stats);
        pthread_mutex_unlock(&w->mu);
    }
}

void weir_shard_pool_detail(weir_shard_pool *p, weir_rule_stats *rules, size_t n_rules,
                            weir_stream_stats *streams, size_t n_streams)
{
    memset(rules, 0, n_rules * sizeof *rules);
    for (size_t i = 0; i < n_streams; i++)
        streams[i] = (weir_stream_stats){0, INT64_MIN, INT64_MIN};
    if (p->single) {
        const weir_engine *e = weir_shard_engine(p->single);
        for (size_t i = 0; i < n_rules; i++)
            weir_engine_get_rule_stats(e, i, &rules[i]);
        for (size_t i = 0; i < n_streams; i++)
            weir_engine_get_stream_stats(e, i, &streams[i]);
        return;
    }
    /* Each shard sees part of every stream: its events add up, its time
     * is the latest any shard saw, and its watermark the lowest of the
     * shards that saw any of it (the others do not hold it back, as in
     * one engine a stream without events does not). */
    for (unsigned k = 0; k < p->n; k++) {
        worker *w = &p->workers[k];
        pthread_mutex_lock(&w->mu);
        weir_shard_detail_add(rules, w->rule_stats, n_rules < w->n_rules ? n_rules : w->n_rules,
                              streams, w->stream_stats,
                              n_streams < w->n_streams ? n_streams : w->n_streams);
        pthread_mutex_unlock(&w->mu);
    }
}

void weir_shard_detail_add(weir_rule_stats *rules, const weir_rule_stats *add_rules,
                           size_t n_rules, weir_stream_stats *streams,
                           const weir_stream_stats *add_streams, size_t n_streams)
{
    for (size_t i = 0; i < n_rules; i++) {
        const weir_rule_stats *r = &add_rules[i];
        rules[i].events += r->events;
        rules[i].matches += r->matches;
        rules[i].alerts += r->alerts;
        rules[i].throttled += r->throttled;
        rules[i].keys += r->keys;
        rules[i].partial_matches += r->partial_matches;
    }
    for (size_t i = 0; i < n_streams; i++) {
        const weir_stream_stats *s = &add_streams[i];
        streams[i].events += s->events;
        if (s->max_time > streams[i].max_time)
            streams[i].max_time = s->max_time;
        if (s->watermark != INT64_MIN &&
            (streams[i].watermark == INT64_MIN || s->watermark < streams[i].watermark))
            streams[i].watermark = s->watermark;
    }
}

void weir_shard_pool_splits(weir_shard_pool *p, uint64_t *active, uint64_t *idle)
{
    *active = *idle = 0;
    weir_split_stats st;
    if (p->single) {
        const weir_engine *e = weir_shard_engine(p->single);
        for (size_t i = 0; weir_engine_get_split(e, i, &st); i++)
            ++*(st.idle ? idle : active);
        return;
    }
    /* every shard has every split; idleness is each shard's, but they see
     * the same events and progress */
    worker *w = &p->workers[0];
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < w->n_splits; i++)
        ++*(w->splits[i].idle ? idle : active);
    pthread_mutex_unlock(&w->mu);
}

size_t weir_shard_pool_queue_used(const weir_shard_pool *p)
{
    if (p->single)
        return weir_shard_queue_used(p->single);
    size_t n = 0;
    for (unsigned i = 0; i < p->n; i++)
        n += weir_shard_queue_used(p->workers[i].shard);
    return n;
}

size_t weir_shard_pool_queue_capacity(const weir_shard_pool *p)
{
    if (p->single)
        return weir_shard_queue_capacity(p->single);
    size_t n = 0;
    for (unsigned i = 0; i < p->n; i++)
        n += weir_shard_queue_capacity(p->workers[i].shard);
    return n;
}
