/* engine.h: the one interface the harness drives, a table of functions with one adapter
 * per engine (harness/engines/): Amethyst under each strategy, RocksDB, LevelDB, and
 * `null`, which does nothing, to measure the harness itself.
 *
 * Every function returns 0 on success, 1 for "not found" (get), or -1 on error with a
 * message in the handle (he_error). A handle is used by many client threads at once;
 * adapters must be thread-safe as their engines are. */
#ifndef AM_HARNESS_ENGINE_H
#define AM_HARNESS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct he_config {
    const char *dir;              /* database directory */
    size_t memtable_bytes;
    int bloom_bits;               /* 0: no bloom filters */
    size_t cache_bytes;
    size_t block_bytes;
    int sync;                     /* fsync every write */
    int compaction_threads;       /* 0: inline, deterministic (Amethyst only) */
    int deterministic;
} he_config;

/* Engine counters in the workbench's units (docs/metrics.md). A field an engine cannot
 * provide is marked in `have` (bit per field) rather than left as a made-up zero. */
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
    uint32_t have;                /* HE_HAVE_* bits */
    int approximate;              /* 1: some figures are estimates (docs/engines.md) */
} he_counters;

enum {
    HE_HAVE_WRITE_AMP = 1u << 0, HE_HAVE_READ_AMP = 1u << 1, HE_HAVE_SPACE = 1u << 2,
    HE_HAVE_COMPACTIONS = 1u << 3, HE_HAVE_STALLS = 1u << 4, HE_HAVE_TAGS = 1u << 5,
};

typedef struct he_engine he_engine;
typedef struct he_ops {
    const char *name;             /* "leveled", "rocksdb-leveled", "null", ... */
    const char *description;
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
} he_ops;

/* The adapter called name (variant is the part after the engine family, e.g. the
 * strategy), or NULL. */
const he_ops *he_find(const char *name, const char **variant);
void he_list(void (*emit)(void *arg, const char *name, const char *desc), void *arg);

#endif
