/* testutil_sst.h: SSTables damaged on purpose but with valid checksums, for the tests of
 * what the readers check beyond checksums (the order of keys and blocks). A test patches
 * bytes of a file written by the real builder (entries or whole blocks swapped), then
 * tu_sst_reseal() recomputes every checksum (framing of docs/format.md, "Blocks on disk"
 * and "Footer"), so only the deeper checks can notice. Include after <cmocka.h>. */
#ifndef AM_TESTUTIL_SST_H
#define AM_TESTUTIL_SST_H

#include <stddef.h>
#include <stdint.h>

/* One block of a file: contents at off, size bytes (the 5-byte trailer follows). */
typedef struct tu_sst_block {
    uint64_t off, size;
} tu_sst_block;

/* The data blocks of the SSTable in d[0..n) (from its footer and index), in file order,
 * into out[0..max); returns how many there are. Fails the test on a malformed file. */
size_t tu_sst_data_blocks(const char *d, size_t n, tu_sst_block *out, size_t max);

/* Recomputes the crc of every block (data blocks, filter, properties, index) and of the
 * footer of the SSTable in d[0..n), in place. Handles and sizes are read from the footer
 * and the index, so patches must leave those (and every block's size) as they were. */
void tu_sst_reseal(char *d, size_t n);

/* Offset of the first occurrence of needle in d[0..n); fails the test if there is none. */
size_t tu_find(const char *d, size_t n, const void *needle, size_t nn);

/* Swaps the len bytes at a with the len bytes at b (non-overlapping) in d. */
void tu_swap_bytes(char *d, size_t a, size_t b, size_t len);

#endif
