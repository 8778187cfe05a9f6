/* test_memtable.c: the memtable (engine/mem/memtable.h): newest version <= a sequence,
 * deletes, long keys, iterator order and seeks, references, and a model test of many
 * random writes against a sorted reference. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "mem/memtable.h"
#include "util/ikey.h"
#include "util/iter.h"
#include "testutil.h"

static void add(memtable *m, uint64_t seq, int kind, const char *k, const char *v)
{
    assert_int_equal(mem_add(m, seq, kind, k, strlen(k), v, v ? strlen(v) : 0), AM_OK);
}

/* Expects get(k, seq) to find kind/value, or (want_kind < 0) nothing. */
static void expect_get(memtable *m, const char *k, uint64_t seq, int want_kind,
                       const char *want_v)
{
    int kind = -1;
    const char *v = NULL;
    size_t vn = 0;
    int rc = mem_get(m, k, strlen(k), seq, &kind, &v, &vn);
    if (want_kind < 0) {
        assert_int_equal(rc, AM_NOT_FOUND);
        return;
    }
    assert_int_equal(rc, AM_OK);
    assert_int_equal(kind, want_kind);
    if (want_kind == AM_KIND_VALUE) {
        assert_int_equal(vn, strlen(want_v));
        assert_memory_equal(v, want_v, vn);
    }
}

static void test_empty(void **state)
{
    (void)state;
    memtable *m = NULL;
    assert_int_equal(mem_new(&m), AM_OK);
    assert_non_null(m);
    expect_get(m, "a", AM_MAX_SEQ, -1, NULL);
    assert_int_equal(mem_entries(m), 0);
    assert_int_equal(mem_user_bytes(m), 0);
    assert_true(mem_usage(m) > 0);          /* the head node lives in the arena */
    am_iiter *it = mem_iter_new(m);
    assert_non_null(it);
    iter_seek_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_OK);
    iter_free(it);
    mem_unref(m);
    mem_unref(NULL);
}

/* Versions of one key at sequences 10 (put), 20 (delete), 30 (put): what each snapshot
 * sequence sees. Data-driven: (key, seq) -> expected. */
static void test_get_newest_at_or_below_seq(void **state)
{
    (void)state;
    memtable *m;
    assert_int_equal(mem_new(&m), AM_OK);
    add(m, 10, AM_KIND_VALUE, "k", "v10");
    add(m, 30, AM_KIND_VALUE, "k", "v30");
    add(m, 20, AM_KIND_DELETE, "k", NULL);
    add(m, 15, AM_KIND_VALUE, "k2", "");            /* empty value */
    add(m, 5, AM_KIND_VALUE, "j", "jj");
    add(m, 6, AM_KIND_VALUE, "kk", "prefix");       /* k is a prefix of kk */
    static const struct { const char *k; uint64_t seq; int kind; const char *v; } cases[] = {
        { "k", 9, -1, NULL },
        { "k", 10, AM_KIND_VALUE, "v10" },
        { "k", 19, AM_KIND_VALUE, "v10" },
        { "k", 20, AM_KIND_DELETE, NULL },
        { "k", 29, AM_KIND_DELETE, NULL },
        { "k", 30, AM_KIND_VALUE, "v30" },
        { "k", AM_MAX_SEQ, AM_KIND_VALUE, "v30" },
        { "k2", 14, -1, NULL },
        { "k2", 15, AM_KIND_VALUE, "" },
        { "j", 100, AM_KIND_VALUE, "jj" },
        { "j", 4, -1, NULL },
        { "kk", 6, AM_KIND_VALUE, "prefix" },
        { "kk", 5, -1, NULL },
        { "a", 100, -1, NULL },                     /* before every key */
        { "z", 100, -1, NULL },                     /* after every key */
        { "k1", 100, -1, NULL },                    /* between keys */
        { "", 100, -1, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_get(m, cases[i].k, cases[i].seq, cases[i].kind, cases[i].v);
    assert_int_equal(mem_entries(m), 6);
    /* keys + values: k v10, k v30, k, k2, j jj, kk prefix */
    assert_int_equal(mem_user_bytes(m), 4 + 4 + 1 + 2 + 3 + 8);
    mem_unref(m);
}

/* Keys longer than the stack lookup buffer, and binary keys with zero bytes. */
static void test_long_and_binary_keys(void **state)
{
    (void)state;
    memtable *m;
    assert_int_equal(mem_new(&m), AM_OK);
    static const size_t lens[] = { 1, 255, 256, 257, 1000, AM_MAX_KEY_BYTES };
    char *k = malloc(AM_MAX_KEY_BYTES);
    assert_non_null(k);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(k, 'a' + (int)i, lens[i]);
        k[0] = 0;                                   /* binary */
        char v[16];
        snprintf(v, sizeof v, "v%zu", lens[i]);
        assert_int_equal(mem_add(m, 100 + i, AM_KIND_VALUE, k, lens[i], v, strlen(v)), AM_OK);
    }
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(k, 'a' + (int)i, lens[i]);
        k[0] = 0;
        int kind;
        const char *v;
        size_t vn;
        char want[16];
        snprintf(want, sizeof want, "v%zu", lens[i]);
        assert_int_equal(mem_get(m, k, lens[i], AM_MAX_SEQ, &kind, &v, &vn), AM_OK);
        assert_int_equal(vn, strlen(want));
        assert_memory_equal(v, want, vn);
        assert_int_equal(mem_get(m, k, lens[i], 99 + i, &kind, &v, &vn), AM_NOT_FOUND);
        /* One byte shorter is a different key. */
        if (lens[i] > 1) assert_int_equal(mem_get(m, k, lens[i] - 1, AM_MAX_SEQ, &kind, &v, &vn), AM_NOT_FOUND);
    }
    free(k);
    mem_unref(m);
}

/* The iterator walks user keys ascending, and versions of a key newest first. */
static void test_iterator_order_and_seek(void **state)
{
    (void)state;
    memtable *m;
    assert_int_equal(mem_new(&m), AM_OK);
    add(m, 3, AM_KIND_VALUE, "b", "b3");
    add(m, 1, AM_KIND_VALUE, "a", "a1");
    add(m, 7, AM_KIND_DELETE, "b", NULL);
    add(m, 5, AM_KIND_VALUE, "b", "b5");
    add(m, 2, AM_KIND_VALUE, "c", "c2");
    static const struct { const char *k; uint64_t seq; int kind; const char *v; } want[] = {
        { "a", 1, AM_KIND_VALUE, "a1" },
        { "b", 7, AM_KIND_DELETE, "" },
        { "b", 5, AM_KIND_VALUE, "b5" },
        { "b", 3, AM_KIND_VALUE, "b3" },
        { "c", 2, AM_KIND_VALUE, "c2" },
    };
    am_iiter *it = mem_iter_new(m);
    assert_non_null(it);
    /* The iterator holds its own reference: dropping ours must not free the memtable. */
    mem_unref(m);
    size_t i = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), i++) {
        size_t kn, vn;
        const char *k = iter_key(it, &kn);
        const char *v = iter_value(it, &vn);
        assert_int_equal(ikey_user_len(kn), strlen(want[i].k));
        assert_memory_equal(k, want[i].k, ikey_user_len(kn));
        assert_int_equal(ikey_seq(k, kn), want[i].seq);
        assert_int_equal(ikey_kind(k, kn), want[i].kind);
        assert_int_equal(vn, strlen(want[i].v));
        assert_memory_equal(v, want[i].v, vn);
    }
    assert_int_equal(i, 5);
    assert_int_equal(iter_status(it), AM_OK);

    /* Seek to (b, 6): the first version of b with sequence <= 6 is b5. */
    char look[1 + IKEY_TRAILER];
    ikey_build(look, "b", 1, 6, AM_KIND_MAX);
    iter_seek(it, look, sizeof look);
    assert_true(iter_valid(it));
    size_t kn;
    const char *k = iter_key(it, &kn);
    assert_int_equal(ikey_seq(k, kn), 5);
    /* Seek past the last key. */
    ikey_build(look, "d", 1, AM_MAX_SEQ, AM_KIND_MAX);
    iter_seek(it, look, sizeof look);
    assert_false(iter_valid(it));
    iter_free(it);                                  /* frees the memtable */
}

/* ---- model test ---- */

typedef struct ref_entry {
    char key[16];
    size_t kn;
    uint64_t seq;
    int kind;
    uint32_t vseed;             /* value bytes derive from it */
    size_t vn;
} ref_entry;

static void make_value(char *out, uint32_t seed, size_t n)
{
    tu_rng r = { seed };
    for (size_t i = 0; i < n; i++) out[i] = (char)tu_next(&r);
}

static int ref_cmp(const void *a, const void *b)
{
    const ref_entry *x = a, *y = b;
    int c = ukey_cmp(x->key, x->kn, y->key, y->kn);
    if (c) return c;
    return x->seq > y->seq ? -1 : x->seq < y->seq;     /* newest first */
}

/* Random puts and deletes over a small key space with interleaved sequences; then every
 * (key, snapshot) lookup and a full scan are checked against a sorted reference. */
static void test_many_keys_against_reference(void **state)
{
    (void)state;
    enum { N = 20000, KEYS = 3000 };
    tu_rng rng = { 12345 };
    memtable *m;
    assert_int_equal(mem_new(&m), AM_OK);
    ref_entry *ref = calloc(N, sizeof *ref);
    char *vbuf = malloc(512), *vcheck = malloc(512);
    assert_non_null(ref);
    assert_non_null(vbuf);
    assert_non_null(vcheck);
    uint64_t user_bytes = 0;
    for (size_t i = 0; i < N; i++) {
        ref_entry *e = &ref[i];
        e->kn = (size_t)snprintf(e->key, sizeof e->key, "k%llu",
                                 (unsigned long long)tu_below(&rng, KEYS));
        e->seq = i + 1;
        e->kind = tu_below(&rng, 5) == 0 ? AM_KIND_DELETE : AM_KIND_VALUE;
        e->vseed = (uint32_t)tu_next(&rng);
        e->vn = e->kind == AM_KIND_VALUE ? (size_t)tu_below(&rng, 512) : 0;
        make_value(vbuf, e->vseed, e->vn);
        assert_int_equal(mem_add(m, e->seq, e->kind, e->key, e->kn, vbuf, e->vn), AM_OK);
        user_bytes += e->kn + e->vn;
    }
    assert_int_equal(mem_entries(m), N);
    assert_int_equal(mem_user_bytes(m), user_bytes);
    qsort(ref, N, sizeof *ref, ref_cmp);

    /* Full scan equals the sorted reference. */
    am_iiter *it = mem_iter_new(m);
    assert_non_null(it);
    size_t i = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), i++) {
        assert_true(i < N);
        size_t kn, vn;
        const char *k = iter_key(it, &kn);
        const char *v = iter_value(it, &vn);
        assert_int_equal(ikey_user_len(kn), ref[i].kn);
        assert_memory_equal(k, ref[i].key, ref[i].kn);
        assert_int_equal(ikey_seq(k, kn), ref[i].seq);
        assert_int_equal(ikey_kind(k, kn), ref[i].kind);
        assert_int_equal(vn, ref[i].vn);
        make_value(vcheck, ref[i].vseed, vn);
        assert_memory_equal(v, vcheck, vn);
    }
    assert_int_equal(i, N);
    iter_free(it);

    /* Point lookups at random snapshots: the answer is the first reference entry of the
       key with seq <= snapshot. */
    for (int q = 0; q < 20000; q++) {
        char key[16];
        size_t kn = (size_t)snprintf(key, sizeof key, "k%llu",
                                     (unsigned long long)tu_below(&rng, KEYS + 10));
        uint64_t snap = tu_below(&rng, N + 2);
        ref_entry probe;
        memcpy(probe.key, key, kn);
        probe.kn = kn;
        probe.seq = snap;
        /* lower bound of (key, snap) in ref */
        size_t lo = 0, hi = N;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ref_cmp(&ref[mid], &probe) < 0) lo = mid + 1;
            else hi = mid;
        }
        int kind;
        const char *v;
        size_t vn;
        int rc = mem_get(m, key, kn, snap, &kind, &v, &vn);
        if (lo < N && ukey_cmp(ref[lo].key, ref[lo].kn, key, kn) == 0) {
            assert_int_equal(rc, AM_OK);
            assert_int_equal(kind, ref[lo].kind);
            assert_int_equal(vn, ref[lo].vn);
            make_value(vcheck, ref[lo].vseed, vn);
            assert_memory_equal(v, vcheck, vn);
        } else {
            assert_int_equal(rc, AM_NOT_FOUND);
        }
    }
    free(ref);
    free(vbuf);
    free(vcheck);
    mem_unref(m);
}

/* References: the memtable lives until the last unref (ASan checks the frees). */
static void test_refs(void **state)
{
    (void)state;
    memtable *m;
    assert_int_equal(mem_new(&m), AM_OK);
    add(m, 1, AM_KIND_VALUE, "x", "y");
    mem_ref(m);
    mem_unref(m);
    expect_get(m, "x", 1, AM_KIND_VALUE, "y");
    am_iiter *a = mem_iter_new(m), *b = mem_iter_new(m);
    mem_unref(m);
    iter_seek_first(a);
    iter_free(a);
    iter_seek_first(b);
    assert_true(iter_valid(b));
    iter_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_get_newest_at_or_below_seq),
        cmocka_unit_test(test_long_and_binary_keys),
        cmocka_unit_test(test_iterator_order_and_seek),
        cmocka_unit_test(test_many_keys_against_reference),
        cmocka_unit_test(test_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
