/* tcp_source.h — the TCP JSON-lines source: a listening socket, any number
 * of clients, each sending newline-delimited JSON events. Lines go to the
 * owner through the same callbacks for every client; when the owner
 * refuses a line (queue full) that client pauses until
 * weir_tcp_source_resume. */
#ifndef WEIR_IO_TCP_SOURCE_H
#define WEIR_IO_TCP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
typedef struct weir_tcp_source weir_tcp_source;

typedef struct weir_tcp_source_ops {
    bool (*submit)(void *user, const char *line, size_t len);
    void (*too_long)(void *user, const char *head, size_t len);
    /* a client came or went: `peer` is "host:port"; why is NULL on a
     * clean end of input */
    void (*client)(void *user, const char *peer, bool connected, const char *why);
} weir_tcp_source_ops;

/* Listens on host:port (port 0: any free port; see _port). NULL with a
 * message in err (err_cap bytes) on failure. */
weir_tcp_source *weir_tcp_source_new(struct event_base *base, const char *host, uint16_t port,
                                     size_t max_line, const weir_tcp_source_ops *ops,
                                     void *user, char *err, size_t err_cap);
/* Closes the listener and every client. Accepts NULL. */
void weir_tcp_source_free(weir_tcp_source *s);
uint16_t weir_tcp_source_port(const weir_tcp_source *s);
size_t weir_tcp_source_clients(const weir_tcp_source *s);
void weir_tcp_source_resume(weir_tcp_source *s);
/* Stops accepting and reading (shutdown); clients are closed by _free. */
void weir_tcp_source_stop(weir_tcp_source *s);

#endif
