/* sst_iter.c: the iterators of an SSTable reader (sst.h): sst_iter_new, two levels (index,
 * then data block), reading blocks as its sst_read_mode says (shared through the mapping
 * or the cache, or verified private reads with its own read-ahead); and
 * sst_block_iter_new, one data block at a time for repair's salvage. Blocks come from the
 * reader (sst_reader_impl.h), verified as sst.h promises. */
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "sst_format.h"
#include "sst_reader_impl.h"
#include "../util/env.h"
#include "../util/ikey.h"

#define READAHEAD (512 * 1024)     /* chunk of an iterator that bypasses the cache */

typedef struct sst_iter {
    am_iiter base;
    sst_reader *r;                 /* borrowed */
    sst_read_mode mode;
    int status;
    size_t bi;                     /* index entry of the current block; nidx: none */
    cache_handle *h;               /* pinned current block (shared, through the cache) */
    blk ra_blk;                    /* current block in ra or in the mapping */
    const blk *cur;                /* the current block, or NULL */
    blk_iter it;                   /* over cur */
    char *ra;                      /* owned: read-ahead buffer (verified private read) */
    size_t ra_cap, ra_len;
    uint64_t ra_off;
} sst_iter;

static void drop_block(sst_iter *s)
{
    if (s->cur) blk_iter_fini(&s->it);
    if (s->h) cache_release(s->r->cache, s->h);
    s->h = NULL;
    s->cur = NULL;
}

static void set_error(sst_iter *s, int rc)
{
    drop_block(s);
    if (!s->status) s->status = rc;
    s->bi = s->r->nidx;
}

/* The verified private read: points s->ra_blk at block e in the read-ahead buffer,
 * refilling it with one large pread starting at the block when the block is not wholly
 * there, and verifies the block (checksum and order) whether or not it was read now. The
 * mapping and the cache are never used: their copies were verified at some earlier time. */
static int readahead_block(sst_iter *s, const idx_ent *e)
{
    const sst_reader *r = s->r;
    size_t need = (size_t)e->size + BLK_TRAILER;
    if (!(e->off >= s->ra_off && e->off + need <= s->ra_off + s->ra_len)) {
        uint64_t avail = r->file_bytes - SST_FOOTER_SIZE - e->off;   /* >= need */
        size_t want = need > READAHEAD ? need : READAHEAD;
        if (want > avail) want = (size_t)avail;
        if (want > s->ra_cap) {
            char *p = realloc(s->ra, want);
            if (!p) return am_env_error(r->env, AM_ERR_NOMEM, "%s: out of memory for "
                                        "read-ahead", r->path);
            s->ra = p;
            s->ra_cap = want;
        }
        s->ra_len = 0;
        size_t got = 0;
        int rc = env_pread(r->env, r->f, e->off, want, s->ra, &got);
        if (rc) return rc;
        s->ra_off = e->off;
        s->ra_len = got;
        if (got < need) return sst_corrupt(r, e->off, "block cut short by the end of the file");
    }
    return sst_verify_data_block(r, (size_t)(e - r->idx), s->ra + (e->off - s->ra_off), &s->ra_blk);
}

/* Makes block bi current (not positioned). */
static int load_block(sst_iter *s, size_t bi)
{
    drop_block(s);
    s->bi = bi;
    if (bi >= s->r->nidx) return AM_OK;
    const idx_ent *e = &s->r->idx[bi];
    int rc;
    if (s->mode == SST_READ_VERIFIED_PRIVATE) {
        if ((rc = readahead_block(s, e))) return rc;
        s->cur = &s->ra_blk;
    } else if (s->r->map) {
        if ((rc = sst_map_block(s->r, bi, &s->ra_blk))) return rc;
        s->cur = &s->ra_blk;
    } else {
        if ((rc = sst_pin_block(s->r, bi, NULL, &s->h))) return rc;
        s->cur = &((const cblock *)cache_value(s->h))->b;
    }
    blk_iter_init(&s->it, s->cur);
    return AM_OK;
}

/* From the current position, moves forward over block ends until an entry or the end. */
static void settle(sst_iter *s)
{
    while (s->cur && !blk_iter_valid(&s->it)) {
        if (blk_iter_status(&s->it)) {
            int st = blk_iter_status(&s->it);
            uint64_t off = s->r->idx[s->bi].off;
            set_error(s, st == AM_ERR_NOMEM
                         ? am_env_error(s->r->env, st, "%s: out of memory", s->r->path)
                         : sst_corrupt(s->r, off, "malformed entry in data block"));
            return;
        }
        int rc = load_block(s, s->bi + 1);
        if (rc) { set_error(s, rc); return; }
        if (s->cur) blk_iter_seek_first(&s->it);
    }
}

static void it_seek_first(am_iiter *base)
{
    sst_iter *s = (sst_iter *)base;
    if (s->status) return;
    int rc = load_block(s, 0);
    if (rc) { set_error(s, rc); return; }
    if (s->cur) blk_iter_seek_first(&s->it);
    settle(s);
}

static void it_seek(am_iiter *base, const char *k, size_t n)
{
    sst_iter *s = (sst_iter *)base;
    if (s->status) return;
    if (n < IKEY_TRAILER) { it_seek_first(base); return; }
    size_t bi = sst_index_lower_bound(s->r, k, n);
    if (!(s->cur && s->bi == bi)) {
        int rc = load_block(s, bi);
        if (rc) { set_error(s, rc); return; }
    }
    if (s->cur) blk_iter_seek(&s->it, k, n);
    settle(s);
}

static void it_next(am_iiter *base)
{
    sst_iter *s = (sst_iter *)base;
    if (!s->cur || !blk_iter_valid(&s->it)) return;
    blk_iter_next(&s->it);
    settle(s);
}

static const char *it_next_key(am_iiter *base, size_t *n)
{
    sst_iter *s = (sst_iter *)base;
    if (!s->cur || !blk_iter_valid(&s->it)) return NULL;
    blk_iter_next(&s->it);
    if (!blk_iter_valid(&s->it)) {
        settle(s);
        if (s->status || !s->cur || !blk_iter_valid(&s->it)) return NULL;
    }
    return blk_iter_key(&s->it, n);
}

static int it_valid(const am_iiter *base)
{
    const sst_iter *s = (const sst_iter *)base;
    return !s->status && s->cur && blk_iter_valid(&s->it);
}

static const char *it_key(const am_iiter *base, size_t *n)
{
    return blk_iter_key(&((const sst_iter *)base)->it, n);
}

static const char *it_value(const am_iiter *base, size_t *n)
{
    return blk_iter_value(&((const sst_iter *)base)->it, n);
}

static int it_status(const am_iiter *base)
{
    return ((const sst_iter *)base)->status;
}

static void it_destroy(am_iiter *base)
{
    sst_iter *s = (sst_iter *)base;
    drop_block(s);
    free(s->ra);
    free(s);
}

static const am_iiter_ops sst_iter_ops = {
    .seek_first = it_seek_first,
    .seek = it_seek,
    .next = it_next,
    .valid = it_valid,
    .key = it_key,
    .value = it_value,
    .status = it_status,
    .destroy = it_destroy,
    .next_key = it_next_key,
};

am_iiter *sst_iter_new(sst_reader *r, sst_read_mode mode)
{
    if (mode != SST_READ_SHARED && mode != SST_READ_VERIFIED_PRIVATE)
        return iter_new_empty(am_env_error(r->env, AM_ERR_INVALID, "%s: iterator with "
                                           "unknown read mode %d", r->path, (int)mode));
    sst_iter *s = calloc(1, sizeof *s);
    if (!s) return iter_new_empty(AM_ERR_NOMEM);
    s->base.ops = &sst_iter_ops;
    s->r = r;
    s->mode = mode;
    s->bi = r->nidx;
    return &s->base;
}

/* ---- one data block at a time (repair's salvage) ------------------------------------- */

typedef struct sst_blk_iter {
    am_iiter base;
    sst_reader *r;                 /* borrowed */
    size_t bi;                     /* the block */
    cblock *cb;                    /* owned: read and verified at the first seek; NULL before */
    blk_iter it;                   /* over cb->b once loaded */
    int status;
} sst_blk_iter;

/* Reads the block (pread, checksum) the first time it is needed. */
static int bi_load(sst_blk_iter *s)
{
    if (s->cb || s->status) return s->status;
    int rc = sst_load_cblock(s->r, s->bi, &s->cb);
    if (rc) return s->status = rc;
    blk_iter_init(&s->it, &s->cb->b);
    return AM_OK;
}

/* After a move: a malformed entry becomes the iterator's status, naming file and offset. */
static void bi_check(sst_blk_iter *s)
{
    int st = blk_iter_status(&s->it);
    if (!st || s->status) return;
    s->status = st == AM_ERR_NOMEM
                ? am_env_error(s->r->env, st, "%s: out of memory", s->r->path)
                : sst_corrupt(s->r, s->r->idx[s->bi].off, "malformed entry in data block");
}

static void bi_seek_first(am_iiter *base)
{
    sst_blk_iter *s = (sst_blk_iter *)base;
    if (bi_load(s)) return;
    blk_iter_seek_first(&s->it);
    bi_check(s);
}

static void bi_seek(am_iiter *base, const char *k, size_t n)
{
    sst_blk_iter *s = (sst_blk_iter *)base;
    if (bi_load(s)) return;
    if (n < IKEY_TRAILER) blk_iter_seek_first(&s->it);
    else blk_iter_seek(&s->it, k, n);
    bi_check(s);
}

static int bi_valid(const am_iiter *base)
{
    const sst_blk_iter *s = (const sst_blk_iter *)base;
    return !s->status && s->cb && blk_iter_valid(&s->it);
}

static void bi_next(am_iiter *base)
{
    sst_blk_iter *s = (sst_blk_iter *)base;
    if (!bi_valid(base)) return;
    blk_iter_next(&s->it);
    bi_check(s);
}

static const char *bi_key(const am_iiter *base, size_t *n)
{
    return blk_iter_key(&((const sst_blk_iter *)base)->it, n);
}

static const char *bi_value(const am_iiter *base, size_t *n)
{
    return blk_iter_value(&((const sst_blk_iter *)base)->it, n);
}

static int bi_status(const am_iiter *base)
{
    return ((const sst_blk_iter *)base)->status;
}

static void bi_destroy(am_iiter *base)
{
    sst_blk_iter *s = (sst_blk_iter *)base;
    if (s->cb) blk_iter_fini(&s->it);
    free(s->cb);
    free(s);
}

static const am_iiter_ops sst_blk_iter_ops = {
    .seek_first = bi_seek_first,
    .seek = bi_seek,
    .next = bi_next,
    .valid = bi_valid,
    .key = bi_key,
    .value = bi_value,
    .status = bi_status,
    .destroy = bi_destroy,
};

am_iiter *sst_block_iter_new(sst_reader *r, size_t i)
{
    if (i >= r->nidx) return iter_new_empty(am_env_error(r->env, AM_ERR_INVALID, "%s: no data "
                                                         "block %zu (%zu blocks)", r->path, i,
                                                         r->nidx));
    sst_blk_iter *s = calloc(1, sizeof *s);
    if (!s) return iter_new_empty(AM_ERR_NOMEM);
    s->base.ops = &sst_blk_iter_ops;
    s->r = r;
    s->bi = i;
    return &s->base;
}
