/* test_util.c: coding (fixed-width, varints at every length boundary, truncated and
 * malformed input, length-prefixed slices), am_buf, CRC-32C (published vectors, streaming,
 * hardware and table paths agree, mask), the arena (alignment, no overlap, usage), the
 * growable array (vec.h) and the hash (pinned values: bloom filters on disk depend on
 * them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "amethyst.h"
#include "util/arena.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/hash.h"
#include "util/ikey.h"
#include "util/vec.h"

/* crc32c.c's table path, whatever the CPU (for tests; not in crc32c.h). */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n);

/* ---------------- fixed-width ---------------- */

static void test_fixed_little_endian(void **state)
{
    (void)state;
    char b[8];
    enc_fixed32(b, 0x04030201u);
    assert_memory_equal(b, "\x01\x02\x03\x04", 4);
    assert_int_equal(dec_fixed32(b), 0x04030201u);
    enc_fixed64(b, 0x0807060504030201ull);
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_int_equal(dec_fixed64(b), 0x0807060504030201ull);
    /* Unaligned. */
    char u[9] = { 0 };
    enc_fixed64(u + 1, UINT64_MAX - 5);
    assert_int_equal(dec_fixed64(u + 1), UINT64_MAX - 5);
}

/* ---------------- varints ---------------- */

/* Values around each 7-bit boundary, with the length each must encode to. */
static const struct { uint64_t v; int len; } varint_cases[] = {
    { 0, 1 }, { 1, 1 }, { 127, 1 }, { 128, 2 }, { 255, 2 }, { 300, 2 },
    { (1ull << 14) - 1, 2 }, { 1ull << 14, 3 },
    { (1ull << 21) - 1, 3 }, { 1ull << 21, 4 },
    { (1ull << 28) - 1, 4 }, { 1ull << 28, 5 },
    { UINT32_MAX, 5 }, { (uint64_t)UINT32_MAX + 1, 5 },
    { (1ull << 35) - 1, 5 }, { 1ull << 35, 6 },
    { (1ull << 42) - 1, 6 }, { 1ull << 42, 7 },
    { (1ull << 49) - 1, 7 }, { 1ull << 49, 8 },
    { (1ull << 56) - 1, 8 }, { 1ull << 56, 9 },
    { (1ull << 63) - 1, 9 }, { 1ull << 63, 10 },
    { UINT64_MAX - 1, 10 }, { UINT64_MAX, 10 },
};
#define NCASES (sizeof varint_cases / sizeof varint_cases[0])

static void test_varint64_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        uint64_t v = varint_cases[i].v;
        char b[16];
        memset(b, 0xee, sizeof b);
        char *end = enc_varint64(b, v);
        int len = (int)(end - b);
        if (len != varint_cases[i].len)
            fail_msg("varint64 %llu: %d bytes, want %d", (unsigned long long)v, len,
                     varint_cases[i].len);
        assert_int_equal(varint_length(v), len);
        assert_int_equal((unsigned char)b[len], 0xee);      /* wrote nothing past end */
        uint64_t got = ~v;
        assert_ptr_equal(dec_varint64(b, end, &got), end);
        assert_int_equal(got, v);
        /* Trailing bytes are not consumed. */
        assert_ptr_equal(dec_varint64(b, b + sizeof b, &got), end);
        assert_int_equal(got, v);
        /* Every truncation is rejected, and never read past limit (ASan would see it if
           the input lived at the end of an allocation: see test_varint_reads_stay_in_bounds). */
        for (int cut = 0; cut < len; cut++)
            if (dec_varint64(b, b + cut, &got) != NULL)
                fail_msg("varint64 %llu cut to %d bytes accepted", (unsigned long long)v, cut);
    }
}

static void test_varint32_roundtrip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        uint64_t v64 = varint_cases[i].v;
        if (v64 > UINT32_MAX) continue;
        uint32_t v = (uint32_t)v64;
        char b[8];
        char *end = enc_varint32(b, v);
        assert_int_equal(end - b, varint_cases[i].len);
        uint32_t got = ~v;
        assert_ptr_equal(dec_varint32(b, end, &got), end);
        assert_int_equal(got, v);
        for (int cut = 0; cut < (int)(end - b); cut++)
            assert_null(dec_varint32(b, b + cut, &got));
        /* varint32 and varint64 encode the same value the same way. */
        char c[16];
        assert_int_equal(enc_varint64(c, v) - c, end - b);
        assert_memory_equal(b, c, (size_t)(end - b));
    }
}

static void test_varint_malformed(void **state)
{
    (void)state;
    uint64_t v64;
    uint32_t v32;
    /* A value above UINT32_MAX is not a varint32. */
    char big[16];
    char *end = enc_varint64(big, (uint64_t)UINT32_MAX + 1);
    assert_null(dec_varint32(big, end, &v32));
    assert_non_null(dec_varint64(big, end, &v64));
    /* 10th byte carrying more than the top bit overflows 64 bits. */
    const char over[10] = { '\xff', '\xff', '\xff', '\xff', '\xff',
                            '\xff', '\xff', '\xff', '\xff', '\x02' };
    assert_null(dec_varint64(over, over + 10, &v64));
    const char max[10] = { '\xff', '\xff', '\xff', '\xff', '\xff',
                           '\xff', '\xff', '\xff', '\xff', '\x01' };
    assert_ptr_equal(dec_varint64(max, max + 10, &v64), max + 10);
    assert_int_equal(v64, UINT64_MAX);
    /* More than 10 bytes with continuation bits: rejected, not looped on. */
    char cont[16];
    memset(cont, 0x80, sizeof cont);
    assert_null(dec_varint64(cont, cont + sizeof cont, &v64));
    assert_null(dec_varint32(cont, cont + sizeof cont, &v32));
    /* Empty input. */
    assert_null(dec_varint64(cont, cont, &v64));
    assert_null(dec_varint32(cont, cont, &v32));
}

/* Each encoding placed flush against the end of a heap block: a decoder that reads one
 * byte past limit trips ASan. */
static void test_varint_reads_stay_in_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        char tmp[16];
        size_t len = (size_t)(enc_varint64(tmp, varint_cases[i].v) - tmp);
        for (size_t cut = 0; cut <= len; cut++) {
            char *heap = malloc(cut ? cut : 1);
            assert_non_null(heap);
            memcpy(heap, tmp, cut);
            uint64_t v64;
            uint32_t v32;
            const char *r = dec_varint64(heap, heap + cut, &v64);
            assert_true(cut == len ? r == heap + len : r == NULL);
            dec_varint32(heap, heap + cut, &v32);
            const char *data;
            dec_lenprefixed(heap, heap + cut, &data, &v32);
            free(heap);
        }
    }
}

static void test_lenprefixed(void **state)
{
    (void)state;
    am_buf b;
    buf_init(&b);
    assert_int_equal(buf_put_lenprefixed(&b, "abc", 3), AM_OK);
    assert_int_equal(buf_put_lenprefixed(&b, "", 0), AM_OK);
    char big[300];
    memset(big, 'z', sizeof big);
    assert_int_equal(buf_put_lenprefixed(&b, big, sizeof big), AM_OK);
    assert_int_equal(b.len, 1 + 3 + 1 + 2 + 300);

    const char *p = b.data, *limit = b.data + b.len, *d;
    uint32_t n;
    p = dec_lenprefixed(p, limit, &d, &n);
    assert_non_null(p);
    assert_int_equal(n, 3);
    assert_memory_equal(d, "abc", 3);
    p = dec_lenprefixed(p, limit, &d, &n);
    assert_non_null(p);
    assert_int_equal(n, 0);
    const char *last = p;
    p = dec_lenprefixed(p, limit, &d, &n);
    assert_ptr_equal(p, limit);
    assert_int_equal(n, 300);
    assert_memory_equal(d, big, 300);
    /* A length running past limit, at every cut of the last slice. */
    for (const char *cut = last; cut < limit; cut++)
        assert_null(dec_lenprefixed(last, cut, &d, &n));
    /* Too long for a varint32 length: refused without reading p, buffer unchanged. */
    size_t len = b.len;
    assert_int_equal(buf_put_lenprefixed(&b, big, (size_t)UINT32_MAX + 1), AM_ERR_INVALID);
    assert_int_equal(b.len, len);
    buf_free(&b);
}

/* ---------------- am_buf ---------------- */

static void test_buf_append_reserve(void **state)
{
    (void)state;
    am_buf b;
    buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(buf_append(&b, NULL, 0), AM_OK);
    assert_int_equal(b.len, 0);

    /* reserve grows cap, never len or contents. */
    assert_int_equal(buf_append(&b, "head", 4), AM_OK);
    assert_int_equal(buf_reserve(&b, 1000), AM_OK);
    assert_true(b.cap >= b.len + 1000);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "head", 4);
    /* ... and does not move data when there is room. */
    char *before = b.data;
    size_t cap = b.cap;
    assert_int_equal(buf_reserve(&b, cap - b.len), AM_OK);
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.cap, cap);

    /* Many appends of varied size against a reference copy. */
    size_t total = 4;
    char *ref = malloc(1 << 20);
    assert_non_null(ref);
    memcpy(ref, "head", 4);
    tu_rng r = { 7 };
    while (total < (1 << 20) - 5000) {
        size_t n = (size_t)tu_below(&r, 4000);
        char chunk[4000];
        for (size_t i = 0; i < n; i++) chunk[i] = (char)tu_next(&r);
        assert_int_equal(buf_append(&b, chunk, n), AM_OK);
        memcpy(ref + total, chunk, n);
        total += n;
        assert_int_equal(b.len, total);
        assert_true(b.cap >= b.len);
    }
    assert_memory_equal(b.data, ref, total);
    free(ref);

    /* An impossible reservation fails and leaves the buffer as it was. */
    before = b.data;
    size_t len = b.len;
    cap = b.cap;
    assert_int_equal(buf_reserve(&b, SIZE_MAX), AM_ERR_NOMEM);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 2), AM_ERR_NOMEM);
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.len, len);
    assert_int_equal(b.cap, cap);

    /* clear keeps the memory; free leaves it empty and reusable. */
    buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(buf_append(&b, "again", 5), AM_OK);
    assert_memory_equal(b.data, "again", 5);
    buf_free(&b);
    buf_free(&b);                                   /* twice is fine */
}

static void test_buf_put_encodings(void **state)
{
    (void)state;
    am_buf b;
    buf_init(&b);
    assert_int_equal(buf_put_fixed32(&b, 0xdeadbeefu), AM_OK);
    assert_int_equal(buf_put_fixed64(&b, 0x0123456789abcdefull), AM_OK);
    for (size_t i = 0; i < NCASES; i++) {
        assert_int_equal(buf_put_varint64(&b, varint_cases[i].v), AM_OK);
        if (varint_cases[i].v <= UINT32_MAX)
            assert_int_equal(buf_put_varint32(&b, (uint32_t)varint_cases[i].v), AM_OK);
    }
    const char *p = b.data, *limit = b.data + b.len;
    assert_int_equal(dec_fixed32(p), 0xdeadbeefu);
    assert_int_equal(dec_fixed64(p + 4), 0x0123456789abcdefull);
    p += 12;
    for (size_t i = 0; i < NCASES; i++) {
        uint64_t v64;
        p = dec_varint64(p, limit, &v64);
        assert_non_null(p);
        assert_int_equal(v64, varint_cases[i].v);
        if (varint_cases[i].v <= UINT32_MAX) {
            uint32_t v32;
            p = dec_varint32(p, limit, &v32);
            assert_non_null(p);
            assert_int_equal(v32, varint_cases[i].v);
        }
    }
    assert_ptr_equal(p, limit);
    buf_free(&b);
}

/* ---------------- CRC-32C ---------------- */

static uint32_t crc_table(const void *p, size_t n) { return crc32c_extend_portable(0, p, n); }

/* RFC 3720 (iSCSI) B.4 test vectors, and the classic check value. */
static void test_crc32c_vectors(void **state)
{
    (void)state;
    unsigned char buf[48];
    struct { const char *name; uint32_t want; } cases[] = {
        { "123456789", 0xe3069283u },
        { "zeros", 0x8a9136aau },
        { "ones", 0x62a8ab43u },
        { "ascending", 0x46dd794eu },
        { "descending", 0x113fdb5cu },
        { "iscsi read", 0xd9963a56u },
        { "empty", 0x00000000u },
        { "a", 0xc1d04330u },
    };
    static const unsigned char iscsi[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = 32;
        const char *name = cases[i].name;
        if (!strcmp(name, "123456789")) { n = 9; memcpy(buf, name, 9); }
        else if (!strcmp(name, "zeros")) memset(buf, 0, 32);
        else if (!strcmp(name, "ones")) memset(buf, 0xff, 32);
        else if (!strcmp(name, "ascending")) for (int k = 0; k < 32; k++) buf[k] = (unsigned char)k;
        else if (!strcmp(name, "descending")) for (int k = 0; k < 32; k++) buf[k] = (unsigned char)(31 - k);
        else if (!strcmp(name, "iscsi read")) { n = 48; memcpy(buf, iscsi, 48); }
        else if (!strcmp(name, "empty")) n = 0;
        else { n = 1; buf[0] = 'a'; }
        uint32_t got = crc32c_value(buf, n), tab = crc_table(buf, n);
        if (got != cases[i].want || tab != cases[i].want)
            fail_msg("crc32c(%s) = %08x (table %08x), want %08x", name, got, tab,
                     cases[i].want);
    }
}

/* Streaming: extend over any split equals one pass; any start alignment; both paths.
 * Lengths reach past 3 x 256 bytes, where the hardware path switches to three lanes. */
static void test_crc32c_extend_and_paths(void **state)
{
    (void)state;
    unsigned char data[5000];
    tu_rng r = { 1234 };
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)tu_next(&r);
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n < 4900; n += n < 300 ? 1 : n < 1600 ? 7 : 61) {
            const unsigned char *p = data + off;
            uint32_t whole = crc32c_value(p, n);
            if (whole != crc_table(p, n))
                fail_msg("hardware and table paths differ: off %zu n %zu", off, n);
            size_t split = n ? (size_t)tu_below(&r, n + 1) : 0;
            uint32_t part = crc32c_extend(crc32c_value(p, split), p + split, n - split);
            assert_int_equal(part, whole);
            uint32_t tpart = crc32c_extend_portable(crc_table(p, split), p + split, n - split);
            assert_int_equal(tpart, whole);
        }
    }
    /* Byte by byte. */
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof data; i++) c = crc32c_extend(c, data + i, 1);
    assert_int_equal(c, crc32c_value(data, sizeof data));
    /* A flipped bit changes the CRC. */
    uint32_t before = crc32c_value(data, sizeof data);
    data[3333] ^= 0x10;
    assert_int_not_equal(crc32c_value(data, sizeof data), before);
}

static void test_crc32c_mask(void **state)
{
    (void)state;
    uint32_t crc = crc32c_value("foo", 3);
    assert_int_not_equal(crc32c_mask(crc), crc);
    assert_int_not_equal(crc32c_mask(crc32c_mask(crc)), crc32c_mask(crc));
    assert_int_equal(crc32c_unmask(crc32c_mask(crc)), crc);
    assert_int_equal(crc32c_unmask(crc32c_unmask(crc32c_mask(crc32c_mask(crc)))), crc);
    tu_rng r = { 99 };
    for (int i = 0; i < 10000; i++) {
        uint32_t v = (uint32_t)tu_next(&r);
        assert_int_equal(crc32c_unmask(crc32c_mask(v)), v);
    }
    uint32_t edge[] = { 0, 1, 0xa282ead8u, UINT32_MAX };
    for (size_t i = 0; i < 4; i++) assert_int_equal(crc32c_unmask(crc32c_mask(edge[i])), edge[i]);
    /* The on-disk value is pinned: leveldb's mask of crc32c("123456789"). */
    assert_int_equal(crc32c_mask(0xe3069283u), 0xc78ab0e5u);
    assert_int_equal(crc32c_unmask(0xc78ab0e5u), 0xe3069283u);
}

/* ---------------- arena ---------------- */

static void test_arena_alignment_and_overlap(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    assert_int_equal(arena_memory_usage(&a), 0);
    enum { N = 3000 };
    struct { unsigned char *p; size_t n; } got[N];
    tu_rng r = { 5 };
    for (int i = 0; i < N; i++) {
        /* Mostly small, some large enough to get their own block. */
        size_t n = tu_below(&r, 10) == 0 ? 1 + (size_t)tu_below(&r, 100000)
                                          : 1 + (size_t)tu_below(&r, 200);
        unsigned char *p = arena_alloc(&a, n);
        assert_non_null(p);
        if ((uintptr_t)p % 8 != 0) fail_msg("arena_alloc(%zu) = %p: not 8-aligned", n, (void *)p);
        memset(p, (unsigned char)i, n);
        got[i].p = p;
        got[i].n = n;
    }
    /* Every allocation still holds its own pattern: no two overlap. */
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < got[i].n; k++)
            if (got[i].p[k] != (unsigned char)i) fail_msg("allocation %d overwritten", i);
    arena_destroy(&a);
    assert_int_equal(arena_memory_usage(&a), 0);
}

static void test_arena_usage(void **state)
{
    (void)state;
    arena a;
    arena_init(&a);
    assert_non_null(arena_alloc(&a, 1));
    size_t one_block = arena_memory_usage(&a);
    assert_true(one_block >= 64 * 1024);           /* a whole block, counted once */
    assert_true(one_block < 64 * 1024 + 256);
    size_t sum = 8;
    while (sum + 100 * 8 < 64 * 1024 - 200) {      /* fill the block: no new memory */
        assert_non_null(arena_alloc(&a, 100 * 8));
        sum += 100 * 8;
    }
    assert_int_equal(arena_memory_usage(&a), one_block);
    /* A large request gets its own block of about its size and keeps the current one. */
    assert_non_null(arena_alloc(&a, 1 << 20));
    size_t with_large = arena_memory_usage(&a);
    assert_true(with_large >= one_block + (1 << 20));
    assert_true(with_large < one_block + (1 << 20) + 256);
    assert_non_null(arena_alloc(&a, 8));
    assert_int_equal(arena_memory_usage(&a), with_large);
    /* Usage never falls below what was handed out. */
    size_t handed = sum + (1 << 20) + 8;
    for (int i = 0; i < 5000; i++) {
        assert_non_null(arena_alloc(&a, 77));
        handed += 80;
    }
    assert_true(arena_memory_usage(&a) >= handed);
    assert_true(arena_memory_usage(&a) < handed + handed / 4 + 64 * 1024);
    arena_destroy(&a);
    /* Reusable after destroy. */
    assert_non_null(arena_alloc(&a, 16));
    arena_destroy(&a);
}

/* ---------------- hash ---------------- */

static void test_hash_pinned(void **state)
{
    (void)state;
    /* XXH3-64 with seed 0 (published value for empty input; the other pins the format:
       bloom filters on disk are built from these hashes). */
    assert_int_equal(am_hash64("", 0), 0x2d06800538d394c2ull);
    assert_int_equal(am_hash64("amethyst", 8), 0x88230aa99a0fea29ull);
    /* Same bytes, same hash, wherever they live. */
    char a[32] = "unaligned key", b[40];
    memcpy(b + 3, a, 13);
    assert_int_equal(am_hash64(a, 13), am_hash64(b + 3, 13));
    assert_int_not_equal(am_hash64("key1", 4), am_hash64("key2", 4));
    assert_int_not_equal(am_hash64("key", 3), am_hash64("key", 4));   /* length matters */
}

/* ukey_cmp against the definition (memcmp of the common prefix, then the shorter first),
 * for every length up to past the word-wise limit, with the first difference at every
 * position and byte values on both sides of 0x80 (a signed compare would get those wrong). */
static int sign(int x) { return (x > 0) - (x < 0); }

static int ukey_ref(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int r = m ? memcmp(a, b, m) : 0;
    if (r) return sign(r);
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static void test_ukey_cmp_matches_bytewise_order(void **state)
{
    (void)state;
    unsigned char a[80], b[80], orig[80];
    tu_rng rng = { 7 };
    for (size_t n = 0; n <= sizeof a; n++) {
        for (size_t i = 0; i < n; i++) a[i] = (unsigned char)tu_next(&rng);
        memcpy(b, a, n);
        memcpy(orig, a, n);
        assert_int_equal(ukey_cmp(a, n, b, n), 0);
        for (size_t pos = 0; pos < n; pos++) {
            static const unsigned char vals[][2] = { { 0x00, 0x01 }, { 0x7f, 0x80 },
                                                     { 0x01, 0xff }, { 0x80, 0xfe } };
            for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
                memcpy(b, a, n);
                a[pos] = vals[v][0];
                b[pos] = vals[v][1];
                if (pos + 1 < n) {   /* a later byte that disagrees must not matter */
                    a[n - 1] = 0xff;
                    b[n - 1] = 0x00;
                }
                assert_int_equal(sign(ukey_cmp(a, n, b, n)), -1);
                assert_int_equal(sign(ukey_cmp(b, n, a, n)), 1);
                assert_int_equal(sign(ukey_cmp(a, n, b, pos)), ukey_ref(a, n, b, pos));
                memcpy(a, orig, n);
            }
        }
        if (n > 0) {   /* a proper prefix sorts first */
            assert_int_equal(sign(ukey_cmp(a, n - 1, a, n)), -1);
            assert_int_equal(sign(ukey_cmp(a, n, a, n - 1)), 1);
        }
    }
}

/* vec_reserve: room for what is asked, contents kept, capacity doubling from the minimum,
 * nothing done when there is room, an impossible size refused with the array unchanged. */
static void test_vec_reserve(void **state)
{
    (void)state;
    uint32_t *a = NULL;
    size_t cap = 0;
    assert_int_equal(vec_reserve_min(&a, &cap, 1, sizeof *a, 4), AM_OK);
    assert_int_equal(cap, 4);
    for (uint32_t i = 0; i < 100; i++) {
        assert_int_equal(vec_reserve(&a, &cap, i + 1, sizeof *a), AM_OK);
        assert_true(cap >= i + 1);
        a[i] = i * 7;
    }
    assert_int_equal(cap, 128);            /* 4, 8, ..., 128 */
    for (uint32_t i = 0; i < 100; i++) assert_int_equal(a[i], i * 7);
    uint32_t *before = a;
    assert_int_equal(vec_reserve(&a, &cap, 50, sizeof *a), AM_OK);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 128);
    assert_int_equal(vec_reserve(&a, &cap, (size_t)-1 / 2, sizeof *a), AM_ERR_NOMEM);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 128);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_little_endian),
        cmocka_unit_test(test_ukey_cmp_matches_bytewise_order),
        cmocka_unit_test(test_varint64_roundtrip),
        cmocka_unit_test(test_varint32_roundtrip),
        cmocka_unit_test(test_varint_malformed),
        cmocka_unit_test(test_varint_reads_stay_in_bounds),
        cmocka_unit_test(test_lenprefixed),
        cmocka_unit_test(test_buf_append_reserve),
        cmocka_unit_test(test_buf_put_encodings),
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_crc32c_extend_and_paths),
        cmocka_unit_test(test_crc32c_mask),
        cmocka_unit_test(test_arena_alignment_and_overlap),
        cmocka_unit_test(test_arena_usage),
        cmocka_unit_test(test_hash_pinned),
        cmocka_unit_test(test_vec_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
