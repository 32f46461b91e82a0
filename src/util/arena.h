/* arena.h — a bump allocator for objects that share one lifetime.
 *
 * The parser and checker allocate every AST node, string and list from one
 * arena; the whole tree is freed by weir_arena_free() in one call, so no
 * node needs its own destructor and no error path has to unwind a tree.
 * Allocation never returns NULL: on out-of-memory the arena aborts, because
 * a half-built rule set is not something a caller can recover from. */
#ifndef WEIR_UTIL_ARENA_H
#define WEIR_UTIL_ARENA_H

#include <stddef.h>

typedef struct weir_arena weir_arena;

/* Returns a new, empty arena. Free with weir_arena_free(). */
weir_arena *weir_arena_new(void);
/* Frees every block the arena handed out. Accepts NULL. */
void weir_arena_free(weir_arena *a);

/* Zeroed memory, aligned for any type, owned by the arena. */
void *weir_arena_alloc(weir_arena *a, size_t size);
/* Copies of strings, NUL-terminated, owned by the arena. */
char *weir_arena_strdup(weir_arena *a, const char *s);
char *weir_arena_strndup(weir_arena *a, const char *s, size_t n);
/* printf into arena memory. */
char *weir_arena_printf(weir_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Total bytes handed out (for tests and memory figures). */
size_t weir_arena_used(const weir_arena *a);

#define WEIR_ARENA_NEW(a, T) ((T *)weir_arena_alloc((a), sizeof(T)))
#define WEIR_ARENA_ARRAY(a, T, n) ((T *)weir_arena_alloc((a), sizeof(T) * (size_t)(n)))

#endif
