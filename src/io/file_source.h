/* file_source.h — replaying events from a file or standard input. A regular
 * file is read in batches from the event loop (epoll cannot watch regular
 * files); a pipe or terminal on standard input is read like a TCP client.
 * Lines longer than max_line are cut and handed to too_long. */
#ifndef WEIR_IO_FILE_SOURCE_H
#define WEIR_IO_FILE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
typedef struct weir_file_source weir_file_source;

typedef struct weir_file_source_ops {
    bool (*submit)(void *user, const char *line, size_t len);
    void (*too_long)(void *user, const char *head, size_t len);
    /* the input ended (why NULL) or failed */
    void (*done)(void *user, const char *why);
} weir_file_source_ops;

/* path "-": standard input. NULL with errno set on failure. */
weir_file_source *weir_file_source_new(struct event_base *base, const char *path,
                                       size_t max_line, const weir_file_source_ops *ops,
                                       void *user);
void weir_file_source_free(weir_file_source *s);
void weir_file_source_resume(weir_file_source *s);
void weir_file_source_stop(weir_file_source *s);

#endif
