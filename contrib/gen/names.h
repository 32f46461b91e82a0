/* names.h — the identifiers of accounts, customers, devices, addresses,
 * user names, orders and beneficiaries, as text.
 *
 * Each name space maps a number to a string through a bijection drawn
 * from the seed (an affine map modulo the size of the space), so two
 * numbers never share a name and nothing is stored: a name costs no
 * memory, like a card token (world.h). Numbers are planned, not drawn:
 * scenario i owns number i of every space, normal traffic uses the
 * numbers above the scenarios, and ranges above the per-key ones hold
 * one-off names (new devices, new beneficiaries, orders). */
#ifndef WEIR_GEN_NAMES_H
#define WEIR_GEN_NAMES_H

#include <stddef.h>
#include <stdint.h>

typedef enum gen_ns {
    GEN_NS_ACCOUNT,     /* "AC" + 9 digits; 10^9 names */
    GEN_NS_CUSTOMER,    /* "CU" + 9 digits; 10^9 */
    GEN_NS_USER,        /* "user" + 9 digits; 10^9 */
    GEN_NS_DEVICE,      /* "dv" + 12 hex digits; 2^48 */
    GEN_NS_ORDER,       /* "ORD-" + 12 hex digits; 2^48 */
    GEN_NS_BENEFICIARY, /* "BEN" + 12 hex digits; 2^48 */
    GEN_NS_IP,          /* dotted IPv4; 2^32 */
    GEN_N_NS
} gen_ns;

/* Ranges within the 2^48 spaces, above any per-key number. */
#define GEN_DEVICE_NEW ((uint64_t)1 << 40)     /* + n: devices seen once (new_device logins) */
#define GEN_ORDER_OLD ((uint64_t)1 << 40)      /* + n: orders bought before the stream began */
#define GEN_ORDER_PLANTED ((uint64_t)1 << 41)  /* + 16 * scenario + i: a scenario's orders */
#define GEN_BENEF_NEW ((uint64_t)1 << 40)      /* + n: beneficiaries paid for the first time */
#define GEN_BENEF_PLANTED ((uint64_t)1 << 41)  /* + scenario: a fraudster's beneficiary */
#define GEN_NAME_MAX 24                        /* longest name, NUL excluded */

/* Numbers of the keys that go with an account, for a world of n_keys
 * cards (and as many accounts, customers, devices and addresses):
 *   accounts  [0, n) everyone's, [n, GEN_TWIN_ACCOUNT) new ones (opened in
 *             the stream), GEN_TWIN_ACCOUNT + i scenario i's second one;
 *   devices   [0, n) device_payments, [n, 2n) the account's own,
 *             [2n, 3n) a fraudster's, [3n, 4n) scenario i's second one,
 *             GEN_DEVICE_NEW + i one-off ones;
 *   addresses [0, n) login_attempts, [n, 2n) the account's own,
 *             [2n, 3n) a fraudster's, [3n, 4n) scenario i's second one;
 *   beneficiaries 4 * account + 0..2 the account's usual payees.
 * A scenario's second key is for near-misses split over two keys. */
#define GEN_TWIN_ACCOUNT 900000000u
static inline uint64_t gen_twin_device(uint32_t n, uint32_t owner)
{
    return 3 * (uint64_t)n + owner;
}
static inline uint32_t gen_twin_ip(uint32_t n, uint32_t owner)
{
    return 3 * n + owner;
}
static inline uint64_t gen_own_device(uint32_t n, uint32_t account)
{
    return (uint64_t)n + account;
}
static inline uint64_t gen_fraud_device(uint32_t n, uint32_t owner)
{
    return 2 * (uint64_t)n + owner;
}
static inline uint32_t gen_own_ip(uint32_t n, uint32_t account)
{
    return n + account;
}
static inline uint32_t gen_fraud_ip(uint32_t n, uint32_t owner)
{
    return 2 * n + owner;
}
static inline uint64_t gen_usual_beneficiary(uint32_t account, uint32_t which)
{
    return 4 * (uint64_t)account + which % 3;
}

typedef struct gen_names {
    uint64_t mul[GEN_N_NS];
    uint64_t add[GEN_N_NS];
} gen_names;

void gen_names_init(gen_names *n, uint64_t seed);

/* Writes the name of number `i` of space `ns` to out (not NUL-terminated)
 * and returns its length, at most GEN_NAME_MAX. */
size_t gen_name(const gen_names *n, gen_ns ns, uint64_t i, char *out);

#endif
