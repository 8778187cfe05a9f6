/* testutil_recovery.c: directory pictures, refused opens, log files record by record and
 * the reproduction database, for the recovery tests (testutil_recovery.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "testutil_db.h"
#include "testutil_recovery.h"
#include "wal/wal.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *tu_dir_picture(const char *dir, int data_only)
{
    char *names[256];
    size_t n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t len = strlen(e->d_name);
        if (data_only && (len < 4 || (strcmp(e->d_name + len - 4, ".log") &&
                                      strcmp(e->d_name + len - 4, ".sst"))))
            continue;
        assert_true(n < 256);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    size_t cap = 64 + n * 320, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t sz;
        char *data = tu_read_file(path, &sz);
        uint64_t h = sz;
        for (size_t j = 0; j < sz; j++) h = tu_mix(h ^ (unsigned char)data[j]);
        free(data);
        len += (size_t)snprintf(out + len, cap - len, "%s %zu %016llx\n", names[i], sz,
                                (unsigned long long)h);
        free(names[i]);
    }
    return out;
}

void tu_open_refused(const char *dir, const am_options *o, const char *const *want,
                     int data_only, const char *ctx)
{
    char *before = tu_dir_picture(dir, data_only);
    char msg[512] = "";
    am_db *db = (am_db *)1;
    int rc = am_open_msg(dir, o, &db, msg, sizeof msg);
    if (rc != AM_ERR_CORRUPT) {
        if (rc == AM_OK) {
            void *v = NULL;
            size_t vn = 0;
            int g = am_get(db, NULL, "key0000", 7, &v, &vn);
            fail_msg("%s: open succeeded (key0000: %s '%.*s')", ctx, am_strerror(g),
                     g == AM_OK ? (int)vn : 0, g == AM_OK ? (char *)v : "");
        }
        fail_msg("%s: open gave %s (%s), want corruption", ctx, am_strerror(rc), msg);
    }
    assert_null(db);
    for (size_t i = 0; want[i]; i++)
        if (!strstr(msg, want[i])) fail_msg("%s: message lacks '%s': '%s'", ctx, want[i], msg);
    char *after = tu_dir_picture(dir, data_only);
    if (strcmp(before, after) != 0)
        fail_msg("%s: the refused open changed the directory:\nbefore:\n%safter:\n%s", ctx,
                 before, after);
    free(before);
    free(after);
}

void tu_find_last(const char *dir, const char *pat, int suffix, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    unsigned long long best = 0;
    int found = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name), pn = strlen(pat);
        int hit = n >= pn && (suffix ? strcmp(e->d_name + n - pn, pat) == 0
                                     : strncmp(e->d_name, pat, pn) == 0);
        if (!hit) continue;
        unsigned long long num = strtoull(e->d_name + (suffix ? 0 : pn), NULL, 10);
        if (!found || num > best) {
            best = num;
            snprintf(out, cap, "%s/%s", dir, e->d_name);
        }
        found = 1;
    }
    closedir(d);
    if (!found) fail_msg("no %s file in %s", pat, dir);
}

const char *tu_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

size_t tu_record_offsets(const char *path, uint64_t *offs, size_t max, uint64_t *end)
{
    size_t n;
    unsigned char *d = (unsigned char *)tu_read_file(path, &n);
    size_t off = 0, k = 0;
    while (off + 9 <= n && k < max) {
        uint32_t len = (uint32_t)d[off + 4] | (uint32_t)d[off + 5] << 8 |
                       (uint32_t)d[off + 6] << 16 | (uint32_t)d[off + 7] << 24;
        if (d[off + 8] != 1 || off + 9 + len > n) break;
        offs[k++] = off;
        off += 9 + len;
    }
    free(d);
    if (end) *end = off;
    return k;
}

tu_records tu_read_records(am_env *env, const char *path)
{
    tu_records rs = { 0 };
    wal_reader *r = NULL;
    assert_int_equal(wal_reader_open(env, path, &r), AM_OK);
    const char *rec;
    size_t n, cap = 0;
    while (wal_reader_next(r, &rec, &n) == AM_OK) {
        if (rs.count == cap) {
            cap = cap ? cap * 2 : 64;
            rs.p = realloc(rs.p, cap * sizeof *rs.p);
            rs.n = realloc(rs.n, cap * sizeof *rs.n);
            assert_true(rs.p && rs.n);
        }
        rs.p[rs.count] = malloc(n ? n : 1);
        memcpy(rs.p[rs.count], rec, n);
        rs.n[rs.count++] = n;
    }
    wal_reader_close(r);
    return rs;
}

void tu_records_free(tu_records *rs)
{
    for (size_t i = 0; i < rs->count; i++) free(rs->p[i]);
    free(rs->p);
    free(rs->n);
}

uint64_t tu_write_records(am_env *env, const char *path, const tu_records *rs,
                          const size_t *order, size_t n, size_t at)
{
    static const char empty_batch[12] = { 0 };    /* sequence 0, count 0 */
    wal_writer *w = NULL;
    uint64_t off = 0;
    assert_int_equal(wal_writer_open(env, path, &w), AM_OK);
    for (size_t i = 0; i < n; i++) {
        if (i == at) off = wal_writer_size(w);
        if (order[i] == rs->count) assert_int_equal(wal_writer_add(w, empty_batch, 12), AM_OK);
        else assert_int_equal(wal_writer_add(w, rs->p[order[i]], rs->n[order[i]]), AM_OK);
    }
    assert_int_equal(wal_writer_sync(w), AM_OK);
    assert_int_equal(wal_writer_close(w), AM_OK);
    return off;
}

void tu_put_str(am_db *db, const char *k, const char *v)
{
    int rc = am_put(db, k, strlen(k), v, strlen(v));
    if (rc != AM_OK) fail_msg("put %s: %s", k, am_strerror(rc));
}

void tu_expect_str(am_db *db, const char *k, const char *want, const char *ctx)
{
    void *v = NULL;
    size_t vn = 0;
    int rc = am_get(db, NULL, k, strlen(k), &v, &vn);
    if (!want) {
        if (rc != AM_NOT_FOUND) fail_msg("%s: %s: want not found, got %s", ctx, k, am_strerror(rc));
        return;
    }
    if (rc != AM_OK) fail_msg("%s: get %s: %s (%s)", ctx, k, am_strerror(rc), am_errmsg(db));
    if (vn != strlen(want) || memcmp(v, want, vn) != 0)
        fail_msg("%s: %s: want '%s', got '%.*s'", ctx, k, want, (int)vn, (char *)v);
    am_free(v);
}

void tu_put_500(am_db *db, const char *first)
{
    char k[16], v[16];
    tu_put_str(db, "key0000", first);
    for (int i = 1; i < 500; i++) {
        snprintf(k, sizeof k, "key%04d", i);
        snprintf(v, sizeof v, "v%d", i);
        tu_put_str(db, k, v);
    }
}

void tu_expect_500(am_db *db, const char *first, const char *ctx)
{
    char k[16], v[16];
    tu_expect_str(db, "key0000", first, ctx);
    for (int i = 1; i < 500; i++) {
        snprintf(k, sizeof k, "key%04d", i);
        snprintf(v, sizeof v, "v%d", i);
        tu_expect_str(db, k, v, ctx);
    }
}

void tu_two_flushes(const char *dir, const am_options *o, char *newest_sst, size_t cap)
{
    tu_rmtree(dir);
    am_db *db = tu_open(dir, o);
    tu_put_500(db, "old");
    assert_int_equal(am_flush(db), AM_OK);
    tu_put_str(db, "key0000", "new");
    assert_int_equal(am_flush(db), AM_OK);
    assert_int_equal(am_close(db), AM_OK);
    tu_find_last(dir, ".sst", 1, newest_sst, cap);
}
