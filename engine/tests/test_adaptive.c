/* test_adaptive.c: the adaptive strategy on a real database. A shifting workload (writes,
 * reads, writes, reads) in deterministic mode must switch both ways (tiered -> leveled
 * after the reads, leveled -> tiered after the second writes), read every key back right
 * after a reopen, and give the same counters when run twice. A random mix of puts,
 * deletes, gets and scans, alternating write- and read-heavy stretches so that switches
 * keep firing, is checked against a model, with reopens, inline and with background
 * threads. After each run the tree recovered from the MANIFEST must keep the invariant
 * the strategy relies on: runs of a level that overlap have disjoint seq intervals. */
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
#include "util/ikey.h"
#include "version/vset.h"

enum { SHIFT_KEYS = 30000, SHIFT_WRITES = 30000, SHIFT_READS = 20000, MAX_VALUE = 160 };

static size_t key_of(uint32_t k, char *out)
{
    return (size_t)snprintf(out, 16, "k%08u", k);
}

/* The value of version ver of key k: 40 .. 135 bytes derived from both. */
static size_t value_of(uint32_t k, uint32_t ver, unsigned char *out)
{
    uint64_t h = tu_mix(((uint64_t)k << 32) | ver);
    size_t n = 40 + (size_t)(h % 96);
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)(tu_mix(h + i) >> 7);
    memcpy(out, &ver, sizeof ver);
    return n;
}

/* The database and a model of it: the version of each key, 0 when absent. */
typedef struct dbm {
    am_db *db;
    uint32_t *ver;
    uint32_t nkeys, next;
    tu_rng r;
} dbm;

static void put(dbm *m, uint32_t k)
{
    char kb[16];
    unsigned char vb[MAX_VALUE];
    size_t kn = key_of(k, kb), vn = value_of(k, ++m->next, vb);
    assert_int_equal(am_put(m->db, kb, kn, vb, vn), AM_OK);
    m->ver[k] = m->next;
}

static void del(dbm *m, uint32_t k)
{
    char kb[16];
    assert_int_equal(am_delete(m->db, kb, key_of(k, kb)), AM_OK);
    m->ver[k] = 0;
}

static void check_get(dbm *m, uint32_t k)
{
    char kb[16];
    unsigned char want[MAX_VALUE], got[MAX_VALUE];
    size_t kn = key_of(k, kb), vn = 0;
    int rc = am_get_into(m->db, NULL, kb, kn, got, sizeof got, &vn);
    if (!m->ver[k]) {
        if (rc != AM_NOT_FOUND) fail_msg("key %u: deleted or never written, got rc %d", k, rc);
        return;
    }
    size_t wn = value_of(k, m->ver[k], want);
    if (rc != AM_OK) fail_msg("key %u version %u: %s", k, m->ver[k], am_strerror(rc));
    if (vn != wn || memcmp(got, want, wn) != 0) {
        uint32_t gv = 0;
        if (vn >= 4) memcpy(&gv, got, 4);
        fail_msg("key %u: want version %u, got version %u", k, m->ver[k], gv);
    }
}

/* From key k: the next count keys the iterator shows must be the model's. */
static void check_scan(dbm *m, uint32_t k, int count)
{
    char kb[16];
    am_iter *it = am_iter_new(m->db, NULL);
    assert_non_null(it);
    am_iter_seek(it, kb, key_of(k, kb));
    for (int i = 0; i < count; i++) {
        while (k < m->nkeys && !m->ver[k]) k++;
        if (k == m->nkeys) { assert_false(am_iter_valid(it)); break; }
        if (!am_iter_valid(it)) fail_msg("scan ended before key %u", k);
        size_t gn, vn;
        const void *gk = am_iter_key(it, &gn), *gv = am_iter_value(it, &vn);
        unsigned char want[MAX_VALUE];
        size_t kn = key_of(k, kb), wn = value_of(k, m->ver[k], want);
        if (gn != kn || memcmp(gk, kb, kn) != 0) fail_msg("scan: want key %u, got %.*s", k, (int)gn, (const char *)gk);
        if (vn != wn || memcmp(gv, want, wn) != 0) fail_msg("scan: key %u has a stale value", k);
        am_iter_next(it);
        k++;
    }
    assert_int_equal(am_iter_status(it), AM_OK);
    am_iter_free(it);
}

static void check_all(dbm *m)
{
    for (uint32_t k = 0; k < m->nkeys; k++) check_get(m, k);
    check_scan(m, 0, (int)m->nkeys + 1);
}

/* ---- the invariant, on the tree recovered from the MANIFEST ---- */

static int overlap(const am_segment *a, const am_segment *b)
{
    size_t an, bn, cn, dn;
    const char *alo = seg_smallest_ukey(a, &an), *ahi = seg_largest_ukey(a, &bn);
    const char *blo = seg_smallest_ukey(b, &cn), *bhi = seg_largest_ukey(b, &dn);
    return ukey_cmp(alo, an, bhi, dn) <= 0 && ukey_cmp(blo, cn, ahi, bn) <= 0;
}

static int runs_overlap(const am_run *x, const am_run *y)
{
    for (size_t i = 0; i < x->nsegs; i++)
        for (size_t j = 0; j < y->nsegs; j++)
            if (overlap(x->segs[i], y->segs[j])) return 1;
    return 0;
}

static void run_interval(const am_run *r, uint64_t *lo, uint64_t *hi)
{
    *lo = UINT64_MAX;
    *hi = 0;
    for (size_t i = 0; i < r->nsegs; i++) {
        if (r->segs[i]->d.min_seq < *lo) *lo = r->segs[i]->d.min_seq;
        if (r->segs[i]->d.max_seq > *hi) *hi = r->segs[i]->d.max_seq;
    }
}

/* Also checks the tags: the leveled run of level n (run id n) is tagged leveled, every
 * other run of a level >= 1 tiered. REQUIRES: the database is closed. */
static void check_invariant(am_env *env, const char *dir)
{
    vset *vs = NULL;
    assert_int_equal(vset_recover(env, dir, NULL, &vs), AM_OK);
    const am_version *v = vset_current(vs);
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        const am_level *L = &v->levels[l];
        for (size_t a = 0; a < L->nruns; a++) {
            for (size_t i = 0; l > 0 && i < L->runs[a].nsegs; i++) {
                int want = L->runs[a].id == (uint64_t)l ? AM_TAG_LEVELED : AM_TAG_TIERED;
                if (L->runs[a].segs[i]->d.tag != want)
                    fail_msg("L%d run %llu: segment %llu has the wrong tag", l,
                             (unsigned long long)L->runs[a].id,
                             (unsigned long long)L->runs[a].segs[i]->d.id);
            }
            for (size_t b = a + 1; b < L->nruns; b++) {
                if (!runs_overlap(&L->runs[a], &L->runs[b])) continue;
                uint64_t alo, ahi, blo, bhi;
                run_interval(&L->runs[a], &alo, &ahi);
                run_interval(&L->runs[b], &blo, &bhi);
                if (!(blo > ahi || alo > bhi))
                    fail_msg("L%d: overlapping runs %llu [%llu, %llu] and %llu [%llu, %llu]",
                             l, (unsigned long long)L->runs[a].id, (unsigned long long)alo,
                             (unsigned long long)ahi, (unsigned long long)L->runs[b].id,
                             (unsigned long long)blo, (unsigned long long)bhi);
            }
        }
    }
    vset_free(vs);
}

/* ---- the shifting workload ---- */

typedef struct shift_result {
    uint64_t to_leveled_after_reads, to_tiered_after_writes;
    am_stats end;
} shift_result;

static void adaptive_options(am_options *o)
{
    tu_small_options(o, 0);
    o->strategy = "adaptive";
    o->adapt_clock_ops = 1;
    o->adapt_window = 4000;
    o->adapt_cooldown = 8000;
    o->adapt_global_cooldown = 1000;
}

/* nops operations: reads (checked) with probability read_pct %, else puts. */
static void phase(dbm *m, long nops, int read_pct)
{
    for (long i = 0; i < nops; i++) {
        uint32_t k = (uint32_t)tu_below(&m->r, m->nkeys);
        if ((int)tu_below(&m->r, 100) < read_pct) check_get(m, k);
        else put(m, k);
    }
}

static void run_shift(am_env *env, const char *dir, shift_result *out)
{
    am_options o;
    adaptive_options(&o);
    dbm m = { .nkeys = SHIFT_KEYS, .r = { 42 } };
    m.ver = calloc(m.nkeys, sizeof *m.ver);
    assert_non_null(m.ver);
    m.db = tu_open(dir, &o);
    am_stats st;
    phase(&m, SHIFT_WRITES, 0);                /* 1: random writes */
    phase(&m, SHIFT_READS, 95);                /* 2: mostly reads */
    assert_int_equal(am_stats(m.db, &st), AM_OK);
    out->to_leveled_after_reads = st.switches_to_leveled;
    phase(&m, SHIFT_WRITES / 2, 0);            /* 3: writes again */
    assert_int_equal(am_stats(m.db, &st), AM_OK);
    out->to_tiered_after_writes = st.switches_to_tiered;
    phase(&m, SHIFT_READS, 95);                /* 4: reads */
    assert_int_equal(am_stats(m.db, &out->end), AM_OK);
    assert_int_equal(am_close(m.db), AM_OK);
    check_invariant(env, dir);
    m.db = tu_open(dir, &o);
    check_all(&m);
    assert_int_equal(am_close(m.db), AM_OK);
    free(m.ver);
}

static void test_shift_switches_both_ways(void **state)
{
    tu_fixture *fx = *state;
    shift_result a, b;
    char dir2[320];
    run_shift(fx->posix, fx->dir, &a);
    print_message("  switches to leveled after the reads %llu, to tiered after the writes %llu;"
                  " in the end %llu / %llu, %llu compactions (L0 %llu, tier %llu, size %llu),"
                  " write amp %.2f, %llu files\n",
                  (unsigned long long)a.to_leveled_after_reads,
                  (unsigned long long)a.to_tiered_after_writes,
                  (unsigned long long)a.end.switches_to_leveled,
                  (unsigned long long)a.end.switches_to_tiered,
                  (unsigned long long)a.end.compactions,
                  (unsigned long long)a.end.compactions_by_reason[AM_REASON_L0],
                  (unsigned long long)a.end.compactions_by_reason[AM_REASON_TIER_FULL],
                  (unsigned long long)a.end.compactions_by_reason[AM_REASON_LEVEL_SIZE],
                  (double)(a.end.flush_bytes_written + a.end.compaction_bytes_written) /
                      (double)a.end.user_bytes_written,
                  (unsigned long long)a.end.live_sst_files);
    assert_true(a.to_leveled_after_reads > 0);
    assert_true(a.to_tiered_after_writes > 0);

    /* Deterministic: the same operations give the same switches and the same tree. */
    snprintf(dir2, sizeof dir2, "%s/again", fx->base);
    run_shift(fx->posix, dir2, &b);
    assert_int_equal(a.to_leveled_after_reads, b.to_leveled_after_reads);
    assert_int_equal(a.to_tiered_after_writes, b.to_tiered_after_writes);
    assert_int_equal(a.end.switches_to_leveled, b.end.switches_to_leveled);
    assert_int_equal(a.end.switches_to_tiered, b.end.switches_to_tiered);
    assert_int_equal(a.end.compactions, b.end.compactions);
    for (int r = 0; r < AM_REASONS; r++)
        assert_int_equal(a.end.compactions_by_reason[r], b.end.compactions_by_reason[r]);
    assert_int_equal(a.end.compaction_bytes_written, b.end.compaction_bytes_written);
    assert_int_equal(a.end.live_sst_files, b.end.live_sst_files);
    assert_int_equal(a.end.live_sst_bytes, b.end.live_sst_bytes);
    assert_int_equal(a.end.segments_probed, b.end.segments_probed);
}

/* ---- random operations against the model ---- */

enum { MODEL_KEYS = 3000, MODEL_OPS = 60000, STRETCH = 5000, REOPEN_EVERY = 9000 };

static void model_run(tu_fixture *fx, int bg, uint64_t seed)
{
    am_options o;
    adaptive_options(&o);
    o.background_threads = bg;
    o.adapt_window = 1600;
    o.adapt_cooldown = 3000;
    o.adapt_global_cooldown = 200;
    o.tier_fanout = 3;
    dbm m = { .nkeys = MODEL_KEYS, .r = { seed } };
    m.ver = calloc(m.nkeys, sizeof *m.ver);
    assert_non_null(m.ver);
    m.db = tu_open(fx->dir, &o);
    uint64_t to_leveled = 0, to_tiered = 0;
    for (long i = 0; i < MODEL_OPS; i++) {
        int reads = (i / STRETCH) % 2;       /* alternate write- and read-heavy stretches */
        uint32_t k = (uint32_t)tu_below(&m.r, m.nkeys);
        unsigned d = (unsigned)tu_below(&m.r, 100);
        if (d < (reads ? 8u : 70u)) put(&m, k);
        else if (d < (reads ? 10u : 85u)) del(&m, k);
        else if (d < 99) check_get(&m, k);
        else check_scan(&m, k, 20);
        if ((i + 1) % REOPEN_EVERY == 0) {
            am_stats st;
            assert_int_equal(am_stats(m.db, &st), AM_OK);
            to_leveled += st.switches_to_leveled;
            to_tiered += st.switches_to_tiered;
            assert_int_equal(am_close(m.db), AM_OK);
            check_invariant(fx->posix, fx->dir);
            m.db = tu_open(fx->dir, &o);
            check_all(&m);
        }
    }
    am_stats st;
    assert_int_equal(am_compact(m.db), AM_OK);
    check_all(&m);
    assert_int_equal(am_stats(m.db, &st), AM_OK);
    to_leveled += st.switches_to_leveled;
    to_tiered += st.switches_to_tiered;
    print_message("  bg=%d: switches to leveled %llu, to tiered %llu\n", bg,
                  (unsigned long long)to_leveled, (unsigned long long)to_tiered);
    if (bg == 0) {
        assert_true(to_leveled > 0);
        assert_true(to_tiered > 0);
    }
    assert_int_equal(am_close(m.db), AM_OK);
    check_invariant(fx->posix, fx->dir);
    m.db = tu_open(fx->dir, &o);
    check_all(&m);
    assert_int_equal(am_close(m.db), AM_OK);
    free(m.ver);
}

static void test_model_inline(void **state) { model_run(*state, 0, 7); }
static void test_model_background(void **state) { model_run(*state, 2, 11); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shift_switches_both_ways, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_model_inline, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_model_background, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
