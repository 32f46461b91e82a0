/* bench_window.c — throughput of the window runtime, printed, never
 * asserted.
 *
 * Runs card_velocity (sliding 1h every 5m, count() and sum(amount), a
 * `when` and an emit body) over synthetic payments: N events (default 10M),
 * one every 10 ms of event time, on K cards (default 100k) drawn by a fixed
 * pseudo-random sequence, amounts from 0.01 to 200.00. One key object per
 * card in a plain array stands in for the engine's key table. The timer of
 * each key is driven lazily: before an event is added, its key is advanced
 * to the event's time if that passed the key's deadline (the work per fired
 * window is the same as with a timer wheel); at the end every key is
 * flushed. The events are generated before the clock starts.
 *
 *     contrib/bench/bench_window [events [cards]] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "compile/plan.h"
#include "compile/window_plan.h"
#include "engine/window_run.h"
#include "weir/ruleset.h"

static const char rule_text[] =
    "stream payments event time ts { card string, amount decimal, ts time }\n"
    "rule card_velocity on payments by card\n"
    "  window sliding 1h every 5m\n"
    "  when count() > 20 or sum(amount) > 5000\n"
    "  emit { card, txns: count(), total: sum(amount) }\n";

enum { F_CARD, F_AMOUNT, F_TS, N_FIELDS };

/* A card number and its length on one cache line's worth of bytes. */
typedef struct card_name {
    char s[31];
    unsigned char len;
} card_name;

typedef struct counts {
    uint64_t alerts;
} counts;

static void on_alert(const weir_window_fired *w, void *user)
{
    (void)w;
    ((counts *)user)->alerts++;
}

static void print_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    fputs(d->rendered, stderr);
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of this process: the figure to trust on a busy machine. */
static double cpu_s(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: cheap, fixed, good enough to scatter cards */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

int main(int argc, char **argv)
{
    size_t n_events = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    size_t n_cards = argc > 2 ? strtoull(argv[2], NULL, 10) : 100000;
    if (n_events == 0 || n_cards == 0) {
        fprintf(stderr, "usage: %s [events [cards]]\n", argv[0]);
        return 2;
    }

    weir_compile_options opt = {.diag = print_diag};
    weir_ruleset *rs = NULL;
    if (weir_ruleset_compile_text("bench.weir", rule_text, sizeof rule_text - 1, &opt, &rs) !=
        WEIR_COMPILE_OK)
        return 1;
    const weir_window_plan *plan = rs->rules[0].window;

    weir_window_runtime *rt = weir_window_runtime_new(plan);
    weir_window_key **keys = calloc(n_cards, sizeof *keys);
    card_name *names = calloc(n_cards, sizeof *names);
    uint32_t *ev_card = malloc(n_events * sizeof *ev_card);
    int32_t *ev_cents = malloc(n_events * sizeof *ev_cents);
    if (!rt || !keys || !names || !ev_card || !ev_cents) {
        fputs("out of memory\n", stderr);
        return 1;
    }
    for (size_t c = 0; c < n_cards; c++) {
        int len = snprintf(names[c].s, sizeof names[c].s, "card-%07zu", c);
        names[c].len = (unsigned char)(len < (int)sizeof names[c].s ? len : 0);
        if (!(keys[c] = weir_window_key_new(rt))) {
            fputs("out of memory\n", stderr);
            return 1;
        }
    }
    uint64_t seed = UINT64_C(0x9E3779B97F4A7C15);
    for (size_t i = 0; i < n_events; i++) {
        uint64_t r = next_rand(&seed);
        ev_card[i] = (uint32_t)((r >> 32) % n_cards);
        ev_cents[i] = (int32_t)(r % 20000) + 1;
    }

    const weir_millis t0 = INT64_C(1704067200000); /* 2024-01-01 */
    counts cnt = {0};
    uint64_t refused = 0;
    size_t peak_bytes = 0;
    weir_value ev[N_FIELDS];
    double start = now_s(), cpu_start = cpu_s();
    for (size_t i = 0; i < n_events; i++) {
        uint32_t c = ev_card[i];
        weir_window_key *k = keys[c];
        weir_millis ts = t0 + (weir_millis)i * 10;
        if (ts >= weir_window_key_next_deadline(k))
            weir_window_advance(rt, k, NULL, ts, on_alert, &cnt);
        ev[F_CARD] = weir_value_string(names[c].s, names[c].len);
        ev[F_AMOUNT] = weir_value_decimal((int64_t)ev_cents[i] * 100);
        ev[F_TS] = weir_value_millis(ts);
        refused += weir_window_add(rt, k, ev, ts, i, on_alert, &cnt) != WEIR_WINDOW_TAKEN;
    }
    double fed = now_s(), cpu_fed = cpu_s();
    /* memory held by the keys before the final flush */
    for (size_t c = 0; c < n_cards; c++)
        peak_bytes += weir_window_key_bytes(keys[c]);
    double flush_start = now_s(), cpu_flush_start = cpu_s();
    uint64_t flushed = 0;
    for (size_t c = 0; c < n_cards; c++)
        flushed += weir_window_advance(rt, keys[c], NULL, INT64_MAX, on_alert, &cnt);
    double end = now_s(), cpu_end = cpu_s();

    double secs = (fed - start) + (end - flush_start);
    double cpu_secs = (cpu_fed - cpu_start) + (cpu_end - cpu_flush_start);
    printf("bench_window: sliding 1h every 5m, count() + sum(amount), when + emit\n");
    printf("  events          %zu (%.1f h of event time)\n", n_events,
           (double)n_events * 10 / 3.6e6);
    printf("  cards           %zu\n", n_cards);
    printf("  refused         %" PRIu64 "\n", refused);
    printf("  alerts          %" PRIu64 " (%" PRIu64 " at the final flush)\n", cnt.alerts,
           flushed);
    printf("  key state       %.1f MiB before the flush (%.0f bytes per card)\n",
           (double)peak_bytes / (1024.0 * 1024.0), (double)peak_bytes / (double)n_cards);
    printf("  time            %.3f s (feed %.3f s, flush %.3f s)\n", secs, fed - start,
           end - flush_start);
    printf("  cpu time        %.3f s\n", cpu_secs);
    printf("  throughput      %.2f M events/s (%.2f M per CPU second)\n",
           (double)n_events / secs / 1e6, (double)n_events / cpu_secs / 1e6);

    for (size_t c = 0; c < n_cards; c++)
        weir_window_key_free(rt, keys[c]);
    weir_window_runtime_free(rt);
    weir_ruleset_free(rs);
    free(keys);
    free(names);
    free(ev_card);
    free(ev_cents);
    return refused == 0 ? 0 : 1;
}
