/* vset.h: the version set: the current version, the file-number and sequence counters,
 * and the MANIFEST / CURRENT files that make them durable (format in vset.c and
 * docs/format.md); recovery. The version set owns the segments' files: it opens them
 * (vset_open_segment) and deletes each once the last reference to it goes after a durable
 * edit removed it (version.h).
 *
 * Thread safety: guarded by the engine's mutex (REQUIRES below). */
#ifndef AM_VERSION_VSET_H
#define AM_VERSION_VSET_H

#include "version.h"
#include "../util/env.h"
#include "../sst/sst.h"

typedef struct vset vset;

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

/* Opens the file of d and makes a live segment (one reference; vs deletes its file once it
 * is obsolete and unreferenced). AM_ERR_CORRUPT
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

#endif
