/* server-internal.h — the state of a running `weir serve`, shared by the
 * files of src/server (the loop in serve.c, the HTTP API, the metrics).
 * Everything here is touched only from the main loop's thread. */
#ifndef WEIR_SERVER_INTERNAL_H
#define WEIR_SERVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/config.h"
#include "server/log.h"
#include "server/shard.h"
#include "weir/engine.h"
#include "weir/ruleset.h"

struct event_base;
struct event;
struct weir_shard_pool;
struct weir_tcp_source;
struct weir_file_source;
struct weir_kafka_source;
struct weir_kafka_sink;
struct weir_file_sink;
struct weir_webhook;
struct weir_alert_ring;
struct weir_http_api;
struct weir_store;
struct weir_checkpointer;
struct weir_partitions;

/* Sources, by the tag their lines carry into the shard. */
#define WEIR_SOURCES(X) X(TCP, "tcp") X(HTTP, "http") X(FILE, "file") X(KAFKA, "kafka")
enum {
#define X(id, name) WEIR_SRC_##id,
    WEIR_SOURCES(X)
#undef X
    WEIR_N_SOURCES
};

typedef struct weir_source_stats {
    uint64_t lines;        /* lines handed to the engine */
    uint64_t too_long;     /* over --max-line, never decoded */
    uint64_t dead_letters; /* rejected by the decoder */
    uint64_t late;         /* behind the watermark */
} weir_source_stats;

/* How many times a rule name was PUT (GET /rules/{name}: "version"). */
typedef struct weir_rule_version {
    char *name;       /* owned */
    uint64_t version; /* 1 after the first PUT */
} weir_rule_version;

/* A sink a rule file declares, made real. */
typedef struct weir_declared_sink {
    char *name;                   /* owned */
    char *kind;                   /* owned */
    struct weir_file_sink *file;  /* file and stdout sinks */
    struct weir_webhook *webhook; /* webhook sinks */
    struct weir_kafka_sink *kafka; /* kafka sinks */
    uint64_t undeliverable;       /* alerts for a kind serve cannot send yet */
    bool warned;
} weir_declared_sink;

typedef struct weir_server {
    weir_config *cfg;                /* borrowed */
    weir_log log;
    struct event_base *base;         /* owned */
    weir_ruleset *rs;                /* owned: the rules running now */
    struct weir_shard_pool *shards;  /* owned: the engines */
    struct weir_tcp_source *tcp;     /* owned; NULL when off */
    struct weir_file_source *file;   /* owned; NULL when no --events */
    struct weir_kafka_source *kafka; /* owned; NULL when no --kafka-topics */
    struct weir_http_api *http;      /* owned; NULL when off */
    struct weir_file_sink *alerts;   /* owned: the catch-all output; NULL: none */
    struct weir_file_sink *dead;     /* owned: dead letters; NULL: counted only */
    struct weir_alert_ring *ring;    /* owned */
    weir_declared_sink *sinks;       /* owned array */
    size_t n_sinks;
    weir_source_stats sources[WEIR_N_SOURCES];
    weir_rule_version *versions;     /* owned array: rules PUT since start */
    size_t n_versions;
    uint64_t reloads, reload_failures;
    uint64_t rejects_logged;
    uint64_t tcp_clients_total;
    bool rules_invalid;              /* the last compile found rule errors
                                        (exit 1, not 2, when starting) */
    bool file_done;
    bool stopping;
    struct event *signals[3];        /* owned: TERM, INT, HUP */
    struct event *stop_timer;        /* owned: polls sinks while draining */
    int64_t stop_deadline_ms;
    struct weir_store *store;        /* owned; NULL when checkpoints are off */
    struct weir_checkpointer *checkpointer; /* owned; with the store */
    struct weir_partitions *partitions; /* owned: --kafka-state-per-partition's
                                           units, which take the Kafka
                                           source's messages; else NULL */
    bool partition_stalled;          /* a message found no unit (logged once) */
    weir_engine_options partition_eopt; /* what new units are made with */
    weir_shard_hooks partition_hooks;
    enum { FINAL_NONE, FINAL_DUE, FINAL_RUNNING, FINAL_DONE } final_checkpoint;
    char restored_from[80];          /* "checkpoint 12", or "" */
    void *restored_offsets;          /* owned: the restored sources' offsets */
    size_t restored_offsets_len;
    uint64_t restored_checkpoint;    /* its id when a checkpoint was restored */
    void *restored_pending;          /* owned: its pending alerts (part
                                        "pending-alerts"), until they are
                                        produced again or found committed */
    size_t restored_pending_len;
    /* savepoints asked for since start, newest last (a ring): their
     * writing goes on after the HTTP answer */
    struct weir_savepoint_status {
        char id[80];
        enum { SAVEPOINT_WRITING, SAVEPOINT_COMPLETE, SAVEPOINT_FAILED } state;
        char error[200];
        struct weir_server *srv;
    } savepoints[32];
    unsigned n_savepoints;
    char swap_savepoint[80];         /* taken before the last PUT/DELETE swap */
} weir_server;

extern const char *const weir_source_names[WEIR_N_SOURCES];

/* Hands one event line from a source to the engine's queue: false when the
 * queue is full (the source pauses). Lines over --max-line are counted and
 * dead-lettered here and reported as taken. */
bool weir_server_submit(weir_server *srv, uint32_t source, const char *line, size_t len);
/* An over-long line from source: counted and dead-lettered. */
void weir_server_too_long(weir_server *srv, uint32_t source, const char *head, size_t len);

/* Replaces the running rules with rs (taking ownership). 0, or -1 with the
 * reason in why when rs does not fit the shards (weir_server_rules_fit) or
 * the engine could not be built (rs is freed, the old rules keep running). */
int weir_server_swap_rules(weir_server *srv, weir_ruleset *rs, char *why, size_t cap);
/* Whether rs can run on the server's shards (with several, every stream
 * must be keyed by one field) and with its options (a transactional Kafka
 * sink needs checkpoints; with a Kafka source a job has at most one, which
 * commits the source's offsets). false with the reason in why. */
bool weir_server_rules_fit(const weir_server *srv, const weir_ruleset *rs, char *why,
                           size_t cap);

/* The running rule set's files compiled (api_rules.c): the configured
 * paths, the rules PUT over HTTP except skip (a rule name), then extra (a
 * file path). NULL with *status set when they do not compile. */
weir_ruleset *weir_server_compile(const weir_server *srv, const char *skip, const char *extra,
                                  weir_diag_cb diag, void *user, weir_compile_status *status);
/* PUT /rules/{name} and DELETE: an HTTP status (200 when done), with a
 * message in err otherwise; rule errors go to diag. */
int weir_server_put_rule(weir_server *srv, const char *name, const char *text, size_t len,
                         weir_diag_cb diag, void *user, char *err, size_t cap);
int weir_server_delete_rule(weir_server *srv, const char *name, char *err, size_t cap);
/* A rule's version: 1, plus one per PUT of its name after the first since
 * the server started (a restart starts again at 1; the fingerprint tells
 * texts apart across restarts). */
uint64_t weir_server_rule_version(const weir_server *srv, const char *name);
void weir_server_free_versions(weir_server *srv);

/* The rule set srv->rs was replaced by other means than a swap (a
 * roll-back): its sinks are made real. */
void weir_server_rules_changed(weir_server *srv);
/* The rules put over HTTP, as records "name\nLENGTH\ntext" (what a
 * checkpoint or savepoint keeps as its part "rules"); malloc'd, NULL and 0
 * when there are none. 0, or -1 when out of memory. (api_rules.c) */
int weir_server_rules_snapshot(const weir_server *srv, char **out, size_t *len);
/* POST /rules/rollback: the rules put over HTTP and the state of every
 * shard as savepoint id holds them. An HTTP status (200 when done), with
 * a message in err otherwise; the running rules and state stay then. */
int weir_server_rollback(weir_server *srv, const char *id, weir_restore_report *rep, char *err,
                         size_t cap);

/* Savepoints (api_savepoints.c). Create: the barrier now, the store write
 * after; an HTTP status (202 when started) with the id in id_out, or a
 * message in err. Find: the status of a savepoint asked for since start,
 * or NULL. */
int weir_server_savepoint_create(weir_server *srv, const char *name, char *id_out,
                                 size_t id_cap, char *err, size_t errlen);
const struct weir_savepoint_status *weir_server_savepoint_find(const weir_server *srv,
                                                               const char *id);

/* The checkpoints' flush hook (weir_checkpoint_hooks.flush; user: the
 * server): the alerts raised so far are safe in the sinks. */
int weir_server_flush_sinks(void *user, char *err, size_t errlen);

/* Why there are no savepoints (no job-wide store): for a 409's message. */
const char *weir_server_no_store(const weir_server *srv);

/* Ready: rules loaded and every configured source listening. */
bool weir_server_ready(const weir_server *srv);

/* Prometheus text exposition of every counter; malloc'd, *len set. NULL
 * when out of memory. (metrics.c) */
char *weir_metrics_render(const weir_server *srv, size_t *len);

#endif
