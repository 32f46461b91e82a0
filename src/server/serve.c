/* serve.c — `weir serve`: the server's main loop.
 *
 * One libevent loop runs everything: the TCP source, the file replay, the
 * HTTP API, the shard that owns the engine, the webhook transfers. Sources
 * hand lines to the shard's bounded queue; the shard drains it in batches
 * and its alert callback fans each alert out to the alert ring (and its
 * live streams), the catch-all alert file, and the sinks the rule names.
 *
 * Signals arrive as libevent signal events, so nothing runs in a signal
 * handler. TERM and INT stop every source, drain the queue, end the input
 * (the engine fires every pending deadline and window), give the webhook
 * sinks --shutdown-timeout to deliver, spill what is left and exit 0. HUP
 * compiles the rule files again (keeping the old rules when the new ones do
 * not compile) and reopens the output files. */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "io/file_sink.h"
#include "io/file_source.h"
#include "io/kafka_sink.h"
#include "io/kafka_source.h"
#include "io/tcp_source.h"
#include "io/webhook.h"
#include "server/alert_ring.h"
#include "server/commands.h"
#include "server/http_api.h"
#include "server/server-internal.h"
#include "server/shard_pool.h"
#include "state/checkpointer.h"
#include "state/store.h"
#include "server/partitions.h"

/* Rejected lines described in the log when there is no dead-letter file. */
#define LOGGED_REJECTS 10

const char *const weir_source_names[WEIR_N_SOURCES] = {
#define X(id, name) name,
    WEIR_SOURCES(X)
#undef X
};

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* ---- rules ---------------------------------------------------------- */

typedef struct diag_log {
    const weir_log *log;
    unsigned errors;
} diag_log;

static void log_diag(void *user, const weir_diagnostic *d)
{
    diag_log *dl = user;
    if (d->severity != WEIR_DIAG_ERROR)
        return;
    dl->errors++;
    weir_log_write(dl->log, WEIR_LOG_ERROR, "rule_error", "%s:%u:%u: %s",
                   d->path ? d->path : "?", d->line, d->column, d->message);
}

/* Compiles the configured rule files; NULL after logging why. */
static weir_ruleset *compile_rules(weir_server *srv)
{
    diag_log dl = {&srv->log, 0};
    weir_compile_status st;
    weir_ruleset *rs = weir_server_compile(srv, NULL, NULL, log_diag, &dl, &st);
    srv->rules_invalid = st == WEIR_COMPILE_RULE_ERRORS;
    if (st == WEIR_COMPILE_IO_ERROR)
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "rules_failed", "cannot read the rule files");
    else if (st != WEIR_COMPILE_OK)
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "rules_failed", "%u errors in the rule files",
                       dl.errors);
    return rs;
}

static void log_rules(weir_server *srv)
{
    size_t n = weir_ruleset_rule_count(srv->rs);
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof names - 1; i++) {
        int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                         weir_ruleset_rule_name(srv->rs, i));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used >= sizeof names)
        memcpy(names + sizeof names - 4, "...", 4);
    weir_log_write(&srv->log, WEIR_LOG_INFO, "rules_loaded", "%zu rules: %s", n, names);
}

/* Logs how lines find their shard: by one field, or by each stream's. */
static void log_shards(weir_server *srv, unsigned n)
{
    const char *key = NULL;
    char why[256];
    if (n < 2 || !weir_shard_pool_shardable(srv->rs, &key, why, sizeof why))
        return;
    if (key) {
        weir_log_write(&srv->log, WEIR_LOG_INFO, "shards", "%u shards, keys split by '%s'", n,
                       key);
        return;
    }
    char keys[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < weir_ruleset_stream_count(srv->rs) && used < sizeof keys; i++) {
        const char *k = weir_ruleset_stream_key(srv->rs, i, NULL);
        if (!k)
            continue;
        int w = snprintf(keys + used, sizeof keys - used, "%s%s by '%s'", used ? ", " : "",
                         weir_ruleset_stream_name(srv->rs, i), k);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    weir_log_write(&srv->log, WEIR_LOG_INFO, "shards", "%u shards, keys split per stream: %s", n,
                   keys);
}

/* Transactional Kafka sinks commit at checkpoints, and with a Kafka source
 * one of them commits the source's offsets in its transactions: more than
 * one would each need the offsets to be theirs. Counts the ones running and
 * the ones rs would add (sinks keep running across swaps). */
static bool txn_sinks_fit(const weir_server *srv, const weir_ruleset *rs, char *why, size_t cap)
{
    const char *first = NULL;
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].kafka && weir_kafka_sink_transactional(srv->sinks[i].kafka))
            first = srv->sinks[i].name;
    for (size_t i = 0; i < weir_ruleset_sink_count(rs); i++) {
        weir_sink_info info;
        weir_ruleset_sink(rs, i, &info);
        if (!info.transactional)
            continue;
        if (srv->cfg->kafka_state_per_partition) {
            snprintf(why, cap,
                     "sink %s is transactional: not with kafka-state-per-partition, whose "
                     "partitions checkpoint apart (one transaction cannot span them yet)",
                     info.name);
            return false;
        }
        if (srv->cfg->checkpoint_interval_s == 0) {
            snprintf(why, cap,
                     "sink %s is transactional: its transactions are committed at "
                     "checkpoints, so it needs checkpoint-interval (--checkpoint-interval "
                     "SECONDS)",
                     info.name);
            return false;
        }
        if (first && strcmp(first, info.name) != 0 && srv->cfg->kafka_topics) {
            snprintf(why, cap,
                     "sinks %s and %s are both transactional: with a Kafka source "
                     "(kafka-topics) the transactional sink commits the source's offsets in "
                     "its transactions, so a job has at most one",
                     first, info.name);
            return false;
        }
        first = info.name;
    }
    return true;
}

bool weir_server_rules_fit(const weir_server *srv, const weir_ruleset *rs, char *why,
                           size_t cap)
{
    if (!txn_sinks_fit(srv, rs, why, cap))
        return false;
    if (!srv->shards || weir_shard_pool_count(srv->shards) < 2)
        return true;
    char reason[256];
    if (weir_shard_pool_shardable(rs, NULL, reason, sizeof reason))
        return true;
    snprintf(why, cap, "%s; this server runs %u shards (restart it with --shards 1 for such rules)",
             reason, weir_shard_pool_count(srv->shards));
    return false;
}

/* ---- sinks ---------------------------------------------------------- */

static weir_declared_sink *find_sink(weir_server *srv, const char *name)
{
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (strcmp(srv->sinks[i].name, name) == 0)
            return &srv->sinks[i];
    return NULL;
}

/* Makes real every sink rs declares that is not running yet. Sinks keep
 * running across reloads (a webhook keeps its queue); a sink whose
 * declaration changed keeps its old settings until a restart. */
static int realize_sinks(weir_server *srv, const weir_ruleset *rs)
{
    for (size_t i = 0; i < weir_ruleset_sink_count(rs); i++) {
        weir_sink_info info;
        weir_ruleset_sink(rs, i, &info);
        if (find_sink(srv, info.name))
            continue;
        weir_declared_sink *grown = realloc(srv->sinks, (srv->n_sinks + 1) * sizeof *grown);
        if (!grown)
            return -1;
        srv->sinks = grown;
        weir_declared_sink *s = &srv->sinks[srv->n_sinks];
        memset(s, 0, sizeof *s);
        s->name = strdup(info.name);
        s->kind = strdup(info.kind);
        if (!s->name || !s->kind) {
            free(s->name);
            free(s->kind);
            return -1;
        }
        srv->n_sinks++;
        if (strcmp(info.kind, "stdout") == 0) {
            /* the catch-all already writes every alert to stdout */
            if (!srv->alerts || strcmp(weir_file_sink_path(srv->alerts), "-") != 0)
                s->file = weir_file_sink_open("-");
        } else if (strcmp(info.kind, "file") == 0) {
            if (!(s->file = weir_file_sink_open(info.target)))
                weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing",
                               "sink %s: cannot open '%s': %s", info.name, info.target,
                               strerror(errno));
        } else if (strcmp(info.kind, "kafka") == 0) {
            const char *brokers = info.brokers;
            if (info.brokers_env && !(brokers = getenv(info.brokers_env)))
                weir_log_write(&srv->log, WEIR_LOG_WARN, "sink_failing", "sink %s: $%s is not set",
                               info.name, info.brokers_env);
            if (!brokers)
                brokers = srv->cfg->kafka_brokers;
            char err[512];
            /* stable across restarts, so a restart fences its predecessor
             * and aborts what it left open: the job and the sink name */
            char txn_id[512];
            snprintf(txn_id, sizeof txn_id, "weir.%s.%s", srv->cfg->job, info.name);
            if (!brokers)
                weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing",
                               "sink %s: no brokers (give the sink `brokers` or --kafka-brokers)",
                               info.name);
            else if (!(s->kafka = weir_kafka_sink_new(
                           srv->base, info.name, brokers, info.target, srv->cfg->kafka_config,
                           info.transactional ? txn_id : NULL, (int)srv->cfg->store_timeout_ms,
                           &srv->log, err, sizeof err)))
                weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: %s",
                               info.name, err);
        } else if (strcmp(info.kind, "webhook") == 0) {
            const char *secret = info.hmac_secret;
            if (info.hmac_env) {
                secret = getenv(info.hmac_env);
                if (!secret)
                    weir_log_write(&srv->log, WEIR_LOG_WARN, "sink_unsigned",
                                   "sink %s: $%s is not set: alerts go unsigned", info.name,
                                   info.hmac_env);
            }
            weir_webhook_options wo = {
                .name = info.name,
                .url = info.target,
                .timeout_ms = info.timeout_ms,
                .retries = info.retries,
                .secret = secret,
                .memory_limit = (size_t)srv->cfg->webhook_queue,
                .state_dir = srv->cfg->state_dir,
            };
            char err[256];
            s->webhook = weir_webhook_new(srv->base, &wo, &srv->log, err, sizeof err);
            if (!s->webhook)
                weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: %s",
                               info.name, err);
        }
        if (s->kafka && weir_kafka_sink_transactional(s->kafka))
            weir_log_write(&srv->log, WEIR_LOG_INFO, "sink_ready",
                           "sink %s (kafka %s, transactional.id %s.%s.%s)", info.name,
                           info.target, "weir", srv->cfg->job, info.name);
        else
            weir_log_write(&srv->log, WEIR_LOG_INFO, "sink_ready", "sink %s (%s%s%s)",
                           info.name, info.kind, info.target ? " " : "",
                           info.target ? info.target : "");
    }
    return 0;
}

static void free_sinks(weir_server *srv)
{
    for (size_t i = 0; i < srv->n_sinks; i++) {
        weir_file_sink_close(srv->sinks[i].file);
        weir_webhook_free(srv->sinks[i].webhook);
        weir_kafka_sink_free(srv->sinks[i].kafka, 1000);
        free(srv->sinks[i].name);
        free(srv->sinks[i].kind);
    }
    free(srv->sinks);
    srv->sinks = NULL;
    srv->n_sinks = 0;
}

static bool sinks_idle(const weir_server *srv)
{
    for (size_t i = 0; i < srv->n_sinks; i++)
        if ((srv->sinks[i].webhook && !weir_webhook_idle(srv->sinks[i].webhook)) ||
            (srv->sinks[i].kafka && !weir_kafka_sink_idle(srv->sinks[i].kafka)))
            return false;
    return true;
}

static void on_alert(void *user, const weir_alert *a)
{
    weir_server *srv = user;
    uint64_t seq = weir_alert_ring_add(srv->ring, a->json, a->json_len);
    if (srv->http && seq)
        weir_http_api_publish(srv->http, seq, a->json, a->json_len);
    if (srv->alerts)
        weir_file_sink_write(srv->alerts, a->json, a->json_len);
    for (size_t i = 0; i < a->n_sinks; i++) {
        weir_declared_sink *s = find_sink(srv, a->sinks[i]);
        if (!s)
            continue;
        if (s->file) {
            weir_file_sink_write(s->file, a->json, a->json_len);
        } else if (s->webhook) {
            weir_webhook_enqueue(s->webhook, a->id, a->json, a->json_len);
        } else if (s->kafka) {
            weir_kafka_sink_send(s->kafka, a->id, a->json, a->json_len);
        } else if (strcmp(s->kind, "stdout") != 0) {
            s->undeliverable++;
            if (!s->warned) {
                s->warned = true;
                weir_log_write(&srv->log, WEIR_LOG_WARN, "sink_failing",
                               "sink %s (%s) could not be started; its alerts go only to "
                               "--alerts and GET /alerts",
                               s->name, s->kind);
            }
        }
    }
}

/* ---- dead letters --------------------------------------------------- */

static void dead_letter(weir_server *srv, uint32_t source, const weir_rejected *r)
{
    if (srv->dead) {
        char *line = weir_rejected_json(r);
        if (line)
            weir_file_sink_write(srv->dead, line, strlen(line));
        free(line);
    } else if (srv->rejects_logged < LOGGED_REJECTS) {
        srv->rejects_logged++;
        weir_log_write(&srv->log, WEIR_LOG_WARN, "dead_letter", "%s event %" PRIu64 ": %s (%s)%s",
                       weir_source_names[source], r->line, r->reason, r->status,
                       srv->rejects_logged == LOGGED_REJECTS
                           ? "; further ones are only counted (see --dead-letter)"
                           : "");
    }
}

static void on_rejected(void *user, uint32_t tag, bool late, const weir_rejected *r)
{
    weir_server *srv = user;
    if (tag >= WEIR_N_SOURCES)
        return;
    if (late)
        srv->sources[tag].late++;
    else
        srv->sources[tag].dead_letters++;
    dead_letter(srv, tag, r);
}

void weir_server_too_long(weir_server *srv, uint32_t source, const char *head, size_t len)
{
    srv->sources[source].too_long++;
    char reason[96];
    snprintf(reason, sizeof reason, "line longer than %" PRIu64 " bytes (--max-line)",
             srv->cfg->max_line);
    weir_rejected r = {.line = 0, .status = "too_large", .reason = reason, .data = head,
                       .len = len};
    dead_letter(srv, source, &r);
}

static bool submit(weir_server *srv, uint32_t source, uint32_t split, uint64_t seq,
                   const char *line, size_t len)
{
    if (len > srv->cfg->max_line || len > weir_shard_pool_max_line(srv->shards)) {
        weir_server_too_long(srv, source, line, len < 256 ? len : 256);
        return true;
    }
    if (!weir_shard_pool_submit_seq(srv->shards, line, len, source, split, seq))
        return false;
    srv->sources[source].lines++;
    return true;
}

bool weir_server_submit(weir_server *srv, uint32_t source, const char *line, size_t len)
{
    return submit(srv, source, WEIR_SHARD_NO_SPLIT, 0, line, len);
}

/* ---- sources -------------------------------------------------------- */

static bool tcp_submit(void *user, const char *line, size_t len)
{
    return weir_server_submit(user, WEIR_SRC_TCP, line, len);
}

static void tcp_too_long(void *user, const char *head, size_t len)
{
    weir_server_too_long(user, WEIR_SRC_TCP, head, len);
}

static void tcp_client(void *user, const char *peer, bool connected, const char *why)
{
    weir_server *srv = user;
    if (connected) {
        srv->tcp_clients_total++;
        weir_log_write(&srv->log, WEIR_LOG_INFO, "source_connected", "tcp client %s", peer);
    } else {
        weir_log_write(&srv->log, why ? WEIR_LOG_WARN : WEIR_LOG_INFO, "source_disconnected",
                       "tcp client %s%s%s", peer, why ? ": " : "", why ? why : "");
    }
}

static bool kafka_submit(void *user, uint32_t split, uint64_t seq, const char *line, size_t len)
{
    weir_server *srv = user;
    if (srv->partitions) {
        if (len > srv->cfg->max_line || len > weir_partitions_max_line(srv->partitions)) {
            weir_server_too_long(srv, WEIR_SRC_KAFKA, line, len < 256 ? len : 256);
            return true;
        }
        int rc = weir_partitions_submit(srv->partitions, split, seq, line, len, WEIR_SRC_KAFKA);
        if (rc > 0) {
            srv->sources[WEIR_SRC_KAFKA].lines++;
            return true;
        }
        /* no unit: its state could not be restored (logged); reading on
         * would lose it, so the source waits */
        if (rc < 0 && !srv->partition_stalled) {
            srv->partition_stalled = true;
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "source_error",
                           "kafka: a message of a partition whose state is not restored: "
                           "the source waits (see the partition_failed line)");
        }
        return false;
    }
    return submit(srv, WEIR_SRC_KAFKA,
                  split < WEIR_SHARD_MAX_SPLITS ? split : WEIR_SHARD_NO_SPLIT, seq, line, len);
}

static void kafka_split_open(void *user, uint32_t split, const char *topic, int32_t partition)
{
    weir_server *srv = user;
    if (srv->partitions)
        weir_partitions_split_open(srv->partitions, split, topic, partition);
    else
        weir_shard_pool_split_open(srv->shards, split, topic);
}

static void kafka_split_close(void *user, uint32_t split)
{
    weir_server *srv = user;
    if (srv->partitions)
        weir_partitions_split_close(srv->partitions, split);
    else
        weir_shard_pool_split_close(srv->shards, split);
}

static int64_t kafka_resume_at(void *user, const char *topic, int32_t partition)
{
    weir_server *srv = user;
    return srv->partitions ? weir_partitions_resume_at(srv->partitions, topic, partition) : -1;
}

/* One line per --kafka-topics topic on how its partitions hold back the
 * watermark, and a warning for a stream whose topic is not consumed. */
static void log_topics(weir_server *srv)
{
    char *list = strdup(srv->cfg->kafka_topics);
    char *save = NULL;
    for (char *t = list ? strtok_r(list, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        size_t st = weir_ruleset_topic_stream(srv->rs, t);
        if (st != SIZE_MAX)
            weir_log_write(&srv->log, WEIR_LOG_INFO, "kafka_topic",
                           "kafka topic %s carries stream %s: each partition holds back its "
                           "watermark",
                           t, weir_ruleset_stream_name(srv->rs, st));
        else
            weir_log_write(&srv->log, WEIR_LOG_INFO, "kafka_topic",
                           "kafka topic %s: no one stream declares `from kafka \"%s\"`: its "
                           "events name their stream, and each partition holds back every "
                           "stream's watermark",
                           t, t);
    }
    for (size_t i = 0; list && i < weir_ruleset_stream_count(srv->rs); i++) {
        const char *topic = weir_ruleset_stream_topic(srv->rs, i);
        if (!topic)
            continue;
        bool listed = false;
        const char *p = srv->cfg->kafka_topics;
        size_t n = strlen(topic);
        while (p && *p && !listed) {
            size_t len = strcspn(p, ",");
            listed = len == n && strncmp(p, topic, n) == 0;
            p += len + (p[len] == ',');
        }
        if (!listed)
            weir_log_write(&srv->log, WEIR_LOG_WARN, "kafka_topic",
                           "stream %s reads kafka topic %s, which --kafka-topics does not list",
                           weir_ruleset_stream_name(srv->rs, i), topic);
    }
    free(list);
}

static void kafka_too_long(void *user, const char *head, size_t len)
{
    weir_server_too_long(user, WEIR_SRC_KAFKA, head, len);
}

static bool file_submit(void *user, const char *line, size_t len)
{
    return weir_server_submit(user, WEIR_SRC_FILE, line, len);
}

static void file_too_long(void *user, const char *head, size_t len)
{
    weir_server_too_long(user, WEIR_SRC_FILE, head, len);
}

static void begin_stop(weir_server *srv, const char *why);

static void file_done(void *user, const char *why)
{
    weir_server *srv = user;
    srv->file_done = true;
    weir_log_write(&srv->log, why ? WEIR_LOG_ERROR : WEIR_LOG_INFO, "source_done",
                   "events file %s %s%s", srv->cfg->events, why ? "failed: " : "ended",
                   why ? why : "");
    if (srv->cfg->exit_on_eof)
        begin_stop(srv, "end of the events file");
}

static void on_room(void *user)
{
    weir_server *srv = user;
    if (srv->stopping)
        return;
    if (srv->tcp)
        weir_tcp_source_resume(srv->tcp);
    if (srv->file)
        weir_file_source_resume(srv->file);
    if (srv->kafka)
        weir_kafka_source_resume(srv->kafka);
}

const char *weir_server_no_store(const weir_server *srv)
{
    return srv->partitions
               ? "no savepoints with kafka-state-per-partition: each partition's newest "
                 "checkpoint is its state"
               : "no state store: start weir with --checkpoint-interval or --state-store";
}

bool weir_server_ready(const weir_server *srv)
{
    return srv->rs && srv->shards && !srv->stopping &&
           (srv->tcp || strcmp(srv->cfg->tcp, "off") == 0) &&
           weir_partitions_unrestored(srv->partitions) == 0 &&
           (!srv->kafka || weir_kafka_source_partitions(srv->kafka) > 0);
}

/* ---- reload and stop ------------------------------------------------ */

int weir_server_swap_rules(weir_server *srv, weir_ruleset *rs, char *why, size_t cap)
{
    if (!weir_server_rules_fit(srv, rs, why, cap)) {
        weir_ruleset_free(rs);
        return -1;
    }
    weir_restore_report rep;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (weir_shard_pool_swap_rules(srv->shards, rs, &rep) < 0) {
        snprintf(why, cap, "out of memory");
        weir_ruleset_free(rs);
        return -1;
    }
    /* after the main shards, which cannot fail half-way: a unit that
     * cannot stays on the old rules, so the old rule set lives on */
    if (srv->partitions && weir_partitions_swap_rules(srv->partitions, rs, &rep) < 0) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "reload_failed",
                       "a partition's engine could not move to the new rules (out of memory)");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    weir_log_write(&srv->log, WEIR_LOG_INFO, "rules_swapped",
                   "rules swapped: %zu kept their state (%" PRIu64 " keys, %" PRIu64
                   " held events), %zu start empty, %zu dropped; ingestion paused %.1f ms",
                   rep.rules_restored, rep.keys, rep.held_events, rep.rules_fresh,
                   rep.rules_dropped,
                   (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    weir_ruleset_free(srv->rs);
    srv->rs = rs;
    if (srv->checkpointer)
        weir_checkpointer_set_rules(srv->checkpointer, rs);
    if (realize_sinks(srv, rs) < 0)
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing", "out of memory for sinks");
    return 0;
}

void weir_server_rules_changed(weir_server *srv)
{
    if (realize_sinks(srv, srv->rs) < 0)
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing", "out of memory for sinks");
}

static void reload(weir_server *srv)
{
    weir_log_write(&srv->log, WEIR_LOG_INFO, "reload", "SIGHUP: reloading rules, reopening files");
    if (srv->alerts && weir_file_sink_reopen(srv->alerts) < 0)
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing", "cannot reopen '%s': %s",
                       weir_file_sink_path(srv->alerts), strerror(errno));
    if (srv->dead && weir_file_sink_reopen(srv->dead) < 0)
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing", "cannot reopen '%s': %s",
                       weir_file_sink_path(srv->dead), strerror(errno));
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].file && weir_file_sink_reopen(srv->sinks[i].file) < 0)
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: cannot reopen: %s",
                           srv->sinks[i].name, strerror(errno));
    weir_ruleset *rs = compile_rules(srv);
    if (!rs) {
        srv->reload_failures++;
        weir_log_write(&srv->log, WEIR_LOG_WARN, "reload_failed", "keeping the running rules");
        return;
    }
    char why[512];
    if (weir_server_swap_rules(srv, rs, why, sizeof why) < 0) {
        srv->reload_failures++;
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "reload_failed", "keeping the running rules: %s",
                       why);
        return;
    }
    srv->reloads++;
    log_rules(srv);
}

static void finish_stop(weir_server *srv)
{
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].webhook && !weir_webhook_idle(srv->sinks[i].webhook)) {
            weir_webhook_stats st;
            weir_webhook_get_stats(srv->sinks[i].webhook, &st);
            weir_log_write(&srv->log, WEIR_LOG_WARN, "sink_failing",
                           "sink %s: %" PRIu64 " alerts undelivered at exit, kept in %s",
                           srv->sinks[i].name, st.queued, srv->cfg->state_dir);
        }
    event_base_loopbreak(srv->base);
}

static void final_checkpoint_done(void *user, int ok, const char *error)
{
    weir_server *srv = user;
    srv->final_checkpoint = FINAL_DONE;
    if (ok != 0)
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "checkpoint_failed",
                       "the final checkpoint failed (%s): a restart resumes from the one "
                       "before",
                       error ? error : "?");
}

static void stop_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_server *srv = arg;
    if (srv->final_checkpoint == FINAL_DUE) {
        weir_checkpoint_stats st;
        weir_checkpointer_get_stats(srv->checkpointer, &st);
        if (!st.in_flight) {
            srv->final_checkpoint = FINAL_RUNNING; /* the callback may run at once */
            if (weir_checkpointer_checkpoint_now(srv->checkpointer, final_checkpoint_done,
                                                 srv) != 0)
                srv->final_checkpoint = FINAL_DONE;
        }
    }
    bool checkpointed = (srv->final_checkpoint == FINAL_NONE ||
                         srv->final_checkpoint == FINAL_DONE) &&
                        (!srv->partitions || weir_partitions_stopped(srv->partitions));
    if ((checkpointed && sinks_idle(srv)) || now_ms() >= srv->stop_deadline_ms) {
        if (!checkpointed)
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "checkpoint_failed",
                           "the final checkpoint did not finish within --shutdown-timeout");
        finish_stop(srv);
        return;
    }
    struct timeval tv = {0, 50 * 1000};
    evtimer_add(srv->stop_timer, &tv);
}

static void begin_stop(weir_server *srv, const char *why)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    weir_log_write(&srv->log, WEIR_LOG_INFO, "stop", "%s: draining", why);
    if (srv->tcp)
        weir_tcp_source_stop(srv->tcp);
    if (srv->file)
        weir_file_source_stop(srv->file);
    if (srv->kafka)
        weir_kafka_source_stop(srv->kafka);
    /* With checkpoints, what is pending (held events, open windows,
     * deadlines) goes into a final checkpoint and goes on after a restart;
     * firing it all now would raise alerts an uninterrupted run never
     * raises. Without, and at the end of a replayed file, it is flushed. */
    if (srv->checkpointer && srv->cfg->checkpoint_interval_s > 0 &&
        !(srv->cfg->exit_on_eof && srv->file_done))
        srv->final_checkpoint = FINAL_DUE;
    else
        weir_shard_pool_finish(srv->shards);
    if (srv->partitions)
        weir_partitions_stop(srv->partitions, !(srv->cfg->exit_on_eof && srv->file_done));
    if (srv->http)
        weir_http_api_close_streams(srv->http);
    srv->stop_deadline_ms = now_ms() + (int64_t)srv->cfg->shutdown_timeout_ms;
    event_active(srv->stop_timer, EV_TIMEOUT, 0);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    weir_server *srv = arg;
    if (sig == SIGHUP) {
        if (!srv->stopping)
            reload(srv);
        return;
    }
    begin_stop(srv, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ---- start ---------------------------------------------------------- */

static int open_output(weir_server *srv, const char *path, struct weir_file_sink **out)
{
    if (!path || strcmp(path, "none") == 0)
        return 0;
    *out = weir_file_sink_open(path);
    if (!*out) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "cannot open '%s': %s", path,
                       strerror(errno));
        return -1;
    }
    return 0;
}

/* Before a checkpoint counts: the alerts raised before its barrier are
 * acknowledged by the Kafka sinks (file sinks write through at once;
 * webhook sinks keep theirs in a queue that spills to disk), or, for a
 * transactional one, in the transaction its checkpoint will commit. */
int weir_server_flush_sinks(void *user, char *err, size_t errlen)
{
    weir_server *srv = user;
    for (size_t i = 0; i < srv->n_sinks; i++) {
        weir_kafka_sink *k = srv->sinks[i].kafka;
        if (k && weir_kafka_sink_transactional(k)) {
            if (weir_kafka_sink_cut(k, err, errlen) != 0)
                return -1;
        } else if (k && weir_kafka_sink_flush(k, (int)srv->cfg->store_timeout_ms) != 0) {
            snprintf(err, errlen, "sink %s: alerts not acknowledged by Kafka in time",
                     srv->sinks[i].name);
            return -1;
        }
    }
    return 0;
}

/* The alerts in the transactional sinks' cut transactions, kept with the
 * checkpoint (part "pending-alerts"): if a restart finds that transaction
 * aborted, they are produced again (the restored state will not raise
 * them). */
static int pending_alerts(void *user, void **data, size_t *len)
{
    weir_server *srv = user;
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (size_t i = 0; i < srv->n_sinks; i++)
        if (srv->sinks[i].kafka && weir_kafka_sink_transactional(srv->sinks[i].kafka) &&
            weir_kafka_sink_pending(srv->sinks[i].kafka, &buf, &cap, &used) != 0) {
            free(buf);
            return -1;
        }
    *data = buf;
    *len = used;
    return 0;
}

/* The transactional sink that commits the Kafka source's offsets, or NULL
 * (the source commits them itself). */
static weir_kafka_sink *offsets_owner(const weir_server *srv)
{
    for (size_t i = 0; srv->kafka && i < srv->n_sinks; i++)
        if (srv->sinks[i].kafka && weir_kafka_sink_transactional(srv->sinks[i].kafka))
            return srv->sinks[i].kafka;
    return NULL;
}

/* At a checkpoint's barrier: where the sources are (Kafka's positions). */
static int source_offsets(void *user, void **data, size_t *len)
{
    weir_server *srv = user;
    *data = NULL;
    *len = 0;
    if (!srv->kafka || srv->partitions) /* the units keep the Kafka positions */
        return 0;
    char *text;
    if (weir_kafka_source_positions(srv->kafka, &text, len) != 0)
        return -1;
    *data = text;
    return 0;
}

/* The rules put over HTTP, kept with each checkpoint and savepoint. */
static int put_rules(void *user, void **data, size_t *len)
{
    char *text;
    if (weir_server_rules_snapshot(user, &text, len) != 0)
        return -1;
    *data = text;
    return 0;
}

/* A checkpoint is in the store: its offsets may be committed, and the
 * transactions it covers: with a Kafka source, the transactional sink
 * commits the offsets in its transaction (so the alerts and the offsets
 * become visible together, or neither). */
static void offsets_durable(void *user, uint64_t id, const void *offsets, size_t len)
{
    weir_server *srv = user;
    weir_kafka_sink *owner = offsets_owner(srv);
    /* before the first assignment they are the restored checkpoint's, and
     * the consumer is no group member to commit them for */
    if (srv->kafka && !weir_kafka_source_assigned(srv->kafka))
        len = 0;
    for (size_t i = 0; i < srv->n_sinks; i++) {
        weir_kafka_sink *k = srv->sinks[i].kafka;
        if (!k || !weir_kafka_sink_transactional(k))
            continue;
        if (k == owner)
            weir_kafka_sink_commit(k, id, offsets, len,
                                   weir_kafka_source_group_metadata(srv->kafka));
        else
            weir_kafka_sink_commit(k, id, NULL, 0, NULL);
    }
    if (srv->kafka && len && !owner)
        weir_kafka_source_commit(srv->kafka, offsets, len);
}

/* After a restore, once the sources are made: the restored checkpoint's
 * pending alerts. Its transaction committed the checkpoint's offsets with
 * the metadata "weir checkpoint ID"; if the group holds exactly those, it
 * went through and its alerts are on the topic; otherwise it was aborted
 * (by this process's init_transactions, if not before) and they are
 * produced again. Without a Kafka source there is nothing to tell by:
 * they are produced again (at least once; the alert id is the key). */
static void replay_pending(weir_server *srv)
{
    if (!srv->restored_pending_len)
        return;
    for (size_t i = 0; i < srv->n_sinks; i++) {
        weir_kafka_sink *k = srv->sinks[i].kafka;
        if (!k || !weir_kafka_sink_transactional(k))
            continue;
        char why[600];
        if (k == offsets_owner(srv) && srv->restored_checkpoint && srv->restored_offsets_len) {
            char meta[64], got[400];
            weir_kafka_txn_metadata(srv->restored_checkpoint, meta, sizeof meta);
            int rc = weir_kafka_source_committed(srv->kafka, srv->restored_offsets,
                                                 srv->restored_offsets_len, meta,
                                                 (int)srv->cfg->store_timeout_ms, got,
                                                 sizeof got);
            if (rc == 1) {
                weir_log_write(&srv->log, WEIR_LOG_INFO, "pending_alerts",
                               "sink %s: the transaction of checkpoint %" PRIu64
                               " was committed (group offsets %s): its alerts are not "
                               "produced again",
                               srv->sinks[i].name, srv->restored_checkpoint, got);
                continue;
            }
            snprintf(why, sizeof why, "%s (group offsets: %s)",
                     rc == 0 ? "was not committed" : "cannot be told committed", got);
        } else {
            snprintf(why, sizeof why, "cannot be told committed (%s): at least once",
                     srv->kafka ? "restored from a savepoint" : "no Kafka source");
        }
        size_t n = weir_kafka_sink_reproduce(k, srv->restored_pending, srv->restored_pending_len);
        weir_log_write(&srv->log, WEIR_LOG_INFO, "pending_alerts",
                       "sink %s: the transaction of %s %s: its %zu alerts are produced again",
                       srv->sinks[i].name, srv->restored_from, why, n);
    }
    free(srv->restored_pending);
    srv->restored_pending = NULL;
    srv->restored_pending_len = 0;
}

/* The state store, the restore of the latest checkpoint (or of
 * --from-savepoint) into the shards before any source runs, and the
 * checkpointer. */
static int open_state(weir_server *srv)
{
    weir_config *cfg = srv->cfg;
    char err[512];
    weir_store_options so = {
        .job = cfg->job,
        .keep = (unsigned)cfg->checkpoints_kept,
        .base = srv->base,
        .timeout_ms = (int)cfg->store_timeout_ms,
    };
    const char *where = cfg->state_store ? cfg->state_store : cfg->state_dir;
    srv->store = weir_store_open(where, &so, err, sizeof err);
    if (!srv->store) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "state store %s: %s", where,
                       err);
        return -1;
    }
    weir_restored r;
    int rc = weir_checkpoint_restore(srv->store, srv->shards, srv->rs, cfg->from_savepoint,
                                     "pending-alerts", &r, &srv->log, err, sizeof err);
    if (rc < 0) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed",
                       "cannot restore the state of job %s from %s: %s", cfg->job, where, err);
        return -1;
    }
    if (rc == 0) {
        snprintf(srv->restored_from, sizeof srv->restored_from, "%s %s",
                 r.kind == WEIR_STORE_CHECKPOINT ? "checkpoint" : "savepoint", r.id);
        weir_log_write(&srv->log, WEIR_LOG_INFO, "restored",
                       "restored %s of job %s: %" PRIu64 " keys, %" PRIu64
                       " held events; %zu rules kept their state, %zu start empty",
                       srv->restored_from, cfg->job, r.report.keys, r.report.held_events,
                       r.report.rules_restored, r.report.rules_fresh);
    } else {
        weir_log_write(&srv->log, WEIR_LOG_INFO, "restored",
                       "no checkpoint of job %s in %s: starting empty", cfg->job, where);
    }
    srv->restored_offsets = r.offsets; /* for the Kafka source, made next */
    srv->restored_offsets_len = r.offsets_len;
    srv->restored_pending = r.extra; /* replay_pending, once the source is made */
    srv->restored_pending_len = r.extra_len;
    if (rc == 0 && r.kind == WEIR_STORE_CHECKPOINT)
        srv->restored_checkpoint = strtoull(r.id, NULL, 10);
    weir_checkpoint_hooks hooks = {.offsets = source_offsets,
                                   .rules = put_rules,
                                   .flush = weir_server_flush_sinks,
                                   .extra_part = "pending-alerts",
                                   .extra = pending_alerts,
                                   .durable = offsets_durable,
                                   .user = srv};
    srv->checkpointer = weir_checkpointer_new(srv->base, srv->store, srv->shards, srv->rs,
                                              cfg->checkpoint_interval_s * 1000,
                                              r.next_checkpoint_id, &hooks, &srv->log);
    if (srv->checkpointer && cfg->checkpoint_in_place)
        weir_checkpointer_set_fork(srv->checkpointer, false);
    return srv->checkpointer ? 0 : -1;
}

/* --kafka-state-per-partition: the units that take the Kafka source's
 * messages, each with its own state in the store (partitions.h). */
static int open_partitions(weir_server *srv, const weir_engine_options *eopt,
                           const weir_shard_hooks *hooks)
{
    weir_config *cfg = srv->cfg;
    const char *why = !cfg->kafka_topics ? "a Kafka source (kafka-topics)"
                      : cfg->checkpoint_interval_s == 0
                          ? "checkpoints (checkpoint-interval), which carry each partition's "
                            "state to its next owner"
                          : NULL;
    if (why) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed",
                       "kafka-state-per-partition needs %s", why);
        return -1;
    }
    if (cfg->from_savepoint) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed",
                       "--from-savepoint: a savepoint holds no partition's state with "
                       "kafka-state-per-partition (each partition restores its own newest "
                       "checkpoint)");
        return -1;
    }
    weir_checkpoint_hooks server_hooks = {.rules = put_rules,
                                          .flush = weir_server_flush_sinks,
                                          .user = srv};
    weir_partitions_options po = {
        .base = srv->base,
        .store = cfg->state_store ? cfg->state_store : cfg->state_dir,
        .job = cfg->job,
        .keep = (unsigned)cfg->checkpoints_kept,
        .store_timeout_ms = (int)cfg->store_timeout_ms,
        .interval_ms = cfg->checkpoint_interval_s * 1000,
        .queue_bytes = (size_t)cfg->queue_bytes,
        .eopt = &srv->partition_eopt,
        .hooks = &srv->partition_hooks,
        .checkpoint = &server_hooks,
        .log = &srv->log,
    };
    srv->partition_eopt = *eopt;
    srv->partition_hooks = *hooks;
    srv->partitions = weir_partitions_new(&po, srv->rs);
    if (!srv->partitions)
        return -1;
    weir_log_write(&srv->log, WEIR_LOG_INFO, "partitions",
                   "state per Kafka partition: each assigned partition N restores job %s.pN",
                   cfg->job);
    return 0;
}

static int start(weir_server *srv)
{
    weir_config *cfg = srv->cfg;
    srv->base = event_base_new();
    srv->ring = weir_alert_ring_new((size_t)cfg->alert_ring);
    if (!srv->base || !srv->ring)
        return -1;
    if (!(srv->rs = compile_rules(srv)))
        return -1;
    if (cfg->default_stream) {
        bool known = false;
        for (size_t i = 0; i < weir_ruleset_stream_count(srv->rs); i++)
            known |= strcmp(weir_ruleset_stream_name(srv->rs, i), cfg->default_stream) == 0;
        if (!known) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed",
                           "--stream %s: the rules declare no such stream", cfg->default_stream);
            return -1;
        }
    }
    log_rules(srv);
    char why_txn[512];
    if (!txn_sinks_fit(srv, srv->rs, why_txn, sizeof why_txn)) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "%s", why_txn);
        return -1;
    }
    if (open_output(srv, cfg->alerts, &srv->alerts) < 0 ||
        open_output(srv, cfg->dead_letter, &srv->dead) < 0)
        return -1;
    if (realize_sinks(srv, srv->rs) < 0)
        return -1;

    weir_engine_options eopt = {
        .stream_field = cfg->stream_field,
        .default_stream = cfg->default_stream,
        .decode_all_fields = cfg->full_events,
        /* the config's 0 is "never"; the engine's 0 its default */
        .split_idle_ms = cfg->kafka_idle_ms ? (int64_t)cfg->kafka_idle_ms : -1,
    };
    weir_shard_hooks hooks = {on_alert, on_rejected, on_room, srv};
    /* keys split over shards by the value of one field per stream; rules
     * that key a stream by two fields need all its keys in one engine */
    char why[256];
    bool shardable = weir_shard_pool_shardable(srv->rs, NULL, why, sizeof why);
    unsigned shards = (unsigned)cfg->shards;
    if (shards == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        shards = cores > 1 ? (unsigned)(cores < 64 ? cores : 64) : 1;
        if (shards > 1 && !shardable) {
            weir_log_write(&srv->log, WEIR_LOG_INFO, "shards",
                           "1 shard, not one per core (%u): %s", shards, why);
            shards = 1;
        }
    } else if (shards > 1 && !shardable) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "--shards %u: %s", shards, why);
        return -1;
    }
    char perr[256];
    srv->shards = weir_shard_pool_new(srv->base, shards, srv->rs, &eopt,
                                      (size_t)cfg->queue_bytes, &hooks, perr, sizeof perr);
    if (!srv->shards) {
        weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "%s", perr);
        return -1;
    }
    log_shards(srv, shards);

    /* with state per partition the job's state is its partitions': each
     * process's own shards (TCP, HTTP and file events) keep none */
    if (cfg->kafka_state_per_partition) {
        if (open_partitions(srv, &eopt, &hooks) < 0)
            return -1;
    } else if ((cfg->checkpoint_interval_s > 0 || cfg->from_savepoint || cfg->state_store) &&
               open_state(srv) < 0) {
        return -1;
    }

    int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        srv->signals[i] = evsignal_new(srv->base, sigs[i], signal_cb, srv);
        if (!srv->signals[i] || evsignal_add(srv->signals[i], NULL) < 0)
            return -1;
    }
    if (!(srv->stop_timer = evtimer_new(srv->base, stop_timer_cb, srv)))
        return -1;

    char host[256], err[256];
    uint16_t port;
    if (strcmp(cfg->http, "off") != 0) {
        if (weir_config_split_addr(cfg->http, host, sizeof host, &port) < 0) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed",
                           "--http '%s' is not HOST:PORT", cfg->http);
            return -1;
        }
        srv->http = weir_http_api_new(srv, host, port, err, sizeof err);
        if (!srv->http) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "http: %s", err);
            return -1;
        }
        weir_log_write(&srv->log, WEIR_LOG_INFO, "http_listening", "http api on %s:%u", host,
                       weir_http_api_port(srv->http));
    }
    if (strcmp(cfg->tcp, "off") != 0) {
        if (weir_config_split_addr(cfg->tcp, host, sizeof host, &port) < 0) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed",
                           "--tcp '%s' is not HOST:PORT", cfg->tcp);
            return -1;
        }
        weir_tcp_source_ops ops = {tcp_submit, tcp_too_long, tcp_client};
        srv->tcp = weir_tcp_source_new(srv->base, host, port, (size_t)cfg->max_line, &ops, srv,
                                       err, sizeof err);
        if (!srv->tcp) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "tcp: %s", err);
            return -1;
        }
        weir_log_write(&srv->log, WEIR_LOG_INFO, "tcp_listening", "tcp source on %s:%u", host,
                       weir_tcp_source_port(srv->tcp));
    }
    if (cfg->kafka_topics) {
        if (!cfg->kafka_brokers) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed",
                           "--kafka-topics needs --kafka-brokers");
            return -1;
        }
        weir_kafka_source_ops ops = {kafka_submit, kafka_too_long, kafka_split_open,
                                     kafka_split_close, kafka_resume_at};
        log_topics(srv);
        /* with units, each restores where its partitions resume */
        weir_kafka_source_options kopt = {
            .checkpointed = (srv->checkpointer && cfg->checkpoint_interval_s > 0) ||
                            srv->partitions,
            .start_offsets = srv->partitions ? NULL : srv->restored_offsets,
            .start_len = srv->partitions ? 0 : srv->restored_offsets_len,
            .owner_positions = srv->partitions != NULL,
        };
        srv->kafka = weir_kafka_source_new(srv->base, cfg->kafka_brokers, cfg->kafka_topics,
                                           cfg->kafka_group, cfg->kafka_config,
                                           (size_t)cfg->max_line, &ops, &kopt, srv,
                                           &srv->log, err, sizeof err);
        if (!srv->kafka) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "kafka: %s", err);
            return -1;
        }
        if (srv->partitions)
            weir_partitions_set_source(srv->partitions, srv->kafka);
        weir_log_write(&srv->log, WEIR_LOG_INFO, "kafka_subscribed",
                       "kafka source: topics %s, group %s, brokers %s", cfg->kafka_topics,
                       cfg->kafka_group, cfg->kafka_brokers);
    }
    if (cfg->events) {
        weir_file_source_ops ops = {file_submit, file_too_long, file_done};
        srv->file = weir_file_source_new(srv->base, cfg->events, (size_t)cfg->max_line, &ops, srv);
        if (!srv->file) {
            weir_log_write(&srv->log, WEIR_LOG_ERROR, "start_failed", "cannot read '%s': %s",
                           cfg->events, strerror(errno));
            return -1;
        }
        weir_log_write(&srv->log, WEIR_LOG_INFO, "source_connected", "replaying %s",
                       cfg->events);
    }
    replay_pending(srv);
    return 0;
}

static void teardown(weir_server *srv)
{
    /* sources first (they point at the shard), sinks last (the engine's
     * final alerts went to them) */
    weir_file_source_free(srv->file);
    weir_kafka_source_free(srv->kafka); /* its last revocation reaches the units */
    weir_partitions_free(srv->partitions);
    weir_tcp_source_free(srv->tcp);
    weir_http_api_free(srv->http);
    weir_checkpointer_free(srv->checkpointer);
    weir_store_free(srv->store);
    free(srv->restored_offsets);
    free(srv->restored_pending);
    weir_shard_pool_free(srv->shards);
    free_sinks(srv);
    weir_file_sink_close(srv->alerts);
    weir_file_sink_close(srv->dead);
    weir_alert_ring_free(srv->ring);
    weir_ruleset_free(srv->rs);
    weir_server_free_versions(srv);
    for (int i = 0; i < 3; i++)
        if (srv->signals[i])
            event_free(srv->signals[i]);
    if (srv->stop_timer)
        event_free(srv->stop_timer);
    if (srv->base)
        event_base_free(srv->base);
}

int weir_cmd_serve(int argc, char **argv)
{
    weir_config cfg;
    int rc = weir_config_load(&cfg, argc, argv, stdout, stderr);
    if (rc != 0) {
        weir_config_free(&cfg);
        return rc > 0 ? WEIR_EXIT_OK : WEIR_EXIT_USAGE;
    }
    /* a client that goes away mid-write must not kill the server */
    signal(SIGPIPE, SIG_IGN);
    if (weir_webhook_global_init() != 0) {
        fputs("weir serve: cannot initialise libcurl\n", stderr);
        weir_config_free(&cfg);
        return WEIR_EXIT_USAGE;
    }
    weir_server srv = {.cfg = &cfg, .log = {.json = strcmp(cfg.log_format, "json") == 0}};
    weir_log_write(&srv.log, WEIR_LOG_INFO, "start", "weir %s starting (pid %ld)",
                   PACKAGE_VERSION, (long)getpid());
    int status = WEIR_EXIT_OK;
    if (start(&srv) < 0) {
        status = srv.rules_invalid ? WEIR_EXIT_RULE_ERRORS : WEIR_EXIT_USAGE;
    } else {
        weir_log_write(&srv.log, WEIR_LOG_INFO, "ready", "serving");
        event_base_dispatch(srv.base);
        weir_engine_stats st;
        weir_shard_pool_stats(srv.shards, &st);
        weir_partitions_add_stats(srv.partitions, &st);
        weir_log_write(&srv.log, WEIR_LOG_INFO, "stopped",
                       "%" PRIu64 " events, %" PRIu64 " alerts, %" PRIu64 " late, %" PRIu64
                       " dead-lettered",
                       st.events, st.alerts, st.late, st.dead_letters);
    }
    teardown(&srv);
    weir_webhook_global_cleanup();
    weir_config_free(&cfg);
    return status;
}
