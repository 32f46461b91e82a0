/* partitions.h — state kept per Kafka partition (--kafka-state-per-partition),
 * so that several weir processes in one consumer group share a job: each
 * holds the state of the partitions it is assigned, and on a rebalance
 * the state moves with its partition through the store.
 *
 * Every assigned partition number is a unit: its own engine (a one-shard
 * pool on the main loop), its own checkpoints under the job `JOB.pN` in
 * the store, and its own positions. The messages of partition N of every
 * subscribed topic go to unit N, so streams read from co-partitioned
 * topics (the same key to the same partition number, as Kafka's default
 * partitioner does for topics with equal partition counts) meet in one
 * engine, as Kafka Streams' tasks do.
 *
 *   assigned  the unit restores its newest checkpoint from the store (the
 *             previous owner's) and its partitions resume at the offsets
 *             that checkpoint holds (weir_partitions_resume_at, asked by
 *             the Kafka source in its rebalance callback); when the store
 *             cannot give it, the unit's messages wait (refused: the
 *             source pauses) and the restore is tried again every second;
 *             once restored, messages before its offsets (read from an
 *             older committed offset meanwhile) are skipped;
 *   running   a checkpoint every --checkpoint-interval, taken in place (a
 *             unit's engine holds one partition's keys), whose offsets are
 *             committed to the group once it is durable;
 *   revoked   once its last partition is revoked the unit takes a final
 *             checkpoint and is freed when it is stored; assigned again
 *             meanwhile, it simply goes on with its state.
 *
 * A unit's positions are the offsets after the last message it took, kept
 * from the messages' sequence numbers (weir_kafka_seq), so the final
 * checkpoint of a revoked partition still knows where it stands.
 *
 * Everything here runs on the main loop's thread. */
#ifndef WEIR_SERVER_PARTITIONS_H
#define WEIR_SERVER_PARTITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/log.h"
#include "server/shard.h"
#include "state/checkpointer.h"

struct event_base;
struct weir_kafka_source;
struct weir_shard_pool;

typedef struct weir_partitions weir_partitions;

typedef struct weir_partitions_options {
    struct event_base *base;
    const char *store;             /* a weir_store_open location */
    const char *job;               /* units are JOB.pN in it */
    unsigned keep;                 /* checkpoints kept per unit */
    int store_timeout_ms;
    uint64_t interval_ms;          /* between a unit's checkpoints */
    size_t queue_bytes;            /* each unit's queue */
    const weir_engine_options *eopt;
    const weir_shard_hooks *hooks; /* alerts and rejections, to the server */
    /* rules and flush, with their user (the server); the rest is the
     * units' own */
    const weir_checkpoint_hooks *checkpoint;
    const weir_log *log;
} weir_partitions_options;

/* The options are copied (the strings, eopt, hooks and log must outlive
 * the result); rs is the rule set units start with. NULL when out of
 * memory. */
weir_partitions *weir_partitions_new(const weir_partitions_options *opt,
                                     const weir_ruleset *rs);
/* Frees every unit at once (no final checkpoint: see
 * weir_partitions_stop). Accepts NULL. */
void weir_partitions_free(weir_partitions *p);
/* The source whose offsets the units commit (borrowed; NULL: none). */
void weir_partitions_set_source(weir_partitions *p, struct weir_kafka_source *k);

/* The Kafka source's callbacks (kafka_source.h). resume_at makes the
 * partition's unit (restoring it from the store) when it has none. */
int64_t weir_partitions_resume_at(weir_partitions *p, const char *topic, int32_t partition);
void weir_partitions_split_open(weir_partitions *p, uint32_t split, const char *topic,
                                int32_t partition);
void weir_partitions_split_close(weir_partitions *p, uint32_t split);
/* One message of `split` at position seq: 1 taken, 0 refused (the unit's
 * queue is full: the hooks' on_room follows), -1 no unit has that split. */
int weir_partitions_submit(weir_partitions *p, uint32_t split, uint64_t seq, const char *line,
                           size_t len, uint32_t tag);
size_t weir_partitions_max_line(const weir_partitions *p);

/* Every unit moves to rs (weir_shard_pool_swap_rules); new units start
 * with it. Keys and held events kept are added to rep. -1 when a unit
 * could not (it stays on the old rules). */
int weir_partitions_swap_rules(weir_partitions *p, const weir_ruleset *rs,
                               weir_restore_report *rep);

/* Shutdown: each unit takes a final checkpoint (checkpoint) or else
 * processes what it holds to the end (weir_shard_pool_finish).
 * weir_partitions_stopped is true once every final checkpoint is done. */
void weir_partitions_stop(weir_partitions *p, bool checkpoint);
bool weir_partitions_stopped(const weir_partitions *p);

/* Units alive now (partitions numbers assigned, or being released). */
size_t weir_partitions_count(const weir_partitions *p);
/* Units waiting for their state (the store could not give it yet). */
size_t weir_partitions_unrestored(const weir_partitions *p);
/* Unit i's pool (i below weir_partitions_count), for the counters. */
struct weir_shard_pool *weir_partitions_pool(weir_partitions *p, size_t i);
/* Checkpoints of every unit (completed, failed; the last error of any). */
void weir_partitions_checkpoint_stats(const weir_partitions *p, weir_checkpoint_stats *sum);
/* Units restored from a checkpoint, and released, since start. */
void weir_partitions_moves(const weir_partitions *p, uint64_t *restored, uint64_t *released);

/* The units' counters added to the main shards' (p may be NULL: nothing
 * added), as weir_shard_stats_add and weir_shard_detail_add do (streams
 * may be NULL with n_streams 0). -1 when out of memory (nothing added). */
void weir_partitions_add_stats(weir_partitions *p, weir_engine_stats *out);
int weir_partitions_add_detail(weir_partitions *p, weir_rule_stats *rules, size_t n_rules,
                               weir_stream_stats *streams, size_t n_streams);
void weir_partitions_add_splits(weir_partitions *p, uint64_t *active, uint64_t *idle);
int weir_partitions_add_state_bytes(weir_partitions *p, uint64_t *out, size_t n_rules);
void weir_partitions_add_queue(const weir_partitions *p, size_t *used, size_t *capacity);

#endif
