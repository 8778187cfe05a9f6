/* test_workloads.c: the built-in workloads against their definitions (shift exactly as
 * docs/workloads.md, YCSB mixes, the db_bench set), the thread split, determinism, key formats,
 * missing keys, values, and wl_build's errors. Fixed seeds throughout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>

#include "wl_testutil.h"

static void test_names(void **state)
{
    (void)state;
    static const char *const ops[OP_TYPES] = { "read", "read_missing", "update", "insert",
                                               "delete", "scan", "rmw" };
    for (int t = 0; t < OP_TYPES; t++) assert_string_equal(wl_op_name((wl_op_type)t), ops[t]);
    assert_string_equal(wl_op_name(OP_TYPES), "unknown");
    static const char *const ds[DIST_TYPES] = { "sequential", "uniform", "zipfian", "latest",
                                                "permutation" };
    for (int d = 0; d < DIST_TYPES; d++) assert_string_equal(wl_dist_name((wl_dist)d), ds[d]);
    assert_string_equal(wl_dist_name(DIST_TYPES), "unknown");
}

/* ---- shift ---- */

static void check_shift(uint64_t n)
{
    wl_workload w;
    wt_build("shift", n, 7 /* -ops does not apply */, &w);
    assert_string_equal(w.name, "shift");
    assert_int_equal(w.keys, n);
    assert_int_equal(w.nphases, 4);
    static const char *const names[] = { "write", "read", "write", "read-after-overwrites" };
    const uint64_t ops[] = { n + n / 2, n, n / 2, 3 * n };
    const wl_op_type type[] = { OP_UPDATE, OP_READ, OP_UPDATE, OP_READ };
    const double hi[] = { 1.0, 0.9, 1.0, 1.0 };
    for (int i = 0; i < 4; i++) {
        const wl_phase *ph = &w.phases[i];
        assert_string_equal(ph->name, names[i]);
        assert_int_equal(ph->ops, ops[i]);
        assert_int_equal(ph->dist, DIST_UNIFORM);
        assert_true(ph->range_lo == 0.0 && ph->range_hi == hi[i]);
        assert_int_equal(ph->sequential_fill, 0);
        assert_int_equal(ph->sequential_prefix, i == 0 ? n : 0);
        assert_int_equal(ph->value_size, 100);
        for (int t = 0; t < OP_TYPES; t++)
            assert_true(ph->mix.weight[t] == (t == (int)type[i] ? 1.0 : 0.0));
    }

    /* The streams: phase 1 = keys 0..n-1 inserted in order, then n/2 uniform updates. */
    wl_keyspace *ks = wl_keyspace_new(w.keys);
    uint64_t cnt;
    wl_op *o = wt_drain(&w, 0, ks, 11, 0, 1, &cnt);
    assert_int_equal(cnt, n + n / 2);
    for (uint64_t i = 0; i < n; i++) {
        assert_int_equal(o[i].type, OP_INSERT);
        assert_int_equal(o[i].key, i);
    }
    uint64_t maxk = 0;
    for (uint64_t i = n; i < cnt; i++) {
        assert_int_equal(o[i].type, OP_UPDATE);
        assert_true(o[i].key < n);
        maxk = o[i].key > maxk ? o[i].key : maxk;
    }
    assert_true(maxk > n * 9 / 10);
    free(o);
    /* Phase 2: n reads over exactly the first 90%: keys below 0.9 n, reaching its top. */
    uint64_t cut = (uint64_t)(0.9 * (double)n + 0.5);
    o = wt_drain(&w, 1, ks, 11, 0, 1, &cnt);
    assert_int_equal(cnt, n);
    maxk = 0;
    for (uint64_t i = 0; i < cnt; i++) {
        assert_int_equal(o[i].type, OP_READ);
        assert_true(o[i].key < cut);
        maxk = o[i].key > maxk ? o[i].key : maxk;
    }
    assert_true(maxk >= cut - cut / 50 - 1);
    free(o);
    /* Phases 3 and 4: uniform over all n keys. */
    for (size_t ph = 2; ph < 4; ph++) {
        o = wt_drain(&w, ph, ks, 11, 0, 1, &cnt);
        assert_int_equal(cnt, ops[ph]);
        maxk = 0;
        for (uint64_t i = 0; i < cnt; i++) {
            assert_int_equal(o[i].type, type[ph]);
            assert_true(o[i].key < n);
            maxk = o[i].key > maxk ? o[i].key : maxk;
        }
        assert_true(maxk > n * 95 / 100);
        free(o);
    }
    assert_int_equal(wl_keyspace_size(ks), n);   /* shift never grows the key space */
    wl_keyspace_free(ks);
    wl_free(&w);
}

static void test_shift_definition(void **state)
{
    (void)state;
    check_shift(10000);
    check_shift(1001);   /* odd: N/2 rounds down, 90% of 1001 is 901 keys */
    wl_workload w;
    wt_build("shift", 0, 0, &w);   /* defaults: N = 1,000,000, V = 256 */
    assert_int_equal(w.keys, 1000000);
    assert_int_equal(w.phases[0].ops, 1500000);
    assert_int_equal(w.phases[3].ops, 3000000);
    wl_free(&w);
    wl_params p = { 0 };
    char err[256];
    assert_int_equal(wl_build("shift", &p, &w, err, sizeof err), 0);
    assert_int_equal(w.phases[0].value_size, 256);
    wl_free(&w);
}

static void test_key_formats(void **state)
{
    (void)state;
    char buf[64];
    wl_workload w;
    wt_build("shift", 100, 0, &w);
    assert_int_equal(wl_key(&w, 0, buf), 14);
    assert_memory_equal(buf, "key-0000000000", 14);
    assert_int_equal(wl_key(&w, 999999, buf), 14);
    assert_memory_equal(buf, "key-0000999999", 14);
    assert_int_equal(wl_key(&w, 9999999999ull, buf), 14);
    assert_memory_equal(buf, "key-9999999999", 14);
    assert_int_equal(wl_key(&w, 12345678901ull, buf), 15);   /* wider than 10: all digits */
    assert_memory_equal(buf, "key-12345678901", 15);
    wl_free(&w);

    wt_build("ycsb-a", 100, 0, &w);
    assert_int_equal(w.key_format, KEYS_HASHED);
    /* "user" + YCSB's fnvhash64 in decimal (values from an independent implementation;
     * user6284781860667377211 is the first key of every YCSB load). */
    static const struct { uint64_t i; const char *key; } y[] = {
        { 0, "user6284781860667377211" },
        { 1, "user8517097267634966620" },
        { 42, "user55488592825689361" },
        { 999999, "user2744965632448235251" },
    };
    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) {
        size_t n = wl_key(&w, y[i].i, buf);
        assert_int_equal(n, strlen(y[i].key));
        assert_memory_equal(buf, y[i].key, n);
    }
    wl_free(&w);

    wt_build("readrandom", 100, 0, &w);   /* db_bench: 16 digits, no prefix */
    assert_int_equal(wl_key(&w, 42, buf), 16);
    assert_memory_equal(buf, "0000000000000042", 16);
    wl_free(&w);

    /* wl_put_decimal at the edges. */
    assert_int_equal(wl_put_decimal(buf, 0, 0), 1);
    assert_memory_equal(buf, "0", 1);
    assert_int_equal(wl_put_decimal(buf, UINT64_MAX, 3), 20);
    assert_memory_equal(buf, "18446744073709551615", 20);
    assert_int_equal(wl_put_decimal(buf, 7, 5), 5);
    assert_memory_equal(buf, "00007", 5);
    /* against printf("%0*llu") over random values of every magnitude and widths 0..30 */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t v = x >> (i % 64);
        int width = i % 31;
        char want[64];
        int m = snprintf(want, sizeof want, "%0*llu", width, (unsigned long long)v);
        size_t n = wl_put_decimal(buf, v, width);
        assert_int_equal(n, (size_t)m);
        assert_memory_equal(buf, want, n);
    }
}

static void test_missing_keys(void **state)
{
    (void)state;
    static const char *const names[] = { "shift", "readmissing", "ycsb-c" };
    for (size_t t = 0; t < 3; t++) {
        wl_workload w;
        wt_build(names[t], 1000, 0, &w);
        for (uint64_t i = 0; i + 1 < 1000; i++) {
            char k[64], m[64], next[64];
            size_t kn = wl_key(&w, i, k), mn = wl_missing_key(&w, i, m);
            size_t nn = wl_key(&w, i + 1, next);
            assert_int_equal(mn, kn + 1);
            assert_memory_equal(m, k, kn);            /* key i + "." */
            assert_null(memchr(k, '.', kn));          /* no key holds "." */
            /* keys are prefix + digits; a missing key is not */
            size_t pl = strlen(w.key_prefix), nondigit = 0;
            for (size_t c = pl; c < mn; c++) nondigit += m[c] < '0' || m[c] > '9';
            assert_true(nondigit > 0);
            assert_true(memcmp(m, k, kn) == 0 && mn > kn);   /* sorts after key i */
            if (w.key_format == KEYS_PADDED) {        /* ... and before key i + 1 */
                size_t c = mn < nn ? mn : nn;
                assert_true(memcmp(m, next, c) < 0);
            }
        }
        wl_free(&w);
    }
    /* readmissing draws below N - 1, so every missing key sorts inside [key 0, key N-1]. */
    wl_workload w;
    wt_build("readmissing", 50, 20000, &w);
    uint64_t cnt, maxk = 0;
    wl_op *o = wt_drain(&w, 0, NULL, 3, 0, 1, &cnt);
    for (uint64_t i = 0; i < cnt; i++) {
        assert_int_equal(o[i].type, OP_READ_MISSING);
        assert_true(o[i].key < 49);
        maxk = o[i].key > maxk ? o[i].key : maxk;
    }
    assert_int_equal(maxk, 48);
    free(o);
    wl_free(&w);
}

/* ---- YCSB ---- */

static void test_ycsb_definitions(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        wl_dist dist;
        double w[OP_TYPES];
    } y[] = {
        { "ycsb-a", DIST_ZIPFIAN, { [OP_READ] = 0.5, [OP_UPDATE] = 0.5 } },
        { "ycsb-b", DIST_ZIPFIAN, { [OP_READ] = 0.95, [OP_UPDATE] = 0.05 } },
        { "ycsb-c", DIST_ZIPFIAN, { [OP_READ] = 1.0 } },
        { "ycsb-d", DIST_LATEST, { [OP_READ] = 0.95, [OP_INSERT] = 0.05 } },
        { "ycsb-e", DIST_ZIPFIAN, { [OP_SCAN] = 0.95, [OP_INSERT] = 0.05 } },
        { "ycsb-f", DIST_ZIPFIAN, { [OP_READ] = 0.5, [OP_RMW] = 0.5 } },
    };
    const uint64_t n = 5000, ops = 200000;
    for (size_t i = 0; i < sizeof y / sizeof y[0]; i++) {
        wl_workload w;
        wt_build(y[i].name, n, ops, &w);
        assert_int_equal(w.nphases, 2);
        assert_int_equal(w.key_format, KEYS_HASHED);
        assert_string_equal(w.key_prefix, "user");
        /* load: N inserts in key-number order */
        const wl_phase *load = &w.phases[0], *run = &w.phases[1];
        assert_string_equal(load->name, "load");
        assert_int_equal(load->ops, n);
        assert_int_equal(load->sequential_fill, 1);
        wl_keyspace *ks = wl_keyspace_new(w.keys);
        uint64_t cnt;
        wl_op *o = wt_drain(&w, 0, ks, 5, 0, 1, &cnt);
        for (uint64_t k = 0; k < cnt; k++) {
            assert_int_equal(o[k].type, OP_INSERT);
            assert_int_equal(o[k].key, k);
        }
        free(o);
        assert_int_equal(wl_keyspace_size(ks), n);
        /* run: -ops operations of the mix, observed shares within 0.5% of the weights */
        assert_string_equal(run->name, "run");
        assert_int_equal(run->ops, ops);
        assert_int_equal(run->dist, y[i].dist);
        assert_true(run->zipf_theta == 0.99);
        for (int t = 0; t < OP_TYPES; t++) assert_true(run->mix.weight[t] == y[i].w[t]);
        o = wt_drain(&w, 1, ks, 5, 0, 1, &cnt);
        uint64_t by[OP_TYPES] = { 0 }, scan_sum = 0, scans = 0, len1 = 0, len100 = 0;
        for (uint64_t k = 0; k < cnt; k++) {
            by[o[k].type]++;
            assert_true(o[k].key < wl_keyspace_size(ks));
            if (o[k].type == OP_SCAN) {
                assert_true(o[k].scan_length >= 1 && o[k].scan_length <= 100);
                scan_sum += o[k].scan_length;
                scans++;
                len1 += o[k].scan_length == 1;
                len100 += o[k].scan_length == 100;
            } else {
                assert_int_equal(o[k].scan_length, 0);
            }
        }
        for (int t = 0; t < OP_TYPES; t++)
            assert_true(fabs((double)by[t] / (double)cnt - y[i].w[t]) < 0.005);
        /* inserts extend the key space by exactly their number */
        assert_int_equal(wl_keyspace_size(ks), n + by[OP_INSERT]);
        if (scans) {   /* E: scan length uniform in 1..100 */
            assert_true(fabs((double)scan_sum / (double)scans - 50.5) < 0.5);
            assert_true(len1 > scans / 200 && len100 > scans / 200);
        }
        free(o);
        wl_keyspace_free(ks);
        wl_free(&w);
    }
    /* -ops 0: the run phase has N operations. */
    wl_workload w;
    wt_build("ycsb-b", 777, 0, &w);
    assert_int_equal(w.phases[1].ops, 777);
    wl_free(&w);
}

/* ---- db_bench ---- */

static void test_dbbench_definitions(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        wl_op_type type;
        wl_dist dist;
        int takes_ops;
        uint32_t scan;
    } d[] = {
        { "fillseq", OP_INSERT, DIST_SEQUENTIAL, 0, 0 },
        { "fillrandom", OP_INSERT, DIST_PERMUTATION, 0, 0 },
        { "overwrite", OP_UPDATE, DIST_UNIFORM, 1, 0 },
        { "readrandom", OP_READ, DIST_UNIFORM, 1, 0 },
        { "readmissing", OP_READ_MISSING, DIST_UNIFORM, 1, 0 },
        { "readseq", OP_SCAN, DIST_SEQUENTIAL, 0, 1000 },
        { "seekrandom", OP_SCAN, DIST_UNIFORM, 1, 100 },
        { "deleterandom", OP_DELETE, DIST_UNIFORM, 1, 0 },
    };
    const uint64_t n = 2500;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        for (int with_ops = 0; with_ops < 2; with_ops++) {
            wl_workload w;
            wt_build(d[i].name, n, with_ops ? 321 : 0, &w);
            assert_int_equal(w.nphases, 1);
            const wl_phase *ph = &w.phases[0];
            assert_string_equal(ph->name, d[i].name);
            assert_int_equal(ph->dist, d[i].dist);
            assert_int_equal(w.key_digits, 16);
            assert_string_equal(w.key_prefix, "");
            uint64_t want = d[i].takes_ops && with_ops ? 321
                          : d[i].type == OP_SCAN && !d[i].takes_ops ? 3 : n;
            assert_int_equal(ph->ops, want);
            uint64_t cnt;
            wl_op *o = wt_drain(&w, 0, NULL, 8, 0, 1, &cnt);
            for (uint64_t k = 0; k < cnt; k++) {
                assert_int_equal(o[k].type, d[i].type);
                assert_true(o[k].key < n);
                if (d[i].scan && d[i].dist == DIST_UNIFORM)
                    assert_int_equal(o[k].scan_length, d[i].scan);
            }
            if (d[i].type == OP_INSERT && d[i].dist == DIST_SEQUENTIAL)
                for (uint64_t k = 0; k < cnt; k++) assert_int_equal(o[k].key, k);
            if (!strcmp(d[i].name, "readseq")) {
                /* scans of 1000 tile the keys: [0,1000) [1000,2000) [2000,2500) */
                assert_int_equal(cnt, 3);
                for (uint64_t k = 0; k < 3; k++) {
                    assert_int_equal(o[k].key, 1000 * k);
                    assert_int_equal(o[k].scan_length, k < 2 ? 1000 : 500);
                }
            }
            free(o);
            wl_free(&w);
        }
    }
}

/* fillrandom writes every key exactly once, in a random order, however many threads. */
static void test_fillrandom_permutation(void **state)
{
    (void)state;
    const uint64_t n = 100003;
    for (unsigned nt = 1; nt <= 4; nt += 3) {
        wl_workload w;
        wt_build("fillrandom", n, 0, &w);
        wl_keyspace *ks = wl_keyspace_new(w.keys);
        unsigned char *seen = calloc(n, 1);
        uint64_t ascents = 0, total = 0;
        for (unsigned t = 0; t < nt; t++) {
            uint64_t cnt;
            wl_op *o = wt_drain(&w, 0, ks, 99, t, nt, &cnt);
            for (uint64_t k = 0; k < cnt; k++) {
                assert_int_equal(o[k].type, OP_INSERT);
                assert_true(o[k].key < n);
                assert_int_equal(seen[o[k].key], 0);
                seen[o[k].key] = 1;
                ascents += k && o[k].key > o[k - 1].key;
            }
            total += cnt;
            free(o);
        }
        assert_int_equal(total, n);
        assert_int_equal(wl_keyspace_size(ks), n);   /* a fill does not grow the key space */
        assert_true(ascents > total * 45 / 100 && ascents < total * 55 / 100);
        free(seen);
        wl_keyspace_free(ks);
        wl_free(&w);
    }
}

static void test_comma_list(void **state)
{
    (void)state;
    wl_workload w;
    wt_build("fillrandom,readrandom,deleterandom,readrandom", 1000, 50, &w);
    assert_int_equal(w.nphases, 4);
    assert_string_equal(w.phases[0].name, "fillrandom");
    assert_string_equal(w.phases[1].name, "readrandom");
    assert_string_equal(w.phases[2].name, "deleterandom");
    assert_string_equal(w.phases[3].name, "readrandom");
    assert_int_equal(w.phases[0].ops, 1000);
    assert_int_equal(w.phases[1].ops, 50);
    wl_free(&w);

    char err[512];
    wl_params p = { .keys = 10 };
    static const char *const bad[] = { "fillrandom,shift", "fillseq,nope", "fillseq,",
                                       ",readrandom" };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(wl_build(bad[i], &p, &w, err, sizeof err), -1);
        assert_non_null(strstr(err, "comma lists take db_bench names only"));
        assert_int_equal(w.nphases, 0);
        assert_null(w.phases);
    }
}

/* ---- threads and determinism ---- */

static void test_thread_split(void **state)
{
    (void)state;
    static const uint64_t ops[] = { 0, 1, 2, 10, 1000003 };
    static const unsigned nts[] = { 1, 2, 3, 7, 64 };
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 5; j++) {
            uint64_t sum = 0;
            for (unsigned t = 0; t < nts[j]; t++) {
                uint64_t s = wl_thread_share(ops[i], t, nts[j]);
                assert_int_equal(s, ops[i] / nts[j] + (t < ops[i] % nts[j]));
                sum += s;
            }
            assert_int_equal(sum, ops[i]);
        }
    /* Through wl_gen, on every phase of shift with 3 threads. */
    wl_workload w;
    wt_build("shift", 1001, 0, &w);
    for (size_t ph = 0; ph < w.nphases; ph++) {
        uint64_t sum = 0;
        for (unsigned t = 0; t < 3; t++) {
            uint64_t cnt;
            free(wt_drain(&w, ph, NULL, 1, t, 3, &cnt));
            sum += cnt;
        }
        assert_int_equal(sum, w.phases[ph].ops);
    }
    /* fillseq with 4 threads: thread t loads keys t, t+4, t+8, ... */
    wl_free(&w);
    wt_build("fillseq", 1003, 0, &w);
    unsigned char seen[1003] = { 0 };
    for (unsigned t = 0; t < 4; t++) {
        uint64_t cnt;
        wl_op *o = wt_drain(&w, 0, NULL, 1, t, 4, &cnt);
        for (uint64_t k = 0; k < cnt; k++) {
            assert_int_equal(o[k].key, t + 4 * k);
            seen[o[k].key]++;
        }
        free(o);
    }
    for (int k = 0; k < 1003; k++) assert_int_equal(seen[k], 1);
    wl_free(&w);
}

/* The sequential rule: op j < prefix inserts key lo + j; op j >= prefix gets key
 * lo + ((j - prefix) * step mod span), step = the scan length for scan-only phases. */
static void test_sequential_rule(void **state)
{
    (void)state;
    wl_phase ph[2];
    wl_phase_defaults(&ph[0], "seq", 8);
    ph[0].dist = DIST_SEQUENTIAL;
    ph[0].mix.weight[OP_READ] = 1;
    ph[0].ops = 25;
    ph[0].sequential_prefix = 7;
    ph[0].range_lo = 0.2;                    /* keys 2..9 of 0..9 */
    ph[0].range_hi = 1.0;
    wl_phase_defaults(&ph[1], "scans", 8);
    ph[1].dist = DIST_SEQUENTIAL;
    ph[1].mix.weight[OP_SCAN] = 1;
    ph[1].ops = 6;
    ph[1].scan_min = ph[1].scan_max = 4;
    wl_workload w = { .name = "t", .nphases = 2, .phases = ph, .keys = 10,
                      .key_format = KEYS_PADDED, .key_prefix = "k", .key_digits = 4 };
    for (unsigned nt = 1; nt <= 3; nt++)
        for (unsigned t = 0; t < nt; t++) {
            uint64_t cnt;
            wl_op *o = wt_drain(&w, 0, NULL, 1, t, nt, &cnt);
            for (uint64_t k = 0; k < cnt; k++) {
                uint64_t j = t + k * nt;
                assert_int_equal(o[k].type, j < 7 ? OP_INSERT : OP_READ);
                assert_int_equal(o[k].key, 2 + (j < 7 ? j : (j - 7) % 8));
            }
            free(o);
            o = wt_drain(&w, 1, NULL, 1, t, nt, &cnt);
            for (uint64_t k = 0; k < cnt; k++) {
                uint64_t j = t + k * nt, start = j * 4 % 10;
                assert_int_equal(o[k].type, OP_SCAN);
                assert_int_equal(o[k].key, start);
                assert_int_equal(o[k].scan_length, start + 4 <= 10 ? 4 : 10 - start);
            }
            free(o);
        }
}

static int same_stream(const wl_workload *w, size_t ph, uint64_t s1, unsigned t1, uint64_t s2,
                       unsigned t2, uint64_t *differ)
{
    uint64_t c1, c2;
    wl_op *a = wt_drain(w, ph, NULL, s1, t1, 4, &c1);
    wl_op *b = wt_drain(w, ph, NULL, s2, t2, 4, &c2);
    *differ = 0;
    uint64_t c = c1 < c2 ? c1 : c2;
    for (uint64_t i = 0; i < c; i++)
        *differ += a[i].type != b[i].type || a[i].key != b[i].key ||
                   a[i].scan_length != b[i].scan_length;
    free(a);
    free(b);
    return c1 == c2 && *differ == 0;
}

static void test_determinism(void **state)
{
    (void)state;
    static const char *const names[] = { "shift", "ycsb-a", "ycsb-d", "ycsb-e", "fillrandom" };
    for (size_t i = 0; i < 5; i++) {
        wl_workload w;
        wt_build(names[i], 20000, 20000, &w);
        size_t ph = w.nphases - 1;
        uint64_t differ;
        assert_true(same_stream(&w, ph, 42, 1, 42, 1, &differ));
        /* another seed or another thread: a different stream almost everywhere */
        assert_false(same_stream(&w, ph, 42, 1, 43, 1, &differ));
        assert_true(differ > 5000 * 9 / 10 - 500);
        assert_false(same_stream(&w, ph, 42, 1, 42, 2, &differ));
        assert_true(differ > 5000 * 9 / 10 - 500);
        wl_free(&w);
    }
}

/* Threads inserting through one key space: every insert gets its own new number. */
typedef struct ins_arg {
    const wl_workload *w;
    wl_keyspace *ks;
    unsigned t, nt;
    uint64_t *keys;       /* inserted key numbers */
    uint64_t n;
} ins_arg;

static void *insert_thread(void *p)
{
    ins_arg *a = p;
    wl_gen *g = wl_gen_new(a->w, 1, a->ks, 17, a->t, a->nt);
    a->keys = malloc(wl_gen_total(g) * sizeof *a->keys);
    wl_op op;
    while (wl_gen_next(g, &op))
        if (op.type == OP_INSERT) a->keys[a->n++] = op.key;
    wl_gen_free(g);
    return NULL;
}

static void test_threads_share_key_space(void **state)
{
    (void)state;
    const uint64_t n = 1000;
    wl_workload w;
    wt_build("ycsb-d", n, 400000, &w);
    wl_keyspace *ks = wl_keyspace_new(n);
    enum { NT = 4 };
    pthread_t th[NT];
    ins_arg a[NT];
    for (unsigned t = 0; t < NT; t++) {
        a[t] = (ins_arg){ .w = &w, .ks = ks, .t = t, .nt = NT };
        assert_int_equal(pthread_create(&th[t], NULL, insert_thread, &a[t]), 0);
    }
    uint64_t total = 0;
    for (unsigned t = 0; t < NT; t++) {
        pthread_join(th[t], NULL);
        assert_non_null(a[t].keys);
        total += a[t].n;
    }
    assert_true(total > 400000 / 25);
    assert_int_equal(wl_keyspace_size(ks), n + total);
    unsigned char *seen = calloc(total, 1);
    for (unsigned t = 0; t < NT; t++) {
        for (uint64_t i = 0; i < a[t].n; i++) {
            uint64_t k = a[t].keys[i];
            assert_true(k >= n && k < n + total);
            assert_int_equal(seen[k - n]++, 0);
            if (i) assert_true(k > a[t].keys[i - 1]);   /* a thread's inserts ascend */
        }
        free(a[t].keys);
    }
    free(seen);
    wl_keyspace_free(ks);
    wl_free(&w);
}

static void test_gen_bad_args(void **state)
{
    (void)state;
    wl_workload w;
    wt_build("shift", 10, 0, &w);
    assert_null(wl_gen_new(&w, 4, NULL, 1, 0, 1));
    assert_null(wl_gen_new(&w, 0, NULL, 1, 0, 0));
    assert_null(wl_gen_new(&w, 0, NULL, 1, 2, 2));
    assert_null(wl_gen_new(NULL, 0, NULL, 1, 0, 1));
    wl_gen_free(NULL);
    wl_free(&w);
    wl_free(NULL);
}

/* ---- values ---- */

static void test_values(void **state)
{
    (void)state;
    static const size_t lens[] = { 0, 1, 7, 8, 9, 31, 32, 33, 100, 256, 4096 };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        char a[4096 + 8], b[4096 + 8], c[4096 + 8];
        memset(a, 0x5a, sizeof a);
        memset(b, 0x5a, sizeof b);
        wl_value(12, 3, a, n);
        wl_value(12, 3, b, n);
        assert_memory_equal(a, b, n);
        for (size_t k = n; k < sizeof a; k++) assert_int_equal((unsigned char)a[k], 0x5a);
        if (n >= 8) {
            wl_value(12, 4, c, n);
            assert_memory_not_equal(a, c, n);
            wl_value(13, 3, c, n);
            assert_memory_not_equal(a, c, n);
        }
        if (n == 4096) {   /* looks random: nearly every byte value appears */
            int hist[256] = { 0 }, distinct = 0;
            for (size_t k = 0; k < n; k++) distinct += hist[(unsigned char)a[k]]++ == 0;
            assert_true(distinct > 240);
        }
    }
}

/* ---- wl_build and wl_list ---- */

static void test_build_unknown_lists_valid(void **state)
{
    (void)state;
    wl_workload w;
    char err[1024];
    wl_params p = { .keys = 10 };
    assert_int_equal(wl_build("shfit", &p, &w, err, sizeof err), -1);
    static const char *const want[] = { "'shfit'", "shift", "ycsb-a", "ycsb-f", "fillseq",
                                        "fillrandom", "readseq", "deleterandom", "FILE.json" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(strstr(err, want[i]));
    assert_null(strchr(err, '\n'));
    assert_int_equal(w.nphases, 0);
    assert_int_equal(wl_build("", &p, &w, err, sizeof err), -1);
    assert_int_equal(wl_build(NULL, &p, &w, err, sizeof err), -1);
    assert_int_equal(wl_build("ycsb-g", &p, &w, err, sizeof err), -1);
    /* a small buffer truncates without overflow */
    char tiny[16];
    assert_int_equal(wl_build("nope", &p, &w, tiny, sizeof tiny), -1);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
}

static void emit(void *arg, const char *name, const char *desc)
{
    int *count = arg;
    assert_true(strlen(desc) > 10);
    if (strchr(name, ',') || strstr(name, ".json")) return;
    wl_workload w;
    wt_build(name, 100, 0, &w);
    assert_true(w.nphases >= 1);
    wl_free(&w);
    (*count)++;
}

static void test_list(void **state)
{
    (void)state;
    int count = 0;
    wl_list(emit, &count);
    assert_int_equal(count, 1 + 6 + 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_shift_definition),
        cmocka_unit_test(test_key_formats),
        cmocka_unit_test(test_missing_keys),
        cmocka_unit_test(test_ycsb_definitions),
        cmocka_unit_test(test_dbbench_definitions),
        cmocka_unit_test(test_fillrandom_permutation),
        cmocka_unit_test(test_comma_list),
        cmocka_unit_test(test_thread_split),
        cmocka_unit_test(test_sequential_rule),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_threads_share_key_space),
        cmocka_unit_test(test_gen_bad_args),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_build_unknown_lists_valid),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
