/* results_check.h: what every result JSON of amethystd must satisfy, as helpers for the
 * tests that run it (test_results for Amethyst's engines, test_peers for RocksDB and
 * LevelDB): running it small into a temporary directory, reading fields, and the checks of
 * shape, types and internal sums (check_doc, check_case). Header-only, like cli_util.h;
 * the including test calls setup / teardown around its tests (they make and remove g_dir).
 * A figure an engine cannot provide is null in the JSON: the checks accept null wherever
 * the schema allows it and check the number otherwise. The engine counters' places and
 * types come from the harness's own lists (engine.h's HE_COUNTERS, HE_COUNTER_ARRAYS). Include <cmocka.h> (and what it
 * needs) first. */
#ifndef AM_HARNESS_TESTS_RESULTS_CHECK_H
#define AM_HARNESS_TESTS_RESULTS_CHECK_H

#include <math.h>

#include "../engine.h"
#include "cli_util.h"

#define N 2000                        /* -keys for every run */
#define NO -1                         /* "do not check" in the tables below */

static char g_dir[512];

static inline int setup(void **state)
{
    (void)state;
    cu_tmpdir(g_dir, sizeof g_dir);
    return g_dir[0] ? 0 : -1;
}

static inline int teardown(void **state)
{
    (void)state;
    cu_rmtree(g_dir);
    return 0;
}

/* Runs amethystd with the common small-run options plus extra (NULL-terminated) and
 * returns the parsed result; fails the test when the run fails. */
static inline json_t *run_json(const char *name, const char *const *extra)
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

static inline json_t *get(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!v) fprintf(stderr, "missing field '%s'\n", k);
    assert_non_null(v);
    return v;
}

static inline long long iget(const json_t *o, const char *k)
{
    json_t *v = get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* A ratio: null, or a finite number >= 0. Returns it, or -1 for null. */
static inline double ratio(const json_t *o, const char *k)
{
    json_t *v = get(o, k);
    if (json_is_null(v)) return -1;
    assert_true(json_is_number(v));
    double d = json_number_value(v);
    assert_true(isfinite(d) && d >= 0);
    return d;
}

static inline void check_latency(const json_t *l)
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
static inline long long check_phase(const json_t *p, const json_t *def, size_t index)
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

/* o's member at a dotted path ("bytes.user_written"); fails the test when it is missing. */
static inline json_t *get_path(const json_t *o, const char *path)
{
    char part[64];
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        snprintf(part, sizeof part, "%.*s", (int)(dot - path), path);
        o = get(o, part);
        path = dot + 1;
    }
    return get(o, path);
}

/* Counter id in o (a window or an end state) is null or of the counter's type. */
static inline void check_counter(const json_t *o, int id)
{
    const he_counter_info *ci = &he_counter_infos[id];
    json_t *v = get_path(o, ci->json);
    if (json_is_null(v)) return;
    if (ci->n > 1) {
        assert_true(ci->keys ? json_is_object(v) : json_is_array(v));
        assert_int_equal(ci->keys ? json_object_size(v) : json_array_size(v), ci->n);
        for (size_t i = 0; i < ci->n; i++) {
            json_t *x = ci->keys ? get(v, ci->keys[i]) : json_array_get(v, i);
            assert_true(json_is_integer(x) && json_integer_value(x) >= 0);
        }
    } else if (ci->unit == HE_MICROS) {
        assert_true(json_is_real(v) && json_real_value(v) >= 0);
    } else {
        assert_true(json_is_integer(v) && json_integer_value(v) >= 0);
    }
}

/* Element i of counter id in o, as an integer. */
static inline long long counter_at(const json_t *o, int id, size_t i)
{
    const he_counter_info *ci = &he_counter_infos[id];
    json_t *v = get_path(o, ci->json);
    if (ci->n > 1) v = ci->keys ? get(v, ci->keys[i]) : json_array_get(v, i);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* Every HE_SUM counter counted in integers (each element of an array): the phases' values
   add up to the totals', unless the totals have it null. */
static inline void check_sums(const json_t *doc)
{
    json_t *phases = get(doc, "phases"), *tot = get(doc, "totals"), *p;
    for (int id = 0; id < HE_NCOUNTERS; id++) {
        const he_counter_info *ci = &he_counter_infos[id];
        if (ci->kind != HE_SUM || ci->unit != HE_COUNT || json_is_null(get_path(tot, ci->json)))
            continue;
        for (size_t e = 0; e < ci->n; e++) {
            long long sum = 0;
            size_t i;
            json_array_foreach(phases, i, p) sum += counter_at(p, id, e);
            assert_int_equal(sum, counter_at(tot, id, e));
        }
    }
}

/* Every counter of the lists where the schema puts it, null or of its type: the HE_SUM
   ones in each phase and the totals, the HE_GAUGE ones in each end state and timeline
   sample, the timeline ones in each sample. */
static inline void check_counters(const json_t *doc)
{
    json_t *phases = get(doc, "phases"), *tot = get(doc, "totals"), *p;
    size_t i;
    for (int id = 0; id < HE_NCOUNTERS; id++) {
        if (he_counter_infos[id].kind == HE_SUM) {
            json_array_foreach(phases, i, p) check_counter(p, id);
            check_counter(tot, id);
        } else {
            json_array_foreach(phases, i, p) check_counter(get(p, "end_state"), id);
            check_counter(get(tot, "end_state"), id);
        }
        json_array_foreach(get(doc, "timeline"), i, p) {
            if (he_counter_infos[id].kind == HE_GAUGE) check_counter(get(p, "engine"), id);
            if (he_counter_infos[id].timeline) check_counter(p, id);
        }
    }
    check_sums(doc);
}

static inline void check_timeline(const json_t *doc, long long total_ops)
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
static inline long long check_doc(const json_t *doc, const char *engine)
{
    assert_string_equal(json_string_value(get(doc, "schema")), "amethyst-result/1");
    json_t *eng = get(doc, "engine");
    assert_string_equal(json_string_value(get(eng, "name")), engine);
    assert_true(json_is_boolean(get(eng, "counters_approximate")));
    json_t *approx = get(eng, "approximate_counters");
    assert_true(json_is_array(approx));
    assert_true(json_is_true(get(eng, "counters_approximate")) || json_array_size(approx) == 0);
    assert_true(json_is_object(get(eng, "settings")));
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
    check_counters(doc);
    /* The sums of counters the window objects carry too. */
    json_t *tb = get(tot, "bytes");
    if (!json_is_null(get(tb, "written"))) {
        long long sum = 0;
        json_array_foreach(phases, i, p) sum += iget(get(p, "bytes"), "written");
        assert_int_equal(sum, iget(tb, "written"));
        assert_int_equal(iget(tb, "written"), iget(tb, "wal_written") + iget(tb, "flush_written") +
                                                  iget(tb, "compaction_written"));
    }
    assert_true(json_equal(get(tb, "read"), get(tb, "compaction_read")));
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

static inline void check_case(const wl_case *c, const json_t *doc)
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

#endif
