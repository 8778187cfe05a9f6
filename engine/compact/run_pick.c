/* run_pick.c: key ranges, overlap tests and run groups shared by the strategies (run_pick.h). */
#include <stdlib.h>

#include "compact/run_pick.h"
#include "util/ikey.h"

#define DEF_TIER_FANOUT 4
#define DEF_L0_SLOWDOWN 8              /* am_options_init's l0_slowdown_files */
#define DEF_TARGET_FILE (2u * 1024u * 1024u)

void rpick_range_add(rpick_range *r, const am_segment *g)
{
    size_t sn, ln;
    const char *sk = seg_smallest_ukey(g, &sn), *lk = seg_largest_ukey(g, &ln);
    if (!r->set || ukey_cmp(sk, sn, r->lo, r->lon) < 0) { r->lo = sk; r->lon = sn; }
    if (!r->set || ukey_cmp(lk, ln, r->hi, r->hin) > 0) { r->hi = lk; r->hin = ln; }
    r->set = 1;
}

int rpick_seg_overlaps(const am_segment *g, const rpick_range *r)
{
    if (!r->set) return 0;
    size_t sn, ln;
    const char *sk = seg_smallest_ukey(g, &sn), *lk = seg_largest_ukey(g, &ln);
    return ukey_cmp(sk, sn, r->hi, r->hin) <= 0 && ukey_cmp(lk, ln, r->lo, r->lon) >= 0;
}

int rpick_run_overlaps(const am_run *run, const rpick_range *r)
{
    for (size_t i = 0; i < run->nsegs; i++)
        if (rpick_seg_overlaps(run->segs[i], r)) return 1;
    return 0;
}

int rpick_run_busy(const am_run *run)
{
    for (size_t i = 0; i < run->nsegs; i++)
        if (run->segs[i]->being_compacted) return 1;
    return 0;
}

int rpick_add_runs(am_job *job, int level, const am_run *runs, size_t n, rpick_range *r)
{
    for (size_t k = 0; k < n; k++) {
        if (rpick_run_busy(&runs[k])) return 0;
        for (size_t i = 0; i < runs[k].nsegs; i++) {
            const am_segment *g = runs[k].segs[i];
            if (job_add_input(job, level, g->d.id) != AM_OK) return 0;
            rpick_range_add(r, g);
        }
    }
    return 1;
}

static int cmp_smallest(const void *a, const void *b)
{
    const am_segment *x = *(am_segment *const *)a, *y = *(am_segment *const *)b;
    size_t xn, yn;
    const char *xk = seg_smallest_ukey(x, &xn), *yk = seg_smallest_ukey(y, &yn);
    return ukey_cmp(xk, xn, yk, yn);
}

int rpick_segs_overlap(const am_segment *a, const am_segment *b)
{
    size_t an, bn, cn, dn;
    const char *alo = seg_smallest_ukey(a, &an), *ahi = seg_largest_ukey(a, &bn);
    const char *blo = seg_smallest_ukey(b, &cn), *bhi = seg_largest_ukey(b, &dn);
    return ukey_cmp(alo, an, bhi, dn) <= 0 && ukey_cmp(blo, cn, ahi, bn) <= 0;
}

int rpick_segs_disjoint(am_segment **a, size_t n)
{
    qsort(a, n, sizeof *a, cmp_smallest);
    for (size_t i = 1; i < n; i++) {
        size_t pn, cn;
        const char *p = seg_largest_ukey(a[i - 1], &pn), *c = seg_smallest_ukey(a[i], &cn);
        if (ukey_cmp(p, pn, c, cn) >= 0) return 0;
    }
    return 1;
}

int rpick_runs_disjoint(const am_run *runs, size_t n)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++) total += runs[i].nsegs;
    if (total <= 1) return 1;
    if (n == 1) return 1;                    /* a run's segments are disjoint already */
    am_segment **a = malloc(total * sizeof *a);
    if (!a) return 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < runs[i].nsegs; j++) a[k++] = runs[i].segs[j];
    int ok = rpick_segs_disjoint(a, total);
    free(a);
    return ok;
}

int rpick_nothing_older(const am_version *v, int level, size_t from, const rpick_range *r)
{
    for (int n = level; n < AM_MAX_LEVELS; n++) {
        const am_level *L = &v->levels[n];
        for (size_t ri = n == level ? from : 0; ri < L->nruns; ri++)
            if (rpick_run_overlaps(&L->runs[ri], r)) return 0;
    }
    return 1;
}

int rpick_order(const am_version *v, const size_t *trig, int nlevels, int *order)
{
    int norder = 0;
    for (int n = 0; n < nlevels; n++) {
        size_t runs = v->levels[n].nruns;
        if (!trig[n] || runs < trig[n]) continue;
        /* Insertion sort on runs / trig descending (cross-multiplied: exact), level
           ascending on a tie. */
        int k = norder++;
        while (k > 0) {
            int p = order[k - 1];
            uint64_t lhs = (uint64_t)v->levels[p].nruns * trig[n];
            uint64_t rhs = (uint64_t)runs * trig[p];
            if (lhs >= rhs) break;
            order[k] = p;
            k--;
        }
        order[k] = n;
    }
    return norder;
}

size_t rpick_fanout(const am_options *o)
{
    return o && o->tier_fanout > 1 ? (size_t)o->tier_fanout : DEF_TIER_FANOUT;
}

size_t rpick_l0_trigger(const am_options *o, size_t fanout)
{
    int slow = o && o->l0_slowdown_files > 0 ? o->l0_slowdown_files : DEF_L0_SLOWDOWN;
    size_t cap = slow > 2 ? (size_t)slow - 1 : 1;
    return fanout < cap ? fanout : cap;
}

uint64_t rpick_target_file(const am_options *o)
{
    return o && o->target_file_bytes ? o->target_file_bytes : DEF_TARGET_FILE;
}
