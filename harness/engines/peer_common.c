/* peer_common.c: the first-error slot, the settings list and the adapter-side counts of the
 * peer adapters (peer_common.h). */
#include <stdarg.h>
#include <stdio.h>
#include "peer_common.h"

void peer_init(peer_common *pc)
{
    pc->nset = 0;
    pc->err[0] = '\0';
    atomic_init(&pc->user_bytes, 0);
    atomic_init(&pc->lookups, 0);
    atomic_init(&pc->found, 0);
    pthread_mutex_init(&pc->err_mu, NULL);
}

void peer_destroy(peer_common *pc) { pthread_mutex_destroy(&pc->err_mu); }

int peer_fail(peer_common *pc, const char *what, char *msg, void (*free_msg)(void *))
{
    pthread_mutex_lock(&pc->err_mu);
    if (!pc->err[0]) snprintf(pc->err, sizeof pc->err, "%s: %s", what, msg ? msg : "failed");
    pthread_mutex_unlock(&pc->err_mu);
    if (msg) free_msg(msg);
    return -1;
}

const char *peer_error(peer_common *pc)
{
    pthread_mutex_lock(&pc->err_mu);
    const char *s = pc->err;
    pthread_mutex_unlock(&pc->err_mu);
    return s;
}

void peer_setting(peer_common *pc, const char *k, const char *fmt, ...)
{
    if (pc->nset >= (int)(sizeof pc->set / sizeof pc->set[0])) return;
    snprintf(pc->set[pc->nset].k, sizeof pc->set[pc->nset].k, "%s", k);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pc->set[pc->nset].v, sizeof pc->set[pc->nset].v, fmt, ap);
    va_end(ap);
    pc->nset++;
}

void peer_settings_emit(const peer_common *pc,
                        void (*emit)(void *arg, const char *k, const char *v), void *arg)
{
    for (int i = 0; i < pc->nset; i++) emit(arg, pc->set[i].k, pc->set[i].v);
}

void peer_count_write(peer_common *pc, size_t bytes)
{
    atomic_fetch_add_explicit(&pc->user_bytes, bytes, memory_order_relaxed);
}

void peer_count_get(peer_common *pc, int found)
{
    atomic_fetch_add_explicit(&pc->lookups, 1, memory_order_relaxed);
    if (found) atomic_fetch_add_explicit(&pc->found, 1, memory_order_relaxed);
}

void peer_counts(peer_common *pc, he_counters *out)
{
    HE_PROVIDE(out, user_bytes_written, atomic_load_explicit(&pc->user_bytes, memory_order_relaxed));
    HE_PROVIDE(out, point_lookups, atomic_load_explicit(&pc->lookups, memory_order_relaxed));
    HE_PROVIDE(out, lookups_found, atomic_load_explicit(&pc->found, memory_order_relaxed));
}
