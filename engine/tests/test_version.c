/* test_version.c: segments and versions without files: version_build grouping and
 * ordering, run_find against a linear scan, version_apply adding and deleting, reference
 * counts (also dropped from several threads), the owner told only when the last reference
 * to an obsolete segment goes, version_foreach order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "util/ikey.h"
#include "version/edit.h"
#include "version/version.h"
#include "testutil.h"

/* A detached segment covering user keys k<lo> .. k<hi> (6-digit numbers). */
static am_segment *mkseg(uint64_t id, int level, uint64_t run, int lo, int hi, uint64_t max_seq)
{
    char s[32], l[32], uk[16];
    snprintf(uk, sizeof uk, "k%06d", lo);
    ikey_build(s, uk, 7, max_seq, AM_KIND_VALUE);
    snprintf(uk, sizeof uk, "k%06d", hi);
    ikey_build(l, uk, 7, 1, AM_KIND_VALUE);
    seg_desc d = {.id = id, .level = level, .run = run, .tag = AM_TAG_LEVELED,
                  .bytes = 1000 + id, .entries = 10, .min_seq = 1, .max_seq = max_seq,
                  .reads = id * 3, .writes = id * 5,
                  .smallest = s, .smallest_len = 15, .largest = l, .largest_len = 15};
    am_segment *seg = seg_new_detached(&d);
    assert_non_null(seg);
    return seg;
}

static int refs(am_segment *s) { return atomic_load(&s->refs); }

static void test_detached_segment(void **state)
{
    (void)state;
    am_segment *s = mkseg(7, 2, 3, 10, 20, 99);
    assert_int_equal(refs(s), 1);
    assert_int_equal(atomic_load(&s->reads), 21);    /* counters start from the desc */
    assert_int_equal(atomic_load(&s->writes), 35);
    assert_null(s->reader);
    assert_null(s->gone);
    assert_false(s->obsolete);
    size_t n;
    const char *k = seg_smallest_ukey(s, &n);
    assert_int_equal(n, 7);
    assert_memory_equal(k, "k000010", 7);
    k = seg_largest_ukey(s, &n);
    assert_memory_equal(k, "k000020", 7);
    seg_incref(s);
    assert_int_equal(refs(s), 2);
    seg_unref(s);
    seg_unref(s);   /* freed: ASan reports a leak otherwise */
}

/* seg_gone_fn for the test: records the file number it was told of, and how often. */
typedef struct gone_log { uint64_t id; int calls; } gone_log;
static void log_gone(void *arg, uint64_t id)
{
    gone_log *g = arg;
    g->id = id;
    g->calls++;
}

/* The owner hears of a segment only at its last reference, and only if it is obsolete. */
static void test_gone_at_last_ref_if_obsolete(void **state)
{
    (void)state;
    gone_log g = {0, 0};
    am_segment *live = mkseg(8, 1, 1, 1, 2, 5), *dead = mkseg(9, 1, 1, 3, 4, 5);
    live->gone = dead->gone = log_gone;
    live->gone_arg = dead->gone_arg = &g;
    seg_unref(live);                  /* not obsolete: its file stays */
    assert_int_equal(g.calls, 0);
    seg_incref(dead);
    dead->obsolete = 1;
    seg_unref(dead);                  /* still referenced */
    assert_int_equal(g.calls, 0);
    seg_unref(dead);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.id, 9);
}

static void test_build_empty(void **state)
{
    (void)state;
    am_version *v = version_build(NULL, 0);
    assert_non_null(v);
    assert_int_equal(atomic_load(&v->refs), 1);
    assert_int_equal(v->total_segs, 0);
    for (int l = 0; l < AM_MAX_LEVELS; l++) assert_int_equal(v->levels[l].nruns, 0);
    version_unref(v);
}

/* Expected shape, listed as the version must hold it: level, run id, then segment ids. */
static void test_build_ordering(void **state)
{
    (void)state;
    am_segment *segs[] = {
        /* L0: three flushes, one run each; run 5 newest. Runs 8 and 9 tie on max_seq. */
        mkseg(10, 0, 2, 0, 100, 50),
        mkseg(11, 0, 5, 0, 100, 90),
        mkseg(12, 0, 8, 0, 100, 70),
        mkseg(13, 0, 9, 0, 100, 70),
        /* L1: one run, four segments given out of order. */
        mkseg(23, 1, 1, 300, 399, 40),
        mkseg(20, 1, 1, 0, 99, 30),
        mkseg(22, 1, 1, 200, 299, 45),
        mkseg(21, 1, 1, 100, 199, 20),
        /* L3: two tiered runs; run 4 newer than run 7 by max_seq. */
        mkseg(31, 3, 7, 50, 60, 10),
        mkseg(30, 3, 4, 0, 10, 15),
        mkseg(32, 3, 7, 0, 10, 5),
    };
    size_t n = sizeof segs / sizeof segs[0];
    /* Build from a shuffled order too: the result must not depend on input order. */
    am_segment *shuffled[sizeof segs / sizeof segs[0]];
    memcpy(shuffled, segs, sizeof segs);
    tu_rng rng = {.s = 3};
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)tu_below(&rng, i + 1);
        am_segment *t = shuffled[i]; shuffled[i] = shuffled[j]; shuffled[j] = t;
    }
    for (int pass = 0; pass < 2; pass++) {
        am_version *v = version_build(pass ? shuffled : segs, n);
        assert_non_null(v);
        for (size_t i = 0; i < n; i++) assert_int_equal(refs(segs[i]), 2);

        const am_level *l0 = &v->levels[0];
        assert_int_equal(l0->nruns, 4);
        uint64_t want_runs[] = {5, 9, 8, 2};
        uint64_t want_ids[] = {11, 13, 12, 10};
        for (int r = 0; r < 4; r++) {
            assert_int_equal(l0->runs[r].id, want_runs[r]);
            assert_int_equal(l0->runs[r].nsegs, 1);
            assert_int_equal(l0->runs[r].segs[0]->d.id, want_ids[r]);
            assert_int_equal(l0->runs[r].bytes, 1000 + want_ids[r]);
        }
        assert_int_equal(l0->nsegs, 4);
        assert_int_equal(l0->bytes, 4000 + 10 + 11 + 12 + 13);

        const am_level *l1 = &v->levels[1];
        assert_int_equal(l1->nruns, 1);
        assert_int_equal(l1->runs[0].id, 1);
        assert_int_equal(l1->runs[0].nsegs, 4);
        assert_int_equal(l1->runs[0].max_seq, 45);
        for (int i = 0; i < 4; i++) assert_int_equal(l1->runs[0].segs[i]->d.id, 20 + i);
        assert_int_equal(l1->bytes, 4000 + 20 + 21 + 22 + 23);

        assert_int_equal(v->levels[2].nruns, 0);
        const am_level *l3 = &v->levels[3];
        assert_int_equal(l3->nruns, 2);
        assert_int_equal(l3->runs[0].id, 4);
        assert_int_equal(l3->runs[0].max_seq, 15);
        assert_int_equal(l3->runs[1].id, 7);
        assert_int_equal(l3->runs[1].max_seq, 10);
        assert_int_equal(l3->runs[1].segs[0]->d.id, 32);   /* k0..k10 before k50..k60 */
        assert_int_equal(l3->runs[1].segs[1]->d.id, 31);
        assert_int_equal(l3->nsegs, 3);

        assert_int_equal(v->total_segs, n);
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) total += segs[i]->d.bytes;
        assert_int_equal(v->total_bytes, total);

        version_ref(v);
        version_unref(v);
        for (size_t i = 0; i < n; i++) assert_int_equal(refs(segs[i]), 2);
        version_unref(v);
        for (size_t i = 0; i < n; i++) assert_int_equal(refs(segs[i]), 1);
    }
    for (size_t i = 0; i < n; i++) seg_unref(segs[i]);
}

/* Ties on max_seq inside one level order by run id, higher first, whatever the input. */
static void test_build_run_ties(void **state)
{
    (void)state;
    enum { N = 50 };
    am_segment *segs[N];
    for (int i = 0; i < N; i++)
        segs[i] = mkseg((uint64_t)(100 + i), 2, (uint64_t)((i * 37) % N), 0, 9,
                        (uint64_t)(i % 5));
    am_version *v = version_build(segs, N);
    const am_level *lv = &v->levels[2];
    assert_int_equal(lv->nruns, N);
    for (size_t r = 1; r < lv->nruns; r++) {
        const am_run *a = &lv->runs[r - 1], *b = &lv->runs[r];
        assert_true(a->max_seq > b->max_seq || (a->max_seq == b->max_seq && a->id > b->id));
    }
    version_unref(v);
    for (int i = 0; i < N; i++) seg_unref(segs[i]);
}

/* run_find over 1000 segments [10i, 10i+5], every key in 0..10010 against a linear scan. */
static void test_run_find(void **state)
{
    (void)state;
    enum { N = 1000 };
    am_segment **segs = malloc(N * sizeof(*segs));
    for (int i = 0; i < N; i++)
        segs[i] = mkseg((uint64_t)(N - i), 1, 1, 10 * i, 10 * i + 5, 7);
    am_version *v = version_build(segs, N);
    const am_run *r = &v->levels[1].runs[0];
    assert_int_equal(r->nsegs, N);
    for (int k = 0; k <= 10 * N + 10; k++) {
        char uk[16];
        snprintf(uk, sizeof uk, "k%06d", k);
        am_segment *want = NULL;
        if (k % 10 <= 5 && k / 10 < N) want = segs[k / 10];
        assert_ptr_equal(run_find(r, uk, 7), want);
    }
    /* Keys that fall between the fixed-width ones: prefixes, extensions, empty. */
    assert_ptr_equal(run_find(r, "k", 1), NULL);
    assert_ptr_equal(run_find(r, "", 0), NULL);
    assert_ptr_equal(run_find(r, "k000000\x00", 8), segs[0]);   /* inside [k000000, k000005] */
    assert_ptr_equal(run_find(r, "k000005\x00", 8), NULL);      /* just past segment 0 */
    assert_ptr_equal(run_find(r, "k00001", 6), NULL);           /* before k000010 */
    assert_ptr_equal(run_find(r, "z", 1), NULL);
    /* An empty run finds nothing. */
    am_run empty = {0};
    assert_ptr_equal(run_find(&empty, "k000001", 7), NULL);
    version_unref(v);
    for (int i = 0; i < N; i++) seg_unref(segs[i]);
    free(segs);
}

/* A segment of a single user key (smallest and largest share the user key). */
static void test_run_find_single_key_segments(void **state)
{
    (void)state;
    am_segment *segs[3] = {mkseg(1, 1, 1, 5, 5, 3), mkseg(2, 1, 1, 6, 6, 3),
                           mkseg(3, 1, 1, 8, 8, 3)};
    am_version *v = version_build(segs, 3);
    const am_run *r = &v->levels[1].runs[0];
    assert_ptr_equal(run_find(r, "k000005", 7), segs[0]);
    assert_ptr_equal(run_find(r, "k000006", 7), segs[1]);
    assert_ptr_equal(run_find(r, "k000007", 7), NULL);
    assert_ptr_equal(run_find(r, "k000008", 7), segs[2]);
    version_unref(v);
    for (int i = 0; i < 3; i++) seg_unref(segs[i]);
}

static void collect(void *arg, am_segment *s)
{
    uint64_t **p = arg;
    *(*p)++ = s->d.id;
}

static void test_apply_add_delete(void **state)
{
    (void)state;
    am_segment *base_segs[] = {
        mkseg(1, 0, 10, 0, 50, 100),    /* L0 newest */
        mkseg(2, 0, 9, 20, 80, 90),
        mkseg(3, 1, 1, 0, 30, 40),
        mkseg(4, 1, 1, 31, 60, 40),
        mkseg(5, 1, 1, 61, 99, 40),
    };
    am_version *base = version_build(base_segs, 5);
    for (int i = 0; i < 5; i++) seg_unref(base_segs[i]);   /* base holds the only refs */

    /* A compaction: L0 run 9 (id 2) and L1 id 4 merge into two new L1 segments; a trivial
     * move shifts id 5 to L2 (deleted from L1, re-added in L2 as a new segment object). */
    version_edit e;
    edit_init(&e);
    assert_int_equal(edit_delete_segment(&e, 0, 2), AM_OK);
    assert_int_equal(edit_delete_segment(&e, 1, 4), AM_OK);
    assert_int_equal(edit_delete_segment(&e, 1, 5), AM_OK);
    am_segment *add[] = {mkseg(7, 1, 1, 31, 45, 90), mkseg(6, 1, 1, 46, 80, 90),
                         mkseg(5, 2, 1, 61, 99, 40)};
    for (int i = 0; i < 3; i++) assert_int_equal(edit_add_segment(&e, &add[i]->d), AM_OK);

    am_version *v = version_apply(base, &e, add);
    assert_non_null(v);
    for (int i = 0; i < 3; i++) assert_int_equal(refs(add[i]), 2);
    /* The base is unchanged. */
    assert_int_equal(base->total_segs, 5);
    assert_int_equal(base->levels[0].nruns, 2);
    assert_int_equal(refs(base->levels[0].runs[1].segs[0]), 1);    /* id 2: only base */
    assert_int_equal(refs(base->levels[0].runs[0].segs[0]), 2);    /* id 1: both */

    uint64_t ids[16], *p = ids;
    version_foreach(v, collect, &p);
    uint64_t want[] = {1, 3, 7, 6, 5};
    assert_int_equal(p - ids, 5);
    assert_memory_equal(ids, want, sizeof want);
    assert_int_equal(v->levels[0].nruns, 1);
    assert_int_equal(v->levels[1].nruns, 1);
    assert_int_equal(v->levels[1].runs[0].nsegs, 3);
    assert_int_equal(v->levels[1].runs[0].max_seq, 90);
    assert_int_equal(v->levels[2].nsegs, 1);
    assert_int_equal(v->total_segs, 5);
    assert_int_equal(v->total_bytes, 5000 + 1 + 3 + 7 + 6 + 5);

    /* Applying an empty edit gives an equal version sharing every segment. */
    version_edit none;
    edit_init(&none);
    am_version *v2 = version_apply(v, &none, NULL);
    uint64_t ids2[16], *p2 = ids2;
    version_foreach(v2, collect, &p2);
    assert_int_equal(p2 - ids2, 5);
    assert_memory_equal(ids2, want, sizeof want);
    assert_int_equal(refs(add[0]), 3);
    version_unref(v2);

    version_unref(base);
    for (int i = 0; i < 3; i++) seg_unref(add[i]);
    assert_int_equal(refs(add[0]), 1);
    version_unref(v);
    edit_clear(&e);
}

/* Applying to an empty base, and deleting everything. */
static void test_apply_from_empty_to_empty(void **state)
{
    (void)state;
    am_version *empty = version_build(NULL, 0);
    version_edit e;
    edit_init(&e);
    am_segment *add[] = {mkseg(3, 0, 3, 0, 9, 5), mkseg(4, 0, 4, 0, 9, 6)};
    for (int i = 0; i < 2; i++) edit_add_segment(&e, &add[i]->d);
    am_version *v = version_apply(empty, &e, add);
    for (int i = 0; i < 2; i++) seg_unref(add[i]);
    assert_int_equal(v->levels[0].nruns, 2);
    assert_int_equal(v->levels[0].runs[0].id, 4);
    edit_clear(&e);
    edit_delete_segment(&e, 0, 3);
    edit_delete_segment(&e, 0, 4);
    am_version *v2 = version_apply(v, &e, NULL);
    assert_int_equal(v2->total_segs, 0);
    assert_int_equal(v2->levels[0].nruns, 0);
    version_unref(v);      /* frees both segments */
    version_unref(v2);
    version_unref(empty);
    edit_clear(&e);
}

/* Threads drop their references to versions sharing segments while the main thread
 * builds newer versions: every segment ends with exactly the main thread's reference. */

enum { THREADS = 4, VERSIONS = 200, SEGS = 16 };

typedef struct worker { am_version *v[VERSIONS]; am_segment **segs; } worker;

static void *drop_refs(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < VERSIONS; i++) {
        for (int k = 0; k < SEGS; k++) {
            seg_incref(w->segs[k]);
            seg_unref(w->segs[k]);
        }
        version_unref(w->v[i]);
    }
    return NULL;
}

static void test_concurrent_unref(void **state)
{
    (void)state;
    am_segment *segs[SEGS];
    for (int k = 0; k < SEGS; k++) segs[k] = mkseg((uint64_t)(k + 1), 1 + k % 3, 1, 10 * k, 10 * k + 5, 9);
    worker w[THREADS];
    am_version *v = version_build(segs, SEGS);
    version_edit none;
    edit_init(&none);
    for (int t = 0; t < THREADS; t++) {
        w[t].segs = segs;
        for (int i = 0; i < VERSIONS; i++) {
            version_ref(v);
            w[t].v[i] = v;
            if (i % 10 == 9) {           /* a newer version sharing every segment */
                am_version *nv = version_apply(v, &none, NULL);
                version_unref(v);
                v = nv;
            }
        }
    }
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&th[t], NULL, drop_refs, &w[t]);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    version_unref(v);
    for (int k = 0; k < SEGS; k++) {
        assert_int_equal(refs(segs[k]), 1);
        seg_unref(segs[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detached_segment),
        cmocka_unit_test(test_gone_at_last_ref_if_obsolete),
        cmocka_unit_test(test_build_empty),
        cmocka_unit_test(test_build_ordering),
        cmocka_unit_test(test_build_run_ties),
        cmocka_unit_test(test_run_find),
        cmocka_unit_test(test_run_find_single_key_segments),
        cmocka_unit_test(test_apply_add_delete),
        cmocka_unit_test(test_apply_from_empty_to_empty),
        cmocka_unit_test(test_concurrent_unref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
