/* test_recovery.c: what am_open proves before it trusts what it recovered, and what it
 * refuses (docs/format.md, "Recovery"):
 *   - a MANIFEST that lost whole trailing records (cut at a record boundary, torn inside
 *     its last record, or with a flipped length in the first edit after the snapshot of a
 *     database never reopened) is refused with AM_ERR_CORRUPT naming the missing log, the
 *     files that show the lost edits and amethyst_repair, and nothing is deleted;
 *   - the states a kill -9 leaves open with everything: a new log (empty or zero-filled)
 *     created before the edit naming it, an unfinished flush
 *     output, a flush edit lost from the MANIFEST while its log is still there;
 *   - a log whose checksum-valid records repeat or go back in sequence (a record repeated,
 *     or copied in later, in one log or across two, or after the replay flushed a
 *     memtable) is refused with AM_ERR_CORRUPT naming the log and the record's offset,
 *     never an abort; an empty batch takes no sequence and is fine.
 * (Edits that break an invariant: test_manifest_edits.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"
#include "testutil_recovery.h"
#include "util/env.h"
#include "util/env_fault.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "version/fname.h"
#include "version/vset.h"

typedef tu_fixture fixture;

/* One big memtable, merges never triggered, everything inline: the MANIFEST holds
 * exactly the edits a test makes. */
static int setup(void **state)
{
    tu_setup(state);
    fixture *fx = *state;
    tu_small_options(&fx->o, 0);
    fx->o.memtable_bytes = 1u << 20;
    fx->o.l0_compaction_trigger = 100;
    return 0;
}

/* ---- files ---- */

static void manifest_path(const fixture *fx, char *out, size_t cap)
{
    tu_find_last(fx->dir, "MANIFEST-", 0, out, cap);
}

static void truncate_to(const char *path, uint64_t n)
{
    assert_int_equal(truncate(path, (off_t)n), 0);
}

/* The open must be refused, naming every string of want, and change nothing. */
static void expect_refused(const fixture *fx, const char *const *want, const char *ctx)
{
    tu_open_refused(fx->dir, &fx->o, want, 0, ctx);
}

/* ---- a MANIFEST that lost its last records ---- */

static void test_manifest_cut_at_record_boundary(void **state)
{
    fixture *fx = *state;
    char sst[512], mf[512];
    tu_two_flushes(fx->dir, &fx->o, sst, sizeof sst);
    manifest_path(fx, mf, sizeof mf);
    uint64_t offs[16];
    size_t n = tu_record_offsets(mf, offs, 16, NULL);
    assert_true(n >= 3);
    truncate_to(mf, offs[n - 1]);
    const char *want[] = { tu_base_name(mf), "missing", tu_base_name(sst), "amethyst_repair",
                           fx->dir, NULL };
    expect_refused(fx, want, "MANIFEST cut before its last record");
    /* The file that holds "new" is still there; restoring nothing else, it stays refused. */
    assert_true(tu_file_exists(sst));
    expect_refused(fx, want, "the same, a second time");
}

static void test_manifest_torn_in_last_record(void **state)
{
    fixture *fx = *state;
    static const int into[] = { 4, 9, 12 };     /* bytes into the last record */
    for (size_t c = 0; c < sizeof into / sizeof into[0]; c++) {
        char sst[512], mf[512], ctx[64];
        tu_two_flushes(fx->dir, &fx->o, sst, sizeof sst);
        manifest_path(fx, mf, sizeof mf);
        uint64_t offs[16];
        size_t n = tu_record_offsets(mf, offs, 16, NULL);
        truncate_to(mf, offs[n - 1] + (uint64_t)into[c]);
        snprintf(ctx, sizeof ctx, "MANIFEST torn %d bytes into its last record", into[c]);
        const char *want[] = { tu_base_name(mf), tu_base_name(sst), "amethyst_repair", NULL };
        expect_refused(fx, want, ctx);
    }
}

/* A database never reopened: its MANIFEST is the creation's snapshot (log number 0), the
 * first open's edit, then the flushes. A flipped high byte in the length of the record
 * after the snapshot makes it run past the end of the file: a torn tail, and the
 * recovered state is the empty snapshot. Whatever was written since must not vanish. */
static void test_manifest_length_flip_after_first_snapshot(void **state)
{
    fixture *fx = *state;
    for (int flushed = 1; flushed >= 0; flushed--) {
        tu_rmtree(fx->dir);
        am_db *db = tu_open(fx->dir, &fx->o);
        tu_put_500(db, "old");
        if (flushed) assert_int_equal(am_flush(db), AM_OK);
        assert_int_equal(am_close(db), AM_OK);
        char mf[512], evidence[512];
        manifest_path(fx, mf, sizeof mf);
        assert_string_equal(tu_base_name(mf), "MANIFEST-000001");   /* never reopened */
        uint64_t offs[16];
        size_t n = tu_record_offsets(mf, offs, 16, NULL);
        assert_true(n >= 2);
        tu_flip_byte(mf, (size_t)offs[1] + 7, 0x40);
        /* The flush's SSTable, or the log holding every write. */
        tu_find_last(fx->dir, flushed ? ".sst" : ".log", 1, evidence, sizeof evidence);
        const char *want[] = { "MANIFEST-000001", "log number 0", tu_base_name(evidence),
                               "amethyst_repair", NULL };
        expect_refused(fx, want, flushed ? "length flip, data flushed"
                                         : "length flip, data in the log");
    }
}

/* ---- what a kill -9 leaves: no false refusal ---- */

/* A first open killed after creating its log, before the edit that names it: the
 * directory holds the creation's MANIFEST (log number 0), CURRENT and the new log. */
static void test_first_open_killed_after_creating_the_log(void **state)
{
    fixture *fx = *state;
    static const char *const what[] = { "empty", "zero-filled" };
    for (int c = 0; c < 2; c++) {
        tu_rmtree(fx->dir);
        assert_int_equal(mkdir(fx->dir, 0755), 0);
        vset *vs = NULL;
        assert_int_equal(vset_create(fx->posix, fx->dir, NULL, "leveled", &vs), AM_OK);
        vset_state st = vset_get_state(vs);
        vset_free(vs);
        char log[512];
        fname_wal(log, sizeof log, fx->dir, st.next_file);
        size_t n = c == 0 ? 0 : 1u << 20;      /* a mapped log reserves 1 MiB of zeros */
        char *bytes = calloc(1, n ? n : 1);
        tu_write_file(log, bytes, n);
        free(bytes);
        char msg[512] = "";
        am_db *db = NULL;
        int rc = am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg);
        if (rc != AM_OK)
            fail_msg("new log %s: open refused: %s (%s)", what[c], am_strerror(rc), msg);
        tu_expect_str(db, "key0000", NULL, what[c]);
        tu_put_500(db, "x");
        assert_int_equal(am_close(db), AM_OK);
        assert_false(tu_file_exists(log));     /* replayed (nothing) and retired */
        db = tu_open(fx->dir, &fx->o);
        tu_expect_500(db, "x", what[c]);
        assert_int_equal(am_close(db), AM_OK);
    }
}

/* A reopen killed after creating its log and while writing the replayed memtable out: a
 * zero-filled log above the log number and an SSTable no edit names. Both go; nothing is
 * lost. */
static void test_reopen_killed_while_replaying(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    tu_put_500(db, "old");
    assert_int_equal(am_flush(db), AM_OK);
    tu_put_str(db, "key0000", "new");             /* in the log only */
    assert_int_equal(am_close(db), AM_OK);
    char sst[512], stray_log[512], stray_sst[512];
    tu_find_last(fx->dir, ".sst", 1, sst, sizeof sst);
    unsigned long long top = strtoull(tu_base_name(sst), NULL, 10);
    char mf[512];
    manifest_path(fx, mf, sizeof mf);
    unsigned long long m = strtoull(tu_base_name(mf) + 9, NULL, 10);
    if (m > top) top = m;
    fname_wal(stray_log, sizeof stray_log, fx->dir, top + 1);
    fname_sst(stray_sst, sizeof stray_sst, fx->dir, top + 2);
    char *zeros = calloc(1, 1u << 20);
    tu_write_file(stray_log, zeros, 1u << 20);
    free(zeros);
    size_t n;
    char *copy = tu_read_file(sst, &n);      /* a finished SSTable no edit names */
    tu_write_file(stray_sst, copy, n);
    free(copy);
    db = tu_open(fx->dir, &fx->o);
    tu_expect_500(db, "new", "after a reopen killed while replaying");
    assert_int_equal(am_close(db), AM_OK);
    assert_false(tu_file_exists(stray_log));
    assert_false(tu_file_exists(stray_sst));
}

/* A flush edit durable, the process killed before it removed the log the edit retired,
 * and that edit since lost from the MANIFEST: the log still holds everything, so the
 * shorter state is complete and opens (the flush's SSTable is garbage). */
static void test_lost_flush_edit_with_its_log_still_there(void **state)
{
    fixture *fx = *state;
    am_db *db = tu_open(fx->dir, &fx->o);
    tu_put_500(db, "old");
    assert_int_equal(am_flush(db), AM_OK);
    tu_put_str(db, "key0000", "new");
    char log[512];
    tu_find_last(fx->dir, ".log", 1, log, sizeof log);
    size_t n;
    char *saved = tu_read_file(log, &n);     /* the log of the second flush, as it was */
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_close(db), AM_OK);
    assert_false(tu_file_exists(log));
    tu_write_file(log, saved, n);
    free(saved);
    char mf[512], sst[512];
    tu_find_last(fx->dir, ".sst", 1, sst, sizeof sst);
    manifest_path(fx, mf, sizeof mf);
    uint64_t offs[16];
    size_t k = tu_record_offsets(mf, offs, 16, NULL);
    truncate_to(mf, offs[k - 1]);
    db = tu_open(fx->dir, &fx->o);
    tu_expect_500(db, "new", "lost flush edit, log still there");
    assert_int_equal(am_close(db), AM_OK);
    assert_false(tu_file_exists(sst));       /* named by no edit: garbage */
}

/* An open that fails part-way (any file creation, or any sync followed by a power cut)
 * leaves a durable state whose log exists: the new log is created, and its name synced,
 * before the recovery edit names it. */
static void open_setup(fixture *fx)
{
    tu_rmtree(fx->dir);
    am_db *db = tu_open(fx->dir, &fx->o);
    tu_put_500(db, "old");
    assert_int_equal(am_flush(db), AM_OK);
    tu_put_str(db, "key0000", "new");             /* left in the log: the open replays it */
    assert_int_equal(am_close(db), AM_OK);
}

static void expect_log_of_durable_state(const fixture *fx, const char *ctx)
{
    vset *vs = NULL;
    int rc = vset_recover(fx->posix, fx->dir, NULL, &vs);
    if (rc != AM_OK) fail_msg("%s: recovering the version set: %s", ctx, am_strerror(rc));
    uint64_t log = vset_get_state(vs).log_number;
    vset_free(vs);
    char path[512];
    fname_wal(path, sizeof path, fx->dir, log);
    if (log == 0 || !tu_file_exists(path))
        fail_msg("%s: the durable state names log %llu, which does not exist", ctx,
                 (unsigned long long)log);
}

static void test_failed_open_keeps_its_log(void **state)
{
    fixture *fx = *state;
    static const fault_kind kinds[] = { FAULT_OPEN, FAULT_SYNC };
    am_options o = fx->o;
    o.env = fx->fault;
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        open_setup(fx);
        uint64_t before = fault_env_count(fx->fault, kinds[ki]);
        am_db *db = tu_open(fx->dir, &o);
        uint64_t calls = fault_env_count(fx->fault, kinds[ki]) - before;
        assert_int_equal(am_close(db), AM_OK);
        assert_true(calls >= 3);
        for (uint64_t nth = 1; nth <= calls; nth++) {
            char ctx[96];
            snprintf(ctx, sizeof ctx, "open with %s %llu of %llu failed",
                     kinds[ki] == FAULT_OPEN ? "create" : "sync", (unsigned long long)nth,
                     (unsigned long long)calls);
            open_setup(fx);
            fault_env_fail_nth(fx->fault, kinds[ki], nth, AM_ERR_IO, 0);
            db = (am_db *)1;
            char msg[512];
            if (am_open_msg(fx->dir, &o, &db, msg, sizeof msg) >= 0)
                fail_msg("%s: the open succeeded", ctx);
            if (kinds[ki] == FAULT_SYNC) assert_int_equal(fault_env_power_cut(fx->fault), AM_OK);
            expect_log_of_durable_state(fx, ctx);
            db = tu_open(fx->dir, &fx->o);
            tu_expect_500(db, "new", ctx);
            assert_int_equal(am_close(db), AM_OK);
        }
    }
}

/* ---- replayed logs: sequences only grow ---- */

/* n puts of key%04d = "v<i>" plus a 100-byte pad, one log record each. */
static void put_records(am_db *db, int n)
{
    char k[16], v[160];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "key%04d", i);
        snprintf(v, sizeof v, "v%d-%0100d", i, i);
        tu_put_str(db, k, v);
    }
}

static void expect_records(am_db *db, int n, const char *ctx)
{
    char k[16], v[160];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "key%04d", i);
        snprintf(v, sizeof v, "v%d-%0100d", i, i);
        tu_expect_str(db, k, v, ctx);
    }
}

/* A database whose one log holds n records (nothing flushed); its path into log. */
static tu_records make_log(fixture *fx, int n, char *log, size_t cap)
{
    tu_rmtree(fx->dir);
    am_db *db = tu_open(fx->dir, &fx->o);
    put_records(db, n);
    assert_int_equal(am_close(db), AM_OK);
    tu_find_last(fx->dir, ".log", 1, log, cap);
    tu_records rs = tu_read_records(fx->posix, log);
    assert_int_equal(rs.count, (size_t)n);
    return rs;
}

static void test_wal_records_out_of_order(void **state)
{
    fixture *fx = *state;
    enum { N = 20 };
    static const struct {
        const char *what;
        size_t order[N + 1];
        size_t at;                 /* the index of the record that breaks the order */
    } cases[] = {
        { "a record repeated", { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19 }, 10 },
        { "a record copied in later", { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                        16, 17, 18, 19, 4 }, 20 },
        { "the first record again at the end", { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                 13, 14, 15, 16, 17, 18, 19, 0 }, 20 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char log[512], off[48];
        tu_records rs = make_log(fx, N, log, sizeof log);
        uint64_t at = tu_write_records(fx->posix, log, &rs, cases[c].order, N + 1, cases[c].at);
        snprintf(off, sizeof off, "offset %llu", (unsigned long long)at);
        const char *want[] = { tu_base_name(log), off, "sequence", NULL };
        tu_open_refused(fx->dir, &fx->o, want, 1, cases[c].what);
        tu_records_free(&rs);
    }
}

/* The same across two logs (replayed in number order), and after the replay flushed a
 * memtable (the repeated record would otherwise meet its twin only in a merge). */
static void test_wal_records_out_of_order_across(void **state)
{
    fixture *fx = *state;
    enum { N = 2000 };
    char log[512], second[512], off[48];
    tu_records rs = make_log(fx, 20, log, sizeof log);
    unsigned long long a = strtoull(tu_base_name(log), NULL, 10);
    char mf[512];
    manifest_path(fx, mf, sizeof mf);
    assert_true(strtoull(tu_base_name(mf) + 9, NULL, 10) < a);
    fname_wal(second, sizeof second, fx->dir, a + 1);
    size_t tail[] = { 15, 16, 17, 18, 19 };
    tu_write_records(fx->posix, second, &rs, tail, 5, 0);
    const char *want[] = { tu_base_name(second), "offset 0", "sequence", NULL };
    tu_open_refused(fx->dir, &fx->o, want, 1, "records of one log again in the next");
    tu_records_free(&rs);

    /* N records of ~120 bytes: several 64 KiB memtables' worth when replayed. */
    rs = make_log(fx, N, log, sizeof log);
    size_t *order = malloc((N + 1) * sizeof *order);
    for (size_t i = 0; i < N; i++) order[i] = i;
    order[N] = 5;
    uint64_t at = tu_write_records(fx->posix, log, &rs, order, N + 1, N);
    free(order);
    tu_records_free(&rs);
    am_options o = fx->o;
    fx->o.memtable_bytes = 64u << 10;
    snprintf(off, sizeof off, "offset %llu", (unsigned long long)at);
    const char *want2[] = { tu_base_name(log), off, "sequence", NULL };
    tu_open_refused(fx->dir, &fx->o, want2, 1, "a record repeated after a replay flush");
    fx->o = o;
}

/* An empty batch takes no sequence: a log holding one between records replays. */
static void test_wal_empty_batch_replays(void **state)
{
    fixture *fx = *state;
    char log[512];
    tu_records rs = make_log(fx, 10, log, sizeof log);
    size_t order[] = { 0, 1, 2, 3, 4, 10, 5, 6, 7, 8, 9, 10 };   /* 10: the empty batch */
    tu_write_records(fx->posix, log, &rs, order, sizeof order / sizeof order[0], 0);
    tu_records_free(&rs);
    am_db *db = tu_open(fx->dir, &fx->o);
    expect_records(db, 10, "a log with empty batches");
    put_records(db, 12);
    assert_int_equal(am_close(db), AM_OK);
    db = tu_open(fx->dir, &fx->o);
    expect_records(db, 12, "reopened");
    assert_int_equal(am_close(db), AM_OK);
}

/* A log whose last batch took the largest sequence number (a forged or damaged history:
 * 2^56 writes take centuries): it replays, and the next write is refused with a message
 * and writes nothing, instead of a record whose sequence no internal key can hold (which
 * made the database impossible to reopen). */
static void test_sequence_numbers_exhausted(void **state)
{
    fixture *fx = *state;
    char log[512];
    tu_records rs = make_log(fx, 3, log, sizeof log);
    enc_fixed64(rs.p[2], AM_MAX_SEQ);          /* the batch header's first sequence */
    size_t order[] = { 0, 1, 2 };
    tu_write_records(fx->posix, log, &rs, order, 3, 0);
    tu_records_free(&rs);
    am_db *db = tu_open(fx->dir, &fx->o);
    expect_records(db, 3, "replayed up to the largest sequence");
    assert_int_equal(am_put(db, "x", 1, "y", 1), AM_ERR_INVALID);
    assert_non_null(strstr(am_errmsg(db), "sequence numbers exhausted"));
    assert_int_equal(am_close(db), AM_OK);
    db = tu_open(fx->dir, &fx->o);            /* nothing unreadable was written */
    expect_records(db, 3, "reopened");
    tu_expect_str(db, "x", NULL, "the refused write");
    assert_int_equal(am_close(db), AM_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_manifest_cut_at_record_boundary),
        T(test_manifest_torn_in_last_record),
        T(test_manifest_length_flip_after_first_snapshot),
        T(test_first_open_killed_after_creating_the_log),
        T(test_reopen_killed_while_replaying),
        T(test_lost_flush_edit_with_its_log_still_there),
        T(test_failed_open_keeps_its_log),
        T(test_wal_records_out_of_order),
        T(test_wal_records_out_of_order_across),
        T(test_wal_empty_batch_replays),
        T(test_sequence_numbers_exhausted),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
