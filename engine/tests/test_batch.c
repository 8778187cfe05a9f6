/* test_batch.c: write batches (engine/batch.h, am_batch_* of amethyst.h): encoding and
 * iteration roundtrip, argument checks, counts, appends, and damaged encodings (every
 * truncation, bad kinds, wrong counts, random bytes) refused without a partial replay. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "batch.h"
#include "util/ikey.h"
#include "testutil.h"

/* A handler that records what it was given. */
typedef struct rec {
    uint64_t seq;
    int kind;
    char k[64], v[64];
    size_t kn, vn;
} rec;

typedef struct collect {
    rec r[64];
    size_t n;
    size_t calls;
    size_t stop_after;          /* non-zero: return 77 on that call */
} collect;

static int on_record(void *arg, uint64_t seq, int kind, const char *k, size_t kn,
                     const char *v, size_t vn)
{
    collect *c = arg;
    c->calls++;
    if (c->n < 64 && kn <= 64 && vn <= 64) {
        rec *r = &c->r[c->n++];
        r->seq = seq;
        r->kind = kind;
        memcpy(r->k, k, kn);
        r->kn = kn;
        if (vn) memcpy(r->v, v, vn);
        r->vn = vn;
    }
    return c->stop_after && c->calls == c->stop_after ? 77 : 0;
}

static int iterate(const char *rep, size_t n, collect *c)
{
    batch_handler h = { c, on_record };
    memset(c->r, 0, sizeof c->r);
    c->n = c->calls = 0;
    return batch_iterate(rep, n, &h);
}

static void test_new_is_empty(void **state)
{
    (void)state;
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_count(b), 0);
    assert_int_equal(b->rep.len, BATCH_HEADER);
    collect c;
    assert_int_equal(iterate(b->rep.data, b->rep.len, &c), AM_OK);
    assert_int_equal(c.calls, 0);
    am_batch_free(b);
    am_batch_free(NULL);
    assert_int_equal(am_batch_count(NULL), 0);
}

static void test_roundtrip(void **state)
{
    (void)state;
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_put(b, "alpha", 5, "one", 3), AM_OK);
    assert_int_equal(am_batch_delete(b, "beta", 4), AM_OK);
    assert_int_equal(am_batch_put(b, "gamma", 5, "", 0), AM_OK);        /* empty value */
    assert_int_equal(am_batch_put(b, "d", 1, NULL, 0), AM_OK);          /* NULL, 0 is fine */
    assert_int_equal(am_batch_put(b, "alpha", 5, "two", 3), AM_OK);     /* same key again */
    assert_int_equal(am_batch_count(b), 5);
    assert_int_equal(b->user_bytes, 5 + 3 + 4 + 5 + 1 + 5 + 3);
    assert_int_equal(b->deletes, 1);
    assert_int_equal(batch_seq(b->rep.data), 0);
    batch_set_seq(b->rep.data, 1000);

    /* Exact bytes of the first two records, as docs/format.md describes them. */
    static const char head[] = "\x01\x05" "alpha" "\x03" "one" "\x00\x04" "beta";
    assert_memory_equal(b->rep.data + BATCH_HEADER, head, sizeof head - 1);
    assert_int_equal(dec_fixed32(b->rep.data + 8), 5);

    collect c;
    assert_int_equal(iterate(b->rep.data, b->rep.len, &c), AM_OK);
    static const struct { int kind; const char *k, *v; } want[] = {
        { AM_KIND_VALUE, "alpha", "one" },
        { AM_KIND_DELETE, "beta", "" },
        { AM_KIND_VALUE, "gamma", "" },
        { AM_KIND_VALUE, "d", "" },
        { AM_KIND_VALUE, "alpha", "two" },
    };
    assert_int_equal(c.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(c.r[i].seq, 1000 + i);
        assert_int_equal(c.r[i].kind, want[i].kind);
        assert_int_equal(c.r[i].kn, strlen(want[i].k));
        assert_memory_equal(c.r[i].k, want[i].k, c.r[i].kn);
        assert_int_equal(c.r[i].vn, strlen(want[i].v));
        assert_memory_equal(c.r[i].v, want[i].v, c.r[i].vn);
    }

    /* A handler's non-zero return stops the walk and is returned. */
    c.stop_after = 2;
    batch_handler h = { &c, on_record };
    c.calls = c.n = 0;
    assert_int_equal(batch_iterate(b->rep.data, b->rep.len, &h), 77);
    assert_int_equal(c.calls, 2);

    /* Clear empties it, and it is reusable. */
    am_batch_clear(b);
    assert_int_equal(am_batch_count(b), 0);
    assert_int_equal(b->rep.len, BATCH_HEADER);
    assert_int_equal(b->user_bytes, 0);
    assert_int_equal(b->deletes, 0);
    assert_int_equal(batch_seq(b->rep.data), 0);
    assert_int_equal(am_batch_delete(b, "z", 1), AM_OK);
    assert_int_equal(am_batch_count(b), 1);
    am_batch_free(b);
}

/* Invalid arguments are refused with AM_ERR_INVALID and leave the batch unchanged. */
static void test_invalid_args(void **state)
{
    (void)state;
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_put(b, "keep", 4, "me", 2), AM_OK);
    size_t len = b->rep.len;
    char *big = calloc(1, AM_MAX_KEY_BYTES + 1);
    assert_non_null(big);
    static const char v[] = "v";
    static const struct { int del; int null_b; int null_k; size_t kn; int null_v; size_t vn; } cases[] = {
        { 0, 1, 0, 1, 0, 1 },                       /* NULL batch */
        { 1, 1, 0, 1, 0, 0 },
        { 0, 0, 1, 1, 0, 1 },                       /* NULL key */
        { 1, 0, 1, 1, 0, 0 },
        { 0, 0, 0, 0, 0, 1 },                       /* empty key */
        { 1, 0, 0, 0, 0, 0 },
        { 0, 0, 0, AM_MAX_KEY_BYTES + 1, 0, 1 },    /* key too long */
        { 1, 0, 0, AM_MAX_KEY_BYTES + 1, 0, 0 },
        { 0, 0, 0, 1, 0, (size_t)AM_MAX_VALUE_BYTES + 1 }, /* value too long (not read) */
        { 0, 0, 0, 1, 1, 3 },                       /* NULL value with a length */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        am_batch *t = cases[i].null_b ? NULL : b;
        const char *k = cases[i].null_k ? NULL : big;
        const char *val = cases[i].null_v ? NULL : v;
        int rc = cases[i].del ? am_batch_delete(t, k, cases[i].kn)
                              : am_batch_put(t, k, cases[i].kn, val, cases[i].vn);
        assert_int_equal(rc, AM_ERR_INVALID);
        assert_int_equal(am_batch_count(b), 1);
        assert_int_equal(b->rep.len, len);
    }
    /* The largest key is fine. */
    assert_int_equal(am_batch_put(b, big, AM_MAX_KEY_BYTES, "x", 1), AM_OK);
    assert_int_equal(am_batch_delete(b, big, AM_MAX_KEY_BYTES), AM_OK);
    assert_int_equal(am_batch_count(b), 3);
    collect c;
    assert_int_equal(iterate(b->rep.data, b->rep.len, &c), AM_OK);
    assert_int_equal(c.calls, 3);
    am_batch_clear(NULL);
    free(big);
    am_batch_free(b);
}

/* A batch on the stack (batch_init) and group-commit appends. */
static void test_stack_batch_and_append(void **state)
{
    (void)state;
    am_batch a, b;
    batch_init(&a);
    batch_init(&b);
    assert_int_equal(am_batch_put(&a, "a1", 2, "x", 1), AM_OK);
    assert_int_equal(am_batch_delete(&a, "a2", 2), AM_OK);
    assert_int_equal(am_batch_put(&b, "b1", 2, "yy", 2), AM_OK);
    assert_int_equal(batch_append(&a, &b), AM_OK);
    am_batch empty;
    batch_init(&empty);
    assert_int_equal(batch_append(&a, &empty), AM_OK);
    assert_int_equal(am_batch_count(&a), 3);
    assert_int_equal(a.user_bytes, 2 + 1 + 2 + 2 + 2);
    assert_int_equal(a.deletes, 1);
    batch_set_seq(a.rep.data, 7);
    collect c;
    assert_int_equal(iterate(a.rep.data, a.rep.len, &c), AM_OK);
    assert_int_equal(c.n, 3);
    assert_memory_equal(c.r[2].k, "b1", 2);
    assert_memory_equal(c.r[2].v, "yy", 2);
    assert_int_equal(c.r[2].seq, 9);
    /* Appending into an empty batch gives a copy of the source's records. */
    assert_int_equal(batch_append(&empty, &a), AM_OK);
    assert_int_equal(am_batch_count(&empty), 3);
    assert_int_equal(empty.rep.len, a.rep.len);
    assert_memory_equal(empty.rep.data + BATCH_HEADER, a.rep.data + BATCH_HEADER,
                        a.rep.len - BATCH_HEADER);
    batch_destroy(&a);
    batch_destroy(&b);
    batch_destroy(&empty);
}

/* A three-record batch with a value, a delete and an empty value. */
static am_batch *sample(void)
{
    am_batch *b = am_batch_new();
    assert_non_null(b);
    assert_int_equal(am_batch_put(b, "key1", 4, "value", 5), AM_OK);
    assert_int_equal(am_batch_delete(b, "key22", 5), AM_OK);
    assert_int_equal(am_batch_put(b, "k3", 2, "", 0), AM_OK);
    batch_set_seq(b->rep.data, 50);
    return b;
}

/* Every proper prefix is refused, and the handler never sees a partial batch. */
static void test_truncations_rejected(void **state)
{
    (void)state;
    am_batch *b = sample();
    collect c;
    for (size_t n = 0; n < b->rep.len; n++) {
        char *copy = malloc(n ? n : 1);         /* exact size: ASan catches overreads */
        assert_non_null(copy);
        memcpy(copy, b->rep.data, n);
        assert_int_equal(iterate(copy, n, &c), AM_ERR_CORRUPT);
        assert_int_equal(c.calls, 0);
        free(copy);
    }
    assert_int_equal(iterate(NULL, 0, &c), AM_ERR_CORRUPT);
    assert_int_equal(iterate(b->rep.data, b->rep.len, &c), AM_OK);
    am_batch_free(b);
}

/* Damaged encodings, each described by one edit of the sample batch. */
static void test_damaged_reps_rejected(void **state)
{
    (void)state;
    am_batch *b = sample();
    size_t len = b->rep.len;
    /* Offsets into the sample: record 1 kind at 12, key length at 13; record 2 kind at
       12 + 1 + 1 + 4 + 1 + 5 = 24; record 3 kind at 24 + 1 + 1 + 5 = 31. */
    static const struct { const char *what; size_t off; int byte; int extra; uint32_t count; uint64_t seq; } cases[] = {
        { "count too high", 0, -1, 0, 4, 50 },
        { "count too low", 0, -1, 0, 2, 50 },
        { "count zero with records", 0, -1, 0, 0, 50 },
        { "unknown kind 2", 12, 2, 0, 3, 50 },
        { "unknown kind 0xff", 24, 0xff, 0, 3, 50 },
        { "key length zero", 13, 0, 0, 3, 50 },
        { "key length past end", 13, 0x7f, 0, 3, 50 },
        { "unterminated varint", 13, 0x80, 0, 3, 50 },
        { "trailing byte", 0, -1, 1, 3, 50 },
        { "sequence too large", 0, -1, 0, 3, AM_MAX_SEQ + 1 },
        { "last sequence too large", 0, -1, 0, 3, AM_MAX_SEQ - 1 },
    };
    collect c;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *copy = malloc(len + 1);
        assert_non_null(copy);
        memcpy(copy, b->rep.data, len);
        if (cases[i].byte >= 0) copy[cases[i].off] = (char)cases[i].byte;
        copy[len] = 0x01;
        enc_fixed32(copy + 8, cases[i].count);
        enc_fixed64(copy, cases[i].seq);
        int rc = iterate(copy, len + (size_t)cases[i].extra, &c);
        if (rc != AM_ERR_CORRUPT) fail_msg("case '%s': got %d", cases[i].what, rc);
        assert_int_equal(c.calls, 0);
        free(copy);
    }
    /* The largest sequence that fits is accepted. */
    enc_fixed64(b->rep.data, AM_MAX_SEQ - 2);
    assert_int_equal(iterate(b->rep.data, len, &c), AM_OK);
    assert_int_equal(c.r[2].seq, AM_MAX_SEQ);
    am_batch_free(b);
}

/* Random bytes, and random single-byte edits of a valid batch: never a crash or an
 * overread (ASan), only AM_OK or AM_ERR_CORRUPT, and when OK every record is sane. */
static int check_sane(void *arg, uint64_t seq, int kind, const char *k, size_t kn,
                      const char *v, size_t vn)
{
    const char **bounds = arg;
    (void)seq;
    if (kind != AM_KIND_VALUE && kind != AM_KIND_DELETE) return -100;
    if (kn == 0 || kn > AM_MAX_KEY_BYTES || k < bounds[0] || k + kn > bounds[1]) return -101;
    if (vn && (v < bounds[0] || v + vn > bounds[1])) return -102;
    if (kind == AM_KIND_DELETE && vn) return -103;
    return 0;
}

static void test_fuzz(void **state)
{
    (void)state;
    tu_rng rng = { 777 };
    am_batch *b = sample();
    int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n;
        char *p;
        if (iter % 2) {
            n = (size_t)tu_below(&rng, 64);
            p = malloc(n ? n : 1);
            assert_non_null(p);
            for (size_t i = 0; i < n; i++) p[i] = (char)tu_next(&rng);
            if (n >= BATCH_HEADER) enc_fixed32(p + 8, (uint32_t)tu_below(&rng, 4));
        } else {
            n = b->rep.len;
            p = malloc(n);
            assert_non_null(p);
            memcpy(p, b->rep.data, n);
            size_t at = BATCH_HEADER + (size_t)tu_below(&rng, n - BATCH_HEADER);
            p[at] = (char)tu_next(&rng);
        }
        const char *bounds[2] = { p, p + n };
        batch_handler h = { (void *)bounds, check_sane };
        int rc = batch_iterate(p, n, &h);
        assert_true(rc == AM_OK || rc == AM_ERR_CORRUPT);
        ok += rc == AM_OK;
        free(p);
    }
    assert_true(ok > 0);            /* some edits (value bytes) leave a valid batch */
    am_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_is_empty),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_invalid_args),
        cmocka_unit_test(test_stack_batch_and_append),
        cmocka_unit_test(test_truncations_rejected),
        cmocka_unit_test(test_damaged_reps_rejected),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
