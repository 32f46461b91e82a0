/* test_store.c — the checkpoint store's shared parts (checksum, manifest,
 * ids) and the directory store on a real temporary directory: round trips,
 * latest, keep-N pruning, savepoints, list and delete, damage of every kind
 * refused with a message naming it, a crash mid-write left invisible, and
 * the worker-thread mode on a libevent loop. */
#include <criterion/criterion.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/manifest.h"
#include "state/store.h"
#include "state/xxh64.h"

/* ---- fixture: a fresh directory per test */

static char root[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void make_root(void)
{
    snprintf(root, sizeof root, "/tmp/weir-store-test.XXXXXX");
    cr_assert(mkdtemp(root), "mkdtemp: %s", strerror(errno));
}

static void remove_root(void)
{
    if (root[0])
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store_dir, .init = make_root, .fini = remove_root);

/* ---- helpers */

typedef struct put_result {
    int calls;
    int ok;
    char error[512];
} put_result;

static void on_put(void *user, int ok, const char *error)
{
    put_result *r = user;
    r->calls++;
    r->ok = ok;
    snprintf(r->error, sizeof r->error, "%s", error ? error : "");
}

static weir_store *open_dir(const char *job, unsigned keep)
{
    char err[256];
    weir_store_options opt = {.job = job, .keep = keep};
    weir_store *s = weir_store_open_dir(root, &opt, err, sizeof err);
    cr_assert(s, "open: %s", err);
    return s;
}

/* Deterministic bytes that differ per seed and position. */
static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *p = malloc(len ? len : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

static void put_ok(weir_store *s, weir_store_kind kind, const char *id,
                   const weir_store_part *parts, size_t n)
{
    put_result r = {0};
    char err[256];
    cr_assert_eq(weir_store_put(s, kind, id, parts, n, on_put, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.ok, 0, "put %s: %s", id, r.error);
}

/* A one-part checkpoint whose data says its id. */
static void put_small(weir_store *s, weir_store_kind kind, const char *id)
{
    weir_store_part part = {"meta", id, strlen(id)};
    put_ok(s, kind, id, &part, 1);
}

/* get must refuse, with every needle in the message. */
static void expect_refused(weir_store *s, weir_store_kind kind, const char *id, const char *n1,
                           const char *n2)
{
    weir_store_read rd;
    char err[512];
    int rc = weir_store_get(s, kind, id, &rd, err, sizeof err);
    cr_assert_eq(rc, -1, "get %s returned %d", id, rc);
    cr_assert(strstr(err, n1), "'%s' not in: %s", n1, err);
    if (n2)
        cr_assert(strstr(err, n2), "'%s' not in: %s", n2, err);
    cr_assert_null(rd.parts);
    weir_store_read_free(&rd);
}

static void path_of(char *buf, size_t cap, const char *job, const char *rest)
{
    snprintf(buf, cap, "%s/%s/%s", root, job, rest);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- the checksum */

Test(xxh64, known_values)
{
    cr_assert_eq(weir_xxh64("", 0, 0), 0xEF46DB3751D8E999ULL);
    cr_assert_eq(weir_xxh64("abc", 3, 0), 0x44BC2CF5AD770999ULL);
    const char *s = "Nobody inspects the spammish repetition";
    cr_assert_eq(weir_xxh64(s, strlen(s), 0), 0xFBCEA83C8A378BF1ULL);
}

Test(xxh64, streaming_equals_one_shot_for_any_split)
{
    size_t n = 100003;
    unsigned char *b = pattern(n, 7);
    uint64_t one = weir_xxh64(b, n, 0);
    for (size_t step = 1; step < 300; step += 29) {
        weir_xxh64_state st;
        weir_xxh64_init(&st, 0);
        for (size_t off = 0; off < n;) {
            size_t k = step + off % 17;
            if (k > n - off)
                k = n - off;
            weir_xxh64_update(&st, b + off, k);
            off += k;
        }
        cr_assert_eq(weir_xxh64_digest(&st), one, "split %zu", step);
    }
    /* Short inputs go through the no-stripe path in both forms. */
    for (size_t len = 0; len < 70; len++) {
        weir_xxh64_state st;
        weir_xxh64_init(&st, 0);
        weir_xxh64_update(&st, b, len);
        cr_assert_eq(weir_xxh64_digest(&st), weir_xxh64(b, len, 0), "len %zu", len);
    }
    free(b);
}

/* ---- the manifest */

static weir_manifest sample_manifest(void)
{
    static weir_manifest_part parts[2] = {
        {"meta", 12, 1, 0x0123456789abcdefULL},
        {"shard-0", 10485760, 3, 0xfedcba9876543210ULL},
    };
    weir_manifest m = {.kind = WEIR_STORE_CHECKPOINT, .created_ms = 1732900000000,
                       .chunk_size = 4194304, .n_parts = 2, .parts = parts};
    strcpy(m.job, "payments");
    strcpy(m.id, "42");
    strcpy(m.store, "redis");
    strcpy(m.token, "9f3a0c5e11b2d4e7");
    return m;
}

Test(manifest, round_trip)
{
    weir_manifest m = sample_manifest();
    size_t len;
    char *text = weir_manifest_encode(&m, &len);
    cr_assert(text);
    cr_assert_eq(strlen(text), len);
    cr_assert(strncmp(text, "weir-manifest 1\njob payments\nkind checkpoint\nid 42\n", 50) == 0,
              "%s", text);
    weir_manifest back;
    char err[256];
    cr_assert_eq(weir_manifest_parse(text, len, &back, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(back.job, "payments");
    cr_assert_eq(back.kind, WEIR_STORE_CHECKPOINT);
    cr_assert_str_eq(back.id, "42");
    cr_assert_eq(back.created_ms, 1732900000000);
    cr_assert_eq(back.chunk_size, 4194304);
    cr_assert_str_eq(back.token, "9f3a0c5e11b2d4e7");
    cr_assert_eq(back.n_parts, 2);
    cr_assert_str_eq(back.parts[1].name, "shard-0");
    cr_assert_eq(back.parts[1].len, 10485760);
    cr_assert_eq(back.parts[1].chunks, 3);
    cr_assert_eq(back.parts[1].hash, 0xfedcba9876543210ULL);
    weir_manifest_clear(&back);
    free(text);
}

static void expect_parse_error(const char *text, size_t len, const char *needle)
{
    weir_manifest m;
    char err[256] = "";
    cr_assert_eq(weir_manifest_parse(text, len, &m, err, sizeof err), -1, "accepted: %s", text);
    cr_assert(strstr(err, needle), "'%s' not in: %s", needle, err);
    weir_manifest_clear(&m);
}

Test(manifest, refuses_damage_with_the_line)
{
    weir_manifest m = sample_manifest();
    size_t len;
    char *text = weir_manifest_encode(&m, &len);

    expect_parse_error("PK\3\4garbage", 11, "not a weir manifest");
    expect_parse_error("", 0, "not a weir manifest");
    /* Cut anywhere: always refused. */
    for (size_t cut = 0; cut < len; cut++) {
        weir_manifest back;
        cr_assert_eq(weir_manifest_parse(text, cut, &back, NULL, 0), -1, "cut at %zu", cut);
        weir_manifest_clear(&back);
    }
    expect_parse_error(text, len - 20, "truncated");
    /* Any one byte changed: refused (a field error or the end checksum). */
    for (size_t i = 0; i < len; i++) {
        char *copy = malloc(len);
        memcpy(copy, text, len);
        copy[i] ^= 0x01;
        weir_manifest back;
        cr_assert_eq(weir_manifest_parse(copy, len, &back, NULL, 0), -1, "flip at %zu", i);
        weir_manifest_clear(&back);
        free(copy);
    }
    char *edited = strdup(text);
    memcpy(strstr(edited, "id 42"), "id 43", 5);
    expect_parse_error(edited, len, "checksum mismatch");
    free(edited);

    char *extra = malloc(len + 4);
    memcpy(extra, text, len);
    memcpy(extra + len, "xyz\n", 4);
    expect_parse_error(extra, len + 4, "unexpected bytes after the end");
    free(extra);

    expect_parse_error("weir-manifest 7\n", 16, "newer than this weir");
    expect_parse_error("weir-manifest 1\njob pay ments\n", 30, "line 2");
    free(text);
}

Test(manifest, refuses_wrong_chunk_counts)
{
    weir_manifest m = sample_manifest();
    m.parts[1].chunks = 2; /* 10 MiB in 4 MiB chunks is 3 */
    size_t len;
    char *text = weir_manifest_encode(&m, &len);
    expect_parse_error(text, len, "should have 3 chunks");
    free(text);
    m.parts[1].chunks = 3;
}

/* ---- ids and names */

Test(store_ids, checkpoint_and_savepoint_rules)
{
    char err[256];
    cr_assert(weir_store_id_valid(WEIR_STORE_CHECKPOINT, "0", err, sizeof err));
    cr_assert(weir_store_id_valid(WEIR_STORE_CHECKPOINT, "18446744073709551615", NULL, 0));
    cr_assert_not(weir_store_id_valid(WEIR_STORE_CHECKPOINT, "18446744073709551616", NULL, 0));
    cr_assert_not(weir_store_id_valid(WEIR_STORE_CHECKPOINT, "042", NULL, 0));
    cr_assert_not(weir_store_id_valid(WEIR_STORE_CHECKPOINT, "", NULL, 0));
    cr_assert_not(weir_store_id_valid(WEIR_STORE_CHECKPOINT, "4a", err, sizeof err));
    cr_assert(strstr(err, "bad checkpoint id '4a'"), "%s", err);

    cr_assert(weir_store_id_valid(WEIR_STORE_SAVEPOINT, "before-swap_2.1", NULL, 0));
    cr_assert(weir_store_id_valid(WEIR_STORE_SAVEPOINT, "-x", NULL, 0));
    char max[66];
    memset(max, 'a', 64);
    max[64] = '\0';
    cr_assert(weir_store_id_valid(WEIR_STORE_SAVEPOINT, max, NULL, 0));
    max[64] = 'a', max[65] = '\0';
    cr_assert_not(weir_store_id_valid(WEIR_STORE_SAVEPOINT, max, NULL, 0));
    const char *bad[] = {"", ".", "..", ".hidden", "a/b", "a b", "a:b", "ä", "a\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_not(weir_store_id_valid(WEIR_STORE_SAVEPOINT, bad[i], err, sizeof err), "%s",
                      bad[i]);
    cr_assert(strstr(err, "bad savepoint id"), "%s", err);
}

Test(store_ids, generated_savepoint_ids_are_valid_and_differ)
{
    char a[32], b[32];
    weir_store_savepoint_id(1732900000123, a, sizeof a);
    weir_store_savepoint_id(1732900000123, b, sizeof b);
    cr_assert(weir_store_id_valid(WEIR_STORE_SAVEPOINT, a, NULL, 0), "%s", a);
    cr_assert(strncmp(a, "sp-20241129T170640Z-", 20) == 0, "%s", a);
    cr_assert_eq(strlen(a), 28);
    cr_assert_str_neq(a, b);
}

Test(store_ids, open_refuses_bad_options)
{
    char err[256];
    weir_store_options opt = {.job = "bad/job"};
    cr_assert_null(weir_store_open_dir("/tmp", &opt, err, sizeof err));
    cr_assert(strstr(err, "bad job name"), "%s", err);
    opt.job = "ok";
    cr_assert_null(weir_store_open("ftp://x", &opt, err, sizeof err));
    cr_assert(strstr(err, "unknown store"), "%s", err);
    cr_assert_null(weir_store_open("redis://h:99999", &opt, err, sizeof err));
    cr_assert(strstr(err, "bad Redis URL"), "%s", err);
    /* Redis writes need a loop. */
    cr_assert_null(weir_store_open("redis://127.0.0.1:6379", &opt, err, sizeof err));
    cr_assert(strstr(err, "event base"), "%s", err);
}

Test(store_dir, urls_name_the_store)
{
    char err[256], url[300];
    struct event_base *base = event_base_new();
    weir_store_options opt = {.job = "job", .base = base};
    /* Opening Redis does not connect: nothing listens on these. */
    const char *redis[] = {"redis://127.0.0.1", "redis://127.0.0.1:6390/", "redis://[::1]:6390",
                           "redis://localhost:1"};
    for (size_t i = 0; i < sizeof redis / sizeof *redis; i++) {
        weir_store *s = weir_store_open(redis[i], &opt, err, sizeof err);
        cr_assert(s, "%s: %s", redis[i], err);
        cr_assert_str_eq(weir_store_backend(s), "redis");
        weir_store_free(s);
    }
    cr_assert_null(weir_store_open("redis://h:1/2", &opt, err, sizeof err));
    cr_assert(strstr(err, "not supported"), "%s", err);
    cr_assert_null(weir_store_open("redis://[::1", &opt, err, sizeof err));
    opt.base = NULL;
    const char *forms[][2] = {{"dir:", ""}, {"file://", ""}, {"", ""}, {"", "/"}};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        snprintf(url, sizeof url, "%s%s%s", forms[i][0], root, forms[i][1]);
        weir_store *s = weir_store_open(url, &opt, err, sizeof err);
        cr_assert(s, "%s: %s", url, err);
        cr_assert_str_eq(weir_store_backend(s), "dir");
        weir_store_free(s);
    }
    char path[256];
    path_of(path, sizeof path, "job", "checkpoints");
    cr_assert(exists(path));
    event_base_free(base);
}

/* ---- the directory store */

Test(store_dir, round_trip_of_several_parts)
{
    weir_store *s = open_dir("payments", 0);
    cr_assert_str_eq(weir_store_backend(s), "dir");
    size_t big = 10 * 1024 * 1024 + 17;
    unsigned char *shard0 = pattern(big, 1), *shard1 = pattern(4096, 2);
    const char *meta = "{\"rules\":3}";
    weir_store_part parts[] = {
        {"meta", meta, strlen(meta)},
        {"shard-0", shard0, big},
        {"shard-1", shard1, 4096},
        {"offsets", NULL, 0},
    };
    char id[80], err[256];
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 1);
    put_ok(s, WEIR_STORE_CHECKPOINT, "7", parts, 4);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(id, "7");

    weir_store_read rd;
    cr_assert_eq(weir_store_get(s, WEIR_STORE_CHECKPOINT, "7", &rd, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(rd.kind, WEIR_STORE_CHECKPOINT);
    cr_assert_str_eq(rd.id, "7");
    cr_assert_eq(rd.n_parts, 4);
    cr_assert_gt(rd.created_ms, 1700000000000);
    for (size_t i = 0; i < 4; i++) {
        cr_assert_str_eq(rd.parts[i].name, parts[i].name);
        cr_assert_eq(rd.parts[i].len, parts[i].len);
        cr_assert(parts[i].len == 0 || memcmp(rd.parts[i].data, parts[i].data, parts[i].len) == 0,
                  "part %s differs", parts[i].name);
        cr_assert_eq(((char *)rd.parts[i].data)[rd.parts[i].len], '\0');
    }
    cr_assert_eq(weir_store_read_part_named(&rd, "shard-1"), &rd.parts[2]);
    cr_assert_null(weir_store_read_part_named(&rd, "shard-9"));
    weir_store_read_free(&rd);

    /* Private files: checkpoints hold card numbers. */
    char path[256];
    path_of(path, sizeof path, "payments", "checkpoints/7/shard-0.part");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    path_of(path, sizeof path, "payments", "checkpoints/7");
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);

    cr_assert_eq(weir_store_get(s, WEIR_STORE_CHECKPOINT, "8", &rd, err, sizeof err), 1);
    cr_assert(strstr(err, "no checkpoint 8"), "%s", err);
    weir_store_free(s);
    free(shard0);
    free(shard1);
}

Test(store_dir, keeps_the_newest_n_checkpoints)
{
    weir_store *s = open_dir("job", 3);
    char id[80];
    for (int i = 1; i <= 6; i++) {
        snprintf(id, sizeof id, "%d", i * 10);
        put_small(s, WEIR_STORE_CHECKPOINT, id);
    }
    weir_store_entry *e;
    size_t n;
    char err[256];
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(e[0].id, "40");
    cr_assert_str_eq(e[1].id, "50");
    cr_assert_str_eq(e[2].id, "60");
    cr_assert_eq(e[2].total_bytes, 2);
    cr_assert_eq(e[2].n_parts, 1);
    cr_assert_not(e[2].damaged);
    free(e);
    char path[256];
    path_of(path, sizeof path, "job", "checkpoints/30");
    cr_assert_not(exists(path));
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0);
    cr_assert_str_eq(id, "60");
    /* Numeric order, not text order: 100 is newer than 60. */
    put_small(s, WEIR_STORE_CHECKPOINT, "100");
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(e[0].id, "50");
    cr_assert_str_eq(e[2].id, "100");
    free(e);
    weir_store_free(s);
}

Test(store_dir, savepoints_are_never_pruned)
{
    weir_store *s = open_dir("job", 2);
    const char *names[] = {"before-swap", "sp-1", "sp-2", "sp-3", "nightly.2024-11-29"};
    for (size_t i = 0; i < 5; i++)
        put_small(s, WEIR_STORE_SAVEPOINT, names[i]);
    for (int i = 1; i <= 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", i);
        put_small(s, WEIR_STORE_CHECKPOINT, id);
    }
    weir_store_entry *e;
    size_t n;
    char err[256];
    cr_assert_eq(weir_store_list(s, WEIR_STORE_SAVEPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 5);
    for (size_t i = 1; i < n; i++)
        cr_assert_leq(e[i - 1].created_ms, e[i].created_ms);
    free(e);
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 2);
    free(e);

    cr_assert_eq(weir_store_delete(s, WEIR_STORE_SAVEPOINT, "sp-2", err, sizeof err), 0, "%s", err);
    cr_assert_eq(weir_store_delete(s, WEIR_STORE_SAVEPOINT, "sp-2", err, sizeof err), 1);
    cr_assert(strstr(err, "no savepoint sp-2"), "%s", err);
    cr_assert_eq(weir_store_delete(s, WEIR_STORE_SAVEPOINT, "../x", err, sizeof err), -1);
    cr_assert_eq(weir_store_list(s, WEIR_STORE_SAVEPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 4);
    free(e);
    weir_store_read rd;
    cr_assert_eq(weir_store_get(s, WEIR_STORE_SAVEPOINT, "before-swap", &rd, err, sizeof err), 0,
                 "%s", err);
    cr_assert_str_eq(rd.parts[0].data, "before-swap");
    weir_store_read_free(&rd);
    /* A savepoint id that looks like a checkpoint id is still a savepoint. */
    cr_assert_eq(weir_store_get(s, WEIR_STORE_SAVEPOINT, "4", &rd, err, sizeof err), 1);
    weir_store_free(s);
}

Test(store_dir, deleting_the_latest_checkpoint_moves_latest)
{
    weir_store *s = open_dir("job", 5);
    put_small(s, WEIR_STORE_CHECKPOINT, "1");
    put_small(s, WEIR_STORE_CHECKPOINT, "2");
    char id[80], err[256];
    cr_assert_eq(weir_store_delete(s, WEIR_STORE_CHECKPOINT, "2", err, sizeof err), 0, "%s", err);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0);
    cr_assert_str_eq(id, "1");
    cr_assert_eq(weir_store_delete(s, WEIR_STORE_CHECKPOINT, "1", err, sizeof err), 0);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 1);
    weir_store_free(s);
}

Test(store_dir, replacing_an_id_swaps_it_whole)
{
    weir_store *s = open_dir("job", 0);
    put_small(s, WEIR_STORE_SAVEPOINT, "x");
    weir_store_part parts[] = {{"meta", "second", 6}, {"more", "!", 1}};
    put_ok(s, WEIR_STORE_SAVEPOINT, "x", parts, 2);
    weir_store_read rd;
    char err[256];
    cr_assert_eq(weir_store_get(s, WEIR_STORE_SAVEPOINT, "x", &rd, err, sizeof err), 0, "%s", err);
    cr_assert_eq(rd.n_parts, 2);
    cr_assert_str_eq(rd.parts[0].data, "second");
    weir_store_read_free(&rd);
    weir_store_free(s);
}

Test(store_dir, refuses_bad_arguments_without_calling_back)
{
    weir_store *s = open_dir("job", 0);
    put_result r = {0};
    char err[256];
    weir_store_part dup[] = {{"a", "1", 1}, {"a", "2", 1}};
    cr_assert_eq(weir_store_put(s, WEIR_STORE_CHECKPOINT, "1", dup, 2, on_put, &r, err, sizeof err),
                 -1);
    cr_assert(strstr(err, "part 'a' given twice"), "%s", err);
    weir_store_part bad[] = {{"MANIFEST/x", "1", 1}};
    cr_assert_eq(weir_store_put(s, WEIR_STORE_CHECKPOINT, "1", bad, 1, on_put, &r, err, sizeof err),
                 -1);
    cr_assert(strstr(err, "bad part name"), "%s", err);
    cr_assert_eq(weir_store_put(s, WEIR_STORE_CHECKPOINT, "1", dup, 0, on_put, &r, err, sizeof err),
                 -1);
    cr_assert_eq(
        weir_store_put(s, WEIR_STORE_CHECKPOINT, "x1", dup, 1, on_put, &r, err, sizeof err), -1);
    cr_assert(strstr(err, "bad checkpoint id"), "%s", err);
    cr_assert_eq(r.calls, 0);
    weir_store_free(s);
}

Test(store_dir, jobs_sharing_a_directory_do_not_see_each_other)
{
    weir_store *a = open_dir("alpha", 0), *b = open_dir("beta", 0);
    put_small(a, WEIR_STORE_CHECKPOINT, "5");
    put_small(b, WEIR_STORE_SAVEPOINT, "5");
    char id[80], err[256];
    cr_assert_eq(weir_store_latest(b, id, sizeof id, err, sizeof err), 1);
    weir_store_read rd;
    cr_assert_eq(weir_store_get(b, WEIR_STORE_CHECKPOINT, "5", &rd, err, sizeof err), 1);
    cr_assert_eq(weir_store_get(a, WEIR_STORE_SAVEPOINT, "5", &rd, err, sizeof err), 1);
    /* A checkpoint moved into another job's tree is recognised as foreign. */
    char from[256], to[256];
    path_of(from, sizeof from, "alpha", "checkpoints/5");
    path_of(to, sizeof to, "beta", "checkpoints/5");
    cr_assert_eq(rename(from, to), 0);
    expect_refused(b, WEIR_STORE_CHECKPOINT, "5", "belongs to checkpoint 5 of job 'alpha'",
                   "foreign");
    weir_store_free(a);
    weir_store_free(b);
}

/* ---- damage */

static weir_store *store_with_checkpoint(void)
{
    weir_store *s = open_dir("job", 0);
    unsigned char *data = pattern(100000, 3);
    weir_store_part parts[] = {{"meta", "m", 1}, {"shard-0", data, 100000}};
    put_ok(s, WEIR_STORE_CHECKPOINT, "9", parts, 2);
    free(data);
    return s;
}

Test(store_dir, truncated_part_is_refused)
{
    weir_store *s = store_with_checkpoint();
    char path[256];
    path_of(path, sizeof path, "job", "checkpoints/9/shard-0.part");
    cr_assert_eq(truncate(path, 4096), 0);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "part 'shard-0' has 4096 bytes", "truncated");
    weir_store_free(s);
}

Test(store_dir, flipped_byte_is_refused)
{
    weir_store *s = store_with_checkpoint();
    char path[256];
    path_of(path, sizeof path, "job", "checkpoints/9/shard-0.part");
    int fd = open(path, O_RDWR);
    unsigned char c;
    cr_assert_eq(pread(fd, &c, 1, 54321), 1);
    c ^= 0x10;
    cr_assert_eq(pwrite(fd, &c, 1, 54321), 1);
    close(fd);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "part 'shard-0' is damaged", "checksum");
    weir_store_free(s);
}

Test(store_dir, missing_part_or_manifest_is_refused)
{
    weir_store *s = store_with_checkpoint();
    char path[256];
    path_of(path, sizeof path, "job", "checkpoints/9/meta.part");
    cr_assert_eq(unlink(path), 0);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "part 'meta'", "missing");
    path_of(path, sizeof path, "job", "checkpoints/9/MANIFEST");
    cr_assert_eq(unlink(path), 0);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "no manifest", NULL);
    /* Still listed, marked damaged, so an operator can see and delete it. */
    weir_store_entry *e;
    size_t n;
    char err[256];
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    cr_assert(e[0].damaged);
    free(e);
    cr_assert_eq(weir_store_delete(s, WEIR_STORE_CHECKPOINT, "9", err, sizeof err), 0, "%s", err);
    weir_store_free(s);
}

Test(store_dir, garbage_and_foreign_files_are_refused_or_ignored)
{
    weir_store *s = store_with_checkpoint();
    char path[256], err[256];
    path_of(path, sizeof path, "job", "checkpoints/9/MANIFEST");
    write_file(path, "\x89PNG\r\n\x1a\n....", 12);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "9", "not a weir manifest", "MANIFEST");
    /* Files that are not ids are somebody else's: never listed or read. */
    path_of(path, sizeof path, "job", "checkpoints/README.txt");
    write_file(path, "hello", 5);
    path_of(path, sizeof path, "job", "checkpoints/12");
    write_file(path, "not a directory", 15);
    weir_store_entry *e;
    size_t n;
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1); /* 9, damaged; the file 12 is not a checkpoint */
    cr_assert_str_eq(e[0].id, "9");
    cr_assert(e[0].damaged);
    free(e);
    expect_refused(s, WEIR_STORE_CHECKPOINT, "12", "not a directory", NULL);
    /* A `latest` that is not an id. */
    path_of(path, sizeof path, "job", "latest");
    write_file(path, "../../etc\n", 10);
    char id[80];
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), -1);
    cr_assert(strstr(err, "latest is damaged"), "%s", err);
    write_file(path, "9", 1);
    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), -1);
    weir_store_free(s);
}

Test(store_dir, a_crash_mid_write_is_invisible_and_cleaned_up)
{
    weir_store *s = store_with_checkpoint();
    /* What a crash during put of checkpoint 10 leaves: a temp directory
     * with some parts and no rename; and a half-written latest. */
    char tmp[256], path[300], err[256], id[80];
    path_of(tmp, sizeof tmp, "job", "checkpoints/.tmp-10-Ab12Cd");
    cr_assert_eq(mkdir(tmp, 0700), 0);
    snprintf(path, sizeof path, "%s/meta.part", tmp);
    write_file(path, "half", 4);
    path_of(path, sizeof path, "job", ".tmp-latest-Xy34Zw");
    write_file(path, "1", 1);

    cr_assert_eq(weir_store_latest(s, id, sizeof id, err, sizeof err), 0);
    cr_assert_str_eq(id, "9");
    weir_store_read rd;
    cr_assert_eq(weir_store_get(s, WEIR_STORE_CHECKPOINT, "10", &rd, err, sizeof err), 1);
    weir_store_entry *e;
    size_t n;
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(e[0].id, "9");
    free(e);
    cr_assert_eq(weir_store_get(s, WEIR_STORE_CHECKPOINT, "9", &rd, err, sizeof err), 0, "%s", err);
    weir_store_read_free(&rd);
    weir_store_free(s);

    /* Opening the store again removes the litter. */
    s = open_dir("job", 0);
    cr_assert_not(exists(tmp));
    cr_assert_not(exists(path));
    weir_store_free(s);
}

Test(store_dir, unwritable_directory_fails_through_the_callback)
{
    /* A file where the savepoints directory should be: even root cannot
     * write there. */
    weir_store *s = open_dir("job", 0);
    char path[256];
    path_of(path, sizeof path, "job", "savepoints");
    cr_assert_eq(rmdir(path), 0);
    write_file(path, "x", 1);
    put_result r = {0};
    char err[256];
    weir_store_part part = {"meta", "x", 1};
    cr_assert_eq(
        weir_store_put(s, WEIR_STORE_SAVEPOINT, "a", &part, 1, on_put, &r, err, sizeof err), 0);
    cr_assert_eq(r.calls, 1);
    cr_assert_eq(r.ok, -1);
    cr_assert(strstr(r.error, "savepoint a: create"), "%s", r.error);
    weir_store_free(s);
}

/* ---- the worker thread on a loop */

typedef struct loop_put {
    put_result r;
    struct event_base *base;
    weir_store *s;
    bool free_in_callback;
} loop_put;

static void on_loop_put(void *user, int ok, const char *error)
{
    loop_put *lp = user;
    on_put(&lp->r, ok, error);
    if (lp->free_in_callback)
        weir_store_free(lp->s);
}

Test(store_dir, worker_thread_reports_on_the_loop)
{
    struct event_base *base = event_base_new();
    char err[256];
    weir_store_options opt = {.job = "job", .keep = 2, .base = base};
    weir_store *s = weir_store_open_dir(root, &opt, err, sizeof err);
    cr_assert(s, "%s", err);
    size_t len = 3 << 20;
    unsigned char *data = pattern(len, 5);
    weir_store_part part = {"shard-0", data, len};
    loop_put lp[4] = {0};
    const char *ids[] = {"1", "2", "3", "4"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(weir_store_put(s, WEIR_STORE_CHECKPOINT, ids[i], &part, 1, on_loop_put, &lp[i],
                                    err, sizeof err), 0);
    /* Nothing is reported inside put: only the loop reports. */
    for (int i = 0; i < 4; i++)
        cr_assert_eq(lp[i].r.calls, 0);
    for (int spins = 0; lp[3].r.calls == 0 && spins < 10000; spins++)
        event_base_loop(base, EVLOOP_ONCE);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(lp[i].r.calls, 1);
        cr_assert_eq(lp[i].r.ok, 0, "%s", lp[i].r.error);
    }
    weir_store_entry *e;
    size_t n;
    cr_assert_eq(weir_store_list(s, WEIR_STORE_CHECKPOINT, &e, &n, err, sizeof err), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(e[1].id, "4");
    free(e);

    /* Free with puts queued: each is reported exactly once, and a callback
     * may free the store itself. */
    loop_put late[3] = {0};
    for (int i = 0; i < 3; i++) {
        late[i].s = s;
        cr_assert_eq(weir_store_put(s, WEIR_STORE_SAVEPOINT, "late", &part, 1, on_loop_put,
                                    &late[i], err, sizeof err), 0);
    }
    weir_store_free(s);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(late[i].r.calls, 1, "put %d reported %d times", i, late[i].r.calls);
    free(data);
    event_base_free(base);
}

Test(store_dir, callback_may_free_the_store)
{
    struct event_base *base = event_base_new();
    char err[256];
    weir_store_options opt = {.job = "job", .base = base};
    weir_store *s = weir_store_open_dir(root, &opt, err, sizeof err);
    cr_assert(s, "%s", err);
    loop_put lp = {.s = s, .free_in_callback = true};
    weir_store_part part = {"meta", "x", 1};
    cr_assert_eq(weir_store_put(s, WEIR_STORE_CHECKPOINT, "1", &part, 1, on_loop_put, &lp, err,
                                sizeof err), 0);
    for (int spins = 0; lp.r.calls == 0 && spins < 10000; spins++)
        event_base_loop(base, EVLOOP_ONCE);
    cr_assert_eq(lp.r.calls, 1);
    cr_assert_eq(lp.r.ok, 0, "%s", lp.r.error);
    event_base_free(base);
}
