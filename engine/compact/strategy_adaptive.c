/* strategy_adaptive.c: the adaptive strategy, am_strategy_adaptive. Every segment carries a
 * tag, tiered or leveled. A controller (adaptive_controller.c) keeps a sliding window of
 * each segment's read / write counter snapshots and flags a tiered segment under sustained
 * read pressure need-leveled, a leveled one under write pressure need-tiered; a director
 * (adaptive_director.c) turns flags into switch jobs; the base policy (adaptive_base.c)
 * does the normal work; adaptive_job.c makes every job safe. This file owns the strategy
 * object, the order of picks, and the jobs in flight. docs/strategies-adaptive.md says it
 * in prose.
 *
 * Shape. L0 holds each flush as its own run (the engine's). Flushed data counts as tiered,
 * the write-optimised tag, and leaves L0 as one new tiered run of L1. A level n >= 1 holds
 * tiered runs (fresh run ids, tag tiered) and at most one leveled run, the run whose id is
 * n (tag leveled), merged like the leveled strategy's levels. A run's class is its id.
 *
 * Invariant, kept by every job:
 *   (P) for any user key, its entries in level i are newer than those in any level j > i;
 *   (T) two runs of one level whose key ranges overlap (a segment of one overlaps a
 *       segment of the other) have disjoint seq intervals [min_seq, max_seq].
 * With (T), the engine's order inside a level (max_seq descending) is the order of age of
 * any two runs sharing a key: max(A) > max(B) and disjoint intervals put every entry of A
 * after every entry of B. With (P) this is the lookup invariant of version.h. Flushes are
 * disjoint time slices, so L0 keeps (T); a run that loses segments keeps it too.
 *
 * Safe jobs (adaptive_job.c ad_close). A job with inputs S writing level L (a new run, or
 * joining the leveled run L) is widened until:
 *   C2 an input h on a level l < L: every other segment of l overlapping h belongs to a run
 *      newer than h's;
 *   C3 an input h on a level l: no segment of a level strictly between l and L overlaps h
 *      unless it is an input;
 *   C4 on L, every other run overlapping the output (the inputs' span plus the rest of a
 *      joined run; for a move, the inputs' own ranges) has a seq interval disjoint from the
 *      output run's (the inputs' interval, plus the rest of a joined run); a joined run has
 *      every segment overlapping the span among the inputs.
 * Widening adds the offending segments (for C4, the conflicting run's overlapping ones), so
 * it ends; when a segment it must add is busy, the job is dropped.
 * Proof that a closed job keeps (P) and (T): let e be an output entry of key k, from an
 * input on level l' <= L, and x a remaining entry of k. If x is on a level m < L: l' < m
 * would make x's segment overlap that input (C3 forbids); l' = m puts x's run before the
 * input's (C2), hence x is newer by (T); l' > m makes x newer by (P). If x is on L, C4 gives
 * x's run and the output run disjoint intervals, so the max_seq order is the age order.
 * If x is below L, it is older than every input by (P). So (P) holds after the job, and
 * (T) holds for the output's run by C4 and for every other pair as runs only shrank.
 * bottommost is set only when no segment below L, and no older run on L, overlaps the span.
 *
 * Picks, in this order: the L0 merge once L0 reaches its trigger (writers wait on L0, so
 * it goes first); then a switch job (at most one per global cooldown); then full tiers and
 * leveled runs over target, by score (adaptive_base.c). Flagging and switching: see
 * adaptive_controller.h and adaptive_director.c.
 *
 * Jobs in parallel (background_threads > 1). A job handed out is remembered until its
 * inputs are no longer busy. A new job must not interfere with one in flight: their key
 * spans are disjoint (a job's span: its inputs', and for a job joining a run, that whole
 * run's, whose seq interval it changes), or their level ranges [shallowest input, output]
 * are, or they are stacked (one writes, from levels strictly above, the level where the
 * other's shallowest inputs are, and the other writes deeper). Each job's closure was
 * computed on a version holding the other's inputs, and in these three cases no key sees
 * both jobs change an order the other relied on. Flushes only add newer L0 runs.
 *
 * State: the controller's table, the clock of the last tick, the last switch, one
 * round-robin key per level, the jobs in flight; changed by pick, observe and tick, all
 * under the engine mutex. pending_bytes reads only the version and the config. */
#include <stdlib.h>
#include <string.h>

#include "compact/adaptive.h"

#define DEF_THRESHOLD 0.7

/* The controller's defaults, in operations and in seconds (amethyst.h). In seconds: a
 * window of 2 s judges the last couple of seconds of a workload; a switch then holds for
 * 3 s. With 10 s and 30 s the shift workload's phases (2 to 13 s at 1M keys) ended before
 * the window saw their mix, and a segment switched in one phase was still cooling down in
 * the next (measured: no switch to tiered at all). */
#define DEF_WINDOW_OPS 100000
#define DEF_WINDOW_SECS 2
#define DEF_COOLDOWN_OPS 300000
#define DEF_COOLDOWN_SECS 3
#define DEF_GLOBAL_OPS 10000
#define DEF_GLOBAL_SECS 0.5

/* A duration option in clock units: ops as given, seconds as microseconds. */
static uint64_t duration(double opt, double def_ops, double def_secs, int ops)
{
    double v = opt > 0 ? opt : (ops ? def_ops : def_secs);
    if (!ops) v *= 1e6;
    if (v >= 1.8e19) return UINT64_MAX;
    uint64_t u = (uint64_t)(v + 0.5);
    return u ? u : 1;
}

static void *adaptive_create(const am_options *o)
{
    adaptive *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    am_options z;
    if (!o) { memset(&z, 0, sizeof z); o = &z; }
    ad_config *c = &s->cfg;
    c->clock_ops = o->adapt_clock_ops != 0;
    c->window = duration(o->adapt_window, DEF_WINDOW_OPS, DEF_WINDOW_SECS, c->clock_ops);
    c->cooldown = duration(o->adapt_cooldown, DEF_COOLDOWN_OPS, DEF_COOLDOWN_SECS,
                           c->clock_ops);
    c->global_cooldown = duration(o->adapt_global_cooldown, DEF_GLOBAL_OPS, DEF_GLOBAL_SECS,
                                  c->clock_ops);
    c->read_thr = o->adapt_read_threshold > 0 ? o->adapt_read_threshold : DEF_THRESHOLD;
    c->write_thr = o->adapt_write_threshold > 0 ? o->adapt_write_threshold : DEF_THRESHOLD;
    c->tier_fanout = (int)rpick_fanout(o);
    level_shape_init(&c->shape, o, RPICK_DEF_LEVEL_FANOUT);
    ctl_init(&s->ctl, c->window, c->read_thr, c->write_thr);
    return s;
}

static void flight_drop(adaptive *s, size_t k)
{
    free(s->flight[k].lo);
    free(s->flight[k].hi);
    s->flight[k] = s->flight[--s->nflight];
}

static void adaptive_destroy(void *self)
{
    adaptive *s = self;
    if (!s) return;
    while (s->nflight) flight_drop(s, s->nflight - 1);
    free(s->flight);
    rpick_cursor_free(&s->ptr);
    ctl_free(&s->ctl);
    free(s);
}

/* ---- jobs in flight ---- */

/* Forgets the jobs whose first input is no longer busy (installed, failed or abandoned). */
static void flight_prune(adaptive *s, const ad_view *w)
{
    for (size_t k = s->nflight; k-- > 0;) {
        const seg_ref *f = &s->flight[k].first;
        int running = 0;
        for (size_t i = w->lseg[f->level]; f->level >= 0 && f->level < AM_MAX_LEVELS &&
                                           i < w->lseg[f->level + 1] && !running; i++)
            running = w->seg[i].g->d.id == f->id && w->seg[i].g->being_compacted;
        if (!running) flight_drop(s, k);
    }
}

/* The shape of a job about to be handed out. */
static ad_flight shape(const ad_view *w, const char *sel, const ad_plan *p, view_range *span)
{
    ad_flight f = { .minlev = AM_MAX_LEVELS, .maxin = -1, .out = p->out };
    memset(span, 0, sizeof *span);
    for (size_t i = 0; i < w->nseg; i++) {
        if (!sel[i]) continue;
        if (f.maxin < 0) f.first = (seg_ref){ w->seg[i].level, w->seg[i].g->d.id };
        if (w->seg[i].level < f.minlev) f.minlev = w->seg[i].level;
        if (w->seg[i].level > f.maxin) f.maxin = w->seg[i].level;
        view_range_add(span, w->seg[i].g);
    }
    /* Joining a run changes that run's seq interval over all of its key range. */
    long lr = p->join ? ad_leveled_run(w, p->out) : -1;
    for (size_t i = lr >= 0 ? w->run[lr].first : 0; lr >= 0 && i < w->run[lr].first + w->run[lr].n; i++)
        view_range_add(span, w->seg[i].g);
    return f;
}

static int stacked(const ad_flight *up, const ad_flight *down)
{
    return up->maxin < up->out && up->out == down->minlev && down->out > up->out;
}

static int interferes(const adaptive *s, const ad_flight *b, const view_range *span)
{
    for (size_t k = 0; k < s->nflight; k++) {
        const ad_flight *a = &s->flight[k];
        if (ukey_cmp(a->lo, a->lon, span->hi, span->hin) > 0 ||
            ukey_cmp(span->lo, span->lon, a->hi, a->hin) > 0) continue;
        if (a->out < b->minlev || b->out < a->minlev) continue;
        if (stacked(a, b) || stacked(b, a)) continue;
        return 1;
    }
    return 0;
}

static int flight_add(adaptive *s, const ad_flight *f, const view_range *span)
{
    if (s->nflight == s->capflight) {
        size_t cap = s->capflight ? 2 * s->capflight : 4;
        ad_flight *p = realloc(s->flight, cap * sizeof *p);
        if (!p) return AM_ERR_NOMEM;
        s->flight = p;
        s->capflight = cap;
    }
    ad_flight n = *f;
    n.lo = malloc(span->lon ? span->lon : 1);
    n.hi = malloc(span->hin ? span->hin : 1);
    if (!n.lo || !n.hi) {
        free(n.lo);
        free(n.hi);
        return AM_ERR_NOMEM;
    }
    memcpy(n.lo, span->lo, span->lon);
    memcpy(n.hi, span->hi, span->hin);
    n.lon = span->lon;
    n.hin = span->hin;
    s->flight[s->nflight++] = n;
    return AM_OK;
}

int ad_try(adaptive *s, const ad_view *w, char *sel, const ad_plan *p, am_job *job)
{
    if (!ad_close(w, sel, p)) return 0;
    view_range span;
    ad_flight f = shape(w, sel, p, &span);
    if (f.maxin < 0) return 0;
    if (ad_fill_job(w, sel, p, &s->cfg, job) != AM_OK ||
        (p->exact && !job->trivial_move) ||      /* a move judged by its exact ranges */
        interferes(s, &f, &span) || flight_add(s, &f, &span) != AM_OK) {
        job_clear(job);
        return 0;
    }
    return 1;
}

/* ---- the strategy ---- */

static int adaptive_pick(void *self, const am_version *v, am_job *job)
{
    adaptive *s = self;
    (void)ctl_sample(&s->ctl, v, s->now);    /* on OOM: judged on the older samples */
    ad_view w;
    if (ad_view_build(&w, v) != AM_OK) return 0;
    flight_prune(s, &w);
    char *sel = malloc(w.nseg ? w.nseg : 1);
    int ok = sel && (ad_base_l0(s, &w, sel, job) || ad_director(s, &w, sel, job) ||
                     ad_base_rest(s, &w, sel, job));
    free(sel);
    ad_view_free(&w);
    return ok;
}

static void adaptive_observe(void *self, const am_event *e)
{
    adaptive *s = self;
    if (e->kind == 0) ctl_flushed(&s->ctl, e->v);
    else if (e->job) ctl_merged(&s->ctl, e->job, e->v);
}

static uint64_t adaptive_pending_bytes(void *self, const am_version *v)
{
    const adaptive *s = self;
    return ad_pending(&s->cfg, v);          /* the config never changes after create */
}

static void adaptive_tick(void *self, uint64_t ops, uint64_t micros)
{
    adaptive *s = self;
    s->now = s->cfg.clock_ops ? ops : micros;
}

/* am_options_resolve: the controller's zeros become the defaults of the clock chosen. */
static void adaptive_defaults(am_options *o)
{
    int ops = o->adapt_clock_ops != 0;
    if (!(o->adapt_window > 0)) o->adapt_window = ops ? DEF_WINDOW_OPS : DEF_WINDOW_SECS;
    if (!(o->adapt_cooldown > 0)) o->adapt_cooldown = ops ? DEF_COOLDOWN_OPS : DEF_COOLDOWN_SECS;
    if (!(o->adapt_global_cooldown > 0))
        o->adapt_global_cooldown = ops ? DEF_GLOBAL_OPS : DEF_GLOBAL_SECS;
    if (!(o->adapt_read_threshold > 0)) o->adapt_read_threshold = DEF_THRESHOLD;
    if (!(o->adapt_write_threshold > 0)) o->adapt_write_threshold = DEF_THRESHOLD;
}

const am_strategy am_strategy_adaptive = {
    .name = "adaptive",
    .create = adaptive_create,
    .destroy = adaptive_destroy,
    .pick = adaptive_pick,
    .observe = adaptive_observe,
    .pending_bytes = adaptive_pending_bytes,
    .tick = adaptive_tick,
    .defaults = adaptive_defaults,
    .flush_tag = AM_TAG_TIERED,
};
