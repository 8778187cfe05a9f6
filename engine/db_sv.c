/* db_sv.c: what readers and background work pin (db_impl.h): superversions (the active and
 * frozen memtables and the version, taken as one under sv_mu) and snapshots (a sequence
 * kept in a list under mu, which flushes and merges read so that they keep the versions a
 * snapshot still sees). Shared by the read, write, background and open paths; calls only
 * db_error.c. */
#include <stdlib.h>
#include "db_impl.h"

/* ---- superversions ---- */

superversion *sv_acquire(am_db *db)
{
    return sv_acquire_seq(db, NULL);
}

superversion *sv_acquire_seq(am_db *db, uint64_t *seq)
{
    pthread_mutex_lock(&db->sv_mu);
    superversion *sv = db->sv;
    atomic_fetch_add_explicit(&sv->refs, 1, memory_order_relaxed);
    /* Read under sv_mu: a memtable switch installs the new superversion before anything
       is committed into the new memtable, so every write at or below this sequence is in
       what was just pinned (read before pinning, a flush and merge could drop a version
       the reader still needed). */
    if (seq) *seq = atomic_load_explicit(&db->last_seq, memory_order_acquire);
    pthread_mutex_unlock(&db->sv_mu);
    return sv;
}

void sv_release(superversion *sv)
{
    if (atomic_fetch_sub_explicit(&sv->refs, 1, memory_order_acq_rel) != 1) return;
    mem_unref(sv->mem);
    for (size_t i = 0; i < sv->nimm; i++) mem_unref(sv->imm[i]);
    version_unref(sv->v);
    free(sv);
}

void db_install_sv(am_db *db)
{
    superversion *sv = calloc(1, sizeof *sv);
    if (!sv) {
        /* Keep the old one: readers then miss the newest switch until the next install,
           which is safe only if nothing was dropped; record the failure instead. */
        db_set_bg_error(db, AM_ERR_NOMEM);
        return;
    }
    atomic_init(&sv->refs, 1);
    sv->mem = db->mem;
    mem_ref(sv->mem);
    for (size_t i = 0; i < db->nimm; i++) {
        sv->imm[i] = db->imm[db->nimm - 1 - i].mem;      /* newest first */
        mem_ref(sv->imm[i]);
    }
    sv->nimm = db->nimm;
    sv->v = vset_current(db->vs);
    version_ref(sv->v);
    pthread_mutex_lock(&db->sv_mu);
    superversion *old = db->sv;
    db->sv = sv;
    pthread_mutex_unlock(&db->sv_mu);
    if (old) sv_release(old);
}

/* ---- snapshots ---- */

const am_snapshot *am_snapshot_new(am_db *db)
{
    if (!db) return NULL;
    am_snapshot *s = malloc(sizeof *s);
    if (!s) return NULL;
    pthread_mutex_lock(&db->mu);
    s->seq = atomic_load_explicit(&db->last_seq, memory_order_acquire);
    s->next = &db->snapshots;               /* newest at the tail: the list stays sorted */
    s->prev = db->snapshots.prev;
    s->prev->next = s;
    db->snapshots.prev = s;
    pthread_mutex_unlock(&db->mu);
    return s;
}

void am_snapshot_release(am_db *db, const am_snapshot *cs)
{
    if (!db || !cs) return;
    am_snapshot *s = (am_snapshot *)cs;
    pthread_mutex_lock(&db->mu);
    s->prev->next = s->next;
    s->next->prev = s->prev;
    pthread_mutex_unlock(&db->mu);
    free(s);
}

int db_snapshot_list(am_db *db, uint64_t **out, size_t *n)
{
    size_t count = 0;
    for (am_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next) count++;
    *out = NULL;
    *n = 0;
    if (!count) return AM_OK;
    uint64_t *a = malloc(count * sizeof *a);
    if (!a) return AM_ERR_NOMEM;
    size_t i = 0;
    for (am_snapshot *s = db->snapshots.next; s != &db->snapshots; s = s->next) a[i++] = s->seq;
    *out = a;
    *n = count;
    return AM_OK;
}
