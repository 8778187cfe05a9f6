/* test_cli.c: amethystd's command line, run as a program. -help lists every option with
 * its default in the table's order; -version and -list; bad input (unknown option, engine
 * or workload, -keys 0, negative or malformed numbers, a malformed workload file, an
 * unwritable -out, a -db holding something that is not a database) exits 2 with a reason
 * and, where there is one, the list of what is valid, before anything runs: no result
 * file, the foreign directory untouched. SIGINT during a run writes the finished phases
 * with "interrupted": true and exits 130. An existing database is reused, and its space
 * amplification is then unknown (null). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <time.h>

#include "cli_util.h"

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

/* Runs amethystd with args; returns its exit status, stdout and stderr (malloc'd). */
static int run(const char *const *args, char **out, char **err)
{
    char o[600], e[600];
    snprintf(o, sizeof o, "%s/stdout", g_dir);
    snprintf(e, sizeof e, "%s/stderr", g_dir);
    int st = cu_run(args, o, e);
    *out = cu_read(o);
    *err = cu_read(e);
    assert_non_null(*out);
    assert_non_null(*err);
    return st;
}

static void help_lists_every_option_in_order(void **state)
{
    (void)state;
    char *out, *err;
    const char *args[] = { "-help", NULL };
    assert_int_equal(run(args, &out, &err), 0);
    static const char *const order[] = {
        "-workload NAME", "-keys N", "-value-size BYTES", "-ops N", "-engine NAME",
        "-threads N", "-seed N", "-db DIR", "-keep", "-out FILE", "-sample-ms MS",
        "-pause-ms MS", "-settle", "-deterministic", "-memtable-mb MB", "-bloom-bits N",
        "-cache-mb MB", "-sync", "-compaction-threads N", "-engine-opt K=V,...", "-list",
        "-quiet", "-help",
        "-version",
    };
    const char *at = out;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *p = strstr(at, order[i]);
        if (!p) fprintf(stderr, "'%s' missing or out of order in:\n%s", order[i], out);
        assert_non_null(p);
        at = p + strlen(order[i]);
    }
    assert_non_null(strstr(out, "[default: shift]"));
    assert_non_null(strstr(out, "[default: 1000000]"));
    assert_non_null(strstr(out, "[default: 256]"));
    assert_non_null(strstr(out, "[default: 1000]"));
    free(out);
    free(err);
}

static void version_and_list(void **state)
{
    (void)state;
    char *out, *err;
    const char *v[] = { "--version", NULL };
    assert_int_equal(run(v, &out, &err), 0);
    assert_non_null(strstr(out, "amethystd "));
    assert_non_null(strstr(out, "(build "));
    free(out);
    free(err);
    const char *l[] = { "-list", NULL };
    assert_int_equal(run(l, &out, &err), 0);
    static const char *const names[] = { "shift", "ycsb-a", "ycsb-f", "fillrandom",
                                         "deleterandom", "null", "leveled" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_non_null(strstr(out, names[i]));
    free(out);
    free(err);
}

/* Bad input: exit 2, stderr says what (want), no result file. */
typedef struct bad_case {
    const char *args[8];
    const char *want;
} bad_case;

static void bad_input_exits_2(void **state)
{
    (void)state;
    char wl_bad[600], wl_syntax[600], out[600], outdir[600];
    snprintf(wl_bad, sizeof wl_bad, "%s/bad.json", g_dir);
    snprintf(wl_syntax, sizeof wl_syntax, "%s/syntax.json", g_dir);
    snprintf(out, sizeof out, "%s/never.json", g_dir);
    snprintf(outdir, sizeof outdir, "%s/no/such/dir/r.json", g_dir);
    cu_write(wl_bad, "{\"phases\": [{\"mix\": {\"reed\": 1}}]}");
    cu_write(wl_syntax, "{\"phases\": [");
    const bad_case cases[] = {
        { { "-bogus", NULL }, "-workload NAME" },             /* prints the valid options */
        { { "-keys", NULL }, "needs a value" },
        { { "stray", NULL }, "unexpected argument" },
        { { "-engine", "nosuch", NULL }, "valid: null, leveled" },
        { { "-workload", "nosuch", NULL }, "valid: shift, ycsb-a" },
        { { "-keys", "0", NULL }, "-keys 0" },
        { { "-keys", "-5", NULL }, "not a whole number" },
        { { "-value-size", "12x", NULL }, "not a whole number" },
        { { "-value-size", "0", NULL }, "-value-size 0" },
        { { "-memtable-mb", "-1", NULL }, "-memtable-mb" },
        { { "-cache-mb", "lots", NULL }, "-cache-mb" },
        { { "-threads", "0", NULL }, "-threads 0" },
        { { "-ops", "0", NULL }, "-ops 0" },
        { { "-sample-ms", "5", NULL }, "-sample-ms 5" },
        { { "-deterministic", "-threads", "2", NULL }, "one client thread" },
        { { "-workload", wl_bad, NULL }, "unknown operation 'reed'" },
        { { "-workload", wl_syntax, NULL }, "syntax.json" },
        { { "-out", outdir, NULL }, "cannot create a file" },
        { { "-out", g_dir, NULL }, "is a directory" },
        { { "-keep", "-db", g_dir, NULL }, "always kept" },
        { { "-engine", "leveled", "-engine-opt", "bogus=1", NULL }, "unknown option 'bogus'" },
        { { "-engine", "leveled", "-engine-opt", "tier_fanout=x", NULL }, "tier_fanout=x" },
        { { "-engine", "leveled", "-engine-opt", "level_fanout=1", NULL }, "level_fanout = 1" },
        { { "-engine", "leveled", "-engine-opt", "adapt_window", NULL }, "not NAME=VALUE" },
        { { "-engine", "null", "-engine-opt", "level_fanout=3", NULL }, "null has none" },
        { { "-engine", "leveldb", "-engine-opt", "level_fanout=3", NULL }, "leveldb has none" },
        { { "-engine", "leveled", "-engine-opt",
            "tier_fanout=00000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000004", NULL },
          "longer than 127 bytes" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Common options first: the case's own come later and win (the last value of an
           option counts), and "-keys" alone stays last. */
        const char *args[16] = { "-out", out, "-keys", "100" };
        int n = 4;
        for (int k = 0; cases[i].args[k]; k++) args[n++] = cases[i].args[k];
        args[n] = NULL;
        char *o, *e;
        int st = run(args, &o, &e);
        if (st != 2 || !strstr(e, cases[i].want))
            fprintf(stderr, "case %zu (%s): exit %d, stderr:\n%s\n", i, cases[i].args[0], st, e);
        assert_int_equal(st, 2);
        assert_non_null(strstr(e, cases[i].want));
        assert_false(cu_exists(out));
        free(o);
        free(e);
    }
}

/* A directory holding something else is refused and left exactly as it was. */
/* Entries of dir other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* A run refused for its options, its -db or its size creates nothing first: no results/
 * (the default -out), no -db directory, no temporary database. Run in an empty directory. */
static void refused_run_creates_nothing(void **state)
{
    (void)state;
    char cwd[600], file[700], fifo[700], newdb[700], o[700], e[700];
    snprintf(cwd, sizeof cwd, "%s/refused", g_dir);
    assert_int_equal(mkdir(cwd, 0755), 0);
    snprintf(file, sizeof file, "%s/a-file", g_dir);
    cu_write(file, "not a directory");
    snprintf(fifo, sizeof fifo, "%s/w.json", g_dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(newdb, sizeof newdb, "%s/new/db", cwd);
    snprintf(o, sizeof o, "%s/stdout", g_dir);
    snprintf(e, sizeof e, "%s/stderr", g_dir);
    /* Temporary databases go under tmp, which must stay empty too. */
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s/tmp", g_dir);
    assert_int_equal(mkdir(tmp, 0755), 0);
    const char *old_tmp = getenv("TMPDIR");
    char *saved = old_tmp ? strdup(old_tmp) : NULL;
    setenv("TMPDIR", tmp, 1);
    const bad_case cases[] = {
        { { "-engine-opt", "bogus=1", NULL }, "unknown option 'bogus'" },
        { { "-engine-opt", "tier_fanout=1", NULL }, "tier_fanout = 1" },
        { { "-engine-opt", "tier_fanout=1", "-db", newdb, NULL }, "tier_fanout = 1" },
        { { "-engine", "leveldb", "-engine-opt", "a=1", "-db", newdb, NULL }, "has none" },
        { { "-db", file, NULL }, "not a directory" },
        { { "-keys", "4611686018427387903", NULL }, "too many keys for this machine" },
        { { "-workload", fifo, "-db", newdb, NULL }, "not a regular file" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[16] = { "-keys", "100", "-workload", "fillseq" };
        int n = 4;
        for (int k = 0; cases[i].args[k]; k++) args[n++] = cases[i].args[k];
        args[n] = NULL;
        pid_t pid = cu_spawn_in(cwd, args, o, e);
        assert_true(pid > 0);
        int st = cu_wait(pid);
        char *err = cu_read(e);
        assert_non_null(err);
        if (st != 2 || !strstr(err, cases[i].want) || count_entries(cwd) != 0)
            fprintf(stderr, "case %zu (%s): exit %d, %d entries left, stderr:\n%s\n", i,
                    cases[i].args[0], st, count_entries(cwd), err);
        assert_int_equal(st, 2);
        assert_non_null(strstr(err, cases[i].want));
        assert_int_equal(count_entries(cwd), 0);    /* no results/, no new/db */
        assert_int_equal(count_entries(tmp), 0);    /* no temporary database */
        free(err);
    }
    if (saved) setenv("TMPDIR", saved, 1);
    else unsetenv("TMPDIR");
    free(saved);
    unlink(fifo);
}

static void foreign_db_dir_untouched(void **state)
{
    (void)state;
    char dir[600], file[700], out[600];
    snprintf(dir, sizeof dir, "%s/foreign", g_dir);
    snprintf(file, sizeof file, "%s/notes.txt", dir);
    snprintf(out, sizeof out, "%s/foreign.json", g_dir);
    mkdir(dir, 0755);
    cu_write(file, "precious\n");
    const char *args[] = { "-db", dir, "-keys", "100", "-out", out, NULL };
    char *o, *e;
    assert_int_equal(run(args, &o, &e), 2);
    assert_non_null(strstr(e, "no database"));
    free(o);
    free(e);
    char *text = cu_read(file);
    assert_non_null(text);
    assert_string_equal(text, "precious\n");
    free(text);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d));) entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1);
    assert_false(cu_exists(out));
    /* A regular file as -db is refused too. */
    const char *args2[] = { "-db", file, "-keys", "100", "-out", out, NULL };
    assert_int_equal(run(args2, &o, &e), 2);
    assert_non_null(strstr(e, "not a directory"));
    free(o);
    free(e);
}

static json_t *load(const char *path)
{
    json_t *j = cu_load_json(path);
    assert_non_null(j);
    return j;
}

/* A database from an earlier run is reused: its data is there (reads find it), and the
 * harness, not knowing what it held, reports space amplification as unknown. */
/* -engine-opt reaches am_options: the settings the JSON reports are the ones asked for. */
static void engine_opt_applies(void **state)
{
    (void)state;
    char out[600];
    snprintf(out, sizeof out, "%s/opt.json", g_dir);
    const char *args[] = { "-engine", "leveled", "-workload", "fillseq", "-keys", "300",
                           "-quiet", "-out", out, "-engine-opt",
                           "level_fanout=5,l1_target_bytes=1000000,adapt_window=2.5", NULL };
    char *o, *e;
    assert_int_equal(run(args, &o, &e), 0);
    free(o);
    free(e);
    json_t *r = load(out);
    json_t *s = json_object_get(json_object_get(r, "engine"), "settings");
    assert_int_equal(json_integer_value(json_object_get(s, "level_fanout")), 5);
    assert_int_equal(json_integer_value(json_object_get(s, "l1_target_bytes")), 1000000);
    assert_string_equal(json_string_value(json_object_get(s, "adapt_window")), "2.5");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "config"),
                                                          "engine_opt")),
                        "level_fanout=5,l1_target_bytes=1000000,adapt_window=2.5");
    json_decref(r);
}

static void existing_db_is_reused(void **state)
{
    (void)state;
    char dir[600], out1[600], out2[600];
    snprintf(dir, sizeof dir, "%s/db", g_dir);
    snprintf(out1, sizeof out1, "%s/fill.json", g_dir);
    snprintf(out2, sizeof out2, "%s/read.json", g_dir);
    const char *fill[] = { "-db", dir, "-workload", "fillseq", "-keys", "500", "-quiet",
                           "-out", out1, NULL };
    const char *read[] = { "-db", dir, "-workload", "readrandom", "-keys", "500", "-quiet",
                           "-out", out2, NULL };
    char *o, *e;
    assert_int_equal(run(fill, &o, &e), 0);
    free(o);
    free(e);
    assert_int_equal(run(read, &o, &e), 0);
    free(o);
    free(e);
    json_t *a = load(out1), *b = load(out2);
    json_t *ca = json_object_get(a, "config"), *cb = json_object_get(b, "config");
    assert_true(json_is_false(json_object_get(ca, "db_preexisting")));
    assert_true(json_is_true(json_object_get(cb, "db_preexisting")));
    json_t *p = json_array_get(json_object_get(b, "phases"), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "gets"), "found")), 500);
    assert_true(json_is_null(json_object_get(p, "space_amplification")));
    assert_true(json_is_number(json_object_get(json_object_get(a, "totals"),
                                               "space_amplification")));
    json_decref(a);
    json_decref(b);
}

/* SIGINT ~200 ms into a long run: exit 130, the JSON holds the finished phases (maybe
 * none) and "interrupted": true; the temporary database is removed. */
static void sigint_writes_finished_phases(void **state)
{
    (void)state;
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/int.json", g_dir);
    snprintf(err, sizeof err, "%s/int.err", g_dir);
    const char *args[] = { "-workload", "fillseq,readrandom,readrandom,readrandom", "-keys",
                           "20000", "-ops", "100000000", "-sample-ms", "50", "-out", out, NULL };
    pid_t pid = cu_spawn(args, NULL, err);
    assert_true(pid > 0);
    struct timespec ts = { 0, 200 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    kill(pid, SIGINT);
    int st = cu_wait(pid);
    if (st != 130) {
        char *text = cu_read(err);
        fprintf(stderr, "exit %d:\n%s\n", st, text ? text : "");
        free(text);
    }
    assert_int_equal(st, 130);
    json_t *doc = load(out);
    assert_true(json_is_true(json_object_get(doc, "interrupted")));
    assert_true(json_is_null(json_object_get(doc, "error")));
    json_t *phases = json_object_get(doc, "phases"), *p;
    assert_true(json_array_size(phases) < 4);
    size_t i;
    json_array_foreach(phases, i, p)
        assert_int_equal(json_integer_value(json_object_get(p, "ops")),
                         json_integer_value(json_object_get(p, "ops_expected")));
    const char *ip = json_string_value(json_object_get(doc, "interrupted_phase"));
    if (ip) assert_string_equal(ip, json_array_size(phases) ? "readrandom" : "fillseq");
    const char *db = json_string_value(json_object_get(json_object_get(doc, "config"), "db"));
    assert_non_null(db);
    assert_false(cu_exists(db));
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_lists_every_option_in_order),
        cmocka_unit_test(version_and_list),
        cmocka_unit_test(bad_input_exits_2),
        cmocka_unit_test(refused_run_creates_nothing),
        cmocka_unit_test(foreign_db_dir_untouched),
        cmocka_unit_test(existing_db_is_reused),
        cmocka_unit_test(engine_opt_applies),
        cmocka_unit_test(sigint_writes_finished_phases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
