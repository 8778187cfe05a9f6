/* adaptive_controller.c: per-segment counter history, the need-leveled / need-tiered rule
 * and cooldowns (adaptive_controller.h says what and why). The table is an array sorted
 * by segment id: rebuilt from the version at each sample, grown by the flush and merge
 * observers in between. */
#include <stdlib.h>
#include <string.h>

#include "compact/adaptive_controller.h"
#include "util/vec.h"

void ctl_init(controller *c, uint64_t window, double read_thr, double write_thr)
{
    memset(c, 0, sizeof *c);
    c->window = window ? window : 1;
    c->interval = c->window / CTL_INTERVALS ? c->window / CTL_INTERVALS : 1;
    c->read_thr = read_thr;
    c->write_thr = write_thr;
}

void ctl_free(controller *c)
{
    free(c->e);
    memset(c, 0, sizeof *c);
}

static ctl_entry *find(const controller *c, uint64_t id)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->e[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->n && c->e[lo].id == id ? &c->e[lo] : NULL;
}

/* A new entry for id (which must be absent), in order; NULL on OOM. */
static ctl_entry *insert(controller *c, uint64_t id)
{
    if (vec_reserve_min(&c->e, &c->cap, c->n + 1, sizeof *c->e, 64) != AM_OK) return NULL;
    size_t at = c->n;
    while (at > 0 && c->e[at - 1].id > id) at--;
    memmove(c->e + at + 1, c->e + at, (c->n - at) * sizeof *c->e);
    c->n++;
    memset(&c->e[at], 0, sizeof c->e[at]);
    c->e[at].id = id;
    return &c->e[at];
}

static int cmp_entry(const void *a, const void *b)
{
    const ctl_entry *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

int ctl_sample(controller *c, const am_version *v, uint64_t now)
{
    if (c->nclock && now < c->clock[0] + c->interval) return AM_OK;
    size_t total = (size_t)v->total_segs, k = 0;
    ctl_entry *ne = total ? malloc(total * sizeof *ne) : NULL;
    if (total && !ne) return AM_ERR_NOMEM;
    for (int l = 0; l < AM_MAX_LEVELS; l++)
        for (size_t r = 0; r < v->levels[l].nruns; r++)
            for (size_t i = 0; i < v->levels[l].runs[r].nsegs && k < total; i++) {
                am_segment *g = v->levels[l].runs[r].segs[i];
                ctl_entry *old = find(c, g->d.id), *e = &ne[k++];
                if (old) {
                    *e = *old;
                    memmove(e->reads + 1, e->reads, (CTL_SLOTS - 1) * sizeof e->reads[0]);
                    memmove(e->writes + 1, e->writes, (CTL_SLOTS - 1) * sizeof e->writes[0]);
                    if (e->nsamp < CTL_SLOTS) e->nsamp++;
                } else {
                    memset(e, 0, sizeof *e);
                    e->id = g->d.id;
                    e->nsamp = 1;
                }
                e->reads[0] = atomic_load_explicit(&g->reads, memory_order_relaxed);
                e->writes[0] = atomic_load_explicit(&g->writes, memory_order_relaxed);
            }
    if (k) qsort(ne, k, sizeof *ne, cmp_entry);
    free(c->e);
    c->e = ne;
    c->n = c->cap = k;
    if (c->cap < total) c->cap = total;
    memmove(c->clock + 1, c->clock, (CTL_SLOTS - 1) * sizeof c->clock[0]);
    c->clock[0] = now;
    if (c->nclock < CTL_SLOTS) c->nclock++;
    return AM_OK;
}

void ctl_flushed(controller *c, const am_version *v)
{
    const am_level *L = &v->levels[0];
    for (size_t r = 0; r < L->nruns; r++)
        for (size_t i = 0; i < L->runs[r].nsegs; i++) {
            uint64_t id = L->runs[r].segs[i]->d.id;
            if (find(c, id)) continue;
            ctl_entry *e = insert(c, id);
            /* Born since the last sample with zero counters: zero at that sample. */
            if (e) e->nsamp = c->nclock ? 1 : 0;
        }
}

/* Value k (0 newest) of an input's history, extended with its oldest sample. */
static uint64_t at(const ctl_entry *e, const uint64_t *a, unsigned k)
{
    return a[k < e->nsamp ? k : e->nsamp - 1];
}

/* One output's inherited history: share w of every input's. */
static void inherit(ctl_entry *o, const ctl_entry *const *in, size_t nin, double w)
{
    unsigned ns = 0;
    uint64_t cool = 0;
    int complete = 1;
    for (size_t i = 0; i < nin; i++) {
        if (in[i] && in[i]->cool_until > cool) cool = in[i]->cool_until;
        if (!in[i] || !in[i]->nsamp) { complete = 0; continue; }
        if (in[i]->nsamp > ns) ns = in[i]->nsamp;
    }
    o->cool_until = cool;
    /* An input without history would make its inherited live counts look like new
       activity: the outputs then start afresh at the next sample instead. */
    o->nsamp = complete ? ns : 0;
    for (unsigned k = 0; k < o->nsamp; k++) {
        double r = 0, wr = 0;
        for (size_t i = 0; i < nin; i++) {
            r += (double)at(in[i], in[i]->reads, k);
            wr += (double)at(in[i], in[i]->writes, k);
        }
        o->reads[k] = (uint64_t)(r * w);
        o->writes[k] = (uint64_t)(wr * w);
    }
}

void ctl_merged(controller *c, const am_job *job, const am_version *v)
{
    if (job->trivial_move || job->out_level < 0 || job->out_level >= AM_MAX_LEVELS) return;
    const am_level *L = &v->levels[job->out_level];
    uint64_t total = 0;
    size_t nout = 0;
    for (size_t r = 0; r < L->nruns; r++)
        for (size_t i = 0; i < L->runs[r].nsegs; i++)
            if (!find(c, L->runs[r].segs[i]->d.id)) { total += L->runs[r].segs[i]->d.bytes; nout++; }
    if (!nout) return;
    /* Copies: inserting outputs moves entries. */
    ctl_entry *copy = malloc(job->ninputs * sizeof *copy);
    const ctl_entry **in = malloc(job->ninputs * sizeof *in);
    if (copy && in) {
        for (size_t i = 0; i < job->ninputs; i++) {
            ctl_entry *e = find(c, job->inputs[i].id);
            if (e) copy[i] = *e;
            in[i] = e ? &copy[i] : NULL;
        }
        for (size_t r = 0; r < L->nruns; r++)
            for (size_t i = 0; i < L->runs[r].nsegs; i++) {
                const am_segment *g = L->runs[r].segs[i];
                if (find(c, g->d.id)) continue;
                ctl_entry *o = insert(c, g->d.id);
                double w = total ? (double)g->d.bytes / (double)total : 1.0 / (double)nout;
                if (o) inherit(o, in, job->ninputs, w);
            }
    }
    free(copy);
    free(in);
}

/* Reads (or writes) share over samples a..b (a newer) and the count; 1 when the share is
 * at least thr and the count is not zero. */
static int pressed(const uint64_t *mine, const uint64_t *other, unsigned a, unsigned b,
                   double thr)
{
    uint64_t m = mine[a] > mine[b] ? mine[a] - mine[b] : 0;
    uint64_t o = other[a] > other[b] ? other[a] - other[b] : 0;
    return m > 0 && (double)m >= thr * (double)(m + o);
}

ctl_verdict ctl_judge(const controller *c, const am_segment *g, int leveled)
{
    ctl_verdict out = { 0 };
    const ctl_entry *e = find(c, g->d.id);
    if (!e || e->nsamp < 2) return out;
    /* The oldest sample within the window, at least one interval back. */
    unsigned j = 1;
    while (j + 1 < e->nsamp && c->clock[0] - c->clock[j + 1] <= c->window) j++;
    out.reads = e->reads[0] > e->reads[j] ? e->reads[0] - e->reads[j] : 0;
    out.writes = e->writes[0] > e->writes[j] ? e->writes[0] - e->writes[j] : 0;
    uint64_t ops = out.reads + out.writes;
    if (ops < CTL_MIN_OPS) return out;
    const uint64_t *mine = leveled ? e->writes : e->reads;
    const uint64_t *other = leveled ? e->reads : e->writes;
    double thr = leveled ? c->write_thr : c->read_thr;
    uint64_t dm = leveled ? out.writes : out.reads;
    if ((double)dm < thr * (double)ops) return out;
    double span = (double)(c->clock[0] - c->clock[j]), last = (double)(c->clock[0] - c->clock[1]);
    double rate = span > 0 ? (double)dm / span : 0;
    double latest = last > 0 ? (double)(mine[0] > mine[1] ? mine[0] - mine[1] : 0) / last : 0;
    out.trend = rate > 0 ? latest / rate : 0;
    int rising = out.trend >= 1.0;
    int sustained = e->nsamp >= 3 && pressed(mine, other, 0, 1, thr) &&
                    pressed(mine, other, 1, 2, thr);
    if (rising || sustained) out.flag = leveled ? CTL_NEED_TIERED : CTL_NEED_LEVELED;
    return out;
}

int ctl_cooling(const controller *c, uint64_t id, uint64_t now)
{
    const ctl_entry *e = find(c, id);
    return e && now < e->cool_until;
}

void ctl_cool(controller *c, uint64_t id, uint64_t until)
{
    ctl_entry *e = find(c, id);
    if (!e) e = insert(c, id);
    if (e && until > e->cool_until) e->cool_until = until;
}
