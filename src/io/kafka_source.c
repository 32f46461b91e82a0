/* kafka_source.c — see kafka_source.h. The rebalance callback runs inside
 * rd_kafka_consumer_poll, hence on the loop thread too. Both the eager and
 * the cooperative protocols are handled (DEPENDENCIES.md 3). A message
 * finds its split by topic and partition in a small array, the last one
 * found tried first: messages come in runs of one partition. */
#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "io/kafka_conf.h"
#include "io/kafka_source.h"

/* Messages handled per loop turn, so sockets and the API get their turn. */
#define BATCH 4096

/* librdkafka must be polled at least every max.poll.interval.ms (5 min),
 * or the consumer leaves its group and, never polled again, never rejoins.
 * The queue's fd only wakes us for new messages, so a quiet topic would
 * do just that: a timer polls anyway. */
#define IDLE_POLL_SECONDS 1

/* An assigned partition. */
typedef struct ksplit {
    char *topic;       /* owned */
    uint32_t topic_index; /* in the subscription's list */
    int32_t partition;
    uint32_t id;
    int64_t next;      /* offset after the last message handed on; -1: none */
} ksplit;

/* Where a checkpoint says a partition resumes. */
typedef struct kstart {
    char *topic;       /* owned */
    int32_t partition;
    int64_t offset;
} kstart;

struct weir_kafka_source {
    weir_kafka_source_ops ops;
    void *user;
    const weir_log *log;
    size_t max_line;
    rd_kafka_t *rk;              /* owned */
    rd_kafka_queue_t *queue;     /* owned reference to the consumer queue */
    int efd;                     /* owned */
    struct event *ev;            /* owned */
    struct event *tick;          /* owned: polls while the topic is quiet */
    rd_kafka_message_t *pending; /* owned: refused, offered again on resume */
    int partitions;
    bool paused, stopped;
    unsigned errors_logged;
    ksplit *splits;              /* owned: the assigned partitions */
    size_t n_splits, cap_splits;
    size_t last;                 /* index of the last split found */
    uint32_t next_id;
    bool checkpointed;           /* offsets committed by weir_kafka_source_commit */
    bool owner_positions;        /* options.owner_positions */
    kstart *starts;              /* owned: where each partition this process
                                    knows resumes: the restored checkpoint's
                                    offsets, then, when a partition is revoked,
                                    the position its messages reached (which is
                                    what the state holds) */
    size_t n_starts;
    char **topics;               /* owned: the subscription, in its order */
    size_t n_topics;
    char *restored;              /* owned: the restored positions as given,
                                    what a checkpoint says until the first
                                    assignment (NULL: none) */
    size_t restored_len;
    bool assigned;               /* partitions were assigned at least once */
};

uint64_t weir_kafka_seq(uint32_t topic_index, int32_t partition, int64_t offset)
{
    return (uint64_t)(topic_index & 0xffu) << 56 | (uint64_t)((uint32_t)partition & 0xffffu) << 40 |
           ((uint64_t)(offset + 1) & (((uint64_t)1 << 40) - 1));
}

static void split_open(weir_kafka_source *s, const char *topic, int32_t partition)
{
    if (s->n_splits == s->cap_splits) {
        size_t cap = s->cap_splits ? s->cap_splits * 2 : 16;
        ksplit *v = realloc(s->splits, cap * sizeof *v);
        if (!v)
            return; /* out of memory: its messages come without a split */
        s->splits = v;
        s->cap_splits = cap;
    }
    char *t = strdup(topic);
    if (!t)
        return;
    ksplit *k = &s->splits[s->n_splits++];
    k->topic = t;
    k->topic_index = 0;
    for (size_t i = 0; i < s->n_topics; i++)
        if (strcmp(s->topics[i], topic) == 0)
            k->topic_index = (uint32_t)i;
    k->partition = partition;
    k->id = s->next_id++;
    /* where it resumes: a checkpoint taken before its first message must
     * still say so, or a restart from it would resume at an older
     * committed offset and count messages twice */
    k->next = -1;
    for (size_t i = 0; i < s->n_starts; i++)
        if (s->starts[i].partition == partition && strcmp(s->starts[i].topic, topic) == 0)
            k->next = s->starts[i].offset;
    if (s->ops.split_open)
        s->ops.split_open(s->user, k->id, t, partition);
}

/* Remembers where a partition resumes. Out of memory: forgotten (it then
 * resumes at the group's committed offset). */
static void remember_start(weir_kafka_source *s, const char *topic, int32_t partition,
                           int64_t offset)
{
    for (size_t i = 0; i < s->n_starts; i++)
        if (s->starts[i].partition == partition && strcmp(s->starts[i].topic, topic) == 0) {
            s->starts[i].offset = offset;
            return;
        }
    kstart *v = realloc(s->starts, (s->n_starts + 1) * sizeof *v);
    if (!v)
        return;
    s->starts = v;
    char *t = strdup(topic);
    if (t)
        s->starts[s->n_starts++] = (kstart){t, partition, offset};
}

static void split_close_at(weir_kafka_source *s, size_t i)
{
    /* the state holds its messages up to `next`: if it comes back to this
     * process (a rebalance), it must resume there, not at the group's
     * committed offset, which is only the last checkpoint's */
    if (s->checkpointed && !s->owner_positions && s->splits[i].next >= 0)
        remember_start(s, s->splits[i].topic, s->splits[i].partition, s->splits[i].next);
    if (s->ops.split_close)
        s->ops.split_close(s->user, s->splits[i].id);
    free(s->splits[i].topic);
    s->splits[i] = s->splits[--s->n_splits];
    s->last = 0;
}

static size_t split_find(weir_kafka_source *s, const char *topic, int32_t partition)
{
    if (s->last < s->n_splits && s->splits[s->last].partition == partition &&
        strcmp(s->splits[s->last].topic, topic) == 0)
        return s->last;
    for (size_t i = 0; i < s->n_splits; i++)
        if (s->splits[i].partition == partition && strcmp(s->splits[i].topic, topic) == 0)
            return s->last = i;
    return SIZE_MAX;
}

static void splits_change(weir_kafka_source *s, const rd_kafka_topic_partition_list_t *parts,
                          bool assign)
{
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        size_t at = split_find(s, tp->topic, tp->partition);
        if (at != SIZE_MAX)
            split_close_at(s, at); /* revoked, or assigned again: a new split */
        if (assign)
            split_open(s, tp->topic, tp->partition);
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    weir_kafka_source *s = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        s->assigned = true;
        /* a restored checkpoint's state covers its partitions up to its
         * offsets: resume there, not at the group's committed offsets
         * (older when weir died between storing a checkpoint and
         * committing its offsets) */
        for (int i = 0; s->checkpointed && i < parts->cnt; i++)
            for (size_t k = 0; k < s->n_starts; k++)
                if (parts->elems[i].partition == s->starts[k].partition &&
                    strcmp(parts->elems[i].topic, s->starts[k].topic) == 0)
                    parts->elems[i].offset = s->starts[k].offset;
        /* the owner's state of a partition decides over both */
        for (int i = 0; s->ops.resume_at && i < parts->cnt; i++) {
            int64_t at = s->ops.resume_at(s->user, parts->elems[i].topic,
                                          parts->elems[i].partition);
            if (at >= 0)
                parts->elems[i].offset = at;
        }
        /* the splits open before any message of theirs can be polled */
        if (!cooperative)
            while (s->n_splits)
                split_close_at(s, s->n_splits - 1);
        splits_change(s, parts, true);
        if (cooperative) {
            rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
            s->partitions += parts->cnt;
        } else {
            rd_kafka_assign(rk, parts);
            s->partitions = parts->cnt;
        }
        weir_log_write(s->log, WEIR_LOG_INFO, "source_connected",
                       "kafka: %d partitions assigned", parts->cnt);
    } else {
        if (cooperative) {
            rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
            if (e)
                rd_kafka_error_destroy(e);
            s->partitions -= parts->cnt;
        } else {
            rd_kafka_assign(rk, NULL);
            s->partitions = 0;
        }
        /* every message of theirs polled so far was submitted before this */
        if (cooperative)
            splits_change(s, parts, false);
        else
            while (s->n_splits)
                split_close_at(s, s->n_splits - 1);
        weir_log_write(s->log, WEIR_LOG_INFO, "source_disconnected",
                       "kafka: %d partitions revoked", parts->cnt);
    }
}

/* Offers one message; false when refused (the caller keeps it). */
static bool offer(weir_kafka_source *s, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && s->errors_logged++ < 10)
            weir_log_write(s->log, WEIR_LOG_WARN, "source_error", "kafka: %s",
                           rd_kafka_message_errstr(m));
        return true;
    }
    const char *p = m->payload;
    size_t len = m->len;
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
        len--;
    if (len == 0)
        return true;
    size_t at = split_find(s, rd_kafka_topic_name(m->rkt), m->partition);
    uint32_t split = at == SIZE_MAX ? WEIR_KAFKA_NO_SPLIT : s->splits[at].id;
    if (len > s->max_line) {
        s->ops.too_long(s->user, p, len < 256 ? len : 256);
    } else if (!s->ops.submit(s->user, split,
                              weir_kafka_seq(at == SIZE_MAX ? 0 : s->splits[at].topic_index,
                                             m->partition, m->offset),
                              p, len)) {
        return false;
    }
    if (at != SIZE_MAX)
        s->splits[at].next = m->offset + 1;
    if (!s->checkpointed)
        rd_kafka_offset_store(m->rkt, m->partition, m->offset);
    return true;
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    weir_kafka_source *s = arg;
    uint64_t v;
    if (fd >= 0) {
        ssize_t r = read(fd, &v, sizeof v);
        (void)r;
    }
    if (s->paused || s->stopped)
        return;
    for (int i = 0; i < BATCH; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 0);
        if (!m) {
            /* a served non-message op also returns NULL: stop only when
             * nothing is left, since the fd fires once per empty→non-empty */
            if (rd_kafka_queue_length(s->queue) == 0)
                return;
            continue;
        }
        if (!offer(s, m)) {
            s->pending = m;
            s->paused = true;
            return;
        }
        rd_kafka_message_destroy(m);
    }
    event_active(s->ev, EV_TIMEOUT, 0); /* more next turn */
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    poll_cb(-1, what, arg);
}

static void free_starts(weir_kafka_source *s)
{
    for (size_t i = 0; i < s->n_starts; i++)
        free(s->starts[i].topic);
    free(s->starts);
    s->starts = NULL;
    s->n_starts = 0;
}

/* Lines "topic<TAB>partition<TAB>offset" (weir_kafka_source_positions). */
static int parse_offsets(weir_kafka_source *s, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return -1;
        const char *t1 = memchr(p, '\t', (size_t)(eol - p));
        if (!t1)
            return -1;
        char num[64];
        size_t nl = (size_t)(eol - t1 - 1);
        if (nl >= sizeof num)
            return -1;
        memcpy(num, t1 + 1, nl);
        num[nl] = '\0';
        long long part, off;
        if (sscanf(num, "%lld\t%lld", &part, &off) != 2 || part < 0 || part > INT32_MAX ||
            off < 0)
            return -1;
        kstart *v = realloc(s->starts, (s->n_starts + 1) * sizeof *v);
        if (!v)
            return -1;
        s->starts = v;
        char *topic = strndup(p, (size_t)(t1 - p));
        if (!topic)
            return -1;
        s->starts[s->n_starts++] = (kstart){topic, (int32_t)part, off};
        p = eol + 1;
    }
    return 0;
}

int weir_kafka_source_positions(const weir_kafka_source *s, char **text, size_t *len)
{
    if (!s->assigned && s->restored) {
        /* nothing consumed yet: the state still covers what the restored
         * checkpoint said. Without this a checkpoint taken before the
         * first assignment would have no offsets, and a restart from it
         * would resume at the group's committed offsets (which a
         * transactional sink's commits may not have reached) */
        if (!(*text = malloc(s->restored_len)))
            return -1;
        memcpy(*text, s->restored, s->restored_len);
        *len = s->restored_len;
        return 0;
    }
    size_t cap = 64;
    for (size_t i = 0; i < s->n_splits; i++)
        cap += strlen(s->splits[i].topic) + 48;
    char *b = malloc(cap);
    if (!b)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < s->n_splits; i++) {
        const ksplit *k = &s->splits[i];
        if (k->next >= 0)
            n += (size_t)snprintf(b + n, cap - n, "%s\t%d\t%lld\n", k->topic, k->partition,
                                  (long long)k->next);
    }
    *text = b;
    *len = n;
    return 0;
}

void weir_kafka_source_commit(weir_kafka_source *s, const char *text, size_t len)
{
    weir_kafka_source tmp = {0};
    if (parse_offsets(&tmp, text, len) != 0 || tmp.n_starts == 0) {
        free_starts(&tmp);
        return;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)tmp.n_starts);
    for (size_t i = 0; i < tmp.n_starts; i++)
        rd_kafka_topic_partition_list_add(l, tmp.starts[i].topic, tmp.starts[i].partition)
            ->offset = tmp.starts[i].offset;
    rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, l, 1);
    if (e && s->errors_logged++ < 10)
        weir_log_write(s->log, WEIR_LOG_WARN, "source_error", "kafka: commit: %s",
                       rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
    free_starts(&tmp);
}

rd_kafka_consumer_group_metadata_t *weir_kafka_source_group_metadata(const weir_kafka_source *s)
{
    return rd_kafka_consumer_group_metadata(s->rk);
}

int weir_kafka_source_committed(const weir_kafka_source *s, const char *text, size_t len,
                                const char *metadata, int timeout_ms, char *got,
                                size_t got_cap)
{
    got[0] = '\0';
    rd_kafka_topic_partition_list_t *want = weir_kafka_offsets_list(text, len, NULL);
    rd_kafka_topic_partition_list_t *have = want ? rd_kafka_topic_partition_list_copy(want) : NULL;
    int rc = -1;
    if (!have) {
        snprintf(got, got_cap, "the checkpoint's offsets cannot be read");
        goto done;
    }
    rd_kafka_resp_err_t e = rd_kafka_committed(s->rk, have, timeout_ms);
    if (e) {
        snprintf(got, got_cap, "%s", rd_kafka_err2str(e));
        goto done;
    }
    size_t used = 0;
    for (int i = 0; i < have->cnt && used < got_cap; i++) {
        const rd_kafka_topic_partition_t *tp = &have->elems[i];
        int w = tp->offset < 0
                    ? snprintf(got + used, got_cap - used, "%s%s/%d none", i ? ", " : "",
                               tp->topic, tp->partition)
                    : snprintf(got + used, got_cap - used, "%s%s/%d@%lld (%.*s)", i ? ", " : "",
                               tp->topic, tp->partition, (long long)tp->offset,
                               (int)(tp->metadata_size < 64 ? tp->metadata_size : 64),
                               tp->metadata ? (const char *)tp->metadata : "");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    rc = weir_kafka_offsets_committed(want, have, metadata) ? 1 : 0;
done:
    if (want)
        rd_kafka_topic_partition_list_destroy(want);
    if (have)
        rd_kafka_topic_partition_list_destroy(have);
    return rc;
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t cap)
{
    return rd_kafka_conf_set(conf, k, v, err, cap) == RD_KAFKA_CONF_OK ? 0 : -1;
}

weir_kafka_source *weir_kafka_source_new(struct event_base *base, const char *brokers,
                                         const char *topics, const char *group,
                                         const char *conf_path,
                                         size_t max_line, const weir_kafka_source_ops *ops,
                                         const weir_kafka_source_options *opt, void *user,
                                         const weir_log *log, char *err, size_t err_cap)
{
    weir_kafka_source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    s->checkpointed = opt && opt->checkpointed;
    s->owner_positions = opt && opt->owner_positions;
    if (opt && opt->start_offsets && parse_offsets(s, opt->start_offsets, opt->start_len) != 0) {
        snprintf(err, err_cap, "the checkpoint's Kafka offsets cannot be read");
        free_starts(s);
        free(s);
        return NULL;
    }
    if (s->checkpointed && opt->start_offsets && opt->start_len &&
        (s->restored = malloc(opt->start_len))) {
        memcpy(s->restored, opt->start_offsets, opt->start_len);
        s->restored_len = opt->start_len;
    }
    s->ops = *ops;
    s->user = user;
    s->log = log;
    s->max_line = max_line;
    s->efd = -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", brokers, err, err_cap) < 0 ||
        set(conf, "group.id", group, err, err_cap) < 0 ||
        set(conf, "auto.offset.reset", "earliest", err, err_cap) < 0 ||
        set(conf, "enable.auto.offset.store", "false", err, err_cap) < 0 ||
        (opt && opt->checkpointed && set(conf, "enable.auto.commit", "false", err, err_cap) < 0) ||
        set(conf, "session.timeout.ms", "6000", err, err_cap) < 0 ||
        set(conf, "client.id", "weir", err, err_cap) < 0 ||
        weir_kafka_conf_load(conf, conf_path, err, err_cap) != 0) {
        rd_kafka_conf_destroy(conf);
        free_starts(s);
        free(s->restored);
        free(s);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, s);
    s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, err_cap);
    if (!s->rk) {
        rd_kafka_conf_destroy(conf);
        free_starts(s);
        free(s->restored);
        free(s);
        return NULL;
    }
    rd_kafka_poll_set_consumer(s->rk);
    s->queue = rd_kafka_queue_get_consumer(s->rk);
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->ev = s->efd >= 0 ? event_new(base, s->efd, EV_READ | EV_PERSIST, poll_cb, s) : NULL;
    s->tick = event_new(base, -1, EV_PERSIST, tick_cb, s);
    struct timeval idle = {IDLE_POLL_SECONDS, 0};
    if (!s->queue || !s->ev || !s->tick || event_add(s->ev, NULL) < 0 ||
        event_add(s->tick, &idle) < 0) {
        snprintf(err, err_cap, "cannot watch the kafka consumer");
        weir_kafka_source_free(s);
        return NULL;
    }
    uint64_t one = 1;
    rd_kafka_queue_io_event_enable(s->queue, s->efd, &one, sizeof one);

    char *list = strdup(topics);
    int n = 0;
    for (char *p = list; p && *p; p++)
        n += *p == ',';
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new(n + 1);
    char *save = NULL;
    s->topics = calloc((size_t)n + 1, sizeof *s->topics);
    for (char *t = list ? strtok_r(list, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        rd_kafka_topic_partition_list_add(subs, t, RD_KAFKA_PARTITION_UA);
        if (s->topics && (s->topics[s->n_topics] = strdup(t)))
            s->n_topics++;
    }
    rd_kafka_resp_err_t e = subs->cnt ? rd_kafka_subscribe(s->rk, subs)
                                      : RD_KAFKA_RESP_ERR__INVALID_ARG;
    rd_kafka_topic_partition_list_destroy(subs);
    free(list);
    if (e) {
        snprintf(err, err_cap, "cannot subscribe to '%s': %s", topics, rd_kafka_err2str(e));
        weir_kafka_source_free(s);
        return NULL;
    }
    /* anything queued before the fd was set would never wake us */
    event_active(s->ev, EV_TIMEOUT, 0);
    return s;
}

void weir_kafka_source_free(weir_kafka_source *s)
{
    if (!s)
        return;
    if (s->pending)
        rd_kafka_message_destroy(s->pending);
    if (s->queue) {
        rd_kafka_queue_io_event_enable(s->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(s->queue);
    }
    if (s->rk) {
        rd_kafka_consumer_close(s->rk);
        rd_kafka_destroy(s->rk);
    }
    if (s->ev)
        event_free(s->ev);
    if (s->tick)
        event_free(s->tick);
    if (s->efd >= 0)
        close(s->efd);
    for (size_t i = 0; i < s->n_splits; i++)
        free(s->splits[i].topic);
    free(s->splits);
    for (size_t i = 0; i < s->n_topics; i++)
        free(s->topics[i]);
    free(s->topics);
    /* after the close: its revocation remembers where partitions stopped */
    free_starts(s);
    free(s->restored);
    free(s);
}

void weir_kafka_source_resume(weir_kafka_source *s)
{
    if (!s->paused || s->stopped)
        return;
    if (!offer(s, s->pending))
        return;
    rd_kafka_message_destroy(s->pending);
    s->pending = NULL;
    s->paused = false;
    event_active(s->ev, EV_TIMEOUT, 0);
}

void weir_kafka_source_stop(weir_kafka_source *s) { s->stopped = true; }

int weir_kafka_source_partitions(const weir_kafka_source *s) { return s->partitions; }

bool weir_kafka_source_assigned(const weir_kafka_source *s) { return s->assigned; }
