/* engine.h: the one interface the harness drives, a table of functions with one adapter
 * per engine (harness/engines/): Amethyst under each strategy, RocksDB, LevelDB, and
 * `null`, which does nothing, to measure the harness itself.
 *
 * Every function returns 0 on success, 1 for "not found" (get), or -1 on error with a
 * message in the handle (he_error). A handle is used by many client threads at once;
 * adapters must be thread-safe as their engines are.
 *
 * Names. The registry (engine.c) is one static const table of engine families. A family
 * without variants is one engine ("null"); a family with variants is one engine per
 * variant, named "<family>-<variant>" ("rocksdb-universal"). Amethyst's variants are the
 * engine's compaction strategies, read at run time from am_strategy_names(), and are also
 * engines by their bare names ("leveled" = "amethyst-leveled"), so a strategy added to the
 * engine is an engine of the harness without a line here. A peer drops in as one row. */
#ifndef AM_HARNESS_ENGINE_H
#define AM_HARNESS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct he_config {
    const char *dir;              /* database directory */
    size_t memtable_bytes;
    int bloom_bits;               /* 0: no bloom filters */
    size_t cache_bytes;
    size_t block_bytes;           /* 0: the engine's default */
    int sync;                     /* fsync every write */
    int compaction_threads;       /* 0: inline, deterministic (Amethyst only) */
    int deterministic;
    const char *engine_opt;       /* "K=V,..." engine options by name, or NULL; only for
                                     adapters with he_ops.takes_engine_opt (the runner
                                     refuses it for the others), which refuse (-2) what
                                     they do not know */
} he_config;

/* Compaction reasons, as Amethyst names them (am_reason_name); the JSON's keys. */
#define HE_REASONS 6
static const char *const he_reason_names[HE_REASONS] = {
    "L0", "size", "tier", "switch-leveled", "switch-tiered", "manual",
};
#define HE_LEVELS 8                   /* per-level counters: levels 0 .. 7 */

/* Every engine counter the workbench reports, declared once. The lists generate
 * he_counters, the window deltas (metrics.c), the JSON (report.c: the phases, totals,
 * end states and timeline, and engine.approximate_counters), and the schema the harness
 * tests check (tests/results_check.h). docs/metrics.md defines each; docs/results.md
 * says where it sits in the JSON.
 *
 * HE_COUNTERS: X(field, json, kind, unit, timeline)
 *   field     the he_counters member, uint64_t, in the workbench's units
 *   json      where the JSON has it: a path ("bytes.user_written") below each window
 *             object (a phase, totals) for HE_SUM, below each end_state (and a timeline
 *             sample's "engine") for HE_GAUGE; its last part is the name
 *             engine.approximate_counters uses
 *   kind      HE_SUM: cumulative, a window reports b - a; HE_GAUGE: state, as at b
 *   unit      HE_COUNT: an integer; HE_MICROS: microseconds, written as seconds (a real)
 *   timeline  1: each timeline sample carries its cumulative value too (top level)
 * HE_COUNTER_ARRAYS: X(field, n, json, kind, keys): field is uint64_t[n]; the JSON has an
 *   object keyed by keys[i], or an array of n when keys is NULL; summed like a counter.
 *
 * Availability is opt-in: an adapter marks each counter it provides (HE_PROVIDE) as exact
 * or approximate; every other one is null in the JSON, and so is every figure built on
 * it, never a made-up 0. (Amethyst's adapter passes am_stats' counters through by name.) */
#define HE_COUNTERS(X)                                                                   \
    X(user_bytes_written, "bytes.user_written", HE_SUM, HE_COUNT, 0)                     \
    X(flush_bytes_written, "bytes.flush_written", HE_SUM, HE_COUNT, 0)                   \
    X(compaction_bytes_written, "bytes.compaction_written", HE_SUM, HE_COUNT, 0)         \
    X(compaction_bytes_read, "bytes.compaction_read", HE_SUM, HE_COUNT, 0)               \
    X(wal_bytes, "bytes.wal_written", HE_SUM, HE_COUNT, 0)                               \
    X(point_lookups, "point_lookups", HE_SUM, HE_COUNT, 0)                               \
    X(lookups_found, "lookups_found", HE_SUM, HE_COUNT, 0)                               \
    X(segments_probed, "segments_probed", HE_SUM, HE_COUNT, 0)                           \
    X(blocks_read, "blocks_read", HE_SUM, HE_COUNT, 0)                                   \
    X(blocks_read_disk, "blocks_read_disk", HE_SUM, HE_COUNT, 0)                         \
    X(flushes, "flushes", HE_SUM, HE_COUNT, 0)                                           \
    X(compactions, "compactions", HE_SUM, HE_COUNT, 1)                                   \
    X(switches, "switches", HE_SUM, HE_COUNT, 1)                                         \
    X(switches_to_leveled, "switches_to_leveled", HE_SUM, HE_COUNT, 0)                   \
    X(switches_to_tiered, "switches_to_tiered", HE_SUM, HE_COUNT, 0)                     \
    X(stall_count, "stall_count", HE_SUM, HE_COUNT, 1)                                   \
    X(stall_micros, "stall_seconds", HE_SUM, HE_MICROS, 0)                               \
    X(slowdown_count, "slowdown_count", HE_SUM, HE_COUNT, 0)                             \
    X(slowdown_micros, "slowdown_seconds", HE_SUM, HE_MICROS, 0)                         \
    X(live_sst_bytes, "live_sst_bytes", HE_GAUGE, HE_COUNT, 0)                           \
    X(live_sst_files, "live_sst_files", HE_GAUGE, HE_COUNT, 0)                           \
    X(live_entries, "live_entries", HE_GAUGE, HE_COUNT, 0)                               \
    X(memtable_bytes, "memtable_bytes", HE_GAUGE, HE_COUNT, 0)                           \
    X(pending_compaction_bytes, "pending_compaction_bytes", HE_GAUGE, HE_COUNT, 0)       \
    X(segments_leveled, "segments_by_tag.leveled", HE_GAUGE, HE_COUNT, 0)                \
    X(segments_tiered, "segments_by_tag.tiered", HE_GAUGE, HE_COUNT, 0)                  \
    X(bytes_leveled, "bytes_by_tag.leveled", HE_GAUGE, HE_COUNT, 0)                      \
    X(bytes_tiered, "bytes_by_tag.tiered", HE_GAUGE, HE_COUNT, 0)

#define HE_COUNTER_ARRAYS(X)                                                             \
    X(compactions_by_reason, HE_REASONS, "compactions_by_reason", HE_SUM, he_reason_names) \
    X(compaction_bytes_read_by_level, HE_LEVELS, "bytes.compaction_read_by_level", HE_SUM, NULL)

typedef enum { HE_SUM, HE_GAUGE } he_kind;
typedef enum { HE_COUNT, HE_MICROS } he_unit;
/* A counter's availability in one he_counters (he_counters.avail). */
typedef enum { HE_NONE = 0, HE_EXACT = 1, HE_APPROX = 2 } he_avail;

/* HE_ID(field): the counter's index, for he_counters.avail and he_counter_info. */
#define HE_ID(field) HE_ID_##field
enum {
#define HE_ID_ENUM_(field, ...) HE_ID(field),
    HE_COUNTERS(HE_ID_ENUM_)
    HE_COUNTER_ARRAYS(HE_ID_ENUM_)
#undef HE_ID_ENUM_
    HE_NCOUNTERS
};

typedef struct he_counters {
#define HE_FIELD_(field, ...) uint64_t field;
#define HE_ARRAY_FIELD_(field, n, ...) uint64_t field[n];
    HE_COUNTERS(HE_FIELD_)
    HE_COUNTER_ARRAYS(HE_ARRAY_FIELD_)
#undef HE_FIELD_
#undef HE_ARRAY_FIELD_
    /* logical_bytes: adapters leave it 0; the runner fills it from its own account of the
       live pairs (liveset.h), the same for every engine. Not a counter of the list. */
    uint64_t logical_bytes;
    uint8_t avail[HE_NCOUNTERS];  /* he_avail per counter; HE_NONE (0) unless provided */
} he_counters;

/* Sets a counter and marks it provided: exactly (HE_PROVIDE) or as an estimate. */
#define HE_PROVIDE(c, field, v) ((c)->field = (v), (c)->avail[HE_ID(field)] = HE_EXACT)
#define HE_PROVIDE_APPROX(c, field, v) ((c)->field = (v), (c)->avail[HE_ID(field)] = HE_APPROX)

/* What the lists say of one counter (counters.c), indexed by HE_ID. */
typedef struct he_counter_info {
    const char *field;            /* "user_bytes_written" */
    const char *json;             /* "bytes.user_written" */
    he_kind kind;
    he_unit unit;
    int timeline;
    size_t offset;                /* of the field in he_counters */
    size_t n;                     /* 1, or the array's length */
    const char *const *keys;      /* an array's JSON keys, or NULL (a JSON array) */
} he_counter_info;

extern const he_counter_info he_counter_infos[HE_NCOUNTERS];
/* The counter whose field is named field, or -1. */
int he_counter_find(const char *field);
/* The last part of counter id's JSON path ("user_written"): its name in
   engine.approximate_counters. */
const char *he_counter_name(int id);
/* Element i (< n) of counter id in c. */
static inline uint64_t *he_counter_at(he_counters *c, int id, size_t i)
{
    return (uint64_t *)((char *)c + he_counter_infos[id].offset) + i;
}
static inline uint64_t he_counter_get(const he_counters *c, int id, size_t i)
{
    return ((const uint64_t *)((const char *)c + he_counter_infos[id].offset))[i];
}
/* 1 when c provides every counter of ids (n of them). */
int he_has_all(const he_counters *c, const int *ids, size_t n);

typedef struct he_engine he_engine;
typedef struct he_ops {
    const char *name;             /* "leveled", "rocksdb-leveled", "null", ... */
    const char *description;
    int takes_engine_opt;         /* 1: open() reads he_config.engine_opt */
    /* Returns 0, -1 (e.g. I/O) or -2 when the configuration is invalid for this engine
       (a usage error: the harness exits 2), with a one-line reason in err. */
    int (*open)(const he_config *c, const char *variant, he_engine **out, char *err,
                size_t errcap);
    int (*close)(he_engine *e);
    int (*put)(he_engine *e, const void *k, size_t kn, const void *v, size_t vn);
    int (*get)(he_engine *e, const void *k, size_t kn, void *buf, size_t cap, size_t *vn);
    int (*del)(he_engine *e, const void *k, size_t kn);
    /* Seek to k and read up to n entries; *got receives how many. */
    int (*scan)(he_engine *e, const void *k, size_t kn, uint32_t n, uint32_t *got);
    int (*counters)(he_engine *e, he_counters *out);
    /* 1 while flushes or compactions are running or pending, for -settle. */
    int (*busy)(he_engine *e);
    const char *(*error)(he_engine *e);
    /* Writes the engine's own settings as JSON-ready key=value pairs. */
    void (*settings)(he_engine *e, void (*emit)(void *arg, const char *k, const char *v),
                     void *arg);
    /* Added with amethystd (additive). Optional (NULL: no variants): the variants as one
       comma-separated string ("leveled, tiered"), static. */
    const char *(*variants)(void);
    /* Added for validation before anything is created (additive). Optional (NULL: open is
       the first check): 0 when open would accept c as far as can be told without touching
       the directory, else -2 with err saying why (an option out of range, say). */
    int (*check)(const he_config *c, const char *variant, char *err, size_t errcap);
} he_ops;

/* The adapter called name (variant is the part after the engine family, e.g. the
 * strategy; it points into name), or NULL. */
const he_ops *he_find(const char *name, const char **variant);
/* Every engine name he_find accepts (aliases left out), with a description. */
void he_list(void (*emit)(void *arg, const char *name, const char *desc), void *arg);
/* The one name of the engine name stands for ("amethyst-leveled" -> "leveled") into buf;
 * 0, or -1 when name is unknown. */
int he_canonical(const char *name, char *buf, size_t cap);
/* The engine names as one comma-separated line, for error messages (into buf). */
void he_names(char *buf, size_t cap);

/* Which engine wrote the database in dir, from its files (dbkind.c): "amethyst",
 * "leveldb", "rocksdb-leveled", "rocksdb-universal", or "rocksdb" when its compaction style
 * cannot be read; NULL when dir holds no readable CURRENT / MANIFEST (cannot tell). */
const char *he_db_kind(const char *dir);
/* 1 when a database of that kind is the engine's own (family, and variant when the kind
 * names one), or the kind is NULL; else 0. */
int he_db_kind_fits(const char *kind, const he_ops *ops, const char *variant);

#endif
