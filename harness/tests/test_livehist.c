/* test_livehist.c: the live histogram of the timeline. Its buckets are histogram.c's
 * (same percentile for the same data, but for the cap at the true maximum); collecting
 * differences counts every record in exactly one interval, also while a writer thread
 * records (run under ThreadSanitizer in `make tsan` via test_results' threads). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../histogram.h"
#include "../livehist.h"

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Log-uniform values over the whole range and beyond, both ends. */
static uint64_t value(uint64_t *s)
{
    uint64_t r = next(s);
    int bits = (int)(r % 40);
    return (r >> 8) & ((1ull << bits) - 1);
}

static void same_buckets_as_histogram(void **state)
{
    (void)state;
    livehist *lh = lh_new();
    histogram *h = hist_new();
    assert_non_null(lh);
    assert_non_null(h);
    uint64_t s = 12345, *prev = calloc(LH_NBUCKETS, 8), *delta = calloc(LH_NBUCKETS, 8);
    for (int i = 0; i < 200000; i++) {
        uint64_t v = value(&s);
        lh_record(lh, v);
        hist_record(h, v);
    }
    assert_int_equal(lh_collect(lh, prev, delta), 200000);
    static const double ps[] = { 0.001, 1, 10, 50, 90, 99, 99.9, 99.99, 99.999 };
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        uint64_t a = lh_percentile(delta, ps[i]), b = hist_percentile(h, ps[i]);
        /* hist_percentile caps at the true max; below it they agree exactly. */
        if (b < hist_max(h)) assert_int_equal(a, b);
        else assert_true(a >= b);
    }
    /* Values past 100 s were clamped into the top bucket [186 << 29, 187 << 29). */
    assert_int_equal(lh_percentile(delta, 100), 187ull << 29);
    free(prev);
    free(delta);
    lh_free(lh);
    hist_free(h);
}

static void intervals_count_each_record_once(void **state)
{
    (void)state;
    livehist *lh = lh_new();
    uint64_t *prev = calloc(LH_NBUCKETS, 8), *delta = calloc(LH_NBUCKETS, 8);
    assert_int_equal(lh_collect(lh, prev, delta), 0);
    assert_int_equal(lh_percentile(delta, 99), 0);          /* empty: 0 */
    for (int i = 0; i < 99; i++) lh_record(lh, 1000);
    lh_record(lh, 50000);
    assert_int_equal(lh_collect(lh, prev, delta), 100);
    assert_true(lh_percentile(delta, 99) >= 1000 && lh_percentile(delta, 99) <= 1010);
    assert_true(lh_percentile(delta, 100) >= 50000 && lh_percentile(delta, 100) <= 50500);
    memset(delta, 0, LH_NBUCKETS * 8);
    lh_record(lh, 7);                                        /* clamped to 100 ns */
    assert_int_equal(lh_collect(lh, prev, delta), 1);
    assert_int_equal(lh_percentile(delta, 50), 101);
    free(prev);
    free(delta);
    lh_free(lh);
}

typedef struct writer {
    livehist *lh;
    uint64_t n;
} writer;

static void *write_many(void *arg)
{
    writer *w = arg;
    uint64_t s = 99;
    for (uint64_t i = 0; i < w->n; i++) lh_record(w->lh, value(&s));
    return NULL;
}

static void collect_while_recording(void **state)
{
    (void)state;
    writer w = { lh_new(), 2000000 };
    uint64_t *prev = calloc(LH_NBUCKETS, 8), *delta = calloc(LH_NBUCKETS, 8);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_many, &w), 0);
    uint64_t seen = 0;
    for (int i = 0; i < 50; i++) {
        memset(delta, 0, LH_NBUCKETS * 8);
        seen += lh_collect(w.lh, prev, delta);
    }
    pthread_join(th, NULL);
    memset(delta, 0, LH_NBUCKETS * 8);
    seen += lh_collect(w.lh, prev, delta);
    assert_int_equal(seen, w.n);
    free(prev);
    free(delta);
    lh_free(w.lh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_buckets_as_histogram),
        cmocka_unit_test(intervals_count_each_record_once),
        cmocka_unit_test(collect_while_recording),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
