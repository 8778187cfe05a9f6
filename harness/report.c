/* report.c: the result document of a run (report.h; docs/results.md names every field),
 * built in memory, and the summary table; report_file.c writes the document. The engine
 * counters are written from engine.h's lists. Ratios that are undefined (a zero
 * denominator) or unavailable (the engine does not provide a counter) are written as
 * null, never as 0 or NaN. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "report.h"

#ifndef AM_BUILD_REV
#define AM_BUILD_REV "unknown"
#endif

static json_t *jreal(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static json_t *jint(uint64_t v) { return json_integer((json_int_t)v); }

static void set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }

/* Sets v at a dotted path below o ("bytes.user_written"), making the objects on the way. */
static void set_path(json_t *o, const char *path, json_t *v)
{
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        char part[64];
        snprintf(part, sizeof part, "%.*s", (int)(dot - path), path);
        json_t *sub = json_object_get(o, part);
        if (!json_is_object(sub)) {
            sub = json_object();
            set(o, part, sub);
        }
        o = sub;
        path = dot + 1;
    }
    set(o, path, v);
}

/* Counter id of c as JSON: null when c does not provide it; an integer, seconds (HE_MICROS)
   or, for an array, an object by its keys or a JSON array. */
static json_t *counter_json(const he_counters *c, const he_counters *avail, int id)
{
    const he_counter_info *ci = &he_counter_infos[id];
    if (avail->avail[id] == HE_NONE) return json_null();
    if (ci->n == 1) {
        uint64_t v = he_counter_get(c, id, 0);
        return ci->unit == HE_MICROS ? json_real((double)v / 1e6) : jint(v);
    }
    json_t *o = ci->keys ? json_object() : json_array();
    for (size_t i = 0; i < ci->n; i++) {
        if (ci->keys) set(o, ci->keys[i], jint(he_counter_get(c, id, i)));
        else json_array_append_new(o, jint(he_counter_get(c, id, i)));
    }
    return o;
}

/* Every counter of one kind (engine.h's lists) at its path below o: the values of c, the
   availability of avail. */
static void counters_json(json_t *o, he_kind kind, const he_counters *c, const he_counters *avail)
{
    for (int id = 0; id < HE_NCOUNTERS; id++)
        if (he_counter_infos[id].kind == kind)
            set_path(o, he_counter_infos[id].json, counter_json(c, avail, id));
}

/* ---- latency ---- */

static void add_bucket(void *arg, uint64_t lo, uint64_t hi, uint64_t count)
{
    json_t *b = json_array();
    json_array_append_new(b, jint(lo));
    json_array_append_new(b, jint(hi));
    json_array_append_new(b, jint(count));
    json_array_append_new(arg, b);
}

static json_t *latency_json(const histogram *h)
{
    json_t *o = json_object(), *buckets = json_array();
    set(o, "count", jint(hist_count(h)));
    set(o, "mean_ns", jreal(hist_mean(h)));
    set(o, "min", jint(hist_min(h)));
    set(o, "p50", jint(hist_percentile(h, 50.0)));
    set(o, "p90", jint(hist_percentile(h, 90.0)));
    set(o, "p99", jint(hist_percentile(h, 99.0)));
    set(o, "p999", jint(hist_percentile(h, 99.9)));
    set(o, "p9999", jint(hist_percentile(h, 99.99)));
    set(o, "max", jint(hist_max(h)));
    json_t *cl = json_object();
    set(cl, "low", jint(hist_clamped_low(h)));
    set(cl, "high", jint(hist_clamped_high(h)));
    set(o, "clamped", cl);
    hist_foreach(h, add_bucket, buckets);
    set(o, "buckets", buckets);
    return o;
}

/* ---- counters over a window ---- */

/* Adds the amplification figures and counter deltas of the window a..b to o. */
static void window_json(json_t *o, const he_counters *a, const he_counters *b, int logical_known)
{
    metrics m;
    he_counters d;
    metrics_compute(a, b, logical_known, &m);
    int ok = metrics_delta(a, b, &d) == 0;
    he_counters k = *b;                   /* what b provides; nothing if counters went back */
    if (!ok) memset(k.avail, HE_NONE, sizeof k.avail);
    set(o, "write_amplification", jreal(m.write_amp));
    set(o, "wal_amplification", jreal(m.wal_amp));
    set(o, "read_amplification", jreal(m.read_amp));
    set(o, "blocks_per_lookup", jreal(m.blocks_per_lookup));
    set(o, "space_amplification", jreal(m.space_amp));
    counters_json(o, HE_SUM, &d, &k);
    /* Sums of counters, null unless every part is there. */
    int w = k.avail[HE_ID(wal_bytes)] && k.avail[HE_ID(flush_bytes_written)] &&
            k.avail[HE_ID(compaction_bytes_written)];
    set_path(o, "bytes.written", w ? jint(d.wal_bytes + d.flush_bytes_written +
                                          d.compaction_bytes_written) : json_null());
    set_path(o, "bytes.read", counter_json(&d, &k, HE_ID(compaction_bytes_read)));
}

/* The engine's state at the end of a window (not a delta). */
static json_t *state_json(const he_counters *b, int logical_known, int64_t logical,
                          int64_t keys)
{
    json_t *o = json_object();
    counters_json(o, HE_GAUGE, b, b);
    set(o, "logical_bytes", logical_known ? json_integer(logical) : json_null());
    set(o, "live_keys", logical_known ? json_integer(keys) : json_null());
    return o;
}

/* ---- phases and totals ---- */

static json_t *phase_json(const phase_result *p, int logical_known)
{
    json_t *o = json_object(), *lat = json_object(), *lk = json_object();
    set(o, "name", json_string(p->name));
    set(o, "index", jint(p->index));
    set(o, "ops", jint(p->ops));
    set(o, "ops_expected", jint(p->ops_expected));
    set(o, "seconds", json_real(p->seconds));
    set(o, "ops_per_sec", jreal(p->seconds > 0 ? (double)p->ops / p->seconds : NAN));
    set(o, "settle_seconds", json_real(p->settle_seconds));
    set(o, "pause_seconds", json_real(p->pause_seconds));
    for (int t = 0; t < OP_TYPES; t++)
        if (p->lat[t]) set(lat, wl_op_name((wl_op_type)t), latency_json(p->lat[t]));
    set(o, "latency", lat);
    set(lk, "found", jint(p->found));
    set(lk, "not_found", jint(p->not_found));
    set(o, "gets", lk);
    set(o, "scan_entries", jint(p->scan_entries));
    window_json(o, &p->start, &p->end, logical_known);
    set(o, "end_state", state_json(&p->end, logical_known, p->logical_bytes, p->live_keys));
    /* The earlier Go prototype's names (docs/results.md). */
    set(o, "duration_sec", json_real(p->seconds));
    set(o, "wa", json_incref(json_object_get(o, "write_amplification")));
    set(o, "ra", json_incref(json_object_get(o, "read_amplification")));
    return o;
}

static json_t *totals_json(const run_result *res)
{
    json_t *o = json_object();
    uint64_t ops = 0;
    double sec = 0, settle = 0, pause = 0;
    for (size_t i = 0; i < res->nphases; i++) {
        ops += res->phases[i].ops;
        sec += res->phases[i].seconds;
        settle += res->phases[i].settle_seconds;
        pause += res->phases[i].pause_seconds;
    }
    const he_counters *end = res->nphases ? &res->phases[res->nphases - 1].end : &res->opened;
    set(o, "phases", jint(res->nphases));
    set(o, "ops", jint(ops));
    set(o, "seconds", json_real(sec));
    set(o, "ops_per_sec", jreal(sec > 0 ? (double)ops / sec : NAN));
    set(o, "settle_seconds", json_real(settle));
    set(o, "pause_seconds", json_real(pause));
    set(o, "open_seconds", json_real(res->open_seconds));
    set(o, "wall_seconds", json_real(res->wall_seconds));
    window_json(o, &res->opened, end, res->logical_known);
    const phase_result *last = res->nphases ? &res->phases[res->nphases - 1] : NULL;
    set(o, "end_state", state_json(end, res->logical_known, last ? last->logical_bytes : 0,
                                   last ? last->live_keys : 0));
    set(o, "total_duration_sec", json_real(res->wall_seconds));   /* the prototype's name */
    return o;
}

/* ---- timeline ---- */

static json_t *sample_json(const wl_workload *w, const run_result *res, size_t i)
{
    const run_sample *s = &res->timeline[i];
    const he_counters *prev = i ? &res->timeline[i - 1].c : &res->opened;
    json_t *o = json_object();
    metrics cum, iv;
    he_counters now = s->c;
    now.logical_bytes = s->logical_bytes > 0 ? (uint64_t)s->logical_bytes : 0;
    metrics_compute(&res->opened, &now, res->logical_known, &cum);
    metrics_compute(prev, &now, res->logical_known, &iv);
    int have_phase = s->phase >= 0 && (size_t)s->phase < w->nphases;
    set(o, "t", json_real(s->t));
    set(o, "dt", json_real(s->dt));
    set(o, "phase", have_phase ? json_string(w->phases[s->phase].name) : json_null());
    set(o, "phase_index", have_phase ? json_integer(s->phase) : json_null());
    set(o, "state", json_string(run_state_name(s->state)));
    set(o, "ops", jint(s->ops));
    set(o, "ops_per_sec", jreal(s->dt > 0 ? (double)s->ops / s->dt : NAN));
    set(o, "p50_ns", s->ops ? jint(s->p50_ns) : json_null());
    set(o, "p99_ns", s->ops ? jint(s->p99_ns) : json_null());
    set(o, "write_amplification", jreal(cum.write_amp));
    set(o, "read_amplification", jreal(iv.read_amp));
    set(o, "space_amplification", jreal(cum.space_amp));
    for (int id = 0; id < HE_NCOUNTERS; id++)      /* cumulative, not deltas */
        if (he_counter_infos[id].timeline)
            set_path(o, he_counter_infos[id].json, counter_json(&s->c, &s->c, id));
    set(o, "engine", state_json(&s->c, res->logical_known, s->logical_bytes, s->live_keys));
    set(o, "rss_bytes", s->rss_bytes ? jint(s->rss_bytes) : json_null());
    return o;
}

/* ---- workload, config, engine ---- */

static json_t *phase_def_json(const wl_phase *ph)
{
    json_t *o = json_object(), *mix = json_object();
    set(o, "name", json_string(ph->name));
    set(o, "ops", jint(ph->ops));
    for (int t = 0; t < OP_TYPES; t++)
        if (ph->mix.weight[t] > 0) set(mix, wl_op_name((wl_op_type)t), json_real(ph->mix.weight[t]));
    set(o, "mix", mix);
    set(o, "distribution", json_string(wl_dist_name(ph->dist)));
    set(o, "zipf_theta", ph->dist == DIST_ZIPFIAN || ph->dist == DIST_LATEST
                             ? json_real(ph->zipf_theta) : json_null());
    set(o, "range", json_pack("[f, f]", ph->range_lo, ph->range_hi));
    set(o, "value_size", jint(ph->value_size));
    set(o, "scan_length", ph->mix.weight[OP_SCAN] > 0
                              ? json_pack("[I, I]", (json_int_t)ph->scan_min, (json_int_t)ph->scan_max)
                              : json_null());
    set(o, "load", json_boolean(ph->sequential_fill));
    set(o, "sequential_prefix", jint(ph->sequential_prefix));
    return o;
}

static json_t *workload_json(const run_config *cfg, const wl_workload *w)
{
    json_t *o = json_object(), *ph = json_array();
    set(o, "name", json_string(w->name));
    set(o, "given", json_string(cfg->workload));
    set(o, "description", json_string(w->description));
    set(o, "keys", jint(w->keys));
    set(o, "key_format", json_string(w->key_format == KEYS_HASHED ? "hashed" : "padded"));
    set(o, "key_prefix", json_string(w->key_prefix));
    set(o, "key_digits", json_integer(w->key_digits));
    for (size_t i = 0; i < w->nphases; i++) json_array_append_new(ph, phase_def_json(&w->phases[i]));
    set(o, "phases", ph);
    return o;
}

static json_t *config_json(const run_config *c)
{
    json_t *o = json_object();
    set(o, "workload", json_string(c->workload));
    set(o, "keys", jint(c->keys));
    set(o, "value_size", jint(c->value_size));
    set(o, "ops", c->ops ? jint(c->ops) : json_null());
    set(o, "engine", json_string(c->engine));
    set(o, "threads", jint(c->threads));
    set(o, "seed", jint(c->seed));
    set(o, "db", json_string(c->db));
    set(o, "db_temporary", json_boolean(c->db_is_temp));
    set(o, "db_preexisting", json_boolean(c->db_preexisting));
    set(o, "keep", json_boolean(c->keep));
    set(o, "out", json_string(c->out));
    set(o, "sample_ms", jint(c->sample_ms));
    set(o, "pause_ms", jint(c->pause_ms));
    set(o, "settle", json_boolean(c->settle));
    set(o, "deterministic", json_boolean(c->deterministic));
    set(o, "memtable_mb", json_real(c->memtable_mb));
    set(o, "bloom_bits", json_integer(c->bloom_bits));
    set(o, "cache_mb", json_real(c->cache_mb));
    set(o, "sync", json_boolean(c->sync));
    set(o, "compaction_threads", json_integer(c->compaction_threads));
    set(o, "quiet", json_boolean(c->quiet));
    set(o, "engine_opt", c->engine_opt[0] ? json_string(c->engine_opt) : json_null());
    return o;
}

/* A setting's value as a JSON integer when it is one, else a string. */
static json_t *setting_value(const char *v)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && !errno) return json_integer(n);
    return json_string(v);
}

static json_t *engine_json(const run_config *cfg, const he_ops *ops, const char *variant,
                           const run_result *res)
{
    json_t *o = json_object(), *st = json_object();
    set(o, "name", json_string(cfg->engine));
    set(o, "family", json_string(ops->name));
    set(o, "variant", variant ? json_string(variant) : json_null());
    set(o, "description", json_string(ops->description));
    /* Which counters are estimates, by their names (docs/engines.md says why): those an
       adapter marked approximate and provided both at open and at the end. */
    const he_counters *end = res->nphases ? &res->phases[res->nphases - 1].end : &res->opened;
    json_t *approx = json_array();
    int any = 0;
    for (int id = 0; id < HE_NCOUNTERS; id++) {
        int a = res->opened.avail[id], e = end->avail[id];
        if (a != HE_APPROX && e != HE_APPROX) continue;
        any = 1;
        if (a != HE_NONE && e != HE_NONE) json_array_append_new(approx, json_string(he_counter_name(id)));
    }
    set(o, "counters_approximate", json_boolean(any));
    set(o, "approximate_counters", approx);
    for (size_t i = 0; i < res->nsettings; i++)
        set(st, res->settings[i].key, setting_value(res->settings[i].value));
    set(o, "settings", st);
    return o;
}

static json_t *build_json(void)
{
    json_t *b = json_object();
    set(b, "revision", json_string(AM_BUILD_REV));
    set(b, "version", json_string(AMETHYSTD_VERSION));
    set(b, "compiler", json_string(__VERSION__));
#if defined(__SANITIZE_ADDRESS__)
    set(b, "sanitizer", json_string("address"));
#elif defined(__SANITIZE_THREAD__)
    set(b, "sanitizer", json_string("thread"));
#else
    set(b, "sanitizer", json_null());
#endif
#ifdef __OPTIMIZE__
    set(b, "optimized", json_true());
#else
    set(b, "optimized", json_false());
#endif
    return b;
}

json_t *report_build(const run_config *cfg, const wl_workload *w, const he_ops *ops,
                     const char *variant, const run_result *res)
{
    json_t *doc = json_object(), *phases = json_array(), *tl = json_array();
    if (!doc || !phases || !tl) {
        json_decref(doc), json_decref(phases), json_decref(tl);
        return NULL;
    }
    set(doc, "schema", json_string(REPORT_SCHEMA));
    set(doc, "engine", engine_json(cfg, ops, variant, res));
    set(doc, "workload", workload_json(cfg, w));
    set(doc, "config", config_json(cfg));
    set(doc, "machine", machine_info(cfg->db, &res->clock));
    set(doc, "build", build_json());
    set(doc, "start_time", json_string(res->start_iso));
    for (size_t i = 0; i < res->nphases; i++)
        json_array_append_new(phases, phase_json(&res->phases[i], res->logical_known));
    set(doc, "phases", phases);
    set(doc, "totals", totals_json(res));
    for (size_t i = 0; i < res->nsamples; i++) json_array_append_new(tl, sample_json(w, res, i));
    set(doc, "timeline", tl);
    set(doc, "interrupted", json_boolean(res->interrupted));
    set(doc, "interrupted_phase", res->interrupted && res->interrupted_phase[0]
                                      ? json_string(res->interrupted_phase) : json_null());
    set(doc, "error", res->error[0] ? json_string(res->error) : json_null());
    return doc;
}

/* ---- the summary table ---- */

static void fmt_ratio(char *buf, size_t cap, double v)
{
    if (isfinite(v)) snprintf(buf, cap, "%.2f", v);
    else snprintf(buf, cap, "-");
}

static void summary_row(FILE *f, const char *label, uint64_t ops, double sec,
                        const histogram *all, const metrics *m)
{
    char wa[16], ra[16], sa[16];
    fmt_ratio(wa, sizeof wa, m->write_amp);
    fmt_ratio(ra, sizeof ra, m->read_amp);
    fmt_ratio(sa, sizeof sa, m->space_amp);
    fprintf(f, "%-26s %11llu %9.2f %11.0f %9.2f %9.2f %6s %6s %6s\n", label,
            (unsigned long long)ops, sec, sec > 0 ? (double)ops / sec : 0.0,
            all ? (double)hist_percentile(all, 50.0) / 1000.0 : 0.0,
            all ? (double)hist_percentile(all, 99.0) / 1000.0 : 0.0, wa, ra, sa);
}

void report_summary(FILE *f, const wl_workload *w, const run_result *res)
{
    (void)w;
    histogram *all = hist_new(), *ph = hist_new();
    fprintf(f, "%-26s %11s %9s %11s %9s %9s %6s %6s %6s\n", "phase", "ops", "seconds", "ops/s",
            "p50 us", "p99 us", "WA", "RA", "SA");
    uint64_t ops = 0;
    double sec = 0;
    for (size_t i = 0; i < res->nphases; i++) {
        const phase_result *p = &res->phases[i];
        metrics m;
        metrics_compute(&p->start, &p->end, res->logical_known, &m);
        if (ph) {
            hist_reset(ph);
            for (int t = 0; t < OP_TYPES; t++)
                if (p->lat[t]) hist_merge(ph, p->lat[t]);
            if (all) hist_merge(all, ph);
        }
        char label[64];
        snprintf(label, sizeof label, "%zu %s", p->index + 1, p->name);
        summary_row(f, label, p->ops, p->seconds, ph, &m);
        ops += p->ops;
        sec += p->seconds;
    }
    const he_counters *end = res->nphases ? &res->phases[res->nphases - 1].end : &res->opened;
    metrics m;
    metrics_compute(&res->opened, end, res->logical_known, &m);
    summary_row(f, "total", ops, sec, all, &m);
    fprintf(f, "wall time %.2f s (open %.2f s)%s\n", res->wall_seconds, res->open_seconds,
            res->interrupted ? "; INTERRUPTED: unfinished phases are left out" : "");
    hist_free(all);
    hist_free(ph);
}
