/* test_cache.c: the sharded LRU block cache: hits and misses, replacement, eviction by
 * bytes in LRU order, pinned entries surviving, erase by file, the NULL cache, and a
 * four-thread smoke test (also run under ThreadSanitizer by `make tsan`). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "sst/cache.h"
#include "testutil.h"

/* A value that knows its key and counts its own deletion. */
typedef struct val {
    uint64_t file_id, offset;
    atomic_int *deleted;
} val;

static void val_delete(void *p)
{
    val *v = p;
    atomic_fetch_add(v->deleted, 1);
    free(v);
}

static val *val_new(uint64_t file_id, uint64_t offset, atomic_int *deleted)
{
    val *v = malloc(sizeof *v);
    assert_non_null(v);
    v->file_id = file_id;
    v->offset = offset;
    v->deleted = deleted;
    return v;
}

/* Inserts and releases at once. */
static void put(blk_cache *c, uint64_t f, uint64_t off, size_t charge, atomic_int *deleted)
{
    cache_handle *h = cache_insert(c, f, off, val_new(f, off, deleted), charge, val_delete);
    assert_non_null(h);
    cache_release(c, h);
}

static int present(blk_cache *c, uint64_t f, uint64_t off)
{
    cache_handle *h = cache_lookup(c, f, off);
    if (!h) return 0;
    val *v = cache_value(h);
    assert_int_equal(v->file_id, f);
    assert_int_equal(v->offset, off);
    cache_release(c, h);
    return 1;
}

static void test_hit_miss_replace(void **state)
{
    (void)state;
    atomic_int deleted = 0;
    blk_cache *c;
    assert_int_equal(cache_new(1 << 20, &c), AM_OK);
    assert_non_null(c);
    assert_null(cache_lookup(c, 1, 0));
    put(c, 1, 0, 100, &deleted);
    put(c, 1, 4096, 200, &deleted);
    put(c, 2, 0, 300, &deleted);
    assert_int_equal(cache_usage(c), 600);
    assert_true(present(c, 1, 0));
    assert_true(present(c, 1, 4096));
    assert_true(present(c, 2, 0));
    assert_false(present(c, 2, 4096));
    assert_false(present(c, 3, 0));

    /* Replacing while the old value is pinned: the pin keeps it alive, lookups see the new
       one, and the old one is deleted on release. */
    cache_handle *old = cache_lookup(c, 1, 0);
    assert_non_null(old);
    val *nv = val_new(1, 0, &deleted);
    cache_handle *h = cache_insert(c, 1, 0, nv, 50, val_delete);
    assert_non_null(h);
    assert_ptr_equal(cache_value(h), nv);
    cache_release(c, h);
    assert_int_equal(cache_usage(c), 550);
    assert_int_equal(atomic_load(&deleted), 0);
    h = cache_lookup(c, 1, 0);
    assert_ptr_equal(cache_value(h), nv);
    cache_release(c, h);
    assert_ptr_not_equal(cache_value(old), nv);
    cache_release(c, old);
    assert_int_equal(atomic_load(&deleted), 1);

    cache_free(c);
    assert_int_equal(atomic_load(&deleted), 4);
}

static void test_lru_eviction_by_bytes(void **state)
{
    (void)state;
    atomic_int deleted = 0;
    blk_cache *c;
    const size_t cap = 16 * 1000;        /* 1000 bytes per shard */
    assert_int_equal(cache_new(cap, &c), AM_OK);

    /* "hot" is touched after every insert, "cold" never: hot stays, cold goes. */
    put(c, 9, 0, 100, &deleted);         /* hot */
    put(c, 9, 1, 100, &deleted);         /* cold */
    int inserted = 2;
    tu_rng rng = { 3 };
    for (uint64_t i = 0; i < 4000; i++) {
        size_t charge = 1 + (size_t)tu_below(&rng, 200);
        put(c, 1, i, charge, &deleted);
        inserted++;
        assert_true(present(c, 9, 0));
        assert_true(cache_usage(c) <= cap);
    }
    assert_false(present(c, 9, 1));
    /* The most recent entries are still there; the oldest are gone. */
    assert_true(present(c, 1, 3999));
    int old_left = 0;
    for (uint64_t i = 0; i < 100; i++) old_left += present(c, 1, i);
    assert_int_equal(old_left, 0);
    /* the cache stays well used: eviction stops once usage fits */
    assert_true(cache_usage(c) > cap / 2);

    /* An entry larger than a shard lives while pinned and goes when released. */
    int before = atomic_load(&deleted);
    cache_handle *h = cache_insert(c, 5, 5, val_new(5, 5, &deleted), 5000, val_delete);
    assert_non_null(h);
    assert_true(cache_usage(c) >= 5000);
    cache_release(c, h);
    assert_false(present(c, 5, 5));
    assert_true(atomic_load(&deleted) > before);

    cache_free(c);
    assert_int_equal(atomic_load(&deleted), inserted + 1);
}

static void test_pinned_not_evicted(void **state)
{
    (void)state;
    atomic_int deleted = 0;
    blk_cache *c;
    assert_int_equal(cache_new(16 * 500, &c), AM_OK);
    val *pv = val_new(7, 7, &deleted);
    cache_handle *pin = cache_insert(c, 7, 7, pv, 400, val_delete);
    assert_non_null(pin);
    for (uint64_t i = 0; i < 2000; i++) put(c, 1, i, 100, &deleted);
    assert_int_equal(pv->file_id, 7);             /* still alive (ASan would notice) */
    assert_true(present(c, 7, 7));                /* and still in the table */
    int d = atomic_load(&deleted);
    cache_release(c, pin);
    assert_int_equal(atomic_load(&deleted), d);   /* fits: stays cached, unpinned */
    for (uint64_t i = 2000; i < 4000; i++) put(c, 1, i, 100, &deleted);
    assert_false(present(c, 7, 7));               /* now it ages out */
    cache_free(c);
    assert_int_equal(atomic_load(&deleted), 4001);
}

static void test_erase_file(void **state)
{
    (void)state;
    atomic_int deleted = 0;
    blk_cache *c;
    assert_int_equal(cache_new(1 << 20, &c), AM_OK);
    for (uint64_t i = 0; i < 200; i++) {
        put(c, 1, i * 4096, 10, &deleted);
        put(c, 2, i * 4096, 10, &deleted);
    }
    cache_handle *pin = cache_lookup(c, 1, 0);
    assert_non_null(pin);
    cache_erase_file(c, 1);
    assert_int_equal(atomic_load(&deleted), 199);
    assert_int_equal(cache_usage(c), 2000);
    for (uint64_t i = 0; i < 200; i++) {
        assert_false(present(c, 1, i * 4096));
        assert_true(present(c, 2, i * 4096));
    }
    assert_int_equal(((val *)cache_value(pin))->file_id, 1);
    cache_release(c, pin);
    assert_int_equal(atomic_load(&deleted), 200);
    cache_free(c);
    assert_int_equal(atomic_load(&deleted), 400);
}

static void test_null_cache(void **state)
{
    (void)state;
    atomic_int deleted = 0;
    blk_cache *c = (blk_cache *)1;
    assert_int_equal(cache_new(0, &c), AM_OK);
    assert_null(c);
    assert_null(cache_lookup(NULL, 1, 1));
    val *v = val_new(1, 1, &deleted);
    cache_handle *h = cache_insert(NULL, 1, 1, v, 10, val_delete);
    assert_non_null(h);
    assert_ptr_equal(cache_value(h), v);
    assert_int_equal(cache_usage(NULL), 0);
    cache_release(NULL, h);
    assert_int_equal(atomic_load(&deleted), 1);
    cache_erase_file(NULL, 1);
    cache_free(NULL);
}

typedef struct worker {
    blk_cache *c;
    atomic_int *deleted, *inserted;
    uint64_t seed;
    int hits;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    tu_rng rng = { w->seed };
    for (int i = 0; i < 40000; i++) {
        uint64_t f = tu_below(&rng, 4), off = tu_below(&rng, 2000) * 4096;
        cache_handle *h = cache_lookup(w->c, f, off);
        if (!h) {
            h = cache_insert(w->c, f, off, val_new(f, off, w->deleted),
                             1 + (size_t)tu_below(&rng, 64), val_delete);
            atomic_fetch_add(w->inserted, 1);
        } else {
            w->hits++;
        }
        val *v = cache_value(h);
        if (v->file_id != f || v->offset != off) abort();
        if (tu_below(&rng, 1000) == 0) cache_erase_file(w->c, tu_below(&rng, 4));
        cache_release(w->c, h);
    }
    return NULL;
}

static void test_concurrency_smoke(void **state)
{
    (void)state;
    atomic_int deleted = 0, inserted = 0;
    blk_cache *c;
    const size_t cap = 64 * 1024;
    assert_int_equal(cache_new(cap, &c), AM_OK);
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){ .c = c, .deleted = &deleted, .inserted = &inserted,
                         .seed = 100 + (uint64_t)i };
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    int hits = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        hits += w[i].hits;
    }
    assert_true(hits > 0);
    assert_true(cache_usage(c) <= cap);
    cache_free(c);
    assert_int_equal(atomic_load(&deleted), atomic_load(&inserted));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_miss_replace),
        cmocka_unit_test(test_lru_eviction_by_bytes),
        cmocka_unit_test(test_pinned_not_evicted),
        cmocka_unit_test(test_erase_file),
        cmocka_unit_test(test_null_cache),
        cmocka_unit_test(test_concurrency_smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
