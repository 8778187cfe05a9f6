/* gen.c: one thread's operation stream for one phase (wl_gen) and the shared insert
 * counter (wl_keyspace). Everything a draw needs is precomputed in wl_gen_new; a draw is
 * a few compares for the op type, one multiply for a uniform key, one pow() for a
 * zipfian or latest key, and no allocation. */
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "wl_internal.h"

struct wl_keyspace {
    alignas(64) _Atomic uint64_t size;   /* keys 0 .. size-1 exist or are being inserted;
                                            alone on its cache line */
};

wl_keyspace *wl_keyspace_new(uint64_t initial_keys)
{
    wl_keyspace *ks = aligned_alloc(64, sizeof *ks);
    if (!ks) return NULL;
    atomic_init(&ks->size, initial_keys);
    return ks;
}

void wl_keyspace_free(wl_keyspace *ks) { free(ks); }

uint64_t wl_keyspace_size(const wl_keyspace *ks)
{
    return atomic_load_explicit(&((wl_keyspace *)ks)->size, memory_order_relaxed);
}

struct wl_gen {
    /* hot: what every draw reads, first */
    uint64_t j;                    /* global op index of the next op */
    uint64_t j_end;                /* j of the first op past this thread's share */
    uint64_t stride;               /* nthreads */
    uint64_t seq_prefix;
    wl_rng rng;

    /* op choice: the first i with r < thr[i] (thr ascending, last = UINT64_MAX) */
    int nchoices;
    wl_op_type choice[OP_TYPES];
    uint64_t thr[OP_TYPES];
    int counter_insert;            /* OP_INSERT takes the next key-space number */
    int may_insert;                /* ... and the mix holds it: re-read the key space */

    uint64_t total;
    const wl_phase *ph;            /* borrowed from the workload */
    wl_keyspace *ks;               /* borrowed, or owned_ks */
    wl_keyspace *owned_ks;

    /* key range [lo, hi) from the fractions and the key space size */
    uint64_t size, lo, hi, span;
    wl_dist dist;
    wl_zipf zipf;                  /* scrambled (DIST_ZIPFIAN) or over span (DIST_LATEST) */
    wl_perm perm;
    uint64_t seq_pos, seq_step, seq_inc;   /* DIST_SEQUENTIAL cursor */
    uint32_t scan_min, scan_span;          /* scan length = min + below(span + 1) */
};

static uint64_t frac_of(double f, uint64_t size)
{
    /* Rounded to nearest, so 0.9 of 1,000,000 is exactly 900,000. */
    if (f <= 0.0) return 0;
    if (f >= 1.0) return size;
    uint64_t v = (uint64_t)(f * (double)size + 0.5);
    return v < size ? v : size;
}

/* Recomputes the range after the key space changed size. */
static void set_size(wl_gen *g, uint64_t size)
{
    g->size = size;
    g->lo = frac_of(g->ph->range_lo, size);
    g->hi = frac_of(g->ph->range_hi, size);
    if (g->hi < g->lo) g->hi = g->lo;
    g->span = g->hi - g->lo;
    uint64_t span1 = g->span ? g->span : 1;
    if (g->dist == DIST_LATEST) wl_zipf_resize(&g->zipf, span1);
    if (g->dist == DIST_SEQUENTIAL) {
        g->seq_inc = (uint64_t)(((unsigned __int128)g->stride * g->seq_step) % span1);
        if (g->seq_pos >= span1) g->seq_pos %= span1;
    }
}

wl_gen *wl_gen_new(const wl_workload *w, size_t phase, wl_keyspace *ks, uint64_t seed,
                   unsigned thread, unsigned nthreads)
{
    if (!w || phase >= w->nphases || nthreads == 0 || thread >= nthreads) return NULL;
    wl_gen *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    const wl_phase *ph = &w->phases[phase];
    g->ph = ph;
    if (!ks) {
        g->owned_ks = wl_keyspace_new(w->keys);
        if (!g->owned_ks) {
            free(g);
            return NULL;
        }
        ks = g->owned_ks;
    }
    g->ks = ks;
    wl_rng_seed(&g->rng, seed, thread, phase);
    g->stride = nthreads;
    g->j = thread;
    g->total = wl_thread_share(ph->ops, thread, nthreads);
    g->j_end = thread + g->total * nthreads;
    g->seq_prefix = ph->sequential_fill ? ph->ops : ph->sequential_prefix;
    g->dist = ph->dist;
    /* With a sequential or permutation order an insert writes the key that order names (a
     * load); with a random distribution it extends the key space (YCSB's insert). */
    g->counter_insert = g->dist != DIST_SEQUENTIAL && g->dist != DIST_PERMUTATION;

    double sum = 0.0;
    for (int t = 0; t < OP_TYPES; t++)
        if (ph->mix.weight[t] > 0.0) sum += ph->mix.weight[t];
    double acc = 0.0;
    for (int t = 0; t < OP_TYPES && sum > 0.0; t++) {
        if (!(ph->mix.weight[t] > 0.0)) continue;
        acc += ph->mix.weight[t];
        g->choice[g->nchoices] = (wl_op_type)t;
        double f = acc / sum * 0x1.0p64;
        g->thr[g->nchoices] = f >= 0x1.0p64 ? UINT64_MAX : (uint64_t)f;
        g->nchoices++;
        if (t == OP_INSERT) g->may_insert = g->counter_insert;
    }
    if (g->nchoices == 0) {                 /* a load phase has no mix: all inserts */
        g->choice[0] = OP_INSERT;
        g->thr[0] = UINT64_MAX;
        g->nchoices = 1;
        g->may_insert = g->counter_insert && g->seq_prefix < ph->ops;
    }
    g->thr[g->nchoices - 1] = UINT64_MAX;

    g->scan_min = ph->scan_min;
    g->scan_span = ph->scan_max > ph->scan_min ? ph->scan_max - ph->scan_min : 0;
    /* Sequential scans tile the range when scans are all the phase does and have one
     * length: op j starts at lo + j * length. Otherwise the cursor moves by one key. */
    g->seq_step = 1;
    if (g->nchoices == 1 && g->choice[0] == OP_SCAN && g->scan_span == 0 && g->scan_min > 0)
        g->seq_step = g->scan_min;

    uint64_t size = wl_keyspace_size(ks);
    uint64_t perm_seed = wl_mix64(seed ^ wl_mix64(phase + 0x1f83d9abfb41bd6bull));
    switch (g->dist) {
    case DIST_ZIPFIAN: wl_scrambled_init(&g->zipf, ph->zipf_theta); break;
    case DIST_LATEST: {
        uint64_t lo = frac_of(ph->range_lo, size), hi = frac_of(ph->range_hi, size);
        wl_zipf_init(&g->zipf, hi > lo ? hi - lo : 1, ph->zipf_theta, -1.0);
        break;
    }
    default: break;
    }
    set_size(g, size);
    if (g->dist == DIST_SEQUENTIAL) {
        /* Op j >= seq_prefix starts at lo + ((j - seq_prefix) * step mod span): find this
         * thread's first such j. */
        uint64_t span1 = g->span ? g->span : 1, p = g->seq_prefix, j0 = thread;
        if (p > j0) j0 += (p - j0 + nthreads - 1) / nthreads * nthreads;
        g->seq_pos = (uint64_t)(((unsigned __int128)(j0 - p) * g->seq_step) % span1);
    }
    if (g->dist == DIST_PERMUTATION) wl_perm_init(&g->perm, g->span, perm_seed);
    return g;
}

void wl_gen_free(wl_gen *g)
{
    if (!g) return;
    wl_keyspace_free(g->owned_ks);
    free(g);
}

uint64_t wl_gen_total(const wl_gen *g) { return g->total; }

static inline wl_op_type pick_op(wl_gen *g)
{
    if (g->nchoices == 1) return g->choice[0];
    uint64_t r = wl_rng_next(&g->rng);
    int i = 0;
    while (i < g->nchoices - 1 && r >= g->thr[i]) i++;
    return g->choice[i];
}

int wl_gen_next(wl_gen *g, wl_op *op)
{
    uint64_t j = g->j;
    if (j >= g->j_end) return 0;
    g->j = j + g->stride;
    op->scan_length = 0;

    if (j < g->seq_prefix) {               /* the load part: key lo + j, in order */
        op->type = OP_INSERT;
        op->key = g->lo + (j < g->span || g->span == 0 ? j : j % g->span);
        return 1;
    }
    wl_op_type t = pick_op(g);
    op->type = t;
    if (t == OP_INSERT && g->counter_insert) {   /* a new key: the next key-space number */
        op->key = atomic_fetch_add_explicit(&g->ks->size, 1, memory_order_relaxed);
        return 1;
    }
    if (g->may_insert) {
        uint64_t s = wl_keyspace_size(g->ks);
        if (s != g->size) set_size(g, s);
    }
    /* read_missing draws over [lo, hi - 1): missing key i sorts before key i + 1. */
    uint64_t span = g->span;
    if (t == OP_READ_MISSING && span > 1) span--;
    uint64_t k;
    switch (g->dist) {
    case DIST_UNIFORM: k = wl_rng_below(&g->rng, span); break;
    case DIST_ZIPFIAN: k = wl_scrambled_next(&g->zipf, &g->rng, span); break;
    case DIST_LATEST:
        k = g->span ? g->span - 1 - wl_zipf_next(&g->zipf, &g->rng) : 0;
        if (k >= span) k = span ? span - 1 : 0;
        break;
    case DIST_PERMUTATION:   /* the permutation keeps the span it was built with */
        k = g->perm.n ? wl_perm_at(&g->perm, j < g->perm.n ? j : j % g->perm.n) : 0;
        if (k >= span) k = span ? span - 1 : 0;
        break;
    case DIST_SEQUENTIAL:
    default:
        k = g->seq_pos;
        g->seq_pos += g->seq_inc;
        if (g->seq_pos >= (g->span ? g->span : 1)) g->seq_pos -= g->span ? g->span : 1;
        if (k >= span) k = span ? span - 1 : 0;
        break;
    }
    op->key = g->lo + k;
    if (t == OP_SCAN) {
        uint32_t len = g->scan_min;
        if (g->scan_span) len += (uint32_t)wl_rng_below(&g->rng, (uint64_t)g->scan_span + 1);
        /* A sequential scan stops at the end of the range (tiles it exactly). */
        if (g->dist == DIST_SEQUENTIAL && g->span && len > g->span - k)
            len = (uint32_t)(g->span - k);
        op->scan_length = len;
    }
    return 1;
}
