/* bench_store.c — how fast the checkpoint stores write and read back a
 * checkpoint of several parts, and how long a write keeps the caller's
 * event loop from running (the longest gap between ticks of a 1 ms timer
 * while the put is in flight).
 *
 *   bench_store [-m MB] [-p PARTS] [-r RUNS] [-d DIR] [-R host:port]
 *
 * Without -R it starts a redis-server of its own on a free loopback port
 * (no persistence) and stops it at the end; without -d it uses a fresh
 * directory under $TMPDIR. It prints one line per store and mode with the
 * median of the runs. A benchmark, not a test: it asserts nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "state/store.h"

#define MAX_RUNS 15

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* ---- the loop-stall probe */

typedef struct probe {
    struct event *ev;
    double last, max_gap;
} probe;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    probe *p = arg;
    double t = now_s();
    if (t - p->last > p->max_gap)
        p->max_gap = t - p->last;
    p->last = t;
}

typedef struct done {
    int calls, ok;
    char error[512];
} done;

static void on_done(void *user, int ok, const char *error)
{
    done *d = user;
    d->calls++;
    d->ok = ok;
    snprintf(d->error, sizeof d->error, "%s", error ? error : "");
}

/* One put; returns seconds until the callback, and the loop's longest
 * stall and the time spent inside weir_store_put itself. */
static double timed_put(weir_store *s, struct event_base *base, const char *id,
                        const weir_store_part *parts, size_t n, double *stall, double *in_put)
{
    probe p = {.last = now_s()};
    struct timeval tick = {0, 1000};
    if (base) {
        p.ev = event_new(base, -1, EV_PERSIST, on_tick, &p);
        event_add(p.ev, &tick);
    }
    done d = {0};
    char err[256];
    double t0 = now_s();
    if (weir_store_put(s, WEIR_STORE_CHECKPOINT, id, parts, n, on_done, &d, err, sizeof err) < 0) {
        fprintf(stderr, "put: %s\n", err);
        exit(1);
    }
    *in_put = now_s() - t0;
    p.last = now_s();
    if (*in_put > p.max_gap)
        p.max_gap = *in_put;
    while (base && d.calls == 0)
        event_base_loop(base, EVLOOP_ONCE);
    double t = now_s() - t0;
    if (p.ev)
        event_free(p.ev);
    if (d.ok != 0) {
        fprintf(stderr, "put failed: %s\n", d.error);
        exit(1);
    }
    *stall = p.max_gap;
    return t;
}

static double timed_get(weir_store *s, const char *id, size_t expect)
{
    weir_store_read rd;
    char err[512];
    double t0 = now_s();
    if (weir_store_get(s, WEIR_STORE_CHECKPOINT, id, &rd, err, sizeof err) != 0) {
        fprintf(stderr, "get: %s\n", err);
        exit(1);
    }
    double t = now_s() - t0;
    size_t total = 0;
    for (size_t i = 0; i < rd.n_parts; i++)
        total += rd.parts[i].len;
    if (total != expect) {
        fprintf(stderr, "get: %zu bytes, expected %zu\n", total, expect);
        exit(1);
    }
    weir_store_read_free(&rd);
    return t;
}

/* The figures of one store and mode over the runs. */
typedef struct series {
    char label[48];
    weir_store *s;
    struct event_base *base; /* NULL: writes inside put() */
    double put[MAX_RUNS], get[MAX_RUNS], stall[MAX_RUNS], in_put[MAX_RUNS];
} series;

static void measure(series *m, int i, const weir_store_part *parts, size_t n, size_t total)
{
    char id[16];
    snprintf(id, sizeof id, "%d", 101 + i);
    m->put[i] = timed_put(m->s, m->base, id, parts, n, &m->stall[i], &m->in_put[i]);
    m->get[i] = timed_get(m->s, id, total);
}

static void report(series *m, int runs, size_t total)
{
    double mb = (double)total / 1e6;
    double pt = median(m->put, runs), gt = median(m->get, runs);
    printf("%-22s write %7.1f MB/s (%6.3f s)  read %7.1f MB/s (%6.3f s)  in put() %6.3f s  "
           "longest loop stall %6.3f s\n",
           m->label, mb / pt, pt, mb / gt, gt, median(m->in_put, runs), median(m->stall, runs));
}

/* ---- a private redis-server */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        perror("free port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t start_redis(int port)
{
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execlp("redis-server", "redis-server", "--port", port_s, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", "/tmp", (char *)NULL);
        fprintf(stderr, "cannot run redis-server: %s\n", strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        struct timeval tv = {0, 200000};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
        bool up = c && !c->err;
        if (c)
            redisFree(c);
        if (up)
            return pid;
        usleep(25000);
    }
    fprintf(stderr, "redis-server did not start\n");
    kill(pid, SIGKILL);
    exit(1);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    size_t mb = 100;
    size_t n_parts = 4;
    int runs = 3;
    const char *dir = NULL, *redis = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "m:p:r:d:R:")) != -1) {
        switch (opt) {
        case 'm': mb = (size_t)atol(optarg); break;
        case 'p': n_parts = (size_t)atol(optarg); break;
        case 'r': runs = atoi(optarg); break;
        case 'd': dir = optarg; break;
        case 'R': redis = optarg; break;
        default:
            fprintf(stderr, "usage: %s [-m MB] [-p PARTS] [-r RUNS] [-d DIR] [-R host:port]\n",
                    argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > MAX_RUNS || n_parts < 1 || n_parts > 64 || mb < 1) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    /* The checkpoint: n_parts parts of equal size, random bytes. */
    size_t total = mb * 1000 * 1000, each = total / n_parts;
    total = each * n_parts;
    unsigned char *data = malloc(total);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < total; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(data + i, &x, total - i < 8 ? total - i : 8);
    }
    weir_store_part parts[64];
    char names[64][16];
    for (size_t i = 0; i < n_parts; i++) {
        snprintf(names[i], sizeof names[i], "shard-%zu", i);
        parts[i] = (weir_store_part){names[i], data + i * each, each};
    }
    printf("checkpoint: %zu parts, %.1f MB in all; median of %d runs\n", n_parts, total / 1e6,
           runs);

    char tmpdir[256] = "";
    if (!dir) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/weir-bench-store.XXXXXX", t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            return 1;
        }
        dir = tmpdir;
    }
    char err[256];
    struct event_base *base = event_base_new();
    pid_t pid = 0;
    char url[300];
    if (redis) {
        snprintf(url, sizeof url, "redis://%s", redis);
    } else {
        int port = free_port();
        pid = start_redis(port);
        snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    }

    /* Every store and mode, measured in turn within each run, so that the
     * load of a shared machine and the state of the page cache fall on all
     * of them alike. */
    series m[5] = {{.label = "dir, in put()"}, {.label = "dir, worker thread", .base = base}};
    weir_store_options o = {.job = "bench-inline", .keep = 2};
    m[0].s = weir_store_open_dir(dir, &o, err, sizeof err);
    o.job = "bench-worker";
    o.base = base;
    m[1].s = m[0].s ? weir_store_open_dir(dir, &o, err, sizeof err) : NULL;
    size_t chunks[] = {1 << 20, 4 << 20, 16 << 20};
    for (int c = 0; c < 3; c++) {
        weir_store_options ro = {.job = "bench", .keep = 2, .base = base, .timeout_ms = 30000,
                                 .chunk_size = chunks[c]};
        snprintf(m[2 + c].label, sizeof m[2 + c].label, "redis, %zu MiB chunks", chunks[c] >> 20);
        m[2 + c].base = base;
        m[2 + c].s = m[1 + c].s ? weir_store_open(url, &ro, err, sizeof err) : NULL;
    }
    if (!m[4].s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (int k = 0; k < 5; k++) {
        /* One unmeasured round first: no mode pays for a cold cache or for
         * making its connection. */
        double ignore;
        timed_put(m[k].s, m[k].base, "100", parts, n_parts, &ignore, &ignore);
        timed_get(m[k].s, "100", total);
    }
    for (int i = 0; i < runs; i++)
        for (int k = 0; k < 5; k++)
            measure(&m[k], i, parts, n_parts, total);
    for (int k = 0; k < 5; k++) {
        report(&m[k], runs, total);
        weir_store_free(m[k].s);
    }
    if (pid) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (tmpdir[0])
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    event_base_free(base);
    free(data);
    return 0;
}
