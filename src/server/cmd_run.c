/* cmd_run.c — `weir run`: run rules over a file of JSON lines, no server.
 *
 * Alerts go to --out (default stdout) as JSON lines. Events set aside go to
 * --dead-letter as JSON lines {"line":N,"status":"...","reason":"...",
 * "event":"<the raw line>"} — malformed events with the decoder's status,
 * late events with status "late"; without --dead-letter the first few are
 * described on stderr and the rest only counted. End of input moves the
 * watermark to the end of time, so every pending deadline and window fires.
 * A summary goes to stderr at the end. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/commands.h"
#include "io/line_reader.h"
#include "weir/engine.h"
#include "weir/ruleset.h"

#define STDERR_REJECTS 10

typedef struct run_ctx {
    FILE *out;
    FILE *dead;
    uint64_t rejects_shown;
    bool write_failed;
} run_ctx;

static void on_alert(void *user, const weir_alert *a)
{
    run_ctx *c = user;
    if (fwrite(a->json, 1, a->json_len, c->out) != a->json_len || fputc('\n', c->out) == EOF)
        c->write_failed = true;
}

static void on_rejected(void *user, const weir_rejected *r)
{
    run_ctx *c = user;
    if (!c->dead) {
        if (c->rejects_shown++ < STDERR_REJECTS)
            fprintf(stderr, "weir run: line %" PRIu64 ": %s (%s)\n", r->line, r->reason,
                    r->status);
        return;
    }
    char *line = weir_rejected_json(r);
    if (!line || fputs(line, c->dead) == EOF || fputc('\n', c->dead) == EOF)
        c->write_failed = true;
    free(line);
}

static void run_usage(FILE *out)
{
    fputs("usage: weir run [--events FILE|-] [--out FILE] [--dead-letter FILE] RULES...\n"
          "  RULES are .weir files or directories, compiled as one rule set\n"
          "  --events FILE      JSON lines to read (default: standard input)\n"
          "  --out FILE         where alerts go, one JSON object per line (default: stdout)\n"
          "  --dead-letter FILE malformed and late events, with line number and reason\n"
          "  --stream-field F   the JSON field naming an event's stream (default: stream)\n"
          "  --stream NAME      the stream of events without that field (with several\n"
          "                     streams; default: such events are dead letters)\n"
          "  --full-events      list matched events with all their fields in alerts\n"
          "                     (default: the fields the rules read; faster)\n"
          "  --quiet            no summary on stderr\n"
          "exit status: 0 ok, 1 rule errors, 2 usage or I/O error\n",
          out);
}

static void print_summary(const weir_engine *e, const weir_ruleset *rs)
{
    weir_engine_stats s;
    weir_engine_get_stats(e, &s);
    fprintf(stderr, "weir run: %" PRIu64 " events, %" PRIu64 " alerts", s.events, s.alerts);
    if (s.throttled)
        fprintf(stderr, " (%" PRIu64 " more throttled)", s.throttled);
    fprintf(stderr, ", %" PRIu64 " late, %" PRIu64 " dead-lettered\n", s.late, s.dead_letters);
    for (size_t i = 0; i < weir_ruleset_rule_count(rs); i++)
        fprintf(stderr, "  %-28s %" PRIu64 " alerts\n", weir_ruleset_rule_name(rs, i),
                weir_engine_rule_alerts(e, i));
    fprintf(stderr, "  peak keys %" PRIu64 ", peak partial matches %" PRIu64 "\n", s.peak_keys,
            s.peak_partial_matches);
}

static FILE *open_out(const char *path, const char *what)
{
    if (!path || strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "weir run: cannot write %s '%s': %s\n", what, path, strerror(errno));
    return f;
}

int weir_cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"events", required_argument, NULL, 'e'},
        {"out", required_argument, NULL, 'o'},
        {"dead-letter", required_argument, NULL, 'd'},
        {"stream-field", required_argument, NULL, 's'},
        {"stream", required_argument, NULL, 'S'},
        {"full-events", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *events = NULL, *out_path = NULL, *dead_path = NULL, *stream_field = NULL;
    const char *default_stream = NULL;
    bool quiet = false, full_events = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "e:o:d:s:fqh", options, NULL)) != -1) {
        switch (c) {
        case 'e': events = optarg; break;
        case 'o': out_path = optarg; break;
        case 'd': dead_path = optarg; break;
        case 's': stream_field = optarg; break;
        case 'S': default_stream = optarg; break;
        case 'f': full_events = true; break;
        case 'q': quiet = true; break;
        case 'h': run_usage(stdout); return WEIR_EXIT_OK;
        default: run_usage(stderr); return WEIR_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("weir run: no rule files given\n", stderr);
        run_usage(stderr);
        return WEIR_EXIT_USAGE;
    }
    weir_ruleset *rs = NULL;
    int loaded = weir_cli_load_rules(argv + optind, (size_t)(argc - optind), &rs);
    if (loaded != WEIR_EXIT_OK)
        return loaded;

    int status = WEIR_EXIT_USAGE;
    run_ctx ctx = {0};
    weir_engine *e = NULL;
    weir_line_reader *in = weir_line_reader_open(events);
    if (!in) {
        fprintf(stderr, "weir run: cannot read '%s': %s\n", events ? events : "-",
                strerror(errno));
        goto done;
    }
    ctx.out = open_out(out_path, "alerts to");
    ctx.dead = dead_path ? open_out(dead_path, "dead letters to") : NULL;
    if (!ctx.out || (dead_path && !ctx.dead))
        goto done;
    weir_engine_options eopt = {
        .on_alert = on_alert,
        .alert_user = &ctx,
        .on_dead_letter = on_rejected,
        .dead_letter_user = &ctx,
        .on_late = on_rejected,
        .late_user = &ctx,
        .stream_field = stream_field,
        .decode_all_fields = full_events,
        .default_stream = default_stream,
    };
    if (default_stream) {
        bool known = false;
        for (size_t i = 0; i < weir_ruleset_stream_count(rs); i++)
            known |= strcmp(weir_ruleset_stream_name(rs, i), default_stream) == 0;
        if (!known) {
            fprintf(stderr, "weir run: --stream %s: the rules declare no such stream\n",
                    default_stream);
            goto done;
        }
    }
    e = weir_engine_new(rs, &eopt);
    if (!e) {
        fputs("weir run: out of memory\n", stderr);
        goto done;
    }
    const char *line;
    size_t len;
    uint64_t line_no = 0;
    int rc;
    while ((rc = weir_line_reader_next(in, &line, &len)) > 0) {
        line_no++;
        if (len == 0)
            continue; /* blank lines are not events */
        if (weir_engine_push_padded(e, line, len, line_no) < 0) {
            fputs("weir run: out of memory\n", stderr);
            goto done;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "weir run: reading '%s': %s\n", events ? events : "-", strerror(errno));
        goto done;
    }
    weir_engine_finish(e);
    if (fflush(ctx.out) != 0 || (ctx.dead && fflush(ctx.dead) != 0) || ctx.write_failed) {
        fprintf(stderr, "weir run: writing output: %s\n", strerror(errno));
        goto done;
    }
    if (!quiet)
        print_summary(e, rs);
    status = WEIR_EXIT_OK;
done:
    weir_engine_free(e);
    weir_line_reader_close(in);
    if (ctx.out && ctx.out != stdout)
        fclose(ctx.out);
    if (ctx.dead && ctx.dead != stdout)
        fclose(ctx.dead);
    weir_ruleset_free(rs);
    return status;
}
