/* file.c: workload files. A JSON document (schema and example in docs/workloads.md)
 * parses into a wl_workload; every error names the file, the field and the phase
 * ("w.json: phases[2].mix: weights must be >= 0 and not all 0"), and unknown fields are
 * errors so that a typo is never silently ignored. Reads with jansson. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <jansson.h>

#include "wl_internal.h"

#define MAX_PHASES 1024
#define MAX_VALUE_SIZE (64u << 20)
#define MAX_SCAN_LENGTH (1u << 30)

typedef struct parser {
    const char *path;
    char *err;
    size_t errcap;
    uint64_t keys;                /* N, for "xN" counts */
    const wl_params *p;
} parser;

/* Writes "path: where: message" and returns -1. */
static int fail(parser *ps, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(parser *ps, const char *where, const char *fmt, ...)
{
    if (!ps->errcap) return -1;
    size_t o = (size_t)snprintf(ps->err, ps->errcap, "%s: %s%s", ps->path, where,
                                *where ? ": " : "");
    if (o < ps->errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err + o, ps->errcap - o, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_fields(parser *ps, const char *where, json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, k);
        if (ok) continue;
        char list[256];
        size_t o = 0;
        list[0] = '\0';
        for (const char *const *a = allowed; *a && o < sizeof list; a++)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", a == allowed ? "" : ", ", *a);
        return fail(ps, where, "unknown field '%s' (valid: %s)", k, list);
    }
    return 0;
}

/* A non-negative whole number from an integer or an integral real (1e6). */
static int whole(json_t *v, uint64_t max, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || (uint64_t)i > max) return -1;
        *out = (uint64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= 0.0) || d != floor(d) || d > (double)max) return -1;
        *out = (uint64_t)d;
        return 0;
    }
    return -1;
}

/* A count: a whole number, or "<x>N" (x times the key count, rounded down; "N" is 1N). */
static int count(parser *ps, const char *where, json_t *v, uint64_t *out)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double x = 1.0;
        if (*s != 'N') {
            errno = 0;
            x = strtod(s, &end);
            if (end == s || errno || !(x >= 0.0)) goto bad;
            s = end;
        }
        if (strcmp(s, "N") != 0) goto bad;
        double c = x * (double)ps->keys;
        if (c >= 0x1.0p63) goto bad;
        /* Rounded down, except that a product within rounding error of a whole number
         * (0.9 * 1e6 = 899999.9999...) is that number. */
        double r = round(c), tol = 1e-9 * (r > 1.0 ? r : 1.0);
        *out = (uint64_t)(fabs(c - r) < (tol < 0.25 ? tol : 0.25) ? r : floor(c));
        return 0;
    }
    if (whole(v, UINT64_MAX >> 1, out) == 0) return 0;
bad:
    return fail(ps, where, "must be a whole number or a multiple of the key count like "
                           "\"0.5N\"");
}

static int op_index(const char *name)
{
    for (int t = 0; t < OP_TYPES; t++)
        if (!strcmp(wl_op_name((wl_op_type)t), name)) return t;
    return -1;
}

static int parse_mix(parser *ps, const char *where, json_t *v, wl_mix *mix)
{
    if (!json_is_object(v))
        return fail(ps, where, "must be an object of operation weights, e.g. "
                               "{\"read\": 0.5, \"update\": 0.5}");
    const char *k;
    json_t *x;
    double sum = 0.0;
    json_object_foreach(v, k, x) {
        int t = op_index(k);
        if (t < 0)
            return fail(ps, where, "unknown operation '%s' (valid: read, read_missing, "
                                   "update, insert, delete, scan, rmw)", k);
        if (!json_is_number(x))
            return fail(ps, where, "weight of '%s' must be a number", k);
        double w = json_number_value(x);
        if (!(w >= 0.0) || isinf(w))
            return fail(ps, where, "weights must be >= 0 and not all 0");
        mix->weight[t] = w;
        sum += w;
    }
    if (!(sum > 0.0)) return fail(ps, where, "weights must be >= 0 and not all 0");
    /* Each weight is finite, but their sum may not be (two of 1e308): the shares would
       then be 0 or NaN and the phase would silently run one operation only. */
    if (!isfinite(sum)) return fail(ps, where, "weights must add up to a finite number");
    return 0;
}

/* A [lo, hi] pair of numbers. */
static int pair(json_t *v, double *lo, double *hi)
{
    if (!json_is_array(v) || json_array_size(v) != 2) return -1;
    json_t *a = json_array_get(v, 0), *b = json_array_get(v, 1);
    if (!json_is_number(a) || !json_is_number(b)) return -1;
    *lo = json_number_value(a);
    *hi = json_number_value(b);
    return 0;
}

static int parse_phase(parser *ps, size_t i, json_t *obj, uint32_t value_size, wl_phase *ph)
{
    static const char *const fields[] = {
        "name", "ops", "load", "sequential_prefix", "mix", "distribution", "zipf_theta",
        "range", "value_size", "scan_length", NULL,
    };
    char where[64], f[96];
    snprintf(where, sizeof where, "phases[%zu]", i);
    if (!json_is_object(obj)) return fail(ps, where, "must be an object");
    if (check_fields(ps, where, obj, fields)) return -1;
#define FIELD(name) (snprintf(f, sizeof f, "%s.%s", where, name), f)

    char defname[48];
    snprintf(defname, sizeof defname, "phase%zu", i + 1);
    wl_phase_defaults(ph, defname, value_size);

    json_t *v;
    if ((v = json_object_get(obj, "name"))) {
        if (!json_is_string(v) || !*json_string_value(v) ||
            strlen(json_string_value(v)) >= sizeof ph->name)
            return fail(ps, FIELD("name"), "must be a string of 1 to %zu bytes",
                        sizeof ph->name - 1);
        snprintf(ph->name, sizeof ph->name, "%s", json_string_value(v));
    }
    if ((v = json_object_get(obj, "range"))) {
        double lo, hi;
        if (pair(v, &lo, &hi) || !(lo >= 0.0) || !(hi <= 1.0) || !(lo < hi))
            return fail(ps, FIELD("range"), "must be [lo, hi] with 0 <= lo < hi <= 1 "
                                            "(fractions of the key space)");
        ph->range_lo = lo;
        ph->range_hi = hi;
    }
    int load = 0;
    if ((v = json_object_get(obj, "load"))) {
        if (!json_is_boolean(v)) return fail(ps, FIELD("load"), "must be true or false");
        load = json_is_true(v);
    }
    if ((v = json_object_get(obj, "ops"))) {
        if (count(ps, FIELD("ops"), v, &ph->ops)) return -1;
        if (ph->ops == 0) return fail(ps, f, "must be > 0");
    } else if (load) {
        ph->ops = (uint64_t)((ph->range_hi - ph->range_lo) * (double)ps->keys + 0.5);
        if (ph->ops == 0) ph->ops = 1;
    } else {
        ph->ops = ps->p->ops ? ps->p->ops : ps->keys;
    }
    if (load) {
        if (json_object_get(obj, "mix") || json_object_get(obj, "distribution") ||
            json_object_get(obj, "sequential_prefix"))
            return fail(ps, where, "a load phase takes no mix, distribution or "
                                   "sequential_prefix (it inserts the range in key order)");
        ph->sequential_fill = 1;
        ph->dist = DIST_SEQUENTIAL;
        ph->mix.weight[OP_INSERT] = 1.0;
    } else {
        if (!(v = json_object_get(obj, "mix")))
            return fail(ps, where, "missing field 'mix' (or \"load\": true)");
        if (parse_mix(ps, FIELD("mix"), v, &ph->mix)) return -1;
    }
    if ((v = json_object_get(obj, "sequential_prefix"))) {
        if (count(ps, FIELD("sequential_prefix"), v, &ph->sequential_prefix)) return -1;
        if (ph->sequential_prefix > ph->ops)
            return fail(ps, f, "%llu is more than the phase's ops (%llu)",
                        (unsigned long long)ph->sequential_prefix, (unsigned long long)ph->ops);
    }
    if ((v = json_object_get(obj, "distribution"))) {
        int d = -1;
        for (int k = 0; json_is_string(v) && k < DIST_TYPES; k++)
            if (!strcmp(json_string_value(v), wl_dist_name((wl_dist)k))) d = k;
        if (d < 0)
            return fail(ps, FIELD("distribution"), "must be one of uniform, zipfian, latest, "
                                                   "sequential, permutation");
        ph->dist = (wl_dist)d;
    }
    if ((v = json_object_get(obj, "zipf_theta"))) {
        double t = json_is_number(v) ? json_number_value(v) : -1.0;
        if (!(t > 0.0 && t < 1.0))
            return fail(ps, FIELD("zipf_theta"), "must be a number with 0 < theta < 1");
        ph->zipf_theta = t;
    }
    if ((v = json_object_get(obj, "value_size"))) {
        uint64_t x;
        if (whole(v, MAX_VALUE_SIZE, &x))
            return fail(ps, FIELD("value_size"), "must be a whole number from 0 to %u",
                        MAX_VALUE_SIZE);
        ph->value_size = (uint32_t)x;
    }
    if ((v = json_object_get(obj, "scan_length"))) {
        uint64_t a, b;
        double lo, hi;
        if (whole(v, MAX_SCAN_LENGTH, &a) == 0) {
            b = a;
        } else if (pair(v, &lo, &hi) == 0 && lo == floor(lo) && hi == floor(hi) && lo >= 0 &&
                   hi <= MAX_SCAN_LENGTH) {
            a = (uint64_t)lo;
            b = (uint64_t)hi;
        } else {
            a = 0, b = 0;
        }
        if (a < 1 || a > b)
            return fail(ps, FIELD("scan_length"), "must be n or [min, max] with 1 <= min <= "
                                                  "max <= %u", MAX_SCAN_LENGTH);
        ph->scan_min = (uint32_t)a;
        ph->scan_max = (uint32_t)b;
    }
#undef FIELD
    return 0;
}

int wl_load_file(const char *path, const wl_params *p, wl_workload *out, char *err,
                 size_t errcap)
{
    static const char *const fields[] = {
        "name", "description", "keys", "key_format", "key_prefix", "key_digits", "phases", NULL,
    };
    parser ps = { .path = path, .err = err, .errcap = errcap, .p = p };
    memset(out, 0, sizeof *out);
    /* A FIFO or a device would block or stream forever: a workload file is read whole. */
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "%s: not a regular file (a workload file is read whole)", path);
        return -1;
    }
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!root) {
        if (je.line > 0)
            snprintf(err, errcap, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        else
            snprintf(err, errcap, "%s: %s", path, je.text);
        return -1;
    }
    if (!json_is_object(root)) {
        fail(&ps, "", "a workload file is a JSON object with \"phases\"");
        goto out;
    }
    if (check_fields(&ps, "top level", root, fields)) goto out;

    json_t *v;
    /* name: the file's, else its base name without .json */
    if ((v = json_object_get(root, "name"))) {
        if (!json_is_string(v) || !*json_string_value(v) ||
            strlen(json_string_value(v)) >= sizeof out->name) {
            fail(&ps, "name", "must be a string of 1 to %zu bytes", sizeof out->name - 1);
            goto out;
        }
        snprintf(out->name, sizeof out->name, "%s", json_string_value(v));
    } else {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        size_t n = strlen(b) >= 5 ? strlen(b) - 5 : strlen(b);
        snprintf(out->name, sizeof out->name, "%.*s", (int)n, b);
    }
    if ((v = json_object_get(root, "description"))) {
        if (!json_is_string(v)) {
            fail(&ps, "description", "must be a string");
            goto out;
        }
        snprintf(out->description, sizeof out->description, "%s", json_string_value(v));
    }
    ps.keys = p->keys ? p->keys : WL_DEFAULT_KEYS;
    if ((v = json_object_get(root, "keys"))) {
        if (whole(v, UINT64_MAX >> 2, &ps.keys) || ps.keys == 0) {
            fail(&ps, "keys", "must be a whole number > 0");
            goto out;
        }
    }
    out->keys = ps.keys;
    out->key_format = KEYS_PADDED;
    if ((v = json_object_get(root, "key_format"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (!strcmp(s, "hashed")) {
            out->key_format = KEYS_HASHED;
        } else if (strcmp(s, "padded") != 0) {
            fail(&ps, "key_format", "must be \"padded\" or \"hashed\"");
            goto out;
        }
    }
    int hashed = out->key_format == KEYS_HASHED;
    snprintf(out->key_prefix, sizeof out->key_prefix, "%s", hashed ? "user" : "key-");
    out->key_digits = hashed ? 0 : 10;
    if ((v = json_object_get(root, "key_prefix"))) {
        if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof out->key_prefix) {
            fail(&ps, "key_prefix", "must be a string of at most %zu bytes",
                 sizeof out->key_prefix - 1);
            goto out;
        }
        snprintf(out->key_prefix, sizeof out->key_prefix, "%s", json_string_value(v));
    }
    if ((v = json_object_get(root, "key_digits"))) {
        uint64_t d;
        if (hashed) {
            fail(&ps, "key_digits", "applies to padded keys only");
            goto out;
        }
        if (whole(v, 20, &d) || d < 1) {
            fail(&ps, "key_digits", "must be a whole number from 1 to 20");
            goto out;
        }
        out->key_digits = (int)d;
    }

    v = json_object_get(root, "phases");
    if (!v || !json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > MAX_PHASES) {
        fail(&ps, "phases", "must be an array of 1 to %d phase objects", MAX_PHASES);
        goto out;
    }
    out->phases = calloc(json_array_size(v), sizeof *out->phases);
    if (!out->phases) {
        fail(&ps, "phases", "out of memory");
        goto out;
    }
    uint32_t vs = p->value_size ? p->value_size : WL_DEFAULT_VALUE_SIZE;
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (parse_phase(&ps, i, json_array_get(v, i), vs, &out->phases[i])) goto out;
        out->nphases++;
    }
    rc = 0;
out:
    json_decref(root);
    if (rc) wl_free(out);
    return rc;
}
