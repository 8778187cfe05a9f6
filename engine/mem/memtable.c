/* memtable.c: the memtable of memtable.h, a skiplist (skiplist.h) of entries in one arena.
 *
 * Entry (in memory only, one arena allocation with its skiplist node):
 *   varint32 internal-key length | internal key (util/ikey.h: user key + fixed64 trailer
 *   seq << 8 | kind) | varint32 value length | value
 * The skiplist compares the internal keys with ikey_cmp. */
#include "memtable.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "skiplist.h"
#include "../util/arena.h"
#include "../util/coding.h"
#include "../util/ikey.h"

/* Lookup keys up to this many user-key bytes are built on the stack. */
#define LOOKUP_STACK_KEY 256

struct memtable {
    atomic_int refs;
    arena arena;                        /* owned: every node and entry */
    skiplist list;
    atomic_uint_least64_t entries;      /* written by the writer only */
    atomic_uint_least64_t user_bytes;
};

static int entry_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    return ikey_cmp(a, an, b, bn);
}

int mem_new(memtable **out)
{
    int rc = AM_OK;
    memtable *m = malloc(sizeof *m);
    *out = NULL;
    if (!m) return AM_ERR_NOMEM;
    arena_init(&m->arena);
    rc = skl_init(&m->list, &m->arena, entry_cmp, UINT64_C(0x2545f4914f6cdd1d));
    if (rc != AM_OK) goto out;
    atomic_init(&m->refs, 1);
    atomic_init(&m->entries, 0);
    atomic_init(&m->user_bytes, 0);
    *out = m;
out:
    if (rc != AM_OK) {
        arena_destroy(&m->arena);
        free(m);
    }
    return rc;
}

void mem_ref(memtable *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void mem_unref(memtable *m)
{
    if (!m) return;
    /* acq_rel: the last holder sees every write the others made before letting go. */
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1) return;
    arena_destroy(&m->arena);
    free(m);
}

int mem_add(memtable *m, uint64_t seq, int kind, const void *k, size_t kn,
            const void *v, size_t vn)
{
    /* The engine limits keys and values far below this; refuse what cannot be encoded. */
    if (kn > UINT32_MAX - IKEY_TRAILER || vn > UINT32_MAX) return AM_ERR_INVALID;
    uint32_t ikn = (uint32_t)(kn + IKEY_TRAILER);
    size_t koff = (size_t)varint_length(ikn);
    size_t len = koff + ikn + (size_t)varint_length(vn) + vn;

    skl_node *n = skl_node_new(&m->list, koff, ikn, len);
    if (!n) return AM_ERR_NOMEM;
    char *p = enc_varint32(skl_node_entry(n), ikn);
    ikey_build(p, k, kn, seq, kind);
    p = enc_varint32(p + ikn, (uint32_t)vn);
    if (vn) memcpy(p, v, vn);
    skl_insert(&m->list, n);

    atomic_store_explicit(&m->entries,
                          atomic_load_explicit(&m->entries, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&m->user_bytes,
                          atomic_load_explicit(&m->user_bytes, memory_order_relaxed) + kn + vn,
                          memory_order_relaxed);
    return AM_OK;
}

/* The value of an entry whose internal key is (ik, ikn), which lies inside the entry. */
static inline const char *entry_value(const char *ik, size_t ikn, size_t *vn)
{
    uint32_t n = 0;
    const char *p = ik + ikn;
    /* Written by mem_add: well formed, at most 5 bytes. */
    p = dec_varint32(p, p + 5, &n);
    assert(p != NULL);
    *vn = n;
    return p;
}

int mem_get(memtable *m, const void *k, size_t kn, uint64_t seq, int *kind,
            const char **v, size_t *vn)
{
    char stack[LOOKUP_STACK_KEY + IKEY_TRAILER];
    char *look = stack;
    int rc = AM_NOT_FOUND;
    if (kn > LOOKUP_STACK_KEY) {      /* rare: long keys; AM_ERR_NOMEM if this fails */
        look = malloc(kn + IKEY_TRAILER);
        if (!look) return AM_ERR_NOMEM;
    }
    ikey_build(look, k, kn, seq, AM_KIND_MAX);

    skl_iter it;
    skl_iter_init(&it, &m->list);
    skl_iter_seek(&it, look, kn + IKEY_TRAILER);
    if (skl_iter_valid(&it)) {
        size_t ikn;
        const char *ik = skl_iter_key(&it, &ikn);
        /* The first entry >= (k, seq) is the newest version of k with sequence <= seq,
           if its user key is k at all. */
        if (ukey_cmp(ik, ikey_user_len(ikn), k, kn) == 0) {
            *kind = ikey_kind(ik, ikn);
            *v = entry_value(ik, ikn, vn);
            rc = AM_OK;
        }
    }
    if (look != stack) free(look);
    return rc;
}

size_t mem_usage(const memtable *m)
{
    return arena_memory_usage(&m->arena);
}

uint64_t mem_entries(const memtable *m)
{
    return atomic_load_explicit(&((memtable *)m)->entries, memory_order_relaxed);
}

uint64_t mem_user_bytes(const memtable *m)
{
    return atomic_load_explicit(&((memtable *)m)->user_bytes, memory_order_relaxed);
}

/* ---- iterator ---- */

typedef struct mem_iter {
    am_iiter base;
    memtable *mem;                      /* one reference, dropped by destroy */
    skl_iter it;
} mem_iter;

static void mi_seek_first(am_iiter *it) { skl_iter_seek_first(&((mem_iter *)it)->it); }
static void mi_seek(am_iiter *it, const char *k, size_t n) { skl_iter_seek(&((mem_iter *)it)->it, k, n); }
static void mi_next(am_iiter *it) { skl_iter_next(&((mem_iter *)it)->it); }
static int mi_valid(const am_iiter *it) { return skl_iter_valid(&((const mem_iter *)it)->it); }
static const char *mi_key(const am_iiter *it, size_t *n) { return skl_iter_key(&((const mem_iter *)it)->it, n); }
static int mi_status(const am_iiter *it) { (void)it; return AM_OK; }
static const char *mi_next_key(am_iiter *it, size_t *n)
{
    skl_iter *s = &((mem_iter *)it)->it;
    skl_iter_next(s);
    return skl_iter_valid(s) ? skl_iter_key(s, n) : NULL;
}

static const char *mi_value(const am_iiter *it, size_t *n)
{
    size_t ikn;
    const char *ik = skl_iter_key(&((const mem_iter *)it)->it, &ikn);
    return entry_value(ik, ikn, n);
}

static void mi_destroy(am_iiter *it)
{
    mem_iter *mi = (mem_iter *)it;
    mem_unref(mi->mem);
    free(mi);
}

static const am_iiter_ops mem_iter_ops = {
    .seek_first = mi_seek_first,
    .seek = mi_seek,
    .next = mi_next,
    .valid = mi_valid,
    .key = mi_key,
    .value = mi_value,
    .status = mi_status,
    .destroy = mi_destroy,
    .next_key = mi_next_key,
};

am_iiter *mem_iter_new(memtable *m)
{
    mem_iter *mi = malloc(sizeof *mi);
    if (!mi) return NULL;
    mi->base.ops = &mem_iter_ops;
    mem_ref(m);
    mi->mem = m;
    skl_iter_init(&mi->it, &m->list);
    return &mi->base;
}
