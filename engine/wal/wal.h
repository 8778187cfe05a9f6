/* wal.h: the log format shared by the write-ahead log and the MANIFEST.
 *
 * A log file is a sequence of records, each:
 *   fixed32 masked crc32c of (type byte + payload) | fixed32 payload length | 1 byte type |
 *   payload
 * Type 1 (WAL_FULL) is the only type; the constant is on disk: never renumber.
 *
 * Recovery rules (wal_reader_next): a record that fails its length, type or checksum check
 * is a torn tail when nothing was appended after it: its declared end is past the end of
 * the file, or every byte from its declared end to the end of the file is zero (a crash
 * during its own append; a mapped log reserves zeroed space ahead, and its appends store
 * the 8-byte crc + length first, so a killed append always has a whole header). Reading
 * stops there and the tail is reported, not an error. A bad record with data after it is
 * corruption: AM_ERR_CORRUPT naming the file and offset.
 *
 * Thread safety: a writer or reader is used by one thread at a time. */
#ifndef AM_WAL_WAL_H
#define AM_WAL_WAL_H

#include <stddef.h>
#include <stdint.h>
#include "../util/env.h"
#include "../util/coding.h"

enum { WAL_FULL = 1 };
#define WAL_HEADER 9
#define WAL_MAX_RECORD (UINT32_C(1) << 30)

typedef struct wal_writer wal_writer;

/* Creates (truncates) path. *out NULL on failure. */
int wal_writer_open(am_env *env, const char *path, wal_writer **out);
/* Frames payload and appends header + payload with one env append (one system call).
 * Returns AM_OK or the env's error; after an error the writer refuses further adds. */
int wal_writer_add(wal_writer *w, const void *payload, size_t n);
int wal_writer_sync(wal_writer *w);
uint64_t wal_writer_size(const wal_writer *w);   /* bytes written so far */
/* Closes (without sync) and frees; accepts NULL. */
int wal_writer_close(wal_writer *w);

typedef struct wal_reader wal_reader;
int wal_reader_open(am_env *env, const char *path, wal_reader **out);
/* Next record: AM_OK with *rec / *n borrowed until the next call; AM_NOT_FOUND at the end
 * (including a torn tail); AM_ERR_CORRUPT for damage before the end. */
int wal_reader_next(wal_reader *r, const char **rec, size_t *n);
/* The offset in the file of the record the last successful wal_reader_next returned (its
 * header's first byte), for messages that name a record; 0 before the first. */
uint64_t wal_reader_offset(const wal_reader *r);
/* After AM_NOT_FOUND: 1 if the log ended in a torn record, and where the valid part ends. */
int wal_reader_torn(const wal_reader *r, uint64_t *valid_bytes);
void wal_reader_close(wal_reader *r);           /* accepts NULL */

#endif
