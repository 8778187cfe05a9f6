/* repair_manifest.c: what repair reads of CURRENT and the old MANIFESTs (repair_shared.h).
 * Nothing here writes a file.
 *
 * CURRENT and the MANIFESTs: each MANIFEST in the directory is read record by record up
 * to its end or its first damage (wal_reader + edit_decode; nothing is written). From the
 * records read it takes:
 *   - the strategy: the last one recorded by the MANIFEST CURRENT names, else by the
 *     highest-numbered MANIFEST that records one the build knows;
 *   - the log floor: the largest log number any record read names. Log numbers only grow,
 *     and a record saying L is durable only once every log below L is in a synced SSTable,
 *     so logs below the floor are already flushed. Replaying one could bring back a key
 *     whose tombstone a bottommost merge has since dropped along with the value, so they
 *     are set aside unread;
 *   - obsolete tables: those an edit read removed and no later edit read re-added (a move
 *     to another level removes and re-adds in one edit). A file number is never reused,
 *     so such a table is a merge input whose outputs hold its data (or a later merge's
 *     outputs do): a killed process left it behind, and merging it again could likewise
 *     revive what a dropped tombstone hid. A table that any MANIFEST read lists as live is
 *     never obsolete.
 * A record that cannot be read ends that MANIFEST; what it would have said is unknown, so
 * every table it does not account for is read, and every log at or above the floor
 * replayed. When the MANIFEST CURRENT names reads to a clean end, the tables it lists
 * that are missing are named in the report. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repair_shared.h"
#include "compact/strategy.h"
#include "version/edit.h"
#include "version/fname.h"
#include "version/version.h"
#include "wal/wal.h"
#include "util/vec.h"

/* A table's fate in one MANIFEST's records: its last operation, and whether it was ever
 * removed. */
typedef struct rp_event {
    uint64_t id;
    uint64_t order;            /* position among the MANIFEST's operations */
    int added;                 /* 1 add, 0 remove */
} rp_event;

typedef struct rp_events {
    rp_event *e;
    size_t n, cap;
} rp_events;

static int events_push(rp_events *v, uint64_t id, uint64_t order, int added)
{
    if (vec_reserve_min(&v->e, &v->cap, v->n + 1, sizeof *v->e, 64) != AM_OK)
        return AM_ERR_NOMEM;
    v->e[v->n++] = (rp_event){ .id = id, .order = order, .added = added };
    return AM_OK;
}

static int cmp_event(const void *a, const void *b)
{
    const rp_event *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct u64s {
    uint64_t *v;
    size_t n, cap;
} u64s;

static int u64s_push(u64s *s, uint64_t x)
{
    if (vec_reserve_min(&s->v, &s->cap, s->n + 1, sizeof *s->v, 64) != AM_OK)
        return AM_ERR_NOMEM;
    s->v[s->n++] = x;
    return AM_OK;
}

/* What one MANIFEST's readable records say. */
typedef struct mf_read {
    size_t records;
    char strategy[32];         /* the last recorded; "" none */
    int has_log;
    uint64_t log_number;       /* the largest recorded */
    size_t removed;            /* tables its edits removed for good */
    int end;                   /* 0 clean end, 1 torn tail, 2 damaged */
    char why[RP_WHY];
} mf_read;

/* Applies a decoded edit: scalars, then removals before additions (as vset replays). */
static int note_edit(const version_edit *e, mf_read *m, rp_events *ev, uint64_t *order)
{
    int rc = AM_OK;
    if (e->has_log_number && (!m->has_log || e->log_number > m->log_number)) {
        m->log_number = e->log_number;
        m->has_log = 1;
    }
    if (e->has_strategy) memcpy(m->strategy, e->strategy, sizeof m->strategy);
    for (size_t i = 0; rc == AM_OK && i < e->ndeleted; i++)
        rc = events_push(ev, e->deleted[i].id, (*order)++, 0);
    for (size_t i = 0; rc == AM_OK && i < e->nadded; i++)
        rc = events_push(ev, e->added[i].id, (*order)++, 1);
    return rc;
}

/* Reads the records of MANIFEST f up to its end or first damage into m; adds the tables
 * it lists as live to live and those it removed for good to gone. */
static int read_manifest(repair *rp, const rp_file *f, mf_read *m, u64s *live, u64s *gone)
{
    char path[RP_PATH];
    wal_reader *r = NULL;
    rp_events ev = { 0 };
    version_edit e;
    uint64_t order = 0;
    edit_init(&e);
    memset(m, 0, sizeof *m);
    rp_path(rp, f->name, path, sizeof path);
    int rc = wal_reader_open(rp->env, path, &r);
    if (rc != AM_OK) goto out;            /* opening reads nothing: no damage to see */
    for (;;) {
        const char *rec;
        size_t n;
        rc = wal_reader_next(r, &rec, &n);
        if (rc == AM_NOT_FOUND) {
            m->end = wal_reader_torn(r, NULL) ? 1 : 0;
            rc = AM_OK;
            break;
        }
        if (rc == AM_ERR_CORRUPT) {        /* damage: the records read so far stand */
            m->end = 2;
            rp_why(rp, m->why);
            rc = AM_OK;
            break;
        }
        if (rc != AM_OK) goto out;         /* a failed read stops the repair */
        rc = edit_decode(&e, rec, n);
        if (rc == AM_ERR_NOMEM) goto out;
        if (rc != AM_OK) {
            m->end = 2;
            snprintf(m->why, sizeof m->why, "record %zu is not a valid version edit",
                     m->records);
            rc = AM_OK;
            break;
        }
        rc = note_edit(&e, m, &ev, &order);
        edit_clear(&e);
        if (rc != AM_OK) goto out;
        m->records++;
    }
    /* Per table: the last operation says whether it is live; any removal that is not
       undone by a later addition makes it obsolete. */
    if (ev.n) qsort(ev.e, ev.n, sizeof *ev.e, cmp_event);
    for (size_t i = 0; rc == AM_OK && i < ev.n;) {
        size_t j = i;
        int removed = 0;
        for (; j < ev.n && ev.e[j].id == ev.e[i].id; j++) removed |= !ev.e[j].added;
        if (ev.e[j - 1].added) rc = u64s_push(live, ev.e[i].id);
        else if (removed) {
            rc = u64s_push(gone, ev.e[i].id);
            m->removed++;
        }
        i = j;
    }
out:
    edit_clear(&e);
    free(ev.e);
    wal_reader_close(r);
    return rc;
}

/* Reads CURRENT: *named is the MANIFEST number it names, 0 when it is missing or garbled
 * (said in the report). */
static int read_current(repair *rp, uint64_t *named)
{
    char path[RP_PATH];
    char *data = NULL;
    size_t n = 0;
    *named = 0;
    if (!rp->has_current) {
        rp_say(rp, "CURRENT: missing");
        return AM_OK;
    }
    rp_path(rp, "CURRENT", path, sizeof path);
    int rc = env_read_all(rp->env, path, &data, &n);
    if (rc != AM_OK) return rc;           /* a failed read stops the repair */
    char name[64];
    int kind;
    uint64_t id;
    if (n >= 2 && n < sizeof name && data[n - 1] == '\n' && !memchr(data, 0, n)) {
        memcpy(name, data, n - 1);
        name[n - 1] = 0;
        if (fname_parse(name, &kind, &id) && kind == FILE_MANIFEST) *named = id;
    }
    if (*named) rp_say(rp, "CURRENT: names MANIFEST-%06" PRIu64, *named);
    else rp_say(rp, "CURRENT: garbled (%zu bytes, not \"MANIFEST-<number>\\n\")", n);
    free(data);
    return AM_OK;
}

static const char *end_words(const mf_read *m)
{
    switch (m->end) {
    case 0: return "read to its end";
    case 1: return m->records ? "ends in a torn record" : "its first record is cut short "
                                                        "or damaged";
    default: return "damaged after them";
    }
}

/* Sorts and dedupes s in place. */
static void u64s_settle(u64s *s)
{
    if (!s->n) return;
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[k - 1]) s->v[k++] = s->v[i];
    s->n = k;
}

static int cmp_file_id(const void *key, const void *elem)
{
    uint64_t id = *(const uint64_t *)key, e = ((const rp_file *)elem)->id;
    return id < e ? -1 : id > e;
}

/* The tables MANIFEST f, read to a clean end, lists as live (live->v[from ..]) whose files
 * are not in the directory: the report names them (their data is lost, unless a log still
 * holds it or the MANIFEST lost records at its end that moved it). A MANIFEST whose end is
 * damaged or torn lists tables that later merges, unrecorded, replaced: no warning then. */
static void say_missing(repair *rp, const rp_file *f, const u64s *live, size_t from)
{
    size_t missing = 0;
    for (size_t i = from; i < live->n; i++) {
        if (rp->ssts.n && bsearch(&live->v[i], rp->ssts.f, rp->ssts.n, sizeof *rp->ssts.f,
                                  cmp_file_id))
            continue;
        if (missing++ < 20)
            rp_say(rp, "warning: %s lists table %06" PRIu64 ".sst, which is missing",
                   f->name, live->v[i]);
    }
    if (missing > 20) rp_say(rp, "%s lists %zu more missing tables", f->name, missing - 20);
}

int rp_read_manifests(repair *rp)
{
    u64s live = { 0 }, gone = { 0 };
    uint64_t named = 0;
    char current_strategy[32] = "", other_strategy[32] = "";
    const char *other_from = NULL;
    int rc = read_current(rp, &named);
    int named_found = 0;
    for (size_t i = 0; rc == AM_OK && i < rp->manifests.n; i++) {
        const rp_file *f = &rp->manifests.f[i];
        mf_read m;
        size_t live_before = live.n;
        rc = read_manifest(rp, f, &m, &live, &gone);
        if (rc != AM_OK) break;
        if (m.has_log && m.log_number > rp->log_floor) rp->log_floor = m.log_number;
        int known = m.strategy[0] && strategy_find(m.strategy);
        char detail[128] = "";
        if (m.records)
            snprintf(detail, sizeof detail, " (strategy %s%s, log number %" PRIu64 ", %zu "
                     "tables removed by its edits)", m.strategy[0] ? m.strategy : "none",
                     m.strategy[0] && !known ? ", unknown to this build" : "",
                     m.log_number, m.removed);
        rp_say(rp, "%s: %zu records read%s; %s%s%s", f->name, m.records, detail,
               end_words(&m), m.why[0] ? ": " : "", m.why);
        if (f->id == named) {
            named_found = 1;
            if (known) memcpy(current_strategy, m.strategy, sizeof current_strategy);
            if (m.end == 0) say_missing(rp, f, &live, live_before);
        } else if (known) {          /* sorted by number: the last one is the highest */
            memcpy(other_strategy, m.strategy, sizeof other_strategy);
            other_from = f->name;
        }
    }
    if (rc != AM_OK) goto out;
    if (named && !named_found) rp_say(rp, "MANIFEST-%06" PRIu64 " (named by CURRENT): missing",
                                      named);

    /* Obsolete: removed for good by some MANIFEST, live in none. */
    u64s_settle(&live);
    u64s_settle(&gone);
    size_t k = 0;
    for (size_t i = 0; i < gone.n; i++)
        if (!(live.n && bsearch(&gone.v[i], live.v, live.n, sizeof *live.v, cmp_u64)))
            gone.v[k++] = gone.v[i];
    rp->obsolete = gone.v;
    rp->nobsolete = k;
    gone.v = NULL;

    if (rp->strategy_opt) {
        snprintf(rp->strategy, sizeof rp->strategy, "%s", rp->strategy_opt);
        rp_say(rp, "strategy: %s (as asked)", rp->strategy);
    } else if (current_strategy[0]) {
        memcpy(rp->strategy, current_strategy, sizeof rp->strategy);
        rp_say(rp, "strategy: %s (recorded by MANIFEST-%06" PRIu64 ")", rp->strategy, named);
    } else if (other_strategy[0]) {
        memcpy(rp->strategy, other_strategy, sizeof rp->strategy);
        rp_say(rp, "strategy: %s (recorded by %s)", rp->strategy, other_from);
    } else {
        snprintf(rp->strategy, sizeof rp->strategy, "leveled");
        rp_say(rp, "strategy: leveled (no readable MANIFEST records one)");
    }
out:
    free(live.v);
    free(gone.v);
    return rc;
}

int rp_is_obsolete(const repair *rp, uint64_t id)
{
    return rp->nobsolete &&
           bsearch(&id, rp->obsolete, rp->nobsolete, sizeof *rp->obsolete, cmp_u64) != NULL;
}
