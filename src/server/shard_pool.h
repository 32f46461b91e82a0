/* shard_pool.h — the engine shards of `weir serve`, behind one interface.
 *
 * With one shard, the shard runs on the main loop and its callbacks are
 * called directly. With N > 1 each shard is a thread with its own event
 * loop and engine; the main thread routes each line to the shard that owns
 * its key, through that shard's bounded single-producer queue and an
 * eventfd. Alerts, dead letters and "room again" come back through a
 * second queue per shard and are dispatched to the hooks on the main
 * thread, so everything outside the shards stays single-threaded and
 * lock-free.
 *
 * Routing: a key is a hash of its value, so every rule's state of a key
 * lives in one shard. The field to read is per stream: every rule reading
 * a stream must key it by the same field (`payments by card` everywhere,
 * `logins by user` everywhere is fine; `payments by card` in one rule and
 * `payments by merchant` in another is not). When all streams key by one
 * field name the line is routed by that field alone (the common case, no
 * stream lookup); otherwise the line's stream is found as the engine will
 * (its stream field, else its split's topic stream, else --stream) and its
 * stream's field is read. Lines of a stream no rule reads, and lines that
 * will be dead letters, go to shard 0.
 *
 * Splits (Kafka partitions, weir/engine.h): a partition's keys are spread
 * over every shard, so every shard opens and closes every split, through
 * its queue in order with the lines. A shard whose keys are rare in a
 * partition would see its split advance slowly, or never: every
 * PROGRESS_PERIOD_MS the main thread gathers each split's largest event
 * time over the shards and, when it moved or the split had events, sends
 * it to all of them (weir_engine_split_advance), as Flink broadcasts a
 * source's watermark to every parallel instance downstream. A shard's
 * split is thus never ahead of the partition's events that shard was sent,
 * so this adds no late event; it only lets the slower shards catch up
 * within a period. */
#ifndef WEIR_SERVER_SHARD_POOL_H
#define WEIR_SERVER_SHARD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/shard.h"

typedef struct weir_shard_pool weir_shard_pool;

/* Whether rs can be split over several shards (every stream keyed by one
 * field); if not, false with the reason in why. On success *key is the
 * field every stream is keyed by when they agree, else NULL (borrowed
 * from rs); key may be NULL. */
bool weir_shard_pool_shardable(const weir_ruleset *rs, const char **key, char *why,
                               size_t why_cap);

/* n shards running rs (n > 1 needs weir_shard_pool_shardable(rs)). NULL
 * with a message in err. */
weir_shard_pool *weir_shard_pool_new(struct event_base *main_base, unsigned n,
                                     const weir_ruleset *rs, const weir_engine_options *eopt,
                                     size_t queue_bytes, const weir_shard_hooks *hooks,
                                     char *err, size_t err_cap);
/* Stops the shard threads (after weir_shard_pool_finish if their state
 * matters) and frees everything. Accepts NULL. */
void weir_shard_pool_free(weir_shard_pool *p);
unsigned weir_shard_pool_count(const weir_shard_pool *p);

/* Routes one line read from `split` (WEIR_SHARD_NO_SPLIT: none) to its
 * shard; false when that shard's queue is full. */
bool weir_shard_pool_submit(weir_shard_pool *p, const char *line, size_t len, uint32_t tag,
                            uint32_t split);
/* The same with the event's own sequence number (weir_shard_enqueue_seq;
 * 0: the shard numbers it). */
bool weir_shard_pool_submit_seq(weir_shard_pool *p, const char *line, size_t len, uint32_t tag,
                                uint32_t split, uint64_t seq);

/* A split (below WEIR_SHARD_MAX_SPLITS) reading Kafka topic `topic`
 * opens, or closes, on every shard, after the lines submitted so far. */
void weir_shard_pool_split_open(weir_shard_pool *p, uint32_t split, const char *topic);
void weir_shard_pool_split_close(weir_shard_pool *p, uint32_t split);
size_t weir_shard_pool_max_line(const weir_shard_pool *p);

/* Returns once every line submitted so far went through its engine and the
 * resulting callbacks were called (on this thread). */
void weir_shard_pool_sync(weir_shard_pool *p);
/* End of input on every shard; returns once their callbacks are done. */
void weir_shard_pool_finish(weir_shard_pool *p);
/* A barrier, then every shard moves to rs keeping the state of the rules
 * whose name and fingerprint did not change (weir_shard_swap_rules);
 * returns once all did (rs must outlive the pool or the next swap). rep
 * (may be NULL): keys and held events summed over shards. -1 if one
 * failed: then every shard is back on the old rules, with its state. */
int weir_shard_pool_swap_rules(weir_shard_pool *p, const weir_ruleset *rs,
                               weir_restore_report *rep);

/* A barrier through every shard: each processes every line submitted so
 * far, then writes its state (weir_shard_snapshot). The caller is the only
 * submitter, so the states and what the sources handed in by now form one
 * consistent cut. blobs and lens have weir_shard_pool_count() entries;
 * the blobs are malloc'd, the caller frees them. Returns 0, or -1 (out of
 * memory; nothing to free). */
int weir_shard_pool_snapshot(weir_shard_pool *p, void **blobs, size_t *lens);
/* The same barrier, but the shards then stay stopped, their engines as
 * they were at the cut, until weir_shard_pool_unpark: meanwhile the
 * caller may read them (weir_shard_pool_shard), for instance fork a copy
 * of the process that writes them while the shards go on. Returns 0, or
 * -1 (nothing is parked). */
int weir_shard_pool_park(weir_shard_pool *p);
void weir_shard_pool_unpark(weir_shard_pool *p);
/* Shard i (below weir_shard_pool_count): for a parked pool only. */
weir_shard *weir_shard_pool_shard(weir_shard_pool *p, unsigned i);

/* Every shard replaces its engine with one running rs restored from its
 * blob (n must be the shard count: keys are spread over shards by hash).
 * Returns 0, or -1 with a message in err. */
int weir_shard_pool_restore(weir_shard_pool *p, const weir_ruleset *rs,
                            const void *const *blobs, const size_t *lens, size_t n,
                            weir_restore_report *rep, char *err, size_t errlen);

/* Each rule's weir_engine_rule_state_bytes summed over shards, into
 * out[n_rules] (ruleset order). Waits for every shard: for API calls. */
void weir_shard_pool_state_bytes(weir_shard_pool *p, uint64_t *out, size_t n_rules);

/* Adds s to out: counts summed, the watermark the lowest (INT64_MIN: none
 * yet, on either side). For totals over several pools. */
void weir_shard_stats_add(weir_engine_stats *out, const weir_engine_stats *s);
/* The same for per rule and per stream counters (a stream's time: the
 * latest; its watermark: the lowest that is set). */
void weir_shard_detail_add(weir_rule_stats *rules, const weir_rule_stats *add_rules,
                           size_t n_rules, weir_stream_stats *streams,
                           const weir_stream_stats *add_streams, size_t n_streams);
/* Counters summed over shards (watermark: the lowest). With threads the
 * figures are at most 100 ms old. */
void weir_shard_pool_stats(weir_shard_pool *p, weir_engine_stats *out);
/* Per rule (n_rules, ruleset order) counters summed over shards, and per
 * stream (n_streams) events, latest time and watermark. Same age as
 * weir_shard_pool_stats(). */
void weir_shard_pool_detail(weir_shard_pool *p, weir_rule_stats *rules, size_t n_rules,
                            weir_stream_stats *streams, size_t n_streams);
/* Kafka partitions open in the engines (as the first shard has them; the
 * same figures at most 100 ms old with threads): those holding their
 * streams back, and the idle ones. */
void weir_shard_pool_splits(weir_shard_pool *p, uint64_t *active, uint64_t *idle);
size_t weir_shard_pool_queue_used(const weir_shard_pool *p);
size_t weir_shard_pool_queue_capacity(const weir_shard_pool *p);

/* The value of key_field in a JSON object line: its bytes (inside the
 * quotes for a string). false when the line is not an object with that
 * member at the top level. Exposed for tests. */
bool weir_shard_pool_find_key(const char *line, size_t len, const char *key, size_t key_len,
                              const char **value, size_t *value_len);

#endif
