/* bench_decode.c — how fast the event decoder turns payment events into
 * records. Not a test (timings vary with the machine); run it by hand:
 *
 *   contrib/bench/bench_decode [EVENTS]        (default 1000000)
 *
 * It generates EVENTS distinct flat payment events of about 150 bytes, like
 * the ones measured in DEPENDENCIES.md section 7:
 *   {"id":"evt-0000000042","card":"4801589742238903","amount":4312.15,
 *    "merchant":"m97201","mcc":4749,"channel":"atm","country":"IN",
 *    "ts":1700000000042}
 * (10% of the amounts are integers), holds them in memory one after the
 * other, and decodes each of them once per run in three setups:
 *   all fields   every field read, each line copied into the decoder;
 *   rule fields  only what the fraud rules read (card, amount, merchant,
 *                country, ts), copied;
 *   zero-copy    rule fields, decoded in place (weir_decoder_decode_padded).
 * Each setup runs 3 times; the median run is printed. Times are the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy machine taking the
 * CPU away does not count as decoding; the wall-clock figure is printed
 * beside it. A checksum over the decoded values keeps the work from being
 * optimised away and must agree between setups that read the same fields. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile/expr.h"
#include "compile/plan.h"
#include "engine/decode.h"
#include "weir/ruleset.h"

static const char rules[] =
    "stream payments event time ts\n"
    "  { id string, card string, amount decimal, merchant string, mcc int,\n"
    "    channel string, country string, ts time }\n";
enum { F_ID, F_CARD, F_AMOUNT, F_MERCHANT, F_MCC, F_CHANNEL, F_COUNTRY, F_TS, N_FIELDS };

/* splitmix64: a small, good generator; the state is the caller's. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

typedef struct events {
    char *text;     /* every event, back to back, then padding */
    size_t *offset; /* n + 1 offsets into text */
    size_t n;
} events;

static int generate(events *ev, size_t n)
{
    static const char *const channels[] = {"pos", "ecom", "atm", "moto"};
    static const char *const countries[] = {"GB", "FR", "DE", "US", "IN", "BR", "NG", "JP"};
    size_t cap = n * 160 + WEIR_DECODE_PADDING;
    ev->text = malloc(cap);
    ev->offset = malloc((n + 1) * sizeof *ev->offset);
    if (!ev->text || !ev->offset)
        return -1;
    uint64_t rng = 42;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_random(&rng);
        char amount[32];
        if (r % 10 == 0)
            snprintf(amount, sizeof amount, "%" PRIu64, r % 5000);
        else
            snprintf(amount, sizeof amount, "%" PRIu64 ".%02" PRIu64, r % 5000, (r >> 13) % 100);
        uint64_t card = 4000000000000000u + next_random(&rng) % 1000000000000000u;
        int len = snprintf(ev->text + pos, cap - pos,
                           "{\"id\":\"evt-%010zu\",\"card\":\"%" PRIu64 "\",\"amount\":%s,"
                           "\"merchant\":\"m%05" PRIu64 "\",\"mcc\":%" PRIu64 ","
                           "\"channel\":\"%s\",\"country\":\"%s\",\"ts\":%" PRIu64 "}",
                           i, card, amount, (r >> 20) % 100000, 4000 + (r >> 40) % 1000,
                           channels[(r >> 50) % 4], countries[(r >> 53) % 8],
                           (uint64_t)1700000000000 + i * 37);
        ev->offset[i] = pos;
        pos += (size_t)len;
    }
    ev->offset[n] = pos;
    memset(ev->text + pos, ' ', WEIR_DECODE_PADDING);
    ev->n = n;
    return 0;
}

static double now_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct timing {
    double cpu, wall; /* seconds */
} timing;

/* One pass over every event. */
static timing run(weir_decoder *d, const events *ev, int zero_copy, uint64_t *checksum,
                  size_t *failures)
{
    weir_decoded out;
    uint64_t sum = 0;
    size_t failed = 0;
    timing start = {now_seconds(CLOCK_THREAD_CPUTIME_ID), now_seconds(CLOCK_MONOTONIC)};
    for (size_t i = 0; i < ev->n; i++) {
        const char *line = ev->text + ev->offset[i];
        size_t len = ev->offset[i + 1] - ev->offset[i];
        weir_decode_status st =
            zero_copy ? weir_decoder_decode_padded(d, line, len,
                                                   len + WEIR_DECODE_PADDING, &out)
                      : weir_decoder_decode(d, line, len, &out);
        if (st != WEIR_DECODE_OK) {
            failed++;
            continue;
        }
        sum += (uint64_t)out.fields[F_AMOUNT].u.dec + (uint64_t)out.ts +
               out.fields[F_CARD].len + (unsigned char)out.fields[F_COUNTRY].u.s[0];
    }
    timing took = {now_seconds(CLOCK_THREAD_CPUTIME_ID) - start.cpu,
                   now_seconds(CLOCK_MONOTONIC) - start.wall};
    *checksum = sum;
    *failures = failed;
    return took;
}

static int by_cpu(const void *a, const void *b)
{
    double x = ((const timing *)a)->cpu, y = ((const timing *)b)->cpu;
    return (x > y) - (x < y);
}

static int bench(const char *name, weir_decoder *d, const events *ev, int zero_copy)
{
    timing times[3];
    uint64_t checksum = 0;
    size_t failures = 0;
    for (int r = 0; r < 3; r++)
        times[r] = run(d, ev, zero_copy, &checksum, &failures);
    qsort(times, 3, sizeof times[0], by_cpu);
    double t = times[1].cpu, n = (double)ev->n;
    double bytes = (double)ev->offset[ev->n];
    printf("%-12s %7.1f ns/event %10.0f events/s %6.0f MB/s  (wall %6.1f ns/event)  "
           "checksum %016" PRIx64 "%s\n",
           name, t * 1e9 / n, n / t, bytes / t / 1e6, times[1].wall * 1e9 / n, checksum,
           failures ? "  FAILURES" : "");
    return failures ? -1 : 0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    if (n == 0) {
        fprintf(stderr, "usage: %s [EVENTS]\n", argv[0]);
        return 2;
    }
    events ev = {0};
    weir_ruleset *rs = NULL;
    weir_compile_options opt = {0};
    weir_decoder *all = NULL, *some = NULL;
    int status = 1;
    if (generate(&ev, n) < 0) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    if (weir_ruleset_compile_text("bench.weir", rules, sizeof rules - 1, &opt, &rs) !=
        WEIR_COMPILE_OK)
        goto done;
    static const bool rule_fields[N_FIELDS] = {[F_CARD] = true, [F_AMOUNT] = true,
                                               [F_MERCHANT] = true, [F_COUNTRY] = true};
    const bool *used[] = {rule_fields};
    all = weir_decoder_new(rs->streams, 1, NULL, NULL);
    some = weir_decoder_new(rs->streams, 1, used, NULL);
    if (!all || !some)
        goto done;
    printf("%zu events, %.1f bytes on average\n", n, (double)ev.offset[n] / (double)n);
    status = 0;
    status |= bench("all fields", all, &ev, 0);
    status |= bench("rule fields", some, &ev, 0);
    status |= bench("zero-copy", some, &ev, 1);
done:
    weir_decoder_free(all);
    weir_decoder_free(some);
    weir_ruleset_free(rs);
    free(ev.text);
    free(ev.offset);
    return status ? 1 : 0;
}
