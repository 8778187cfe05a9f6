/* test_crash.c: crash recovery under SIGKILL. A child process writes through the public
 * API a deterministic sequence of operations (single puts, deletes, and batches), and after
 * each acknowledged write records its index in a file with pwrite(2). The parent kills the
 * child with SIGKILL at a random moment (20..300 ms in), reopens the database and checks it
 * holds exactly the state after the last acknowledged operation, or after the one that was
 * in flight (a batch entirely or not at all); nothing else, nothing wrong. The next child
 * resumes the sequence after the last acknowledged operation. A tiny memtable keeps flushes
 * and compactions running when the kill lands, and some kills land in recovery itself.
 * Runs with sync_wal 0 and 1 (a killed process loses nothing it wrote either way: the page
 * cache survives it), for every strategy named in `strategies`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"

static const char *const strategies[] = {
    "leveled",
    "triangular",
};
#define NSTRATEGIES (sizeof strategies / sizeof strategies[0])

enum {
    NKEYS = 2000,
    MAX_BATCH = 12,
    MAX_VALUE = 400,
    CHILD_MAX_OPS = 2000000,     /* a child that is never killed still stops */
};

/* ---- the deterministic operation sequence ---- */

/* One record of an operation: key and tag (0: delete; else what the value encodes). */
typedef struct rec {
    uint32_t key;
    uint64_t tag;
} rec;

/* Operation i of the sequence: 1 record (put or delete) or a batch of 2..MAX_BATCH.
 * Returns the number of records. */
static int op_records(uint64_t seed, uint64_t i, rec *out)
{
    uint64_t h = tu_mix(seed ^ (i * 0x9e3779b97f4a7c15ull));
    int n = h % 100 < 80 ? 1 : 2 + (int)((h >> 8) % (MAX_BATCH - 1));
    for (int j = 0; j < n; j++) {
        uint64_t x = tu_mix(h + (uint64_t)j + 1);
        /* Batches stay near one key half the time, so they touch neighbours and repeats. */
        out[j].key = j > 0 && (x & 1) ? (out[j - 1].key + (uint32_t)((x >> 1) % 3)) % NKEYS
                                       : (uint32_t)((x >> 8) % NKEYS);
        out[j].tag = (x >> 40) % 8 == 0 ? 0 : ((i + 1) << 8) | (uint64_t)j;
    }
    return n;
}

static void keyname(char *buf, uint32_t k) { snprintf(buf, 16, "c%05u", k); }

/* The value of a key with a tag: the tag, the key, then bytes derived from both. */
static size_t make_value(uint32_t key, uint64_t tag, unsigned char *out)
{
    uint64_t h = tu_mix(tag * 31 + key);
    size_t n = 12 + (size_t)(h % (MAX_VALUE - 12));
    memcpy(out, &tag, 8);
    memcpy(out + 8, &key, 4);
    for (size_t i = 12; i < n; i++) out[i] = (unsigned char)(tu_mix(h + i / 8) >> (8 * (i % 8)));
    return n;
}

/* The reference: the tag of every key (0: absent). */
static void apply_op(uint64_t seed, uint64_t i, uint64_t *state)
{
    rec r[MAX_BATCH];
    int n = op_records(seed, i, r);
    for (int j = 0; j < n; j++) state[r[j].key] = r[j].tag;
}

/* ---- the child ---- */

typedef struct config {
    const char *strategy;
    int sync_wal;
    int bg;
    uint64_t seed;
} config;

static void set_options(am_options *o, const config *c)
{
    tu_small_options(o, c->bg);
    o->strategy = c->strategy;
    o->sync_wal = c->sync_wal;
    o->l1_target_bytes = 256u << 10;
    o->level_fanout = 4;
}

static void child_die(int code, const char *what, int rc, am_db *db)
{
    fprintf(stderr, "crash child: %s: %s (%s)\n", what, am_strerror(rc), db ? am_errmsg(db) : "");
    _exit(code);
}

/* Writes operations start, start+1, ... recording each acknowledged index at offset 0 of
 * ackfd. Never returns. */
static void child_main(const char *dir, const config *c, uint64_t start, int ackfd)
{
    am_options o;
    set_options(&o, c);
    am_db *db = NULL;
    char msg[512];
    int rc = am_open_msg(dir, &o, &db, msg, sizeof msg);
    if (rc != AM_OK) {
        fprintf(stderr, "crash child: open: %s\n", msg);
        _exit(3);
    }
    am_batch *b = am_batch_new();
    if (!b) _exit(5);
    unsigned char v[MAX_VALUE];
    for (uint64_t i = start; i < start + CHILD_MAX_OPS; i++) {
        rec r[MAX_BATCH];
        char k[16];
        int n = op_records(c->seed, i, r);
        if (n == 1) {
            keyname(k, r[0].key);
            if (r[0].tag == 0) rc = am_delete(db, k, strlen(k));
            else rc = am_put(db, k, strlen(k), v, make_value(r[0].key, r[0].tag, v));
        } else {
            am_batch_clear(b);
            for (int j = 0; j < n; j++) {
                keyname(k, r[j].key);
                if (r[j].tag == 0) rc = am_batch_delete(b, k, strlen(k));
                else rc = am_batch_put(b, k, strlen(k), v, make_value(r[j].key, r[j].tag, v));
                if (rc != AM_OK) child_die(6, "batch", rc, db);
            }
            rc = am_write(db, b, 0);
        }
        if (rc != AM_OK) child_die(4, "write", rc, db);
        if (pwrite(ackfd, &i, sizeof i, 0) != (ssize_t)sizeof i) _exit(7);
        if (tu_mix(i ^ 0xf1u) % 3000 == 0 && (rc = am_flush(db)) != AM_OK)
            child_die(8, "am_flush", rc, db);
    }
    _exit(0);
}

/* ---- the parent ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

typedef struct verdict {
    int match_a, match_b;
    uint32_t diff_a, diff_b;          /* first key that differs from each state */
} verdict;

/* Reads the whole database (one scan, then gets of a sample) into got[] as tags, checking
 * each value's bytes; fails on a value that is not one the sequence ever wrote. */
static void read_state(am_db *db, uint64_t *got, const char *ctx)
{
    memset(got, 0, NKEYS * sizeof *got);
    am_iter *it = am_iter_new(db, NULL);
    assert_non_null(it);
    unsigned char want[MAX_VALUE];
    long prev = -1;
    for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it)) {
        size_t kn, vn;
        const char *k = am_iter_key(it, &kn);
        const unsigned char *v = am_iter_value(it, &vn);
        char kb[16];
        if (kn != 6 || k[0] != 'c') fail_msg("%s: stray key of %zu bytes", ctx, kn);
        memcpy(kb, k, 6);
        kb[6] = 0;
        long key = strtol(kb + 1, NULL, 10);
        if (key <= prev || key >= NKEYS) fail_msg("%s: key %s out of order", ctx, kb);
        prev = key;
        uint64_t tag;
        uint32_t vkey;
        if (vn < 12) fail_msg("%s: key %s has a %zu-byte value", ctx, kb, vn);
        memcpy(&tag, v, 8);
        memcpy(&vkey, v + 8, 4);
        if (vkey != (uint32_t)key || tag == 0)
            fail_msg("%s: key %s holds a value written for key %u", ctx, kb, vkey);
        size_t n = make_value((uint32_t)key, tag, want);
        if (n != vn || memcmp(want, v, n) != 0)
            fail_msg("%s: key %s: damaged value (tag %llx)", ctx, kb, (unsigned long long)tag);
        got[key] = tag;
    }
    if (am_iter_status(it) != AM_OK)
        fail_msg("%s: scan failed: %s (%s)", ctx, am_strerror(am_iter_status(it)), am_errmsg(db));
    am_iter_free(it);
    /* Point lookups agree with the scan. */
    for (uint32_t key = 0; key < NKEYS; key += 13) {
        char k[16];
        keyname(k, key);
        unsigned char buf[MAX_VALUE];
        size_t vn = 0;
        int rc = am_get_into(db, NULL, k, strlen(k), buf, sizeof buf, &vn);
        if (got[key] == 0 && rc != AM_NOT_FOUND)
            fail_msg("%s: get %s: %s, but the scan did not show it", ctx, k, am_strerror(rc));
        if (got[key] != 0) {
            if (rc != AM_OK) fail_msg("%s: get %s: %s", ctx, k, am_strerror(rc));
            uint64_t tag;
            memcpy(&tag, buf, 8);
            if (tag != got[key]) fail_msg("%s: get %s disagrees with the scan", ctx, k);
        }
    }
}

static verdict compare(const uint64_t *got, const uint64_t *a, const uint64_t *b)
{
    verdict v = { 1, 1, 0, 0 };
    for (uint32_t k = 0; k < NKEYS; k++) {
        if (v.match_a && got[k] != a[k]) { v.match_a = 0; v.diff_a = k; }
        if (v.match_b && got[k] != b[k]) { v.match_b = 0; v.diff_b = k; }
    }
    return v;
}

static void crash_rounds(const config *c, int rounds)
{
    char dir[256], ackpath[300];
    tu_tempdir(dir, sizeof dir, "crash");
    char dbdir[300];
    snprintf(dbdir, sizeof dbdir, "%s/db", dir);
    snprintf(ackpath, sizeof ackpath, "%s/ack", dir);
    uint64_t *state = calloc(NKEYS, sizeof *state);      /* after ops 0..acked */
    uint64_t *next = calloc(NKEYS, sizeof *next);        /* after op acked+1 too */
    uint64_t *got = calloc(NKEYS, sizeof *got);
    assert_non_null(state);
    assert_non_null(next);
    assert_non_null(got);
    int64_t acked = -1;                                  /* last acknowledged op */
    uint64_t total_in_flight_durable = 0;
    tu_rng r = { c->seed ^ 0xc0ffee };
    am_options o;
    set_options(&o, c);
    /* The first child creates the database: a kill may land inside that first am_open. */
    for (int round = 0; round < rounds; round++) {
        int fd = open(ackpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, &acked, sizeof acked, 0), (ssize_t)sizeof acked);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) child_main(dbdir, c, (uint64_t)(acked + 1), fd);
        long ms = 20 + (long)tu_below(&r, 281);
        sleep_ms(ms);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("%s sync_wal=%d round %d: child ended by itself (exit %d)", c->strategy,
                     c->sync_wal, round, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        int64_t now = -1;
        assert_int_equal(pread(fd, &now, sizeof now, 0), (ssize_t)sizeof now);
        close(fd);
        if (now < acked) fail_msg("ack record went backwards");
        /* The reference after op `now`, and after the one in flight at the kill. */
        for (int64_t i = acked + 1; i <= now; i++) apply_op(c->seed, (uint64_t)i, state);
        memcpy(next, state, NKEYS * sizeof *next);
        apply_op(c->seed, (uint64_t)(now + 1), next);

        char ctx[160];
        snprintf(ctx, sizeof ctx, "%s sync_wal=%d bg=%d round %d (killed after %ld ms, "
                 "op %lld acknowledged)", c->strategy, c->sync_wal, c->bg, round, ms,
                 (long long)now);
        am_db *db = NULL;
        char msg[512];
        int rc = am_open_msg(dbdir, &o, &db, msg, sizeof msg);
        if (rc != AM_OK) fail_msg("%s: reopen failed: %s (%s)", ctx, am_strerror(rc), msg);
        read_state(db, got, ctx);
        verdict v = compare(got, state, next);
        if (!v.match_a && !v.match_b)
            fail_msg("%s: the database matches neither the acknowledged state (key %u: got "
                     "tag %llx, want %llx) nor the next one (key %u: got %llx, want %llx)",
                     ctx, v.diff_a, (unsigned long long)got[v.diff_a],
                     (unsigned long long)state[v.diff_a], v.diff_b,
                     (unsigned long long)got[v.diff_b], (unsigned long long)next[v.diff_b]);
        if (!v.match_a) total_in_flight_durable++;
        rc = am_close(db);
        if (rc != AM_OK) fail_msg("%s: close: %s", ctx, am_strerror(rc));
        acked = now;
    }
    print_message("  %s sync_wal=%d bg=%d: %d kills, %lld operations acknowledged, in-flight "
                  "operation durable after %llu kills\n", c->strategy, c->sync_wal, c->bg,
                  rounds, (long long)(acked + 1), (unsigned long long)total_in_flight_durable);
    if (acked < 50) fail_msg("%s sync_wal=%d: only %lld operations in %d rounds: the test "
                             "checked almost nothing", c->strategy, c->sync_wal,
                             (long long)(acked + 1), rounds);
    tu_rmtree(dir);
    free(state);
    free(next);
    free(got);
}

static void test_crash_nosync(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        config c = { strategies[i], 0, 1, 0xc4a5e000u + i };
        crash_rounds(&c, 10);
        config inl = { strategies[i], 0, 0, 0xc4a5e100u + i };
        crash_rounds(&inl, 6);
    }
}

static void test_crash_sync(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSTRATEGIES; i++) {
        config c = { strategies[i], 1, 2, 0xc4a5e200u + i };
        crash_rounds(&c, 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_nosync),
        cmocka_unit_test(test_crash_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
