/* log.h — the server's log: one line per thing worth a person's attention
 * (start, rules loaded, source connected, sink failing), as plain text or
 * as one JSON object per line for log shippers. Lines go to stderr, which
 * systemd's journal or a shell redirect collects. */
#ifndef WEIR_SERVER_LOG_H
#define WEIR_SERVER_LOG_H

#include <stdbool.h>

typedef enum weir_log_level { WEIR_LOG_INFO, WEIR_LOG_WARN, WEIR_LOG_ERROR } weir_log_level;

typedef struct weir_log {
    bool json; /* --log-format json */
    /* put before every message when set: what part of the server speaks
     * (one Kafka partition's state, say); borrowed */
    const char *scope;
} weir_log;

/* Writes one line: `msg` is a printf format. In JSON the line is
 * {"time":"...","level":"info","event":"<event>","msg":"..."}; in plain
 * text it is `<time> <level> <event>: <msg>`. `event` is a stable word
 * (start, rules_loaded, source_connected, sink_failing, ...) to grep for. */
void weir_log_write(const weir_log *log, weir_log_level level, const char *event,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
