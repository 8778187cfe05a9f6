/* vec.h: the growable array, written once: an array pointer with its capacity, grown by
 * doubling before an append.
 *
 *     if (vec_reserve(&a->v, &a->cap, a->n + 1, sizeof *a->v) != AM_OK) return AM_ERR_NOMEM;
 *     a->v[a->n++] = x;
 */
#ifndef AM_UTIL_VEC_H
#define AM_UTIL_VEC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "amethyst.h"

/* Makes *arrp (a pointer to the array's pointer, an array of *cap elements of elem bytes)
 * hold at least need elements: when need > *cap, the capacity doubles (from min_cap, or 8
 * when min_cap is 0) until it fits. AM_OK, or AM_ERR_NOMEM with the array and *cap
 * unchanged (still the caller's). */
static inline int vec_reserve_min(void *arrp, size_t *cap, size_t need, size_t elem,
                                  size_t min_cap)
{
    if (need <= *cap) return AM_OK;
    size_t ncap = *cap ? *cap : (min_cap ? min_cap : 8);
    while (ncap < need) {
        if (ncap > ((size_t)-1 / 2) / elem) return AM_ERR_NOMEM;
        ncap *= 2;
    }
    if (ncap > (size_t)-1 / elem) return AM_ERR_NOMEM;
    void *old;
    memcpy(&old, arrp, sizeof old);
    void *p = realloc(old, ncap * elem);
    if (!p) return AM_ERR_NOMEM;
    memcpy(arrp, &p, sizeof p);
    *cap = ncap;
    return AM_OK;
}

static inline int vec_reserve(void *arrp, size_t *cap, size_t need, size_t elem)
{
    return vec_reserve_min(arrp, cap, need, elem, 0);
}

#endif
