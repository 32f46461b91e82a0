/* webhook.c — the webhook sink; see webhook.h for what it promises.
 *
 * libcurl's multi interface runs on the libevent loop in the socket-action
 * style: curl says which sockets to watch (sock_cb) and when to wake it
 * (timer_cb); libevent calls back into curl_multi_socket_action. Only one
 * transfer is in flight per sink (the head of the queue), which is what
 * keeps delivery in order; a receiver that is slow makes the queue grow,
 * then spill, never reorder.
 *
 * Queue: a FIFO of items in memory (at most memory_limit), then the spill
 * file, whose lines `<id>\t<alert json>\n` are older than anything
 * enqueued after spilling began and younger than everything in memory. The
 * JSON of an alert never holds a raw tab or newline (yajl escapes them), so
 * the line format needs no quoting. */
#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "io/webhook.h"

typedef struct item {
    struct item *next;
    char *id;   /* owned, NUL-terminated */
    char *json; /* owned, NUL-terminated */
    size_t len;
} item;

typedef struct sockinfo {
    struct event *ev; /* owned */
} sockinfo;

struct weir_webhook {
    struct event_base *base;
    const weir_log *log;
    char *name, *url, *secret; /* owned */
    char *spool_path, *rejected_path, *state_dir; /* owned */
    long timeout_ms;
    long long retries;
    long long backoff_base_ms, backoff_max_ms;
    size_t memory_limit;

    CURLM *multi;
    struct event *curl_timer;  /* owned: curl's timeout */
    struct event *retry_timer; /* owned: backoff before the next attempt */

    item *head, *tail; /* in memory, oldest first */
    size_t mem_count;
    FILE *spill_out;     /* append handle while spilling */
    uint64_t spill_count;/* lines in the spill file not yet read back */
    long spill_read_off; /* where reading back continues */

    CURL *easy;          /* the transfer in flight, or NULL */
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    unsigned consecutive_failures;
    bool failing;
    uint64_t rng;

    weir_webhook_stats stats;
};

/* ---- small helpers -------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static uint64_t next_random(weir_webhook *w)
{
    /* xorshift64*: jitter needs spread, not secrecy */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 2685821657736338717ULL;
}

static char *join_path(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, suffix);
    return p;
}

static int ensure_state_dir(weir_webhook *w)
{
    if (mkdir(w->state_dir, 0700) == 0 || errno == EEXIST)
        return 0;
    weir_log_write(w->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: cannot create '%s': %s",
                   w->name, w->state_dir, strerror(errno));
    return -1;
}

static item *item_new(const char *id, size_t id_len, const char *json, size_t len)
{
    item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->id = malloc(id_len + 1);
    it->json = malloc(len + 1);
    if (!it->id || !it->json) {
        free(it->id);
        free(it->json);
        free(it);
        return NULL;
    }
    memcpy(it->id, id, id_len);
    it->id[id_len] = '\0';
    memcpy(it->json, json, len);
    it->json[len] = '\0';
    it->len = len;
    return it;
}

static void item_free(item *it)
{
    if (!it)
        return;
    free(it->id);
    free(it->json);
    free(it);
}

static void push_mem(weir_webhook *w, item *it)
{
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->mem_count++;
}

static item *pop_mem(weir_webhook *w)
{
    item *it = w->head;
    if (it) {
        w->head = it->next;
        if (!w->head)
            w->tail = NULL;
        w->mem_count--;
        it->next = NULL;
    }
    return it;
}

/* ---- spill file ----------------------------------------------------- */

static int spill(weir_webhook *w, const char *id, const char *json, size_t len)
{
    if (!w->spill_out) {
        if (ensure_state_dir(w) < 0)
            return -1;
        w->spill_out = fopen(w->spool_path, "ae");
        if (!w->spill_out) {
            weir_log_write(w->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: cannot write '%s': %s",
                           w->name, w->spool_path, strerror(errno));
            return -1;
        }
        if (w->spill_count == 0)
            weir_log_write(w->log, WEIR_LOG_WARN, "sink_spilling",
                           "sink %s: %zu alerts waiting; spilling to %s", w->name, w->mem_count,
                           w->spool_path);
    }
    if (fprintf(w->spill_out, "%s\t", id) < 0 || fwrite(json, 1, len, w->spill_out) != len ||
        fputc('\n', w->spill_out) == EOF || fflush(w->spill_out) != 0) {
        weir_log_write(w->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: writing '%s': %s",
                       w->name, w->spool_path, strerror(errno));
        return -1;
    }
    w->spill_count++;
    return 0;
}

/* Moves spilled alerts back into memory, oldest first, up to the limit. */
static void unspill(weir_webhook *w)
{
    if (w->spill_count == 0 || w->mem_count >= w->memory_limit / 2 + 1)
        return;
    FILE *in = fopen(w->spool_path, "re");
    if (!in || fseek(in, w->spill_read_off, SEEK_SET) != 0) {
        weir_log_write(w->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: cannot read '%s': %s",
                       w->name, w->spool_path, strerror(errno));
        if (in)
            fclose(in);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (w->mem_count < w->memory_limit && w->spill_count > 0 &&
           (n = getline(&line, &cap, in)) > 0) {
        size_t len = (size_t)n;
        if (line[len - 1] != '\n')
            break; /* a torn last line: never written completely */
        len--;
        char *tab = memchr(line, '\t', len);
        item *it = tab ? item_new(line, (size_t)(tab - line), tab + 1,
                                  len - (size_t)(tab - line) - 1)
                       : NULL;
        if (tab && !it)
            break; /* out of memory: try again later */
        w->spill_read_off = ftell(in);
        w->spill_count--;
        if (it)
            push_mem(w, it);
    }
    free(line);
    bool at_end = feof(in);
    fclose(in);
    if (w->spill_count == 0 || at_end) {
        /* everything is back in memory: the file can go */
        if (w->spill_out) {
            fclose(w->spill_out);
            w->spill_out = NULL;
        }
        unlink(w->spool_path);
        w->spill_count = 0;
        w->spill_read_off = 0;
    }
}

/* ---- curl on libevent ---------------------------------------------- */

static void start_next(weir_webhook *w);
static void check_done(weir_webhook *w);

static void socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
    weir_webhook *w = arg;
    int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(w->multi, fd, action, &running);
    check_done(w);
}

static void curl_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    weir_webhook *w = arg;
    int running;
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(w);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    weir_webhook *w = userp;
    sockinfo *si = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (si) {
            if (si->ev)
                event_free(si->ev);
            free(si);
        }
        curl_multi_assign(w->multi, s, NULL);
        return 0;
    }
    if (!si) {
        if (!(si = calloc(1, sizeof *si)))
            return -1;
        curl_multi_assign(w->multi, s, si);
    }
    if (si->ev)
        event_free(si->ev); /* never re-assign a pending event */
    short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
                         ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    si->ev = event_new(w->base, s, kind, socket_event_cb, w);
    if (!si->ev || event_add(si->ev, NULL) < 0)
        return -1;
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    weir_webhook *w = userp;
    if (timeout_ms < 0) {
        evtimer_del(w->curl_timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(w->curl_timer, &tv);
    return 0;
}

static size_t discard_body(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

/* ---- delivery ------------------------------------------------------ */

static struct curl_slist *build_headers(weir_webhook *w, const item *it)
{
    struct curl_slist *h = NULL, *t;
    char line[256];
#define ADD(text)                                                                           \
    do {                                                                                    \
        if (!(t = curl_slist_append(h, text))) {                                            \
            curl_slist_free_all(h);                                                         \
            return NULL;                                                                    \
        }                                                                                   \
        h = t;                                                                              \
    } while (0)
    ADD("Content-Type: application/json");
    ADD("Expect:"); /* a receiver that ignores Expect would cost us a second */
    ADD("User-Agent: weir/" PACKAGE_VERSION);
    snprintf(line, sizeof line, "Idempotency-Key: %s", it->id);
    ADD(line);
    if (w->secret) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        if (!HMAC(EVP_sha256(), w->secret, (int)strlen(w->secret),
                  (const unsigned char *)it->json, it->len, mac, &mac_len)) {
            curl_slist_free_all(h);
            return NULL;
        }
        int n = snprintf(line, sizeof line, "X-Weir-Signature: sha256=");
        for (unsigned i = 0; i < mac_len && (size_t)n + 3 < sizeof line; i++)
            n += snprintf(line + n, sizeof line - (size_t)n, "%02x", mac[i]);
        ADD(line);
    }
#undef ADD
    return h;
}

static void schedule_retry(weir_webhook *w)
{
    unsigned k = w->consecutive_failures > 20 ? 20 : w->consecutive_failures;
    long long delay = w->backoff_base_ms << (k ? k - 1 : 0);
    if (delay > w->backoff_max_ms || delay <= 0)
        delay = w->backoff_max_ms;
    /* "equal jitter": half fixed, half random, so a fleet of senders that
     * failed together does not retry together */
    delay = delay / 2 + (long long)(next_random(w) % (uint64_t)(delay / 2 + 1));
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(w->retry_timer, &tv);
}

static void write_rejected(weir_webhook *w, const item *it, long code)
{
    weir_log_write(w->log, WEIR_LOG_ERROR, "sink_rejected",
                   "sink %s: %s answered %ld for alert %s; set aside in %s", w->name, w->url,
                   code, it->id, w->rejected_path);
    if (ensure_state_dir(w) < 0)
        return;
    FILE *f = fopen(w->rejected_path, "ae");
    if (!f)
        return;
    fwrite(it->json, 1, it->len, f);
    fputc('\n', f);
    fclose(f);
}

static void finish_transfer(weir_webhook *w, CURLcode result, long code)
{
    curl_multi_remove_handle(w->multi, w->easy);
    curl_easy_cleanup(w->easy);
    w->easy = NULL;
    curl_slist_free_all(w->headers);
    w->headers = NULL;
    bool ok = result == CURLE_OK && code >= 200 && code < 300;
    bool refused = result == CURLE_OK && code >= 400 && code < 500 && code != 408 && code != 429;
    if (ok || refused) {
        item *it = pop_mem(w);
        if (refused) {
            w->stats.rejected++;
            write_rejected(w, it, code);
        } else {
            w->stats.delivered++;
        }
        item_free(it);
        if (w->failing)
            weir_log_write(w->log, WEIR_LOG_INFO, "sink_recovered",
                           "sink %s: delivering again after %u failed attempts", w->name,
                           w->consecutive_failures);
        w->failing = false;
        w->consecutive_failures = 0;
        unspill(w);
        start_next(w);
        return;
    }
    w->stats.failures++;
    w->consecutive_failures++;
    if (!w->failing && w->consecutive_failures > (unsigned)w->retries) {
        w->failing = true;
        if (result != CURLE_OK)
            weir_log_write(w->log, WEIR_LOG_WARN, "sink_failing",
                           "sink %s: %s: %s (%u attempts); retrying until it answers", w->name,
                           w->url, w->errbuf[0] ? w->errbuf : curl_easy_strerror(result),
                           w->consecutive_failures);
        else
            weir_log_write(w->log, WEIR_LOG_WARN, "sink_failing",
                           "sink %s: %s answered %ld (%u attempts); retrying until it accepts",
                           w->name, w->url, code, w->consecutive_failures);
    }
    schedule_retry(w);
}

static void check_done(weir_webhook *w)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        if (msg->msg != CURLMSG_DONE || msg->easy_handle != w->easy)
            continue;
        long code = 0;
        curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
        finish_transfer(w, msg->data.result, code);
    }
}

static void start_next(weir_webhook *w)
{
    if (w->easy || evtimer_pending(w->retry_timer, NULL))
        return;
    unspill(w);
    item *it = w->head;
    if (!it)
        return;
    w->headers = build_headers(w, it);
    w->easy = w->headers ? curl_easy_init() : NULL;
    if (!w->easy) {
        curl_slist_free_all(w->headers);
        w->headers = NULL;
        w->consecutive_failures++;
        schedule_retry(w); /* out of memory: try again later */
        return;
    }
    w->errbuf[0] = '\0';
    curl_easy_setopt(w->easy, CURLOPT_URL, w->url);
    curl_easy_setopt(w->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, it->json); /* lives until popped */
    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
    curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS, w->timeout_ms);
    curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->errbuf);
    curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
    if (curl_multi_add_handle(w->multi, w->easy) != CURLM_OK) {
        curl_easy_cleanup(w->easy);
        w->easy = NULL;
        curl_slist_free_all(w->headers);
        w->headers = NULL;
        w->consecutive_failures++;
        schedule_retry(w);
    }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_next(arg);
}

/* ---- public -------------------------------------------------------- */

int weir_webhook_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void weir_webhook_global_cleanup(void) { curl_global_cleanup(); }

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

weir_webhook *weir_webhook_new(struct event_base *base, const weir_webhook_options *opt,
                               const weir_log *log, char *err, size_t err_cap)
{
    weir_webhook *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    w->base = base;
    w->log = log;
    w->name = strdup(opt->name);
    w->url = strdup(opt->url);
    w->secret = dup_or_null(opt->secret);
    w->state_dir = strdup(opt->state_dir ? opt->state_dir : ".");
    w->spool_path = w->state_dir ? join_path(w->state_dir, opt->name, ".spool.jsonl") : NULL;
    w->rejected_path = w->state_dir ? join_path(w->state_dir, opt->name, ".rejected.jsonl") : NULL;
    w->timeout_ms = opt->timeout_ms > 0 ? (long)opt->timeout_ms : 5000;
    w->retries = opt->retries >= 0 ? opt->retries : 8;
    w->backoff_base_ms = opt->backoff_base_ms > 0 ? opt->backoff_base_ms : 100;
    w->backoff_max_ms = opt->backoff_max_ms > 0 ? opt->backoff_max_ms : 30000;
    w->memory_limit = opt->memory_limit ? opt->memory_limit : 1;
    w->rng = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)w;
    if (!w->rng)
        w->rng = 1;
    w->multi = curl_multi_init();
    w->curl_timer = evtimer_new(base, curl_timer_cb, w);
    w->retry_timer = evtimer_new(base, retry_cb, w);
    if (!w->name || !w->url || (opt->secret && !w->secret) || !w->spool_path ||
        !w->rejected_path || !w->multi || !w->curl_timer || !w->retry_timer) {
        snprintf(err, err_cap, "out of memory");
        weir_webhook_free(w);
        return NULL;
    }
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 4L);

    /* alerts a previous run could not deliver go first */
    FILE *old = fopen(w->spool_path, "re");
    if (old) {
        int ch;
        while ((ch = fgetc(old)) != EOF)
            w->spill_count += ch == '\n';
        fclose(old);
        if (w->spill_count)
            weir_log_write(log, WEIR_LOG_INFO, "sink_resume",
                           "sink %s: %" PRIu64 " alerts left by the last run in %s", w->name,
                           w->spill_count, w->spool_path);
        else
            unlink(w->spool_path);
        start_next(w);
    }
    return w;
}

/* Writes what is undelivered — memory first, then the unread spill — to a
 * new spill file that replaces the old one. */
static void persist(weir_webhook *w)
{
    if (!w->head && w->spill_count == 0)
        return;
    if (ensure_state_dir(w) < 0)
        return;
    size_t n = strlen(w->spool_path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return;
    snprintf(tmp, n, "%s.new", w->spool_path);
    FILE *out = fopen(tmp, "we");
    bool ok = out != NULL;
    for (item *it = w->head; ok && it; it = it->next)
        ok = fprintf(out, "%s\t", it->id) >= 0 && fwrite(it->json, 1, it->len, out) == it->len &&
             fputc('\n', out) != EOF;
    if (ok && w->spill_count) {
        if (w->spill_out)
            fflush(w->spill_out);
        FILE *in = fopen(w->spool_path, "re");
        if (in && fseek(in, w->spill_read_off, SEEK_SET) == 0) {
            char buf[65536];
            size_t got;
            while (ok && (got = fread(buf, 1, sizeof buf, in)) > 0)
                ok = fwrite(buf, 1, got, out) == got;
        } else {
            ok = false;
        }
        if (in)
            fclose(in);
    }
    if (out && (fflush(out) != 0 || fsync(fileno(out)) != 0))
        ok = false;
    if (out && fclose(out) != 0)
        ok = false;
    if (ok && rename(tmp, w->spool_path) == 0) {
        weir_log_write(w->log, WEIR_LOG_INFO, "sink_saved",
                       "sink %s: %" PRIu64 " undelivered alerts saved to %s", w->name,
                       (uint64_t)w->mem_count + w->spill_count, w->spool_path);
    } else {
        weir_log_write(w->log, WEIR_LOG_ERROR, "sink_failing",
                       "sink %s: cannot save undelivered alerts to %s: %s", w->name,
                       w->spool_path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
}

void weir_webhook_free(weir_webhook *w)
{
    if (!w)
        return;
    if (w->easy) {
        /* abandoned mid-flight: it stays queued, and the receiver drops
         * the copy it may have seen by its Idempotency-Key */
        curl_multi_remove_handle(w->multi, w->easy);
        curl_easy_cleanup(w->easy);
    }
    curl_slist_free_all(w->headers);
    if (w->spool_path)
        persist(w);
    if (w->spill_out)
        fclose(w->spill_out);
    while (w->head)
        item_free(pop_mem(w));
    if (w->multi)
        curl_multi_cleanup(w->multi);
    if (w->curl_timer)
        event_free(w->curl_timer);
    if (w->retry_timer)
        event_free(w->retry_timer);
    free(w->name);
    free(w->url);
    free(w->secret);
    free(w->state_dir);
    free(w->spool_path);
    free(w->rejected_path);
    free(w);
}

int weir_webhook_enqueue(weir_webhook *w, const char *id, const char *json, size_t len)
{
    if (w->spill_count > 0 || w->mem_count >= w->memory_limit) {
        if (spill(w, id, json, len) < 0)
            return -1;
    } else {
        item *it = item_new(id, strlen(id), json, len);
        if (!it) {
            weir_log_write(w->log, WEIR_LOG_ERROR, "sink_failing", "sink %s: out of memory",
                           w->name);
            return -1;
        }
        push_mem(w, it);
    }
    start_next(w);
    return 0;
}

bool weir_webhook_idle(const weir_webhook *w)
{
    return !w->head && w->spill_count == 0 && !w->easy;
}

void weir_webhook_get_stats(const weir_webhook *w, weir_webhook_stats *out)
{
    *out = w->stats;
    out->queued = w->mem_count + w->spill_count;
    out->spilled = w->spill_count;
}

const char *weir_webhook_name(const weir_webhook *w) { return w->name; }
