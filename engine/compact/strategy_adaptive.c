/* strategy_adaptive.c: the adaptive strategy, am_strategy_adaptive. Every segment carries a
 * tag, tiered or leveled. A controller (adaptive_controller.c) keeps a sliding window of
 * each segment's read / write counter snapshots and flags a tiered segment under sustained
 * read pressure need-leveled, a leveled one under write pressure need-tiered; a director
 * (adaptive_director.c) turns flags into switch jobs; the base policy (adaptive_base.c)
 * does the normal work; adaptive_job.c makes every job safe. This file owns the strategy
 * object and the order of picks. docs/strategies-adaptive.md says it in prose.
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
 * Jobs in parallel (background_threads > 1). The engine passes every pick the jobs still in
 * flight (strategy.h am_pick_env); ad_try (adaptive_job.c) checks against them. A new
 * job must not interfere with one in flight: their key spans are disjoint (a job's span:
 * its inputs', and for a job joining a run, that whole run's, whose seq interval it
 * changes), or their level ranges [shallowest input, output] are, or they are stacked (one writes, from levels strictly above, the level where the
 * other's shallowest inputs are, and the other writes deeper). Each job's closure was
 * computed on a version holding the other's inputs, and in these three cases no key sees
 * both jobs change an order the other relied on. Flushes only add newer L0 runs.
 *
 * State: the controller's table, the clock of the pick under way, the last switch, one
 * round-robin key per level; changed by pick and observe, both under the engine mutex.
 * pending_bytes reads only the version and the config. */
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

static void adaptive_destroy(void *self)
{
    adaptive *s = self;
    if (!s) return;
    rpick_cursor_free(&s->ptr);
    ctl_free(&s->ctl);
    free(s);
}

/* ---- the strategy ---- */

static int adaptive_pick(void *self, const am_pick_env *env, am_job *job)
{
    adaptive *s = self;
    s->now = s->cfg.clock_ops ? env->ops : env->micros;
    (void)ctl_sample(&s->ctl, env->v, s->now);   /* on OOM: judged on the older samples */
    ad_view w;
    if (ad_view_build(&w, env) != AM_OK) return 0;
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
    .clocked = 1,
    .defaults = adaptive_defaults,
    .flush_tag = AM_TAG_TIERED,
};
