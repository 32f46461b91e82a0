/* key_memory.h — one key's memory for a rule with `keep` (per-key state
 * that outlives matches).
 *
 *   keep for 90d where kind == "payment" {
 *       devices: distinct(device), usual: avg(amount), seen: count() }
 *
 * A weir_key_memory holds, for one (rule, key), aggregates over the key's
 * events that passed the keep's `where` in the last `for` of event time.
 * Conditions and alerts read it by item (MEM_VALUE, MEM_IN opcodes; see
 * engine/eval.c), and the rule runner updates it AFTER the event has been
 * matched, so a condition sees the key's history before the event.
 *
 * Time is cut into buckets of plan->bucket_ms (`every`), aligned to the
 * Unix epoch like window panes: bucket [s, s + w) holds the events with
 * s <= ts < s + w. A bucket is dropped, whole, when time reaches
 * s + w + for: an event is remembered at least `for` after it happened and
 * at most `for` + w. Expiry is a function of event time only (the event
 * being processed, or the watermark), never of when the engine happens to
 * look, so results do not depend on batching.
 *
 * Layout. Plain arrays and one borrowed pointer, so the state is easy to
 * walk (and to snapshot):
 *   - plan:    the rule's compiled keep (borrowed, read-only; not state);
 *   - starts:  the live buckets' start times, oldest first, strictly
 *              increasing; n_buckets of cap_buckets used;
 *   - states:  plan->n_aggs aggregate states per bucket, bucket-major:
 *              bucket i's state of slot j is states[i * n_aggs + j]. A state
 *              (window_plan.h's weir_agg_state, 32 bytes) holds numbers
 *              only: the checker refuses string min/max and first/last in a
 *              keep, so no state points at event bytes;
 *   - totals:  n_aggs states, every live bucket merged (what MEM_VALUE
 *              reads); added to with each event, recomputed from the
 *              buckets when one is dropped (min and max cannot be
 *              "subtracted", and float sums would drift);
 *   - tables:  plan->n_tables open-addressing hash tables (linear probing,
 *              capacity a power of two, at most half full) of distinct
 *              values, each with the start of the newest bucket it was seen
 *              in: it is forgotten when that bucket is dropped. A string
 *              value's bytes are a malloc'd copy owned by its slot.
 * Invariants: every table value's `last` is the start of a live bucket;
 * n_buckets == 0 exactly when the memory is empty, and then every array is
 * freed (cap_buckets == 0, tables have no slots).
 *
 * Memory per key: cap_buckets * (8 + 32 * n_aggs) bytes of buckets (at most
 * plan->max_buckets, for / every + 2, of them; only buckets that had an
 * event exist), 32 * n_aggs of totals, and per table 24 bytes a slot (2 to
 * 4 slots per value) plus each string's length + 1. See weir_key_memory_bytes.
 *
 * Threads: one key's memory is used by one thread at a time; the plan is
 * read-only and shared. Ownership: the memory borrows the plan, which must
 * outlive it; it owns every array and string it points to. */
#ifndef WEIR_ENGINE_KEY_MEMORY_H
#define WEIR_ENGINE_KEY_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/expr.h"
#include "compile/keep_plan.h"
#include "compile/window_plan.h"
#include "engine/eval.h"
#include "engine/snap_codec.h"

/* `last` of a table slot that holds no value. */
#define WEIR_MEMORY_FREE_SLOT INT64_MIN

/* One slot of a distinct table. */
typedef struct weir_memory_value {
    weir_value value;  /* of the item's type; a string's bytes are owned by
                          the slot (a malloc'd copy, NUL-terminated) */
    int64_t last;      /* start of the newest bucket the value was seen in;
                          WEIR_MEMORY_FREE_SLOT: an empty slot */
} weir_memory_value;

typedef struct weir_memory_table {
    weir_memory_value *slots; /* owned; cap of them; NULL when cap == 0 */
    uint32_t cap;             /* a power of two, or 0 */
    uint32_t n;               /* values held; n * 2 <= cap */
    size_t string_bytes;      /* bytes of the string copies, for bytes() */
} weir_memory_table;

typedef struct weir_key_memory {
    const weir_keep_plan *plan; /* borrowed */
    uint32_t n_buckets;         /* live buckets */
    uint32_t cap_buckets;       /* room in starts and states */
    int64_t *starts;            /* owned: bucket starts, oldest first */
    weir_agg_state *states;     /* owned: cap_buckets * plan->n_aggs */
    weir_agg_state *totals;     /* owned: plan->n_aggs; NULL while empty */
    weir_memory_table *tables;  /* owned: plan->n_tables; NULL while empty */
} weir_key_memory;

/* An empty memory for `plan`. Allocates nothing. */
void weir_key_memory_init(weir_key_memory *m, const weir_keep_plan *plan);
/* Frees everything the memory holds; it is then empty and may be used
 * again. Accepts a memory that was only initialised. */
void weir_key_memory_clear(weir_key_memory *m);

/* Drops the buckets whose time is over at `now` (start + bucket + for <=
 * now) and the values seen only in them. Call before reading the memory at
 * event time `now`. Never fails: values are removed in place, and a table
 * that became mostly empty is moved to a smaller array only if one can be
 * had. */
void weir_key_memory_expire(weir_key_memory *m, int64_t now);

/* Remembers one event of the keep's stream (the caller picks the stream):
 * if it passes the keep's `where`, it is folded into the bucket of `ts`,
 * which must not be older than the newest bucket (events come in time
 * order; an older one is folded into the newest bucket). `fields` are
 * indexed by ast_field.index; `scratch` is for string functions in the
 * programs (reset here). Returns 1 if kept, 0 if `where` refused it, -1
 * on out-of-memory (then nothing was added, or, if a distinct table could
 * not grow, the event's aggregates and some of its values were not). */
int weir_key_memory_add(weir_key_memory *m, const weir_value *fields, int64_t ts,
                        weir_eval_scratch *scratch);

/* True when nothing is remembered. */
static inline bool weir_key_memory_empty(const weir_key_memory *m)
{
    return m->n_buckets == 0;
}

/* When the oldest bucket is dropped: the time expire() next does
 * something. INT64_MAX when empty. */
int64_t weir_key_memory_next_expiry(const weir_key_memory *m);

/* The value of item `item` (plan order): an aggregate's result over the
 * live buckets (count and sum are 0 and avg, min, max missing over no
 * event), or a count distinct's size; missing for a distinct set, which is
 * only read with weir_key_memory_contains(). */
void weir_key_memory_read(const weir_key_memory *m, unsigned item, weir_value *out);
/* Whether `v` (present, of the item's type) is in the distinct set of item
 * `item`; false for other items. */
bool weir_key_memory_contains(const weir_key_memory *m, unsigned item, const weir_value *v);

/* Values item `item`'s table holds (0 for an aggregate). */
size_t weir_key_memory_values(const weir_key_memory *m, unsigned item);
/* Heap bytes the memory holds: its arrays (whole capacity) and string
 * copies; not the weir_key_memory struct itself, which its owner embeds. */
size_t weir_key_memory_bytes(const weir_key_memory *m);

/* Snapshots (doc/state-format.md): the live buckets with their states,
 * the totals (saved, not recomputed: float sums must not drift) and each
 * table's values with the bucket they were last seen in. Save returns 0
 * or -1 (out of memory). Load fills an empty memory; -1 on bad input
 * (in->error says why) or out of memory, leaving it empty. */
int weir_key_memory_save(const weir_key_memory *m, snap_out *o);
int weir_key_memory_load(weir_key_memory *m, snap_in *in);

#endif
