/* line_reader.h — reads a file (or standard input) as lines, fast.
 *
 * Lines come from one large buffer with no copy, and every line returned is
 * followed by at least WEIR_LINE_PADDING readable bytes, which the JSON
 * decoder (simdjson) needs to read past the end of its input. A line
 * longer than WEIR_LINE_MAX is returned cut at that length (the decoder
 * rejects it as too large) and the rest of it is skipped. */
#ifndef WEIR_IO_LINE_READER_H
#define WEIR_IO_LINE_READER_H

#include <stddef.h>

#define WEIR_LINE_PADDING 64
#define WEIR_LINE_MAX ((size_t)2 << 20)

typedef struct weir_line_reader weir_line_reader;

/* Opens path ("-" or NULL: standard input). NULL with errno set. */
weir_line_reader *weir_line_reader_open(const char *path);
void weir_line_reader_close(weir_line_reader *r);

/* The next line, without its "\n" (and without a "\r" before it). Returns
 * 1 with *line valid until the next call, 0 at end of input, -1 on a read
 * error (errno set). A last line without a newline is still a line. */
int weir_line_reader_next(weir_line_reader *r, const char **line, size_t *len);

#endif
