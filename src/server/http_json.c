/* http_json.c — see http_json.h. The array splitter only tracks nesting
 * and strings: validating each event is the decoder's job, and a bad
 * element becomes a dead letter like a bad line. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "server/http_json.h"

yajl_gen weir_json_gen_new(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);
    if (g)
        yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    return g;
}

void weir_json_str(yajl_gen g, const char *s)
{
    if (yajl_gen_string(g, (const unsigned char *)s, strlen(s)) != yajl_gen_status_ok)
        yajl_gen_string(g, (const unsigned char *)"?", 1); /* invalid UTF-8 */
}

void weir_json_kv_str(yajl_gen g, const char *key, const char *value)
{
    weir_json_str(g, key);
    if (value)
        weir_json_str(g, value);
    else
        yajl_gen_null(g);
}

void weir_json_kv_uint(yajl_gen g, const char *key, unsigned long long v)
{
    weir_json_str(g, key);
    yajl_gen_integer(g, (long long)v);
}

char *weir_json_gen_finish(yajl_gen g, size_t *len)
{
    if (!g)
        return NULL;
    const unsigned char *buf;
    size_t n;
    char *out = NULL;
    if (yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok && (out = malloc(n + 1))) {
        memcpy(out, buf, n);
        out[n] = '\0';
        *len = n;
    }
    yajl_gen_free(g);
    return out;
}

static bool trim_each(const char *s, const char *e,
                      bool (*each)(void *, const char *, size_t), void *user)
{
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return each(user, s, (size_t)(e - s));
}

long weir_json_array_each(const char *text, size_t len,
                          bool (*each)(void *user, const char *elem, size_t n), void *user)
{
    const char *p = text, *end = text + len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    if (p == end || *p != '[')
        return -1;
    p++;
    const char *q = p;
    while (q < end && isspace((unsigned char)*q))
        q++;
    if (q < end && *q == ']') {
        for (q++; q < end; q++)
            if (!isspace((unsigned char)*q))
                return -1;
        return 0;
    }
    long count = 0;
    int depth = 0;
    bool in_string = false, stopped = false;
    const char *start = p;
    for (; p < end; p++) {
        char ch = *p;
        if (in_string) {
            if (ch == '\\')
                p++;
            else if (ch == '"')
                in_string = false;
            continue;
        }
        if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        } else if ((ch == ',' || ch == ']') && depth == 0) {
            count++;
            if (!stopped && !trim_each(start, p, each, user))
                stopped = true;
            start = p + 1;
            if (ch == ']') {
                for (p++; p < end; p++)
                    if (!isspace((unsigned char)*p))
                        return -1;
                return count;
            }
        } else if (ch == '}') {
            return -1;
        }
    }
    return -1; /* no closing bracket */
}
