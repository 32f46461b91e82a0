/* alloc_count.c — the allocator interposition of alloc_count.h. */
#include <dlfcn.h>
#include <stddef.h>

#include "alloc_count.h"

#if !WEIR_TEST_COUNT_ALLOCS
/* Criterion 2.4.1 leaks its copy of CRITERION_OUTPUTS (strdup in
 * criterion_handle_args), which `make check` sets: not ours to fix, and
 * it would fail every sanitizer run. LeakSanitizer reads this hook. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:criterion_handle_args\n";
}
#endif

int alloc_counting;
long alloc_count;

#if WEIR_TEST_COUNT_ALLOCS
void *malloc(size_t n);
void *calloc(size_t n, size_t sz);
void *realloc(void *p, size_t n);

/* dlsym may itself call calloc before the real one is known: serve those
 * few early requests from a static buffer that is never freed. */
static char boot_buf[4096];
static size_t boot_used;

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot_buf)
        return NULL;
    void *p = boot_buf + boot_used;
    boot_used += n;
    return p;
}

void *malloc(size_t n)
{
    static void *(*real)(size_t);
    if (!real) {
        real = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
        if (!real)
            return boot_alloc(n);
    }
    if (alloc_counting)
        alloc_count++;
    return real(n);
}

void *calloc(size_t n, size_t sz)
{
    static void *(*real)(size_t, size_t);
    static int resolving;
    if (!real) {
        if (resolving)
            return boot_alloc(n * sz); /* static storage: already zero */
        resolving = 1;
        real = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
        resolving = 0;
        if (!real)
            return boot_alloc(n * sz);
    }
    if (alloc_counting)
        alloc_count++;
    return real(n, sz);
}

void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (!real)
        real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    if (alloc_counting)
        alloc_count++;
    return real(p, n);
}
#endif
