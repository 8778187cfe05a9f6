/* histogram.c: the latency histogram of histogram.h, log-linear as HdrHistogram lays it out.
 *
 * Buckets. Values below 256 ns have one bucket per nanosecond. Above, every power of two
 * [2^k, 2^(k+1)) (k >= 8) is cut into 128 equal buckets of width 2^(k-7), so a bucket is at
 * most 1/128 = 0.78% of its lower edge wide; the 1 ns buckets from 100 to 255 are at most
 * 1% of theirs (exactly 1% for [100, 101)). For a value v, with b = 56 - clz(v | 255):
 *     index(v) = (b << 7) + (v >> b)          bucket [ (v >> b) << b, ((v >> b) + 1) << b )
 * which is v itself below 256 and (b + 1) * 128 + ((v >> b) - 128) above. The array starts at
 * index(HIST_MIN_NS) = 100 and ends at index(HIST_MAX_NS) = 29 * 128 + 186: 3799 counters,
 * 30 KiB, the highest bucket being [186 << 29, 187 << 29) = [99.86 s, 100.39 s).
 *
 * Clamping. A value below HIST_MIN_NS is counted in clamped_low and in the lowest bucket
 * [100, 101); a value above HIST_MAX_NS in clamped_high and in the highest bucket; both
 * count in hist_count. min, max and the mean are of the true, unclamped values: the
 * buckets alone could not tell them, and min <= mean <= max then always holds. The sum is
 * kept exactly: `sum` adds the clamped value (at most 1e11 per record; it wraps only past
 * 584 years of summed latency), and the slow path keeps what clamping took away
 * (`under`) or cut off (`over`, 128 bits, since a bogus value may be near 2^64).
 *
 * Percentiles. hist_percentile(p) takes the rank r = ceil(p / 100 * count), with p rounded
 * to 6 decimals first (so 99.99 means exactly 9999/10000 and the rank is computed in
 * integers, free of floating-point error), clamped to [1, count]; it returns the upper edge
 * (exclusive) of the lowest bucket whose cumulative count reaches r, or hist_max if that is
 * smaller (the upper edge of the top non-empty bucket can lie past the largest value). The
 * result is an upper bound on the r-th smallest recorded value, within 1% of it for values
 * in range, never above max, and non-decreasing in p. A histogram with no records answers 0
 * to percentile, mean, min and max.
 *
 * Recording is one predicted branch (the clamp), a clz, a shift, two adds and two
 * conditional moves; no floating point, no allocation. Every store costs (about 0.3 ns in
 * bench_histogram), so the record count is not kept apart: hist_count, hist_mean and
 * hist_percentile add up the buckets (3799 adds, about a microsecond). Not thread-safe: one
 * writer, merged at the end. */
#include "histogram.h"

#include <stdlib.h>
#include <string.h>

enum {
    SUB_BITS = 7,                               /* 128 sub-buckets per power of two */
    TOP_SHIFT = 29,                             /* b of HIST_MAX_NS: 2^36 <= 1e11 < 2^37 */
    FIRST_INDEX = (int)HIST_MIN_NS,             /* index(HIST_MIN_NS): below 256, v itself */
    LAST_INDEX = (TOP_SHIFT << SUB_BITS) + (int)(HIST_MAX_NS >> TOP_SHIFT),
    NBUCKETS = LAST_INDEX - FIRST_INDEX + 1,
};
_Static_assert(HIST_MIN_NS >= 100 && HIST_MIN_NS < 256, "HIST_MIN_NS in the 1 ns buckets");
_Static_assert((HIST_MAX_NS >> TOP_SHIFT) >= 128 && (HIST_MAX_NS >> TOP_SHIFT) < 256,
               "TOP_SHIFT is the shift of HIST_MAX_NS's power of two");

struct histogram {
    uint64_t min, max;              /* of the true values; UINT64_MAX, 0 when empty */
    uint64_t sum;                   /* sum of the clamped values */
    uint64_t clamped_low, clamped_high;
    uint64_t under;                 /* sum of HIST_MIN_NS - v over clamped_low values */
    unsigned __int128 over;         /* sum of v - HIST_MAX_NS over clamped_high values */
    uint64_t counts[NBUCKETS];      /* counts[index(v) - FIRST_INDEX] */
};

static unsigned bucket_shift(uint64_t v)
{
    return 56u - (unsigned)__builtin_clzll(v | 255u);
}

/* Bounds [lo, hi) of the bucket at absolute index idx (FIRST_INDEX..LAST_INDEX). */
static void bucket_bounds(unsigned idx, uint64_t *lo, uint64_t *hi)
{
    unsigned b = idx < (2u << SUB_BITS) ? 0 : (idx >> SUB_BITS) - 1;
    *lo = (uint64_t)(idx - (b << SUB_BITS)) << b;
    *hi = *lo + (1ull << b);
}

histogram *hist_new(void)
{
    histogram *h = malloc(sizeof *h);
    if (h)
        hist_reset(h);
    return h;
}

void hist_free(histogram *h)
{
    free(h);
}

void hist_reset(histogram *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void hist_record(histogram *h, uint64_t ns)
{
    uint64_t v = ns;
    /* One unsigned compare for both ends (below HIST_MIN_NS wraps to a huge number); the
     * compiler moves the clamp out of the straight path. */
    if (__builtin_expect(ns - HIST_MIN_NS > HIST_MAX_NS - HIST_MIN_NS, 0)) {
        if (ns < HIST_MIN_NS) {
            h->clamped_low++;
            h->under += HIST_MIN_NS - ns;
            v = HIST_MIN_NS;
        } else {
            h->clamped_high++;
            h->over += ns - HIST_MAX_NS;
            v = HIST_MAX_NS;
        }
    }
    unsigned b = bucket_shift(v);
    h->counts[((size_t)b << SUB_BITS) + (v >> b) - FIRST_INDEX]++;
    h->min = ns < h->min ? ns : h->min;
    h->max = ns > h->max ? ns : h->max;
    h->sum += v;
}

void hist_merge(histogram *into, const histogram *from)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->sum += from->sum;
    into->clamped_low += from->clamped_low;
    into->clamped_high += from->clamped_high;
    into->under += from->under;
    into->over += from->over;
    if (from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
}

uint64_t hist_count(const histogram *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i < NBUCKETS; i++)
        n += h->counts[i];
    return n;
}

uint64_t hist_clamped_low(const histogram *h)
{
    return h->clamped_low;
}

uint64_t hist_clamped_high(const histogram *h)
{
    return h->clamped_high;
}

double hist_mean(const histogram *h)
{
    uint64_t n = hist_count(h);
    if (n == 0)
        return 0.0;
    /* under <= 100 * clamped_low <= sum: the true total is never negative. */
    unsigned __int128 total = (unsigned __int128)h->sum + h->over - h->under;
    return (double)total / (double)n;
}

uint64_t hist_max(const histogram *h)
{
    return h->max;
}

uint64_t hist_min(const histogram *h)
{
    return hist_count(h) ? h->min : 0;
}

uint64_t hist_percentile(const histogram *h, double p)
{
    uint64_t n = hist_count(h);
    if (n == 0)
        return 0;
    /* rank = ceil(p / 100 * count) with p in millionths of a percent, in integers. */
    const uint64_t scale = 100000000;           /* 100% in millionths of a percent */
    uint64_t rank;
    if (!(p > 0.0)) {                           /* also NaN */
        rank = 1;
    } else if (p >= 100.0) {
        rank = n;
    } else {
        uint64_t pm = (uint64_t)(p * 1e6 + 0.5);
        rank = (uint64_t)(((unsigned __int128)pm * n + scale - 1) / scale);
        if (rank == 0)
            rank = 1;
    }
    uint64_t seen = 0;
    for (unsigned i = 0; i < NBUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t lo, hi;
            bucket_bounds(i + FIRST_INDEX, &lo, &hi);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;                              /* not reached: the counts sum to n */
}

void hist_foreach(const histogram *h, void (*fn)(void *arg, uint64_t lo, uint64_t hi,
                                                 uint64_t count), void *arg)
{
    for (unsigned i = 0; i < NBUCKETS; i++) {
        if (h->counts[i] == 0)
            continue;
        uint64_t lo, hi;
        bucket_bounds(i + FIRST_INDEX, &lo, &hi);
        fn(arg, lo, hi, h->counts[i]);
    }
}
