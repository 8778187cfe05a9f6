/* inflight.c: the set of jobs in flight and the pick environment made from it
 * (inflight.h), and pick_busy (strategy.h). */
#include <stdlib.h>
#include <string.h>

#include "compact/inflight.h"
#include "util/vec.h"

static int cmp_ref(const void *a, const void *b)
{
    const seg_ref *x = a, *y = b;
    if (x->level != y->level) return x->level < y->level ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int pick_busy(const am_pick_env *env, const am_segment *g)
{
    seg_ref key = { g->d.level, g->d.id };
    return env->nbusy && bsearch(&key, env->busy, env->nbusy, sizeof key, cmp_ref) != NULL;
}

void inflight_init(inflight_set *s)
{
    memset(s, 0, sizeof *s);
}

static void job_free(am_inflight *j)
{
    free((void *)j->inputs);
    free((void *)j->span.lo);
    free((void *)j->span.hi);
}

void inflight_free(inflight_set *s)
{
    for (size_t i = 0; i < s->n; i++) job_free(&s->jobs[i]);
    free(s->jobs);
    free(s->tickets);
    free(s->busy);
    inflight_init(s);
}

/* Rebuilds the sorted list of every input. AM_ERR_NOMEM leaves it as it was. */
static int rebuild_busy(inflight_set *s)
{
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++) total += s->jobs[i].ninputs;
    if (vec_reserve(&s->busy, &s->capbusy, total, sizeof *s->busy) != AM_OK)
        return AM_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        memcpy(s->busy + k, s->jobs[i].inputs, s->jobs[i].ninputs * sizeof *s->busy);
        k += s->jobs[i].ninputs;
    }
    if (k) qsort(s->busy, k, sizeof *s->busy, cmp_ref);
    s->nbusy = k;
    return AM_OK;
}

static char *copy_key(const char *k, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (p && n) memcpy(p, k, n);
    return p;
}

/* Fills j from job on v: levels, inputs (copied) and span (keys copied). */
static int describe(am_inflight *j, const am_version *v, const am_job *job)
{
    memset(j, 0, sizeof *j);
    j->min_level = AM_MAX_LEVELS;
    j->max_level = -1;
    j->out_level = job->out_level;
    j->out_run = job->out_run;
    view_range span = { 0 };
    for (size_t i = 0; i < job->ninputs; i++) {
        const seg_ref *in = &job->inputs[i];
        if (in->level < j->min_level) j->min_level = in->level;
        if (in->level > j->max_level) j->max_level = in->level;
        const am_segment *g = view_find(v, in->level, in->id);
        if (g) view_range_add(&span, g);
    }
    /* Joining a run changes that run's seq interval over all of its key range. */
    const am_level *L = job->out_run && job->out_level >= 0 && job->out_level < AM_MAX_LEVELS
                            ? &v->levels[job->out_level] : NULL;
    for (size_t r = 0; L && r < L->nruns; r++)
        if (L->runs[r].id == job->out_run)
            for (size_t i = 0; i < L->runs[r].nsegs; i++) view_range_add(&span, L->runs[r].segs[i]);
    seg_ref *inputs = malloc((job->ninputs ? job->ninputs : 1) * sizeof *inputs);
    char *lo = copy_key(span.lo, span.lon), *hi = copy_key(span.hi, span.hin);
    if (!inputs || !lo || !hi) {
        free(inputs);
        free(lo);
        free(hi);
        return AM_ERR_NOMEM;
    }
    if (job->ninputs) memcpy(inputs, job->inputs, job->ninputs * sizeof *inputs);
    j->ninputs = job->ninputs;
    j->inputs = inputs;
    j->span = (view_range){ .lo = lo, .hi = hi, .lon = span.lon, .hin = span.hin,
                            .set = span.set };
    return AM_OK;
}

int inflight_add(inflight_set *s, const am_version *v, const am_job *job, uint64_t *ticket)
{
    if (vec_reserve(&s->jobs, &s->cap, s->n + 1, sizeof *s->jobs) != AM_OK ||
        vec_reserve(&s->tickets, &s->captickets, s->n + 1, sizeof *s->tickets) != AM_OK)
        return AM_ERR_NOMEM;
    if (describe(&s->jobs[s->n], v, job) != AM_OK) return AM_ERR_NOMEM;
    s->tickets[s->n] = *ticket = ++s->next_ticket;
    s->n++;
    if (rebuild_busy(s) != AM_OK) {
        job_free(&s->jobs[--s->n]);
        return AM_ERR_NOMEM;
    }
    return AM_OK;
}

void inflight_done(inflight_set *s, uint64_t ticket)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->tickets[i] != ticket) continue;
        job_free(&s->jobs[i]);
        s->jobs[i] = s->jobs[s->n - 1];
        s->tickets[i] = s->tickets[s->n - 1];
        s->n--;
        (void)rebuild_busy(s);    /* shrinks: never allocates */
        return;
    }
}

int inflight_busy(const inflight_set *s, int level, uint64_t id)
{
    seg_ref key = { level, id };
    return s->nbusy && bsearch(&key, s->busy, s->nbusy, sizeof key, cmp_ref) != NULL;
}

void inflight_env(const inflight_set *s, const am_version *v, uint64_t ops, uint64_t micros,
                  am_pick_env *env)
{
    *env = (am_pick_env){ .v = v, .njobs = s->n, .jobs = s->jobs, .nbusy = s->nbusy,
                          .busy = s->busy, .ops = ops, .micros = micros };
}
