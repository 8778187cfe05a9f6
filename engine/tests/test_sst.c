/* test_sst.c: SSTable builder and reader against a sorted in-memory model: point lookups
 * at many sequence numbers, full scans and seeks (shared reads through the mapping or the
 * cache, and verified private reads around both), bloom on and off, file info and
 * properties, empty files and long keys, sticky builder errors, and corruption: a flipped
 * byte anywhere gives AM_ERR_CORRUPT (never wrong data), a block changed on disk after its
 * first check is caught by a verified private read, and a truncated file is not an
 * SSTable. (Checksum-valid files with keys out of order: test_sst_order.c.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "sst/sst.h"
#include "sst/sst_format.h"
#include "sst/block.h"
#include "util/env.h"
#include "util/env_fault.h"
#include "util/ikey.h"
#include "testutil.h"
#include "testutil_db.h"
#include "testutil_iter.h"

/* ---- the model ------------------------------------------------------------------- */

typedef struct ment {
    char *k; size_t kn;      /* internal key */
    char *v; size_t vn;
    uint32_t user;           /* index of the user key */
} ment;

typedef struct model {
    ment *e;
    size_t n;
    size_t *first;           /* first entry of each user key; first[nusers] = n */
    size_t nusers;
} model;

static size_t ukey_fmt(char *buf, uint32_t u, size_t pad)
{
    int n = snprintf(buf, 32, "key-%08u", u * 3);
    memset(buf + n, 'x', pad);
    return (size_t)n + pad;
}

/* nusers user keys, 1..maxver versions each (distinct descending seqs), ~15% deletes. */
static void model_make(model *m, uint32_t nusers, int maxver, size_t pad, uint64_t seed)
{
    tu_rng rng = { seed };
    size_t cap = (size_t)nusers * (size_t)maxver;
    m->e = calloc(cap ? cap : 1, sizeof *m->e);
    m->first = calloc((size_t)nusers + 1, sizeof *m->first);
    assert_true(m->e && m->first);
    m->n = 0;
    m->nusers = nusers;
    char uk[32 + 1200];
    for (uint32_t u = 0; u < nusers; u++) {
        m->first[u] = m->n;
        int nv = 1 + (int)tu_below(&rng, (uint64_t)maxver);
        uint64_t seq = 100 + tu_below(&rng, 1000000);
        size_t ukn = ukey_fmt(uk, u, pad);
        for (int j = 0; j < nv; j++) {
            ment *e = &m->e[m->n++];
            e->user = u;
            e->kn = ukn + 8;
            e->k = malloc(e->kn);
            int kind = tu_below(&rng, 100) < 15 ? AM_KIND_DELETE : AM_KIND_VALUE;
            ikey_build(e->k, uk, ukn, seq, kind);
            size_t pad_v = (size_t)tu_below(&rng, 120);
            e->v = malloc(40 + pad_v);
            if (kind == AM_KIND_VALUE) {
                int vn = snprintf(e->v, 40, "val-%u-%llu-", u, (unsigned long long)seq);
                for (size_t i = 0; i < pad_v; i++) e->v[vn + (int)i] = (char)('a' + (i + u) % 26);
                e->vn = (size_t)vn + pad_v;
            } else {
                e->vn = 0;
            }
            seq -= 1 + tu_below(&rng, 5);   /* older versions have lower seqs */
        }
    }
    m->first[nusers] = m->n;
}

static void model_free(model *m)
{
    for (size_t i = 0; i < m->n; i++) { free(m->e[i].k); free(m->e[i].v); }
    free(m->e);
    free(m->first);
}

/* The entry of user u visible at seq, or NULL. */
static const ment *model_get(const model *m, uint32_t u, uint64_t seq)
{
    for (size_t i = m->first[u]; i < m->first[u + 1]; i++)
        if (ikey_seq(m->e[i].k, m->e[i].kn) <= seq) return &m->e[i];
    return NULL;
}

/* First entry >= ikey. */
static size_t model_lower_bound(const model *m, const char *k, size_t kn)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ikey_cmp(m->e[mid].k, m->e[mid].kn, k, kn) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* ---- fixtures ------------------------------------------------------------------ */

/* Files go to base, through posix (fault wraps it). */
typedef tu_fixture fx;

static void path_of(const fx *f, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", f->base, name);
}

static void build_file(am_env *env, const char *path, const model *m, const sst_options *o,
                       sst_file_info *info)
{
    sst_builder *b = NULL;
    assert_int_equal(sst_builder_new(env, path, o, &b), AM_OK);
    assert_non_null(b);
    for (size_t i = 0; i < m->n; i++)
        assert_int_equal(sst_builder_add(b, m->e[i].k, m->e[i].kn, m->e[i].v, m->e[i].vn), AM_OK);
    assert_int_equal(sst_builder_entries(b), m->n);
    uint64_t est = sst_builder_file_bytes(b);
    assert_int_equal(sst_builder_finish(b, info), AM_OK);
    assert_true(info->file_bytes >= est);
}

/* A model written to one SSTable: what most tests start from. */
typedef struct table {
    model m;
    char path[300];
    sst_file_info info;
} table;

/* Makes the model (model_make's nusers, maxver, pad, seed) and builds it into f's file
 * name with o. */
static void table_make(table *t, const fx *f, const char *name, uint32_t nusers, int maxver,
                       size_t pad, uint64_t seed, const sst_options *o)
{
    model_make(&t->m, nusers, maxver, pad, seed);
    path_of(f, name, t->path, sizeof t->path);
    build_file(f->posix, t->path, &t->m, o, &t->info);
}

static void table_free(table *t)
{
    sst_file_info_clear(&t->info);
    model_free(&t->m);
}

/* ---- lookups ---------------------------------------------------------------------- */

typedef struct got {
    int calls, kind;
    char v[1400];
    size_t vn;
} got;

static int on_found(void *arg, int kind, const char *v, size_t vn)
{
    got *g = arg;
    g->calls++;
    g->kind = kind;
    assert_true(vn <= sizeof g->v);
    memcpy(g->v, v, vn);
    g->vn = vn;
    return AM_OK;
}

/* Gets user key u at seq and checks the answer against the model. */
static void check_get(sst_reader *r, const model *m, uint32_t u, size_t pad, uint64_t seq,
                      sst_probe *p)
{
    char uk[32 + 1200];
    size_t ukn = ukey_fmt(uk, u, pad);
    got g = { 0 };
    int rc = sst_reader_get(r, uk, ukn, seq, p, on_found, &g);
    const ment *want = model_get(m, u, seq);
    if (!want) {
        assert_int_equal(rc, AM_NOT_FOUND);
        assert_int_equal(g.calls, 0);
        return;
    }
    assert_int_equal(rc, AM_OK);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.kind, ikey_kind(want->k, want->kn));
    assert_int_equal(g.vn, want->vn);
    assert_memory_equal(g.v, want->v, g.vn);
}

/* Every key at its newest seq, at each version's seq and just below it. */
static void check_all_gets(sst_reader *r, const model *m, size_t pad, sst_probe *p)
{
    for (uint32_t u = 0; u < m->nusers; u++) {
        check_get(r, m, u, pad, AM_MAX_SEQ, p);
        for (size_t i = m->first[u]; i < m->first[u + 1]; i++) {
            uint64_t s = ikey_seq(m->e[i].k, m->e[i].kn);
            check_get(r, m, u, pad, s, p);
            check_get(r, m, u, pad, s - 1, p);
        }
    }
}

/* Keys that are not in the file: between and around the real ones. Returns how many. */
static int check_absent(sst_reader *r, uint32_t nusers, sst_probe *p)
{
    int n = 0;
    for (uint32_t u = 0; u <= nusers; u++) {
        char k[40];
        int kn = snprintf(k, sizeof k, "key-%08u", u * 3 + 1);
        got g = { 0 };
        assert_int_equal(sst_reader_get(r, k, (size_t)kn, AM_MAX_SEQ, p, on_found, &g),
                         AM_NOT_FOUND);
        assert_int_equal(g.calls, 0);
        n++;
    }
    got g = { 0 };
    assert_int_equal(sst_reader_get(r, "", 0, AM_MAX_SEQ, p, on_found, &g), AM_NOT_FOUND);
    assert_int_equal(sst_reader_get(r, "zzz", 3, AM_MAX_SEQ, p, on_found, &g), AM_NOT_FOUND);
    return n + 2;
}

/* ---- iteration -------------------------------------------------------------------- */

static void check_at(am_iiter *it, const ment *e)
{
    tu_expect_iter_at(it, e->k, e->kn, e->v, e->vn);
}

static void check_iter(sst_reader *r, const model *m, sst_read_mode mode, uint64_t seed)
{
    am_iiter *it = sst_iter_new(r, mode);
    assert_non_null(it);
    size_t i = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it)) check_at(it, &m->e[i++]);
    assert_int_equal(i, m->n);
    assert_int_equal(iter_status(it), AM_OK);

    /* the same walk through the fused next_key, which must agree with next/valid/key */
    i = 0;
    iter_seek_first(it);
    size_t cn;
    const char *ck = iter_valid(it) ? iter_key(it, &cn) : NULL;
    for (; ck; ck = iter_next_key(it, &cn)) {
        assert_true(i < m->n);
        assert_int_equal(cn, m->e[i].kn);
        assert_memory_equal(ck, m->e[i].k, cn);
        check_at(it, &m->e[i++]);
    }
    assert_int_equal(i, m->n);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_OK);

    /* seeks: to existing keys, to lookup keys, to keys between, past the end */
    tu_rng rng = { seed };
    for (int round = 0; round < 2000 && m->n; round++) {
        const ment *e = &m->e[tu_below(&rng, m->n)];
        char *k = malloc(e->kn);
        memcpy(k, e->k, e->kn);
        switch (round % 3) {
        case 0: break;
        case 1: enc_fixed64(k + e->kn - 8, ikey_pack(tu_below(&rng, 1100000), AM_KIND_MAX)); break;
        case 2: k[e->kn - 9] = (char)(k[e->kn - 9] + 1); break;   /* a user key between */
        }
        iter_seek(it, k, e->kn);
        size_t want = model_lower_bound(m, k, e->kn);
        /* walk a few entries from there */
        for (int step = 0; step < 3; step++, want++) {
            if (want >= m->n) { assert_false(iter_valid(it)); break; }
            check_at(it, &m->e[want]);
            iter_next(it);
        }
        free(k);
    }
    /* before the first key: an empty user key, and "key" (a prefix of every key) */
    char lo[16];
    ikey_build(lo, "", 0, AM_MAX_SEQ, AM_KIND_MAX);
    iter_seek(it, lo, 8);
    if (m->n) check_at(it, &m->e[0]);
    ikey_build(lo, "key", 3, 0, AM_KIND_DELETE);
    iter_seek(it, lo, 11);
    if (m->n) check_at(it, &m->e[0]);
    char hi[16];
    memset(hi, 0xff, sizeof hi);
    iter_seek(it, hi, sizeof hi);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_OK);
    iter_free(it);
}

/* ---- tests ------------------------------------------------------------------------ */

static void check_info(const sst_file_info *fi, const model *m)
{
    uint64_t dels = 0, mn = UINT64_MAX, mx = 0;
    for (size_t i = 0; i < m->n; i++) {
        uint64_t s = ikey_seq(m->e[i].k, m->e[i].kn);
        dels += ikey_kind(m->e[i].k, m->e[i].kn) == AM_KIND_DELETE;
        if (s < mn) mn = s;
        if (s > mx) mx = s;
    }
    assert_int_equal(fi->entries, m->n);
    assert_int_equal(fi->deletions, dels);
    assert_int_equal(fi->min_seq, mn);
    assert_int_equal(fi->max_seq, mx);
    assert_int_equal(fi->smallest_len, m->e[0].kn);
    assert_memory_equal(fi->smallest, m->e[0].k, fi->smallest_len);
    assert_int_equal(fi->largest_len, m->e[m->n - 1].kn);
    assert_memory_equal(fi->largest, m->e[m->n - 1].k, fi->largest_len);
}

/* 50k entries, several versions per key, deletions; bloom on and off; with a cache. */
static void test_build_get_iterate(void **state)
{
    fx *f = *state;
    model m;
    model_make(&m, 20000, 4, 0, 1);
    assert_true(m.n >= 45000);
    static const sst_options opts[] = {
        { .block_bytes = 4096, .index_stride = 16, .bloom_bits_per_key = 10 },
        { .block_bytes = 1024, .index_stride = 3, .bloom_bits_per_key = 0 },
    };
    blk_cache *cache;
    assert_int_equal(cache_new(8 << 20, &cache), AM_OK);
    /* The POSIX env maps files (blocks read in place, verified once); the fault env offers
       no mapping (blocks read with pread through the cache): both paths, every check. */
    for (size_t oi = 0; oi < 2 * (sizeof opts / sizeof opts[0]); oi++) {
        int mapped = oi % 2 == 0;
        am_env *env = mapped ? f->posix : f->fault;
        char path[300];
        path_of(f, oi == 0 ? "1.sst" : oi == 1 ? "2.sst" : oi == 2 ? "3.sst" : "4.sst",
                path, sizeof path);
        sst_file_info info;
        build_file(f->posix, path, &m, &opts[oi / 2], &info);
        check_info(&info, &m);

        sst_reader *r = NULL;
        assert_int_equal(sst_reader_open(env, path, oi + 1, cache, &r), AM_OK);
        assert_int_equal(sst_reader_file_bytes(r), info.file_bytes);
        check_info(sst_reader_props(r), &m);
        assert_int_equal(sst_reader_props(r)->file_bytes, info.file_bytes);

        sst_probe p = { 0 };
        check_all_gets(r, &m, 0, &p);
        if (mapped) assert_true(p.blocks_cache == 0 && p.blocks_disk > 0);
        else assert_true(p.blocks_cache > 0 && p.blocks_disk > 0);
        sst_probe pa = { 0 };
        int absent = check_absent(r, (uint32_t)m.nusers, &pa);
        if (opts[oi / 2].bloom_bits_per_key) {
            assert_int_equal(pa.bloom_checks, absent);
            /* the bloom filter stops nearly all of them (expected ~1% through) */
            assert_true(pa.bloom_negatives >= (uint32_t)absent * 95 / 100);
            assert_true(pa.blocks_disk + pa.blocks_cache <= (uint32_t)absent / 20);
            assert_true(p.bloom_checks > 0 && p.bloom_negatives == 0);
        } else {
            assert_int_equal(pa.bloom_checks, 0);
            assert_int_equal(p.bloom_checks, 0);
            assert_true(sst_reader_may_match(r, "nope", 4));
        }
        for (uint32_t u = 0; u < 100; u++) {
            char uk[32];
            size_t ukn = ukey_fmt(uk, u, 0);
            assert_true(sst_reader_may_match(r, uk, ukn));
        }
        check_iter(r, &m, SST_READ_SHARED, 11);
        check_iter(r, &m, SST_READ_VERIFIED_PRIVATE, 12);
        sst_reader_free(r);
        sst_file_info_clear(&info);
        assert_null(info.smallest);
    }
    assert_int_equal(cache_usage(cache), 0);   /* each reader took its blocks along */
    cache_free(cache);
    model_free(&m);
}

/* A second get of the same key is served by the cache; without a cache, from the disk.
 * (The pread path: the fault env maps nothing.) */
static void test_cache_accounting(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 2048, .index_stride = 8, .bloom_bits_per_key = 10 };
    table t;
    table_make(&t, f, "c.sst", 2000, 2, 0, 2, &o);
    blk_cache *cache;
    assert_int_equal(cache_new(1 << 20, &cache), AM_OK);
    for (int with_cache = 0; with_cache < 2; with_cache++) {
        sst_reader *r;
        assert_int_equal(sst_reader_open(f->fault, t.path, 7, with_cache ? cache : NULL, &r), AM_OK);
        sst_probe p = { 0 };
        check_get(r, &t.m, 500, 0, AM_MAX_SEQ, &p);
        assert_int_equal(p.blocks_disk, 1);
        assert_int_equal(p.blocks_cache, 0);
        assert_int_equal(p.searched, 1);
        assert_int_equal(p.bloom_checks, 1);
        check_get(r, &t.m, 500, 0, AM_MAX_SEQ, &p);
        assert_int_equal(p.blocks_disk, with_cache ? 1 : 2);
        assert_int_equal(p.blocks_cache, with_cache ? 1 : 0);
        if (with_cache) assert_true(cache_usage(cache) > 0 && cache_usage(cache) <= 2048 + 512);
        /* an iterator that bypasses the cache adds nothing to it */
        size_t before = cache_usage(cache);
        check_iter(r, &t.m, SST_READ_VERIFIED_PRIVATE, 5);
        assert_int_equal(cache_usage(cache), before);
        sst_reader_free(r);
    }
    cache_free(cache);
    table_free(&t);
}

/* One file opened twice with one cache (a segment moved to another level gets a second
 * reader): each reader's cached blocks belong to it, so after the first reader is freed,
 * the second must neither find nor use the first's entries (when cached blocks pointed
 * into a reader's mapping, sharing them read unmapped memory). */
static void test_two_readers_one_file(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 1024, .index_stride = 4, .bloom_bits_per_key = 10 };
    table t;
    table_make(&t, f, "twice.sst", 3000, 1, 0, 9, &o);
    blk_cache *cache;
    assert_int_equal(cache_new(4 << 20, &cache), AM_OK);
    sst_reader *a, *b;
    assert_int_equal(sst_reader_open(f->fault, t.path, 42, cache, &a), AM_OK);   /* cached */
    assert_int_equal(sst_reader_open(f->fault, t.path, 42, cache, &b), AM_OK);
    for (uint32_t u = 0; u < 3000; u += 7) check_get(a, &t.m, u, 0, AM_MAX_SEQ, NULL);
    size_t cached_by_a = cache_usage(cache);
    assert_true(cached_by_a > 0);
    sst_reader_free(a);                    /* its blocks leave the cache with it */
    assert_int_equal(cache_usage(cache), 0);
    sst_probe p = { 0 };
    for (uint32_t u = 0; u < 3000; u += 7) check_get(b, &t.m, u, 0, AM_MAX_SEQ, &p);
    assert_int_equal(p.blocks_cache + p.blocks_disk, 3000 / 7 + 1);
    assert_true(p.blocks_disk > 0);        /* b read its own blocks, found none of a's */
    check_iter(b, &t.m, SST_READ_SHARED, 11);
    sst_reader_free(b);
    cache_free(cache);
    table_free(&t);
}

/* A verified private read trusts no earlier check: after a get verified block 0 in the
 * mapping, the file's bytes change on disk (pwrite while the reader is open); a
 * SST_READ_VERIFIED_PRIVATE iterator reads the block with pread and verifies it again, so
 * it reports AM_ERR_CORRUPT naming the file, where one reading the mapping would not. An
 * unknown mode gives an iterator with status AM_ERR_INVALID. */
static void test_private_read_verifies_again(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 1024, .index_stride = 4, .bloom_bits_per_key = 0 };
    table t;
    table_make(&t, f, "private.sst", 2000, 1, 0, 12, &o);
    sst_reader *r;
    assert_int_equal(sst_reader_open(f->posix, t.path, 1, NULL, &r), AM_OK);
    check_get(r, &t.m, 0, 0, AM_MAX_SEQ, NULL);          /* block 0: verified, trusted */
    FILE *fp = fopen(t.path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    int ch = fgetc(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    assert_int_equal(fputc(ch ^ 0x40, fp), ch ^ 0x40);
    assert_int_equal(fclose(fp), 0);
    am_iiter *it = sst_iter_new(r, SST_READ_VERIFIED_PRIVATE);
    assert_non_null(it);
    iter_seek_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_ERR_CORRUPT);
    char msg[512];
    am_env_last_error(f->posix, msg, sizeof msg);
    assert_non_null(strstr(msg, "private.sst"));
    iter_free(it);
    it = sst_iter_new(r, (sst_read_mode)0);
    assert_non_null(it);
    iter_seek_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_ERR_INVALID);
    iter_free(it);
    sst_reader_free(r);
    table_free(&t);
}

/* Keys longer than the block iterator's inline buffer and the lookup stack buffer, with
 * small blocks (their index keys are shortened separators: "key-00000003" between
 * "key-00000003xxx..." and "key-00000006xxx...") and blocks larger than the read-ahead
 * chunk. */
/* A mapped reader verifies a block's checksum the first time it reads it and remembers
 * only success: a damaged block fails on every read (never wrong data, never marked good),
 * and a clean file reads back whole through gets and an iterator. */
static void test_mapped_verify_once(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 1024, .index_stride = 4, .bloom_bits_per_key = 0 };
    table t;
    table_make(&t, f, "once.sst", 2000, 1, 0, 10, &o);
    size_t n;
    char *bytes = tu_read_file(t.path, &n);
    /* damage the middle of the first data block (offset 0 is the first block) */
    char *bad = malloc(n);
    assert_non_null(bad);
    memcpy(bad, bytes, n);
    bad[100] ^= 0x40;
    char bad_path[320];
    snprintf(bad_path, sizeof bad_path, "%s.bad", t.path);
    tu_write_file(bad_path, bad, n);
    sst_reader *r;
    assert_int_equal(sst_reader_open(f->posix, bad_path, 1, NULL, &r), AM_OK);
    got g = { 0 };
    char uk[32];
    size_t ukn = ukey_fmt(uk, 0, 0);
    assert_int_equal(sst_reader_get(r, uk, ukn, AM_MAX_SEQ, NULL, on_found, &g), AM_ERR_CORRUPT);
    assert_int_equal(sst_reader_get(r, uk, ukn, AM_MAX_SEQ, NULL, on_found, &g), AM_ERR_CORRUPT);
    assert_int_equal(g.calls, 0);                 /* never wrong data, and never marked good */
    sst_reader_free(r);
    assert_int_equal(sst_reader_open(f->posix, t.path, 2, NULL, &r), AM_OK);
    check_get(r, &t.m, 0, 0, AM_MAX_SEQ, NULL);
    check_iter(r, &t.m, SST_READ_SHARED, 3);
    sst_reader_free(r);
    free(bad);
    free(bytes);
    table_free(&t);
}

static void test_long_keys_and_big_blocks(void **state)
{
    fx *f = *state;
    model m;
    model_make(&m, 300, 3, 1000, 3);
    static const size_t block_bytes[] = { 8 * 1024, 700 * 1024 };
    for (size_t bi = 0; bi < 2; bi++) {
        char path[300];
        path_of(f, "long.sst", path, sizeof path);
        sst_options o = { .block_bytes = block_bytes[bi], .index_stride = 4,
                          .bloom_bits_per_key = 8 };
        sst_file_info info;
        build_file(f->posix, path, &m, &o, &info);
        sst_reader *r;
        assert_int_equal(sst_reader_open(f->posix, path, 1, NULL, &r), AM_OK);
        sst_probe p = { 0 };
        check_all_gets(r, &m, 1000, &p);
        check_iter(r, &m, SST_READ_VERIFIED_PRIVATE, 1);
        check_iter(r, &m, SST_READ_SHARED, 2);
        sst_reader_free(r);
        sst_file_info_clear(&info);
    }
    model_free(&m);
}

static void test_empty_file(void **state)
{
    fx *f = *state;
    char path[300];
    path_of(f, "empty.sst", path, sizeof path);
    for (int bloom = 0; bloom < 2; bloom++) {
        sst_options o = { .block_bytes = 4096, .index_stride = 16, .bloom_bits_per_key = bloom * 10 };
        sst_builder *b;
        assert_int_equal(sst_builder_new(f->posix, path, &o, &b), AM_OK);
        sst_file_info info;
        assert_int_equal(sst_builder_finish(b, &info), AM_OK);
        assert_int_equal(info.entries, 0);
        assert_int_equal(info.largest_len, 0);
        sst_reader *r;
        assert_int_equal(sst_reader_open(f->posix, path, 1, NULL, &r), AM_OK);
        got g = { 0 };
        assert_int_equal(sst_reader_get(r, "a", 1, AM_MAX_SEQ, NULL, on_found, &g), AM_NOT_FOUND);
        am_iiter *it = sst_iter_new(r, SST_READ_SHARED);
        iter_seek_first(it);
        assert_false(iter_valid(it));
        iter_seek(it, "abcdefghi", 9);
        assert_false(iter_valid(it));
        assert_int_equal(iter_status(it), AM_OK);
        iter_free(it);
        sst_reader_free(r);
        sst_file_info_clear(&info);
    }
}

/* The found() return value is passed through, and found() is called at most once. */
static int found_returns_7(void *arg, int kind, const char *v, size_t vn)
{
    (void)kind; (void)v; (void)vn;
    ++*(int *)arg;
    return 7;
}

static void test_found_return_value(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 256, .index_stride = 2, .bloom_bits_per_key = 10 };
    table t;
    table_make(&t, f, "f.sst", 100, 3, 0, 4, &o);
    sst_reader *r;
    assert_int_equal(sst_reader_open(f->posix, t.path, 1, NULL, &r), AM_OK);
    char uk[32];
    size_t ukn = ukey_fmt(uk, 50, 0);
    int calls = 0;
    assert_int_equal(sst_reader_get(r, uk, ukn, AM_MAX_SEQ, NULL, found_returns_7, &calls), 7);
    assert_int_equal(calls, 1);
    sst_reader_free(r);
    table_free(&t);

    /* An entry of a kind this version does not know (checksum intact) is corruption. */
    sst_builder *b;
    assert_int_equal(sst_builder_new(f->posix, t.path, &o, &b), AM_OK);
    char ik[16];
    ikey_build(ik, "odd", 3, 9, 0x7f);
    assert_int_equal(sst_builder_add(b, ik, 11, "v", 1), AM_OK);
    sst_file_info info;
    assert_int_equal(sst_builder_finish(b, &info), AM_OK);
    assert_int_equal(sst_reader_open(f->posix, t.path, 1, NULL, &r), AM_OK);
    calls = 0;
    assert_int_equal(sst_reader_get(r, "odd", 3, AM_MAX_SEQ, NULL, found_returns_7, &calls),
                     AM_ERR_CORRUPT);
    assert_int_equal(calls, 0);
    sst_reader_free(r);
    sst_file_info_clear(&info);
}

/* Errors are sticky: after a failed write every add and finish report it. */
static void test_builder_sticky_errors(void **state)
{
    fx *f = *state;
    model m;
    model_make(&m, 5000, 2, 0, 5);
    am_env *fe = f->fault;
    char path[300];
    path_of(f, "sticky.sst", path, sizeof path);
    sst_options o = { .block_bytes = 4096, .index_stride = 16, .bloom_bits_per_key = 10 };

    /* the first append fails */
    sst_builder *b;
    assert_int_equal(sst_builder_new(fe, path, &o, &b), AM_OK);
    fault_env_fail_nth(fe, FAULT_WRITE, 1, AM_ERR_IO, 0);
    int rc = AM_OK;
    size_t i;
    for (i = 0; i < m.n && rc == AM_OK; i++)
        rc = sst_builder_add(b, m.e[i].k, m.e[i].kn, m.e[i].v, m.e[i].vn);
    assert_int_equal(rc, AM_ERR_IO);
    assert_true(i < m.n);
    assert_int_equal(sst_builder_add(b, m.e[i].k, m.e[i].kn, m.e[i].v, m.e[i].vn), AM_ERR_IO);
    sst_file_info info;
    assert_int_equal(sst_builder_finish(b, &info), AM_ERR_IO);
    assert_null(info.smallest);

    /* the sync fails: finish reports it */
    assert_int_equal(sst_builder_new(fe, path, &o, &b), AM_OK);
    for (i = 0; i < 100; i++)
        assert_int_equal(sst_builder_add(b, m.e[i].k, m.e[i].kn, m.e[i].v, m.e[i].vn), AM_OK);
    fault_env_fail_nth(fe, FAULT_SYNC, 1, AM_ERR_NOSPACE, 0);
    assert_int_equal(sst_builder_finish(b, &info), AM_ERR_NOSPACE);

    /* abandon frees everything */
    assert_int_equal(sst_builder_new(fe, path, &o, &b), AM_OK);
    for (i = 0; i < 100; i++)
        assert_int_equal(sst_builder_add(b, m.e[i].k, m.e[i].kn, m.e[i].v, m.e[i].vn), AM_OK);
    sst_builder_abandon(b);
    sst_builder_abandon(NULL);

    /* a key shorter than a trailer is refused */
    assert_int_equal(sst_builder_new(fe, path, &o, &b), AM_OK);
    assert_int_equal(sst_builder_add(b, "short", 5, "v", 1), AM_ERR_INVALID);
    assert_int_equal(sst_builder_add(b, m.e[0].k, m.e[0].kn, "v", 1), AM_ERR_INVALID);
    sst_builder_abandon(b);

    model_free(&m);
}

/* ---- corruption ------------------------------------------------------------------- */

/* Answers from a corrupt file: each is right or AM_ERR_CORRUPT. Returns the number of
 * AM_ERR_CORRUPT seen (open failing counts as one). */
static int probe_corrupt(am_env *env, const char *path, const model *m)
{
    sst_reader *r = NULL;
    int rc = sst_reader_open(env, path, 1, NULL, &r);
    if (rc) {
        assert_int_equal(rc, AM_ERR_CORRUPT);
        assert_null(r);
        return 1;
    }
    int bad = 0;
    for (uint32_t u = 0; u < m->nusers; u++) {
        char uk[32];
        size_t ukn = ukey_fmt(uk, u, 0);
        got g = { 0 };
        rc = sst_reader_get(r, uk, ukn, AM_MAX_SEQ, NULL, on_found, &g);
        if (rc == AM_ERR_CORRUPT) { bad++; continue; }
        const ment *want = model_get(m, u, AM_MAX_SEQ);
        assert_int_equal(rc, AM_OK);
        assert_int_equal(g.kind, ikey_kind(want->k, want->kn));
        assert_int_equal(g.vn, want->vn);
        assert_memory_equal(g.v, want->v, g.vn);
    }
    for (int mode = SST_READ_SHARED; mode <= SST_READ_VERIFIED_PRIVATE; mode++) {
        am_iiter *it = sst_iter_new(r, (sst_read_mode)mode);
        size_t i = 0;
        for (iter_seek_first(it); iter_valid(it); iter_next(it)) check_at(it, &m->e[i++]);
        if (iter_status(it)) {
            assert_int_equal(iter_status(it), AM_ERR_CORRUPT);
            bad++;
        } else {
            assert_int_equal(i, m->n);
        }
        iter_free(it);
    }
    sst_reader_free(r);
    return bad;
}

static void test_flipped_bytes(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 512, .index_stride = 4, .bloom_bits_per_key = 10 };
    table t;
    table_make(&t, f, "good.sst", 400, 3, 0, 6, &o);
    char bad[300];
    path_of(f, "bad.sst", bad, sizeof bad);
    size_t n;
    char *orig = tu_read_file(t.path, &n);
    assert_int_equal(n, t.info.file_bytes);
    char *copy = malloc(n);

    /* Where the regions are, from the footer. */
    const char *foot = orig + n - SST_FOOTER_SIZE;
    uint64_t filter_off = dec_fixed64(foot + SST_FOOT_FILTER);
    uint64_t index_off = dec_fixed64(foot + SST_FOOT_INDEX);
    uint64_t index_size = dec_fixed64(foot + SST_FOOT_INDEX + 8);
    uint64_t props_off = dec_fixed64(foot + SST_FOOT_PROPS);
    assert_true(filter_off > 0 && filter_off < props_off && props_off < index_off);
    assert_int_equal(index_off + index_size + BLK_TRAILER, n - SST_FOOTER_SIZE);

    /* Positions: a spread over the data blocks, every 7th byte of the filter, every 3rd
       of the index, every byte of the properties and the footer. */
    tu_rng rng = { 99 };
    size_t npos = 0, cap = 4096;
    size_t *pos = malloc(cap * sizeof *pos);
    for (int i = 0; i < 150; i++) pos[npos++] = (size_t)tu_below(&rng, filter_off);
    for (size_t p = (size_t)filter_off; p < n;
         p += p < props_off ? 7 : p < index_off ? 1 : p < n - SST_FOOTER_SIZE ? 3 : 1) {
        if (npos == cap) pos = realloc(pos, (cap *= 2) * sizeof *pos);
        pos[npos++] = p;
    }
    int data_hits = 0;
    for (size_t i = 0; i < npos; i++) {
        memcpy(copy, orig, n);
        copy[pos[i]] ^= (char)(1u << tu_below(&rng, 8));
        tu_write_file(bad, copy, n);
        int b = probe_corrupt(f->posix, bad, &t.m);
        assert_true(b > 0);                        /* every byte is covered by a crc */
        if (pos[i] < filter_off) {
            data_hits++;
            sst_reader *r;                         /* a data block: open still works */
            assert_int_equal(sst_reader_open(f->posix, bad, 1, NULL, &r), AM_OK);
            sst_reader_free(r);
        } else if (pos[i] >= index_off) {          /* index, footer: open refuses */
            sst_reader *r = (sst_reader *)1;
            assert_int_equal(sst_reader_open(f->posix, bad, 1, NULL, &r), AM_ERR_CORRUPT);
            assert_null(r);
        }
    }
    assert_true(data_hits == 150);
    /* the message names the file */
    char msg[512];
    am_env_last_error(f->posix, msg, sizeof msg);
    assert_non_null(strstr(msg, "bad.sst"));

    free(pos);
    free(copy);
    free(orig);
    table_free(&t);
}

static void test_truncated_and_foreign_files(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 1024, .index_stride = 16, .bloom_bits_per_key = 10 };
    table t;
    table_make(&t, f, "t.sst", 300, 2, 0, 7, &o);
    char bad[300];
    path_of(f, "trunc.sst", bad, sizeof bad);
    size_t n;
    char *orig = tu_read_file(t.path, &n);
    size_t lens[] = { 0, 1, 8, 63, 64, 65, n / 2, n - 65, n - 64, n - 63, n - 8, n - 1 };
    char msg[512];
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        tu_write_file(bad, orig, lens[i]);
        sst_reader *r = (sst_reader *)1;
        assert_int_equal(sst_reader_open(f->posix, bad, 1, NULL, &r), AM_ERR_CORRUPT);
        assert_null(r);
        am_env_last_error(f->posix, msg, sizeof msg);
        assert_non_null(strstr(msg, "not an SSTable"));
        assert_non_null(strstr(msg, "trunc.sst"));
    }
    /* a file of another kind, with a long enough body */
    char junk[4096];
    memset(junk, 'j', sizeof junk);
    tu_write_file(bad, junk, sizeof junk);
    sst_reader *r;
    assert_int_equal(sst_reader_open(f->posix, bad, 1, NULL, &r), AM_ERR_CORRUPT);
    /* the footer moved: the file cut just before its last block ends keeps a footer-sized
       tail with no magic; a missing file is an I/O error, not corruption */
    path_of(f, "missing.sst", bad, sizeof bad);
    assert_int_not_equal(sst_reader_open(f->posix, bad, 1, NULL, &r), AM_OK);
    free(orig);
    table_free(&t);
}

/* Four threads read one reader through one small cache (eviction while pinned). */
typedef struct rworker {
    sst_reader *r;
    const model *m;
    uint64_t seed;
} rworker;

static void *reader_thread(void *arg)
{
    rworker *w = arg;
    tu_rng rng = { w->seed };
    for (int i = 0; i < 5000; i++) {
        uint32_t u = (uint32_t)tu_below(&rng, w->m->nusers);
        char uk[32];
        size_t ukn = ukey_fmt(uk, u, 0);
        got g = { 0 };
        int rc = sst_reader_get(w->r, uk, ukn, AM_MAX_SEQ, NULL, on_found, &g);
        const ment *want = model_get(w->m, u, AM_MAX_SEQ);
        if (rc != AM_OK || g.vn != want->vn || memcmp(g.v, want->v, g.vn) != 0) abort();
    }
    return NULL;
}

static void test_concurrent_gets(void **state)
{
    fx *f = *state;
    sst_options o = { .block_bytes = 1024, .index_stride = 16, .bloom_bits_per_key = 10 };
    table t;
    table_make(&t, f, "mt.sst", 5000, 2, 0, 8, &o);
    blk_cache *cache;
    assert_int_equal(cache_new(32 * 1024, &cache), AM_OK);
    sst_reader *r;
    assert_int_equal(sst_reader_open(f->posix, t.path, 1, cache, &r), AM_OK);
    pthread_t th[4];
    rworker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (rworker){ r, &t.m, 1000 + (uint64_t)i };
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    sst_reader_free(r);
    cache_free(cache);
    table_free(&t);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_build_get_iterate),
        T(test_cache_accounting),
        T(test_two_readers_one_file),
        T(test_mapped_verify_once),
        T(test_private_read_verifies_again),
        T(test_long_keys_and_big_blocks),
        T(test_empty_file),
        T(test_found_return_value),
        T(test_builder_sticky_errors),
        T(test_flipped_bytes),
        T(test_truncated_and_foreign_files),
        T(test_concurrent_gets),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
