/* fname.h: the names of the engine's files in a database directory: <n>.sst, <n>.log,
 * MANIFEST-<n> (n zero-padded to 6 digits, more when needed), CURRENT, LOCK, and
 * <name>.tmp for files being replaced. */
#ifndef AM_VERSION_FNAME_H
#define AM_VERSION_FNAME_H

#include <stddef.h>
#include <stdint.h>

void fname_sst(char *out, size_t cap, const char *dir, uint64_t id);   /* dir/000012.sst */
void fname_wal(char *out, size_t cap, const char *dir, uint64_t id);   /* dir/000012.log */
void fname_manifest(char *out, size_t cap, const char *dir, uint64_t id);
/* Parses a directory entry; returns 1 and sets *kind / *id for an engine file. */
enum { FILE_SST, FILE_WAL, FILE_MANIFEST, FILE_CURRENT, FILE_LOCK, FILE_TEMP };
int fname_parse(const char *name, int *kind, uint64_t *id);


#endif
