/* model.h — what weir-gen writes: the streams of rules/fraud/, the rules
 * whose alerts it predicts, and one event of any stream.
 *
 * The lists are defined once here and drive the option parser, the
 * writers, the summary and the --expect file. They mirror
 * rules/fraud/streams*.weir and the rule names `weir run` prints; a new
 * stream or rule in the library needs a line here. */
#ifndef WEIR_GEN_MODEL_H
#define WEIR_GEN_MODEL_H

#include <stdint.h>

/* X(name): every stream of rules/fraud/, payments first. */
#define GEN_STREAMS(X)                                                                      \
    X(payments)                                                                             \
    X(password_resets)                                                                      \
    X(logins)                                                                               \
    X(payouts)                                                                              \
    X(account_transactions)                                                                 \
    X(customer_orders)                                                                      \
    X(device_payments)                                                                      \
    X(login_attempts)                                                                       \
    X(account_events)

typedef enum gen_stream {
#define GEN_STREAM_ENUM(name) GEN_S_##name,
    GEN_STREAMS(GEN_STREAM_ENUM)
#undef GEN_STREAM_ENUM
        GEN_N_STREAMS
} gen_stream;

#define GEN_BIT(stream) (1u << GEN_S_##stream)
#define GEN_ALL_STREAMS ((1u << GEN_N_STREAMS) - 1)

extern const char *const gen_stream_names[GEN_N_STREAMS];

/* X(name): every rule of rules/fraud/, in the order `weir run` lists them. */
#define GEN_RULES(X)                                                                        \
    X(account_opened_unverified)                                                            \
    X(account_takeover)                                                                     \
    X(brute_force)                                                                          \
    X(card_testing)                                                                         \
    X(dormant_account)                                                                      \
    X(high_risk_merchant)                                                                   \
    X(impossible_travel)                                                                    \
    X(many_cards_one_device)                                                                \
    X(new_device_high_amount)                                                               \
    X(refund_abuse)                                                                         \
    X(structuring)                                                                          \
    X(card_velocity)

typedef enum gen_rule {
#define GEN_RULE_ENUM(name) GEN_R_##name,
    GEN_RULES(GEN_RULE_ENUM)
#undef GEN_RULE_ENUM
        GEN_N_RULES
} gen_rule;

extern const char *const gen_rule_names[GEN_N_RULES];

/* Values of gen_event.kind and gen_event.channel, per stream. */
enum {
    GEN_TX_DEPOSIT = 0, GEN_TX_WITHDRAWAL, GEN_TX_PAYMENT,      /* account_transactions */
    GEN_CH_CASH = 0, GEN_CH_CARD, GEN_CH_ONLINE, GEN_CH_TRANSFER,
    GEN_ORDER_PURCHASE = 0, GEN_ORDER_REFUND,                   /* customer_orders */
    GEN_ACCOUNT_OPENED = 0, GEN_ACCOUNT_VERIFIED,               /* account_events */
    GEN_RESET_EMAIL = 0, GEN_RESET_SMS, GEN_RESET_CALL_CENTRE,  /* password_resets channel */
};

/* One event of any stream. What the members mean depends on `stream`:
 *
 *   stream                key       ref          ref2   flag             kind / channel
 *   payments              card      merchant     -      online (no lat)  -
 *   password_resets       account   -            -      -                - / reset channel
 *   logins                account   device       ip     new_device       -
 *   payouts               account   beneficiary  -      new_beneficiary  -
 *   account_transactions  account   device (if online)  -  -             tx kind / channel
 *   customer_orders       customer  order        -      -                order kind
 *   device_payments       device    card         -      -                -
 *   login_attempts        ip        -            user   success          -
 *   account_events        account   -            -      -                account kind
 *
 * Numbers are indexes into the name spaces of names.h; cents is the
 * amount where the stream has one. */
typedef struct gen_event {
    int64_t ts;    /* ms since the epoch (relative to its scenario's start until placed) */
    int64_t cents;
    uint64_t ref;
    uint32_t key;
    uint32_t ref2;
    uint8_t stream; /* gen_stream */
    uint8_t kind;
    uint8_t channel;
    uint8_t flag;
} gen_event;

#endif
