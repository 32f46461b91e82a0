/* alert_ring.h — the most recent alerts, for GET /alerts?since=. A fixed
 * number of slots; each alert gets a sequence number (1, 2, ...) so a
 * client can poll for "everything after the last one I saw" and tell from
 * a gap that it polled too slowly and missed some. */
#ifndef WEIR_SERVER_ALERT_RING_H
#define WEIR_SERVER_ALERT_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct weir_alert_ring weir_alert_ring;

/* NULL when out of memory. capacity 0 keeps nothing. */
weir_alert_ring *weir_alert_ring_new(size_t capacity);
void weir_alert_ring_free(weir_alert_ring *r);
/* Copies json in; returns its sequence number (0 when the copy failed). */
uint64_t weir_alert_ring_add(weir_alert_ring *r, const char *json, size_t len);
/* The sequence number of the newest alert (0: none yet). */
uint64_t weir_alert_ring_last(const weir_alert_ring *r);
/* The alert numbered seq, or NULL when it is not (or no longer) held. */
const char *weir_alert_ring_get(const weir_alert_ring *r, uint64_t seq, size_t *len);
/* The oldest sequence number still held (last + 1 when empty). */
uint64_t weir_alert_ring_first(const weir_alert_ring *r);

#endif
