/* match_buffer.c — the shared, versioned buffer of matched events.
 *
 * See match_buffer.h for the design. The lock and release logic follows
 * Flink's SharedBufferAccessor (lockNode, releaseNode, put,
 * extractPatterns) step by step, because the lock counts decide when an
 * edge disappears, and that decides which paths a later extraction sees.
 *
 * Every block comes from a free list reserved by the caller, so the
 * functions that build the graph cannot fail half-way. The cascade of
 * releaseNode and the depth-first search of extractPatterns use stacks in
 * the shared scratch, sized by weir_mb_reserve() from the buffer's node
 * and edge counts (a path visits each node at most once: its events are
 * strictly older at each step back). */
#include "engine/match_buffer.h"

#include "engine/copy_width.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ accounting */

/* A block's size in a buffer's held8 units (every pooled block is a
 * multiple of 8 bytes; a malloc'd event rounds up, both ways alike). */
static inline uint32_t held8(size_t bytes)
{
    return (uint32_t)((bytes + 7) / 8);
}

int weir_mb_grow_slow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return -1;
        n *= 2;
    }
    void *a = realloc(*arr, n * elem);
    if (!a)
        return -1;
    *arr = a;
    *cap = n;
    return 0;
}

/* --------------------------------------------------------- Dewey numbers */

/* The held form: bit 0 set, bits 1-2 the length, digit k (from 1) at
 * bits 3 + 20 (k - 1). */
#define HELD_MASK ((UINT64_C(1) << WEIR_DEWEY_HELD_BITS) - 1)

static bool is_held(weir_dewey d)
{
    return d & 1;
}

static weir_dewey_node *node_of(weir_dewey d)
{
    return (weir_dewey_node *)(uintptr_t)d;
}

static unsigned held_shift(uint32_t k) /* digit k, from 1 */
{
    return 3 + WEIR_DEWEY_HELD_BITS * (k - 1);
}

uint32_t weir_dewey_len(weir_dewey d)
{
    if (!d)
        return 0;
    return is_held(d) ? (uint32_t)((d >> 1) & 3) : node_of(d)->len;
}

uint32_t weir_dewey_digit(weir_dewey d)
{
    if (is_held(d))
        return (uint32_t)((d >> held_shift(weir_dewey_len(d))) & HELD_MASK);
    return node_of(d)->digit;
}

weir_dewey weir_dewey_parent(weir_dewey d)
{
    if (!is_held(d))
        return node_of(d)->parent;
    uint32_t n = weir_dewey_len(d);
    if (n == 1)
        return 0;
    /* drop digit n, length n - 1 */
    uint64_t digits = d & ~((HELD_MASK << held_shift(n)) | UINT64_C(7));
    return digits | (uint64_t)(n - 1) << 1 | 1;
}

/* Same digits? x and y have the same length. Numbers that fit the held
 * form always take it, so two held numbers are equal exactly when their
 * values are, and shared suffixes of the tree end the walk early. */
static bool dewey_equal(weir_dewey x, weir_dewey y)
{
    while (x != y) {
        if (!x || !y || is_held(x) != is_held(y) ||
            weir_dewey_digit(x) != weir_dewey_digit(y))
            return false;
        x = weir_dewey_parent(x);
        y = weir_dewey_parent(y);
    }
    return true;
}

bool weir_dewey_compatible(weir_dewey a, weir_dewey b)
{
    uint32_t la = weir_dewey_len(a), lb = weir_dewey_len(b);
    if (la > lb) {
        weir_dewey x = a;
        while (weir_dewey_len(x) > lb)
            x = weir_dewey_parent(x);
        return dewey_equal(x, b);
    }
    if (la == lb)
        return dewey_equal(weir_dewey_parent(a), weir_dewey_parent(b)) &&
               weir_dewey_digit(a) >= weir_dewey_digit(b);
    return false;
}

weir_dewey weir_dewey_held_stage(weir_dewey d)
{
    uint32_t n = weir_dewey_len(d) + 1;
    if (!d || !is_held(d) || n > WEIR_DEWEY_HELD_DIGITS)
        return 0;
    return (d & ~UINT64_C(7)) | (uint64_t)n << 1 | 1; /* the new digit is 0 */
}

/* parent (an owned reference, or 0) with `digit` appended: held when it
 * fits, else a node that takes the parent's reference. 0 (and the parent
 * released) when a node was needed and none was reserved. */
static weir_dewey dewey_make(weir_match_buffer *b, weir_dewey parent, uint32_t digit)
{
    uint32_t n = weir_dewey_len(parent) + 1;
    if ((!parent || is_held(parent)) && n <= WEIR_DEWEY_HELD_DIGITS && digit <= HELD_MASK) {
        uint64_t digits = parent ? parent & ~UINT64_C(7) : 0;
        return digits | (uint64_t)digit << held_shift(n) | (uint64_t)n << 1 | 1;
    }
    weir_dewey_node *x = weir_pool_get(&b->sh->dewey);
    if (!x) {
        weir_dewey_release(b, parent);
        return 0;
    }
    b->held8 += held8(b->sh->dewey.block);
    x->parent = parent;
    x->digit = digit;
    x->len = n;
    x->refs = 1;
    return (weir_dewey)(uintptr_t)x;
}

weir_dewey weir_dewey_new(weir_match_buffer *b, uint32_t digit)
{
    return dewey_make(b, 0, digit);
}

weir_dewey weir_dewey_ref(weir_dewey d)
{
    if (d && !is_held(d))
        node_of(d)->refs++;
    return d;
}

weir_dewey weir_dewey_increase(weir_match_buffer *b, weir_dewey d, uint32_t n)
{
    if (n == 0)
        return weir_dewey_ref(d);
    /* wraps after 2^32, see nfa_run.c */
    return dewey_make(b, weir_dewey_ref(weir_dewey_parent(d)), weir_dewey_digit(d) + n);
}

weir_dewey weir_dewey_add_stage(weir_match_buffer *b, weir_dewey d)
{
    return dewey_make(b, weir_dewey_ref(d), 0);
}

void weir_dewey_release(weir_match_buffer *b, weir_dewey d)
{
    while (d && !is_held(d) && --node_of(d)->refs == 0) {
        weir_dewey_node *x = node_of(d);
        d = x->parent;
        weir_pool_put(&b->sh->dewey, x);
        b->held8 -= held8(b->sh->dewey.block);
    }
}

/* ------------------------------------------------------------- events */

static const uint32_t event_class_sizes[WEIR_MB_EVENT_CLASSES] = {
    64,  72,  80,  88,   96,   104,  112,  120,  128,  144,  160,   176,   192,   208,   224,  240,
    256, 320, 384, 448,  512,  640,  768,  1024, 1536, 2048, 3072,  4096,  8192,  16384, 32768, 65536,
};

static size_t class_size(uint32_t k)
{
    return event_class_sizes[k];
}

/* The smallest class that holds `bytes`, or WEIR_MB_EVENT_CLASSES. */
static uint32_t class_for(size_t bytes)
{
    if (bytes <= 128) /* 64, 72, ... 128: classes 0 to 8 */
        return bytes <= 64 ? 0 : (uint32_t)((bytes - 57) / 8);
    if (bytes <= 256) /* 144, 160, ... 256: classes 9 to 16 */
        return (uint32_t)(8 + (bytes - 113) / 16);
    for (uint32_t k = 17; k < WEIR_MB_EVENT_CLASSES; k++)
        if (bytes <= class_size(k))
            return k;
    return WEIR_MB_EVENT_CLASSES;
}

size_t weir_mb_event_size(const weir_value *fields, uint32_t n_fields,
                          const uint32_t *string_fields, uint32_t n_string_fields)
{
    size_t n = sizeof(weir_mb_event) + (size_t)n_fields * sizeof(weir_value);
    for (uint32_t i = 0; i < n_string_fields; i++) {
        const weir_value *v = &fields[string_fields[i]];
        if (!v->missing)
            n += v->len;
    }
    return n;
}

weir_mb_event *weir_mb_event_store(weir_match_buffer *b, const weir_value *fields,
                                   uint32_t n_fields, const uint32_t *string_fields,
                                   uint32_t n_string_fields, unsigned stream,
                                   int64_t ts, uint64_t seq)
{
    weir_mb_shared *sh = b->sh;
    size_t need = weir_mb_event_size(fields, n_fields, string_fields, n_string_fields);
    uint32_t k = class_for(need);
    weir_mb_event *ev;
    size_t bytes;
    if (k == WEIR_MB_EVENT_CLASSES) {
        if (!sh->big || sh->big_size < need)
            return NULL;
        ev = sh->big;
        bytes = sh->big_size;
        sh->big = NULL;
        sh->big_size = 0;
    } else {
        ev = weir_pool_get(&sh->event[k]);
        if (!ev)
            return NULL;
        bytes = sh->event[k].block;
    }
    ev->refs = 1;
    ev->block = k == WEIR_MB_EVENT_CLASSES ? (uint32_t)bytes : k; /* reserved: below 4 GiB */
    ev->ts = ts;
    ev->seq = seq;
    ev->stream = stream;
    ev->n_fields = n_fields;
    memcpy(ev->fields, fields, (size_t)n_fields * sizeof(weir_value));
    char *bytes_at = (char *)(ev->fields + n_fields);
    for (uint32_t i = 0; i < n_string_fields; i++) {
        weir_value *v = &ev->fields[string_fields[i]];
        if (v->missing)
            continue;
        if (v->len)
            memcpy(bytes_at, v->u.s, v->len);
        v->u.s = bytes_at;
        bytes_at += v->len;
    }
    b->n_events++;
    b->held8 += held8(bytes);
    return ev;
}

void weir_mb_event_hold(weir_mb_event *ev)
{
    ev->refs++;
}

void weir_mb_event_release(weir_match_buffer *b, weir_mb_event *ev)
{
    if (--ev->refs > 0)
        return;
    b->n_events--;
    b->held8 -= held8(weir_mb_event_bytes(ev));
    if (ev->block >= WEIR_MB_EVENT_CLASSES) {
        /* keep it as the spare if it is the larger one */
        if (ev->block > b->sh->big_size) {
            free(b->sh->big);
            b->sh->big = ev;
            b->sh->big_size = ev->block;
        } else {
            free(ev);
        }
    } else {
        weir_pool_put(&b->sh->event[ev->block], ev);
    }
}

/* ------------------------------------------------------------- shared */

/* The extraction stack: Flink's ExtractionState, with the path kept in one
 * array (xpath) indexed by depth instead of a copied stack per branch. */
typedef struct weir_mb_xstate {
    weir_mb_node *node;          /* NULL: a complete path */
    weir_dewey version;
    size_t depth;                /* where node goes in xpath */
} weir_mb_xstate;

_Static_assert(_Alignof(weir_mb_event) <= WEIR_POOL_ALIGN &&
                   _Alignof(weir_mb_node) <= WEIR_POOL_ALIGN &&
                   _Alignof(weir_mb_edge) <= WEIR_POOL_ALIGN &&
                   _Alignof(weir_dewey_node) <= WEIR_POOL_ALIGN,
               "pooled blocks need no more than WEIR_POOL_ALIGN");

void weir_mb_shared_init(weir_mb_shared *sh)
{
    memset(sh, 0, sizeof *sh);
    weir_pool_init(&sh->dewey, sizeof(weir_dewey_node), 256);
    weir_pool_init(&sh->node, sizeof(weir_mb_node), 128);
    weir_pool_init(&sh->edge, sizeof(weir_mb_edge), 128);
    for (uint32_t k = 0; k < WEIR_MB_EVENT_CLASSES; k++) {
        size_t size = class_size(k);
        size_t per = (64 * 1024) / size;
        weir_pool_init(&sh->event[k], size, per ? per : 1);
    }
}

static void save_scratch_free(struct weir_mb_save_scratch *s);

void weir_mb_shared_fini(weir_mb_shared *sh)
{
    weir_pool_fini(&sh->dewey);
    weir_pool_fini(&sh->node);
    weir_pool_fini(&sh->edge);
    for (uint32_t k = 0; k < WEIR_MB_EVENT_CLASSES; k++)
        weir_pool_fini(&sh->event[k]);
    free(sh->big);
    free(sh->rel_nodes);
    free(sh->rel_versions);
    free(sh->xstack);
    free(sh->xpath);
    free(sh->pnodes);
    save_scratch_free(sh->save);
    memset(sh, 0, sizeof *sh);
}

size_t weir_mb_shared_bytes(const weir_mb_shared *sh)
{
    size_t n = sh->dewey.slab_bytes + sh->node.slab_bytes + sh->edge.slab_bytes + sh->big_size;
    for (uint32_t k = 0; k < WEIR_MB_EVENT_CLASSES; k++)
        n += sh->event[k].slab_bytes;
    n += sh->rel_cap * (sizeof *sh->rel_nodes + sizeof *sh->rel_versions);
    n += sh->xstack_cap * sizeof *sh->xstack;
    n += sh->xpath_cap * sizeof *sh->xpath;
    n += sh->pnodes_cap * sizeof *sh->pnodes;
    return n;
}

/* ------------------------------------------------------------ per key */

void weir_match_buffer_init(weir_match_buffer *b, weir_mb_shared *sh)
{
    memset(b, 0, sizeof *b);
    b->sh = sh;
}

size_t weir_mb_event_bytes(const weir_mb_event *ev)
{
    return ev->block < WEIR_MB_EVENT_CLASSES ? class_size(ev->block) : ev->block;
}

void weir_match_buffer_init_holding(weir_match_buffer *b, weir_mb_shared *sh,
                                    const weir_mb_event *ev)
{
    weir_match_buffer_init(b, sh);
    b->n_events = 1;
    b->held8 = held8(weir_mb_event_bytes(ev));
}

bool weir_match_buffer_holds_only(const weir_match_buffer *b, const weir_mb_event *ev)
{
    return !b->live && b->n_nodes == 0 && b->n_edges == 0 && b->n_events == 1 &&
           b->held8 == held8(weir_mb_event_bytes(ev));
}

static void free_edge(weir_match_buffer *b, weir_mb_edge *e)
{
    weir_dewey_release(b, e->version);
    weir_pool_put(&b->sh->edge, e);
    b->n_edges--;
    b->held8 -= held8(b->sh->edge.block);
}

/* Removes a node from the buffer (Flink's removeEntry + releaseEvent):
 * its remaining edges go with it. */
static void free_node(weir_match_buffer *b, weir_mb_node *n)
{
    weir_mb_edge *e = n->edges;
    while (e) {
        weir_mb_edge *next = e->next;
        free_edge(b, e);
        e = next;
    }
    if (n->live_prev)
        n->live_prev->live_next = n->live_next;
    else
        b->live = n->live_next;
    if (n->live_next)
        n->live_next->live_prev = n->live_prev;
    if (b->sh->slots && b->sh->slots[n->step] == n)
        b->sh->slots[n->step] = NULL; /* a later put for this event makes a new one */
    weir_mb_event_release(b, n->event);
    weir_pool_put(&b->sh->node, n);
    b->n_nodes--;
    b->held8 -= held8(b->sh->node.block);
}

void weir_match_buffer_clear(weir_match_buffer *b)
{
    while (b->live)
        free_node(b, b->live);
}

int weir_mb_reserve(weir_match_buffer *b, size_t n_dewey, size_t n_node, size_t n_edge,
                    size_t event_bytes, size_t extra_nodes, size_t extra_edges)
{
    weir_mb_shared *sh = b->sh;
    if (weir_pool_reserve(&sh->dewey, n_dewey) != 0 ||
        weir_pool_reserve(&sh->node, n_node) != 0 ||
        weir_pool_reserve(&sh->edge, n_edge) != 0)
        return -1;
    if (event_bytes) {
        uint32_t k = class_for(event_bytes);
        if (k != WEIR_MB_EVENT_CLASSES) {
            if (weir_pool_reserve(&sh->event[k], 1) != 0)
                return -1;
        } else if (event_bytes > UINT32_MAX) {
            return -1; /* a copy's header holds its size in 32 bits */
        } else if (sh->big_size < event_bytes) {
            void *big = malloc(event_bytes);
            if (!big)
                return -1;
            free(sh->big);
            sh->big = big;
            sh->big_size = event_bytes;
        }
    }
    size_t nodes = b->n_nodes + extra_nodes + 2;
    size_t edges = b->n_edges + extra_edges + 2;
    size_t rel = sh->rel_cap;
    if (weir_mb_grow((void **)&sh->rel_nodes, &rel, edges, sizeof *sh->rel_nodes) != 0)
        return -1;
    size_t rel2 = sh->rel_cap;
    if (weir_mb_grow((void **)&sh->rel_versions, &rel2, edges, sizeof *sh->rel_versions) != 0)
        return -1;
    sh->rel_cap = rel < rel2 ? rel : rel2;
    if (weir_mb_grow((void **)&sh->xstack, &sh->xstack_cap, edges, sizeof *sh->xstack) != 0 ||
        weir_mb_grow((void **)&sh->xpath, &sh->xpath_cap, nodes, sizeof *sh->xpath) != 0 ||
        weir_mb_grow((void **)&sh->pnodes, &sh->pnodes_cap, 2 * nodes, sizeof *sh->pnodes) != 0)
        return -1;
    return 0;
}

void weir_mb_lock(weir_mb_node *node, weir_dewey version)
{
    if (!node)
        return;
    node->locks++;
    for (weir_mb_edge *e = node->edges; e; e = e->next)
        if (weir_dewey_compatible(version, e->version))
            e->locks++;
}

/* Flink's Lockable.release(): true when the count is (or was already)
 * zero. */
static bool lockable_release(uint32_t *locks)
{
    if (*locks == 0)
        return true;
    return --*locks == 0;
}

weir_mb_node *weir_mb_put(weir_match_buffer *b, weir_mb_event *ev, uint32_t step,
                          weir_mb_node *prev, weir_dewey version)
{
    weir_mb_shared *sh = b->sh;
    if (prev)
        weir_mb_lock(prev, version);
    weir_mb_node **slot = &b->sh->slots[step];
    weir_mb_node *n = *slot;
    if (!n) {
        n = weir_pool_get(&sh->node);
        if (!n)
            return NULL;
        memset(n, 0, sizeof *n);
        n->event = ev;
        n->step = step;
        weir_mb_event_hold(ev); /* Flink's lockEvent */
        n->live_next = b->live;
        if (b->live)
            b->live->live_prev = n;
        b->live = n;
        b->n_nodes++;
        b->held8 += held8(sh->node.block);
        *slot = n;
    }
    weir_mb_edge *e = weir_pool_get(&sh->edge);
    if (!e)
        return n; /* not reached: callers reserve */
    e->next = NULL;
    e->target = prev;
    e->version = weir_dewey_ref(version);
    e->locks = 0;
    if (n->edges_tail)
        n->edges_tail->next = e;
    else
        n->edges = e;
    n->edges_tail = e;
    b->n_edges++;
    b->held8 += held8(sh->edge.block);
    return n;
}

bool weir_mb_pack_single(weir_match_buffer *b, weir_mb_node *node, weir_mb_single *out)
{
    weir_mb_edge *e = node->edges;
    if (b->n_nodes != 1 || b->n_edges != 1 || b->live != node || !e || e->next || e->target ||
        node->event->refs != 1 || node->step > UINT16_MAX || node->locks != 1 || e->locks != 1)
        return false;
    out->event = node->event;
    out->edge_version = e->version;
    out->step = (uint16_t)node->step;
    weir_mb_shared *sh = b->sh;
    weir_pool_put(&sh->edge, e);
    weir_pool_put(&sh->node, node);
    b->live = NULL;
    b->n_nodes = 0;
    b->n_edges = 0;
    b->held8 -= held8(sh->node.block + sh->edge.block);
    return true;
}

weir_mb_node *weir_mb_unpack_single(weir_match_buffer *b, const weir_mb_single *in)
{
    weir_mb_shared *sh = b->sh;
    weir_mb_node *n = weir_pool_get(&sh->node);
    weir_mb_edge *e = weir_pool_get(&sh->edge);
    if (!n || !e) { /* not reached: reserved */
        if (n)
            weir_pool_put(&sh->node, n);
        if (e)
            weir_pool_put(&sh->edge, e);
        return NULL;
    }
    *e = (weir_mb_edge){.version = in->edge_version, .locks = 1};
    *n = (weir_mb_node){.event = in->event, .edges = e, .edges_tail = e, .step = in->step,
                        .locks = 1};
    b->live = n;
    b->n_nodes = 1;
    b->n_edges = 1;
    b->held8 += held8(sh->node.block + sh->edge.block);
    return n;
}

void weir_mb_release(weir_match_buffer *b, weir_mb_node *node, weir_dewey version)
{
    weir_mb_shared *sh = b->sh;
    if (!node)
        return;
    /* Each stack entry holds a reference to its version: it is an edge's,
     * and the edge (with its reference) may be freed before the entry is
     * popped. An entry whose node was freed meanwhile becomes NULL: Flink
     * finds no entry for it and stops the whole release there. */
    size_t top = 0;
    sh->rel_nodes[top] = node;
    sh->rel_versions[top] = weir_dewey_ref(version);
    top++;
    while (top > 0) {
        weir_mb_node *cur = sh->rel_nodes[--top];
        weir_dewey ver = sh->rel_versions[top];
        if (!cur) {
            weir_dewey_release(b, ver);
            while (top > 0)
                weir_dewey_release(b, sh->rel_versions[--top]);
            return;
        }
        weir_mb_edge **link = &cur->edges;
        weir_mb_edge *prev_edge = NULL;
        while (*link) {
            weir_mb_edge *e = *link;
            if (weir_dewey_compatible(ver, e->version) && lockable_release(&e->locks)) {
                *link = e->next;
                if (cur->edges_tail == e)
                    cur->edges_tail = prev_edge;
                if (e->target && top < sh->rel_cap) { /* reserved: always */
                    sh->rel_nodes[top] = e->target;
                    sh->rel_versions[top] = weir_dewey_ref(e->version);
                    top++;
                }
                free_edge(b, e);
                continue;
            }
            prev_edge = e;
            link = &e->next;
        }
        weir_dewey_release(b, ver);
        if (lockable_release(&cur->locks)) {
            for (size_t i = 0; i < top; i++)
                if (sh->rel_nodes[i] == cur)
                    sh->rel_nodes[i] = NULL;
            free_node(b, cur);
        }
    }
}

size_t weir_mb_extract(weir_match_buffer *b, weir_mb_node *node, weir_dewey version,
                       size_t max_paths, weir_mb_paths *out)
{
    weir_mb_shared *sh = b->sh;
    out->nodes = sh->pnodes;
    out->first = sh->pfirst;
    out->n_paths = 0;
    sh->pfirst[0] = 0;
    if (!node || max_paths == 0)
        return 0;
    if (max_paths > WEIR_MB_MAX_PATHS)
        max_paths = WEIR_MB_MAX_PATHS;
    size_t used = 0; /* of pnodes */
    size_t top = 0;
    if (sh->xstack_cap == 0 || sh->xpath_cap == 0)
        return 0;
    sh->xstack[top++] = (weir_mb_xstate){node, version, 0};
    while (top > 0) {
        weir_mb_xstate x = sh->xstack[--top];
        if (!x.node) {
            /* a complete path: xpath[0 .. depth) */
            if (used + x.depth > sh->pnodes_cap)
                break;
            memcpy(sh->pnodes + used, sh->xpath, x.depth * sizeof *sh->xpath);
            used += x.depth;
            out->n_paths++;
            sh->pfirst[out->n_paths] = used;
            if (out->n_paths == max_paths)
                break;
            continue;
        }
        if (x.depth >= sh->xpath_cap)
            continue; /* cannot happen: paths visit distinct nodes */
        sh->xpath[x.depth] = x.node;
        for (weir_mb_edge *e = x.node->edges; e; e = e->next) {
            if (!weir_dewey_compatible(x.version, e->version))
                continue;
            if (top == sh->xstack_cap)
                break; /* reserved for every edge; not reached */
            sh->xstack[top++] = (weir_mb_xstate){e->target, e->version, x.depth + 1};
        }
    }
    return out->n_paths;
}

/* ------------------------------------------------------------ snapshots */

typedef struct ptr_vec {
    const void **a;
    size_t n, cap;
} ptr_vec;

static int vec_push(ptr_vec *v, const void *p)
{
    if (weir_mb_grow((void **)&v->a, &v->cap, v->n + 1, sizeof *v->a) != 0)
        return -1;
    v->a[v->n++] = p;
    return 0;
}

/* Gives d and its unnumbered ancestors ids, parents first, so a reader
 * always meets a version's parent before the version. */
static int number_dewey(snap_ids *ids, ptr_vec *order, ptr_vec *chain, weir_dewey d)
{
    chain->n = 0;
    while (d && snap_ids_get(ids, weir_dewey_key(d)) == UINT32_MAX) {
        if (vec_push(chain, weir_dewey_key(d)) != 0)
            return -1;
        d = weir_dewey_parent(d);
    }
    while (chain->n > 0) {
        const void *x = chain->a[--chain->n];
        bool added;
        if (snap_ids_put(ids, x, &added) == UINT32_MAX || vec_push(order, x) != 0)
            return -1;
    }
    return 0;
}

/* Declared field i of a stored event, whatever the copy's width. */
static inline const weir_value *saved_field(const weir_mb_event *ev, const weir_mb_layout *l,
                                            uint32_t i, weir_value *scratch)
{
    *scratch = weir_copy_field(ev->fields, ev->n_fields, i, l->time_field, ev->ts);
    return scratch;
}

static void save_event(snap_out *o, const weir_mb_event *ev, const weir_mb_layout *l)
{
    size_t room = 4 * SNAP_MAX_UVAR;
    weir_value tmp;
    for (uint32_t i = 0; i < l->n_fields; i++)
        room += SNAP_MAX_VALUE(l->types[i] == WEIR_T_STRING ? saved_field(ev, l, i, &tmp)->len : 0);
    unsigned char *b = snap_out_reserve(o, room);
    if (!b)
        return;
    b = snap_raw_uvar(b, ev->stream);
    b = snap_raw_time(b, ev->ts, o->time_base);
    b = snap_raw_uvar(b, ev->seq);
    b = snap_raw_uvar(b, l->n_fields);
    for (uint32_t i = 0; i < l->n_fields; i++)
        b = snap_raw_value(b, l->types[i], saved_field(ev, l, i, &tmp), o);
    snap_out_commit(o, b);
}

/* weir_mb_shared.save */
typedef struct weir_mb_save_scratch {
    snap_ids events, deweys, nodes;
    ptr_vec node_order, evs, dewey_order, chain;
} weir_mb_save_scratch;

static void save_scratch_free(struct weir_mb_save_scratch *s)
{
    if (!s)
        return;
    snap_ids_free(&s->events);
    snap_ids_free(&s->deweys);
    snap_ids_free(&s->nodes);
    free(s->node_order.a);
    free(s->evs.a);
    free(s->dewey_order.a);
    free(s->chain.a);
    free(s);
}

int weir_mb_save(const weir_match_buffer *b, const weir_dewey *extra, size_t n_extra,
                 weir_mb_layout_cb layout, void *user, snap_out *o, weir_mb_saved *ids)
{
    weir_mb_save_scratch *s = b->sh->save;
    if (!s && !(s = b->sh->save = calloc(1, sizeof *s)))
        return -1;
    snap_ids_clear(&s->events);
    snap_ids_clear(&s->deweys);
    snap_ids_clear(&s->nodes);
    s->node_order.n = s->evs.n = s->dewey_order.n = s->chain.n = 0;
    ids->deweys = &s->deweys;
    ids->nodes = &s->nodes;
    ptr_vec *nodes = &s->node_order, *evs = &s->evs, *deweys = &s->dewey_order;
    const weir_mb_node *tail = b->live;
    while (tail && tail->live_next)
        tail = tail->live_next;
    for (const weir_mb_node *n = tail; n; n = n->live_prev) {
        bool added;
        if (snap_ids_put(&s->nodes, n, &added) == UINT32_MAX || vec_push(nodes, n) != 0 ||
            snap_ids_put(&s->events, n->event, &added) == UINT32_MAX ||
            (added && vec_push(evs, n->event) != 0))
            return -1;
        for (const weir_mb_edge *e = n->edges; e; e = e->next)
            if (number_dewey(&s->deweys, deweys, &s->chain, e->version) != 0)
                return -1;
    }
    for (size_t i = 0; i < n_extra; i++)
        if (number_dewey(&s->deweys, deweys, &s->chain, extra[i]) != 0)
            return -1;

    snap_put_uvar(o, evs->n);
    for (size_t i = 0; i < evs->n; i++) {
        const weir_mb_event *ev = evs->a[i];
        const weir_mb_layout *l = layout(user, ev->stream);
        if (!l || ev->n_fields > l->n_fields)
            return -1; /* not reached: events come from known streams */
        save_event(o, ev, l);
    }
    snap_put_uvar(o, deweys->n);
    for (size_t i = 0; i < deweys->n; i++) {
        weir_dewey d = (weir_dewey)(uintptr_t)deweys->a[i];
        weir_dewey parent = weir_dewey_parent(d);
        unsigned char *c = snap_out_reserve(o, 2 * SNAP_MAX_UVAR);
        if (!c)
            return -1;
        c = snap_raw_uvar(c, parent ? (uint64_t)snap_ids_get(&s->deweys, weir_dewey_key(parent)) + 1 : 0);
        snap_out_commit(o, snap_raw_uvar(c, weir_dewey_digit(d)));
    }
    snap_put_uvar(o, nodes->n);
    for (size_t i = 0; i < nodes->n; i++) {
        const weir_mb_node *n = nodes->a[i];
        unsigned char *c = snap_out_reserve(o, 3 * SNAP_MAX_UVAR);
        if (!c)
            return -1;
        c = snap_raw_uvar(c, snap_ids_get(&s->events, n->event));
        c = snap_raw_uvar(c, n->step);
        snap_out_commit(o, snap_raw_uvar(c, n->locks));
    }
    for (size_t i = 0; i < nodes->n; i++) {
        const weir_mb_node *n = nodes->a[i];
        size_t n_edges = 0;
        for (const weir_mb_edge *e = n->edges; e; e = e->next)
            n_edges++;
        snap_put_uvar(o, n_edges);
        for (const weir_mb_edge *e = n->edges; e; e = e->next) {
            unsigned char *c = snap_out_reserve(o, 3 * SNAP_MAX_UVAR);
            if (!c)
                return -1;
            c = snap_raw_uvar(c, e->target ? (uint64_t)snap_ids_get(&s->nodes, e->target) + 1 : 0);
            c = snap_raw_uvar(c, snap_ids_get(&s->deweys, weir_dewey_key(e->version)));
            snap_out_commit(o, snap_raw_uvar(c, e->locks));
        }
    }
    return o->failed ? -1 : 0;
}

int weir_mb_loaded_check_locks(const weir_mb_loaded *ld, snap_in *in)
{
    for (size_t i = 0; i < ld->n_nodes; i++)
        if (ld->nodes[i]->locks < ld->refs[i]) {
            snap_fail(in, "a buffer node with fewer locks than what points at it");
            return -1;
        }
    return 0;
}

void weir_mb_loaded_fini(weir_match_buffer *b, weir_mb_loaded *ld)
{
    /* children were numbered after their parents: release them first */
    for (size_t i = ld->n_deweys; i-- > 0;)
        weir_dewey_release(b, ld->deweys[i]);
    free(ld->deweys);
    free(ld->nodes);
    free(ld->refs);
    memset(ld, 0, sizeof *ld);
}

/* One saved event, stored in the buffer with one hold. NULL on a bad
 * input (in->error set) or out of memory. */
static weir_mb_event *load_event(weir_match_buffer *b, snap_in *in, weir_mb_layout_cb layout,
                                 void *user, weir_value **tmp, size_t *tmp_cap)
{
    uint64_t stream = snap_get_uvar(in);
    int64_t ts = snap_get_time(in);
    uint64_t seq = snap_get_uvar(in);
    uint64_t n = snap_get_uvar(in);
    if (!snap_in_ok(in))
        return NULL;
    const weir_mb_layout *l = stream <= UINT32_MAX ? layout(user, (unsigned)stream) : NULL;
    if (!l) {
        snap_fail(in, "stored event of an unknown stream");
        return NULL;
    }
    if (n != l->n_fields) {
        snap_fail(in, "stored event does not have its stream's fields");
        return NULL;
    }
    if (weir_mb_grow((void **)tmp, tmp_cap, l->n_fields + 1, sizeof **tmp) != 0)
        return NULL;
    for (uint32_t i = 0; i < l->n_fields; i++)
        snap_get_value(in, l->types[i], &(*tmp)[i]);
    if (!snap_in_ok(in))
        return NULL;
    /* the copy keeps the layout's width, as a running event's does */
    size_t bytes = weir_mb_event_size(*tmp, l->width, l->strings, l->n_strings);
    if (weir_mb_reserve(b, 0, 0, 0, bytes, 0, 0) != 0)
        return NULL;
    return weir_mb_event_store(b, *tmp, l->width, l->strings, l->n_strings, (unsigned)stream,
                               ts, seq);
}

int weir_mb_load(weir_match_buffer *b, snap_in *in, uint32_t n_steps, weir_mb_layout_cb layout,
                 void *user, weir_mb_loaded *out)
{
    weir_mb_shared *sh = b->sh;
    memset(out, 0, sizeof *out);
    weir_mb_event **events = NULL;
    size_t n_events = 0, made_events = 0;
    weir_value *tmp = NULL;
    size_t tmp_cap = 0;

    n_events = snap_get_count(in, 4);
    if (!snap_in_ok(in))
        goto fail;
    events = calloc(n_events ? n_events : 1, sizeof *events);
    if (!events)
        goto fail;
    for (; made_events < n_events; made_events++) {
        events[made_events] = load_event(b, in, layout, user, &tmp, &tmp_cap);
        if (!events[made_events])
            goto fail;
    }

    size_t n_deweys = snap_get_count(in, 2);
    if (!snap_in_ok(in))
        goto fail;
    out->deweys = calloc(n_deweys ? n_deweys : 1, sizeof *out->deweys);
    if (!out->deweys || weir_pool_reserve(&sh->dewey, n_deweys) != 0)
        goto fail;
    for (size_t i = 0; i < n_deweys; i++) {
        uint64_t parent = snap_get_uvar(in);
        uint64_t digit = snap_get_uvar(in);
        if (snap_in_ok(in) && (parent > i || digit > UINT32_MAX))
            snap_fail(in, "bad version");
        if (!snap_in_ok(in))
            goto fail;
        weir_dewey d =
            dewey_make(b, parent ? weir_dewey_ref(out->deweys[parent - 1]) : 0, (uint32_t)digit);
        if (!d)
            goto fail; /* not reached: reserved */
        out->deweys[out->n_deweys++] = d;
    }

    size_t n_nodes = snap_get_count(in, 3);
    if (!snap_in_ok(in))
        goto fail;
    out->nodes = calloc(n_nodes ? n_nodes : 1, sizeof *out->nodes);
    out->refs = calloc(n_nodes ? n_nodes : 1, sizeof *out->refs);
    if (!out->nodes || !out->refs || weir_pool_reserve(&sh->node, n_nodes) != 0)
        goto fail;
    for (size_t i = 0; i < n_nodes; i++) {
        uint64_t ev = snap_get_uvar(in);
        uint64_t step = snap_get_uvar(in);
        uint64_t locks = snap_get_uvar(in);
        if (snap_in_ok(in) && (ev >= n_events || step >= n_steps || locks > UINT32_MAX))
            snap_fail(in, "bad buffer node");
        if (!snap_in_ok(in))
            goto fail;
        weir_mb_node *n = weir_pool_get(&sh->node);
        memset(n, 0, sizeof *n);
        n->event = events[ev];
        weir_mb_event_hold(n->event);
        n->step = (uint32_t)step;
        n->locks = (uint32_t)locks;
        n->live_next = b->live;
        if (b->live)
            b->live->live_prev = n;
        b->live = n;
        b->n_nodes++;
        b->held8 += held8(sh->node.block);
        out->nodes[out->n_nodes++] = n;
    }
    for (size_t i = 0; i < n_nodes; i++) {
        weir_mb_node *n = out->nodes[i];
        size_t n_edges = snap_get_count(in, 3);
        if (!snap_in_ok(in) || weir_pool_reserve(&sh->edge, n_edges) != 0)
            goto fail;
        for (size_t k = 0; k < n_edges; k++) {
            uint64_t target = snap_get_uvar(in);
            uint64_t version = snap_get_uvar(in);
            uint64_t locks = snap_get_uvar(in);
            /* an edge leads to an older node (nodes are saved oldest
             * first): no cycle for a release or an extraction to go round */
            if (snap_in_ok(in) &&
                (target > i || version >= n_deweys || locks > UINT32_MAX))
                snap_fail(in, "bad buffer edge");
            if (!snap_in_ok(in))
                goto fail;
            weir_mb_edge *e = weir_pool_get(&sh->edge);
            e->next = NULL;
            e->target = target ? out->nodes[target - 1] : NULL;
            if (target)
                out->refs[target - 1]++;
            e->version = weir_dewey_ref(out->deweys[version]);
            e->locks = (uint32_t)locks;
            if (n->edges_tail)
                n->edges_tail->next = e;
            else
                n->edges = e;
            n->edges_tail = e;
            b->n_edges++;
            b->held8 += held8(sh->edge.block);
        }
    }
    for (size_t i = 0; i < made_events; i++)
        weir_mb_event_release(b, events[i]); /* the nodes hold them now */
    free(events);
    free(tmp);
    return 0;
fail:
    weir_match_buffer_clear(b);
    for (size_t i = 0; i < made_events; i++)
        if (events[i])
            weir_mb_event_release(b, events[i]);
    free(events);
    free(tmp);
    weir_mb_loaded_fini(b, out);
    return -1;
}
