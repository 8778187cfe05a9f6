/* runctx.h: what runner.c (client threads, phases) and monitor.c (timeline, progress)
 * share during a run. Internal to the harness; run.h is the interface.
 *
 * Thread safety: fields marked "atomic" are written by one thread and read by others with
 * relaxed loads; everything else is set before the threads that read it start (client
 * threads are created per phase, the monitor once) or read after they are joined. */
#ifndef AM_HARNESS_RUNCTX_H
#define AM_HARNESS_RUNCTX_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "livehist.h"
#include "liveset.h"
#include "run.h"

typedef struct run_ctx run_ctx;

typedef struct client {
    alignas(64) _Atomic uint64_t ops;   /* atomic: completed operations, whole run */
    _Atomic int64_t logical;            /* atomic: this thread's change to the live bytes */
    _Atomic int64_t live_keys;          /* atomic: ... and to the live key count */
    livehist *lh;                       /* owned: latencies of the whole run, for intervals */
    histogram *lat[OP_TYPES];           /* owned: latencies of this phase, per op type */
    uint64_t phase_ops, found, not_found, scan_entries;
    uint64_t writes;                    /* puts so far: the value version */
    uint64_t t_first, t_last;           /* CLOCK_MONOTONIC ns: this phase's span */
    char *wbuf, *rbuf;                  /* owned: value to write, value read */
    size_t vcap;                        /* bytes in each buffer */
    run_ctx *r;                         /* borrowed */
    unsigned idx;
} client;

struct run_ctx {
    const run_config *cfg;              /* borrowed, as everything up to res */
    const wl_workload *w;
    const he_ops *ops;
    he_engine *e;
    _Atomic int *stop;                  /* STOP_*: set by SIGINT or the first error */
    run_result *res;
    client *clients;                    /* owned: cfg->threads of them */
    unsigned nclients;
    wl_keyspace *ks;                    /* owned */
    liveset *ls;                        /* owned */
    size_t phase;                       /* the phase client threads run */
    _Atomic int cur_phase;              /* atomic: for the monitor; -1 before the first */
    _Atomic int state;                  /* atomic: RS_* */
    _Atomic uint64_t phase_base_ops;    /* atomic: sum of clients' ops at the phase start */
    _Atomic uint64_t phase_start_ns;    /* atomic: CLOCK_MONOTONIC at the phase start */
    uint64_t t0_ns;                     /* CLOCK_MONOTONIC when the engine was opened */
    int tty;                            /* stderr is a terminal */
    pthread_mutex_t err_mu;             /* guards res->error */
};

/* Sum of the clients' completed operations. */
uint64_t rc_total_ops(run_ctx *r);
/* Live key-value bytes and keys as the clients' accounts say now. */
void rc_logical(run_ctx *r, int64_t *bytes, int64_t *keys);
/* Records the first error of the run and raises the stop flag. */
void rc_fail(run_ctx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The monitor thread: a timeline sample every cfg->sample_ms and, unless cfg->quiet,
 * progress on stderr. NULL when neither is wanted or on OOM (the run goes on without:
 * *err set to 1 on OOM). */
typedef struct monitor monitor;
monitor *monitor_start(run_ctx *r, int *err);
/* Stops the thread and appends the last, partial interval to the timeline. Accepts NULL. */
void monitor_stop(monitor *m);
/* Clears the progress line on a terminal before the runner prints a line of its own. */
void monitor_clear_line(run_ctx *r);

#endif
