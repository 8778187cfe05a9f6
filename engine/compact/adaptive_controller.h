/* adaptive_controller.h: the adaptive strategy's controller. It owns, per segment id, a
 * short history of counter snapshots (reads, writes) taken at common sample times, the
 * segment's cooldown, and the rule that flags a segment need-leveled or need-tiered.
 *
 * Sampling: at most every window / CTL_INTERVALS clock units (user operations or
 * microseconds), ctl_sample snapshots the live counters of every segment of the version;
 * the last CTL_SLOTS snapshots are kept, so the history spans about one window.
 *
 * Rule (ctl_judge), over the samples of the last window (at least the last interval):
 *   dr, dw  = reads / writes the segment gained over the window;
 *   share   = dr / (dr + dw)  (writes: dw / (dr + dw));
 *   rate    = dr / window span, latest = reads over the last interval / its length;
 *   trend   = latest / rate (how far the latest rate stands above its moving average);
 *   need-leveled: a tiered segment with dr + dw >= CTL_MIN_OPS, share >= read threshold,
 *                 and either rising (trend >= 1) or sustained (in each of the last two
 *                 intervals reads were at least the threshold share, and not zero);
 *   need-tiered:  the same for a leveled segment with writes and the write threshold.
 * A segment cools down after a switch (its merge outputs inherit the latest cooldown of
 * their inputs) and is not flagged until the cooldown ends.
 *
 * History survives rewrites: when a merge is installed, each output's history becomes the
 * sum of its inputs' histories weighted by the output's share of the bytes written, the
 * same share the engine gives its live counters (db_bg.c inherit_counters), so windows
 * continue across the merge. A trivial move keeps the segment id and so its history.
 *
 * Thread safety: none of its own; the strategy calls it under the engine mutex. */
#ifndef AM_COMPACT_ADAPTIVE_CONTROLLER_H
#define AM_COMPACT_ADAPTIVE_CONTROLLER_H

#include <stddef.h>
#include <stdint.h>
#include "compact/strategy.h"

#define CTL_INTERVALS 8
#define CTL_SLOTS (CTL_INTERVALS + 1)
#define CTL_MIN_OPS 64            /* fewer operations in the window: noise, no flag */

enum { CTL_NONE = 0, CTL_NEED_LEVELED = 1, CTL_NEED_TIERED = 2 };

typedef struct ctl_entry {
    uint64_t id;
    uint64_t cool_until;          /* no switch before this clock (0: none) */
    unsigned nsamp;               /* valid samples, [0] the newest, aligned with clock[] */
    uint64_t reads[CTL_SLOTS], writes[CTL_SLOTS];
} ctl_entry;

typedef struct controller {
    uint64_t window, interval;
    double read_thr, write_thr;
    unsigned nclock;
    uint64_t clock[CTL_SLOTS];    /* sample times, [0] the newest */
    size_t n, cap;
    ctl_entry *e;                 /* sorted by id; owned */
} controller;

typedef struct ctl_verdict {
    int flag;                     /* CTL_* */
    uint64_t reads, writes;       /* gained over the window */
    double trend;                 /* latest rate / window rate of the pressing counter */
} ctl_verdict;

void ctl_init(controller *c, uint64_t window, double read_thr, double write_thr);
void ctl_free(controller *c);
/* Takes a snapshot of every segment of v if a sample is due at now (or none was taken);
 * forgets segments no longer in v. AM_OK, or AM_ERR_NOMEM (history unchanged). */
int ctl_sample(controller *c, const am_version *v, uint64_t now);
/* After a flush: registers the new L0 segments of v (no history yet). */
void ctl_flushed(controller *c, const am_version *v);
/* After a merge: the outputs of job in v (segments of its output level the controller
 * does not know) inherit their inputs' history and cooldown. */
void ctl_merged(controller *c, const am_job *job, const am_version *v);
/* The rule above for segment g, judged as leveled or tiered. */
ctl_verdict ctl_judge(const controller *c, const am_segment *g, int leveled);
int ctl_cooling(const controller *c, uint64_t id, uint64_t now);
/* Segment id does not switch before until (kept if it already waits longer). */
void ctl_cool(controller *c, uint64_t id, uint64_t until);

#endif
