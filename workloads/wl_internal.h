/* wl_internal.h: what the workload files share and the tests reach into: the seeded PRNG
 * (xoshiro256**), the zipfian generator of Gray et al. as YCSB implements it, zeta sums,
 * the seeded permutation (fillrandom), YCSB's FNV-64 and the per-phase op-count split.
 * Not part of the harness's contract (that is workload.h).
 *
 * Thread safety: every struct here is owned by one thread; the functions keep no state. */
#ifndef AM_WORKLOADS_WL_INTERNAL_H
#define AM_WORKLOADS_WL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "workload.h"

/* ---- mixing and the PRNG (dist.c) ---- */

/* splitmix64's finalizer: a bijective 64-bit mixer. */
static inline uint64_t wl_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* xoshiro256** (Blackman and Vigna): 4 words of state, period 2^256 - 1. */
typedef struct wl_rng {
    uint64_t s[4];
} wl_rng;

/* Seeds r from (seed, a, b), e.g. (run seed, thread, phase): nearby inputs give unrelated
 * streams. Never leaves the all-zero state. */
void wl_rng_seed(wl_rng *r, uint64_t seed, uint64_t a, uint64_t b);

static inline uint64_t wl_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t wl_rng_next(wl_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = wl_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = wl_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, n) by one multiply (Lemire); bias below n / 2^64. n == 0 gives 0. */
static inline uint64_t wl_rng_below(wl_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)wl_rng_next(r) * n) >> 64);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double wl_rng_double(wl_rng *r)
{
    return (double)(wl_rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- zeta and the zipfian generator (dist.c) ---- */

/* sum_{i=1}^{n} 1 / i^theta. Exact summation up to 4096 terms; beyond, the first 999 terms
 * exactly and the rest by Euler-Maclaurin (relative error below 1e-12), so zeta of a
 * billion items costs about a thousand pow() calls. */
double wl_zeta(uint64_t n, double theta);
/* zeta(to) given z = zeta(from), by adding the terms from+1..to exactly (from <= to). */
double wl_zeta_add(double z, uint64_t from, uint64_t to, double theta);

/* YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record synthetic
 * databases", SIGMOD 1994): rank 0 is the most popular; P(rank i) ~ 1 / (i+1)^theta.
 * One pow() per draw. */
typedef struct wl_zipf {
    uint64_t items;               /* ranks are 0 .. items-1 */
    double theta;                 /* 0 < theta < 1 */
    double alpha;                 /* 1 / (1 - theta) */
    double zetan;                 /* zeta(items, theta) */
    double zeta2;                 /* zeta(2, theta) = 1 + 0.5^theta */
    double eta;
} wl_zipf;

/* items >= 1. zetan < 0: computed here (wl_zeta); else the caller's precomputed value. */
void wl_zipf_init(wl_zipf *z, uint64_t items, double theta, double zetan);
/* Changes the item count: growing adds the new terms to zeta (a few pow() per new item,
 * or one Euler-Maclaurin sum when many arrive at once); shrinking recomputes. */
void wl_zipf_resize(wl_zipf *z, uint64_t items);
uint64_t wl_zipf_next(const wl_zipf *z, wl_rng *r);

/* ScrambledZipfianGenerator: YCSB draws a rank from a zipfian over 10^10 + 1 items (zeta
 * precomputed as 26.46902820178302 for theta 0.99) and maps it to fnv64(rank) % count. */
#define WL_SCRAMBLE_ITEMS 10000000001ull
#define WL_SCRAMBLE_ZETAN_099 26.46902820178302
void wl_scrambled_init(wl_zipf *z, double theta);
static inline uint64_t wl_scrambled_next(const wl_zipf *z, wl_rng *r, uint64_t count);

/* ---- keys (keys.c) ---- */

/* YCSB's Utils.fnvhash64: FNV-1a over the 8 little-endian bytes of v, then Math.abs (as
 * unsigned, so 2^63 stays 2^63 where Java would keep it negative). */
static inline uint64_t wl_fnv64(uint64_t v)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 8; i++) {
        h ^= v & 0xff;
        v >>= 8;
        h *= 1099511628211ull;
    }
    return (h >> 63) ? (uint64_t)0 - h : h;
}

static inline uint64_t wl_scrambled_next(const wl_zipf *z, wl_rng *r, uint64_t count)
{
    return count ? wl_fnv64(wl_zipf_next(z, r)) % count : 0;
}

/* Writes v in decimal, at least width digits (zero-padded); returns the length. */
size_t wl_put_decimal(char *buf, uint64_t v, int width);

/* ---- permutation (dist.c) ---- */

/* A seeded bijection of [0, n) with no n-sized table: a 4-round Feistel network on the
 * smallest power-of-two domain >= n, cycle-walking back into range (fewer than 2 rounds
 * on average). */
typedef struct wl_perm {
    uint64_t n;
    int rbits;                    /* low half's width; the high half has the rest */
    uint64_t rmask, lmask;
    uint64_t key[4];
} wl_perm;

void wl_perm_init(wl_perm *p, uint64_t n, uint64_t seed);
/* REQUIRES: i < n. */
uint64_t wl_perm_at(const wl_perm *p, uint64_t i);

/* ---- threads ---- */

/* Ops thread t of nthreads issues out of ops (global indices t, t+nthreads, ...). */
static inline uint64_t wl_thread_share(uint64_t ops, unsigned t, unsigned nthreads)
{
    return ops > t ? (ops - t - 1) / nthreads + 1 : 0;
}

/* ---- JSON files (file.c) ---- */

/* Parses a workload file (docs/workloads.md). Returns 0, or -1 with "path: where: what"
 * in err; out is left zeroed on failure. */
int wl_load_file(const char *path, const wl_params *p, wl_workload *out, char *err,
                 size_t errcap);

/* ---- defaults (builtin.c) ---- */
#define WL_DEFAULT_KEYS 1000000ull
#define WL_DEFAULT_VALUE_SIZE 256u
#define WL_DEFAULT_THETA 0.99

/* A phase with the defaults: no ops, uniform over the whole key space, theta 0.99, the
 * given value size, scan length 1..100. */
void wl_phase_defaults(wl_phase *ph, const char *name, uint32_t value_size);

#endif
