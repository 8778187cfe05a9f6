/* test_merging_iter.c: the merging iterator (compact/merge.h) against a sorted reference:
 * random children, seek_first and seek, empty and failing children. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/merge.h"
#include "util/ikey.h"
#include "testutil.h"
#include "testutil_iter.h"

/* ---- entries (testutil_iter.h: an array of them is an internal iterator) ---- */
typedef tu_ent ent;

static void make_ent(ent *e, unsigned key, uint64_t seq, int kind)
{
    char uk[16];
    int n = snprintf(uk, sizeof(uk), "k%05u", key);
    ikey_build(e->k, uk, (size_t)n, seq, kind);
    e->kn = (size_t)n + 8;
    e->vn = (size_t)snprintf(e->v, sizeof(e->v), "v%llu", (unsigned long long)seq);
}

/* Walks it from its current position and checks it yields ref[from..n). */
static void expect_rest(am_iiter *it, const ent *ref, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        tu_expect_iter_at(it, ref[i].k, ref[i].kn, ref[i].v, ref[i].vn);
        iter_next(it);
    }
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_OK);
}

static void test_random_children(void **state)
{
    (void)state;
    tu_rng rng = { 42 };
    for (int round = 0; round < 200; round++) {
        size_t nchild = tu_below(&rng, 9);            /* 0..8 children */
        size_t total = tu_below(&rng, 300);
        ent *all = malloc((total ? total : 1) * sizeof(*all));
        ent **parts = calloc(nchild ? nchild : 1, sizeof(*parts));
        size_t *cnt = calloc(nchild ? nchild : 1, sizeof(*cnt));
        size_t *who = malloc((total ? total : 1) * sizeof(*who));
        assert_true(all && parts && cnt && who);
        if (!nchild) total = 0;
        /* Unique sequence numbers keep every internal key distinct; a small key space
           makes many versions of one user key land in different children. */
        for (size_t i = 0; i < total; i++) {
            make_ent(&all[i], (unsigned)tu_below(&rng, 40), i + 1,
                     tu_below(&rng, 4) ? AM_KIND_VALUE : AM_KIND_DELETE);
            who[i] = tu_below(&rng, nchild);
            cnt[who[i]]++;
        }
        for (size_t c = 0; c < nchild; c++) {
            parts[c] = malloc((cnt[c] ? cnt[c] : 1) * sizeof(ent));
            assert_non_null(parts[c]);
            cnt[c] = 0;
        }
        for (size_t i = 0; i < total; i++) parts[who[i]][cnt[who[i]]++] = all[i];
        am_iiter **kids = malloc((nchild ? nchild : 1) * sizeof(*kids));
        assert_non_null(kids);
        for (size_t c = 0; c < nchild; c++) {
            qsort(parts[c], cnt[c], sizeof(ent), tu_ent_cmp);
            kids[c] = tu_arr_iter_new(parts[c], cnt[c]);
        }
        qsort(all, total, sizeof(ent), tu_ent_cmp);

        am_iiter *m = merging_iter_new(kids, nchild);
        assert_non_null(m);
        assert_false(iter_valid(m));                  /* not positioned yet */
        iter_seek_first(m);
        expect_rest(m, all, 0, total);

        /* Seeks: to existing keys, to lookup keys between versions, past the end. */
        for (int s = 0; s < 20; s++) {
            ent probe;
            make_ent(&probe, (unsigned)tu_below(&rng, 42), tu_below(&rng, total + 2),
                     AM_KIND_MAX);
            size_t lb = 0;
            while (lb < total && ikey_cmp(all[lb].k, all[lb].kn, probe.k, probe.kn) < 0) lb++;
            iter_seek(m, probe.k, probe.kn);
            expect_rest(m, all, lb, total);
        }
        iter_free(m);
        for (size_t c = 0; c < nchild; c++) free(parts[c]);
        free(parts); free(cnt); free(who); free(all);
    }
}

static void test_failing_child_stops(void **state)
{
    (void)state;
    ent a[3], b[1];
    make_ent(&a[0], 1, 5, AM_KIND_VALUE);
    make_ent(&a[1], 2, 6, AM_KIND_VALUE);
    make_ent(&a[2], 3, 7, AM_KIND_VALUE);
    make_ent(&b[0], 0, 9, AM_KIND_VALUE);
    am_iiter **kids = malloc(2 * sizeof(*kids));
    assert_non_null(kids);
    kids[0] = tu_arr_iter_new(a, 3);
    kids[1] = tu_arr_iter_failing(b, 1, 1, AM_ERR_CORRUPT);   /* fails after its one entry */
    am_iiter *m = merging_iter_new(kids, 2);
    assert_non_null(m);
    iter_seek_first(m);
    assert_true(iter_valid(m));
    size_t kn;
    const char *k = iter_key(m, &kn);
    assert_memory_equal(k, b[0].k, kn);
    iter_next(m);                                     /* the failing child runs out */
    assert_false(iter_valid(m));
    assert_int_equal(iter_status(m), AM_ERR_CORRUPT);
    iter_free(m);
}

static void test_empty_iter(void **state)
{
    (void)state;
    am_iiter *e = iter_new_empty(AM_OK);
    assert_non_null(e);
    iter_seek_first(e);
    assert_false(iter_valid(e));
    assert_int_equal(iter_status(e), AM_OK);
    iter_free(e);
    e = iter_new_empty(AM_ERR_IO);
    assert_non_null(e);
    assert_int_equal(iter_status(e), AM_ERR_IO);
    /* An empty child with an error poisons the merge. */
    am_iiter **kids = malloc(sizeof(*kids));
    assert_non_null(kids);
    kids[0] = e;
    am_iiter *m = merging_iter_new(kids, 1);
    assert_non_null(m);
    iter_seek_first(m);
    assert_false(iter_valid(m));
    assert_int_equal(iter_status(m), AM_ERR_IO);
    iter_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_children),
        cmocka_unit_test(test_failing_child_stops),
        cmocka_unit_test(test_empty_iter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
