/* test_peers.c: the peer engines (harness/engines/rocksdb.c, leveldb.c; docs/engines.md).
 * Through the adapter interface: each peer puts, gets into a caller's buffer (also one too
 * small), deletes, scans, counts the user bytes and lookups exactly, marks the figures it
 * cannot give as unavailable (never a zero standing in for one), goes idle after its
 * flushes and compactions, and refuses what it cannot do (-deterministic, inline
 * compaction, an unknown variant) with -2. Through amethystd: each peer runs
 * fillrandom,readrandom,seekrandom and shift small, and its JSON passes the same checks as
 * Amethyst's (results_check.h) plus each peer's own null and approximate fields and
 * settings; a -db holding another engine's database is refused and left as it was, and
 * he_db_kind tells every engine's directory apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <time.h>

#include "../engine.h"
#include "results_check.h"

static const char *const peers[] = { "rocksdb-leveled", "rocksdb-universal", "leveldb" };
#define NPEERS (sizeof peers / sizeof peers[0])

static int is_leveldb(const char *name) { return !strcmp(name, "leveldb"); }

/* ---- the adapters ---- */

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Polls busy() until idle; fails after 20 s. */
static void wait_idle(const he_ops *ops, he_engine *e)
{
    for (int i = 0; i < 2000 && ops->busy(e); i++) sleep_ms(10);
    assert_int_equal(ops->busy(e), 0);
}

static void one_adapter(const char *name)
{
    char dir[512], err[512];
    cu_tmpdir(dir, sizeof dir);
    const char *variant;
    const he_ops *ops = he_find(name, &variant);
    assert_non_null(ops);
    he_config c = { .dir = dir, .memtable_bytes = 64 << 10, .bloom_bits = 10,
                    .cache_bytes = 1 << 20, .compaction_threads = 1 };
    he_engine *e;
    assert_int_equal(ops->open(&c, variant, &e, err, sizeof err), 0);
    he_counters k0;
    assert_int_equal(ops->counters(e, &k0), 0);
    char key[16], val[300], buf[300];
    size_t vn;
    for (int i = 0; i < 4000; i++) {
        snprintf(key, sizeof key, "k%06d", (i * 7919) % 4000);   /* every key, shuffled */
        memset(val, 'a' + (i * 7919) % 4000 % 26, sizeof val);
        assert_int_equal(ops->put(e, key, 7, val, sizeof val), 0);
    }
    assert_int_equal(ops->get(e, "k000042", 7, buf, sizeof buf, &vn), 0);
    assert_int_equal(vn, 300);
    assert_int_equal(buf[0], 'a' + 42 % 26);
    assert_int_equal(buf[299], 'a' + 42 % 26);
    memset(buf, 0, sizeof buf);
    assert_int_equal(ops->get(e, "k000043", 7, buf, 10, &vn), 0);   /* short buffer */
    assert_int_equal(vn, 300);
    assert_int_equal(buf[9], 'a' + 43 % 26);
    assert_int_equal(buf[10], 0);                                    /* nothing past cap */
    assert_int_equal(ops->get(e, "nokey", 5, buf, sizeof buf, &vn), 1);
    assert_int_equal(ops->del(e, "k000042", 7), 0);
    assert_int_equal(ops->get(e, "k000042", 7, buf, sizeof buf, &vn), 1);
    uint32_t got;
    assert_int_equal(ops->scan(e, "k000040", 7, 5, &got), 0);
    assert_int_equal(got, 5);                  /* 40, 41, 43, 44, 45 */
    assert_int_equal(ops->scan(e, "k003998", 7, 100, &got), 0);
    assert_int_equal(got, 2);
    assert_int_equal(ops->scan(e, "z", 1, 100, &got), 0);
    assert_int_equal(got, 0);
    wait_idle(ops, e);

    he_counters k;
    assert_int_equal(ops->counters(e, &k), 0);
    assert_int_equal(k.user_bytes_written, 4000 * 307 + 7);   /* exact: counted by the adapter */
    assert_int_equal(k.point_lookups, 4);
    assert_int_equal(k.lookups_found, 2);
    assert_int_equal(k.avail[HE_ID(user_bytes_written)], HE_EXACT);
    assert_int_equal(k.avail[HE_ID(point_lookups)], HE_EXACT);
    assert_int_equal(k.avail[HE_ID(segments_leveled)], HE_NONE);   /* no strategy tags */
    assert_int_equal(k.avail[HE_ID(compactions_by_reason)], HE_NONE);
    /* Flushes and compactions happened (1.2 MB through 64 KiB memtables) and were counted. */
    static const int counted[] = { HE_ID(flush_bytes_written), HE_ID(compaction_bytes_written),
                                   HE_ID(flushes), HE_ID(compactions), HE_ID(live_sst_bytes),
                                   HE_ID(live_sst_files) };
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++)
        assert_int_equal(k.avail[counted[i]], HE_EXACT);
    assert_true(k.flushes > 0 && k.flush_bytes_written > 0);
    assert_true(k.compactions > 0 && k.compaction_bytes_written > 0);
    assert_true(k.live_sst_bytes > 4000 * 300 / 2 && k.live_sst_files > 0);
    assert_true(k.flush_bytes_written > k.user_bytes_written / 2);
    /* What neither peer gives in the workbench's terms is not provided, never zeroed. */
    assert_int_equal(k.avail[HE_ID(blocks_read)], HE_NONE);
    assert_int_equal(k.avail[HE_ID(slowdown_count)], HE_NONE);
    assert_int_equal(k.avail[HE_ID(switches)], HE_NONE);
    assert_int_equal(k.avail[HE_ID(wal_bytes)], HE_APPROX);
    if (is_leveldb(name)) {
        assert_int_equal(k.avail[HE_ID(segments_probed)], HE_NONE);
        assert_int_equal(k.avail[HE_ID(live_entries)], HE_NONE);
        assert_int_equal(k.avail[HE_ID(memtable_bytes)], HE_NONE);
        assert_int_equal(k.avail[HE_ID(compaction_bytes_read)], HE_APPROX);
    } else {
        assert_int_equal(k.avail[HE_ID(segments_probed)], HE_EXACT);
        assert_int_equal(k.avail[HE_ID(live_entries)], HE_EXACT);
        assert_int_equal(k.avail[HE_ID(compaction_bytes_read)], HE_EXACT);
        /* Lookups that reached a table: at least the two found there (the memtable was
           flushed long before), few false positives. */
        assert_true(k.segments_probed >= 2 && k.segments_probed <= 5);
        assert_true(k.live_entries >= 3500);   /* the last memtable is not flushed */
        assert_true(k.compaction_bytes_read > 0);
    }
    /* WAL: a little above the user bytes (record framing). */
    assert_true(k.wal_bytes > k.user_bytes_written && k.wal_bytes < k.user_bytes_written * 2);
    /* Counters only grow. */
    he_counters k2;
    assert_int_equal(ops->counters(e, &k2), 0);
    assert_true(k2.flush_bytes_written >= k.flush_bytes_written);
    assert_true(k2.compaction_bytes_written >= k.compaction_bytes_written);
    assert_true(k.flush_bytes_written >= k0.flush_bytes_written);
    assert_string_equal(ops->error(e), "");
    assert_int_equal(ops->close(e), 0);

    /* Reopened: the data is there. */
    assert_int_equal(ops->open(&c, variant, &e, err, sizeof err), 0);
    assert_int_equal(ops->get(e, "k003999", 7, buf, sizeof buf, &vn), 0);
    assert_int_equal(ops->get(e, "k000042", 7, buf, sizeof buf, &vn), 1);
    assert_int_equal(ops->close(e), 0);
    cu_rmtree(dir);
}

static void adapters(void **state)
{
    (void)state;
    for (size_t i = 0; i < NPEERS; i++) one_adapter(peers[i]);
}

/* What a peer cannot do is a usage error (-2) with a reason, and opens nothing. */
static void refusals(void **state)
{
    (void)state;
    char dir[512], err[512];
    cu_tmpdir(dir, sizeof dir);
    he_engine *e = NULL;
    for (size_t i = 0; i < NPEERS; i++) {
        const char *variant;
        const he_ops *ops = he_find(peers[i], &variant);
        he_config c = { .dir = dir, .memtable_bytes = 64 << 10, .compaction_threads = 0 };
        assert_int_equal(ops->open(&c, variant, &e, err, sizeof err), -2);
        assert_non_null(strstr(err, "-compaction-threads"));
        c.compaction_threads = 1;
        c.deterministic = 1;
        assert_int_equal(ops->open(&c, variant, &e, err, sizeof err), -2);
        assert_non_null(strstr(err, "-deterministic"));
    }
    const he_ops *ldb = he_find("leveldb", NULL);
    he_config c = { .dir = dir, .memtable_bytes = 64 << 10, .compaction_threads = 2 };
    assert_int_equal(ldb->open(&c, NULL, &e, err, sizeof err), -2);   /* one thread only */
    const he_ops *rdb = he_find("rocksdb-leveled", NULL);
    c.compaction_threads = 1;
    assert_int_equal(rdb->open(&c, "tiered", &e, err, sizeof err), -2);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d));) entries += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 0);                  /* nothing was created */
    cu_rmtree(dir);
}

/* ---- through amethystd ---- */

static void expect_null(const json_t *o, const char *k)
{
    json_t *v = get(o, k);
    if (!json_is_null(v)) fprintf(stderr, "'%s' should be null (unavailable)\n", k);
    assert_true(json_is_null(v));
}

static void expect_int(const json_t *o, const char *k)
{
    json_t *v = get(o, k);
    if (!json_is_integer(v)) fprintf(stderr, "'%s' should be an integer\n", k);
    assert_true(json_is_integer(v));
}

static int listed(const json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), name)) return 1;
    return 0;
}

/* The peer's own promises about nulls, estimates and settings, on one result. */
static void check_peer_fields(const char *name, const json_t *doc)
{
    json_t *eng = get(doc, "engine"), *st = get(eng, "settings"), *ap = get(eng, "approximate_counters");
    json_t *tot = get(doc, "totals"), *end = get(tot, "end_state");
    assert_true(json_is_true(get(eng, "counters_approximate")));
    assert_true(listed(ap, "wal_written"));
    assert_int_equal(iget(st, "write_buffer_size"), 65536);
    assert_string_equal(json_string_value(get(st, "compression")), "none");
    assert_int_equal(iget(st, "block_size"), 4096);
    assert_int_equal(iget(st, "sync"), 0);
    /* Always available, exact. */
    expect_int(get(tot, "bytes"), "user_written");
    expect_int(get(tot, "bytes"), "flush_written");
    expect_int(get(tot, "bytes"), "compaction_written");
    expect_int(tot, "point_lookups");
    expect_int(tot, "flushes");
    expect_int(tot, "compactions");
    expect_int(end, "live_sst_bytes");
    expect_int(end, "live_sst_files");
    assert_true(ratio(tot, "write_amplification") > 0);
    assert_true(ratio(tot, "space_amplification") > 0);
    /* Never available from a peer. */
    expect_null(tot, "blocks_read");
    expect_null(tot, "blocks_read_disk");
    expect_null(tot, "blocks_per_lookup");
    expect_null(tot, "slowdown_count");
    expect_null(tot, "switches");
    expect_null(get(end, "segments_by_tag"), "leveled");
    if (is_leveldb(name)) {
        expect_null(tot, "read_amplification");
        expect_null(tot, "segments_probed");
        expect_null(tot, "stall_seconds");
        expect_null(end, "live_entries");
        expect_null(end, "memtable_bytes");
        expect_null(end, "pending_compaction_bytes");
        assert_true(listed(ap, "compaction_read"));
        assert_true(listed(ap, "stall_count"));
        assert_false(listed(ap, "flush_written"));
        assert_int_equal(iget(st, "fixed.l0_compaction_trigger"), 4);
        assert_int_equal(iget(st, "max_open_files"), 50000);
    } else {
        expect_int(tot, "segments_probed");
        expect_int(end, "live_entries");
        expect_int(end, "memtable_bytes");
        assert_true(ratio(tot, "read_amplification") >= 0);
        assert_false(listed(ap, "compaction_read"));
        assert_int_equal(iget(st, "max_background_jobs"), 2);
        int universal = !strcmp(name, "rocksdb-universal");
        assert_string_equal(json_string_value(get(st, "compaction_style")),
                            universal ? "universal" : "level");
        if (!universal) {
            assert_int_equal(iget(st, "level_compaction_dynamic_level_bytes"), 1);
            assert_int_equal(iget(st, "max_bytes_for_level_base"), 4 * 65536);
            assert_int_equal(iget(st, "target_file_size_base"), 65536);
        } else {
            assert_null(json_object_get(st, "max_bytes_for_level_base"));
            expect_int(st, "universal.size_ratio");
        }
    }
}

static const wl_case peer_cases[] = {
    { "fillrandom,readrandom,seekrandom", { N, N, N }, { NO, 1, NO }, { N * 272, 0, 0 }, N,
      N * 272 },
    { "shift", { 3 * N / 2, N, N / 2, 3 * N }, { NO, 1, NO, 1 },
      { 3 * N / 2 * 270, 0, N / 2 * 270, 0 }, N, N * 270 },
};

static void workloads(void **state)
{
    (void)state;
    for (size_t i = 0; i < NPEERS; i++) {
        for (size_t w = 0; w < sizeof peer_cases / sizeof peer_cases[0]; w++) {
            const char *extra[] = { "-workload", peer_cases[w].name, "-engine", peers[i],
                                    "-settle", NULL };
            json_t *doc = run_json("peer", extra);
            check_doc(doc, peers[i]);
            check_case(&peer_cases[w], doc);
            check_peer_fields(peers[i], doc);
            /* Point lookups and finds equal the harness's own gets (check_phase) and scans
               returned entries. */
            if (w == 0) {
                json_t *scan = json_array_get(get(doc, "phases"), 2);
                assert_true(iget(scan, "scan_entries") > 0);
            }
            json_decref(doc);
        }
    }
}

/* amethystd itself: -deterministic with a peer exits 2 before anything runs. */
static void cli_refusals(void **state)
{
    (void)state;
    char out[600];
    snprintf(out, sizeof out, "%s/refused.json", g_dir);
    for (size_t i = 0; i < NPEERS; i++) {
        const char *args[] = { "-engine", peers[i], "-keys", "100", "-deterministic", "-out",
                               out, NULL };
        assert_int_equal(cu_run(args, NULL, NULL), 2);
        assert_false(cu_exists(out));
    }
}

/* The sorted names in dir, one per line (malloc'd). */
static char *listing(const char *dir)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    assert_true(n >= 0);
    size_t cap = 64 * (size_t)(n + 1), len = 0;
    char *s = malloc(cap);
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(s + len, cap - len, "%s\n", list[i]->d_name);
        free(list[i]);
    }
    free(list);
    return s;
}

/* Every engine's database is told apart; each engine refuses the others' (exit 2, the
 * directory untouched) and reopens its own. */
static void foreign_databases(void **state)
{
    (void)state;
    static const struct { const char *engine, *kind; } all[] = {
        { "leveled", "amethyst" }, { "rocksdb-leveled", "rocksdb-leveled" },
        { "rocksdb-universal", "rocksdb-universal" }, { "leveldb", "leveldb" },
    };
    enum { K = sizeof all / sizeof all[0] };
    char dirs[K][600], out[600];
    snprintf(out, sizeof out, "%s/foreign.json", g_dir);
    for (int i = 0; i < K; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/db-%s", g_dir, all[i].engine);
        const char *args[] = { "-engine", all[i].engine, "-workload", "fillrandom", "-keys",
                               "2000", "-memtable-mb", "0.0625", "-db", dirs[i], "-out", out,
                               "-quiet", NULL };
        assert_int_equal(cu_run(args, NULL, NULL), 0);
        const char *kind = he_db_kind(dirs[i]);
        assert_non_null(kind);
        assert_string_equal(kind, all[i].kind);
    }
    for (int i = 0; i < K; i++) {
        char err[700];
        snprintf(err, sizeof err, "%s/foreign.err", g_dir);
        const char *own[] = { "-engine", all[i].engine, "-workload", "readrandom", "-keys",
                              "2000", "-db", dirs[i], "-out", out, "-quiet", NULL };
        assert_int_equal(cu_run(own, NULL, err), 0);  /* its own: reused */
        char *before = listing(dirs[i]);
        for (int j = 0; j < K; j++) {
            if (j == i) continue;
            const char *args[] = { "-engine", all[j].engine, "-workload", "readrandom", "-keys",
                                   "2000", "-db", dirs[i], "-out", out, "-quiet", NULL };
            int st = cu_run(args, NULL, err);
            assert_int_equal(st, 2);
            char *msg = cu_read(err);
            assert_non_null(strstr(msg, "holds a database of"));
            assert_non_null(strstr(msg, all[i].kind));
            free(msg);
            char *after = listing(dirs[i]);
            assert_string_equal(before, after);    /* not opened: not even a LOCK taken */
            free(after);
        }
        free(before);
    }
    /* Not a database, or an unreadable one: he_db_kind cannot tell (the engine decides). */
    char junk[700];
    snprintf(junk, sizeof junk, "%s/junk", g_dir);
    mkdir(junk, 0755);
    assert_null(he_db_kind(junk));
    char f[800];
    snprintf(f, sizeof f, "%s/CURRENT", junk);
    cu_write(f, "not a manifest\n");
    assert_null(he_db_kind(junk));
    const he_ops *ldb = he_find("leveldb", NULL), *rdb = he_find("rocksdb-universal", NULL);
    assert_true(he_db_kind_fits(NULL, ldb, NULL));
    assert_true(he_db_kind_fits("rocksdb", rdb, "universal"));
    assert_false(he_db_kind_fits("rocksdb-leveled", rdb, "universal"));
    assert_false(he_db_kind_fits("leveldb", rdb, "leveled"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adapters),
        cmocka_unit_test(refusals),
        cmocka_unit_test(workloads),
        cmocka_unit_test(cli_refusals),
        cmocka_unit_test(foreign_databases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
