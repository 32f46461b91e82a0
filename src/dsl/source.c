/* source.c — loads rule file text and maps byte offsets to line:column.
 * Line starts are computed once per file, so a position costs a binary
 * search; columns count UTF-8 code points so carets line up under
 * non-ASCII text. */
#include "dsl/source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_RULE_FILE_BYTES = 64 * 1024 * 1024 };

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("weir: out of memory\n", stderr);
        abort();
    }
    return q;
}

void weir_sources_init(weir_sources *s)
{
    memset(s, 0, sizeof *s);
}

void weir_sources_clear(weir_sources *s)
{
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files[i].path);
        free(s->files[i].text);
        free(s->files[i].line_starts);
    }
    free(s->files);
    memset(s, 0, sizeof *s);
}

static void index_lines(weir_source_file *f)
{
    size_t cap = 64, n = 0;
    uint32_t *starts = xrealloc(NULL, cap * sizeof *starts);
    starts[n++] = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (f->text[i] == '\n' && i + 1 <= f->len) {
            if (n == cap) {
                cap *= 2;
                starts = xrealloc(starts, cap * sizeof *starts);
            }
            starts[n++] = (uint32_t)(i + 1);
        }
    }
    f->line_starts = starts;
    f->n_lines = n;
}

uint32_t weir_sources_add_text(weir_sources *s, const char *path,
                               const char *text, size_t len)
{
    if (s->n_files == s->cap_files) {
        s->cap_files = s->cap_files ? s->cap_files * 2 : 8;
        s->files = xrealloc(s->files, s->cap_files * sizeof *s->files);
    }
    weir_source_file *f = &s->files[s->n_files];
    memset(f, 0, sizeof *f);
    f->path = xrealloc(NULL, strlen(path) + 1);
    strcpy(f->path, path);
    f->text = xrealloc(NULL, len + 1);
    memcpy(f->text, text, len);
    f->text[len] = '\0';
    f->len = len;
    index_lines(f);
    return (uint32_t)s->n_files++;
}

int64_t weir_sources_add_file(weir_sources *s, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        int e = errno;
        fclose(fp);
        errno = e;
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(fp);
        errno = EISDIR;
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = xrealloc(NULL, cap);
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_RULE_FILE_BYTES) {
                free(buf);
                fclose(fp);
                errno = EFBIG;
                return -1;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        free(buf);
        errno = EIO;
        return -1;
    }
    uint32_t idx = weir_sources_add_text(s, path, buf, len);
    free(buf);
    return idx;
}

int64_t weir_sources_find(const weir_sources *s, const char *path)
{
    for (size_t i = 0; i < s->n_files; i++)
        if (strcmp(s->files[i].path, path) == 0)
            return (int64_t)i;
    return -1;
}

void weir_sources_position(const weir_sources *s, uint32_t file,
                           uint32_t offset, unsigned *line, unsigned *column)
{
    const weir_source_file *f = &s->files[file];
    if (offset > f->len)
        offset = (uint32_t)f->len;
    size_t lo = 0, hi = f->n_lines; /* find last start <= offset */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->line_starts[mid] <= offset)
            lo = mid;
        else
            hi = mid;
    }
    unsigned col = 1;
    for (uint32_t i = f->line_starts[lo]; i < offset; i++)
        if (((unsigned char)f->text[i] & 0xC0) != 0x80)
            col++;
    *line = (unsigned)lo + 1;
    *column = col;
}

const char *weir_sources_line(const weir_sources *s, uint32_t file,
                              unsigned line, size_t *len)
{
    const weir_source_file *f = &s->files[file];
    if (line == 0 || line > f->n_lines) {
        *len = 0;
        return "";
    }
    uint32_t start = f->line_starts[line - 1];
    uint32_t end = start;
    while (end < f->len && f->text[end] != '\n')
        end++;
    if (end > start && f->text[end - 1] == '\r')
        end--;
    *len = end - start;
    return f->text + start;
}
