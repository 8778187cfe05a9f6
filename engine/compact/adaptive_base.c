/* adaptive_base.c: the adaptive strategy's normal picks, the work any tree needs whatever
 * the controller says (strategy_adaptive.c describes the shape):
 *   L0:      at l0_compaction_trigger runs, every L0 run -> one new tiered run in L1;
 *   tiers:   a level n >= 1 holding tier_fanout tiered runs merges its oldest tier_fanout
 *            of them: into the level's leveled run when they overlap it (the run is the
 *            sink of tiered data reaching a leveled range), else into one new tiered run in
 *            n + 1 (in n itself on the last level);
 *   leveled: a leveled run n >= 1 above l1_target_bytes * level_fanout^(n-1) merges one
 *            segment, round-robin by key, into the leveled run n + 1 (none on the last
 *            level, which has no target).
 * Every seed goes through ad_try, which widens it to a safe job. */
#include <stdlib.h>
#include <string.h>

#include "compact/adaptive.h"

uint64_t ad_level_target(const ad_config *c, int n)
{
    return level_shape_target(&c->shape, n);
}

int ad_base_l0(adaptive *s, const ad_view *w, char *sel, am_job *job)
{
    size_t nruns = w->lrun[1] - w->lrun[0];
    if (nruns == 0 || nruns < (size_t)s->cfg.shape.l0_trigger) return 0;
    memset(sel, 0, w->nseg);
    for (size_t i = w->lseg[0]; i < w->lseg[1]; i++) sel[i] = 1;
    ad_plan p = { .out = 1, .tag = AM_TAG_TIERED, .reason = JOB_L0, .allow_trivial = 1 };
    return ad_try(w, &s->cfg, sel, &p, job);
}

/* Tiered runs of level n (all but the leveled run), newest first, into idx; the count. */
static size_t tiered_runs(const ad_view *w, int n, size_t *idx)
{
    size_t k = 0;
    for (size_t r = w->lrun[n]; r < w->lrun[n + 1]; r++)
        if (!w->run[r].leveled) idx[k++] = r;
    return k;
}

static int pick_tier(adaptive *s, const ad_view *w, int n, char *sel, am_job *job)
{
    size_t *idx = malloc((w->lrun[n + 1] - w->lrun[n] + 1) * sizeof *idx);
    if (!idx) return 0;
    size_t t = tiered_runs(w, n, idx), K = (size_t)s->cfg.tier_fanout;
    int ok = 0;
    if (t >= K) {
        memset(sel, 0, w->nseg);
        for (size_t k = t - K; k < t; k++)
            for (size_t i = w->run[idx[k]].first; i < w->run[idx[k]].first + w->run[idx[k]].n; i++)
                sel[i] = 1;
        long lr = ad_leveled_run(w, n);
        int sink = 0;
        for (size_t i = w->lseg[n]; lr >= 0 && i < w->lseg[n + 1] && !sink; i++) {
            if (!sel[i]) continue;
            const ad_run *L = &w->run[lr];
            for (size_t j = L->first; j < L->first + L->n && !sink; j++)
                sink = view_segs_overlap(w->seg[i].g, w->seg[j].g);
        }
        ad_plan p = { .reason = JOB_TIER_FULL, .allow_trivial = 1 };
        if (sink) { p.out = n; p.join = 1; p.tag = AM_TAG_LEVELED; }
        else { p.out = n < AM_MAX_LEVELS - 1 ? n + 1 : n; p.tag = AM_TAG_TIERED; }
        ok = ad_try(w, &s->cfg, sel, &p, job);
    }
    free(idx);
    return ok;
}

static void set_pointer(adaptive *s, int n, const ad_view *w, const char *sel)
{
    view_range in = { 0 };
    for (size_t i = w->lseg[n]; i < w->lseg[n + 1]; i++)
        if (sel[i]) view_range_add(&in, w->seg[i].g);
    rpick_cursor_advance(&s->ptr, n, &in);
}

/* One segment of the leveled run n, the first past the round-robin key (wrapping). */
static int pick_leveled(adaptive *s, const ad_view *w, int n, char *sel, am_job *job)
{
    long lr = ad_leveled_run(w, n);
    if (lr < 0) return 0;
    const ad_run *L = &w->run[lr];
    const am_run *run = &w->v->levels[n].runs[(size_t)lr - w->lrun[n]];
    size_t start = rpick_cursor_start(&s->ptr, n, run->segs, run->nsegs);
    for (size_t k = 0; k < L->n; k++) {
        memset(sel, 0, w->nseg);
        sel[L->first + (start + k) % L->n] = 1;
        ad_plan p = { .out = n + 1, .join = 1, .tag = AM_TAG_LEVELED,
                      .reason = JOB_LEVEL_SIZE, .allow_trivial = 1 };
        if (ad_try(w, &s->cfg, sel, &p, job)) {
            set_pointer(s, n, w, sel);
            return 1;
        }
    }
    return 0;
}

/* Candidates: kind 0 a full tier, 1 a leveled run over its target; by score. */
typedef struct cand { double score; int level, kind; } cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->level != y->level) return x->level < y->level ? -1 : 1;
    return x->kind - y->kind;
}

int ad_base_rest(adaptive *s, const ad_view *w, char *sel, am_job *job)
{
    cand c[2 * AM_MAX_LEVELS];
    size_t nc = 0;
    for (int n = 1; n < AM_MAX_LEVELS; n++) {
        size_t t = 0;
        for (size_t r = w->lrun[n]; r < w->lrun[n + 1]; r++) t += !w->run[r].leveled;
        if (t >= (size_t)s->cfg.tier_fanout)
            c[nc++] = (cand){ (double)t / s->cfg.tier_fanout, n, 0 };
        long lr = ad_leveled_run(w, n);
        if (lr >= 0 && n < AM_MAX_LEVELS - 1) {
            double sc = (double)w->run[lr].bytes / (double)ad_level_target(&s->cfg, n);
            if (sc > 1.0) c[nc++] = (cand){ sc, n, 1 };
        }
    }
    qsort(c, nc, sizeof *c, cmp_cand);
    for (size_t k = 0; k < nc; k++) {
        int ok = c[k].kind == 0 ? pick_tier(s, w, c[k].level, sel, job)
                                : pick_leveled(s, w, c[k].level, sel, job);
        if (ok) return 1;
    }
    return 0;
}

/* Work still wanted, from the version and the config only (called without the mutex):
 * all of L0 at its trigger, every tiered byte of a level with a full tier, and the bytes
 * of a leveled run above its target. */
uint64_t ad_pending(const ad_config *c, const am_version *v)
{
    uint64_t sum = 0;
    if (v->levels[0].nruns >= (size_t)c->shape.l0_trigger) sum += v->levels[0].bytes;
    for (int n = 1; n < AM_MAX_LEVELS; n++) {
        const am_level *L = &v->levels[n];
        size_t t = 0;
        uint64_t tb = 0, lb = 0;
        for (size_t r = 0; r < L->nruns; r++) {
            if (L->runs[r].id == (uint64_t)n) lb = L->runs[r].bytes;
            else { t++; tb += L->runs[r].bytes; }
        }
        if (t >= (size_t)c->tier_fanout) sum += tb;
        if (n < AM_MAX_LEVELS - 1) {
            uint64_t target = ad_level_target(c, n);
            if (lb > target) sum += lb - target;
        }
    }
    return sum;
}
