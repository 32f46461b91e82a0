/* store_dir.c — the directory store (layout and protocol in store.h).
 *
 * Visibility rests on rename(2): a checkpoint is written whole into a
 * .tmp- directory, fsynced, then renamed to its id, and `latest` is
 * replaced the same way, so a crash at any point leaves either the old or
 * the new state, plus .tmp- litter that readers never look at and open
 * removes. Deletion (pruning included) renames first too, so a reader never
 * meets a half-deleted checkpoint.
 *
 * Writing 100 MB with fsync takes long enough (see doc/state-store.md) to
 * stall ingest, so with an event base the writes run on a worker thread:
 * puts queue jobs under a mutex, the worker does them in order and queues
 * the results, and an eventfd wakes the loop, which calls the callbacks on
 * its own thread. Without a base the write happens inside weir_store_put.
 * commit_mu orders the steps that change what readers see (the rename,
 * `latest`, pruning) against weir_store_delete on the loop thread; the
 * long part writes are outside it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "state/store-internal.h"
#include "state/xxh64.h"

#define PATH_CAP 4096
#define MANIFEST_FILE "MANIFEST"
#define MANIFEST_MAX (1u << 20)
#define ERR_CAP 512

typedef struct dir_job {
    struct dir_job *next;
    weir_store_kind kind;
    char id[WEIR_STORE_NAME_MAX + 1];
    const weir_store_part *parts; /* the caller's, valid until cb */
    size_t n;
    weir_store_done_cb cb;
    void *user;
    int status;                   /* set by the worker */
    char error[ERR_CAP];
} dir_job;

typedef struct dir_store {
    weir_store head;
    char *root;                   /* owned: DIR/<job> */
    pthread_mutex_t commit_mu;    /* see the top of the file */

    /* The worker, when head.base is set. */
    bool worker;                  /* thread started */
    pthread_t thread;
    pthread_mutex_t mu;           /* guards the lists and stop */
    pthread_cond_t cv;
    dir_job *todo, *todo_tail;
    dir_job *done, *done_tail;
    bool stop;
    int efd;                      /* owned eventfd: worker -> loop */
    struct event *done_ev;        /* owned */
} dir_store;

/* ---- small file helpers */

/* A path into a PATH_CAP buffer. The root is at most PATH_CAP - 200 bytes
 * (checked at open) and names at most 64, so nothing is ever cut; the
 * wrapper keeps gcc's truncation warning to places where it could be. */
static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, PATH_CAP, fmt, ap);
    va_end(ap);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        /* Capped so a huge part never asks write(2) for more than it does. */
        size_t n = len < ((size_t)1 << 30) ? len : ((size_t)1 << 30);
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A checkpoint's part: written in slices, each handed to the disk as soon
 * as it is in the page cache (sync_file_range starts its writeback
 * without waiting), so the disk works while the next slice is copied and
 * the fsync at the end finds little left to do. Written then fsynced part
 * by part, 67 MB parts took 120-300 ms each on the bench machine. */
static int write_part(int fd, const void *data, size_t len)
{
    const size_t slice = (size_t)8 << 20;
    const char *p = data;
    for (size_t off = 0; off < len; off += slice) {
        size_t n = len - off < slice ? len - off : slice;
        if (write_all(fd, p + off, n) < 0)
            return -1;
        /* only a hint: a file system without it still gets the fsync */
        (void)sync_file_range(fd, (off_t)off, (off_t)n, SYNC_FILE_RANGE_WRITE);
    }
    return 0;
}

static int read_all(int fd, void *data, size_t len, size_t *got)
{
    char *p = data;
    *got = 0;
    while (*got < len) {
        ssize_t r = read(fd, p + *got, len - *got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes a file or a directory tree; ENOENT is success. */
static int rm_tree(const char *path)
{
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

static int mkdir_p(char *path, mode_t mode)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, mode);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Reads a whole small file into a malloc'd NUL-terminated buffer. 0, or -1
 * with errno (EFBIG when larger than max). */
static int slurp(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
        int e = S_ISREG(st.st_mode) ? EFBIG : EISDIR;
        close(fd);
        errno = e;
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    if (!buf || read_all(fd, buf, (size_t)st.st_size, &got) < 0) {
        int e = buf ? errno : ENOMEM;
        free(buf);
        close(fd);
        errno = e;
        return -1;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

static void kind_dir(const dir_store *d, weir_store_kind kind, char *buf, size_t cap)
{
    (void)cap;
    pathf(buf, "%s/%ss", d->root, weir_store_kind_word(kind));
}

/* ---- writing */

/* Replaces `latest` with id (or removes it when id is NULL). */
static int write_latest(dir_store *d, const char *id, char *err, size_t errlen)
{
    char path[PATH_CAP], tmp[PATH_CAP];
    pathf(path, "%s/latest", d->root);
    if (!id) {
        if (unlink(path) < 0 && errno != ENOENT) {
            weir_store_errf(err, errlen, "remove %s: %s", path, strerror(errno));
            return -1;
        }
        if (fsync_path(d->root) < 0) {
            weir_store_errf(err, errlen, "fsync %s: %s", d->root, strerror(errno));
            return -1;
        }
        return 0;
    }
    pathf(tmp, "%s/.tmp-latest-XXXXXX", d->root);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        weir_store_errf(err, errlen, "create %s: %s", tmp, strerror(errno));
        return -1;
    }
    char line[WEIR_STORE_NAME_MAX + 2];
    int n = snprintf(line, sizeof line, "%s\n", id);
    if (write_all(fd, line, (size_t)n) < 0 || fsync(fd) < 0) {
        weir_store_errf(err, errlen, "write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0 || fsync_path(d->root) < 0) {
        weir_store_errf(err, errlen, "replace %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Moves kdir/id out of sight, then removes it. 0 done, 1 it was not
 * there, -1 error. */
static int remove_entry(const char *kdir, const char *id, char *err, size_t errlen)
{
    char path[PATH_CAP], trash[PATH_CAP];
    pathf(path, "%s/%s", kdir, id);
    pathf(trash, "%s/.tmp-del-%s-XXXXXX", kdir, id);
    if (!mkdtemp(trash)) {
        weir_store_errf(err, errlen, "create %s: %s", trash, strerror(errno));
        return -1;
    }
    /* rename onto the empty directory mkdtemp made: atomic for readers. */
    if (rename(path, trash) < 0) {
        int e = errno;
        rmdir(trash);
        if (e == ENOENT)
            return 1;
        weir_store_errf(err, errlen, "move %s aside: %s", path, strerror(e));
        return -1;
    }
    fsync_path(kdir);
    if (rm_tree(trash) < 0) {
        weir_store_errf(err, errlen, "remove %s: %s", trash, strerror(errno));
        return -1;
    }
    return 0;
}

/* The valid ids in a kind's directory (malloc'd array). */
static int list_ids(const char *kdir, weir_store_kind kind, char (**ids)[WEIR_STORE_NAME_MAX + 1],
                    size_t *n, char *err, size_t errlen)
{
    *ids = NULL;
    *n = 0;
    DIR *dh = opendir(kdir);
    if (!dh) {
        if (errno == ENOENT)
            return 0;
        weir_store_errf(err, errlen, "open %s: %s", kdir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(dh))) {
        /* Dot names are the store's own temporaries; anything that is not
         * an id of this kind is somebody else's file, and never read. */
        if (de->d_name[0] == '.' || !weir_store_id_valid(kind, de->d_name, NULL, 0))
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char(*grown)[WEIR_STORE_NAME_MAX + 1] = realloc(*ids, cap * sizeof **ids);
            if (!grown) {
                closedir(dh);
                free(*ids);
                *ids = NULL;
                *n = 0;
                weir_store_errf(err, errlen, "out of memory");
                return -1;
            }
            *ids = grown;
        }
        strcpy((*ids)[(*n)++], de->d_name);
    }
    closedir(dh);
    return 0;
}

static int prune(dir_store *d, const char *new_id, char *err, size_t errlen)
{
    char kdir[PATH_CAP];
    kind_dir(d, WEIR_STORE_CHECKPOINT, kdir, sizeof kdir);
    char(*ids)[WEIR_STORE_NAME_MAX + 1];
    size_t n;
    if (list_ids(kdir, WEIR_STORE_CHECKPOINT, &ids, &n, err, errlen) < 0)
        return -1;
    bool *victim = calloc(n ? n : 1, sizeof *victim);
    int rc = 0;
    if (!victim) {
        weir_store_errf(err, errlen, "out of memory");
        rc = -1;
    } else {
        weir_store_pick_prune(ids, n, new_id, d->head.keep, victim);
        for (size_t i = 0; i < n && rc == 0; i++)
            if (victim[i] && remove_entry(kdir, ids[i], err, errlen) < 0)
                rc = -1;
    }
    free(victim);
    free(ids);
    return rc;
}

/* Moves the complete tmp directory to kdir/id, replacing what is there. */
static int publish(const char *tmp, const char *kdir, const char *id, char *err, size_t errlen)
{
    char final[PATH_CAP];
    pathf(final, "%s/%s", kdir, id);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST) {
        /* Swap in one step, then tmp holds the old version to remove. */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_EXCHANGE) == 0) {
            rm_tree(tmp);
            return 0;
        }
    }
    if (errno == EINVAL || errno == ENOSYS || errno == EEXIST) {
        /* A file system without renameat2 flags: move the old one aside
         * first. A crash in between loses that id, never shows half of it. */
        char trash[PATH_CAP];
        pathf(trash, "%s/.tmp-old-%s-XXXXXX", kdir, id);
        if (mkdtemp(trash) && (rename(final, trash) == 0 || errno == ENOENT) &&
            rename(tmp, final) == 0) {
            rm_tree(trash);
            return 0;
        }
    }
    weir_store_errf(err, errlen, "rename %s to %s: %s", tmp, final, strerror(errno));
    return -1;
}

/* The whole put; runs on the worker or inside weir_store_put. */
static int dir_write(dir_store *d, weir_store_kind kind, const char *id,
                     const weir_store_part *parts, size_t n, char *err, size_t errlen)
{
    const char *what = weir_store_kind_word(kind);
    char kdir[PATH_CAP], tmp[PATH_CAP];
    kind_dir(d, kind, kdir, sizeof kdir);
    pathf(tmp, "%s/.tmp-%s-XXXXXX", kdir, id);
    if (mkdir_p(kdir, 0700) < 0 || !mkdtemp(tmp)) {
        weir_store_errf(err, errlen, "%s %s: create %s: %s", what, id, tmp, strerror(errno));
        return -1;
    }

    weir_manifest m = {.kind = kind, .created_ms = weir_store_now_ms(), .chunk_size = 0};
    strcpy(m.job, d->head.job);
    strcpy(m.id, id);
    strcpy(m.store, "dir");
    char *text = NULL;
    int rc = -1;
    int *fds = NULL;  /* the parts' files, n_fds of them open */
    size_t n_fds = 0;
    if (weir_store_manifest_from_parts(&m, parts, n) < 0) {
        weir_store_errf(err, errlen, "out of memory");
        goto out;
    }
    /* every part is written before any is fsynced, so that the disk
     * writes one part back while the next is copied */
    fds = malloc((n ? n : 1) * sizeof *fds);
    if (!fds) {
        weir_store_errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char path[PATH_CAP];
        pathf(path, "%s/%s.part", tmp, parts[i].name);
        fds[i] = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fds[i] < 0 || write_part(fds[i], parts[i].data, parts[i].len) < 0) {
            weir_store_errf(err, errlen, "%s %s: write part '%s' (%s): %s", what, id,
                            parts[i].name, path, strerror(errno));
            n_fds = i + (fds[i] >= 0);
            goto out;
        }
        n_fds = i + 1;
        m.parts[i].hash = parts[i].len ? weir_xxh64(parts[i].data, parts[i].len, 0)
                                       : weir_xxh64("", 0, 0);
    }
    for (size_t i = 0; i < n; i++) {
        if (fsync(fds[i]) < 0) {
            weir_store_errf(err, errlen, "%s %s: write part '%s': fsync: %s", what, id,
                            parts[i].name, strerror(errno));
            goto out;
        }
    }
    size_t len;
    text = weir_manifest_encode(&m, &len);
    if (!text) {
        weir_store_errf(err, errlen, "out of memory");
        goto out;
    }
    char mpath[PATH_CAP];
    pathf(mpath, "%s/" MANIFEST_FILE, tmp);
    int fd = open(mpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write_all(fd, text, len) < 0 || fsync(fd) < 0) {
        weir_store_errf(err, errlen, "%s %s: write %s: %s", what, id, mpath, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto out;
    }
    close(fd);
    if (fsync_path(tmp) < 0) {
        weir_store_errf(err, errlen, "%s %s: fsync %s: %s", what, id, tmp, strerror(errno));
        goto out;
    }

    pthread_mutex_lock(&d->commit_mu);
    if (publish(tmp, kdir, id, err, errlen) < 0) {
        pthread_mutex_unlock(&d->commit_mu);
        goto out;
    }
    tmp[0] = '\0'; /* nothing left to clean up */
    if (fsync_path(kdir) < 0) {
        weir_store_errf(err, errlen, "%s %s: fsync %s: %s", what, id, kdir, strerror(errno));
        pthread_mutex_unlock(&d->commit_mu);
        goto out;
    }
    if (kind == WEIR_STORE_CHECKPOINT) {
        /* A failure to prune is not a failure of this put: the next
         * successful put prunes again. */
        rc = write_latest(d, id, err, errlen);
        if (rc == 0)
            prune(d, id, NULL, 0);
    } else {
        rc = 0;
    }
    pthread_mutex_unlock(&d->commit_mu);

out:
    for (size_t i = 0; i < n_fds; i++)
        close(fds[i]);
    free(fds);
    if (tmp[0])
        rm_tree(tmp);
    free(text);
    weir_manifest_clear(&m);
    return rc;
}

/* ---- the worker */

static void *worker_main(void *arg)
{
    dir_store *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->todo && !d->stop)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->stop)
            break;
        dir_job *j = d->todo;
        d->todo = j->next;
        if (!d->todo)
            d->todo_tail = NULL;
        pthread_mutex_unlock(&d->mu);

        j->status = dir_write(d, j->kind, j->id, j->parts, j->n, j->error, sizeof j->error);

        pthread_mutex_lock(&d->mu);
        j->next = NULL;
        if (d->done_tail)
            d->done_tail->next = j;
        else
            d->done = j;
        d->done_tail = j;
        uint64_t one = 1;
        ssize_t w = write(d->efd, &one, sizeof one);
        (void)w; /* the counter only saturates; the loop drains the list anyway */
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static void report(dir_job *j)
{
    weir_store_done_cb cb = j->cb;
    void *user = j->user;
    int status = j->status;
    char error[ERR_CAP];
    snprintf(error, sizeof error, "%s", j->error);
    free(j);
    cb(user, status, status == 0 ? NULL : error);
}

/* On the loop: one finished job per call, so a callback that frees the
 * store leaves nothing of this function running on it. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    dir_store *d = arg;
    uint64_t count;
    ssize_t r = read(fd, &count, sizeof count);
    (void)r; /* EAGAIN when re-activated by hand below */
    pthread_mutex_lock(&d->mu);
    dir_job *j = d->done;
    if (j) {
        d->done = j->next;
        if (!d->done)
            d->done_tail = NULL;
    }
    bool more = d->done != NULL;
    pthread_mutex_unlock(&d->mu);
    if (more)
        event_active(d->done_ev, EV_READ, 0);
    if (j)
        report(j);
}

static int dir_put(weir_store *s, weir_store_kind kind, const char *id,
                   const weir_store_part *parts, size_t n, weir_store_done_cb cb, void *user,
                   char *err, size_t errlen)
{
    dir_store *d = (dir_store *)s;
    if (!d->worker) {
        char error[ERR_CAP];
        int rc = dir_write(d, kind, id, parts, n, error, sizeof error);
        cb(user, rc, rc == 0 ? NULL : error);
        return 0;
    }
    dir_job *j = calloc(1, sizeof *j);
    if (!j) {
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    j->kind = kind;
    strcpy(j->id, id);
    j->parts = parts;
    j->n = n;
    j->cb = cb;
    j->user = user;
    pthread_mutex_lock(&d->mu);
    if (d->todo_tail)
        d->todo_tail->next = j;
    else
        d->todo = j;
    d->todo_tail = j;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

/* ---- reading */

static int dir_latest(weir_store *s, char *id, size_t cap, char *err, size_t errlen)
{
    dir_store *d = (dir_store *)s;
    char path[PATH_CAP];
    pathf(path, "%s/latest", d->root);
    char *text;
    size_t len;
    if (slurp(path, 256, &text, &len) < 0) {
        if (errno == ENOENT)
            return 1;
        weir_store_errf(err, errlen, "read %s: %s", path, strerror(errno));
        return -1;
    }
    if (len < 2 || text[len - 1] != '\n' || memchr(text, '\n', len - 1) ||
        (text[len - 1] = '\0', !weir_store_checkpoint_id_value(text, NULL))) {
        weir_store_errf(err, errlen, "%s is damaged: expected a checkpoint id and a newline",
                        path);
        free(text);
        return -1;
    }
    snprintf(id, cap, "%s", text);
    free(text);
    return 0;
}

/* Reads kdir/id/MANIFEST. 0, 1 when the checkpoint does not exist, -1. */
static int read_manifest(dir_store *d, weir_store_kind kind, const char *id, weir_manifest *m,
                         char *err, size_t errlen)
{
    const char *what = weir_store_kind_word(kind);
    char kdir[PATH_CAP], path[PATH_CAP];
    memset(m, 0, sizeof *m);
    kind_dir(d, kind, kdir, sizeof kdir);
    pathf(path, "%s/%s", kdir, id);
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT) {
            weir_store_errf(err, errlen, "no %s %s in %s", what, id, kdir);
            return 1;
        }
        weir_store_errf(err, errlen, "%s %s: %s: %s", what, id, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        weir_store_errf(err, errlen, "%s %s: %s is not a directory (a foreign file)", what, id,
                        path);
        return -1;
    }
    pathf(path, "%s/%s/" MANIFEST_FILE, kdir, id);
    char *text;
    size_t len;
    if (slurp(path, MANIFEST_MAX, &text, &len) < 0) {
        weir_store_errf(err, errlen, "%s %s: %s %s", what, id,
                        errno == ENOENT ? "no manifest (incomplete or damaged):" : "cannot read",
                        path);
        return -1;
    }
    char why[256];
    int rc = weir_manifest_parse(text, len, m, why, sizeof why);
    free(text);
    if (rc < 0) {
        weir_store_errf(err, errlen, "%s %s: %s: %s", what, id, path, why);
        return -1;
    }
    return weir_store_manifest_matches(m, d->head.job, kind, id, "dir", err, errlen);
}

static int dir_get(weir_store *s, weir_store_kind kind, const char *id, weir_store_read *out,
                   char *err, size_t errlen)
{
    dir_store *d = (dir_store *)s;
    const char *what = weir_store_kind_word(kind);
    weir_manifest m = {0};
    int rc = read_manifest(d, kind, id, &m, err, errlen);
    if (rc != 0 || weir_store_read_init(out, &m, err, errlen) < 0) {
        weir_manifest_clear(&m);
        return rc ? rc : -1;
    }
    char kdir[PATH_CAP];
    kind_dir(d, kind, kdir, sizeof kdir);
    for (size_t i = 0; i < m.n_parts && rc == 0; i++) {
        const weir_manifest_part *mp = &m.parts[i];
        weir_store_read_part *rp = &out->parts[i];
        char path[PATH_CAP];
        pathf(path, "%s/%s/%s.part", kdir, id, mp->name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            weir_store_errf(err, errlen, "%s %s: part '%s': %s: %s", what, id, mp->name, path,
                            errno == ENOENT ? "missing" : strerror(errno));
            rc = -1;
        } else if ((uint64_t)st.st_size != mp->len) {
            weir_store_errf(err, errlen, "%s %s: part '%s' has %jd bytes, the manifest says "
                            "%" PRIu64 " (%s)", what, id, mp->name, (intmax_t)st.st_size,
                            mp->len, (uint64_t)st.st_size < mp->len ? "truncated" : "too long");
            rc = -1;
        } else if (!(rp->data = malloc((size_t)mp->len + 1))) {
            weir_store_errf(err, errlen, "%s %s: part '%s': out of memory for %" PRIu64
                            " bytes", what, id, mp->name, mp->len);
            rc = -1;
        } else {
            size_t got;
            if (read_all(fd, rp->data, (size_t)mp->len, &got) < 0 || got != mp->len) {
                weir_store_errf(err, errlen, "%s %s: part '%s': read %s: %s", what, id,
                                mp->name, path, got != mp->len ? "short read" : strerror(errno));
                rc = -1;
            } else {
                ((char *)rp->data)[mp->len] = '\0';
                uint64_t h = weir_xxh64(rp->data, (size_t)mp->len, 0);
                if (h != mp->hash) {
                    weir_store_errf(err, errlen, "%s %s: part '%s' is damaged: checksum "
                                    "%016" PRIx64 ", the manifest says %016" PRIx64, what, id,
                                    mp->name, h, mp->hash);
                    rc = -1;
                }
            }
        }
        if (fd >= 0)
            close(fd);
    }
    weir_manifest_clear(&m);
    return rc;
}

static int dir_list(weir_store *s, weir_store_kind kind, weir_store_entry **out, size_t *n,
                    char *err, size_t errlen)
{
    dir_store *d = (dir_store *)s;
    char kdir[PATH_CAP];
    kind_dir(d, kind, kdir, sizeof kdir);
    char(*ids)[WEIR_STORE_NAME_MAX + 1];
    size_t count;
    if (list_ids(kdir, kind, &ids, &count, err, errlen) < 0)
        return -1;
    weir_store_entry *e = calloc(count ? count : 1, sizeof *e);
    if (!e) {
        free(ids);
        weir_store_errf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        char path[PATH_CAP];
        pathf(path, "%s/%s/" MANIFEST_FILE, kdir, ids[i]);
        char *text = NULL;
        size_t len = 0;
        if (slurp(path, MANIFEST_MAX, &text, &len) < 0)
            text = NULL;
        weir_store_entry_from_manifest(&e[i], ids[i], text, len, d->head.job, kind, "dir");
        free(text);
    }
    free(ids);
    *out = e;
    *n = count;
    return 0;
}

static int dir_del(weir_store *s, weir_store_kind kind, const char *id, char *err, size_t errlen)
{
    dir_store *d = (dir_store *)s;
    char kdir[PATH_CAP];
    kind_dir(d, kind, kdir, sizeof kdir);
    pthread_mutex_lock(&d->commit_mu);
    int rc = remove_entry(kdir, id, err, errlen);
    if (rc == 1)
        weir_store_errf(err, errlen, "no %s %s", weir_store_kind_word(kind), id);
    char latest[WEIR_STORE_NAME_MAX + 1];
    if (rc == 0 && kind == WEIR_STORE_CHECKPOINT &&
        dir_latest(s, latest, sizeof latest, NULL, 0) == 0 && strcmp(latest, id) == 0) {
        /* `latest` must never name a checkpoint that is gone. */
        char(*ids)[WEIR_STORE_NAME_MAX + 1];
        size_t n;
        rc = list_ids(kdir, kind, &ids, &n, err, errlen);
        if (rc == 0) {
            const char *best = NULL;
            for (size_t i = 0; i < n; i++)
                if (!best || weir_store_id_cmp(kind, ids[i], best) > 0)
                    best = ids[i];
            rc = write_latest(d, best, err, errlen);
            free(ids);
        }
    }
    pthread_mutex_unlock(&d->commit_mu);
    return rc;
}

/* ---- open and free */

static void dir_free(weir_store *s)
{
    dir_store *d = (dir_store *)s;
    if (d->worker) {
        pthread_mutex_lock(&d->mu);
        d->stop = true;
        pthread_cond_signal(&d->cv);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->thread, NULL); /* finishes the write in progress */
        /* Finished first, then never started, in the order they were put. */
        while (d->done) {
            dir_job *j = d->done;
            d->done = j->next;
            report(j);
        }
        while (d->todo) {
            dir_job *j = d->todo;
            d->todo = j->next;
            j->status = -1;
            snprintf(j->error, sizeof j->error, "%s %s: store closed before it was written",
                     weir_store_kind_word(j->kind), j->id);
            report(j);
        }
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
    }
    if (d->done_ev)
        event_free(d->done_ev);
    if (d->efd >= 0)
        close(d->efd);
    pthread_mutex_destroy(&d->commit_mu);
    free(d->root);
    free(d);
}

static const weir_store_ops dir_ops = {
    .name = "dir",
    .put = dir_put,
    .latest = dir_latest,
    .get = dir_get,
    .list = dir_list,
    .del = dir_del,
    .free = dir_free,
};

/* Removes the .tmp- litter of writes and deletions a crash interrupted. */
static void clean_temporaries(const char *dir)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return;
    struct dirent *de;
    while ((de = readdir(dh))) {
        if (strncmp(de->d_name, ".tmp-", 5) != 0)
            continue;
        char path[PATH_CAP];
        pathf(path, "%s/%s", dir, de->d_name);
        rm_tree(path);
    }
    closedir(dh);
}

weir_store *weir_store_open_dir(const char *dir, const weir_store_options *opt, char *err,
                                size_t errlen)
{
    dir_store *d = calloc(1, sizeof *d);
    if (!d) {
        weir_store_errf(err, errlen, "out of memory");
        return NULL;
    }
    d->efd = -1;
    pthread_mutex_init(&d->commit_mu, NULL);
    if (weir_store_init_head(&d->head, &dir_ops, opt, err, errlen) < 0)
        goto fail;
    if (!dir || !*dir || strlen(dir) > PATH_CAP - 200) {
        weir_store_errf(err, errlen, "bad store directory '%.80s'", dir ? dir : "(null)");
        goto fail;
    }
    size_t n = strlen(dir) + strlen(d->head.job) + 2;
    if (!(d->root = malloc(n))) {
        weir_store_errf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(d->root, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", d->head.job);
    for (int k = 0; k < 2; k++) {
        char kdir[PATH_CAP];
        kind_dir(d, k ? WEIR_STORE_SAVEPOINT : WEIR_STORE_CHECKPOINT, kdir, sizeof kdir);
        if (mkdir_p(kdir, 0700) < 0) {
            weir_store_errf(err, errlen, "create %s: %s", kdir, strerror(errno));
            goto fail;
        }
        clean_temporaries(kdir);
    }
    clean_temporaries(d->root);
    /* The directories just made must survive a crash as surely as the
     * checkpoints that will be renamed into them. */
    char parent[PATH_CAP];
    pathf(parent, "%s", dir);
    if (fsync_path(d->root) < 0 || fsync_path(parent) < 0) {
        weir_store_errf(err, errlen, "fsync %s: %s", d->root, strerror(errno));
        goto fail;
    }

    if (d->head.base) {
        d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (d->efd < 0) {
            weir_store_errf(err, errlen, "eventfd: %s", strerror(errno));
            goto fail;
        }
        d->done_ev = event_new(d->head.base, d->efd, EV_READ | EV_PERSIST, on_done, d);
        if (!d->done_ev || event_add(d->done_ev, NULL) < 0) {
            weir_store_errf(err, errlen, "cannot add an event to the loop");
            goto fail;
        }
        pthread_mutex_init(&d->mu, NULL);
        pthread_cond_init(&d->cv, NULL);
        int e = pthread_create(&d->thread, NULL, worker_main, d);
        if (e) {
            pthread_cond_destroy(&d->cv);
            pthread_mutex_destroy(&d->mu);
            weir_store_errf(err, errlen, "start the store's writer thread: %s", strerror(e));
            goto fail;
        }
        d->worker = true;
    }
    return &d->head;

fail:
    dir_free(&d->head);
    return NULL;
}
