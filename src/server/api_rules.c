/* api_rules.c — rules added over HTTP (PUT /rules/{name}) and their
 * removal (DELETE), and the one place that decides which files make up
 * the running rule set: the configured rule paths, then every
 * <state-dir>/rules/<name>.weir a PUT left there. Keeping API rules as files
 * in the state directory means they survive a restart and a SIGHUP, and an
 * operator can see and remove them with ls and rm.
 *
 * A PUT writes the text to <state-dir>/rules.staging/<name>.weir, compiles
 * the whole set with it, and only when that compiles (and the text declares
 * exactly the rule it is named after) moves it into place and swaps the
 * rules in. Like SIGHUP, a swap starts every rule with fresh state. Each
 * successful PUT of a name counts up that rule's version. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server-internal.h"
#include "server/shard_pool.h"
#include "state/checkpointer.h"
#include "state/store.h"
#include "util/grow_bytes.h"

static char *path_join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", a, b, c);
    return p;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

/* The rule set's paths: configured ones (borrowed copies), the API rules
 * except skip.weir, then extra. -1 when out of memory. */
static int collect_paths(const weir_server *srv, const char *skip, const char *extra,
                         char ***out, size_t *n_out)
{
    size_t cap = srv->cfg->n_rules + 2, n = 0;
    char **paths = malloc(cap * sizeof *paths);
    if (!paths)
        return -1;
    for (size_t i = 0; i < srv->cfg->n_rules; i++)
        if (!(paths[n++] = strdup(srv->cfg->rules[i])))
            goto oom;
    char *dir = path_join(srv->cfg->state_dir, "rules", "");
    if (!dir)
        goto oom;
    DIR *d = opendir(dir);
    size_t first_api = n;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || e->d_name[0] == '.' || strcmp(e->d_name + len - 5, ".weir") != 0)
            continue;
        if (skip && strncmp(e->d_name, skip, len - 5) == 0 && strlen(skip) == len - 5)
            continue;
        if (n + 2 > cap) {
            char **grown = realloc(paths, (cap *= 2) * sizeof *grown);
            if (!grown) {
                closedir(d);
                free(dir);
                goto oom;
            }
            paths = grown;
        }
        if (!(paths[n++] = path_join(dir, e->d_name, ""))) {
            closedir(d);
            free(dir);
            goto oom;
        }
    }
    if (d)
        closedir(d);
    free(dir);
    qsort(paths + first_api, n - first_api, sizeof *paths, cmp_str);
    if (extra && !(paths[n++] = strdup(extra)))
        goto oom;
    *out = paths;
    *n_out = n;
    return 0;
oom:
    free_paths(paths, n);
    return -1;
}

weir_ruleset *weir_server_compile(const weir_server *srv, const char *skip, const char *extra,
                                  weir_diag_cb diag, void *user, weir_compile_status *status)
{
    char **paths;
    size_t n;
    if (collect_paths(srv, skip, extra, &paths, &n) < 0) {
        *status = WEIR_COMPILE_IO_ERROR;
        return NULL;
    }
    weir_compile_options opt = {.diag = diag, .diag_user = user, .no_warnings = true};
    weir_ruleset *rs = NULL;
    *status = weir_ruleset_compile((const char *const *)paths, n, &opt, &rs);
    free_paths(paths, n);
    return rs;
}

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || !(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
                              (name[0] >= 'a' && name[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static int ensure_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* Compiles the set as it now stands on disk and swaps it in. */
static int reload_now(weir_server *srv, char *err, size_t cap)
{
    weir_compile_status st;
    weir_ruleset *rs = weir_server_compile(srv, NULL, NULL, NULL, NULL, &st);
    if (!rs) {
        snprintf(err, cap, "the rule files changed under us and no longer compile");
        return -1;
    }
    /* a savepoint of the state before the swap: what to go back to if
     * the new rule turns out wrong (weir serve --from-savepoint ID) */
    srv->swap_savepoint[0] = '\0';
    if (srv->checkpointer) {
        char why[256];
        if (weir_server_savepoint_create(srv, NULL, srv->swap_savepoint,
                                         sizeof srv->swap_savepoint, why, sizeof why) != 202)
            weir_log_write(&srv->log, WEIR_LOG_WARN, "savepoint_failed",
                           "no savepoint before the rule swap: %s", why);
    }
    return weir_server_swap_rules(srv, rs, err, cap);
}

static weir_rule_version *find_version(const weir_server *srv, const char *name)
{
    for (size_t i = 0; i < srv->n_versions; i++)
        if (strcmp(srv->versions[i].name, name) == 0)
            return &srv->versions[i];
    return NULL;
}

uint64_t weir_server_rule_version(const weir_server *srv, const char *name)
{
    const weir_rule_version *v = find_version(srv, name);
    return v ? v->version : 1;
}

/* After a PUT of name: its first PUT is version 1, each one after adds 1
 * (also across a DELETE: a version number is never given twice). Out of
 * memory: the count stays. */
static void bump_version(weir_server *srv, const char *name)
{
    weir_rule_version *v = find_version(srv, name);
    if (v) {
        v->version++;
        return;
    }
    weir_rule_version *grown = realloc(srv->versions, (srv->n_versions + 1) * sizeof *grown);
    if (!grown)
        return;
    srv->versions = grown;
    char *copy = strdup(name);
    if (!copy)
        return;
    srv->versions[srv->n_versions++] = (weir_rule_version){copy, 1};
}

void weir_server_free_versions(weir_server *srv)
{
    for (size_t i = 0; i < srv->n_versions; i++)
        free(srv->versions[i].name);
    free(srv->versions);
    srv->versions = NULL;
    srv->n_versions = 0;
}

int weir_server_put_rule(weir_server *srv, const char *name, const char *text, size_t len,
                         weir_diag_cb diag, void *user, char *err, size_t cap)
{
    if (!valid_name(name)) {
        snprintf(err, cap, "a rule name is a letter or _, then letters, digits or _");
        return 400;
    }
    char *dir = path_join(srv->cfg->state_dir, "rules", "");
    char *staging_dir = path_join(srv->cfg->state_dir, "rules.staging", "");
    char *staged = staging_dir ? path_join(staging_dir, name, ".weir") : NULL;
    char *final = dir ? path_join(dir, name, ".weir") : NULL;
    int rc = 500;
    weir_ruleset *rs = NULL;
    if (!dir || !staging_dir || !staged || !final) {
        snprintf(err, cap, "out of memory");
        goto done;
    }
    FILE *f;
    if (ensure_dir(srv->cfg->state_dir) < 0 || ensure_dir(dir) < 0 ||
        ensure_dir(staging_dir) < 0 || !(f = fopen(staged, "we"))) {
        snprintf(err, cap, "cannot write under %s: %s", srv->cfg->state_dir, strerror(errno));
        goto done;
    }
    bool wrote = fwrite(text, 1, len, f) == len;
    if (fclose(f) != 0 || !wrote) {
        snprintf(err, cap, "cannot write %s: %s", staged, strerror(errno));
        goto done;
    }
    weir_compile_status st;
    rs = weir_server_compile(srv, name, staged, diag, user, &st);
    if (!rs) {
        snprintf(err, cap, st == WEIR_COMPILE_IO_ERROR ? "cannot read the rule files"
                                                       : "the rule does not compile");
        rc = st == WEIR_COMPILE_IO_ERROR ? 500 : 400;
        goto done;
    }
    size_t declared = 0;
    bool named = false;
    for (size_t i = 0; i < weir_ruleset_rule_count(rs); i++) {
        if (strcmp(weir_ruleset_rule_file(rs, i), staged) != 0)
            continue;
        declared++;
        named |= strcmp(weir_ruleset_rule_name(rs, i), name) == 0;
    }
    if (declared != 1 || !named) {
        snprintf(err, cap, "the text must declare exactly one rule, named '%s'", name);
        rc = 400;
        goto done;
    }
    if (!weir_server_rules_fit(srv, rs, err, cap)) {
        rc = 409;
        goto done;
    }
    if (rename(staged, final) != 0) {
        snprintf(err, cap, "cannot move the rule into %s: %s", dir, strerror(errno));
        goto done;
    }
    rc = reload_now(srv, err, cap) == 0 ? 200 : 500;
    if (rc == 200) {
        bump_version(srv, name);
        weir_log_write(&srv->log, WEIR_LOG_INFO, "rule_put",
                       "rule %s installed over HTTP (%s), version %" PRIu64, name, final,
                       weir_server_rule_version(srv, name));
    }
done:
    weir_ruleset_free(rs);
    if (staged)
        unlink(staged);
    free(dir);
    free(staging_dir);
    free(staged);
    free(final);
    return rc;
}

int weir_server_delete_rule(weir_server *srv, const char *name, char *err, size_t cap)
{
    if (!valid_name(name)) {
        snprintf(err, cap, "no rule by that name");
        return 404;
    }
    char *dir = path_join(srv->cfg->state_dir, "rules", "");
    char *path = dir ? path_join(dir, name, ".weir") : NULL;
    free(dir);
    if (!path) {
        snprintf(err, cap, "out of memory");
        return 500;
    }
    int rc;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        bool exists = false;
        for (size_t i = 0; i < weir_ruleset_rule_count(srv->rs); i++)
            exists |= strcmp(weir_ruleset_rule_name(srv->rs, i), name) == 0;
        snprintf(err, cap, exists ? "the rule comes from a rule file: edit the file and send SIGHUP"
                                  : "no rule by that name");
        rc = exists ? 409 : 404;
    } else {
        weir_compile_status st;
        weir_ruleset *rs = weir_server_compile(srv, name, NULL, NULL, NULL, &st);
        if (!rs) {
            snprintf(err, cap, "the rules do not compile without it (another rule uses it?)");
            rc = 409;
        } else if (unlink(path) != 0) {
            snprintf(err, cap, "cannot remove %s: %s", path, strerror(errno));
            weir_ruleset_free(rs);
            rc = 500;
        } else if (weir_server_swap_rules(srv, rs, err, cap) < 0) {
            rc = 500;
        } else {
            weir_log_write(&srv->log, WEIR_LOG_INFO, "rule_deleted", "rule %s deleted over HTTP",
                           name);
            rc = 200;
        }
    }
    free(path);
    return rc;
}

/* ---- the rules a savepoint carries, and the way back to them ---------- */

/* Removes every *.weir file of dir, then dir. */
static void remove_rules_dir(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char *p = path_join(dir, e->d_name, "");
        if (p)
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int weir_server_rules_snapshot(const weir_server *srv, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    char **paths;
    size_t n;
    if (collect_paths(srv, NULL, NULL, &paths, &n) < 0)
        return -1;
    size_t cap = 0, used = 0;
    char *buf = NULL;
    int rc = 0;
    /* only the rules put over HTTP: the configured files are the
     * operator's, and stay what they are */
    for (size_t i = srv->cfg->n_rules; i < n && rc == 0; i++) {
        FILE *f = fopen(paths[i], "re");
        if (!f)
            continue;
        char *text = NULL;
        size_t tcap = 0, tlen = 0, got;
        char chunk[4096];
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (!weir_grow_bytes(&text, &tcap, tlen + got)) {
                rc = -1;
                break;
            }
            memcpy(text + tlen, chunk, got);
            tlen += got;
        }
        fclose(f);
        const char *base = strrchr(paths[i], '/');
        base = base ? base + 1 : paths[i];
        size_t blen = strlen(base) - 5; /* without .weir */
        char head[128];
        int hl = snprintf(head, sizeof head, "%.*s\n%zu\n", (int)blen, base, tlen);
        if (rc == 0 && weir_grow_bytes(&buf, &cap, used + (size_t)hl + tlen)) {
            memcpy(buf + used, head, (size_t)hl);
            if (tlen)
                memcpy(buf + used + hl, text, tlen);
            used += (size_t)hl + tlen;
        } else {
            rc = -1;
        }
        free(text);
    }
    free_paths(paths, n);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = used;
    return 0;
}

int weir_server_rollback(weir_server *srv, const char *id, weir_restore_report *rep, char *err,
                         size_t cap)
{
    if (!srv->store) {
        snprintf(err, cap, "%s", weir_server_no_store(srv));
        return 409;
    }
    weir_store_read r;
    int got = weir_store_get(srv->store, WEIR_STORE_SAVEPOINT, id, &r, err, cap);
    if (got != 0) {
        if (got == 1)
            snprintf(err, cap, "no savepoint '%s'", id);
        weir_store_read_free(&r);
        return got == 1 ? 404 : 503;
    }
    int status = 500;
    weir_ruleset *rs = NULL;
    char *dir = path_join(srv->cfg->state_dir, "rules", "");
    char *staged = path_join(srv->cfg->state_dir, "rules.rollback", "");
    char *old = path_join(srv->cfg->state_dir, "rules.before-rollback", "");
    const weir_store_read_part *rules = weir_store_read_part_named(&r, "rules");
    const weir_store_read_part *meta = weir_store_read_part_named(&r, "meta");
    if (!dir || !staged || !old) {
        snprintf(err, cap, "out of memory");
        goto done;
    }
    if (!rules || !meta) {
        snprintf(err, cap, "savepoint '%s' holds no rule set (made by an older weir): start "
                           "from it with --from-savepoint instead", id);
        status = 409;
        goto done;
    }
    /* write the savepoint's rules beside the running ones */
    remove_rules_dir(staged);
    if (ensure_dir(srv->cfg->state_dir) < 0 || ensure_dir(staged) < 0) {
        snprintf(err, cap, "cannot write under %s: %s", srv->cfg->state_dir, strerror(errno));
        goto done;
    }
    const char *p = rules->data, *end = p + rules->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *nl2 = nl ? memchr(nl + 1, '\n', (size_t)(end - nl - 1)) : NULL;
        char name[80];
        size_t nlen = nl ? (size_t)(nl - p) : 0;
        unsigned long long tlen = nl2 ? strtoull(nl + 1, NULL, 10) : 0;
        if (!nl2 || nlen == 0 || nlen >= sizeof name || tlen > (size_t)(end - nl2 - 1)) {
            snprintf(err, cap, "savepoint '%s': its rule set is damaged", id);
            goto done;
        }
        memcpy(name, p, nlen);
        name[nlen] = '\0';
        char *path = valid_name(name) ? path_join(staged, name, ".weir") : NULL;
        FILE *f = path ? fopen(path, "we") : NULL;
        bool wrote = f && fwrite(nl2 + 1, 1, (size_t)tlen, f) == tlen;
        if (f && fclose(f) != 0)
            wrote = false;
        free(path);
        if (!wrote) {
            snprintf(err, cap, "savepoint '%s': cannot restore rule '%s'", id, name);
            goto done;
        }
        p = nl2 + 1 + tlen;
    }
    /* swap the directories, compile, and go back if that fails */
    remove_rules_dir(old);
    bool had_dir = rename(dir, old) == 0;
    if (rename(staged, dir) != 0) {
        if (had_dir)
            rename(old, dir);
        snprintf(err, cap, "cannot move the rules into %s: %s", dir, strerror(errno));
        goto done;
    }
    weir_compile_status st;
    rs = weir_server_compile(srv, NULL, NULL, NULL, NULL, &st);
    if (rs && !weir_server_rules_fit(srv, rs, err, cap)) {
        weir_ruleset_free(rs);
        rs = NULL;
        status = 409;
    } else if (!rs) {
        snprintf(err, cap, "the savepoint's rules do not compile with the rule files as they "
                           "are now");
        status = 409;
    }
    const void **blobs = NULL;
    size_t *lens = NULL;
    char v[32];
    unsigned shards = 0;
    const char *sh = strstr(meta->data, "\nshards ");
    if (sh && sscanf(sh + 8, "%31s", v) == 1)
        shards = (unsigned)atoi(v);
    if (rs && (shards == 0 || shards > 4096)) {
        snprintf(err, cap, "savepoint '%s': bad meta", id);
        weir_ruleset_free(rs);
        rs = NULL;
    }
    if (rs) {
        blobs = calloc(shards, sizeof *blobs);
        lens = calloc(shards, sizeof *lens);
        for (unsigned i = 0; blobs && lens && i < shards; i++) {
            char part[32];
            snprintf(part, sizeof part, "shard-%u", i);
            const weir_store_read_part *sp = weir_store_read_part_named(&r, part);
            blobs[i] = sp ? sp->data : NULL;
            lens[i] = sp ? sp->len : 0;
        }
        if (!blobs || !lens ||
            weir_shard_pool_restore(srv->shards, rs, blobs, lens, shards, rep, err, cap) != 0) {
            if (!blobs || !lens)
                snprintf(err, cap, "out of memory");
            weir_ruleset_free(rs);
            rs = NULL;
        }
    }
    free(blobs);
    free(lens);
    if (!rs) {
        /* the running rules and state stay */
        remove_rules_dir(dir);
        if (had_dir)
            rename(old, dir);
        goto done;
    }
    remove_rules_dir(old);
    weir_ruleset_free(srv->rs);
    srv->rs = rs;
    if (srv->checkpointer)
        weir_checkpointer_set_rules(srv->checkpointer, rs);
    weir_server_rules_changed(srv);
    weir_log_write(&srv->log, WEIR_LOG_INFO, "rolled_back",
                   "rules and state rolled back to savepoint %s: %" PRIu64 " keys, %" PRIu64
                   " held events",
                   id, rep->keys, rep->held_events);
    status = 200;
done:
    weir_store_read_free(&r);
    free(dir);
    free(staged);
    free(old);
    return status;
}
