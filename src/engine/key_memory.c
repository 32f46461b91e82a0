/* key_memory.c — one key's memory for a rule with `keep` (see
 * key_memory.h for the layout and the time semantics).
 *
 * Adding an event: find (or append) the bucket of its time, fold each
 * aggregate item's argument into that bucket's state and into the totals,
 * and put each distinct item's value in its table with the bucket's start.
 * Events of a key come in time order, so a new bucket is always the newest
 * and the buckets stay sorted in a plain array.
 *
 * Dropping buckets: the oldest ones go (a memmove of the rest, at most
 * max_buckets small records, once per bucket width), the totals are
 * rebuilt by merging the buckets that remain (window_plan.h's merge: exact
 * for every kind, including min and max, which cannot be subtracted), and
 * each table is rebuilt without the values whose newest bucket was
 * dropped. Both happen at most once per bucket, not per event. */
#include "engine/key_memory.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ time */

static int64_t floor_to(int64_t t, int64_t w)
{
    int64_t r = t % w;
    return r < 0 ? t - r - w : t - r;
}

/* When the bucket starting at `start` is dropped: its end plus `for`. */
static int64_t bucket_expiry(const weir_keep_plan *plan, int64_t start)
{
    int64_t end, at;
    if (__builtin_add_overflow(start, plan->bucket_ms, &end) ||
        __builtin_add_overflow(end, plan->for_ms, &at))
        return INT64_MAX;
    return at;
}

/* ------------------------------------------------------------ tables */

static weir_type table_type(const weir_keep_plan *plan, unsigned table)
{
    for (unsigned i = 0; i < plan->n_items; i++) {
        const weir_keep_item *it = &plan->items[i];
        if (it->kind != WEIR_KEEP_AGG && it->slot == table)
            return it->arg_type;
    }
    return WEIR_T_ERROR;
}

static void table_free(weir_memory_table *t, weir_type type)
{
    if (t->slots && type == WEIR_T_STRING)
        for (uint32_t i = 0; i < t->cap; i++)
            if (t->slots[i].last != WEIR_MEMORY_FREE_SLOT)
                free((char *)t->slots[i].value.u.s);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* The slot holding v, or the empty slot where it would go. cap > 0. */
static weir_memory_value *table_find(const weir_memory_table *t, weir_type type,
                                     const weir_value *v)
{
    uint32_t mask = t->cap - 1;
    uint32_t i = (uint32_t)weir_value_hash(type, v) & mask;
    for (;;) {
        weir_memory_value *s = &t->slots[i];
        if (s->last == WEIR_MEMORY_FREE_SLOT || weir_value_equal(type, &s->value, v))
            return s;
        i = (i + 1) & mask;
    }
}

/* Moves the values of t whose `last` is at least `keep_from` into a new
 * array of `cap` slots, freeing the others' strings. -1 (nothing changed)
 * if the array cannot be had. */
static int table_rebuild(weir_memory_table *t, weir_type type, uint32_t cap, int64_t keep_from)
{
    weir_memory_value *slots = malloc((size_t)cap * sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t i = 0; i < cap; i++)
        slots[i].last = WEIR_MEMORY_FREE_SLOT;
    weir_memory_table fresh = {.slots = slots, .cap = cap};
    for (uint32_t i = 0; i < t->cap; i++) {
        weir_memory_value *s = &t->slots[i];
        if (s->last == WEIR_MEMORY_FREE_SLOT)
            continue;
        if (s->last < keep_from) {
            if (type == WEIR_T_STRING)
                free((char *)s->value.u.s);
            continue;
        }
        *table_find(&fresh, type, &s->value) = *s;
        fresh.n++;
        if (type == WEIR_T_STRING)
            fresh.string_bytes += (size_t)s->value.len + 1;
    }
    free(t->slots);
    *t = fresh;
    return 0;
}

/* Room for one more value (at most half full after it). */
static int table_reserve(weir_memory_table *t, weir_type type)
{
    if ((t->n + 1) * 2 <= t->cap)
        return 0;
    uint32_t cap = t->cap ? t->cap * 2 : 4;
    if (cap < t->cap)
        return -1; /* 2^31 slots: no more */
    return table_rebuild(t, type, cap, INT64_MIN + 1);
}

/* Records v as seen in the bucket starting at `bucket`. Room must have been
 * reserved. -1 when a string copy cannot be had. */
static int table_put(weir_memory_table *t, weir_type type, const weir_value *v, int64_t bucket)
{
    if (type == WEIR_T_FLOAT && v->u.f != v->u.f)
        return 0; /* NaN equals nothing, itself included: it would never be found */
    weir_memory_value *s = table_find(t, type, v);
    if (s->last != WEIR_MEMORY_FREE_SLOT) {
        s->last = bucket; /* buckets come in time order: this is the newest */
        return 0;
    }
    weir_value copy = *v;
    if (type == WEIR_T_STRING) {
        char *bytes = malloc((size_t)v->len + 1);
        if (!bytes)
            return -1;
        if (v->len)
            memcpy(bytes, v->u.s, v->len);
        bytes[v->len] = '\0';
        copy.u.s = bytes;
        t->string_bytes += (size_t)v->len + 1;
    } else if (type == WEIR_T_FLOAT && copy.u.f == 0.0) {
        copy.u.f = 0.0; /* -0.0 and 0.0 are one value */
    }
    copy.missing = false;
    s->value = copy;
    s->last = bucket;
    t->n++;
    return 0;
}

/* Empties slot i and closes the gap (linear probing's backward shift): a
 * later value of the same run moves back unless its home slot lies
 * cyclically in (i, j]. No tombstones, no allocation. */
static void table_remove_at(weir_memory_table *t, weir_type type, uint32_t i)
{
    uint32_t mask = t->cap - 1;
    if (type == WEIR_T_STRING) {
        t->string_bytes -= (size_t)t->slots[i].value.len + 1;
        free((char *)t->slots[i].value.u.s);
    }
    t->slots[i].last = WEIR_MEMORY_FREE_SLOT;
    t->n--;
    for (uint32_t j = (i + 1) & mask; t->slots[j].last != WEIR_MEMORY_FREE_SLOT;
         j = (j + 1) & mask) {
        uint32_t home = (uint32_t)weir_value_hash(type, &t->slots[j].value) & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        t->slots[i] = t->slots[j];
        t->slots[j].last = WEIR_MEMORY_FREE_SLOT;
        i = j;
    }
}

/* Forgets the values last seen before `keep_from`. Removal shifts values
 * back into the slot being looked at, so a slot is looked at again until it
 * holds a value to keep or nothing; a value shifted across the end of the
 * array lands in slots already looked at, among values already kept. */
static void table_expire(weir_memory_table *t, weir_type type, int64_t keep_from)
{
    for (uint32_t i = 0; i < t->cap; i++)
        while (t->slots[i].last != WEIR_MEMORY_FREE_SLOT && t->slots[i].last < keep_from)
            table_remove_at(t, type, i);
    if (t->n == 0) {
        table_free(t, type);
        return;
    }
    /* A quiet key's table shrinks back; if the smaller array cannot be
     * had, the big one does as well. */
    if (t->cap > 8 && t->n * 8 <= t->cap) {
        uint32_t cap = 4;
        while (cap < t->n * 2)
            cap *= 2;
        (void)table_rebuild(t, type, cap, INT64_MIN + 1);
    }
}

/* ------------------------------------------------------------ buckets */

void weir_key_memory_init(weir_key_memory *m, const weir_keep_plan *plan)
{
    memset(m, 0, sizeof *m);
    m->plan = plan;
}

static void free_states(const weir_keep_plan *plan, weir_agg_state *st, size_t n_buckets)
{
    for (size_t b = 0; b < n_buckets; b++)
        for (unsigned i = 0; i < plan->n_items; i++) {
            const weir_keep_item *it = &plan->items[i];
            if (it->kind == WEIR_KEEP_AGG && it->ops->fini)
                it->ops->fini(&st[b * plan->n_aggs + it->slot]);
        }
}

void weir_key_memory_clear(weir_key_memory *m)
{
    const weir_keep_plan *plan = m->plan;
    if (m->states)
        free_states(plan, m->states, m->n_buckets);
    if (m->totals)
        free_states(plan, m->totals, 1);
    for (unsigned t = 0; m->tables && t < plan->n_tables; t++)
        table_free(&m->tables[t], table_type(plan, t));
    free(m->starts);
    free(m->states);
    free(m->totals);
    free(m->tables);
    weir_key_memory_init(m, plan);
}

static void init_states(const weir_keep_plan *plan, weir_agg_state *st)
{
    for (unsigned i = 0; i < plan->n_items; i++) {
        const weir_keep_item *it = &plan->items[i];
        if (it->kind == WEIR_KEEP_AGG)
            it->ops->init(&st[it->slot]);
    }
}

/* Makes room for one more bucket, and the arrays an empty memory lacks. */
static int reserve_bucket(weir_key_memory *m)
{
    const weir_keep_plan *plan = m->plan;
    if (!m->totals && plan->n_aggs) {
        if (!(m->totals = malloc(plan->n_aggs * sizeof *m->totals)))
            return -1;
        init_states(plan, m->totals);
    }
    if (!m->tables && plan->n_tables) {
        if (!(m->tables = calloc(plan->n_tables, sizeof *m->tables)))
            return -1;
    }
    if (m->n_buckets < m->cap_buckets)
        return 0;
    /* Start small (most keys are quiet), double, and never past the most
     * a key can hold. */
    uint32_t cap = m->cap_buckets ? m->cap_buckets * 2 : 2;
    if (cap > plan->max_buckets)
        cap = plan->max_buckets > m->n_buckets ? plan->max_buckets : m->n_buckets + 1;
    int64_t *starts = realloc(m->starts, cap * sizeof *starts);
    if (!starts)
        return -1;
    m->starts = starts;
    if (plan->n_aggs) {
        weir_agg_state *states = realloc(m->states, (size_t)cap * plan->n_aggs * sizeof *states);
        if (!states)
            return -1;
        m->states = states;
    }
    m->cap_buckets = cap;
    return 0;
}

void weir_key_memory_expire(weir_key_memory *m, int64_t now)
{
    const weir_keep_plan *plan = m->plan;
    uint32_t drop = 0;
    while (drop < m->n_buckets && bucket_expiry(plan, m->starts[drop]) <= now)
        drop++;
    if (drop == 0)
        return;
    if (drop == m->n_buckets) {
        weir_key_memory_clear(m); /* empty: give every array back */
        return;
    }
    size_t n_aggs = plan->n_aggs;
    if (n_aggs) {
        free_states(plan, m->states, drop);
        memmove(m->states, m->states + (size_t)drop * n_aggs,
                (size_t)(m->n_buckets - drop) * n_aggs * sizeof *m->states);
    }
    memmove(m->starts, m->starts + drop, (m->n_buckets - drop) * sizeof *m->starts);
    m->n_buckets -= drop;
    if (n_aggs) {
        free_states(plan, m->totals, 1);
        init_states(plan, m->totals);
        for (uint32_t b = 0; b < m->n_buckets; b++)
            for (unsigned i = 0; i < plan->n_items; i++) {
                const weir_keep_item *it = &plan->items[i];
                if (it->kind == WEIR_KEEP_AGG)
                    it->ops->merge(&m->totals[it->slot], &m->states[b * n_aggs + it->slot]);
            }
    }
    for (unsigned t = 0; t < plan->n_tables; t++)
        table_expire(&m->tables[t], table_type(plan, t), m->starts[0]);
}

int weir_key_memory_add(weir_key_memory *m, const weir_value *fields, int64_t ts,
                        weir_eval_scratch *scratch)
{
    const weir_keep_plan *plan = m->plan;
    weir_eval_ctx ctx = {.event = fields, .scratch = scratch};
    weir_eval_scratch_reset(scratch);
    if (plan->where && !weir_eval_condition(plan->where, &ctx))
        return 0;

    int64_t start = floor_to(ts, plan->bucket_ms);
    bool fresh = m->n_buckets == 0 || m->starts[m->n_buckets - 1] < start;
    if (fresh && reserve_bucket(m) != 0)
        return -1;
    for (unsigned t = 0; t < plan->n_tables; t++)
        if (table_reserve(&m->tables[t], table_type(plan, t)) != 0)
            return -1;
    if (fresh) {
        m->starts[m->n_buckets] = start;
        if (plan->n_aggs)
            init_states(plan, &m->states[(size_t)m->n_buckets * plan->n_aggs]);
        m->n_buckets++;
    } else {
        start = m->starts[m->n_buckets - 1]; /* an older event: the newest bucket */
    }
    weir_agg_state *bucket = plan->n_aggs ? &m->states[(size_t)(m->n_buckets - 1) * plan->n_aggs]
                                          : NULL;
    int rc = 0;
    /* values first: a failed string copy then leaves the aggregates as
     * they were, consistent with each other */
    for (unsigned i = 0; i < plan->n_items; i++) {
        const weir_keep_item *it = &plan->items[i];
        if (it->kind == WEIR_KEEP_AGG)
            continue;
        weir_value v;
        weir_eval_run(it->arg, &ctx, &v);
        if (!v.missing && table_put(&m->tables[it->slot], it->arg_type, &v, start) != 0)
            rc = -1;
    }
    if (rc != 0)
        return -1;
    for (unsigned i = 0; i < plan->n_items; i++) {
        const weir_keep_item *it = &plan->items[i];
        if (it->kind != WEIR_KEEP_AGG)
            continue;
        weir_value v;
        const weir_value *arg = NULL;
        if (it->arg) {
            weir_eval_run(it->arg, &ctx, &v);
            arg = &v;
        }
        it->ops->add(&bucket[it->slot], arg);
        it->ops->add(&m->totals[it->slot], arg);
    }
    return 1;
}

int64_t weir_key_memory_next_expiry(const weir_key_memory *m)
{
    return m->n_buckets ? bucket_expiry(m->plan, m->starts[0]) : INT64_MAX;
}

/* ------------------------------------------------------------ reading */

void weir_key_memory_read(const weir_key_memory *m, unsigned item, weir_value *out)
{
    const weir_keep_plan *plan = m->plan;
    if (item >= plan->n_items) {
        *out = weir_value_missing();
        return;
    }
    const weir_keep_item *it = &plan->items[item];
    switch (it->kind) {
    case WEIR_KEEP_AGG:
        if (m->totals) {
            it->ops->result(&m->totals[it->slot], out);
        } else {
            /* nothing kept: what the aggregate gives over no event */
            weir_agg_state empty;
            it->ops->init(&empty);
            it->ops->result(&empty, out);
        }
        return;
    case WEIR_KEEP_COUNT_DISTINCT:
        *out = weir_value_int(m->tables ? (int64_t)m->tables[it->slot].n : 0);
        return;
    case WEIR_KEEP_SET:
        break;
    }
    *out = weir_value_missing();
}

bool weir_key_memory_contains(const weir_key_memory *m, unsigned item, const weir_value *v)
{
    const weir_keep_plan *plan = m->plan;
    if (item >= plan->n_items || v->missing || !m->tables)
        return false;
    const weir_keep_item *it = &plan->items[item];
    if (it->kind == WEIR_KEEP_AGG)
        return false;
    const weir_memory_table *t = &m->tables[it->slot];
    if (t->cap == 0)
        return false;
    return table_find(t, it->arg_type, v)->last != WEIR_MEMORY_FREE_SLOT;
}

size_t weir_key_memory_values(const weir_key_memory *m, unsigned item)
{
    const weir_keep_plan *plan = m->plan;
    if (item >= plan->n_items || !m->tables || plan->items[item].kind == WEIR_KEEP_AGG)
        return 0;
    return m->tables[plan->items[item].slot].n;
}

size_t weir_key_memory_bytes(const weir_key_memory *m)
{
    const weir_keep_plan *plan = m->plan;
    size_t bytes = (size_t)m->cap_buckets * (sizeof *m->starts + plan->n_aggs * sizeof *m->states);
    if (m->totals)
        bytes += plan->n_aggs * sizeof *m->totals;
    if (m->tables) {
        bytes += plan->n_tables * sizeof *m->tables;
        for (unsigned t = 0; t < plan->n_tables; t++)
            bytes += (size_t)m->tables[t].cap * sizeof(weir_memory_value) +
                     m->tables[t].string_bytes;
    }
    return bytes;
}

/* ------------------------------------------------------------ snapshots */

/* The aggregate item whose state is in slot `slot`. */
static const weir_keep_item *agg_item(const weir_keep_plan *plan, unsigned slot)
{
    for (unsigned i = 0; i < plan->n_items; i++)
        if (plan->items[i].kind == WEIR_KEEP_AGG && plan->items[i].slot == slot)
            return &plan->items[i];
    return NULL;
}

static bool float_state(const weir_keep_item *it)
{
    return it->fn == WEIR_AGG_FN_SUM_F64 || it->fn == WEIR_AGG_FN_AVG_F64;
}

static void save_states(snap_out *o, const weir_keep_plan *plan, const weir_agg_state *st)
{
    for (unsigned j = 0; j < plan->n_aggs; j++) {
        const weir_keep_item *it = agg_item(plan, j);
        const weir_agg_state *s = &st[j];
        snap_put_svar(o, s->n);
        snap_put_u8(o, s->overflow);
        if (!it)
            continue;
        switch (it->ops->kind) {
        case WEIR_AGG_SUM:
        case WEIR_AGG_AVG:
            if (float_state(it)) {
                uint64_t bits;
                memcpy(&bits, &s->sum_f, sizeof bits);
                snap_put_u64(o, bits);
            } else {
                snap_put_svar(o, s->sum_i);
            }
            break;
        case WEIR_AGG_MIN:
        case WEIR_AGG_MAX:
            snap_put_value(o, it->arg_type, &s->v);
            break;
        default: /* count: n says it all */
            break;
        }
    }
}

static int load_states(snap_in *in, const weir_keep_plan *plan, weir_agg_state *st)
{
    init_states(plan, st);
    for (unsigned j = 0; j < plan->n_aggs; j++) {
        const weir_keep_item *it = agg_item(plan, j);
        weir_agg_state *s = &st[j];
        s->n = snap_get_svar(in);
        uint8_t overflow = snap_get_u8(in);
        if (overflow > 1)
            snap_fail(in, "bad kept aggregate");
        s->overflow = overflow;
        if (!it)
            continue;
        switch (it->ops->kind) {
        case WEIR_AGG_SUM:
        case WEIR_AGG_AVG:
            if (float_state(it)) {
                uint64_t bits = snap_get_u64(in);
                memcpy(&s->sum_f, &bits, sizeof bits);
            } else {
                s->sum_i = snap_get_svar(in);
            }
            break;
        case WEIR_AGG_MIN:
        case WEIR_AGG_MAX:
            if (it->arg_type == WEIR_T_STRING) {
                snap_fail(in, "kept string aggregate");
                break;
            }
            snap_get_value(in, it->arg_type, &s->v);
            break;
        default:
            break;
        }
    }
    return snap_in_ok(in) ? 0 : -1;
}

int weir_key_memory_save(const weir_key_memory *m, snap_out *o)
{
    const weir_keep_plan *plan = m->plan;
    snap_put_uvar(o, m->n_buckets);
    if (m->n_buckets == 0)
        return o->failed ? -1 : 0;
    for (uint32_t b = 0; b < m->n_buckets; b++) {
        snap_put_time(o, m->starts[b]);
        save_states(o, plan, m->states + (size_t)b * plan->n_aggs);
    }
    if (plan->n_aggs)
        save_states(o, plan, m->totals);
    for (unsigned t = 0; t < plan->n_tables; t++) {
        const weir_memory_table *tb = &m->tables[t];
        weir_type type = table_type(plan, t);
        snap_put_uvar(o, tb->n);
        for (uint32_t i = 0; i < tb->cap; i++) {
            if (tb->slots[i].last == WEIR_MEMORY_FREE_SLOT)
                continue;
            snap_put_value(o, type, &tb->slots[i].value);
            snap_put_time(o, tb->slots[i].last);
        }
    }
    return o->failed ? -1 : 0;
}

int weir_key_memory_load(weir_key_memory *m, snap_in *in)
{
    const weir_keep_plan *plan = m->plan;
    size_t n = snap_get_count(in, 1); /* a bucket of no aggregates is its start alone */
    if (!snap_in_ok(in) || n == 0)
        return snap_in_ok(in) ? 0 : -1;
    if (n > plan->max_buckets) {
        snap_fail(in, "more kept buckets than the rule allows");
        return -1;
    }
    for (size_t b = 0; b < n; b++) {
        if (reserve_bucket(m) != 0)
            goto fail;
        int64_t start = snap_get_time(in);
        if (snap_in_ok(in) && b > 0 && start <= m->starts[b - 1])
            snap_fail(in, "kept buckets out of order");
        m->starts[b] = start;
        m->n_buckets++;
        if (plan->n_aggs && load_states(in, plan, m->states + b * plan->n_aggs) != 0)
            goto fail;
        if (!snap_in_ok(in))
            goto fail;
    }
    if (plan->n_aggs && load_states(in, plan, m->totals) != 0)
        goto fail;
    for (unsigned t = 0; t < plan->n_tables; t++) {
        weir_memory_table *tb = &m->tables[t];
        weir_type type = table_type(plan, t);
        size_t values = snap_get_count(in, 2);
        for (size_t i = 0; i < values && snap_in_ok(in); i++) {
            weir_value v;
            snap_get_value(in, type, &v);
            int64_t last = snap_get_time(in);
            if (snap_in_ok(in) && (v.missing || last == WEIR_MEMORY_FREE_SLOT))
                snap_fail(in, "bad kept value");
            if (!snap_in_ok(in) || table_reserve(tb, type) != 0 ||
                table_put(tb, type, &v, last) != 0)
                goto fail;
        }
        if (!snap_in_ok(in))
            goto fail;
    }
    return 0;
fail:
    weir_key_memory_clear(m);
    return -1;
}
