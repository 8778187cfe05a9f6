/* test_bloom.c: the bloom filter: no false negatives, a false-positive rate near theory at
 * 10 bits per key, the encoding (bit array + k byte), and malformed filters matching. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "sst/bloom.h"
#include "util/hash.h"
#include "testutil.h"

static uint64_t key_hash(const char *prefix, uint64_t i)
{
    char k[40];
    int n = snprintf(k, sizeof k, "%s%010llu", prefix, (unsigned long long)i);
    return am_hash64(k, (size_t)n);
}

/* Builds a filter over n keys "key-%010d" and returns the false-positive rate measured on
 * probes disjoint keys; fails on any false negative. */
static double fp_rate(size_t n, int bits_per_key, size_t probes, size_t *filter_len)
{
    uint64_t *h = malloc((n ? n : 1) * sizeof *h);
    assert_non_null(h);
    for (size_t i = 0; i < n; i++) h[i] = key_hash("key-", i);
    am_buf f;
    buf_init(&f);
    assert_int_equal(bloom_build(h, n, bits_per_key, &f), AM_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(bloom_may_match(f.data, f.len, h[i]));
    size_t fp = 0;
    for (size_t i = 0; i < probes; i++)
        fp += (size_t)bloom_may_match(f.data, f.len, key_hash("other-", i));
    if (filter_len) *filter_len = f.len;
    buf_free(&f);
    free(h);
    return (double)fp / (double)probes;
}

static void test_fp_rate_10_bits(void **state)
{
    (void)state;
    size_t len;
    double r = fp_rate(100000, 10, 100000, &len);
    print_message("bloom: 100k keys, 10 bits/key: %zu bytes, fp rate %.4f%%\n", len, r * 100);
    assert_int_equal(len, 100000 * 10 / 8 + 1);
    assert_true(r >= 0.005 && r <= 0.02);
}

/* Data-driven: bits per key -> largest acceptable fp rate (theory times ~1.5). */
static void test_fp_rate_table(void **state)
{
    (void)state;
    static const struct { int bpk; double max; } cases[] = {
        { 1, 0.70 }, { 4, 0.22 }, { 8, 0.035 }, { 16, 0.0012 }, { 20, 0.0002 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double r = fp_rate(20000, cases[i].bpk, 50000, NULL);
        print_message("bloom: %d bits/key: fp rate %.4f%%\n", cases[i].bpk, r * 100);
        assert_true(r <= cases[i].max);
    }
}

static void test_small_and_empty(void **state)
{
    (void)state;
    /* zero keys: 64 bits (the minimum) and nothing matches */
    am_buf f;
    buf_init(&f);
    assert_int_equal(bloom_build(NULL, 0, 10, &f), AM_OK);
    assert_int_equal(f.len, 9);
    assert_int_equal((unsigned char)f.data[8], 7);   /* k = round(10 ln 2) */
    size_t hits = 0;
    for (uint64_t i = 0; i < 1000; i++) hits += (size_t)bloom_may_match(f.data, f.len, key_hash("x", i));
    assert_int_equal(hits, 0);
    buf_free(&f);

    /* a few keys: each found */
    for (size_t n = 1; n < 50; n++) fp_rate(n, 10, 10, NULL);

    /* the filter appends to what the buffer holds */
    buf_init(&f);
    assert_int_equal(buf_append(&f, "abc", 3), AM_OK);
    uint64_t h = key_hash("k", 1);
    assert_int_equal(bloom_build(&h, 1, 10, &f), AM_OK);
    assert_memory_equal(f.data, "abc", 3);
    assert_true(bloom_may_match(f.data + 3, f.len - 3, h));
    buf_free(&f);

    /* k is clamped to 1..30 */
    buf_init(&f);
    assert_int_equal(bloom_build(&h, 1, 100, &f), AM_OK);
    assert_int_equal((unsigned char)f.data[f.len - 1], 30);
    buf_clear(&f);
    assert_int_equal(bloom_build(&h, 1, 1, &f), AM_OK);
    assert_int_equal((unsigned char)f.data[f.len - 1], 1);
    buf_clear(&f);
    assert_int_equal(bloom_build(&h, 1, 0, &f), AM_ERR_INVALID);
    buf_free(&f);
}

static void test_malformed_filter_matches(void **state)
{
    (void)state;
    char f[16] = { 0 };
    uint64_t h = 12345;
    assert_true(bloom_may_match(f, 0, h));
    assert_true(bloom_may_match(f, 1, h));
    f[15] = 0;                        /* k = 0 */
    assert_true(bloom_may_match(f, 16, h));
    f[15] = 31;                       /* k too large */
    assert_true(bloom_may_match(f, 16, h));
    f[15] = 5;                        /* a valid, empty filter */
    assert_false(bloom_may_match(f, 16, h));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp_rate_10_bits),
        cmocka_unit_test(test_fp_rate_table),
        cmocka_unit_test(test_small_and_empty),
        cmocka_unit_test(test_malformed_filter_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
