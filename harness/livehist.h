/* livehist.h: a latency histogram that one thread records into while another reads it,
 * for the timeline's per-interval percentiles. Same buckets as histogram.h (100 ns to
 * 100 s, log-linear, each at most 1% wide, values outside clamped to the ends), but the
 * counters only ever grow and are relaxed atomics: the one writer does a plain load, add
 * and store (no locked instruction on x86), and a reader sees each counter at some moment
 * between the start and the end of its pass. A reader keeps the counts it saw last time
 * and takes differences (lh_collect): an operation is counted in exactly one interval,
 * this one or the next, never lost or counted twice. Race-free by C11 rules, so
 * ThreadSanitizer-clean.
 *
 * Thread safety: one writer (lh_record), any number of readers (lh_collect). */
#ifndef AM_HARNESS_LIVEHIST_H
#define AM_HARNESS_LIVEHIST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"

/* Bucket index of v (clamped): (b << 7) + (v >> b) with b = 56 - clz(v | 255), as
 * histogram.c; the array starts at index(HIST_MIN_NS) = 100 and ends at index(HIST_MAX_NS). */
enum {
    LH_SUB_BITS = 7,
    LH_FIRST = (int)HIST_MIN_NS,
    LH_LAST = (29 << LH_SUB_BITS) + (int)(HIST_MAX_NS >> 29),
    LH_NBUCKETS = LH_LAST - LH_FIRST + 1,
};

typedef struct livehist {
    _Atomic uint64_t counts[LH_NBUCKETS];
} livehist;

livehist *lh_new(void);                 /* zeroed; NULL on OOM */
void lh_free(livehist *h);              /* accepts NULL */

static inline unsigned lh_index(uint64_t ns)
{
    if (ns < HIST_MIN_NS) ns = HIST_MIN_NS;
    if (ns > HIST_MAX_NS) ns = HIST_MAX_NS;
    unsigned b = 56u - (unsigned)__builtin_clzll(ns | 255u);
    return (b << LH_SUB_BITS) + (unsigned)(ns >> b) - LH_FIRST;
}

/* REQUIRES: called by the histogram's one writer. */
static inline void lh_record(livehist *h, uint64_t ns)
{
    _Atomic uint64_t *c = &h->counts[lh_index(ns)];
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* For every bucket: delta[i] += now[i] - prev[i]; prev[i] = now[i]. prev and delta hold
 * LH_NBUCKETS counters each; prev starts zeroed. Returns the number of records added. */
uint64_t lh_collect(const livehist *h, uint64_t *prev, uint64_t *delta);

/* Percentile p (0 < p <= 100) of a counts array as lh_collect fills: the upper edge of the
 * bucket holding rank ceil(p / 100 * total) (p rounded to 6 decimals), as hist_percentile
 * but without the cap at the largest true value, which buckets cannot tell; 0 when the
 * array is empty. */
uint64_t lh_percentile(const uint64_t *counts, double p);

#endif
