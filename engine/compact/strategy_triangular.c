/* strategy_triangular.c: the triangular strategy (after lsmtk), am_strategy_triangular. It
 * only decides, and keeps no state: a pick is a function of the version alone.
 *
 * Shape: as leveled. L0 holds each flush as its own run; every level n >= 1 is one run whose
 * id is n (outputs join it, tag leveled). Capacities: L0 l0_compaction_trigger files
 * (default 4); Ln, 1 <= n <= 6, cap(n) = l1_target_bytes * level_fanout^(n-1) bytes
 * (defaults 4 * memtable_bytes, or 16 MiB when that is 0, and 2: see the bound below). The last level,
 * AM_MAX_LEVELS - 1 (L7), has no capacity and only receives.
 *
 * Triangles. A triangle starts at a full top level La: L0 at its trigger, or Ln over twice
 * its capacity (more than triangles can bring it, see below, even when flushes come out up
 * to twice as large as l1_target_bytes assumes: a tree that other options or another
 * strategy shaped). It carries above = bytes(La) and extends through every following level that
 * is full for it: non-empty, with bytes(n) + above > cap(n) (no room for what the triangle
 * brings), adding bytes(n) to above; it stops at the first level with room, L(k+1) (empty,
 * or the sum fits, or L7), where its data goes (out_level = out_run = k+1). Tops are tried
 * from L0 down; one whose candidates are all busy gives way to the next.
 *
 * Candidates: a seed is one segment of La (for a = 0, one L0 run: a flush). Its closure
 * takes every segment of La..L(k+1) that overlaps the range so far, widening the range by
 * each one taken, at every level (down to L(k+1) and back up) until nothing more overlaps.
 * That fixpoint is the seed's connected component in the graph "user-key ranges overlap"
 * over La..L(k+1), found by one sweep over those segments sorted by smallest key. So a job
 * leaves no segment overlapping its range in any of its levels: no older entry stays
 * above a newer one, and every older L0 run overlapping a taken one is taken too (L0
 * inputs are age-contiguous where keys meet). A candidate is scored pushed / rewritten:
 * pushed = its bytes in La..Lk (moved down), rewritten = all its bytes (pushed plus the
 * L(k+1) bytes merged again). The best wins; ties: more bytes pushed, then the first in
 * key order. A candidate holding a busy segment is skipped.
 *   trivial move: a candidate of one segment (nothing else in La..L(k+1) overlaps it).
 *   bottommost: no segment of a level below L(k+1) overlaps the job's range.
 *   reason: JOB_L0 when the triangle starts at L0, else JOB_LEVEL_SIZE.
 *
 * Write amplification. Take level_fanout 2 and call the bytes of a full L0 a unit, with
 * l1_target_bytes about one unit (the default: 4 flushes of memtable_bytes each, each
 * SSTable no larger than its memtable). Then cap(n) = 2^(n-1) units, which is what a
 * triangle of full levels L0..L(n-1) brings (1 + 1 + 2 + ... + 2^(n-2)); so a non-empty
 * level never has room, every triangle lands in an empty level, and the levels count units
 * in binary, like a growing vector doubling: unit i (from 0) triggers the triangle
 * L0..Lt, t = the trailing one bits of i, which writes 2^t units into L(t+1). Over U units
 * Lj is written floor((U + 2^(j-1)) / 2^j) times, 2^(j-1) units each, at most U/2 +
 * 2^(j-2) units; summed over j = 1..d, d the deepest level reached (2^(d-1) <= U):
 *     bytes written by merges <= (d/2 + 1) * bytes flushed,
 * so with the flush (d/2 + 2) times the flushed bytes per user byte. (lsmtk's "6.5x" is
 * d = 11. Overwrites only shrink merges.) No byte is merged in place: each merge moves all
 * it writes at least one level down. With fanout f the same rule counts in base f: Ln
 * takes f - 1 triangles before it is full, merging its own data again each time, about
 * (f - 1) / 2 writes per byte per level; f = 2 writes least, but L1..L6 then hold only
 * 63 units before L7, which is rewritten by each triangle that reaches it.
 * engine/tests/test_triangular.c measures both.
 *
 * Thread safety: pick is called under the engine mutex; pending_bytes reads only the
 * version and the configuration. */
#include <stdlib.h>

#include "compact/run_pick.h"
#include "compact/strategy.h"

#define DEF_FANOUT 2      /* the bound below holds for 2: a growing vector that doubles */
#define LAST_LEVEL (AM_MAX_LEVELS - 1)

typedef struct triangular {
    level_shape shape;                        /* immutable after create */
} triangular;

/* One segment of the levels a triangle spans. */
typedef struct tseg {
    am_segment *g;                            /* borrowed from the version */
    int level;
} tseg;

/* A connected component of tseg[lo..hi) (sorted by smallest key) and its totals. */
typedef struct cand {
    size_t lo, hi;
    uint64_t pushed, total;
} cand;

static void *tri_create(const am_options *o)
{
    triangular *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    level_shape_init(&s->shape, o, DEF_FANOUT);
    return s;
}

static void tri_destroy(void *self)
{
    free(self);
}

/* Capacity in bytes of level 1 <= n < LAST_LEVEL, saturating instead of overflowing. */
static uint64_t level_cap(const triangular *s, int n)
{
    return level_shape_target(&s->shape, n);
}

/* 1 when a triangle starts at level a: L0 holds l0_compaction_trigger files, or La
   (1 <= a < LAST_LEVEL) holds more than twice cap(a). */
static int top_full(const triangular *s, const am_version *v, int a)
{
    if (a == 0) return v->levels[0].nsegs >= (uint64_t)s->shape.l0_trigger;
    uint64_t cap = a < LAST_LEVEL ? level_cap(s, a) : UINT64_MAX;
    return cap <= UINT64_MAX / 2 && v->levels[a].bytes > 2 * cap;
}

/* 1 when Ln (n >= 1) can take a triangle that carries `above` bytes: it is the last level,
   it is empty, or bytes(n) + above fits in cap(n). Otherwise Ln is full: it joins the
   triangle. */
static int has_room(const triangular *s, const am_version *v, int n, uint64_t above)
{
    if (n >= LAST_LEVEL) return 1;
    uint64_t b = v->levels[n].bytes, cap = level_cap(s, n);
    return b == 0 || (above <= cap && b <= cap - above);
}

static int cmp_tseg(const void *a, const void *b)
{
    const tseg *x = a, *y = b;
    size_t xn, yn;
    const char *xk = seg_smallest_ukey(x->g, &xn), *yk = seg_smallest_ukey(y->g, &yn);
    int c = ukey_cmp(xk, xn, yk, yn);
    if (c) return c;
    if (x->level != y->level) return x->level < y->level ? -1 : 1;
    return x->g->d.id < y->g->d.id ? -1 : x->g->d.id > y->g->d.id;
}

/* Every segment of levels a..out, sorted by smallest user key. NULL (and *n = 0) when
   there is none or on OOM. */
static tseg *gather(const am_version *v, int a, int out, size_t *n)
{
    size_t total = 0, k = 0;
    for (int l = a; l <= out; l++) total += v->levels[l].nsegs;
    *n = 0;
    if (!total) return NULL;
    tseg *t = malloc(total * sizeof(*t));
    if (!t) return NULL;
    for (int l = a; l <= out; l++) {
        const am_level *L = &v->levels[l];
        for (size_t r = 0; r < L->nruns; r++)
            for (size_t i = 0; i < L->runs[r].nsegs && k < total; i++)
                t[k++] = (tseg){ L->runs[r].segs[i], l };
    }
    qsort(t, k, sizeof(*t), cmp_tseg);
    *n = k;
    return t;
}

/* 1 when candidate x beats y: a higher pushed / total, then more pushed. Equal: 0. */
static int better(const cand *x, const cand *y)
{
    double lhs = (double)x->pushed * (double)y->total;
    double rhs = (double)y->pushed * (double)x->total;
    if (lhs != rhs) return lhs > rhs;
    return x->pushed > y->pushed;
}

/* Finds the best candidate of the triangle a..out-1 among t[0..n) (sorted): each
 * component holding a segment of La and no busy segment. Returns 1 and sets *best, or 0. */
static int best_candidate(const am_pick_env *env, const tseg *t, size_t n, int a, int out,
                          cand *best)
{
    int found = 0;
    size_t i = 0;
    while (i < n) {
        cand c = { i, i, 0, 0 };
        int has_top = 0, busy = 0;
        size_t hn, sn, ln;
        const char *hi = seg_largest_ukey(t[i].g, &hn);
        /* Extend while the next segment starts at or before the component's largest key. */
        for (; c.hi < n; c.hi++) {
            const char *sk = seg_smallest_ukey(t[c.hi].g, &sn);
            if (c.hi > i && ukey_cmp(sk, sn, hi, hn) > 0) break;   /* a gap */
            const char *lk = seg_largest_ukey(t[c.hi].g, &ln);
            if (ukey_cmp(lk, ln, hi, hn) > 0) { hi = lk; hn = ln; }
            has_top |= t[c.hi].level == a;
            busy |= pick_busy(env, t[c.hi].g);
            if (t[c.hi].level < out) c.pushed += t[c.hi].g->d.bytes;
            c.total += t[c.hi].g->d.bytes;
        }
        i = c.hi;
        if (!has_top || busy) continue;
        if (!found || better(&c, best)) *best = c;
        found = 1;
    }
    return found;
}

/* Fills job from candidate c of the triangle a..out-1. 0 on OOM. */
static int fill_job(const triangular *s, const am_version *v, const tseg *t, const cand *c,
                    int a, int out, am_job *job)
{
    view_range r = {0};
    for (size_t i = c->lo; i < c->hi; i++) {
        view_range_add(&r, t[i].g);
        if (job_add_input(job, t[i].level, t[i].g->d.id) != AM_OK) return 0;
    }
    job->reason = a == 0 ? JOB_L0 : JOB_LEVEL_SIZE;
    job->out_level = out;
    job->out_run = (uint64_t)out;
    job->out_tag = AM_TAG_LEVELED;
    job->target_file_bytes = s->shape.target_file;
    job->trivial_move = c->hi - c->lo == 1;
    job->bottommost = view_nothing_older(v, out + 1, 0, &r);
    return 1;
}

/* The job of the triangle a..out-1, or 0 when every candidate is busy (or on OOM). */
static int pick_triangle(const triangular *s, const am_pick_env *env, int a, int out,
                         am_job *job)
{
    const am_version *v = env->v;
    size_t n;
    tseg *t = gather(v, a, out, &n);
    if (!t) return 0;
    cand c;
    int ok = best_candidate(env, t, n, a, out, &c) && fill_job(s, v, t, &c, a, out, job);
    free(t);
    return ok;
}

static int tri_pick(void *self, const am_pick_env *env, am_job *job)
{
    const triangular *s = self;
    const am_version *v = env->v;
    for (int a = 0; a < LAST_LEVEL; a++) {
        if (!top_full(s, v, a)) continue;
        uint64_t above = v->levels[a].bytes;
        int out = a + 1;
        while (!has_room(s, v, out, above)) above += v->levels[out++].bytes;
        if (pick_triangle(s, env, a, out, job)) return 1;
        job_clear(job);                   /* every candidate busy: try a deeper top */
    }
    return 0;
}

/* Bytes above capacity in the levels where a triangle starts: all of L0 once it holds
   l0_compaction_trigger files, and for a level n >= 1 over twice cap(n), bytes - cap(n). */
static uint64_t tri_pending_bytes(void *self, const am_version *v)
{
    const triangular *s = self;
    uint64_t sum = 0;
    if (top_full(s, v, 0)) sum += v->levels[0].bytes;
    for (int n = 1; n < LAST_LEVEL; n++)
        if (top_full(s, v, n)) sum += v->levels[n].bytes - level_cap(s, n);
    return sum;
}

/* level_fanout 0 means 2 here, where the write amplification bound holds. */
static void tri_defaults(am_options *o)
{
    if (!o->level_fanout) o->level_fanout = DEF_FANOUT;
}

const am_strategy am_strategy_triangular = {
    .name = "triangular",
    .create = tri_create,
    .destroy = tri_destroy,
    .pick = tri_pick,
    .observe = NULL,
    .pending_bytes = tri_pending_bytes,
    .defaults = tri_defaults,
};
