/* test_dewey.c — Dewey numbers (Flink's DeweyNumber) in both of their
 * forms: held in the 64-bit value (up to three digits below 2^20) and as
 * nodes of the shared tree. Random chains of increase() and addStage()
 * from a few roots, across both limits, are checked against a model that
 * keeps plain digit arrays: the digits, the length, the parent, Flink's
 * isCompatibleWith for every pair, that a number takes the held form
 * exactly when it fits, and that releasing everything frees every node. */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/match_buffer.h"

#define MAX_LEN 8
#define N_NUMS 400

typedef struct model {
    uint32_t d[MAX_LEN];
    uint32_t len;
} model;

/* Flink's DeweyNumber.isCompatibleWith, on arrays. */
static bool model_compatible(const model *a, const model *b)
{
    if (a->len > b->len) {
        for (uint32_t i = 0; i < b->len; i++)
            if (a->d[i] != b->d[i])
                return false;
        return true;
    }
    if (a->len == b->len) {
        uint32_t last = a->len - 1;
        for (uint32_t i = 0; i < last; i++)
            if (a->d[i] != b->d[i])
                return false;
        return a->d[last] >= b->d[last];
    }
    return false;
}

static bool model_fits_held(const model *m)
{
    if (m->len > WEIR_DEWEY_HELD_DIGITS)
        return false;
    for (uint32_t i = 0; i < m->len; i++)
        if (m->d[i] >> WEIR_DEWEY_HELD_BITS)
            return false;
    return true;
}

static void check_same(weir_dewey d, const model *m)
{
    cr_assert_eq(weir_dewey_len(d), m->len);
    cr_assert_eq((d & 1) != 0, model_fits_held(m), "held form exactly when it fits");
    weir_dewey x = d;
    for (uint32_t i = m->len; i-- > 0;) {
        cr_assert_neq(x, 0);
        cr_assert_eq(weir_dewey_digit(x), m->d[i], "digit %u", i);
        x = weir_dewey_parent(x);
    }
    cr_assert_eq(x, 0);
}

/* Steps of increase() big enough to cross 2^20 now and then. */
static uint32_t random_step(unsigned *seed)
{
    switch (rand_r(seed) % 4) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return (uint32_t)(rand_r(seed) % 5);
    default:
        return (uint32_t)((1u << WEIR_DEWEY_HELD_BITS) - 2 + (unsigned)(rand_r(seed) % 4));
    }
}

Test(dewey, both_forms_agree_with_digit_arrays)
{
    weir_mb_shared sh;
    weir_mb_shared_init(&sh);
    weir_match_buffer b;
    weir_match_buffer_init(&b, &sh);
    static weir_dewey nums[N_NUMS];
    static model models[N_NUMS];
    unsigned seed = 7;
    size_t n = 0;
    size_t held = 0, nodes = 0;
    while (n < N_NUMS) {
        cr_assert_eq(weir_mb_reserve(&b, 4, 0, 0, 0, 0, 0), 0);
        weir_dewey d;
        model m;
        if (n < 3 || rand_r(&seed) % 8 == 0) {
            uint32_t digit = n % 2 ? 1 : (1u << WEIR_DEWEY_HELD_BITS) - 1 + (uint32_t)n;
            d = weir_dewey_new(&b, digit);
            m = (model){.d = {digit}, .len = 1};
        } else {
            size_t from = (size_t)rand_r(&seed) % n;
            m = models[from];
            if (rand_r(&seed) % 2 && m.len < MAX_LEN) {
                d = weir_dewey_add_stage(&b, nums[from]);
                m.d[m.len++] = 0;
            } else {
                uint32_t step = random_step(&seed);
                d = weir_dewey_increase(&b, nums[from], step);
                m.d[m.len - 1] += step;
            }
        }
        cr_assert_neq(d, 0);
        check_same(d, &m);
        if (d & 1)
            held++;
        else
            nodes++;
        nums[n] = d;
        models[n] = m;
        n++;
    }
    cr_assert_gt(held, 50, "the test must make both forms");
    cr_assert_gt(nodes, 50, "the test must make both forms");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++)
            cr_assert_eq(weir_dewey_compatible(nums[i], nums[k]),
                         model_compatible(&models[i], &models[k]), "pair %zu %zu", i, k);
    cr_assert_gt(weir_match_buffer_bytes(&b), 0);
    /* extra references, then every one released: no node is left */
    for (size_t i = 0; i < n; i += 3)
        weir_dewey_ref(nums[i]);
    for (size_t i = 0; i < n; i += 3)
        weir_dewey_release(&b, nums[i]);
    for (size_t i = n; i-- > 0;)
        weir_dewey_release(&b, nums[i]);
    cr_assert_eq(weir_match_buffer_bytes(&b), 0);
    weir_mb_shared_fini(&sh);
}

/* The live versions of a card_testing key ("1", "1.0", "2") need no node. */
Test(dewey, a_short_version_takes_no_block)
{
    weir_mb_shared sh;
    weir_mb_shared_init(&sh);
    weir_match_buffer b;
    weir_match_buffer_init(&b, &sh);
    weir_dewey one = weir_dewey_new(&b, 1);
    weir_dewey one_zero = weir_dewey_add_stage(&b, one);
    weir_dewey two = weir_dewey_increase(&b, one, 1);
    weir_dewey one_zero_five = weir_dewey_increase(&b, weir_dewey_add_stage(&b, one_zero), 5);
    cr_assert_eq(weir_match_buffer_bytes(&b), 0, "no node");
    cr_assert(weir_dewey_compatible(one_zero, one));
    cr_assert(weir_dewey_compatible(two, one));
    cr_assert_not(weir_dewey_compatible(one, two));
    cr_assert(weir_dewey_compatible(one_zero_five, one_zero));
    cr_assert_not(weir_dewey_compatible(one_zero_five, two));
    /* a fourth digit needs a node, whose parent stays held */
    cr_assert_eq(weir_mb_reserve(&b, 1, 0, 0, 0, 0, 0), 0);
    weir_dewey four = weir_dewey_add_stage(&b, one_zero_five);
    cr_assert_eq(weir_match_buffer_bytes(&b), sh.dewey.block, "one node");
    cr_assert_eq(weir_dewey_len(four), 4);
    cr_assert_eq(weir_dewey_parent(four), one_zero_five);
    cr_assert(weir_dewey_compatible(four, one_zero_five));
    cr_assert(weir_dewey_compatible(four, one));
    weir_dewey_release(&b, four);
    cr_assert_eq(weir_match_buffer_bytes(&b), 0, "no node");
    weir_mb_shared_fini(&sh);
}

/* weir_dewey_held_stage is addStage for the numbers whose child is held,
 * and 0 (no answer) for the others. */
Test(dewey, held_stage_is_add_stage_where_it_is_held)
{
    weir_mb_shared sh;
    weir_mb_shared_init(&sh);
    weir_match_buffer b;
    weir_match_buffer_init(&b, &sh);
    static const uint32_t digits[] = {0, 1, 7, (1u << 20) - 1, 1u << 20};
    size_t n = sizeof digits / sizeof *digits, checked = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            cr_assert_eq(weir_mb_reserve(&b, 8, 0, 0, 0, 0, 0), 0);
            weir_dewey one = weir_dewey_new(&b, digits[i]);
            weir_dewey staged = weir_dewey_add_stage(&b, one);
            weir_dewey two = weir_dewey_increase(&b, staged, digits[k]);
            weir_dewey_release(&b, staged);
            weir_dewey three = weir_dewey_add_stage(&b, two);
            weir_dewey nums[] = {one, two, three};
            for (size_t j = 0; j < 3; j++) {
                weir_dewey want = weir_dewey_add_stage(&b, nums[j]);
                weir_dewey got = weir_dewey_held_stage(nums[j]);
                if (want & 1) { /* held */
                    cr_assert_eq(got, want, "digits %u %u, length %zu", digits[i], digits[k], j + 1);
                    checked++;
                } else {
                    cr_assert_eq(got, 0);
                }
                weir_dewey_release(&b, want);
            }
            weir_dewey_release(&b, three);
            weir_dewey_release(&b, two);
            weir_dewey_release(&b, one);
        }
    cr_assert_gt(checked, 10);
    cr_assert_eq(weir_match_buffer_bytes(&b), 0);
    weir_mb_shared_fini(&sh);
}
