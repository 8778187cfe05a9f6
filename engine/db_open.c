/* db_open.c: options and their defaults, am_open (lock, create or recover, WAL replay,
 * cleanup of what a crash left behind), am_close, and status names. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db_impl.h"
#include "util/ikey.h"
#include "util/vec.h"

const char *am_strerror(int status)
{
    switch (status) {
#define AM_STATUS_TEXT(name, value, text) case value: return text;
        AM_STATUS_LIST(AM_STATUS_TEXT)
#undef AM_STATUS_TEXT
    }
    return "unknown status";
}

const char *am_strategy_names(void)
{
    return strategy_names();
}

void am_options_init(am_options *o)
{
    memset(o, 0, sizeof *o);
    o->create_if_missing = 1;
    o->strategy = "leveled";
    o->memtable_bytes = 4u << 20;
    o->block_bytes = 4096;
    o->block_cache_bytes = 8u << 20;
    o->target_file_bytes = 2u << 20;
    o->index_stride = 16;
    o->bloom_bits_per_key = 10;
    o->background_threads = 1;
    o->max_frozen_memtables = 2;
    o->l0_slowdown_files = 8;
    o->l0_stop_files = 12;
    o->level_fanout = 0;             /* 0: the strategy's (am_options_resolve) */
    o->l1_target_bytes = 0;          /* 0: 4 * memtable_bytes */
    o->l0_compaction_trigger = 4;
    o->tier_fanout = 4;
    /* adapt_*: 0 means the default for the clock chosen (amethyst.h). */
}

void am_options_resolve(am_options *o)
{
    if (!o) return;
    const am_strategy *st = strategy_find(o->strategy);
    if (st && st->defaults) st->defaults(o);
    if (!o->level_fanout) o->level_fanout = 10;
    if (!o->l1_target_bytes) o->l1_target_bytes = 4 * o->memtable_bytes;
}

/* Checks every field; writes the first problem into msg. */
static int validate_options(const am_options *o, char *msg, size_t cap)
{
#define RANGE(field, lo, hi)                                                             \
    if ((long long)(o->field) < (long long)(lo) || (o->field) > (hi)) {                  \
        snprintf(msg, cap, "option " #field " = %lld is outside %lld .. %lld",           \
                 (long long)(o->field), (long long)(lo), (long long)(hi));               \
        return AM_ERR_INVALID;                                                           \
    }
    RANGE(memtable_bytes, 64u << 10, (size_t)1 << 30)
    RANGE(block_bytes, 256, 1u << 20)
    RANGE(block_cache_bytes, 0, (size_t)1 << 40)
    RANGE(target_file_bytes, 64u << 10, (size_t)1 << 32)
    RANGE(index_stride, 1, 1024)
    RANGE(bloom_bits_per_key, 0, 64)
    RANGE(background_threads, 0, 16)
    RANGE(max_frozen_memtables, 1, DB_MAX_FROZEN - 1)
    RANGE(l0_slowdown_files, 1, 1000)
    RANGE(l0_stop_files, o->l0_slowdown_files, 1000)
    RANGE(level_fanout, 2, 1000)
    RANGE(tier_fanout, 2, 64)
    RANGE(adapt_clock_ops, 0, 1)
    if (!(o->adapt_window >= 0 && o->adapt_cooldown >= 0 && o->adapt_global_cooldown >= 0 &&
          o->adapt_read_threshold >= 0 && o->adapt_read_threshold <= 1 &&
          o->adapt_write_threshold >= 0 && o->adapt_write_threshold <= 1)) {
        snprintf(msg, cap, "adapt_window and the cooldowns must be >= 0 and the thresholds "
                 "within 0 .. 1 (0: the default)");
        return AM_ERR_INVALID;
    }
    /* With background threads, writers stall at l0_stop_files until a merge shrinks L0; a
       trigger above it means no merge is ever picked and the writers wait forever. */
    RANGE(l0_compaction_trigger, 1, o->background_threads > 0 ? o->l0_stop_files : 1000)
#undef RANGE
    if (!o->strategy || !strategy_find(o->strategy)) {
        snprintf(msg, cap, "unknown strategy \"%s\" (known: %s)",
                 o->strategy ? o->strategy : "(null)", strategy_names());
        return AM_ERR_INVALID;
    }
    return AM_OK;
}

int am_options_check(const am_options *o, char *msg, size_t cap)
{
    char scratch[256];
    if (!msg || !cap) { msg = scratch; cap = sizeof scratch; }
    msg[0] = '\0';
    if (!o) {
        snprintf(msg, cap, "am_options_check: options are NULL");
        return AM_ERR_INVALID;
    }
    am_options eff = *o;
    am_options_resolve(&eff);
    return validate_options(&eff, msg, cap);
}

/* ---- WAL replay ---- */

typedef struct replay {
    am_db *db;
    memtable *mem;
    uint64_t max_seq;
    uint64_t replayed;         /* the last sequence replayed (0: none yet) */
    int out_of_order;          /* a record broke the order; its sequence: bad_seq */
    uint64_t bad_seq;
} replay;

/* Sequences only grow through the replay (docs/format.md, "Replay"): a record at or below
 * the last one replayed is a repeated or misplaced record, refused before anything of its
 * batch is applied (a batch's records are consecutive, so only its first can fail). */
static int replay_record(void *arg, uint64_t seq, int kind, const char *k, size_t kn,
                         const char *v, size_t vn)
{
    replay *r = arg;
    if (seq <= r->replayed) {
        r->out_of_order = 1;
        r->bad_seq = seq;
        return AM_ERR_CORRUPT;
    }
    r->replayed = seq;
    if (seq > r->max_seq) r->max_seq = seq;
    return mem_add(r->mem, seq, kind, k, kn, v, vn);
}

/* Writes r->mem into L0 and adds it to the edit; starts a fresh memtable. */
static int replay_flush(replay *r, version_edit *e)
{
    merge_result out = { 0 };
    int rc = AM_OK;
    if (mem_entries(r->mem) > 0) {
        rc = db_write_level0(r->db, r->mem, NULL, 0, NULL, NULL, &out);   /* no snapshots yet */
        for (size_t i = 0; rc == AM_OK && i < out.nout; i++) rc = edit_add_segment(e, &out.out[i]);
        merge_result_clear(&out);
    }
    if (rc == AM_OK) {
        mem_unref(r->mem);
        r->mem = NULL;
        rc = mem_new(&r->mem);
    }
    return rc;
}

typedef struct wal_list {
    uint64_t *ids;
    size_t n, cap;
    uint64_t min_id, end_id;       /* the logs to replay: min_id <= id < end_id */
    int rc;
} wal_list;

static int collect_wal(void *arg, const char *name, int kind, uint64_t id)
{
    wal_list *l = arg;
    (void)name;
    if (kind != FILE_WAL || id < l->min_id || id >= l->end_id) return 0;
    if (vec_reserve(&l->ids, &l->cap, l->n + 1, sizeof *l->ids) != AM_OK)
        return l->rc = AM_ERR_NOMEM;
    l->ids[l->n++] = id;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Replays the logs of l in order into r (flushing full memtables into e). */
static int replay_logs(am_db *db, const wal_list *l, replay *r, version_edit *e)
{
    int rc = AM_OK;
    for (size_t i = 0; rc == AM_OK && i < l->n; i++) {
        char path[4096];
        fname_wal(path, sizeof path, db->dir, l->ids[i]);
        wal_reader *rd = NULL;
        rc = wal_reader_open(db->env, path, &rd);
        const char *rec;
        size_t n;
        batch_handler h = { .arg = r, .record = replay_record };
        while (rc == AM_OK && (rc = wal_reader_next(rd, &rec, &n)) == AM_OK) {
            uint64_t before = r->replayed;
            rc = batch_iterate(rec, n, &h);
            if (rc == AM_ERR_CORRUPT && r->out_of_order)
                rc = am_env_error(db->env, rc, "%s: the record at offset %llu starts at sequence "
                                  "%llu, not above the last one replayed (%llu): a repeated or "
                                  "misplaced record; refusing to replay it", path,
                                  (unsigned long long)wal_reader_offset(rd),
                                  (unsigned long long)r->bad_seq, (unsigned long long)before);
            else if (rc == AM_ERR_CORRUPT)
                rc = am_env_error(db->env, rc, "%s: malformed write batch in the record at "
                                  "offset %llu", path, (unsigned long long)wal_reader_offset(rd));
            if (rc == AM_OK && db_mem_full(db, r->mem))
                rc = replay_flush(r, e);
        }
        if (rc == AM_NOT_FOUND) rc = AM_OK;          /* end of log (a torn tail is fine) */
        wal_reader_close(rd);
    }
    return rc;
}

/* Replays every WAL not yet flushed (from the recovered log number up to new_log, the log
 * just created), writes what it held to L0 SSTables and records them, with new_log as the
 * log number, in one MANIFEST edit. Old logs are removed afterwards (remove_garbage).
 * *logged is set once the edit was handed to the MANIFEST (from then on it may be durable,
 * even if this fails); until then a failure removes the SSTables written here. */
static int recover_wals(am_db *db, uint64_t new_log, int *logged)
{
    vset_state st = vset_get_state(db->vs);
    wal_list l = { .min_id = st.log_number, .end_id = new_log };
    version_edit e;
    edit_init(&e);
    replay r = { .db = db, .max_seq = st.last_seq };
    *logged = 0;
    int rc = fname_walk(db->env, db->dir, collect_wal, &l);
    if (rc == AM_OK) rc = l.rc;
    if (rc == AM_OK) rc = mem_new(&r.mem);
    if (rc == AM_OK && l.n) qsort(l.ids, l.n, sizeof *l.ids, cmp_u64);
    if (rc == AM_OK) rc = replay_logs(db, &l, &r, &e);
    if (rc == AM_OK) rc = replay_flush(&r, &e);
    if (rc == AM_OK) {
        e.has_log_number = 1;
        e.log_number = new_log;
        e.has_last_seq = 1;
        e.last_seq = r.max_seq;
        vset_set_last_seq(db->vs, r.max_seq);
        am_segment **segs = e.nadded ? calloc(e.nadded, sizeof *segs) : NULL;
        if (e.nadded && !segs) rc = AM_ERR_NOMEM;
        for (size_t i = 0; rc == AM_OK && i < e.nadded; i++)
            rc = vset_open_segment(db->vs, &e.added[i], &segs[i]);
        if (rc == AM_OK) {
            *logged = 1;
            rc = vset_log_and_apply(db->vs, &e, segs);   /* syncs the dir */
        }
        for (size_t i = 0; segs && i < e.nadded; i++) if (segs[i]) seg_unref(segs[i]);
        free(segs);
        atomic_store(&db->last_seq, r.max_seq);
    }
    for (size_t i = 0; rc != AM_OK && !*logged && i < e.nadded; i++) {
        char path[4096];
        fname_sst(path, sizeof path, db->dir, e.added[i].id);
        (void)env_remove_quiet(db->env, path);      /* named by no edit: nothing lost */
    }
    mem_unref(r.mem);
    edit_clear(&e);
    free(l.ids);
    return rc;
}

/* Removes files nothing refers to: SSTables outside the current version (a merge that
 * crashed), logs already flushed, old MANIFESTs, temp files. */
typedef struct cleanup {
    am_db *db;
    uint64_t *live;
    size_t nlive;
    uint64_t log_number;
} cleanup;

static int cleanup_one(void *arg, const char *name, int kind, uint64_t id)
{
    cleanup *c = arg;
    int dead = 0;
    switch (kind) {
    case FILE_SST:
        dead = !bsearch(&id, c->live, c->nlive, sizeof id, cmp_u64);
        break;
    case FILE_WAL: dead = id < c->log_number && id != c->db->wal_number; break;
    case FILE_TEMP: dead = 1; break;
    default: break;
    }
    if (dead) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", c->db->dir, name);
        (void)env_remove_quiet(c->db->env, path);   /* what stays goes at the next open */
    }
    return 0;
}

static void collect_live(void *arg, am_segment *s)
{
    cleanup *c = arg;
    c->live[c->nlive++] = s->d.id;
}

static int remove_garbage(am_db *db)
{
    am_version *v = vset_current(db->vs);
    cleanup c = { .db = db, .log_number = vset_get_state(db->vs).log_number };
    c.live = malloc((v->total_segs + 1) * sizeof *c.live);
    if (!c.live) return AM_ERR_NOMEM;
    version_foreach(v, collect_live, &c);
    qsort(c.live, c.nlive, sizeof *c.live, cmp_u64);
    int rc = fname_walk(db->env, db->dir, cleanup_one, &c);
    free(c.live);
    return rc;
}

/* ---- open / close ---- */

static int count_engine_file(void *arg, const char *name, int kind, uint64_t id)
{
    (void)name;
    (void)id;
    if (kind == FILE_SST || kind == FILE_WAL) (*(int *)arg)++;
    return 0;
}

static int open_dir(am_db *db, char *msg, size_t cap)
{
    char path[4096];
    int rc;
    int exists = env_exists(db->env, db->dir);
    if (!exists && !db->opts.create_if_missing) {
        snprintf(msg, cap, "%s: does not exist (create_if_missing is off)", db->dir);
        return AM_ERR_INVALID;
    }
    if ((rc = env_mkdir(db->env, db->dir)) != AM_OK) return rc;
    db->created_dir = !exists;
    snprintf(path, sizeof path, "%s/LOCK", db->dir);
    int had_lock = env_exists(db->env, path);
    if ((rc = db->env->ops->lock(db->env, path, &db->lock)) != AM_OK) return rc;
    db->created_lock = had_lock == 0;
    snprintf(path, sizeof path, "%s/CURRENT", db->dir);
    if (env_exists(db->env, path)) {
        if (db->opts.error_if_exists) {
            snprintf(msg, cap, "%s: a database exists (error_if_exists is on)", db->dir);
            return AM_ERR_EXISTS;
        }
        return vset_recover(db->env, db->dir, db->cache, &db->vs);
    }
    if (!db->opts.create_if_missing) {
        snprintf(msg, cap, "%s: no database here (no CURRENT file)", db->dir);
        return AM_ERR_INVALID;
    }
    /* Data files (SSTables, logs) without CURRENT are a damaged database, not an empty
       directory: creating a new database over them would lose them. A MANIFEST alone
       holds no data: it is what a creation that failed (or crashed) before writing
       CURRENT leaves, and refusing it would make the directory unusable forever. */
    int orphans = 0;
    if (exists && (rc = fname_walk(db->env, db->dir, count_engine_file, &orphans)))
        return rc;
    if (orphans) {
        snprintf(msg, cap, "%s: holds %d database files but no CURRENT; refusing to create a "
                 "new database over them", db->dir, orphans);
        return AM_ERR_CORRUPT;
    }
    return vset_create(db->env, db->dir, db->cache, db->opts.strategy, &db->vs);
}

static void db_free(am_db *db)
{
    if (!db) return;
    wal_writer_close(db->wal);
    if (db->sv) sv_release(db->sv);
    for (size_t i = 0; i < db->nimm; i++) mem_unref(db->imm[i].mem);
    mem_unref(db->mem);
    if (db->strat && db->strat_self) db->strat->destroy(db->strat_self);
    inflight_free(&db->inflight);
    vset_free(db->vs);
    cache_free(db->cache);
    if (db->lock) db->env->ops->unlock(db->env, db->lock);
    batch_destroy(&db->group);
    pthread_mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->sv_mu);
    pthread_cond_destroy(&db->bg_cv);
    pthread_cond_destroy(&db->done_cv);
    am_env_posix_free(db->owned_env);
    free(db->dir);
    free(db);
}

/* After a failed open: takes back what this open added and nothing refers to. The new log
 * goes unless the recovery edit that names it was handed to the MANIFEST (logged); the
 * LOCK file goes if this open created it (removed while still locked, so that no other
 * opener locks a file that is then gone: env.h, lock), and the directory if this open
 * created it and it is empty again. */
static void leave_as_found(am_db *db, int logged)
{
    char path[4096];
    if (db->wal && !logged) {
        fname_wal(path, sizeof path, db->dir, db->wal_number);
        wal_writer_close(db->wal);
        db->wal = NULL;
        (void)env_remove_quiet(db->env, path);
    }
    if (!db->lock) return;
    if (db->created_lock) {
        snprintf(path, sizeof path, "%s/LOCK", db->dir);
        (void)env_remove_quiet(db->env, path);
    }
    db->env->ops->unlock(db->env, db->lock);
    db->lock = NULL;
    if (db->created_dir) (void)env_remove_dir_quiet(db->env, db->dir);
}

int am_open_msg(const char *dir, const am_options *o, am_db **out, char *msg, size_t cap)
{
    char scratch[512];
    if (!msg || !cap) { msg = scratch; cap = sizeof scratch; }
    msg[0] = '\0';
    if (!out) return AM_ERR_INVALID;
    *out = NULL;
    if (!dir || !*dir || !o) {
        snprintf(msg, cap, "am_open: %s is NULL or empty", !o ? "options" : "directory");
        return AM_ERR_INVALID;
    }
    am_options eff = *o;              /* every "0: the default" replaced by what applies */
    am_options_resolve(&eff);
    int rc = validate_options(&eff, msg, cap);
    if (rc) return rc;
    o = &eff;
    am_db *db = calloc(1, sizeof *db);
    if (!db || !(db->dir = strdup(dir))) {
        free(db);
        snprintf(msg, cap, "am_open %s: out of memory", dir);
        return AM_ERR_NOMEM;
    }
    db->opts = *o;
    snprintf(db->strategy_name, sizeof db->strategy_name, "%s", o->strategy);
    db->opts.strategy = db->strategy_name;
    db->env = (am_env *)o->env;
    pthread_mutex_init(&db->mu, NULL);
    pthread_mutex_init(&db->sv_mu, NULL);
    pthread_cond_init(&db->bg_cv, NULL);
    pthread_cond_init(&db->done_cv, NULL);
    batch_init(&db->group);
    db->snapshots.prev = db->snapshots.next = &db->snapshots;
    db->sst = (sst_options){ .block_bytes = o->block_bytes, .index_stride = o->index_stride,
                             .bloom_bits_per_key = o->bloom_bits_per_key };
    if (!db->env && !(db->env = db->owned_env = am_env_posix_new())) rc = AM_ERR_NOMEM;
    if (rc == AM_OK) rc = cache_new(o->block_cache_bytes, &db->cache);
    if (rc == AM_OK) {
        db->strat = strategy_find(db->opts.strategy);
        if (!(db->strat_self = db->strat->create(&db->opts))) rc = AM_ERR_NOMEM;
    }
    if (rc == AM_OK) rc = open_dir(db, msg, cap);
    /* Recovery runs alone: no thread can see db yet, so mu is taken only to install. */
    if (rc == AM_OK) rc = mem_new(&db->mem);
    /* The new log exists, and its name is durable, before the recovery edit names it: the
       log a durable state names always exists (vset_recover's completeness proof relies
       on it; the edit adds no file when nothing was replayed, so it syncs no directory). */
    if (rc == AM_OK) {
        char path[4096];
        db->wal_number = vset_new_file_number(db->vs);
        fname_wal(path, sizeof path, db->dir, db->wal_number);
        rc = wal_writer_open(db->env, path, &db->wal);
    }
    if (rc == AM_OK) rc = env_sync_dir(db->env, db->dir);
    int logged = 0;                   /* the recovery edit may be durable: keep its log */
    if (rc == AM_OK) rc = recover_wals(db, db->wal_number, &logged);
    if (rc == AM_OK) rc = remove_garbage(db);
    pthread_mutex_lock(&db->mu);
    if (rc == AM_OK) {
        db_install_sv(db);
        if (!db->sv) rc = AM_ERR_NOMEM;
    }
    db->want_compaction = 1;
    pthread_mutex_unlock(&db->mu);
    if (rc == AM_OK) rc = db_bg_start(db);
    if (rc == AM_OK && db->opts.background_threads == 0) {
        pthread_mutex_lock(&db->mu);
        rc = db_inline_work(db);
        pthread_mutex_unlock(&db->mu);
    }
    if (rc != AM_OK) {
        if (!msg[0]) {
            char detail[512] = "";
            if (db->env) am_env_last_error(db->env, detail, sizeof detail);
            snprintf(msg, cap, "am_open %s: %s%s%s", dir, am_strerror(rc), detail[0] ? ": " : "",
                     detail);
        }
        db_bg_stop(db);
        leave_as_found(db, logged);
        db_free(db);
        return rc;
    }
    *out = db;
    return AM_OK;
}

int am_open(const char *dir, const am_options *o, am_db **out)
{
    return am_open_msg(dir, o, out, NULL, 0);
}

int am_close(am_db *db)
{
    if (!db) return AM_OK;
    db_bg_stop(db);
    int rc = db->bg_error;
    if (db->wal && rc == AM_OK) {
        int s = wal_writer_sync(db->wal);   /* a clean close leaves the log durable */
        if (s != AM_OK) rc = s;
    }
    db_free(db);
    return rc;
}
