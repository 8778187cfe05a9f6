/* fname.h: the names of the engine's files in a database directory: <n>.sst, <n>.log,
 * MANIFEST-<n> (n zero-padded to 6 digits, more when needed), CURRENT, LOCK, and
 * <name>.tmp for files being replaced. */
#ifndef AM_VERSION_FNAME_H
#define AM_VERSION_FNAME_H

#include <stddef.h>
#include <stdint.h>
#include "../util/env.h"

void fname_sst(char *out, size_t cap, const char *dir, uint64_t id);   /* dir/000012.sst */
void fname_wal(char *out, size_t cap, const char *dir, uint64_t id);   /* dir/000012.log */
void fname_manifest(char *out, size_t cap, const char *dir, uint64_t id);
/* Parses a directory entry; returns 1 and sets *kind / *id for an engine file. */
enum { FILE_SST, FILE_WAL, FILE_MANIFEST, FILE_CURRENT, FILE_LOCK, FILE_TEMP };
int fname_parse(const char *name, int *kind, uint64_t *id);
/* The directory walker: calls fn(arg, name, kind, id) for every entry of dir that is an
 * engine file (fname_parse), in the order the directory lists them; other entries are
 * skipped. A non-zero return from fn stops the walk and is returned; else the listing's
 * status (AM_OK, or the env's error). */
int fname_walk(am_env *env, const char *dir,
               int (*fn)(void *arg, const char *name, int kind, uint64_t id), void *arg);


#endif
