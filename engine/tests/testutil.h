/* testutil.h: helpers shared by the cmocka tests: fresh temporary directories and a
 * deterministic random generator. Include after <cmocka.h>. */
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

#endif
