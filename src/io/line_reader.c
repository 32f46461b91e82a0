/* line_reader.c — buffered line reading with decoder padding; see
 * line_reader.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/line_reader.h"

#define CHUNK ((size_t)1 << 20)

struct weir_line_reader {
    int fd;
    bool own_fd;
    bool eof;
    char *buf;
    size_t cap;   /* usable bytes; WEIR_LINE_PADDING more are allocated */
    size_t start; /* first byte not yet returned */
    size_t end;   /* bytes read into buf */
    bool skipping;/* inside an over-long line, dropping bytes up to '\n' */
};

weir_line_reader *weir_line_reader_open(const char *path)
{
    weir_line_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = WEIR_LINE_MAX + CHUNK;
    r->buf = calloc(1, r->cap + WEIR_LINE_PADDING); /* padding is read: keep it defined */
    if (!r->buf) {
        free(r);
        errno = ENOMEM;
        return NULL;
    }
    if (!path || strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            int err = errno;
            free(r->buf);
            free(r);
            errno = err;
            return NULL;
        }
        r->own_fd = true;
    }
    return r;
}

void weir_line_reader_close(weir_line_reader *r)
{
    if (!r)
        return;
    if (r->own_fd)
        close(r->fd);
    free(r->buf);
    free(r);
}

/* Moves the unread bytes to the front and reads more after them. Returns
 * bytes read, 0 at end of input, -1 on error. */
static ssize_t refill(weir_line_reader *r)
{
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    size_t room = r->cap - r->end;
    if (room == 0)
        return 0;
    ssize_t got;
    do
        got = read(r->fd, r->buf + r->end, room < CHUNK ? room : CHUNK);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        r->end += (size_t)got;
    else if (got == 0)
        r->eof = true;
    return got;
}

int weir_line_reader_next(weir_line_reader *r, const char **line, size_t *len)
{
    for (;;) {
        char *begin = r->buf + r->start;
        char *nl = memchr(begin, '\n', r->end - r->start);
        if (r->skipping) {
            if (nl) {
                r->start = (size_t)(nl - r->buf) + 1;
                r->skipping = false;
                continue;
            }
            r->start = r->end = 0;
        } else if (nl) {
            size_t n = (size_t)(nl - begin);
            r->start += n + 1;
            if (n > 0 && begin[n - 1] == '\r')
                n--;
            *line = begin;
            *len = n;
            /* the padding after the line is the rest of the buffer, which
             * is always at least WEIR_LINE_PADDING bytes long */
            return 1;
        } else if (r->end - r->start >= WEIR_LINE_MAX) {
            *line = begin;
            *len = WEIR_LINE_MAX;
            r->start = r->end; /* drop what was read of it; skip the rest */
            r->skipping = true;
            memset(r->buf + r->end, 0, WEIR_LINE_PADDING);
            return 1;
        } else if (r->eof) {
            if (r->start == r->end)
                return 0;
            size_t n = r->end - r->start;
            *line = begin;
            *len = n;
            r->start = r->end;
            memset(r->buf + r->end, 0, WEIR_LINE_PADDING);
            return 1;
        }
        if (refill(r) < 0)
            return -1;
    }
}
