/* http_json.h — small helpers the HTTP API uses to build JSON bodies with
 * yajl's generator, and to split a JSON array of events into its elements
 * without parsing them (each element goes to the engine's decoder as is). */
#ifndef WEIR_SERVER_HTTP_JSON_H
#define WEIR_SERVER_HTTP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl_gen.h>

/* A generator that validates UTF-8 (so nothing invalid is ever sent). */
yajl_gen weir_json_gen_new(void);
void weir_json_str(yajl_gen g, const char *s);
void weir_json_kv_str(yajl_gen g, const char *key, const char *value);
void weir_json_kv_uint(yajl_gen g, const char *key, unsigned long long v);
/* The finished text, malloc'd (caller frees); NULL when out of memory.
 * Frees g. */
char *weir_json_gen_finish(yajl_gen g, size_t *len);

/* Calls each(user, elem, len) for every element of the JSON array in
 * text[0..len) (leading whitespace allowed), trimmed of whitespace; stops
 * early when each returns false. Returns the number of elements, or -1 when
 * the text is not an array whose brackets, braces and strings balance. */
long weir_json_array_each(const char *text, size_t len,
                          bool (*each)(void *user, const char *elem, size_t n), void *user);

#endif
