/* workload.h: workloads as data. A workload is a list of phases; a phase is an operation
 * mix, a key distribution, a count and a value size. The built-ins (shift, ycsb-a..f, the
 * db_bench set) are written in this form, and a user's JSON file parses into it
 * (docs/workloads.md has the schema).
 *
 * Generators are deterministic: every random choice comes from a seeded generator, one
 * per client thread (seeded from the run seed and the thread number), so the same seed
 * gives the same operations. Nothing here knows about engines or timing.
 *
 * Thread safety: a workload is immutable once built; a wl_gen belongs to one thread. */
#ifndef AM_WORKLOADS_WORKLOAD_H
#define AM_WORKLOADS_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

/* Operation types (also the index of per-operation histograms). */
typedef enum {
    OP_READ = 0,        /* point lookup of an existing (or, per distribution, any) key */
    OP_READ_MISSING,    /* point lookup of a key that sorts inside the range but is absent */
    OP_UPDATE,          /* put of an existing key */
    OP_INSERT,          /* put of a new key (extends the key space) */
    OP_DELETE,
    OP_SCAN,            /* seek + scan_length nexts */
    OP_RMW,             /* read-modify-write: a read then a put of the same key */
    OP_TYPES
} wl_op_type;

const char *wl_op_name(wl_op_type t);     /* "read", "read_missing", "update", ... */

typedef enum {
    DIST_SEQUENTIAL = 0,   /* 0, 1, 2, ... over the range */
    DIST_UNIFORM,
    DIST_ZIPFIAN,          /* YCSB scrambled zipfian, constant theta (default 0.99) */
    DIST_LATEST,           /* YCSB latest: zipfian over recency of inserts */
    DIST_PERMUTATION,      /* every key of the range exactly once, in a seeded random order
                              (shared by all threads of the phase): fillrandom */
    DIST_TYPES
} wl_dist;

const char *wl_dist_name(wl_dist d);

typedef enum {
    KEYS_PADDED = 0,       /* printf("key-%010llu") style: prefix + zero-padded number */
    KEYS_HASHED,           /* YCSB: prefix + FNV-64 hash of the number, decimal */
} wl_key_format;

typedef struct wl_mix {
    double weight[OP_TYPES];      /* relative weights; 0 = never */
} wl_mix;

typedef struct wl_phase {
    char name[48];
    wl_mix mix;
    wl_dist dist;
    double zipf_theta;            /* for zipfian / latest */
    double range_lo, range_hi;    /* fraction of the key space the distribution covers */
    uint64_t ops;                 /* operations in the phase (all threads together) */
    uint32_t value_size;
    uint32_t scan_min, scan_max;  /* scan length, uniform in [min, max] */
    int sequential_fill;          /* 1: keys 0..ops-1 in order, all puts (a load) */
    uint64_t sequential_prefix;   /* the first this-many ops of the phase (global op index)
                                     are OP_INSERTs of keys lo+0, lo+1, ... in order; the
                                     rest follow mix and dist (shift's first phase) */
} wl_phase;

typedef struct wl_workload {
    char name[64];
    char description[160];
    size_t nphases;
    wl_phase *phases;             /* owned */
    uint64_t keys;                /* initial key space size N */
    wl_key_format key_format;
    char key_prefix[16];          /* "key-" or "user" */
    int key_digits;               /* padded width (KEYS_PADDED) */
} wl_workload;

/* Parameters a user sets on the command line. A JSON file's own values win over these;
 * these fill in what the file leaves out (docs/workloads.md). */
typedef struct wl_params {
    uint64_t keys;                /* N; 0: the workload's default (1,000,000) */
    uint32_t value_size;          /* 0: 256 */
    uint64_t ops;                 /* 0: the workload's default per phase */
    uint64_t seed;
} wl_params;

/* Builds a workload by name: "shift", "ycsb-a" .. "ycsb-f", a db_bench name or a comma
 * list of them ("fillrandom,readrandom"), or a path to a JSON file (ends in .json).
 * Returns 0, or -1 with a one-line reason in err (unknown name: lists the valid ones;
 * malformed file: says where). */
int wl_build(const char *name, const wl_params *p, wl_workload *out, char *err, size_t errcap);
void wl_free(wl_workload *w);
/* Names of the built-ins, one per line with a short description, for -list. */
void wl_list(void (*emit)(void *arg, const char *name, const char *desc), void *arg);

/* Key encoding: writes key number i into buf (cap >= 64); returns its length. */
size_t wl_key(const wl_workload *w, uint64_t i, char *buf);
/* A key that sorts inside the key space but is never written by the workload (for
 * read_missing): key i with a suffix. */
size_t wl_missing_key(const wl_workload *w, uint64_t i, char *buf);

/* One thread's operation stream for one phase. */
typedef struct wl_op {
    wl_op_type type;
    uint64_t key;                 /* key number */
    uint32_t scan_length;
} wl_op;

typedef struct wl_gen wl_gen;
/* thread in [0, nthreads): each thread gets its share of ops and its own random stream.
 * key_space: shared insert counter (for inserts and latest), atomically advanced; pass
 * the same one to every thread of a run (create it with w->keys). ks may be NULL: the
 * generator then uses a private one of w->keys. The global op index j of thread t's k-th
 * op is t + k * nthreads (sequential and permutation keys follow j), so thread t issues
 * ceil((ops - t) / nthreads) ops. NULL on OOM or bad arguments (phase or thread out of
 * range, nthreads 0). */
typedef struct wl_keyspace wl_keyspace;
wl_keyspace *wl_keyspace_new(uint64_t initial_keys);
void wl_keyspace_free(wl_keyspace *ks);
uint64_t wl_keyspace_size(const wl_keyspace *ks);

wl_gen *wl_gen_new(const wl_workload *w, size_t phase, wl_keyspace *ks, uint64_t seed,
                   unsigned thread, unsigned nthreads);
void wl_gen_free(wl_gen *g);
/* Next operation; returns 0 when this thread's share of the phase is done. Cheap: no
 * allocation, a few tens of nanoseconds. */
int wl_gen_next(wl_gen *g, wl_op *op);
/* Operations this thread will issue in the phase. */
uint64_t wl_gen_total(const wl_gen *g);

/* Fills buf with n value bytes for (key, version), deterministic and cheap. */
void wl_value(uint64_t key, uint64_t version, char *buf, size_t n);

#endif
