/* null.c: the engine that does nothing. Puts and deletes succeed, gets find nothing,
 * scans return no entries, it has no counters. Running a workload on it measures the
 * harness itself: generators, key and value bytes, timestamps and histograms. */
#include <stdlib.h>

#include "../engine.h"

struct he_engine {
    int unused;
};

static int null_open(const he_config *c, const char *variant, he_engine **out, char *err,
                     size_t errcap)
{
    (void)variant;
    (void)c;
    (void)err;
    (void)errcap;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : -1;
}

static int null_close(he_engine *e)
{
    free(e);
    return 0;
}

static int null_put(he_engine *e, const void *k, size_t kn, const void *v, size_t vn)
{
    (void)e, (void)k, (void)kn, (void)v, (void)vn;
    return 0;
}

static int null_get(he_engine *e, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    (void)e, (void)k, (void)kn, (void)buf, (void)cap;
    *vn = 0;
    return 1;
}

static int null_del(he_engine *e, const void *k, size_t kn)
{
    (void)e, (void)k, (void)kn;
    return 0;
}

static int null_scan(he_engine *e, const void *k, size_t kn, uint32_t n, uint32_t *got)
{
    (void)e, (void)k, (void)kn, (void)n;
    *got = 0;
    return 0;
}

static int null_counters(he_engine *e, he_counters *out)
{
    (void)e;
    *out = (he_counters){ 0 };      /* provides nothing: every counter is null */
    return 0;
}

static int null_busy(he_engine *e)
{
    (void)e;
    return 0;
}

static const char *null_error(he_engine *e)
{
    (void)e;
    return "";
}

static void null_settings(he_engine *e, void (*emit)(void *arg, const char *k, const char *v),
                          void *arg)
{
    (void)e, (void)emit, (void)arg;
}

const he_ops he_null_ops = {
    .name = "null",
    .description = "does nothing (measures the harness itself)",
    .open = null_open,
    .close = null_close,
    .put = null_put,
    .get = null_get,
    .del = null_del,
    .scan = null_scan,
    .counters = null_counters,
    .busy = null_busy,
    .error = null_error,
    .settings = null_settings,
    .variants = NULL,
};
