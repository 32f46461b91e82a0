/* listen_addr.c — see listen_addr.h. */
#include "io/listen_addr.h"

#include <stdio.h>
#include <sys/socket.h>

int weir_listen_addr(const char *host, uint16_t port, struct addrinfo **out, char *err,
                     size_t err_cap)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    char port_s[8];
    snprintf(port_s, sizeof port_s, "%u", port);
    *out = NULL;
    int gai = getaddrinfo(host, port_s, &hints, out);
    if (gai != 0) {
        snprintf(err, err_cap, "%s: %s", host, gai_strerror(gai));
        return -1;
    }
    return 0;
}
