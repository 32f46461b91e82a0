/* store.c — the part of store.h both backends share: argument checks, ids
 * and names, the choice of checkpoints to prune, manifests built from and
 * checked against parts, and dispatch to the backend's operations table
 * (store_dir.c, store_redis.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "state/store-internal.h"

#define DEFAULT_KEEP 3
#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_CHUNK ((size_t)4 << 20)

void weir_store_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *weir_store_kind_word(weir_store_kind kind)
{
    return kind == WEIR_STORE_SAVEPOINT ? "savepoint" : "checkpoint";
}

bool weir_store_name_ok(const char *name)
{
    size_t n = 0;
    if (!name || name[0] == '.')
        return false;
    for (; name[n]; n++) {
        char c = name[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok || n == WEIR_STORE_NAME_MAX)
            return false;
    }
    return n > 0;
}

bool weir_store_checkpoint_id_value(const char *s, uint64_t *v)
{
    if (!s || !*s || strlen(s) > 20 || (s[0] == '0' && s[1]))
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
    if (v)
        *v = x;
    return true;
}

bool weir_store_id_valid(weir_store_kind kind, const char *id, char *err, size_t errlen)
{
    if (kind == WEIR_STORE_CHECKPOINT) {
        if (weir_store_checkpoint_id_value(id, NULL))
            return true;
        weir_store_errf(err, errlen, "bad checkpoint id '%.80s': a decimal 64-bit number "
                        "without leading zeros", id ? id : "(null)");
        return false;
    }
    if (kind == WEIR_STORE_SAVEPOINT && weir_store_name_ok(id))
        return true;
    weir_store_errf(err, errlen, "bad savepoint id '%.80s': 1 to %d of A-Z a-z 0-9 . _ -, not "
                    "starting with '.'", id ? id : "(null)", WEIR_STORE_NAME_MAX);
    return false;
}

int weir_store_id_cmp(weir_store_kind kind, const char *a, const char *b)
{
    uint64_t x, y;
    if (kind == WEIR_STORE_CHECKPOINT && weir_store_checkpoint_id_value(a, &x) &&
        weir_store_checkpoint_id_value(b, &y))
        return x < y ? -1 : x > y;
    return strcmp(a, b);
}

static int cmp_checkpoint_entry(const void *pa, const void *pb)
{
    const weir_store_entry *a = pa, *b = pb;
    return weir_store_id_cmp(WEIR_STORE_CHECKPOINT, a->id, b->id);
}

static int cmp_savepoint_entry(const void *pa, const void *pb)
{
    const weir_store_entry *a = pa, *b = pb;
    if (a->created_ms != b->created_ms)
        return a->created_ms < b->created_ms ? -1 : 1;
    return strcmp(a->id, b->id);
}

void weir_store_sort_entries(weir_store_kind kind, weir_store_entry *e, size_t n)
{
    if (n > 1)
        qsort(e, n, sizeof *e,
              kind == WEIR_STORE_CHECKPOINT ? cmp_checkpoint_entry : cmp_savepoint_entry);
}

size_t weir_store_pick_prune(char (*ids)[WEIR_STORE_NAME_MAX + 1], size_t n, const char *new_id,
                             unsigned keep, bool *prune)
{
    /* Keep new_id whatever its rank (it is the one `latest` points to), and
     * the keep-1 highest of the others: at most n*keep comparisons on a
     * list that pruning keeps short. */
    size_t pruned = 0;
    for (size_t i = 0; i < n; i++) {
        prune[i] = false;
        if (strcmp(ids[i], new_id) == 0)
            continue;
        unsigned higher = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i && strcmp(ids[j], new_id) != 0 &&
                weir_store_id_cmp(WEIR_STORE_CHECKPOINT, ids[j], ids[i]) > 0)
                higher++;
        if (higher + 1 >= keep) {
            prune[i] = true;
            pruned++;
        }
    }
    return pruned;
}

int64_t weir_store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t weir_store_random64(const void *salt)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ts.tv_sec ^
        (uint64_t)(uintptr_t)salt << 16;
    r ^= r >> 31;
    return r * 0xBF58476D1CE4E5B9ULL;
}

void weir_store_savepoint_id(int64_t now_ms, char *buf, size_t cap)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    uint32_t r = (uint32_t)weir_store_random64(buf);
    snprintf(buf, cap, "sp-%04d%02d%02dT%02d%02d%02dZ-%08" PRIx32, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, r);
}

int weir_store_manifest_from_parts(weir_manifest *m, const weir_store_part *parts, size_t n)
{
    m->parts = calloc(n, sizeof *m->parts);
    if (!m->parts)
        return -1;
    m->n_parts = n;
    for (size_t i = 0; i < n; i++) {
        weir_manifest_part *p = &m->parts[i];
        strcpy(p->name, parts[i].name);
        p->len = parts[i].len;
        p->chunks = m->chunk_size ? (p->len + m->chunk_size - 1) / m->chunk_size : 1;
    }
    return 0;
}

int weir_store_manifest_matches(const weir_manifest *m, const char *job, weir_store_kind kind,
                                const char *id, const char *store, char *err, size_t errlen)
{
    const char *what = weir_store_kind_word(kind);
    if (strcmp(m->job, job) != 0 || m->kind != kind || strcmp(m->id, id) != 0) {
        weir_store_errf(err, errlen, "%s %s: its manifest belongs to %s %s of job '%s' (a "
                        "foreign or moved manifest)", what, id, weir_store_kind_word(m->kind),
                        m->id, m->job);
        return -1;
    }
    if (strcmp(m->store, store) != 0) {
        weir_store_errf(err, errlen, "%s %s: its manifest was written by the %s store, not %s",
                        what, id, m->store, store);
        return -1;
    }
    if (strcmp(store, "redis") == 0 && (m->chunk_size == 0 || !m->token[0])) {
        weir_store_errf(err, errlen, "%s %s: manifest has no chunk size or token", what, id);
        return -1;
    }
    return 0;
}

int weir_store_read_init(weir_store_read *out, const weir_manifest *m, char *err, size_t errlen)
{
    out->kind = m->kind;
    snprintf(out->id, sizeof out->id, "%s", m->id);
    out->created_ms = m->created_ms;
    out->parts = calloc(m->n_parts, sizeof *out->parts);
    if (!out->parts) {
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    out->n_parts = m->n_parts;
    for (size_t i = 0; i < m->n_parts; i++) {
        strcpy(out->parts[i].name, m->parts[i].name);
        out->parts[i].len = (size_t)m->parts[i].len;
    }
    return 0;
}

void weir_store_entry_from_manifest(weir_store_entry *e, const char *id, const char *text,
                                    size_t len, const char *job, weir_store_kind kind,
                                    const char *store)
{
    memset(e, 0, sizeof *e);
    snprintf(e->id, sizeof e->id, "%s", id);
    weir_manifest m = {0};
    if (!text || weir_manifest_parse(text, len, &m, NULL, 0) < 0 ||
        weir_store_manifest_matches(&m, job, kind, id, store, NULL, 0) < 0) {
        e->damaged = true;
        e->created_ms = -1;
    } else {
        e->created_ms = m.created_ms;
        e->n_parts = m.n_parts;
        for (size_t i = 0; i < m.n_parts; i++)
            e->total_bytes += m.parts[i].len;
    }
    weir_manifest_clear(&m);
}

int weir_store_init_head(weir_store *s, const weir_store_ops *ops, const weir_store_options *opt,
                         char *err, size_t errlen)
{
    if (!opt || !weir_store_name_ok(opt->job)) {
        weir_store_errf(err, errlen, "bad job name '%.80s': 1 to %d of A-Z a-z 0-9 . _ -, not "
                        "starting with '.'", opt && opt->job ? opt->job : "(none)",
                        WEIR_STORE_NAME_MAX);
        return -1;
    }
    if (opt->timeout_ms < 0) {
        weir_store_errf(err, errlen, "bad timeout %d ms", opt->timeout_ms);
        return -1;
    }
    s->ops = ops;
    strcpy(s->job, opt->job);
    s->keep = opt->keep ? opt->keep : DEFAULT_KEEP;
    s->timeout_ms = opt->timeout_ms ? opt->timeout_ms : DEFAULT_TIMEOUT_MS;
    s->chunk_size = opt->chunk_size ? opt->chunk_size : DEFAULT_CHUNK;
    s->base = opt->base;
    return 0;
}

/* ---- dispatch */

const char *weir_store_backend(const weir_store *s) { return s->ops->name; }

void weir_store_free(weir_store *s)
{
    if (!s || s->closing)
        return;
    s->closing = true;
    s->ops->free(s);
}

static int check_parts(const weir_store_part *parts, size_t n, char *err, size_t errlen)
{
    if (n == 0 || !parts) {
        weir_store_errf(err, errlen, "a checkpoint needs at least one part");
        return -1;
    }
    if (n > WEIR_STORE_MAX_PARTS) {
        weir_store_errf(err, errlen, "%zu parts: at most %d", n, WEIR_STORE_MAX_PARTS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!weir_store_name_ok(parts[i].name)) {
            weir_store_errf(err, errlen, "bad part name '%.80s': 1 to %d of A-Z a-z 0-9 . _ -, "
                            "not starting with '.'", parts[i].name ? parts[i].name : "(null)",
                            WEIR_STORE_NAME_MAX);
            return -1;
        }
        if (!parts[i].data && parts[i].len) {
            weir_store_errf(err, errlen, "part '%s' has no data", parts[i].name);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(parts[i].name, parts[j].name) == 0) {
                weir_store_errf(err, errlen, "part '%s' given twice", parts[i].name);
                return -1;
            }
    }
    return 0;
}

int weir_store_put(weir_store *s, weir_store_kind kind, const char *id,
                   const weir_store_part *parts, size_t n, weir_store_done_cb cb, void *user,
                   char *err, size_t errlen)
{
    if (s->closing) {
        weir_store_errf(err, errlen, "the store is closing");
        return -1;
    }
    if (!cb) {
        weir_store_errf(err, errlen, "no completion callback");
        return -1;
    }
    if (!weir_store_id_valid(kind, id, err, errlen) || check_parts(parts, n, err, errlen) < 0)
        return -1;
    return s->ops->put(s, kind, id, parts, n, cb, user, err, errlen);
}

int weir_store_latest(weir_store *s, char *id, size_t cap, char *err, size_t errlen)
{
    if (cap <= WEIR_STORE_NAME_MAX) {
        weir_store_errf(err, errlen, "id buffer too small");
        return -1;
    }
    return s->ops->latest(s, id, cap, err, errlen);
}

int weir_store_get(weir_store *s, weir_store_kind kind, const char *id, weir_store_read *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!weir_store_id_valid(kind, id, err, errlen))
        return -1;
    int rc = s->ops->get(s, kind, id, out, err, errlen);
    if (rc != 0)
        weir_store_read_free(out);
    return rc;
}

void weir_store_read_free(weir_store_read *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_parts; i++)
        free(r->parts[i].data);
    free(r->parts);
    memset(r, 0, sizeof *r);
}

const weir_store_read_part *weir_store_read_part_named(const weir_store_read *r, const char *name)
{
    for (size_t i = 0; i < r->n_parts; i++)
        if (strcmp(r->parts[i].name, name) == 0)
            return &r->parts[i];
    return NULL;
}

int weir_store_list(weir_store *s, weir_store_kind kind, weir_store_entry **out, size_t *n,
                    char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    int rc = s->ops->list(s, kind, out, n, err, errlen);
    if (rc == 0)
        weir_store_sort_entries(kind, *out, *n);
    return rc;
}

int weir_store_delete(weir_store *s, weir_store_kind kind, const char *id, char *err,
                      size_t errlen)
{
    if (!weir_store_id_valid(kind, id, err, errlen))
        return -1;
    return s->ops->del(s, kind, id, err, errlen);
}

weir_store *weir_store_open(const char *url, const weir_store_options *opt, char *err,
                            size_t errlen)
{
    if (!url || !*url) {
        weir_store_errf(err, errlen, "no store given");
        return NULL;
    }
    if (strncmp(url, "redis://", 8) == 0) {
        const char *h = url + 8;
        size_t tail = strcspn(h, "/");
        if (memchr(h, '@', tail) || (h[tail] == '/' && h[tail + 1])) {
            weir_store_errf(err, errlen, "Redis URL '%s': passwords and database numbers are "
                            "not supported (use redis://host[:port])", url);
            return NULL;
        }
        char host[256];
        const char *end;
        if (*h == '[') {
            end = strchr(h, ']');
            if (!end) {
                weir_store_errf(err, errlen, "bad Redis URL '%s': no ']'", url);
                return NULL;
            }
            h++;
        } else {
            end = h + strcspn(h, ":/");
        }
        size_t hl = (size_t)(end - h);
        if (hl == 0 || hl >= sizeof host) {
            weir_store_errf(err, errlen, "bad Redis URL '%s': no host", url);
            return NULL;
        }
        memcpy(host, h, hl);
        host[hl] = '\0';
        const char *rest = *end == ']' ? end + 1 : end;
        long port = 6379;
        if (*rest == ':') {
            char *e;
            errno = 0;
            port = strtol(rest + 1, &e, 10);
            if (errno || e == rest + 1 || port < 1 || port > 65535 || (*e && strcmp(e, "/"))) {
                weir_store_errf(err, errlen, "bad Redis URL '%s': expected redis://host[:port]",
                                url);
                return NULL;
            }
        } else if (*rest && strcmp(rest, "/") != 0) {
            weir_store_errf(err, errlen, "bad Redis URL '%s': expected redis://host[:port] "
                            "(databases and passwords are not supported)", url);
            return NULL;
        }
        return weir_store_open_redis(host, (int)port, opt, err, errlen);
    }
    if (strncmp(url, "dir:", 4) == 0)
        return weir_store_open_dir(url + 4, opt, err, errlen);
    if (strncmp(url, "file://", 7) == 0)
        return weir_store_open_dir(url + 7, opt, err, errlen);
    if (strstr(url, "://")) {
        weir_store_errf(err, errlen, "unknown store '%s': use redis://host:port or a directory",
                        url);
        return NULL;
    }
    return weir_store_open_dir(url, opt, err, errlen);
}
