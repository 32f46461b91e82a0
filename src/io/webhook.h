/* webhook.h — the webhook sink: each alert POSTed as JSON to a URL with
 * libcurl's multi interface on the libevent loop.
 *
 * Delivery is one alert at a time, in order: an alert is sent only once
 * the one before it was accepted (2xx) or refused for good (4xx other than
 * 408 and 429, which is logged and written to <state-dir>/<name>.rejected.jsonl).
 * Failures (timeouts, connection errors, 5xx, 408, 429) are retried with
 * exponential backoff and jitter, capped at 30 s, forever: after `retries`
 * consecutive failures the sink logs that it is failing, and keeps trying
 * until the receiver comes back. Each request carries
 * `Idempotency-Key: <alert id>`, so a receiver can drop the duplicate a
 * timed-out-but-delivered request causes, and `X-Weir-Signature:
 * sha256=<hex HMAC-SHA256 of the body>` when a secret is set.
 *
 * Alerts wait in a bounded in-memory queue; past `memory_limit` alerts they
 * go to a spill file <state-dir>/<name>.spool.jsonl and come back from it in
 * order. At exit whatever is undelivered is written to the spill file,
 * which the next start delivers first: an outage of any length loses no
 * alert. */
#ifndef WEIR_IO_WEBHOOK_H
#define WEIR_IO_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/log.h"

struct event_base;
typedef struct weir_webhook weir_webhook;

typedef struct weir_webhook_options {
    const char *name;        /* the sink's name in the rules */
    const char *url;
    long long timeout_ms;    /* per request; 0: 5000 */
    long long retries;       /* consecutive failures before "failing"; <0: 8 */
    const char *secret;      /* HMAC key, or NULL: unsigned */
    size_t memory_limit;     /* alerts held in memory before spilling */
    const char *state_dir;   /* where the spill file lives */
    long long backoff_base_ms; /* first retry delay; 0: 100 */
    long long backoff_max_ms;  /* cap; 0: 30000 */
} weir_webhook_options;

typedef struct weir_webhook_stats {
    uint64_t queued;     /* waiting now, in memory and spilled */
    uint64_t spilled;    /* of which on disk */
    uint64_t delivered;
    uint64_t failures;   /* failed attempts */
    uint64_t rejected;   /* refused for good by the receiver */
} weir_webhook_stats;

/* NULL with a message in err. Loads alerts left in the spill file. */
weir_webhook *weir_webhook_new(struct event_base *base, const weir_webhook_options *opt,
                               const weir_log *log, char *err, size_t err_cap);
/* Writes undelivered alerts to the spill file, then frees. Accepts NULL. */
void weir_webhook_free(weir_webhook *w);
/* Queues one alert (copied). -1 when it could be neither held nor spilled
 * (logged). */
int weir_webhook_enqueue(weir_webhook *w, const char *id, const char *json, size_t len);
/* Nothing waiting and nothing in flight. */
bool weir_webhook_idle(const weir_webhook *w);
void weir_webhook_get_stats(const weir_webhook *w, weir_webhook_stats *out);
const char *weir_webhook_name(const weir_webhook *w);

/* curl_global_init, once per process before any thread starts. */
int weir_webhook_global_init(void);
void weir_webhook_global_cleanup(void);

#endif
