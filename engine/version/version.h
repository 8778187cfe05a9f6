/* version.h: segments, versions and the version set (MANIFEST).
 *
 * A segment is one live SSTable with its metadata and live counters. A version is an
 * immutable picture of the tree: AM_MAX_LEVELS levels, each a list of runs (newest first),
 * each run a list of segments sorted by key with no overlap. Leveled L0 keeps every flush as
 * its own run; leveled L1+ are a single run each; tiered levels hold several runs.
 *
 * Lookup invariant (every strategy must keep it): for any user key, an entry in level i is
 * newer than any in level j > i, and within a level an earlier run holds newer entries
 * than a later one. Runs inside a level are ordered by max_seq, descending.
 *
 * Lifetimes: segments and versions are reference-counted (atomics). The current version
 * holds one reference; readers, iterators and jobs take their own. When an edit removes a
 * segment it is marked obsolete, and its file is deleted when its last reference goes,
 * from whichever thread drops it. Files are deleted only after the edit that removes them
 * is durable in the MANIFEST.
 *
 * Thread safety: the version set is guarded by the engine's mutex (REQUIRES below);
 * versions and segments are immutable apart from their atomic counters and refs. */
#ifndef AM_VERSION_VERSION_H
#define AM_VERSION_VERSION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "edit.h"
#include "../util/env.h"
#include "../sst/sst.h"

#define AM_MAX_LEVELS 8

typedef struct vset vset;

typedef struct am_segment {
    seg_desc d;                        /* values as recorded; keys owned */
    atomic_uint_fast64_t reads;        /* lookups that searched this segment */
    atomic_uint_fast64_t writes;       /* user writes charged to its key range */
    atomic_int refs;
    int obsolete;                      /* set once an installed edit removed it */
    int being_compacted;               /* guarded by the engine mutex */
    sst_reader *reader;                /* owned; NULL in picker tests */
    vset *owner;                       /* borrowed: deletes the file when obsolete */
} am_segment;

/* (Named seg_incref, not seg_ref: edit.h's seg_ref type takes that identifier.) */
void seg_incref(am_segment *s);
void seg_unref(am_segment *s);         /* frees at zero (deleting the file if obsolete) */
/* A segment without a file, for picker tests and tools. NULL on OOM. */
am_segment *seg_new_detached(const seg_desc *d);
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

void version_ref(am_version *v);
void version_unref(am_version *v);     /* frees at zero, unref'ing its segments */
/* Builds a version from segments (each gets a reference): groups them into levels and
 * runs and sorts them. For recovery, tests and picker test files. NULL on OOM. */
am_version *version_build(am_segment *const *segs, size_t n);
/* A new version: base with edit e applied; added segments are looked up in addseg (the
 * caller's live segments for e->added, same order). NULL on OOM. */
am_version *version_apply(const am_version *base, const version_edit *e,
                          am_segment *const *addseg);
/* In run r, the segment whose range may hold user key k, or NULL (binary search). */
am_segment *run_find(const am_run *r, const void *k, size_t kn);
/* Calls fn for every segment of v, level by level, newest run first. */
void version_foreach(const am_version *v, void (*fn)(void *arg, am_segment *s), void *arg);

/* ---- the version set: MANIFEST, CURRENT, file numbers ---- */
typedef struct vset_state {
    uint64_t log_number, next_file, last_seq;
} vset_state;

/* Creates a new database's MANIFEST-000001 and CURRENT in dir. */
int vset_create(am_env *env, const char *dir, blk_cache *cache, const char *strategy,
                vset **out);
/* Recovers from CURRENT / MANIFEST: replays every edit, proves the replayed state
 * complete (vset_check.h: the log it names exists, or no file shows a lost edit; else
 * AM_ERR_CORRUPT naming the files, and nothing is written or deleted), raises next_file
 * above every file number in dir, opens a reader for every live segment (AM_ERR_CORRUPT
 * naming the file when one is missing or damaged), then writes a fresh MANIFEST holding
 * one snapshot edit and switches CURRENT to it (atomic rename + dir sync), removing the
 * old MANIFEST. Deletes no other file. */
int vset_recover(am_env *env, const char *dir, blk_cache *cache, vset **out);
/* Repair (engine/repair.c): the version set of a rebuilt database in dir. Opens a reader
 * for each of the n segments segs (their files complete and synced; AM_ERR_CORRUPT naming
 * one that is missing or damaged), syncs the directory, writes MANIFEST-<st->next_file>
 * holding one snapshot edit (st's log number and last sequence, strategy, the segments),
 * syncs it and the directory, then points CURRENT at it (atomic rename + directory sync).
 * Every other MANIFEST is left in place: the caller sets them aside. next_file becomes
 * st->next_file + 1, raised above every segment's number. On failure *out is NULL and no
 * file is removed but a MANIFEST this call wrote that nothing names; CURRENT names the new
 * MANIFEST only when the failure was the final directory sync. */
int vset_create_from(am_env *env, const char *dir, blk_cache *cache, const char *strategy,
                     const vset_state *st, const seg_desc *segs, size_t n, vset **out);
void vset_free(vset *vs);                /* drops the current version; deletes no file */

am_version *vset_current(vset *vs);      /* borrowed; REQUIRES mutex */
vset_state vset_get_state(const vset *vs);
uint64_t vset_new_file_number(vset *vs); /* REQUIRES mutex */
void vset_set_last_seq(vset *vs, uint64_t seq);
const char *vset_dir(const vset *vs);
am_env *vset_env(const vset *vs);
const char *vset_strategy(const vset *vs);
blk_cache *vset_cache(const vset *vs);    /* borrowed; NULL when there is no cache */

/* Opens the file of d and makes a live segment (one reference, owner vs). AM_ERR_CORRUPT
 * naming the file if it is missing, damaged, or its own properties (keys, counts,
 * sequences, size) differ from d's. */
int vset_open_segment(vset *vs, const seg_desc *d, am_segment **out);
/* Writes e to the MANIFEST (with next_file and last_seq filled in), syncs it, and installs
 * the resulting version as current. addseg: the live segments for e->added, in order.
 * Segments e deletes are marked obsolete. On error the current version is unchanged and
 * the MANIFEST is not written again until reopen (the caller enters read-only mode); the
 * edit may still have reached the disk, so the caller must not delete its added files.
 * Before appending, the directory is synced when e adds files (their names are durable
 * before the MANIFEST refers to them).
 * REQUIRES mutex (held throughout: edits are rare). */
int vset_log_and_apply(vset *vs, version_edit *e, am_segment *const *addseg);

/* File names. */
void fname_sst(char *out, size_t cap, const char *dir, uint64_t id);   /* dir/000012.sst */
void fname_wal(char *out, size_t cap, const char *dir, uint64_t id);   /* dir/000012.log */
void fname_manifest(char *out, size_t cap, const char *dir, uint64_t id);
/* Parses a directory entry; returns 1 and sets *kind / *id for an engine file. */
enum { FILE_SST, FILE_WAL, FILE_MANIFEST, FILE_CURRENT, FILE_LOCK, FILE_TEMP };
int fname_parse(const char *name, int *kind, uint64_t *id);

#endif
