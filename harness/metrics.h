/* metrics.h: the workbench's amplification figures as code. docs/metrics.md is the
 * definition; keep the two in step. Every figure is computed over a window, from the
 * engine counters at its start (a) and end (b):
 *   write amplification = (flush + compaction bytes written) / user bytes written
 *   WAL amplification   = WAL bytes / user bytes written (beside, never inside, the above)
 *   read amplification  = segments probed / point lookups
 *   blocks per lookup   = data blocks read (cache or file) / point lookups
 *   space amplification = live SSTable bytes / logical bytes of the live pairs, at b
 * A figure is NaN when its denominator is zero or the engine does not provide one of its
 * inputs (he_counters.avail), and the report writes NaN as null: never a made-up number. */
#ifndef AM_HARNESS_METRICS_H
#define AM_HARNESS_METRICS_H

#include <stdint.h>

#include "engine.h"

typedef struct metrics {
    double write_amp, wal_amp, read_amp, blocks_per_lookup, space_amp;
} metrics;

/* b - a for every HE_SUM counter (engine.h's lists); gauges, logical_bytes and avail are
 * taken from b. Returns 0, or -1 when some counter went backwards (then d is zeroed: no
 * counter is available). */
int metrics_delta(const he_counters *a, const he_counters *b, he_counters *d);

/* The figures over the window a..b. logical_known: the harness's live-pair account is
 * complete (fresh database, no overflow); b->logical_bytes holds it. */
void metrics_compute(const he_counters *a, const he_counters *b, int logical_known,
                     metrics *out);

/* num / den, NaN when den is 0. */
double metrics_ratio(uint64_t num, uint64_t den);

#endif
