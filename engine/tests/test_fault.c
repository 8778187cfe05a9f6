/* test_fault.c: the engine under injected I/O faults, through the fault env
 * (am_env_fault_new over the POSIX env, set in am_options.env):
 *   - a failed WAL write: the write fails, the database turns read-only (writes refused
 *     with AM_ERR_READONLY, reads still served), and a reopen shows every acknowledged write;
 *   - every write, sync, open and read of a flush + compaction failed in turn (the Nth call,
 *     N chosen by counting a clean run): the flush fails, read-only afterwards, reopen whole;
 *   - every write, sync, rename, open and read of a recovering am_open failed in turn: the
 *     open fails cleanly (NULL handle, message) and a later open has everything;
 *   - ENOSPC on an SSTable write: AM_ERR_NOSPACE with a message, nothing lost, no stray file;
 *   - ENOSPC creating a log: am_errmsg names it, not the failing cleanup after it;
 *   - a failed WAL sync with sync_wal;
 *   - power cuts: with sync_wal every acknowledged write survives; without it, what am_flush
 *     made durable survives and nothing else is damaged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"
#include "util/env.h"
#include "util/env_fault.h"

static const char *const kind_name[FAULT_KINDS] = {
    [FAULT_WRITE] = "write", [FAULT_SYNC] = "sync", [FAULT_RENAME] = "rename",
    [FAULT_OPEN] = "open", [FAULT_READ] = "read",
};

/* The database goes to dir; fault wraps posix and is replaced by fresh(). */
typedef tu_fixture fixture;

/* A new fault env and an empty database directory. */
static void fresh(fixture *fx)
{
    am_env_fault_free(fx->fault);
    fx->fault = am_env_fault_new(fx->posix);
    assert_non_null(fx->fault);
    tu_rmtree(fx->dir);
}

static am_options opts(am_env *env, int bg)
{
    am_options o;
    tu_small_options(&o, bg);
    o.env = env;
    o.l0_compaction_trigger = 2;
    return o;
}

/* Opens dir with o but through the plain POSIX env: a fresh start after the faults. */
static am_db *open_clean(const char *dir, am_options o)
{
    o.env = NULL;
    return tu_open(dir, &o);
}

static void key_of(char *k, int i) { snprintf(k, 32, "f%06d", i); }

/* Value of key i in generation gen; about 100 bytes. */
static size_t value_of(char *v, int i, int gen)
{
    return (size_t)snprintf(v, 160, "value-%d-gen-%d-%0*d", i, gen, 60 + i % 40, i * 7 + gen);
}

/* am_put of key i in generation gen; returns its status. */
static int put_key(am_db *db, int i, int gen)
{
    char k[32], v[160];
    key_of(k, i);
    return am_put(db, k, strlen(k), v, value_of(v, i, gen));
}

static void put_range(am_db *db, int from, int to, int gen)
{
    for (int i = from; i < to; i++) {
        int rc = put_key(db, i, gen);
        if (rc != AM_OK) fail_msg("put of key %d: %s (%s)", i, am_strerror(rc), am_errmsg(db));
    }
}

/* Key i must hold generation gen (gen < 0: absent). */
static void expect_key(am_db *db, int i, int gen, const char *ctx)
{
    char k[32], v[160];
    key_of(k, i);
    void *got = NULL;
    size_t gn = 0;
    int rc = am_get(db, NULL, k, strlen(k), &got, &gn);
    if (gen < 0) {
        if (rc != AM_NOT_FOUND) fail_msg("%s: %s should be absent, got %s", ctx, k, am_strerror(rc));
        return;
    }
    if (rc != AM_OK) fail_msg("%s: get %s: %s (%s)", ctx, k, am_strerror(rc), am_errmsg(db));
    size_t vn = value_of(v, i, gen);
    if (gn != vn || memcmp(got, v, vn) != 0)
        fail_msg("%s: %s: want generation %d, got '%.*s'", ctx, k, gen, (int)gn, (char *)got);
    am_free(got);
}

static void expect_range(am_db *db, int from, int to, int gen, const char *ctx)
{
    for (int i = from; i < to; i++) expect_key(db, i, gen, ctx);
}

/* Key i holds generation a or b (or is absent when b < 0); returns which (or -1). */
static int key_one_of(am_db *db, int i, int a, int b, const char *ctx)
{
    char k[32], v[160];
    key_of(k, i);
    void *got = NULL;
    size_t gn = 0;
    int rc = am_get(db, NULL, k, strlen(k), &got, &gn);
    if (rc == AM_NOT_FOUND && b < 0) return -1;
    if (rc != AM_OK) fail_msg("%s: get %s: %s", ctx, k, am_strerror(rc));
    int which = -2;
    for (int g = 0; g < 2 && which == -2; g++) {
        int gen = g ? b : a;
        if (gen < 0) continue;
        size_t vn = value_of(v, i, gen);
        if (gn == vn && memcmp(got, v, vn) == 0) which = gen;
    }
    if (which == -2) fail_msg("%s: %s holds '%.*s', neither generation %d nor %d", ctx, k,
                              (int)gn, (char *)got, a, b);
    am_free(got);
    return which;
}

/* After a failure: writes are refused, reads work. */
static void expect_readonly(am_db *db, const char *ctx)
{
    int rc = am_put(db, "later", 5, "x", 1);
    if (rc != AM_ERR_READONLY) fail_msg("%s: put after the failure: %s, want read-only", ctx,
                                        am_strerror(rc));
    assert_int_equal(am_delete(db, "later", 5), AM_ERR_READONLY);
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_put(b, "later", 5, "y", 1), AM_OK);
    assert_int_equal(am_write(db, b, 1), AM_ERR_READONLY);
    am_batch_free(b);
    rc = am_flush(db);
    if (rc >= 0) fail_msg("%s: am_flush after the failure returned %s", ctx, am_strerror(rc));
    void *v = NULL;
    size_t vn;
    assert_int_equal(am_get(db, NULL, "later", 5, &v, &vn), AM_NOT_FOUND);
}

/* Every *.sst in dir is a live segment (a failed job left nothing behind after reopen). */
static void seg_id(void *arg, const am_segment_info *s)
{
    uint64_t *ids = arg;
    if (ids[0] < 1000) ids[++ids[0]] = s->id;
}

static void expect_no_stray_files(am_db *db, const char *dir, const char *ctx)
{
    uint64_t ids[1001] = { 0 };
    /* Let background work rest first: a merge in progress has outputs not yet installed. */
    int rc = am_compact(db);
    if (rc != AM_OK) fail_msg("%s: am_compact: %s (%s)", ctx, am_strerror(rc), am_errmsg(db));
    assert_int_equal(am_segments(db, seg_id, ids), AM_OK);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".sst") != 0) continue;
        uint64_t id = strtoull(e->d_name, NULL, 10);
        int live = 0;
        for (uint64_t i = 1; i <= ids[0]; i++) live |= ids[i] == id;
        if (!live) fail_msg("%s: %s/%s is on disk but in no version", ctx, dir, e->d_name);
    }
    closedir(d);
}

/* ---- a failed WAL write ---- */

static void test_wal_write_fails(void **state)
{
    fixture *fx = *state;
    am_options o = opts(fx->fault, 0);
    o.memtable_bytes = 1u << 20;           /* no flush: the next write call is the WAL's */
    am_db *db = tu_open(fx->dir, &o);
    put_range(db, 0, 200, 0);
    fault_env_fail_nth(fx->fault, FAULT_WRITE, 1, AM_ERR_IO, 0);
    assert_int_equal(put_key(db, 200, 0), AM_ERR_IO);
    if (!strstr(am_errmsg(db), "injected")) fail_msg("message: '%s'", am_errmsg(db));
    expect_readonly(db, "after a failed WAL write");
    expect_range(db, 0, 200, 0, "same handle");
    expect_key(db, 200, -1, "same handle");
    am_iter *it = am_iter_new(db, NULL);
    assert_non_null(it);
    int n = 0;
    for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it)) n++;
    assert_int_equal(am_iter_status(it), AM_OK);
    assert_int_equal(n, 200);
    am_iter_free(it);
    assert_true(am_close(db) < 0);         /* close reports the background error */
    /* A fresh POSIX env: everything acknowledged is there, and writes work again. */
    db = open_clean(fx->dir, o);
    expect_range(db, 0, 200, 0, "reopened");
    key_one_of(db, 200, 0, -1, "reopened");
    put_range(db, 200, 300, 1);
    assert_int_equal(am_flush(db), AM_OK);
    expect_range(db, 200, 300, 1, "reopened");
    assert_int_equal(am_close(db), AM_OK);
}

/* A failed WAL sync (sync_wal): the write fails, read-only, reopen keeps earlier writes. */
static void test_wal_sync_fails(void **state)
{
    fixture *fx = *state;
    am_options o = opts(fx->fault, 1);
    o.sync_wal = 1;
    o.memtable_bytes = 1u << 20;
    am_db *db = tu_open(fx->dir, &o);
    put_range(db, 0, 50, 0);
    fault_env_fail_nth(fx->fault, FAULT_SYNC, 1, AM_ERR_IO, 0);
    assert_true(put_key(db, 50, 0) < 0);
    expect_readonly(db, "after a failed WAL sync");
    expect_range(db, 0, 50, 0, "same handle");
    assert_true(am_close(db) < 0);
    db = open_clean(fx->dir, o);
    expect_range(db, 0, 50, 0, "reopened");
    key_one_of(db, 50, 0, -1, "reopened");       /* unsynced: either way */
    assert_int_equal(am_close(db), AM_OK);
}

/* ---- every call of a flush + compaction, failed in turn ---- */

/* The state before the operation: one L0 file of keys 0..299, then keys 150..449 in the
 * memtable (generation 1). The operation (am_flush) writes a second L0 file, which with
 * l0_compaction_trigger 2 starts an inline merge of both. */
static am_db *flush_setup(fixture *fx, am_options *o)
{
    fresh(fx);
    *o = opts(fx->fault, 0);
    am_db *db = tu_open(fx->dir, o);
    put_range(db, 0, 300, 0);
    assert_int_equal(am_flush(db), AM_OK);
    put_range(db, 150, 450, 1);
    return db;
}

static void flush_check_all(am_db *db, const char *ctx)
{
    expect_range(db, 0, 150, 0, ctx);
    expect_range(db, 150, 450, 1, ctx);
}

/* Prints how many calls of each kind what made. */
static void print_calls(const char *what, const uint64_t *calls)
{
    print_message("  %s: %llu writes, %llu syncs, %llu opens, %llu reads, %llu renames\n", what,
                  (unsigned long long)calls[FAULT_WRITE], (unsigned long long)calls[FAULT_SYNC],
                  (unsigned long long)calls[FAULT_OPEN], (unsigned long long)calls[FAULT_READ],
                  (unsigned long long)calls[FAULT_RENAME]);
}

/* The Nth calls to try out of count: all of them, or 16 spread evenly. */
static int pick_points(uint64_t count, uint64_t *out)
{
    if (count <= 16) {
        for (uint64_t i = 0; i < count; i++) out[i] = i + 1;
        return (int)count;
    }
    for (int i = 0; i < 16; i++) out[i] = 1 + (uint64_t)i * (count - 1) / 15;
    return 16;
}

static void test_flush_and_compaction_faults(void **state)
{
    fixture *fx = *state;
    am_options o;
    /* A clean run counts the calls of each kind the operation makes. */
    am_db *db = flush_setup(fx, &o);
    uint64_t before[FAULT_KINDS], calls[FAULT_KINDS];
    for (int k = 0; k < FAULT_KINDS; k++) before[k] = fault_env_count(fx->fault, k);
    am_stats st0;
    assert_int_equal(am_stats_get(db, &st0), AM_OK);
    assert_int_equal(am_flush(db), AM_OK);
    am_stats st1;
    assert_int_equal(am_stats_get(db, &st1), AM_OK);
    if (st1.compactions == st0.compactions) fail_msg("the operation ran no merge");
    for (int k = 0; k < FAULT_KINDS; k++) calls[k] = fault_env_count(fx->fault, k) - before[k];
    flush_check_all(db, "clean run");
    assert_int_equal(am_close(db), AM_OK);
    print_calls("flush + merge", calls);
    assert_true(calls[FAULT_SYNC] >= 4);       /* two files and two MANIFEST edits, at least */
    assert_true(calls[FAULT_WRITE] >= 4);

    static const int kinds[] = { FAULT_SYNC, FAULT_WRITE, FAULT_OPEN, FAULT_READ, FAULT_RENAME };
    int tried = 0;
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        int kind = kinds[ki];
        uint64_t pts[16];
        int np = pick_points(calls[kind], pts);
        for (int p = 0; p < np; p++) {
            char ctx[128];
            snprintf(ctx, sizeof ctx, "%s %llu of %llu failed", kind_name[kind],
                     (unsigned long long)pts[p], (unsigned long long)calls[kind]);
            db = flush_setup(fx, &o);
            fault_env_fail_nth(fx->fault, kind, pts[p], AM_ERR_IO, 0);
            int rc = am_flush(db);
            if (rc >= 0) fail_msg("%s: am_flush returned %s", ctx, am_strerror(rc));
            expect_readonly(db, ctx);
            flush_check_all(db, ctx);          /* reads still served */
            assert_true(am_close(db) < 0);
            /* Reopen without faults: whole, writable, and clean of half-made files. */
            db = open_clean(fx->dir, o);
            flush_check_all(db, ctx);
            expect_no_stray_files(db, fx->dir, ctx);
            put_range(db, 0, 100, 2);
            assert_int_equal(am_flush(db), AM_OK);
            assert_int_equal(am_compact(db), AM_OK);
            expect_range(db, 0, 100, 2, ctx);
            expect_range(db, 150, 450, 1, ctx);
            assert_int_equal(am_close(db), AM_OK);
            tried++;
        }
    }
    assert_true(tried >= 12);
}

/* ---- every call of a recovering open, failed in turn ---- */

/* A database with SSTables and an unflushed log (written through the POSIX env). */
static void open_setup(fixture *fx)
{
    fresh(fx);
    am_options o = opts(NULL, 0);
    am_db *db = tu_open(fx->dir, &o);
    put_range(db, 0, 400, 0);                  /* about one memtable: a flush or so */
    assert_int_equal(am_flush(db), AM_OK);
    put_range(db, 300, 500, 1);                /* left in the log */
    assert_int_equal(am_close(db), AM_OK);
}

static void open_check_all(am_db *db, const char *ctx)
{
    expect_range(db, 0, 300, 0, ctx);
    expect_range(db, 300, 500, 1, ctx);
}

static void test_open_faults(void **state)
{
    fixture *fx = *state;
    open_setup(fx);
    am_options o = opts(fx->fault, 0);
    uint64_t calls[FAULT_KINDS];
    am_db *db = tu_open(fx->dir, &o);
    for (int k = 0; k < FAULT_KINDS; k++) calls[k] = fault_env_count(fx->fault, k);
    open_check_all(db, "clean open");
    assert_int_equal(am_close(db), AM_OK);
    print_calls("recovering open", calls);
    assert_true(calls[FAULT_RENAME] >= 1);     /* CURRENT is switched to a fresh MANIFEST */

    static const int kinds[] = { FAULT_RENAME, FAULT_SYNC, FAULT_WRITE, FAULT_OPEN, FAULT_READ };
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        int kind = kinds[ki];
        uint64_t pts[16];
        int np = pick_points(calls[kind], pts);
        for (int p = 0; p < np; p++) {
            char ctx[128], msg[512] = "";
            snprintf(ctx, sizeof ctx, "open with %s %llu of %llu failed", kind_name[kind],
                     (unsigned long long)pts[p], (unsigned long long)calls[kind]);
            open_setup(fx);
            o.env = fx->fault;                 /* open_setup made a fresh one */
            fault_env_fail_nth(fx->fault, kind, pts[p], AM_ERR_IO, 0);
            db = (am_db *)1;
            int rc = am_open_msg(fx->dir, &o, &db, msg, sizeof msg);
            if (rc >= 0) fail_msg("%s: am_open returned %s", ctx, am_strerror(rc));
            assert_null(db);
            if (!msg[0]) fail_msg("%s: no message", ctx);
            /* The same fault env, now disarmed, opens it; so does a fresh one. */
            db = tu_open(fx->dir, &o);
            open_check_all(db, ctx);
            put_range(db, 500, 550, 2);
            assert_int_equal(am_close(db), AM_OK);
            db = open_clean(fx->dir, o);
            open_check_all(db, ctx);
            expect_range(db, 500, 550, 2, ctx);
            expect_no_stray_files(db, fx->dir, ctx);
            assert_int_equal(am_close(db), AM_OK);
        }
    }
}

/* The rename of CURRENT at open, on its own: a clear failure, and the next open works. */
static void test_current_rename_fails(void **state)
{
    fixture *fx = *state;
    open_setup(fx);
    am_options o = opts(fx->fault, 1);
    fault_env_fail_nth(fx->fault, FAULT_RENAME, 1, AM_ERR_IO, 0);
    char msg[512] = "";
    am_db *db = (am_db *)1;
    int rc = am_open_msg(fx->dir, &o, &db, msg, sizeof msg);
    assert_int_equal(rc, AM_ERR_IO);
    assert_null(db);
    if (!strstr(msg, fx->dir)) fail_msg("message does not name the directory: '%s'", msg);
    db = tu_open(fx->dir, &o);
    open_check_all(db, "after a failed rename");
    assert_int_equal(am_close(db), AM_OK);
}

/* A database whose creation failed half-way (any write, sync, rename or open of the first
 * am_open) held nothing yet: the next open must create it rather than refuse the leftover
 * files forever. */
static void test_failed_create_then_open(void **state)
{
    fixture *fx = *state;
    static const int kinds[] = { FAULT_RENAME, FAULT_SYNC, FAULT_WRITE, FAULT_OPEN };
    /* A clean creation counts the calls. */
    fresh(fx);
    am_options o = opts(fx->fault, 0);
    am_db *db = tu_open(fx->dir, &o);
    uint64_t calls[FAULT_KINDS];
    for (int k = 0; k < FAULT_KINDS; k++) calls[k] = fault_env_count(fx->fault, k);
    assert_int_equal(am_close(db), AM_OK);
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        int kind = kinds[ki];
        for (uint64_t n = 1; n <= calls[kind]; n++) {
            char ctx[96], msg[512] = "";
            snprintf(ctx, sizeof ctx, "creation with %s %llu of %llu failed", kind_name[kind],
                     (unsigned long long)n, (unsigned long long)calls[kind]);
            fresh(fx);
            o.env = fx->fault;
            fault_env_fail_nth(fx->fault, kind, n, AM_ERR_IO, 0);
            db = (am_db *)1;
            int rc = am_open_msg(fx->dir, &o, &db, msg, sizeof msg);
            if (rc >= 0) fail_msg("%s: am_open returned %s", ctx, am_strerror(rc));
            assert_null(db);
            rc = am_open_msg(fx->dir, &o, &db, msg, sizeof msg);
            if (rc != AM_OK) fail_msg("%s: the next open: %s (%s)", ctx, am_strerror(rc), msg);
            put_range(db, 0, 10, 0);
            assert_int_equal(am_close(db), AM_OK);
            db = open_clean(fx->dir, o);
            expect_range(db, 0, 10, 0, ctx);
            assert_int_equal(am_close(db), AM_OK);
        }
    }
}

/* ---- no space ---- */

static void nospace_round(fixture *fx, int bg)
{
    fresh(fx);
    am_options o = opts(fx->fault, bg);
    o.memtable_bytes = 1u << 20;
    am_db *db = tu_open(fx->dir, &o);
    put_range(db, 0, 500, 0);
    /* Every write from now on: the disk is full. The next writes are the SSTable's. */
    fault_env_fail_nth(fx->fault, FAULT_WRITE, 1, AM_ERR_NOSPACE, 1);
    int rc = am_flush(db);
    if (rc != AM_ERR_NOSPACE) fail_msg("bg=%d: am_flush on a full disk: %s", bg, am_strerror(rc));
    if (!am_errmsg(db)[0]) fail_msg("no message for the full disk");
    fault_env_fail_nth(fx->fault, FAULT_WRITE, 0, 0, 0);
    expect_readonly(db, "full disk");
    expect_range(db, 0, 500, 0, "full disk, same handle");
    assert_int_equal(am_close(db), AM_ERR_NOSPACE);
    db = open_clean(fx->dir, o);
    expect_range(db, 0, 500, 0, "after the full disk");
    expect_no_stray_files(db, fx->dir, "after the full disk");
    assert_int_equal(am_flush(db), AM_OK);
    expect_range(db, 0, 500, 0, "after the full disk");
    assert_int_equal(am_close(db), AM_OK);
}

static void test_nospace_on_sstable_write(void **state)
{
    fixture *fx = *state;
    nospace_round(fx, 0);
    nospace_round(fx, 1);
}

/* A full disk when a memtable switch creates its log: the creation fails and its cleanup
 * (removing the log, which the failed call never made) fails too. am_errmsg names the
 * full disk, not the cleanup's "no such file". */
static void test_nospace_message_survives_cleanup(void **state)
{
    fixture *fx = *state;
    for (int bg = 0; bg <= 1; bg++) {
        fresh(fx);
        am_options o = opts(fx->fault, bg);
        o.memtable_bytes = 1u << 20;
        am_db *db = tu_open(fx->dir, &o);
        put_range(db, 0, 300, 0);
        fault_env_fail_nth(fx->fault, FAULT_OPEN, 1, AM_ERR_NOSPACE, 0);   /* the new log */
        int rc = am_flush(db);
        if (rc != AM_ERR_NOSPACE) fail_msg("bg=%d: am_flush: %s", bg, am_strerror(rc));
        const char *msg = am_errmsg(db);
        if (!strstr(msg, "injected fault") || !strstr(msg, ".log") || strstr(msg, "remove"))
            fail_msg("bg=%d: am_errmsg does not name the full disk: '%s'", bg, msg);
        expect_readonly(db, "full disk at a log switch");
        assert_int_equal(am_close(db), AM_ERR_NOSPACE);
        db = open_clean(fx->dir, o);
        expect_range(db, 0, 300, 0, "after the full disk at a log switch");
        assert_int_equal(am_close(db), AM_OK);
    }
}

/* ---- power cuts ---- */

/* Abandons db as a dead machine would: nothing more reaches the disk; then the power cut;
 * then the database in fx->dir opened again with o through the POSIX env. */
static am_db *power_cut_and_reopen(fixture *fx, am_db *db, am_options o)
{
    fault_env_set_dead(fx->fault, 1);
    (void)am_close(db);                        /* frees memory; writes nothing */
    assert_int_equal(fault_env_power_cut(fx->fault), AM_OK);
    return open_clean(fx->dir, o);
}

static void synced_power_cut_round(fixture *fx, int bg)
{
    fresh(fx);
    am_options o = opts(fx->fault, bg);
    o.sync_wal = 1;
    am_db *db = tu_open(fx->dir, &o);
    /* Several memtables: logs switch, flushes and merges run, some still in flight. */
    put_range(db, 0, 1500, 0);
    put_range(db, 0, 700, 1);
    am_batch *b = am_batch_new();
    char k[32], v[160];
    for (int i = 1500; i < 1600; i++) {
        key_of(k, i);
        assert_int_equal(am_batch_put(b, k, strlen(k), v, value_of(v, i, 0)), AM_OK);
    }
    assert_int_equal(am_write(db, b, 0), AM_OK);
    am_batch_free(b);
    db = power_cut_and_reopen(fx, db, o);
    char ctx[64];
    snprintf(ctx, sizeof ctx, "synced writes after a power cut (bg=%d)", bg);
    expect_range(db, 0, 700, 1, ctx);
    expect_range(db, 700, 1600, 0, ctx);
    expect_no_stray_files(db, fx->dir, ctx);
    assert_int_equal(am_close(db), AM_OK);
}

/* Writes keys 0, 1, ... (generation gen) in batches of 250 until the memtable switches
 * (a frozen memtable waits for its flush, or a flush already ran); returns how many. */
static int fill_until_switch(am_db *db, int gen)
{
    am_batch *b = am_batch_new();
    assert_non_null(b);
    char k[32], v[160];
    int n = 0;
    am_stats st = { 0 };
    while (st.frozen_memtables == 0 && st.flushes == 0) {
        am_batch_clear(b);
        for (int j = 0; j < 250; j++, n++) {
            key_of(k, n);
            assert_int_equal(am_batch_put(b, k, strlen(k), v, value_of(v, n, gen)), AM_OK);
        }
        assert_int_equal(am_write(db, b, 0), AM_OK);
        assert_int_equal(am_stats_get(db, &st), AM_OK);
        if (n > 200000) fail_msg("no memtable switch after %d writes", n);
    }
    am_batch_free(b);
    return n;
}

/* Synced writes land in a log created by a memtable switch while the flush that follows
 * is still running: the new log's name must be durable too (directory sync), or the cut
 * takes the whole log. Returns 1 if the cut really fell inside that window. */
static int switch_power_cut_round(fixture *fx, int attempt)
{
    fresh(fx);
    am_options o = opts(fx->fault, 1);
    o.sync_wal = 1;
    o.memtable_bytes = 2u << 20;              /* a flush that takes a while */
    am_db *db = tu_open(fx->dir, &o);
    int n = fill_until_switch(db, attempt);
    put_range(db, n, n + 3, attempt);         /* into the fresh log, synced */
    am_stats st;
    assert_int_equal(am_stats_get(db, &st), AM_OK);
    int in_window = st.frozen_memtables > 0;  /* the flush had not finished */
    db = power_cut_and_reopen(fx, db, o);
    expect_range(db, 0, n + 3, attempt, "synced writes around a memtable switch, power cut");
    assert_int_equal(am_close(db), AM_OK);
    return in_window;
}

/* Without sync_wal, one synced write makes every earlier write durable too (the log is a
 * prefix of the history), also when the earlier ones sit in a log that a memtable switch
 * just closed and whose flush has not finished. Returns 1 if the cut fell in that window. */
static int sync_write_power_cut_round(fixture *fx, int attempt)
{
    fresh(fx);
    am_options o = opts(fx->fault, 1);
    o.memtable_bytes = 2u << 20;
    am_db *db = tu_open(fx->dir, &o);
    int n = fill_until_switch(db, attempt);     /* not synced */
    am_batch *b = am_batch_new();
    assert_non_null(b);
    char k[32], v[160];
    key_of(k, n);
    assert_int_equal(am_batch_put(b, k, strlen(k), v, value_of(v, n, attempt)), AM_OK);
    n++;
    assert_int_equal(am_write(db, b, 1), AM_OK);           /* synced */
    am_batch_free(b);
    am_stats st;
    assert_int_equal(am_stats_get(db, &st), AM_OK);
    int in_window = st.frozen_memtables > 0;
    db = power_cut_and_reopen(fx, db, o);
    expect_range(db, 0, n, attempt, "writes before a synced write, power cut");
    assert_int_equal(am_close(db), AM_OK);
    return in_window;
}

static void test_power_cut_sync_write_keeps_earlier_writes(void **state)
{
    fixture *fx = *state;
    int hits = 0;
    for (int attempt = 0; attempt < 3; attempt++) hits += sync_write_power_cut_round(fx, attempt);
    print_message("  power cut inside the switch-to-flush window %d of 3 times\n", hits);
}

static void test_power_cut_synced_wal(void **state)
{
    fixture *fx = *state;
    synced_power_cut_round(fx, 0);
    synced_power_cut_round(fx, 1);
    synced_power_cut_round(fx, 2);
    int hits = 0;
    for (int attempt = 0; attempt < 3; attempt++) hits += switch_power_cut_round(fx, attempt);
    print_message("  power cut inside the switch-to-flush window %d of 3 times\n", hits);
}

/* am_sync-less writes: what am_flush made durable survives; later writes may vanish but
 * never come back wrong. */
static void flushed_power_cut_round(fixture *fx, int bg)
{
    fresh(fx);
    am_options o = opts(fx->fault, bg);
    am_db *db = tu_open(fx->dir, &o);
    put_range(db, 0, 1200, 0);
    assert_int_equal(am_flush(db), AM_OK);
    put_range(db, 600, 900, 1);               /* after the flush: unsynced */
    put_range(db, 1200, 1300, 1);
    db = power_cut_and_reopen(fx, db, o);
    char ctx[64];
    snprintf(ctx, sizeof ctx, "flushed writes after a power cut (bg=%d)", bg);
    expect_range(db, 0, 600, 0, ctx);
    expect_range(db, 900, 1200, 0, ctx);
    /* A write lost in the cut takes every later write with it (the log is a prefix). */
    int lost_from = -1;
    for (int i = 600; i < 900; i++) {
        int g = key_one_of(db, i, 0, 1, ctx);
        if (g == 0 && lost_from < 0) lost_from = i;
        if (g == 1 && lost_from >= 0) fail_msg("%s: key %d lost but a later write kept", ctx, lost_from);
    }
    for (int i = 1200; i < 1300; i++) {
        int g = key_one_of(db, i, 1, -1, ctx);
        if (g == 1 && lost_from >= 0) fail_msg("%s: key %d lost but key %d kept", ctx, lost_from, i);
    }
    expect_no_stray_files(db, fx->dir, ctx);
    assert_int_equal(am_close(db), AM_OK);
}

static void test_power_cut_after_flush(void **state)
{
    fixture *fx = *state;
    flushed_power_cut_round(fx, 0);
    flushed_power_cut_round(fx, 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_wal_write_fails),
        T(test_wal_sync_fails),
        T(test_flush_and_compaction_faults),
        T(test_open_faults),
        T(test_current_rename_fails),
        T(test_failed_create_then_open),
        T(test_nospace_on_sstable_write),
        T(test_nospace_message_survives_cleanup),
        T(test_power_cut_synced_wal),
        T(test_power_cut_after_flush),
        T(test_power_cut_sync_write_keeps_earlier_writes),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
