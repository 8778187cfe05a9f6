/* adaptive.h: what the files of the adaptive strategy share (strategy_adaptive.c owns the
 * strategy and states its design and invariant). Internal to engine/compact:
 *   adaptive_job.c        a flat view of a version, and safe jobs: the closure that widens
 *                         a seed until the job keeps the lookup invariant, the check that
 *                         it does not interfere with a job in flight, then the job
 *   adaptive_base.c       the normal picks: L0, full tiers, leveled runs over target
 *   adaptive_director.c   switch jobs from the controller's flags
 *   adaptive_controller.c per-segment counter history, flags and cooldowns
 * The files form a tree: strategy_adaptive.c calls adaptive_base.c and adaptive_director.c,
 * both of which call adaptive_job.c; the director and the strategy call the controller.
 * Thread safety: everything here runs under the engine mutex (pick, observe), except
 * ad_pending, which reads only a version and the immutable config. */
#ifndef AM_COMPACT_ADAPTIVE_H
#define AM_COMPACT_ADAPTIVE_H

#include <stddef.h>
#include <stdint.h>
#include "compact/strategy.h"
#include "compact/adaptive_controller.h"
#include "compact/run_pick.h"

/* Options resolved to values (zero options mean defaults); immutable after create. The
 * controller's durations count clock units: user operations or microseconds. */
typedef struct ad_config {
    int clock_ops;
    uint64_t window, cooldown, global_cooldown;
    double read_thr, write_thr;
    int tier_fanout;
    level_shape shape;             /* L0 trigger, L1 target, level fanout, file size */
} ad_config;

/* ---- a flat view of one version ---- */

typedef struct ad_run {
    int level;
    size_t first, n;               /* its segments: view seg[first .. first + n) */
    uint64_t id, min_seq, max_seq, bytes;
    int leveled;                   /* level >= 1 and run id == level: the leveled run */
} ad_run;

typedef struct ad_seg {
    am_segment *g;                 /* borrowed from the version */
    int level;
    size_t run;                    /* index into the view's runs */
    int busy;                      /* an input of a job in flight */
} ad_seg;

typedef struct ad_view {
    const am_pick_env *env;        /* borrowed */
    const am_version *v;           /* env->v */
    size_t nseg, nrun;
    ad_seg *seg;                   /* level by level, run by run (newest first), key order */
    ad_run *run;                   /* level by level, newest first (the version's order) */
    size_t lseg[AM_MAX_LEVELS + 1];   /* level l's segments: seg[lseg[l] .. lseg[l+1]) */
    size_t lrun[AM_MAX_LEVELS + 1];   /* level l's runs: run[lrun[l] .. lrun[l+1]) */
} ad_view;

int ad_view_build(ad_view *w, const am_pick_env *env);   /* AM_OK or AM_ERR_NOMEM */
void ad_view_free(ad_view *w);
/* The leveled run of level l (run id l), or -1. */
long ad_leveled_run(const ad_view *w, int l);
/* Key ranges and overlap tests: version/view.h (view_range, view_segs_overlap, ...). */

/* ---- safe jobs ---- */

/* Where a job's output goes. */
typedef struct ad_plan {
    int out;                       /* output level */
    int join;                      /* 1: outputs join the leveled run `out`; 0: a new run */
    int exact;                     /* new run made of exactly the inputs (a move): the key
                                      ranges judged are the inputs', not their span */
    int tag, reason;
    int allow_trivial;             /* pairwise disjoint inputs may move without a rewrite */
} ad_plan;

/* Widens the selection sel (one byte per view segment, the seeds set) until a job writing
 * to p->out keeps the lookup invariant (strategy_adaptive.c, rules C2-C4). Returns 1, or 0
 * when a segment it needs is an input of a job in flight. */
int ad_close(const ad_view *w, char *sel, const ad_plan *p);
/* Fills job from sel and p (inputs, output, bottommost, trivial move). AM_OK or NOMEM. */
int ad_fill_job(const ad_view *w, const char *sel, const ad_plan *p, const ad_config *c,
                am_job *job);

/* Closes sel under p and, if the result does not interfere with a job in flight (w->env,
 * strategy_adaptive.c "Jobs in parallel"), fills job. Returns 1 when job was filled; else
 * job is left empty. */
int ad_try(const ad_view *w, const ad_config *c, char *sel, const ad_plan *p, am_job *job);

/* ---- the strategy's state ---- */

typedef struct adaptive {
    ad_config cfg;
    controller ctl;
    uint64_t now;                  /* the clock of the pick under way (env) */
    int switched;                  /* a switch job has been handed out ... */
    uint64_t last_switch;          /* ... at this clock */
    rpick_cursor ptr;              /* leveled merges: round-robin key per level */
} adaptive;

/* adaptive_base.c: the normal picks. Each returns 1 with job filled, or 0. */
int ad_base_l0(adaptive *s, const ad_view *w, char *sel, am_job *job);
int ad_base_rest(adaptive *s, const ad_view *w, char *sel, am_job *job);
uint64_t ad_level_target(const ad_config *c, int n);
uint64_t ad_pending(const ad_config *c, const am_version *v);

/* adaptive_director.c: a switch job for the most pressed flagged segment, or 0. */
int ad_director(adaptive *s, const ad_view *w, char *sel, am_job *job);

#endif
