/* sst_reader_impl.h: the inside of an SSTable reader, shared by the reader (sst_reader.c:
 * open, index, lookups, block reads) and its iterators (sst_iter.c). Internal to
 * engine/sst; the interface is sst.h. */
#ifndef AM_SST_READER_IMPL_H
#define AM_SST_READER_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "cache.h"
#include "sst.h"

/* One index entry. The binary search over the index compares pfx first: the 8 user-key
 * bytes after the prefix every separator of the file shares (r->lcp), big-endian and
 * zero-padded, so most steps touch this array only, not the keys. */
typedef struct idx_ent {
    uint64_t pfx;                  /* user key bytes [lcp, lcp + 8), big-endian */
    uint64_t off;                  /* the data block's handle */
    uint64_t key_off;              /* its separator, in r->idx_keys */
    uint32_t size, key_len;
} idx_ent;

struct sst_reader {
    am_env *env;                   /* borrowed */
    am_file *f;                    /* owned */
    char *path;                    /* owned */
    uint64_t file_id, file_bytes;
    uint64_t cache_id;             /* this reader's key space in the cache (cache.h) */
    blk_cache *cache;              /* borrowed; may be NULL */
    idx_ent *idx;                  /* owned: the index, decoded */
    size_t nidx;
    char *idx_keys;                /* owned: separators back to back */
    size_t lcp;                    /* user-key prefix shared by every separator */
    const char *map;               /* whole file mapped read-only (env's map), or NULL:
                                      blocks are then read with pread into the cache */
    atomic_uint_fast64_t *verified;/* with map: bit i set once data block i's checksum
                                      has been verified (owned) */
    char *filter;                  /* owned, NULL when the file has none */
    size_t filter_len;
    sst_file_info props;           /* owned keys */
};

/* A data block as the cache holds it: decoded view + contents + trailer, one allocation. */
typedef struct cblock {
    blk b;
    char data[];
} cblock;

/* AM_ERR_CORRUPT with a message naming r's file, the offset and what is wrong. */
int sst_corrupt(const sst_reader *r, uint64_t off, const char *what);
/* Verifies data block i (checksum and key order, against its index entry and the file's
 * bounds) whose bytes (contents and trailer) are at p, and decodes it into out. AM_OK or
 * AM_ERR_CORRUPT naming the file and offset. */
int sst_verify_data_block(const sst_reader *r, size_t i, const char *p, blk *out);
/* First index entry whose separator is >= the internal key t; nidx if none. */
size_t sst_index_lower_bound(const sst_reader *r, const char *t, size_t tn);
/* With the file mapped: data block i in place, verified the first time it is touched. */
int sst_map_block(const sst_reader *r, size_t i, blk *out);
/* Reads data block i from the file into a fresh cblock (owned by the caller) and verifies
 * it. */
int sst_load_cblock(const sst_reader *r, size_t i, cblock **out);
/* Pins data block i through the cache (reading and inserting it on a miss); counts the
 * block in probe (optional) as a cache or disk read. */
int sst_pin_block(const sst_reader *r, size_t i, sst_probe *probe, cache_handle **h);

#endif
