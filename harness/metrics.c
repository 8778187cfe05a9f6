/* metrics.c: counter deltas and the amplification figures of metrics.h. */
#include "metrics.h"

#include <math.h>
#include <string.h>

/* Cumulative counters: a window's value is their difference. */
#define CUMULATIVE(X)                                                                    \
    X(user_bytes_written) X(flush_bytes_written) X(compaction_bytes_written)            \
    X(compaction_bytes_read) X(wal_bytes) X(point_lookups) X(segments_probed)           \
    X(blocks_read) X(compactions) X(switches) X(switches_to_leveled)                     \
    X(switches_to_tiered) X(stall_count) X(stall_micros) X(flushes) X(blocks_read_disk) \
    X(lookups_found) X(slowdown_count) X(slowdown_micros)

double metrics_ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : NAN;
}

int metrics_delta(const he_counters *a, const he_counters *b, he_counters *d)
{
    *d = *b;                          /* state fields and have as at b */
#define SUB(f)                                                                           \
    if (b->f < a->f) goto backwards;                                                     \
    d->f = b->f - a->f;
    CUMULATIVE(SUB)
#undef SUB
    for (int i = 0; i < HE_REASONS; i++) {
        if (b->compactions_by_reason[i] < a->compactions_by_reason[i]) goto backwards;
        d->compactions_by_reason[i] = b->compactions_by_reason[i] - a->compactions_by_reason[i];
    }
    return 0;
backwards:
    memset(d, 0, sizeof *d);
    return -1;
}

void metrics_compute(const he_counters *a, const he_counters *b, int logical_known,
                     metrics *out)
{
    out->write_amp = out->wal_amp = out->read_amp = out->blocks_per_lookup = out->space_amp = NAN;
    he_counters d;
    if (metrics_delta(a, b, &d) != 0) return;
    /* A figure needs its group (have) and each of its inputs (not in lack). */
#define HAS(group, fields) ((b->have & (group)) && !(b->lack & (fields)))
    if (HAS(HE_HAVE_WRITE_AMP, HE_F_USER_BYTES | HE_F_FLUSH_BYTES | HE_F_COMPACTION_WRITTEN))
        out->write_amp = metrics_ratio(d.flush_bytes_written + d.compaction_bytes_written,
                                       d.user_bytes_written);
    if (HAS(HE_HAVE_WRITE_AMP, HE_F_USER_BYTES | HE_F_WAL_BYTES))
        out->wal_amp = metrics_ratio(d.wal_bytes, d.user_bytes_written);
    if (HAS(HE_HAVE_READ_AMP, HE_F_POINT_LOOKUPS | HE_F_SEGMENTS_PROBED))
        out->read_amp = metrics_ratio(d.segments_probed, d.point_lookups);
    if (HAS(HE_HAVE_READ_AMP, HE_F_POINT_LOOKUPS | HE_F_BLOCKS_READ))
        out->blocks_per_lookup = metrics_ratio(d.blocks_read, d.point_lookups);
    if (HAS(HE_HAVE_SPACE, HE_F_LIVE_BYTES) && logical_known)
        out->space_amp = metrics_ratio(b->live_bytes, b->logical_bytes);
#undef HAS
}
