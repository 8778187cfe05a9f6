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

#include <math.h>

#include "cli_util.h"

#define N 2000                        /* -keys for every run */
#define NO -1                         /* "do not check" in the tables below */

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    cu_tmpdir(g_dir, sizeof g_dir);
    return g_dir[0] ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cu_rmtree(g_dir);
    return 0;
}

/* Runs amethystd with the common small-run options plus extra (NULL-terminated) and
 * returns the parsed result; fails the test when the run fails. */
static json_t *run_json(const char *name, const char *const *extra)
{
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/%s.json", g_dir, name);
    snprintf(err, sizeof err, "%s/%s.err", g_dir, name);
    const char *args[48] = { "-keys", "2000", "-memtable-mb", "0.0625", "-sample-ms", "10",
                             "-out", out };
    int n = 8;
    for (int i = 0; extra[i]; i++) args[n++] = extra[i];
    args[n] = NULL;
    int st = cu_run(args, NULL, err);
    if (st != 0) {
        char *text = cu_read(err);
        fprintf(stderr, "amethystd exited %d:\n%s\n", st, text ? text : "");
        free(text);
    }
    assert_int_equal(st, 0);
    json_t *doc = cu_load_json(out);
    assert_non_null(doc);
    return doc;
}

static json_t *get(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!v) fprintf(stderr, "missing field '%s'\n", k);
    assert_non_null(v);
    return v;
}

static long long iget(const json_t *o, const char *k)
{
    json_t *v = get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* A ratio: null, or a finite number >= 0. Returns it, or -1 for null. */
static double ratio(const json_t *o, const char *k)
{
    json_t *v = get(o, k);
    if (json_is_null(v)) return -1;
    assert_true(json_is_number(v));
    double d = json_number_value(v);
    assert_true(isfinite(d) && d >= 0);
    return d;
}

static void check_latency(const json_t *l)
{
    long long count = iget(l, "count");
    assert_true(count > 0);
    static const char *const order[] = { "min", "p50", "p90", "p99", "p999", "p9999", "max" };
    long long prev = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        long long v = iget(l, order[i]);
        assert_true(v >= prev);
        prev = v;
    }
    double mean = json_number_value(get(l, "mean_ns"));
    assert_true(mean >= (double)iget(l, "min") && mean <= (double)iget(l, "max"));
    json_t *cl = get(l, "clamped");
    assert_true(iget(cl, "low") + iget(cl, "high") <= count);
    json_t *b = get(l, "buckets");
    long long sum = 0, last_hi = 0;
    size_t i;
    json_t *e;
    json_array_foreach(b, i, e) {
        assert_int_equal(json_array_size(e), 3);
        long long lo = json_integer_value(json_array_get(e, 0));
        long long hi = json_integer_value(json_array_get(e, 1));
        long long c = json_integer_value(json_array_get(e, 2));
        assert_true(lo >= last_hi && hi > lo && c > 0);
        last_hi = hi;
        sum += c;
    }
    assert_int_equal(sum, count);
}

/* Checks one phase against its definition; returns its ops. */
static long long check_phase(const json_t *p, const json_t *def, size_t index)
{
    assert_string_equal(json_string_value(get(p, "name")), json_string_value(get(def, "name")));
    assert_int_equal(iget(p, "index"), (long long)index);
    long long ops = iget(p, "ops");
    assert_int_equal(ops, iget(def, "ops"));
    assert_int_equal(ops, iget(p, "ops_expected"));
    assert_true(json_number_value(get(p, "seconds")) >= 0);
    json_t *lat = get(p, "latency"), *l;
    const char *op;
    long long sum = 0, gets = 0;
    json_object_foreach(lat, op, l) {
        check_latency(l);
        sum += iget(l, "count");
        if (!strcmp(op, "read") || !strcmp(op, "read_missing") || !strcmp(op, "rmw"))
            gets += iget(l, "count");
    }
    assert_int_equal(sum, ops);
    json_t *g = get(p, "gets");
    assert_int_equal(iget(g, "found") + iget(g, "not_found"), gets);
    /* The engine counted the same lookups, and found the same keys, as the harness. */
    if (json_is_integer(get(p, "point_lookups"))) {
        assert_int_equal(iget(p, "point_lookups"), gets);
        assert_int_equal(iget(p, "lookups_found"), iget(g, "found"));
    }
    static const char *const ratios[] = { "write_amplification", "wal_amplification",
                                          "read_amplification", "blocks_per_lookup",
                                          "space_amplification", "wa", "ra" };
    for (size_t i = 0; i < sizeof ratios / sizeof ratios[0]; i++) ratio(p, ratios[i]);
    assert_true(json_equal(get(p, "duration_sec"), get(p, "seconds")));
    return ops;
}

/* Sums over the phases of a counter inside obj (NULL: the phase itself) equal the totals. */
static void check_sum(const json_t *doc, const char *obj, const char *k)
{
    json_t *phases = get(doc, "phases"), *tot = get(doc, "totals"), *p;
    if (obj) tot = get(tot, obj);
    if (json_is_null(get(tot, k))) return;
    long long sum = 0;
    size_t i;
    json_array_foreach(phases, i, p) sum += iget(obj ? get(p, obj) : p, k);
    assert_int_equal(sum, iget(tot, k));
}

static void check_timeline(const json_t *doc, long long total_ops)
{
    json_t *tl = get(doc, "timeline"), *s;
    size_t i;
    double t = 0;
    long long ops = 0;
    assert_true(json_array_size(tl) >= 1);
    json_array_foreach(tl, i, s) {
        double ts = json_number_value(get(s, "t"));
        assert_true(ts >= t);
        t = ts;
        ops += iget(s, "ops");
        assert_true(json_is_string(get(s, "state")));
        json_t *p99 = get(s, "p99_ns"), *p50 = get(s, "p50_ns");
        if (iget(s, "ops") > 0) assert_true(json_integer_value(p50) <= json_integer_value(p99));
        else assert_true(json_is_null(p99));
        ratio(s, "write_amplification");
        ratio(s, "read_amplification");
        ratio(s, "space_amplification");
        assert_true(json_is_object(get(s, "engine")));
    }
    assert_int_equal(ops, total_ops);          /* every operation in exactly one interval */
}

/* The shape every result has, and its sums. Returns the total ops. */
static long long check_doc(const json_t *doc, const char *engine)
{
    assert_string_equal(json_string_value(get(doc, "schema")), "amethyst-result/1");
    assert_string_equal(json_string_value(get(get(doc, "engine"), "name")), engine);
    assert_true(json_is_string(get(get(doc, "build"), "revision")));
    const char *start = json_string_value(get(doc, "start_time"));
    assert_non_null(start);
    assert_int_equal(strlen(start), 20);        /* 2025-01-31T12:34:56Z */
    assert_true(start[10] == 'T' && start[19] == 'Z');
    json_t *m = get(doc, "machine");
    assert_true(json_is_integer(get(m, "cores")) && json_is_string(get(m, "kernel")));
    assert_true(json_is_object(get(doc, "config")));
    assert_true(json_is_false(get(doc, "interrupted")));
    assert_true(json_is_null(get(doc, "error")));
    json_t *defs = get(get(doc, "workload"), "phases"), *phases = get(doc, "phases"), *p;
    assert_int_equal(json_array_size(phases), json_array_size(defs));
    size_t i;
    long long ops = 0;
    json_array_foreach(phases, i, p) ops += check_phase(p, json_array_get(defs, i), i);
    json_t *tot = get(doc, "totals");
    assert_int_equal(iget(tot, "ops"), ops);
    assert_int_equal(iget(tot, "phases"), (long long)json_array_size(defs));
    static const char *const bytes[] = { "user_written", "wal_written", "flush_written",
                                         "compaction_written", "compaction_read", "written" };
    for (size_t k = 0; k < sizeof bytes / sizeof bytes[0]; k++) check_sum(doc, "bytes", bytes[k]);
    static const char *const counts[] = { "compactions", "flushes", "switches", "point_lookups",
                                          "segments_probed", "blocks_read", "stall_count" };
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) check_sum(doc, NULL, counts[k]);
    ratio(tot, "write_amplification");
    ratio(tot, "read_amplification");
    ratio(tot, "space_amplification");
    assert_true(json_equal(get(tot, "total_duration_sec"), get(tot, "wall_seconds")));
    check_timeline(doc, ops);
    return ops;
}

/* ---- every workload ---- */

typedef struct wl_case {
    const char *name;
    long long ops[4];             /* per phase; 0 ends the list */
    int found[4];                 /* 1: every get finds its key; 0: none does; NO */
    long long user_bytes[4];      /* bytes.user_written per phase, or NO */
    long long live_keys;          /* at the end, or NO */
    long long logical;            /* logical bytes at the end, or NO */
} wl_case;

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

static void check_case(const wl_case *c, const json_t *doc)
{
    json_t *phases = get(doc, "phases");
    size_t n = 0;
    while (n < 4 && c->ops[n]) n++;
    assert_int_equal(json_array_size(phases), n);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(phases, i), *g = get(p, "gets");
        assert_int_equal(iget(p, "ops"), c->ops[i]);
        if (c->found[i] == 1) assert_int_equal(iget(g, "not_found"), 0);
        if (c->found[i] == 0) assert_int_equal(iget(g, "found"), 0);
        if (c->user_bytes[i] != NO)
            assert_int_equal(iget(get(p, "bytes"), "user_written"), c->user_bytes[i]);
    }
    json_t *end = get(get(doc, "totals"), "end_state");
    if (c->live_keys != NO) assert_int_equal(iget(end, "live_keys"), c->live_keys);
    if (c->logical != NO) assert_int_equal(iget(end, "logical_bytes"), c->logical);
}

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
    check_doc(doc, "leveled");
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

/* The counters of a result (no timings) as one canonical string (malloc'd). */
static char *counters_of(const json_t *doc)
{
    static const char *const keep[] = {
        "bytes", "compactions", "flushes", "switches", "switches_to_leveled",
        "switches_to_tiered", "point_lookups", "lookups_found", "segments_probed",
        "blocks_read", "write_amplification", "wal_amplification", "read_amplification",
        "blocks_per_lookup", "space_amplification", "gets", "scan_entries", "end_state",
        "ops", "stall_count",
    };
    json_t *out = json_array(), *p;
    size_t i;
    json_t *phases = json_deep_copy(get(doc, "phases"));
    json_array_append_new(phases, json_deep_copy(get(doc, "totals")));
    json_array_foreach(phases, i, p) {
        json_t *o = json_object();
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
            if (json_object_get(p, keep[k])) json_object_set(o, keep[k], json_object_get(p, keep[k]));
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
    check_doc(doc, "leveled");
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
