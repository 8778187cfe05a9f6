/* strategy_leveled.c: the leveled strategy (LevelDB-like), am_strategy_leveled. It only
 * decides; docs/strategies-leveled.md describes the policy in words.
 *
 * Shape: L0 holds each flush as its own run (run id = file id, set by the flush). Every
 * level n >= 1 is one run whose id is n (the fixed run id, so merge outputs join the
 * level's run). The last level, AM_MAX_LEVELS - 1, has no size target.
 *
 * Scores: L0 = L0 files / l0_compaction_trigger; Ln = bytes(Ln) / target(n) with
 * target(n) = l1_target_bytes * level_fanout^(n-1). Levels whose score is >= 1 are tried
 * from the highest score down (ties: the lower level first); the first that yields a job
 * whose segments are all free (none an input of a job in flight) wins.
 *
 *   L0 job: every L0 segment plus the overlapping L1 segments -> L1.
 *   Ln job: one Ln segment, chosen round-robin by key: the first whose largest user key is
 *           past the level's compact pointer (wrapping to the start), plus the overlapping
 *           Ln+1 segments -> Ln+1. The pointer then moves to the largest user key of the
 *           Ln inputs. If Ln holds several runs (a tree shaped by another strategy), the
 *           Ln inputs are widened to every Ln segment overlapping them, transitively, so
 *           no older Ln data is left above newer data in Ln+1.
 *   trivial move: a job of exactly one segment and nothing in Ln+1 overlapping it, or an
 *   L0 job whose files are pairwise disjoint with nothing in L1 overlapping them.
 *   bottommost: no segment of a level below out_level overlaps the job's key range.
 *
 * State: one compact pointer (a user key) per level, changed only by pick. Thread safety:
 * pick is called under the engine mutex; the state has no lock of its own. */
#include <stdlib.h>

#include "compact/run_pick.h"
#include "compact/strategy.h"

typedef struct leveled {
    level_shape shape;                        /* immutable after create */
    rpick_cursor ptr;                         /* round-robin position per level */
} leveled;


static void *leveled_create(const am_options *o)
{
    leveled *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    level_shape_init(&s->shape, o, RPICK_DEF_LEVEL_FANOUT);
    return s;
}

static void leveled_destroy(void *self)
{
    leveled *s = self;
    if (!s) return;
    rpick_cursor_free(&s->ptr);
    free(s);
}

/* Size target of level n >= 1, saturating instead of overflowing. */
static uint64_t level_target(const leveled *s, int n)
{
    return level_shape_target(&s->shape, n);
}

static double level_score(const leveled *s, const am_version *v, int n)
{
    if (n == 0) return (double)v->levels[0].nsegs / (double)s->shape.l0_trigger;
    if (n >= AM_MAX_LEVELS - 1) return 0;          /* the last level has no target */
    return (double)v->levels[n].bytes / (double)level_target(s, n);
}

/* Every segment of level n, in a fresh array sorted by smallest user key (then id). NULL
   when the level is empty or on OOM. */
static int cmp_seg(const void *a, const void *b)
{
    const am_segment *x = *(am_segment *const *)a, *y = *(am_segment *const *)b;
    size_t xn, yn;
    const char *xk = seg_smallest_ukey(x, &xn), *yk = seg_smallest_ukey(y, &yn);
    int c = ukey_cmp(xk, xn, yk, yn);
    if (c) return c;
    return x->d.id < y->d.id ? -1 : x->d.id > y->d.id;
}

static am_segment **level_segs(const am_level *L, size_t *n)
{
    size_t total = 0, k = 0;
    for (size_t r = 0; r < L->nruns; r++) total += L->runs[r].nsegs;
    *n = total;
    if (!total) return NULL;
    am_segment **a = malloc(total * sizeof(*a));
    if (!a) return NULL;
    for (size_t r = 0; r < L->nruns; r++)
        for (size_t i = 0; i < L->runs[r].nsegs; i++) a[k++] = L->runs[r].segs[i];
    if (L->nruns > 1) qsort(a, total, sizeof(*a), cmp_seg);
    return a;
}

/* Adds every segment of level n overlapping r to the job; 0 if one is being compacted
   (or on OOM), else 1. Widens r by what it adds when widen is set. */
static int add_overlapping(const am_pick_env *env, int n, view_range *r, am_job *job,
                           int widen)
{
    const am_level *L = &env->v->levels[n];
    view_range orig = *r;
    for (size_t ri = 0; ri < L->nruns; ri++) {
        const am_run *run = &L->runs[ri];
        for (size_t i = 0; i < run->nsegs; i++) {
            am_segment *g = run->segs[i];
            if (!view_seg_overlaps(g, &orig)) continue;
            if (pick_busy(env, g)) return 0;
            if (job_add_input(job, n, g->d.id) != AM_OK) return 0;
            if (widen) view_range_add(r, g);
        }
    }
    return 1;
}

static void job_finish(const leveled *s, const am_version *v, am_job *job, int out,
                       const view_range *r)
{
    job->out_level = out;
    job->out_run = (uint64_t)out;
    job->out_tag = AM_TAG_LEVELED;
    job->target_file_bytes = s->shape.target_file;
    job->bottommost = view_nothing_older(v, out + 1, 0, r);
}

/* L0 job: every L0 segment and the L1 segments overlapping them. 0 if any is busy. When
 * nothing in L1 overlaps and the L0 files are disjoint (a sequential load), they all move
 * down without a rewrite. */
static int pick_l0(leveled *s, const am_pick_env *env, am_job *job)
{
    const am_version *v = env->v;
    const am_level *L0 = &v->levels[0];
    view_range r = {0};
    for (size_t ri = 0; ri < L0->nruns; ri++)
        for (size_t i = 0; i < L0->runs[ri].nsegs; i++) {
            am_segment *g = L0->runs[ri].segs[i];
            if (pick_busy(env, g)) return 0;
            if (job_add_input(job, 0, g->d.id) != AM_OK) return 0;
            view_range_add(&r, g);
        }
    if (!r.set) return 0;
    size_t n0 = job->ninputs;
    if (!add_overlapping(env, 1, &r, job, 1)) return 0;
    job->reason = JOB_L0;
    job->trivial_move = 0;
    if (job->ninputs == n0) job->trivial_move = view_runs_disjoint(L0->runs, L0->nruns);
    job_finish(s, v, job, 1, &r);
    return 1;
}

/* Ln job starting from segment c (n >= 1). 0 if a segment it needs is busy. */
static int pick_from(leveled *s, const am_pick_env *env, int n, am_segment *c, am_job *job)
{
    const am_version *v = env->v;
    view_range r = {0};
    view_range_add(&r, c);
    if (pick_busy(env, c)) return 0;
    if (v->levels[n].nruns <= 1) {
        if (job_add_input(job, n, c->d.id) != AM_OK) return 0;
    } else {
        /* Several runs: widen to a fixpoint over every overlapping Ln segment. */
        for (;;) {
            view_range before = r;
            job->ninputs = 0;
            if (!add_overlapping(env, n, &r, job, 1)) return 0;
            if (ukey_cmp(before.lo, before.lon, r.lo, r.lon) == 0 &&
                ukey_cmp(before.hi, before.hin, r.hi, r.hin) == 0) break;
        }
    }
    view_range in = r;                      /* the Ln inputs' range, for the pointer */
    size_t nin = job->ninputs;
    if (!add_overlapping(env, n + 1, &r, job, 1)) return 0;
    job->reason = JOB_LEVEL_SIZE;
    job->trivial_move = nin == 1 && job->ninputs == 1;
    job_finish(s, v, job, n + 1, &r);

    rpick_cursor_advance(&s->ptr, n, &in);   /* past the Ln inputs */
    return 1;
}

static int pick_level(leveled *s, const am_pick_env *env, int n, am_job *job)
{
    size_t ns;
    am_segment **segs = level_segs(&env->v->levels[n], &ns);
    if (!segs) return 0;
    size_t start = rpick_cursor_start(&s->ptr, n, segs, ns);
    int ok = 0;
    for (size_t k = 0; k < ns && !ok; k++) {
        job->ninputs = 0;
        ok = pick_from(s, env, n, segs[(start + k) % ns], job);
    }
    free(segs);
    return ok;
}

static int leveled_pick(void *self, const am_pick_env *env, am_job *job)
{
    leveled *s = self;
    const am_version *v = env->v;
    double score[AM_MAX_LEVELS];
    int order[AM_MAX_LEVELS], norder = 0;
    for (int n = 0; n < AM_MAX_LEVELS - 1; n++) {
        score[n] = level_score(s, v, n);
        if (score[n] < 1.0) continue;
        int k = norder++;               /* insertion sort: score desc, level asc */
        while (k > 0 && score[order[k - 1]] < score[n]) { order[k] = order[k - 1]; k--; }
        order[k] = n;
    }
    for (int k = 0; k < norder; k++) {
        int n = order[k];
        int ok = n == 0 ? pick_l0(s, env, job) : pick_level(s, env, n, job);
        if (ok) return 1;
        job_clear(job);
    }
    return 0;
}

/* Bytes above the targets: all of L0 once it reaches its trigger, and for each level
   n >= 1 with a target, bytes(Ln) - target(n) when positive. */
static uint64_t leveled_pending_bytes(void *self, const am_version *v)
{
    leveled *s = self;
    uint64_t sum = 0;
    if (v->levels[0].nsegs >= (uint64_t)s->shape.l0_trigger) sum += v->levels[0].bytes;
    for (int n = 1; n < AM_MAX_LEVELS - 1; n++) {
        uint64_t t = level_target(s, n);
        if (v->levels[n].bytes > t) sum += v->levels[n].bytes - t;
    }
    return sum;
}

const am_strategy am_strategy_leveled = {
    .name = "leveled",
    .create = leveled_create,
    .destroy = leveled_destroy,
    .pick = leveled_pick,
    .observe = NULL,
    .pending_bytes = leveled_pending_bytes,
};
