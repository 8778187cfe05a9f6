/* repair.c: am_repair (amethyst.h), the order of its steps. After LevelDB's RepairDB
 * (db/repair.cc), in this engine's terms; docs/format.md, "Repair", says the same for users.
 *
 *   1. Options as am_open checks them; the LOCK (AM_ERR_BUSY when another handle holds
 *      the database); the directory listed; dir/lost created.
 *   2. Read: CURRENT and the MANIFESTs, for the strategy, the log floor and the obsolete
 *      tables (repair_manifest.c); every other SSTable, verified block by block, and every
 *      log at or above the floor, replayed into a memtable of its own (repair_read.c).
 *   3. One merge: everything read (the kept tables whole, the readable blocks of damaged
 *      ones, the logs' memtables) through a merging iterator and the duplicate filter
 *      (repair_iter.c) into merge_run, the engine's one merge kernel, which writes ONE
 *      sorted run split at target_file_bytes and keeps, per user key, only the newest
 *      entry, tombstones included (not bottommost, see below).
 *   4. Install: a fresh empty log N (synced); the old CURRENT copied into lost/ and
 *      leftover temporary files moved there (the switch of CURRENT writes CURRENT.tmp);
 *      then vset_create_from writes MANIFEST-M naming the run on the last level with
 *      log_number N, next_file M + 1 and last_seq the largest sequence read, syncs it, and
 *      switches CURRENT to it atomically.
 *   5. Set aside: every SSTable, log and MANIFEST of the old tree is renamed into lost/ (a
 *      name already there gets a suffix .1, .2, ...: never replaced); both directories
 *      are synced. Nothing is deleted at any step.
 *
 * Placement. The tables come from a tree whose shape may be lost: files that overlap with
 * interleaved sequence ranges (a naive placement, each file an L0 run ordered by number or
 * by max_seq, then answers a lookup from the wrong file), and logs that repeat what a
 * table holds. One merge of everything into one run is correct whatever the inputs: the
 * kernel sees every version of a key at once and keeps the newest, so the run answers
 * every lookup with the newest version and the lookup invariant holds trivially (one run
 * in the whole tree). It goes on the last level, AM_MAX_LEVELS - 1, as run AM_MAX_LEVELS - 1
 * tagged leveled: the shape leveled, lazy-leveled and triangular give their last level, a
 * leveled run to adaptive, one run among others to tiered; L0 would hold it as one run
 * of many files, which writers count as L0 files and would stall on. Fresh run ids are
 * file numbers, and next_file starts above AM_MAX_LEVELS, so none can collide with it.
 * Cost: every kept byte is read twice (verified, then merged) and written once, like one
 * full compaction; the logs' contents are held in memory until the merge; the old files
 * stay in lost/ until the user removes them.
 *
 * Tombstones are kept (bottommost off): dropping them is only right when nothing older of
 * their keys exists anywhere, and a repair killed while setting files aside leaves some
 * old tables in dir for the next run to merge again; a tombstone dropped now could not
 * hide an older value among them then. With tombstones kept, merging the new run with any
 * subset of the old tables gives the same answers as the run alone.
 *
 * Crash safety. Until CURRENT names the new MANIFEST, repair only adds files (the new
 * tables, the empty log, the MANIFEST, the CURRENT copy in lost/) and moves temporary
 * files into lost/; killed there, the old files are all in place and the next run reads
 * the new tables like any other (their entries are duplicates of what they came from, and
 * dropped as such). The MANIFEST is complete and synced, the tables' and its own names
 * durable, before CURRENT names it. After the switch it only renames old files into lost/;
 * killed there, the repaired tree is whole, and the next run (reading its clean MANIFEST:
 * the leftover logs are below its log number, the leftover tables merge to the same run)
 * finishes setting them aside. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repair_shared.h"
#include "db_impl.h"
#include "util/ikey.h"
#include "version/fname.h"
#include "version/vset.h"
#include "util/vec.h"

/* ---- the directory ---- */

static int files_push(rp_files *fs, const char *name, uint64_t id)
{
    if (vec_reserve_min(&fs->f, &fs->cap, fs->n + 1, sizeof *fs->f, 16) != AM_OK)
        return AM_ERR_NOMEM;
    char *copy = strdup(name);
    if (!copy) return AM_ERR_NOMEM;
    fs->f[fs->n++] = (rp_file){ .name = copy, .id = id };
    return AM_OK;
}

static void files_free(rp_files *fs)
{
    for (size_t i = 0; i < fs->n; i++) free(fs->f[i].name);
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}

static int cmp_file(const void *a, const void *b)
{
    const rp_file *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return strcmp(x->name, y->name);
}

typedef struct listing {
    repair *rp;
    size_t engine_files;       /* SSTables, logs, MANIFESTs, CURRENT */
    int rc;
} listing;

static int list_one(void *arg, const char *name, int kind, uint64_t id)
{
    listing *ls = arg;
    repair *rp = ls->rp;
    rp_files *to = NULL;
    switch (kind) {
    case FILE_SST: to = &rp->ssts; break;
    case FILE_WAL: to = &rp->logs; break;
    case FILE_MANIFEST: to = &rp->manifests; break;
    case FILE_TEMP: to = &rp->temps; break;
    case FILE_CURRENT: rp->has_current = 1; ls->engine_files++; return 0;
    default: return 0;
    }
    if (kind != FILE_TEMP) {
        ls->engine_files++;
        if (id > rp->max_number) rp->max_number = id;
    }
    return (ls->rc = files_push(to, name, id)) != AM_OK;
}

/* Lists dir into rp (after clearing what an earlier listing left); *engine_files counts
 * the SSTables, logs, MANIFESTs and CURRENT. */
static int list_dir(repair *rp, size_t *engine_files)
{
    files_free(&rp->ssts);
    files_free(&rp->logs);
    files_free(&rp->manifests);
    files_free(&rp->temps);
    rp->has_current = 0;
    rp->max_number = 0;
    listing ls = { .rp = rp };
    int rc = fname_walk(rp->env, rp->dir, list_one, &ls);
    if (ls.rc) rc = ls.rc;
    if (rc != AM_OK) return rc;
    rp_files *all[] = { &rp->ssts, &rp->logs, &rp->manifests, &rp->temps };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i]->n) qsort(all[i]->f, all[i]->n, sizeof *all[i]->f, cmp_file);
    *engine_files = ls.engine_files;
    return AM_OK;
}

/* ---- lost/ ---- */

/* A name in lost/ not yet taken: name, else name.1, name.2, ... into out (the path) and
 * *leaf (its last part, inside out). */
static int lost_name(repair *rp, const char *name, char *out, size_t cap, const char **leaf)
{
    size_t base = (size_t)snprintf(out, cap, "%s/", rp->lost);
    for (unsigned k = 0; k < 1000000; k++) {
        if (k == 0) snprintf(out + base, cap - base, "%s", name);
        else snprintf(out + base, cap - base, "%s.%u", name, k);
        if (env_exists(rp->env, out) != 1) {
            *leaf = out + base;
            return AM_OK;
        }
    }
    return am_env_error(rp->env, AM_ERR_IO, "%s: no free name for %s", rp->lost, name);
}

/* Renames dir/name into lost/ (the caller syncs both directories), saying why. */
static int set_aside(repair *rp, const char *name, const char *why)
{
    char from[RP_PATH], to[RP_PATH];
    const char *leaf;
    snprintf(from, sizeof from, "%s/%s", rp->dir, name);
    int rc = lost_name(rp, name, to, sizeof to, &leaf);
    if (rc == AM_OK) rc = env_rename(rp->env, from, to);
    if (rc != AM_OK) return rc;
    rp->moved++;
    rp_say(rp, "set aside %s as lost/%s (%s)", name, leaf, why);
    return AM_OK;
}

/* Copies CURRENT into lost/ before the switch replaces it (synced; the caller syncs the
 * directory). */
static int save_current(repair *rp)
{
    char from[RP_PATH], to[RP_PATH];
    const char *leaf;
    char *data = NULL;
    size_t n = 0;
    am_file *f = NULL;
    if (!rp->has_current) return AM_OK;
    snprintf(from, sizeof from, "%s/CURRENT", rp->dir);
    int rc = env_read_all(rp->env, from, &data, &n);
    if (rc == AM_OK) rc = lost_name(rp, "CURRENT", to, sizeof to, &leaf);
    if (rc == AM_OK) rc = env_open_writable(rp->env, to, &f);
    if (rc == AM_OK && n) rc = env_append(rp->env, f, data, n);
    if (rc == AM_OK) rc = env_sync(rp->env, f);
    if (f) {
        int c = env_close(rp->env, f);
        if (rc == AM_OK) rc = c;
    }
    free(data);
    if (rc == AM_OK) rp_say(rp, "saved the old CURRENT as lost/%s", leaf);
    return rc;
}

/* ---- merge and install ---- */

static uint64_t next_number(void *arg)
{
    repair *rp = arg;
    return rp->next++;
}

/* Everything read, through the duplicate filter, into merge_run (one sorted run). */
static int merge_all(repair *rp)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < rp->ssts.n; i++) n += rp->sst[i].r != NULL;
    for (size_t i = 0; i < rp->logs.n; i++) n += rp->log[i].mem != NULL;
    if (n == 0) return AM_OK;
    am_iiter **kids = calloc(n, sizeof *kids);
    if (!kids) return AM_ERR_NOMEM;
    int rc = AM_OK;
    for (size_t i = 0; rc == AM_OK && i < rp->ssts.n; i++)
        if (rp->sst[i].r && !(kids[k++] = rp_sst_iter_new(&rp->sst[i]))) rc = AM_ERR_NOMEM;
    for (size_t i = 0; rc == AM_OK && i < rp->logs.n; i++)
        if (rp->log[i].mem && !(kids[k++] = mem_iter_new(rp->log[i].mem))) rc = AM_ERR_NOMEM;
    if (rc != AM_OK) {
        for (size_t i = 0; i < k; i++) iter_free(kids[i]);
        free(kids);
        return rc;
    }
    am_iiter *it = merging_iter_new(kids, n);
    if (it) it = rp_dedup_new(it, &rp->duplicates, &rp->conflicts);
    if (!it) return AM_ERR_NOMEM;
    merge_params p = {
        .env = rp->env, .dir = rp->dir, .sst = rp->sopt,
        .target_file_bytes = rp->o.target_file_bytes,
        .bottommost = 0,                         /* tombstones stay: see the top */
        .new_file_number = next_number, .arg = rp,
        .out_level = AM_MAX_LEVELS - 1, .out_run = AM_MAX_LEVELS - 1,
        .out_tag = AM_TAG_LEVELED,
    };
    rc = merge_run(it, &p, &rp->out);
    iter_free(it);
    for (size_t i = 0; i < rp->ssts.n; i++) {       /* done with the inputs' files */
        sst_reader_free(rp->sst[i].r);
        rp->sst[i].r = NULL;
    }
    return rc;
}

static void say_outputs(repair *rp)
{
    for (size_t i = 0; i < rp->out.nout; i++) {
        const seg_desc *d = &rp->out.out[i];
        char lo[160], hi[160];
        rp_key_text(lo, sizeof lo, d->smallest, d->smallest_len - IKEY_TRAILER);
        rp_key_text(hi, sizeof hi, d->largest, d->largest_len - IKEY_TRAILER);
        rp_say(rp, "wrote %06" PRIu64 ".sst: %" PRIu64 " entries (%s .. %s, %" PRIu64
               " tombstones), %" PRIu64 " bytes", d->id, d->entries, lo, hi, d->deletions,
               d->bytes);
    }
    if (rp->duplicates)
        rp_say(rp, "dropped %" PRIu64 " duplicate entries (the same key, sequence and kind "
               "in two sources)", rp->duplicates);
    if (rp->conflicts)
        rp_say(rp, "warning: %" PRIu64 " of them had a different value; the one from the "
               "lowest-numbered table (tables before logs) was kept", rp->conflicts);
}

/* The empty log the new MANIFEST names, the old CURRENT saved, temporary files moved, then
 * the new MANIFEST and CURRENT. */
static int install(repair *rp, uint64_t *manifest)
{
    char path[RP_PATH];
    am_file *f = NULL;
    uint64_t log = rp->next++;
    fname_wal(path, sizeof path, rp->dir, log);
    int rc = env_open_writable(rp->env, path, &f);
    if (rc == AM_OK) rc = env_sync(rp->env, f);
    if (f) {
        int c = env_close(rp->env, f);
        if (rc == AM_OK) rc = c;
    }
    if (rc == AM_OK) rc = save_current(rp);
    for (size_t i = 0; rc == AM_OK && i < rp->temps.n; i++)
        rc = set_aside(rp, rp->temps.f[i].name, "a temporary file a killed process left");
    if (rc == AM_OK) rc = env_sync_dir(rp->env, rp->lost);
    if (rc == AM_OK) rc = env_sync_dir(rp->env, rp->dir);   /* also the empty log's name */
    if (rc != AM_OK) return rc;

    vset_state st = { .log_number = log, .next_file = rp->next++, .last_seq = rp->max_seq };
    vset *vs = NULL;
    rc = vset_create_from(rp->env, rp->dir, NULL, rp->strategy, &st, rp->out.out,
                          rp->out.nout, &vs);
    vset_free(vs);
    if (rc != AM_OK) return rc;
    *manifest = st.next_file;
    rp_say(rp, "installed MANIFEST-%06" PRIu64 ": %zu tables as one run on level %d, empty "
           "log %06" PRIu64 ".log, last sequence %" PRIu64 ", strategy %s; CURRENT names it",
           st.next_file, rp->out.nout, AM_MAX_LEVELS - 1, log, rp->max_seq, rp->strategy);
    return AM_OK;
}

static const char *sst_why(int fate)
{
    switch (fate) {
    case RP_SST_KEPT: return "its entries are in the new tables";
    case RP_SST_SALVAGED: return "damaged; the entries of its readable blocks are in the "
                                 "new tables";
    case RP_SST_LOST: return "damaged; nothing of it is in the new tables";
    case RP_SST_EMPTY: return "it holds no entries";
    default: return "an obsolete merge input, not read";
    }
}

static const char *log_why(int fate)
{
    switch (fate) {
    case RP_LOG_REPLAYED: return "its records are in the new tables";
    case RP_LOG_DAMAGED: return "damaged; the records before the damage are in the new "
                                "tables";
    default: return "flushed before: its records were already in SSTables";
    }
}

/* Every file of the old tree into lost/; then both directories synced. */
static int set_aside_old(repair *rp)
{
    int rc = AM_OK;
    for (size_t i = 0; rc == AM_OK && i < rp->ssts.n; i++)
        rc = set_aside(rp, rp->ssts.f[i].name, sst_why(rp->sst[i].fate));
    for (size_t i = 0; rc == AM_OK && i < rp->logs.n; i++)
        rc = set_aside(rp, rp->logs.f[i].name, log_why(rp->log[i].fate));
    for (size_t i = 0; rc == AM_OK && i < rp->manifests.n; i++)
        rc = set_aside(rp, rp->manifests.f[i].name, "replaced by the new MANIFEST");
    if (rc == AM_OK) rc = env_sync_dir(rp->env, rp->lost);
    if (rc == AM_OK) rc = env_sync_dir(rp->env, rp->dir);
    return rc;
}

static void say_summary(repair *rp, uint64_t manifest)
{
    size_t fate[5] = { 0 }, lfate[3] = { 0 };
    uint64_t entries = 0, bytes = 0;
    for (size_t i = 0; i < rp->ssts.n; i++) fate[rp->sst[i].fate]++;
    for (size_t i = 0; i < rp->logs.n; i++) lfate[rp->log[i].fate]++;
    for (size_t i = 0; i < rp->out.nout; i++) {
        entries += rp->out.out[i].entries;
        bytes += rp->out.out[i].bytes;
    }
    rp_say(rp, "repaired %s: SSTables read: %zu (%zu kept, %zu salvaged, %zu lost to damage, "
           "%zu empty, %zu obsolete); logs: %zu (%zu replayed, %zu damaged, %zu already "
           "flushed); written: %zu tables, %" PRIu64 " entries, %" PRIu64 " bytes, MANIFEST-%06"
           PRIu64 "; files set aside in %s: %zu", rp->dir, rp->ssts.n, fate[RP_SST_KEPT],
           fate[RP_SST_SALVAGED], fate[RP_SST_LOST], fate[RP_SST_EMPTY],
           fate[RP_SST_OBSOLETE], rp->logs.n, lfate[RP_LOG_REPLAYED], lfate[RP_LOG_DAMAGED],
           lfate[RP_LOG_FLUSHED], rp->out.nout, entries, bytes, manifest, rp->lost,
           rp->moved);
}

/* ---- am_repair ---- */

/* Options as am_open checks them; the strategy NULL stands for the recorded one. */
static int take_options(repair *rp, const am_options *o, char *msg, size_t cap)
{
    if (o) rp->o = *o;
    else am_options_init(&rp->o);
    rp->strategy_opt = o ? o->strategy : NULL;
    rp->o.strategy = rp->strategy_opt ? rp->strategy_opt : "leveled";
    am_options_resolve(&rp->o);
    int rc = am_options_check(&rp->o, msg, cap);
    if (rc != AM_OK) return rc;
    rp->sopt = (sst_options){ .block_bytes = rp->o.block_bytes,
                             .index_stride = rp->o.index_stride,
                             .bloom_bits_per_key = rp->o.bloom_bits_per_key };
    return AM_OK;
}

static void repair_free(repair *rp)
{
    for (size_t i = 0; rp->sst && i < rp->ssts.n; i++) {
        sst_reader_free(rp->sst[i].r);
        free(rp->sst[i].bad);
        buf_free(&rp->sst[i].smallest);
        buf_free(&rp->sst[i].largest);
    }
    for (size_t i = 0; rp->log && i < rp->logs.n; i++) mem_unref(rp->log[i].mem);
    free(rp->sst);
    free(rp->log);
    free(rp->obsolete);
    files_free(&rp->ssts);
    files_free(&rp->logs);
    files_free(&rp->manifests);
    files_free(&rp->temps);
    merge_result_clear(&rp->out);
}

/* Steps 2 to 5 of the top, under the lock. */
static int run(repair *rp)
{
    uint64_t manifest = 0;
    if (rp->max_number > EDIT_MAX_FILE_NUMBER)      /* the counter must not wrap */
        return am_env_error(rp->env, AM_ERR_CORRUPT, "%s: a file numbered %" PRIu64 " is "
                            "beyond any number this engine hands out", rp->dir,
                            rp->max_number);
    int rc = rp_read_manifests(rp);
    if (rc == AM_OK && rp->ssts.n && !(rp->sst = calloc(rp->ssts.n, sizeof *rp->sst)))
        rc = AM_ERR_NOMEM;
    if (rc == AM_OK && rp->logs.n && !(rp->log = calloc(rp->logs.n, sizeof *rp->log)))
        rc = AM_ERR_NOMEM;
    for (size_t i = 0; rc == AM_OK && i < rp->ssts.n; i++) {
        rp->sst[i].file = &rp->ssts.f[i];
        rc = rp_read_sst(rp, &rp->sst[i]);
    }
    for (size_t i = 0; rc == AM_OK && i < rp->logs.n; i++) {
        rp->log[i].file = &rp->logs.f[i];
        rc = rp_read_log(rp, &rp->log[i]);
    }
    /* Above every number in dir, and above the run ids that name levels. */
    rp->next = (rp->max_number > AM_MAX_LEVELS ? rp->max_number : AM_MAX_LEVELS) + 1;
    if (rc == AM_OK) rc = merge_all(rp);
    if (rc == AM_OK) say_outputs(rp);
    if (rc == AM_OK) rc = install(rp, &manifest);
    if (rc == AM_OK && (rc = set_aside_old(rp)) != AM_OK) {
        char detail[512];
        am_env_last_error(rp->env, detail, sizeof detail);
        am_env_error(rp->env, rc, "the repaired tree is installed, but setting the old files "
                     "aside failed (%s); run the repair again to finish (am_open would "
                     "remove them)", detail);
    }
    if (rc == AM_OK) say_summary(rp, manifest);
    return rc;
}

int am_repair(const char *dir, const am_options *o,
              void (*report)(void *arg, const char *line), void *arg,
              char *msg, size_t msgcap)
{
    char scratch[512], path[RP_PATH];
    repair rp;
    am_lock *lock = NULL;
    size_t files = 0;
    int ran = 0;                      /* the lock was taken and the work begun */
    if (!msg || !msgcap) { msg = scratch; msgcap = sizeof scratch; }
    msg[0] = 0;
    memset(&rp, 0, sizeof rp);
    if (!dir || !*dir) {
        snprintf(msg, msgcap, "am_repair: the directory is NULL or empty");
        return AM_ERR_INVALID;
    }
    rp.dir = dir;
    rp.report = report;
    rp.report_arg = arg;
    int rc = take_options(&rp, o, msg, msgcap);
    if (rc != AM_OK) return rc;
    rp.env = (am_env *)rp.o.env;
    if (!rp.env && !(rp.env = rp.owned_env = am_env_posix_new())) {
        snprintf(msg, msgcap, "am_repair %s: out of memory", dir);
        return AM_ERR_NOMEM;
    }
    snprintf(rp.lost, sizeof rp.lost, "%s/lost", dir);
    snprintf(path, sizeof path, "%s/LOCK", dir);
    if (env_exists(rp.env, dir) != 1) {
        snprintf(msg, msgcap, "am_repair %s: does not exist", dir);
        rc = AM_ERR_INVALID;
        goto out;
    }
    /* Before taking the lock (which creates LOCK): is this a database at all? */
    if ((rc = list_dir(&rp, &files)) != AM_OK) goto out;
    if (files == 0) {
        snprintf(msg, msgcap, "am_repair %s: no database files here (no SSTable, log, "
                 "MANIFEST or CURRENT)", dir);
        rc = AM_ERR_INVALID;
        goto out;
    }
    if ((rc = rp.env->ops->lock(rp.env, path, &lock)) != AM_OK) goto out;
    ran = 1;
    if ((rc = list_dir(&rp, &files)) != AM_OK) goto out;    /* as it is under the lock */
    rc = env_mkdir(rp.env, rp.lost);
    if (rc == AM_OK) rc = env_sync_dir(rp.env, dir);
    if (rc == AM_OK) rc = run(&rp);
out:
    if (rc != AM_OK && !msg[0]) {
        char detail[512] = "";
        am_env_last_error(rp.env, detail, sizeof detail);
        snprintf(msg, msgcap, "am_repair %s: %s%s%s%s", dir, am_strerror(rc),
                 detail[0] ? ": " : "", detail,
                 ran && !strstr(detail, "run the repair again")
                     ? " (every file is still in the directory or lost/: run the repair "
                       "again once the cause is fixed)" : "");
    }
    if (lock) rp.env->ops->unlock(rp.env, lock);
    repair_free(&rp);
    am_env_posix_free(rp.owned_env);
    return rc;
}
