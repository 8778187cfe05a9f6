/* bloom.h: the bloom filter of an SSTable, over user keys. Double hashing of one 64-bit
 * XXH3 per key (Kirsch & Mitzenmacher), k = round(bits_per_key * ln 2) probes clamped to
 * 1..30. Encoded as the bit array followed by one byte k (docs/format.md). */
#ifndef AM_SST_BLOOM_H
#define AM_SST_BLOOM_H

#include <stddef.h>
#include <stdint.h>
#include "../util/coding.h"

/* Builds a filter over n key hashes (am_hash64 of each user key) into out. */
int bloom_build(const uint64_t *hashes, size_t n, int bits_per_key, am_buf *out);
/* 1 if the key whose hash is h may be in the filter; a malformed filter matches. */
int bloom_may_match(const char *filter, size_t len, uint64_t h);

#endif
