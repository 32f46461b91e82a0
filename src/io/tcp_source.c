/* tcp_source.c — evconnlistener plus one line_conn per client; see
 * tcp_source.h. Clients are kept on a doubly linked list so a resume can
 * walk them and a closing client can unlink itself in O(1). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "io/line_conn.h"
#include "io/listen_addr.h"
#include "io/tcp_source.h"

typedef struct client {
    struct client *prev, *next;
    weir_tcp_source *src;
    weir_line_conn *conn; /* owned */
    char peer[64];
} client;

struct weir_tcp_source {
    struct event_base *base;
    struct evconnlistener *listener; /* owned */
    weir_tcp_source_ops ops;
    void *user;
    size_t max_line;
    uint16_t port;
    client *clients;
    size_t n_clients;
    bool stopped;
};

static bool c_submit(void *user, const char *line, size_t len)
{
    client *cl = user;
    return cl->src->ops.submit(cl->src->user, line, len);
}

static void c_too_long(void *user, const char *head, size_t len)
{
    client *cl = user;
    cl->src->ops.too_long(cl->src->user, head, len);
}

static void unlink_client(weir_tcp_source *s, client *cl)
{
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        s->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    s->n_clients--;
}

static void c_closed(void *user, weir_line_conn *c, const char *why)
{
    (void)c;
    client *cl = user;
    weir_tcp_source *s = cl->src;
    unlink_client(s, cl);
    s->ops.client(s->user, cl->peer, false, why);
    weir_line_conn_free(cl->conn);
    free(cl);
}

static const weir_line_conn_ops client_ops = {c_submit, c_too_long, c_closed};

static void format_peer(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    snprintf(out, cap, "%s:%u", host, port);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l;
    (void)salen;
    weir_tcp_source *s = arg;
    if (s->stopped) {
        evutil_closesocket(fd);
        return;
    }
    client *cl = calloc(1, sizeof *cl);
    if (!cl) {
        evutil_closesocket(fd);
        return;
    }
    cl->src = s;
    format_peer(sa, cl->peer, sizeof cl->peer);
    cl->conn = weir_line_conn_new(s->base, fd, s->max_line, &client_ops, cl);
    if (!cl->conn) {
        free(cl);
        return;
    }
    cl->next = s->clients;
    if (s->clients)
        s->clients->prev = cl;
    s->clients = cl;
    s->n_clients++;
    s->ops.client(s->user, cl->peer, true, NULL);
}

weir_tcp_source *weir_tcp_source_new(struct event_base *base, const char *host, uint16_t port,
                                     size_t max_line, const weir_tcp_source_ops *ops,
                                     void *user, char *err, size_t err_cap)
{
    struct addrinfo *ai;
    if (weir_listen_addr(host, port, &ai, err, err_cap) != 0)
        return NULL;
    weir_tcp_source *s = calloc(1, sizeof *s);
    if (!s) {
        freeaddrinfo(ai);
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    s->base = base;
    s->ops = *ops;
    s->user = user;
    s->max_line = max_line;
    s->listener = evconnlistener_new_bind(base, accept_cb, s,
                                          LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                              LEV_OPT_CLOSE_ON_EXEC,
                                          128, ai->ai_addr, (int)ai->ai_addrlen);
    freeaddrinfo(ai);
    if (!s->listener) {
        snprintf(err, err_cap, "cannot listen on %s:%u: %s", host, port, strerror(errno));
        free(s);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&ss, &len) == 0)
        s->port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)(void *)&ss)->sin6_port
                            : ((struct sockaddr_in *)(void *)&ss)->sin_port);
    return s;
}

void weir_tcp_source_free(weir_tcp_source *s)
{
    if (!s)
        return;
    if (s->listener)
        evconnlistener_free(s->listener);
    client *cl = s->clients;
    while (cl) {
        client *next = cl->next;
        weir_line_conn_free(cl->conn);
        free(cl);
        cl = next;
    }
    free(s);
}

uint16_t weir_tcp_source_port(const weir_tcp_source *s) { return s->port; }
size_t weir_tcp_source_clients(const weir_tcp_source *s) { return s->n_clients; }

void weir_tcp_source_resume(weir_tcp_source *s)
{
    for (client *cl = s->clients; cl;) {
        client *next = cl->next; /* resuming may end and free cl */
        if (weir_line_conn_paused(cl->conn))
            weir_line_conn_resume(cl->conn);
        cl = next;
    }
}

void weir_tcp_source_stop(weir_tcp_source *s)
{
    s->stopped = true;
    if (s->listener)
        evconnlistener_disable(s->listener);
    for (client *cl = s->clients; cl; cl = cl->next)
        weir_line_conn_stop(cl->conn);
}
