/* version.c: lifetimes of segments (a live SSTable with its metadata, counters and
 * reference count) and versions (an immutable picture of the tree: levels of runs of
 * segments), building a version from segments and applying an edit to one (version.h).
 * The read-only queries are in view.c; the version set (MANIFEST, CURRENT) in vset.c.
 *
 * Shape of a version: level i holds runs ordered by max_seq descending (on a tie, the
 * higher run id first); a run holds segments sorted by smallest internal key whose user-key
 * ranges are disjoint (one key's versions never straddle two segments of a run: merge.h
 * splits outputs only between user keys), which run_find relies on and a debug assert
 * checks. The asserts guard in-memory invariants only: recovery checks every segment read
 * from a MANIFEST as data before it builds a version (vset_check.c). Each run owns its
 * segs array, each level its runs array. Nothing here is on disk. */
#include "version.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "../sst/sst.h"
#include "../util/ikey.h"

/* ---- segments ---- */

void seg_incref(am_segment *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void seg_unref(am_segment *s)
{
    if (!s) return;
    int prev = atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel);
    assert(prev > 0);
    if (prev != 1) return;
    /* Last reference: close the file first (the reader drops its cached blocks), then, if
     * an installed, durable edit removed the segment, tell its owner, which deletes it. */
    sst_reader_free(s->reader);
    s->reader = NULL;
    if (s->obsolete && s->gone) s->gone(s->gone_arg, s->d.id);
    free(s->d.smallest);
    free(s->d.largest);
    free(s);
}

am_segment *seg_new_detached(const seg_desc *d)
{
    assert(d->smallest_len >= IKEY_TRAILER && d->largest_len >= IKEY_TRAILER);
    am_segment *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->d = *d;
    s->d.smallest = malloc(d->smallest_len);
    s->d.largest = malloc(d->largest_len);
    if (!s->d.smallest || !s->d.largest) {
        free(s->d.smallest);
        free(s->d.largest);
        free(s);
        return NULL;
    }
    memcpy(s->d.smallest, d->smallest, d->smallest_len);
    memcpy(s->d.largest, d->largest, d->largest_len);
    atomic_init(&s->reads, d->reads);
    atomic_init(&s->writes, d->writes);
    atomic_init(&s->refs, 1);
    return s;
}

/* ---- versions ---- */

void version_ref(am_version *v)
{
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

static void version_free(am_version *v)
{
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        am_level *lv = &v->levels[l];
        for (size_t r = 0; r < lv->nruns; r++) {
            am_run *run = &lv->runs[r];
            for (size_t i = 0; i < run->nsegs; i++) seg_unref(run->segs[i]);
            free(run->segs);
        }
        free(lv->runs);
    }
    free(v);
}

void version_unref(am_version *v)
{
    if (!v) return;
    int prev = atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel);
    assert(prev > 0);
    if (prev == 1) version_free(v);
}

/* Sort order while grouping: level, run id, smallest internal key. */
static int cmp_group(const void *a, const void *b)
{
    const am_segment *x = *(am_segment *const *)a, *y = *(am_segment *const *)b;
    if (x->d.level != y->d.level) return x->d.level < y->d.level ? -1 : 1;
    if (x->d.run != y->d.run) return x->d.run < y->d.run ? -1 : 1;
    return ikey_cmp(x->d.smallest, x->d.smallest_len, y->d.smallest, y->d.smallest_len);
}

/* Runs of a level: max_seq descending, then run id descending. */
static int cmp_run(const void *a, const void *b)
{
    const am_run *x = a, *y = b;
    if (x->max_seq != y->max_seq) return x->max_seq > y->max_seq ? -1 : 1;
    if (x->id != y->id) return x->id > y->id ? -1 : 1;
    return 0;
}

#ifndef NDEBUG
/* 1 if the run's segments are sorted with disjoint user-key ranges. */
static int run_disjoint(const am_run *r)
{
    for (size_t i = 0; i < r->nsegs; i++) {
        const seg_desc *d = &r->segs[i]->d;
        if (ikey_cmp(d->smallest, d->smallest_len, d->largest, d->largest_len) > 0) return 0;
        if (i == 0) continue;
        const seg_desc *p = &r->segs[i - 1]->d;
        if (ukey_cmp(p->largest, p->largest_len - 8, d->smallest, d->smallest_len - 8) >= 0)
            return 0;
    }
    return 1;
}
#endif

am_version *version_build(am_segment *const *segs, size_t n)
{
    am_version *v = calloc(1, sizeof(*v));
    am_segment **sorted = n ? malloc(n * sizeof(*sorted)) : NULL;
    if (!v || (n && !sorted)) goto oom;
    atomic_init(&v->refs, 1);
    if (n) memcpy(sorted, segs, n * sizeof(*sorted));
    if (n) qsort(sorted, n, sizeof(*sorted), cmp_group);

    size_t i = 0;
    while (i < n) {
        int level = sorted[i]->d.level;
        assert(level >= 0 && level < AM_MAX_LEVELS);
        am_level *lv = &v->levels[level];
        /* Count this level's runs, then fill them. */
        size_t end = i, nruns = 0;
        while (end < n && sorted[end]->d.level == level) {
            if (end == i || sorted[end]->d.run != sorted[end - 1]->d.run) nruns++;
            end++;
        }
        lv->runs = calloc(nruns, sizeof(am_run));
        if (!lv->runs) goto oom;
        while (i < end) {
            size_t j = i;
            while (j < end && sorted[j]->d.run == sorted[i]->d.run) j++;
            am_run *r = &lv->runs[lv->nruns];
            r->segs = malloc((j - i) * sizeof(am_segment *));
            if (!r->segs) goto oom;
            lv->nruns++;
            r->id = sorted[i]->d.run;
            for (size_t k = i; k < j; k++) {
                am_segment *s = sorted[k];
                seg_incref(s);
                r->segs[r->nsegs++] = s;
                r->bytes += s->d.bytes;
                if (s->d.max_seq > r->max_seq) r->max_seq = s->d.max_seq;
            }
            assert(run_disjoint(r));
            lv->bytes += r->bytes;
            lv->nsegs += r->nsegs;
            i = j;
        }
        qsort(lv->runs, lv->nruns, sizeof(am_run), cmp_run);
        v->total_bytes += lv->bytes;
        v->total_segs += lv->nsegs;
    }
    free(sorted);
    return v;
oom:
    free(sorted);
    if (v) version_free(v);
    return NULL;
}

static int cmp_ref(const void *a, const void *b)
{
    const seg_ref *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    if (x->level != y->level) return x->level < y->level ? -1 : 1;
    return 0;
}

am_version *version_apply(const am_version *base, const version_edit *e,
                          am_segment *const *addseg)
{
    am_version *v = NULL;
    seg_ref *del = NULL;
    am_segment **segs = NULL;
    size_t nsegs = 0, cap = (base ? base->total_segs : 0) + e->nadded;
    if (e->ndeleted) {
        del = malloc(e->ndeleted * sizeof(*del));
        if (!del) goto done;
        memcpy(del, e->deleted, e->ndeleted * sizeof(*del));
        qsort(del, e->ndeleted, sizeof(*del), cmp_ref);
    }
    if (cap && !(segs = malloc(cap * sizeof(*segs)))) goto done;
    size_t found = 0;
    for (int l = 0; base && l < AM_MAX_LEVELS; l++) {
        const am_level *lv = &base->levels[l];
        for (size_t r = 0; r < lv->nruns; r++) {
            for (size_t i = 0; i < lv->runs[r].nsegs; i++) {
                am_segment *s = lv->runs[r].segs[i];
                seg_ref key = {.level = l, .id = s->d.id};
                if (del && bsearch(&key, del, e->ndeleted, sizeof(*del), cmp_ref)) {
                    found++;
                    continue;
                }
                segs[nsegs++] = s;
            }
        }
    }
    /* Every deleted segment must be in base (and listed once). */
    assert(found == e->ndeleted);
    (void)found;
    for (size_t i = 0; i < e->nadded; i++) {
        assert(addseg[i]->d.id == e->added[i].id && addseg[i]->d.level == e->added[i].level);
        segs[nsegs++] = addseg[i];
    }
    v = version_build(segs, nsegs);
done:
    free(del);
    free(segs);
    return v;
}
