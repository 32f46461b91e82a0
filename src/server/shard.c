/* shard.c — an engine fed from a bounded queue on an event loop; see
 * shard.h. Lines get their engine line number (which orders equal
 * timestamps and seeds alert ids) when they are drained, so numbering is
 * per shard and gap-free whatever the sources do. */
#include <event2/event.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/event_queue.h"
#include "server/shard.h"

/* Lines per loop turn: enough to amortise the wake-up, few enough that
 * sockets and the HTTP API are served in between. */
#define DRAIN_BATCH 4096

struct weir_shard {
    struct event_base *base;
    weir_engine *engine;          /* owned */
    weir_engine_options eopt;     /* copy; callbacks point at this shard */
    weir_event_queue *queue;      /* owned */
    struct event *drain_ev;       /* owned */
    weir_shard_hooks hooks;
    uint64_t line_no;             /* last number given */
    uint32_t current_tag;         /* tag of the line being pushed */
    _Atomic bool refused;         /* a submit failed: call on_room later
                                     (set by the producer's thread) */
    _Atomic uint64_t processed;   /* lines popped (read by the producer) */
};

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
        s->current_tag = tag;
        /* out of memory on one event: it is counted by the engine as an
         * event; nothing better to do than move on */
        (void)weir_engine_push_padded(s->engine, line, len, ++s->line_no);
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
    s->queue = weir_event_queue_new(queue_bytes);
    s->drain_ev = event_new(base, -1, 0, drain_cb, s);
    s->engine = s->queue && s->drain_ev ? make_engine(s, rs) : NULL;
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
    weir_engine_free(s->engine);
    weir_event_queue_free(s->queue);
    free(s);
}

bool weir_shard_enqueue(weir_shard *s, const char *line, size_t len, uint32_t tag)
{
    if (weir_event_queue_push(s->queue, line, len, tag))
        return true;
    if (len > weir_event_queue_max_line(s->queue))
        return false;
    atomic_store(&s->refused, true);
    /* The consumer may have made room and looked at `refused` just before
     * it was set; trying once more closes that window: if this fails too,
     * the queue is over half full, so the consumer will pop again and see
     * the flag. */
    return weir_event_queue_push(s->queue, line, len, tag);
}

void weir_shard_kick(weir_shard *s)
{
    /* activating an active event only merges flags: no need to check */
    event_active(s->drain_ev, EV_TIMEOUT, 0);
}

bool weir_shard_submit(weir_shard *s, const char *line, size_t len, uint32_t tag)
{
    if (!weir_shard_enqueue(s, line, len, tag))
        return false;
    weir_shard_kick(s);
    return true;
}

uint64_t weir_shard_processed(const weir_shard *s)
{
    return atomic_load_explicit(&s->processed, memory_order_acquire);
}

size_t weir_shard_max_line(const weir_shard *s) { return weir_event_queue_max_line(s->queue); }

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

/* A shard's state: a magic, its line counter (alert ids derive from line
 * numbers, so a restored shard must go on numbering where it stopped),
 * then its engine's snapshot (doc/state-format.md). */
#define SHARD_MAGIC "WEIRSHRD"
#define SHARD_HEADER 16

int weir_shard_snapshot(weir_shard *s, void **out, size_t *len)
{
    weir_shard_drain(s);
    void *snap;
    size_t n;
    if (weir_engine_snapshot(s->engine, &snap, &n) != 0)
        return -1;
    unsigned char *b = malloc(SHARD_HEADER + n);
    if (!b) {
        free(snap);
        return -1;
    }
    memcpy(b, SHARD_MAGIC, 8);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (unsigned char)(s->line_no >> (8 * i));
    memcpy(b + SHARD_HEADER, snap, n);
    free(snap);
    *out = b;
    *len = SHARD_HEADER + n;
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
    weir_engine_free(s->engine);
    s->engine = e;
    s->line_no = line_no;
    return 0;
}

int weir_shard_swap_rules(weir_shard *s, const weir_ruleset *rs, weir_restore_report *rep)
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
