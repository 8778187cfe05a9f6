/* vset.c: the version set: the current version, the file-number and sequence counters, and
 * the MANIFEST / CURRENT files that make them durable; recovery; engine file names.
 *
 * On disk (docs/format.md):
 *   MANIFEST-<n>  a log in the WAL record format (engine/wal/wal.h: fixed32 masked crc32c |
 *                 fixed32 length | type byte 1 | payload), one record per version edit; the
 *                 payload is edit_encode()'s tagged fields (engine/version/edit.c). The
 *                 first record is a snapshot: log number, next file, last sequence,
 *                 strategy, and every live segment. Each later record is one installed
 *                 edit, with next file and last sequence filled in. Replaying all records
 *                 in order gives the state.
 *   CURRENT       the name of the live MANIFEST followed by "\n" (e.g. "MANIFEST-000001\n"),
 *                 replaced atomically (temp file, sync, rename, directory sync).
 * File names: fname.h.
 *
 * Durability order: an edit is appended and synced before the version it makes is
 * installed, and only then are the segments it removes marked obsolete (their files go
 * when the last reference does: seg_unref tells remove_file below). A fresh MANIFEST is complete and synced, and
 * the directory synced (its name durable), before CURRENT names it; the old one is
 * removed only after CURRENT is switched.
 *
 * Recovery replays the MANIFEST, then proves the state complete before it writes or
 * deletes anything (vset_check.c; docs/format.md, "The completeness proof").
 *
 * Failure: if syncing the directory or appending or syncing an edit fails, the current
 * version stays, the error is stored, and every later vset_log_and_apply returns it without
 * writing (the engine goes read-only; reopening recovers from what the MANIFEST durably
 * holds). The failed edit may or may not be on disk, so neither the files it adds nor the
 * files it deletes may be removed before reopen: its deleted segments are not marked
 * obsolete, and the caller must leave its added files alone. */
#include "vset.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fname.h"
#include "vset_check.h"
#include "../wal/wal.h"
#include "../sst/cache.h"

/* A MANIFEST larger than this is replaced by a fresh snapshot after the next edit. */
#define VSET_MANIFEST_ROLL_BYTES (64u << 20)
#define PATH_CAP 4096

struct vset {
    am_env *env;                   /* borrowed */
    char *dir;                     /* owned */
    blk_cache *cache;              /* borrowed; may be NULL */
    char strategy[32];
    uint64_t log_number, next_file, last_seq;
    uint64_t manifest_number;      /* of the MANIFEST being appended to */
    wal_writer *manifest;          /* owned */
    am_version *current;           /* one reference */
    int err;                       /* sticky: a MANIFEST write failed */
};

/* ---- accessors ---- */

am_version *vset_current(vset *vs) { return vs->current; }

vset_state vset_get_state(const vset *vs)
{
    vset_state st = {.log_number = vs->log_number, .next_file = vs->next_file,
                     .last_seq = vs->last_seq};
    return st;
}

uint64_t vset_new_file_number(vset *vs) { return vs->next_file++; }
void vset_set_last_seq(vset *vs, uint64_t seq) { vs->last_seq = seq; }
const char *vset_dir(const vset *vs) { return vs->dir; }
am_env *vset_env(const vset *vs) { return vs->env; }
const char *vset_strategy(const vset *vs) { return vs->strategy; }
blk_cache *vset_cache(const vset *vs) { return vs->cache; }

/* ---- construction ---- */

static int vset_alloc(am_env *env, const char *dir, blk_cache *cache, vset **out)
{
    vset *vs = calloc(1, sizeof(*vs));
    if (!vs || !(vs->dir = strdup(dir))) {
        free(vs);
        return AM_ERR_NOMEM;
    }
    vs->env = env;
    vs->cache = cache;
    *out = vs;
    return AM_OK;
}

/* A version set for a new MANIFEST naming strategy; AM_ERR_INVALID when the name is empty
 * or too long for the MANIFEST. */
static int vset_alloc_named(am_env *env, const char *dir, blk_cache *cache,
                            const char *strategy, vset **out)
{
    *out = NULL;
    if (!strategy || !*strategy || strlen(strategy) >= sizeof((*out)->strategy))
        return am_env_error(env, AM_ERR_INVALID, "%s: strategy name '%s' is empty or too long",
                            dir, strategy ? strategy : "(null)");
    int rc = vset_alloc(env, dir, cache, out);
    if (rc == AM_OK) strcpy((*out)->strategy, strategy);
    return rc;
}

void vset_free(vset *vs)
{
    if (!vs) return;
    version_unref(vs->current);
    wal_writer_close(vs->manifest);
    free(vs->dir);
    free(vs);
}

/* AM_ERR_CORRUPT naming both files unless what the MANIFEST records of segment d (bounds,
 * counts, sequences, size) is what its SSTable at path says of itself. */
static int check_props(vset *vs, const char *path, const seg_desc *d, const sst_file_info *p)
{
    const struct { const char *name; uint64_t mine, theirs; } nums[] = {
        { "entries", d->entries, p->entries }, { "deletions", d->deletions, p->deletions },
        { "min_seq", d->min_seq, p->min_seq }, { "max_seq", d->max_seq, p->max_seq },
        { "size", d->bytes, p->file_bytes },
    };
    const char *what = NULL;
    uint64_t mine = 0, theirs = 0;
    if (d->smallest_len != p->smallest_len || memcmp(d->smallest, p->smallest, p->smallest_len))
        what = "smallest key";
    else if (d->largest_len != p->largest_len || memcmp(d->largest, p->largest, p->largest_len))
        what = "largest key";
    for (size_t i = 0; !what && i < sizeof nums / sizeof nums[0]; i++)
        if (nums[i].mine != nums[i].theirs) {
            what = nums[i].name;
            mine = nums[i].mine;
            theirs = nums[i].theirs;
        }
    if (!what) return AM_OK;
    char manifest[PATH_CAP], values[64] = "";
    fname_manifest(manifest, sizeof manifest, vs->dir, vs->manifest_number);
    if (mine != theirs)
        snprintf(values, sizeof values, " (%" PRIu64 " against %" PRIu64 ")", mine, theirs);
    return am_env_error(vs->env, AM_ERR_CORRUPT, "%s: what %s records for it (level %d) "
                        "differs from the file's own %s%s", path, manifest, d->level, what,
                        values);
}

/* seg_gone_fn of every segment vs opens: its last reference went after a durable edit
 * removed it. A failed remove leaves an orphan file that the engine's directory sweep at
 * open removes; nothing is reported. */
static void remove_file(void *arg, uint64_t id)
{
    const vset *vs = arg;
    char path[PATH_CAP];
    fname_sst(path, sizeof(path), vs->dir, id);
    (void)env_remove_quiet(vs->env, path);
}

int vset_open_segment(vset *vs, const seg_desc *d, am_segment **out)
{
    char path[PATH_CAP];
    *out = NULL;
    fname_sst(path, sizeof(path), vs->dir, d->id);
    if (!env_exists(vs->env, path))
        return am_env_error(vs->env, AM_ERR_CORRUPT,
                            "%s: segment file (level %d) listed in the MANIFEST is missing",
                            path, d->level);
    am_segment *s = seg_new_detached(d);
    if (!s) return AM_ERR_NOMEM;
    int rc = sst_reader_open(vs->env, path, d->id, vs->cache, &s->reader);
    if (rc == AM_OK && (rc = check_props(vs, path, d, sst_reader_props(s->reader))) != AM_OK)
        sst_reader_free(s->reader);
    if (rc != AM_OK) {
        s->reader = NULL;
        seg_unref(s);      /* not obsolete, no owner: removes nothing */
        return rc;
    }
    s->gone = remove_file;
    s->gone_arg = vs;
    *out = s;
    return AM_OK;
}

struct snap_arg { version_edit *e; int rc; };

static void snap_add(void *arg, am_segment *s)
{
    struct snap_arg *a = arg;
    if (a->rc) return;
    seg_desc d = s->d;
    d.reads = atomic_load_explicit(&s->reads, memory_order_relaxed);
    d.writes = atomic_load_explicit(&s->writes, memory_order_relaxed);
    a->rc = edit_add_segment(a->e, &d);
}

/* Writes MANIFEST-<number> holding one snapshot edit of vs's counters and of version v,
 * and syncs it. On success *out is the open writer; on failure the file is removed. */
/* Refuses to make durable a state whose counters a later open would refuse as damage
 * (edit.h, EDIT_MAX_FILE_NUMBER): reachable only from a history already near the bound. */
static int check_numbers(vset *vs)
{
    if (vs->next_file <= EDIT_MAX_FILE_NUMBER) return AM_OK;
    return am_env_error(vs->env, AM_ERR_INVALID, "%s: file numbers exhausted (next file "
                        "%" PRIu64 ", the largest a MANIFEST may record is %" PRIu64 ")",
                        vs->dir, vs->next_file, (uint64_t)EDIT_MAX_FILE_NUMBER);
}

static int write_snapshot(vset *vs, uint64_t number, const am_version *v, wal_writer **out)
{
    char path[PATH_CAP];
    version_edit e;
    am_buf buf;
    wal_writer *w = NULL;
    edit_init(&e);
    buf_init(&buf);
    *out = NULL;
    fname_manifest(path, sizeof(path), vs->dir, number);

    e.has_log_number = 1; e.log_number = vs->log_number;
    e.has_next_file = 1;  e.next_file = vs->next_file;
    e.has_last_seq = 1;   e.last_seq = vs->last_seq;
    e.has_strategy = 1;   memcpy(e.strategy, vs->strategy, sizeof(e.strategy));
    struct snap_arg a = {.e = &e, .rc = check_numbers(vs)};
    if (v && a.rc == AM_OK) version_foreach(v, snap_add, &a);
    int rc = a.rc;
    if (rc == AM_OK) rc = edit_encode(&e, &buf);
    if (rc == AM_OK) rc = wal_writer_open(vs->env, path, &w);
    if (rc == AM_OK) rc = wal_writer_add(w, buf.data, buf.len);
    if (rc == AM_OK) rc = wal_writer_sync(w);
    /* Its name too, before CURRENT can name it: a rename of CURRENT that reaches the disk
       must never point at a MANIFEST whose directory entry did not. */
    if (rc == AM_OK) rc = env_sync_dir(vs->env, vs->dir);
    if (rc == AM_OK) {
        *out = w;
    } else if (w) {
        wal_writer_close(w);
        (void)env_remove_quiet(vs->env, path);
    }
    edit_clear(&e);
    buf_free(&buf);
    return rc;
}

/* Points CURRENT at MANIFEST-<number> (whose writer is w), then drops the old MANIFEST.
 * On failure w is closed and its file removed if CURRENT certainly still names the old
 * one; the error is returned. */
static int switch_current(vset *vs, uint64_t number, wal_writer *w)
{
    char name[64], path[PATH_CAP];
    int len = snprintf(name, sizeof(name), "MANIFEST-%06" PRIu64 "\n", number);
    int rc = env_write_atomic(vs->env, vs->dir, "CURRENT", name, (size_t)len);
    if (rc != AM_OK) {
        /* The rename may have happened before a failed directory sync, so CURRENT may
         * name either file: keep both on disk and stop using this vset for edits. */
        wal_writer_close(w);
        return rc;
    }
    uint64_t old = vs->manifest_number;
    wal_writer_close(vs->manifest);
    vs->manifest = w;
    vs->manifest_number = number;
    if (old && old != number) {
        fname_manifest(path, sizeof(path), vs->dir, old);
        (void)env_remove_quiet(vs->env, path);   /* an orphan if this fails: nothing names it */
    }
    return AM_OK;
}

int vset_create(am_env *env, const char *dir, blk_cache *cache, const char *strategy,
                vset **out)
{
    vset *vs = NULL;
    wal_writer *w = NULL;
    *out = NULL;
    int rc = vset_alloc_named(env, dir, cache, strategy, &vs);
    if (rc) return rc;
    vs->log_number = 0;
    vs->next_file = 2;
    vs->last_seq = 0;
    if (!(vs->current = version_build(NULL, 0))) { rc = AM_ERR_NOMEM; goto fail; }
    rc = write_snapshot(vs, 1, NULL, &w);
    if (rc == AM_OK) rc = switch_current(vs, 1, w);
    if (rc != AM_OK) goto fail;
    *out = vs;
    return AM_OK;
fail:
    vset_free(vs);
    return rc;
}

int vset_create_from(am_env *env, const char *dir, blk_cache *cache, const char *strategy,
                     const vset_state *st, const seg_desc *segs, size_t n, vset **out)
{
    vset *vs = NULL;
    wal_writer *w = NULL;
    am_segment **open = NULL;
    size_t nopen = 0;
    *out = NULL;
    int rc = vset_alloc_named(env, dir, cache, strategy, &vs);
    if (rc) return rc;
    vs->log_number = st->log_number;
    vs->last_seq = st->last_seq;
    uint64_t number = st->next_file;
    vs->next_file = number + 1;
    for (size_t i = 0; i < n; i++)
        if (vs->next_file <= segs[i].id) vs->next_file = segs[i].id + 1;
    if (n && !(open = calloc(n, sizeof(*open)))) { rc = AM_ERR_NOMEM; goto fail; }
    for (; nopen < n; nopen++)
        if ((rc = vset_open_segment(vs, &segs[nopen], &open[nopen]))) goto fail;
    if (!(vs->current = version_build(open, nopen))) { rc = AM_ERR_NOMEM; goto fail; }
    /* The segments' names are durable before the MANIFEST names them, and the MANIFEST's
       before CURRENT does. */
    rc = env_sync_dir(env, dir);
    if (rc == AM_OK) rc = write_snapshot(vs, number, vs->current, &w);
    if (rc == AM_OK && (rc = env_sync_dir(env, dir)) != AM_OK) {
        wal_writer_close(w);
        goto fail;     /* the MANIFEST stays: nothing names it, and it removes nothing */
    }
    if (rc == AM_OK) rc = switch_current(vs, number, w);   /* manifest_number 0: none dropped */
    if (rc != AM_OK) goto fail;
    for (size_t i = 0; i < nopen; i++) seg_unref(open[i]);    /* the version holds its own */
    free(open);
    *out = vs;
    return AM_OK;
fail:
    for (size_t i = 0; i < nopen; i++) seg_unref(open[i]);
    free(open);
    vset_free(vs);
    return rc;
}

/* ---- recovery ---- */

/* Where a live segment was added: the MANIFEST record (index and offset), for messages. */
typedef struct live_where { size_t rec; uint64_t off; } live_where;

/* The live segments while replaying: descs (keys owned), where each was added (at[k] for
 * d[k]), and a hash of id -> index. */
typedef struct live_set {
    seg_desc *d;
    live_where *at;
    size_t n, cap;
    uint32_t *slot;                /* index + 1, or 0 for empty; open addressing */
    size_t mask;                   /* slots - 1 */
    live_where next_file_at, last_seq_at;   /* the records that set those counters */
} live_set;

static size_t home(const live_set *ls, uint64_t id)
{
    return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & ls->mask;
}

/* Slot of id, or of the empty slot where it would go. */
static size_t live_slot(const live_set *ls, uint64_t id)
{
    size_t i = home(ls, id);
    while (ls->slot[i] && ls->d[ls->slot[i] - 1].id != id) i = (i + 1) & ls->mask;
    return i;
}

static int live_rehash(live_set *ls, size_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof(*s));
    if (!s) return AM_ERR_NOMEM;
    free(ls->slot);
    ls->slot = s;
    ls->mask = nslots - 1;
    for (size_t k = 0; k < ls->n; k++) ls->slot[live_slot(ls, ls->d[k].id)] = (uint32_t)(k + 1);
    return AM_OK;
}

/* Takes d (and its keys), added at where; AM_ERR_CORRUPT if the id is already live. */
static int live_add(live_set *ls, seg_desc *d, live_where where)
{
    if (ls->n >= UINT32_MAX - 1) return AM_ERR_CORRUPT;
    if (!ls->slot || (ls->n + 1) * 2 > ls->mask + 1) {
        int rc = live_rehash(ls, ls->slot ? (ls->mask + 1) * 2 : 64);
        if (rc) return rc;
    }
    if (ls->n == ls->cap) {
        size_t ncap = ls->cap ? ls->cap * 2 : 64;
        seg_desc *nd = realloc(ls->d, ncap * sizeof(*nd));
        if (!nd) return AM_ERR_NOMEM;
        ls->d = nd;
        live_where *na = realloc(ls->at, ncap * sizeof(*na));
        if (!na) return AM_ERR_NOMEM;
        ls->at = na;
        ls->cap = ncap;
    }
    size_t i = live_slot(ls, d->id);
    if (ls->slot[i]) return AM_ERR_CORRUPT;
    ls->d[ls->n] = *d;
    ls->at[ls->n] = where;
    ls->slot[i] = (uint32_t)(++ls->n);
    d->smallest = d->largest = NULL;
    return AM_OK;
}

/* Removes (level, id); AM_ERR_CORRUPT if it is not live at that level. */
static int live_delete(live_set *ls, int level, uint64_t id)
{
    if (!ls->slot) return AM_ERR_CORRUPT;
    size_t i = live_slot(ls, id);
    if (!ls->slot[i]) return AM_ERR_CORRUPT;
    size_t k = ls->slot[i] - 1;
    if (ls->d[k].level != level) return AM_ERR_CORRUPT;
    free(ls->d[k].smallest);
    free(ls->d[k].largest);
    /* Backward-shift deletion keeps every probe chain unbroken. */
    size_t j = i;
    for (;;) {
        j = (j + 1) & ls->mask;
        if (!ls->slot[j]) break;
        size_t h = home(ls, ls->d[ls->slot[j] - 1].id);
        /* Move slot j into the hole at i unless its home lies cyclically in (i, j]. */
        int stays = (i <= j) ? (h > i && h <= j) : (h > i || h <= j);
        if (!stays) {
            ls->slot[i] = ls->slot[j];
            i = j;
        }
    }
    ls->slot[i] = 0;
    /* Fill index k with the last desc. */
    size_t last = ls->n - 1;
    if (k != last) {
        ls->d[k] = ls->d[last];
        ls->at[k] = ls->at[last];
        ls->slot[live_slot(ls, ls->d[k].id)] = (uint32_t)(k + 1);
    }
    ls->n--;
    return AM_OK;
}

static void live_free(live_set *ls)
{
    for (size_t k = 0; k < ls->n; k++) {
        free(ls->d[k].smallest);
        free(ls->d[k].largest);
    }
    free(ls->d);
    free(ls->at);
    free(ls->slot);
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* vset_prove_complete over the replayed live set; *max_number as there. */
static int prove_complete(vset *vs, const char *path, const live_set *ls, uint64_t *max_number)
{
    uint64_t *ids = malloc((ls->n ? ls->n : 1) * sizeof *ids);
    if (!ids) return AM_ERR_NOMEM;
    for (size_t k = 0; k < ls->n; k++) ids[k] = ls->d[k].id;
    qsort(ids, ls->n, sizeof *ids, cmp_id);
    int rc = vset_prove_complete(vs->env, vs->dir, path, vs->log_number, ids, ls->n, max_number);
    free(ids);
    return rc;
}

/* Reads CURRENT into name (the MANIFEST file name without the newline). */
static int read_current(am_env *env, const char *dir, char *name, size_t cap, uint64_t *number)
{
    char path[PATH_CAP];
    char *data = NULL;
    size_t n = 0;
    int kind;
    snprintf(path, sizeof(path), "%s/CURRENT", dir);
    if (!env_exists(env, path))
        return am_env_error(env, AM_ERR_CORRUPT, "%s: missing (no MANIFEST is named)", path);
    int rc = env_read_all(env, path, &data, &n);
    if (rc != AM_OK) return rc;
    if (n < 2 || n >= cap || data[n - 1] != '\n' || memchr(data, 0, n)) {
        rc = am_env_error(env, AM_ERR_CORRUPT,
                          "%s: garbled (%zu bytes; want \"MANIFEST-<number>\\n\")", path, n);
        goto out;
    }
    memcpy(name, data, n - 1);
    name[n - 1] = 0;
    if (!fname_parse(name, &kind, number) || kind != FILE_MANIFEST) {
        rc = am_env_error(env, AM_ERR_CORRUPT,
                          "%s: garbled (names '%.64s', not a MANIFEST file)", path, name);
        goto out;
    }
out:
    free(data);
    return rc;
}

/* Applies one decoded edit, the record at `at` of the MANIFEST at path, to the replay
 * state. AM_ERR_CORRUPT (message recorded) for a deletion of a segment not live at that
 * level or an addition of one already live. */
static int replay_edit(vset *vs, live_set *ls, version_edit *e, const char *path,
                       live_where at, int *seen_next, int *seen_strategy)
{
    int rc = AM_OK;
    if (e->has_log_number) vs->log_number = e->log_number;
    if (e->has_next_file) {
        vs->next_file = e->next_file;
        ls->next_file_at = at;
        *seen_next = 1;
    }
    if (e->has_last_seq) {
        vs->last_seq = e->last_seq;
        ls->last_seq_at = at;
    }
    if (e->has_strategy) { memcpy(vs->strategy, e->strategy, sizeof(vs->strategy)); *seen_strategy = 1; }
    for (size_t i = 0; i < e->ndeleted && rc == AM_OK; i++)
        if ((rc = live_delete(ls, e->deleted[i].level, e->deleted[i].id)) == AM_ERR_CORRUPT)
            rc = am_env_error(vs->env, rc, "%s: record %zu (offset %" PRIu64 ") deletes segment "
                              "%" PRIu64 " at level %d, which is not live there", path, at.rec,
                              at.off, e->deleted[i].id, e->deleted[i].level);
    for (size_t i = 0; i < e->nadded && rc == AM_OK; i++) {
        uint64_t id = e->added[i].id;
        if ((rc = live_add(ls, &e->added[i], at)) == AM_ERR_CORRUPT)
            rc = am_env_error(vs->env, rc, "%s: record %zu (offset %" PRIu64 ") adds segment "
                              "%" PRIu64 ", which is already live", path, at.rec, at.off, id);
    }
    return rc;
}

/* Replays every record of the MANIFEST at path into vs and ls, checking each edit as data
 * (edit_check); *nrec counts the records. */
static int replay_manifest(vset *vs, const char *path, live_set *ls, size_t *nrec)
{
    wal_reader *r = NULL;
    version_edit e;
    int seen_next = 0, seen_strategy = 0;
    char why[200];
    edit_init(&e);
    *nrec = 0;
    int rc = wal_reader_open(vs->env, path, &r);
    while (rc == AM_OK) {
        const char *rec;
        size_t n;
        rc = wal_reader_next(r, &rec, &n);
        if (rc == AM_NOT_FOUND) { rc = AM_OK; break; }   /* the end, or a torn tail */
        if (rc != AM_OK) break;                          /* reader named file and offset */
        live_where at = { .rec = *nrec, .off = wal_reader_offset(r) };
        rc = edit_decode(&e, rec, n);
        if (rc == AM_ERR_CORRUPT)
            rc = am_env_error(vs->env, rc, "%s: record %zu (offset %" PRIu64 ") is not a valid "
                              "version edit", path, at.rec, at.off);
        if (rc == AM_OK && (rc = edit_check(&e, why, sizeof why)) == AM_ERR_CORRUPT)
            rc = am_env_error(vs->env, rc, "%s: record %zu (offset %" PRIu64 ") %s", path,
                              at.rec, at.off, why);
        if (rc == AM_OK) rc = replay_edit(vs, ls, &e, path, at, &seen_next, &seen_strategy);
        edit_clear(&e);
        if (rc == AM_OK) (*nrec)++;
    }
    if (rc == AM_OK && (!seen_next || !seen_strategy))
        rc = am_env_error(vs->env, AM_ERR_CORRUPT, "%s: %zu records and no %s", path, *nrec,
                          *nrec == 0 ? "edit" : !seen_next ? "next file number" : "strategy name");
    wal_reader_close(r);
    return rc;
}

/* The checks of the replayed state before anything is written or deleted: the live set's
 * invariants, then whether this is the whole state (a MANIFEST cut at a record boundary,
 * or torn, reads as a shorter valid one); then next_file is raised so that a number in use
 * is never handed out again (the MANIFEST's, a live segment's, or one a file in the
 * directory has: a log or an output a crash left after the last edit). */
static int check_replayed(vset *vs, const char *path, live_set *ls)
{
    live_seg *segs = malloc((ls->n ? ls->n : 1) * sizeof *segs);
    if (!segs) return AM_ERR_NOMEM;
    for (size_t k = 0; k < ls->n; k++)
        segs[k] = (live_seg){ .d = &ls->d[k], .rec = ls->at[k].rec, .off = ls->at[k].off };
    replayed_counters c = {
        .manifest_number = vs->manifest_number, .next_file = vs->next_file,
        .last_seq = vs->last_seq, .next_file_rec = ls->next_file_at.rec,
        .next_file_off = ls->next_file_at.off, .last_seq_rec = ls->last_seq_at.rec,
        .last_seq_off = ls->last_seq_at.off,
    };
    int rc = vset_check_live(vs->env, path, segs, ls->n, &c);
    free(segs);
    uint64_t max_number = 0;
    if (rc == AM_OK) rc = prove_complete(vs, path, ls, &max_number);
    if (rc != AM_OK) return rc;
    /* A file in the directory numbered near 2^64 (a stray or forged name) would make the
       counter wrap onto numbers in use: refused, as repair refuses it. */
    if (max_number > EDIT_MAX_FILE_NUMBER || vs->manifest_number > EDIT_MAX_FILE_NUMBER)
        return am_env_error(vs->env, AM_ERR_CORRUPT, "%s: a file in %s is numbered %" PRIu64
                            ", beyond any number this engine hands out (%" PRIu64 ")",
                            path, vs->dir,
                            max_number > vs->manifest_number ? max_number : vs->manifest_number,
                            (uint64_t)EDIT_MAX_FILE_NUMBER);
    if (vs->next_file <= vs->manifest_number) vs->next_file = vs->manifest_number + 1;
    if (vs->next_file <= max_number) vs->next_file = max_number + 1;
    return AM_OK;
}

int vset_recover(am_env *env, const char *dir, blk_cache *cache, vset **out)
{
    char name[64], path[PATH_CAP];
    vset *vs = NULL;
    wal_writer *w = NULL;
    live_set ls = {0};
    am_segment **segs = NULL;
    size_t nsegs = 0, nrec = 0;
    uint64_t old_number = 0;
    *out = NULL;

    int rc = read_current(env, dir, name, sizeof(name), &old_number);
    if (rc == AM_OK) rc = vset_alloc(env, dir, cache, &vs);
    if (rc != AM_OK) goto done;
    vs->manifest_number = old_number;
    fname_manifest(path, sizeof(path), dir, old_number);
    if (!env_exists(env, path)) {
        rc = am_env_error(env, AM_ERR_CORRUPT, "%s: named by CURRENT but missing", path);
        goto done;
    }
    if ((rc = replay_manifest(vs, path, &ls, &nrec)) != AM_OK) goto done;
    if ((rc = check_replayed(vs, path, &ls)) != AM_OK) goto done;

    /* Each segment's file must be there and agree with what the MANIFEST records. */
    if (ls.n && !(segs = calloc(ls.n, sizeof(*segs)))) { rc = AM_ERR_NOMEM; goto done; }
    for (; nsegs < ls.n; nsegs++)
        if ((rc = vset_open_segment(vs, &ls.d[nsegs], &segs[nsegs]))) goto done;
    if (!(vs->current = version_build(segs, nsegs))) { rc = AM_ERR_NOMEM; goto done; }

    /* A fresh MANIFEST with one snapshot edit, then CURRENT, then the old one goes. */
    uint64_t number = vs->next_file++;
    rc = write_snapshot(vs, number, vs->current, &w);
    if (rc == AM_OK) rc = switch_current(vs, number, w);
    if (rc != AM_OK) goto done;
    *out = vs;
    vs = NULL;
done:
    for (size_t k = 0; k < nsegs; k++) seg_unref(segs[k]);   /* the version holds its own */
    free(segs);
    live_free(&ls);
    vset_free(vs);
    return rc;
}

/* ---- edits ---- */

/* Replaces a large MANIFEST with a snapshot. A failure before CURRENT is switched leaves
 * the old MANIFEST in use (nothing lost); a failure switching CURRENT makes the vset
 * refuse later edits (CURRENT may name either file). */
static void maybe_roll(vset *vs)
{
    if (wal_writer_size(vs->manifest) < VSET_MANIFEST_ROLL_BYTES) return;
    wal_writer *w = NULL;
    uint64_t number = vs->next_file++;
    if (write_snapshot(vs, number, vs->current, &w) != AM_OK) return;
    int rc = switch_current(vs, number, w);
    if (rc != AM_OK) vs->err = rc;
}

int vset_log_and_apply(vset *vs, version_edit *e, am_segment *const *addseg)
{
    if (vs->err) return vs->err;
    int nrc = check_numbers(vs);
    if (nrc != AM_OK) return vs->err = nrc;     /* nothing written; read-only from here */
    e->has_next_file = 1;
    e->next_file = vs->next_file;
    e->has_last_seq = 1;
    e->last_seq = vs->last_seq;
    for (size_t i = 0; i < e->nadded; i++) {
        e->added[i].reads = atomic_load_explicit(&addseg[i]->reads, memory_order_relaxed);
        e->added[i].writes = atomic_load_explicit(&addseg[i]->writes, memory_order_relaxed);
    }
    /* Build first: an allocation failure must not leave a durable edit uninstalled. */
    am_version *nv = version_apply(vs->current, e, addseg);
    if (!nv) return AM_ERR_NOMEM;
    am_buf buf;
    buf_init(&buf);
    int rc = edit_encode(e, &buf);
    if (rc != AM_OK) goto fail;     /* nothing written: not sticky */
    /* The added files were synced by their writers; their directory entries must be
     * durable before the MANIFEST names them. */
    if (e->nadded) rc = env_sync_dir(vs->env, vs->dir);
    if (rc == AM_OK) rc = wal_writer_add(vs->manifest, buf.data, buf.len);
    if (rc == AM_OK) rc = wal_writer_sync(vs->manifest);
    if (rc != AM_OK) {
        vs->err = rc;               /* the env recorded the path and OS error */
        goto fail;
    }
    buf_free(&buf);

    /* Durable: install. */
    if (e->has_log_number) vs->log_number = e->log_number;
    if (e->has_strategy) memcpy(vs->strategy, e->strategy, sizeof(vs->strategy));
    for (size_t i = 0; i < e->ndeleted; i++) {
        int moved = 0;     /* a trivial move re-adds the same file: it must stay */
        for (size_t j = 0; j < e->nadded && !moved; j++) moved = e->added[j].id == e->deleted[i].id;
        am_segment *s = view_find(vs->current, e->deleted[i].level, e->deleted[i].id);
        assert(s);
        if (s && !moved) s->obsolete = 1;
    }
    am_version *old = vs->current;
    vs->current = nv;
    version_unref(old);
    maybe_roll(vs);
    return AM_OK;
fail:
    buf_free(&buf);
    version_unref(nv);
    return rc;
}
