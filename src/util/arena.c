/* arena.c — bump allocator: a chain of blocks, each at least 16 KiB; large
 * requests get a block of their own so a big allocation never wastes the
 * tail of the current block. */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_BLOCK_SIZE = 16 * 1024, ARENA_ALIGN = 16 };

struct arena_block {
    struct arena_block *prev;
    size_t size;  /* usable bytes in data[] */
    size_t used;  /* bytes handed out from data[] */
    _Alignas(16) unsigned char data[];
};

struct weir_arena {
    struct arena_block *head;
    size_t total_used;
};

static void arena_oom(void)
{
    fputs("weir: out of memory\n", stderr);
    abort();
}

weir_arena *weir_arena_new(void)
{
    weir_arena *a = calloc(1, sizeof *a);
    if (!a)
        arena_oom();
    return a;
}

void weir_arena_free(weir_arena *a)
{
    if (!a)
        return;
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *prev = b->prev;
        free(b);
        b = prev;
    }
    free(a);
}

static struct arena_block *arena_add_block(weir_arena *a, size_t min_size)
{
    size_t size = min_size > ARENA_BLOCK_SIZE ? min_size : ARENA_BLOCK_SIZE;
    struct arena_block *b = malloc(sizeof *b + size);
    if (!b)
        arena_oom();
    b->size = size;
    b->used = 0;
    if (min_size > ARENA_BLOCK_SIZE && a->head) {
        /* Keep the current block at the head: it still has room. */
        b->prev = a->head->prev;
        a->head->prev = b;
    } else {
        b->prev = a->head;
        a->head = b;
    }
    return b;
}

void *weir_arena_alloc(weir_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_block *b = a->head;
    if (!b || b->size - b->used < size)
        b = arena_add_block(a, size);
    void *p = b->data + b->used;
    b->used += size;
    a->total_used += size;
    memset(p, 0, size);
    return p;
}

char *weir_arena_strndup(weir_arena *a, const char *s, size_t n)
{
    char *p = weir_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *weir_arena_strdup(weir_arena *a, const char *s)
{
    return weir_arena_strndup(a, s, strlen(s));
}

char *weir_arena_printf(weir_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return weir_arena_strdup(a, "");
    char *p = weir_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

size_t weir_arena_used(const weir_arena *a)
{
    return a->total_used;
}
