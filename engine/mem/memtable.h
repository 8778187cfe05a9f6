/* memtable.h: the in-memory write buffer, an arena-backed skiplist (skiplist.h) of
 * entries (internal key, value). Entries are never removed; the memtable is freed whole
 * once flushed and no reader holds it.
 *
 * Thread safety: one writer at a time (the engine's write leader) may call mem_add while
 * any number of readers call mem_get and iterate without taking a lock; a reader sees every
 * entry whose insert completed before it started, and never a half-built one. References
 * (mem_ref / mem_unref) are atomic. */
#ifndef AM_MEM_MEMTABLE_H
#define AM_MEM_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "../util/iter.h"

typedef struct memtable memtable;

/* A new, empty memtable with one reference. AM_ERR_NOMEM and *out NULL on failure. */
int mem_new(memtable **out);
void mem_ref(memtable *m);
void mem_unref(memtable *m);            /* frees at zero; accepts NULL */

/* Adds (k, seq, kind) -> v. One arena allocation, no malloc. REQUIRES: single writer;
 * (k, seq) not present. Returns AM_OK or AM_ERR_NOMEM. */
int mem_add(memtable *m, uint64_t seq, int kind, const void *k, size_t kn,
            const void *v, size_t vn);

/* Newest entry of k with sequence <= seq. Returns AM_OK with *kind, *v, *vn set (v
 * borrowed: valid while the caller holds a reference), or AM_NOT_FOUND. */
int mem_get(memtable *m, const void *k, size_t kn, uint64_t seq, int *kind,
            const char **v, size_t *vn);

/* Bytes of memory the memtable holds (arena blocks). */
size_t mem_usage(const memtable *m);
uint64_t mem_entries(const memtable *m);
/* User bytes (keys + values) added, for write charging. */
uint64_t mem_user_bytes(const memtable *m);

/* Iterator over all entries in internal-key order; holds a reference to m until freed.
 * NULL on allocation failure. */
am_iiter *mem_iter_new(memtable *m);

#endif
