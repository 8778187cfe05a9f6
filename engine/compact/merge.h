/* merge.h: the one merge kernel. Flushes and every compaction go through merge_run: it
 * walks a sorted internal iterator (a memtable, or a merging iterator over segments),
 * drops what no reader can see, and writes SSTables split at target_file_bytes (only
 * between user keys, so one key's versions never straddle two files).
 *
 * Drop rules (for entries of one user key, newest first): an entry is kept when it is the
 * newest, or when a snapshot lies between it and the newer entry kept before it (it is the
 * newest version visible to that snapshot). With bottommost set, a tombstone that no
 * snapshot older than it still needs is dropped, and so is everything it shadows. */
#ifndef AM_COMPACT_MERGE_H
#define AM_COMPACT_MERGE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "../util/iter.h"
#include "../util/env.h"
#include "../sst/sst.h"
#include "../version/edit.h"
#include "../version/version.h"

typedef struct merge_params {
    am_env *env;
    const char *dir;
    sst_options sst;
    uint64_t target_file_bytes;       /* 0: one output file */
    int bottommost;
    const uint64_t *snapshots;        /* live snapshot sequences, ascending; borrowed */
    size_t nsnapshots;
    /* New file numbers; called with no lock held, so it must lock for itself. */
    uint64_t (*new_file_number)(void *arg);
    void *arg;
    const atomic_int *stop;           /* non-zero: abandon the merge (shutdown) */
    /* Output segments get these. */
    int out_level; uint64_t out_run; int out_tag;
    /* Optional: told of every input entry, in order (the flush charges user writes to the
       segments whose key ranges they land in, without a second walk of the memtable). */
    void (*observe_key)(void *arg, const char *ikey, size_t n);
    void *observe_arg;
} merge_params;

typedef struct merge_result {
    size_t nout, cap_out;
    seg_desc *out;                    /* owned: each output, keys owned */
    uint64_t bytes_read;              /* key + value bytes of input entries */
    uint64_t bytes_written;           /* file bytes of outputs */
    uint64_t entries_in, entries_out, dropped;
} merge_result;

void merge_result_clear(merge_result *r);   /* frees outputs' keys and the array */

/* Runs the merge. REQUIRES: an input over SSTables reads them with
 * SST_READ_VERIFIED_PRIVATE (sst.h: what a merge copies must be verified as it is read).
 * On success the outputs are durable (synced; the caller syncs the directory through the
 * MANIFEST edit). On error (or stop) every output file written so far is removed, r is
 * cleared, and the status returned (AM_ERR_IO when stopped; AM_ERR_CORRUPT for an input
 * out of internal-key order). */
int merge_run(am_iiter *input, const merge_params *p, merge_result *r);

/* Merging iterator: one heap over children, ordered by internal key. Takes ownership of
 * the children (and of the array). NULL on OOM (children are freed). */
am_iiter *merging_iter_new(am_iiter **children, size_t n);

/* Concatenating iterator over one run's segments (sorted, disjoint); opens each segment's
 * sst iterator lazily, with mode (sst.h: SST_READ_VERIFIED_PRIVATE for a merge's inputs,
 * SST_READ_SHARED for user iterators). Takes a reference on each segment for its
 * lifetime. */
am_iiter *run_iter_new(am_segment *const *segs, size_t n, sst_read_mode mode);
/* The same over segments the caller keeps alive, array included, until the iterator is
 * freed (a pinned version's run): no copy, no references taken. */
am_iiter *run_iter_new_pinned(am_segment *const *segs, size_t n, sst_read_mode mode);

#endif
