/* nfa_run.h — running a pattern rule's NFA for one key (FlinkCEP's NFA).
 *
 * A weir_pattern_runtime is made once per pattern rule per thread, from the
 * rule's compiled plan; it holds what every key of that rule on that thread
 * shares: the free lists of the match buffers, the condition trees and the
 * scratch stacks. A weir_pattern_key is the state of one key: its partial
 * matches (Flink's ComputationStates), the matches held back for ordering
 * (skip strategies) and its match buffer.
 *
 * The engine feeds each key's events in timestamp order
 * (weir_pattern_process) and tells it when event time moves on
 * (weir_pattern_advance). This is the sequence Flink's CepOperator runs:
 * before the events of a new timestamp, and when the watermark moves, the
 * NFA "advances time" (partial matches older than `within` are dropped or
 * reported as timed out, absence matches fire); then each event goes
 * through NFA.process. weir_pattern_process() advances time to the event's
 * timestamp by itself when it is later than the key's time, so the engine
 * only calls weir_pattern_advance() for the watermark.
 *
 * Matches come to a callback, in FlinkCEP's order (see nfa_run.c for how
 * that order is reproduced, down to Java's PriorityQueue). The callback
 * must not call back into the same runtime.
 *
 * Ownership: the runtime borrows the plan (and the rule set it belongs
 * to), which must outlive it. Keys borrow the runtime: free every key of a
 * runtime before the runtime. Events given to weir_pattern_process are
 * only read during the call; the runtime copies what it keeps. Everything a
 * callback receives is valid only during the callback. */
#ifndef WEIR_ENGINE_NFA_RUN_H
#define WEIR_ENGINE_NFA_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/expr.h"
#include "compile/plan.h"
#include "engine/eval.h"
#include "engine/snap_codec.h"

typedef struct weir_pattern_runtime weir_pattern_runtime;
typedef struct weir_pattern_key weir_pattern_key;

/* One event of a match. */
typedef struct weir_pattern_event {
    int64_t ts;                /* event time, ms */
    uint64_t seq;              /* the sequence number it was fed with */
    unsigned stream;           /* index in the rule set's streams */
    /* indexed by ast_field.index, below n_fields: the fields of the stream
     * up to the last one any rule reads (weir_pattern_runtime_store_width);
     * past it every field is missing but the event-time field, which is ts */
    const weir_value *fields;
    uint32_t n_fields;
} weir_pattern_event;

/* A match, a timed-out partial match, or an absence match. */
typedef struct weir_pattern_match {
    /* The matched events per step (ast_step.index), for the emit programs:
     * count(probe), probe[-1].merchant, sum(probe.amount) ... */
    const weir_eval_match *view;
    /* The same events: step s has events[step_first[s] .. step_first[s+1]),
     * in time order; steps that took nothing have none. */
    unsigned n_steps;
    const uint32_t *step_first;      /* n_steps + 1 entries */
    const weir_pattern_event *events;
    size_t n_events;
    const weir_pattern_event *first; /* earliest event (by ts, then seq) */
    const weir_pattern_event *last;  /* latest: the one that completed the
                                        match, or the last one a timed-out
                                        partial match took; for `emit`'s
                                        bare field names */
    /* When: the completing event's ts for a match found on an event; the
     * deadline (first event's ts + within) for a timed-out partial match
     * and for an absence (`not then` last) match, which are found when time
     * passes the deadline (Flink reports the same timestamp for timeouts;
     * for absence it reports the time at which it noticed, which depends on
     * when watermarks come, so weir uses the deadline). */
    int64_t time;
    bool timed_out;  /* a partial match that ran out of time; only reported
                        for rules with `on timeout emit` */
    bool absence;    /* a match completed by a deadline (`not then` last) */
} weir_pattern_match;

typedef void (*weir_match_cb)(void *user, const weir_pattern_match *m);

/* A runtime for the pattern rule `plan` (plan->nfa != NULL). NULL when out
 * of memory or when the plan is not a pattern rule's. */
weir_pattern_runtime *weir_pattern_runtime_new(const weir_rule_plan *plan);
/* Frees the runtime. Accepts NULL. Every key must have been freed. */
void weir_pattern_runtime_free(weir_pattern_runtime *rt);
/* Stored copies of stream `stream`'s events keep its first `width` fields
 * (at most all of them, the default): the engine passes 1 + the last field
 * any of its rules reads, so a copy does not carry the many missing fields
 * after it. Events stored before keep their own width. The event-time
 * field is not stored past the width: it is the event's ts. */
void weir_pattern_runtime_store_width(weir_pattern_runtime *rt, unsigned stream, uint32_t width);
/* The memory (`keep`, engine/key_memory.h) of the key about to be run:
 * the conditions that later calls evaluate read it (MEM_VALUE, MEM_IN).
 * The rule runner sets it before weir_pattern_process() and
 * weir_pattern_advance() and clears it after; NULL (the default) for rules
 * without keep. Borrowed: it must live while it is set. */
void weir_pattern_runtime_set_memory(weir_pattern_runtime *rt,
                                     const struct weir_key_memory *memory);

/* Bytes of the runtime itself: slabs of the free lists (including blocks
 * keys hold), scratch space, condition trees. */
size_t weir_pattern_runtime_bytes(const weir_pattern_runtime *rt);

/* A new key state with no partial match, or NULL when out of memory. */
weir_pattern_key *weir_pattern_key_new(weir_pattern_runtime *rt);
/* Frees the key's state, whatever it holds. Accepts NULL. */
void weir_pattern_key_free(weir_pattern_runtime *rt, weir_pattern_key *key);

/* Feeds one event of the key: `fields` are indexed by ast_field.index of
 * stream `stream` (an index in the rule set's streams), `ts` its event
 * time, `seq` a number that increases with arrival (ties in ts are
 * ordered by it; it also identifies the event in matches). Events must
 * come in (ts, seq) order. First advances time to ts when ts is later than
 * the key's time (see above). Calls cb for every match this completes, in
 * FlinkCEP's order. An event of a stream that is not an input of the
 * rule is ignored. Returns 0, or -1 when out of memory (then the event
 * was not processed, though time may have advanced to ts). */
int weir_pattern_process(weir_pattern_runtime *rt, weir_pattern_key *key,
                         const weir_value *fields, unsigned stream, int64_t ts,
                         uint64_t seq, weir_match_cb cb, void *user);

/* Event time reached `time` (a watermark: no event of the key with a
 * smaller ts will come). Partial matches whose first event is `within` or
 * more before it end: absence matches fire (cb with absence set), others
 * are reported with timed_out set when the rule has `on timeout emit`
 * (matches first, then timeouts, as Flink's CepOperator). Matches held
 * back for a skip strategy may be released too. A time earlier than the
 * key's is ignored. Returns 0, or -1 when out of memory (nothing changed). */
int weir_pattern_advance(weir_pattern_runtime *rt, weir_pattern_key *key, int64_t time,
                         weir_match_cb cb, void *user);

/* The earliest event time at which weir_pattern_advance() would do
 * something for this key: the first `within` deadline (first event's ts +
 * within) of a partial match, when a match times out or an absence match
 * fires; INT64_MAX when none (no partial match, or no `within`). Advancing
 * to an earlier time changes nothing, so the engine may call
 * weir_pattern_advance only when the watermark reaches this. */
int64_t weir_pattern_key_next_deadline(const weir_pattern_runtime *rt,
                                       const weir_pattern_key *key);

/* True when the key holds no partial match and no held-back match: its
 * state may be dropped (weir_pattern_key_free) with no change in results. */
bool weir_pattern_key_idle(const weir_pattern_key *key);
/* Bytes the key holds: runs, buffer nodes, edges, versions, stored events
 * (their whole blocks), and its arrays. */
size_t weir_pattern_key_bytes(const weir_pattern_key *key);
/* Live partial matches (not counting the ever-present start state), plus
 * completed matches held back for a skip strategy. */
size_t weir_pattern_key_partials(const weir_pattern_key *key);
/* Events the key's buffer holds (stored copies). */
size_t weir_pattern_key_events(const weir_pattern_key *key);

/* Snapshots (doc/state-format.md): the key's partial matches, held-back
 * matches and buffer, exactly (heap order, versions and lock counts
 * included), so a loaded key gives the same matches in the same order as
 * the saved one would have. Save returns 0, or -1 when out of memory.
 * Load returns the key, or NULL: on bad input in->error says why, else
 * memory ran out. */
int weir_pattern_key_save(weir_pattern_runtime *rt, const weir_pattern_key *key, snap_out *o);
weir_pattern_key *weir_pattern_key_load(weir_pattern_runtime *rt, snap_in *in);

#endif
