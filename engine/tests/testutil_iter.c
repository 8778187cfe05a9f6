/* testutil_iter.c: a sorted array of tu_ent as an internal iterator, and iterator checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "amethyst.h"
#include "util/ikey.h"
#include "testutil_iter.h"

int tu_ent_cmp(const void *a, const void *b)
{
    const tu_ent *x = a, *y = b;
    return ikey_cmp(x->k, x->kn, y->k, y->kn);
}

typedef struct arr_iter {
    am_iiter base;
    const tu_ent *e;           /* borrowed, sorted */
    size_t n, pos;             /* pos == n: not positioned, or past the end */
    size_t fail_at;            /* the position where it breaks (> n: never) */
    int status;                /* its status from fail_at on */
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
    return a->pos < a->n && a->pos < a->fail_at;
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
    return a->pos >= a->fail_at ? a->status : AM_OK;
}
static void a_destroy(am_iiter *it) { free(it); }
static const am_iiter_ops arr_ops = { a_seek_first, a_seek, a_next, a_valid,
                                      a_key, a_value, a_status, a_destroy };

am_iiter *tu_arr_iter_failing(const tu_ent *e, size_t n, size_t fail_at, int status)
{
    arr_iter *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->base.ops = &arr_ops;
    a->e = e;
    a->n = a->pos = n;
    a->fail_at = fail_at;
    a->status = status;
    return &a->base;
}

am_iiter *tu_arr_iter_new(const tu_ent *e, size_t n)
{
    return tu_arr_iter_failing(e, n, n + 1, AM_OK);
}

void tu_expect_iter_at(const am_iiter *it, const char *k, size_t kn, const char *v, size_t vn)
{
    assert_true(iter_valid(it));
    size_t gkn, gvn;
    const char *gk = iter_key(it, &gkn), *gv = iter_value(it, &gvn);
    assert_int_equal(gkn, kn);
    assert_memory_equal(gk, k, kn);
    assert_int_equal(gvn, vn);
    if (vn) assert_memory_equal(gv, v, vn);
}

void tu_expect_ents(const tu_ent *a, size_t na, const tu_ent *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].kn, b[i].kn);
        assert_memory_equal(a[i].k, b[i].k, a[i].kn);
        assert_int_equal(a[i].vn, b[i].vn);
        if (a[i].vn) assert_memory_equal(a[i].v, b[i].v, a[i].vn);
    }
}
