/* alloc_count.h — counting allocations in a test program, to check that a
 * hot path allocates nothing in steady state.
 *
 * Linking alloc_count.c into a test program interposes malloc, calloc and
 * realloc (forwarding to libc's) and counts calls while `alloc_counting`
 * is set. Sanitizers interpose the allocator themselves, so in sanitizer
 * builds WEIR_TEST_COUNT_ALLOCS is 0, nothing is counted, and the tests
 * only check their results there. */
#ifndef WEIR_TESTS_ALLOC_COUNT_H
#define WEIR_TESTS_ALLOC_COUNT_H

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEIR_TEST_COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define WEIR_TEST_COUNT_ALLOCS 0
#endif
#endif
#ifndef WEIR_TEST_COUNT_ALLOCS
#define WEIR_TEST_COUNT_ALLOCS 1
#endif

extern int alloc_counting; /* count while non-zero */
extern long alloc_count;   /* calls counted so far */

#endif
