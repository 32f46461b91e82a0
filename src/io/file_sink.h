/* file_sink.h — JSON lines appended to a file or written to stdout: the
 * alert and dead-letter outputs of `weir serve`. A file is opened for
 * append and reopened by weir_file_sink_reopen (on SIGHUP), so logrotate
 * can move it away and weir starts a new one. Each line is flushed as it is
 * written: alerts are rare and a reader tailing the file wants them now. */
#ifndef WEIR_IO_FILE_SINK_H
#define WEIR_IO_FILE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct weir_file_sink weir_file_sink;

/* path "-": standard output (never closed or reopened). NULL with errno
 * set when the file cannot be opened. */
weir_file_sink *weir_file_sink_open(const char *path);
void weir_file_sink_close(weir_file_sink *s);
/* Writes data and a newline. -1 on a write error (counted). */
int weir_file_sink_write(weir_file_sink *s, const char *data, size_t len);
/* Closes and opens the path again. -1 with errno when that fails (the
 * sink then drops lines until a later reopen works). */
int weir_file_sink_reopen(weir_file_sink *s);
const char *weir_file_sink_path(const weir_file_sink *s);
uint64_t weir_file_sink_written(const weir_file_sink *s);
uint64_t weir_file_sink_failed(const weir_file_sink *s);

#endif
