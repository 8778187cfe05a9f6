/* fname.c: engine file names (fname.h): formatting and parsing directory entries, and the
 * walk over a directory's engine files. */
#include "fname.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void fname_sst(char *out, size_t cap, const char *dir, uint64_t id)
{
    snprintf(out, cap, "%s/%06" PRIu64 ".sst", dir, id);
}

void fname_wal(char *out, size_t cap, const char *dir, uint64_t id)
{
    snprintf(out, cap, "%s/%06" PRIu64 ".log", dir, id);
}

void fname_manifest(char *out, size_t cap, const char *dir, uint64_t id)
{
    snprintf(out, cap, "%s/MANIFEST-%06" PRIu64, dir, id);
}

/* Parses the decimal number in [p, end): at least one digit, no overflow. */
static int parse_number(const char *p, const char *end, uint64_t *id)
{
    uint64_t v = 0;
    if (p >= end) return 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9') return 0;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *id = v;
    return 1;
}

static int has_suffix(const char *s, size_t n, const char *suf)
{
    size_t m = strlen(suf);
    return n > m && memcmp(s + n - m, suf, m) == 0;
}

int fname_parse(const char *name, int *kind, uint64_t *id)
{
    size_t n = strlen(name);
    *id = 0;
    if (strcmp(name, "CURRENT") == 0) { *kind = FILE_CURRENT; return 1; }
    if (strcmp(name, "LOCK") == 0) { *kind = FILE_LOCK; return 1; }
    if (has_suffix(name, n, ".tmp")) { *kind = FILE_TEMP; return 1; }
    if (n > 9 && memcmp(name, "MANIFEST-", 9) == 0) {
        if (!parse_number(name + 9, name + n, id)) return 0;
        *kind = FILE_MANIFEST;
        return 1;
    }
    if (has_suffix(name, n, ".sst") && parse_number(name, name + n - 4, id)) {
        *kind = FILE_SST;
        return 1;
    }
    if (has_suffix(name, n, ".log") && parse_number(name, name + n - 4, id)) {
        *kind = FILE_WAL;
        return 1;
    }
    return 0;
}

typedef struct walk {
    int (*fn)(void *arg, const char *name, int kind, uint64_t id);
    void *arg;
} walk;

static int walk_one(void *arg, const char *name)
{
    const walk *w = arg;
    int kind;
    uint64_t id;
    return fname_parse(name, &kind, &id) ? w->fn(w->arg, name, kind, id) : 0;
}

int fname_walk(am_env *env, const char *dir,
               int (*fn)(void *arg, const char *name, int kind, uint64_t id), void *arg)
{
    walk w = { fn, arg };
    return env->ops->list_dir(env, dir, walk_one, &w);
}
