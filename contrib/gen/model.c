/* model.c — the names of the streams and rules listed in model.h. */
#include "model.h"

const char *const gen_stream_names[GEN_N_STREAMS] = {
#define GEN_STREAM_NAME(name) #name,
    GEN_STREAMS(GEN_STREAM_NAME)
#undef GEN_STREAM_NAME
};

const char *const gen_rule_names[GEN_N_RULES] = {
#define GEN_RULE_NAME(name) #name,
    GEN_RULES(GEN_RULE_NAME)
#undef GEN_RULE_NAME
};
