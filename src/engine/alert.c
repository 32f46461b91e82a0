/* alert.c — turns a detection into an alert: throttle, id, JSON.
 *
 * The id is a 64-bit FNV-1a hash of the rule name, the key and what was
 * detected (the sequence numbers of the matched events, or a window's
 * bounds), so replaying the same input gives the same ids — a downstream
 * system can drop duplicates after a restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/nfa.h"
#include "compile/window_plan.h"
#include "engine/alert_json.h"
#include "engine/copy_width.h"
#include "engine/engine-internal.h"
#include "engine/nfa_run.h"

uint64_t weir_detection_mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (i * 8)) & 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t mix_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void write_key(yajl_gen g, const char *key, weir_type t, const weir_value *v)
{
    weir_json_key(g, key);
    weir_json_value(g, t, v);
}

/* One matched event: its stream's fields that the rules read. */
static void write_event(yajl_gen g, const ast_stream *s, const weir_pattern_event *ev)
{
    uint32_t time_field = weir_stream_time_field(s);
    yajl_gen_map_open(g);
    for (const ast_field *f = s->fields; f; f = f->next) {
        weir_value v = weir_copy_field(ev->fields, ev->n_fields, f->index, time_field, ev->ts);
        if (!v.missing)
            write_key(g, f->name.name, f->type, &v);
    }
    yajl_gen_map_close(g);
}

static void write_events(weir_engine *e, const alert_input *in)
{
    const weir_rule_plan *plan = in->rule->plan;
    const weir_pattern_match *m = in->match;
    weir_json_key(e->gen, "events");
    yajl_gen_map_open(e->gen);
    for (unsigned i = 0; m && i < m->n_steps; i++) {
        uint32_t from = m->step_first[i], to = m->step_first[i + 1];
        if (from == to)
            continue;
        weir_json_key(e->gen, plan->ast->steps[i]->name.name);
        yajl_gen_array_open(e->gen);
        for (uint32_t k = from; k < to; k++)
            write_event(e->gen, e->rs->streams[m->events[k].stream], &m->events[k]);
        yajl_gen_array_close(e->gen);
    }
    yajl_gen_map_close(e->gen);
}

static void write_body(weir_engine *e, const alert_input *in)
{
    weir_json_key(e->gen, "body");
    yajl_gen_map_open(e->gen);
    weir_value v;
    if (in->window) {
        const weir_window_plan *w = in->rule->plan->window;
        for (unsigned i = 0; i < w->n_emit; i++) {
            if (in->window_emit)
                v = in->window_emit[i];
            else
                weir_eval_run(w->emit[i].value, in->ctx, &v);
            write_key(e->gen, w->emit[i].name, w->emit[i].value->type, &v);
        }
    } else if (in->emit) {
        for (unsigned i = 0; i < in->emit->n_fields; i++) {
            const weir_emit_plan_field *f = &in->emit->fields[i];
            weir_eval_run(f->value, in->ctx, &v);
            write_key(e->gen, f->name, f->value->type, &v);
        }
    }
    yajl_gen_map_close(e->gen);
}

int weir_engine_raise_alert(weir_engine *e, const alert_input *in)
{
    engine_rule *r = in->rule;
    key_block *b = e->cur_block;
    if (r->throttled && !b && e->cur_key && !(b = weir_engine_current_block(e, r)))
        return -1;
    if (r->throttled && b) {
        int64_t last = key_block_last_alert(b, r->pos);
        /* in->time - last < throttle, without overflow */
        if (last != INT64_MIN && (in->time < last ||
                                  (uint64_t)in->time - (uint64_t)last < (uint64_t)r->throttle_ms)) {
            e->stats.throttled++;
            r->n_throttled++;
            return 0;
        }
        if (r->pos >= key_block_rules(b) &&
            !(e->cur_entry && (b = weir_engine_block_fit(e, &e->maps[r->map], e->cur_entry))))
            return -1;
        b->last_alert[r->pos] = in->time;
    }
    const weir_type key_type = e->maps[r->map].keys.key_type;
    const char *rule_name = r->plan->ast->name.name;
    uint64_t h = mix_bytes(WEIR_DETECTION_SEED, rule_name, strlen(rule_name) + 1);
    const weir_value *key = e->cur_key;
    if (key && !key->missing && key_type == WEIR_T_STRING)
        h = mix_bytes(h, key->u.s, key->len);
    else if (key && !key->missing)
        h = weir_detection_mix(h, (uint64_t)key->u.i);
    h = weir_detection_mix(h, in->detection);
    h = weir_detection_mix(h, in->timed_out);
    char id[17], when[64];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)h);

    yajl_gen g = e->gen;
    yajl_gen_clear(g);
    yajl_gen_reset(g, NULL);
    yajl_gen_map_open(g);
    weir_json_key(g, "id");
    yajl_gen_string(g, (const unsigned char *)id, 16);
    weir_json_key(g, "rule");
    yajl_gen_string(g, (const unsigned char *)rule_name, strlen(rule_name));
    weir_json_key(g, "severity");
    yajl_gen_string(g, (const unsigned char *)r->severity, strlen(r->severity));
    if (key)
        write_key(g, "key", key_type, key);
    weir_json_key(g, "time");
    weir_format_time(in->time, when);
    yajl_gen_string(g, (const unsigned char *)when, strlen(when));
    if (!in->window) {
        weir_json_key(g, "timed_out");
        yajl_gen_bool(g, in->timed_out);
    }
    write_body(e, in);
    if (in->window) {
        weir_json_key(g, "window");
        yajl_gen_map_open(g);
        weir_json_key(g, "start");
        weir_format_time(in->window_start, when);
        yajl_gen_string(g, (const unsigned char *)when, strlen(when));
        weir_json_key(g, "end");
        weir_format_time(in->window_end, when);
        yajl_gen_string(g, (const unsigned char *)when, strlen(when));
        weir_json_key(g, "events");
        yajl_gen_integer(g, (long long)in->window_events);
        yajl_gen_map_close(g);
    } else {
        write_events(e, in);
    }
    yajl_gen_map_close(g);
    const unsigned char *buf;
    size_t len;
    if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
        return -1;

    r->alerts++;
    e->stats.alerts++;
    if (e->opt.on_alert) {
        weir_alert a = {
            .rule = rule_name,
            .severity = r->severity,
            .id = id,
            .time = in->time,
            .sinks = r->sinks,
            .n_sinks = r->n_sinks,
            .json = (const char *)buf,
            .json_len = len,
        };
        e->opt.on_alert(e->opt.alert_user, &a);
    }
    yajl_gen_clear(g);
    return 0;
}

char *weir_rejected_json(const weir_rejected *r)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (!g)
        return NULL;
    yajl_gen_map_open(g);
    weir_json_key(g, "line");
    yajl_gen_integer(g, (long long)r->line);
    weir_json_key(g, "status");
    weir_json_string_lossy(g, r->status, strlen(r->status));
    weir_json_key(g, "reason");
    weir_json_string_lossy(g, r->reason, strlen(r->reason));
    weir_json_key(g, "event");
    weir_json_string_lossy(g, r->data, r->len);
    yajl_gen_map_close(g);
    const unsigned char *buf;
    size_t len;
    char *line = NULL;
    if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
        line = malloc(len + 1);
        if (line) {
            memcpy(line, buf, len);
            line[len] = '\0';
        }
    }
    yajl_gen_free(g);
    return line;
}
