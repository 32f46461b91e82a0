/* kafka_sink.h — alerts to a Kafka topic: an idempotent producer (no
 * duplicates or reordering from its own retries), the alert id as the
 * message key (so a compacted topic keeps one copy per alert, and a
 * consumer can drop replays), the alert JSON as the value. Delivery reports
 * arrive through an eventfd on the libevent loop. */
#ifndef WEIR_IO_KAFKA_SINK_H
#define WEIR_IO_KAFKA_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/log.h"

struct event_base;
typedef struct weir_kafka_sink weir_kafka_sink;

/* conf_path: librdkafka properties applied over weir's (kafka_conf.h), or
 * NULL. */
weir_kafka_sink *weir_kafka_sink_new(struct event_base *base, const char *name,
                                     const char *brokers, const char *topic,
                                     const char *conf_path, const weir_log *log, char *err,
                                     size_t err_cap);
/* Waits up to timeout_ms until every alert sent so far is acknowledged by
 * the cluster (a checkpoint must not count alerts that could still be
 * lost). 0, or -1 when some were not by then. */
int weir_kafka_sink_flush(weir_kafka_sink *k, int timeout_ms);
/* Waits up to timeout_ms for messages in flight, then frees. Accepts NULL. */
void weir_kafka_sink_free(weir_kafka_sink *k, int timeout_ms);
/* Queues one alert (copied); -1 when the producer refused it (counted). */
int weir_kafka_sink_send(weir_kafka_sink *k, const char *id, const char *json, size_t len);
bool weir_kafka_sink_idle(const weir_kafka_sink *k);
uint64_t weir_kafka_sink_delivered(const weir_kafka_sink *k);
uint64_t weir_kafka_sink_failed(const weir_kafka_sink *k);
uint64_t weir_kafka_sink_queued(const weir_kafka_sink *k);

#endif
