/* clock.h: monotonic time for stall accounting and timings. */
#ifndef AM_UTIL_CLOCK_H
#define AM_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t am_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
