/* edit.h: a version edit, the one kind of MANIFEST record: files added and removed, and
 * the counters (log number, next file number, last sequence) that recovery needs.
 * Encoded as tagged fields (docs/format.md, "MANIFEST"); tags are on disk: never renumber.
 * An edit holds values only (no open files), so picker tests and recovery share it. */
#ifndef AM_VERSION_EDIT_H
#define AM_VERSION_EDIT_H

#include <stddef.h>
#include <stdint.h>
#include "../util/coding.h"
#include "seg_desc.h"


/* The largest file number a MANIFEST may record: far beyond any real database (one file
 * a nanosecond for 146 years), low enough that the counter can never wrap to a number in
 * use. A recorded number above it is damage; the version set never records one (an edit
 * that would is refused as "file numbers exhausted"), so a database never becomes one
 * its own next open refuses. */
#define EDIT_MAX_FILE_NUMBER (UINT64_C(1) << 62)

typedef struct version_edit {
    int has_log_number;   uint64_t log_number;    /* WALs below this are obsolete */
    int has_next_file;    uint64_t next_file;
    int has_last_seq;     uint64_t last_seq;
    int has_strategy;     char strategy[32];      /* strategy that shaped the tree */
    size_t ndeleted, cap_deleted; seg_ref *deleted;   /* owned */
    size_t nadded, cap_added;     seg_desc *added;    /* owned, with their keys */
} version_edit;

void edit_init(version_edit *e);
void edit_clear(version_edit *e);      /* frees everything, leaves e empty */
int edit_delete_segment(version_edit *e, int level, uint64_t id);
/* Copies d (and its keys) into e. */
int edit_add_segment(version_edit *e, const seg_desc *d);
int edit_encode(const version_edit *e, am_buf *out);
/* Parses an untrusted record into e (which must be empty); AM_ERR_CORRUPT if malformed. */
int edit_decode(version_edit *e, const char *p, size_t n);
/* Checks what one edit must satisfy on its own, for an edit read from a file (recovery
 * checks the live set they build, vset_check.h): every level in 0 .. AM_MAX_LEVELS-1 and
 * file number non-zero; every added segment's tag leveled or tiered, keys of at least 8
 * bytes with smallest <= largest as internal keys, min_seq <= max_seq; no segment added
 * twice, none deleted twice. AM_OK, or AM_ERR_CORRUPT with the first violation described
 * in why (cap bytes; it names the segment); AM_ERR_NOMEM. Records no message. */
int edit_check(const version_edit *e, char *why, size_t cap);

#endif
