/* redis_server.h — a real redis-server for one test: started on a free
 * loopback port with no persistence, waited for with PING, stopped (also
 * when stopped with SIGSTOP) by its pid. It dies with the test process
 * (PR_SET_PDEATHSIG) even when the test crashes before its teardown, so no
 * server outlives a run. A missing redis-server fails the test loudly:
 * contrib/install-deps.sh installs it. */
#ifndef WEIR_TESTS_REDIS_SERVER_H
#define WEIR_TESTS_REDIS_SERVER_H

#include <hiredis/hiredis.h>
#include <sys/types.h>

typedef struct weir_test_redis {
    pid_t pid;      /* 0 when not running */
    int port;
    char dir[64];   /* its working directory, removed at stop */
} weir_test_redis;

/* A loopback port nobody listens on right now. */
int weir_test_free_port(void);
/* Starts a server on port (0: a free one) and waits until it answers. */
void weir_test_redis_start(weir_test_redis *r, int port);
/* SIGKILLs the server (after SIGCONT, in case it was stopped) and waits
 * for it. Safe to call twice. */
void weir_test_redis_stop(weir_test_redis *r);
/* A blocking connection for looking at what the store wrote. */
redisContext *weir_test_redis_connect(const weir_test_redis *r);

#endif
