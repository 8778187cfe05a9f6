/* repair_iter.c: the inputs of repair's one merge (repair_shared.h).
 *   - rp_sst_iter_new: an SSTable as the scan kept it: the whole file through its own
 *     iterator, or, for a damaged one, its readable data blocks one after the other, each
 *     through an iterator of its own (sst_block_iter_new), so a bad block is stepped over
 *     rather than ending the file. The scan (repair_read.c) checked that the kept blocks'
 *     keys strictly increase, across blocks too.
 *   - rp_dedup_new: drops an entry whose internal key equals the previous one. A log that
 *     was flushed but not yet removed, or a table a killed repair left behind, holds the
 *     same entries (same key, sequence and kind) as another input; the merging iterator
 *     hands such twins out one after the other, and the merge kernel takes only strictly
 *     increasing keys. The first met is kept (the merging iterator orders ties by child:
 *     SSTables by number, then logs); a twin whose value differs is counted apart. */
#include <stdlib.h>
#include <string.h>

#include "repair_shared.h"
#include "util/hash.h"
#include "util/ikey.h"

/* ---- a damaged table's readable blocks ---- */

typedef struct blocks_iter {
    am_iiter base;
    rp_sst *s;                 /* borrowed */
    size_t bi;                 /* block of cur; s->nblocks: past the end */
    am_iiter *cur;             /* owned: over block bi */
    int status;
} blocks_iter;

/* From block bi on, the first kept block with an entry (cur positioned on it), or the end. */
static void settle(blocks_iter *b)
{
    while (!b->status) {
        if (b->cur) {
            if (iter_valid(b->cur)) return;
            if ((b->status = iter_status(b->cur)) != AM_OK) break;
            iter_free(b->cur);
            b->cur = NULL;
            b->bi++;
        }
        while (b->bi < b->s->nblocks && b->s->bad[b->bi]) b->bi++;
        if (b->bi >= b->s->nblocks) return;
        if (!(b->cur = sst_block_iter_new(b->s->r, b->bi))) {
            b->status = AM_ERR_NOMEM;
            break;
        }
        iter_seek_first(b->cur);
    }
    iter_free(b->cur);        /* an error ends the walk: no entry may be passed over */
    b->cur = NULL;
}

static void bl_seek_first(am_iiter *base)
{
    blocks_iter *b = (blocks_iter *)base;
    if (b->status) return;
    iter_free(b->cur);
    b->cur = NULL;
    b->bi = 0;
    settle(b);
}

static int bl_valid(const am_iiter *base)
{
    const blocks_iter *b = (const blocks_iter *)base;
    return !b->status && b->cur && iter_valid(b->cur);
}

static void bl_next(am_iiter *base)
{
    blocks_iter *b = (blocks_iter *)base;
    if (!bl_valid(base)) return;
    iter_next(b->cur);
    settle(b);
}

/* Not used by the merge (it only walks forward from the start); correct all the same. */
static void bl_seek(am_iiter *base, const char *k, size_t n)
{
    bl_seek_first(base);
    size_t kn;
    const char *cur;
    while ((cur = iter_key_if_valid(base, &kn)) && n >= IKEY_TRAILER &&
           ikey_cmp(cur, kn, k, n) < 0)
        bl_next(base);
}

static const char *bl_key(const am_iiter *base, size_t *n)
{
    return iter_key(((const blocks_iter *)base)->cur, n);
}

static const char *bl_value(const am_iiter *base, size_t *n)
{
    return iter_value(((const blocks_iter *)base)->cur, n);
}

static int bl_status(const am_iiter *base)
{
    return ((const blocks_iter *)base)->status;
}

static void bl_destroy(am_iiter *base)
{
    blocks_iter *b = (blocks_iter *)base;
    iter_free(b->cur);
    free(b);
}

static const am_iiter_ops blocks_ops = {
    .seek_first = bl_seek_first, .seek = bl_seek, .next = bl_next, .valid = bl_valid,
    .key = bl_key, .value = bl_value, .status = bl_status, .destroy = bl_destroy,
};

am_iiter *rp_sst_iter_new(rp_sst *s)
{
    if (!s->bad) return sst_iter_new(s->r, SST_READ_VERIFIED_PRIVATE);
    blocks_iter *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->base.ops = &blocks_ops;
    b->s = s;
    b->bi = s->nblocks;
    return &b->base;
}

/* ---- exact duplicates ---- */

typedef struct dedup_iter {
    am_iiter base;
    am_iiter *in;              /* owned */
    am_buf prev;               /* the internal key handed out last */
    uint64_t prev_hash;        /* of its value */
    int status;                /* AM_ERR_NOMEM copying a key */
    uint64_t *dups, *conflicts;
} dedup_iter;

/* Remembers the current entry: its key, and its value's hash. */
static void dd_remember(dedup_iter *d)
{
    size_t kn, vn;
    const char *k = iter_key_if_valid(d->in, &kn);
    if (!k) return;
    buf_clear(&d->prev);
    if (buf_append(&d->prev, k, kn) != AM_OK) {
        d->status = AM_ERR_NOMEM;
        return;
    }
    const char *v = iter_value(d->in, &vn);
    d->prev_hash = am_hash64(v, vn);
}

static void dd_seek_first(am_iiter *base)
{
    iter_seek_first(((dedup_iter *)base)->in);
}

static void dd_seek(am_iiter *base, const char *k, size_t n)
{
    iter_seek(((dedup_iter *)base)->in, k, n);
}

static int dd_valid(const am_iiter *base)
{
    const dedup_iter *d = (const dedup_iter *)base;
    return !d->status && iter_valid(d->in);
}

static void dd_next(am_iiter *base)
{
    dedup_iter *d = (dedup_iter *)base;
    if (!dd_valid(base)) return;
    dd_remember(d);
    if (d->status) return;
    size_t kn, vn;
    const char *k;
    for (k = iter_next_key(d->in, &kn); k; k = iter_next_key(d->in, &kn)) {
        if (kn != d->prev.len || memcmp(k, d->prev.data, kn) != 0) break;
        const char *v = iter_value(d->in, &vn);
        (*d->dups)++;
        if (am_hash64(v, vn) != d->prev_hash) (*d->conflicts)++;
    }
}

static const char *dd_key(const am_iiter *base, size_t *n)
{
    return iter_key(((const dedup_iter *)base)->in, n);
}

static const char *dd_value(const am_iiter *base, size_t *n)
{
    return iter_value(((const dedup_iter *)base)->in, n);
}

static int dd_status(const am_iiter *base)
{
    const dedup_iter *d = (const dedup_iter *)base;
    return d->status ? d->status : iter_status(d->in);
}

static void dd_destroy(am_iiter *base)
{
    dedup_iter *d = (dedup_iter *)base;
    iter_free(d->in);
    buf_free(&d->prev);
    free(d);
}

static const am_iiter_ops dedup_ops = {
    .seek_first = dd_seek_first, .seek = dd_seek, .next = dd_next, .valid = dd_valid,
    .key = dd_key, .value = dd_value, .status = dd_status, .destroy = dd_destroy,
};

am_iiter *rp_dedup_new(am_iiter *in, uint64_t *dups, uint64_t *conflicts)
{
    dedup_iter *d = calloc(1, sizeof *d);
    if (!d) {
        iter_free(in);
        return NULL;
    }
    d->base.ops = &dedup_ops;
    d->in = in;
    buf_init(&d->prev);
    d->dups = dups;
    d->conflicts = conflicts;
    return &d->base;
}
