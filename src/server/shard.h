/* shard.h — one engine and the queue that feeds it.
 *
 * A shard owns a weir_engine and a bounded event queue. Sources push lines
 * into the queue (weir_shard_submit) and the shard drains it from its
 * event loop in batches, so a burst on one connection cannot starve the
 * others or the HTTP API. When the queue is full submit says so and the
 * source stops reading; the shard calls on_room once the queue is half
 * empty again. Today there is one shard on the main loop; several shards
 * will each run this on their own thread and loop, with sources routing
 * lines by key hash (the queue is already single-producer safe). */
#ifndef WEIR_SERVER_SHARD_H
#define WEIR_SERVER_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/engine.h"

struct event_base;

typedef struct weir_shard weir_shard;

typedef struct weir_shard_hooks {
    weir_alert_cb on_alert;
    /* Dead letters and late events, with the tag the line was submitted with
     * (which source it came from). */
    void (*on_rejected)(void *user, uint32_t tag, bool late, const weir_rejected *r);
    /* The queue has room again after a submit was refused. */
    void (*on_room)(void *user);
    void *user;
} weir_shard_hooks;

/* The engine options' callbacks are the shard's own; the rest of *eopt
 * (stream field, default stream, full events) is used as given. NULL on
 * failure (out of memory, or an unknown default stream). */
weir_shard *weir_shard_new(struct event_base *base, const weir_ruleset *rs,
                           const weir_engine_options *eopt, size_t queue_bytes,
                           const weir_shard_hooks *hooks);
void weir_shard_free(weir_shard *s);

/* Queues one line. false when the queue is full (the caller keeps the
 * line, stops reading and waits for on_room), or when the line can never
 * fit (len > weir_shard_max_line: the caller rejects it). */
bool weir_shard_submit(weir_shard *s, const char *line, size_t len, uint32_t tag);
size_t weir_shard_max_line(const weir_shard *s);

/* weir_shard_submit in two halves, for a producer on another thread:
 * enqueue (any one thread) copies the line in; kick (the shard's own
 * thread) schedules the drain. */
bool weir_shard_enqueue(weir_shard *s, const char *line, size_t len, uint32_t tag);
void weir_shard_kick(weir_shard *s);
/* Lines taken off the queue so far (any thread). */
uint64_t weir_shard_processed(const weir_shard *s);

/* Feeds every queued line to the engine now. */
void weir_shard_drain(weir_shard *s);

/* Drains, then ends the input: every held event is processed and every
 * pending deadline and window fires (used at shutdown). */
void weir_shard_finish(weir_shard *s);

/* Drains into the current engine, then replaces it with one running rs
 * (which must outlive the shard or the next swap) that keeps the state of
 * every rule whose name and fingerprint did not change; changed and new
 * rules start empty, removed ones are dropped (weir_engine_restore). rep
 * (may be NULL) says which. Returns 0, or -1 (the old engine stays) when
 * out of memory. */
int weir_shard_swap_rules(weir_shard *s, const weir_ruleset *rs, weir_restore_report *rep);

/* Drains, then writes the shard's state (its line counter and its engine's
 * snapshot) into a malloc'd buffer. Returns 0, or -1 when out of memory. */
int weir_shard_snapshot(weir_shard *s, void **out, size_t *len);
/* Drains into the current engine, then replaces it with one running rs
 * restored from a weir_shard_snapshot. Returns 0, or -1 with a message in
 * err (a bad state, or out of memory): the old engine stays. */
int weir_shard_restore(weir_shard *s, const weir_ruleset *rs, const void *data, size_t len,
                       weir_restore_report *rep, char *err, size_t errlen);

const weir_engine *weir_shard_engine(const weir_shard *s);
size_t weir_shard_queue_used(const weir_shard *s);
size_t weir_shard_queue_capacity(const weir_shard *s);

#endif
