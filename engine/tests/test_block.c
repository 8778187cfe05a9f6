/* test_block.c: the block builder and reader: roundtrip and seek over a table of shapes
 * (stride, entries, key and value sizes), safety on corrupt or truncated blocks, and the
 * order check (blk_check): keys out of order, restart points not at whole keys, bounds. */
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
#include "util/ikey.h"
#include "testutil.h"

/* Entries of one test block: user key i/versions, versions newest first. */
typedef struct entry {
    char *k; size_t kn;
    char *v; size_t vn;
} entry;

typedef struct shape {
    int stride, n, versions;
    size_t ukey_pad;     /* extra user-key bytes (long keys use the heap key buffer) */
    size_t vmax;         /* values of 0..vmax bytes */
} shape;

static const shape shapes[] = {
    { 1, 1, 1, 0, 10 },
    { 1, 100, 1, 0, 10 },
    { 2, 101, 2, 0, 200 },
    { 3, 500, 3, 0, 50 },
    { 16, 1000, 1, 0, 300 },
    { 16, 997, 4, 0, 0 },
    { 100, 1000, 2, 0, 20 },
    { 5000, 300, 1, 0, 20 },          /* one restart point */
    { 4, 60, 2, 400, 20 },            /* keys longer than the inline buffer */
    { 16, 200, 1, 1000, 5000 },
};

static entry *make_entries(const shape *s, tu_rng *rng, size_t *count)
{
    size_t total = (size_t)s->n;
    entry *e = calloc(total, sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < total; i++) {
        int u = (int)i / s->versions, ver = (int)i % s->versions;
        char uk[32];
        int un = snprintf(uk, sizeof uk, "key-%08d", u * 7);
        size_t ukn = (size_t)un + s->ukey_pad;
        e[i].kn = ukn + 8;
        e[i].k = malloc(e[i].kn);
        assert_non_null(e[i].k);
        memcpy(e[i].k, uk, (size_t)un);
        memset(e[i].k + un, 'p', s->ukey_pad);
        /* newest first: higher sequence first */
        uint64_t seq = 1000000 - (uint64_t)u * 10 + (uint64_t)(s->versions - ver);
        enc_fixed64(e[i].k + ukn, ikey_pack(seq, (int)(tu_next(rng) & 1)));
        e[i].vn = (size_t)tu_below(rng, s->vmax + 1);
        e[i].v = malloc(e[i].vn + 1);
        assert_non_null(e[i].v);
        for (size_t j = 0; j < e[i].vn; j++) e[i].v[j] = (char)tu_next(rng);
    }
    for (size_t i = 1; i < total; i++)
        assert_true(ikey_cmp(e[i - 1].k, e[i - 1].kn, e[i].k, e[i].kn) < 0);
    *count = total;
    return e;
}

static void free_entries(entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(e[i].k); free(e[i].v); }
    free(e);
}

static void build(blk_builder *b, const entry *e, size_t n, const char **data, size_t *size)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(blk_builder_add(b, e[i].k, e[i].kn, e[i].v, e[i].vn), AM_OK);
    size_t est = blk_builder_size(b);
    assert_int_equal(blk_builder_finish(b, data, size), AM_OK);
    assert_int_equal(est, *size);
}

static void check_at(const blk_iter *it, const entry *e)
{
    size_t kn, vn;
    const char *k = blk_iter_key(it, &kn), *v = blk_iter_value(it, &vn);
    assert_int_equal(kn, e->kn);
    assert_memory_equal(k, e->k, kn);
    assert_int_equal(vn, e->vn);
    if (vn) assert_memory_equal(v, e->v, vn);
}

static void test_roundtrip_and_seek(void **state)
{
    (void)state;
    tu_rng rng = { 42 };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        size_t n;
        entry *e = make_entries(s, &rng, &n);
        blk_builder bb;
        blk_builder_init(&bb, s->stride);
        const char *data;
        size_t size;
        build(&bb, e, n, &data, &size);

        blk b;
        assert_int_equal(blk_init(&b, data, size), AM_OK);
        assert_int_equal(b.nrestarts, (n + (size_t)s->stride - 1) / (size_t)s->stride);
        blk_iter it;
        blk_iter_init(&it, &b);

        /* full scan */
        size_t i = 0;
        for (blk_iter_seek_first(&it); blk_iter_valid(&it); blk_iter_next(&it))
            check_at(&it, &e[i++]);
        assert_int_equal(i, n);
        assert_int_equal(blk_iter_status(&it), AM_OK);

        for (i = 0; i < n; i++) {
            /* exact key */
            blk_iter_seek(&it, e[i].k, e[i].kn);
            assert_true(blk_iter_valid(&it));
            check_at(&it, &e[i]);
            /* the lookup key (seq of entry i, kind max) lands on entry i too */
            char *lk = malloc(e[i].kn);
            assert_non_null(lk);
            memcpy(lk, e[i].k, e[i].kn);
            enc_fixed64(lk + e[i].kn - 8, ikey_pack(ikey_seq(e[i].k, e[i].kn), AM_KIND_MAX));
            blk_iter_seek(&it, lk, e[i].kn);
            assert_true(blk_iter_valid(&it));
            check_at(&it, &e[i]);
            /* just after entry i (same user key, older than any version): entry i+1 of a
               later user key, or the end */
            enc_fixed64(lk + e[i].kn - 8, 0);
            blk_iter_seek(&it, lk, e[i].kn);
            size_t want = i + 1;
            while (want < n && ukey_cmp(e[want].k, e[want].kn - 8, lk, e[i].kn - 8) == 0)
                want++;
            if (want < n) {
                assert_true(blk_iter_valid(&it));
                check_at(&it, &e[want]);
            } else {
                assert_false(blk_iter_valid(&it));
            }
            free(lk);
        }
        /* before the first and after the last */
        char lo[9] = { 0 };
        blk_iter_seek(&it, lo, 8);
        assert_true(blk_iter_valid(&it));
        check_at(&it, &e[0]);
        char hi[16];
        memset(hi, 0xff, sizeof hi);
        blk_iter_seek(&it, hi, sizeof hi);
        assert_false(blk_iter_valid(&it));
        assert_int_equal(blk_iter_status(&it), AM_OK);

        blk_iter_fini(&it);
        blk_builder_free(&bb);
        free_entries(e, n);
    }
}

static void test_reset_reuse_and_empty(void **state)
{
    (void)state;
    blk_builder bb;
    blk_builder_init(&bb, 4);
    const char *data;
    size_t size;
    assert_true(blk_builder_empty(&bb));
    assert_int_equal(blk_builder_finish(&bb, &data, &size), AM_OK);
    assert_int_equal(size, 8);
    blk b;
    assert_int_equal(blk_init(&b, data, size), AM_OK);
    blk_iter it;
    blk_iter_init(&it, &b);
    blk_iter_seek_first(&it);
    assert_false(blk_iter_valid(&it));
    blk_iter_seek(&it, "abcdefghij", 10);
    assert_false(blk_iter_valid(&it));
    assert_int_equal(blk_iter_status(&it), AM_OK);

    for (int round = 0; round < 3; round++) {
        blk_builder_reset(&bb);
        char k[16];
        for (int i = 0; i < 10 + round; i++) {
            ikey_build(k, "kk", 2, 0, AM_KIND_VALUE);
            k[1] = (char)('a' + i);
            assert_int_equal(blk_builder_add(&bb, k, 10, "v", 1), AM_OK);
        }
        assert_int_equal(blk_builder_finish(&bb, &data, &size), AM_OK);
        assert_int_equal(blk_init(&b, data, size), AM_OK);
        blk_iter_init(&it, &b);
        int cnt = 0;
        for (blk_iter_seek_first(&it); blk_iter_valid(&it); blk_iter_next(&it)) cnt++;
        assert_int_equal(cnt, 10 + round);
        blk_iter_fini(&it);
    }
    blk_builder_free(&bb);
}

static void test_init_rejects_bad_restarts(void **state)
{
    (void)state;
    char buf[64] = { 0 };
    blk b;
    assert_int_equal(blk_init(&b, buf, 0), AM_ERR_CORRUPT);
    assert_int_equal(blk_init(&b, buf, 7), AM_ERR_CORRUPT);
    /* zero restarts */
    memset(buf, 0, sizeof buf);
    assert_int_equal(blk_init(&b, buf, 16), AM_ERR_CORRUPT);
    /* count larger than the block */
    enc_fixed32(buf + 12, 100);
    assert_int_equal(blk_init(&b, buf, 16), AM_ERR_CORRUPT);
    /* restart[0] != 0 */
    enc_fixed32(buf + 12, 1);
    enc_fixed32(buf + 8, 3);
    assert_int_equal(blk_init(&b, buf, 16), AM_ERR_CORRUPT);
    /* restart beyond the entries */
    enc_fixed32(buf + 4, 0);
    enc_fixed32(buf + 8, 9);
    enc_fixed32(buf + 12, 2);
    assert_int_equal(blk_init(&b, buf, 16), AM_ERR_CORRUPT);
    /* descending restarts */
    enc_fixed32(buf + 16, 0);
    enc_fixed32(buf + 20, 6);
    enc_fixed32(buf + 24, 3);
    enc_fixed32(buf + 28, 3);
    assert_int_equal(blk_init(&b, buf, 32), AM_ERR_CORRUPT);
}

/* Walks a (possibly corrupt) block every way the reader can; ASan catches any stray read.
 * Returns 1 if the reader reported corruption. */
static int exercise(const char *data, size_t size, const entry *e, size_t n)
{
    blk b;
    if (blk_init(&b, data, size) != AM_OK) return 1;
    blk_iter it;
    blk_iter_init(&it, &b);
    size_t steps = 0;
    for (blk_iter_seek_first(&it); blk_iter_valid(&it); blk_iter_next(&it)) {
        size_t kn, vn;
        const char *k = blk_iter_key(&it, &kn), *v = blk_iter_value(&it, &vn);
        assert_true(kn >= 8);
        volatile char sink = 0;
        sink ^= k[kn - 1];
        if (vn) sink ^= v[vn - 1];
        (void)sink;
        assert_true(++steps <= size);
    }
    int bad = blk_iter_status(&it) != AM_OK;
    blk_iter_fini(&it);
    blk_fault f;
    int rc = blk_check(&b, e[0].k, e[0].kn, 1, e[n - 1].k, e[n - 1].kn, &f);
    assert_true(rc == AM_OK || rc == AM_ERR_CORRUPT);
    if (rc) {
        assert_true(f.off < b.restart_off);
        bad = 1;
    } else {
        assert_false(bad);     /* a block blk_check passes iterates without an error */
    }
    for (size_t i = 0; i < n; i += 7) {
        blk_iter_init(&it, &b);
        blk_iter_seek(&it, e[i].k, e[i].kn);
        if (blk_iter_status(&it)) bad = 1;
        blk_iter_fini(&it);
    }
    return bad;
}

static void test_corrupt_blocks_are_safe(void **state)
{
    (void)state;
    tu_rng rng = { 7 };
    const shape s = { 4, 120, 2, 0, 150 };
    size_t n;
    entry *e = make_entries(&s, &rng, &n);
    blk_builder bb;
    blk_builder_init(&bb, s.stride);
    const char *data;
    size_t size;
    build(&bb, e, n, &data, &size);

    char *copy = malloc(size);
    assert_non_null(copy);
    int detected = 0;
    /* every byte, flipped three ways */
    static const unsigned char flips[] = { 0x01, 0x80, 0xff };
    for (size_t pos = 0; pos < size; pos++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(copy, data, size);
            copy[pos] = (char)(copy[pos] ^ flips[f]);
            detected += exercise(copy, size, e, n);
        }
    }
    assert_true(detected > 0);
    /* every truncation, each in an exactly sized heap buffer */
    for (size_t len = 0; len < size; len++) {
        char *t = malloc(len ? len : 1);
        assert_non_null(t);
        memcpy(t, data, len);
        exercise(t, len, e, n);
        free(t);
    }
    /* random garbage with a plausible restart count */
    for (int round = 0; round < 2000; round++) {
        size_t len = 8 + (size_t)tu_below(&rng, 200);
        char *t = malloc(len);
        assert_non_null(t);
        for (size_t j = 0; j < len; j++) t[j] = (char)tu_next(&rng);
        uint32_t nr = 1 + (uint32_t)tu_below(&rng, 4);
        enc_fixed32(t + len - 4, nr);
        exercise(t, len, e, n);
        free(t);
    }
    free(copy);
    blk_builder_free(&bb);
    free_entries(e, n);
}

/* Offset of entry i of block b (walking it). */
static uint32_t offset_of(const blk *b, size_t i)
{
    blk_iter it;
    blk_iter_init(&it, b);
    blk_iter_seek_first(&it);
    for (size_t j = 0; j < i; j++) blk_iter_next(&it);
    assert_true(blk_iter_valid(&it));
    uint32_t off = blk_iter_offset(&it);
    blk_iter_fini(&it);
    return off;
}

/* blk_check of e[0..n) built with stride: its status, the fault in *f. */
static int check_built(const entry *e, size_t n, int stride, const char *lo, size_t lon,
                       int lo_incl, const char *hi, size_t hin, blk_fault *f, blk_builder *bb,
                       blk *b)
{
    blk_builder_reset(bb);
    bb->stride = stride;
    const char *data;
    size_t size;
    build(bb, e, n, &data, &size);
    assert_int_equal(blk_init(b, data, size), AM_OK);
    return blk_check(b, lo, lon, lo_incl, hi, hin, f);
}

static void test_check_order(void **state)
{
    (void)state;
    tu_rng rng = { 11 };
    blk_builder bb;
    blk_builder_init(&bb, 1);
    blk b;
    blk_fault f;
    /* Every shape as built passes, with its own first / last key as bounds; a bound one
       key tighter fails at the first or last entry (long keys: the heap key buffers). */
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        size_t n;
        entry *e = make_entries(s, &rng, &n);
        const entry *first = &e[0], *last = &e[n - 1];
        assert_int_equal(check_built(e, n, s->stride, NULL, 0, 0, NULL, 0, &f, &bb, &b), AM_OK);
        assert_int_equal(check_built(e, n, s->stride, first->k, first->kn, 1, last->k,
                                     last->kn, &f, &bb, &b), AM_OK);
        assert_int_equal(check_built(e, n, s->stride, first->k, first->kn, 0, NULL, 0, &f,
                                     &bb, &b), AM_ERR_CORRUPT);
        assert_int_equal(f.kind, BLK_FAULT_LOW);
        assert_int_equal(f.off, 0);
        if (n > 1) {
            const entry *before = &e[n - 2];
            assert_int_equal(check_built(e, n, s->stride, NULL, 0, 0, before->k, before->kn,
                                         &f, &bb, &b), AM_ERR_CORRUPT);
            assert_int_equal(f.kind, BLK_FAULT_HIGH);
            assert_int_equal(f.off, offset_of(&b, n - 1));
        }
        free_entries(e, n);
    }
    /* Two neighbours swapped, or one key twice: ORDER at the second of the two. */
    const shape s = { 4, 120, 2, 0, 30 };
    size_t n;
    entry *e = make_entries(&s, &rng, &n);
    entry t = e[50];
    e[50] = e[51];
    e[51] = t;
    assert_int_equal(check_built(e, n, 4, NULL, 0, 0, NULL, 0, &f, &bb, &b), AM_ERR_CORRUPT);
    assert_int_equal(f.kind, BLK_FAULT_ORDER);
    assert_int_equal(f.off, offset_of(&b, 51));
    e[51] = e[50];
    assert_int_equal(check_built(e, n, 4, NULL, 0, 0, NULL, 0, &f, &bb, &b), AM_ERR_CORRUPT);
    assert_int_equal(f.kind, BLK_FAULT_ORDER);
    assert_int_equal(f.off, offset_of(&b, 51));
    e[50] = t;                       /* back in order: e[51] is the old e[51] again */
    /* Restart points the array lists but the entries do not have: restart[1] moved to
       entry 1 (stored as a delta, shared > 0) or into the middle of entry 4. The block
       still passes blk_init (offsets ascend inside the entries). */
    assert_int_equal(check_built(e, n, 4, NULL, 0, 0, NULL, 0, &f, &bb, &b), AM_OK);
    char *copy = malloc(b.size);
    assert_non_null(copy);
    uint32_t moves[2] = { offset_of(&b, 1), offset_of(&b, 4) + 1 };
    for (int m = 0; m < 2; m++) {
        memcpy(copy, b.data, b.size);
        enc_fixed32(copy + b.restart_off + 4, moves[m]);
        blk c;
        assert_int_equal(blk_init(&c, copy, b.size), AM_OK);
        assert_int_equal(blk_check(&c, NULL, 0, 0, NULL, 0, &f), AM_ERR_CORRUPT);
        assert_int_equal(f.kind, BLK_FAULT_RESTART);
        assert_int_equal(f.off, moves[m]);
    }
    free(copy);
    free_entries(e, n);
    /* An empty block passes, whatever the bounds. */
    blk_builder_reset(&bb);
    const char *data;
    size_t size;
    assert_int_equal(blk_builder_finish(&bb, &data, &size), AM_OK);
    assert_int_equal(blk_init(&b, data, size), AM_OK);
    assert_int_equal(blk_check(&b, "zzzzzzzzz", 9, 0, "aaaaaaaaa", 9, &f), AM_OK);
    blk_builder_free(&bb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_seek),
        cmocka_unit_test(test_reset_reuse_and_empty),
        cmocka_unit_test(test_init_rejects_bad_restarts),
        cmocka_unit_test(test_corrupt_blocks_are_safe),
        cmocka_unit_test(test_check_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
