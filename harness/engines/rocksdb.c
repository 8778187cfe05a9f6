/* rocksdb.c: the harness adapter for RocksDB 7.8 through its C API (<rocksdb/c.h>, Debian
 * librocksdb-dev), two engines: rocksdb-leveled (leveled compaction with dynamic level
 * sizing) and rocksdb-universal (RocksDB's tiered compaction, its defaults). The harness's
 * flags map one to one onto RocksDB options; every other option is set the way RocksDB's
 * tuning guide sizes it for the given memtable, and all of them are reported by settings()
 * (docs/engines.md explains each value).
 *
 * Reads use rocksdb_get_pinned (the value stays pinned in the block cache or memtable, no
 * malloc'd copy; the C API still allocates the small pinnable-slice handle per call) and
 * copy into the caller's per-thread buffer. Scans are iterators, one per scan.
 *
 * Counters: user bytes, point lookups and finds are counted here, exactly as the workbench
 * defines them; the rest come from RocksDB's statistics (rocksdb_options_enable_statistics,
 * parsed from rocksdb_options_statistics_get_string) and properties. counters() provides
 * only what RocksDB gives in our terms (the rest is null), marking as approximate what is
 * close but not the same; docs/engines.md lists which and why.
 *
 * busy(): a flush or compaction is running, or a memtable waits to be flushed
 * (rocksdb.num-running-compactions, rocksdb.num-running-flushes,
 * rocksdb.mem-table-flush-pending). Not rocksdb.compaction-pending: under universal
 * compaction it can stay 1 with nothing ever scheduled. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "../engine.h"
#include "peer_common.h"

/* The library's version as pkg-config reported it at build time (the C API has no call
   for it; rocksdb/version.h is C++). */
#ifndef AM_ROCKSDB_VERSION
#define AM_ROCKSDB_VERSION "unknown"
#endif

#define RDB_LEVELS 7               /* num_levels (RocksDB's default) */
#define RDB_BLOCK_BYTES 4096       /* when he_config.block_bytes is 0: Amethyst's default too */

struct he_engine {
    rocksdb_t *db;
    rocksdb_options_t *opts;      /* owns the statistics object counters() reads */
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;       /* NULL: no block cache (-cache-mb 0) */
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    int universal;
    int bloom_bits;
    peer_common pc;               /* first error, settings, user bytes and lookups */
};

/* Keeps the first error (what + RocksDB's message, which is then freed); returns -1. */
static int fail(he_engine *e, const char *what, char *msg)
{
    return peer_fail(&e->pc, what, msg, rocksdb_free);
}

#define add_setting(e, ...) peer_setting(&(e)->pc, __VA_ARGS__)

static void destroy(he_engine *e)
{
    if (e->db) rocksdb_close(e->db);
    if (e->wo) rocksdb_writeoptions_destroy(e->wo);
    if (e->ro) rocksdb_readoptions_destroy(e->ro);
    if (e->opts) rocksdb_options_destroy(e->opts);
    if (e->table) rocksdb_block_based_options_destroy(e->table);   /* and its filter policy */
    if (e->cache) rocksdb_cache_destroy(e->cache);
    peer_destroy(&e->pc);
    free(e);
}

/* Sets every option (the shared flags, then the rest as docs/engines.md says) and records
 * each in the settings list. */
static void configure(he_engine *e, const he_config *c)
{
    rocksdb_options_t *o = e->opts;
    size_t mem = c->memtable_bytes ? c->memtable_bytes : 4u << 20;
    size_t block = c->block_bytes ? c->block_bytes : RDB_BLOCK_BYTES;
    int jobs = c->compaction_threads + 1;
    const int l0_trigger = 4, l0_slowdown = 20, l0_stop = 36;   /* RocksDB's defaults */

    add_setting(e, "library", "RocksDB %s (C API)", AM_ROCKSDB_VERSION);
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_compaction_style(o, e->universal ? rocksdb_universal_compaction
                                                         : rocksdb_level_compaction);
    add_setting(e, "compaction_style", "%s", e->universal ? "universal" : "level");
    /* Shared flags. */
    rocksdb_options_set_write_buffer_size(o, mem);
    add_setting(e, "write_buffer_size", "%zu", mem);
    rocksdb_options_set_compression(o, rocksdb_no_compression);
    rocksdb_options_set_bottommost_compression(o, rocksdb_no_compression);
    add_setting(e, "compression", "none");
    add_setting(e, "bottommost_compression", "none");
    rocksdb_block_based_options_set_block_size(e->table, block);
    add_setting(e, "block_size", "%zu", block);
    if (c->cache_bytes) {
        e->cache = rocksdb_cache_create_lru(c->cache_bytes);
        rocksdb_block_based_options_set_block_cache(e->table, e->cache);
        add_setting(e, "block_cache", "LRU %zu bytes", c->cache_bytes);
    } else {
        rocksdb_block_based_options_set_no_block_cache(e->table, 1);
        add_setting(e, "block_cache", "none");
    }
    if (c->bloom_bits > 0) {
        /* The full (format_version 5) filter, as db_bench --bloom_bits builds. */
        rocksdb_block_based_options_set_filter_policy(
            e->table, rocksdb_filterpolicy_create_bloom_full((double)c->bloom_bits));
        add_setting(e, "filter_policy", "bloom full filter, %d bits per key", c->bloom_bits);
    } else {
        add_setting(e, "filter_policy", "none");
    }
    add_setting(e, "sync", "%d", c->sync ? 1 : 0);
    add_setting(e, "disable_wal", "0");
    rocksdb_writeoptions_set_sync(e->wo, c->sync ? 1 : 0);
    rocksdb_options_set_max_background_jobs(o, jobs);
    add_setting(e, "max_background_jobs", "%d", jobs);
    /* Table format: RocksDB 7.8's defaults, stated. */
    rocksdb_block_based_options_set_format_version(e->table, 5);
    add_setting(e, "format_version", "5");
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(e->table, 0);
    add_setting(e, "cache_index_and_filter_blocks", "0");
    rocksdb_block_based_options_set_whole_key_filtering(e->table, 1);
    add_setting(e, "whole_key_filtering", "1");
    rocksdb_options_set_block_based_table_factory(o, e->table);
    /* Memtables and L0. */
    rocksdb_options_set_max_write_buffer_number(o, 2);
    add_setting(e, "max_write_buffer_number", "2");
    rocksdb_options_set_min_write_buffer_number_to_merge(o, 1);
    add_setting(e, "min_write_buffer_number_to_merge", "1");
    rocksdb_options_set_level0_file_num_compaction_trigger(o, l0_trigger);
    rocksdb_options_set_level0_slowdown_writes_trigger(o, l0_slowdown);
    rocksdb_options_set_level0_stop_writes_trigger(o, l0_stop);
    add_setting(e, "level0_file_num_compaction_trigger", "%d", l0_trigger);
    add_setting(e, "level0_slowdown_writes_trigger", "%d", l0_slowdown);
    add_setting(e, "level0_stop_writes_trigger", "%d", l0_stop);
    rocksdb_options_set_num_levels(o, RDB_LEVELS);
    add_setting(e, "num_levels", "%d", RDB_LEVELS);
    if (!e->universal) {
        /* RocksDB's defaults assume 64 MiB memtables: L1 = 256 MiB = 4 x the memtable
           (= L0's size at its compaction trigger, as the tuning guide recommends), SST
           files = 1 x the memtable. Keep those ratios for the memtable given. */
        uint64_t base = (uint64_t)mem * (uint64_t)l0_trigger;
        rocksdb_options_set_level_compaction_dynamic_level_bytes(o, 1);
        rocksdb_options_set_max_bytes_for_level_base(o, base);
        rocksdb_options_set_max_bytes_for_level_multiplier(o, 10.0);
        rocksdb_options_set_target_file_size_base(o, mem);
        rocksdb_options_set_target_file_size_multiplier(o, 1);
        add_setting(e, "level_compaction_dynamic_level_bytes", "1");
        add_setting(e, "max_bytes_for_level_base", "%" PRIu64, base);
        add_setting(e, "max_bytes_for_level_multiplier", "10");
        add_setting(e, "target_file_size_base", "%zu", mem);
        add_setting(e, "target_file_size_multiplier", "1");
    } else {
        /* Universal compaction with its defaults, read back from a fresh options object. */
        rocksdb_universal_compaction_options_t *u = rocksdb_universal_compaction_options_create();
        add_setting(e, "universal.size_ratio", "%d",
                    rocksdb_universal_compaction_options_get_size_ratio(u));
        add_setting(e, "universal.min_merge_width", "%d",
                    rocksdb_universal_compaction_options_get_min_merge_width(u));
        add_setting(e, "universal.max_merge_width", "%u",
                    (unsigned)rocksdb_universal_compaction_options_get_max_merge_width(u));
        add_setting(e, "universal.max_size_amplification_percent", "%d",
                    rocksdb_universal_compaction_options_get_max_size_amplification_percent(u));
        add_setting(e, "universal.compression_size_percent", "%d",
                    rocksdb_universal_compaction_options_get_compression_size_percent(u));
        add_setting(e, "universal.stop_style", "%s",
                    rocksdb_universal_compaction_options_get_stop_style(u) ? "total_size"
                                                                             : "similar_size");
        rocksdb_options_set_universal_compaction_options(o, u);
        rocksdb_universal_compaction_options_destroy(u);
    }
    rocksdb_options_set_max_subcompactions(o, 1);
    add_setting(e, "max_subcompactions", "1");
    rocksdb_options_set_max_open_files(o, -1);
    add_setting(e, "max_open_files", "-1");
    rocksdb_options_enable_statistics(o);
    add_setting(e, "statistics", "on (kExceptDetailedTimers)");
    add_setting(e, "read_options", "defaults (verify_checksums 1, fill_cache 1)");
    add_setting(e, "get", "rocksdb_get_pinned, copied into the caller's buffer");
}

static int rdb_open(const he_config *c, const char *variant, he_engine **out, char *err,
                    size_t errcap)
{
    *out = NULL;
    int universal = variant && !strcmp(variant, "universal");
    if (!variant || (!universal && strcmp(variant, "leveled"))) {
        snprintf(err, errcap, "rocksdb: unknown variant '%s' (leveled, universal)",
                 variant ? variant : "");
        return -2;
    }
    if (c->deterministic || c->compaction_threads < 1) {
        snprintf(err, errcap, "rocksdb compacts in background threads only: -deterministic "
                              "and -compaction-threads 0 are Amethyst's");
        return -2;
    }
    he_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    peer_init(&e->pc);
    e->universal = universal;
    e->bloom_bits = c->bloom_bits;
    e->opts = rocksdb_options_create();
    e->table = rocksdb_block_based_options_create();
    e->wo = rocksdb_writeoptions_create();
    e->ro = rocksdb_readoptions_create();
    if (!e->opts || !e->table || !e->wo || !e->ro) {
        snprintf(err, errcap, "out of memory");
        destroy(e);
        return -1;
    }
    configure(e, c);
    char *msg = NULL;
    e->db = rocksdb_open(e->opts, c->dir, &msg);
    if (msg || !e->db) {
        snprintf(err, errcap, "rocksdb_open %s: %s", c->dir, msg ? msg : "failed");
        rocksdb_free(msg);
        e->db = NULL;
        destroy(e);
        return -1;
    }
    *out = e;
    return 0;
}

static int rdb_close(he_engine *e)
{
    if (e) destroy(e);
    return 0;
}

static int rdb_put(he_engine *e, const void *k, size_t kn, const void *v, size_t vn)
{
    char *msg = NULL;
    rocksdb_put(e->db, e->wo, k, kn, v, vn, &msg);
    if (msg) return fail(e, "rocksdb_put", msg);
    peer_count_write(&e->pc, kn + vn);
    return 0;
}

static int rdb_get(he_engine *e, const void *k, size_t kn, void *buf, size_t cap, size_t *vn)
{
    char *msg = NULL;
    rocksdb_pinnableslice_t *p = rocksdb_get_pinned(e->db, e->ro, k, kn, &msg);
    if (msg) {
        rocksdb_pinnableslice_destroy(p);
        return fail(e, "rocksdb_get_pinned", msg);
    }
    peer_count_get(&e->pc, p != NULL);
    if (!p) return 1;
    size_t n;
    const char *v = rocksdb_pinnableslice_value(p, &n);
    memcpy(buf, v, n < cap ? n : cap);
    *vn = n;
    rocksdb_pinnableslice_destroy(p);
    return 0;
}

static int rdb_del(he_engine *e, const void *k, size_t kn)
{
    char *msg = NULL;
    rocksdb_delete(e->db, e->wo, k, kn, &msg);
    if (msg) return fail(e, "rocksdb_delete", msg);
    peer_count_write(&e->pc, kn);
    return 0;
}

static int rdb_scan(he_engine *e, const void *k, size_t kn, uint32_t n, uint32_t *got)
{
    *got = 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator(e->db, e->ro);
    if (!it) return fail(e, "rocksdb_create_iterator", NULL);
    uint32_t i = 0;
    for (rocksdb_iter_seek(it, k, kn); i < n && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        (void)rocksdb_iter_key(it, &klen);
        (void)rocksdb_iter_value(it, &vlen);
        i++;
    }
    char *msg = NULL;
    rocksdb_iter_get_error(it, &msg);
    rocksdb_iter_destroy(it);
    *got = i;
    return msg ? fail(e, "rocksdb iterator", msg) : 0;
}

/* ---- counters ---- */

/* The line of the statistics text that starts with name followed by a space, or NULL. */
static const char *stat_line(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = text; s && *s;) {
        if (!strncmp(s, name, n) && s[n] == ' ') return s + n;
        s = strchr(s, '\n');
        if (s) s++;
    }
    return NULL;
}

/* A ticker ("name COUNT : v") or a histogram's count ("name P50 : .. COUNT : v SUM : ..").
   Returns 0, or -1 when the text does not have it. */
static int stat_count(const char *text, const char *name, uint64_t *v)
{
    const char *s = stat_line(text, name);
    if (!s) return -1;
    const char *eol = strchr(s, '\n');
    const char *c = strstr(s, "COUNT : ");
    if (!c || (eol && c > eol)) return -1;
    char *end;
    unsigned long long x = strtoull(c + 8, &end, 10);
    if (end == c + 8) return -1;
    *v = x;
    return 0;
}

static int prop_int(he_engine *e, const char *name, uint64_t *v)
{
    return rocksdb_property_int(e->db, name, v) == 0 ? 0 : -1;
}

/* Provides counter id of out as v, approximate when it is one of RocksDB's estimates. */
static void provide(he_counters *out, int id, uint64_t v)
{
    /* Not in the workbench's terms, but close (docs/engines.md): the WAL bytes, stalls
       (stops and slowdowns as one figure), the memtable size and the pending work. */
    static const int approx[] = { HE_ID(wal_bytes), HE_ID(stall_count), HE_ID(stall_micros),
                                  HE_ID(memtable_bytes), HE_ID(pending_compaction_bytes) };
    *he_counter_at(out, id, 0) = v;
    out->avail[id] = HE_EXACT;
    for (size_t i = 0; i < sizeof approx / sizeof approx[0]; i++)
        if (approx[i] == id) out->avail[id] = HE_APPROX;
}

/* The counters RocksDB provides; every other one is unavailable (null): blocks read
   (RocksDB's block-cache tickers count compaction reads too), slowdowns apart from stalls,
   strategy switches, tags and reasons, and segments probed without a bloom filter. */
static int rdb_counters(he_engine *e, he_counters *out)
{
    *out = (he_counters){ 0 };
    peer_counts(&e->pc, out);

    char *st = rocksdb_options_statistics_get_string(e->opts);
    static const struct { const char *name; int id; } stats[] = {
        { "rocksdb.flush.write.bytes", HE_ID(flush_bytes_written) },
        { "rocksdb.compact.write.bytes", HE_ID(compaction_bytes_written) },
        { "rocksdb.compact.read.bytes", HE_ID(compaction_bytes_read) },
        { "rocksdb.wal.bytes", HE_ID(wal_bytes) },
        /* files whose filter let a lookup through: the files whose data it searched */
        { "rocksdb.bloom.filter.full.positive", HE_ID(segments_probed) },
        { "rocksdb.db.flush.micros", HE_ID(flushes) },
        { "rocksdb.compaction.times.micros", HE_ID(compactions) },
        { "rocksdb.db.write.stall", HE_ID(stall_count) },
        { "rocksdb.stall.micros", HE_ID(stall_micros) },
    };
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        uint64_t v;
        if (stats[i].id == HE_ID(segments_probed) && e->bloom_bits <= 0) continue;
        if (st && stat_count(st, stats[i].name, &v) == 0) provide(out, stats[i].id, v);
    }
    free(st);

    uint64_t v;
    if (prop_int(e, "rocksdb.live-sst-files-size", &v) == 0)
        provide(out, HE_ID(live_sst_bytes), v);
    uint64_t files = 0;
    int l = 0;
    for (; l < RDB_LEVELS; l++) {
        char name[48];
        snprintf(name, sizeof name, "rocksdb.num-files-at-level%d", l);
        char *s = rocksdb_property_value(e->db, name);
        if (!s) break;
        files += strtoull(s, NULL, 10);
        free(s);
    }
    if (l == RDB_LEVELS) provide(out, HE_ID(live_sst_files), files);
    char *agg = rocksdb_property_value(e->db, "rocksdb.aggregated-table-properties");
    const char *ent = agg ? strstr(agg, "# entries=") : NULL;
    if (ent) provide(out, HE_ID(live_entries), strtoull(ent + 10, NULL, 10));
    free(agg);
    if (prop_int(e, "rocksdb.cur-size-all-mem-tables", &v) == 0)
        provide(out, HE_ID(memtable_bytes), v);
    if (prop_int(e, "rocksdb.estimate-pending-compaction-bytes", &v) == 0)
        provide(out, HE_ID(pending_compaction_bytes), v);
    return 0;
}

static int rdb_busy(he_engine *e)
{
    static const char *const props[] = { "rocksdb.num-running-compactions",
                                         "rocksdb.num-running-flushes",
                                         "rocksdb.mem-table-flush-pending" };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        uint64_t v;
        if (prop_int(e, props[i], &v) == 0 && v) return 1;
    }
    return 0;
}

static const char *rdb_error(he_engine *e) { return peer_error(&e->pc); }

static void rdb_settings(he_engine *e, void (*emit)(void *arg, const char *k, const char *v),
                         void *arg)
{
    peer_settings_emit(&e->pc, emit, arg);
}

static const char *rdb_variants(void) { return "leveled, universal"; }

const he_ops he_rocksdb_ops = {
    .name = "rocksdb",
    .description = "RocksDB 7.8 (C API)",
    .open = rdb_open,
    .close = rdb_close,
    .put = rdb_put,
    .get = rdb_get,
    .del = rdb_del,
    .scan = rdb_scan,
    .counters = rdb_counters,
    .busy = rdb_busy,
    .error = rdb_error,
    .settings = rdb_settings,
    .variants = rdb_variants,
};
