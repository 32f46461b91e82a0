/* manifest.h — the manifest of a checkpoint: which parts it has, their
 * sizes, how they are chunked and their checksums. It is the one record
 * that makes a checkpoint exist: a store writes it last, atomically, and a
 * reader trusts nothing that it does not list.
 *
 * The format is text, one field per line, so an operator can read it with
 * cat or redis-cli GET:
 *
 *     weir-manifest 1                 magic and format version
 *     job payments
 *     kind checkpoint                 or savepoint
 *     id 42
 *     created_ms 1732900000000        Unix time of the put
 *     store redis                     or dir
 *     chunk_size 4194304              0 for dir (one file per part)
 *     token 9f3a0c5e11b2d4e7          the put's chunk-key token; "-" for dir
 *     parts 2
 *     part meta 120 1 5c0f1d4a9b8e7f60    name, bytes, chunks, xxh64 (hex)
 *     part shard-0 10485760 3 0d1e2f3a4b5c6d7e
 *     end 8a7b6c5d4e3f2a1b            xxh64 of every byte before this line
 *
 * Every line ends in '\n'; fields are separated by one space. The words
 * "checkpoint", "savepoint", "redis" and "dir" are on-disk codes, kept
 * apart from the in-memory enums. A newer weir must keep reading version 1;
 * a reader refuses a version it does not know, naming it. */
#ifndef WEIR_STATE_MANIFEST_H
#define WEIR_STATE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "state/store.h"

#define WEIR_MANIFEST_VERSION 1

typedef struct weir_manifest_part {
    char name[WEIR_STORE_NAME_MAX + 1];
    uint64_t len;     /* bytes */
    uint64_t chunks;  /* Redis: ceil(len / chunk_size); dir: 1 */
    uint64_t hash;    /* xxh64, seed 0, of the whole part */
} weir_manifest_part;

typedef struct weir_manifest {
    char job[WEIR_STORE_NAME_MAX + 1];
    weir_store_kind kind;
    char id[WEIR_STORE_NAME_MAX + 1];
    int64_t created_ms;
    char store[8];               /* "dir" or "redis" */
    uint64_t chunk_size;
    char token[17];              /* 16 hex digits, or "-" */
    size_t n_parts;
    weir_manifest_part *parts;   /* owned (malloc'd), n_parts long */
} weir_manifest;

/* The text of m, malloc'd, NUL-terminated; its length in *len. NULL when
 * out of memory. */
char *weir_manifest_encode(const weir_manifest *m, size_t *len);

/* Parses and checks buf[len] into *m (zeroed first; free its parts with
 * weir_manifest_clear, also after a failure). -1 with a message that says
 * what is wrong and on which line. */
int weir_manifest_parse(const char *buf, size_t len, weir_manifest *m, char *err, size_t errlen);

void weir_manifest_clear(weir_manifest *m);

/* The part called name, or NULL. */
const weir_manifest_part *weir_manifest_part_named(const weir_manifest *m, const char *name);

#endif
