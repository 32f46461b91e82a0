/* background.h — normal traffic of every stream but payments: logins,
 * login attempts, password resets, payouts, ledger bookings, checkout
 * payments, shop orders and account openings, made round by round just
 * ahead of the stream and handed out in time order.
 *
 * None of it can raise an alert (see background.c for why, rule by rule);
 * it uses no key number below n_owned, which belong to the scenarios. */
#ifndef WEIR_GEN_BACKGROUND_H
#define WEIR_GEN_BACKGROUND_H

#include <stdint.h>

#include "heap.h"
#include "model.h"
#include "rng.h"
#include "world.h"

typedef struct gen_background_params {
    uint64_t seed;
    uint64_t n_events; /* exactly this many events, in whole episodes */
    int64_t start;     /* ms since the epoch */
    int64_t span;      /* ms: episodes start in [start, start + span) */
    uint32_t n_owned;  /* key numbers below this are the scenarios' */
} gen_background_params;

typedef struct gen_background {
    gen_background_params p;
    const gen_world *world;
    gen_rng rng;
    gen_heap heap;      /* made, not yet handed out */
    uint64_t n_rounds, next_round;
    uint64_t made;      /* events made so far */
    uint64_t new_devices, new_beneficiaries, orders, old_orders, openings;
    uint64_t household_salt;
} gen_background;

void gen_background_init(gen_background *b, const gen_background_params *p, const gen_world *w);
/* The time of the next event in *ts, or INT64_MAX when there is none left.
 * Returns 0, or -1 when out of memory. */
int gen_background_peek(gen_background *b, int64_t *ts);
/* The next event; only after gen_background_peek() found one. */
gen_event gen_background_pop(gen_background *b);
void gen_background_free(gen_background *b);

#endif
