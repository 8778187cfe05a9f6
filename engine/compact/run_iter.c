/* run_iter.c: the concatenating iterator over one run's segments (merge.h). The segments
 * of a run are sorted and disjoint, so the run is one sorted sequence: walk segment i to
 * its end, then open segment i + 1. A segment's sst iterator is opened only when the walk
 * reaches it (and freed when it leaves), so a run of many files costs one open iterator.
 *
 * Ownership: run_iter_new copies the segment array and holds a reference on each segment
 * until freed; run_iter_new_pinned borrows both from a caller that pins them (a DB
 * iterator's version), which saves a copy and two atomic operations per segment for every
 * iterator made.
 * Status: the first error of a segment iterator (or AM_ERR_NOMEM when one cannot be made,
 * AM_ERR_INVALID for a segment with no open file); after an error it is not valid. */
#include <stdlib.h>

#include "amethyst.h"
#include "compact/merge.h"
#include "util/ikey.h"

typedef struct run_iter {
    am_iiter base;
    am_segment **segs;          /* owned array with one reference per segment, or borrowed */
    int owned;
    size_t n;
    size_t cur;                 /* segment of it (n: none) */
    am_iiter *it;               /* owned: iterator over segs[cur], or NULL */
    sst_read_mode mode;         /* how segment iterators read their blocks (sst.h) */
    int status;
} run_iter;

static void close_cur(run_iter *r)
{
    iter_free(r->it);
    r->it = NULL;
    r->cur = r->n;
}

/* Opens segment i (closing the current one). 0 on failure, with status set. */
static int open_seg(run_iter *r, size_t i)
{
    close_cur(r);
    if (i >= r->n) return 0;
    if (!r->segs[i]->reader) {
        r->status = AM_ERR_INVALID;
        return 0;
    }
    r->it = sst_iter_new(r->segs[i]->reader, r->mode);
    if (!r->it) {
        r->status = AM_ERR_NOMEM;
        return 0;
    }
    r->cur = i;
    return 1;
}

/* From the current position, moves forward over exhausted segments until an entry is
   found, the run ends, or an error stops the walk. */
static void skip_empty(run_iter *r)
{
    while (r->it && !iter_valid(r->it)) {
        int st = iter_status(r->it);
        if (st != AM_OK) {
            if (r->status == AM_OK) r->status = st;
            close_cur(r);
            return;
        }
        size_t next = r->cur + 1;
        if (!open_seg(r, next)) return;
        iter_seek_first(r->it);
    }
}

static void ri_seek_first(am_iiter *it)
{
    run_iter *r = (run_iter *)it;
    if (r->status != AM_OK) return;
    if (!open_seg(r, 0)) return;
    iter_seek_first(r->it);
    skip_empty(r);
}

static void ri_seek(am_iiter *it, const char *k, size_t n)
{
    run_iter *r = (run_iter *)it;
    if (r->status != AM_OK) return;
    /* First segment whose largest key is >= k: the only one that may hold it. */
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const seg_desc *d = &r->segs[mid]->d;
        if (ikey_cmp(d->largest, d->largest_len, k, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == r->n) {
        close_cur(r);
        return;
    }
    if (r->it && r->cur == lo) {
        iter_seek(r->it, k, n);
    } else {
        if (!open_seg(r, lo)) return;
        iter_seek(r->it, k, n);
    }
    skip_empty(r);
}

static void ri_next(am_iiter *it)
{
    run_iter *r = (run_iter *)it;
    iter_next(r->it);
    skip_empty(r);
}

static int ri_valid(const am_iiter *it)
{
    const run_iter *r = (const run_iter *)it;
    return r->status == AM_OK && r->it && iter_valid(r->it);
}

static const char *ri_key(const am_iiter *it, size_t *n)
{
    return iter_key(((const run_iter *)it)->it, n);
}

static const char *ri_next_key(am_iiter *it, size_t *n)
{
    run_iter *r = (run_iter *)it;
    const char *k = iter_next_key(r->it, n);
    if (k) return k;
    skip_empty(r);                 /* the segment ended (or failed): on to the next one */
    return ri_valid(it) ? ri_key(it, n) : NULL;
}

static const char *ri_value(const am_iiter *it, size_t *n)
{
    return iter_value(((const run_iter *)it)->it, n);
}

static int ri_status(const am_iiter *it)
{
    return ((const run_iter *)it)->status;
}

static void ri_destroy(am_iiter *it)
{
    run_iter *r = (run_iter *)it;
    iter_free(r->it);
    if (r->owned) {
        for (size_t i = 0; i < r->n; i++) seg_unref(r->segs[i]);
        free(r->segs);
    }
    free(r);
}

static const am_iiter_ops run_ops = {
    .seek_first = ri_seek_first, .seek = ri_seek, .next = ri_next, .valid = ri_valid,
    .key = ri_key, .value = ri_value, .status = ri_status, .destroy = ri_destroy,
    .next_key = ri_next_key,
};

static am_iiter *make(am_segment **segs, size_t n, int owned, sst_read_mode mode)
{
    run_iter *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->base.ops = &run_ops;
    r->segs = segs;
    r->owned = owned;
    r->n = n;
    r->cur = n;
    r->mode = mode;
    r->status = AM_OK;
    return &r->base;
}

am_iiter *run_iter_new(am_segment *const *segs, size_t n, sst_read_mode mode)
{
    am_segment **copy = malloc((n ? n : 1) * sizeof(*copy));
    if (!copy) return NULL;
    for (size_t i = 0; i < n; i++) {
        copy[i] = segs[i];
        seg_incref(copy[i]);
    }
    am_iiter *it = make(copy, n, 1, mode);
    if (!it) {
        for (size_t i = 0; i < n; i++) seg_unref(copy[i]);
        free(copy);
    }
    return it;
}

am_iiter *run_iter_new_pinned(am_segment *const *segs, size_t n, sst_read_mode mode)
{
    return make((am_segment **)segs, n, 0, mode);
}
