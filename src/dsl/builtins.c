/* builtins.c — the table behind builtins.h. */
#include "dsl/builtins.h"

#include <string.h>

static const weir_builtin_info builtin_table[] = {
#define WEIR_BUILTIN_INFO(e, name, agg, mn, mx, rr, rt, doc) \
    {name, agg, mn, mx, rr, rt, doc},
    WEIR_BUILTIN_LIST(WEIR_BUILTIN_INFO)
#undef WEIR_BUILTIN_INFO
};

weir_builtin weir_builtin_lookup(const char *name)
{
    for (int i = 0; i < WEIR_BUILTIN__COUNT; i++)
        if (strcmp(builtin_table[i].name, name) == 0)
            return (weir_builtin)i;
    return WEIR_BUILTIN_NONE;
}

const weir_builtin_info *weir_builtin_get(weir_builtin b)
{
    if (b < 0 || b >= WEIR_BUILTIN__COUNT)
        return NULL;
    return &builtin_table[b];
}
