/* redis_server.c — see redis_server.h. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_server.h"

int weir_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
    socklen_t len = sizeof a;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool answers_ping(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    bool ok = false;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return ok;
}

void weir_test_redis_start(weir_test_redis *r, int port)
{
    r->port = port ? port : weir_test_free_port();
    if (!r->dir[0]) {
        snprintf(r->dir, sizeof r->dir, "/tmp/weir-redis-test.XXXXXX");
        cr_assert(mkdtemp(r->dir), "mkdtemp: %s", strerror(errno));
    } else {
        mkdir(r->dir, 0700); /* a restart: stop removed it */
    }
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", r->port);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Dies with the test, whatever way the test ends. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        /* Its start-up banner and warnings would drown the test report. */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execlp("redis-server", "redis-server", "--port", port_s, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--daemonize", "no", "--dir", r->dir, "--loglevel",
               "warning", (char *)NULL);
        fprintf(stderr, "cannot run redis-server: %s\n", strerror(errno));
        _exit(127);
    }
    r->pid = pid;
    for (int i = 0; i < 200; i++) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            r->pid = 0;
            rmdir(r->dir);
            cr_assert_fail("redis-server exited (%s %d) before answering on port %d%s",
                           WIFEXITED(status) ? "code" : "signal",
                           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), r->port,
                           WIFEXITED(status) && WEXITSTATUS(status) == 127
                               ? ": it is not installed (run contrib/install-deps.sh)"
                               : "");
        }
        if (answers_ping(r->port))
            return;
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    weir_test_redis_stop(r);
    cr_assert_fail("redis-server did not answer PING on port %d within 5 s", r->port);
}

void weir_test_redis_stop(weir_test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGCONT);
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    if (r->dir[0])
        rmdir(r->dir); /* empty: no persistence, and killed before any dump */
}

redisContext *weir_test_redis_connect(const weir_test_redis *r)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    cr_assert(c && !c->err, "connect to the test Redis: %s", c ? c->errstr : "oom");
    return c;
}
