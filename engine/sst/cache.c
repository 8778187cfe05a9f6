/* cache.c: the block cache: 16 shards, each a mutex, a chained hash table and an LRU list,
 * bounded in bytes (capacity split evenly across shards).
 *
 * Entry life: an entry in the table holds one reference for the cache; every handle holds
 * one more. An entry sits on its shard's LRU list exactly when it is in the table and no
 * handle pins it (refs == 1), so eviction only ever takes unpinned entries, oldest first.
 * An entry replaced, erased or evicted leaves the table at once; its deleter runs when its
 * last reference goes, outside the shard lock. Pinned entries still count in the usage, so
 * usage may exceed the capacity while blocks are pinned; the excess is evicted as soon as
 * they are released. */
#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "cache.h"

#define NSHARDS 16
#define SHARD_BITS 4

typedef struct centry {
    struct centry *hnext;          /* hash chain */
    struct centry *prev, *next;    /* LRU list, when in the table and unpinned */
    uint64_t file_id, offset, hash;
    void *value;                   /* owned: deleter(value) when the entry dies */
    void (*deleter)(void *value);
    size_t charge;
    uint32_t refs;                 /* guarded by the shard mutex (no shard: one thread) */
    int in_cache;                  /* in the table (counts in usage) */
} centry;

typedef struct shard {
    _Alignas(64) pthread_mutex_t mu;
    centry **buckets;              /* owned; nbuckets is a power of two */
    size_t nbuckets, count;
    centry lru;                    /* list head: lru.next is the oldest entry */
    size_t capacity;
    atomic_size_t usage;           /* written under mu, read anywhere */
} shard;

struct blk_cache {
    shard shards[NSHARDS];
    atomic_uint_fast64_t next_id;      /* cache_new_id */
};

/* A handle is its entry. */
static inline centry *H(const cache_handle *h) { return (centry *)h; }

static inline uint64_t mix(uint64_t file_id, uint64_t offset)
{
    uint64_t h = file_id * 0x9e3779b97f4a7c15ull ^ offset;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static inline shard *shard_of(blk_cache *c, uint64_t hash)
{
    return &c->shards[hash >> (64 - SHARD_BITS)];
}

static void lru_remove(centry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

static void lru_append(shard *s, centry *e)   /* as the newest */
{
    e->next = &s->lru;
    e->prev = s->lru.prev;
    e->prev->next = e;
    e->next->prev = e;
}

static void entry_free(centry *e)
{
    if (e->deleter) e->deleter(e->value);
    free(e);
}

/* Deleters run after the lock is dropped; dead entries are chained through hnext. */
static void free_chain(centry *dead)
{
    while (dead) {
        centry *n = dead->hnext;
        entry_free(dead);
        dead = n;
    }
}

static centry **find_slot(shard *s, uint64_t hash, uint64_t file_id, uint64_t offset)
{
    centry **pp = &s->buckets[hash & (s->nbuckets - 1)];
    while (*pp && ((*pp)->hash != hash || (*pp)->file_id != file_id || (*pp)->offset != offset))
        pp = &(*pp)->hnext;
    return pp;
}

/* Doubles the bucket array; on allocation failure the table just keeps longer chains. */
static void grow(shard *s)
{
    size_t nb = s->nbuckets * 2;
    centry **b = calloc(nb, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        centry *e = s->buckets[i];
        while (e) {
            centry *n = e->hnext;
            centry **slot = &b[e->hash & (nb - 1)];
            e->hnext = *slot;
            *slot = e;
            e = n;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

/* Takes e (already unlinked from its chain) out of the cache: drops the cache's reference.
 * Returns e if that was the last one (the caller frees it after unlocking), else NULL. */
static centry *detach(shard *s, centry *e)
{
    assert(e->in_cache);
    e->in_cache = 0;
    if (e->refs == 1) lru_remove(e);
    atomic_store_explicit(&s->usage, atomic_load_explicit(&s->usage, memory_order_relaxed) -
                          e->charge, memory_order_relaxed);
    return --e->refs == 0 ? e : NULL;
}

/* Evicts unpinned entries, oldest first, until usage fits; dead ones go on *dead. */
static void evict(shard *s, centry **dead)
{
    while (atomic_load_explicit(&s->usage, memory_order_relaxed) > s->capacity &&
           s->lru.next != &s->lru) {
        centry *e = s->lru.next;
        centry **pp = find_slot(s, e->hash, e->file_id, e->offset);
        assert(*pp == e);
        *pp = e->hnext;
        s->count--;
        centry *d = detach(s, e);
        if (d) { d->hnext = *dead; *dead = d; }
    }
}

uint64_t cache_new_id(blk_cache *c)
{
    return c ? atomic_fetch_add_explicit(&c->next_id, 1, memory_order_relaxed) : 0;
}

int cache_new(size_t capacity, blk_cache **out)
{
    *out = NULL;
    if (capacity == 0) return AM_OK;
    blk_cache *c = aligned_alloc(64, (sizeof *c + 63) & ~(size_t)63);
    if (!c) return AM_ERR_NOMEM;
    memset(c, 0, sizeof *c);
    atomic_init(&c->next_id, 1);
    size_t per = (capacity + NSHARDS - 1) / NSHARDS;
    int i;
    for (i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        s->nbuckets = 64;
        s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
        if (!s->buckets || pthread_mutex_init(&s->mu, NULL)) {
            free(s->buckets);
            break;
        }
        s->lru.next = s->lru.prev = &s->lru;
        s->capacity = per;
        atomic_init(&s->usage, 0);
    }
    if (i < NSHARDS) {
        while (i-- > 0) {
            pthread_mutex_destroy(&c->shards[i].mu);
            free(c->shards[i].buckets);
        }
        free(c);
        return AM_ERR_NOMEM;
    }
    *out = c;
    return AM_OK;
}

void cache_free(blk_cache *c)
{
    if (!c) return;
    for (int i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        for (size_t b = 0; b < s->nbuckets; b++) {
            centry *e = s->buckets[b];
            while (e) {
                centry *n = e->hnext;
                assert(e->refs == 1);   /* no handle may outlive the cache */
                entry_free(e);
                e = n;
            }
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(c);
}

cache_handle *cache_lookup(blk_cache *c, uint64_t file_id, uint64_t offset)
{
    if (!c) return NULL;
    uint64_t hash = mix(file_id, offset);
    shard *s = shard_of(c, hash);
    pthread_mutex_lock(&s->mu);
    centry *e = *find_slot(s, hash, file_id, offset);
    if (e) {
        if (e->refs == 1) lru_remove(e);
        e->refs++;
    }
    pthread_mutex_unlock(&s->mu);
    return (cache_handle *)e;
}

cache_handle *cache_insert(blk_cache *c, uint64_t file_id, uint64_t offset, void *value,
                           size_t charge, void (*deleter)(void *value))
{
    centry *e = malloc(sizeof *e);
    if (!e) {
        if (deleter) deleter(value);
        return NULL;
    }
    uint64_t hash = mix(file_id, offset);
    *e = (centry){ .file_id = file_id, .offset = offset, .hash = hash, .value = value,
                   .deleter = deleter, .charge = charge, .refs = 1 };
    if (!c) return (cache_handle *)e;   /* unshared: release frees it */

    shard *s = shard_of(c, hash);
    centry *dead = NULL;
    pthread_mutex_lock(&s->mu);
    centry **pp = find_slot(s, hash, file_id, offset);
    if (*pp) {                          /* replace the older entry */
        centry *old = *pp;
        *pp = old->hnext;
        s->count--;
        centry *d = detach(s, old);
        if (d) { d->hnext = dead; dead = d; }
    }
    e->refs = 2;                        /* the cache's and the caller's */
    e->in_cache = 1;
    e->hnext = *pp;
    *pp = e;
    s->count++;
    atomic_store_explicit(&s->usage, atomic_load_explicit(&s->usage, memory_order_relaxed) +
                          charge, memory_order_relaxed);
    if (s->count > s->nbuckets) grow(s);
    evict(s, &dead);
    pthread_mutex_unlock(&s->mu);
    free_chain(dead);
    return (cache_handle *)e;
}

void *cache_value(const cache_handle *h)
{
    return H(h)->value;
}

void cache_release(blk_cache *c, cache_handle *h)
{
    if (!h) return;
    centry *e = H(h);
    if (!c) {
        assert(!e->in_cache && e->refs == 1);
        entry_free(e);
        return;
    }
    shard *s = shard_of(c, e->hash);
    centry *dead = NULL;
    pthread_mutex_lock(&s->mu);
    assert(e->refs > 0);
    if (--e->refs == 0) {
        dead = e;
        e->hnext = NULL;
    } else if (e->refs == 1 && e->in_cache) {
        lru_append(s, e);
        evict(s, &dead);
    }
    pthread_mutex_unlock(&s->mu);
    free_chain(dead);
}

void cache_erase_file(blk_cache *c, uint64_t file_id)
{
    if (!c) return;
    for (int i = 0; i < NSHARDS; i++) {
        shard *s = &c->shards[i];
        centry *dead = NULL;
        pthread_mutex_lock(&s->mu);
        for (size_t b = 0; b < s->nbuckets; b++) {
            centry **pp = &s->buckets[b];
            while (*pp) {
                centry *e = *pp;
                if (e->file_id != file_id) {
                    pp = &e->hnext;
                    continue;
                }
                *pp = e->hnext;
                s->count--;
                /* A pinned entry leaves the table too; its handle frees it on release. */
                centry *d = detach(s, e);
                if (d) { d->hnext = dead; dead = d; }
            }
        }
        pthread_mutex_unlock(&s->mu);
        free_chain(dead);
    }
}

size_t cache_usage(const blk_cache *c)
{
    if (!c) return 0;
    size_t u = 0;
    for (int i = 0; i < NSHARDS; i++)
        u += atomic_load_explicit(&c->shards[i].usage, memory_order_relaxed);
    return u;
}
