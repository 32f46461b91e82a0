/* rule_runner.c — the pattern and window runtimes behind one interface, so
 * the engine's key and timer handling does not care which kind of rule it
 * runs; and the translation of what a runtime reports into alerts.
 *
 * A pattern rule with `keep` has per-key memory (engine/key_memory.h)
 * beside its NFA state: its key state is then a keep_key holding both, and
 * this file orders the two. For each event: the memory drops what is over
 * at the event's time, the NFA runs with its conditions reading the memory,
 * and only then is the event added to the memory, so that "a device never
 * seen" means never before this event. When time passes (a watermark), the
 * memory's bucket expiries and the NFA's deadlines are taken in time order,
 * so an alert raised at a deadline reads the memory as it was at that
 * deadline. The key stays alive while either holds something, and its
 * timer is the earlier of the two deadlines. Rules without keep keep their
 * bare weir_pattern_key: one test of plan->keep per call is all they pay. */
#include <stdlib.h>

#include "compile/keep_plan.h"
#include "compile/nfa.h"
#include "compile/window_plan.h"
#include "engine/engine-internal.h"
#include "engine/key_memory.h"
#include "engine/nfa_run.h"
#include "engine/window_run.h"

typedef struct runner_call {
    weir_engine *e;
    engine_rule *r;
    int rc;
    const weir_key_memory *memory; /* the key's memory; NULL without keep */
} runner_call;

/* The key state of a pattern rule with `keep`. */
typedef struct keep_key {
    weir_pattern_key *nfa;   /* owned */
    weir_key_memory memory;  /* owns its arrays; borrows plan->keep */
} keep_key;

/* ------------------------------------------------------------ patterns */

/* A view of one matched event's stream: the alert writes each event with
 * its own stream's fields. */
static void on_match(void *user, const weir_pattern_match *m)
{
    runner_call *call = user;
    if (m->timed_out && !call->r->plan->timeout_emit.n_fields &&
        !call->r->plan->ast->on_timeout.present)
        return;
    const weir_value *event = m->last ? m->last->fields : NULL;
    engine_rule *r = call->r;
    if (event && r->remap && r->remap[m->last->stream]) {
        /* put the last event's fields where `emit` looks for them */
        const uint32_t *map = r->remap[m->last->stream];
        unsigned n = call->e->rs->streams[r->first_input]->n_fields;
        for (unsigned i = 0; i < n; i++)
            r->remapped[i] = map[i] == WEIR_NO_FIELD || map[i] >= m->last->n_fields
                                 ? weir_value_missing()
                                 : event[map[i]];
        event = r->remapped;
    }
    weir_eval_ctx ctx = {
        .event = event,
        .match = m->view,
        .key = call->e->cur_key ? *call->e->cur_key : weir_value_missing(),
        .scratch = &call->e->scratch,
        .memory = call->memory,
    };
    weir_eval_scratch_reset(&call->e->scratch);
    uint64_t detection = WEIR_DETECTION_SEED;
    for (size_t i = 0; i < m->n_events; i++)
        detection = weir_detection_mix(detection, m->events[i].seq);
    detection = weir_detection_mix(detection, (uint64_t)m->time);
    alert_input in = {
        .rule = call->r,
        .time = m->time,
        .timed_out = m->timed_out,
        .detection = detection,
        .ctx = &ctx,
        .emit = m->timed_out ? &call->r->plan->timeout_emit : &call->r->plan->emit,
        .match = m,
    };
    if (weir_engine_raise_alert(call->e, &in) != 0)
        call->rc = -1;
}

/* ------------------------------------------------------------ windows */

static void on_window(const weir_window_fired *w, void *user)
{
    runner_call *call = user;
    weir_eval_ctx ctx = {
        .aggs = w->aggs,
        .key = w->key,
        .window_start = w->start,
        .window_end = w->end,
        .scratch = &call->e->scratch,
    };
    weir_eval_scratch_reset(&call->e->scratch);
    uint64_t detection = weir_detection_mix(WEIR_DETECTION_SEED, (uint64_t)w->start);
    detection = weir_detection_mix(detection, (uint64_t)w->end);
    detection = weir_detection_mix(detection, w->first_seq);
    detection = weir_detection_mix(detection, w->last_seq);
    alert_input in = {
        .rule = call->r,
        .time = w->end,
        .detection = detection,
        .ctx = &ctx,
        .window = true,
        .window_start = w->start,
        .window_end = w->end,
        .window_events = (uint64_t)w->n_events,
        .window_emit = w->emit,
    };
    if (weir_engine_raise_alert(call->e, &in) != 0)
        call->rc = -1;
}

/* ------------------------------------------------------------ keep */

static keep_key *keep_key_new(engine_rule *r)
{
    keep_key *k = malloc(sizeof *k);
    if (!k)
        return NULL;
    if (!(k->nfa = weir_pattern_key_new(r->runtime))) {
        free(k);
        return NULL;
    }
    weir_key_memory_init(&k->memory, r->run_plan->keep);
    return k;
}

static void keep_key_free(engine_rule *r, keep_key *k)
{
    if (!k)
        return;
    weir_pattern_key_free(r->runtime, k->nfa);
    weir_key_memory_clear(&k->memory);
    free(k);
}

/* Brings a key to `time`: the NFA's deadlines up to it fire in order, each
 * after the memory dropped what is over at that deadline (a timeout alert
 * at 10:00 reads the memory of 10:00, not of the later watermark); then
 * the memory drops what is over at `time`. The NFA itself is not advanced
 * past its last deadline here: the caller's process or advance does it. */
static int keep_catch_up(runner_call *call, keep_key *k, int64_t time)
{
    weir_pattern_runtime *rt = call->r->runtime;
    for (;;) {
        int64_t d = weir_pattern_key_next_deadline(rt, k->nfa);
        if (d > time)
            break;
        weir_key_memory_expire(&k->memory, d);
        if (weir_pattern_advance(rt, k->nfa, d, on_match, call) != 0)
            return -1;
        if (weir_pattern_key_next_deadline(rt, k->nfa) <= d)
            break; /* nothing more due by d: the final advance takes the rest */
    }
    weir_key_memory_expire(&k->memory, time);
    return 0;
}

static int keep_process(weir_engine *e, engine_rule *r, keep_key *k, const weir_value *fields,
                        unsigned stream, int64_t ts, uint64_t seq)
{
    runner_call call = {e, r, 0, &k->memory};
    weir_pattern_runtime_set_memory(r->runtime, &k->memory);
    int rc = keep_catch_up(&call, k, ts);
    if (rc == 0)
        rc = weir_pattern_process(r->runtime, k->nfa, fields, stream, ts, seq, on_match, &call);
    weir_pattern_runtime_set_memory(r->runtime, NULL);
    if (rc != 0 || call.rc != 0)
        return -1;
    /* after the match: the conditions above saw the memory without it */
    if (stream == r->plan->keep->stream &&
        weir_key_memory_add(&k->memory, fields, ts, &e->scratch) < 0)
        return -1;
    return 0;
}

static int keep_advance(weir_engine *e, engine_rule *r, keep_key *k, int64_t watermark)
{
    runner_call call = {e, r, 0, &k->memory};
    weir_pattern_runtime_set_memory(r->runtime, &k->memory);
    int rc = keep_catch_up(&call, k, watermark);
    if (rc == 0)
        rc = weir_pattern_advance(r->runtime, k->nfa, watermark, on_match, &call);
    weir_pattern_runtime_set_memory(r->runtime, NULL);
    return rc != 0 || call.rc != 0 ? -1 : 0;
}

/* ------------------------------------------------------------ interface */

int weir_rule_runner_init(weir_engine *e, engine_rule *r)
{
    (void)e;
    if (r->plan->window)
        r->runtime = weir_window_runtime_new(r->plan->window);
    else
        r->runtime = weir_pattern_runtime_new(r->plan);
    return r->runtime ? 0 : -1;
}

void weir_rule_store_widths(const weir_engine *e, engine_rule *r)
{
    if (r->plan->window || !r->runtime)
        return;
    for (size_t s = 0; s < e->n_streams; s++)
        weir_pattern_runtime_store_width(r->runtime, (unsigned)s, e->streams[s].store_width);
}

void weir_rule_runner_fini(engine_rule *r)
{
    if (!r->runtime)
        return;
    if (r->plan->window)
        weir_window_runtime_free(r->runtime);
    else
        weir_pattern_runtime_free(r->runtime);
    r->runtime = NULL;
}

void *weir_rule_key_new(engine_rule *r)
{
    if (r->plan->window)
        return weir_window_key_new(r->runtime);
    if (r->plan->keep)
        return keep_key_new(r);
    return weir_pattern_key_new(r->runtime);
}

void weir_rule_key_free(engine_rule *r, void *state)
{
    if (r->plan->window)
        weir_window_key_free(r->runtime, state);
    else if (r->plan->keep)
        keep_key_free(r, state);
    else
        weir_pattern_key_free(r->runtime, state);
}

int weir_rule_process(weir_engine *e, engine_rule *r, void *state, const weir_value *fields,
                      unsigned stream, int64_t ts, uint64_t seq)
{
    runner_call call = {e, r, 0, NULL};
    if (r->plan->window) {
        if (weir_window_add(r->runtime, state, fields, ts, seq, on_window, &call) ==
            WEIR_WINDOW_ERROR)
            return -1;
        return call.rc;
    }
    if (r->plan->keep)
        return keep_process(e, r, state, fields, stream, ts, seq);
    if (weir_pattern_process(r->runtime, state, fields, stream, ts, seq, on_match, &call) != 0)
        return -1;
    return call.rc;
}

int weir_rule_advance(weir_engine *e, engine_rule *r, void *state, int64_t watermark)
{
    runner_call call = {e, r, 0, NULL};
    if (r->plan->window) {
        weir_window_advance(r->runtime, state, e->cur_key, watermark, on_window, &call);
        return call.rc;
    }
    if (r->plan->keep)
        return keep_advance(e, r, state, watermark);
    if (weir_pattern_advance(r->runtime, state, watermark, on_match, &call) != 0)
        return -1;
    return call.rc;
}

int64_t weir_rule_next_deadline(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        return weir_window_key_next_deadline(state);
    if (r->plan->keep) {
        const keep_key *k = state;
        int64_t nfa = weir_pattern_key_next_deadline(r->runtime, k->nfa);
        int64_t memory = weir_key_memory_next_expiry(&k->memory);
        return nfa < memory ? nfa : memory;
    }
    return weir_pattern_key_next_deadline(r->runtime, state);
}

bool weir_rule_idle(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        return weir_window_key_idle(state);
    if (r->plan->keep) {
        const keep_key *k = state;
        return weir_pattern_key_idle(k->nfa) && weir_key_memory_empty(&k->memory);
    }
    return weir_pattern_key_idle(state);
}

size_t weir_rule_partials(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        return 0;
    if (r->plan->keep)
        return weir_pattern_key_partials(((const keep_key *)state)->nfa);
    return weir_pattern_key_partials(state);
}

size_t weir_rule_key_bytes(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        return weir_window_key_bytes(state);
    return weir_pattern_key_bytes(state);
}

void weir_rule_prefetch(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        weir_window_key_prefetch(state);
}

/* A keep rule's key: its NFA state, then its memory. */
int weir_rule_key_save(const engine_rule *r, const void *state, const weir_value *key,
                       snap_out *o)
{
    if (r->plan->window)
        return weir_window_key_save(r->runtime, state, key, o);
    if (r->plan->keep) {
        const keep_key *k = state;
        if (weir_pattern_key_save(r->runtime, k->nfa, o) != 0)
            return -1;
        return weir_key_memory_save(&k->memory, o);
    }
    return weir_pattern_key_save(r->runtime, state, o);
}

void *weir_rule_key_load(engine_rule *r, snap_in *in)
{
    if (r->plan->window)
        return weir_window_key_load(r->runtime, in);
    if (r->plan->keep) {
        keep_key *k = malloc(sizeof *k);
        if (!k)
            return NULL;
        weir_key_memory_init(&k->memory, r->run_plan->keep);
        if (!(k->nfa = weir_pattern_key_load(r->runtime, in))) {
            free(k);
            return NULL;
        }
        if (weir_key_memory_load(&k->memory, in) != 0) {
            keep_key_free(r, k);
            return NULL;
        }
        return k;
    }
    return weir_pattern_key_load(r->runtime, in);
}
