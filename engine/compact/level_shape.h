/* level_shape.h: the options of a leveled shape (L0 trigger, L1 target, level fanout,
 * output file size) with their defaults, read the same way by every strategy that keeps
 * leveled levels (leveled, triangular, adaptive's leveled runs). A zero option means the
 * default, as in picker tests, which pass zeroed options. */
#ifndef AM_COMPACT_LEVEL_SHAPE_H
#define AM_COMPACT_LEVEL_SHAPE_H

#include <stdint.h>
#include "amethyst.h"

typedef struct level_shape {
    uint64_t fanout;        /* level_fanout, or the strategy's default */
    uint64_t l1_bytes;      /* l1_target_bytes, else 4 * memtable_bytes, else 16 MiB */
    uint64_t target_file;   /* target_file_bytes, else 2 MiB */
    int l0_trigger;         /* l0_compaction_trigger, else 4 */
} level_shape;

/* Fills ls from o (NULL: every default); def_fanout is the strategy's own default. */
void level_shape_init(level_shape *ls, const am_options *o, uint64_t def_fanout);
/* Size target of level n >= 1: l1_bytes * fanout^(n-1), saturating instead of
 * overflowing. */
uint64_t level_shape_target(const level_shape *ls, int n);

#endif
