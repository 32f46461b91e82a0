/* webhook_receiver.c — a webhook receiver for the serve tests: listens on
 * 127.0.0.1 (a free port, printed on stdout), answers 500 to the first
 * --fail requests, then 200, and appends every accepted delivery to --out
 * as `<Idempotency-Key> <signature check> <body>`. The signature check is
 * "ok" or "bad" against --secret, "unsigned" when none came. A key seen
 * before is answered 200 but recorded as "dup", so a test can count
 * duplicates. It exits on SIGTERM/SIGINT or after --timeout seconds, so a
 * test that dies never leaves it running. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

typedef struct receiver {
    long fail_left;
    const char *secret;
    FILE *out;
    char **keys; /* keys accepted so far */
    size_t n_keys;
} receiver;

typedef struct body {
    char *data;
    size_t len;
} body;

static const char *check_signature(const receiver *r, struct MHD_Connection *c, const body *b)
{
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Weir-Signature");
    if (!sig)
        return "unsigned";
    if (!r->secret)
        return "bad";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), r->secret, (int)strlen(r->secret), (const unsigned char *)b->data, b->len,
         mac, &len);
    char hex[2 * EVP_MAX_MD_SIZE + 8] = "sha256=";
    for (unsigned i = 0; i < len; i++)
        snprintf(hex + 7 + 2 * i, 3, "%02x", mac[i]);
    return strcmp(hex, sig) == 0 ? "ok" : "bad";
}

static mhd_result answer(struct MHD_Connection *c, unsigned status)
{
    static const char ok[] = "{}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof ok - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    mhd_result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static mhd_result handler(void *cls, struct MHD_Connection *c, const char *url,
                          const char *method, const char *version, const char *upload,
                          size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    receiver *r = cls;
    body *b = *con_cls;
    if (!b) {
        *con_cls = calloc(1, sizeof *b);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        char *grown = realloc(b->data, b->len + *upload_size + 1);
        if (!grown)
            return MHD_NO;
        b->data = grown;
        memcpy(b->data + b->len, upload, *upload_size);
        b->len += *upload_size;
        b->data[b->len] = '\0';
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->fail_left > 0) {
        r->fail_left--;
        return answer(c, 500);
    }
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (!key)
        key = "-";
    bool dup = false;
    for (size_t i = 0; i < r->n_keys; i++)
        dup |= strcmp(r->keys[i], key) == 0;
    if (!dup) {
        char **grown = realloc(r->keys, (r->n_keys + 1) * sizeof *grown);
        if (grown) {
            r->keys = grown;
            r->keys[r->n_keys++] = strdup(key);
        }
    }
    fprintf(r->out, "%s %s %.*s\n", key, dup ? "dup" : check_signature(r, c, b), (int)b->len,
            b->data ? b->data : "");
    fflush(r->out);
    return answer(c, 200);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    body *b = *con_cls;
    if (b) {
        free(b->data);
        free(b);
    }
}

int main(int argc, char **argv)
{
    receiver r = {0};
    const char *out = NULL;
    unsigned timeout = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--fail") == 0)
            r.fail_left = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--secret") == 0)
            r.secret = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[i + 1];
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout = (unsigned)atoi(argv[i + 1]);
    }
    if (!out || !(r.out = fopen(out, "a"))) {
        fputs("usage: webhook_receiver --out FILE [--fail N] [--secret S] [--timeout SECS]\n",
              stderr);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, NULL); /* MHD's thread inherits the mask */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    /* one thread: the handler keeps its counters without locks */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handler, &r,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed,
        NULL, MHD_OPTION_END);
    if (!d) {
        perror("webhook_receiver: MHD_start_daemon");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", info ? info->port : 0);
    fflush(stdout);
    alarm(timeout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    fclose(r.out);
    for (size_t i = 0; i < r.n_keys; i++)
        free(r.keys[i]);
    free(r.keys);
    return 0;
}
