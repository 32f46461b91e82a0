/* shard.c — an engine fed from a bounded queue on an event loop; see
 * shard.h. Lines get their engine line number (which orders equal
 * timestamps and seeds alert ids) when they are drained, so numbering is
 * per shard and gap-free whatever the sources do.
 *
 * A queued record's tag packs three things: the source (bits 0-7, handed
 * back with rejections), the split + 1 (bits 8-30; 0: no split) and, in bit
 * 31, whether the record is a control record — [u8 kind][u32 split][i64
 * time][topic bytes] — instead of a line. */
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/event_queue.h"
#include "server/shard.h"
#include "util/grow_bytes.h"
#include "weir/ruleset.h"

/* Lines per loop turn: enough to amortise the wake-up, few enough that
 * sockets and the HTTP API are served in between. */
#define DRAIN_BATCH 4096
/* How often the engine checks its splits' idle timeout (ms). */
#define SPLIT_TICK_MS 100
/* Key slots swept of a swap's dropped rule states per loop turn: a few ms
 * at most, between batches of events. */
#define SWEEP_SLOTS 20000

#define TAG_CONTROL 0x80000000u
#define TAG_SOURCE(tag) ((tag) & 0xffu)
#define TAG_SEQ 0x40000000u /* the record starts with the event's 8-byte seq */
#define TAG_SPLIT(tag) ((((tag) & ~(TAG_CONTROL | TAG_SEQ)) >> 8) - 1) /* UINT32_MAX: none */

enum { CTL_OPEN, CTL_CLOSE, CTL_PROGRESS, CTL_STREAM };
#define CTL_HEAD 13 /* kind, split, time */

/* An open split as the shard knows it: what to open again after a swap. */
typedef struct shard_split {
    uint32_t id;
    char *topic; /* owned */
} shard_split;

struct weir_shard {
    struct event_base *base;
    const weir_ruleset *rs;       /* borrowed: the rules the engine runs */
    weir_engine *engine;          /* owned */
    weir_engine_options eopt;     /* copy; callbacks point at this shard */
    weir_event_queue *queue;      /* owned */
    struct event *drain_ev;       /* owned */
    struct event *tick_ev;        /* owned: the splits' idle timeout */
    struct event *sweep_ev;       /* owned: frees a swap's dropped states,
                                     SWEEP_SLOTS per loop turn */
    weir_shard_hooks hooks;
    uint64_t line_no;             /* last number given */
    uint32_t current_tag;         /* source of the line being pushed */
    shard_split *splits;          /* owned; the open splits (shard thread) */
    size_t n_splits, cap_splits;
    /* producer side */
    char *pending;                /* owned: control records waiting for
                                     room, each [u32 len][u32 tag][bytes] */
    size_t pending_len, pending_cap;
    uint64_t enqueued;            /* records pushed */
    _Atomic bool refused;         /* a submit failed: call on_room later
                                     (set by the producer's thread) */
    _Atomic uint64_t processed;   /* records popped (read by the producer) */
};

/* ---- splits, shard side -------------------------------------------- */

static shard_split *find_split(weir_shard *s, uint32_t id)
{
    for (size_t i = 0; i < s->n_splits; i++)
        if (s->splits[i].id == id)
            return &s->splits[i];
    return NULL;
}

/* The engine's split stream for a topic: the stream declared `from kafka
 * "topic"`, else every stream (the events name theirs). */
static size_t topic_stream(const weir_shard *s, const char *topic)
{
    size_t st = weir_ruleset_topic_stream(s->rs, topic);
    return st == SIZE_MAX ? WEIR_SPLIT_ALL_STREAMS : st;
}

static void open_split(weir_shard *s, uint32_t id, const char *topic, size_t len)
{
    shard_split *sp = find_split(s, id);
    if (!sp) {
        if (s->n_splits == s->cap_splits) {
            size_t cap = s->cap_splits ? s->cap_splits * 2 : 8;
            shard_split *v = realloc(s->splits, cap * sizeof *v);
            if (!v)
                return; /* out of memory: the split does not hold back */
            s->splits = v;
            s->cap_splits = cap;
        }
        sp = &s->splits[s->n_splits];
        sp->id = id;
        sp->topic = NULL;
    }
    char *t = strndup(topic, len);
    if (!t)
        return;
    if (sp == &s->splits[s->n_splits])
        s->n_splits++;
    free(sp->topic);
    sp->topic = t;
    (void)weir_engine_split_open(s->engine, id, topic_stream(s, t), INT64_MIN);
}

static void close_split(weir_shard *s, uint32_t id)
{
    shard_split *sp = find_split(s, id);
    if (sp) {
        free(sp->topic);
        *sp = s->splits[--s->n_splits];
    }
    (void)weir_engine_split_close(s->engine, id);
}

static void apply_control(weir_shard *s, const char *r, size_t len)
{
    if (len < CTL_HEAD)
        return;
    uint32_t id;
    int64_t time;
    memcpy(&id, r + 1, 4);
    memcpy(&time, r + 5, 8);
    switch (r[0]) {
    case CTL_OPEN:
        open_split(s, id, r + CTL_HEAD, len - CTL_HEAD);
        break;
    case CTL_CLOSE:
        close_split(s, id);
        break;
    case CTL_PROGRESS:
        (void)weir_engine_split_advance(s->engine, id, time);
        break;
    case CTL_STREAM: /* id is a stream index */
        (void)weir_engine_stream_advance(s->engine, id, time);
        break;
    default:
        break;
    }
}

/* ---- splits, producer side ----------------------------------------- */

/* Pushes the waiting control records, oldest first, while they fit. */
bool weir_shard_flush(weir_shard *s)
{
    if (s->pending_len == 0)
        return true; /* the common case: nothing waits */
    size_t at = 0;
    while (at < s->pending_len) {
        uint32_t len, tag;
        memcpy(&len, s->pending + at, 4);
        memcpy(&tag, s->pending + at + 4, 4);
        if (!weir_event_queue_push(s->queue, s->pending + at + 8, len, tag))
            break;
        s->enqueued++;
        at += 8 + len;
    }
    memmove(s->pending, s->pending + at, s->pending_len - at);
    s->pending_len -= at;
    return s->pending_len == 0;
}

/* Queues a control record; false when it found no room. Open and close
 * then wait in the pending list (they must not be lost); progress is
 * dropped, since the next one says more. */
static bool control(weir_shard *s, int kind, uint32_t split, int64_t time, const char *topic)
{
    char rec[CTL_HEAD + 256];
    size_t tlen = topic ? strnlen(topic, 256) : 0;
    rec[0] = (char)kind;
    memcpy(rec + 1, &split, 4);
    memcpy(rec + 5, &time, 8);
    if (tlen)
        memcpy(rec + CTL_HEAD, topic, tlen);
    uint32_t len = (uint32_t)(CTL_HEAD + tlen);
    uint32_t tag = TAG_CONTROL;
    if (weir_shard_flush(s) && weir_event_queue_push(s->queue, rec, len, tag)) {
        s->enqueued++;
        return true;
    }
    if (kind == CTL_PROGRESS || kind == CTL_STREAM)
        return false;
    /* no room: wait behind the others, in order */
    if (!weir_grow_bytes(&s->pending, &s->pending_cap, s->pending_len + 8 + len))
        return false; /* out of memory: lost, as an event would be */
    memcpy(s->pending + s->pending_len, &len, 4);
    memcpy(s->pending + s->pending_len + 4, &tag, 4);
    memcpy(s->pending + s->pending_len + 8, rec, len);
    s->pending_len += 8 + len;
    return false;
}

void weir_shard_split_open(weir_shard *s, uint32_t split, const char *topic)
{
    control(s, CTL_OPEN, split, 0, topic);
}

void weir_shard_split_close(weir_shard *s, uint32_t split)
{
    control(s, CTL_CLOSE, split, 0, NULL);
}

bool weir_shard_split_progress(weir_shard *s, uint32_t split, int64_t time)
{
    return control(s, CTL_PROGRESS, split, time, NULL);
}

bool weir_shard_stream_progress(weir_shard *s, size_t stream, int64_t time)
{
    return control(s, CTL_STREAM, (uint32_t)stream, time, NULL);
}

uint64_t weir_shard_enqueued(const weir_shard *s) { return s->enqueued; }

/* ---- the queue ----------------------------------------------------- */

static void on_dead(void *user, const weir_rejected *r)
{
    weir_shard *s = user;
    if (s->hooks.on_rejected)
        s->hooks.on_rejected(s->hooks.user, s->current_tag, false, r);
}

static void on_late(void *user, const weir_rejected *r)
{
    weir_shard *s = user;
    if (s->hooks.on_rejected)
        s->hooks.on_rejected(s->hooks.user, s->current_tag, true, r);
}

static void drain_batch(weir_shard *s, size_t max)
{
    const char *line;
    size_t len;
    uint32_t tag;
    size_t n = 0;
    while (n < max && weir_event_queue_peek(s->queue, &line, &len, &tag)) {
        if (tag & TAG_CONTROL) {
            apply_control(s, line, len);
        } else {
            s->current_tag = TAG_SOURCE(tag);
            uint32_t split = TAG_SPLIT(tag);
            uint64_t seq = ++s->line_no;
            if (tag & TAG_SEQ) {
                memcpy(&seq, line, 8);
                line += 8;
                len -= 8;
            }
            /* out of memory on one event: it is counted by the engine as an
             * event; nothing better to do than move on */
            (void)weir_engine_push_split_padded(s->engine, line, len, seq,
                                                split == UINT32_MAX ? WEIR_NO_SPLIT : split);
        }
        weir_event_queue_pop(s->queue);
        atomic_fetch_add_explicit(&s->processed, 1, memory_order_release);
        n++;
    }
    if (atomic_load(&s->refused) &&
        weir_event_queue_used(s->queue) <= weir_event_queue_capacity(s->queue) / 2) {
        atomic_store(&s->refused, false);
        if (s->hooks.on_room)
            s->hooks.on_room(s->hooks.user);
    }
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_shard *s = arg;
    drain_batch(s, DRAIN_BATCH);
    /* on_room may have refilled it; either way keep going next turn */
    if (weir_event_queue_used(s->queue) > 0)
        event_active(s->drain_ev, EV_TIMEOUT, 0);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_shard *s = arg;
    if (weir_engine_sweep(s->engine, SWEEP_SLOTS))
        event_active(s->sweep_ev, EV_TIMEOUT, 0);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_shard *s = arg;
    (void)weir_engine_tick(s->engine);
}

static weir_engine *make_engine(weir_shard *s, const weir_ruleset *rs)
{
    return weir_engine_new(rs, &s->eopt);
}

weir_shard *weir_shard_new(struct event_base *base, const weir_ruleset *rs,
                           const weir_engine_options *eopt, size_t queue_bytes,
                           const weir_shard_hooks *hooks)
{
    weir_shard *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->hooks = *hooks;
    s->eopt = *eopt;
    s->eopt.on_alert = hooks->on_alert;
    s->eopt.alert_user = hooks->user;
    s->eopt.on_dead_letter = on_dead;
    s->eopt.dead_letter_user = s;
    s->eopt.on_late = on_late;
    s->eopt.late_user = s;
    atomic_init(&s->refused, false);
    atomic_init(&s->processed, 0);
    s->rs = rs;
    s->queue = weir_event_queue_new(queue_bytes);
    s->drain_ev = event_new(base, -1, 0, drain_cb, s);
    s->tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, s);
    s->sweep_ev = event_new(base, -1, 0, sweep_cb, s);
    struct timeval tick = {0, SPLIT_TICK_MS * 1000};
    s->engine = s->queue && s->drain_ev && s->tick_ev && s->sweep_ev &&
                        event_add(s->tick_ev, &tick) == 0
                    ? make_engine(s, rs)
                    : NULL;
    if (!s->engine) {
        weir_shard_free(s);
        return NULL;
    }
    return s;
}

void weir_shard_free(weir_shard *s)
{
    if (!s)
        return;
    if (s->drain_ev)
        event_free(s->drain_ev);
    if (s->tick_ev)
        event_free(s->tick_ev);
    if (s->sweep_ev)
        event_free(s->sweep_ev);
    weir_engine_free(s->engine);
    weir_event_queue_free(s->queue);
    for (size_t i = 0; i < s->n_splits; i++)
        free(s->splits[i].topic);
    free(s->splits);
    free(s->pending);
    free(s);
}

static bool push_line(weir_shard *s, const char *line, size_t len, uint32_t tag, uint64_t seq)
{
    if (seq ? !weir_event_queue_push_parts(s->queue, &seq, 8, line, len, tag | TAG_SEQ)
            : !weir_event_queue_push(s->queue, line, len, tag))
        return false;
    s->enqueued++;
    return true;
}

bool weir_shard_enqueue(weir_shard *s, const char *line, size_t len, uint32_t tag,
                        uint32_t split)
{
    return weir_shard_enqueue_seq(s, line, len, tag, split, 0);
}

bool weir_shard_enqueue_seq(weir_shard *s, const char *line, size_t len, uint32_t tag,
                            uint32_t split, uint64_t seq)
{
    tag = TAG_SOURCE(tag);
    if (split < WEIR_SHARD_MAX_SPLITS)
        tag |= (split + 1) << 8;
    /* control records queued earlier go first */
    bool flushed = weir_shard_flush(s);
    if (flushed && push_line(s, line, len, tag, seq))
        return true;
    if (len > weir_shard_max_line(s))
        return false;
    atomic_store(&s->refused, true);
    /* The consumer may have made room and looked at `refused` just before
     * it was set; trying once more closes that window: if this fails too,
     * the queue is over half full, so the consumer will pop again and see
     * the flag. */
    return weir_shard_flush(s) && push_line(s, line, len, tag, seq);
}

void weir_shard_kick(weir_shard *s)
{
    /* activating an active event only merges flags: no need to check */
    event_active(s->drain_ev, EV_TIMEOUT, 0);
}

bool weir_shard_submit(weir_shard *s, const char *line, size_t len, uint32_t tag,
                       uint32_t split)
{
    return weir_shard_submit_seq(s, line, len, tag, split, 0);
}

bool weir_shard_submit_seq(weir_shard *s, const char *line, size_t len, uint32_t tag,
                           uint32_t split, uint64_t seq)
{
    if (!weir_shard_enqueue_seq(s, line, len, tag, split, seq))
        return false;
    weir_shard_kick(s);
    return true;
}

uint64_t weir_shard_processed(const weir_shard *s)
{
    return atomic_load_explicit(&s->processed, memory_order_acquire);
}

/* 8 bytes less than the queue takes: room for a sequence number */
size_t weir_shard_max_line(const weir_shard *s) { return weir_event_queue_max_line(s->queue) - 8; }

void weir_shard_drain(weir_shard *s)
{
    while (weir_event_queue_used(s->queue) > 0)
        drain_batch(s, SIZE_MAX);
}

void weir_shard_finish(weir_shard *s)
{
    weir_shard_drain(s);
    weir_engine_finish(s->engine);
}

/* The largest time the engine has for split id (INT64_MIN: none). */
static int64_t split_time(const weir_engine *e, uint32_t id)
{
    weir_split_stats st;
    for (size_t i = 0; weir_engine_get_split(e, i, &st); i++)
        if (st.id == id)
            return st.max_time;
    return INT64_MIN;
}

/* The partitions are still assigned: a new engine e for rs holds them back
 * from where the current engine had them, each on its stream under rs. On
 * success s->rs is rs. */
static int reopen_splits(weir_shard *s, weir_engine *e, const weir_ruleset *rs)
{
    const weir_ruleset *old_rs = s->rs;
    s->rs = rs;
    for (size_t i = 0; i < s->n_splits; i++) {
        const shard_split *sp = &s->splits[i];
        if (weir_engine_split_open(e, sp->id, topic_stream(s, sp->topic),
                                   split_time(s->engine, sp->id)) != 0) {
            s->rs = old_rs;
            return -1;
        }
    }
    return 0;
}

/* A shard's state: a magic, its line counter (alert ids derive from line
 * numbers, so a restored shard must go on numbering where it stopped),
 * then its engine's snapshot (doc/state-format.md). Splits (Kafka
 * partitions) are not in it: they belong to the consumer's assignment,
 * which a restart makes afresh. */
#define SHARD_MAGIC "WEIRSHRD"
#define SHARD_HEADER 16

int weir_shard_snapshot(weir_shard *s, void **out, size_t *len)
{
    weir_shard_drain(s);
    return weir_shard_write_state(s, out, len);
}

int weir_shard_write_state_to(weir_shard *s, weir_snapshot_dest *d)
{
    size_t start = d->len;
    if (d->cap - d->len < SHARD_HEADER && d->grow(d, d->len + SHARD_HEADER) != 0)
        return -1;
    memcpy(d->data + d->len, SHARD_MAGIC, 8);
    for (int i = 0; i < 8; i++)
        d->data[d->len + 8 + (size_t)i] = (unsigned char)(s->line_no >> (8 * i));
    d->len += SHARD_HEADER;
    if (weir_engine_snapshot_to(s->engine, d) != 0) {
        d->len = start;
        return -1;
    }
    return 0;
}

int weir_shard_write_state(weir_shard *s, void **out, size_t *len)
{
    weir_snapshot_dest d = {.grow = weir_snapshot_dest_realloc};
    if (weir_shard_write_state_to(s, &d) != 0) {
        free(d.data);
        return -1;
    }
    *out = d.data;
    *len = d.len;
    return 0;
}

/* A new engine for rs holding the state in (data, len); NULL with a
 * message in err. */
static weir_engine *restored_engine(weir_shard *s, const weir_ruleset *rs, const void *data,
                                    size_t len, uint64_t *line_no, weir_restore_report *rep,
                                    char *err, size_t errlen)
{
    const unsigned char *b = data;
    if (len < SHARD_HEADER || memcmp(b, SHARD_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a weir shard state");
        return NULL;
    }
    *line_no = 0;
    for (int i = 0; i < 8; i++)
        *line_no |= (uint64_t)b[8 + i] << (8 * i);
    weir_engine *e = make_engine(s, rs);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (weir_engine_restore(e, b + SHARD_HEADER, len - SHARD_HEADER, rep, err, errlen) != 0) {
        weir_engine_free(e);
        return NULL;
    }
    return e;
}

int weir_shard_restore(weir_shard *s, const weir_ruleset *rs, const void *data, size_t len,
                       weir_restore_report *rep, char *err, size_t errlen)
{
    weir_shard_drain(s);
    uint64_t line_no;
    weir_engine *e = restored_engine(s, rs, data, len, &line_no, rep, err, errlen);
    if (!e)
        return -1;
    if (reopen_splits(s, e, rs) != 0) {
        snprintf(err, errlen, "out of memory");
        weir_engine_free(e);
        return -1;
    }
    weir_engine_free(s->engine);
    s->engine = e;
    s->line_no = line_no;
    return 0;
}

static int swap_by_snapshot(weir_shard *s, const weir_ruleset *rs, weir_restore_report *rep);

int weir_shard_swap_rules(weir_shard *s, const weir_ruleset *rs, weir_restore_report *rep)
{
    weir_shard_drain(s);
    /* the state moves over when the streams are declared as before (a few
     * hash inserts per key); else it goes through a snapshot */
    weir_engine *e = make_engine(s, rs);
    if (!e)
        return -1;
    int adopted = weir_engine_adopt(e, s->engine, rep);
    if (adopted == 0 && reopen_splits(s, e, rs) == 0) {
        weir_engine_free(s->engine);
        s->engine = e;
        /* the dropped rules' states are freed over the next loop turns */
        if (weir_engine_sweep_pending(e))
            event_active(s->sweep_ev, EV_TIMEOUT, 0);
        return 0;
    }
    weir_engine_free(e);
    if (adopted != 1) {
        /* out of memory half-way: neither engine holds the whole state any
         * more. Run the new rules from nothing rather than a broken engine;
         * the caller hears of the failure */
        weir_engine *fresh = make_engine(s, rs);
        if (fresh && reopen_splits(s, fresh, rs) == 0) {
            weir_engine_free(s->engine);
            s->engine = fresh;
        } else {
            weir_engine_free(fresh);
        }
        return -1;
    }
    return swap_by_snapshot(s, rs, rep);
}

/* The swap through bytes: for rule sets whose streams differ. */
static int swap_by_snapshot(weir_shard *s, const weir_ruleset *rs, weir_restore_report *rep)
{
    void *snap;
    size_t len;
    if (weir_shard_snapshot(s, &snap, &len) != 0)
        return -1;
    char err[256];
    uint64_t line_no;
    weir_engine *e = restored_engine(s, rs, snap, len, &line_no, rep, err, sizeof err);
    free(snap);
    if (!e)
        return -1;
    if (reopen_splits(s, e, rs) != 0) {
        weir_engine_free(e);
        return -1;
    }
    weir_engine_free(s->engine);
    s->engine = e;
    return 0;
}

const weir_engine *weir_shard_engine(const weir_shard *s) { return s->engine; }
size_t weir_shard_queue_used(const weir_shard *s) { return weir_event_queue_used(s->queue); }
size_t weir_shard_queue_capacity(const weir_shard *s)
{
    return weir_event_queue_capacity(s->queue);
}
