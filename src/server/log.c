/* log.c — plain or JSON log lines on stderr; see log.h. Each line is built
 * in one buffer and written with one write(2), so lines from a later shard
 * thread cannot interleave mid-line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"

#define LOG_LINE_MAX 2048

static const char *level_name(weir_log_level l)
{
    switch (l) {
    case WEIR_LOG_WARN: return "warn";
    case WEIR_LOG_ERROR: return "error";
    default: return "info";
    }
}

/* Appends s to buf as the inside of a JSON string. */
static size_t json_escape(char *buf, size_t cap, size_t n, const char *s)
{
    for (; *s && n + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)ch;
        } else if (ch < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", ch);
        } else {
            buf[n++] = (char)ch;
        }
    }
    return n;
}

void weir_log_write(const weir_log *log, weir_log_level level, const char *event,
                    const char *fmt, ...)
{
    char msg[LOG_LINE_MAX / 2];
    int at = log->scope ? snprintf(msg, sizeof msg, "%s: ", log->scope) : 0;
    if (at < 0 || (size_t)at >= sizeof msg)
        at = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + at, sizeof msg - (size_t)at, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    time_t secs = tv.tv_sec;
    gmtime_r(&secs, &tm);
    char when[40];
    size_t wl = strftime(when, sizeof when - 5, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + wl, sizeof when - wl, ".%03dZ", (int)(tv.tv_usec / 1000) % 1000);

    char line[LOG_LINE_MAX];
    size_t n;
    if (log && log->json) {
        n = (size_t)snprintf(line, sizeof line,
                             "{\"time\":\"%s\",\"level\":\"%s\",\"event\":\"%s\",\"msg\":\"",
                             when, level_name(level), event);
        n = json_escape(line, sizeof line, n, msg);
        n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");
    } else {
        n = (size_t)snprintf(line, sizeof line, "%s %s %s: %s\n", when, level_name(level),
                             event, msg);
    }
    if (n >= sizeof line) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w; /* nowhere left to report a failed log write */
}
