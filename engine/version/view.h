/* view.h: the read-only view of a version that compaction pickers read: levels, runs,
 * segments with their descriptions (tags, bounds, sizes, sequences) and live counters, and
 * the queries on them. Nothing declared here opens, reads, writes or deletes a file, takes
 * a reference or changes a version: a strategy (engine/compact/strategy_*.c) includes this
 * and strategy.h and nothing of the version set, the MANIFEST or file names. Lifetimes
 * (references, building and applying edits) are in version.h; the version set in vset.h.
 *
 * A version is an immutable picture of the tree: AM_MAX_LEVELS levels, each a list of runs
 * (newest first), each run a list of segments sorted by key with no overlap. Leveled L0
 * keeps every flush as its own run; leveled L1+ are a single run each; tiered levels hold
 * several runs.
 *
 * Lookup invariant (every strategy must keep it): for any user key, an entry in level i is
 * newer than any in level j > i, and within a level an earlier run holds newer entries
 * than a later one. Runs inside a level are ordered by max_seq, descending.
 *
 * Thread safety: a version and its segments' descriptions are immutable; the counters are
 * relaxed atomics that lookups and flushes add to while a picker reads them. */
#ifndef AM_VERSION_VIEW_H
#define AM_VERSION_VIEW_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "seg_desc.h"
#include "../util/ikey.h"

struct sst_reader;

/* Told by seg_unref when the last reference to an obsolete segment goes, after its reader
 * is closed: the layer that owns the files (vset.c) deletes file number id. */
typedef void (*seg_gone_fn)(void *arg, uint64_t id);

typedef struct am_segment {
    seg_desc d;                        /* values as recorded; keys owned */
    atomic_uint_fast64_t reads;        /* lookups that searched this segment */
    atomic_uint_fast64_t writes;       /* user writes charged to its key range */
    /* Lifetime (version.h, vset.h); a picker reads none of these. */
    atomic_int refs;
    int obsolete;                      /* set once an installed, durable edit removed it */
    struct sst_reader *reader;         /* owned; NULL for a segment without a file */
    seg_gone_fn gone;                  /* NULL: nobody deletes its file */
    void *gone_arg;                    /* borrowed, for gone */
} am_segment;

/* User-key bounds (internal keys minus the trailer). */
static inline const char *seg_smallest_ukey(const am_segment *s, size_t *n) { *n = s->d.smallest_len - 8; return s->d.smallest; }
static inline const char *seg_largest_ukey(const am_segment *s, size_t *n) { *n = s->d.largest_len - 8; return s->d.largest; }

typedef struct am_run {
    uint64_t id;
    size_t nsegs;
    am_segment **segs;                 /* sorted by smallest key, disjoint; owned array */
    uint64_t bytes, max_seq;
} am_run;

typedef struct am_level {
    size_t nruns;
    am_run *runs;                      /* newest first; owned array */
    uint64_t bytes, nsegs;
} am_level;

typedef struct am_version {
    atomic_int refs;
    am_level levels[AM_MAX_LEVELS];
    uint64_t total_bytes, total_segs;
} am_version;

/* The segment (level, id) of v, or NULL (also for a level out of range). */
am_segment *view_find(const am_version *v, int level, uint64_t id);
/* In run r, the segment whose range may hold user key k, or NULL (binary search). */
am_segment *run_find(const am_run *r, const void *k, size_t kn);
/* Calls fn for every segment of v, level by level, newest run first. */
void version_foreach(const am_version *v, void (*fn)(void *arg, am_segment *s), void *arg);

/* ---- key ranges and overlap queries (the one home of each) ---- */

/* A user-key range; the keys are borrowed from segments of the version. */
typedef struct view_range {
    const char *lo, *hi;
    size_t lon, hin;
    int set;                  /* 0: empty */
} view_range;

/* Widens r to hold g's user-key range. */
void view_range_add(view_range *r, const am_segment *g);
/* 1 when g's user-key range meets r (a shared boundary key counts); 0 for an empty r. */
int view_seg_overlaps(const am_segment *g, const view_range *r);
/* 1 when ranges a and b meet (a shared boundary key counts); 0 when either is empty. */
int view_ranges_overlap(const view_range *a, const view_range *b);
/* 1 when the user-key ranges of a and b meet (a shared boundary key counts). */
int view_segs_overlap(const am_segment *a, const am_segment *b);
/* 1 when the n segments of a are pairwise disjoint by user key; sorts a by smallest key. */
int view_segs_disjoint(am_segment **a, size_t n);
/* 1 when a segment of run meets r. */
int view_run_overlaps(const am_run *run, const view_range *r);
/* 1 when the segments of runs[0..n) have pairwise disjoint user-key ranges, so that they
 * can form one run without a rewrite; 0 when two meet, or on OOM. */
int view_runs_disjoint(const am_run *runs, size_t n);
/* "Nothing older overlaps": 1 when no segment of runs[from..) of level, nor of any deeper
 * level, meets r. With from = 0 it asks about level and everything below it (for a job
 * writing level - 1, whether it is bottommost); from = nruns skips level itself. */
int view_nothing_older(const am_version *v, int level, size_t from, const view_range *r);

#endif
