/* metrics.c: counter deltas (from engine.h's counter lists) and the amplification figures
 * of metrics.h. */
#include "metrics.h"

#include <math.h>
#include <string.h>

double metrics_ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : NAN;
}

int metrics_delta(const he_counters *a, const he_counters *b, he_counters *d)
{
    *d = *b;                          /* gauges and availability as at b */
    for (int id = 0; id < HE_NCOUNTERS; id++) {
        if (he_counter_infos[id].kind != HE_SUM) continue;
        for (size_t i = 0; i < he_counter_infos[id].n; i++) {
            uint64_t x = he_counter_get(a, id, i), y = he_counter_get(b, id, i);
            if (y < x) {
                memset(d, 0, sizeof *d);
                return -1;
            }
            *he_counter_at(d, id, i) = y - x;
        }
    }
    return 0;
}

#define HAS(c, ...) he_has_all((c), (const int[]){ __VA_ARGS__ },                          \
                               sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

void metrics_compute(const he_counters *a, const he_counters *b, int logical_known,
                     metrics *out)
{
    out->write_amp = out->wal_amp = out->read_amp = out->blocks_per_lookup = out->space_amp = NAN;
    he_counters d;
    if (metrics_delta(a, b, &d) != 0) return;
    /* A figure needs each of its inputs (as b provides them). */
    if (HAS(b, HE_ID(user_bytes_written), HE_ID(flush_bytes_written),
            HE_ID(compaction_bytes_written)))
        out->write_amp = metrics_ratio(d.flush_bytes_written + d.compaction_bytes_written,
                                       d.user_bytes_written);
    if (HAS(b, HE_ID(user_bytes_written), HE_ID(wal_bytes)))
        out->wal_amp = metrics_ratio(d.wal_bytes, d.user_bytes_written);
    if (HAS(b, HE_ID(point_lookups), HE_ID(segments_probed)))
        out->read_amp = metrics_ratio(d.segments_probed, d.point_lookups);
    if (HAS(b, HE_ID(point_lookups), HE_ID(blocks_read)))
        out->blocks_per_lookup = metrics_ratio(d.blocks_read, d.point_lookups);
    if (HAS(b, HE_ID(live_sst_bytes)) && logical_known)
        out->space_amp = metrics_ratio(b->live_sst_bytes, b->logical_bytes);
}
