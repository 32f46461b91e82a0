/* fuzz_parser.c — libFuzzer target for the whole rule front end: any bytes
 * go through the lexer, parser, checker and compiler as rule text. The
 * front end must report diagnostics for garbage and never crash, hang, leak
 * or read out of bounds. Build with `make fuzz`; run as
 *   tests/fuzz/fuzz_parser -max_len=4096 tests/fuzz/corpus */
#include <stddef.h>
#include <stdint.h>

#include "weir/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore_diag(void *user, const weir_diagnostic *d)
{
    (void)user;
    (void)d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weir_compile_options opt = {.diag = ignore_diag};
    weir_ruleset *rs = NULL;
    /* `include` resolves against the working directory; the fuzzer may
     * name files that exist, which is fine: they are read, not written. */
    weir_ruleset_compile_text("fuzz.weir", (const char *)data, size, &opt, &rs);
    if (rs) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            weir_ruleset_dump(rs, WEIR_DUMP_TEXT, null);
            weir_ruleset_dump(rs, WEIR_DUMP_DOT, null);
            fclose(null);
        }
    }
    weir_ruleset_free(rs);
    return 0;
}
