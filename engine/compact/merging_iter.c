/* merging_iter.c: one iterator over many sorted children (merge.h), ordered by internal
 * key. A binary min-heap holds the valid children; the top is the current entry. Equal
 * internal keys (which a correct tree never has) come out child-index first, so a child
 * listed earlier wins a tie; the merge kernel refuses them (merge.c, "Input order"), as it
 * refuses any child that goes backwards. Forward only, like every internal iterator.
 *
 * Ownership: takes the children and their array; frees both. Status: the first error of
 * any child; once a child fails, the merging iterator stops being valid (an entry missing
 * from a broken child must not be passed over silently). */
#include <stdlib.h>

#include "amethyst.h"
#include "compact/merge.h"
#include "util/ikey.h"

/* A child's current key, cached so heap comparisons make no indirect calls (valid until
 * the child moves; refreshed right after every move). */
typedef struct ckey {
    const char *k;
    size_t n;
} ckey;

typedef struct merging_iter {
    am_iiter base;
    am_iiter **child;          /* owned, with the array */
    ckey *key;                 /* owned: key[i] is child i's current key when valid */
    size_t n;
    size_t *heap;              /* indices of valid children; heap[0] is the smallest */
    size_t nheap;
    int status;                /* first child error */
} merging_iter;

/* Child a sorts before child b. */
static int less(const merging_iter *m, size_t a, size_t b)
{
    int c = ikey_cmp(m->key[a].k, m->key[a].n, m->key[b].k, m->key[b].n);
    return c < 0 || (c == 0 && a < b);
}

/* After child i moved: 1 and its key cached if it is valid. */
static int refresh(merging_iter *m, size_t i)
{
    if (!iter_valid(m->child[i])) return 0;
    m->key[i].k = iter_key(m->child[i], &m->key[i].n);
    return 1;
}

static void sift_down(merging_iter *m, size_t i)
{
    size_t *h = m->heap, n = m->nheap, x = h[i];
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n) break;
        size_t c = l + 1 < n && less(m, h[l + 1], h[l]) ? l + 1 : l;
        if (!less(m, h[c], x)) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

/* Checks every child's status; the first error stops the iterator. */
static void note_status(merging_iter *m, size_t c)
{
    int st = iter_status(m->child[c]);
    if (st != AM_OK && m->status == AM_OK) m->status = st;
}

static void rebuild(merging_iter *m)
{
    m->nheap = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (refresh(m, i)) m->heap[m->nheap++] = i;
        else note_status(m, i);
    }
    for (size_t i = m->nheap / 2; i-- > 0;) sift_down(m, i);
}

static void mi_seek_first(am_iiter *it)
{
    merging_iter *m = (merging_iter *)it;
    for (size_t i = 0; i < m->n; i++) iter_seek_first(m->child[i]);
    rebuild(m);
}

static void mi_seek(am_iiter *it, const char *k, size_t n)
{
    merging_iter *m = (merging_iter *)it;
    for (size_t i = 0; i < m->n; i++) iter_seek(m->child[i], k, n);
    rebuild(m);
}

static void mi_next(am_iiter *it)
{
    merging_iter *m = (merging_iter *)it;
    size_t top = m->heap[0];
    m->key[top].k = iter_next_key(m->child[top], &m->key[top].n);
    if (!m->key[top].k) {
        note_status(m, top);
        m->heap[0] = m->heap[--m->nheap];
    }
    if (m->nheap) sift_down(m, 0);
}

static const char *mi_next_key(am_iiter *it, size_t *n)
{
    merging_iter *m = (merging_iter *)it;
    mi_next(it);
    if (m->status != AM_OK || m->nheap == 0) return NULL;
    const ckey *k = &m->key[m->heap[0]];
    *n = k->n;
    return k->k;
}

static int mi_valid(const am_iiter *it)
{
    const merging_iter *m = (const merging_iter *)it;
    return m->status == AM_OK && m->nheap > 0;
}

static const char *mi_key(const am_iiter *it, size_t *n)
{
    const merging_iter *m = (const merging_iter *)it;
    const ckey *k = &m->key[m->heap[0]];
    *n = k->n;
    return k->k;
}

static const char *mi_value(const am_iiter *it, size_t *n)
{
    const merging_iter *m = (const merging_iter *)it;
    return iter_value(m->child[m->heap[0]], n);
}

static int mi_status(const am_iiter *it)
{
    return ((const merging_iter *)it)->status;
}

static void mi_destroy(am_iiter *it)
{
    merging_iter *m = (merging_iter *)it;
    for (size_t i = 0; i < m->n; i++) iter_free(m->child[i]);
    free(m->child);
    free(m->key);
    free(m->heap);
    free(m);
}

static const am_iiter_ops merging_ops = {
    .seek_first = mi_seek_first, .seek = mi_seek, .next = mi_next, .valid = mi_valid,
    .key = mi_key, .value = mi_value, .status = mi_status, .destroy = mi_destroy,
    .next_key = mi_next_key,
};

am_iiter *merging_iter_new(am_iiter **children, size_t n)
{
    merging_iter *m = calloc(1, sizeof(*m));
    size_t *heap = malloc((n ? n : 1) * sizeof(*heap));
    ckey *key = calloc(n ? n : 1, sizeof(*key));
    if (!m || !heap || !key) {
        free(m);
        free(heap);
        free(key);
        for (size_t i = 0; i < n; i++) iter_free(children[i]);
        free(children);
        return NULL;
    }
    m->base.ops = &merging_ops;
    m->child = children;
    m->key = key;
    m->n = n;
    m->heap = heap;
    m->status = AM_OK;
    return &m->base;
}
