/* test_db.c: the public API end to end: open / create / lock / refusals, options out of
 * range, put / get / delete / overwrite, am_get_into, empty values, key and value limits,
 * NULL arguments, batches, snapshots across overwrites, flushes and compactions, iterators
 * over memtable + SSTables with deletes, am_flush / am_compact, the counters of am_stats,
 * am_segments, reopen, and am_strerror. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"
#include "util/env_fault.h"

/* ---- helpers ---- */

/* base: the temp dir; dir: base/db, the database; o: small options, no background
 * threads (deterministic unless a test says otherwise). */
typedef tu_fixture fixture;

static void must_close(am_db *db)
{
    /* (am_errmsg is not read here: background threads may be writing it.) */
    int rc = am_close(db);
    if (rc != AM_OK) fail_msg("am_close: %s", am_strerror(rc));
}

static void put_s(am_db *db, const char *k, const char *v)
{
    int rc = am_put(db, k, strlen(k), v, strlen(v));
    if (rc != AM_OK) fail_msg("put %s: %s (%s)", k, am_strerror(rc), am_errmsg(db));
}

static void del_s(am_db *db, const char *k)
{
    int rc = am_delete(db, k, strlen(k));
    if (rc != AM_OK) fail_msg("delete %s: %s", k, am_strerror(rc));
}

/* Asserts k reads as want through s (want NULL: not found). */
static void expect_s(am_db *db, const am_snapshot *s, const char *k, const char *want)
{
    void *v = (void *)1;
    size_t vn = 12345;
    int rc = am_get(db, s, k, strlen(k), &v, &vn);
    if (!want) {
        if (rc != AM_NOT_FOUND)
            fail_msg("get %s: want not found, got %s (%.*s)", k, am_strerror(rc),
                     rc == AM_OK ? (int)vn : 0, rc == AM_OK ? (char *)v : "");
        assert_null(v);
        return;
    }
    if (rc != AM_OK) fail_msg("get %s: want '%s', got %s (%s)", k, want, am_strerror(rc),
                              am_errmsg(db));
    if (vn != strlen(want) || memcmp(v, want, vn) != 0)
        fail_msg("get %s: want '%s', got '%.*s'", k, want, (int)vn, (char *)v);
    am_free(v);
}

/* Asserts it is valid at key k[0..kn) holding value v[0..vn) (v NULL: any value); ctx
 * says where, for the message. */
static void expect_at(am_iter *it, const void *k, size_t kn, const void *v, size_t vn,
                      const char *ctx)
{
#define SHOW(n) (int)((n) < 64 ? (n) : 64)     /* long keys and values: their first bytes */
    if (!am_iter_valid(it))
        fail_msg("%s: iterator ended, want key %.*s (status %s)", ctx, SHOW(kn),
                 (const char *)k, am_strerror(am_iter_status(it)));
    size_t gkn, gvn;
    const char *gk = am_iter_key(it, &gkn);
    const char *gv = am_iter_value(it, &gvn);
    if (gkn != kn || memcmp(gk, k, kn) != 0)
        fail_msg("%s: want key %.*s (%zu bytes), got %.*s (%zu bytes)", ctx, SHOW(kn),
                 (const char *)k, kn, SHOW(gkn), gk, gkn);
    if (v && (gvn != vn || memcmp(gv, v, vn) != 0))
        fail_msg("%s: key %.*s: want value %.*s (%zu bytes), got %.*s (%zu bytes)", ctx,
                 SHOW(kn), (const char *)k, SHOW(vn), (const char *)v, vn, SHOW(gvn), gv, gvn);
#undef SHOW
}

static void expect_at_s(am_iter *it, const char *k, const char *v, const char *ctx)
{
    expect_at(it, k, strlen(k), v, v ? strlen(v) : 0, ctx);
}

static am_stats stats(am_db *db)
{
    am_stats s;
    assert_int_equal(am_stats_get(db, &s), AM_OK);
    return s;
}

/* Asserts path holds exactly the text want. */
static void expect_file(const char *path, const char *want)
{
    size_t n;
    char *data = tu_read_file(path, &n);
    assert_string_equal(data, want);
    assert_int_equal(n, strlen(want));
    free(data);
}

/* ---- open / create / refusals ---- */

static void test_open_create_reopen(void **state)
{
    fixture *fx = *state;
    char path[512];
    am_db *db = tu_open(fx->dir, &fx->o);
    snprintf(path, sizeof path, "%s/CURRENT", fx->dir);
    assert_true(tu_file_exists(path));
    assert_string_equal(am_errmsg(db), am_errmsg(db));   /* callable, never NULL */
    put_s(db, "a", "1");
    must_close(db);

    /* A second open finds it (create_if_missing off is fine now). */
    fx->o.create_if_missing = 0;
    db = tu_open(fx->dir, &fx->o);
    expect_s(db, NULL, "a", "1");
    must_close(db);

    /* error_if_exists refuses an existing database and changes nothing. */
    fx->o.error_if_exists = 1;
    am_db *db2 = (am_db *)1;
    char msg[512] = "";
    assert_int_equal(am_open_msg(fx->dir, &fx->o, &db2, msg, sizeof msg), AM_ERR_EXISTS);
    assert_null(db2);
    assert_non_null(strstr(msg, fx->dir));
    fx->o.error_if_exists = 0;
    db = tu_open(fx->dir, &fx->o);
    expect_s(db, NULL, "a", "1");
    must_close(db);

    /* error_if_exists on a fresh directory creates it. */
    char other[320];
    snprintf(other, sizeof other, "%s/fresh", fx->base);
    fx->o.error_if_exists = 1;
    fx->o.create_if_missing = 1;
    db = tu_open(other, &fx->o);
    expect_s(db, NULL, "a", NULL);
    must_close(db);
}

static void test_open_missing_without_create(void **state)
{
    fixture *fx = *state;
    fx->o.create_if_missing = 0;
    char msg[512] = "";
    am_db *db = (am_db *)1;
    int rc = am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg);
    assert_int_equal(rc, AM_ERR_INVALID);
    assert_null(db);
    if (!strstr(msg, fx->dir)) fail_msg("message does not name %s: '%s'", fx->dir, msg);
    assert_false(tu_file_exists(fx->dir));          /* nothing was created */

    /* An existing but empty directory is not a database either. */
    assert_int_equal(mkdir(fx->dir, 0755), 0);
    msg[0] = 0;
    rc = am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg);
    assert_int_equal(rc, AM_ERR_INVALID);
    assert_null(db);
    assert_non_null(strstr(msg, fx->dir));
    /* am_open without a message buffer gives the same status. */
    assert_int_equal(am_open(fx->dir, &fx->o, &db), AM_ERR_INVALID);
    assert_null(db);
}

static void test_open_twice_busy(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    put_s(db, "k", "v");
    am_db *db2 = (am_db *)1;
    char msg[512] = "";
    assert_int_equal(am_open_msg(fx->dir, &fx->o, &db2, msg, sizeof msg), AM_ERR_BUSY);
    assert_null(db2);
    assert_true(msg[0] != 0);
    /* The first handle is unharmed. */
    put_s(db, "k2", "v2");
    expect_s(db, NULL, "k", "v");
    assert_int_equal(am_flush(db), AM_OK);
    must_close(db);
    /* Closing released the lock. */
    db = tu_open(fx->dir, &fx->o);
    expect_s(db, NULL, "k2", "v2");
    must_close(db);
}

/* Makes dir an empty directory but for name holding data; name's path into path. */
static void dir_with_one_file(const fixture *fx, const char *name, const char *data,
                              char *path, size_t cap)
{
    tu_rmtree(fx->dir);
    assert_int_equal(mkdir(fx->dir, 0755), 0);
    snprintf(path, cap, "%s/%s", fx->dir, name);
    tu_write_file(path, data, strlen(data));
}

/* Data files without CURRENT: refused, and left exactly as they were. */
static void test_open_refuses_orphan_files(void **state)
{
    fixture *fx = *state;
    static const char *const names[] = { "000005.sst", "000003.log" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512], cur[512];
        dir_with_one_file(fx, names[i], "precious bytes", path, sizeof path);
        char msg[512] = "";
        am_db *db = (am_db *)1;
        int rc = am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg);
        if (rc >= 0) fail_msg("%s without CURRENT: open gave %s", names[i], am_strerror(rc));
        assert_null(db);
        assert_non_null(strstr(msg, fx->dir));
        expect_file(path, "precious bytes");
        snprintf(cur, sizeof cur, "%s/CURRENT", fx->dir);
        assert_false(tu_file_exists(cur));
        snprintf(cur, sizeof cur, "%s/LOCK", fx->dir);
        assert_false(tu_file_exists(cur));               /* the failed open's own: gone */
    }
    /* A MANIFEST alone (a creation that failed before CURRENT) holds no data: a new
       database is created. */
    char mpath[512];
    dir_with_one_file(fx, "MANIFEST-000001", "half-written", mpath, sizeof mpath);
    am_db *mdb = tu_open(fx->dir, &fx->o);
    put_s(mdb, "k", "v");
    must_close(mdb);
    mdb = tu_open(fx->dir, &fx->o);
    expect_s(mdb, NULL, "k", "v");
    must_close(mdb);
    /* Unrelated files are no obstacle. */
    char path[512];
    dir_with_one_file(fx, "notes.txt", "hello", path, sizeof path);
    am_db *db = tu_open(fx->dir, &fx->o);
    must_close(db);
    expect_file(path, "hello");
}

static int cmp_name(const void *a, const void *b) { return strcmp(a, b); }

/* The entries of dir, sorted, one per line ("" for an empty or missing directory). */
static void list_names(const char *dir, char *out, size_t cap)
{
    char names[64][64];
    size_t n = 0;
    out[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            snprintf(names[n++], sizeof names[0], "%.63s", e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_name);
    size_t len = 0;
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\n", names[i]);
}

/* A failed open leaves the directory as it found it: no LOCK file it created itself (one
 * that was there stays), and no directory it created if that is empty again. */
static void test_failed_open_leaves_no_lock(void **state)
{
    fixture *fx = *state;
    char path[512], names[1024];
    /* CURRENT naming a MANIFEST that is not there. */
    assert_int_equal(mkdir(fx->dir, 0755), 0);
    snprintf(path, sizeof path, "%s/CURRENT", fx->dir);
    tu_write_file(path, "MANIFEST-000009\n", 16);
    char msg[512] = "";
    am_db *db = (am_db *)1;
    assert_int_equal(am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg), AM_ERR_CORRUPT);
    assert_null(db);
    if (!strstr(msg, "MANIFEST-000009")) fail_msg("message: '%s'", msg);
    list_names(fx->dir, names, sizeof names);
    assert_string_equal(names, "CURRENT\n");
    /* A LOCK file that was there before stays. */
    snprintf(path, sizeof path, "%s/LOCK", fx->dir);
    tu_write_file(path, "", 0);
    assert_int_equal(am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg), AM_ERR_CORRUPT);
    list_names(fx->dir, names, sizeof names);
    assert_string_equal(names, "CURRENT\nLOCK\n");
    /* So does the lock another handle holds. */
    tu_rmtree(fx->dir);
    am_db *first = tu_open(fx->dir, &fx->o);
    assert_int_equal(am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg), AM_ERR_BUSY);
    assert_true(tu_file_exists(path));
    must_close(first);
    /* A directory this open created goes again when the creation fails before writing
       anything (the first file creation fails); one that holds files stays. */
    am_options o = fx->o;
    o.env = fx->fault;
    for (int kind = 0; kind < 2; kind++) {
        tu_rmtree(fx->dir);
        fault_env_fail_nth(fx->fault, kind == 0 ? FAULT_OPEN : FAULT_RENAME, 1, AM_ERR_IO, 0);
        assert_int_equal(am_open_msg(fx->dir, &o, &db, msg, sizeof msg), AM_ERR_IO);
        assert_null(db);
        if (kind == 0) {
            if (tu_file_exists(fx->dir)) fail_msg("the directory the open created stayed");
        } else {
            list_names(fx->dir, names, sizeof names);   /* the MANIFEST, not CURRENT */
            if (!strstr(names, "MANIFEST-") || strstr(names, "LOCK") || strstr(names, "CURRENT"))
                fail_msg("after a failed CURRENT rename: '%s'", names);
        }
        db = tu_open(fx->dir, &o);                     /* and the next open creates it */
        must_close(db);
    }
}

/* ---- options ---- */

typedef struct opt_case {
    const char *what;             /* expected in the message */
    void (*apply)(am_options *o);
    int ok;                       /* 1: a boundary value that must be accepted */
} opt_case;

#define OPT(fn, stmt) static void fn(am_options *o) { stmt; }
OPT(mem_small, o->memtable_bytes = (64u << 10) - 1)
OPT(mem_big, o->memtable_bytes = ((size_t)1 << 30) + 1)
OPT(mem_min, o->memtable_bytes = 64u << 10)
OPT(blk_small, o->block_bytes = 255)
OPT(blk_big, o->block_bytes = (1u << 20) + 1)
OPT(blk_min, o->block_bytes = 256)
OPT(blk_max, o->block_bytes = 1u << 20)
OPT(tfb_small, o->target_file_bytes = 1000)
OPT(stride_zero, o->index_stride = 0)
OPT(stride_neg, o->index_stride = -3)
OPT(bloom_neg, o->bloom_bits_per_key = -1)
OPT(bloom_big, o->bloom_bits_per_key = 65)
OPT(bloom_zero, o->bloom_bits_per_key = 0)
OPT(bloom_max, o->bloom_bits_per_key = 64)
OPT(bg_neg, o->background_threads = -1)
OPT(bg_big, o->background_threads = 17)
OPT(bg_max, o->background_threads = 16)
OPT(frozen_zero, o->max_frozen_memtables = 0)
OPT(stop_below_slow, { o->l0_slowdown_files = 8; o->l0_stop_files = 7; })
OPT(slow_zero, o->l0_slowdown_files = 0)
OPT(fanout_one, o->level_fanout = 1)
OPT(trigger_zero, o->l0_compaction_trigger = 0)
OPT(trigger_above_stop, { o->background_threads = 1; o->l0_stop_files = 12;
                          o->l0_compaction_trigger = 13; })
OPT(trigger_at_stop, { o->background_threads = 1; o->l0_stop_files = 12;
                       o->l0_compaction_trigger = 12; })
OPT(trigger_above_stop_inline, { o->background_threads = 0; o->l0_stop_files = 12;
                                 o->l0_compaction_trigger = 100; })
OPT(strategy_unknown, o->strategy = "no-such-strategy")
OPT(strategy_null, o->strategy = NULL)
OPT(cache_zero, o->block_cache_bytes = 0)
#undef OPT

static const opt_case opt_cases[] = {
    { "memtable_bytes", mem_small, 0 },
    { "memtable_bytes", mem_big, 0 },
    { "", mem_min, 1 },
    { "block_bytes", blk_small, 0 },
    { "block_bytes", blk_big, 0 },
    { "", blk_min, 1 },
    { "", blk_max, 1 },
    { "target_file_bytes", tfb_small, 0 },
    { "index_stride", stride_zero, 0 },
    { "index_stride", stride_neg, 0 },
    { "bloom_bits_per_key", bloom_neg, 0 },
    { "bloom_bits_per_key", bloom_big, 0 },
    { "", bloom_zero, 1 },
    { "", bloom_max, 1 },
    { "background_threads", bg_neg, 0 },
    { "background_threads", bg_big, 0 },
    { "", bg_max, 1 },
    { "max_frozen_memtables", frozen_zero, 0 },
    { "l0_stop_files", stop_below_slow, 0 },
    { "l0_slowdown_files", slow_zero, 0 },
    { "level_fanout", fanout_one, 0 },
    { "l0_compaction_trigger", trigger_zero, 0 },
    { "l0_compaction_trigger", trigger_above_stop, 0 },   /* writers would stall forever */
    { "", trigger_at_stop, 1 },
    { "", trigger_above_stop_inline, 1 },                 /* inline writers never stall */
    { "no-such-strategy", strategy_unknown, 0 },
    { "strategy", strategy_null, 0 },
    { "", cache_zero, 1 },
};

/* am_options_resolve turns each "0: the default" into the value that applies, per
 * strategy, and leaves what the caller chose alone. */
static void test_options_resolve(void **state)
{
    (void)state;
    am_options o;
    am_options_init(&o);
    assert_int_equal(o.level_fanout, 0);
    am_options_resolve(&o);
    assert_int_equal(o.level_fanout, 10);
    assert_int_equal(o.l1_target_bytes, 4 * o.memtable_bytes);
    am_options_init(&o);
    o.strategy = "triangular";
    o.memtable_bytes = 1u << 20;
    am_options_resolve(&o);
    assert_int_equal(o.level_fanout, 2);
    assert_int_equal(o.l1_target_bytes, 4u << 20);
    am_options_init(&o);
    o.strategy = "triangular";
    o.level_fanout = 7;
    o.l1_target_bytes = 12345;
    am_options_resolve(&o);
    assert_int_equal(o.level_fanout, 7);
    assert_int_equal(o.l1_target_bytes, 12345);
    am_options_init(&o);
    o.strategy = "adaptive";               /* the controller's defaults follow its clock */
    am_options_resolve(&o);
    assert_true(o.adapt_window == 2 && o.adapt_cooldown == 3 &&
                o.adapt_read_threshold == 0.7);
    am_options_init(&o);
    o.strategy = "adaptive";
    o.adapt_clock_ops = 1;
    o.adapt_cooldown = 5000;
    am_options_resolve(&o);
    assert_true(o.adapt_window == 100000 && o.adapt_cooldown == 5000 &&
                o.adapt_global_cooldown == 10000);
    am_options_init(&o);
    o.strategy = "no-such-strategy";      /* left for am_open to refuse */
    am_options_resolve(&o);
    assert_int_equal(o.level_fanout, 10);
}

static void test_options_out_of_range(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < sizeof opt_cases / sizeof opt_cases[0]; i++) {
        const opt_case *c = &opt_cases[i];
        am_options o = fx->o;
        c->apply(&o);
        char msg[512] = "";
        am_db *db = (am_db *)1;
        int rc = am_open_msg(fx->dir, &o, &db, msg, sizeof msg);
        if (c->ok) {
            if (rc != AM_OK) fail_msg("case %zu: boundary value refused: %s (%s)", i,
                                      am_strerror(rc), msg);
            put_s(db, "k", "v");
            assert_int_equal(am_flush(db), AM_OK);
            expect_s(db, NULL, "k", "v");
            must_close(db);
            tu_rmtree(fx->dir);
            continue;
        }
        if (rc != AM_ERR_INVALID) fail_msg("case %zu (%s): want invalid, got %s", i, c->what,
                                           am_strerror(rc));
        assert_null(db);
        if (!strstr(msg, c->what)) fail_msg("case %zu: message '%s' lacks '%s'", i, msg, c->what);
        assert_false(tu_file_exists(fx->dir));   /* refused before touching the disk */
    }
    am_db *db = (am_db *)1;
    assert_int_equal(am_open(fx->dir, NULL, &db), AM_ERR_INVALID);
    assert_null(db);
    db = (am_db *)1;
    assert_int_equal(am_open(NULL, &fx->o, &db), AM_ERR_INVALID);
    assert_null(db);
    db = (am_db *)1;
    assert_int_equal(am_open("", &fx->o, &db), AM_ERR_INVALID);
    assert_null(db);
    assert_int_equal(am_open(fx->dir, &fx->o, NULL), AM_ERR_INVALID);
    assert_false(tu_file_exists(fx->dir));
}

/* ---- basic reads and writes ---- */

static void test_put_get_delete_overwrite(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    expect_s(db, NULL, "missing", NULL);
    put_s(db, "apple", "red");
    put_s(db, "banana", "yellow");
    expect_s(db, NULL, "apple", "red");
    expect_s(db, NULL, "banana", "yellow");
    put_s(db, "apple", "green");                 /* overwrite */
    expect_s(db, NULL, "apple", "green");
    del_s(db, "banana");
    expect_s(db, NULL, "banana", NULL);
    del_s(db, "never-there");                    /* deleting nothing is fine */
    expect_s(db, NULL, "never-there", NULL);
    put_s(db, "banana", "back");                 /* put after delete */
    expect_s(db, NULL, "banana", "back");
    /* Keys are byte strings: a prefix is another key; embedded zero bytes work. */
    put_s(db, "app", "short");
    expect_s(db, NULL, "app", "short");
    expect_s(db, NULL, "apple", "green");
    expect_s(db, NULL, "ap", NULL);
    assert_int_equal(am_put(db, "z\0a", 3, "zero-a", 6), AM_OK);
    assert_int_equal(am_put(db, "z\0b", 3, "zero-b", 6), AM_OK);
    void *v = NULL;
    size_t vn = 0;
    assert_int_equal(am_get(db, NULL, "z\0a", 3, &v, &vn), AM_OK);
    assert_int_equal(vn, 6);
    assert_memory_equal(v, "zero-a", 6);
    am_free(v);
    expect_s(db, NULL, "z", NULL);

    /* The same answers from an SSTable, and after a reopen. */
    assert_int_equal(am_flush(db), AM_OK);
    expect_s(db, NULL, "apple", "green");
    expect_s(db, NULL, "banana", "back");
    expect_s(db, NULL, "missing", NULL);
    del_s(db, "apple");                          /* tombstone in memtable over an SST value */
    expect_s(db, NULL, "apple", NULL);
    must_close(db);
    db = tu_open(fx->dir, &fx->o);
    expect_s(db, NULL, "apple", NULL);
    expect_s(db, NULL, "banana", "back");
    expect_s(db, NULL, "app", "short");
    assert_int_equal(am_get(db, NULL, "z\0b", 3, &v, &vn), AM_OK);
    assert_memory_equal(v, "zero-b", 6);
    am_free(v);
    must_close(db);
}

static void test_get_into_and_empty_value(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    put_s(db, "k", "0123456789");
    assert_int_equal(am_put(db, "empty", 5, "", 0), AM_OK);
    assert_int_equal(am_put(db, "nullempty", 9, NULL, 0), AM_OK);
    for (int round = 0; round < 2; round++) {
        char buf[32];
        size_t vn = 0;
        memset(buf, '#', sizeof buf);
        assert_int_equal(am_get_into(db, NULL, "k", 1, buf, sizeof buf, &vn), AM_OK);
        assert_int_equal(vn, 10);
        assert_memory_equal(buf, "0123456789", 10);
        /* A short buffer gets a prefix and the full length; nothing past cap is touched. */
        memset(buf, '#', sizeof buf);
        assert_int_equal(am_get_into(db, NULL, "k", 1, buf, 4, &vn), AM_OK);
        assert_int_equal(vn, 10);
        assert_memory_equal(buf, "0123#", 5);
        /* cap 0 with no buffer asks for the length only. */
        vn = 0;
        assert_int_equal(am_get_into(db, NULL, "k", 1, NULL, 0, &vn), AM_OK);
        assert_int_equal(vn, 10);
        vn = 99;
        assert_int_equal(am_get_into(db, NULL, "nope", 4, buf, sizeof buf, &vn), AM_NOT_FOUND);
        /* Empty values exist and are distinct from missing keys. */
        vn = 99;
        assert_int_equal(am_get_into(db, NULL, "empty", 5, buf, sizeof buf, &vn), AM_OK);
        assert_int_equal(vn, 0);
        void *v = NULL;
        vn = 99;
        assert_int_equal(am_get(db, NULL, "empty", 5, &v, &vn), AM_OK);
        assert_int_equal(vn, 0);
        am_free(v);
        vn = 99;
        assert_int_equal(am_get(db, NULL, "nullempty", 9, &v, &vn), AM_OK);
        assert_int_equal(vn, 0);
        am_free(v);
        /* Iterators show the empty value too. */
        am_iter *it = am_iter_new(db, NULL);
        assert_non_null(it);
        am_iter_seek(it, "empty", 5);
        expect_at_s(it, "empty", "", "seek to the empty value");
        am_iter_free(it);
        assert_int_equal(am_flush(db), AM_OK);     /* round 2 reads from an SSTable */
    }
    must_close(db);
    db = tu_open(fx->dir, &fx->o);
    size_t vn = 99;
    assert_int_equal(am_get_into(db, NULL, "empty", 5, NULL, 0, &vn), AM_OK);
    assert_int_equal(vn, 0);
    must_close(db);
}

static void test_key_and_value_limits(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    size_t max = AM_MAX_KEY_BYTES;
    char *big = malloc(max + 1);
    assert_non_null(big);
    for (size_t i = 0; i < max + 1; i++) big[i] = (char)('a' + i % 26);
    big[max - 1] = 'X';                           /* the last byte matters */
    assert_int_equal(am_put(db, big, max, "maxkey", 6), AM_OK);
    uint64_t seq = stats(db).last_sequence;
    /* One byte more is refused and writes nothing. */
    assert_int_equal(am_put(db, big, max + 1, "x", 1), AM_ERR_INVALID);
    assert_int_equal(am_delete(db, big, max + 1), AM_ERR_INVALID);
    assert_int_equal(am_put(db, big, 0, "x", 1), AM_ERR_INVALID);   /* empty key */
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_put(b, big, max + 1, "x", 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_delete(b, big, max + 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_count(b), 0);
    /* A value over the limit is refused before it is read (the pointer is a small buffer). */
    assert_int_equal(am_put(db, "k", 1, big, (size_t)AM_MAX_VALUE_BYTES + 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_put(b, "k", 1, big, (size_t)AM_MAX_VALUE_BYTES + 1),
                     AM_ERR_INVALID);
    assert_int_equal(am_batch_count(b), 0);
    am_batch_free(b);
    assert_int_equal(stats(db).last_sequence, seq);
    void *v = NULL;
    size_t vn = 0;
    assert_int_equal(am_get(db, NULL, big, max + 1, &v, &vn), AM_ERR_INVALID);
    assert_null(v);

    /* The max key reads back, from the memtable, an SSTable, and after reopen; the key
       one byte shorter is a different key. */
    for (int round = 0; round < 3; round++) {
        assert_int_equal(am_get(db, NULL, big, max, &v, &vn), AM_OK);
        assert_int_equal(vn, 6);
        assert_memory_equal(v, "maxkey", 6);
        am_free(v);
        assert_int_equal(am_get(db, NULL, big, max - 1, &v, &vn), AM_NOT_FOUND);
        am_iter *it = am_iter_new(db, NULL);
        assert_non_null(it);
        am_iter_seek(it, big, max);
        expect_at(it, big, max, "maxkey", 6, "seek to the max key");
        am_iter_free(it);
        if (round == 0) assert_int_equal(am_flush(db), AM_OK);
        if (round == 1) {
            must_close(db);
            db = tu_open(fx->dir, &fx->o);
        }
    }
    assert_int_equal(am_delete(db, big, max), AM_OK);
    assert_int_equal(am_get(db, NULL, big, max, &v, &vn), AM_NOT_FOUND);
    /* A large value (several blocks, more than the memtable) round-trips. */
    size_t bigv = 200u << 10;
    char *val = malloc(bigv);
    assert_non_null(val);
    for (size_t i = 0; i < bigv; i++) val[i] = (char)(i * 7 + (i >> 9));
    assert_int_equal(am_put(db, "bigvalue", 8, val, bigv), AM_OK);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(am_get(db, NULL, "bigvalue", 8, &v, &vn), AM_OK);
        assert_int_equal(vn, bigv);
        assert_memory_equal(v, val, bigv);
        am_free(v);
        assert_int_equal(am_flush(db), AM_OK);
    }
    free(val);
    free(big);
    must_close(db);
}

static void record_seg(void *arg, const am_segment_info *s) { (void)s; (*(int *)arg)++; }

static void test_null_arguments(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    void *v = (void *)1;
    size_t vn = 0;
    char buf[8];
    am_stats st;
    assert_int_equal(am_put(NULL, "k", 1, "v", 1), AM_ERR_INVALID);
    assert_int_equal(am_put(db, NULL, 1, "v", 1), AM_ERR_INVALID);
    assert_int_equal(am_put(db, "k", 1, NULL, 1), AM_ERR_INVALID);
    assert_int_equal(am_delete(NULL, "k", 1), AM_ERR_INVALID);
    assert_int_equal(am_delete(db, NULL, 1), AM_ERR_INVALID);
    assert_int_equal(am_get(NULL, NULL, "k", 1, &v, &vn), AM_ERR_INVALID);
    v = (void *)1;
    assert_int_equal(am_get(db, NULL, NULL, 1, &v, &vn), AM_ERR_INVALID);
    assert_null(v);
    assert_int_equal(am_get(db, NULL, "k", 1, NULL, &vn), AM_ERR_INVALID);
    assert_int_equal(am_get(db, NULL, "k", 1, &v, NULL), AM_ERR_INVALID);
    assert_int_equal(am_get_into(NULL, NULL, "k", 1, buf, sizeof buf, &vn), AM_ERR_INVALID);
    assert_int_equal(am_get_into(db, NULL, NULL, 1, buf, sizeof buf, &vn), AM_ERR_INVALID);
    assert_int_equal(am_get_into(db, NULL, "k", 1, NULL, 4, &vn), AM_ERR_INVALID);
    assert_int_equal(am_get_into(db, NULL, "k", 1, buf, sizeof buf, NULL), AM_ERR_INVALID);
    assert_int_equal(am_write(NULL, NULL, 0), AM_ERR_INVALID);
    assert_int_equal(am_write(db, NULL, 0), AM_ERR_INVALID);
    assert_int_equal(am_batch_put(NULL, "k", 1, "v", 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_delete(NULL, "k", 1), AM_ERR_INVALID);
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_put(b, NULL, 1, "v", 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_put(b, "k", 1, NULL, 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_delete(b, NULL, 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_count(b), 0);
    assert_int_equal(am_write(NULL, b, 0), AM_ERR_INVALID);
    am_batch_free(b);
    am_batch_free(NULL);
    assert_int_equal(am_flush(NULL), AM_ERR_INVALID);
    assert_int_equal(am_compact(NULL), AM_ERR_INVALID);
    assert_int_equal(am_busy(NULL), 0);
    assert_int_equal(am_stats_get(NULL, &st), AM_ERR_INVALID);
    assert_int_equal(am_stats_get(db, NULL), AM_ERR_INVALID);
    int n = 0;
    assert_int_equal(am_segments(NULL, record_seg, &n), AM_ERR_INVALID);
    assert_int_equal(am_segments(db, NULL, &n), AM_ERR_INVALID);
    assert_null(am_snapshot_new(NULL));
    am_snapshot_release(db, NULL);
    am_snapshot_release(NULL, NULL);
    assert_null(am_iter_new(NULL, NULL));
    assert_int_equal(am_iter_valid(NULL), 0);
    assert_int_equal(am_iter_status(NULL), AM_ERR_INVALID);
    am_iter_free(NULL);
    am_free(NULL);
    assert_string_equal(am_errmsg(NULL), "");
    assert_int_equal(am_close(NULL), AM_OK);
    /* None of it wrote anything. */
    assert_int_equal(stats(db).last_sequence, 0);
    assert_int_equal(stats(db).user_puts, 0);
    must_close(db);
}

/* ---- batches ---- */

static void test_batches(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    put_s(db, "gone", "soon");
    put_s(db, "keep", "old");
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_count(b), 0);
    assert_int_equal(am_write(db, b, 0), AM_OK);          /* an empty batch is a no-op */
    uint64_t seq0 = stats(db).last_sequence;
    assert_int_equal(seq0, 2);
    assert_int_equal(am_batch_put(b, "a", 1, "1", 1), AM_OK);
    assert_int_equal(am_batch_put(b, "b", 1, "2", 1), AM_OK);
    assert_int_equal(am_batch_delete(b, "gone", 4), AM_OK);
    assert_int_equal(am_batch_put(b, "a", 1, "3", 1), AM_OK);    /* later record wins */
    assert_int_equal(am_batch_put(b, "c", 1, "x", 1), AM_OK);
    assert_int_equal(am_batch_delete(b, "c", 1), AM_OK);          /* put then delete */
    assert_int_equal(am_batch_count(b), 6);
    /* A refused record leaves the batch as it was. */
    assert_int_equal(am_batch_put(b, "", 0, "x", 1), AM_ERR_INVALID);
    assert_int_equal(am_batch_count(b), 6);
    const am_snapshot *before = am_snapshot_new(db);
    assert_non_null(before);
    assert_int_equal(am_write(db, b, 0), AM_OK);
    assert_int_equal(stats(db).last_sequence, seq0 + 6);    /* one sequence per record */
    expect_s(db, NULL, "a", "3");
    expect_s(db, NULL, "b", "2");
    expect_s(db, NULL, "c", NULL);
    expect_s(db, NULL, "gone", NULL);
    expect_s(db, NULL, "keep", "old");
    /* All or nothing for a reader: a snapshot before sees none of it. */
    expect_s(db, before, "a", NULL);
    expect_s(db, before, "b", NULL);
    expect_s(db, before, "gone", "soon");
    am_snapshot_release(db, before);
    /* The batch is not consumed: writing it again is the same change again; clear makes
       it reusable. */
    assert_int_equal(am_write(db, b, 1), AM_OK);
    expect_s(db, NULL, "a", "3");
    am_batch_clear(b);
    assert_int_equal(am_batch_count(b), 0);
    assert_int_equal(am_batch_put(b, "keep", 4, "new", 3), AM_OK);
    assert_int_equal(am_write(db, b, 0), AM_OK);
    expect_s(db, NULL, "keep", "new");
    /* A large batch (more than a memtable) applies whole, across reopen. */
    am_batch_clear(b);
    char k[32], v[200];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "bulk%05d", i);
        assert_int_equal(am_batch_put(b, k, strlen(k), v, sizeof v), AM_OK);
    }
    assert_int_equal(am_write(db, b, 0), AM_OK);
    am_batch_free(b);
    must_close(db);
    db = tu_open(fx->dir, &fx->o);
    expect_s(db, NULL, "a", "3");
    expect_s(db, NULL, "gone", NULL);
    expect_s(db, NULL, "keep", "new");
    for (int i = 0; i < 1000; i += 37) {
        snprintf(k, sizeof k, "bulk%05d", i);
        void *got = NULL;
        size_t gn = 0;
        assert_int_equal(am_get(db, NULL, k, strlen(k), &got, &gn), AM_OK);
        assert_int_equal(gn, sizeof v);
        am_free(got);
    }
    must_close(db);
}

/* ---- snapshots ---- */

static void keyname(char *buf, size_t cap, int i) { snprintf(buf, cap, "key%04d", i); }

static void test_snapshots(void **state)
{
    fixture *fx = *state;
    fx->o.l0_compaction_trigger = 2;          /* so flushes lead to merges quickly */
    am_db *db = tu_open(fx->dir, &fx->o);
    enum { N = 300 };
    char k[32], v[64];
    for (int i = 0; i < N; i++) {
        keyname(k, sizeof k, i);
        snprintf(v, sizeof v, "one-%d", i);
        put_s(db, k, v);
    }
    const am_snapshot *s1 = am_snapshot_new(db);
    assert_non_null(s1);
    /* Overwrite and delete in the same memtable as the old values: a flush must keep the
       versions s1 needs. */
    for (int i = 0; i < N; i++) {
        keyname(k, sizeof k, i);
        if (i % 4 == 0) del_s(db, k);
        else if (i % 2 == 0) {
            snprintf(v, sizeof v, "two-%d", i);
            put_s(db, k, v);
        }
    }
    const am_snapshot *s2 = am_snapshot_new(db);
    assert_int_equal(am_flush(db), AM_OK);
    for (int i = 0; i < N; i += 3) {
        keyname(k, sizeof k, i);
        snprintf(v, sizeof v, "three-%d", i);
        put_s(db, k, v);
    }
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_compact(db), AM_OK);
    am_stats st = stats(db);
    if (st.compactions == 0) fail_msg("no compaction ran; the test checks nothing");
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            char w1[64], w2[64], w3[64];
            keyname(k, sizeof k, i);
            snprintf(w1, sizeof w1, "one-%d", i);
            expect_s(db, s1, k, w1);
            const char *want2 = w1;
            if (i % 4 == 0) want2 = NULL;
            else if (i % 2 == 0) { snprintf(w2, sizeof w2, "two-%d", i); want2 = w2; }
            expect_s(db, s2, k, want2);
            const char *want3 = want2;
            if (i % 3 == 0) { snprintf(w3, sizeof w3, "three-%d", i); want3 = w3; }
            expect_s(db, NULL, k, want3);
        }
        /* An iterator through s1 sees exactly the first generation. */
        am_iter *it = am_iter_new(db, s1);
        assert_non_null(it);
        int i = 0;
        for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it), i++) {
            keyname(k, sizeof k, i);
            snprintf(v, sizeof v, "one-%d", i);
            expect_at_s(it, k, v, "s1 iterator");
        }
        assert_int_equal(am_iter_status(it), AM_OK);
        assert_int_equal(i, N);
        am_iter_free(it);
        /* Through s2: the deleted keys are gone. */
        it = am_iter_new(db, s2);
        int count = 0;
        for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it)) count++;
        assert_int_equal(count, N - (N + 3) / 4);
        am_iter_free(it);
        /* More churn: rewrite everything twice, flushing and compacting, then check again. */
        for (int rep = 0; rep < 2; rep++) {
            for (int j = 0; j < N; j++) {
                keyname(k, sizeof k, j);
                snprintf(v, sizeof v, "%s-%d", j % 3 == 0 ? "three" : "tmp", j);
                if (j % 3 == 0 || j % 4 != 0) put_s(db, k, v);
            }
            assert_int_equal(am_flush(db), AM_OK);
        }
        for (int j = 0; j < N; j++) {
            if (j % 3 == 0 || j % 4 == 0) continue;
            keyname(k, sizeof k, j);
            snprintf(v, sizeof v, "%s%d", j % 2 == 0 ? "two-" : "one-", j);
            put_s(db, k, v);
        }
        assert_int_equal(am_compact(db), AM_OK);
        assert_true(stats(db).compactions > st.compactions);
    }
    am_snapshot_release(db, s2);
    am_snapshot_release(db, s1);
    /* Released snapshots let old versions go; the latest values stay. */
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_compact(db), AM_OK);
    for (int i = 0; i < N; i++) {
        char w[64];
        keyname(k, sizeof k, i);
        if (i % 3 == 0) snprintf(w, sizeof w, "three-%d", i);
        else if (i % 4 == 0) { expect_s(db, NULL, k, NULL); continue; }
        else snprintf(w, sizeof w, "%s%d", i % 2 == 0 ? "two-" : "one-", i);
        expect_s(db, NULL, k, w);
    }
    must_close(db);
}

/* A snapshot is not affected by writes made while an iterator is open either: an iterator
 * without snapshot sees the database as of its creation. */
static void test_iterator_is_a_snapshot(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    put_s(db, "a", "1");
    put_s(db, "c", "3");
    am_iter *it = am_iter_new(db, NULL);
    assert_non_null(it);
    put_s(db, "b", "2");
    del_s(db, "c");
    put_s(db, "a", "changed");
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_compact(db), AM_OK);
    am_iter_seek_first(it);
    expect_at_s(it, "a", "1", "iterator made before the writes");
    am_iter_next(it);
    expect_at_s(it, "c", "3", "iterator made before the writes");
    am_iter_next(it);
    assert_false(am_iter_valid(it));
    assert_int_equal(am_iter_status(it), AM_OK);
    am_iter_free(it);
    must_close(db);
}

/* ---- iterators ---- */

enum { IT_N = 400 };

/* Reference of the iterator test: value of key i or NULL. */
typedef struct itref {
    char val[IT_N][32];
    int live[IT_N];
} itref;

static void ref_put(am_db *db, itref *r, int i, const char *tag)
{
    char k[32];
    keyname(k, sizeof k, i);
    snprintf(r->val[i], sizeof r->val[i], "%s-%d", tag, i);
    r->live[i] = 1;
    put_s(db, k, r->val[i]);
}

static void ref_del(am_db *db, itref *r, int i)
{
    char k[32];
    keyname(k, sizeof k, i);
    r->live[i] = 0;
    del_s(db, k);
}

/* Scans from seek (NULL: first) for at most max keys, checking against r. */
static void check_scan(am_db *db, const itref *r, const char *seek, int from, int max)
{
    char ctx[64];
    snprintf(ctx, sizeof ctx, "seek %s", seek ? seek : "(first)");
    am_iter *it = am_iter_new(db, NULL);
    assert_non_null(it);
    if (seek) am_iter_seek(it, seek, strlen(seek));
    else am_iter_seek_first(it);
    int i = from, seen = 0;
    for (; seen < max; seen++) {
        while (i < IT_N && !r->live[i]) i++;
        if (i == IT_N) break;
        char k[32];
        keyname(k, sizeof k, i);
        expect_at_s(it, k, r->val[i], ctx);
        am_iter_next(it);
        i++;
    }
    if (seen < max) {
        assert_false(am_iter_valid(it));
        assert_int_equal(am_iter_status(it), AM_OK);
    }
    am_iter_free(it);
}

static void check_all_seeks(am_db *db, const itref *r)
{
    check_scan(db, r, NULL, 0, IT_N + 1);
    check_scan(db, r, "", 0, 5);               /* empty seek key: the first key */
    check_scan(db, r, "a", 0, 5);              /* before the first key */
    check_scan(db, r, "zzz", IT_N, 5);          /* after the last: invalid at once */
    for (int i = 0; i < IT_N; i += 7) {
        char k[40];
        keyname(k, sizeof k, i);
        check_scan(db, r, k, i, 6);             /* exactly a key (live or deleted) */
        strcat(k, "x");
        check_scan(db, r, k, i + 1, 3);         /* between two keys */
    }
}

static void test_iterators(void **state)
{
    fixture *fx = *state;
    fx->o.block_bytes = 256;
    am_db *db = tu_open(fx->dir, &fx->o);
    static itref r;
    memset(&r, 0, sizeof r);
    check_all_seeks(db, &r);                    /* empty database */
    for (int i = 0; i < IT_N; i++) ref_put(db, &r, i, "a");
    assert_int_equal(am_flush(db), AM_OK);      /* SST 1 */
    for (int i = 0; i < IT_N; i++) {
        if (i % 3 == 0) ref_del(db, &r, i);
        else if (i % 5 == 0) ref_put(db, &r, i, "b");
    }
    for (int i = 0; i < 20; i++) ref_del(db, &r, i);        /* a deleted head */
    for (int i = IT_N - 20; i < IT_N; i++) ref_del(db, &r, i); /* and tail */
    assert_int_equal(am_flush(db), AM_OK);      /* SST 2: tombstones over SST 1 */
    for (int i = 0; i < IT_N; i++) {
        if (i % 7 == 0) ref_put(db, &r, i, "c");  /* revives some deleted keys */
        else if (i % 11 == 0) ref_del(db, &r, i);
    }
    check_all_seeks(db, &r);                    /* memtable over two SSTables */
    assert_int_equal(am_flush(db), AM_OK);
    for (int i = 0; i < IT_N; i += 13) ref_put(db, &r, i, "d");
    check_all_seeks(db, &r);
    assert_int_equal(am_compact(db), AM_OK);
    check_all_seeks(db, &r);
    for (int i = 0; i < IT_N; i++) if (i % 2) ref_del(db, &r, i);
    assert_int_equal(am_flush(db), AM_OK);      /* the fourth flush: leads to a merge */
    assert_int_equal(am_compact(db), AM_OK);
    assert_true(stats(db).compactions > 0);
    check_all_seeks(db, &r);
    must_close(db);
    db = tu_open(fx->dir, &fx->o);
    check_all_seeks(db, &r);
    /* Everything deleted: nothing to iterate. */
    for (int i = 0; i < IT_N; i++) if (r.live[i]) ref_del(db, &r, i);
    check_all_seeks(db, &r);
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_compact(db), AM_OK);
    check_all_seeks(db, &r);
    must_close(db);
}

/* ---- flush, compact, stats, segments ---- */

typedef struct seglist {
    int n;
    am_segment_info s[256];
    char keys[256][2][64];
} seglist;

static void collect_seg(void *arg, const am_segment_info *seg)
{
    seglist *l = arg;
    assert_true(l->n < 256);
    l->s[l->n] = *seg;
    assert_true(seg->smallest_len < 64 && seg->largest_len < 64);
    memcpy(l->keys[l->n][0], seg->smallest, seg->smallest_len);
    memcpy(l->keys[l->n][1], seg->largest, seg->largest_len);
    l->s[l->n].smallest = l->keys[l->n][0];
    l->s[l->n].largest = l->keys[l->n][1];
    l->n++;
}

static int ukey_cmp3(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* Checks am_segments against am_stats and the files on disk; returns the list. */
static void check_segments(am_db *db, const char *dir, seglist *l)
{
    memset(l, 0, sizeof *l);
    assert_int_equal(am_segments(db, collect_seg, l), AM_OK);
    am_stats st = stats(db);
    assert_int_equal(l->n, st.live_sst_files);
    uint64_t bytes = 0, entries = 0, lf[8] = { 0 };
    for (int i = 0; i < l->n; i++) {
        const am_segment_info *s = &l->s[i];
        char path[512];
        struct stat sb;
        assert_true(s->level >= 0 && s->level < 8);
        if (i > 0) assert_true(s->level >= l->s[i - 1].level);    /* level by level */
        assert_true(ukey_cmp3(s->smallest, s->smallest_len, s->largest, s->largest_len) <= 0);
        assert_true(s->entries > 0);
        assert_true(s->deletions <= s->entries);
        snprintf(path, sizeof path, "%s/%06llu.sst", dir, (unsigned long long)s->id);
        if (stat(path, &sb) != 0) fail_msg("segment %s is not on disk", path);
        assert_int_equal((uint64_t)sb.st_size, s->bytes);
        for (int j = 0; j < i; j++) assert_true(l->s[j].id != s->id);
        /* Inside one run, ranges do not overlap. */
        for (int j = 0; j < i; j++) {
            const am_segment_info *o = &l->s[j];
            if (o->level != s->level || o->run != s->run) continue;
            int disjoint = ukey_cmp3(o->largest, o->largest_len, s->smallest, s->smallest_len) < 0 ||
                           ukey_cmp3(s->largest, s->largest_len, o->smallest, o->smallest_len) < 0;
            if (!disjoint) fail_msg("segments %llu and %llu of L%d run %llu overlap",
                                    (unsigned long long)o->id, (unsigned long long)s->id,
                                    s->level, (unsigned long long)s->run);
        }
        bytes += s->bytes;
        entries += s->entries;
        lf[s->level]++;
    }
    assert_int_equal(bytes, st.live_sst_bytes);
    assert_int_equal(entries, st.live_entries);
    for (int lv = 0; lv < 8; lv++) assert_int_equal(lf[lv], st.level_files[lv]);
}

/* Write pressure per segment: a flush charges each older segment the user writes that land
 * in its key range (what an adaptive strategy reads), exactly, and none outside it. */
typedef struct seg_list { int n; uint64_t id[16], writes[16]; } seg_list;

static void collect_writes(void *arg, const am_segment_info *s)
{
    seg_list *l = arg;
    if (l->n < 16) {
        l->id[l->n] = s->id;
        l->writes[l->n] = s->writes;
        l->n++;
    }
}

static void test_write_charging(void **state)
{
    tu_fixture *f = *state;
    am_options o = f->o;                     /* inline: nothing moves behind the test */
    o.l0_compaction_trigger = 100;
    am_db *db = tu_open(f->dir, &o);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        int kn = snprintf(k, sizeof k, "k%05d", i);
        assert_int_equal(am_put(db, k, (size_t)kn, "v", 1), AM_OK);
    }
    assert_int_equal(am_flush(db), AM_OK);     /* segment A: k00000 .. k00999 */
    for (int i = 100; i < 400; i++) {          /* 300 writes inside A's range */
        int kn = snprintf(k, sizeof k, "k%05d", i);
        assert_int_equal(am_put(db, k, (size_t)kn, "w", 1), AM_OK);
    }
    for (int i = 0; i < 50; i++) {             /* 50 outside it */
        int kn = snprintf(k, sizeof k, "z%05d", i);
        assert_int_equal(am_put(db, k, (size_t)kn, "w", 1), AM_OK);
    }
    assert_int_equal(am_flush(db), AM_OK);     /* charges A while writing segment B */
    seg_list l = { 0 };
    assert_int_equal(am_segments(db, collect_writes, &l), AM_OK);
    assert_int_equal(l.n, 2);
    uint64_t a = l.id[0] < l.id[1] ? 0 : 1;    /* A is the older file */
    assert_int_equal(l.writes[a], 300);
    assert_int_equal(l.writes[1 - a], 0);
    assert_int_equal(am_close(db), AM_OK);
}

/* The number of files in dir whose names end in suffix. */
static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    size_t m = strlen(suffix);
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        size_t l = strlen(de->d_name);
        if (l > m && strcmp(de->d_name + l - m, suffix) == 0) n++;
    }
    closedir(d);
    return n;
}

/* A flush retires its memtable's log even when many file numbers (here a merge's ~70
 * outputs) were handed out between that log and the next one: the log must not stay on
 * disk until the next open. */
static void test_flushed_logs_are_removed(void **state)
{
    tu_fixture *f = *state;
    am_options o = f->o;                     /* inline, 64 KiB memtables and files */
    o.l0_compaction_trigger = 1;
    o.l1_target_bytes = (size_t)1 << 30;     /* everything stays in L1 */
    am_db *db = tu_open(f->dir, &o);
    char k[32], v[1000];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 4500; i++) {         /* sequential: L0 files move to L1 whole */
        int kn = snprintf(k, sizeof k, "k%06d", i);
        assert_int_equal(am_put(db, k, (size_t)kn, v, sizeof v), AM_OK);
    }
    assert_int_equal(am_flush(db), AM_OK);
    /* One L0 file over the whole range: the flush after the next switch merges all L1. */
    assert_int_equal(am_put(db, "k000000", 7, "a", 1), AM_OK);
    assert_int_equal(am_put(db, "k004499", 7, "z", 1), AM_OK);
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_put(db, "k000001", 7, "b", 1), AM_OK);
    assert_int_equal(am_flush(db), AM_OK);   /* retires the log opened by the last flush */
    assert_int_equal(count_suffix(f->dir, ".log"), 1);
    assert_int_equal(am_close(db), AM_OK);
}

static void test_flush_compact_stats_segments(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    am_stats st = stats(db);
    assert_int_equal(st.user_bytes_written, 0);
    assert_int_equal(st.flushes, 0);
    assert_int_equal(st.live_sst_files, 0);
    char k[32], v[64];
    uint64_t ub = 0;
    for (int i = 0; i < 100; i++) {
        keyname(k, sizeof k, i);
        snprintf(v, sizeof v, "value-%d-%s", i, "padding-padding");
        put_s(db, k, v);
        ub += strlen(k) + strlen(v);
    }
    for (int i = 0; i < 10; i++) {
        keyname(k, sizeof k, i * 10);
        del_s(db, k);
        ub += strlen(k);
    }
    st = stats(db);
    assert_int_equal(st.user_bytes_written, ub);
    assert_int_equal(st.user_puts, 100);
    assert_int_equal(st.user_deletes, 10);
    assert_int_equal(st.user_batches, 110);
    assert_int_equal(st.wal_appends, 110);      /* one thread: no grouping */
    assert_true(st.wal_bytes > ub);
    assert_int_equal(st.last_sequence, 110);
    assert_int_equal(st.flushes, 0);
    assert_true(st.memtable_bytes > ub);
    /* A get from the memtable probes no segment. */
    expect_s(db, NULL, "key0001", "value-1-padding-padding");
    st = stats(db);
    assert_int_equal(st.segments_probed, 0);
    assert_int_equal(st.point_lookups, 1);
    assert_int_equal(st.lookups_found, 1);

    assert_int_equal(am_flush(db), AM_OK);
    st = stats(db);
    assert_int_equal(st.flushes, 1);
    assert_true(st.flush_bytes_written > 0);
    assert_int_equal(st.live_sst_files, 1);
    assert_int_equal(st.level_files[0], 1);
    /* 90 live puts and 10 tombstones: the puts the tombstones shadow in the same memtable
       are dropped by the flush (no snapshot needs them). */
    assert_int_equal(st.live_entries, 100);
    assert_int_equal(st.frozen_memtables, 0);
    /* Flushing an empty memtable makes no file. */
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(stats(db).flushes, 1);
    assert_int_equal(stats(db).live_sst_files, 1);

    /* A hit in the SSTable probes it once; a key outside every range probes nothing. */
    uint64_t probed = stats(db).segments_probed;
    expect_s(db, NULL, "key0005", "value-5-padding-padding");
    assert_int_equal(stats(db).segments_probed, probed + 1);
    expect_s(db, NULL, "zzz", NULL);
    expect_s(db, NULL, "a", NULL);
    assert_int_equal(stats(db).segments_probed, probed + 1);
    expect_s(db, NULL, "key0010", NULL);           /* a tombstone is found and searched */
    assert_int_equal(stats(db).segments_probed, probed + 2);
    st = stats(db);
    assert_int_equal(st.point_lookups, 5);
    assert_int_equal(st.lookups_found, 2);
    assert_true(st.blocks_read_cache + st.blocks_read_disk >= 2);

    seglist *l = calloc(1, sizeof *l);
    assert_non_null(l);
    check_segments(db, fx->dir, l);
    assert_int_equal(l->n, 1);
    assert_int_equal(l->s[0].level, 0);
    assert_int_equal(l->s[0].entries, 100);
    assert_int_equal(l->s[0].deletions, 10);
    assert_memory_equal(l->s[0].smallest, "key0000", 7);
    assert_memory_equal(l->s[0].largest, "key0099", 7);

    /* More flushes of overlapping keys: L0 fills and the strategy merges. */
    for (int f = 0; f < 5; f++) {
        for (int i = 0; i < 100; i++) {
            keyname(k, sizeof k, i * 3 + f);
            snprintf(v, sizeof v, "v%d-%d", f, i);
            put_s(db, k, v);
        }
        assert_int_equal(am_flush(db), AM_OK);
    }
    assert_int_equal(am_compact(db), AM_OK);
    st = stats(db);
    assert_int_equal(st.flushes, 6);
    if (st.compactions == 0) fail_msg("6 flushes with l0_compaction_trigger 4 and no merge");
    assert_true(st.compaction_bytes_read > 0);
    assert_true(st.compaction_bytes_written > 0);
    assert_true(st.level_files[0] < 4);
    assert_false(am_busy(db));
    check_segments(db, fx->dir, l);
    /* Every key written lies in some segment's range. */
    for (int i = 0; i < 400; i++) {
        keyname(k, sizeof k, i);
        int in = 0;
        for (int s = 0; s < l->n && !in; s++)
            in = ukey_cmp3(l->s[s].smallest, l->s[s].smallest_len, k, strlen(k)) <= 0 &&
                 ukey_cmp3(k, strlen(k), l->s[s].largest, l->s[s].largest_len) <= 0;
        if (!in && i <= 3 * 99 + 4) fail_msg("key %s is in no segment's range", k);
    }
    /* am_compact again with nothing to do changes nothing. */
    uint64_t c = st.compactions;
    assert_int_equal(am_compact(db), AM_OK);
    assert_int_equal(stats(db).compactions, c);
    /* Lookups charge the segments they probe. */
    uint64_t reads_before = 0, reads_after = 0;
    for (int s = 0; s < l->n; s++) reads_before += l->s[s].reads;
    for (int i = 0; i < 50; i++) {
        keyname(k, sizeof k, i * 5);
        void *got = NULL;
        size_t gn;
        int rc = am_get(db, NULL, k, strlen(k), &got, &gn);
        assert_true(rc == AM_OK || rc == AM_NOT_FOUND);
        am_free(got);
    }
    check_segments(db, fx->dir, l);
    for (int s = 0; s < l->n; s++) reads_after += l->s[s].reads;
    assert_true(reads_after > reads_before);
    assert_int_equal(reads_after - reads_before, stats(db).segments_probed - st.segments_probed);
    /* Reopen keeps the segments (ids, levels, ranges). */
    int n_before = l->n;
    uint64_t ids[256];
    for (int s = 0; s < l->n; s++) ids[s] = l->s[s].id;
    must_close(db);
    db = tu_open(fx->dir, &fx->o);
    check_segments(db, fx->dir, l);
    assert_int_equal(l->n, n_before);
    for (int s = 0; s < l->n; s++) assert_int_equal(l->s[s].id, ids[s]);
    free(l);
    must_close(db);
}

/* ---- reopen ---- */

static void reopen_round(fixture *fx, int bg)
{
    fx->o.background_threads = bg;
    char k[32], v[128];
    am_db *db = tu_open(fx->dir, &fx->o);
    /* About 5 memtables' worth: several flushes, merges, and a memtable left unflushed. */
    for (int i = 0; i < 3000; i++) {
        keyname(k, sizeof k, i % 1000);
        snprintf(v, sizeof v, "gen%d-%d-%080d", i / 1000, i % 1000, i);
        put_s(db, k, v);
    }
    for (int i = 0; i < 1000; i += 9) {
        keyname(k, sizeof k, i);
        del_s(db, k);
    }
    must_close(db);
    for (int round = 0; round < 2; round++) {
        db = tu_open(fx->dir, &fx->o);
        for (int i = 0; i < 1000; i++) {
            keyname(k, sizeof k, i);
            snprintf(v, sizeof v, "gen2-%d-%080d", i, 2000 + i);
            expect_s(db, NULL, k, i % 9 == 0 ? NULL : v);
        }
        am_stats st = stats(db);
        assert_int_equal(st.last_sequence, 3000 + 112);   /* sequences survive too */
        if (bg) {
            /* Background work drains and leaves a sane tree. */
            assert_int_equal(am_compact(db), AM_OK);
        }
        must_close(db);
    }
    tu_rmtree(fx->dir);
}

static void test_reopen_keeps_everything(void **state)
{
    fixture *fx = *state;
    reopen_round(fx, 0);
    reopen_round(fx, 1);
    reopen_round(fx, 2);
}

/* ---- strerror ---- */

static void test_strerror_every_status(void **state)
{
    (void)state;
    static const struct { int status; const char *text; } all[] = {
#define AM_STATUS_ROW(name, value, text) { name, text },
        AM_STATUS_LIST(AM_STATUS_ROW)
#undef AM_STATUS_ROW
    };
    size_t n = sizeof all / sizeof all[0];
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        const char *s = am_strerror(all[i].status);
        assert_non_null(s);
        assert_string_equal(s, all[i].text);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown status");
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(all[i].status, all[j].status);
            assert_string_not_equal(s, am_strerror(all[j].status));
        }
    }
    assert_string_equal(am_strerror(AM_OK), "ok");
    assert_string_equal(am_strerror(AM_ERR_NOSPACE), "no space left on device");
    static const int unknown[] = { 2, 42, -9, -100, 1000000, -2147483647 - 1 };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_string_equal(am_strerror(unknown[i]), "unknown status");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_create_reopen),
        T(test_open_missing_without_create),
        T(test_open_twice_busy),
        T(test_open_refuses_orphan_files),
        T(test_failed_open_leaves_no_lock),
        T(test_options_out_of_range),
        cmocka_unit_test(test_options_resolve),
        T(test_put_get_delete_overwrite),
        T(test_get_into_and_empty_value),
        T(test_key_and_value_limits),
        T(test_null_arguments),
        T(test_batches),
        T(test_snapshots),
        T(test_iterator_is_a_snapshot),
        T(test_iterators),
        T(test_flush_compact_stats_segments),
        T(test_write_charging),
        T(test_flushed_logs_are_removed),
        T(test_reopen_keeps_everything),
        cmocka_unit_test(test_strerror_every_status),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
