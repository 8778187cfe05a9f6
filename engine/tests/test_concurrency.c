/* test_concurrency.c: three writer threads and three reader threads on one database with
 * a tiny memtable, so flushes and merges run in the background all the time, plus live
 * iterators and snapshots held across them. Work is bounded by operation counts.
 *
 * Each key belongs to one writer, which writes versions 1, 2, 3, ... of it (version v is a
 * delete for some v, decided by a hash); the value encodes key and version. Before writing
 * version v the writer publishes issued[k] = v, after the write returns acked[k] = v. A
 * reader that loads a = acked[k], then reads, then loads i = issued[k], must see a version
 * in [a, i] (absent only if one of those versions is a delete, version 0 meaning "never
 * written"). Snapshots must read the same twice; iterators must show strictly increasing
 * keys whose versions fit the bounds taken around their creation, and skip only keys that
 * may be deleted. At the end every key reads as its last acknowledged version, also after
 * reopen. Clean under ThreadSanitizer (make tsan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "testutil.h"
#include "testutil_db.h"

enum {
    NWRITERS = 3,
    NREADERS = 3,
    NKEYS = 3000,              /* key k belongs to writer k % NWRITERS */
    MAX_VALUE = 256,
    RANGE = 40,                /* keys per iterator scan */
};

static void key_of(char *buf, uint32_t k) { snprintf(buf, 16, "k%05u", k); }

/* Version 0 (never written) and every eighth version or so are deletes. */
static int is_del(uint32_t k, uint32_t v) { return v == 0 || tu_mix(((uint64_t)k << 32) | v) % 8 == 0; }

static size_t make_value(uint32_t k, uint32_t v, char *out)
{
    uint64_t h = tu_mix(((uint64_t)v << 32) | k | 1ull << 62);
    size_t n = 24 + (size_t)(h % (MAX_VALUE - 24));
    int head = snprintf(out, MAX_VALUE, "k%05u v%08u ", k, v);
    for (size_t i = (size_t)head; i < n; i++) out[i] = (char)('a' + (tu_mix(h + i / 8) >> (i % 8 * 8)) % 26);
    return n;
}

typedef struct shared {
    am_db *db;
    _Atomic uint32_t issued[NKEYS];
    _Atomic uint32_t acked[NKEYS];
    long writer_ops, reader_ops;
    atomic_int failed;
    pthread_mutex_t fail_mu;
    char failmsg[512];
    atomic_long gets, snapshot_reads, iter_keys, held_iters;
} shared;

/* Records the first failure (cmocka's asserts are not for threads); returns 0. */
static int fail_at(shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_at(shared *sh, const char *fmt, ...)
{
    pthread_mutex_lock(&sh->fail_mu);
    if (!atomic_load(&sh->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->failmsg, sizeof sh->failmsg, fmt, ap);
        va_end(ap);
        atomic_store(&sh->failed, 1);
    }
    pthread_mutex_unlock(&sh->fail_mu);
    return 0;
}

/* Parses a value; 0 on success with *v set, checking it encodes k and its bytes. */
static int check_bytes(shared *sh, uint32_t k, const void *val, size_t n, uint32_t *v)
{
    char want[MAX_VALUE];
    unsigned kk = 0, vv = 0;
    if (n < 16 || n > MAX_VALUE) {
        fail_at(sh, "key %u: value of %zu bytes", k, n);
        return 1;
    }
    char head[17];
    memcpy(head, val, 16);
    head[16] = 0;
    if (sscanf(head, "k%05u v%08u", &kk, &vv) != 2 || kk != k) {
        fail_at(sh, "key %u: value written for another key: '%.16s'", k, head);
        return 1;
    }
    size_t wn = make_value(k, vv, want);
    if (wn != n || memcmp(want, val, n) != 0) {
        fail_at(sh, "key %u version %u: damaged value", k, vv);
        return 1;
    }
    *v = vv;
    return 0;
}

/* Is what a read showed (present with version v, or absent) allowed for bounds [lo, hi]? */
static int fits(uint32_t k, int present, uint32_t v, uint32_t lo, uint32_t hi)
{
    if (present) return v >= lo && v <= hi && !is_del(k, v);
    for (uint32_t u = lo; u <= hi; u++) if (is_del(k, u)) return 1;
    return 0;
}

/* ---- writers ---- */

typedef struct writer_arg {
    shared *sh;
    int id;
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *wa = p;
    shared *sh = wa->sh;
    tu_rng r = { 0x77a1u + (uint64_t)wa->id };
    am_batch *b = am_batch_new();
    if (!b) { fail_at(sh, "writer %d: no batch", wa->id); return NULL; }
    char k[16], v[MAX_VALUE];
    const uint32_t per = NKEYS / NWRITERS;
    for (long op = 0; op < sh->writer_ops && !atomic_load(&sh->failed); op++) {
        int n = tu_below(&r, 5) == 0 ? 2 + (int)tu_below(&r, 7) : 1;
        uint32_t keys[8], vers[8];
        am_batch_clear(b);
        for (int j = 0; j < n; j++) {
            uint32_t key = (uint32_t)wa->id + NWRITERS * (uint32_t)tu_below(&r, per);
            uint32_t ver = atomic_load_explicit(&sh->issued[key], memory_order_relaxed) + 1;
            keys[j] = key;
            vers[j] = ver;
            atomic_store_explicit(&sh->issued[key], ver, memory_order_release);
            key_of(k, key);
            int rc = is_del(key, ver) ? am_batch_delete(b, k, strlen(k))
                                      : am_batch_put(b, k, strlen(k), v, make_value(key, ver, v));
            if (rc != AM_OK) { fail_at(sh, "writer %d: batch: %s", wa->id, am_strerror(rc)); break; }
        }
        int rc;
        if (n == 1) {
            /* Single writes through am_put / am_delete, the common path. */
            key_of(k, keys[0]);
            rc = is_del(keys[0], vers[0]) ? am_delete(sh->db, k, strlen(k))
                                          : am_put(sh->db, k, strlen(k), v, make_value(keys[0], vers[0], v));
        } else {
            rc = am_write(sh->db, b, tu_below(&r, 50) == 0);
        }
        if (rc != AM_OK) {
            fail_at(sh, "writer %d op %ld: %s (%s)", wa->id, op, am_strerror(rc), am_errmsg(sh->db));
            break;
        }
        /* A key repeated in a batch: its last version is the one acknowledged. */
        for (int j = 0; j < n; j++)
            if (atomic_load_explicit(&sh->acked[keys[j]], memory_order_relaxed) < vers[j])
                atomic_store_explicit(&sh->acked[keys[j]], vers[j], memory_order_release);
        if (wa->id == 0 && op % 5000 == 4999) {
            rc = am_flush(sh->db);
            if (rc != AM_OK) fail_at(sh, "am_flush: %s", am_strerror(rc));
        }
        if (wa->id == 1 && op % 9000 == 8999) {
            rc = am_compact(sh->db);
            if (rc != AM_OK) fail_at(sh, "am_compact: %s", am_strerror(rc));
        }
    }
    am_batch_free(b);
    return NULL;
}

/* ---- readers ---- */

typedef struct bounds {
    uint32_t lo[NKEYS], hi[NKEYS];
} bounds;

/* An iterator with the bounds taken around its creation, walking from key index pos. */
typedef struct walker {
    am_iter *it;
    bounds *b;                 /* owned */
    uint32_t pos;              /* keys below pos are done */
    uint32_t end;              /* stop before this key index */
    const am_snapshot *snap;   /* owned when not NULL */
} walker;

static int walker_start(shared *sh, walker *w, uint32_t from, uint32_t end, int with_snap)
{
    memset(w, 0, sizeof *w);
    w->b = malloc(sizeof *w->b);
    if (!w->b) return fail_at(sh, "out of memory");
    for (uint32_t k = from; k < end; k++)
        w->b->lo[k] = atomic_load_explicit(&sh->acked[k], memory_order_acquire);
    if (with_snap) w->snap = am_snapshot_new(sh->db);
    w->it = am_iter_new(sh->db, w->snap);
    if (!w->it || (with_snap && !w->snap)) return fail_at(sh, "am_iter_new / am_snapshot_new failed");
    for (uint32_t k = from; k < end; k++)
        w->b->hi[k] = atomic_load_explicit(&sh->issued[k], memory_order_acquire);
    char key[16];
    key_of(key, from);
    am_iter_seek(w->it, key, strlen(key));
    w->pos = from;
    w->end = end;
    atomic_fetch_add(&sh->held_iters, 1);
    return 1;
}

static void walker_free(shared *sh, walker *w)
{
    am_iter_free(w->it);
    if (w->snap) am_snapshot_release(sh->db, w->snap);
    free(w->b);
    memset(w, 0, sizeof *w);
}

/* Up to steps entries; returns 0 when done (or on failure). */
static int walker_step(shared *sh, walker *w, int steps)
{
    for (int s = 0; s < steps; s++) {
        uint32_t key = w->end;          /* where the iterator is: end of range if past it */
        const void *val = NULL;
        size_t vn = 0;
        if (am_iter_valid(w->it)) {
            size_t kn;
            const char *kp = am_iter_key(w->it, &kn);
            char kb[16];
            if (kn != 6 || kp[0] != 'k') return fail_at(sh, "iterator: stray key");
            memcpy(kb, kp, 6);
            kb[6] = 0;
            unsigned long kk = strtoul(kb + 1, NULL, 10);
            if (kk < w->pos) return fail_at(sh, "iterator went back: key %lu after %u", kk, w->pos);
            if (kk < w->end) {
                key = (uint32_t)kk;
                val = am_iter_value(w->it, &vn);
            }
        } else if (am_iter_status(w->it) != AM_OK) {
            return fail_at(sh, "iterator failed: %s", am_strerror(am_iter_status(w->it)));
        }
        /* Keys skipped must be allowed to be absent. */
        for (; w->pos < key; w->pos++)
            if (!fits(w->pos, 0, 0, w->b->lo[w->pos], w->b->hi[w->pos]))
                return fail_at(sh, "iterator skipped key %u (bounds %u..%u, no delete among them)",
                               w->pos, w->b->lo[w->pos], w->b->hi[w->pos]);
        if (key == w->end) return 0;
        uint32_t v = 0;
        if (check_bytes(sh, key, val, vn, &v)) return 0;
        if (!fits(key, 1, v, w->b->lo[key], w->b->hi[key]))
            return fail_at(sh, "iterator: key %u version %u outside %u..%u%s", key, v,
                           w->b->lo[key], w->b->hi[key], is_del(key, v) ? " (a delete)" : "");
        atomic_fetch_add_explicit(&sh->iter_keys, 1, memory_order_relaxed);
        w->pos = key + 1;
        am_iter_next(w->it);
    }
    return 1;
}

/* One point read of key k through s (NULL: latest); *present / *v describe what was seen. */
static int read_key(shared *sh, const am_snapshot *s, uint32_t k, int into, int *present, uint32_t *v)
{
    char key[16];
    key_of(key, k);
    int rc;
    *present = 0;
    if (into) {
        char buf[MAX_VALUE];
        size_t vn = 0;
        rc = am_get_into(sh->db, s, key, strlen(key), buf, sizeof buf, &vn);
        if (rc == AM_OK) {
            if (check_bytes(sh, k, buf, vn, v)) return 0;
            *present = 1;
        }
    } else {
        void *val = NULL;
        size_t vn = 0;
        rc = am_get(sh->db, s, key, strlen(key), &val, &vn);
        if (rc == AM_OK) {
            int bad = check_bytes(sh, k, val, vn, v);
            am_free(val);
            if (bad) return 0;
            *present = 1;
        }
    }
    if (rc != AM_OK && rc != AM_NOT_FOUND)
        return fail_at(sh, "get key %u: %s (%s)", k, am_strerror(rc), am_errmsg(sh->db));
    atomic_fetch_add_explicit(&sh->gets, 1, memory_order_relaxed);
    return 1;
}

typedef struct reader_arg {
    shared *sh;
    int id;
} reader_arg;

static void *reader_main(void *p)
{
    reader_arg *ra = p;
    shared *sh = ra->sh;
    tu_rng r = { 0x4eadu + (uint64_t)ra->id };
    walker held;
    memset(&held, 0, sizeof held);
    for (long op = 0; op < sh->reader_ops && !atomic_load(&sh->failed); op++) {
        uint64_t x = tu_below(&r, 100);
        if (x < 75) {
            uint32_t k = (uint32_t)tu_below(&r, NKEYS);
            uint32_t lo = atomic_load_explicit(&sh->acked[k], memory_order_acquire);
            int present;
            uint32_t v = 0;
            if (!read_key(sh, NULL, k, (int)(op & 1), &present, &v)) break;
            uint32_t hi = atomic_load_explicit(&sh->issued[k], memory_order_acquire);
            if (!fits(k, present, v, lo, hi)) {
                fail_at(sh, "reader %d: key %u read as %s%u, bounds %u..%u", ra->id, k,
                        present ? "version " : "absent ", v, lo, hi);
                break;
            }
        } else if (x < 85) {
            /* A snapshot over 16 keys: bounds around its creation, then the same answers
               before and after more work. */
            enum { SN = 16 };
            uint32_t keys[SN], lo[SN], hi[SN], v1[SN], v2[SN];
            int p1[SN], p2[SN];
            uint32_t base = (uint32_t)tu_below(&r, NKEYS - SN);
            for (int i = 0; i < SN; i++) {
                keys[i] = base + (uint32_t)i;
                lo[i] = atomic_load_explicit(&sh->acked[keys[i]], memory_order_acquire);
            }
            const am_snapshot *s = am_snapshot_new(sh->db);
            if (!s) { fail_at(sh, "am_snapshot_new failed"); break; }
            for (int i = 0; i < SN; i++)
                hi[i] = atomic_load_explicit(&sh->issued[keys[i]], memory_order_acquire);
            int ok = 1;
            for (int i = 0; i < SN && ok; i++) {
                ok = read_key(sh, s, keys[i], i & 1, &p1[i], &v1[i]);
                if (ok && !fits(keys[i], p1[i], v1[i], lo[i], hi[i]))
                    ok = fail_at(sh, "snapshot: key %u as %s%u, bounds %u..%u", keys[i],
                                 p1[i] ? "version " : "absent ", v1[i], lo[i], hi[i]);
            }
            for (int i = 0; i < 50 && ok; i++) {      /* time passes; writers write */
                int pr;
                uint32_t vv;
                ok = read_key(sh, NULL, (uint32_t)tu_below(&r, NKEYS), 0, &pr, &vv);
            }
            for (int i = 0; i < SN && ok; i++) {
                ok = read_key(sh, s, keys[i], !(i & 1), &p2[i], &v2[i]);
                if (ok && (p1[i] != p2[i] || (p1[i] && v1[i] != v2[i])))
                    ok = fail_at(sh, "snapshot read of key %u changed: %s%u then %s%u", keys[i],
                                 p1[i] ? "v" : "absent ", v1[i], p2[i] ? "v" : "absent ", v2[i]);
            }
            am_snapshot_release(sh->db, s);
            atomic_fetch_add(&sh->snapshot_reads, 2 * SN);
            if (!ok) break;
        } else if (x < 92) {
            /* A short scan, start to end at once. */
            walker w;
            uint32_t from = (uint32_t)tu_below(&r, NKEYS - RANGE);
            int ok = walker_start(sh, &w, from, from + RANGE, tu_below(&r, 2) == 0);
            while (ok && walker_step(sh, &w, 64)) {}
            walker_free(sh, &w);
            if (!ok) break;
        } else {
            /* The held iterator: a few steps now and then, across flushes and merges. */
            if (!held.it) {
                uint32_t from = (uint32_t)tu_below(&r, NKEYS / 2);
                if (!walker_start(sh, &held, from, from + NKEYS / 4, tu_below(&r, 3) == 0)) break;
            } else if (!walker_step(sh, &held, 1 + (int)tu_below(&r, 12))) {
                walker_free(sh, &held);
            }
        }
    }
    if (held.it || held.b) walker_free(sh, &held);
    return NULL;
}

/* ---- the test ---- */

static void final_check(shared *sh, const char *when)
{
    for (uint32_t k = 0; k < NKEYS; k++) {
        uint32_t v = atomic_load(&sh->acked[k]);
        int present;
        uint32_t got = 0;
        if (!read_key(sh, NULL, k, k & 1, &present, &got)) break;
        if (present != !is_del(k, v) || (present && got != v))
            fail_at(sh, "%s: key %u reads as %s%u, last acknowledged version %u%s", when, k,
                    present ? "version " : "absent ", got, v, is_del(k, v) ? " (a delete)" : "");
    }
    if (atomic_load(&sh->failed)) fail_msg("%s", sh->failmsg);
}

static long scaled(long n)
{
    /* The sanitizer builds run a fraction of the work to stay within their time budget. */
    const char *f = getenv("AM_TEST_FLAVOR");
    if (f && strcmp(f, "tsan") == 0) return n / 4;
    if (f && strcmp(f, "asan") == 0) return n / 2;
    return n;
}

static void test_writers_readers_iterators_snapshots(void **state)
{
    (void)state;
    char dir[256];
    tu_tempdir(dir, sizeof dir, "conc");
    shared *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    pthread_mutex_init(&sh->fail_mu, NULL);
    sh->writer_ops = scaled(20000);
    sh->reader_ops = scaled(20000);
    am_options o;
    tu_small_options(&o, 2);
    o.block_cache_bytes = 256u << 10;
    o.l1_target_bytes = 256u << 10;
    o.level_fanout = 4;
    sh->db = tu_open(dir, &o);

    pthread_t wt[NWRITERS], rt[NREADERS];
    writer_arg wa[NWRITERS];
    reader_arg ra[NREADERS];
    for (int i = 0; i < NWRITERS; i++) {
        wa[i] = (writer_arg){ sh, i };
        assert_int_equal(pthread_create(&wt[i], NULL, writer_main, &wa[i]), 0);
    }
    for (int i = 0; i < NREADERS; i++) {
        ra[i] = (reader_arg){ sh, i };
        assert_int_equal(pthread_create(&rt[i], NULL, reader_main, &ra[i]), 0);
    }
    for (int i = 0; i < NWRITERS; i++) pthread_join(wt[i], NULL);
    for (int i = 0; i < NREADERS; i++) pthread_join(rt[i], NULL);
    if (atomic_load(&sh->failed)) fail_msg("%s", sh->failmsg);

    am_stats st;
    assert_int_equal(am_stats_get(sh->db, &st), AM_OK);
    print_message("  %ld writer ops, %ld gets, %ld snapshot reads, %ld keys from %ld iterators; "
                  "%llu flushes, %llu compactions, %llu stalls\n",
                  NWRITERS * sh->writer_ops, atomic_load(&sh->gets), atomic_load(&sh->snapshot_reads),
                  atomic_load(&sh->iter_keys), atomic_load(&sh->held_iters),
                  (unsigned long long)st.flushes, (unsigned long long)st.compactions,
                  (unsigned long long)st.stall_count);
    if (st.flushes < 10 || st.compactions < 2)
        fail_msg("too little background work (%llu flushes, %llu compactions)",
                 (unsigned long long)st.flushes, (unsigned long long)st.compactions);
    final_check(sh, "after the threads");
    int rc = am_close(sh->db);
    if (rc != AM_OK) fail_msg("close: %s", am_strerror(rc));
    sh->db = tu_open(dir, &o);
    final_check(sh, "after reopen");
    assert_int_equal(am_close(sh->db), AM_OK);
    pthread_mutex_destroy(&sh->fail_mu);
    free(sh);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writers_readers_iterators_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
