/* snapshot_fork.c — a checkpoint's state written by a forked copy of the
 * process; see snapshot_fork.h. */
#include "state/snapshot_fork.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/shard_pool.h"

struct weir_snapshot_fork {
    struct event *ev;          /* owned: the pipe's read end */
    int fd;                    /* owned */
    pid_t pid;                 /* the child, until reaped */
    unsigned n;                /* shards */
    int *memfds;               /* owned, n of them: where the child puts each state */
    unsigned char *heads;      /* the states' lengths, 8 bytes each, as they arrive */
    size_t heads_have;
    bool extra;                /* bytes past the lengths: a bad child */
    weir_snapshot_fork_done_cb done;
    void *user;
};

/* ---- the child --------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* One shard's state, written in the child. */
typedef struct child_job {
    weir_shard *shard;
    int memfd;
    pthread_t thread;
    bool started;
    size_t len;
    int rc;                    /* 0, 2 out of memory, 1 the memfd refused it */
} child_job;

static int cmp_fd(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The memfd as a snapshot's destination: the file grows (the engine
 * asks for twice its size each time) and its mapping follows (mremap
 * moves no page). */
static int memfd_grow(weir_snapshot_dest *d, size_t need)
{
    const child_job *j = d->user;
    if (need > (size_t)INT64_MAX || ftruncate(j->memfd, (off_t)need) != 0)
        return -1;
    void *p = mremap(d->data, d->cap, need, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return -1;
    d->data = p;
    d->cap = need;
    return 0;
}

/* Each thread encodes its shard straight into the shard's memfd, which
 * the parent maps: the state is written once, not encoded into the heap,
 * copied with the shard's header and copied again into the file (those
 * copies and the page faults of their fresh buffers were about half of the
 * time), nor sent through a pipe (about 200 ms for 163 MB). */
static void *child_write(void *arg)
{
    child_job *j = arg;
    size_t cap = WEIR_FORK_FIRST_SIZE;
    void *p = MAP_FAILED;
    if (ftruncate(j->memfd, (off_t)cap) == 0)
        p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, j->memfd, 0);
    if (p == MAP_FAILED) {
        j->rc = 1;
        return NULL;
    }
    weir_snapshot_dest d = {.data = p, .cap = cap, .grow = memfd_grow, .user = j};
    if (weir_shard_write_state_to(j->shard, &d) != 0)
        j->rc = 2; /* out of memory, or the memfd could not grow */
    else if (ftruncate(j->memfd, (off_t)d.len) != 0)
        j->rc = 1;
    j->len = d.len;
    munmap(d.data, d.cap);
    return NULL;
}

/* Never returns. Only this thread exists at first: the shards are parked in
 * the parent, their engines frozen in this copy as they were at the cut. */
static void child_main(struct weir_shard_pool *pool, const int *memfds, int wfd, pid_t parent)
{
    /* a signal meant for the server (a process group's SIGTERM, SIGHUP)
     * must not run the server's handlers here, which would write to the
     * pipes of the parent's loop */
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* and the child must not outlive a parent killed with -9 */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(3);
    unsigned n = weir_shard_pool_count(pool);
    child_job *jobs = calloc(n, sizeof *jobs);
    int *keep = malloc((n + 1) * sizeof *keep);
    if (!jobs || !keep)
        _exit(2);
    /* nor hold the parent's sockets open: every descriptor but the pipe
     * and the memfds is closed, a range at a time */
    for (unsigned i = 0; i < n; i++)
        keep[i] = memfds[i];
    keep[n] = wfd;
    qsort(keep, n + 1, sizeof *keep, cmp_fd);
    unsigned from = 3;
    for (unsigned i = 0; i <= n; i++) {
        if ((unsigned)keep[i] > from)
            close_range(from, (unsigned)keep[i] - 1, 0);
        from = (unsigned)keep[i] + 1;
    }
    close_range(from, ~0U, 0);
    free(keep);
    /* the shards' states are written side by side, a thread each (the
     * engines share nothing) */
    for (unsigned i = 0; i < n; i++) {
        jobs[i].shard = weir_shard_pool_shard(pool, i);
        jobs[i].memfd = memfds[i];
        jobs[i].started = i > 0 && pthread_create(&jobs[i].thread, NULL, child_write, &jobs[i]) == 0;
    }
    for (unsigned i = 0; i < n; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
        else
            child_write(&jobs[i]); /* shard 0, or no thread to be had */
    }
    unsigned char *heads = malloc(8 * (size_t)n);
    if (!heads)
        _exit(2);
    for (unsigned i = 0; i < n; i++) {
        if (jobs[i].rc != 0)
            _exit(jobs[i].rc);
        for (int b = 0; b < 8; b++)
            heads[8 * i + (unsigned)b] = (unsigned char)((uint64_t)jobs[i].len >> (8 * b));
    }
    if (write_all(wfd, heads, 8 * (size_t)n) != 0)
        _exit(1);
    _exit(0);
}

/* ---- the parent -------------------------------------------------------- */

static void fork_free(weir_snapshot_fork *f)
{
    if (f->ev)
        event_free(f->ev);
    if (f->fd >= 0)
        close(f->fd);
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    for (unsigned i = 0; f->memfds && i < f->n; i++)
        if (f->memfds[i] >= 0)
            close(f->memfds[i]);
    free(f->memfds);
    free(f->heads);
    free(f);
}

void weir_snapshot_fork_release(void *blob, size_t len)
{
    if (blob)
        munmap(blob, len);
}

/* Maps shard i's state, as long as the child said it wrote. */
static void *map_state(weir_snapshot_fork *f, unsigned i, size_t *len, char *why, size_t whylen)
{
    uint64_t want = 0;
    for (int b = 0; b < 8; b++)
        want |= (uint64_t)f->heads[8 * i + (unsigned)b] << (8 * b);
    struct stat st;
    if (fstat(f->memfds[i], &st) != 0 || (uint64_t)st.st_size != want || want == 0 ||
        want > SIZE_MAX) {
        snprintf(why, whylen, "the state writer left shard %u's state incomplete", i);
        return NULL;
    }
    /* populated at once: the store reads every page, and one call maps
     * them faster than a fault each */
    void *p = mmap(NULL, (size_t)want, PROT_READ, MAP_SHARED | MAP_POPULATE, f->memfds[i], 0);
    if (p == MAP_FAILED) {
        snprintf(why, whylen, "cannot map shard %u's state: %s", i, strerror(errno));
        return NULL;
    }
    *len = (size_t)want;
    return p;
}

/* The child closed the pipe: reaps it and reports. */
static void finish(weir_snapshot_fork *f)
{
    int status = 0;
    pid_t r;
    while ((r = waitpid(f->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    f->pid = 0;
    char why[128] = "";
    if (r < 0)
        snprintf(why, sizeof why, "the state writer vanished: %s", strerror(errno));
    else if (WIFSIGNALED(status))
        snprintf(why, sizeof why, "the state writer died of signal %d", WTERMSIG(status));
    else if (WEXITSTATUS(status) == 2)
        snprintf(why, sizeof why, "the state writer ran out of memory");
    else if (WEXITSTATUS(status) != 0)
        snprintf(why, sizeof why, "the state writer failed (exit %d)", WEXITSTATUS(status));
    else if (f->extra || f->heads_have != 8 * (size_t)f->n)
        snprintf(why, sizeof why, "the state writer reported %zu bytes of lengths for %u shards",
                 f->heads_have, f->n);
    void **blobs = NULL;
    size_t *lens = NULL;
    if (!why[0] && (!(blobs = calloc(f->n, sizeof *blobs)) || !(lens = calloc(f->n, sizeof *lens))))
        snprintf(why, sizeof why, "out of memory");
    for (unsigned i = 0; !why[0] && i < f->n; i++)
        blobs[i] = map_state(f, i, &lens[i], why, sizeof why);
    if (why[0]) {
        for (unsigned i = 0; blobs && i < f->n; i++)
            weir_snapshot_fork_release(blobs[i], lens[i]);
        f->done(f->user, NULL, NULL, 0, why);
    } else {
        f->done(f->user, blobs, lens, f->n, NULL); /* the blobs are the callee's now */
    }
    free(blobs);
    free(lens);
    fork_free(f);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    weir_snapshot_fork *f = arg;
    for (;;) {
        unsigned char spare[64];
        size_t want = 8 * (size_t)f->n - f->heads_have;
        unsigned char *at = want ? f->heads + f->heads_have : spare;
        ssize_t r = read(fd, at, want ? want : sizeof spare);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r <= 0) {
            finish(f);
            return;
        }
        if (want)
            f->heads_have += (size_t)r;
        else
            f->extra = true;
    }
}

weir_snapshot_fork *weir_snapshot_fork_start(struct event_base *base,
                                             struct weir_shard_pool *pool,
                                             weir_snapshot_fork_cut_cb at_cut,
                                             weir_snapshot_fork_done_cb done, void *user,
                                             char *err, size_t errlen)
{
    weir_snapshot_fork *f = calloc(1, sizeof *f);
    int fds[2] = {-1, -1};
    if (f)
        f->fd = -1;
    if (!f || !(f->n = weir_shard_pool_count(pool)) ||
        !(f->memfds = malloc(f->n * sizeof *f->memfds)) || !(f->heads = malloc(8 * (size_t)f->n))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < f->n; i++)
        f->memfds[i] = -1;
    for (unsigned i = 0; i < f->n; i++) {
        if ((f->memfds[i] = memfd_create("weir-shard-state", MFD_CLOEXEC)) < 0) {
            snprintf(err, errlen, "memfd_create: %s", strerror(errno));
            goto fail;
        }
    }
    f->done = done;
    f->user = user;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    f->fd = fds[0];
    if (fcntl(f->fd, F_SETFL, O_NONBLOCK) != 0 ||
        !(f->ev = event_new(base, f->fd, EV_READ | EV_PERSIST, read_cb, f))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (weir_shard_pool_park(pool) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (at_cut && at_cut(user, err, errlen) != 0) {
        weir_shard_pool_unpark(pool);
        goto fail;
    }
    pid_t parent = getpid();
    f->pid = fork();
    if (f->pid == 0)
        child_main(pool, f->memfds, fds[1], parent);
    int fork_errno = errno;
    weir_shard_pool_unpark(pool);
    close(fds[1]);
    fds[1] = -1;
    if (f->pid < 0) {
        f->pid = 0;
        snprintf(err, errlen, "fork: %s", strerror(fork_errno));
        goto fail;
    }
    if (event_add(f->ev, NULL) != 0) {
        snprintf(err, errlen, "cannot watch the state writer");
        goto fail;
    }
    return f;
fail:
    if (fds[1] >= 0)
        close(fds[1]);
    if (f)
        fork_free(f);
    return NULL;
}

int weir_snapshot_fork_pid(const weir_snapshot_fork *f) { return (int)f->pid; }

void weir_snapshot_fork_cancel(weir_snapshot_fork *f)
{
    if (f)
        fork_free(f);
}
