/* bench_snapshot.c — what a checkpoint of one engine costs: the time to
 * write its snapshot (ingestion pauses for that long at a barrier), its
 * size per live key, and the time to restore it (a restart).
 *
 *   bench_snapshot RULES EVENTS [STREAM]
 *
 * STREAM: the stream of events that name none (`weir run --stream`).
 * Pushes every event of EVENTS (JSON lines) through the rules, without
 * ending the input, so the state is what a running server holds; then
 * snapshots it three times and restores it three times, and prints the
 * best of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weir/engine.h"
#include "weir/ruleset.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: bench_snapshot RULES EVENTS [STREAM]\n");
        return 2;
    }
    weir_ruleset *rs = NULL;
    const char *paths[] = {argv[1]};
    if (weir_ruleset_compile(paths, 1, NULL, &rs) != WEIR_COMPILE_OK)
        return 1;
    weir_engine_options opt = {.default_stream = argc == 4 ? argv[3] : NULL};
    weir_engine *e = weir_engine_new(rs, &opt);
    FILE *f = fopen(argv[2], "r");
    if (!e || !f) {
        perror(argv[2]);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t no = 0;
    while ((n = getline(&line, &cap, f)) > 0)
        weir_engine_push(e, line, (size_t)(line[n - 1] == '\n' ? n - 1 : n), ++no);
    fclose(f);
    free(line);
    weir_engine_stats st;
    weir_engine_get_stats(e, &st);

    void *snap = NULL;
    size_t len = 0;
    double best_save = 1e9, best_load = 1e9;
    for (int i = 0; i < 3; i++) {
        free(snap);
        double t0 = now_s();
        if (weir_engine_snapshot(e, &snap, &len) != 0)
            return 1;
        double t = now_s() - t0;
        if (t < best_save)
            best_save = t;
    }
    weir_restore_report rep;
    for (int i = 0; i < 3; i++) {
        weir_engine *r = weir_engine_new(rs, &opt);
        char err[256];
        double t0 = now_s();
        if (weir_engine_restore(r, snap, len, &rep, err, sizeof err) != 0) {
            fprintf(stderr, "restore: %s\n", err);
            return 1;
        }
        double t = now_s() - t0;
        if (t < best_load)
            best_load = t;
        weir_engine_free(r);
    }
    printf("events %llu, keys %llu, partial matches %llu, held %llu\n",
           (unsigned long long)st.events, (unsigned long long)st.keys,
           (unsigned long long)st.partial_matches, (unsigned long long)st.held_events);
    printf("snapshot %.1f MB (%.0f bytes per key): written in %.3f s (%.0f MB/s, %.2f us per "
           "key), restored in %.3f s (%.0f MB/s)\n",
           (double)len / 1e6, st.keys ? (double)len / (double)st.keys : 0.0, best_save,
           (double)len / 1e6 / best_save, st.keys ? best_save * 1e6 / (double)st.keys : 0.0,
           best_load, (double)len / 1e6 / best_load);
    free(snap);
    weir_engine_free(e);
    weir_ruleset_free(rs);
    return 0;
}
