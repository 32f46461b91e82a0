/* engine_adopt.c — a rule swap without a snapshot: a new engine takes over
 * an old one's state by moving it (weir_engine_adopt, weir/engine.h).
 *
 * Swapping rules through a snapshot writes every key's state and reads it
 * back: seconds for a million live keys, all of it with ingestion stopped.
 * When the streams are declared exactly as before, nothing needs
 * rewriting. A rule of the same name and fingerprint is the same compiled
 * rule, so the new engine takes the old rule's runtime (with its pools and
 * the plan it was built from, whose rule set it keeps alive) and each key's
 * state pointer as they are; only the key tables, blocks and timers are
 * rebuilt, a few hash inserts per key. States of rules that changed or
 * went are freed. The result is the state a snapshot and restore would
 * give, timers in the same firing order, so alerts come out the same.
 *
 * Anything else (a stream changed) is refused with 1, and the caller goes
 * the snapshot way, which maps fields by name. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine-internal.h"

/* Whether the two rule sets declare their streams alike: same order,
 * names, fields (names, types, places) and time. Held events and every
 * event kept in a state are arrays laid out by these. */
static bool same_streams(const weir_engine *a, const weir_engine *b)
{
    if (a->n_streams != b->n_streams)
        return false;
    for (size_t s = 0; s < a->n_streams; s++) {
        const ast_stream *x = a->streams[s].ast, *y = b->streams[s].ast;
        if (strcmp(x->name.name, y->name.name) != 0 || x->n_fields != y->n_fields ||
            x->event_time != y->event_time || x->lateness_ms != y->lateness_ms ||
            a->streams[s].processing_time != b->streams[s].processing_time ||
            (x->time_field_ref ? (int64_t)x->time_field_ref->index : -1) !=
                (y->time_field_ref ? (int64_t)y->time_field_ref->index : -1))
            return false;
        const ast_field *f = x->fields, *g = y->fields;
        for (; f && g; f = f->next, g = g->next)
            if (f->index != g->index || f->type != g->type ||
                strcmp(f->name.name, g->name.name) != 0)
                return false;
        if (f || g)
            return false;
    }
    return true;
}

/* e's rule of the same name and fingerprint as old's rule i, or -1. */
static int64_t same_rule(const weir_engine *e, const weir_engine *old, size_t i)
{
    const char *name = old->rules[i].plan->ast->name.name;
    uint64_t fp = weir_ruleset_rule_fingerprint(old->rs, i);
    for (size_t k = 0; k < e->n_rules; k++)
        if (strcmp(e->rules[k].plan->ast->name.name, name) == 0 &&
            weir_ruleset_rule_fingerprint(e->rs, k) == fp)
            return (int64_t)k;
    return -1;
}

static int64_t map_of_type(const weir_engine *e, weir_type t)
{
    for (size_t i = 0; i < e->n_maps; i++)
        if (e->maps[i].keys.key_type == t)
            return (int64_t)i;
    return -1;
}

/* Keeps rs alive for e (once). */
static int retain(weir_engine *e, const weir_ruleset *rs)
{
    if (rs == e->rs)
        return 0;
    for (size_t i = 0; i < e->n_retained; i++)
        if (e->retained[i] == rs)
            return 0;
    const weir_ruleset **grown = realloc(e->retained, (e->n_retained + 1) * sizeof *grown);
    if (!grown)
        return -1;
    e->retained = grown;
    e->retained[e->n_retained++] = weir_ruleset_retain(rs);
    return 0;
}

typedef struct adopt_ctx {
    weir_engine *e, *old;
    int64_t *rule_of;     /* per old rule: e's rule, or -1 */
    int64_t *map_of;      /* per old map: e's map of its key type, or -1 */
    uint32_t **slot_of;   /* per old map and slot: e's slot, or UINT32_MAX */
    bool **armed;         /* per e map and slot: got a timer at its deadline */
} adopt_ctx;

static void ctx_free(adopt_ctx *c)
{
    for (size_t i = 0; c->slot_of && i < c->old->n_maps; i++)
        free(c->slot_of[i]);
    for (size_t i = 0; c->armed && i < c->e->n_maps; i++)
        free(c->armed[i]);
    free(c->slot_of);
    free(c->armed);
    free(c->map_of);
    free(c->rule_of);
}

/* The runtimes of unchanged rules, with the counters that go with them. */
static int move_rules(adopt_ctx *c, weir_restore_report *rep)
{
    weir_engine *e = c->e, *old = c->old;
    for (size_t i = 0; i < old->n_rules; i++) {
        c->rule_of[i] = same_rule(e, old, i);
        if (c->rule_of[i] < 0) {
            rep->rules_dropped++;
            continue;
        }
        engine_rule *to = &e->rules[c->rule_of[i]], *from = &old->rules[i];
        if (retain(e, from->run_rs) != 0)
            return -1;
        /* swapped, not just moved: the old engine frees the new rule's
         * unused runtime and spare with itself */
        void *rt = to->runtime, *spare = to->spare;
        const weir_rule_plan *plan = to->run_plan;
        const weir_ruleset *rs = to->run_rs;
        to->runtime = from->runtime;
        to->spare = from->spare;
        to->run_plan = from->run_plan;
        to->run_rs = from->run_rs;
        from->runtime = rt;
        from->spare = spare;
        from->run_plan = plan;
        from->run_rs = rs;
        /* events it stores from now on keep what this rule set reads */
        weir_rule_store_widths(e, to);
        to->alerts = from->alerts;
        to->n_throttled = from->n_throttled;
        to->events = from->events;
        /* every key's state of it moves: the totals are the old ones */
        to->states = from->states;
        to->partials = from->partials;
        e->stats.partial_matches += from->partials;
        rep->rules_restored++;
    }
    rep->rules_fresh = e->n_rules - rep->rules_restored;
    return 0;
}

/* Every key's states of unchanged rules into a block of e's map for its
 * key type; the others' states freed with their old runtimes. */
static int move_keys(adopt_ctx *c, weir_restore_report *rep)
{
    weir_engine *e = c->e, *old = c->old;
    for (size_t mi = 0; mi < old->n_maps; mi++) {
        engine_map *m = &old->maps[mi];
        c->map_of[mi] = map_of_type(e, m->keys.key_type);
        c->slot_of[mi] = malloc((m->keys.n_slots ? m->keys.n_slots : 1) * sizeof **c->slot_of);
        if (!c->slot_of[mi])
            return -1;
        for (size_t k = 0; k < m->keys.n_slots; k++) {
            weir_key_entry *from = &m->keys.slots[k];
            c->slot_of[mi][k] = UINT32_MAX;
            if (!from->live)
                continue;
            key_block *b = from->state;
            weir_key_entry *to = NULL;
            uint32_t room = key_block_min(m->n_rules, key_block_rules(b));
            for (uint32_t i = 0; i < room; i++) {
                int64_t ri = c->rule_of[m->rules[i]];
                if (ri < 0) {
                    if (b->states[i]) {
                        engine_rule *gone = &old->rules[m->rules[i]];
                        weir_rule_key_free(gone, b->states[i]);
                        b->states[i] = NULL;
                    }
                    continue;
                }
                if (!b->states[i] && b->last_alert[i] == INT64_MIN)
                    continue;
                engine_rule *r = &e->rules[ri];
                if (!to) {
                    engine_map *em = &e->maps[c->map_of[mi]];
                    weir_value key = weir_key_entry_key(m->keys.key_type, from);
                    to = weir_engine_key_entry(e, em, &key, weir_key_hash(m->keys.key_type, &key));
                    if (!to)
                        return -1;
                    to->timer_at = from->timer_at;
                    c->slot_of[mi][k] = (uint32_t)(to - em->keys.slots);
                    rep->keys++;
                }
                key_block *nb = weir_engine_block_fit(e, &e->maps[c->map_of[mi]], to);
                if (!nb)
                    return -1;
                nb->last_alert[r->pos] = b->last_alert[i];
                nb->states[r->pos] = b->states[i];
                b->states[i] = NULL;
            }
        }
    }
    return 0;
}

/* Whether e has, at each index of old's maps, a map of the same key type:
 * then old's maps can move whole (move_maps_whole). */
static bool maps_line_up(const weir_engine *e, const weir_engine *old)
{
    if (e->n_maps < old->n_maps)
        return false;
    for (size_t mi = 0; mi < old->n_maps; mi++)
        if (e->maps[mi].keys.key_type != old->maps[mi].keys.key_type)
            return false;
    return true;
}

/* Room in e->graves, and e's hold on the rule sets, for every rule of
 * old that e does not keep and whose map has keys (move_maps_whole buries
 * exactly those): made before any key moves, so that burying them cannot
 * fail half way. */
static int graves_reserve(adopt_ctx *c)
{
    weir_engine *e = c->e, *old = c->old;
    size_t gone = 0;
    for (size_t i = 0; i < old->n_rules; i++) {
        if (c->rule_of[i] >= 0 || !old->maps[old->rules[i].map].keys.live)
            continue;
        gone++;
        if (retain(e, old->rules[i].run_rs) != 0)
            return -1;
    }
    if (!gone)
        return 0;
    if (retain(e, old->rs) != 0)
        return -1;
    engine_rule *v = realloc(e->graves, (e->n_graves + gone) * sizeof *v);
    if (!v)
        return -1;
    e->graves = v;
    return 0;
}

/* Hands old's rule j, which e does not keep, to e as a grave (room made by
 * graves_reserve): its runtime frees its states left in the keys e takes
 * over (engine_map grave_at). Its index in e->graves. */
static int32_t bury(weir_engine *e, weir_engine *old, uint32_t j)
{
    engine_rule *gone = &old->rules[j];
    /* only what freeing states needs; the rest stays the old engine's */
    e->graves[e->n_graves] = (engine_rule){.plan = gone->plan,
                                           .index = gone->index,
                                           .map = gone->map,
                                           .pos = gone->pos,
                                           .runtime = gone->runtime,
                                           .run_plan = gone->run_plan,
                                           .run_rs = gone->run_rs,
                                           .spare = gone->spare};
    gone->runtime = NULL;
    gone->spare = NULL;
    return (int32_t)e->n_graves++;
}

/* The fast way: each key table moves as it is, entries in their slots
 * with their generations, so the timers move as they are too, and each
 * key's block is kept as it is. Rules added after the others find it
 * shorter than the map (key_block_rules) and it grows when one first needs
 * room in it. The states of changed and dropped rules stay where they are
 * and are freed, and those of kept rules that changed places are moved,
 * as each key is next touched or swept (engine_map.grave_at and moved_to,
 * weir_engine_sweep). So the swap costs nothing per key. */
static int move_maps_whole(adopt_ctx *c, weir_restore_report *rep)
{
    weir_engine *e = c->e, *old = c->old;
    if (graves_reserve(c) != 0)
        return -1;
    for (size_t mi = 0; mi < old->n_maps; mi++) {
        engine_map *om = &old->maps[mi], *em = &e->maps[mi];
        bool in_place = true, moves_later = false, any_gone = false;
        for (uint32_t i = 0; i < om->n_rules; i++) {
            int64_t ri = c->rule_of[om->rules[i]];
            if (ri < 0)
                any_gone = true;
            else if (e->rules[ri].pos != i)
                in_place = false;
            if (ri >= 0 && e->rules[ri].pos > i)
                moves_later = true;
        }
        int32_t *grave_at = NULL;
        uint32_t *moved_to = NULL, *moved_from = NULL;
        bool lazy = (any_gone || !in_place) && om->keys.live;
        if (lazy) {
            /* all of it before the keys move, so that failing leaves them
             * with old */
            grave_at = malloc(om->n_rules * sizeof *grave_at);
            if (!in_place) {
                moved_to = malloc(om->n_rules * sizeof *moved_to);
                moved_from = malloc((em->n_rules ? em->n_rules : 1) * sizeof *moved_from);
            }
            if (!grave_at || (!in_place && (!moved_to || !moved_from))) {
                free(grave_at);
                free(moved_to);
                free(moved_from);
                return -1;
            }
            for (uint32_t i = 0; i < em->n_rules && moved_from; i++)
                moved_from[i] = UINT32_MAX;
            for (uint32_t i = 0; i < om->n_rules; i++) {
                int64_t ri = c->rule_of[om->rules[i]];
                grave_at[i] = ri < 0 ? bury(e, old, om->rules[i]) : -1;
                if (moved_to)
                    moved_to[i] = ri < 0 ? UINT32_MAX : e->rules[ri].pos;
                if (moved_from && ri >= 0)
                    moved_from[e->rules[ri].pos] = i;
            }
        }
        weir_key_map_clear(&em->keys);
        em->keys = om->keys;
        weir_key_map_init(&om->keys, em->keys.key_type);
        weir_key_map *km = &em->keys;
        if (lazy) {
            em->grave_at = grave_at;
            em->n_grave_at = om->n_rules;
            em->moved_to = moved_to;
            em->moved_from = moved_from;
            em->moves_later = moves_later;
            /* every key moved is now unswept; keys made from now on are not */
            em->sweep_bit = !om->sweep_bit;
            em->sweep_next = 0;
        } else {
            /* nothing to free or move (no key, or the same rules in the
             * same places): the bits as they were mean every key is swept */
            em->sweep_bit = om->sweep_bit;
        }
        e->stats.keys += km->live;
        rep->keys += km->live;
    }
    if (e->stats.keys > e->stats.peak_keys)
        e->stats.peak_keys = e->stats.keys;
    /* every timer still refers to its key's slot and generation; those of
     * keys that went are stale, and skipped when they come due */
    weir_timers moved = old->timers;
    old->timers = e->timers;
    e->timers = moved;
    return 0;
}

/* The old timers of moved keys, in firing order (every one of a live key,
 * as a snapshot keeps them); then keys with no timer at their deadline
 * settle, which arms them. */
static int move_timers(adopt_ctx *c)
{
    weir_engine *e = c->e, *old = c->old;
    const weir_timers *t = &old->timers;
    size_t n_live;
    const weir_timer_bucket **live = weir_timers_in_order(t, &n_live);
    if (!live)
        return -1;
    int rc = -1;
    for (size_t i = 0; i < n_live; i++) {
        const weir_timer_bucket *bk = live[i];
        const weir_timer_ref *items = weir_timer_bucket_items(bk);
        for (size_t k = bk->head; k < bk->n; k++) {
            const weir_timer_ref *ref = &items[k];
            if (!weir_key_map_slot(&old->maps[ref->map].keys, ref->slot, ref->generation))
                continue;
            uint32_t slot = c->slot_of[ref->map][ref->slot];
            if (slot == UINT32_MAX)
                continue;
            uint32_t emi = (uint32_t)c->map_of[ref->map];
            weir_key_entry *entry = &e->maps[emi].keys.slots[slot];
            weir_timer nt = {.at = bk->at, .map = emi, .slot = slot,
                             .generation = entry->generation};
            if (weir_timers_push(&e->timers, nt) != 0)
                goto done;
            if (bk->at == entry->timer_at)
                c->armed[emi][slot] = true;
        }
    }
    for (size_t mi = 0; mi < e->n_maps; mi++) {
        weir_key_map *km = &e->maps[mi].keys;
        for (size_t k = 0; k < km->n_slots; k++) {
            if (!km->slots[k].live || c->armed[mi][k])
                continue;
            km->slots[k].timer_at = INT64_MAX;
            if (weir_engine_settle_key(e, (uint32_t)mi, &km->slots[k], e->released) != 0)
                goto done;
        }
    }
    rc = 0;
done:
    free(live);
    return rc;
}

int weir_engine_adopt(weir_engine *e, weir_engine *old, weir_restore_report *rep)
{
    weir_restore_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (e->stats.events || e->stats.keys || weir_held_queue_size(e->held) ||
        !same_streams(e, old))
        return 1;
    /* old's own dropped states first: its keys move as they are */
    if (weir_engine_sweep(old, SIZE_MAX))
        return 1; /* out of memory, nothing moved: the caller may go the
                     snapshot way, or keep old */
    adopt_ctx c = {.e = e, .old = old};
    c.rule_of = calloc(old->n_rules ? old->n_rules : 1, sizeof *c.rule_of);
    c.map_of = calloc(old->n_maps ? old->n_maps : 1, sizeof *c.map_of);
    c.slot_of = calloc(old->n_maps ? old->n_maps : 1, sizeof *c.slot_of);
    c.armed = calloc(e->n_maps ? e->n_maps : 1, sizeof *c.armed);
    int rc = -1;
    if (!c.rule_of || !c.map_of || !c.slot_of || !c.armed)
        goto done;
    /* progress and counters as they were */
    for (size_t s = 0; s < e->n_streams; s++) {
        e->streams[s].seen = old->streams[s].seen;
        e->streams[s].max_ts = old->streams[s].max_ts;
        e->streams[s].events = old->streams[s].events;
    }
    e->released = old->released;
    e->stats = old->stats;
    e->stats.keys = 0;
    e->stats.partial_matches = 0;
    if (move_rules(&c, rep) != 0)
        goto done;
    if (maps_line_up(e, old)) {
        if (move_maps_whole(&c, rep) != 0)
            goto done;
        goto held;
    }
    if (move_keys(&c, rep) != 0)
        goto done;
    for (size_t mi = 0; mi < e->n_maps; mi++)
        if (!(c.armed[mi] = calloc(e->maps[mi].keys.n_slots ? e->maps[mi].keys.n_slots : 1,
                                   sizeof **c.armed)))
            goto done;
    if (move_timers(&c) != 0)
        goto done;
held:;
    /* the events waiting for the watermark, as they are: same layouts */
    weir_held_queue *held = e->held;
    e->held = old->held;
    old->held = held;
    rep->held_events = weir_held_queue_size(e->held);
    e->stats.held_events = rep->held_events;
    /* copied as old read them: e's rules may read further */
    if (weir_engine_held_fit(e) != 0)
        goto done;
    rc = 0;
done:
    ctx_free(&c);
    return rc;
}
