/* amethyst.h: the one public header of libamethyst, an LSM-tree key-value store whose
 * compaction policy is a plug-in.
 *
 * Thread safety: an am_db may be used from any number of threads at once; concurrent
 * writers are grouped into one WAL append (group commit). An am_batch or am_iter belongs
 * to one thread at a time. Keys compare bytewise (memcmp, shorter first on a tie).
 *
 * Errors: every call returns an int status. AM_OK is 0, AM_NOT_FOUND is 1, errors are
 * negative. am_strerror() names any status; am_errmsg() gives the detail (path, OS error,
 * file offset) of the most recent error seen by a database handle.
 *
 * Limits: keys are 1 .. AM_MAX_KEY_BYTES bytes, values 0 .. AM_MAX_VALUE_BYTES bytes; a
 * larger one is refused with AM_ERR_INVALID and nothing is written.
 *
 * On-disk formats are described in docs/format.md. */
#ifndef AMETHYST_H
#define AMETHYST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Statuses: one list, so the enum and am_strerror() cannot disagree. */
#define AM_STATUS_LIST(X)                                                              \
    X(AM_OK, 0, "ok")                                                                   \
    X(AM_NOT_FOUND, 1, "not found")                                                     \
    X(AM_ERR_INVALID, -1, "invalid argument")                                           \
    X(AM_ERR_IO, -2, "I/O error")                                                       \
    X(AM_ERR_CORRUPT, -3, "corruption")                                                 \
    X(AM_ERR_NOMEM, -4, "out of memory")                                                \
    X(AM_ERR_READONLY, -5, "database is read-only after a background error")          \
    X(AM_ERR_BUSY, -6, "database is locked by another process")                        \
    X(AM_ERR_EXISTS, -7, "database already exists")                                    \
    X(AM_ERR_NOSPACE, -8, "no space left on device")

enum {
#define AM_STATUS_ENUM(name, value, text) name = (value),
    AM_STATUS_LIST(AM_STATUS_ENUM)
#undef AM_STATUS_ENUM
};

/* Words for a status; never NULL (unknown values give "unknown status"). */
const char *am_strerror(int status);

#define AM_MAX_KEY_BYTES   (64u * 1024u)          /* 64 KiB */
#define AM_MAX_VALUE_BYTES (64u * 1024u * 1024u)  /* 64 MiB */

typedef struct am_db am_db;
typedef struct am_batch am_batch;
typedef struct am_iter am_iter;
typedef struct am_snapshot am_snapshot;

typedef struct am_options {
    int create_if_missing;       /* default 1 */
    int error_if_exists;         /* default 0 */
    const char *strategy;        /* "leveled" (default) | "tiered" | "lazy-leveled" |
                                    "triangular" | "adaptive" (docs/strategies.md);
                                    borrowed during am_open */
    size_t memtable_bytes;       /* flush threshold; default 4 MiB, 64 KiB .. 1 GiB */
    size_t block_bytes;          /* data block size; default 4 KiB, 256 B .. 1 MiB */
    size_t block_cache_bytes;    /* LRU block cache; default 8 MiB, 0 disables it */
    size_t target_file_bytes;    /* compaction output split size; default 2 MiB */
    int index_stride;            /* keys per restart point (sparse index); default 16 */
    int bloom_bits_per_key;      /* 0: no bloom filters; default 10, at most 64 */
    int sync_wal;                /* fsync the WAL before every write returns; default 0 */
    int background_threads;      /* 0: flush and compact inline, deterministically;
                                    default 1, at most 16 */
    int max_frozen_memtables;    /* writers stop when this many wait to flush; default 2 */
    int l0_slowdown_files;       /* writers are slowed 1 ms per write from here; default 8 */
    int l0_stop_files;           /* writers wait from here; default 12 */
    int level_fanout;            /* size ratio between levels; 0 (default): 10, triangular 2 */
    size_t l1_target_bytes;      /* leveled: size of L1; default 4 * memtable_bytes */
    int l0_compaction_trigger;   /* leveled: L0 files that start a merge; default 4 */
    int tier_fanout;             /* tiered, lazy-leveled, adaptive's tiered parts: runs of
                                    about the same size that merge into one; default 4,
                                    2 .. 64 (L0 merges at min(tier_fanout,
                                    l0_slowdown_files - 1) runs, never slowing writers) */
    /* adaptive: the controller (docs/strategies.md). Its clock counts seconds, or user
       operations (puts, deletes, point lookups, iterator seeks) when adapt_clock_ops is 1,
       so that the same operations give the same switches (amethystd -deterministic). */
    int adapt_clock_ops;         /* default 0: seconds */
    double adapt_window;         /* counter history judged per segment; default 2 s or
                                    100000 ops */
    double adapt_cooldown;       /* a segment (or its outputs) switched this recently does
                                    not switch again; default 3 s or 300000 ops */
    double adapt_global_cooldown;/* at least this between two switch jobs starting;
                                    default 0.5 s or 10000 ops */
    double adapt_read_threshold; /* tiered -> leveled once reads are at least this share of
                                    a segment's operations over the window; default 0.7 */
    double adapt_write_threshold;/* leveled -> tiered once writes are at least this share;
                                    default 0.7 */
    const struct am_env *env;    /* file system; NULL: POSIX. Borrowed, must outlive the db */
} am_options;

/* Fills every field with its default (a few are 0: "the default that applies", below). */
void am_options_init(am_options *o);
/* Replaces each 0 that stands for a default with the value that applies to o->strategy
 * (level_fanout: 10, triangular 2; l1_target_bytes: 4 * memtable_bytes; the adapt_*
 * defaults of the clock chosen), as am_open does; other fields are left as they are. */
void am_options_resolve(am_options *o);
/* Checks o as am_open would (after am_options_resolve on a copy) without touching any
 * file: AM_OK, or AM_ERR_INVALID with a one-line reason in msg (if msg is not NULL). */
int am_options_check(const am_options *o, char *msg, size_t msgcap);
/* The strategy names am_options.strategy accepts, comma-separated in registry order
 * ("leveled, tiered, ..."); a static string, never NULL. */
const char *am_strategy_names(void);

/* Opens (and, with create_if_missing, creates) the database in dir, recovering from the
 * WAL whatever a crash left unflushed. On failure *out is NULL and am_open_msg() writes
 * a one-line reason naming the path and OS error into msg (if msg is not NULL); a damaged
 * database is AM_ERR_CORRUPT naming the file (docs/format.md, "Recovery") and deletes no
 * SSTable or log. A failed open removes the LOCK file and the log it created itself, and
 * the directory if it created it and it is empty again. */
int am_open(const char *dir, const am_options *o, am_db **out);
int am_open_msg(const char *dir, const am_options *o, am_db **out, char *msg, size_t msgcap);
/* Stops background work (a merge in progress is abandoned and its inputs stay live; a
 * flush in progress is abandoned and its log kept), syncs the WAL, frees db. Unflushed
 * writes stay in the WAL and are recovered by the next open. Accepts NULL. Returns the
 * first background error, if any. REQUIRES: no iterator or snapshot still open. */
int am_close(am_db *db);
/* Detail of the most recent error on this handle; "" when none. Valid until the next call
 * on db that fails; with several threads failing at once, it may describe another one's. */
const char *am_errmsg(am_db *db);

/* Repair (docs/format.md, "Repair"; the tool amethyst_repair DIR calls it): rebuilds the
 * database in dir from the SSTables and logs it can read, for a database am_open refuses
 * as damaged. Takes dir's LOCK; reads CURRENT and the MANIFESTs for the strategy, the log
 * number (logs below it are already in SSTables) and the tables their edits removed
 * (obsolete); reads every other SSTable block by block, verifying each checksum and the
 * order of the entries; replays every log at or above that log number into memory, up to
 * its first damage. Then ONE merge through the engine's merge kernel writes everything
 * read as one sorted run on the last level, keeping per user key only the newest entry
 * (tombstones too); a fresh empty log and a new MANIFEST naming the run follow (the
 * MANIFEST complete and synced before CURRENT names it). Finally every file of the old
 * tree (SSTables, logs, MANIFESTs, leftover *.tmp files, and a copy of the old CURRENT) is
 * renamed into dir/lost/, created if needed. Nothing is deleted: a name already in lost/
 * gets a suffix (.1, .2, ...). From a damaged SSTable the blocks that verify are kept, from
 * a damaged log the records before the damage. Killed at any point, dir and dir/lost
 * still hold every file, and a second run finishes the job. am_open then reads exactly
 * what was recovered; remove dir/lost once the data reads as expected.
 * Why one merge: tables from a tree whose shape is lost can overlap with interleaved
 * sequence ranges, and a log can repeat entries a table holds; one merge answers every
 * lookup with the newest version whatever the inputs. Cost: each byte kept is read twice
 * and written once (a full compaction), the logs' contents are held in memory, and lost/
 * keeps the old files (twice the space until it is removed).
 *
 * o may be NULL (am_options_init's defaults). o->strategy NULL keeps the strategy the old
 * MANIFEST recorded ("leveled" when none is readable); o->env (borrowed for the call),
 * block_bytes, index_stride, bloom_bits_per_key and target_file_bytes shape the tables
 * written; every field is checked as am_open checks it. report, if not NULL, is called
 * with one line (no newline; borrowed for the call) per file read, per table written, per
 * file set aside, and a summary last; arg is passed through.
 * Returns AM_OK, or: AM_ERR_BUSY when a handle holds dir open; AM_ERR_INVALID for bad
 * options, a missing dir, or one holding no database file; AM_ERR_CORRUPT for a file
 * number above 2^63 (no room left to number new files); AM_ERR_IO, AM_ERR_NOSPACE,
 * AM_ERR_NOMEM when the file system or memory fails, a failed read included (it may pass:
 * nothing is then written; damaged files, which the readers find by their checksums and
 * lengths, are no error: the report names them). On failure msg (if not NULL) gets a one-line reason naming the path
 * and OS error. */
int am_repair(const char *dir, const am_options *o,
              void (*report)(void *arg, const char *line), void *arg,
              char *msg, size_t msgcap);

int am_put(am_db *db, const void *k, size_t kn, const void *v, size_t vn);
int am_delete(am_db *db, const void *k, size_t kn);
/* Reads k as of snapshot s (NULL: latest). On AM_OK, *v is a malloc'd copy of the value
 * (free it with am_free) and *vn its length; on any other status *v is NULL. */
int am_get(am_db *db, const am_snapshot *s, const void *k, size_t kn, void **v, size_t *vn);
/* Like am_get but copies at most cap bytes into buf and needs no allocation; *vn is the
 * full length of the value, which may exceed cap. */
int am_get_into(am_db *db, const am_snapshot *s, const void *k, size_t kn, void *buf,
                size_t cap, size_t *vn);
void am_free(void *p);                       /* frees what am_get returned; accepts NULL */

/* A batch applies atomically, also across a crash. On allocation failure am_batch_new
 * returns NULL; batch functions return AM_ERR_NOMEM and leave the batch as it was. */
am_batch *am_batch_new(void);
int  am_batch_put(am_batch *b, const void *k, size_t kn, const void *v, size_t vn);
int  am_batch_delete(am_batch *b, const void *k, size_t kn);
void am_batch_clear(am_batch *b);
void am_batch_free(am_batch *b);             /* accepts NULL */
size_t am_batch_count(const am_batch *b);
/* Writes b atomically; sync forces an fsync of the WAL for this write even without
 * sync_wal. The batch is not consumed. */
int  am_write(am_db *db, am_batch *b, int sync);

/* A snapshot pins a sequence number: reads through it see the database as it was. NULL
 * on allocation failure. Release every snapshot before am_close. */
const am_snapshot *am_snapshot_new(am_db *db);
void am_snapshot_release(am_db *db, const am_snapshot *s);

/* Forward iterator over the live keys as of s (NULL: now). The iterator pins the files it
 * reads; free it before am_close. NULL on allocation failure. */
am_iter *am_iter_new(am_db *db, const am_snapshot *s);
void am_iter_seek_first(am_iter *it);
void am_iter_seek(am_iter *it, const void *k, size_t kn); /* first key >= k */
int  am_iter_valid(const am_iter *it);
void am_iter_next(am_iter *it);               /* REQUIRES: am_iter_valid(it) */
/* Borrowed: valid until the iterator next moves or is freed. REQUIRES: valid. */
const void *am_iter_key(const am_iter *it, size_t *kn);
const void *am_iter_value(const am_iter *it, size_t *vn);
int  am_iter_status(const am_iter *it);       /* AM_OK, or the error that ended it */
void am_iter_free(am_iter *it);               /* accepts NULL */

int am_flush(am_db *db);     /* memtable to an SSTable; returns when durable */
int am_compact(am_db *db);   /* run the strategy until it picks nothing; returns when done */
/* Non-zero while a flush or compaction is running or waiting to run. */
int am_busy(am_db *db);

/* Why a strategy picked a compaction; am_stats counts them per reason. */
enum {
    AM_REASON_L0 = 0,            /* L0 file count reached its trigger */
    AM_REASON_LEVEL_SIZE,        /* a level exceeded its target size */
    AM_REASON_TIER_FULL,         /* enough runs of about the same size to merge */
    AM_REASON_SWITCH_LEVELED,    /* adaptive: tiered segments under read pressure */
    AM_REASON_SWITCH_TIERED,     /* adaptive: leveled segments under write pressure */
    AM_REASON_MANUAL,
    AM_REASONS
};
/* "L0", "size", "tier", "switch-leveled", "switch-tiered", "manual"; "?" out of range. */
const char *am_reason_name(int reason);

/* The engine's counters, each declared once here. AM_STATS_COUNTERS lists the cumulative
 * ones, X(name), in am_stats order: it generates am_stats' fields, the engine's relaxed
 * atomics and am_stats_get's copy. AM_STATS_COUNTER_ARRAYS lists the cumulative ones kept
 * per index, X(name, n). AM_STATS_GAUGES lists the state am_stats_get computes from the
 * current version and memtables when it is called (not counted). Adding a counter: a line
 * here, the line that increments it, and its definition in docs/metrics.md. */
#define AM_STATS_COUNTERS(X)                                                               \
    X(user_bytes_written)        /* keys + values of puts, keys of deletes */              \
    X(user_puts) X(user_deletes) X(user_batches)                                           \
    X(wal_bytes)                 /* bytes appended to the WAL, record headers included */  \
    X(wal_syncs) X(wal_appends)                                                            \
    X(flushes) X(flush_bytes_written)                                                      \
    X(compactions)               /* merges and moves */                                    \
    X(compaction_bytes_read)     /* input bytes of merges (a move reads nothing) */        \
    X(compaction_bytes_written)                                                            \
    X(point_lookups) X(lookups_found)                                                      \
    X(segments_probed)           /* segments whose data a lookup really searched */        \
    X(blocks_read_cache)         /* data blocks served by the block cache */               \
    X(blocks_read_disk)          /* data blocks read from a file or its mapping (a mapped  \
                                    file's blocks bypass the block cache) */               \
    X(bloom_checks) X(bloom_negatives)                                                     \
    X(strategy_switches) X(switches_to_leveled) X(switches_to_tiered)                      \
    X(stall_count) X(stall_micros) X(slowdown_count) X(slowdown_micros)

#define AM_LEVELS 8                  /* levels of the tree (the per-level arrays below) */

#define AM_STATS_COUNTER_ARRAYS(X)                                                         \
    X(compactions_by_reason, AM_REASONS)   /* merges and moves, by why they were picked    \
                                              (am_reason_name) */                         \
    X(compaction_bytes_read_by_level, AM_LEVELS) /* compaction_bytes_read by the level     \
                                                    each input came from */

#define AM_STATS_GAUGES(X)                                                                 \
    X(live_sst_bytes) X(live_sst_files)                                                    \
    X(live_entries)              /* entries in live SSTables (incl. shadowed) */           \
    X(memtable_bytes)            /* active + frozen */                                     \
    X(frozen_memtables)                                                                    \
    X(pending_compaction_bytes)  /* strategy's estimate of work not yet done */            \
    X(last_sequence)

typedef struct am_stats {
#define AM_STATS_FIELD_(name) uint64_t name;
#define AM_STATS_ARRAY_(name, n) uint64_t name[n];
    AM_STATS_COUNTERS(AM_STATS_FIELD_)
    AM_STATS_COUNTER_ARRAYS(AM_STATS_ARRAY_)
    AM_STATS_GAUGES(AM_STATS_FIELD_)
#undef AM_STATS_FIELD_
#undef AM_STATS_ARRAY_
    uint64_t cache_hits, cache_misses; /* for point lookups: blocks_read_cache and _disk */
    uint64_t level_bytes[AM_LEVELS]; /* live bytes per level */
    uint64_t level_files[AM_LEVELS];
    uint64_t level_runs[AM_LEVELS];  /* runs per level (1 for a leveled level) */
    uint64_t tag_bytes[2];           /* live bytes per tag, [AM_TAG_LEVELED], [AM_TAG_TIERED] */
    uint64_t tag_files[2];
} am_stats;
int am_stats_get(am_db *db, am_stats *out);
/* The same as am_stats_get, under the name the counters' struct has (C cannot give a
 * function and a type one name, hence the macro). */
#define am_stats(db, out) am_stats_get((db), (out))

enum { AM_TAG_LEVELED = 0, AM_TAG_TIERED = 1 };

typedef struct am_segment_info {
    uint64_t id;                     /* file number: <id>.sst */
    int level;
    uint64_t run;                    /* run id inside the level */
    int tag;                         /* AM_TAG_LEVELED | AM_TAG_TIERED */
    const void *smallest; size_t smallest_len;   /* user keys, borrowed for the call */
    const void *largest;  size_t largest_len;
    uint64_t bytes, entries, deletions;
    uint64_t reads, writes;          /* lookups that probed it; user writes charged to it */
} am_segment_info;
/* Calls fn once per live segment, level by level, newest run first. */
int am_segments(am_db *db, void (*fn)(void *arg, const am_segment_info *seg), void *arg);

#ifdef __cplusplus
}
#endif
#endif /* AMETHYST_H */
