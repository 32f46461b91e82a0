/* fuzz_snapshot.c — libFuzzer target for the snapshot reader
 * (weir_engine_restore): any bytes, given a valid trailer checksum (so that
 * the parser, not the checksum, meets them), are restored into an engine
 * running the rules of the format fixtures (tests/data/snapshot-v1.weir:
 * patterns with every skip strategy, absence, timeouts, throttles, windows
 * of every kind, `keep`). The reader must never crash, leak or read out of
 * bounds: it refuses the bytes with a message, or loads them. A loaded
 * state must then hold up: it takes a few more events and ends its input,
 * and its own snapshot must restore again.
 * Build with `make fuzz`; run as
 *   tests/fuzz/fuzz_snapshot -max_len=65536 tests/fuzz/corpus-snapshot
 * The corpus holds the fixtures of every format without their trailers. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/snap_codec.h"
#include "weir/engine.h"
#include "weir/ruleset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef WEIR_SRCDIR
#define WEIR_SRCDIR "."
#endif

static weir_ruleset *ruleset;

static const char *const after[] = {
    "{\"card\":\"c1\",\"amount\":10,\"merchant\":\"m1\",\"kind\":\"a\",\"ts\":\"2026-01-05T10:00:00Z\"}",
    "{\"card\":\"c2\",\"amount\":95,\"merchant\":\"m2\",\"kind\":\"c\",\"ts\":\"2026-01-05T10:00:20Z\"}",
    "{\"card\":\"c1\",\"amount\":20,\"merchant\":\"m1\",\"kind\":\"b\",\"ts\":\"2026-01-05T10:01:00Z\"}",
};

static weir_engine *new_engine(void)
{
    weir_engine_options opt = {0}; /* alerts are only counted */
    weir_engine *e = weir_engine_new(ruleset, &opt);
    if (!e)
        abort();
    return e;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("WEIR_FUZZ_RULES");
    if (!path)
        path = WEIR_SRCDIR "/tests/data/snapshot-v1.weir";
    const char *paths[] = {path};
    if (weir_ruleset_compile(paths, 1, NULL, &ruleset) != WEIR_COMPILE_OK) {
        fprintf(stderr, "fuzz_snapshot: cannot compile %s (set WEIR_FUZZ_RULES)\n", path);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *snap = malloc(size + 8);
    if (!snap)
        return 0;
    if (size)
        memcpy(snap, data, size);
    uint64_t sum = snap_checksum(snap, size);
    for (int i = 0; i < 8; i++)
        snap[size + (size_t)i] = (unsigned char)(sum >> (8 * i));
    weir_engine *e = new_engine();
    char err[256] = "";
    weir_restore_report rep;
    if (weir_engine_restore(e, snap, size + 8, &rep, err, sizeof err) == 0) {
        for (size_t i = 0; i < sizeof after / sizeof *after; i++)
            weir_engine_push(e, after[i], strlen(after[i]), 1000000 + i);
        void *again = NULL;
        size_t len = 0;
        if (weir_engine_snapshot(e, &again, &len) != 0)
            abort(); /* out of memory only: not with these sizes */
        weir_engine *r = new_engine();
        if (weir_engine_restore(r, again, len, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "a restored state's own snapshot is refused: %s\n", err);
            abort();
        }
        weir_engine_finish(r);
        weir_engine_free(r);
        free(again);
        weir_engine_finish(e);
    } else if (!err[0]) {
        fprintf(stderr, "a refused snapshot without a reason\n");
        abort();
    }
    weir_engine_free(e);
    free(snap);
    return 0;
}
