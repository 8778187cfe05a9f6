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

size_t wl_put_decimal(char *buf, uint64_t v, int width)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    while (v >= 100) {
        uint64_t q = v / 100;
        unsigned r = (unsigned)(v - q * 100);
        p -= 2;
        memcpy(p, digit_pairs + 2 * r, 2);
        v = q;
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t len = (size_t)(tmp + sizeof tmp - p);
    size_t pad = width > 0 && (size_t)width > len ? (size_t)width - len : 0;
    memset(buf, '0', pad);
    memcpy(buf + pad, p, len);
    return pad + len;
}

size_t wl_key(const wl_workload *w, uint64_t i, char *buf)
{
    size_t n = strlen(w->key_prefix);
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

void wl_value(uint64_t key, uint64_t version, char *buf, size_t n)
{
    /* Four independent xorshift64 lanes (no multiplies in the loop), seeded by mixing
     * (key, version): about 1 ns per 8 bytes. */
    uint64_t s = wl_mix64(key * 0x9e3779b97f4a7c15ull ^ wl_mix64(version + 0x632be59bd9b4e019ull));
    uint64_t l[4];
    for (int i = 0; i < 4; i++) {
        s += 0x9e3779b97f4a7c15ull;
        l[i] = wl_mix64(s) | 1;
    }
    while (n >= 32) {
        for (int i = 0; i < 4; i++) {
            l[i] ^= l[i] << 13;
            l[i] ^= l[i] >> 7;
            l[i] ^= l[i] << 17;
        }
        memcpy(buf, l, 32);
        buf += 32;
        n -= 32;
    }
    for (int i = 0; n > 0; i++) {
        l[i] ^= l[i] << 13;
        l[i] ^= l[i] >> 7;
        l[i] ^= l[i] << 17;
        size_t c = n < 8 ? n : 8;
        memcpy(buf, &l[i], c);
        buf += c;
        n -= c;
    }
}
