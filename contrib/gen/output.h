/* output.h — writes events of every stream as JSON lines, payments fast.
 *
 * Ten million lines are over a gigabyte, so a line is assembled with
 * memcpy and hand-written number formatting in one large buffer that is
 * handed to fwrite() when full: no printf per field, no stdio per line. */
#ifndef WEIR_GEN_OUTPUT_H
#define WEIR_GEN_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "names.h"
#include "world.h"

typedef enum gen_time_style {
    GEN_TIME_MS,      /* "ts":1700000000000 */
    GEN_TIME_RFC3339, /* "ts":"2023-11-14T22:13:20.000Z" */
} gen_time_style;

typedef struct gen_out {
    FILE *file;
    const gen_world *world;
    const gen_names *names;
    gen_time_style time_style;
    bool with_stream; /* several streams: each line starts with its "stream" */
    char *buf; /* owned */
    size_t len;
    size_t cap;
    bool failed; /* a write failed: errno was saved in error */
    int error;
} gen_out;

/* Returns 0, or -1 when out of memory. */
int gen_out_init(gen_out *o, FILE *file, const gen_world *w, const gen_names *names,
                 gen_time_style style, bool with_stream);
void gen_out_event(gen_out *o, const gen_event *e);
/* Writes what is buffered; returns 0, or -1 if any write failed. */
int gen_out_flush(gen_out *o);
void gen_out_free(gen_out *o);

#endif
