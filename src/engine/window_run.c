/* window_run.c — the window runtime: panes, firing, string copies (see
 * window_run.h for the semantics).
 *
 * A key's pending state is a ring of panes, oldest first, in fixed-size
 * slots. Events come in timestamp order, so a new event always lands in
 * the newest pane or in a new pane appended at the tail, and windows fire
 * from the head: both ends are O(1), nothing is searched or shifted, and
 * the panes a window merges sit next to each other in memory (keys are
 * many and cold: the cache misses of chasing separately allocated panes
 * were most of the cost). Slots are reused in place when panes leave,
 * buffers included, and the ring only grows (by doubling): that is the
 * key's free list, so steady state allocates nothing.
 *
 * Memory layout. Most live keys hold one pane (a card with a payment in
 * the last few minutes), and there are millions of them, so:
 *   - the ring's first slot is part of the key's own allocation, right
 *     after its fields (61 bytes, by decreasing alignment so nothing is
 *     padded): a key with one pane is one malloc. When a second pane is
 *     needed the ring moves to a block of its own and the inline slot,
 *     unused from then on, holds that block's address;
 *   - fields only some window kinds use share room: count windows keep
 *     since_fire where time windows keep next_k;
 *   - a slot holds the pane's header (48 bytes), then each aggregate's
 *     state packed to what its kind uses, after a word holding n with the
 *     overflow flag in its top bit: count 8 bytes, sum and avg 16, min,
 *     max, first and last 24, count distinct 16 (a weir_agg_state has room
 *     for every kind: 32). The aggregate ops take whole states, so each
 *     use unpacks one onto the stack and packs it back (pane_unpack(),
 *     pane_pack()). Then one string-copy buffer per aggregate that keeps a
 *     string value.
 * card_velocity's key (count() and sum(), one pane) is 64 + 72 = 136
 * bytes, a 144-byte malloc chunk.
 *
 * Time windows. Pane j covers [j*P, (j+1)*P) with P = gcd(SIZE, SLIDE);
 * window k covers [k*SLIDE, k*SLIDE + SIZE). The key remembers next_k, the
 * first window not fired yet. The next window to fire is the later of
 * next_k and the first window that contains the oldest pane (windows
 * before it hold no event: they do not exist). After window k fires, the
 * panes that start before window k+1 are no longer needed and leave the
 * ring. Boundary arithmetic is done in __int128 and saturated to int64
 * when reported, so no timestamp can overflow it.
 *
 * Firing merges the window's panes into the runtime's scratch states
 * (acc) with the aggregates' merge(), oldest first as merge() requires,
 * then takes result() of each; a window of one pane (tumbling windows,
 * sessions) unpacks that pane's states into acc, still owned by the pane.
 * `when` and the emit fields are then evaluated over the results. */
#include "engine/window_run.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eval.h"

/* Bytes for lower()/upper() results while evaluating one event's
 * arguments, or one window's `when` and emit fields. */
#define SCRATCH_BYTES 4096
/* Estimated bytes per member of a count distinct set (the slot and a share
 * of the table's slack): only for weir_window_key_bytes(). */
#define SET_MEMBER_BYTES 32

/* A copy of the string value a min/max/first/last state holds. */
typedef struct str_copy {
    char *buf;  /* owned by the slot; kept when the pane leaves */
    size_t cap;
} str_copy;

/* How a pane stores one aggregate's state. A weir_agg_state has room for
 * every kind (32 bytes); a pane keeps only what its kind uses, after a word
 * holding n (never negative: the runtime never calls remove()) with the
 * overflow flag in its top bit. */
typedef enum packing {
    PACK_COUNT, /* count: the word alone */
    PACK_SUM,   /* sum, avg: the word, sum_i or sum_f */
    PACK_VALUE, /* min, max, first, last: the word, v */
    PACK_SET,   /* count distinct: the word, set */
} packing;

#define OVERFLOW_BIT ((uint64_t)1 << 63)

typedef struct pane {
    int64_t index;       /* time windows: the pane covers [index*P,
                            (index+1)*P) */
    int64_t n_events;    /* events folded in, > 0 while in use */
    weir_millis min_ts;  /* times of its earliest and latest event */
    weir_millis max_ts;
    uint64_t first_seq;  /* seq of its first and last event */
    uint64_t last_seq;
    uint64_t data[];     /* the packed states (see packed_slot), then the
                            string copies */
} pane;

/* Where and how a pane keeps one aggregate's state. */
typedef struct packed_slot {
    uint32_t offset;     /* bytes from the start of the pane */
    packing how;
} packed_slot;

struct weir_window_runtime {
    const weir_window_plan *plan; /* borrowed */
    ast_window_kind kind;
    int64_t pane_ms;     /* time windows: gcd(size, slide) */
    int64_t size_ms;
    int64_t slide_ms;    /* = size for tumbling windows */
    int64_t gap_ms;
    int64_t count_size;  /* count windows, in events */
    int64_t count_slide;
    int64_t count_pane;  /* gcd(count_size, count_slide) */
    unsigned n_aggs;
    unsigned n_str;      /* aggregates that keep a string value */
    int *str_slot;       /* owned, per aggregate slot: index of its string
                            copy in a pane, or -1 */
    packed_slot *packed; /* owned, per aggregate slot */
    pane *blank;         /* owned, strs_offset bytes: a new pane, its
                            states as init() leaves them */
    size_t strs_offset;  /* of the string copies in a pane */
    size_t pane_bytes;   /* one ring slot: header, states, string copies */
    weir_agg_state *acc; /* owned, n_aggs: a window's states, merged from
                            its panes or unpacked from its lone pane */
    weir_value *results; /* owned, n_aggs */
    weir_value *emit;    /* owned, plan->n_emit */
    char *scratch_buf;   /* owned, SCRATCH_BYTES */
    weir_eval_scratch scratch;
    /* The value of the key being run, for `when` and emit: the event's key
     * field while an event is added, the caller's while time passes (a
     * key does not keep a copy: the engine's entry has it). */
    const weir_value *cur_key;
};

/* Fields by decreasing alignment, so none is padded: 61 bytes, the inline
 * slot at 64. */
struct weir_window_key {
    union {              /* by window kind: each uses one */
        __int128 next_k; /* time windows: first window not fired yet */
        int64_t since_fire; /* count windows: events taken since the last
                               firing, < count_slide */
    };
    weir_millis deadline;/* cached weir_window_key_next_deadline() */
    weir_millis last_ts; /* newest event seen (taken or filtered);
                            INT64_MIN before any */
    weir_millis watermark; /* highest watermark seen; INT64_MIN before */
    size_t bytes;        /* weir_window_key_bytes() */
    uint32_t cap;        /* ring slots, of rt->pane_bytes each */
    uint32_t first;      /* slot of the oldest pane */
    uint32_t n;          /* panes in use, from `first` on, wrapping */
    bool has_key;        /* an event was taken */
    /* rt->pane_bytes, in the key's own allocation: the ring while cap is
     * 1; once the ring has grown into a block of its own (owned), that
     * block's address (see ring_of()) */
    uint64_t inline_slot[];
};

_Static_assert(sizeof(pane) >= sizeof(unsigned char *),
               "an unused inline slot must have room for the grown ring's address");

/* next_k of a key that has fired no window: before any window a timestamp
 * can fall in. */
#define BEFORE_ANY_WINDOW ((__int128)INT64_MIN * 4)

/* ------------------------------------------------------------------ */
/* Arithmetic                                                           */

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static __int128 floor_div128(__int128 a, __int128 b)
{
    __int128 q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t floor_div64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static weir_millis saturate(__int128 x)
{
    return x > INT64_MAX ? INT64_MAX : x < INT64_MIN ? INT64_MIN : (weir_millis)x;
}

/* ------------------------------------------------------------------ */
/* The ring of panes                                                    */

static bool ring_is_inline(const weir_window_key *key)
{
    return key->cap == 1;
}

/* Mutable panes from a const key, as when the ring was a pointer field: a
 * key is const to readers of its fields, not of its panes. */
static unsigned char *ring_of(const weir_window_key *key)
{
    unsigned char *ring = (unsigned char *)key->inline_slot;
    if (!ring_is_inline(key))
        memcpy(&ring, key->inline_slot, sizeof ring);
    return ring;
}

static pane *slot_at(const weir_window_runtime *rt, const weir_window_key *key, uint32_t slot)
{
    return (pane *)(void *)(ring_of(key) + (size_t)slot * rt->pane_bytes);
}

/* The i-th oldest pane in use (i < key->n). */
static pane *pane_at(const weir_window_runtime *rt, const weir_window_key *key, uint32_t i)
{
    uint32_t slot = key->first + i;
    if (slot >= key->cap)
        slot -= key->cap;
    return slot_at(rt, key, slot);
}

static pane *head(const weir_window_runtime *rt, const weir_window_key *key)
{
    return pane_at(rt, key, 0);
}

static str_copy *pane_strs(const weir_window_runtime *rt, pane *p)
{
    return (str_copy *)(void *)((unsigned char *)p + rt->strs_offset);
}

/* ------------------------------------------------------------------ */
/* Packed aggregate states                                              */

static size_t packed_size(packing how)
{
    switch (how) {
    case PACK_COUNT:
        return sizeof(uint64_t);
    case PACK_SUM:
        return sizeof(uint64_t) + sizeof(int64_t);
    case PACK_VALUE:
        return sizeof(uint64_t) + sizeof(weir_value);
    case PACK_SET:
        return sizeof(uint64_t) + sizeof(weir_value_set *);
    }
    return 0;
}

static packing packing_of(weir_agg_kind kind)
{
    switch (kind) {
    case WEIR_AGG_SUM:
    case WEIR_AGG_AVG:
        return PACK_SUM;
    case WEIR_AGG_MIN:
    case WEIR_AGG_MAX:
    case WEIR_AGG_FIRST:
    case WEIR_AGG_LAST:
        return PACK_VALUE;
    case WEIR_AGG_COUNT_DISTINCT:
        return PACK_SET;
    case WEIR_AGG_COUNT:
    case WEIR_AGG__COUNT:
        break;
    }
    return PACK_COUNT;
}

/* Stores st as aggregate i's state in pane p. Inlined, as pane_unpack():
 * both run for every aggregate of every event and every window fired. */
static inline __attribute__((always_inline)) void
pane_pack(const weir_window_runtime *rt, pane *p, unsigned i, const weir_agg_state *st)
{
    packed_slot ps = rt->packed[i];
    unsigned char *at = (unsigned char *)p + ps.offset;
    uint64_t word = (uint64_t)st->n | (st->overflow ? OVERFLOW_BIT : 0);
    memcpy(at, &word, sizeof word);
    at += sizeof word;
    switch (ps.how) {
    case PACK_COUNT:
        break;
    case PACK_SUM: /* sum_i and sum_f share these bytes */
        memcpy(at, &st->sum_i, sizeof st->sum_i);
        break;
    case PACK_VALUE:
        memcpy(at, &st->v, sizeof st->v);
        break;
    case PACK_SET:
        memcpy(at, &st->set, sizeof st->set);
        break;
    }
}

/* Aggregate i's state in pane p, whole, as the aggregate ops take it. What
 * its kind does not pack reads as init() leaves it. */
static inline __attribute__((always_inline)) void
pane_unpack(const weir_window_runtime *rt, const pane *p, unsigned i, weir_agg_state *st)
{
    packed_slot ps = rt->packed[i];
    const unsigned char *at = (const unsigned char *)p + ps.offset;
    uint64_t word;
    memcpy(&word, at, sizeof word);
    at += sizeof word;
    st->n = (int64_t)(word & ~OVERFLOW_BIT);
    st->overflow = (word & OVERFLOW_BIT) != 0;
    switch (ps.how) {
    case PACK_COUNT:
        st->v = weir_value_missing();
        break;
    case PACK_SUM:
        st->v = weir_value_missing();
        memcpy(&st->sum_i, at, sizeof st->sum_i);
        break;
    case PACK_VALUE:
        memcpy(&st->v, at, sizeof st->v);
        break;
    case PACK_SET:
        st->v = weir_value_missing();
        memcpy(&st->set, at, sizeof st->set);
        break;
    }
}


/* Doubles the ring, keeping the panes in use (now from slot 0) and the
 * free slots with their string buffers. The inline slot, part of the key's
 * allocation, stays unused from then on: the ring never shrinks. Returns 0
 * or -1. */
static int ring_grow(const weir_window_runtime *rt, weir_window_key *key)
{
    uint32_t cap = key->cap * 2;
    if (cap < key->cap) /* 2^32 panes: never in practice */
        return -1;
    unsigned char *ring = malloc((size_t)cap * rt->pane_bytes);
    if (!ring)
        return -1;
    for (uint32_t i = 0; i < key->cap; i++)
        memcpy(ring + (size_t)i * rt->pane_bytes, pane_at(rt, key, i), rt->pane_bytes);
    for (uint32_t i = key->cap; i < cap; i++) {
        str_copy *sc = pane_strs(rt, (pane *)(void *)(ring + (size_t)i * rt->pane_bytes));
        for (unsigned j = 0; j < rt->n_str; j++)
            sc[j] = (str_copy){NULL, 0};
    }
    if (ring_is_inline(key)) {
        key->bytes += (size_t)cap * rt->pane_bytes;
    } else {
        free(ring_of(key));
        key->bytes += (size_t)(cap - key->cap) * rt->pane_bytes;
    }
    memcpy(key->inline_slot, &ring, sizeof ring);
    key->cap = cap;
    key->first = 0;
    return 0;
}

/* A pane with zeroed aggregates appended after the newest; NULL on
 * out-of-memory. */
static pane *pane_append(const weir_window_runtime *rt, weir_window_key *key)
{
    if (key->n == key->cap && ring_grow(rt, key) != 0)
        return NULL;
    pane *p = pane_at(rt, key, key->n++);
    memcpy(p, rt->blank, rt->strs_offset); /* the string copies stay */
    return p;
}

/* key->bytes counts each count distinct set at SET_MEMBER_BYTES a member,
 * added as members arrive: the sets' sizes say what to give back. */
static void pane_fini(const weir_window_runtime *rt, weir_window_key *key, pane *p)
{
    for (unsigned i = 0; i < rt->n_aggs; i++) {
        const weir_window_agg *ag = &rt->plan->aggs[i];
        if (!ag->ops->fini)
            continue;
        weir_agg_state st;
        pane_unpack(rt, p, i, &st);
        if (ag->kind == WEIR_AGG_COUNT_DISTINCT && st.set)
            key->bytes -= weir_value_set_size(st.set) * SET_MEMBER_BYTES;
        ag->ops->fini(&st);
        pane_pack(rt, p, i, &st);
    }
}

/* The oldest pane leaves; its slot (and string buffers) stay for reuse. */
static void drop_head(const weir_window_runtime *rt, weir_window_key *key)
{
    pane_fini(rt, key, head(rt, key));
    key->first = key->first + 1 == key->cap ? 0 : key->first + 1;
    key->n--;
}

/* ------------------------------------------------------------------ */
/* Deadlines                                                            */

/* The first window containing pane j: the smallest k with
 * k*SLIDE + SIZE > j*P. */
static __int128 first_window_of(const weir_window_runtime *rt, int64_t j)
{
    int64_t t;
    /* 64-bit division when it cannot overflow, which is always in practice */
    if (!__builtin_mul_overflow(j, rt->pane_ms, &t) &&
        !__builtin_sub_overflow(t, rt->size_ms, &t))
        return (__int128)floor_div64(t, rt->slide_ms) + 1;
    return floor_div128((__int128)j * rt->pane_ms - rt->size_ms, rt->slide_ms) + 1;
}

/* The window the key fires next, given that it has panes. */
static inline __int128 next_window(const weir_window_runtime *rt, const weir_window_key *key)
{
    __int128 k = first_window_of(rt, head(rt, key)->index);
    return k > key->next_k ? k : key->next_k;
}

static void update_deadline(const weir_window_runtime *rt, weir_window_key *key)
{
    if (key->n == 0) {
        key->deadline = INT64_MAX;
        return;
    }
    switch (rt->kind) {
    case AST_WINDOW_TUMBLING:
    case AST_WINDOW_SLIDING:
        key->deadline = saturate(next_window(rt, key) * rt->slide_ms + rt->size_ms);
        break;
    case AST_WINDOW_SESSION:
        key->deadline = saturate((__int128)head(rt, key)->max_ts + rt->gap_ms);
        break;
    case AST_WINDOW_COUNT:
        key->deadline = INT64_MAX;
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Runtime and keys                                                     */

static bool keeps_string(const weir_window_agg *ag)
{
    return ag->arg_type == WEIR_T_STRING &&
           (ag->kind == WEIR_AGG_MIN || ag->kind == WEIR_AGG_MAX ||
            ag->kind == WEIR_AGG_FIRST || ag->kind == WEIR_AGG_LAST);
}

weir_window_runtime *weir_window_runtime_new(const weir_window_plan *plan)
{
    weir_window_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return NULL;
    rt->plan = plan;
    rt->kind = plan->kind;
    rt->n_aggs = plan->n_aggs;
    rt->size_ms = plan->size_ms > 0 ? plan->size_ms : 1;
    rt->slide_ms = plan->kind == AST_WINDOW_SLIDING && plan->slide_ms > 0 ? plan->slide_ms
                                                                          : rt->size_ms;
    rt->pane_ms = gcd64(rt->size_ms, rt->slide_ms);
    rt->gap_ms = plan->gap_ms > 0 ? plan->gap_ms : 1;
    rt->count_size = plan->count > 0 ? plan->count : 1;
    rt->count_slide = plan->count_slide > 0 ? plan->count_slide : rt->count_size;
    rt->count_pane = gcd64(rt->count_size, rt->count_slide);

    size_t n = rt->n_aggs ? rt->n_aggs : 1;
    rt->str_slot = malloc(n * sizeof *rt->str_slot);
    rt->packed = malloc(n * sizeof *rt->packed);
    rt->acc = calloc(n, sizeof *rt->acc);
    rt->results = calloc(n, sizeof *rt->results);
    rt->emit = calloc(plan->n_emit ? plan->n_emit : 1, sizeof *rt->emit);
    rt->scratch_buf = malloc(SCRATCH_BYTES);
    if (!rt->str_slot || !rt->packed || !rt->acc || !rt->results || !rt->emit ||
        !rt->scratch_buf) {
        weir_window_runtime_free(rt);
        return NULL;
    }
    rt->scratch = (weir_eval_scratch){.buf = rt->scratch_buf, .cap = SCRATCH_BYTES};
    size_t at = sizeof(pane);
    for (unsigned i = 0; i < rt->n_aggs; i++) {
        rt->str_slot[i] = keeps_string(&plan->aggs[i]) ? (int)rt->n_str++ : -1;
        rt->packed[i] = (packed_slot){.offset = (uint32_t)at,
                                      .how = packing_of(plan->aggs[i].kind)};
        at += packed_size(rt->packed[i].how);
    }
    rt->strs_offset = at;
    rt->pane_bytes = (at + rt->n_str * sizeof(str_copy) + 7) & ~(size_t)7;
    pane *blank = malloc(at);
    if (!blank) {
        weir_window_runtime_free(rt);
        return NULL;
    }
    *blank = (pane){.min_ts = INT64_MAX, .max_ts = INT64_MIN};
    for (unsigned i = 0; i < rt->n_aggs; i++) {
        weir_agg_state st;
        plan->aggs[i].ops->init(&st);
        pane_pack(rt, blank, i, &st);
    }
    rt->blank = blank;
    return rt;
}

void weir_window_runtime_free(weir_window_runtime *rt)
{
    if (!rt)
        return;
    free(rt->str_slot);
    free(rt->packed);
    free(rt->blank);
    free(rt->acc);
    free(rt->results);
    free(rt->emit);
    free(rt->scratch_buf);
    free(rt);
}

weir_window_key *weir_window_key_new(weir_window_runtime *rt)
{
    /* the key and its first slot in one allocation: most keys never need
     * a second pane; calloc leaves the slot without string copies */
    size_t bytes = offsetof(weir_window_key, inline_slot) + rt->pane_bytes;
    weir_window_key *key = calloc(1, bytes);
    if (!key)
        return NULL;
    key->cap = 1;
    if (rt->kind != AST_WINDOW_COUNT)
        key->next_k = BEFORE_ANY_WINDOW; /* since_fire (0) otherwise */
    key->deadline = INT64_MAX;
    key->last_ts = INT64_MIN;
    key->watermark = INT64_MIN;
    key->bytes = bytes;
    return key;
}

void weir_window_key_free(weir_window_runtime *rt, weir_window_key *key)
{
    if (!key)
        return;
    while (key->n)
        drop_head(rt, key);
    for (uint32_t i = 0; i < key->cap; i++) {
        str_copy *sc = pane_strs(rt, slot_at(rt, key, i));
        for (unsigned j = 0; j < rt->n_str; j++)
            free(sc[j].buf);
    }
    if (!ring_is_inline(key))
        free(ring_of(key));
    free(key);
}

bool weir_window_key_idle(const weir_window_key *key)
{
    return key->n == 0;
}

size_t weir_window_key_bytes(const weir_window_key *key)
{
    return key->bytes;
}

weir_millis weir_window_key_next_deadline(const weir_window_key *key)
{
    return key->deadline;
}

/* ------------------------------------------------------------------ */
/* Adding an event                                                      */

/* The state v of aggregate `slot` (unpacked from pane p) now holds the
 * argument's string, which lives in the caller's event: copy it into the
 * pane's buffer. */
static int keep_string(const weir_window_runtime *rt, weir_window_key *key, pane *p,
                       unsigned slot, weir_value *v)
{
    str_copy *sc = &pane_strs(rt, p)[rt->str_slot[slot]];
    if (v->len > sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 16;
        if (cap < v->len)
            cap = v->len;
        char *nb = realloc(sc->buf, cap);
        if (!nb) {
            *v = weir_value_missing(); /* never point into a dead event */
            return -1;
        }
        key->bytes += cap - sc->cap;
        sc->buf = nb;
        sc->cap = cap;
    }
    if (v->len)
        memcpy(sc->buf, v->u.s, v->len);
    v->u.s = sc->buf ? sc->buf : "";
    return 0;
}

/* Folds the event into pane p: evaluates each aggregate's argument and
 * adds it. */
static int fold(const weir_window_runtime *rt, weir_window_key *key, pane *p,
                const weir_eval_ctx *ctx, weir_millis ts, uint64_t seq)
{
    const weir_window_plan *plan = rt->plan;
    int rc = 0;
    if (p->n_events++ == 0)
        p->first_seq = seq;
    p->last_seq = seq;
    if (ts < p->min_ts)
        p->min_ts = ts;
    if (ts > p->max_ts)
        p->max_ts = ts;
    for (unsigned i = 0; i < rt->n_aggs; i++) {
        const weir_window_agg *ag = &plan->aggs[i];
        weir_agg_state st;
        pane_unpack(rt, p, i, &st);
        if (!ag->arg) {
            ag->ops->add(&st, NULL);
        } else {
            weir_value v;
            weir_eval_run(ag->arg, ctx, &v);
            if (ag->kind == WEIR_AGG_COUNT_DISTINCT) {
                size_t before = st.set ? weir_value_set_size(st.set) : 0;
                ag->ops->add(&st, &v);
                size_t after = st.set ? weir_value_set_size(st.set) : 0;
                key->bytes += (after - before) * SET_MEMBER_BYTES;
            } else {
                ag->ops->add(&st, &v);
                /* min/max/first/last took the event's string: copy it. */
                if (rt->str_slot[i] >= 0 && !v.missing && !st.v.missing &&
                    st.v.u.s == v.u.s && keep_string(rt, key, p, i, &st.v) != 0)
                    rc = -1;
            }
        }
        pane_pack(rt, p, i, &st);
    }
    return rc;
}

/* The pane an event at ts goes to (appending one if needed). */
static pane *pane_for(const weir_window_runtime *rt, weir_window_key *key, weir_millis ts)
{
    pane *t = key->n ? pane_at(rt, key, key->n - 1) : NULL;
    switch (rt->kind) {
    case AST_WINDOW_TUMBLING:
    case AST_WINDOW_SLIDING: {
        int64_t j = floor_div64(ts, rt->pane_ms);
        if (t && t->index == j)
            return t;
        pane *p = pane_append(rt, key);
        if (p)
            p->index = j;
        return p;
    }
    case AST_WINDOW_SESSION:
        if (t && (__int128)ts < (__int128)t->max_ts + rt->gap_ms)
            return t;
        return pane_append(rt, key);
    case AST_WINDOW_COUNT:
        if (t && t->n_events < rt->count_pane)
            return t;
        return pane_append(rt, key);
    }
    return NULL;
}

static size_t fire(weir_window_runtime *rt, weir_window_key *key, uint32_t first,
                   uint32_t n_panes, weir_millis start, weir_millis end, weir_window_cb cb,
                   void *user);

/* Count windows: the window over the last count_size events, then drop the
 * panes the next window will not need. */
static void fire_count(weir_window_runtime *rt, weir_window_key *key, weir_window_cb cb,
                       void *user)
{
    int64_t panes = rt->count_size / rt->count_pane;
    uint32_t want = panes > UINT32_MAX ? UINT32_MAX : (uint32_t)panes;
    uint32_t n = key->n < want ? key->n : want;
    fire(rt, key, key->n - n, n, 0, 0, cb, user);
    uint32_t keep = rt->count_size > rt->count_slide
                        ? (uint32_t)((rt->count_size - rt->count_slide) / rt->count_pane)
                        : 0;
    while (key->n > keep)
        drop_head(rt, key);
}

weir_window_status weir_window_add(weir_window_runtime *rt, weir_window_key *key,
                                   const weir_value *fields, weir_millis ts, uint64_t seq,
                                   weir_window_cb cb, void *user)
{
    const weir_window_plan *plan = rt->plan;
    if (rt->kind != AST_WINDOW_COUNT && (ts < key->watermark || ts < key->last_ts))
        return WEIR_WINDOW_LATE;
    if (ts > key->last_ts)
        key->last_ts = ts;

    weir_eval_scratch_reset(&rt->scratch);
    rt->cur_key = &fields[plan->key_field];
    weir_eval_ctx ctx = {.event = fields, .key = *rt->cur_key, .scratch = &rt->scratch};
    if (plan->filter && !weir_eval_condition(plan->filter, &ctx))
        return WEIR_WINDOW_FILTERED;
    /* a key whose events were all filtered holds nothing of them */
    key->has_key = true;

    pane *p = pane_for(rt, key, ts);
    if (!p)
        return WEIR_WINDOW_ERROR;
    int rc = fold(rt, key, p, &ctx, ts, seq);
    /* The deadline follows the oldest pane: it moves when that pane is new,
     * or when a session it holds grows. */
    if (key->n == 1 && (p->n_events == 1 || rt->kind == AST_WINDOW_SESSION))
        update_deadline(rt, key);
    if (rt->kind == AST_WINDOW_COUNT && ++key->since_fire == rt->count_slide) {
        key->since_fire = 0;
        fire_count(rt, key, cb, user);
    }
    return rc == 0 ? WEIR_WINDOW_TAKEN : WEIR_WINDOW_ERROR;
}

/* ------------------------------------------------------------------ */
/* Firing                                                               */

/* Reports the window made of the n_panes panes from the first-th oldest
 * on (the bounds of a count window come from its events: pass 0, 0).
 * Returns 1 if it passed `when`, else 0. */
static size_t fire(weir_window_runtime *rt, weir_window_key *key, uint32_t first,
                   uint32_t n_panes, weir_millis start, weir_millis end, weir_window_cb cb,
                   void *user)
{
    const weir_window_plan *plan = rt->plan;
    const pane *p0 = pane_at(rt, key, first);
    /* acc holds the window's states: a lone pane's own (borrowed: not
     * fini'd here), or the merge of several */
    bool merged = n_panes > 1;
    for (unsigned i = 0; i < rt->n_aggs; i++) {
        if (merged)
            plan->aggs[i].ops->init(&rt->acc[i]);
        else
            pane_unpack(rt, p0, i, &rt->acc[i]);
    }
    int64_t n_events = 0;
    weir_millis lo = INT64_MAX, hi = INT64_MIN;
    uint64_t last_seq = p0->last_seq;
    for (uint32_t k = 0; k < n_panes; k++) {
        const pane *p = pane_at(rt, key, first + k);
        n_events += p->n_events;
        lo = p->min_ts < lo ? p->min_ts : lo;
        hi = p->max_ts > hi ? p->max_ts : hi;
        last_seq = p->last_seq;
        if (merged)
            for (unsigned i = 0; i < rt->n_aggs; i++) {
                weir_agg_state st;
                pane_unpack(rt, p, i, &st);
                /* out of memory in count distinct leaves it flagged:
                   its result is then missing */
                (void)plan->aggs[i].ops->merge(&rt->acc[i], &st);
            }
    }
    if (rt->kind == AST_WINDOW_COUNT) {
        start = lo;
        end = saturate((__int128)hi + 1);
    }
    for (unsigned i = 0; i < rt->n_aggs; i++)
        plan->aggs[i].ops->result(&rt->acc[i], &rt->results[i]);

    weir_eval_scratch_reset(&rt->scratch);
    weir_eval_ctx ctx = {.aggs = rt->results,
                         .key = *rt->cur_key,
                         .window_start = start,
                         .window_end = end,
                         .scratch = &rt->scratch};
    size_t passed = 0;
    if (!plan->when || weir_eval_condition(plan->when, &ctx)) {
        passed = 1;
        for (unsigned i = 0; i < plan->n_emit; i++)
            weir_eval_run(plan->emit[i].value, &ctx, &rt->emit[i]);
        weir_window_fired w = {.start = start,
                               .end = end,
                               .n_events = n_events,
                               .first_seq = p0->first_seq,
                               .last_seq = last_seq,
                               .key = *rt->cur_key,
                               .aggs = rt->results,
                               .n_aggs = rt->n_aggs,
                               .emit = plan->n_emit ? rt->emit : NULL,
                               .n_emit = plan->n_emit};
        if (cb)
            cb(&w, user);
    }
    if (merged)
        for (unsigned i = 0; i < rt->n_aggs; i++)
            if (plan->aggs[i].ops->fini)
                plan->aggs[i].ops->fini(&rt->acc[i]);
    return passed;
}

static size_t advance_time(weir_window_runtime *rt, weir_window_key *key, weir_millis wm,
                           weir_window_cb cb, void *user)
{
    size_t fired = 0;
    while (key->n) {
        __int128 k = next_window(rt, key);
        __int128 start = k * rt->slide_ms, end = start + rt->size_ms;
        if (saturate(end) > wm)
            break;
        if ((__int128)head(rt, key)->index * rt->pane_ms < start) {
            /* in no window: only when SLIDE > SIZE leaves gaps */
            drop_head(rt, key);
            continue;
        }
        uint32_t n_panes = 1;
        while (n_panes < key->n &&
               (__int128)pane_at(rt, key, n_panes)->index * rt->pane_ms < end)
            n_panes++;
        fired += fire(rt, key, 0, n_panes, saturate(start), saturate(end), cb, user);
        key->next_k = k + 1;
        __int128 next_start = key->next_k * rt->slide_ms;
        while (key->n && (__int128)head(rt, key)->index * rt->pane_ms < next_start)
            drop_head(rt, key);
    }
    return fired;
}

static size_t advance_session(weir_window_runtime *rt, weir_window_key *key, weir_millis wm,
                              weir_window_cb cb, void *user)
{
    size_t fired = 0;
    while (key->n) {
        pane *p = head(rt, key);
        weir_millis end = saturate((__int128)p->max_ts + rt->gap_ms);
        if (end > wm)
            break;
        fired += fire(rt, key, 0, 1, p->min_ts, end, cb, user);
        drop_head(rt, key);
    }
    return fired;
}

size_t weir_window_advance(weir_window_runtime *rt, weir_window_key *key,
                           const weir_value *key_value, weir_millis watermark, weir_window_cb cb,
                           void *user)
{
    static const weir_value none = {.missing = true};
    if (watermark > key->watermark)
        key->watermark = watermark;
    if (key->n == 0 || key->watermark < key->deadline)
        return 0;
    rt->cur_key = key_value ? key_value : &none;
    size_t fired = 0;
    switch (rt->kind) {
    case AST_WINDOW_TUMBLING:
    case AST_WINDOW_SLIDING:
        fired = advance_time(rt, key, key->watermark, cb, user);
        break;
    case AST_WINDOW_SESSION:
        fired = advance_session(rt, key, key->watermark, cb, user);
        break;
    case AST_WINDOW_COUNT:
        return 0;
    }
    update_deadline(rt, key);
    return fired;
}

void weir_window_key_prefetch(const weir_window_key *key)
{
    if (key->n)
        __builtin_prefetch(ring_of(key));
}

/* ------------------------------------------------------------------ */
/* Snapshots                                                            */

static void save_state(snap_out *o, const weir_window_agg *ag, const weir_agg_state *st)
{
    snap_put_svar(o, st->n);
    snap_put_u8(o, st->overflow);
    switch (ag->kind) {
    case WEIR_AGG_COUNT:
    case WEIR_AGG__COUNT:
        break;
    case WEIR_AGG_SUM:
    case WEIR_AGG_AVG:
        if (ag->fn == WEIR_AGG_FN_SUM_F64 || ag->fn == WEIR_AGG_FN_AVG_F64) {
            uint64_t bits;
            memcpy(&bits, &st->sum_f, sizeof bits);
            snap_put_u64(o, bits);
        } else {
            snap_put_svar(o, st->sum_i);
        }
        break;
    case WEIR_AGG_MIN:
    case WEIR_AGG_MAX:
    case WEIR_AGG_FIRST:
    case WEIR_AGG_LAST:
        snap_put_value(o, ag->arg_type, &st->v);
        break;
    case WEIR_AGG_COUNT_DISTINCT: {
        size_t n = st->set ? weir_value_set_size(st->set) : 0;
        snap_put_u8(o, st->set != NULL);
        snap_put_uvar(o, n);
        size_t pos = 0;
        const weir_value *v;
        while (st->set && (v = weir_value_set_next(st->set, &pos)))
            snap_put_value(o, ag->arg_type, v);
        break;
    }
    }
}

int weir_window_key_save(const weir_window_runtime *rt, const weir_window_key *key,
                         const weir_value *key_value, snap_out *o)
{
    weir_value none = weir_value_missing();
    snap_put_u8(o, key->has_key);
    if (key->has_key)
        snap_put_value(o, rt->plan->key_type, key_value ? key_value : &none);
    /* both as a key that kept each in a field of its own would have them */
    bool count = rt->kind == AST_WINDOW_COUNT;
    __int128 next_k = count ? BEFORE_ANY_WINDOW : key->next_k;
    snap_put_u64(o, (uint64_t)next_k);
    snap_put_u64(o, (uint64_t)(next_k >> 64));
    snap_put_time(o, key->last_ts);
    snap_put_time(o, key->watermark);
    snap_put_svar(o, count ? key->since_fire : 0);
    snap_put_uvar(o, key->n);
    for (uint32_t i = 0; i < key->n; i++) {
        const pane *p = pane_at(rt, key, i);
        snap_put_svar(o, p->index);
        snap_put_svar(o, p->n_events);
        snap_put_time(o, p->min_ts);
        snap_put_time(o, p->max_ts);
        snap_put_uvar(o, p->first_seq);
        snap_put_uvar(o, p->last_seq);
        for (unsigned k = 0; k < rt->n_aggs; k++) {
            weir_agg_state st;
            pane_unpack(rt, p, k, &st);
            save_state(o, &rt->plan->aggs[k], &st);
        }
    }
    return o->failed ? -1 : 0;
}

/* Reads aggregate k's state of pane p into st (as init() leaves it).
 * Returns -1 on bad input or out of memory; st then holds what it took. */
static int read_state(const weir_window_runtime *rt, weir_window_key *key, pane *p, unsigned k,
                      snap_in *in, weir_agg_state *st)
{
    const weir_window_agg *ag = &rt->plan->aggs[k];
    st->n = snap_get_svar(in);
    uint8_t overflow = snap_get_u8(in);
    /* a pane packs n without its sign: it counts events */
    if (overflow > 1 || st->n < 0)
        snap_fail(in, "bad aggregate state");
    st->overflow = overflow;
    switch (ag->kind) {
    case WEIR_AGG_COUNT:
    case WEIR_AGG__COUNT:
        break;
    case WEIR_AGG_SUM:
    case WEIR_AGG_AVG:
        if (ag->fn == WEIR_AGG_FN_SUM_F64 || ag->fn == WEIR_AGG_FN_AVG_F64) {
            uint64_t bits = snap_get_u64(in);
            memcpy(&st->sum_f, &bits, sizeof bits);
        } else {
            st->sum_i = snap_get_svar(in);
        }
        break;
    case WEIR_AGG_MIN:
    case WEIR_AGG_MAX:
    case WEIR_AGG_FIRST:
    case WEIR_AGG_LAST:
        snap_get_value(in, ag->arg_type, &st->v);
        if (!snap_in_ok(in))
            return -1;
        if (rt->str_slot[k] >= 0 && !st->v.missing && keep_string(rt, key, p, k, &st->v) != 0)
            return -1;
        break;
    case WEIR_AGG_COUNT_DISTINCT: {
        uint8_t has_set = snap_get_u8(in);
        size_t n = snap_get_count(in, 1);
        if (snap_in_ok(in) && (has_set > 1 || (!has_set && n)))
            snap_fail(in, "bad count distinct state");
        if (!snap_in_ok(in))
            return -1;
        if (has_set) {
            st->set = weir_value_set_new(ag->arg_type);
            if (!st->set)
                return -1;
        }
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            weir_value v;
            snap_get_value(in, ag->arg_type, &v);
            if (snap_in_ok(in) && v.missing)
                snap_fail(in, "missing value in a count distinct set");
            if (!snap_in_ok(in) || weir_value_set_add(st->set, &v) != 0)
                rc = -1;
        }
        /* counted even on failure: pane_fini gives back what the set holds */
        key->bytes += (st->set ? weir_value_set_size(st->set) : 0) * SET_MEMBER_BYTES;
        if (rc != 0)
            return -1;
        break;
    }
    }
    return snap_in_ok(in) ? 0 : -1;
}

/* Reads aggregate k's state into pane p, whose states are new. Returns -1
 * on bad input or out of memory: the pane then owns what was read, for
 * weir_window_key_free(). */
static int load_state(const weir_window_runtime *rt, weir_window_key *key, pane *p, unsigned k,
                      snap_in *in)
{
    weir_agg_state st;
    pane_unpack(rt, p, k, &st);
    int rc = read_state(rt, key, p, k, in, &st);
    pane_pack(rt, p, k, &st);
    return rc;
}

weir_window_key *weir_window_key_load(weir_window_runtime *rt, snap_in *in)
{
    weir_window_key *key = weir_window_key_new(rt);
    if (!key)
        return NULL;
    uint8_t has_key = snap_get_u8(in);
    if (has_key > 1)
        snap_fail(in, "bad window state");
    if (has_key) {
        weir_value v; /* the engine keeps the key: the saved copy is not needed */
        snap_get_value(in, rt->plan->key_type, &v);
        if (!snap_in_ok(in))
            goto fail;
        key->has_key = true;
    }
    uint64_t lo = snap_get_u64(in);
    uint64_t hi = snap_get_u64(in);
    __int128 next_k = (__int128)(((unsigned __int128)hi << 64) | lo);
    /* a window number comes from int64 milliseconds: anything else would
     * overflow the deadline arithmetic */
    if (snap_in_ok(in) && (next_k < BEFORE_ANY_WINDOW || next_k > INT64_MAX))
        snap_fail(in, "bad window position");
    key->last_ts = snap_get_time(in);
    key->watermark = snap_get_time(in);
    int64_t since_fire = snap_get_svar(in);
    /* the one a window of this kind uses: the other has no effect */
    if (rt->kind == AST_WINDOW_COUNT)
        key->since_fire = since_fire;
    else
        key->next_k = next_k;
    size_t n = snap_get_count(in, 6);
    if (!snap_in_ok(in))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        pane *p = pane_append(rt, key);
        if (!p)
            goto fail;
        p->index = snap_get_svar(in);
        p->n_events = snap_get_svar(in);
        p->min_ts = snap_get_time(in);
        p->max_ts = snap_get_time(in);
        p->first_seq = snap_get_uvar(in);
        p->last_seq = snap_get_uvar(in);
        if (snap_in_ok(in) && p->n_events <= 0)
            snap_fail(in, "empty window pane");
        for (unsigned k = 0; k < rt->n_aggs && snap_in_ok(in); k++)
            if (load_state(rt, key, p, k, in) != 0)
                goto fail;
        if (!snap_in_ok(in))
            goto fail;
    }
    update_deadline(rt, key);
    return key;
fail:
    weir_window_key_free(rt, key);
    return NULL;
}
