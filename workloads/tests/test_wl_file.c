/* test_wl_file.c: JSON workload files: the full schema, defaults and what the command
 * line fills in, "xN" counts (shift written as a file equals the built-in), and a table
 * of bad files, each refused with the field and phase named. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>
#include "wl_testutil.h"

/* Parses text as a workload file with params p; returns wl_build's status. */
static int parse(const char *text, const wl_params *p, wl_workload *w, char *err, size_t cap,
                 char *path, size_t pathcap)
{
    wt_write_temp(path, pathcap, text);
    int rc = wl_build(path, p, w, err, cap);
    unlink(path);
    return rc;
}

static void test_full_schema(void **state)
{
    (void)state;
    const char *text =
        "{\n"
        "  \"name\": \"mine\", \"description\": \"two phases\",\n"
        "  \"keys\": 5000, \"key_format\": \"padded\", \"key_prefix\": \"k\",\n"
        "  \"key_digits\": 8,\n"
        "  \"phases\": [\n"
        "    {\"name\": \"fill\", \"load\": true},\n"
        "    {\"name\": \"mixed\", \"ops\": 12345,\n"
        "     \"mix\": {\"read\": 0.5, \"update\": 0.25, \"scan\": 0.125, \"rmw\": 0.125,\n"
        "             \"read_missing\": 0, \"insert\": 0, \"delete\": 0},\n"
        "     \"distribution\": \"zipfian\", \"zipf_theta\": 0.8, \"range\": [0.25, 0.75],\n"
        "     \"value_size\": 1000, \"scan_length\": [5, 50]},\n"
        "    {\"mix\": {\"scan\": 1}, \"distribution\": \"sequential\", \"scan_length\": 10,\n"
        "     \"ops\": \"0.5N\", \"sequential_prefix\": 7}\n"
        "  ]\n"
        "}\n";
    wl_params p = { .keys = 99, .value_size = 64, .ops = 77 };
    wl_workload w;
    char err[512], path[256];
    int rc = parse(text, &p, &w, err, sizeof err, path, sizeof path);
    if (rc) print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_string_equal(w.name, "mine");
    assert_string_equal(w.description, "two phases");
    assert_int_equal(w.keys, 5000);                 /* the file's keys win over -keys */
    assert_int_equal(w.key_format, KEYS_PADDED);
    assert_string_equal(w.key_prefix, "k");
    assert_int_equal(w.key_digits, 8);
    char k[64];
    assert_int_equal(wl_key(&w, 42, k), 9);
    assert_memory_equal(k, "k00000042", 9);
    assert_int_equal(w.nphases, 3);

    const wl_phase *a = &w.phases[0], *b = &w.phases[1], *c = &w.phases[2];
    assert_string_equal(a->name, "fill");
    assert_int_equal(a->sequential_fill, 1);
    assert_int_equal(a->ops, 5000);                 /* a load covers its range */
    assert_int_equal(a->dist, DIST_SEQUENTIAL);
    assert_int_equal(a->value_size, 64);            /* -value-size fills in */

    assert_string_equal(b->name, "mixed");
    assert_int_equal(b->ops, 12345);
    assert_true(b->mix.weight[OP_READ] == 0.5 && b->mix.weight[OP_UPDATE] == 0.25 &&
                b->mix.weight[OP_SCAN] == 0.125 && b->mix.weight[OP_RMW] == 0.125 &&
                b->mix.weight[OP_INSERT] == 0.0);
    assert_int_equal(b->dist, DIST_ZIPFIAN);
    assert_true(b->zipf_theta == 0.8);
    assert_true(b->range_lo == 0.25 && b->range_hi == 0.75);
    assert_int_equal(b->value_size, 1000);
    assert_int_equal(b->scan_min, 5);
    assert_int_equal(b->scan_max, 50);

    assert_string_equal(c->name, "phase3");         /* default name: 1-based position */
    assert_int_equal(c->ops, 2500);
    assert_int_equal(c->sequential_prefix, 7);
    assert_int_equal(c->scan_min, 10);
    assert_int_equal(c->scan_max, 10);

    /* The parsed phases generate: the zipfian phase stays inside its range. */
    uint64_t cnt;
    wl_op *o = wt_drain(&w, 1, NULL, 1, 0, 1, &cnt);
    assert_int_equal(cnt, 12345);
    for (uint64_t i = 0; i < cnt; i++) assert_true(o[i].key >= 1250 && o[i].key < 3750);
    free(o);
    wl_free(&w);
}

static void test_defaults(void **state)
{
    (void)state;
    wl_params p = { .keys = 300, .value_size = 48, .ops = 0 };
    wl_workload w;
    char err[512], path[256];
    assert_int_equal(parse("{\"phases\": [{\"mix\": {\"read\": 1}}]}", &p, &w, err, sizeof err,
                           path, sizeof path), 0);
    /* name: the file's base name without .json */
    const char *base = strrchr(path, '/') + 1;
    assert_int_equal(strlen(w.name), strlen(base) - 5);
    assert_memory_equal(w.name, base, strlen(w.name));
    assert_int_equal(w.keys, 300);                  /* -keys when the file has none */
    assert_int_equal(w.key_format, KEYS_PADDED);
    assert_string_equal(w.key_prefix, "key-");
    assert_int_equal(w.key_digits, 10);
    const wl_phase *ph = &w.phases[0];
    assert_string_equal(ph->name, "phase1");
    assert_int_equal(ph->ops, 300);                 /* no ops, no -ops: N */
    assert_int_equal(ph->dist, DIST_UNIFORM);
    assert_true(ph->zipf_theta == 0.99);
    assert_true(ph->range_lo == 0.0 && ph->range_hi == 1.0);
    assert_int_equal(ph->value_size, 48);
    assert_int_equal(ph->scan_min, 1);
    assert_int_equal(ph->scan_max, 100);
    wl_free(&w);

    p.ops = 1234;                                   /* -ops fills in a missing ops */
    assert_int_equal(parse("{\"key_format\": \"hashed\", \"phases\": [{\"mix\": {\"read\": 1}},"
                           " {\"mix\": {\"read\": 1}, \"ops\": 5}]}", &p, &w, err, sizeof err,
                           path, sizeof path), 0);
    assert_int_equal(w.phases[0].ops, 1234);
    assert_int_equal(w.phases[1].ops, 5);
    assert_int_equal(w.key_format, KEYS_HASHED);
    assert_string_equal(w.key_prefix, "user");
    wl_free(&w);

    /* "xN" counts round down, but not below a whole product hidden by rounding error. */
    static const struct { uint64_t n; const char *ops; uint64_t want; } c[] = {
        { 1000000, "\"0.9N\"", 900000 }, { 999999, "\"1.5N\"", 1499998 },
        { 1001, "\"0.5N\"", 500 }, { 7, "\"N\"", 7 }, { 100, "\"0.01N\"", 1 },
        { 1000000, "\"3N\"", 3000000 }, { 5, "1e3", 1000 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": %s}]}",
                 c[i].ops);
        p.keys = c[i].n;
        assert_int_equal(parse(text, &p, &w, err, sizeof err, path, sizeof path), 0);
        assert_int_equal(w.phases[0].ops, c[i].want);
        wl_free(&w);
    }
}

/* shift written as a file is the built-in, phase for phase. */
static void test_shift_as_file(void **state)
{
    (void)state;
    const char *text =
        "{\"name\": \"shift\", \"phases\": [\n"
        " {\"name\": \"write\", \"ops\": \"1.5N\", \"sequential_prefix\": \"N\",\n"
        "  \"mix\": {\"update\": 1}},\n"
        " {\"name\": \"read\", \"ops\": \"N\", \"mix\": {\"read\": 1}, \"range\": [0, 0.9]},\n"
        " {\"name\": \"write\", \"ops\": \"0.5N\", \"mix\": {\"update\": 1}},\n"
        " {\"name\": \"read-after-overwrites\", \"ops\": \"3N\", \"mix\": {\"read\": 1}}]}";
    static const uint64_t ns[] = { 1000, 1001, 999999, 1000000 };
    for (size_t i = 0; i < 4; i++) {
        wl_params p = { .keys = ns[i], .value_size = 256 };
        wl_workload f, b;
        char err[512], path[256];
        assert_int_equal(parse(text, &p, &f, err, sizeof err, path, sizeof path), 0);
        assert_int_equal(wl_build("shift", &p, &b, err, sizeof err), 0);
        assert_int_equal(f.nphases, b.nphases);
        for (size_t k = 0; k < f.nphases; k++) {
            const wl_phase *x = &f.phases[k], *y = &b.phases[k];
            assert_string_equal(x->name, y->name);
            assert_int_equal(x->ops, y->ops);
            assert_int_equal(x->sequential_prefix, y->sequential_prefix);
            assert_int_equal(x->dist, y->dist);
            assert_true(x->range_lo == y->range_lo && x->range_hi == y->range_hi);
            assert_memory_equal(&x->mix, &y->mix, sizeof x->mix);
        }
        wl_free(&f);
        wl_free(&b);
    }
}

static void test_bad_files(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;   /* must appear in the error */
    } bad[] = {
        { "{", ".json:1:" },                                        /* JSON syntax */
        { "[]", "a workload file is a JSON object" },
        { "{\"phases\": []}", "phases: must be an array of 1 to" },
        { "{\"name\": \"x\"}", "phases: must be an array" },
        { "{\"phase\": [{\"mix\": {\"read\": 1}}]}", "top level: unknown field 'phase'" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}}], \"phases\": []}", "duplicate" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}}, {\"mix\": {\"read\": 1}},"
          " {\"mix\": {\"read\": -1, \"update\": 2}}]}",
          "phases[2].mix: weights must be >= 0 and not all 0" },
        { "{\"phases\": [{\"mix\": {\"read\": 0, \"update\": 0}}]}",
          "phases[0].mix: weights must be >= 0 and not all 0" },
        { "{\"phases\": [{\"mix\": {}}]}", "phases[0].mix: weights must be >= 0 and not all 0" },
        { "{\"phases\": [{\"mix\": {\"read\": 1e308, \"update\": 1e308}}]}",
          "phases[0].mix: weights must add up to a finite number" },
        { "{\"phases\": [{\"mix\": {\"reed\": 1}}]}", "phases[0].mix: unknown operation 'reed'" },
        { "{\"phases\": [{\"mix\": {\"read\": \"1\"}}]}", "phases[0].mix: weight of 'read'" },
        { "{\"phases\": [{\"mix\": [1]}]}", "phases[0].mix: must be an object" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"distrbution\": \"uniform\"}]}",
          "phases[0]: unknown field 'distrbution'" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"distribution\": \"gaussian\"}]}",
          "phases[0].distribution: must be one of" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"range\": [0.5, 0.2]}]}",
          "phases[0].range: must be [lo, hi]" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"range\": [0, 1.5]}]}", "phases[0].range" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"range\": [0.1]}]}", "phases[0].range" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"zipf_theta\": 1.0}]}",
          "phases[0].zipf_theta: must be a number with 0 < theta < 1" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": 0}]}", "phases[0].ops: must be > 0" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": -5}]}",
          "phases[0].ops: must be a whole number" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": 2.5}]}", "phases[0].ops: must be" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": \"halfN\"}]}", "phases[0].ops: must" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": \"2M\"}]}", "phases[0].ops: must" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": \"-1N\"}]}", "phases[0].ops: must" },
        { "{\"keys\": 0, \"phases\": [{\"mix\": {\"read\": 1}}]}", "keys: must be a whole" },
        { "{\"keys\": \"1000\", \"phases\": [{\"mix\": {\"read\": 1}}]}", "keys: must be" },
        { "{\"key_format\": \"binary\", \"phases\": [{\"mix\": {\"read\": 1}}]}",
          "key_format: must be \"padded\" or \"hashed\"" },
        { "{\"key_prefix\": \"0123456789abcdef\", \"phases\": [{\"mix\": {\"read\": 1}}]}",
          "key_prefix: must be a string of at most 15 bytes" },
        { "{\"key_format\": \"hashed\", \"key_digits\": 4, \"phases\": [{\"mix\": {\"read\": 1}}]}",
          "key_digits: applies to padded keys only" },
        { "{\"key_digits\": 21, \"phases\": [{\"mix\": {\"read\": 1}}]}", "key_digits: must be" },
        { "{\"phases\": [{\"mix\": {\"scan\": 1}, \"scan_length\": [0, 10]}]}",
          "phases[0].scan_length: must be n or [min, max]" },
        { "{\"phases\": [{\"mix\": {\"scan\": 1}, \"scan_length\": [10, 5]}]}",
          "phases[0].scan_length" },
        { "{\"phases\": [{\"mix\": {\"scan\": 1}, \"scan_length\": 0}]}", "phases[0].scan_length" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"value_size\": -1}]}",
          "phases[0].value_size: must be a whole number" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"value_size\": 1e9}]}", "phases[0].value_size" },
        { "{\"phases\": [{\"ops\": 5}]}", "phases[0]: missing field 'mix'" },
        { "{\"phases\": [{\"load\": true, \"mix\": {\"read\": 1}}]}",
          "phases[0]: a load phase takes no mix" },
        { "{\"phases\": [{\"load\": 1}]}", "phases[0].load: must be true or false" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"ops\": 10, \"sequential_prefix\": 11}]}",
          "phases[0].sequential_prefix: 11 is more than the phase's ops (10)" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"name\": \"\"}]}", "phases[0].name: must be" },
        { "{\"phases\": [{\"mix\": {\"read\": 1}, \"name\": "
          "\"0123456789012345678901234567890123456789012345678\"}]}", "phases[0].name" },
        { "{\"phases\": [7]}", "phases[0]: must be an object" },
        { "{\"name\": 5, \"phases\": [{\"mix\": {\"read\": 1}}]}", "name: must be a string" },
        { "{\"description\": [], \"phases\": [{\"mix\": {\"read\": 1}}]}", "description: must" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wl_params p = { .keys = 100 };
        wl_workload w;
        char err[512], path[256];
        int rc = parse(bad[i].text, &p, &w, err, sizeof err, path, sizeof path);
        if (rc != -1 || !strstr(err, bad[i].want) || strncmp(err, path, strlen(path)) != 0)
            print_error("case %zu: rc %d, error \"%s\", wanted \"%s\"\n", i, rc, err,
                        bad[i].want);
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, bad[i].want));
        assert_memory_equal(err, path, strlen(path));    /* the error names the file */
        assert_null(strchr(err, '\n'));
        assert_int_equal(w.nphases, 0);
        assert_null(w.phases);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    wl_params p = { .keys = 100 };
    wl_workload w;
    char err[512];
    assert_int_equal(wl_build("/nonexistent/dir/w.json", &p, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/w.json"));
    assert_int_equal(w.nphases, 0);
}

/* A FIFO would block json_load_file forever: refused before it is opened. */
static void test_not_regular_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/wlfifo-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/x.json", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    wl_params p = { .keys = 100 };
    wl_workload w;
    char err[512];
    assert_int_equal(wl_build(path, &p, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(w.nphases, 0);
    snprintf(path, sizeof path, "%s/d.json", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(wl_build(path, &p, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    rmdir(path);
    snprintf(path, sizeof path, "%s/x.json", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_schema),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shift_as_file),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_not_regular_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
