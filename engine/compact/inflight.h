/* inflight.h: the jobs in flight, as the engine (db_bg.c) and the picker tests keep them
 * to give every pick its am_pick_env (strategy.h). A set owns a copy of each job's inputs
 * and of its span's keys, so the env stays valid while versions change under it.
 *
 * Thread safety: none of its own; the engine's mutex guards the set. */
#ifndef AM_COMPACT_INFLIGHT_H
#define AM_COMPACT_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>
#include "compact/strategy.h"

typedef struct inflight_set {
    size_t n, cap, captickets;
    am_inflight *jobs;        /* what envs borrow; inputs and span keys owned here */
    uint64_t *tickets;        /* tickets[i] names jobs[i] */
    size_t nbusy, capbusy;
    seg_ref *busy;            /* every input, sorted by (level, id); owned */
    uint64_t next_ticket;
} inflight_set;

void inflight_init(inflight_set *s);
void inflight_free(inflight_set *s);          /* forgets every job; accepts a zeroed set */
/* Records job, just picked on v (its inputs are segments of v), as in flight; *ticket
 * names it for inflight_done. AM_OK, or AM_ERR_NOMEM (nothing recorded). */
int inflight_add(inflight_set *s, const am_version *v, const am_job *job, uint64_t *ticket);
/* The job called ticket is over (installed, failed or abandoned). */
void inflight_done(inflight_set *s, uint64_t ticket);
/* 1 when (level, id) is an input of a job in s. */
int inflight_busy(const inflight_set *s, int level, uint64_t id);
/* Fills env with v, s's jobs and the clock; env borrows from s until s next changes. */
void inflight_env(const inflight_set *s, const am_version *v, uint64_t ops, uint64_t micros,
                  am_pick_env *env);

#endif
