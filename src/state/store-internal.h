/* store-internal.h — what the two stores share: the operations table every
 * backend fills in, the common head of a store object, and helpers for
 * names, ids, errors and pruning. Not for users of store.h. */
#ifndef WEIR_STATE_STORE_INTERNAL_H
#define WEIR_STATE_STORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/manifest.h"
#include "state/store.h"

typedef struct weir_store_ops {
    const char *name; /* "dir" or "redis" */
    int (*put)(weir_store *s, weir_store_kind kind, const char *id,
               const weir_store_part *parts, size_t n, weir_store_done_cb cb, void *user,
               char *err, size_t errlen);
    int (*latest)(weir_store *s, char *id, size_t cap, char *err, size_t errlen);
    int (*get)(weir_store *s, weir_store_kind kind, const char *id, weir_store_read *out,
               char *err, size_t errlen);
    int (*list)(weir_store *s, weir_store_kind kind, weir_store_entry **out, size_t *n,
                char *err, size_t errlen);
    int (*del)(weir_store *s, weir_store_kind kind, const char *id, char *err, size_t errlen);
    void (*free)(weir_store *s);
} weir_store_ops;

/* The first member of every backend's store. */
struct weir_store {
    const weir_store_ops *ops;
    char job[WEIR_STORE_NAME_MAX + 1];
    unsigned keep;        /* >= 1 */
    int timeout_ms;       /* > 0 */
    size_t chunk_size;    /* > 0 */
    struct event_base *base; /* not owned; may be NULL for dir */
    bool closing;         /* inside weir_store_free: puts are refused */
};

/* Copies the options into the head; -1 with a message when invalid. */
int weir_store_init_head(weir_store *s, const weir_store_ops *ops,
                         const weir_store_options *opt, char *err, size_t errlen);

void weir_store_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "checkpoint" / "savepoint": the on-disk and in-key word of a kind. */
const char *weir_store_kind_word(weir_store_kind kind);

/* [A-Za-z0-9._-]{1,64}, not starting with '.'. */
bool weir_store_name_ok(const char *name);

/* A checkpoint id's value; false when s is not one. */
bool weir_store_checkpoint_id_value(const char *s, uint64_t *v);

/* Orders two ids of a kind: checkpoints by value, savepoints by name. */
int weir_store_id_cmp(weir_store_kind kind, const char *a, const char *b);

/* Sorts entries: checkpoints by id, savepoints by time then id. */
void weir_store_sort_entries(weir_store_kind kind, weir_store_entry *e, size_t n);

/* Given the checkpoint ids in a store (any order, may include new_id),
 * marks in prune[] those to delete once new_id is complete: all but
 * new_id and the keep-1 highest others. Returns how many. */
size_t weir_store_pick_prune(char (*ids)[WEIR_STORE_NAME_MAX + 1], size_t n, const char *new_id,
                             unsigned keep, bool *prune);

/* Unix time in ms. */
int64_t weir_store_now_ms(void);

/* 64 random bits (getrandom; a time-and-address mix if that fails). */
uint64_t weir_store_random64(const void *salt);

/* Fills a manifest's part table from the parts being put; hashes are left
 * 0 for the caller. -1 when out of memory. */
int weir_store_manifest_from_parts(weir_manifest *m, const weir_store_part *parts, size_t n);

/* Checks a parsed manifest against where it was found. */
int weir_store_manifest_matches(const weir_manifest *m, const char *job, weir_store_kind kind,
                                const char *id, const char *store, char *err, size_t errlen);

/* Fills out->parts from a manifest (names and sizes; data NULL). */
int weir_store_read_init(weir_store_read *out, const weir_manifest *m, char *err,
                         size_t errlen);

/* Fills an entry from manifest text; marks it damaged when it does not parse. */
void weir_store_entry_from_manifest(weir_store_entry *e, const char *id, const char *text,
                                    size_t len, const char *job, weir_store_kind kind,
                                    const char *store);

#endif
