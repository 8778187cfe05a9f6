/* block_reader.c: decodes, searches and checks one block (format at the top of
 * block_builder.c).
 *
 * Nothing in a block is trusted: blk_init checks the restart array once, and every entry
 * is decoded against the end of the entries, so a corrupt block (whose checksum happened
 * to match) ends the iterator with AM_ERR_CORRUPT instead of reading out of bounds.
 * Bounds are checked on every step; the order of the keys, which seeks and merges rely on
 * but cannot see step by step, is checked by blk_check in one pass, which the SSTable
 * reader runs whenever it verifies a data block's checksum. */
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "block.h"
#include "../util/ikey.h"

int blk_init(blk *b, const char *data, size_t size)
{
    memset(b, 0, sizeof *b);
    if (size < 8 || size > UINT32_MAX) return AM_ERR_CORRUPT;
    uint32_t n = dec_fixed32(data + size - 4);
    if (n == 0 || n > (size - 4) / 4) return AM_ERR_CORRUPT;
    uint32_t roff = (uint32_t)(size - 4 - 4 * (size_t)n);
    const char *r = data + roff;
    /* restart[0] is 0; the rest ascend strictly and lie inside the entries. An empty block
       has exactly one restart point, 0. */
    if (dec_fixed32(r) != 0) return AM_ERR_CORRUPT;
    if (roff == 0 && n != 1) return AM_ERR_CORRUPT;
    uint32_t prev = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint32_t off = dec_fixed32(r + 4 * (size_t)i);
        if (off <= prev || off >= roff) return AM_ERR_CORRUPT;
        prev = off;
    }
    b->data = data;
    b->size = size;
    b->restart_off = roff;
    b->nrestarts = n;
    return AM_OK;
}

static inline uint32_t restart_at(const blk *b, uint32_t i)
{
    return dec_fixed32(b->data + b->restart_off + 4 * (size_t)i);
}

/* Decodes the three lengths of the entry at p; returns where the key delta starts, or
 * NULL if the header or the delta + value run past limit. */
static inline const char *decode_entry(const char *p, const char *limit, uint32_t *shared,
                                       uint32_t *nonshared, uint32_t *vlen)
{
    if (limit - p < 3) return NULL;
    uint32_t a = (uint8_t)p[0], b = (uint8_t)p[1], c = (uint8_t)p[2];
    if ((a | b | c) < 128) {
        *shared = a; *nonshared = b; *vlen = c;
        p += 3;
    } else {
        if (!(p = dec_varint32(p, limit, shared))) return NULL;
        if (!(p = dec_varint32(p, limit, nonshared))) return NULL;
        if (!(p = dec_varint32(p, limit, vlen))) return NULL;
    }
    if ((uint64_t)(limit - p) < (uint64_t)*nonshared + *vlen) return NULL;
    return p;
}

static void corrupt(blk_iter *it, int status)
{
    it->status = status;
    it->cur = it->next = it->b->restart_off;
    it->klen = 0;
    it->val = NULL;
    it->vlen = 0;
}

void blk_iter_init(blk_iter *it, const blk *b)
{
    it->b = b;
    it->cur = it->next = b->restart_off;
    it->status = AM_OK;
    it->val = NULL;
    it->vlen = 0;
    it->key = it->keybuf;
    it->klen = 0;
    it->kcap = sizeof it->keybuf;
}

void blk_iter_fini(blk_iter *it)
{
    if (it->key != it->keybuf) free(it->key);
    it->key = it->keybuf;
    it->kcap = sizeof it->keybuf;
    it->klen = 0;
}

/* Grows the key buffer to hold need bytes, keeping the first klen. */
static int key_reserve(blk_iter *it, size_t need)
{
    if (need <= it->kcap) return AM_OK;
    size_t cap = it->kcap * 2;
    while (cap < need) cap *= 2;
    char *p;
    if (it->key == it->keybuf) {
        p = malloc(cap);
        if (p) memcpy(p, it->keybuf, it->klen);
    } else {
        p = realloc(it->key, cap);
    }
    if (!p) return AM_ERR_NOMEM;
    it->key = p;
    it->kcap = cap;
    return AM_OK;
}

/* Decodes the entry at it->next into the current position (or leaves the iterator
 * invalid at the end of the block). */
static void parse_next(blk_iter *it)
{
    const blk *b = it->b;
    uint32_t off = it->next;
    if (off >= b->restart_off) {
        it->cur = it->next = b->restart_off;
        return;
    }
    const char *limit = b->data + b->restart_off;
    uint32_t shared, nonshared, vlen;
    const char *p = decode_entry(b->data + off, limit, &shared, &nonshared, &vlen);
    if (!p || shared > it->klen || (uint64_t)shared + nonshared < IKEY_TRAILER) {
        corrupt(it, AM_ERR_CORRUPT);
        return;
    }
    size_t klen = (size_t)shared + nonshared;
    if (key_reserve(it, klen)) {
        corrupt(it, AM_ERR_NOMEM);
        return;
    }
    memcpy(it->key + shared, p, nonshared);
    it->klen = klen;
    it->val = p + nonshared;
    it->vlen = vlen;
    it->cur = off;
    it->next = (uint32_t)(it->val + vlen - b->data);
}

static void seek_restart(blk_iter *it, uint32_t i)
{
    it->klen = 0;   /* a restart entry must have shared == 0 */
    it->next = restart_at(it->b, i);
    parse_next(it);
}

void blk_iter_seek_first(blk_iter *it)
{
    if (it->status) return;
    seek_restart(it, 0);
}

void blk_iter_next(blk_iter *it)
{
    if (!blk_iter_valid(it)) return;
    parse_next(it);
}

void blk_iter_seek(blk_iter *it, const char *target, size_t n)
{
    if (it->status) return;
    const blk *b = it->b;
    const char *limit = b->data + b->restart_off;
    if (b->restart_off == 0) {      /* empty block */
        it->cur = it->next = 0;
        return;
    }
    /* Binary search for the last restart point whose key is < target; restart keys are
       whole (shared == 0), so they are compared in place. */
    uint32_t lo = 0, hi = b->nrestarts - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        uint32_t shared, nonshared, vlen;
        const char *p = decode_entry(b->data + restart_at(b, mid), limit, &shared,
                                     &nonshared, &vlen);
        if (!p || shared != 0 || nonshared < IKEY_TRAILER) {
            corrupt(it, AM_ERR_CORRUPT);
            return;
        }
        if (ikey_cmp(p, nonshared, target, n) < 0) lo = mid;
        else hi = mid - 1;
    }
    seek_restart(it, lo);
    while (blk_iter_valid(it) && ikey_cmp(it->key, it->klen, target, n) < 0)
        parse_next(it);
}

/* ---- one checking pass (blk_check) ---- */

/* A key rebuilt from prefix-compressed entries: inline when short, else on the heap. */
typedef struct ckey {
    char *p;
    size_t n, cap;
    char inl[BLK_KEY_INLINE];
} ckey;

static void ckey_init(ckey *k)
{
    k->p = k->inl;
    k->n = 0;
    k->cap = sizeof k->inl;
}

static void ckey_fini(ckey *k)
{
    if (k->p != k->inl) free(k->p);
}

static int ckey_reserve(ckey *k, size_t need)
{
    if (need <= k->cap) return AM_OK;
    size_t cap = k->cap * 2;
    while (cap < need) cap *= 2;
    char *p = k->p == k->inl ? malloc(cap) : realloc(k->p, cap);
    if (!p) return AM_ERR_NOMEM;
    if (k->p == k->inl) memcpy(p, k->inl, k->n);
    k->p = p;
    k->cap = cap;
    return AM_OK;
}

static int fault(blk_fault *f, blk_fault_kind kind, uint32_t off)
{
    f->kind = kind;
    f->off = off;
    return AM_ERR_CORRUPT;
}

int blk_check(const blk *b, const char *lo, size_t lon, int lo_inclusive, const char *hi,
              size_t hin, blk_fault *f)
{
    ckey ka, kb, *cur = &ka, *prev = &kb;
    ckey_init(&ka);
    ckey_init(&kb);
    const char *limit = b->data + b->restart_off;
    uint32_t off = 0, last = 0, j = 0;   /* j: the next restart point to meet */
    int rc = AM_OK;
    while (rc == AM_OK && off < b->restart_off) {
        uint32_t shared, nonshared, vlen;
        const char *p = decode_entry(b->data + off, limit, &shared, &nonshared, &vlen);
        size_t klen = (size_t)shared + nonshared;
        if (!p || shared > prev->n || klen < IKEY_TRAILER) {
            rc = fault(f, BLK_FAULT_MALFORMED, off);
            break;
        }
        if (j < b->nrestarts && restart_at(b, j) == off) {
            if (shared != 0) { rc = fault(f, BLK_FAULT_RESTART, off); break; }
            j++;
        } else if (j < b->nrestarts && restart_at(b, j) < off) {
            rc = fault(f, BLK_FAULT_RESTART, restart_at(b, j));   /* inside an entry */
            break;
        }
        if (ckey_reserve(cur, klen)) { rc = AM_ERR_NOMEM; break; }
        memcpy(cur->p, prev->p, shared);
        memcpy(cur->p + shared, p, nonshared);
        cur->n = klen;
        if (off == 0) {
            int c = lo ? ikey_cmp(lo, lon, cur->p, cur->n) : -1;
            if (c > 0 || (c == 0 && !lo_inclusive)) rc = fault(f, BLK_FAULT_LOW, off);
        } else if (ikey_cmp(prev->p, prev->n, cur->p, cur->n) >= 0) {
            rc = fault(f, BLK_FAULT_ORDER, off);
        }
        ckey *t = prev;
        prev = cur;
        cur = t;
        last = off;
        off = (uint32_t)(p + nonshared + vlen - b->data);
    }
    /* Restart points past the last entry lie inside it (blk_init keeps them below the
       restart array); an empty block has the one restart point 0 and nothing else. */
    if (rc == AM_OK && b->restart_off > 0 && j != b->nrestarts)
        rc = fault(f, BLK_FAULT_RESTART, restart_at(b, j));
    if (rc == AM_OK && b->restart_off > 0 && hi && ikey_cmp(prev->p, prev->n, hi, hin) > 0)
        rc = fault(f, BLK_FAULT_HIGH, last);
    ckey_fini(&ka);
    ckey_fini(&kb);
    return rc;
}
