/* output.c — one event, one line, members in the order of the stream's
 * declaration in rules/fraud/streams*.weir, for example:
 *   {"card":"4532015112830366","amount":12.34,"merchant":"m00042","mcc":5411,
 *    "country":"GB","lat":51.5123,"lon":-0.1181,"ts":1700000000000}
 * with "stream":"payments" first when several streams are written. A
 * merchant's part comes preformatted from the world; the rest is written
 * digit by digit, and names through names.h. */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

enum {
    BUF_SIZE = 1 << 20,
    LINE_MAX_LEN = 512, /* far above the longest line: flush before it could not fit */
};

int gen_out_init(gen_out *o, FILE *file, const gen_world *w, const gen_names *names,
                 gen_time_style style, bool with_stream)
{
    *o = (gen_out){.file = file, .world = w, .names = names, .time_style = style,
                   .with_stream = with_stream, .cap = BUF_SIZE};
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

static char *put_name(const gen_out *o, char *p, gen_ns ns, uint64_t i)
{
    *p++ = '"';
    p += gen_name(o->names, ns, i, p);
    *p++ = '"';
    return p;
}

static char *put_bool(char *p, int v)
{
    return v ? PUT(p, "true") : PUT(p, "false");
}

static char *put_string(char *p, const char *s)
{
    *p++ = '"';
    p = put_literal(p, s, strlen(s));
    *p++ = '"';
    return p;
}

static char *put_ts(const gen_out *o, char *p, int64_t ts)
{
    p = PUT(p, ",\"ts\":");
    if (o->time_style == GEN_TIME_MS) {
        p = put_u64(p, (uint64_t)ts);
    } else {
        *p++ = '"';
        gen_time_format(ts, p);
        p += GEN_RFC3339_LEN;
        *p++ = '"';
    }
    return PUT(p, "}\n");
}

static char *put_payment(const gen_out *o, char *p, const gen_event *e)
{
    p = PUT(p, "\"card\":\"");
    gen_card_token(o->world, e->key, p);
    p += 16;
    p = PUT(p, "\",\"amount\":");
    p = put_cents(p, e->cents);
    *p++ = ',';
    size_t n;
    const char *merchant = gen_merchant_json(o->world, (uint32_t)e->ref, &n);
    if (e->flag) /* online: the merchant's position says nothing of the card's */
        return PUT(put_literal(p, merchant, o->world->merchants[e->ref].lat_off),
                   ",\"lat\":null,\"lon\":null");
    return put_literal(p, merchant, n);
}

static const char *const reset_channels[] = {"email", "sms", "call_centre"};
static const char *const tx_kinds[] = {"deposit", "withdrawal", "payment"};
static const char *const tx_channels[] = {"cash", "card", "online", "transfer"};
static const char *const order_kinds[] = {"purchase", "refund"};
static const char *const account_kinds[] = {"opened", "verified"};

static char *put_other(const gen_out *o, char *p, const gen_event *e)
{
    switch ((gen_stream)e->stream) {
    case GEN_S_password_resets:
        p = put_name(o, PUT(p, "\"account\":"), GEN_NS_ACCOUNT, e->key);
        return put_string(PUT(p, ",\"channel\":"), reset_channels[e->channel]);
    case GEN_S_logins:
        p = put_name(o, PUT(p, "\"account\":"), GEN_NS_ACCOUNT, e->key);
        p = put_name(o, PUT(p, ",\"device\":"), GEN_NS_DEVICE, e->ref);
        p = put_bool(PUT(p, ",\"new_device\":"), e->flag);
        return put_name(o, PUT(p, ",\"ip\":"), GEN_NS_IP, e->ref2);
    case GEN_S_payouts:
        p = put_name(o, PUT(p, "\"account\":"), GEN_NS_ACCOUNT, e->key);
        p = put_cents(PUT(p, ",\"amount\":"), e->cents);
        p = put_name(o, PUT(p, ",\"beneficiary\":"), GEN_NS_BENEFICIARY, e->ref);
        return put_bool(PUT(p, ",\"new_beneficiary\":"), e->flag);
    case GEN_S_account_transactions:
        p = put_name(o, PUT(p, "\"account\":"), GEN_NS_ACCOUNT, e->key);
        p = put_string(PUT(p, ",\"kind\":"), tx_kinds[e->kind]);
        p = put_string(PUT(p, ",\"channel\":"), tx_channels[e->channel]);
        p = put_cents(PUT(p, ",\"amount\":"), e->cents);
        if (e->channel == GEN_CH_ONLINE)
            return put_name(o, PUT(p, ",\"device\":"), GEN_NS_DEVICE, e->ref);
        return PUT(p, ",\"device\":null");
    case GEN_S_customer_orders:
        p = put_name(o, PUT(p, "\"customer\":"), GEN_NS_CUSTOMER, e->key);
        p = put_string(PUT(p, ",\"kind\":"), order_kinds[e->kind]);
        p = put_name(o, PUT(p, ",\"order_id\":"), GEN_NS_ORDER, e->ref);
        return put_cents(PUT(p, ",\"amount\":"), e->cents);
    case GEN_S_device_payments:
        p = put_name(o, PUT(p, "\"device\":"), GEN_NS_DEVICE, e->key);
        p = PUT(p, ",\"card\":\"");
        gen_card_token(o->world, (uint32_t)e->ref, p);
        p += 16;
        return put_cents(PUT(p, "\",\"amount\":"), e->cents);
    case GEN_S_login_attempts:
        p = put_name(o, PUT(p, "\"ip\":"), GEN_NS_IP, e->key);
        p = put_name(o, PUT(p, ",\"user\":"), GEN_NS_USER, e->ref2);
        return put_bool(PUT(p, ",\"success\":"), e->flag);
    case GEN_S_account_events:
        p = put_name(o, PUT(p, "\"account\":"), GEN_NS_ACCOUNT, e->key);
        return put_string(PUT(p, ",\"kind\":"), account_kinds[e->kind]);
    default:
        return p;
    }
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
    *p++ = '{';
    if (o->with_stream) {
        p = put_string(PUT(p, "\"stream\":"), gen_stream_names[e->stream]);
        *p++ = ',';
    }
    p = e->stream == GEN_S_payments ? put_payment(o, p, e) : put_other(o, p, e);
    p = put_ts(o, p, e->ts);
    o->len = (size_t)(p - o->buf);
}
