/* test_corrupt.c: damaged files are reported, never read as wrong data.
 *   - a byte flipped in an SSTable data block (in a value, a key, the restart array, the
 *     checksum trailer): gets and iterators for that block return AM_ERR_CORRUPT naming the
 *     file, every other key reads right, a merge over it fails rather than dropping keys;
 *   - a truncated SSTable: open fails with AM_ERR_CORRUPT naming the file;
 *   - an SSTable with valid checksums but keys out of order (inside a block, or blocks
 *     swapped): reads of those blocks fail, and a compaction over it fails cleanly (no
 *     abort): a background error, AM_ERR_READONLY on writes, am_errmsg naming the file,
 *     no output left behind;
 *   - damage made on disk while the database is open, to a block a read has already
 *     verified (or a file cut short under its mapping): a compaction over it fails with
 *     AM_ERR_CORRUPT instead of copying the damage into a new file with a good checksum,
 *     and a reopen still reports the damage;
 *   - a byte flipped anywhere in the MANIFEST: open fails with AM_ERR_CORRUPT and a message,
 *     and changes nothing (restoring the byte restores the database);
 *   - a WAL cut inside a record (header or payload), or followed by zeros: open succeeds with
 *     every record before the tear; damage with valid records after it is corruption;
 *   - garbage in CURRENT, or CURRENT naming a missing MANIFEST: AM_ERR_CORRUPT;
 *   - an SSTable that the MANIFEST names deleted: AM_ERR_CORRUPT naming the file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"
#include "testutil_sst.h"

typedef tu_fixture fixture;

/* The shared fixture with this file's options: one big memtable, small blocks. */
static int setup(void **state)
{
    tu_setup(state);
    fixture *fx = *state;
    am_options_init(&fx->o);
    fx->o.background_threads = 0;
    fx->o.memtable_bytes = 1u << 20;
    fx->o.block_bytes = 256;
    fx->o.index_stride = 1;             /* every key whole in the file: easy to find */
    fx->o.l0_compaction_trigger = 4;
    return 0;
}

/* ---- files ---- */

/* The one file in dir whose name ends with suffix (fails if none or several); a prefix
 * instead when prefix is set. */
static void find_one(const char *dir, const char *suffix, int prefix, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name), sn = strlen(suffix);
        int hit = n >= sn && (prefix ? strncmp(e->d_name, suffix, sn) == 0
                                     : strcmp(e->d_name + n - sn, suffix) == 0);
        if (!hit) continue;
        if (found++) fail_msg("several %s files in %s", suffix, dir);
        snprintf(out, cap, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (!found) fail_msg("no %s file in %s", suffix, dir);
}

/* Offset of needle in the file, or fails. */
static size_t find_bytes(const char *path, const void *needle, size_t nn)
{
    size_t n;
    char *d = tu_read_file(path, &n);
    for (size_t i = 0; i + nn <= n; i++) {
        if (memcmp(d + i, needle, nn) == 0) {
            free(d);
            return i;
        }
    }
    free(d);
    fail_msg("%s does not contain the bytes looked for", path);
    return 0;
}

/* ---- data ---- */

enum { NKEYS = 600 };

static void key_of(char *k, int i) { snprintf(k, 32, "k%05d", i); }
static size_t value_of(char *v, int i, int gen)
{
    return (size_t)snprintf(v, 64, "value-%05d-gen%d-abcdefghijklmnop", i, gen);
}

/* Opening must fail with want; returns the message. */
static const char *open_fails(const char *dir, const am_options *o, int want, const char *ctx)
{
    static char msg[512];
    msg[0] = 0;
    am_db *db = (am_db *)1;
    int rc = am_open_msg(dir, o, &db, msg, sizeof msg);
    if (rc != want) {
        if (rc == AM_OK) am_close(db);
        fail_msg("%s: open gave %s (%s), want %s", ctx, am_strerror(rc), msg, am_strerror(want));
    }
    assert_null(db);
    if (!msg[0]) fail_msg("%s: no message", ctx);
    return msg;
}

static void put_keys(am_db *db, int from, int to, int gen)
{
    char k[32], v[64];
    for (int i = from; i < to; i++) {
        key_of(k, i);
        assert_int_equal(am_put(db, k, strlen(k), v, value_of(v, i, gen)), AM_OK);
    }
}

/* get of key i: AM_OK with the right value, or the status (never a wrong value). */
static int get_key(am_db *db, int i, int gen)
{
    char k[32], v[64];
    key_of(k, i);
    void *got = NULL;
    size_t gn = 0;
    int rc = am_get(db, NULL, k, strlen(k), &got, &gn);
    if (rc == AM_OK) {
        size_t vn = value_of(v, i, gen);
        if (gn != vn || memcmp(got, v, vn) != 0)
            fail_msg("%s: wrong value '%.*s'", k, (int)gn, (char *)got);
        am_free(got);
    } else if (got) {
        fail_msg("%s: %s but a value returned", k, am_strerror(rc));
    }
    return rc;
}

/* One SSTable of keys 0..NKEYS-1 (generation 0), database closed. Returns its path. */
static void make_one_sst(fixture *fx, char *sst, size_t cap)
{
    tu_rmtree(fx->dir);
    am_db *db = tu_open(fx->dir, &fx->o);
    put_keys(db, 0, NKEYS, 0);
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_close(db), AM_OK);
    find_one(fx->dir, ".sst", 0, sst, cap);
}

/* ---- SSTable data blocks ---- */

typedef struct flip_case {
    const char *what;
    int key;             /* the key whose entry is damaged */
    int delta;           /* offset from the start of that key's value (or key) */
    int in_key;          /* 1: from the key bytes instead of the value */
} flip_case;

static const flip_case flips[] = {
    { "value byte, first block", 0, 3, 0 },
    { "value byte, middle block", 300, 10, 0 },
    { "key byte, middle block", 301, 2, 1 },
    { "value byte, last block", NKEYS - 1, 0, 0 },
    /* The last value of a block is followed by the restart array and the trailer: a flip
       a little past the value lands there (a different block each, whatever the layout). */
    { "past a value (restarts / trailer)", 200, 36, 0 },
    { "past a value (restarts / trailer)", 450, 40, 0 },
};

static void test_sst_block_flips(void **state)
{
    fixture *fx = *state;
    for (size_t c = 0; c < sizeof flips / sizeof flips[0]; c++) {
        const flip_case *fc = &flips[c];
        char sst[512], needle[64];
        make_one_sst(fx, sst, sizeof sst);
        if (fc->in_key) key_of(needle, fc->key);
        else value_of(needle, fc->key, 0);
        size_t off = find_bytes(sst, needle, strlen(needle)) + (size_t)fc->delta;
        tu_flip_byte(sst, off, 0x5a);

        am_db *db = tu_open(fx->dir, &fx->o);      /* footer, index, filter are intact */
        int corrupt = 0, first_bad = -1, last_bad = -1;
        for (int i = 0; i < NKEYS; i++) {
            int rc = get_key(db, i, 0);
            if (rc == AM_OK) continue;
            if (rc != AM_ERR_CORRUPT)
                fail_msg("case %zu (%s): key %d: %s, want ok or corruption", c, fc->what, i,
                         am_strerror(rc));
            if (!strstr(am_errmsg(db), ".sst"))
                fail_msg("case %zu: message does not name the file: '%s'", c, am_errmsg(db));
            if (first_bad < 0) first_bad = i;
            if (last_bad >= 0 && i != last_bad + 1)
                fail_msg("case %zu: damaged keys are not one block (%d, then %d)", c, last_bad, i);
            last_bad = i;
            corrupt++;
        }
        if (corrupt == 0) fail_msg("case %zu (%s): flipping byte %zu went unnoticed", c,
                                   fc->what, off);
        if (corrupt > 20) fail_msg("case %zu: %d keys unreadable: more than one block", c, corrupt);
        if (fc->delta < 20 && (fc->key < first_bad || fc->key > last_bad))
            fail_msg("case %zu: key %d damaged but keys %d..%d reported", c, fc->key, first_bad,
                     last_bad);
        /* A full scan stops at the damaged block with the error, after right values. */
        am_iter *it = am_iter_new(db, NULL);
        assert_non_null(it);
        int i = 0;
        for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it), i++) {
            size_t kn, vn;
            const char *k = am_iter_key(it, &kn);
            const char *v = am_iter_value(it, &vn);
            char wk[32], wv[64];
            key_of(wk, i);
            size_t wvn = value_of(wv, i, 0);
            if (kn != strlen(wk) || memcmp(k, wk, kn) || vn != wvn || memcmp(v, wv, vn))
                fail_msg("case %zu: scan entry %d is wrong: %.*s", c, i, (int)kn, k);
        }
        if (am_iter_status(it) != AM_ERR_CORRUPT)
            fail_msg("case %zu: scan ended after %d keys with %s", c, i,
                     am_strerror(am_iter_status(it)));
        if (i != first_bad)
            fail_msg("case %zu: scan ended at key %d, gets failed from %d", c, i, first_bad);
        /* A fresh iterator seeking past the damage reads on to the end (an error may stay
           with the iterator that met it, as leveldb's do). */
        am_iter_free(it);
        it = am_iter_new(db, NULL);
        assert_non_null(it);
        if (last_bad + 1 < NKEYS) {
            char k[32];
            key_of(k, last_bad + 1);
            am_iter_seek(it, k, strlen(k));
            int n = 0;
            for (; am_iter_valid(it); am_iter_next(it)) n++;
            assert_int_equal(am_iter_status(it), AM_OK);
            assert_int_equal(n, NKEYS - last_bad - 1);
        }
        am_iter_free(it);
        /* A merge over the damaged file fails rather than write a table without its keys:
           three more L0 files reach l0_compaction_trigger (4), and the merge takes all. */
        int rc = AM_OK;
        for (int f = 0; f < 3 && rc == AM_OK; f++) {
            put_keys(db, f * 10, f * 10 + 5, 1);
            rc = am_flush(db);
        }
        if (rc == AM_OK) rc = am_compact(db);
        am_stats st;
        assert_int_equal(am_stats_get(db, &st), AM_OK);
        if (rc != AM_ERR_CORRUPT || st.compactions > 0)
            fail_msg("case %zu: merging over the damaged block: %s after %llu merges, want "
                     "corruption and none", c, am_strerror(rc),
                     (unsigned long long)st.compactions);
        am_close(db);
        /* Keys outside the block are still fine after reopen (in the background mode: an
           inline open would run the failing merge again and fail). */
        am_options bgo = fx->o;
        bgo.background_threads = 1;
        db = tu_open(fx->dir, &bgo);
        for (int j = 0; j < NKEYS; j++) {
            if (j >= first_bad && j <= last_bad) continue;
            int want_gen = (j % 10 < 5 && j < 30) ? 1 : 0;
            int r = get_key(db, j, want_gen);
            if (r != AM_OK) fail_msg("case %zu: key %d after reopen: %s", c, j, am_strerror(r));
        }
        am_close(db);
    }
}

static void test_sst_truncated(void **state)
{
    fixture *fx = *state;
    static const size_t cuts[] = { 1, 10, 64, 65, 200 };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        char sst[512];
        make_one_sst(fx, sst, sizeof sst);
        size_t n;
        char *d = tu_read_file(sst, &n);
        assert_true(n > cuts[c]);
        tu_write_file(sst, d, n - cuts[c]);
        free(d);
        const char *msg = open_fails(fx->dir, &fx->o, AM_ERR_CORRUPT, "truncated sstable");
        const char *base = strrchr(sst, '/') + 1;
        if (!strstr(msg, base)) fail_msg("message does not name %s: '%s'", base, msg);
    }
}

/* ---- SSTables with valid checksums, keys out of order ---- */

/* How many files in dir end with suffix. */
static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name), sn = strlen(suffix);
        found += n >= sn && strcmp(e->d_name + n - sn, suffix) == 0;
    }
    closedir(d);
    return found;
}

/* Three more flushes reach l0_compaction_trigger (4); the merge then takes every L0 file.
 * Returns the first failure of the flushes or of am_compact. */
static int flush_three_and_compact(am_db *db)
{
    int rc = AM_OK;
    for (int f = 0; f < 3 && rc == AM_OK; f++) {
        put_keys(db, f * 10, f * 10 + 5, 1);
        rc = am_flush(db);
    }
    return rc == AM_OK ? am_compact(db) : rc;
}

/* make_one_sst's file, patched (case 0: two entries of a middle block swapped; case 1: two
 * middle blocks swapped) and resealed. With index_stride 1 and keys and values of one
 * length, every entry is stored whole in the same number of bytes, so nothing moves. */
static void make_out_of_order(fixture *fx, int c, char *sst, size_t cap)
{
    make_one_sst(fx, sst, cap);
    size_t n;
    char *d = tu_read_file(sst, &n);
    tu_sst_block b[256];
    size_t nb = tu_sst_data_blocks(d, n, b, 256);
    assert_true(nb >= 6 && nb <= 256);
    char k[32], v[64];
    key_of(k, 0);
    size_t entry = 3 + strlen(k) + 8 + value_of(v, 0, 0);
    if (c == 0) {
        tu_swap_bytes(d, (size_t)b[3].off + entry, (size_t)b[3].off + 2 * entry, entry);
    } else {
        assert_int_equal(b[2].size, b[3].size);
        tu_swap_bytes(d, (size_t)b[2].off, (size_t)b[3].off, (size_t)b[2].size);
    }
    tu_sst_reseal(d, n);
    tu_write_file(sst, d, n);
    free(d);
}

static void test_sst_out_of_order_compaction(void **state)
{
    fixture *fx = *state;
    static const char *what[] = { "keys out of order", "blocks out of order" };
    for (int c = 0; c < 2; c++) {
        char sst[512];
        make_out_of_order(fx, c, sst, sizeof sst);
        const char *base = strrchr(sst, '/') + 1;
        am_db *db = tu_open(fx->dir, &fx->o);   /* footer, index, properties are intact */
        /* A scan meets the bad block and stops there. */
        am_iter *it = am_iter_new(db, NULL);
        assert_non_null(it);
        int i = 0;
        for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it)) i++;
        if (am_iter_status(it) != AM_ERR_CORRUPT || i == 0 || i >= NKEYS)
            fail_msg("%s: scan read %d keys and ended with %s", what[c], i,
                     am_strerror(am_iter_status(it)));
        am_iter_free(it);
        /* The merge over it fails: no abort, nothing installed, nothing left behind. */
        int rc = flush_three_and_compact(db);
        am_stats st;
        assert_int_equal(am_stats_get(db, &st), AM_OK);
        if (rc != AM_ERR_CORRUPT || st.compactions != 0)
            fail_msg("%s: merging over the file: %s after %llu merges, want corruption and "
                     "none", what[c], am_strerror(rc), (unsigned long long)st.compactions);
        const char *msg = am_errmsg(db);
        if (!strstr(msg, base) || !strstr(msg, "offset"))
            fail_msg("%s: message '%s' does not name %s and an offset", what[c], msg, base);
        assert_int_equal(count_files(fx->dir, ".sst"), 4);     /* the inputs, no output */
        /* A background error: writes refuse, the message still says why. */
        assert_int_equal(am_put(db, "x", 1, "y", 1), AM_ERR_READONLY);
        assert_non_null(strstr(am_errmsg(db), base));
        assert_int_equal(am_compact(db), AM_ERR_CORRUPT);
        assert_int_equal(am_close(db), AM_ERR_CORRUPT);
    }
}

/* ---- damage while open: not laundered by a merge ---- */

/* 1 if some .sst file in dir other than `except` contains needle. */
static int other_sst_contains(const char *dir, const char *except, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".sst") != 0) continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (strcmp(path, except) == 0) continue;
        size_t len;
        char *data = tu_read_file(path, &len);
        for (size_t i = 0; !found && i + strlen(needle) <= len; i++)
            found = memcmp(data + i, needle, strlen(needle)) == 0;
        free(data);
    }
    closedir(d);
    return found;
}

/* Case 0: 8 bytes of key 300's value overwritten in the file, in place (pwrite), after a
 * get of key 300 had its block verified in the mapping. Case 1: the file cut to about half
 * its size, at a page boundary, under the mapping. Both while the database is open; then three flushes reach the
 * L0 trigger and the merge reads the file. It must fail with AM_ERR_CORRUPT (a background
 * error) rather than write the damaged value into a new file; after a reopen the original
 * file is still there and still damaged. */
static void test_damage_while_open_not_laundered(void **state)
{
    fixture *fx = *state;
    for (int c = 0; c < 2; c++) {
        char sst[512];
        tu_rmtree(fx->dir);
        am_db *db = tu_open(fx->dir, &fx->o);       /* the posix env: SSTables mapped */
        put_keys(db, 0, NKEYS, 0);
        assert_int_equal(am_flush(db), AM_OK);
        find_one(fx->dir, ".sst", 0, sst, sizeof sst);
        const char *base = strrchr(sst, '/') + 1;
        assert_int_equal(get_key(db, 300, 0), AM_OK);   /* its block: verified, trusted */

        char good[64], bad[64];
        size_t vn = value_of(good, 300, 0);
        memcpy(bad, good, vn);
        memcpy(bad + 17, "DAMAGED!", 8);              /* value-00300-gen0-DAMAGED!ijk... */
        bad[vn] = 0;
        int fd = open(sst, O_WRONLY);
        assert_true(fd >= 0);
        if (c == 0) {
            size_t n;
            char *d = tu_read_file(sst, &n);
            size_t off = tu_find(d, n, good, vn);
            free(d);
            assert_int_equal(pwrite(fd, bad + 17, 8, (off_t)off + 17), 8);
        } else {
            /* At a page boundary: through the mapping, the rest of the block there is in a
               page wholly past the end of the file, and reading it raises SIGBUS. */
            uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), cut = tu_file_size(sst) / 2;
            assert_true(cut > page);
            assert_int_equal(ftruncate(fd, (off_t)(cut - cut % page)), 0);
        }
        assert_int_equal(close(fd), 0);

        int rc = flush_three_and_compact(db);
        am_stats st;
        assert_int_equal(am_stats_get(db, &st), AM_OK);
        if (rc != AM_ERR_CORRUPT || st.compactions != 0)
            fail_msg("case %d: merging over the damaged file: %s after %llu merges, want "
                     "corruption and none", c, am_strerror(rc),
                     (unsigned long long)st.compactions);
        const char *msg = am_errmsg(db);
        if (!strstr(msg, base)) fail_msg("case %d: message '%s' does not name %s", c, msg, base);
        assert_int_equal(am_put(db, "x", 1, "y", 1), AM_ERR_READONLY);
        assert_int_equal(count_files(fx->dir, ".sst"), 4);     /* the inputs, no output */
        if (other_sst_contains(fx->dir, sst, "DAMAGED!"))
            fail_msg("case %d: the damaged value was copied into another file", c);
        am_close(db);

        /* Reopened (in the background mode: an inline open would run the failing merge
           again), a fresh reader verifies the block and reports the damage. */
        am_options bgo = fx->o;
        bgo.background_threads = 1;
        if (c == 1) {
            open_fails(fx->dir, &bgo, AM_ERR_CORRUPT, "file cut short");
            continue;
        }
        db = tu_open(fx->dir, &bgo);
        assert_int_equal(get_key(db, 300, 0), AM_ERR_CORRUPT);
        assert_non_null(strstr(am_errmsg(db), base));
        assert_int_equal(get_key(db, 100, 0), AM_OK);        /* other blocks read right */
        am_close(db);
    }
}

/* ---- MANIFEST ---- */

static void make_db_with_history(fixture *fx)
{
    tu_rmtree(fx->dir);
    am_db *db = tu_open(fx->dir, &fx->o);
    for (int f = 0; f < 3; f++) {                /* three flushes: three edits */
        put_keys(db, f * 100, f * 100 + 150, f);
        assert_int_equal(am_flush(db), AM_OK);
    }
    assert_int_equal(am_close(db), AM_OK);
    db = tu_open(fx->dir, &fx->o);               /* a fresh MANIFEST (snapshot) ... */
    put_keys(db, 500, 550, 3);
    assert_int_equal(am_flush(db), AM_OK);       /* ... and one more edit after it */
    assert_int_equal(am_close(db), AM_OK);
}

static void check_history(am_db *db)
{
    for (int i = 0; i < 550; i++) {
        int gen = i >= 500 ? 3 : i >= 200 ? 2 : i >= 100 ? 1 : 0;
        if (i >= 350 && i < 500) continue;
        int rc = get_key(db, i, gen);
        if (rc != AM_OK) fail_msg("key %d: %s", i, am_strerror(rc));
    }
}

static void test_manifest_flips(void **state)
{
    fixture *fx = *state;
    make_db_with_history(fx);
    char manifest[512];
    find_one(fx->dir, "MANIFEST-", 1, manifest, sizeof manifest);
    size_t n;
    char *orig = tu_read_file(manifest, &n);
    /* Every byte of a small MANIFEST, or a spread of them. */
    size_t step = n <= 400 ? 1 : n / 400 + 1;
    int tried = 0;
    for (size_t off = 0; off < n; off += step) {
        char ctx[64];
        snprintf(ctx, sizeof ctx, "MANIFEST byte %zu of %zu flipped", off, n);
        tu_flip_byte(manifest, off, 0x5a);
        const char *msg = open_fails(fx->dir, &fx->o, AM_ERR_CORRUPT, ctx);
        if (!strstr(msg, "MANIFEST")) fail_msg("%s: message does not name it: '%s'", ctx, msg);
        /* The failed open changed nothing: the same bytes are there. */
        size_t m;
        char *now = tu_read_file(manifest, &m);
        assert_int_equal(m, n);
        assert_int_equal(now[off], (char)(orig[off] ^ 0x5a));
        free(now);
        tu_write_file(manifest, orig, n);
        tried++;
    }
    assert_true(tried >= 50);
    am_db *db = tu_open(fx->dir, &fx->o);
    check_history(db);
    assert_int_equal(am_close(db), AM_OK);
    free(orig);
}

/* The last MANIFEST record is a flush's edit (no merge after it, so no later record and no
 * deleted file gives the damage away). Its log was deleted once the edit was durable, so
 * reading the damaged record as a torn tail would lose the flushed keys silently: the open
 * must fail instead. */
static void test_manifest_last_edit_flipped(void **state)
{
    fixture *fx = *state;
    fx->o.l0_compaction_trigger = 100;          /* flushes only: every edit adds a file */
    static const int back[] = { 1, 5, 20 };     /* bytes from the end of the file */
    for (size_t c = 0; c < sizeof back / sizeof back[0]; c++) {
        tu_rmtree(fx->dir);
        am_db *db = tu_open(fx->dir, &fx->o);
        put_keys(db, 0, 100, 0);
        assert_int_equal(am_flush(db), AM_OK);
        put_keys(db, 100, 200, 0);
        assert_int_equal(am_flush(db), AM_OK);   /* the last MANIFEST record */
        assert_int_equal(am_close(db), AM_OK);
        char manifest[512], wal[512];
        find_one(fx->dir, "MANIFEST-", 1, manifest, sizeof manifest);
        find_one(fx->dir, ".log", 0, wal, sizeof wal);
        assert_int_equal(tu_file_size(wal), 0);  /* keys 100..199 live only in the SSTable */
        size_t n = (size_t)tu_file_size(manifest);
        tu_flip_byte(manifest, n - (size_t)back[c], 0x5a);
        char msg[512] = "";
        db = NULL;
        int rc = am_open_msg(fx->dir, &fx->o, &db, msg, sizeof msg);
        if (rc == AM_OK) {
            int lost = 0;
            for (int i = 100; i < 200; i++) lost += get_key(db, i, 0) == AM_NOT_FOUND;
            am_close(db);
            fail_msg("MANIFEST byte %zu from the end flipped: open succeeded%s (%d of the 100 "
                     "keys of the last flush lost)", (size_t)back[c],
                     lost ? ", reading the damaged last edit as a torn tail" : "", lost);
        }
        assert_int_equal(rc, AM_ERR_CORRUPT);
        assert_null(db);
        if (!strstr(msg, "MANIFEST")) fail_msg("message does not name the MANIFEST: '%s'", msg);
    }
}

/* ---- WAL ---- */

enum { WAL_RECORDS = 100 };

/* A database whose log holds WAL_RECORDS puts (one record each), nothing flushed. Returns
 * the log's path and each record's start offset (offs[WAL_RECORDS] = file size). */
static void make_wal(fixture *fx, char *wal, size_t cap, size_t *offs)
{
    tu_rmtree(fx->dir);
    am_db *db = tu_open(fx->dir, &fx->o);
    put_keys(db, 0, WAL_RECORDS, 0);
    assert_int_equal(am_close(db), AM_OK);
    find_one(fx->dir, ".log", 0, wal, cap);
    size_t n;
    unsigned char *d = (unsigned char *)tu_read_file(wal, &n);
    size_t off = 0;
    for (int r = 0; r < WAL_RECORDS; r++) {
        offs[r] = off;
        assert_true(off + 9 <= n);
        uint32_t len = (uint32_t)d[off + 4] | (uint32_t)d[off + 5] << 8 |
                       (uint32_t)d[off + 6] << 16 | (uint32_t)d[off + 7] << 24;
        off += 9 + len;
    }
    assert_int_equal(off, n);                  /* exactly WAL_RECORDS records */
    offs[WAL_RECORDS] = n;
    free(d);
}

static void expect_first(am_db *db, int n, const char *ctx)
{
    for (int i = 0; i < WAL_RECORDS; i++) {
        int rc = get_key(db, i, 0);
        if (i < n && rc != AM_OK) fail_msg("%s: key %d lost: %s", ctx, i, am_strerror(rc));
        if (i >= n && rc != AM_NOT_FOUND) fail_msg("%s: key %d past the tear: %s", ctx, i,
                                                    am_strerror(rc));
    }
}

static void truncate_to(const char *path, size_t n)
{
    assert_int_equal(truncate(path, (off_t)n), 0);
}

static void test_wal_torn_tail(void **state)
{
    fixture *fx = *state;
    size_t offs[WAL_RECORDS + 1];
    char wal[512];
    /* Where to cut: inside record 50's header, inside its payload, exactly between records,
       in the last record, and nothing at all. */
    struct { const char *what; int rec; int delta; int keep; } cuts[] = {
        { "mid-header", 50, 4, 50 },
        { "one header byte", 50, 1, 50 },
        { "mid-payload", 50, 15, 50 },
        { "last payload byte missing", 50, -1, 49 },   /* delta from record 50's start */
        { "between records", 50, 0, 50 },
        { "inside the last record", WAL_RECORDS - 1, 12, WAL_RECORDS - 1 },
        { "empty log", 0, 0, 0 },
        { "whole log", WAL_RECORDS, 0, WAL_RECORDS },
    };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        make_wal(fx, wal, sizeof wal, offs);
        size_t at = (size_t)((long)offs[cuts[c].rec] + cuts[c].delta);
        truncate_to(wal, at);
        char ctx[96];
        snprintf(ctx, sizeof ctx, "log cut %s (at %zu)", cuts[c].what, at);
        am_db *db = tu_open(fx->dir, &fx->o);
        expect_first(db, cuts[c].keep, ctx);
        /* Life goes on: new writes, a reopen, all there. */
        put_keys(db, 200, 210, 0);
        assert_int_equal(am_close(db), AM_OK);
        db = tu_open(fx->dir, &fx->o);
        expect_first(db, cuts[c].keep, ctx);
        for (int i = 200; i < 210; i++) assert_int_equal(get_key(db, i, 0), AM_OK);
        assert_int_equal(am_close(db), AM_OK);
    }
    /* A zero-filled tail (preallocated, never written) is an end too. */
    make_wal(fx, wal, sizeof wal, offs);
    size_t n;
    char *d = tu_read_file(wal, &n);
    char *z = calloc(1, n + 4096);
    memcpy(z, d, n);
    tu_write_file(wal, z, n + 4096);
    free(d);
    free(z);
    am_db *db = tu_open(fx->dir, &fx->o);
    expect_first(db, WAL_RECORDS, "log with a zero tail");
    assert_int_equal(am_close(db), AM_OK);
}

static void test_wal_damage_before_the_end(void **state)
{
    fixture *fx = *state;
    size_t offs[WAL_RECORDS + 1];
    char wal[512];
    /* A damaged record with valid records after it is corruption, not a tear. */
    static const int deltas[] = { 0, 4, 8, 12, 20 };
    for (size_t c = 0; c < sizeof deltas / sizeof deltas[0]; c++) {
        make_wal(fx, wal, sizeof wal, offs);
        tu_flip_byte(wal, offs[30] + (size_t)deltas[c], 0x5a);
        char ctx[64];
        snprintf(ctx, sizeof ctx, "log record 30 byte %d flipped", deltas[c]);
        const char *msg = open_fails(fx->dir, &fx->o, AM_ERR_CORRUPT, ctx);
        if (!strstr(msg, ".log")) fail_msg("%s: message does not name the log: '%s'", ctx, msg);
    }
}

/* ---- CURRENT ---- */

static void test_current_garbage(void **state)
{
    fixture *fx = *state;
    make_db_with_history(fx);
    char cur[512];
    snprintf(cur, sizeof cur, "%s/CURRENT", fx->dir);
    size_t n;
    char *orig = tu_read_file(cur, &n);
    static const struct { const char *data; size_t n; } bad[] = {
        { "", 0 },
        { "\n", 1 },
        { "garbage\n", 8 },
        { "MANIFEST-000001", 15 },                 /* no newline */
        { "MANIFEST-999999\n", 16 },               /* names a missing file */
        { "MANIFEST-abc\n", 13 },
        { "MANIFEST-000\0001\n", 16 },
        { "000005.sst\n", 11 },
        { "../MANIFEST-000001\n", 19 },
    };
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        tu_write_file(cur, bad[c].data, bad[c].n);
        char ctx[64];
        snprintf(ctx, sizeof ctx, "CURRENT case %zu", c);
        const char *msg = open_fails(fx->dir, &fx->o, AM_ERR_CORRUPT, ctx);
        if (!strstr(msg, "CURRENT") && !strstr(msg, "MANIFEST"))
            fail_msg("%s: message names neither CURRENT nor MANIFEST: '%s'", ctx, msg);
    }
    tu_write_file(cur, orig, n);
    free(orig);
    am_db *db = tu_open(fx->dir, &fx->o);
    check_history(db);
    assert_int_equal(am_close(db), AM_OK);
}

/* ---- a missing SSTable ---- */

static void test_missing_sst(void **state)
{
    fixture *fx = *state;
    make_db_with_history(fx);
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    char names[16][64];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 16) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".sst") == 0)
            snprintf(names[nn++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    assert_true(nn >= 1);
    for (int i = 0; i < nn; i++) {
        char path[1400], aside[1400];
        snprintf(path, sizeof path, "%s/%s", fx->dir, names[i]);
        snprintf(aside, sizeof aside, "%s/%s", fx->base, names[i]);
        assert_int_equal(rename(path, aside), 0);
        const char *msg = open_fails(fx->dir, &fx->o, AM_ERR_CORRUPT, names[i]);
        if (!strstr(msg, names[i])) fail_msg("message does not name %s: '%s'", names[i], msg);
        assert_int_equal(rename(aside, path), 0);
    }
    am_db *db = tu_open(fx->dir, &fx->o);
    check_history(db);
    assert_int_equal(am_close(db), AM_OK);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(test_sst_block_flips),
        T(test_sst_truncated),
        T(test_sst_out_of_order_compaction),
        T(test_damage_while_open_not_laundered),
        T(test_manifest_flips),
        T(test_manifest_last_edit_flipped),
        T(test_wal_torn_tail),
        T(test_wal_damage_before_the_end),
        T(test_current_garbage),
        T(test_missing_sst),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
