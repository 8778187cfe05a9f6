/* test_skiplist.c: the arena skiplist (engine/mem/skiplist.h): order against a sorted
 * reference, seeks, heights, determinism, and one writer racing two lock-free readers. */
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
#include "mem/skiplist.h"
#include "util/arena.h"
#include "testutil.h"

/* Keys are 8 bytes, big-endian, so memcmp order is numeric order. Entries are the key
 * followed by a 4-byte id (payload the skiplist does not look at). */
#define KEY 8
#define ENTRY 12

static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int r = memcmp(a, b, m);
    return r ? r : an < bn ? -1 : an > bn;
}

static void put_be64(char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (char)(v & 0xff);
}

static uint64_t get_be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | (unsigned char)p[i];
    return v;
}

/* A bijection on 64 bits (odd multiplier), so ids map to distinct, unordered keys. */
static uint64_t key_of(uint64_t id) { return (id + 1) * UINT64_C(0x9e3779b97f4a7c15); }

static void insert_id(skiplist *s, uint32_t id)
{
    skl_node *n = skl_node_new(s, 0, KEY, ENTRY);
    assert_non_null(n);
    char *e = skl_node_entry(n);
    put_be64(e, key_of(id));
    memcpy(e + KEY, &id, 4);
    skl_insert(s, n);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_empty(void **state)
{
    (void)state;
    arena a;
    skiplist s;
    arena_init(&a);
    assert_int_equal(skl_init(&s, &a, bytes_cmp, 1), AM_OK);
    skl_iter it;
    skl_iter_init(&it, &s);
    assert_false(skl_iter_valid(&it));
    skl_iter_seek_first(&it);
    assert_false(skl_iter_valid(&it));
    char k[KEY] = {0};
    skl_iter_seek(&it, k, KEY);
    assert_false(skl_iter_valid(&it));
    assert_false(skl_contains(&s, k, KEY));
    arena_destroy(&a);
}

/* Random inserts, then: full scan equals the sorted reference; seek to every key and to
 * a point just past it; contains for present and absent keys. */
static void test_against_sorted_reference(void **state)
{
    (void)state;
    enum { N = 5000 };
    arena a;
    skiplist s;
    arena_init(&a);
    assert_int_equal(skl_init(&s, &a, bytes_cmp, 42), AM_OK);
    uint64_t *ref = malloc(N * sizeof *ref);
    assert_non_null(ref);
    for (uint32_t i = 0; i < N; i++) {
        insert_id(&s, i);
        ref[i] = key_of(i);
    }
    qsort(ref, N, sizeof *ref, u64_cmp);

    skl_iter it;
    skl_iter_init(&it, &s);
    size_t i = 0;
    for (skl_iter_seek_first(&it); skl_iter_valid(&it); skl_iter_next(&it), i++) {
        size_t kn;
        const char *k = skl_iter_key(&it, &kn);
        assert_int_equal(kn, KEY);
        assert_true(i < N);
        assert_true(get_be64(k) == ref[i]);
        uint32_t id;
        memcpy(&id, skl_iter_entry(&it) + KEY, 4);
        assert_true(key_of(id) == ref[i]);          /* the payload belongs to the key */
    }
    assert_int_equal(i, N);

    char k[KEY];
    for (i = 0; i < N; i++) {
        put_be64(k, ref[i]);
        assert_true(skl_contains(&s, k, KEY));
        skl_iter_seek(&it, k, KEY);
        assert_true(skl_iter_valid(&it));
        size_t kn;
        assert_true(get_be64(skl_iter_key(&it, &kn)) == ref[i]);
        /* Just past ref[i] (if not a key itself): lands on ref[i + 1] or the end. */
        if (ref[i] + 1 != (i + 1 < N ? ref[i + 1] : 0)) {
            put_be64(k, ref[i] + 1);
            assert_false(skl_contains(&s, k, KEY));
            skl_iter_seek(&it, k, KEY);
            if (i + 1 < N) {
                assert_true(skl_iter_valid(&it));
                assert_true(get_be64(skl_iter_key(&it, &kn)) == ref[i + 1]);
            } else if (ref[i] != UINT64_MAX) {
                assert_false(skl_iter_valid(&it));
            }
        }
    }
    /* Before the first key: seek lands on it. A shorter key sorts first on a tie. */
    skl_iter_seek(&it, "", 0);
    assert_true(skl_iter_valid(&it));
    size_t kn;
    assert_true(get_be64(skl_iter_key(&it, &kn)) == ref[0]);
    free(ref);
    arena_destroy(&a);
}

/* Variable-length keys with shared prefixes and a key offset inside the entry. */
static void test_variable_keys_and_offset(void **state)
{
    (void)state;
    static const char *const keys[] = { "b", "a", "ab", "abc", "", "aa", "b\x01", "zz" };
    static const char *const sorted[] = { "", "a", "aa", "ab", "abc", "b", "b\x01", "zz" };
    enum { NK = sizeof keys / sizeof keys[0] };
    arena a;
    skiplist s;
    arena_init(&a);
    assert_int_equal(skl_init(&s, &a, bytes_cmp, 7), AM_OK);
    for (size_t i = 0; i < NK; i++) {
        uint32_t kn = (uint32_t)strlen(keys[i]);
        /* entry: 3 filler bytes | key | '#' */
        skl_node *n = skl_node_new(&s, 3, kn, 3 + kn + 1);
        assert_non_null(n);
        char *e = skl_node_entry(n);
        memcpy(e, "xyz", 3);
        memcpy(e + 3, keys[i], kn);
        e[3 + kn] = '#';
        skl_insert(&s, n);
    }
    skl_iter it;
    skl_iter_init(&it, &s);
    size_t i = 0;
    for (skl_iter_seek_first(&it); skl_iter_valid(&it); skl_iter_next(&it), i++) {
        size_t kn;
        const char *k = skl_iter_key(&it, &kn);
        assert_int_equal(kn, strlen(sorted[i]));
        assert_memory_equal(k, sorted[i], kn);
        assert_memory_equal(skl_iter_entry(&it), "xyz", 3);
        assert_int_equal(skl_iter_entry(&it)[3 + kn], '#');
    }
    assert_int_equal(i, NK);
    assert_true(skl_contains(&s, "ab", 2));
    assert_false(skl_contains(&s, "abcd", 4));
    skl_iter_seek(&it, "abd", 3);
    size_t kn;
    assert_memory_equal(skl_iter_key(&it, &kn), "b", 1);
    arena_destroy(&a);
}

/* Heights: within 1 .. 12, about 3/4 of nodes at height 1 (branching 4), and the same
 * seed gives the same heights. */
static void test_heights(void **state)
{
    (void)state;
    enum { N = 20000 };
    int hist[SKL_MAX_HEIGHT + 1] = {0};
    uint8_t *h1 = malloc(N);
    assert_non_null(h1);
    for (int round = 0; round < 2; round++) {
        arena a;
        skiplist s;
        arena_init(&a);
        assert_int_equal(skl_init(&s, &a, bytes_cmp, 99), AM_OK);
        for (uint32_t i = 0; i < N; i++) {
            skl_node *n = skl_node_new(&s, 0, KEY, KEY);
            assert_non_null(n);
            assert_true(n->height >= 1 && n->height <= SKL_MAX_HEIGHT);
            put_be64(skl_node_entry(n), key_of(i));
            if (round == 0) {
                h1[i] = n->height;
                hist[n->height]++;
            } else {
                assert_int_equal(h1[i], n->height);
            }
            skl_insert(&s, n);
        }
        arena_destroy(&a);
    }
    /* Expected 15000 at height 1, 3750 at 2, ~940 at 3. */
    assert_in_range(hist[1], 14500, 15500);
    assert_in_range(hist[2], 3400, 4100);
    assert_in_range(hist[3], 750, 1150);
    free(h1);
}

/* ---- one writer, two lock-free readers ---- */

enum { CN = 30000, READERS = 2 };

typedef struct race {
    skiplist s;
    atomic_uint done;           /* ids [0, done) are fully inserted */
    atomic_int writer_finished;
    atomic_int failed;          /* first failure, set by a reader thread */
    int reader_passes[READERS];
    int racing_passes[READERS];  /* passes that overlapped the writer */
} race;

typedef struct reader_arg {
    race *r;
    int idx;
} reader_arg;

static void fail_race(race *r, int code)
{
    int zero = 0;
    atomic_compare_exchange_strong(&r->failed, &zero, code);
}

static void *writer_main(void *p)
{
    race *r = p;
    for (uint32_t i = 0; i < CN; i++) {
        skl_node *n = skl_node_new(&r->s, 0, KEY, ENTRY);
        if (!n) { fail_race(r, 100); break; }
        char *e = skl_node_entry(n);
        put_be64(e, key_of(i));
        memcpy(e + KEY, &i, 4);
        skl_insert(&r->s, n);
        atomic_store_explicit(&r->done, i + 1, memory_order_release);
    }
    atomic_store(&r->writer_finished, 1);
    return NULL;
}

static void *reader_main(void *p)
{
    reader_arg *ra = p;
    race *r = ra->r;
    size_t words = (CN + 63) / 64;
    uint64_t *prev = calloc(words, 8), *cur = calloc(words, 8);
    if (!prev || !cur) { fail_race(r, 101); goto out; }
    int last = 0;
    while (!last && !atomic_load(&r->failed)) {
        last = atomic_load(&r->writer_finished);
        uint32_t before = atomic_load_explicit(&r->done, memory_order_acquire);
        memset(cur, 0, words * 8);
        skl_iter it;
        skl_iter_init(&it, &r->s);
        uint32_t count = 0;
        uint64_t prev_key = 0;
        for (skl_iter_seek_first(&it); skl_iter_valid(&it); skl_iter_next(&it), count++) {
            size_t kn;
            uint64_t k = get_be64(skl_iter_key(&it, &kn));
            uint32_t id;
            memcpy(&id, skl_iter_entry(&it) + KEY, 4);
            if (kn != KEY || id >= CN || key_of(id) != k) { fail_race(r, 1); break; }
            if (count && k <= prev_key) { fail_race(r, 2); break; }   /* not sorted */
            prev_key = k;
            cur[id / 64] |= UINT64_C(1) << (id % 64);
        }
        if (count < before) fail_race(r, 3);     /* missed a completed insert */
        for (size_t w = 0; w < words; w++)
            if (prev[w] & ~cur[w]) fail_race(r, 4);   /* a key seen before vanished */
        /* Spot checks through the search path too. */
        for (uint32_t id = 0; id < before; id += 97) {
            char k[KEY];
            put_be64(k, key_of(id));
            if (!skl_contains(&r->s, k, KEY)) fail_race(r, 5);
        }
        if (last && count != CN) fail_race(r, 6);
        uint64_t *t = prev; prev = cur; cur = t;
        r->reader_passes[ra->idx]++;
        if (!last) r->racing_passes[ra->idx]++;
    }
out:
    free(prev);
    free(cur);
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    (void)state;
    arena a;
    race *r = calloc(1, sizeof *r);
    assert_non_null(r);
    arena_init(&a);
    assert_int_equal(skl_init(&r->s, &a, bytes_cmp, 5), AM_OK);
    atomic_init(&r->done, 0);
    atomic_init(&r->writer_finished, 0);
    atomic_init(&r->failed, 0);
    pthread_t w, rd[READERS];
    reader_arg ra[READERS];
    for (int i = 0; i < READERS; i++) {
        ra[i].r = r;
        ra[i].idx = i;
        assert_int_equal(pthread_create(&rd[i], NULL, reader_main, &ra[i]), 0);
    }
    assert_int_equal(pthread_create(&w, NULL, writer_main, r), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < READERS; i++) pthread_join(rd[i], NULL);
    assert_int_equal(atomic_load(&r->failed), 0);
    for (int i = 0; i < READERS; i++) {
        assert_true(r->reader_passes[i] >= 1);
    }
    arena_destroy(&a);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_against_sorted_reference),
        cmocka_unit_test(test_variable_keys_and_offset),
        cmocka_unit_test(test_heights),
        cmocka_unit_test(test_concurrent_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
