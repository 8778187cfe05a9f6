/* db_error.c: the background error (db_impl.h): the first failure of background work is
 * kept on the handle, puts it in read-only mode and is returned by every later write; and
 * am_errmsg, the words of the last failure. Every db_*.c file may call it; it calls none. */
#include "db_impl.h"

int db_set_bg_error(am_db *db, int rc)
{
    if (rc < 0 && db->bg_error == 0) {
        db->bg_error = rc;
        atomic_store(&db->readonly, 1);
        pthread_cond_broadcast(&db->done_cv);
    }
    return rc;
}

const char *am_errmsg(am_db *db)
{
    if (!db || !db->env) return "";
    return db->env->errmsg;   /* see the header: valid until the next failing call */
}
