/* test_triangular.c: the triangular strategy end to end, and its write-amplification bound.
 *
 * Workload: NPUTS puts of keys drawn at random from NKEYS (a random overwrite: about a third
 * of the puts replace a live key), VALUE_BYTES values that encode (key, version), flushes
 * and merges inline (background_threads 0: deterministic), 64 KiB memtables and files,
 * level_fanout 2 and l1_target_bytes at its default, 4 x memtable_bytes: about one full L0.
 * After a reopen, every key must read its last value.
 *
 * The bound (derived in engine/compact/strategy_triangular.c). Call the bytes of one full
 * L0 (4 flushes) a unit. With fanout 2, level n holds at most 2^(n-1) units, and a
 * triangle L0..Lk always carries its levels into an empty L(k+1): the levels count units
 * in binary. Over U units, level j is written floor((U + 2^(j-1)) / 2^j) times, 2^(j-1)
 * units each, so at most U/2 + 2^(j-2) units; summed over j = 1..d, where d is the deepest
 * level reached (2^(d-1) <= U):
 *     compaction_bytes_written <= (d/2 + 1) * flush_bytes_written
 * and so, counting the flush itself,
 *     WA = (flush_bytes_written + compaction_bytes_written) / user_bytes_written
 *        <= (d/2 + 2) * flush_bytes_written / user_bytes_written
 * (the last factor, about 1.2 here, is the SSTable's own overhead: keys with their 8-byte
 * trailers, index, bloom filter). d is the deepest non-empty level at the end; the number
 * of non-empty levels can be smaller, since carries empty the levels above the deepest.
 * Overwrites only shrink merges, which the bound allows. Both inequalities are asserted.
 * leveled (its default fanout 10, same memtable, L1 and files) runs the same workload for
 * comparison, and, in the plain build, triangular with level_fanout 10; their write
 * amplification is printed, not asserted. */
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
#include "util/env.h"

#define NKEYS 100000u
#define NPUTS 100000u
#define VALUE_BYTES 40

/* ---- an env without syncs: the POSIX env's calls, but sync and sync_dir do nothing (the
   test measures bytes, not durability; real syncs made it take seconds) ---- */

static int nosync_file(am_file *f)
{
    (void)f;
    return AM_OK;
}

static int nosync_dir(am_env *env, const char *path)
{
    (void)env;
    (void)path;
    return AM_OK;
}

typedef struct nosync_env {
    am_env env;              /* first: the engine sees this */
    am_env_ops ops;          /* the base's table with sync and sync_dir replaced */
} nosync_env;

/* Wraps base (borrowed; its self is shared, so base must be the POSIX env). */
static nosync_env *nosync_new(am_env *base)
{
    nosync_env *n = calloc(1, sizeof *n);
    assert_non_null(n);
    n->ops = *base->ops;
    n->ops.sync = nosync_file;
    n->ops.sync_dir = nosync_dir;
    am_env_init_base(&n->env, &n->ops, base->self);
    return n;
}

static void nosync_free(nosync_env *n)
{
    am_env_destroy_base(&n->env);
    free(n);
}

typedef struct outcome {
    am_stats st;
    double wa;              /* (flush + compaction bytes written) / user bytes written */
    int deepest;            /* deepest non-empty level */
    int nonempty;           /* non-empty levels */
} outcome;

static void key_of(uint32_t k, char *out)
{
    out[0] = 'k';                                      /* "k" and 9 digits */
    for (int i = 9; i >= 1; i--, k /= 10) out[i] = (char)('0' + k % 10);
    out[10] = 0;
}

/* The value of version ver of key k: its first bytes name both, the rest is filler. */
static void value_of(uint32_t k, uint32_t ver, char *out)
{
    int n = snprintf(out, VALUE_BYTES, "%u:%u:", k, ver);
    uint64_t x = tu_mix(((uint64_t)k << 32) | ver);
    for (int i = n; i < VALUE_BYTES; i++) {
        out[i] = (char)('a' + (x % 26));
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    }
}

/* Every key reads its last version (ver[k]; 0: never written). */
static void verify(am_db *db, const uint32_t *ver)
{
    char k[16], want[VALUE_BYTES], got[VALUE_BYTES];
    for (uint32_t i = 0; i < NKEYS; i++) {
        key_of(i, k);
        size_t vn = 0;
        int rc = am_get_into(db, NULL, k, strlen(k), got, sizeof got, &vn);
        if (!ver[i]) {
            if (rc != AM_NOT_FOUND) fail_msg("%s: want not found, got %s", k, am_strerror(rc));
            continue;
        }
        if (rc != AM_OK) fail_msg("%s: %s (%s)", k, am_strerror(rc), am_errmsg(db));
        value_of(i, ver[i], want);
        if (vn != VALUE_BYTES || memcmp(got, want, VALUE_BYTES) != 0)
            fail_msg("%s: wrong value (want version %u)", k, ver[i]);
    }
}

/* Runs the workload with strategy / fanout in base/tag and fills *out from am_stats before
   closing; with check, reopens and reads every key back. */
static void run(tu_fixture *fx, const char *tag, const char *strategy, int fanout,
                int check, outcome *out)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/%s", fx->base, tag);
    am_options o;
    tu_small_options(&o, 0);
    o.strategy = strategy;
    o.level_fanout = fanout;
    o.l1_target_bytes = 0;                 /* 4 x memtable_bytes: one full L0 */
    nosync_env *env = nosync_new(fx->posix);
    o.env = &env->env;
    uint32_t *ver = calloc(NKEYS, sizeof *ver);
    assert_non_null(ver);
    tu_rng rng = { 42 };
    char k[16], v[VALUE_BYTES];
    am_db *db = tu_open(dir, &o);
    for (uint32_t i = 1; i <= NPUTS; i++) {
        uint32_t key = (uint32_t)tu_below(&rng, NKEYS);
        ver[key] = i;
        key_of(key, k);
        value_of(key, i, v);
        int rc = am_put(db, k, strlen(k), v, VALUE_BYTES);
        if (rc != AM_OK) fail_msg("put %s: %s (%s)", k, am_strerror(rc), am_errmsg(db));
    }
    assert_int_equal(am_stats(db, &out->st), AM_OK);
    assert_int_equal(am_close(db), AM_OK);
    if (check) {
        db = tu_open(dir, &o);
        verify(db, ver);
        assert_int_equal(am_close(db), AM_OK);
    }
    free(ver);
    nosync_free(env);

    const am_stats *s = &out->st;
    out->wa = (double)(s->flush_bytes_written + s->compaction_bytes_written) /
              (double)s->user_bytes_written;
    out->deepest = 0;
    out->nonempty = 0;
    for (int n = 0; n < 8; n++)
        if (s->level_files[n]) { out->deepest = n; out->nonempty++; }
    print_message("%-10s fanout %2d: WA %.2f (flush %.2f + merges %.2f), %llu merges, "
                  "levels:", strategy, fanout, out->wa,
                  (double)s->flush_bytes_written / (double)s->user_bytes_written,
                  (double)s->compaction_bytes_written / (double)s->user_bytes_written,
                  (unsigned long long)s->compactions);
    for (int n = 0; n <= out->deepest; n++)
        print_message(" L%d %lluK/%llu", n, (unsigned long long)(s->level_bytes[n] >> 10),
                      (unsigned long long)s->level_files[n]);
    print_message("\n");
}

/* The fanout-10 comparison costs a third run: the plain build only (ASan's time budget). */
static int plain_build(void)
{
    const char *f = getenv("AM_TEST_FLAVOR");
    return !f || strcmp(f, "rel") == 0;
}

static void test_write_amplification(void **state)
{
    tu_fixture *fx = *state;
    outcome tri, tri10, lev;
    run(fx, "triangular", "triangular", 2, 1, &tri);
    for (int n = 1; n < 8; n++) assert_true(tri.st.level_runs[n] <= 1);   /* one run each */
    assert_true(tri.deepest >= 4);                                       /* several levels */
    /* A pure counter: every triangle starts at L0, none at an overfull level. */
    assert_int_equal(tri.st.compactions_by_reason[AM_REASON_LEVEL_SIZE], 0);
    const am_stats *s = &tri.st;
    double d = tri.deepest;
    double merges = (double)s->compaction_bytes_written / (double)s->flush_bytes_written;
    double flushed = (double)s->flush_bytes_written / (double)s->user_bytes_written;
    print_message("triangular: deepest level d = %d (%d non-empty); merges wrote %.2f x the "
                  "flushed bytes (bound d/2 + 1 = %.2f); WA %.2f (bound (d/2 + 2) x %.2f = "
                  "%.2f)\n", tri.deepest, tri.nonempty, merges, d / 2 + 1, tri.wa, flushed,
                  (d / 2 + 2) * flushed);
    if (!(merges <= d / 2 + 1))
        fail_msg("merges wrote %.2f x the flushed bytes, above d/2 + 1 = %.2f", merges, d / 2 + 1);
    /* (tri.wa <= (d/2 + 2) x flushed follows from the line above: wa = flushed x (1 +
       merges), so it is printed, not asserted.) */

    run(fx, "leveled", "leveled", 10, 0, &lev);
    if (!(tri.wa < lev.wa))
        fail_msg("triangular WA %.2f is not below leveled's %.2f", tri.wa, lev.wa);
    if (plain_build()) {
        run(fx, "triangular10", "triangular", 10, 0, &tri10);
        print_message("write amplification: triangular %.2f, leveled %.2f (triangular with "
                      "level_fanout 10: %.2f)\n", tri.wa, lev.wa, tri10.wa);
    } else {
        print_message("write amplification: triangular %.2f, leveled %.2f\n", tri.wa, lev.wa);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_amplification, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
