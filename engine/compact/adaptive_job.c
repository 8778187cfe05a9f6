/* adaptive_job.c: safe jobs for the adaptive strategy. A flat view of a version (levels,
 * runs newest first, segments), the closure that widens a seed of input segments until
 * the job keeps the lookup invariant (rules C2-C4, proved in strategy_adaptive.c), the
 * check against the jobs in flight, then the job itself: inputs, output level and run,
 * bottommost, trivial move. Pure functions of the view and its pick environment; nothing
 * here keeps state. */
#include <stdlib.h>
#include <string.h>

#include "compact/adaptive.h"

/* ---- the view ---- */

int ad_view_build(ad_view *w, const am_pick_env *env)
{
    const am_version *v = env->v;
    memset(w, 0, sizeof *w);
    w->env = env;
    w->v = v;
    size_t nrun = 0;
    for (int l = 0; l < AM_MAX_LEVELS; l++) nrun += v->levels[l].nruns;
    w->seg = malloc((v->total_segs ? v->total_segs : 1) * sizeof *w->seg);
    w->run = malloc((nrun ? nrun : 1) * sizeof *w->run);
    if (!w->seg || !w->run) {
        ad_view_free(w);
        return AM_ERR_NOMEM;
    }
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        w->lseg[l] = w->nseg;
        w->lrun[l] = w->nrun;
        for (size_t r = 0; r < v->levels[l].nruns; r++) {
            const am_run *run = &v->levels[l].runs[r];
            ad_run *ar = &w->run[w->nrun];
            memset(ar, 0, sizeof *ar);
            ar->level = l;
            ar->first = w->nseg;
            ar->n = run->nsegs;
            ar->id = run->id;
            ar->bytes = run->bytes;
            ar->min_seq = UINT64_MAX;
            ar->leveled = l >= 1 && run->id == (uint64_t)l;
            for (size_t i = 0; i < run->nsegs; i++) {
                am_segment *g = run->segs[i];
                w->seg[w->nseg++] = (ad_seg){ .g = g, .level = l, .run = w->nrun,
                                              .busy = pick_busy(env, g) };
                if (g->d.min_seq < ar->min_seq) ar->min_seq = g->d.min_seq;
                if (g->d.max_seq > ar->max_seq) ar->max_seq = g->d.max_seq;
            }
            w->nrun++;
        }
    }
    w->lseg[AM_MAX_LEVELS] = w->nseg;
    w->lrun[AM_MAX_LEVELS] = w->nrun;
    return AM_OK;
}

void ad_view_free(ad_view *w)
{
    free(w->seg);
    free(w->run);
    memset(w, 0, sizeof *w);
}

long ad_leveled_run(const ad_view *w, int l)
{
    for (size_t r = w->lrun[l]; r < w->lrun[l + 1]; r++)
        if (w->run[r].leveled) return (long)r;
    return -1;
}

/* ---- the closure ---- */

typedef struct closing {
    const ad_view *w;
    char *sel;
    const ad_plan *p;
    long lrun;                    /* the leveled run of the output level (join), or -1 */
    int changed, busy;
} closing;

static void take(closing *c, size_t i)
{
    if (c->sel[i]) return;
    if (c->w->seg[i].busy) { c->busy = 1; return; }
    c->sel[i] = 1;
    c->changed = 1;
}

static view_range span_of(const closing *c)
{
    view_range r = { 0 };
    for (size_t i = 0; i < c->w->nseg; i++)
        if (c->sel[i]) view_range_add(&r, c->w->seg[i].g);
    return r;
}

/* C2 and C3 for every input above the output level: at its own level, overlapping
 * segments of older runs; at every level between it and the output, every overlapping
 * segment. */
static void close_above(closing *c)
{
    const ad_view *w = c->w;
    for (size_t i = 0; i < w->nseg && !c->busy; i++) {
        if (!c->sel[i] || w->seg[i].level >= c->p->out) continue;
        int l = w->seg[i].level;
        for (size_t j = w->lseg[l]; j < w->lseg[l + 1]; j++)
            if (!c->sel[j] && w->seg[j].run > w->seg[i].run && view_segs_overlap(w->seg[i].g, w->seg[j].g))
                take(c, j);
        for (size_t j = w->lseg[l + 1]; j < w->lseg[c->p->out]; j++)
            if (!c->sel[j] && view_segs_overlap(w->seg[i].g, w->seg[j].g)) take(c, j);
    }
}

/* Does segment j (not an input) overlap what the output run will cover? */
static int covers(const closing *c, const view_range *span, size_t j)
{
    const ad_view *w = c->w;
    if (c->p->exact) {
        for (size_t i = 0; i < w->nseg; i++)
            if (c->sel[i] && view_segs_overlap(w->seg[i].g, w->seg[j].g)) return 1;
        return 0;
    }
    if (view_seg_overlaps(w->seg[j].g, span)) return 1;
    if (c->lrun >= 0) {                      /* the rest of the run the outputs join */
        const ad_run *lr = &w->run[c->lrun];
        for (size_t i = lr->first; i < lr->first + lr->n; i++)
            if (!c->sel[i] && view_segs_overlap(w->seg[i].g, w->seg[j].g)) return 1;
    }
    return 0;
}

/* The output run's seq interval: the inputs', plus the rest of a joined run. */
static void out_interval(const closing *c, uint64_t *lo, uint64_t *hi)
{
    const ad_view *w = c->w;
    *lo = UINT64_MAX;
    *hi = 0;
    for (size_t i = 0; i < w->nseg; i++) {
        int in_run = c->lrun >= 0 && w->seg[i].run == (size_t)c->lrun;
        if (!c->sel[i] && !in_run) continue;
        if (w->seg[i].g->d.min_seq < *lo) *lo = w->seg[i].g->d.min_seq;
        if (w->seg[i].g->d.max_seq > *hi) *hi = w->seg[i].g->d.max_seq;
    }
}

/* C4: every other run of the output level that overlaps the output must have a seq
 * interval disjoint from the output run's; a run that does not gives up its overlapping
 * segments to the job. */
static void close_at_output(closing *c, const view_range *span)
{
    const ad_view *w = c->w;
    int out = c->p->out;
    uint64_t olo, ohi;
    out_interval(c, &olo, &ohi);
    for (size_t r = w->lrun[out]; r < w->lrun[out + 1] && !c->busy; r++) {
        if ((long)r == c->lrun) continue;
        const ad_run *run = &w->run[r];
        uint64_t rlo = UINT64_MAX, rhi = 0;
        int hit = 0;
        for (size_t j = run->first; j < run->first + run->n; j++) {
            if (c->sel[j]) continue;
            if (w->seg[j].g->d.min_seq < rlo) rlo = w->seg[j].g->d.min_seq;
            if (w->seg[j].g->d.max_seq > rhi) rhi = w->seg[j].g->d.max_seq;
            if (!hit && covers(c, span, j)) hit = 1;
        }
        if (!hit || rhi < olo || rlo > ohi) continue;
        for (size_t j = run->first; j < run->first + run->n; j++)
            if (!c->sel[j] && covers(c, span, j)) take(c, j);
    }
}

int ad_close(const ad_view *w, char *sel, const ad_plan *p)
{
    closing c = { .w = w, .sel = sel, .p = p, .lrun = p->join ? ad_leveled_run(w, p->out) : -1 };
    for (size_t i = 0; i < w->nseg; i++)
        if (sel[i] && (w->seg[i].busy || w->seg[i].level > p->out)) return 0;
    do {
        c.changed = 0;
        close_above(&c);
        view_range span = span_of(&c);
        if (c.lrun >= 0) {                   /* the joined run: all of it in the span */
            const ad_run *lr = &w->run[c.lrun];
            for (size_t j = lr->first; j < lr->first + lr->n; j++)
                if (!sel[j] && view_seg_overlaps(w->seg[j].g, &span)) take(&c, j);
            span = span_of(&c);
        }
        if (!c.busy) close_at_output(&c, &span);
        if (c.busy) return 0;
    } while (c.changed);
    return 1;
}

/* ---- the job ---- */

/* 1 when the inputs' key ranges are pairwise disjoint (a run can hold them as they are). */
static int inputs_disjoint(const ad_view *w, const char *sel, size_t nin)
{
    am_segment **a = malloc(nin * sizeof *a);
    if (!a) return 0;
    size_t k = 0;
    for (size_t i = 0; i < w->nseg; i++) if (sel[i]) a[k++] = w->seg[i].g;
    int ok = view_segs_disjoint(a, k);
    free(a);
    return ok;
}

/* No older data overlaps the span: nothing below the output level, and at the output
 * level only runs newer than the output (the closure left no other overlap). */
static int bottommost(const ad_view *w, const char *sel, int out, const view_range *span)
{
    if (!view_nothing_older(w->v, out + 1, 0, span)) return 0;
    uint64_t olo = UINT64_MAX;
    for (size_t i = 0; i < w->nseg; i++)
        if (sel[i] && w->seg[i].g->d.min_seq < olo) olo = w->seg[i].g->d.min_seq;
    for (size_t j = w->lseg[out]; j < w->lseg[out + 1]; j++) {
        if (sel[j] || !view_seg_overlaps(w->seg[j].g, span)) continue;
        if (w->run[w->seg[j].run].min_seq < olo) return 0;
    }
    return 1;
}

int ad_fill_job(const ad_view *w, const char *sel, const ad_plan *p, const ad_config *c,
                am_job *job)
{
    view_range span = { 0 };
    size_t nin = 0;
    int from_joined = 0;
    for (size_t i = 0; i < w->nseg; i++) {
        if (!sel[i]) continue;
        if (job_add_input(job, w->seg[i].level, w->seg[i].g->d.id) != AM_OK) return AM_ERR_NOMEM;
        view_range_add(&span, w->seg[i].g);
        nin++;
        if (p->join && w->run[w->seg[i].run].leveled && w->seg[i].level == p->out) from_joined = 1;
    }
    job->reason = p->reason;
    job->out_level = p->out;
    job->out_run = p->join ? (uint64_t)p->out : 0;
    job->out_tag = p->tag;
    job->target_file_bytes = c->shape.target_file;
    job->trivial_move = p->allow_trivial && !from_joined && inputs_disjoint(w, sel, nin);
    job->bottommost = !job->trivial_move && bottommost(w, sel, p->out, &span);
    return AM_OK;
}

/* ---- jobs in flight ---- */

/* Where a job reaches: shallowest and deepest input level, output level. */
typedef struct reach { int minlev, maxin, out; } reach;

/* The reach and span of the job sel and p describe (its span: its inputs', and for a job
 * joining a run, that whole run's, whose seq interval it changes). */
static reach reach_of(const ad_view *w, const char *sel, const ad_plan *p, view_range *span)
{
    reach f = { .minlev = AM_MAX_LEVELS, .maxin = -1, .out = p->out };
    memset(span, 0, sizeof *span);
    for (size_t i = 0; i < w->nseg; i++) {
        if (!sel[i]) continue;
        if (w->seg[i].level < f.minlev) f.minlev = w->seg[i].level;
        if (w->seg[i].level > f.maxin) f.maxin = w->seg[i].level;
        view_range_add(span, w->seg[i].g);
    }
    long lr = p->join ? ad_leveled_run(w, p->out) : -1;
    for (size_t i = lr >= 0 ? w->run[lr].first : 0; lr >= 0 && i < w->run[lr].first + w->run[lr].n; i++)
        view_range_add(span, w->seg[i].g);
    return f;
}

/* up writes, from levels strictly above, the level where down's shallowest inputs are,
 * and down writes deeper. */
static int stacked(const reach *up, const reach *down)
{
    return up->maxin < up->out && up->out == down->minlev && down->out > up->out;
}

/* 1 when job b (span) would interfere with a job in flight: their spans meet, their level
 * ranges [shallowest input, output] meet, and they are not stacked. */
static int interferes(const am_pick_env *env, const reach *b, const view_range *span)
{
    for (size_t k = 0; k < env->njobs; k++) {
        const am_inflight *j = &env->jobs[k];
        reach a = { j->min_level, j->max_level, j->out_level };
        if (!view_ranges_overlap(&j->span, span)) continue;
        if (a.out < b->minlev || b->out < a.minlev) continue;
        if (stacked(&a, b) || stacked(b, &a)) continue;
        return 1;
    }
    return 0;
}

int ad_try(const ad_view *w, const ad_config *c, char *sel, const ad_plan *p, am_job *job)
{
    if (!ad_close(w, sel, p)) return 0;
    view_range span;
    reach f = reach_of(w, sel, p, &span);
    if (f.maxin < 0) return 0;
    if (ad_fill_job(w, sel, p, c, job) != AM_OK ||
        (p->exact && !job->trivial_move) ||      /* a move judged by its exact ranges */
        interferes(w->env, &f, &span)) {
        job_clear(job);
        return 0;
    }
    return 1;
}
