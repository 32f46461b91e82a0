/* test_tables.c — the engine's two hash tables and the timer queue: every
 * key stays findable while others come and go (backward-shift deletion
 * must not break probe runs), and timers come out in deadline order,
 * equal deadlines in push order. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "engine/key_map.h"
#include "engine/timers.h"

static weir_value key_of(char *buf, size_t size, unsigned i)
{
    int n = snprintf(buf, size, "card-%u", i);
    return weir_value_string(buf, (size_t)n);
}

Test(key_map, keys_stay_findable_while_others_are_removed)
{
    weir_key_map m;
    weir_key_map_init(&m, WEIR_T_STRING);
    enum { N = 5000 };
    char buf[32];
    uint32_t slot;
    for (unsigned i = 0; i < N; i++) {
        weir_value k = key_of(buf, sizeof buf, i);
        weir_key_entry *e = weir_key_map_upsert(&m, &k, weir_key_hash(WEIR_T_STRING, &k), &slot);
        cr_assert_not_null(e);
    }
    /* remove every third key, in an order unrelated to insertion */
    for (unsigned step = 0; step < N; step++) {
        unsigned i = (step * 7919u) % N;
        if (i % 3)
            continue;
        weir_value k = key_of(buf, sizeof buf, i);
        weir_key_entry *e = weir_key_map_find(&m, &k, weir_key_hash(WEIR_T_STRING, &k));
        cr_assert_not_null(e, "key %u lost before its removal", i);
        weir_key_map_remove(&m, e);
    }
    for (unsigned i = 0; i < N; i++) {
        weir_value k = key_of(buf, sizeof buf, i);
        weir_key_entry *e = weir_key_map_find(&m, &k, weir_key_hash(WEIR_T_STRING, &k));
        if (i % 3 == 0)
            cr_assert_null(e, "key %u still there", i);
        else
            cr_assert(e, "key %u lost", i);
        if (e) {
            weir_value got = weir_key_entry_key(WEIR_T_STRING, e);
            cr_assert(got.len == k.len && memcmp(got.u.s, k.u.s, k.len) == 0, "key %u changed", i);
        }
    }
    cr_assert_eq(m.live, N - (N + 2) / 3);
    weir_key_map_clear(&m);
}

/* Keys of every length around the inline limit: inline ones move with
 * the slab as it grows, long ones have their own copy, freed on removal
 * and on clear (ASan and LSan check both). */
Test(key_map, short_and_long_keys)
{
    weir_key_map m;
    weir_key_map_init(&m, WEIR_T_STRING);
    char text[64];
    memset(text, 'k', sizeof text);
    enum { N = 3000, MAXLEN = 40 };
    uint32_t slot;
    for (unsigned i = 0; i < N; i++) {
        size_t len = 10 + i % (MAXLEN - 10);
        char buf[64];
        memcpy(buf, text, len);
        snprintf(buf, sizeof buf, "%u", i); /* unique prefix; NUL overwritten below */
        buf[strlen(buf)] = 'k';
        weir_value k = weir_value_string(buf, len);
        cr_assert_not_null(weir_key_map_upsert(&m, &k, weir_key_hash(WEIR_T_STRING, &k), &slot));
        memset(buf, 'x', sizeof buf); /* the map must hold its own copy */
    }
    for (unsigned i = 0; i < N; i++) {
        size_t len = 10 + i % (MAXLEN - 10);
        char buf[64];
        memcpy(buf, text, len);
        snprintf(buf, sizeof buf, "%u", i);
        buf[strlen(buf)] = 'k';
        weir_value k = weir_value_string(buf, len);
        weir_key_entry *e = weir_key_map_find(&m, &k, weir_key_hash(WEIR_T_STRING, &k));
        cr_assert_not_null(e, "key %u (%zu bytes) lost", i, len);
        weir_value got = weir_key_entry_key(WEIR_T_STRING, e);
        cr_assert_eq(got.len, len);
        cr_assert_eq(memcmp(got.u.s, buf, len), 0);
        if (i % 2)
            weir_key_map_remove(&m, e);
    }
    weir_key_map_clear(&m);
}

Test(timers, come_out_by_deadline_then_push_order)
{
    weir_timers t;
    weir_timers_init(&t);
    enum { N = 3000 };
    /* 3000 timers over 50 distinct deadlines, pushed in scrambled order */
    for (uint32_t i = 0; i < N; i++) {
        int64_t at = (int64_t)((i * 37u) % 50) * 1000;
        cr_assert_eq(weir_timers_push(&t, (weir_timer){.at = at, .slot = i}), 0);
    }
    int64_t last_at = -1;
    uint32_t last_slot = 0, popped = 0;
    weir_timer x;
    while (weir_timers_peek(&t, &x)) {
        cr_assert_geq(x.at, last_at);
        if (x.at == last_at)
            cr_assert_gt(x.slot, last_slot, "equal deadlines keep push order");
        last_at = x.at;
        last_slot = x.slot;
        weir_timers_pop(&t);
        popped++;
        /* a timer pushed while firing, at a deadline already passed by
         * others, still comes out */
        if (popped == 10)
            cr_assert_eq(weir_timers_push(&t, (weir_timer){.at = last_at, .slot = N}), 0);
    }
    cr_assert_eq(popped, N + 1);
    weir_timers_clear(&t);
}
