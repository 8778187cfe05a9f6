/* db_manual.c: work the caller asks for and waits on: am_flush (freeze the memtable as the
 * write leader, wait until it is written), am_compact (pick and run jobs until the
 * strategy rests), am_busy. Above the write path and the background work, which it
 * calls; nothing calls it. */
#include "db_impl.h"

int am_flush(am_db *db)
{
    if (!db) return AM_ERR_INVALID;
    /* Freeze the memtable as the write leader, so no write is half-applied to it. */
    int rc = db_write_exclusive(db, DB_FREEZE);
    pthread_mutex_lock(&db->mu);
    while (rc == AM_OK && db->nimm > 0) {
        if (db->bg_error) rc = db->bg_error;
        else pthread_cond_wait(&db->done_cv, &db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int am_compact(am_db *db)
{
    if (!db) return AM_ERR_INVALID;
    pthread_mutex_lock(&db->mu);
    int rc = AM_OK;
    for (;;) {
        if (db->bg_error) { rc = db->bg_error; break; }
        int r = db_compact_once(db);
        if (r < 0) { rc = r; break; }
        if (r > 0) continue;
        if (db->jobs_running == 0 && db->nimm == 0 && !db->flush_running) break;
        pthread_cond_wait(&db->done_cv, &db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int am_busy(am_db *db)
{
    if (!db) return 0;
    pthread_mutex_lock(&db->mu);
    int busy = db->nimm > 0 || db->flush_running || db->jobs_running > 0 ||
               (db->want_compaction && !db->bg_error);
    pthread_mutex_unlock(&db->mu);
    return busy;
}
