/* alert_json.h — writing weir values as JSON, for alerts and dead letters.
 *
 * JSON leaves weir through yajl's generator: it escapes strings correctly
 * and, unlike jansson, takes a number as text (yajl_gen_number), so a
 * decimal such as 12.30 is written exactly, never through a double. */
#ifndef WEIR_ENGINE_ALERT_JSON_H
#define WEIR_ENGINE_ALERT_JSON_H

#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "compile/expr.h"

/* Writes v as JSON: int and decimal as exact numbers (1250.5), float as
 * a number (null when not finite), string, bool, time as an RFC 3339 UTC
 * string with milliseconds, duration as milliseconds, missing as null. */
void weir_json_value(yajl_gen g, weir_type t, const weir_value *v);

/* "2026-11-29T10:00:05.000Z" into buf (at least 64 bytes); returns buf. */
char *weir_format_time(int64_t ms, char *buf);

/* Writes a decimal scaled by WEIR_DECIMAL_SCALE: "-12.5", "600", "0.0001".
 * buf must hold at least 32 bytes; returns the length. */
int weir_format_decimal(int64_t scaled, char *buf);

/* Writes bytes that should be UTF-8 as a JSON string, replacing invalid
 * bytes with U+FFFD, so raw input quoted in dead letters stays valid JSON. */
void weir_json_string_lossy(yajl_gen g, const char *data, size_t len);

/* A NUL-terminated string key. */
void weir_json_key(yajl_gen g, const char *key);

#endif
