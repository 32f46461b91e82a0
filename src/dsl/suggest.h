/* suggest.h — "did you mean ...?" for misspelt names. */
#ifndef WEIR_DSL_SUGGEST_H
#define WEIR_DSL_SUGGEST_H

#include <stddef.h>

/* The candidate closest to `name` by edit distance, if it is close enough to
 * be a likely misspelling (at most 2 edits, and fewer than a third of the
 * name's length rounded up); NULL otherwise. Ties go to the first. */
const char *weir_suggest(const char *name, const char *const *candidates,
                         size_t n_candidates);

#endif
