/* env_fault.h: a fault-injecting env for tests. It wraps a base env, forwards every call,
 * and keeps for each file written through it how many bytes were synced, so that a
 * simulated power cut can drop what was never made durable (leveldb's
 * fault_injection_test.cc has the same idea).
 *
 * Thread safety: all calls may come from any thread (one internal mutex). */
#ifndef AM_UTIL_ENV_FAULT_H
#define AM_UTIL_ENV_FAULT_H

#include "env.h"

typedef enum {
    FAULT_WRITE = 0,   /* append */
    FAULT_SYNC,        /* sync and sync_dir */
    FAULT_RENAME,
    FAULT_OPEN,        /* open_writable */
    FAULT_READ,        /* pread */
    FAULT_KINDS
} fault_kind;

/* Wraps base (borrowed). NULL on allocation failure. */
am_env *am_env_fault_new(am_env *base);
void am_env_fault_free(am_env *env);

/* Arms a failure: the nth future call of that kind (1 = the next one) fails with status
 * (AM_ERR_IO or AM_ERR_NOSPACE); with sticky, every later call of that kind fails too.
 * n = 0 disarms. */
void fault_env_fail_nth(am_env *env, fault_kind kind, uint64_t n, int status, int sticky);
/* Calls of each kind made so far (for choosing n). */
uint64_t fault_env_count(am_env *env, fault_kind kind);
/* Simulates a power cut: every file written through this env is truncated to the bytes it
 * had at its last sync, and files created since the last sync_dir of their directory are
 * removed. Open files must be closed first (close the db, or abandon it: see below). */
int fault_env_power_cut(am_env *env);
/* When set, every call fails with AM_ERR_IO and changes nothing (a dead machine): lets a
 * test abandon a db mid-flight, then power_cut, then reopen through a fresh env. */
void fault_env_set_dead(am_env *env, int dead);

#endif
