/* run_pick.h: helpers shared by the strategies: user-key ranges borrowed from segments and
 * the overlap and disjointness tests on them (every strategy); for the whole-run ones
 * (tiered, lazy-leveled) the busy and overlap tests on runs, adding an
 * age-contiguous group of runs to a job, the disjointness test that allows a trivial move,
 * the bottommost test, and the order in which levels over their run trigger are tried.
 * Pure functions of a version; nothing here holds state. Callers hold the engine mutex
 * when the version is the current one (being_compacted is read). */
#ifndef AM_COMPACT_RUN_PICK_H
#define AM_COMPACT_RUN_PICK_H

#include <stddef.h>
#include <stdint.h>
#include "compact/strategy.h"

/* A user-key range; the keys are borrowed from segments of the version. */
typedef struct rpick_range {
    const char *lo, *hi;
    size_t lon, hin;
    int set;                  /* 0: empty */
} rpick_range;

/* Widens r to hold g's user-key range. */
void rpick_range_add(rpick_range *r, const am_segment *g);
/* 1 when g's user-key range meets r (a shared boundary key counts). */
int rpick_seg_overlaps(const am_segment *g, const rpick_range *r);
/* 1 when the user-key ranges of a and b meet (a shared boundary key counts). */
int rpick_segs_overlap(const am_segment *a, const am_segment *b);
/* 1 when the n segments of a are pairwise disjoint by user key; sorts a by smallest key. */
int rpick_segs_disjoint(am_segment **a, size_t n);
/* 1 when a segment of run meets r. */
int rpick_run_overlaps(const am_run *run, const rpick_range *r);
/* 1 when a segment of run is being compacted. */
int rpick_run_busy(const am_run *run);

/* Adds every segment of runs[0..n) (all in level) to job and widens r by them. Returns 1,
 * or 0 when one of them is being compacted or on OOM (job may then hold some of them:
 * the caller clears it). */
int rpick_add_runs(am_job *job, int level, const am_run *runs, size_t n, rpick_range *r);
/* 1 when the segments of runs[0..n) have pairwise disjoint user-key ranges, so that they
 * can form one run without a rewrite; 0 when two meet, or on OOM. */
int rpick_runs_disjoint(const am_run *runs, size_t n);
/* 1 when no segment of runs[from..) of level, nor of any deeper level, meets r: nothing
 * older than the job's inputs holds their keys (pass from = 0 when every run of level is
 * older than the inputs, from = nruns when none is). */
int rpick_nothing_older(const am_version *v, int level, size_t from, const rpick_range *r);

/* Fills order[] with the levels 0..nlevels-1 whose run count reaches trig[n] (trig[n] = 0
 * leaves level n out), most runs per trigger first, ties to the lower level. Returns how
 * many it wrote. */
int rpick_order(const am_version *v, const size_t *trig, int nlevels, int *order);

/* The tier fanout of o (opts->tier_fanout, default 4), and the run count that triggers a
 * merge of L0: min(fanout, l0_slowdown_files - 1), at least 1, so that a strategy never
 * waits for more L0 files than writers are let through at full speed (l0_slowdown_files
 * <= l0_stop_files is checked by am_open). A zero field means its default. */
size_t rpick_fanout(const am_options *o);
size_t rpick_l0_trigger(const am_options *o, size_t fanout);
/* opts->target_file_bytes or the 2 MiB default. */
uint64_t rpick_target_file(const am_options *o);

#endif
