/* keys.c: key and value bytes. A key number becomes prefix + zero-padded decimal
 * (KEYS_PADDED: "key-0000000042", 14 bytes for shift) or prefix + decimal FNV-64 of the
 * number (KEYS_HASHED: YCSB's "user" + hash, up to 23 bytes). A missing key is a key
 * with "." appended. Values are pseudo-random bytes from (key, version). */
#include <string.h>

#include "wl_internal.h"

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes x (< 10^8) as exactly 8 digits: two independent chains of divisions by
 * constants (multiplies), so it costs a few nanoseconds. */
static inline void put8(char *p, uint32_t x)
{
    uint32_t hi = x / 10000, lo = x % 10000;
    memcpy(p, digit_pairs + 2 * (hi / 100), 2);
    memcpy(p + 2, digit_pairs + 2 * (hi % 100), 2);
    memcpy(p + 4, digit_pairs + 2 * (lo / 100), 2);
    memcpy(p + 6, digit_pairs + 2 * (lo % 100), 2);
}

static const uint64_t pow10_tab[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

/* Decimal digits of v (1 for 0). */
static inline int ndigits(uint64_t v)
{
    if (v == 0) return 1;
    int t = ((64 - __builtin_clzll(v)) * 1233) >> 12;   /* bits * log10(2): digits or one more */
    return t - (v < pow10_tab[t]) + 1;
}

size_t wl_put_decimal(char *buf, uint64_t v, int width)
{
    /* 24 digits, right-aligned, zero-filled: three chunks of 8 (2^64 has 20 digits). */
    char tmp[24];
    memset(tmp, '0', 16);
    put8(tmp + 16, (uint32_t)(v % 100000000));
    if (v >= 100000000) {
        uint64_t q = v / 100000000;
        put8(tmp + 8, (uint32_t)(q % 100000000));
        if (q >= 100000000) put8(tmp, (uint32_t)(q / 100000000));
    }
    size_t len = (size_t)ndigits(v), pad = 0;
    if (width > 0 && (size_t)width > len) {
        len = (size_t)width;
        if (len > sizeof tmp) {
            pad = len - sizeof tmp;
            memset(buf, '0', pad);
            len = sizeof tmp;
        }
    }
    memcpy(buf + pad, tmp + sizeof tmp - len, len);
    return pad + len;
}

size_t wl_key(const wl_workload *w, uint64_t i, char *buf)
{
    size_t n = strnlen(w->key_prefix, sizeof w->key_prefix);
    memcpy(buf, w->key_prefix, n);
    if (w->key_format == KEYS_HASHED) return n + wl_put_decimal(buf + n, wl_fnv64(i), 0);
    return n + wl_put_decimal(buf + n, i, w->key_digits);
}

size_t wl_missing_key(const wl_workload *w, uint64_t i, char *buf)
{
    /* Keys hold only prefix and digits, so "." after key i makes a key no workload
     * writes; with padded keys it sorts after key i and before key i + 1. */
    size_t n = wl_key(w, i, buf);
    buf[n] = '.';
    return n + 1;
}

/* wyrand's step (Wang Yi, public domain): a 64x64->128 multiply folded to 64 bits. */
static inline uint64_t wy_next(uint64_t *s)
{
    uint64_t x = *s += 0xa0761d6478bd642full;
    unsigned __int128 t = (unsigned __int128)x * (x ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(t >> 64) ^ (uint64_t)t;
}

void wl_value(uint64_t key, uint64_t version, char *buf, size_t n)
{
    /* Words from wyrand seeded by mixing (key, version): one multiply per 8 bytes and no
     * chain between words but an add, so they compute in parallel. */
    uint64_t s = wl_mix64(key * 0x9e3779b97f4a7c15ull ^ wl_mix64(version + 0x632be59bd9b4e019ull));
    for (; n >= 8; n -= 8, buf += 8) {
        uint64_t x = wy_next(&s);
        memcpy(buf, &x, 8);
    }
    if (n) {
        uint64_t x = wy_next(&s);
        memcpy(buf, &x, n);
    }
}
