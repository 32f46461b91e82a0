/* file_sink.c — see file_sink.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file_sink.h"

struct weir_file_sink {
    char *path; /* owned */
    FILE *f;    /* owned unless stdout; NULL after a failed reopen */
    bool is_stdout;
    uint64_t written, failed;
};

weir_file_sink *weir_file_sink_open(const char *path)
{
    weir_file_sink *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        s->is_stdout = true;
        s->f = stdout;
        return s;
    }
    s->f = fopen(path, "ae");
    if (!s->f) {
        int err = errno;
        weir_file_sink_close(s);
        errno = err;
        return NULL;
    }
    return s;
}

void weir_file_sink_close(weir_file_sink *s)
{
    if (!s)
        return;
    if (s->f && !s->is_stdout)
        fclose(s->f);
    else if (s->f)
        fflush(s->f);
    free(s->path);
    free(s);
}

int weir_file_sink_write(weir_file_sink *s, const char *data, size_t len)
{
    if (!s->f || fwrite(data, 1, len, s->f) != len || fputc('\n', s->f) == EOF ||
        fflush(s->f) != 0) {
        s->failed++;
        return -1;
    }
    s->written++;
    return 0;
}

int weir_file_sink_reopen(weir_file_sink *s)
{
    if (s->is_stdout)
        return 0;
    if (s->f)
        fclose(s->f);
    s->f = fopen(s->path, "ae");
    return s->f ? 0 : -1;
}

const char *weir_file_sink_path(const weir_file_sink *s) { return s->path; }
uint64_t weir_file_sink_written(const weir_file_sink *s) { return s->written; }
uint64_t weir_file_sink_failed(const weir_file_sink *s) { return s->failed; }
