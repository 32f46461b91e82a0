/* http_api.h — the HTTP API of `weir serve` (libmicrohttpd on the main
 * libevent loop). Endpoints and their JSON are documented in
 * doc/http-api.md. */
#ifndef WEIR_SERVER_HTTP_API_H
#define WEIR_SERVER_HTTP_API_H

#include <stddef.h>
#include <stdint.h>

#include "server/server-internal.h"

typedef struct weir_http_api weir_http_api;

/* Listens on host:port (0: any free port). NULL with a message in err. */
weir_http_api *weir_http_api_new(weir_server *srv, const char *host, uint16_t port, char *err,
                                 size_t err_cap);
/* Ends the alert streams and stops the daemon. Accepts NULL. */
void weir_http_api_free(weir_http_api *api);
uint16_t weir_http_api_port(const weir_http_api *api);
/* Sends alert seq to every GET /alerts/stream client. */
void weir_http_api_publish(weir_http_api *api, uint64_t seq, const char *json, size_t len);
/* Ends every alert stream (at shutdown, before the last sink flush). */
void weir_http_api_close_streams(weir_http_api *api);

#endif
