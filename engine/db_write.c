/* db_write.c: the write path. Writers queue; the one at the head (the leader) gathers the
 * batches behind it into one group, makes room (memtable switch, back-pressure), appends
 * the group to the WAL with one system call, inserts it into the memtable without holding
 * the mutex, publishes the new last sequence and wakes the followers (group commit, as in
 * leveldb's DBImpl::Write). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db_impl.h"
#include "util/clock.h"
#include "util/ikey.h"

/* Limits on a group: a small write should not wait behind a huge one. */
#define GROUP_MAX_BYTES (1u << 20)
#define GROUP_SMALL_BYTES (128u << 10)

static void sleep_micros(long us)
{
    struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

static int level0_files(am_db *db)
{
    return (int)vset_current(db->vs)->levels[0].nsegs;
}

/* Freezes the active memtable and starts a new WAL and memtable. REQUIRES mu; the caller is
 * the write leader (or holds the writers off), so no append races the WAL swap. */
int db_switch_memtable(am_db *db)
{
    char path[4096];
    memtable *fresh = NULL;
    wal_writer *w = NULL;
    uint64_t number = vset_new_file_number(db->vs);
    fname_wal(path, sizeof path, db->dir, number);
    int rc = wal_writer_open(db->env, path, &w);
    /* The new log's name must be durable before a synced write in it is acknowledged. */
    if (rc == AM_OK) rc = env_sync_dir(db->env, db->dir);
    if (rc == AM_OK) rc = mem_new(&fresh);
    if (rc != AM_OK) {
        wal_writer_close(w);
        (void)env_remove_quiet(db->env, path);
        return rc;
    }
    /* The old log must be complete on disk before its memtable can be flushed and the log
       deleted; closing it is enough for a process crash. Without sync_wal it is also
       synced here: a later synced write (am_write with sync) lands in the new log and must
       not outlive the unsynced writes before it in a power cut (the recovered history has
       to be a prefix). With sync_wal every write was synced already. */
    rc = db->opts.sync_wal ? AM_OK : wal_writer_sync(db->wal);
    int crc = wal_writer_close(db->wal);
    if (rc == AM_OK) rc = crc;
    db->wal = w;
    db->imm[db->nimm].mem = db->mem;
    db->imm[db->nimm].log = db->wal_number;
    db->nimm++;
    db->mem = fresh;
    db->wal_number = number;
    db_install_sv(db);
    pthread_cond_broadcast(&db->bg_cv);
    return rc;
}

/* Makes sure the active memtable has room, stalling writers while the background falls
 * behind. REQUIRES mu, held by the write leader. */
static int make_room(am_db *db, int force)
{
    int allow_delay = !force;
    for (;;) {
        if (db->bg_error) return AM_ERR_READONLY;
        if (db->shutting_down) return AM_ERR_INVALID;   /* am_close ran under a writer */
        if (db->opts.background_threads > 0 && allow_delay &&
            level0_files(db) >= db->opts.l0_slowdown_files) {
            /* Slow down every write a little rather than stop one for seconds. */
            uint64_t t0 = am_now_ns();
            pthread_mutex_unlock(&db->mu);
            sleep_micros(1000);
            pthread_mutex_lock(&db->mu);
            STAT_ADD(db, slowdown_count, 1);
            STAT_ADD(db, slowdown_micros, (am_now_ns() - t0) / 1000);
            allow_delay = 0;
        } else if (!force && !db_mem_full(db, db->mem)) {
            return AM_OK;
        } else if (force && mem_entries(db->mem) == 0) {
            return AM_OK;
        } else if (db->opts.background_threads > 0 &&
                   ((int)db->nimm >= db->opts.max_frozen_memtables ||
                    level0_files(db) >= db->opts.l0_stop_files)) {
            uint64_t t0 = am_now_ns();
            STAT_ADD(db, stall_count, 1);
            pthread_cond_broadcast(&db->bg_cv);
            pthread_cond_wait(&db->done_cv, &db->mu);
            STAT_ADD(db, stall_micros, (am_now_ns() - t0) / 1000);
        } else {
            int rc = db_switch_memtable(db);
            if (rc != AM_OK) return db_set_bg_error(db, rc);
            if (db->opts.background_threads == 0) {
                rc = db_inline_work(db);
                if (rc < 0) return rc;
            }
            force = 0;
        }
    }
}

typedef struct apply_ctx {
    memtable *mem;
} apply_ctx;

static int apply_record(void *arg, uint64_t seq, int kind, const char *k, size_t kn,
                        const char *v, size_t vn)
{
    apply_ctx *a = arg;
    return mem_add(a->mem, seq, kind, k, kn, v, vn);
}

/* Joins the batches behind the leader into db->group (or uses the leader's alone).
 * REQUIRES mu. Returns the batch to write and sets *last to the last writer included. */
static am_batch *build_group(am_db *db, writer **last)
{
    writer *first = db->wq_head;
    am_batch *result = first->batch;
    size_t size = result->rep.len;
    size_t max = size <= GROUP_SMALL_BYTES ? size + GROUP_SMALL_BYTES : GROUP_MAX_BYTES;
    *last = first;
    for (writer *w = first->next; w; w = w->next) {
        if (!w->batch) break;                      /* an exclusive operation waits its turn */
        if (w->sync && !first->sync) break;        /* a sync write leads its own group */
        size += w->batch->rep.len - BATCH_HEADER;
        if (size > max) break;
        if (result == first->batch) {
            batch_destroy(&db->group);
            batch_init(&db->group);
            if (batch_append(&db->group, first->batch) != AM_OK) break;
            result = &db->group;
        }
        if (batch_append(result, w->batch) != AM_OK) break;
        *last = w;
    }
    return result;
}

/* Joins the write queue and waits to lead or to be done by a leader. REQUIRES mu.
 * Returns 1 when w must lead. */
static int queue_enter(am_db *db, writer *w)
{
    if (db->wq_tail) db->wq_tail->next = w;
    else db->wq_head = w;
    db->wq_tail = w;
    while (!w->done && db->wq_head != w) pthread_cond_wait(&w->cv, &db->mu);
    return !w->done;
}

/* The leader hands rc to every writer up to last, and the lead to the next. REQUIRES mu. */
static void queue_leave(am_db *db, writer *leader, writer *last, int rc)
{
    for (;;) {
        writer *r = db->wq_head;
        db->wq_head = r->next;
        if (!db->wq_head) db->wq_tail = NULL;
        if (r != leader) {
            r->status = rc;
            r->done = 1;
            pthread_cond_signal(&r->cv);
        }
        if (r == last) break;
    }
    if (db->wq_head) pthread_cond_signal(&db->wq_head->cv);
}

/* Appends the group to the WAL and applies it to the memtable. Called by the leader without
 * mu; returns with the sequence published or the error recorded. */
static int commit_group(am_db *db, am_batch *g, int do_sync)
{
    uint64_t seq = atomic_load_explicit(&db->last_seq, memory_order_relaxed) + 1;
    uint32_t count = batch_count(g->rep.data);
    /* Every record takes a sequence number that must fit in an internal key (56 bits);
       refused before the log is touched, so nothing is written and the handle stays
       usable. Only a damaged or forged history gets here: 2^56 writes are centuries. */
    if (seq > AM_MAX_SEQ || count - 1 > AM_MAX_SEQ - seq)
        return am_env_error(db->env, AM_ERR_INVALID, "%s: sequence numbers exhausted (last "
                            "sequence %llu, %u records to write, the largest is %llu)",
                            db->dir, (unsigned long long)(seq - 1), count,
                            (unsigned long long)AM_MAX_SEQ);
    batch_set_seq(g->rep.data, seq);
    memtable *mem = db->mem;        /* only the leader switches memtables: stable here */
    wal_writer *wal = db->wal;
    pthread_mutex_unlock(&db->mu);
    int rc = wal_writer_add(wal, g->rep.data, g->rep.len);
    if (rc == AM_OK && do_sync) {
        rc = wal_writer_sync(wal);
        STAT_ADD(db, wal_syncs, 1);
    }
    if (rc == AM_OK) {
        apply_ctx a = { mem };
        batch_handler h = { .arg = &a, .record = apply_record };
        rc = batch_iterate(g->rep.data, g->rep.len, &h);
    }
    pthread_mutex_lock(&db->mu);
    if (rc == AM_OK) {
        atomic_store_explicit(&db->last_seq, seq + count - 1, memory_order_release);
        STAT_ADD(db, wal_bytes, g->rep.len + WAL_HEADER);
        STAT_ADD(db, wal_appends, 1);
    } else {
        /* The log may hold a partial record: nothing more may be appended to it. */
        db_set_bg_error(db, rc);
    }
    return rc;
}

int am_write(am_db *db, am_batch *b, int sync)
{
    if (!db || !b) return AM_ERR_INVALID;
    if (b->rep.len < BATCH_HEADER || batch_count(b->rep.data) == 0) return AM_OK;
    if (atomic_load_explicit(&db->readonly, memory_order_relaxed)) return AM_ERR_READONLY;
    writer w = { .batch = b, .sync = sync || db->opts.sync_wal };
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&db->mu);
    int rc;
    writer *last = &w;
    if (!queue_enter(db, &w)) {
        rc = w.status;
    } else {
        rc = make_room(db, 0);
        if (rc == AM_OK) {
            am_batch *g = build_group(db, &last);
            rc = commit_group(db, g, w.sync);
            if (g == &db->group) buf_clear(&db->group.rep);
        }
        queue_leave(db, &w, last, rc);
    }
    pthread_mutex_unlock(&db->mu);
    pthread_cond_destroy(&w.cv);
    if (rc == AM_OK) {
        uint32_t n = batch_count(b->rep.data);
        STAT_ADD(db, user_batches, 1);
        STAT_ADD(db, user_bytes_written, b->user_bytes);
        STAT_ADD(db, user_deletes, b->deletes);
        STAT_ADD(db, user_puts, n - b->deletes);
        db_count_ops(db, n);
    }
    return rc;
}

int db_write_exclusive(am_db *db, int op)
{
    writer w = { .batch = NULL };
    pthread_cond_init(&w.cv, NULL);
    pthread_mutex_lock(&db->mu);
    int rc = AM_OK;
    if (queue_enter(db, &w)) {
        if (op == DB_FREEZE) rc = make_room(db, 1);
        queue_leave(db, &w, &w, rc);
    }
    pthread_mutex_unlock(&db->mu);
    pthread_cond_destroy(&w.cv);
    return rc;
}

/* am_put / am_delete build their one-record batch on the stack: no allocation for a
   record that fits, so the memtable's arena is the only allocator a put meets. */
#define INLINE_BATCH 512

int am_put(am_db *db, const void *k, size_t kn, const void *v, size_t vn)
{
    if (!db) return AM_ERR_INVALID;
    char mem[INLINE_BATCH];
    am_batch b;
    batch_init_inline(&b, mem, sizeof mem);
    int rc = am_batch_put(&b, k, kn, v, vn);
    if (rc == AM_OK) rc = am_write(db, &b, 0);
    batch_destroy(&b);
    return rc;
}

int am_delete(am_db *db, const void *k, size_t kn)
{
    if (!db) return AM_ERR_INVALID;
    char mem[INLINE_BATCH];
    am_batch b;
    batch_init_inline(&b, mem, sizeof mem);
    int rc = am_batch_delete(&b, k, kn);
    if (rc == AM_OK) rc = am_write(db, &b, 0);
    batch_destroy(&b);
    return rc;
}
