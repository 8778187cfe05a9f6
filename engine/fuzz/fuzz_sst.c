/* fuzz_sst.c: fuzz_sst_exercise (fuzz_sst.h), the walk over one SSTable of untrusted
 * contents that both SSTable targets run: open, three iterations that must agree, point
 * lookups on two readers that must agree, seeks, and a merge through the merge kernel whose
 * outputs must be valid files. */
#include "fuzz/fuzz_sst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/merge.h"
#include "fuzz/fuzz_util.h"
#include "sst/cache.h"
#include "sst/sst.h"
#include "version/fname.h"
#include "util/hash.h"
#include "util/ikey.h"

#define FILE_ID 7
#define NSAMPLES 24             /* keys kept from the walk for lookups and seeks */
#define CACHE_BYTES (64u << 10)

static struct {
    blk_cache *cache;           /* for the pread reader */
    char merge_dir[600];
    uint64_t next_file;         /* numbers for merge outputs */
} fs;

static void fs_free(void)
{
    cache_free(fs.cache);
    fs.cache = NULL;
}

static void fs_init(void)
{
    if (fs.cache) return;
    FUZZ_CHECK(cache_new(CACHE_BYTES, &fs.cache) == AM_OK, "out of memory for a cache");
    fuzz_at_exit(fs_free);
}

static void last_error(am_env *env, char *msg, size_t cap)
{
    am_env_last_error(env, msg, cap);
}

/* ---- one walk ---- */

typedef struct walk {
    uint64_t n, hash;
    int status;
    int sorted;                 /* strictly ascending internal keys */
    char *sample[NSAMPLES];     /* owned copies of internal keys */
    size_t sample_len[NSAMPLES], nsample;
} walk;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    return h * 0x100000001b3ull ^ am_hash64(p, n);
}

static void keep_sample(walk *w, const char *k, size_t kn)
{
    /* The first few keys, then every 16th: lookups spread over the file. */
    if (w->nsample >= NSAMPLES || !(w->n < NSAMPLES / 2 || w->n % 16 == 0)) return;
    char *c = malloc(kn);
    FUZZ_CHECK(c != NULL, "out of memory");
    memcpy(c, k, kn);
    w->sample[w->nsample] = c;
    w->sample_len[w->nsample++] = kn;
}

static void walk_free(walk *w)
{
    for (size_t i = 0; i < w->nsample; i++) free(w->sample[i]);
    w->nsample = 0;
}

/* Iterates r from the start; keeps samples when asked. */
static walk walk_file(sst_reader *r, sst_read_mode mode, int keep, const char *path, am_env *env)
{
    walk w = { .hash = 1, .sorted = 1 };
    am_buf prev;
    buf_init(&prev);
    am_iiter *it = sst_iter_new(r, mode);
    size_t kn = 0;
    iter_seek_first(it);
    for (const char *k = iter_key_if_valid(it, &kn); k; k = iter_next_key(it, &kn)) {
        size_t vn;
        const char *v = iter_value(it, &vn);
        FUZZ_CHECK(kn >= IKEY_TRAILER, "the iterator returned a key of %zu bytes", kn);
        w.hash = mix(mix(w.hash, k, kn), v, vn);
        if (w.n > 0 && ikey_cmp(prev.data, prev.len, k, kn) >= 0) w.sorted = 0;
        buf_clear(&prev);
        FUZZ_CHECK(buf_append(&prev, k, kn) == AM_OK, "out of memory");
        if (keep) keep_sample(&w, k, kn);
        w.n++;
    }
    w.status = iter_status(it);
    iter_free(it);
    buf_free(&prev);
    FUZZ_CHECK(w.status == AM_OK || w.status == AM_ERR_CORRUPT, "iteration ended with %s",
               am_strerror(w.status));
    if (w.status == AM_ERR_CORRUPT) {
        char msg[600];
        last_error(env, msg, sizeof msg);
        fuzz_check_named(w.status, msg, path);
    }
    return w;
}

/* ---- lookups ---- */

typedef struct found {
    int calls, kind;
    uint64_t hash;
} found;

static int on_found(void *arg, int kind, const char *v, size_t vn)
{
    found *f = arg;
    FUZZ_CHECK(kind == AM_KIND_VALUE || kind == AM_KIND_DELETE, "found() got kind %d", kind);
    f->calls++;
    f->kind = kind;
    f->hash = am_hash64(v, vn);     /* reads every byte of the value */
    return AM_OK;
}

/* One lookup on both readers: same status, same entry. */
static void lookup(sst_reader *a, sst_reader *b, const char *u, size_t un, uint64_t seq)
{
    found fa = { 0 }, fb = { 0 };
    sst_probe pa = { 0 }, pb = { 0 };
    int ra = sst_reader_get(a, u, un, seq, &pa, on_found, &fa);
    int rb = sst_reader_get(b, u, un, seq, &pb, on_found, &fb);
    FUZZ_CHECK(fuzz_status_ok(ra), "sst_reader_get (mapped): %s", am_strerror(ra));
    FUZZ_CHECK(ra == rb, "mapped and pread lookups disagree: %s vs %s", am_strerror(ra),
               am_strerror(rb));
    FUZZ_CHECK(fa.calls <= 1 && fa.calls == fb.calls && fa.kind == fb.kind &&
               fa.hash == fb.hash, "mapped and pread lookups found different entries");
    FUZZ_CHECK((ra == AM_OK) == (fa.calls == 1), "found() calls (%d) and status %s disagree",
               fa.calls, am_strerror(ra));
    (void)sst_reader_may_match(a, u, un);
}

static void lookups(sst_reader *a, sst_reader *b, const walk *w)
{
    char near[300];
    for (size_t i = 0; i < w->nsample; i++) {
        const char *k = w->sample[i];
        size_t un = w->sample_len[i] - IKEY_TRAILER;
        uint64_t seq = ikey_seq(k, w->sample_len[i]);
        lookup(a, b, k, un, seq);
        lookup(a, b, k, un, AM_MAX_SEQ);
        if (seq > 0) lookup(a, b, k, un, seq - 1);
        if (un > 0) lookup(a, b, k, un - 1, AM_MAX_SEQ);          /* a prefix */
        if (un + 1 <= sizeof near) {                               /* just after it */
            memcpy(near, k, un);
            near[un] = 0;
            lookup(a, b, near, un + 1, AM_MAX_SEQ);
        }
    }
    lookup(a, b, "", 0, AM_MAX_SEQ);
    lookup(a, b, "\xff\xff\xff\xff", 4, AM_MAX_SEQ);
}

/* Seeks to every sample (and a little past), then a few steps. */
static void seeks(sst_reader *r, sst_read_mode mode, const walk *w)
{
    am_iiter *it = sst_iter_new(r, mode);
    for (size_t i = 0; i < w->nsample; i++) {
        iter_seek(it, w->sample[i], w->sample_len[i]);
        for (int s = 0; s < 3 && iter_valid(it); s++) {
            size_t kn, vn;
            const char *k = iter_key(it, &kn), *v = iter_value(it, &vn);
            FUZZ_CHECK(kn >= IKEY_TRAILER, "a seek gave a key of %zu bytes", kn);
            (void)am_hash64(k, kn);
            (void)am_hash64(v, vn);
            iter_next(it);
        }
        int st = iter_status(it);
        FUZZ_CHECK(st == AM_OK || st == AM_ERR_CORRUPT, "seek ended with %s", am_strerror(st));
    }
    iter_seek(it, "", 0);             /* shorter than a trailer: the start */
    iter_free(it);
}

/* ---- the merge kernel ---- */

static uint64_t next_number(void *arg)
{
    (void)arg;
    return fs.next_file++;
}

/* An output of the merge: it must open, iterate without error, be strictly ascending, and
 * match what the merge recorded. Returns its entries. */
static uint64_t check_output(const seg_desc *d)
{
    char path[700];
    fname_sst(path, sizeof path, fs.merge_dir, d->id);
    sst_reader *r = NULL;
    int rc = sst_reader_open(fuzz_env(), path, d->id, NULL, &r);
    FUZZ_CHECK(rc == AM_OK, "a merge output does not open: %s", am_strerror(rc));
    walk w = walk_file(r, SST_READ_VERIFIED_PRIVATE, 0, path, fuzz_env());
    FUZZ_CHECK(w.status == AM_OK && w.sorted, "a merge output is %s",
               w.status ? "corrupt" : "out of order");
    FUZZ_CHECK(w.n == d->entries, "a merge output holds %llu entries, recorded %llu",
               (unsigned long long)w.n, (unsigned long long)d->entries);
    const sst_file_info *pi = sst_reader_props(r);
    FUZZ_CHECK(pi->smallest_len == d->smallest_len &&
               memcmp(pi->smallest, d->smallest, d->smallest_len) == 0 &&
               pi->largest_len == d->largest_len &&
               memcmp(pi->largest, d->largest, d->largest_len) == 0,
               "a merge output's key range differs from what the merge recorded");
    sst_reader_free(r);
    return w.n;
}

static void merge(sst_reader *r, const char *path, const walk *w, unsigned knobs)
{
    fuzz_dir(fs.merge_dir, sizeof fs.merge_dir, "merge");
    fs.next_file = 100;
    const sst_file_info *pi = sst_reader_props(r);
    uint64_t snap = pi->min_seq + (pi->max_seq - pi->min_seq) / 2;
    merge_params p = {
        .env = fuzz_env(),
        .dir = fs.merge_dir,
        .sst = { .block_bytes = 256, .index_stride = 4, .bloom_bits_per_key = 10 },
        .target_file_bytes = 2048,
        .bottommost = (knobs & 1) != 0,
        .snapshots = &snap,
        .nsnapshots = (knobs & 2) ? 1 : 0,
        .new_file_number = next_number,
        .out_level = 1, .out_run = 1, .out_tag = AM_TAG_LEVELED,
    };
    merge_result res;
    am_iiter *in = sst_iter_new(r, SST_READ_VERIFIED_PRIVATE);   /* as compactions read */
    int rc = merge_run(in, &p, &res);
    iter_free(in);
    FUZZ_CHECK(rc == AM_OK || rc == AM_ERR_CORRUPT, "merge_run: %s", am_strerror(rc));
    if (rc != AM_OK) {
        char msg[600];
        last_error(fuzz_env(), msg, sizeof msg);
        FUZZ_CHECK(strstr(msg, path) || strstr(msg, fs.merge_dir),
                   "a merge's corruption names neither the input nor the directory: \"%s\"",
                   msg);
        return;
    }
    FUZZ_CHECK(w->status != AM_OK || res.entries_in == w->n,
               "the merge read %llu entries, the walk %llu",
               (unsigned long long)res.entries_in, (unsigned long long)w->n);
    FUZZ_CHECK(res.entries_out + res.dropped == res.entries_in, "merge counts do not add up");
    uint64_t total = 0;
    for (size_t i = 0; i < res.nout; i++) total += check_output(&res.out[i]);
    FUZZ_CHECK(total == res.entries_out, "outputs hold %llu entries, the merge wrote %llu",
               (unsigned long long)total, (unsigned long long)res.entries_out);
    merge_result_clear(&res);
}

/* ---- the whole walk ---- */

void fuzz_sst_exercise(const char *path, unsigned knobs)
{
    fs_init();
    char msg[600];
    sst_reader *a = NULL, *b = NULL;
    int ra = sst_reader_open(fuzz_env(), path, FILE_ID, fs.cache, &a);
    last_error(fuzz_env(), msg, sizeof msg);
    int rb = sst_reader_open(fuzz_env_pread(), path, FILE_ID, fs.cache, &b);
    FUZZ_CHECK(ra == AM_OK || ra == AM_ERR_CORRUPT, "sst_reader_open: %s", am_strerror(ra));
    FUZZ_CHECK(ra == rb, "mapped and pread opens disagree: %s vs %s", am_strerror(ra),
               am_strerror(rb));
    if (ra != AM_OK) {
        fuzz_check_named(ra, msg, path);
        return;
    }
    const sst_file_info *pa = sst_reader_props(a), *pb = sst_reader_props(b);
    FUZZ_CHECK(pa->entries == pb->entries && pa->smallest_len == pb->smallest_len &&
               pa->largest_len == pb->largest_len, "the two readers' properties differ");

    walk wm = walk_file(a, SST_READ_SHARED, 1, path, fuzz_env());           /* mapped */
    walk wc = walk_file(b, SST_READ_SHARED, 0, path, fuzz_env_pread());     /* the cache */
    walk wr = walk_file(a, SST_READ_VERIFIED_PRIVATE, 0, path, fuzz_env()); /* private */
    FUZZ_CHECK(wm.n == wc.n && wm.hash == wc.hash && wm.status == wc.status,
               "mapped and cached walks differ (%llu vs %llu entries, %s vs %s)",
               (unsigned long long)wm.n, (unsigned long long)wc.n,
               am_strerror(wm.status), am_strerror(wc.status));
    FUZZ_CHECK(wm.n == wr.n && wm.hash == wr.hash && wm.status == wr.status,
               "mapped and read-ahead walks differ (%llu vs %llu entries, %s vs %s)",
               (unsigned long long)wm.n, (unsigned long long)wr.n,
               am_strerror(wm.status), am_strerror(wr.status));

    lookups(a, b, &wm);
    seeks(a, SST_READ_SHARED, &wm);
    seeks(b, SST_READ_SHARED, &wm);
    merge(a, path, &wm, knobs);
    /* Last, so that a file out of order first meets the merge kernel: a walk that ends
       without error must have returned its keys in order (a reader checks that much). */
    FUZZ_CHECK(wm.status != AM_OK || wm.sorted, "a walk returned keys out of order without "
               "an error");

    walk_free(&wm);
    sst_reader_free(a);
    sst_reader_free(b);
}
