/* view.c: the read-only queries on a version that pickers and lookups share (view.h).
 * Pure functions of a version: no file, no reference, no state. */
#include "view.h"

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
