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

/* ---- a sorted array as an internal iterator (test only) ---- */
typedef struct ent {
    char k[24]; size_t kn;   /* internal key */
    char v[16]; size_t vn;
} ent;

typedef struct arr_iter {
    am_iiter base;
    const ent *e;            /* borrowed, sorted */
    size_t n, pos;
    int status;              /* reported once the end is reached */
} arr_iter;

static void a_seek_first(am_iiter *it) { ((arr_iter *)it)->pos = 0; }
static void a_seek(am_iiter *it, const char *k, size_t n)
{
    arr_iter *a = (arr_iter *)it;
    a->pos = 0;
    while (a->pos < a->n && ikey_cmp(a->e[a->pos].k, a->e[a->pos].kn, k, n) < 0) a->pos++;
}
static void a_next(am_iiter *it) { ((arr_iter *)it)->pos++; }
static int a_valid(const am_iiter *it)
{
    const arr_iter *a = (const arr_iter *)it;
    return a->pos < a->n;
}
static const char *a_key(const am_iiter *it, size_t *n)
{
    const arr_iter *a = (const arr_iter *)it;
    *n = a->e[a->pos].kn;
    return a->e[a->pos].k;
}
static const char *a_value(const am_iiter *it, size_t *n)
{
    const arr_iter *a = (const arr_iter *)it;
    *n = a->e[a->pos].vn;
    return a->e[a->pos].v;
}
static int a_status(const am_iiter *it)
{
    const arr_iter *a = (const arr_iter *)it;
    return a->pos >= a->n ? a->status : AM_OK;
}
static void a_destroy(am_iiter *it) { free(it); }
static const am_iiter_ops arr_ops = { a_seek_first, a_seek, a_next, a_valid,
                                      a_key, a_value, a_status, a_destroy };

static am_iiter *arr_iter_new(const ent *e, size_t n, int status)
{
    arr_iter *a = calloc(1, sizeof(*a));
    assert_non_null(a);
    a->base.ops = &arr_ops;
    a->e = e;
    a->n = n;
    a->pos = n;
    a->status = status;
    return &a->base;
}

static void make_ent(ent *e, unsigned key, uint64_t seq, int kind)
{
    char uk[16];
    int n = snprintf(uk, sizeof(uk), "k%05u", key);
    ikey_build(e->k, uk, (size_t)n, seq, kind);
    e->kn = (size_t)n + 8;
    e->vn = (size_t)snprintf(e->v, sizeof(e->v), "v%llu", (unsigned long long)seq);
}

static int cmp_ent(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    return ikey_cmp(x->k, x->kn, y->k, y->kn);
}

/* Walks it from its current position and checks it yields ref[from..n). */
static void expect_rest(am_iiter *it, const ent *ref, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        assert_true(iter_valid(it));
        size_t kn, vn;
        const char *k = iter_key(it, &kn), *v = iter_value(it, &vn);
        assert_int_equal(kn, ref[i].kn);
        assert_memory_equal(k, ref[i].k, kn);
        assert_int_equal(vn, ref[i].vn);
        assert_memory_equal(v, ref[i].v, vn);
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
            qsort(parts[c], cnt[c], sizeof(ent), cmp_ent);
            kids[c] = arr_iter_new(parts[c], cnt[c], AM_OK);
        }
        qsort(all, total, sizeof(ent), cmp_ent);

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
    kids[0] = arr_iter_new(a, 3, AM_OK);
    kids[1] = arr_iter_new(b, 1, AM_ERR_CORRUPT);    /* fails after its one entry */
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
