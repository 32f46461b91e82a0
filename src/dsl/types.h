/* types.h — the value types of the rule language.
 *
 * One X-macro list defines the enum and the spelling used in rule files and
 * diagnostics, so the two never drift apart. */
#ifndef WEIR_DSL_TYPES_H
#define WEIR_DSL_TYPES_H

#include <stdbool.h>

/* X(ENUM_SUFFIX, "spelling", is_field_type) */
#define WEIR_TYPE_LIST(X)                \
    X(ERROR, "error", false)             \
    X(INT, "int", true)                  \
    X(FLOAT, "float", true)              \
    X(DECIMAL, "decimal", true)          \
    X(STRING, "string", true)            \
    X(BOOL, "bool", true)                \
    X(TIME, "time", true)                \
    X(DURATION, "duration", true)        \
    X(LIST, "list", false)

typedef enum weir_type {
#define WEIR_TYPE_ENUM(name, text, field) WEIR_T_##name,
    WEIR_TYPE_LIST(WEIR_TYPE_ENUM)
#undef WEIR_TYPE_ENUM
    WEIR_T__COUNT
} weir_type;

/* "int", "decimal", ... */
const char *weir_type_name(weir_type t);
/* The type a field declaration spells, or WEIR_T_ERROR. */
weir_type weir_type_from_name(const char *name);
/* true for int, float and decimal. */
bool weir_type_is_numeric(weir_type t);

#endif
