/* rule_runner.c — the pattern and window runtimes behind one interface, so
 * the engine's key and timer handling does not care which kind of rule it
 * runs; and the translation of what a runtime reports into alerts. */
#include <stdlib.h>

#include "compile/nfa.h"
#include "compile/window_plan.h"
#include "engine/engine-internal.h"
#include "engine/nfa_run.h"
#include "engine/window_run.h"

typedef struct runner_call {
    weir_engine *e;
    engine_rule *r;
    int rc;
} runner_call;

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
            r->remapped[i] = map[i] == WEIR_NO_FIELD ? weir_value_missing() : event[map[i]];
        event = r->remapped;
    }
    weir_eval_ctx ctx = {
        .event = event,
        .match = m->view,
        .key = call->e->cur_key ? *call->e->cur_key : weir_value_missing(),
        .scratch = &call->e->scratch,
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
    return weir_pattern_key_new(r->runtime);
}

void weir_rule_key_free(engine_rule *r, void *state)
{
    if (r->plan->window)
        weir_window_key_free(r->runtime, state);
    else
        weir_pattern_key_free(r->runtime, state);
}

int weir_rule_process(weir_engine *e, engine_rule *r, void *state, const weir_value *fields,
                      unsigned stream, int64_t ts, uint64_t seq)
{
    runner_call call = {e, r, 0};
    if (r->plan->window) {
        if (weir_window_add(r->runtime, state, fields, ts, seq, on_window, &call) ==
            WEIR_WINDOW_ERROR)
            return -1;
        return call.rc;
    }
    if (weir_pattern_process(r->runtime, state, fields, stream, ts, seq, on_match, &call) != 0)
        return -1;
    return call.rc;
}

int weir_rule_advance(weir_engine *e, engine_rule *r, void *state, int64_t watermark)
{
    runner_call call = {e, r, 0};
    if (r->plan->window) {
        weir_window_advance(r->runtime, state, watermark, on_window, &call);
        return call.rc;
    }
    if (weir_pattern_advance(r->runtime, state, watermark, on_match, &call) != 0)
        return -1;
    return call.rc;
}

int64_t weir_rule_next_deadline(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        return weir_window_key_next_deadline(state);
    return weir_pattern_key_next_deadline(state);
}

bool weir_rule_idle(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        return weir_window_key_idle(state);
    return weir_pattern_key_idle(state);
}

size_t weir_rule_partials(const engine_rule *r, const void *state)
{
    if (r->plan->window)
        return 0;
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
