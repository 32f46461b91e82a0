/* main.c — weir-gen: deterministic synthetic event streams with planted
 * fraud, for benchmarks and demos of the rules in rules/fraud/.
 *
 * The same arguments give the same bytes. Usage errors exit 2 with a
 * message; a failed write or allocation exits 1. At the end it prints, and
 * with --expect writes, how many alerts each rule must raise on the data.
 * See doc/weir-gen.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "background.h"
#include "names.h"
#include "output.h"
#include "scenario.h"
#include "timefmt.h"
#include "traffic.h"
#include "world.h"

#define PROG "weir-gen"

enum {
    EXIT_USAGE = 2,
    HOUR_MS = 3600000,
};
#define HISTORY_MS ((int64_t)151 * 24 * HOUR_MS)

/* X(id, long name, takes an argument, metavar, help) — drives getopt and --help. */
#define OPTIONS(X)                                                                          \
    X(cards, "cards", 1, "N", "number of cards, 1 to 100000000 (required)")                 \
    X(events, "events", 1, "M", "number of lines to write, 0 to 10^11 (required)")          \
    X(seed, "seed", 1, "S", "seed, 0 to 2^64-1 (required): same arguments, same bytes")     \
    X(start, "start", 1, "TIME",                                                            \
      "time of the first live event: ms since the epoch or RFC 3339\n"                      \
      "                        (default 1700000000000, that is 2023-11-14T22:13:20Z)")      \
    X(streams, "streams", 1, "S",                                                           \
      "all (the default): every stream of rules/fraud/, each line with\n"                   \
      "                        its \"stream\"; payments: card payments only")               \
    X(fraud_rate, "fraud-rate", 1, "R",                                                     \
      "share of keys (cards, accounts...) with a scenario, 0 to 0.5\n"                      \
      "                        (default 0.001): half fraud, half near-misses")              \
    X(time_format, "time-format", 1, "F",                                                   \
      "ts as ms (integer ms since the epoch, the default) or\n"                             \
      "                        rfc3339 (\"2023-11-14T22:13:20.000Z\")")                     \
    X(truth, "truth", 1, "FILE", "also write the planted scenarios to FILE, as JSON lines") \
    X(expect, "expect", 1, "FILE", "also write the alerts each rule must raise to FILE")    \
    X(quiet, "quiet", 0, "", "no summary on stderr")                                        \
    X(help, "help", 0, "", "show this help and exit")

enum option_id {
    OPT_NONE = 256,
#define OPTION_ID(id, name, arg, meta, help) OPT_##id,
    OPTIONS(OPTION_ID)
#undef OPTION_ID
};

typedef struct settings {
    uint32_t cards;
    uint64_t events;
    uint64_t seed;
    int64_t start;
    double fraud_rate;
    gen_time_style time_style;
    uint32_t streams; /* GEN_BIT()s */
    const char *truth;
    const char *expect;
    bool quiet;
    bool have_cards, have_events, have_seed;
} settings;

static void usage(FILE *out)
{
    fputs("usage: " PROG " --cards N --events M --seed S [--start TIME] [--streams all|payments]\n"
          "                [--fraud-rate R] [--time-format ms|rfc3339] [--truth FILE]\n"
          "                [--expect FILE] [--quiet]\n"
          "Writes synthetic events of the streams of rules/fraud/ as JSON lines on\n"
          "stdout, with planted fraud for every rule and near-misses that must not\n"
          "alert; a summary with the alerts each rule must raise goes to stderr.\n\n",
          out);
#define OPTION_HELP(id, name, arg, meta, help)                                             \
    {                                                                                      \
        char flag[32];                                                                     \
        snprintf(flag, sizeof flag, "--%s%s%s", name, *meta ? " " : "", meta);             \
        fprintf(out, "  %-22s%s\n", flag, help);                                           \
    }
    OPTIONS(OPTION_HELP)
#undef OPTION_HELP
    fputs("\nPlanted scenarios (alerts each should raise):\n", out);
    for (int k = 0; k < GEN_N_KINDS; k++)
        fprintf(out, "  %-31s %s %" PRIu32 ": %s\n", gen_kinds[k].name,
                gen_rule_names[gen_kinds[k].rule], gen_kinds[k].alerts, gen_kinds[k].what);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help'.\n", stderr);
    return EXIT_USAGE;
}

/* A decimal integer in [lo, hi]: digits only, no sign, no spaces. */
static int parse_uint(const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!*text || strspn(text, "0123456789") != strlen(text))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_rate(const char *text, double *out)
{
    if (!*text || strspn(text, "0123456789.") != strlen(text))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*end || errno || !(v >= 0 && v <= 0.5))
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, settings *s)
{
    static const struct option longopts[] = {
#define OPTION_LONG(id, name, arg, meta, help) {name, arg ? required_argument : no_argument, NULL, OPT_##id},
        OPTIONS(OPTION_LONG)
#undef OPTION_LONG
        {NULL, 0, NULL, 0},
    };

    *s = (settings){.start = 1700000000000, .fraud_rate = 0.001, .time_style = GEN_TIME_MS,
                    .streams = GEN_ALL_STREAMS};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case OPT_cards:
            if (parse_uint(optarg, 1, GEN_MAX_CARDS, &v) != 0)
                return usage_error("--cards: '%s' is not a whole number from 1 to 100000000",
                                   optarg);
            s->cards = (uint32_t)v;
            s->have_cards = true;
            break;
        case OPT_events:
            if (parse_uint(optarg, 0, UINT64_C(100000000000), &v) != 0)
                return usage_error("--events: '%s' is not a whole number from 0 to 10^11",
                                   optarg);
            s->events = v;
            s->have_events = true;
            break;
        case OPT_seed:
            if (parse_uint(optarg, 0, UINT64_MAX, &v) != 0)
                return usage_error("--seed: '%s' is not a whole number from 0 to 2^64-1",
                                   optarg);
            s->seed = v;
            s->have_seed = true;
            break;
        case OPT_start:
            if (gen_time_parse(optarg, &s->start) != 0 || s->start < 0)
                return usage_error("--start: '%s' is not a time from 1970 on, in ms since the "
                                   "epoch or RFC 3339 (2023-11-14T22:13:20Z)",
                                   optarg);
            break;
        case OPT_fraud_rate:
            if (parse_rate(optarg, &s->fraud_rate) != 0)
                return usage_error("--fraud-rate: '%s' is not a decimal number from 0 to 0.5",
                                   optarg);
            break;
        case OPT_time_format:
            if (strcmp(optarg, "ms") == 0)
                s->time_style = GEN_TIME_MS;
            else if (strcmp(optarg, "rfc3339") == 0)
                s->time_style = GEN_TIME_RFC3339;
            else
                return usage_error("--time-format: '%s' is neither ms nor rfc3339", optarg);
            break;
        case OPT_streams:
            if (strcmp(optarg, "all") == 0)
                s->streams = GEN_ALL_STREAMS;
            else if (strcmp(optarg, "payments") == 0)
                s->streams = GEN_BIT(payments);
            else
                return usage_error("--streams: '%s' is neither all nor payments", optarg);
            break;
        case OPT_truth:
            s->truth = optarg;
            break;
        case OPT_expect:
            s->expect = optarg;
            break;
        case OPT_quiet:
            s->quiet = true;
            break;
        case 'h':
        case OPT_help:
            usage(stdout);
            exit(0);
        case ':':
            return usage_error("%s needs a value", argv[optind - 1]);
        default:
            if (optopt)
                return usage_error("unknown option '-%c'", optopt);
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!s->have_cards || !s->have_events || !s->have_seed)
        return usage_error("--cards, --events and --seed are required (missing: %s)",
                           !s->have_cards ? "--cards" : !s->have_events ? "--events" : "--seed");
    /* dormant accounts' history goes back 150 days before --start */
    if ((s->streams & GEN_BIT(account_transactions)) && s->start < HISTORY_MS)
        return usage_error("--start: with --streams all, the first event is at least 151 days "
                           "after 1970 (dormant accounts' history goes back 150 days)");
    return 0;
}

static void print_time(FILE *f, int64_t ms)
{
    char t[GEN_RFC3339_LEN];
    gen_time_format(ms, t);
    fprintf(f, "%.*s", GEN_RFC3339_LEN, t);
}

/* The name of the key a scenario's rule is keyed by. */
static size_t key_name(const gen_world *w, const gen_names *names, const gen_scenario *sc,
                       char *out)
{
    uint32_t streams = gen_kinds[sc->kind].streams;
    if (streams & GEN_BIT(payments)) {
        gen_card_token(w, sc->owner, out);
        return 16;
    }
    gen_ns ns = streams & GEN_BIT(customer_orders)  ? GEN_NS_CUSTOMER
                : streams & GEN_BIT(device_payments) ? GEN_NS_DEVICE
                : streams & GEN_BIT(login_attempts)  ? GEN_NS_IP
                                                     : GEN_NS_ACCOUNT;
    return gen_name(names, ns, sc->owner, out);
}

static int write_truth(const char *path, const gen_world *w, const gen_names *names,
                       const gen_plan *plan)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < plan->n_scenarios; i++) {
        const gen_scenario *s = &plan->scenarios[i];
        const gen_kind_info *k = &gen_kinds[s->kind];
        char key[GEN_NAME_MAX + 1];
        size_t len = key_name(w, names, s, key);
        fprintf(f,
                "{\"kind\":\"%s\",\"rule\":\"%s\",\"alerts\":%" PRIu32 ",\"key\":\"%.*s\","
                "\"events\":%zu,\"first_ts\":%" PRId64 ",\"last_ts\":%" PRId64 "}\n",
                k->name, gen_rule_names[k->rule], k->alerts, (int)len, key, s->count, s->start,
                s->end);
    }
    int failed = ferror(f);
    return fclose(f) != 0 || failed ? -1 : 0;
}

static int write_expect(const char *path, const gen_plan *plan)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    uint64_t expected[GEN_N_RULES];
    gen_plan_expected(plan, expected);
    for (int r = 0; r < GEN_N_RULES; r++)
        fprintf(f, "%s %" PRIu64 "\n", gen_rule_names[r], expected[r]);
    int failed = ferror(f);
    return fclose(f) != 0 || failed ? -1 : 0;
}

static void print_summary(const settings *s, const gen_plan *plan, const gen_traffic_stats *st,
                          int64_t span)
{
    FILE *f = stderr;
    fprintf(f, PROG ": %" PRIu64 " events: %" PRIu64 " normal on %" PRIu32 " cards, %" PRIu64
               " planted; seed %" PRIu64 "\n",
            st->written, st->normal, s->cards, st->planted, s->seed);
    if (st->written) {
        fprintf(f, PROG ": from ");
        print_time(f, st->first_ts);
        fprintf(f, " to ");
        print_time(f, st->last_ts);
        fprintf(f, " (%.1f h of live traffic); %" PRIu64 " out of order (%.1f%%), by %" PRId64
                   " ms at most\n",
                (double)span / HOUR_MS, st->out_of_order,
                100.0 * (double)st->out_of_order / (double)st->written, st->max_behind);
    }
    if (s->streams != GEN_BIT(payments)) {
        fprintf(f, PROG ": per stream:");
        for (int i = 0; i < GEN_N_STREAMS; i++)
            fprintf(f, "%s %s %" PRIu64, i ? "," : "", gen_stream_names[i], st->per_stream[i]);
        fputc('\n', f);
    }
    if (plan->n_scenarios < plan->wanted)
        fprintf(f, PROG ": note: only %zu of %zu scenarios fit in half of the %" PRIu64
                   " events\n", plan->n_scenarios, plan->wanted, s->events);

    fprintf(f, PROG ": planted scenarios:\n  %-31s %6s %7s  %s\n", "kind", "count", "events",
            "expected alerts");
    uint64_t events_of[GEN_N_KINDS] = {0};
    for (size_t i = 0; i < plan->n_scenarios; i++)
        events_of[plan->scenarios[i].kind] += plan->scenarios[i].count;
    for (int k = 0; k < GEN_N_KINDS; k++)
        if ((gen_kinds[k].streams & ~s->streams) == 0)
            fprintf(f, "  %-31s %6" PRIu64 " %7" PRIu64 "  %s: %" PRIu64 "\n", gen_kinds[k].name,
                    plan->per_kind[k], events_of[k], gen_rule_names[gen_kinds[k].rule],
                    plan->per_kind[k] * gen_kinds[k].alerts);

    uint64_t expected[GEN_N_RULES];
    gen_plan_expected(plan, expected);
    fprintf(f, PROG ": expected alerts:");
    for (int r = 0; r < GEN_N_RULES; r++)
        fprintf(f, " %s %" PRIu64 ",", gen_rule_names[r], expected[r]);
    fprintf(f, " none from normal traffic\n");
}

int main(int argc, char **argv)
{
    settings s;
    int rc = parse_args(argc, argv, &s);
    if (rc != 0)
        return rc;

    gen_world world;
    gen_plan plan = {0};
    gen_out out = {0};
    gen_background bg = {0};
    if (gen_world_init(&world, s.seed, s.cards) != 0) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    rc = 1;
    /* At most half the cards: normal traffic needs cards that are free. */
    size_t wanted = (size_t)((double)s.cards * s.fraud_rate + 0.5);
    if (wanted > s.cards / 2)
        wanted = s.cards / 2;
    if (gen_plan_shape(&plan, &world, s.seed, s.streams, wanted, s.events / 2) != 0) {
        fprintf(stderr, PROG ": out of memory\n");
        goto done;
    }

    /* With every stream, half the normal events are payments. Spread them
     * so that the average card pays once an hour (the busiest about 1.6
     * times): far from 20 payments an hour. */
    uint64_t n_normal = s.events - plan.n_events;
    uint64_t n_payments = s.streams == GEN_BIT(payments) ? n_normal : n_normal / 2;
    double span_d = (double)n_payments / s.cards * HOUR_MS;
    int64_t span = gen_plan_min_span(&plan);
    const int64_t year_10000 = INT64_C(253402300800000);
    if (span_d > (double)(year_10000 - s.start) || s.start + span > year_10000) {
        rc = usage_error("the stream would run past the year 9999: use fewer events per card "
                         "or an earlier --start");
        goto done;
    }
    if ((int64_t)span_d > span)
        span = (int64_t)span_d;
    gen_plan_place(&plan, s.seed, s.start, span);

    gen_names names;
    gen_names_init(&names, s.seed);
    if (s.truth && write_truth(s.truth, &world, &names, &plan) != 0) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", s.truth, strerror(errno));
        goto done;
    }
    if (s.expect && write_expect(s.expect, &plan) != 0) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", s.expect, strerror(errno));
        goto done;
    }
    bool several = s.streams != GEN_BIT(payments);
    if (gen_out_init(&out, stdout, &world, &names, s.time_style, several) != 0) {
        fprintf(stderr, PROG ": out of memory\n");
        goto done;
    }
    gen_background_params bp = {s.seed, n_normal - n_payments, s.start, span,
                                 (uint32_t)plan.n_scenarios};
    gen_background_init(&bg, &bp, &world);
    gen_traffic_params tp = {s.seed, n_payments, s.start, span};
    gen_traffic_stats st;
    if (gen_traffic_write(&tp, &world, &plan, &bg, &out, &st) != 0) {
        fprintf(stderr, PROG ": out of memory\n");
        goto done;
    }
    if (gen_out_flush(&out) != 0) {
        fprintf(stderr, PROG ": write error: %s\n", strerror(out.error));
        goto done;
    }
    if (!s.quiet)
        print_summary(&s, &plan, &st, span);
    rc = 0;
done:
    gen_background_free(&bg);
    gen_out_free(&out);
    gen_plan_free(&plan);
    gen_world_free(&world);
    return rc;
}
