/* counters.c: the table of engine counters that engine.h's HE_COUNTERS and
 * HE_COUNTER_ARRAYS declare (name, JSON path, kind, unit, offset), and lookups in it. */
#include <stddef.h>
#include <string.h>

#include "engine.h"

/* The part of a JSON path after its last '.'; a string literal's suffix, so static. */
static const char *leaf(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

const he_counter_info he_counter_infos[HE_NCOUNTERS] = {
#define HE_INFO_(f, j, k, u, tl)                                                          \
    [HE_ID(f)] = { .field = #f, .json = j, .kind = k, .unit = u, .timeline = tl,         \
                   .offset = offsetof(he_counters, f), .n = 1, .keys = NULL },
#define HE_ARRAY_INFO_(f, len, j, k, ks)                                                  \
    [HE_ID(f)] = { .field = #f, .json = j, .kind = k, .unit = HE_COUNT, .timeline = 0,   \
                   .offset = offsetof(he_counters, f), .n = len, .keys = ks },
    HE_COUNTERS(HE_INFO_)
    HE_COUNTER_ARRAYS(HE_ARRAY_INFO_)
#undef HE_INFO_
#undef HE_ARRAY_INFO_
};

int he_counter_find(const char *field)
{
    for (int i = 0; i < HE_NCOUNTERS; i++)
        if (!strcmp(he_counter_infos[i].field, field)) return i;
    return -1;
}

int he_has_all(const he_counters *c, const int *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c->avail[ids[i]] == HE_NONE) return 0;
    return 1;
}

const char *he_counter_name(int id) { return leaf(he_counter_infos[id].json); }
