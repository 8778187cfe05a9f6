/* test_strategy_shapes.c: the run-merging strategies (tiered, lazy-leveled) through the
 * engine, beside leveled: the same random workload (puts, then deletes and overwrites) on
 * 64 KiB memtables, inline and deterministic; every key reads back after a reopen and a
 * full scan is sorted and complete; the tree has each strategy's shape (tiered: several
 * runs in a level; lazy-leveled: one run in the deepest level); tiered writes less than
 * leveled. Also the same workload with background threads and tier_fanout 64, whose L0
 * merges must start before writers are slowed or stopped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"

#define NKEYS 50000u                  /* the inline runs */
#define NKEYS_BG 20000u               /* the background runs */
#define NKEYS_SWAP 8000u              /* the strategy changes */
#define KEY_SEED 0x5eedull

/* Key i: 16 hex digits of a mix of i (random order, distinct for these i). */
static void key_of(uint32_t i, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)tu_mix(KEY_SEED + i));
}

/* Value of key i at version ver: its index first, so a scan can find the key back. */
static size_t value_of(uint32_t i, int ver, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap, "%08u.v%d.%04x", i, ver,
                            (unsigned)(tu_mix(i * 31u + (uint64_t)ver) & 0xffff));
}

/* What the workload leaves: -1 deleted, else the version of key i. */
static int expected_version(uint32_t i)
{
    if (i % 10 == 0) return -1;
    return i % 10 == 3 ? 1 : 0;
}

static void put_key(am_db *db, uint32_t i, int ver)
{
    char k[17], v[64];
    key_of(i, k);
    size_t vn = value_of(i, ver, v, sizeof v);
    int rc = am_put(db, k, 16, v, vn);
    if (rc != AM_OK) fail_msg("put %u: %s (%s)", i, am_strerror(rc), am_errmsg(db));
}

/* The most runs each level held, over snapshots of the tree taken during the workload,
 * and whether the deepest non-empty level ever held more than one run. */
typedef struct shape {
    uint64_t max_runs[8];
    int deepest_several;
} shape;

static void sample(am_db *db, shape *sh)
{
    am_stats st;
    assert_int_equal(am_stats_get(db, &st), AM_OK);
    int deepest = -1;
    for (int l = 0; l < 8; l++) {
        if (st.level_runs[l] > sh->max_runs[l]) sh->max_runs[l] = st.level_runs[l];
        if (st.level_runs[l]) deepest = l;
    }
    if (deepest >= 1 && st.level_runs[deepest] > 1) sh->deepest_several = 1;
}

/* Every key in random order, then every tenth deleted and every tenth (+3) overwritten;
 * the shape is sampled every 250 operations. */
static void workload(am_db *db, uint32_t nkeys, shape *sh)
{
    memset(sh, 0, sizeof *sh);
    for (uint32_t i = 0; i < nkeys; i++) {
        put_key(db, i, 0);
        if (i % 250 == 0) sample(db, sh);
    }
    for (uint32_t i = 0; i < nkeys; i += 10) {
        char k[17];
        key_of(i, k);
        int rc = am_delete(db, k, 16);
        if (rc != AM_OK) fail_msg("delete %u: %s", i, am_strerror(rc));
        put_key(db, i + 3, 1);
        if (i % 1000 == 0) sample(db, sh);
    }
    sample(db, sh);
}

static void verify_gets(am_db *db, uint32_t nkeys, const char *strategy)
{
    for (uint32_t i = 0; i < nkeys; i++) {
        char k[17], want[64];
        key_of(i, k);
        void *v = NULL;
        size_t vn = 0;
        int rc = am_get(db, NULL, k, 16, &v, &vn);
        int ver = expected_version(i);
        if (ver < 0) {
            if (rc != AM_NOT_FOUND) fail_msg("%s: deleted key %u: %s", strategy, i, am_strerror(rc));
            continue;
        }
        if (rc != AM_OK) fail_msg("%s: key %u: %s", strategy, i, am_strerror(rc));
        size_t wn = value_of(i, ver, want, sizeof want);
        if (vn != wn || memcmp(v, want, wn) != 0)
            fail_msg("%s: key %u: got %.*s, want %s", strategy, i, (int)vn, (char *)v, want);
        am_free(v);
    }
}

/* A full scan: strictly ascending, every live key once with its latest value. */
static void verify_scan(am_db *db, uint32_t nkeys, const char *strategy)
{
    am_iter *it = am_iter_new(db, NULL);
    assert_non_null(it);
    char prev[17] = "";
    uint32_t seen = 0, live = 0;
    for (uint32_t i = 0; i < nkeys; i++) live += expected_version(i) >= 0;
    for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it)) {
        size_t kn, vn;
        const char *k = am_iter_key(it, &kn), *v = am_iter_value(it, &vn);
        if (kn != 16) fail_msg("%s: scan: key of %zu bytes", strategy, kn);
        if (seen && memcmp(prev, k, 16) >= 0)
            fail_msg("%s: scan: %.16s after %s", strategy, k, prev);
        memcpy(prev, k, 16);
        uint32_t i = (uint32_t)strtoul(v, NULL, 10);   /* values start with the index */
        char wk[17], want[64];
        key_of(i, wk);
        int ver = i < nkeys ? expected_version(i) : -1;
        size_t wn = ver < 0 ? 0 : value_of(i, ver, want, sizeof want);
        if (ver < 0 || memcmp(wk, k, 16) != 0 || vn != wn || memcmp(v, want, wn) != 0)
            fail_msg("%s: scan: %.16s = %.*s is not live", strategy, k, (int)vn, v);
        seen++;
    }
    assert_int_equal(am_iter_status(it), AM_OK);
    am_iter_free(it);
    if (seen != live) fail_msg("%s: scan saw %u keys, want %u", strategy, seen, live);
}

typedef struct outcome {
    am_stats st;                       /* before the reopen */
    shape sh;                          /* during the workload */
    double wa;                         /* (flush + compaction bytes) / user bytes */
} outcome;

/* Runs the workload on a fresh database for strategy, reopens it and checks every key. */
static void run_strategy(tu_fixture *fx, const char *strategy, int bg, int fanout,
                         uint32_t nkeys, outcome *out)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s-%d", fx->base, strategy, bg);
    am_options o;
    tu_small_options(&o, bg);
    o.strategy = strategy;
    if (fanout) o.tier_fanout = fanout;
    am_db *db = tu_open(dir, &o);
    workload(db, nkeys, &out->sh);
    if (bg) assert_int_equal(am_compact(db), AM_OK);
    assert_int_equal(am_stats_get(db, &out->st), AM_OK);
    out->wa = (double)(out->st.flush_bytes_written + out->st.compaction_bytes_written) /
              (double)out->st.user_bytes_written;
    assert_int_equal(am_close(db), AM_OK);
    db = tu_open(dir, &o);
    verify_gets(db, nkeys, strategy);
    verify_scan(db, nkeys, strategy);
    assert_int_equal(am_close(db), AM_OK);
    char runs[128], most[128];
    size_t n = 0, m = 0;
    for (int l = 0; l < 8; l++) {
        n += (size_t)snprintf(runs + n, sizeof runs - n, "%s%llu", l ? "," : "",
                              (unsigned long long)out->st.level_runs[l]);
        m += (size_t)snprintf(most + m, sizeof most - m, "%s%llu", l ? "," : "",
                              (unsigned long long)out->sh.max_runs[l]);
    }
    print_message("%-12s bg=%d write amp %.2f, runs per level %s (at most %s), "
                  "compactions %llu\n", strategy, bg, out->wa, runs, most,
                  (unsigned long long)out->st.compactions);
}

static int deepest_level(const am_stats *st)
{
    for (int l = 7; l >= 0; l--)
        if (st->level_runs[l]) return l;
    return -1;
}

static void test_shapes_and_write_amp(void **state)
{
    tu_fixture *fx = *state;
    outcome lev, tie, lazy;
    run_strategy(fx, "leveled", 0, 0, NKEYS, &lev);
    run_strategy(fx, "tiered", 0, 0, NKEYS, &tie);
    run_strategy(fx, "lazy-leveled", 0, 0, NKEYS, &lazy);

    /* Leveled: one run per level below L0, at every sample. */
    for (int l = 1; l < 8; l++) assert_true(lev.sh.max_runs[l] <= 1);

    /* Tiered: levels below L0 of several runs, never T = 4 once the inline work is done
       (nor L0), every merge a tier merge and tagged tiered. */
    int several = 0;
    for (int l = 1; l < 8; l++) several |= tie.sh.max_runs[l] >= 2;
    assert_true(several);
    for (int l = 0; l < 8; l++) assert_true(tie.sh.max_runs[l] < 4);
    assert_int_equal(tie.st.compactions_by_reason[AM_REASON_TIER_FULL], tie.st.compactions);
    assert_true(tie.st.tag_files[AM_TAG_TIERED] > 0);
    assert_int_equal(tie.st.tag_files[AM_TAG_LEVELED], 0);   /* flushes are tiered too */
    assert_int_equal(lev.st.tag_files[AM_TAG_TIERED], 0);

    /* Lazy-leveled: the deepest non-empty level is one leveled run at every sample, with
       tiered levels of several runs above it. */
    assert_false(lazy.sh.deepest_several);
    int k = deepest_level(&lazy.st);
    assert_true(k >= 1);
    assert_int_equal(lazy.st.level_runs[k], 1);
    assert_true(lazy.st.tag_files[AM_TAG_LEVELED] > 0);
    several = 0;
    for (int l = 1; l < 8; l++) several |= lazy.sh.max_runs[l] >= 2;
    assert_true(several);
    for (int l = 0; l < 8; l++) assert_true(lazy.sh.max_runs[l] < 4);

    /* Tiered rewrites each key about once per level; leveled about fanout / 2 times. */
    if (!(tie.wa < lev.wa))
        fail_msg("tiered write amp %.2f is not below leveled's %.2f", tie.wa, lev.wa);
    if (!(lazy.wa < lev.wa))
        fail_msg("lazy-leveled write amp %.2f is not below leveled's %.2f", lazy.wa, lev.wa);
}

/* tier_fanout 64 with background threads: L0 merges at 7 runs (l0_slowdown_files - 1),
 * so the writers, which stop at 12 L0 files, always get through. */
static void test_large_fanout_background(void **state)
{
    tu_fixture *fx = *state;
    outcome tie, lazy;
    run_strategy(fx, "tiered", 2, 64, NKEYS_BG, &tie);
    run_strategy(fx, "lazy-leveled", 2, 64, NKEYS_BG, &lazy);
    assert_true(tie.st.level_runs[0] < 7);       /* am_compact left L0 below its trigger */
    assert_true(lazy.st.level_runs[0] < 7);
}

/* A tree one strategy shaped, reopened under another that writes to it and compacts it
 * into its own shape: every key still reads back. */
static void test_reopen_under_another_strategy(void **state)
{
    tu_fixture *fx = *state;
    static const char *const order[] = { "tiered", "lazy-leveled", "leveled", "tiered",
                                         "lazy-leveled" };
    am_options o;
    tu_small_options(&o, 0);
    shape sh;
    for (size_t r = 0; r < sizeof order / sizeof order[0]; r++) {
        o.strategy = order[r];
        am_db *db = tu_open(fx->dir, &o);
        workload(db, NKEYS_SWAP, &sh);    /* the same end state every time */
        assert_int_equal(am_compact(db), AM_OK);
        am_stats st;
        assert_int_equal(am_stats_get(db, &st), AM_OK);
        int k = deepest_level(&st);
        print_message("%-12s runs per level %llu,%llu,%llu,%llu,%llu, compactions %llu\n",
                      order[r], (unsigned long long)st.level_runs[0],
                      (unsigned long long)st.level_runs[1], (unsigned long long)st.level_runs[2],
                      (unsigned long long)st.level_runs[3], (unsigned long long)st.level_runs[4],
                      (unsigned long long)st.compactions);
        if (strcmp(order[r], "lazy-leveled") == 0) assert_int_equal(st.level_runs[k], 1);
        if (strcmp(order[r], "leveled") != 0)
            for (int l = 1; l < 8; l++) assert_true(st.level_runs[l] < 4);
        verify_gets(db, NKEYS_SWAP, order[r]);
        verify_scan(db, NKEYS_SWAP, order[r]);
        assert_int_equal(am_close(db), AM_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shapes_and_write_amp, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_large_fanout_background, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_under_another_strategy, tu_setup,
                                        tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
