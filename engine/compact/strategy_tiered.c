/* strategy_tiered.c: the size-tiered strategy, am_strategy_tiered ("tiered"). It only
 * decides; the engine's merge kernel runs its jobs.
 *
 * Shape: a level is a size bucket holding several runs, newest first. Flushes land in L0,
 * one run each (about memtable_bytes). A merge of T runs of level n writes ONE new run
 * (run id from the engine, tag tiered) into level n + 1, so runs of level n are about
 * T^n memtables; a key is rewritten about once per level, log_T(data / memtable) times,
 * and a lookup probes every run whose range holds its key.
 *
 * Rules (T = tier_fanout, default 4):
 *   trigger: level n (n < 7) holding >= trig(n) runs merges its OLDEST trig(n) runs (an
 *            age-contiguous group, so the lookup invariant holds) into one new run of
 *            level n + 1; trig(n) = T for n >= 1. The output is newer than every run of
 *            level n + 1 (all of them came from older runs of level n) and is placed first
 *            there by max_seq.
 *   L0:      trig(0) = min(T, l0_slowdown_files - 1), at least 1 (7 with the defaults), so
 *            that the strategy never waits for more L0 files than writers are let through
 *            at full speed: with T up to 64 writers are never slowed, let alone stopped
 *            (l0_stop_files >= l0_slowdown_files), merely because L0 is not yet "full".
 *   last:    L7 holding >= T runs merges its oldest T into one new run of L7.
 *   order:   levels at or over their trigger, most runs per trigger first; ties to the
 *            lower level. The first whose group is free wins.
 *   busy:    a group holding an input of a job in flight is not taken, and no younger group
 *            of that level is taken instead (its output would land below older data).
 *   bottommost: no run of the output level older than the inputs (for n -> n + 1: every
 *            run there) and no deeper segment meets the inputs' key range.
 *   trivial move: the group's segments are pairwise disjoint (a sequential load, or a
 *            single run when trig(0) = 1) and the output level is deeper: the segments
 *            move to level n + 1 as one new run without a rewrite.
 *   pending_bytes: the bytes of every level at or over its trigger.
 *   l0_compaction_trigger, level_fanout and l1_target_bytes are not used.
 *
 * State: only the options, fixed at create (pending_bytes may read them without the
 * mutex). */
#include <stdlib.h>

#include "compact/run_pick.h"
#include "compact/strategy.h"

#define LAST (AM_MAX_LEVELS - 1)

typedef struct tiered {
    size_t trig[AM_MAX_LEVELS];        /* runs that start a merge of each level */
    uint64_t target_file;
} tiered;

static void *tiered_create(const am_options *o)
{
    tiered *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    size_t t = rpick_fanout(o);
    s->trig[0] = rpick_l0_trigger(o, t);
    for (int n = 1; n < AM_MAX_LEVELS; n++) s->trig[n] = t;
    s->target_file = rpick_target_file(o);
    return s;
}

static void tiered_destroy(void *self)
{
    free(self);
}

/* The oldest trig(n) runs of level n into one new run of level n + 1 (L7: of L7). 0 when
 * the level is short of its trigger or the group is busy. */
static int pick_level(const tiered *s, const am_pick_env *env, int n, am_job *job)
{
    const am_version *v = env->v;
    const am_level *L = &v->levels[n];
    size_t t = s->trig[n];
    if (L->nruns < t) return 0;
    const am_run *group = &L->runs[L->nruns - t];
    view_range r = {0};
    if (!rpick_add_runs(job, env, n, group, t, &r)) return 0;
    int out = n < LAST ? n + 1 : LAST;
    job->reason = JOB_TIER_FULL;
    job->out_level = out;
    job->out_run = 0;
    job->out_tag = AM_TAG_TIERED;
    job->target_file_bytes = s->target_file;
    /* Older than the inputs: every run of level n + 1, or none of L7 (the group is its
       oldest), and everything deeper. */
    job->bottommost = view_nothing_older(v, out, out == n ? v->levels[out].nruns : 0, &r);
    job->trivial_move = out != n && view_runs_disjoint(group, t);
    return 1;
}

static int tiered_pick(void *self, const am_pick_env *env, am_job *job)
{
    const tiered *s = self;
    const am_version *v = env->v;
    int order[AM_MAX_LEVELS];
    int norder = rpick_order(v, s->trig, AM_MAX_LEVELS, order);
    for (int k = 0; k < norder; k++) {
        if (pick_level(s, env, order[k], job)) return 1;
        job_clear(job);
    }
    return 0;
}

static uint64_t tiered_pending_bytes(void *self, const am_version *v)
{
    const tiered *s = self;
    uint64_t sum = 0;
    for (int n = 0; n < AM_MAX_LEVELS; n++)
        if (v->levels[n].nruns >= s->trig[n]) sum += v->levels[n].bytes;
    return sum;
}

const am_strategy am_strategy_tiered = {
    .name = "tiered",
    .create = tiered_create,
    .destroy = tiered_destroy,
    .pick = tiered_pick,
    .observe = NULL,
    .pending_bytes = tiered_pending_bytes,
    .flush_tag = AM_TAG_TIERED,
};
