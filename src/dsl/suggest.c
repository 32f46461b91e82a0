/* suggest.c — "did you mean ...?" for misspelt names.
 *
 * The distance is Levenshtein's with one extra move, swapping two adjacent
 * characters (the "optimal string alignment" distance), because `amuont`
 * for `amount` is the commonest typo and should cost one edit, not two.
 *
 * A candidate is only offered when it is close relative to the name's
 * length: two edits turn `ab` into anything, so short names get fewer.
 * The rows of the distance table are allocated per call: names are short
 * and this runs only on an error path, so caching would gain nothing. */
#include "dsl/suggest.h"

#include <stdlib.h>
#include <string.h>

/* The largest distance worth suggesting for a name of `len` bytes, as
 * suggest.h promises: at most 2 edits, and fewer than a third of the length
 * rounded up. So names of up to 3 bytes get no suggestion (one edit
 * changes a third of them), 4 to 6 bytes one edit, longer names two. */
static size_t max_distance(size_t len)
{
    size_t third = (len + 2) / 3;
    size_t d = third ? third - 1 : 0;
    return d < 2 ? d : 2;
}

/* Optimal string alignment distance between a and b, or `limit + 1` as soon
 * as every entry of a row exceeds `limit` (the result cannot get smaller). */
static size_t osa_distance(const char *a, size_t la, const char *b, size_t lb,
                           size_t limit, size_t *rows)
{
    size_t *prev2 = rows, *prev = rows + (lb + 1), *cur = rows + 2 * (lb + 1);
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        size_t row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = prev[j - 1] + cost;     /* substitute / keep */
            if (prev[j] + 1 < best)
                best = prev[j] + 1;               /* delete */
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;            /* insert */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;          /* swap neighbours */
            cur[j] = best;
            if (best < row_min)
                row_min = best;
        }
        if (row_min > limit)
            return limit + 1;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *weir_suggest(const char *name, const char *const *candidates,
                         size_t n_candidates)
{
    if (!name || !candidates)
        return NULL;
    size_t len = strlen(name);
    size_t limit = max_distance(len);
    if (limit == 0)
        return NULL;
    const char *best = NULL;
    size_t best_d = limit + 1;
    size_t *rows = NULL;
    size_t rows_cap = 0;
    for (size_t i = 0; i < n_candidates; i++) {
        const char *cand = candidates[i];
        if (!cand)
            continue;
        size_t lc = strlen(cand);
        /* the length difference alone is a lower bound on the distance */
        size_t diff = lc > len ? lc - len : len - lc;
        if (diff >= best_d)
            continue;
        if (3 * (lc + 1) > rows_cap) {
            size_t *r = realloc(rows, sizeof *rows * 3 * (lc + 1));
            if (!r)
                break; /* no suggestion is better than no diagnostic */
            rows = r;
            rows_cap = 3 * (lc + 1);
        }
        size_t d = osa_distance(name, len, cand, lc, best_d - 1, rows);
        if (d < best_d) {
            best_d = d;
            best = cand;
        }
    }
    free(rows);
    return best;
}
