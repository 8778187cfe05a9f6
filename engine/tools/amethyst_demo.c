/* amethyst_demo.c: the built-in demo `make run` runs until the harness exists: loads keys,
 * overwrites some, reads them back (checking every value), scans, reopens, and prints the
 * engine's counters and the tree's shape. Usage: amethyst_demo [DIR] [KEYS]. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "amethyst.h"

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void value_for(char *v, size_t vn, uint64_t key, uint64_t round)
{
    uint64_t x = key * 0x9e3779b97f4a7c15ull + round;
    for (size_t i = 0; i < vn; i++) {
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
        v[i] = (char)('a' + (x * 0x2545f4914f6cdd1dull >> 59) % 26);
    }
}

static int check(int rc, const char *what, am_db *db)
{
    if (rc < 0) {
        fprintf(stderr, "amethyst_demo: %s: %s (%s)\n", what, am_strerror(rc), db ? am_errmsg(db) : "");
        exit(1);
    }
    return rc;
}

static void print_segment(void *arg, const am_segment_info *s)
{
    (void)arg;
    printf("  L%d run %-6" PRIu64 " #%-6" PRIu64 " %8" PRIu64 " bytes %7" PRIu64 " entries  %.*s .. %.*s\n",
           s->level, s->run, s->id, s->bytes, s->entries, (int)s->smallest_len,
           (const char *)s->smallest, (int)s->largest_len, (const char *)s->largest);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "build/demo.db";
    uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 200000;
    if (n == 0) {
        fprintf(stderr, "usage: amethyst_demo [DIR] [KEYS > 0]\n");
        return 2;
    }
    am_options o;
    am_options_init(&o);
    char msg[512];
    am_db *db = NULL;
    if (am_open_msg(dir, &o, &db, msg, sizeof msg) != AM_OK) {
        fprintf(stderr, "amethyst_demo: %s\n", msg);
        return 1;
    }
    char key[32], val[100], *got;
    size_t gn;
    double t0 = now_sec();
    for (uint64_t i = 0; i < n; i++) {
        int kn = snprintf(key, sizeof key, "key-%010" PRIu64, i);
        value_for(val, sizeof val, i, 0);
        check(am_put(db, key, (size_t)kn, val, sizeof val), "put", db);
    }
    double t1 = now_sec();
    for (uint64_t i = 0; i < n; i += 2) {   /* overwrite every other key */
        int kn = snprintf(key, sizeof key, "key-%010" PRIu64, i);
        value_for(val, sizeof val, i, 1);
        check(am_put(db, key, (size_t)kn, val, sizeof val), "overwrite", db);
    }
    double t2 = now_sec();
    uint64_t bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        int kn = snprintf(key, sizeof key, "key-%010" PRIu64, i);
        value_for(val, sizeof val, i, i % 2 == 0);
        if (check(am_get(db, NULL, key, (size_t)kn, (void **)&got, &gn), "get", db) != AM_OK ||
            gn != sizeof val || memcmp(got, val, gn) != 0)
            bad++;
        am_free(got);
    }
    double t3 = now_sec();
    uint64_t scanned = 0;
    am_iter *it = am_iter_new(db, NULL);
    for (am_iter_seek_first(it); am_iter_valid(it); am_iter_next(it)) scanned++;
    check(am_iter_status(it), "scan", db);
    am_iter_free(it);
    double t4 = now_sec();
    am_stats run;
    am_stats(db, &run);
    check(am_close(db), "close", NULL);
    check(am_open_msg(dir, &o, &db, msg, sizeof msg), msg, NULL);
    am_stats st;
    am_stats(db, &st);
    printf("amethyst demo: %" PRIu64 " keys of 14 bytes, 100-byte values, strategy %s, in %s\n",
           n, o.strategy, dir);
    printf("  load       %9.0f puts/s\n", n / (t1 - t0));
    printf("  overwrite  %9.0f puts/s\n", (n / 2) / (t2 - t1));
    printf("  read       %9.0f gets/s   (%" PRIu64 " wrong or missing)\n", n / (t3 - t2), bad);
    printf("  scan       %9.0f keys/s   (%" PRIu64 " keys)\n", scanned / (t4 - t3), scanned);
    printf("  %" PRIu64 " flushes, %" PRIu64 " compactions, write amplification %.2f, "
           "%.2f segments probed per lookup, %" PRIu64 " stalls\n", run.flushes, run.compactions,
           (double)(run.flush_bytes_written + run.compaction_bytes_written) / run.user_bytes_written,
           (double)run.segments_probed / run.point_lookups, run.stall_count);
    printf("after reopen: %" PRIu64 " live SSTables, %" PRIu64 " bytes\n", st.live_sst_files,
           st.live_sst_bytes);
    am_segments(db, print_segment, NULL);
    check(am_close(db), "close", NULL);
    return bad || scanned != n ? 1 : 0;
}
