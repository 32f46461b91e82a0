/* engine_snapshot.c — the whole state of an engine as bytes, and back
 * (weir_engine_snapshot / weir_engine_restore; layout in
 * doc/state-format.md).
 *
 * A snapshot names what it holds: streams by name with their field
 * layout, rules by name with a fingerprint of their text and layout. So it
 * can be restored into an engine running a different rule set, which is
 * how a rule is swapped without losing the others' state: a rule whose
 * name and fingerprint match gets its keys' state back, any other rule
 * starts empty, and the state of rules that are gone is skipped (every
 * rule state is a length-prefixed section, so skipping costs nothing).
 * Held events are kept by field name, so they survive a changed stream
 * declaration as far as their fields do.
 *
 * Timers are saved in firing order, and restored keys get them back in
 * that order: keys due at the same time fire in the same order after a
 * restore as before it, so alerts come out in the same order too.
 *
 * Nothing in the input is trusted: counts are checked against the bytes
 * left before anything is allocated, indexes against what they index, and
 * the trailer's checksum covers every byte, so a corrupted, truncated or
 * foreign snapshot is refused with a message, never half-loaded into a
 * running engine (restore only fills a fresh one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine-internal.h"
#include "engine/snap_codec.h"

#define SNAP_MAGIC "WEIRSNAP"
/* 2: times as distances from a base in the preamble; a key's rule entry
 * has a flags byte instead of last_alert's 10-byte INT64_MIN and has_state */
#define SNAP_VERSION 2
/* The oldest format this build reads. */
#define SNAP_MIN_VERSION 1

/* A key's rule entry (format 2) */
#define SNAP_ENTRY_HAS_STATE 1u
#define SNAP_ENTRY_HAS_LAST_ALERT 2u

/* ------------------------------------------------------------ saving */

static void save_header(const weir_engine *e, snap_out *o)
{
    snap_put_uvar(o, e->n_streams);
    for (size_t s = 0; s < e->n_streams; s++) {
        const engine_stream *st = &e->streams[s];
        snap_put_str(o, st->ast->name.name, strlen(st->ast->name.name));
        snap_put_uvar(o, st->ast->n_fields);
        for (const ast_field *f = st->ast->fields; f; f = f->next) {
            snap_put_str(o, f->name.name, strlen(f->name.name));
            snap_put_u8(o, (uint8_t)f->type);
        }
        snap_put_u8(o, st->seen);
        snap_put_svar(o, st->max_ts);
        snap_put_uvar(o, st->events);
    }
    snap_put_uvar(o, e->n_rules);
    for (size_t i = 0; i < e->n_rules; i++) {
        const engine_rule *r = &e->rules[i];
        const char *name = r->plan->ast->name.name;
        snap_put_str(o, name, strlen(name));
        snap_put_u64(o, weir_ruleset_rule_fingerprint(e->rs, i));
        snap_put_uvar(o, r->alerts);
        snap_put_uvar(o, r->n_throttled);
        snap_put_uvar(o, r->events);
    }
    snap_put_svar(o, e->released);
    const weir_engine_stats *st = &e->stats;
    snap_put_uvar(o, st->events);
    snap_put_uvar(o, st->processed);
    snap_put_uvar(o, st->dead_letters);
    snap_put_uvar(o, st->late);
    snap_put_uvar(o, st->alerts);
    snap_put_uvar(o, st->throttled);
    snap_put_uvar(o, st->peak_keys);
    snap_put_uvar(o, st->peak_partial_matches);
    snap_put_uvar(o, st->timers_fired);
    snap_put_svar(o, st->watermark);
}

/* The stream's field types by index. */
static weir_type field_type(const ast_stream *s, uint32_t index)
{
    for (const ast_field *f = s->fields; f; f = f->next)
        if (f->index == index)
            return f->type;
    return WEIR_T_ERROR;
}

static void save_held(const weir_engine *e, snap_out *o)
{
    size_t n = weir_held_queue_size(e->held);
    snap_put_uvar(o, n);
    for (size_t i = 0; i < n; i++) {
        const weir_held_event *ev = weir_held_queue_at(e->held, i);
        const ast_stream *s = e->streams[ev->stream].ast;
        snap_put_uvar(o, ev->stream);
        snap_put_time(o, ev->ts);
        snap_put_uvar(o, ev->seq);
        /* every declared field, as the header says: a copy keeps fewer */
        for (uint32_t f = 0; f < s->n_fields; f++) {
            weir_value v = weir_engine_held_field(e, ev, f);
            snap_put_value(o, field_type(s, f), &v);
        }
    }
}

/* Keys, map by map, live entries in slot order; each entry's position in
 * that order (its ordinal) is what the timers refer to. */
static int save_keys(weir_engine *e, snap_out *o, uint32_t **ordinals)
{
    snap_put_uvar(o, e->n_maps);
    for (size_t mi = 0; mi < e->n_maps; mi++) {
        engine_map *m = &e->maps[mi];
        ordinals[mi] = malloc((m->keys.n_slots ? m->keys.n_slots : 1) * sizeof **ordinals);
        if (!ordinals[mi])
            return -1;
        snap_put_u8(o, (uint8_t)m->keys.key_type);
        snap_put_uvar(o, m->keys.live);
        uint32_t ordinal = 0;
        for (size_t k = 0; k < m->keys.n_slots; k++) {
            weir_key_entry *entry = &m->keys.slots[k];
            ordinals[mi][k] = UINT32_MAX;
            if (!entry->live)
                continue;
            ordinals[mi][k] = ordinal++;
            key_block *b = entry->state;
            weir_value key = weir_key_entry_key(m->keys.key_type, entry);
            snap_put_value(o, m->keys.key_type, &key);
            snap_put_time(o, entry->timer_at);
            /* the key's events hold the key again: written as a reference */
            o->key = m->keys.key_type == WEIR_T_STRING ? &key : NULL;
            uint32_t n = 0, room = key_block_min(m->n_rules, key_block_rules(b));
            for (uint32_t i = 0; i < room; i++)
                n += b->states[i] || b->last_alert[i] != INT64_MIN;
            snap_put_uvar(o, n);
            for (uint32_t i = 0; i < room; i++) {
                if (!b->states[i] && b->last_alert[i] == INT64_MIN)
                    continue;
                engine_rule *r = &e->rules[m->rules[i]];
                snap_put_uvar(o, r->index);
                bool has_last = b->last_alert[i] != INT64_MIN;
                snap_put_u8(o, (uint8_t)((b->states[i] ? SNAP_ENTRY_HAS_STATE : 0) |
                                         (has_last ? SNAP_ENTRY_HAS_LAST_ALERT : 0)));
                if (has_last)
                    snap_put_time(o, b->last_alert[i]);
                if (b->states[i]) {
                    size_t mark = snap_begin_section(o);
                    if (weir_rule_key_save(r, b->states[i], &key, o) != 0) {
                        o->key = NULL; /* it points at `key` */
                        return -1;
                    }
                    snap_end_short_section(o, mark);
                }
            }
            o->key = NULL;
        }
        if (ordinal != m->keys.live)
            return -1; /* not reached: the map counts its live entries */
    }
    return o->failed ? -1 : 0;
}

/* Timers in the order they would fire: deadlines ascending, push order
 * within one deadline. Every timer of a live key is kept, not only the one
 * matching its current deadline: a key re-armed earlier and then back to
 * a deadline it had before finds its old timer valid again, in its old
 * place, and keys due together fire in that order. */
static int save_timers(weir_engine *e, snap_out *o, uint32_t *const *ordinals)
{
    const weir_timers *t = &e->timers;
    size_t n_live;
    const weir_timer_bucket **live = weir_timers_in_order(t, &n_live);
    if (!live)
        return -1;
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            snap_put_uvar(o, n);
        for (size_t i = 0; i < n_live; i++) {
            const weir_timer_bucket *bk = live[i];
            for (size_t k = bk->head; k < bk->n; k++) {
                const weir_timer_ref *ref = &weir_timer_bucket_items(bk)[k];
                if (!weir_key_map_slot(&e->maps[ref->map].keys, ref->slot, ref->generation))
                    continue; /* its key is gone: never valid again */
                if (pass == 0) {
                    n++;
                    continue;
                }
                snap_put_time(o, bk->at);
                snap_put_uvar(o, ref->map);
                snap_put_uvar(o, ordinals[ref->map][ref->slot]);
            }
        }
    }
    free(live);
    return o->failed ? -1 : 0;
}

/* Appends the snapshot to o, from o->len on. */
static int write_snapshot(weir_engine *e, snap_out *o)
{
    /* a swap's dropped states go first: a snapshot holds the rules' only,
     * in their places */
    if (weir_engine_sweep(e, SIZE_MAX))
        return -1; /* out of memory */
    uint32_t **ordinals = calloc(e->n_maps ? e->n_maps : 1, sizeof *ordinals);
    if (!ordinals)
        return -1;
    int rc = -1;
    size_t start = o->len;
    snap_put_bytes(o, SNAP_MAGIC, 8);
    snap_put_uvar(o, SNAP_VERSION);
    /* the watermark: a live state's times are within hours of it */
    int64_t wm = e->stats.watermark;
    o->time_base = wm == INT64_MIN || wm == INT64_MAX ? 0 : wm;
    snap_put_svar(o, o->time_base);
    size_t mark = snap_begin_section(o);
    save_header(e, o);
    snap_end_section(o, mark);
    mark = snap_begin_section(o);
    save_held(e, o);
    snap_end_section(o, mark);
    mark = snap_begin_section(o);
    if (save_keys(e, o, ordinals) != 0)
        goto done;
    snap_end_section(o, mark);
    mark = snap_begin_section(o);
    if (save_timers(e, o, ordinals) != 0)
        goto done;
    snap_end_section(o, mark);
    if (!o->failed)
        snap_put_u64(o, snap_checksum(o->buf + start, o->len - start));
    rc = o->failed ? -1 : 0;
done:
    for (size_t i = 0; i < e->n_maps; i++)
        free(ordinals[i]);
    free(ordinals);
    return rc;
}

int weir_engine_snapshot(weir_engine *e, void **out, size_t *len)
{
    snap_out o;
    snap_out_init(&o);
    if (write_snapshot(e, &o) != 0) {
        snap_out_free(&o);
        return -1;
    }
    *out = o.buf;
    *len = o.len;
    return 0;
}

int weir_snapshot_dest_realloc(weir_snapshot_dest *d, size_t need)
{
    size_t cap = need < 4096 ? 4096 : need;
    unsigned char *p = realloc(d->data, cap);
    if (!p)
        return -1;
    d->data = p;
    d->cap = cap;
    return 0;
}

static bool dest_grow(void *user, unsigned char **buf, size_t *cap, size_t need)
{
    weir_snapshot_dest *d = user;
    if (d->grow(d, need) != 0 || d->cap < need)
        return false;
    *buf = d->data;
    *cap = d->cap;
    return true;
}

int weir_engine_snapshot_to(weir_engine *e, weir_snapshot_dest *d)
{
    snap_out o;
    snap_out_init(&o);
    o.buf = d->data;
    o.len = d->len;
    o.cap = d->cap;
    o.grow = dest_grow; /* which keeps d->data and d->cap up to date */
    o.grow_user = d;
    if (write_snapshot(e, &o) != 0)
        return -1;
    d->len = o.len;
    return 0;
}

/* ------------------------------------------------------------ loading */

/* A stream of the snapshot, mapped onto the engine's. */
typedef struct snap_stream {
    int64_t engine;       /* engine stream index, or -1 */
    size_t n_fields;
    weir_type *types;     /* per snapshot field */
    int64_t *to_field;    /* engine field index per snapshot field, or -1 */
} snap_stream;

typedef struct restore_ctx {
    weir_engine *e;
    snap_stream *streams;
    size_t n_streams;
    int64_t *rules;       /* engine rule per snapshot rule, or -1 */
    size_t n_rules;
    weir_value *fields;   /* scratch for a held event */
    size_t fields_cap;
    /* per snapshot map: the engine map of its key type (-1: none), and the
     * engine entry of each saved entry (slot, or UINT32_MAX: not kept) */
    int64_t *map_of;
    uint32_t **slot_of;
    size_t *n_entries;
    size_t n_maps;
    weir_restore_report *rep;
    uint64_t version;     /* of the snapshot's format */
} restore_ctx;

static void ctx_free(restore_ctx *c)
{
    for (size_t i = 0; i < c->n_streams; i++) {
        free(c->streams[i].types);
        free(c->streams[i].to_field);
    }
    free(c->streams);
    free(c->rules);
    free(c->fields);
    for (size_t i = 0; i < c->n_maps; i++)
        free(c->slot_of[i]);
    free(c->slot_of);
    free(c->map_of);
    free(c->n_entries);
}

static int grow_values(weir_value **arr, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    weir_value *a = realloc(*arr, need * 2 * sizeof *a);
    if (!a)
        return -1;
    *arr = a;
    *cap = need * 2;
    return 0;
}

static bool name_is(const char *name, const char *s, size_t len)
{
    return strlen(name) == len && memcmp(name, s, len) == 0;
}

static int load_header(restore_ctx *c, snap_in *in)
{
    weir_engine *e = c->e;
    c->n_streams = snap_get_count(in, 4);
    if (!snap_in_ok(in))
        return -1;
    c->streams = calloc(c->n_streams ? c->n_streams : 1, sizeof *c->streams);
    if (!c->streams)
        return -1;
    for (size_t i = 0; i < c->n_streams; i++) {
        snap_stream *ss = &c->streams[i];
        size_t name_len;
        const char *name = snap_get_str(in, &name_len);
        ss->n_fields = snap_get_count(in, 2);
        if (!snap_in_ok(in))
            return -1;
        ss->engine = -1;
        for (size_t s = 0; s < e->n_streams; s++)
            if (name_is(e->streams[s].ast->name.name, name, name_len))
                ss->engine = (int64_t)s;
        ss->types = calloc(ss->n_fields ? ss->n_fields : 1, sizeof *ss->types);
        ss->to_field = calloc(ss->n_fields ? ss->n_fields : 1, sizeof *ss->to_field);
        if (!ss->types || !ss->to_field)
            return -1;
        for (size_t f = 0; f < ss->n_fields; f++) {
            size_t flen;
            const char *fname = snap_get_str(in, &flen);
            uint8_t type = snap_get_u8(in);
            if (snap_in_ok(in) && (type == WEIR_T_ERROR || type >= WEIR_T_LIST))
                snap_fail(in, "bad field type");
            if (!snap_in_ok(in))
                return -1;
            ss->types[f] = (weir_type)type;
            ss->to_field[f] = -1;
            if (ss->engine >= 0)
                for (const ast_field *af = e->streams[ss->engine].ast->fields; af; af = af->next)
                    if (af->type == ss->types[f] && name_is(af->name.name, fname, flen))
                        ss->to_field[f] = af->index;
        }
        uint8_t seen = snap_get_u8(in);
        int64_t max_ts = snap_get_svar(in);
        uint64_t events = snap_get_uvar(in);
        if (snap_in_ok(in) && seen > 1)
            snap_fail(in, "bad stream progress");
        if (!snap_in_ok(in))
            return -1;
        if (ss->engine >= 0) {
            engine_stream *st = &e->streams[ss->engine];
            st->seen = seen;
            st->max_ts = max_ts;
            st->events = events;
        }
    }
    c->n_rules = snap_get_count(in, 12);
    if (!snap_in_ok(in))
        return -1;
    c->rules = calloc(c->n_rules ? c->n_rules : 1, sizeof *c->rules);
    if (!c->rules)
        return -1;
    for (size_t i = 0; i < c->n_rules; i++) {
        size_t len;
        const char *name = snap_get_str(in, &len);
        uint64_t fp = snap_get_u64(in);
        uint64_t alerts = snap_get_uvar(in);
        uint64_t throttled = snap_get_uvar(in);
        uint64_t events = snap_get_uvar(in);
        if (!snap_in_ok(in))
            return -1;
        c->rules[i] = -1;
        for (size_t k = 0; k < e->n_rules; k++)
            if (name_is(e->rules[k].plan->ast->name.name, name, len) &&
                weir_ruleset_rule_fingerprint(e->rs, k) == fp)
                c->rules[i] = (int64_t)k;
        if (c->rules[i] < 0) {
            c->rep->rules_dropped++;
            continue;
        }
        engine_rule *r = &e->rules[c->rules[i]];
        r->alerts = alerts;
        r->n_throttled = throttled;
        r->events = events;
        c->rep->rules_restored++;
    }
    c->rep->rules_fresh = e->n_rules - c->rep->rules_restored;
    e->released = snap_get_svar(in);
    weir_engine_stats *st = &e->stats;
    st->events = snap_get_uvar(in);
    st->processed = snap_get_uvar(in);
    st->dead_letters = snap_get_uvar(in);
    st->late = snap_get_uvar(in);
    st->alerts = snap_get_uvar(in);
    st->throttled = snap_get_uvar(in);
    st->peak_keys = snap_get_uvar(in);
    st->peak_partial_matches = snap_get_uvar(in);
    st->timers_fired = snap_get_uvar(in);
    st->watermark = snap_get_svar(in);
    return snap_in_ok(in) ? 0 : -1;
}

static int load_held(restore_ctx *c, snap_in *in)
{
    weir_engine *e = c->e;
    size_t n = snap_get_count(in, 3);
    for (size_t i = 0; i < n && snap_in_ok(in); i++) {
        uint64_t s = snap_get_uvar(in);
        int64_t ts = snap_get_time(in);
        uint64_t seq = snap_get_uvar(in);
        if (snap_in_ok(in) && s >= c->n_streams)
            snap_fail(in, "held event of an unknown stream");
        if (!snap_in_ok(in))
            return -1;
        const snap_stream *ss = &c->streams[s];
        const ast_stream *as = ss->engine >= 0 ? e->streams[ss->engine].ast : NULL;
        size_t want = as ? as->n_fields + 1 : 1;
        if (grow_values(&c->fields, &c->fields_cap, want) != 0)
            return -1;
        for (size_t f = 0; f < want; f++)
            c->fields[f] = weir_value_missing();
        for (size_t f = 0; f < ss->n_fields; f++) {
            weir_value v;
            snap_get_value(in, ss->types[f], &v);
            if (as && ss->to_field[f] >= 0)
                c->fields[ss->to_field[f]] = v;
        }
        if (!snap_in_ok(in))
            return -1;
        if (!as || !e->streams[ss->engine].n_rules)
            continue; /* no rule reads that stream now */
        if (weir_held_queue_push(e->held, c->fields, as->n_fields, (unsigned)ss->engine, ts,
                                 seq) != 0)
            return -1;
        c->rep->held_events++;
    }
    e->stats.held_events = weir_held_queue_size(e->held);
    return snap_in_ok(in) ? 0 : -1;
}

static int64_t engine_map_of_type(const weir_engine *e, weir_type t)
{
    for (size_t i = 0; i < e->n_maps; i++)
        if (e->maps[i].keys.key_type == t)
            return (int64_t)i;
    return -1;
}

/* One saved key: its states of restored rules go into a block of the
 * engine's map; a key left with nothing is not made. */
static int load_entry(restore_ctx *c, snap_in *in, size_t mi, size_t ordinal, weir_type kt)
{
    weir_engine *e = c->e;
    weir_value key;
    snap_get_value(in, kt, &key);
    int64_t timer_at = snap_get_time(in);
    size_t n = snap_get_count(in, 3);
    if (!snap_in_ok(in))
        return -1;
    c->slot_of[mi][ordinal] = UINT32_MAX;
    int64_t emi = c->map_of[mi];
    weir_key_entry *entry = NULL;
    for (size_t k = 0; k < n; k++) {
        uint64_t ri = snap_get_uvar(in);
        int64_t last_alert = INT64_MIN;
        uint8_t has_state;
        if (c->version >= 2) {
            uint8_t flags = snap_get_u8(in);
            if (snap_in_ok(in) &&
                (flags & ~(SNAP_ENTRY_HAS_STATE | SNAP_ENTRY_HAS_LAST_ALERT)) != 0)
                snap_fail(in, "bad key state");
            if (flags & SNAP_ENTRY_HAS_LAST_ALERT)
                last_alert = snap_get_time(in);
            has_state = flags & SNAP_ENTRY_HAS_STATE;
        } else {
            last_alert = snap_get_svar(in);
            has_state = snap_get_u8(in);
        }
        if (snap_in_ok(in) && (ri >= c->n_rules || has_state > 1))
            snap_fail(in, "bad key state");
        snap_in sub;
        if (has_state && c->version >= 2) {
            snap_get_short_section(in, &sub);
            sub.key = kt == WEIR_T_STRING ? &key : NULL;
        } else if (has_state) {
            snap_get_section(in, &sub);
        }
        if (!snap_in_ok(in))
            return -1;
        if (c->rules[ri] < 0 || emi < 0)
            continue; /* a rule that is gone or changed: its state is skipped */
        engine_rule *r = &e->rules[c->rules[ri]];
        if (r->map != (uint32_t)emi) {
            snap_fail(in, "key type of a rule differs from its saved state's");
            return -1;
        }
        if (!entry) {
            entry = weir_engine_key_entry(e, &e->maps[emi], &key,
                                          weir_key_hash(kt, &key));
            if (!entry)
                return -1;
            c->slot_of[mi][ordinal] = (uint32_t)(entry - e->maps[emi].keys.slots);
        }
        key_block *b = weir_engine_block_fit(e, &e->maps[emi], entry);
        if (!b)
            return -1;
        if (b->states[r->pos] || b->last_alert[r->pos] != INT64_MIN) {
            snap_fail(in, "a key saved twice");
            return -1;
        }
        b->last_alert[r->pos] = last_alert;
        if (has_state) {
            void *state = weir_rule_key_load(r, &sub);
            if (!state) {
                if (!snap_in_ok(&sub))
                    memcpy(in->error, sub.error, sizeof in->error);
                return -1;
            }
            if (snap_in_left(&sub)) {
                weir_rule_key_free(r, state);
                snap_fail(in, "rule state longer than its contents");
                return -1;
            }
            b->states[r->pos] = state;
            r->states++;
            size_t partials = weir_rule_partials(r, state);
            r->partials += partials;
            e->stats.partial_matches += partials;
        }
    }
    if (entry) {
        entry->timer_at = timer_at; /* load_timers checks it has a timer */
        c->rep->keys++;
    }
    return 0;
}

static int load_keys(restore_ctx *c, snap_in *in)
{
    weir_engine *e = c->e;
    c->n_maps = snap_get_count(in, 2);
    if (!snap_in_ok(in))
        return -1;
    c->map_of = calloc(c->n_maps ? c->n_maps : 1, sizeof *c->map_of);
    c->slot_of = calloc(c->n_maps ? c->n_maps : 1, sizeof *c->slot_of);
    c->n_entries = calloc(c->n_maps ? c->n_maps : 1, sizeof *c->n_entries);
    if (!c->map_of || !c->slot_of || !c->n_entries)
        return -1;
    for (size_t mi = 0; mi < c->n_maps; mi++) {
        uint8_t kt = snap_get_u8(in);
        size_t n = snap_get_count(in, 3);
        if (snap_in_ok(in) && (kt == WEIR_T_ERROR || kt >= WEIR_T_LIST))
            snap_fail(in, "bad key type");
        if (!snap_in_ok(in))
            return -1;
        c->map_of[mi] = engine_map_of_type(e, (weir_type)kt);
        c->n_entries[mi] = n;
        c->slot_of[mi] = malloc((n ? n : 1) * sizeof **c->slot_of);
        if (!c->slot_of[mi])
            return -1;
        for (size_t k = 0; k < n; k++)
            if (load_entry(c, in, mi, k, (weir_type)kt) != 0)
                return -1;
    }
    if (e->stats.partial_matches > e->stats.peak_partial_matches)
        e->stats.peak_partial_matches = e->stats.partial_matches;
    return 0;
}

static int load_timers(restore_ctx *c, snap_in *in)
{
    weir_engine *e = c->e;
    /* which restored keys got a timer at their deadline */
    bool **armed = calloc(c->n_maps ? c->n_maps : 1, sizeof *armed);
    int rc = -1;
    if (!armed)
        return -1;
    for (size_t mi = 0; mi < c->n_maps; mi++)
        if (!(armed[mi] = calloc(c->n_entries[mi] ? c->n_entries[mi] : 1, sizeof **armed)))
            goto done;
    size_t n = snap_get_count(in, 3);
    for (size_t i = 0; i < n && snap_in_ok(in); i++) {
        int64_t at = snap_get_time(in);
        uint64_t mi = snap_get_uvar(in);
        uint64_t ordinal = snap_get_uvar(in);
        if (snap_in_ok(in) && (mi >= c->n_maps || ordinal >= c->n_entries[mi]))
            snap_fail(in, "timer of an unknown key");
        if (!snap_in_ok(in))
            goto done;
        uint32_t slot = c->slot_of[mi][ordinal];
        if (slot == UINT32_MAX)
            continue;
        uint32_t emi = (uint32_t)c->map_of[mi];
        weir_key_entry *entry = &e->maps[emi].keys.slots[slot];
        weir_timer t = {.at = at, .map = emi, .slot = slot, .generation = entry->generation};
        if (weir_timers_push(&e->timers, t) != 0)
            goto done;
        if (at == entry->timer_at)
            armed[mi][ordinal] = true;
    }
    if (!snap_in_ok(in))
        goto done;
    /* a key with no timer at its deadline (none was due, or the saved
     * state disagrees with itself): settled now, which frees what is idle
     * and arms the rest on their own deadlines */
    for (size_t mi = 0; mi < c->n_maps; mi++) {
        if (c->map_of[mi] < 0)
            continue;
        uint32_t emi = (uint32_t)c->map_of[mi];
        for (size_t k = 0; k < c->n_entries[mi]; k++) {
            uint32_t slot = c->slot_of[mi][k];
            if (slot == UINT32_MAX || armed[mi][k])
                continue;
            weir_key_entry *entry = &e->maps[emi].keys.slots[slot];
            entry->timer_at = INT64_MAX;
            if (weir_engine_settle_key(e, emi, entry, e->released) != 0)
                goto done;
        }
    }
    rc = 0;
done:
    for (size_t mi = 0; mi < c->n_maps; mi++)
        free(armed[mi]);
    free(armed);
    return rc;
}

int weir_engine_restore(weir_engine *e, const void *data, size_t len, weir_restore_report *rep,
                        char *err, size_t errlen)
{
    weir_restore_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    restore_ctx c = {.e = e, .rep = rep};
    snap_in in;
    snap_in_init(&in, data, len);
    int rc = -1;
    const char *why = NULL;
    if (len < 8 + 1 + 8 || memcmp(data, SNAP_MAGIC, 8) != 0) {
        why = "not a weir snapshot";
        goto done;
    }
    const unsigned char *bytes = data;
    uint64_t sum = 0;
    for (int i = 0; i < 8; i++)
        sum |= (uint64_t)bytes[len - 8 + (size_t)i] << (8 * i);
    if (sum != snap_checksum(data, len - 8)) {
        why = "checksum mismatch: the snapshot is corrupted or truncated";
        goto done;
    }
    snap_in_init(&in, bytes + 8, len - 16);
    uint64_t version = snap_get_uvar(&in);
    if (snap_in_ok(&in) && (version < SNAP_MIN_VERSION || version > SNAP_VERSION)) {
        snprintf(err, errlen, "snapshot format %llu is not one this weir reads (%d to %d)",
                 (unsigned long long)version, SNAP_MIN_VERSION, SNAP_VERSION);
        goto done_quiet;
    }
    c.version = version;
    if (version >= 2)
        in.time_base = snap_get_svar(&in);
    if (e->stats.events || e->stats.keys || weir_held_queue_size(e->held)) {
        why = "the engine already has state: restore into a new one";
        goto done;
    }
    snap_in sec;
    snap_get_section(&in, &sec);
    if (load_header(&c, &sec) != 0)
        goto failed;
    snap_get_section(&in, &sec);
    if (load_held(&c, &sec) != 0)
        goto failed;
    snap_get_section(&in, &sec);
    if (load_keys(&c, &sec) != 0)
        goto failed;
    snap_get_section(&in, &sec);
    if (load_timers(&c, &sec) != 0)
        goto failed;
    if (snap_in_ok(&in) && snap_in_left(&in))
        snap_fail(&in, "unexpected bytes after the last section");
    if (!snap_in_ok(&in)) {
        memcpy(sec.error, in.error, sizeof sec.error);
        goto failed;
    }
    rc = 0;
    goto done;
failed:
    snprintf(err, errlen, "bad snapshot: %s",
             snap_in_ok(&sec) ? "out of memory" : sec.error);
    goto done_quiet;
done:
    if (why)
        snprintf(err, errlen, "%s", why);
done_quiet:
    ctx_free(&c);
    return rc;
}
