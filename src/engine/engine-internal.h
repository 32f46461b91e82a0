/* engine-internal.h — the parts of a weir_engine that its source files
 * share: the engine proper (engine.c: input, watermarks, keys, timers),
 * the glue to the pattern and window runtimes (rule_runner.c) and alert
 * building (alert.c). Nothing here is visible outside libweir. */
#ifndef WEIR_ENGINE_INTERNAL_H
#define WEIR_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "compile/plan.h"
#include "engine/decode.h"
#include "engine/eval.h"
#include "engine/held_events.h"
#include "engine/key_map.h"
#include "engine/snap_codec.h"
#include "engine/timers.h"
#include "weir/engine.h"

#define WEIR_NO_FIELD UINT32_MAX

typedef struct engine_rule {
    const weir_rule_plan *plan;
    size_t index;             /* in the ruleset */
    uint32_t map;             /* which key map holds its keys */
    uint32_t pos;             /* its place in that map's key blocks */
    uint32_t *key_field;      /* per stream: the key field, or WEIR_NO_FIELD
                                 when the rule does not read the stream */
    void *runtime;            /* weir_pattern_runtime / weir_window_runtime */
    /* The plan the runtime and its key states were built from, and the
     * rule set holding it: `plan` itself, unless the runtime was taken
     * over from an engine of an earlier rule set with the same rule
     * (weir_engine_adopt), whose plan is the same compiled rule. */
    const weir_rule_plan *run_plan;
    const weir_ruleset *run_rs;
    /* Pattern rules with several inputs: a bare field name in `emit` was
     * compiled to the field's index in the first input's stream; for an
     * event of stream s, remap[s][i] is where first-input field i sits in
     * s (WEIR_NO_FIELD: nowhere). NULL for single-input rules. */
    uint32_t **remap;
    unsigned first_input;     /* stream index of the rule's first input */
    weir_value *remapped;     /* scratch: the last event in first-input layout */
    void *spare;              /* a fresh key state: an event of a key with no
                                 state runs on it first, and only if it
                                 leaves something pending is a key made */
    const char *severity;
    const char **sinks;       /* borrowed names, owned array */
    size_t n_sinks;
    bool throttled;
    int64_t throttle_ms;
    /* counters for weir_engine_get_rule_stats() */
    uint64_t alerts;
    uint64_t n_throttled;
    uint64_t events;          /* events with a key fed to it */
    uint64_t states;          /* keys holding a state of it now */
    uint64_t partials;        /* its partial matches alive now */
} engine_rule;

/* Per key value: the state of every rule keyed by it (NULL while that
 * rule has none) and the time of each rule's last alert, for throttling.
 * One allocation: the states inline, the alert times after them (a block
 * per live key, so no pointer to the states: 16 bytes less a key). */
typedef struct key_block {
    int64_t *last_alert;  /* as many as states, just after them; INT64_MIN:
                             none */
    void *states[];       /* n_rules of the map, or fewer: see below */
} key_block;

/* The bytes of a block with room for n_rules. */
static inline size_t key_block_bytes(uint32_t n_rules)
{
    return sizeof(key_block) + n_rules * (sizeof(void *) + sizeof(int64_t));
}

/* Rules a block has room for. A rule swap that only adds rules to a map
 * keeps its blocks as they are (weir_engine_adopt), so a block may end
 * before the map's last rules: those have nothing for that key yet, and
 * the block grows when one of them needs room (weir_engine_block_fit).
 * The count is where last_alert starts: no byte more per key. */
static inline uint32_t key_block_rules(const key_block *b)
{
    return (uint32_t)((void *const *)(const void *)b->last_alert - b->states);
}
static inline void *key_block_state(const key_block *b, uint32_t pos)
{
    return pos < key_block_rules(b) ? b->states[pos] : NULL;
}
static inline int64_t key_block_last_alert(const key_block *b, uint32_t pos)
{
    return pos < key_block_rules(b) ? b->last_alert[pos] : INT64_MIN;
}
static inline uint32_t key_block_min(uint32_t a, uint32_t b) { return a < b ? a : b; }


typedef struct engine_map {
    weir_key_map keys;
    uint32_t *rules;      /* engine rule indexes, in block order */
    uint32_t n_rules;
    /* After a swap that changed or dropped rules of this map without
     * moving the others (weir_engine_adopt): the old rules' states are
     * still in the keys' blocks, at the places grave_at names (an index in
     * the engine's graves, or -1), until each key is swept (key_clean: its
     * `swept` equals sweep_bit). Keys are swept when next touched, and
     * all of them by weir_engine_sweep, slot by slot from sweep_next.
     * NULL when nothing waits. */
    int32_t *grave_at;
    uint32_t n_grave_at;
    /* When that swap also moved kept rules to other places (a rule
     * dropped or added before them): per old place, the kept rule's new
     * one (UINT32_MAX: none); and the inverse, per new place. Unswept
     * blocks are in the old order until swept. NULL otherwise.
     * moves_later: some rule moved to a later place, so sweeping a block
     * makes a new one (else the rules move within it). */
    uint32_t *moved_to, *moved_from;
    bool moves_later;
    size_t sweep_next;
    bool sweep_bit;
} engine_map;

/* Frees the states of dropped rules still in the key's block and puts the
 * kept ones in their places (see engine_map.grave_at); the key stays,
 * maybe empty. -1, the key untouched, when out of memory. */
int weir_engine_key_sweep(weir_engine *e, engine_map *m, weir_key_entry *entry);
/* Before a key's states are read or written: they must all be the
 * engine's rules', in its places. -1 when out of memory. */
static inline int key_clean(weir_engine *e, engine_map *m, weir_key_entry *entry)
{
    if (m->grave_at && entry->swept != m->sweep_bit)
        return weir_engine_key_sweep(e, m, entry);
    return 0;
}
/* Where in the key's block the map's rule at place pos has its state, for
 * readers that must not sweep: pos itself once swept; UINT32_MAX when the
 * place still holds a dropped rule's state, or the rule had none there. */
static inline uint32_t key_place(const engine_map *m, const weir_key_entry *entry, uint32_t pos)
{
    if (!m->grave_at || entry->swept == m->sweep_bit)
        return pos;
    if (m->moved_from)
        return pos < m->n_rules ? m->moved_from[pos] : UINT32_MAX;
    return pos < m->n_grave_at && m->grave_at[pos] >= 0 ? UINT32_MAX : pos;
}

/* Per stream: which rules read it. */
typedef struct engine_stream {
    const ast_stream *ast;
    uint32_t *rules;
    uint32_t n_rules;
    bool processing_time;
    bool seen;            /* any event yet */
    int64_t max_ts;
    int64_t lateness;
    uint64_t events;      /* decoded events of this stream, late ones too */
    uint32_t store_width; /* fields a pattern rule's stored copy of an event
                             keeps (weir_engine_apply_store_widths) */
    /* Derived from the splits (engine_splits below), recomputed when they
     * change: how many open, non-idle splits hold this stream back, and
     * the smallest largest-time among them (INT64_MIN: one has none yet). */
    uint32_t n_holding;
    int64_t split_floor;
} engine_stream;

/* ---- Splits (weir/engine.h: "Splits") ---------------------------------
 *
 * The engine's whole split bookkeeping, kept apart so that a snapshot can
 * write it as it is: a plain array of fixed-size records, no pointers.
 * Everything else about splits (engine_stream.n_holding and split_floor)
 * is derived from it by recompute_floors() in engine.c. */

/* engine_split.stream of a split that holds every event-time stream. */
#define ENGINE_SPLIT_ALL UINT32_MAX

typedef struct engine_split {
    uint64_t id;            /* the caller's */
    uint32_t stream;        /* stream index, or ENGINE_SPLIT_ALL */
    bool idle;              /* no activity for idle_ms: holds nothing back */
    int64_t max_ts;         /* largest event time seen on it, or advanced
                               to; INT64_MIN: none yet */
    int64_t last_active;    /* clock ms when activity was last noted (by
                               weir_engine_tick or open). Processing time:
                               a restored snapshot should set it to now */
    uint64_t events;        /* events pushed with it */
    uint64_t activity;      /* events and advances: a tick that sees it
                               changed notes the split as active */
    uint64_t activity_seen; /* `activity` at the last tick */
} engine_split;

typedef struct engine_splits {
    engine_split *v;        /* owned; n of cap in use, in no set order */
    size_t n, cap;
    size_t last;            /* index of the last split an event was pushed
                               with: consecutive events of one partition
                               find it without a search */
    int64_t idle_ms;        /* <= 0: never idle */
    bool dirty;             /* the streams' derived fields are stale */
} engine_splits;

struct weir_engine {
    const weir_ruleset *rs;
    weir_engine_options opt;
    weir_decoder *decoder;
    engine_stream *streams;
    size_t n_streams;
    engine_rule *rules;
    size_t n_rules;
    engine_map *maps;
    size_t n_maps;
    weir_held_queue *held;
    weir_timers timers;
    unsigned default_stream; /* the decoder's default stream (options'
                                default_stream), or WEIR_DECODE_STREAM_UNKNOWN */
    engine_splits splits;
    /* Rule sets that taken-over runtimes still read (weir_engine_adopt);
     * one ownership each, dropped when the engine is freed. */
    const weir_ruleset **retained;
    size_t n_retained;
    /* Rules a swap dropped or changed whose states wait in the keys to be
     * freed (engine_map.grave_at); their runtimes are theirs until then */
    engine_rule *graves;
    size_t n_graves;
    int64_t released;     /* every event with ts <= released was fed */
    weir_engine_stats stats;
    /* per-call scratch */
    weir_eval_scratch scratch;
    char scratch_buf[4096];
    yajl_gen gen;
    /* the key being processed, for alerts: its value, and its entry and
     * block when it has them (NULL while an event runs on a spare state) */
    const weir_value *cur_key;
    weir_value cur_key_value; /* where cur_key points when it is an entry's */
    weir_key_entry *cur_entry;
    key_block *cur_block;
};

/* engine.c, for snapshots: the entry and block of `key` in map m, made if
 * absent (NULL when out of memory); and a key's settling after its states
 * changed: idle states freed, the key freed when nothing is left, else its
 * timer armed on its earliest deadline (0, or -1 when out of memory). */
weir_key_entry *weir_engine_key_entry(weir_engine *e, engine_map *m, const weir_value *key,
                                      uint64_t hash);
int weir_engine_settle_key(weir_engine *e, uint32_t map_index, weir_key_entry *entry, int64_t now);
/* An empty block for a map of n_rules rules (one allocation: free()). */
/* A key block of map m with room for n_rules, from m's pools; NULL when
 * out of memory. Free it with weir_engine_free_block and the same map. */
key_block *weir_engine_new_block(engine_map *m, uint32_t n_rules);
void weir_engine_free_block(engine_map *m, key_block *b);
/* The entry's block with room for every rule of map m: grown (moved) when
 * it was short, e->cur_block following it. NULL when out of memory (the
 * block stays as it was). */
key_block *weir_engine_block_fit(weir_engine *e, engine_map *m, weir_key_entry *entry);

/* rule_runner.c: the pattern / window runtimes behind one interface. */
int weir_rule_runner_init(weir_engine *e, engine_rule *r);
void weir_rule_runner_fini(engine_rule *r);
/* Held events copied with fewer fields than their stream's store_width now
 * (taken over from an engine whose rules read less) copied again, wide
 * enough: the fields past a copy are missing, but for the event time.
 * Returns 0, or -1 when out of memory (the queue is unchanged). */
int weir_engine_held_fit(weir_engine *e);
/* Field f of a held event, whatever its copy's width. */
weir_value weir_engine_held_field(const weir_engine *e, const weir_held_event *ev, uint32_t f);
/* Passes the streams' store_width to a pattern rule's runtime. */
void weir_rule_store_widths(const weir_engine *e, engine_rule *r);
void *weir_rule_key_new(engine_rule *r);
void weir_rule_key_free(engine_rule *r, void *state);
int weir_rule_process(weir_engine *e, engine_rule *r, void *state, const weir_value *fields,
                      unsigned stream, int64_t ts, uint64_t seq);
int weir_rule_advance(weir_engine *e, engine_rule *r, void *state, int64_t watermark);
int64_t weir_rule_next_deadline(const engine_rule *r, const void *state);
bool weir_rule_idle(const engine_rule *r, const void *state);
size_t weir_rule_partials(const engine_rule *r, const void *state);
size_t weir_rule_key_bytes(const engine_rule *r, const void *state);
void weir_rule_prefetch(const engine_rule *r, const void *state);
/* Snapshots of one key's state of the rule (engine_snapshot.c). */
/* key: the value the state is kept under (a window state does not keep it) */
int weir_rule_key_save(const engine_rule *r, const void *state, const weir_value *key,
                       snap_out *o);
void *weir_rule_key_load(engine_rule *r, snap_in *in);

/* alert.c: one detection, as the runners report it. */
typedef struct alert_input {
    engine_rule *rule;
    int64_t time;            /* event time of the detection */
    bool timed_out;          /* a partial match reported by `on timeout` */
    uint64_t detection;      /* hash of what was detected (the matched
                                events' sequence numbers, or the window's
                                bounds): with the rule and key, the id */
    const weir_eval_ctx *ctx;/* what the emit programs read */
    /* pattern rules */
    const weir_emit_plan *emit;
    const struct weir_pattern_match *match; /* matched events by step */
    /* window rules */
    bool window;
    int64_t window_start, window_end;
    uint64_t window_events;
    const weir_value *window_emit; /* the plan's emit values, in order */
} alert_input;

/* Mixes v into a detection hash (start from WEIR_DETECTION_SEED). */
#define WEIR_DETECTION_SEED 1469598103934665603ULL
uint64_t weir_detection_mix(uint64_t h, uint64_t v);

/* Applies the rule's throttle, builds the alert and hands it to the
 * engine's callback. The key is the engine's current key. Returns 0, or -1
 * on out of memory. */
int weir_engine_raise_alert(weir_engine *e, const alert_input *in);

/* The current key's block, made if the key has none yet (for throttling an
 * alert raised on a spare state). NULL when out of memory. */
key_block *weir_engine_current_block(weir_engine *e, const engine_rule *r);

#endif
