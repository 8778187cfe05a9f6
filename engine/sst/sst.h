/* sst.h: SSTables, the immutable sorted files of the tree. The format (data blocks with
 * prefix-compressed keys and restart points, one bloom filter per file, index block,
 * properties block, footer with magic number, a crc32c trailer on every block) is
 * described byte by byte in docs/format.md and at the top of sst_builder.c.
 *
 * Integrity: a block is verified before any of its entries is used: its checksum, and for
 * a data block the order of its keys (ascending within the block, above the previous
 * block's index key and at most its own, within the file's smallest / largest key), one
 * decode pass. A block that fails gives AM_ERR_CORRUPT naming the file and offset, on
 * every read. When the check happens depends on the read (docs/format.md, "Reading"):
 *
 *   - Point lookups (sst_reader_get) and SST_READ_SHARED iterators (the user iterators of
 *     db_read.c) trust a block verified once: in the mapping, the first time this reader
 *     touches it (a bitmap remembers); through the cache, on its way in. Bytes that change
 *     on disk afterwards (through the mapping, a cached copy is private) are not seen by
 *     these checks while this reader lives. That is accepted: such a read hands what it
 *     read to one caller and writes it nowhere; a new reader (a reopen) checks again; and
 *     re-verifying a 4 KiB block per lookup would cost more than the lookup.
 *   - SST_READ_VERIFIED_PRIVATE iterators (compaction inputs: db_bg.c via run_iter.c) trust
 *     nothing read before: every block is read with pread into the iterator's own buffer
 *     and verified there, every time. What a merge reads is written into new files with
 *     good checksums and its inputs are deleted, so damage copied from a block verified
 *     long ago would be laundered for good; reading from the mapping would also let a
 *     block change between its check and its use, and a file cut short under a mapping
 *     stops the process (SIGBUS) where pread returns a short read (AM_ERR_CORRUPT).
 *
 * Thread safety: a builder is used by one thread. A reader is immutable once open: any
 * number of threads may call sst_reader_get and iterate it at once. */
#ifndef AM_SST_SST_H
#define AM_SST_SST_H

#include <stddef.h>
#include <stdint.h>
#include "../util/env.h"
#include "../util/iter.h"
#include "cache.h"

typedef struct sst_options {
    size_t block_bytes;       /* a data block is cut once it reaches this size */
    int index_stride;         /* keys per restart point inside a block */
    int bloom_bits_per_key;   /* 0: no filter block */
} sst_options;

/* What a finished file holds; keys are internal keys, copied into owned memory. */
typedef struct sst_file_info {
    uint64_t file_bytes, entries, deletions;
    uint64_t min_seq, max_seq;
    char *smallest; size_t smallest_len;   /* owned (malloc) */
    char *largest;  size_t largest_len;    /* owned (malloc) */
} sst_file_info;
void sst_file_info_clear(sst_file_info *fi);   /* frees the keys */

typedef struct sst_builder sst_builder;
/* Creates path. *out NULL on failure. */
int sst_builder_new(am_env *env, const char *path, const sst_options *o, sst_builder **out);
/* Adds an entry. REQUIRES: ikey greater than every key added before. Errors are sticky:
 * once an add fails, later adds do nothing and finish returns the first error. */
int sst_builder_add(sst_builder *b, const char *ikey, size_t n, const char *v, size_t vn);
uint64_t sst_builder_entries(const sst_builder *b);
uint64_t sst_builder_file_bytes(const sst_builder *b);   /* estimate of the size so far */
/* Writes the remaining blocks and footer, syncs and closes the file, fills *info and frees
 * b. On error the file is left for the caller to remove. */
int sst_builder_finish(sst_builder *b, sst_file_info *info);
/* Closes and frees without finishing; the caller removes the file. Accepts NULL. */
void sst_builder_abandon(sst_builder *b);

/* Counters of one lookup, added by the caller to the engine's statistics. */
typedef struct sst_probe {
    uint32_t bloom_checks, bloom_negatives;
    uint32_t blocks_cache, blocks_disk;   /* data blocks from the cache / from the file */
    uint32_t searched;                    /* 1 when a data block was searched */
} sst_probe;

typedef struct sst_reader sst_reader;
/* Opens and validates footer, index, filter and properties (kept in memory while open).
 * AM_ERR_CORRUPT with a message naming the file for a bad magic number or checksum, index
 * entries out of order, or smallest / largest keys outside the index's range. Data blocks
 * are not read here: each is verified when first used (above). */
int sst_reader_open(am_env *env, const char *path, uint64_t file_id, blk_cache *cache,
                    sst_reader **out);
void sst_reader_free(sst_reader *r);           /* accepts NULL */
uint64_t sst_reader_file_bytes(const sst_reader *r);
/* The properties recorded in the file (entries, deletions, seqs, smallest / largest key)
 * and its size. Borrowed: valid while r is open. */
const sst_file_info *sst_reader_props(const sst_reader *r);

/* Point lookup of user key k as of seq. found() is called at most once, with the newest
 * entry of k whose sequence <= seq, while its block is pinned (v borrowed for the call);
 * its return value is returned. Returns AM_NOT_FOUND if no such entry, AM_ERR_CORRUPT /
 * AM_ERR_IO on a bad or unreadable block. Consults the bloom filter first. */
typedef int (*sst_found_fn)(void *arg, int kind, const char *v, size_t vn);
int sst_reader_get(sst_reader *r, const void *k, size_t kn, uint64_t seq, sst_probe *probe,
                   sst_found_fn found, void *arg);
/* The same with the key's am_hash64 computed by the caller: a lookup that probes several
 * files hashes its key once. */
int sst_reader_get_hashed(sst_reader *r, const void *k, size_t kn, uint64_t hash,
                          uint64_t seq, sst_probe *probe, sst_found_fn found, void *arg);
/* 1 if the bloom filter says k may be present (or there is no filter). */
int sst_reader_may_match(sst_reader *r, const void *k, size_t kn);

/* How an iterator reaches data blocks (see Integrity, above). 0 is not a mode. */
typedef enum sst_read_mode {
    /* The reader's shared blocks: in place in the mapping, or pinned through the block cache
       (filling it); each verified once. For user iterators, like point lookups. */
    SST_READ_SHARED = 1,
    /* Verified private read: blocks read with pread into the iterator's own buffer, in
       512 KiB sequential chunks, around the mapping and the cache; every block verified
       each time it is read. For compaction inputs. */
    SST_READ_VERIFIED_PRIVATE = 2
} sst_read_mode;

/* Iterator over every entry, reading blocks as mode says. The reader must outlive the
 * iterator. NULL only on OOM; an unknown mode gives an iterator whose status is
 * AM_ERR_INVALID. */
am_iiter *sst_iter_new(sst_reader *r, sst_read_mode mode);

/* Salvage (repair): the number of data blocks, and an iterator over data block i alone,
 * read with pread around the cache. The block is verified at the first seek (checksum, and
 * its keys in order within its index bounds, as every verified read); a
 * damaged block or entry makes the iterator invalid with status AM_ERR_CORRUPT naming the
 * file and offset (AM_ERR_IO for a failed read), so the blocks after it can still be read
 * through iterators of their own. The reader must outlive the iterator. NULL only if even
 * the error iterator cannot be allocated; i out of range gives one with AM_ERR_INVALID. */
size_t sst_reader_data_blocks(const sst_reader *r);
am_iiter *sst_block_iter_new(sst_reader *r, size_t i);

#endif
