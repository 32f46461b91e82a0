/* builtins.h — the functions a rule can call, defined once.
 *
 * One X-macro list drives the enum, the checker's signatures (argument and
 * result types), the compiler's opcodes and the documentation table. An
 * aggregate folds many events into one value: over the events of a repeated
 * pattern step (`sum(probe.amount)`) or over a window (`sum(amount)`). */
#ifndef WEIR_DSL_BUILTINS_H
#define WEIR_DSL_BUILTINS_H

#include <stdbool.h>

#include "dsl/types.h"

/* How the result type follows from the argument types. */
typedef enum weir_builtin_result {
    WEIR_RES_FIXED,    /* always `result` */
    WEIR_RES_ARG,      /* the type of the first argument (min, max, abs) */
    WEIR_RES_SUM,      /* int → int, decimal → decimal, float → float,
                          duration → duration */
    WEIR_RES_AVG,      /* int/decimal → decimal, float → float */
} weir_builtin_result;

/* X(ENUM, "name", is_aggregate, min_args, max_args, result_rule, result,
 *   "one-line description for docs and diagnostics")
 * Argument types are checked in check_expr.c, per builtin. */
#define WEIR_BUILTIN_LIST(X)                                                     \
    X(COUNT, "count", true, 0, 1, WEIR_RES_FIXED, WEIR_T_INT,                    \
      "number of events (of a step, or in the window); count(distinct x)")      \
    X(SUM, "sum", true, 1, 1, WEIR_RES_SUM, WEIR_T_ERROR,                        \
      "sum of a numeric field")                                                  \
    X(AVG, "avg", true, 1, 1, WEIR_RES_AVG, WEIR_T_ERROR,                        \
      "average of a numeric field")                                              \
    X(MIN, "min", true, 1, 1, WEIR_RES_ARG, WEIR_T_ERROR,                        \
      "smallest value of a field")                                               \
    X(MAX, "max", true, 1, 1, WEIR_RES_ARG, WEIR_T_ERROR,                        \
      "largest value of a field")                                                \
    X(FIRST, "first", true, 1, 1, WEIR_RES_ARG, WEIR_T_ERROR,                    \
      "value of a field in the first event")                                     \
    X(LAST, "last", true, 1, 1, WEIR_RES_ARG, WEIR_T_ERROR,                      \
      "value of a field in the last event")                                      \
    X(ABS, "abs", false, 1, 1, WEIR_RES_ARG, WEIR_T_ERROR,                       \
      "absolute value of a number or duration")                                  \
    X(LOWER, "lower", false, 1, 1, WEIR_RES_FIXED, WEIR_T_STRING,                \
      "string in lower case (ASCII)")                                            \
    X(UPPER, "upper", false, 1, 1, WEIR_RES_FIXED, WEIR_T_STRING,                \
      "string in upper case (ASCII)")                                            \
    X(LENGTH, "length", false, 1, 1, WEIR_RES_FIXED, WEIR_T_INT,                 \
      "length of a string in bytes")                                             \
    X(CONTAINS, "contains", false, 2, 2, WEIR_RES_FIXED, WEIR_T_BOOL,            \
      "contains(s, part): s contains part")                                      \
    X(STARTS_WITH, "starts_with", false, 2, 2, WEIR_RES_FIXED, WEIR_T_BOOL,      \
      "starts_with(s, prefix)")                                                  \
    X(ENDS_WITH, "ends_with", false, 2, 2, WEIR_RES_FIXED, WEIR_T_BOOL,          \
      "ends_with(s, suffix)")                                                    \
    X(GEO_DISTANCE, "geo_distance", false, 4, 4, WEIR_RES_FIXED, WEIR_T_FLOAT,   \
      "geo_distance(lat1, lon1, lat2, lon2): great-circle distance in km")       \
    X(HOURS, "hours", false, 1, 1, WEIR_RES_FIXED, WEIR_T_FLOAT,                 \
      "a duration in hours, as a number")                                        \
    X(HOUR_OF_DAY, "hour_of_day", false, 1, 1, WEIR_RES_FIXED, WEIR_T_INT,       \
      "hour of a time, 0-23, UTC")                                               \
    X(DAY_OF_WEEK, "day_of_week", false, 1, 1, WEIR_RES_FIXED, WEIR_T_INT,       \
      "day of a time, 1 (Monday) to 7 (Sunday), UTC")                            \
    X(WINDOW_START, "window_start", false, 0, 0, WEIR_RES_FIXED, WEIR_T_TIME,    \
      "start of the window (window rules only)")                                 \
    X(WINDOW_END, "window_end", false, 0, 0, WEIR_RES_FIXED, WEIR_T_TIME,        \
      "end of the window (window rules only)")                                   \
    X(ENV, "env", false, 1, 1, WEIR_RES_FIXED, WEIR_T_STRING,                    \
      "env(\"NAME\"): an environment variable (sink options only)")

typedef enum weir_builtin {
    WEIR_BUILTIN_NONE = -1,
#define WEIR_BUILTIN_ENUM(e, name, agg, mn, mx, rr, rt, doc) WEIR_BUILTIN_##e,
    WEIR_BUILTIN_LIST(WEIR_BUILTIN_ENUM)
#undef WEIR_BUILTIN_ENUM
    WEIR_BUILTIN__COUNT
} weir_builtin;

typedef struct weir_builtin_info {
    const char *name;
    bool aggregate;
    unsigned min_args, max_args;
    weir_builtin_result result_rule;
    weir_type result;
    const char *doc;
} weir_builtin_info;

/* The builtin called `name`, or WEIR_BUILTIN_NONE. */
weir_builtin weir_builtin_lookup(const char *name);
const weir_builtin_info *weir_builtin_get(weir_builtin b);

#endif
