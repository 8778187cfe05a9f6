/* leveldb_log.h: LevelDB's info log (the LOG file in its database directory) read as a
 * record of events, for the leveldb adapter's counters and busy() (leveldb.c). LevelDB
 * has no counters API, but it appends one line per event and flushes at once:
 *   "Level-0 table #N: started"                         a memtable flush begins
 *   "Level-0 table #N: B bytes OK"                      it wrote table N, B bytes
 *   "Compacting a@l + b@l+1 files"                      a compaction begins
 *   "Generated table #N@l: K keys, B bytes"             it wrote table N, B bytes
 *   "Compacted a@l + b@l+1 files => B bytes"            it finished, B bytes in all
 *   "compacted to: ..." / "Compaction error: ..."       it ended
 *   "Delete type=2 #N"                                  table N became obsolete and went
 *   "Current memtable full; waiting..." / "Too many L0 files; waiting..."   a write stalled
 * The LOG is read incrementally (only whole lines; never written): flush bytes and
 * compaction bytes written are exact; compaction bytes read are the sizes of the tables
 * deleted as obsolete (every table LevelDB deletes was a compaction input), exact in sum
 * but charged when the file is deleted, which can lag the compaction: approximate.
 *
 * Not thread-safe: the adapter holds its mutex around every call. */
#ifndef AM_HARNESS_LEVELDB_LOG_H
#define AM_HARNESS_LEVELDB_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ldb_log {
    int fd;                       /* -1: no LOG: its figures are unavailable */
    uint64_t off;                 /* bytes read */
    char line[1024];              /* the current line so far */
    size_t len;
    int overlong;                 /* the current line outgrew line: skipped */
    uint64_t flush_bytes, flushes, flushes_started, flushes_ended;
    uint64_t comp_written, compactions, comp_read, stalls;
    int compacting;               /* a compaction has begun and not ended */
    uint32_t *size;               /* table number -> bytes (0: unknown or deleted); owned */
    size_t nsize;
    uint64_t changed_ns;          /* last time the LOG grew (ldb_now_ns) */
} ldb_log;

/* A log with no file (fd -1), nothing read. */
void ldb_log_init(ldb_log *l);
/* Opens dir/LOG (the one the latest open started; an earlier one is LOG.old). Without
   it, fd stays -1 and the LOG's figures are unavailable. */
void ldb_log_open(ldb_log *l, const char *dir);
/* Closes the file and frees the table map; l may be reinitialized. */
void ldb_log_free(ldb_log *l);
/* Records table n's size (the tables live at open, from "leveldb.sstables"), so a
   compaction that deletes it later is charged its bytes. An allocation failure only loses
   the size (compaction bytes read come out lower: they are approximate anyway). */
void ldb_log_table(ldb_log *l, uint64_t n, uint64_t bytes);
/* Reads what LevelDB appended since the last call and counts its events. */
void ldb_log_poll(ldb_log *l);
/* CLOCK_MONOTONIC in nanoseconds (changed_ns' clock). */
uint64_t ldb_now_ns(void);

#endif
