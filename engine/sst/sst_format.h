/* sst_format.h: constants of the SSTable file format shared by the builder and the reader
 * (internal to engine/sst). The bytes are described at the top of sst_builder.c and in
 * docs/format.md. Everything here is written to disk: never renumber. */
#ifndef AM_SST_FORMAT_H
#define AM_SST_FORMAT_H

#include <stdint.h>

/* The last 8 bytes of every SSTable: "AMETHST1" when read as bytes. */
#define SST_MAGIC UINT64_C(0x3154534854454d41)
#define SST_FORMAT_VERSION 1u
#define SST_FOOTER_SIZE 64

/* Footer field offsets. */
enum {
    SST_FOOT_FILTER = 0,      /* fixed64 offset, fixed64 size */
    SST_FOOT_INDEX = 16,
    SST_FOOT_PROPS = 32,
    SST_FOOT_VERSION = 48,    /* fixed32 */
    SST_FOOT_CRC = 52,        /* fixed32 masked crc32c of bytes [0, 52) */
    SST_FOOT_MAGIC = 56       /* fixed64 */
};

/* Property record tags. */
enum {
    SST_PROP_VERSION = 1,     /* varint32 */
    SST_PROP_ENTRIES = 2,     /* varint64 */
    SST_PROP_DELETIONS = 3,   /* varint64 */
    SST_PROP_MIN_SEQ = 4,     /* varint64 */
    SST_PROP_MAX_SEQ = 5,     /* varint64 */
    SST_PROP_SMALLEST = 6,    /* raw internal key */
    SST_PROP_LARGEST = 7,     /* raw internal key */
    SST_PROP_DATA_BLOCKS = 8  /* varint64 */
};

/* Where a block lives: contents start at off and span size bytes; the 5-byte trailer
 * follows. */
typedef struct sst_handle {
    uint64_t off, size;
} sst_handle;

#endif
