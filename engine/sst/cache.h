/* cache.h: the block cache, an LRU bounded in bytes and sharded (16 shards, by a hash of
 * the key) so that concurrent readers rarely meet on one lock. Keys are (file id, block
 * offset); values are decoded, checksum-verified blocks.
 *
 * Ownership: an inserted value belongs to the cache, which calls its deleter once it is
 * evicted and no handle pins it. A handle pins its entry until cache_release().
 * Thread safety: all functions may be called from any thread. */
#ifndef AM_SST_CACHE_H
#define AM_SST_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct blk_cache blk_cache;
typedef struct cache_handle cache_handle;

/* Keys: (owner id, block offset). An owner id names one open reader, not a file: the same
 * file opened twice (a segment moved to another level gets a new reader) must not share
 * entries, because a reader's entries may point into its own mapping of the file. */
uint64_t cache_new_id(blk_cache *c);    /* unique per cache, never 0 for a real cache */

/* capacity 0 gives NULL (no cache) with AM_OK; every function accepts a NULL cache (lookup
 * misses, insert just hands back an unshared handle that release frees). */
int cache_new(size_t capacity, blk_cache **out);
void cache_free(blk_cache *c);

/* Pinned handle, or NULL on a miss. */
cache_handle *cache_lookup(blk_cache *c, uint64_t file_id, uint64_t offset);
/* Inserts (replacing an older entry for the key) and returns a pinned handle; on allocation
 * failure calls deleter(value) and returns NULL. */
cache_handle *cache_insert(blk_cache *c, uint64_t file_id, uint64_t offset, void *value,
                           size_t charge, void (*deleter)(void *value));
void *cache_value(const cache_handle *h);
void cache_release(blk_cache *c, cache_handle *h);
/* Unlinks every entry of an owner (its reader is closing); pinned ones are freed when
 * released. */
void cache_erase_file(blk_cache *c, uint64_t file_id);
size_t cache_usage(const blk_cache *c);

#endif
