/* histogram.h: latency histogram, log-linear (HdrHistogram's layout): values from 100 ns to
 * 100 s in buckets whose width is at most 1% of their value, so every reported percentile
 * is within 1% of the truth. Values outside the range are clamped to it and counted.
 * Recording is a few instructions and no allocation; one histogram per thread, merged at
 * the end. Not thread-safe: one writer. */
#ifndef AM_HARNESS_HISTOGRAM_H
#define AM_HARNESS_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HIST_MIN_NS 100ull
#define HIST_MAX_NS 100000000000ull

typedef struct histogram histogram;

histogram *hist_new(void);                       /* NULL on OOM */
void hist_free(histogram *h);
void hist_reset(histogram *h);
void hist_record(histogram *h, uint64_t ns);
void hist_merge(histogram *into, const histogram *from);
uint64_t hist_count(const histogram *h);
uint64_t hist_clamped_low(const histogram *h);
uint64_t hist_clamped_high(const histogram *h);
double hist_mean(const histogram *h);
uint64_t hist_max(const histogram *h);
uint64_t hist_min(const histogram *h);
/* Value at percentile p (0 < p <= 100): the upper edge of the bucket holding it, or
 * hist_max if smaller. The rank is ceil(p / 100 * count) with p rounded to 6 decimals;
 * p <= 0 (or NaN) takes rank 1, p >= 100 rank count; 0 when empty. min, max and
 * mean are of the true values, clamped ones included (histogram.c has the details). */
uint64_t hist_percentile(const histogram *h, double p);
/* Calls fn for every non-empty bucket, ascending: [lo, hi) in ns and its count. */
void hist_foreach(const histogram *h, void (*fn)(void *arg, uint64_t lo, uint64_t hi,
                                                 uint64_t count), void *arg);

#endif
