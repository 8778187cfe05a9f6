/* run_pick.c: defaults, the leveled shape, the compact pointer and run groups shared by
 * the strategies (run_pick.h). */
#include <stdlib.h>
#include <string.h>

#include "compact/run_pick.h"

/* ---- defaults ---- */

size_t rpick_fanout(const am_options *o)
{
    return o && o->tier_fanout > 1 ? (size_t)o->tier_fanout : RPICK_DEF_TIER_FANOUT;
}

size_t rpick_l0_trigger(const am_options *o, size_t fanout)
{
    int slow = o && o->l0_slowdown_files > 0 ? o->l0_slowdown_files : RPICK_DEF_L0_SLOWDOWN;
    size_t cap = slow > 2 ? (size_t)slow - 1 : 1;
    return fanout < cap ? fanout : cap;
}

uint64_t rpick_target_file(const am_options *o)
{
    return o && o->target_file_bytes ? o->target_file_bytes : RPICK_DEF_TARGET_FILE;
}

uint64_t rpick_memtable(const am_options *o)
{
    return o && o->memtable_bytes ? o->memtable_bytes : RPICK_DEF_MEMTABLE;
}

/* ---- the leveled shape ---- */

void level_shape_init(level_shape *ls, const am_options *o, uint64_t def_fanout)
{
    ls->fanout = o && o->level_fanout > 1 ? (uint64_t)o->level_fanout : def_fanout;
    ls->l0_trigger = o && o->l0_compaction_trigger > 0 ? o->l0_compaction_trigger
                                                       : RPICK_DEF_L0_TRIGGER;
    if (o && o->l1_target_bytes) ls->l1_bytes = o->l1_target_bytes;
    else if (o && o->memtable_bytes) ls->l1_bytes = 4 * (uint64_t)o->memtable_bytes;
    else ls->l1_bytes = RPICK_DEF_L1_BYTES;
    ls->target_file = rpick_target_file(o);
}

uint64_t level_shape_target(const level_shape *ls, int n)
{
    uint64_t t = ls->l1_bytes;
    for (int i = 1; i < n; i++) {
        if (t > UINT64_MAX / ls->fanout) return UINT64_MAX;
        t *= ls->fanout;
    }
    return t;
}

/* ---- the round-robin compact pointer ---- */

void rpick_cursor_free(rpick_cursor *c)
{
    for (int i = 0; i < AM_MAX_LEVELS; i++) free(c->key[i]);
    memset(c, 0, sizeof *c);
}

size_t rpick_cursor_start(const rpick_cursor *c, int level, am_segment *const *segs,
                          size_t n)
{
    if (!c->set[level]) return 0;
    size_t start = 0;
    while (start < n) {
        size_t ln;
        const char *lk = seg_largest_ukey(segs[start], &ln);
        if (ukey_cmp(lk, ln, c->key[level], c->len[level]) > 0) break;
        start++;
    }
    return start == n ? 0 : start;          /* past the end: wrap around */
}

void rpick_cursor_advance(rpick_cursor *c, int level, const view_range *in)
{
    char *p = in->set ? malloc(in->hin ? in->hin : 1) : NULL;
    if (!p) return;
    memcpy(p, in->hi, in->hin);
    free(c->key[level]);
    c->key[level] = p;
    c->len[level] = in->hin;
    c->set[level] = 1;
}

/* ---- whole runs ---- */

/* 1 when a segment of run is an input of a job in flight. */
static int run_busy(const am_pick_env *env, const am_run *run)
{
    for (size_t i = 0; i < run->nsegs; i++)
        if (pick_busy(env, run->segs[i])) return 1;
    return 0;
}

int rpick_add_runs(am_job *job, const am_pick_env *env, int level, const am_run *runs,
                   size_t n, view_range *r)
{
    for (size_t k = 0; k < n; k++) {
        if (run_busy(env, &runs[k])) return 0;
        for (size_t i = 0; i < runs[k].nsegs; i++) {
            const am_segment *g = runs[k].segs[i];
            if (job_add_input(job, level, g->d.id) != AM_OK) return 0;
            view_range_add(r, g);
        }
    }
    return 1;
}

int rpick_order(const am_version *v, const size_t *trig, int nlevels, int *order)
{
    int norder = 0;
    for (int n = 0; n < nlevels; n++) {
        size_t runs = v->levels[n].nruns;
        if (!trig[n] || runs < trig[n]) continue;
        /* Insertion sort on runs / trig descending (cross-multiplied: exact), level
           ascending on a tie. */
        int k = norder++;
        while (k > 0) {
            int p = order[k - 1];
            uint64_t lhs = (uint64_t)v->levels[p].nruns * trig[n];
            uint64_t rhs = (uint64_t)runs * trig[p];
            if (lhs >= rhs) break;
            order[k] = p;
            k--;
        }
        order[k] = n;
    }
    return norder;
}
