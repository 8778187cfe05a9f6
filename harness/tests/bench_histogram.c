/* bench_histogram.c: what hist_record costs. Records N values (default 100 million; argv[1]
 * overrides) into one histogram and prints nanoseconds per record for a few value
 * patterns, next to the cost of calling a function that does nothing. Values come from a
 * precomputed table (8 KiB), so the generator is not measured. Not part of `make test`;
 * `make bench-histogram` builds and runs it (build/rel/bench_histogram [records]). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../histogram.h"

enum { NVALUES = 1024, CHUNK = 50000 };          /* NVALUES: a power of two */

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* An out-of-line call that does nothing: the floor under any out-of-line hist_record. */
static __attribute__((noinline)) void record_nothing(histogram *h, uint64_t ns)
{
    __asm__ volatile("" : : "r"(h), "r"(ns) : "memory");
}

/* Records n values in chunks of CHUNK and returns the mean and the fastest chunk in ns per
 * record: on a shared machine the fastest chunk is the one no other process interrupted. */
static inline __attribute__((always_inline)) void
run(void (*record)(histogram *, uint64_t), histogram *h, const uint64_t *vals, uint64_t n,
    double *mean, double *best)
{
    hist_reset(h);
    *best = 1e9;
    double start = now_sec();
    for (uint64_t done = 0; done < n;) {
        uint64_t m = n - done < CHUNK ? n - done : CHUNK;
        double t0 = now_sec();
        for (uint64_t i = done; i < done + m; i++)
            record(h, vals[i & (NVALUES - 1)]);
        double t = (now_sec() - t0) * 1e9 / (double)m;
        *best = t < *best ? t : *best;
        done += m;
    }
    *mean = (now_sec() - start) * 1e9 / (double)n;
    if (record == hist_record && hist_count(h) != n) {
        fprintf(stderr, "bench_histogram: count %llu, expected %llu\n",
                (unsigned long long)hist_count(h), (unsigned long long)n);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000000ull;
    if (n == 0) {
        fprintf(stderr, "usage: bench_histogram [records]\n");
        return 2;
    }
    histogram *h = hist_new();
    uint64_t *vals = malloc(NVALUES * sizeof *vals);
    if (!h || !vals) {
        fprintf(stderr, "bench_histogram: out of memory\n");
        return 1;
    }
    uint64_t seed = 42;

    struct { const char *name; int kind; } cases[] = {
        {"constant 1 us", 0},
        {"spread 1 us .. 8 ms", 1},
        {"uniform 200 ns .. 2 us", 2},
        {"10% out of range", 3},
    };
    printf("hist_record, %llu records per case\n", (unsigned long long)n);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int i = 0; i < NVALUES; i++) {
            uint64_t r = xorshift(&seed);
            switch (cases[c].kind) {
            case 0: vals[i] = 1000; break;
            /* 1000 * 2^e * (1 + f/64) for e in 0..12, f in 0..63: 1 us to 8 ms */
            case 1: vals[i] = (1000ull << (r % 13)) * (64 + (r >> 8) % 64) / 64; break;
            case 2: vals[i] = 200 + r % 1800; break;
            case 3: vals[i] = r % 10 == 0 ? ((r >> 4) & 1 ? 50 : 200000000000ull)
                                          : 1000 + (r >> 8) % 100000; break;
            }
        }
        double mean, best, call_mean, call_best;
        run(record_nothing, h, vals, n / 10 + 1, &call_mean, &call_best);
        run(hist_record, h, vals, n, &mean, &best);
        printf("  %-28s %6.2f ns/record, fastest chunk %.2f (an empty call: %.2f)\n",
               cases[c].name, mean, best, call_best);
    }
    free(vals);
    hist_free(h);
    return 0;
}
