/* clock.c: picks the timestamp source of clock.h and calibrates the TSC against
 * CLOCK_MONOTONIC. */
#include "clock.h"

#include <stdio.h>
#include <string.h>

/* first_line: 1 when the file's first line is exactly word. Otherwise: 1 when a line
 * starting with "flags" contains word (/proc/cpuinfo). */
static int file_has(const char *path, const char *word, int first_line)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (first_line) {
            line[strcspn(line, "\n")] = '\0';
            found = !strcmp(line, word);
            break;
        }
        if (!strncmp(line, "flags", 5)) found = strstr(line, word) != NULL;
    }
    fclose(f);
    return found;
}

#if defined(__x86_64__)
/* One (tsc, mono) pair read as close together as possible: the mono read bracketed by two
 * tsc reads, the tightest of a few tries, the tsc taken at the bracket's middle. */
static void pair(uint64_t *tsc, uint64_t *mono)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 7; i++) {
        uint64_t a = __rdtsc(), m = clk_mono_ns(), b = __rdtsc();
        if (b - a < best) {
            best = b - a;
            *tsc = a + (b - a) / 2;
            *mono = m;
        }
    }
}
#endif

void clk_init(clk_src *c)
{
    memset(c, 0, sizeof *c);
    c->hz = 1e9;
    c->why = "CLOCK_MONOTONIC (no invariant TSC used by the kernel)";
#if defined(__x86_64__)
    if (!file_has("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc", 1) ||
        !file_has("/proc/cpuinfo", " constant_tsc", 0) ||
        !file_has("/proc/cpuinfo", " nonstop_tsc", 0))
        return;
    uint64_t t0, m0, t1, m1;
    pair(&t0, &m0);
    struct timespec d = { 0, 20 * 1000 * 1000 };
    nanosleep(&d, NULL);
    pair(&t1, &m1);
    if (t1 <= t0 || m1 <= m0) return;
    double ns_per_tick = (double)(m1 - m0) / (double)(t1 - t0);
    c->tsc = 1;
    c->hz = 1e9 / ns_per_tick;
    c->mult = (uint64_t)(ns_per_tick * 4294967296.0 + 0.5);
    c->why = "rdtsc (invariant TSC, the kernel's clocksource), calibrated against "
             "CLOCK_MONOTONIC";
#endif
}
