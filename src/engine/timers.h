/* timers.h — event-time deadlines of keys (within, absence, window ends,
 * throttle expiry), in one min-heap per engine.
 *
 * A key has at most one live timer: its earliest deadline. When the
 * deadline moves, the engine pushes a new timer and the old one goes
 * stale; a popped timer counts only if it still matches the key entry's
 * timer_at and generation (lazy deletion, cheaper than a decrease-key). */
#ifndef WEIR_ENGINE_TIMERS_H
#define WEIR_ENGINE_TIMERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct weir_timer {
    int64_t at;
    uint32_t map;        /* which key map */
    uint32_t slot;       /* entry slot in that map */
    uint32_t generation; /* the entry's generation when pushed */
} weir_timer;

typedef struct weir_timers {
    weir_timer *heap;
    size_t n, cap;
} weir_timers;

void weir_timers_init(weir_timers *t);
void weir_timers_clear(weir_timers *t);
int weir_timers_push(weir_timers *t, weir_timer timer);
/* The earliest timer, or NULL. */
const weir_timer *weir_timers_peek(const weir_timers *t);
void weir_timers_pop(weir_timers *t);

#endif
