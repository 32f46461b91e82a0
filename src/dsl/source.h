/* source.h — the text of every rule file in one compilation, and the mapping
 * from byte offsets to lines and columns.
 *
 * Locations stay byte ranges (weir_loc) through lexing, parsing and checking;
 * only when a diagnostic is printed is an offset turned into line:column, by
 * weir_sources_position(). The source set owns the text of every file. */
#ifndef WEIR_DSL_SOURCE_H
#define WEIR_DSL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

/* A byte range [begin, end) in one file of a weir_sources. */
typedef struct weir_loc {
    uint32_t file;  /* index into weir_sources.files */
    uint32_t begin; /* byte offset of the first byte */
    uint32_t end;   /* byte offset just past the last byte */
} weir_loc;

typedef struct weir_source_file {
    char *path;            /* as given by the user or the include; owned */
    char *text;            /* NUL-terminated contents; owned */
    size_t len;            /* bytes in text, without the NUL */
    uint32_t *line_starts; /* byte offset where each line begins; owned */
    size_t n_lines;
} weir_source_file;

typedef struct weir_sources {
    weir_source_file *files; /* owned array */
    size_t n_files;
    size_t cap_files;
} weir_sources;

void weir_sources_init(weir_sources *s);
/* Frees every file's text. Accepts a zeroed or half-filled set. */
void weir_sources_clear(weir_sources *s);

/* Adds text (copied) under a path; returns its file index. */
uint32_t weir_sources_add_text(weir_sources *s, const char *path,
                               const char *text, size_t len);
/* Reads a file from disk; returns its file index, or -1 with errno set.
 * Files over 64 MiB are refused (errno EFBIG): rule files are small. */
int64_t weir_sources_add_file(weir_sources *s, const char *path);
/* Index of an already-added file with this exact path, or -1. */
int64_t weir_sources_find(const weir_sources *s, const char *path);

/* 1-based line and column (in UTF-8 code points) of a byte offset. */
void weir_sources_position(const weir_sources *s, uint32_t file,
                           uint32_t offset, unsigned *line, unsigned *column);
/* The text of a 1-based line, without its newline. */
const char *weir_sources_line(const weir_sources *s, uint32_t file,
                              unsigned line, size_t *len);

#endif
