/* leveldb_log.c: LevelDB's info log read as a record of flushes, compactions and stalls
 * (leveldb_log.h lists the lines it understands). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../grow.h"
#include "leveldb_log.h"

uint64_t ldb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ldb_log_init(ldb_log *l)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
}

void ldb_log_open(ldb_log *l, const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/LOG", dir);
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    l->changed_ns = ldb_now_ns();
}

void ldb_log_free(ldb_log *l)
{
    if (l->fd >= 0) close(l->fd);
    free(l->size);
    ldb_log_init(l);
}

void ldb_log_table(ldb_log *l, uint64_t n, uint64_t bytes)
{
    uint32_t *s = he_grow(l->size, &l->nsize, n + 1, sizeof *s);   /* zeroes new room */
    if (!s) return;
    l->size = s;
    l->size[n] = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* One whole LOG line: "yyyy/mm/dd-hh:mm:ss.uuuuuu <thread> <message>". */
static void log_line(ldb_log *l, const char *line)
{
    const char *m = strchr(line, ' ');
    if (m) m = strchr(m + 1, ' ');
    if (!m) return;
    m++;
    unsigned long long n, b, keys;
    int level;
    char status[8];
    if (starts(m, "Level-0 table #")) {
        if (strstr(m, ": started")) {
            l->flushes_started++;
        } else if (sscanf(m, "Level-0 table #%llu: %llu bytes %7s", &n, &b, status) == 3) {
            l->flushes_ended++;
            if (!strcmp(status, "OK") && b > 0) {
                l->flushes++;
                l->flush_bytes += b;
                ldb_log_table(l, n, b);
            }
        }
    } else if (starts(m, "Compacting ")) {
        l->compacting = 1;
    } else if (sscanf(m, "Generated table #%llu@%d: %llu keys, %llu bytes", &n, &level, &keys,
                      &b) == 4) {
        ldb_log_table(l, n, b);
    } else if (starts(m, "Compacted ")) {
        const char *arrow = strstr(m, "=> ");
        if (arrow && sscanf(arrow, "=> %llu bytes", &b) == 1) {
            l->comp_written += b;
            l->compactions++;
        }
    } else if (starts(m, "compacted to: ") || starts(m, "Compaction error: ")) {
        l->compacting = 0;
    } else if (sscanf(m, "Delete type=2 #%llu", &n) == 1) {
        if (n < l->nsize) {
            l->comp_read += l->size[n];
            l->size[n] = 0;
        }
    } else if (starts(m, "Current memtable full; waiting") ||
               starts(m, "Too many L0 files; waiting")) {
        l->stalls++;
    }
}

void ldb_log_poll(ldb_log *l)
{
    if (l->fd < 0) return;
    char buf[65536];
    for (;;) {
        ssize_t got = pread(l->fd, buf, sizeof buf, (off_t)l->off);
        if (got <= 0) return;
        l->off += (uint64_t)got;
        l->changed_ns = ldb_now_ns();
        for (ssize_t i = 0; i < got; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                if (!l->overlong) {
                    l->line[l->len] = '\0';
                    log_line(l, l->line);
                }
                l->len = 0;
                l->overlong = 0;
            } else if (l->len + 1 < sizeof l->line) {
                l->line[l->len++] = ch;
            } else {
                l->overlong = 1;   /* our messages are short; a long one is something else */
            }
        }
        if ((size_t)got < sizeof buf) return;
    }
}
