/* seg_desc.h: a segment's description as values: what the MANIFEST records of one SSTable
 * (seg_desc) and the name of a segment in a version (seg_ref). Shared by the version edit
 * (edit.h), the read-only view pickers see (view.h) and the jobs they fill (strategy.h).
 * No functions; nothing here touches a file. */
#ifndef AM_VERSION_SEG_DESC_H
#define AM_VERSION_SEG_DESC_H

#include <stddef.h>
#include <stdint.h>

/* Levels of a tree: 0 .. AM_MAX_LEVELS - 1. */
#define AM_MAX_LEVELS 8

/* A segment as the MANIFEST records it. */
typedef struct seg_desc {
    uint64_t id;                       /* file number: <id>.sst */
    int level;
    uint64_t run;                      /* run id in the level */
    int tag;                           /* AM_TAG_LEVELED | AM_TAG_TIERED */
    uint64_t bytes, entries, deletions;
    uint64_t min_seq, max_seq;
    uint64_t reads, writes;            /* counters as of the edit (inherited history) */
    char *smallest; size_t smallest_len;   /* internal keys, owned */
    char *largest;  size_t largest_len;
} seg_desc;

/* A segment named by level and file number. */
typedef struct seg_ref { int level; uint64_t id; } seg_ref;

#endif
