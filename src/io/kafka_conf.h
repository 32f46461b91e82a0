/* kafka_conf.h — librdkafka properties from a file, for what weir has no
 * option of its own: security (SASL, TLS), timeouts, fetch sizes. */
#ifndef WEIR_IO_KAFKA_CONF_H
#define WEIR_IO_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Sets every `key = value` line of the file at path on conf (blank lines
 * and lines starting with '#' are skipped; spaces around key and value are
 * cut). NULL path: nothing. Returns 0, or -1 with "PATH:LINE: why" in err
 * (a line without '=', a property librdkafka refuses, an unreadable file).
 * Applied after weir's own settings, so a file can override them. */
int weir_kafka_conf_load(rd_kafka_conf_t *conf, const char *path, char *err, size_t err_cap);

#endif
