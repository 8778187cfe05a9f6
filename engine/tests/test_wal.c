/* test_wal.c: the log writer and reader (engine/wal/wal.h): roundtrip of records of many
 * sizes (and the offset the reader reports for each), a torn tail at every cut of the last record, flipped bytes in a middle record,
 * zero-filled tails, and the writer's sticky error (through the fault env). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "amethyst.h"
#include "util/env.h"
#include "util/env_fault.h"
#include "wal/wal.h"
#include "testutil.h"

typedef struct fixture {
    char dir[256];
    char path[300];
    am_env *env;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_tempdir(f->dir, sizeof f->dir, "wal");
    snprintf(f->path, sizeof f->path, "%s/000001.log", f->dir);
    f->env = am_env_posix_new();
    assert_non_null(f->env);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    am_env_posix_free(f->env);
    free(f);
    return 0;
}

/* Record i of a test log: its size comes from the list, its bytes from (seed, i). */
static void fill_record(char *p, size_t n, uint64_t seed, size_t i)
{
    tu_rng r = { seed * 1000003u + i };
    for (size_t j = 0; j < n; j++) p[j] = (char)tu_next(&r);
}

/* Writes records of the given sizes; returns the offset where each starts (plus the end
 * at index count), malloc'd. */
static uint64_t *write_log(fixture *f, const size_t *sizes, size_t count, uint64_t seed)
{
    wal_writer *w = NULL;
    assert_int_equal(wal_writer_open(f->env, f->path, &w), AM_OK);
    assert_non_null(w);
    uint64_t *offs = malloc((count + 1) * sizeof *offs);
    size_t maxn = 1;
    for (size_t i = 0; i < count; i++) if (sizes[i] > maxn) maxn = sizes[i];
    char *buf = malloc(maxn);
    assert_non_null(offs);
    assert_non_null(buf);
    for (size_t i = 0; i < count; i++) {
        offs[i] = wal_writer_size(w);
        fill_record(buf, sizes[i], seed, i);
        assert_int_equal(wal_writer_add(w, buf, sizes[i]), AM_OK);
        assert_int_equal(wal_writer_size(w), offs[i] + WAL_HEADER + sizes[i]);
    }
    offs[count] = wal_writer_size(w);
    assert_int_equal(wal_writer_sync(w), AM_OK);
    assert_int_equal(wal_writer_close(w), AM_OK);
    free(buf);
    return offs;
}

/* Reads the log and checks it holds records 0 .. good-1 of (sizes, seed) and then ends
 * with want_rc (AM_NOT_FOUND or AM_ERR_CORRUPT); for AM_NOT_FOUND, also the torn flag
 * and the valid length. */
static void expect_log(fixture *f, const size_t *sizes, size_t good, uint64_t seed,
                       int want_rc, int want_torn, uint64_t want_valid)
{
    wal_reader *r = NULL;
    assert_int_equal(wal_reader_open(f->env, f->path, &r), AM_OK);
    assert_non_null(r);
    size_t maxn = 1;
    for (size_t i = 0; i < good; i++) if (sizes[i] > maxn) maxn = sizes[i];
    char *want = malloc(maxn);
    assert_non_null(want);
    const char *rec;
    size_t n;
    for (size_t i = 0; i < good; i++) {
        int rc = wal_reader_next(r, &rec, &n);
        if (rc != AM_OK) fail_msg("record %zu of %zu: status %d", i, good, rc);
        assert_int_equal(n, sizes[i]);
        fill_record(want, n, seed, i);
        if (n) assert_memory_equal(rec, want, n);
    }
    int rc = wal_reader_next(r, &rec, &n);
    if (rc != want_rc) fail_msg("after %zu records: status %d, want %d", good, rc, want_rc);
    assert_null(rec);
    assert_int_equal(wal_reader_next(r, &rec, &n), want_rc);     /* the end is sticky */
    if (want_rc == AM_NOT_FOUND) {
        uint64_t valid = 0;
        assert_int_equal(wal_reader_torn(r, &valid), want_torn);
        assert_int_equal(valid, want_valid);
    }
    free(want);
    wal_reader_close(r);
}

/* Many records of random sizes, incl. empty ones and ones larger than the reader's
 * chunk, come back exactly. */
static void test_roundtrip(void **state)
{
    fixture *f = *state;
    enum { N = 300 };
    size_t sizes[N];
    tu_rng rng = { 2024 };
    for (size_t i = 0; i < N; i++) {
        uint64_t pick = tu_below(&rng, 100);
        sizes[i] = pick < 10 ? 0 : pick < 80 ? (size_t)tu_below(&rng, 2000)
                 : pick < 97 ? (size_t)tu_below(&rng, 70000) : (size_t)tu_below(&rng, 600000);
    }
    sizes[0] = 0;
    sizes[N / 2] = 3u << 20;                    /* needs the reader's buffer to grow */
    sizes[N - 1] = 0;                           /* an empty record last */
    uint64_t *offs = write_log(f, sizes, N, 1);
    uint64_t fsize = 0;
    assert_int_equal(f->env->ops->file_size(f->env, f->path, &fsize), AM_OK);
    assert_int_equal(fsize, offs[N]);
    expect_log(f, sizes, N, 1, AM_NOT_FOUND, 0, offs[N]);
    /* Each record's offset, as the reader reports it for messages. */
    wal_reader *r = NULL;
    assert_int_equal(wal_reader_open(f->env, f->path, &r), AM_OK);
    assert_int_equal(wal_reader_offset(r), 0);
    const char *rec;
    size_t n;
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(wal_reader_next(r, &rec, &n), AM_OK);
        assert_int_equal(wal_reader_offset(r), offs[i]);
    }
    assert_int_equal(wal_reader_next(r, &rec, &n), AM_NOT_FOUND);
    assert_int_equal(wal_reader_offset(r), offs[N - 1]);      /* still the last returned */
    wal_reader_close(r);
    free(offs);
}

static void test_empty_log(void **state)
{
    fixture *f = *state;
    uint64_t *offs = write_log(f, NULL, 0, 0);
    assert_int_equal(offs[0], 0);
    expect_log(f, NULL, 0, 0, AM_NOT_FOUND, 0, 0);
    free(offs);
}

/* The exact bytes of one record, as docs/format.md describes them. */
static void test_framing_bytes(void **state)
{
    fixture *f = *state;
    wal_writer *w;
    assert_int_equal(wal_writer_open(f->env, f->path, &w), AM_OK);
    assert_int_equal(wal_writer_add(w, "abc", 3), AM_OK);
    assert_int_equal(wal_writer_close(w), AM_OK);
    size_t n;
    char *p = tu_read_file(f->path, &n);
    assert_int_equal(n, WAL_HEADER + 3);
    /* crc32c("\x01abc"), computed independently (bitwise, reflected 0x82f63b78). */
    uint32_t crc = 0xffffffffu;
    const unsigned char in[] = { 1, 'a', 'b', 'c' };
    for (size_t i = 0; i < 4; i++) {
        crc ^= in[i];
        for (int b = 0; b < 8; b++) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    crc ^= 0xffffffffu;
    uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    unsigned char want[WAL_HEADER + 3] = {
        (unsigned char)masked, (unsigned char)(masked >> 8), (unsigned char)(masked >> 16),
        (unsigned char)(masked >> 24), 3, 0, 0, 0, 1, 'a', 'b', 'c' };
    assert_memory_equal(p, want, sizeof want);
    free(p);
}

/* Cutting the file anywhere inside the last record leaves the records before it, and
 * the end is reported as a torn tail at the start of the last record. */
static void check_every_cut(fixture *f, const size_t *sizes, size_t count, size_t step)
{
    uint64_t *offs = write_log(f, sizes, count, 9);
    size_t n;
    char *full = tu_read_file(f->path, &n);
    uint64_t last = offs[count - 1];
    /* Cuts: the start of the last record (a clean end), every byte of its header, every
       step-th byte of the rest, and its last byte. */
    for (uint64_t cut = last; cut < n; ) {
        tu_write_file(f->path, full, (size_t)cut);
        expect_log(f, sizes, count - 1, 9, AM_NOT_FOUND, cut != last, last);
        if (cut == n - 1) break;
        cut = cut < last + WAL_HEADER + 1 ? cut + 1 : cut + step;
        if (cut > n - 1) cut = n - 1;
    }
    tu_write_file(f->path, full, n);
    expect_log(f, sizes, count, 9, AM_NOT_FOUND, 0, n);
    free(full);
    free(offs);
}

static void test_torn_tail_every_cut(void **state)
{
    fixture *f = *state;
    static const size_t small[] = { 10, 0, 50, 200, 300 };
    check_every_cut(f, small, 5, 1);                        /* every byte of the last */
    static const size_t empty_last[] = { 7, 0 };
    check_every_cut(f, empty_last, 2, 1);                   /* a cut header only */
    static const size_t big_last[] = { 100, 300000, 700000 };
    check_every_cut(f, big_last, 3, 4099);                  /* spans read chunks */
}

/* One byte of the middle record flipped, at every position of the record. A flip in the
 * length that sends the record's end past the end of the file looks like a torn tail
 * (the format cannot tell); every other flip is corruption. */
static void test_flipped_byte_in_middle(void **state)
{
    fixture *f = *state;
    static const size_t sizes[] = { 40, 100, 60 };
    uint64_t *offs = write_log(f, sizes, 3, 5);
    size_t n;
    char *full = tu_read_file(f->path, &n);
    char *copy = malloc(n);
    assert_non_null(copy);
    uint64_t mid = offs[1];
    int corrupt = 0, torn = 0;
    for (uint64_t at = mid; at < offs[2]; at++) {
        for (int mask = 0x01; mask <= 0x80; mask <<= 7) {          /* 0x01 and 0x80 */
            memcpy(copy, full, n);
            copy[at] ^= (char)mask;
            tu_write_file(f->path, copy, n);
            uint32_t len = dec_fixed32(copy + mid + 4);
            if (mid + WAL_HEADER + len > n) {
                expect_log(f, sizes, 1, 5, AM_NOT_FOUND, 1, mid);
                torn++;
            } else {
                expect_log(f, sizes, 1, 5, AM_ERR_CORRUPT, 0, 0);
                corrupt++;
            }
        }
    }
    assert_true(corrupt >= 2 * 100);            /* every payload flip at least */
    assert_true(torn >= 1);

    /* The message names the file and the offset. */
    memcpy(copy, full, n);
    copy[mid + WAL_HEADER + 3] ^= 0x10;
    tu_write_file(f->path, copy, n);
    wal_reader *r;
    const char *rec;
    size_t rn;
    assert_int_equal(wal_reader_open(f->env, f->path, &r), AM_OK);
    assert_int_equal(wal_reader_next(r, &rec, &rn), AM_OK);
    assert_int_equal(wal_reader_next(r, &rec, &rn), AM_ERR_CORRUPT);
    char msg[512], want[64];
    am_env_last_error(f->env, msg, sizeof msg);
    snprintf(want, sizeof want, "offset %llu", (unsigned long long)mid);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, f->path));
    assert_int_equal(wal_reader_torn(r, NULL), 0);
    wal_reader_close(r);

    /* A bad checksum in the LAST record is what a power cut leaves of an unsynced append:
       nothing follows it, so it is a torn tail and the records before it are kept. */
    memcpy(copy, full, n);
    copy[n - 1] ^= 0x01;
    tu_write_file(f->path, copy, n);
    expect_log(f, sizes, 2, 5, AM_NOT_FOUND, 1, offs[2]);
    free(copy);
    free(full);
    free(offs);
}

/* Zeros after the last record (space a crash left allocated but unwritten) are a torn
 * tail; zeros followed by anything else are corruption. Data-driven: (zeros, trailer). */
static void test_zero_filled_tail(void **state)
{
    fixture *f = *state;
    static const size_t sizes[] = { 33, 0, 1000 };
    uint64_t *offs = write_log(f, sizes, 3, 3);
    size_t n;
    char *full = tu_read_file(f->path, &n);
    static const struct { size_t zeros; int trailer; int rc; int torn; } cases[] = {
        { 1, -1, AM_NOT_FOUND, 1 },
        { 8, -1, AM_NOT_FOUND, 1 },
        { 9, -1, AM_NOT_FOUND, 1 },
        { 10, -1, AM_NOT_FOUND, 1 },
        { 4096, -1, AM_NOT_FOUND, 1 },
        { 600000, -1, AM_NOT_FOUND, 1 },        /* longer than one read chunk */
        { 3, 'x', AM_NOT_FOUND, 1 },            /* 4 bytes: a cut header */
        { 9, 'x', AM_ERR_CORRUPT, 0 },
        { 4000, 'x', AM_ERR_CORRUPT, 0 },
        { 600000, 'x', AM_ERR_CORRUPT, 0 },     /* the non-zero byte is in a later chunk */
        { 0, 'x', AM_NOT_FOUND, 1 },            /* one garbage byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t tn = n + cases[i].zeros + (cases[i].trailer >= 0);
        char *p = calloc(1, tn);
        assert_non_null(p);
        memcpy(p, full, n);
        if (cases[i].trailer >= 0) p[tn - 1] = (char)cases[i].trailer;
        tu_write_file(f->path, p, tn);
        expect_log(f, sizes, 3, 3, cases[i].rc, cases[i].torn, offs[3]);
        free(p);
    }
    free(full);
    free(offs);
}

/* What a process killed in the middle of a mapped append leaves (env.h, open_log): the
 * record's first 8 bytes (crc, length) whole, any subset of its other bytes, and zeros
 * (reserved space) after it. Every such state is a torn tail that keeps the records before
 * it; a non-zero byte after the record's declared end is corruption instead. */
static void test_killed_mapped_append(void **state)
{
    fixture *f = *state;
    static const size_t sizes[] = { 33, 0, 1000, 500 };
    uint64_t *offs = write_log(f, sizes, 4, 11);
    size_t n;
    char *full = tu_read_file(f->path, &n);
    assert_int_equal(n, offs[4]);
    const size_t reserve = 70000;              /* zeros after the record */
    size_t rec = (size_t)offs[3], body = rec + 8, tn = n + reserve;
    tu_rng rng = { 5 };
    for (int c = 0; c < 200; c++) {
        char *p = calloc(1, tn);
        assert_non_null(p);
        memcpy(p, full, body);                 /* earlier records + the 8-byte head */
        for (size_t j = body; j < n; j++) {    /* a prefix, or a random subset, of the rest */
            int keep = c < 100 ? j < body + (size_t)c * 5 : (int)(tu_next(&rng) & 1);
            if (keep) p[j] = full[j];
        }
        if (c == 0) memset(p + rec, 0, 8);     /* killed before even the head */
        tu_write_file(f->path, p, tn);
        expect_log(f, sizes, 3, 11, AM_NOT_FOUND, 1, offs[3]);
        p[n + reserve / 2] = 'x';              /* something was appended after it */
        tu_write_file(f->path, p, tn);
        if (c > 0) expect_log(f, sizes, 3, 11, AM_ERR_CORRUPT, 0, 0);
        free(p);
    }
    free(full);
    free(offs);
}

static void test_open_missing(void **state)
{
    fixture *f = *state;
    wal_reader *r = (wal_reader *)1;
    assert_true(wal_reader_open(f->env, f->path, &r) < 0);
    assert_null(r);
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.log", f->dir);
    wal_writer *w = (wal_writer *)1;
    assert_true(wal_writer_open(f->env, bad, &w) < 0);
    assert_null(w);
    wal_reader_close(NULL);
    assert_int_equal(wal_writer_close(NULL), AM_OK);
}

/* A failed append makes the writer refuse every later add and sync; an oversized record
 * is refused without harm. Then a power cut keeps exactly the synced records. */
static void test_writer_errors_and_power_cut(void **state)
{
    fixture *f = *state;
    am_env *fe = am_env_fault_new(f->env);
    assert_non_null(fe);
    wal_writer *w;
    assert_int_equal(wal_writer_open(fe, f->path, &w), AM_OK);
    assert_int_equal(env_sync_dir(fe, f->dir), AM_OK);     /* else a power cut drops it */
    static const size_t sizes[] = { 10, 20, 30, 40 };
    char buf[64];
    for (size_t i = 0; i < 3; i++) {
        fill_record(buf, sizes[i], 4, i);
        assert_int_equal(wal_writer_add(w, buf, sizes[i]), AM_OK);
    }
    assert_int_equal(wal_writer_add(w, buf, (size_t)WAL_MAX_RECORD + 1), AM_ERR_INVALID);
    assert_int_equal(wal_writer_sync(w), AM_OK);
    uint64_t synced = wal_writer_size(w);
    fill_record(buf, sizes[3], 4, 3);
    assert_int_equal(wal_writer_add(w, buf, sizes[3]), AM_OK);      /* never synced */

    uint64_t appends = fault_env_count(fe, FAULT_WRITE);
    fault_env_fail_nth(fe, FAULT_WRITE, 1, AM_ERR_NOSPACE, 0);
    assert_int_equal(wal_writer_add(w, buf, 5), AM_ERR_NOSPACE);
    fault_env_fail_nth(fe, FAULT_WRITE, 0, 0, 0);
    assert_int_equal(wal_writer_add(w, buf, 5), AM_ERR_NOSPACE);     /* sticky */
    assert_int_equal(wal_writer_sync(w), AM_ERR_NOSPACE);
    assert_int_equal(fault_env_count(fe, FAULT_WRITE), appends + 1); /* no more appends */
    assert_int_equal(wal_writer_close(w), AM_OK);

    assert_int_equal(fault_env_power_cut(fe), AM_OK);
    expect_log(f, sizes, 3, 4, AM_NOT_FOUND, 0, synced);
    am_env_fault_free(fe);
}

/* One env append per record, header and payload together. */
static void test_one_append_per_record(void **state)
{
    fixture *f = *state;
    am_env *fe = am_env_fault_new(f->env);
    assert_non_null(fe);
    wal_writer *w;
    assert_int_equal(wal_writer_open(fe, f->path, &w), AM_OK);
    uint64_t before = fault_env_count(fe, FAULT_WRITE);
    char buf[5000] = {0};
    for (size_t i = 0; i < 10; i++) assert_int_equal(wal_writer_add(w, buf, i * 500), AM_OK);
    assert_int_equal(fault_env_count(fe, FAULT_WRITE), before + 10);
    assert_int_equal(wal_writer_close(w), AM_OK);
    am_env_fault_free(fe);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_roundtrip),
        T(test_empty_log),
        T(test_framing_bytes),
        T(test_torn_tail_every_cut),
        T(test_flipped_byte_in_middle),
        T(test_zero_filled_tail),
        T(test_killed_mapped_append),
        T(test_open_missing),
        T(test_writer_errors_and_power_cut),
        T(test_one_append_per_record),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
