/* kafka_conf.h — what weir's Kafka clients share: librdkafka properties
 * from a file, for what weir has no option of its own (security, timeouts,
 * fetch sizes), and the checkpoint's Kafka offsets (text lines
 * "topic<TAB>partition<TAB>offset", weir_kafka_source_positions) as a
 * librdkafka partition list, for the consumer's commit and for a
 * transactional sink's send_offsets_to_transaction. */
#ifndef WEIR_IO_KAFKA_CONF_H
#define WEIR_IO_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* Sets every `key = value` line of the file at path on conf (blank lines
 * and lines starting with '#' are skipped; spaces around key and value are
 * cut). NULL path: nothing. Returns 0, or -1 with "PATH:LINE: why" in err
 * (a line without '=', a property librdkafka refuses, an unreadable file).
 * Applied after weir's own settings, so a file can override them. */
int weir_kafka_conf_load(rd_kafka_conf_t *conf, const char *path, char *err, size_t err_cap);

/* The offsets text as a partition list (caller destroys), each entry's
 * metadata set to `metadata` when not NULL. NULL when the text is
 * malformed or out of memory; an empty text gives an empty list. */
rd_kafka_topic_partition_list_t *weir_kafka_offsets_list(const char *text, size_t len,
                                                         const char *metadata);

/* Whether the group's committed offsets `got` (rd_kafka_committed) are
 * exactly `want`'s, every partition with metadata `metadata`: how a
 * restart tells that the transaction which committed a checkpoint's
 * offsets went through. false for an empty `want` (nothing to tell by). */
bool weir_kafka_offsets_committed(const rd_kafka_topic_partition_list_t *want,
                                  const rd_kafka_topic_partition_list_t *got,
                                  const char *metadata);

#endif
