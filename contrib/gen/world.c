/* world.c — cities, merchant categories, merchants and card tokens.
 *
 * The tables below are the generator's idea of realism: cities with their
 * coordinates and a share of the cardholders, ISO 18245 merchant category
 * codes with price ranges. Prices are drawn from a few uniform bands per
 * category (no libm), with the endings shops like (.99, whole dollars). */
#include "world.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct city_def {
    const char *name; /* for the reader of this table; not written */
    char country[3]; /* ISO 3166 alpha-2 */
    int32_t lat_e4;  /* degrees * 10^4 */
    int32_t lon_e4;
    uint32_t weight; /* share of cardholders and merchants */
} city_def;

static const city_def cities[] = {
    {"London", "GB", 515072, -1276, 10},     {"Manchester", "GB", 534808, -22426, 4},
    {"Birmingham", "GB", 524862, -18904, 3}, {"Edinburgh", "GB", 559533, -31883, 2},
    {"Dublin", "IE", 533498, -62603, 3},     {"Paris", "FR", 488566, 23522, 8},
    {"Lyon", "FR", 457640, 48357, 3},        {"Marseille", "FR", 432965, 53698, 2},
    {"Berlin", "DE", 525200, 134050, 6},     {"Munich", "DE", 481351, 115820, 4},
    {"Hamburg", "DE", 535511, 99937, 3},     {"Amsterdam", "NL", 523676, 49041, 4},
    {"Brussels", "BE", 508503, 43517, 3},    {"Madrid", "ES", 404168, -37038, 5},
    {"Barcelona", "ES", 413874, 21686, 4},   {"Lisbon", "PT", 387223, -91393, 3},
    {"Rome", "IT", 419028, 124964, 4},       {"Milan", "IT", 454642, 91900, 4},
    {"Vienna", "AT", 482082, 163738, 3},     {"Zurich", "CH", 473769, 85417, 3},
    {"Copenhagen", "DK", 556761, 125683, 2}, {"Stockholm", "SE", 593293, 180686, 3},
    {"Oslo", "NO", 599139, 107522, 2},       {"Helsinki", "FI", 601699, 249384, 2},
    {"Warsaw", "PL", 522297, 210122, 3},     {"Prague", "CZ", 500755, 144378, 2},
    {"New York", "US", 407128, -740060, 6},  {"Chicago", "US", 418781, -876298, 3},
    {"Los Angeles", "US", 340522, -1182437, 3}, {"Toronto", "CA", 436532, -793832, 3},
    {"Mexico City", "MX", 194326, -991332, 2}, {"Sao Paulo", "BR", -235558, -466396, 2},
    {"Tokyo", "JP", 356762, 1396503, 3},     {"Singapore", "SG", 13521, 1038198, 2},
    {"Sydney", "AU", -338688, 1512093, 2},   {"Dubai", "AE", 252048, 552708, 2},
    {"Mumbai", "IN", 190760, 728777, 2},     {"Johannesburg", "ZA", -262041, 280473, 2},
};
enum { N_CITIES = sizeof cities / sizeof cities[0] };

/* A price band: `percent` of the category's payments are uniform in
 * [lo, hi] cents. The bands of a category add up to 100. */
typedef struct band {
    uint32_t percent;
    int64_t lo, hi;
} band;

typedef struct category_def {
    uint32_t mcc;
    const char *what;
    gen_role role;
    uint32_t weight; /* share of merchants */
    band bands[3];
} category_def;

/* The top of every band is at most GEN_MAX_NORMAL_CENTS, its bottom at
 * least GEN_MIN_NORMAL_CENTS, and prices of $500 and more are about 3% of
 * normal traffic. The categories of high_risk_mcc (streams.weir) are the
 * GEN_ROLE_CASHOUT ones, and no other. */
static const category_def categories[] = {
    {5411, "grocery stores", GEN_ROLE_EVERYDAY, 18,
     {{60, 300, 4000}, {35, 4000, 12000}, {5, 12000, 30000}}},
    {5812, "restaurants", GEN_ROLE_EVERYDAY, 12,
     {{70, 1200, 6000}, {28, 6000, 15000}, {2, 15000, 40000}}},
    {5814, "fast food", GEN_ROLE_EVERYDAY, 10, {{95, 250, 2500}, {5, 2500, 4500}}},
    {5541, "service stations", GEN_ROLE_EVERYDAY, 8, {{100, 2000, 9500}}},
    {5912, "pharmacies", GEN_ROLE_EVERYDAY, 5, {{90, 400, 4000}, {10, 4000, 12000}}},
    {5311, "department stores", GEN_ROLE_EVERYDAY, 4,
     {{70, 2000, 15000}, {29, 15000, 45000}, {1, 45000, 100000}}},
    {5651, "clothing", GEN_ROLE_EVERYDAY, 6, {{75, 1500, 12000}, {25, 12000, 35000}}},
    {4121, "taxis", GEN_ROLE_EVERYDAY, 4, {{100, 600, 6000}}},
    {4111, "commuter transport", GEN_ROLE_EVERYDAY, 3, {{90, 200, 600}, {10, 600, 5000}}},
    {7523, "parking", GEN_ROLE_EVERYDAY, 2, {{60, 200, 600}, {40, 600, 3000}}},
    {5815, "digital media", GEN_ROLE_PROBE, 3, {{70, 200, 999}, {30, 1000, 3000}}},
    {5816, "digital games", GEN_ROLE_PROBE, 2, {{80, 200, 1999}, {20, 2000, 8000}}},
    {5817, "software and apps", GEN_ROLE_PROBE, 2, {{90, 200, 1499}, {10, 1500, 5000}}},
    {8398, "charities", GEN_ROLE_PROBE, 1, {{70, 500, 5000}, {30, 5000, 25000}}},
    {5732, "electronics", GEN_ROLE_BIG, 3,
     {{55, 1500, 15000}, {42, 15000, 70000}, {3, 70000, 100000}}},
    {5944, "jewellery", GEN_ROLE_BIG, 1, {{80, 5000, 50000}, {20, 50000, 100000}}},
    {4511, "airlines", GEN_ROLE_BIG, 1, {{85, 6000, 60000}, {15, 60000, 100000}}},
    {5999, "gift cards and misc. retail", GEN_ROLE_BIG, 2, {{80, 1000, 20000}, {20, 20000, 50000}}},
    {6051, "quasi-cash", GEN_ROLE_CASHOUT, 1, {{100, 2000, 100000}}},
    {4829, "money transfer", GEN_ROLE_CASHOUT, 1, {{100, 2000, 100000}}},
    {7995, "betting and casinos", GEN_ROLE_CASHOUT, 1, {{100, 500, 50000}}},
    {7011, "hotels", GEN_ROLE_HOLD, 2, {{90, 8000, 45000}, {10, 45000, 100000}}},
    {7512, "car rental", GEN_ROLE_HOLD, 1, {{85, 4000, 40000}, {15, 40000, 100000}}},
};
enum { N_CATEGORIES = sizeof categories / sizeof categories[0] };

/* Real-looking issuer prefixes (Visa 4..., Mastercard 51-55 and 2221-2720). */
static const char issuer_prefixes[][7] = {
    "453201", "491761", "476173", "448590", "402400", "516732",
    "545762", "531234", "552433", "222300", "272011", "410039",
};
enum { N_PREFIXES = sizeof issuer_prefixes / sizeof issuer_prefixes[0] };

enum {
    MIN_MERCHANTS = 500,
    MAX_MERCHANTS = 200000,
    CARDS_PER_MERCHANT = 20,
};

static uint32_t weighted_pick(const uint32_t *cumulative, uint32_t n, uint32_t x)
{
    uint32_t i = 0;
    while (i + 1 < n && x >= cumulative[i])
        i++;
    return i;
}

static size_t append_fixed_e4(char *p, int32_t v)
{
    /* degrees * 10^4 as a JSON number with 4 decimals */
    uint32_t a = v < 0 ? (uint32_t)-v : (uint32_t)v;
    return (size_t)sprintf(p, "%s%u.%04u", v < 0 ? "-" : "", a / 10000, a % 10000);
}

static int build_merchants(gen_world *w, gen_rng *r)
{
    uint32_t city_cum[N_CITIES], cat_cum[N_CATEGORIES], total = 0;
    for (uint32_t c = 0; c < N_CITIES; c++)
        city_cum[c] = total += cities[c].weight;
    uint32_t city_total = total;
    total = 0;
    for (uint32_t k = 0; k < N_CATEGORIES; k++)
        cat_cum[k] = total += categories[k].weight;
    uint32_t cat_total = total;

    /* The longest fragment: "merchant":"m200000","mcc":5411,"country":"GB",
     * "lat":-90.0000,"lon":-180.0000 — well under 96 bytes. */
    enum { FRAGMENT_MAX = 96 };
    w->merchants = calloc(w->n_merchants, sizeof *w->merchants);
    w->text = malloc((size_t)w->n_merchants * FRAGMENT_MAX);
    if (!w->merchants || !w->text)
        return -1;
    uint32_t off = 0;
    for (uint32_t m = 0; m < w->n_merchants; m++) {
        gen_merchant *g = &w->merchants[m];
        /* The first merchants cover every city and every category twice,
         * so that any pick below has a choice. */
        g->city = m < N_CITIES ? m : weighted_pick(city_cum, N_CITIES, gen_rng_below(r, city_total));
        g->category = m < 2 * N_CATEGORIES
                          ? m % N_CATEGORIES
                          : weighted_pick(cat_cum, N_CATEGORIES, gen_rng_below(r, cat_total));
        const city_def *c = &cities[g->city];
        int32_t lat = c->lat_e4 + (int32_t)gen_rng_range(r, -800, 800);
        int32_t lon = c->lon_e4 + (int32_t)gen_rng_range(r, -1200, 1200);
        char *p = w->text + off;
        size_t n = (size_t)sprintf(p, "\"merchant\":\"m%05u\",\"mcc\":%u,\"country\":\"%s\"",
                                   m + 1, categories[g->category].mcc, c->country);
        g->lat_off = (uint32_t)n;
        n += (size_t)sprintf(p + n, ",\"lat\":");
        n += append_fixed_e4(p + n, lat);
        n += (size_t)sprintf(p + n, ",\"lon\":");
        n += append_fixed_e4(p + n, lon);
        g->json_off = off;
        g->json_len = (uint32_t)n;
        off += (uint32_t)n;
    }
    return 0;
}

/* Groups merchant ids by a key (city or role) in one array plus offsets. */
static int group_by(const gen_world *w, uint32_t n_keys, uint32_t (*key)(const gen_merchant *),
                    uint32_t **ids_out, uint32_t *start)
{
    uint32_t *ids = malloc((size_t)w->n_merchants * sizeof *ids);
    if (!ids)
        return -1;
    memset(start, 0, (n_keys + 1) * sizeof *start);
    for (uint32_t m = 0; m < w->n_merchants; m++)
        start[key(&w->merchants[m]) + 1]++;
    for (uint32_t k = 0; k < n_keys; k++)
        start[k + 1] += start[k];
    _Static_assert((int)N_CITIES >= (int)GEN_N_ROLES, "fill[] is sized for the larger key set");
    uint32_t fill[N_CITIES];
    memcpy(fill, start, n_keys * sizeof *fill);
    for (uint32_t m = 0; m < w->n_merchants; m++)
        ids[fill[key(&w->merchants[m])]++] = m;
    *ids_out = ids;
    return 0;
}

static uint32_t city_of(const gen_merchant *m)
{
    return m->city;
}

static uint32_t role_of(const gen_merchant *m)
{
    return (uint32_t)categories[m->category].role;
}

int gen_world_init(gen_world *w, uint64_t seed, uint32_t n_cards)
{
    memset(w, 0, sizeof *w);
    gen_rng r;
    gen_rng_seed(&r, seed, 1);
    w->n_cards = n_cards;
    uint32_t n = n_cards / CARDS_PER_MERCHANT;
    w->n_merchants = n < MIN_MERCHANTS ? MIN_MERCHANTS : n > MAX_MERCHANTS ? MAX_MERCHANTS : n;

    /* Any multiplier prime to 10 makes the token map a bijection. */
    uint64_t mul = gen_rng_next(&r) % 1000000000u;
    mul |= 1;
    if (mul % 5 == 0)
        mul += 2;
    w->token_mul = mul;
    w->token_add = gen_rng_next(&r) % 1000000000u;
    w->card_salt = gen_rng_next(&r);

    uint32_t city_cum[N_CITIES], total = 0;
    for (uint32_t c = 0; c < N_CITIES; c++)
        city_cum[c] = total += cities[c].weight;
    for (uint32_t i = 0; i < GEN_CITY_LUT; i++)
        w->city_lut[i] = (uint16_t)weighted_pick(city_cum, N_CITIES,
                                                 (uint32_t)((uint64_t)i * total / GEN_CITY_LUT));

    w->city_start = malloc((N_CITIES + 1) * sizeof *w->city_start);
    if (!w->city_start || build_merchants(w, &r) != 0 ||
        group_by(w, N_CITIES, city_of, &w->city_merchants, w->city_start) != 0 ||
        group_by(w, GEN_N_ROLES, role_of, &w->role_merchants, w->role_start) != 0) {
        gen_world_free(w);
        return -1;
    }
    return 0;
}

void gen_world_free(gen_world *w)
{
    free(w->merchants);
    free(w->text);
    free(w->city_merchants);
    free(w->city_start);
    free(w->role_merchants);
    memset(w, 0, sizeof *w);
}

void gen_card_token(const gen_world *w, uint32_t card, char out[16])
{
    memcpy(out, issuer_prefixes[card % N_PREFIXES], 6);
    uint64_t body = (w->token_mul * card + w->token_add) % 1000000000u;
    for (int i = 14; i >= 6; i--) {
        out[i] = (char)('0' + body % 10);
        body /= 10;
    }
    /* Luhn: double every second digit from the right, the check digit
     * being the rightmost. */
    unsigned sum = 0;
    for (int i = 14, dbl = 1; i >= 0; i--, dbl = !dbl) {
        unsigned d = (unsigned)(out[i] - '0');
        if (dbl) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    out[15] = (char)('0' + (10 - sum % 10) % 10);
}

uint32_t gen_card_home(const gen_world *w, uint32_t card)
{
    return w->city_lut[gen_mix64(card ^ w->card_salt) % GEN_CITY_LUT];
}

uint32_t gen_card_activity(const gen_world *w, uint32_t card)
{
    return 64 + (uint32_t)((gen_mix64(card ^ w->card_salt) >> 32) % 193);
}

uint32_t gen_city_count(void)
{
    return N_CITIES;
}

void gen_city_centre(uint32_t city, int32_t *lat_e4, int32_t *lon_e4)
{
    *lat_e4 = cities[city].lat_e4;
    *lon_e4 = cities[city].lon_e4;
}

uint32_t gen_pick_in_city(const gen_world *w, gen_rng *r, uint32_t city)
{
    uint32_t lo = w->city_start[city], n = w->city_start[city + 1] - lo;
    return w->city_merchants[lo + gen_rng_below(r, n)];
}

uint32_t gen_pick_anywhere(const gen_world *w, gen_rng *r)
{
    return gen_rng_below(r, w->n_merchants);
}

uint32_t gen_pick_role(const gen_world *w, gen_rng *r, gen_role role)
{
    uint32_t lo = w->role_start[role], n = w->role_start[role + 1] - lo;
    return w->role_merchants[lo + gen_rng_below(r, n)];
}

uint32_t gen_pick_role_except(const gen_world *w, gen_rng *r, gen_role role, uint32_t not)
{
    /* Every role has at least two merchants (see build_merchants). */
    uint32_t lo = w->role_start[role], n = w->role_start[role + 1] - lo;
    uint32_t i = gen_rng_below(r, n);
    if (w->role_merchants[lo + i] == not)
        i = (i + 1) % n;
    return w->role_merchants[lo + i];
}

int64_t gen_price(const gen_world *w, gen_rng *r, uint32_t merchant)
{
    const category_def *c = &categories[w->merchants[merchant].category];
    uint32_t x = gen_rng_below(r, 100), i = 0;
    while (i < 2 && c->bands[i + 1].percent && x >= c->bands[i].percent) {
        x -= c->bands[i].percent;
        i++;
    }
    const band *b = &c->bands[i];
    int64_t cents = gen_rng_range(r, b->lo, b->hi);
    uint32_t ending = gen_rng_below(r, 10);
    if (ending < 3) { /* x.99 */
        int64_t p = cents / 100 * 100 + 99;
        cents = p <= b->hi ? p : p - 100 >= b->lo ? p - 100 : cents;
    } else if (ending == 3 && cents >= 1000) { /* whole dollars */
        cents = cents / 100 * 100;
        if (cents < b->lo)
            cents += 100;
    }
    /* the bands keep within the limits already; the clamp is what the
     * generator's predictions rest on, so it stays */
    if (cents < GEN_MIN_NORMAL_CENTS)
        return GEN_MIN_NORMAL_CENTS;
    return cents < GEN_MAX_NORMAL_CENTS ? cents : GEN_MAX_NORMAL_CENTS;
}
