/* grow_bytes.h — a byte buffer that grows by doubling, for the scratch and
 * record buffers of the server (they reach the size of the largest record
 * once, then stay). */
#ifndef WEIR_UTIL_GROW_BYTES_H
#define WEIR_UTIL_GROW_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

/* Room for `need` bytes at *buf (capacity *cap), doubling from 4 KiB.
 * false when out of memory: the buffer is unchanged. */
static inline bool weir_grow_bytes(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    char *grown = realloc(*buf, n);
    if (!grown)
        return false;
    *buf = grown;
    *cap = n;
    return true;
}

#endif
