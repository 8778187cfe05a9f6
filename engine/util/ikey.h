/* ikey.h: internal keys, the unit every layer below the public API sorts by.
 *
 * An internal key is the user key followed by an 8-byte little-endian trailer
 * (sequence << 8 | kind). Order: user key ascending (bytewise, shorter first on a tie),
 * then trailer descending, so the newest version of a key comes first. A lookup key for
 * (k, seq) is k with trailer (seq << 8 | AM_KIND_MAX): it sorts before every version of k
 * with sequence <= seq. */
#ifndef AM_UTIL_IKEY_H
#define AM_UTIL_IKEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "coding.h"

/* Written to disk: never renumber. */
enum { AM_KIND_DELETE = 0, AM_KIND_VALUE = 1, AM_KIND_MAX = 1 };

#define AM_MAX_SEQ ((UINT64_C(1) << 56) - 1)
#define IKEY_TRAILER 8

static inline uint64_t ikey_pack(uint64_t seq, int kind) { return (seq << 8) | (uint64_t)kind; }
static inline uint64_t ikey_trailer(const char *ik, size_t n) { return dec_fixed64(ik + n - 8); }
static inline uint64_t ikey_seq(const char *ik, size_t n) { return ikey_trailer(ik, n) >> 8; }
static inline int ikey_kind(const char *ik, size_t n) { return (int)(ikey_trailer(ik, n) & 0xff); }
static inline size_t ikey_user_len(size_t n) { return n - 8; }

/* Bytewise compare of user keys. Every layer sorts by this, mostly on short keys, so it
 * compares 8 bytes at a time as big-endian words in line (a libc memcmp call costs more
 * than the compare itself on a 16-byte key) and leaves long keys to memcmp. */
static inline int ukey_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    const unsigned char *pa = a, *pb = b;
    size_t m = an < bn ? an : bn;
    if (m > 64) {
        int r = memcmp(pa, pb, m);
        if (r) return r;
    } else {
        for (; m >= 8; m -= 8, pa += 8, pb += 8) {
            uint64_t wa, wb;
            memcpy(&wa, pa, 8);
            memcpy(&wb, pb, 8);
            if (wa != wb) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                wa = __builtin_bswap64(wa);   /* so that word order is byte order */
                wb = __builtin_bswap64(wb);
#endif
                return wa < wb ? -1 : 1;
            }
        }
        for (; m; m--, pa++, pb++)
            if (*pa != *pb) return *pa < *pb ? -1 : 1;
    }
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* Compare of internal keys (both at least 8 bytes). */
static inline int ikey_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int r = ukey_cmp(a, an - 8, b, bn - 8);
    if (r) return r;
    uint64_t ta = ikey_trailer(a, an), tb = ikey_trailer(b, bn);
    return ta > tb ? -1 : ta < tb ? 1 : 0;
}

/* Writes user key + trailer into out (which has room for n + 8 bytes). */
static inline void ikey_build(char *out, const void *uk, size_t n, uint64_t seq, int kind)
{
    if (n) memcpy(out, uk, n);
    enc_fixed64(out + n, ikey_pack(seq, kind));
}

#endif
