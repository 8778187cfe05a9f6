/* peer_common.h: what the peer adapters (rocksdb.c, leveldb.c) share: the first error a
 * handle met, the list of settings it reports with he_ops.settings(), and the counters an
 * adapter keeps itself because its engine's own are not in the workbench's terms (user
 * bytes, point lookups, finds: exact).
 * Thread safety: peer_fail, peer_error and the peer_count_* calls may be called from any
 * thread. */
#ifndef AM_HARNESS_PEER_COMMON_H
#define AM_HARNESS_PEER_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine.h"

typedef struct peer_common {
    struct { char k[48], v[64]; } set[48];   /* settings, made once at open */
    int nset;
    pthread_mutex_t err_mu;                   /* guards err */
    char err[512];                            /* the first error, "" when none */
    _Atomic uint64_t user_bytes, lookups, found;   /* counted here (relaxed) */
} peer_common;

void peer_init(peer_common *pc);
void peer_destroy(peer_common *pc);
/* Keeps the first error ("what: msg"), frees msg with free_msg (the engine's own free),
 * and returns -1. */
int peer_fail(peer_common *pc, const char *what, char *msg, void (*free_msg)(void *));
/* The first error, "" when none; valid while the handle is open. */
const char *peer_error(peer_common *pc);
/* Adds a setting (dropped silently past the table's size: the table is sized for every
 * setting an adapter reports). */
void peer_setting(peer_common *pc, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A put or delete the engine accepted: its key and value bytes (key only for a delete). */
void peer_count_write(peer_common *pc, size_t bytes);
/* A get the engine served; found: it found the key. */
void peer_count_get(peer_common *pc, int found);
/* Provides (exactly) the counts above in out: user_bytes_written, point_lookups,
   lookups_found. */
void peer_counts(peer_common *pc, he_counters *out);
void peer_settings_emit(const peer_common *pc,
                        void (*emit)(void *arg, const char *k, const char *v), void *arg);

#endif
