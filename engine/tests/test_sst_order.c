/* test_sst_order.c: SSTables whose checksums are all valid but whose keys are out of order
 * (written by the builder, then patched and resealed: testutil_sst.h). The readers check
 * the order they rely on whenever they verify a block: keys inside a block, each block
 * against its index entries (so blocks are in order across the file), the first and last
 * blocks against the file's smallest / largest key. Every lookup and iterator that meets
 * such a block gets AM_ERR_CORRUPT naming the file and offset, never data read in a wrong
 * order; every other block reads right. Through the mapping (posix env) and through the
 * block cache (the fault env has no mapping), and in both read modes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "sst/block.h"
#include "sst/sst.h"
#include "sst/sst_format.h"
#include "util/env.h"
#include "util/ikey.h"
#include "testutil.h"
#include "testutil_db.h"
#include "testutil_sst.h"

/* NKEYS user keys, one version each; keys and values of one length, so that with
 * index_stride 1 (every entry a restart point, stored whole) every entry takes ENTRY bytes
 * and two entries, or two full blocks, can trade places without moving anything else. */
enum { NKEYS = 300, UKEY = 12, VAL = 20, ENTRY = 3 + UKEY + 8 + VAL };

/* The UKEY bytes of user key i, the VAL bytes of its value (no NUL). */
static void ukey_of(char *k, int i)
{
    char t[32];
    snprintf(t, sizeof t, "key-%08d", i);
    memcpy(k, t, UKEY);
}
static void val_of(char *v, int i)
{
    char t[48];
    snprintf(t, sizeof t, "value-%08d-abcde", i);
    memcpy(v, t, VAL);
}

static const sst_options opts = { .block_bytes = 512, .index_stride = 1,
                                  .bloom_bits_per_key = 10 };

/* Writes the good file; returns its bytes (malloc'd) and size. */
static char *make_good(am_env *env, const char *path, size_t *n)
{
    sst_builder *b;
    assert_int_equal(sst_builder_new(env, path, &opts, &b), AM_OK);
    for (int i = 0; i < NKEYS; i++) {
        char k[UKEY + 8 + 1], v[VAL + 1];
        ukey_of(k, i);
        ikey_build(k, k, UKEY, 1000 + (uint64_t)i, AM_KIND_VALUE);
        val_of(v, i);
        assert_int_equal(sst_builder_add(b, k, UKEY + 8, v, VAL), AM_OK);
    }
    sst_file_info info;
    assert_int_equal(sst_builder_finish(b, &info), AM_OK);
    sst_file_info_clear(&info);
    return tu_read_file(path, n);
}

/* ---- the patches ---- */

enum { MAX_BLOCKS = 64 };
typedef struct layout {
    tu_sst_block blk[MAX_BLOCKS];
    size_t nblk;
    int first_key[MAX_BLOCKS + 1];   /* key index of each block's first entry; [nblk] = NKEYS */
} layout;

static void layout_of(const char *d, size_t n, layout *l)
{
    l->nblk = tu_sst_data_blocks(d, n, l->blk, MAX_BLOCKS);
    assert_true(l->nblk >= 4 && l->nblk <= MAX_BLOCKS);
    int k = 0;
    for (size_t b = 0; b < l->nblk; b++) {
        l->first_key[b] = k;
        /* entries, then 4 bytes per restart (one per entry), then the count */
        assert_int_equal((l->blk[b].size - 4) % (ENTRY + 4), 0);
        k += (int)((l->blk[b].size - 4) / (ENTRY + 4));
    }
    assert_int_equal(k, NKEYS);
    l->first_key[l->nblk] = NKEYS;
    /* every block but the last holds the same number of entries, so has the same size */
    for (size_t b = 1; b + 1 < l->nblk; b++) assert_int_equal(l->blk[b].size, l->blk[0].size);
}

/* Offset of entry j of block b. */
static size_t entry_at(const layout *l, size_t b, int j)
{
    return (size_t)l->blk[b].off + (size_t)j * ENTRY;
}

/* Offset of the user key bytes of the file's smallest (largest) key in the properties. */
static size_t props_key(const char *d, size_t n, int largest)
{
    const char *foot = d + n - SST_FOOTER_SIZE;
    size_t off = (size_t)dec_fixed64(foot + SST_FOOT_PROPS);
    size_t len = (size_t)dec_fixed64(foot + SST_FOOT_PROPS + 8);
    char k[UKEY + 1];
    ukey_of(k, largest ? NKEYS - 1 : 0);
    return off + tu_find(d + off, len, k, UKEY);
}

typedef struct order_case {
    const char *what;
    const char *msg;             /* expected in the error message */
    int bad[2];                  /* blocks that must fail (-1: none); -2: the last block */
    int open_fails;
} order_case;

static const order_case cases[] = {
    { "two keys swapped inside a block", "keys out of order", { 1, -1 }, 0 },
    { "two blocks swapped", "index key", { 1, 2 }, 0 },
    { "a block's last key swapped with the next block's first", "index key", { 0, 1 }, 0 },
    { "the properties' smallest key above the first key", "smallest", { 0, -1 }, 0 },
    { "the properties' largest key below the last key", "largest", { -2, -1 }, 0 },
    { "the properties' smallest key above the whole index", "properties", { -1, -1 }, 1 },
};

static void patch(size_t c, char *d, size_t n, const layout *l)
{
    switch (c) {
    case 0: tu_swap_bytes(d, entry_at(l, 1, 2), entry_at(l, 1, 3), ENTRY); break;
    case 1:
        tu_swap_bytes(d, (size_t)l->blk[1].off, (size_t)l->blk[2].off, (size_t)l->blk[1].size);
        break;
    case 2: {
        int last0 = l->first_key[1] - l->first_key[0] - 1;
        tu_swap_bytes(d, entry_at(l, 0, last0), entry_at(l, 1, 0), ENTRY);
        break;
    }
    case 3: d[props_key(d, n, 0) + UKEY - 1] = '1'; break;     /* key-00000000 -> ...01 */
    case 4: {
        char k[UKEY + 1];
        ukey_of(k, NKEYS - 2);
        memcpy(d + props_key(d, n, 1), k, UKEY);               /* largest one key lower */
        break;
    }
    case 5: d[props_key(d, n, 0) + 4] = '9'; break;            /* key-90000000 */
    }
    tu_sst_reseal(d, n);
}

static int is_bad(const order_case *oc, const layout *l, size_t b)
{
    for (int i = 0; i < 2; i++) {
        int x = oc->bad[i] == -2 ? (int)l->nblk - 1 : oc->bad[i];
        if (x >= 0 && (size_t)x == b) return 1;
    }
    return 0;
}

/* ---- the checks ---- */

typedef struct got {
    int calls;
    char v[64];
    size_t vn;
} got;

static int on_found(void *arg, int kind, const char *v, size_t vn)
{
    got *g = arg;
    assert_int_equal(kind, AM_KIND_VALUE);
    assert_true(vn <= sizeof g->v);
    g->calls++;
    memcpy(g->v, v, vn);
    g->vn = vn;
    return AM_OK;
}

static void expect_msg(am_env *env, const char *file, const char *want, const char *ctx)
{
    char msg[512];
    am_env_last_error(env, msg, sizeof msg);
    if (!strstr(msg, file) || !strstr(msg, want) || !strstr(msg, "offset"))
        fail_msg("%s: message '%s' should name %s, say '%s' and give an offset", ctx, msg,
                 file, want);
}

/* Every key, twice (a failed block is never remembered as good): its value when its block
 * (in the good file's layout) is sound, AM_ERR_CORRUPT when it is not. */
static void check_gets(sst_reader *r, am_env *env, const char *file, const order_case *oc,
                       const layout *l)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t b = 0;
        for (int i = 0; i < NKEYS; i++) {
            while (i >= l->first_key[b + 1]) b++;
            char k[UKEY + 1], v[VAL + 1];
            ukey_of(k, i);
            val_of(v, i);
            got g = { 0 };
            int rc = sst_reader_get(r, k, UKEY, AM_MAX_SEQ, NULL, on_found, &g);
            if (is_bad(oc, l, b)) {
                if (rc != AM_ERR_CORRUPT)
                    fail_msg("%s: key %d (block %zu): %s, want corruption", oc->what, i, b,
                             am_strerror(rc));
                assert_int_equal(g.calls, 0);
                expect_msg(env, file, oc->msg, oc->what);
            } else {
                if (rc != AM_OK) fail_msg("%s: key %d (block %zu): %s", oc->what, i, b,
                                          am_strerror(rc));
                assert_int_equal(g.vn, VAL);
                assert_memory_equal(g.v, v, VAL);
            }
        }
    }
}

/* A full scan: the keys before the first bad block in order, then AM_ERR_CORRUPT. */
static void check_scan(sst_reader *r, sst_read_mode mode, const order_case *oc, const layout *l)
{
    size_t first_bad = 0;
    while (!is_bad(oc, l, first_bad)) first_bad++;
    am_iiter *it = sst_iter_new(r, mode);
    assert_non_null(it);
    int i = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), i++) {
        size_t kn;
        const char *k = iter_key(it, &kn);
        char want[UKEY + 1];
        ukey_of(want, i);
        if (kn != UKEY + 8 || memcmp(k, want, UKEY) != 0)
            fail_msg("%s: scan entry %d is '%.*s'", oc->what, i, (int)kn, k);
    }
    if (iter_status(it) != AM_ERR_CORRUPT || i != l->first_key[first_bad])
        fail_msg("%s (read mode %d): scan ended after %d keys with %s, want corruption "
                 "after %d", oc->what, (int)mode, i, am_strerror(iter_status(it)),
                 l->first_key[first_bad]);
    iter_free(it);
    /* A seek into the first bad block fails too. */
    it = sst_iter_new(r, mode);
    char k[UKEY + 8];
    ukey_of(k, l->first_key[first_bad]);
    ikey_build(k, k, UKEY, AM_MAX_SEQ, AM_KIND_MAX);
    iter_seek(it, k, sizeof k);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_ERR_CORRUPT);
    iter_free(it);
}

static void test_order_checked(void **state)
{
    tu_fixture *f = *state;
    char good_path[320], bad_path[320];
    snprintf(good_path, sizeof good_path, "%s/good.sst", f->base);
    snprintf(bad_path, sizeof bad_path, "%s/bad.sst", f->base);
    size_t n;
    char *good = make_good(f->posix, good_path, &n);
    layout l;
    layout_of(good, n, &l);
    char *bad = malloc(n);
    assert_non_null(bad);
    blk_cache *cache;
    assert_int_equal(cache_new(1 << 20, &cache), AM_OK);

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const order_case *oc = &cases[c];
        memcpy(bad, good, n);
        patch(c, bad, n, &l);
        assert_memory_not_equal(bad, good, n);
        tu_write_file(bad_path, bad, n);
        /* posix maps the file (blocks checked in place, once per reader); the fault env
           does not (blocks checked on their way into the cache, or into the iterator). */
        am_env *envs[2] = { f->posix, f->fault };
        for (int e = 0; e < 2; e++) {
            sst_reader *r = (sst_reader *)1;
            int rc = sst_reader_open(envs[e], bad_path, 1, e ? cache : NULL, &r);
            if (oc->open_fails) {
                if (rc != AM_ERR_CORRUPT) fail_msg("%s: open gave %s", oc->what, am_strerror(rc));
                assert_null(r);
                expect_msg(envs[e], "bad.sst", oc->msg, oc->what);
                continue;
            }
            if (rc != AM_OK) fail_msg("%s: open gave %s", oc->what, am_strerror(rc));
            check_gets(r, envs[e], "bad.sst", oc, &l);
            check_scan(r, SST_READ_SHARED, oc, &l);
            check_scan(r, SST_READ_VERIFIED_PRIVATE, oc, &l);
            sst_reader_free(r);
        }
    }
    /* The good file passes every check. */
    sst_reader *r;
    assert_int_equal(sst_reader_open(f->posix, good_path, 2, NULL, &r), AM_OK);
    order_case none = { "good file", "", { -1, -1 }, 0 };
    check_gets(r, f->posix, "good.sst", &none, &l);
    am_iiter *it = sst_iter_new(r, SST_READ_VERIFIED_PRIVATE);
    int count = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) count++;
    assert_int_equal(iter_status(it), AM_OK);
    assert_int_equal(count, NKEYS);
    iter_free(it);
    sst_reader_free(r);

    cache_free(cache);
    free(bad);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_checked, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
