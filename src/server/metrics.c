/* metrics.c — GET /metrics: every counter of the server in Prometheus's
 * text exposition format (version 0.0.4). Names are listed once in the
 * order they are written; counters end in _total; times are milliseconds
 * since the epoch, as in the alerts. Rule and sink names are identifiers of
 * the rule language, so they need no escaping inside label values. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "io/file_sink.h"
#include "io/kafka_sink.h"
#include "io/tcp_source.h"
#include "io/webhook.h"
#include "server/alert_ring.h"
#include "server/server-internal.h"
#include "server/shard_pool.h"
#include "server/partitions.h"
#include "state/checkpointer.h"

static void header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    header(f, name, type, help);
    fprintf(f, "%s %" PRIu64 "\n", name, v);
}

#define PER_SOURCE(f, name, help, field)                                                   \
    do {                                                                                   \
        header(f, name, "counter", help);                                                  \
        for (int i_ = 0; i_ < WEIR_N_SOURCES; i_++)                                        \
            fprintf(f, "%s{source=\"%s\"} %" PRIu64 "\n", name, weir_source_names[i_],     \
                    srv->sources[i_].field);                                               \
    } while (0)

/* One labelled series per rule or stream, from an array of structs. */
#define PER(f, kind, label, name, type, help, n, arr, expr)                                 \
    do {                                                                                   \
        header(f, name, type, help);                                                       \
        for (size_t i_ = 0; i_ < (n); i_++)                                                \
            fprintf(f, "%s{" label "=\"%s\"} %" PRIu64 "\n", name,                         \
                    weir_ruleset_##kind##_name(srv->rs, i_), (uint64_t)(arr)[i_].expr);     \
    } while (0)

/* The transactional Kafka sinks: how their transactions ended, the errors
 * librdkafka's transactional API gave (by how weir treats them), the
 * pending alerts of a restored checkpoint produced again, and how long the
 * last commit took from its checkpoint being durable. */
static void kafka_transactions(const weir_server *srv, FILE *f)
{
    static const char *const results[] = {"committed", "aborted"};
    static const char *const kinds[] = {"retriable", "abortable", "fatal"};
    header(f, "weir_kafka_transactions_total", "counter",
           "Transactions of a transactional Kafka sink, by how they ended.");
    for (size_t i = 0; i < srv->n_sinks; i++) {
        if (!srv->sinks[i].kafka || !weir_kafka_sink_transactional(srv->sinks[i].kafka))
            continue;
        weir_kafka_txn_stats t;
        weir_kafka_sink_txn_stats(srv->sinks[i].kafka, &t);
        uint64_t v[] = {t.committed, t.aborted};
        for (size_t r = 0; r < 2; r++)
            fprintf(f, "weir_kafka_transactions_total{sink=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                    srv->sinks[i].name, results[r], v[r]);
    }
    header(f, "weir_kafka_transaction_errors_total", "counter",
           "Errors of the transactional API: retriable (retried), abortable (the "
           "transaction is aborted and its alerts written again), fatal (the sink stops).");
    for (size_t i = 0; i < srv->n_sinks; i++) {
        if (!srv->sinks[i].kafka || !weir_kafka_sink_transactional(srv->sinks[i].kafka))
            continue;
        weir_kafka_txn_stats t;
        weir_kafka_sink_txn_stats(srv->sinks[i].kafka, &t);
        uint64_t v[] = {t.retriable, t.abortable, t.fatal};
        for (size_t r = 0; r < 3; r++)
            fprintf(f, "weir_kafka_transaction_errors_total{sink=\"%s\",kind=\"%s\"} %" PRIu64 "\n",
                    srv->sinks[i].name, kinds[r], v[r]);
    }
    header(f, "weir_kafka_pending_alerts_reproduced_total", "counter",
           "Alerts of a restored checkpoint whose transaction was not committed, produced again.");
    for (size_t i = 0; i < srv->n_sinks; i++) {
        if (!srv->sinks[i].kafka || !weir_kafka_sink_transactional(srv->sinks[i].kafka))
            continue;
        weir_kafka_txn_stats t;
        weir_kafka_sink_txn_stats(srv->sinks[i].kafka, &t);
        fprintf(f, "weir_kafka_pending_alerts_reproduced_total{sink=\"%s\"} %" PRIu64 "\n",
                srv->sinks[i].name, t.reproduced);
    }
    header(f, "weir_kafka_transaction_commit_seconds", "gauge",
           "The last transaction's commit: from its checkpoint being durable to committed.");
    for (size_t i = 0; i < srv->n_sinks; i++) {
        if (!srv->sinks[i].kafka || !weir_kafka_sink_transactional(srv->sinks[i].kafka))
            continue;
        weir_kafka_txn_stats t;
        weir_kafka_sink_txn_stats(srv->sinks[i].kafka, &t);
        fprintf(f, "weir_kafka_transaction_commit_seconds{sink=\"%s\"} %.6f\n",
                srv->sinks[i].name, t.last_commit_seconds);
    }
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What each rule did and holds, and how far each stream's event time got:
 * its watermark and the watermark's lag behind the wall clock (how far
 * behind real time the alerts of that stream can be). */
static int per_rule_and_stream(const weir_server *srv, FILE *f)
{
    size_t n_rules = weir_ruleset_rule_count(srv->rs);
    size_t n_streams = weir_ruleset_stream_count(srv->rs);
    weir_rule_stats *rules = calloc(n_rules ? n_rules : 1, sizeof *rules);
    weir_stream_stats *streams = calloc(n_streams ? n_streams : 1, sizeof *streams);
    if (!rules || !streams) {
        free(rules);
        free(streams);
        return -1;
    }
    weir_shard_pool_detail(srv->shards, rules, n_rules, streams, n_streams);
    (void)weir_partitions_add_detail(srv->partitions, rules, n_rules, streams, n_streams);
    PER(f, rule, "rule", "weir_rule_alerts_total", "counter", "Alerts raised, by rule.", n_rules,
        rules, alerts);
    PER(f, rule, "rule", "weir_rule_events_total", "counter",
        "Events with a key fed to the rule.", n_rules, rules, events);
    PER(f, rule, "rule", "weir_rule_matches_total", "counter",
        "Detections of the rule: its alerts plus the throttled ones.", n_rules, rules, matches);
    PER(f, rule, "rule", "weir_rule_throttled_total", "counter",
        "Detections suppressed by the rule's throttle.", n_rules, rules, throttled);
    PER(f, rule, "rule", "weir_rule_keys", "gauge", "Keys holding state of the rule now.",
        n_rules, rules, keys);
    PER(f, rule, "rule", "weir_rule_partial_matches", "gauge",
        "Partial matches of the rule alive now.", n_rules, rules, partial_matches);
    PER(f, stream, "stream", "weir_stream_events_total", "counter",
        "Decoded events of the stream, late ones included.", n_streams, streams, events);
    int64_t now = wall_ms();
    header(f, "weir_stream_watermark_ms", "gauge",
           "Watermark of the stream, ms since the epoch (absent before its first event).");
    for (size_t i = 0; i < n_streams; i++)
        if (streams[i].watermark != INT64_MIN)
            fprintf(f, "weir_stream_watermark_ms{stream=\"%s\"} %" PRId64 "\n",
                    weir_ruleset_stream_name(srv->rs, i), streams[i].watermark);
    header(f, "weir_stream_watermark_lag_seconds", "gauge",
           "Wall clock less the stream's watermark (absent before its first event).");
    for (size_t i = 0; i < n_streams; i++)
        if (streams[i].watermark != INT64_MIN)
            fprintf(f, "weir_stream_watermark_lag_seconds{stream=\"%s\"} %.3f\n",
                    weir_ruleset_stream_name(srv->rs, i),
                    (double)(now - streams[i].watermark) / 1000.0);
    free(rules);
    free(streams);
    return 0;
}

char *weir_metrics_render(const weir_server *srv, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    PER_SOURCE(f, "weir_events_in_total", "Event lines handed to the engine, by source.", lines);
    PER_SOURCE(f, "weir_events_too_long_total", "Lines over --max-line, dropped undecoded.",
               too_long);
    PER_SOURCE(f, "weir_decode_errors_total",
               "Events the decoder rejected (dead letters), by source.", dead_letters);
    PER_SOURCE(f, "weir_late_events_total", "Events behind the watermark, by source.", late);

    weir_engine_stats st;
    weir_shard_pool_stats(srv->shards, &st);
    weir_partitions_add_stats(srv->partitions, &st);
    scalar(f, "weir_engine_events_total", "counter",
           "Events the engine took since the rules were (re)loaded.", st.events);
    scalar(f, "weir_engine_processed_total", "counter",
           "Events fed to the rules since the rules were (re)loaded.", st.processed);
    scalar(f, "weir_alerts_total", "counter", "Alerts raised since the rules were (re)loaded.",
           st.alerts);
    scalar(f, "weir_alerts_throttled_total", "counter", "Alerts suppressed by throttle.",
           st.throttled);
    if (per_rule_and_stream(srv, f) != 0) {
        fclose(f);
        free(buf);
        return NULL;
    }
    scalar(f, "weir_keys", "gauge", "Keys with live state, summed over rules.", st.keys);
    scalar(f, "weir_partial_matches", "gauge", "Partial matches alive.", st.partial_matches);
    scalar(f, "weir_held_events", "gauge", "Events waiting for the watermark.", st.held_events);
    scalar(f, "weir_timers_fired_total", "counter", "Deadlines reached.", st.timers_fired);
    header(f, "weir_watermark_ms", "gauge",
           "Event-time watermark, ms since the epoch (absent before the first event).");
    if (st.watermark != INT64_MIN)
        fprintf(f, "weir_watermark_ms %" PRId64 "\n", st.watermark);
    size_t q_used = weir_shard_pool_queue_used(srv->shards);
    size_t q_cap = weir_shard_pool_queue_capacity(srv->shards);
    weir_partitions_add_queue(srv->partitions, &q_used, &q_cap);
    scalar(f, "weir_queue_bytes", "gauge", "Bytes of events queued ahead of the engine.", q_used);
    scalar(f, "weir_queue_capacity_bytes", "gauge", "Size of the engine's queue.", q_cap);
    scalar(f, "weir_shards", "gauge", "Engine shards (threads when more than one).",
           weir_shard_pool_count(srv->shards));
    uint64_t active, idle;
    weir_shard_pool_splits(srv->shards, &active, &idle);
    weir_partitions_add_splits(srv->partitions, &active, &idle);
    header(f, "weir_kafka_partitions", "gauge",
           "Assigned Kafka partitions: active ones hold their stream's watermark back, idle "
           "ones (no event for --kafka-idle-timeout) do not.");
    fprintf(f, "weir_kafka_partitions{state=\"active\"} %" PRIu64 "\n", active);
    fprintf(f, "weir_kafka_partitions{state=\"idle\"} %" PRIu64 "\n", idle);
    scalar(f, "weir_tcp_clients", "gauge", "TCP source clients connected now.",
           srv->tcp ? weir_tcp_source_clients(srv->tcp) : 0);
    scalar(f, "weir_tcp_connections_total", "counter", "TCP source clients accepted.",
           srv->tcp_clients_total);
    if (srv->partitions) {
        uint64_t restored, released;
        weir_partitions_moves(srv->partitions, &restored, &released);
        scalar(f, "weir_kafka_partition_states", "gauge",
               "Partition numbers whose state this process holds now "
               "(--kafka-state-per-partition).",
               weir_partitions_count(srv->partitions));
        scalar(f, "weir_kafka_partition_states_waiting", "gauge",
               "Partition states assigned here that the store could not give yet (their "
               "messages wait).",
               weir_partitions_unrestored(srv->partitions));
        scalar(f, "weir_kafka_partition_states_restored_total", "counter",
               "Partition states restored from the store on assignment.", restored);
        scalar(f, "weir_kafka_partition_states_released_total", "counter",
               "Partition states checkpointed and let go on revocation.", released);
    }
    if (srv->checkpointer || srv->partitions) {
        /* with state per partition: over every partition's checkpoints */
        weir_checkpoint_stats cs;
        if (srv->checkpointer)
            weir_checkpointer_get_stats(srv->checkpointer, &cs);
        else
            weir_partitions_checkpoint_stats(srv->partitions, &cs);
        header(f, "weir_checkpoints_total", "counter", "Checkpoints, by result.");
        fprintf(f, "weir_checkpoints_total{result=\"completed\"} %" PRIu64 "\n", cs.completed);
        fprintf(f, "weir_checkpoints_total{result=\"failed\"} %" PRIu64 "\n", cs.failed);
        if (srv->checkpointer) {
            header(f, "weir_savepoints_total", "counter", "Savepoints, by result.");
            fprintf(f, "weir_savepoints_total{result=\"completed\"} %" PRIu64 "\n",
                    cs.savepoints);
            fprintf(f, "weir_savepoints_total{result=\"failed\"} %" PRIu64 "\n",
                    cs.savepoints_failed);
            scalar(f, "weir_checkpoint_last_id", "gauge", "Id of the last completed checkpoint.",
                   cs.last_id);
        }
        scalar(f, "weir_checkpoint_last_completed_ms", "gauge",
               "When the last checkpoint completed (ms since the epoch).",
               (uint64_t)cs.last_completed_ms);
        scalar(f, "weir_checkpoint_consecutive_failures", "gauge",
               "Checkpoints failed since the last one that completed.",
               cs.consecutive_failures);
        scalar(f, "weir_checkpoint_bytes", "gauge", "Size of the last checkpoint.", cs.last_bytes);
        header(f, "weir_checkpoint_barrier_seconds", "gauge",
               "Ingestion paused by the last checkpoint's barrier.");
        fprintf(f, "weir_checkpoint_barrier_seconds %.6f\n", cs.last_barrier_seconds);
        header(f, "weir_checkpoint_duration_seconds", "gauge",
               "Last checkpoint, from its barrier until it was complete in the store.");
        fprintf(f, "weir_checkpoint_duration_seconds %.6f\n", cs.last_duration_seconds);
    }
    scalar(f, "weir_rule_reloads_total", "counter", "Successful rule reloads.", srv->reloads);
    scalar(f, "weir_rule_reload_failures_total", "counter", "Reloads that kept the old rules.",
           srv->reload_failures);

    header(f, "weir_sink_queue", "gauge", "Alerts waiting in a sink (memory and spill).");
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].kafka)
            fprintf(f, "weir_sink_queue{sink=\"%s\"} %" PRIu64 "\n", srv->sinks[i].name,
                    weir_kafka_sink_queued(srv->sinks[i].kafka));
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].webhook) {
            weir_webhook_stats ws;
            weir_webhook_get_stats(srv->sinks[i].webhook, &ws);
            fprintf(f, "weir_sink_queue{sink=\"%s\"} %" PRIu64 "\n", srv->sinks[i].name,
                    ws.queued);
        }
    header(f, "weir_sink_spilled", "gauge", "Alerts of a sink's queue held on disk.");
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].webhook) {
            weir_webhook_stats ws;
            weir_webhook_get_stats(srv->sinks[i].webhook, &ws);
            fprintf(f, "weir_sink_spilled{sink=\"%s\"} %" PRIu64 "\n", srv->sinks[i].name,
                    ws.spilled);
        }
    header(f, "weir_sink_delivered_total", "counter", "Alerts a sink delivered.");
    for (size_t i = 0; i < srv->n_sinks; i++) {
        const weir_declared_sink *s = &srv->sinks[i];
        uint64_t n = 0;
        if (s->webhook) {
            weir_webhook_stats ws;
            weir_webhook_get_stats(s->webhook, &ws);
            n = ws.delivered;
        } else if (s->file) {
            n = weir_file_sink_written(s->file);
        } else if (s->kafka) {
            n = weir_kafka_sink_delivered(s->kafka);
        }
        fprintf(f, "weir_sink_delivered_total{sink=\"%s\"} %" PRIu64 "\n", s->name, n);
    }
    header(f, "weir_sink_failures_total", "counter",
           "Failed deliveries (webhook attempts, file writes, Kafka deliveries).");
    for (size_t i = 0; i < srv->n_sinks; i++) {
        const weir_declared_sink *s = &srv->sinks[i];
        uint64_t n = s->undeliverable;
        if (s->webhook) {
            weir_webhook_stats ws;
            weir_webhook_get_stats(s->webhook, &ws);
            n += ws.failures;
        } else if (s->file) {
            n += weir_file_sink_failed(s->file);
        } else if (s->kafka) {
            n += weir_kafka_sink_failed(s->kafka);
        }
        fprintf(f, "weir_sink_failures_total{sink=\"%s\"} %" PRIu64 "\n", s->name, n);
    }
    header(f, "weir_sink_rejected_total", "counter", "Alerts a receiver refused for good (4xx).");
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].webhook) {
            weir_webhook_stats ws;
            weir_webhook_get_stats(srv->sinks[i].webhook, &ws);
            fprintf(f, "weir_sink_rejected_total{sink=\"%s\"} %" PRIu64 "\n", srv->sinks[i].name,
                    ws.rejected);
        }
    kafka_transactions(srv, f);
    scalar(f, "weir_alerts_output_failures_total", "counter",
           "Alerts the --alerts file failed to take.",
           srv->alerts ? weir_file_sink_failed(srv->alerts) : 0);
    scalar(f, "weir_alert_seq", "counter", "Sequence number of the newest alert (GET /alerts).",
           weir_alert_ring_last(srv->ring));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
