/* crc32c.h: CRC-32C (Castagnoli), the checksum of every WAL record, MANIFEST record and
 * SSTable block. Debian ships no C library for it (only a Python one), so it is written
 * here: SSE4.2's crc32 instruction when the CPU has it (checked once, at first use, with
 * the runtime CPU test), a slicing-by-8 table otherwise. */
#ifndef AM_UTIL_CRC32C_H
#define AM_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of data appended to a stream whose CRC so far is crc (0 to start). */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);
/* The table-driven path alone, so tests can compare it with the hardware one. */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n);
static inline uint32_t crc32c_value(const void *data, size_t n) { return crc32c_extend(0, data, n); }

/* Stored CRCs are masked (as leveldb does) so that a CRC of data that itself holds CRCs is
 * not degenerate. */
static inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
static inline uint32_t crc32c_unmask(uint32_t m) { uint32_t r = m - 0xa282ead8u; return (r >> 17) | (r << 15); }

#endif
