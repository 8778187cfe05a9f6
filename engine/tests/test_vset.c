/* test_vset.c: the version set on real files: file names; create, log edits, recover to
 * the same version; torn and corrupt MANIFESTs; bad CURRENT; missing segment files;
 * obsolete files deleted only at the last reference; failed edits (fault env) that leave
 * the version unchanged and the vset refusing further edits. SSTables are built with
 * sst_builder, so recovery opens real readers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amethyst.h"
#include "sst/cache.h"
#include "sst/sst.h"
#include "util/env.h"
#include "util/env_fault.h"
#include "util/ikey.h"
#include "version/edit.h"
#include "version/fname.h"
#include "version/vset.h"
#include "wal/wal.h"
#include "testutil.h"

typedef struct fx {
    char dir[512];
    am_env *posix;
    am_env *env;                   /* fault env over posix: every vset call goes through it */
    blk_cache *cache;
    uint64_t seq;                  /* last sequence handed to an SSTable */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    tu_tempdir(f->dir, sizeof(f->dir), "vset");
    f->posix = am_env_posix_new();
    f->env = am_env_fault_new(f->posix);
    assert_int_equal(cache_new(1 << 20, &f->cache), AM_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cache_free(f->cache);
    am_env_fault_free(f->env);
    am_env_posix_free(f->posix);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static int file_exists(fx *f, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    return access(path, F_OK) == 0;
}

static int sst_exists(fx *f, uint64_t id)
{
    char path[1024];
    fname_sst(path, sizeof(path), f->dir, id);
    return access(path, F_OK) == 0;
}

static void read_current(fx *f, char *buf, size_t cap)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/CURRENT", f->dir);
    size_t n;
    char *cur = tu_read_file(path, &n);
    snprintf(buf, cap, "%s", cur);
    free(cur);
}

static void current_manifest_path(fx *f, char *path, size_t cap)
{
    char cur[128];
    read_current(f, cur, sizeof(cur));
    size_t n = strlen(cur);
    assert_true(n > 1 && cur[n - 1] == '\n');
    cur[n - 1] = 0;
    snprintf(path, cap, "%s/%s", f->dir, cur);
}

/* Builds <id>.sst with user keys k<lo> .. k<hi> and fills d (keys owned by d). */
static void build_sst(fx *f, uint64_t id, int level, uint64_t run, int lo, int hi, seg_desc *d)
{
    char path[1024];
    fname_sst(path, sizeof(path), f->dir, id);
    sst_options o = {.block_bytes = 4096, .index_stride = 16, .bloom_bits_per_key = 10};
    sst_builder *b;
    assert_int_equal(sst_builder_new(f->env, path, &o, &b), AM_OK);
    for (int k = lo; k <= hi; k++) {
        char ik[32], uk[16];
        snprintf(uk, sizeof(uk), "k%06d", k);
        ikey_build(ik, uk, 7, ++f->seq, AM_KIND_VALUE);
        assert_int_equal(sst_builder_add(b, ik, 15, "value", 5), AM_OK);
    }
    sst_file_info fi;
    assert_int_equal(sst_builder_finish(b, &fi), AM_OK);
    memset(d, 0, sizeof(*d));
    d->id = id;
    d->level = level;
    d->run = run;
    d->tag = level >= 2 ? AM_TAG_TIERED : AM_TAG_LEVELED;
    d->bytes = fi.file_bytes;
    d->entries = fi.entries;
    d->deletions = fi.deletions;
    d->min_seq = fi.min_seq;
    d->max_seq = fi.max_seq;
    d->smallest = fi.smallest; d->smallest_len = fi.smallest_len;
    d->largest = fi.largest; d->largest_len = fi.largest_len;
}

typedef struct spec { int level; uint64_t run; int lo, hi; } spec;

/* Logs one edit: deletes dels, adds a fresh SSTable per spec (run 0: a run id equal to
 * the file number). Added segments get reads = 1000 + id, writes = 2000 + id before the
 * edit, which must record them. Returns the status of vset_log_and_apply; ids of the new
 * files go to ids (if not NULL). */
static int log_edit(fx *f, vset *vs, const spec *add, size_t nadd, const seg_ref *dels,
                    size_t ndel, uint64_t *ids)
{
    version_edit e;
    edit_init(&e);
    am_segment *segs[16];
    assert_true(nadd <= 16);
    for (size_t i = 0; i < ndel; i++)
        assert_int_equal(edit_delete_segment(&e, dels[i].level, dels[i].id), AM_OK);
    for (size_t i = 0; i < nadd; i++) {
        uint64_t id = vset_new_file_number(vs);
        seg_desc d;
        build_sst(f, id, add[i].level, add[i].run ? add[i].run : id, add[i].lo, add[i].hi, &d);
        assert_int_equal(vset_open_segment(vs, &d, &segs[i]), AM_OK);
        atomic_store(&segs[i]->reads, 1000 + id);
        atomic_store(&segs[i]->writes, 2000 + id);
        assert_int_equal(edit_add_segment(&e, &d), AM_OK);
        free(d.smallest);
        free(d.largest);
        if (ids) ids[i] = id;
    }
    vset_set_last_seq(vs, f->seq);
    int rc = vset_log_and_apply(vs, &e, segs);
    for (size_t i = 0; i < nadd; i++) seg_unref(segs[i]);
    edit_clear(&e);
    return rc;
}

/* Moves segment (level, id) to (to_level, run) without rewriting: the same file. */
static int log_move(vset *vs, int level, uint64_t id, int to_level, uint64_t run)
{
    am_version *v = vset_current(vs);
    am_segment *old = NULL;
    for (size_t r = 0; r < v->levels[level].nruns; r++)
        for (size_t i = 0; i < v->levels[level].runs[r].nsegs; i++)
            if (v->levels[level].runs[r].segs[i]->d.id == id) old = v->levels[level].runs[r].segs[i];
    assert_non_null(old);
    seg_desc d = old->d;
    d.level = to_level;
    d.run = run;
    d.reads = atomic_load(&old->reads);
    d.writes = atomic_load(&old->writes);
    am_segment *s;
    assert_int_equal(vset_open_segment(vs, &d, &s), AM_OK);
    version_edit e;
    edit_init(&e);
    edit_delete_segment(&e, level, id);
    edit_add_segment(&e, &d);
    int rc = vset_log_and_apply(vs, &e, &s);
    seg_unref(s);
    edit_clear(&e);
    return rc;
}

/* A text picture of the vset: state and every segment with all its values. */
typedef struct desc_buf { char *p; size_t n, cap; } desc_buf;

static void dprintf_(desc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dprintf_(desc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)n + 1 > b->cap) {
        b->cap = (b->n + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

static char *describe(vset *vs, int with_next_file)
{
    desc_buf b = {0};
    vset_state st = vset_get_state(vs);
    dprintf_(&b, "log=%llu seq=%llu strategy=%s", (unsigned long long)st.log_number,
             (unsigned long long)st.last_seq, vset_strategy(vs));
    if (with_next_file) dprintf_(&b, " next=%llu", (unsigned long long)st.next_file);
    const am_version *v = vset_current(vs);
    dprintf_(&b, " total=%llu/%llu\n", (unsigned long long)v->total_segs,
             (unsigned long long)v->total_bytes);
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        for (size_t r = 0; r < v->levels[l].nruns; r++) {
            const am_run *run = &v->levels[l].runs[r];
            dprintf_(&b, "L%d run %llu max_seq %llu bytes %llu:", l, (unsigned long long)run->id,
                     (unsigned long long)run->max_seq, (unsigned long long)run->bytes);
            for (size_t i = 0; i < run->nsegs; i++) {
                am_segment *s = run->segs[i];
                size_t sn, ln;
                const char *sk = seg_smallest_ukey(s, &sn), *lk = seg_largest_ukey(s, &ln);
                dprintf_(&b, " [%llu t%d %llu %llu %llu seq %llu-%llu rw %llu/%llu %.*s..%.*s %s]",
                         (unsigned long long)s->d.id, s->d.tag,
                         (unsigned long long)s->d.bytes, (unsigned long long)s->d.entries,
                         (unsigned long long)s->d.deletions, (unsigned long long)s->d.min_seq,
                         (unsigned long long)s->d.max_seq,
                         (unsigned long long)atomic_load(&s->reads),
                         (unsigned long long)atomic_load(&s->writes), (int)sn, sk, (int)ln, lk,
                         s->reader ? "open" : "NO READER");
            }
            dprintf_(&b, "\n");
        }
    }
    return b.p;
}

/* Asserts the picture of vs is want. */
static void expect_picture(vset *vs, const char *want)
{
    char *now = describe(vs, 0);
    assert_string_equal(now, want);
    free(now);
}

/* Gives vs a log as the engine's open does: <n>.log is created, then an edit names it, so
 * that the log a durable state names exists (recovery's completeness proof relies on it).
 * Returns n. */
static uint64_t give_log(fx *f, vset *vs)
{
    char path[1024];
    uint64_t n = vset_new_file_number(vs);
    fname_wal(path, sizeof path, f->dir, n);
    tu_write_file(path, "", 0);
    version_edit e;
    edit_init(&e);
    e.has_log_number = 1;
    e.log_number = n;
    assert_int_equal(vset_log_and_apply(vs, &e, NULL), AM_OK);
    edit_clear(&e);
    return n;
}

/* A new "leveled" vset with a log (give_log) and one logged flush (an L0 SSTable) per spec
 * of fl[0..n); the files' ids go to ids (if not NULL). */
static vset *vset_with_flushes(fx *f, const spec *fl, size_t n, uint64_t *ids)
{
    vset *vs;
    assert_int_equal(vset_create(f->env, f->dir, f->cache, "leveled", &vs), AM_OK);
    give_log(f, vs);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(log_edit(f, vs, &fl[i], 1, NULL, 0, ids ? &ids[i] : NULL), AM_OK);
    return vs;
}

/* Two overlapping flushes: keys 0..9, then 5..19. */
static const spec two_flushes[2] = {{0, 0, 0, 9}, {0, 0, 5, 19}};

/* ---- file names ---- */

static const struct name_case {
    const char *name;
    int ok, kind;
    uint64_t id;
} name_cases[] = {
    {"000012.sst", 1, FILE_SST, 12},
    {"12.sst", 1, FILE_SST, 12},
    {"1234567.sst", 1, FILE_SST, 1234567},
    {"000003.log", 1, FILE_WAL, 3},
    {"18446744073709551615.log", 1, FILE_WAL, UINT64_MAX},
    {"18446744073709551616.log", 0, 0, 0},     /* overflow */
    {"MANIFEST-000001", 1, FILE_MANIFEST, 1},
    {"MANIFEST-99999999", 1, FILE_MANIFEST, 99999999},
    {"MANIFEST-", 0, 0, 0},
    {"MANIFEST-12a", 0, 0, 0},
    {"MANIFEST-0001.sst", 0, 0, 0},
    {"CURRENT", 1, FILE_CURRENT, 0},
    {"LOCK", 1, FILE_LOCK, 0},
    {"CURRENT.tmp", 1, FILE_TEMP, 0},
    {"000007.sst.tmp", 1, FILE_TEMP, 0},
    {".tmp", 0, 0, 0},
    {".sst", 0, 0, 0},
    {"x12.sst", 0, 0, 0},
    {"-1.sst", 0, 0, 0},
    {"000012.ldb", 0, 0, 0},
    {"CURRENT2", 0, 0, 0},
    {"", 0, 0, 0},
};

static void test_fname(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof name_cases / sizeof name_cases[0]; i++) {
        const struct name_case *c = &name_cases[i];
        int kind = -1;
        uint64_t id = 77;
        int ok = fname_parse(c->name, &kind, &id);
        if (ok != c->ok) fail_msg("'%s': parse gave %d, want %d", c->name, ok, c->ok);
        if (ok) {
            assert_int_equal(kind, c->kind);
            assert_int_equal(id, c->id);
        }
    }
    char buf[256];
    int kind;
    uint64_t id;
    fname_sst(buf, sizeof buf, "/d", 12);
    assert_string_equal(buf, "/d/000012.sst");
    fname_sst(buf, sizeof buf, "/d", 12345678);
    assert_string_equal(buf, "/d/12345678.sst");
    fname_wal(buf, sizeof buf, "db", 0);
    assert_string_equal(buf, "db/000000.log");
    fname_manifest(buf, sizeof buf, "db", 1);
    assert_string_equal(buf, "db/MANIFEST-000001");
    /* Every name made parses back. */
    static const struct {
        void (*make)(char *out, size_t cap, const char *dir, uint64_t id);
        int kind;
    } makers[] = {{fname_sst, FILE_SST}, {fname_wal, FILE_WAL}, {fname_manifest, FILE_MANIFEST}};
    static const uint64_t ids[] = {0, 1, 999999, 1000000, UINT64_MAX};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (size_t m = 0; m < sizeof makers / sizeof makers[0]; m++) {
            makers[m].make(buf, sizeof buf, ".", ids[i]);
            assert_true(fname_parse(buf + 2, &kind, &id));
            assert_int_equal(kind, makers[m].kind);
            assert_int_equal(id, ids[i]);
        }
    }
}

/* fname_walk: engine files only, every one once, with its kind and number; fn's non-zero
 * return stops the walk and is what the walk returns. */
typedef struct walked { int n, sst, wal, other; uint64_t ids; int stop_at; } walked;
static int walk_count(void *arg, const char *name, int kind, uint64_t id)
{
    walked *w = arg;
    uint64_t back;
    int k2;
    assert_true(fname_parse(name, &k2, &back));
    assert_int_equal(k2, kind);
    assert_int_equal(back, id);
    w->n++;
    if (kind == FILE_SST) w->sst++;
    else if (kind == FILE_WAL) w->wal++;
    else w->other++;
    w->ids += id;
    return w->stop_at && w->n == w->stop_at ? AM_ERR_INVALID : 0;
}

static void test_fname_walk(void **state)
{
    fx *f = *state;
    static const char *const names[] = { "000007.sst", "000009.log", "CURRENT", "notes.txt",
                                         "x.sst", "000011.sst.tmp", "MANIFEST-000003" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    walked w = { 0 };
    assert_int_equal(fname_walk(f->env, f->dir, walk_count, &w), AM_OK);
    assert_int_equal(w.n, 5);              /* not notes.txt nor x.sst */
    assert_int_equal(w.sst, 1);
    assert_int_equal(w.wal, 1);
    assert_int_equal(w.other, 3);          /* CURRENT, the temp file, the MANIFEST */
    assert_int_equal(w.ids, 7 + 9 + 3);
    walked stop = { .stop_at = 2 };
    assert_int_equal(fname_walk(f->env, f->dir, walk_count, &stop), AM_ERR_INVALID);
    assert_int_equal(stop.n, 2);
}

/* ---- create / recover ---- */

static void test_create_and_recover_empty(void **state)
{
    fx *f = *state;
    vset *vs;
    assert_int_equal(vset_create(f->env, f->dir, f->cache, "leveled", &vs), AM_OK);
    vset_state st = vset_get_state(vs);
    assert_int_equal(st.log_number, 0);
    assert_int_equal(st.next_file, 2);
    assert_int_equal(st.last_seq, 0);
    assert_string_equal(vset_strategy(vs), "leveled");
    assert_string_equal(vset_dir(vs), f->dir);
    assert_ptr_equal(vset_env(vs), f->env);
    assert_ptr_equal(vset_cache(vs), f->cache);
    assert_int_equal(vset_current(vs)->total_segs, 0);
    char cur[64];
    read_current(f, cur, sizeof cur);
    assert_string_equal(cur, "MANIFEST-000001\n");
    assert_true(file_exists(f, "MANIFEST-000001"));
    assert_int_equal(vset_new_file_number(vs), 2);
    assert_int_equal(vset_new_file_number(vs), 3);
    vset_free(vs);

    /* Numbers handed out but never recorded by an edit may be handed out again. */
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    st = vset_get_state(vs);
    assert_int_equal(st.next_file, 3);          /* 2 went to MANIFEST-000002 */
    assert_string_equal(vset_strategy(vs), "leveled");
    read_current(f, cur, sizeof cur);
    assert_string_equal(cur, "MANIFEST-000002\n");
    assert_false(file_exists(f, "MANIFEST-000001"));
    assert_false(file_exists(f, "CURRENT.tmp"));
    vset_free(vs);

    /* A strategy name must fit. */
    vset *bad = (vset *)1;
    assert_int_equal(vset_create(f->env, f->dir, f->cache, "", &bad), AM_ERR_INVALID);
    assert_null(bad);
    assert_int_equal(vset_create(f->env, f->dir, f->cache,
                                 "a-name-that-is-far-too-long-to-fit", &bad), AM_ERR_INVALID);
}

/* Flushes, a compaction, a trivial move, counters and a log number; recovery twice gives
 * the same picture, and the deleted inputs' files are gone. */
static void test_log_and_recover(void **state)
{
    fx *f = *state;
    vset *vs;
    assert_int_equal(vset_create(f->env, f->dir, f->cache, "adaptive", &vs), AM_OK);
    uint64_t a, b, c[2], d;
    spec fa = {0, 0, 0, 99}, fb = {0, 0, 50, 150};
    assert_int_equal(log_edit(f, vs, &fa, 1, NULL, 0, &a), AM_OK);
    assert_int_equal(log_edit(f, vs, &fb, 1, NULL, 0, &b), AM_OK);
    assert_int_equal(vset_current(vs)->levels[0].nruns, 2);
    assert_int_equal(vset_current(vs)->levels[0].runs[0].id, b);     /* newest first */

    /* Compaction of both L0 runs into two L1 segments of run 1. */
    spec out[2] = {{1, 1, 0, 74}, {1, 1, 75, 150}};
    seg_ref in[2] = {{0, a}, {0, b}};
    assert_int_equal(log_edit(f, vs, out, 2, in, 2, c), AM_OK);
    assert_false(sst_exists(f, a));          /* obsolete, no other reference: gone */
    assert_false(sst_exists(f, b));
    assert_int_equal(vset_current(vs)->levels[0].nruns, 0);
    assert_int_equal(vset_current(vs)->levels[1].runs[0].nsegs, 2);

    /* Another flush, with a new log number; then the first L1 segment moves to L2. */
    spec fd = {0, 0, 10, 20};
    version_edit dummy;
    edit_init(&dummy);
    assert_int_equal(log_edit(f, vs, &fd, 1, NULL, 0, &d), AM_OK);
    dummy.has_log_number = 1;
    dummy.log_number = 77;
    assert_int_equal(vset_log_and_apply(vs, &dummy, NULL), AM_OK);
    edit_clear(&dummy);
    assert_int_equal(log_move(vs, 1, c[0], 2, 5), AM_OK);
    assert_true(sst_exists(f, c[0]));        /* a move keeps the file */
    assert_int_equal(vset_current(vs)->levels[2].runs[0].segs[0]->d.id, c[0]);
    vset_set_last_seq(vs, 4242);             /* not recorded until the next edit */
    version_edit e;
    edit_init(&e);
    assert_int_equal(vset_log_and_apply(vs, &e, NULL), AM_OK);
    edit_clear(&e);

    char *before = describe(vs, 0);
    vset_state st = vset_get_state(vs);
    assert_int_equal(st.log_number, 77);
    assert_int_equal(st.last_seq, 4242);
    vset_free(vs);
    assert_true(sst_exists(f, c[0]) && sst_exists(f, c[1]) && sst_exists(f, d));

    for (int round = 0; round < 2; round++) {
        assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
        expect_picture(vs, before);
        vset_state st2 = vset_get_state(vs);
        assert_int_equal(st2.next_file, st.next_file + 1 + (uint64_t)round);
        char cur[64], want[64];
        read_current(f, cur, sizeof cur);
        snprintf(want, sizeof want, "MANIFEST-%06llu\n", (unsigned long long)st2.next_file - 1);
        assert_string_equal(cur, want);
        vset_free(vs);
    }
    /* Only the live MANIFEST is left. */
    int manifests = 0;
    for (uint64_t i = 1; i < st.next_file + 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "MANIFEST-%06llu", (unsigned long long)i);
        manifests += file_exists(f, name);
    }
    assert_int_equal(manifests, 1);
    free(before);
}

/* ---- damaged MANIFEST / CURRENT ---- */

static void test_torn_tail(void **state)
{
    fx *f = *state;
    char path[1024];
    static const spec third = {0, 0, 30, 39};
    vset *vs = vset_with_flushes(f, two_flushes, 2, NULL);
    char *two = describe(vs, 0);
    current_manifest_path(f, path, sizeof path);
    uint64_t size2 = tu_file_size(path);
    assert_int_equal(log_edit(f, vs, &third, 1, NULL, 0, NULL), AM_OK);
    char *three = describe(vs, 0);
    uint64_t size3 = tu_file_size(path);
    vset_free(vs);

    /* Zeros after the last record (a preallocated tail) are a torn tail too. */
    int fd = open(path, O_WRONLY | O_APPEND);
    char zeros[100] = {0};
    assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    expect_picture(vs, three);
    vset_free(vs);

    /* Recovery rewrote the log as one snapshot: start over, and cut the last of three
     * records at several places. */
    tu_rmtree(f->dir);
    assert_int_equal(mkdir(f->dir, 0755), 0);
    f->seq = 0;
    vs = vset_with_flushes(f, two_flushes, 2, NULL);
    expect_picture(vs, two);
    size2 = tu_file_size(path);
    assert_int_equal(log_edit(f, vs, &third, 1, NULL, 0, NULL), AM_OK);
    size3 = tu_file_size(path);
    vset_free(vs);
    /* Keep a copy of the full log, then try cuts inside the last record. */
    size_t full_n;
    char *full = tu_read_file(path, &full_n);
    assert_int_equal(full_n, size3);
    char copy_dir_manifest[1100];
    snprintf(copy_dir_manifest, sizeof copy_dir_manifest, "%s", path);
    uint64_t cuts[] = {size2 + 1, size2 + 5, size2 + 9, (size2 + size3) / 2, size3 - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        /* Recovery replaces the MANIFEST: put the damaged log back under CURRENT's name. */
        tu_write_file(copy_dir_manifest, full, cuts[i]);
        char cur[128];
        const char *slash = strrchr(copy_dir_manifest, '/');
        snprintf(cur, sizeof cur, "%s\n", slash + 1);
        assert_int_equal(env_write_atomic(f->posix, f->dir, "CURRENT", cur, strlen(cur)), AM_OK);
        int rc = vset_recover(f->env, f->dir, f->cache, &vs);
        if (rc != AM_OK) fail_msg("cut at %llu of %llu: %d", (unsigned long long)cuts[i],
                                  (unsigned long long)size3, rc);
        expect_picture(vs, two);             /* the torn edit is not applied */
        vset_free(vs);
    }
    free(full);
    free(two);
    free(three);
}

static void test_corrupt_middle(void **state)
{
    fx *f = *state;
    char path[1024];
    vset *vs = vset_with_flushes(f, two_flushes, 2, NULL);
    current_manifest_path(f, path, sizeof path);
    vset_free(vs);
    size_t n;
    char *orig = tu_read_file(path, &n);
    /* Three records (snapshot, two flushes). Flip one byte in the checksum or the payload
     * of the first or second: a bad record with data after it is corruption. */
    uint64_t r2 = WAL_HEADER + dec_fixed32(orig + 4);
    assert_true(r2 + WAL_HEADER < n);
    uint64_t at[] = {1, WAL_HEADER + 2, r2 + 0, r2 + WAL_HEADER + 3};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        orig[at[i]] ^= 0x40;
        tu_write_file(path, orig, n);
        orig[at[i]] ^= 0x40;
        vs = (vset *)1;
        int rc = vset_recover(f->env, f->dir, f->cache, &vs);
        if (rc != AM_ERR_CORRUPT) fail_msg("flip at %llu: rc %d", (unsigned long long)at[i], rc);
        assert_null(vs);
        char msg[512];
        am_env_last_error(f->env, msg, sizeof msg);
        assert_non_null(strstr(msg, "MANIFEST-"));
    }
    /* Undamaged again: recovers. */
    tu_write_file(path, orig, n);
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    assert_int_equal(vset_current(vs)->total_segs, 2);
    vset_free(vs);
    free(orig);
}

/* Hand-written MANIFESTs with valid framing but inconsistent edits. */
typedef struct rec_case {
    const char *what;
    int nrecs;
    int rc;
} rec_case;

static void put_record(wal_writer *w, const version_edit *e)
{
    am_buf b;
    buf_init(&b);
    assert_int_equal(edit_encode(e, &b), AM_OK);
    assert_int_equal(wal_writer_add(w, b.data, b.len), AM_OK);
    buf_free(&b);
}

static void fake_desc(seg_desc *d, uint64_t id, int level)
{
    static char key[8];
    memset(d, 0, sizeof(*d));
    d->id = id;
    d->level = level;
    d->run = id;
    d->smallest = d->largest = key;
    d->smallest_len = d->largest_len = 8;
}

/* The fields every first record of a MANIFEST carries: strategy and next file number 5. */
static void first_record_fields(version_edit *e, const char *strategy)
{
    e->has_strategy = 1;
    snprintf(e->strategy, sizeof e->strategy, "%s", strategy);
    e->has_next_file = 1;
    e->next_file = 5;
}

static void write_manifest_case(fx *f, int which)
{
    char path[1024];
    fname_manifest(path, sizeof path, f->dir, 9);
    wal_writer *w;
    assert_int_equal(wal_writer_open(f->posix, path, &w), AM_OK);
    version_edit e;
    edit_init(&e);
    seg_desc d;
    switch (which) {
    case 0:   /* no records at all */
        break;
    case 1:   /* a record that is not an edit */
        assert_int_equal(wal_writer_add(w, "\x07\x07", 2), AM_OK);
        break;
    case 2:   /* no next file number */
        e.has_strategy = 1; strcpy(e.strategy, "leveled");
        put_record(w, &e);
        break;
    case 3:   /* no strategy */
        e.has_next_file = 1; e.next_file = 5;
        put_record(w, &e);
        break;
    case 4:   /* deletes a segment never added */
        first_record_fields(&e, "leveled");
        edit_delete_segment(&e, 0, 3);
        put_record(w, &e);
        break;
    case 5:   /* adds one id twice */
        first_record_fields(&e, "leveled");
        fake_desc(&d, 3, 0);
        edit_add_segment(&e, &d);
        put_record(w, &e);
        put_record(w, &e);
        break;
    case 6:   /* deletes at the wrong level */
        first_record_fields(&e, "leveled");
        fake_desc(&d, 3, 0);
        edit_add_segment(&e, &d);
        put_record(w, &e);
        edit_clear(&e);
        edit_delete_segment(&e, 1, 3);
        put_record(w, &e);
        break;
    case 7:   /* valid, empty: adds and deletes cancel; next_file below the MANIFEST's */
        first_record_fields(&e, "tiered");
        e.has_last_seq = 1; e.last_seq = 99;
        fake_desc(&d, 3, 0);
        edit_add_segment(&e, &d);
        put_record(w, &e);
        edit_clear(&e);
        edit_delete_segment(&e, 0, 3);
        put_record(w, &e);
        break;
    }
    edit_clear(&e);
    assert_int_equal(wal_writer_sync(w), AM_OK);
    wal_writer_close(w);
    assert_int_equal(env_write_atomic(f->posix, f->dir, "CURRENT", "MANIFEST-000009\n", 16), AM_OK);
}

static void test_inconsistent_edits(void **state)
{
    fx *f = *state;
    for (int which = 0; which <= 7; which++) {
        write_manifest_case(f, which);
        vset *vs = (vset *)1;
        int rc = vset_recover(f->env, f->dir, f->cache, &vs);
        if (which < 7) {
            if (rc != AM_ERR_CORRUPT) fail_msg("case %d: rc %d", which, rc);
            assert_null(vs);
            char msg[512];
            am_env_last_error(f->env, msg, sizeof msg);
            assert_non_null(strstr(msg, "MANIFEST-000009"));
        } else {
            assert_int_equal(rc, AM_OK);
            vset_state st = vset_get_state(vs);
            assert_int_equal(st.last_seq, 99);
            assert_int_equal(st.next_file, 11);     /* 10 went to the new MANIFEST */
            assert_string_equal(vset_strategy(vs), "tiered");
            assert_int_equal(vset_current(vs)->total_segs, 0);
            vset_free(vs);
        }
    }
}

static void test_bad_current(void **state)
{
    fx *f = *state;
    vset *vs;
    assert_int_equal(vset_create(f->env, f->dir, f->cache, "leveled", &vs), AM_OK);
    vset_free(vs);
    static const char *const bad[] = {
        NULL,                        /* missing */
        "",
        "\n",
        "MANIFEST-000001",           /* no newline */
        "garbage\n",
        "MANIFEST-000077\n",         /* names a file that does not exist */
        "../MANIFEST-000001\n",
        "MANIFEST-000001\n\n",
    };
    char path[1024];
    snprintf(path, sizeof path, "%s/CURRENT", f->dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        remove(path);
        if (bad[i]) assert_int_equal(env_write_atomic(f->posix, f->dir, "CURRENT", bad[i],
                                                      strlen(bad[i])), AM_OK);
        vs = (vset *)1;
        int rc = vset_recover(f->env, f->dir, f->cache, &vs);
        if (rc != AM_ERR_CORRUPT) fail_msg("CURRENT case %zu: rc %d", i, rc);
        assert_null(vs);
        char msg[512];
        am_env_last_error(f->env, msg, sizeof msg);
        assert_true(strstr(msg, "CURRENT") || strstr(msg, "MANIFEST-000077"));
    }
    assert_int_equal(env_write_atomic(f->posix, f->dir, "CURRENT", "MANIFEST-000001\n", 16), AM_OK);
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    vset_free(vs);
}

static void test_missing_or_damaged_segment(void **state)
{
    fx *f = *state;
    uint64_t ids[2];
    vset *vs = vset_with_flushes(f, two_flushes, 2, ids);
    vset_free(vs);
    char path[1024], want[32];
    fname_sst(path, sizeof path, f->dir, ids[1]);
    char *saved = NULL;
    size_t n;
    assert_int_equal(env_read_all(f->posix, path, &saved, &n), AM_OK);

    remove(path);
    vs = (vset *)1;
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_ERR_CORRUPT);
    assert_null(vs);
    char msg[512];
    am_env_last_error(f->env, msg, sizeof msg);
    snprintf(want, sizeof want, "%06llu.sst", (unsigned long long)ids[1]);
    if (!strstr(msg, want)) fail_msg("message '%s' does not name %s", msg, want);

    /* A damaged file (zeros where the footer was) is corruption naming it, too. */
    memset(saved + n / 2, 0, n - n / 2);
    tu_write_file(path, saved, n);
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_ERR_CORRUPT);
    am_env_last_error(f->env, msg, sizeof msg);
    if (!strstr(msg, want)) fail_msg("message '%s' does not name %s", msg, want);
    free(saved);
}

/* ---- obsolete files ---- */

static int found_any(void *arg, int kind, const char *v, size_t vn)
{
    (void)arg; (void)kind; (void)v; (void)vn;
    return AM_OK;
}

static void test_obsolete_deleted_at_last_ref(void **state)
{
    fx *f = *state;
    static const spec fl[2] = {{0, 0, 0, 9}, {0, 0, 20, 29}};
    uint64_t ids[2], c;
    vset *vs = vset_with_flushes(f, fl, 2, ids);
    uint64_t a = ids[0], b = ids[1];

    /* A reader pins the version holding a; another holds segment b alone. */
    am_version *pinned = vset_current(vs);
    version_ref(pinned);
    am_segment *sa = pinned->levels[0].runs[1].segs[0], *sb = pinned->levels[0].runs[0].segs[0];
    assert_int_equal(sa->d.id, a);
    assert_int_equal(sb->d.id, b);
    seg_incref(sb);
    /* Their blocks go into the cache; they must leave it with the files. */
    size_t u0 = cache_usage(f->cache);
    sst_probe probe = {0};
    assert_int_equal(sst_reader_get(sa->reader, "k000005", 7, AM_MAX_SEQ, &probe, found_any, NULL), AM_OK);
    assert_int_equal(sst_reader_get(sb->reader, "k000025", 7, AM_MAX_SEQ, &probe, found_any, NULL), AM_OK);
    assert_true(cache_usage(f->cache) > u0);

    spec out = {1, 1, 0, 29};
    seg_ref in[2] = {{0, a}, {0, b}};
    assert_int_equal(log_edit(f, vs, &out, 1, in, 2, &c), AM_OK);
    assert_true(sa->obsolete && sb->obsolete);
    assert_true(sst_exists(f, a) && sst_exists(f, b));     /* still referenced */
    version_unref(pinned);
    assert_false(sst_exists(f, a));                          /* last reference gone */
    assert_true(sst_exists(f, b));
    seg_unref(sb);
    assert_false(sst_exists(f, b));
    assert_true(sst_exists(f, c));
    assert_int_equal(cache_usage(f->cache), u0);

    /* vset_free deletes nothing: c is live. */
    vset_free(vs);
    assert_true(sst_exists(f, c));
}

/* ---- failed edits ---- */

/* An edit that replaces L0 segment a by a fresh L1 segment c (keys 0..9): c is built and
 * opened, the edit made, nothing logged yet. */
typedef struct replacement {
    seg_desc d;                    /* c's description; owns its keys */
    am_segment *sc;
    version_edit e;
} replacement;

static void replacement_make(fx *f, vset *vs, uint64_t a, replacement *r)
{
    build_sst(f, vset_new_file_number(vs), 1, 1, 0, 9, &r->d);
    assert_int_equal(vset_open_segment(vs, &r->d, &r->sc), AM_OK);
    edit_init(&r->e);
    edit_delete_segment(&r->e, 0, a);
    edit_add_segment(&r->e, &r->d);
}

static void replacement_free(replacement *r)
{
    edit_clear(&r->e);
    seg_unref(r->sc);
    free(r->d.smallest);
    free(r->d.largest);
}

static void test_failed_append_is_sticky(void **state)
{
    fx *f = *state;
    uint64_t a;
    vset *vs = vset_with_flushes(f, two_flushes, 1, &a);
    char *before = describe(vs, 0);
    am_version *v0 = vset_current(vs);
    am_segment *sa = v0->levels[0].runs[0].segs[0];

    /* The edit's append fails: the edit deletes a and adds c. Build c first, then arm. */
    replacement r;
    replacement_make(f, vs, a, &r);
    fault_env_fail_nth(f->env, FAULT_WRITE, 1, AM_ERR_NOSPACE, 0);
    assert_int_equal(vset_log_and_apply(vs, &r.e, &r.sc), AM_ERR_NOSPACE);
    assert_ptr_equal(vset_current(vs), v0);
    assert_false(sa->obsolete);
    assert_true(sst_exists(f, a));
    expect_picture(vs, before);

    /* Refused from now on, without touching the file. */
    uint64_t writes = fault_env_count(f->env, FAULT_WRITE);
    uint64_t syncs = fault_env_count(f->env, FAULT_SYNC);
    version_edit empty;
    edit_init(&empty);
    assert_int_equal(vset_log_and_apply(vs, &empty, NULL), AM_ERR_NOSPACE);
    assert_int_equal(vset_log_and_apply(vs, &r.e, &r.sc), AM_ERR_NOSPACE);
    assert_int_equal(fault_env_count(f->env, FAULT_WRITE), writes);
    assert_int_equal(fault_env_count(f->env, FAULT_SYNC), syncs);
    edit_clear(&empty);
    replacement_free(&r);
    vset_free(vs);
    assert_true(sst_exists(f, a));

    /* Reopen: the edit never reached the file. */
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    expect_picture(vs, before);
    vset_free(vs);
    free(before);
}

/* The MANIFEST sync fails after the append went through; a power cut then drops the
 * unsynced record. Nothing the edit deletes may be gone. */
static void test_failed_sync_then_power_cut(void **state)
{
    fx *f = *state;
    uint64_t a;
    vset *vs = vset_with_flushes(f, two_flushes, 1, &a);
    char *before = describe(vs, 0);
    am_version *v0 = vset_current(vs);

    for (int n = 1; n <= 2; n++) {       /* 1: the directory sync, 2: the MANIFEST sync */
        replacement r;
        replacement_make(f, vs, a, &r);
        fault_env_fail_nth(f->env, FAULT_SYNC, (uint64_t)n, AM_ERR_IO, 0);
        assert_int_equal(vset_log_and_apply(vs, &r.e, &r.sc), AM_ERR_IO);
        fault_env_fail_nth(f->env, FAULT_SYNC, 0, 0, 0);
        assert_ptr_equal(vset_current(vs), v0);
        assert_false(v0->levels[0].runs[0].segs[0]->obsolete);
        replacement_free(&r);
        assert_true(sst_exists(f, a));
        if (n == 1) {
            /* Still refusing; reopen to clear the error. */
            vset_free(vs);
            assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
            v0 = vset_current(vs);
            free(before);
            before = describe(vs, 0);
        }
    }
    vset_free(vs);
    assert_int_equal(fault_env_power_cut(f->env), AM_OK);
    assert_true(sst_exists(f, a));
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    expect_picture(vs, before);
    free(before);
    vset_free(vs);
}

/* Files named by a durable edit survive a power cut (the edit synced the directory). */
static void test_power_cut_keeps_logged_files(void **state)
{
    fx *f = *state;
    vset *vs = vset_with_flushes(f, two_flushes, 2, NULL);
    char *before = describe(vs, 0);
    vset_free(vs);
    assert_int_equal(fault_env_power_cut(f->env), AM_OK);
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    expect_picture(vs, before);
    free(before);
    vset_free(vs);
    /* And the MANIFEST recovery wrote is durable too. */
    assert_int_equal(fault_env_power_cut(f->env), AM_OK);
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    assert_int_equal(vset_current(vs)->total_segs, 2);
    vset_free(vs);
}

/* Recovery writes a fresh MANIFEST and switches CURRENT to it. Whichever of its syncs
 * fails, a power cut afterwards leaves a CURRENT that names a MANIFEST which is there:
 * the new MANIFEST's name is synced before CURRENT is renamed onto it. */
static void test_failed_switch_then_power_cut(void **state)
{
    fx *f = *state;
    vset *vs = vset_with_flushes(f, two_flushes, 2, NULL);
    char *before = describe(vs, 0);
    vset_free(vs);
    uint64_t s0 = fault_env_count(f->env, FAULT_SYNC);
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    uint64_t syncs = fault_env_count(f->env, FAULT_SYNC) - s0;
    vset_free(vs);
    assert_true(syncs >= 3);
    for (uint64_t n = 1; n <= syncs; n++) {
        fault_env_fail_nth(f->env, FAULT_SYNC, n, AM_ERR_IO, 0);
        vs = (vset *)1;
        assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_ERR_IO);
        assert_null(vs);
        assert_int_equal(fault_env_power_cut(f->env), AM_OK);
        int rc = vset_recover(f->env, f->dir, f->cache, &vs);
        if (rc != AM_OK) {
            char msg[512];
            am_env_last_error(f->env, msg, sizeof msg);
            fail_msg("sync %llu of %llu failed, then a power cut: %s (%s)",
                     (unsigned long long)n, (unsigned long long)syncs, am_strerror(rc), msg);
        }
        expect_picture(vs, before);
        vset_free(vs);
    }
    free(before);
}

/* ---- the completeness proof ---- */

/* vset_recover must refuse (AM_ERR_CORRUPT, naming each of want) and change nothing. */
static void expect_unproven(fx *f, const char *const *want, const char *ctx)
{
    char mf[1024], cur[128], cur2[128];
    current_manifest_path(f, mf, sizeof mf);
    read_current(f, cur, sizeof cur);
    size_t n, n2;
    char *before = tu_read_file(mf, &n);
    vset *vs = (vset *)1;
    int rc = vset_recover(f->env, f->dir, f->cache, &vs);
    if (rc != AM_ERR_CORRUPT) fail_msg("%s: recovery gave %s", ctx, am_strerror(rc));
    assert_null(vs);
    char msg[512];
    am_env_last_error(f->env, msg, sizeof msg);
    for (size_t i = 0; want[i]; i++)
        if (!strstr(msg, want[i])) fail_msg("%s: message lacks '%s': '%s'", ctx, want[i], msg);
    read_current(f, cur2, sizeof cur2);
    assert_string_equal(cur, cur2);
    char *after = tu_read_file(mf, &n2);
    assert_true(n == n2 && memcmp(before, after, n) == 0);
    free(before);
    free(after);
}

static void expect_proven(fx *f, const char *ctx)
{
    vset *vs = NULL;
    int rc = vset_recover(f->env, f->dir, f->cache, &vs);
    if (rc != AM_OK) {
        char msg[512];
        am_env_last_error(f->env, msg, sizeof msg);
        fail_msg("%s: recovery refused: %s (%s)", ctx, am_strerror(rc), msg);
    }
    vset_free(vs);
}

static void test_completeness_proof(void **state)
{
    fx *f = *state;
    vset *vs = vset_with_flushes(f, two_flushes, 2, NULL);
    vset_state st = vset_get_state(vs);
    vset_free(vs);
    char log[1024], sst[1024], newer[1024], name_log[32], name_sst[32], name_newer[32];
    fname_wal(log, sizeof log, f->dir, st.log_number);
    snprintf(name_log, sizeof name_log, "%06llu.log", (unsigned long long)st.log_number);
    uint64_t stray = st.next_file + 10;
    fname_sst(sst, sizeof sst, f->dir, stray);
    snprintf(name_sst, sizeof name_sst, "%06llu.sst", (unsigned long long)stray);
    fname_wal(newer, sizeof newer, f->dir, stray + 1);
    snprintf(name_newer, sizeof name_newer, "%06llu.log", (unsigned long long)stray + 1);

    /* The log exists: an SSTable no edit names is an unfinished output, left alone. */
    seg_desc d;
    build_sst(f, stray, 0, stray, 0, 5, &d);
    free(d.smallest);
    free(d.largest);
    expect_proven(f, "log there, unfinished output");
    assert_true(sst_exists(f, stray));
    /* The log is gone and that SSTable is there: a later flush was durable. */
    assert_int_equal(remove(log), 0);
    const char *want_sst[] = { name_log, "missing", name_sst, "amethyst_repair", f->dir, NULL };
    expect_unproven(f, want_sst, "log gone, newer SSTable");
    assert_true(sst_exists(f, stray));
    /* Four files are named, the rest counted. */
    char extra[1024];
    for (uint64_t i = 1; i <= 5; i++) {
        fname_sst(extra, sizeof extra, f->dir, stray + 100 + i);
        tu_write_file(extra, "x", 1);
    }
    const char *want_more[] = { name_sst, "and 2 more", NULL };
    expect_unproven(f, want_more, "log gone, six newer SSTables");
    for (uint64_t i = 1; i <= 5; i++) {
        fname_sst(extra, sizeof extra, f->dir, stray + 100 + i);
        assert_int_equal(remove(extra), 0);
    }
    assert_int_equal(remove(sst), 0);
    /* Nothing newer: nothing shows a lost edit. */
    expect_proven(f, "log gone, nothing newer");
    /* A newer log: empty or zero-filled is what a crash right after creating it leaves;
       one written to (a record, a torn first record, any byte) shows a later edit. */
    static const struct { const char *what; size_t n; int holds; } logs[] = {
        { "empty", 0, 0 }, { "zero-filled", 4096, 0 }, { "torn first record", 4096, 1 },
        { "a record", 0, 1 }, { "other bytes", 4096, 1 },
    };
    for (size_t c = 0; c < sizeof logs / sizeof logs[0]; c++) {
        char *bytes = calloc(1, logs[c].n + 1);
        if (c == 2) memcpy(bytes, "\x11\x22\x33\x44\x20\x00\x00\x00\x01" "abc", 12);
        if (c == 4) memset(bytes, 0x5a, 4096);
        tu_write_file(newer, bytes, logs[c].n);
        free(bytes);
        if (c == 3) {
            wal_writer *w;
            assert_int_equal(wal_writer_open(f->posix, newer, &w), AM_OK);
            assert_int_equal(wal_writer_add(w, "batch", 5), AM_OK);
            wal_writer_close(w);
        }
        if (logs[c].holds) {
            const char *want_log[] = { name_log, name_newer, "written to", NULL };
            expect_unproven(f, want_log, logs[c].what);
        } else {
            expect_proven(f, logs[c].what);
        }
        assert_int_equal(remove(newer), 0);
    }
    /* Log number 0 (no log was ever named): the same traces count. */
    tu_rmtree(f->dir);
    assert_int_equal(mkdir(f->dir, 0755), 0);
    assert_int_equal(vset_create(f->env, f->dir, f->cache, "leveled", &vs), AM_OK);
    uint64_t orphan = vset_new_file_number(vs);
    uint64_t named = give_log(f, vs);
    vset_free(vs);
    expect_proven(f, "log number 0 and nothing else");
    /* An SSTable numbered below the log number is no trace of a later edit (an output
       of an older merge the last open did not get to remove). */
    fname_wal(log, sizeof log, f->dir, named);
    assert_int_equal(remove(log), 0);
    build_sst(f, orphan, 0, orphan, 0, 5, &d);
    free(d.smallest);
    free(d.largest);
    expect_proven(f, "log gone, an older orphan");
    assert_true(sst_exists(f, orphan));
}

/* ---- many edits: replay of a long MANIFEST against a model ---- */

static void test_long_manifest_model(void **state)
{
    fx *f = *state;
    /* Three real segments survive; thousands of fake ones come and go. */
    seg_desc real[3];
    uint64_t real_ids[3] = {500001, 500002, 500003};
    for (int i = 0; i < 3; i++) build_sst(f, real_ids[i], 1, 1, i * 100, i * 100 + 50, &real[i]);

    enum { IDS = 4000 };
    char path[1024];
    fname_manifest(path, sizeof path, f->dir, 3);
    wal_writer *w;
    assert_int_equal(wal_writer_open(f->posix, path, &w), AM_OK);
    unsigned char *level = calloc(IDS, 1);   /* 0: not live, else level + 1 */
    tu_rng rng = {.s = 99};
    version_edit e;
    edit_init(&e);
    e.has_strategy = 1; strcpy(e.strategy, "triangular");
    e.has_next_file = 1; e.next_file = 500004;     /* above every number used */
    e.has_last_seq = 1; e.last_seq = f->seq;       /* every sequence the files hold */
    put_record(w, &e);
    edit_clear(&e);
    int placed = 0;
    for (int rec = 0; rec < 3000; rec++) {
        /* Up to 4 deletions of live ids and 4 additions of unused ids (or a move). */
        for (int k = 0; k < 4; k++) {
            uint64_t id = 1 + tu_below(&rng, IDS - 1);
            int again = 0;
            for (size_t j = 0; j < e.ndeleted; j++) again |= e.deleted[j].id == id;
            if (level[id] && !again) {
                int lv = level[id] - 1;
                edit_delete_segment(&e, lv, id);
                level[id] = 0;
                if (tu_below(&rng, 4) == 0) {    /* a move: re-added elsewhere */
                    seg_desc d;
                    fake_desc(&d, id, (lv + 1) % AM_MAX_LEVELS);
                    edit_add_segment(&e, &d);
                    level[id] = (unsigned char)(d.level + 1);
                }
            }
        }
        for (int k = 0; k < 4; k++) {
            uint64_t id = 1 + tu_below(&rng, IDS - 1);
            int taken = level[id] != 0;
            for (size_t j = 0; j < e.ndeleted; j++) taken |= e.deleted[j].id == id;
            if (taken) continue;
            seg_desc d;
            fake_desc(&d, id, (int)tu_below(&rng, AM_MAX_LEVELS));
            edit_add_segment(&e, &d);
            level[id] = (unsigned char)(d.level + 1);
        }
        if (rec % 1000 == 500) edit_add_segment(&e, &real[placed++]);
        put_record(w, &e);
        edit_clear(&e);
    }
    /* Delete every fake survivor. */
    for (uint64_t id = 1; id < IDS; id++)
        if (level[id]) edit_delete_segment(&e, level[id] - 1, id);
    put_record(w, &e);
    edit_clear(&e);
    assert_int_equal(placed, 3);
    assert_int_equal(wal_writer_sync(w), AM_OK);
    wal_writer_close(w);
    assert_int_equal(env_write_atomic(f->posix, f->dir, "CURRENT", "MANIFEST-000003\n", 16), AM_OK);

    vset *vs;
    assert_int_equal(vset_recover(f->env, f->dir, f->cache, &vs), AM_OK);
    am_version *v = vset_current(vs);
    assert_int_equal(v->total_segs, 3);
    assert_int_equal(v->levels[1].nruns, 1);
    for (int i = 0; i < 3; i++) assert_int_equal(v->levels[1].runs[0].segs[i]->d.id, real_ids[i]);
    assert_int_equal(vset_get_state(vs).next_file, 500005);   /* 500004 went to the MANIFEST */
    assert_string_equal(vset_strategy(vs), "triangular");
    vset_free(vs);
    for (int i = 0; i < 3; i++) {
        free(real[i].smallest);
        free(real[i].largest);
    }
    free(level);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fname),
        T(test_fname_walk),
        T(test_create_and_recover_empty),
        T(test_log_and_recover),
        T(test_torn_tail),
        T(test_corrupt_middle),
        T(test_inconsistent_edits),
        T(test_bad_current),
        T(test_missing_or_damaged_segment),
        T(test_obsolete_deleted_at_last_ref),
        T(test_failed_append_is_sticky),
        T(test_failed_sync_then_power_cut),
        T(test_power_cut_keeps_logged_files),
        T(test_failed_switch_then_power_cut),
        T(test_completeness_proof),
        T(test_long_manifest_model),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
