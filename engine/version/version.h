/* version.h: the lifetimes of segments and versions, and how versions are made. The
 * read-only view of a version (its levels, runs and segments, and the queries pickers use)
 * is view.h; the version set that makes versions durable (MANIFEST) is vset.h.
 *
 * Lifetimes: segments and versions are reference-counted (atomics). The current version
 * holds one reference; readers, iterators and jobs take their own. When an installed edit
 * removes a segment the version set marks it obsolete, and when its last reference goes,
 * from whichever thread drops it, seg_unref closes its reader and tells the segment's
 * owner (the seg_gone_fn the version set gave it, vset.h), which deletes the file. Files
 * are therefore deleted only after the edit that removes them is durable in the MANIFEST
 * and when no version, iterator or snapshot refers to them.
 *
 * Thread safety: versions and segments are immutable apart from their atomic counters and
 * refs; references may be taken and dropped from any thread. */
#ifndef AM_VERSION_VERSION_H
#define AM_VERSION_VERSION_H

#include "view.h"
#include "edit.h"

/* (Named seg_incref, not seg_ref: seg_desc.h's seg_ref type takes that identifier.) */
void seg_incref(am_segment *s);
/* Drops a reference; at zero closes the reader, calls s->gone if s is obsolete, frees s. */
void seg_unref(am_segment *s);
/* A segment without a file or owner (one reference), for picker tests and tools; the
 * version set gives it a reader and an owner (vset_open_segment). NULL on OOM. */
am_segment *seg_new_detached(const seg_desc *d);

void version_ref(am_version *v);
void version_unref(am_version *v);     /* frees at zero, unref'ing its segments */
/* Builds a version from segments (each gets a reference): groups them into levels and
 * runs and sorts them. For recovery, tests and picker test files. NULL on OOM. */
am_version *version_build(am_segment *const *segs, size_t n);
/* A new version: base with edit e applied; added segments are looked up in addseg (the
 * caller's live segments for e->added, same order). NULL on OOM. */
am_version *version_apply(const am_version *base, const version_edit *e,
                          am_segment *const *addseg);

#endif
