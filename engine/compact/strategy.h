/* strategy.h: compaction policy as a plug-in. A strategy only decides: it reads a version
 * (levels, runs, segments, their tags and counters) and describes the next merge as a
 * job holding plain values. It never reads or writes a file; the merge kernel (merge.h)
 * and job execution (job.h) do every merge. Strategies are found by name. */
#ifndef AM_COMPACT_STRATEGY_H
#define AM_COMPACT_STRATEGY_H

#include <stddef.h>
#include <stdint.h>
#include "amethyst.h"
#include "../version/version.h"

/* Why a job was picked; counted per reason in statistics. */
enum {
    JOB_L0 = 0,            /* L0 file count reached its trigger */
    JOB_LEVEL_SIZE,        /* a level exceeded its target size */
    JOB_TIER_FULL,         /* enough similar runs to merge */
    JOB_SWITCH_LEVELED,    /* adaptive: tiered segments under read pressure */
    JOB_SWITCH_TIERED,     /* adaptive: leveled segments under write pressure */
    JOB_MANUAL,
    JOB_REASONS
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
} am_strategy;

extern const am_strategy am_strategy_leveled;
/* The strategy called name, or NULL. */
const am_strategy *strategy_find(const char *name);
/* Comma-separated list of known names, for messages. */
const char *strategy_names(void);

#endif
