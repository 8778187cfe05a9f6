/* vset_check.h: what recovery (vset_recover) proves about a replayed MANIFEST before it
 * trusts it, deletes anything or writes anything: that the recovered state is complete
 * (no durable edit was lost from the MANIFEST's tail). docs/format.md, "Recovery", has the
 * rule and why every legitimate crash state passes it. Internal to engine/version.
 *
 * Thread safety: none needed; recovery runs alone. */
#ifndef AM_VERSION_VSET_CHECK_H
#define AM_VERSION_VSET_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include "../util/env.h"

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
