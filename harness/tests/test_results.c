/* test_results.c: runs the built amethystd on every workload with small key counts and
 * checks the JSON result: its shape and types, and its internal sums (ops per phase match
 * the workload's definition and the latency counts, counter deltas of the phases add up to
 * the totals, the timeline counts every operation once, percentiles ascend, buckets add up,
 * amplifications are null or finite and >= 0, user bytes and live bytes match what the
 * workload wrote). Never timings. Also: the same seed under -deterministic gives
 * byte-identical counters, another seed does not; several client threads keep the sums. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "amethyst.h"
#include "results_check.h"

/* amethystd's engine when none is named: adaptive once the engine has it (harness/main.c). */
static const char *default_engine(void)
{
    return strstr(am_strategy_names(), "adaptive") ? "adaptive" : "leveled";
}

/* shift: 14-byte keys, 256-byte values; db_bench: 16-byte keys; N = 2000. */
static const wl_case cases[] = {
    { "shift", { 3 * N / 2, N, N / 2, 3 * N }, { NO, 1, NO, 1 },
      { 3 * N / 2 * 270, 0, N / 2 * 270, 0 }, N, N * 270 },
    { "ycsb-a", { N, N }, { NO, 1 }, { NO, NO }, N, NO },
    { "ycsb-b", { N, N }, { NO, 1 }, { NO, NO }, N, NO },
    { "ycsb-c", { N, N }, { NO, 1 }, { NO, 0 }, N, NO },
    { "ycsb-d", { N, N }, { NO, NO }, { NO, NO }, NO, NO },
    { "ycsb-e", { N, N }, { NO, NO }, { NO, NO }, NO, NO },
    { "ycsb-f", { N, N }, { NO, 1 }, { NO, NO }, N, NO },
    { "fillseq", { N }, { NO }, { N * 272 }, N, N * 272 },
    { "fillrandom", { N }, { NO }, { N * 272 }, N, N * 272 },
    { "overwrite", { N }, { NO }, { N * 272 }, NO, NO },
    { "readrandom", { N }, { 0 }, { 0 }, 0, 0 },
    { "readmissing", { N }, { 0 }, { 0 }, 0, 0 },
    { "readseq", { (N + 999) / 1000 }, { NO }, { 0 }, 0, 0 },
    { "seekrandom", { N }, { NO }, { 0 }, 0, 0 },
    { "deleterandom", { N }, { NO }, { N * 16 }, 0, 0 },
    { "fillrandom,readmissing,readrandom", { N, N, N }, { NO, 0, 1 }, { N * 272, 0, 0 }, N,
      N * 272 },
};

static void every_workload(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wl_case *c = &cases[i];
        const char *extra[] = { "-workload", c->name, "-engine", "leveled", NULL };
        json_t *doc = run_json("wl", extra);
        check_doc(doc, "leveled");
        check_case(c, doc);
        /* Writes reached SSTables (tiny memtable): the amplifications are defined. */
        json_t *tot = get(doc, "totals");
        if (iget(get(tot, "bytes"), "flush_written") > 0) {
            assert_true(ratio(tot, "write_amplification") > 0);
            if (iget(get(tot, "end_state"), "logical_bytes") > 0)
                assert_true(ratio(tot, "space_amplification") > 0);
        }
        if (iget(tot, "point_lookups") > 0) assert_true(ratio(tot, "read_amplification") >= 0);
        json_decref(doc);
    }
}

/* A scan over the whole key space after deletes returns exactly the live keys the
 * harness's account holds (engine and bookkeeping agree); a workload file drives it. */
static void scan_sees_the_live_keys(void **state)
{
    (void)state;
    char wl[600];
    snprintf(wl, sizeof wl, "%s/scanall.json", g_dir);
    cu_write(wl, "{\"name\": \"scanall\", \"key_prefix\": \"\", \"key_digits\": 16,\n"
                 " \"phases\": [{\"name\": \"fill\", \"load\": true},\n"
                 "  {\"name\": \"del\", \"ops\": 700, \"mix\": {\"delete\": 1}},\n"
                 "  {\"name\": \"scan\", \"ops\": 1, \"distribution\": \"sequential\",\n"
                 "   \"mix\": {\"scan\": 1}, \"scan_length\": 2000}]}\n");
    const char *extra[] = { "-workload", wl, NULL };
    json_t *doc = run_json("scan", extra);
    check_doc(doc, default_engine());
    json_t *p = json_array_get(get(doc, "phases"), 2);
    long long live = iget(get(p, "end_state"), "live_keys");
    assert_true(live > N - 700 && live < N);    /* 700 uniform deletes, some repeated */
    assert_int_equal(iget(p, "scan_entries"), live);
    assert_int_equal(iget(get(p, "end_state"), "logical_bytes"), live * 272);
    json_t *del = json_array_get(get(doc, "phases"), 1);
    assert_int_equal(iget(get(del, "bytes"), "user_written"), 700 * 16);
    json_decref(doc);
}

/* ---- determinism ---- */

/* The counters of a result (no timings) as one canonical string (malloc'd): every counted
 * engine counter of engine.h's lists (HE_COUNT; microseconds are timings), by the top
 * object of its path ("bytes" for "bytes.user_written"), and the harness's own figures. */
static char *counters_of(const json_t *doc)
{
    static const char *const keep[] = {
        "write_amplification", "wal_amplification", "read_amplification",
        "blocks_per_lookup", "space_amplification", "gets", "scan_entries", "end_state", "ops",
    };
    json_t *out = json_array(), *p;
    size_t i;
    json_t *phases = json_deep_copy(get(doc, "phases"));
    json_array_append_new(phases, json_deep_copy(get(doc, "totals")));
    json_array_foreach(phases, i, p) {
        json_t *o = json_object();
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
            if (json_object_get(p, keep[k])) json_object_set(o, keep[k], json_object_get(p, keep[k]));
        for (int id = 0; id < HE_NCOUNTERS; id++) {
            const he_counter_info *ci = &he_counter_infos[id];
            if (ci->kind != HE_SUM || ci->unit != HE_COUNT) continue;
            char top[64];
            snprintf(top, sizeof top, "%.*s", (int)strcspn(ci->json, "."), ci->json);
            json_object_set(o, top, get(p, top));
        }
        json_array_append_new(out, o);
    }
    char *s = json_dumps(out, JSON_SORT_KEYS);
    json_decref(out);
    json_decref(phases);
    return s;
}

static char *deterministic_run(const char *seed)
{
    const char *extra[] = { "-workload", "shift", "-deterministic", "-seed", seed,
                            "-engine", "leveled", NULL };
    json_t *doc = run_json("det", extra);
    check_doc(doc, "leveled");
    json_t *cfg = get(doc, "config");
    assert_int_equal(iget(cfg, "threads"), 1);
    assert_int_equal(iget(cfg, "compaction_threads"), 0);
    assert_true(iget(get(doc, "totals"), "compactions") > 0);   /* something to compare */
    /* Compaction input bytes by source level add up to compaction_read; L0 is read. */
    json_t *tb = get(get(doc, "totals"), "bytes"), *lv = get(tb, "compaction_read_by_level");
    long long by_level = 0;
    for (size_t l = 0; l < json_array_size(lv); l++)
        by_level += json_integer_value(json_array_get(lv, l));
    assert_int_equal(by_level, iget(tb, "compaction_read"));
    assert_true(json_integer_value(json_array_get(lv, 0)) > 0);
    char *s = counters_of(doc);
    json_decref(doc);
    return s;
}

static void deterministic_counters(void **state)
{
    (void)state;
    char *a = deterministic_run("7"), *b = deterministic_run("7"), *c = deterministic_run("8");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_string_equal(a, b);
    assert_true(strcmp(a, c) != 0);       /* the comparison can tell runs apart */
    free(a);
    free(b);
    free(c);
}

/* ---- threads, the null engine, settle and pause ---- */

static void threads_keep_the_sums(void **state)
{
    (void)state;
    const char *extra[] = { "-workload", "shift", "-threads", "3", "-compaction-threads", "2",
                            "-settle", "-pause-ms", "20", NULL };
    json_t *doc = run_json("threads", extra);
    check_doc(doc, default_engine());
    check_case(&cases[0], doc);               /* shift's exact bytes and ops */
    json_t *phases = get(doc, "phases"), *p;
    size_t i, n = json_array_size(phases);
    json_array_foreach(phases, i, p) {
        assert_true(json_number_value(get(p, "settle_seconds")) >= 0);
        double pause = json_number_value(get(p, "pause_seconds"));
        if (i + 1 < n) assert_true(pause >= 0.019);
        else assert_true(pause == 0);         /* no pause after the last phase */
    }
    json_decref(doc);
}

static void null_engine_has_no_counters(void **state)
{
    (void)state;
    const char *extra[] = { "-workload", "ycsb-a", "-engine", "null", NULL };
    json_t *doc = run_json("null", extra);
    check_doc(doc, "null");
    json_t *tot = get(doc, "totals");
    assert_true(json_is_null(get(tot, "write_amplification")));
    assert_true(json_is_null(get(tot, "read_amplification")));
    assert_true(json_is_null(get(tot, "space_amplification")));
    assert_true(json_is_null(get(tot, "compactions")));
    assert_true(json_is_null(get(get(tot, "bytes"), "user_written")));
    /* ... but the harness's own account of live pairs is there. */
    assert_int_equal(iget(get(tot, "end_state"), "live_keys"), N);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_workload),
        cmocka_unit_test(scan_sees_the_live_keys),
        cmocka_unit_test(deterministic_counters),
        cmocka_unit_test(threads_keep_the_sums),
        cmocka_unit_test(null_engine_has_no_counters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
