/* view.c: the read-only queries on a version that pickers and lookups share (view.h).
 * Pure functions of a version: no file, no reference, no state. */
#include "view.h"

#include <stdlib.h>

am_segment *view_find(const am_version *v, int level, uint64_t id)
{
    if (level < 0 || level >= AM_MAX_LEVELS) return NULL;
    const am_level *lv = &v->levels[level];
    for (size_t r = 0; r < lv->nruns; r++)
        for (size_t i = 0; i < lv->runs[r].nsegs; i++)
            if (lv->runs[r].segs[i]->d.id == id) return lv->runs[r].segs[i];
    return NULL;
}

am_segment *run_find(const am_run *r, const void *k, size_t kn)
{
    size_t lo = 0, hi = r->nsegs;
    /* First segment whose largest user key >= k. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const am_segment *s = r->segs[mid];
        if (ukey_cmp(s->d.largest, s->d.largest_len - 8, k, kn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->nsegs) return NULL;
    am_segment *s = r->segs[lo];
    if (ukey_cmp(s->d.smallest, s->d.smallest_len - 8, k, kn) > 0) return NULL;
    return s;
}

void version_foreach(const am_version *v, void (*fn)(void *arg, am_segment *s), void *arg)
{
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        const am_level *lv = &v->levels[l];
        for (size_t r = 0; r < lv->nruns; r++)
            for (size_t i = 0; i < lv->runs[r].nsegs; i++) fn(arg, lv->runs[r].segs[i]);
    }
}

/* ---- key ranges and overlap queries ---- */

void view_range_add(view_range *r, const am_segment *g)
{
    size_t sn, ln;
    const char *sk = seg_smallest_ukey(g, &sn), *lk = seg_largest_ukey(g, &ln);
    if (!r->set || ukey_cmp(sk, sn, r->lo, r->lon) < 0) { r->lo = sk; r->lon = sn; }
    if (!r->set || ukey_cmp(lk, ln, r->hi, r->hin) > 0) { r->hi = lk; r->hin = ln; }
    r->set = 1;
}

int view_seg_overlaps(const am_segment *g, const view_range *r)
{
    if (!r->set) return 0;
    size_t sn, ln;
    const char *sk = seg_smallest_ukey(g, &sn), *lk = seg_largest_ukey(g, &ln);
    return ukey_cmp(sk, sn, r->hi, r->hin) <= 0 && ukey_cmp(lk, ln, r->lo, r->lon) >= 0;
}

int view_ranges_overlap(const view_range *a, const view_range *b)
{
    if (!a->set || !b->set) return 0;
    return ukey_cmp(a->lo, a->lon, b->hi, b->hin) <= 0 && ukey_cmp(b->lo, b->lon, a->hi, a->hin) <= 0;
}

int view_run_overlaps(const am_run *run, const view_range *r)
{
    for (size_t i = 0; i < run->nsegs; i++)
        if (view_seg_overlaps(run->segs[i], r)) return 1;
    return 0;
}

static int cmp_smallest(const void *a, const void *b)
{
    const am_segment *x = *(am_segment *const *)a, *y = *(am_segment *const *)b;
    size_t xn, yn;
    const char *xk = seg_smallest_ukey(x, &xn), *yk = seg_smallest_ukey(y, &yn);
    return ukey_cmp(xk, xn, yk, yn);
}

int view_segs_overlap(const am_segment *a, const am_segment *b)
{
    size_t an, bn, cn, dn;
    const char *alo = seg_smallest_ukey(a, &an), *ahi = seg_largest_ukey(a, &bn);
    const char *blo = seg_smallest_ukey(b, &cn), *bhi = seg_largest_ukey(b, &dn);
    return ukey_cmp(alo, an, bhi, dn) <= 0 && ukey_cmp(blo, cn, ahi, bn) <= 0;
}

int view_segs_disjoint(am_segment **a, size_t n)
{
    qsort(a, n, sizeof *a, cmp_smallest);
    for (size_t i = 1; i < n; i++) {
        size_t pn, cn;
        const char *p = seg_largest_ukey(a[i - 1], &pn), *c = seg_smallest_ukey(a[i], &cn);
        if (ukey_cmp(p, pn, c, cn) >= 0) return 0;
    }
    return 1;
}

int view_runs_disjoint(const am_run *runs, size_t n)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++) total += runs[i].nsegs;
    if (total <= 1) return 1;
    if (n == 1) return 1;                    /* a run's segments are disjoint already */
    am_segment **a = malloc(total * sizeof *a);
    if (!a) return 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < runs[i].nsegs; j++) a[k++] = runs[i].segs[j];
    int ok = view_segs_disjoint(a, total);
    free(a);
    return ok;
}

int view_nothing_older(const am_version *v, int level, size_t from, const view_range *r)
{
    for (int n = level; n < AM_MAX_LEVELS; n++) {
        const am_level *L = &v->levels[n];
        for (size_t ri = n == level ? from : 0; ri < L->nruns; ri++)
            if (view_run_overlaps(&L->runs[ri], r)) return 0;
    }
    return 1;
}
