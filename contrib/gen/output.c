/* output.c — one payment, one line:
 *   {"card":"4532015112830366","amount":12.34,"merchant":"m00042","mcc":5411,
 *    "country":"GB","lat":51.5123,"lon":-0.1181,"ts":1700000000000}
 * The merchant's part comes preformatted from the world; the rest is
 * written digit by digit. */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

enum {
    BUF_SIZE = 1 << 20,
    LINE_MAX_LEN = 512, /* far above the longest line: flush before it could not fit */
};

int gen_out_init(gen_out *o, FILE *file, const gen_world *w, gen_time_style style)
{
    *o = (gen_out){.file = file, .world = w, .time_style = style, .cap = BUF_SIZE};
    o->buf = malloc(BUF_SIZE);
    return o->buf ? 0 : -1;
}

void gen_out_free(gen_out *o)
{
    free(o->buf);
    o->buf = NULL;
}

int gen_out_flush(gen_out *o)
{
    if (o->len && !o->failed && fwrite(o->buf, 1, o->len, o->file) != o->len) {
        o->failed = true;
        o->error = errno;
    }
    o->len = 0;
    if (!o->failed && fflush(o->file) != 0) {
        o->failed = true;
        o->error = errno;
    }
    return o->failed ? -1 : 0;
}

static char *put_literal(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT(p, lit) put_literal(p, lit, sizeof lit - 1)

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_cents(char *p, int64_t cents)
{
    if (cents < 0) {
        *p++ = '-';
        cents = -cents;
    }
    p = put_u64(p, (uint64_t)cents / 100);
    *p++ = '.';
    *p++ = (char)('0' + cents / 10 % 10);
    *p++ = (char)('0' + cents % 10);
    return p;
}

void gen_out_event(gen_out *o, const gen_event *e)
{
    if (o->cap - o->len < LINE_MAX_LEN) {
        size_t len = o->len;
        if (!o->failed && fwrite(o->buf, 1, len, o->file) != len) {
            o->failed = true;
            o->error = errno;
        }
        o->len = 0;
    }
    char *p = o->buf + o->len;
    p = PUT(p, "{\"card\":\"");
    gen_card_token(o->world, e->card, p);
    p += 16;
    p = PUT(p, "\",\"amount\":");
    p = put_cents(p, e->cents);
    *p++ = ',';
    size_t n;
    const char *merchant = gen_merchant_json(o->world, e->merchant, &n);
    if (e->online) {
        p = put_literal(p, merchant, o->world->merchants[e->merchant].lat_off);
        p = PUT(p, ",\"lat\":null,\"lon\":null");
    } else {
        p = put_literal(p, merchant, n);
    }
    p = PUT(p, ",\"ts\":");
    if (o->time_style == GEN_TIME_MS) {
        p = put_u64(p, (uint64_t)e->ts);
    } else {
        *p++ = '"';
        gen_time_format(e->ts, p);
        p += GEN_RFC3339_LEN;
        *p++ = '"';
    }
    p = PUT(p, "}\n");
    o->len = (size_t)(p - o->buf);
}
