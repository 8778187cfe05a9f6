/* wl_testutil.h: small helpers for the workload tests (header-only, so the workload
 * tests link with nothing but libamethyst_workloads.a): drain a generator, temp files.
 * Include after <cmocka.h>. */
#ifndef AM_WL_TESTUTIL_H
#define AM_WL_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../wl_internal.h"

/* Builds a named workload; fails the test with the error text on failure. */
static inline void wt_build(const char *name, uint64_t keys, uint64_t ops, wl_workload *w)
{
    wl_params p = { .keys = keys, .value_size = 100, .ops = ops, .seed = 1 };
    char err[512];
    int rc = wl_build(name, &p, w, err, sizeof err);
    if (rc != 0) print_error("wl_build(%s): %s\n", name, err);
    assert_int_equal(rc, 0);
}

/* All ops of one thread's share of a phase into a malloc'd array (*n of them). */
static inline wl_op *wt_drain(const wl_workload *w, size_t phase, wl_keyspace *ks,
                              uint64_t seed, unsigned t, unsigned nt, uint64_t *n)
{
    wl_gen *g = wl_gen_new(w, phase, ks, seed, t, nt);
    assert_non_null(g);
    uint64_t total = wl_gen_total(g);
    wl_op *ops = malloc((total ? total : 1) * sizeof *ops);
    assert_non_null(ops);
    uint64_t i = 0;
    while (wl_gen_next(g, &ops[i])) {
        i++;
        assert_true(i <= total);
    }
    assert_int_equal(i, total);
    wl_op extra;
    assert_int_equal(wl_gen_next(g, &extra), 0);   /* stays done */
    wl_gen_free(g);
    *n = i;
    return ops;
}

/* A fresh temp file holding text; path goes to buf (cap >= 64). Fails the test on error. */
static inline const char *wt_write_temp(char *buf, size_t cap, const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, cap, "%s/wltest-XXXXXX.json", dir && *dir ? dir : "/tmp");
    int fd = mkstemps(buf, 5);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return buf;
}

#endif
