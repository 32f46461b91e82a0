/* snapshot_fork.c — a checkpoint's state written by a forked copy of the
 * process; see snapshot_fork.h. */
#include "state/snapshot_fork.h"

#include <errno.h>
#include <pthread.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/shard_pool.h"

struct weir_snapshot_fork {
    struct event *ev;          /* owned: the pipe's read end */
    int fd;                    /* owned */
    pid_t pid;                 /* the child, until reaped */
    unsigned n, got;           /* shards, and blobs read whole */
    void **blobs;              /* owned, n of them */
    size_t *lens;              /* owned, n of them */
    unsigned char head[8];     /* the length of blob `got`, as it arrives */
    size_t head_have, body_have;
    unsigned char spare[64];   /* bytes past the last shard: a bad child */
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
    pthread_t thread;
    bool started;
    void *blob;
    size_t len;
    int rc;
} child_job;

static void *child_write(void *arg)
{
    child_job *j = arg;
    j->rc = weir_shard_write_state(j->shard, &j->blob, &j->len);
    return NULL;
}

/* Never returns. Only this thread exists at first: the shards are parked in
 * the parent, their engines frozen in this copy as they were at the cut. */
static void child_main(struct weir_shard_pool *pool, int wfd, pid_t parent)
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
    /* nor hold the parent's sockets open */
    if (wfd > 3)
        close_range(3, (unsigned)wfd - 1, 0);
    close_range((unsigned)wfd + 1, ~0U, 0);
    /* the shards' states are written side by side, a thread each (the
     * engines share nothing), then sent in shard order */
    unsigned n = weir_shard_pool_count(pool);
    child_job *jobs = calloc(n, sizeof *jobs);
    if (!jobs)
        _exit(2);
    for (unsigned i = 0; i < n; i++) {
        jobs[i].shard = weir_shard_pool_shard(pool, i);
        jobs[i].started = i > 0 && pthread_create(&jobs[i].thread, NULL, child_write, &jobs[i]) == 0;
    }
    for (unsigned i = 0; i < n; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
        else
            child_write(&jobs[i]); /* shard 0, or no thread to be had */
    }
    for (unsigned i = 0; i < n; i++) {
        if (jobs[i].rc != 0)
            _exit(2);
        unsigned char head[8];
        for (int b = 0; b < 8; b++)
            head[b] = (unsigned char)((uint64_t)jobs[i].len >> (8 * b));
        if (write_all(wfd, head, sizeof head) != 0 ||
            write_all(wfd, jobs[i].blob, jobs[i].len) != 0)
            _exit(1);
        free(jobs[i].blob);
    }
    free(jobs);
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
    for (unsigned i = 0; f->blobs && i < f->n; i++)
        free(f->blobs[i]);
    free(f->blobs);
    free(f->lens);
    free(f);
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
    else if (f->got != f->n)
        snprintf(why, sizeof why, "the state writer stopped after %u of %u shards", f->got,
                 f->n);
    if (why[0]) {
        f->done(f->user, NULL, NULL, 0, why);
    } else {
        f->done(f->user, f->blobs, f->lens, f->n, NULL);
        for (unsigned i = 0; i < f->n; i++)
            f->blobs[i] = NULL; /* the callee's now */
    }
    fork_free(f);
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    weir_snapshot_fork *f = arg;
    for (;;) {
        void *at;
        size_t want;
        if (f->got < f->n && f->head_have < sizeof f->head) {
            at = f->head + f->head_have;
            want = sizeof f->head - f->head_have;
        } else if (f->got < f->n) {
            at = (char *)f->blobs[f->got] + f->body_have;
            want = f->lens[f->got] - f->body_have;
        } else {
            at = f->spare;
            want = sizeof f->spare;
        }
        ssize_t r = want ? read(fd, at, want) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (want && r <= 0) {
            finish(f);
            return;
        }
        if (f->got >= f->n) {
            f->got = f->n + 1; /* too many bytes: reported as a failure */
            continue;
        }
        if (f->head_have < sizeof f->head) {
            f->head_have += (size_t)r;
            if (f->head_have < sizeof f->head)
                continue;
            uint64_t len = 0;
            for (int b = 0; b < 8; b++)
                len |= (uint64_t)f->head[b] << (8 * b);
            f->lens[f->got] = (size_t)len;
            f->blobs[f->got] = malloc(len ? (size_t)len : 1);
            f->body_have = 0;
            if (!f->blobs[f->got]) {
                f->got = f->n + 1;
                finish(f);
                return;
            }
        } else {
            f->body_have += (size_t)r;
        }
        if (f->head_have == sizeof f->head && f->body_have == f->lens[f->got]) {
            f->got++;
            f->head_have = f->body_have = 0;
        }
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
        !(f->blobs = calloc(f->n, sizeof *f->blobs)) ||
        !(f->lens = calloc(f->n, sizeof *f->lens))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    f->done = done;
    f->user = user;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    f->fd = fds[0];
    /* fewer wake-ups for a state of hundreds of MB; a smaller pipe works */
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
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
        child_main(pool, fds[1], parent);
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
