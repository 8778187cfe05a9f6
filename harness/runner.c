/* runner.c: runs a workload on an engine (run.h). Opens the engine, then for each phase
 * starts -threads client threads, each with its own operation generator, per-op-type
 * latency histograms and value buffers, joins them, merges their histograms, waits for
 * the engine to settle and pauses if asked, and takes the engine's counters at the edges
 * of the phase's window (docs/metrics.md: a phase's window runs from its first operation
 * to the first operation of the next phase, settle and pause included, so the phases'
 * counter deltas add up to the run's). A monitor thread samples the timeline meanwhile.
 *
 * The client loop is the hot path: per operation, the generator's draw, the key's bytes,
 * two timestamps around the engine call (clock.h), one record into the phase histogram
 * and one into the live histogram, one relaxed store of the op count and one relaxed load
 * of the stop flag. Values are generated before the first timestamp; nothing allocates. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "runctx.h"

const char *run_state_name(int state)
{
    static const char *const names[] = { "open", "run", "settle", "pause", "done" };
    return state >= 0 && state <= RS_DONE ? names[state] : "unknown";
}

uint64_t run_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)resident * (uint64_t)page : 0;
}

uint64_t rc_total_ops(run_ctx *r)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < r->nclients; i++)
        n += atomic_load_explicit(&r->clients[i].ops, memory_order_relaxed);
    return n;
}

void rc_logical(run_ctx *r, int64_t *bytes, int64_t *keys)
{
    int64_t b = 0, k = 0;
    for (unsigned i = 0; i < r->nclients; i++) {
        b += atomic_load_explicit(&r->clients[i].logical, memory_order_relaxed);
        k += atomic_load_explicit(&r->clients[i].live_keys, memory_order_relaxed);
    }
    *bytes = b;
    *keys = k;
}

void rc_fail(run_ctx *r, const char *fmt, ...)
{
    pthread_mutex_lock(&r->err_mu);
    if (!r->res->error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->res->error, sizeof r->res->error, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&r->err_mu);
    int none = STOP_NONE;
    atomic_compare_exchange_strong(r->stop, &none, STOP_ERROR);
}

/* ---- the client loop ---- */

/* Engine failure: the adapter's message, with the operation's name. */
static int op_failed(client *c, wl_op_type t)
{
    run_ctx *r = c->r;
    const char *msg = r->ops->error(r->e);
    rc_fail(r, "%s failed in phase %zu (%s): %s", wl_op_name(t), r->phase + 1,
            r->w->phases[r->phase].name, msg && msg[0] ? msg : "engine error");
    return -1;
}

/* Adds a write's change of the live pairs (ls_put / ls_del: bytes db, keys dk) to the
   client's running account. Only this client writes its fields; relaxed stores let the
   monitor read them at any time. */
static inline void account(client *c, int64_t db, int64_t dk)
{
    atomic_store_explicit(&c->logical,
                          atomic_load_explicit(&c->logical, memory_order_relaxed) + db,
                          memory_order_relaxed);
    atomic_store_explicit(&c->live_keys,
                          atomic_load_explicit(&c->live_keys, memory_order_relaxed) + dk,
                          memory_order_relaxed);
}

static inline void account_put(client *c, uint64_t key, size_t kn, uint32_t vn)
{
    int64_t dk, db = ls_put(c->r->ls, key, kn, vn, &dk);
    account(c, db, dk);
}

static inline void account_del(client *c, uint64_t key, size_t kn)
{
    int64_t dk, db = ls_del(c->r->ls, key, kn, &dk);
    account(c, db, dk);
}

/* One operation, timed. Returns 0, or -1 after recording an engine error. */
static inline int do_op(client *c, const wl_op *op, uint32_t vsize)
{
    run_ctx *r = c->r;
    const he_ops *ops = r->ops;
    he_engine *e = r->e;
    const clk_src *clk = &r->res->clock;
    char key[80];
    size_t kn, vn;
    uint32_t got;
    uint64_t t0, t1;
    int rc;

    if (op->type == OP_READ_MISSING) kn = wl_missing_key(r->w, op->key, key);
    else kn = wl_key(r->w, op->key, key);
    switch (op->type) {
    case OP_READ:
    case OP_READ_MISSING:
        t0 = clk_ticks(clk);
        rc = ops->get(e, key, kn, c->rbuf, c->vcap, &vn);
        t1 = clk_ticks(clk);
        if (rc == 0) c->found++;
        else if (rc == 1) c->not_found++;
        break;
    case OP_UPDATE:
    case OP_INSERT:
        wl_value(op->key, ((uint64_t)c->idx << 40) ^ c->writes++, c->wbuf, vsize);
        t0 = clk_ticks(clk);
        rc = ops->put(e, key, kn, c->wbuf, vsize);
        t1 = clk_ticks(clk);
        if (rc == 0) account_put(c, op->key, kn, vsize);
        break;
    case OP_DELETE:
        t0 = clk_ticks(clk);
        rc = ops->del(e, key, kn);
        t1 = clk_ticks(clk);
        if (rc == 0) account_del(c, op->key, kn);
        break;
    case OP_SCAN:
        t0 = clk_ticks(clk);
        rc = ops->scan(e, key, kn, op->scan_length, &got);
        t1 = clk_ticks(clk);
        if (rc == 0) c->scan_entries += got;
        break;
    case OP_RMW:
        wl_value(op->key, ((uint64_t)c->idx << 40) ^ c->writes++, c->wbuf, vsize);
        t0 = clk_ticks(clk);
        rc = ops->get(e, key, kn, c->rbuf, c->vcap, &vn);
        if (rc >= 0) rc = ops->put(e, key, kn, c->wbuf, vsize) == 0 ? rc : -1;
        t1 = clk_ticks(clk);
        if (rc == 0) c->found++;
        else if (rc == 1) c->not_found++;
        if (rc >= 0) account_put(c, op->key, kn, vsize);
        break;
    default:
        rc_fail(r, "unknown operation type %d", (int)op->type);
        return -1;
    }
    if (rc < 0) return op_failed(c, op->type);
    uint64_t ns = clk_ns(clk, t1 - t0);
    hist_record(c->lat[op->type], ns);
    lh_record(c->lh, ns);
    atomic_store_explicit(&c->ops, atomic_load_explicit(&c->ops, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return 0;
}

static void *client_main(void *arg)
{
    client *c = arg;
    run_ctx *r = c->r;
    const wl_phase *ph = &r->w->phases[r->phase];
    wl_gen *g = wl_gen_new(r->w, r->phase, r->ks, r->cfg->seed, c->idx, r->nclients);
    c->t_first = c->t_last = clk_mono_ns();      /* after the generator's set-up */
    if (!g) {
        rc_fail(r, "out of memory starting client %u", c->idx);
        return NULL;
    }
    uint64_t start_ops = atomic_load_explicit(&c->ops, memory_order_relaxed);
    wl_op op;
    while (wl_gen_next(g, &op)) {
        if (atomic_load_explicit(r->stop, memory_order_relaxed) != STOP_NONE) break;
        if (do_op(c, &op, ph->value_size) != 0) break;
    }
    c->t_last = clk_mono_ns();
    c->phase_ops = atomic_load_explicit(&c->ops, memory_order_relaxed) - start_ops;
    wl_gen_free(g);
    return NULL;
}

/* ---- clients ---- */

static void clients_free(run_ctx *r)
{
    if (!r->clients) return;
    for (unsigned i = 0; i < r->nclients; i++) {
        client *c = &r->clients[i];
        lh_free(c->lh);
        for (int t = 0; t < OP_TYPES; t++) hist_free(c->lat[t]);
        free(c->wbuf);
        free(c->rbuf);
    }
    free(r->clients);
    r->clients = NULL;
}

/* Allocates cfg->threads clients, with buffers for the largest value of any phase. */
static int clients_init(run_ctx *r)
{
    unsigned n = r->cfg->threads;
    size_t vcap = 64;
    for (size_t p = 0; p < r->w->nphases; p++)
        if (r->w->phases[p].value_size > vcap) vcap = r->w->phases[p].value_size;
    r->clients = aligned_alloc(64, ((n * sizeof(client) + 63) / 64) * 64);
    if (!r->clients) return -1;
    memset(r->clients, 0, n * sizeof(client));
    r->nclients = n;
    int ok = 1;
    for (unsigned i = 0; i < n; i++) {
        client *c = &r->clients[i];
        atomic_init(&c->ops, 0);
        atomic_init(&c->logical, 0);
        atomic_init(&c->live_keys, 0);
        c->r = r;
        c->idx = i;
        c->vcap = vcap;
        c->wbuf = malloc(vcap);
        c->rbuf = malloc(vcap);
        c->lh = lh_new();
        ok &= c->wbuf && c->rbuf && c->lh;
        for (int t = 0; t < OP_TYPES; t++) ok &= (c->lat[t] = hist_new()) != NULL;
    }
    return ok ? 0 : -1;
}

/* Key numbers the run can touch: the initial key space plus every operation of a phase
 * that may insert new keys (a random distribution with inserts in its mix, or a load
 * phase without a mix). */
static uint64_t liveset_capacity(const wl_workload *w)
{
    uint64_t cap = w->keys;
    for (size_t p = 0; p < w->nphases; p++) {
        const wl_phase *ph = &w->phases[p];
        int any = 0;
        for (int t = 0; t < OP_TYPES; t++) any |= ph->mix.weight[t] > 0.0;
        int counter = ph->dist != DIST_SEQUENTIAL && ph->dist != DIST_PERMUTATION;
        if (counter && (ph->mix.weight[OP_INSERT] > 0.0 || !any)) cap += ph->ops;
    }
    return cap;
}

/* ---- phases ---- */

/* Sleeps ms milliseconds in slices, returning early when the stop flag rises. */
static void sleep_ms(run_ctx *r, unsigned ms)
{
    uint64_t end = clk_mono_ns() + (uint64_t)ms * 1000000ull;
    for (;;) {
        uint64_t now = clk_mono_ns();
        if (now >= end || atomic_load(r->stop) != STOP_NONE) return;
        uint64_t left = end - now, slice = left < 10000000ull ? left : 10000000ull;
        struct timespec ts = { 0, (long)slice };
        nanosleep(&ts, NULL);
    }
}

/* Starts the phase's client threads and joins them. Returns 0, or -1 when a thread could
 * not be started (the stop flag is raised, the started ones are joined). */
static int run_clients(run_ctx *r)
{
    pthread_t th[r->nclients];
    unsigned started = 0;
    for (; started < r->nclients; started++) {
        int e = pthread_create(&th[started], NULL, client_main, &r->clients[started]);
        if (e) {
            rc_fail(r, "cannot start client thread: %s", strerror(e));
            break;
        }
    }
    for (unsigned i = 0; i < started; i++) pthread_join(th[i], NULL);
    return started == r->nclients ? 0 : -1;
}

/* Merges the clients' phase results into pr. Returns -1 on OOM. */
static int gather(run_ctx *r, phase_result *pr)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (unsigned i = 0; i < r->nclients; i++) {
        const client *c = &r->clients[i];
        pr->ops += c->phase_ops;
        pr->found += c->found;
        pr->not_found += c->not_found;
        pr->scan_entries += c->scan_entries;
        if (c->t_first < first) first = c->t_first;
        if (c->t_last > last) last = c->t_last;
    }
    pr->seconds = last > first ? (double)(last - first) / 1e9 : 0.0;
    for (int t = 0; t < OP_TYPES; t++) {
        uint64_t n = 0;
        for (unsigned i = 0; i < r->nclients; i++) n += hist_count(r->clients[i].lat[t]);
        if (!n) continue;
        if (!(pr->lat[t] = hist_new())) return -1;
        for (unsigned i = 0; i < r->nclients; i++) hist_merge(pr->lat[t], r->clients[i].lat[t]);
    }
    return 0;
}

static void phase_line(run_ctx *r, const phase_result *pr)
{
    if (r->cfg->quiet) return;
    monitor_clear_line(r);
    fprintf(stderr, "amethystd: phase %zu/%zu %s: %llu ops in %.2f s (%.0f ops/s)", pr->index + 1,
            r->w->nphases, pr->name, (unsigned long long)pr->ops, pr->seconds,
            pr->seconds > 0 ? (double)pr->ops / pr->seconds : 0.0);
    if (r->cfg->settle) fprintf(stderr, ", settled in %.2f s", pr->settle_seconds);
    if (pr->pause_seconds > 0) fprintf(stderr, ", paused %.2f s", pr->pause_seconds);
    fputc('\n', stderr);
}

static void phase_free(phase_result *pr)
{
    for (int t = 0; t < OP_TYPES; t++) {
        hist_free(pr->lat[t]);
        pr->lat[t] = NULL;
    }
}

/* Runs phase p; edge holds the counters at the start of its window and receives those at
 * its end. Returns 0 when the phase finished (its ops all done; an interruption during
 * settle or pause still counts as finished), 1 when interrupted before that, -1 on error. */
static int run_phase(run_ctx *r, size_t p, he_counters *edge)
{
    phase_result *pr = &r->res->phases[p];
    const wl_phase *ph = &r->w->phases[p];
    memset(pr, 0, sizeof *pr);
    snprintf(pr->name, sizeof pr->name, "%s", ph->name);
    pr->index = p;
    pr->ops_expected = ph->ops;
    pr->start = *edge;
    for (unsigned i = 0; i < r->nclients; i++) {
        client *c = &r->clients[i];
        for (int t = 0; t < OP_TYPES; t++) hist_reset(c->lat[t]);
        c->phase_ops = c->found = c->not_found = c->scan_entries = 0;
    }
    r->phase = p;
    atomic_store(&r->phase_base_ops, rc_total_ops(r));
    atomic_store(&r->phase_start_ns, clk_mono_ns());
    atomic_store(&r->cur_phase, (int)p);
    atomic_store(&r->state, RS_RUN);
    int rc = run_clients(r);
    if (gather(r, pr) != 0) rc_fail(r, "out of memory merging histograms");
    /* A phase whose operations all ran is finished, even if Ctrl-C came at its end. */
    int stop = atomic_load(r->stop);
    if (stop == STOP_INTERRUPT && rc == 0 && pr->ops == pr->ops_expected) stop = STOP_NONE;
    if (rc != 0 || stop != STOP_NONE) {
        if (stop == STOP_INTERRUPT)
            snprintf(r->res->interrupted_phase, sizeof r->res->interrupted_phase, "%s", pr->name);
        phase_free(pr);
        return stop == STOP_INTERRUPT ? 1 : -1;
    }
    if (r->cfg->settle) {
        atomic_store(&r->state, RS_SETTLE);
        uint64_t t = clk_mono_ns();
        while (r->ops->busy(r->e) && atomic_load(r->stop) == STOP_NONE) sleep_ms(r, 10);
        pr->settle_seconds = (double)(clk_mono_ns() - t) / 1e9;
    }
    if (r->cfg->pause_ms && p + 1 < r->w->nphases) {
        atomic_store(&r->state, RS_PAUSE);
        uint64_t t = clk_mono_ns();
        sleep_ms(r, r->cfg->pause_ms);
        pr->pause_seconds = (double)(clk_mono_ns() - t) / 1e9;
    }
    if (r->ops->counters(r->e, &pr->end) != 0) {
        rc_fail(r, "reading counters: %s", r->ops->error(r->e));
        phase_free(pr);
        return -1;
    }
    rc_logical(r, &pr->logical_bytes, &pr->live_keys);
    pr->end.logical_bytes = pr->logical_bytes > 0 ? (uint64_t)pr->logical_bytes : 0;
    *edge = pr->end;
    phase_line(r, pr);
    return 0;
}

/* ---- the run ---- */

static void add_setting(void *arg, const char *k, const char *v)
{
    run_result *res = arg;
    setting *s = he_grow(res->settings, &res->cap_settings, res->nsettings + 1, sizeof *s);
    if (!s) return;                     /* settings are informative; OOM drops one */
    res->settings = s;
    snprintf(s[res->nsettings].key, sizeof s->key, "%s", k);
    snprintf(s[res->nsettings].value, sizeof s->value, "%s", v);
    res->nsettings++;
}

static void iso_now(char *buf, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The engine's configuration for the run cfg describes. */
static he_config engine_config(const run_config *cfg)
{
    he_config hc = {
        .dir = cfg->db,
        .memtable_bytes = (size_t)(cfg->memtable_mb * 1048576.0 + 0.5),
        .bloom_bits = cfg->bloom_bits,
        .cache_bytes = (size_t)(cfg->cache_mb * 1048576.0 + 0.5),
        .block_bytes = 0,
        .sync = cfg->sync,
        .compaction_threads = cfg->compaction_threads,
        .deterministic = cfg->deterministic,
        .engine_opt = cfg->engine_opt[0] ? cfg->engine_opt : NULL,
    };
    return hc;
}

static uint64_t liveset_capacity(const wl_workload *w);

int run_check(const run_config *cfg, const wl_workload *w, const he_ops *ops,
              const char *variant, char *err, size_t errcap)
{
    he_config hc = engine_config(cfg);
    if (hc.engine_opt && !ops->takes_engine_opt) {
        snprintf(err, errcap, "%s: -engine-opt sets Amethyst options; %s has none",
                 ops->name, ops->name);
        return -2;
    }
    if (ops->check && ops->check(&hc, variant, err, errcap) != 0) return -2;
    /* The live-key account takes 4 bytes per key number the run can write (liveset.h);
       pages it never touches cost nothing, but a run that writes its keys touches them
       all, so more than the machine's memory cannot run. */
    uint64_t cap = liveset_capacity(w);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    uint64_t mem = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    if (cap > UINT64_MAX / 4 || (mem && cap * 4 > mem)) {
        snprintf(err, errcap, "-keys %llu: too many keys for this machine: the run keeps 4 "
                 "bytes per key number it may write (%llu key numbers with the phases' "
                 "inserts), more than its %.1f GiB of memory",
                 (unsigned long long)w->keys, (unsigned long long)cap,
                 (double)mem / (1024.0 * 1024.0 * 1024.0));
        return -2;
    }
    return 0;
}

/* Opens the engine; fills res->opened and the settings. Returns 0, -2 or -3 (run.h). */
static int open_engine(run_ctx *r, const char *variant, char *err, size_t errcap)
{
    he_config hc = engine_config(r->cfg);
    int chk = run_check(r->cfg, r->w, r->ops, variant, err, errcap);
    if (chk != 0) return chk;
    uint64_t t = clk_mono_ns();
    int rc = r->ops->open(&hc, variant, &r->e, err, errcap);
    if (rc != 0) {
        r->e = NULL;
        return rc == -2 ? -2 : -3;
    }
    r->t0_ns = clk_mono_ns();
    r->res->open_seconds = (double)(r->t0_ns - t) / 1e9;
    r->ops->settings(r->e, add_setting, r->res);
    if (r->ops->counters(r->e, &r->res->opened) != 0) {
        snprintf(err, errcap, "reading counters: %s", r->ops->error(r->e));
        return -3;
    }
    return 0;
}

static int run_phases(run_ctx *r)
{
    he_counters edge = r->res->opened;
    uint64_t end_ns = r->t0_ns;
    int rc = 0;
    for (size_t p = 0; p < r->w->nphases && rc == 0; p++) {
        rc = run_phase(r, p, &edge);
        if (rc == 0) {
            r->res->nphases++;
            end_ns = clk_mono_ns();
            if (atomic_load(r->stop) != STOP_NONE)
                rc = atomic_load(r->stop) == STOP_INTERRUPT ? 1 : -1;
        }
    }
    r->res->wall_seconds = (double)(end_ns - r->t0_ns) / 1e9;
    return rc;
}

int run_workload(const run_config *cfg, const wl_workload *w, const he_ops *ops,
                 const char *variant, _Atomic int *stop, run_result *res, char *err,
                 size_t errcap)
{
    memset(res, 0, sizeof *res);
    clk_init(&res->clock);
    iso_now(res->start_iso, sizeof res->start_iso);
    run_ctx r = { .cfg = cfg, .w = w, .ops = ops, .stop = stop, .res = res,
                  .tty = isatty(STDERR_FILENO) };
    pthread_mutex_init(&r.err_mu, NULL);
    atomic_init(&r.cur_phase, -1);
    atomic_init(&r.state, RS_OPEN);
    atomic_init(&r.phase_base_ops, 0);
    atomic_init(&r.phase_start_ns, 0);
    int rc = -3;
    res->phases = calloc(w->nphases ? w->nphases : 1, sizeof *res->phases);
    r.ks = wl_keyspace_new(w->keys);
    r.ls = ls_new(liveset_capacity(w));
    if (!res->phases || !r.ks || !r.ls || clients_init(&r) != 0) {
        snprintf(err, errcap, "out of memory setting up %u client threads", cfg->threads);
        goto out;
    }
    rc = open_engine(&r, variant, err, errcap);
    if (rc != 0) goto out;
    int merr = 0;
    monitor *m = monitor_start(&r, &merr);
    if (merr && !cfg->quiet) fprintf(stderr, "amethystd: no timeline (out of memory)\n");
    rc = run_phases(&r);
    atomic_store(&r.state, RS_DONE);
    monitor_stop(m);
    res->logical_known = !cfg->db_preexisting && !ls_overflowed(r.ls);
    res->interrupted = atomic_load(stop) == STOP_INTERRUPT;
    if (r.ops->close(r.e) != 0 && rc == 0) {
        snprintf(res->error, sizeof res->error, "closing the engine failed");
        rc = -1;
    }
    r.e = NULL;
out:
    if (r.e) r.ops->close(r.e);
    clients_free(&r);
    ls_free(r.ls);
    wl_keyspace_free(r.ks);
    pthread_mutex_destroy(&r.err_mu);
    return rc;
}

void run_result_free(run_result *res)
{
    if (!res) return;
    for (size_t p = 0; res->phases && p < res->nphases; p++) phase_free(&res->phases[p]);
    free(res->phases);
    free(res->timeline);
    free(res->settings);
    memset(res, 0, sizeof *res);
}
