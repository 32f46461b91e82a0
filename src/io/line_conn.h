/* line_conn.h — newline-delimited input from one non-blocking fd (a TCP
 * client, a pipe on standard input) through a libevent bufferevent.
 *
 * Each complete line is offered to the owner's submit callback; when that
 * refuses (the engine's queue is full) the connection stops reading, keeps
 * the line in its buffer and waits for weir_line_conn_resume, so a slow
 * engine slows the client down instead of growing memory. A line longer
 * than max_line is handed to too_long (its first bytes only) and the rest
 * of it is skipped up to the next newline: the connection survives, and
 * never buffers much more than max_line. At end of input a last line
 * without a newline is still offered (a half-written JSON object becomes a
 * dead letter, not a silent loss). */
#ifndef WEIR_IO_LINE_CONN_H
#define WEIR_IO_LINE_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/util.h>

struct event_base;
typedef struct weir_line_conn weir_line_conn;

typedef struct weir_line_conn_ops {
    /* true: taken (copied); false: no room now, offer it again later */
    bool (*submit)(void *user, const char *line, size_t len);
    /* an over-long line: its first `len` bytes (at most 256) */
    void (*too_long)(void *user, const char *head, size_t len);
    /* the input ended (why is NULL) or failed; the owner must free c, which
     * the connection does not touch after this call */
    void (*closed)(void *user, weir_line_conn *c, const char *why);
} weir_line_conn_ops;

/* Takes ownership of fd (closed by weir_line_conn_free). NULL on failure
 * (fd is then closed too). */
weir_line_conn *weir_line_conn_new(struct event_base *base, evutil_socket_t fd,
                                   size_t max_line, const weir_line_conn_ops *ops, void *user);
void weir_line_conn_free(weir_line_conn *c);

/* Offers the buffered lines again after a refused submit and reads on. */
void weir_line_conn_resume(weir_line_conn *c);
bool weir_line_conn_paused(const weir_line_conn *c);
/* Stops reading for good (shutdown); buffered lines are dropped. */
void weir_line_conn_stop(weir_line_conn *c);

#endif
