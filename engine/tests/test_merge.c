/* test_merge.c: the merge kernel (compact/merge.h) and the run iterator. Inputs are small
 * sorted arrays behind the internal-iterator interface; outputs are read back with
 * sst_reader and compared with a reference written from the words of merge.h (which
 * entries are kept) and with what every snapshot reads (nothing visible changes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/merge.h"
#include "mem/memtable.h"
#include "version/fname.h"
#include "util/ikey.h"
#include "testutil.h"
#include "testutil_iter.h"

/* ---- entries (testutil_iter.h: an array of them is an internal iterator) ---- */
typedef tu_ent ent;

static void make_ent(ent *e, const char *uk, uint64_t seq, int kind, size_t vlen)
{
    size_t n = strlen(uk);
    assert_true(n + 8 <= sizeof(e->k) && vlen <= sizeof(e->v));
    ikey_build(e->k, uk, n, seq, kind);
    e->kn = n + 8;
    e->vn = kind == AM_KIND_DELETE ? 0 : vlen;
    for (size_t i = 0; i < e->vn; i++) e->v[i] = (char)('a' + (seq + i) % 26);
}

/* ---- a merge environment: temp dir, env, file numbers ---- */
typedef struct fixture {
    char dir[256];
    am_env *env;
    uint64_t next_file;
    atomic_int stop;
    merge_params p;
} fixture;

static uint64_t new_number(void *arg) { return ++((fixture *)arg)->next_file; }

static fixture *fx_new(const char *tag)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tu_tempdir(f->dir, sizeof(f->dir), tag);
    f->env = am_env_posix_new();
    assert_non_null(f->env);
    f->next_file = 100;
    atomic_init(&f->stop, 0);
    f->p.env = f->env;
    f->p.dir = f->dir;
    f->p.sst.block_bytes = 512;
    f->p.sst.index_stride = 4;
    f->p.sst.bloom_bits_per_key = 10;
    f->p.new_file_number = new_number;
    f->p.arg = f;
    f->p.stop = &f->stop;
    f->p.out_level = 3;
    f->p.out_run = 3;
    f->p.out_tag = AM_TAG_LEVELED;
    return f;
}

static void fx_free(fixture *f)
{
    tu_rmtree(f->dir);
    am_env_posix_free(f->env);
    free(f);
}

static int count_files(fixture *f)
{
    int n = 0;
    for (uint64_t id = 101; id <= f->next_file; id++) {
        char path[512];
        fname_sst(path, sizeof(path), f->dir, id);
        n += env_exists(f->env, path) == 1;
    }
    return n;
}

/* Runs the merge of in[0..n) with params of f. */
static int run(fixture *f, const ent *in, size_t n, merge_result *r)
{
    am_iiter *it = tu_arr_iter_new(in, n);
    int rc = merge_run(it, &f->p, r);
    iter_free(it);
    return rc;
}

/* Reads every output of r, in order, into a fresh array; checks each file's metadata. */
static ent *read_outputs(fixture *f, const merge_result *r, size_t *nout)
{
    size_t cap = 64, n = 0;
    ent *out = malloc(cap * sizeof(*out));
    assert_non_null(out);
    uint64_t total_entries = 0, total_bytes = 0;
    for (size_t i = 0; i < r->nout; i++) {
        const seg_desc *d = &r->out[i];
        char path[512];
        fname_sst(path, sizeof(path), f->dir, d->id);
        sst_reader *rd = NULL;
        assert_int_equal(sst_reader_open(f->env, path, d->id, NULL, &rd), AM_OK);
        assert_int_equal(sst_reader_file_bytes(rd), d->bytes);
        assert_int_equal(d->level, f->p.out_level);
        assert_int_equal(d->run, f->p.out_run);
        assert_int_equal(d->tag, f->p.out_tag);
        assert_int_equal(d->reads, 0);
        assert_int_equal(d->writes, 0);
        am_iiter *it = sst_iter_new(rd, SST_READ_VERIFIED_PRIVATE);
        assert_non_null(it);
        uint64_t entries = 0, dels = 0, minseq = UINT64_MAX, maxseq = 0;
        size_t first = n;
        for (iter_seek_first(it); iter_valid(it); iter_next(it)) {
            if (n == cap) {
                cap *= 2;
                out = realloc(out, cap * sizeof(*out));
                assert_non_null(out);
            }
            size_t kn, vn;
            const char *k = iter_key(it, &kn), *v = iter_value(it, &vn);
            assert_true(kn <= sizeof(out[n].k) && vn <= sizeof(out[n].v));
            memcpy(out[n].k, k, kn); out[n].kn = kn;
            memcpy(out[n].v, v, vn); out[n].vn = vn;
            uint64_t seq = ikey_seq(k, kn);
            entries++;
            dels += ikey_kind(k, kn) == AM_KIND_DELETE;
            if (seq < minseq) minseq = seq;
            if (seq > maxseq) maxseq = seq;
            n++;
        }
        assert_int_equal(iter_status(it), AM_OK);
        iter_free(it);
        sst_reader_free(rd);
        assert_true(n > first);                       /* no empty output files */
        assert_int_equal(d->entries, entries);
        assert_int_equal(d->deletions, dels);
        assert_int_equal(d->min_seq, minseq);
        assert_int_equal(d->max_seq, maxseq);
        assert_int_equal(d->smallest_len, out[first].kn);
        assert_memory_equal(d->smallest, out[first].k, d->smallest_len);
        assert_int_equal(d->largest_len, out[n - 1].kn);
        assert_memory_equal(d->largest, out[n - 1].k, d->largest_len);
        /* One user key never straddles two files. */
        if (i > 0) {
            const seg_desc *p = &r->out[i - 1];
            assert_true(ukey_cmp(p->largest, p->largest_len - 8, d->smallest,
                                 d->smallest_len - 8) < 0);
        }
        total_entries += entries;
        total_bytes += d->bytes;
    }
    assert_int_equal(total_entries, r->entries_out);
    assert_int_equal(total_bytes, r->bytes_written);
    *nout = n;
    return out;
}

/* The reference, in the words of merge.h: per user key, newest first, keep the newest and
 * any entry with a snapshot s where seq <= s < seq of the newer entry kept before it. With
 * bottommost, a kept tombstone with no snapshot older than it is dropped with everything
 * older of its key. Returns how many entries of in it keeps (into out). */
static size_t reference(const ent *in, size_t n, const uint64_t *snap, size_t ns,
                        int bottommost, ent *out)
{
    size_t m = 0, i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && ukey_cmp(in[j].k, in[j].kn - 8, in[i].k, in[i].kn - 8) == 0) j++;
        size_t key_start = m;
        uint64_t last_kept = 0;
        for (size_t x = i; x < j; x++) {
            uint64_t seq = ikey_seq(in[x].k, in[x].kn);
            int keep = x == i;
            for (size_t s = 0; !keep && s < ns; s++)
                if (seq <= snap[s] && snap[s] < last_kept) keep = 1;
            if (!keep) continue;
            if (bottommost && ikey_kind(in[x].k, in[x].kn) == AM_KIND_DELETE) {
                int older_snap = 0;
                for (size_t s = 0; s < ns; s++) older_snap |= snap[s] < seq;
                if (!older_snap) break;          /* drop it and the rest of the key */
            }
            out[m++] = in[x];
            last_kept = seq;
        }
        (void)key_start;
        i = j;
    }
    return m;
}

/* What a reader at seq sees for user key uk in a sorted entry list: the entry, or NULL. */
static const ent *visible(const ent *e, size_t n, const char *uk, size_t ukn, uint64_t seq)
{
    for (size_t i = 0; i < n; i++)
        if (ukey_cmp(e[i].k, e[i].kn - 8, uk, ukn) == 0 && ikey_seq(e[i].k, e[i].kn) <= seq)
            return &e[i];
    return NULL;
}

/* ---- tests ---- */

static void test_drop_rules_no_snapshots(void **state)
{
    (void)state;
    ent in[8];
    make_ent(&in[0], "a", 5, AM_KIND_VALUE, 10);
    make_ent(&in[1], "a", 3, AM_KIND_VALUE, 10);
    make_ent(&in[2], "a", 2, AM_KIND_DELETE, 0);
    make_ent(&in[3], "b", 7, AM_KIND_DELETE, 0);
    make_ent(&in[4], "b", 4, AM_KIND_VALUE, 10);
    make_ent(&in[5], "c", 9, AM_KIND_VALUE, 10);
    make_ent(&in[6], "d", 1, AM_KIND_DELETE, 0);
    make_ent(&in[7], "e", 8, AM_KIND_VALUE, 0);       /* an empty value is a value */

    for (int bottom = 0; bottom <= 1; bottom++) {
        fixture *f = fx_new("merge-drop");
        f->p.bottommost = bottom;
        merge_result r;
        assert_int_equal(run(f, in, 8, &r), AM_OK);
        size_t n;
        ent *got = read_outputs(f, &r, &n);
        ent want[8];
        size_t nw = 0;
        want[nw++] = in[0];                           /* a@5 only */
        if (!bottom) want[nw++] = in[3];              /* b's tombstone, not b@4 */
        want[nw++] = in[5];
        if (!bottom) want[nw++] = in[6];
        want[nw++] = in[7];
        tu_expect_ents(got, n, want, nw);
        assert_int_equal(r.nout, 1);                  /* no target: one file */
        assert_int_equal(r.entries_in, 8);
        assert_int_equal(r.entries_out, nw);
        assert_int_equal(r.dropped, 8 - nw);
        uint64_t bytes = 0;
        for (int i = 0; i < 8; i++) bytes += in[i].kn + in[i].vn;
        assert_int_equal(r.bytes_read, bytes);
        assert_int_equal(r.out[0].id, 101);
        free(got);
        merge_result_clear(&r);
        fx_free(f);
    }
}

static void test_drop_rules_with_snapshots(void **state)
{
    (void)state;
    /* k: put@10 put@8 del@6 put@4 put@2; snapshots 5 and 8. */
    ent in[5];
    make_ent(&in[0], "k", 10, AM_KIND_VALUE, 4);
    make_ent(&in[1], "k", 8, AM_KIND_VALUE, 4);
    make_ent(&in[2], "k", 6, AM_KIND_DELETE, 0);
    make_ent(&in[3], "k", 4, AM_KIND_VALUE, 4);
    make_ent(&in[4], "k", 2, AM_KIND_VALUE, 4);
    uint64_t snaps[] = { 5, 8 };
    for (int bottom = 0; bottom <= 1; bottom++) {
        fixture *f = fx_new("merge-snap");
        f->p.snapshots = snaps;
        f->p.nsnapshots = 2;
        f->p.bottommost = bottom;
        merge_result r;
        assert_int_equal(run(f, in, 5, &r), AM_OK);
        size_t n;
        ent *got = read_outputs(f, &r, &n);
        /* Latest sees @10, snapshot 8 sees @8, snapshot 5 sees @4; del@6 and @2 go. */
        ent want[3] = { in[0], in[1], in[3] };
        tu_expect_ents(got, n, want, 3);
        free(got);
        merge_result_clear(&r);
        fx_free(f);
    }
    /* A tombstone newer than a snapshot stays even at the bottom; one below every
       snapshot goes with what it shadows. */
    ent in2[4];
    make_ent(&in2[0], "k", 9, AM_KIND_DELETE, 0);
    make_ent(&in2[1], "k", 3, AM_KIND_VALUE, 4);
    make_ent(&in2[2], "m", 2, AM_KIND_DELETE, 0);
    make_ent(&in2[3], "m", 1, AM_KIND_VALUE, 4);
    uint64_t snap2[] = { 5 };
    fixture *f = fx_new("merge-snap2");
    f->p.snapshots = snap2;
    f->p.nsnapshots = 1;
    f->p.bottommost = 1;
    merge_result r;
    assert_int_equal(run(f, in2, 4, &r), AM_OK);
    size_t n;
    ent *got = read_outputs(f, &r, &n);
    ent want[2] = { in2[0], in2[1] };
    tu_expect_ents(got, n, want, 2);
    free(got);
    merge_result_clear(&r);
    fx_free(f);
}

/* Random keys, versions, snapshots, bottommost and targets: outputs equal the reference,
 * every snapshot reads the same, files are split only between user keys. */
static void test_random_against_reference(void **state)
{
    (void)state;
    tu_rng rng = { 7 };
    for (int round = 0; round < 40; round++) {
        size_t nkeys = 1 + tu_below(&rng, 120);
        size_t cap = nkeys * 12, n = 0;
        ent *in = malloc(cap * sizeof(*in)), *want = malloc(cap * sizeof(*in));
        assert_true(in && want);
        for (size_t k = 0; k < nkeys; k++) {
            char uk[24];
            snprintf(uk, sizeof(uk), "key%06zu", k * 3 + tu_below(&rng, 3));
            /* Mostly one or two versions, sometimes up to ten. */
            size_t nv = 1 + tu_below(&rng, tu_below(&rng, 4) ? 2 : 10);
            for (size_t v = 0; v < nv; v++)
                make_ent(&in[n++], uk, 1 + tu_below(&rng, 5000) * 16 + v,
                         tu_below(&rng, 4) ? AM_KIND_VALUE : AM_KIND_DELETE,
                         tu_below(&rng, 60));
        }
        qsort(in, n, sizeof(*in), tu_ent_cmp);
        /* Distinct (key, seq) pairs: drop exact duplicates. */
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (u == 0 || ikey_cmp(in[u - 1].k, in[u - 1].kn, in[i].k, in[i].kn) != 0)
                in[u++] = in[i];
        n = u;
        uint64_t snaps[8];
        size_t ns = tu_below(&rng, 6);
        for (size_t s = 0; s < ns; s++) snaps[s] = tu_below(&rng, 5000 * 16);
        for (size_t a = 1; a < ns; a++)         /* sort ascending, distinct */
            for (size_t b = a; b > 0 && snaps[b - 1] > snaps[b]; b--) {
                uint64_t t = snaps[b]; snaps[b] = snaps[b - 1]; snaps[b - 1] = t;
            }
        int bottom = (int)tu_below(&rng, 2);

        fixture *f = fx_new("merge-rand");
        f->p.snapshots = snaps;
        f->p.nsnapshots = ns;
        f->p.bottommost = bottom;
        f->p.target_file_bytes = tu_below(&rng, 3) ? 1024 + tu_below(&rng, 4096) : 0;
        merge_result r;
        assert_int_equal(run(f, in, n, &r), AM_OK);
        size_t ng;
        ent *got = read_outputs(f, &r, &ng);
        size_t nw = reference(in, n, snaps, ns, bottom, want);
        tu_expect_ents(got, ng, want, nw);
        assert_int_equal(r.entries_in, n);
        assert_int_equal(r.dropped, n - nw);
        if (f->p.target_file_bytes)
            for (size_t i = 0; i + 1 < r.nout; i++)   /* cut only once the target is met */
                assert_true(r.out[i].bytes >= f->p.target_file_bytes);
        else
            assert_true(r.nout <= 1);
        /* Semantics: every snapshot and the latest read what they read before (at the
           bottom a tombstone and nothing are the same answer). */
        for (size_t i = 0; i < n; i++) {
            for (size_t s = 0; s <= ns; s++) {
                uint64_t at = s < ns ? snaps[s] : AM_MAX_SEQ;
                const ent *x = visible(in, n, in[i].k, in[i].kn - 8, at);
                const ent *y = visible(got, ng, in[i].k, in[i].kn - 8, at);
                if (bottom) {
                    if (x && ikey_kind(x->k, x->kn) == AM_KIND_DELETE) x = NULL;
                    if (y && ikey_kind(y->k, y->kn) == AM_KIND_DELETE) y = NULL;
                }
                assert_int_equal(x == NULL, y == NULL);
                if (x) {
                    assert_int_equal(x->kn, y->kn);
                    assert_memory_equal(x->k, y->k, x->kn);
                }
            }
        }
        free(got);
        merge_result_clear(&r);
        fx_free(f);
        free(in);
        free(want);
    }
}

/* Split at the target: many files, each at least the target except the last, and a key
 * with many versions is never cut. */
static void test_split_between_user_keys(void **state)
{
    (void)state;
    size_t n = 0, cap = 3000;
    ent *in = malloc(cap * sizeof(*in));
    assert_non_null(in);
    uint64_t snaps[400];
    for (int i = 0; i < 400; i++) snaps[i] = (uint64_t)i * 2 + 1;   /* keep every version */
    for (int k = 0; k < 200; k++) {
        char uk[32];
        snprintf(uk, sizeof(uk), "u%04d", k);
        int nv = k % 50 == 7 ? 300 : 3;           /* a few keys have very many versions */
        for (int v = 0; v < nv && n < cap; v++)
            make_ent(&in[n++], uk, (uint64_t)(nv - v) * 2 - 1 + 0, AM_KIND_VALUE, 40);
    }
    qsort(in, n, sizeof(*in), tu_ent_cmp);
    fixture *f = fx_new("merge-split");
    f->p.snapshots = snaps;
    f->p.nsnapshots = 400;
    f->p.target_file_bytes = 2048;
    merge_result r;
    assert_int_equal(run(f, in, n, &r), AM_OK);
    assert_true(r.nout > 5);
    size_t ng;
    ent *got = read_outputs(f, &r, &ng);      /* checks no key straddles two files */
    tu_expect_ents(got, ng, in, n);              /* every version is kept */
    for (size_t i = 0; i + 1 < r.nout; i++) assert_true(r.out[i].bytes >= 2048);
    for (size_t i = 0; i < r.nout; i++) assert_int_equal(r.out[i].id, 101 + i);
    /* The run iterator reads the outputs back as one sequence, and seeks. */
    am_segment **segs = calloc(r.nout, sizeof(*segs));
    assert_non_null(segs);
    for (size_t i = 0; i < r.nout; i++) {
        segs[i] = seg_new_detached(&r.out[i]);
        assert_non_null(segs[i]);
        char path[512];
        fname_sst(path, sizeof(path), f->dir, r.out[i].id);
        assert_int_equal(sst_reader_open(f->env, path, r.out[i].id, NULL, &segs[i]->reader),
                         AM_OK);
    }
    am_iiter *it = run_iter_new(segs, r.nout, SST_READ_VERIFIED_PRIVATE);
    assert_non_null(it);
    for (size_t i = 0; i < r.nout; i++) seg_unref(segs[i]);   /* the iterator holds them */
    size_t i = 0;
    for (iter_seek_first(it); iter_valid(it); iter_next(it), i++) {
        size_t kn;
        const char *k = iter_key(it, &kn);
        assert_true(i < n);
        assert_int_equal(kn, in[i].kn);
        assert_memory_equal(k, in[i].k, kn);
    }
    assert_int_equal(i, n);
    assert_int_equal(iter_status(it), AM_OK);
    tu_rng rng = { 3 };
    for (int s = 0; s < 200; s++) {
        ent probe;
        char uk[32];
        snprintf(uk, sizeof(uk), "u%04d%s", (int)tu_below(&rng, 202), s % 3 ? "" : "x");
        make_ent(&probe, uk, tu_below(&rng, 700), AM_KIND_MAX, 0);
        size_t lb = 0;
        while (lb < n && ikey_cmp(in[lb].k, in[lb].kn, probe.k, probe.kn) < 0) lb++;
        iter_seek(it, probe.k, probe.kn);
        for (size_t j = lb; j < n && j < lb + 5; j++) {
            assert_true(iter_valid(it));
            size_t kn;
            const char *k = iter_key(it, &kn);
            assert_int_equal(kn, in[j].kn);
            assert_memory_equal(k, in[j].k, kn);
            iter_next(it);
        }
        if (lb == n) assert_false(iter_valid(it));
    }
    iter_free(it);
    free(segs);
    free(got);
    merge_result_clear(&r);
    fx_free(f);
    free(in);
}

static void test_empty_and_all_dropped(void **state)
{
    (void)state;
    fixture *f = fx_new("merge-empty");
    merge_result r;
    assert_int_equal(run(f, NULL, 0, &r), AM_OK);
    assert_int_equal(r.nout, 0);
    assert_int_equal(count_files(f), 0);
    merge_result_clear(&r);
    ent in[2];
    make_ent(&in[0], "x", 4, AM_KIND_DELETE, 0);
    make_ent(&in[1], "x", 2, AM_KIND_VALUE, 5);
    f->p.bottommost = 1;
    assert_int_equal(run(f, in, 2, &r), AM_OK);
    assert_int_equal(r.nout, 0);
    assert_int_equal(r.dropped, 2);
    assert_int_equal(count_files(f), 0);
    merge_result_clear(&r);
    /* An empty run iterator is empty. */
    am_iiter *it = run_iter_new(NULL, 0, SST_READ_SHARED);
    assert_non_null(it);
    iter_seek_first(it);
    assert_false(iter_valid(it));
    iter_seek(it, in[0].k, in[0].kn);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_OK);
    iter_free(it);
    /* A segment without an open file is an error, not an empty run. */
    seg_desc d;
    memset(&d, 0, sizeof(d));
    d.id = 5;
    d.smallest = in[0].k; d.smallest_len = in[0].kn;
    d.largest = in[1].k;  d.largest_len = in[1].kn;
    am_segment *s = seg_new_detached(&d);
    assert_non_null(s);
    it = run_iter_new(&s, 1, SST_READ_VERIFIED_PRIVATE);
    seg_unref(s);
    assert_non_null(it);
    iter_seek_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), AM_ERR_INVALID);
    iter_free(it);
    fx_free(f);
}

static ent *many_entries(size_t n)
{
    ent *in = malloc(n * sizeof(*in));
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        char uk[32];
        snprintf(uk, sizeof(uk), "s%06zu", i);
        make_ent(&in[i], uk, i + 1, AM_KIND_VALUE, 50);
    }
    return in;
}

/* Stop requested: AM_ERR_IO, no file left, result cleared. */
static void test_stop_removes_outputs(void **state)
{
    (void)state;
    size_t n = 5000;
    ent *in = many_entries(n);
    fixture *f = fx_new("merge-stop");
    f->p.target_file_bytes = 4096;
    atomic_store(&f->stop, 1);
    merge_result r;
    assert_int_equal(run(f, in, n, &r), AM_ERR_IO);
    assert_int_equal(r.nout, 0);
    assert_null(r.out);
    assert_int_equal(count_files(f), 0);
    assert_true(f->next_file > 100);          /* it did start writing before it noticed */
    fx_free(f);
    free(in);
}

/* A failing input: its status is returned, every output written so far removed. */
static void test_input_error_removes_outputs(void **state)
{
    (void)state;
    size_t n = 5000;
    ent *in = many_entries(n);
    fixture *f = fx_new("merge-err");
    f->p.target_file_bytes = 4096;
    am_iiter *it = tu_arr_iter_failing(in, n, 4000, AM_ERR_CORRUPT);
    merge_result r;
    assert_int_equal(merge_run(it, &f->p, &r), AM_ERR_CORRUPT);
    iter_free(it);
    assert_int_equal(r.nout, 0);
    assert_true(f->next_file > 105);          /* several files were written, then removed */
    assert_int_equal(count_files(f), 0);
    fx_free(f);
    free(in);
}

/* An input out of internal-key order (a user key going back; one user key's versions
 * oldest first; the same internal key twice), placed after several outputs were written:
 * AM_ERR_CORRUPT naming the output directory and the entry, every output removed, and no
 * abort in sst_builder_add (which requires ascending keys). */
static void test_out_of_order_input(void **state)
{
    (void)state;
    size_t n = 5000, at = 4000;
    for (int c = 0; c < 3; c++) {
        ent *in = many_entries(n);
        if (c == 0) in[at] = in[at - 10];                         /* s003990 after s003999 */
        if (c == 1) make_ent(&in[at], "s003999", 4001, AM_KIND_VALUE, 50);   /* seq 4000 first */
        if (c == 2) in[at] = in[at - 1];                          /* s003999 twice */
        fixture *f = fx_new("merge-order");
        f->p.target_file_bytes = 4096;
        f->p.bottommost = c == 1;
        merge_result r;
        assert_int_equal(run(f, in, n, &r), AM_ERR_CORRUPT);
        assert_int_equal(r.nout, 0);
        assert_null(r.out);
        assert_true(f->next_file > 105);      /* several files were written, then removed */
        assert_int_equal(count_files(f), 0);
        char msg[512];
        am_env_last_error(f->env, msg, sizeof msg);
        if (!strstr(msg, f->dir) || !strstr(msg, "out of order") || !strstr(msg, "entry 4000"))
            fail_msg("case %d: message '%s' should name %s and entry 4000", c, msg, f->dir);
        fx_free(f);
        free(in);
    }
}

/* A flush-shaped merge from a memtable iterator. */
static void test_from_memtable(void **state)
{
    (void)state;
    memtable *m = NULL;
    assert_int_equal(mem_new(&m), AM_OK);
    assert_int_equal(mem_add(m, 1, AM_KIND_VALUE, "b", 1, "one", 3), AM_OK);
    assert_int_equal(mem_add(m, 2, AM_KIND_VALUE, "a", 1, "two", 3), AM_OK);
    assert_int_equal(mem_add(m, 3, AM_KIND_VALUE, "b", 1, "three", 5), AM_OK);
    assert_int_equal(mem_add(m, 4, AM_KIND_DELETE, "c", 1, "", 0), AM_OK);
    am_iiter *it = mem_iter_new(m);
    assert_non_null(it);
    fixture *f = fx_new("merge-mem");
    f->p.out_level = 0;
    f->p.out_run = 0;
    merge_result r;
    assert_int_equal(merge_run(it, &f->p, &r), AM_OK);
    iter_free(it);
    mem_unref(m);
    size_t n;
    ent *got = read_outputs(f, &r, &n);
    ent want[3];
    make_ent(&want[0], "a", 2, AM_KIND_VALUE, 0);
    memcpy(want[0].v, "two", 3); want[0].vn = 3;
    make_ent(&want[1], "b", 3, AM_KIND_VALUE, 0);
    memcpy(want[1].v, "three", 5); want[1].vn = 5;
    make_ent(&want[2], "c", 4, AM_KIND_DELETE, 0);
    tu_expect_ents(got, n, want, 3);
    assert_int_equal(r.out[0].deletions, 1);
    free(got);
    merge_result_clear(&r);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drop_rules_no_snapshots),
        cmocka_unit_test(test_drop_rules_with_snapshots),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_split_between_user_keys),
        cmocka_unit_test(test_empty_and_all_dropped),
        cmocka_unit_test(test_stop_removes_outputs),
        cmocka_unit_test(test_input_error_removes_outputs),
        cmocka_unit_test(test_out_of_order_input),
        cmocka_unit_test(test_from_memtable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
