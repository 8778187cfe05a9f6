/* testutil_recovery.h: what the recovery tests share (test_recovery.c,
 * test_manifest_edits.c): pictures of a directory to prove a refused open changed
 * nothing, an open that must be refused, the files of a database found by name, log
 * files (the WAL and the MANIFEST) read record by record and written again with the real
 * log writer, and the database of the reproduction. Include after <cmocka.h>;
 * every helper fails the test on error. */
#ifndef AM_TESTUTIL_RECOVERY_H
#define AM_TESTUTIL_RECOVERY_H

#include <stddef.h>
#include <stdint.h>
#include "amethyst.h"
#include "util/env.h"

/* A malloc'd picture of dir: every entry's name, size and a hash of its bytes, sorted by
 * name; with data_only, of its logs and SSTables only. */
char *tu_dir_picture(const char *dir, int data_only);
/* am_open_msg(dir, o) must fail with AM_ERR_CORRUPT and a message holding every string of
 * want (NULL ended), and leave dir as it was (with data_only: its logs and SSTables:
 * a refused replay runs after recovery rewrote the MANIFEST as a snapshot of the same
 * state). ctx goes into the failure message. */
void tu_open_refused(const char *dir, const am_options *o, const char *const *want,
                     int data_only, const char *ctx);

/* The path of the file in dir whose name starts with pat (ends with it, with suffix) and
 * has the highest number; fails if there is none. */
void tu_find_last(const char *dir, const char *pat, int suffix, char *out, size_t cap);
const char *tu_base_name(const char *path);       /* the part after the last '/' */

/* Start offsets of the records of the log file at path (framing as wal.h): returns how
 * many (at most max); *end (if not NULL) is the offset just past the last. */
size_t tu_record_offsets(const char *path, uint64_t *offs, size_t max, uint64_t *end);

/* Every record of a log file, copied. */
typedef struct tu_records {
    char **p;
    size_t *n;
    size_t count;
} tu_records;
tu_records tu_read_records(am_env *env, const char *path);
void tu_records_free(tu_records *rs);
/* Writes the records order[0..n) of rs to path (created or truncated) with the real log
 * writer, and syncs it; an index equal to rs->count writes an empty batch (sequence 0,
 * count 0). Returns the offset at which the record at index at of order went. */
uint64_t tu_write_records(am_env *env, const char *path, const tu_records *rs,
                          const size_t *order, size_t n, size_t at);

/* am_put / am_get of strings; want NULL: not found. */
void tu_put_str(am_db *db, const char *k, const char *v);
void tu_expect_str(am_db *db, const char *k, const char *want, const char *ctx);

/* The reproduction in a fresh dir: key0000 = "old" and key0001 .. key0499 =
 * "v<i>", am_flush; key0000 = "new", am_flush; close. o must flush only when told (a big
 * memtable) and never merge. The newest SSTable's path (the second flush's) goes to
 * newest_sst. */
void tu_two_flushes(const char *dir, const am_options *o, char *newest_sst, size_t cap);
/* key0000 = first and key0001 .. key0499 = "v<i>": put, or expected. */
void tu_put_500(am_db *db, const char *first);
void tu_expect_500(am_db *db, const char *first, const char *ctx);

#endif
