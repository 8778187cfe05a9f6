/* repair_read.c: what repair reads of the tables and logs, and what it concludes from it
 * (repair_shared.h). Nothing here writes a file. (CURRENT and the MANIFESTs: repair_manifest.c.)
 *
 * SSTables: a table is opened with the SSTable reader (footer, index, properties and
 * filter verified) and walked once with its iterator, checking every entry: internal keys
 * of at least 8 bytes, strictly increasing, of a known kind. If anything fails, it is
 * walked again one data block at a time (sst_block_iter_new), and a block is kept only
 * when its checksum verifies and all of its entries pass, its first key above the last
 * key kept; the counts, key range and sequence bound are of the entries kept. A table that
 * cannot be opened yields nothing.
 *
 * Damage is what the readers report as AM_ERR_CORRUPT (a checksum, a length, a block or an
 * entry that is wrong). A read the file system fails (AM_ERR_IO) is no proof of damage and
 * may pass: it stops the repair before anything is written, rather than set aside data a
 * second try could read.
 *
 * Logs: records are replayed in order through batch_iterate into a memtable of the log's
 * own. A batch that is malformed, or whose sequence numbers do not follow the previous
 * record's (a log is written in sequence order), is damage like a record that fails its
 * checksum: the records before it are kept, the bytes from it on are dropped (records after
 * it are not searched for). A torn last record (wal.h) is the normal end of a log whose
 * writer was killed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repair_shared.h"
#include "batch.h"
#include "util/ikey.h"
#include "version/version.h"
#include "wal/wal.h"

/* ---- SSTables ---- */

/* Entries accepted so far: their counts, the first key, and the last (to check order). */
typedef struct scan_acc {
    uint64_t entries, deletions, max_seq;
    am_buf first, last;
    int any;
} scan_acc;

static void acc_init(scan_acc *a)
{
    memset(a, 0, sizeof *a);
    buf_init(&a->first);
    buf_init(&a->last);
}

static void acc_free(scan_acc *a)
{
    buf_free(&a->first);
    buf_free(&a->last);
}

static void acc_reset(scan_acc *a)
{
    acc_free(a);
    acc_init(a);
}

/* Checks an entry against the one before it (after, the last one accepted); AM_OK,
 * AM_ERR_CORRUPT with why filled, or AM_ERR_NOMEM. */
static int acc_add(scan_acc *a, const char *k, size_t kn, char *why)
{
    if (kn < IKEY_TRAILER) {
        snprintf(why, RP_WHY, "an internal key of %zu bytes", kn);
        return AM_ERR_CORRUPT;
    }
    int kind = ikey_kind(k, kn);
    if (kind != AM_KIND_VALUE && kind != AM_KIND_DELETE) {
        snprintf(why, RP_WHY, "an entry of unknown kind %d", kind);
        return AM_ERR_CORRUPT;
    }
    if (a->any && ikey_cmp(a->last.data, a->last.len, k, kn) >= 0) {
        snprintf(why, RP_WHY, "keys out of order after entry %" PRIu64, a->entries);
        return AM_ERR_CORRUPT;
    }
    buf_clear(&a->last);
    if (buf_append(&a->last, k, kn) != AM_OK) return AM_ERR_NOMEM;
    if (!a->any && buf_append(&a->first, k, kn) != AM_OK) return AM_ERR_NOMEM;
    a->any = 1;
    a->entries++;
    if (kind == AM_KIND_DELETE) a->deletions++;
    uint64_t seq = ikey_seq(k, kn);
    if (seq > a->max_seq) a->max_seq = seq;
    return AM_OK;
}

/* Walks it from the start through acc; AM_OK, AM_ERR_CORRUPT (why filled: the walk met
 * damage), or another error that stops the repair. Frees it. */
static int walk(const repair *rp, am_iiter *it, scan_acc *acc, char *why)
{
    if (!it) return AM_ERR_NOMEM;
    int rc = AM_OK;
    size_t kn;
    iter_seek_first(it);
    for (const char *k = iter_key_if_valid(it, &kn); k && rc == AM_OK;
         k = iter_next_key(it, &kn))
        rc = acc_add(acc, k, kn, why);
    if (rc == AM_OK && (rc = iter_status(it)) == AM_ERR_CORRUPT) rp_why(rp, why);
    iter_free(it);
    return rc;
}

/* The walk block by block: marks in s->bad the blocks left out. */
static int walk_blocks(repair *rp, rp_sst *s, scan_acc *acc)
{
    s->nblocks = sst_reader_data_blocks(s->r);
    s->nbad = 0;
    free(s->bad);
    if (!(s->bad = calloc(s->nblocks ? s->nblocks : 1, 1))) return AM_ERR_NOMEM;
    for (size_t i = 0; i < s->nblocks; i++) {
        char why[RP_WHY] = "";
        scan_acc b;
        acc_init(&b);
        /* The block continues from the last key kept. */
        int rc = acc->any ? buf_append(&b.last, acc->last.data, acc->last.len) : AM_OK;
        b.any = acc->any;
        if (rc == AM_OK) rc = walk(rp, sst_block_iter_new(s->r, i), &b, why);
        if (rc == AM_OK && b.entries) {
            if (!acc->any) rc = buf_append(&acc->first, b.first.data, b.first.len);
            buf_clear(&acc->last);
            if (rc == AM_OK) rc = buf_append(&acc->last, b.last.data, b.last.len);
            acc->any = 1;
            acc->entries += b.entries;
            acc->deletions += b.deletions;
            if (b.max_seq > acc->max_seq) acc->max_seq = b.max_seq;
        } else if (rc == AM_ERR_CORRUPT) {
            s->bad[i] = 1;
            if (!s->nbad++) snprintf(s->why, sizeof s->why, "data block %zu: %.300s", i, why);
            rc = AM_OK;
        }
        acc_free(&b);
        if (rc != AM_OK) return rc;
    }
    if (!s->nbad) {            /* the whole-file walk failed, but no block on its own does */
        free(s->bad);
        s->bad = NULL;
    }
    return AM_OK;
}

static void say_sst(repair *rp, const rp_sst *s)
{
    char lo[160] = "", hi[160] = "";
    if (s->entries) {
        rp_key_text(lo, sizeof lo, s->smallest.data, s->smallest.len - IKEY_TRAILER);
        rp_key_text(hi, sizeof hi, s->largest.data, s->largest.len - IKEY_TRAILER);
    }
    const char *name = s->file->name;
    switch (s->fate) {
    case RP_SST_KEPT:
        rp_say(rp, "%s: %" PRIu64 " entries (%s .. %s, largest sequence %" PRIu64 "), every "
               "block verified: kept", name, s->entries, lo, hi, s->max_seq);
        break;
    case RP_SST_SALVAGED:
        rp_say(rp, "%s: damaged (%s): salvaged %zu of %zu data blocks (%zu left out), %"
               PRIu64 " entries (%s .. %s, largest sequence %" PRIu64 ")", name, s->why,
               s->nblocks - s->nbad, s->nblocks, s->nbad, s->entries, lo, hi, s->max_seq);
        break;
    case RP_SST_LOST:
        rp_say(rp, "%s: damaged (%s): nothing salvaged", name, s->why);
        break;
    case RP_SST_EMPTY:
        rp_say(rp, "%s: intact but holds no entries", name);
        break;
    default:
        rp_say(rp, "%s: removed from the tree by a MANIFEST edit (a merge input whose "
               "outputs hold its data): not read", name);
        break;
    }
}

int rp_read_sst(repair *rp, rp_sst *s)
{
    char path[RP_PATH];
    scan_acc acc;
    acc_init(&acc);
    buf_init(&s->smallest);
    buf_init(&s->largest);
    if (rp_is_obsolete(rp, s->file->id)) {
        s->fate = RP_SST_OBSOLETE;
        say_sst(rp, s);
        return AM_OK;
    }
    rp_path(rp, s->file->name, path, sizeof path);
    int rc = sst_reader_open(rp->env, path, s->file->id, NULL, &s->r);
    if (rc != AM_OK) {
        s->r = NULL;
        if (rc != AM_ERR_CORRUPT) return rc;     /* a failed read is no proof of damage */
        s->fate = RP_SST_LOST;
        rp_why(rp, s->why);
        say_sst(rp, s);
        return AM_OK;
    }
    char why[RP_WHY] = "";
    rc = walk(rp, sst_iter_new(s->r, SST_READ_VERIFIED_PRIVATE), &acc, why);
    if (rc == AM_ERR_CORRUPT) {
        acc_reset(&acc);
        rc = walk_blocks(rp, s, &acc);
        if (rc == AM_OK && !s->nbad) {
            /* Damage the blocks read one by one do not show: say so, and take the file
               whole, as the merge will read it (and fail the repair if it is met again). */
            rp_say(rp, "%s: the first read failed (%s), a second read block by block did "
                   "not", s->file->name, why);
        }
    }
    if (rc != AM_OK) goto out;
    s->entries = acc.entries;
    s->deletions = acc.deletions;
    s->max_seq = acc.max_seq;
    if ((rc = buf_append(&s->smallest, acc.first.data, acc.first.len)) != AM_OK ||
        (rc = buf_append(&s->largest, acc.last.data, acc.last.len)) != AM_OK)
        goto out;
    if (s->nbad) s->fate = s->entries ? RP_SST_SALVAGED : RP_SST_LOST;
    else s->fate = s->entries ? RP_SST_KEPT : RP_SST_EMPTY;
    if (s->fate == RP_SST_KEPT || s->fate == RP_SST_SALVAGED) {
        if (s->max_seq > rp->max_seq) rp->max_seq = s->max_seq;
    } else {
        sst_reader_free(s->r);      /* nothing of it goes to the merge */
        s->r = NULL;
    }
    say_sst(rp, s);
out:
    acc_free(&acc);
    return rc;
}

/* ---- logs ---- */

typedef struct replay {
    memtable *mem;
    uint64_t entries, max_seq;
    uint64_t last;             /* last sequence of the records replayed, if has_last */
    int has_last;
} replay;

static int replay_record(void *arg, uint64_t seq, int kind, const char *k, size_t kn,
                         const char *v, size_t vn)
{
    replay *r = arg;
    if (seq > r->max_seq) r->max_seq = seq;
    r->entries++;
    return mem_add(r->mem, seq, kind, k, kn, v, vn);
}

/* Whether bytes [from, to) of path are all zero: what a killed writer's mapped log leaves
 * after its last record (space reserved ahead). *zero is 0 when they are not, or when
 * they cannot be read. */
static int tail_is_zero(const repair *rp, const char *path, uint64_t from, uint64_t to,
                        int *zero)
{
    am_file *f = NULL;
    char buf[8192];
    *zero = 0;
    int rc = env_open_readable(rp->env, path, &f);
    if (rc != AM_OK) return rc == AM_ERR_NOMEM ? rc : AM_OK;
    int all = 1;
    while (from < to && all) {
        size_t want = to - from < sizeof buf ? (size_t)(to - from) : sizeof buf, got = 0;
        if (env_pread(rp->env, f, from, want, buf, &got) != AM_OK || got == 0) {
            all = 0;
            break;
        }
        for (size_t i = 0; i < got && all; i++) all = buf[i] == 0;
        from += got;
    }
    env_close(rp->env, f);
    *zero = all;
    return AM_OK;
}

static void say_log(repair *rp, const rp_log *l)
{
    const char *name = l->file->name;
    uint64_t dropped = l->file_bytes > l->valid_bytes ? l->file_bytes - l->valid_bytes : 0;
    if (l->fate == RP_LOG_FLUSHED) {
        rp_say(rp, "%s: below log number %" PRIu64 " of the old MANIFEST, so already in "
               "SSTables: not replayed", name, rp->log_floor);
    } else if (l->fate == RP_LOG_DAMAGED) {
        rp_say(rp, "%s: damaged at offset %" PRIu64 " (%s): the %" PRIu64 " records (%"
               PRIu64 " entries, largest sequence %" PRIu64 ") before it replayed, %" PRIu64
               " bytes from it on dropped", name, l->valid_bytes, l->why, l->records,
               l->entries, l->max_seq, dropped);
    } else if (l->torn && dropped) {
        rp_say(rp, "%s: %" PRIu64 " records (%" PRIu64 " entries, largest sequence %" PRIu64
               ") replayed; %s at offset %" PRIu64 " (%" PRIu64 " bytes)", name, l->records,
               l->entries, l->max_seq, l->zero_tail ? "then zeros (space a killed writer "
               "had reserved)" : "then a torn record (a write cut short)", l->valid_bytes,
               dropped);
    } else if (l->records == 0) {
        rp_say(rp, "%s: empty", name);
    } else {
        rp_say(rp, "%s: %" PRIu64 " records (%" PRIu64 " entries, largest sequence %" PRIu64
               ") replayed", name, l->records, l->entries, l->max_seq);
    }
}

/* The next record, checked: AM_OK and replayed, AM_NOT_FOUND at the end, AM_ERR_CORRUPT
 * (why filled) for damage, or another error that stops the repair. */
static int replay_next(repair *rp, wal_reader *rd, rp_log *l, replay *r, char *why)
{
    const char *rec;
    size_t n;
    int rc = wal_reader_next(rd, &rec, &n);
    if (rc == AM_ERR_CORRUPT) rp_why(rp, why);
    if (rc != AM_OK) return rc;           /* the end, damage, or a failed read */
    if (n < BATCH_HEADER) {
        snprintf(why, RP_WHY, "a record of %zu bytes is not a write batch", n);
        return AM_ERR_CORRUPT;
    }
    uint64_t first = batch_seq(rec);
    uint32_t count = batch_count(rec);
    if (count && r->has_last && first <= r->last) {
        snprintf(why, RP_WHY, "its sequence numbers start at %" PRIu64 ", not above the "
                 "previous record's %" PRIu64, first, r->last);
        return AM_ERR_CORRUPT;
    }
    batch_handler h = { .arg = r, .record = replay_record };
    rc = batch_iterate(rec, n, &h);
    if (rc == AM_ERR_CORRUPT) {
        snprintf(why, RP_WHY, "a malformed write batch");
        return rc;
    }
    if (rc != AM_OK) return rc;
    if (count) {
        r->last = first + count - 1;
        r->has_last = 1;
    }
    l->records++;
    l->valid_bytes += WAL_HEADER + n;
    return AM_OK;
}

int rp_read_log(repair *rp, rp_log *l)
{
    char path[RP_PATH];
    wal_reader *rd = NULL;
    replay r = { 0 };
    rp_path(rp, l->file->name, path, sizeof path);
    if (l->file->id < rp->log_floor) {
        l->fate = RP_LOG_FLUSHED;
        say_log(rp, l);
        return AM_OK;
    }
    int rc = rp->env->ops->file_size(rp->env, path, &l->file_bytes);
    if (rc == AM_OK) rc = wal_reader_open(rp->env, path, &rd);
    if (rc == AM_OK) rc = mem_new(&r.mem);
    if (rc != AM_OK) goto out;            /* a log is opened without reading it */
    while ((rc = replay_next(rp, rd, l, &r, l->why)) == AM_OK) {}
    if (rc == AM_NOT_FOUND) {
        l->fate = RP_LOG_REPLAYED;
        l->torn = wal_reader_torn(rd, NULL);
        rc = l->torn ? tail_is_zero(rp, path, l->valid_bytes, l->file_bytes, &l->zero_tail)
                     : AM_OK;
    } else if (rc == AM_ERR_CORRUPT) {
        l->fate = RP_LOG_DAMAGED;
        rc = AM_OK;
    }
    if (rc != AM_OK) goto out;
    l->entries = r.entries;
    l->max_seq = r.max_seq;
    if (r.entries) {
        l->mem = r.mem;
        r.mem = NULL;
        if (r.max_seq > rp->max_seq) rp->max_seq = r.max_seq;
    }
    say_log(rp, l);
out:
    mem_unref(r.mem);
    wal_reader_close(rd);
    return rc;
}
