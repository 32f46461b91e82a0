/* listen_addr.h — the address a listening socket binds, from the HOST and
 * PORT of an option such as --tcp or --http. */
#ifndef WEIR_IO_LISTEN_ADDR_H
#define WEIR_IO_LISTEN_ADDR_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

/* Resolves host (numeric or a name) and port for a passive stream socket:
 * the first result in *out (free it with freeaddrinfo). Returns 0, or -1
 * with "HOST: why" in err. */
int weir_listen_addr(const char *host, uint16_t port, struct addrinfo **out, char *err,
                     size_t err_cap);

#endif
