/* vset_check.h: what recovery (vset_recover) checks about a replayed MANIFEST before it
 * trusts it, deletes anything or writes anything: that the live set it built keeps the
 * invariants a version relies on, and that the recovered state is complete (no durable
 * edit was lost from the MANIFEST's tail). docs/format.md, "Recovery", has the rules and
 * why every legitimate crash state passes. Internal to engine/version.
 *
 * Thread safety: none needed; recovery runs alone. */
#ifndef AM_VERSION_VSET_CHECK_H
#define AM_VERSION_VSET_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include "edit.h"
#include "../util/env.h"

/* A live segment after replay, and the MANIFEST record that added it (for messages). */
typedef struct live_seg {
    const seg_desc *d;                 /* borrowed */
    size_t rec;                        /* record index */
    uint64_t off;                      /* record offset in the MANIFEST */
} live_seg;

/* The counters replay ended with, and the records that set them (for messages). */
typedef struct replayed_counters {
    uint64_t manifest_number;          /* the MANIFEST's own */
    uint64_t next_file, last_seq;
    size_t next_file_rec, last_seq_rec;
    uint64_t next_file_off, last_seq_off;
} replayed_counters;

/* Checks the live set that replaying manifest (a path, for messages) gave, against the
 * replayed counters: every segment numbered below next_file and not the MANIFEST's own
 * number, holding no sequence above last_seq, and the segments of each run (same level
 * and run id) disjoint by user key (version.h's invariant: each segment's largest user
 * key below the next one's smallest). Sorts segs. AM_OK, or AM_ERR_CORRUPT with a
 * message naming the MANIFEST, the segments and the records involved. */
int vset_check_live(am_env *env, const char *manifest, live_seg *segs, size_t n,
                    const replayed_counters *c);

/* Proves that the state replayed from manifest (a path, for messages) is complete, from
 * the recovered log number and the files in dir:
 *   - log_number > 0 and <log_number>.log exists: complete; or else
 *   - no file shows a later durable edit: no SSTable numbered above log_number that the
 *     recovered state does not name (live: its segment numbers, sorted ascending), and no
 *     log numbered above log_number that was written to (one that is empty or all zeros
 *     is what a crash right after creating it leaves: a mapped log reserves zeroed space).
 * Otherwise AM_ERR_CORRUPT, with a message naming the missing log, the files that show the
 * lost edits and the repair command. Reads only: writes and deletes nothing.
 * *max_number is set to the highest number of any SSTable, log or MANIFEST in dir (0 if
 * none), so that recovery never hands out a number a file already has.
 * Returns AM_OK, AM_ERR_CORRUPT, or the env's error (AM_ERR_IO, AM_ERR_NOMEM). */
int vset_prove_complete(am_env *env, const char *dir, const char *manifest,
                        uint64_t log_number, const uint64_t *live, size_t nlive,
                        uint64_t *max_number);

#endif
