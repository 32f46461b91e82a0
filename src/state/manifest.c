/* manifest.c — see manifest.h. The parser trusts nothing: every line must
 * be exactly the one expected, every number fits its field, names follow
 * the store's rule, and the closing checksum covers the rest, so a
 * truncated, edited or foreign file is refused with the line at fault. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/manifest.h"
#include "state/store-internal.h"
#include "state/xxh64.h"

#define MAGIC "weir-manifest"

typedef struct out_buf {
    char *p;
    size_t len, cap;
    bool oom;
} out_buf;

static void outf(out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(out_buf *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n + 1;
        char *grown = realloc(o->p, cap);
        if (!grown) {
            o->oom = true;
            return;
        }
        o->p = grown;
        o->cap = cap;
    }
}

char *weir_manifest_encode(const weir_manifest *m, size_t *len)
{
    out_buf o = {.p = malloc(512), .cap = 512};
    if (!o.p)
        return NULL;
    outf(&o, "%s %d\n", MAGIC, WEIR_MANIFEST_VERSION);
    outf(&o, "job %s\n", m->job);
    outf(&o, "kind %s\n", weir_store_kind_word(m->kind));
    outf(&o, "id %s\n", m->id);
    outf(&o, "created_ms %" PRId64 "\n", m->created_ms);
    outf(&o, "store %s\n", m->store);
    outf(&o, "chunk_size %" PRIu64 "\n", m->chunk_size);
    outf(&o, "token %s\n", m->token[0] ? m->token : "-");
    outf(&o, "parts %zu\n", m->n_parts);
    for (size_t i = 0; i < m->n_parts; i++) {
        const weir_manifest_part *p = &m->parts[i];
        outf(&o, "part %s %" PRIu64 " %" PRIu64 " %016" PRIx64 "\n", p->name, p->len, p->chunks,
             p->hash);
    }
    if (!o.oom) {
        uint64_t h = weir_xxh64(o.p, o.len, 0);
        outf(&o, "end %016" PRIx64 "\n", h);
    }
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    *len = o.len;
    return o.p;
}

void weir_manifest_clear(weir_manifest *m)
{
    if (!m)
        return;
    free(m->parts);
    memset(m, 0, sizeof *m);
}

const weir_manifest_part *weir_manifest_part_named(const weir_manifest *m, const char *name)
{
    for (size_t i = 0; i < m->n_parts; i++)
        if (strcmp(m->parts[i].name, name) == 0)
            return &m->parts[i];
    return NULL;
}

/* ---- parsing */

#define MAX_FIELDS 6

typedef struct line_reader {
    const char *buf;
    size_t len, pos;
    unsigned lineno;
    size_t line_start;    /* offset of the current line */
    char line[256];       /* the current line, NUL-terminated */
    char *field[MAX_FIELDS];
    int n_fields;
} line_reader;

/* Next line split into fields; -1 with a message at end of data, on an
 * over-long line, a control byte or a doubled space. */
static int next_line(line_reader *r, char *err, size_t errlen)
{
    r->lineno++;
    r->line_start = r->pos;
    const char *nl = r->pos < r->len ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;
    if (!nl) {
        weir_store_errf(err, errlen, "manifest line %u: %s", r->lineno,
                        r->pos < r->len ? "no newline at the end (truncated?)"
                                        : "missing (the manifest is truncated)");
        return -1;
    }
    size_t n = (size_t)(nl - (r->buf + r->pos));
    if (n >= sizeof r->line) {
        weir_store_errf(err, errlen, "manifest line %u: longer than %zu bytes", r->lineno,
                        sizeof r->line - 1);
        return -1;
    }
    memcpy(r->line, r->buf + r->pos, n);
    r->line[n] = '\0';
    r->pos += n + 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r->line[i];
        if (c < 0x20 || c > 0x7e) {
            weir_store_errf(err, errlen, "manifest line %u: byte 0x%02x is not text (not a weir "
                            "manifest?)", r->lineno, c);
            return -1;
        }
    }
    r->n_fields = 0;
    char *p = r->line;
    while (*p) {
        if (r->n_fields == MAX_FIELDS || *p == ' ') {
            weir_store_errf(err, errlen, "manifest line %u: malformed '%.60s'", r->lineno,
                            r->line);
            return -1;
        }
        r->field[r->n_fields++] = p;
        char *sp = strchr(p, ' ');
        if (!sp)
            break;
        *sp = '\0';
        p = sp + 1;
        if (!*p) {
            weir_store_errf(err, errlen, "manifest line %u: trailing space", r->lineno);
            return -1;
        }
    }
    return 0;
}

/* Expects "<key> <one value>". */
static int expect_kv(line_reader *r, const char *key, const char **value, char *err, size_t errlen)
{
    if (next_line(r, err, errlen) < 0)
        return -1;
    if (r->n_fields != 2 || strcmp(r->field[0], key) != 0) {
        weir_store_errf(err, errlen, "manifest line %u: expected '%s <value>', found '%.60s'",
                        r->lineno, key, r->n_fields ? r->field[0] : "");
        return -1;
    }
    *value = r->field[1];
    return 0;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    if (!*s || strlen(s) > 20 || (s[0] == '0' && s[1]))
        return false;
    uint64_t x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

static bool parse_hex64(const char *s, uint64_t *v)
{
    if (strlen(s) != 16)
        return false;
    uint64_t x = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else
            return false;
        x = x << 4 | d;
    }
    *v = x;
    return true;
}

static int bad_value(line_reader *r, const char *what, const char *value, char *err, size_t errlen)
{
    weir_store_errf(err, errlen, "manifest line %u: bad %s '%.60s'", r->lineno, what, value);
    return -1;
}

int weir_manifest_parse(const char *buf, size_t len, weir_manifest *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    line_reader r = {.buf = buf, .len = len};
    const char *v;
    uint64_t u;

    if (len < sizeof MAGIC || memcmp(buf, MAGIC " ", sizeof MAGIC) != 0) {
        weir_store_errf(err, errlen, "not a weir manifest (it does not start with '%s')", MAGIC);
        return -1;
    }
    if (expect_kv(&r, MAGIC, &v, err, errlen) < 0)
        return -1;
    if (!parse_u64(v, &u) || u == 0)
        return bad_value(&r, "format version", v, err, errlen);
    if (u > WEIR_MANIFEST_VERSION) {
        weir_store_errf(err, errlen, "manifest format %" PRIu64 " is newer than this weir reads "
                        "(%d): upgrade weir", u, WEIR_MANIFEST_VERSION);
        return -1;
    }

    if (expect_kv(&r, "job", &v, err, errlen) < 0)
        return -1;
    if (!weir_store_name_ok(v))
        return bad_value(&r, "job", v, err, errlen);
    strcpy(m->job, v);

    if (expect_kv(&r, "kind", &v, err, errlen) < 0)
        return -1;
    if (strcmp(v, "checkpoint") == 0)
        m->kind = WEIR_STORE_CHECKPOINT;
    else if (strcmp(v, "savepoint") == 0)
        m->kind = WEIR_STORE_SAVEPOINT;
    else
        return bad_value(&r, "kind", v, err, errlen);

    if (expect_kv(&r, "id", &v, err, errlen) < 0)
        return -1;
    if (!weir_store_id_valid(m->kind, v, NULL, 0))
        return bad_value(&r, "id", v, err, errlen);
    strcpy(m->id, v);

    if (expect_kv(&r, "created_ms", &v, err, errlen) < 0)
        return -1;
    if (!parse_u64(v, &u) || u > INT64_MAX)
        return bad_value(&r, "created_ms", v, err, errlen);
    m->created_ms = (int64_t)u;

    if (expect_kv(&r, "store", &v, err, errlen) < 0)
        return -1;
    if (strcmp(v, "dir") != 0 && strcmp(v, "redis") != 0)
        return bad_value(&r, "store", v, err, errlen);
    strcpy(m->store, v);

    if (expect_kv(&r, "chunk_size", &v, err, errlen) < 0)
        return -1;
    if (!parse_u64(v, &m->chunk_size) || m->chunk_size > ((uint64_t)1 << 40))
        return bad_value(&r, "chunk_size", v, err, errlen);

    if (expect_kv(&r, "token", &v, err, errlen) < 0)
        return -1;
    if (strcmp(v, "-") != 0 && !parse_hex64(v, &u))
        return bad_value(&r, "token", v, err, errlen);
    strcpy(m->token, strcmp(v, "-") == 0 ? "" : v);

    if (expect_kv(&r, "parts", &v, err, errlen) < 0)
        return -1;
    if (!parse_u64(v, &u) || u == 0 || u > WEIR_STORE_MAX_PARTS)
        return bad_value(&r, "part count", v, err, errlen);
    m->parts = calloc((size_t)u, sizeof *m->parts);
    if (!m->parts) {
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    m->n_parts = (size_t)u;

    for (size_t i = 0; i < m->n_parts; i++) {
        weir_manifest_part *p = &m->parts[i];
        if (next_line(&r, err, errlen) < 0)
            return -1;
        if (r.n_fields != 5 || strcmp(r.field[0], "part") != 0) {
            weir_store_errf(err, errlen, "manifest line %u: expected part %zu of %zu, found "
                            "'%.60s'", r.lineno, i + 1, m->n_parts, r.field[0]);
            return -1;
        }
        if (!weir_store_name_ok(r.field[1]))
            return bad_value(&r, "part name", r.field[1], err, errlen);
        if (weir_manifest_part_named(m, r.field[1])) {
            weir_store_errf(err, errlen, "manifest line %u: part '%s' listed twice", r.lineno,
                            r.field[1]);
            return -1;
        }
        strcpy(p->name, r.field[1]);
        if (!parse_u64(r.field[2], &p->len) || p->len > ((uint64_t)1 << 48))
            return bad_value(&r, "part size", r.field[2], err, errlen);
        if (!parse_u64(r.field[3], &p->chunks))
            return bad_value(&r, "chunk count", r.field[3], err, errlen);
        uint64_t want = m->chunk_size ? (p->len + m->chunk_size - 1) / m->chunk_size : 1;
        if (p->chunks != want) {
            weir_store_errf(err, errlen, "manifest line %u: part '%s' of %" PRIu64 " bytes "
                            "should have %" PRIu64 " chunks, not %" PRIu64, r.lineno, p->name,
                            p->len, want, p->chunks);
            return -1;
        }
        if (!parse_hex64(r.field[4], &p->hash))
            return bad_value(&r, "checksum", r.field[4], err, errlen);
    }

    size_t covered = r.pos;
    if (expect_kv(&r, "end", &v, err, errlen) < 0)
        return -1;
    if (!parse_hex64(v, &u))
        return bad_value(&r, "end checksum", v, err, errlen);
    uint64_t h = weir_xxh64(buf, covered, 0);
    if (h != u) {
        weir_store_errf(err, errlen, "manifest checksum mismatch (stored %016" PRIx64 ", "
                        "computed %016" PRIx64 "): the manifest is damaged", u, h);
        return -1;
    }
    if (r.pos != len) {
        weir_store_errf(err, errlen, "manifest: %zu unexpected bytes after the end line",
                        len - r.pos);
        return -1;
    }
    return 0;
}
