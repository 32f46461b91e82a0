/* scn_travel.c — cloned cards for rules/fraud/impossible_travel.weir (two
 * card-present payments 200 km or more apart, faster than 900 km/h,
 * within 12h, skip past last).
 *
 * Distances are bounded without trigonometry. The great-circle distance is
 * at least the difference in latitude (every path must cover it) and at
 * most the difference in latitude plus the difference in longitude, taken
 * along a meridian and a parallel; one degree is 111.19 km on weir's
 * 6371 km sphere. Merchants lie within 0.08 degrees of latitude and 0.12
 * of longitude of their city's centre (world.c), which the bounds allow
 * for.
 *
 * The fraud: the holder pays in person at home (one to three times), a
 * clone pays in person 15-90 minutes after the last of those in a city at
 * least 15.5 degrees of latitude away (over 1700 km: over 1130 km/h),
 * then the holder pays at home again. Every home payment before the clone
 * completes a match at the clone's payment; they all end there, so
 * `skip past last` keeps one, and drops every partial match started at or
 * before it: the payment at home afterwards starts afresh, with nothing
 * after it. One alert. Near-misses: the other city reached at under
 * 700 km/h by the upper bound (a real trip), and the far payment made
 * online (no position). Amounts are normal prices: $2 to $1000. */
#include "scenario-internal.h"

enum {
    FAR_LAT_E4 = 155000,    /* 15.5 degrees of latitude: over 1700 km */
    JITTER_E4 = 4000,       /* 0.16 + 0.24 degrees: both merchants' offsets */
    KM_PER_DEGREE_E2 = 11119,
};

static int32_t abs32(int32_t v)
{
    return v < 0 ? -v : v;
}

static void home_payment(gen_shaper *s, uint32_t home)
{
    uint32_t m = gen_pick_in_city(s->world, s->rng, home);
    gen_add_payment(s, m, gen_price(s->world, s->rng, m), 1);
}

/* A city at least FAR_LAT_E4 of latitude from `home` (there always is one:
 * the table runs from Sydney to Helsinki). */
static uint32_t far_city(gen_shaper *s, uint32_t home)
{
    int32_t hlat, hlon, lat, lon;
    gen_city_centre(home, &hlat, &hlon);
    uint32_t n = gen_city_count(), c = gen_rng_below(s->rng, n);
    for (;; c = (c + 1) % n) {
        gen_city_centre(c, &lat, &lon);
        if (abs32(lat - hlat) >= FAR_LAT_E4)
            return c;
    }
}

/* Home payments, then the last one's time is where the clone starts. */
static uint32_t holder_at_home(gen_shaper *s)
{
    uint32_t home = gen_card_home(s->world, s->owner);
    uint32_t n = (uint32_t)gen_rng_range(s->rng, 1, 3);
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            gen_pause(s, 10 * GEN_MIN, 60 * GEN_MIN);
        home_payment(s, home);
    }
    return home;
}

void gen_shape_travel(gen_shaper *s)
{
    uint32_t home = holder_at_home(s);
    gen_pause(s, 15 * GEN_MIN, 90 * GEN_MIN);
    uint32_t m = gen_pick_in_city(s->world, s->rng, far_city(s, home));
    gen_add_payment(s, m, gen_price(s->world, s->rng, m), 1);
    gen_pause(s, 30 * GEN_MIN, 120 * GEN_MIN);
    home_payment(s, home);
}

void gen_shape_miss_travel_online(gen_shaper *s)
{
    uint32_t home = holder_at_home(s);
    gen_pause(s, 15 * GEN_MIN, 90 * GEN_MIN);
    uint32_t m = gen_pick_in_city(s->world, s->rng, far_city(s, home));
    gen_add_payment(s, m, gen_price(s->world, s->rng, m), 0);
}

void gen_shape_miss_travel_plausible(gen_shaper *s)
{
    uint32_t home = gen_card_home(s->world, s->owner);
    int32_t hlat, hlon, lat, lon;
    gen_city_centre(home, &hlat, &hlon);
    /* Another city no more than 7700 km away by the upper bound, so that
     * the trip at 700 km/h takes at most 11 hours; from a city with none
     * so near (Sydney, Johannesburg, Sao Paulo), the nearest, whose trip
     * may take over 12 hours: outside `within`, quiet as well. */
    uint32_t n = gen_city_count(), c = gen_rng_below(s->rng, n), best = home;
    int64_t best_km = INT64_MAX;
    for (uint32_t i = 0; i < n; i++, c = (c + 1) % n) {
        gen_city_centre(c, &lat, &lon);
        int64_t km = ((int64_t)abs32(lat - hlat) + abs32(lon - hlon) + JITTER_E4) *
                     KM_PER_DEGREE_E2 / 1000000;
        if (c != home && km < best_km) {
            best = c;
            best_km = km;
            if (km <= 7700)
                break;
        }
    }
    home_payment(s, home);
    int64_t fastest = best_km * GEN_HOUR / 700 + 1;
    gen_pause(s, fastest, fastest + 30 * GEN_MIN);
    uint32_t m = gen_pick_in_city(s->world, s->rng, best);
    gen_add_payment(s, m, gen_price(s->world, s->rng, m), 1);
}
