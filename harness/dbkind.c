/* dbkind.c: which engine wrote the database in a directory (engine.h, he_db_kind), so
 * amethystd can refuse a -db of another engine before opening it. All three keep a CURRENT
 * file naming a MANIFEST-<n>, a LOCK, <n>.log write-ahead logs; what tells them apart:
 *   - LevelDB and RocksDB write their comparator's name, "leveldb.BytewiseComparator", in
 *     the MANIFEST's first record; Amethyst's MANIFEST records (docs/format.md) never
 *     hold it.
 *   - RocksDB keeps OPTIONS-<n> files (its options as text, the newest one the options
 *     in force, "compaction_style=kCompactionStyleLevel" or "...Universal") and an
 *     IDENTITY file; LevelDB keeps neither (it writes <n>.ldb tables and a LOG).
 * Only reads; never changes the directory. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Up to cap bytes of dir/name into buf (NUL-terminated); bytes read, or -1. */
static long read_head(const char *dir, const char *name, char *buf, size_t cap)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* 1 when the n bytes at p contain s. */
static int contains(const char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (p[i] == s[0] && !memcmp(p + i, s, k)) return 1;
    return 0;
}

/* The variant named by RocksDB's newest OPTIONS-<n> file, or NULL. */
static const char *rocksdb_style(const char *dir, const char *options)
{
    const size_t cap = 1 << 16;
    char *buf = options[0] ? malloc(cap) : NULL;
    const char *style = NULL;
    if (buf && read_head(dir, options, buf, cap) >= 0) {
        if (strstr(buf, "compaction_style=kCompactionStyleUniversal")) style = "rocksdb-universal";
        else if (strstr(buf, "compaction_style=kCompactionStyleLevel")) style = "rocksdb-leveled";
    }
    free(buf);
    return style;
}

const char *he_db_kind(const char *dir)
{
    char current[256];
    long n = read_head(dir, "CURRENT", current, sizeof current);
    if (n <= 0) return NULL;
    current[strcspn(current, "\n")] = '\0';
    if (strncmp(current, "MANIFEST-", 9) || strchr(current, '/')) return NULL;

    DIR *d = opendir(dir);
    if (!d) return NULL;
    int rocks = 0;
    unsigned long long best = 0;
    char options[300] = "";
    for (struct dirent *de; (de = readdir(d));) {
        if (!strcmp(de->d_name, "IDENTITY")) rocks = 1;
        unsigned long long num;
        char tail;
        if (sscanf(de->d_name, "OPTIONS-%llu%c", &num, &tail) == 1) {
            rocks = 1;
            if (num >= best) {
                best = num;
                snprintf(options, sizeof options, "%s", de->d_name);
            }
        }
    }
    closedir(d);

    char *m = malloc(1 << 16);
    if (!m) return NULL;
    long got = read_head(dir, current, m, 1 << 16);
    int comparator = got > 0 && contains(m, (size_t)got, "leveldb.BytewiseComparator");
    free(m);
    if (got < 0) return NULL;
    if (!comparator) return rocks ? "rocksdb" : "amethyst";
    if (!rocks) return "leveldb";
    const char *style = rocksdb_style(dir, options);
    return style ? style : "rocksdb";
}

int he_db_kind_fits(const char *kind, const he_ops *ops, const char *variant)
{
    if (!kind) return 1;                          /* cannot tell: the engine will */
    size_t n = strlen(ops->name);
    if (strncmp(kind, ops->name, n)) return 0;
    if (!kind[n]) return 1;                       /* the family; any variant */
    return kind[n] == '-' && variant && !strcmp(kind + n + 1, variant);
}
