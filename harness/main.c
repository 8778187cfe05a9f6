/* main.c: amethystd, the workbench's command line. Parses and checks every option before
 * anything runs (a bad option, value, workload, engine, -out or -db exits 2 with the
 * reason and what is valid), prepares the database directory, runs the workload
 * (runner.c), writes the JSON result (report.c) and a summary table on stderr.
 *
 * Exit status: 0 done; 1 the engine failed during the run (the JSON holds the finished
 * phases and the error); 2 bad usage, nothing ran; 130 interrupted by SIGINT / SIGTERM
 * (the JSON holds the finished phases, "interrupted": true). A second Ctrl-C kills. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "run.h"

#ifndef AM_BUILD_REV
#define AM_BUILD_REV "unknown"
#endif

/* ---- the option table: one row per option, in the order -help prints them ---- */

enum {
    O_WORKLOAD, O_KEYS, O_VALUE_SIZE, O_OPS, O_ENGINE, O_THREADS, O_SEED, O_DB, O_KEEP,
    O_OUT, O_SAMPLE_MS, O_PAUSE_MS, O_SETTLE, O_DETERMINISTIC, O_MEMTABLE_MB, O_BLOOM_BITS,
    O_CACHE_MB, O_SYNC, O_COMPACTION_THREADS, O_ENGINE_OPT, O_LIST, O_QUIET, O_HELP, O_VERSION,
    O_COUNT
};

static const struct opt_row {
    const char *name;
    const char *arg;              /* NULL: a flag */
    const char *def;              /* default as -help shows it */
    const char *help;
} rows[O_COUNT] = {
    [O_WORKLOAD] = { "workload", "NAME", "shift",
                     "workload: a built-in, a comma list of db_bench names, or FILE.json (-list)" },
    [O_KEYS] = { "keys", "N", "1000000", "initial key space N (> 0)" },
    [O_VALUE_SIZE] = { "value-size", "BYTES", "256", "value size, 1 .. 67108864" },
    [O_OPS] = { "ops", "N", "N (the -keys value)",
                "operations per phase, for phases that take a count (> 0)" },
    [O_ENGINE] = { "engine", "NAME", "adaptive if the engine has it, else leveled",
                   "engine: an Amethyst strategy, null, ... (-list)" },
    [O_THREADS] = { "threads", "N", "1", "client threads, 1 .. 1024" },
    [O_SEED] = { "seed", "N", "1", "seed of every random choice" },
    [O_DB] = { "db", "DIR", "a fresh directory under $TMPDIR, removed at exit",
               "database directory: created if missing, an existing database is reused, "
               "anything else is refused" },
    [O_KEEP] = { "keep", NULL, "off", "keep the fresh database directory (says where)" },
    [O_OUT] = { "out", "FILE", "results/<engine>_<workload>_<UTC time>.json",
                "where the JSON result goes" },
    [O_SAMPLE_MS] = { "sample-ms", "MS", "1000", "timeline interval; 0: no timeline, else >= 10" },
    [O_PAUSE_MS] = { "pause-ms", "MS", "0", "sleep between phases" },
    [O_SETTLE] = { "settle", NULL, "off",
                   "after each phase wait until compaction is idle (timed apart)" },
    [O_DETERMINISTIC] = { "deterministic", NULL, "off",
                          "one client thread, compaction inline: same seed, same counters" },
    [O_MEMTABLE_MB] = { "memtable-mb", "MB", "4", "memtable size in MiB (fractions allowed)" },
    [O_BLOOM_BITS] = { "bloom-bits", "N", "10", "bloom filter bits per key, 0 (none) .. 64" },
    [O_CACHE_MB] = { "cache-mb", "MB", "8", "block cache in MiB, 0 disables it" },
    [O_SYNC] = { "sync", NULL, "off", "fsync the log before every write returns" },
    [O_COMPACTION_THREADS] = { "compaction-threads", "N", "1",
                               "background flush/compaction threads, 0 (inline) .. 16" },
    [O_ENGINE_OPT] = { "engine-opt", "K=V,...", "none",
                       "Amethyst options by am_options name (tier_fanout, level_fanout, "
                       "l1_target_bytes, l0_compaction_trigger, target_file_bytes, adapt_window, "
                       "adapt_cooldown, adapt_global_cooldown, adapt_read_threshold, "
                       "adapt_write_threshold); peers refuse it" },
    [O_LIST] = { "list", NULL, NULL, "list the workloads and engines, then exit" },
    [O_QUIET] = { "quiet", NULL, "off", "no progress and no summary on stderr" },
    [O_HELP] = { "help", NULL, NULL, "this text" },
    [O_VERSION] = { "version", NULL, NULL, "version and build revision" },
};

typedef struct cli {
    const char *val[O_COUNT];     /* the argument given, or "" for a flag; NULL: not given */
} cli;

static void usage(FILE *f)
{
    fprintf(f, "usage: amethystd [options]   (-opt VALUE, --opt=VALUE and -opt=VALUE all work)\n");
    for (int i = 0; i < O_COUNT; i++) {
        char left[48];
        snprintf(left, sizeof left, "-%s%s%s", rows[i].name, rows[i].arg ? " " : "",
                 rows[i].arg ? rows[i].arg : "");
        fprintf(f, "  %-26s %s", left, rows[i].help);
        if (rows[i].def) fprintf(f, " [default: %s]", rows[i].def);
        fputc('\n', f);
    }
}

static void print_pair(void *arg, const char *name, const char *desc)
{
    fprintf(arg, "  %-20s %s\n", name, desc);
}

static void list_all(FILE *f)
{
    fprintf(f, "workloads:\n");
    wl_list(print_pair, f);
    fprintf(f, "engines:\n");
    he_list(print_pair, f);
}

/* Parses argv into c. Returns -1 to go on, else the exit status (0 after -help, -version
 * or -list; 2 on a bad option, after printing the valid ones). */
static int parse_args(int argc, char **argv, cli *c)
{
    struct option longopts[O_COUNT + 1];
    for (int i = 0; i < O_COUNT; i++)
        longopts[i] = (struct option){ rows[i].name, rows[i].arg ? required_argument : no_argument,
                                       NULL, 256 + i };
    longopts[O_COUNT] = (struct option){ 0 };
    memset(c, 0, sizeof *c);
    opterr = 0;
    int ch, word = optind;
    /* "+": stop at the first non-option (no reordering), so argv[word] is the word that
       getopt looked at; every accepted option consumes whole words. */
    while ((ch = getopt_long_only(argc, argv, "+:", longopts, NULL)) != -1) {
        if (ch >= 256 && ch < 256 + O_COUNT) {
            c->val[ch - 256] = optarg ? optarg : "";
            word = optind;
            continue;
        }
        const char *bad = word < argc ? argv[word] : "?";
        if (ch == ':') fprintf(stderr, "amethystd: option %s needs a value\n", bad);
        else fprintf(stderr, "amethystd: unknown or ambiguous option %s\n", bad);
        usage(stderr);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "amethystd: unexpected argument '%s' (options only)\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (c->val[O_HELP]) {
        usage(stdout);
        return 0;
    }
    if (c->val[O_VERSION]) {
        printf("amethystd %s (build %s)\n", AMETHYSTD_VERSION, AM_BUILD_REV);
        return 0;
    }
    if (c->val[O_LIST]) {
        list_all(stdout);
        return 0;
    }
    return -1;
}

/* ---- values ---- */

/* A whole number in [lo, hi]: digits only (no sign, no spaces, no suffix). */
static int parse_uint(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    const char *p = s;
    uint64_t v = 0;
    if (!*p) goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') goto bad;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) goto bad;
        v = v * 10 + d;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "amethystd: -%s %s: must be %llu .. %llu\n", opt, s,
                (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *out = v;
    return 0;
bad:
    fprintf(stderr, "amethystd: -%s '%s': not a whole number >= 0\n", opt, s);
    return -1;
}

/* A size in MiB: a finite decimal number in [lo, hi]. */
static int parse_mb(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || s[0] == '-' || s[0] == '+' || s[0] == ' ') {
        fprintf(stderr, "amethystd: -%s '%s': not a number of MiB >= 0\n", opt, s);
        return -1;
    }
    if (v < lo || v > hi) {
        fprintf(stderr, "amethystd: -%s %s: must be %g .. %g MiB\n", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Unsigned option i, or its default when not given. */
static int uint_opt(const cli *c, int i, uint64_t def, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!c->val[i]) {
        *out = def;
        return 0;
    }
    return parse_uint(rows[i].name, c->val[i], lo, hi, out);
}

/* Fills cfg's numbers and flags from c. Returns 0, or -1 after saying why. */
static int read_values(const cli *c, run_config *cfg)
{
    uint64_t keys, vsize, ops, threads, seed, sample, pause, bloom, cthreads;
    int rc = 0;
    rc |= uint_opt(c, O_KEYS, 1000000, 1, UINT64_MAX / 4, &keys);
    rc |= uint_opt(c, O_VALUE_SIZE, 256, 1, 64ull << 20, &vsize);
    rc |= uint_opt(c, O_OPS, 0, 1, UINT64_MAX / 4, &ops);
    rc |= uint_opt(c, O_THREADS, 1, 1, 1024, &threads);
    rc |= uint_opt(c, O_SEED, 1, 0, UINT64_MAX, &seed);
    rc |= uint_opt(c, O_SAMPLE_MS, 1000, 0, 3600000, &sample);
    rc |= uint_opt(c, O_PAUSE_MS, 0, 0, 86400000, &pause);
    rc |= uint_opt(c, O_BLOOM_BITS, 10, 0, 64, &bloom);
    rc |= uint_opt(c, O_COMPACTION_THREADS, 1, 0, 16, &cthreads);
    cfg->memtable_mb = 4;
    cfg->cache_mb = 8;
    if (c->val[O_MEMTABLE_MB])
        rc |= parse_mb("memtable-mb", c->val[O_MEMTABLE_MB], 0.0625, 1024, &cfg->memtable_mb);
    if (c->val[O_CACHE_MB])
        rc |= parse_mb("cache-mb", c->val[O_CACHE_MB], 0, 1048576, &cfg->cache_mb);
    if (rc) return -1;
    if (sample != 0 && sample < 10) {
        fprintf(stderr, "amethystd: -sample-ms %llu: must be 0 (no timeline) or >= 10\n",
                (unsigned long long)sample);
        return -1;
    }
    cfg->keys = keys;
    cfg->value_size = (uint32_t)vsize;
    cfg->ops = ops;
    cfg->threads = (unsigned)threads;
    cfg->seed = seed;
    cfg->sample_ms = (unsigned)sample;
    cfg->pause_ms = (unsigned)pause;
    cfg->bloom_bits = (int)bloom;
    cfg->compaction_threads = (int)cthreads;
    cfg->keep = c->val[O_KEEP] != NULL;
    cfg->settle = c->val[O_SETTLE] != NULL;
    cfg->deterministic = c->val[O_DETERMINISTIC] != NULL;
    cfg->sync = c->val[O_SYNC] != NULL;
    cfg->quiet = c->val[O_QUIET] != NULL;
    if (c->val[O_ENGINE_OPT]) {
        if (strlen(c->val[O_ENGINE_OPT]) >= sizeof cfg->engine_opt) {
            fprintf(stderr, "amethystd: -engine-opt: too long\n");
            return -1;
        }
        snprintf(cfg->engine_opt, sizeof cfg->engine_opt, "%s", c->val[O_ENGINE_OPT]);
    }
    if (cfg->deterministic) {
        if (cfg->threads != 1 || cfg->compaction_threads != 0) {
            if (c->val[O_THREADS] && cfg->threads != 1) {
                fprintf(stderr, "amethystd: -deterministic runs one client thread; drop -threads\n");
                return -1;
            }
            if (c->val[O_COMPACTION_THREADS] && cfg->compaction_threads != 0) {
                fprintf(stderr, "amethystd: -deterministic runs compaction inline; drop "
                                "-compaction-threads\n");
                return -1;
            }
        }
        cfg->threads = 1;
        cfg->compaction_threads = 0;
    }
    return 0;
}

/* ---- engine, output and database directory ---- */

static int choose_engine(const cli *c, run_config *cfg, const he_ops **ops, const char **variant)
{
    /* Default: the adaptive strategy once the engine has it (am_strategy_names() through
       the registry), leveled until then. */
    const char *name = c->val[O_ENGINE];
    if (!name) name = he_find("adaptive", NULL) ? "adaptive" : "leveled";
    *ops = he_find(name, variant);
    if (!*ops || he_canonical(name, cfg->engine, sizeof cfg->engine) != 0) {
        char names[1024];
        he_names(names, sizeof names);
        fprintf(stderr, "amethystd: unknown engine '%s'; valid: %s\n", name, names);
        return -1;
    }
    return 0;
}

/* Picks the result file and checks it can be written, creating nothing: the default
 * results/ directory, when missing, is made by create_dirs once every check passed. */
static int choose_out(const cli *c, run_config *cfg, const wl_workload *w)
{
    char err[4400];
    if (c->val[O_OUT]) {
        if (!c->val[O_OUT][0]) {
            fprintf(stderr, "amethystd: -out: empty file name\n");
            return -1;
        }
        snprintf(cfg->out, sizeof cfg->out, "%s", c->val[O_OUT]);
    } else {
        if (report_default_path(cfg->engine, w->name, cfg->out, sizeof cfg->out, err,
                                sizeof err) != 0) {
            fprintf(stderr, "amethystd: %s\n", err);
            return -1;
        }
        struct stat st;
        if (stat("results", &st) != 0) {
            if (errno != ENOENT || access(".", W_OK | X_OK) != 0) {
                fprintf(stderr, "amethystd: cannot create results/: %s\n", strerror(errno));
                return -1;
            }
            cfg->make_results_dir = 1;
            return 0;
        }
    }
    if (report_check_writable(cfg->out, err, sizeof err) != 0) {
        fprintf(stderr, "amethystd: %s\n", err);
        return -1;
    }
    return 0;
}

/* mkdir -p. */
static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* 1 when dir holds nothing but . and .., 0 when it holds something, -1 on error. */
static int dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int empty = 1;
    struct dirent *e;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}

/* 1 when mkdir -p path can be expected to work: its nearest existing ancestor is a
 * directory this process may write into. Sets errno when not. */
static int creatable(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (;;) {
        char *slash = strrchr(buf, '/');
        if (!slash) { snprintf(buf, sizeof buf, "."); }
        else if (slash == buf) buf[1] = '\0';
        else *slash = '\0';
        struct stat st;
        if (stat(buf, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return 0; }
            return access(buf, W_OK | X_OK) == 0;
        }
        if (errno != ENOENT || !slash || slash == buf) return 0;
    }
}

/* Creates what the checks found missing: results/ and the database directory. Runs only
 * once every option, the workload and the engine's settings have been accepted, so a
 * refused run leaves nothing behind. Returns 0, or -1 after saying why. */
static int create_dirs(run_config *cfg)
{
    if (cfg->db_is_temp && !mkdtemp(cfg->db)) {
        fprintf(stderr, "amethystd: cannot create a database directory %s: %s\n", cfg->db,
                strerror(errno));
        cfg->db_is_temp = 0;
        return -1;
    }
    if (cfg->make_db_dir && make_dirs(cfg->db) != 0) {
        fprintf(stderr, "amethystd: -db %s: %s\n", cfg->db, strerror(errno));
        return -1;
    }
    if (cfg->make_results_dir && mkdir("results", 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "amethystd: cannot create results/: %s\n", strerror(errno));
        if (cfg->make_db_dir) (void)rmdir(cfg->db);   /* still empty: ours */
        return -1;
    }
    return 0;
}

/* Picks or checks the database directory (create_dirs makes it when missing). A directory that holds something other
 * than a database (no CURRENT file: Amethyst, LevelDB and RocksDB all keep one), or the
 * database of another engine than the one chosen (he_db_kind), is refused and left
 * untouched. Returns 0, or -1 after saying why. */
static int prepare_db(const cli *c, run_config *cfg, const he_ops *ops, const char *variant)
{
    const char *dir = c->val[O_DB];
    if (!dir) {
        const char *tmp = getenv("TMPDIR");
        snprintf(cfg->db, sizeof cfg->db, "%s/amethystd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        cfg->db_is_temp = 1;          /* made by create_dirs */
        return 0;
    }
    if (cfg->keep) {
        fprintf(stderr, "amethystd: -keep applies to the temporary directory; a -db "
                        "directory is always kept\n");
        return -1;
    }
    if (!*dir || strlen(dir) >= sizeof cfg->db - 16) {
        fprintf(stderr, "amethystd: -db: empty or too long\n");
        return -1;
    }
    snprintf(cfg->db, sizeof cfg->db, "%s", dir);
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT && creatable(dir)) {
            cfg->make_db_dir = 1;     /* made by create_dirs */
            return 0;
        }
        fprintf(stderr, "amethystd: -db %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "amethystd: -db %s: not a directory\n", dir);
        return -1;
    }
    if (access(dir, R_OK | W_OK | X_OK) != 0) {
        fprintf(stderr, "amethystd: -db %s: not writable: %s\n", dir, strerror(errno));
        return -1;
    }
    int empty = dir_empty(dir);
    char current[4200];
    snprintf(current, sizeof current, "%s/CURRENT", dir);
    if (empty < 0) {
        fprintf(stderr, "amethystd: -db %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (!empty) {
        if (stat(current, &st) != 0 || !S_ISREG(st.st_mode)) {
            fprintf(stderr, "amethystd: -db %s: holds files but no database (no CURRENT "
                            "file); refusing to write into it\n", dir);
            return -1;
        }
        const char *kind = he_db_kind(dir);
        if (!he_db_kind_fits(kind, ops, variant)) {
            fprintf(stderr, "amethystd: -db %s: holds a database of %s, not of engine %s; "
                            "refusing to open it\n", dir, kind, cfg->engine);
            return -1;
        }
        cfg->db_preexisting = 1;
    }
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes the directory amethystd made (never one the user named). */
static void remove_temp_db(const run_config *cfg)
{
    if (!cfg->db_is_temp) return;
    if (cfg->keep) {
        if (!cfg->quiet) fprintf(stderr, "amethystd: database kept in %s\n", cfg->db);
        return;
    }
    if (nftw(cfg->db, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "amethystd: could not remove %s: %s\n", cfg->db, strerror(errno));
}

/* ---- signals ---- */

static _Atomic int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    int none = STOP_NONE;          /* lock-free atomics are async-signal-safe */
    atomic_compare_exchange_strong(&g_stop, &none, STOP_INTERRUPT);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;    /* the second Ctrl-C kills as usual */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- main ---- */

/* Writes the result and the summary; returns 0, or -1 when the JSON could not be written. */
static int finish(const run_config *cfg, const wl_workload *w, const he_ops *ops,
                  const char *variant, const run_result *res)
{
    char err[4400];
    json_t *doc = report_build(cfg, w, ops, variant, res);
    int rc = doc ? report_write(doc, cfg->out, err, sizeof err) : -1;
    if (!doc) snprintf(err, sizeof err, "out of memory building the result");
    json_decref(doc);
    if (!cfg->quiet) report_summary(stderr, w, res);
    if (rc != 0) fprintf(stderr, "amethystd: result not written: %s\n", err);
    else if (!cfg->quiet) fprintf(stderr, "amethystd: result in %s\n", cfg->out);
    return rc;
}

int main(int argc, char **argv)
{
    cli c;
    int rc = parse_args(argc, argv, &c);
    if (rc >= 0) return rc;
    static run_config cfg;               /* large (paths); one per process */
    if (read_values(&c, &cfg) != 0) return 2;
    cfg.workload = c.val[O_WORKLOAD] ? c.val[O_WORKLOAD] : "shift";

    wl_workload w;
    char err[1024];
    wl_params wp = { .keys = cfg.keys, .value_size = cfg.value_size, .ops = cfg.ops,
                     .seed = cfg.seed };
    if (wl_build(cfg.workload, &wp, &w, err, sizeof err) != 0) {
        fprintf(stderr, "amethystd: %s\n", err);
        return 2;
    }
    const he_ops *ops;
    const char *variant;
    if (choose_engine(&c, &cfg, &ops, &variant) != 0) {
        wl_free(&w);
        return 2;
    }
    if (run_check(&cfg, &w, ops, variant, err, sizeof err) != 0) {
        fprintf(stderr, "amethystd: %s\n", err);
        wl_free(&w);
        return 2;
    }
    if (choose_out(&c, &cfg, &w) != 0 || prepare_db(&c, &cfg, ops, variant) != 0) {
        wl_free(&w);
        return 2;
    }
    if (create_dirs(&cfg) != 0) {
        remove_temp_db(&cfg);
        wl_free(&w);
        return 1;
    }
    install_signals();
    run_result res;
    rc = run_workload(&cfg, &w, ops, variant, &g_stop, &res, err, sizeof err);
    int status;
    if (rc == -2 || rc == -3) {
        fprintf(stderr, "amethystd: %s\n", err);
        status = rc == -2 ? 2 : 1;
    } else {
        if (rc == -1) fprintf(stderr, "amethystd: run failed: %s\n", res.error);
        if (rc == 1 && !cfg.quiet) fprintf(stderr, "amethystd: interrupted\n");
        status = finish(&cfg, &w, ops, variant, &res) != 0 ? 1
                 : rc == 1                                 ? 130
                 : rc == -1                                ? 1
                                                           : 0;
    }
    run_result_free(&res);
    remove_temp_db(&cfg);
    wl_free(&w);
    return status;
}
