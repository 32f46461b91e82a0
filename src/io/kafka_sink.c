/* kafka_sink.c — see kafka_sink.h. The transactional mode is a small state
 * machine on the loop (txn_state); its alerts are kept as records in two
 * byte buffers, those of the open transaction (what a checkpoint keeps, and
 * what an abort writes again) and those held back while a transaction is
 * being resolved. */
#include <event2/event.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "io/kafka_conf.h"
#include "io/kafka_sink.h"
#include "util/grow_bytes.h"

/* The longest a transactional call blocks the loop; unfinished calls are
 * made again (librdkafka resumes them) TXN_RETRY_MS later. */
#define TXN_SLICE_MS 50
#define TXN_RETRY_MS 20

typedef enum txn_state {
    TXN_NONE,       /* not transactional */
    TXN_INIT,       /* init_transactions not done yet: alerts held */
    TXN_OPEN,       /* a transaction is open: alerts go into it */
    TXN_CUT,        /* a barrier cut it: later alerts are held */
    TXN_COMMITTING, /* its checkpoint is durable: offsets, then the commit */
    TXN_ABORTING,   /* it failed: aborted, then its alerts go into the next */
    TXN_FATAL,      /* the producer cannot go on (fenced): alerts dropped */
} txn_state;

static const char *const txn_state_names[] = {"none",       "init",     "open", "cut",
                                              "committing", "aborting", "fatal"};

/* Records "SINK<TAB>ID<TAB>LENGTH\nJSON\n" (the checkpoint part's format). */
typedef struct records {
    char *buf;
    size_t len, cap;
    uint64_t n;
} records;

struct weir_kafka_sink {
    char *name, *topic;      /* owned */
    const weir_log *log;
    rd_kafka_t *rk;          /* owned */
    rd_kafka_queue_t *queue; /* owned reference to the main queue */
    int efd;                 /* owned */
    struct event *ev;        /* owned */
    uint64_t delivered, failed;
    bool failing;
    /* transactional mode */
    txn_state state;
    int timeout_ms;          /* a transaction unresolved this long is failing */
    struct event *txn_ev;    /* owned: steps a transaction being resolved */
    records txn;             /* alerts in the open transaction */
    records held;            /* alerts waiting for the next one */
    bool must_abort;         /* an alert could not be produced into it */
    uint64_t checkpoint;     /* the checkpoint being committed */
    rd_kafka_topic_partition_list_t *offsets;         /* owned: its offsets */
    rd_kafka_consumer_group_metadata_t *group;        /* owned */
    bool offsets_sent;
    bool retry_logged;       /* one log line per transaction's retries */
    int64_t resolving_since_us;
    uint64_t committed, aborted, err_retriable, err_abortable, err_fatal, reproduced;
    double last_commit_seconds;
    char last_error[512];
};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int records_add(records *r, const char *sink, const char *id, const char *json,
                       size_t len)
{
    char head[384];
    int h = snprintf(head, sizeof head, "%s\t%s\t%zu\n", sink, id, len);
    if (h < 0 || (size_t)h >= sizeof head ||
        !weir_grow_bytes(&r->buf, &r->cap, r->len + (size_t)h + len + 1))
        return -1;
    memcpy(r->buf + r->len, head, (size_t)h);
    memcpy(r->buf + r->len + h, json, len);
    r->buf[r->len + (size_t)h + len] = '\n';
    r->len += (size_t)h + len + 1;
    r->n++;
    return 0;
}

/* The record at *p (advanced past it): its sink, id and JSON, or false at
 * the end or on a malformed record. */
typedef struct record {
    const char *sink, *id, *json;
    size_t sink_len, id_len, json_len;
} record;

static bool record_next(const char **p, const char *end, record *out)
{
    const char *eol = *p < end ? memchr(*p, '\n', (size_t)(end - *p)) : NULL;
    const char *t1 = eol ? memchr(*p, '\t', (size_t)(eol - *p)) : NULL;
    const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(eol - t1 - 1)) : NULL;
    if (!t2)
        return false;
    char num[32];
    size_t nl = (size_t)(eol - t2 - 1);
    if (nl == 0 || nl >= sizeof num)
        return false;
    memcpy(num, t2 + 1, nl);
    num[nl] = '\0';
    char *stop;
    unsigned long long len = strtoull(num, &stop, 10);
    if (*stop || len > (size_t)(end - eol - 1) || (size_t)(end - eol - 1) - len < 1 ||
        eol[1 + len] != '\n')
        return false;
    *out = (record){*p, t1 + 1, eol + 1, (size_t)(t1 - *p), (size_t)(t2 - t1 - 1), (size_t)len};
    *p = eol + 1 + len + 1;
    return true;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    weir_kafka_sink *k = opaque;
    if (!m->err) {
        k->delivered++;
        if (k->failing)
            weir_log_write(k->log, WEIR_LOG_INFO, "sink_recovered", "sink %s: delivering again",
                           k->name);
        k->failing = false;
        return;
    }
    /* in a transaction, also failing it: its commit fails as abortable and
     * its alerts are written again in the next one */
    k->failed++;
    if (!k->failing)
        weir_log_write(k->log, WEIR_LOG_WARN, "sink_failing", "sink %s: topic %s: %s", k->name,
                       k->topic, rd_kafka_err2str(m->err));
    k->failing = true;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    weir_kafka_sink *k = arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    while (rd_kafka_poll(k->rk, 0) > 0)
        ;
}

static rd_kafka_resp_err_t produce(weir_kafka_sink *k, const char *id, size_t id_len,
                                   const char *json, size_t len)
{
    return rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(k->topic), RD_KAFKA_V_KEY(id, id_len),
                             RD_KAFKA_V_VALUE((void *)json, len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
}

/* ---- transactions --------------------------------------------------- */

static void txn_arm(weir_kafka_sink *k, int ms)
{
    struct timeval tv = {0, ms * 1000};
    evtimer_add(k->txn_ev, &tv);
}

/* Into the open transaction, and into its records. A refused alert stays
 * in the records (it must not be lost) and the transaction is aborted at
 * its commit, so the next one writes it again. */
static void txn_produce(weir_kafka_sink *k, const char *id, size_t id_len, const char *json,
                        size_t len)
{
    char idz[256];
    snprintf(idz, sizeof idz, "%.*s", (int)(id_len < 255 ? id_len : 255), id);
    if (records_add(&k->txn, k->name, idz, json, len) != 0) {
        k->failed++;
        weir_log_write(k->log, WEIR_LOG_ERROR, "sink_failing",
                       "sink %s: out of memory: alert %s dropped", k->name, idz);
        return;
    }
    rd_kafka_resp_err_t e = produce(k, id, id_len, json, len);
    if (e && !k->must_abort) {
        k->must_abort = true;
        weir_log_write(k->log, WEIR_LOG_WARN, "sink_failing",
                       "sink %s: %s: the transaction will be aborted and written again",
                       k->name, rd_kafka_err2str(e));
    }
}

/* Produces every record of r (then emptied) into the open transaction. */
static size_t txn_produce_all(weir_kafka_sink *k, records *r)
{
    records take = *r;
    *r = (records){0};
    const char *p = take.buf, *end = take.buf + take.len;
    record rec;
    size_t n = 0;
    while (p && record_next(&p, end, &rec)) {
        txn_produce(k, rec.id, rec.id_len, rec.json, rec.json_len);
        n++;
    }
    free(take.buf);
    return n;
}

static void txn_fatal(weir_kafka_sink *k, const char *what, rd_kafka_error_t *e)
{
    char why[160];
    rd_kafka_resp_err_t fe = rd_kafka_fatal_error(k->rk, why, sizeof why);
    snprintf(k->last_error, sizeof k->last_error, "%s: %.200s%s%s", what,
             e ? rd_kafka_error_string(e) : "", fe ? "; " : "", fe ? why : "");
    k->err_fatal++;
    k->state = TXN_FATAL;
    uint64_t lost = k->txn.n + k->held.n;
    k->failed += lost;
    free(k->txn.buf);
    free(k->held.buf);
    k->txn = k->held = (records){0};
    weir_log_write(k->log, WEIR_LOG_ERROR, "transaction_failed",
                   "sink %s: transactions stopped for good (%s); %" PRIu64
                   " alerts not written: a restart resumes from the last checkpoint "
                   "(another process with this transactional.id fences this one)",
                   k->name, k->last_error, lost);
}

/* Begins the next transaction and writes what waited for it: after an
 * abort the aborted one's alerts (moved to `again`), then the held ones. */
static void txn_begin(weir_kafka_sink *k, records *again)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(k->rk);
    if (e) {
        txn_fatal(k, "begin_transaction", e);
        rd_kafka_error_destroy(e);
        if (again) {
            k->failed += again->n;
            free(again->buf);
        }
        return;
    }
    k->state = TXN_OPEN;
    k->must_abort = false;
    k->retry_logged = false;
    if (again)
        txn_produce_all(k, again);
    txn_produce_all(k, &k->held);
}

/* Sorts a failed call: 1 retry later, 0 abort, -1 fatal (logged). */
static int txn_classify(weir_kafka_sink *k, const char *what, rd_kafka_error_t *e)
{
    snprintf(k->last_error, sizeof k->last_error, "%s: %s", what, rd_kafka_error_string(e));
    if (rd_kafka_error_is_fatal(e)) {
        txn_fatal(k, what, e);
        return -1;
    }
    if (rd_kafka_error_txn_requires_abort(e)) {
        k->err_abortable++;
        weir_log_write(k->log, WEIR_LOG_WARN, "transaction_failed",
                       "sink %s: %s: aborting the transaction; its %" PRIu64
                       " alerts go into the next one",
                       k->name, k->last_error, k->txn.n);
        return 0;
    }
    if (rd_kafka_error_is_retriable(e)) {
        k->err_retriable++;
        /* a slice that ran out is no failure: the call goes on */
        if (!k->retry_logged && rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR__TIMED_OUT) {
            k->retry_logged = true;
            weir_log_write(k->log, WEIR_LOG_WARN, "transaction_retrying", "sink %s: %s",
                           k->name, k->last_error);
        }
        return 1;
    }
    /* neither retriable nor abortable: librdkafka advises treating it as
     * fatal */
    txn_fatal(k, what, e);
    return -1;
}

/* A step of the commit failed (e is consumed): called again later, or
 * the transaction is aborted, or the sink stopped (fatal). */
static void commit_step_failed(weir_kafka_sink *k, const char *what, rd_kafka_error_t *e)
{
    int rc = txn_classify(k, what, e);
    rd_kafka_error_destroy(e);
    if (rc > 0) {
        txn_arm(k, TXN_RETRY_MS);
    } else if (rc == 0) {
        k->state = TXN_ABORTING;
        txn_arm(k, 0);
    }
}

static void txn_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_kafka_sink *k = arg;
    rd_kafka_error_t *e;
    int rc;
    switch (k->state) {
    case TXN_INIT:
        if (!(e = rd_kafka_init_transactions(k->rk, TXN_SLICE_MS))) {
            weir_log_write(k->log, WEIR_LOG_INFO, "sink_recovered",
                           "sink %s: transactions initialised", k->name);
            txn_begin(k, NULL);
            return;
        }
        rc = txn_classify(k, "init_transactions", e);
        rd_kafka_error_destroy(e);
        if (rc >= 0)
            txn_arm(k, TXN_RETRY_MS * 10);
        return;
    case TXN_COMMITTING:
        if (k->must_abort) {
            k->state = TXN_ABORTING;
            txn_step(-1, 0, k);
            return;
        }
        if (!k->offsets_sent && k->offsets && k->offsets->cnt > 0 && k->group) {
            /* retried with the same offsets and group, as librdkafka asks */
            e = rd_kafka_send_offsets_to_transaction(k->rk, k->offsets, k->group,
                                                     TXN_SLICE_MS);
            if (e) {
                commit_step_failed(k, "send_offsets_to_transaction", e);
                return;
            }
        }
        k->offsets_sent = true;
        if ((e = rd_kafka_commit_transaction(k->rk, TXN_SLICE_MS))) {
            commit_step_failed(k, "commit_transaction", e);
            return;
        }
        k->committed++;
        k->last_commit_seconds = (double)(mono_us() - k->resolving_since_us) / 1e6;
        {
            /* what the group's offsets now say, for whoever checks them */
            char where[256] = "";
            size_t used = 0;
            for (int i = 0; k->offsets && i < k->offsets->cnt && used < sizeof where; i++) {
                int w = snprintf(where + used, sizeof where - used, "%s%s/%d@%lld",
                                 i ? "," : " with offsets ", k->offsets->elems[i].topic,
                                 k->offsets->elems[i].partition,
                                 (long long)k->offsets->elems[i].offset);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            weir_log_write(k->log, WEIR_LOG_INFO, "transaction_committed",
                           "sink %s: transaction of checkpoint %" PRIu64 " committed: %" PRIu64
                           " alerts%s in %.1f ms",
                           k->name, k->checkpoint, k->txn.n, where,
                           k->last_commit_seconds * 1e3);
        }
        free(k->txn.buf);
        k->txn = (records){0};
        txn_begin(k, NULL);
        return;
    case TXN_ABORTING:
        if ((e = rd_kafka_abort_transaction(k->rk, TXN_SLICE_MS))) {
            rc = txn_classify(k, "abort_transaction", e);
            rd_kafka_error_destroy(e);
            if (rc != -1)
                txn_arm(k, TXN_RETRY_MS);
            return;
        }
        k->aborted++;
        weir_log_write(k->log, WEIR_LOG_WARN, "transaction_aborted",
                       "sink %s: transaction aborted; its %" PRIu64
                       " alerts are written again in the next one",
                       k->name, k->txn.n);
        {
            records again = k->txn;
            k->txn = (records){0};
            txn_begin(k, &again);
        }
        return;
    default:
        return;
    }
}

bool weir_kafka_sink_transactional(const weir_kafka_sink *k) { return k->state != TXN_NONE; }

int weir_kafka_sink_cut(weir_kafka_sink *k, char *err, size_t errlen)
{
    switch (k->state) {
    case TXN_OPEN:
        /* no flush: the alerts are in the transaction, its commit flushes
         * them, and a failed delivery fails the commit (written again) */
        k->state = TXN_CUT;
        return 0;
    case TXN_CUT:
        /* the last cut's checkpoint failed: this one covers the alerts
         * held since, so they join the transaction it commits */
        k->state = TXN_OPEN;
        txn_produce_all(k, &k->held);
        k->state = TXN_CUT;
        return 0;
    case TXN_FATAL:
        snprintf(err, errlen, "sink %s: transactions stopped: %s", k->name, k->last_error);
        return -1;
    case TXN_INIT:
        snprintf(err, errlen, "sink %s: transactions not initialised yet: %s", k->name,
                 k->last_error[0] ? k->last_error : "waiting for the cluster");
        return -1;
    default:
        snprintf(err, errlen, "sink %s: the transaction of checkpoint %" PRIu64
                 " is still being committed", k->name, k->checkpoint);
        return -1;
    }
}

int weir_kafka_sink_pending(const weir_kafka_sink *k, char **buf, size_t *cap, size_t *len)
{
    if (k->state != TXN_CUT || k->txn.len == 0)
        return 0;
    if (!weir_grow_bytes(buf, cap, *len + k->txn.len))
        return -1;
    memcpy(*buf + *len, k->txn.buf, k->txn.len);
    *len += k->txn.len;
    return 0;
}

void weir_kafka_txn_metadata(uint64_t checkpoint_id, char *buf, size_t cap)
{
    snprintf(buf, cap, "weir checkpoint %" PRIu64, checkpoint_id);
}

void weir_kafka_sink_commit(weir_kafka_sink *k, uint64_t checkpoint_id, const char *offsets,
                            size_t len, rd_kafka_consumer_group_metadata_t *group)
{
    if (k->state != TXN_CUT) { /* a savepoint's, or the sink stopped */
        if (group)
            rd_kafka_consumer_group_metadata_destroy(group);
        return;
    }
    char meta[64];
    weir_kafka_txn_metadata(checkpoint_id, meta, sizeof meta);
    if (k->offsets)
        rd_kafka_topic_partition_list_destroy(k->offsets);
    if (k->group)
        rd_kafka_consumer_group_metadata_destroy(k->group);
    k->offsets = len ? weir_kafka_offsets_list(offsets, len, meta) : NULL;
    k->group = group;
    k->offsets_sent = false;
    k->checkpoint = checkpoint_id;
    k->state = TXN_COMMITTING;
    k->resolving_since_us = mono_us();
    if (len && !k->offsets) /* cannot be: the source wrote them */
        k->must_abort = true;
    event_active(k->txn_ev, EV_TIMEOUT, 0);
}

size_t weir_kafka_sink_reproduce(weir_kafka_sink *k, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    record rec;
    size_t n = 0, name_len = strlen(k->name);
    while (record_next(&p, end, &rec)) {
        if (rec.sink_len != name_len || memcmp(rec.sink, k->name, name_len) != 0)
            continue;
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)(rec.id_len < 255 ? rec.id_len : 255), rec.id);
        weir_kafka_sink_send(k, id, rec.json, rec.json_len);
        n++;
    }
    k->reproduced += n;
    return n;
}

void weir_kafka_sink_txn_stats(const weir_kafka_sink *k, weir_kafka_txn_stats *out)
{
    *out = (weir_kafka_txn_stats){
        .committed = k->committed,
        .aborted = k->aborted,
        .retriable = k->err_retriable,
        .abortable = k->err_abortable,
        .fatal = k->err_fatal,
        .reproduced = k->reproduced,
        .held = k->held.n,
        .last_commit_seconds = k->last_commit_seconds,
        .state = txn_state_names[k->state],
    };
}

bool weir_kafka_sink_txn_failing(const weir_kafka_sink *k, char *msg, size_t cap)
{
    if (k->state == TXN_FATAL) {
        snprintf(msg, cap, "sink %s: transactions stopped: %s", k->name, k->last_error);
        return true;
    }
    bool resolving = k->state == TXN_COMMITTING || k->state == TXN_ABORTING ||
                     k->state == TXN_INIT;
    double secs = (double)(mono_us() - k->resolving_since_us) / 1e6;
    if (resolving && secs * 1e3 > k->timeout_ms) {
        snprintf(msg, cap, "sink %s: transaction %s for %.1f s: %s", k->name,
                 k->state == TXN_INIT ? "initialisation pending" : "unresolved", secs,
                 k->last_error[0] ? k->last_error : "no answer yet");
        return true;
    }
    return false;
}

/* ---- the sink ------------------------------------------------------- */

weir_kafka_sink *weir_kafka_sink_new(struct event_base *base, const char *name,
                                     const char *brokers, const char *topic,
                                     const char *conf_path, const char *transactional_id,
                                     int timeout_ms, const weir_log *log, char *err,
                                     size_t err_cap)
{
    weir_kafka_sink *k = calloc(1, sizeof *k);
    if (!k || !(k->name = strdup(name)) || !(k->topic = strdup(topic))) {
        if (k) {
            free(k->name);
            free(k);
        }
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    k->log = log;
    k->efd = -1;
    k->timeout_ms = timeout_ms;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, err_cap) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, err_cap) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, err_cap) ||
        rd_kafka_conf_set(conf, "client.id", "weir", err, err_cap) ||
        (transactional_id &&
         rd_kafka_conf_set(conf, "transactional.id", transactional_id, err, err_cap)) ||
        weir_kafka_conf_load(conf, conf_path, err, err_cap) != 0) {
        rd_kafka_conf_destroy(conf);
        weir_kafka_sink_free(k, 0);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, k);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_cap);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        weir_kafka_sink_free(k, 0);
        return NULL;
    }
    k->queue = rd_kafka_queue_get_main(k->rk);
    k->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    k->ev = k->efd >= 0 ? event_new(base, k->efd, EV_READ | EV_PERSIST, poll_cb, k) : NULL;
    if (!k->queue || !k->ev || event_add(k->ev, NULL) < 0) {
        snprintf(err, err_cap, "cannot watch the kafka producer");
        weir_kafka_sink_free(k, 0);
        return NULL;
    }
    uint64_t one = 1;
    rd_kafka_queue_io_event_enable(k->queue, k->efd, &one, sizeof one);
    if (transactional_id) {
        if (!(k->txn_ev = evtimer_new(base, txn_step, k))) {
            snprintf(err, err_cap, "out of memory");
            weir_kafka_sink_free(k, 0);
            return NULL;
        }
        /* before anything is produced or a restart's committed offsets are
         * read: a dead predecessor's open transaction is aborted (or its
         * commit completed) here */
        k->state = TXN_INIT;
        k->resolving_since_us = mono_us();
        rd_kafka_error_t *e = rd_kafka_init_transactions(k->rk, timeout_ms);
        if (!e) {
            txn_begin(k, NULL);
        } else if (rd_kafka_error_is_retriable(e)) {
            snprintf(k->last_error, sizeof k->last_error, "init_transactions: %s",
                     rd_kafka_error_string(e));
            weir_log_write(log, WEIR_LOG_WARN, "sink_failing",
                           "sink %s: %s; alerts wait until it succeeds", name, k->last_error);
            txn_arm(k, TXN_RETRY_MS);
        } else {
            snprintf(err, err_cap, "init_transactions: %s", rd_kafka_error_string(e));
        }
        bool failed = e && !rd_kafka_error_is_retriable(e);
        if (e)
            rd_kafka_error_destroy(e);
        if (k->state == TXN_FATAL)
            snprintf(err, err_cap, "%s", k->last_error);
        if (failed || k->state == TXN_FATAL) {
            weir_kafka_sink_free(k, 0);
            return NULL;
        }
    }
    return k;
}

int weir_kafka_sink_flush(weir_kafka_sink *k, int timeout_ms)
{
    return rd_kafka_flush(k->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* At exit: a transaction whose checkpoint is durable is committed (as far
 * as timeout_ms allows); an open one is aborted (a restart replays it). */
static void txn_close(weir_kafka_sink *k, int timeout_ms)
{
    int64_t until = mono_us() + (int64_t)timeout_ms * 1000;
    while ((k->state == TXN_COMMITTING || k->state == TXN_ABORTING) && mono_us() < until) {
        txn_step(-1, 0, k);
        if (k->state == TXN_COMMITTING || k->state == TXN_ABORTING)
            rd_kafka_poll(k->rk, TXN_RETRY_MS);
    }
    if ((k->state == TXN_OPEN || k->state == TXN_CUT) && k->txn.n > 0) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(k->rk, timeout_ms);
        if (e)
            rd_kafka_error_destroy(e);
    }
}

void weir_kafka_sink_free(weir_kafka_sink *k, int timeout_ms)
{
    if (!k)
        return;
    if (k->rk) {
        if (k->queue)
            rd_kafka_queue_io_event_enable(k->queue, -1, NULL, 0);
        if (k->state != TXN_NONE)
            txn_close(k, timeout_ms);
        else
            rd_kafka_flush(k->rk, timeout_ms);
        if (rd_kafka_outq_len(k->rk) > 0)
            weir_log_write(k->log, WEIR_LOG_WARN, "sink_failing",
                           "sink %s: %d messages undelivered at exit", k->name,
                           rd_kafka_outq_len(k->rk));
    }
    if (k->offsets)
        rd_kafka_topic_partition_list_destroy(k->offsets);
    if (k->group)
        rd_kafka_consumer_group_metadata_destroy(k->group);
    if (k->queue)
        rd_kafka_queue_destroy(k->queue);
    if (k->rk)
        rd_kafka_destroy(k->rk);
    if (k->ev)
        event_free(k->ev);
    if (k->txn_ev)
        event_free(k->txn_ev);
    if (k->efd >= 0)
        close(k->efd);
    free(k->txn.buf);
    free(k->held.buf);
    free(k->name);
    free(k->topic);
    free(k);
}

int weir_kafka_sink_send(weir_kafka_sink *k, const char *id, const char *json, size_t len)
{
    switch (k->state) {
    case TXN_NONE:
        break;
    case TXN_OPEN:
        txn_produce(k, id, strlen(id), json, len);
        return 0;
    case TXN_FATAL:
        k->failed++;
        return -1;
    default: /* a transaction is being resolved: after it */
        if (records_add(&k->held, k->name, id, json, len) != 0) {
            k->failed++;
            return -1;
        }
        return 0;
    }
    rd_kafka_resp_err_t e = produce(k, id, strlen(id), json, len);
    if (e) {
        k->failed++;
        weir_log_write(k->log, WEIR_LOG_WARN, "sink_failing", "sink %s: %s", k->name,
                       rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

bool weir_kafka_sink_idle(const weir_kafka_sink *k)
{
    /* a transaction being resolved must get its chance before exit */
    if (k->state == TXN_COMMITTING || k->state == TXN_ABORTING)
        return false;
    return rd_kafka_outq_len(k->rk) == 0;
}
uint64_t weir_kafka_sink_delivered(const weir_kafka_sink *k) { return k->delivered; }
uint64_t weir_kafka_sink_failed(const weir_kafka_sink *k) { return k->failed; }
uint64_t weir_kafka_sink_queued(const weir_kafka_sink *k)
{
    return (uint64_t)rd_kafka_outq_len(k->rk) + k->held.n;
}
