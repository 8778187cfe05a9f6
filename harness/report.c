/* report.c: the result document of a run (report.h; docs/results.md names every field)
 * and the summary table. Ratios that are undefined (a zero denominator) or unavailable
 * (the engine lacks the counter) are written as null, never as 0 or NaN. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "report.h"

#ifndef AM_BUILD_REV
#define AM_BUILD_REV "unknown"
#endif

static json_t *jreal(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static json_t *jint(uint64_t v) { return json_integer((json_int_t)v); }
static json_t *jint_if(int have, uint64_t v) { return have ? jint(v) : json_null(); }

static void set(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }

/* 1 when c provides the figure: its group in have, none of fields in lack. */
static int has(const he_counters *c, uint32_t group, uint32_t fields)
{
    return (c->have & group) && !(c->lack & fields);
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
    if (!ok) k.have = 0;
    enum { W = HE_HAVE_WRITE_AMP, R = HE_HAVE_READ_AMP, C = HE_HAVE_COMPACTIONS,
           S = HE_HAVE_STALLS };
#define FIG(group, f, v) (has(&k, (group), (f)) ? jint(v) : json_null())
    set(o, "write_amplification", jreal(m.write_amp));
    set(o, "wal_amplification", jreal(m.wal_amp));
    set(o, "read_amplification", jreal(m.read_amp));
    set(o, "blocks_per_lookup", jreal(m.blocks_per_lookup));
    set(o, "space_amplification", jreal(m.space_amp));
    json_t *bytes = json_object();
    set(bytes, "user_written", FIG(W, HE_F_USER_BYTES, d.user_bytes_written));
    set(bytes, "wal_written", FIG(W, HE_F_WAL_BYTES, d.wal_bytes));
    set(bytes, "flush_written", FIG(W, HE_F_FLUSH_BYTES, d.flush_bytes_written));
    set(bytes, "compaction_written", FIG(W, HE_F_COMPACTION_WRITTEN, d.compaction_bytes_written));
    set(bytes, "compaction_read", FIG(W, HE_F_COMPACTION_READ, d.compaction_bytes_read));
    set(bytes, "written", FIG(W, HE_F_WAL_BYTES | HE_F_FLUSH_BYTES | HE_F_COMPACTION_WRITTEN,
                              d.wal_bytes + d.flush_bytes_written + d.compaction_bytes_written));
    set(bytes, "read", FIG(W, HE_F_COMPACTION_READ, d.compaction_bytes_read));
    set(o, "bytes", bytes);
    json_t *why = json_null();
    if (k.have & HE_HAVE_REASONS) {
        why = json_object();
        for (int i = 0; i < HE_REASONS; i++)
            set(why, he_reason_names[i], jint(d.compactions_by_reason[i]));
    }
    set(o, "compactions_by_reason", why);
    set(o, "point_lookups", FIG(R, HE_F_POINT_LOOKUPS, d.point_lookups));
    set(o, "lookups_found", FIG(R, HE_F_LOOKUPS_FOUND, d.lookups_found));
    set(o, "segments_probed", FIG(R, HE_F_SEGMENTS_PROBED, d.segments_probed));
    set(o, "blocks_read", FIG(R, HE_F_BLOCKS_READ, d.blocks_read));
    set(o, "blocks_read_disk", FIG(R, HE_F_BLOCKS_READ_DISK, d.blocks_read_disk));
    set(o, "flushes", FIG(C, HE_F_FLUSHES, d.flushes));
    set(o, "compactions", FIG(C, HE_F_COMPACTIONS, d.compactions));
    set(o, "switches", FIG(C, HE_F_SWITCHES, d.switches));
    set(o, "switches_to_leveled", FIG(C, HE_F_SWITCHES, d.switches_to_leveled));
    set(o, "switches_to_tiered", FIG(C, HE_F_SWITCHES, d.switches_to_tiered));
    set(o, "stall_count", FIG(S, HE_F_STALL_COUNT, d.stall_count));
    set(o, "stall_seconds", has(&k, S, HE_F_STALL_MICROS) ? json_real((double)d.stall_micros / 1e6)
                                                          : json_null());
    set(o, "slowdown_count", FIG(S, HE_F_SLOWDOWN_COUNT, d.slowdown_count));
    set(o, "slowdown_seconds", has(&k, S, HE_F_SLOWDOWN_MICROS)
                                   ? json_real((double)d.slowdown_micros / 1e6) : json_null());
#undef FIG
}

/* The engine's state at the end of a window (not a delta). */
static json_t *state_json(const he_counters *b, int logical_known, int64_t logical,
                          int64_t keys)
{
    json_t *o = json_object();
    int tg = !!(b->have & HE_HAVE_TAGS);
#define FIG(f, v) (has(b, HE_HAVE_SPACE, (f)) ? jint(v) : json_null())
    set(o, "live_sst_bytes", FIG(HE_F_LIVE_BYTES, b->live_bytes));
    set(o, "live_sst_files", FIG(HE_F_LIVE_FILES, b->live_files));
    set(o, "live_entries", FIG(HE_F_LIVE_ENTRIES, b->live_entries));
    set(o, "memtable_bytes", FIG(HE_F_MEMTABLE_BYTES, b->memtable_bytes));
    set(o, "pending_compaction_bytes", FIG(HE_F_PENDING, b->pending_compaction_bytes));
#undef FIG
    set(o, "logical_bytes", logical_known ? json_integer(logical) : json_null());
    set(o, "live_keys", logical_known ? json_integer(keys) : json_null());
    json_t *seg = json_object(), *byt = json_object();
    set(seg, "leveled", jint_if(tg, b->segments_leveled));
    set(seg, "tiered", jint_if(tg, b->segments_tiered));
    set(byt, "leveled", jint_if(tg, b->bytes_leveled));
    set(byt, "tiered", jint_if(tg, b->bytes_tiered));
    set(o, "segments_by_tag", seg);
    set(o, "bytes_by_tag", byt);
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
    /* The Go prototype's names. */
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
    const he_counters *k = &s->c;
    set(o, "compactions", has(k, HE_HAVE_COMPACTIONS, HE_F_COMPACTIONS) ? jint(k->compactions)
                                                                        : json_null());
    set(o, "switches", has(k, HE_HAVE_COMPACTIONS, HE_F_SWITCHES) ? jint(k->switches)
                                                                  : json_null());
    set(o, "stall_count", has(k, HE_HAVE_STALLS, HE_F_STALL_COUNT) ? jint(k->stall_count)
                                                                   : json_null());
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
    /* A peer whose counters are partly estimates says so (he_counters.approximate). */
    const he_counters *end = res->nphases ? &res->phases[res->nphases - 1].end : &res->opened;
    set(o, "counters_approximate", json_boolean(res->opened.approximate || end->approximate ||
                                                res->opened.approx || end->approx));
    /* Which figures are estimates, by their JSON names (docs/engines.md says why). */
    static const struct { uint32_t bit; const char *name; } approx_names[] = {
        { HE_F_USER_BYTES, "user_written" }, { HE_F_FLUSH_BYTES, "flush_written" },
        { HE_F_COMPACTION_WRITTEN, "compaction_written" },
        { HE_F_COMPACTION_READ, "compaction_read" }, { HE_F_WAL_BYTES, "wal_written" },
        { HE_F_POINT_LOOKUPS, "point_lookups" }, { HE_F_LOOKUPS_FOUND, "lookups_found" },
        { HE_F_SEGMENTS_PROBED, "segments_probed" }, { HE_F_BLOCKS_READ, "blocks_read" },
        { HE_F_BLOCKS_READ_DISK, "blocks_read_disk" }, { HE_F_FLUSHES, "flushes" },
        { HE_F_COMPACTIONS, "compactions" }, { HE_F_SWITCHES, "switches" },
        { HE_F_STALL_COUNT, "stall_count" }, { HE_F_STALL_MICROS, "stall_seconds" },
        { HE_F_SLOWDOWN_COUNT, "slowdown_count" }, { HE_F_SLOWDOWN_MICROS, "slowdown_seconds" },
        { HE_F_LIVE_BYTES, "live_sst_bytes" }, { HE_F_LIVE_FILES, "live_sst_files" },
        { HE_F_LIVE_ENTRIES, "live_entries" }, { HE_F_MEMTABLE_BYTES, "memtable_bytes" },
        { HE_F_PENDING, "pending_compaction_bytes" },
    };
    json_t *approx = json_array();
    uint32_t bits = (res->opened.approx | end->approx) & ~(res->opened.lack | end->lack);
    for (size_t i = 0; i < sizeof approx_names / sizeof approx_names[0]; i++)
        if (bits & approx_names[i].bit) json_array_append_new(approx, json_string(approx_names[i].name));
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

/* ---- files ---- */

/* The directory part of path into buf ("." when it has none). */
static void dir_of(const char *path, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash) snprintf(buf, cap, ".");
    else if (slash == buf) buf[1] = '\0';
    else *slash = '\0';
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int report_write(const json_t *doc, const char *path, char *err, size_t errcap)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        snprintf(err, errcap, "out of memory formatting the result");
        return -1;
    }
    char tmp[4200], dir[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    dir_of(path, dir, sizeof dir);
    int rc = -1, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t n = strlen(text);
    text[n] = '\n';                       /* json_dumps leaves no final newline */
    if (write_all(fd, text, n + 1) != 0 || fsync(fd) != 0) {
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {                       /* the rename's durability: best effort */
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    free(text);
    return rc;
}

int report_check_writable(const char *path, char *err, size_t errcap)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errcap, "-out %s: is a directory", path);
        return -1;
    }
    char dir[4200], probe[4300];
    dir_of(path, dir, sizeof dir);
    snprintf(probe, sizeof probe, "%s/.amethystd-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errcap, "-out %s: cannot create a file in %s: %s", path, dir,
                 strerror(errno));
        return -1;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int report_default_path(const char *engine, const char *workload, char *buf, size_t cap,
                        char *err, size_t errcap)
{
    char wl[80];
    size_t n = 0;
    for (const char *s = workload; *s && n + 1 < sizeof wl; s++) {
        char ch = *s;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '-';
        wl[n++] = ok ? ch : '-';
    }
    wl[n] = '\0';
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    struct stat st;
    for (int i = 0; i < 1000; i++) {
        if (i == 0) snprintf(buf, cap, "results/%s_%s_%s.json", engine, wl, stamp);
        else snprintf(buf, cap, "results/%s_%s_%s-%d.json", engine, wl, stamp, i);
        if (stat(buf, &st) != 0) return 0;
    }
    snprintf(err, errcap, "results/: too many runs named %s_%s_%s", engine, wl, stamp);
    return -1;
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
