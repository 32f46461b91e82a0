/* kafka_sink.h — alerts to a Kafka topic: an idempotent producer (no
 * duplicates or reordering from its own retries), the alert id as the
 * message key (so a compacted topic keeps one copy per alert, and a
 * consumer can drop replays), the alert JSON as the value. Delivery reports
 * arrive through an eventfd on the libevent loop.
 *
 * Transactional mode (`sink NAME kafka "topic" transactional`): the
 * producer has a transactional.id (stable for the job and the sink, so a
 * restarted weir fences its dead predecessor and aborts its open
 * transaction) and writes the alerts of one checkpoint interval in one
 * transaction, committed only once the checkpoint that covers them is
 * durable, together with that checkpoint's Kafka offsets. The server
 * drives it from the checkpoint hooks:
 *
 *   barrier   weir_kafka_sink_cut: the open transaction holds every alert
 *             raised before the cut; later alerts are held in memory
 *   parts     weir_kafka_sink_pending: those alerts, for the checkpoint
 *             (a restart that finds the transaction aborted produces them
 *             again: the restored state will not raise them)
 *   durable   weir_kafka_sink_commit: the offsets go into the transaction,
 *             which is committed; the next one begins with the held alerts
 *
 * Every blocking librdkafka call is given a short slice (TXN_SLICE_MS) and
 * called again from a timer until it is done (they are resumable), so a
 * slow commit holds alerts back but never freezes the loop. An abortable
 * failure aborts the transaction and writes its alerts again in the next
 * one; a fatal one (fenced by another process with the same id) stops the
 * sink: its alerts are counted as failed and readyz says why. */
#ifndef WEIR_IO_KAFKA_SINK_H
#define WEIR_IO_KAFKA_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/log.h"

struct event_base;
struct rd_kafka_consumer_group_metadata_s;
typedef struct weir_kafka_sink weir_kafka_sink;

/* conf_path: librdkafka properties applied over weir's (kafka_conf.h), or
 * NULL. transactional_id: NULL for a plain idempotent producer; otherwise
 * transactions are initialised (blocking up to timeout_ms; on timeout
 * they are retried in the background and alerts wait) and timeout_ms is
 * also how long a commit may take before the sink reports itself failing. */
weir_kafka_sink *weir_kafka_sink_new(struct event_base *base, const char *name,
                                     const char *brokers, const char *topic,
                                     const char *conf_path, const char *transactional_id,
                                     int timeout_ms, const weir_log *log, char *err,
                                     size_t err_cap);
/* Waits up to timeout_ms until every alert sent so far is acknowledged by
 * the cluster (a checkpoint must not count alerts that could still be
 * lost). 0, or -1 when some were not by then. Not for transactional
 * sinks (weir_kafka_sink_cut). */
int weir_kafka_sink_flush(weir_kafka_sink *k, int timeout_ms);
/* Waits up to timeout_ms for messages in flight (a transactional sink: for
 * a commit under way; an open transaction is aborted), then frees.
 * Accepts NULL. */
void weir_kafka_sink_free(weir_kafka_sink *k, int timeout_ms);
/* Queues one alert (copied); -1 when the producer refused it (counted). A
 * transactional sink holds it in memory while a transaction is being
 * resolved. */
int weir_kafka_sink_send(weir_kafka_sink *k, const char *id, const char *json, size_t len);
bool weir_kafka_sink_idle(const weir_kafka_sink *k);
uint64_t weir_kafka_sink_delivered(const weir_kafka_sink *k);
uint64_t weir_kafka_sink_failed(const weir_kafka_sink *k);
uint64_t weir_kafka_sink_queued(const weir_kafka_sink *k);

/* ---- transactional mode ----------------------------------------------- */

bool weir_kafka_sink_transactional(const weir_kafka_sink *k);
/* A checkpoint's barrier: the open transaction is cut here. 0, or -1 with
 * a message when it cannot be (the previous transaction is still being
 * committed, or the sink stopped): the checkpoint fails and is retried.
 * Called again before a commit (the checkpoint failed), the alerts held
 * since go into the transaction too. */
int weir_kafka_sink_cut(weir_kafka_sink *k, char *err, size_t errlen);
/* Appends the cut transaction's alerts to *buf (capacity *cap, length
 * *len) as records "SINK<TAB>ID<TAB>LENGTH\nJSON\n". 0, or -1 when out of
 * memory. */
int weir_kafka_sink_pending(const weir_kafka_sink *k, char **buf, size_t *cap, size_t *len);
/* The checkpoint `checkpoint_id` that the last cut belongs to is durable:
 * its offsets (offsets text, may be empty) go into the transaction with
 * the metadata "weir checkpoint ID" (group: the source consumer's, taken
 * over and destroyed by the sink; NULL without a Kafka source), then the
 * transaction is committed in the background. */
void weir_kafka_sink_commit(weir_kafka_sink *k, uint64_t checkpoint_id, const char *offsets,
                            size_t len, struct rd_kafka_consumer_group_metadata_s *group);
/* The offsets metadata of a checkpoint's transaction, into buf. */
void weir_kafka_txn_metadata(uint64_t checkpoint_id, char *buf, size_t cap);
/* Produces again (into the open transaction) the records of `name` in a
 * restored checkpoint's pending alerts. The number produced. */
size_t weir_kafka_sink_reproduce(weir_kafka_sink *k, const char *records, size_t len);

typedef struct weir_kafka_txn_stats {
    uint64_t committed, aborted;           /* transactions */
    uint64_t retriable, abortable, fatal;  /* errors from the transactional API */
    uint64_t reproduced;                   /* pending alerts of a restored checkpoint */
    uint64_t held;                         /* alerts waiting for a transaction */
    double last_commit_seconds;            /* durable to committed, the last one */
    const char *state;                     /* "open", "cut", "committing", ... */
} weir_kafka_txn_stats;

void weir_kafka_sink_txn_stats(const weir_kafka_sink *k, weir_kafka_txn_stats *out);
/* true with a message when the sink's transactions are failing: stopped
 * for good, or one not resolved after its timeout (readyz). */
bool weir_kafka_sink_txn_failing(const weir_kafka_sink *k, char *msg, size_t cap);

#endif
