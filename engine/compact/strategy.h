/* strategy.h: compaction policy as a plug-in. A strategy only decides: it reads a pick
 * environment (the current version's read-only view, version/view.h; the jobs in flight;
 * the clock) and describes the next merge as a job holding plain values. It never reads
 * or writes a file and keeps no account of running jobs: the engine (db_bg.c) runs every
 * job and tells the next pick which are still in flight (inflight.h). Strategies are found
 * by name. */
#ifndef AM_COMPACT_STRATEGY_H
#define AM_COMPACT_STRATEGY_H

#include <stddef.h>
#include <stdint.h>
#include "amethyst.h"
#include "../version/view.h"

/* Why a job was picked (amethyst.h's AM_REASON_*); counted per reason in am_stats. */
enum {
    JOB_L0 = AM_REASON_L0,
    JOB_LEVEL_SIZE = AM_REASON_LEVEL_SIZE,
    JOB_TIER_FULL = AM_REASON_TIER_FULL,
    JOB_SWITCH_LEVELED = AM_REASON_SWITCH_LEVELED,
    JOB_SWITCH_TIERED = AM_REASON_SWITCH_TIERED,
    JOB_MANUAL = AM_REASON_MANUAL,
    JOB_REASONS = AM_REASONS
};

typedef struct am_job {
    int reason;
    size_t ninputs, cap_inputs;
    seg_ref *inputs;          /* owned: (level, id) of each input segment */
    int out_level;
    uint64_t out_run;         /* 0: a fresh run id is assigned by the engine */
    int out_tag;
    int bottommost;           /* no older data below: drop tombstones and shadowed entries */
    int trivial_move;         /* inputs move to out_level / out_run without a rewrite */
    uint64_t target_file_bytes;
} am_job;

void job_init(am_job *j);
void job_clear(am_job *j);                  /* frees inputs, resets */
int job_add_input(am_job *j, int level, uint64_t id);

/* A job in flight: handed out by an earlier pick and not yet installed or abandoned (as
 * Pebble's picker sees its inProgressCompactions). Its inputs are still in the version;
 * no pick may name one of them again. */
typedef struct am_inflight {
    size_t ninputs;
    const seg_ref *inputs;    /* borrowed */
    int min_level, max_level; /* of its inputs: shallowest, deepest */
    int out_level;
    uint64_t out_run;         /* as the job asked (0: a new run) */
    /* What its output run will cover: the inputs' user-key span and, when the job joins
       a run already in out_level (out_run != 0), all of that run's span at the pick. */
    view_range span;          /* keys borrowed */
} am_inflight;

/* Everything a pick may read. Borrowed for the call only. */
typedef struct am_pick_env {
    const am_version *v;      /* the current version */
    size_t njobs;
    const am_inflight *jobs;  /* in flight, in no particular order */
    size_t nbusy;
    const seg_ref *busy;      /* every input of jobs, sorted by (level, id) */
    /* The clock: user operations so far (puts and deletes, point lookups, iterator seeks;
       a batch counts its entries), and a monotonic clock in microseconds (0 for a
       strategy that does not set `clocked`). */
    uint64_t ops, micros;
} am_pick_env;

/* 1 when segment g is an input of a job in flight in env (a pick must skip it). */
int pick_busy(const am_pick_env *env, const am_segment *g);

/* What a strategy is told after each flush or merge is installed. */
typedef struct am_event {
    int kind;                 /* 0 flush, 1 merge */
    const am_job *job;        /* NULL for a flush */
    const am_version *v;      /* the version just installed */
    uint64_t bytes_written;
} am_event;

typedef struct am_strategy {
    const char *name;
    void *(*create)(const am_options *opts);   /* NULL on OOM */
    void  (*destroy)(void *self);
    /* Fills job (already initialised, empty) and returns 1, or returns 0 when nothing is
       worth doing. Never names an input of a job in flight (pick_busy), and keeps every
       job it returns from interfering with those in flight. Deterministic: the same env
       and state give the same job. REQUIRES: engine mutex (env->v is current). */
    int   (*pick)(void *self, const am_pick_env *env, am_job *job);
    /* Optional. */
    void  (*observe)(void *self, const am_event *e);
    /* Optional: bytes the strategy would still like to merge (for stall and stats). */
    uint64_t (*pending_bytes)(void *self, const am_version *v);
    /* 1: the strategy reads the clock (env->micros is filled) and is also asked to pick
       every STRATEGY_TICK_OPS user operations, flushed or not, so that it can act on reads
       alone (inline, in the calling thread, when background_threads is 0). */
    int clocked;
    /* Optional: replaces the zero fields of o that stand for "the default" with this
       strategy's own defaults (am_options_resolve; the engine's apply to what is left). */
    void (*defaults)(am_options *o);
    /* The tag of flushed files (AM_TAG_LEVELED, the default 0, or AM_TAG_TIERED): how the
       strategy counts fresh data, so that tag statistics and am_segments say the same. */
    int flush_tag;
} am_strategy;

#define STRATEGY_TICK_OPS 1024

/* The registry: X(object, "name"), one line per strategy, in the order strategy_names()
 * lists them. A new strategy is its file (strategy_<name>.c, defining the object) and one
 * line here; strategy.c makes the lookup table and the names from this list. */
#define STRATEGY_LIST(X) \
    X(am_strategy_leveled, "leveled") \
    X(am_strategy_tiered, "tiered") \
    X(am_strategy_lazy_leveled, "lazy-leveled") \
    X(am_strategy_triangular, "triangular") \
    X(am_strategy_adaptive, "adaptive")

#define STRATEGY_EXTERN(obj, name) extern const am_strategy obj;
STRATEGY_LIST(STRATEGY_EXTERN)
#undef STRATEGY_EXTERN
/* The strategy called name, or NULL. */
const am_strategy *strategy_find(const char *name);
/* Comma-separated list of known names, for messages. */
const char *strategy_names(void);

#endif
