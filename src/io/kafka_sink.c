/* kafka_sink.c — see kafka_sink.h. */
#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/kafka_conf.h"
#include "io/kafka_sink.h"

struct weir_kafka_sink {
    char *name, *topic;      /* owned */
    const weir_log *log;
    rd_kafka_t *rk;          /* owned */
    rd_kafka_queue_t *queue; /* owned reference to the main queue */
    int efd;                 /* owned */
    struct event *ev;        /* owned */
    uint64_t delivered, failed;
    bool failing;
};

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

weir_kafka_sink *weir_kafka_sink_new(struct event_base *base, const char *name,
                                     const char *brokers, const char *topic,
                                     const char *conf_path, const weir_log *log, char *err,
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
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, err_cap) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", err, err_cap) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", err, err_cap) ||
        rd_kafka_conf_set(conf, "client.id", "weir", err, err_cap) ||
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
    return k;
}

int weir_kafka_sink_flush(weir_kafka_sink *k, int timeout_ms)
{
    return rd_kafka_flush(k->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

void weir_kafka_sink_free(weir_kafka_sink *k, int timeout_ms)
{
    if (!k)
        return;
    if (k->rk) {
        if (k->queue)
            rd_kafka_queue_io_event_enable(k->queue, -1, NULL, 0);
        rd_kafka_flush(k->rk, timeout_ms);
        if (rd_kafka_outq_len(k->rk) > 0)
            weir_log_write(k->log, WEIR_LOG_WARN, "sink_failing",
                           "sink %s: %d messages undelivered at exit", k->name,
                           rd_kafka_outq_len(k->rk));
    }
    if (k->queue)
        rd_kafka_queue_destroy(k->queue);
    if (k->rk)
        rd_kafka_destroy(k->rk);
    if (k->ev)
        event_free(k->ev);
    if (k->efd >= 0)
        close(k->efd);
    free(k->name);
    free(k->topic);
    free(k);
}

int weir_kafka_sink_send(weir_kafka_sink *k, const char *id, const char *json, size_t len)
{
    rd_kafka_resp_err_t e = rd_kafka_producev(
        k->rk, RD_KAFKA_V_TOPIC(k->topic), RD_KAFKA_V_KEY(id, strlen(id)),
        RD_KAFKA_V_VALUE((void *)json, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (e) {
        k->failed++;
        weir_log_write(k->log, WEIR_LOG_WARN, "sink_failing", "sink %s: %s", k->name,
                       rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

bool weir_kafka_sink_idle(const weir_kafka_sink *k) { return rd_kafka_outq_len(k->rk) == 0; }
uint64_t weir_kafka_sink_delivered(const weir_kafka_sink *k) { return k->delivered; }
uint64_t weir_kafka_sink_failed(const weir_kafka_sink *k) { return k->failed; }
uint64_t weir_kafka_sink_queued(const weir_kafka_sink *k)
{
    return (uint64_t)rd_kafka_outq_len(k->rk);
}
