/* shard.h — one engine and the queue that feeds it.
 *
 * A shard owns a weir_engine and a bounded event queue. Sources push lines
 * into the queue (weir_shard_submit) and the shard drains it from its
 * event loop in batches, so a burst on one connection cannot starve the
 * others or the HTTP API. When the queue is full submit says so and the
 * source stops reading; the shard calls on_room once the queue is half
 * empty again. One shard runs on the main loop, or several each on their
 * own thread and loop (shard_pool.h); the queue is single-producer safe.
 *
 * Splits (weir/engine.h): a line may come from a split, a Kafka partition.
 * Opening, closing and the progress of splits travel through the same
 * queue as control records, so each takes effect exactly between the
 * lines the producer queued before and after it: a split is open before
 * its first line and closes after its last. The shard keeps the topic of
 * every open split, maps it to a stream through the rules' `from kafka`
 * clauses, and opens them all again in the engine a rule swap makes. A
 * timer ticks the engine every SPLIT_TICK_MS for the idle timeout. The
 * progress other shards made on a split or a stream comes the same way. */
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

/* No split: a line from TCP, HTTP or a file. */
#define WEIR_SHARD_NO_SPLIT UINT32_MAX
/* Split ids are below this (they share the queue's tag with the source). */
#define WEIR_SHARD_MAX_SPLITS ((uint32_t)1 << 22)

/* Queues one line from `split` (WEIR_SHARD_NO_SPLIT: none; tag: the
 * source, below 256, handed back to on_rejected). false when the queue is
 * full (the caller keeps the line, stops reading and waits for on_room),
 * or when the line can never fit (len > weir_shard_max_line: the caller
 * rejects it). */
bool weir_shard_submit(weir_shard *s, const char *line, size_t len, uint32_t tag,
                       uint32_t split);
size_t weir_shard_max_line(const weir_shard *s);

/* weir_shard_submit in two halves, for a producer on another thread:
 * enqueue (any one thread, the producer) copies the line in; kick (the
 * shard's own thread) schedules the drain. */
bool weir_shard_enqueue(weir_shard *s, const char *line, size_t len, uint32_t tag,
                        uint32_t split);
/* The same for a line whose event has its own sequence number (seq > 0:
 * a Kafka message's, weir_kafka_seq), which the engine then uses instead
 * of the shard's count of lines: what alert ids are made of. */
bool weir_shard_enqueue_seq(weir_shard *s, const char *line, size_t len, uint32_t tag,
                            uint32_t split, uint64_t seq);
bool weir_shard_submit_seq(weir_shard *s, const char *line, size_t len, uint32_t tag,
                           uint32_t split, uint64_t seq);
void weir_shard_kick(weir_shard *s);
/* Records taken off the queue so far, lines and control records (any
 * thread). */
uint64_t weir_shard_processed(const weir_shard *s);
/* Records put on the queue so far (the producer's thread): a barrier waits
 * until processed reaches it. */
uint64_t weir_shard_enqueued(const weir_shard *s);

/* Split control records (producer side, like enqueue; kick afterwards):
 * `split` (below WEIR_SHARD_MAX_SPLITS) opens, reading Kafka topic
 * `topic`, or closes. Never refused: a record that finds the queue full
 * waits in a producer-side list, which goes first when a line is enqueued
 * or weir_shard_flush is called. */
void weir_shard_split_open(weir_shard *s, uint32_t split, const char *topic);
void weir_shard_split_close(weir_shard *s, uint32_t split);
/* The split reached event time `time` in another shard. false when the
 * queue had no room: then nothing was queued (the next progress says
 * more; send it then). */
bool weir_shard_split_progress(weir_shard *s, uint32_t split, int64_t time);
/* The same for stream `stream` (index in the rules running now) read from
 * no split: another shard saw its event at `time`. */
bool weir_shard_stream_progress(weir_shard *s, size_t stream, int64_t time);
/* Queues control records that waited for room; true when none wait. */
bool weir_shard_flush(weir_shard *s);

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
/* The same without draining: the state as it stands, lines still queued
 * left out. For a copy of the process made at a barrier (a fork), where
 * the queue is empty and nothing else may run. */
int weir_shard_write_state(weir_shard *s, void **out, size_t *len);
/* The same, appended to d. Returns 0, or -1 (d->len unchanged) when d
 * cannot grow or memory runs out. */
int weir_shard_write_state_to(weir_shard *s, weir_snapshot_dest *d);
/* Drains into the current engine, then replaces it with one running rs
 * restored from a weir_shard_snapshot. Returns 0, or -1 with a message in
 * err (a bad state, or out of memory): the old engine stays. */
int weir_shard_restore(weir_shard *s, const weir_ruleset *rs, const void *data, size_t len,
                       weir_restore_report *rep, char *err, size_t errlen);

const weir_engine *weir_shard_engine(const weir_shard *s);
size_t weir_shard_queue_used(const weir_shard *s);
size_t weir_shard_queue_capacity(const weir_shard *s);

#endif
