/* kafka_mock.c — a Kafka cluster for the serve tests, with no broker
 * installed: librdkafka's in-process mock cluster, hosted by this program
 * and reachable by any client at the address it prints on stdout.
 *
 *   kafka_mock --produce TOPIC FILE --consume TOPIC OUT [--timeout SECS]
 *              [--partitions N] [--routed] [--delay PARTITION SECS] [--rate N]
 *              [--txn-probe] [--fail-produce N]
 *   kafka_mock --brokers ADDR --commit GROUP TOPIC PARTITION OFFSET METADATA
 *
 * creates both topics (the first with N partitions, default 1; the mock
 * keeps at most 5 MB per partition, DEPENDENCIES.md 3, so benchmarks
 * spread large files over several), prints the bootstrap address,
 * produces each line of FILE as one message to the first topic, round
 * robin over its partitions — or, with --routed, each line being
 * `PARTITION<TAB>MESSAGE`, to the partition it names; with --delay the
 * messages of PARTITION only SECS seconds after the others, so that a
 * consumer reads that partition far behind the rest — then reads
 * the second topic from its start (with --rate, at most N messages a
 * second, so a consumer reads them as they come: tests that kill it
 * mid-stream need a stream that lasts), and appends each message to OUT as
 * `<key> <value>`. It exits on SIGTERM/SIGINT or after --timeout seconds, so
 * a test that dies leaves nothing running. The mock is test-only API of
 * librdkafka (DEPENDENCIES.md 3).
 *
 * The mock accepts transactions but keeps no trace of them a client could
 * read (no control records, no producer ids on messages, transactional
 * offset commits dropped). So, to show that a client really went through
 * the transactional protocol, --txn-probe makes the broker answer the first
 * request of each transactional API (InitProducerId, AddPartitionsToTxn,
 * AddOffsetsToTxn, TxnOffsetCommit, EndTxn) with a retriable error
 * (COORDINATOR_LOAD_IN_PROGRESS, which librdkafka retries by itself) and
 * prints `kafka_mock: transactional request: NAME` on stderr once that
 * answer was taken. --fail-produce N fails the first N Produce requests to
 * the second topic (MSG_SIZE_TOO_LARGE: a transactional producer's
 * transaction must then be aborted); the cluster then has two brokers, the
 * second topic led by the second, whose Produce requests are only the
 * client's.
 *
 * The second form is a client of a running cluster: it commits OFFSET with
 * METADATA for GROUP on TOPIC/PARTITION, as the transaction coordinator of
 * a real cluster would when a transaction carrying those offsets commits
 * (the mock drops them), and exits. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The transactional APIs --txn-probe watches (Kafka protocol ApiKeys). */
static const struct {
    int16_t key;
    const char *name;
} txn_apis[] = {{22, "InitProducerId"}, {24, "AddPartitionsToTxn"}, {25, "AddOffsetsToTxn"},
                {28, "TxnOffsetCommit"}, {26, "EndTxn"}};
#define N_TXN_APIS (sizeof txn_apis / sizeof txn_apis[0])

static int commit_offsets(const char *brokers, char **a)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err) ||
        rd_kafka_conf_set(conf, "group.id", a[0], err, sizeof err) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) ||
        rd_kafka_conf_set(conf, "session.timeout.ms", "6000", err, sizeof err)) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!c) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    /* the mock takes commits to a group that had members only from a
     * member: join it first */
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, a[1], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(c, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    for (time_t until = time(NULL) + 30; time(NULL) < until;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (m)
            rd_kafka_message_destroy(m);
        rd_kafka_topic_partition_list_t *as = NULL;
        bool assigned = rd_kafka_assignment(c, &as) == 0 && as->cnt > 0;
        if (as)
            rd_kafka_topic_partition_list_destroy(as);
        if (assigned)
            break;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(l, a[1], atoi(a[2]));
    tp->offset = atoll(a[3]);
    tp->metadata = strdup(a[4]);
    tp->metadata_size = strlen(a[4]);
    rd_kafka_resp_err_t e = rd_kafka_commit(c, l, 0);
    if (e)
        fprintf(stderr, "kafka_mock: commit: %s\n", rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return e ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *ptopic = NULL, *pfile = NULL, *ctopic = NULL, *cout = NULL;
    int timeout = 60;
    int partitions = 1;
    bool routed = false;
    int delay_partition = -1, delay = 0;
    int rate = 0;
    bool txn_probe = false;
    int fail_produce = 0;
    const char *brokers = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            brokers = argv[++i];
            continue;
        }
        if (strcmp(argv[i], "--commit") == 0 && i + 5 < argc && brokers)
            return commit_offsets(brokers, argv + i + 1);
        if (strcmp(argv[i], "--txn-probe") == 0) {
            txn_probe = true;
            continue;
        }
        if (strcmp(argv[i], "--fail-produce") == 0 && i + 1 < argc) {
            fail_produce = atoi(argv[++i]);
            continue;
        }
        if (strcmp(argv[i], "--produce") == 0 && i + 2 < argc) {
            ptopic = argv[++i];
            pfile = argv[++i];
        } else if (strcmp(argv[i], "--consume") == 0 && i + 2 < argc) {
            ctopic = argv[++i];
            cout = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
            partitions = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--routed") == 0) {
            routed = true;
        } else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
            rate = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--delay") == 0 && i + 2 < argc) {
            delay_partition = atoi(argv[++i]);
            delay = atoi(argv[++i]);
        }
    }
    if (!ptopic || !ctopic || partitions < 1) {
        fputs("usage: kafka_mock --produce TOPIC FILE --consume TOPIC OUT [--timeout SECS] "
              "[--partitions N] [--routed] [--delay PARTITION SECS] [--rate N]\n",
              stderr);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "test.mock.num.brokers", fail_produce > 0 ? "2" : "1", err,
                      sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t *owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!owner) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(owner);
    if (!mc || rd_kafka_mock_topic_create(mc, ptopic, partitions, 1) ||
        rd_kafka_mock_topic_create(mc, ctopic, 1, 1)) {
        fputs("kafka_mock: cannot create the mock cluster's topics\n", stderr);
        rd_kafka_destroy(owner);
        return 1;
    }
    int brokers_n = fail_produce > 0 ? 2 : 1;
    if (fail_produce > 0) {
        for (int32_t p = 0; p < partitions; p++)
            rd_kafka_mock_partition_set_leader(mc, ptopic, p, 1);
        rd_kafka_mock_partition_set_leader(mc, ctopic, 0, 2);
        rd_kafka_mock_broker_push_request_error_rtts(mc, 2, 0 /* Produce */, (size_t)fail_produce,
                                                     RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, 0);
    }
    /* on every broker: any may be the coordinator */
    for (int32_t b = 1; b <= brokers_n; b++)
        for (size_t k = 0; txn_probe && k < N_TXN_APIS; k++)
            rd_kafka_mock_broker_push_request_error_rtts(
                mc, b, txn_apis[k].key, 1, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, 0);
    bool txn_seen[N_TXN_APIS] = {false};
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    unsigned long produced = 0;
    /* two passes over the file when one partition is delayed: the others,
       then (after the delay) that one */
    for (int pass = 0; pass < (delay_partition >= 0 ? 2 : 1) && !stop; pass++) {
        if (pass == 1) {
            rd_kafka_flush(owner, 60000);
            for (time_t until = time(NULL) + delay; time(NULL) < until && !stop;)
                rd_kafka_poll(owner, 100);
        }
        FILE *in = fopen(pfile, "r");
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        unsigned long seen = 0;
        while (in && (n = getline(&line, &cap, in)) > 0) {
            if (line[n - 1] == '\n')
                n--;
            char *msg = line;
            int32_t part = (int32_t)(seen++ % (unsigned long)partitions);
            if (routed) {
                char *tab = memchr(line, '\t', (size_t)n);
                if (!tab)
                    continue;
                part = (int32_t)atoi(line);
                msg = tab + 1;
                n -= msg - line;
            }
            if (delay_partition >= 0 && (part == delay_partition) != (pass == 1))
                continue;
            /* a full local queue is waited out, not dropped: benchmarks
               produce far more than the queue holds */
            while (rd_kafka_producev(owner, RD_KAFKA_V_TOPIC(ptopic), RD_KAFKA_V_PARTITION(part),
                                     RD_KAFKA_V_VALUE(msg, (size_t)n),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL &&
                   !stop)
                rd_kafka_poll(owner, 100);
            rd_kafka_poll(owner, 0);
            produced++;
            if (rate > 0) {
                struct timespec ts = {0, 1000000000L / rate};
                if (rate == 1)
                    ts = (struct timespec){1, 0};
                nanosleep(&ts, NULL);
            }
        }
        free(line);
        if (in)
            fclose(in);
    }
    rd_kafka_flush(owner, 60000);
    /* for benchmarks, which start timing once everything is in the topic */
    fprintf(stderr, "kafka_mock: produced %lu messages\n", produced);

    /* read the alerts topic by assignment: no group, no rebalance delay */
    rd_kafka_conf_t *cconf = rd_kafka_conf_new();
    rd_kafka_conf_set(cconf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), err,
                      sizeof err);
    rd_kafka_conf_set(cconf, "group.id", "kafka_mock", err, sizeof err);
    rd_kafka_conf_set(cconf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_t *consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof err);
    if (!consumer) {
        fprintf(stderr, "kafka_mock: %s\n", err);
        rd_kafka_destroy(owner);
        return 1;
    }
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, ctopic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    FILE *out = fopen(cout, "a");
    time_t deadline = time(NULL) + timeout;
    while (!stop && time(NULL) < deadline && out) {
        for (size_t k = 0; txn_probe && k < N_TXN_APIS; k++)
            for (int32_t b = 1; b <= brokers_n && !txn_seen[k]; b++) {
                size_t left = 1;
                if (rd_kafka_mock_broker_error_stack_cnt(mc, b, txn_apis[k].key, &left) == 0 &&
                    left == 0) {
                    txn_seen[k] = true;
                    fprintf(stderr, "kafka_mock: transactional request: %s\n",
                            txn_apis[k].name);
                }
            }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 100);
        if (!m)
            continue;
        if (!m->err) {
            fprintf(out, "%.*s %.*s\n", (int)m->key_len, m->key ? (const char *)m->key : "",
                    (int)m->len, (const char *)m->payload);
            fflush(out);
        }
        rd_kafka_message_destroy(m);
    }
    if (out)
        fclose(out);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(owner); /* the cluster dies with its owner: last */
    return 0;
}
