/* leveldb.c: the harness adapter for LevelDB 1.23 through its C API (<leveldb/c.h>, Debian
 * libleveldb-dev), engine `leveldb`. The harness's flags map onto LevelDB's options; the
 * rest are LevelDB's defaults, which its C API mostly cannot change anyway (one background
 * thread, L0 triggers 4 / 8 / 12, 10 MiB level 1, x10 per level); settings() reports all of
 * them (docs/engines.md explains each).
 *
 * Reads: leveldb_get returns a malloc'd copy of the value (the C API has no other way); it
 * is copied into the caller's per-thread buffer and freed. Scans are iterators, one per scan.
 *
 * Counters. User bytes, point lookups and finds are counted here. LevelDB has no counters
 * API: its "leveldb.stats" property gives per-level bytes only in whole MiB (a small run
 * shows 0). So flushes, compactions, their bytes and stalls come from LevelDB's own info
 * log, the LOG file in the database directory (leveldb_log.h reads it). Live bytes and
 * files come from "leveldb.sstables" (every live table with its size: exact). The WAL bytes are computed from LevelDB's log format (approximate: block
 * padding and fragment headers left out). LevelDB cannot say how many tables a lookup
 * searched, how many blocks it read, its memtable size apart from the block cache
 * ("leveldb.approximate-memory-usage" adds both), its entries or its pending work: those
 * are unavailable (null).
 *
 * busy(): LevelDB has no such property. Busy while the LOG shows a flush or compaction
 * begun and not ended; or while a level is over LevelDB's compaction threshold (from
 * "leveldb.sstables": L0 >= 4 files, level n >= 10^n MiB) and the LOG or "leveldb.stats"
 * changed within the last 2 s (so a stopped background thread cannot hold -settle
 * forever); or while either changed within the last 100 ms. Seek compactions (LevelDB
 * compacts a file that reads keep missing in) show up only as they start, which the
 * 100 ms window covers. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "../engine.h"
#include "leveldb_log.h"
#include "peer_common.h"

#define LDB_BLOCK_BYTES 4096       /* when he_config.block_bytes is 0: Amethyst's default too */
#define LDB_MAX_OPEN_FILES 50000
#define LDB_LEVELS 7               /* LevelDB's config::kNumLevels */
#define LDB_L0_TRIGGER 4           /* config::kL0_CompactionTrigger */

struct he_engine {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_writeoptions_t *wo;
    leveldb_readoptions_t *ro;
    _Atomic uint64_t wal_bytes;   /* computed here (relaxed): approximate */
    peer_common pc;               /* first error, settings, user bytes and lookups */
    pthread_mutex_t mu;           /* guards log and stats */
    ldb_log log;
    char *stats;                  /* the last "leveldb.stats" text busy() saw */
};

/* Keeps the first error (what + LevelDB's message, which is then freed); returns -1. */
static int fail(he_engine *e, const char *what, char *msg)
{
    return peer_fail(&e->pc, what, msg, leveldb_free);
}

#define add_setting(e, ...) peer_setting(&(e)->pc, __VA_ARGS__)

/* ---- the live tables ---- */

typedef struct levels {
    uint64_t files[LDB_LEVELS], bytes[LDB_LEVELS];
} levels;

/* Parses "leveldb.sstables": "--- level L ---" then " NUMBER:SIZE[...]" per table.
   Returns 0, or -1 when the property is missing. */
static int live_tables(he_engine *e, levels *lv)
{
    memset(lv, 0, sizeof *lv);
    char *s = leveldb_property_value(e->db, "leveldb.sstables");
    if (!s) return -1;
    int level = -1;
    for (char *p = s; *p;) {
        char *eol = strchr(p, '\n');
        int lvl;
        unsigned long long n, b;
        if (sscanf(p, "--- level %d ---", &lvl) == 1) level = lvl;
        else if (level >= 0 && level < LDB_LEVELS && sscanf(p, " %llu:%llu[", &n, &b) == 2) {
            lv->files[level]++;
            lv->bytes[level] += b;
        }
        if (!eol) break;
        p = eol + 1;
    }
    leveldb_free(s);
    return 0;
}

/* LevelDB's own rule (VersionSet::Finalize): L0 at 4 files, level n >= 1 at 10^n MiB. */
static int needs_compaction(const levels *lv)
{
    if (lv->files[0] >= LDB_L0_TRIGGER) return 1;
    double max = 10.0 * 1048576.0;
    for (int l = 1; l < LDB_LEVELS - 1; l++, max *= 10.0)
        if ((double)lv->bytes[l] >= max) return 1;
    return 0;
}

/* Seeds the table sizes from the tables live at open (a reused database). */
static void seed_sizes(he_engine *e)
{
    char *s = leveldb_property_value(e->db, "leveldb.sstables");
    if (!s) return;
    for (char *p = s; *p;) {
        char *eol = strchr(p, '\n');
        unsigned long long n, b;
        if (p[0] == ' ' && sscanf(p, " %llu:%llu[", &n, &b) == 2) ldb_log_table(&e->log, n, b);
        if (!eol) break;
        p = eol + 1;
    }
    leveldb_free(s);
}

/* ---- the adapter ---- */

static void destroy(he_engine *e)
{
    if (e->db) leveldb_close(e->db);
    if (e->wo) leveldb_writeoptions_destroy(e->wo);
    if (e->ro) leveldb_readoptions_destroy(e->ro);
    if (e->opts) leveldb_options_destroy(e->opts);
    if (e->filter) leveldb_filterpolicy_destroy(e->filter);
    if (e->cache) leveldb_cache_destroy(e->cache);
    ldb_log_free(&e->log);
    free(e->stats);
    pthread_mutex_destroy(&e->mu);
    peer_destroy(&e->pc);
    free(e);
}

static void configure(he_engine *e, const he_config *c)
{
    leveldb_options_t *o = e->opts;
    size_t mem = c->memtable_bytes ? c->memtable_bytes : 4u << 20;
    size_t block = c->block_bytes ? c->block_bytes : LDB_BLOCK_BYTES;
    add_setting(e, "library", "LevelDB %d.%d (C API)", leveldb_major_version(),
                leveldb_minor_version());
    leveldb_options_set_create_if_missing(o, 1);
    /* Shared flags. */
    leveldb_options_set_write_buffer_size(o, mem);
    add_setting(e, "write_buffer_size", "%zu", mem);
    leveldb_options_set_compression(o, leveldb_no_compression);
    add_setting(e, "compression", "none");
    leveldb_options_set_block_size(o, block);
    add_setting(e, "block_size", "%zu", block);
    /* An LRU of capacity 0 caches nothing (LevelDB would make its own 8 MiB cache if we
       gave it none). */
    e->cache = leveldb_cache_create_lru(c->cache_bytes);
    leveldb_options_set_cache(o, e->cache);
    add_setting(e, "block_cache", "LRU %zu bytes", c->cache_bytes);
    if (c->bloom_bits > 0) {
        e->filter = leveldb_filterpolicy_create_bloom(c->bloom_bits);
        leveldb_options_set_filter_policy(o, e->filter);
        add_setting(e, "filter_policy", "bloom, %d bits per key", c->bloom_bits);
    } else {
        add_setting(e, "filter_policy", "none");
    }
    leveldb_writeoptions_set_sync(e->wo, c->sync ? 1 : 0);
    add_setting(e, "sync", "%d", c->sync ? 1 : 0);
    /* LevelDB's defaults, stated. */
    leveldb_options_set_block_restart_interval(o, 16);
    add_setting(e, "block_restart_interval", "16");
    leveldb_options_set_max_file_size(o, 2u << 20);
    add_setting(e, "max_file_size", "%u", 2u << 20);
    leveldb_options_set_paranoid_checks(o, 0);
    add_setting(e, "paranoid_checks", "0");
    leveldb_options_set_max_open_files(o, LDB_MAX_OPEN_FILES);
    add_setting(e, "max_open_files", "%d", LDB_MAX_OPEN_FILES);
    add_setting(e, "read_options", "defaults (verify_checksums 0, fill_cache 1)");
    add_setting(e, "get", "leveldb_get (a malloc'd copy), copied into the caller's buffer");
    /* Fixed in LevelDB (db/dbformat.h, version_set.cc): not options. */
    add_setting(e, "fixed.background_threads", "1");
    add_setting(e, "fixed.num_levels", "%d", LDB_LEVELS);
    add_setting(e, "fixed.l0_compaction_trigger", "%d", LDB_L0_TRIGGER);
    add_setting(e, "fixed.l0_slowdown_writes_trigger", "8");
    add_setting(e, "fixed.l0_stop_writes_trigger", "12");
    add_setting(e, "fixed.level1_max_bytes", "%u", 10u << 20);
    add_setting(e, "fixed.level_size_multiplier", "10");
    add_setting(e, "fixed.max_mem_compact_level", "2");
    add_setting(e, "fixed.seek_compaction", "on");
}

static int ldb_open(const he_config *c, const char *variant, he_engine **out, char *err,
                    size_t errcap)
{
    (void)variant;
    *out = NULL;
    if (c->deterministic || c->compaction_threads != 1) {
        snprintf(err, errcap, "leveldb compacts in exactly one background thread: it needs "
                              "-compaction-threads 1 and no -deterministic");
        return -2;
    }
    he_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    pthread_mutex_init(&e->mu, NULL);
    peer_init(&e->pc);
    ldb_log_init(&e->log);
    e->opts = leveldb_options_create();
    e->wo = leveldb_writeoptions_create();
    e->ro = leveldb_readoptions_create();
    if (!e->opts || !e->wo || !e->ro) {
        snprintf(err, errcap, "out of memory");
        destroy(e);
        return -1;
    }
    configure(e, c);
    char *msg = NULL;
    e->db = leveldb_open(e->opts, c->dir, &msg);
    if (msg || !e->db) {
        snprintf(err, errcap, "leveldb_open %s: %s", c->dir, msg ? msg : "failed");
        leveldb_free(msg);
        e->db = NULL;
        destroy(e);
        return -1;
    }
    ldb_log_open(&e->log, c->dir);
    seed_sizes(e);
    pthread_mutex_lock(&e->mu);
    ldb_log_poll(&e->log);
    pthread_mutex_unlock(&e->mu);
    *out = e;
    return 0;
}

static int ldb_close(he_engine *e)
{
    if (e) destroy(e);
    return 0;
}

static uint64_t varint_len(uint64_t v)
{
    uint64_t n = 1;
    while (v >= 128) v >>= 7, n++;
    return n;
}

/* LevelDB's log: one write batch per put (12-byte header, a type byte, key and value with
   varint lengths) in a record with a 7-byte header. */
static uint64_t wal_estimate(size_t kn, size_t vn, int put)
{
    uint64_t n = 7 + 12 + 1 + varint_len(kn) + kn;
    return put ? n + varint_len(vn) + vn : n;
}

static int ldb_put(he_engine *e, const void *k, size_t kn, const void *v, size_t vn)
{
    char *msg = NULL;
    leveldb_put(e->db, e->wo, k, kn, v, vn, &msg);
    if (msg) return fail(e, "leveldb_put", msg);
    peer_count_write(&e->pc, kn + vn);
    atomic_fetch_add_explicit(&e->wal_bytes, wal_estimate(kn, vn, 1), memory_order_relaxed);
    return 0;
}

static int ldb_get(he_engine *e, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    char *msg = NULL;
    size_t n = 0;
    char *v = leveldb_get(e->db, e->ro, k, kn, &n, &msg);
    if (msg) {
        leveldb_free(v);
        return fail(e, "leveldb_get", msg);
    }
    peer_count_get(&e->pc, v != NULL);
    if (!v) return 1;
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    leveldb_free(v);
    return 0;
}

static int ldb_del(he_engine *e, const void *k, size_t kn)
{
    char *msg = NULL;
    leveldb_delete(e->db, e->wo, k, kn, &msg);
    if (msg) return fail(e, "leveldb_delete", msg);
    peer_count_write(&e->pc, kn);
    atomic_fetch_add_explicit(&e->wal_bytes, wal_estimate(kn, 0, 0), memory_order_relaxed);
    return 0;
}

static int ldb_scan(he_engine *e, const void *k, size_t kn, uint32_t n, uint32_t *got)
{
    *got = 0;
    leveldb_iterator_t *it = leveldb_create_iterator(e->db, e->ro);
    if (!it) return fail(e, "leveldb_create_iterator", NULL);
    uint32_t i = 0;
    for (leveldb_iter_seek(it, k, kn); i < n && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t klen, vlen;
        (void)leveldb_iter_key(it, &klen);
        (void)leveldb_iter_value(it, &vlen);
        i++;
    }
    char *msg = NULL;
    leveldb_iter_get_error(it, &msg);
    leveldb_iter_destroy(it);
    *got = i;
    return msg ? fail(e, "leveldb iterator", msg) : 0;
}

/* The counters LevelDB provides; every other one is unavailable (null): segments probed,
   blocks read, strategy switches, stall time, slowdowns, live entries, the memtable
   apart from the block cache, pending work, tags and reasons. */
static int ldb_counters(he_engine *e, he_counters *out)
{
    *out = (he_counters){ 0 };
    peer_counts(&e->pc, out);
    HE_PROVIDE_APPROX(out, wal_bytes, atomic_load_explicit(&e->wal_bytes, memory_order_relaxed));
    pthread_mutex_lock(&e->mu);
    ldb_log_poll(&e->log);
    if (e->log.fd >= 0) {
        HE_PROVIDE(out, flush_bytes_written, e->log.flush_bytes);
        HE_PROVIDE(out, flushes, e->log.flushes);
        HE_PROVIDE(out, compaction_bytes_written, e->log.comp_written);
        HE_PROVIDE(out, compactions, e->log.compactions);
        HE_PROVIDE_APPROX(out, compaction_bytes_read, e->log.comp_read);
        HE_PROVIDE_APPROX(out, stall_count, e->log.stalls);
    }
    pthread_mutex_unlock(&e->mu);
    levels lv;
    if (live_tables(e, &lv) == 0) {
        uint64_t files = 0, bytes = 0;
        for (int l = 0; l < LDB_LEVELS; l++) {
            files += lv.files[l];
            bytes += lv.bytes[l];
        }
        HE_PROVIDE(out, live_sst_files, files);
        HE_PROVIDE(out, live_sst_bytes, bytes);
    }
    return 0;
}

static int ldb_busy(he_engine *e)
{
    levels lv;
    int need = live_tables(e, &lv) == 0 && needs_compaction(&lv);
    char *stats = leveldb_property_value(e->db, "leveldb.stats");
    pthread_mutex_lock(&e->mu);
    ldb_log *l = &e->log;
    ldb_log_poll(l);
    if (stats && (!e->stats || strcmp(stats, e->stats))) {
        free(e->stats);
        e->stats = strdup(stats);
        l->changed_ns = ldb_now_ns();
    }
    uint64_t quiet = ldb_now_ns() - l->changed_ns;
    int busy = l->flushes_started > l->flushes_ended || l->compacting ||
               (need && quiet < 2000000000ull) || quiet < 100000000ull;
    pthread_mutex_unlock(&e->mu);
    leveldb_free(stats);
    return busy;
}

static const char *ldb_error(he_engine *e) { return peer_error(&e->pc); }

static void ldb_settings(he_engine *e, void (*emit)(void *arg, const char *k, const char *v),
                         void *arg)
{
    peer_settings_emit(&e->pc, emit, arg);
}

const he_ops he_leveldb_ops = {
    .name = "leveldb",
    .description = "LevelDB 1.23 (C API)",
    .open = ldb_open,
    .close = ldb_close,
    .put = ldb_put,
    .get = ldb_get,
    .del = ldb_del,
    .scan = ldb_scan,
    .counters = ldb_counters,
    .busy = ldb_busy,
    .error = ldb_error,
    .settings = ldb_settings,
    .variants = NULL,
};
