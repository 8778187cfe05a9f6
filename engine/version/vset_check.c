/* vset_check.c: the checks of a recovered MANIFEST state (vset_check.h): the live set's
 * invariants, and the completeness proof.
 *
 * Why it works (docs/format.md, "Recovery", has the whole argument): the engine keeps the
 * invariant that the log a durable state names (its log number L) exists. A new log is
 * created and its name synced before the edit that names it is written, and a log is
 * removed only after an edit that advances the log number past it is durable. So a missing
 * L.log means either L = 0 (a database whose first recovery edit never became durable) or
 * that a later edit, lost from the MANIFEST since, was durable and acted on. Such an edit
 * leaves traces the recovered state cannot explain: a flush's SSTable (numbered above L,
 * since its number was taken after L's), or a newer log that was written to. In no
 * legitimate state is L.log missing while a log above L holds a byte: logs are written
 * only once an open's edit has named one of them (then L.log exists, or L = 0 never
 * comes back). */
#include "vset_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fname.h"
#include "../util/ikey.h"
#include "../util/vec.h"

#define PATH_CAP 4096
#define NAMES_SHOWN 4                  /* files named in the message; the rest are counted */

typedef struct ids { uint64_t *v; size_t n, cap; } ids;

static int ids_push(ids *a, uint64_t id)
{
    if (vec_reserve_min(&a->v, &a->cap, a->n + 1, sizeof *a->v, 16) != AM_OK)
        return AM_ERR_NOMEM;
    a->v[a->n++] = id;
    return AM_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct scan {
    uint64_t log_number;
    const uint64_t *live;
    size_t nlive;
    int log_exists;                    /* <log_number>.log is there (log_number > 0) */
    ids ssts;                          /* SSTables above log_number that nothing names */
    ids logs;                          /* logs above log_number */
    uint64_t max_number;
    int rc;
} scan;

static int scan_one(void *arg, const char *name, int kind, uint64_t id)
{
    scan *s = arg;
    (void)name;
    if (kind != FILE_SST && kind != FILE_WAL && kind != FILE_MANIFEST) return 0;
    if (id > s->max_number) s->max_number = id;
    if (kind == FILE_WAL && s->log_number > 0 && id == s->log_number) s->log_exists = 1;
    if (id <= s->log_number || kind == FILE_MANIFEST) return 0;
    if (kind == FILE_SST && !bsearch(&id, s->live, s->nlive, sizeof id, cmp_u64))
        s->rc = ids_push(&s->ssts, id);
    else if (kind == FILE_WAL)
        s->rc = ids_push(&s->logs, id);
    return s->rc;
}

/* *holds = 1 if the log at path has any byte that is not zero. Reads until the first
 * one: a record header is the first bytes of a log that was written to. */
static int log_holds_data(am_env *env, const char *path, int *holds)
{
    enum { CHUNK = 64u << 10 };
    am_file *f = NULL;
    char *buf = malloc(CHUNK);
    uint64_t off = 0;
    size_t got = 0;
    *holds = 0;
    int rc = buf ? env_open_readable(env, path, &f) : AM_ERR_NOMEM;
    while (rc == AM_OK && !*holds) {
        rc = env_pread(env, f, off, CHUNK, buf, &got);
        if (rc != AM_OK || got == 0) break;
        for (size_t i = 0; i < got && !*holds; i++) *holds = buf[i] != 0;
        off += got;
    }
    if (f) env_close(env, f);
    free(buf);
    return rc;
}

/* Appends ", <id>.<ext> (<why>)" to the list in buf, or counts it once NAMES_SHOWN are
 * shown. */
static void add_name(char *buf, size_t cap, size_t *shown, size_t *more, uint64_t id,
                     const char *ext, const char *why)
{
    if (*shown == NAMES_SHOWN) {
        (*more)++;
        return;
    }
    size_t len = strlen(buf);
    if (len < cap)
        snprintf(buf + len, cap - len, "%s%06" PRIu64 ".%s (%s)", *shown ? ", " : "", id, ext,
                 why);
    (*shown)++;
}

int vset_prove_complete(am_env *env, const char *dir, const char *manifest,
                        uint64_t log_number, const uint64_t *live, size_t nlive,
                        uint64_t *max_number)
{
    scan s = { .log_number = log_number, .live = live, .nlive = nlive };
    char path[PATH_CAP], names[320] = "";
    size_t shown = 0, more = 0;
    *max_number = 0;
    int rc = fname_walk(env, dir, scan_one, &s);
    if (rc == AM_OK) rc = s.rc;
    if (rc != AM_OK) goto done;
    *max_number = s.max_number;
    if (log_number > 0 && s.log_exists) goto done;

    /* The log is missing (or there is none yet): look for traces of later edits. */
    if (s.ssts.n) qsort(s.ssts.v, s.ssts.n, sizeof *s.ssts.v, cmp_u64);
    for (size_t i = 0; i < s.ssts.n; i++)
        add_name(names, sizeof names, &shown, &more, s.ssts.v[i], "sst", "named by no edit");
    if (s.logs.n) qsort(s.logs.v, s.logs.n, sizeof *s.logs.v, cmp_u64);
    for (size_t i = 0; rc == AM_OK && i < s.logs.n; i++) {
        int holds = 0;
        fname_wal(path, sizeof path, dir, s.logs.v[i]);
        rc = log_holds_data(env, path, &holds);
        if (rc == AM_OK && holds)
            add_name(names, sizeof names, &shown, &more, s.logs.v[i], "log", "written to");
    }
    if (rc != AM_OK || shown == 0) goto done;
    char more_text[48] = "";
    if (more) snprintf(more_text, sizeof more_text, " and %zu more", more);
    char need[80];
    if (log_number > 0)
        snprintf(need, sizeof need, "needs log %06" PRIu64 ".log, which is missing", log_number);
    else
        snprintf(need, sizeof need, "names no log (log number 0)");
    rc = am_env_error(env, AM_ERR_CORRUPT,
                      "%s has lost records: the recovered state %s, and files show that later "
                      "edits were durable: %s%s; refusing to open (nothing was deleted); run "
                      "amethyst_repair %s", manifest, need, names, more_text, dir);
done:
    free(s.ssts.v);
    free(s.logs.v);
    return rc;
}

/* ---- the live set ---- */

/* Order of a run's segments, as version_build sorts them: level, run id, smallest key. */
static int cmp_live(const void *a, const void *b)
{
    const seg_desc *x = ((const live_seg *)a)->d, *y = ((const live_seg *)b)->d;
    if (x->level != y->level) return x->level < y->level ? -1 : 1;
    if (x->run != y->run) return x->run < y->run ? -1 : 1;
    return ikey_cmp(x->smallest, x->smallest_len, y->smallest, y->smallest_len);
}

/* A user key for a message: printable bytes as they are, others as \xNN, cut at 24. */
static void show_key(char *out, size_t cap, const char *ik, size_t n)
{
    size_t len = 0, ulen = n - IKEY_TRAILER;
    out[0] = 0;
    for (size_t i = 0; i < ulen && i < 24 && len + 5 < cap; i++) {
        unsigned char c = (unsigned char)ik[i];
        len += (size_t)snprintf(out + len, cap - len, c >= 0x20 && c < 0x7f && c != '\''
                                ? "%c" : "\\x%02x", c);
    }
    if (ulen > 24 && len + 4 < cap) snprintf(out + len, cap - len, "...");
}

static int seg_error(am_env *env, const char *manifest, const live_seg *g, const char *what)
{
    return am_env_error(env, AM_ERR_CORRUPT, "%s: segment %" PRIu64 " (level %d, added by "
                        "record %zu at offset %" PRIu64 ") %s", manifest, g->d->id,
                        g->d->level, g->rec, g->off, what);
}

int vset_check_live(am_env *env, const char *manifest, live_seg *segs, size_t n,
                    const replayed_counters *c)
{
    char what[320];
    for (size_t i = 0; i < n; i++) {
        const seg_desc *d = segs[i].d;
        if (d->id >= c->next_file) {
            snprintf(what, sizeof what, "is numbered at or above the next file number %" PRIu64
                     " (set by record %zu at offset %" PRIu64 ")", c->next_file,
                     c->next_file_rec, c->next_file_off);
            return seg_error(env, manifest, &segs[i], what);
        }
        if (d->id == c->manifest_number)
            return seg_error(env, manifest, &segs[i], "has the MANIFEST's own number");
        if (d->max_seq > c->last_seq) {
            snprintf(what, sizeof what, "holds sequence %" PRIu64 ", above the last sequence "
                     "%" PRIu64 " (set by record %zu at offset %" PRIu64 ")", d->max_seq,
                     c->last_seq, c->last_seq_rec, c->last_seq_off);
            return seg_error(env, manifest, &segs[i], what);
        }
    }
    if (n > 1) qsort(segs, n, sizeof *segs, cmp_live);
    for (size_t i = 1; i < n; i++) {
        const seg_desc *p = segs[i - 1].d, *d = segs[i].d;
        if (p->level != d->level || p->run != d->run) continue;
        if (ukey_cmp(p->largest, p->largest_len - IKEY_TRAILER, d->smallest,
                     d->smallest_len - IKEY_TRAILER) < 0)
            continue;
        char pk[100], dk[100];
        show_key(pk, sizeof pk, p->largest, p->largest_len);
        show_key(dk, sizeof dk, d->smallest, d->smallest_len);
        snprintf(what, sizeof what, "overlaps segment %" PRIu64 " (record %zu) in run %" PRIu64
                 ": that one's largest key '%s' is not below this one's smallest '%s'", p->id,
                 segs[i - 1].rec, d->run, pk, dk);
        return seg_error(env, manifest, &segs[i], what);
    }
    return AM_OK;
}
