/* fuzz_sst.h: what the two SSTable targets (target_sst.c: raw bytes; target_sst_framed.c:
 * a framed description) share: the walk over one file that both run, the framed format and
 * its builder, and seed files written by the real builder. */
#ifndef AM_FUZZ_SST_H
#define AM_FUZZ_SST_H

#include <stddef.h>
#include <stdint.h>

#include "util/coding.h"

/* Everything a reader of path (an SSTable of untrusted contents, file number 7) can be asked:
 *   - open it twice: on fuzz_env() (mapped) and on fuzz_env_pread() (pread, block cache);
 *   - iterate it mapped, through the cache and around it (read-ahead), and check the three
 *     walks agree (same entries, same status); a corruption must name the file;
 *   - point lookups (both readers, which must agree) of sampled keys seen by the walk, at
 *     their own sequence and the newest, and of keys next to them that may not be there;
 *   - seeks to the sampled keys;
 *   - a merge of the whole file through the merge kernel (merge_run) into a scratch
 *     directory, as a compaction would (bottommost when knobs & 1, one snapshot in the
 *     middle of the sequence range when knobs & 2); each output must open, be strictly
 *     ascending and hold what the merge says it wrote;
 *   - last, a walk that ended without error must have been in strictly ascending order.
 * Statuses other than AM_OK / AM_NOT_FOUND / AM_ERR_CORRUPT stop the process. */
void fuzz_sst_exercise(const char *path, unsigned knobs);

/* The framed SSTable format: the input is a sequence of sections,
 *   tag (1 byte) | length (2 bytes, little-endian) | body (length bytes; the last one may be
 *   cut short by the end of the input),
 * where tag & 7 says what the section is and tag >> 3 is its parameter p:
 *   0 ENTRIES  a data block made by the engine's block builder (restart every p + 1
 *              entries) from the entries of the body, in the order given (nothing sorts
 *              them): ulen (1 byte) | user key | seq (1 byte) | kind (1 byte, as is) |
 *              vlen (1 byte) | value; the internal key is user key + fixed64 (seq << 8 | kind)
 *   1 RAW      a data block whose contents are the body, as is
 *   2 INDEX    the index block's contents; without one the index is generated: an entry per
 *              data block, its last key (or, when it has none, a key above the previous
 *              one) to its handle
 *   3 PROPS    the properties block's contents; without one they are generated (version 1,
 *              counts, sequences, smallest and largest of the ENTRIES blocks)
 *   4 FILTER   the filter block's contents
 *   5 BLOOM    a filter generated over the user keys of the ENTRIES blocks, p + 1 bits a key
 *   6 GAP      the body is written before the next block: bytes that no handle covers
 *   7 VERSION  the footer's format version becomes the body's first byte (default 1)
 * The file is laid out as the builder does (data blocks, filter, properties, index,
 * footer); every block gets a valid trailer (type 0, checksum) and the footer valid handles
 * and checksum, so the fuzzer reaches the block, index, filter and properties decoders.
 * Appends the file's bytes to file. */
void fuzz_sst_frame_build(const uint8_t *data, size_t size, am_buf *file);
/* The framed equivalent of a real SSTable's bytes (RAW, FILTER, PROPS and INDEX sections
 * of its blocks as they are), appended to framed. Fails the process if file is not one
 * the reader opens. */
void fuzz_sst_frame_of_file(const char *file, size_t n, am_buf *framed);
/* Appends one section to b. */
void fuzz_sst_put_section(am_buf *b, unsigned tag, const void *body, size_t n);

/* Seed SSTables written by the real builder (a few keys each: tiny with a filter, several
 * blocks with versions and deletions, empty, a long key, many keys with a filter). */
typedef struct fuzz_blob {
    char name[48];
    char *data;                  /* owned (malloc) */
    size_t n;
} fuzz_blob;
#define FUZZ_SST_SEEDS 5
void fuzz_sst_seed_files(fuzz_blob out[FUZZ_SST_SEEDS]);

#endif
