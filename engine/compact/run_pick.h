/* run_pick.h: what the strategies share beyond the view (version/view.h, which owns the
 * key ranges and overlap queries): the defaults of the shape options, read the same way by
 * every strategy (a zero option means the default, as in picker tests, which pass zeroed
 * options); the leveled shape (L0 trigger, L1 target, level fanout, file size); the
 * round-robin compact pointer of leveled merges; and, for the whole-run strategies
 * (tiered, lazy-leveled), adding an age-contiguous group of runs to a job and the order in
 * which levels over their run trigger are tried. Pure functions of a version and the
 * options, apart from the cursor, which its strategy owns. */
#ifndef AM_COMPACT_RUN_PICK_H
#define AM_COMPACT_RUN_PICK_H

#include <stddef.h>
#include <stdint.h>
#include "compact/strategy.h"

/* ---- defaults: the one place each is written ---- */
#define RPICK_DEF_TIER_FANOUT 4          /* tier_fanout */
#define RPICK_DEF_LEVEL_FANOUT 10        /* level_fanout of leveled and adaptive */
#define RPICK_DEF_L0_TRIGGER 4           /* l0_compaction_trigger */
#define RPICK_DEF_L0_SLOWDOWN 8          /* am_options_init's l0_slowdown_files */
#define RPICK_DEF_MEMTABLE (4u * 1024u * 1024u)          /* am_options_init's */
#define RPICK_DEF_L1_BYTES (4u * RPICK_DEF_MEMTABLE)     /* 4 x the default memtable */
#define RPICK_DEF_TARGET_FILE (2u * 1024u * 1024u)      /* target_file_bytes */

/* The tier fanout of o (opts->tier_fanout, default 4), and the run count that triggers a
 * merge of L0: min(fanout, l0_slowdown_files - 1), at least 1, so that a strategy never
 * waits for more L0 files than writers are let through at full speed (l0_slowdown_files
 * <= l0_stop_files is checked by am_open). o may be NULL: every default. */
size_t rpick_fanout(const am_options *o);
size_t rpick_l0_trigger(const am_options *o, size_t fanout);
/* opts->target_file_bytes or the 2 MiB default. */
uint64_t rpick_target_file(const am_options *o);
/* opts->memtable_bytes or the 4 MiB default. */
uint64_t rpick_memtable(const am_options *o);

/* ---- the leveled shape ---- */
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

/* ---- the round-robin compact pointer ---- */
/* Per level, the largest user key of the last merge taken from it (owned copies). */
typedef struct rpick_cursor {
    char *key[AM_MAX_LEVELS];
    size_t len[AM_MAX_LEVELS];
    int set[AM_MAX_LEVELS];
} rpick_cursor;

void rpick_cursor_free(rpick_cursor *c);
/* Where the next merge of level starts among segs[0..n) (sorted by key): the first whose
 * largest user key is past the level's pointer, wrapping to 0 past the end; 0 when the
 * level has no pointer yet. */
size_t rpick_cursor_start(const rpick_cursor *c, int level, am_segment *const *segs,
                          size_t n);
/* Moves the level's pointer to the largest key of in (a merge's inputs from the level).
 * On OOM, or for an empty range, the pointer stays put. */
void rpick_cursor_advance(rpick_cursor *c, int level, const view_range *in);

/* ---- whole runs (tiered, lazy-leveled) ---- */
/* Adds every segment of runs[0..n) (all in level) to job and widens r by them. Returns 1,
 * or 0 when one of them is an input of a job in flight (env) or on OOM (job may then hold
 * some of them: the caller clears it). */
int rpick_add_runs(am_job *job, const am_pick_env *env, int level, const am_run *runs,
                   size_t n, view_range *r);

/* Fills order[] with the levels 0..nlevels-1 whose run count reaches trig[n] (trig[n] = 0
 * leaves level n out), most runs per trigger first, ties to the lower level. Returns how
 * many it wrote. */
int rpick_order(const am_version *v, const size_t *trig, int nlevels, int *order);

#endif
