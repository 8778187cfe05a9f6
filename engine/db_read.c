/* db_read.c: the read side. Readers pin a superversion (memtables + version) under a tiny
 * lock and then search without any lock: active memtable, frozen memtables newest first,
 * then the version level by level, newest run first, one segment per run found by binary
 * search on key ranges, guarded by its bloom filter. Also iterators. Superversions and
 * snapshots are db_sv.c's. */
#include <stdlib.h>
#include <string.h>
#include "db_impl.h"
#include "util/hash.h"
#include "util/ikey.h"

/* ---- point lookups ---- */

typedef struct get_out {
    void **heap;         /* am_get: malloc a copy here */
    char *buf;           /* am_get_into: copy into buf */
    size_t cap;
    size_t *vn;
    int kind;
} get_out;

static int deliver(get_out *o, int kind, const char *v, size_t vn)
{
    o->kind = kind;
    if (kind != AM_KIND_VALUE) return AM_NOT_FOUND;
    *o->vn = vn;
    if (o->heap) {
        char *p = malloc(vn ? vn : 1);
        if (!p) return AM_ERR_NOMEM;
        if (vn) memcpy(p, v, vn);
        *o->heap = p;
    } else if (vn && o->cap) {        /* cap 0: buf may be NULL */
        memcpy(o->buf, v, vn < o->cap ? vn : o->cap);
    }
    return AM_OK;
}

static int found_in_sst(void *arg, int kind, const char *v, size_t vn)
{
    return deliver(arg, kind, v, vn);
}

static int get_internal(am_db *db, const am_snapshot *s, const void *k, size_t kn, get_out *o)
{
    if (!db || !k || kn == 0 || kn > AM_MAX_KEY_BYTES || !o->vn) return AM_ERR_INVALID;
    *o->vn = 0;
    o->kind = -1;
    uint64_t seq;
    superversion *sv = sv_acquire_seq(db, &seq);
    if (s) seq = s->seq;
    STAT_ADD(db, point_lookups, 1);
    int kind, rc = AM_NOT_FOUND;
    const char *v;
    size_t vn;
    if (mem_get(sv->mem, k, kn, seq, &kind, &v, &vn) == AM_OK) {
        rc = deliver(o, kind, v, vn);
        goto done;
    }
    for (size_t i = 0; i < sv->nimm; i++) {
        if (mem_get(sv->imm[i], k, kn, seq, &kind, &v, &vn) == AM_OK) {
            rc = deliver(o, kind, v, vn);
            goto done;
        }
    }
    sst_probe total = { 0 };
    uint64_t probed = 0;
    const uint64_t hash = am_hash64(k, kn);       /* once, for every file's bloom filter */
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        const am_level *lv = &sv->v->levels[l];
        for (size_t r = 0; r < lv->nruns; r++) {
            am_segment *seg = run_find(&lv->runs[r], k, kn);
            if (!seg) continue;
            sst_probe p = { 0 };
            rc = sst_reader_get_hashed(seg->reader, k, kn, hash, seq, &p, found_in_sst, o);
            total.bloom_checks += p.bloom_checks;
            total.bloom_negatives += p.bloom_negatives;
            total.blocks_cache += p.blocks_cache;
            total.blocks_disk += p.blocks_disk;
            if (p.searched) {
                probed++;
                atomic_fetch_add_explicit(&seg->reads, 1, memory_order_relaxed);
            }
            if (rc != AM_NOT_FOUND || o->kind >= 0) goto counted;
        }
    }
    rc = AM_NOT_FOUND;
counted:
    if (probed) STAT_ADD(db, segments_probed, probed);
    if (total.bloom_checks) STAT_ADD(db, bloom_checks, total.bloom_checks);
    if (total.bloom_negatives) STAT_ADD(db, bloom_negatives, total.bloom_negatives);
    if (total.blocks_cache) STAT_ADD(db, blocks_read_cache, total.blocks_cache);
    if (total.blocks_disk) STAT_ADD(db, blocks_read_disk, total.blocks_disk);
done:
    sv_release(sv);
    if (rc == AM_OK) STAT_ADD(db, lookups_found, 1);
    /* After the lookup and its pin: an inline merge this may start (background_threads
       0) neither delays the answer nor keeps the lookup's files alive. */
    db_count_ops(db, 1);
    return rc;        /* on an error the env holds the detail, for am_errmsg */
}

int am_get(am_db *db, const am_snapshot *s, const void *k, size_t kn, void **v, size_t *vn)
{
    if (!v || !vn) return AM_ERR_INVALID;
    *v = NULL;
    get_out o = { .heap = v, .vn = vn };
    int rc = get_internal(db, s, k, kn, &o);
    if (rc != AM_OK && *v) {
        free(*v);
        *v = NULL;
    }
    return rc;
}

int am_get_into(am_db *db, const am_snapshot *s, const void *k, size_t kn, void *buf,
                size_t cap, size_t *vn)
{
    if (!vn || (!buf && cap)) return AM_ERR_INVALID;
    get_out o = { .buf = buf, .cap = cap, .vn = vn };
    return get_internal(db, s, k, kn, &o);
}

void am_free(void *p) { free(p); }

/* ---- iterators ---- */

struct am_iter {
    am_db *db;
    superversion *sv;            /* pinned for the iterator's life */
    am_iiter *m;                 /* merging iterator over every source; owned */
    uint64_t seq;
    am_buf skip;                 /* user key whose older versions are being skipped */
    int valid;
    int status;
};

/* From m's current entry (k, n; k NULL when m is not valid), moves m to the first entry
 * that is the newest visible version of its user key and not a tombstone; skip holds the
 * user key already returned or deleted (when have_skip). */
static void find_visible(am_iter *it, int have_skip, const char *k, size_t n)
{
    am_iiter *m = it->m;
    it->valid = 0;
    while (k) {
        size_t un = ikey_user_len(n);
        if (ikey_seq(k, n) > it->seq ||
            (have_skip && ukey_cmp(k, un, it->skip.data, it->skip.len) == 0)) {
            k = iter_next_key(m, &n);
            continue;
        }
        if (ikey_kind(k, n) == AM_KIND_DELETE) {
            buf_clear(&it->skip);
            if (buf_append(&it->skip, k, un) != AM_OK) {
                it->status = AM_ERR_NOMEM;
                return;
            }
            have_skip = 1;
            k = iter_next_key(m, &n);
            continue;
        }
        it->valid = 1;
        return;
    }
    it->status = iter_status(m);
}

am_iter *am_iter_new(am_db *db, const am_snapshot *s)
{
    if (!db) return NULL;
    am_iter *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    it->db = db;
    buf_init(&it->skip);
    it->sv = sv_acquire_seq(db, &it->seq);
    if (s) it->seq = s->seq;
    superversion *sv = it->sv;
    size_t max = 1 + sv->nimm;
    for (int l = 0; l < AM_MAX_LEVELS; l++) max += sv->v->levels[l].nruns;
    am_iiter **kids = calloc(max, sizeof *kids);
    size_t n = 0;
    int ok = kids != NULL;
    if (ok) ok = (kids[n++] = mem_iter_new(sv->mem)) != NULL;
    for (size_t i = 0; ok && i < sv->nimm; i++) ok = (kids[n++] = mem_iter_new(sv->imm[i])) != NULL;
    for (int l = 0; ok && l < AM_MAX_LEVELS; l++) {
        const am_level *lv = &sv->v->levels[l];
        for (size_t r = 0; ok && r < lv->nruns; r++)
            ok = (kids[n++] = run_iter_new_pinned(lv->runs[r].segs, lv->runs[r].nsegs,
                                                  SST_READ_SHARED)) != NULL;
    }
    if (!ok) {
        for (size_t i = 0; kids && i < n; i++) iter_free(kids[i]);
        free(kids);
        sv_release(it->sv);
        free(it);
        return NULL;
    }
    it->m = merging_iter_new(kids, n);     /* owns kids from here, even on failure */
    if (!it->m) {
        sv_release(it->sv);
        free(it);
        return NULL;
    }
    return it;
}

void am_iter_seek_first(am_iter *it)
{
    it->status = AM_OK;
    iter_seek_first(it->m);
    size_t n;
    const char *k = iter_key_if_valid(it->m, &n);
    find_visible(it, 0, k, n);
}

void am_iter_seek(am_iter *it, const void *k, size_t kn)
{
    it->status = AM_OK;
    char stackkey[256];
    char *ik = kn + 8 <= sizeof stackkey ? stackkey : malloc(kn + 8);
    if (!ik) {
        it->valid = 0;
        it->status = AM_ERR_NOMEM;
        return;
    }
    ikey_build(ik, k, kn, AM_MAX_SEQ, AM_KIND_MAX);
    iter_seek(it->m, ik, kn + 8);
    if (ik != stackkey) free(ik);
    size_t cn;
    const char *ck = iter_key_if_valid(it->m, &cn);
    find_visible(it, 0, ck, cn);
    db_count_ops(it->db, 1);       /* after the seek, as a lookup counts after its answer */
}

int am_iter_valid(const am_iter *it) { return it && it->valid; }

void am_iter_next(am_iter *it)
{
    if (!it->valid) return;
    size_t n;
    const char *k = iter_key(it->m, &n);
    buf_clear(&it->skip);
    if (buf_append(&it->skip, k, ikey_user_len(n)) != AM_OK) {
        it->valid = 0;
        it->status = AM_ERR_NOMEM;
        return;
    }
    k = iter_next_key(it->m, &n);
    find_visible(it, 1, k, n);
}

const void *am_iter_key(const am_iter *it, size_t *kn)
{
    size_t n;
    const char *k = iter_key(it->m, &n);
    *kn = ikey_user_len(n);
    return k;
}

const void *am_iter_value(const am_iter *it, size_t *vn) { return iter_value(it->m, vn); }

int am_iter_status(const am_iter *it) { return it ? it->status : AM_ERR_INVALID; }

void am_iter_free(am_iter *it)
{
    if (!it) return;
    iter_free(it->m);
    sv_release(it->sv);
    buf_free(&it->skip);
    free(it);
}
