/* livehist.c: collection and percentiles of the live histogram (livehist.h). */
#include "livehist.h"

#include <stdlib.h>

livehist *lh_new(void)
{
    livehist *h = malloc(sizeof *h);
    if (!h) return NULL;
    for (int i = 0; i < LH_NBUCKETS; i++) atomic_init(&h->counts[i], 0);
    return h;
}

void lh_free(livehist *h) { free(h); }

uint64_t lh_collect(const livehist *h, uint64_t *prev, uint64_t *delta)
{
    uint64_t added = 0;
    for (int i = 0; i < LH_NBUCKETS; i++) {
        uint64_t now = atomic_load_explicit(&((livehist *)h)->counts[i], memory_order_relaxed);
        uint64_t d = now - prev[i];
        prev[i] = now;
        delta[i] += d;
        added += d;
    }
    return added;
}

/* Upper edge (exclusive) of the bucket at array position i. */
static uint64_t bucket_hi(unsigned i)
{
    unsigned idx = i + LH_FIRST;
    unsigned b = idx < (2u << LH_SUB_BITS) ? 0 : (idx >> LH_SUB_BITS) - 1;
    uint64_t lo = (uint64_t)(idx - (b << LH_SUB_BITS)) << b;
    return lo + (1ull << b);
}

uint64_t lh_percentile(const uint64_t *counts, double p)
{
    uint64_t total = 0;
    for (int i = 0; i < LH_NBUCKETS; i++) total += counts[i];
    if (total == 0) return 0;
    /* rank = ceil(pm * total / 1e8) with pm = p * 1e6 rounded: integers only. */
    uint64_t pm = !(p > 0.0) ? 0 : p >= 100.0 ? 100000000ull : (uint64_t)(p * 1e6 + 0.5);
    unsigned __int128 num = (unsigned __int128)pm * total;
    uint64_t rank = (uint64_t)((num + 99999999u) / 100000000u);
    if (rank < 1) rank = 1;
    if (rank > total) rank = total;
    uint64_t seen = 0;
    for (int i = 0; i < LH_NBUCKETS; i++) {
        seen += counts[i];
        if (seen >= rank) return bucket_hi((unsigned)i);
    }
    return bucket_hi(LH_NBUCKETS - 1);
}
