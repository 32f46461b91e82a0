/* weir/engine.h — running a compiled rule set over a stream of events.
 *
 * A weir_engine takes JSON events one at a time (weir_engine_push), holds
 * each until the event-time watermark of its stream passes it, feeds the
 * events of every key to every rule in timestamp order, and hands every
 * alert, dead letter and late event to the caller's callbacks. It does no
 * I/O and keeps no global state: one engine per thread, as many as you
 * like in one process. Time only moves through the events (and
 * weir_engine_advance_to / weir_engine_finish), so the same input always
 * gives the same alerts with the same ids.
 *
 * Ownership: the engine borrows the ruleset (which must outlive it);
 * everything a callback receives is valid only during the callback. */
#ifndef WEIR_ENGINE_H
#define WEIR_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/ruleset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weir_engine weir_engine;

/* One alert: `json` is the whole alert as one JSON object on one line
 * (no newline), the form `weir run` writes:
 *   {"id":"9f2c...","rule":"card_testing","severity":"high","key":"c1",
 *    "time":"2026-11-29T10:00:05.000Z","timed_out":false,
 *    "body":{...the rule's emit...},
 *    "events":{"probe":[{...},{...}],"big":[{...}]}}
 * Window alerts carry "window":{"start":...,"end":...,"events":N} instead
 * of "events". */
typedef struct weir_alert {
    const char *rule;      /* the rule's name */
    const char *severity;  /* "low", "medium", "high", "critical" */
    const char *id;        /* 16 hex digits, the same for the same input */
    int64_t time;          /* event time of the detection, ms since epoch */
    const char *const *sinks; /* the rule's `emit to` sinks, n_sinks of them */
    size_t n_sinks;
    const char *json;      /* NUL-terminated */
    size_t json_len;
} weir_alert;

typedef void (*weir_alert_cb)(void *user, const weir_alert *alert);

/* Why an input line was set aside. `line` is the caller's line number
 * (weir_engine_push's line_no). */
typedef struct weir_rejected {
    uint64_t line;
    const char *status;  /* "not_json", "missing_field", ..., "late" */
    const char *reason;  /* a sentence: "field 'amount': expected decimal, got string" */
    const char *data;    /* the raw input line (not NUL-terminated) */
    size_t len;
} weir_rejected;

typedef void (*weir_rejected_cb)(void *user, const weir_rejected *r);

/* The dead-letter line for r, one JSON object without a newline:
 *   {"line":12,"status":"wrong_type","reason":"...","event":"<raw line>"}
 * Bytes of the raw line that are not UTF-8 become U+FFFD. Returns a
 * malloc'd string the caller frees, or NULL when out of memory. */
char *weir_rejected_json(const weir_rejected *r);

typedef struct weir_engine_options {
    weir_alert_cb on_alert;        /* may be NULL: alerts are counted only */
    void *alert_user;
    weir_rejected_cb on_dead_letter; /* malformed events; may be NULL */
    void *dead_letter_user;
    weir_rejected_cb on_late;      /* events behind the watermark; may be NULL */
    void *late_user;
    const char *stream_field;      /* JSON field naming an event's stream when
                                      the rules declare several; NULL: "stream" */
    const char *default_stream;    /* the stream of events that have no such
                                      field (a file of payments only); NULL:
                                      such events are dead letters. Unknown
                                      names make weir_engine_new fail. */
    /* Decode every field of every event, so alerts list the matched events
     * in full. By default only the fields the rules read are decoded (the
     * others are skipped unparsed, which is faster) and alerts show those. */
    bool decode_all_fields;
    /* Clock for processing-time streams and for the idle timeout of
     * splits (ms since the epoch); NULL: the system's real-time clock.
     * Tests pass a fake one. */
    int64_t (*clock)(void *user);
    void *clock_user;
    /* A split (below) that has had no event for this long, in ms of the
     * clock above, is idle: it stops holding its streams' watermark back
     * until its next event (Flink's WatermarkStrategy.withIdleness). 0:
     * WEIR_SPLIT_IDLE_DEFAULT_MS; negative: splits never go idle. */
    int64_t split_idle_ms;
} weir_engine_options;

#define WEIR_SPLIT_IDLE_DEFAULT_MS 30000

/* A new engine running every rule of rs, or NULL when out of memory. */
weir_engine *weir_engine_new(const weir_ruleset *rs, const weir_engine_options *opt);
/* Frees the engine and all its state; pending events are dropped (call
 * weir_engine_finish first to flush them). Accepts NULL. */
void weir_engine_free(weir_engine *e);

/* Takes one event as a JSON object (no newline needed). line_no is echoed
 * in dead letters and used to order events with equal timestamps and to
 * derive alert ids, so give each input line its own increasing number.
 * Returns 0 when the event was accepted, 1 when it was set aside (dead
 * letter or late; the callback was called), -1 when out of memory. */
int weir_engine_push(weir_engine *e, const char *json, size_t len, uint64_t line_no);

/* The same for input followed by at least WEIR_ENGINE_PADDING readable
 * bytes (which are not part of the event): saves the decoder a copy. */
#define WEIR_ENGINE_PADDING 64
int weir_engine_push_padded(weir_engine *e, const char *json, size_t len, uint64_t line_no);

/* ---- Splits: one watermark per source partition ----------------------
 *
 * A source read in independent parts — the partitions of a Kafka topic —
 * delivers each part in time order, but the parts at their own pace: the
 * consumer reads a batch of one partition, then of another. One largest-
 * time-seen per stream would race ahead with the partition read first
 * and make the others' events late. As Flink does per source split, the
 * engine then keeps a watermark per split:
 *
 *   split watermark  = largest event time of the split − stream lateness
 *   stream watermark = the smallest over its open, non-idle splits
 *
 * A split holds its stream back from the moment it is opened, before its
 * first event (pinned at `start`, INT64_MIN for a fresh one), so a
 * partition that is read late still finds its events on time. A split
 * with no event for split_idle_ms of the clock is idle and holds nothing
 * back until its next event, so an empty partition cannot stop the
 * stream forever. A stream with no open split (TCP, HTTP, files) keeps
 * the largest-time-seen watermark; so does one whose splits are all
 * idle. Processing-time streams are never held. The engine's watermark
 * stays the smallest over its streams, and never moves back: an event
 * behind it is late whatever opened since.
 *
 * Split ids are the caller's. Events are tied to a split by
 * weir_engine_push_split; an id that is not open is treated as no split. */

/* A split that holds back every event-time stream: for a source part
 * whose events name their own stream (the stream field). */
#define WEIR_SPLIT_ALL_STREAMS SIZE_MAX
/* push_split's id for an event read from no split. */
#define WEIR_NO_SPLIT UINT64_MAX

/* Opens split `split` on `stream` (an index as weir_ruleset_stream_name,
 * or WEIR_SPLIT_ALL_STREAMS), its largest time seen set to `start`
 * (INT64_MIN: nothing yet). Events pushed with the split and naming no
 * stream are of that stream (when it is not ALL). Opening an open split
 * rebinds it and keeps the larger of its time and `start`. Returns 0, -1
 * when out of memory or the stream is out of range (nothing changed). */
int weir_engine_split_open(weir_engine *e, uint64_t split, size_t stream, int64_t start);

/* Closes a split (its partition was revoked): it no longer holds anything
 * back, so held events and timers the watermark now passes are released.
 * Unknown ids are ignored. Returns 0, -1 when out of memory. */
int weir_engine_split_close(weir_engine *e, uint64_t split);

/* Tells a split it reached `time` elsewhere: another engine (another
 * shard) saw its event of that time. Raises its largest time, counts as
 * activity, releases what that allows. Unknown ids are ignored. Returns
 * 0, -1 when out of memory. */
int weir_engine_split_advance(weir_engine *e, uint64_t split, int64_t time);

/* Tells the engine that another engine (another shard) saw an event of
 * `stream` with event time `time`: the stream's largest time seen rises
 * to it as if this engine had had the event (no rule sees it), and what
 * the watermark then passes is released. For streams without open
 * splits; processing-time streams ignore it. Returns 0, -1 when out of
 * memory or the stream is out of range. */
int weir_engine_stream_advance(weir_engine *e, size_t stream, int64_t time);

/* weir_engine_push / _padded for an event read from a split. */
int weir_engine_push_split(weir_engine *e, const char *json, size_t len, uint64_t line_no,
                           uint64_t split);
int weir_engine_push_split_padded(weir_engine *e, const char *json, size_t len,
                                  uint64_t line_no, uint64_t split);

/* Reads the clock and marks splits idle whose last event is older than
 * split_idle_ms (activity is noted here, not per event, so an event costs
 * no clock read: a split goes idle between split_idle_ms and split_idle_ms
 * plus one tick period after its last event). Call it periodically — a
 * server every 100 ms — when splits are open; a no-op without them.
 * Returns 0, -1 when out of memory. */
int weir_engine_tick(weir_engine *e);

/* One open split, for metrics and tests. */
typedef struct weir_split_stats {
    uint64_t id;
    size_t stream;     /* or WEIR_SPLIT_ALL_STREAMS */
    int64_t max_time;  /* largest event time seen or advanced to;
                          INT64_MIN: none yet */
    uint64_t events;   /* pushed with this split */
    bool idle;
} weir_split_stats;

size_t weir_engine_split_count(const weir_engine *e);
/* Split i (0 <= i < count, in no particular order); false out of range. */
bool weir_engine_get_split(const weir_engine *e, size_t i, weir_split_stats *out);

/* Moves every stream's watermark to at least `time` (ms since epoch):
 * releases held events and fires the timers due by then. */
void weir_engine_advance_to(weir_engine *e, int64_t time);

/* End of input: the watermark moves to the end of time, so every held
 * event is processed and every pending deadline and window fires. */
void weir_engine_finish(weir_engine *e);

/* Counters since the engine was created. */
typedef struct weir_engine_stats {
    uint64_t events;         /* pushed, including rejected ones */
    uint64_t processed;      /* fed to the rules */
    uint64_t dead_letters;
    uint64_t late;
    uint64_t alerts;
    uint64_t throttled;      /* alerts suppressed by `throttle` */
    uint64_t keys;           /* live keys now (summed over rules) */
    uint64_t peak_keys;
    uint64_t partial_matches;      /* live now */
    uint64_t peak_partial_matches;
    uint64_t held_events;    /* waiting for the watermark now */
    uint64_t timers_fired;   /* key deadlines reached (stale ones excluded) */
    int64_t watermark;       /* INT64_MIN before the first event */
} weir_engine_stats;

void weir_engine_get_stats(const weir_engine *e, weir_engine_stats *out);

/* Per rule: alerts raised (index as weir_ruleset_rule_name). */
uint64_t weir_engine_rule_alerts(const weir_engine *e, size_t rule);

/* One rule's counters (index as weir_ruleset_rule_name). */
typedef struct weir_rule_stats {
    uint64_t events;          /* events of its streams, with a key, fed to it */
    uint64_t matches;         /* detections: alerts plus throttled ones */
    uint64_t alerts;
    uint64_t throttled;       /* detections suppressed by its `throttle` */
    uint64_t keys;            /* keys holding state for it now */
    uint64_t partial_matches; /* its partial matches alive now */
} weir_rule_stats;

/* All zero for an index out of range. */
void weir_engine_get_rule_stats(const weir_engine *e, size_t rule, weir_rule_stats *out);

/* Bytes of per-key state rule `rule` holds now: its state of every key
 * (partial matches and their share of matched events, open windows), plus
 * its share of the key map (entries, table and per-key blocks, divided
 * evenly among the rules keyed by the same key type). Walks every key:
 * for an API call, not for every event. 0 out of range. */
uint64_t weir_engine_rule_state_bytes(const weir_engine *e, size_t rule);

/* One stream's progress (index as weir_ruleset_stream_name). */
typedef struct weir_stream_stats {
    uint64_t events;    /* decoded events of the stream, late ones included */
    int64_t max_time;   /* the largest event time seen; INT64_MIN before any */
    int64_t watermark;  /* max_time less the stream's lateness, or with
                           open splits the smallest split watermark;
                           INT64_MIN before any event */
} weir_stream_stats;

/* Events 0 and times INT64_MIN for an index out of range. */
void weir_engine_get_stream_stats(const weir_engine *e, size_t stream,
                                  weir_stream_stats *out);

/* ------------------------------------------------------------ snapshots
 *
 * The engine's whole state as bytes, for checkpoints and savepoints
 * (layout: doc/state-format.md): every key's partial matches and match
 * buffer, window panes, throttles and timers, the events waiting for the
 * watermark, each stream's progress and the counters. Versioned, named
 * (streams, rules) and checksummed. */

/* Writes the state into a malloc'd buffer (*out, *len bytes) the caller
 * frees. The engine is unchanged. Returns 0, or -1 when out of memory. */
int weir_engine_snapshot(weir_engine *e, void **out, size_t *len);

/* Where weir_engine_snapshot_to appends: bytes the caller owns and grows,
 * so that a large state is written once, straight where it is going (a
 * forked checkpoint writer writes into a shared memory file). */
typedef struct weir_snapshot_dest {
    unsigned char *data; /* data[0 .. len) are kept; the snapshot follows */
    size_t len, cap;
    /* Makes cap at least `need`, keeping data[0 .. len) (data may move).
     * Returns 0, or -1 when it cannot. The engine asks for twice what it
     * has each time, so growing to `need` is enough. */
    int (*grow)(struct weir_snapshot_dest *d, size_t need);
    void *user;
} weir_snapshot_dest;

/* A grow for a destination in the heap (data NULL at first, then
 * realloc'd; the caller frees it): at least `need` bytes, and 4 KiB. */
int weir_snapshot_dest_realloc(weir_snapshot_dest *d, size_t need);

/* Appends the state to d (d->len grows by its size). Returns 0, or -1 when
 * d cannot grow or memory runs out (d->len is then unchanged, the bytes
 * after it undefined). */
int weir_engine_snapshot_to(weir_engine *e, weir_snapshot_dest *d);

typedef struct weir_restore_report {
    size_t rules_restored; /* rules of the engine that got their state back */
    size_t rules_fresh;    /* rules of the engine the snapshot had no state
                              for (new, renamed or changed: they start empty) */
    size_t rules_dropped;  /* rules in the snapshot that the engine does not
                              run (gone, or changed): their state is skipped */
    uint64_t keys;         /* keys restored */
    uint64_t held_events;  /* events restored to wait for the watermark */
} weir_restore_report;

/* Loads a snapshot into e, a new engine (made with weir_engine_new,
 * nothing pushed yet), which may run a different rule set than the one
 * that saved it: a rule gets its state back when the snapshot has a rule
 * of the same name and fingerprint (weir_ruleset_rule_fingerprint); other
 * rules start empty. A bad snapshot (not one, corrupted, truncated, a
 * format this build does not read) is refused with a message in err.
 * Returns 0, or -1: then e holds part of the state and must be freed.
 * rep may be NULL. */
int weir_engine_restore(weir_engine *e, const void *data, size_t len,
                        weir_restore_report *rep, char *err, size_t errlen);

/* The same outcome as a snapshot of `old` restored into e, without the
 * bytes: e (new, nothing pushed yet) takes old's state over by moving it,
 * a few hash inserts per key instead of writing and reading every state.
 * Rules of the same name and fingerprint keep their keys' state (e keeps
 * the rule set their runtimes were built from alive); others start empty,
 * and the states of old rules that e lacks are freed. Only when both rule
 * sets declare their streams alike (same order, fields and time): 1 when
 * they do not, or memory ran out before anything moved, nothing touched
 * (use a snapshot). 0 done: old is left
 * without state, to be freed. -1 out of memory: some keys' state is lost
 * and both engines must be freed. rep may be NULL. */
int weir_engine_adopt(weir_engine *e, weir_engine *old, weir_restore_report *rep);

/* After weir_engine_adopt changed, dropped or moved rules, their states
 * are freed (and the kept ones put in their new places in each key) as
 * each key is next touched, or here: up to `budget` key slots swept per
 * call (a few ns each, plus the frees), so the swap itself costs nothing
 * per key. Returns whether some are left (also when memory ran out: the
 * rest waits for the next call). Calling it is optional (the next adopt,
 * snapshot or free finishes the work), but until it is done the dropped
 * states hold their memory. */
bool weir_engine_sweep(weir_engine *e, size_t budget);
bool weir_engine_sweep_pending(const weir_engine *e);

#ifdef __cplusplus
}
#endif

#endif
