/* test_model.c: model-based test of the whole engine. Tens of thousands of random
 * operations (puts, deletes, batches, gets, iterator scans with seeks, snapshots taken and
 * released with reads through them, iterators held open across writes, flushes, compactions,
 * close + reopen) run against the engine and against a reference kept here (the version of
 * each key of a small key space), and every read is compared. A tiny memtable, small files
 * and small blocks make flushes and merges frequent. Runs once inline (background_threads
 * 0, deterministic) and once with two background threads, for every strategy named in
 * `strategies` below (a new strategy is one more line). */
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

static const char *const strategies[] = {
    "leveled",
    "triangular",
};
#define NSTRATEGIES (sizeof strategies / sizeof strategies[0])

enum {
    KEY_CANDIDATES = 1400,      /* keys generated; duplicates removed */
    MAX_SNAPS = 4,
    MAX_VALUE = 6000,
};

/* ---- keys and values ---- */

typedef struct key {
    unsigned char b[24];
    size_t n;
} key;

static int key_cmp(const void *a, const void *b)
{
    const key *x = a, *y = b;
    int c = memcmp(x->b, y->b, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

/* Sorted, distinct keys from a tiny alphabet (with 0x00 and 0xff) and lengths 1..20, so many
 * keys are prefixes of others and comparisons must be bytewise. Returns the count. */
static size_t make_keys(key *keys, uint64_t seed)
{
    static const unsigned char alpha[] = { 0x00, 'a', 'b', 'c', 0xff };
    tu_rng r = { seed };
    for (size_t i = 0; i < KEY_CANDIDATES; i++) {
        size_t n = 1 + tu_below(&r, tu_below(&r, 4) == 0 ? 4 : 20);
        keys[i].n = n;
        for (size_t j = 0; j < n; j++) keys[i].b[j] = alpha[tu_below(&r, sizeof alpha)];
    }
    qsort(keys, KEY_CANDIDATES, sizeof *keys, key_cmp);
    size_t m = 0;
    for (size_t i = 0; i < KEY_CANDIDATES; i++)
        if (m == 0 || key_cmp(&keys[m - 1], &keys[i]) != 0) keys[m++] = keys[i];
    return m;
}

/* The value of version ver of key kid (ver 0 means absent); returns its length. Mostly
 * short, some empty, a few spanning several blocks. */
static size_t make_value(uint32_t kid, uint32_t ver, unsigned char *out)
{
    uint64_t h = tu_mix(((uint64_t)kid << 32) | ver);
    size_t n;
    if (h % 61 == 0) n = 1000 + (size_t)(h >> 20) % 4000;
    else if (h % 17 == 0) n = 0;
    else n = (size_t)(h >> 8) % 400;
    uint64_t s = h;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) s = tu_mix(s + i);
        out[i] = (unsigned char)(s >> (8 * (i % 8)));
    }
    if (n >= 8) {                       /* readable in a debugger: kid and ver up front */
        memcpy(out, &kid, 4);
        memcpy(out + 4, &ver, 4);
    }
    return n;
}

/* ---- the run ---- */

typedef struct snap {
    const am_snapshot *s;
    uint32_t *state;                    /* the reference as of the snapshot; owned */
} snap;

typedef struct held_iter {
    am_iter *it;
    uint32_t *state;                    /* owned copy, or NULL when it uses a snapshot's */
    const uint32_t *view;
    size_t pos;                         /* next key index the iterator must show */
} held_iter;

typedef struct run {
    const char *strategy;
    int bg;
    uint64_t seed;
    long op;                            /* current operation, for messages */
    const char *opname;
    char dir[256];
    am_options o;
    am_db *db;
    key keys[KEY_CANDIDATES];
    size_t nk;
    uint32_t *cur;                      /* reference: version of each key, 0 = absent */
    uint32_t next_ver;
    snap snaps[MAX_SNAPS];
    int nsnaps;
    held_iter held;
    unsigned char vbuf[MAX_VALUE];
    unsigned char gbuf[MAX_VALUE + 16];
    tu_rng r;
    long gets, scans, reopens, snapreads;
    uint64_t flushes, compactions;      /* engine counters summed over every open */
    int max_level;                      /* deepest level seen with files */
} run;

#define FAIL(R, ...)                                                                     \
    do {                                                                                 \
        char m_[1024];                                                                    \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                            \
        fail_msg("%s bg=%d seed=%llu op %ld (%s): %s", (R)->strategy, (R)->bg,           \
                 (unsigned long long)(R)->seed, (R)->op, (R)->opname, m_);               \
    } while (0)

static void must(run *R, int rc, const char *what)
{
    if (rc != AM_OK) FAIL(R, "%s: %s (%s)", what, am_strerror(rc), am_errmsg(R->db));
}

static void db_open_run(run *R)
{
    char msg[512];
    int rc = am_open_msg(R->dir, &R->o, &R->db, msg, sizeof msg);
    if (rc != AM_OK) FAIL(R, "open: %s (%.400s)", am_strerror(rc), msg);
}

/* Compares one read of key kid (rc, value) with version ver of the reference. */
static void check_value(run *R, uint32_t kid, uint32_t ver, int rc, const void *v, size_t vn,
                        const char *how)
{
    if (ver == 0) {
        if (rc != AM_NOT_FOUND)
            FAIL(R, "%s key #%u: want not found, got %s (len %zu)", how, kid, am_strerror(rc), vn);
        return;
    }
    if (rc != AM_OK)
        FAIL(R, "%s key #%u: want version %u, got %s (%s)", how, kid, ver, am_strerror(rc),
             am_errmsg(R->db));
    size_t n = make_value(kid, ver, R->vbuf);
    if (vn != n || (n && memcmp(v, R->vbuf, n) != 0)) {
        uint32_t got_k = 0, got_v = 0;
        if (vn >= 8) { memcpy(&got_k, v, 4); memcpy(&got_v, (const char *)v + 4, 4); }
        FAIL(R, "%s key #%u: want version %u (len %zu), got len %zu (looks like key #%u "
             "version %u)", how, kid, ver, n, vn, got_k, got_v);
    }
}

static void check_get(run *R, const am_snapshot *s, const uint32_t *state, uint32_t kid)
{
    const key *k = &R->keys[kid];
    R->gets++;
    if (tu_below(&R->r, 2) == 0) {
        void *v = NULL;
        size_t vn = 0;
        int rc = am_get(R->db, s, k->b, k->n, &v, &vn);
        check_value(R, kid, state[kid], rc, v, vn, s ? "snapshot get" : "get");
        if (rc != AM_OK && v) FAIL(R, "am_get left a value behind on %s", am_strerror(rc));
        am_free(v);
    } else {
        /* am_get_into with a buffer that is sometimes too short. */
        size_t want = state[kid] ? make_value(kid, state[kid], R->vbuf) : 0;
        size_t cap = tu_below(&R->r, 4) == 0 ? (size_t)tu_below(&R->r, want + 2) : sizeof R->gbuf;
        if (cap > sizeof R->gbuf) cap = sizeof R->gbuf;
        memset(R->gbuf, 0xA5, sizeof R->gbuf);
        size_t vn = 0;
        int rc = am_get_into(R->db, s, k->b, k->n, R->gbuf, cap, &vn);
        if (rc == AM_OK && vn > cap) {
            /* A prefix was copied and nothing past cap. */
            if (state[kid] == 0) FAIL(R, "get_into key #%u: found a deleted key", kid);
            if (vn != want) FAIL(R, "get_into key #%u: length %zu, want %zu", kid, vn, want);
            if (memcmp(R->gbuf, R->vbuf, cap) != 0 || R->gbuf[cap] != 0xA5)
                FAIL(R, "get_into key #%u cap %zu: wrong prefix", kid, cap);
            return;
        }
        check_value(R, kid, state[kid], rc, R->gbuf, vn, s ? "snapshot get_into" : "get_into");
    }
}

/* Index of the first key >= (b, n). */
static size_t lower_bound(const run *R, const void *b, size_t n)
{
    size_t lo = 0, hi = R->nk;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bytes_cmp(R->keys[mid].b, R->keys[mid].n, b, n) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Checks up to steps entries of it against view from *pos, advancing both. Returns 0 once
 * the iterator (rightly) ended. */
static int iter_steps(run *R, am_iter *it, const uint32_t *view, size_t *pos, int steps)
{
    for (int i = 0; i < steps; i++) {
        while (*pos < R->nk && view[*pos] == 0) (*pos)++;
        if (*pos == R->nk) {
            if (am_iter_valid(it)) {
                size_t kn;
                const void *k = am_iter_key(it, &kn);
                (void)k;
                FAIL(R, "iterator shows a key (len %zu) past the last live key", kn);
            }
            if (am_iter_status(it) != AM_OK)
                FAIL(R, "iterator ended with %s", am_strerror(am_iter_status(it)));
            return 0;
        }
        if (!am_iter_valid(it))
            FAIL(R, "iterator ended (%s), want key #%zu", am_strerror(am_iter_status(it)), *pos);
        size_t kn, vn;
        const void *k = am_iter_key(it, &kn);
        const key *want = &R->keys[*pos];
        if (bytes_cmp(k, kn, want->b, want->n) != 0) {
            size_t got = lower_bound(R, k, kn);
            FAIL(R, "iterator: want key #%zu, got key #%zu%s", *pos, got,
                 got < R->nk && bytes_cmp(R->keys[got].b, R->keys[got].n, k, kn) == 0 ? ""
                                                                              : " (not a key)");
        }
        const void *v = am_iter_value(it, &vn);
        check_value(R, (uint32_t)*pos, view[*pos], AM_OK, v, vn, "iterator");
        am_iter_next(it);
        (*pos)++;
    }
    return 1;
}

/* A random seek target: a key, a key with a byte more or less, or random bytes. */
static size_t seek_target(run *R, unsigned char *b)
{
    const key *k = &R->keys[tu_below(&R->r, R->nk)];
    size_t n = k->n;
    memcpy(b, k->b, n);
    switch (tu_below(&R->r, 4)) {
    case 0: break;
    case 1: b[n++] = (unsigned char)tu_below(&R->r, 256); break;
    case 2: if (n > 1) n--; break;
    default:
        n = 1 + tu_below(&R->r, 6);
        for (size_t i = 0; i < n; i++) b[i] = (unsigned char)tu_below(&R->r, 256);
    }
    return n;
}

static void op_scan(run *R)
{
    int si = R->nsnaps && tu_below(&R->r, 3) == 0 ? (int)tu_below(&R->r, R->nsnaps) : -1;
    const uint32_t *view = si >= 0 ? R->snaps[si].state : R->cur;
    am_iter *it = am_iter_new(R->db, si >= 0 ? R->snaps[si].s : NULL);
    if (!it) FAIL(R, "am_iter_new returned NULL");
    size_t pos;
    if (tu_below(&R->r, 8) == 0) {
        am_iter_seek_first(it);
        pos = 0;
    } else {
        unsigned char b[32];
        size_t n = seek_target(R, b);
        am_iter_seek(it, b, n);
        pos = lower_bound(R, b, n);
    }
    iter_steps(R, it, view, &pos, 1 + (int)tu_below(&R->r, 40));
    am_iter_free(it);
    R->scans++;
}

static void held_free(run *R)
{
    am_iter_free(R->held.it);
    free(R->held.state);
    memset(&R->held, 0, sizeof R->held);
}

static void op_held(run *R)
{
    held_iter *h = &R->held;
    if (!h->it) {
        int si = R->nsnaps && tu_below(&R->r, 2) == 0 ? (int)tu_below(&R->r, R->nsnaps) : -1;
        if (si >= 0) {
            h->it = am_iter_new(R->db, R->snaps[si].s);
            h->view = R->snaps[si].state;     /* snapshots outlive held iterators: see below */
        } else {
            h->it = am_iter_new(R->db, NULL);
            h->state = malloc(R->nk * sizeof *h->state);
            if (!h->state) FAIL(R, "out of memory");
            memcpy(h->state, R->cur, R->nk * sizeof *h->state);
            h->view = h->state;
        }
        if (!h->it) FAIL(R, "am_iter_new returned NULL");
        unsigned char b[32];
        size_t n = seek_target(R, b);
        am_iter_seek(h->it, b, n);
        h->pos = lower_bound(R, b, n);
        return;
    }
    if (!iter_steps(R, h->it, h->view, &h->pos, 1 + (int)tu_below(&R->r, 8)) ||
        tu_below(&R->r, 20) == 0)
        held_free(R);
}

static void snap_release(run *R, int i)
{
    /* A held iterator may read through this snapshot's reference: drop it first. */
    if (R->held.it && R->held.view == R->snaps[i].state) held_free(R);
    am_snapshot_release(R->db, R->snaps[i].s);
    free(R->snaps[i].state);
    R->snaps[i] = R->snaps[--R->nsnaps];
}

static void op_snapshot(run *R)
{
    if (R->nsnaps == MAX_SNAPS || (R->nsnaps > 0 && tu_below(&R->r, 2) == 0)) {
        snap_release(R, (int)tu_below(&R->r, R->nsnaps));
        return;
    }
    snap *s = &R->snaps[R->nsnaps];
    s->s = am_snapshot_new(R->db);
    if (!s->s) FAIL(R, "am_snapshot_new returned NULL");
    s->state = malloc(R->nk * sizeof *s->state);
    if (!s->state) FAIL(R, "out of memory");
    memcpy(s->state, R->cur, R->nk * sizeof *s->state);
    R->nsnaps++;
}

static void op_put(run *R, uint32_t kid)
{
    uint32_t ver = ++R->next_ver;
    size_t n = make_value(kid, ver, R->vbuf);
    must(R, am_put(R->db, R->keys[kid].b, R->keys[kid].n, R->vbuf, n), "put");
    R->cur[kid] = ver;
}

static void op_delete(run *R, uint32_t kid)
{
    must(R, am_delete(R->db, R->keys[kid].b, R->keys[kid].n), "delete");
    R->cur[kid] = 0;
}

static void op_batch(run *R, am_batch *b)
{
    am_batch_clear(b);
    /* Changes are staged, then applied to the reference only when the write succeeds. */
    uint32_t kids[32], vers[32];
    int n = 1 + (int)tu_below(&R->r, 24);
    for (int i = 0; i < n; i++) {
        /* Half the time stay near one key, so one batch often touches a key twice. */
        uint32_t kid = i > 0 && tu_below(&R->r, 2) ? kids[i - 1] + (uint32_t)tu_below(&R->r, 3)
                                                    : (uint32_t)tu_below(&R->r, R->nk);
        if (kid >= R->nk) kid = (uint32_t)R->nk - 1;
        kids[i] = kid;
        const key *k = &R->keys[kid];
        if (tu_below(&R->r, 4) == 0) {
            vers[i] = 0;
            must(R, am_batch_delete(b, k->b, k->n), "batch delete");
        } else {
            vers[i] = ++R->next_ver;
            size_t vn = make_value(kid, vers[i], R->vbuf);
            must(R, am_batch_put(b, k->b, k->n, R->vbuf, vn), "batch put");
        }
    }
    if (am_batch_count(b) != (size_t)n) FAIL(R, "batch count %zu, want %d", am_batch_count(b), n);
    must(R, am_write(R->db, b, tu_below(&R->r, 16) == 0), "am_write");
    for (int i = 0; i < n; i++) R->cur[kids[i]] = vers[i];
}

/* Every key by get and one full scan, as of now. */
static void check_all(run *R)
{
    for (uint32_t kid = 0; kid < R->nk; kid++) check_get(R, NULL, R->cur, kid);
    am_iter *it = am_iter_new(R->db, NULL);
    if (!it) FAIL(R, "am_iter_new returned NULL");
    am_iter_seek_first(it);
    size_t pos = 0;
    iter_steps(R, it, R->cur, &pos, (int)R->nk + 1);
    am_iter_free(it);
}

/* Adds this open's counters to the run's totals. */
static void tally(run *R)
{
    am_stats st;
    must(R, am_stats_get(R->db, &st), "am_stats");
    R->flushes += st.flushes;
    R->compactions += st.compactions;
    for (int l = 0; l < 8; l++) if (st.level_files[l] && l > R->max_level) R->max_level = l;
}

static void op_reopen(run *R)
{
    tally(R);
    held_free(R);
    while (R->nsnaps) snap_release(R, R->nsnaps - 1);
    int rc = am_close(R->db);
    R->db = NULL;
    if (rc != AM_OK) FAIL(R, "close: %s", am_strerror(rc));
    db_open_run(R);
    R->reopens++;
    check_all(R);
}

static void run_model(const char *strategy, int bg, uint64_t seed, long nops)
{
    run *R = calloc(1, sizeof *R);
    assert_non_null(R);
    R->strategy = strategy;
    R->bg = bg;
    R->seed = seed;
    R->r.s = seed;
    R->opname = "setup";
    tu_tempdir(R->dir, sizeof R->dir, "model");
    R->nk = make_keys(R->keys, seed);
    R->cur = calloc(R->nk, sizeof *R->cur);
    assert_non_null(R->cur);
    tu_small_options(&R->o, bg);
    R->o.strategy = strategy;
    R->o.block_bytes = 256;
    R->o.index_stride = 4;
    R->o.block_cache_bytes = 64u << 10;         /* small: blocks get evicted */
    R->o.l1_target_bytes = 128u << 10;          /* several levels from little data */
    R->o.level_fanout = 4;
    db_open_run(R);
    am_batch *b = am_batch_new();
    assert_non_null(b);

    for (R->op = 0; R->op < nops; R->op++) {
        uint64_t x = tu_below(&R->r, 10000);
        uint32_t kid = (uint32_t)tu_below(&R->r, R->nk);
        if (x < 3300) { R->opname = "put"; op_put(R, kid); }
        else if (x < 4300) { R->opname = "delete"; op_delete(R, kid); }
        else if (x < 5000) { R->opname = "batch"; op_batch(R, b); }
        else if (x < 7400) { R->opname = "get"; check_get(R, NULL, R->cur, kid); }
        else if (x < 8200) {
            R->opname = "snapshot get";
            if (R->nsnaps) {
                int si = (int)tu_below(&R->r, R->nsnaps);
                check_get(R, R->snaps[si].s, R->snaps[si].state, kid);
                R->snapreads++;
            }
        }
        else if (x < 8900) { R->opname = "scan"; op_scan(R); }
        else if (x < 9500) { R->opname = "held iterator"; op_held(R); }
        else if (x < 9900) { R->opname = "snapshot"; op_snapshot(R); }
        else if (x < 9920) {
            R->opname = "flush";
            must(R, am_flush(R->db), "am_flush");
        }
        else if (x < 9997) { R->opname = "compact"; must(R, am_compact(R->db), "am_compact"); }
        else { R->opname = "reopen"; op_reopen(R); }
    }
    R->opname = "final check";
    /* Snapshots still read their past after all that. */
    for (int i = 0; i < R->nsnaps; i++)
        for (uint32_t kid = 0; kid < R->nk; kid += 7) check_get(R, R->snaps[i].s, R->snaps[i].state, kid);
    check_all(R);
    op_reopen(R);
    tally(R);
    am_stats st;
    must(R, am_stats_get(R->db, &st), "am_stats");
    print_message("  %s bg=%d: %ld ops, %ld gets, %ld snapshot gets, %ld scans, %ld reopens; "
                  "%llu flushes, %llu compactions, deepest level %d, %llu files in the end\n",
                  strategy, bg, nops, R->gets, R->snapreads, R->scans, R->reopens,
                  (unsigned long long)R->flushes, (unsigned long long)R->compactions,
                  R->max_level, (unsigned long long)st.live_sst_files);
    /* The run must really have exercised the tree. */
    if (R->flushes < 10 || R->compactions < 5 || R->max_level < 2)
        FAIL(R, "too little tree work (%llu flushes, %llu compactions, level %d): the test "
             "checked mostly memtables", (unsigned long long)R->flushes,
             (unsigned long long)R->compactions, R->max_level);
    am_batch_free(b);
    R->opname = "close";
    must(R, am_close(R->db), "close");
    tu_rmtree(R->dir);
    free(R->cur);
    free(R);
}

static long ops_for_flavor(long base)
{
    /* The sanitizer builds are slower; keep them under their time budget. */
    const char *f = getenv("AM_TEST_FLAVOR");
    if (f && strcmp(f, "rel") != 0) return base / 2;
    return base;
}

static void test_model_inline(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSTRATEGIES; i++)
        run_model(strategies[i], 0, 0x5eed0001u + i, ops_for_flavor(40000));
}

static void test_model_background(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSTRATEGIES; i++)
        run_model(strategies[i], 2, 0x5eed1001u + i, ops_for_flavor(40000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_inline),
        cmocka_unit_test(test_model_background),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
