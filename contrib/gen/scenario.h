/* scenario.h — the fraud weir-gen plants, and the near-misses beside it.
 *
 * Each kind is shaped after one rule of rules/fraud/ and says how many
 * alerts of that rule one instance must raise: frauds raise exactly one,
 * near-misses none (they come as close to the rule as real life does, on
 * the side that must stay quiet), and no kind raises an alert of any other
 * rule. Scenario i owns card i, account i, customer i, device i and
 * address i (names.h); normal traffic never uses them, so every rule sees
 * a scenario's key alone. The shapes are in the scn_*.c files, one per
 * fraud family, each with the argument for its count at its top.
 *
 * A new rule in rules/fraud/ needs its kinds here: one fraud, and one
 * near-miss per threshold of the rule. */
#ifndef WEIR_GEN_SCENARIO_H
#define WEIR_GEN_SCENARIO_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "names.h"
#include "rng.h"
#include "world.h"

#define GEN_ACCOUNT_STREAMS (GEN_BIT(password_resets) | GEN_BIT(logins) | GEN_BIT(payouts))

/* X(name, streams it writes, rule it is about, alerts of that rule, description) */
#define GEN_SCENARIO_KINDS(X)                                                                     \
    X(card_testing, GEN_BIT(payments), card_testing, 1,                                           \
      "3-10 probes under $2, then $500-$3000 at another merchant, within 8 min")                  \
    X(velocity_count, GEN_BIT(payments), card_velocity, 1,                                        \
      "21-40 payments of $2-$120 within 10-40 min")                                               \
    X(velocity_amount, GEN_BIT(payments), card_velocity, 1,                                       \
      "2-4 purchases within 45 min totalling over $5000 (all of them needed)")                    \
    X(cashout, GEN_BIT(payments), high_risk_merchant, 1,                                          \
      "1-3 payments of $1000.01-$1600 at money transfer, quasi-cash or betting, within 40 min")   \
    X(travel, GEN_BIT(payments), impossible_travel, 1,                                            \
      "card present at home, 15-90 min later 1700+ km away, then at home again")                  \
    X(takeover, GEN_ACCOUNT_STREAMS, account_takeover, 1,                                         \
      "reset, new-device login, payout to a new beneficiary, within 50 min")                      \
    X(structuring, GEN_BIT(account_transactions), structuring, 1,                                 \
      "2-3 cash deposits of $5000-$9999.99 within 20 h, over $10000 only with the last")          \
    X(dormant, GEN_BIT(account_transactions), dormant_account, 1,                                 \
      "silent 91-150 days (its last transaction before the stream), then $5000-$20000 out")       \
    X(new_device, GEN_BIT(account_transactions), new_device_high_amount, 1,                       \
      "3-6 online payments from one device, then one from another over 3x the largest")           \
    X(new_device_forgotten, GEN_BIT(account_transactions), new_device_high_amount, 1,             \
      "a second device last paid from 92-150 days before, 3-6 payments, then it at over 3x")      \
    X(refund_abuse, GEN_BIT(customer_orders), refund_abuse, 1,                                    \
      "3-6 orders within 3 h, more than half refunded 1-12 h after the last")                     \
    X(many_cards, GEN_BIT(device_payments), many_cards_one_device, 1,                             \
      "4-6 cards from one device within 5-40 min (a retry now and then)")                         \
    X(brute_force, GEN_BIT(login_attempts), brute_force, 1,                                       \
      "10-30 failed logins 2-18 s apart from one address, then a success")                        \
    X(unverified, GEN_BIT(account_events), account_opened_unverified, 1,                          \
      "an account opened and never verified, or verified 24h10m-30h later")                       \
    X(miss_two_probes, GEN_BIT(payments), card_testing, 0,                                        \
      "2 probes under $2, then $500+ elsewhere")                                                  \
    X(miss_same_merchant, GEN_BIT(payments), card_testing, 0,                                     \
      "3-4 small holds, then $500+ at the same hotel or car rental")                              \
    X(miss_too_slow, GEN_BIT(payments), card_testing, 0,                                          \
      "3-5 probes, then $500+ elsewhere 11-20 min later")                                         \
    X(miss_small_purchase, GEN_BIT(payments), card_testing, 0,                                    \
      "3-6 probes, then $400.00-$499.99 elsewhere")                                               \
    X(miss_probe_at_2, GEN_BIT(payments), card_testing, 0,                                        \
      "2 probes under $2 and 1-3 charges of exactly $2.00, then $500+")                           \
    X(miss_count_20, GEN_BIT(payments), card_velocity, 0, "exactly 20 payments within 15-50 min") \
    X(miss_amount_5000, GEN_BIT(payments), card_velocity, 0,                                      \
      "2-4 purchases within 45 min totalling $4500-$5000.00")                                     \
    X(miss_count_spread, GEN_BIT(payments), card_velocity, 0,                                     \
      "25-40 payments at least 4 min apart")                                                      \
    X(miss_amount_spread, GEN_BIT(payments), card_velocity, 0,                                    \
      "2-3 purchases of $2600-$4900 over an hour apart")                                          \
    X(miss_cashout_1000, GEN_BIT(payments), high_risk_merchant, 0,                                \
      "1-2 payments of exactly $1000.00 at a high-risk merchant")                                 \
    X(miss_big_not_risky, GEN_BIT(payments), high_risk_merchant, 0,                               \
      "$1000.01-$4000 at electronics, jewellery, airlines or gift cards")                         \
    X(miss_travel_plausible, GEN_BIT(payments), impossible_travel, 0,                             \
      "card present at home, then in another city at under 700 km/h")                             \
    X(miss_travel_online, GEN_BIT(payments), impossible_travel, 0,                                \
      "card present at home, then online (no position) far away 15-90 min later")                 \
    X(miss_takeover_slow, GEN_ACCOUNT_STREAMS, account_takeover, 0,                               \
      "reset, new-device login, new-beneficiary payout 61-90 min after the reset")                \
    X(miss_takeover_known_device, GEN_ACCOUNT_STREAMS, account_takeover, 0,                       \
      "reset, login from the usual device, new-beneficiary payout")                               \
    X(miss_takeover_known_beneficiary, GEN_ACCOUNT_STREAMS, account_takeover, 0,                  \
      "reset, new-device login, payout to a known beneficiary")                                   \
    X(miss_takeover_other_account, GEN_ACCOUNT_STREAMS, account_takeover, 0,                      \
      "reset on one account, new-device login and new-beneficiary payout on another")             \
    X(miss_structuring_10000, GEN_BIT(account_transactions), structuring, 0,                      \
      "2 cash deposits of $5000-$5000.00 totalling at most $10000.00")                            \
    X(miss_structuring_slow, GEN_BIT(account_transactions), structuring, 0,                       \
      "2 cash deposits over $10000 together, 24h05m-26h apart")                                   \
    X(miss_structuring_transfer, GEN_BIT(account_transactions), structuring, 0,                   \
      "2 deposits of $5000-$9999.99 over $10000 together, by transfer")                           \
    X(miss_dormant_89d, GEN_BIT(account_transactions), dormant_account, 0,                        \
      "silent 85-89 days, then $5000-$20000 out")                                                 \
    X(miss_dormant_small, GEN_BIT(account_transactions), dormant_account, 0,                      \
      "silent 100-150 days, then $4000-$4999.99 out")                                             \
    X(miss_dormant_woken, GEN_BIT(account_transactions), dormant_account, 0,                      \
      "silent 100-150 days, a small deposit, then $5000+ out")                                    \
    X(miss_new_device_small, GEN_BIT(account_transactions), new_device_high_amount, 0,            \
      "3-6 online payments from one device, then another device under 3x the smallest")           \
    X(miss_new_device_two, GEN_BIT(account_transactions), new_device_high_amount, 0,              \
      "2 online payments from one device, then another device at 10x")                            \
    X(miss_new_device_same, GEN_BIT(account_transactions), new_device_high_amount, 0,             \
      "3-6 online payments from one device, then 10x from the same device")                       \
    X(miss_new_device_known, GEN_BIT(account_transactions), new_device_high_amount, 0,            \
      "a second device last paid from 1-80 days before, 3-6 payments, then it at 10x")            \
    X(miss_refund_half, GEN_BIT(customer_orders), refund_abuse, 0,                                \
      "4 or 6 orders, exactly half refunded the same day")                                        \
    X(miss_refund_two, GEN_BIT(customer_orders), refund_abuse, 0, "2 orders, both refunded")      \
    X(miss_refund_late, GEN_BIT(customer_orders), refund_abuse, 0,                                \
      "3-5 orders, most refunded 25-30 h later")                                                  \
    X(miss_cards_three, GEN_BIT(device_payments), many_cards_one_device, 0,                       \
      "3 cards, 6-12 payments (retries) from one device within 30 min")                           \
    X(miss_cards_spread, GEN_BIT(device_payments), many_cards_one_device, 0,                      \
      "4-6 cards from one device, 21-30 min apart")                                               \
    X(miss_cards_two_devices, GEN_BIT(device_payments), many_cards_one_device, 0,                 \
      "4-6 cards within 40 min, split over two devices, 3 at most on each")                       \
    X(miss_brute_nine, GEN_BIT(login_attempts), brute_force, 0, "9 failures, then a success")     \
    X(miss_brute_slow, GEN_BIT(login_attempts), brute_force, 0,                                   \
      "10-12 failures 70-90 s apart, then a success")                                             \
    X(miss_brute_broken, GEN_BIT(login_attempts), brute_force, 0,                                 \
      "6-9 failures, a success, 6-9 failures, a success")                                         \
    X(miss_brute_no_success, GEN_BIT(login_attempts), brute_force, 0,                             \
      "15-25 failures, then nothing")                                                             \
    X(miss_brute_other_address, GEN_BIT(login_attempts), brute_force, 0,                          \
      "10-30 failures from one address, the success from another")                                \
    X(miss_unverified_23h, GEN_BIT(account_events), account_opened_unverified, 0,                 \
      "an account opened, verified 23h-23h50m later")

typedef enum gen_kind {
#define GEN_KIND_ENUM(name, streams, rule, alerts, what) GEN_KIND_##name,
    GEN_SCENARIO_KINDS(GEN_KIND_ENUM)
#undef GEN_KIND_ENUM
        GEN_N_KINDS
} gen_kind;

typedef struct gen_kind_info {
    const char *name;
    uint32_t streams; /* GEN_BIT()s of the streams its events go to */
    gen_rule rule;
    uint32_t alerts;
    const char *what;
} gen_kind_info;

extern const gen_kind_info gen_kinds[GEN_N_KINDS];

typedef struct gen_scenario {
    gen_kind kind;
    uint32_t owner;  /* it owns number `owner` of every key space */
    size_t first;    /* its events are plan.events[first .. first + count) before sorting */
    size_t count;
    int64_t start;   /* ts of its first live event (0 before placing) ... */
    int64_t end;     /* ... and of its last; a dormant scenario's history is before start */
} gen_scenario;

typedef struct gen_plan {
    gen_scenario *scenarios; /* owned; scenario i owns number i */
    size_t n_scenarios;
    size_t wanted;           /* scenarios asked for, before the event budget */
    gen_event *events;       /* owned; sorted by ts once placed */
    size_t n_events, cap_events;
    uint64_t per_kind[GEN_N_KINDS];
} gen_plan;

/* Shapes up to `wanted` scenarios of the kinds whose streams are all in
 * `streams`, alternating frauds and near-misses and cycling through the
 * kinds of each, and stops before their events would exceed `max_events`.
 * Times are relative until gen_plan_place(). Returns 0, or -1 when out of
 * memory. */
int gen_plan_shape(gen_plan *p, const gen_world *w, uint64_t seed, uint32_t streams,
                   size_t wanted, uint64_t max_events);

/* The shortest stream the plan fits in, in ms. */
int64_t gen_plan_min_span(const gen_plan *p);

/* Places each scenario at a random time in [start, start + span) with room
 * around it (span >= gen_plan_min_span()), then sorts all events by time. */
void gen_plan_place(gen_plan *p, uint64_t seed, int64_t start, int64_t span);

/* The alerts the plan must raise, per rule. */
void gen_plan_expected(const gen_plan *p, uint64_t out[GEN_N_RULES]);

void gen_plan_free(gen_plan *p);

#endif
