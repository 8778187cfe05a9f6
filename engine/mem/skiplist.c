/* skiplist.c: the arena-backed skiplist of skiplist.h (single writer, lock-free readers).
 * The memory layout of a node (one arena allocation) is described in skiplist.h; it lives
 * only in memory, never on disk. */
#include "skiplist.h"

#include <assert.h>

#include "amethyst.h"

static inline skl_node *load_next(const skl_node *n, int level)
{
    return atomic_load_explicit(&((skl_node *)n)->next[level], memory_order_acquire);
}

/* Only the writer calls this, and it wrote every link it reads: relaxed is enough. */
static inline skl_node *load_next_writer(const skl_node *n, int level)
{
    return atomic_load_explicit(&((skl_node *)n)->next[level], memory_order_relaxed);
}

static inline int list_height(const skiplist *s)
{
    return atomic_load_explicit(&((skiplist *)s)->height, memory_order_relaxed);
}

static skl_node *alloc_node(arena *a, int height, size_t koff, uint32_t klen,
                            size_t entry_len)
{
    size_t links = sizeof(_Atomic(skl_node *)) * (size_t)height;
    if (entry_len > SIZE_MAX - sizeof(skl_node) - links) return NULL;
    skl_node *n = arena_alloc(a, sizeof(skl_node) + links + entry_len);
    if (!n) return NULL;
    n->klen = klen;
    n->koff = (uint8_t)koff;
    n->height = (uint8_t)height;
    for (int i = 0; i < height; i++) atomic_init(&n->next[i], NULL);
    return n;
}

int skl_init(skiplist *s, arena *a, skl_cmp_fn cmp, uint64_t seed)
{
    s->arena = a;
    s->cmp = cmp;
    s->rng = seed ? seed : UINT64_C(0x9e3779b97f4a7c15);
    atomic_init(&s->height, 1);
    s->head = alloc_node(a, SKL_MAX_HEIGHT, 0, 0, 0);
    return s->head ? AM_OK : AM_ERR_NOMEM;
}

/* Height 1 with probability 3/4, 2 with 3/16, ... capped at SKL_MAX_HEIGHT. */
static int random_height(skiplist *s)
{
    int h = 1;
    while (h < SKL_MAX_HEIGHT) {
        uint64_t x = s->rng;            /* xorshift64 (Marsaglia 13/7/17) */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s->rng = x;
        if ((x >> 32) % SKL_BRANCHING != 0) break;
        h++;
    }
    return h;
}

skl_node *skl_node_new(skiplist *s, size_t koff, uint32_t klen, size_t entry_len)
{
    assert(koff <= UINT8_MAX && koff + klen <= entry_len);
    return alloc_node(s->arena, random_height(s), koff, klen, entry_len);
}

/* cmp of n's key with (k, kn); the head sorts before everything. */
static inline int node_cmp(const skiplist *s, const skl_node *n, const char *k, size_t kn)
{
    size_t nk;
    const char *key = skl_node_key(n, &nk);
    return s->cmp(key, nk, k, kn);
}

/* First node with key >= (k, kn), or NULL. With prev (writer only), fills prev[i] with
 * the last node before that point on level i, for every level. */
static skl_node *find_ge(const skiplist *s, const char *k, size_t kn, skl_node **prev)
{
    skl_node *x = s->head;
    int level = list_height(s) - 1;
    const skl_node *known_ge = NULL;   /* a node already compared >= k: skip re-comparing */
    for (;;) {
        skl_node *next = prev ? load_next_writer(x, level) : load_next(x, level);
        if (next && next != known_ge && node_cmp(s, next, k, kn) < 0) {
            x = next;                   /* still before k: move right */
            continue;
        }
        known_ge = next;
        if (prev) prev[level] = x;
        if (level == 0) return next;
        level--;
    }
}

void skl_insert(skiplist *s, skl_node *n)
{
    skl_node *prev[SKL_MAX_HEIGHT];
    size_t kn;
    const char *k = skl_node_key(n, &kn);
    skl_node *at = find_ge(s, k, kn, prev);
    (void)at;
    assert(at == NULL || node_cmp(s, at, k, kn) != 0);

    int h = n->height, cur = list_height(s);
    if (h > cur) {
        for (int i = cur; i < h; i++) prev[i] = s->head;
        /* A reader that sees the new height before the node is linked finds head's NULL
           links on the new levels and simply drops down: harmless. */
        atomic_store_explicit(&s->height, h, memory_order_relaxed);
    }
    for (int i = 0; i < h; i++) {
        /* n is not yet reachable: relaxed stores of its own links suffice; the release
           store into prev publishes them together with the entry. */
        atomic_store_explicit(&n->next[i], load_next_writer(prev[i], i), memory_order_relaxed);
        atomic_store_explicit(&prev[i]->next[i], n, memory_order_release);
    }
}

int skl_contains(const skiplist *s, const char *k, size_t kn)
{
    const skl_node *n = find_ge(s, k, kn, NULL);
    return n != NULL && node_cmp(s, n, k, kn) == 0;
}

void skl_iter_init(skl_iter *it, const skiplist *s)
{
    it->list = s;
    it->node = NULL;
}

void skl_iter_seek_first(skl_iter *it)
{
    it->node = load_next(it->list->head, 0);
}

void skl_iter_seek(skl_iter *it, const char *k, size_t kn)
{
    it->node = find_ge(it->list, k, kn, NULL);
}

void skl_iter_next(skl_iter *it)
{
    assert(it->node);
    it->node = load_next(it->node, 0);
}
