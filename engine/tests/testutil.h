/* testutil.h: helpers shared by the cmocka tests: fresh temporary directories, a
 * deterministic random generator and a mixing function, and whole files read, written and
 * damaged on purpose. Include after <cmocka.h>. Databases and envs in a temporary
 * directory: testutil_db.h; a sorted array as an internal iterator: testutil_iter.h. */
#ifndef AM_TESTUTIL_H
#define AM_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh empty directory under $TMPDIR (or /tmp) and returns its path (static
 * storage per call slot: copy it if you need several). Fails the test on error. */
const char *tu_tempdir(char *buf, size_t cap, const char *tag);
/* Removes a directory tree (for cleanup; ignores errors). */
void tu_rmtree(const char *path);

/* splitmix64: deterministic, seedable. */
typedef struct { uint64_t s; } tu_rng;
static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint64_t tu_below(tu_rng *r, uint64_t n) { return n ? tu_next(r) % n : 0; }

/* A stateless 64-bit mix (murmur3's finalizer): values derived from (key, version)
 * without keeping a generator. */
static inline uint64_t tu_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* ---- whole files, through stdio (not an env): each fails the test on error ---- */

/* All of path in a malloc'd buffer (the caller frees it) with a NUL after the *n bytes, so
 * text files read as strings. */
char *tu_read_file(const char *path, size_t *n);
/* Creates or truncates path and writes data[0..n). */
void tu_write_file(const char *path, const void *data, size_t n);
/* XORs the byte at off of path with mask; off must lie inside the file. */
void tu_flip_byte(const char *path, size_t off, unsigned mask);
/* The size of path in bytes. */
uint64_t tu_file_size(const char *path);
/* 1 if path exists (file or directory), else 0. */
int tu_file_exists(const char *path);

#endif
