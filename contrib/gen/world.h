/* world.h — the fixed world weir-gen's payments happen in: cities, merchant
 * categories with their price ranges, merchants, and cards.
 *
 * Built once from the seed, read-only while events are written. Cards cost
 * no memory: a card's token, home city and activity are functions of its
 * number, so a hundred million cards are as cheap as ten. Each merchant's
 * constant part of an event line is formatted once, at build time. */
#ifndef WEIR_GEN_WORLD_H
#define WEIR_GEN_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* What a merchant category is used for when planting scenarios. */
typedef enum gen_role {
    GEN_ROLE_EVERYDAY, /* groceries, fuel, taxis: the bulk of normal traffic */
    GEN_ROLE_PROBE,    /* digital goods, donations: where stolen cards are tested */
    GEN_ROLE_BIG,      /* electronics, jewellery, airlines, gift cards: where they are spent */
    GEN_ROLE_CASHOUT,  /* money transfer, quasi-cash, betting: high_risk_mcc, cashed out */
    GEN_ROLE_HOLD,     /* hotels, car rentals: verify with a small charge, then bill */
    GEN_N_ROLES
} gen_role;

typedef struct gen_merchant {
    uint32_t city;     /* index into the city table */
    uint32_t category; /* index into the category table */
    uint32_t json_off; /* its '"merchant":...,"lon":...' fragment in gen_world.text */
    uint32_t json_len;
    uint32_t lat_off;  /* where ',"lat":' starts in that fragment */
} gen_merchant;

enum { GEN_CITY_LUT = 1024 };

typedef struct gen_world {
    uint32_t n_cards;
    gen_merchant *merchants; /* owned */
    uint32_t n_merchants;
    char *text;              /* owned: every merchant's JSON fragment */
    uint32_t *city_merchants; /* owned: merchant ids grouped by city ... */
    uint32_t *city_start;     /* owned: ... city c's are [city_start[c], city_start[c+1]) */
    uint32_t *role_merchants; /* owned: merchant ids grouped by role ... */
    uint32_t role_start[GEN_N_ROLES + 1];
    uint64_t token_mul;      /* card token body = (mul * card + add) mod 10^9: a bijection */
    uint64_t token_add;
    uint64_t card_salt;      /* mixes card numbers into home city and activity */
    uint16_t city_lut[GEN_CITY_LUT]; /* weighted city pick from 10 hash bits */
} gen_world;

/* Builds the world for a seed and a number of cards (1 .. GEN_MAX_CARDS).
 * Returns 0, or -1 when out of memory (w is then freed). */
#define GEN_MAX_CARDS 100000000u
int gen_world_init(gen_world *w, uint64_t seed, uint32_t n_cards);
void gen_world_free(gen_world *w);

/* The card's 16-digit token: a 6-digit issuer prefix, 9 digits unique to
 * the card, a Luhn check digit. Not NUL-terminated. */
void gen_card_token(const gen_world *w, uint32_t card, char out[16]);
uint32_t gen_card_home(const gen_world *w, uint32_t card);
/* How busy the card is, 64..256 out of 256 (mean 160). */
uint32_t gen_card_activity(const gen_world *w, uint32_t card);

uint32_t gen_pick_in_city(const gen_world *w, gen_rng *r, uint32_t city);
uint32_t gen_pick_anywhere(const gen_world *w, gen_rng *r);
uint32_t gen_pick_role(const gen_world *w, gen_rng *r, gen_role role);
/* A merchant of the role other than `not`. */
uint32_t gen_pick_role_except(const gen_world *w, gen_rng *r, gen_role role, uint32_t not);

/* The cities: how many, and where their centre is (degrees * 10^4).
 * Merchants lie within 0.08 degrees of latitude and 0.12 of longitude of
 * their city's centre. */
uint32_t gen_city_count(void);
void gen_city_centre(uint32_t city, int32_t *lat_e4, int32_t *lon_e4);
static inline uint32_t gen_merchant_city(const gen_world *w, uint32_t m)
{
    return w->merchants[m].city;
}

/* A price at the merchant, in cents, from its category's ranges: never
 * above GEN_MAX_NORMAL_CENTS, so that over $5000 in an hour takes six
 * payments of over $800 on average, as rare for a card paying about once
 * an hour as six such prices in a row. ($1500 was not enough: five travel
 * purchases in an hour happened once in five million card-hours.) */
#define GEN_MAX_NORMAL_CENTS 100000
/* ... and never under $2.00: no normal payment is a card_testing probe. */
#define GEN_MIN_NORMAL_CENTS 200
int64_t gen_price(const gen_world *w, gen_rng *r, uint32_t merchant);

static inline const char *gen_merchant_json(const gen_world *w, uint32_t m, size_t *len)
{
    *len = w->merchants[m].json_len;
    return w->text + w->merchants[m].json_off;
}

#endif
