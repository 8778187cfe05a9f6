/* monitor.c: the monitor thread of a run (runctx.h). Every cfg->sample_ms it appends a
 * timeline sample: operations and latency percentiles over the interval (differences of
 * the clients' live histograms, livehist.h), the engine's cumulative counters, the live
 * bytes account and the RSS. Unless -quiet it shows progress on stderr: one line updated
 * in place (\r) four times a second on a terminal, otherwise a line every 5 seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "runctx.h"

struct monitor {
    run_ctx *r;                   /* borrowed */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;            /* on CLOCK_MONOTONIC */
    int done;                     /* guarded by mu */
    uint64_t *prev;               /* owned: nclients x LH_NBUCKETS counts seen last */
    uint64_t *delta;              /* owned: LH_NBUCKETS */
    uint64_t last_ns;             /* end of the previous interval */
    uint64_t sample_ns, progress_ns;   /* 0: not wanted */
    uint64_t next_sample, next_progress;
};

void monitor_clear_line(run_ctx *r)
{
    if (r->tty && !r->cfg->quiet) fputs("\r\033[K", stderr);
}

static void take_sample(monitor *m, uint64_t now)
{
    run_ctx *r = m->r;
    run_result *res = r->res;
    run_sample s;
    memset(&s, 0, sizeof s);
    memset(m->delta, 0, LH_NBUCKETS * sizeof *m->delta);
    for (unsigned i = 0; i < r->nclients; i++)
        s.ops += lh_collect(r->clients[i].lh, m->prev + (size_t)i * LH_NBUCKETS, m->delta);
    s.t = (double)(now - r->t0_ns) / 1e9;
    s.dt = (double)(now - m->last_ns) / 1e9;
    m->last_ns = now;
    s.p50_ns = lh_percentile(m->delta, 50.0);
    s.p99_ns = lh_percentile(m->delta, 99.0);
    s.phase = atomic_load(&r->cur_phase);
    s.state = atomic_load(&r->state);
    if (r->ops->counters(r->e, &s.c) != 0) memset(&s.c, 0, sizeof s.c);   /* provides nothing */
    rc_logical(r, &s.logical_bytes, &s.live_keys);
    s.rss_bytes = run_rss_bytes();
    run_sample *t = he_grow(res->timeline, &res->cap_samples, res->nsamples + 1, sizeof *t);
    if (!t) return;                     /* the timeline misses this sample; says nothing */
    res->timeline = t;
    res->timeline[res->nsamples++] = s;
}

static void fmt_eta(char *buf, size_t cap, double sec)
{
    if (!(sec >= 0) || sec > 360000) {
        snprintf(buf, cap, "--:--");
        return;
    }
    unsigned s = (unsigned)(sec + 0.5);
    if (s >= 3600) snprintf(buf, cap, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, cap, "%u:%02u", s / 60, s % 60);
}

static void progress(monitor *m, uint64_t now)
{
    run_ctx *r = m->r;
    int p = atomic_load(&r->cur_phase), state = atomic_load(&r->state);
    if (p < 0 || state == RS_OPEN || state == RS_DONE) return;
    const wl_phase *ph = &r->w->phases[p];
    char line[256], eta[32];
    uint64_t start = atomic_load(&r->phase_start_ns);
    double elapsed = now > start ? (double)(now - start) / 1e9 : 0.0;
    if (state == RS_RUN) {
        uint64_t done = rc_total_ops(r) - atomic_load(&r->phase_base_ops);
        double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
        double pct = ph->ops ? 100.0 * (double)done / (double)ph->ops : 100.0;
        fmt_eta(eta, sizeof eta, rate > 0 ? (double)(ph->ops - done) / rate : -1.0);
        snprintf(line, sizeof line, "phase %d/%zu %s: %5.1f%%  %.0f ops/s  ETA %s", p + 1,
                 r->w->nphases, ph->name, pct, rate, eta);
    } else {
        snprintf(line, sizeof line, "phase %d/%zu %s: %s", p + 1, r->w->nphases, ph->name,
                 state == RS_SETTLE ? "waiting for compaction to finish (-settle)"
                                    : "pausing (-pause-ms)");
    }
    if (r->tty) fprintf(stderr, "\r\033[K%s", line);
    else fprintf(stderr, "amethystd: %s\n", line);
}

static uint64_t next_wake(const monitor *m)
{
    uint64_t a = m->sample_ns ? m->next_sample : UINT64_MAX;
    uint64_t b = m->progress_ns ? m->next_progress : UINT64_MAX;
    return a < b ? a : b;
}

static void *monitor_main(void *arg)
{
    monitor *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->done) {
        uint64_t wake = next_wake(m);
        struct timespec ts = { (time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull) };
        pthread_cond_timedwait(&m->cv, &m->mu, &ts);
        if (m->done) break;
        pthread_mutex_unlock(&m->mu);
        uint64_t now = clk_mono_ns();
        if (m->sample_ns && now >= m->next_sample) {
            take_sample(m, now);
            while (m->next_sample <= now) m->next_sample += m->sample_ns;
        }
        if (m->progress_ns && now >= m->next_progress) {
            progress(m, now);
            m->next_progress = now + m->progress_ns;
        }
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

static void monitor_free(monitor *m)
{
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m->prev);
    free(m->delta);
    free(m);
}

monitor *monitor_start(run_ctx *r, int *err)
{
    *err = 0;
    uint64_t sample_ns = (uint64_t)r->cfg->sample_ms * 1000000ull;
    uint64_t progress_ns = r->cfg->quiet ? 0 : r->tty ? 250000000ull : 5000000000ull;
    if (!sample_ns && !progress_ns) return NULL;
    monitor *m = calloc(1, sizeof *m);
    if (!m) goto oom;
    m->r = r;
    m->prev = calloc((size_t)r->nclients * LH_NBUCKETS, sizeof *m->prev);
    m->delta = calloc(LH_NBUCKETS, sizeof *m->delta);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&m->mu, NULL);
    if (!m->prev || !m->delta) goto oom;
    m->sample_ns = sample_ns;
    m->progress_ns = progress_ns;
    m->last_ns = r->t0_ns;
    m->next_sample = r->t0_ns + sample_ns;
    m->next_progress = clk_mono_ns() + (progress_ns < 1000000000ull ? progress_ns : 1000000000ull);
    if (pthread_create(&m->th, NULL, monitor_main, m) != 0) goto oom;
    return m;
oom:
    if (m) monitor_free(m);
    *err = 1;
    return NULL;
}

void monitor_stop(monitor *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->done = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->th, NULL);
    uint64_t now = clk_mono_ns();
    if (m->sample_ns && now > m->last_ns) take_sample(m, now);
    if (m->progress_ns) monitor_clear_line(m->r);
    monitor_free(m);
}
