/* test_accounting.c: the two pieces the amplification figures rest on. liveset: the live
 * bytes change exactly as puts, overwrites with other sizes and deletes say, also from
 * several threads at once; a key past the capacity marks the account incomplete.
 * metrics: counter deltas and the definitions of docs/metrics.md (data-driven), NaN (null
 * in the JSON) for a zero denominator, an engine that lacks the counter, an unknown live
 * account or counters that went backwards. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "../liveset.h"
#include "../metrics.h"

static void liveset_follows_writes(void **state)
{
    (void)state;
    liveset *s = ls_new(100);
    int64_t dk, bytes = 0, keys = 0;
    bytes += ls_put(s, 1, 10, 100, &dk), keys += dk;     /* new: +110 */
    bytes += ls_put(s, 2, 10, 50, &dk), keys += dk;      /* new: +60 */
    assert_int_equal(bytes, 170);
    assert_int_equal(keys, 2);
    bytes += ls_put(s, 1, 10, 30, &dk), keys += dk;      /* overwrite, smaller: -70 */
    assert_int_equal(bytes, 100);
    assert_int_equal(keys, 2);
    bytes += ls_del(s, 2, 10, &dk), keys += dk;          /* delete: -60 */
    bytes += ls_del(s, 2, 10, &dk), keys += dk;          /* again: nothing */
    bytes += ls_del(s, 3, 10, &dk), keys += dk;          /* never written: nothing */
    assert_int_equal(bytes, 40);
    assert_int_equal(keys, 1);
    bytes += ls_put(s, 2, 10, 0, &dk), keys += dk;       /* empty value: the key counts */
    assert_int_equal(bytes, 50);
    assert_int_equal(keys, 2);
    assert_false(ls_overflowed(s));
    assert_int_equal(ls_put(s, 100, 10, 5, &dk), 0);     /* past the capacity */
    assert_int_equal(dk, 0);
    assert_true(ls_overflowed(s));
    ls_free(s);
}

typedef struct worker {
    liveset *s;
    pthread_barrier_t *puts_done;
    int id;
    int64_t bytes, keys;
} worker;

/* Each thread puts every key with its own value size, waits for the others, then deletes
 * the odd keys. */
static void *hammer(void *arg)
{
    worker *w = arg;
    int64_t dk;
    for (uint64_t k = 0; k < 10000; k++) {
        w->bytes += ls_put(w->s, k, 8, (uint32_t)(w->id + 1), &dk);
        w->keys += dk;
    }
    pthread_barrier_wait(w->puts_done);
    for (uint64_t k = 1; k < 10000; k += 2) {
        w->bytes += ls_del(w->s, k, 8, &dk);
        w->keys += dk;
    }
    return NULL;
}

static void liveset_threads_sum_to_a_consistent_state(void **state)
{
    (void)state;
    liveset *s = ls_new(10000);
    worker w[4];
    pthread_t th[4];
    pthread_barrier_t b;
    pthread_barrier_init(&b, NULL, 4);
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){ s, &b, i, 0, 0 };
        pthread_create(&th[i], NULL, hammer, &w[i]);
    }
    int64_t bytes = 0, keys = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        bytes += w[i].bytes;
        keys += w[i].keys;
    }
    pthread_barrier_destroy(&b);
    /* Every odd key ends deleted (all deletes follow all puts); every even key
       holds one thread's value: 8 + 1..4 bytes. Re-putting each even key with 1 byte then
       brings the account to exactly 5000 x 9. */
    assert_int_equal(keys, 5000);
    int64_t dk;
    for (uint64_t k = 0; k < 10000; k += 2) bytes += ls_put(s, k, 8, 1, &dk);
    assert_int_equal(bytes, 5000 * 9);
    ls_free(s);
}

/* ---- metrics ---- */

typedef struct mcase {
    const char *what;
    he_counters a, b;
    int logical_known;
    double wa, wal, ra, bpl, sa;      /* NAN: expect undefined */
} mcase;

/* Every counter provided (exactly). */
#define ALL { [0 ... HE_NCOUNTERS - 1] = HE_EXACT }

static const mcase mcases[] = {
    { "plain window",
      { .user_bytes_written = 1000, .flush_bytes_written = 500, .compaction_bytes_written = 700,
        .wal_bytes = 1100, .point_lookups = 10, .segments_probed = 20, .blocks_read = 5 },
      { .user_bytes_written = 3000, .flush_bytes_written = 2500, .compaction_bytes_written = 4700,
        .wal_bytes = 3300, .point_lookups = 110, .segments_probed = 170, .blocks_read = 105,
        .live_sst_bytes = 6000, .logical_bytes = 4000, .avail = ALL },
      1, 3.0, 1.1, 1.5, 1.0, 1.5 },
    { "no user writes, no lookups: undefined, not 0",
      { .user_bytes_written = 10, .compaction_bytes_written = 1 },
      { .user_bytes_written = 10, .compaction_bytes_written = 900, .live_sst_bytes = 10,
        .logical_bytes = 0, .avail = ALL },
      1, NAN, NAN, NAN, NAN, NAN },
    { "live account unknown (reused database)",
      { 0 }, { .user_bytes_written = 10, .flush_bytes_written = 20, .live_sst_bytes = 50,
               .logical_bytes = 10, .avail = ALL },
      0, 2.0, 0.0, NAN, NAN, NAN },
    { "engine without counters (null)",
      { 0 }, { .user_bytes_written = 10, .flush_bytes_written = 20, .point_lookups = 3 },
      1, NAN, NAN, NAN, NAN, NAN },
    { "counters went backwards",
      { .user_bytes_written = 100 }, { .user_bytes_written = 50, .avail = ALL },
      1, NAN, NAN, NAN, NAN, NAN },
};

static void expect(const char *what, const char *field, double got, double want)
{
    if (isnan(want) ? !isnan(got) : fabs(got - want) > 1e-12) {
        fprintf(stderr, "%s: %s = %g, want %g\n", what, field, got, want);
        fail();
    }
}

static void metrics_definitions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mcases / sizeof mcases[0]; i++) {
        const mcase *c = &mcases[i];
        metrics m;
        metrics_compute(&c->a, &c->b, c->logical_known, &m);
        expect(c->what, "write_amp", m.write_amp, c->wa);
        expect(c->what, "wal_amp", m.wal_amp, c->wal);
        expect(c->what, "read_amp", m.read_amp, c->ra);
        expect(c->what, "blocks_per_lookup", m.blocks_per_lookup, c->bpl);
        expect(c->what, "space_amp", m.space_amp, c->sa);
    }
}

static void deltas_take_state_from_the_end(void **state)
{
    (void)state;
    he_counters a = { .compactions = 3, .live_sst_bytes = 100, .stall_micros = 5 };
    he_counters b = { .compactions = 10, .live_sst_bytes = 40, .stall_micros = 9, .avail = ALL };
    he_counters d;
    assert_int_equal(metrics_delta(&a, &b, &d), 0);
    assert_int_equal(d.compactions, 7);
    assert_int_equal(d.stall_micros, 4);
    assert_int_equal(d.live_sst_bytes, 40);           /* a state, not a delta */
    assert_int_equal(d.avail[HE_ID(compactions)], HE_EXACT);   /* availability as at b */
    assert_int_equal(d.avail[HE_ID(live_sst_bytes)], HE_EXACT);
    b.compactions = 2;
    assert_int_equal(metrics_delta(&a, &b, &d), -1);
    for (int id = 0; id < HE_NCOUNTERS; id++) assert_int_equal(d.avail[id], HE_NONE);
    assert_true(isnan(metrics_ratio(5, 0)));
    assert_true(metrics_ratio(0, 5) == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(liveset_follows_writes),
        cmocka_unit_test(liveset_threads_sum_to_a_consistent_state),
        cmocka_unit_test(metrics_definitions),
        cmocka_unit_test(deltas_take_state_from_the_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
