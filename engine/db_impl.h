/* db_impl.h: the inside of am_db, shared by the db_*.c files that orchestrate the engine.
 * They call each other in one direction, from the top down:
 *   db_open.c    options, open / recovery / close, file cleanup, status names
 *   db_manual.c  am_flush, am_compact, am_busy: work the caller waits on
 *   db_stats.c   am_stats and am_segments
 *   db_write.c   the write path: group commit, WAL append, memtable switch, stalls
 *   db_read.c    point lookups, iterators
 *   db_bg.c      background work: flushes and compaction jobs, the threads, the clock
 *   db_sv.c      superversions and snapshots: what readers and background work pin
 *   db_error.c   the background error and am_errmsg
 *
 * Locking: `mu` guards everything marked (mu); it is never held during WAL appends or
 * merges, only briefly, and during MANIFEST writes (rare). `sv_mu` guards only the
 * superversion pointer, so a reader takes it for a few instructions and never waits on
 * `mu`. Lock order: mu before sv_mu. */
#ifndef AM_DB_IMPL_H
#define AM_DB_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "amethyst.h"
#include "batch.h"
#include "util/env.h"
#include "mem/memtable.h"
#include "wal/wal.h"
#include "sst/sst.h"
#include "version/fname.h"
#include "version/vset.h"
#include "compact/strategy.h"
#include "compact/inflight.h"
#include "compact/merge.h"

#define DB_MAX_FROZEN 16

/* What a reader needs, pinned as one: memtables and the version. */
typedef struct superversion {
    atomic_int refs;
    memtable *mem;                   /* active; one reference */
    size_t nimm;
    memtable *imm[DB_MAX_FROZEN];    /* frozen, newest first; one reference each */
    am_version *v;                   /* one reference */
} superversion;

typedef struct frozen {
    memtable *mem;                   /* one reference */
    uint64_t log;                    /* its WAL file number */
} frozen;

/* A thread waiting in the write queue. */
typedef struct writer {
    am_batch *batch;
    int sync;
    int done;
    int status;
    pthread_cond_t cv;
    struct writer *next;
} writer;

struct am_snapshot {
    uint64_t seq;
    struct am_snapshot *prev, *next;
};

/* The counters of amethyst.h's AM_STATS_COUNTERS and AM_STATS_COUNTER_ARRAYS, kept as
 * relaxed atomics under the same names (db_stats.c copies them into am_stats). */
typedef struct db_counters {
#define DB_COUNTER_FIELD(name) atomic_uint_fast64_t name;
#define DB_COUNTER_ARRAY(name, n) atomic_uint_fast64_t name[n];
    AM_STATS_COUNTERS(DB_COUNTER_FIELD)
    AM_STATS_COUNTER_ARRAYS(DB_COUNTER_ARRAY)
#undef DB_COUNTER_FIELD
#undef DB_COUNTER_ARRAY
} db_counters;

#define STAT_ADD(db, name, n) atomic_fetch_add_explicit(&(db)->st.name, (n), memory_order_relaxed)
/* One element of a counter array. REQUIRES: 0 <= i < its length. */
#define STAT_ADD_AT(db, name, i, n)                                                      \
    atomic_fetch_add_explicit(&(db)->st.name[(i)], (n), memory_order_relaxed)

struct am_db {
    char *dir;                       /* owned */
    am_options opts;                 /* copy; opts.strategy points at strategy_name */
    char strategy_name[32];
    am_env *env;                     /* borrowed from opts.env, or owned_env */
    am_env *owned_env;
    am_lock *lock;
    int created_dir, created_lock;   /* this open made the directory / the LOCK file */
    blk_cache *cache;                /* owned; NULL when block_cache_bytes is 0 */
    vset *vs;                        /* owned; (mu) */
    const am_strategy *strat;
    void *strat_self;                /* owned by strat */
    sst_options sst;

    pthread_mutex_t mu;
    pthread_cond_t bg_cv;            /* background threads wait here for work */
    pthread_cond_t done_cv;          /* broadcast when a flush or job finishes */

    pthread_mutex_t sv_mu;
    superversion *sv;                /* (sv_mu); one reference */

    memtable *mem;                   /* (mu) active memtable, one reference */
    wal_writer *wal;                 /* written only by the write leader */
    uint64_t wal_number;             /* (mu) */
    frozen imm[DB_MAX_FROZEN];       /* (mu) oldest first */
    size_t nimm;

    atomic_uint_fast64_t last_seq;   /* highest sequence visible to readers */
    writer *wq_head, *wq_tail;       /* (mu) write queue; head is the leader */
    am_batch group;                  /* the leader's scratch batch for a group */
    am_snapshot snapshots;           /* (mu) list head, ascending seq */

    pthread_t threads[17];
    int nthreads;
    int shutting_down;               /* (mu) */
    atomic_int stop;                 /* tells running merges to give up */
    int flush_running;               /* (mu) */
    int jobs_running;                /* (mu) */
    inflight_set inflight;           /* (mu) the merges running: every pick is told of them */
    int want_compaction;             /* (mu) a version changed since the last empty pick */
    int bg_error;                    /* (mu) first background error; writes refuse after */
    atomic_int readonly;             /* bg_error != 0, read without mu on the write path */

    db_counters st;
    atomic_uint_fast64_t user_ops;   /* the strategy clock's operations (am_pick_env ops) */
};

/* Whether m has reached the flush threshold: what it holds (keys, values, and about 32
 * bytes of node and trailer per entry) against memtable_bytes. Not mem_usage(): that counts
 * whole 64 KiB arena blocks, so a memtable of the minimum size would be full while empty
 * and every write would switch memtables forever. */
static inline int db_mem_full(const am_db *db, const memtable *m)
{
    return mem_user_bytes(m) + 32 * mem_entries(m) >= db->opts.memtable_bytes;
}

/* db_error.c */
int db_set_bg_error(am_db *db, int rc);          /* REQUIRES mu; records the first error */

/* db_sv.c */
superversion *sv_acquire(am_db *db);
/* Pins the superversion and reads the visible sequence in the same critical section: every
 * write at or below *seq is in the pinned memtables or version. */
superversion *sv_acquire_seq(am_db *db, uint64_t *seq);
void sv_release(superversion *sv);
void db_install_sv(am_db *db);                   /* REQUIRES mu: rebuilds from mem/imm/v */
/* Snapshot sequences, ascending, into a malloc'd array; REQUIRES mu. */
int db_snapshot_list(am_db *db, uint64_t **out, size_t *n);

/* db_write.c */
int db_switch_memtable(am_db *db);               /* REQUIRES mu */
/* Runs op as the write leader (no write in flight): DB_FREEZE freezes a non-empty
 * memtable (and, inline, flushes it). Takes and releases mu. */
enum { DB_FREEZE = 1 };
int db_write_exclusive(am_db *db, int op);

/* db_bg.c */
/* Counts n user operations for a clocked strategy, and every STRATEGY_TICK_OPS asks it to
 * pick (waking a compaction thread, or inline). */
void db_count_ops(am_db *db, uint64_t n);
int db_bg_start(am_db *db);
void db_bg_stop(am_db *db);
/* Flushes the oldest frozen memtable; REQUIRES mu (released while writing). */
int db_flush_oldest(am_db *db);
/* Picks and runs one compaction job; returns 1 if one ran, 0 if nothing to do, negative on
 * error. REQUIRES mu (released while merging). */
int db_compact_once(am_db *db);
/* Inline mode: flush every frozen memtable and compact until the strategy rests. */
int db_inline_work(am_db *db);
/* Writes mem's contents as L0 SSTables (recovery and flush share it), keeping the versions
 * the snapshots (ascending) still see, telling observe_key (optional) of every entry;
 * fills outputs. Called without mu. */
int db_write_level0(am_db *db, memtable *mem, const uint64_t *snaps, size_t nsnaps,
                    void (*observe_key)(void *arg, const char *ikey, size_t n),
                    void *observe_arg, merge_result *out);

#endif
