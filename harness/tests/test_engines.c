/* test_engines.c: the engine registry and the adapters behind harness/engine.h. Names
 * resolve to families and variants (bare strategy names and amethyst-<strategy> aliases,
 * nothing else); every Amethyst strategy is listed; the Amethyst adapter puts, gets into a
 * caller's buffer (also one too small), deletes, scans, counts and refuses a bad
 * configuration with -2; the null engine does nothing and has no counters. The peers'
 * names are here; their adapters are tested in test_peers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "amethyst.h"
#include "../engine.h"
#include "cli_util.h"

typedef struct name_case {
    const char *name;
    const char *family;           /* NULL: unknown */
    const char *variant;
    const char *canonical;
} name_case;

static const name_case names[] = {
    { "null", "null", NULL, "null" },
    { "leveled", "amethyst", "leveled", "leveled" },
    { "amethyst-leveled", "amethyst", "leveled", "leveled" },
    { "amethyst", NULL, NULL, NULL },          /* a family with variants needs one */
    { "amethyst-", NULL, NULL, NULL },
    { "amethyst-nosuch", NULL, NULL, NULL },
    { "level", NULL, NULL, NULL },
    { "leveled-x", NULL, NULL, NULL },
    { "null-leveled", NULL, NULL, NULL },
    { "", NULL, NULL, NULL },
    { "rocksdb-leveled", "rocksdb", "leveled", "rocksdb-leveled" },
    { "rocksdb-universal", "rocksdb", "universal", "rocksdb-universal" },
    { "rocksdb", NULL, NULL, NULL },           /* a variant is needed */
    { "rocksdb-tiered", NULL, NULL, NULL },
    { "universal", NULL, NULL, NULL },         /* only Amethyst's variants stand alone */
    { "leveldb", "leveldb", NULL, "leveldb" },
    { "leveldb-leveled", NULL, NULL, NULL },
};

static void names_resolve(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const name_case *c = &names[i];
        const char *variant = "unset";
        const he_ops *ops = he_find(c->name, &variant);
        char canon[96] = "";
        int rc = he_canonical(c->name, canon, sizeof canon);
        if (!c->family) {
            assert_null(ops);
            assert_int_equal(rc, -1);
            continue;
        }
        assert_non_null(ops);
        assert_string_equal(ops->name, c->family);
        if (c->variant) assert_string_equal(variant, c->variant);
        else assert_null(variant);
        assert_int_equal(rc, 0);
        assert_string_equal(canon, c->canonical);
    }
    assert_null(he_find(NULL, NULL));
}

static void count_entry(void *arg, const char *name, const char *desc)
{
    (void)desc;
    const he_ops *ops = he_find(name, NULL);
    assert_non_null(ops);                      /* everything listed resolves */
    (*(int *)arg)++;
}

static void every_strategy_is_listed(void **state)
{
    (void)state;
    int listed = 0;
    he_list(count_entry, &listed);
    int strategies = 1;                        /* "a, b, c": commas + 1 */
    for (const char *s = am_strategy_names(); *s; s++) strategies += *s == ',';
    /* null + one per strategy + the peers rocksdb-leveled, rocksdb-universal, leveldb */
    assert_int_equal(listed, 1 + strategies + 3);
    char all[512];
    he_names(all, sizeof all);
    assert_non_null(strstr(all, "null"));
    assert_non_null(strstr(all, "leveled"));
    assert_non_null(strstr(all, "rocksdb-universal"));
    assert_non_null(strstr(all, "leveldb"));
}

static void amethyst_adapter(void **state)
{
    (void)state;
    char dir[512], err[512];
    cu_tmpdir(dir, sizeof dir);
    const char *variant;
    const he_ops *ops = he_find("leveled", &variant);
    he_config c = { .dir = dir, .memtable_bytes = 64 << 10, .bloom_bits = 10,
                    .cache_bytes = 1 << 20, .compaction_threads = 0 };
    he_engine *e;
    assert_int_equal(ops->open(&c, variant, &e, err, sizeof err), 0);
    char key[16], val[300], buf[300];
    size_t vn;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%06d", i);
        memset(val, 'a' + i % 26, sizeof val);
        assert_int_equal(ops->put(e, key, 7, val, sizeof val), 0);
    }
    assert_int_equal(ops->get(e, "k000042", 7, buf, sizeof buf, &vn), 0);
    assert_int_equal(vn, 300);
    assert_int_equal(buf[0], 'a' + 42 % 26);
    assert_int_equal(ops->get(e, "k000042", 7, buf, 10, &vn), 0);   /* short buffer */
    assert_int_equal(vn, 300);
    assert_int_equal(ops->get(e, "nokey", 5, buf, sizeof buf, &vn), 1);
    assert_int_equal(ops->del(e, "k000042", 7), 0);
    assert_int_equal(ops->get(e, "k000042", 7, buf, sizeof buf, &vn), 1);
    uint32_t got;
    assert_int_equal(ops->scan(e, "k000040", 7, 5, &got), 0);
    assert_int_equal(got, 5);                  /* 40, 41, 43, 44, 45 */
    assert_int_equal(ops->scan(e, "k001998", 7, 100, &got), 0);
    assert_int_equal(got, 2);
    he_counters k;
    assert_int_equal(ops->counters(e, &k), 0);
    assert_int_equal(k.user_bytes_written, 2000 * 307 + 7);
    assert_true(k.flushes > 0 && k.flush_bytes_written > 0 && k.live_sst_bytes > 0);
    assert_int_equal(k.point_lookups, 4);
    assert_int_equal(k.segments_leveled + k.segments_tiered, k.live_sst_files);
    /* Amethyst provides every counter of the harness's lists, exactly. */
    for (int id = 0; id < HE_NCOUNTERS; id++) {
        if (k.avail[id] != HE_EXACT) fprintf(stderr, "not provided: %s\n", he_counter_infos[id].field);
        assert_int_equal(k.avail[id], HE_EXACT);
    }
    /* compactions by reason: named as the engine names them, adding up to the total */
    uint64_t by_reason = 0;
    for (int i = 0; i < HE_REASONS; i++) {
        assert_string_equal(he_reason_names[i], am_reason_name(i));
        by_reason += k.compactions_by_reason[i];
    }
    assert_int_equal(by_reason, k.compactions);
    assert_true(k.compactions > 0 && k.compactions_by_reason[AM_REASON_L0] > 0);
    assert_int_equal(ops->busy(e), 0);         /* inline compaction */
    assert_string_equal(ops->error(e), "");
    assert_int_equal(ops->close(e), 0);
    c.memtable_bytes = 1000;                   /* below the engine's minimum */
    assert_int_equal(ops->open(&c, variant, &e, err, sizeof err), -2);
    assert_non_null(strstr(err, "memtable_bytes"));
    cu_rmtree(dir);
}

static void null_engine(void **state)
{
    (void)state;
    const he_ops *ops = he_find("null", NULL);
    he_config c = { .dir = "/nonexistent" };
    he_engine *e;
    char err[64], buf[8];
    size_t vn = 99;
    uint32_t got = 99;
    assert_int_equal(ops->open(&c, NULL, &e, err, sizeof err), 0);
    assert_int_equal(ops->put(e, "k", 1, "v", 1), 0);
    assert_int_equal(ops->get(e, "k", 1, buf, sizeof buf, &vn), 1);
    assert_int_equal(vn, 0);
    assert_int_equal(ops->scan(e, "k", 1, 10, &got), 0);
    assert_int_equal(got, 0);
    he_counters k;
    assert_int_equal(ops->counters(e, &k), 0);
    for (int id = 0; id < HE_NCOUNTERS; id++) assert_int_equal(k.avail[id], HE_NONE);
    assert_int_equal(ops->close(e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_resolve),
        cmocka_unit_test(every_strategy_is_listed),
        cmocka_unit_test(amethyst_adapter),
        cmocka_unit_test(null_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
