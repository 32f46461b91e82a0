/* window_run.h — running a compiled window rule for one key.
 *
 * A weir_window_runtime holds what one rule needs to run on one thread: the
 * plan (borrowed) and scratch arrays for merging and evaluating. A
 * weir_window_key holds one key's pending windows. The engine keeps one key
 * object per (rule, key value), feeds it the key's events in timestamp
 * order with weir_window_add() and, whenever the watermark passes the
 * key's next deadline (weir_window_key_next_deadline()), calls
 * weir_window_advance(). Windows are reported through a callback.
 *
 * Semantics are Flink's window assigners, in event time:
 *   - tumbling SIZE: [k*SIZE, (k+1)*SIZE), aligned to the Unix epoch;
 *   - sliding SIZE every SLIDE: [k*SLIDE, k*SLIDE + SIZE);
 *   - session gap GAP: a burst of events each less than GAP after the
 *     previous one; the window is [first event, last event + GAP), so an
 *     event exactly GAP after the last one starts a new session;
 *   - count N every M: fires at every M-th event taken, over the last (up
 *     to) N events taken, as Flink's countWindow(N, M); without `every`,
 *     M = N. window_start()/window_end() of a count window are the first
 *     event's time and the last event's time + 1 ms, so [start, end) holds
 *     all of its events, as for time windows.
 * A time window fires once, when the watermark reaches its end
 * (end <= watermark): the watermark is the time below which no more events
 * will come. A window with no event that passed `where` does not exist and
 * never fires. The callback is called for each fired window whose `when`
 * holds (or every fired window, without `when`), in order of window end.
 *
 * Panes. Time windows are cut into panes of gcd(SIZE, SLIDE) ms (SIZE for
 * tumbling windows): each event is folded into exactly one pane, and a
 * window merges the panes it spans when it fires. So an event costs one
 * add() per aggregate whatever the overlap, and min, max, first, last and
 * count distinct are recomputed by merging, never "subtracted". A session
 * is one pane. Count windows use panes of gcd(N, M) events. The runtime
 * never calls an aggregate's remove().
 *
 * Memory. A key keeps its panes in a ring of fixed-size slots that only
 * grows (doubling, from one slot inside the key object): a slot is reused
 * in place when its pane leaves, so in steady state an event allocates
 * nothing (count distinct excepted: a set grows when it meets a new value,
 * and each pane starts its own set). Strings held by min/max/first/last
 * are copied into buffers owned by the slot (kept for its next pane), and
 * a key keeps no copy of its key value (weir_window_advance() is passed
 * it), so the caller's event buffer may be reused as soon as
 * weir_window_add() returns. An idle key still holds its ring: the engine
 * frees idle keys it no longer needs.
 *
 * Threads: a runtime and its keys are used by one thread at a time. The
 * plan is read-only and may be shared by runtimes on several threads.
 *
 * Ownership: weir_window_runtime_new() borrows the plan, which must outlive
 * the runtime and its keys; free every key with weir_window_key_free()
 * before weir_window_runtime_free(). The callback's weir_window_fired and
 * every string it points to are valid only during the callback; the
 * callback must not call back into the runtime for the same key. */
#ifndef WEIR_ENGINE_WINDOW_RUN_H
#define WEIR_ENGINE_WINDOW_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/expr.h"
#include "compile/window_plan.h"
#include "engine/snap_codec.h"

typedef struct weir_window_runtime weir_window_runtime;
typedef struct weir_window_key weir_window_key;

/* One fired window that passed `when`. */
typedef struct weir_window_fired {
    weir_millis start;       /* [start, end): see the header comment for
                                sessions and count windows */
    weir_millis end;
    int64_t n_events;        /* events in the window (after `where`), > 0 */
    uint64_t first_seq;      /* `seq` of the window's first and last event */
    uint64_t last_seq;       /*   (for the alert's deterministic id) */
    weir_value key;          /* the key value */
    const weir_value *aggs;  /* plan->n_aggs finished results, by slot */
    unsigned n_aggs;
    const weir_value *emit;  /* plan->n_emit values, in plan->emit order,
                                evaluated with weir_eval_run over `aggs`;
                                NULL when the rule has no emit body */
    unsigned n_emit;
} weir_window_fired;

/* Called once per window that fires and passes `when`. */
typedef void (*weir_window_cb)(const weir_window_fired *w, void *user);

/* What weir_window_add() did with an event. */
typedef enum weir_window_status {
    WEIR_WINDOW_ERROR = -1,   /* out of memory: the event is not (fully)
                                 aggregated */
    WEIR_WINDOW_TAKEN = 0,    /* aggregated */
    WEIR_WINDOW_FILTERED = 1, /* `where` rejected it */
    WEIR_WINDOW_LATE = 2,     /* time windows: older than the key's last
                                 watermark or than an event already taken;
                                 not aggregated (the caller counts it) */
} weir_window_status;

/* A runtime for `plan`, or NULL on out-of-memory. */
weir_window_runtime *weir_window_runtime_new(const weir_window_plan *plan);
/* Frees the runtime. Accepts NULL. Free its keys first. */
void weir_window_runtime_free(weir_window_runtime *rt);

/* A key with no state, or NULL on out-of-memory. */
weir_window_key *weir_window_key_new(weir_window_runtime *rt);
/* Frees the key and everything it holds (pending windows are dropped, not
 * fired). Accepts NULL. */
void weir_window_key_free(weir_window_runtime *rt, weir_window_key *key);

/* Feeds one event of the key: `fields` is indexed by the stream's field
 * index, `ts` is its event time (or arrival time in processing-time mode),
 * `seq` its position in the input (reported back as first_seq/last_seq).
 * Events must come in timestamp order. Count windows fire from here, through
 * cb (which may be NULL: windows are then dropped silently). Nothing the
 * runtime keeps points into `fields` afterwards. */
weir_window_status weir_window_add(weir_window_runtime *rt, weir_window_key *key,
                                   const weir_value *fields, weir_millis ts, uint64_t seq,
                                   weir_window_cb cb, void *user);

/* Fires, in order of window end, every time window of the key whose end is
 * <= watermark; a watermark lower than one seen before is ignored. The
 * watermark is a promise: events older than it are refused afterwards
 * (WEIR_WINDOW_LATE), so feed a key its events up to a time before
 * advancing it to that time. Does nothing for count windows. Returns the
 * number of callbacks made.
 * weir_window_advance(rt, key, INT64_MAX, ...) flushes every time window
 * (end of input). key_value is the key's value, which `when` and emit read
 * (a key does not keep a copy: its caller has it); NULL reads as missing. */
size_t weir_window_advance(weir_window_runtime *rt, weir_window_key *key,
                           const weir_value *key_value, weir_millis watermark, weir_window_cb cb,
                           void *user);

/* The end of the key's earliest pending time window: advancing the
 * watermark to it fires that window (which `when` may still reject).
 * INT64_MAX if none (count windows never
 * have a deadline). A window whose end lies beyond INT64_MAX ms also
 * reports INT64_MAX and fires only on the final flush. */
weir_millis weir_window_key_next_deadline(const weir_window_key *key);

/* Hints the CPU to load the key's oldest pane, which the next advance
 * reads: the engine calls it a timer or two ahead. No effect otherwise. */
void weir_window_key_prefetch(const weir_window_key *key);

/* True when the key holds no pending window: freeing it loses nothing. */
bool weir_window_key_idle(const weir_window_key *key);

/* Bytes the key holds: the key object, its ring of panes
 * (every slot, used or not) and their string copies, and an estimate for
 * count distinct sets (32 bytes per member). Kept up to date as the key
 * changes, so this is O(1). */
size_t weir_window_key_bytes(const weir_window_key *key);

/* Snapshots (doc/state-format.md): the key's value (key_value, as the key
 * does not keep it; read back and dropped by load), its panes with their
 * aggregate states (count distinct sets member by member) and its
 * progress. Save returns 0, or -1 when out of memory. Load returns the
 * key, or NULL: on bad input in->error says why, else memory ran out. */
int weir_window_key_save(const weir_window_runtime *rt, const weir_window_key *key,
                         const weir_value *key_value, snap_out *o);
weir_window_key *weir_window_key_load(weir_window_runtime *rt, snap_in *in);

#endif
