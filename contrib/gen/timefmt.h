/* timefmt.h — UTC times as RFC 3339 text and back, without the C library's
 * time zone machinery (timegm() is not C11, and gmtime() is too slow to
 * call ten million times). Proleptic Gregorian calendar, milliseconds. */
#ifndef WEIR_GEN_TIMEFMT_H
#define WEIR_GEN_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2023-11-14T22:13:20.000Z" — always 24 bytes, not NUL-terminated, for
 * years 0000..9999. */
enum { GEN_RFC3339_LEN = 24 };
void gen_time_format(int64_t ms, char out[GEN_RFC3339_LEN]);

/* Parses milliseconds since the epoch ("1700000000000") or an RFC 3339
 * date-time ("2023-11-14T22:13:20Z", "2023-11-14 22:13:20.5+01:00").
 * Returns 0, or -1 if the text is neither. */
int gen_time_parse(const char *text, int64_t *ms);

#endif
