/* strategy.h: compaction policy as a plug-in. A strategy only decides: it reads a version
 * (levels, runs, segments, their tags and counters) and describes the next merge as a
 * job holding plain values. It never reads or writes a file; the merge kernel (merge.h)
 * and job execution (job.h) do every merge. Strategies are found by name. */
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
       worth doing. Skips segments with being_compacted set. Deterministic: the same
       version and state give the same job. REQUIRES: engine mutex (v is current). */
    int   (*pick)(void *self, const am_version *v, am_job *job);
    /* Optional. */
    void  (*observe)(void *self, const am_event *e);
    /* Optional: bytes the strategy would still like to merge (for stall and stats). */
    uint64_t (*pending_bytes)(void *self, const am_version *v);
    /* Optional: the engine's clock, given under the mutex right before every pick. ops:
       user operations so far (puts and deletes, point lookups, iterator seeks; a batch
       counts its entries); micros: a monotonic clock. A strategy with a tick is also asked
       to pick every STRATEGY_TICK_OPS user operations, flushed or not, so that it can act on
       reads alone (inline, in the calling thread, when background_threads is 0). */
    void (*tick)(void *self, uint64_t ops, uint64_t micros);
    /* Optional: replaces the zero fields of o that stand for "the default" with this
       strategy's own defaults (am_options_resolve; the engine's apply to what is left). */
    void (*defaults)(am_options *o);
    /* The tag of flushed files (AM_TAG_LEVELED, the default 0, or AM_TAG_TIERED): how the
       strategy counts fresh data, so that tag statistics and am_segments say the same. */
    int flush_tag;
} am_strategy;

#define STRATEGY_TICK_OPS 1024

extern const am_strategy am_strategy_leveled;
extern const am_strategy am_strategy_tiered;
extern const am_strategy am_strategy_lazy_leveled;
extern const am_strategy am_strategy_triangular;
extern const am_strategy am_strategy_adaptive;
/* The strategy called name, or NULL. */
const am_strategy *strategy_find(const char *name);
/* Comma-separated list of known names, for messages. */
const char *strategy_names(void);

#endif
