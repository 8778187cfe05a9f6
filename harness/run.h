/* run.h: one run of a workload on an engine. main.c fills a run_config from the command
 * line; runner.c opens the engine, runs the phases with client threads and a monitor
 * thread (timeline and progress, monitor.c) and fills a run_result; report.c turns both
 * into the JSON document and the summary table. docs/results.md describes every field.
 *
 * Ownership: run_result owns its phases' histograms and its timeline; run_result_free
 * releases them. */
#ifndef AM_HARNESS_RUN_H
#define AM_HARNESS_RUN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "engine.h"
#include "histogram.h"
#include "../workloads/workload.h"

#define AMETHYSTD_VERSION "0.1.0"

/* Values of the stop flag the client loops read. */
enum { STOP_NONE = 0, STOP_INTERRUPT = 1, STOP_ERROR = 2 };

/* What the run is doing (timeline "state"). */
enum { RS_OPEN = 0, RS_RUN, RS_SETTLE, RS_PAUSE, RS_DONE };
const char *run_state_name(int state);

/* Every option's effective value (docs/results.md, "config"). */
typedef struct run_config {
    const char *workload;         /* as given: a name, a comma list or a file */
    uint64_t keys;
    uint32_t value_size;
    uint64_t ops;                 /* 0: the workload's own counts */
    char engine[96];              /* canonical engine name */
    unsigned threads;
    uint64_t seed;
    char db[4096];                /* the database directory used */
    int db_is_temp;               /* made by amethystd; removed at exit unless keep */
    int db_preexisting;           /* held a database before the run */
    int make_db_dir;              /* -db names a directory to create (mkdir -p) */
    int make_results_dir;         /* the default -out needs results/ made */
    int keep;
    char out[4096];               /* the JSON file written */
    unsigned sample_ms;           /* 0: no timeline */
    unsigned pause_ms;
    int settle;
    int deterministic;
    double memtable_mb;
    int bloom_bits;
    double cache_mb;
    int sync;
    int compaction_threads;
    int quiet;
    char engine_opt[512];         /* -engine-opt K=V,... ("" when not given) */
} run_config;

typedef struct phase_result {
    char name[48];
    size_t index;                 /* in the workload's phases */
    uint64_t ops;                 /* operations done */
    uint64_t ops_expected;        /* the phase's definition */
    double seconds;               /* first operation's start to last one's end */
    double settle_seconds, pause_seconds;
    histogram *lat[OP_TYPES];     /* owned; NULL when the type did not occur */
    uint64_t found, not_found;    /* gets (read, read_missing, rmw's read) */
    uint64_t scan_entries;        /* entries returned by scans */
    he_counters start, end;       /* engine counters at the phase's window edges */
    int64_t logical_bytes;        /* live pairs' key + value bytes after the phase */
    int64_t live_keys;
} phase_result;

typedef struct run_sample {
    double t;                     /* seconds since the engine was opened */
    double dt;                    /* length of the interval that ends at t */
    int phase;                    /* workload phase index; -1 before the first */
    int state;                    /* RS_* */
    uint64_t ops;                 /* operations completed in the interval */
    uint64_t p50_ns, p99_ns;      /* over the interval's operations; 0 when none */
    he_counters c;                /* engine counters at t (cumulative) */
    int64_t logical_bytes, live_keys;
    uint64_t rss_bytes;
} run_sample;

typedef struct setting {
    char key[64], value[192];
} setting;

typedef struct run_result {
    char start_iso[32];           /* UTC, ISO 8601, when the engine was opened */
    clk_src clock;
    double open_seconds;
    double wall_seconds;          /* engine open to the end of the last phase's window */
    he_counters opened;           /* counters right after open */
    size_t nphases;               /* phases finished */
    phase_result *phases;         /* owned; one per workload phase, nphases filled */
    size_t nsamples, cap_samples;
    run_sample *timeline;             /* owned */
    setting *settings;            /* owned: the engine's own settings */
    size_t nsettings, cap_settings;
    int logical_known;            /* 0: the database held data before, or the account
                                     overflowed: logical bytes are unknown */
    int interrupted;
    char interrupted_phase[48];   /* "" when the interruption fell between phases */
    char error[512];              /* "" unless the run failed */
} run_result;

/* Runs every phase of w on the engine (ops, variant) with the configuration cfg. stop is
 * the flag the SIGINT handler sets to STOP_INTERRUPT. Returns 0 when every phase ran;
 * 1 when interrupted (res holds the finished phases); -1 on an engine error during the
 * run (res->error says which; finished phases are kept); -2 when the engine refused the
 * configuration at open (a usage error; err says why); -3 on another failure to start
 * (err says why). res is always initialised and must be freed with run_result_free. */
int run_workload(const run_config *cfg, const wl_workload *w, const he_ops *ops,
                 const char *variant, _Atomic int *stop, run_result *res, char *err,
                 size_t errcap);
void run_result_free(run_result *res);
/* What run_workload would refuse before it opens anything, checked before the caller
 * creates a directory or a file: -engine-opt for an engine that takes none, the engine's
 * own check of its options (he_ops.check), and a key space whose live-key account cannot
 * fit this machine's memory. 0, or -2 with err saying why. */
int run_check(const run_config *cfg, const wl_workload *w, const he_ops *ops,
              const char *variant, char *err, size_t errcap);

/* Resident set size of this process in bytes (/proc/self/statm); 0 if unknown. */
uint64_t run_rss_bytes(void);

#endif
