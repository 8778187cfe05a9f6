/* bloom.c: the bloom filter of an SSTable (one per file, over user keys).
 *
 * Encoding (the filter block's contents), byte by byte:
 *
 *   bits    m/8 bytes: the bit array; bit i is (byte i/8) >> (i%8) & 1
 *   k       1 byte: probes per key, 1..30
 *
 * m = max(64, n * bits_per_key) rounded up to a multiple of 8. Probe j (0 <= j < k) of a
 * key with 64-bit hash h (am_hash64 of the user key) sets bit
 *
 *   g_j = ((g_j_hi32) * m) >> 32   where g_j = h + j * d (mod 2^64), d = rotl64(h, 31) | 1
 *
 * that is double hashing (Kirsch & Mitzenmacher) with the position taken from the top 32
 * bits of each probe by a multiply-shift range reduction (no division). m is at most 2^32.
 * A reader that sees a filter it cannot interpret (too short, k out of range) answers
 * "may match", so a damaged filter only costs speed. */
#include <string.h>

#include "amethyst.h"
#include "bloom.h"

#define BLOOM_MAX_BITS (UINT64_C(1) << 32)

static inline uint64_t probe_delta(uint64_t h)
{
    return ((h << 31) | (h >> 33)) | 1;
}

static inline uint32_t probe_pos(uint64_t g, uint64_t m)
{
    return (uint32_t)(((g >> 32) * m) >> 32);
}

static int probes_for(int bits_per_key)
{
    /* round(bits_per_key * ln 2) in integers: no libm. */
    long k = ((long)bits_per_key * 693147 + 500000) / 1000000;
    if (k < 1) k = 1;
    if (k > 30) k = 30;
    return (int)k;
}

int bloom_build(const uint64_t *hashes, size_t n, int bits_per_key, am_buf *out)
{
    if (bits_per_key <= 0) return AM_ERR_INVALID;
    uint64_t m = (uint64_t)n * (uint64_t)bits_per_key;
    if (m < 64) m = 64;
    m = (m + 7) & ~UINT64_C(7);
    if (m > BLOOM_MAX_BITS) return AM_ERR_INVALID;
    size_t bytes = (size_t)(m / 8);
    int k = probes_for(bits_per_key);

    int rc = buf_reserve(out, bytes + 1);
    if (rc) return rc;
    unsigned char *bits = (unsigned char *)out->data + out->len;
    memset(bits, 0, bytes);
    for (size_t i = 0; i < n; i++) {
        uint64_t g = hashes[i], d = probe_delta(g);
        for (int j = 0; j < k; j++) {
            uint32_t pos = probe_pos(g, m);
            bits[pos >> 3] |= (unsigned char)(1u << (pos & 7));
            g += d;
        }
    }
    bits[bytes] = (unsigned char)k;
    out->len += bytes + 1;
    return AM_OK;
}

int bloom_may_match(const char *filter, size_t len, uint64_t h)
{
    if (len < 2) return 1;
    const unsigned char *bits = (const unsigned char *)filter;
    int k = bits[len - 1];
    if (k < 1 || k > 30) return 1;
    uint64_t m = (uint64_t)(len - 1) * 8;
    if (m > BLOOM_MAX_BITS) return 1;
    uint64_t g = h, d = probe_delta(h);
    for (int j = 0; j < k; j++) {
        uint32_t pos = probe_pos(g, m);
        if (!(bits[pos >> 3] & (1u << (pos & 7)))) return 0;
        g += d;
    }
    return 1;
}
