/* test_histogram.c: the latency histogram (harness/histogram.h): every bucket at most 1%
 * wide and the buckets tiling 100 ns..100 s, the percentile rank definition on hand-worked
 * cases and at the p99.9x edges where floating point would miscount, percentiles within 1%
 * of the exact ones (uniform and random data against a sorted copy), clamping at both ends,
 * merge equal to recording both, empty and reset histograms, ascending percentiles and
 * buckets summing to the count. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../histogram.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Bucket layout facts the tests rely on (histogram.c explains them). */
#define NBUCKETS 3799u                          /* 100..255, then 128 per power of two */
#define TOP_LO (186ull << 29)                   /* the bucket holding HIST_MAX_NS */
#define TOP_HI (187ull << 29)

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Spread over 100 ns .. 100 s evenly per power of two: 100 * 2^e * (1 + f), e in 0..29. */
static uint64_t rng_latency(uint64_t *s)
{
    uint64_t r = rng_next(s);
    uint64_t v = (100ull << (r % 30)) + ((100ull << (r % 30)) * ((r >> 8) % 1024)) / 1024;
    return v > HIST_MAX_NS ? HIST_MAX_NS : v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* What hist_foreach reports, collected. */
typedef struct bucket {
    uint64_t lo, hi, count;
} bucket;

typedef struct buckets {
    bucket b[NBUCKETS + 1];
    size_t n;
} buckets;

static void collect(void *arg, uint64_t lo, uint64_t hi, uint64_t count)
{
    buckets *bs = arg;
    assert_true(bs->n < ARRAY_LEN(bs->b));
    bs->b[bs->n++] = (bucket){lo, hi, count};
}

static buckets *buckets_of(const histogram *h)
{
    buckets *bs = calloc(1, sizeof *bs);
    assert_non_null(bs);
    hist_foreach(h, collect, bs);
    return bs;
}

/* The bucket holding v, found through a histogram with v alone. */
static bucket bucket_of(histogram *scratch, uint64_t v)
{
    hist_reset(scratch);
    hist_record(scratch, v);
    buckets *bs = buckets_of(scratch);
    assert_int_equal(bs->n, 1);
    bucket b = bs->b[0];
    free(bs);
    return b;
}

/* Shape checks every histogram must pass: buckets ascending, disjoint, non-empty, each at
 * most 1% wide, summing to the count; percentiles ascending and never above max. */
static void check_shape(const histogram *h)
{
    buckets *bs = buckets_of(h);
    uint64_t total = 0, prev_hi = 0;
    for (size_t i = 0; i < bs->n; i++) {
        const bucket *b = &bs->b[i];
        assert_true(b->count > 0);
        assert_true(b->lo >= prev_hi);
        assert_true(b->lo < b->hi);
        assert_true((b->hi - b->lo) * 100 <= b->lo);
        total += b->count;
        prev_hi = b->hi;
    }
    assert_int_equal(total, hist_count(h));
    free(bs);

    static const double ps[] = {0.001, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95,
                                99.99, 99.999, 99.9999, 100};
    uint64_t prev = 0;
    for (size_t i = 0; i < ARRAY_LEN(ps); i++) {
        uint64_t v = hist_percentile(h, ps[i]);
        assert_true(v >= prev);
        assert_true(v <= hist_max(h));
        prev = v;
    }
}

static void test_new_free(void **state)
{
    (void)state;
    histogram *h = hist_new();
    assert_non_null(h);
    hist_free(h);
    hist_free(NULL);
}

static void no_call(void *arg, uint64_t lo, uint64_t hi, uint64_t count)
{
    (void)arg, (void)lo, (void)hi, (void)count;
    fail_msg("hist_foreach called fn on an empty histogram");
}

static void assert_empty(const histogram *h)
{
    assert_int_equal(hist_count(h), 0);
    assert_int_equal(hist_clamped_low(h), 0);
    assert_int_equal(hist_clamped_high(h), 0);
    assert_true(hist_mean(h) == 0.0);
    assert_int_equal(hist_min(h), 0);
    assert_int_equal(hist_max(h), 0);
    static const double ps[] = {0.0001, 50, 99, 99.99, 100};
    for (size_t i = 0; i < ARRAY_LEN(ps); i++)
        assert_int_equal(hist_percentile(h, ps[i]), 0);
    hist_foreach(h, no_call, NULL);
}

static void test_empty(void **state)
{
    (void)state;
    histogram *h = hist_new();
    assert_non_null(h);
    assert_empty(h);
    hist_free(h);
}

static void test_reset(void **state)
{
    (void)state;
    histogram *h = hist_new();
    assert_non_null(h);
    uint64_t seed = 7;
    for (int i = 0; i < 1000; i++)
        hist_record(h, rng_latency(&seed));
    hist_record(h, 1);
    hist_record(h, UINT64_MAX);
    hist_reset(h);
    assert_empty(h);
    hist_record(h, 5000);                       /* min must not remember the 1 */
    assert_int_equal(hist_min(h), 5000);
    assert_int_equal(hist_max(h), 5000);
    assert_int_equal(hist_count(h), 1);
    hist_free(h);
}

/* Every bucket from HIST_MIN_NS up: starting at each bucket's upper edge finds the next
 * bucket, so this walks them all and proves they tile the range without gaps. */
static void test_every_bucket_within_1pct(void **state)
{
    (void)state;
    histogram *h = hist_new();
    assert_non_null(h);
    uint64_t v = HIST_MIN_NS, n = 0, worst_num = 0, worst_den = 1;
    bucket b = {0, 0, 0};
    while (v <= HIST_MAX_NS) {
        b = bucket_of(h, v);
        assert_int_equal(b.lo, v);              /* contiguous: starts where the last ended */
        assert_true(b.hi > b.lo);
        assert_int_equal(b.count, 1);
        uint64_t w = b.hi - b.lo;
        assert_true(w * 100 <= b.lo);           /* width <= 1% of the lower edge */
        if (b.lo >= 256)
            assert_true(w * 128 <= b.lo);       /* 0.78% above the 1 ns buckets */
        if (w * worst_den > worst_num * b.lo)
            worst_num = w, worst_den = b.lo;
        /* the last value of the bucket still falls in it */
        bucket last = bucket_of(h, b.hi - 1);
        assert_int_equal(last.lo, b.lo);
        assert_int_equal(last.hi, b.hi);
        v = b.hi;
        n++;
    }
    assert_int_equal(n, NBUCKETS);
    assert_int_equal(b.lo, TOP_LO);
    assert_int_equal(b.hi, TOP_HI);
    assert_int_equal(worst_num * 100, worst_den);   /* [100, 101): exactly 1% */
    hist_free(h);
}

/* One value: every percentile is that value (the bucket edge, capped at max). */
static void test_single_value(void **state)
{
    (void)state;
    static const struct {
        uint64_t v, lo, hi;                     /* the value and its bucket */
    } cases[] = {
        {100, 100, 101},
        {101, 101, 102},
        {255, 255, 256},
        {256, 256, 258},
        {1000, 1000, 1004},
        {12345, 12288, 12352},
        {1000000, 999424, 1003520},
        {123456789, 123207680, 123731968},
        {HIST_MAX_NS, TOP_LO, TOP_HI},
    };
    static const double ps[] = {0.0001, 1, 50, 90, 99, 99.9, 99.99, 100};
    histogram *h = hist_new();
    assert_non_null(h);
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        hist_reset(h);
        hist_record(h, cases[c].v);
        assert_int_equal(hist_count(h), 1);
        assert_int_equal(hist_min(h), cases[c].v);
        assert_int_equal(hist_max(h), cases[c].v);
        assert_true(hist_mean(h) == (double)cases[c].v);
        assert_int_equal(hist_clamped_low(h) + hist_clamped_high(h), 0);
        for (size_t i = 0; i < ARRAY_LEN(ps); i++)
            assert_int_equal(hist_percentile(h, ps[i]), cases[c].v);
        buckets *bs = buckets_of(h);
        assert_int_equal(bs->n, 1);
        assert_int_equal(bs->b[0].lo, cases[c].lo);
        assert_int_equal(bs->b[0].hi, cases[c].hi);
        assert_int_equal(bs->b[0].count, 1);
        free(bs);
    }
    hist_free(h);
}

/* The definition: rank r = ceil(p / 100 * count) (clamped to 1..count), answer the upper
 * edge of the first bucket whose cumulative count reaches r, capped at max. Values 1000,
 * 2000, 3000, 4000 lie in [1000,1004) [2000,2008) [2992,3008) [4000,4016). */
static void test_rank_definition(void **state)
{
    (void)state;
    static const struct {
        double p;
        uint64_t want;
    } cases[] = {
        {0.0001, 1004}, {10, 1004}, {25, 1004},         /* rank 1 */
        {25.000001, 2008}, {50, 2008},                  /* rank 2 */
        {50.1, 3008}, {75, 3008},                       /* rank 3 */
        {75.5, 4000}, {99.99, 4000}, {100, 4000},       /* rank 4: 4016 capped at max */
        {1e-9, 1004},                                   /* rounds to 0: still rank 1 */
        {0, 1004}, {-3, 1004}, {NAN, 1004},             /* outside (0, 100]: clamped */
        {100.5, 4000}, {INFINITY, 4000},
    };
    histogram *h = hist_new();
    assert_non_null(h);
    for (uint64_t v = 1000; v <= 4000; v += 1000)
        hist_record(h, v);
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        uint64_t got = hist_percentile(h, cases[c].p);
        if (got != cases[c].want)
            fail_msg("p%g: got %llu, want %llu", cases[c].p, (unsigned long long)got,
                     (unsigned long long)cases[c].want);
    }
    check_shape(h);
    hist_free(h);
}

/* n - big values of 1000 and big of 1e6, p = 100 * (n - big) / n: rank n - big exactly,
 * which must answer the 1000 bucket; a millionth of a percent more must answer 1e6.
 * Computing p / 100 * n in floating point lands on either side of n - big for some. */
static void test_rank_at_the_tail(void **state)
{
    (void)state;
    static const struct {
        double p, above;
        uint64_t n, big;                        /* big: how many values of 1e6 */
    } cases[] = {
        {50, 50.000001, 2, 1},
        {90, 90.000001, 10, 1},
        {99, 99.000001, 100, 1},
        {99.9, 99.900001, 1000, 1},
        {99.99, 99.990001, 10000, 1},
        {99.999, 99.999001, 100000, 1},
        {99.9999, 99.999901, 1000000, 1},
        {99.97, 99.970001, 10000, 3},
        {99.93, 99.930001, 10000, 7},
        {33.3, 33.300001, 1000, 667},
        /* p * 1e6 falls just below an integer in binary: p must round, not truncate */
        {1, 1.000001, 1000000, 990000},
        {0.25, 0.250001, 1000000, 997500},
    };
    histogram *h = hist_new();
    assert_non_null(h);
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        hist_reset(h);
        for (uint64_t i = 0; i < cases[c].n - cases[c].big; i++)
            hist_record(h, 1000);
        for (uint64_t i = 0; i < cases[c].big; i++)
            hist_record(h, 1000000);
        uint64_t at = hist_percentile(h, cases[c].p);
        uint64_t above = hist_percentile(h, cases[c].above);
        if (at != 1004 || above != 1000000)
            fail_msg("n %llu p%g: got %llu and %llu above, want 1004 and 1000000",
                     (unsigned long long)cases[c].n, cases[c].p, (unsigned long long)at,
                     (unsigned long long)above);
    }
    hist_free(h);
}

/* 1 us, 2 us, ... 1 s: the exact percentile of rank r is r microseconds. */
static void test_uniform_within_1pct(void **state)
{
    (void)state;
    const uint64_t n = 1000000;
    static const struct {
        double p;
        uint64_t num, den;                      /* p / 100 as an exact fraction */
    } ps[] = {
        {0.01, 1, 10000}, {1, 1, 100}, {10, 1, 10}, {25, 1, 4}, {33.3, 333, 1000},
        {50, 1, 2}, {66.6, 666, 1000}, {90, 9, 10}, {99, 99, 100}, {99.9, 999, 1000},
        {99.99, 9999, 10000}, {99.999, 99999, 100000}, {99.9999, 999999, 1000000},
        {100, 1, 1},
    };
    histogram *h = hist_new();
    assert_non_null(h);
    for (uint64_t i = 1; i <= n; i++)
        hist_record(h, i * 1000);
    assert_int_equal(hist_count(h), n);
    assert_int_equal(hist_min(h), 1000);
    assert_int_equal(hist_max(h), 1000000000);
    assert_true(hist_mean(h) == 500000500.0);   /* exact: the sum is kept in integers */
    for (size_t i = 0; i < ARRAY_LEN(ps); i++) {
        uint64_t rank = (ps[i].num * n + ps[i].den - 1) / ps[i].den;
        uint64_t exact = rank * 1000;
        uint64_t got = hist_percentile(h, ps[i].p);
        if (got < exact || got * 100 > exact * 101)
            fail_msg("p%g: got %llu, exact %llu", ps[i].p, (unsigned long long)got,
                     (unsigned long long)exact);
    }
    check_shape(h);
    hist_free(h);
}

/* Random latencies over the whole range against a sorted copy: every percentile on a fine
 * grid is an upper bound within 1% of the exact value of its rank; the mean is exact. */
static void test_random_against_sorted(void **state)
{
    (void)state;
    const size_t n = 200000;
    uint64_t *vals = malloc(n * sizeof *vals);
    histogram *h = hist_new();
    assert_non_null(vals);
    assert_non_null(h);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < n; i++) {
        vals[i] = rng_latency(&seed);
        sum += vals[i];
        hist_record(h, vals[i]);
    }
    qsort(vals, n, sizeof *vals, cmp_u64);
    assert_int_equal(hist_min(h), vals[0]);
    assert_int_equal(hist_max(h), vals[n - 1]);
    assert_int_equal(hist_clamped_low(h) + hist_clamped_high(h), 0);
    assert_true(hist_mean(h) == (double)sum / (double)n);
    /* p = k / 10000 percent: every 397th k up to p99.9, then every k to p100 */
    for (uint64_t k = 1; k <= 1000000; k += (k < 999000 ? 397 : 1)) {
        double p = (double)k / 10000.0;
        uint64_t rank = (k * n + 1000000 - 1) / 1000000;
        uint64_t exact = vals[rank - 1];
        uint64_t got = hist_percentile(h, p);
        if (got < exact || got * 100 > exact * 101)
            fail_msg("p%g rank %llu: got %llu, exact %llu", p, (unsigned long long)rank,
                     (unsigned long long)got, (unsigned long long)exact);
    }
    check_shape(h);
    free(vals);
    hist_free(h);
}

static void test_clamping(void **state)
{
    (void)state;
    histogram *h = hist_new();
    assert_non_null(h);

    /* 50 ns: clamped low, counted in the lowest bucket; min, max and mean stay true. */
    hist_record(h, 50);
    assert_int_equal(hist_count(h), 1);
    assert_int_equal(hist_clamped_low(h), 1);
    assert_int_equal(hist_clamped_high(h), 0);
    assert_int_equal(hist_min(h), 50);
    assert_int_equal(hist_max(h), 50);
    assert_true(hist_mean(h) == 50.0);
    assert_int_equal(hist_percentile(h, 50), 50);   /* 101, capped at max */
    buckets *bs = buckets_of(h);
    assert_int_equal(bs->n, 1);
    assert_int_equal(bs->b[0].lo, 100);
    assert_int_equal(bs->b[0].hi, 101);
    assert_int_equal(bs->b[0].count, 1);
    free(bs);

    /* 200 s: clamped high, counted in the highest bucket; percentiles stop at its edge. */
    hist_reset(h);
    hist_record(h, 200000000000ull);
    assert_int_equal(hist_count(h), 1);
    assert_int_equal(hist_clamped_low(h), 0);
    assert_int_equal(hist_clamped_high(h), 1);
    assert_int_equal(hist_max(h), 200000000000ull);
    assert_int_equal(hist_min(h), 200000000000ull);
    assert_true(hist_mean(h) == 2e11);
    assert_int_equal(hist_percentile(h, 100), TOP_HI);
    bs = buckets_of(h);
    assert_int_equal(bs->n, 1);
    assert_int_equal(bs->b[0].lo, TOP_LO);
    assert_int_equal(bs->b[0].hi, TOP_HI);
    free(bs);

    /* The edges themselves are in range; one past them is not; 0 and 2^64-1 are safe. */
    static const struct {
        uint64_t v;
        int low, high;
    } cases[] = {
        {0, 1, 0}, {1, 1, 0}, {99, 1, 0}, {100, 0, 0}, {101, 0, 0},
        {HIST_MAX_NS - 1, 0, 0}, {HIST_MAX_NS, 0, 0}, {HIST_MAX_NS + 1, 0, 1},
        {UINT64_MAX, 0, 1},
    };
    for (size_t c = 0; c < ARRAY_LEN(cases); c++) {
        hist_reset(h);
        hist_record(h, cases[c].v);
        assert_int_equal(hist_clamped_low(h), cases[c].low);
        assert_int_equal(hist_clamped_high(h), cases[c].high);
        assert_int_equal(hist_min(h), cases[c].v);
        assert_int_equal(hist_max(h), cases[c].v);
        assert_true(hist_mean(h) == (double)cases[c].v);
        uint64_t in = cases[c].low ? HIST_MIN_NS : cases[c].high ? HIST_MAX_NS : cases[c].v;
        bs = buckets_of(h);
        assert_int_equal(bs->n, 1);
        assert_true(bs->b[0].lo <= in && in < bs->b[0].hi);
        free(bs);
    }

    /* Many huge values: the sum does not wrap. */
    hist_reset(h);
    for (int i = 0; i < 1000; i++)
        hist_record(h, UINT64_MAX);
    hist_record(h, 0);
    assert_int_equal(hist_clamped_high(h), 1000);
    assert_int_equal(hist_clamped_low(h), 1);
    assert_true(fabs(hist_mean(h) / ((double)UINT64_MAX * 1000.0 / 1001.0) - 1.0) < 1e-12);
    check_shape(h);
    hist_free(h);
}

static void assert_same(const histogram *a, const histogram *b)
{
    assert_int_equal(hist_count(a), hist_count(b));
    assert_int_equal(hist_clamped_low(a), hist_clamped_low(b));
    assert_int_equal(hist_clamped_high(a), hist_clamped_high(b));
    assert_int_equal(hist_min(a), hist_min(b));
    assert_int_equal(hist_max(a), hist_max(b));
    assert_true(hist_mean(a) == hist_mean(b));
    for (int k = 1; k <= 1000; k++)
        assert_int_equal(hist_percentile(a, k / 10.0), hist_percentile(b, k / 10.0));
    buckets *ba = buckets_of(a), *bb = buckets_of(b);
    assert_int_equal(ba->n, bb->n);
    assert_memory_equal(ba->b, bb->b, ba->n * sizeof ba->b[0]);
    free(ba);
    free(bb);
}

/* Merging equals recording both, clamped values, min and max included; merging an empty
 * histogram changes nothing and merging into one copies. */
static void test_merge(void **state)
{
    (void)state;
    histogram *a = hist_new(), *b = hist_new(), *both = hist_new(), *empty = hist_new();
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(both);
    assert_non_null(empty);
    uint64_t seed = 12345;
    for (int i = 0; i < 50000; i++) {
        uint64_t r = rng_next(&seed);
        uint64_t v = r % 50 == 0 ? 10 + (r >> 8) % 90 : r % 50 == 1 ? HIST_MAX_NS + (r >> 20)
                                                         : rng_latency(&seed);
        hist_record(i % 3 ? a : b, v);
        hist_record(both, v);
    }
    hist_record(b, 7);                          /* the overall min and max live in b */
    hist_record(both, 7);
    hist_record(b, UINT64_MAX);
    hist_record(both, UINT64_MAX);
    assert_true(hist_min(a) > 7);

    hist_merge(a, b);
    assert_same(a, both);
    hist_merge(a, empty);
    assert_same(a, both);
    hist_merge(empty, a);
    assert_same(empty, both);
    check_shape(a);
    hist_free(a);
    hist_free(b);
    hist_free(both);
    hist_free(empty);
}

/* Ascending percentiles and buckets summing to the count, on a few shapes of data. */
static void test_shapes(void **state)
{
    (void)state;
    histogram *h = hist_new();
    assert_non_null(h);
    uint64_t seed = 99;
    for (int shape = 0; shape < 4; shape++) {
        hist_reset(h);
        for (int i = 0; i < 20000; i++) {
            uint64_t r = rng_next(&seed);
            switch (shape) {
            case 0: hist_record(h, 1000 + r % 64); break;                   /* narrow */
            case 1: hist_record(h, i % 100 ? 2000 : 5000000); break;        /* bimodal */
            case 2: hist_record(h, rng_latency(&seed)); break;              /* wide */
            case 3: hist_record(h, r % 4 == 0 ? r : r % 200); break;        /* clamped */
            }
        }
        check_shape(h);
        uint64_t p50 = hist_percentile(h, 50), p90 = hist_percentile(h, 90),
                 p99 = hist_percentile(h, 99), p999 = hist_percentile(h, 99.9),
                 p9999 = hist_percentile(h, 99.99);
        assert_true(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= p9999);
        assert_true(p9999 <= hist_max(h));
        if (shape == 1) {
            assert_int_equal(p50, 2008);        /* [2000, 2008) */
            assert_int_equal(p99, 2008);        /* rank 19800 of 20000: 99% are 2000 */
            assert_int_equal(hist_percentile(h, 99.01), 5000000);   /* capped at max */
        }
    }
    hist_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_free),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_every_bucket_within_1pct),
        cmocka_unit_test(test_single_value),
        cmocka_unit_test(test_rank_definition),
        cmocka_unit_test(test_rank_at_the_tail),
        cmocka_unit_test(test_uniform_within_1pct),
        cmocka_unit_test(test_random_against_sorted),
        cmocka_unit_test(test_clamping),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
