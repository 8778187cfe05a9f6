/* db_bg.c: background work. One thread flushes frozen memtables (flushes never wait behind
 * a long merge); background_threads more run compaction jobs that the strategy picks. With
 * background_threads = 0 everything runs inline in the writer's thread, in a fixed order,
 * so a seed gives the same tree every time.
 *
 * A job goes Prepare (under mu: resolve and mark inputs) -> Run (no lock: the merge
 * kernel) -> Install (under mu: one MANIFEST edit, new version, new superversion). */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "db_impl.h"
#include "util/ikey.h"

static uint64_t next_file_locked(void *arg)
{
    am_db *db = arg;
    pthread_mutex_lock(&db->mu);
    uint64_t n = vset_new_file_number(db->vs);
    pthread_mutex_unlock(&db->mu);
    return n;
}

/* During open no other thread exists, and mu is not held. */
static uint64_t next_file_unlocked(void *arg) { return vset_new_file_number(((am_db *)arg)->vs); }

static merge_params base_params(am_db *db, int locked_callers)
{
    merge_params p = {
        .env = db->env, .dir = db->dir, .sst = db->sst,
        .new_file_number = locked_callers ? next_file_locked : next_file_unlocked,
        .arg = db, .stop = &db->stop,
    };
    return p;
}

int db_write_level0(am_db *db, memtable *mem, const uint64_t *snaps, size_t nsnaps,
                    void (*observe_key)(void *, const char *, size_t), void *observe_arg,
                    merge_result *out)
{
    am_iiter *it = mem_iter_new(mem);
    if (!it) return AM_ERR_NOMEM;
    /* During open nothing else runs and mu is not held; afterwards flushes run without mu
       and take it for file numbers. (db->sv is read under sv_mu: writers swap it.) */
    pthread_mutex_lock(&db->sv_mu);
    int opened = db->sv != NULL;
    pthread_mutex_unlock(&db->sv_mu);
    merge_params p = base_params(db, opened);
    p.out_level = 0;
    p.out_tag = db->strat->flush_tag;        /* how the strategy counts fresh data */
    p.target_file_bytes = 0;                 /* one file per flush */
    p.snapshots = snaps;                     /* versions a snapshot sees must survive */
    p.nsnapshots = nsnaps;
    p.observe_key = observe_key;
    p.observe_arg = observe_arg;
    int rc = merge_run(it, &p, out);
    iter_free(it);
    for (size_t i = 0; rc == AM_OK && i < out->nout; i++) out->out[i].run = out->out[i].id;
    return rc;
}

/* Opens the outputs as segments and installs e; REQUIRES mu. segs receives references the
 * caller drops after install. */
static int install(am_db *db, version_edit *e)
{
    am_segment **segs = e->nadded ? calloc(e->nadded, sizeof *segs) : NULL;
    int rc = e->nadded && !segs ? AM_ERR_NOMEM : AM_OK;
    for (size_t i = 0; rc == AM_OK && i < e->nadded; i++)
        rc = vset_open_segment(db->vs, &e->added[i], &segs[i]);
    /* The edit records the last sequence: once a flush has emptied the logs, reopening
       takes it from the MANIFEST alone, and a stale one would hide every flushed entry. */
    vset_set_last_seq(db->vs, atomic_load_explicit(&db->last_seq, memory_order_acquire));
    if (rc == AM_OK) rc = vset_log_and_apply(db->vs, e, segs);   /* syncs the directory */
    for (size_t i = 0; segs && i < e->nadded; i++) if (segs[i]) seg_unref(segs[i]);
    free(segs);
    if (rc == AM_OK) {
        db->want_compaction = 1;
        db_install_sv(db);
        pthread_cond_broadcast(&db->bg_cv);
    }
    return rc;
}

/* Charges each segment the user writes that land in its key range: the write pressure an
 * adaptive strategy reads. Fed every flushed key in order by the merge kernel (no second
 * walk of the memtable), with a cursor per run of the version; counts are added to the
 * segments' atomics once, at the end. */
enum { CHARGE_MAX_RUNS = 256 };
typedef struct charge {
    size_t nruns;
    const am_run *runs[CHARGE_MAX_RUNS];
    size_t cur[CHARGE_MAX_RUNS];
    uint64_t count[CHARGE_MAX_RUNS];          /* for the segment at cur */
} charge;

static void charge_init(charge *c, const am_version *v)
{
    c->nruns = 0;
    for (int l = 0; l < AM_MAX_LEVELS; l++)
        for (size_t r = 0; r < v->levels[l].nruns && c->nruns < CHARGE_MAX_RUNS; r++)
            if (v->levels[l].runs[r].nsegs) {
                c->runs[c->nruns] = &v->levels[l].runs[r];
                c->cur[c->nruns] = 0;
                c->count[c->nruns++] = 0;
            }
}

static void charge_flush(charge *c, size_t i)
{
    if (c->count[i])
        atomic_fetch_add_explicit(&c->runs[i]->segs[c->cur[i]]->writes, c->count[i],
                                  memory_order_relaxed);
    c->count[i] = 0;
}

static void charge_key(void *arg, const char *k, size_t n)
{
    charge *c = arg;
    size_t ln;
    for (size_t i = 0; i < c->nruns; i++) {
        const am_run *run = c->runs[i];
        while (c->cur[i] < run->nsegs) {
            const char *largest = seg_largest_ukey(run->segs[c->cur[i]], &ln);
            if (ukey_cmp(k, n - 8, largest, ln) <= 0) break;
            charge_flush(c, i);
            c->cur[i]++;
        }
        if (c->cur[i] == run->nsegs) continue;
        const char *smallest = seg_smallest_ukey(run->segs[c->cur[i]], &ln);
        if (ukey_cmp(k, n - 8, smallest, ln) >= 0) c->count[i]++;
    }
}

static void charge_done(charge *c)
{
    for (size_t i = 0; i < c->nruns; i++)
        if (c->cur[i] < c->runs[i]->nsegs) charge_flush(c, i);
}

int db_flush_oldest(am_db *db)
{
    if (db->nimm == 0) return AM_OK;
    memtable *mem = db->imm[0].mem;
    mem_ref(mem);
    db->flush_running = 1;
    uint64_t *snaps = NULL;
    size_t nsnaps = 0;
    int rc = db_snapshot_list(db, &snaps, &nsnaps);
    pthread_mutex_unlock(&db->mu);
    merge_result out = { 0 };
    superversion *sv = sv_acquire(db);         /* the segments charged stay alive */
    charge *ch = malloc(sizeof *ch);
    if (ch) charge_init(ch, sv->v);
    if (rc == AM_OK)
        rc = db_write_level0(db, mem, snaps, nsnaps, ch ? charge_key : NULL, ch, &out);
    if (ch && rc == AM_OK) charge_done(ch);
    free(ch);
    sv_release(sv);
    free(snaps);
    pthread_mutex_lock(&db->mu);
    version_edit e;
    edit_init(&e);
    for (size_t i = 0; rc == AM_OK && i < out.nout; i++) rc = edit_add_segment(&e, &out.out[i]);
    if (rc == AM_OK) {
        /* Logs before the next memtable's are no longer needed once this is durable. */
        e.has_log_number = 1;
        e.log_number = db->nimm > 1 ? db->imm[1].log : db->wal_number;
        rc = install(db, &e);
    }
    if (rc == AM_OK) {
        /* The edit is durable: the one log it retires goes. (A crash before this line
           leaves it for the next open's sweep of logs below the log number.) */
        char path[4096];
        fname_wal(path, sizeof path, db->dir, db->imm[0].log);
        (void)env_remove_quiet(db->env, path);
        mem_unref(db->imm[0].mem);
        memmove(db->imm, db->imm + 1, (db->nimm - 1) * sizeof db->imm[0]);
        db->nimm--;
        db_install_sv(db);
        STAT_ADD(db, flushes, 1);
        STAT_ADD(db, flush_bytes_written, out.bytes_written);
        if (db->strat->observe) {
            am_event ev = { .kind = 0, .v = vset_current(db->vs), .bytes_written = out.bytes_written };
            db->strat->observe(db->strat_self, &ev);
        }
    } else {
        /* The outputs stay: a failed MANIFEST sync may still have made the edit durable,
           and the next open removes whatever no version names. A merge abandoned for
           am_close is no error: the log still holds the memtable. */
        if (!atomic_load(&db->stop)) db_set_bg_error(db, rc);
    }
    edit_clear(&e);
    merge_result_clear(&out);
    mem_unref(mem);
    db->flush_running = 0;
    pthread_cond_broadcast(&db->done_cv);
    return rc;
}

/* Builds the input iterator of a job: one run iterator per (level, run) among the inputs,
 * each reading its files with verified private reads (sst.h): every block a merge copies
 * is verified as it is read, so damage since an earlier check fails the job (a background
 * error, outputs removed) instead of passing into a new file with a good checksum. */
static am_iiter *job_input(am_segment **in, size_t n)
{
    am_iiter **kids = calloc(n, sizeof *kids);
    if (!kids) return NULL;
    size_t nk = 0, i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && in[j]->d.level == in[i]->d.level && in[j]->d.run == in[i]->d.run) j++;
        if (!(kids[nk++] = run_iter_new(in + i, j - i, SST_READ_VERIFIED_PRIVATE))) {
            for (size_t k = 0; k + 1 < nk; k++) iter_free(kids[k]);
            free(kids);
            return NULL;
        }
        i = j;
    }
    return merging_iter_new(kids, nk);
}

static int cmp_input(const void *a, const void *b)
{
    const am_segment *x = *(am_segment *const *)a, *y = *(am_segment *const *)b;
    if (x->d.level != y->d.level) return x->d.level < y->d.level ? -1 : 1;
    if (x->d.run != y->d.run) return x->d.run < y->d.run ? -1 : 1;
    return ikey_cmp(x->d.smallest, x->d.smallest_len, y->d.smallest, y->d.smallest_len);
}

/* Outputs inherit their inputs' read / write history, shared out by size. */
static void inherit_counters(am_segment **in, size_t n, merge_result *out)
{
    uint64_t reads = 0, writes = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        reads += atomic_load_explicit(&in[i]->reads, memory_order_relaxed);
        writes += atomic_load_explicit(&in[i]->writes, memory_order_relaxed);
    }
    for (size_t i = 0; i < out->nout; i++) total += out->out[i].bytes;
    for (size_t i = 0; total && i < out->nout; i++) {
        out->out[i].reads = (uint64_t)((double)reads * out->out[i].bytes / total);
        out->out[i].writes = (uint64_t)((double)writes * out->out[i].bytes / total);
    }
}

/* Resolves the job's inputs in v into in[] (sorted by level, run, smallest key). AM_OK, or
 * AM_ERR_INVALID naming an input the strategy should not have picked. */
static int job_inputs(am_db *db, const am_version *v, const am_job *job, am_segment **in)
{
    for (size_t i = 0; i < job->ninputs; i++) {
        in[i] = view_find(v, job->inputs[i].level, job->inputs[i].id);
        if (!in[i] || inflight_busy(&db->inflight, job->inputs[i].level, job->inputs[i].id))
            return am_env_error(db->env, AM_ERR_INVALID, "strategy %s picked segment %llu at "
                                "L%d, which is %s", db->strat->name,
                                (unsigned long long)job->inputs[i].id, job->inputs[i].level,
                                in[i] ? "already being compacted" : "not in the version");
    }
    qsort(in, job->ninputs, sizeof *in, cmp_input);
    return AM_OK;
}

/* A trivial move: the inputs go to out_level / out_run, with their counters, in one edit.
 * REQUIRES mu (held throughout). */
static int job_move(am_db *db, const am_job *job, am_segment **in, uint64_t out_run)
{
    version_edit e;
    edit_init(&e);
    int rc = AM_OK;
    for (size_t i = 0; rc == AM_OK && i < job->ninputs; i++) {
        seg_desc d = in[i]->d;
        d.level = job->out_level;
        d.run = out_run;
        d.tag = job->out_tag;
        d.reads = atomic_load_explicit(&in[i]->reads, memory_order_relaxed);
        d.writes = atomic_load_explicit(&in[i]->writes, memory_order_relaxed);
        rc = edit_delete_segment(&e, in[i]->d.level, in[i]->d.id);
        if (rc == AM_OK) rc = edit_add_segment(&e, &d);
    }
    if (rc == AM_OK) rc = install(db, &e);
    edit_clear(&e);
    return rc;
}

/* A merge: in flight (db->inflight) while the merge kernel rewrites the inputs without mu,
 * then one edit replaces them by the outputs, which inherit their counters. REQUIRES mu
 * (released while merging). out receives the outputs. */
static int job_merge(am_db *db, const am_version *v, const am_job *job, am_segment **in,
                     uint64_t out_run, merge_result *out)
{
    uint64_t *snaps = NULL;
    size_t nsnaps = 0;
    int rc = db_snapshot_list(db, &snaps, &nsnaps);
    /* In flight until installed: later picks are told of it and avoid its inputs. */
    uint64_t ticket = 0;
    if (rc == AM_OK) rc = inflight_add(&db->inflight, v, job, &ticket);
    for (size_t i = 0; i < job->ninputs; i++) seg_incref(in[i]);
    db->jobs_running++;
    merge_params p = base_params(db, 1);
    p.target_file_bytes = job->target_file_bytes ? job->target_file_bytes
                                                 : db->opts.target_file_bytes;
    p.bottommost = job->bottommost;
    p.snapshots = snaps;
    p.nsnapshots = nsnaps;
    p.out_level = job->out_level;
    p.out_run = out_run;
    p.out_tag = job->out_tag;
    pthread_mutex_unlock(&db->mu);
    if (rc == AM_OK) {
        am_iiter *it = job_input(in, job->ninputs);
        rc = it ? merge_run(it, &p, out) : AM_ERR_NOMEM;
        iter_free(it);
    }
    pthread_mutex_lock(&db->mu);
    free(snaps);
    db->jobs_running--;
    version_edit e;
    edit_init(&e);
    if (rc == AM_OK) {
        inherit_counters(in, job->ninputs, out);
        for (size_t i = 0; rc == AM_OK && i < job->ninputs; i++)
            rc = edit_delete_segment(&e, in[i]->d.level, in[i]->d.id);
        for (size_t i = 0; rc == AM_OK && i < out->nout; i++)
            rc = edit_add_segment(&e, &out->out[i]);
        /* On failure the outputs stay for the next open to sort out (see flush). */
        if (rc == AM_OK) rc = install(db, &e);
    }
    edit_clear(&e);
    inflight_done(&db->inflight, ticket);
    for (size_t i = 0; i < job->ninputs; i++) seg_unref(in[i]);
    return rc;
}

/* Counts a finished job (per reason, bytes read and written, switches) and tells the
 * strategy. REQUIRES mu. */
static void job_account(am_db *db, const am_job *job, uint64_t bytes_in,
                        const uint64_t bytes_in_level[AM_LEVELS], const merge_result *out)
{
    STAT_ADD(db, compactions, 1);
    if (job->reason >= 0 && job->reason < AM_REASONS)
        STAT_ADD_AT(db, compactions_by_reason, job->reason, 1);
    STAT_ADD(db, compaction_bytes_read, job->trivial_move ? 0 : bytes_in);
    for (int l = 0; l < AM_LEVELS && !job->trivial_move; l++)
        STAT_ADD_AT(db, compaction_bytes_read_by_level, l, bytes_in_level[l]);
    STAT_ADD(db, compaction_bytes_written, out->bytes_written);
    if (job->reason == JOB_SWITCH_LEVELED) {
        STAT_ADD(db, strategy_switches, 1);
        STAT_ADD(db, switches_to_leveled, 1);
    } else if (job->reason == JOB_SWITCH_TIERED) {
        STAT_ADD(db, strategy_switches, 1);
        STAT_ADD(db, switches_to_tiered, 1);
    }
    if (db->strat->observe) {
        am_event ev = { .kind = 1, .job = job, .v = vset_current(db->vs),
                        .bytes_written = out->bytes_written };
        db->strat->observe(db->strat_self, &ev);
    }
}

/* Runs one picked job: a trivial move or a merge, then its accounting. REQUIRES mu
 * (released while merging). */
static int run_job(am_db *db, am_job *job)
{
    am_version *v = vset_current(db->vs);
    am_segment **in = calloc(job->ninputs ? job->ninputs : 1, sizeof *in);
    if (!in) return AM_ERR_NOMEM;
    int rc = job_inputs(db, v, job, in);
    if (rc != AM_OK) {
        free(in);
        return rc;
    }
    uint64_t out_run = job->out_run ? job->out_run : vset_new_file_number(db->vs);
    merge_result out = { 0 };
    uint64_t bytes_in = 0, bytes_in_level[AM_LEVELS] = { 0 };   /* the inputs go at install */
    for (size_t i = 0; i < job->ninputs; i++) {
        bytes_in += in[i]->d.bytes;
        bytes_in_level[in[i]->d.level] += in[i]->d.bytes;
    }
    if (job->trivial_move) rc = job_move(db, job, in, out_run);
    else rc = job_merge(db, v, job, in, out_run, &out);
    if (rc == AM_OK) job_account(db, job, bytes_in, bytes_in_level, &out);
    merge_result_clear(&out);
    free(in);
    pthread_cond_broadcast(&db->done_cv);
    return rc;
}

/* Monotonic microseconds for the strategy's clock. */
static uint64_t now_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void db_count_ops(am_db *db, uint64_t n)
{
    if (!db->strat->clocked) return;
    uint64_t before = atomic_fetch_add_explicit(&db->user_ops, n, memory_order_relaxed);
    if (before / STRATEGY_TICK_OPS == (before + n) / STRATEGY_TICK_OPS) return;
    pthread_mutex_lock(&db->mu);
    if (db->opts.background_threads == 0) {
        /* Inline, like a write's flush: a failure is recorded as the background error
           and refuses later writes; this read or write itself has already succeeded.
           Only merges: flushing is the writer's (nimm is 0 outside its memtable switch). */
        if (!db->bg_error && !db->shutting_down && db->nimm == 0 && !db->flush_running)
            (void)db_inline_work(db);
    } else if (!db->bg_error) {
        db->want_compaction = 1;
        pthread_cond_broadcast(&db->bg_cv);
    }
    pthread_mutex_unlock(&db->mu);
}

int db_compact_once(am_db *db)
{
    if (db->bg_error) return db->bg_error;
    am_pick_env env;
    inflight_env(&db->inflight, vset_current(db->vs),
                 atomic_load_explicit(&db->user_ops, memory_order_relaxed),
                 db->strat->clocked ? now_micros() : 0, &env);
    am_job job;
    job_init(&job);
    int picked = db->strat->pick(db->strat_self, &env, &job);
    if (!picked) {
        db->want_compaction = 0;
        job_clear(&job);
        return 0;
    }
    int rc = run_job(db, &job);
    job_clear(&job);
    /* Any failure (including a strategy naming a bad input, which must not loop forever)
       stops background writes; the data on disk stays consistent. A merge abandoned for
       am_close is no error: its inputs are still live. */
    if (rc < 0 && !atomic_load(&db->stop)) db_set_bg_error(db, rc);
    return rc < 0 ? rc : 1;
}

int db_inline_work(am_db *db)
{
    int rc = AM_OK;
    while (rc == AM_OK && db->nimm > 0) rc = db_flush_oldest(db);
    while (rc >= 0 && !db->shutting_down) {
        rc = db_compact_once(db);
        if (rc == 0) break;
        if (rc > 0) rc = AM_OK;
    }
    return rc < 0 ? rc : AM_OK;
}

/* ---- threads ---- */

static void *flush_main(void *arg)
{
    am_db *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->shutting_down) {
        if (db->nimm > 0 && !db->bg_error) db_flush_oldest(db);
        else pthread_cond_wait(&db->bg_cv, &db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

static void *compact_main(void *arg)
{
    am_db *db = arg;
    pthread_mutex_lock(&db->mu);
    while (!db->shutting_down) {
        if (db->want_compaction && !db->bg_error) {
            int rc = db_compact_once(db);
            if (rc > 0) pthread_cond_broadcast(&db->bg_cv);   /* others may find work now */
            if (rc == 0 && db->jobs_running == 0) pthread_cond_broadcast(&db->done_cv);
            if (rc != 0) continue;
        }
        pthread_cond_wait(&db->bg_cv, &db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

int db_bg_start(am_db *db)
{
    int n = db->opts.background_threads;
    if (n == 0) return AM_OK;
    if (pthread_create(&db->threads[0], NULL, flush_main, db) != 0)
        return am_env_error(db->env, AM_ERR_NOMEM, "cannot start the flush thread");
    db->nthreads = 1;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&db->threads[db->nthreads], NULL, compact_main, db) != 0)
            return am_env_error(db->env, AM_ERR_NOMEM, "cannot start a compaction thread");
        db->nthreads++;
    }
    return AM_OK;
}

void db_bg_stop(am_db *db)
{
    pthread_mutex_lock(&db->mu);
    db->shutting_down = 1;
    atomic_store(&db->stop, 1);
    pthread_cond_broadcast(&db->bg_cv);
    pthread_cond_broadcast(&db->done_cv);
    pthread_mutex_unlock(&db->mu);
    for (int i = 0; i < db->nthreads; i++) pthread_join(db->threads[i], NULL);
    db->nthreads = 0;
}
