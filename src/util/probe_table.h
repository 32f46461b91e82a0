/* probe_table.h — deletion from a linear-probing hash table of uint32
 * cells (0 = empty, otherwise an index + 1 into the owner's own storage).
 *
 * Deleting by backward shift keeps probe runs unbroken without tombstones,
 * so a table that churns (keys come and go all day) never needs a rebuild.
 * The owner says where a cell's value hashes to through `home`. */
#ifndef WEIR_UTIL_PROBE_TABLE_H
#define WEIR_UTIL_PROBE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Empties table[hole] (table size mask + 1, a power of two) and moves back
 * every later member of its probe run that may live at or before it. */
static inline void weir_probe_remove(uint32_t *table, size_t mask, size_t hole,
                                     size_t (*home)(const void *owner, uint32_t cell),
                                     const void *owner)
{
    for (size_t j = (hole + 1) & mask; table[j]; j = (j + 1) & mask) {
        size_t h = home(owner, table[j]) & mask;
        /* it may move unless its home lies cyclically in (hole, j] */
        bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
        if (movable) {
            table[hole] = table[j];
            hole = j;
        }
    }
    table[hole] = 0;
}

#endif
