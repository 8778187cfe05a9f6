/* iter.h: the internal iterator, one interface for every sorted source (memtable, block,
 * SSTable, run of SSTables, merge of all of them). It walks internal keys (ikey.h) in
 * ascending internal-key order, forward only.
 *
 * Ownership: an iterator is freed with iter_free(); key() and value() are borrowed and
 * valid until the iterator next moves. status() reports the first error met (a corrupt
 * block, a failed read); after an error the iterator is not valid. */
#ifndef AM_UTIL_ITER_H
#define AM_UTIL_ITER_H

#include <stddef.h>

typedef struct am_iiter am_iiter;
typedef struct am_iiter_ops {
    void (*seek_first)(am_iiter *it);
    void (*seek)(am_iiter *it, const char *ikey, size_t n);   /* first entry >= ikey */
    void (*next)(am_iiter *it);                                 /* REQUIRES: valid */
    int  (*valid)(const am_iiter *it);
    const char *(*key)(const am_iiter *it, size_t *n);          /* internal key */
    const char *(*value)(const am_iiter *it, size_t *n);
    int  (*status)(const am_iiter *it);
    void (*destroy)(am_iiter *it);                              /* frees it */
    /* Optional: next, then the new current key (NULL when no longer valid: check status).
       One indirect call instead of three (next, valid, key) per step of a merge or scan,
       where every layer (DB iterator, merging iterator, run, file) would pay them. */
    const char *(*next_key)(am_iiter *it, size_t *n);           /* REQUIRES: valid */
} am_iiter_ops;

struct am_iiter { const am_iiter_ops *ops; };

static inline void iter_seek_first(am_iiter *it) { it->ops->seek_first(it); }
static inline void iter_seek(am_iiter *it, const char *k, size_t n) { it->ops->seek(it, k, n); }
static inline void iter_next(am_iiter *it) { it->ops->next(it); }
static inline int iter_valid(const am_iiter *it) { return it->ops->valid(it); }
static inline const char *iter_key(const am_iiter *it, size_t *n) { return it->ops->key(it, n); }
static inline const char *iter_value(const am_iiter *it, size_t *n) { return it->ops->value(it, n); }
static inline int iter_status(const am_iiter *it) { return it->ops->status(it); }
static inline void iter_free(am_iiter *it) { if (it) it->ops->destroy(it); }
/* The current key, or NULL when the iterator is not valid. */
static inline const char *iter_key_if_valid(const am_iiter *it, size_t *n)
{
    return it->ops->valid(it) ? it->ops->key(it, n) : NULL;
}
/* Moves to the next entry and returns its key, or NULL when the iterator is no longer
 * valid (end or error: see iter_status). REQUIRES: valid. */
static inline const char *iter_next_key(am_iiter *it, size_t *n)
{
    if (it->ops->next_key) return it->ops->next_key(it, n);
    it->ops->next(it);
    return iter_key_if_valid(it, n);
}

/* An iterator over nothing that reports status (AM_OK for plain empty). NULL on OOM. */
am_iiter *iter_new_empty(int status);

#endif
