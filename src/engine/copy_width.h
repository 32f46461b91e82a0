/* copy_width.h — reading a field of a narrow event copy.
 *
 * An event kept past its arrival (held for the watermark, or stored by a
 * partial match) is copied with its stream's fields up to the last one
 * the rule set reads, its store width: the fields after it were never
 * decoded, so they are missing, all but the event-time field, whose value
 * is the copy's ts. Alerts, snapshots and copies made wider read a field
 * through weir_copy_field, so the rule holds in one place. */
#ifndef WEIR_ENGINE_COPY_WIDTH_H
#define WEIR_ENGINE_COPY_WIDTH_H

#include <stdint.h>

#include "compile/expr.h"
#include "dsl/ast.h"

/* The stream's event-time field, or UINT32_MAX when its events run on
 * processing time (no such field, or not event time). */
static inline uint32_t weir_stream_time_field(const ast_stream *s)
{
    return s && s->event_time && s->time_field_ref ? s->time_field_ref->index : UINT32_MAX;
}

/* Field f of a copy holding n_fields fields, taken at time ts. */
static inline weir_value weir_copy_field(const weir_value *fields, uint32_t n_fields, uint32_t f,
                                         uint32_t time_field, int64_t ts)
{
    if (f < n_fields)
        return fields[f];
    return f == time_field ? weir_value_millis(ts) : weir_value_missing();
}

#endif
