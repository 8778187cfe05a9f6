/* builtin.c: the built-in workloads written as data (shift, ycsb-a..f, the db_bench set),
 * lookup by name (wl_build), wl_list, wl_free and the names of op types and
 * distributions. The exact definitions are in docs/workloads.md; keep the two in step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl_internal.h"

static const char *const op_names[OP_TYPES] = {
    [OP_READ] = "read",     [OP_READ_MISSING] = "read_missing", [OP_UPDATE] = "update",
    [OP_INSERT] = "insert", [OP_DELETE] = "delete",             [OP_SCAN] = "scan",
    [OP_RMW] = "rmw",
};

static const char *const dist_names[DIST_TYPES] = {
    [DIST_SEQUENTIAL] = "sequential", [DIST_UNIFORM] = "uniform", [DIST_ZIPFIAN] = "zipfian",
    [DIST_LATEST] = "latest",         [DIST_PERMUTATION] = "permutation",
};

const char *wl_op_name(wl_op_type t)
{
    return (unsigned)t < OP_TYPES ? op_names[t] : "unknown";
}

const char *wl_dist_name(wl_dist d)
{
    return (unsigned)d < DIST_TYPES ? dist_names[d] : "unknown";
}

void wl_phase_defaults(wl_phase *ph, const char *name, uint32_t value_size)
{
    memset(ph, 0, sizeof *ph);
    snprintf(ph->name, sizeof ph->name, "%s", name);
    ph->dist = DIST_UNIFORM;
    ph->zipf_theta = WL_DEFAULT_THETA;
    ph->range_lo = 0.0;
    ph->range_hi = 1.0;
    ph->value_size = value_size;
    ph->scan_min = 1;
    ph->scan_max = 100;
}

/* ---- the definitions ---- */

typedef struct build_ctx {
    uint64_t n;                   /* keys */
    uint32_t v;                   /* value size */
    uint64_t ops;                 /* -ops, or n */
    wl_workload *w;
} build_ctx;

static wl_phase *add_phase(build_ctx *c, const char *name, uint64_t ops, wl_op_type only,
                           wl_dist dist)
{
    wl_workload *w = c->w;
    wl_phase *p = realloc(w->phases, (w->nphases + 1) * sizeof *p);
    if (!p) return NULL;
    w->phases = p;
    wl_phase *ph = &p[w->nphases++];
    wl_phase_defaults(ph, name, c->v);
    ph->ops = ops;
    ph->dist = dist;
    if ((unsigned)only < OP_TYPES) ph->mix.weight[only] = 1.0;
    return ph;
}

/* shift (docs/workloads.md): 1 write (N sequential inserts, then N/2 uniform overwrites, one
 * phase), 2 read (N, uniform over the first 90%), 3 write (N/2 uniform puts), 4
 * read-after-overwrites (3N uniform reads). -ops does not apply. */
static int build_shift(build_ctx *c)
{
    uint64_t n = c->n;
    wl_phase *ph = add_phase(c, "write", n + n / 2, OP_UPDATE, DIST_UNIFORM);
    if (!ph) return -1;
    ph->sequential_prefix = n;
    ph = add_phase(c, "read", n, OP_READ, DIST_UNIFORM);
    if (!ph) return -1;
    ph->range_hi = 0.9;
    if (!add_phase(c, "write", n / 2, OP_UPDATE, DIST_UNIFORM)) return -1;
    if (!add_phase(c, "read-after-overwrites", 3 * n, OP_READ, DIST_UNIFORM)) return -1;
    return 0;
}

/* YCSB: load N records in key-number order, then -ops operations of the mix. */
static int build_ycsb(build_ctx *c, char which)
{
    wl_phase *ph = add_phase(c, "load", c->n, OP_INSERT, DIST_SEQUENTIAL);
    if (!ph) return -1;
    ph->sequential_fill = 1;
    ph = add_phase(c, "run", c->ops, OP_TYPES, DIST_ZIPFIAN);
    if (!ph) return -1;
    double *wt = ph->mix.weight;
    switch (which) {
    case 'a': wt[OP_READ] = 0.5; wt[OP_UPDATE] = 0.5; break;
    case 'b': wt[OP_READ] = 0.95; wt[OP_UPDATE] = 0.05; break;
    case 'c': wt[OP_READ] = 1.0; break;
    case 'd': wt[OP_READ] = 0.95; wt[OP_INSERT] = 0.05; ph->dist = DIST_LATEST; break;
    case 'e': wt[OP_SCAN] = 0.95; wt[OP_INSERT] = 0.05; break;
    case 'f': wt[OP_READ] = 0.5; wt[OP_RMW] = 0.5; break;
    default: return -1;
    }
    return 0;
}

#define READSEQ_SCAN 1000u   /* keys per readseq scan */
#define SEEK_NEXTS 100u      /* seekrandom: seek + this many entries */

/* One db_bench benchmark as one phase. */
static int build_dbbench(build_ctx *c, const char *name)
{
    uint64_t n = c->n;
    wl_phase *ph;
    if (!strcmp(name, "fillseq")) {
        ph = add_phase(c, name, n, OP_INSERT, DIST_SEQUENTIAL);
        if (ph) ph->sequential_fill = 1;
    } else if (!strcmp(name, "fillrandom")) {
        ph = add_phase(c, name, n, OP_INSERT, DIST_PERMUTATION);
    } else if (!strcmp(name, "overwrite")) {
        ph = add_phase(c, name, c->ops, OP_UPDATE, DIST_UNIFORM);
    } else if (!strcmp(name, "readrandom")) {
        ph = add_phase(c, name, c->ops, OP_READ, DIST_UNIFORM);
    } else if (!strcmp(name, "readmissing")) {
        ph = add_phase(c, name, c->ops, OP_READ_MISSING, DIST_UNIFORM);
    } else if (!strcmp(name, "readseq")) {
        ph = add_phase(c, name, (n + READSEQ_SCAN - 1) / READSEQ_SCAN, OP_SCAN, DIST_SEQUENTIAL);
        if (ph) ph->scan_min = ph->scan_max = READSEQ_SCAN;
    } else if (!strcmp(name, "seekrandom")) {
        ph = add_phase(c, name, c->ops, OP_SCAN, DIST_UNIFORM);
        if (ph) ph->scan_min = ph->scan_max = SEEK_NEXTS;
    } else if (!strcmp(name, "deleterandom")) {
        ph = add_phase(c, name, c->ops, OP_DELETE, DIST_UNIFORM);
    } else {
        return 1;
    }
    return ph ? 0 : -1;
}

/* ---- the table ---- */

enum { K_SHIFT, K_YCSB, K_DBBENCH };

static const struct builtin {
    const char *name;
    int kind;
    const char *desc;
} builtins[] = {
    { "shift", K_SHIFT, "4 phases: N sequential puts + N/2 overwrites; N reads over the first "
                        "90%; N/2 overwrites; 3N reads (Amethyst's default)" },
    { "ycsb-a", K_YCSB, "YCSB A: load N, then 50% read / 50% update, zipfian" },
    { "ycsb-b", K_YCSB, "YCSB B: load N, then 95% read / 5% update, zipfian" },
    { "ycsb-c", K_YCSB, "YCSB C: load N, then 100% read, zipfian" },
    { "ycsb-d", K_YCSB, "YCSB D: load N, then 95% read / 5% insert, latest" },
    { "ycsb-e", K_YCSB, "YCSB E: load N, then 95% scan (1-100) / 5% insert, zipfian" },
    { "ycsb-f", K_YCSB, "YCSB F: load N, then 50% read / 50% read-modify-write, zipfian" },
    { "fillseq", K_DBBENCH, "db_bench: N puts in key order" },
    { "fillrandom", K_DBBENCH, "db_bench: N puts, every key once in random order" },
    { "overwrite", K_DBBENCH, "db_bench: -ops uniform puts of existing keys" },
    { "readrandom", K_DBBENCH, "db_bench: -ops uniform point lookups" },
    { "readmissing", K_DBBENCH, "db_bench: -ops lookups of absent keys inside the range" },
    { "readseq", K_DBBENCH, "db_bench: one pass over all keys as scans of 1000" },
    { "seekrandom", K_DBBENCH, "db_bench: -ops uniform seeks, each followed by 100 nexts" },
    { "deleterandom", K_DBBENCH, "db_bench: -ops uniform deletes" },
};
#define NBUILTINS (sizeof builtins / sizeof builtins[0])

void wl_list(void (*emit)(void *arg, const char *name, const char *desc), void *arg)
{
    for (size_t i = 0; i < NBUILTINS; i++) emit(arg, builtins[i].name, builtins[i].desc);
    emit(arg, "a,b,...", "db_bench names separated by commas: consecutive phases on one "
                         "database (e.g. fillrandom,readrandom)");
    emit(arg, "FILE.json", "a workload file (docs/workloads.md)");
}

static const struct builtin *find_builtin(const char *name, size_t len)
{
    for (size_t i = 0; i < NBUILTINS; i++)
        if (strlen(builtins[i].name) == len && !memcmp(builtins[i].name, name, len))
            return &builtins[i];
    return NULL;
}

static void unknown(const char *what, size_t len, char *err, size_t errcap)
{
    size_t o = (size_t)snprintf(err, errcap, "unknown workload '%.*s'; valid:", (int)len, what);
    for (size_t i = 0; i < NBUILTINS && o < errcap; i++)
        o += (size_t)snprintf(err + o, errcap - o, "%s %s", i ? "," : "", builtins[i].name);
    if (o < errcap)
        snprintf(err + o, errcap - o, ", a comma list of db_bench names, or FILE.json");
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

int wl_build(const char *name, const wl_params *p, wl_workload *out, char *err, size_t errcap)
{
    static const wl_params defaults = { 0 };
    if (!p) p = &defaults;
    memset(out, 0, sizeof *out);
    if (errcap) err[0] = '\0';
    if (!name || !*name) {
        unknown("", 0, err, errcap);
        return -1;
    }
    if (ends_with(name, ".json")) return wl_load_file(name, p, out, err, errcap);

    build_ctx c = { .n = p->keys ? p->keys : WL_DEFAULT_KEYS,
                    .v = p->value_size ? p->value_size : WL_DEFAULT_VALUE_SIZE, .w = out };
    c.ops = p->ops ? p->ops : c.n;
    out->keys = c.n;
    snprintf(out->name, sizeof out->name, "%s", name);

    const struct builtin *b = find_builtin(name, strlen(name));
    int rc = 0;
    if (b && b->kind != K_DBBENCH) {
        snprintf(out->description, sizeof out->description, "%s", b->desc);
        out->key_format = b->kind == K_SHIFT ? KEYS_PADDED : KEYS_HASHED;
        snprintf(out->key_prefix, sizeof out->key_prefix, "%s",
                 b->kind == K_SHIFT ? "key-" : "user");
        out->key_digits = b->kind == K_SHIFT ? 10 : 0;
        rc = b->kind == K_SHIFT ? build_shift(&c) : build_ycsb(&c, name[5]);
        if (rc) snprintf(err, errcap, "out of memory building '%s'", name);
    } else {
        /* One db_bench name or a comma list of them. */
        snprintf(out->description, sizeof out->description, "db_bench: %s", name);
        out->key_format = KEYS_PADDED;
        out->key_prefix[0] = '\0';
        out->key_digits = 16;
        for (const char *s = name; rc == 0;) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            const struct builtin *d = find_builtin(s, len);
            if (!d || d->kind != K_DBBENCH) {
                if (d || strchr(name, ','))
                    snprintf(err, errcap, "'%.*s' in '%s': comma lists take db_bench "
                             "names only (fillseq, fillrandom, overwrite, readrandom, "
                             "readmissing, readseq, seekrandom, deleterandom)", (int)len, s,
                             name);
                else
                    unknown(s, len, err, errcap);
                rc = -1;
                break;
            }
            if (build_dbbench(&c, d->name) != 0) {
                snprintf(err, errcap, "out of memory building '%s'", name);
                rc = -1;
            }
            if (!e) break;
            s = e + 1;
        }
    }
    if (rc) wl_free(out);
    return rc ? -1 : 0;
}

void wl_free(wl_workload *w)
{
    if (!w) return;
    free(w->phases);
    memset(w, 0, sizeof *w);
}
