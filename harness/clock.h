/* clock.h: the timestamps the harness takes around every operation.
 *
 * A latency is two timestamps around one engine call. On this machine a vDSO
 * clock_gettime(CLOCK_MONOTONIC) costs about 42 ns and rdtsc about 15 ns; at two stamps per
 * operation clock_gettime alone would cap one client thread below 12 million operations per
 * second. So on x86-64, when the CPU's TSC is invariant (constant_tsc and nonstop_tsc) and
 * the kernel itself uses it as its clocksource (which means the kernel found it synchronised
 * across CPUs), ticks are read with rdtsc and converted to nanoseconds with a ratio
 * calibrated against CLOCK_MONOTONIC at start-up (20 ms, relative error below 1e-5).
 * Otherwise ticks are CLOCK_MONOTONIC nanoseconds. docs/metrics.md says the same.
 *
 * Phase boundaries, settle times and the timeline use clk_mono_ns() (CLOCK_MONOTONIC)
 * directly; only per-operation latencies go through ticks.
 *
 * Thread safety: a clk_src is written once by clk_init and then only read. */
#ifndef AM_HARNESS_CLOCK_H
#define AM_HARNESS_CLOCK_H

#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

typedef struct clk_src {
    int tsc;                  /* 1: ticks are rdtsc; 0: CLOCK_MONOTONIC nanoseconds */
    uint64_t mult;            /* ns = ticks * mult >> 32 (tsc only) */
    double hz;                /* ticks per second (1e9 without tsc) */
    const char *why;          /* one line: why this source was chosen */
} clk_src;

/* Chooses and calibrates the source (sleeps about 20 ms when it calibrates). Can't fail:
 * without a usable TSC it falls back to CLOCK_MONOTONIC. */
void clk_init(clk_src *c);

static inline uint64_t clk_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clk_ticks(const clk_src *c)
{
#if defined(__x86_64__)
    if (c->tsc) return __rdtsc();
#else
    (void)c;
#endif
    return clk_mono_ns();
}

/* Nanoseconds in a difference of ticks. */
static inline uint64_t clk_ns(const clk_src *c, uint64_t ticks)
{
    if (!c->tsc) return ticks;
    return (uint64_t)(((unsigned __int128)ticks * c->mult) >> 32);
}

#endif
