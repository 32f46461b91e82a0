/* nfa_run.c — FlinkCEP's NFA, run for one key at a time.
 *
 * weir promises exactly FlinkCEP's matches, in FlinkCEP's order, so this
 * file re-implements the run-time half of Flink's CEP library (Flink 1.17:
 * NFA.process / advanceTime / computeNextStates / createDecisionGraph /
 * findFinalStateAfterProceed / processMatchesAccordingToSkipStrategy, and
 * the AfterMatchSkipStrategy classes) over weir's NFA (compile/nfa.h) and
 * match buffer (match_buffer.h). The names of the functions below are
 * those of the Flink methods they mirror, so both can be read side by side.
 *
 * A run (Flink's ComputationState) is (state, buffer node, Dewey version,
 * start event). Per event, every run expands into the runs its outgoing
 * edges allow:
 *   - the decision graph: the run's state's edges whose condition holds;
 *     a PROCEED edge adds the edges of its target (an explicit stack, in
 *     Flink's order, without a visited set, exactly as Flink);
 *   - IGNORE: same node, a new version (Flink's Dewey arithmetic, below);
 *     never from the start state;
 *   - TAKE: the event goes into the buffer under the edge's step, linked
 *     to the run's node; if the target can PROCEED to the final state on
 *     this event, a completed run is made as well;
 *   - the start state always survives, with its version increased.
 * Runs reaching the final state are matches; reaching a stop state (a
 * negated step seen) discards every other run made from the same parent.
 *
 * Order. Flink keeps runs, completed runs and candidate matches in
 * java.util.PriorityQueues ordered by start event (timestamp, then arrival
 * order; the start state last), iterates them in heap-array order and
 * polls matches from one. Runs with the same start event are ties, and
 * their order then depends on the heap's internals; so weir keeps the
 * same binary heaps with the same sift-up / sift-down rules as Java's
 * PriorityQueue (add, poll, and removeAll as bulk removal followed by
 * heapify, as in JDK 11 and later, the JDK Flink 1.17 runs on), and gets
 * the same order in every case, ties included.
 *
 * Skip strategies. With any strategy but `no skip`, a completed match is
 * held (in the key's completed heap) while a partial match that started
 * earlier is alive, then the strategy prunes the runs whose start event is
 * before (or at) the pruning event, as Flink's processMatchesAccordingTo-
 * SkipStrategy does; `skip to first/last X` with X not in the match
 * prunes nothing (Flink's default, without throwExceptionOnMiss).
 *
 * Time. A run times out when time - (its first event's ts) >= within
 * (Flink's isStateTimedOut: the comparison is >=, so a match needs
 * last - first < within); time advances before each new timestamp's
 * events and with the watermark. A run in a PENDING state (absence:
 * `not then x` last) that times out is a match.
 *
 * Reluctant quantifiers (weir's extension; FlinkCEP has none): all states
 * made for a reluctant step (or inside a reluctant group) form one
 * "element". A run that enters the element starts a family (an anchor
 * id); its continuations inside the element keep the family. The first
 * time runs of a family leave the element (any edge into a state outside
 * it but a stop state, the final state included), the one that took the
 * fewest events in the element wins (ties: the first in Flink's order) and
 * every other run of the family is dropped. So each way of reaching the
 * element keeps only its shortest stay in it: `p+? then b` over p1 p2 p3 B
 * gives {p1 B} {p2 B} {p3 B}. Leaving by an IGNORE counts: under `then`, a
 * run that has moved on to wait for the next step has left. The family is
 * the entry into the element, not the whole match's start, so runs that
 * differ before the element (`a then any x then p+? ...`) stay apart.
 *
 * Conditions. Each edge's postfix program (nfa.h) is turned into a small
 * tree when the runtime is made, so AND/OR short-circuit: the STREAM leaf
 * guards its step's `where`, which must not read a field array of another
 * stream. A WHERE/UNTIL/GROUP_UNTIL leaf tested on an event of a stream
 * its program was not written for is false (an `until` on a payments step
 * does not hold for a login). Leaf results are cached per event, or per
 * run and event when the program reads earlier steps (probe[-1],
 * sum(probe.amount)), which needs the run's events: they are extracted
 * from the buffer once per run and event, and only then.
 *
 * Versions are Flink's Dewey numbers with 32-bit digits. The start
 * state's single digit grows at every event that opens branches, so a key
 * that is never idle (an idle key's state is dropped and starts afresh)
 * would wrap it after 2^32 such events; Flink's int overflows at 2^31.
 *
 * Memory. Before each process/advance the worst case of blocks and
 * scratch is reserved (from per-state bounds computed when the runtime is
 * made), so running out of memory is reported before anything changes.
 * In steady state nothing is allocated: runs, buffer blocks and events
 * come from free lists, arrays keep their capacity. */
#include "engine/nfa_run.h"

#include <stdlib.h>
#include <string.h>

#include "compile/nfa.h"
#include "engine/copy_width.h"
#include "engine/match_buffer.h"

/* ---------------------------------------------------------------- types */

/* Flink's ComputationState. */
typedef struct run {
    uint32_t state;       /* index into nfa->states */
    uint32_t anchor;      /* reluctant family; 0: none */
    uint32_t rel_count;   /* events taken in the reluctant element */
    /* bit fields: a run is 48 bytes instead of 56 */
    uint32_t depth : 31;  /* events taken along the run */
    uint32_t has_start : 1; /* Flink's startEventID != null */
    weir_mb_node *node;   /* previous buffer entry; NULL for the start */
    weir_dewey version;  /* owned reference */
    int64_t start_ts;     /* Flink's startTimestamp; -1 for the start. With
                             has_start, also the timestamp of the start
                             event's id (the same event's) */
    uint64_t sid_seq;     /* the start event id's arrival number */
} run;

_Static_assert(sizeof(run) == 48 || sizeof(void *) != 8, "a run is 48 bytes on 64-bit hosts");

/* Start tags. Every live key holds a run in the start state (Flink's
 * createStartState: no event, start time -1) that differs from key to key
 * only by its version, and that version is nearly always held in 64 bits
 * (an odd weir_dewey). In a key's heap of partial matches such a run is
 * kept as its version itself, an odd value where a run pointer would be
 * (run blocks are 8-byte aligned): no 48-byte block per key. It keeps its
 * place in the heap, so Flink's iteration order is unchanged. A tag is made
 * into a run only for the step that processes it (start_tag_run), and the
 * start run that step makes is a tag from the start; start_tags_fold makes
 * tags of the start runs of a new or restored key. Everything else that
 * walks a key's heap, or the runs a step makes, reads tags as start runs. */
static inline bool is_start_tag(const run *r)
{
    return ((uintptr_t)r & 1u) != 0;
}

static inline weir_dewey start_tag_version(const run *r)
{
    return (weir_dewey)(uintptr_t)r;
}

static inline run *start_tag(weir_dewey version)
{
    return (run *)(uintptr_t)version;
}

/* Packed runs. The most common live key holds, besides its start run, one
 * run that has taken one event: a run, a buffer node and an edge, 128
 * bytes. Between calls such a key keeps that run as a packed_run of 32
 * bytes, a pointer to it with bits 1-0 = 2 in the heap entry of the run
 * (its place in the heap unchanged). key_pack makes it after a call,
 * key_unpack makes the run, node and edge again, exactly as they were,
 * before a call that needs them; what reads a key between calls
 * (deadlines, idleness, counts, memory, snapshots, freeing) reads the
 * packed form. A key holds at most one. */
typedef struct packed_run {
    weir_mb_single single; /* the node and edge; user: the run's state. The
                              run's version is the edge's plus a stage (it
                              is packed only then, both held) */
} packed_run;

_Static_assert(sizeof(packed_run) == 24 || sizeof(void *) != 8, "a packed run is 24 bytes");

static inline bool is_packed(const run *r)
{
    return ((uintptr_t)r & 3u) == 2u;
}

static inline packed_run *packed_of(const run *r)
{
    return (packed_run *)((uintptr_t)r & ~(uintptr_t)3u);
}

static inline run *packed_entry(packed_run *p)
{
    return (run *)((uintptr_t)p | 2u);
}

/* What a packed run's run holds: it has taken one event, the start one. */
static void packed_fill(run *r, const packed_run *p, weir_mb_node *node)
{
    *r = (run){.state = p->single.user, .depth = 1, .has_start = 1, .node = node,
               .version = weir_dewey_held_stage(p->single.edge_version),
               .start_ts = p->single.event->ts, .sid_seq = p->single.event->seq};
}

/* A java.util.PriorityQueue<ComputationState> with Flink's comparator.
 * Its array comes from the runtime's pools (heap_pool) while small: every
 * key has two heaps of a few runs, and a malloc'd array of 2 or 4 pointers
 * would cost a malloc chunk's header and rounding on top. */
typedef struct jheap {
    union {
        struct run **a;                 /* cap > JHEAP_INLINE */
        struct run *inl[2];             /* cap <= JHEAP_INLINE */
    } u;
    uint32_t n, cap; /* cap: 0 or JHEAP_INLINE (the array in place), or a
                        power of two above it */
} jheap;

/* A key's heap mostly holds its start run and one partial match: two
 * runs fit in place (8 bytes more than a pointer, and no 16-byte block) */
#define JHEAP_INLINE 2
/* Arrays of 4, 8, 16 and 32 runs come from pools; larger ones from malloc. */
#define JHEAP_CLASSES 4

/* The heap's array. (Like strchr, a const heap gives a plain pointer.) */
static inline struct run **jheap_arr(const jheap *h)
{
    return h->cap > JHEAP_INLINE ? h->u.a : (struct run **)h->u.inl;
}

/* One node of an edge's condition, as a tree. */
typedef struct ctree {
    uint16_t op;  /* weir_nfa_cond_op */
    uint32_t arg;
    int32_t a, b; /* children; -1 when none */
} ctree;

/* What the runtime needs to copy events of one stream. */
typedef struct stream_info {
    unsigned stream;
    weir_mb_layout lay;  /* how its events are stored; points at: */
    uint32_t *strings;   /* indexes of all string fields, ascending (owned) */
    uint32_t n_all_strings;
    weir_type *types;    /* per field (owned) */
} stream_info;

enum { OUT_RETAIN, OUT_FINAL, OUT_STOP };

/* A run made while processing one event. */
typedef struct out_item {
    run *r;
    uint32_t family;      /* the parent's reluctant family, when the parent
                             was inside its element; else 0 */
    uint32_t leave_count; /* when leaving: events taken in the element */
    uint8_t kind;
    bool leaves;          /* left the parent's reluctant element */
    bool dropped;
} out_item;

/* The events of one (partial) match per step, for the evaluator. */
typedef struct view_arrays {
    uint32_t *first;            /* n_steps + 1 offsets */
    const weir_value **vals;
    unsigned n_steps;
} view_arrays;

/* An event of a match, with the step that took it. */
typedef struct pair {
    weir_mb_event *ev;
    uint32_t step;
} pair;

/* A timed-out partial match waiting to be reported. */
typedef struct timeout_rec {
    size_t first, n; /* into rt->tpairs, latest first */
    int64_t time;
} timeout_rec;

/* What a key holds besides its heap, while it needs it: every call, and
 * between calls unless the key is packed (key_shrink). A packed key's
 * buffer is empty but for its packed event, which the packed run says, so
 * it is made again from that (key_grow). */
typedef struct key_ext {
    weir_match_buffer buf;
    /* Flink's NFAState.completedMatches. During a call, the runtime's
     * completed_work, unless the key kept some between calls (a skip
     * strategy waiting on an earlier start): then a heap of its own, from
     * the runtime's held_heaps. NULL between calls when empty, as it
     * nearly always is. */
    jheap *completed;
} key_ext;

struct weir_pattern_key {
    jheap partial;        /* Flink's NFAState.partialMatches */
    key_ext *ext;         /* NULL between calls when packed */
    int64_t now;          /* the last time advanced to */
    uint32_t next_anchor : 31; /* reluctant families */
    uint32_t has_now : 1;
    uint32_t n_runs : 31; /* run blocks it holds */
    uint32_t packed : 1;  /* a heap entry is a packed_run */
};

_Static_assert(sizeof(struct weir_pattern_key) == 48 || sizeof(void *) != 8,
               "a live key's pattern state is 48 bytes on 64-bit hosts");

struct weir_pattern_runtime {
    const weir_rule_plan *plan;
    const weir_nfa *nfa;
    uint32_t n_steps, n_groups;
    weir_mb_shared sh;
    weir_pool runs;
    weir_pool packs;                      /* packed_run blocks */
    run start_run;        /* the start run a tag stands for, while the event
                             is processed: a tag is made a run for one step
                             of one key, so this needs no block */
    weir_pool keys;                       /* weir_pattern_key blocks */
    weir_pool heap_pool[JHEAP_CLASSES];  /* jheap arrays by capacity */

    /* conditions */
    ctree *ctree;
    uint32_t n_ctree;
    int32_t *edge_root;            /* per edge */
    uint32_t n_leaves;             /* slots: WHERE s, UNTIL n+s, GROUP 2n+g */
    const weir_expr_program **leaf_prog;
    unsigned *leaf_stream;
    bool *leaf_uses_match;
    uint64_t *leaf_gen;
    bool *leaf_val;
    uint64_t gen_event, gen_run;

    /* per state */
    uint32_t *max_out;   /* TAKE + IGNORE edges its decision graph can hold */
    uint32_t *max_take;  /* TAKE edges among them */
    uint32_t *rel_elem;  /* reluctant element; 0: none */
    bool has_reluctant;
    bool start_is_plain;  /* no condition the start state's decision graph
                             can test reads the match so far (start_only) */
    uint32_t dfs_max;    /* deepest PROCEED stack any state needs */

    stream_info *streams;
    uint32_t n_streams;
    stream_info other;    /* an input of the rule no step reads: such an
                             event is never taken, but it counts for
                             `next` (strict contiguity) */

    /* the event being processed */
    const weir_value *ev_fields;
    const stream_info *ev_info;
    unsigned ev_stream;
    int64_t ev_ts;
    uint64_t ev_seq;
    weir_mb_event *ev_stored;
    weir_mb_node **slots; /* n_steps */

    /* the run whose edges are being evaluated */
    const run *cur_run;
    weir_match_buffer *cur_buf;
    bool view_ready;
    view_arrays cview;
    struct lazy_view {
        weir_pattern_runtime *rt;
    } cself;              /* what cmatch reads through: extracts on demand */
    weir_eval_match cmatch;
    size_t cvals_cap;
    uint32_t *vcur;       /* n_steps: fill cursors */

    /* scratch */
    uint32_t *dg;         /* decision graph: edge indices */
    size_t dg_cap;
    uint32_t *stack;      /* states to visit */
    size_t stack_cap;
    out_item *out;
    size_t out_cap, n_out;
    jheap newp, pot;
    /* The completed heap lent to the key being processed: between events
     * a key's is nearly always empty, and holding one cost every key 16
     * bytes and an array. A key keeps its own only while it holds
     * completed matches. */
    jheap completed_work;
    weir_pool held_heaps; /* jheap blocks of keys that keep some */
    weir_pool exts;       /* key_ext blocks */
    /* the versions of the key being saved (weir_pattern_key_save), kept
     * from one key to the next */
    weir_dewey *save_versions;
    size_t save_versions_cap;

    /* matches handed to the callback */
    view_arrays mview;
    weir_eval_match mmatch;
    size_t mvals_cap;
    weir_pattern_event *mev;
    size_t mev_cap;
    pair *mpairs;
    size_t mpairs_cap;

    /* timed-out partial matches, reported after the matches */
    pair *tpairs;
    size_t tpairs_cap, n_tpairs;
    timeout_rec *tmo;
    size_t tmo_cap, n_tmo;

    char scratch_buf[1024];
    weir_eval_scratch scratch;

    /* the key's memory (`keep`) that conditions read; set by the rule
     * runner around each call, NULL for rules without keep */
    const struct weir_key_memory *memory;
};

/* ------------------------------------------------------ Java's heap */

static int run_cmp(const run *x, const run *y)
{
    bool xh = !is_start_tag(x) && x->has_start, yh = !is_start_tag(y) && y->has_start;
    int64_t xt = xh ? x->start_ts : INT64_MAX;
    int64_t yt = yh ? y->start_ts : INT64_MAX;
    if (xt != yt)
        return xt < yt ? -1 : 1;
    uint64_t xs = xh ? x->sid_seq : UINT64_MAX;
    uint64_t ys = yh ? y->sid_seq : UINT64_MAX;
    if (xs != ys)
        return xs < ys ? -1 : 1;
    return 0;
}

/* PriorityQueue.siftUpUsingComparator */
static void jheap_sift_up(jheap *h, size_t k, run *x)
{
    while (k > 0) {
        size_t parent = (k - 1) >> 1;
        run *e = jheap_arr(h)[parent];
        if (run_cmp(x, e) >= 0)
            break;
        jheap_arr(h)[k] = e;
        k = parent;
    }
    jheap_arr(h)[k] = x;
}

/* PriorityQueue.siftDownUsingComparator */
static void jheap_sift_down(jheap *h, size_t k, run *x, size_t n)
{
    size_t half = n >> 1;
    while (k < half) {
        size_t child = (k << 1) + 1;
        run *c = jheap_arr(h)[child];
        size_t right = child + 1;
        if (right < n && run_cmp(c, jheap_arr(h)[right]) > 0)
            c = jheap_arr(h)[child = right];
        if (run_cmp(x, c) <= 0)
            break;
        jheap_arr(h)[k] = c;
        k = child;
    }
    jheap_arr(h)[k] = x;
}

/* PriorityQueue.offer; capacity reserved by the caller. */
static void jheap_add(jheap *h, run *x)
{
    size_t i = h->n++;
    jheap_sift_up(h, i, x);
}

/* PriorityQueue.poll */
static run *jheap_poll(jheap *h)
{
    if (h->n == 0)
        return NULL;
    run *result = jheap_arr(h)[0];
    size_t n = --h->n;
    run *x = jheap_arr(h)[n];
    jheap_arr(h)[n] = NULL;
    if (n > 0)
        jheap_sift_down(h, 0, x, n);
    return result;
}

/* PriorityQueue.heapify */
static void jheap_heapify(jheap *h)
{
    size_t n = h->n;
    for (size_t i = n >> 1; i-- > 0;)
        jheap_sift_down(h, i, jheap_arr(h)[i], n);
}

/* The pool of arrays of `cap` runs, or NULL when they are malloc'd. */
static weir_pool *heap_pool_for(weir_pattern_runtime *rt, size_t cap)
{
    size_t k = 0;
    for (size_t c = 2 * JHEAP_INLINE; c < cap; c *= 2)
        k++;
    return k < JHEAP_CLASSES ? &rt->heap_pool[k] : NULL;
}

static void jheap_fini(weir_pattern_runtime *rt, jheap *h)
{
    if (h->cap > JHEAP_INLINE) {
        weir_pool *p = heap_pool_for(rt, h->cap);
        if (p)
            weir_pool_put(p, h->u.a);
        else
            free(h->u.a);
    }
    h->u.a = NULL;
    h->n = h->cap = 0;
}

/* Heaps are per key, and a key mostly holds one or two runs: they start
 * small (weir_mb_grow's scratch arrays start at 16) and double. Heaps of
 * keys and of the runtime trade places (swap_heaps), so every heap of a
 * runtime takes its array from the same pools. */
static int jheap_reserve(weir_pattern_runtime *rt, jheap *h, size_t need)
{
    if (need <= h->cap)
        return 0;
    if (need <= JHEAP_INLINE) {
        h->cap = JHEAP_INLINE; /* the array in place */
        return 0;
    }
    if (need > UINT32_MAX / 2)
        return -1;
    size_t cap = h->cap > JHEAP_INLINE ? (size_t)h->cap * 2 : 2 * JHEAP_INLINE;
    while (cap < need)
        cap *= 2;
    weir_pool *p = heap_pool_for(rt, cap);
    run **a = p ? weir_pool_get(p) : malloc(cap * sizeof *a);
    if (!a)
        return -1;
    if (h->n)
        memcpy(a, jheap_arr(h), h->n * sizeof *a);
    uint32_t n = h->n;
    jheap_fini(rt, h);
    h->u.a = a;
    h->n = n;
    h->cap = (uint32_t)cap;
    return 0;
}

/* ----------------------------------------------------------- runs */

static run *run_new(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    run *r = weir_pool_get(&rt->runs);
    if (r) {
        memset(r, 0, sizeof *r);
        key->n_runs++;
    }
    return r;
}

static void run_free(weir_pattern_runtime *rt, weir_pattern_key *key, run *r)
{
    weir_dewey_release(&key->ext->buf, r->version);
    if (r == &rt->start_run)
        return; /* a start tag's, made for one step */
    weir_pool_put(&rt->runs, r);
    key->n_runs--;
}

/* Releases the run's hold on the buffer, then the run (Flink's
 * releaseNode for a run that is dropped). */
static void run_drop(weir_pattern_runtime *rt, weir_pattern_key *key, run *r)
{
    if (is_start_tag(r))
        return; /* no event, and its version needs no release */
    if (r->node)
        weir_mb_release(&key->ext->buf, r->node, r->version);
    run_free(rt, key, r);
}

static const weir_nfa_state *state_of(const weir_pattern_runtime *rt, uint32_t s)
{
    return &rt->nfa->states[s];
}

/* The start run a tag stands for, in the runtime's start_run: valid until
 * the next call. Freed with run_free like any run of the key. */
static run *start_tag_run(weir_pattern_runtime *rt, const run *tag)
{
    rt->start_run = (run){.state = rt->nfa->start, .version = start_tag_version(tag),
                          .start_ts = -1};
    return &rt->start_run;
}

/* The key's start runs that a tag can stand for become tags. */
static void start_tags_fold(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    for (uint32_t i = 0; i < key->partial.n; i++) {
        run *r = jheap_arr(&key->partial)[i];
        if (is_start_tag(r) || is_packed(r) || r->state != rt->nfa->start || r->node ||
            r->has_start ||
            r->depth || r->anchor || r->rel_count || r->start_ts != -1 || r->sid_seq ||
            !is_start_tag(start_tag(r->version)))
            continue;
        jheap_arr(&key->partial)[i] = start_tag(r->version); /* the tag holds the version */
        weir_pool_put(&rt->runs, r);
        key->n_runs--;
    }
}

static weir_nfa_state_kind kind_of(const weir_pattern_runtime *rt, const run *r)
{
    return state_of(rt, r->state)->kind;
}

/* ------------------------------------------------------------- views */

static size_t view_count(const void *self, unsigned step)
{
    const view_arrays *v = self;
    if (step >= v->n_steps)
        return 0;
    return v->first[step + 1] - v->first[step];
}

static const weir_value *view_event(const void *self, unsigned step, size_t i)
{
    const view_arrays *v = self;
    return v->vals[v->first[step] + i];
}

static const weir_eval_match_ops view_ops = {view_count, view_event};

/* Fills a view from a path (latest first); mev, when not NULL, receives
 * the weir_pattern_event of each, in the same order as vals. Returns the
 * positions of the earliest and the latest event through *first_k and
 * *last_k. */
static void view_fill(weir_pattern_runtime *rt, view_arrays *v, const pair *path, size_t n,
                      weir_pattern_event *mev, size_t *first_k, size_t *last_k)
{
    uint32_t ns = rt->n_steps;
    memset(v->first, 0, (ns + 1) * sizeof *v->first);
    for (size_t i = 0; i < n; i++)
        if (path[i].step < ns)
            v->first[path[i].step + 1]++;
    for (uint32_t s = 0; s < ns; s++)
        v->first[s + 1] += v->first[s];
    memcpy(rt->vcur, v->first, ns * sizeof *rt->vcur);
    for (size_t i = n; i-- > 0;) {
        uint32_t s = path[i].step;
        if (s >= ns)
            continue;
        size_t k = rt->vcur[s]++;
        const weir_mb_event *ev = path[i].ev;
        v->vals[k] = ev->fields;
        if (mev) {
            mev[k].ts = ev->ts;
            mev[k].seq = ev->seq;
            mev[k].stream = ev->stream;
            mev[k].fields = ev->fields;
            mev[k].n_fields = ev->n_fields;
        }
        if (i == n - 1 && first_k)
            *first_k = k;
        if (i == 0 && last_k)
            *last_k = k;
    }
}

/* Flink's extractCurrentMatches for the run being expanded, into the
 * condition view (the current event not included). */
static void ensure_view(weir_pattern_runtime *rt)
{
    if (rt->view_ready)
        return;
    rt->view_ready = true;
    const run *r = rt->cur_run;
    weir_mb_paths paths;
    size_t n = 0;
    if (r->node && weir_mb_extract(rt->cur_buf, r->node, r->version, 1, &paths) > 0) {
        n = paths.first[1];
        if (n > rt->mpairs_cap)
            n = rt->mpairs_cap; /* reserved: not reached */
        for (size_t i = 0; i < n; i++) {
            rt->mpairs[i].ev = paths.nodes[i]->event;
            rt->mpairs[i].step = paths.nodes[i]->step;
        }
    }
    view_fill(rt, &rt->cview, rt->mpairs, n, NULL, NULL, NULL);
}

/* The condition view: the run's events are extracted from the buffer the
 * first time a program actually reads them (`kind == "B" and
 * v != probe[-1].v` does not when the kind differs). */
static size_t lazy_count(const void *self, unsigned step)
{
    weir_pattern_runtime *rt = ((const struct lazy_view *)self)->rt;
    ensure_view(rt);
    return view_count(&rt->cview, step);
}

static const weir_value *lazy_event(const void *self, unsigned step, size_t i)
{
    weir_pattern_runtime *rt = ((const struct lazy_view *)self)->rt;
    ensure_view(rt);
    return view_event(&rt->cview, step, i);
}

static const weir_eval_match_ops lazy_ops = {lazy_count, lazy_event};

/* -------------------------------------------------------- conditions */

static bool leaf_eval(weir_pattern_runtime *rt, uint16_t op, uint32_t arg)
{
    const weir_rule_plan *plan = rt->plan;
    uint32_t slot;
    switch ((weir_nfa_cond_op)op) {
    case WEIR_COND_TRUE:
        return true;
    case WEIR_COND_STREAM:
        return arg < rt->n_steps && rt->ev_stream == plan->steps[arg].stream;
    case WEIR_COND_WHERE:
        slot = arg;
        break;
    case WEIR_COND_UNTIL:
        slot = rt->n_steps + arg;
        break;
    case WEIR_COND_GROUP_UNTIL:
        slot = 2 * rt->n_steps + arg;
        break;
    default:
        return false;
    }
    if (slot >= rt->n_leaves)
        return false;
    if (rt->ev_stream != rt->leaf_stream[slot])
        return false; /* the program reads fields of another stream */
    const weir_expr_program *p = rt->leaf_prog[slot];
    if (!p) /* a step without `where` takes every event; no until holds */
        return op == WEIR_COND_WHERE;
    if (p->field_cmp && rt->ev_fields) /* cheaper than its cache */
        return weir_eval_field_cmp(p, rt->ev_fields);
    uint64_t gen = rt->leaf_uses_match[slot] ? rt->gen_run : rt->gen_event;
    if (rt->leaf_gen[slot] == gen)
        return rt->leaf_val[slot];
    weir_eval_scratch_reset(&rt->scratch);
    weir_eval_ctx ctx = {
        .event = rt->ev_fields,
        .match = &rt->cmatch,
        .scratch = &rt->scratch,
        .memory = rt->memory,
    };
    bool v = weir_eval_condition(p, &ctx);
    rt->leaf_gen[slot] = gen;
    rt->leaf_val[slot] = v;
    return v;
}

/* Evaluates a condition tree with short-circuit AND / OR. Depth is
 * bounded by nfa->cond_max_depth. */
static bool cond_eval(weir_pattern_runtime *rt, int32_t n)
{
    const ctree *c = &rt->ctree[n];
    switch ((weir_nfa_cond_op)c->op) {
    case WEIR_COND_NOT:
        return !cond_eval(rt, c->a);
    case WEIR_COND_AND:
        return cond_eval(rt, c->a) && cond_eval(rt, c->b);
    case WEIR_COND_OR:
        return cond_eval(rt, c->a) || cond_eval(rt, c->b);
    default:
        return leaf_eval(rt, c->op, c->arg);
    }
}

static bool edge_holds(weir_pattern_runtime *rt, uint32_t edge)
{
    return cond_eval(rt, rt->edge_root[edge]);
}

/* Whether condition tree n has a leaf that reads earlier matched events. */
static bool cond_reads_match(const weir_pattern_runtime *rt, int32_t n)
{
    if (n < 0)
        return false;
    const ctree *c = &rt->ctree[n];
    uint32_t slot;
    switch ((weir_nfa_cond_op)c->op) {
    case WEIR_COND_NOT:
    case WEIR_COND_AND:
    case WEIR_COND_OR:
        return cond_reads_match(rt, c->a) || cond_reads_match(rt, c->b);
    case WEIR_COND_WHERE:
        slot = c->arg;
        break;
    case WEIR_COND_UNTIL:
        slot = rt->n_steps + c->arg;
        break;
    case WEIR_COND_GROUP_UNTIL:
        slot = 2 * rt->n_steps + c->arg;
        break;
    default:
        return false;
    }
    return slot < rt->n_leaves && rt->leaf_uses_match[slot];
}

/* Whether no edge of the start state, or of a state it can PROCEED to, has
 * a condition that reads the match: then start_only can decide on the event
 * alone. `mark` has room for every state. */
static bool start_closure_is_plain(const weir_pattern_runtime *rt, bool *mark)
{
    const weir_nfa *nfa = rt->nfa;
    size_t top = 0;
    rt->stack[top++] = nfa->start;
    mark[nfa->start] = true;
    while (top > 0) {
        const weir_nfa_state *s = &nfa->states[rt->stack[--top]];
        for (uint32_t k = 0; k < s->n_edges; k++) {
            uint32_t ei = s->first_edge + k;
            const weir_nfa_edge *e = &nfa->edges[ei];
            if (cond_reads_match(rt, rt->edge_root[ei]))
                return false;
            if (e->action == WEIR_NFA_PROCEED && !mark[e->target]) {
                if (top == rt->stack_cap)
                    return false;
                mark[e->target] = true;
                rt->stack[top++] = e->target;
            }
        }
    }
    return true;
}

/* ------------------------------------------------------- reluctance */

static bool step_in_elem(const weir_pattern_runtime *rt, uint32_t elem, int32_t step)
{
    if (elem == 0 || step < 0)
        return false;
    if (elem <= rt->n_steps)
        return (uint32_t)step == elem - 1;
    const weir_nfa_group *g = &rt->nfa->groups[elem - rt->n_steps - 1];
    return (uint32_t)step >= g->first_step && (uint32_t)step < g->first_step + g->n_steps;
}

static uint32_t fresh_anchor(weir_pattern_key *key)
{
    if (++key->next_anchor == 0)
        key->next_anchor = 1;
    return key->next_anchor;
}

/* ----------------------------------------------------- the NFA step */

/* Flink's addComputationState: a new run in `state`, holding `node` with
 * `version` (whose reference it takes). `parent` gives the start event and
 * the reluctant family; `taken` the step that took the event (-1 for an
 * IGNORE). */
static run *add_run(weir_pattern_runtime *rt, weir_pattern_key *key, const run *parent,
                    uint32_t state, weir_mb_node *node, weir_dewey version, int32_t taken,
                    bool parent_is_start)
{
    run *r = run_new(rt, key);
    if (!r) { /* not reached: reserved */
        weir_dewey_release(&key->ext->buf, version);
        return NULL;
    }
    r->state = state;
    r->node = node;
    r->version = version;
    if (parent_is_start && taken >= 0) {
        r->has_start = true;
        r->start_ts = rt->ev_ts;
        r->sid_seq = rt->ev_seq;
    } else {
        r->has_start = parent->has_start;
        r->start_ts = parent->start_ts;
        r->sid_seq = parent->sid_seq;
    }
    r->depth = parent->depth + (taken >= 0 ? 1 : 0);
    weir_mb_lock(node, version);

    out_item *o = &rt->out[rt->n_out++];
    memset(o, 0, sizeof *o);
    o->r = r;
    weir_nfa_state_kind kind = state_of(rt, state)->kind;
    o->kind = kind == WEIR_NFA_FINAL ? OUT_FINAL : kind == WEIR_NFA_STOP ? OUT_STOP : OUT_RETAIN;

    if (rt->has_reluctant) {
        uint32_t ep = rt->rel_elem[parent->state];
        uint32_t et = rt->rel_elem[state];
        uint32_t family = ep && parent->anchor ? parent->anchor : 0;
        if (et) {
            bool took_here = step_in_elem(rt, et, taken);
            if (et == ep && family) {
                r->anchor = family;
                r->rel_count = parent->rel_count + took_here;
            } else {
                r->anchor = fresh_anchor(key);
                r->rel_count = took_here;
            }
        }
        if (family && et != ep && kind != WEIR_NFA_STOP) {
            o->family = family;
            o->leaves = true;
            o->leave_count = parent->rel_count + step_in_elem(rt, ep, taken);
        } else if (family && et == ep) {
            o->family = family;
        }
    }
    return r;
}

/* The event, copied into the buffer the first time a run takes it
 * (Flink's EventWrapper.getEventId). */
static weir_mb_event *stored_event(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    if (!rt->ev_stored) {
        const stream_info *si = rt->ev_info;
        rt->ev_stored = weir_mb_event_store(&key->ext->buf, rt->ev_fields, si->lay.width,
                                            si->lay.strings, si->lay.n_strings, rt->ev_stream,
                                            rt->ev_ts, rt->ev_seq);
    }
    return rt->ev_stored;
}

/* Flink's calculateIncreasingSelfState */
static uint32_t increasing_self_state(uint32_t ignores, uint32_t takes)
{
    return takes == 0 && ignores == 0 ? 0 : ignores + (takes > 1 ? takes : 1);
}

/* Flink's createDecisionGraph: fills rt->dg with the TAKE and IGNORE
 * edges, in Flink's order. */
static uint32_t create_decision_graph(weir_pattern_runtime *rt, uint32_t from)
{
    const weir_nfa *nfa = rt->nfa;
    uint32_t n = 0;
    size_t top = 0;
    rt->stack[top++] = from;
    while (top > 0) {
        const weir_nfa_state *s = &nfa->states[rt->stack[--top]];
        for (uint32_t k = 0; k < s->n_edges; k++) {
            uint32_t ei = s->first_edge + k;
            if (!edge_holds(rt, ei))
                continue;
            const weir_nfa_edge *e = &nfa->edges[ei];
            if (e->action == WEIR_NFA_PROCEED) {
                if (top < rt->stack_cap)
                    rt->stack[top++] = e->target;
            } else if (n < rt->dg_cap) {
                rt->dg[n++] = ei;
            }
        }
    }
    return n;
}

/* Flink's findFinalStateAfterProceed: the final state if `state` can
 * PROCEED to it on this event, else -1. */
static int64_t find_final_after_proceed(weir_pattern_runtime *rt, uint32_t state)
{
    const weir_nfa *nfa = rt->nfa;
    size_t top = 0;
    rt->stack[top++] = state;
    while (top > 0) {
        const weir_nfa_state *s = &nfa->states[rt->stack[--top]];
        for (uint32_t k = 0; k < s->n_edges; k++) {
            uint32_t ei = s->first_edge + k;
            const weir_nfa_edge *e = &nfa->edges[ei];
            if (e->action != WEIR_NFA_PROCEED || !edge_holds(rt, ei))
                continue;
            if (nfa->states[e->target].kind == WEIR_NFA_FINAL)
                return e->target;
            if (top < rt->stack_cap)
                rt->stack[top++] = e->target;
        }
    }
    return -1;
}

/* Flink's computeNextStates: appends the runs `cs` becomes to rt->out,
 * then releases cs's hold on the buffer (the caller frees cs). */
static void compute_next_states(weir_pattern_runtime *rt, weir_pattern_key *key, run *cs)
{
    weir_match_buffer *b = &key->ext->buf;
    const weir_nfa *nfa = rt->nfa;
    rt->cur_run = cs;
    rt->cur_buf = b;
    rt->view_ready = false;
    rt->gen_run++;

    uint32_t n = create_decision_graph(rt, cs->state);
    uint32_t total_take = 0, total_ignore = 0;
    for (uint32_t i = 0; i < n; i++) {
        const weir_nfa_edge *e = &nfa->edges[rt->dg[i]];
        /* OutgoingEdges.add: a self IGNORE (to the run's own state) is not
         * a branch */
        if (e->action == WEIR_NFA_IGNORE && e->target != cs->state)
            total_ignore++;
        else if (e->action == WEIR_NFA_TAKE)
            total_take++;
    }
    uint32_t take_to_visit = total_take > 0 ? total_take - 1 : 0;
    uint32_t ignore_to_visit = total_ignore;
    uint32_t total_take_to_skip = take_to_visit;
    bool is_start = kind_of(rt, cs) == WEIR_NFA_START;

    for (uint32_t i = 0; i < n; i++) {
        const weir_nfa_edge *e = &nfa->edges[rt->dg[i]];
        if (e->action == WEIR_NFA_IGNORE) {
            if (is_start)
                continue;
            weir_dewey version;
            if (e->target == cs->state) {
                version = weir_dewey_increase(b, cs->version,
                                              increasing_self_state(total_ignore, total_take));
            } else {
                weir_dewey v = weir_dewey_increase(b, cs->version,
                                                    total_take_to_skip + ignore_to_visit);
                version = weir_dewey_add_stage(b, v);
                weir_dewey_release(b, v);
                ignore_to_visit--;
            }
            add_run(rt, key, cs, e->target, cs->node, version, -1, is_start);
        } else { /* TAKE */
            weir_dewey cur = weir_dewey_increase(b, cs->version, take_to_visit);
            weir_dewey next = weir_dewey_add_stage(b, cur);
            take_to_visit--;
            weir_mb_event *ev = stored_event(rt, key);
            weir_mb_node *node = weir_mb_put(b, ev, (uint32_t)e->step, cs->node, cur);
            weir_dewey_release(b, cur);
            add_run(rt, key, cs, e->target, node, weir_dewey_ref(next), e->step, is_start);
            int64_t fin = find_final_after_proceed(rt, e->target);
            if (fin >= 0)
                add_run(rt, key, cs, (uint32_t)fin, node, weir_dewey_ref(next), e->step,
                        is_start);
            weir_dewey_release(b, next);
        }
    }

    if (is_start) {
        /* the start state always survives (Flink's createStartState); as
         * a tag when its version is held in 64 bits */
        weir_dewey version = weir_dewey_increase(b, cs->version,
                                                 increasing_self_state(total_ignore, total_take));
        run *s = start_tag(version);
        if (!is_start_tag(s) || cs->state != rt->nfa->start) {
            s = run_new(rt, key);
            if (s) {
                s->state = cs->state;
                s->version = version;
                s->start_ts = -1;
            } else {
                weir_dewey_release(b, version); /* not reached: reserved */
            }
        }
        if (s) {
            out_item *o = &rt->out[rt->n_out++];
            memset(o, 0, sizeof *o);
            o->r = s;
            o->kind = OUT_RETAIN;
        }
    }
    if (cs->node)
        weir_mb_release(b, cs->node, cs->version);
}

/* weir's reluctant quantifiers: in each family that left its element on
 * this event, keep the leaving run with the fewest events in the element
 * and drop every other run of the family. */
static void reluctant_filter(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    for (size_t i = 0; i < rt->n_out; i++) {
        out_item *w = &rt->out[i];
        if (w->dropped || !w->leaves)
            continue;
        /* i is the first leaving run of its family: find the winner */
        uint32_t fam = w->family;
        size_t best = i;
        for (size_t j = i + 1; j < rt->n_out; j++) {
            const out_item *o = &rt->out[j];
            if (!o->dropped && o->leaves && o->family == fam &&
                o->leave_count < rt->out[best].leave_count)
                best = j;
        }
        for (size_t j = 0; j < rt->n_out; j++) {
            out_item *o = &rt->out[j];
            if (j == best || o->dropped || o->family != fam)
                continue;
            o->dropped = true;
            run_drop(rt, key, o->r);
            o->r = NULL;
        }
        rt->out[best].leaves = false;
        rt->out[best].family = 0;
    }
}

/* Keeps in (*pts, *pseq) the earlier (or later) of it and ev. */
static void keep_event(const weir_mb_event *ev, bool later, bool *have, int64_t *pts,
                       uint64_t *pseq)
{
    bool take = !*have;
    if (!take && later)
        take = ev->ts > *pts || (ev->ts == *pts && ev->seq > *pseq);
    else if (!take)
        take = ev->ts < *pts || (ev->ts == *pts && ev->seq < *pseq);
    if (take) {
        *pts = ev->ts;
        *pseq = ev->seq;
        *have = true;
    }
}

/* Which partial matches a completed one prunes: Flink's
 * AfterMatchSkipStrategy.getPruningId over every extracted path (paths
 * run latest event first). false: none (Flink's null). */
static bool pruning_id(const weir_pattern_runtime *rt, const weir_mb_paths *paths,
                       int64_t *pts, uint64_t *pseq)
{
    const weir_nfa *nfa = rt->nfa;
    bool have = false;
    for (size_t p = 0; p < paths->n_paths; p++) {
        weir_mb_node *const *nodes = paths->nodes + paths->first[p];
        size_t len = paths->first[p + 1] - paths->first[p];
        switch (nfa->skip) {
        case AST_SKIP_TO_NEXT: /* the first event of each step: the earliest */
            for (size_t i = 0; i < len; i++)
                keep_event(nodes[i]->event, false, &have, pts, pseq);
            break;
        case AST_SKIP_PAST_LAST: /* the last event of each step: the latest */
            for (size_t i = 0; i < len; i++)
                keep_event(nodes[i]->event, true, &have, pts, pseq);
            break;
        case AST_SKIP_TO_FIRST:
        case AST_SKIP_TO_LAST: {
            /* the step's first (last) event in this path; the latest over
             * the paths */
            const weir_mb_event *pick = NULL;
            for (size_t i = 0; i < len; i++) {
                if (nodes[i]->step != (uint32_t)nfa->skip_step)
                    continue;
                if (nfa->skip == AST_SKIP_TO_FIRST || !pick)
                    pick = nodes[i]->event;
            }
            if (pick)
                keep_event(pick, true, &have, pts, pseq);
            break;
        }
        default:
            return false;
        }
    }
    return have;
}

/* AfterMatchSkipStrategy.prune over one heap. */
static void prune(weir_pattern_runtime *rt, weir_pattern_key *key, jheap *h, int64_t pts,
                  uint64_t pseq)
{
    bool inclusive = rt->nfa->skip == AST_SKIP_TO_NEXT || rt->nfa->skip == AST_SKIP_PAST_LAST;
    size_t w = 0;
    bool any = false;
    for (size_t i = 0; i < h->n; i++) {
        run *r = jheap_arr(h)[i];
        bool drop = false;
        if (!is_start_tag(r) && r->has_start) {
            int c = r->start_ts != pts ? (r->start_ts < pts ? -1 : 1)
                    : r->sid_seq != pseq ? (r->sid_seq < pseq ? -1 : 1) : 0;
            drop = inclusive ? c <= 0 : c < 0;
        }
        if (drop) {
            run_drop(rt, key, r);
            any = true;
        } else {
            jheap_arr(h)[w++] = r;
        }
    }
    if (!any)
        return;
    for (size_t i = w; i < h->n; i++)
        jheap_arr(h)[i] = NULL;
    h->n = w;
    jheap_heapify(h); /* JDK 11+ PriorityQueue.bulkRemove */
}

/* Hands one match (or timed-out partial match) to the callback. */
static void emit(weir_pattern_runtime *rt, const pair *path, size_t n, bool timed_out,
                 bool absence, int64_t time, weir_match_cb cb, void *user)
{
    if (!cb || n == 0)
        return;
    size_t first_k = 0, last_k = 0;
    view_fill(rt, &rt->mview, path, n, rt->mev, &first_k, &last_k);
    weir_pattern_match m = {
        .view = &rt->mmatch,
        .n_steps = rt->n_steps,
        .step_first = rt->mview.first,
        .events = rt->mev,
        .n_events = rt->mview.first[rt->n_steps],
        .first = &rt->mev[first_k],
        .last = &rt->mev[last_k],
        .time = absence || timed_out ? time : rt->mev[last_k].ts,
        .timed_out = timed_out,
        .absence = absence,
    };
    cb(user, &m);
}

/* Flink's processMatchesAccordingToSkipStrategy. */
static void process_matches(weir_pattern_runtime *rt, weir_pattern_key *key, jheap *potential,
                            jheap *partials, weir_match_cb cb, void *user)
{
    const weir_nfa *nfa = rt->nfa;
    bool skipping = nfa->skip != AST_SKIP_NO_SKIP && nfa->skip != AST_SKIP_DEFAULT;
    for (size_t i = 0; i < potential->n; i++)
        jheap_add(key->ext->completed, jheap_arr(potential)[i]);
    potential->n = 0;
    while (key->ext->completed->n > 0) {
        run *m = jheap_arr(key->ext->completed)[0];
        if (skipping && partials->n > 0 && run_cmp(m, jheap_arr(partials)[0]) > 0)
            break;
        jheap_poll(key->ext->completed);
        weir_mb_paths paths;
        weir_mb_extract(&key->ext->buf, m->node, m->version, WEIR_MB_MAX_PATHS, &paths);
        int64_t pts = 0;
        uint64_t pseq = 0;
        if (skipping && pruning_id(rt, &paths, &pts, &pseq)) {
            prune(rt, key, partials, pts, pseq);
            prune(rt, key, key->ext->completed, pts, pseq);
        }
        size_t n = paths.n_paths ? paths.first[1] : 0;
        if (n > rt->mpairs_cap)
            n = rt->mpairs_cap; /* reserved: not reached */
        for (size_t i = 0; i < n; i++) {
            rt->mpairs[i].ev = paths.nodes[i]->event;
            rt->mpairs[i].step = paths.nodes[i]->step;
        }
        bool absence = kind_of(rt, m) == WEIR_NFA_PENDING;
        int64_t deadline = m->start_ts + nfa->within_ms;
        emit(rt, rt->mpairs, n, false, absence, deadline, cb, user);
        run_drop(rt, key, m);
    }
}

/* ------------------------------------------------------ reservations */

/* Room for the view and match arrays over every node the key may hold. */
static int reserve_views(weir_pattern_runtime *rt, size_t nodes)
{
    nodes += 1;
    if (weir_mb_grow((void **)&rt->cview.vals, &rt->cvals_cap, nodes, sizeof *rt->cview.vals) ||
        weir_mb_grow((void **)&rt->mview.vals, &rt->mvals_cap, nodes, sizeof *rt->mview.vals) ||
        weir_mb_grow((void **)&rt->mev, &rt->mev_cap, nodes, sizeof *rt->mev) ||
        weir_mb_grow((void **)&rt->mpairs, &rt->mpairs_cap, nodes, sizeof *rt->mpairs))
        return -1;
    return 0;
}

static const stream_info *find_stream(const weir_pattern_runtime *rt, unsigned stream)
{
    for (uint32_t i = 0; i < rt->n_streams; i++)
        if (rt->streams[i].stream == stream)
            return &rt->streams[i];
    return NULL;
}

static int reserve_process(weir_pattern_runtime *rt, weir_pattern_key *key,
                           const weir_value *fields, const stream_info *si)
{
    size_t runs = 0, takes = 0;
    for (size_t i = 0; i < key->partial.n; i++) {
        const run *r = jheap_arr(&key->partial)[i];
        uint32_t s = is_start_tag(r) ? rt->nfa->start : r->state;
        runs += (size_t)rt->max_out[s] + rt->max_take[s] + 1;
        takes += rt->max_take[s];
    }
    size_t event_bytes =
        si ? weir_mb_event_size(fields, si->lay.width, si->lay.strings, si->lay.n_strings) : 0;
    if (weir_pool_reserve(&rt->runs, runs) != 0 ||
        weir_mb_reserve(&key->ext->buf, 2 * runs + 2, rt->n_steps, takes, event_bytes, rt->n_steps,
                        takes) != 0 ||
        weir_mb_grow((void **)&rt->out, &rt->out_cap, runs, sizeof *rt->out) != 0 ||
        jheap_reserve(rt, &rt->newp, runs) != 0 || jheap_reserve(rt, &rt->pot, runs) != 0 ||
        jheap_reserve(rt, key->ext->completed, key->ext->completed->n + runs) != 0 ||
        reserve_views(rt, key->ext->buf.n_nodes + rt->n_steps) != 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------ process */

/* Flink's isStateTimedOut */
static bool timed_out(const weir_pattern_runtime *rt, const run *r, int64_t t)
{
    const weir_nfa *nfa = rt->nfa;
    if (is_start_tag(r) || !nfa->has_within || nfa->within_ms <= 0)
        return false;
    uint32_t state = is_packed(r) ? packed_of(r)->single.user : r->state;
    int64_t start = is_packed(r) ? packed_of(r)->single.event->ts : r->start_ts;
    if (state_of(rt, state)->kind == WEIR_NFA_START)
        return false;
    /* t - start >= within, without overflow */
    if (t < start)
        return false;
    return (uint64_t)t - (uint64_t)start >= (uint64_t)nfa->within_ms;
}

/* The key's packed run, if it has one, as a run, node and edge again.
 * Returns -1, with nothing changed, when out of memory. */
static int key_unpack(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    if (!key->packed)
        return 0;
    for (uint32_t i = 0; i < key->partial.n; i++) {
        if (!is_packed(jheap_arr(&key->partial)[i]))
            continue;
        if (weir_pool_reserve(&rt->runs, 1) != 0 ||
            weir_mb_reserve(&key->ext->buf, 0, 1, 1, 0, 0, 0) != 0)
            return -1;
        packed_run *p = packed_of(jheap_arr(&key->partial)[i]);
        weir_mb_node *node = weir_mb_unpack_single(&key->ext->buf, &p->single);
        if (!node)
            return -1; /* not reached: reserved */
        run *r = run_new(rt, key);
        packed_fill(r, p, node);
        jheap_arr(&key->partial)[i] = r;
        key->packed = false;
        weir_pool_put(&rt->packs, p);
        return 0;
    }
    return 0;
}

/* After a call: a key whose only partial match (besides its start run) has
 * taken one event keeps it packed. */
static void key_pack(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    if ((key->ext->completed && key->ext->completed->n) || key->ext->buf.n_nodes != 1)
        return;
    uint32_t at = UINT32_MAX;
    for (uint32_t i = 0; i < key->partial.n; i++) {
        if (is_start_tag(jheap_arr(&key->partial)[i]))
            continue;
        if (at != UINT32_MAX)
            return;
        at = i;
    }
    if (at == UINT32_MAX)
        return;
    run *r = jheap_arr(&key->partial)[at];
    const weir_mb_event *ev = r->node ? r->node->event : NULL;
    if (!ev || !r->has_start || r->depth != 1 || r->anchor || r->rel_count ||
        r->start_ts != ev->ts || r->sid_seq != ev->seq || r->state > UINT16_MAX ||
        !r->node->edges || r->version != weir_dewey_held_stage(r->node->edges->version))
        return;
    packed_run *p = weir_pool_get(&rt->packs);
    if (!p)
        return; /* it stays a run */
    if (!weir_mb_pack_single(&key->ext->buf, r->node, &p->single)) {
        weir_pool_put(&rt->packs, p);
        return;
    }
    p->single.user = (uint16_t)r->state; /* its version is held: no reference */
    jheap_arr(&key->partial)[at] = packed_entry(p);
    key->packed = true;
    weir_pool_put(&rt->runs, r);
    key->n_runs--;
}

/* The key's packed run, or NULL. (Like strchr, a const key gives a plain
 * pointer: freeing a key puts it back.) */
static packed_run *key_packed(const weir_pattern_key *key)
{
    for (uint32_t i = 0; key->packed && i < key->partial.n; i++)
        if (is_packed(jheap_arr(&key->partial)[i]))
            return packed_of(jheap_arr(&key->partial)[i]);
    return NULL;
}

/* Before a call: the key's buffer and completed heap, made again for a
 * packed key. -1 when out of memory (nothing changed). */
static int key_grow(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    if (key->ext)
        return 0;
    key_ext *x = weir_pool_get(&rt->exts);
    if (!x)
        return -1;
    const packed_run *p = key_packed(key);
    if (p)
        weir_match_buffer_init_holding(&x->buf, &rt->sh, p->single.event);
    else
        weir_match_buffer_init(&x->buf, &rt->sh); /* not reached: only packed keys shrink */
    x->completed = NULL;
    key->ext = x;
    return 0;
}

/* After a call: a packed key holding nothing more lets its ext go. */
static void key_shrink(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    const packed_run *p = key_packed(key);
    if (!key->ext || !p || key->ext->completed ||
        !weir_match_buffer_holds_only(&key->ext->buf, p->single.event))
        return;
    weir_pool_put(&rt->exts, key->ext);
    key->ext = NULL;
}

/* A buffer for reading or releasing a shrunk key's packed event. */
static weir_match_buffer shrunk_buffer(weir_pattern_runtime *rt, const weir_pattern_key *key)
{
    weir_match_buffer b;
    const packed_run *p = key_packed(key);
    if (p)
        weir_match_buffer_init_holding(&b, &rt->sh, p->single.event);
    else
        weir_match_buffer_init(&b, &rt->sh);
    return b;
}

static void swap_heaps(jheap *a, jheap *b)
{
    jheap t = *a;
    *a = *b;
    *b = t;
}

/* A heap's array moved down to the smallest pool that holds its runs (no
 * array when empty). Reservations size a key's heaps for the worst case of
 * one event, and the heap swapped in from the runtime has the largest
 * capacity any key needed: kept as they are, most keys would hold arrays
 * several times too big. Pool blocks only, so no allocator call once the
 * pools are warm; when the smaller block cannot be had the heap stays as
 * it is. */
static void jheap_trim(weir_pattern_runtime *rt, jheap *h)
{
    if (h->cap <= JHEAP_INLINE || !heap_pool_for(rt, h->cap))
        return; /* in place already; or malloc'd, which stays: it trades
                   places with the runtime's, where a smaller one would be
                   grown again */
    uint32_t n = h->n;
    if (n <= JHEAP_INLINE) {
        run *in_place[JHEAP_INLINE];
        memcpy(in_place, h->u.a, n * sizeof *in_place); /* the union: copy out first */
        jheap_fini(rt, h);
        memcpy(h->u.inl, in_place, n * sizeof *in_place);
        h->n = n;
        h->cap = JHEAP_INLINE;
        return;
    }
    size_t cap = 2 * JHEAP_INLINE;
    while (cap < n)
        cap *= 2;
    if (cap >= h->cap)
        return;
    run **a = weir_pool_get(heap_pool_for(rt, cap));
    if (!a)
        return;
    memcpy(a, h->u.a, n * sizeof *a);
    jheap_fini(rt, h);
    h->u.a = a;
    h->n = n;
    h->cap = (uint32_t)cap;
}

/* The key's new partial matches, built in the runtime's heap `from`, go
 * back into the key's own array when they fit (a copy of a few pointers:
 * the key keeps its small array and the runtime its large one); else the
 * two trade arrays, and the key's is trimmed to fit. `from` is left
 * empty. */
static void take_heap(weir_pattern_runtime *rt, jheap *to, jheap *from)
{
    if (from->n <= (to->cap > JHEAP_INLINE ? to->cap : JHEAP_INLINE)) {
        if (to->cap < JHEAP_INLINE)
            to->cap = JHEAP_INLINE;
        if (from->n)
            memcpy(jheap_arr(to), jheap_arr(from), from->n * sizeof(run *));
        to->n = from->n;
    } else {
        swap_heaps(to, from);
        jheap_trim(rt, to);
    }
    from->n = 0;
}

/* Flink's NFA.advanceTime */
static int advance_time(weir_pattern_runtime *rt, weir_pattern_key *key, int64_t t,
                        weir_match_cb cb, void *user)
{
    const weir_nfa *nfa = rt->nfa;
    size_t n = key->partial.n;
    size_t tpairs = 0, n_out = 0;
    for (size_t i = 0; i < n; i++)
        if (timed_out(rt, jheap_arr(&key->partial)[i], t)) {
            n_out++;
            tpairs += is_packed(jheap_arr(&key->partial)[i]) ? 1 : jheap_arr(&key->partial)[i]->depth;
        }
    if (n_out == 0) {
        /* Flink would rebuild the same heap and find nothing to emit: the
         * held matches were looked at when the partial matches last
         * changed */
        key->now = t;
        key->has_now = true;
        return 0;
    }
    if (key_unpack(rt, key) != 0 ||
        weir_mb_reserve(&key->ext->buf, 0, 0, 0, 0, 0, 0) != 0 || jheap_reserve(rt, &rt->newp, n) != 0 ||
        jheap_reserve(rt, &rt->pot, n) != 0 ||
        jheap_reserve(rt, key->ext->completed, key->ext->completed->n + n) != 0 ||
        weir_mb_grow((void **)&rt->tpairs, &rt->tpairs_cap, tpairs + 1, sizeof *rt->tpairs) != 0 ||
        weir_mb_grow((void **)&rt->tmo, &rt->tmo_cap, n + 1, sizeof *rt->tmo) != 0 ||
        reserve_views(rt, key->ext->buf.n_nodes) != 0)
        return -1;

    key->now = t;
    key->has_now = true;
    rt->newp.n = 0;
    rt->pot.n = 0;
    rt->n_tpairs = 0;
    rt->n_tmo = 0;
    for (size_t i = 0; i < n; i++) {
        run *r = jheap_arr(&key->partial)[i];
        if (!timed_out(rt, r, t)) {
            jheap_add(&rt->newp, r);
            continue;
        }
        if (kind_of(rt, r) == WEIR_NFA_PENDING) {
            jheap_add(&rt->pot, r);
            continue;
        }
        if (nfa->handle_timeout) {
            /* materialise now (Flink does, before releasing), report after
             * the matches: hold the events meanwhile */
            weir_mb_paths paths;
            size_t len = 0;
            if (r->node && weir_mb_extract(&key->ext->buf, r->node, r->version, 1, &paths) > 0)
                len = paths.first[1];
            if (len > rt->tpairs_cap - rt->n_tpairs)
                len = rt->tpairs_cap - rt->n_tpairs; /* collision: truncated */
            timeout_rec *rec = &rt->tmo[rt->n_tmo++];
            rec->first = rt->n_tpairs;
            rec->n = len;
            rec->time = r->start_ts + nfa->within_ms;
            for (size_t k = 0; k < len; k++) {
                pair *p = &rt->tpairs[rt->n_tpairs++];
                p->ev = paths.nodes[k]->event;
                p->step = paths.nodes[k]->step;
                weir_mb_event_hold(p->ev);
            }
        }
        run_drop(rt, key, r);
    }
    key->partial.n = 0;
    process_matches(rt, key, &rt->pot, &rt->newp, cb, user);
    take_heap(rt, &key->partial, &rt->newp);

    for (size_t i = 0; i < rt->n_tmo; i++) {
        const timeout_rec *rec = &rt->tmo[i];
        emit(rt, rt->tpairs + rec->first, rec->n, true, false, rec->time, cb, user);
    }
    for (size_t i = 0; i < rt->n_tpairs; i++)
        weir_mb_event_release(&key->ext->buf, rt->tpairs[i].ev);
    rt->n_tpairs = 0;
    rt->n_tmo = 0;
    key_pack(rt, key);
    return 0;
}

/* The runtime's completed heap to the key, for one call, when the key has
 * none of its own (see weir_pattern_runtime.completed_work); and a block
 * for the key to keep it in after the call. */
static int completed_borrow(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    if (weir_pool_reserve(&rt->held_heaps, 1) != 0)
        return -1;
    if (!key->ext->completed)
        key->ext->completed = &rt->completed_work;
    return 0;
}

/* After the call: a key holding completed matches keeps them in a heap of
 * its own; an empty one is given back. */
static void completed_return(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    jheap *h = key->ext->completed;
    if (h == &rt->completed_work) {
        key->ext->completed = NULL;
        if (h->n == 0)
            return;
        jheap *own = weir_pool_get(&rt->held_heaps); /* reserved */
        *own = *h;
        *h = (jheap){0};
        key->ext->completed = own;
        return;
    }
    if (h->n > 0)
        return;
    if (rt->completed_work.cap == 0)
        rt->completed_work = *h; /* its array serves the next keys */
    else
        jheap_fini(rt, h);
    weir_pool_put(&rt->held_heaps, h);
    key->ext->completed = NULL;
}

int weir_pattern_advance(weir_pattern_runtime *rt, weir_pattern_key *key, int64_t time,
                         weir_match_cb cb, void *user)
{
    if (key->has_now && time < key->now)
        return 0;
    if (key_grow(rt, key) != 0 || completed_borrow(rt, key) != 0)
        return -1;
    int rc = advance_time(rt, key, time, cb, user);
    completed_return(rt, key);
    key_shrink(rt, key);
    return rc;
}

static int process_event(weir_pattern_runtime *rt, weir_pattern_key *key,
                         const weir_value *fields, unsigned stream, int64_t ts, uint64_t seq,
                         weir_match_cb cb, void *user);

/* A key holding nothing but its start run, as every idle key and the
 * rule's spare state do, on an event that its start run takes nothing on
 * and branches nowhere from: the call would only move the key's time to
 * the event's. True when it has done that; false when the event needs the
 * whole step. Most events of a pattern rule are such (a payment that is no
 * probe), and the whole step costs several times more: unpacking, the
 * decision graph, the output lists, the match heaps and packing again. The
 * decision graph is the one compute_next_states builds; Flink's start
 * state, on an event it neither takes nor ignores into another state,
 * survives with its version unchanged (increasing_self_state(0, 0) = 0). */
static bool start_only(weir_pattern_runtime *rt, weir_pattern_key *key,
                       const weir_value *fields, unsigned stream, int64_t ts)
{
    if (!rt->start_is_plain || key->partial.n != 1 ||
        !is_start_tag(jheap_arr(&key->partial)[0]) || (key->ext && key->ext->completed))
        return false;
    const stream_info *si = find_stream(rt, stream);
    if (!si)
        return false;
    rt->ev_fields = fields;
    rt->ev_stream = stream;
    rt->gen_event++;
    uint32_t n = create_decision_graph(rt, rt->nfa->start);
    rt->ev_fields = NULL;
    for (uint32_t i = 0; i < n; i++) {
        const weir_nfa_edge *e = &rt->nfa->edges[rt->dg[i]];
        if (e->action == WEIR_NFA_TAKE || e->target != rt->nfa->start)
            return false;
    }
    if (!key->has_now || ts > key->now) {
        key->now = ts;
        key->has_now = true;
    }
    return true;
}

int weir_pattern_process(weir_pattern_runtime *rt, weir_pattern_key *key,
                         const weir_value *fields, unsigned stream, int64_t ts,
                         uint64_t seq, weir_match_cb cb, void *user)
{
    if (start_only(rt, key, fields, stream, ts))
        return 0;
    if (key_grow(rt, key) != 0 || completed_borrow(rt, key) != 0)
        return -1;
    int rc = process_event(rt, key, fields, stream, ts, seq, cb, user);
    completed_return(rt, key);
    key_shrink(rt, key);
    return rc;
}

static int process_event(weir_pattern_runtime *rt, weir_pattern_key *key,
                         const weir_value *fields, unsigned stream, int64_t ts, uint64_t seq,
                         weir_match_cb cb, void *user)
{
    const stream_info *si = find_stream(rt, stream);
    if (!key->has_now || ts > key->now)
        if (advance_time(rt, key, ts, cb, user) != 0)
            return -1;
    if (!si) {
        /* with one input, an event of another stream is not the rule's;
         * with several, it is one of an input no step reads: it takes
         * no step (every condition tests the stream) but is an event */
        if (rt->plan->ast->n_inputs <= 1)
            return 0;
        rt->other.stream = stream;
        si = &rt->other;
    }
    if (key_unpack(rt, key) != 0 || reserve_process(rt, key, fields, si) != 0)
        return -1;

    rt->ev_fields = fields;
    rt->ev_info = si;
    rt->ev_stream = stream;
    rt->ev_ts = ts;
    rt->ev_seq = seq;
    rt->ev_stored = NULL;
    rt->gen_event++;
    memset(rt->slots, 0, rt->n_steps * sizeof *rt->slots);
    rt->sh.slots = rt->slots;
    rt->n_out = 0;

    /* NFA.doProcess: each run in heap order; the runs it becomes go to the
     * new partial matches, the completed ones to the potential matches;
     * one that reaches a stop state discards the others from its parent */
    size_t n = key->partial.n;
    for (size_t i = 0; i < n; i++) {
        run *cs = jheap_arr(&key->partial)[i];
        if (is_start_tag(cs))
            cs = start_tag_run(rt, cs);
        size_t first = rt->n_out;
        compute_next_states(rt, key, cs);
        bool discard = false;
        for (size_t j = first; j < rt->n_out; j++) {
            out_item *o = &rt->out[j];
            if (o->kind == OUT_STOP) {
                discard = true;
                o->dropped = true;
                run_drop(rt, key, o->r);
                o->r = NULL;
            }
        }
        if (discard)
            for (size_t j = first; j < rt->n_out; j++) {
                out_item *o = &rt->out[j];
                if (!o->dropped && o->kind == OUT_RETAIN) {
                    o->dropped = true;
                    run_drop(rt, key, o->r);
                    o->r = NULL;
                }
            }
        run_free(rt, key, cs);
    }
    key->partial.n = 0;
    if (rt->has_reluctant)
        reluctant_filter(rt, key);

    rt->newp.n = 0;
    rt->pot.n = 0;
    for (size_t j = 0; j < rt->n_out; j++) {
        out_item *o = &rt->out[j];
        if (o->dropped)
            continue;
        jheap_add(o->kind == OUT_FINAL ? &rt->pot : &rt->newp, o->r);
    }
    rt->n_out = 0;
    process_matches(rt, key, &rt->pot, &rt->newp, cb, user);
    take_heap(rt, &key->partial, &rt->newp);

    rt->sh.slots = NULL;
    if (rt->ev_stored)
        weir_mb_event_release(&key->ext->buf, rt->ev_stored); /* EventWrapper.close */
    rt->ev_stored = NULL;
    key_pack(rt, key); /* its event held by its node alone now */
    rt->ev_fields = NULL;
    return 0;
}

/* ---------------------------------------------------------------- keys */

/* An empty key state: keys are many and small, so they come from the
 * runtime's pool rather than one malloc each (no chunk header). */
static weir_pattern_key *key_alloc(weir_pattern_runtime *rt)
{
    weir_pattern_key *key = weir_pool_get(&rt->keys);
    if (!key)
        return NULL;
    memset(key, 0, sizeof *key);
    key->ext = weir_pool_get(&rt->exts);
    if (!key->ext) {
        weir_pool_put(&rt->keys, key);
        return NULL;
    }
    weir_match_buffer_init(&key->ext->buf, &rt->sh);
    key->ext->completed = NULL;
    return key;
}

weir_pattern_key *weir_pattern_key_new(weir_pattern_runtime *rt)
{
    weir_pattern_key *key = key_alloc(rt);
    if (!key)
        return NULL;
    if (jheap_reserve(rt, &key->partial, 2) != 0) {
        weir_pattern_key_free(rt, key);
        return NULL;
    }
    /* NFA.createInitialNFAState: one run in the start state, version 1,
     * which is held in 64 bits: a tag */
    jheap_add(&key->partial, start_tag(weir_dewey_new(&key->ext->buf, 1)));
    return key;
}

void weir_pattern_key_free(weir_pattern_runtime *rt, weir_pattern_key *key)
{
    if (!key)
        return;
    if (!key->ext) { /* shrunk: start tags and its packed run alone */
        weir_match_buffer b = shrunk_buffer(rt, key);
        packed_run *p = key_packed(key);
        weir_mb_event_release(&b, p->single.event);
        weir_dewey_release(&b, p->single.edge_version);
        weir_pool_put(&rt->packs, p);
        jheap_fini(rt, &key->partial);
        weir_pool_put(&rt->keys, key);
        return;
    }
    for (size_t i = 0; i < key->partial.n; i++) {
        run *r = jheap_arr(&key->partial)[i];
        if (is_packed(r)) {
            packed_run *p = packed_of(r);
            weir_mb_event_release(&key->ext->buf, p->single.event);
            weir_dewey_release(&key->ext->buf, p->single.edge_version);
            weir_pool_put(&rt->packs, p);
        } else if (!is_start_tag(r)) {
            run_free(rt, key, r);
        }
    }
    jheap *done = key->ext->completed;
    for (size_t i = 0; done && i < done->n; i++)
        run_free(rt, key, jheap_arr(done)[i]);
    weir_match_buffer_clear(&key->ext->buf);
    weir_pool_put(&rt->exts, key->ext);
    jheap_fini(rt, &key->partial);
    if (done == &rt->completed_work) {
        done->n = 0; /* freed during a call: the array stays the runtime's */
    } else if (done) {
        jheap_fini(rt, done);
        weir_pool_put(&rt->held_heaps, done);
    }
    weir_pool_put(&rt->keys, key);
}

int64_t weir_pattern_key_next_deadline(const weir_pattern_runtime *rt,
                                       const weir_pattern_key *key)
{
    int64_t best = INT64_MAX;
    int64_t within_ms = rt->nfa->has_within && rt->nfa->within_ms > 0 ? rt->nfa->within_ms : 0;
    if (within_ms <= 0)
        return best;
    for (size_t i = 0; i < key->partial.n; i++) {
        const run *r = jheap_arr(&key->partial)[i];
        if (is_start_tag(r))
            continue;
        run unpacked;
        if (is_packed(r)) {
            packed_fill(&unpacked, packed_of(r), NULL);
            r = &unpacked;
        }
        /* the start state never times out; and only a run timed_out()
         * would drop may set a deadline, or a run it keeps (a restored
         * state that was not weir's) would re-arm its timer at the same
         * instant for ever */
        if ((!r->has_start && !r->node) || kind_of(rt, r) == WEIR_NFA_START)
            continue;
        int64_t d = r->start_ts > INT64_MAX - within_ms ? INT64_MAX : r->start_ts + within_ms;
        if (d < best)
            best = d;
    }
    /* A key advanced to `now` has timed out every run due by then, so its
     * deadline is later; a restored state that was not weir's may say
     * otherwise, and weir_pattern_advance ignores times before now: its
     * timer would fire at the same instant for ever. */
    if (key->has_now && best <= key->now)
        best = key->now == INT64_MAX ? INT64_MAX : key->now + 1;
    return best;
}

bool weir_pattern_key_idle(const weir_pattern_key *key)
{
    if (key->ext && key->ext->completed && key->ext->completed->n > 0)
        return false;
    for (size_t i = 0; i < key->partial.n; i++)
        if (is_packed(jheap_arr(&key->partial)[i]) ||
            (!is_start_tag(jheap_arr(&key->partial)[i]) &&
             (jheap_arr(&key->partial)[i]->has_start || jheap_arr(&key->partial)[i]->node)))
            return false;
    return true;
}

size_t weir_pattern_key_bytes(const weir_pattern_key *key)
{
    const packed_run *p = key->ext ? NULL : key_packed(key);
    size_t buf = key->ext ? sizeof(key_ext) + weir_match_buffer_bytes(&key->ext->buf)
                 : p      ? weir_mb_event_bytes(p->single.event)
                          : 0;
    const jheap *done = key->ext ? key->ext->completed : NULL;
    return sizeof *key + buf + key->n_runs * sizeof(run) +
           key->packed * sizeof(packed_run) +
           (key->partial.cap > JHEAP_INLINE ? key->partial.cap * sizeof(run *) : 0) +
           (done ? sizeof(jheap) + (done->cap > JHEAP_INLINE ? done->cap * sizeof(run *) : 0)
                 : 0);
}

size_t weir_pattern_key_partials(const weir_pattern_key *key)
{
    size_t n = key->ext && key->ext->completed ? key->ext->completed->n : 0;
    for (size_t i = 0; i < key->partial.n; i++)
        if (is_packed(jheap_arr(&key->partial)[i]) ||
            (!is_start_tag(jheap_arr(&key->partial)[i]) &&
             (jheap_arr(&key->partial)[i]->has_start || jheap_arr(&key->partial)[i]->node)))
            n++;
    return n;
}

size_t weir_pattern_key_events(const weir_pattern_key *key)
{
    return key->ext ? key->ext->buf.n_events : key->packed;
}

/* ----------------------------------------------------------- snapshots */

static const weir_mb_layout *stream_layout(void *user, unsigned stream)
{
    const stream_info *si = find_stream(user, stream);
    return si ? &si->lay : NULL;
}

/* unpacked: the run a packed entry stands for (its node the saved buffer's) */
static void save_runs(const weir_pattern_runtime *rt, snap_out *o, const jheap *h,
                      const weir_mb_saved *ids, const run *unpacked)
{
    snap_put_uvar(o, h->n);
    for (uint32_t i = 0; i < h->n; i++) { /* array order: the heap as it is */
        const run *r = jheap_arr(h)[i];
        run start;
        if (is_start_tag(r)) {
            start = (run){.state = rt->nfa->start, .version = start_tag_version(r), .start_ts = -1};
            r = &start;
        } else if (is_packed(r)) {
            r = unpacked;
        }
        unsigned char *b = snap_out_reserve(o, 10 * SNAP_MAX_UVAR);
        if (!b)
            return;
        b = snap_raw_uvar(b, r->state);
        b = snap_raw_uvar(b, r->anchor);
        b = snap_raw_uvar(b, r->rel_count);
        b = snap_raw_uvar(b, r->depth);
        b = snap_raw_u8(b, r->has_start);
        b = snap_raw_uvar(b, r->node ? (uint64_t)snap_ids_get(ids->nodes, r->node) + 1 : 0);
        b = snap_raw_uvar(b, snap_ids_get(ids->deweys, weir_dewey_key(r->version)));
        b = snap_raw_time(b, r->start_ts, o->time_base);
        /* the start event id's timestamp: the start time (0 without one) */
        b = snap_raw_time(b, r->has_start ? r->start_ts : 0, o->time_base);
        b = snap_raw_uvar(b, r->sid_seq);
        snap_out_commit(o, b);
    }
}

int weir_pattern_key_save(weir_pattern_runtime *rt, const weir_pattern_key *key, snap_out *o)
{
    static const jheap no_runs = {0};
    const jheap *done = key->ext && key->ext->completed ? key->ext->completed : &no_runs;
    size_t n = (size_t)key->partial.n + done->n;
    if (weir_mb_grow((void **)&rt->save_versions, &rt->save_versions_cap, n ? n : 1,
                     sizeof *rt->save_versions) != 0)
        return -1;
    weir_dewey *versions = rt->save_versions;
    size_t k = 0;
    /* a packed run is saved as the run, node and edge it stands for, made
     * on the stack: the key itself does not change */
    weir_match_buffer shrunk;
    if (!key->ext)
        shrunk = shrunk_buffer(rt, key);
    const weir_match_buffer *buf = key->ext ? &key->ext->buf : &shrunk;
    weir_match_buffer with_node;
    weir_mb_node node;
    weir_mb_edge edge;
    run unpacked;
    for (uint32_t i = 0; i < key->partial.n; i++) {
        const run *r = jheap_arr(&key->partial)[i];
        if (is_start_tag(r)) {
            versions[k++] = start_tag_version(r);
            continue;
        }
        if (is_packed(r)) {
            const packed_run *p = packed_of(r);
            edge = (weir_mb_edge){.version = p->single.edge_version, .locks = 1};
            node = (weir_mb_node){.event = p->single.event, .edges = &edge, .edges_tail = &edge,
                                  .step = p->single.step, .locks = 1};
            packed_fill(&unpacked, p, &node);
            with_node = *buf;
            with_node.live = &node;
            with_node.n_nodes = 1;
            with_node.n_edges = 1;
            buf = &with_node;
            r = &unpacked;
        }
        versions[k++] = r->version;
    }
    for (uint32_t i = 0; i < done->n; i++)
        versions[k++] = jheap_arr(done)[i]->version;
    snap_put_time(o, key->now);
    snap_put_u8(o, key->has_now);
    snap_put_uvar(o, key->next_anchor);
    weir_mb_saved ids;
    int rc = weir_mb_save(buf, versions, n, stream_layout, rt, o, &ids);
    if (rc == 0) {
        save_runs(rt, o, &key->partial, &ids, &unpacked);
        save_runs(rt, o, done, &ids, &unpacked);
    }
    return rc == 0 && !o->failed ? 0 : -1;
}

static int load_runs(weir_pattern_runtime *rt, weir_pattern_key *key, jheap *h, snap_in *in,
                     weir_mb_loaded *ld)
{
    size_t n = snap_get_count(in, 10);
    if (!snap_in_ok(in) || jheap_reserve(rt, h, n ? n : 1) != 0 ||
        weir_pool_reserve(&rt->runs, n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t state = snap_get_uvar(in);
        uint64_t anchor = snap_get_uvar(in);
        uint64_t rel_count = snap_get_uvar(in);
        uint64_t depth = snap_get_uvar(in);
        uint8_t has_start = snap_get_u8(in);
        uint64_t node = snap_get_uvar(in);
        uint64_t version = snap_get_uvar(in);
        int64_t start_ts = snap_get_time(in);
        int64_t sid_ts = snap_get_time(in);
        uint64_t sid_seq = snap_get_uvar(in);
        if (snap_in_ok(in) &&
            (state >= rt->nfa->n_states || anchor > UINT32_MAX || rel_count > UINT32_MAX ||
             depth > INT32_MAX || has_start > 1 || node > ld->n_nodes ||
             version >= ld->n_deweys || (has_start && sid_ts != start_ts)))
            snap_fail(in, "bad partial match");
        if (!snap_in_ok(in))
            return -1;
        run *r = run_new(rt, key);
        r->state = (uint32_t)state;
        r->anchor = (uint32_t)anchor;
        r->rel_count = (uint32_t)rel_count;
        r->depth = (uint32_t)depth;
        r->has_start = has_start;
        r->node = node ? ld->nodes[node - 1] : NULL;
        if (node)
            ld->refs[node - 1]++; /* n_runs of a key: below 2^32 */
        r->version = weir_dewey_ref(ld->deweys[version]);
        r->start_ts = start_ts;
        r->sid_seq = sid_seq;
        jheap_arr(h)[h->n++] = r;
    }
    return 0;
}

weir_pattern_key *weir_pattern_key_load(weir_pattern_runtime *rt, snap_in *in)
{
    weir_pattern_key *key = key_alloc(rt);
    if (!key)
        return NULL;
    key->now = snap_get_time(in);
    uint8_t has_now = snap_get_u8(in);
    uint64_t anchor = snap_get_uvar(in);
    if (snap_in_ok(in) && (has_now > 1 || anchor > INT32_MAX))
        snap_fail(in, "bad pattern state");
    key->has_now = has_now != 0;
    key->next_anchor = (uint32_t)anchor;
    weir_mb_loaded ld;
    if (!snap_in_ok(in) || weir_mb_load(&key->ext->buf, in, rt->n_steps, stream_layout, rt, &ld) != 0) {
        weir_pool_put(&rt->keys, key);
        return NULL;
    }
    int rc = weir_pool_reserve(&rt->held_heaps, 1);
    if (rc == 0) {
        key->ext->completed = weir_pool_get(&rt->held_heaps);
        *key->ext->completed = (jheap){0};
        rc = load_runs(rt, key, &key->partial, in, &ld);
    }
    if (rc == 0)
        rc = load_runs(rt, key, key->ext->completed, in, &ld);
    if (rc == 0)
        rc = weir_mb_loaded_check_locks(&ld, in);
    weir_mb_loaded_fini(&key->ext->buf, &ld);
    if (rc == 0 && key->partial.n == 0) {
        snap_fail(in, "pattern state without its start state");
        rc = -1;
    }
    if (rc == 0 && key->ext->completed->n == 0) { /* lent by the runtime when needed */
        jheap_fini(rt, key->ext->completed);
        weir_pool_put(&rt->held_heaps, key->ext->completed);
        key->ext->completed = NULL;
    }
    if (rc != 0) {
        weir_pattern_key_free(rt, key);
        return NULL;
    }
    start_tags_fold(rt, key);
    key_pack(rt, key);
    key_shrink(rt, key);
    return key;
}

/* -------------------------------------------------------------- runtime */

/* Does the program read earlier steps' events? */
static bool uses_match(const weir_expr_program *p)
{
    if (!p)
        return false;
    for (uint32_t i = 0; i < p->n_code; i++) {
        switch ((weir_opcode)p->code[i].op) {
        case WEIR_OP_STEP_FIELD:
        case WEIR_OP_STEP_COUNT:
        case WEIR_OP_STEP_AGG:
        case WEIR_OP_STEP_CDIST_I64:
        case WEIR_OP_STEP_CDIST_F64:
        case WEIR_OP_STEP_CDIST_STR:
        case WEIR_OP_STEP_CDIST_BOOL:
            return true;
        default:
            break;
        }
    }
    return false;
}

/* Turns each edge's postfix program into a tree. */
static int build_conditions(weir_pattern_runtime *rt)
{
    const weir_nfa *nfa = rt->nfa;
    rt->ctree = calloc(nfa->n_conds ? nfa->n_conds : 1, sizeof *rt->ctree);
    rt->edge_root = calloc(nfa->n_edges ? nfa->n_edges : 1, sizeof *rt->edge_root);
    int32_t *stack = calloc(nfa->n_conds + 1, sizeof *stack);
    if (!rt->ctree || !rt->edge_root || !stack) {
        free(stack);
        return -1;
    }
    int rc = 0;
    for (uint32_t e = 0; e < nfa->n_edges && rc == 0; e++) {
        const weir_nfa_edge *edge = &nfa->edges[e];
        uint32_t top = 0;
        for (uint32_t k = 0; k < edge->cond_len; k++) {
            const weir_nfa_cond *c = &nfa->conds[edge->cond + k];
            ctree *t = &rt->ctree[rt->n_ctree];
            t->op = c->op;
            t->arg = c->arg;
            t->a = t->b = -1;
            if (c->op == WEIR_COND_NOT) {
                if (top < 1) {
                    rc = -1;
                    break;
                }
                t->a = stack[--top];
            } else if (c->op == WEIR_COND_AND || c->op == WEIR_COND_OR) {
                if (top < 2) {
                    rc = -1;
                    break;
                }
                t->b = stack[--top];
                t->a = stack[--top];
            }
            stack[top++] = (int32_t)rt->n_ctree++;
        }
        if (rc == 0 && top != 1)
            rc = -1;
        if (rc == 0)
            rt->edge_root[e] = stack[0];
    }
    free(stack);
    return rc;
}

/* Upper bounds per state over its decision graph (every PROCEED taken),
 * and the stack depth a search from it needs. Returns -1 on a PROCEED
 * cycle (the compiler refuses those) or absurd sizes. */
enum { VISIT_NONE, VISIT_OPEN, VISIT_DONE };
#define BOUND_LIMIT (1u << 20)

static int bound_state(weir_pattern_runtime *rt, uint32_t s, uint8_t *mark, uint32_t *visits)
{
    if (mark[s] == VISIT_DONE)
        return 0;
    if (mark[s] == VISIT_OPEN)
        return -1;
    mark[s] = VISIT_OPEN;
    const weir_nfa *nfa = rt->nfa;
    const weir_nfa_state *st = &nfa->states[s];
    uint64_t out = 0, take = 0, vis = 1;
    for (uint32_t k = 0; k < st->n_edges; k++) {
        const weir_nfa_edge *e = &nfa->edges[st->first_edge + k];
        if (e->action == WEIR_NFA_PROCEED) {
            if (bound_state(rt, e->target, mark, visits) != 0)
                return -1;
            out += rt->max_out[e->target];
            take += rt->max_take[e->target];
            vis += visits[e->target] + st->n_edges;
        } else {
            out++;
            take += e->action == WEIR_NFA_TAKE;
        }
    }
    if (out > BOUND_LIMIT || vis > BOUND_LIMIT)
        return -1;
    rt->max_out[s] = (uint32_t)out;
    rt->max_take[s] = (uint32_t)take;
    visits[s] = (uint32_t)vis;
    mark[s] = VISIT_DONE;
    return 0;
}

static bool group_contains(const weir_nfa *nfa, uint32_t outer, uint32_t inner)
{
    const weir_nfa_group *g = &nfa->groups[outer], *h = &nfa->groups[inner];
    return inner >= outer && h->first_step >= g->first_step &&
           h->first_step + h->n_steps <= g->first_step + g->n_steps;
}

/* The reluctant element of each state (see the top of the file). */
static void find_reluctant(weir_pattern_runtime *rt)
{
    const weir_nfa *nfa = rt->nfa;
    for (uint32_t s = 0; s < nfa->n_states; s++) {
        const weir_nfa_state *st = &nfa->states[s];
        uint32_t e = 0;
        if (st->group >= 0)
            for (uint32_t g = 0; g < nfa->n_groups && !e; g++)
                if (nfa->groups[g].elem && nfa->groups[g].elem->quant.reluctant &&
                    group_contains(nfa, g, (uint32_t)st->group))
                    e = rt->n_steps + 1 + g;
        if (!e && st->reluctant && st->step >= 0)
            e = (uint32_t)st->step + 1;
        rt->rel_elem[s] = e;
    }
    /* a reluctant group's loop-back state lies outside the group: it
     * belongs to the element of the group's first state */
    for (uint32_t s = 0; s < nfa->n_states; s++) {
        const weir_nfa_state *st = &nfa->states[s];
        if (!st->reluctant || st->step >= 0 || rt->rel_elem[s])
            continue;
        for (uint32_t k = 0; k < st->n_edges; k++) {
            const weir_nfa_edge *e = &nfa->edges[st->first_edge + k];
            if (e->action == WEIR_NFA_PROCEED && rt->rel_elem[e->target]) {
                rt->rel_elem[s] = rt->rel_elem[e->target];
                break;
            }
        }
    }
    for (uint32_t s = 0; s < nfa->n_states; s++)
        rt->has_reluctant |= rt->rel_elem[s] != 0;
}

/* Stored copies of the stream's events hold its first `width` fields. */
static void stream_set_width(stream_info *si, uint32_t width)
{
    si->lay.width = width < si->lay.n_fields ? width : si->lay.n_fields;
    uint32_t n = 0;
    while (n < si->n_all_strings && si->strings[n] < si->lay.width)
        n++;
    si->lay.n_strings = n;
}

static int add_stream(weir_pattern_runtime *rt, unsigned stream, const ast_stream *as)
{
    if (find_stream(rt, stream))
        return 0;
    stream_info *si = &rt->streams[rt->n_streams];
    memset(si, 0, sizeof *si);
    si->stream = stream;
    uint32_t n = as ? as->n_fields : 0;
    si->strings = calloc(n ? n : 1, sizeof *si->strings);
    si->types = calloc(n ? n : 1, sizeof *si->types);
    if (!si->strings || !si->types) {
        free(si->strings);
        free(si->types);
        return -1;
    }
    rt->n_streams++;
    if (as)
        for (const ast_field *f = as->fields; f; f = f->next)
            if (f->index < n)
                si->types[f->index] = f->type;
    for (uint32_t i = 0; i < n; i++)
        if (si->types[i] == WEIR_T_STRING)
            si->strings[si->n_all_strings++] = i;
    si->lay = (weir_mb_layout){
        .n_fields = n,
        .types = si->types,
        .strings = si->strings,
        .time_field = weir_stream_time_field(as),
    };
    stream_set_width(si, n);
    return 0;
}

void weir_pattern_runtime_store_width(weir_pattern_runtime *rt, unsigned stream, uint32_t width)
{
    for (uint32_t i = 0; i < rt->n_streams; i++)
        if (rt->streams[i].stream == stream)
            stream_set_width(&rt->streams[i], width);
}

weir_pattern_runtime *weir_pattern_runtime_new(const weir_rule_plan *plan)
{
    if (!plan || !plan->nfa || !plan->ast)
        return NULL;
    weir_pattern_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    const weir_nfa *nfa = plan->nfa;
    rt->plan = plan;
    rt->nfa = nfa;
    rt->n_steps = nfa->n_steps;
    rt->n_groups = nfa->n_groups;
    weir_mb_shared_init(&rt->sh);
    _Static_assert(_Alignof(run) <= WEIR_POOL_ALIGN &&
                       _Alignof(weir_pattern_key) <= WEIR_POOL_ALIGN &&
                       _Alignof(run *) <= WEIR_POOL_ALIGN,
                   "pooled blocks need no more than WEIR_POOL_ALIGN");
    weir_pool_init(&rt->runs, sizeof(run), 128);
    weir_pool_init(&rt->packs, sizeof(packed_run), 128);
    weir_pool_init(&rt->held_heaps, sizeof(jheap), 64);
    weir_pool_init(&rt->exts, sizeof(key_ext), 128);
    weir_pool_init(&rt->keys, sizeof(weir_pattern_key), 128);
    for (size_t k = 0, cap = 2 * JHEAP_INLINE; k < JHEAP_CLASSES; k++, cap *= 2)
        weir_pool_init(&rt->heap_pool[k], cap * sizeof(run *), 4096 / (cap * sizeof(run *)));
    rt->scratch.buf = rt->scratch_buf;
    rt->scratch.cap = sizeof rt->scratch_buf;
    rt->gen_event = rt->gen_run = 1;

    uint32_t ns = rt->n_steps, nst = nfa->n_states;
    rt->n_leaves = 2 * ns + rt->n_groups;
    size_t nl = rt->n_leaves ? rt->n_leaves : 1;
    rt->leaf_prog = calloc(nl, sizeof *rt->leaf_prog);
    rt->leaf_stream = calloc(nl, sizeof *rt->leaf_stream);
    rt->leaf_uses_match = calloc(nl, sizeof *rt->leaf_uses_match);
    rt->leaf_gen = calloc(nl, sizeof *rt->leaf_gen);
    rt->leaf_val = calloc(nl, sizeof *rt->leaf_val);
    rt->max_out = calloc(nst, sizeof *rt->max_out);
    rt->max_take = calloc(nst, sizeof *rt->max_take);
    rt->rel_elem = calloc(nst, sizeof *rt->rel_elem);
    rt->streams = calloc(ns ? ns : 1, sizeof *rt->streams);
    rt->slots = calloc(ns ? ns : 1, sizeof *rt->slots);
    rt->vcur = calloc(ns ? ns : 1, sizeof *rt->vcur);
    rt->cview.first = calloc(ns + 1, sizeof *rt->cview.first);
    rt->mview.first = calloc(ns + 1, sizeof *rt->mview.first);
    uint8_t *mark = calloc(nst ? nst : 1, 1);
    uint32_t *visits = calloc(nst ? nst : 1, sizeof *visits);
    bool ok = rt->leaf_prog && rt->leaf_stream && rt->leaf_uses_match && rt->leaf_gen &&
              rt->leaf_val && rt->max_out && rt->max_take && rt->rel_elem && rt->streams &&
              rt->slots && rt->vcur && rt->cview.first && rt->mview.first && mark && visits;
    ok = ok && build_conditions(rt) == 0;
    for (uint32_t s = 0; ok && s < nst; s++)
        ok = bound_state(rt, s, mark, visits) == 0;
    if (ok) {
        uint32_t dg = 1;
        for (uint32_t s = 0; s < nst; s++) {
            if (rt->max_out[s] > dg)
                dg = rt->max_out[s];
            if (visits[s] > rt->dfs_max)
                rt->dfs_max = visits[s];
        }
        rt->dg_cap = dg;
        rt->stack_cap = (size_t)rt->dfs_max + nst + 1;
        rt->dg = calloc(rt->dg_cap, sizeof *rt->dg);
        rt->stack = calloc(rt->stack_cap, sizeof *rt->stack);
        ok = rt->dg && rt->stack;
    }
    free(mark);
    free(visits);
    for (uint32_t s = 0; ok && s < ns; s++) {
        const weir_step_plan *sp = &plan->steps[s];
        rt->leaf_prog[s] = sp->where;
        rt->leaf_prog[ns + s] = sp->until;
        rt->leaf_stream[s] = rt->leaf_stream[ns + s] = sp->stream;
        rt->leaf_uses_match[s] = uses_match(sp->where);
        rt->leaf_uses_match[ns + s] = uses_match(sp->until);
        const ast_stream *as = s < plan->ast->n_steps && plan->ast->steps
                                   ? plan->ast->steps[s]->stream : NULL;
        ok = add_stream(rt, sp->stream, as) == 0;
    }
    for (uint32_t g = 0; ok && g < rt->n_groups; g++) {
        const weir_expr_program *p = plan->group_until ? plan->group_until[g] : NULL;
        uint32_t first = nfa->groups[g].first_step;
        rt->leaf_prog[2 * ns + g] = p;
        rt->leaf_stream[2 * ns + g] = first < ns ? plan->steps[first].stream : 0;
        rt->leaf_uses_match[2 * ns + g] = uses_match(p);
    }
    if (ok) {
        bool *closure = calloc(nst ? nst : 1, sizeof *closure);
        ok = closure != NULL;
        if (ok)
            rt->start_is_plain = start_closure_is_plain(rt, closure);
        free(closure);
    }
    if (!ok) {
        weir_pattern_runtime_free(rt);
        return NULL;
    }
    find_reluctant(rt);
    rt->cview.n_steps = rt->mview.n_steps = ns;
    rt->cself.rt = rt;
    rt->cmatch.ops = &lazy_ops;
    rt->cmatch.self = &rt->cself;
    rt->mmatch.ops = &view_ops;
    rt->mmatch.self = &rt->mview;
    return rt;
}

void weir_pattern_runtime_free(weir_pattern_runtime *rt)
{
    if (!rt)
        return;
    weir_mb_shared_fini(&rt->sh);
    weir_pool_fini(&rt->runs);
    weir_pool_fini(&rt->packs);
    free(rt->ctree);
    free(rt->edge_root);
    free(rt->leaf_prog);
    free(rt->leaf_stream);
    free(rt->leaf_uses_match);
    free(rt->leaf_gen);
    free(rt->leaf_val);
    free(rt->max_out);
    free(rt->max_take);
    free(rt->rel_elem);
    for (uint32_t i = 0; i < rt->n_streams; i++) {
        free(rt->streams[i].strings);
        free(rt->streams[i].types);
    }
    free(rt->streams);
    free(rt->slots);
    free(rt->vcur);
    free(rt->cview.first);
    free(rt->cview.vals);
    free(rt->mview.first);
    free(rt->mview.vals);
    free(rt->dg);
    free(rt->stack);
    free(rt->out);
    jheap_fini(rt, &rt->newp);
    jheap_fini(rt, &rt->pot);
    jheap_fini(rt, &rt->completed_work);
    weir_pool_fini(&rt->held_heaps);
    weir_pool_fini(&rt->exts);
    free(rt->save_versions);
    weir_pool_fini(&rt->keys);
    for (size_t k = 0; k < JHEAP_CLASSES; k++)
        weir_pool_fini(&rt->heap_pool[k]);
    free(rt->mev);
    free(rt->mpairs);
    free(rt->tpairs);
    free(rt->tmo);
    free(rt);
}

void weir_pattern_runtime_set_memory(weir_pattern_runtime *rt,
                                     const struct weir_key_memory *memory)
{
    rt->memory = memory;
}

size_t weir_pattern_runtime_bytes(const weir_pattern_runtime *rt)
{
    size_t n = sizeof *rt + weir_mb_shared_bytes(&rt->sh) + rt->runs.slab_bytes +
               rt->packs.slab_bytes + rt->held_heaps.slab_bytes + rt->exts.slab_bytes +
               rt->keys.slab_bytes;
    for (size_t k = 0; k < JHEAP_CLASSES; k++)
        n += rt->heap_pool[k].slab_bytes;
    n += rt->n_ctree * sizeof *rt->ctree + rt->nfa->n_edges * sizeof *rt->edge_root;
    n += rt->out_cap * sizeof *rt->out + (rt->newp.cap + rt->pot.cap) * sizeof(run *);
    n += (rt->cvals_cap + rt->mvals_cap) * sizeof(weir_value *) +
         rt->mev_cap * sizeof *rt->mev + rt->mpairs_cap * sizeof *rt->mpairs +
         rt->tpairs_cap * sizeof *rt->tpairs + rt->tmo_cap * sizeof *rt->tmo;
    n += (rt->dg_cap + rt->stack_cap) * sizeof(uint32_t);
    return n;
}
