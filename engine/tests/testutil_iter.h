/* testutil_iter.h: entries that hold an internal key and a value inline, a sorted array of
 * them behind the internal-iterator interface (util/iter.h) for the tests that feed merges
 * and merging iterators, and checks of what an iterator shows. Include after <cmocka.h>. */
#ifndef AM_TESTUTIL_ITER_H
#define AM_TESTUTIL_ITER_H

#include <stddef.h>

#include "util/iter.h"

typedef struct tu_ent {
    char k[40]; size_t kn;     /* internal key: user key + 8-byte trailer (ikey.h) */
    char v[64]; size_t vn;
} tu_ent;

/* qsort comparator of tu_ent: internal-key order. */
int tu_ent_cmp(const void *a, const void *b);

/* An iterator over e[0..n), which must be sorted and outlive it (borrowed). Fails the
 * test on allocation failure. */
am_iiter *tu_arr_iter_new(const tu_ent *e, size_t n);
/* The same, but broken at position fail_at (<= n): from there on it is not valid and its
 * status is status (fail_at == n: it runs to the end and then reports status). */
am_iiter *tu_arr_iter_failing(const tu_ent *e, size_t n, size_t fail_at, int status);

/* Asserts it is valid and shows exactly internal key k[0..kn) and value v[0..vn). */
void tu_expect_iter_at(const am_iiter *it, const char *k, size_t kn, const char *v, size_t vn);
/* Asserts a[0..na) and b[0..nb) hold the same entries (keys and values) in order. */
void tu_expect_ents(const tu_ent *a, size_t na, const tu_ent *b, size_t nb);

#endif
