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

/* Engine counters in the workbench's units (docs/metrics.md). A field an engine cannot
 * provide is marked in `have` (bit per field) rather than left as a made-up zero. */
/* Compaction reasons, as Amethyst names them (am_reason_name); the JSON's keys. */
#define HE_REASONS 6
static const char *const he_reason_names[HE_REASONS] = {
    "L0", "size", "tier", "switch-leveled", "switch-tiered", "manual",
};

typedef struct he_counters {
    uint64_t user_bytes_written;
    uint64_t flush_bytes_written, compaction_bytes_written, compaction_bytes_read;
    uint64_t wal_bytes;
    uint64_t point_lookups, segments_probed, blocks_read;
    uint64_t compactions, switches, switches_to_leveled, switches_to_tiered;
    uint64_t stall_count, stall_micros;
    uint64_t live_bytes, live_files, logical_bytes;
    uint64_t pending_compaction_bytes;
    uint64_t segments_leveled, segments_tiered, bytes_leveled, bytes_tiered;
    /* Added with amethystd (additive): */
    uint64_t flushes;
    uint64_t blocks_read_disk;    /* of blocks_read, those that came from a file */
    uint64_t lookups_found;
    uint64_t slowdown_count, slowdown_micros;   /* writes delayed, not stopped */
    uint64_t memtable_bytes;      /* data not yet in SSTables (active + frozen memtables) */
    uint64_t live_entries;        /* entries in live SSTables, shadowed versions included */
    uint32_t have;                /* HE_HAVE_* bits */
    int approximate;              /* 1: some figures are estimates (docs/engines.md) */
    /* Added for the peers (additive): marks per figure, one HE_F_* bit each. A figure
       whose group is in `have` but whose bit is in `lack` is unavailable (null in the
       JSON, and so is every ratio built on it); one whose bit is in `approx` is an
       estimate (listed in the JSON's engine.approximate_counters). Amethyst sets neither. */
    uint32_t lack, approx;
    /* Added for the strategies (additive): merges and moves by the reason the strategy
       gave, in he_reason_names order (Amethyst's AM_REASON_*); group HE_HAVE_REASONS. */
    uint64_t compactions_by_reason[HE_REASONS];
} he_counters;
/* logical_bytes: adapters leave it 0; the runner fills it from its own account of the live
 * pairs (liveset.h), the same for every engine. */

enum {
    HE_HAVE_WRITE_AMP = 1u << 0, HE_HAVE_READ_AMP = 1u << 1, HE_HAVE_SPACE = 1u << 2,
    HE_HAVE_COMPACTIONS = 1u << 3, HE_HAVE_STALLS = 1u << 4, HE_HAVE_TAGS = 1u << 5,
    HE_HAVE_REASONS = 1u << 6,
};

/* One bit per figure, for he_counters.lack and .approx (the group of each in brackets). */
enum {
    HE_F_USER_BYTES = 1u << 0,          /* [write amp] user_bytes_written */
    HE_F_FLUSH_BYTES = 1u << 1,         /* [write amp] flush_bytes_written */
    HE_F_COMPACTION_WRITTEN = 1u << 2,  /* [write amp] compaction_bytes_written */
    HE_F_COMPACTION_READ = 1u << 3,     /* [write amp] compaction_bytes_read */
    HE_F_WAL_BYTES = 1u << 4,           /* [write amp] wal_bytes */
    HE_F_POINT_LOOKUPS = 1u << 5,       /* [read amp] point_lookups */
    HE_F_LOOKUPS_FOUND = 1u << 6,       /* [read amp] lookups_found */
    HE_F_SEGMENTS_PROBED = 1u << 7,     /* [read amp] segments_probed */
    HE_F_BLOCKS_READ = 1u << 8,         /* [read amp] blocks_read */
    HE_F_BLOCKS_READ_DISK = 1u << 9,    /* [read amp] blocks_read_disk */
    HE_F_FLUSHES = 1u << 10,            /* [compactions] flushes */
    HE_F_COMPACTIONS = 1u << 11,        /* [compactions] compactions */
    HE_F_SWITCHES = 1u << 12,           /* [compactions] switches (all three) */
    HE_F_STALL_COUNT = 1u << 13,        /* [stalls] stall_count */
    HE_F_STALL_MICROS = 1u << 14,       /* [stalls] stall_micros */
    HE_F_SLOWDOWN_COUNT = 1u << 15,     /* [stalls] slowdown_count */
    HE_F_SLOWDOWN_MICROS = 1u << 16,    /* [stalls] slowdown_micros */
    HE_F_LIVE_BYTES = 1u << 17,         /* [space] live_bytes */
    HE_F_LIVE_FILES = 1u << 18,         /* [space] live_files */
    HE_F_LIVE_ENTRIES = 1u << 19,       /* [space] live_entries */
    HE_F_MEMTABLE_BYTES = 1u << 20,     /* [space] memtable_bytes */
    HE_F_PENDING = 1u << 21,            /* [space] pending_compaction_bytes */
};

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
