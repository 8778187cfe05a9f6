/* adaptive_director.c: turns the controller's flags into switch jobs.
 *
 * Candidates are segments of levels >= 1, free and not cooling, that the controller
 * flags; the most pressed goes first (reads or writes gained over the window, then the
 * shallower level, then the smaller id). At most one switch job starts per global
 * cooldown; its inputs (and so, through the controller, its outputs) cool down.
 *
 *   need-leveled (a tiered segment f on level F): every segment of levels >= F whose key
 *     range overlaps the job's, transitively, merges into ONE leveled output in the
 *     deepest level D reached, joining the leveled run D. Nothing older for that range is
 *     left anywhere (the job is bottommost); newer data stays in levels above F.
 *   need-tiered (leveled segments on level n): every flagged free segment of the leveled
 *     run n moves, without a rewrite, into one new tiered run of level n. Later tiered
 *     runs land beside it (ordered by their seq intervals, strategy_adaptive.c) instead of
 *     being merged into it.
 * Both go through ad_try, so they obey the same invariant checks as every other job. */
#include <stdlib.h>
#include <string.h>

#include "compact/adaptive.h"

typedef struct flagged {
    size_t i;                      /* view segment */
    int flag;
    uint64_t pressure;
} flagged;

static int cmp_flagged(const void *a, const void *b)
{
    const flagged *x = a, *y = b;
    if (x->pressure != y->pressure) return x->pressure > y->pressure ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;   /* view order: shallower level first */
}

/* The flagged segments, most pressed first; *n their count. NULL when none (or OOM). */
static flagged *collect(adaptive *s, const ad_view *w, size_t *n)
{
    *n = 0;
    flagged *f = w->nseg ? malloc(w->nseg * sizeof *f) : NULL;
    if (!f) return NULL;
    for (size_t i = w->lseg[1]; i < w->nseg; i++) {
        const am_segment *g = w->seg[i].g;
        if (w->seg[i].busy || ctl_cooling(&s->ctl, g->d.id, s->now)) continue;
        ctl_verdict v = ctl_judge(&s->ctl, g, w->run[w->seg[i].run].leveled);
        if (v.flag)
            f[(*n)++] = (flagged){ i, v.flag, v.flag == CTL_NEED_LEVELED ? v.reads : v.writes };
    }
    if (!*n) { free(f); return NULL; }
    qsort(f, *n, sizeof *f, cmp_flagged);
    return f;
}

static int to_leveled(adaptive *s, const ad_view *w, size_t fi, char *sel, am_job *job)
{
    int F = w->seg[fi].level, D = F;
    memset(sel, 0, w->nseg);
    sel[fi] = 1;
    for (int changed = 1; changed;) {
        changed = 0;
        view_range span = { 0 };
        for (size_t i = 0; i < w->nseg; i++) if (sel[i]) view_range_add(&span, w->seg[i].g);
        for (size_t j = w->lseg[F]; j < w->nseg; j++) {
            if (sel[j] || !view_seg_overlaps(w->seg[j].g, &span)) continue;
            if (w->seg[j].busy) return 0;
            sel[j] = 1;
            changed = 1;
            if (w->seg[j].level > D) D = w->seg[j].level;
        }
    }
    ad_plan p = { .out = D, .join = 1, .tag = AM_TAG_LEVELED, .reason = JOB_SWITCH_LEVELED,
                  .allow_trivial = 1 };
    return ad_try(w, &s->cfg, sel, &p, job);
}

static int to_tiered(adaptive *s, const ad_view *w, const flagged *f, size_t nf, int n,
                     char *sel, am_job *job)
{
    memset(sel, 0, w->nseg);
    size_t k = 0;
    for (size_t i = 0; i < nf; i++)
        if (f[i].flag == CTL_NEED_TIERED && w->seg[f[i].i].level == n) { sel[f[i].i] = 1; k++; }
    if (!k) return 0;
    ad_plan p = { .out = n, .exact = 1, .tag = AM_TAG_TIERED, .reason = JOB_SWITCH_TIERED,
                  .allow_trivial = 1 };
    return ad_try(w, &s->cfg, sel, &p, job);
}

int ad_director(adaptive *s, const ad_view *w, char *sel, am_job *job)
{
    /* Differences, not sums: a cooldown as large as UINT64_MAX must not wrap to none. */
    if (s->switched && s->now - s->last_switch < s->cfg.global_cooldown) return 0;
    size_t nf;
    flagged *f = collect(s, w, &nf);
    if (!f) return 0;
    int ok = 0, tried[AM_MAX_LEVELS] = { 0 };
    for (size_t k = 0; k < nf && !ok; k++) {
        int n = w->seg[f[k].i].level;
        if (f[k].flag == CTL_NEED_LEVELED) ok = to_leveled(s, w, f[k].i, sel, job);
        else if (!tried[n]) { tried[n] = 1; ok = to_tiered(s, w, f, nf, n, sel, job); }
    }
    free(f);
    if (!ok) return 0;
    for (size_t i = 0; i < job->ninputs; i++)
        ctl_cool(&s->ctl, job->inputs[i].id, s->cfg.cooldown > UINT64_MAX - s->now
                                                  ? UINT64_MAX : s->now + s->cfg.cooldown);
    s->switched = 1;
    s->last_switch = s->now;
    return 1;
}
