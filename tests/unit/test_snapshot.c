/* test_snapshot.c — engine snapshots (weir_engine_snapshot / _restore).
 *
 * The promise: an engine saved at any point and restored into a new one
 * raises exactly the alerts, in exactly the order, that the original
 * would have raised. So the tests run an input twice, once straight
 * through and once saved-and-restored many times along the way, and
 * compare the alert lines byte for byte. The inputs are the fraud library
 * over the README sample, and a set of rules chosen for their state
 * (Kleene loops under every skip strategy, absence, timeouts, every window
 * kind, count distinct, string min/max, throttles, per-key `keep` memory) over random events
 * that arrive out of order. Then hot swaps (a snapshot restored under a
 * changed rule set), refusals of bad snapshots, and the format fixture a
 * newer weir must keep reading. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/snap_codec.h"
#include "weir/engine.h"
#include "weir/ruleset.h"

/* ------------------------------------------------------------ helpers */

typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void lines_add(lines *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        cr_assert_not_null(l->v);
    }
    l->v[l->n] = malloc(len + 1);
    memcpy(l->v[l->n], s, len);
    l->v[l->n++][len] = '\0';
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static char *src_path(const char *rel)
{
    const char *top = getenv("top_srcdir");
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", top ? top : ".", rel);
    return p;
}

static lines read_lines(const char *rel)
{
    char *path = src_path(rel);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    lines l = {0};
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&buf, &cap, f)) > 0) {
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            n--;
        lines_add(&l, buf, (size_t)n);
    }
    free(buf);
    fclose(f);
    free(path);
    return l;
}

static weir_ruleset *compile_path(const char *path)
{
    weir_ruleset *rs = NULL;
    const char *paths[] = {path};
    cr_assert_eq(weir_ruleset_compile(paths, 1, NULL, &rs), WEIR_COMPILE_OK, "compile %s", path);
    return rs;
}

static weir_ruleset *compile_text(const char *text)
{
    weir_ruleset *rs = NULL;
    cr_assert_eq(weir_ruleset_compile_text("snapshot.weir", text, strlen(text), NULL, &rs),
                 WEIR_COMPILE_OK);
    return rs;
}

static void on_alert(void *user, const weir_alert *a)
{
    lines *out = user;
    lines_add(out, a->json, a->json_len);
}

static int64_t fixed_clock(void *user)
{
    (void)user;
    return 1700000000000;
}

static weir_engine *new_engine(const weir_ruleset *rs, lines *out)
{
    weir_engine_options opt = {
        .on_alert = on_alert,
        .alert_user = out,
        .clock = fixed_clock,
    };
    weir_engine *e = weir_engine_new(rs, &opt);
    cr_assert_not_null(e);
    return e;
}

/* Saves e, frees it and returns a new engine for rs restored from it. */
static weir_engine *save_restore(weir_engine *e, const weir_ruleset *rs, lines *out,
                                 weir_restore_report *rep)
{
    void *snap;
    size_t len;
    cr_assert_eq(weir_engine_snapshot(e, &snap, &len), 0);
    weir_engine_free(e);
    weir_engine *fresh = new_engine(rs, out);
    char err[256] = "";
    cr_assert_eq(weir_engine_restore(fresh, snap, len, rep, err, sizeof err), 0,
                 "restore failed: %s", err);
    free(snap);
    return fresh;
}

/* Runs the input through one engine, saved and restored before every
 * event whose index is a multiple of `every` (0: never). */
static lines run(const weir_ruleset *rs, const lines *in, size_t every)
{
    lines out = {0};
    weir_engine *e = new_engine(rs, &out);
    for (size_t i = 0; i < in->n; i++) {
        if (every && i % every == 0)
            e = save_restore(e, rs, &out, NULL);
        weir_engine_push(e, in->v[i], strlen(in->v[i]), i + 1);
    }
    if (every)
        e = save_restore(e, rs, &out, NULL);
    weir_engine_finish(e);
    weir_engine_free(e);
    return out;
}

static void assert_same(const lines *want, const lines *got, const char *what)
{
    size_t n = want->n < got->n ? want->n : got->n;
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(got->v[i], want->v[i], "%s: alert %zu differs:\n got %s\nwant %s", what,
                         i, got->v[i], want->v[i]);
    cr_assert_eq(got->n, want->n, "%s: %zu alerts, want %zu", what, got->n, want->n);
}

/* ------------------------------------------------------------ the library */

Test(snapshot, fraud_library_restored_every_250_events_gives_the_same_alerts)
{
    char *rules = src_path("rules/fraud");
    weir_ruleset *rs = compile_path(rules);
    lines in = read_lines("contrib/sample/events.jsonl");
    lines want = run(rs, &in, 0);
    cr_assert_gt(want.n, 20, "the sample raises alerts of every rule");
    lines got = run(rs, &in, 250);
    assert_same(&want, &got, "restored every 250");
    lines got1 = run(rs, &in, 1);
    assert_same(&want, &got1, "restored before every event");
    lines_free(&want);
    lines_free(&got);
    lines_free(&got1);
    lines_free(&in);
    weir_ruleset_free(rs);
    free(rules);
}

/* ------------------------------------------------------------ stateful rules */

static const char *STATEFUL_RULES =
    "stream tx event time ts, lateness 3s\n"
    "  { card string, amount int, merchant string, kind string, ts time }\n"
    "rule kleene_no_skip on tx by card\n"
    "  match a where kind == \"a\" then b+ where amount < 50 then c where kind == \"c\"\n"
    "  within 40s\n"
    "  emit { card, n: count(b), s: sum(b.amount), last: b[-1].merchant }\n"
    "rule kleene_skip_next on tx by card\n"
    "  match a where kind == \"a\" then any b{2,} greedy where amount < 70 "
    "then c where amount > 60\n"
    "  within 30s skip to next\n"
    "  emit { card, n: count(b) }\n"
    "rule kleene_skip_past on tx by card\n"
    "  match b{2,3} where amount < 40 next c where kind == \"c\"\n"
    "  within 20s skip past last\n"
    "  emit { card }\n"
    "rule skip_first on tx by card\n"
    "  match a+ where kind == \"a\" then b where kind == \"b\"\n"
    "  within 25s skip to first a\n"
    "  emit { card, n: count(a) }\n"
    "rule absence on tx by card\n"
    "  match a where kind == \"a\" and amount > 80 not then v where kind == \"c\"\n"
    "  within 15s\n"
    "  emit { card, amount: a.amount }\n"
    "rule timeouts on tx by card\n"
    "  match a where kind == \"b\" then b where kind == \"c\" and amount > a.amount\n"
    "  within 10s\n"
    "  emit { card }\n"
    "  on timeout emit { card, started: a.ts }\n"
    "rule loop_until on tx by card\n"
    "  match s+ where amount < 30 until kind == \"c\" then big where amount > 90\n"
    "  within 30s\n"
    "  throttle 20s\n"
    "  emit { card, n: count(s) }\n"
    "rule sliding on tx by card\n"
    "  window sliding 20s every 5s\n"
    "  when count() >= 3\n"
    "  emit { card, n: count(), total: sum(amount), lo: min(merchant), hi: max(merchant),\n"
    "         m: count(distinct merchant), f: first(merchant), l: last(merchant),\n"
    "         avg: avg(amount) }\n"
    "rule tumbling on tx by merchant\n"
    "  window tumbling 15s where kind != \"c\"\n"
    "  when count(distinct card) >= 2\n"
    "  throttle 30s\n"
    "  emit { merchant, cards: count(distinct card), top: max(amount) }\n"
    "rule sessions on tx by card\n"
    "  window session gap 4s\n"
    "  when count() >= 2\n"
    "  emit { card, n: count(), s: window_start(), e: window_end() }\n"
    "rule remembered on tx by card\n"
    "  keep for 20s every 2s where kind != \"x\"\n"
    "    { merchants: distinct(merchant), usual: avg(amount), n: count(),\n"
    "      spread: count(distinct merchant), top: max(amount) }\n"
    "  match a where n >= 2 and merchant not in merchants and amount > usual\n"
    "  emit { card, n, usual, spread, top }\n"
    "rule counts on tx by merchant\n"
    "  window count 4 every 2\n"
    "  emit { merchant, total: sum(amount), cards: count(distinct card) }\n";

/* Random events on a few cards and merchants, timestamps mostly rising
 * with some up to 3 s out of order (the lateness), a few later still. */
static lines random_events(unsigned seed, size_t n)
{
    lines l = {0};
    uint64_t x = seed * 2654435761u + 1;
    int64_t t = 1700000000000;
    static const char *kinds[] = {"a", "b", "c", "x"};
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t += (int64_t)(x % 900);
        int64_t ts = t - (int64_t)((x >> 10) % 4) * 700;
        if ((x >> 20) % 97 == 0)
            ts -= 6000; /* late: goes to the side output */
        char buf[256];
        int len = snprintf(buf, sizeof buf,
                           "{\"card\":\"c%u\",\"amount\":%u,\"merchant\":\"m%u\","
                           "\"kind\":\"%s\",\"ts\":%lld}",
                           (unsigned)((x >> 24) % 5), (unsigned)((x >> 32) % 120),
                           (unsigned)((x >> 40) % 4), kinds[(x >> 48) % 4], (long long)ts);
        lines_add(&l, buf, (size_t)len);
    }
    return l;
}

Test(snapshot, stateful_rules_restored_often_give_the_same_alerts)
{
    weir_ruleset *rs = compile_text(STATEFUL_RULES);
    for (unsigned seed = 1; seed <= 4; seed++) {
        lines in = random_events(seed, 3000);
        lines want = run(rs, &in, 0);
        cr_assert_gt(want.n, 100, "seed %u: the rules fire", seed);
        size_t remembered = 0;
        for (size_t i = 0; i < want.n; i++)
            remembered += strstr(want.v[i], "\"rule\":\"remembered\"") != NULL;
        cr_assert_gt(remembered, 5, "seed %u: the keep rule fires", seed);
        static const size_t every[] = {1, 7, 101};
        for (size_t k = 0; k < sizeof every / sizeof *every; k++) {
            lines got = run(rs, &in, every[k]);
            char what[64];
            snprintf(what, sizeof what, "seed %u, restored every %zu", seed, every[k]);
            assert_same(&want, &got, what);
            lines_free(&got);
        }
        lines_free(&want);
        lines_free(&in);
    }
    weir_ruleset_free(rs);
}

Test(snapshot, counters_and_progress_survive)
{
    weir_ruleset *rs = compile_text(STATEFUL_RULES);
    lines in = random_events(9, 2000);
    lines out = {0};
    weir_engine *e = new_engine(rs, &out);
    for (size_t i = 0; i < in.n; i++)
        weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
    weir_engine_stats before, after;
    weir_engine_get_stats(e, &before);
    weir_rule_stats rb[16], ra[16];
    size_t n_rules = weir_ruleset_rule_count(rs);
    for (size_t i = 0; i < n_rules; i++)
        weir_engine_get_rule_stats(e, i, &rb[i]);
    weir_stream_stats sb, sa;
    weir_engine_get_stream_stats(e, 0, &sb);
    weir_restore_report rep;
    e = save_restore(e, rs, &out, &rep);
    weir_engine_get_stats(e, &after);
    cr_assert_eq(rep.rules_restored, n_rules);
    cr_assert_eq(rep.rules_fresh, 0);
    cr_assert_eq(rep.rules_dropped, 0);
    cr_assert_gt(before.keys, 0);
    cr_assert_eq(after.events, before.events);
    cr_assert_eq(after.late, before.late);
    cr_assert_eq(after.alerts, before.alerts);
    cr_assert_eq(after.keys, before.keys);
    cr_assert_eq(after.partial_matches, before.partial_matches);
    cr_assert_eq(after.held_events, before.held_events);
    cr_assert_eq(after.watermark, before.watermark);
    cr_assert_eq(rep.held_events, before.held_events);
    for (size_t i = 0; i < n_rules; i++) {
        weir_engine_get_rule_stats(e, i, &ra[i]);
        cr_assert_eq(ra[i].alerts, rb[i].alerts, "rule %zu", i);
        cr_assert_eq(ra[i].events, rb[i].events, "rule %zu", i);
        cr_assert_eq(ra[i].keys, rb[i].keys, "rule %zu", i);
        cr_assert_eq(ra[i].partial_matches, rb[i].partial_matches, "rule %zu", i);
    }
    weir_engine_get_stream_stats(e, 0, &sa);
    cr_assert_eq(sa.events, sb.events);
    cr_assert_eq(sa.max_time, sb.max_time);
    cr_assert_eq(sa.watermark, sb.watermark);
    weir_engine_free(e);
    lines_free(&out);
    lines_free(&in);
    weir_ruleset_free(rs);
}

/* ------------------------------------------------------------ hot swap */

/* The stateful rules with one rule changed and one removed. */
static char *changed_rules(void)
{
    char *s = strdup(STATEFUL_RULES);
    /* sessions: a different gap, so a different fingerprint */
    char *gap = strstr(s, "gap 4s");
    cr_assert_not_null(gap);
    gap[4] = '5';
    /* counts: gone */
    char *counts = strstr(s, "rule counts");
    cr_assert_not_null(counts);
    *counts = '\0';
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool rule_is(const char *alert, const char *rule)
{
    char want[96];
    snprintf(want, sizeof want, "\"rule\":\"%s\"", rule);
    return strstr(alert, want) != NULL;
}

Test(snapshot, hot_swap_keeps_the_state_of_unchanged_rules)
{
    weir_ruleset *before = compile_text(STATEFUL_RULES);
    char *text = changed_rules();
    weir_ruleset *after = compile_text(text);
    lines in = random_events(5, 3000);
    lines want = run(before, &in, 0);

    lines got = {0};
    weir_engine *e = new_engine(before, &got);
    size_t cut = in.n / 2;
    for (size_t i = 0; i < cut; i++)
        weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
    weir_restore_report rep;
    e = save_restore(e, after, &got, &rep);
    cr_assert_eq(rep.rules_restored, weir_ruleset_rule_count(after) - 1);
    cr_assert_eq(rep.rules_fresh, 1, "sessions changed: it starts empty");
    cr_assert_eq(rep.rules_dropped, 2, "sessions (old) and counts");
    for (size_t i = cut; i < in.n; i++)
        weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
    weir_engine_finish(e);
    weir_engine_free(e);

    /* every unchanged rule raises exactly the alerts it would have raised
     * without the swap (partial matches begun before it complete after
     * it). Their order among keys due at the same time may differ: which
     * key's timer was armed first also depends on the changed rule. */
    qsort(want.v, want.n, sizeof *want.v, cmp_str);
    qsort(got.v, got.n, sizeof *got.v, cmp_str);
    size_t compared = 0;
    for (size_t r = 0; r < weir_ruleset_rule_count(after); r++) {
        const char *name = weir_ruleset_rule_name(after, r);
        if (strcmp(name, "sessions") == 0)
            continue;
        lines w = {0}, g = {0};
        for (size_t i = 0; i < want.n; i++)
            if (rule_is(want.v[i], name))
                lines_add(&w, want.v[i], strlen(want.v[i]));
        for (size_t i = 0; i < got.n; i++)
            if (rule_is(got.v[i], name))
                lines_add(&g, got.v[i], strlen(got.v[i]));
        assert_same(&w, &g, name);
        compared += w.n;
        lines_free(&w);
        lines_free(&g);
    }
    cr_assert_gt(compared, 100);
    lines_free(&want);
    lines_free(&got);
    lines_free(&in);
    free(text);
    weir_ruleset_free(before);
    weir_ruleset_free(after);
}

/* ------------------------------------------------------------ refusals */

static void snapshot_of_some_state(const weir_ruleset *rs, void **snap, size_t *len)
{
    lines in = random_events(3, 500), out = {0};
    weir_engine *e = new_engine(rs, &out);
    for (size_t i = 0; i < in.n; i++)
        weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
    cr_assert_eq(weir_engine_snapshot(e, snap, len), 0);
    weir_engine_free(e);
    lines_free(&in);
    lines_free(&out);
}

static int try_restore(const weir_ruleset *rs, const void *data, size_t len, char *err,
                       size_t errlen)
{
    lines out = {0};
    weir_engine *e = new_engine(rs, &out);
    int rc = weir_engine_restore(e, data, len, NULL, err, errlen);
    weir_engine_free(e);
    lines_free(&out);
    return rc;
}

/* As try_restore; when the bytes load, the engine also takes a few more
 * events and ends its input (fires every deadline): a state that loads
 * must hold up, not only parse. */
static int try_restore_and_run(const weir_ruleset *rs, const void *data, size_t len, char *err,
                               size_t errlen)
{
    static const char *const after[] = {
        "{\"card\":\"c1\",\"amount\":10,\"merchant\":\"m1\",\"kind\":\"a\","
        "\"ts\":\"2026-01-05T10:00:00Z\"}",
        "{\"card\":\"c2\",\"amount\":95,\"merchant\":\"m2\",\"kind\":\"c\","
        "\"ts\":\"2026-01-05T10:00:20Z\"}",
    };
    lines out = {0};
    weir_engine *e = new_engine(rs, &out);
    int rc = weir_engine_restore(e, data, len, NULL, err, errlen);
    if (rc == 0) {
        for (size_t i = 0; i < sizeof after / sizeof *after; i++)
            weir_engine_push(e, after[i], strlen(after[i]), 1000000 + i);
        weir_engine_finish(e);
    }
    weir_engine_free(e);
    lines_free(&out);
    return rc;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The trailer checksum, as the format defines it (doc/state-format.md),
 * so the tests can forge snapshots that pass it. */
static uint64_t checksum(const unsigned char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)len;
    const uint64_t prime = 0x100000001b3ULL;
    while (len >= 8) {
        uint64_t w = 0;
        for (int i = 0; i < 8; i++)
            w |= (uint64_t)p[i] << (8 * i);
        h = (h ^ w) * prime;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    while (len--)
        h = (h ^ *p++) * prime;
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

Test(snapshot, bad_snapshots_are_refused_with_a_reason)
{
    weir_ruleset *rs = compile_text(STATEFUL_RULES);
    void *snap;
    size_t len;
    snapshot_of_some_state(rs, &snap, &len);
    unsigned char *b = malloc(len);
    char err[256];

    memcpy(b, snap, len);
    cr_assert_eq(try_restore(rs, b, len, err, sizeof err), 0, "%s", err);

    b[len / 2] ^= 0x10;
    cr_assert_eq(try_restore(rs, b, len, err, sizeof err), -1);
    cr_assert(strstr(err, "checksum"), "%s", err);

    memcpy(b, snap, len);
    cr_assert_eq(try_restore(rs, b, len - 100, err, sizeof err), -1);
    cr_assert(strstr(err, "checksum"), "%s", err);
    cr_assert_eq(try_restore(rs, b, 5, err, sizeof err), -1);
    cr_assert(strstr(err, "not a weir snapshot"), "%s", err);

    const char *foreign = "{\"this\":\"is json, not a snapshot\"}";
    cr_assert_eq(try_restore(rs, foreign, strlen(foreign), err, sizeof err), -1);
    cr_assert(strstr(err, "not a weir snapshot"), "%s", err);

    /* a format from the future, well formed otherwise */
    b[8] = 99;
    put_u64(b + len - 8, checksum(b, len - 8));
    cr_assert_eq(try_restore(rs, b, len, err, sizeof err), -1);
    cr_assert(strstr(err, "format 99"), "%s", err);

    /* a valid checksum over garbage inside: refused by the parser */
    memcpy(b, snap, len);
    memset(b + 20, 0xff, 40);
    put_u64(b + len - 8, checksum(b, len - 8));
    cr_assert_eq(try_restore(rs, b, len, err, sizeof err), -1);
    cr_assert(strstr(err, "bad snapshot"), "%s", err);

    /* restoring into an engine that already ran is refused */
    lines in = random_events(4, 10), out = {0};
    weir_engine *e = new_engine(rs, &out);
    weir_engine_push(e, in.v[0], strlen(in.v[0]), 1);
    cr_assert_eq(weir_engine_restore(e, snap, len, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "already has state"), "%s", err);
    weir_engine_free(e);
    lines_free(&in);
    lines_free(&out);
    free(b);
    free(snap);
    weir_ruleset_free(rs);
}

/* A writer with a bug (or an attacker) could produce any bytes under a
 * valid checksum: the reader must refuse or load them, never crash or
 * leak (run under ASan in CI). */
Test(snapshot, mutated_snapshots_never_crash_the_reader)
{
    weir_ruleset *rs = compile_text(STATEFUL_RULES);
    void *snap;
    size_t len;
    snapshot_of_some_state(rs, &snap, &len);
    unsigned char *b = malloc(len);
    uint64_t x = 88172645463325252ULL;
    size_t refused = 0;
    int rounds = getenv("WEIR_MUTATION_ROUNDS") ? atoi(getenv("WEIR_MUTATION_ROUNDS")) : 3000;
    for (int round = 0; round < rounds; round++) {
        memcpy(b, snap, len);
        int flips = 1 + (int)(x % 4);
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = 9 + (size_t)(x % (len - 17));
            b[at] = (unsigned char)(x >> 32);
        }
        put_u64(b + len - 8, checksum(b, len - 8));
        char err[256];
        refused += try_restore_and_run(rs, b, len, err, sizeof err) != 0;
    }
    cr_assert_gt(refused, 0);
    free(b);
    free(snap);
    weir_ruleset_free(rs);
}

/* A saved buffer node must hold a lock for each edge and run that points
 * at it, or releasing them frees it while it is still pointed at (found by
 * tests/fuzz/fuzz_snapshot). Every byte of the format-2 fixture is zeroed
 * in turn: each such snapshot is refused or holds up, and some are refused
 * for that reason. */
Test(snapshot, a_node_with_fewer_locks_than_references_is_refused, .timeout = 120)
{
    char *rules = src_path("tests/data/snapshot-v1.weir");
    weir_ruleset *rs = compile_path(rules);
    char *bin = src_path("tests/data/snapshot-v2.bin");
    FILE *f = fopen(bin, "rb");
    cr_assert_not_null(f, "missing %s", bin);
    free(bin);
    static unsigned char snap[1 << 16], b[1 << 16];
    size_t len = fread(snap, 1, sizeof snap, f);
    fclose(f);
    cr_assert_gt(len, 100);
    size_t for_locks = 0;
    for (size_t at = 9; at < len - 8; at++) {
        if (snap[at] == 0)
            continue;
        memcpy(b, snap, len);
        b[at] = 0;
        put_u64(b + len - 8, checksum(b, len - 8));
        char err[256] = "";
        if (try_restore_and_run(rs, b, len, err, sizeof err) != 0)
            for_locks += strstr(err, "fewer locks") != NULL;
    }
    cr_assert_gt(for_locks, 0);
    free(rules);
    weir_ruleset_free(rs);
}

/* Inputs tests/fuzz/fuzz_snapshot found, kept with their trailers cut off
 * (tests/data/snapshot-fuzz): each is refused or holds up, and ends. One
 * restored a run whose deadline was before its key's time, which the key
 * then never advanced to: its timer fired at the same instant for ever. */
Test(snapshot, inputs_the_fuzzer_found_are_refused_or_run_to_the_end, .timeout = 120)
{
    char *rules = src_path("tests/data/snapshot-v1.weir");
    weir_ruleset *rs = compile_path(rules);
    static const char *const found[] = {"tests/data/snapshot-fuzz/timer-before-now.bin"};
    for (size_t i = 0; i < sizeof found / sizeof *found; i++) {
        char *path = src_path(found[i]);
        FILE *f = fopen(path, "rb");
        cr_assert_not_null(f, "missing %s", path);
        free(path);
        static unsigned char b[1 << 16];
        size_t len = fread(b, 1, sizeof b - 8, f);
        fclose(f);
        put_u64(b + len, checksum(b, len));
        char err[256] = "";
        try_restore_and_run(rs, b, len + 8, err, sizeof err);
    }
    free(rules);
    weir_ruleset_free(rs);
}

/* ------------------------------------------------------------ the codec */

/* The id table keeps its first ids in an array and moves to a hash table
 * past SNAP_IDS_SMALL; ids must stay the same across the move, and a
 * cleared table must forget everything in both modes. */
Test(snap_codec, ids_are_stable_across_the_move_to_a_table_and_clear)
{
    static char objs[100];
    snap_ids ids;
    snap_ids_init(&ids);
    for (int round = 0; round < 3; round++) {
        size_t n = round == 1 ? 5 : 100; /* small, big, and big again after small */
        for (size_t i = 0; i < n; i++) {
            bool added;
            cr_assert_eq(snap_ids_put(&ids, &objs[(i * 37) % 100], &added), i);
            cr_assert(added);
            cr_assert_eq(snap_ids_put(&ids, &objs[(i * 37) % 100], &added), i);
            cr_assert_not(added);
            for (size_t k = 0; k <= i; k++)
                cr_assert_eq(snap_ids_get(&ids, &objs[(k * 37) % 100]), k);
        }
        for (size_t i = n; i < 100; i++)
            cr_assert_eq(snap_ids_get(&ids, &objs[(i * 37) % 100]), UINT32_MAX);
        snap_ids_clear(&ids);
        for (size_t i = 0; i < 100; i++)
            cr_assert_eq(snap_ids_get(&ids, &objs[i]), UINT32_MAX);
    }
    snap_ids_free(&ids);
}

/* The unchecked writers give the bytes the checked ones give. */
Test(snap_codec, raw_writers_match_the_checked_ones)
{
    static const uint64_t nums[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX,
                                    (uint64_t)INT64_MAX, UINT64_MAX};
    snap_out a, b;
    snap_out_init(&a);
    snap_out_init(&b);
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        snap_put_uvar(&a, nums[i]);
        snap_put_svar(&a, (int64_t)nums[i]);
        snap_put_svar(&a, -(int64_t)(nums[i] >> 1));
        unsigned char *c = snap_out_reserve(&b, 3 * SNAP_MAX_UVAR);
        cr_assert_not_null(c);
        c = snap_raw_uvar(c, nums[i]);
        c = snap_raw_svar(c, (int64_t)nums[i]);
        c = snap_raw_svar(c, -(int64_t)(nums[i] >> 1));
        snap_out_commit(&b, c);
    }
    cr_assert_eq(a.len, b.len);
    cr_assert_eq(memcmp(a.buf, b.buf, a.len), 0);
    /* one-byte and ten-byte varints */
    snap_out_free(&a);
    snap_put_uvar(&a, 5);
    snap_put_uvar(&a, UINT64_MAX);
    cr_assert_eq(a.len, 11);
    snap_out_free(&a);
    snap_out_free(&b);
}

/* ------------------------------------------------------------ the format fixtures */

/* tests/data/snapshot-vN.bin was written by format N from
 * tests/data/snapshot-v1.weir over the first half of
 * tests/data/snapshot-v1.jsonl. Every later weir must read it and, fed the
 * second half, raise the alerts in tests/data/snapshot-vN.alerts. A fixture
 * is written once, when its format is new, and kept. */
/* A snapshot of format `version`, kept in tests/data with the alerts the
 * engine that wrote it raised after it: this weir must read it and raise
 * the same. Every format gets one, made from the same rules and events
 * (snapshot-v1.weir, snapshot-v1.jsonl). WEIR_WRITE_SNAPSHOT_FIXTURE=N
 * writes format N's files, with a weir whose format is N. */
static void check_fixture(unsigned version)
{
    char name[64];
    char *rules = src_path("tests/data/snapshot-v1.weir");
    snprintf(name, sizeof name, "tests/data/snapshot-v%u.bin", version);
    char *bin = src_path(name);
    snprintf(name, sizeof name, "tests/data/snapshot-v%u.alerts", version);
    char *alerts = src_path(name);
    const char *write_env = getenv("WEIR_WRITE_SNAPSHOT_FIXTURE");
    bool write = write_env && strtoul(write_env, NULL, 10) == version;
    weir_ruleset *rs = compile_path(rules);
    lines in = read_lines("tests/data/snapshot-v1.jsonl");
    size_t cut = in.n / 2;
    if (write) {
        lines out = {0};
        weir_engine *e = new_engine(rs, &out);
        for (size_t i = 0; i < cut; i++)
            weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
        void *snap;
        size_t len;
        cr_assert_eq(weir_engine_snapshot(e, &snap, &len), 0);
        cr_assert_eq(((unsigned char *)snap)[8], version, "this weir writes another format");
        FILE *f = fopen(bin, "wb");
        cr_assert_not_null(f);
        fwrite(snap, 1, len, f);
        fclose(f);
        free(snap);
        for (size_t i = cut; i < in.n; i++)
            weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
        weir_engine_finish(e);
        weir_engine_free(e);
        f = fopen(alerts, "w");
        cr_assert_not_null(f);
        /* only the alerts raised after the cut */
        lines before = {0};
        weir_engine *e2 = new_engine(rs, &before);
        for (size_t i = 0; i < cut; i++)
            weir_engine_push(e2, in.v[i], strlen(in.v[i]), i + 1);
        weir_engine_free(e2);
        for (size_t i = before.n; i < out.n; i++)
            fprintf(f, "%s\n", out.v[i]);
        fclose(f);
        lines_free(&before);
        lines_free(&out);
    }
    FILE *f = fopen(bin, "rb");
    cr_assert_not_null(f, "missing %s", bin);
    struct stat st;
    cr_assert_eq(fstat(fileno(f), &st), 0);
    void *data = malloc((size_t)st.st_size);
    cr_assert_eq(fread(data, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    cr_assert_gt(st.st_size, 9);
    cr_assert_eq(((unsigned char *)data)[8], version, "%s is not of format %u", bin, version);
    lines got = {0};
    weir_engine *e = new_engine(rs, &got);
    char err[256] = "";
    weir_restore_report rep;
    cr_assert_eq(weir_engine_restore(e, data, (size_t)st.st_size, &rep, err, sizeof err), 0,
                 "%s", err);
    cr_assert_eq(rep.rules_restored, weir_ruleset_rule_count(rs));
    cr_assert_gt(rep.keys, 0);
    for (size_t i = cut; i < in.n; i++)
        weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
    weir_engine_finish(e);
    weir_engine_free(e);
    snprintf(name, sizeof name, "tests/data/snapshot-v%u.alerts", version);
    lines want = read_lines(name);
    cr_assert_gt(want.n, 0);
    assert_same(&want, &got, name);
    lines_free(&want);
    lines_free(&got);
    lines_free(&in);
    free(data);
    free(bin);
    free(alerts);
    free(rules);
    weir_ruleset_free(rs);
}

Test(snapshot, reads_the_format_1_fixture)
{
    check_fixture(1);
}

/* Format 2: times from a base, a key's flags byte, short sections, string
 * values equal to their key written as a reference. */
Test(snapshot, reads_the_format_2_fixture)
{
    check_fixture(2);
}

/* ------------------------------------------------------------ adopt
 *
 * weir_engine_adopt moves an engine's state into a new one instead of
 * writing and reading it: the outcome must be the one a snapshot gives,
 * alert for alert. Each take-over here goes to a rule set compiled afresh,
 * and the previous one is freed at once: the moved runtimes must keep
 * what they read alive (ASan checks that no one reads freed plans). */

typedef weir_ruleset *(*compile_fn)(const void *arg);

static weir_ruleset *compile_text_arg(const void *arg) { return compile_text(arg); }
static weir_ruleset *compile_path_arg(const void *arg) { return compile_path(arg); }

/* e's state taken over by a new engine for rs; e is freed. */
static weir_engine *adopt_into(weir_engine *e, const weir_ruleset *rs, lines *out,
                               weir_restore_report *rep)
{
    weir_engine *fresh = new_engine(rs, out);
    cr_assert_eq(weir_engine_adopt(fresh, e, rep), 0);
    weir_engine_free(e);
    return fresh;
}

/* As run(), with a take-over by a newly compiled rule set before every
 * event whose index is a multiple of `every`. */
static lines run_adopting(compile_fn compile, const void *arg, const lines *in, size_t every)
{
    lines out = {0};
    weir_ruleset *rs = compile(arg);
    weir_engine *e = new_engine(rs, &out);
    for (size_t i = 0; i < in->n; i++) {
        if (i % every == 0) {
            weir_ruleset *next = compile(arg);
            e = adopt_into(e, next, &out, NULL);
            weir_ruleset_free(rs);
            rs = next;
        }
        weir_engine_push(e, in->v[i], strlen(in->v[i]), i + 1);
    }
    weir_engine_finish(e);
    weir_engine_free(e);
    weir_ruleset_free(rs);
    return out;
}

Test(adopt, stateful_rules_taken_over_often_give_the_same_alerts)
{
    weir_ruleset *rs = compile_text(STATEFUL_RULES);
    for (unsigned seed = 1; seed <= 4; seed++) {
        lines in = random_events(seed, 3000);
        lines want = run(rs, &in, 0);
        static const size_t every[] = {3, 50, 101};
        for (size_t k = 0; k < sizeof every / sizeof *every; k++) {
            lines got = run_adopting(compile_text_arg, STATEFUL_RULES, &in, every[k]);
            char what[64];
            snprintf(what, sizeof what, "seed %u, taken over every %zu", seed, every[k]);
            assert_same(&want, &got, what);
            lines_free(&got);
        }
        lines_free(&want);
        lines_free(&in);
    }
    weir_ruleset_free(rs);
}

Test(adopt, fraud_library_taken_over_every_100_events_gives_the_same_alerts)
{
    char *rules = src_path("rules/fraud");
    weir_ruleset *rs = compile_path(rules);
    lines in = read_lines("contrib/sample/events.jsonl");
    lines want = run(rs, &in, 0);
    lines got = run_adopting(compile_path_arg, rules, &in, 100);
    assert_same(&want, &got, "taken over every 100");
    lines_free(&want);
    lines_free(&got);
    lines_free(&in);
    weir_ruleset_free(rs);
    free(rules);
}

/* The swap of hot_swap_keeps_the_state_of_unchanged_rules, both ways:
 * `first` is put before the new rule set's text. */
static void swap_both_ways(const char *first)
{
    weir_ruleset *before = compile_text(STATEFUL_RULES);
    char *changed = changed_rules();
    char *text = malloc(strlen(changed) + strlen(first) + 1);
    strcpy(text, first);
    strcat(text, changed);
    free(changed);
    lines in = random_events(5, 3000);
    size_t cut = in.n / 2;
    lines by_snapshot = {0}, by_adopt = {0};
    weir_restore_report rep_snapshot, rep_adopt;
    for (int way = 0; way < 2; way++) {
        lines *out = way ? &by_adopt : &by_snapshot;
        weir_ruleset *after = compile_text(text);
        weir_engine *e = new_engine(before, out);
        for (size_t i = 0; i < cut; i++)
            weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
        e = way ? adopt_into(e, after, out, &rep_adopt)
                : save_restore(e, after, out, &rep_snapshot);
        for (size_t i = cut; i < in.n; i++)
            weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
        weir_engine_finish(e);
        weir_engine_free(e);
        weir_ruleset_free(after);
    }
    cr_assert_eq(rep_adopt.rules_restored, rep_snapshot.rules_restored);
    cr_assert_eq(rep_adopt.rules_fresh, rep_snapshot.rules_fresh);
    cr_assert_eq(rep_adopt.rules_dropped, 2, "sessions (old) and counts");
    cr_assert_eq(rep_adopt.keys, rep_snapshot.keys);
    cr_assert_eq(rep_adopt.held_events, rep_snapshot.held_events);
    cr_assert_gt(by_snapshot.n, 100);
    assert_same(&by_snapshot, &by_adopt, "adopt against snapshot");
    lines_free(&by_snapshot);
    lines_free(&by_adopt);
    lines_free(&in);
    free(text);
    weir_ruleset_free(before);
}

Test(adopt, a_swap_by_adopt_is_the_swap_by_snapshot)
{
    /* the key tables move whole; blocks are rebuilt (rules moved places) */
    swap_both_ways("");
}

Test(adopt, with_a_new_key_type_the_keys_move_one_by_one_and_still_agree)
{
    /* a rule keyed by a number comes first: the new engine's table of
     * number keys takes the index the string keys had, so they move key
     * by key and their timers are pushed again in firing order */
    swap_both_ways("rule by_amount on tx by amount\n"
                   "  window tumbling 10s when count() >= 2 emit { amount, n: count() }\n");
}

/* Text made of parts (NULL-terminated), malloc'd. */
static char *joined(const char *const *parts)
{
    size_t len = 1;
    for (size_t i = 0; parts[i]; i++)
        len += strlen(parts[i]);
    char *t = malloc(len);
    cr_assert_not_null(t);
    t[0] = '\0';
    for (size_t i = 0; parts[i]; i++)
        strcat(t, parts[i]);
    return t;
}

/* Swaps by adopt that keep every kept rule in its place keep the keys'
 * blocks as they are: rules added after the others find them short and
 * grow them when they first need room (a state, or a throttled alert's
 * time); a changed rule's place, or a dropped last rule's, is emptied in
 * place (blocks then longer than the map). A rule dropped before others
 * moves them: blocks rebuilt, from short and long ones. Each step must
 * give the alerts the swap by snapshot gives, which builds every block
 * anew. */
Test(adopt, blocks_kept_through_added_changed_dropped_and_moved_rules_agree_with_a_snapshot)
{
    const char *probe = "rule added_probe on tx by card\n"
                        "  match a where amount < 20 then b where amount > 70 within 20s\n"
                        "  throttle 15s\n"
                        "  emit { card, a: a.amount, b: b.amount }\n"
                        "rule added_window on tx by merchant\n"
                        "  window tumbling 10s when count() >= 3 emit { merchant, n: count() }\n";
    const char *later = "rule added_later on tx by card\n"
                        "  window sliding 12s every 4s when count() >= 2\n"
                        "  throttle 10s\n"
                        "  emit { card, n: count() }\n";
    const char *changed = "rule added_later on tx by card\n"
                          "  window sliding 12s every 4s when count() >= 3\n"
                          "  throttle 10s\n"
                          "  emit { card, n: count() }\n";
    const char *probe_changed =
        "rule added_probe on tx by card\n"
        "  match a where amount < 30 then b where amount > 60 within 20s\n"
        "  throttle 15s\n"
        "  emit { card, a: a.amount, b: b.amount }\n"
        "rule added_window on tx by merchant\n"
        "  window tumbling 10s when count() >= 3 emit { merchant, n: count() }\n";
    const char *again = "rule added_again on tx by card\n"
                        "  match a where amount > 85 then b where amount > 85 within 10s\n"
                        "  emit { card }\n";
    char *without_sessions = strdup(STATEFUL_RULES);
    char *at = strstr(without_sessions, "rule sessions");
    char *end = strstr(at, "rule remembered");
    memmove(at, end, strlen(end) + 1);
    /* and then the first rule of all, so every rule after it moves */
    char *without_first = strdup(without_sessions);
    at = strstr(without_first, "rule kleene_no_skip");
    end = strstr(at, "rule kleene_skip_next");
    memmove(at, end, strlen(end) + 1);
    char *steps[] = {
        joined((const char *[]){STATEFUL_RULES, NULL}),
        joined((const char *[]){STATEFUL_RULES, probe, NULL}),          /* added */
        joined((const char *[]){STATEFUL_RULES, probe, later, NULL}),   /* added again */
        /* both changed in place: their old states wait in the blocks */
        joined((const char *[]){STATEFUL_RULES, probe_changed, changed, NULL}),
        joined((const char *[]){STATEFUL_RULES, probe, NULL}),          /* last one dropped */
        joined((const char *[]){STATEFUL_RULES, probe, again, NULL}),   /* into a long block */
        /* dropped from the middle: the rules after it move to earlier
         * places in each block as its key is touched or swept */
        joined((const char *[]){without_sessions, probe, again, NULL}),
        joined((const char *[]){without_first, probe, again, NULL}), /* and again */
        /* the first rule back: every other rule moves to a later place,
         * into a new block as each key is swept */
        joined((const char *[]){without_sessions, probe, again, NULL}),
        /* two rules trade places */
        joined((const char *[]){without_sessions, again, probe, NULL}),
    };
    const size_t first_moving = 6;
    const size_t n_steps = sizeof steps / sizeof *steps;
    lines in = random_events(7, 7000);
    /* by snapshot; by adopt, dropped states freed as keys are touched; the
     * same with a few slots swept after every event, as a shard does */
    lines by_snapshot = {0}, by_adopt = {0}, by_sweep = {0};
    size_t swept_while_pending = 0;
    for (int way = 0; way < 3; way++) {
        lines *out = way == 0 ? &by_snapshot : way == 1 ? &by_adopt : &by_sweep;
        weir_ruleset *rs = compile_text(steps[0]);
        weir_engine *e = new_engine(rs, out);
        size_t i = 0;
        for (size_t step = 1; step < n_steps; step++) {
            for (size_t until = in.n * step / n_steps; i < until; i++) {
                weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
                if (way == 2 && weir_engine_sweep_pending(e)) {
                    swept_while_pending++;
                    (void)weir_engine_sweep(e, 3);
                }
            }
            weir_ruleset *next = compile_text(steps[step]);
            weir_restore_report rep;
            e = way ? adopt_into(e, next, out, &rep) : save_restore(e, next, out, &rep);
            if (way == 1 && step >= first_moving)
                cr_assert(weir_engine_sweep_pending(e),
                          "step %zu: the blocks were rebuilt, not left to be swept", step);
            weir_ruleset_free(rs);
            rs = next;
        }
        for (; i < in.n; i++)
            weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
        weir_engine_finish(e);
        weir_engine_free(e);
        weir_ruleset_free(rs);
    }
    cr_assert_geq(swept_while_pending, 2, "the sweep ran between events, after two swaps");
    assert_same(&by_snapshot, &by_sweep, "blocks kept and swept bit by bit against rebuilt ones");
    lines_free(&by_sweep);
    static const char *const added[] = {"added_probe", "added_later", "added_again"};
    for (size_t r = 0; r < 3; r++) {
        size_t n = 0;
        for (size_t k = 0; k < by_adopt.n; k++)
            n += rule_is(by_adopt.v[k], added[r]);
        cr_assert_gt(n, 5, "%s raises alerts, on keys made before it", added[r]);
    }
    assert_same(&by_snapshot, &by_adopt, "blocks kept against rebuilt ones");
    lines_free(&by_snapshot);
    lines_free(&by_adopt);
    lines_free(&in);
    for (size_t k = 0; k < n_steps; k++)
        free(steps[k]);
    free(without_sessions);
    free(without_first);
}

Test(adopt, a_changed_stream_is_refused_and_nothing_is_touched)
{
    weir_ruleset *rs = compile_text(STATEFUL_RULES);
    /* one more field in the stream: states hold events laid out the old way */
    char *text = strdup(STATEFUL_RULES);
    char *ts = strstr(text, ", ts time }");
    cr_assert_not_null(ts);
    size_t len = strlen(text);
    char *wider = malloc(len + 32);
    memcpy(wider, text, (size_t)(ts - text));
    strcpy(wider + (ts - text), ", extra int");
    strcat(wider, ts);
    weir_ruleset *other = compile_text(wider);
    lines in = random_events(2, 2000);
    lines want = run(rs, &in, 0);
    lines got = {0};
    weir_engine *e = new_engine(rs, &got);
    size_t half = in.n / 2;
    for (size_t i = 0; i < half; i++)
        weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
    weir_engine *fresh = new_engine(other, &got);
    weir_restore_report rep;
    cr_assert_eq(weir_engine_adopt(fresh, e, &rep), 1);
    weir_engine_free(fresh);
    for (size_t i = half; i < in.n; i++)
        weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
    weir_engine_finish(e);
    weir_engine_free(e);
    assert_same(&want, &got, "the old engine after a refused take-over");
    lines_free(&want);
    lines_free(&got);
    lines_free(&in);
    free(wider);
    free(text);
    weir_ruleset_free(other);
    weir_ruleset_free(rs);
}

/* ----------------------------------------------- stored events' width */

/* The n lines of v. */
static lines lines_of(const char *const *v, size_t n)
{
    lines l = {0};
    for (size_t i = 0; i < n; i++)
        lines_add(&l, v[i], strlen(v[i]));
    return l;
}

/* Rule a reads card and amount; with b, the rule set also reads note. A
 * stored copy of an event keeps the fields up to the last one the rule set
 * reads, and a snapshot holds all of them: a partial match carries over
 * between the two rule sets either way, by restore or by take-over. */
#define WIDTH_STREAM                                                                    \
    "stream pay event time ts, lateness 0s\n"                                          \
    "  { card string, amount decimal, merchant string, note string, ts time }\n"
#define WIDTH_RULE_A                                                                    \
    "rule a on pay by card\n"                                                          \
    "  match p where amount < 2 then q where amount > 100 within 1h\n"                 \
    "  emit { card }\n"
#define WIDTH_RULE_B "rule b on pay by card match x where note == \"zz\" emit { card }\n"

static const char *const WIDTH_EVENTS[] = {
    "{\"card\":\"c1\",\"amount\":1,\"merchant\":\"m1\",\"note\":\"n1\",\"ts\":\"2026-01-05T10:00:00Z\"}",
    "{\"card\":\"c1\",\"amount\":500,\"merchant\":\"m2\",\"note\":\"n2\",\"ts\":\"2026-01-05T10:01:00Z\"}",
};

/* The alert of rule a after event 0 went to an engine for `from` and event
 * 1 to one for `to`, moved by restore (adopt false) or take-over. */
static char *width_alert(const char *from, const char *to, bool adopt)
{
    weir_ruleset *rs_from = compile_text(from), *rs_to = compile_text(to);
    lines got = {0};
    weir_engine *e = new_engine(rs_from, &got);
    weir_engine_push(e, WIDTH_EVENTS[0], strlen(WIDTH_EVENTS[0]), 1);
    weir_restore_report rep;
    e = adopt ? adopt_into(e, rs_to, &got, &rep) : save_restore(e, rs_to, &got, &rep);
    cr_assert_eq(rep.rules_restored, 1);
    weir_engine_push(e, WIDTH_EVENTS[1], strlen(WIDTH_EVENTS[1]), 2);
    weir_engine_finish(e);
    weir_engine_free(e);
    cr_assert_eq(got.n, 1);
    char *alert = strdup(got.v[0]);
    lines_free(&got);
    weir_ruleset_free(rs_from);
    weir_ruleset_free(rs_to);
    return alert;
}

Test(snapshot, stored_events_move_between_rule_sets_that_read_more_or_fewer_fields)
{
    const char *narrow = WIDTH_STREAM WIDTH_RULE_A, *wide = WIDTH_STREAM WIDTH_RULE_A WIDTH_RULE_B;
    lines in = lines_of(WIDTH_EVENTS, 2);
    weir_ruleset *rs = compile_text(narrow);
    lines want = run(rs, &in, 0);
    cr_assert_eq(want.n, 1);
    cr_assert(strstr(want.v[0], "\"p\":[{\"card\":\"c1\",\"amount\":1,"
                                "\"ts\":\"2026-01-05T10:00:00.000Z\"}]"),
              "%s", want.v[0]);
    for (int adopt = 0; adopt < 2; adopt++) {
        /* wide to narrow: the copy of event 0 held `note`. Restored, it
         * is copied again as the narrow rule set copies, and the alert is
         * the one that rule set gives alone; taken over, the copy stays as
         * it was made */
        char *got = width_alert(wide, narrow, adopt);
        if (adopt)
            cr_assert(strstr(got, "\"p\":[{\"card\":\"c1\",\"amount\":1,\"note\":\"n1\","
                                  "\"ts\":\"2026-01-05T10:00:00.000Z\"}]"),
                      "%s", got);
        else
            cr_assert_str_eq(got, want.v[0]);
        free(got);
        /* narrow to wide: event 0 was copied without `note` (nothing read
         * it then) but with its time; event 1 has its note */
        got = width_alert(narrow, wide, adopt);
        cr_assert(strstr(got, "\"p\":[{\"card\":\"c1\",\"amount\":1,"
                              "\"ts\":\"2026-01-05T10:00:00.000Z\"}]"),
                  "%s", got);
        cr_assert(strstr(got, "\"q\":[{\"card\":\"c1\",\"amount\":500,\"note\":\"n2\","
                              "\"ts\":\"2026-01-05T10:01:00.000Z\"}]"),
                  "%s", got);
        free(got);
    }
    lines_free(&want);
    lines_free(&in);
    weir_ruleset_free(rs);
}

/* Events waiting for the watermark are copied with the fields the rule set
 * reads; a rule set that reads more after a take-over or a restore must
 * find them, the event time included (here `ts`, which only b reads). */
#define HELD_STREAM                                                                     \
    "stream pay event time ts, lateness 1m { card string, amount decimal, ts time }\n"
#define HELD_RULE_A "rule a on pay by card match p where amount < 2 emit { card }\n"
#define HELD_RULE_B "rule b on pay by card match x where amount > 100 emit { card, at: ts }\n"

Test(snapshot, held_events_widen_for_a_rule_set_that_reads_more)
{
    const char *narrow = HELD_STREAM HELD_RULE_A, *wide = HELD_STREAM HELD_RULE_A HELD_RULE_B;
    static const char *const events[] = {
        "{\"card\":\"c1\",\"amount\":500,\"ts\":\"2026-01-05T10:00:00Z\"}",
        "{\"card\":\"c2\",\"amount\":1,\"ts\":\"2026-01-05T10:00:10Z\"}",
    };
    lines in = lines_of(events, 2);
    weir_ruleset *rs_wide = compile_text(wide);
    lines want = run(rs_wide, &in, 0);
    cr_assert_eq(want.n, 2);
    cr_assert(strstr(want.v[0], "\"at\":\"2026-01-05T10:00:00.000Z\""), "%s", want.v[0]);
    for (int adopt = 0; adopt < 2; adopt++) {
        weir_ruleset *rs_narrow = compile_text(narrow);
        lines got = {0};
        weir_engine *e = new_engine(rs_narrow, &got);
        for (size_t i = 0; i < in.n; i++)
            weir_engine_push(e, in.v[i], strlen(in.v[i]), i + 1);
        weir_restore_report rep;
        e = adopt ? adopt_into(e, rs_wide, &got, &rep) : save_restore(e, rs_wide, &got, &rep);
        cr_assert_eq(rep.held_events, 2, "both wait for the watermark");
        weir_engine_finish(e);
        weir_engine_free(e);
        assert_same(&want, &got, adopt ? "taken over" : "restored");
        lines_free(&got);
        weir_ruleset_free(rs_narrow);
    }
    lines_free(&want);
    lines_free(&in);
    weir_ruleset_free(rs_wide);
}
