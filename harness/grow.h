/* grow.h: the harness's one growable-array step. An array is a pointer, a count and a
 * capacity owned by the caller; he_grow makes room for one more element. */
#ifndef AM_HARNESS_GROW_H
#define AM_HARNESS_GROW_H

#include <stdlib.h>
#include <string.h>

/* Room for need elements of elem bytes: returns p itself when need <= *cap, else p
 * reallocated to a doubled capacity (at least need, at least 16), the new room zeroed, and
 * *cap updated. Returns NULL on allocation failure: p is then still valid and *cap
 * unchanged. The caller stores the result (free the old p only through it). */
static inline void *he_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 16;
    while (n < need) n *= 2;
    char *q = realloc(p, n * elem);
    if (!q) return NULL;
    memset(q + *cap * elem, 0, (n - *cap) * elem);
    *cap = n;
    return q;
}

#endif
