/* level_shape.c: level_shape_init (level_shape.h). */
#include "compact/level_shape.h"

#define DEF_L0_TRIGGER 4
#define DEF_L1_BYTES (4u * 4u * 1024u * 1024u)       /* 4 x the default 4 MiB memtable */
#define DEF_TARGET_FILE (2u * 1024u * 1024u)

void level_shape_init(level_shape *ls, const am_options *o, uint64_t def_fanout)
{
    ls->fanout = o && o->level_fanout > 1 ? (uint64_t)o->level_fanout : def_fanout;
    ls->l0_trigger = o && o->l0_compaction_trigger > 0 ? o->l0_compaction_trigger
                                                       : DEF_L0_TRIGGER;
    if (o && o->l1_target_bytes) ls->l1_bytes = o->l1_target_bytes;
    else if (o && o->memtable_bytes) ls->l1_bytes = 4 * (uint64_t)o->memtable_bytes;
    else ls->l1_bytes = DEF_L1_BYTES;
    ls->target_file = o && o->target_file_bytes ? o->target_file_bytes : DEF_TARGET_FILE;
}

uint64_t level_shape_target(const level_shape *ls, int n)
{
    uint64_t t = ls->l1_bytes;
    for (int i = 1; i < n; i++) {
        if (t > UINT64_MAX / ls->fanout) return UINT64_MAX;
        t *= ls->fanout;
    }
    return t;
}
