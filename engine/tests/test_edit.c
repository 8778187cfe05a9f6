/* test_edit.c: version edits: encode / decode roundtrips, malformed records (truncated,
 * random, bit-flipped, hand-made bad fields) rejected with AM_ERR_CORRUPT, never a crash,
 * and edit_check's rules for a decoded edit's values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "util/coding.h"
#include "util/ikey.h"
#include "version/edit.h"
#include "version/version.h"
#include "testutil.h"

/* Fills d with keys "<prefix>a" .. "<prefix>z" and values derived from i. */
static void make_desc(seg_desc *d, char *sbuf, char *lbuf, int i)
{
    memset(d, 0, sizeof(*d));
    char uk[32];
    int n = snprintf(uk, sizeof uk, "key-%04d", i * 10);
    ikey_build(sbuf, uk, (size_t)n, 100 + (uint64_t)i, AM_KIND_VALUE);
    d->smallest = sbuf; d->smallest_len = (size_t)n + 8;
    n = snprintf(uk, sizeof uk, "key-%04d", i * 10 + 9);
    ikey_build(lbuf, uk, (size_t)n, 50 + (uint64_t)i, AM_KIND_DELETE);
    d->largest = lbuf; d->largest_len = (size_t)n + 8;
    d->id = 1000 + (uint64_t)i * 77777777ull;
    d->level = i % AM_MAX_LEVELS;
    d->run = (uint64_t)i * 3;
    d->tag = i & 1;
    d->bytes = (uint64_t)1 << (i % 60);
    d->entries = 12345 + (uint64_t)i;
    d->deletions = (uint64_t)i;
    d->min_seq = 50 + (uint64_t)i;
    d->max_seq = UINT64_MAX - (uint64_t)i;
    d->reads = (uint64_t)i * 1000;
    d->writes = (uint64_t)i * 7;
}

static void assert_desc_equal(const seg_desc *a, const seg_desc *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->run, b->run);
    assert_int_equal(a->tag, b->tag);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->entries, b->entries);
    assert_int_equal(a->deletions, b->deletions);
    assert_int_equal(a->min_seq, b->min_seq);
    assert_int_equal(a->max_seq, b->max_seq);
    assert_int_equal(a->reads, b->reads);
    assert_int_equal(a->writes, b->writes);
    assert_int_equal(a->smallest_len, b->smallest_len);
    assert_memory_equal(a->smallest, b->smallest, a->smallest_len);
    assert_int_equal(a->largest_len, b->largest_len);
    assert_memory_equal(a->largest, b->largest, a->largest_len);
}

static void assert_edit_equal(const version_edit *a, const version_edit *b)
{
    assert_int_equal(a->has_log_number, b->has_log_number);
    if (a->has_log_number) assert_int_equal(a->log_number, b->log_number);
    assert_int_equal(a->has_next_file, b->has_next_file);
    if (a->has_next_file) assert_int_equal(a->next_file, b->next_file);
    assert_int_equal(a->has_last_seq, b->has_last_seq);
    if (a->has_last_seq) assert_int_equal(a->last_seq, b->last_seq);
    assert_int_equal(a->has_strategy, b->has_strategy);
    if (a->has_strategy) assert_string_equal(a->strategy, b->strategy);
    assert_int_equal(a->ndeleted, b->ndeleted);
    for (size_t i = 0; i < a->ndeleted; i++) {
        assert_int_equal(a->deleted[i].level, b->deleted[i].level);
        assert_int_equal(a->deleted[i].id, b->deleted[i].id);
    }
    assert_int_equal(a->nadded, b->nadded);
    for (size_t i = 0; i < a->nadded; i++) assert_desc_equal(&a->added[i], &b->added[i]);
}

/* A full edit: every scalar field, 20 deletions, 20 additions. */
static void make_full_edit(version_edit *e)
{
    edit_init(e);
    e->has_log_number = 1; e->log_number = 42;
    e->has_next_file = 1; e->next_file = UINT64_MAX;
    e->has_last_seq = 1; e->last_seq = AM_MAX_SEQ;
    e->has_strategy = 1; strcpy(e->strategy, "lazy-leveled");
    for (int i = 0; i < 20; i++) {
        assert_int_equal(edit_delete_segment(e, i % AM_MAX_LEVELS, (uint64_t)i << 40), AM_OK);
        char s[64], l[64];
        seg_desc d;
        make_desc(&d, s, l, i);
        assert_int_equal(edit_add_segment(e, &d), AM_OK);
        memset(s, 'x', sizeof s);   /* the edit holds its own copy */
        memset(l, 'x', sizeof l);
    }
}

static void roundtrip(const version_edit *e)
{
    am_buf b;
    buf_init(&b);
    assert_int_equal(edit_encode(e, &b), AM_OK);
    version_edit d;
    edit_init(&d);
    assert_int_equal(edit_decode(&d, b.data, b.len), AM_OK);
    assert_edit_equal(e, &d);
    /* Encoding is deterministic. */
    am_buf b2;
    buf_init(&b2);
    assert_int_equal(edit_encode(&d, &b2), AM_OK);
    assert_int_equal(b.len, b2.len);
    if (b.len) assert_memory_equal(b.data, b2.data, b.len);
    edit_clear(&d);
    buf_free(&b);
    buf_free(&b2);
}

static void test_roundtrip_full(void **state)
{
    (void)state;
    version_edit e;
    make_full_edit(&e);
    roundtrip(&e);
    edit_clear(&e);
    assert_int_equal(e.nadded, 0);
    assert_null(e.added);
}

static void test_roundtrip_empty_and_single_fields(void **state)
{
    (void)state;
    version_edit e;
    edit_init(&e);
    roundtrip(&e);                                   /* encodes to zero bytes */
    e.has_log_number = 1; e.log_number = 0;
    roundtrip(&e);
    edit_init(&e);
    e.has_next_file = 1; e.next_file = 2;
    roundtrip(&e);
    edit_init(&e);
    e.has_last_seq = 1; e.last_seq = 0;
    roundtrip(&e);
    edit_init(&e);
    e.has_strategy = 1; memset(e.strategy, 'z', 31); e.strategy[31] = 0;   /* longest name */
    roundtrip(&e);
    edit_init(&e);
    assert_int_equal(edit_delete_segment(&e, AM_MAX_LEVELS - 1, 0), AM_OK);
    roundtrip(&e);
    edit_clear(&e);
    /* An added segment whose keys are bare trailers (empty user keys). */
    char s[8], l[8];
    ikey_build(s, "", 0, 1, AM_KIND_VALUE);
    ikey_build(l, "", 0, 0, AM_KIND_DELETE);
    seg_desc d = {.id = 7, .smallest = s, .smallest_len = 8, .largest = l, .largest_len = 8};
    assert_int_equal(edit_add_segment(&e, &d), AM_OK);
    roundtrip(&e);
    edit_clear(&e);
}

/* Every prefix of a valid record either decodes (then it ended on a field boundary and
 * re-encodes to itself) or is AM_ERR_CORRUPT; the record minus its last byte is corrupt. */
static void test_truncations(void **state)
{
    (void)state;
    version_edit e;
    make_full_edit(&e);
    am_buf b;
    buf_init(&b);
    assert_int_equal(edit_encode(&e, &b), AM_OK);
    size_t ok = 0;
    for (size_t n = 0; n < b.len; n++) {
        char *copy = malloc(n ? n : 1);      /* exact size: ASan catches any over-read */
        memcpy(copy, b.data, n);
        version_edit d;
        edit_init(&d);
        int rc = edit_decode(&d, copy, n);
        if (rc == AM_OK) {
            ok++;
            am_buf r;
            buf_init(&r);
            assert_int_equal(edit_encode(&d, &r), AM_OK);
            assert_int_equal(r.len, n);
            if (n) assert_memory_equal(r.data, copy, n);
            buf_free(&r);
        } else {
            assert_int_equal(rc, AM_ERR_CORRUPT);
            assert_int_equal(d.nadded, 0);   /* left empty */
            assert_int_equal(d.ndeleted, 0);
        }
        edit_clear(&d);
        free(copy);
    }
    /* 4 scalar fields + 20 deletions + 19 complete additions, plus the empty prefix. */
    assert_int_equal(ok, 1 + 4 + 20 + 19);
    version_edit d;
    edit_init(&d);
    assert_int_equal(edit_decode(&d, b.data, b.len - 1), AM_ERR_CORRUPT);
    buf_free(&b);
    edit_clear(&e);
}

static void test_random_bytes(void **state)
{
    (void)state;
    tu_rng rng = {.s = 0xed17};
    int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)tu_below(&rng, 64);
        char *p = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) {
            /* Mostly small bytes so that valid tags appear often. */
            uint64_t r = tu_next(&rng);
            p[i] = (char)((r & 3) ? (r >> 8) % 8 : (r >> 8));
        }
        version_edit d;
        edit_init(&d);
        int rc = edit_decode(&d, p, n);
        assert_true(rc == AM_OK || rc == AM_ERR_CORRUPT);
        ok += rc == AM_OK;
        edit_clear(&d);
        free(p);
    }
    assert_true(ok > 0);   /* the generator does reach valid records */
}

/* Flipping any bit of a valid record never crashes the decoder. */
static void test_bit_flips(void **state)
{
    (void)state;
    version_edit e;
    make_full_edit(&e);
    am_buf b;
    buf_init(&b);
    assert_int_equal(edit_encode(&e, &b), AM_OK);
    char *copy = malloc(b.len);
    int corrupt = 0;
    for (size_t i = 0; i < b.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, b.data, b.len);
            copy[i] ^= (char)(1 << bit);
            version_edit d;
            edit_init(&d);
            int rc = edit_decode(&d, copy, b.len);
            assert_true(rc == AM_OK || rc == AM_ERR_CORRUPT);
            corrupt += rc == AM_ERR_CORRUPT;
            edit_clear(&d);
        }
    }
    assert_true(corrupt > 0);
    free(copy);
    buf_free(&b);
    edit_clear(&e);
}

/* Hand-made malformed records: one per rule. */
static const struct bad_case {
    const char *what;
    const char *bytes;
    size_t n;
} bad_cases[] = {
    {"unknown tag", "\x07\x01", 2},
    {"tag zero", "\x00", 1},
    {"tag varint runs off the end", "\x81", 1},
    {"tag above 32 bits", "\x80\x80\x80\x80\x80\x01", 6},
    {"log number missing", "\x01", 1},
    {"log number twice", "\x01\x05\x01\x06", 4},
    {"next file twice", "\x02\x05\x02\x05", 4},
    {"last seq twice", "\x03\x05\x03\x05", 4},
    {"varint64 of 11 bytes", "\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12},
    {"strategy empty", "\x04\x00", 2},
    {"strategy 32 bytes", "\x04\x20" "0123456789abcdef0123456789abcdef", 34},
    {"strategy with NUL", "\x04\x03" "a\0b", 5},
    {"strategy length past end", "\x04\x05" "abc", 5},
    {"strategy twice", "\x04\x01" "a" "\x04\x01" "b", 6},
    {"deleted level 8", "\x05\x08\x01", 3},
    {"deleted id missing", "\x05\x01", 2},
    /* added: level 0, id 1, run 0, tag 2 (bad), ... */
    {"added tag 2", "\x06\x00\x01\x00\x02\x00\x00\x00\x00\x00\x00\x00"
                    "\x08" "AAAAAAAA" "\x08" "BBBBBBBB", 30},
    {"added level 9", "\x06\x09\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                      "\x08" "AAAAAAAA" "\x08" "BBBBBBBB", 30},
    {"added smallest 7 bytes", "\x06\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x07" "AAAAAAA" "\x08" "BBBBBBBB", 29},
    {"added largest 0 bytes", "\x06\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                              "\x08" "AAAAAAAA" "\x00", 22},
    {"added largest past end", "\x06\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x08" "AAAAAAAA" "\x09" "BBBBBBBB", 30},
    {"good field then junk", "\x02\x05\xff", 3},
};

static void test_bad_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        char *p = malloc(c->n);
        memcpy(p, c->bytes, c->n);
        version_edit d;
        edit_init(&d);
        int rc = edit_decode(&d, p, c->n);
        if (rc != AM_ERR_CORRUPT) fail_msg("case '%s': got %d, want AM_ERR_CORRUPT", c->what, rc);
        assert_int_equal(d.nadded + d.ndeleted, 0);
        assert_false(d.has_log_number || d.has_next_file || d.has_last_seq || d.has_strategy);
        free(p);
    }
    /* The good twin of the "added" cases decodes. */
    const char good[] = "\x06\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00"
                        "\x08" "AAAAAAAA" "\x08" "BBBBBBBB";
    version_edit d;
    edit_init(&d);
    assert_int_equal(edit_decode(&d, good, sizeof good - 1), AM_OK);
    assert_int_equal(d.nadded, 1);
    assert_int_equal(d.added[0].tag, AM_TAG_TIERED);
    assert_int_equal(d.added[0].id, 1);
    edit_clear(&d);
}

/* edit_check: what a decoded edit must satisfy on its own. Case c breaks one rule of a
 * valid edit (two additions, one deletion). */
static void check_case(version_edit *e, int c, char *s, char *l)
{
    seg_desc d;
    edit_init(e);
    edit_delete_segment(e, 1, 77);
    make_desc(&d, s, l, 1);
    edit_add_segment(e, &d);
    make_desc(&d, s, l, 2);
    edit_add_segment(e, &d);
    /* make_desc's extreme values test the encoding; a checked edit holds real sequences. */
    e->added[0].max_seq = e->added[1].max_seq = 1000;
    seg_desc *a = &e->added[1];
    switch (c) {
    case 1: ikey_build(a->smallest, "zzzzzzzz", 8, 1, AM_KIND_VALUE); a->smallest_len = 16; break;
    case 2: a->min_seq = a->max_seq = 5; a->min_seq = 6; break;
    case 3: a->tag = 2; break;
    case 4: a->level = AM_MAX_LEVELS; break;
    case 5: a->level = -1; break;
    case 6: a->id = 0; break;
    case 7: a->id = e->added[0].id; break;
    case 8: edit_delete_segment(e, 2, 77); break;
    case 9: e->deleted[0].id = 0; break;
    case 10: e->deleted[0].level = AM_MAX_LEVELS; break;
    case 11: a->largest_len = 7; break;
    case 12: a->max_seq = AM_MAX_SEQ + 1; break;
    case 13: a->id = EDIT_MAX_FILE_NUMBER + 1; break;
    case 14: e->has_last_seq = 1; e->last_seq = AM_MAX_SEQ + 1; break;
    case 15: e->has_next_file = 1; e->next_file = UINT64_MAX; break;
    case 16: e->has_log_number = 1; e->log_number = EDIT_MAX_FILE_NUMBER + 1; break;
    }
}

static void test_check(void **state)
{
    (void)state;
    static const char *const want[] = {
        NULL, "sorts after its largest", "min_seq", "tag 2", "level 8", "level -1",
        "file number 0", "twice", "twice", "deletes segment 0", "at level 8", "shorter",
        "above the largest sequence number", "file number 4611686018427387905",
        "last sequence 72057594037927936", "records file number 18446744073709551615",
        "records file number 4611686018427387905",
    };
    for (int c = 0; c < (int)(sizeof want / sizeof want[0]); c++) {
        version_edit e;
        char s[64], l[64], why[200] = "";
        check_case(&e, c, s, l);
        int rc = edit_check(&e, why, sizeof why);
        if (!want[c]) {
            if (rc != AM_OK) fail_msg("valid edit refused: %s", why);
        } else if (rc != AM_ERR_CORRUPT || !strstr(why, want[c])) {
            fail_msg("case %d: %d '%s', want corruption saying '%s'", c, rc, why, want[c]);
        }
        edit_clear(&e);
    }
    /* An empty edit, and one smallest == largest, are fine. */
    version_edit e;
    char why[200];
    edit_init(&e);
    assert_int_equal(edit_check(&e, why, sizeof why), AM_OK);
    seg_desc d;
    char s[64], l[64];
    make_desc(&d, s, l, 3);
    d.largest = d.smallest;
    d.largest_len = d.smallest_len;
    d.max_seq = AM_MAX_SEQ;                  /* the largest sequence is fine too */
    edit_add_segment(&e, &d);
    assert_int_equal(edit_check(&e, why, sizeof why), AM_OK);
    edit_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_full),
        cmocka_unit_test(test_roundtrip_empty_and_single_fields),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_bad_cases),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
