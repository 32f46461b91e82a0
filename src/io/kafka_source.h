/* kafka_source.h — a Kafka consumer-group source: each message of the
 * topics is one JSON event. librdkafka runs its own threads; its consumer
 * queue wakes the libevent loop through an eventfd, so messages are
 * handled on the loop thread like TCP lines. When the owner refuses a
 * message (queue full) the source stops polling and keeps it until
 * weir_kafka_source_resume.
 *
 * Offsets. Without checkpoints, a message's offset is stored once the
 * engine's queue took it, and stored offsets are committed automatically:
 * at-least-once from the queue's point of view. With checkpoints
 * (options.checkpointed), nothing is committed automatically: the server
 * reads the positions of what it handed on (weir_kafka_source_positions)
 * at each checkpoint's barrier and commits them once that checkpoint is
 * durable (weir_kafka_source_commit); after a restart the partitions
 * resume at the restored checkpoint's offsets (options.start_offsets), and
 * a partition revoked and assigned again within one process resumes where
 * its messages had reached (what the state holds), not at the group's
 * committed offset (only the last checkpoint's).
 *
 * Splits: each assigned partition is a split (weir/engine.h) with an id of
 * its own, told to the owner on assignment (before its first message) and
 * on revocation (after its last), and passed with each message, so the
 * engine can keep a watermark per partition. Ids count up and are not
 * reused while the source lives, so a partition that comes back after a
 * rebalance is a new split. */
#ifndef WEIR_IO_KAFKA_SOURCE_H
#define WEIR_IO_KAFKA_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/log.h"

struct event_base;
struct rd_kafka_consumer_group_metadata_s;
typedef struct weir_kafka_source weir_kafka_source;

/* No split: a message of a partition the source no longer tracks. */
#define WEIR_KAFKA_NO_SPLIT UINT32_MAX

typedef struct weir_kafka_source_ops {
    /* one message's bytes, from split `split`, at position `seq`
     * (weir_kafka_seq); false: refused (paused) */
    bool (*submit)(void *user, uint32_t split, uint64_t seq, const char *line, size_t len);
    void (*too_long)(void *user, const char *head, size_t len);
    /* partition `partition` of `topic` was assigned as split `split` */
    void (*split_open)(void *user, uint32_t split, const char *topic, int32_t partition);
    /* ... and revoked */
    void (*split_close)(void *user, uint32_t split);
    /* Partition `partition` of `topic` is being assigned: the offset its
     * state resumes at (the owner's per-partition state, state per
     * partition), or -1 to let the source decide (a restored checkpoint's
     * offsets, else the group's). Called before split_open. May be NULL. */
    int64_t (*resume_at)(void *user, const char *topic, int32_t partition);
} weir_kafka_source_ops;

typedef struct weir_kafka_source_options {
    bool checkpointed;          /* offsets committed only after checkpoints */
    const char *start_offsets;  /* a restored checkpoint's positions, or NULL */
    size_t start_len;
    /* the owner keeps where each partition resumes (ops.resume_at, state
     * per partition): the source remembers no position of its own, so a
     * partition assigned again resumes where the owner says, else at the
     * group's committed offset */
    bool owner_positions;
} weir_kafka_source_options;

/* A message's place in the subscription, as the engine's sequence number
 * of its event: the topic's index in the comma-separated list (8 bits),
 * the partition (16 bits), the offset plus one (40 bits). Alert ids are
 * made of these, so they depend on what was consumed, not on how the
 * partitions' messages happened to interleave: a replay after a restart,
 * or another process taking a partition over, raises the same ids. For
 * partition 0 of the first topic it is the message's line number in the
 * partition, as `weir run` numbers the lines of a file. */
uint64_t weir_kafka_seq(uint32_t topic_index, int32_t partition, int64_t offset);

/* topics: comma-separated; conf_path: librdkafka properties applied over
 * weir's (kafka_conf.h), or NULL; opt may be NULL. NULL with a message in
 * err. */
weir_kafka_source *weir_kafka_source_new(struct event_base *base, const char *brokers,
                                         const char *topics, const char *group,
                                         const char *conf_path,
                                         size_t max_line, const weir_kafka_source_ops *ops,
                                         const weir_kafka_source_options *opt, void *user,
                                         const weir_log *log, char *err, size_t err_cap);
/* The position (next offset) of every assigned partition after the last
 * message handed on, as lines "topic<TAB>partition<TAB>offset", in a
 * malloc'd buffer. 0, or -1 when out of memory. */
int weir_kafka_source_positions(const weir_kafka_source *s, char **text, size_t *len);
/* Commits such positions to the group (asynchronously). */
void weir_kafka_source_commit(weir_kafka_source *s, const char *text, size_t len);
/* The consumer's group metadata, for a transactional sink that commits the
 * positions in its transaction (the caller owns it). NULL when out of
 * memory. */
struct rd_kafka_consumer_group_metadata_s *
weir_kafka_source_group_metadata(const weir_kafka_source *s);
/* Whether the group's committed offsets are exactly the positions `text`
 * with the metadata `metadata` (weir_kafka_offsets_committed): 1 yes, 0
 * no, -1 the group could not be asked within timeout_ms. A description of
 * what the group holds goes to `got` either way. Blocks: for the start. */
int weir_kafka_source_committed(const weir_kafka_source *s, const char *text, size_t len,
                                const char *metadata, int timeout_ms, char *got,
                                size_t got_cap);
/* Leaves the group (committing stored offsets) and frees. Accepts NULL. */
void weir_kafka_source_free(weir_kafka_source *s);
void weir_kafka_source_resume(weir_kafka_source *s);
void weir_kafka_source_stop(weir_kafka_source *s);
/* Whether partitions were ever assigned to this member: before that it is
 * no member yet, and offsets it commits would be refused (and make it join
 * again, on librdkafka's mock endlessly). */
bool weir_kafka_source_assigned(const weir_kafka_source *s);
/* Partitions assigned to this member now. */
int weir_kafka_source_partitions(const weir_kafka_source *s);

#endif
