/* types.c — names of the rule language's value types. */
#include "dsl/types.h"

#include <string.h>

static const struct {
    const char *name;
    bool field;
} type_info[] = {
#define WEIR_TYPE_INFO(name, text, field) {text, field},
    WEIR_TYPE_LIST(WEIR_TYPE_INFO)
#undef WEIR_TYPE_INFO
};

const char *weir_type_name(weir_type t)
{
    if ((unsigned)t >= WEIR_T__COUNT)
        return "error";
    return type_info[t].name;
}

weir_type weir_type_from_name(const char *name)
{
    for (unsigned i = 0; i < WEIR_T__COUNT; i++)
        if (type_info[i].field && strcmp(type_info[i].name, name) == 0)
            return (weir_type)i;
    return WEIR_T_ERROR;
}

bool weir_type_is_numeric(weir_type t)
{
    return t == WEIR_T_INT || t == WEIR_T_FLOAT || t == WEIR_T_DECIMAL;
}
