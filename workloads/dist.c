/* dist.c: the random parts of the workloads: PRNG seeding, zeta sums, YCSB's zipfian
 * generator (Gray et al.) and its scrambled form, and the seeded permutation behind
 * fillrandom. All state lives in the caller's structs (wl_internal.h); nothing global. */
#include <math.h>

#include "wl_internal.h"

void wl_rng_seed(wl_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    /* Mix the three inputs so that (seed, a, b) and (seed, a+1, b) share nothing, then
     * expand with splitmix64 as the xoshiro authors recommend. */
    uint64_t x = wl_mix64(seed ^ 0x6a09e667f3bcc909ull);
    x = wl_mix64(x ^ wl_mix64(a + 0x9e3779b97f4a7c15ull));
    x = wl_mix64(x ^ wl_mix64(b + 0xbb67ae8584caa73bull) ^ 0x3c6ef372fe94f82bull);
    for (int i = 0; i < 4; i++) {
        x += 0x9e3779b97f4a7c15ull;
        r->s[i] = wl_mix64(x);
    }
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

/* ---- zeta ---- */

#define ZETA_EXACT_MAX 4096u   /* up to here: plain summation */
#define ZETA_EM_FROM 1000u     /* Euler-Maclaurin covers [ZETA_EM_FROM, n] */
#define ZETA_ADD_MAX 2048u     /* growing by more than this: recompute instead of adding */

double wl_zeta_add(double z, uint64_t from, uint64_t to, double theta)
{
    for (uint64_t i = from + 1; i <= to; i++) z += pow((double)i, -theta);
    return z;
}

double wl_zeta(uint64_t n, double theta)
{
    if (n <= ZETA_EXACT_MAX) return wl_zeta_add(0.0, 0, n, theta);
    double s = wl_zeta_add(0.0, 0, ZETA_EM_FROM - 1, theta);
    /* sum_{i=m}^{n} f(i) = int_m^n f + (f(m) + f(n)) / 2 + B2/2! (f'(n) - f'(m))
     *                      + B4/4! (f'''(n) - f'''(m)) + R, with f(x) = x^-theta;
     * |R| ~ m^(-theta-5), negligible at m = 1000. */
    double m = ZETA_EM_FROM, x = (double)n;
    double integral = theta == 1.0 ? log(x / m)
                                   : (pow(x, 1.0 - theta) - pow(m, 1.0 - theta)) / (1.0 - theta);
    double t = integral + 0.5 * (pow(m, -theta) + pow(x, -theta));
    t += (1.0 / 12.0) * theta * (pow(m, -theta - 1.0) - pow(x, -theta - 1.0));
    double c3 = theta * (theta + 1.0) * (theta + 2.0);
    t += (1.0 / 720.0) * c3 * (pow(x, -theta - 3.0) - pow(m, -theta - 3.0));
    return s + t;
}

/* ---- zipfian ---- */

static void zipf_derive(wl_zipf *z)
{
    /* eta as YCSB computes it; with 1 or 2 items a draw never reaches the formula. */
    if (z->items <= 2) {
        z->eta = 0.0;
        return;
    }
    z->eta = (1.0 - pow(2.0 / (double)z->items, 1.0 - z->theta)) / (1.0 - z->zeta2 / z->zetan);
}

void wl_zipf_init(wl_zipf *z, uint64_t items, double theta, double zetan)
{
    if (items == 0) items = 1;
    z->items = items;
    z->theta = theta;
    z->alpha = 1.0 / (1.0 - theta);
    z->zeta2 = 1.0 + pow(0.5, theta);
    z->zetan = zetan >= 0.0 ? zetan : wl_zeta(items, theta);
    zipf_derive(z);
}

void wl_zipf_resize(wl_zipf *z, uint64_t items)
{
    if (items == 0) items = 1;
    if (items == z->items) return;
    if (items > z->items && items - z->items <= ZETA_ADD_MAX)
        z->zetan = wl_zeta_add(z->zetan, z->items, items, z->theta);
    else
        z->zetan = wl_zeta(items, z->theta);
    z->items = items;
    zipf_derive(z);
}

uint64_t wl_zipf_next(const wl_zipf *z, wl_rng *r)
{
    double u = wl_rng_double(r);
    double uz = u * z->zetan;
    if (uz < 1.0) return 0;
    if (uz < z->zeta2) return 1;
    uint64_t ret = (uint64_t)((double)z->items * pow(z->eta * u - z->eta + 1.0, z->alpha));
    return ret < z->items ? ret : z->items - 1;
}

void wl_scrambled_init(wl_zipf *z, double theta)
{
    wl_zipf_init(z, WL_SCRAMBLE_ITEMS, theta, theta == 0.99 ? WL_SCRAMBLE_ZETAN_099 : -1.0);
}

/* ---- permutation ---- */

static inline uint64_t perm_round(const wl_perm *p, uint64_t x)
{
    /* A 4-round Feistel network on the k-bit domain split into a high half L (k/2 bits)
     * and a low half R (the rest): each round xors one half with a keyed mix of the
     * other, which is invertible whatever the mix, so the whole is a bijection. */
    uint64_t l = x >> p->rbits, r = x & p->rmask;
    r ^= wl_mix64(l ^ p->key[0]) & p->rmask;
    l ^= wl_mix64(r ^ p->key[1]) & p->lmask;
    r ^= wl_mix64(l ^ p->key[2]) & p->rmask;
    l ^= wl_mix64(r ^ p->key[3]) & p->lmask;
    return (l << p->rbits) | r;
}

void wl_perm_init(wl_perm *p, uint64_t n, uint64_t seed)
{
    int bits = 0;
    while (bits < 64 && (1ull << bits) < n) bits++;
    int lbits = bits / 2;
    p->n = n;
    p->rbits = bits - lbits;
    p->rmask = p->rbits == 64 ? ~0ull : (1ull << p->rbits) - 1;
    p->lmask = (1ull << lbits) - 1;
    uint64_t x = wl_mix64(seed ^ 0x510e527fade682d1ull);
    for (int i = 0; i < 4; i++) p->key[i] = wl_mix64(x += 0x9e3779b97f4a7c15ull);
}

uint64_t wl_perm_at(const wl_perm *p, uint64_t i)
{
    /* Cycle walking: i lies on a cycle of the domain permutation, so following it from i
     * reaches a value below n (at worst i itself again). */
    uint64_t x = i;
    do x = perm_round(p, x);
    while (x >= p->n);
    return x;
}
