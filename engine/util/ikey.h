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

/* Bytewise compare of user keys. */
static inline int ukey_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int r = m ? memcmp(a, b, m) : 0;
    if (r) return r;
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
