/* test_manifest_edits.c: a MANIFEST whose records are all checksum-valid but one edit
 * breaks an invariant recovery relies on (docs/format.md, "What a replayed MANIFEST must
 * satisfy"): smallest key after largest, two segments of one run overlapping, level 8,
 * tag 2, file number 0, a number at or above next_file or the MANIFEST's own, a segment
 * added or deleted twice in one edit, min_seq above max_seq, a sequence above the last
 * one, a deletion of a segment not live, and an SSTable whose own smallest key or
 * entries differ from the MANIFEST's. Each is refused with AM_ERR_CORRUPT naming the
 * MANIFEST and the record (and the SSTable when it disagrees), never an abort, and the
 * directory is left as it was. The bad edits are encoded with edit_encode (or patched
 * bytes, where the encoder asserts) and written with the real log writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"
#include "testutil_recovery.h"
#include "util/ikey.h"
#include "version/edit.h"

typedef tu_fixture fixture;

/* One big memtable, merges never triggered, everything inline: the MANIFEST holds
 * exactly the edits the test makes. */
static int setup(void **state)
{
    tu_setup(state);
    fixture *fx = *state;
    tu_small_options(&fx->o, 0);
    fx->o.memtable_bytes = 1u << 20;
    fx->o.l0_compaction_trigger = 100;
    return 0;
}

static void manifest_path(const fixture *fx, char *out, size_t cap)
{
    tu_find_last(fx->dir, "MANIFEST-", 0, out, cap);
}

/* The two flushes' segments (4.sst: key0000 .. key0499, 6.sst: key0000), as the MANIFEST
 * records them, and its records. */
typedef struct manifest_fx {
    char path[512];
    tu_records rs;
    seg_desc a, b;                     /* keys owned */
} manifest_fx;

static void desc_of_record(const tu_records *rs, size_t i, seg_desc *out)
{
    version_edit e;
    edit_init(&e);
    assert_int_equal(edit_decode(&e, rs->p[i], rs->n[i]), AM_OK);
    assert_int_equal(e.nadded, 1);
    *out = e.added[0];
    out->smallest = malloc(out->smallest_len);
    out->largest = malloc(out->largest_len);
    memcpy(out->smallest, e.added[0].smallest, out->smallest_len);
    memcpy(out->largest, e.added[0].largest, out->largest_len);
    edit_clear(&e);
}

static void manifest_setup(fixture *fx, manifest_fx *m)
{
    char sst[512];
    tu_two_flushes(fx->dir, &fx->o, sst, sizeof sst);
    manifest_path(fx, m->path, sizeof m->path);
    m->rs = tu_read_records(fx->posix, m->path);
    assert_true(m->rs.count >= 4);
    desc_of_record(&m->rs, m->rs.count - 2, &m->a);
    desc_of_record(&m->rs, m->rs.count - 1, &m->b);
    assert_true(m->a.id < m->b.id && m->a.level == 0 && m->b.level == 0);
}

/* The MANIFEST's records again, then bad (n bytes): returns the new record's offset. */
static uint64_t manifest_append(fixture *fx, const manifest_fx *m, const char *bad, size_t n)
{
    tu_records all = m->rs;
    size_t order[64];
    assert_true(m->rs.count < 64);
    for (size_t i = 0; i < m->rs.count; i++) order[i] = i;
    /* The bad record rides as an extra entry of a copy of the list. */
    all.p = malloc((m->rs.count + 2) * sizeof *all.p);
    all.n = malloc((m->rs.count + 2) * sizeof *all.n);
    memcpy(all.p, m->rs.p, m->rs.count * sizeof *all.p);
    memcpy(all.n, m->rs.n, m->rs.count * sizeof *all.n);
    all.p[m->rs.count] = (char *)bad;
    all.n[m->rs.count] = n;
    all.count = m->rs.count + 1;         /* index count + 1 would be the empty batch */
    order[m->rs.count] = m->rs.count;
    uint64_t off = tu_write_records(fx->posix, m->path, &all, order, m->rs.count + 1, m->rs.count);
    free(all.p);
    free(all.n);
    return off;
}

static void set_key(seg_desc *d, int largest, const char *uk, uint64_t seq)
{
    char **k = largest ? &d->largest : &d->smallest;
    size_t *kn = largest ? &d->largest_len : &d->smallest_len;
    free(*k);
    *kn = strlen(uk) + 8;
    *k = malloc(*kn);
    ikey_build(*k, uk, strlen(uk), seq, AM_KIND_VALUE);
}

/* A copy of d (keys too), owned by the caller. */
static seg_desc desc_copy(const seg_desc *d)
{
    seg_desc c = *d;
    c.smallest = malloc(d->smallest_len);
    c.largest = malloc(d->largest_len);
    memcpy(c.smallest, d->smallest, d->smallest_len);
    memcpy(c.largest, d->largest, d->largest_len);
    return c;
}

static void desc_free(seg_desc *d)
{
    free(d->smallest);
    free(d->largest);
}

enum { ID_FREE = 900 };                /* a number no file has */

/* Case c's bad edit into e (and a raw patch of the encoding: *patch_at >= 0 sets that
 * byte to patch). Returns what the message must say. */
static const char *bad_edit(int c, const manifest_fx *m, version_edit *e, int *patch_at,
                            char *patch)
{
    seg_desc a = desc_copy(&m->a), b = desc_copy(&m->b), x = desc_copy(&m->b);
    const char *want = NULL;
    *patch_at = -1;
    x.id = x.run = ID_FREE;
    switch (c) {
    case 0:   /* smallest > largest, on a real file (aborted in run_disjoint) */
        set_key(&a, 0, "key0499", 1);
        set_key(&a, 1, "key0000", 1);
        edit_delete_segment(e, 0, a.id);
        edit_add_segment(e, &a);
        want = "sorts after its largest";
        break;
    case 1:   /* the two real files moved into one run, overlapping (aborted before) */
        a.level = b.level = 1;
        a.run = b.run = 77;
        edit_delete_segment(e, 0, a.id);
        edit_delete_segment(e, 0, b.id);
        edit_add_segment(e, &a);
        edit_add_segment(e, &b);
        want = "overlaps";
        break;
    case 2:   /* level 8 */
        x.level = 7;
        edit_add_segment(e, &x);
        *patch_at = 1;                 /* tag 6 (ADDED), then the level */
        *patch = 8;
        want = "not a valid version edit";
        break;
    case 3:   /* tag 2 */
        x.tag = 2;
        edit_add_segment(e, &x);
        want = "not a valid version edit";
        break;
    case 4:   /* file number 0 */
        x.id = 0;
        edit_add_segment(e, &x);
        want = "file number 0";
        break;
    case 5:   /* a number at or above next_file */
        e->has_next_file = 1;
        e->next_file = a.id;
        want = "at or above the next file number";
        break;
    case 6:   /* the MANIFEST's own number */
        x.id = strtoull(tu_base_name(m->path) + 9, NULL, 10);
        edit_add_segment(e, &x);
        want = "MANIFEST's own number";
        break;
    case 7:   /* added twice in one edit */
        edit_add_segment(e, &x);
        edit_add_segment(e, &x);
        want = "twice";
        break;
    case 8:   /* deleted twice in one edit */
        edit_delete_segment(e, 0, a.id);
        edit_delete_segment(e, 0, a.id);
        want = "twice";
        break;
    case 9:   /* min_seq > max_seq */
        a.min_seq = a.max_seq + 1;
        edit_delete_segment(e, 0, a.id);
        edit_add_segment(e, &a);
        want = "min_seq";
        break;
    case 10:  /* sequences above the last sequence recorded */
        e->has_last_seq = 1;
        e->last_seq = a.max_seq - 1;
        want = "above the last sequence";
        break;
    case 11:  /* a segment deleted that is not live */
        edit_delete_segment(e, 0, ID_FREE);
        want = "not live";
        break;
    case 12:  /* the file's smallest key is not what the MANIFEST says */
        set_key(&a, 0, "key0001", a.max_seq);
        edit_delete_segment(e, 0, a.id);
        edit_add_segment(e, &a);
        want = "smallest key";
        break;
    case 13:  /* nor its entries */
        a.entries++;
        edit_delete_segment(e, 0, a.id);
        edit_add_segment(e, &a);
        want = "entries";
        break;
    case 14:  /* a last sequence no internal key can hold (the next write wrapped to 0) */
        e->has_last_seq = 1;
        e->last_seq = UINT64_MAX;
        want = "above the largest sequence number";
        break;
    case 15:  /* a next file number the counter would wrap from onto live files */
        e->has_next_file = 1;
        e->next_file = UINT64_MAX - 1;
        want = "above the largest this engine hands out";
        break;
    case 16:  /* a segment whose sequences no internal key can hold */
        x.max_seq = UINT64_MAX;
        edit_add_segment(e, &x);
        want = "above the largest sequence number";
        break;
    }
    desc_free(&a);
    desc_free(&b);
    desc_free(&x);
    return want;
}

static void test_manifest_invalid_edits(void **state)
{
    fixture *fx = *state;
    manifest_fx m;
    manifest_setup(fx, &m);
    for (int c = 0; c <= 16; c++) {
        version_edit e;
        edit_init(&e);
        int patch_at;
        char patch, ctx[64], rec[48], at[48];
        const char *want = bad_edit(c, &m, &e, &patch_at, &patch);
        am_buf b;
        buf_init(&b);
        assert_int_equal(edit_encode(&e, &b), AM_OK);
        edit_clear(&e);
        if (patch_at >= 0) b.data[patch_at] = patch;
        uint64_t off = manifest_append(fx, &m, b.data, b.len);
        buf_free(&b);
        snprintf(ctx, sizeof ctx, "bad edit %d (%s)", c, want);
        snprintf(rec, sizeof rec, "record %zu", m.rs.count);
        snprintf(at, sizeof at, "offset %llu", (unsigned long long)off);
        /* The record that breaks it; for 12 and 13 the file that disagrees, named too. */
        int file = c == 12 || c == 13;
        const char *want_all[] = { tu_base_name(m.path), want, file ? ".sst" : rec,
                                   file ? want : at, NULL };
        tu_open_refused(fx->dir, &fx->o, want_all, 0, ctx);
    }
    /* The MANIFEST as it was: the database opens whole. */
    size_t order[64];
    for (size_t i = 0; i < m.rs.count; i++) order[i] = i;
    tu_write_records(fx->posix, m.path, &m.rs, order, m.rs.count, 0);
    am_db *db = tu_open(fx->dir, &fx->o);
    tu_expect_str(db, "key0000", "new", "after the bad edits");
    tu_expect_str(db, "key0499", "v499", "after the bad edits");
    assert_int_equal(am_close(db), AM_OK);
    tu_records_free(&m.rs);
    desc_free(&m.a);
    desc_free(&m.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_manifest_invalid_edits, setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
