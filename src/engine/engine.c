/* engine.c — the engine proper: events in, watermarks, keys and timers.
 *
 * Flow of one event (weir_engine_push):
 *   decode (engine/decode.h) -> dead letter on failure
 *   -> its stream's watermark moves (largest time seen minus lateness,
 *      or, while splits are open on the stream, the smallest over them of
 *      their largest time minus lateness: see "splits" below); the
 *      engine's watermark is the smallest over the streams seen so far
 *   -> behind what was already released: late side output
 *   -> held in a (timestamp, arrival) heap until the watermark passes it
 *   -> released in timestamp order, interleaved with the key timers due
 *      by then (a timer due at t fires before the events at t, as Flink
 *      advances a key's NFA to t before processing t's events)
 *   -> each rule reading the stream finds the key's state and runs it.
 * A key whose rules are all idle (no partial match, no open window, no
 * throttle running) is freed at once, so idle keys cost nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile/keep_plan.h"
#include "compile/nfa.h"
#include "compile/window_plan.h"
#include "engine/alert_json.h"
#include "engine/copy_width.h"
#include "engine/engine-internal.h"

static int64_t system_clock(void *user)
{
    (void)user;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ set-up */

static const ast_input *rule_input_for(const ast_rule *r, const ast_stream *s)
{
    for (const ast_input *in = r->inputs; in; in = in->next)
        if (in->stream == s)
            return in;
    return NULL;
}

static uint32_t find_or_add_map(weir_engine *e, weir_type key_type)
{
    for (size_t i = 0; i < e->n_maps; i++)
        if (e->maps[i].keys.key_type == key_type)
            return (uint32_t)i;
    engine_map *maps = realloc(e->maps, (e->n_maps + 1) * sizeof *maps);
    if (!maps)
        abort();
    e->maps = maps;
    engine_map *m = &e->maps[e->n_maps];
    memset(m, 0, sizeof *m);
    weir_key_map_init(&m->keys, key_type);
    return (uint32_t)e->n_maps++;
}

static void add_u32(uint32_t **arr, uint32_t *n, uint32_t v)
{
    uint32_t *a = realloc(*arr, (*n + 1) * sizeof *a);
    if (!a)
        abort();
    a[(*n)++] = v;
    *arr = a;
}

/* Marks the fields a compiled program reads. FIELD reads the current event,
 * which may come from any input of the rule; STEP_* read a step's stream. */
static void mark_program(bool **used, const weir_rule_plan *plan, const weir_expr_program *p,
                         const weir_engine *e, unsigned current_stream)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->n_code; i++) {
        const weir_instr *in = &p->code[i];
        switch (in->op) {
        case WEIR_OP_FIELD:
            if (in->c < e->streams[current_stream].ast->n_fields)
                used[current_stream][in->c] = true;
            break;
        case WEIR_OP_STEP_FIELD:
        case WEIR_OP_STEP_AGG:
        case WEIR_OP_STEP_CDIST_I64:
        case WEIR_OP_STEP_CDIST_F64:
        case WEIR_OP_STEP_CDIST_STR:
        case WEIR_OP_STEP_CDIST_BOOL:
            if (plan->steps && in->a < plan->nfa->n_steps) {
                unsigned s = plan->steps[in->a].stream;
                if (in->c < e->streams[s].ast->n_fields)
                    used[s][in->c] = true;
            }
            break;
        default:
            break;
        }
    }
}

static void mark_emit_program(bool **used, const engine_rule *r, const weir_expr_program *p,
                              const weir_engine *e)
{
    mark_program(used, r->plan, p, e, r->first_input);
    if (!p || !r->remap)
        return;
    for (uint32_t i = 0; i < p->n_code; i++) {
        if (p->code[i].op != WEIR_OP_FIELD)
            continue;
        for (size_t s = 0; s < e->n_streams; s++)
            if (r->remap[s] && p->code[i].c < e->streams[r->first_input].ast->n_fields &&
                r->remap[s][p->code[i].c] != WEIR_NO_FIELD)
                used[s][r->remap[s][p->code[i].c]] = true;
    }
}

static void mark_used_fields(bool **used, const weir_engine *e, const engine_rule *r)
{
    const weir_rule_plan *plan = r->plan;
    for (size_t s = 0; s < e->n_streams; s++)
        if (r->key_field[s] != WEIR_NO_FIELD)
            used[s][r->key_field[s]] = true;
    if (plan->nfa) {
        for (uint32_t i = 0; i < plan->nfa->n_steps; i++) {
            mark_program(used, plan, plan->steps[i].where, e, plan->steps[i].stream);
            mark_program(used, plan, plan->steps[i].until, e, plan->steps[i].stream);
        }
        for (uint32_t g = 0; g < plan->nfa->n_groups; g++) {
            const weir_nfa_group *grp = &plan->nfa->groups[g];
            mark_program(used, plan, plan->group_until[g], e,
                         plan->steps[grp->first_step].stream);
        }
        /* a bare field name in `emit` reads the match's last event, from
         * any input: the field of that name is used in every input */
        for (unsigned i = 0; i < plan->emit.n_fields; i++)
            mark_emit_program(used, r, plan->emit.fields[i].value, e);
        for (unsigned i = 0; i < plan->timeout_emit.n_fields; i++)
            mark_emit_program(used, r, plan->timeout_emit.fields[i].value, e);
        /* the keep's `where` and items read the events they remember */
        if (plan->keep) {
            const weir_keep_plan *k = plan->keep;
            mark_program(used, plan, k->where, e, k->stream);
            for (unsigned i = 0; i < k->n_items; i++)
                mark_program(used, plan, k->items[i].arg, e, k->stream);
        }
    } else if (plan->window) {
        const weir_window_plan *w = plan->window;
        unsigned s = 0;
        for (size_t k = 0; k < e->n_streams; k++)
            if (r->key_field[k] != WEIR_NO_FIELD)
                s = (unsigned)k;
        mark_program(used, plan, w->filter, e, s);
        for (unsigned i = 0; i < w->n_aggs; i++)
            mark_program(used, plan, w->aggs[i].arg, e, s);
    }
}

/* A pattern rule's stored events keep each stream's fields up to the last
 * one any rule reads (all of them when alerts list whole events); the
 * event-time field is the event's ts, so only a rule that reads it as a
 * field makes it count. A swap that hands a runtime over sets its widths
 * again (engine_adopt.c). */
static void set_store_widths(weir_engine *e, const bool *const *used)
{
    for (size_t s = 0; s < e->n_streams; s++) {
        uint32_t n = e->streams[s].ast->n_fields, width = 0;
        for (uint32_t f = 0; f < n; f++)
            if (used[s][f] || e->opt.decode_all_fields)
                width = f + 1;
        e->streams[s].store_width = width;
    }
    for (size_t i = 0; i < e->n_rules; i++)
        weir_rule_store_widths(e, &e->rules[i]);
}

static int init_rule(weir_engine *e, engine_rule *r, size_t index)
{
    const weir_rule_plan *plan = &e->rs->rules[index];
    const ast_rule *ast = plan->ast;
    r->plan = plan;
    r->run_plan = plan;
    r->run_rs = e->rs;
    r->index = index;
    r->severity = ast->severity == AST_SEVERITY_DEFAULT ? "medium"
                                                         : weir_ast_severity_text(ast->severity);
    r->throttled = ast->has_throttle;
    r->throttle_ms = ast->throttle_ms;
    r->n_sinks = ast->emit.n_sinks;
    r->sinks = calloc(r->n_sinks ? r->n_sinks : 1, sizeof *r->sinks);
    r->key_field = calloc(e->n_streams ? e->n_streams : 1, sizeof *r->key_field);
    if (!r->sinks || !r->key_field)
        return -1;
    for (size_t i = 0; i < r->n_sinks; i++)
        r->sinks[i] = ast->emit.sinks[i].name;
    weir_type key_type = WEIR_T_STRING;
    for (size_t s = 0; s < e->n_streams; s++) {
        const ast_input *in = rule_input_for(ast, e->streams[s].ast);
        r->key_field[s] = in && in->key ? in->key->index : WEIR_NO_FIELD;
        if (in && in->key)
            key_type = in->key->type;
    }
    r->first_input = 0;
    size_t n_inputs = 0;
    for (const ast_input *in = ast->inputs; in; in = in->next)
        n_inputs++;
    for (size_t s = 0; s < e->n_streams; s++)
        if (ast->inputs && e->streams[s].ast == ast->inputs->stream)
            r->first_input = (unsigned)s;
    if (n_inputs > 1 && ast->kind == AST_RULE_PATTERN) {
        const ast_stream *first = e->streams[r->first_input].ast;
        r->remap = calloc(e->n_streams, sizeof *r->remap);
        r->remapped = calloc(first->n_fields ? first->n_fields : 1, sizeof *r->remapped);
        if (!r->remap || !r->remapped)
            return -1;
        for (size_t s = 0; s < e->n_streams; s++) {
            if (s == r->first_input || r->key_field[s] == WEIR_NO_FIELD)
                continue;
            r->remap[s] = malloc((first->n_fields ? first->n_fields : 1) * sizeof **r->remap);
            if (!r->remap[s])
                return -1;
            for (const ast_field *f = first->fields; f; f = f->next) {
                r->remap[s][f->index] = WEIR_NO_FIELD;
                for (const ast_field *g = e->streams[s].ast->fields; g; g = g->next)
                    if (strcmp(g->name.name, f->name.name) == 0 && g->type == f->type)
                        r->remap[s][f->index] = g->index;
            }
        }
    }
    r->map = find_or_add_map(e, key_type);
    engine_map *m = &e->maps[r->map];
    r->pos = m->n_rules;
    add_u32(&m->rules, &m->n_rules, (uint32_t)index);
    for (size_t s = 0; s < e->n_streams; s++)
        if (r->key_field[s] != WEIR_NO_FIELD)
            add_u32(&e->streams[s].rules, &e->streams[s].n_rules, (uint32_t)index);
    return weir_rule_runner_init(e, r);
}

weir_engine *weir_engine_new(const weir_ruleset *rs, const weir_engine_options *opt)
{
    weir_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->rs = rs;
    if (opt)
        e->opt = *opt;
    if (!e->opt.clock)
        e->opt.clock = system_clock;
    e->released = INT64_MIN;
    e->stats.watermark = INT64_MIN;
    e->default_stream = WEIR_DECODE_STREAM_UNKNOWN;
    e->splits.idle_ms =
        e->opt.split_idle_ms ? e->opt.split_idle_ms : WEIR_SPLIT_IDLE_DEFAULT_MS;
    e->scratch.buf = e->scratch_buf;
    e->scratch.cap = sizeof e->scratch_buf;
    weir_timers_init(&e->timers);
    e->held = weir_held_queue_new();
    e->gen = yajl_gen_alloc(NULL);
    e->n_streams = rs->n_streams;
    e->streams = calloc(e->n_streams ? e->n_streams : 1, sizeof *e->streams);
    e->rules = calloc(rs->n_rules ? rs->n_rules : 1, sizeof *e->rules);
    if (!e->held || !e->gen || !e->streams || !e->rules)
        goto fail;
    for (size_t s = 0; s < e->n_streams; s++) {
        engine_stream *st = &e->streams[s];
        st->ast = rs->streams[s];
        st->processing_time = !st->ast->event_time || !st->ast->time_field_ref;
        st->lateness = st->ast->lateness_ms;
        st->max_ts = INT64_MIN;
        st->split_floor = INT64_MAX;
    }
    for (size_t i = 0; i < rs->n_rules; i++) {
        e->n_rules = i + 1;
        if (init_rule(e, &e->rules[i], i) != 0)
            goto fail;
    }

    bool **used = calloc(e->n_streams ? e->n_streams : 1, sizeof *used);
    if (!used)
        goto fail;
    bool ok = true;
    for (size_t s = 0; s < e->n_streams; s++) {
        used[s] = calloc(e->streams[s].ast->n_fields + 1, sizeof **used);
        ok &= used[s] != NULL;
    }
    if (ok) {
        for (size_t i = 0; i < e->n_rules; i++)
            mark_used_fields(used, e, &e->rules[i]);
        set_store_widths(e, (const bool *const *)used);
        for (size_t s = 0; s < e->n_streams; s++)
            if (e->streams[s].ast->time_field_ref && !e->streams[s].processing_time)
                used[s][e->streams[s].ast->time_field_ref->index] = true;
    }
    if (ok)
        e->decoder = (e->opt.decode_all_fields ? weir_decoder_new_full : weir_decoder_new)(
            rs->streams, rs->n_streams, (const bool *const *)used,
            e->opt.stream_field ? e->opt.stream_field : "stream");
    for (size_t s = 0; s < e->n_streams; s++)
        free(used[s]);
    free(used);
    if (!e->decoder)
        goto fail;
    if (e->opt.default_stream) {
        unsigned found = WEIR_DECODE_STREAM_UNKNOWN;
        for (size_t s = 0; s < e->n_streams; s++)
            if (strcmp(e->streams[s].ast->name.name, e->opt.default_stream) == 0)
                found = (unsigned)s;
        if (found == WEIR_DECODE_STREAM_UNKNOWN || weir_decoder_set_default_stream(e->decoder, found))
            goto fail;
        e->default_stream = found;
    }
    return e;
fail:
    weir_engine_free(e);
    return NULL;
}

/* Every key of m swept: what the sweep needed goes. */
static void map_swept(engine_map *m)
{
    free(m->grave_at);
    free(m->moved_to);
    free(m->moved_from);
    m->grave_at = NULL;
    m->moved_to = m->moved_from = NULL;
    m->moves_later = false;
    m->n_grave_at = 0;
    m->sweep_next = 0;
}

/* The dropped rules' runtimes, once no key holds a state of theirs. */
static void graves_free(weir_engine *e)
{
    for (size_t i = 0; i < e->n_graves; i++) {
        if (e->graves[i].spare)
            weir_rule_key_free(&e->graves[i], e->graves[i].spare);
        weir_rule_runner_fini(&e->graves[i]);
    }
    free(e->graves);
    e->graves = NULL;
    e->n_graves = 0;
}

static void free_block(weir_engine *e, engine_map *m, const weir_key_entry *entry)
{
    key_block *b = entry->state;
    if (!b)
        return;
    if (m->grave_at && entry->swept != m->sweep_bit) {
        /* left unswept (memory ran out): its states in the old places */
        uint32_t room = key_block_min(m->n_grave_at, key_block_rules(b));
        for (uint32_t i = 0; i < room; i++) {
            if (!b->states[i])
                continue;
            if (m->grave_at[i] >= 0)
                weir_rule_key_free(&e->graves[m->grave_at[i]], b->states[i]);
            else
                weir_rule_key_free(&e->rules[m->rules[m->moved_to ? m->moved_to[i] : i]],
                                   b->states[i]);
        }
        weir_engine_free_block(m, b);
        return;
    }
    uint32_t n = key_block_min(m->n_rules, key_block_rules(b));
    for (uint32_t i = 0; i < n; i++)
        if (b->states[i])
            weir_rule_key_free(&e->rules[m->rules[i]], b->states[i]);
    weir_engine_free_block(m, b);
}

void weir_engine_free(weir_engine *e)
{
    if (!e)
        return;
    /* the dropped rules' states first; keys left unswept (memory ran out)
     * are freed in their old order */
    (void)weir_engine_sweep(e, SIZE_MAX);
    for (size_t i = 0; i < e->n_maps; i++) {
        engine_map *m = &e->maps[i];
        for (size_t k = 0; k < m->keys.n_slots; k++)
            if (m->keys.slots[k].live)
                free_block(e, m, &m->keys.slots[k]);
        weir_key_map_clear(&m->keys);
        map_swept(m);
        free(m->rules);
    }
    free(e->maps);
    graves_free(e);
    for (size_t i = 0; i < e->n_rules; i++) {
        if (e->rules[i].spare)
            weir_rule_key_free(&e->rules[i], e->rules[i].spare);
        weir_rule_runner_fini(&e->rules[i]);
        if (e->rules[i].remap)
            for (size_t s = 0; s < e->n_streams; s++)
                free(e->rules[i].remap[s]);
        free(e->rules[i].remap);
        free(e->rules[i].remapped);
        free(e->rules[i].sinks);
        free(e->rules[i].key_field);
    }
    free(e->rules);
    for (size_t s = 0; s < e->n_streams; s++)
        free(e->streams[s].rules);
    free(e->streams);
    free(e->splits.v);
    weir_decoder_free(e->decoder);
    weir_held_queue_free(e->held);
    weir_timers_clear(&e->timers);
    if (e->gen)
        yajl_gen_free(e->gen);
    /* last: the runtimes and key states freed above read these plans */
    for (size_t i = 0; i < e->n_retained; i++)
        weir_ruleset_free((weir_ruleset *)e->retained[i]);
    free(e->retained);
    free(e);
}

/* ------------------------------------------------------------ held events */

/* A held event keeps the fields up to its stream's store_width, as the
 * stored copies of pattern rules do (engine/copy_width.h). */
weir_value weir_engine_held_field(const weir_engine *e, const weir_held_event *ev, uint32_t f)
{
    return weir_copy_field(ev->fields, ev->n_fields, f,
                           weir_stream_time_field(e->streams[ev->stream].ast), ev->ts);
}

int weir_engine_held_fit(weir_engine *e)
{
    size_t n = weir_held_queue_size(e->held);
    bool narrow = false;
    for (size_t i = 0; i < n && !narrow; i++) {
        const weir_held_event *ev = weir_held_queue_at(e->held, i);
        narrow = ev->n_fields < e->streams[ev->stream].store_width;
    }
    if (!narrow)
        return 0;
    weir_held_queue *q = weir_held_queue_new();
    weir_value *fields = NULL;
    size_t cap = 0;
    for (size_t i = 0; q && i < n; i++) {
        const weir_held_event *ev = weir_held_queue_at(e->held, i);
        uint32_t width = e->streams[ev->stream].store_width;
        if (width < ev->n_fields)
            width = ev->n_fields;
        if (width > cap) {
            weir_value *grown = realloc(fields, width * sizeof *fields);
            if (!grown)
                goto fail;
            fields = grown;
            cap = width;
        }
        for (uint32_t f = 0; f < width; f++)
            fields[f] = weir_engine_held_field(e, ev, f);
        /* pushing them in any order gives the same queue */
        if (weir_held_queue_push(q, fields, width, ev->stream, ev->ts, ev->seq) != 0)
            goto fail;
    }
    if (!q)
        return -1;
    free(fields);
    weir_held_queue_free(e->held);
    e->held = q;
    return 0;
fail:
    free(fields);
    weir_held_queue_free(q);
    return -1;
}

/* ------------------------------------------------------------ keys */

/* Blocks come from the map's pools: every live key has one, and a 24-byte
 * block took a 32-byte malloc chunk. */
key_block *weir_engine_new_block(engine_map *m, uint32_t n_rules)
{
    size_t bytes = key_block_bytes(n_rules);
    key_block *b = weir_key_map_block_get(&m->keys, bytes);
    if (!b)
        return NULL;
    memset(b, 0, bytes);
    b->last_alert = (int64_t *)(b->states + n_rules);
    for (uint32_t i = 0; i < n_rules; i++)
        b->last_alert[i] = INT64_MIN;
    return b;
}

void weir_engine_free_block(engine_map *m, key_block *b)
{
    weir_key_map_block_put(&m->keys, b, key_block_bytes(key_block_rules(b)));
}

/* ------------------------------------------------------------ sweep */

int weir_engine_key_sweep(weir_engine *e, engine_map *m, weir_key_entry *entry)
{
    key_block *b = entry->state;
    uint32_t room = key_block_min(m->n_grave_at, key_block_rules(b));
    /* a rule moved to a later place may not fit: a block in the new
     * order, made before anything is freed so that failing changes nothing */
    key_block *nb = b;
    if (m->moves_later && !(nb = weir_engine_new_block(m, m->n_rules)))
        return -1;
    for (uint32_t i = 0; i < room; i++) {
        if (m->grave_at[i] < 0)
            continue;
        if (b->states[i])
            weir_rule_key_free(&e->graves[m->grave_at[i]], b->states[i]);
        b->states[i] = NULL;
        b->last_alert[i] = INT64_MIN;
    }
    /* kept rules to their places: into the new block; or within this one,
     * lowest first, each into a place already emptied (all go earlier) */
    for (uint32_t i = 0; m->moved_to && i < room; i++) {
        uint32_t to = m->moved_to[i];
        if (to == UINT32_MAX || (to == i && nb == b))
            continue;
        void *state = b->states[i];
        int64_t last = b->last_alert[i];
        b->states[i] = NULL;
        b->last_alert[i] = INT64_MIN;
        nb->states[to] = state;
        nb->last_alert[to] = last;
    }
    if (nb != b) {
        entry->state = nb;
        if (e->cur_block == b)
            e->cur_block = nb;
        weir_engine_free_block(m, b);
    }
    entry->swept = m->sweep_bit;
    return 0;
}

static bool block_empty(const key_block *b)
{
    for (uint32_t i = 0, n = key_block_rules(b); i < n; i++)
        if (b->states[i] || b->last_alert[i] != INT64_MIN)
            return false;
    return true;
}

bool weir_engine_sweep_pending(const weir_engine *e)
{
    if (e->n_graves > 0)
        return true;
    for (size_t mi = 0; mi < e->n_maps; mi++)
        if (e->maps[mi].grave_at) /* rules moved, none dropped */
            return true;
    return false;
}

bool weir_engine_sweep(weir_engine *e, size_t budget)
{
    bool left = false;
    for (size_t mi = 0; mi < e->n_maps; mi++) {
        engine_map *m = &e->maps[mi];
        if (!m->grave_at)
            continue;
        weir_key_map *km = &m->keys;
        for (; m->sweep_next < km->n_slots && budget > 0; m->sweep_next++, budget--) {
            weir_key_entry *entry = &km->slots[m->sweep_next];
            if (!entry->live || entry->swept == m->sweep_bit)
                continue;
            if (weir_engine_key_sweep(e, m, entry) != 0)
                break; /* out of memory: this key waits for the next call */
            if (block_empty(entry->state)) { /* only dropped rules had something */
                weir_engine_free_block(m, entry->state);
                entry->state = NULL;
                weir_key_map_remove(km, entry);
                e->stats.keys--;
            }
        }
        if (m->sweep_next < km->n_slots) {
            left = true;
            continue;
        }
        map_swept(m);
    }
    if (!left)
        graves_free(e);
    return left;
}

key_block *weir_engine_block_fit(weir_engine *e, engine_map *m, weir_key_entry *entry)
{
    key_block *b = entry->state;
    uint32_t have = key_block_rules(b);
    if (have >= m->n_rules)
        return b;
    key_block *nb = weir_engine_new_block(m, m->n_rules);
    if (!nb)
        return NULL;
    memcpy(nb->states, b->states, have * sizeof *b->states);
    memcpy(nb->last_alert, b->last_alert, have * sizeof *b->last_alert);
    entry->state = nb;
    if (e->cur_block == b)
        e->cur_block = nb;
    weir_engine_free_block(m, b);
    return nb;
}

static void count_partials(weir_engine *e, engine_rule *r, int64_t delta)
{
    r->partials = (uint64_t)((int64_t)r->partials + delta);
    e->stats.partial_matches = (uint64_t)((int64_t)e->stats.partial_matches + delta);
    if (e->stats.partial_matches > e->stats.peak_partial_matches)
        e->stats.peak_partial_matches = e->stats.partial_matches;
}

/* After a key's states changed: frees idle states, frees the key when
 * nothing is left, or (re)arms its timer on its earliest deadline. `now`
 * is the event time being processed: a throttle that ends by then is over. */
int weir_engine_settle_key(weir_engine *e, uint32_t map_index, weir_key_entry *entry, int64_t now)
{
    engine_map *m = &e->maps[map_index];
    key_block *b = entry->state;
    int64_t deadline = INT64_MAX;
    bool empty = true;
    uint32_t n = key_block_min(m->n_rules, key_block_rules(b));
    for (uint32_t i = 0; i < n; i++) {
        engine_rule *r = &e->rules[m->rules[i]];
        if (b->states[i] && weir_rule_idle(r, b->states[i])) {
            weir_rule_key_free(r, b->states[i]);
            b->states[i] = NULL;
            r->states--;
        }
        if (b->states[i]) {
            empty = false;
            int64_t d = weir_rule_next_deadline(r, b->states[i]);
            if (d < deadline)
                deadline = d;
        }
        if (r->throttled && b->last_alert[i] != INT64_MIN) {
            int64_t until = b->last_alert[i] > INT64_MAX - r->throttle_ms
                                ? INT64_MAX
                                : b->last_alert[i] + r->throttle_ms;
            if (until > now) {
                empty = false;
                if (until < deadline)
                    deadline = until;
            }
        }
    }
    if (empty) {
        free_block(e, m, entry);
        weir_key_map_remove(&m->keys, entry);
        e->stats.keys--;
        return 0;
    }
    if (deadline < entry->timer_at) {
        weir_timer t = {.at = deadline,
                        .map = map_index,
                        .slot = (uint32_t)(entry - m->keys.slots),
                        .generation = entry->generation};
        if (weir_timers_push(&e->timers, t) != 0)
            return -1;
        entry->timer_at = deadline;
    }
    return 0;
}

/* The entry and block of `key` in map m, made if absent. NULL when out of
 * memory. */
weir_key_entry *weir_engine_key_entry(weir_engine *e, engine_map *m, const weir_value *key,
                                      uint64_t hash)
{
    uint32_t slot;
    weir_key_entry *entry = weir_key_map_upsert(&m->keys, key, hash, &slot);
    if (!entry)
        return NULL;
    if (!entry->state) {
        entry->state = weir_engine_new_block(m, m->n_rules);
        if (!entry->state) {
            weir_key_map_remove(&m->keys, entry);
            return NULL;
        }
        entry->swept = m->sweep_bit; /* nothing of a dropped rule in it */
        if (++e->stats.keys > e->stats.peak_keys)
            e->stats.peak_keys = e->stats.keys;
    } else if (key_clean(e, m, entry) != 0) {
        return NULL;
    }
    return entry;
}

key_block *weir_engine_current_block(weir_engine *e, const engine_rule *r)
{
    engine_map *m = &e->maps[r->map];
    weir_key_entry *entry =
        weir_engine_key_entry(e, m, e->cur_key, weir_key_hash(m->keys.key_type, e->cur_key));
    if (!entry)
        return NULL;
    e->cur_entry = entry;
    e->cur_block = entry->state;
    return entry->state;
}

/* Runs one rule on an event of a key that has no state for it, on the
 * rule's spare state. Most events start nothing (a payment that is not a
 * probe): they cost no key, no block and no state. */
static int run_on_spare(weir_engine *e, engine_rule *r, engine_map *m, const weir_value *key,
                        uint64_t hash, weir_key_entry *entry, const weir_value *fields,
                        unsigned stream, int64_t ts, uint64_t seq)
{
    if (!r->spare && !(r->spare = weir_rule_key_new(r)))
        return -1;
    size_t live = m->keys.live;
    e->cur_key = key;
    e->cur_entry = NULL;
    e->cur_block = NULL;
    int rc = weir_rule_process(e, r, r->spare, fields, stream, ts, seq);
    e->cur_key = NULL;
    e->cur_entry = NULL;
    e->cur_block = NULL;
    if (rc != 0)
        return -1;
    bool idle = weir_rule_idle(r, r->spare);
    /* a throttled alert may have made the entry (and moved the others) */
    if (m->keys.live != live)
        entry = weir_key_map_find(&m->keys, key, hash);
    if (!idle) {
        if (!(entry = weir_engine_key_entry(e, m, key, hash)))
            return -1;
        key_block *b = weir_engine_block_fit(e, m, entry);
        if (!b)
            return -1;
        b->states[r->pos] = r->spare;
        r->spare = NULL;
        r->states++;
        count_partials(e, r, (int64_t)weir_rule_partials(r, b->states[r->pos]));
    }
    return entry ? weir_engine_settle_key(e, r->map, entry, ts) : 0;
}

/* Runs every rule reading `stream` on one event. */
static int dispatch(weir_engine *e, const weir_value *fields, unsigned stream, int64_t ts,
                    uint64_t seq)
{
    engine_stream *st = &e->streams[stream];
    e->stats.processed++;
    for (uint32_t k = 0; k < st->n_rules; k++) {
        engine_rule *r = &e->rules[st->rules[k]];
        const weir_value *key = &fields[r->key_field[stream]];
        if (key->missing)
            continue; /* no key, no state: the event cannot match per key */
        r->events++;
        engine_map *m = &e->maps[r->map];
        uint64_t hash = weir_key_hash(m->keys.key_type, key);
        weir_key_entry *entry = weir_key_map_find(&m->keys, key, hash);
        if (entry && key_clean(e, m, entry) != 0)
            return -1;
        key_block *b = entry ? entry->state : NULL;
        if (!b || !key_block_state(b, r->pos)) {
            if (run_on_spare(e, r, m, key, hash, entry, fields, stream, ts, seq) != 0)
                return -1;
            continue;
        }
        e->cur_key = key; /* the entry's key, equal to the event's */
        e->cur_entry = entry;
        e->cur_block = b;
        size_t before = weir_rule_partials(r, b->states[r->pos]);
        int rc = weir_rule_process(e, r, b->states[r->pos], fields, stream, ts, seq);
        count_partials(e, r, (int64_t)weir_rule_partials(r, b->states[r->pos]) - (int64_t)before);
        e->cur_key = NULL;
        e->cur_entry = NULL;
        e->cur_block = NULL;
        if (rc != 0 || weir_engine_settle_key(e, r->map, entry, ts) != 0)
            return -1;
    }
    return 0;
}

/* A key's timer is due: advances every rule state of the key to `at`. */
static int fire_timer(weir_engine *e, weir_timer t)
{
    engine_map *m = &e->maps[t.map];
    weir_key_entry *entry = weir_key_map_slot(&m->keys, t.slot, t.generation);
    if (!entry || entry->timer_at != t.at)
        return 0; /* stale: the key was freed or re-armed since */
    entry->timer_at = INT64_MAX;
    e->stats.timers_fired++;
    if (key_clean(e, m, entry) != 0)
        return -1;
    key_block *b = entry->state;
    e->cur_key_value = weir_key_entry_key(m->keys.key_type, entry);
    e->cur_key = &e->cur_key_value;
    e->cur_entry = entry;
    e->cur_block = b;
    uint32_t n = key_block_min(m->n_rules, key_block_rules(b));
    for (uint32_t i = 0; i < n; i++) {
        engine_rule *r = &e->rules[m->rules[i]];
        if (!b->states[i] || weir_rule_next_deadline(r, b->states[i]) > t.at)
            continue;
        size_t before = weir_rule_partials(r, b->states[i]);
        int rc = weir_rule_advance(e, r, b->states[i], t.at);
        count_partials(e, r, (int64_t)weir_rule_partials(r, b->states[i]) - (int64_t)before);
        if (rc != 0) {
            e->cur_key = NULL;
            e->cur_entry = NULL;
            e->cur_block = NULL;
            return -1;
        }
    }
    e->cur_key = NULL;
    e->cur_entry = NULL;
    e->cur_block = NULL;
    return weir_engine_settle_key(e, t.map, entry, t.at);
}

/* Fires the timers due at or before `upto`. */
/* Keys due together are scattered in memory, and a firing touches the key
 * entry, its block and the rule state, one after the other: a chain of
 * cache misses. Prefetching them a few timers ahead, one link per step,
 * overlaps those misses (sliding windows fire ~7 times per event). */
static void prefetch_ahead(const weir_engine *e)
{
    const weir_timer_ref *far = weir_timers_ahead(&e->timers, 8);
    if (far)
        __builtin_prefetch(&e->maps[far->map].keys.slots[far->slot]);
    const weir_timer_ref *mid = weir_timers_ahead(&e->timers, 4);
    if (mid && mid->slot < e->maps[mid->map].keys.n_slots) {
        const weir_key_entry *entry = &e->maps[mid->map].keys.slots[mid->slot];
        if (entry->live && entry->state)
            __builtin_prefetch(entry->state);
    }
    const weir_timer_ref *near = weir_timers_ahead(&e->timers, 2);
    if (near && near->slot < e->maps[near->map].keys.n_slots) {
        const weir_key_entry *entry = &e->maps[near->map].keys.slots[near->slot];
        const key_block *b = entry->live ? entry->state : NULL;
        if (b && b->states[0])
            __builtin_prefetch(b->states[0]);
    }
    const weir_timer_ref *next = weir_timers_ahead(&e->timers, 1);
    if (next && next->slot < e->maps[next->map].keys.n_slots) {
        const engine_map *m = &e->maps[next->map];
        const weir_key_entry *entry = &m->keys.slots[next->slot];
        const key_block *b = entry->live ? entry->state : NULL;
        uint32_t at = b ? key_place(m, entry, 0) : UINT32_MAX;
        if (b && at < key_block_rules(b) && b->states[at])
            weir_rule_prefetch(&e->rules[m->rules[0]], b->states[at]);
    }
}

static int fire_due_timers(weir_engine *e, int64_t upto)
{
    weir_timer due;
    while (weir_timers_peek(&e->timers, &due) && due.at <= upto) {
        prefetch_ahead(e);
        weir_timers_pop(&e->timers);
        if (fire_timer(e, due) != 0)
            return -1;
    }
    return 0;
}

static inline int fire_timers(weir_engine *e, int64_t upto)
{
    return weir_timers_next_at(&e->timers) > upto ? 0 : fire_due_timers(e, upto);
}

/* Feeds every held event with ts <= watermark, and the timers due
 * meanwhile, in time order. */
static int release(weir_engine *e, int64_t watermark)
{
    const weir_held_event *ev;
    while ((ev = weir_held_queue_peek(e->held)) && ev->ts <= watermark) {
        if (fire_timers(e, ev->ts) != 0)
            return -1;
        if (ev->ts > e->released)
            e->released = ev->ts;
        int rc = dispatch(e, ev->fields, ev->stream, ev->ts, ev->seq);
        weir_held_queue_pop(e->held);
        if (rc != 0)
            return -1;
    }
    if (fire_timers(e, watermark) != 0)
        return -1;
    if (watermark > e->released)
        e->released = watermark;
    e->stats.held_events = weir_held_queue_size(e->held);
    return 0;
}

/* t less lateness; INT64_MIN (nothing seen) stays INT64_MIN. */
static int64_t less_lateness(int64_t t, int64_t lateness)
{
    return t < INT64_MIN + lateness ? INT64_MIN : t - lateness;
}

/* A stream's watermark, into *out; false when the stream holds nothing
 * back (no event yet and no split holding it). Open, non-idle splits
 * decide it when there are any; else the largest time seen. */
static bool stream_watermark(const engine_stream *st, int64_t *out)
{
    if (st->n_holding) {
        *out = less_lateness(st->split_floor, st->lateness);
        return true;
    }
    if (!st->seen)
        return false;
    *out = less_lateness(st->max_ts, st->lateness);
    return true;
}

static void recompute_floors(weir_engine *e);

/* The engine's watermark: the smallest over the streams that have seen
 * events or are held by a split (a stream that never had one does not
 * hold the others back). */
static int64_t engine_watermark(weir_engine *e)
{
    if (e->splits.dirty)
        recompute_floors(e);
    int64_t wm = INT64_MAX;
    bool any = false;
    for (size_t s = 0; s < e->n_streams; s++) {
        const engine_stream *st = &e->streams[s];
        int64_t w;
        if (!st->n_rules || !stream_watermark(st, &w))
            continue;
        if (w < wm)
            wm = w;
        any = true;
    }
    return any ? wm : INT64_MIN;
}

/* ------------------------------------------------------------ splits
 *
 * The bookkeeping is e->splits (engine-internal.h); each stream's
 * n_holding and split_floor are derived from it here. An event costs a
 * lookup (the last split used is tried first) and a compare; the floors
 * are recomputed — O(splits + streams) — only when they may have moved:
 * a split opened, closed, went idle or came back, or the split that was
 * the lowest of its stream moved up. */

static engine_split *find_split(weir_engine *e, uint64_t id)
{
    engine_splits *sp = &e->splits;
    if (sp->last < sp->n && sp->v[sp->last].id == id)
        return &sp->v[sp->last];
    for (size_t i = 0; i < sp->n; i++)
        if (sp->v[i].id == id) {
            sp->last = i;
            return &sp->v[i];
        }
    return NULL;
}

static void recompute_floors(weir_engine *e)
{
    for (size_t s = 0; s < e->n_streams; s++) {
        e->streams[s].n_holding = 0;
        e->streams[s].split_floor = INT64_MAX;
    }
    for (size_t i = 0; i < e->splits.n; i++) {
        const engine_split *sp = &e->splits.v[i];
        if (sp->idle)
            continue;
        size_t from = sp->stream == ENGINE_SPLIT_ALL ? 0 : sp->stream;
        size_t to = sp->stream == ENGINE_SPLIT_ALL ? e->n_streams : (size_t)sp->stream + 1;
        for (size_t s = from; s < to; s++) {
            engine_stream *st = &e->streams[s];
            if (st->processing_time)
                continue; /* arrival order: nothing to wait for */
            st->n_holding++;
            if (sp->max_ts < st->split_floor)
                st->split_floor = sp->max_ts;
        }
    }
    e->splits.dirty = false;
}

/* Notes that split sp reached time ts. */
static void split_reached(weir_engine *e, engine_split *sp, int64_t ts)
{
    if (ts <= sp->max_ts)
        return;
    /* only the lowest split of a stream sets its floor */
    if (sp->stream == ENGINE_SPLIT_ALL || sp->max_ts <= e->streams[sp->stream].split_floor)
        e->splits.dirty = true;
    sp->max_ts = ts;
}

static void split_active(weir_engine *e, engine_split *sp)
{
    sp->activity++;
    if (sp->idle) {
        sp->idle = false;
        e->splits.dirty = true;
    }
}

static int release(weir_engine *e, int64_t watermark);

/* After the splits changed outside an event: the watermark may have
 * moved up; release what it passes. */
static int settle_splits(weir_engine *e)
{
    if (!e->splits.dirty)
        return 0;
    int64_t wm = engine_watermark(e);
    if (wm > e->stats.watermark)
        e->stats.watermark = wm;
    return release(e, wm);
}

int weir_engine_split_open(weir_engine *e, uint64_t id, size_t stream, int64_t start)
{
    if (stream != WEIR_SPLIT_ALL_STREAMS && stream >= e->n_streams)
        return -1;
    engine_splits *ss = &e->splits;
    engine_split *sp = find_split(e, id);
    if (!sp) {
        if (ss->n == ss->cap) {
            size_t cap = ss->cap ? ss->cap * 2 : 8;
            engine_split *v = realloc(ss->v, cap * sizeof *v);
            if (!v)
                return -1;
            ss->v = v;
            ss->cap = cap;
        }
        sp = &ss->v[ss->n++];
        *sp = (engine_split){.id = id, .max_ts = INT64_MIN};
    }
    sp->stream = stream == WEIR_SPLIT_ALL_STREAMS ? ENGINE_SPLIT_ALL : (uint32_t)stream;
    if (start > sp->max_ts)
        sp->max_ts = start;
    sp->idle = false;
    sp->last_active = e->opt.clock(e->opt.clock_user);
    sp->activity_seen = sp->activity;
    ss->dirty = true;
    /* a rebound split may hold a stream less than before */
    return settle_splits(e);
}

int weir_engine_split_close(weir_engine *e, uint64_t id)
{
    engine_split *sp = find_split(e, id);
    if (!sp)
        return 0;
    engine_splits *ss = &e->splits;
    *sp = ss->v[--ss->n];
    ss->last = 0;
    ss->dirty = true;
    return settle_splits(e);
}

int weir_engine_split_advance(weir_engine *e, uint64_t id, int64_t time)
{
    engine_split *sp = find_split(e, id);
    if (!sp)
        return 0;
    split_active(e, sp);
    split_reached(e, sp, time);
    return settle_splits(e);
}

int weir_engine_stream_advance(weir_engine *e, size_t stream, int64_t time)
{
    if (stream >= e->n_streams)
        return -1;
    engine_stream *st = &e->streams[stream];
    if (st->processing_time || time == INT64_MIN || (st->seen && time <= st->max_ts))
        return 0;
    st->seen = true;
    st->max_ts = time > st->max_ts ? time : st->max_ts;
    int64_t wm = engine_watermark(e);
    if (wm > e->stats.watermark)
        e->stats.watermark = wm;
    return release(e, wm);
}

int weir_engine_tick(weir_engine *e)
{
    engine_splits *ss = &e->splits;
    if (!ss->n)
        return 0;
    int64_t now = e->opt.clock(e->opt.clock_user);
    for (size_t i = 0; i < ss->n; i++) {
        engine_split *sp = &ss->v[i];
        if (sp->activity != sp->activity_seen) {
            sp->activity_seen = sp->activity;
            sp->last_active = now;
        } else if (!sp->idle && ss->idle_ms > 0 && now - sp->last_active >= ss->idle_ms) {
            sp->idle = true;
            ss->dirty = true;
        }
    }
    return settle_splits(e);
}

size_t weir_engine_split_count(const weir_engine *e) { return e->splits.n; }

bool weir_engine_get_split(const weir_engine *e, size_t i, weir_split_stats *out)
{
    if (i >= e->splits.n)
        return false;
    const engine_split *sp = &e->splits.v[i];
    out->id = sp->id;
    out->stream = sp->stream == ENGINE_SPLIT_ALL ? WEIR_SPLIT_ALL_STREAMS : sp->stream;
    out->max_time = sp->max_ts;
    out->events = sp->events;
    out->idle = sp->idle;
    return true;
}

/* ------------------------------------------------------------ input */

static void reject(weir_rejected_cb cb, void *user, uint64_t line, const char *status,
                   const char *reason, const char *data, size_t len)
{
    if (!cb)
        return;
    weir_rejected r = {line, status, reason, data, len};
    cb(user, &r);
}

static int push(weir_engine *e, const char *json, size_t len, uint64_t line_no, bool padded,
                uint64_t split_id)
{
    e->stats.events++;
    engine_split *sp = split_id == WEIR_NO_SPLIT || !e->splits.n ? NULL : find_split(e, split_id);
    /* a split of one stream (a topic that stream reads) makes that stream
     * the default of its events */
    bool rebind = sp && sp->stream != ENGINE_SPLIT_ALL && sp->stream != e->default_stream;
    if (rebind)
        weir_decoder_set_default_stream(e->decoder, sp->stream);
    weir_decoded d;
    weir_decode_status status =
        padded ? weir_decoder_decode_padded(e->decoder, json, len, len + WEIR_ENGINE_PADDING, &d)
               : weir_decoder_decode(e->decoder, json, len, &d);
    if (rebind)
        weir_decoder_set_default_stream(e->decoder, e->default_stream);
    if (sp) {
        sp->events++;
        split_active(e, sp);
    }
    if (status != WEIR_DECODE_OK) {
        if (status == WEIR_DECODE_NO_MEMORY)
            return -1;
        e->stats.dead_letters++;
        reject(e->opt.on_dead_letter, e->opt.dead_letter_user, line_no,
               weir_decode_status_name(status), d.reason, json, len);
        return settle_splits(e) == 0 ? 1 : -1;
    }
    engine_stream *st = &e->streams[d.stream];
    st->events++;
    int64_t ts = st->processing_time ? e->opt.clock(e->opt.clock_user) : d.ts;
    if (sp && !st->processing_time)
        split_reached(e, sp, ts);
    if (ts < e->released) {
        e->stats.late++;
        char reason[192];
        char when[64], wm[64];
        weir_format_time(ts, when);
        weir_format_time(e->released, wm);
        snprintf(reason, sizeof reason, "event time %s is behind the watermark %s", when, wm);
        reject(e->opt.on_late, e->opt.late_user, line_no, "late", reason, json, len);
        /* late, but still its split's progress: a split opened behind the
         * watermark may have been the one holding it */
        return settle_splits(e) == 0 ? 1 : -1;
    }
    st->seen = true;
    if (ts > st->max_ts)
        st->max_ts = ts;
    if (!st->n_rules)
        return settle_splits(e);
    int64_t watermark = engine_watermark(e);
    if (watermark > e->stats.watermark)
        e->stats.watermark = watermark;
    if (ts <= watermark && weir_held_queue_size(e->held) == 0) {
        /* in order and nothing waiting: no need to copy the event */
        if (fire_timers(e, ts) != 0)
            return -1;
        e->released = ts > e->released ? ts : e->released;
        if (dispatch(e, d.fields, d.stream, ts, line_no) != 0)
            return -1;
    } else if (/* the fields any rule reads (weir_engine_held_field) */
               weir_held_queue_push(e->held, d.fields, st->store_width, d.stream, ts,
                                    line_no) != 0) {
        return -1;
    }
    return release(e, watermark) == 0 ? 0 : -1;
}

int weir_engine_push(weir_engine *e, const char *json, size_t len, uint64_t line_no)
{
    return push(e, json, len, line_no, false, WEIR_NO_SPLIT);
}

int weir_engine_push_padded(weir_engine *e, const char *json, size_t len, uint64_t line_no)
{
    return push(e, json, len, line_no, true, WEIR_NO_SPLIT);
}

int weir_engine_push_split(weir_engine *e, const char *json, size_t len, uint64_t line_no,
                           uint64_t split)
{
    return push(e, json, len, line_no, false, split);
}

int weir_engine_push_split_padded(weir_engine *e, const char *json, size_t len,
                                  uint64_t line_no, uint64_t split)
{
    return push(e, json, len, line_no, true, split);
}

void weir_engine_advance_to(weir_engine *e, int64_t time)
{
    if (time > e->stats.watermark)
        e->stats.watermark = time;
    release(e, time);
}

void weir_engine_finish(weir_engine *e)
{
    weir_engine_advance_to(e, INT64_MAX - 1);
}

void weir_engine_get_stats(const weir_engine *e, weir_engine_stats *out)
{
    *out = e->stats;
    out->held_events = weir_held_queue_size(e->held);
}

uint64_t weir_engine_rule_alerts(const weir_engine *e, size_t rule)
{
    return rule < e->n_rules ? e->rules[rule].alerts : 0;
}

void weir_engine_get_rule_stats(const weir_engine *e, size_t rule, weir_rule_stats *out)
{
    memset(out, 0, sizeof *out);
    if (rule >= e->n_rules)
        return;
    const engine_rule *r = &e->rules[rule];
    out->events = r->events;
    out->matches = r->alerts + r->n_throttled;
    out->alerts = r->alerts;
    out->throttled = r->n_throttled;
    out->keys = r->states;
    out->partial_matches = r->partials;
}

void weir_engine_get_stream_stats(const weir_engine *e, size_t stream, weir_stream_stats *out)
{
    memset(out, 0, sizeof *out);
    out->max_time = INT64_MIN;
    out->watermark = INT64_MIN;
    if (stream >= e->n_streams)
        return;
    const engine_stream *st = &e->streams[stream];
    out->events = st->events;
    if (st->seen)
        out->max_time = st->max_ts;
    int64_t wm;
    if (stream_watermark(st, &wm))
        out->watermark = wm;
}

uint64_t weir_engine_rule_state_bytes(const weir_engine *e, size_t rule)
{
    if (rule >= e->n_rules)
        return 0;
    const engine_rule *r = &e->rules[rule];
    const engine_map *m = &e->maps[r->map];
    uint64_t bytes = 0;
    for (size_t k = 0; k < m->keys.n_slots; k++) {
        const key_block *b = m->keys.slots[k].live ? m->keys.slots[k].state : NULL;
        uint32_t at = b ? key_place(m, &m->keys.slots[k], r->pos) : UINT32_MAX;
        if (at != UINT32_MAX && key_block_state(b, at))
            bytes += weir_rule_key_bytes(r, b->states[at]);
    }
    /* the map and the per-key blocks serve every rule of the map alike */
    uint64_t block = key_block_bytes(m->n_rules);
    uint64_t shared = weir_key_map_bytes(&m->keys) + m->keys.live * block;
    return bytes + shared / (m->n_rules ? m->n_rules : 1);
}
