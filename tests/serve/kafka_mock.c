/* kafka_mock.c — a Kafka cluster for the serve tests, with no broker
 * installed: librdkafka's in-process mock cluster, hosted by this program
 * and reachable by any client at the address it prints on stdout.
 *
 *   kafka_mock --produce TOPIC FILE --consume TOPIC OUT [--timeout SECS]
 *              [--partitions N] [--routed] [--delay PARTITION SECS] [--rate N]
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
 * librdkafka (DEPENDENCIES.md 3). */
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

int main(int argc, char **argv)
{
    const char *ptopic = NULL, *pfile = NULL, *ctopic = NULL, *cout = NULL;
    int timeout = 60;
    int partitions = 1;
    bool routed = false;
    int delay_partition = -1, delay = 0;
    int rate = 0;
    for (int i = 1; i < argc; i++) {
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
    rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", err, sizeof err);
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
