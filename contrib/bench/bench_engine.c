/* bench_engine.c — how fast the whole engine runs: JSON lines in memory
 * through decode, watermarks, keys and rules, to alerts.
 *
 *   bench_engine [-m] [-r REPEAT] [-s STREAM] -e FILE RULES...
 *
 * Reads FILE (JSON lines, e.g. from contrib/weir-gen) into memory first,
 * so the figure is the engine's, not the disk's; then pushes every line,
 * finishes, and prints events/s, ns per event, alerts, peak keys and
 * partial matches, and the process's peak RSS. Single-threaded. With
 * -r N the run is done N times and the best is reported; -s names the
 * stream of events without a "stream" member (weir run --stream). With -m
 * (memory) the file is read line by line as weir run reads it, so the
 * peak RSS is the engine's and the program's alone; its times include
 * reading. */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "weir/engine.h"
#include "weir/ruleset.h"

#define PADDING 64

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: on a busy machine wall time also counts the
 * time other processes took, CPU time only ours. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_alert(void *user, const weir_alert *a)
{
    (void)a;
    (*(uint64_t *)user)++;
}

/* -m: every line of f pushed from a buffer with PADDING readable bytes
 * after it. Returns the lines pushed, or SIZE_MAX when out of memory. */
static size_t push_streaming(weir_engine *e, FILE *f)
{
    char *line = NULL, *padded = NULL;
    size_t line_cap = 0, padded_cap = 0, n = 0;
    ssize_t len;
    while ((len = getline(&line, &line_cap, f)) != -1) {
        if (len && line[len - 1] == '\n')
            len--;
        if (!len)
            continue;
        if ((size_t)len + PADDING > padded_cap) {
            padded_cap = (size_t)len + PADDING;
            char *p = realloc(padded, padded_cap);
            if (!p) {
                n = SIZE_MAX;
                break;
            }
            padded = p;
        }
        memcpy(padded, line, (size_t)len);
        memset(padded + len, 0, PADDING);
        weir_engine_push_padded(e, padded, (size_t)len, ++n);
    }
    free(line);
    free(padded);
    return n;
}

static void print_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    fputs(d->rendered, stderr);
}

int main(int argc, char **argv)
{
    const char *events = NULL, *stream = NULL;
    int repeat = 1;
    bool streaming = false;
    int c;
    while ((c = getopt(argc, argv, "e:mr:s:")) != -1) {
        if (c == 'e')
            events = optarg;
        else if (c == 'm')
            streaming = true;
        else if (c == 's')
            stream = optarg;
        else if (c == 'r')
            repeat = atoi(optarg);
        else
            return 2;
    }
    if (!events || optind >= argc || repeat < 1) {
        fputs("usage: bench_engine [-m] [-r REPEAT] [-s STREAM] -e EVENTS.jsonl RULES...\n",
              stderr);
        return 2;
    }
    FILE *f = fopen(events, "rb");
    if (!f) {
        perror(events);
        return 2;
    }
    if (streaming)
        repeat = 1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* split into lines in place; each line keeps >= PADDING readable bytes
     * after it (the next lines, or the zeroed tail) */
    char *buf = calloc(1, (streaming ? 0 : (size_t)size) + PADDING);
    if (!buf || (!streaming && fread(buf, 1, (size_t)size, f) != (size_t)size)) {
        perror("reading events");
        return 2;
    }
    size_t n_lines = 0;
    for (long i = 0; !streaming && i < size; i++)
        n_lines += buf[i] == '\n';
    const char **lines = malloc((n_lines + 1) * sizeof *lines);
    size_t *lens = malloc((n_lines + 1) * sizeof *lens);
    size_t n = 0;
    for (char *p = buf, *end = buf + (streaming ? 0 : size); p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len) {
            lines[n] = p;
            lens[n++] = len;
        }
        p += len + 1;
    }

    weir_compile_options copt = {.diag = print_diag, .no_warnings = true};
    weir_ruleset *rs = NULL;
    if (weir_ruleset_compile((const char *const *)argv + optind, (size_t)(argc - optind), &copt,
                             &rs) != WEIR_COMPILE_OK)
        return 1;

    double best = 1e30, best_cpu = 1e30;
    weir_engine_stats stats = {0};
    uint64_t alerts = 0;
    for (int r = 0; r < repeat; r++) {
        alerts = 0;
        weir_engine_options opt = {.on_alert = count_alert, .alert_user = &alerts,
                                   .default_stream = stream};
        weir_engine *e = weir_engine_new(rs, &opt);
        if (!e) {
            fputs("bench_engine: cannot start the engine (unknown -s stream?)\n", stderr);
            return 2;
        }
        double t0 = now_seconds(), c0 = cpu_seconds();
        if (streaming) {
            n = push_streaming(e, f);
            if (n == SIZE_MAX) {
                fputs("bench_engine: out of memory\n", stderr);
                return 2;
            }
        }
        for (size_t i = 0; !streaming && i < n; i++)
            weir_engine_push_padded(e, lines[i], lens[i], i + 1);
        weir_engine_finish(e);
        double dt = now_seconds() - t0, dc = cpu_seconds() - c0;
        if (dc < best_cpu)
            best_cpu = dc;
        weir_engine_get_stats(e, &stats);
        weir_engine_free(e);
        if (dt < best)
            best = dt;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("events          %zu (%.1f MB of JSON, %.0f B/event)\n", n, (double)size / 1e6,
           (double)size / (double)(n ? n : 1));
    printf("rules           %zu\n", weir_ruleset_rule_count(rs));
    printf("time            %.3f s wall, %.3f s CPU (best of %d)\n", best, best_cpu, repeat);
    printf("events/s        %.0f (wall), %.0f (CPU)\n", (double)n / best, (double)n / best_cpu);
    printf("ns/event        %.1f (wall), %.1f (CPU)\n", best * 1e9 / (double)(n ? n : 1),
           best_cpu * 1e9 / (double)(n ? n : 1));
    printf("alerts          %" PRIu64 " (throttled %" PRIu64 ")\n", alerts, stats.throttled);
    printf("dead letters    %" PRIu64 ", late %" PRIu64 "\n", stats.dead_letters, stats.late);
    printf("peak keys       %" PRIu64 "\n", stats.peak_keys);
    printf("timers fired    %" PRIu64 "\n", stats.timers_fired);
    printf("peak partials   %" PRIu64 "\n", stats.peak_partial_matches);
    if (streaming)
        printf("peak RSS        %.1f MB (input read line by line)\n",
               (double)ru.ru_maxrss / 1024.0);
    else
        printf("peak RSS        %.1f MB (input held in memory: %.1f MB)\n",
               (double)ru.ru_maxrss / 1024.0, (double)size / 1e6);
    weir_ruleset_free(rs);
    free(lines);
    free(lens);
    free(buf);
    if (f)
        fclose(f);
    return 0;
}
