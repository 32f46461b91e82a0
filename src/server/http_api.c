/* http_api.c — the HTTP API on the main loop (see doc/http-api.md).
 *
 * libmicrohttpd runs in "external epoll" mode: its one epoll fd is a
 * libevent read event, and a libevent timer follows MHD_get_timeout() after
 * every MHD_run — which must be honoured, or bodies left in MHD's buffers
 * are never read (DEPENDENCIES.md 5). Handlers therefore run on the loop
 * thread and may touch the engine directly, with no locks.
 *
 * Requests: the first call of the access handler (headers only) checks the
 * token and the declared body size and allocates a `request`; later calls
 * append the body (refusing past --max-body); the last one answers.
 * Alert streams (server-sent events) are callback responses: the reader
 * suspends the connection when it has nothing to send, and publishing an
 * alert appends it and resumes the connection. MHD_run is never called from
 * inside an MHD callback: a resume just activates `kick`. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "io/listen_addr.h"
#include "server/alert_ring.h"
#include "io/kafka_sink.h"
#include "server/http_api.h"
#include "server/partitions.h"
#include "state/checkpointer.h"
#include "state/store.h"
#include "server/http_json.h"
#include "server/shard_pool.h"
#include "util/grow_bytes.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

/* Bytes an alert stream may fall behind before it is ended: a client that
 * stops reading must not make the server hold every alert for it. */
#define STREAM_BACKLOG_MAX ((size_t)4 << 20)
/* Alerts GET /alerts returns at most, unless ?limit= says fewer. */
#define ALERTS_PAGE_MAX 1000
/* Largest rule file GET /rules/{name} shows. */
#define RULE_SOURCE_MAX ((size_t)1 << 20)

typedef struct stream {
    struct stream *prev, *next;
    weir_http_api *api;
    struct MHD_Connection *conn;
    char *buf;       /* owned: bytes not yet sent */
    size_t len, cap;
    bool suspended;
    bool closing;    /* send what is left, then end */
} stream;

typedef struct request {
    char *body; /* owned */
    size_t len, cap;
    bool too_large;
    bool answered; /* a response was queued on the first call */
} request;

struct weir_http_api {
    weir_server *srv;
    struct MHD_Daemon *d;
    struct event *io_ev;
    struct event *timer_ev;
    struct event *kick;
    uint16_t port;
    stream *streams;
};

/* ---- MHD on the libevent loop -------------------------------------- */

static void run_mhd(weir_http_api *api)
{
    MHD_run(api->d);
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(api->d, &ms) == MHD_YES) {
        struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
        evtimer_add(api->timer_ev, &tv);
    } else {
        evtimer_del(api->timer_ev);
    }
}

static void mhd_event_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_mhd(arg);
}

/* ---- responses ----------------------------------------------------- */

static mhd_result send_body(struct MHD_Connection *c, unsigned status, const char *ctype,
                            const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    mhd_result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Sends a finished yajl document (g is freed). */
static mhd_result send_json(struct MHD_Connection *c, unsigned status, yajl_gen g)
{
    size_t len = 0;
    char *body = weir_json_gen_finish(g, &len);
    if (!body)
        return MHD_NO;
    mhd_result ok = send_body(c, status, "application/json", body, len);
    free(body);
    return ok;
}

/* Every error: {"error":"<message>","code":"<stable word>"}. */
static mhd_result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                             const char *message)
{
    yajl_gen g = weir_json_gen_new();
    if (!g)
        return MHD_NO;
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "error", message);
    weir_json_kv_str(g, "code", code);
    yajl_gen_map_close(g);
    return send_json(c, status, g);
}

/* ---- GET endpoints ------------------------------------------------- */

static mhd_result get_healthz(weir_http_api *api, struct MHD_Connection *c)
{
    (void)api;
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "status", "ok");
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_OK, g);
}

static mhd_result get_readyz(weir_http_api *api, struct MHD_Connection *c)
{
    if (!weir_server_ready(api->srv))
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready",
                          api->srv->stopping ? "shutting down" : "not ready");
    if (api->srv->checkpointer || api->srv->partitions) {
        /* processing goes on, but state is not being saved: say so */
        weir_checkpoint_stats cs;
        if (api->srv->checkpointer)
            weir_checkpointer_get_stats(api->srv->checkpointer, &cs);
        else
            weir_partitions_checkpoint_stats(api->srv->partitions, &cs);
        if (cs.consecutive_failures > 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "checkpoints failing (%u in a row): %s",
                     cs.consecutive_failures, cs.last_error);
            return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "checkpoints_failing", msg);
        }
    }
    for (size_t i = 0; i < api->srv->n_sinks; i++) {
        /* a transactional sink whose transactions fail writes no alerts */
        char msg[600];
        if (api->srv->sinks[i].kafka &&
            weir_kafka_sink_txn_failing(api->srv->sinks[i].kafka, msg, sizeof msg))
            return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "sink_failing", msg);
    }
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "status", "ready");
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_OK, g);
}

static mhd_result get_metrics(weir_http_api *api, struct MHD_Connection *c)
{
    size_t len;
    char *text = weir_metrics_render(api->srv, &len);
    if (!text)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    mhd_result ok = send_body(c, MHD_HTTP_OK, "text/plain; version=0.0.4", text, len);
    free(text);
    return ok;
}

static void rule_fields(yajl_gen g, weir_server *srv, size_t i, const weir_rule_stats *stats)
{
    static const weir_rule_stats none;
    const weir_rule_stats *s = stats ? &stats[i] : &none;
    weir_json_kv_str(g, "name", weir_ruleset_rule_name(srv->rs, i));
    weir_json_kv_str(g, "file", weir_ruleset_rule_file(srv->rs, i));
    weir_json_kv_str(g, "stream", weir_ruleset_rule_single_stream(srv->rs, i));
    weir_json_kv_uint(g, "version", weir_server_rule_version(srv, weir_ruleset_rule_name(srv->rs, i)));
    char fingerprint[17];
    snprintf(fingerprint, sizeof fingerprint, "%016" PRIx64,
             weir_ruleset_rule_fingerprint(srv->rs, i));
    weir_json_kv_str(g, "fingerprint", fingerprint);
    weir_json_kv_uint(g, "alerts", s->alerts);
    weir_json_kv_uint(g, "events", s->events);
    weir_json_kv_uint(g, "matches", s->matches);
    weir_json_kv_uint(g, "throttled", s->throttled);
    weir_json_kv_uint(g, "keys", s->keys);
    weir_json_kv_uint(g, "partial_matches", s->partial_matches);
}

/* Each rule's counters, summed over shards; malloc'd (NULL when out of
 * memory, which shows as zeros). */
static weir_rule_stats *rule_counters(weir_server *srv)
{
    size_t n = weir_ruleset_rule_count(srv->rs);
    weir_rule_stats *stats = calloc(n ? n : 1, sizeof *stats);
    if (stats) {
        weir_shard_pool_detail(srv->shards, stats, n, NULL, 0);
        (void)weir_partitions_add_detail(srv->partitions, stats, n, NULL, 0);
    }
    return stats;
}

static mhd_result get_rules(weir_http_api *api, struct MHD_Connection *c)
{
    weir_server *srv = api->srv;
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_str(g, "rules");
    yajl_gen_array_open(g);
    weir_rule_stats *stats = rule_counters(srv);
    for (size_t i = 0; i < weir_ruleset_rule_count(srv->rs); i++) {
        yajl_gen_map_open(g);
        rule_fields(g, srv, i, stats);
        yajl_gen_map_close(g);
    }
    free(stats);
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_OK, g);
}

/* The text of path, at most RULE_SOURCE_MAX bytes, malloc'd; NULL if
 * unreadable. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(RULE_SOURCE_MAX + 1);
    size_t n = buf ? fread(buf, 1, RULE_SOURCE_MAX, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static mhd_result get_rule(weir_http_api *api, struct MHD_Connection *c, const char *name)
{
    weir_server *srv = api->srv;
    for (size_t i = 0; i < weir_ruleset_rule_count(srv->rs); i++) {
        if (strcmp(weir_ruleset_rule_name(srv->rs, i), name) != 0)
            continue;
        yajl_gen g = weir_json_gen_new();
        yajl_gen_map_open(g);
        weir_rule_stats *stats = rule_counters(srv);
        rule_fields(g, srv, i, stats);
        free(stats);
        /* walks every key in every shard: here only, not in the list */
        size_t n = weir_ruleset_rule_count(srv->rs);
        uint64_t *bytes = calloc(n, sizeof *bytes);
        if (bytes) {
            weir_shard_pool_state_bytes(srv->shards, bytes, n);
            (void)weir_partitions_add_state_bytes(srv->partitions, bytes, n);
        }
        weir_json_kv_uint(g, "state_bytes", bytes ? bytes[i] : 0);
        free(bytes);
        char *text = read_text(weir_ruleset_rule_file(srv->rs, i));
        weir_json_kv_str(g, "source", text);
        free(text);
        yajl_gen_map_close(g);
        return send_json(c, MHD_HTTP_OK, g);
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "no_such_rule", "no rule by that name");
}

static bool parse_uint(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* {"first":F,"last":L,"alerts":[{"seq":N,"alert":{...}},...]}: the alerts
 * are embedded as the engine wrote them, so this one body is concatenated
 * rather than generated. */
static mhd_result get_alerts(weir_http_api *api, struct MHD_Connection *c)
{
    const weir_alert_ring *ring = api->srv->ring;
    uint64_t since = 0, limit = ALERTS_PAGE_MAX;
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
    const char *l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    if ((s && !parse_uint(s, &since)) || (l && !parse_uint(l, &limit)))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_parameter",
                          "since and limit must be whole numbers");
    if (limit > ALERTS_PAGE_MAX)
        limit = ALERTS_PAGE_MAX;
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    uint64_t first = weir_alert_ring_first(ring), last = weir_alert_ring_last(ring);
    fprintf(f, "{\"first\":%" PRIu64 ",\"last\":%" PRIu64 ",\"alerts\":[", first, last);
    uint64_t from = since + 1 > first ? since + 1 : first, n = 0;
    for (uint64_t seq = from; seq <= last && n < limit; seq++) {
        size_t alen;
        const char *a = weir_alert_ring_get(ring, seq, &alen);
        if (!a)
            continue;
        fprintf(f, "%s{\"seq\":%" PRIu64 ",\"alert\":", n ? "," : "", seq);
        fwrite(a, 1, alen, f);
        fputc('}', f);
        n++;
    }
    fputs("]}", f);
    if (fclose(f) != 0) {
        free(body);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    }
    mhd_result ok = send_body(c, MHD_HTTP_OK, "application/json", body, len);
    free(body);
    return ok;
}

/* ---- alert streams (server-sent events) ---------------------------- */

static bool stream_append(stream *st, const char *data, size_t len)
{
    if (st->len + len > STREAM_BACKLOG_MAX)
        return false;
    if (!weir_grow_bytes(&st->buf, &st->cap, st->len + len))
        return false;
    memcpy(st->buf + st->len, data, len);
    st->len += len;
    return true;
}

static void stream_wake(stream *st)
{
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->conn);
        event_active(st->api->kick, EV_TIMEOUT, 0);
    }
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream *st = cls;
    if (st->len == 0) {
        if (st->closing)
            return MHD_CONTENT_READER_END_OF_STREAM;
        st->suspended = true;
        MHD_suspend_connection(st->conn);
        return 0;
    }
    size_t n = st->len < max ? st->len : max;
    memcpy(buf, st->buf, n);
    memmove(st->buf, st->buf + n, st->len - n);
    st->len -= n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream *st = cls;
    weir_http_api *api = st->api;
    if (st->prev)
        st->prev->next = st->next;
    else if (api->streams == st)
        api->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    free(st->buf);
    free(st);
}

static mhd_result get_alert_stream(weir_http_api *api, struct MHD_Connection *c)
{
    if (api->srv->stopping)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping", "shutting down");
    stream *st = calloc(1, sizeof *st);
    if (!st)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    st->api = api;
    st->conn = c;
    /* a first comment line, so the client sees the stream open at once */
    static const char hello[] = ": weir alert stream\n\n";
    stream_append(st, hello, sizeof hello - 1);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    if (!r) {
        free(st->buf);
        free(st);
        return MHD_NO;
    }
    st->next = api->streams;
    if (api->streams)
        api->streams->prev = st;
    api->streams = st;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    mhd_result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

void weir_http_api_publish(weir_http_api *api, uint64_t seq, const char *json, size_t len)
{
    char head[48];
    int n = snprintf(head, sizeof head, "id: %" PRIu64 "\nevent: alert\ndata: ", seq);
    for (stream *st = api->streams; st; st = st->next) {
        if (st->closing)
            continue;
        if (!stream_append(st, head, (size_t)n) || !stream_append(st, json, len) ||
            !stream_append(st, "\n\n", 2)) {
            /* too far behind: end the stream rather than buffer forever */
            st->len = 0;
            st->closing = true;
        }
        stream_wake(st);
    }
}

void weir_http_api_close_streams(weir_http_api *api)
{
    if (!api)
        return;
    for (stream *st = api->streams; st; st = st->next) {
        st->closing = true;
        stream_wake(st);
    }
}

/* ---- POST endpoints ------------------------------------------------ */

typedef struct ingest {
    weir_server *srv;
    uint64_t accepted;
} ingest;

static bool ingest_one(void *user, const char *elem, size_t len)
{
    ingest *in = user;
    if (len == 0)
        return true;
    if (!weir_server_submit(in->srv, WEIR_SRC_HTTP, elem, len)) {
        /* the queue is full: make room by running the engine now, which
         * always empties it */
        weir_shard_pool_sync(in->srv->shards);
        if (!weir_server_submit(in->srv, WEIR_SRC_HTTP, elem, len))
            return false;
    }
    in->accepted++;
    return true;
}

static bool count_only(void *user, const char *elem, size_t len)
{
    (void)user;
    (void)elem;
    (void)len;
    return true;
}

/* Events as JSON lines or one JSON array. The engine runs before the answer,
 * so the counts say what became of them. */
static mhd_result post_events(weir_http_api *api, struct MHD_Connection *c, request *rq)
{
    weir_server *srv = api->srv;
    if (srv->stopping)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping", "shutting down");
    weir_source_stats before = srv->sources[WEIR_SRC_HTTP];
    ingest in = {srv, 0};
    const char *p = rq->body, *end = rq->body + rq->len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    bool ok = true;
    if (p < end && *p == '[') {
        if (weir_json_array_each(rq->body, rq->len, count_only, NULL) < 0)
            return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_json",
                              "the body starts with '[' but is not a JSON array");
        ok = weir_json_array_each(rq->body, rq->len, ingest_one, &in) >= 0;
    } else {
        while (p < end && ok) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl : end;
            size_t n = (size_t)(e - p);
            if (n > 0 && p[n - 1] == '\r')
                n--;
            ok = ingest_one(&in, p, n);
            p = nl ? nl + 1 : end;
        }
    }
    weir_shard_pool_sync(srv->shards);
    const weir_source_stats *after = &srv->sources[WEIR_SRC_HTTP];
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_uint(g, "accepted", in.accepted);
    weir_json_kv_uint(g, "dead_letters", after->dead_letters - before.dead_letters);
    weir_json_kv_uint(g, "late", after->late - before.late);
    weir_json_kv_uint(g, "too_long", after->too_long - before.too_long);
    yajl_gen_map_close(g);
    if (!ok) {
        yajl_gen_free(g);
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", "the engine's queue is full");
    }
    return send_json(c, MHD_HTTP_OK, g);
}

/* POST /rules/{name}/test: the posted events through a throwaway engine
 * running the live rule set, keeping the alerts of one rule. */
typedef struct rule_test {
    weir_engine *engine;
    const char *rule;
    FILE *alerts; /* the JSON array being written */
    uint64_t n_alerts, line_no, dead, late;
} rule_test;

static void test_alert(void *user, const weir_alert *a)
{
    rule_test *t = user;
    if (strcmp(a->rule, t->rule) != 0)
        return;
    if (t->n_alerts++)
        fputc(',', t->alerts);
    fwrite(a->json, 1, a->json_len, t->alerts);
}

static void test_dead(void *user, const weir_rejected *r)
{
    (void)r;
    ((rule_test *)user)->dead++;
}

static void test_late(void *user, const weir_rejected *r)
{
    (void)r;
    ((rule_test *)user)->late++;
}

static bool test_push(void *user, const char *elem, size_t len)
{
    rule_test *t = user;
    if (len > 0)
        weir_engine_push(t->engine, elem, len, ++t->line_no);
    return true;
}

static mhd_result post_rule_test(weir_http_api *api, struct MHD_Connection *c, request *rq,
                                 const char *name)
{
    weir_server *srv = api->srv;
    bool known = false;
    for (size_t i = 0; i < weir_ruleset_rule_count(srv->rs); i++)
        known |= strcmp(weir_ruleset_rule_name(srv->rs, i), name) == 0;
    if (!known)
        return send_error(c, MHD_HTTP_NOT_FOUND, "no_such_rule", "no rule by that name");
    const char *body = rq->body ? rq->body : "";
    const char *p = body, *end = body + rq->len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    bool array = p < end && *p == '[';
    if (array && weir_json_array_each(body, rq->len, count_only, NULL) < 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_json",
                          "the body starts with '[' but is not a JSON array");
    char *alerts = NULL;
    size_t alerts_len = 0;
    rule_test t = {.rule = name, .alerts = open_memstream(&alerts, &alerts_len)};
    weir_engine_options eo = {
        .on_alert = test_alert, .alert_user = &t,
        .on_dead_letter = test_dead, .dead_letter_user = &t,
        .on_late = test_late, .late_user = &t,
        .stream_field = srv->cfg->stream_field,
        .default_stream = srv->cfg->default_stream,
        .decode_all_fields = srv->cfg->full_events,
    };
    t.engine = t.alerts ? weir_engine_new(srv->rs, &eo) : NULL;
    if (!t.engine) {
        if (t.alerts)
            fclose(t.alerts);
        free(alerts);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    }
    if (array) {
        weir_json_array_each(body, rq->len, test_push, &t);
    } else {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *e = nl ? nl : end;
            size_t n = (size_t)(e - p);
            if (n > 0 && p[n - 1] == '\r')
                n--;
            test_push(&t, p, n);
            p = nl ? nl + 1 : end;
        }
    }
    weir_engine_finish(t.engine);
    weir_engine_free(t.engine);
    fclose(t.alerts);
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    mhd_result ok = MHD_NO;
    if (f) {
        fprintf(f, "{\"rule\":\"%s\",\"events\":%" PRIu64 ",\"dead_letters\":%" PRIu64
                   ",\"late\":%" PRIu64 ",\"alerts\":[",
                name, t.line_no, t.dead, t.late);
        fwrite(alerts, 1, alerts_len, f);
        fputs("]}", f);
        if (fclose(f) == 0)
            ok = send_body(c, MHD_HTTP_OK, "application/json", out, out_len);
    }
    free(out);
    free(alerts);
    return ok;
}

typedef struct diag_list {
    yajl_gen g;
    unsigned errors;
} diag_list;

static void collect_diag(void *user, const weir_diagnostic *d)
{
    diag_list *dl = user;
    if (d->severity == WEIR_DIAG_ERROR)
        dl->errors++;
    yajl_gen g = dl->g;
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "severity", weir_diag_severity_name(d->severity));
    weir_json_kv_str(g, "path", d->path);
    weir_json_kv_uint(g, "line", d->line);
    weir_json_kv_uint(g, "column", d->column);
    weir_json_kv_str(g, "message", d->message);
    weir_json_kv_str(g, "rendered", d->rendered);
    yajl_gen_map_close(g);
}

static mhd_result post_validate(weir_http_api *api, struct MHD_Connection *c, request *rq)
{
    (void)api;
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    if (!name)
        name = "request.weir";
    yajl_gen g = weir_json_gen_new();
    if (!g)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    yajl_gen_map_open(g);
    weir_json_str(g, "diagnostics");
    yajl_gen_array_open(g);
    diag_list dl = {g, 0};
    weir_compile_options opt = {.diag = collect_diag, .diag_user = &dl};
    weir_ruleset *rs = NULL;
    weir_compile_status st =
        weir_ruleset_compile_text(name, rq->body ? rq->body : "", rq->len, &opt, &rs);
    yajl_gen_array_close(g);
    if (st == WEIR_COMPILE_OK) {
        weir_json_str(g, "valid");
        yajl_gen_bool(g, 1);
        weir_json_str(g, "rules");
        yajl_gen_array_open(g);
        for (size_t i = 0; i < weir_ruleset_rule_count(rs); i++)
            weir_json_str(g, weir_ruleset_rule_name(rs, i));
        yajl_gen_array_close(g);
        weir_ruleset_free(rs);
        yajl_gen_map_close(g);
        return send_json(c, MHD_HTTP_OK, g);
    }
    char msg[96];
    snprintf(msg, sizeof msg, "the rules do not compile: %u error%s", dl.errors,
             dl.errors == 1 ? "" : "s");
    weir_json_kv_str(g, "error", msg);
    weir_json_kv_str(g, "code", "rule_invalid");
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_BAD_REQUEST, g);
}

static const char *code_for(int status)
{
    switch (status) {
    case 400: return "rule_invalid";
    case 404: return "no_such_rule";
    case 409: return "conflict";
    default: return "internal";
    }
}

static mhd_result put_rule(weir_http_api *api, struct MHD_Connection *c, request *rq,
                           const char *name)
{
    yajl_gen g = weir_json_gen_new();
    if (!g)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    yajl_gen_map_open(g);
    weir_json_str(g, "diagnostics");
    yajl_gen_array_open(g);
    diag_list dl = {g, 0};
    char err[512] = "";
    int status = weir_server_put_rule(api->srv, name, rq->body ? rq->body : "", rq->len,
                                      collect_diag, &dl, err, sizeof err);
    yajl_gen_array_close(g);
    if (status == 200) {
        weir_json_kv_str(g, "name", name);
        weir_json_str(g, "installed");
        yajl_gen_bool(g, 1);
        if (api->srv->swap_savepoint[0])
            weir_json_kv_str(g, "savepoint", api->srv->swap_savepoint);
        weir_json_kv_uint(g, "version", weir_server_rule_version(api->srv, name));
    } else {
        weir_json_kv_str(g, "error", err);
        weir_json_kv_str(g, "code", code_for(status));
    }
    yajl_gen_map_close(g);
    return send_json(c, (unsigned)status, g);
}

static mhd_result delete_rule(weir_http_api *api, struct MHD_Connection *c, const char *name)
{
    char err[512] = "";
    int status = weir_server_delete_rule(api->srv, name, err, sizeof err);
    if (status != 200)
        return send_error(c, (unsigned)status, code_for(status), err);
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "name", name);
    weir_json_str(g, "deleted");
    yajl_gen_bool(g, 1);
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_OK, g);
}

/* ---- savepoints ---------------------------------------------------- */

static const char *savepoint_state(const struct weir_savepoint_status *sp)
{
    return sp->state == SAVEPOINT_WRITING    ? "writing"
           : sp->state == SAVEPOINT_COMPLETE ? "complete"
                                             : "failed";
}

static mhd_result post_savepoint(weir_http_api *api, struct MHD_Connection *c)
{
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    char id[WEIR_STORE_NAME_MAX + 1], err[512] = "";
    int status = weir_server_savepoint_create(api->srv, name, id, sizeof id, err, sizeof err);
    if (status != 202)
        return send_error(c, (unsigned)status,
                          status == 400   ? "bad_request"
                          : status == 409 ? "conflict"
                          : status == 503 ? "unavailable"
                                          : "internal",
                          err);
    const struct weir_savepoint_status *sp = weir_server_savepoint_find(api->srv, id);
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "id", id);
    weir_json_kv_str(g, "status", sp ? savepoint_state(sp) : "writing");
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_ACCEPTED, g);
}

static void savepoint_entry(yajl_gen g, const weir_store_entry *e, const char *status)
{
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "id", e->id);
    weir_json_kv_str(g, "status", e->damaged ? "damaged" : status);
    weir_json_str(g, "created_ms");
    yajl_gen_integer(g, e->created_ms);
    weir_json_kv_uint(g, "bytes", e->total_bytes);
    yajl_gen_map_close(g);
}

static mhd_result get_savepoints(weir_http_api *api, struct MHD_Connection *c, const char *one)
{
    weir_server *srv = api->srv;
    if (!srv->store)
        return one ? send_error(c, MHD_HTTP_NOT_FOUND, "no_such_savepoint",
                                "no state store: no savepoints")
                   : send_error(c, MHD_HTTP_CONFLICT, "conflict", weir_server_no_store(srv));
    weir_store_entry *list = NULL;
    size_t n = 0;
    char err[512];
    if (weir_store_list(srv->store, WEIR_STORE_SAVEPOINT, &list, &n, err, sizeof err) != 0)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store_unavailable", err);
    yajl_gen g = weir_json_gen_new();
    mhd_result ok;
    if (one) {
        const struct weir_savepoint_status *sp = weir_server_savepoint_find(srv, one);
        const weir_store_entry *found = NULL;
        for (size_t i = 0; i < n; i++)
            if (strcmp(list[i].id, one) == 0)
                found = &list[i];
        if (found) {
            savepoint_entry(g, found, "complete");
        } else if (sp) {
            yajl_gen_map_open(g);
            weir_json_kv_str(g, "id", sp->id);
            weir_json_kv_str(g, "status", savepoint_state(sp));
            if (sp->state == SAVEPOINT_FAILED)
                weir_json_kv_str(g, "error", sp->error);
            yajl_gen_map_close(g);
        } else {
            yajl_gen_free(g);
            free(list);
            return send_error(c, MHD_HTTP_NOT_FOUND, "no_such_savepoint", "no such savepoint");
        }
        ok = send_json(c, MHD_HTTP_OK, g);
        free(list);
        return ok;
    }
    yajl_gen_map_open(g);
    weir_json_str(g, "savepoints");
    yajl_gen_array_open(g);
    for (size_t i = 0; i < n; i++)
        savepoint_entry(g, &list[i], "complete");
    /* those still being written, or that failed, since start */
    size_t ring = sizeof srv->savepoints / sizeof srv->savepoints[0];
    for (size_t i = 0; i < ring && i < srv->n_savepoints; i++) {
        const struct weir_savepoint_status *sp = &srv->savepoints[i];
        if (sp->state == SAVEPOINT_COMPLETE || !sp->id[0])
            continue;
        yajl_gen_map_open(g);
        weir_json_kv_str(g, "id", sp->id);
        weir_json_kv_str(g, "status", savepoint_state(sp));
        if (sp->state == SAVEPOINT_FAILED)
            weir_json_kv_str(g, "error", sp->error);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
    free(list);
    return send_json(c, MHD_HTTP_OK, g);
}

static mhd_result delete_savepoint(weir_http_api *api, struct MHD_Connection *c, const char *id)
{
    char err[512];
    if (!api->srv->store)
        return send_error(c, MHD_HTTP_NOT_FOUND, "no_such_savepoint", "no state store");
    if (!weir_store_id_valid(WEIR_STORE_SAVEPOINT, id, err, sizeof err))
        return send_error(c, MHD_HTTP_NOT_FOUND, "no_such_savepoint", "no such savepoint");
    int rc = weir_store_delete(api->srv->store, WEIR_STORE_SAVEPOINT, id, err, sizeof err);
    if (rc == 1)
        return send_error(c, MHD_HTTP_NOT_FOUND, "no_such_savepoint", "no such savepoint");
    if (rc != 0)
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store_unavailable", err);
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "id", id);
    weir_json_str(g, "deleted");
    yajl_gen_bool(g, 1);
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_OK, g);
}

static mhd_result post_rollback(weir_http_api *api, struct MHD_Connection *c)
{
    const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "savepoint");
    char err[512] = "";
    if (!id || !weir_store_id_valid(WEIR_STORE_SAVEPOINT, id, err, sizeof err))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                          id ? err : "name the savepoint: POST /rules/rollback?savepoint=ID");
    weir_restore_report rep;
    memset(&rep, 0, sizeof rep);
    int status = weir_server_rollback(api->srv, id, &rep, err, sizeof err);
    if (status != 200)
        return send_error(c, (unsigned)status,
                          status == 404   ? "no_such_savepoint"
                          : status == 409 ? "conflict"
                          : status == 503 ? "store_unavailable"
                                          : "internal",
                          err);
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "savepoint", id);
    weir_json_str(g, "rolled_back");
    yajl_gen_bool(g, 1);
    weir_json_kv_uint(g, "rules", weir_ruleset_rule_count(api->srv->rs));
    weir_json_kv_uint(g, "keys", rep.keys);
    weir_json_kv_uint(g, "held_events", rep.held_events);
    yajl_gen_map_close(g);
    return send_json(c, MHD_HTTP_OK, g);
}

/* ---- dispatch ------------------------------------------------------ */

static bool token_ok(weir_http_api *api, struct MHD_Connection *c)
{
    const char *want = api->srv->cfg->api_token;
    if (!want)
        return true;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *got = auth + 7;
    size_t wl = strlen(want), gl = strlen(got);
    /* compare every byte whatever the mismatch, so timing does not tell
     * how much of a guess was right */
    unsigned char diff = (unsigned char)(wl != gl);
    for (size_t i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
}

static bool is_mutating(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0;
}

static mhd_result method_not_allowed(struct MHD_Connection *c, const char *allow)
{
    yajl_gen g = weir_json_gen_new();
    yajl_gen_map_open(g);
    weir_json_kv_str(g, "error", "method not allowed");
    weir_json_kv_str(g, "code", "method_not_allowed");
    yajl_gen_map_close(g);
    size_t len = 0;
    char *body = weir_json_gen_finish(g, &len);
    if (!body)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_COPY);
    free(body);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    mhd_result ok = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
    MHD_destroy_response(r);
    return ok;
}

static mhd_result route(weir_http_api *api, struct MHD_Connection *c, const char *url,
                        const char *method, request *rq)
{
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    if (strcmp(url, "/healthz") == 0)
        return get ? get_healthz(api, c) : method_not_allowed(c, "GET");
    if (strcmp(url, "/readyz") == 0)
        return get ? get_readyz(api, c) : method_not_allowed(c, "GET");
    if (strcmp(url, "/metrics") == 0)
        return get ? get_metrics(api, c) : method_not_allowed(c, "GET");
    if (strcmp(url, "/rules") == 0)
        return get ? get_rules(api, c) : method_not_allowed(c, "GET");
    if (strcmp(url, "/rules/rollback") == 0)
        return post ? post_rollback(api, c) : method_not_allowed(c, "POST");
    if (strcmp(url, "/rules/validate") == 0)
        return post ? post_validate(api, c, rq) : method_not_allowed(c, "POST");
    if (strncmp(url, "/rules/", 7) == 0 && url[7] && !strchr(url + 7, '/')) {
        if (get)
            return get_rule(api, c, url + 7);
        if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
            return put_rule(api, c, rq, url + 7);
        if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
            return delete_rule(api, c, url + 7);
        return method_not_allowed(c, "GET, PUT, DELETE");
    }
    size_t ul = strlen(url);
    if (strncmp(url, "/rules/", 7) == 0 && ul > 12 && strcmp(url + ul - 5, "/test") == 0 &&
        !memchr(url + 7, '/', ul - 12)) {
        if (!post)
            return method_not_allowed(c, "POST");
        char name[256];
        if (ul - 12 >= sizeof name)
            return send_error(c, MHD_HTTP_NOT_FOUND, "no_such_rule", "no rule by that name");
        memcpy(name, url + 7, ul - 12);
        name[ul - 12] = '\0';
        return post_rule_test(api, c, rq, name);
    }
    if (strcmp(url, "/savepoints") == 0) {
        if (post)
            return post_savepoint(api, c);
        return get ? get_savepoints(api, c, NULL) : method_not_allowed(c, "GET, POST");
    }
    if (strncmp(url, "/savepoints/", 12) == 0 && url[12] && !strchr(url + 12, '/')) {
        if (get)
            return get_savepoints(api, c, url + 12);
        if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
            return delete_savepoint(api, c, url + 12);
        return method_not_allowed(c, "GET, DELETE");
    }
    if (strcmp(url, "/events") == 0)
        return post ? post_events(api, c, rq) : method_not_allowed(c, "POST");
    if (strcmp(url, "/alerts") == 0)
        return get ? get_alerts(api, c) : method_not_allowed(c, "GET");
    if (strcmp(url, "/alerts/stream") == 0)
        return get ? get_alert_stream(api, c) : method_not_allowed(c, "GET");
    return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
}

static mhd_result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                            const char *method, const char *version, const char *upload,
                            size_t *upload_size, void **con_cls)
{
    (void)version;
    weir_http_api *api = cls;
    request *rq = *con_cls;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        *con_cls = rq;
        if (is_mutating(method) && !token_ok(api, c)) {
            rq->answered = true;
            return send_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                              "this call needs 'Authorization: Bearer <api token>'");
        }
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t declared;
        if (cl && parse_uint(cl, &declared) && declared > api->srv->cfg->max_body) {
            rq->answered = true;
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                              "the body is larger than --max-body");
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (rq->answered || rq->too_large)
            return MHD_YES;
        if (rq->len + n > api->srv->cfg->max_body) {
            rq->too_large = true;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
            return MHD_YES;
        }
        if (!weir_grow_bytes(&rq->body, &rq->cap, rq->len + n + 1))
            return MHD_NO;
        memcpy(rq->body + rq->len, upload, n);
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    if (rq->too_large)
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large",
                          "the body is larger than --max-body");
    return route(api, c, url, method, rq);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* ---- life ---------------------------------------------------------- */

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

weir_http_api *weir_http_api_new(weir_server *srv, const char *host, uint16_t port, char *err,
                                 size_t err_cap)
{
    struct addrinfo *ai;
    if (weir_listen_addr(host, port, &ai, err, err_cap) != 0)
        return NULL;
    if (!srv->cfg->api_token && !is_loopback(ai->ai_addr)) {
        snprintf(err, err_cap,
                 "refusing to listen on %s, not a loopback address, without --api-token", host);
        freeaddrinfo(ai);
        return NULL;
    }
    weir_http_api *api = calloc(1, sizeof *api);
    if (!api) {
        freeaddrinfo(ai);
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    api->srv = srv;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    api->d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, api,
                              MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                              MHD_OPTION_NOTIFY_COMPLETED, completed_cb, api,
                              MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                              MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
                              MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!api->d) {
        snprintf(err, err_cap, "cannot listen on %s:%u: %s", host, port, strerror(errno));
        free(api);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->d, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *lfd = MHD_get_daemon_info(api->d, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (lfd && getsockname(lfd->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
        api->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)(void *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)(void *)&ss)->sin_port);
    api->io_ev = info ? event_new(srv->base, info->epoll_fd, EV_READ | EV_PERSIST, mhd_event_cb, api)
                      : NULL;
    api->timer_ev = evtimer_new(srv->base, mhd_event_cb, api);
    api->kick = evtimer_new(srv->base, mhd_event_cb, api);
    if (!api->io_ev || !api->timer_ev || !api->kick || event_add(api->io_ev, NULL) < 0) {
        snprintf(err, err_cap, "cannot watch the HTTP daemon");
        weir_http_api_free(api);
        return NULL;
    }
    run_mhd(api);
    return api;
}

void weir_http_api_free(weir_http_api *api)
{
    if (!api)
        return;
    weir_http_api_close_streams(api);
    if (api->d)
        MHD_stop_daemon(api->d); /* frees every stream through stream_free */
    while (api->streams)
        stream_free(api->streams);
    if (api->io_ev)
        event_free(api->io_ev);
    if (api->timer_ev)
        event_free(api->timer_ev);
    if (api->kick)
        event_free(api->kick);
    free(api);
}

uint16_t weir_http_api_port(const weir_http_api *api) { return api->port; }
