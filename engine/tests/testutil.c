/* testutil.c: temporary directories and whole-file helpers for tests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

const char *tu_tempdir(char *buf, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    snprintf(buf, cap, "%s/amethyst-%s-XXXXXX", base, tag);
    if (!mkdtemp(buf)) fail_msg("mkdtemp %s failed", buf);
    return buf;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

void tu_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    if (fseek(f, 0, SEEK_END) != 0) fail_msg("cannot seek in %s", path);
    long len = ftell(f);
    if (len < 0) fail_msg("cannot tell the size of %s", path);
    rewind(f);
    char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    if (fread(buf, 1, (size_t)len, f) != (size_t)len) fail_msg("short read of %s", path);
    fclose(f);
    buf[len] = 0;
    *n = (size_t)len;
    return buf;
}

void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot create %s", path);
    if (fwrite(data, 1, n, f) != n) fail_msg("short write to %s", path);
    if (fclose(f) != 0) fail_msg("cannot close %s", path);
}

void tu_flip_byte(const char *path, size_t off, unsigned mask)
{
    size_t n;
    char *d = tu_read_file(path, &n);
    if (off >= n) fail_msg("%s: offset %zu past %zu bytes", path, off, n);
    d[off] = (char)(d[off] ^ (char)mask);
    tu_write_file(path, d, n);
    free(d);
}

uint64_t tu_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) fail_msg("cannot stat %s", path);
    return (uint64_t)st.st_size;
}

int tu_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}
