/* hash.h: the hash behind bloom filters and cache sharding: XXH3 from Debian's
 * libxxhash (fast and well tested, so not written here). */
#ifndef AM_UTIL_HASH_H
#define AM_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t am_hash64(const void *data, size_t n);

#endif
