/* scn_ledger.h — one booking on a scenario's account ledger
 * (account_transactions), for scn_structuring.c, scn_dormant.c and
 * scn_new_device.c. `device` is written only for online payments. */
#ifndef WEIR_GEN_SCN_LEDGER_H
#define WEIR_GEN_SCN_LEDGER_H

#include "scenario-internal.h"

static inline void gen_add_booking(gen_shaper *s, int kind, int channel, int64_t cents,
                                   uint64_t device)
{
    gen_shaper_add(s, (gen_event){.stream = GEN_S_account_transactions, .kind = (uint8_t)kind,
                                  .channel = (uint8_t)channel, .cents = cents, .ref = device});
}

#endif
