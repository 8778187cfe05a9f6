/* amethyst.c: the harness adapter for libamethyst, one engine per compaction strategy the
 * library knows (the variant is the strategy name, am_strategy_names()). Reads go through
 * am_get_into into the caller's per-thread buffer, so a read allocates nothing; counters
 * come from am_stats (a counter of the same name in both lists passes through by name);
 * busy is am_busy. -engine-opt sets
 * am_options fields by name (apply_engine_opt). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "../engine.h"

struct he_engine {
    am_db *db;
    am_options o;                 /* as opened; o.strategy points to strategy */
    char strategy[64];
    pthread_mutex_t mu;           /* guards err */
    char err[512];                /* the first error, "" when none */
};

/* Keeps the first error's words (status and the handle's detail); returns -1. */
static int fail(he_engine *e, const char *what, int rc)
{
    pthread_mutex_lock(&e->mu);
    if (!e->err[0]) {
        const char *detail = am_errmsg(e->db);
        snprintf(e->err, sizeof e->err, "%s: %s%s%s", what, am_strerror(rc),
                 detail && detail[0] ? ": " : "", detail ? detail : "");
    }
    pthread_mutex_unlock(&e->mu);
    return -1;
}

/* The am_options fields -engine-opt may set, by name. */
#define INT_OPTS(X) X(tier_fanout) X(level_fanout) X(l0_compaction_trigger)
#define SIZE_OPTS(X) X(l1_target_bytes) X(target_file_bytes)
#define REAL_OPTS(X) X(adapt_window) X(adapt_cooldown) X(adapt_global_cooldown) \
                     X(adapt_read_threshold) X(adapt_write_threshold)

/* Sets one "name=value" on o; 0, or -1 with err saying why. am_open checks the ranges. */
static int set_one(am_options *o, const char *kv, size_t n, char *err, size_t errcap)
{
    char buf[128];
    if (n >= sizeof buf) {
        snprintf(err, errcap, "-engine-opt: '%.*s...' is longer than %zu bytes", 40, kv,
                 sizeof buf - 1);
        return -1;
    }
    memcpy(buf, kv, n);
    buf[n] = 0;
    char *eq = strchr(buf, '=');
    if (!eq || eq == buf || !eq[1]) {
        snprintf(err, errcap, "-engine-opt: '%s' is not NAME=VALUE", buf);
        return -1;
    }
    *eq = 0;
    const char *name = buf, *val = eq + 1;
    char *end;
    errno = 0;
#define TRY_INT(f) do { if (!strcmp(name, #f)) { long long v = strtoll(val, &end, 10); \
        if (*end || errno || v < 0 || v > 1000000000) goto bad;                            \
        o->f = (int)v; return 0; } } while (0);
#define TRY_SIZE(f) do { if (!strcmp(name, #f)) { unsigned long long v = strtoull(val, &end, 10); \
        if (*end || errno || val[0] == '-') goto bad;                                            \
        o->f = (size_t)v; return 0; } } while (0);
#define TRY_REAL(f) do { if (!strcmp(name, #f)) { double v = strtod(val, &end);  \
        if (*end || errno || !(v >= 0)) goto bad;                                   \
        o->f = v; return 0; } } while (0);
    INT_OPTS(TRY_INT)
    SIZE_OPTS(TRY_SIZE)
    REAL_OPTS(TRY_REAL)
#undef TRY_INT
#undef TRY_SIZE
#undef TRY_REAL
#define NAME(f) " " #f
    snprintf(err, errcap, "-engine-opt: unknown option '%s' (known:%s)", name,
             INT_OPTS(NAME) SIZE_OPTS(NAME) REAL_OPTS(NAME));
#undef NAME
    return -1;
bad:
    snprintf(err, errcap, "-engine-opt: %s=%s: not a valid value", name, val);
    return -1;
}

/* Applies "K=V,K=V" to o; 0, or -1 with err set. */
static int apply_engine_opt(am_options *o, const char *s, char *err, size_t errcap)
{
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n && set_one(o, s, n, err, errcap)) return -1;
        s += n;
        if (*s == ',') s++;
    }
    return 0;
}

/* The am_options a run asks for: he_config, the strategy (variant) and -engine-opt.
 * strategy is where o->strategy points (the caller's buffer, 32 bytes). 0, or -2 with err
 * saying why (an -engine-opt item that is not NAME=VALUE or names no option). */
static int build_options(const he_config *c, const char *variant, am_options *o,
                         char *strategy, size_t strategy_cap, char *err, size_t errcap)
{
    snprintf(strategy, strategy_cap, "%s", variant ? variant : "leveled");
    am_options_init(o);
    o->strategy = strategy;
    if (c->memtable_bytes) o->memtable_bytes = c->memtable_bytes;
    if (c->block_bytes) o->block_bytes = c->block_bytes;
    o->block_cache_bytes = c->cache_bytes;
    o->bloom_bits_per_key = c->bloom_bits;
    o->sync_wal = c->sync;
    o->background_threads = c->compaction_threads;
    /* -deterministic: compaction_threads is already 0 (inline), and the adaptive
       controller's clock counts operations instead of seconds. */
    o->adapt_clock_ops = c->deterministic ? 1 : 0;
    if (c->engine_opt && apply_engine_opt(o, c->engine_opt, err, errcap)) return -2;
    return 0;
}

/* Everything ame_open would refuse before it touches the directory. */
static int ame_check(const he_config *c, const char *variant, char *err, size_t errcap)
{
    am_options o;
    char strategy[64];
    if (build_options(c, variant, &o, strategy, sizeof strategy, err, errcap)) return -2;
    return am_options_check(&o, err, errcap) == AM_OK ? 0 : -2;
}

static int ame_open(const he_config *c, const char *variant, he_engine **out, char *err,
                    size_t errcap)
{
    *out = NULL;
    he_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    pthread_mutex_init(&e->mu, NULL);
    if (build_options(c, variant, &e->o, e->strategy, sizeof e->strategy, err, errcap)) {
        pthread_mutex_destroy(&e->mu);
        free(e);
        return -2;
    }
    int rc = am_open_msg(c->dir, &e->o, &e->db, err, errcap);
    if (rc != AM_OK) {
        pthread_mutex_destroy(&e->mu);
        free(e);
        return rc == AM_ERR_INVALID ? -2 : -1;
    }
    *out = e;
    return 0;
}

static int ame_close(he_engine *e)
{
    if (!e) return 0;
    int rc = am_close(e->db);
    pthread_mutex_destroy(&e->mu);
    free(e);
    return rc == AM_OK ? 0 : -1;
}

static int ame_put(he_engine *e, const void *k, size_t kn, const void *v, size_t vn)
{
    int rc = am_put(e->db, k, kn, v, vn);
    return rc == AM_OK ? 0 : fail(e, "am_put", rc);
}

static int ame_get(he_engine *e, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    int rc = am_get_into(e->db, NULL, k, kn, buf, cap, vn);
    if (rc == AM_OK) return 0;
    if (rc == AM_NOT_FOUND) return 1;
    return fail(e, "am_get", rc);
}

static int ame_del(he_engine *e, const void *k, size_t kn)
{
    int rc = am_delete(e->db, k, kn);
    return rc == AM_OK ? 0 : fail(e, "am_delete", rc);
}

static int ame_scan(he_engine *e, const void *k, size_t kn, uint32_t n, uint32_t *got)
{
    *got = 0;
    am_iter *it = am_iter_new(e->db, NULL);
    if (!it) return fail(e, "am_iter_new", AM_ERR_NOMEM);
    uint32_t i = 0;
    for (am_iter_seek(it, k, kn); i < n && am_iter_valid(it); am_iter_next(it)) {
        size_t klen, vlen;
        (void)am_iter_key(it, &klen);
        (void)am_iter_value(it, &vlen);
        i++;
    }
    int rc = am_iter_status(it);
    am_iter_free(it);
    *got = i;
    return rc == AM_OK ? 0 : fail(e, "am_iter", rc);
}

/* am_stats' fields by name (amethyst.h's lists), so a counter with the same name in the
   harness's lists (engine.h) passes through without a line here. */
static const struct am_field { const char *name; size_t offset, n; } am_fields[] = {
#define AM_FIELD_(f) { #f, offsetof(am_stats, f), 1 },
#define AM_ARRAY_(f, len) { #f, offsetof(am_stats, f), len },
    AM_STATS_COUNTERS(AM_FIELD_) AM_STATS_COUNTER_ARRAYS(AM_ARRAY_) AM_STATS_GAUGES(AM_FIELD_)
#undef AM_FIELD_
#undef AM_ARRAY_
};

static int ame_counters(he_engine *e, he_counters *out)
{
    am_stats st;
    *out = (he_counters){ 0 };
    int rc = am_stats(e->db, &st);
    if (rc != AM_OK) return fail(e, "am_stats", rc);
    for (size_t f = 0; f < sizeof am_fields / sizeof am_fields[0]; f++) {
        int id = he_counter_find(am_fields[f].name);
        if (id < 0 || he_counter_infos[id].n != am_fields[f].n) continue;
        const uint64_t *v = (const uint64_t *)((const char *)&st + am_fields[f].offset);
        for (size_t i = 0; i < am_fields[f].n; i++) *he_counter_at(out, id, i) = v[i];
        out->avail[id] = HE_EXACT;
    }
    /* The counters the harness names or composes differently. */
    HE_PROVIDE(out, blocks_read, st.blocks_read_cache + st.blocks_read_disk);
    HE_PROVIDE(out, switches, st.strategy_switches);
    HE_PROVIDE(out, segments_leveled, st.tag_files[AM_TAG_LEVELED]);
    HE_PROVIDE(out, segments_tiered, st.tag_files[AM_TAG_TIERED]);
    HE_PROVIDE(out, bytes_leveled, st.tag_bytes[AM_TAG_LEVELED]);
    HE_PROVIDE(out, bytes_tiered, st.tag_bytes[AM_TAG_TIERED]);
    _Static_assert(AM_REASONS == HE_REASONS, "harness reasons follow AM_REASON_*");
    return 0;
}

static int ame_busy(he_engine *e) { return am_busy(e->db) != 0; }

static const char *ame_error(he_engine *e)
{
    /* err is written once (the first error), before the caller learns of the failure. */
    pthread_mutex_lock(&e->mu);
    const char *s = e->err;
    pthread_mutex_unlock(&e->mu);
    return s;
}

static void ame_settings(he_engine *e, void (*emit)(void *arg, const char *k, const char *v),
                         void *arg)
{
    am_options eff = e->o;        /* the values that apply, not the zeros that stand for them */
    am_options_resolve(&eff);
    const am_options *o = &eff;
    char v[32];
#define EMIT_NUM(field, fmt, cast)                       \
    do {                                                 \
        snprintf(v, sizeof v, fmt, (cast)o->field);      \
        emit(arg, #field, v);                            \
    } while (0)
    emit(arg, "strategy", o->strategy);
    EMIT_NUM(memtable_bytes, "%" PRIu64, uint64_t);
    EMIT_NUM(block_bytes, "%" PRIu64, uint64_t);
    EMIT_NUM(block_cache_bytes, "%" PRIu64, uint64_t);
    EMIT_NUM(target_file_bytes, "%" PRIu64, uint64_t);
    EMIT_NUM(index_stride, "%d", int);
    EMIT_NUM(bloom_bits_per_key, "%d", int);
    EMIT_NUM(sync_wal, "%d", int);
    EMIT_NUM(background_threads, "%d", int);
    EMIT_NUM(max_frozen_memtables, "%d", int);
    EMIT_NUM(l0_slowdown_files, "%d", int);
    EMIT_NUM(l0_stop_files, "%d", int);
    EMIT_NUM(level_fanout, "%d", int);
    EMIT_NUM(l1_target_bytes, "%" PRIu64, uint64_t);
    EMIT_NUM(l0_compaction_trigger, "%d", int);
    EMIT_NUM(tier_fanout, "%d", int);
    EMIT_NUM(adapt_clock_ops, "%d", int);
    EMIT_NUM(adapt_window, "%g", double);
    EMIT_NUM(adapt_cooldown, "%g", double);
    EMIT_NUM(adapt_global_cooldown, "%g", double);
    EMIT_NUM(adapt_read_threshold, "%g", double);
    EMIT_NUM(adapt_write_threshold, "%g", double);
#undef EMIT_NUM
}

const he_ops he_amethyst_ops = {
    .name = "amethyst",
    .description = "Amethyst",
    .takes_engine_opt = 1,
    .check = ame_check,
    .open = ame_open,
    .close = ame_close,
    .put = ame_put,
    .get = ame_get,
    .del = ame_del,
    .scan = ame_scan,
    .counters = ame_counters,
    .busy = ame_busy,
    .error = ame_error,
    .settings = ame_settings,
    .variants = am_strategy_names,
};
