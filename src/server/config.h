/* config.h — everything `weir serve` can be told, from a config file
 * (`key = value` lines) or from the command line (`--key value`). One
 * X-macro list drives the struct, the flags, the file parser and the help
 * text, so an option cannot exist in one place and not another. */
#ifndef WEIR_SERVER_CONFIG_H
#define WEIR_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* X(name, field, kind, default, help). Kinds: STR (a string, NULL when
 * unset), SIZE (bytes, with an optional k/M/G suffix), UINT, BOOL. */
#define WEIR_CONFIG_OPTIONS(X)                                                              \
    X("http", http, STR, "127.0.0.1:8081",                                                  \
      "HTTP API address, HOST:PORT (port 0: any free port, logged); 'off' disables it")    \
    X("tcp", tcp, STR, "127.0.0.1:8082",                                                    \
      "TCP JSON-lines source address, HOST:PORT; 'off' disables it")                       \
    X("events", events, STR, NULL,                                                          \
      "also replay JSON lines from FILE ('-': standard input)")                             \
    X("alerts", alerts, STR, "-",                                                           \
      "file every alert is appended to as a JSON line ('-': stdout, 'none': nowhere)")    \
    X("dead-letter", dead_letter, STR, NULL,                                                \
      "file malformed and late events are appended to (default: counted only)")            \
    X("log-format", log_format, STR, "plain", "log lines as 'plain' text or 'json'")        \
    X("api-token", api_token, STR, NULL,                                                    \
      "bearer token every mutating HTTP call must carry; without one, only loopback")      \
    X("state-dir", state_dir, STR, "weir-state",                                            \
      "directory for rules PUT over HTTP, webhook spill files and (by default) checkpoints")\
    X("state-store", state_store, STR, NULL,                                                \
      "where checkpoints and savepoints go: a directory, or redis://HOST[:PORT] (default: --state-dir)")\
    X("job", job, STR, "weir",                                                              \
      "name of this job in the state store: jobs sharing a store stay apart")              \
    X("checkpoint-interval", checkpoint_interval_s, UINT, "0",                             \
      "seconds between checkpoints; 0 turns checkpoints (and restore at start) off")      \
    X("checkpoints-kept", checkpoints_kept, UINT, "3", "checkpoints kept in the store")      \
    X("checkpoint-in-place", checkpoint_in_place, BOOL, "no",                              \
      "shards write their state at the checkpoint barrier instead of a forked child "       \
      "(no extra memory, but ingestion pauses while they write)")                           \
    X("store-timeout", store_timeout_ms, UINT, "5000",                                      \
      "milliseconds the state store gets to answer before a checkpoint counts as failed")  \
    X("from-savepoint", from_savepoint, STR, NULL,                                          \
      "start from this savepoint instead of the latest checkpoint")                        \
    X("kafka-brokers", kafka_brokers, STR, NULL,                                            \
      "Kafka bootstrap servers, for the Kafka source and for kafka sinks without brokers") \
    X("kafka-topics", kafka_topics, STR, NULL,                                              \
      "consume events from these Kafka topics (comma-separated)")                          \
    X("kafka-group", kafka_group, STR, "weir", "the Kafka consumer group")                  \
    X("kafka-config", kafka_config, STR, NULL,                                              \
      "librdkafka properties (key = value lines) for the Kafka source and sinks: SASL, TLS")\
    X("kafka-idle-timeout", kafka_idle_ms, UINT, "30000",                                   \
      "milliseconds a Kafka partition may go without events before it stops holding back "\
      "its stream's watermark (0: it never does)")                                          \
    X("kafka-state-per-partition", kafka_state_per_partition, BOOL, "no",                  \
      "keep the state of each Kafka partition apart (job JOB.pN in the store), so that "    \
      "several weir processes in one consumer group share the partitions and a partition's "\
      "state moves with it on a rebalance")                                                \
    X("stream-field", stream_field, STR, NULL, "JSON field naming an event's stream")       \
    X("stream", default_stream, STR, NULL, "stream of events that name none")               \
    X("max-line", max_line, SIZE, "1M", "longest event line accepted (bytes)")              \
    X("max-body", max_body, SIZE, "16M", "largest HTTP request body accepted (bytes)")      \
    X("queue", queue_bytes, SIZE, "8M", "bytes of events queued ahead of the engine")       \
    X("alert-ring", alert_ring, UINT, "1000", "recent alerts kept for GET /alerts")          \
    X("webhook-queue", webhook_queue, UINT, "10000",                                        \
      "alerts a webhook sink keeps in memory before it spills to disk")                    \
    X("shutdown-timeout", shutdown_timeout_ms, UINT, "5000",                                \
      "milliseconds sinks get to deliver what they hold at exit")                           \
    X("shards", shards, UINT, "0",                                                          \
      "engine shards, each a thread; 0: one per core when every stream is keyed by one "   \
      "field, else 1")                                                                      \
    X("full-events", full_events, BOOL, "no", "list matched events with all their fields") \
    X("exit-on-eof", exit_on_eof, BOOL, "no",                                               \
      "stop (as on SIGTERM) when the --events file ends")

typedef struct weir_config {
#define WEIR_CONFIG_FIELD_STR char *
#define WEIR_CONFIG_FIELD_SIZE uint64_t
#define WEIR_CONFIG_FIELD_UINT uint64_t
#define WEIR_CONFIG_FIELD_BOOL bool
#define X(name, field, kind, def, help) WEIR_CONFIG_FIELD_##kind field;
    WEIR_CONFIG_OPTIONS(X)
#undef X
    char *config_path; /* -c FILE, or NULL */
    char **rules;      /* rule paths: the config's `rules =` lines, or the
                          command line's (which replace them) */
    size_t n_rules;
} weir_config;

/* Fills c with the defaults, then the config file named by -c (if any),
 * then the flags. On error prints a message to err and returns -1; 1 when
 * --help was asked (help printed to out); 0 otherwise. Free with
 * weir_config_free in every case. */
int weir_config_load(weir_config *c, int argc, char **argv, FILE *out, FILE *err);
void weir_config_free(weir_config *c);

/* Splits "host:port" (IPv4 or a name; "[v6]:port" too). Returns 0, or -1
 * when it is not of that form. host is written NUL-terminated. */
int weir_config_split_addr(const char *addr, char *host, size_t host_cap, uint16_t *port);

#endif
