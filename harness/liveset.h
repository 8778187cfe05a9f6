/* liveset.h: the harness's own account of the live key-value pairs, for space
 * amplification (docs/metrics.md). For every key number it keeps the value size of the
 * key's live version (or "absent"), so that the logical size of the database, the sum of
 * key bytes + value bytes over live pairs, changes exactly as the writes say: a put of a
 * new key adds key + value, an overwrite adds the difference of the value sizes, a delete
 * of a live key subtracts key + value. The caller accumulates the returned changes.
 *
 * One 4-byte slot per key number, allocated zeroed with calloc (pages the run never writes
 * are never committed). A key number at or past the capacity sets the overflow flag, and
 * the account is then incomplete (space amplification is reported as unknown).
 *
 * Thread safety: any number of threads at once; each slot changes by one atomic exchange,
 * so the account matches some order of the writes. With several client threads writing
 * the same key at the same moment, that order may differ from the engine's (docs/metrics.md). */
#ifndef AM_HARNESS_LIVESET_H
#define AM_HARNESS_LIVESET_H

#include <stddef.h>
#include <stdint.h>

typedef struct liveset liveset;

/* Key numbers 0 .. capacity-1. NULL on OOM. */
liveset *ls_new(uint64_t capacity);
void ls_free(liveset *s);                /* accepts NULL */

/* A put of key number key (kn bytes encoded) with a vn-byte value. Returns the change in
 * logical bytes; *dkeys receives the change in live keys (0 or 1). */
int64_t ls_put(liveset *s, uint64_t key, size_t kn, uint32_t vn, int64_t *dkeys);
/* A delete: the change in logical bytes (0 or negative); *dkeys 0 or -1. */
int64_t ls_del(liveset *s, uint64_t key, size_t kn, int64_t *dkeys);
/* 1 when some key number fell outside the capacity. */
int ls_overflowed(const liveset *s);

#endif
