/* line_conn.c — line splitting on a bufferevent; see line_conn.h.
 *
 * The read high-watermark is max_line + 2, so libevent stops reading once
 * that much is buffered without a newline; the over-long line is then cut
 * and skipped, which starts reading again. `scanned` remembers how far the
 * buffer has been searched for '\n', so a long line arriving in small
 * reads is not searched from its start every time. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/line_conn.h"

#define TOO_LONG_HEAD 256

struct weir_line_conn {
    struct bufferevent *bev; /* owned; owns the fd */
    weir_line_conn_ops ops;
    void *user;
    size_t max_line;
    size_t scanned;  /* bytes at the front known to hold no '\n' */
    bool skipping;   /* inside an over-long line */
    bool paused;     /* a submit was refused */
    bool eof;
    bool stopped;
};

/* Offers every complete line. Returns true when the connection is done
 * (closed was called and c must not be touched). */
static bool process(weir_line_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    while (!c->paused && !c->stopped) {
        size_t have = evbuffer_get_length(in);
        if (have == 0)
            break;
        struct evbuffer_ptr from;
        evbuffer_ptr_set(in, &from, c->scanned < have ? c->scanned : 0, EVBUFFER_PTR_SET);
        struct evbuffer_ptr nl = evbuffer_search(in, "\n", 1, &from);
        if (c->skipping) {
            if (nl.pos < 0) {
                evbuffer_drain(in, have);
                c->scanned = 0;
                break;
            }
            evbuffer_drain(in, (size_t)nl.pos + 1);
            c->scanned = 0;
            c->skipping = false;
            continue;
        }
        size_t len, consumed;
        if (nl.pos < 0) {
            c->scanned = have;
            if (have > c->max_line) {
                size_t head = have < TOO_LONG_HEAD ? have : TOO_LONG_HEAD;
                c->ops.too_long(c->user, (const char *)evbuffer_pullup(in, (ev_ssize_t)head),
                                head);
                evbuffer_drain(in, have);
                c->scanned = 0;
                c->skipping = true;
                continue;
            }
            if (!c->eof)
                break;
            len = consumed = have; /* the last line, without its newline */
        } else {
            len = (size_t)nl.pos;
            consumed = len + 1;
            if (len > c->max_line) {
                size_t head = len < TOO_LONG_HEAD ? len : TOO_LONG_HEAD;
                c->ops.too_long(c->user, (const char *)evbuffer_pullup(in, (ev_ssize_t)head),
                                head);
                evbuffer_drain(in, consumed);
                c->scanned = 0;
                continue;
            }
        }
        const char *line = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
        size_t n = len;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n > 0 && !c->ops.submit(c->user, line, n)) {
            c->paused = true;
            bufferevent_disable(c->bev, EV_READ);
            return false;
        }
        evbuffer_drain(in, consumed);
        c->scanned = 0;
    }
    if ((c->eof && evbuffer_get_length(in) == 0) || c->stopped) {
        if (c->eof && !c->stopped) {
            c->ops.closed(c->user, c, NULL);
            return true;
        }
    }
    return false;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    process(arg);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    weir_line_conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        c->eof = true;
        bufferevent_disable(c->bev, EV_READ);
        process(c);
    } else if (what & BEV_EVENT_ERROR) {
        c->ops.closed(c->user, c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }
}

weir_line_conn *weir_line_conn_new(struct event_base *base, evutil_socket_t fd,
                                   size_t max_line, const weir_line_conn_ops *ops, void *user)
{
    weir_line_conn *c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return NULL;
    }
    c->ops = *ops;
    c->user = user;
    c->max_line = max_line;
    evutil_make_socket_nonblocking(fd);
    c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return NULL;
    }
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0, max_line + 2);
    if (bufferevent_enable(c->bev, EV_READ) < 0) {
        weir_line_conn_free(c);
        return NULL;
    }
    return c;
}

void weir_line_conn_free(weir_line_conn *c)
{
    if (!c)
        return;
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
}

void weir_line_conn_resume(weir_line_conn *c)
{
    if (!c->paused || c->stopped)
        return;
    c->paused = false;
    if (process(c))
        return;
    if (!c->paused && !c->eof)
        bufferevent_enable(c->bev, EV_READ);
}

bool weir_line_conn_paused(const weir_line_conn *c) { return c->paused; }

void weir_line_conn_stop(weir_line_conn *c)
{
    c->stopped = true;
    bufferevent_disable(c->bev, EV_READ);
}
