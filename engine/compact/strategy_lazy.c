/* strategy_lazy.c: lazy leveling (Dostoevsky, Dayan & Idreos, SIGMOD 2018),
 * am_strategy_lazy_leveled ("lazy-leveled"): tiered at every level but the largest,
 * leveled at the largest. It only decides; the engine's merge kernel runs its jobs.
 *
 * Shape: let k be the deepest non-empty level >= 1 (k = 1 while only L0 holds data).
 * Levels 0 .. k-1 are tiered: several runs each, newest first, tag tiered. Level k is ONE
 * run, tag leveled. With T = tier_fanout (default 4; level_fanout is not used) and
 * M = memtable_bytes (default 4 MiB), level n's capacity is cap(n) = M * T^n: a run born
 * in level n is about cap(n), and T of them fill the level.
 *
 * Rules:
 *   tiered merge: level n < k - 1 holding >= trig(n) runs merges its OLDEST trig(n) runs
 *            (age-contiguous) into one new run of level n + 1 (fresh run id, tag tiered);
 *            trig(n) = T, trig(0) = min(T, l0_slowdown_files - 1), at least 1, as in the
 *            tiered strategy (writers are never slowed because the strategy waits).
 *   last-level merge: level k - 1 at its trigger merges its oldest trig(k-1) runs, plus
 *            every segment of level k's run that overlaps them, into level k's run (the
 *            output joins its run id; run id k when level k is empty). Bottommost when
 *            nothing deeper meets the range (always, k being the deepest).
 *   move-down: when level k's run reaches T * cap(k) bytes (it has absorbed about T
 *            merges of cap(k)) and k < 7, it moves untouched to level k + 1 (a trivial
 *            move of all its segments, run id k + 1, tag leveled). Level k + 1 becomes the
 *            largest level and level k a tiered level, empty. Tried before any merge (it
 *            costs no I/O); L7 never moves and grows without bound.
 *   one run:  a deepest level holding several runs (a tree another strategy shaped) is
 *            first merged into one run of its own level (run id k, bottommost).
 *   order:   move-down, then one run, then the tiered levels at or over their trigger,
 *            most runs per trigger first, ties to the lower level.
 *   busy:    a group or a level-k segment in a job in flight blocks that job (no younger
 *            group is taken instead).
 *   trivial move: a merge whose inputs are pairwise disjoint and meet no segment of the
 *            output level's run it joins (a new tiered run needs only the former).
 *   pending_bytes: the bytes of every tiered level at its trigger, plus level k's bytes
 *            when the level above it is at its trigger (that merge rewrites it) or when
 *            level k holds several runs.
 * A key is rewritten about once per tiered level and about T/2 times in the last level.
 *
 * State: only the options, fixed at create (pending_bytes may read them without the
 * mutex). */
#include <stdlib.h>

#include "compact/run_pick.h"
#include "compact/strategy.h"

#define LAST (AM_MAX_LEVELS - 1)

typedef struct lazy {
    size_t fanout;
    size_t trig0;                      /* runs that start a merge of L0 */
    uint64_t base;                     /* cap(0): memtable_bytes */
    uint64_t target_file;
} lazy;

static void *lazy_create(const am_options *o)
{
    lazy *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->fanout = rpick_fanout(o);
    s->trig0 = rpick_l0_trigger(o, s->fanout);
    s->base = rpick_memtable(o);
    s->target_file = rpick_target_file(o);
    return s;
}

static void lazy_destroy(void *self)
{
    free(self);
}

/* The deepest non-empty level >= 1, or 1 when only L0 holds data. */
static int largest_level(const am_version *v)
{
    for (int n = LAST; n >= 1; n--)
        if (v->levels[n].nruns) return n;
    return 1;
}

/* Bytes at which level n's run moves down: T * cap(n) = M * T^(n+1), saturating. */
static uint64_t move_bytes(const lazy *s, int n)
{
    uint64_t b = s->base;
    for (int i = 0; i <= n; i++) {
        if (b > UINT64_MAX / s->fanout) return UINT64_MAX;
        b *= s->fanout;
    }
    return b;
}

/* Run count that triggers a merge of level n, given the largest level k (0: not tiered). */
static size_t trigger(const lazy *s, int n, int k)
{
    if (n >= k) return 0;
    return n == 0 ? s->trig0 : s->fanout;
}

static void job_leveled(const lazy *s, am_job *job, int reason, int out, uint64_t run)
{
    job->reason = reason;
    job->out_level = out;
    job->out_run = run;
    job->out_tag = AM_TAG_LEVELED;
    job->target_file_bytes = s->target_file;
}

/* Level k's single run, grown to T * cap(k), to level k + 1 untouched. */
static int pick_move_down(const lazy *s, const am_pick_env *env, int k, am_job *job)
{
    const am_version *v = env->v;
    const am_level *L = &v->levels[k];
    if (k >= LAST || L->nruns != 1 || L->bytes < move_bytes(s, k)) return 0;
    view_range r = {0};
    if (!rpick_add_runs(job, env, k, L->runs, 1, &r)) return 0;
    job_leveled(s, job, JOB_LEVEL_SIZE, k + 1, (uint64_t)k + 1);
    job->trivial_move = 1;
    job->bottommost = view_nothing_older(v, k + 1, 0, &r);
    return 1;
}

/* A deepest level of several runs (another strategy's tree) into one run of its own. */
static int pick_one_run(const lazy *s, const am_pick_env *env, int k, am_job *job)
{
    const am_version *v = env->v;
    const am_level *L = &v->levels[k];
    if (L->nruns <= 1) return 0;
    view_range r = {0};
    if (!rpick_add_runs(job, env, k, L->runs, L->nruns, &r)) return 0;
    job_leveled(s, job, JOB_LEVEL_SIZE, k, (uint64_t)k);
    job->bottommost = view_nothing_older(v, k, L->nruns, &r);
    return 1;
}

/* The oldest trigger(n) runs of level n < k into level n + 1: a new tiered run, or, when
 * n + 1 is the largest level k, its single run with the segments of it they overlap. */
static int pick_tier(const lazy *s, const am_pick_env *env, int n, int k, am_job *job)
{
    const am_version *v = env->v;
    const am_level *L = &v->levels[n];
    size_t t = trigger(s, n, k);
    if (!t || L->nruns < t) return 0;
    const am_run *group = &L->runs[L->nruns - t];
    view_range r = {0};
    if (!rpick_add_runs(job, env, n, group, t, &r)) return 0;
    int disjoint = view_runs_disjoint(group, t);
    if (n + 1 < k) {
        job->reason = JOB_TIER_FULL;
        job->out_level = n + 1;
        job->out_run = 0;
        job->out_tag = AM_TAG_TIERED;
        job->target_file_bytes = s->target_file;
        job->bottommost = view_nothing_older(v, n + 1, 0, &r);
        job->trivial_move = disjoint;
        return 1;
    }
    const am_level *K = &v->levels[k];
    if (K->nruns > 1) return 0;                 /* pick_one_run first */
    size_t before = job->ninputs;
    view_range in = r;
    for (size_t i = 0; K->nruns && i < K->runs[0].nsegs; i++) {
        const am_segment *g = K->runs[0].segs[i];
        if (!view_seg_overlaps(g, &in)) continue;
        if (pick_busy(env, g) || job_add_input(job, k, g->d.id) != AM_OK) return 0;
        view_range_add(&r, g);
    }
    job_leveled(s, job, JOB_TIER_FULL, k, K->nruns ? K->runs[0].id : (uint64_t)k);
    job->bottommost = view_nothing_older(v, k, K->nruns, &r);
    job->trivial_move = disjoint && job->ninputs == before;
    return 1;
}

static int lazy_pick(void *self, const am_pick_env *env, am_job *job)
{
    const lazy *s = self;
    const am_version *v = env->v;
    int k = largest_level(v);
    if (pick_move_down(s, env, k, job)) return 1;
    job_clear(job);
    if (pick_one_run(s, env, k, job)) return 1;
    job_clear(job);
    size_t trig[AM_MAX_LEVELS];
    for (int n = 0; n < AM_MAX_LEVELS; n++) trig[n] = trigger(s, n, k);
    int order[AM_MAX_LEVELS];
    int norder = rpick_order(v, trig, AM_MAX_LEVELS, order);
    for (int i = 0; i < norder; i++) {
        if (pick_tier(s, env, order[i], k, job)) return 1;
        job_clear(job);
    }
    return 0;
}

static uint64_t lazy_pending_bytes(void *self, const am_version *v)
{
    const lazy *s = self;
    int k = largest_level(v);
    uint64_t sum = 0;
    int rewrite_k = v->levels[k].nruns > 1;
    for (int n = 0; n < k; n++) {
        if (v->levels[n].nruns < trigger(s, n, k)) continue;
        sum += v->levels[n].bytes;
        if (n + 1 == k) rewrite_k = 1;
    }
    return rewrite_k ? sum + v->levels[k].bytes : sum;
}

const am_strategy am_strategy_lazy_leveled = {
    .name = "lazy-leveled",
    .create = lazy_create,
    .destroy = lazy_destroy,
    .pick = lazy_pick,
    .observe = NULL,
    .pending_bytes = lazy_pending_bytes,
    .flush_tag = AM_TAG_TIERED,
};
