/* file_source.c — see file_source.h. The regular-file path reuses
 * line_reader (the reader `weir run` uses) and reads BATCH lines per loop
 * turn, so a replay of a large file shares the loop with the sockets. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file_source.h"
#include "io/line_conn.h"
#include "io/line_reader.h"

#define BATCH 4096

struct weir_file_source {
    weir_file_source_ops ops;
    void *user;
    size_t max_line;
    weir_line_reader *reader; /* owned: regular files */
    weir_line_conn *conn;     /* owned: pipes and terminals */
    struct event *tick;       /* owned: regular files */
    const char *pending;      /* a refused line, still valid in reader */
    size_t pending_len;
    bool paused, finished;
};

static void finish(weir_file_source *s, const char *why)
{
    s->finished = true;
    s->ops.done(s->user, why);
}

/* Offers one line; false when refused (kept as pending). */
static bool offer(weir_file_source *s, const char *line, size_t len)
{
    if (len == 0)
        return true;
    if (len > s->max_line) {
        s->ops.too_long(s->user, line, len < 256 ? len : 256);
        return true;
    }
    if (!s->ops.submit(s->user, line, len)) {
        s->pending = line;
        s->pending_len = len;
        s->paused = true;
        return false;
    }
    return true;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_file_source *s = arg;
    if (s->finished || s->paused)
        return;
    for (int i = 0; i < BATCH; i++) {
        const char *line;
        size_t len;
        int rc = weir_line_reader_next(s->reader, &line, &len);
        if (rc <= 0) {
            finish(s, rc < 0 ? strerror(errno) : NULL);
            return;
        }
        if (!offer(s, line, len))
            return;
    }
    event_active(s->tick, EV_TIMEOUT, 0);
}

static bool c_submit(void *user, const char *line, size_t len)
{
    weir_file_source *s = user;
    return s->ops.submit(s->user, line, len);
}

static void c_too_long(void *user, const char *head, size_t len)
{
    weir_file_source *s = user;
    s->ops.too_long(s->user, head, len);
}

static void c_closed(void *user, weir_line_conn *c, const char *why)
{
    weir_file_source *s = user;
    (void)c;
    /* freed in weir_file_source_free, not here: we are inside its callback */
    weir_line_conn_stop(s->conn);
    finish(s, why);
}

static const weir_line_conn_ops conn_ops = {c_submit, c_too_long, c_closed};

weir_file_source *weir_file_source_new(struct event_base *base, const char *path,
                                       size_t max_line, const weir_file_source_ops *ops,
                                       void *user)
{
    weir_file_source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ops = *ops;
    s->user = user;
    s->max_line = max_line;
    bool is_stdin = strcmp(path, "-") == 0;
    struct stat st;
    if (is_stdin && fstat(STDIN_FILENO, &st) == 0 && !S_ISREG(st.st_mode)) {
        int fd = dup(STDIN_FILENO);
        if (fd < 0 || !(s->conn = weir_line_conn_new(base, fd, max_line, &conn_ops, s))) {
            free(s);
            return NULL;
        }
        return s;
    }
    s->reader = weir_line_reader_open(path);
    s->tick = s->reader ? event_new(base, -1, 0, tick_cb, s) : NULL;
    if (!s->tick) {
        int err = errno;
        weir_file_source_free(s);
        errno = err;
        return NULL;
    }
    event_active(s->tick, EV_TIMEOUT, 0);
    return s;
}

void weir_file_source_free(weir_file_source *s)
{
    if (!s)
        return;
    if (s->tick)
        event_free(s->tick);
    weir_line_reader_close(s->reader);
    weir_line_conn_free(s->conn);
    free(s);
}

void weir_file_source_resume(weir_file_source *s)
{
    if (s->finished)
        return;
    if (s->conn) {
        weir_line_conn_resume(s->conn);
        return;
    }
    if (!s->paused)
        return;
    s->paused = false;
    if (!s->ops.submit(s->user, s->pending, s->pending_len)) {
        s->paused = true;
        return;
    }
    event_active(s->tick, EV_TIMEOUT, 0);
}

void weir_file_source_stop(weir_file_source *s)
{
    s->finished = true;
    if (s->conn)
        weir_line_conn_stop(s->conn);
}
