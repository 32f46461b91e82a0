/* cmd_savepoint.c — `weir savepoint create|list|delete`: the savepoint
 * endpoints of a running `weir serve` (doc/http-api.md), from the command
 * line. create waits until the savepoint is complete in the store, so a
 * script can stop the server and start another from it. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/commands.h"
#include "util/grow_bytes.h"

typedef struct reply {
    char *body;
    size_t len, cap;
} reply;

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    reply *r = user;
    size_t len = size * n;
    if (!weir_grow_bytes(&r->body, &r->cap, r->len + len + 1))
        return 0;
    memcpy(r->body + r->len, p, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

/* One request; the HTTP status, or -1 when the server cannot be reached
 * (message printed). The body is in r. */
static long request(const char *method, const char *url, const char *token, reply *r)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    struct curl_slist *headers = NULL;
    char auth[512];
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    r->len = 0;
    if (r->body)
        r->body[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    long status = -1;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "weir savepoint: %s: %s\n", url, curl_easy_strerror(rc));
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return status;
}

static void usage(FILE *f)
{
    fputs("usage: weir savepoint create [NAME] [--api URL] [--token TOKEN]\n"
          "       weir savepoint list [--api URL]\n"
          "       weir savepoint delete ID [--api URL] [--token TOKEN]\n"
          "Talks to a running `weir serve` (default --api http://127.0.0.1:8081; the token\n"
          "also from $WEIR_API_TOKEN). create waits until the savepoint is complete and\n"
          "prints its id; start a server from it with `weir serve --from-savepoint ID`.\n",
          f);
}

/* The value of "key":"..." in a JSON body (flat, as the API writes it). */
static bool json_str(const char *body, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = body ? strstr(body, pat) : NULL;
    if (!p)
        return false;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    if (!q || (size_t)(q - p) >= cap)
        return false;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return true;
}

int weir_cmd_savepoint(int argc, char **argv)
{
    const char *api = "http://127.0.0.1:8081";
    const char *token = getenv("WEIR_API_TOKEN");
    static const struct option opts[] = {
        {"api", required_argument, NULL, 'a'},
        {"token", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': api = optarg; break;
        case 't': token = optarg; break;
        case 'h': usage(stdout); return WEIR_EXIT_OK;
        default: usage(stderr); return WEIR_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return WEIR_EXIT_USAGE;
    }
    const char *verb = argv[optind];
    const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return WEIR_EXIT_USAGE;
    char url[1024];
    reply r = {0};
    int status = WEIR_EXIT_USAGE;
    long http;
    if (strcmp(verb, "list") == 0) {
        snprintf(url, sizeof url, "%s/savepoints", api);
        http = request("GET", url, token, &r);
        if (http == 200) {
            printf("%s\n", r.body ? r.body : "");
            status = WEIR_EXIT_OK;
        }
    } else if (strcmp(verb, "delete") == 0 && arg) {
        snprintf(url, sizeof url, "%s/savepoints/%s", api, arg);
        http = request("DELETE", url, token, &r);
        if (http == 200) {
            printf("deleted %s\n", arg);
            status = WEIR_EXIT_OK;
        }
    } else if (strcmp(verb, "create") == 0) {
        if (arg)
            snprintf(url, sizeof url, "%s/savepoints?name=%s", api, arg);
        else
            snprintf(url, sizeof url, "%s/savepoints", api);
        http = request("POST", url, token, &r);
        char id[128];
        if (http == 202 && json_str(r.body, "id", id, sizeof id)) {
            /* the store writes in the background: wait for the outcome */
            snprintf(url, sizeof url, "%s/savepoints/%s", api, id);
            char state[32] = "writing";
            time_t give_up = time(NULL) + 120;
            for (int i = 0; strcmp(state, "writing") == 0 && time(NULL) < give_up; i++) {
                if (i) {
                    struct timespec ts = {0, 100 * 1000 * 1000};
                    nanosleep(&ts, NULL);
                }
                http = request("GET", url, token, &r);
                if (http != 200 || !json_str(r.body, "status", state, sizeof state))
                    break;
            }
            if (strcmp(state, "complete") == 0) {
                printf("%s\n", id);
                status = WEIR_EXIT_OK;
            } else if (http == 200) {
                fprintf(stderr, "weir savepoint: %s: %s\n", id, r.body);
                status = WEIR_EXIT_RULE_ERRORS;
                http = 0;
            }
        }
    } else {
        usage(stderr);
        curl_global_cleanup();
        return WEIR_EXIT_USAGE;
    }
    if (status != WEIR_EXIT_OK && http > 0) {
        fprintf(stderr, "weir savepoint: %s: HTTP %ld: %s\n", verb, http, r.body ? r.body : "");
        status = WEIR_EXIT_RULE_ERRORS;
    }
    free(r.body);
    curl_global_cleanup();
    return status;
}
