/* traffic.h — the stream itself: normal payments, the other streams'
 * normal traffic (background.h) and the planted scenarios merged by time,
 * and a little disorder on the way out. */
#ifndef WEIR_GEN_TRAFFIC_H
#define WEIR_GEN_TRAFFIC_H

#include <stdint.h>

#include "background.h"
#include "output.h"
#include "scenario.h"
#include "world.h"

typedef struct gen_traffic_params {
    uint64_t seed;
    uint64_t n_payments; /* normal payments to write */
    int64_t start;       /* ms since the epoch */
    int64_t span;        /* ms: normal payments are spread evenly over [start, start + span) */
} gen_traffic_params;

typedef struct gen_traffic_stats {
    uint64_t written;
    uint64_t normal;
    uint64_t planted;
    uint64_t per_stream[GEN_N_STREAMS];
    uint64_t out_of_order; /* lines with a ts below one written before them */
    int64_t max_behind;    /* ms: the furthest one was behind */
    int64_t first_ts, last_ts;
} gen_traffic_stats;

/* Writes the stream: every normal payment, every event of `bg` (which may
 * have none) and every event of the plan. Returns 0, or -1 when out of
 * memory. Write errors are left in o (see gen_out_flush). */
int gen_traffic_write(const gen_traffic_params *tp, const gen_world *w, const gen_plan *plan,
                      gen_background *bg, gen_out *o, gen_traffic_stats *stats);

#endif
