/* db_stats.c: am_stats_get and am_segments. Both read relaxed atomics and a pinned
 * version: no lock is held while copying, so calling them every 100 ms costs little. */
#include <string.h>
#include "db_impl.h"

_Static_assert(AM_LEVELS == AM_MAX_LEVELS, "am_stats' per-level arrays cover every level");

int am_stats_get(am_db *db, am_stats *out)
{
    if (!db || !out) return AM_ERR_INVALID;
    memset(out, 0, sizeof *out);
#define COPY_COUNTER(name) out->name = atomic_load_explicit(&db->st.name, memory_order_relaxed);
#define COPY_ARRAY(name, n)                                                              \
    for (int i = 0; i < (n); i++)                                                        \
        out->name[i] = atomic_load_explicit(&db->st.name[i], memory_order_relaxed);
    AM_STATS_COUNTERS(COPY_COUNTER)
    AM_STATS_COUNTER_ARRAYS(COPY_ARRAY)
#undef COPY_COUNTER
#undef COPY_ARRAY
    out->cache_hits = out->blocks_read_cache;
    out->cache_misses = out->blocks_read_disk;
    out->last_sequence = atomic_load_explicit(&db->last_seq, memory_order_acquire);
    superversion *sv = sv_acquire(db);
    out->memtable_bytes = mem_usage(sv->mem);
    for (size_t i = 0; i < sv->nimm; i++) out->memtable_bytes += mem_usage(sv->imm[i]);
    out->frozen_memtables = sv->nimm;
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        const am_level *lv = &sv->v->levels[l];
        out->level_bytes[l] = lv->bytes;
        out->level_files[l] = lv->nsegs;
        out->level_runs[l] = lv->nruns;
        out->live_sst_bytes += lv->bytes;
        out->live_sst_files += lv->nsegs;
        for (size_t r = 0; r < lv->nruns; r++)
            for (size_t s = 0; s < lv->runs[r].nsegs; s++) {
                const am_segment *g = lv->runs[r].segs[s];
                out->live_entries += g->d.entries;
                int tag = g->d.tag == AM_TAG_TIERED ? AM_TAG_TIERED : AM_TAG_LEVELED;
                out->tag_bytes[tag] += g->d.bytes;
                out->tag_files[tag]++;
            }
    }
    if (db->strat->pending_bytes)
        out->pending_compaction_bytes = db->strat->pending_bytes(db->strat_self, sv->v);
    sv_release(sv);
    return AM_OK;
}

int am_segments(am_db *db, void (*fn)(void *arg, const am_segment_info *seg), void *arg)
{
    if (!db || !fn) return AM_ERR_INVALID;
    superversion *sv = sv_acquire(db);
    for (int l = 0; l < AM_MAX_LEVELS; l++) {
        const am_level *lv = &sv->v->levels[l];
        for (size_t r = 0; r < lv->nruns; r++) {
            for (size_t s = 0; s < lv->runs[r].nsegs; s++) {
                const am_segment *g = lv->runs[r].segs[s];
                am_segment_info info = {
                    .id = g->d.id, .level = g->d.level, .run = g->d.run, .tag = g->d.tag,
                    .smallest = g->d.smallest, .smallest_len = g->d.smallest_len - 8,
                    .largest = g->d.largest, .largest_len = g->d.largest_len - 8,
                    .bytes = g->d.bytes, .entries = g->d.entries, .deletions = g->d.deletions,
                    .reads = atomic_load_explicit(&g->reads, memory_order_relaxed),
                    .writes = atomic_load_explicit(&g->writes, memory_order_relaxed),
                };
                fn(arg, &info);
            }
        }
    }
    sv_release(sv);
    return AM_OK;
}
