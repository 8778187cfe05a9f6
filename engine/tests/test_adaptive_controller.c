/* test_adaptive_controller.c: the adaptive strategy's controller (adaptive_controller.h):
 * samples at most every window / 8 clock units, the need-leveled / need-tiered rule (noise
 * floor, share threshold, rising or sustained), history and cooldown inherited by merge
 * outputs weighted by their share of the bytes, a move keeping its history, segments
 * forgotten once gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/adaptive_controller.h"
#include "util/ikey.h"
#include "version/version.h"

static am_segment *seg(int level, uint64_t id, uint64_t bytes, const char *lo, const char *hi)
{
    seg_desc d;
    memset(&d, 0, sizeof d);
    d.id = id;
    d.level = level;
    d.run = level ? (uint64_t)level : id;
    d.bytes = bytes;
    d.min_seq = d.max_seq = id;
    char sk[16], lk[16];
    ikey_build(sk, lo, strlen(lo), id, AM_KIND_VALUE);
    ikey_build(lk, hi, strlen(hi), id, AM_KIND_VALUE);
    d.smallest = sk; d.smallest_len = strlen(lo) + 8;
    d.largest = lk;  d.largest_len = strlen(hi) + 8;
    am_segment *g = seg_new_detached(&d);
    assert_non_null(g);
    return g;
}

static am_version *build(am_segment **s, size_t n)
{
    am_version *v = version_build(s, n);
    assert_non_null(v);
    return v;
}

static void test_rule(void **state)
{
    (void)state;
    controller c;
    ctl_init(&c, 800, 0.7, 0.7);               /* samples every 100 */
    am_segment *a = seg(2, 30, 1000, "a", "c");
    am_version *v = build(&a, 1);
    assert_int_equal(ctl_sample(&c, v, 0), AM_OK);
    atomic_store(&a->reads, 63);
    assert_int_equal(ctl_sample(&c, v, 50), AM_OK);      /* not due: no sample */
    assert_int_equal(c.nclock, 1);
    assert_int_equal(ctl_sample(&c, v, 100), AM_OK);
    assert_int_equal(ctl_judge(&c, a, 0).flag, CTL_NONE);   /* 63 < the noise floor */
    atomic_store(&a->reads, 163);
    atomic_store(&a->writes, 40);
    ctl_sample(&c, v, 200);
    ctl_verdict r = ctl_judge(&c, a, 0);
    assert_int_equal(r.reads, 163);
    assert_int_equal(r.writes, 40);
    assert_int_equal(r.flag, CTL_NEED_LEVELED);          /* 0.80 of 203, rising */
    assert_int_equal(ctl_judge(&c, a, 1).flag, CTL_NONE);   /* as leveled: writes 0.20 */
    ctl_sample(&c, v, 300);                              /* nothing new: faded */
    assert_int_equal(ctl_judge(&c, a, 0).flag, CTL_NONE);
    atomic_store(&a->writes, 1040);                      /* a burst of writes */
    ctl_sample(&c, v, 400);
    r = ctl_judge(&c, a, 1);
    assert_int_equal(r.flag, CTL_NEED_TIERED);           /* rising: trend >= 1 */
    assert_true(r.trend >= 1.0);
    /* The window slides: 900 clock units later only the last interval counts. */
    ctl_sample(&c, v, 1300);
    assert_int_equal(ctl_judge(&c, a, 1).writes, 0);
    version_unref(v);
    seg_unref(a);
    ctl_free(&c);
}

static void test_inherit(void **state)
{
    (void)state;
    controller c;
    ctl_init(&c, 800, 0.7, 0.7);
    am_segment *in[2] = { seg(1, 10, 1000, "a", "m"), seg(2, 11, 1000, "c", "z") };
    am_version *v = build(in, 2);
    ctl_sample(&c, v, 0);
    atomic_store(&in[0]->reads, 400);
    atomic_store(&in[1]->reads, 200);
    atomic_store(&in[1]->writes, 100);
    ctl_sample(&c, v, 100);
    ctl_cool(&c, 11, 5000);

    /* A merge of both into two outputs of 1 : 3 bytes, as db_bg.c installs it: the
       outputs' live counters are the inputs' shared by size. */
    am_segment *out[2] = { seg(2, 20, 250, "a", "f"), seg(2, 21, 750, "g", "z") };
    atomic_store(&out[0]->reads, 150);
    atomic_store(&out[0]->writes, 25);
    atomic_store(&out[1]->reads, 450);
    atomic_store(&out[1]->writes, 75);
    am_version *v2 = build(out, 2);
    am_job job;
    job_init(&job);
    job_add_input(&job, 1, 10);
    job_add_input(&job, 2, 11);
    job.out_level = 2;
    ctl_merged(&c, &job, v2);
    assert_int_equal(ctl_cooling(&c, 20, 4999), 1);      /* the latest input cooldown */
    assert_int_equal(ctl_cooling(&c, 21, 5000), 0);

    /* Their history goes on: a sample later, the window sees the inputs' share of reads
       before the merge plus what the outputs gained since. */
    atomic_store(&out[1]->reads, 450 + 300);
    ctl_sample(&c, v2, 200);
    ctl_verdict r = ctl_judge(&c, out[1], 0);
    assert_int_equal(r.reads, 450 + 300);                /* 0.75 * 600 + 300 */
    assert_int_equal(r.writes, 75);
    assert_int_equal(r.flag, CTL_NEED_LEVELED);
    r = ctl_judge(&c, out[0], 0);
    assert_int_equal(r.reads, 150);
    assert_int_equal(r.writes, 25);
    /* Gone segments are forgotten at the next sample. */
    assert_int_equal(c.n, 2);
    job_clear(&job);
    version_unref(v);
    version_unref(v2);
    for (int i = 0; i < 2; i++) { seg_unref(in[i]); seg_unref(out[i]); }
    ctl_free(&c);
}

static void test_moves_and_flushes(void **state)
{
    (void)state;
    controller c;
    ctl_init(&c, 800, 0.7, 0.7);
    am_segment *a = seg(1, 10, 1000, "a", "c");
    am_version *v = build(&a, 1);
    ctl_sample(&c, v, 0);
    atomic_store(&a->writes, 500);
    ctl_sample(&c, v, 100);
    /* A move keeps the id: nothing to inherit, the history stays. */
    am_job job;
    job_init(&job);
    job_add_input(&job, 1, 10);
    job.out_level = 2;
    job.trivial_move = 1;
    ctl_merged(&c, &job, v);
    assert_int_equal(ctl_judge(&c, a, 1).writes, 500);
    /* A flush registers its L0 segment with zero counters at the last sample. */
    am_segment *f = seg(0, 40, 100, "a", "z");
    am_segment *both[2] = { a, f };
    am_version *v2 = build(both, 2);
    ctl_flushed(&c, v2);
    atomic_store(&f->reads, 70);
    ctl_sample(&c, v2, 200);
    assert_int_equal(ctl_judge(&c, f, 0).reads, 70);
    job_clear(&job);
    version_unref(v);
    version_unref(v2);
    seg_unref(a);
    seg_unref(f);
    ctl_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule),
        cmocka_unit_test(test_inherit),
        cmocka_unit_test(test_moves_and_flushes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
