/* timefmt.c — days since 1970-01-01 to a civil date and back.
 *
 * The calendar repeats every 400 years (146097 days); counting years from
 * March 1st puts the leap day at the end of the year, so the month lengths
 * before it follow a fixed pattern: (153 * m + 2) / 5 days before month m
 * when months are counted from March. */
#include "timefmt.h"

#include <ctype.h>
#include <string.h>

enum { DAY_MS = 86400000 };

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);                     /* [0, 399] */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put_digits(char *p, unsigned v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void gen_time_format(int64_t ms, char out[GEN_RFC3339_LEN])
{
    int64_t days = floor_div(ms, DAY_MS);
    unsigned in_day = (unsigned)(ms - days * DAY_MS);
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    put_digits(out, (unsigned)(y < 0 ? 0 : y > 9999 ? 9999 : y), 4);
    out[4] = '-';
    put_digits(out + 5, m, 2);
    out[7] = '-';
    put_digits(out + 8, d, 2);
    out[10] = 'T';
    put_digits(out + 11, in_day / 3600000, 2);
    out[13] = ':';
    put_digits(out + 14, in_day / 60000 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, in_day / 1000 % 60, 2);
    out[19] = '.';
    put_digits(out + 20, in_day % 1000, 3);
    out[23] = 'Z';
}

/* Reads exactly n digits. */
static int take(const char **p, int n, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        *v = *v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    return 0;
}

static int expect(const char **p, const char *one_of)
{
    if (!**p || !strchr(one_of, **p))
        return -1;
    ++*p;
    return 0;
}

static int parse_rfc3339(const char *p, int64_t *ms)
{
    unsigned y, mo, d, h, mi, s, frac = 0;
    if (take(&p, 4, &y) || expect(&p, "-") || take(&p, 2, &mo) || expect(&p, "-") ||
        take(&p, 2, &d) || expect(&p, "Tt ") || take(&p, 2, &h) || expect(&p, ":") ||
        take(&p, 2, &mi) || expect(&p, ":") || take(&p, 2, &s))
        return -1;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac = frac * 10 + (unsigned)(*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        unsigned oh, om;
        if (take(&p, 2, &oh) || expect(&p, ":") || take(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_min = sign * (int64_t)(oh * 60 + om);
    } else {
        return -1;
    }
    static const unsigned month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59)
        return -1;
    int64_t days = days_from_civil(y, mo, d);
    *ms = ((days * 24 + h) * 60 + mi - offset_min) * 60000 + (int64_t)s * 1000 + frac;
    return 0;
}

int gen_time_parse(const char *text, int64_t *ms)
{
    size_t n = strlen(text);
    if (n > 0 && n <= 15 && strspn(text, "0123456789") == n) {
        int64_t v = 0;
        for (size_t i = 0; i < n; i++)
            v = v * 10 + (text[i] - '0');
        *ms = v;
        return 0;
    }
    return parse_rfc3339(text, ms);
}
