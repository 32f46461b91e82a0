/* match_buffer.h — the shared, versioned buffer of matched events (per key).
 *
 * A pattern rule keeps, per key, many partial matches at once: every event
 * the first step accepts starts one, and a Kleene step branches one run
 * into several. Copying each run's events would make memory grow with the
 * number of runs times their length. Instead, as in SASE+ and Flink's
 * SharedBuffer, every run points at one NODE of a shared graph:
 *
 *   - a node is "this event was taken by this step" — one node per
 *     (event, step), however many runs took it;
 *   - a node has EDGES to the node of the event taken before it, one per
 *     distinct predecessor, each labelled with the Dewey number (a
 *     version, weir_dewey) of the run that added it;
 *   - a run is (node, version): its events are found by walking back from
 *     its node along the edges whose version is compatible with the run's
 *     (weir_mb_extract), exactly as Flink's extractPatterns does.
 *
 * weir promises FlinkCEP's matches, so the buffer reproduces Flink's
 * SharedBufferAccessor to the letter: the same lock counts on nodes and on
 * edges (weir_mb_lock / weir_mb_release, including Flink's cascade order),
 * the same removal of an edge when its count drops to zero, the same
 * depth-first extraction order. Where two runs' versions collide the
 * results therefore follow Flink's, not an idealised buffer's.
 *
 * Dewey numbers (Flink's DeweyNumber, an int[] that grows by one digit per
 * stage) are values of 64 bits: up to three digits below 2^20 are held in
 * the value itself (a live key's versions are nearly all like "1", "2" or
 * "1.0", and three 32-byte blocks were an eighth of a key's memory); a
 * longer number, or one with a bigger digit, is a node of a persistent tree,
 * (parent, last digit), so increase() and addStage() allocate one small
 * fixed-size block instead of copying the whole array, and a run that took
 * n events costs O(n) in total, not O(n²). Which form a number takes
 * depends only on its digits.
 *
 * Events are copied (field array and string bytes, in one block) only when
 * the first run takes them, and freed when the last node referring to them
 * goes. Nodes, edges, Dewey numbers and event blocks come from free lists
 * of slabs (weir_mb_shared) owned by the pattern runtime of one thread and
 * shared by all its keys: in steady state the hot path calls no allocator.
 * Callers reserve blocks before an operation (weir_mb_reserve) so that an
 * out-of-memory is reported before anything changes, never half-way.
 *
 * Ownership: weir_mb_shared owns its slabs and scratch arrays; a
 * weir_match_buffer (one per key) borrows the shared part, which must
 * outlive it, and owns its nodes, edges and events until
 * weir_match_buffer_clear(). Nothing here is thread-safe: one thread owns a
 * shared part and every buffer using it. */
#ifndef WEIR_ENGINE_MATCH_BUFFER_H
#define WEIR_ENGINE_MATCH_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/expr.h"
#include "engine/pool.h"
#include "engine/snap_codec.h"

/* A growable array of `elem`-sized items; used for scratch space. Returns
 * 0, or -1 when out of memory (the array is unchanged). */
int weir_mb_grow_slow(void **arr, size_t *cap, size_t need, size_t elem);
static inline int weir_mb_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    return need <= *cap ? 0 : weir_mb_grow_slow(arr, cap, need, elem);
}

/* --------------------------------------------------------- Dewey numbers */

/* A version, Flink's DeweyNumber: digits d1.d2...dn. 0 is none; an odd
 * value holds its digits (bit 0 set, bits 1-2 n, then 20 bits per digit
 * from d1); an even one points at a weir_dewey_node. Never changed once
 * made; a node is shared and reference-counted, a held value is copied.
 * weir_dewey_ref and weir_dewey_release apply to both. */
typedef uint64_t weir_dewey;

typedef struct weir_dewey_node {
    weir_dewey parent; /* d1...d(n-1); 0 when n == 1 (owned ref) */
    uint32_t digit;    /* dn */
    uint32_t len;      /* n >= 1 */
    uint32_t refs;
} weir_dewey_node;

/* The held form's limits */
#define WEIR_DEWEY_HELD_DIGITS 3
#define WEIR_DEWEY_HELD_BITS 20

/* Flink's isCompatibleWith: `a` descends from `b` (b is a proper prefix of
 * a), or a and b have the same length, the same digits but the last, and
 * a's last digit is >= b's. */
bool weir_dewey_compatible(weir_dewey a, weir_dewey b);
/* n, the last digit, and d1...d(n-1) (no new reference; 0 when n == 1). */
uint32_t weir_dewey_len(weir_dewey d);
uint32_t weir_dewey_digit(weir_dewey d);
weir_dewey weir_dewey_parent(weir_dewey d);
/* d.0 (Flink's addStage) when it is held and d is: d held with fewer than
 * WEIR_DEWEY_HELD_DIGITS digits. Else 0. Needs no buffer. */
weir_dewey weir_dewey_held_stage(weir_dewey d);
/* A version as a key of snapshot id tables (never NULL for a version). */
static inline const void *weir_dewey_key(weir_dewey d)
{
    return (const void *)(uintptr_t)d;
}

/* ------------------------------------------------------------------ graph */

/* A stored copy of an event: its field array, then its string bytes. */
typedef struct weir_mb_event {
    uint32_t refs;       /* nodes referring to it, plus holds taken with
                            weir_mb_event_hold() (Flink's registration lock) */
    uint32_t block;      /* below WEIR_MB_EVENT_CLASSES: the size class of
                            its block; else the size of a malloc'd one (a
                            block beyond the largest class, 64 KiB) */
    int64_t ts;          /* event time, ms */
    uint64_t seq;        /* arrival sequence number */
    unsigned stream;     /* index in the rule set's streams */
    uint32_t n_fields;
    weir_value fields[]; /* strings point into the bytes after the array */
} weir_mb_event;

_Static_assert(sizeof(weir_mb_event) == 32, "an event copy's header is 32 bytes");


typedef struct weir_mb_edge {
    struct weir_mb_edge *next;   /* next edge of the same node, in the order
                                    they were added */
    struct weir_mb_node *target; /* the predecessor; NULL: first event */
    weir_dewey version;          /* owned ref */
    uint32_t locks;              /* Flink's Lockable refCounter */
} weir_mb_edge;

typedef struct weir_mb_node {
    struct weir_mb_node *live_prev, *live_next; /* the buffer's nodes */
    weir_mb_event *event;        /* owned ref */
    weir_mb_edge *edges, *edges_tail;
    uint32_t step;               /* ast_step.index that took the event */
    uint32_t locks;
} weir_mb_node;

/* ------------------------------------------------------- the shared part */

/* Event blocks: classes from 64 bytes to 64 KiB, 8 bytes apart up to 128,
 * 16 up to 256, then at most a third apart (a typical event copy is 100 to
 * 250 bytes, and a live partial match holds one); bigger events are
 * malloc'd. */
#define WEIR_MB_EVENT_CLASSES 32

/* A path: the nodes of one extracted match, latest first. */
typedef struct weir_mb_paths {
    weir_mb_node **nodes;     /* every path, one after another */
    size_t *first;            /* path k is nodes[first[k] .. first[k+1]) */
    size_t n_paths;
} weir_mb_paths;

/* What the keys of one runtime share: free lists and scratch space. */
typedef struct weir_mb_shared {
    weir_pool dewey, node, edge;
    weir_pool event[WEIR_MB_EVENT_CLASSES];
    void *big;          /* one spare block for an event above the largest */
    size_t big_size;    /* class, reserved ahead; 0 when none */

    /* scratch for release and extraction (sizes reserved by callers) */
    weir_mb_node **rel_nodes;
    weir_dewey *rel_versions;
    size_t rel_cap;
    struct weir_mb_xstate *xstack;
    size_t xstack_cap;
    weir_mb_node **xpath;
    size_t xpath_cap;
    weir_mb_node **pnodes;
    size_t pnodes_cap;
    size_t pfirst[17];   /* path offsets: at most 16 paths */
    weir_mb_node **slots; /* while an event of a key is processed: its node
                             per step (Flink looks nodes up by (event,
                             step)); the caller's array, NULL entries at
                             first; NULL between events. Here, not per key:
                             one key at a time is processed */
    /* tables and lists weir_mb_save numbers a buffer with, kept from one
     * key to the next (a snapshot saves a million buffers); owned, made on
     * the first save */
    struct weir_mb_save_scratch *save;
} weir_mb_shared;

/* Paths extracted at once, at most (Flink keeps all; more than one means
 * colliding versions, which Flink itself treats as an error in most
 * places). */
#define WEIR_MB_MAX_PATHS 16

void weir_mb_shared_init(weir_mb_shared *sh);
void weir_mb_shared_fini(weir_mb_shared *sh);
/* Bytes of slabs and scratch. */
size_t weir_mb_shared_bytes(const weir_mb_shared *sh);

/* ------------------------------------------------------------ per key */

typedef struct weir_match_buffer {
    weir_mb_shared *sh;   /* borrowed */
    weir_mb_node *live;   /* every node, newest first */
    uint32_t n_nodes, n_edges, n_events; /* one buffer per key */
    uint32_t held8;       /* bytes of the blocks held (nodes, edges, Dewey
                             nodes, events) in 8-byte units: 32 bits reach
                             32 GiB, and a key's state is 8 bytes smaller */
} weir_match_buffer;

/* Bytes of the blocks the buffer holds. */
static inline size_t weir_match_buffer_bytes(const weir_match_buffer *b)
{
    return (size_t)b->held8 * 8;
}

void weir_match_buffer_init(weir_match_buffer *b, weir_mb_shared *sh);
/* The bytes of the event's block. */
size_t weir_mb_event_bytes(const weir_mb_event *ev);
/* A buffer with no node that holds ev (one reference, counted in its
 * bytes): what a buffer packed by weir_mb_pack_single is. */
void weir_match_buffer_init_holding(weir_match_buffer *b, weir_mb_shared *sh,
                                    const weir_mb_event *ev);
/* Whether b is such a buffer: no node, no edge, no Dewey node, ev its one
 * event. Then it can be dropped, and made again with the call above. */
bool weir_match_buffer_holds_only(const weir_match_buffer *b, const weir_mb_event *ev);
/* Frees every node, edge and event of the buffer, whatever their locks
 * (the key is being dropped). Dewey numbers held elsewhere (by runs) must
 * be released by their holders. */
void weir_match_buffer_clear(weir_match_buffer *b);

/* Makes sure the next operations find their blocks: n_dewey Dewey numbers,
 * n_node nodes, n_edge edges, one event block for an event of `event_bytes`
 * bytes (0: none), and scratch for releasing and extracting over the
 * buffer as it is plus `extra_edges` edges and `extra_nodes` nodes.
 * Returns 0, or -1 when out of memory. */
int weir_mb_reserve(weir_match_buffer *b, size_t n_dewey, size_t n_node, size_t n_edge,
                    size_t event_bytes, size_t extra_nodes, size_t extra_edges);

/* Dewey numbers. Each returns a new reference; 0 only when a node was
 * needed and none was reserved. */
weir_dewey weir_dewey_new(weir_match_buffer *b, uint32_t digit);
weir_dewey weir_dewey_ref(weir_dewey d);
/* Flink's increase(n): the last digit plus n (n == 0: d itself). */
weir_dewey weir_dewey_increase(weir_match_buffer *b, weir_dewey d, uint32_t n);
/* Flink's addStage(): d with a digit 0 appended. */
weir_dewey weir_dewey_add_stage(weir_match_buffer *b, weir_dewey d);
void weir_dewey_release(weir_match_buffer *b, weir_dewey d);

/* Bytes a stored copy of the event needs. */
size_t weir_mb_event_size(const weir_value *fields, uint32_t n_fields,
                          const uint32_t *string_fields, uint32_t n_string_fields);
/* Copies an event in (the fields listed in string_fields are strings whose
 * bytes are copied; missing ones are not). Returns it with one hold
 * (Flink's registerEvent), or NULL when no block was reserved. */
weir_mb_event *weir_mb_event_store(weir_match_buffer *b, const weir_value *fields,
                                   uint32_t n_fields, const uint32_t *string_fields,
                                   uint32_t n_string_fields, unsigned stream,
                                   int64_t ts, uint64_t seq);
void weir_mb_event_hold(weir_mb_event *ev);
/* Drops one reference; frees the event at zero. */
void weir_mb_event_release(weir_match_buffer *b, weir_mb_event *ev);

/* Flink's put(): the node of (ev, step), found in b->slots[step] or made
 * (ev is the event being processed), gets an edge to `prev` labelled
 * `version` (a new reference is taken); `prev`, if any, is locked with
 * `version` first. */
weir_mb_node *weir_mb_put(weir_match_buffer *b, weir_mb_event *ev, uint32_t step,
                          weir_mb_node *prev, weir_dewey version);
/* A buffer of one node with one edge (to no node), each locked once: a key
 * with one partial match that has taken one event, the most common live
 * key. Packed, it keeps what the two blocks held that is not implied (80
 * bytes become 20): the event (its reference), the edge's version (its
 * reference) and the step. `user` is the caller's. */
typedef struct weir_mb_single {
    weir_mb_event *event;
    weir_dewey edge_version;
    uint16_t step;
    uint16_t user;
} weir_mb_single;

/* When node is b's only node, with one edge to no node, each locked once,
 * its event held by it alone and its step below 2^16: frees the node and
 * edge into *out and returns true (b is then empty but for the event).
 * Else false, and nothing changes. */
bool weir_mb_pack_single(weir_match_buffer *b, weir_mb_node *node, weir_mb_single *out);
/* The node and edge again, as they were packed, into the empty b (one node
 * and one edge reserved). Returns the node; NULL, with nothing changed,
 * only when the blocks were not reserved. */
weir_mb_node *weir_mb_unpack_single(weir_match_buffer *b, const weir_mb_single *in);

/* Flink's lockNode(): the node and its edges compatible with version. */
void weir_mb_lock(weir_mb_node *node, weir_dewey version);
/* Flink's releaseNode(): unlocks the node and its compatible edges; edges
 * that reach zero are removed and their targets released in turn; nodes
 * that reach zero are freed with their event reference. */
void weir_mb_release(weir_match_buffer *b, weir_mb_node *node, weir_dewey version);

/* Flink's extractPatterns(): the paths from `node` back to a first event
 * along edges compatible with the version, depth first, in Flink's order;
 * at most max_paths (<= WEIR_MB_MAX_PATHS). Writes into the shared
 * scratch (valid until the next extraction) and returns the number of
 * paths. */
size_t weir_mb_extract(weir_match_buffer *b, weir_mb_node *node, weir_dewey version,
                       size_t max_paths, weir_mb_paths *out);

/* ------------------------------------------------------------ snapshots */

/* How a stream's events are stored. A stored copy keeps only the first
 * `width` fields (the last one any rule reads, at most n_fields): the rest
 * are missing, except the event-time field (time_field), whose value is
 * the event's ts. Snapshots hold all n_fields, as before. */
typedef struct weir_mb_layout {
    uint32_t n_fields;        /* declared */
    const weir_type *types;   /* per declared field */
    const uint32_t *strings;  /* indexes of the string fields below width,
                                 ascending */
    uint32_t n_strings;
    uint32_t width;           /* fields a stored copy holds */
    uint32_t time_field;      /* UINT32_MAX: none (processing time) */
} weir_mb_layout;

/* The layout of stream `stream`'s events, or NULL for a stream the caller
 * does not know (a snapshot naming it is refused). */
typedef const weir_mb_layout *(*weir_mb_layout_cb)(void *user, unsigned stream);

/* The ids a saved buffer gave its nodes and versions, for the runs that
 * point at them: tables of the shared scratch, valid until the next save
 * with the same weir_mb_shared. */
typedef struct weir_mb_saved {
    const snap_ids *deweys, *nodes;
} weir_mb_saved;

/* Writes the buffer: its events, the Dewey numbers its edges and the
 * `n_extra` versions given (the runs') reach, its nodes (oldest first)
 * and their edges, with their lock counts (doc/state-format.md). Returns
 * 0, or -1 when out of memory. ids point into b's shared scratch: nothing
 * to free. */
int weir_mb_save(const weir_match_buffer *b, const weir_dewey *extra, size_t n_extra,
                 weir_mb_layout_cb layout, void *user, snap_out *o, weir_mb_saved *ids);

/* What weir_mb_load made, by id. Each version carries one reference of
 * the loader's, dropped by weir_mb_loaded_fini: take your own first. */
typedef struct weir_mb_loaded {
    weir_dewey *deweys;
    size_t n_deweys;
    weir_mb_node **nodes;
    size_t n_nodes;
    /* per node: the edges that lead to it, to which the caller adds the
     * runs that hold it before weir_mb_loaded_check_locks */
    uint32_t *refs;
} weir_mb_loaded;

/* Reads a saved buffer into the empty buffer b (steps must be below
 * n_steps). Returns 0; -1 when the input is bad (in->error says why) or
 * memory ran out (in stays ok): b is then empty again. */
int weir_mb_load(weir_match_buffer *b, snap_in *in, uint32_t n_steps, weir_mb_layout_cb layout,
                 void *user, weir_mb_loaded *out);
void weir_mb_loaded_fini(weir_match_buffer *b, weir_mb_loaded *ld);
/* Every node must hold at least one lock per edge and run that points at
 * it (ld->refs), as a running buffer always does: with fewer, releasing
 * them would free the node while something still pointed at it. A saved
 * state that breaks this was not written by weir; refused (-1, in->error
 * set). */
int weir_mb_loaded_check_locks(const weir_mb_loaded *ld, snap_in *in);

#endif
