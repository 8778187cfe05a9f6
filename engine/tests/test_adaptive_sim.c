/* test_adaptive_sim.c: the adaptive strategy driven against a simulated tree, to check the
 * lookup invariant on many more shapes than a database reaches quickly. Segments are
 * detached (no files) and carry their entries (key, seq, tombstone) in memory; flushes add
 * L0 runs and charge writes to the segments whose ranges they land in; lookups walk the
 * version exactly as the engine does (levels, runs newest first, run_find), count reads
 * on the segments they search, and must return the newest entry of a model. Picked jobs
 * stay in flight (in the inflight set every pick is given, as db_bg.c keeps it) while
 * flushes and other picks go on, and finish in random
 * order: merged (newest entry per key, tombstones dropped when bottommost, outputs cut at
 * random sizes, counters inherited by size as db_bg.c does) or moved. After every change
 * the overlapping runs of each level must have disjoint seq intervals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amethyst.h"
#include "compact/inflight.h"
#include "compact/strategy.h"
#include "testutil.h"
#include "util/ikey.h"
#include "version/version.h"

enum { NKEYS = 300, MAX_SEGS = 4096, MAX_FLIGHT = 4 };

typedef struct ent { uint32_t key; uint64_t seq; int del; } ent;

typedef struct sseg {
    am_segment *g;                 /* one reference held here */
    ent *e;                        /* sorted by key, one entry per key; owned */
    size_t n;
} sseg;

typedef struct sim {
    tu_rng r;
    const am_strategy *st;
    void *self;
    am_options o;
    sseg seg[MAX_SEGS];
    size_t nseg;
    am_version *v;
    uint64_t seq, next_id, ops;
    uint64_t model_seq[NKEYS];
    int model_del[NKEYS];          /* newest entry is a tombstone (or the key was never written) */
    am_job flight[MAX_FLIGHT];
    uint64_t ticket[MAX_FLIGHT];   /* of flight[i] in inf (0: a move, never in inf) */
    int nflight;
    inflight_set inf;
    long picks, switches[2], merges, moves;
} sim;

static size_t key_str(uint32_t k, char *out) { return (size_t)snprintf(out, 8, "%04u", k); }

static sseg *find_sseg(sim *S, const am_segment *g)
{
    for (size_t i = 0; i < S->nseg; i++) if (S->seg[i].g == g) return &S->seg[i];
    return NULL;
}

static sseg *find_id(sim *S, int level, uint64_t id)
{
    for (size_t i = 0; i < S->nseg; i++)
        if (S->seg[i].g->d.id == id && S->seg[i].g->d.level == level) return &S->seg[i];
    return NULL;
}

/* A detached segment over entries e[0..n) (sorted, n > 0), which it takes. */
static void add_seg(sim *S, ent *e, size_t n, int level, uint64_t id, uint64_t run, int tag,
                    uint64_t reads, uint64_t writes)
{
    assert_true(S->nseg < MAX_SEGS && n > 0);
    seg_desc d;
    memset(&d, 0, sizeof d);
    d.id = id;
    d.level = level;
    d.run = run;
    d.tag = tag;
    d.entries = n;
    d.bytes = 100 * n;
    d.min_seq = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (e[i].seq < d.min_seq) d.min_seq = e[i].seq;
        if (e[i].seq > d.max_seq) d.max_seq = e[i].seq;
        d.deletions += e[i].del;
    }
    d.reads = reads;
    d.writes = writes;
    char lo[8], hi[8], sk[16], lk[16];
    size_t ln = key_str(e[0].key, lo), hn = key_str(e[n - 1].key, hi);
    ikey_build(sk, lo, ln, d.max_seq, AM_KIND_VALUE);
    ikey_build(lk, hi, hn, d.min_seq, AM_KIND_VALUE);
    d.smallest = sk; d.smallest_len = ln + 8;
    d.largest = lk;  d.largest_len = hn + 8;
    am_segment *g = seg_new_detached(&d);
    assert_non_null(g);
    S->seg[S->nseg++] = (sseg){ g, e, n };
}

static void drop_seg(sim *S, sseg *s)
{
    seg_unref(s->g);
    free(s->e);
    *s = S->seg[--S->nseg];
}

/* ---- the invariant ---- */

static void check_runs(const am_version *v)
{
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        const am_level *L = &v->levels[l];
        for (size_t a = 0; a < L->nruns; a++)
            for (size_t b = a + 1; b < L->nruns; b++) {
                const am_run *x = &L->runs[a], *y = &L->runs[b];
                uint64_t xlo = UINT64_MAX, xhi = 0, ylo = UINT64_MAX, yhi = 0;
                int ov = 0;
                for (size_t i = 0; i < x->nsegs; i++) {
                    if (x->segs[i]->d.min_seq < xlo) xlo = x->segs[i]->d.min_seq;
                    if (x->segs[i]->d.max_seq > xhi) xhi = x->segs[i]->d.max_seq;
                    for (size_t j = 0; j < y->nsegs && !ov; j++) {
                        size_t an, bn, cn, dn;
                        const char *alo = seg_smallest_ukey(x->segs[i], &an), *ahi = seg_largest_ukey(x->segs[i], &bn);
                        const char *blo = seg_smallest_ukey(y->segs[j], &cn), *bhi = seg_largest_ukey(y->segs[j], &dn);
                        ov = ukey_cmp(alo, an, bhi, dn) <= 0 && ukey_cmp(blo, cn, ahi, bn) <= 0;
                    }
                }
                for (size_t j = 0; j < y->nsegs; j++) {
                    if (y->segs[j]->d.min_seq < ylo) ylo = y->segs[j]->d.min_seq;
                    if (y->segs[j]->d.max_seq > yhi) yhi = y->segs[j]->d.max_seq;
                }
                if (ov && !(ylo > xhi || xlo > yhi))
                    fail_msg("L%d: runs %llu and %llu overlap with seq intervals [%llu, %llu] and [%llu, %llu]",
                             l, (unsigned long long)x->id, (unsigned long long)y->id,
                             (unsigned long long)xlo, (unsigned long long)xhi,
                             (unsigned long long)ylo, (unsigned long long)yhi);
            }
    }
}

static void rebuild(sim *S)
{
    am_segment *segs[MAX_SEGS];
    for (size_t i = 0; i < S->nseg; i++) segs[i] = S->seg[i].g;
    version_unref(S->v);
    S->v = version_build(segs, S->nseg);
    assert_non_null(S->v);
    check_runs(S->v);
}

/* ---- lookups, as db_read.c walks the tree ---- */

static void lookup(sim *S, uint32_t k)
{
    char kb[8];
    size_t kn = key_str(k, kb);
    S->ops++;
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        const am_level *L = &S->v->levels[l];
        for (size_t r = 0; r < L->nruns; r++) {
            am_segment *g = run_find(&L->runs[r], kb, kn);
            if (!g) continue;
            atomic_fetch_add(&g->reads, 1);
            const sseg *s = find_sseg(S, g);
            for (size_t i = 0; i < s->n; i++) {
                if (s->e[i].key != k) continue;
                if (s->e[i].seq != S->model_seq[k] || s->e[i].del != S->model_del[k])
                    fail_msg("key %u: found seq %llu%s in L%d run %llu, newest is %llu%s", k,
                             (unsigned long long)s->e[i].seq, s->e[i].del ? " (deleted)" : "", l,
                             (unsigned long long)L->runs[r].id,
                             (unsigned long long)S->model_seq[k], S->model_del[k] ? " (deleted)" : "");
                return;
            }
        }
    }
    if (!S->model_del[k]) fail_msg("key %u: not found, newest is seq %llu", k, (unsigned long long)S->model_seq[k]);
}

/* ---- flushes ---- */

static int cmp_ent(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;   /* newest first */
}

static void flush(sim *S)
{
    size_t want = 1 + tu_below(&S->r, 60);
    static const uint32_t widths[] = { 8, 20, 40, NKEYS };   /* local and spread writes */
    uint32_t base = (uint32_t)tu_below(&S->r, NKEYS), width = widths[tu_below(&S->r, 4)];
    ent *e = malloc(want * sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < want; i++) {
        uint32_t k = (base + (uint32_t)tu_below(&S->r, width)) % NKEYS;
        e[i] = (ent){ k, ++S->seq, tu_below(&S->r, 10) == 0 };
        S->model_seq[k] = e[i].seq;
        S->model_del[k] = e[i].del;
        S->ops++;
    }
    qsort(e, want, sizeof *e, cmp_ent);
    size_t n = 0;                              /* keep the newest entry per key */
    for (size_t i = 0; i < want; i++) if (!n || e[n - 1].key != e[i].key) e[n++] = e[i];
    /* Charge the writes to every segment whose range the keys land in. */
    for (size_t i = 0; i < n; i++) {
        char kb[8];
        size_t kn = key_str(e[i].key, kb), sn, ln;
        for (size_t j = 0; j < S->nseg; j++) {
            const am_segment *g = S->seg[j].g;
            const char *sk = seg_smallest_ukey(g, &sn), *lk = seg_largest_ukey(g, &ln);
            if (ukey_cmp(kb, kn, sk, sn) >= 0 && ukey_cmp(kb, kn, lk, ln) <= 0)
                atomic_fetch_add(&S->seg[j].g->writes, 1);
        }
    }
    uint64_t id = S->next_id++;
    add_seg(S, e, n, 0, id, id, AM_TAG_LEVELED, 0, 0);
    rebuild(S);
    am_event ev = { .kind = 0, .v = S->v };
    if (S->st->observe) S->st->observe(S->self, &ev);
}

/* ---- jobs ---- */

static void check_job(sim *S, const am_job *j)
{
    assert_true(j->ninputs > 0);
    assert_true(j->out_level >= 0 && j->out_level < AM_MAX_LEVELS);
    assert_true(j->out_run == 0 || j->out_run == (uint64_t)j->out_level);
    for (size_t i = 0; i < j->ninputs; i++) {
        sseg *s = find_id(S, j->inputs[i].level, j->inputs[i].id);
        if (!s) fail_msg("input L%d:%llu is not in the tree", j->inputs[i].level,
                         (unsigned long long)j->inputs[i].id);
        assert_false(inflight_busy(&S->inf, j->inputs[i].level, j->inputs[i].id));
        assert_true(j->inputs[i].level <= j->out_level);
        for (size_t k = 0; k < i; k++)
            assert_false(j->inputs[k].id == j->inputs[i].id && j->inputs[k].level == j->inputs[i].level);
    }
}

static void finish_move(sim *S, const am_job *j, uint64_t run)
{
    for (size_t i = 0; i < j->ninputs; i++) {
        sseg *s = find_id(S, j->inputs[i].level, j->inputs[i].id);
        ent *e = s->e;
        size_t n = s->n;
        uint64_t r = atomic_load(&s->g->reads), w = atomic_load(&s->g->writes), id = s->g->d.id;
        s->e = NULL;
        drop_seg(S, s);
        add_seg(S, e, n, j->out_level, id, run, j->out_tag, r, w);
    }
    S->moves++;
}

static void finish_merge(sim *S, const am_job *j, uint64_t run)
{
    size_t total = 0;
    uint64_t reads = 0, writes = 0;
    for (size_t i = 0; i < j->ninputs; i++) total += find_id(S, j->inputs[i].level, j->inputs[i].id)->n;
    ent *all = malloc((total ? total : 1) * sizeof *all);
    assert_non_null(all);
    size_t m = 0;
    for (size_t i = 0; i < j->ninputs; i++) {
        sseg *s = find_id(S, j->inputs[i].level, j->inputs[i].id);
        memcpy(all + m, s->e, s->n * sizeof *all);
        m += s->n;
        reads += atomic_load(&s->g->reads);
        writes += atomic_load(&s->g->writes);
        drop_seg(S, s);
    }
    qsort(all, m, sizeof *all, cmp_ent);
    size_t n = 0;
    for (size_t i = 0; i < m; i++) {
        if (n && all[n - 1].key == all[i].key) continue;      /* shadowed */
        all[n++] = all[i];
    }
    if (j->bottommost) {                                       /* tombstones go */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) if (!all[i].del) all[k++] = all[i];
        n = k;
    }
    size_t cut = 3 + tu_below(&S->r, 20);
    for (size_t i = 0; i < n; i += cut) {
        size_t c = n - i < cut ? n - i : cut;
        ent *e = malloc(c * sizeof *e);
        assert_non_null(e);
        memcpy(e, all + i, c * sizeof *e);
        add_seg(S, e, c, j->out_level, S->next_id++, run, j->out_tag,
                reads * c / n, writes * c / n);
    }
    free(all);
    S->merges++;
}

/* Installs flight job k (its inputs are still in the tree, busy). */
static void finish(sim *S, int k)
{
    am_job *j = &S->flight[k];
    inflight_done(&S->inf, S->ticket[k]);
    uint64_t run = j->out_run ? j->out_run : S->next_id++;
    if (j->trivial_move) finish_move(S, j, run);
    else finish_merge(S, j, run);
    rebuild(S);
    am_event ev = { .kind = 1, .job = j, .v = S->v };
    if (S->st->observe) S->st->observe(S->self, &ev);
    job_clear(j);
    S->nflight--;
    S->flight[k] = S->flight[S->nflight];
    S->ticket[k] = S->ticket[S->nflight];
}

static void pick(sim *S)
{
    if (S->nflight == MAX_FLIGHT) return;
    am_pick_env env;
    inflight_env(&S->inf, S->v, S->ops, 0, &env);
    am_job *j = &S->flight[S->nflight];
    S->ticket[S->nflight] = 0;
    job_init(j);
    if (!S->st->pick(S->self, &env, j)) {
        assert_int_equal(j->ninputs, 0);
        job_clear(j);
        return;
    }
    check_job(S, j);
    S->picks++;
    if (j->reason == JOB_SWITCH_LEVELED) S->switches[0]++;
    if (j->reason == JOB_SWITCH_TIERED) S->switches[1]++;
    if (j->trivial_move) {                      /* the engine installs moves at once */
        S->nflight++;
        finish(S, S->nflight - 1);
        return;
    }
    assert_int_equal(inflight_add(&S->inf, S->v, j, &S->ticket[S->nflight]), AM_OK);
    S->nflight++;
}

static void run_sim(uint64_t seed, long steps, long *sw)
{
    sim *S = calloc(1, sizeof *S);
    assert_non_null(S);
    S->r.s = seed;
    for (uint32_t k = 0; k < NKEYS; k++) S->model_del[k] = 1;
    S->next_id = 10;
    S->o.adapt_clock_ops = 1;
    S->o.adapt_window = 3000;
    S->o.adapt_cooldown = 1000 + (double)tu_below(&S->r, 4000);
    S->o.adapt_global_cooldown = 50 + (double)tu_below(&S->r, 500);
    S->o.adapt_read_threshold = 0.6;
    S->o.adapt_write_threshold = 0.6;
    S->o.tier_fanout = 2 + (int)tu_below(&S->r, 4);
    S->o.l0_compaction_trigger = 1 + (int)tu_below(&S->r, 4);
    S->o.level_fanout = 2 + (int)tu_below(&S->r, 3);
    S->o.l1_target_bytes = 1000 + 1000 * tu_below(&S->r, 5);
    S->st = strategy_find("adaptive");
    assert_non_null(S->st);
    S->self = S->st->create(&S->o);
    assert_non_null(S->self);
    rebuild(S);
    for (long step = 0; step < steps; step++) {
        int reads = (step / 600) % 2;          /* alternate write- and read-heavy stretches */
        unsigned d = (unsigned)tu_below(&S->r, 100);
        if (d < (reads ? 3u : 40u)) flush(S);
        else if (d < (reads ? 60u : 55u)) {
            for (int i = 0; i < 8; i++) lookup(S, (uint32_t)tu_below(&S->r, NKEYS));
        } else if (d < 85) pick(S);
        else if (S->nflight) finish(S, (int)tu_below(&S->r, (uint64_t)S->nflight));
    }
    while (S->nflight) finish(S, S->nflight - 1);
    for (uint32_t k = 0; k < NKEYS; k++) lookup(S, k);
    sw[0] += S->switches[0];
    sw[1] += S->switches[1];
    while (S->nseg) drop_seg(S, &S->seg[S->nseg - 1]);
    version_unref(S->v);
    inflight_free(&S->inf);
    S->st->destroy(S->self);
    free(S);
}

static void test_simulated_trees(void **state)
{
    (void)state;
    long sw[2] = { 0, 0 };
    const char *env = getenv("AM_SIM_SEEDS");    /* longer soaks: AM_SIM_SEEDS=1000 */
    uint64_t seeds = env && atoi(env) > 0 ? (uint64_t)atoi(env) : 20;
    for (uint64_t seed = 1; seed <= seeds; seed++) run_sim(seed, 4000, sw);
    print_message("  %llu runs: %ld switches to leveled, %ld to tiered\n",
                  (unsigned long long)seeds, sw[0], sw[1]);
    assert_true(sw[0] > 0);
    assert_true(sw[1] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simulated_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
