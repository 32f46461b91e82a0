/* background.c — the normal traffic of every stream but payments.
 *
 * Time is cut into rounds of 10 minutes. Each round gets an equal share of
 * the events (exactly n_events in all), spent on episodes: a login; a
 * session of login attempts; a password reset and the login after it; a
 * payout; a ledger booking; a checkout payment; a shop order or a refund;
 * an account opening and its verification. An episode starts in its round
 * and is made whole, so the stream never ends in the middle of one.
 *
 * Every random draw is a statement of its own: C leaves the order of the
 * arguments of a call, and of the members of an initializer, unspecified,
 * and the same seed must give the same bytes whatever the compiler.
 *
 * Why none of it raises an alert, rule by rule:
 *   brute_force: a session fails 0 to 2 times, then succeeds, within 2
 *     minutes, and starts at least 2 minutes before its round ends; the
 *     sessions with failures in a round take distinct addresses (an
 *     affine permutation of the address numbers), so one address never
 *     has more than 2 failures in a row;
 *   account_takeover: passwords are reset only on accounts whose number is
 *     a multiple of 4, and only the others pay new beneficiaries;
 *   structuring: cash deposits are under $5000;
 *   dormant_account: withdrawals are under $5000;
 *   new_device_high_amount: an account pays online from its own device
 *     only, so by the time 3 of its payments are in the rule's memory its
 *     device is too;
 *   many_cards_one_device: a device pays with the 1 to 3 cards of its
 *     household only;
 *   refund_abuse: refunds are of orders bought before the stream began,
 *     so no window holds an order and its refund;
 *   account_opened_unverified: every opening is verified 2 minutes to 6
 *     hours later, and the verification is always written. */
#include "background.h"

#include "names.h"

enum {
    SEC = 1000,
    MIN = 60 * SEC,
    ROUND_MS = 10 * MIN,
    SESSION_MAX_MS = 2 * MIN, /* a session of login attempts lasts less than this */
};
#define HOUR_MS ((int64_t)60 * MIN)

typedef enum episode {
    EP_ATTEMPTS,
    EP_LOGIN,
    EP_BOOKING,
    EP_CHECKOUT,
    EP_ORDER,
    EP_PAYOUT,
    EP_RESET,
    EP_OPENING,
    N_EPISODES
} episode;

/* Share of episodes, out of 100. */
static const uint32_t episode_weight[N_EPISODES] = {28, 16, 22, 12, 10, 5, 3, 4};

void gen_background_init(gen_background *b, const gen_background_params *p, const gen_world *w)
{
    *b = (gen_background){.p = *p, .world = w};
    gen_rng_seed(&b->rng, p->seed, 7);
    b->household_salt = gen_rng_next(&b->rng);
    b->n_rounds = p->n_events ? (uint64_t)(p->span + ROUND_MS - 1) / ROUND_MS : 0;
    if (p->n_events && b->n_rounds == 0)
        b->n_rounds = 1;
}

void gen_background_free(gen_background *b)
{
    gen_heap_free(&b->heap);
}

/* One round's work in progress. */
typedef struct round_work {
    gen_background *b;
    int64_t start;
    uint64_t left;       /* events still to make in this round */
    uint64_t ip_mul, ip_add, ip_used; /* the round's permutation of addresses */
    int failed;
} round_work;

static uint32_t n_normal(const gen_background *b)
{
    return b->world->n_cards - b->p.n_owned;
}

static uint32_t normal_key(round_work *r)
{
    return r->b->p.n_owned + gen_rng_below(&r->b->rng, n_normal(r->b));
}

static void emit(round_work *r, const gen_event *e)
{
    if (gen_heap_push(&r->b->heap, e->ts, e) != 0)
        r->failed = 1;
    r->left--;
    r->b->made++;
}

static int64_t somewhen(round_work *r, int64_t room)
{
    return r->start + (int64_t)gen_rng_below(&r->b->rng, (uint32_t)room);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void attempts(round_work *r)
{
    gen_background *b = r->b;
    gen_rng *g = &b->rng;
    uint32_t fails = gen_rng_below(g, 100) < 85 ? 0 : 1 + gen_rng_below(g, 2);
    if (fails + 1 > r->left)
        fails = (uint32_t)r->left - 1;
    uint32_t ip;
    if (fails && r->ip_used < n_normal(b)) {
        ip = b->p.n_owned + (uint32_t)((r->ip_mul * r->ip_used++ + r->ip_add) % n_normal(b));
    } else {
        fails = 0; /* a lone success fails nothing and breaks any run */
        ip = normal_key(r);
    }
    uint32_t user = normal_key(r);
    gen_event e = {.stream = GEN_S_login_attempts, .key = ip, .ref2 = user,
                   .ts = somewhen(r, ROUND_MS - SESSION_MAX_MS)};
    for (uint32_t i = 0; i < fails; i++) {
        emit(r, &e);
        e.ts += 3 * SEC + gen_rng_below(g, 27 * SEC);
    }
    e.flag = 1;
    emit(r, &e);
}

static gen_event login_of(round_work *r, uint32_t account, int64_t ts, int new_device)
{
    gen_background *b = r->b;
    uint32_t n = b->world->n_cards;
    return (gen_event){.stream = GEN_S_logins, .key = account, .ts = ts,
                       .ref = new_device ? GEN_DEVICE_NEW + b->new_devices++
                                         : gen_own_device(n, account),
                       .ref2 = gen_own_ip(n, account), .flag = (uint8_t)new_device};
}

static void login(round_work *r)
{
    uint32_t a = normal_key(r);
    int64_t ts = somewhen(r, ROUND_MS);
    int new_device = gen_rng_below(&r->b->rng, 100) < 3;
    gen_event e = login_of(r, a, ts, new_device);
    emit(r, &e);
}

static void booking(round_work *r)
{
    gen_rng *g = &r->b->rng;
    uint32_t a = normal_key(r), x = gen_rng_below(g, 100);
    gen_event e = {.stream = GEN_S_account_transactions, .key = a, .ts = somewhen(r, ROUND_MS)};
    /* cash deposits and all withdrawals stay under $5000 (structuring,
     * dormant_account); online payments come from the account's device */
    if (x < 35) {
        e.kind = GEN_TX_PAYMENT, e.channel = GEN_CH_CARD;
        e.cents = gen_rng_range(g, 300, 30000);
    } else if (x < 60) {
        e.kind = GEN_TX_PAYMENT, e.channel = GEN_CH_ONLINE;
        e.cents = gen_rng_range(g, 500, 40000);
        e.ref = gen_own_device(r->b->world->n_cards, a);
    } else if (x < 70) {
        e.kind = GEN_TX_DEPOSIT, e.channel = GEN_CH_TRANSFER;
        e.cents = gen_rng_range(g, 20000, 800000);
    } else if (x < 80) {
        e.kind = GEN_TX_DEPOSIT, e.channel = GEN_CH_CASH;
        e.cents = gen_rng_range(g, 2000, 499999);
    } else if (x < 95) {
        e.kind = GEN_TX_WITHDRAWAL, e.channel = GEN_CH_CASH;
        e.cents = gen_rng_range(g, 2000, 100000);
    } else {
        e.kind = GEN_TX_WITHDRAWAL, e.channel = GEN_CH_TRANSFER;
        e.cents = gen_rng_range(g, 5000, 499999);
    }
    emit(r, &e);
}

static void checkout(round_work *r)
{
    gen_background *b = r->b;
    uint32_t d = normal_key(r);
    uint64_t h = gen_mix64(d ^ b->household_salt);
    uint32_t cards = 1 + (uint32_t)(h % 3), which = gen_rng_below(&b->rng, cards);
    gen_event e = {.stream = GEN_S_device_payments, .key = d,
                   .ref = gen_mix64(h + which) % b->world->n_cards};
    e.ts = somewhen(r, ROUND_MS);
    e.cents = gen_rng_range(&b->rng, 500, 30000);
    emit(r, &e);
}

static void order(round_work *r)
{
    gen_background *b = r->b;
    gen_event e = {.stream = GEN_S_customer_orders, .key = normal_key(r)};
    e.ts = somewhen(r, ROUND_MS);
    if (gen_rng_below(&b->rng, 100) < 10) {
        e.kind = GEN_ORDER_REFUND, e.ref = GEN_ORDER_OLD + b->old_orders++;
        e.cents = gen_rng_range(&b->rng, 500, 30000);
    } else {
        e.kind = GEN_ORDER_PURCHASE, e.ref = b->orders++;
        e.cents = gen_rng_range(&b->rng, 500, 50000);
    }
    emit(r, &e);
}

static void payout(round_work *r)
{
    gen_background *b = r->b;
    uint32_t a = normal_key(r);
    gen_event e = {.stream = GEN_S_payouts, .key = a, .ts = somewhen(r, ROUND_MS)};
    e.cents = gen_rng_range(&b->rng, 2000, 300000);
    if (a % 4 != 0 && gen_rng_below(&b->rng, 100) < 10) {
        e.ref = GEN_BENEF_NEW + b->new_beneficiaries++;
        e.flag = 1;
    } else {
        e.ref = gen_usual_beneficiary(a, gen_rng_below(&b->rng, 3));
    }
    emit(r, &e);
}

/* A reset and the login after it, on an account whose number is a
 * multiple of 4. Returns 0 when there is no such account. */
static int reset(round_work *r)
{
    gen_background *b = r->b;
    uint32_t first = (b->p.n_owned + 3) / 4, end = (b->world->n_cards + 3) / 4;
    if (first >= end)
        return 0;
    uint32_t a = 4 * (first + gen_rng_below(&b->rng, end - first));
    gen_event e = {.stream = GEN_S_password_resets, .key = a, .ts = somewhen(r, ROUND_MS)};
    e.channel = (uint8_t)gen_rng_below(&b->rng, 3);
    emit(r, &e);
    int64_t later = e.ts + MIN + gen_rng_below(&b->rng, 19 * MIN);
    int new_device = gen_rng_below(&b->rng, 100) < 30;
    e = login_of(r, a, later, new_device);
    emit(r, &e);
    return 1;
}

/* A new account, opened and verified. Returns 0 when the account numbers
 * are used up. */
static int opening(round_work *r)
{
    gen_background *b = r->b;
    if (b->openings >= 900000000u - b->world->n_cards)
        return 0;
    gen_event e = {.stream = GEN_S_account_events, .kind = GEN_ACCOUNT_OPENED,
                   .key = b->world->n_cards + (uint32_t)b->openings++, .ts = somewhen(r, ROUND_MS)};
    emit(r, &e);
    e.kind = GEN_ACCOUNT_VERIFIED;
    e.ts += 2 * MIN + (int64_t)gen_rng_below64(&b->rng, (uint64_t)(6 * HOUR_MS - 2 * MIN));
    emit(r, &e);
    return 1;
}

static int make_round(gen_background *b, uint64_t k)
{
    uint64_t base = b->p.n_events / b->n_rounds, rem = b->p.n_events % b->n_rounds;
    round_work r = {b, b->p.start + (int64_t)k * ROUND_MS,
               base + (k + 1) * rem / b->n_rounds - k * rem / b->n_rounds, 0, 0, 0, 0};
    uint32_t m = n_normal(b);
    r.ip_mul = m > 1 ? 1 + gen_rng_below64(&b->rng, m - 1) : 1;
    while (gcd(r.ip_mul, m) != 1)
        r.ip_mul = r.ip_mul % (m - 1) + 1;
    r.ip_add = gen_rng_below64(&b->rng, m);

    while (r.left > 0 && !r.failed) {
        uint32_t x = gen_rng_below(&b->rng, 100);
        episode ep = 0;
        while (x >= episode_weight[ep]) {
            x -= episode_weight[ep];
            ep++;
        }
        switch (ep) {
        case EP_ATTEMPTS:
            attempts(&r);
            break;
        case EP_LOGIN:
            login(&r);
            break;
        case EP_CHECKOUT:
            checkout(&r);
            break;
        case EP_ORDER:
            order(&r);
            break;
        case EP_PAYOUT:
            payout(&r);
            break;
        case EP_RESET:
            if (r.left < 2 || !reset(&r))
                booking(&r);
            break;
        case EP_OPENING:
            if (r.left < 2 || !opening(&r))
                booking(&r);
            break;
        default:
            booking(&r);
            break;
        }
    }
    return r.failed ? -1 : 0;
}

int gen_background_peek(gen_background *b, int64_t *ts)
{
    /* A round's events are all at or after its start: what is held before
     * the next round's start can go. */
    for (;;) {
        int64_t next_start = b->p.start + (int64_t)b->next_round * ROUND_MS;
        if (b->next_round >= b->n_rounds || (b->heap.n && b->heap.items[0].at < next_start))
            break;
        if (make_round(b, b->next_round++) != 0)
            return -1;
    }
    *ts = b->heap.n ? b->heap.items[0].at : INT64_MAX;
    return 0;
}

gen_event gen_background_pop(gen_background *b)
{
    return gen_heap_pop(&b->heap).event;
}
