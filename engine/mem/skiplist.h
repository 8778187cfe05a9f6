/* skiplist.h: the sorted structure under the memtable: an arena-backed skiplist of opaque
 * entries, ordered by a key that lies inside each entry.
 *
 * A node and its entry bytes are ONE arena allocation:
 *   node header (key offset / length, height) | next[height] (atomic pointers) | entry
 * The key compared is entry[koff .. koff + klen); the rest of the entry belongs to the
 * caller (the memtable stores varint32 ikey length | ikey | varint32 value length | value).
 *
 * Invariant: nodes are never freed or moved, and an entry is never changed once its node
 * is inserted. All memory goes away at once with the arena (owned by the caller), so a
 * reader may hold a node pointer, or a pointer into an entry, for as long as the arena
 * lives.
 *
 * Thread safety: ONE writer at a time (skl_node_new + skl_insert, serialised by the
 * caller) and any number of concurrent readers (skl_contains, skl_iter_*) without a lock.
 * The writer fills a node completely, then publishes it level by level from the bottom
 * with release stores of the predecessors' next pointers; readers load next pointers with
 * acquire, so a reader that reaches a node sees its entry fully written. A reader sees
 * every node whose skl_insert returned before the reader's operation started, and maybe
 * some later ones, never a half-built node. The list height is a relaxed atomic: a reader
 * that sees a stale (lower) height only searches less efficiently.
 *
 * Randomness for node heights (max 12, branching 4) comes from a per-skiplist xorshift64
 * state touched only by the writer: no global state, deterministic for a given seed. */
#ifndef AM_MEM_SKIPLIST_H
#define AM_MEM_SKIPLIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "../util/arena.h"

#define SKL_MAX_HEIGHT 12
#define SKL_BRANCHING 4

/* Three-way compare of two keys; ikey_cmp (util/ikey.h) has this shape. */
typedef int (*skl_cmp_fn)(const char *a, size_t an, const char *b, size_t bn);

typedef struct skl_node skl_node;
struct skl_node {
    uint32_t klen;                      /* key length */
    uint8_t koff;                       /* key offset inside the entry */
    uint8_t height;                     /* 1 .. SKL_MAX_HEIGHT */
    _Atomic(skl_node *) next[];         /* height links; the entry follows them */
};

typedef struct skiplist {
    arena *arena;                       /* borrowed: must outlive the skiplist */
    skl_cmp_fn cmp;
    skl_node *head;                     /* in the arena; height SKL_MAX_HEIGHT, no entry */
    atomic_int height;                  /* highest level in use (relaxed) */
    uint64_t rng;                       /* xorshift64 state; writer only */
} skiplist;

/* Sets s up over arena a (borrowed). seed picks the height sequence (0 is replaced by a
 * fixed non-zero constant). Returns AM_OK, or AM_ERR_NOMEM when the head node cannot be
 * allocated (then s must not be used). Nothing to destroy: the arena owns every node. */
int skl_init(skiplist *s, arena *a, skl_cmp_fn cmp, uint64_t seed);

/* Allocates an unlinked node with room for entry_len entry bytes, whose key will be
 * entry[koff .. koff + klen). The caller writes the entry through skl_node_entry() and
 * then calls skl_insert(). NULL on allocation failure (nothing is inserted; the arena may
 * have grown). REQUIRES: writer; koff <= 255; koff + klen <= entry_len. */
skl_node *skl_node_new(skiplist *s, size_t koff, uint32_t klen, size_t entry_len);

/* Links a node from skl_node_new into the list. Cannot fail.
 * REQUIRES: writer; no node with an equal key is in the list. */
void skl_insert(skiplist *s, skl_node *n);

static inline char *skl_node_entry(skl_node *n) { return (char *)&n->next[n->height]; }
static inline const char *skl_node_key(const skl_node *n, size_t *kn)
{
    *kn = n->klen;
    return (const char *)&n->next[n->height] + n->koff;
}

/* 1 if a node with a key equal to (k, kn) is in the list. Any thread. */
int skl_contains(const skiplist *s, const char *k, size_t kn);

/* A cursor over the list; a plain value, nothing to free. Any thread. Each move sees the
 * list as of that move (nodes inserted meanwhile may or may not be visited). */
typedef struct skl_iter {
    const skiplist *list;               /* borrowed */
    const skl_node *node;               /* current node; NULL when not valid */
} skl_iter;

void skl_iter_init(skl_iter *it, const skiplist *s);           /* not valid until a seek */
static inline int skl_iter_valid(const skl_iter *it) { return it->node != NULL; }
void skl_iter_seek_first(skl_iter *it);
void skl_iter_seek(skl_iter *it, const char *k, size_t kn);    /* first key >= k */
void skl_iter_next(skl_iter *it);                              /* REQUIRES: valid */
/* Borrowed for the arena's life. REQUIRES: valid. */
static inline const char *skl_iter_key(const skl_iter *it, size_t *kn) { return skl_node_key(it->node, kn); }
static inline const char *skl_iter_entry(const skl_iter *it)
{
    return (const char *)&it->node->next[it->node->height];
}

#endif
